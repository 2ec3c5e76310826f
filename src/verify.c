/*
 * verify.c - publish_verify() (publish.h): the policy fetched back with
 * the sender rules until the web server serves the new one (its bytes,
 * or the same policy in other bytes) or verify-timeout passes, with
 * backoff; what may be the web server's configuration ends it once it
 * has lasted (verify_lasted()); the last failure said in words. Moved
 * from publish.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "publish-internal.h"
#include "publish.h"
#include "util.h"

/* The canonical bytes of the policy body in buf (len bytes) into out.
 * Returns 0, or -1 with the reason in d if it is not a valid policy. */
static int
canonical_of(const char *buf, size_t len, struct buf *out, struct diag *d)
{
	struct policy *p = policy_parse(buf, len, d);
	int rc;

	if (p == NULL)
		return -1;
	rc = policy_canonical(p, out);
	policy_free(p);
	if (rc == -1)
		diag_error(d, "too long");
	return rc;
}

/* What one verification attempt saw, for the message of the last. */
struct verify_seen {
	char what[DIAG_MSG_MAX + 160]; /* what was served, or the failure */
	char advice[768];              /* a guess at the cause, or "" */
	int answered; /* the server answered (a status, other content) */
	/* a deploy still under way would explain it (another policy or
	 * content, 404, 5xx): more verify-timeout may help, where a refused
	 * Content-Type or a redirect may be the web server's configuration
	 * (verify_lasting()) */
	int deploying;
	enum fetch_fail fail; /* the fetch's kind of failure */
	char addr[48];        /* the address tried, or "" */
	long port;            /* its port */
	time_t expired;       /* an expired certificate's end, or 0 */
};

/* The policies a verification tells apart: the new one (want, len
 * bytes) and the one the file held before (prev, prev_len bytes; NULL:
 * none, or the same); what the run knows of where it is served from
 * (h, never NULL), and where the web server may serve another directory
 * from, a question for the advice (root, "" if no file is known). */
struct verify_policies {
	const char *want;
	size_t len;
	const char *prev;
	size_t prev_len;
	const struct verify_hints *h;
	char root[512];
};

/* Do the canonical bytes in c equal those of the policy bytes (len)? */
static int
same_canonical(const struct buf *c, const char *bytes, size_t len)
{
	struct buf other;
	struct diag d;
	int same;

	buf_init(&other, POLICY_MAX_SIZE);
	diag_init(&d);
	same = canonical_of(bytes, len, &other, &d) == 0 &&
	       other.len == c->len && memcmp(other.data, c->data, c->len) == 0;
	buf_free(&other);
	return same;
}

/* Format into out (len bytes) as text_vformat() does: cut, if at all,
 * with TEXT_CUT_MARK, never inside a UTF-8 sequence. */
static void __attribute__((format(printf, 3, 4)))
verify_format(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vformat(out, len, fmt, ap);
	va_end(ap);
}

/* The host of url: where it begins (after "://"), its length into
 * *len (without a port; a bracketed IPv6 address up to its ']', its
 * colons kept); NULL without "://". */
static const char *
url_host(const char *url, size_t *len)
{
	const char *auth = strstr(url, "://"), *end;

	*len = 0;
	if (auth == NULL)
		return NULL;
	auth += 3;
	*len = strcspn(auth, "/?#");
	/* the port follows the ']' of an IPv6 address, else the host */
	if (auth[0] == '[')
		end = memchr(auth, ']', *len);
	else
		end = memchr(auth, ':', *len);
	if (end != NULL)
		*len = (size_t)(end - auth) + (auth[0] == '[');
	return auth;
}

/*
 * The question, into root (size bytes), whether the web server serves
 * url from the directory policy-file is written to: "is DIR, where
 * policy-file is written, the web server's document root for HOST?"
 * when the file's path ends in the URL's path (the document root is
 * then DIR), else "does the web server serve this URL from policy-file
 * FILE?". "" without a file.
 */
