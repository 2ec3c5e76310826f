/*
 * fetch.c - HTTPS GET of policy files with a sending MTA's rules (RFC 8461
 * section 3.3), on libcurl's multi interface so that several URLs can be
 * fetched at once.
 *
 * Decisions: only https, for the request and (were it followed) for any
 * redirect; certificate and host name always verified, TLS 1.2 at least;
 * redirects are reported, never followed; only status 200 with a
 * text/plain body up to POLICY_MAX_SIZE bytes is a policy, and the
 * transfer stops at the first body byte of anything else. Proxies from
 * the environment (https_proxy, ALL_PROXY) are ignored: a sending MTA
 * connects to the policy host itself, and so do we. No cookies, no
 * compression (the bytes compared are the bytes served).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "fetch.h"
#include "policy.h"
#include "util.h"

struct batch;
static void svc_stop(void);

enum xfer_abort {
	ABORT_NONE = 0,
	ABORT_HEAD,      /* status or Content-Type refused at the first byte */
	ABORT_TOO_LARGE, /* body past POLICY_MAX_SIZE */
};

/* One transfer in flight: the easy handle and what its callbacks keep. */
struct xfer {
	CURL *curl;
	struct curl_slist *resolve;
	struct curl_slist *headers;
	struct fetch_job *job;
	struct batch *batch; /* the fetch_many() call it is part of */
	struct buf body;
	enum xfer_abort abort;
	int head_checked;
	char reason[64]; /* reason phrase of the last status line */
	char *location;  /* Location header of the last response */
	char host[256];
	char port[8];
	unsigned timeout;         /* seconds, whole transfer */
	unsigned connect_timeout; /* seconds */
	int tls_seen;             /* the certificate was looked at */
	time_t cert_expiry;       /* its notAfter, or 0 */
	char errbuf[CURL_ERROR_SIZE];
};

/*
 * Set once by fetch_global_init().
 *
 * system_bundle_only: without a ca-file, libcurl's defaults are its CA
 * bundle file and (Debian) also the directory /etc/ssl/certs, made from
 * the same certificates by update-ca-certificates. libcurl keeps a parsed
 * trust store in the multi handle (CURLOPT_CA_CACHE_TIMEOUT) only when it
 * comes from a file alone; with the directory beside it, it parses the
 * bundle again at every connection. So the bundle alone is used when it
 * is readable.
 *
 * want_certinfo: the certificate expiry is read from the TLS connection
 * (OpenSSL) at the first response header. CURLOPT_CERTINFO, which prints
 * every certificate of the chain into text at each handshake, is only
 * the fallback for other TLS libraries.
 */
static int system_bundle_only;
static int want_certinfo = 1;

/* Whether libcurl's built-in CA bundle file is readable (then the
 * system trust store is read from it alone). */
static int
have_default_bundle(void)
{
	int ok = 0;
#if LIBCURL_VERSION_NUM >= 0x075400
	CURL *c = curl_easy_init();
	char *path = NULL;

	if (c != NULL &&
	    curl_easy_getinfo(c, CURLINFO_CAINFO, &path) == CURLE_OK &&
	    path != NULL && access(path, R_OK) == 0)
		ok = 1;
	curl_easy_cleanup(c);
#endif
	return ok;
}

int
fetch_global_init(void)
{
	const curl_version_info_data *v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	v = curl_version_info(CURLVERSION_NOW);
	want_certinfo = v == NULL || v->ssl_version == NULL ||
	                strncmp(v->ssl_version, "OpenSSL/", 8) != 0;
	system_bundle_only = have_default_bundle();
	return 0;
}

void
fetch_global_cleanup(void)
{
	svc_stop();
	curl_global_cleanup();
}

void
fetch_result_free(struct fetch_result *r)
{
	if (r == NULL)
		return;
	free(r->body);
	free(r->content_type);
	free(r->location);
	r->body = r->content_type = r->location = NULL;
	r->len = 0;
}

