/*
 * dnsupdate.c - sending a zone's TSIG-signed RFC 2136 UPDATE and making
 * sure of its outcome (dns-internal.h says how the files fit).
 *
 * dns_update_zone() sends the plan of dns-plan.c, one message per zone,
 * or a few in a row when its changes do not fit in one. Before the first
 * send it reads the zone's serial and the TTLs to keep (pre_read); after
 * it, it reads the records back until they are as planned (confirm),
 * undoes what a late answer made of an UPDATE it gave up on (undo_late),
 * and when the prerequisites fail reads again to tell a concurrent edit
 * (contended) from a wrong first read, and sends again.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns-internal.h"
#include "record.h"

/* ------------------------------------------------------------ update */

/* Explain a signed REFUSED of an UPDATE (took: the server took another
 * UPDATE of the zone with this key in this run). It comes from BIND (a grant
 * missing, or a secondary without allow-update-forwarding) or PowerDNS
 * (updates off or not from us; a grant its Lua policy lacks is dropped
 * from a NOERROR instead); Knot denies with NOTAUTH and BADKEY. Nothing
 * in the reply tells them apart reliably (PowerDNS sets the AA bit,
 * which RFC 2136 reserves, and may stop), so the advice names each: what
 * is refused, then what to fix on each, in sentences of their own,
 * BIND's first (the common case: a message cut at its bound still holds
 * it whole). */
static void
update_refused_error(const struct dns_target *t, const char *where,
                     const char *names, int took, struct diag *d)
{
	const char *key = t->key ? t->key->name : "(none)";

	/* it took another domain's UPDATE: not a secondary, nor a PowerDNS
	 * with updates off (whose Lua policy drops a name it does not
	 * grant from a NOERROR instead) */
	if (took) {
		diag_error(d,
		           "%s refused the update of %s (REFUSED), though it "
		           "took an update of zone %s with key %s in this "
		           "run: the zone's update-policy lacks the grants "
		           "for these names; add those `mta-sts-sync "
		           "server-config --bind` (or --knot) prints",
		           where, names, t->zone, key);
		return;
	}
	diag_error(d,
	           "%s refused the update of %s (REFUSED): it does not let "
	           "key %s change these names in zone %s. On BIND, the "
	           "zone's update-policy lacks the grants `mta-sts-sync "
	           "server-config --bind` prints, or `server` is a secondary "
	           "without allow-update-forwarding (name the primary). On "
	           "PowerDNS, updates are off or not taken from us: set "
	           "dnsupdate=yes. Without a lua-dnsupdate-policy-script, "
	           "PowerDNS also needs allow-dnsupdate-from to admit our "
	           "address, and the zone's TSIG-ALLOW-DNSUPDATE metadata, "
	           "if set, to name key %s",
	           where, names, key, t->zone, key);
}

/* Explain the rcode of a failed UPDATE (took: as update_refused_error()'s). */
static void
update_rcode_error(const struct dns_target *t, const char *where,
                   const char *names, int rcode, int took, struct diag *d)
{
	char *rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);

	if (rcode == LDNS_RCODE_REFUSED)
		update_refused_error(t, where, names, took, d);
	else if (rcode == LDNS_RCODE_NOTZONE)
		diag_error(d,
		           "%s: %s is not in zone %s (NOTZONE): set `zone` "
		           "to the zone that holds it",
		           where, names, t->zone);
	else if (rcode == LDNS_RCODE_NOTAUTH && t->zone_set)
		diag_error(
		    d,
		    "%s is not authoritative for zone %s (NOTAUTH): it "
		    "does not serve zone %s as its primary; check `zone` "
		    "(or leave it out to have it found) and `server`",
		    where, t->zone, t->zone);
	else if (rcode == LDNS_RCODE_NOTAUTH)
		diag_error(d,
		           "%s is not authoritative for zone %s (NOTAUTH): "
		           "is it the zone's primary?",
		           where, t->zone);
	else if (rcode == LDNS_RCODE_SERVFAIL)
		diag_error(d,
		           "%s failed to apply the update of zone %s "
		           "(SERVFAIL): see the server's log",
		           where, t->zone);
	else if (rcode == LDNS_RCODE_NOTIMPL)
		diag_error(d,
		           "%s does not accept updates for zone %s "
		           "(NOTIMP): is it a secondary, or a PowerDNS "
		           "whose backend cannot change zones (as its bind "
		           "backend)?",
		           where, t->zone);
	else
		diag_error(d, "%s answered %s to the update of %s in zone %s",
		           where, rc ? rc : "?", names, t->zone);
	free(rc);
}

/* send_update: the UPDATE was refused with TSIG error BADKEY, as Knot
 * refuses one its ACL denies (the reason is in d) */
#define SENT_BADKEY (-2)
/* send_update: the server got the UPDATE whole, then the connection
 * ended before any reply came (the reason is in d): it may have been
 * applied */
#define SENT_LOST (-3)
/* send_update: the server got the UPDATE whole, and no other reply came
 * that can be trusted (the reason, in d, says it may have been applied) */
#define SENT_OPEN (-4)

/* Put what a reply to an UPDATE said into out (size bytes), as
 * dns_update_info.answer has it: rcode, and with f (a reply not trusted,
 * or none: f->rcode -1) its TSIG error or "unsigned". */
static void
answer_words(int rcode, const struct wire_fail *f, char *out, size_t size)
{
	char *rc;

	out[0] = '\0';
	if (f != NULL)
		rcode = f->rcode;
	if (rcode < 0)
		return;
	rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);
	if (f != NULL && f->tsig_err != 0)
		snprintf(out, size, "%s, %s", rc ? rc : "?",
		         tsig_error_name(f->tsig_err));
	else
		snprintf(out, size, "%s%s", rc ? rc : "?",
		         f != NULL ? ", unsigned" : "");
	free(rc);
}

/* Send the UPDATE for plan p. Returns the rcode, or SENT_BADKEY,
 * SENT_LOST, SENT_OPEN or -1, with the reason in d; info->where names the
 * server that answered, info->answer what it answered. */
static int
send_update(const struct dns_target *t, const struct plan *p,
            struct dns_update_info *info, struct diag *d)
{
	ldns_pkt *pkt = dns_plan_packet(t->zone, p), *reply = NULL;
	char *where = info->where;
	int rcode = -1;
	struct wire_fail f;

	info->answer[0] = '\0';
	if (pkt == NULL) {
		diag_error(d, "cannot build the UPDATE for zone %s", t->zone);
		return -1;
	}
	if (dns_send_pkt(t, pkt, &reply, where, sizeof(info->where), &f, d) ==
	    -1) {
		answer_words(-1, &f, info->answer, sizeof(info->answer));
		if (f.tsig_err == TSIG_ERR_BADKEY)
			rcode = SENT_BADKEY;
		else if (f.lost)
			rcode = SENT_LOST;
		else if (f.open)
			rcode = SENT_OPEN;
	} else {
		/* its opcode is UPDATE: reply_mismatch() reads past others */
		rcode = ldns_pkt_get_rcode(reply);
		answer_words(rcode, NULL, info->answer, sizeof(info->answer));
	}
	ldns_pkt_free(reply);
	ldns_pkt_free(pkt);
	return rcode;
}

/* Read the state of every change not confirmed (nor contended, nor
 * withheld: no UPDATE carries it, and a failure to read its names must
 * not fail those of the others) again, replacing the old states: into
 * old[i] when old is not NULL (the caller frees them; those of changes
 * not read again stay as they were), else freed. Returns 0, or -1 with
 * the reason in d. */
