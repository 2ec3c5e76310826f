/*
 * dns-state.c - reading the records a domain's UPDATE depends on, as the
 * primary holds them (dns-internal.h says how the files fit).
 *
 * Queries are written in wire form and sent in batches (dns_batch_send(),
 * pipelined by dns-tcp.c); the answers are parsed with ldns and read by
 * name: the TXT records and CNAME of _mta-sts and _smtp._tls, the MX
 * targets, and the zone an answer is from (SOA, or a referral that says
 * a name is delegated). dns_state_read() and dns_state_zones() are the
 * public reads; dns_query_tcp() asks check's single question over TCP
 * again, when its answer came truncated over UDP. Then the wildcard probes:
 * whether a wildcard would answer for the names beside or below the domain
 * (dns_state_wildcards()), and check's question of a resolver
 * (dns_domain_wildcard()).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns-internal.h"
#include "record.h"

/* ------------------------------------------------------------ queries */

/* What a query rcode other than NOERROR / NXDOMAIN means, and what to
 * do, from a resolver (resolver 1) or from a server asked as the
 * primary: the text after the rcode's ": ", or "". */
static const char *
rcode_cause(int rcode, int resolver)
{
	switch (rcode) {
	case LDNS_RCODE_REFUSED:
		return "is it authoritative for this name, and does it answer "
		       "us?";
	case LDNS_RCODE_SERVFAIL:
		return resolver
		           ? "it found no answer (the name's servers not "
		             "answering it, or a DNSSEC validation "
		             "failure); see its log"
		           : "it has the zone but cannot serve it (a zone "
		             "that failed to load, or a signing or journal "
		             "error); see its log, and check the zone "
		             "(named-checkzone, knotc zone-check)";
	case LDNS_RCODE_NOTIMPL:
		return "it does not take this query: is it a name server, "
		       "and its DNS port?";
	case LDNS_RCODE_FORMERR:
		return "it could not read the query: is it a name server, or "
		       "does something between us (a proxy, a firewall "
		       "inspecting DNS) change it?";
	default:
		return "see its log";
	}
}

/* Explain a query rcode other than NOERROR / NXDOMAIN, from a resolver
 * (resolver 1) or the server asked as the primary. */
void
dns_query_rcode_error(const char *where, const char *name, ldns_rr_type type,
                      int rcode, int resolver, struct diag *d)
{
	char *rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);
	char *ty = ldns_rr_type2str(type);

	diag_error(d, "%s answered %s to the query for %s %s: %s", where,
	           rc ? rc : "?", name, ty ? ty : "?",
	           rcode_cause(rcode, resolver));
	free(rc);
	free(ty);
}

/* Add the query name/type to b. */
void
dns_batch_add(struct batch *b, const char *name, ldns_rr_type type)
{
	str_copy(b->q[b->n].name, sizeof(b->q[b->n].name), name);
	b->q[b->n++].type = type;
}

/* Put the wire form of a query for name/type (class IN, RD set with
 * rd, else clear, id 0) into q. Returns 0, or -1 if name is not a valid
 * domain name. */
static int
query_wire(const char *name, ldns_rr_type type, int rd, struct buf *q)
{
	const unsigned char hdr[12] = {0, 0, rd ? 1 : 0, 0, 0, 1};
	unsigned char tc[4] = {(unsigned char)(type >> 8), (unsigned char)type,
	                       0, LDNS_RR_CLASS_IN};
	ldns_rdf *qn = ldns_dname_new_frm_str(name);

	if (qn == NULL)
		return -1;
	buf_append(q, hdr, sizeof(hdr));
	buf_append(q, ldns_rdf_data(qn), ldns_rdf_size(qn));
	buf_append(q, tc, sizeof(tc));
	ldns_rdf_deep_free(qn);
	return 0;
}

/* Send the queries of b to t at once, over TCP (signed when t has a key,
 * RD set only for a resolver), and take the replies. dns_send_wires()
 * reports into a diag, which is on the heap: a batch is sent at the
 * bottom of the deepest frames of a worker. */
void
dns_batch_send(const struct dns_target *t, struct batch *b)
{
	struct diag *e = xmalloc(sizeof(*e));
	struct buf q[QUERY_MAX];
	unsigned answer_only = 0;
	size_t i;

	diag_init(e);
	b->k = 0;
	memset(&b->fail, 0, sizeof(b->fail));
	b->fail.rcode = -1;
	b->sent_at = util_mono();
	for (i = 0; i < b->n; i++) {
		buf_init(&q[i], DNS_MSG_MAX);
		/* an SOA may come in the authority section; so does the
		 * proof that a CNAME's target has no MX (read_mx_chain()) */
		if (b->q[i].type != LDNS_RR_TYPE_SOA &&
		    b->q[i].type != LDNS_RR_TYPE_MX)
			answer_only |= 1u << i;
	}
	for (i = 0; i < b->n; i++) {
		const struct query *qi = &b->q[i];

		if (query_wire(qi->name, qi->type, t->recurse, &q[i]) == -1) {
			diag_error(e, "%s is not a valid domain name",
			           qi->name);
			break;
		}
	}
	if (i == b->n)
		b->k = dns_send_wires(t, q, b->n, answer_only, b->ans, b->where,
		                      sizeof(b->where), &b->fail, e);
	for (i = 0; i < b->n; i++)
		buf_free(&q[i]);
	str_copy(b->err, sizeof(b->err), e->error);
	free(e);
}

/*
 * Check the answer to query i of the batch b sent to t: it came, and is
 * NOERROR or NXDOMAIN and, with need_aa, authoritative. Returns 0, or -1
 * with the reason in d.
 */
int
dns_batch_check(const struct dns_target *t, const struct batch *b, size_t i,
                int need_aa, struct diag *d)
{
	const struct query *q = &b->q[i];
	int rcode;

	if (i >= b->k) {
		diag_error(d, "%s", b->err);
		return -1;
	}
	rcode = ldns_pkt_get_rcode(b->ans[i]);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		dns_query_rcode_error(b->where, q->name, q->type, rcode,
		                      t->recurse, d);
	else if (need_aa && !ldns_pkt_aa(b->ans[i]))
		diag_error(d,
		           "%s is not authoritative for %s: is it the "
		           "primary of zone %s?",
		           b->where, q->name, t->zone);
	else
		return 0;
	return -1;
}

/* Put the reason dns_batch_check() gives for answer i of b into b->err,
 * unless that holds one already. Its diag is on the heap, as
 * dns_batch_send()'s is. */
void
dns_batch_note(const struct dns_target *t, struct batch *b, size_t i)
{
	struct diag *d = xmalloc(sizeof(*d));

	diag_init(d);
	dns_batch_check(t, b, i, 1, d);
	reason_first(b->err, sizeof(b->err), "%s", d->error);
	free(d);
}

/* Free the answers of b. */
void
dns_batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->k; i++)
		ldns_pkt_free(b->ans[i]);
	b->k = 0;
}

/*
 * Check the answers to the queries first..n-1 of b, in order (as if they
 * had been asked one by one: the first failure is the one reported).
 * Returns 0, or -1 with the reason in d.
 */