/* Set r's error (the first one wins) and clear ok. */
static void __attribute__((format(printf, 2, 3)))
result_error(struct fetch_result *r, const char *fmt, ...)
{
	va_list ap;

	r->ok = 0;
	if (r->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/*
 * Split url into host and port for messages, and refuse anything but an
 * absolute https URL. Returns 0, or -1 with the reason in x->job->result.
 */
static int
xfer_parse_url(struct xfer *x, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	if (u == NULL) {
		result_error(&x->job->result, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		result_error(&x->job->result, "not a valid URL: %s", url);
	} else if (ascii_casecmp(scheme, "https") != 0) {
		result_error(&x->job->result,
		             "%s:// URL refused: policies are fetched over "
		             "https only (RFC 8461 section 3.3)",
		             scheme);
	} else if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	           CURLUE_OK) {
		str_copy(x->host, sizeof(x->host), host);
		str_copy(x->port, sizeof(x->port), port);
		rc = 0;
	} else {
		result_error(&x->job->result, "no port in URL: %s", url);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/* Whether a Content-Type value is text/plain, with or without parameters
 * (RFC 8461 section 3.2; media types are case-insensitive). */
static int
content_type_ok(const char *ct)
{
	size_t n = strlen("text/plain");

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (ascii_ncasecmp(ct, "text/plain", n) != 0)
		return 0;
	ct += n;
	return *ct == '\0' || *ct == ';' || *ct == ' ' || *ct == '\t';
}

/* At the first body byte: refuse a status other than 200 or a wrong
 * Content-Type now rather than after downloading an error page. */
static int
xfer_check_head(struct xfer *x)
{
	long status = 0;
	char *ct = NULL;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ct);
	if (status != 200 || !content_type_ok(ct)) {
		x->abort = ABORT_HEAD;
		return -1;
	}
	return 0;
}

/* libcurl write callback: keep the body, at most POLICY_MAX_SIZE bytes;
 * returning less than given aborts the transfer. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb;

	if (!x->head_checked) {
		x->head_checked = 1;
		if (xfer_check_head(x) == -1)
			return 0;
	}
	if (buf_append(&x->body, data, len) == -1) {
		x->abort = ABORT_TOO_LARGE;
		return 0;
	}
	return len;
}

/* Keep the reason phrase of a status line ("HTTP/1.1 404 Not Found")
 * for messages; a new status line also forgets an earlier Location. */
static void
header_status(struct xfer *x, const char *data, size_t len)
{
	size_t i = 0, n = 0;
	int spaces = 0;

	while (i < len && spaces < 2)
		if (data[i++] == ' ')
			spaces++;
	while (i < len && data[i] != '\r' && data[i] != '\n' &&
	       n < sizeof(x->reason) - 1) {
		unsigned char c = (unsigned char)data[i++];

		x->reason[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	x->reason[n] = '\0';
	free(x->location);
	x->location = NULL;
}

/* The notAfter of the server certificate of c's TLS connection (OpenSSL
 * only, while the transfer runs), or 0. */
static time_t
tls_cert_expiry(CURL *c)
{
	struct curl_tlssessioninfo *ti = NULL;
	const X509 *cert;
	struct tm tm;
	time_t t = 0;

	if (curl_easy_getinfo(c, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK ||
	    ti == NULL || ti->backend != CURLSSLBACKEND_OPENSSL ||
	    ti->internals == NULL)
		return 0;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	cert = SSL_get0_peer_certificate(ti->internals);
#else
	cert = SSL_get_peer_certificate(ti->internals);
#endif
	if (cert != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		t = timegm(&tm);
#if OPENSSL_VERSION_NUMBER < 0x30000000L
	X509_free((X509 *)cert);
#endif
	return t == -1 ? 0 : t;
}

/* libcurl header callback: the status line and the Location header
 * (kept here because libcurl does not compute the redirect URL of a
 * transfer that the write callback stopped). At the first header the
 * handshake is done: the certificate's expiry is read then. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t len = size * nmemb, n = strlen("Location:");

	if (!x->tls_seen && !want_certinfo) {
		x->tls_seen = 1;
		x->cert_expiry = tls_cert_expiry(x->curl);
	}
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		header_status(x, data, len);
	} else if (len > n && ascii_ncasecmp(data, "Location:", n) == 0 &&
	           x->location == NULL && len < 4096) {
		while (n < len && (data[n] == ' ' || data[n] == '\t'))
			n++;
		while (len > n &&
		       (data[len - 1] == '\r' || data[len - 1] == '\n' ||
		        data[len - 1] == ' '))
			len--;
		x->location = xstrndup(data + n, len - n);
	}
	return size * nmemb;
}

/* Set the options every fetch uses. Returns 0, or -1 if libcurl refused
 * one (then the transfer must not run: it would not follow the rules). */
static int
xfer_set_rules(struct xfer *x)
{
	CURL *c = x->curl;
	int bad = 0;

#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
	       CURLE_OK;
#else
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS) !=
	       CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
	                        (long)CURLPROTO_HTTPS) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	/* closed when done: the next fetch is for another host (a verify,
	 * an upstream), and idle connections would hold their TLS state */
	bad |= curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK;
	/* one GET per connection: HTTP/2 (offered by ALPN by default) only
	 * adds its session setup; RFC 8461 asks for HTTPS, not a version */
	bad |= curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
	                        (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSLVERSION,
	                        (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	                        (curl_off_t)POLICY_MAX_SIZE) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT,
	                        "mta-sts-sync/" PACKAGE_VERSION) != CURLE_OK;
	return bad ? -1 : 0;
}

/* Set the per-job options: URL, timeouts, CA file, --resolve entries and
 * the callbacks. Returns 0 or -1. */
static int
xfer_set_job(struct xfer *x, const struct fetch_opts *o)
{
	CURL *c = x->curl;
	unsigned ct = o->connect_timeout;
	size_t i;
	int bad = 0;

	if (ct == 0)
		ct = x->timeout < 10 ? x->timeout : 10;
	x->connect_timeout = ct;
	x->headers = curl_slist_append(NULL, "Accept: text/plain");
	if (o->resolve != NULL)
		for (i = 0; i < o->resolve->n; i++)
			x->resolve =
			    curl_slist_append(x->resolve, o->resolve->v[i]);
	bad |= curl_easy_setopt(c, CURLOPT_URL, x->job->url) != CURLE_OK;
	bad |=
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)x->timeout) != CURLE_OK;
	bad |=
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)ct) != CURLE_OK;
	if (o->ca_file != NULL)
		bad |=
		    curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file) != CURLE_OK;
	/* a ca-file replaces the system store: no CA directory beside it */
	if (o->ca_file != NULL || system_bundle_only)
		bad |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_RESOLVE, x->resolve) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK;
	if (want_certinfo)
		bad |= curl_easy_setopt(c, CURLOPT_CERTINFO, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |=
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PRIVATE, x) != CURLE_OK;
	return bad ? -1 : 0;
}