static int
reread(const struct dns_target *t, struct dns_change *c, size_t n,
       struct dns_state *old, struct diag *d)
{
	for (size_t i = 0; i < n; i++) {
		struct dns_state fresh;

		if (c[i].confirmed || c[i].contended || c[i].withheld)
			continue;
		/* the MX records were needed for the plan only */
		if (dns_state_ask(
		        t, c[i].domain, 0, c[i].state->away,
		        DNS_NAME_STS |
		            (c[i].tlsrpt_text != NULL ? DNS_NAME_TLSRPT : 0),
		        &fresh, d) == -1)
			return -1;
		if (dns_state_wildcards(t, c[i].domain, c[i].sts_text != NULL,
		                        c[i].tlsrpt_text != NULL, &fresh,
		                        d) == -1) {
			dns_state_free(&fresh);
			return -1;
		}
		if (old != NULL)
			old[i] = *c[i].state;
		else
			dns_state_free(c[i].state);
		*c[i].state = fresh;
	}
	return 0;
}

/* One of the two names a change manages, as a state holds it. */
struct part {
	char owner[DNS_NAME_MAX + 16];
	struct dns_txtset *set; /* the TXT records there */
	const char *cname;      /* the CNAME there, or NULL */
	const char *text;       /* the record wanted there; NULL: left alone */
	const char *prefix;     /* its kind: STS_ or TLSRPT_RECORD_VERSION */
	unsigned bit;           /* DNS_NAME_STS or DNS_NAME_TLSRPT */
};

/* Part k (0: _mta-sts, 1: _smtp._tls) of change c into pt, as the state
 * st holds it (c's own when st is NULL). */
static void
part_of(const struct dns_change *c, int k, struct dns_state *st,
        struct part *pt)
{
	st = st != NULL ? st : c->state;
	snprintf(pt->owner, sizeof(pt->owner), "%s.%s",
	         k ? "_smtp._tls" : "_mta-sts", c->domain);
	pt->set = k ? &st->tlsrpt : &st->sts;
	pt->cname = k ? st->tlsrpt_cname : st->sts_cname;
	pt->text = k ? c->tlsrpt_text : c->sts_text;
	pt->prefix = k ? TLSRPT_RECORD_VERSION : STS_RECORD_VERSION;
	pt->bit = k ? DNS_NAME_TLSRPT : DNS_NAME_STS;
}

/* Does the plan p hold an operation at owner? */
static int
plan_touches(const struct plan *p, const char *owner)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->ops[i].owner, owner) == 0)
			return 1;
	return 0;
}

/* ---------------------------------------------- before the first send */

/* What was read just before the first send of an UPDATE, for its read
 * back: the serial of the zone's SOA, if it could be read. */
struct before {
	uint32_t serial;
	int have_serial;
};

/* The serial of the SOA of zone in the answer ans into *serial. Returns
 * 0, or -1 if ans holds none. */
static int
soa_serial(const ldns_pkt *ans, const char *zone, uint32_t *serial)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(zone);
	int rc = -1;

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (dns_rr_at(rr, qn) &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    ldns_rr_rd_count(rr) >= 3 &&
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) == 4) {
			*serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
			rc = 0;
			break;
		}
	}
	ldns_rdf_deep_free(qn);
	return rc;
}

/*
 * Is the TTL now, read again, the TTL first read at st->read_at as a cache
 * in front of the primary (dnsdist's packet cache) counts it down: lower
 * by at most the seconds since, plus one for the whole seconds counted?
 * That is no edit: taking it would lower the zone's TTL a little at each
 * change, and blame someone for it.
 */
static int
ttl_aged(const struct dns_state *st, uint32_t first, uint32_t now)
{
	if (st->read_at == 0 || now >= first)
		return 0;
	return first - now <= (uint32_t)(util_mono() - st->read_at) + 1;
}

/* The warning of a TTL kept; see dnsupdate.h. */
int
dns_change_ttl_kept(const struct dns_change *c, int k, char *buf, size_t size)
{
	struct part pt;

	if (!(c->ttl_kept & (k ? DNS_NAME_TLSRPT : DNS_NAME_STS)))
		return 0;
	part_of(c, k, NULL, &pt);
	snprintf(buf, size,
	         "someone changed the TTL of the records at %s from %lu to "
	         "%lu between our read and our update: kept (no ttl is "
	         "configured)",
	         pt.owner, (unsigned long)c->ttl_was[k],
	         (unsigned long)c->ttl_now[k]);
	return 1;
}

/*
 * Take the answer to query q of b, the TXT records at part k of change c
 * asked again just before its UPDATE: when they are those read before
 * but for their TTL, someone changed only the TTL, which no prerequisite
 * can check (RFC 2136 section 2.4: they carry TTL 0), so the UPDATE would
 * put back the TTL read first (a cache's count down is not taken:
 * ttl_aged()). The state takes the new TTL, and the
 * UPDATE keeps it, as it keeps any TTL with no ttl configured; c says so
 * (ttl_kept). Returns 1 if it did, 0 if not, -1 if the answer did not
 * come or is an error (the reason in b->err, the first one kept).
 */
static int
ttl_take(const struct dns_target *t, struct batch *b, size_t q,
         struct dns_change *c, int k)
{
	struct dns_txtset now;
	struct part pt;
	char *cname = NULL;
	int took = 0;

	if (q >= b->k) /* b->err says why */
		return -1;
	if (dns_batch_check(t, b, q, 1, NULL) == -1) {
		dns_batch_note(t, b, q);
		return -1;
	}
	part_of(c, k, NULL, &pt);
	memset(&now, 0, sizeof(now));
	dns_read_txt(b->ans[q], b->q[q].name, &now, &cname);
	if (cname == NULL && now.ttl != pt.set->ttl &&
	    dns_txtset_same(&now, pt.set) &&
	    !ttl_aged(c->state, pt.set->ttl, now.ttl)) {
		if (!(c->ttl_kept & pt.bit)) /* the TTL first read */
			c->ttl_was[k] = pt.set->ttl;
		c->ttl_kept |= pt.bit;
		c->ttl_now[k] = now.ttl;
		pt.set->ttl = now.ttl;
		took = 1;
	}
	dns_txtset_free(&now);
	free(cname);
	return took;
}

/* What pre_batch() did: a TTL taken (the plan is to be built again, even
 * when a later answer failed), an answer failed. */
enum { PRE_TOOK = 1, PRE_FAILED = 2 };

/* A name that pre_read() asks about: part k of change i. */
struct ask {
	size_t i;
	int k;
};

/* Ask t at once (pipelined) for the names ask[from] .. ask[to - 1] of
 * the changes c, and with soa for the SOA of its zone first (its serial
 * into pre), and take the answers (ttl_take(): a TTL kept is told in its
 * change); a change whose answer failed is marked ttl_unread, the first
 * reason into why (wsize bytes).
 * Returns PRE_TOOK when a TTL was taken, PRE_FAILED when an answer failed
 * (the others are not asked), both, or 0. */
static int
pre_batch(const struct dns_target *t, struct dns_change *c,
          const struct ask *ask, size_t from, size_t to, int soa,
          struct before *pre, char *why, size_t wsize)
{
	struct batch b;
	struct part pt;
	int took = 0;

