/*
 * dns-reply-fuzz.c - fuzz target for what sync reads from DNS replies: a
 * server's or a resolver's answer, unsigned when it comes from a
 * resolver. It includes the DNS engine's source files (dns-internal.h
 * lists them) to reach their static readers (the library's copies of
 * them are then not linked). The input is one DNS
 * message; it is matched against a request (reply_mismatch), parsed whole
 * and up to its answer section (parse_reply), and every reader takes
 * what it needs from it: the TXT records and CNAME of a name (dns_read_txt),
 * the MX targets (read_mx), the zone and MNAME of an SOA (dns_zone_soa,
 * dns_rdf_name), where example.com stands in that zone (dns_answer_apex, for
 * check) and the addresses of an A or AAAA answer (addrs_from_answer).
 * Invariants, else abort: a name read is never empty and never longer
 * than a name may be; a TXT set keeps one text, RDATA and length per
 * record; the apex is told by 1, 0 or -1; at most DNS_ADDR_MAX
 * addresses. The readers the wildcard tests use agree with themselves:
 * the records (read_rrs), MX targets and CNAME (read_cname) of a name
 * are alike those read again from the same answer (wild_alike,
 * wild_mx_alike, wild_rrs_alike), and TXT RDATA shown in a dry run's
 * UPDATE text (txt_present) is printable ASCII.
 * The same input is also taken for what a primary sent on a TCP
 * connection: its length-prefixed messages are framed (frame_take), fed
 * whole and in small pieces, and each is given to the request it answers
 * of two pipelined ones (reply_take; the second signed, so that a reply
 * to it is taken only when its TSIG verifies, and kept aside as suspect
 * otherwise) or counted as a stray. Invariants: both feeds frame the
 * same messages and stop alike; a message framed is a DNS header long at
 * least and lies within the input; a reply taken or kept aside matches
 * its request, and one taken for the signed request is not suspect; a
 * stray's fault is one way of failing a request; a message too short for
 * DNS stops the framing.
 */
#include "../../src/dns-tcp.c"
#include "../../src/dns-state.c"
#include "../../src/dns-zone.c"
#include "../../src/dns-plan.c"
#include "../../src/dnsupdate.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A request for _mta-sts.example.com TXT, id 0x1234, to match against. */
static const unsigned char request[] = {
    0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 8,
    '_',  'm',  't',  'a',  '-',  's',  't',  's',  7,    'e',  'x',  'a',  'm',
    'p',  'l',  'e',  3,    'c',  'o',  'm',  0,    0x00, 0x10, 0x00, 0x01};

/* A request for example.com MX, id 0x5678, pipelined after the first. */
static const unsigned char request2[] = {
    0x56, 0x78, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',
    3,    'c',  'o',  'm',  0,    0x00, 0x0f, 0x00, 0x01};

/* The key the second request is signed with, and its MAC. */
static struct tsig_key fuzz_key;
static const struct tsig_mac fuzz_mac = {{1, 2, 3, 4}, 32};

/* fuzz_key, set up on the first call. */
static const struct tsig_key *
signing_key(void)
{
	static int ready;
	struct diag d;

	diag_init(&d);
	if (!ready &&
	    tsig_key_init(&fuzz_key, "mtasts", NULL,
	                  "hUfqYRk9rGdx4y7B3KW3Ss1YqjB6sCzWTeO5zWTfSZc=", &d) ==
	        -1)
		abort();
	ready = 1;
	return &fuzz_key;
}

/* A name made by dns_rdf_name: not empty, not too long. */
static void
check_name(char *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > DNS_NAME_MAX)
		abort();
	free(name);
}

/* The TXT RDATA of s as a dry run shows it: printable ASCII. */
static void
check_present(const struct dns_txtset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct buf b;

		buf_init(&b, 8 * DNS_MSG_MAX);
		txt_present(s->rdata[i], s->rdlen[i], &b);
		for (size_t k = 0; k < b.len; k++)
			if (b.data[k] < 0x20 || b.data[k] > 0x7e)
				abort();
		buf_free(&b);
	}
}