/* Prepare job's transfer in x. Returns 0, or -1 with the job's result
 * already holding the error (nothing to run). */
static int
xfer_begin(struct xfer *x, struct fetch_job *job)
{
	const struct fetch_opts *o = job->opts;

	memset(x, 0, sizeof(*x));
	memset(&job->result, 0, sizeof(job->result));
	x->job = job;
	buf_init(&x->body, POLICY_MAX_SIZE);
	x->timeout = o->timeout ? o->timeout : FETCH_DEFAULT_TIMEOUT;
	if (xfer_parse_url(x, job->url) == -1)
		return -1;
	x->curl = curl_easy_init();
	if (x->curl == NULL) {
		result_error(&job->result, "cannot start a transfer");
		return -1;
	}
	if (xfer_set_rules(x) == -1 || xfer_set_job(x, o) == -1) {
		result_error(&job->result, "libcurl refused a required option "
		                           "(https only, verification)");
		return -1;
	}
	return 0;
}

/* Release what xfer_begin() allocated. */
static void
xfer_end(struct xfer *x)
{
	if (x->curl != NULL)
		curl_easy_cleanup(x->curl);
	curl_slist_free_all(x->resolve);
	curl_slist_free_all(x->headers);
	buf_free(&x->body);
	free(x->location);
	x->location = NULL;
	x->curl = NULL;
	x->resolve = x->headers = NULL;
}

/* The server certificate's notAfter from libcurl's certificate chain
 * information ("Expire date:Feb  1 00:00:00 2030 GMT"), or 0: for TLS
 * libraries other than OpenSSL. */