static int
batch_check_from(const struct dns_target *t, const struct batch *b,
                 size_t first, int need_aa, struct diag *d)
{
	for (size_t i = first; i < b->n; i++)
		if (dns_batch_check(t, b, i, need_aa, d) == -1)
			return -1;
	return 0;
}

/* Ask the primary t for name/type. Returns 0 with *ans (NOERROR or
 * NXDOMAIN; with need_aa authoritative) to free, or -1 with the reason
 * in d. */
int
dns_query_primary(const struct dns_target *t, const char *name,
                  ldns_rr_type type, int need_aa, ldns_pkt **ans,
                  struct diag *d)
{
	struct batch b;

	*ans = NULL;
	b.n = 0;
	dns_batch_add(&b, name, type);
	dns_batch_send(t, &b);
	if (dns_batch_check(t, &b, 0, need_aa, d) == -1) {
		dns_batch_free(&b);
		return -1;
	}
	*ans = b.ans[0];
	return 0;
}

/* Ask t the single question name/type over TCP and take its whole
 * reply; see dnsupdate.h. */
int
dns_query_tcp(const struct dns_target *t, const char *name, uint16_t type,
              struct ldns_struct_pkt **ans, struct diag *d)
{
	char where[DNS_NAME_MAX + 80];
	struct buf q;
	size_t k = 0;

	*ans = NULL;
	buf_init(&q, DNS_MSG_MAX);
	if (query_wire(name, (ldns_rr_type)type, t->recurse, &q) == -1)
		diag_error(d, "%s is not a valid domain name", name);
	else /* answer_only 0: the authority section tells the zone */
		k = dns_send_wires(t, &q, 1, 0, ans, where, sizeof(where), NULL,
		                   d);
	buf_free(&q);
	return k == 1 ? 0 : -1;
}

/* Does rr belong to the name qn? */
int
dns_rr_at(const ldns_rr *rr, const ldns_rdf *qn)
{
	return ldns_dname_compare(ldns_rr_owner(rr), qn) == 0;
}

/* Append the RDATA of rr, its fields as on the wire one after the
 * other, to s (and its TTL, if it is the first). Alone, for records of
 * other types than TXT, which dnsupdate.c compares only: s->text then
 * stays empty. */
static void
rdata_add(struct dns_txtset *s, const ldns_rr *rr)
{
	struct buf raw;

	buf_init(&raw, DNS_MSG_MAX);
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);

		buf_append(&raw, ldns_rdf_data(f), ldns_rdf_size(f));
	}
	if (s->n == 0)
		s->ttl = ldns_rr_ttl(rr);
	s->rdata = xreallocarray(s->rdata, s->n + 1, sizeof(*s->rdata));
	s->rdlen = xreallocarray(s->rdlen, s->n + 1, sizeof(*s->rdlen));
	s->rdata[s->n] = xmalloc(raw.len ? raw.len : 1);
	if (raw.len)
		memcpy(s->rdata[s->n], raw.data, raw.len);
	s->rdlen[s->n] = raw.len;
	s->n++;
	buf_free(&raw);
}

/* Append the TXT record rr to s: its text (character-strings joined)
 * and its RDATA as on the wire. */
static void
txtset_add(struct dns_txtset *s, const ldns_rr *rr)
{
	struct buf text;

	buf_init(&text, DNS_MSG_MAX);
	buf_puts(&text, "");
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *p = ldns_rdf_data(f);
		size_t len = ldns_rdf_size(f);

		for (size_t j = 1; j < len; j++)
			buf_append(&text, p[j] ? (const char *)p + j : "?", 1);
	}
	strlist_add(&s->text, text.data);
	rdata_add(s, rr);
	buf_free(&text);
}

void
dns_txtset_free(struct dns_txtset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rdata[i]);
	free(s->rdata);
	free(s->rdlen);
	strlist_free(&s->text);
	memset(s, 0, sizeof(*s));
}

/* Take the TXT RRset at name from the answer ans into s; *cname
 * receives the target when name is a CNAME (a new string), else NULL. */
void
dns_read_txt(const ldns_pkt *ans, const char *name, struct dns_txtset *s,
             char **cname)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name);

	*cname = NULL;
	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!dns_rr_at(rr, qn))
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT)
			txtset_add(s, rr);
		else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		         *cname == NULL && ldns_rr_rd_count(rr) == 1)
			*cname = dns_rdf_name(ldns_rr_rdf(rr, 0));
	}
	ldns_rdf_deep_free(qn);
}

/* Take the records of type at name from the answer ans into s: for
 * TXT, as dns_read_txt() does (a CNAME aside); for another type, their
 * RDATA only. */
static void
read_rrs(const ldns_pkt *ans, const char *name, ldns_rr_type type,
         struct dns_txtset *s)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name);

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!dns_rr_at(rr, qn) || ldns_rr_get_type(rr) != type)
			continue;
		if (type == LDNS_RR_TYPE_TXT)
			txtset_add(s, rr);
		else
			rdata_add(s, rr);
	}
	ldns_rdf_deep_free(qn);
}

/* The target of the CNAME at name in the answer ans (a new string), or
 * NULL. */
static char *
read_cname(const ldns_pkt *ans, const char *name)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name);
	char *cname = NULL;

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (dns_rr_at(rr, qn) &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    ldns_rr_rd_count(rr) == 1) {
			cname = dns_rdf_name(ldns_rr_rdf(rr, 0));
			break;
		}
	}
	ldns_rdf_deep_free(qn);
	return cname;
}

/* Take the MX targets of domain from the answer ans into mx ("." for a
 * null MX). */
static void
read_mx(const ldns_pkt *ans, const char *domain, struct strlist *mx)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(domain);

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (dns_rr_at(rr, qn) &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_MX &&
		    ldns_rr_rd_count(rr) == 2) {
			char *host = dns_rdf_name(ldns_rr_rdf(rr, 1));

			strlist_add(mx, host);
			free(host);
		}
	}
	ldns_rdf_deep_free(qn);
}

/* Was the answer ans NXDOMAIN? Without a CNAME in it, its name does not
 * exist and no wildcard covers it. */
static int
nxdomain(const ldns_pkt *ans)
{
	return ldns_pkt_get_rcode(ans) == LDNS_RCODE_NXDOMAIN;
}

/* Whether the authority section of ans holds an SOA at name or at an
 * ancestor of it: the answer comes from the zone holding name. */
static int
soa_above(const ldns_pkt *ans, const char *name)
{
	const ldns_rr_list *au = ldns_pkt_authority(ans);
	int found = 0;

	for (size_t i = 0; !found && i < ldns_rr_list_rr_count(au); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(au, i);
		char *owner;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA)
			continue;
		owner = dns_rdf_name(ldns_rr_owner(rr));
		found =
		    name_under(name, strcmp(owner, ".") == 0 ? "" : owner, 0);
		free(owner);
	}
	return found;
}

