/*
 * check.c - `mta-sts-sync check`: audit live domains the way a sending
 * MTA sees them (RFC 8461, RFC 8460). Each domain is checked in its own
 * worker thread (at most CHECK_MAX_PARALLEL at once) into a report of
 * PASS / INFO / WARN / FAIL items; the reports are printed afterwards in
 * argument order, as text or as one JSON document.
 */
#include "config.h"

#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cmd.h"
#include "conf.h"
#include "dnsupdate.h"
#include "fetch.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "record.h"
#include "util.h"

#define CHECK_MAX_PARALLEL 8
#define CHECK_MAX_ITEMS 48
#define CHECK_MSG_MAX 768
#define CHECK_TIMEOUT 20u       /* seconds, whole policy fetch */
#define CHECK_DNS_TIMEOUT 3     /* seconds per DNS try */
#define CHECK_BATCH_TIMEOUT 9   /* seconds, questions asked at once */
#define CHECK_CNAME_HOPS 8      /* CNAME chain links followed */
#define CHECK_EXPIRY_WARN 14    /* days before certificate expiry */
#define CHECK_MIN_MAX_AGE 86400 /* advice for enforce mode */
#define CHECK_JSON_MAX (16u << 20)
#define DOMAIN_MAX 253
/* a lookup to which no answer came: its check is not made */
#define LOOKUP_NO_ANSWER (-2)
/* a lookup that the resolver asked could not complete for a fault that
 * may be its own, not the domain's (this host's resolver, or a --server
 * that answers as a recursive resolver): its check is not made */
#define LOOKUP_NOT_MADE (-3)

#define RFC_8461 "RFC 8461 \xc2\xa7"
#define RFC_8460 "RFC 8460 \xc2\xa7"

enum check_status {
	CHECK_PASS,
	CHECK_INFO,
	CHECK_WARN,
	CHECK_FAIL,
};

static const char *const status_names[] = {"PASS", "INFO", "WARN", "FAIL"};
static const char *const status_json[] = {"pass", "info", "warn", "fail"};

struct check_item {
	char name[24];
	enum check_status status;
	char msg[CHECK_MSG_MAX];
	const char *rfc; /* static string */
	int not_checked; /* a failure: the check was not made */
};

/* One domain's results, filled by one worker thread only. */
struct report {
	char domain[DOMAIN_MAX + 1]; /* lower case, no trailing dot */
	struct check_item items[CHECK_MAX_ITEMS];
	size_t n;
	unsigned nfail, nwarn;
	unsigned nnot; /* of nfail, the checks not made */
	int left_out;  /* results past CHECK_MAX_ITEMS were left out */
};

/* What every worker reads; set up before the threads start. */
struct check_ctx {
	const struct cmd_opts *o;      /* o->server: --server, or NULL */
	struct dns_server_spec server; /* o->server, parsed (once) */
	struct conf *conf;             /* -c FILE, or NULL */
	/* the same resolver, for questions asked together (pipelined over
	 * TCP); have_batch 0: not usable, they are not asked, and batch_why
	 * says why */
	struct dns_target batch;
	int have_batch;
	char batch_why[CHECK_MSG_MAX];
};

/* Working data of one domain while it is checked. */
struct domain_check {
	const struct check_ctx *ctx;
	struct report *rep;
	ldns_resolver *res;
	char sts_id[POLICY_ID_MAX + 1]; /* "" when no usable record */
	struct fetch_result fr;
	int fetched;  /* fr.ok: the policy body is in fr */
	int dns_down; /* the DNS server did not answer at all */
	/* who is asked: "--server ADDR port N", or "this host's resolver
	 * (ADDR, from /etc/resolv.conf)" */
	char rname[CHECK_MSG_MAX / 2];
	struct policy *policy; /* parsed policy, or NULL */
	/* what the answer at _mta-sts.<domain> tells of the domain when it
	 * holds no CNAME: NXDOMAIN (no wildcard covers the domain), and
	 * whether the domain is its zone's apex (dns_answer_apex(): -1 it
	 * does not tell) */
	int sts_nxdomain;
	int apex;
};

/*
 * Remove a trailing " (RFC ... section ...)" that a parser put in its
 * message: the result carries the section in its own field.
 */
static void
strip_rfc_note(char *msg)
{
	char *note = NULL, *p = msg;
	size_t len = strlen(msg);

	while ((p = strstr(p, " (RFC ")) != NULL)
		note = p++;
	if (note != NULL && len > 0 && msg[len - 1] == ')' &&
	    strchr(note + 2, '(') == NULL)
		*note = '\0';
}

/*
 * Add a result to rep. The message is formatted, then every byte that
 * is not printable ASCII is replaced by '?': record texts, headers and
 * policy lines come from the network and must not reach a terminal raw.
 * Returns the item, or NULL when the report is full (counted all the
 * same).
 */