static time_t
xfer_cert_expiry(struct xfer *x)
{
	struct curl_certinfo *ci = NULL;
	const struct curl_slist *s;
	const char *key = "Expire date:";
	time_t t;

	if (curl_easy_getinfo(x->curl, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return 0;
	for (s = ci->certinfo[0]; s != NULL; s = s->next) {
		if (strncmp(s->data, key, strlen(key)) != 0)
			continue;
		t = curl_getdate(s->data + strlen(key), NULL);
		return t == -1 ? 0 : t;
	}
	return 0;
}

/* Describe a TLS verification failure: the X.509 reason when OpenSSL
 * gave one, else a host name mismatch. */
static void
xfer_tls_error(struct xfer *x, struct fetch_result *r)
{
	long v = 0;

	curl_easy_getinfo(x->curl, CURLINFO_SSL_VERIFYRESULT, &v);
	if (strstr(x->errbuf, "host name") != NULL ||
	    v == X509_V_ERR_HOSTNAME_MISMATCH)
		result_error(r,
		             "TLS certificate of %s not accepted: certificate "
		             "is for another name",
		             x->host);
	else if (v != 0)
		result_error(r, "TLS certificate of %s not accepted: %s",
		             x->host, X509_verify_cert_error_string(v));
	else
		result_error(r, "TLS certificate of %s not accepted: %s",
		             x->host, x->errbuf);
}

/* Describe a failed connection, by the system error behind it. */
static void
xfer_connect_error(struct xfer *x, struct fetch_result *r)
{
	long err = 0;

	curl_easy_getinfo(x->curl, CURLINFO_OS_ERRNO, &err);
	if (err == ECONNREFUSED)
		result_error(r, "connection to %s port %s refused", x->host,
		             x->port);
	else if (err != 0)
		result_error(r, "cannot connect to %s port %s: %s", x->host,
		             x->port, strerror((int)err));
	else
		result_error(r, "cannot connect to %s port %s: %s", x->host,
		             x->port, x->errbuf);
}

/* Turn a libcurl failure into words. */
static void
xfer_curl_error(struct xfer *x, CURLcode rc, struct fetch_result *r)
{
	double t = 0;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		result_error(r, "cannot resolve %s", x->host);
		break;
	case CURLE_COULDNT_CONNECT:
		xfer_connect_error(x, r);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(x->curl, CURLINFO_CONNECT_TIME, &t);
		if (t <= 0)
			result_error(r,
			             "cannot connect to %s port %s within %u s",
			             x->host, x->port, x->connect_timeout);
		else
			result_error(r, "no answer from %s within %u s",
			             x->host, x->timeout);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
	case CURLE_SSL_CACERT:
#endif
		xfer_tls_error(x, r);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		result_error(r, "only https is allowed (RFC 8461 section 3.3)");
		break;
	default:
		result_error(r, "%s: %s", x->host,
		             x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	}
}

/* The standard reason phrase of an HTTP status, for responses that carry
 * none (an empty reason phrase), or "". */
static const char *
status_reason(long status)
{
	static const struct {
		long status;
		const char *reason;
	} t[] = {
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {410, "Gone"},
	    {429, "Too Many Requests"},
	    {500, "Internal Server Error"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].status == status)
			return t[i].reason;
	return "";
}

/* Judge a response that arrived: status 200, text/plain, size. */
static void
xfer_judge_response(struct xfer *x, CURLcode rc, struct fetch_result *r)
{
	const char *why = x->reason[0] ? x->reason : status_reason(r->status);

	if (r->status >= 300 && r->status < 400)
		result_error(r,
		             "redirect to %s (RFC 8461 section 3.3: senders do "
		             "not follow redirects)",
		             r->location ? r->location : "(no Location)");
	else if (r->status != 200)
		result_error(r, "HTTP %ld%s%s", r->status, *why ? " " : "",
		             why);
	else if (!content_type_ok(r->content_type))
		result_error(r,
		             "Content-Type %s, expected text/plain (RFC 8461 "
		             "section 3.2)",
		             r->content_type ? r->content_type : "missing");
	else if (x->abort == ABORT_TOO_LARGE || rc == CURLE_FILESIZE_EXCEEDED)
		result_error(r, "policy too large: more than %u bytes",
		             POLICY_MAX_SIZE);
	else if (rc != CURLE_OK)
		xfer_curl_error(x, rc, r);
	else {
		r->ok = 1;
		r->len = x->body.len;
		r->body = buf_steal(&x->body);
	}
}

/* location (maybe relative) resolved against base, as a new string; the
 * text as given if it cannot be resolved. Control characters are shown
 * as '?' since the result ends up in messages. */
static char *
absolute_url(const char *base, const char *location)
{
	CURLU *u = curl_url();
	char *abs = NULL, *s, *p;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK)
		s = xstrdup(abs);
	else
		s = xstrdup(location);
	curl_free(abs);
	curl_url_cleanup(u);
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/* Fill the job's result once its transfer ended with rc. */
static void
xfer_finish(struct xfer *x, CURLcode rc)
{
	struct fetch_result *r = &x->job->result;
	char *s = NULL;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(x->curl, CURLINFO_TOTAL_TIME, &r->seconds);
	if (curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK &&
	    s != NULL)
		r->content_type = xstrdup(s);
	if (x->location != NULL)
		r->location = absolute_url(x->job->url, x->location);
	r->cert_expiry = want_certinfo ? xfer_cert_expiry(x) : x->cert_expiry;
	if (rc == CURLE_OK || rc == CURLE_FILESIZE_EXCEEDED ||
	    (rc == CURLE_WRITE_ERROR && x->abort != ABORT_NONE))
		xfer_judge_response(x, rc, r);
	else
		xfer_curl_error(x, rc, r);
}

int
fetch_same_request(const char *url_a, const struct fetch_opts *p,
                   const char *url_b, const struct fetch_opts *q)
{
	size_t i, n;

	if (strcmp(url_a, url_b) != 0)
		return 0;
	if (p == q)
		return 1;
	if (p->timeout != q->timeout ||
	    p->connect_timeout != q->connect_timeout ||
	    (p->ca_file == NULL) != (q->ca_file == NULL) ||
	    (p->ca_file != NULL && strcmp(p->ca_file, q->ca_file) != 0))
		return 0;
	n = p->resolve ? p->resolve->n : 0;
	if (n != (q->resolve ? q->resolve->n : 0))
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(p->resolve->v[i], q->resolve->v[i]) != 0)
			return 0;
	return 1;
}

/* Whether two jobs ask for the same thing, so that one transfer serves
 * both. */
static int
same_request(const struct fetch_job *a, const struct fetch_job *b)
{
	return fetch_same_request(a->url, a->opts, b->url, b->opts);
}

/* Copy a finished result (for a duplicate job). */
static void
result_copy(struct fetch_result *dst, const struct fetch_result *src)
{
	*dst = *src;
	dst->body = src->body ? xstrndup(src->body, src->len) : NULL;
	dst->content_type =
	    src->content_type ? xstrdup(src->content_type) : NULL;
	dst->location = src->location ? xstrdup(src->location) : NULL;
}

/*
 * The transfers of the whole process run on one multi handle, driven by
 * one service thread (started at the first fetch, stopped by
 * fetch_global_cleanup()): libcurl keeps one parsed trust store in it
 * (CURLOPT_CA_CACHE_TIMEOUT) for every thread that fetches, and no idle
 * connection (a verify goes to a host that is not asked again: each
 * connection is closed after its transfer). A fetch_many() call is
 * a batch: the calling thread queues it, the service thread starts its
 * transfers (max_parallel of them, FETCH_MAX_RUNNING in all, batches
 * served in turn) and hands back each job as it ends; the caller runs the
 * done callbacks. If the thread cannot be started, the caller drives its
 * batch itself on a multi handle of its own. The child of a fork(2)
 * (publish_run_command) only execs: it never touches the service, so a
 * fork while the service thread holds its lock is harmless.
 */
#define FETCH_MAX_RUNNING 32 /* transfers at once, all batches together */
#define FETCH_MAX_IDLE 4     /* idle connections, were any kept */

/* One fetch_many() call. The engine's fields are used by the thread
 * driving the transfers only; ready and nready under svc.lock. */
struct batch {
	struct fetch_job *jobs;
	const size_t *first; /* per job: the job whose transfer serves it */
	struct xfer *xs;     /* per job: its transfer */
	size_t n;
	unsigned max_parallel;
	size_t next;    /* engine: next job to start */
	size_t running; /* engine: its transfers in flight */
	size_t left;    /* engine: distinct jobs not handed back yet */
	size_t *ready;  /* jobs handed back, in the order they ended */
	size_t nready;
	pthread_cond_t cv; /* signalled when a job is handed back */
	struct batch *link;
};

/* A multi handle and the batches whose transfers run on it. */
struct engine {
	CURLM *m;
	struct batch *batches; /* in the order they came */
	size_t running;
};

/* The service: the thread, its engine, and the batches queued for it. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv; /* the idle thread waits here for work */
	pthread_t thread;
	int running; /* the thread was started */
	int stop;    /* fetch_global_cleanup() asks it to end */
	struct batch *queue, **queue_tail;
	struct engine e;
} svc = {.lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* A new multi handle with the process's settings, or NULL. */
static CURLM *
engine_multi(void)
{
	CURLM *m = curl_multi_init();

	/* a bound, should a connection ever be kept (none is: every
	 * transfer closes its own, CURLOPT_FORBID_REUSE) */
	if (m != NULL)
		curl_multi_setopt(m, CURLMOPT_MAXCONNECTS,
		                  (long)FETCH_MAX_IDLE);
	return m;
}

/* Take b out of e's list. */
static void
engine_unlink(struct engine *e, struct batch *b)
{
	struct batch **p;

	for (p = &e->batches; *p != NULL; p = &(*p)->link)
		if (*p == b) {
			*p = b->link;
			break;
		}
}

/* Hand job i of b back to its caller. The last one takes b out of the
 * engine first: once handed back, b may be gone. */
static void
engine_hand_back(struct engine *e, struct batch *b, size_t i)
{
	if (--b->left == 0)
		engine_unlink(e, b);
	pthread_mutex_lock(&svc.lock);
	b->ready[b->nready++] = i;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&svc.lock);
}