/*
 * Follow the CNAME chain from its last name in the answer ans, adding
 * each target to chain, as senders follow it (RFC 5321 section 5.1: a
 * target is processed as if it were the initial name), at most
 * DNS_CNAME_CHAIN_MAX links in all. Returns DNS_MX_LOOP when a target is
 * a name of the chain already (the last element, seen twice), DNS_MX_LONG
 * when the chain goes on past the bound, else 0 (the last element is its
 * end in ans).
 */
static int
chain_follow(const ldns_pkt *ans, struct strlist *chain)
{
	char *next;

	while ((next = read_cname(ans, chain->v[chain->n - 1])) != NULL) {
		int seen = 0;

		for (size_t i = 0; !seen && i < chain->n; i++)
			seen = ascii_casecmp(chain->v[i], next) == 0;
		strlist_add(chain, next);
		free(next);
		if (seen)
			return DNS_MX_LOOP;
		if (chain->n - 1 > DNS_CNAME_CHAIN_MAX)
			return DNS_MX_LONG;
	}
	return 0;
}

/* The CNAME chain of domain in ans into chain (domain first), as
 * chain_follow() returns it. */
static int
cname_chain(const ldns_pkt *ans, const char *domain, struct strlist *chain)
{
	strlist_add(chain, domain);
	return chain_follow(ans, chain);
}

/* Whether answer i of b, to domain's MX query, came and is a SERVFAIL
 * that holds a CNAME loop from domain: BIND answers a loop so, with the
 * chain in the answer section (Knot with NOERROR). It is then read as
 * a loop (read_mx_chain()), not as a zone the server cannot serve. */
static int
mx_answer_loops(const struct batch *b, size_t i, const char *domain)
{
	struct strlist chain = {0};
	int loop;

	if (i >= b->k || ldns_pkt_get_rcode(b->ans[i]) != LDNS_RCODE_SERVFAIL)
		return 0;
	loop = cname_chain(b->ans[i], domain, &chain) == DNS_MX_LOOP;
	strlist_free(&chain);
	return loop;
}

/* Set st's mx_unread to name and mx_unread_why to why, and with
 * DNS_MX_LOOP its mx_chain to chain's names, " -> " between them. */
static void
mx_unread(struct dns_state *st, int why, const char *name,
          const struct strlist *chain)
{
	st->mx_unread = xstrdup(name);
	st->mx_unread_why = why;
	if (why == DNS_MX_LOOP) {
		struct buf b;

		buf_init(&b, 4096);
		for (size_t i = 0; i < chain->n; i++)
			buf_printf(&b, "%s%s", i ? " -> " : "", chain->v[i]);
		st->mx_chain = buf_steal(&b);
	}
}

/* Take into st the MX of the end of chain from ans (a name of the
 * chain's answer). Returns DNS_MX_AWAY when ans holds neither those MX
 * records nor the proof that it has none (an SOA above the end),
 * DNS_MX_NXDOMAIN when the end does not exist, else 0. */
static int
chain_end_mx(const ldns_pkt *ans, const struct strlist *chain,
             struct dns_state *st)
{
	const char *end = chain->v[chain->n - 1];

	read_mx(ans, end, &st->mx);
	if (st->mx.n == 0 && !soa_above(ans, end))
		return DNS_MX_AWAY;
	if (st->mx.n == 0 && nxdomain(ans))
		return DNS_MX_NXDOMAIN;
	return 0;
}

/* Did query i of b get an answer with rcode NOERROR or NXDOMAIN? */
static int
batch_answered(const struct batch *b, size_t i)
{
	int rcode = i < b->k ? (int)ldns_pkt_get_rcode(b->ans[i]) : -1;

	return rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN;
}

/*
 * Ask t for the MX of the end of chain, which its answer to the domain's
 * MX left unfollowed: BIND and Knot do not follow a CNAME into another
 * zone, even one they serve. The chain goes on from its answer. Returns
 * what chain_follow() or chain_end_mx() make of an authoritative answer;
 * DNS_MX_AWAY when t does not serve the name (REFUSED, NOTAUTH, a
 * referral or another answer without authority); -1 with the reason in
 * d when the question failed (no answer, SERVFAIL).
 */
static int
chain_ask_end(const struct dns_target *t, struct strlist *chain,
              struct dns_state *st, struct diag *d)
{
	struct batch b;
	int rcode, why = DNS_MX_AWAY;

	b.n = 0;
	dns_batch_add(&b, chain->v[chain->n - 1], LDNS_RR_TYPE_MX);
	dns_batch_send(t, &b);
	rcode = b.k == 1 ? (int)ldns_pkt_get_rcode(b.ans[0]) : -1;
	if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH ||
	    (batch_answered(&b, 0) && !ldns_pkt_aa(b.ans[0])))
		why = DNS_MX_AWAY;
	else if (dns_batch_check(t, &b, 0, 1, d) == -1)
		why = -1;
	else if ((why = chain_follow(b.ans[0], chain)) == 0)
		why = chain_end_mx(b.ans[0], chain, st);
	dns_batch_free(&b);
	return why;
}

/*
 * Take the MX of domain from its MX answer ans (from t) into st, as
 * senders take them: those at the end of domain's CNAME chain, named by
 * st->mx_owner. A server answering for the target's zone adds them
 * (PowerDNS); when the answer stops at a name of the chain (BIND, Knot:
 * a CNAME into another zone), t is asked for that name's MX, once per
 * name the chain reaches. What the answers do not tell is not guessed
 * at: st->mx_unread names where and why (a loop, a chain too long, an
 * end that does not exist, or one t does not serve: outside its zones).
 * Returns 0, or -1 with the reason in d when a further question failed.
 */
static int
read_mx_chain(const struct dns_target *t, const ldns_pkt *ans,
              const char *domain, struct dns_state *st, struct diag *d)
{
	struct strlist chain = {0};
	int why = cname_chain(ans, domain, &chain);
	size_t asked = 1;

	if (why == 0 && chain.n > 1)
		why = chain_end_mx(ans, &chain, st);
	else if (why == 0)
		read_mx(ans, domain, &st->mx);
	/* each question moves the chain on, or ends the walk */
	while (why == DNS_MX_AWAY && chain.n > asked) {
		asked = chain.n;
		why = chain_ask_end(t, &chain, st, d);
	}
	if (why > 0)
		mx_unread(st, why, chain.v[chain.n - 1], &chain);
	if (chain.n > 1 && why >= 0 && why != DNS_MX_LOOP && why != DNS_MX_LONG)
		st->mx_owner = xstrdup(chain.v[chain.n - 1]);
	strlist_free(&chain);
	return why == -1 ? -1 : 0;
}

/* Add the queries of type at the two names of domain that names
 * (DNS_NAME_*) holds to b: _mta-sts.<domain>, then _smtp._tls.<domain>. */
static void
names_batch(struct batch *b, const char *domain, ldns_rr_type type,
            unsigned names)
{
	char name[DNS_NAME_MAX + 16];

	if (names & DNS_NAME_STS) {
		snprintf(name, sizeof(name), "_mta-sts.%s", domain);
		dns_batch_add(b, name, type);
	}
	if (!(names & DNS_NAME_TLSRPT))
		return;
	snprintf(name, sizeof(name), "_smtp._tls.%s", domain);
	dns_batch_add(b, name, type);
}