	b.n = 0;
	if (soa)
		dns_batch_add(&b, t->zone, LDNS_RR_TYPE_SOA);
	for (size_t a = from; a < to; a++) {
		part_of(&c[ask[a].i], ask[a].k, NULL, &pt);
		dns_batch_add(&b, pt.owner, LDNS_RR_TYPE_TXT);
	}
	dns_batch_send(t, &b);
	if (soa && dns_batch_check(t, &b, 0, 1, NULL) == 0 &&
	    soa_serial(b.ans[0], t->zone, &pre->serial) == 0)
		pre->have_serial = 1;
	for (size_t a = from; a < to; a++) {
		int r = ttl_take(t, &b, (size_t)soa + a - from, &c[ask[a].i],
		                 ask[a].k);

		took |= r == 1 ? PRE_TOOK : 0;
		c[ask[a].i].ttl_unread |= r == -1;
	}
	if (b.err[0] != '\0') {
		str_copy(why, wsize, b.err);
		took |= PRE_FAILED;
	}
	dns_batch_free(&b);
	return took;
}

/* The names that pre_read() asks about, of the changes c for the UPDATE
 * of plan p: those p changes whose records keep their TTL (no ttl
 * configured, records there), into ask (room for 2 * n). Returns how
 * many. */
static size_t
pre_asks(const struct dns_change *c, size_t n, const struct plan *p,
         struct ask *ask)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++) {
			struct part pt;

			part_of(&c[i], k, NULL, &pt);
			if (c[i].contended || c[i].ttl_set || pt.set->n == 0 ||
			    !plan_touches(p, pt.owner))
				continue;
			ask[m].i = i;
			ask[m++].k = k;
		}
	return m;
}

/* The warning that the names of the changes marked ttl_unread were not
 * read again before the UPDATE (why: the first reason), into d, its place
 * there into info->unread_warn: only those changes are to get it. */
static void
pre_unread(const char *why, struct dns_update_info *info, struct diag *d)
{
	size_t before = d->nwarn;

	diag_warn(d,
	          "reading the records of this domain again just before the "
	          "UPDATE failed, so a TTL someone changed there since our "
	          "first read would be overwritten by the TTL read first "
	          "(`ttl` in the configuration avoids the question): %s",
	          why);
	if (d->nwarn > before)
		info->unread_warn = (unsigned)d->nwarn;
}

/*
 * Before the first send of the UPDATE of plan p for the changes c: ask t
 * for the SOA of its zone (its serial into *pre, for confirm()) and for
 * the TXT records at each name p changes whose records keep their TTL
 * (no ttl configured, records there), all at once (QUERY_MAX a round
 * trip: most zones take one). Their TTL is taken when someone changed it
 * alone (ttl_take()); nothing else read counts, so that the prerequisites
 * are still those of the first read and an edit of the values since then
 * still makes the server refuse the UPDATE. A read that fails changes
 * nothing: the UPDATE goes as planned, and the changes whose names were
 * not read again are marked ttl_unread, with a warning (pre_unread()).
 * Returns 1 when a TTL was taken (plan again: the TTLs taken before a
 * failed answer are kept as warned), else 0.
 */
static int
pre_read(const struct dns_target *t, struct dns_change *c, size_t n,
         const struct plan *p, struct before *pre, struct dns_update_info *info,
         struct diag *d)
{
	struct ask *ask = xcalloc(2 * n, sizeof(*ask));
	size_t m = pre_asks(c, n, p, ask), from = 0;
	char why[DIAG_WARN_MAX] = "";
	int took = 0, r;

	memset(pre, 0, sizeof(*pre));
	do {
		size_t to = from + QUERY_MAX - (from == 0);

		to = to < m ? to : m;
		r = pre_batch(t, c, ask, from, to, from == 0, pre, why,
		              sizeof(why));
		took |= r & PRE_TOOK;
		from = to;
	} while (from < m && !(r & PRE_FAILED));
	for (; from < m; from++) /* not asked */
		c[ask[from].i].ttl_unread = 1;
	free(ask);
	if ((r & PRE_FAILED) && m > 0)
		pre_unread(why, info, d);
	return took != 0;
}

/* pre_read(), and the plan p of the changes c built again when a TTL was
 * taken. Returns 0, or -1 with the reason in d when it cannot be. */
static int
pre_read_plan(const struct dns_target *t, struct dns_change *c, size_t n,
              struct plan *p, struct before *pre, struct dns_update_info *info,
              struct diag *d)
{
	if (!pre_read(t, c, n, p, pre, info, d))
		return 0;
	dns_plan_free(p); /* a TTL taken: the same changes, that TTL */
	return dns_plan_build(c, n, p, d);
}

/* Mark the changes whose records, as read back, hold the values they
 * wanted (not those contended or withheld: no UPDATE carried them);
 * returns how many do not. The TTL is not waited for: it came with the
 * values, and a server may lower it (BIND's max-zone-ttl). */
static size_t
confirm_marks(struct dns_change *c, size_t n)
{
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		struct dns_change values = c[i];

		if (c[i].contended || c[i].withheld)
			continue;
		values.ttl_set = 0;
		c[i].confirmed = !dns_change_needed(&values);
		left += !c[i].confirmed;
	}
	return left;
}

/*
 * The waits before records that differ from an accepted update are read
 * again, in seconds: a primary may serve an update a moment after it
 * answered (BIND applies the update of an inline-signing zone to its
 * unsigned copy, and serves it once it has signed it). They add up to
 * CONFIRM_WAIT_S.
 */
static const double confirm_waits[] = {0.01, 0.03, 0.06, 0.1,
                                       0.2,  0.4,  0.8,  1.4};
#define CONFIRM_WAIT_S 3 /* the sum of confirm_waits, for messages */

/* reread() after the server accepted the update: a failure to read
 * says so, since the records may well have changed. Returns 0, or -1
 * with the reason in d. The read's own diag is on the heap, as
 * send_planned()'s is. */
static int
reread_accepted(const struct dns_target *t, struct dns_change *c, size_t n,
                struct diag *d)
{
	struct diag *why = xmalloc(sizeof(*why));
	int rc = 0;

	diag_init(why);
	if (reread(t, c, n, NULL, why) != 0) {
		for (size_t i = 0; i < why->nwarn; i++)
			diag_warn(d, "%s", why->warn[i]);
		diag_error(d,
		           "the update was accepted, but reading the records "
		           "back failed: %s; the next run checks them",
		           why->error);
		rc = -1;
	}
	free(why);
	return rc;
}

/* Does the plan p hold an operation of kind k at owner with the TXT
 * RDATA rd (len bytes)? */
static int
plan_has(const struct plan *p, enum op_kind k, const char *owner,
         const unsigned char *rd, size_t len)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];

		if (o->kind == k && o->rdlen == len &&
		    memcmp(o->rdata, rd, len) == 0 &&
		    strcmp(o->owner, owner) == 0)
			return 1;
	}
	return 0;
}

/* Does the RRset s hold a record with the TXT RDATA rd (len bytes)? */
static int
txtset_has(const struct dns_txtset *s, const unsigned char *rd, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->rdlen[i] == len && memcmp(s->rdata[i], rd, len) == 0)
			return 1;
	return 0;
}

/* Is the TXT RDATA rd (len bytes), its character-strings joined, the
 * text text (a NUL byte read as "?", as txtset_add() reads it)? */
static int
rdata_is_text(const unsigned char *rd, size_t len, const char *text)
{
	size_t off = 0, at = 0;

	while (off < len) {
		size_t n = rd[off++];

		for (size_t i = 0; i < n && off < len; i++, off++, at++)
			if (text[at] != (rd[off] ? (char)rd[off] : '?'))
				return 0;
	}
	return text[at] == '\0';
}

/* Does the plan p hold an operation of kind k at owner whose record's
 * text is text (however it is split into strings)? */