/* What the wildcard tests read at name, compared with itself. */
static void
read_alike(const ldns_pkt *pkt, const char *name)
{
	static const ldns_rr_type types[] = {LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_A,
	                                     LDNS_RR_TYPE_AAAA};
	struct dns_txtset s;
	struct strlist mx = {0};
	char *cname = NULL, *again;
	int flag = 0;
	struct wild_part part = {&s, &cname, &again, &flag};

	memset(&s, 0, sizeof(s));
	dns_read_txt(pkt, name, &s, &cname);
	again = read_cname(pkt, name);
	if ((cname == NULL) != (again == NULL) ||
	    (cname != NULL && strcmp(cname, again) != 0) ||
	    !wild_alike(&part, pkt, name))
		abort();
	check_present(&s);
	dns_txtset_free(&s);
	free(cname);
	free(again);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		read_rrs(pkt, name, types[t], &s);
		if (!dns_txtset_same(&s, &s) ||
		    !wild_rrs_alike(&s, types[t], pkt, name))
			abort();
		dns_txtset_free(&s);
	}
	read_mx(pkt, name, &mx);
	if (!wild_mx_alike(&mx, pkt, name))
		abort();
	strlist_free(&mx);
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
	const ldns_rr *soa = qn != NULL ? dns_zone_soa(pkt, qn) : NULL;
	int apex;

	memset(&s, 0, sizeof(s));
	dns_read_txt(pkt, "_mta-sts.example.com", &s, &cname);
	if (s.n != s.text.n)
		abort();
	for (size_t i = 0; i < s.n; i++)
		if (s.rdata[i] == NULL && s.rdlen[i] != 0)
			abort();
	if (cname != NULL)
		check_name(cname);
	dns_txtset_free(&s);
	read_mx(pkt, "example.com", &mx);
	for (size_t i = 0; i < mx.n; i++)
		if (mx.v[i][0] == '\0' || strlen(mx.v[i]) > DNS_NAME_MAX)
			abort();
	strlist_free(&mx);
	if (soa != NULL) {
		check_name(dns_rdf_name(ldns_rr_owner(soa)));
		check_name(dns_rdf_name(ldns_rr_rdf(soa, 0)));
	}
	ldns_rdf_deep_free(qn);
	apex = dns_answer_apex(pkt, "_mta-sts.example.com", "example.com");
	if (apex < -1 || apex > 1)
		abort();
	memset(&as, 0, sizeof(as));
	addrs_from_answer(pkt, LDNS_RR_TYPE_A, 53, &as);
	addrs_from_answer(pkt, LDNS_RR_TYPE_AAAA, 53, &as);
	if (as.n > DNS_ADDR_MAX)
		abort();
	read_alike(pkt, "_mta-sts.example.com");
	read_alike(pkt, "example.com");
}

/* Frame the stream data (size bytes) as rx_message does, fed piece by
 * piece (piece 0: whole), giving each message to the two requests of w
 * or counting it in *stray. Returns how the framing stopped (0: the
 * stream ended, -1: a message too short for DNS); *msgs: how many
 * messages were framed. */
static int
frame_stream(const uint8_t *data, size_t size, size_t piece, struct wire_req *w,
             size_t *msgs, size_t *stray)
{
	struct rx rx = {NULL, 0, 0};
	struct buf m;
	size_t off = 0, runt = 99, bytes = 0;
	unsigned fault;
	int f = 0;

	buf_init(&m, DNS_MSG_MAX);
	*msgs = *stray = 0;
	for (;;) {
		size_t k = piece ? piece : size - off;

		f = frame_take(&rx, &m, &runt);
		if (f == 1) {
			bytes += 2 + m.len;
			if (m.len < 12 || bytes > size)
				abort();
			(*msgs)++;
			if (reply_take(w, 2, &m, &fault) != TAKE_STRAY)
				continue;
			if (fault != MISMATCH_ID && fault != MISMATCH_QR &&
			    fault != MISMATCH_OPCODE &&
			    fault != MISMATCH_QUESTION && fault != MISMATCH_DUP)
				abort();
			(*stray)++;
			continue;
		}
		if (f == -1 || off == size)
			break;
		k = k < size - off ? k : size - off;
		rx.p = xrealloc(rx.p, rx.len + k);
		memcpy(rx.p + rx.len, data + off, k);
		rx.len += k;
		off += k;
	}
	if (f == -1 && runt >= 12)
		abort();
	buf_free(&m);
	free(rx.p);
	return f;
}

/* The stream invariants above, for one feed against another. */
static void
read_stream(const uint8_t *data, size_t size)
{
	struct buf r[4];
	size_t msgs[2], stray[2];
	int f[2];

	for (size_t p = 0; p < 2; p++) {
		struct wire_req w[2] = {
		    {.q = request, .qlen = sizeof(request), .reply = &r[2 * p]},
		    {.q = request2,
		     .qlen = sizeof(request2),
		     .reply = &r[2 * p + 1],
		     .key = signing_key(),
		     .mac = &fuzz_mac}};

		buf_init(&r[2 * p], DNS_MSG_MAX);
		buf_init(&r[2 * p + 1], DNS_MSG_MAX);
		f[p] = frame_stream(data, size, p * 3, w, &msgs[p], &stray[p]);
		for (size_t i = 0; i < 2; i++)
			if (((w[i].got || w[i].suspect) &&
			     reply_mismatch(&w[i], w[i].reply) != MATCH) ||
			    (w[i].got && w[i].suspect))
				abort();
		if (w[1].got && reply_suspect(&w[1], w[1].reply))
			abort();
	}
	if (f[0] != f[1] || msgs[0] != msgs[1] || stray[0] != stray[1])
		abort();
	for (size_t i = 0; i < 4; i++)
		buf_free(&r[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_req w = {.q = request, .qlen = sizeof(request)};
	struct buf r;
	unsigned char *copy = xmalloc(size > 0 ? size : 1);

	/* an exact private copy, so that reading past the end is caught */
	memcpy(copy, data, size);
	r.data = (char *)copy;
	r.len = r.cap = r.max = size;
	(void)reply_mismatch(&w, &r);
	read_stream(copy, size);
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
