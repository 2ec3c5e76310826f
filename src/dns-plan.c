/*
 * dns-plan.c - building a zone's UPDATE from the changes its domains
 * need (dns-internal.h says how the files fit).
 *
 * dns_plan_build() turns each change (the records wanted, the state read)
 * into operations: the prerequisites, the RRsets exactly as read, and
 * the deletes and adds; dns_update_fit() says how many changes one message
 * can carry; dns_plan_packet() makes the ldns message of a plan, and
 * dns_update_text() the nsupdate-like text a dry run prints.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns-internal.h"
#include "record.h"

/* --------------------------------------------------------------- plan */

/* Is an operation of kind k a prerequisite? */
static int
op_prereq(enum op_kind k)
{
	return k == OP_EXISTS || k == OP_ABSENT || k == OP_NO_CNAME;
}

/* Append an operation to p, copying rdata. */
void
dns_plan_add(struct plan *p, enum op_kind kind, const char *owner,
             const unsigned char *rdata, size_t rdlen, uint32_t ttl)
{
	struct op *o;

	p->ops = xreallocarray(p->ops, p->n + 1, sizeof(*p->ops));
	o = &p->ops[p->n++];
	o->kind = kind;
	str_copy(o->owner, sizeof(o->owner), owner);
	o->rdata = xmalloc(rdlen ? rdlen : 1);
	if (rdlen)
		memcpy(o->rdata, rdata, rdlen);
	o->rdlen = rdlen;
	o->ttl = ttl;
}

void
dns_plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ops[i].rdata);
	free(p->ops);
	p->ops = NULL;
	p->n = 0;
}

/* Encode text as TXT RDATA: character-strings of up to 255 bytes. */
static void
txt_encode(const char *text, struct buf *out)
{
	size_t len = strlen(text), off = 0;

	do {
		size_t n = len - off > 255 ? 255 : len - off;
		unsigned char l = (unsigned char)n;

		buf_append(out, &l, 1);
		buf_append(out, text + off, n);
		off += n;
	} while (off < len);
}

size_t
dns_txtset_count(const struct dns_txtset *s, const char *prefix)
{
	size_t count = 0;

	for (size_t i = 0; i < s->n; i++)
		count += record_is_version(s->text.v[i], prefix);
	return count;
}

/* The TTL c wants for the records of the RRset s: the configured one,
 * or the one they have. */
static uint32_t
part_ttl(const struct dns_txtset *s, const struct dns_change *c)
{
	return c->ttl_set || s->n == 0 ? c->ttl : s->ttl;
}

/* Would setting the prefix records of s to text, with TTL ttl, change
 * anything? */
static int
part_needed(const struct dns_txtset *s, const char *text, const char *prefix,
            uint32_t ttl)
{
	size_t count = 0, same = 0;

	if (text == NULL)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!record_is_version(s->text.v[i], prefix))
			continue;
		count++;
		same += strcmp(s->text.v[i], text) == 0;
	}
	return !(count == 1 && same == 1 && s->ttl == ttl);
}

/* Add the operations that make the prefix records at owner exactly
 * text with TTL ttl, given the RRset s as read, to p. Besides the RRset
 * as read, owner must hold no CNAME: one made meanwhile where no TXT
 * record was passes a TXT prerequisite, and servers then drop the TXT
 * record added beside it (BIND, Knot) or refuse the update (PowerDNS),
 * with nothing that tells why. */