static int
plan_has_text(const struct plan *p, enum op_kind k, const char *owner,
              const char *text)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];

		if (o->kind == k && strcmp(o->owner, owner) == 0 &&
		    rdata_is_text(o->rdata, o->rdlen, text))
			return 1;
	}
	return 0;
}

/*
 * The names of change c that the UPDATE of plan p changed whose records
 * read back (c's state) hold one of our kind that was neither read (p's
 * prerequisites) nor sent (p's adds): someone's edit that the server's
 * prerequisites let through (PowerDNS compares TXT prerequisites without
 * regard to case: a record of ours they changed only in case passes
 * them, and the delete, which does regard case, then removes nothing).
 * Records are told by their text, as the read back confirms them.
 * DNS_NAME_* bits, 0 if none.
 */
static unsigned
late_names(const struct plan *p, const struct dns_change *c)
{
	unsigned names = 0;

	for (int k = 0; k < 2; k++) {
		struct part pt;

		part_of(c, k, NULL, &pt);
		if (pt.text == NULL || !plan_touches(p, pt.owner))
			continue;
		for (size_t i = 0; i < pt.set->n; i++) {
			const char *text = pt.set->text.v[i];

			if (record_is_version(text, pt.prefix) &&
			    !plan_has_text(p, OP_EXISTS, pt.owner, text) &&
			    !plan_has_text(p, OP_ADD, pt.owner, text))
				names |= pt.bit;
		}
	}
	return names;
}

/*
 * Take out again, with an UPDATE to t, the records that plan p added at
 * the names of change c where late_names() found someone's edit, so that
 * their edit is left as it is, as it is when the prerequisites refuse
 * the update. Its prerequisites are those RRsets as read back (a further
 * edit makes it fail), and it deletes, each by its exact RDATA as read
 * back, only the records whose text p added and did not read there:
 * never theirs, nor one that was there before. The records p deleted are
 * not put back: they may have deleted them too. Counted in info; why it
 * failed is not told (its rcode is). Returns the rcode (0: NOERROR, or
 * none of ours was there), DNS_UNDO_BADKEY, DNS_UNDO_OPEN (it may have
 * been applied), or -1 (no answer, not applied).
 */
static int
undo_late(const struct dns_target *t, const struct plan *p,
          const struct dns_change *c, struct dns_update_info *info)
{
	struct dns_update_info undo = *info; /* info tells of the UPDATE */
	struct plan u;
	int rcode = LDNS_RCODE_NOERROR;

	memset(&u, 0, sizeof(u));
	for (int k = 0; k < 2; k++) {
		struct part pt;
		size_t mine = u.n;

		part_of(c, k, NULL, &pt);
		if (!(c->contended_names & pt.bit))
			continue;
		for (size_t i = 0; i < pt.set->n; i++)
			if (plan_has_text(p, OP_ADD, pt.owner,
			                  pt.set->text.v[i]) &&
			    !plan_has_text(p, OP_EXISTS, pt.owner,
			                   pt.set->text.v[i]))
				dns_plan_add(&u, OP_DELETE, pt.owner,
				             pt.set->rdata[i], pt.set->rdlen[i],
				             0);
		for (size_t i = 0; u.n > mine && i < pt.set->n; i++)
			dns_plan_add(&u, OP_EXISTS, pt.owner, pt.set->rdata[i],
			             pt.set->rdlen[i], 0);
	}
	if (u.n > 0) {
		info->sent++;
		info->undone++;
		rcode = send_update(t, &u, &undo, NULL);
	}
	dns_plan_free(&u);
	if (rcode == SENT_BADKEY)
		return DNS_UNDO_BADKEY;
	if (rcode == SENT_LOST || rcode == SENT_OPEN)
		return DNS_UNDO_OPEN;
	return rcode < 0 ? -1 : rcode;
}

/* Mark the changes of the UPDATE of plan p whose records read back show
 * someone's edit that the server let through (late_names()) contended,
 * and take ours out there again (undo_late()). */
static void
mark_late(const struct dns_target *t, const struct plan *p,
          struct dns_change *c, size_t n, struct dns_update_info *info)
{
	for (size_t i = 0; i < n; i++) {
		unsigned names;

		if (c[i].confirmed || c[i].contended)
			continue;
		names = late_names(p, &c[i]);
		if (names == 0)
			continue;
		c[i].contended = DNS_CONTENDED_LATE;
		c[i].contended_names = names;
		c[i].undo_rcode = undo_late(t, p, &c[i], info);
	}
}

/* Does the SOA of t's zone still hold the serial that pre read before
 * the UPDATE? 0 also when it cannot tell. */
static int
serial_kept(const struct dns_target *t, const struct before *pre)
{
	ldns_pkt *ans;
	uint32_t now;
	int kept;

	if (!pre->have_serial || dns_query_primary(t, t->zone, LDNS_RR_TYPE_SOA,
	                                           1, &ans, NULL) == -1)
		return 0;
	kept = soa_serial(ans, t->zone, &now) == 0 && now == pre->serial;
	ldns_pkt_free(ans);
	return kept;
}

/* The error of a change whose records read back from t still differ
 * from an accepted update after the waits. When the zone's SOA serial
 * has not moved since before the UPDATE (pre), `server` may be a
 * secondary that forwards updates: the records are read back from it,
 * and it has them only once the primary sends it the zone. */
static void
confirm_error(const struct dns_target *t, const struct before *pre,
              struct diag *d)
{
	char where[DNS_WHERE_MAX];

	dns_target_where(t, 0, where, sizeof(where));
	if (serial_kept(t, pre))
		diag_error(
		    d,
		    "%s accepted the update, but the records of this "
		    "domain read back from it still differ after %d s and "
		    "zone %s kept its SOA serial: check that its update "
		    "policy allows this key to change them (PowerDNS "
		    "accepts and drops what its "
		    "lua-dnsupdate-policy-script refuses, and reads that "
		    "script only when it starts), that `server` is the "
		    "primary, not a secondary forwarding updates, or "
		    "whether it serves updates later still",
		    where, CONFIRM_WAIT_S, t->zone);
	else
		diag_error(
		    d,
		    "%s accepted the update, but the records of this "
		    "domain read back from it still differ after %d s: "
		    "check that its update policy allows this key to "
		    "change them (PowerDNS accepts and drops what its "
		    "lua-dnsupdate-policy-script refuses, and reads that "
		    "script only when it starts), or whether it serves "
		    "updates later still (a signed zone on a busy "
		    "server)",
		    where, CONFIRM_WAIT_S);
}

/* Read the records back after the UPDATE of plan p and confirm each
 * change; a change whose records show someone's edit that the server
 * let through is marked contended (mark_late()). The error, if some
 * still differ, is about those (each domain's own message); one that
 * could not be read back is DNS_UPDATE_UNKNOWN. */
static enum dns_update_result
confirm(const struct dns_target *t, struct dns_change *c, size_t n,
        const struct plan *p, const struct before *pre,
        struct dns_update_info *info, struct diag *d)
{
	const size_t waits = sizeof(confirm_waits) / sizeof(confirm_waits[0]);

	if (reread_accepted(t, c, n, d) == -1)
		return DNS_UPDATE_UNKNOWN;
	for (size_t w = 0;; w++) {
		mark_late(t, p, c, n, info);
		if (confirm_marks(c, n) == 0)
			return DNS_UPDATE_OK;
		if (w == waits) {
			confirm_error(t, pre, d);
			return DNS_UPDATE_FAILED;
		}
		sleep_seconds(confirm_waits[w]);
		if (reread_accepted(t, c, n, d) == -1)
			return DNS_UPDATE_UNKNOWN;
	}
}