/* Add the state queries of domain to b: TXT at _mta-sts.<domain> and
 * _smtp._tls.<domain>, and with with_mx the MX of domain. (The zone of
 * each name is asked by dns_state_zones(), only for a domain that
 * changes.) */
void
dns_state_batch(struct batch *b, const char *domain, int with_mx)
{
	names_batch(b, domain, LDNS_RR_TYPE_TXT,
	            DNS_NAME_STS | DNS_NAME_TLSRPT);
	if (with_mx)
		dns_batch_add(b, domain, LDNS_RR_TYPE_MX);
}

/*
 * The zone that t's zone delegates name to, by ans, the answer of the
 * primary t to a query at name: a referral (NOERROR, AA bit clear, no
 * answer, NS records in the authority section at name or an ancestor of
 * it below t's zone), which the primary gives for a name that its zone
 * delegates to a zone it does not serve. A new string, or NULL when ans
 * is no such referral.
 */
static char *
referral_zone(const struct dns_target *t, const ldns_pkt *ans, const char *name)
{
	const ldns_rr_list *au = ldns_pkt_authority(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name),
	         *zn = ldns_dname_new_frm_str(t->zone);
	char *cut = NULL;

	if (qn == NULL || zn == NULL || ldns_pkt_aa(ans) ||
	    ldns_pkt_get_rcode(ans) != LDNS_RCODE_NOERROR ||
	    ldns_rr_list_rr_count(ldns_pkt_answer(ans)) > 0)
		goto out;
	for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(au, i);
		const ldns_rdf *o = ldns_rr_owner(rr);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    (ldns_dname_compare(o, qn) == 0 ||
		     ldns_dname_is_subdomain(qn, o)) &&
		    ldns_dname_is_subdomain(o, zn)) {
			cut = dns_rdf_name(o);
			break;
		}
	}
out:
	ldns_rdf_deep_free(qn);
	ldns_rdf_deep_free(zn);
	return cut;
}

/* The zone that holds name by the authoritative answer ans to its SOA
 * query (the SOA at name, or the one above it in the authority section),
 * as a new string; NULL when ans does not tell. */
static char *
soa_zone(const ldns_pkt *ans, const char *name)
{
	ldns_rdf *qn = ldns_dname_new_frm_str(name);
	const ldns_rr *soa =
	    qn != NULL && ldns_pkt_aa(ans) ? dns_zone_soa(ans, qn) : NULL;
	char *zone = soa != NULL ? dns_rdf_name(ldns_rr_owner(soa)) : NULL;

	ldns_rdf_deep_free(qn);
	return zone;
}

/*
 * Check answer i of b (sent to t), the TXT records of one of the names of
 * a state (bit: DNS_NAME_STS or DNS_NAME_TLSRPT), into st: authoritative,
 * or a referral (NOERROR, AA bit clear, no answer), which sets or leaves
 * the bit in st->away (nothing is read there): at the first read
 * (first_read), one to a zone below t's that referral_zone() finds in its
 * authority section, whose name goes in st's *_zone; at a read again,
 * any, for a name that st->away says t does not serve (the authority
 * section is not parsed). Returns 0, or -1 with the reason in d.
 */
static int
state_txt_check(const struct dns_target *t, const struct batch *b, size_t i,
                unsigned bit, int first_read, struct dns_state *st,
                struct diag *d)
{
	char **zone = bit == DNS_NAME_STS ? &st->sts_zone : &st->tlsrpt_zone;

	if (first_read && i < b->k && t->zone[0] != '\0' &&
	    (*zone = referral_zone(t, b->ans[i], b->q[i].name)) != NULL)
		st->away |= bit;
	if ((st->away & bit) && i < b->k &&
	    ldns_pkt_get_rcode(b->ans[i]) == LDNS_RCODE_NOERROR &&
	    !ldns_pkt_aa(b->ans[i]) &&
	    ldns_rr_list_rr_count(ldns_pkt_answer(b->ans[i])) == 0)
		return 0;
	st->away &= ~bit;
	return dns_batch_check(t, b, i, 1, d);
}

/* The zone of the name of the SOA query i of b (sent to t), when its
 * answer came and tells: a referral's (*away set to 1) or an
 * authoritative SOA's; a new string, or NULL (*away 0). Nothing is
 * checked: dns_batch_check() does that. */
static char *
answer_zone(const struct dns_target *t, const struct batch *b, size_t i,
            int *away)
{
	char *zone;
	int rcode;

	*away = 0;
	if (i >= b->k)
		return NULL;
	rcode = ldns_pkt_get_rcode(b->ans[i]);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		return NULL;
	if (t->zone[0] != '\0' &&
	    (zone = referral_zone(t, b->ans[i], b->q[i].name)) != NULL) {
		*away = 1;
		return zone;
	}
	return soa_zone(b->ans[i], b->q[i].name);
}

/* Take into st the zone of the name of the SOA query i of b (bit: its
 * DNS_NAME_*) as answer_zone() reads it, a referral flagged in st->away.
 * Nothing is checked: dns_batch_check() does that after both answers,
 * in the order of the queries. */
static void
state_zone(const struct dns_target *t, const struct batch *b, size_t i,
           unsigned bit, struct dns_state *st)
{
	char **zone = bit == DNS_NAME_STS ? &st->sts_zone : &st->tlsrpt_zone;
	int away;

	free(*zone);
	*zone = answer_zone(t, b, i, &away);
	if (away)
		st->away |= bit;
}

/*
 * Add to d, the reason why the first read of domain from t failed, why
 * that is no wonder when t's zone is below domain (a zone of its own for
 * _mta-sts.<domain>) and t does not serve domain's zone, as its answer
 * to the MX query at domain (answer i of b) tells: REFUSED or NOTAUTH,
 * or without authority. Not for any other failure (a zone that does not
 * load, a timeout): its own cause is the one to fix.
 */
static void
state_fail_hint(const struct dns_target *t, const struct batch *b, size_t i,
                const char *domain, struct diag *d)
{
	int rcode;

	if (i >= b->k || !name_under(t->zone, domain, 1))
		return;
	rcode = ldns_pkt_get_rcode(b->ans[i]);
	if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH ||
	    ((rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN) &&
	     !ldns_pkt_aa(b->ans[i])))
		diag_append(d,
		            " (the zone of _mta-sts is below the domain, and "
		            "its primary is asked for the domain's MX and "
		            "_smtp._tls records too: a _mta-sts record on "
		            "another primary than its domain's is not "
		            "supported; serve both zones from one primary, or "
		            "_mta-sts from the domain's zone)");
}

/* Check the answers to the state queries added to b at first (sent to
 * t) and take them into st; away: the names (DNS_NAME_*) that an earlier
 * read found t does not serve (st->away); names: those the caller
 * manages: at _smtp._tls.<domain> without it, a failed answer (SERVFAIL
 * from a zone there that does not load, say) is read as empty rather
 * than failing a domain that leaves that record alone. Returns 0, or -1
 * with the reason in d. */