static void
verify_root(const char *url, const char *file, char *root, size_t size)
{
	size_t plen, flen, hlen;
	const char *auth = url_host(url, &hlen), *path;

	root[0] = '\0';
	if (file == NULL || auth == NULL)
		return;
	path = auth + strcspn(auth, "/?#");
	plen = strcspn(path, "?#");
	flen = strlen(file);
	/* the parts end before an ASCII '/' or ':': no UTF-8 sequence is
	 * cut but where a too long text is marked cut */
	if (plen > 1 && flen > plen &&
	    memcmp(file + flen - plen, path, plen) == 0)
		verify_format(root, size,
		              "is %.*s, where policy-file is written, the web "
		              "server's document root for %.*s?",
		              (int)(flen - plen), file, (int)hlen, auth);
	else
		verify_format(root, size,
		              "does the web server serve this URL from "
		              "policy-file %s?",
		              file);
}

/* The guess at the cause of what was served into seen: when the run
 * writes the file where the web server should serve it (no
 * publish-command), first whether it does (p->root), then other; with
 * a publish-command, other only. */
static void
verify_advice(const struct verify_policies *p, struct verify_seen *seen,
              const char *other)
{
	if (p->h->deploys || p->root[0] == '\0')
		str_copy(seen->advice, sizeof(seen->advice),
		         other != NULL ? other : "");
	else
		verify_format(seen->advice, sizeof(seen->advice), "%s%s%s",
		              p->root, other != NULL ? " or " : "",
		              other != NULL ? other : "");
}

/*
 * The policy served (len bytes at body) against the new one, when the
 * bytes differ: VERIFY_SAME_POLICY if it is the same policy in other
 * bytes (a host that turns CRLF into LF, say: senders get the new
 * policy), or VERIFY_OTHER with what it is in seen: the previous
 * policy (named by its id, which the live record most likely holds),
 * another policy (named by its id), or no policy at all.
 */
static int
verify_compare(const char *body, size_t len, const struct verify_policies *p,
               struct verify_seen *seen)
{
	char id[POLICY_ID_MAX + 1], prev_id[POLICY_ID_MAX + 1];
	struct buf got;
	struct diag d;
	int rc = VERIFY_OTHER;

	buf_init(&got, 2 * POLICY_MAX_SIZE); /* LF may turn into CRLF */
	diag_init(&d);
	if (p->prev != NULL)
		policy_id(p->prev, p->prev_len, prev_id);
	policy_id(body, len, id);
	if (canonical_of(body, len, &got, &d) == -1) {
		snprintf(
		    seen->what, sizeof(seen->what),
		    "serving %zu bytes that are not a valid policy (%.300s)",
		    len, d.error);
	} else if (same_canonical(&got, p->want, p->len)) {
		rc = VERIFY_SAME_POLICY;
	} else if (p->prev != NULL &&
	           same_canonical(&got, p->prev, p->prev_len)) {
		snprintf(seen->what, sizeof(seen->what),
		         "still serving the previous policy (id=%s)", prev_id);
		verify_advice(p, seen,
		              "a cache's copy, or a file a container "
		              "bind-mounted before it was replaced? mount the "
		              "directory, not the file");
	} else {
		/* the live id's policy: the URL never saw a file written */
		snprintf(seen->what, sizeof(seen->what),
		         "serving %s (id=%s), %s%s%s,",
		         p->h->live_id != NULL && strcmp(p->h->live_id, id) == 0
		             ? "the policy of the live _mta-sts id"
		             : "another policy",
		         id,
		         p->prev != NULL ? "neither the new one nor the "
		                           "previous one (id="
		                         : "not the new one",
		         p->prev != NULL ? prev_id : "",
		         p->prev != NULL ? ")" : "");
		verify_advice(p, seen,
		              "another server or a cache behind the URL?");
	}
	buf_free(&got);
	return rc;
}

/*
 * What a failed fetch r tells a verification of the policies p, into
 * seen. A page served as text/html in place of the file is what a
 * static host's fallback (try_files to an index, a single-page
 * application's rewrite) or a maintenance page serves while the file is
 * not deployed yet: it counts as not there yet, as a 404 does, and not
 * as a refused Content-Type, unless it is the new policy's very bytes:
 * then it is the file served with a wrong type.
 */
