/*
 * dns-internal.h - what the files of the DNS UPDATE engine share; not
 * part of its interface (that is dnsupdate.h).
 *
 * The engine was one file, dnsupdate.c; it is now five, mostly calling
 * those above them (dns-state.c also asks dns-zone.c's dns_zone_soa() and
 * dns-plan.c's dns_txtset_count()):
 *   dns-tcp.c    the TCP connection to a primary: pipelined queries,
 *                replies matched and checked (TSIG), errors in words;
 *   dns-state.c  queries in batches and the reading of their answers:
 *                TXT, MX, CNAME, SOA and referrals; wildcard probes;
 *   dns-zone.c   finding the zone and its primary (discovery);
 *   dns-plan.c   the UPDATE's operations, its message, its dry-run text;
 *   dnsupdate.c  sending the UPDATE, reading it back, retries and undo.
 * Everything here was static in dnsupdate.c; its names now begin with
 * dns_, as the engine's interface does, so that grep and a debugger tell
 * them from sync.c's functions of the same words (state_read()...).
 */
#ifndef MTASTS_DNS_INTERNAL_H
#define MTASTS_DNS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dnsupdate.h"
#include "log.h"

/* the largest DNS message: what a TCP length prefix can say */
#define DNS_MSG_MAX 65535
/* messages pipelined at once: at most those of dns_state_wildcards(),
 * two TXT probes and the eleven questions about the domain, or those of
 * dns_domain_wildcard(), its SOA, its MX and the same eleven */
#define QUERY_MAX 13

/* How the message of dns_send_wires() that got no good reply failed, beside
 * the reason in words. */
struct wire_fail {
	unsigned tsig_err; /* the TSIG error its reply carried, or 0 */
	/* the rcode of its reply refused for a TSIG error or for coming
	 * unsigned (what the server claims, untrusted), or -1 */
	int rcode;
	int lost; /* an UPDATE the server got whole, then the connection
	             ended before any reply came (mark_lost()) */
	/* an UPDATE the server got whole, with no reply to trust: the
	 * reason says it may have been applied (lost ones too) */
	int open;
};

/* A query to the primary. */
struct query {
	char name[DNS_NAME_MAX + 16];
	ldns_rr_type type;
};

/* Queries sent to the primary together, and what came back. */
struct batch {
	struct query q[QUERY_MAX];
	size_t n;
	ldns_pkt *ans[QUERY_MAX]; /* replies (TSIG verified), i < k */
	size_t k;                 /* leading queries with a reply */
	char where[DNS_NAME_MAX + 80];
	struct wire_fail fail; /* how query k failed, if it did */
	double sent_at;        /* util_mono() when the queries went out */
	/* why query k has none, the first reason: an error only (no
	 * warning of a batch is told), not a whole struct diag, whose
	 * warnings would put 8 KiB more in every frame that holds a batch,
	 * and so on the resident stack of every worker */
	char err[DIAG_MSG_MAX];
};

/* What an operation of an UPDATE is (dns-plan.c builds the operations,
 * dnsupdate.c reads them back to judge the outcome). */
enum op_kind {
	OP_EXISTS,   /* prerequisite: this RR is in the RRset as read */
	OP_ABSENT,   /* prerequisite: no TXT RRset at owner */
	OP_NO_CNAME, /* prerequisite: no CNAME at owner */
	OP_DELETE,   /* delete this RR */
	OP_ADD,      /* add this RR */
};

/* One operation of a plan: a prerequisite or an update, on one TXT
 * (or CNAME) record of owner. */
struct op {
	enum op_kind kind;
	char owner[DNS_NAME_MAX + 1];
	unsigned char *rdata; /* TXT RDATA (character-strings); owned */
	size_t rdlen;
	uint32_t ttl;
};

/* The operations of one UPDATE message, in the order dns_plan_add() was
 * given them; dns_plan_free() frees them. */
struct plan {
	struct op *ops;
	size_t n;
};

/* dns-tcp.c: helpers, the TCP exchange, signed exchanges */
void dns_target_where(const struct dns_target *t, size_t i, char *out,
                      size_t size);
int dns_name_copy(char *out, const char *name);
char *dns_rdf_name(const ldns_rdf *rdf);
void dns_random_bytes(unsigned char *b, size_t n);
size_t dns_send_wires(const struct dns_target *t, struct buf *q, size_t n,
                      unsigned answer_only, ldns_pkt **replies, char *where,
                      size_t wsize, struct wire_fail *f, struct diag *d);
size_t dns_tsig_room(const struct dns_target *t);
int dns_send_pkt(const struct dns_target *t, ldns_pkt *pkt, ldns_pkt **reply,
                 char *where, size_t wsize, struct wire_fail *f,
                 struct diag *d);

/* dns-state.c: query batches, state reads, wildcard probes */
void dns_query_rcode_error(const char *where, const char *name,
                           ldns_rr_type type, int rcode, int resolver,
                           struct diag *d);
void dns_batch_add(struct batch *b, const char *name, ldns_rr_type type);
void dns_batch_send(const struct dns_target *t, struct batch *b);
int dns_batch_check(const struct dns_target *t, const struct batch *b, size_t i,
                    int need_aa, struct diag *d);
void dns_batch_note(const struct dns_target *t, struct batch *b, size_t i);
void dns_batch_free(struct batch *b);
int dns_query_primary(const struct dns_target *t, const char *name,
                      ldns_rr_type type, int need_aa, ldns_pkt **ans,
                      struct diag *d);
int dns_rr_at(const ldns_rr *rr, const ldns_rdf *qn);
void dns_txtset_free(struct dns_txtset *s);
void dns_read_txt(const ldns_pkt *ans, const char *name, struct dns_txtset *s,
                  char **cname);
void dns_state_batch(struct batch *b, const char *domain, int with_mx);
int dns_state_take(const struct dns_target *t, const struct batch *b,
                   size_t first, const char *domain, unsigned away,
                   unsigned names, struct dns_state *st, struct diag *d);
int dns_state_ask(const struct dns_target *t, const char *domain, int with_mx,
                  unsigned away, unsigned names, struct dns_state *st,
                  struct diag *d);
/* Keep in st (st->sts_soa_*) what dns_state_zones() would read of
 * answer i of b, t's answer to the SOA query at _mta-sts.<domain>. */
void dns_state_keep_soa(const struct dns_target *t, const struct batch *b,
                        size_t i, struct dns_state *st);
int dns_txtset_same(const struct dns_txtset *a, const struct dns_txtset *b);
int dns_holds_soa(const ldns_pkt *ans, const char *name);

/* dns-zone.c: zone and primary discovery */
const ldns_rr *dns_zone_soa(const ldns_pkt *ans, const ldns_rdf *qn);

/* dns-plan.c: the UPDATE's plan and message */
void dns_plan_add(struct plan *p, enum op_kind kind, const char *owner,
                  const unsigned char *rdata, size_t rdlen, uint32_t ttl);
void dns_plan_free(struct plan *p);
int dns_plan_build(const struct dns_change *c, size_t n, struct plan *p,
                   struct diag *d);
size_t dns_update_fit(const struct dns_target *t, const struct dns_change *c,
                      size_t n);
ldns_pkt *dns_plan_packet(const char *zone, const struct plan *p);
void dns_plan_names(const struct plan *p, char *out, size_t size);

#endif
