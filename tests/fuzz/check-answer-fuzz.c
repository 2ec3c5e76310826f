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
 * The TXT texts are then judged as check judges the records at a name,
 * as v=STSv1 and as v=TLSRPTv1 records (check_lookalikes,
 * select_records, sts_parse_pick or tlsrpt_parse_pick,
 * report_near_misses), and what the answer tells of the domain is
 * kept (sts_answer_facts). Invariants: every result message is
 * printable ASCII and within its item, the record picked is one of the
 * texts, an id kept parses back, the JSON of the report is whole, the
 * texts are the same as themselves (txts_same), and the apex is told by
 * 1, 0 or -1.
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

/* The report's items are within bounds and printable, and its JSON is
 * whole. */
static void
check_report(const struct report *rep)
{
	struct buf j;

	if (rep->n > CHECK_MAX_ITEMS)
		abort();
	for (size_t i = 0; i < rep->n; i++) {
		const struct check_item *it = &rep->items[i];
		size_t len = strnlen(it->msg, sizeof(it->msg));

		if (len == sizeof(it->msg))
			abort();
		for (size_t k = 0; k < len; k++)
			if (it->msg[k] < 0x20 || it->msg[k] > 0x7e)
				abort();
	}
	buf_init(&j, CHECK_JSON_MAX);
	json_report(&j, rep);
	if (j.len < 2 || memcmp(j.data + j.len - 2, "]}", 2) != 0)
		abort();
	buf_free(&j);
}

/* An empty report on example.com, and the domain's check that fills it. */
static void
check_begin(struct report *rep, struct domain_check *dc)
{
	memset(rep, 0, sizeof(*rep));
	memset(dc, 0, sizeof(*dc));
	str_copy(rep->domain, sizeof(rep->domain), "example.com");
	dc->rep = rep;
}

/* Judge txts as the records of kind k at a name, as check does when it
 * found them (a CNAME chain and none_or_several() aside: they ask the
 * DNS again). */
static void
judge_records(const struct strlist *txts, const struct record_kind *k)
{
	const char *name = "_mta-sts.example.com";
	struct report rep;
	struct domain_check dc;
	struct selection sel;
	struct sts_record r;
	struct diag d;
	struct buf b;

	check_begin(&rep, &dc);
	check_lookalikes(&rep, txts, name, k);
	if (select_records(txts, k, &sel)) {
		if (sel.pick >= txts->n)
			abort();
		if (k == &sts_kind)
			sts_parse_pick(&dc, txts->v[sel.pick], sel.strict == 1);
		else
			tlsrpt_parse_pick(&rep, txts->v[sel.pick],
			                  sel.strict == 1);
	}
	report_near_misses(&rep, txts, &sel, name, k);
	check_report(&rep);
	if (dc.sts_id[0] == '\0')
		return;
	diag_init(&d);
	buf_init(&b, TXT_RECORD_MAX);
	if (sts_record_format(dc.sts_id, &b) != 0 ||
	    sts_record_parse(b.data, b.len, &r, &d) != 0 ||
	    strcmp(r.id, dc.sts_id) != 0)
		abort();
	buf_free(&b);
}

/* What the answer pkt at _mta-sts.example.com, reached by chain, tells
 * of the domain; txts alike themselves. */
static void
judge_facts(const ldns_pkt *pkt, const struct strlist *txts,
            const struct strlist *chain)
{
	struct report rep;
	struct domain_check dc;

	check_begin(&rep, &dc);
	sts_answer_facts(&dc, pkt, "_mta-sts.example.com", chain);
	if (dc.apex < -1 || dc.apex > 1 || (chain->n > 0 && dc.apex != -1) ||
	    !txts_same(txts, txts))
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
	judge_records(&txts, &sts_kind);
	judge_records(&txts, &tlsrpt_kind);
	judge_facts(pkt, &txts, &chain);
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