static void
verify_failed(const struct fetch_result *r, const struct verify_policies *p,
              struct verify_seen *seen)
{
	str_copy(seen->what, sizeof(seen->what), r->error);
	seen->answered = r->status != 0 && !r->timed_out;
	seen->deploying =
	    seen->answered &&
	    (r->status == 404 || (r->status >= 500 && r->status <= 599));
	seen->fail = r->fail;
	str_copy(seen->addr, sizeof(seen->addr), r->addr);
	seen->port = r->port;
	if (r->fail == FETCH_FAIL_CERT && r->cert_expiry != 0 &&
	    r->cert_expiry < time(NULL))
		seen->expired = r->cert_expiry;
	if (r->status == 404)
		verify_advice(p, seen, NULL);
	if (r->fail == FETCH_FAIL_TYPE &&
	    fetch_media_type_is(r->content_type, "text/html") &&
	    !(r->body != NULL && r->len == p->len &&
	      memcmp(r->body, p->want, p->len) == 0)) {
		seen->fail = FETCH_FAIL_OTHER;
		seen->deploying = 1;
		str_copy(seen->advice, sizeof(seen->advice),
		         "a page in place of a file not deployed yet: a "
		         "fallback page or a maintenance page?");
	}
}

/* One verification attempt, each fetch bounded by the time left.
 * Returns VERIFY_SERVED if url serves the new policy's bytes,
 * VERIFY_SAME_POLICY or VERIFY_OTHER (what it serves in seen) if it
 * serves other bytes, -1 if the fetch failed (reason in seen). */
static int
verify_once(const char *url, const struct fetch_opts *o,
            const struct verify_policies *p, double left,
            struct verify_seen *seen)
{
	struct fetch_opts lo = {0};
	struct fetch_result r;
	int rc;

	memset(seen, 0, sizeof(*seen));
	if (o != NULL)
		lo = *o;
	if (lo.timeout == 0)
		lo.timeout = FETCH_DEFAULT_TIMEOUT;
	/* cut to the time left: then verify-timeout is what ran out */
	if (left < lo.timeout) {
		lo.timeout = left < 1 ? 1 : (unsigned)(left + 0.999);
		if (lo.timeout_setting != NULL)
			lo.timeout_setting = "verify-timeout";
	}
	if (fetch_url(url, &lo, &r) == -1) {
		verify_failed(&r, p, seen);
		rc = -1;
	} else if (r.len == p->len && memcmp(r.body, p->want, p->len) == 0) {
		rc = VERIFY_SERVED;
	} else {
		seen->answered = seen->deploying = 1;
		rc = verify_compare(r.body, r.len, p, seen);
	}
	fetch_result_free(&r);
	return rc;
}

/*
 * Whether a fetch failing in the way f may be what the web server's
 * configuration answers for the URL, which writing or deploying the file
 * does not change: a redirect, a refused Content-Type, certificate or
 * TLS handshake. Each is also a state that passes: a web server
 * reloading its configuration answers from the old one for seconds (the
 * default site's certificate for a site just added), Traefik, Caddy or
 * cert-manager serve a default certificate until one is issued, and a
 * host may redirect a file it does not have yet. A connection closed
 * after the request with no response is a web server restarting, or one
 * whose configuration closes it (nginx `return 444`, a deny, firewall or
 * WAF rule): a restart passes in seconds; but not while a deploy
 * (deploys: a publish-command) may be under way, as a TLS front that
 * reads the request and closes answers so while the web server behind
 * it starts, which may take longer. So such a failure ends a
 * verification only once it has lasted VERIFY_LASTING_S.
 */
static int
verify_lasting(enum fetch_fail f, int deploys)
{
	return f == FETCH_FAIL_REDIRECT || f == FETCH_FAIL_TYPE ||
	       f == FETCH_FAIL_CERT || f == FETCH_FAIL_TLS ||
	       (f == FETCH_FAIL_NO_RESPONSE && !deploys);
}

#define VERIFY_LASTING_S 10.0 /* seconds a lasting failure ends it after */