/*
 * Does the RRset s, read back at owner, hold exactly what the UPDATE of
 * plan p leaves there: the records its prerequisites name (the RRset as
 * read), less those it deletes, with those it adds, no other, and with
 * their TTL (a change of TTL alone leaves the same records)? Yes too
 * when p leaves owner alone.
 */
static int
plan_left(const struct plan *p, const char *owner, const struct dns_txtset *s)
{
	size_t want = 0;
	int touched = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];

		if (strcmp(o->owner, owner) != 0)
			continue;
		touched = 1;
		if (o->kind == OP_ADD && s->ttl != o->ttl)
			return 0;
		if (o->kind != OP_ADD &&
		    (o->kind != OP_EXISTS ||
		     plan_has(p, OP_DELETE, owner, o->rdata, o->rdlen) ||
		     plan_has(p, OP_ADD, owner, o->rdata, o->rdlen)))
			continue; /* not left, or counted at its add */
		if (!txtset_has(s, o->rdata, o->rdlen))
			return 0;
		want++;
	}
	return !touched || s->n == want;
}

/* Do the states of the changes c, as read back, hold exactly what the
 * UPDATE of plan p leaves at every name it changes? */
static int
plan_in_place(const struct plan *p, const struct dns_change *c, size_t n)
{
	char owner[DNS_NAME_MAX + 16];

	for (size_t i = 0; i < n; i++) {
		if (c[i].contended)
			continue; /* not in p */
		snprintf(owner, sizeof(owner), "_mta-sts.%s", c[i].domain);
		if (!plan_left(p, owner, &c[i].state->sts))
			return 0;
		snprintf(owner, sizeof(owner), "_smtp._tls.%s", c[i].domain);
		if (!plan_left(p, owner, &c[i].state->tlsrpt))
			return 0;
	}
	return 1;
}

/*
 * After the server got the UPDATE of plan p for the changes c whole and
 * the connection ended before any reply came: it may have been applied,
 * or be applied later. Read the records back, again after each of
 * confirm_waits (a server may serve an update a moment after it applied
 * it), and take it for applied only when every name it changes holds
 * exactly what it leaves there (plan_left()): each change is then
 * confirmed, and NOERROR returned. Otherwise SENT_LOST: records as they
 * were do not prove that the server will not apply it later, so it is
 * not sent again, and the caller's reason says it may have been applied.
 */
static int
update_lost(const struct dns_target *t, struct dns_change *c, size_t n,
            const struct plan *p, struct dns_update_info *info)
{
	const size_t waits = sizeof(confirm_waits) / sizeof(confirm_waits[0]);

	info->reply_lost = 1;
	for (size_t w = 0;; w++) {
		/* why a read fails is not told: the caller's reason (it may
		 * have been applied) is; and no diag sits in the frame of
		 * every UPDATE for it */
		if (reread(t, c, n, NULL, NULL) == -1)
			return SENT_LOST;
		if (plan_in_place(p, c, n))
			break;
		if (w == waits)
			return SENT_LOST;
		sleep_seconds(confirm_waits[w]);
	}
	confirm_marks(c, n);
	info->read_back = 1;
	return LDNS_RCODE_NOERROR;
}

/* Send the UPDATE of plan p for the changes c, counted in info; one whose
 * reply was lost counts as answered NOERROR when the records read back
 * show it applied (update_lost()), and its reason is then dropped.
 * Returns the rcode, or as send_update() does, with the reason in d.
 * The reason waits in a diag on the heap: on the stack it would deepen
 * every UPDATE's frames by its size, resident in every worker. */
static int
send_planned(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct plan *p, struct dns_update_info *info, struct diag *d)
{
	struct diag *why = xmalloc(sizeof(*why));
	int rcode;

	diag_init(why);
	info->sent++;
	rcode = send_update(t, p, info, why);
	if (rcode == SENT_LOST)
		rcode = update_lost(t, c, n, p, info);
	if (rcode != LDNS_RCODE_NOERROR && why->error[0] != '\0')
		diag_error(d, "%s", why->error);
	free(why);
	return rcode;
}

/* The name of a failed prerequisite's rcode (NOERROR for a late edit,
 * which no prerequisite refused). */
static const char *
prereq_rcode_name(int rcode)
{
	if (rcode == DNS_CONTENDED_LATE)
		return "NOERROR";
	return rcode == LDNS_RCODE_NXRRSET ? "NXRRSET" : "YXRRSET";
}

/* The second refusal of an UPDATE by its prerequisites. */
static void
conflict_error(const char *names, const char *where, int rcode, struct diag *d)
{
	diag_error(d,
	           "someone changed %s meanwhile: %s refused the update twice "
	           "because the records differ from what was read (%s); "
	           "nothing was changed",
	           names, where, prereq_rcode_name(rcode));
}

/* A digest of the records of the kind of prefix that s holds, whatever
 * their order. */
static size_t
version_digest(const struct dns_txtset *s, const char *prefix)
{
	size_t sum = 0;

	for (size_t i = 0; i < s->n; i++)
		if (record_is_version(s->text.v[i], prefix))
			sum += hash_bytes(s->text.v[i], strlen(s->text.v[i]));
	return sum;
}

/*
 * After a refusal by the prerequisites of the UPDATE of plan p and a new
 * read: mark the changes whose records of our kind someone changed since
 * the first read (old holds the states then), or that someone made a
 * CNAME, at the names p changes (no prerequisite covered the others, so
 * an edit there explains no refusal), unless they now hold what we want,
 * and which of their names those are. Their edit is
 * not overwritten (DESIGN section 2.9), and a new CNAME is that change's
 * own refusal, not one of the whole UPDATE. Returns how many.
 */
static size_t
mark_contended(const struct plan *p, struct dns_change *c, size_t n,
               struct dns_state *old, int rcode)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned names = 0, cnames = 0;

		for (int j = 0; j < 2; j++) {
			struct part was, now;

			part_of(&c[i], j, &old[i], &was);
			part_of(&c[i], j, NULL, &now);
			if (now.text == NULL || !plan_touches(p, now.owner))
				continue;
			if (now.cname != NULL && was.cname == NULL)
				cnames |= now.bit;
			if (version_digest(was.set, now.prefix) !=
			    version_digest(now.set, now.prefix))
				names |= now.bit;
		}
		names |= cnames;
		if (!dns_change_needed(&c[i]))
			names = cnames = 0;
		c[i].contended = names ? rcode : 0;
		c[i].contended_names = names;
		c[i].contended_cnames = cnames;
		k += names != 0;
	}
	return k;
}

/* Do the names that plan p changes hold, as read again (the states of
 * the changes c), just what was read before (old): the same TXT records
 * (RDATA) and the same CNAME, or none? */
static int
states_same(const struct plan *p, const struct dns_change *c, size_t n,
            struct dns_state *old)
{
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			struct part was, now;

			part_of(&c[i], k, &old[i], &was);
			part_of(&c[i], k, NULL, &now);
			if (!plan_touches(p, now.owner))
				continue;
			if (!dns_txtset_same(was.set, now.set) ||
			    (was.cname == NULL) != (now.cname == NULL) ||
			    (now.cname != NULL && strcmp(was.cname, now.cname)))
				return 0;
		}
	}
	return 1;
}

/* Append to names the names of c that someone changed, for messages:
 * "the v=STSv1 records at _mta-sts.D", "_smtp._tls.D (now a CNAME to
 * T)", joined with " and ". */