int
dns_state_take(const struct dns_target *t, const struct batch *b, size_t first,
               const char *domain, unsigned away, unsigned names,
               struct dns_state *st, struct diag *d)
{
	int with_mx = b->n > first + 2,
	    rpt = (names & DNS_NAME_TLSRPT) || batch_answered(b, first + 1);

	memset(st, 0, sizeof(*st));
	st->away = away;
	if (state_txt_check(t, b, first, DNS_NAME_STS, with_mx, st, d) == -1 ||
	    (rpt && state_txt_check(t, b, first + 1, DNS_NAME_TLSRPT, with_mx,
	                            st, d) == -1) ||
	    (with_mx && !mx_answer_loops(b, first + 2, domain) &&
	     dns_batch_check(t, b, first + 2, 1, d) == -1)) {
		if (with_mx)
			state_fail_hint(t, b, first + 2, domain, d);
		dns_state_free(st);
		return -1;
	}
	st->read_at = b->sent_at;
	if (!(st->away & DNS_NAME_STS))
		dns_read_txt(b->ans[first], b->q[first].name, &st->sts,
		             &st->sts_cname);
	if (rpt && !(st->away & DNS_NAME_TLSRPT))
		dns_read_txt(b->ans[first + 1], b->q[first + 1].name,
		             &st->tlsrpt, &st->tlsrpt_cname);
	st->below_nxdomain =
	    (nxdomain(b->ans[first]) && st->sts_cname == NULL) ||
	    (rpt && nxdomain(b->ans[first + 1]) && st->tlsrpt_cname == NULL);
	if (with_mx) {
		st->domain_cname = read_cname(b->ans[first + 2], domain);
		if (read_mx_chain(t, b->ans[first + 2], domain, st, d) == -1) {
			dns_state_free(st);
			return -1;
		}
		st->mx_read = 1;
	}
	return 0;
}

/* Read the TXT records of domain (and its MX, with with_mx) from t: the
 * queries are sent at once (pipelined); away and names as dns_state_take()
 * takes them. */
int
dns_state_ask(const struct dns_target *t, const char *domain, int with_mx,
              unsigned away, unsigned names, struct dns_state *st,
              struct diag *d)
{
	struct batch b;
	int rc;

	b.n = 0;
	dns_state_batch(&b, domain, with_mx);
	dns_batch_send(t, &b);
	rc = dns_state_take(t, &b, 0, domain, away, names, st, d);
	dns_batch_free(&b);
	return rc;
}

/* Read the state of domain from the primary; see dnsupdate.h. */
int
dns_state_read(const struct dns_target *t, const char *domain, unsigned names,
               struct dns_state *st, struct diag *d)
{
	return dns_state_ask(t, domain, 1, 0, names, st, d);
}

/* Keep in st what dns_state_zones() reads of answer i of b, t's answer
 * to the SOA query at _mta-sts.<domain>; see dns-internal.h. */
void
dns_state_keep_soa(const struct dns_target *t, const struct batch *b, size_t i,
                   struct dns_state *st)
{
	free(st->sts_soa_zone);
	st->sts_soa_zone = answer_zone(t, b, i, &st->sts_soa_away);
	st->sts_soa_read = 1;
}

/*
 * Ask t for the zones of domain's two names; see dnsupdate.h. What st
 * keeps of t's own answer at _mta-sts.<domain> (asked with the first
 * reads; dns_state_keep_soa()) is taken instead of asking it again; the
 * other is asked as ever. The kept answer's rcode was checked when it
 * came, so only those asked here are.
 */
int
dns_state_zones(const struct dns_target *t, const char *domain, unsigned names,
                struct dns_state *st, struct diag *d)
{
	unsigned ask = DNS_NAME_STS | (names & DNS_NAME_TLSRPT);
	struct batch b;
	size_t i = 0;
	int rc;

	if (st->sts_soa_read) {
		free(st->sts_zone);
		st->sts_zone = st->sts_soa_zone;
		if (st->sts_soa_away)
			st->away |= DNS_NAME_STS;
		st->sts_soa_zone = NULL;
		st->sts_soa_read = 0;
		ask &= ~DNS_NAME_STS;
	}
	b.n = 0;
	names_batch(&b, domain, LDNS_RR_TYPE_SOA, ask);
	if (b.n == 0)
		return 0;
	dns_batch_send(t, &b);
	if (ask & DNS_NAME_STS)
		state_zone(t, &b, i++, DNS_NAME_STS, st);
	if (ask & DNS_NAME_TLSRPT)
		state_zone(t, &b, i, DNS_NAME_TLSRPT, st);
	rc = batch_check_from(t, &b, 0, 0, d);
	dns_batch_free(&b);
	return rc;
}

/* Free what st keeps for dns_state_zones(); see dnsupdate.h. */
void
dns_state_drop_soa(struct dns_state *st)
{
	free(st->sts_soa_zone);
	st->sts_soa_zone = NULL;
	st->sts_soa_read = 0;
}

/* Free what st holds (st itself belongs to the caller) and clear it. */
void
dns_state_free(struct dns_state *st)
{
	if (st == NULL)
		return;
	free(st->sts_cname);
	free(st->tlsrpt_cname);
	free(st->sts_wildcard_cname);
	free(st->tlsrpt_wildcard_cname);
	free(st->domain_cname);
	free(st->mx_owner);
	free(st->mx_unread);
	free(st->mx_chain);
	free(st->sts_zone);
	free(st->tlsrpt_zone);
	free(st->sts_soa_zone);
	dns_txtset_free(&st->sts);
	dns_txtset_free(&st->tlsrpt);
	strlist_free(&st->mx);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------- wildcard answers */

/* The probe name of a wildcard test; see dnsupdate.h. */
int
dns_probe_name(const char *name, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[8];
	char label[2 * sizeof(r) + 1];

	/* 253: the longest name in text without the final dot */
	if (strlen(name) + strlen("mta-sts-sync-.") + 2 * sizeof(r) > 253)
		return -1;
	dns_random_bytes(r, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++) {
		label[2 * i] = hex[r[i] >> 4];
		label[2 * i + 1] = hex[r[i] & 15];
	}
	label[2 * sizeof(r)] = '\0';
	snprintf(out, size, "mta-sts-sync-%s.%s", label, name);
	return 0;
}

/* Do the TXT RRsets a and b hold the same records (RDATA)? */
int
dns_txtset_same(const struct dns_txtset *a, const struct dns_txtset *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;

		while (j < b->n &&
		       (b->rdlen[j] != a->rdlen[i] ||
		        memcmp(b->rdata[j], a->rdata[i], a->rdlen[i]) != 0))
			j++;
		if (j == b->n)
			return 0;
	}
	return 1;
}

/* One name of a state whose answer may be a wildcard's. */
struct wild_part {
	struct dns_txtset *set; /* the TXT records read there */
	char **cname;           /* the CNAME target read there, or NULL */
	char **wild_cname;      /* receives *cname if it is a wildcard's */
	int *flag;              /* set if either is a wildcard's */
};