/* The reason, into d, of a verification ended by a failure that may be
 * the web server's configuration (verify_lasting()) once it lasted:
 * tries fetches in a row failing that way over seconds since the first
 * began (VERIFY_LASTING_S, or less when verify-timeout, timeout seconds,
 * came first: then more time may have let a passing state pass), the
 * last described by seen. */
static void
verify_lasted(const char *url, const struct verify_seen *seen, unsigned tries,
              double seconds, unsigned timeout, struct diag *d)
{
	const char *fix;
	char lasted[80], expired[64], tail[200];
	struct tm tm;

	switch (seen->fail) {
	case FETCH_FAIL_REDIRECT:
		fix = "serve the file at this URL itself";
		break;
	case FETCH_FAIL_TYPE:
		fix = "make the web server send it as text/plain (nginx: "
		      "types { text/plain txt; } in its location)";
		break;
	case FETCH_FAIL_CERT:
		fix = "give the web server a certificate for the URL's host "
		      "that senders accept";
		if (seen->expired != 0 &&
		    gmtime_r(&seen->expired, &tm) != NULL &&
		    strftime(expired, sizeof(expired),
		             "renew the certificate (expired %Y-%m-%d)",
		             &tm) > 0)
			fix = expired;
		break;
	case FETCH_FAIL_NO_RESPONSE:
		/* only without a publish-command: no deploy that more
		 * time would let end, so a backend down stays down */
		fix = "check the web server's configuration for the URL's "
		      "host: one that closes the connection without a "
		      "response (nginx `return 444`, a deny, firewall or WAF "
		      "rule, a default server for unknown hosts) answers "
		      "this, or a proxy in front of a web server that is "
		      "not up: start that one";
		break;
	default:
		fix = "make the URL's port serve HTTPS, with a certificate "
		      "for its host";
	}
	if (tries > 1)
		snprintf(lasted, sizeof(lasted),
		         "; it lasted %.0f s, %u tries in a row", seconds,
		         tries);
	else
		str_copy(lasted, sizeof(lasted), " at the first answer");
	if (seconds < VERIFY_LASTING_S)
		snprintf(tail, sizeof(tail),
		         "`verify-timeout` (%u s) ended it before %.0f s had "
		         "passed, the time a reload or a certificate being "
		         "issued is given: raise it to at least %.0f s",
		         timeout, VERIFY_LASTING_S, VERIFY_LASTING_S);
	else if (seen->fail == FETCH_FAIL_NO_RESPONSE)
		str_copy(tail, sizeof(tail),
		         "a higher `verify-timeout` will not help, as no "
		         "publish-command deploys the file");
	else
		str_copy(tail, sizeof(tail),
		         "a higher `verify-timeout` will not help: this is how "
		         "the web server is set up");
	diag_error(d, "%s: %s%s: %s; %s", url, seen->what, lasted, fix, tail);
}

/* The reason, into d, of a close with no response that lasted until
 * verify-timeout ended, seconds after the verification began, seen its
 * last attempt: retried, as a deploy (a publish-command) may have had a
 * TLS front answer so while the web server behind it started
 * (verify_lasting()), but just as likely a configuration that closes
 * it, which more time does not change: both readings are given. */
static void
verify_no_response(const char *url, const struct verify_seen *seen,
                   double seconds, struct diag *d)
{
	size_t hlen;
	const char *host = url_host(url, &hlen);

	if (host == NULL) {
		host = "the URL's host";
		hlen = strlen(host);
	}
	diag_error(d,
	           "%s: %s, after %.0f s (retried: a web server restarting "
	           "or a proxy whose backend is not up, or a configuration "
	           "that closes it: nginx `return 444`, a default server for "
	           "unknown hosts (is %.*s in a server_name?), a deny or WAF "
	           "rule; check the web server behind %s port %ld)",
	           url, seen->what, seconds, (int)hlen, host,
	           seen->addr[0] ? seen->addr : "that address", seen->port);
}

/* The reason, into d, of a verification whose verify-timeout ended,
 * seconds after it began, seen its last attempt; more time is advised
 * only where a deploy (deploys: a publish-command) may be under way. */
