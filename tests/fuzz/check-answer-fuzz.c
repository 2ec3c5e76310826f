/*
 * check-answer-fuzz.c - fuzz target for what check reads from the answers
 * of any domain's DNS (a stranger's, through a resolver). It includes
 * src/check.c to reach its static readers (the library's check.o is then
 * not linked). The input is one DNS message, parsed by ldns as check
 * parses it; then the TXT records at _mta-sts.example.com are taken,
 * following CNAMEs within the message (txt_answer), and the MX and A
 * names of the answer (answer_names). Invariants, else abort: the name
 * followed is still a name, the chain is at most CHECK_CNAME_HOPS long,
 * every text and name is a string.
 */
#include "../../src/check.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every string of l is one (not NULL). */
static void
check_strings(const struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strlist txts = {0}, chain = {0}, names = {0};
	ldns_rdf *cur = ldns_dname_new_frm_str("_mta-sts.example.com.");
	ldns_pkt *pkt = NULL;
	size_t bad = 0;

	if (cur == NULL || ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(cur);
		return 0;
	}
	(void)txt_answer(pkt, &cur, &txts, &chain, &bad);
	if (cur == NULL || ldns_rdf_get_type(cur) != LDNS_RDF_TYPE_DNAME ||
	    chain.n > CHECK_CNAME_HOPS || bad > ldns_pkt_ancount(pkt))
		abort();
	check_strings(&txts);
	check_strings(&chain);
	answer_names(pkt, LDNS_RR_TYPE_MX, &names);
	answer_names(pkt, LDNS_RR_TYPE_A, &names);
	check_strings(&names);
	strlist_free(&txts);
	strlist_free(&chain);
	strlist_free(&names);
	ldns_rdf_deep_free(cur);
	ldns_pkt_free(pkt);
	return 0;
}