static struct check_item *__attribute__((format(printf, 5, 6)))
check_add(struct report *rep, enum check_status st, const char *name,
          const char *rfc, const char *fmt, ...)
{
	struct check_item *it;
	va_list ap;
	char *p;

	if (st == CHECK_FAIL)
		rep->nfail++;
	else if (st == CHECK_WARN)
		rep->nwarn++;
	if (rep->n == CHECK_MAX_ITEMS) {
		rep->left_out = 1;
		return NULL;
	}
	it = &rep->items[rep->n++];
	it->status = st;
	it->rfc = rfc;
	str_copy(it->name, sizeof(it->name), name);
	va_start(ap, fmt);
	text_vformat(it->msg, sizeof(it->msg), fmt, ap);
	va_end(ap);
	for (p = it->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	strip_rfc_note(it->msg);
	return it;
}

/* Was the lookup that gave rc (dns_query()) not made, rather than made
 * and failed? */
static int
lookup_not_made(int rc)
{
	return rc == LOOKUP_NO_ANSWER || rc == LOOKUP_NOT_MADE;
}

/*
 * A failure of the check name, the lookup behind it having failed (rc
 * from dns_query(), msg its reason): with a lookup not made, the item is
 * marked so (and counted), so that a monitor tells this host's fault from
 * the domain's without reading the words; the verdict fails all the
 * same, since nothing of the domain was checked there.
 */
static void
check_lookup_failed(struct report *rep, int rc, const char *name,
                    const char *rfc, const char *head, const char *msg)
{
	struct check_item *it;

	it = check_add(rep, CHECK_FAIL, name, rfc, "%s%s", head, msg);
	if (!lookup_not_made(rc))
		return;
	rep->nnot++;
	if (it != NULL)
		it->not_checked = 1;
}

/* ------------------------------------------------------------ DNS */

/* A kind of TXT record that check reads, and how its results read. */
struct record_kind {
	const char *version; /* STS_RECORD_VERSION or TLSRPT_RECORD_VERSION */
	const char *check;   /* the name of its results */
	const char *rfc;
	const char *who; /* who reads it: "senders" */
	/* what its readers do with several, and what follows from none */
	const char *several;
	const char *unused;
	/* the verdict on none, and what to do */
	enum check_status none_status;
	const char *none_advice;
};

static const struct record_kind sts_kind = {
    STS_RECORD_VERSION,
    "sts-record",
    RFC_8461 "3.1",
    "senders",
    "senders must treat this as no record",
    "senders do not use MTA-STS",
    CHECK_FAIL,
    "senders do not use MTA-STS; publish \"v=STSv1; id=<id>\" there"};
static const struct record_kind tlsrpt_kind = {
    TLSRPT_RECORD_VERSION,
    "tlsrpt",
    RFC_8460 "3",
    "reporters",
    "reporters must ignore them all",
    "nobody reports",
    CHECK_WARN,
    "TLS-RPT is optional, but without it nobody tells you when senders "
    "fail; publish \"v=TLSRPTv1; rua=mailto:<address>\" there"};

/*
 * A record at name that would be of kind k but for white space before
 * it or the case of its version (" v=STSv1; ...", "V=STSV1; ...") is
 * ignored by the readers that follow the RFC; it is likely a typo: a
 * warning says so and what to write.
 */
static void
check_lookalikes(struct report *rep, const struct strlist *txts,
                 const char *name, const struct record_kind *k)
{
	for (size_t i = 0; i < txts->n; i++) {
		const char *t = txts->v[i];
		size_t ws = strspn(t, " \t");
		int badcase;

		if (record_is_version(t, k->version) ||
		    !record_is_version_nocase(t + ws, k->version))
			continue;
		badcase = !record_is_version(t + ws, k->version);
		check_add(
		    rep, CHECK_WARN, k->check, k->rfc,
		    "\"%s\" at %s is ignored by %s: %s%s%s%s", t, name, k->who,
		    ws ? "it begins with white space, remove it" : "",
		    ws && badcase ? "; " : "",
		    badcase ? "the version is case-sensitive, write " : "",
		    badcase ? k->version : "");
	}
}

/* The records of txts that begin with "<version>;", quoted and
 * separated by ", " (cut to what a message holds), into out
 * (initialised here; the caller frees it). */
static void
records_of(const struct strlist *txts, const char *version, struct buf *out)
{
	buf_init(out, CHECK_MSG_MAX);
	for (size_t i = 0; i < txts->n; i++)
		if (record_begins(txts->v[i], version))
			buf_printf(out, "%s\"%s\"", out->len > 0 ? ", " : "",
			           txts->v[i]);
	if (out->data == NULL)
		buf_puts(out, "");
}

/* The records of one kind at a name, as their readers select them. */
struct selection {
	size_t strict; /* beginning with "<version>;": the RFC's rule */
	size_t near;   /* near misses: the version, then white space or end */
	size_t pick;   /* the record to parse: the only strict one, or with
	                  none, the only near miss */
};

/* Select the records of kind k in txts into s. Returns 1 if there is a
 * record to parse (s->pick), else 0. */
static int
select_records(const struct strlist *txts, const struct record_kind *k,
               struct selection *s)
{
	memset(s, 0, sizeof(*s));
	s->strict = record_select(txts->v, txts->n, k->version, &s->pick);
	for (size_t i = 0; i < txts->n; i++)
		if (record_is_near_miss(txts->v[i], k->version) &&
		    s->near++ == 0 && s->strict == 0)
			s->pick = i;
	return s->strict == 1 || (s->strict == 0 && s->near == 1);
}

/*
 * A warning for each near miss of kind k at name: a record that begins
 * with the version but not with "<version>;" ("v=STSv1 ; id=x"). The
 * RFC discards it, some readers count it: beside the one record that
 * begins right, these see several records and take none.
 */
static void
report_near_misses(struct report *rep, const struct strlist *txts,
                   const struct selection *s, const char *name,
                   const struct record_kind *k)
{
	for (size_t i = 0; i < txts->n; i++) {
		const char *t = txts->v[i];

		if (!record_is_near_miss(t, k->version))
			continue;
		if (s->strict == 1)
			check_add(
			    rep, CHECK_WARN, k->check, k->rfc,
			    "\"%s\" at %s begins with %s but not with "
			    "%s;: %s that discard it take \"%s\", those "
			    "that count it see %zu records and take none: "
			    "write %s; exactly in it, or remove it",
			    t, name, k->version, k->version, k->who,
			    txts->v[s->pick], s->near + 1, k->version);
		else
			check_add(rep, CHECK_WARN, k->check, k->rfc,
			          "\"%s\" at %s begins with %s but not with "
			          "%s;: some %s discard it, some count it: "
			          "write %s; exactly, or remove it",
			          t, name, k->version, k->version, k->who,
			          k->version);
	}
}

/* The parser's warnings about the record txt (a repeated field, a field
 * named like the key but for case), as warnings of kind k. */
static void
report_parse_warnings(struct report *rep, const char *txt, const struct diag *d,
                      const struct record_kind *k)
{
	for (size_t i = 0; i < d->nwarn; i++)
		check_add(rep, CHECK_WARN, k->check, k->rfc, "\"%s\": %s", txt,
		          d->warn[i]);
}

/*
 * A resolver for one worker: the --server address (parsed once, in
 * ctx) with recursion desired, or the system's /etc/resolv.conf.
 * Returns NULL with the reason in d.
 * Its questions go over UDP, and again over TCP for a truncated reply
 * (dns_query()), as a sender's resolver library asks them. Not through
 * the engine's client (dns_target_resolver(), ctx->batch), which asks
 * over TCP only: a resolver that refuses TCP still answers senders, and
 * check would say it does not answer; only the wildcard test's
 * questions, which go together, are asked that way. ldns's own retry of
 * a truncated reply is off: it tells a refused TCP connection as a
 * "General LDNS error", and asks over UDP with EDNS first, which a
 * sender's resolver library (the C library's) does not.
 */
static ldns_resolver *
resolver_open(const struct check_ctx *ctx, struct diag *d)
{
	ldns_resolver *res = NULL;
	ldns_status s;
	struct timeval tv = {CHECK_DNS_TIMEOUT, 0};

	if (ctx->o->server == NULL) {
		s = ldns_resolver_new_frm_file(&res, NULL);
		if (s != LDNS_STATUS_OK) {
			diag_error(d, "system resolver: %s",
			           ldns_get_errorstr_by_id(s));
			return NULL;
		}
	} else if ((res = dns_resolver_new_at(&ctx->server, d)) == NULL) {
		return NULL;
	}
	ldns_resolver_set_recursive(res, true);
	ldns_resolver_set_timeout(res, tv);
	ldns_resolver_set_retry(res, 2);
	ldns_resolver_set_dnsrch(res, false);
	ldns_resolver_set_defnames(res, false);
	ldns_resolver_set_fallback(res, false);
	return res;
}

/*
 * Ask name/type again over TCP, of the server (its address from, port
 * port) whose answer over UDP came truncated, through the engine's TCP
 * client (dns_query_tcp()), which takes only a reply to this question,
 * not one cut short over TCP too, and says in words why a connection
 * failed. Returns 0 with the answer in *pkt (the caller frees it), or -1
 * with the reason in d.
 */
static int
tcp_ask(const ldns_rdf *from, uint16_t port, const ldns_rdf *name,
        ldns_rr_type type, ldns_pkt **pkt, struct diag *d)
{
	char *qname = ldns_rdf2str(name);
	struct dns_target t;
	int rc = -1;

	*pkt = NULL;
	if (qname == NULL)
		diag_error(d, "cannot build the DNS query: out of memory");
	else if (dns_target_resolver_addr(from, port ? port : 53u,
	                                  CHECK_DNS_TIMEOUT, &t, d) == 0)
		rc = dns_query_tcp(&t, qname, type, pkt, d);
	/* the engine keeps the connection for the thread's next question;
	 * check asks that over UDP again */
	dns_close_connections();
	free(qname);
	return rc;
}

/*
 * Name dc's resolver into dc->rname: "--server ADDR port N", or "this
 * host's resolver (ADDR, ..., from /etc/resolv.conf)" (three addresses
 * at most named), for the messages of a lookup that failed.
 */
static void
resolver_name(struct domain_check *dc)
{
	struct buf b;

	if (dc->ctx->o->server != NULL) {
		snprintf(dc->rname, sizeof(dc->rname), "--server %s port %u",
		         dc->ctx->server.addr, dc->ctx->server.port);
		return;
	}
	buf_init(&b, sizeof(dc->rname));
	buf_puts(&b, "this host's resolver (");
	dns_resolver_addrs(dc->res, &b);
	buf_puts(&b, ")");
	str_copy(dc->rname, sizeof(dc->rname), b.data ? b.data : "?");
	buf_free(&b);
}

/* Is the reply pkt not authoritative (AA clear) from a server that
 * recurses (RA set): a resolver, or a server whose zone is not loaded? */
static int
from_recursive(const ldns_pkt *pkt)
{
	return pkt != NULL && ldns_pkt_ra(pkt) && !ldns_pkt_aa(pkt);
}

/*
 * Whose fault a lookup that failed (its reply rpkt, or NULL) is, and
 * what it gives its check: the system's resolver, which senders do not
 * ask, or a --server that answered as a recursive resolver (rpkt), not
 * as the authoritative server of the zone it should be: a fault that may
 * be the resolver's own, so the check is not made (LOOKUP_NOT_MADE), and
 * tail (size CHECK_MSG_MAX) says so, with fix, what to make that
 * resolver do. Else -1, tail untouched: a --server that senders'
 * resolvers ask fails them too.
 */
static int
lookup_blame(const struct domain_check *dc, const ldns_pkt *rpkt,
             const char *fix, char *tail)
{
	const char *alt = "or run check --server <an authoritative server "
	                  "of the zone>";
	/* "(ADDR, from /etc/resolv.conf)" of the system's (resolver_name()) */
	const char *addrs = strchr(dc->rname, '(');

	if (dc->ctx->o->server == NULL)
		snprintf(tail, CHECK_MSG_MAX,
		         "not checked, as the resolver asked is this host's "
		         "%s, not the senders': %s, %s",
		         addrs ? addrs : dc->rname, fix, alt);
	else if (from_recursive(rpkt))
		snprintf(tail, CHECK_MSG_MAX,
		         "not checked, as it is not authoritative for this "
		         "name (RA set, AA clear: a resolver, or the zone is "
		         "not loaded there): %s, %s",
		         fix, alt);
	else
		return -1;
	return LOOKUP_NOT_MADE;
}

/*
 * Say in d why the answer to qname/type (tname) that came truncated over
 * UDP (udp, the reply) could not be had over TCP either (why), and
 * return what the lookup gives its check (lookup_blame()): with a
 * --server that senders' resolvers ask (an authoritative server of the
 * zone), they cannot read the answer either, a failure (-1); else a
 * fault of the resolver asked, so the check is not made
 * (LOOKUP_NOT_MADE), as the wildcard test is not when that resolver
 * refuses TCP; the checks of the record and the MX fail all the same, so
 * that no verdict passes a domain whose records were not looked at.
 */
static int
truncated_failed(const struct domain_check *dc, const char *qname,
                 const char *tname, const ldns_pkt *udp, const char *why,
                 struct diag *d)
{
	char tail[CHECK_MSG_MAX];
	int rc = lookup_blame(dc, udp, "let it answer over TCP too (RFC 7766)",
	                      tail);

	if (rc == -1)
		str_copy(tail, sizeof(tail),
		         "senders cannot read it either when it does not fit "
		         "in UDP (512 bytes without EDNS, usually 1232 with "
		         "it); the server must answer over TCP too, as RFC "
		         "7766 requires");
	diag_error(d,
	           "DNS query %s %s: the answer over UDP was truncated, and "
	           "asking again over TCP failed (%s): %s",
	           qname, tname, why, tail);
	return rc;
}

/*
 * The answer *pkt to qname/type (tname) came over UDP truncated (TC):
 * ask again over TCP, as a sender's resolver library does (RFC 7766
 * section 5), of the server that answered. Returns 0 with *pkt replaced
 * by the answer over TCP, or -1 or LOOKUP_NOT_MADE (truncated_failed())
 * with *pkt freed (NULL) and the reason in d.
 */
static int
truncated_again(const struct domain_check *dc, const ldns_rdf *name,
                const char *qname, const char *tname, ldns_rr_type type,
                ldns_pkt **pkt, struct diag *d)
{
	ldns_pkt *udp = *pkt;
	const ldns_rdf *from = ldns_pkt_answerfrom(udp);
	struct diag why;
	int rc = -1;

	diag_init(&why);
	*pkt = NULL;
	if (from == NULL)
		diag_error(d,
		           "DNS query %s %s: the answer over UDP was "
		           "truncated, and it cannot be asked again over TCP: "
		           "ldns did not say which server answered",
		           qname, tname);
	else if (tcp_ask(from, ldns_resolver_port(dc->res), name, type, pkt,
	                 &why) == 0)
		rc = 0;
	else
		rc = truncated_failed(dc, qname, tname, udp, why.error, d);
	ldns_pkt_free(udp);
	return rc;
}

/* Say in d that no answer to qname/type (tname) came from dc's resolver
 * (s: ldns's reason). Returns LOOKUP_NO_ANSWER: the check is not made. */
static int
no_answer(const struct domain_check *dc, const char *qname, const char *tname,
          ldns_status s, struct diag *d)
{
	char tail[CHECK_MSG_MAX];

	if (lookup_blame(dc, NULL, "make it answer", tail) == -1)
		str_copy(tail, sizeof(tail),
		         "not checked: is it running, and does it answer "
		         "queries from this host?");
	diag_error(d,
	           "DNS query %s %s: %s did not answer (%s; %d s a try, 2 "
	           "tries): %s",
	           qname, tname, dc->rname, ldns_get_errorstr_by_id(s),
	           CHECK_DNS_TIMEOUT, tail);
	return LOOKUP_NO_ANSWER;
}

/* What a --server that answered a question SERVFAIL as a resolver does
 * (RA set, AA clear) when asked it again without recursion. */
enum unrecursed {
	UNRECURSED_OTHER,  /* another answer, or none: a resolver's */
	UNRECURSED_FAILS,  /* SERVFAIL, and for a name it cannot have cached */
	UNRECURSED_CACHED, /* SERVFAIL, but not for such a name: its cache */
	UNRECURSED_UNPROBED, /* SERVFAIL; such a name could not be made */
	UNRECURSED_UNTOLD,   /* SERVFAIL; such a name got no answer */
};

/* Ask dc's resolver name/type without recursion (RD clear). Returns the
 * rcode of the reply, or -1 when none came (or one with RD set). */
static int
ask_unrecursed(const struct domain_check *dc, const ldns_rdf *name,
               ldns_rr_type type)
{
	ldns_pkt *pkt = NULL;
	ldns_status s;
	int rc = -1;

	ldns_resolver_set_recursive(dc->res, false);
	s = ldns_resolver_query_status(&pkt, dc->res, name, type,
	                               LDNS_RR_CLASS_IN, 0);
	ldns_resolver_set_recursive(dc->res, true);
	if (s == LDNS_STATUS_OK && pkt != NULL && !ldns_pkt_rd(pkt))
		rc = (int)ldns_pkt_get_rcode(pkt);
	ldns_pkt_free(pkt);
	return rc;
}

/*
 * What the --server of dc, whose answer to name/type was a SERVFAIL
 * without AA but with RA (a resolver's, or a server that also recurses
 * failing a zone it should serve: BIND's default), does when asked
 * without recursion (RD clear), as senders' resolvers ask it. A resolver
 * then answers from its cache: a referral or REFUSED, or the SERVFAIL it
 * holds there (UNRECURSED_CACHED when a random name below name, which it
 * cannot have cached, gets another answer); a server whose zone did not
 * load (an expired secondary, a primary zone file with an error) answers
 * SERVFAIL to every name of it (UNRECURSED_FAILS, as does a forwarder
 * that passes every question on). Without the probe's answer the two
 * cannot be told apart: UNRECURSED_UNPROBED when no name fits below
 * name (or memory ran out), UNRECURSED_UNTOLD when it got no answer.
 */
static enum unrecursed
servfail_unrecursed(const struct domain_check *dc, const ldns_rdf *name,
                    ldns_rr_type type)
{
	char probe[DNS_NAME_MAX + 16], *qname;
	ldns_rdf *pname = NULL;
	int rc = -2; /* -2: the probe not made; -1: not answered */

	if (dc->ctx->o->server == NULL ||
	    ask_unrecursed(dc, name, type) != LDNS_RCODE_SERVFAIL)
		return UNRECURSED_OTHER;
	qname = ldns_rdf2str(name);
	if (qname != NULL && dns_probe_name(qname, probe, sizeof(probe)) == 0 &&
	    (pname = ldns_dname_new_frm_str(probe)) != NULL)
		rc = ask_unrecursed(dc, pname, type);
	ldns_rdf_deep_free(pname);
	free(qname);
	return rc == -2                    ? UNRECURSED_UNPROBED
	       : rc == -1                  ? UNRECURSED_UNTOLD
	       : rc == LDNS_RCODE_SERVFAIL ? UNRECURSED_FAILS
	                                   : UNRECURSED_CACHED;
}

/*
 * Say in d that dc's --server answered qname/type (tname) SERVFAIL with
 * and without recursion, but that the random name below, which would
 * tell a cached SERVFAIL from a zone not loaded, was not made or not
 * answered (how), and return LOOKUP_NOT_MADE: which of the two it is,
 * and so whose fault, is not known, and the zone is not blamed on a
 * probe that was not seen to fail.
 */
static int
servfail_unprobed(const struct domain_check *dc, const char *qname,
                  const char *tname, enum unrecursed how, struct diag *d)
{
	diag_error(d,
	           "DNS query %s %s: %s answered SERVFAIL, also when asked "
	           "without recursion as senders' resolvers ask it; a name "
	           "below it that no cache holds would tell a resolver "
	           "repeating a SERVFAIL from its cache from a server that "
	           "has not loaded the zone, but %s: not checked; run check "
	           "--server <an authoritative server of the zone>",
	           qname, tname, dc->rname,
	           how == UNRECURSED_UNTOLD
	               ? "it did not answer that name"
	               : "none could be made (no room below this name for "
	                 "a label more, or no memory)");
	return LOOKUP_NOT_MADE;
}

/*
 * Say in d what dc's --server, which answered qname/type (tname) SERVFAIL
 * with and without recursion, is known to be (how, from
 * servfail_unrecursed()), and return what the lookup gives its check:
 * failing a name it cannot have cached, the server of a zone it has not
 * loaded (or a forwarder), a failure of the domain's (-1); else a
 * resolver's SERVFAIL held in its cache, which tells nothing of the
 * domain's servers now, or a server not told apart (no probe answer):
 * not checked (LOOKUP_NOT_MADE).
 */
static int
servfail_again(const struct domain_check *dc, const char *qname,
               const char *tname, enum unrecursed how, struct diag *d)
{
	if (how == UNRECURSED_UNPROBED || how == UNRECURSED_UNTOLD)
		return servfail_unprobed(dc, qname, tname, how, d);
	if (how == UNRECURSED_FAILS) {
		diag_error(d,
		           "DNS query %s %s: %s answered SERVFAIL, also when "
		           "asked without recursion as senders' resolvers ask "
		           "it, and so for a name below it that it cannot "
		           "have cached: if it is an authoritative server of "
		           "the zone, it has not loaded it (a zone that "
		           "failed to load, an expired secondary: see its "
		           "log); if not (a forwarder, which passes every "
		           "question on), run check --server <an "
		           "authoritative server of the zone>",
		           qname, tname, dc->rname);
		return -1;
	}
	diag_error(d,
	           "DNS query %s %s: %s answered SERVFAIL, also when asked "
	           "without recursion, but not for a name below it that it "
	           "cannot have cached: a resolver answering from its "
	           "cache, whose SERVFAIL may be one met earlier, of a "
	           "fault upstream of it (the domain's servers, DNSSEC that "
	           "does not validate) or of its own, and tells nothing of "
	           "the zone's servers now: not checked; run check --server "
	           "<an authoritative server of the zone>",
	           qname, tname, dc->rname);
	return LOOKUP_NOT_MADE;
}

/*
 * Say in d that dc's resolver answered qname/type (tname, name) with an
 * error rcode (pkt, the reply), and return what the lookup gives its
 * check (lookup_blame()): from the system's resolver or a --server not
 * authoritative for the name, not checked, SERVFAIL read both ways (the
 * domain's servers, or the resolver's own failing); a --server that
 * fails the name unasked to recurse too, as servfail_again() says.
 */
static int
rcode_failed(const struct domain_check *dc, const ldns_rdf *name,
             ldns_rr_type type, const char *qname, const char *tname,
             const ldns_pkt *pkt, struct diag *d)
{
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
	ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
	enum unrecursed how = UNRECURSED_OTHER;
	char tail[CHECK_MSG_MAX];
	int rc;

	if (rcode == LDNS_RCODE_SERVFAIL && from_recursive(pkt))
		how = servfail_unrecursed(dc, name, type);
	if (how != UNRECURSED_OTHER)
		return servfail_again(dc, qname, tname, how, d);
	rc = lookup_blame(
	    dc, pkt,
	    rcode == LDNS_RCODE_SERVFAIL
	        ? "a resolver answers SERVFAIL when the domain's servers "
	          "fail it (a lame delegation, DNSSEC that does not "
	          "validate) and when it fails itself (no way out, its "
	          "own configuration); ask the domain's servers to tell"
	        : "let it answer this host's questions",
	    tail);
	if (rc == -1)
		str_copy(tail, sizeof(tail),
		         "senders' resolvers that ask it get no answer "
		         "either; if it is not an authoritative server of "
		         "the zone, run check --server with one that is");
	diag_error(d, "DNS query %s %s: %s answered %s: %s", qname, tname,
	           dc->rname, t ? t->name : "an error", tail);
	return rc;
}

/*
 * When every nameserver of res is marked unreachable, mark them all
 * reachable again. ldns marks one that gave no answer unreachable for
 * good, and with all so marked fails each later question at once ("No
 * (valid) nameservers defined in the resolver"): a sender's resolver
 * library asks them again, so one lookup that got no answer (one name's
 * address) does not fail those after it unasked. One still answering
 * is left to answer alone, as ldns does.
 */
static void
resolver_revive(ldns_resolver *res)
{
	size_t i, n = ldns_resolver_nameserver_count(res);

	for (i = 0; i < n; i++)
		if (ldns_resolver_nameserver_rtt(res, i) != LDNS_RESOLV_RTT_INF)
			return;
	for (i = 0; i < n; i++)
		ldns_resolver_set_nameserver_rtt(res, i, LDNS_RESOLV_RTT_MIN);
}

/*
 * Ask dc's resolver for name/type, over UDP, and over TCP again for a
 * truncated answer. Returns 0 and the answer in *pkt (NOERROR or
 * NXDOMAIN; the caller frees it), or with the reason in d: -1 for a
 * failure that senders meet too (another rcode, or a truncated answer
 * that TCP could not complete, from an authoritative --server),
 * LOOKUP_NOT_MADE for one that may be the resolver's own (this host's,
 * or a recursive --server: lookup_blame()), LOOKUP_NO_ANSWER when no
 * answer came at all.
 */
static int
dns_query(const struct domain_check *dc, const ldns_rdf *name,
          ldns_rr_type type, ldns_pkt **pkt, struct diag *d)
{
	ldns_status s;
	ldns_pkt_rcode rc;
	char *qname = ldns_rdf2str(name), *tname = ldns_rr_type2str(type);
	const char *qn = qname ? qname : "?", *tn = tname ? tname : "?";
	int ret;

	*pkt = NULL;
	resolver_revive(dc->res);
	s = ldns_resolver_query_status(pkt, dc->res, name, type,
	                               LDNS_RR_CLASS_IN, LDNS_RD);
	if (s != LDNS_STATUS_OK || *pkt == NULL) {
		ret = no_answer(dc, qn, tn, s, d);
		goto fail;
	}
	if (ldns_pkt_tc(*pkt) &&
	    (ret = truncated_again(dc, name, qn, tn, type, pkt, d)) < 0)
		goto fail;
	rc = ldns_pkt_get_rcode(*pkt);
	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		ret = rcode_failed(dc, name, type, qn, tn, *pkt, d);
		goto fail;
	}
	ret = 0;
	goto out;
fail:
	ldns_pkt_free(*pkt);
	*pkt = NULL;
out:
	free(qname);
	free(tname);
	return ret;
}