static void
verify_timed_out(const char *url, const struct verify_seen *seen,
                 double seconds, int deploys, struct diag *d)
{
	int cut = seen->fail == FETCH_FAIL_CUT;

	/* a transfer's failure says what to raise itself, if anything */
	if (seen->fail == FETCH_FAIL_NO_RESPONSE)
		verify_no_response(url, seen, seconds, d);
	else if (seen->fail == FETCH_FAIL_REFUSED || cut)
		diag_error(
		    d, "%s: %s%s after %.0f s (%s %s port %ld%s)", url,
		    seen->what, cut ? "," : "", seconds,
		    cut ? "retried: a web server restarting, or a proxy "
		          "in front of one that is not up; check the web "
		          "server behind"
		        : "is the web server running, and listening on",
		    seen->addr[0] ? seen->addr : "that address", seen->port,
		    cut ? ""
		        : "? if it listens elsewhere, check "
		          "`verify-url` and any `resolve` entry for "
		          "its host");
	else if (!seen->answered)
		diag_error(d, "%s: %s", url, seen->what);
	else
		diag_error(d, "%s: %s after %.0f s%s%s%s%s", url, seen->what,
		           seconds, seen->advice[0] ? " (" : "", seen->advice,
		           seen->advice[0] ? ")" : "",
		           seen->deploying && deploys
		               ? "; raise `verify-timeout` if the deploy takes "
		                 "longer"
		               : "");
}

/* How long to pause before the next try, at most delay and left (the
 * time to verify-timeout), and no later than when a lasting failure
 * that began at since (or -1: none) has lasted grace seconds. */
static double
verify_pause(double delay, double left, double since, double grace)
{
	double pause = delay < left ? delay : left;
	double to_grace = since + grace - util_mono();

	if (since >= 0 && to_grace < pause)
		pause = to_grace > 0 ? to_grace : 0;
	return pause;
}

int
publish_verify(const char *url, const struct fetch_opts *o, const char *want,
               size_t len, const char *prev, size_t prev_len, unsigned timeout,
               const struct verify_hints *h, struct diag *d)
{
	/* without hints, a deploy may be under way */
	static const struct verify_hints none = {NULL, NULL, 1};
	struct verify_policies p = {
	    want, len, prev, prev_len, h != NULL ? h : &none, ""};
	double start = util_mono(), deadline = start + timeout, delay = 0.5;
	double began, left, since = -1; /* when the lasting failure began */
	struct verify_seen seen;
	enum fetch_fail last = FETCH_FAIL_OTHER;
	unsigned tries = 0;
	int rc;

	/* the previous policy, if it is the new one, tells nothing */
	if (prev != NULL && prev_len == len && memcmp(prev, want, len) == 0)
		p.prev = NULL;
	verify_root(url, p.h->policy_file, p.root, sizeof(p.root));
	for (;;) {
		began = util_mono();
		rc = verify_once(url, o, &p, deadline - began, &seen);
		if (rc == VERIFY_SERVED || rc == VERIFY_SAME_POLICY)
			return rc;
		/* another answer in between starts the count again */
		if (!verify_lasting(seen.fail, p.h->deploys) ||
		    seen.fail != last) {
			tries = 0;
			since = verify_lasting(seen.fail, p.h->deploys) ? began
			                                                : -1;
		}
		tries++;
		last = seen.fail;
		left = deadline - util_mono();
		/* a failure that may be the configuration ends it once it
		 * has lasted VERIFY_LASTING_S, or at a verify-timeout that
		 * comes first, with the same reason; any other is retried
		 * until verify-timeout */
		if (since >= 0 &&
		    (util_mono() - since >= VERIFY_LASTING_S || left <= 0)) {
			verify_lasted(url, &seen, tries, util_mono() - since,
			              timeout, d);
			return -1;
		}
		if (left <= 0)
			break;
		sleep_seconds(
		    verify_pause(delay, left, since, VERIFY_LASTING_S));
		delay = delay * 2 > 5 ? 5 : delay * 2;
	}
	verify_timed_out(url, &seen, util_mono() - start, p.h->deploys, d);
	return -1;
}