static void
plan_part(struct plan *p, const char *owner, const struct dns_txtset *s,
          const char *text, const char *prefix, uint32_t ttl)
{
	struct buf rd;
	int present = 0;

	if (!part_needed(s, text, prefix, ttl))
		return;
	if (s->n == 0)
		dns_plan_add(p, OP_ABSENT, owner, NULL, 0, 0);
	for (size_t i = 0; i < s->n; i++)
		dns_plan_add(p, OP_EXISTS, owner, s->rdata[i], s->rdlen[i], 0);
	dns_plan_add(p, OP_NO_CNAME, owner, NULL, 0, 0);
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->text.v[i], text) == 0 && s->ttl == ttl)
			present = 1;
		else if (record_is_version(s->text.v[i], prefix))
			dns_plan_add(p, OP_DELETE, owner, s->rdata[i],
			             s->rdlen[i], 0);
	}
	if (present)
		return;
	buf_init(&rd, DNS_MSG_MAX);
	txt_encode(text, &rd);
	dns_plan_add(p, OP_ADD, owner, (unsigned char *)rd.data, rd.len, ttl);
	buf_free(&rd);
}

/* Does applying c to its state change anything? */
int
dns_change_needed(const struct dns_change *c)
{
	const struct dns_txtset *sts, *rpt;

	if (c->state == NULL)
		return 1;
	sts = &c->state->sts;
	rpt = &c->state->tlsrpt;
	return part_needed(sts, c->sts_text, STS_RECORD_VERSION,
	                   part_ttl(sts, c)) ||
	       part_needed(rpt, c->tlsrpt_text, TLSRPT_RECORD_VERSION,
	                   part_ttl(rpt, c));
}

/* Refuse a change that would put a TXT record beside a CNAME. Returns
 * 0, or -1 with the reason in d. */
static int
change_refused(const struct dns_change *c, struct diag *d)
{
	if (c->state == NULL) {
		diag_error(d, "%s: the DNS state was not read", c->domain);
		return -1;
	}
	if (c->sts_text != NULL && c->state->sts_cname != NULL) {
		diag_error(d,
		           "_mta-sts.%s is a CNAME to %s (RFC 8461 section "
		           "8.2 delegation): leaving it alone",
		           c->domain, c->state->sts_cname);
		return -1;
	}
	if (c->tlsrpt_text != NULL && c->state->tlsrpt_cname != NULL) {
		diag_error(d,
		           "_smtp._tls.%s is a CNAME to %s: leaving it alone "
		           "(a TXT record cannot stand beside it)",
		           c->domain, c->state->tlsrpt_cname);
		return -1;
	}
	return 0;
}

/* Build the plan for the n changes. Returns 0, or -1 (refused, in d). */
int
dns_plan_build(const struct dns_change *c, size_t n, struct plan *p,
               struct diag *d)
{
	char owner[DNS_NAME_MAX + 16];

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++)
		if (!c[i].contended && dns_change_needed(&c[i]) &&
		    change_refused(&c[i], d) == -1)
			return -1;
	for (size_t i = 0; i < n; i++) {
		if (c[i].contended)
			continue;
		snprintf(owner, sizeof(owner), "_mta-sts.%s", c[i].domain);
		plan_part(p, owner, &c[i].state->sts, c[i].sts_text,
		          STS_RECORD_VERSION,
		          part_ttl(&c[i].state->sts, &c[i]));
		snprintf(owner, sizeof(owner), "_smtp._tls.%s", c[i].domain);
		plan_part(p, owner, &c[i].state->tlsrpt, c[i].tlsrpt_text,
		          TLSRPT_RECORD_VERSION,
		          part_ttl(&c[i].state->tlsrpt, &c[i]));
	}
	return 0;
}

/* ------------------------------------------------------------- split */

/* What an UPDATE to t takes besides its operations: header, zone
 * section and TSIG RR. */
static size_t
update_overhead(const struct dns_target *t)
{
	return 12 + strlen(t->zone) + 2 + 4 + dns_tsig_room(t);
}

/* How many bytes the operations of p take in an UPDATE, at most: their
 * names are counted uncompressed. */
static size_t
plan_wire_max(const struct plan *p)
{
	size_t size = 0;

	for (size_t i = 0; i < p->n; i++)
		size += strlen(p->ops[i].owner) + 2 + 10 + p->ops[i].rdlen;
	return size;
}