/* Append the text of one TXT record (its character-strings joined) to
 * out. Returns 0, or -1 if the RDATA is malformed or too long. */
static int
txt_rr_text(const ldns_rr *rr, struct strlist *out)
{
	unsigned char rdata[TXT_RECORD_MAX + 256];
	size_t len = 0, i, sz;
	struct buf text;
	int rc = -1;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		sz = ldns_rdf_size(ldns_rr_rdf(rr, i));
		if (sz > sizeof(rdata) - len)
			return -1;
		memcpy(rdata + len, ldns_rdf_data(ldns_rr_rdf(rr, i)), sz);
		len += sz;
	}
	buf_init(&text, TXT_RECORD_MAX);
	if (txt_rdata_to_text(rdata, len, &text) == 0) {
		/* a NUL byte would end the text early: shown as '?', as
		 * sync reads it, so that the record is judged whole */
		for (i = 0; i < text.len; i++)
			if (text.data[i] == '\0')
				text.data[i] = '?';
		strlist_add(out, text.data ? text.data : "");
		rc = 0;
	}
	buf_free(&text);
	return rc;
}

/*
 * Walk the answer section from *cur: follow CNAMEs owned by *cur (each
 * target added to chain, *cur replaced), then collect the TXT records of
 * the final name into txts. Returns 1 if a CNAME was followed but no
 * TXT found (the caller asks again for the new name), else 0.
 */
