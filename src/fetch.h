/*
 * fetch.h - HTTPS GET of policy files with the rules a sending MTA uses
 * (RFC 8461 section 3.3): https only, certificate and host name verified
 * (the host name in the certificate's subjectAltName, never its CN),
 * no redirects, status 200 only, Content-Type text/plain, body capped at
 * POLICY_MAX_SIZE inside the write callback, connect and total timeouts.
 */
#ifndef MTA_STS_SYNC_FETCH_H
#define MTA_STS_SYNC_FETCH_H

#include <stddef.h>
#include <time.h>

#include "util.h"

#define FETCH_DEFAULT_TIMEOUT 30u /* seconds, when fetch_opts.timeout is 0 */

struct fetch_opts {
	const char *ca_file;           /* NULL: system trust store */
	const struct strlist *resolve; /* "HOST:PORT:ADDR" entries, or NULL */
	unsigned timeout;              /* seconds, whole transfer */
	unsigned connect_timeout;      /* seconds; 0: min(timeout, 10) */
	/* the setting that sets timeout, named in the reason of a transfer
	 * that ran out of time ("...; raise `timeout` if it is only slow");
	 * NULL: none is named */
	const char *timeout_setting;
};

/* What kind of failure a fetch met, for a caller that retries: the
 * kinds a deploy of the file does not change (the web server's
 * configuration or certificate), and the refused connection, whose
 * reason gains the address tried when it lasts. */
enum fetch_fail {
	FETCH_FAIL_OTHER = 0, /* none, or another: a status, a timeout... */
	FETCH_FAIL_REDIRECT,  /* a 3xx */
	FETCH_FAIL_TYPE,      /* a 200 whose Content-Type is not text/plain */
	FETCH_FAIL_CERT,      /* the certificate refused */
	FETCH_FAIL_TLS,       /* the TLS handshake failed (an alert, or not
	                         TLS), not by a reset connection */
	FETCH_FAIL_CUT,       /* the connection reset or closed during the
	                         TLS handshake or after it */
	FETCH_FAIL_REFUSED,   /* the connection refused */
	/* the connection closed (not reset) after the TLS handshake and the
	 * request, before any response: a web server restarting, or one
	 * whose configuration closes it (nginx `return 444`, a deny rule) */
	FETCH_FAIL_NO_RESPONSE
};

struct fetch_result {
	int ok;               /* 1: body holds a 200 text/plain response */
	enum fetch_fail fail; /* the kind of failure, when !ok */
	char addr[48];        /* the address connected to or tried, or "" */
	long port;            /* and its port, or 0 */
	char error[512];      /* why not, in words, when !ok */
	long status;          /* HTTP status, 0 if none */
	char *body;           /* owned; NUL-terminated; len bytes (also a
	                         200 text/html body, with !ok) */
	size_t len;
	char *content_type; /* owned, or NULL */
	char *location;     /* owned: Location of a 3xx, or NULL */
	time_t cert_expiry; /* the server certificate's notAfter, or 0 (also
	                       of one refused as expired) */
	double seconds;     /* total transfer time */
	int timed_out;      /* it ran out of time (error says where) */
};

/*
 * Call once at start-up / end of the program (libcurl global state).
 * Every transfer of the process runs on two service threads, each with
 * its own libcurl multi handle, that the first fetch_url() or
 * fetch_many() starts; the trust store of each CA file is parsed once
 * for the process and shared by every connection (connections are
 * closed after their transfer); the calling threads wait for their
 * results. fetch_global_cleanup() stops those threads (call it when no
 * fetch runs) and frees all; a later fetch would start them again. If no
 * thread can be started, a fetch runs on the calling thread.
 */
int fetch_global_init(void);
void fetch_global_cleanup(void);

/* The most characters of a URL's host name: those of a DNS name (RFC
 * 1035 section 2.3.4: 255 bytes in a message, 253 written), a trailing
 * dot not counted. */
#define FETCH_HOST_MAX 253u

/* Is the host of url, as libcurl reads it, no longer than FETCH_HOST_MAX
 * characters? Returns 0 (also for what libcurl does not read as a URL:
 * a fetch refuses it), or -1 with the reason in d. */