static void
contended_names_text(const struct dns_change *c, struct buf *names)
{
	for (int k = 0; k < 2; k++) {
		struct part pt;

		part_of(c, k, NULL, &pt);
		if (!(c->contended_names & pt.bit))
			continue;
		buf_puts(names, names->len ? " and " : "");
		if (c->contended_cnames & pt.bit)
			buf_printf(names, "%s (now a CNAME to %s)", pt.owner,
			           pt.cname ? pt.cname : "?");
		else
			buf_printf(names, "the %s records at %s", pt.prefix,
			           pt.owner);
	}
}

/* The error of change c, of which someone made a name a CNAME between
 * our read and where refused its update: as for one there at the read,
 * it is left alone. */
static void
cname_error(const struct dns_change *c, const char *where, struct diag *d)
{
	struct part pt;

	part_of(c, !(c->contended_cnames & DNS_NAME_STS), NULL, &pt);
	diag_error(d,
	           "someone made %s a CNAME to %s between our read and our "
	           "update (%s from %s): leaving it alone (%s), and this "
	           "domain's records were not changed",
	           pt.owner, pt.cname ? pt.cname : "?",
	           prereq_rcode_name(c->contended), where,
	           pt.bit == DNS_NAME_STS ? "RFC 8461 section 8.2 delegation"
	                                  : "a TXT record cannot stand "
	                                    "beside it");
}

/* What became of the UPDATE that deleted the records we added beside
 * someone's edit (its undo_rcode), into out (size bytes). */
static void
undo_words(int undo, char *out, size_t size)
{
	char *rc = undo > 0 ? ldns_pkt_rcode2str((ldns_pkt_rcode)undo) : NULL;

	if (undo == 0)
		str_copy(out, size,
		         "the records we added were deleted again, so their "
		         "edit is left as it is");
	else if (undo == DNS_UNDO_OPEN)
		str_copy(out, size,
		         "no reply we trust came to the UPDATE deleting the "
		         "records we added again: it may have been applied; if "
		         "not, theirs and ours are both there, a name with two "
		         "records of its kind, which senders ignore");
	else
		snprintf(out, size,
		         "deleting the records we added again failed (%s), so "
		         "theirs and ours are both there: a name with two "
		         "records of its kind, which senders ignore until one "
		         "is deleted (delete theirs or ours)",
		         undo == DNS_UNDO_BADKEY ? "NOTAUTH, BADKEY"
		         : rc                    ? rc
		                                 : "no answer");
	free(rc);
}

/* The error of change c, whose names (in words) someone changed while
 * where took our update, their records read back beside ours: what
 * undo_late() did. */
static void
late_error(const struct dns_change *c, const char *names, const char *where,
           struct diag *d)
{
	char undo[DIAG_MSG_MAX / 2];

	undo_words(c->undo_rcode, undo, sizeof(undo));
	diag_error(d,
	           "someone changed %s while we updated them: the records "
	           "read back from %s hold theirs beside ours (PowerDNS "
	           "compares TXT prerequisites without regard to case); %s; "
	           "the next run replaces their edit unless the domain is "
	           "taken out of the configuration",
	           names, where, undo);
}

/* The error of the changes marked contended: which records of which
 * names someone changed, and that nothing of theirs changed. */
static void
contended_error(const struct dns_change *c, size_t n, const char *where,
                struct diag *d)
{
	const struct dns_change *first = NULL;
	struct buf names;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].contended && k++ == 0)
			first = &c[i];
	if (first == NULL)
		return;
	if (k == 1 && first->contended_cnames != 0) {
		cname_error(first, where, d);
		return;
	}
	buf_init(&names, DIAG_MSG_MAX / 2);
	for (size_t i = 0; i < n; i++)
		if (c[i].contended)
			contended_names_text(&c[i], &names);
	if (k == 1 && first->contended == DNS_CONTENDED_LATE)
		late_error(first, names.data, where, d);
	else
		diag_error(d,
		           "someone changed %s between our read and our update "
		           "(%s from %s): their edit is left as it is and %s "
		           "records were not changed; the next run replaces "
		           "their edit unless the domain is taken out of the "
		           "configuration",
		           names.data ? names.data : "?",
		           prereq_rcode_name(first->contended), where,
		           k > 1 ? "these domains'" : "this domain's");
	buf_free(&names);
}

/* Read the states again after where refused the update of names with
 * rcode (the states before into old); a failure to read says what it
 * followed (after its reason, which is never cut). Returns 0, or -1. */
static int
reread_refused(const struct dns_target *t, struct dns_change *c, size_t n,
               struct dns_state *old, const char *where, const char *names,
               int rcode, struct diag *d)
{
	if (reread(t, c, n, old, d) == 0)
		return 0;
	diag_append(d,
	            " (while reading the records again after %s refused the "
	            "update of %s with %s: they differ from what was read)",
	            where, names, prereq_rcode_name(rcode));
	return -1;
}

/* After the prerequisites refused the update of plan p with rcode: read
 * the states again, set *same when the names p changes hold just what
 * was read before (states_same()), and with mark, mark the contended
 * changes. Returns 0, or -1 with the reason in d. */
static int
reread_after(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct plan *p, const char *where, const char *names,
             int rcode, int mark, int *same, struct diag *d)
{
	struct dns_state *old = xcalloc(n, sizeof(*old));
	int rc = reread_refused(t, c, n, old, where, names, rcode, d);

	if (rc == 0) {
		*same = states_same(p, c, n, old);
		if (mark)
			mark_contended(p, c, n, old, rcode);
	}
	for (size_t i = 0; i < n; i++)
		dns_state_free(&old[i]);
	free(old);
	return rc;
}

/* The result of an update whose other changes went through: a conflict
 * if some were contended (their error in d), else DNS_UPDATE_OK. */
static enum dns_update_result
contended_result(const struct dns_change *c, size_t n, const char *where,
                 struct diag *d)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i].contended) {
			contended_error(c, n, where, d);
			return DNS_UPDATE_CONFLICT;
		}
	}
	return DNS_UPDATE_OK;
}

/*
 * After where refused the UPDATE of names (n changes) with rcode, a
 * prerequisite, the records read again are just those its prerequisites
 * named: no one changed them, the server misjudges them (PowerDNS
 * compares its stored text of a record with one it writes of ours: a
 * record stored in another form, "a\059b" for "a;b", never matches,
 * and TXT records differing only in case each match both; or a cache or
 * a secondary answered the reads). Sending the same UPDATE again would
 * fail the same way, and every domain of it with it. Several changes:
 * DNS_UPDATE_MISJUDGED (the refusal into info), and dns_update_zone()
 * sends each alone, so that only those it misjudges fail; one: its
 * error, DNS_UPDATE_FAILED.
 */
static enum dns_update_result
misjudged(size_t n, const char *where, const char *names, int rcode,
          struct dns_update_info *info, struct diag *d)
{
	const char *rc = prereq_rcode_name(rcode);

	if (n > 1) {
		diag_error(d,
		           "%s refused the update of %s (%s), though the "
		           "records read again are those its prerequisites "
		           "named",
		           where, names, rc);
		info->denied_rcode = rc;
		info->denied_misjudged = 1;
		return DNS_UPDATE_MISJUDGED;
	}
	diag_error(d,
	           "%s refused the update of %s (%s), though the records read "
	           "again are those its prerequisites named: it misjudges "
	           "them, and nothing was changed. Likely: on PowerDNS, a TXT "
	           "record stored in another written form (\\059 for ;: "
	           "rewrite it with pdnsutil replace-rrset or the API) or two "
	           "differing only in case (keep one, or make them differ "
	           "otherwise); a cache answering our reads; "
	           "`server` a secondary forwarding updates (name the "
	           "primary)",
	           where, names, rc);
	return DNS_UPDATE_FAILED;
}