/* Start b's next distinct job on e (one that cannot start is handed
 * back at once with its error). Returns 0, or -1 if none is left. */
static int
engine_start_next(struct engine *e, struct batch *b)
{
	struct xfer *x;
	size_t i;

	while (b->next < b->n && b->first[b->next] != b->next)
		b->next++;
	if (b->next >= b->n)
		return -1;
	i = b->next++;
	x = &b->xs[i];
	if (e->m == NULL) {
		result_error(&b->jobs[i].result, "cannot run the transfer");
	} else if (xfer_begin(x, &b->jobs[i]) == 0) {
		x->batch = b;
		if (curl_multi_add_handle(e->m, x->curl) == CURLM_OK) {
			b->running++;
			e->running++;
			return 0;
		}
		result_error(&b->jobs[i].result, "cannot start the transfer");
	}
	xfer_end(x);
	engine_hand_back(e, b, i);
	return 0;
}

/* Start transfers while the bounds allow, one per batch in turn. */
static void
engine_fill(struct engine *e)
{
	struct batch *b, *next;
	int started;

	do {
		started = 0;
		for (b = e->batches; b != NULL; b = next) {
			next = b->link;
			if (e->running >= FETCH_MAX_RUNNING)
				return;
			if (b->running < b->max_parallel &&
			    engine_start_next(e, b) == 0)
				started = 1;
		}
	} while (started);
}