static int
txt_answer(const ldns_pkt *pkt, ldns_rdf **cur, struct strlist *txts,
           struct strlist *chain, size_t *bad)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t i, hops, found = 0;
	int moved = 0;
	char *t;

	for (hops = 0; hops < CHECK_CNAME_HOPS; hops++) {
		for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			/* an empty RDATA parses as a record without fields */
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    ldns_rr_rd_count(rr) == 1 &&
			    ldns_dname_compare(ldns_rr_owner(rr), *cur) == 0)
				break;
		}
		if (i == ldns_rr_list_rr_count(an))
			break;
		ldns_rdf_deep_free(*cur);
		*cur = ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(an, i), 0));
		t = ldns_rdf2str(*cur);
		if (t != NULL && strlen(t) > 1 && t[strlen(t) - 1] == '.')
			t[strlen(t) - 1] = '\0';
		strlist_add(chain, t ? t : "?");
		free(t);
		moved = 1;
	}
	for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT ||
		    ldns_dname_compare(ldns_rr_owner(rr), *cur) != 0)
			continue;
		found++;
		if (txt_rr_text(rr, txts) < 0)
			(*bad)++;
	}
	return moved && found == 0;
}

/*
 * The TXT records at name, CNAME chains followed (through further
 * queries when the server did not include the target's records).
 * Returns 0 (txts may be empty: no record or no such name), or -1 (or
 * LOOKUP_NO_ANSWER, LOOKUP_NOT_MADE: see dns_query()) with the reason
 * in d. *bad counts records whose RDATA was unusable. With last
 * not NULL, *last receives the last answer (the caller frees it), or
 * NULL when there is none.
 */
static int
txt_lookup(const struct domain_check *dc, const char *name,
           struct strlist *txts, struct strlist *chain, size_t *bad,
           struct diag *d, ldns_pkt **last)
{
	char fqdn[DOMAIN_MAX + 32];
	ldns_rdf *cur;
	ldns_pkt *pkt;
	size_t q;
	int again = 1, rc = 0;

	*bad = 0;
	if (last != NULL)
		*last = NULL;
	snprintf(fqdn, sizeof(fqdn), "%s.", name);
	cur = ldns_dname_new_frm_str(fqdn);
	if (cur == NULL) {
		diag_error(d, "%s is not a valid DNS name", name);
		return -1;
	}
	for (q = 0; again && q < CHECK_CNAME_HOPS; q++) {
		rc = dns_query(dc, cur, LDNS_RR_TYPE_TXT, &pkt, d);
		if (rc < 0)
			break;
		again = txt_answer(pkt, &cur, txts, chain, bad);
		if (last != NULL) {
			ldns_pkt_free(*last);
			*last = pkt;
		} else {
			ldns_pkt_free(pkt);
		}
		if (chain->n >= CHECK_CNAME_HOPS) {
			diag_error(d, "%s: CNAME chain longer than %d links",
			           name, CHECK_CNAME_HOPS);
			rc = -1;
			break;
		}
	}
	ldns_rdf_deep_free(cur);
	return rc;
}

/* The host names (MX) or addresses (A, AAAA) of the answer's records of
 * type t, whatever their owner (a CNAME's target holds them), lower case
 * without the trailing dot, added to out. A record without all its
 * fields (an MX cut short) is left out. */
static void
answer_names(const ldns_pkt *pkt, ldns_rr_type t, struct strlist *out)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	size_t i, len;
	char *s, *p;

	for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != t ||
		    ldns_rr_rd_count(rr) != (t == LDNS_RR_TYPE_MX ? 2u : 1u))
			continue;
		s = ldns_rdf2str(ldns_rr_rdf(rr, ldns_rr_rd_count(rr) - 1));
		if (s == NULL)
			continue;
		for (p = s; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		len = strlen(s);
		if (len > 1 && s[len - 1] == '.')
			s[len - 1] = '\0';
		strlist_add(out, s);
		free(s);
	}
}

/* Are the TXT records a and b the same, in any order? */
static int
txts_same(const struct strlist *a, const struct strlist *b)
{
	size_t i, j;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		for (j = 0; j < b->n; j++)
			if (strcmp(b->v[j], a->v[i]) == 0)
				break;
		if (j == b->n)
			return 0;
	}
	return 1;
}

/*
 * Does what was read at name come from a wildcard (RFC 4592), that is,
 * does name not exist? With chain (CNAMEs followed from name), its first
 * CNAME (a hosting operator's *.<zone> CNAME <zone>, say); without, the
 * TXT records txts. A random name just below name is answered alike only
 * then: when name exists, it is the closest encloser of that name, and
 * the answer is NXDOMAIN. One more query, asked only when there is a
 * CNAME or TXT records to compare. Returns 1 or 0 (also when it cannot
 * tell).
 */
static int
from_wildcard(const struct domain_check *dc, const char *name,
              const struct strlist *txts, const struct strlist *chain)
{
	struct strlist probe = {0}, pchain = {0};
	char pname[DNS_NAME_MAX + 16];
	size_t bad;
	struct diag d;
	int same;

	diag_init(&d);
	if ((chain->n == 0 && txts->n == 0) ||
	    dns_probe_name(name, pname, sizeof(pname)) == -1)
		return 0;
	same = txt_lookup(dc, pname, &probe, &pchain, &bad, &d, NULL) == 0;
	if (chain->n > 0)
		same = same && pchain.n > 0 &&
		       strcasecmp(pchain.v[0], chain->v[0]) == 0;
	else
		same = same && pchain.n == 0 && txts_same(txts, &probe);
	strlist_free(&probe);
	strlist_free(&pchain);
	return same;
}

/* Are the TXT records txts at name, reached by chain (CNAMEs
 * followed), a wildcard's? */
static int
wildcard_txt(const struct domain_check *dc, const char *name,
             const struct strlist *txts, const struct strlist *chain)
{
	return chain->n == 0 && from_wildcard(dc, name, txts, chain);
}

/* Is the CNAME at name, the first link of chain, a wildcard's? Asked
 * only when name is a CNAME. */
static int
cname_from_wildcard(const struct domain_check *dc, const char *name,
                    const struct strlist *chain)
{
	const struct strlist none = {0};

	return chain->n > 0 && from_wildcard(dc, name, &none, chain);
}

/* --------------------------------- 1b. a domain a wildcard answers */

/*
 * Warn that the domain gets lost (DNS_WILD_*) only from a wildcard, in
 * sync's words, then what follows for check's reader: TLS-RPT, which
 * check says to publish too, makes the domain exist as well; the policy
 * host may have its address from the wildcard too; and last, so that a
 * message cut at its size loses it first, the blind spot.
 */
static void
report_wildcard_domain(struct report *rep, unsigned lost)
{
	const char *dom = rep->domain;
	char created[2 * DOMAIN_MAX + 32];
	struct buf msg;

	snprintf(created, sizeof(created), "_mta-sts.%s or _smtp._tls.%s", dom,
	         dom);
	/* room for more than a message holds: check_add() cuts the whole */
	buf_init(&msg, 4 * CHECK_MSG_MAX);
	dns_wild_sentence(&msg, dom, lost, "a wildcard", created);
	buf_printf(&msg,
	           " before publishing MTA-STS or TLS-RPT, and mta-sts.%s its "
	           "own address if it has the wildcard's, which then stops "
	           "answering it too (if it has them after all, and a wildcard "
	           "below it and one beside it give the same, nothing would "
	           "go: the answers look alike)",
	           dom);
	check_add(rep, CHECK_WARN, "wildcard-domain",
	          "RFC 4592 \xc2\xa7"
	          "2.2.2",
	          "%s", msg.data);
	buf_free(&msg);
}

/*
 * A domain whose _mta-sts name holds no record of its own, and that
 * exists only through a wildcard: publishing _mta-sts.<domain> (or
 * _smtp._tls.<domain>) would make the domain an empty name (RFC 4592
 * section 2.2.2) that the wildcard no longer answers, and take away what
 * it gives it (sync refuses to, by the same test: dns_domain_wildcard(),
 * whose questions go together). Not asked when the answer at
 * _mta-sts.<domain> told already: NXDOMAIN (no wildcard covers the
 * domain), or the zone's apex (which always exists). A warning: nothing
 * is wrong yet, and a domain whose own records *.<domain> and *.<parent>
 * both give too looks the same.
 */