/* Can a refusal of an UPDATE with rcode (as send_update() returns it)
 * come from a grant missing for some of its names only? BIND refuses
 * (REFUSED) an UPDATE its update-policy does not allow as a whole, Knot
 * answers BADKEY when its ACL denies one name, and a domain whose names
 * are outside the zone makes the whole UPDATE NOTZONE. */
static int
update_denied(int rcode)
{
	return rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTZONE ||
	       rcode == SENT_BADKEY;
}

/* The name of a refusal that update_denied() accepts. */
static const char *
denied_name(int rcode)
{
	if (rcode == SENT_BADKEY)
		return "NOTAUTH, BADKEY";
	return rcode == LDNS_RCODE_NOTZONE ? "NOTZONE" : "REFUSED";
}

/* An info for an UPDATE of zone t that is yet to be sent. */
static void
info_init(struct dns_update_info *info, const struct dns_target *t)
{
	memset(info, 0, sizeof(*info));
	info->key = t->key != NULL ? t->key->name : NULL;
}

/* The result of an UPDATE that rcode refused (not NOERROR, NXRRSET or
 * YXRRSET; below 0: no trusted answer, its reason in d already), its
 * reason into d: DNS_UPDATE_DENIED for a refusal that a grant missing for
 * some of names gives (its rcode's name into info), DNS_UPDATE_UNKNOWN
 * when the server may have applied it (SENT_LOST, SENT_OPEN), else
 * DNS_UPDATE_FAILED. */
static enum dns_update_result
update_refused(const struct dns_target *t, const char *where, const char *names,
               int rcode, struct dns_update_info *info, struct diag *d)
{
	if (rcode >= 0)
		update_rcode_error(t, where, names, rcode, info->zone_took, d);
	if (rcode == SENT_LOST || rcode == SENT_OPEN)
		return DNS_UPDATE_UNKNOWN;
	if (!update_denied(rcode))
		return DNS_UPDATE_FAILED;
	info->denied_rcode = denied_name(rcode);
	return DNS_UPDATE_DENIED;
}

/* After the states of the changes c were read again (reread()), for
 * each that keeps a TTL someone changed (ttl_kept): the TTL read now,
 * which the UPDATE sent again keeps, is the one its warning names; none
 * when it is back to the one first read. */
static void
ttl_retake(struct dns_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++) {
			struct part pt;

			part_of(&c[i], k, NULL, &pt);
			if (!(c[i].ttl_kept & pt.bit) || pt.set->n == 0)
				continue;
			c[i].ttl_now[k] = pt.set->ttl;
			if (pt.set->ttl == c[i].ttl_was[k])
				c[i].ttl_kept &= ~pt.bit;
		}
}

/*
 * After the UPDATE of plan p (the changes c, its names in words; attempt
 * 0: the first) was refused with rcode: read the states again if a
 * prerequisite failed, and tell what comes next. DNS_UPDATE_OK: plan
 * again and send once more; else the result, its reason in d. Records
 * read again just as they were read before mean that no one changed
 * them (misjudged()); otherwise, on the first refusal, the changes whose
 * records of our kind someone changed are marked contended, and a second
 * refusal is a conflict.
 */
static enum dns_update_result
update_after(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct plan *p, const char *names, int attempt, int rcode,
             struct dns_update_info *info, struct diag *d)
{
	const char *where = info->where;
	int same = 0;

	if (rcode != LDNS_RCODE_NXRRSET && rcode != LDNS_RCODE_YXRRSET)
		return update_refused(t, where, names, rcode, info, d);
	if (reread_after(t, c, n, p, where, names, rcode, attempt == 0, &same,
	                 d) == -1)
		return DNS_UPDATE_FAILED;
	if (same)
		return misjudged(info->carried, where, names, rcode, info, d);
	if (attempt > 0) {
		conflict_error(names, where, rcode, d);
		return DNS_UPDATE_CONFLICT;
	}
	ttl_retake(c, n);
	return DNS_UPDATE_OK;
}

/* How many of the changes c plan p carries: those it changes a name of
 * (not those held back, contended, or needing nothing any more). */
static size_t
plan_carried(const struct plan *p, const struct dns_change *c, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct part sts, tlsrpt;

		part_of(&c[i], 0, NULL, &sts);
		part_of(&c[i], 1, NULL, &tlsrpt);
		k +=
		    plan_touches(p, sts.owner) || plan_touches(p, tlsrpt.owner);
	}
	return k;
}

/* A dns_update_zone() caller's gate (dnsupdate.h), with its argument. */
struct gate {
	dns_update_gate *fn;
	void *arg;
};

/* Ask g about each change of c that an UPDATE about to be sent would
 * carry, and hold back those it refuses: marked withheld, their
 * texts dropped, so that no plan takes them again. Returns how many it
 * held back. */
static size_t
gate_changes(const struct gate *g, struct dns_change *c, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (c[i].contended || c[i].withheld ||
		    !dns_change_needed(&c[i]) || g->fn(g->arg, &c[i]) == 0)
			continue;
		c[i].withheld = 1;
		c[i].sts_text = c[i].tlsrpt_text = NULL;
		k++;
	}
	return k;
}

/* Just before plan p for the changes c is sent, as late as the
 * caller's checks can be: hold back the changes g (NULL: none) refuses,
 * and plan again without them. Returns whether anything is left to send
 * (p empty otherwise). */
static int
gate_plan(const struct gate *g, struct dns_change *c, size_t n, struct plan *p,
          struct diag *d)
{
	size_t k = g != NULL ? gate_changes(g, c, n) : 0;

	if (k == 0)
		return 1;
	dns_plan_free(p); /* the same changes, but those held back */
	dns_plan_build(c, n, p, d);
	return p->n > 0;
}

/*
 * Send one UPDATE for the changes of zone t (dns_update_apply(), which
 * see), telling how it went in info (from info_init()). Just before it
 * is first sent, the names whose TTL it keeps are read again, with the
 * zone's SOA (pre_read()), and then the gate g (NULL: none) is asked
 * about each change (gate_plan()), as it is again before the retry
 * after a refusal by the prerequisites: one it holds back is left out, and
 * with none left nothing is sent (DNS_UPDATE_OK; the changes held back
 * are told by c->withheld). When a prerequisite fails (the records differ
 * from what was read), the states are read again (update_after()): if
 * they already hold what the update would make (someone made the same
 * change meanwhile; our own UPDATE is never sent twice), there is
 * nothing left to do and no conflict to report; a change whose records
 * of our kind someone else changed, or whose name someone made a CNAME,
 * is left out, so that their edit is not overwritten (it fails as a
 * conflict); the others are planned again and sent once more, with a
 * warning, and a second refusal is a conflict. An UPDATE whose reply was
 * lost counts as accepted only when the records read back show it
 * applied (send_planned()); they are then confirmed already.
 */