/* Finish every transfer that ended and hand its job back. */
static void
engine_collect(struct engine *e)
{
	struct xfer *x;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(e->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
		xfer_finish(x, msg->data.result);
		curl_multi_remove_handle(e->m, x->curl);
		xfer_end(x);
		x->batch->running--;
		e->running--;
		engine_hand_back(e, x->batch, (size_t)(x - x->batch->xs));
	}
}

/* The multi handle broke: fail every job of every batch, running ("transfer
 * failed: why") or not started yet ("cannot run the transfer"). */
static void
engine_abandon(struct engine *e, const char *why)
{
	struct batch *b, *next;
	size_t i;
	int last;

	for (b = e->batches; b != NULL; b = next) {
		next = b->link;
		for (i = 0, last = 0; i < b->n && !last; i++) {
			if (b->xs[i].curl != NULL) {
				result_error(&b->jobs[i].result,
				             "transfer failed: %s", why);
				curl_multi_remove_handle(e->m, b->xs[i].curl);
				xfer_end(&b->xs[i]);
			} else if (i >= b->next && b->first[i] == i) {
				result_error(&b->jobs[i].result,
				             "cannot run the transfer");
			} else {
				continue;
			}
			last = b->left == 1; /* then b may be gone */
			engine_hand_back(e, b, i);
		}
	}
	e->running = 0;
}