static void
check_wildcard_domain(struct domain_check *dc)
{
	unsigned lost = 0;
	struct diag d;
	int rc;

	if (dc->sts_nxdomain || dc->apex == 1)
		return;
	diag_init(&d);
	if (!dc->ctx->have_batch) {
		diag_error(&d, "%s", dc->ctx->batch_why);
		rc = -1;
	} else {
		rc = dns_domain_wildcard(&dc->ctx->batch, dc->rep->domain,
		                         dc->apex == -1, &lost, &d);
		/* the one TCP exchange of a domain: its connection is not
		 * kept */
		dns_close_connections();
	}
	/* not silence: the reader would take it for a test passed */
	if (rc == -1)
		check_add(dc->rep, CHECK_WARN, "wildcard-domain",
		          "RFC 4592 \xc2\xa7"
		          "2.2.2",
		          "wildcard test not made: %s", d.error);
	else if (lost != 0)
		report_wildcard_domain(dc->rep, lost);
}

/* ------------------------------------------------- 1. the STS record */

/* Report the CNAME chain of name, if any: a delegation (RFC 8461
 * section 8.2), or with wild a wildcard's CNAME, which senders follow
 * all the same. */
static void
report_chain(struct report *rep, const char *name, const char *what,
             const struct strlist *chain, int wild)
{
	struct buf b;
	size_t i;

	if (chain->n == 0)
		return;
	buf_init(&b, CHECK_MSG_MAX);
	for (i = 0; i < chain->n; i++)
		buf_printf(&b, " -> %s", chain->v[i]);
	if (wild)
		check_add(rep, CHECK_INFO, what, RFC_8461 "8.2",
		          "%s is a CNAME%s that a wildcard gives (the name "
		          "does not exist), not a delegation of its own; "
		          "senders follow it all the same",
		          name, b.data ? b.data : "");
	else
		check_add(rep, CHECK_INFO, what, RFC_8461 "8.2",
		          "%s is delegated by CNAME%s", name,
		          b.data ? b.data : "");
	buf_free(&b);
}

/* The verdict on the records of kind k at name when none there is to be
 * parsed: none (wild: the name reached through a wildcard's CNAME), or
 * several as their readers count them (s). Returns 1 if name holds no
 * record of its own (none at all, or only a wildcard's), else 0. */
static int
none_or_several(struct domain_check *dc, const struct strlist *txts,
                const struct strlist *chain, const struct selection *s,
                const char *name, int wild, const struct record_kind *k)
{
	char others[128] = "";
	const char *why;
	struct buf list;

	if (s->strict > 1) {
		records_of(txts, k->version, &list);
		check_add(dc->rep, CHECK_FAIL, k->check, k->rfc,
		          "%zu %s TXT records at %s: %s: %s: keep one",
		          s->strict, k->version, name, k->several, list.data);
		buf_free(&list);
		return 0;
	}
	if (s->near > 1) {
		check_add(dc->rep, CHECK_FAIL, k->check, k->rfc,
		          "no TXT record at %s begins with %s;, and %s that "
		          "count the %zu near misses see as many records and "
		          "take none: %s",
		          name, k->version, k->who, s->near, k->unused);
		return 0;
	}
	why = wild ? "reached through a wildcard's CNAME: the name does "
	             "not exist"
	      : wildcard_txt(dc, name, txts, chain)
	          ? "a wildcard's: the name does not exist"
	          : NULL;
	if (txts->n > 0)
		snprintf(others, sizeof(others), " (%zu other TXT ignored%s%s)",
		         txts->n, why ? ", " : "", why ? why : "");
	else if (why != NULL)
		snprintf(others, sizeof(others), " (%s)", why);
	check_add(dc->rep, k->none_status, k->check, k->rfc,
	          "no %s TXT record at %s%s: %s", k->version, name, others,
	          k->none_advice);
	return (txts->n == 0 && chain->n == 0) || why != NULL;
}

/* Parse txt, the record senders take at _mta-sts, and report it: a
 * failure, or its id kept for the checks that follow, with a PASS when
 * every sender takes it (strict: it begins with "v=STSv1;"). */
static void
sts_parse_pick(struct domain_check *dc, const char *txt, int strict)
{
	struct sts_record r;
	struct diag d;

	diag_init(&d);
	if (sts_record_parse(txt, strlen(txt), &r, &d) < 0) {
		check_add(dc->rep, CHECK_FAIL, "sts-record", RFC_8461 "3.1",
		          "\"%s\": %s", txt, d.error);
		return;
	}
	str_copy(dc->sts_id, sizeof(dc->sts_id), r.id);
	if (strict)
		check_add(dc->rep, CHECK_PASS, "sts-record", RFC_8461 "3.1",
		          "%s", txt);
	report_parse_warnings(dc->rep, txt, &d, &sts_kind);
}

/* Keep what the last answer at name (_mta-sts.<domain>, reached by
 * chain), if any, tells of the domain (struct domain_check). */
static void
sts_answer_facts(struct domain_check *dc, const ldns_pkt *last,
                 const char *name, const struct strlist *chain)
{
	dc->sts_nxdomain = 0;
	dc->apex = -1;
	if (last == NULL || chain->n > 0)
		return;
	dc->sts_nxdomain = ldns_pkt_get_rcode(last) == LDNS_RCODE_NXDOMAIN;
	dc->apex = dns_answer_apex(last, name, dc->rep->domain);
}

/* Check _mta-sts.<domain>: exactly one valid v=STSv1 TXT record. */
static void
check_sts_record(struct domain_check *dc)
{
	struct report *rep = dc->rep;
	struct strlist txts = {0}, chain = {0};
	struct selection sel;
	char name[DOMAIN_MAX + 16];
	size_t bad;
	struct diag d;
	ldns_pkt *last;
	int rc, wild;

	diag_init(&d);
	snprintf(name, sizeof(name), "_mta-sts.%s", rep->domain);
	rc = txt_lookup(dc, name, &txts, &chain, &bad, &d, &last);
	sts_answer_facts(dc, last, name, &chain);
	ldns_pkt_free(last);
	if (rc < 0) {
		check_lookup_failed(rep, rc, "sts-record", RFC_8461 "3.1", "",
		                    d.error);
		dc->dns_down = rc == LOOKUP_NO_ANSWER;
		goto out;
	}
	wild = cname_from_wildcard(dc, name, &chain);
	report_chain(rep, name, "sts-delegation", &chain, wild);
	check_lookalikes(rep, &txts, name, &sts_kind);
	if (bad > 0)
		check_add(rep, CHECK_WARN, "sts-record", RFC_8461 "3.1",
		          "%zu malformed TXT record(s) at %s ignored", bad,
		          name);
	if (select_records(&txts, &sts_kind, &sel))
		sts_parse_pick(dc, txts.v[sel.pick], sel.strict == 1);
	else if (none_or_several(dc, &txts, &chain, &sel, name, wild,
	                         &sts_kind))
		check_wildcard_domain(dc);
	report_near_misses(rep, &txts, &sel, name, &sts_kind);
out:
	strlist_free(&txts);
	strlist_free(&chain);
}

/* ------------------------------------------------ 2. the policy fetch */

/* Append addr (A or AAAA answer text) to the curl resolve entry. */
static void
resolve_add(struct buf *entry, const char *addr, int v6)
{
	if (entry->len > 0 && entry->data[entry->len - 1] != ':')
		buf_puts(entry, ",");
	buf_printf(entry, v6 ? "[%s]" : "%s", addr);
}

/*
 * The addresses of host (its A records, then its AAAA records) through
 * the worker's resolver, added to addrs; *n4 gets the number of A
 * records. Returns 0 (addrs may stay empty), or what dns_query() returns
 * for a lookup that failed, with the reason in d.
 */
static int
host_addresses(struct domain_check *dc, const char *host, struct strlist *addrs,
               size_t *n4, struct diag *d)
{
	static const ldns_rr_type types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
	char fqdn[DOMAIN_MAX + 32];
	ldns_rdf *name;
	ldns_pkt *pkt;
	int rc = 0;

	snprintf(fqdn, sizeof(fqdn), "%s.", host);
	name = ldns_dname_new_frm_str(fqdn);
	if (name == NULL) {
		diag_error(d, "%s is not a valid DNS name", host);
		return -1;
	}
	for (size_t t = 0; t < 2 && rc == 0; t++) {
		rc = dns_query(dc, name, types[t], &pkt, d);
		if (rc == 0)
			answer_names(pkt, types[t], addrs);
		ldns_pkt_free(pkt);
		if (t == 0)
			*n4 = addrs->n;
	}
	ldns_rdf_deep_free(name);
	return rc;
}

/*
 * With --server, resolve host (A and AAAA) through that server, as a
 * sender would through its resolver, into one "HOST:443:ADDR[,ADDR]"
 * entry for the fetcher. Returns 0, or -1 (or what dns_query() returns
 * for a lookup not made) with the reason in d.
 */
static int
policy_host_resolve(struct domain_check *dc, const char *host,
                    struct strlist *resolve, struct diag *d)
{
	struct strlist addrs = {0};
	struct buf entry;
	size_t i, n4 = 0;
	int rc;

	if ((rc = host_addresses(dc, host, &addrs, &n4, d)) < 0)
		goto out;
	rc = -1;
	if (addrs.n == 0) {
		diag_error(d, "%s has no A or AAAA record", host);
		goto out;
	}
	buf_init(&entry, 4096);
	buf_printf(&entry, "%s:443:", host);
	for (i = 0; i < addrs.n; i++)
		resolve_add(&entry, addrs.v[i], i >= n4);
	strlist_add(resolve, entry.data);
	buf_free(&entry);
	rc = 0;
out:
	strlist_free(&addrs);
	return rc;
}