/* Add the probe of the name label.domain, read into part, to b and p if
 * its answer may be a wildcard's: a CNAME, or TXT records none of which
 * is of our kind (prefix) (the RRset with our record is at a name that
 * exists: the last update made it). */
static void
wild_add(struct batch *b, struct wild_part *p, const struct wild_part *part,
         const char *label, const char *domain, const char *prefix)
{
	char name[DNS_NAME_MAX + 16], probe[DNS_NAME_MAX + 16];
	const struct dns_txtset *s = part->set;

	if (*part->cname == NULL &&
	    (s->n == 0 || dns_txtset_count(s, prefix) > 0))
		return;
	snprintf(name, sizeof(name), "%s.%s", label, domain);
	if (dns_probe_name(name, probe, sizeof(probe)) == -1)
		return;
	p[b->n] = *part;
	dns_batch_add(b, probe, LDNS_RR_TYPE_TXT);
}

/* Is the answer read into p a wildcard's, by the answer ans to its
 * probe name pname: a CNAME to the same target, or, without a CNAME,
 * the same TXT records? */
static int
wild_alike(const struct wild_part *p, const ldns_pkt *ans, const char *pname)
{
	struct dns_txtset probe;
	char *cname;
	int same;

	memset(&probe, 0, sizeof(probe));
	dns_read_txt(ans, pname, &probe, &cname);
	if (*p->cname != NULL)
		same = cname != NULL && strcmp(cname, *p->cname) == 0;
	else
		same = cname == NULL && dns_txtset_same(p->set, &probe);
	dns_txtset_free(&probe);
	free(cname);
	return same;
}

/* Leave out and flag each answer of p that its probe, among the first
 * n queries of b (answered), tells a wildcard's: TXT records are
 * emptied, a CNAME is moved to *wild_cname. */
static void
wild_take(const struct batch *b, const struct wild_part *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!wild_alike(&p[i], b->ans[i], b->q[i].name))
			continue;
		dns_txtset_free(p[i].set);
		*p[i].wild_cname = *p[i].cname;
		*p[i].cname = NULL;
		*p[i].flag = 1;
	}
}

/* Do the MX host lists a and b name the same hosts, in any order? */
static int
mx_same(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;

		while (j < b->n && ascii_casecmp(a->v[i], b->v[j]) != 0)
			j++;
		if (j == b->n)
			return 0;
	}
	return 1;
}

/* The types asked about a domain: at the probe below it and at the
 * probe beside it, all four; at the domain itself, all but the first
 * (its MX is asked apart: sync has it in its state). */
static const ldns_rr_type wild_domain_types[] = {
    LDNS_RR_TYPE_MX, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
#define WILD_TYPES 4
/* where wild_domain_ask() puts them, from its first question on: the
 * probe below (i from 0), the probe beside (i from 0), the domain (i
 * from 1) */
#define WILD_BELOW(i) (i)
#define WILD_BESIDE(i) (WILD_TYPES + (i))
#define WILD_DOMAIN(i) (2 * WILD_TYPES - 1 + (i))

/*
 * Add to b the questions that tell whether domain exists only through a
 * wildcard: the four types at a random name just below domain and at a
 * random name beside it (below its parent, which is in the zone when
 * domain is not the apex), and all but the MX at domain (its MX is asked
 * apart), where WILD_BELOW(), WILD_BESIDE() and WILD_DOMAIN() say from
 * the first one added (wild_domain_lost() says why both probes). Returns
 * 0, or -1 with nothing added when domain has one label or a probe name
 * would be too long.
 */
static int
wild_domain_ask(struct batch *b, const char *domain)
{
	char below[DNS_NAME_MAX + 16], beside[DNS_NAME_MAX + 16];
	const char *parent = strchr(domain, '.');

	if (parent == NULL ||
	    dns_probe_name(domain, below, sizeof(below)) == -1 ||
	    dns_probe_name(parent + 1, beside, sizeof(beside)) == -1)
		return -1;
	for (size_t i = 0; i < WILD_TYPES; i++)
		dns_batch_add(b, below, wild_domain_types[i]);
	for (size_t i = 0; i < WILD_TYPES; i++)
		dns_batch_add(b, beside, wild_domain_types[i]);
	for (size_t i = 1; i < WILD_TYPES; i++)
		dns_batch_add(b, domain, wild_domain_types[i]);
	return 0;
}

/*
 * Add to b the questions about domain, read into st (wild_domain_ask()),
 * if the run may create a name below it that would hide what a wildcard
 * gives domain: its MX was read, it is below the apex of the zone that
 * the run updates (the apex always exists, and often has its wildcard's
 * MX and TXT; and when that zone is _mta-sts.<domain>'s own, the run
 * creates nothing in domain's zone, where the delegation of _mta-sts
 * makes domain exist already, and the probe beside domain would be
 * asked outside the zones the primary serves), neither of its names
 * holds a record of our kind (either would make it exist already: once
 * the run's record is there, nothing is asked; until then every run asks,
 * a domain refused or failing too), and neither was answered NXDOMAIN (a
 * wildcard that covered domain would answer them: a zone without one
 * pays nothing). A real record of another kind at either name proves it
 * exists too, but only the TXT probes sent beside these tell it
 * (wild_real_below()). Returns 1 if added, else 0.
 */
static int
wild_domain_add(struct batch *b, const struct dns_target *t, const char *domain,
                const struct dns_state *st)
{
	if (!st->mx_read || st->below_nxdomain ||
	    !name_under(domain, t->zone, 1) ||
	    dns_txtset_count(&st->sts, STS_RECORD_VERSION) > 0 ||
	    dns_txtset_count(&st->tlsrpt, TLSRPT_RECORD_VERSION) > 0)
		return 0;
	return wild_domain_ask(b, domain) == 0;
}

/* Is domain's MX, as read into mx, the same as the answer ans to the
 * probe name pname: the same hosts (or none at either)? */
static int
wild_mx_alike(const struct strlist *mx, const ldns_pkt *ans, const char *pname)
{
	struct strlist probe;
	int same;

	memset(&probe, 0, sizeof(probe));
	read_mx(ans, pname, &probe);
	same = mx_same(mx, &probe);
	strlist_free(&probe);
	return same;
}

/* Are the records here (of type) the same as those that the answer ans
 * holds at the probe name pname (the same RDATA, or none at either)? */
static int
wild_rrs_alike(const struct dns_txtset *here, ldns_rr_type type,
               const ldns_pkt *ans, const char *pname)
{
	struct dns_txtset probe;
	int same;

	memset(&probe, 0, sizeof(probe));
	read_rrs(ans, pname, type, &probe);
	same = dns_txtset_same(here, &probe);
	dns_txtset_free(&probe);
	return same;
}

/* What a domain's record gives it; see dnsupdate.h. */
unsigned
dns_wild_record(uint16_t type, const char *data)
{
	switch (type) {
	case LDNS_RR_TYPE_MX:
		return strcmp(data, ".") == 0 ? DNS_WILD_NULL_MX : DNS_WILD_MX;
	case LDNS_RR_TYPE_TXT:
		return record_is_spf(data) ? DNS_WILD_SPF : DNS_WILD_TXT;
	case LDNS_RR_TYPE_A:
		return DNS_WILD_A;
	case LDNS_RR_TYPE_AAAA:
		return DNS_WILD_AAAA;
	default:
		return 0;
	}
}

/* What records of a type may give; see dnsupdate.h. */
unsigned
dns_wild_type(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_MX:
		return DNS_WILD_MX | DNS_WILD_NULL_MX;
	case LDNS_RR_TYPE_TXT:
		return DNS_WILD_SPF | DNS_WILD_TXT;
	default:
		return dns_wild_record(type, "");
	}
}