/* One round: start what may start, let libcurl work, hand back what
 * ended, and wait (at most a second, or until woken) for more. Returns
 * 0, or -1 if the multi handle broke (its jobs were failed). */
static int
engine_step(struct engine *e)
{
	CURLMcode mc;
	int still;

	engine_fill(e);
	if (e->running == 0)
		return 0;
	mc = curl_multi_perform(e->m, &still);
	if (mc == CURLM_OK)
		engine_collect(e);
	if (mc == CURLM_OK && e->running > 0)
		mc = curl_multi_poll(e->m, NULL, 0, 1000, NULL);
	if (mc == CURLM_OK)
		return 0;
	engine_abandon(e, curl_multi_strerror(mc));
	return -1;
}

/* Move the queued batches to the engine (with svc.lock held). */
static void
svc_take_queue(void)
{
	struct batch **p = &svc.e.batches;

	while (*p != NULL)
		p = &(*p)->link;
	*p = svc.queue;
	svc.queue = NULL;
	svc.queue_tail = &svc.queue;
}

/* The service thread: run the queued batches until asked to stop while
 * idle. A broken multi handle is replaced (under svc.lock, since callers
 * wake it). */
static void *
svc_main(void *arg)
{
	CURLM *m;

	(void)arg;
	pthread_mutex_lock(&svc.lock);
	for (;;) {
		svc_take_queue();
		if (svc.e.batches == NULL) {
			if (svc.stop)
				break;
			pthread_cond_wait(&svc.cv, &svc.lock);
			continue;
		}
		pthread_mutex_unlock(&svc.lock);
		m = engine_step(&svc.e) == 0 ? NULL : svc.e.m;
		pthread_mutex_lock(&svc.lock);
		if (m != NULL) {
			curl_multi_cleanup(m);
			svc.e.m = engine_multi();
		}
	}
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

/* Queue b for the service thread, starting it if needed. Returns 0, or
 * -1 if there is no service thread (b was not queued). */
static int
svc_submit(struct batch *b)
{
	int rc = 0;

	pthread_mutex_lock(&svc.lock);
	if (!svc.running) {
		memset(&svc.e, 0, sizeof(svc.e));
		svc.queue = NULL;
		svc.queue_tail = &svc.queue;
		svc.e.m = engine_multi();
		if (svc.e.m != NULL &&
		    pthread_create(&svc.thread, NULL, svc_main, NULL) == 0)
			svc.running = 1;
	}
	if (svc.running) {
		b->link = NULL;
		*svc.queue_tail = b;
		svc.queue_tail = &b->link;
		pthread_cond_signal(&svc.cv);
#if LIBCURL_VERSION_NUM >= 0x074400
		if (svc.e.m != NULL)
			curl_multi_wakeup(svc.e.m);
#endif
	} else {
		curl_multi_cleanup(svc.e.m);
		svc.e.m = NULL;
		rc = -1;
	}
	pthread_mutex_unlock(&svc.lock);
	return rc;
}

/* Stop the service thread (when no fetch runs) and free its multi
 * handle. */
static void
svc_stop(void)
{
	pthread_mutex_lock(&svc.lock);
	if (!svc.running) {
		pthread_mutex_unlock(&svc.lock);
		return;
	}
	svc.stop = 1;
	pthread_cond_signal(&svc.cv);
	pthread_mutex_unlock(&svc.lock);
	pthread_join(svc.thread, NULL);
	curl_multi_cleanup(svc.e.m);
	svc.e.m = NULL;
	svc.running = 0;
	svc.stop = 0;
}

/* Tell the job's owner, once, that its result is final. */
static void
job_done(struct fetch_job *job)
{
	if (job->done_called)
		return;
	job->done_called = 1;
	if (job->done != NULL)
		job->done(job, job->done_arg);
}

/* Call the done callbacks of b's jobs handed back since *seen (the
 * caller's count so far), with svc.lock held; the lock is let go
 * while they run. */
static void
batch_report(struct batch *b, size_t *seen)
{
	size_t k = b->nready;

	pthread_mutex_unlock(&svc.lock);
	for (; *seen < k; (*seen)++)
		job_done(&b->jobs[b->ready[*seen]]);
	pthread_mutex_lock(&svc.lock);
}

/* Wait for the service thread to hand back b's distinct jobs, calling
 * their done callbacks as they come. */
static void
batch_wait(struct batch *b, size_t distinct)
{
	size_t seen = 0;

	pthread_mutex_lock(&svc.lock);
	while (seen < distinct) {
		while (b->nready == seen)
			pthread_cond_wait(&b->cv, &svc.lock);
		batch_report(b, &seen);
	}
	pthread_mutex_unlock(&svc.lock);
}

/* Without the service thread: drive b on a multi handle of this
 * thread's own, calling the done callbacks as jobs end. */
static void
batch_run_here(struct batch *b, size_t distinct)
{
	struct engine e = {.m = engine_multi(), .batches = b};
	size_t seen = 0;

	b->link = NULL;
	while (seen < distinct) {
		engine_step(&e);
		pthread_mutex_lock(&svc.lock);
		batch_report(b, &seen);
		pthread_mutex_unlock(&svc.lock);
	}
	curl_multi_cleanup(e.m);
}

/* A job's URL and index, sorted to find the duplicates. */
struct job_key {
	const char *url;
	size_t i;
};

/* qsort order: by URL, then by index. */
static int
job_key_cmp(const void *pa, const void *pb)
{
	const struct job_key *a = pa, *b = pb;
	int c = strcmp(a->url, b->url);

	if (c != 0)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

/*
 * Fill first[i] with the lowest index of a job asking for the same
 * request as job i (i itself if none). Sorted by URL, so that a run with
 * thousands of distinct upstreams does not compare every pair; only jobs
 * with the same URL are compared in full.
 */
static void
find_duplicates(const struct fetch_job *jobs, size_t n, size_t *first)
{
	struct job_key *k = xcalloc(n, sizeof(*k));
	size_t a, b, i, j;

	for (i = 0; i < n; i++) {
		k[i].url = jobs[i].url;
		k[i].i = i;
	}
	qsort(k, n, sizeof(*k), job_key_cmp);
	for (a = 0; a < n; a = b) {
		for (b = a + 1; b < n && strcmp(k[a].url, k[b].url) == 0; b++)
			;
		for (i = a; i < b; i++) {
			first[k[i].i] = k[i].i;
			for (j = a; j < i; j++)
				if (same_request(&jobs[k[j].i],
				                 &jobs[k[i].i])) {
					first[k[i].i] = first[k[j].i];
					break;
				}
		}
	}
	free(k);
}

void
fetch_many(struct fetch_job *jobs, size_t n, unsigned max_parallel)
{
	static const struct fetch_opts defaults;
	struct batch b;
	size_t *first, i, distinct = 0;

	if (n == 0)
		return;
	first = xcalloc(n, sizeof(*first));
	for (i = 0; i < n; i++) {
		if (jobs[i].opts == NULL)
			jobs[i].opts = &defaults;
		memset(&jobs[i].result, 0, sizeof(jobs[i].result));
		jobs[i].done_called = 0;
	}
	find_duplicates(jobs, n, first);
	for (i = 0; i < n; i++)
		distinct += first[i] == i;
	memset(&b, 0, sizeof(b));
	b.jobs = jobs;
	b.first = first;
	b.n = n;
	b.xs = xcalloc(n, sizeof(*b.xs));
	b.ready = xcalloc(n, sizeof(*b.ready));
	b.max_parallel = max_parallel ? max_parallel : 1;
	b.left = distinct;
	pthread_cond_init(&b.cv, NULL);
	if (svc_submit(&b) == 0)
		batch_wait(&b, distinct);
	else
		batch_run_here(&b, distinct);
	for (i = 0; i < n; i++)
		if (first[i] != i)
			result_copy(&jobs[i].result, &jobs[first[i]].result);
	for (i = 0; i < n; i++)
		job_done(&jobs[i]);
	pthread_cond_destroy(&b.cv);
	free(b.ready);
	free(b.xs);
	free(first);
}

int
fetch_url(const char *url, const struct fetch_opts *o, struct fetch_result *r)
{
	struct fetch_job job;

	memset(&job, 0, sizeof(job));
	job.url = url;
	job.opts = o;
	fetch_many(&job, 1, 1);
	*r = job.result;
	return r->ok ? 0 : -1;
}