/*
 * How many of the leading changes of c (n > 0) go into one UPDATE to t:
 * as many as fit in a DNS message (counted as plan_wire_max() does) and
 * share the first one's acl part (Knot refuses an UPDATE that no one of
 * its acls allows whole), at least one, so that a change's records
 * always go together. A change that dns_plan_build() refuses (a TXT beside a
 * CNAME) goes alone: its refusal is then its own.
 */
size_t
dns_update_fit(const struct dns_target *t, const struct dns_change *c, size_t n)
{
	size_t size = update_overhead(t), k;

	for (k = 0; k < n; k++) {
		struct plan p;
		size_t more;

		if (k > 0 && c[k].acl_part != c[0].acl_part)
			break;
		if (dns_plan_build(&c[k], 1, &p, NULL) == -1)
			return k > 0 ? k : 1;
		more = plan_wire_max(&p);
		dns_plan_free(&p);
		if (k > 0 && size + more > DNS_MSG_MAX)
			break;
		size += more;
	}
	return k;
}

/* ------------------------------------------------------ dry-run text */

#define WILDCARD_NOTE                                                          \
	"; %s.%s: its TXT records come from a wildcard (the name does not "    \
	"exist), so the update creates the name\n"
#define WILDCARD_CNAME_NOTE                                                    \
	"; %s.%s: its CNAME to %s comes from a wildcard (the name does not "   \
	"exist), not a delegation, so the update creates the name\n"

/* Append TXT RDATA as quoted character-strings to out. */
static void
txt_present(const unsigned char *rd, size_t len, struct buf *out)
{
	size_t off = 0;

	while (off < len) {
		size_t n = rd[off++];

		buf_puts(out, " \"");
		for (size_t i = 0; i < n && off < len; i++, off++) {
			unsigned char c = rd[off];

			if (c == '"' || c == '\\')
				buf_printf(out, "\\%c", c);
			else if (c < 0x20 || c > 0x7e)
				buf_printf(out, "\\%03u", c);
			else
				buf_append(out, &c, 1);
		}
		buf_puts(out, "\"");
	}
}

/* Say, as a comment appended to out, that the name label.domain is
 * created because what was read there was a wildcard's (its CNAME to
 * wild_cname, if not NULL; else its TXT records). */
static void
wildcard_note(const char *label, const char *domain, const char *wild_cname,
              struct buf *out)
{
	if (wild_cname != NULL)
		buf_printf(out, WILDCARD_CNAME_NOTE, label, domain, wild_cname);
	else
		buf_printf(out, WILDCARD_NOTE, label, domain);
}

/* Say, as comments appended to out, which names of the n changes c
 * are created because what was read there was a wildcard's. */
static void
wildcard_notes(const struct dns_change *c, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct dns_state *st = c[i].state;

		if (st->sts_wildcard && c[i].sts_text != NULL)
			wildcard_note("_mta-sts", c[i].domain,
			              st->sts_wildcard_cname, out);
		if (st->tlsrpt_wildcard && c[i].tlsrpt_text != NULL)
			wildcard_note("_smtp._tls", c[i].domain,
			              st->tlsrpt_wildcard_cname, out);
	}
}

/* The UPDATE dns_update_apply would send for the n changes c, as
 * nsupdate-like text appended to out. Returns 0, or -1 (refused). */