/* What the records s of type (TXT, A or AAAA) give a domain
 * (DNS_WILD_*; 0 if s is empty). */
static unsigned
wild_have(ldns_rr_type type, const struct dns_txtset *s)
{
	unsigned have = 0;

	for (size_t i = 0; i < s->n; i++)
		have |= dns_wild_record(
		    type, type == LDNS_RR_TYPE_TXT ? s->text.v[i] : "");
	return have;
}

/* The verdict of a wildcard test; see dnsupdate.h, and
 * wild_domain_lost() for why. */
unsigned
dns_wild_verdict(unsigned have, unsigned differ)
{
	const unsigned addr = DNS_WILD_A | DNS_WILD_AAAA;
	const unsigned mx_txt =
	    dns_wild_type(LDNS_RR_TYPE_MX) | dns_wild_type(LDNS_RR_TYPE_TXT);

	if ((differ & mx_txt) != 0)
		return 0;
	if ((differ & addr) != 0 && (have & mx_txt) == 0)
		return 0;
	return (have & ~DNS_WILD_NULL_MX) != 0 ? have : 0;
}

/*
 * What domain, read into st, gets from a wildcard (DNS_WILD_*), by the
 * answers of b from first on (wild_domain_ask()'s questions): 0 unless
 * its MX and TXT RRsets are each the same as those of both probes, the
 * name below it (B, <random>.<domain>) and the name beside it (S,
 * <random>.<parent>), its A and AAAA RRsets too if its MX and TXT hold
 * no record, and it has more to lose than a null MX (which takes no mail
 * before or after): dns_wild_verdict(). A name that does not exist is
 * answered from the wildcard of its closest encloser, the nearest name
 * above it that exists, if that has one, else NXDOMAIN (RFC 4592
 * section 3.3.1), and a name that exists never is (a wildcard applies
 * only where the name is not found, RFC 1034 section 4.3.2 step 3c);
 * names do not exist by chance, so neither probe does.
 * - domain does not exist (what is refused): nothing below it exists
 *   either (it would make domain exist, section 2.2.2), so domain's
 *   closest encloser E is B's too; and it is S's: E is the parent P if
 *   P exists, else a name above P, with nothing below P. One wildcard,
 *   *.E, answers all three alike. For a.b.<zone>: b does not exist, and
 *   all get *.<zone>'s records; *.b.<zone> exists (b does then), and
 *   all get its records; b exists without a wildcard, and all get
 *   NXDOMAIN (nothing is asked then: st->below_nxdomain). For a.<zone>,
 *   E is the apex and all get *.<zone>'s. So every domain refused on B
 *   alone still is.
 * - domain exists (so does P): what it is asked for is its own, B's
 *   closest encloser is domain, S's is P, so B gets the records of
 *   *.<domain> or none, S those of *.<parent> or none: for a.b.<zone>,
 *   *.b.<zone>; for a.<zone>, *.<zone>. Having something to lose,
 *   domain is refused only if both wildcards exist and both give the
 *   records it holds itself. *.<domain> alone (a web host's "sub A x"
 *   beside "*.sub A x", or a domain's MX beside the same *.<domain>
 *   MX), which B alone took for a domain that does not exist, no longer
 *   is. What is left, and cannot be told without DNSSEC, is *.<parent>
 *   with those same records as well: most often *.<zone>, for a domain
 *   just below the apex (the blind spot that dnsupdate.h describes).
 * So an MX or TXT record of domain that both probes get too means that
 * domain does not exist, or the blind spot: an existing domain's record
 * is its own, and for B and S to get it too both wildcards must hold it.
 * Its addresses cannot tell these two apart any better, and they may
 * differ between the three answers although one wildcard gives them all:
 * a server may make a new answer for each query (a PowerDNS LUA record
 * picking an address at random or by which are up, ALIAS in a wildcard,
 * a geographic backend), and requiring them alike would publish such a
 * domain, taking away the wildcard's MX and its mail. So once an MX or
 * TXT record is alike at all three, the addresses are not compared (the
 * blind spot then takes in a domain whose own MX and TXT both wildcards
 * give, whatever addresses the three have). Without one, the addresses
 * are all there is to compare: every domain without an MX or TXT record
 * of its own has the same (none) as two names without any, and only
 * alike addresses tell one that does not exist.
 */
static unsigned
wild_domain_lost(const struct batch *b, size_t first,
                 const struct dns_state *st)
{
	ldns_pkt *const *ans = b->ans + first;
	const char *below = b->q[first + WILD_BELOW(0)].name,
	           *beside = b->q[first + WILD_BESIDE(0)].name,
	           *domain = b->q[first + WILD_DOMAIN(1)].name;
	unsigned have = 0, differ = 0;

	for (size_t i = 0; i < st->mx.n; i++)
		have |= dns_wild_record(LDNS_RR_TYPE_MX, st->mx.v[i]);
	if (!wild_mx_alike(&st->mx, ans[WILD_BELOW(0)], below) ||
	    !wild_mx_alike(&st->mx, ans[WILD_BESIDE(0)], beside))
		differ |= dns_wild_type(LDNS_RR_TYPE_MX);
	for (size_t i = 1; i < WILD_TYPES; i++) {
		ldns_rr_type type = wild_domain_types[i];
		struct dns_txtset here;

		memset(&here, 0, sizeof(here));
		read_rrs(ans[WILD_DOMAIN(i)], domain, type, &here);
		have |= wild_have(type, &here);
		if (!wild_rrs_alike(&here, type, ans[WILD_BELOW(i)], below) ||
		    !wild_rrs_alike(&here, type, ans[WILD_BESIDE(i)], beside))
			differ |= dns_wild_type(type);
		dns_txtset_free(&here);
	}
	return dns_wild_verdict(have, differ);
}

/* Append to out the words of list (n of them) joined as in "a, b and
 * c". */
static void
join_words(const char *const *list, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s%s",
		           i == 0      ? ""
		           : i + 1 < n ? ", "
		                       : " and ",
		           list[i]);
}

/* Append to what the records that a domain gets from a wildcard (lost,
 * DNS_WILD_*) as messages name them ("its MX, its SPF TXT record and its
 * address"), and to types their types ("MX, TXT, A"), for the advice to
 * give it its own. Returns whether what is plural. */
