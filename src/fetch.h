/*
 * fetch.h - HTTPS GET of policy files with the rules a sending MTA uses
 * (RFC 8461 section 3.3): https only, certificate and host name verified,
 * no redirects, status 200 only, Content-Type text/plain, body capped at
 * POLICY_MAX_SIZE inside the write callback, connect and total timeouts.
 */
#ifndef MTA_STS_SYNC_FETCH_H
#define MTA_STS_SYNC_FETCH_H

#include <stddef.h>
#include <time.h>

#include "util.h"

struct fetch_opts {
	const char *ca_file;           /* NULL: system trust store */
	const struct strlist *resolve; /* "HOST:PORT:ADDR" entries, or NULL */
	unsigned timeout;              /* seconds, whole transfer */
	unsigned connect_timeout;      /* seconds; 0: min(timeout, 10) */
};

struct fetch_result {
	int ok;              /* 1: body holds a 200 text/plain response */
	char error[512];     /* why not, in words, when !ok */
	long status;         /* HTTP status, 0 if none */
	char *body;          /* owned; NUL-terminated; len bytes */
	size_t len;
	char *content_type;  /* owned, or NULL */
	char *location;      /* owned: Location of a 3xx, or NULL */
	time_t cert_expiry;  /* the server certificate's notAfter, or 0 */
	double seconds;      /* total transfer time */
};

/* Call once at start-up / end of the program (libcurl global state). */
int fetch_global_init(void);
void fetch_global_cleanup(void);

/* Fetch url into r (which the caller frees with fetch_result_free).
 * Returns 0 when r->ok, else -1 with r->error set. */
int fetch_url(const char *url, const struct fetch_opts *o,
	      struct fetch_result *r);
void fetch_result_free(struct fetch_result *r);

/* Fetch several URLs concurrently (libcurl multi), at most max_parallel
 * at once; each job's result is filled as by fetch_url(). */
struct fetch_job {
	const char *url;
	const struct fetch_opts *opts;
	struct fetch_result result;
};
void fetch_many(struct fetch_job *jobs, size_t n, unsigned max_parallel);

#endif