static enum dns_update_result
update_apply(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct gate *g, struct dns_update_info *info, struct diag *d)
{
	char *where = info->where, names[DIAG_MSG_MAX / 2];
	int refused = 0; /* the first attempt's failed prerequisite */
	enum dns_update_result r;
	struct before pre;
	struct plan p;

	info->carried = n;
	for (size_t i = 0; i < n; i++) {
		c[i].confirmed = c[i].contended = c[i].undo_rcode = 0;
		c[i].contended_names = c[i].contended_cnames = 0;
		c[i].ttl_unread = 0;
	}
	for (int attempt = 0;; attempt++) {
		int rcode;

		if (dns_plan_build(c, n, &p, d) == -1)
			return DNS_UPDATE_FAILED;
		if (p.n == 0) /* after a refusal, the states just read back */
			return contended_result(c, n, where, d);
		if (attempt == 0 &&
		    pre_read_plan(t, c, n, &p, &pre, info, d) == -1)
			return DNS_UPDATE_FAILED;
		/* the retry after a refusal too: its reads took time */
		if (!gate_plan(g, c, n, &p, d)) {
			dns_plan_free(&p);
			return DNS_UPDATE_OK;
		}
		if (refused)
			diag_warn(d,
			          "someone changed %s meanwhile (%s from %s): "
			          "read the records again and retried",
			          names, prereq_rcode_name(refused), where);
		dns_plan_names(&p, names, sizeof(names));
		info->carried = plan_carried(&p, c, n);
		rcode = send_planned(t, c, n, &p, info, d);
		if (rcode == LDNS_RCODE_NOERROR)
			break;
		r = update_after(t, c, n, &p, names, attempt, rcode, info, d);
		dns_plan_free(&p);
		if (r != DNS_UPDATE_OK)
			return r;
		refused = rcode;
	}
	/* a lost reply was confirmed by the read-back already */
	r = info->reply_lost ? DNS_UPDATE_OK
	                     : confirm(t, c, n, &p, &pre, info, d);
	dns_plan_free(&p);
	if (r != DNS_UPDATE_OK)
		return r;
	info->read_back = 1;
	return contended_result(c, n, where, d);
}

/* Send one UPDATE for the changes of zone t; see dnsupdate.h. */
enum dns_update_result
dns_update_apply(const struct dns_target *t, struct dns_change *c, size_t n,
                 struct diag *d)
{
	struct dns_update_info info;
	enum dns_update_result r;
	char w[DIAG_WARN_MAX];

	info_init(&info, t);
	r = update_apply(t, c, n, NULL, &info, d);
	for (size_t i = 0; i < n; i++) /* the TTLs kept */
		for (int k = 0; k < 2; k++)
			if (dns_change_ttl_kept(&c[i], k, w, sizeof(w)))
				diag_warn(d, "%s", w);
	return r;
}

/* Report change i, which someone else contended (its records of our
 * kind changed meanwhile), as a conflict of its own. */
static void
report_contended(const struct dns_target *t, const struct dns_change *c,
                 size_t i, const struct dns_update_info *info,
                 dns_update_report *report, void *arg)
{
	char where[DNS_WHERE_MAX];
	struct diag own;

	diag_init(&own);
	dns_target_where(t, 0, where, sizeof(where));
	contended_error(&c[i], 1, where, &own);
	report(arg, i, 1, DNS_UPDATE_CONFLICT, &own, info);
}

/* Report change i, which the gate held back, alone: the gate has its
 * reason. Out of line, as update_alone() is: its empty diag would
 * otherwise deepen the stack of every UPDATE. */
static void __attribute__((noinline))
report_withheld(size_t i, const struct dns_update_info *info,
                dns_update_report *report, void *arg)
{
	struct diag none;

	diag_init(&none);
	report(arg, i, 1, DNS_UPDATE_WITHHELD, &none, info);
}

/* Report the outcome r (reason and warnings in d, how it went in info)
 * of the UPDATE of c[first] .. c[first + k - 1]: a contended change gets
 * its own conflict, whatever befell the others, and one the gate held
 * back its own report. */
static void
report_part(const struct dns_target *t, const struct dns_change *c,
            size_t first, size_t k, enum dns_update_result r,
            const struct diag *d, const struct dns_update_info *info,
            dns_update_report *report, void *arg)
{
	size_t i;

	for (i = first; i < first + k && !c[i].contended && !c[i].withheld; i++)
		;
	if (i == first + k) {
		report(arg, first, k, r, d, info);
		return;
	}
	for (i = first; i < first + k; i++)
		if (c[i].withheld)
			report_withheld(i, info, report, arg);
		else if (c[i].contended)
			report_contended(t, c, i, info, report, arg);
		else
			report(arg, i, 1, r, d, info);
}

/* Send the changes c[first] .. c[first + k - 1], whose UPDATE together
 * was denied or misjudged (its info and reason: denied, why), one per
 * UPDATE, each past the gate g again, and report each: a grant missing
 * for one domain, or records the server misjudges, fail that domain
 * only. A change someone else contended before the refusal is not sent
 * again: their edit stays; nor is one the gate held back. Returns the number of
 * UPDATEs sent. Out of line: its diag would otherwise sit in
 * dns_update_zone()'s frame, deepening the stack of every UPDATE (more resident
 * memory in each worker), though only a denied one needs it. */
static unsigned __attribute__((noinline))
update_alone(const struct dns_target *t, struct dns_change *c, size_t first,
             size_t k, const struct gate *g,
             const struct dns_update_info *denied, const struct diag *why,
             int *took, dns_update_report *report, void *arg)
{
	unsigned sent = 0;

	for (size_t i = first; i < first + k; i++) {
		struct dns_update_info info;
		enum dns_update_result r;
		struct diag d;

		info_init(&info, t);
		info.denied_first = first;
		info.denied_n = k;
		info.denied_carried = denied->carried;
		info.denied_sent = denied->sent;
		info.denied_rcode = denied->denied_rcode;
		info.denied_misjudged = denied->denied_misjudged;
		info.denied_reason = why->error;
		if (c[i].withheld) {
			report_withheld(i, &info, report, arg);
			continue;
		}
		if (c[i].contended) {
			report_contended(t, c, i, &info, report, arg);
			continue;
		}
		diag_init(&d);
		info.zone_took = *took;
		r = update_apply(t, &c[i], 1, g, &info, &d);
		*took |= r == DNS_UPDATE_OK && info.sent > 0;
		sent += info.sent;
		report_part(t, c, i, 1, r, &d, &info, report, arg);
	}
	return sent;
}

/*
 * Apply the changes of zone t in as few UPDATEs as hold them, one after
 * another; see dnsupdate.h. A part refused as a whole by a server's
 * grants (DNS_UPDATE_DENIED), or by prerequisites that named the records
 * as they are (DNS_UPDATE_MISJUDGED), changed nothing, so sending its
 * changes again one by one is safe, and tells which domains lack the
 * grant, or have records the server misjudges. The diag of a part is on
 * the heap, as send_planned()'s is.
 */
unsigned
dns_update_zone(const struct dns_target *t, struct dns_change *c, size_t n,
                dns_update_gate *gate, dns_update_report *report, void *arg)
{
	const struct gate g = {gate, arg};
	const struct gate *gp = gate != NULL ? &g : NULL;
	unsigned sent = 0;
	struct diag *d = xmalloc(sizeof(*d));
	int took = 0; /* an UPDATE of the zone taken (update_refused_error()) */

	for (size_t first = 0, k; first < n; first += k) {
		struct dns_update_info info;
		enum dns_update_result r;

		k = dns_update_fit(t, c + first, n - first);
		diag_init(d);
		info_init(&info, t);
		info.zone_took = took;
		r = update_apply(t, c + first, k, gp, &info, d);
		took |= r == DNS_UPDATE_OK && info.sent > 0;
		sent += info.sent;
		/* alone, a change the UPDATE carried alone would only be
		 * refused again */
		if ((r == DNS_UPDATE_DENIED || r == DNS_UPDATE_MISJUDGED) &&
		    info.carried > 1)
			sent += update_alone(t, c, first, k, gp, &info, d,
			                     &took, report, arg);
		else
			report_part(t, c, first, k, r, d, &info, report, arg);
	}
	free(d);
	return sent;
}