static int
wild_words(unsigned lost, struct buf *what, struct buf *types)
{
	const char *w[3], *t[4];
	size_t nw = 0, nt = 0;
	int plural = 0;

	if (lost & (DNS_WILD_MX | DNS_WILD_NULL_MX)) {
		w[nw++] = lost & DNS_WILD_MX ? "its MX" : "its null MX";
		t[nt++] = "MX";
	}
	if (lost & (DNS_WILD_SPF | DNS_WILD_TXT)) {
		w[nw++] = !(lost & DNS_WILD_TXT) ? "its SPF TXT record"
		          : !(lost & DNS_WILD_SPF)
		              ? "its TXT records"
		              : "its SPF and other TXT records";
		plural = (lost & DNS_WILD_TXT) != 0;
		t[nt++] = "TXT";
	}
	if (lost & (DNS_WILD_A | DNS_WILD_AAAA))
		w[nw++] = "its address";
	if (lost & DNS_WILD_A)
		t[nt++] = "A";
	if (lost & DNS_WILD_AAAA)
		t[nt++] = "AAAA";
	join_words(w, nw, what);
	for (size_t i = 0; i < nt; i++)
		buf_printf(types, "%s%s", i == 0 ? "" : ", ", t[i]);
	return plural || nw > 1;
}

/* What else stops when a domain loses lost (DNS_WILD_*): its mail, if it
 * goes to an MX or, without one, to the address (RFC 5321 section 5.1)
 * that goes: ", and mail to it would stop" (or a longer form), or "". */
static const char *
wild_mail(unsigned lost)
{
	if (lost & DNS_WILD_MX)
		return ", and mail to it would stop";
	if (!(lost & DNS_WILD_NULL_MX) && (lost & (DNS_WILD_A | DNS_WILD_AAAA)))
		return ", and mail to it, which goes to that address for want "
		       "of an MX (RFC 5321 section 5.1), would stop";
	return "";
}

/* Say what a domain gets from a wildcard, and would lose; see
 * dnsupdate.h. The sentence in three steps: what comes from where (and
 * the evidence), why it would go, and what to give it. */
void
dns_wild_sentence(struct buf *out, const char *domain, unsigned lost,
                  const char *wildcard, const char *created)
{
	struct buf what, types;
	int plural;

	buf_init(&what, 256);
	buf_init(&types, 256);
	buf_puts(&what, "");
	buf_puts(&types, "");
	plural = wild_words(lost, &what, &types);
	buf_printf(out,
	           "%s has no records of its own: %s %s from %s (a name "
	           "below it and one beside it get the same)",
	           domain, what.data, plural ? "come" : "comes", wildcard);
	buf_printf(out,
	           ", which no longer answers it once %s exists, so %s would "
	           "go%s",
	           created, plural ? "they" : "it", wild_mail(lost));
	buf_printf(out, "; give it records of its own (%s)", types.data);
	buf_free(&what);
	buf_free(&types);
}

/* After wild_take(): does a name below domain that was asked about (sts:
 * _mta-sts, tlsrpt: _smtp._tls) still hold a record, TXT or CNAME, which
 * is then its own? Such a name makes domain exist (an empty non-terminal
 * at least, RFC 4592 section 2.2.2), so no wildcard answers domain; a
 * wildcard *.<domain> that answers the probe alike does not matter. */
static int
wild_real_below(const struct dns_state *st, int sts, int tlsrpt)
{
	return (sts && (st->sts.n > 0 || st->sts_cname != NULL)) ||
	       (tlsrpt && (st->tlsrpt.n > 0 || st->tlsrpt_cname != NULL));
}

/* Tell wildcard answers in the state of domain; see dnsupdate.h. All
 * the probes needed are sent at once. */
int
dns_state_wildcards(const struct dns_target *t, const char *domain, int sts,
                    int tlsrpt, struct dns_state *st, struct diag *d)
{
	struct wild_part p[2];
	const struct wild_part sp = {&st->sts, &st->sts_cname,
	                             &st->sts_wildcard_cname,
	                             &st->sts_wildcard};
	const struct wild_part tp = {&st->tlsrpt, &st->tlsrpt_cname,
	                             &st->tlsrpt_wildcard_cname,
	                             &st->tlsrpt_wildcard};
	struct batch b;
	size_t ntxt;
	int rc = 0, dom;

	b.n = b.k = 0;
	if (sts)
		wild_add(&b, p, &sp, "_mta-sts", domain, STS_RECORD_VERSION);
	if (tlsrpt)
		wild_add(&b, p, &tp, "_smtp._tls", domain,
		         TLSRPT_RECORD_VERSION);
	ntxt = b.n;
	dom = (sts || tlsrpt) && wild_domain_add(&b, t, domain, st);
	if (b.n == 0)
		return 0;
	dns_batch_send(t, &b);
	if (batch_check_from(t, &b, 0, 1, d) == -1) {
		diag_append(d,
		            " (asking whether the records of %s come from a "
		            "wildcard)",
		            domain);
		rc = -1;
	} else {
		wild_take(&b, p, ntxt);
		if (dom && !wild_real_below(st, sts, tlsrpt))
			st->domain_wildcard = wild_domain_lost(&b, ntxt, st);
	}
	dns_batch_free(&b);
	return rc;
}

/* Does the answer ans hold an SOA record at name (name is a zone's
 * apex)? */
int
dns_holds_soa(const ldns_pkt *ans, const char *name)
{
	struct dns_txtset soa;
	int apex;

	memset(&soa, 0, sizeof(soa));
	read_rrs(ans, name, LDNS_RR_TYPE_SOA, &soa);
	apex = soa.n > 0;
	dns_txtset_free(&soa);
	return apex;
}

/* What domain gets from a wildcard, asked of a resolver; see
 * dnsupdate.h. One batch: the SOA (with ask_soa), the MX, then the
 * questions of wild_domain_ask(), which wild_domain_lost() reads with the
 * MX as sync's state holds it. */
int
dns_domain_wildcard(const struct dns_target *t, const char *domain, int ask_soa,
                    unsigned *lost, struct diag *d)
{
	struct dns_state st;
	struct batch b;
	size_t mx;
	int rc = 0;

	*lost = 0;
	if (strchr(domain, '.') == NULL) {
		diag_error(d,
		           "%s has one label, so there is no name beside it "
		           "to ask",
		           domain);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	b.n = b.k = 0;
	if (ask_soa)
		dns_batch_add(&b, domain, LDNS_RR_TYPE_SOA);
	mx = b.n;
	dns_batch_add(&b, domain, LDNS_RR_TYPE_MX);
	if (wild_domain_ask(&b, domain) == -1) {
		diag_error(
		    d,
		    "a name below %s to ask would be longer than the 253 "
		    "characters of a DNS name",
		    domain);
		return -1;
	}
	dns_batch_send(t, &b);
	if (batch_check_from(t, &b, 0, 0, d) == -1) {
		diag_append(d,
		            " (the %zu questions of the test go together "
		            "on one TCP connection)",
		            b.n);
		rc = -1;
	} else if (!(ask_soa && dns_holds_soa(b.ans[0], domain))) {
		read_mx(b.ans[mx], domain, &st.mx);
		*lost = wild_domain_lost(&b, mx + 1, &st);
	}
	dns_state_free(&st);
	dns_batch_free(&b);
	return rc;
}
