/*
 * dns-reply-fuzz.c - fuzz target for what sync reads from DNS replies: a
 * server's or a resolver's answer, unsigned when it comes from a
 * resolver. It includes src/dnsupdate.c to reach its static readers (the
 * library's dnsupdate.o is then not linked). The input is one DNS
 * message; it is matched against a request (reply_matches), parsed whole
 * and up to its answer section (parse_reply), and every reader takes
 * what it needs from it: the TXT records and CNAME of a name (read_txt),
 * the MX targets (read_mx), the zone and MNAME of an SOA (zone_soa,
 * rdf_name) and the addresses of an A or AAAA answer
 * (addrs_from_answer). Invariants, else abort: a name read is never
 * empty and never longer than a name may be; a TXT set keeps one text,
 * RDATA and length per record; at most DNS_ADDR_MAX addresses.
 */
#include "../../src/dnsupdate.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A request for _mta-sts.example.com TXT, id 0x1234, to match against. */
static const unsigned char request[] = {
    0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 8,
    '_',  'm',  't',  'a',  '-',  's',  't',  's',  7,    'e',  'x',  'a',  'm',
    'p',  'l',  'e',  3,    'c',  'o',  'm',  0,    0x00, 0x10, 0x00, 0x01};

/* A name made by rdf_name: not empty, not too long. */
static void
check_name(char *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > DNS_NAME_MAX)
		abort();
	free(name);
}

/* Every reader over one parsed message. */
static void
read_all(const ldns_pkt *pkt)
{
	struct dns_txtset s;
	struct strlist mx = {0};
	struct addrset as;
	char *cname = NULL;
	ldns_rdf *qn = ldns_dname_new_frm_str("_mta-sts.example.com");
	const ldns_rr *soa = qn != NULL ? zone_soa(pkt, qn) : NULL;

	memset(&s, 0, sizeof(s));
	read_txt(pkt, "_mta-sts.example.com", &s, &cname);
	if (s.n != s.text.n)
		abort();
	for (size_t i = 0; i < s.n; i++)
		if (s.rdata[i] == NULL && s.rdlen[i] != 0)
			abort();
	if (cname != NULL)
		check_name(cname);
	txtset_free(&s);
	read_mx(pkt, "example.com", &mx);
	for (size_t i = 0; i < mx.n; i++)
		if (mx.v[i][0] == '\0' || strlen(mx.v[i]) > DNS_NAME_MAX)
			abort();
	strlist_free(&mx);
	if (soa != NULL) {
		check_name(rdf_name(ldns_rr_owner(soa)));
		check_name(rdf_name(ldns_rr_rdf(soa, 0)));
	}
	ldns_rdf_deep_free(qn);
	memset(&as, 0, sizeof(as));
	addrs_from_answer(pkt, LDNS_RR_TYPE_A, 53, &as);
	addrs_from_answer(pkt, LDNS_RR_TYPE_AAAA, 53, &as);
	if (as.n > DNS_ADDR_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_req w = {request, sizeof(request), NULL, 0, 0};
	struct buf r;
	unsigned char *copy = xmalloc(size > 0 ? size : 1);

	/* an exact private copy, so that reading past the end is caught */
	memcpy(copy, data, size);
	r.data = (char *)copy;
	r.len = r.cap = r.max = size;
	(void)reply_matches(&w, &r);
	for (int answer_only = 0; answer_only < 2; answer_only++) {
		ldns_pkt *pkt = NULL;

		if (parse_reply(copy, size, answer_only, &pkt) == 0) {
			read_all(pkt);
			ldns_pkt_free(pkt);
		}
	}
	free(copy);
	return 0;
}