static int
update_text_one(const struct dns_target *t, const struct dns_change *c,
                size_t n, struct buf *out)
{
	static const char *const what[] = {[OP_EXISTS] = "prereq yxrrset",
	                                   [OP_ABSENT] = "prereq nxrrset",
	                                   [OP_NO_CNAME] = "prereq nxrrset",
	                                   [OP_DELETE] = "update delete",
	                                   [OP_ADD] = "update add"};
	struct plan p;
	struct diag d;
	unsigned port = 53;

	diag_init(&d);
	if (dns_plan_build(c, n, &p, &d) == -1) {
		buf_printf(out, "; not sent: %s\n", d.error);
		return -1;
	}
	if (t->naddr > 0)
		port = ntohs(t->addr[0].ss_family == AF_INET6
		                 ? t->addr[0].sin6.sin6_port
		                 : t->addr[0].sin.sin_port);
	if (p.n == 0)
		return 0;
	buf_printf(out, "server %s %u\nzone %s\n", t->server, port, t->zone);
	wildcard_notes(c, n, out);
	for (size_t j = 0; j < 2 * p.n; j++) {
		const struct op *o = &p.ops[j % p.n];

		if ((j < p.n) != op_prereq(o->kind))
			continue; /* prerequisites first, then the updates */
		buf_printf(out, "%s %s", what[o->kind], o->owner);
		if (o->kind == OP_ADD)
			buf_printf(out, " %lu", (unsigned long)o->ttl);
		buf_puts(out, o->kind == OP_NO_CNAME ? " CNAME" : " TXT");
		txt_present(o->rdata, o->rdlen, out);
		buf_puts(out, "\n");
	}
	buf_puts(out, "send\n");
	dns_plan_free(&p);
	return 0;
}

/* The UPDATEs dns_update_zone would send, as nsupdate-like text. */
int
dns_update_text(const struct dns_target *t, const struct dns_change *c,
                size_t n, struct buf *out)
{
	int rc = 0;

	for (size_t first = 0, k; first < n; first += k) {
		k = dns_update_fit(t, c + first, n - first);
		if (update_text_one(t, c + first, k, out) == -1)
			rc = -1;
	}
	return rc;
}

/* ------------------------------------------------------------ message */

/* The ldns RR for operation o. */
static ldns_rr *
op_rr(const struct op *o)
{
	ldns_rr *rr = ldns_rr_new();
	size_t off = 0;

	ldns_rr_set_owner(rr, ldns_dname_new_frm_str(o->owner));
	ldns_rr_set_type(rr, o->kind == OP_NO_CNAME ? LDNS_RR_TYPE_CNAME
	                                            : LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, o->kind == OP_EXISTS || o->kind == OP_ADD
	                          ? LDNS_RR_CLASS_IN
	                          : LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, o->kind == OP_ADD ? o->ttl : 0);
	if (o->kind == OP_ABSENT || o->kind == OP_NO_CNAME)
		return rr;
	while (off < o->rdlen) {
		size_t n = 1 + o->rdata[off];

		if (off + n > o->rdlen)
			break;
		ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n,
		                                           o->rdata + off));
		off += n;
	}
	return rr;
}

/* The UPDATE message for plan p in zone. */
ldns_pkt *
dns_plan_packet(const char *zone, const struct plan *p)
{
	ldns_rr_list *pr = ldns_rr_list_new(), *up = ldns_rr_list_new();
	ldns_pkt *pkt;

	for (size_t i = 0; i < p->n; i++) {
		ldns_rr_list_push_rr(op_prereq(p->ops[i].kind) ? pr : up,
		                     op_rr(&p->ops[i]));
	}
	pkt = ldns_update_pkt_new(ldns_dname_new_frm_str(zone),
	                          LDNS_RR_CLASS_IN, pr, up, NULL);
	ldns_rr_list_deep_free(pr);
	ldns_rr_list_deep_free(up);
	return pkt;
}

/* The owner names p changes, for messages: "a, b", or "a, b, ..." when
 * the next one does not fit in size. */
void
dns_plan_names(const struct plan *p, char *out, size_t size)
{
	static const char more[] = ", ...";
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->n; i++) {
		const char *o = p->ops[i].owner;
		size_t need = (len > 0 ? 2 : 0) + strlen(o);

		if (strstr(out, o) != NULL) /* named already */
			continue;
		if (len + need + sizeof(more) > size) {
			if (len + sizeof(more) <= size)
				memcpy(out + len, more, sizeof(more));
			return;
		}
		len += (size_t)snprintf(out + len, size - len, "%s%s",
		                        len > 0 ? ", " : "", o);
	}
}