/* Is the Content-Type value text/plain (parameters allowed)? */
static int
is_text_plain(const char *ct)
{
	size_t n = strlen("text/plain");

	if (ct == NULL || ascii_ncasecmp(ct, "text/plain", n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t';
}

/* Report the server certificate's expiry (the TLS handshake passed). */
static void
report_certificate(struct domain_check *dc, const char *host)
{
	const struct fetch_result *fr = &dc->fr;
	char date[32] = "?";
	struct tm tm;
	long days;

	if (fr->cert_expiry == 0) {
		check_add(dc->rep, CHECK_PASS, "policy-tls", RFC_8461 "3.3",
		          "certificate for %s verified (expiry unknown)", host);
		return;
	}
	days = (long)((fr->cert_expiry - time(NULL)) / 86400);
	if (gmtime_r(&fr->cert_expiry, &tm) != NULL)
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	check_add(dc->rep, days < CHECK_EXPIRY_WARN ? CHECK_WARN : CHECK_PASS,
	          "policy-tls", RFC_8461 "3.3",
	          "certificate for %s verified, expires %s (%ld days%s)", host,
	          date, days, days < CHECK_EXPIRY_WARN ? ": renew it now" : "");
}

/*
 * Was the fetch refused for its Content-Type? A status 200 whose
 * Content-Type is another, or is missing from a head that ended (the
 * fetcher's error then begins with "Content-Type"). A head cut short
 * (a stall after the status line) has none either: the transfer's error
 * says why, not the missing type.
 */
static int
fetch_refused_type(const struct fetch_result *fr)
{
	if (fr->status != 200)
		return 0;
	if (fr->content_type != NULL)
		return !is_text_plain(fr->content_type);
	return strncmp(fr->error, "Content-Type", 12) == 0;
}

/* Report why a fetch did not give a usable policy (a head cut short is
 * said so by the fetch's own reason; a connection closed with no
 * response, what may have closed it). */
static void
report_fetch_failure(struct domain_check *dc, const char *url)
{
	const struct fetch_result *fr = &dc->fr;
	struct report *rep = dc->rep;

	if (fr->status >= 300 && fr->status < 400)
		check_add(rep, CHECK_FAIL, "policy-redirect", RFC_8461 "3.3",
		          "HTTP %ld redirect to %s: senders do not follow "
		          "redirects",
		          fr->status, fr->location ? fr->location : "(none)");
	else if (fr->status != 0 && fr->status != 200)
		check_add(rep, CHECK_FAIL, "policy-status", RFC_8461 "3.3",
		          "%s answered HTTP %ld, not 200", url, fr->status);
	else if (fetch_refused_type(fr))
		check_add(
		    rep, CHECK_FAIL, "policy-type", RFC_8461 "3.2",
		    "Content-Type is %s, not text/plain: serve the policy "
		    "as text/plain",
		    fr->content_type ? fr->content_type : "missing");
	else
		check_add(
		    rep, CHECK_FAIL, "policy-fetch", RFC_8461 "3.3", "%s: %s%s",
		    url, fr->error[0] ? fr->error : "fetch failed",
		    fr->fail == FETCH_FAIL_NO_RESPONSE
		        ? ": the web server's configuration may close it "
		          "on purpose for this host (nginx `return 444`, a "
		          "deny, firewall or WAF rule, a default server for "
		          "unknown hosts), or the web server was restarting"
		        : "");
}

/*
 * With -c, a domain of the configuration is fetched trusting its
 * ca-file and with its resolve entries, as sync fetches it, unless
 * --ca-file or --server say otherwise; said as an INFO line, since
 * senders have neither. c holds the domain's settings, which fo points
 * to, for as long as fo is used.
 */
static void
fetch_settings(struct domain_check *dc, struct fetch_opts *fo,
               struct domain_conf *c)
{
	const struct check_ctx *ctx = dc->ctx;
	size_t k;
	int ca, res;

	fo->ca_file = ctx->o->ca_file;
	if (ctx->conf == NULL ||
	    conf_find_domain(ctx->conf, dc->rep->domain, &k) == -1)
		return;
	conf_domain(ctx->conf, k, c);
	ca = fo->ca_file == NULL && c->ca_file != NULL;
	res = ctx->o->server == NULL && c->resolve.n > 0;
	if (ca)
		fo->ca_file = c->ca_file;
	if (res)
		fo->resolve = &c->resolve;
	if (ca || res)
		check_add(dc->rep, CHECK_INFO, "config", NULL,
		          "the policy host is reached with %s%s%s of %s, as "
		          "sync reaches it (senders have neither)",
		          ca ? "the ca-file" : "", ca && res ? " and " : "",
		          res ? "the resolve entries" : "", ctx->conf->path);
}

/* Fetch the policy with the sender rules and report the transfer. */
static void
check_policy_fetch(struct domain_check *dc)
{
	struct report *rep = dc->rep;
	struct strlist resolve = {0};
	struct fetch_opts fo;
	struct domain_conf conf;
	char host[DOMAIN_MAX + 16], url[DOMAIN_MAX + 64];
	struct diag d;

	diag_init(&d);
	snprintf(host, sizeof(host), "mta-sts.%s", rep->domain);
	snprintf(url, sizeof(url), "https://%s/.well-known/mta-sts.txt", host);
	memset(&fo, 0, sizeof(fo));
	fetch_settings(dc, &fo, &conf);
	fo.timeout = CHECK_TIMEOUT;
	if (dc->ctx->o->server != NULL) {
		int rc = policy_host_resolve(dc, host, &resolve, &d);

		if (rc < 0) {
			check_lookup_failed(rep, rc, "policy-host",
			                    RFC_8461 "3.3", "", d.error);
			return;
		}
		fo.resolve = &resolve;
	}
	fetch_url(url, &fo, &dc->fr);
	strlist_free(&resolve);
	if (dc->fr.status != 0)
		report_certificate(dc, host);
	if (!dc->fr.ok) {
		report_fetch_failure(dc, url);
		return;
	}
	dc->fetched = 1;
	check_add(rep, CHECK_PASS, "policy-fetch", RFC_8461 "3.3",
	          "%s: HTTP 200, %s, %zu bytes, %.0f ms, no redirect", url,
	          dc->fr.content_type ? dc->fr.content_type : "text/plain",
	          dc->fr.len, dc->fr.seconds * 1000);
}

/* ----------------------------------------------- 3. the policy itself */

/* Advice on legal but risky values. */
static void
policy_advice(struct domain_check *dc)
{
	const struct policy *p = dc->policy;
	struct report *rep = dc->rep;

	if (p->mode == POLICY_MODE_TESTING)
		check_add(rep, CHECK_WARN, "policy-mode", RFC_8461 "5",
		          "mode testing: senders that cannot validate an MX "
		          "host (TLS, certificate, mx match) report it but "
		          "still deliver to it; switch to enforce when the "
		          "TLS-RPT reports are clean");
	else if (p->mode == POLICY_MODE_NONE)
		check_add(rep, CHECK_WARN, "policy-mode", RFC_8461 "8.3",
		          "mode none: the policy is withdrawn");
	if (p->mode == POLICY_MODE_ENFORCE && p->max_age < CHECK_MIN_MAX_AGE)
		check_add(rep, CHECK_WARN, "policy-max-age", RFC_8461 "3.2",
		          "max_age %lu is under one day: senders refetch often "
		          "and an attacker at refresh time can strip the "
		          "policy; weeks or more are expected",
		          p->max_age);
	if (p->lf_only)
		check_add(
		    rep, CHECK_WARN, "policy-line-ends", RFC_8461 "3.2",
		    "LF-only line ends: legal, and senders that follow "
		    "RFC 8461 read them, but a sender whose parser wants "
		    "CRLF would not: CRLF is the safer form (mta-sts-sync "
		    "writes LF only to give a policy a second id)");
}

/* Parse the served policy strictly and report it. */
static void
check_policy_syntax(struct domain_check *dc)
{
	struct report *rep = dc->rep;
	struct diag d;
	size_t i;

	if (!dc->fetched)
		return;
	diag_init(&d);
	dc->policy = policy_parse(dc->fr.body, dc->fr.len, &d);
	for (i = 0; i < d.nwarn; i++)
		check_add(rep, CHECK_WARN, "policy-syntax", RFC_8461 "3.2",
		          "%s", d.warn[i]);
	if (dc->policy == NULL) {
		check_add(rep, CHECK_FAIL, "policy-syntax", RFC_8461 "3.2",
		          "invalid policy: %s", d.error);
		return;
	}
	check_add(rep, CHECK_PASS, "policy-syntax", RFC_8461 "3.2",
	          "mode=%s mx=%zu max_age=%lu",
	          policy_mode_name(dc->policy->mode), dc->policy->nmx,
	          dc->policy->max_age);
	policy_advice(dc);
}

/* ------------------------------------------------- 4. MX coverage */

/* Report the MX hosts that no pattern matches, then unused patterns. */
static void
report_coverage(struct domain_check *dc, const struct strlist *mx)
{
	const struct policy *p = dc->policy;
	struct report *rep = dc->rep;
	struct buf miss;
	size_t i, j;

	buf_init(&miss, CHECK_MSG_MAX);
	for (i = 0; i < mx->n; i++)
		if (!policy_covers(p, mx->v[i]))
			buf_printf(&miss, "%s%s", miss.len ? ", " : "",
			           mx->v[i]);
	if (miss.len > 0)
		check_add(rep,
		          p->mode == POLICY_MODE_ENFORCE ? CHECK_FAIL
		                                         : CHECK_WARN,
		          "mx-coverage", RFC_8461 "4.1",
		          "MX not matched by any mx pattern ('*' matches one "
		          "label only): %s",
		          miss.data);
	else
		check_add(rep, CHECK_PASS, "mx-coverage", RFC_8461 "4.1",
		          mx->n == 1 ? "the %zu MX host matches the policy"
		                     : "all %zu MX hosts match the policy",
		          mx->n);
	buf_free(&miss);
	for (j = 0; j < p->nmx; j++) {
		for (i = 0; i < mx->n; i++)
			if (policy_mx_match(p->mx[j], mx->v[i]))
				break;
		if (i == mx->n)
			check_add(rep, CHECK_WARN, "mx-unused", RFC_8461 "4.1",
			          "mx pattern %s matches no MX host", p->mx[j]);
	}
}

/*
 * A domain without MX records: mail goes to its own address (implicit
 * MX, RFC 5321 section 5.1), which the policy must then cover, as a
 * missing MX host must be (a failure in mode enforce). Covered, it
 * passes if the domain has an address; without one, no mail reaches it.
 * Its address not looked up (lookup_not_made()), a failure: a warning
 * would let a domain whose delivery was never checked pass.
 */
static void
report_no_mx(struct domain_check *dc)
{
	const struct policy *p = dc->policy;
	const char *dom = dc->rep->domain;
	struct strlist addrs = {0};
	size_t n4 = 0;
	struct diag d;
	int rc = 0;

	diag_init(&d);
	if (policy_covers(p, dom))
		rc = host_addresses(dc, dom, &addrs, &n4, &d);
	if (lookup_not_made(rc))
		check_lookup_failed(dc->rep, rc, "mx-coverage", RFC_8461 "4.1",
		                    "no MX records: senders deliver to the "
		                    "domain itself (implicit MX), which the "
		                    "policy covers, but its address was not "
		                    "looked up: ",
		                    d.error);
	else if (!policy_covers(p, dom))
		check_add(dc->rep,
		          p->mode == POLICY_MODE_ENFORCE ? CHECK_FAIL
		                                         : CHECK_WARN,
		          "mx-coverage", RFC_8461 "4.1",
		          "no MX records: senders deliver to %s itself "
		          "(implicit MX), which no mx pattern matches: add "
		          "\"mx: %s\" to the policy, or publish MX records",
		          dom, dom);
	else if (rc < 0)
		check_add(dc->rep, CHECK_WARN, "mx-coverage", RFC_8461 "4.1",
		          "no MX records: senders deliver to %s itself "
		          "(implicit MX), which the policy covers, but its "
		          "address is unknown: %s",
		          dom, d.error);
	else if (addrs.n > 0)
		check_add(
		    dc->rep, CHECK_PASS, "mx-coverage", RFC_8461 "4.1",
		    "no MX records: senders deliver to %s itself, at its "
		    "address (implicit MX, RFC 5321 section 5.1), and the "
		    "policy covers it",
		    dom);
	else
		check_add(dc->rep, CHECK_WARN, "mx-coverage",
		          "RFC 5321 \xc2\xa7"
		          "5.1",
		          "no MX records and no A or AAAA record: mail to %s "
		          "cannot be delivered; publish MX records, or, if it "
		          "takes no mail, a null MX (\"%s. MX 0 .\", RFC 7505) "
		          "and no MTA-STS policy",
		          dom, dom);
	strlist_free(&addrs);
}

/* Check that every MX host of the domain matches the policy. */
static void
check_mx(struct domain_check *dc)
{
	struct strlist mx = {0};
	char name[DOMAIN_MAX + 2];
	ldns_rdf *dn;
	ldns_pkt *pkt;
	struct diag d;
	int rc = -1;

	if (dc->policy == NULL || dc->policy->mode == POLICY_MODE_NONE)
		return;
	diag_init(&d);
	snprintf(name, sizeof(name), "%s.", dc->rep->domain);
	dn = ldns_dname_new_frm_str(name);
	if (dn == NULL ||
	    (rc = dns_query(dc, dn, LDNS_RR_TYPE_MX, &pkt, &d)) < 0) {
		check_lookup_failed(
		    dc->rep, rc, "mx-coverage", RFC_8461 "4.1",
		    "MX lookup failed: ", d.error[0] ? d.error : "bad name");
		ldns_rdf_deep_free(dn);
		return;
	}
	answer_names(pkt, LDNS_RR_TYPE_MX, &mx);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(dn);
	if (mx.n == 1 && strcmp(mx.v[0], ".") == 0)
		check_add(dc->rep, CHECK_WARN, "mx-coverage", "RFC 7505",
		          "null MX: the domain accepts no mail, a policy is "
		          "pointless");
	else if (mx.n == 0)
		report_no_mx(dc);
	else
		report_coverage(dc, &mx);
	strlist_free(&mx);
}

/* --------------------------------------------------- 5. TLS-RPT */

/* Check every rua URI of a parsed record; returns the failures. */
static size_t
tlsrpt_check_uris(struct report *rep, const struct tlsrpt_record *r)
{
	struct diag d;
	size_t i, bad = 0;

	for (i = 0; i < r->rua.n; i++) {
		diag_init(&d);
		if (tlsrpt_uri_check(r->rua.v[i], &d) < 0) {
			check_add(rep, CHECK_FAIL, "tlsrpt", RFC_8460 "3",
			          "rua %s: %s", r->rua.v[i], d.error);
			bad++;
		}
	}
	return bad;
}

/* Parse txt, the record reporters take at _smtp._tls, and report it,
 * with a PASS when every reporter takes it (strict: it begins with
 * "v=TLSRPTv1;") and its URIs are good. */
static void
tlsrpt_parse_pick(struct report *rep, const char *txt, int strict)
{
	struct tlsrpt_record r;
	struct diag d;

	diag_init(&d);
	if (tlsrpt_record_parse(txt, strlen(txt), &r, &d) < 0) {
		check_add(rep, CHECK_FAIL, "tlsrpt", RFC_8460 "3", "\"%s\": %s",
		          txt, d.error);
		return;
	}
	if (tlsrpt_check_uris(rep, &r) == 0 && strict)
		check_add(rep, CHECK_PASS, "tlsrpt", RFC_8460 "3", "%s", txt);
	report_parse_warnings(rep, txt, &d, &tlsrpt_kind);
	tlsrpt_record_free(&r);
}

/* Check _smtp._tls.<domain>: exactly one valid v=TLSRPTv1 record. */
static void
check_tlsrpt(struct domain_check *dc)
{
	struct report *rep = dc->rep;
	struct strlist txts = {0}, chain = {0};
	struct selection sel;
	char name[DOMAIN_MAX + 16];
	size_t bad;
	struct diag d;
	int wild, rc;

	diag_init(&d);
	snprintf(name, sizeof(name), "_smtp._tls.%s", rep->domain);
	rc = txt_lookup(dc, name, &txts, &chain, &bad, &d, NULL);
	if (rc < 0) {
		check_lookup_failed(rep, rc, "tlsrpt", RFC_8460 "3", "",
		                    d.error);
		goto out;
	}
	wild = cname_from_wildcard(dc, name, &chain);
	report_chain(rep, name, "tlsrpt-delegation", &chain, wild);
	check_lookalikes(rep, &txts, name, &tlsrpt_kind);
	if (select_records(&txts, &tlsrpt_kind, &sel))
		tlsrpt_parse_pick(rep, txts.v[sel.pick], sel.strict == 1);
	else
		none_or_several(dc, &txts, &chain, &sel, name, wild,
		                &tlsrpt_kind);
	report_near_misses(rep, &txts, &sel, name, &tlsrpt_kind);
out:
	strlist_free(&txts);
	strlist_free(&chain);
}

/* ------------------------------------------------ 6. consistency */

/* Could id be derived by this tool (32 lower-case hex digits)? Only
 * could: an MD5 digest in hex, say, looks the same. */
static int
id_is_derived(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == POLICY_ID_MAX;
}

/*
 * The two ids mta-sts-sync derives for the policy served (policy.h):
 * that of its canonical form into ids[0], that of its second form (LF
 * line ends, for a policy that needs a new id) into ids[1]. A web host
 * may serve either in other bytes (its own line ends). Returns 1, or 0
 * if there are none.
 */
static int
derived_ids(const struct domain_check *dc, char ids[2][POLICY_ID_MAX + 1])
{
	struct buf canon, alt;
	int ok;

	if (dc->policy == NULL)
		return 0;
	buf_init(&canon, 2 * POLICY_MAX_SIZE);
	buf_init(&alt, 2 * POLICY_MAX_SIZE);
	ok = policy_canonical(dc->policy, &canon) == 0 &&
	     policy_alternate(canon.data, canon.len, &alt) == 0;
	if (ok) {
		policy_id(canon.data, canon.len, ids[0]);
		policy_id(alt.data, alt.len, ids[1]);
	}
	buf_free(&canon);
	buf_free(&alt);
	return ok;
}

/*
 * An id that could be derived but is not the one derived from the
 * policy served (id): for a domain of the -c configuration, sync made it, and
 * the record and the file disagree (a warning); for another, the id may be made
 * otherwise, so this is said as a possibility only.
 */
static void
report_id_other(struct domain_check *dc, const char *id)
{
	const struct conf *conf = dc->ctx->conf;
	size_t k;

	if (conf != NULL && conf_find_domain(conf, dc->rep->domain, &k) == 0)
		check_add(
		    dc->rep, CHECK_WARN, "policy-id", RFC_8461 "8.1",
		    "id %s is not the one sync derives from the served "
		    "policy (%s), and %s is a domain of %s: the TXT record "
		    "was changed before the file was served, or the file "
		    "since; run mta-sts-sync sync",
		    dc->sts_id, id, dc->rep->domain, conf->path);
	else
		check_add(
		    dc->rep, CHECK_INFO, "policy-id", RFC_8461 "3.1",
		    "if mta-sts-sync made id %s, it made it from another "
		    "policy than the one served (which gives %s): the TXT "
		    "record was changed before the file, or the file "
		    "since; run mta-sts-sync sync. An id made otherwise "
		    "need only change with every policy change",
		    dc->sts_id, id);
}

/* Compare an id that could be derived with the id of the served bytes,
 * as served and in the two forms sync derives ids from. */
static void
check_id(struct domain_check *dc)
{
	char id[POLICY_ID_MAX + 1], ids[2][POLICY_ID_MAX + 1];
	int forms;

	if (dc->sts_id[0] == '\0' || !dc->fetched)
		return;
	if (!id_is_derived(dc->sts_id)) {
		check_add(dc->rep, CHECK_INFO, "policy-id", RFC_8461 "3.1",
		          "id %s is not one that mta-sts-sync derives: make "
		          "sure it changes with every policy change",
		          dc->sts_id);
		return;
	}
	policy_id(dc->fr.body, dc->fr.len, id);
	forms = derived_ids(dc, ids);
	if (strcmp(id, dc->sts_id) == 0)
		check_add(dc->rep, CHECK_PASS, "policy-id", RFC_8461 "3.1",
		          "id matches the SHA-256 of the served policy");
	else if (forms && strcmp(ids[0], dc->sts_id) == 0)
		check_add(dc->rep, CHECK_PASS, "policy-id", RFC_8461 "3.1",
		          "id matches the SHA-256 of the served policy in its "
		          "canonical form (served in other bytes: line ends "
		          "or field order changed on the way)");
	else if (forms && strcmp(ids[1], dc->sts_id) == 0)
		check_add(
		    dc->rep, CHECK_PASS, "policy-id", RFC_8461 "3.1",
		    "id matches the SHA-256 of the served policy in its "
		    "second form, with LF line ends, which sync writes "
		    "for a policy that needs a new id (served in other "
		    "bytes: line ends or field order changed on the way)");
	else
		report_id_other(dc, forms ? ids[0] : id);
}

/* ---------------------------------------------------- one domain */

/* Run every check of one domain into its report. */
static void
check_domain(const struct check_ctx *ctx, struct report *rep)
{
	struct domain_check dc;
	struct diag d;

	memset(&dc, 0, sizeof(dc));
	dc.ctx = ctx;
	dc.rep = rep;
	diag_init(&d);
	dc.res = resolver_open(ctx, &d);
	if (dc.res == NULL) {
		check_add(rep, CHECK_FAIL, "dns", RFC_8461 "3.1", "%s",
		          d.error);
		return;
	}
	resolver_name(&dc);
	check_sts_record(&dc);
	if (dc.dns_down) {
		check_add(rep, CHECK_INFO, "dns", RFC_8461 "3.1",
		          "%s does not answer: other checks skipped", dc.rname);
		goto out;
	}
	check_policy_fetch(&dc);
	check_policy_syntax(&dc);
	check_mx(&dc);
	check_tlsrpt(&dc);
	check_id(&dc);
out:
	policy_free(dc.policy);
	fetch_result_free(&dc.fr);
	ldns_resolver_deep_free(dc.res);
}

/* ------------------------------------------------------- workers */

struct check_all_ctx {
	const struct check_ctx *ctx;
	struct report *reps;
};

/* pool_run job: check domain i. */
static void
check_one(void *arg, size_t i)
{
	struct check_all_ctx *all = arg;

	check_domain(all->ctx, &all->reps[i]);
}

/* Check n domains with at most CHECK_MAX_PARALLEL threads. */
static void
check_all(const struct check_ctx *ctx, struct report *reps, size_t n)
{
	struct check_all_ctx all = {ctx, reps};

	pool_run(n, CHECK_MAX_PARALLEL, check_one, &all);
}

/* ------------------------------------------------------- output */

/* Print one domain's results and verdict as text; with -q, only its
 * failures and the verdict of a domain that failed. The verdict counts
 * the failures whose check was not made (check_lookup_failed()) too. */
static void
print_text(const struct report *rep)
{
	const struct check_item *it;
	int quiet = log_get_level() == LOG_LEVEL_QUIET;
	char notmade[48] = "";
	size_t i;

	if (quiet && rep->nfail == 0)
		return;
	for (i = 0; i < rep->n; i++) {
		it = &rep->items[i];
		if (quiet && it->status != CHECK_FAIL)
			continue;
		log_stdout_printf("%s: %-4s  %-16s %s%s%s%s\n", rep->domain,
		                  status_names[it->status], it->name, it->msg,
		                  it->rfc ? " (" : "", it->rfc ? it->rfc : "",
		                  it->rfc ? ")" : "");
	}
	if (rep->left_out)
		log_stdout_printf("%s: (further results left out)\n",
		                  rep->domain);
	if (rep->nnot > 0)
		snprintf(notmade, sizeof(notmade), ", %u of them not checked",
		         rep->nnot);
	log_stdout_printf("%s: %s (%u failure%s%s, %u warning%s)\n",
	                  rep->domain, rep->nfail ? "FAIL" : "PASS", rep->nfail,
	                  rep->nfail == 1 ? "" : "s", notmade, rep->nwarn,
	                  rep->nwarn == 1 ? "" : "s");
	log_stdout_flush();
}

/* Append one domain's object to the JSON document: its counts (of the
 * failures, not_checked whose check was not made, each item so marked),
 * and results_left_out when results past CHECK_MAX_ITEMS were (the
 * counts still hold them). */
static void
json_report(struct buf *out, const struct report *rep)
{
	const struct check_item *it;
	size_t i;

	buf_puts(out, "{");
	json_member(out, "domain", rep->domain);
	buf_puts(out, ",");
	json_member(out, "verdict", rep->nfail ? "fail" : "pass");
	buf_printf(out,
	           ",\"failures\":%u,\"not_checked\":%u,\"warnings\":%u,"
	           "\"results_left_out\":%s,\"checks\":[",
	           rep->nfail, rep->nnot, rep->nwarn,
	           rep->left_out ? "true" : "false");
	for (i = 0; i < rep->n; i++) {
		it = &rep->items[i];
		buf_puts(out, i ? ",{" : "{");
		json_member(out, "name", it->name);
		buf_puts(out, ",");
		json_member(out, "status", status_json[it->status]);
		buf_puts(out, ",");
		json_member(out, "message", it->msg);
		buf_puts(out, ",");
		json_member(out, "rfc", it->rfc);
		buf_puts(out, it->not_checked ? ",\"not_checked\":true}" : "}");
	}
	buf_puts(out, "]}");
}

/* Print every report as one JSON document. Returns 0, or -1. */
static int
print_json(const struct report *reps, size_t n, int failed)
{
	struct buf out;
	size_t i;
	int rc = 0;

	buf_init(&out, CHECK_JSON_MAX);
	buf_puts(&out, "{");
	json_member(&out, "verdict", failed ? "fail" : "pass");
	buf_puts(&out, ",\"domains\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(&out, ",");
		json_report(&out, &reps[i]);
	}
	if (buf_puts(&out, "],\"error\":null}\n") < 0) {
		log_error(NULL, "check: JSON output too large");
		rc = -1;
	} else {
		log_stdout_puts(out.data);
		log_stdout_flush();
	}
	buf_free(&out);
	return rc;
}

/* ------------------------------------------------------- set-up */

/*
 * Copy a domain operand into out (size DOMAIN_MAX + 1): lower case, one
 * trailing dot removed; letters, digits, '-', '_' and non-empty labels
 * of at most 63 bytes only. Returns 0, or -1.
 */
static int
domain_normalize(const char *arg, char *out)
{
	size_t len = strlen(arg), i, label = 0;
	char c;

	if (len > 0 && arg[len - 1] == '.')
		len--;
	if (len == 0 || len > DOMAIN_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		c = arg[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = c;
	}
	out[len] = '\0';
	return label == 0 ? -1 : 0;
}

/* One empty report per domain operand, or NULL (the reason in d) when
 * an operand is not a domain name. */
static struct report *
reports_new(const struct cmd_opts *o, struct diag *d)
{
	struct report *reps = xcalloc((size_t)o->nargs, sizeof(*reps));
	int i;

	for (i = 0; i < o->nargs; i++) {
		if (domain_normalize(o->args[i], reps[i].domain) < 0) {
			diag_error(d, "check: %s: not a domain name%s",
			           o->args[i], idn_hint(o->args[i]));
			free(reps);
			return NULL;
		}
	}
	return reps;
}

/* Nothing was checked: say why on standard error and, with --json, in a
 * document with no domain. Returns status. */
static int
check_refused(const struct cmd_opts *o, const struct diag *d, int status)
{
	log_error(NULL, "%s", d->error);
	/* its status, not 1, when the refusal's JSON is lost too */
	log_stdout_fatal_status(status);
	if (o->json)
		json_print_refusal("\"verdict\":\"error\",\"domains\":[],",
		                   d->error);
	return status;
}

/* Set up ctx->batch, the resolver that the questions asked at once go to
 * (--server, or the system's). Unusable (no resolv.conf), they are not
 * asked: each domain's resolver says why it cannot ask the others, and
 * batch_why why these were not asked. */
static void
batch_open(struct check_ctx *ctx)
{
	struct diag why;

	diag_init(&why);
	if (ctx->o->server != NULL)
		ctx->have_batch =
		    dns_target_resolver_at(&ctx->server, CHECK_BATCH_TIMEOUT,
		                           &ctx->batch, &why) == 0;
	else
		ctx->have_batch = dns_target_resolver(NULL, CHECK_BATCH_TIMEOUT,
		                                      &ctx->batch, &why) == 0;
	if (!ctx->have_batch)
		str_copy(ctx->batch_why, sizeof(ctx->batch_why), why.error);
}

/*
 * The check command: what senders see. With -c, the configuration is read
 * without its keys (check signs nothing, and its user may not read them)
 * for the ca-file and resolve entries of the domains it holds.
 */
int
check_run(const struct cmd_opts *o)
{
	struct check_ctx ctx;
	struct report *reps;
	struct diag d, why;
	size_t i, n = (size_t)o->nargs;
	int failed = 0, rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.o = o;
	diag_init(&d);
	diag_init(&why);
	reps = reports_new(o, &d);
	if (reps == NULL)
		return check_refused(o, &d, EXIT_USAGE);
	if (o->server != NULL && dns_server_spec_parse(o->server, "--server",
	                                               &ctx.server, &why) < 0) {
		diag_error(&d, "check: %s", why.error);
		rc = check_refused(o, &d, EXIT_USAGE);
		goto out;
	}
	batch_open(&ctx);
	if (o->conf_given && (ctx.conf = conf_load_flags(
	                          o->conf_path, CONF_NO_SECRETS, &d)) == NULL) {
		rc = check_refused(o, &d, EXIT_USAGE);
		goto out;
	}
	if (fetch_global_init() != 0) {
		diag_error(&d, "check: cannot initialise libcurl");
		rc = check_refused(o, &d, EXIT_FAILED);
		goto out;
	}
	if (o->ca_file != NULL && fetch_ca_file_check(o->ca_file, &why) < 0) {
		diag_error(&d, "check: --ca-file %s", why.error);
		fetch_global_cleanup();
		rc = check_refused(o, &d, EXIT_USAGE);
		goto out;
	}
	check_all(&ctx, reps, n);
	fetch_global_cleanup();
	for (i = 0; i < n; i++)
		failed |= reps[i].nfail > 0;
	rc = failed ? EXIT_FAILED : EXIT_OK;
	if (o->json && print_json(reps, n, failed) < 0)
		rc = EXIT_FAILED;
	for (i = 0; !o->json && i < n; i++)
		print_text(&reps[i]);
out:
	free(reps);
	conf_free(ctx.conf);
	return rc;
}