int fetch_url_host_check(const char *url, struct diag *d);

/* Can the CA file path be read, and does it hold a certificate? Returns
 * 0, or -1 with the reason in d. (After fetch_global_init().) */
int fetch_ca_file_check(const char *path, struct diag *d);
/* The same for the CA file path open as fd (for reading), which the
 * caller has judged: its certificates are read from fd, and are those
 * every fetch of the process with that ca_file trusts from then on. */
int fetch_ca_file_load(const char *path, int fd, struct diag *d);

/* Fetch url into r (which the caller frees with fetch_result_free).
 * Returns 0 when r->ok, else -1 with r->error set: the reason in words,
 * without the URL (the caller names it), e.g. "HTTP 404 Not Found",
 * "redirect to https://... (RFC 8461 section 3.3: ...)", "cannot resolve
 * HOST" (with " (a resolve entry names HOST for port N; the URL uses
 * port M)" when one does), "connection to HOST port P refused", "TLS
 * certificate of HOST not accepted: certificate has expired", "TLS
 * handshake with HOST port P failed: <TLS library's reason>", "the
 * connection to HOST port P was reset during the TLS handshake" (or
 * "closed, before the server sent anything,"), "the connection to HOST
 * port P was reset after the TLS handshake, before any response" (or
 * "closed"), "HTTP 200 from HOST, but the connection was reset before
 * the response ended (B of L bytes received)"; a transfer that ran out
 * of time says where it stalled: "cannot connect to HOST
 * port P within N s", "connected to HOST port P, but the TLS handshake
 * did not finish within N s (...)", "HOST port P took the request, but
 * sent no HTTP response within N s (...)", "HTTP 200 from HOST, but its
 * headers did not finish within N s: ...", "HTTP 200 from HOST, but the
 * body did not finish within N s (B of L bytes received): ...", each
 * followed by "; raise `SETTING` if it is only slow" when
 * o->timeout_setting names one.
 * o may be NULL (system trust store, default timeouts). Proxies from the
 * environment are not used. r->status, content_type, location,
 * cert_expiry and seconds are filled as far as the transfer got. */
int fetch_url(const char *url, const struct fetch_opts *o,
              struct fetch_result *r);
void fetch_result_free(struct fetch_result *r);

/* The kind of a failed TLS handshake from libcurl's error text and the
 * socket's errno (0 if none): FETCH_FAIL_TLS when the text carries the
 * TLS library's reason from the peer or the protocol (an alert, "wrong
 * version number", an "SSL routines" error other than an unexpected
 * eof), else FETCH_FAIL_CUT (a reset or closed connection, retried). */
enum fetch_fail fetch_handshake_kind(const char *text, long os_errno);

/* Whether a Content-Type value (or NULL) is the media type type, with or
 * without parameters (media types are case-insensitive). */
int fetch_media_type_is(const char *ct, const char *type);

/* Do the two URLs with their options ask for the same transfer (same URL,
 * timeouts, CA file and resolve entries)? Such requests are made once. */
int fetch_same_request(const char *url_a, const struct fetch_opts *a,
                       const char *url_b, const struct fetch_opts *b);

/* Fetch several URLs concurrently (libcurl multi), at most max_parallel
 * at once (0 counts as 1), and at most 32 for the whole process when
 * several threads fetch; each job's result is filled as by fetch_url()
 * and freed by the caller with fetch_result_free(). Jobs with the same URL
 * and options are fetched once and get copies of the same result. When
 * a job has a done callback, it is called once, from the thread running
 * fetch_many(), as soon as that job's result is final: a caller can go on
 * with the jobs that finished while slower ones still run. */
struct fetch_job {
	const char *url;
	const struct fetch_opts *opts;
	struct fetch_result result;
	void (*done)(struct fetch_job *job, void *arg); /* or NULL */
	void *done_arg;
	int done_called; /* private to fetch.c */
};
void fetch_many(struct fetch_job *jobs, size_t n, unsigned max_parallel);

#endif
