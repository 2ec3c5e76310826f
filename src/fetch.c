/*
 * fetch.c - HTTPS GET of policy files with a sending MTA's rules (RFC 8461
 * section 3.3), on libcurl's multi interface so that several URLs can be
 * fetched at once.
 *
 * Decisions: only https, for the request and (were it followed) for any
 * redirect; certificate and host name always verified, the host name
 * against the certificate's subjectAltName only, never its subject CN
 * (RFC 8461 section 3.3; libcurl alone would take the CN), TLS 1.2 at
 * least; redirects are reported, never followed; only status 200 with a
 * text/plain body up to POLICY_MAX_SIZE bytes is a policy, and the
 * transfer stops at the first body byte of anything else. Proxies from
 * the environment (https_proxy, ALL_PROXY) are ignored: a sending MTA
 * connects to the policy host itself, and so do we. No cookies, no
 * compression (the bytes compared are the bytes served).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch.h"
#include "openssl-api.h"
#include "policy.h"
#include "util.h"

#define FETCH_BUFFER_SIZE 4096L /* bytes, libcurl's receive buffer */
/* bytes, libcurl's upload buffer: the least it takes (UPLOADBUFFER_MIN) */
#define FETCH_UPLOAD_BUFFER_SIZE 16384L

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
	CURLSH *dns; /* its own DNS cache, for its resolve entries */
	struct curl_slist *headers;
	struct fetch_job *job;
	struct batch *batch; /* the fetch_many() call it is part of */
	struct buf body;
	enum xfer_abort abort;
	int head_checked;
	int head_done; /* the blank line ending the last response's head came */
	/* the TCP connection was made (on_ssl_ctx() ran): libcurl 7.88
	 * reports no CONNECT_TIME for a transfer that failed */
	int tcp_done;
	char reason[64]; /* reason phrase of the last status line */
	char *location;  /* Location header of the last response */
	char host[FETCH_HOST_MAX + 2]; /* a trailing dot, the NUL */
	char port[8];
	unsigned timeout;         /* seconds, whole transfer */
	unsigned connect_timeout; /* seconds */
	int tls_seen;             /* the certificate was looked at */
	time_t cert_expiry;       /* its notAfter, or 0 */
	X509_STORE *trust;        /* the verify store, or NULL (libcurl's) */
	X509 *peer; /* the server certificate the handshake saw (on_verify),
	               described only if it is refused; a reference */
	char errbuf[CURL_ERROR_SIZE];
};

/* What libcurl tells of a transfer that failed, read once
 * (xfer_facts_read()) for the message builders (curl_error_words()):
 * plain values, so that the fuzz target can try each combination. */
struct xfer_facts {
	long os_errno;      /* the socket's errno, or 0 */
	long verify_result; /* OpenSSL's verdict on the certificate */
	curl_off_t size;    /* the Content-Length, -1 if none came */
	int connected;      /* the TCP connection was made */
	int tls_done;       /* the TLS handshake ended */
};

/*
 * Set once by fetch_global_init().
 *
 * default_ca: without a ca-file, libcurl's defaults are its CA bundle file
 * and (Debian) also the directory /etc/ssl/certs, made from the same
 * certificates by update-ca-certificates. Read from both, the store is
 * parsed again at every connection; so the bundle alone is used when it
 * is readable (its path here, else "" and libcurl's defaults).
 *
 * want_certinfo: the certificate expiry is read from the TLS connection
 * (OpenSSL) at the first response header. CURLOPT_CERTINFO, which prints
 * every certificate of the chain into text at each handshake, is only
 * the fallback for other TLS libraries.
 */
static char default_ca[4096];
static int want_certinfo = 1;

/* Keep libcurl's built-in CA bundle file in default_ca when it is
 * readable (then the system trust store is read from it alone). */
static void
find_default_bundle(void)
{
	default_ca[0] = '\0';
#if LIBCURL_VERSION_NUM >= 0x075400
	CURL *c = curl_easy_init();
	char *path = NULL;

	if (c != NULL &&
	    curl_easy_getinfo(c, CURLINFO_CAINFO, &path) == CURLE_OK &&
	    path != NULL && access(path, R_OK) == 0)
		str_copy(default_ca, sizeof(default_ca), path);
	curl_easy_cleanup(c);
#endif
}

/*
 * The trust stores, one per CA file, each parsed once for the process
 * and shared by the connections of every service thread (OpenSSL only;
 * libcurl would keep one per multi handle, about 1 MB each with the
 * system bundle). A connection gets its file's store as its verify store
 * in CURLOPT_SSL_CTX_FUNCTION (SSL_CTX_set1_verify_cert_store: reference
 * counted; verification only reads it, under its own lock, so threads may
 * verify with it at once) while CURLOPT_CAINFO and CAPATH are unset:
 * libcurl 7.88 then loads nothing itself, and what it still sets up (the
 * flags below) goes to the connection's own, unused, store. The store
 * gets those flags here instead. A file that cannot be parsed is left to
 * libcurl, so that its failure reads as before.
 */
struct trust {
	char *path;
	X509_STORE *store; /* NULL: not parsed, libcurl loads the file */
	struct trust *next;
};

static struct {
	pthread_mutex_t lock;
	struct trust *list;
} trusts = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * OpenSSL decodes a certificate's extensions (key identifiers, basic
 * constraints) the first time a verification looks at them, and caches
 * them in the certificate. Done here, while the store is still this
 * thread's own, every later use by the threads that share it only reads.
 */
static void
trust_cache_extensions(X509_STORE *st)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
	int i;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

		if (x != NULL)
			X509_check_purpose(x, -1, 0);
	}
}

/* Does st hold a certificate? (A PEM file of CRLs alone loads too.) */
static int
trust_has_cert(X509_STORE *st)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
		if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) ==
		    X509_LU_X509)
			return 1;
	return 0;
}

/* Add the certificates and CRLs of the PEM text read from fd to st, as
 * X509_STORE_load_file() adds those of a file (X509_load_cert_crl_file()
 * reads them so). Returns whether it held any and all were added. */
static int
trust_add_pem(X509_STORE *st, int fd)
{
	BIO *in = BIO_new_fd(fd, BIO_NOCLOSE);
	STACK_OF(X509_INFO) *inf = NULL;
	int ok;

	if (in != NULL)
		inf = PEM_X509_INFO_read_bio(in, NULL, NULL, NULL);
	ok = inf != NULL && sk_X509_INFO_num(inf) > 0;
	for (int i = 0; ok && i < sk_X509_INFO_num(inf); i++) {
		X509_INFO *it = sk_X509_INFO_value(inf, i);

		if (it->x509 != NULL && X509_STORE_add_cert(st, it->x509) != 1)
			ok = 0;
		if (it->crl != NULL && X509_STORE_add_crl(st, it->crl) != 1)
			ok = 0;
	}
	sk_X509_INFO_pop_free(inf, X509_INFO_free);
	BIO_free(in);
	return ok;
}

/* A new store holding the certificates of the PEM file open as fd, with
 * the flags libcurl gives a store when verifying the peer, or NULL (also
 * when it holds no certificate). */
static X509_STORE *
trust_load(int fd)
{
	X509_STORE *st = X509_STORE_new();
	int ok;

	if (st == NULL)
		return NULL;
	ok = trust_add_pem(st, fd) && trust_has_cert(st);
	/* as libcurl: chains from the store first, and an intermediate
	 * certificate in it is a trust anchor too */
	ok = ok && X509_STORE_set_flags(st, X509_V_FLAG_TRUSTED_FIRST |
	                                        X509_V_FLAG_PARTIAL_CHAIN) == 1;
	if (!ok) {
		X509_STORE_free(st);
		return NULL;
	}
	trust_cache_extensions(st);
	return st;
}

/* The process's store for the CA file path, parsed at the first call for
 * it: from fd, the file open for reading, or, with fd -1, from path
 * opened here. NULL if it cannot be parsed. Valid until
 * fetch_global_cleanup(). */
static X509_STORE *
trust_store(const char *path, int fd)
{
	struct trust *t;
	X509_STORE *st;
	int own = -1;

	pthread_mutex_lock(&trusts.lock);
	for (t = trusts.list; t != NULL; t = t->next)
		if (strcmp(t->path, path) == 0)
			break;
	if (t == NULL) {
		if (fd == -1)
			fd = own = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			                          O_NONBLOCK);
		t = xcalloc(1, sizeof(*t));
		t->path = xstrdup(path);
		t->store = fd != -1 ? trust_load(fd) : NULL;
		t->next = trusts.list;
		trusts.list = t;
	}
	st = t->store;
	pthread_mutex_unlock(&trusts.lock);
	if (own != -1)
		close(own);
	return st;
}

int
fetch_ca_file_load(const char *path, int fd, struct diag *d)
{
	if (trust_store(path, fd) == NULL) {
		diag_error(d, "%s: no PEM certificate could be read from it",
		           path_shown(path, '\0', NULL, 0));
		return -1;
	}
	return 0;
}

int
fetch_ca_file_check(const char *path, struct diag *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int rc;

	if (fd == -1) {
		diag_error(d, "%s: cannot read: %s",
		           path_shown(path, '\0', NULL, 0), strerror(errno));
		return -1;
	}
	rc = fetch_ca_file_load(path, fd, d);
	close(fd);
	return rc;
}

/* Free the stores (no connection may be using them). */
static void
trust_free_all(void)
{
	struct trust *t;

	pthread_mutex_lock(&trusts.lock);
	while ((t = trusts.list) != NULL) {
		trusts.list = t->next;
		X509_STORE_free(t->store);
		free(t->path);
		free(t);
	}
	pthread_mutex_unlock(&trusts.lock);
}

/* The SSL_CTX ex_data index that points a connection's SSL_CTX at its
 * transfer (libcurl makes an SSL_CTX for each connection, which is closed
 * with its transfer: CURLOPT_FORBID_REUSE). Set by fetch_global_init(). */
static int xfer_ex_index = -1;

/* An IP address literal host ("192.0.2.1", "[2001:db8::1]") without its
 * brackets into ip (size bytes): returns 1, or 0 for a host name. */
static int
host_ip_literal(const char *host, char *ip, size_t size)
{
	unsigned char bin[16];
	size_t n = strlen(host);

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= size)
		return 0;
	memcpy(ip, host, n);
	ip[n] = '\0';
	return inet_pton(AF_INET, ip, bin) == 1 ||
	       inet_pton(AF_INET6, ip, bin) == 1;
}

/*
 * Does cert name host in its subjectAltName, as senders match it? RFC
 * 8461 section 3.3: "Matching is performed only against the DNS-ID
 * identifiers", never the subject CN, to which libcurl's own check falls
 * back when a certificate has no subjectAltName. A wildcard is a whole
 * left-most "*" only (RFC 6125 section 6.4.3; as libcurl). An IP address
 * literal (a verify-url such as https://127.0.0.1/..., which no sender
 * fetches) must be a subjectAltName IP address, again not the CN.
 */
static int
cert_names_host(X509 *cert, const char *host)
{
	char ip[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (host_ip_literal(host, ip, sizeof(ip)))
		return X509_check_ip_asc(cert, ip, 0) == 1;
	if (n > 1 && host[n - 1] == '.')
		n--; /* an absolute name: the same host */
	return X509_check_host(cert, host, n,
	                       X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	                           X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	                       NULL) == 1;
}

/* Does cert name host in its subjectAltName or its subject CN? Asked
 * once cert_names_host() said no: then it is the CN that does. */
static int
cert_cn_names_host(X509 *cert, const char *host)
{
	char ip[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (host_ip_literal(host, ip, sizeof(ip)))
		host = ip, n = strlen(ip);
	else if (n > 1 && host[n - 1] == '.')
		n--;
	return X509_check_host(cert, host, n,
	                       X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT |
	                           X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	                       NULL) == 1;
}

/* The subjectAltName entry g of type (GEN_DNS or GEN_IPADD), printable,
 * into name (size bytes); "?" for an IP address of no known length. */
static void
cert_name_of(const GENERAL_NAME *g, int type, char *name, size_t size)
{
	const ASN1_STRING *v = type == GEN_DNS ? g->d.dNSName : g->d.ip;
	int len = ASN1_STRING_length(v);

	str_copy(name, size, "?");
	if (type == GEN_DNS)
		str_printable((const char *)ASN1_STRING_get0_data(v),
		              (size_t)len, name, size);
	else if (len == 4 || len == 16)
		inet_ntop(len == 4 ? AF_INET : AF_INET6,
		          ASN1_STRING_get0_data(v), name, (socklen_t)size);
}

/* The subjectAltName entries of cert of type (GEN_DNS or GEN_IPADD),
 * printable and separated by ", ", into out (size bytes); "" if there is
 * none. Names are whole: those that do not fit are left out, and said
 * to be by a last ", ..." (or "..." alone). Never the subject CN:
 * senders do not use it. */
static void
cert_describe(X509 *cert, int type, char *out, size_t size)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	size_t o = 0, kept = 0; /* kept: the names with room for ", ..." */
	int cut = 0;

	out[0] = '\0';
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char name[128];
		size_t n;

		if (g->type != type)
			continue;
		cert_name_of(g, type, name, sizeof(name));
		n = strlen(name) + (o > 0 ? 2 : 0);
		if (o + n >= size) {
			cut = 1;
			break;
		}
		snprintf(out + o, size - o, "%s%s", o > 0 ? ", " : "", name);
		o += n;
		if (o + strlen(", ...") < size)
			kept = o;
	}
	GENERAL_NAMES_free(gens);
	if (cut)
		snprintf(out + kept, size - kept, "%s",
		         kept > 0   ? ", ..."
		         : size > 3 ? "..."
		                    : "");
}

/* The notAfter of cert, or 0 if it cannot be read. */
static time_t
cert_not_after(const X509 *cert)
{
	struct tm tm;
	time_t t;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return 0;
	t = timegm(&tm);
	return t == -1 ? 0 : t;
}

/* OpenSSL's verify callback: OpenSSL's verdict, and at the server's own
 * certificate (depth 0) the name check of senders (cert_names_host():
 * libcurl's would accept a CN), which refuses the handshake as a sender
 * would, before any request is sent. That certificate is kept by its
 * transfer, to be described if the connection is refused. */
static int
on_verify(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
	    sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct xfer *x = ssl != NULL ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	                                                   xfer_ex_index)
	                             : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(sctx);

	if (x == NULL || cert == NULL ||
	    X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	if (x->peer == NULL && X509_up_ref(cert) == 1)
		x->peer = cert;
	if (ok && !cert_names_host(cert, x->host)) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_HOSTNAME_MISMATCH);
		return 0;
	}
	return ok;
}

/* libcurl's CURLOPT_SSL_CTX_FUNCTION: the connection verifies the peer
 * against the shared store of its transfer arg (if it has one), and with
 * on_verify(), which it tells its transfer. Failing fails the connection:
 * without on_verify() the host name would not be checked as senders do. */
static CURLcode
on_ssl_ctx(CURL *c, void *ssl_ctx, void *arg)
{
	struct xfer *x = arg;

	(void)c;
	x->tcp_done = 1; /* libcurl starts TLS on a connection made */
	if (x->trust != NULL &&
	    SSL_CTX_set1_verify_cert_store(ssl_ctx, x->trust) != 1)
		return CURLE_SSL_CERTPROBLEM;
	if (xfer_ex_index < 0 ||
	    SSL_CTX_set_ex_data(ssl_ctx, xfer_ex_index, x) != 1)
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_verify(ssl_ctx, SSL_CTX_get_verify_mode(ssl_ctx),
	                   on_verify);
	return CURLE_OK;
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
	if (xfer_ex_index < 0)
		xfer_ex_index =
		    SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	find_default_bundle();
	return 0;
}

void
fetch_global_cleanup(void)
{
	svc_stop();
	trust_free_all();
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
	text_vformat(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/*
 * Why host, a URL's as libcurl reads it, cannot be looked up, into why
 * (size bytes): a name longer than the FETCH_HOST_MAX characters of a DNS
 * name (a trailing dot not counted), its start shown and the cut marked.
 * Returns 1, or 0 if it is no longer.
 */
static int
host_too_long(const char *host, char *why, size_t size)
{
	size_t n = strlen(host);

	if (n > 0 && host[n - 1] == '.')
		n--;
	if (n <= FETCH_HOST_MAX)
		return 0;
	/* an IDN host (libcurl keeps its UTF-8): whole characters */
	snprintf(why, size,
	         "the URL's host %.*s... is %zu characters long, more than "
	         "the %u of a DNS name",
	         (int)text_utf8_head(host, 48), host, n, FETCH_HOST_MAX);
	return 1;
}

int
fetch_url_host_check(const char *url, struct diag *d)
{
	CURLU *u = curl_url();
	char *host = NULL, why[160];
	int rc = 0;

	/* a URL that libcurl cannot read, or whose host holds a control
	 * character, is refused when it is fetched */
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    !str_has_control(host) && host_too_long(host, why, sizeof(why))) {
		diag_error(d, "%s", why);
		rc = -1;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/*
 * Split url into host and port for messages, and refuse anything but an
 * absolute https URL whose host can be looked up. Returns 0, or -1 with
 * the reason in x->job->result.
 */
static int
xfer_parse_url(struct xfer *x, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, why[160], shown[320];
	int rc = -1;

	if (u == NULL) {
		result_error(&x->job->result, "out of memory");
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    str_has_control(host)) {
		/* libcurl refuses a URL with a control character in it,
		 * but decodes "%7F" in a host: no name to look up */
		result_error(
		    &x->job->result, "not a valid URL: %s",
		    str_printable_utf8(url, strlen(url), shown, sizeof(shown)));
	} else if (ascii_casecmp(scheme, "https") != 0) {
		result_error(&x->job->result,
		             "%s:// URL refused: policies are fetched over "
		             "https only (RFC 8461 section 3.3)",
		             scheme);
	} else if (host_too_long(host, why, sizeof(why))) {
		result_error(&x->job->result, "%s", why);
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

int
fetch_media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (ascii_ncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	return *ct == '\0' || *ct == ';' || *ct == ' ' || *ct == '\t';
}

/* Whether a Content-Type value is text/plain (RFC 8461 section 3.2). */
static int
content_type_ok(const char *ct)
{
	return fetch_media_type_is(ct, "text/plain");
}

/* Whether a body is read after a head of status and Content-Type ct
 * (xfer_check_head()). */
static int
head_wanted(long status, const char *ct)
{
	return status == 200 &&
	       (content_type_ok(ct) || fetch_media_type_is(ct, "text/html"));
}

/* At the first body byte: refuse a status other than 200 or a wrong
 * Content-Type now rather than after downloading an error page. A 200
 * text/html body is read all the same (up to POLICY_MAX_SIZE): it may be
 * the file itself served with a wrong type, which a verification tells
 * from a fallback page by its bytes. */
static int
xfer_check_head(struct xfer *x)
{
	long status = 0;
	char *ct = NULL;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ct);
	if (!head_wanted(status, ct)) {
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
 * for messages, printable, and marked "..." where one too long for
 * x->reason is cut; a new status line also forgets an earlier Location. */
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
	if (i < len && data[i] != '\r' && data[i] != '\n')
		memcpy(x->reason + n - 3, "...", 3);
	x->reason[n] = '\0';
	free(x->location);
	x->location = NULL;
	x->head_done = 0;
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
#ifndef USE_OPENSSL_1_1_API
	cert = SSL_get0_peer_certificate(ti->internals);
#else
	cert = SSL_get_peer_certificate(ti->internals);
#endif
	if (cert != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		t = timegm(&tm);
#ifdef USE_OPENSSL_1_1_API
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
	} else if (len > 0 && len <= 2 &&
	           (data[0] == '\r' || data[0] == '\n')) {
		x->head_done = 1;
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

/* Make libcurl's socket (address a) close-on-exec from its creation,
 * which libcurl does not: a publish-command forked meanwhile by another
 * thread gets none, even before its supervisor closes every descriptor it
 * inherited. The address is kept for the result (libcurl gives none for
 * a connection refused). Returns the socket, or CURL_SOCKET_BAD (-1). */
static curl_socket_t
open_socket(void *data, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct fetch_result *r = &((struct xfer *)data)->job->result;
	const struct sockaddr_in *in = (const void *)&a->addr;
	const struct sockaddr_in6 *in6 = (const void *)&a->addr;

	(void)purpose;
	if (a->family == AF_INET &&
	    inet_ntop(AF_INET, &in->sin_addr, r->addr, sizeof(r->addr)))
		r->port = ntohs(in->sin_port);
	else if (a->family == AF_INET6 &&
	         inet_ntop(AF_INET6, &in6->sin6_addr, r->addr, sizeof(r->addr)))
		r->port = ntohs(in6->sin6_port);
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
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
	bad |= curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket) !=
	       CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
	                        (curl_off_t)POLICY_MAX_SIZE) != CURLE_OK;
	/* a policy is a few hundred bytes: a 4 KiB receive buffer instead of
	 * 16 KiB for each transfer in flight */
	bad |= curl_easy_setopt(c, CURLOPT_BUFFERSIZE, FETCH_BUFFER_SIZE) !=
	       CURLE_OK;
	/* libcurl (7.88) copies every HTTPS request, a GET of a few hundred
	 * bytes here, into an upload buffer of its own, 64 KiB unless told:
	 * one per transfer in flight, freed with its handle */
	bad |= curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE,
	                        FETCH_UPLOAD_BUFFER_SIZE) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT,
	                        "mta-sts-sync/" PACKAGE_VERSION) != CURLE_OK;
	return bad ? -1 : 0;
}

/* Set the trust store: a ca-file replaces the system store (libcurl's
 * bundle file alone when readable, see default_ca); the process's parsed
 * copy of it when there is one, else the file for libcurl to read. With
 * OpenSSL, on_ssl_ctx() sets that store and on_verify(), the name check
 * of senders, in either case. Returns 0 or -1. */
static int
xfer_set_trust(struct xfer *x, const struct fetch_opts *o)
{
	const char *ca = o->ca_file ? o->ca_file : default_ca;
	CURL *c = x->curl;
	int bad = 0;

	if (!want_certinfo) {
		if (*ca != '\0')
			x->trust = trust_store(ca, -1);
		bad |= curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION,
		                        on_ssl_ctx) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, x) != CURLE_OK;
	}
	if (x->trust != NULL) {
		bad |= curl_easy_setopt(c, CURLOPT_CAINFO, NULL) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK;
		return bad ? -1 : 0;
	}
	if (o->ca_file != NULL)
		bad |=
		    curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file) != CURLE_OK;
	/* no CA directory beside the file */
	if (*ca != '\0')
		bad |= curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK;
	return bad ? -1 : 0;
}

/*
 * Give x a DNS cache of its own for its resolve entries. libcurl adds them
 * to the cache of the multi handle that runs the transfer, where they
 * never expire, and every later transfer of that handle to the same host
 * and port then connected where they said: the entries of one domain (or
 * of options another domain overrides) reached the fetches of another.
 * Returns 0 or -1.
 */
static int
xfer_own_dns(struct xfer *x)
{
	x->dns = curl_share_init();
	if (x->dns == NULL ||
	    curl_share_setopt(x->dns, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	        CURLSHE_OK)
		return -1;
	return curl_easy_setopt(x->curl, CURLOPT_SHARE, x->dns) == CURLE_OK
	           ? 0
	           : -1;
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
	bad |= xfer_set_trust(x, o);
	if (x->resolve != NULL)
		bad |= xfer_own_dns(x);
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
		result_error(&job->result,
		             "libcurl refused an option the transfer needs "
		             "(https only, certificate verification, timeouts, "
		             "resolve entries), or memory ran out");
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
	/* after the transfer that used it */
	if (x->dns != NULL)
		curl_share_cleanup(x->dns);
	x->dns = NULL;
	X509_free(x->peer);
	x->peer = NULL;
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

/*
 * Say why cert, which does not name the transfer's host in its
 * subjectAltName (cert_names_host()), is refused: the names it has
 * instead; or that it names the host in its subject CN only; or that it
 * has no name of the host's kind at all. cert may be NULL (unseen).
 */
static void
cert_name_error(const struct xfer *x, X509 *cert, struct fetch_result *r)
{
	char ip[INET6_ADDRSTRLEN + 2], names[160] = "";
	int is_ip = host_ip_literal(x->host, ip, sizeof(ip));
	const char *kind = is_ip ? "IP address" : "DNS name";

	if (cert != NULL)
		cert_describe(cert, is_ip ? GEN_IPADD : GEN_DNS, names,
		              sizeof(names));
	if (cert == NULL || names[0] != '\0')
		result_error(r,
		             "TLS certificate of %s not accepted: certificate "
		             "is for another name%s%s%s",
		             x->host, names[0] ? " (it names " : "", names,
		             names[0] ? ")" : "");
	else if (cert_cn_names_host(cert, x->host))
		result_error(r,
		             "TLS certificate of %s not accepted: it names "
		             "the host only in its subject CN, not in a "
		             "subjectAltName %s, which senders require (RFC "
		             "8461 section 3.3)",
		             x->host, kind);
	else
		result_error(r,
		             "TLS certificate of %s not accepted: certificate "
		             "is for another name: it has no %s in its "
		             "subjectAltName, and the CN is not used (RFC 8461 "
		             "section 3.3)",
		             x->host, kind);
}

/* The server certificate from libcurl's chain information ("Cert:", in
 * PEM; for TLS libraries other than OpenSSL), or NULL. The caller frees
 * it. */
static X509 *
certinfo_peer(struct xfer *x)
{
	struct curl_certinfo *ci = NULL;
	const struct curl_slist *s;
	X509 *cert = NULL;
	BIO *b;

	if (curl_easy_getinfo(x->curl, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return NULL;
	for (s = ci->certinfo[0]; s != NULL && cert == NULL; s = s->next) {
		if (strncmp(s->data, "Cert:", 5) != 0)
			continue;
		b = BIO_new_mem_buf(s->data + 5, -1);
		if (b != NULL)
			cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	return cert;
}

/*
 * With a TLS library other than OpenSSL, on_verify() does not run: once
 * a transfer got an answer, the server certificate is read from libcurl's
 * chain information and checked as senders check it (cert_names_host()).
 * Returns 0, or -1 with the reason in r and its status cleared (the
 * answer does not count: the certificate is refused), also when the
 * certificate cannot be read.
 */
static int
xfer_check_certinfo(struct xfer *x, struct fetch_result *r)
{
	X509 *cert = certinfo_peer(x);
	int ok = cert != NULL && cert_names_host(cert, x->host);

	if (cert == NULL)
		result_error(r,
		             "TLS certificate of %s not accepted: its "
		             "subjectAltName, which senders check (RFC 8461 "
		             "section 3.3), cannot be read from libcurl",
		             x->host);
	else if (!ok)
		cert_name_error(x, cert, r);
	if (!ok) {
		r->status = 0;
		r->fail = FETCH_FAIL_CERT;
	}
	X509_free(cert);
	return ok ? 0 : -1;
}

/* Describe a TLS verification failure: the X.509 reason when OpenSSL
 * gave one (v, its verdict), else a host name mismatch
 * (cert_name_error()); with the end of validity of an expired
 * certificate, when the handshake saw it. */
static void
xfer_tls_error(struct xfer *x, long v, struct fetch_result *r)
{
	/* on_verify() keeps it; else libcurl's chain information may have it */
	X509 *own = x->peer == NULL && want_certinfo ? certinfo_peer(x) : NULL;
	X509 *cert = x->peer != NULL ? x->peer : own;
	time_t not_after = cert != NULL ? cert_not_after(cert) : 0;
	char what[64] = "";
	struct tm tm;

	if (strstr(x->errbuf, "host name") != NULL ||
	    v == X509_V_ERR_HOSTNAME_MISMATCH) {
		cert_name_error(x, cert, r);
	} else if (v != 0) {
		if (v == X509_V_ERR_CERT_HAS_EXPIRED && not_after != 0 &&
		    gmtime_r(&not_after, &tm) != NULL) {
			strftime(what, sizeof(what), " (valid until %Y-%m-%d)",
			         &tm);
			r->cert_expiry = not_after; /* for the fix: renew */
		}
		result_error(r, "TLS certificate of %s not accepted: %s%s",
		             x->host, X509_verify_cert_error_string(v), what);
	} else {
		result_error(r, "TLS certificate of %s not accepted: %s",
		             x->host, x->errbuf);
	}
	X509_free(own);
}

/* Describe a failed connection, by the system error behind it (err,
 * or 0). */
static void
xfer_connect_error(const struct xfer *x, long err, struct fetch_result *r)
{
	if (err == ECONNREFUSED) {
		r->fail = FETCH_FAIL_REFUSED;
		result_error(r, "connection to %s port %s refused", x->host,
		             x->port);
	} else if (err != 0) {
		result_error(r, "cannot connect to %s port %s: %s", x->host,
		             x->port, strerror((int)err));
	} else {
		result_error(r, "cannot connect to %s port %s: %s", x->host,
		             x->port, x->errbuf);
	}
}

/*
 * What to add to the reason of a host that cannot be resolved, into out
 * (size bytes): when a resolve entry names the host for another port than
 * the URL's (curl's entries are by host and port), that entry's port;
 * else "".
 */
static void
resolve_port_hint(const struct xfer *x, char *out, size_t size)
{
	size_t n = strlen(x->host);

	out[0] = '\0';
	for (const struct curl_slist *s = x->resolve; s != NULL; s = s->next) {
		const char *port, *end;

		/* the port is read only in an entry that holds the host and a
		 * ':' after it: a shorter entry ends before it */
		if (strlen(s->data) <= n || s->data[n] != ':' ||
		    ascii_ncasecmp(s->data, x->host, n) != 0)
			continue;
		port = s->data + n + 1;
		end = strchr(port, ':');
		if (end == NULL ||
		    ((size_t)(end - port) == strlen(x->port) &&
		     memcmp(port, x->port, strlen(x->port)) == 0))
			continue;
		snprintf(out, size,
		         " (a resolve entry names %s for port %.*s; the URL "
		         "uses port %s)",
		         x->host, (int)(end - port), port, x->port);
		return;
	}
}

/* The advice that ends a timeout's reason, into out (size bytes): which
 * setting to raise if the other end is only slow, when the caller named
 * the one that sets x->timeout (and, for a connection not made, when
 * that setting is what limited it: else the 10 s cap did); else "". */
static void
timeout_hint(const struct xfer *x, int connecting, char *out, size_t size)
{
	const char *setting = x->job->opts->timeout_setting;

	out[0] = '\0';
	if (setting != NULL &&
	    (!connecting || x->connect_timeout == x->timeout))
		snprintf(out, size, "; raise `%s` if it is only slow", setting);
}

/*
 * The reason of a transfer that ran out of time, into r (timed_out set),
 * by where it stalled, which calls for different fixes: no TCP connection
 * (routing, a firewall), a connection whose TLS handshake never ended (not
 * an HTTPS port, or a server that takes connections and never answers), a
 * request without a status line in reply (a hung web server or its
 * backend), a head cut short, or a body that did not finish (with how
 * much came). connected and tls_done say whether libcurl saw the
 * connection made and the handshake done, size is the Content-Length (-1
 * if none came). A status line received (r->status) implies both, since
 * a libcurl may report neither time for a transfer that failed. Plain
 * values, so that the fuzz target can try each case.
 */
static void
timeout_words(const struct xfer *x, struct fetch_result *r, int connected,
              int tls_done, curl_off_t size)
{
	char hint[128], of[48] = "";

	r->timed_out = 1;
	if (r->status != 0)
		connected = tls_done = 1;
	timeout_hint(x, !connected, hint, sizeof(hint));
	if (size >= 0)
		snprintf(of, sizeof(of), " of %lld", (long long)size);
	if (!connected)
		result_error(r, "cannot connect to %s port %s within %u s%s",
		             x->host, x->port, x->connect_timeout, hint);
	else if (!tls_done)
		result_error(
		    r,
		    "connected to %s port %s, but the TLS handshake "
		    "did not finish within %u s (not an HTTPS port, or "
		    "a server that takes connections and never "
		    "answers?)%s",
		    x->host, x->port, x->timeout, hint);
	else if (r->status == 0)
		result_error(r,
		             "%s port %s took the request, but sent no HTTP "
		             "response within %u s (a hung web server, or a "
		             "slow application behind it?)%s",
		             x->host, x->port, x->timeout, hint);
	else if (!x->head_done)
		result_error(r,
		             "HTTP %ld from %s, but its headers did not finish "
		             "within %u s: the response stopped after its "
		             "status line (check the web server and any proxy "
		             "in front of it)%s",
		             r->status, x->host, x->timeout, hint);
	else
		result_error(r,
		             "HTTP %ld from %s, but the body did not finish "
		             "within %u s (%zu%s bytes received): a stalled or "
		             "very slow server%s",
		             r->status, x->host, x->timeout, x->body.len, of,
		             hint);
}

/* libcurl's words of a failed handshake (text) without the host and
 * port they may end with (" in connection to H:P"), into out (size
 * bytes): a host named mta-sts.redalert.example is no TLS alert. */
static const char *
handshake_words(const char *text, char *out, size_t size)
{
	const char *end = strstr(text, " in connection to ");
	size_t n = end != NULL ? (size_t)(end - text) : strlen(text);

	if (n >= size)
		n = size - 1;
	memcpy(out, text, n);
	out[n] = '\0';
	return out;
}

/*
 * The kind of a failed TLS handshake from libcurl's words without the
 * host and port (words: handshake_words()) and the socket's errno
 * (os_errno, 0 if none): FETCH_FAIL_TLS, what the server or its port
 * answered (an alert, or no TLS at all), only on that evidence: an
 * OpenSSL reason ("error:...:SSL routines:...", an alert, "wrong
 * version number", "packet length too long"). Anything else is
 * FETCH_FAIL_CUT, a connection reset or closed (a web server
 * restarting, a proxy whose web server is not up yet), retried. libcurl
 * says a cut in words that changed: "OpenSSL SSL_connect: Connection
 * reset by peer in connection to H:P " with errno 0 (7.68 to 7.86, which
 * hand OpenSSL the socket), "... SSL_ERROR_SYSCALL ..." or "Recv
 * failure: Connection reset by peer" with errno set (7.87 on), OpenSSL
 * 3's "unexpected eof while reading" (an SSL routines reason, but a
 * close).
 */
static enum fetch_fail
handshake_kind(const char *words, long os_errno)
{
	static const char *const refused[] = {
	    "SSL routines",           "alert",
	    "wrong version number",   "unrecognized name",
	    "packet length too long", "unknown protocol",
	    "unsupported protocol",   "handshake failure",
	    "record layer failure",   "version too low"};
	size_t i;

	if (os_errno == ECONNRESET || os_errno == EPIPE ||
	    os_errno == ECONNABORTED || strstr(words, "unexpected eof") != NULL)
		return FETCH_FAIL_CUT;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strstr(words, refused[i]) != NULL)
			return FETCH_FAIL_TLS;
	return FETCH_FAIL_CUT;
}

/* The kind of a failed TLS handshake from libcurl's whole words (text),
 * the host and port they may end with not counted (handshake_kind()). */
enum fetch_fail
fetch_handshake_kind(const char *text, long os_errno)
{
	char words[CURL_ERROR_SIZE];

	return handshake_kind(handshake_words(text, words, sizeof(words)),
	                      os_errno);
}

/* Describe a failed TLS handshake (rc; err, the socket's errno or 0) by
 * its kind (handshake_kind(), judged on libcurl's words cut once of the
 * host and port): one cut by its connection in words of our own
 * (libcurl's name the host twice and mean nothing to an operator), any
 * other as the port's (FETCH_FAIL_TLS) with the TLS library's reason. */
static void
xfer_handshake_error(struct xfer *x, CURLcode rc, long err,
                     struct fetch_result *r)
{
	size_t n = strlen(x->errbuf);
	char words[CURL_ERROR_SIZE];

	/* libcurl may end its words with a blank */
	while (n > 0 && x->errbuf[n - 1] == ' ')
		x->errbuf[--n] = '\0';
	handshake_words(x->errbuf, words, sizeof(words));
	r->fail = handshake_kind(words, err);
	if (r->fail == FETCH_FAIL_CUT)
		result_error(r,
		             "the connection to %s port %s was %s during the "
		             "TLS handshake",
		             x->host, x->port,
		             err == ECONNRESET || strstr(words, "reset")
		                 ? "reset"
		                 : "closed, before the server sent anything,");
	else
		result_error(r, "TLS handshake with %s port %s failed: %s",
		             x->host, x->port,
		             n ? x->errbuf : curl_easy_strerror(rc));
}

/*
 * Describe a transfer whose connection was reset or closed by the other
 * end after the TLS handshake (rc: a send or receive failure, no reply
 * at all, a body cut short): a web server restarting or stopping in the
 * middle of a response, a proxy whose backend went away. Such a cut is
 * FETCH_FAIL_CUT, retried as one in the handshake is, and said in words
 * of our own: where it happened, what of the response came (f->size:
 * its Content-Length). A close after the request, before any response,
 * is FETCH_FAIL_NO_RESPONSE: a restart too, but also what a
 * configuration answers that closes the connection on purpose (nginx
 * `return 444`). Returns 0, or -1 (r untouched) for another failure, or
 * one of those codes without the evidence of a cut (a TLS alert after
 * the handshake, a network error), which keeps libcurl's words.
 */
static int
xfer_cut_error(const struct xfer *x, CURLcode rc, const struct xfer_facts *f,
               struct fetch_result *r)
{
	const char *how = NULL;
	char of[48] = "";
	long err = f->os_errno;

	if (rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR &&
	    rc != CURLE_GOT_NOTHING && rc != CURLE_PARTIAL_FILE)
		return -1;
	if (err == ECONNRESET || strstr(x->errbuf, "reset") != NULL)
		how = "reset";
	else if (rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
	         err == EPIPE || err == ECONNABORTED ||
	         strstr(x->errbuf, "unexpected eof") != NULL ||
	         strstr(x->errbuf, "Broken pipe") != NULL)
		how = "closed";
	if (how == NULL)
		return -1;
	r->fail = FETCH_FAIL_CUT;
	if (f->size >= 0)
		snprintf(of, sizeof(of), " of %lld", (long long)f->size);
	if (r->status == 0 && how[0] == 'c' &&
	    (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR))
		r->fail = FETCH_FAIL_NO_RESPONSE;
	if (r->status == 0)
		result_error(r,
		             "the connection to %s port %s was %s after the "
		             "TLS handshake, before any response",
		             x->host, x->port, how);
	else
		result_error(r,
		             "HTTP %ld from %s, but the connection was %s "
		             "before the response ended (%zu%s bytes received)",
		             r->status, x->host, how, x->body.len, of);
	return 0;
}

/* What libcurl tells of x's failed transfer, into f. */
static void
xfer_facts_read(struct xfer *x, struct xfer_facts *f)
{
	double tcp = 0, tls = 0;

	memset(f, 0, sizeof(*f));
	f->size = -1;
	curl_easy_getinfo(x->curl, CURLINFO_OS_ERRNO, &f->os_errno);
	curl_easy_getinfo(x->curl, CURLINFO_SSL_VERIFYRESULT,
	                  &f->verify_result);
	curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
	                  &f->size);
	curl_easy_getinfo(x->curl, CURLINFO_CONNECT_TIME, &tcp);
	curl_easy_getinfo(x->curl, CURLINFO_APPCONNECT_TIME, &tls);
	f->connected = x->tcp_done || tcp > 0;
	f->tls_done = tls > 0;
}

/* Turn a libcurl failure (rc) into words, from what libcurl told of it
 * (f) and what the callbacks kept in x. */
static void
curl_error_words(struct xfer *x, CURLcode rc, const struct xfer_facts *f,
                 struct fetch_result *r)
{
	char hint[DIAG_MSG_MAX];

	/* libcurl cuts its words at CURL_ERROR_SIZE bytes, maybe inside a
	 * character of an IDN host it names */
	text_utf8_trim(x->errbuf);
	if (xfer_cut_error(x, rc, f, r) == 0)
		return;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		resolve_port_hint(x, hint, sizeof(hint));
		result_error(r, "cannot resolve %s%s", x->host, hint);
		break;
	case CURLE_COULDNT_CONNECT:
		xfer_connect_error(x, f->os_errno, r);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		timeout_words(x, r, f->connected, f->tls_done, f->size);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
#if LIBCURL_VERSION_NUM < 0x073e00
	case CURLE_SSL_CACERT:
#endif
		r->fail = FETCH_FAIL_CERT;
		xfer_tls_error(x, f->verify_result, r);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		xfer_handshake_error(x, rc, f->os_errno, r);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		result_error(r, "only https is allowed (RFC 8461 section 3.3)");
		break;
	default:
		result_error(r, "%s: %s", x->host,
		             x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	}
}

/* Turn x's failed transfer (rc) into words (curl_error_words()). */
static void
xfer_curl_error(struct xfer *x, CURLcode rc, struct fetch_result *r)
{
	struct xfer_facts f;

	xfer_facts_read(x, &f);
	curl_error_words(x, rc, &f, r);
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
	char ct[160];

	if (r->status >= 300 && r->status < 400) {
		r->fail = FETCH_FAIL_REDIRECT;
		result_error(r,
		             "HTTP %ld redirect to %s (RFC 8461 section 3.3: "
		             "senders do not follow redirects)",
		             r->status,
		             r->location ? r->location : "(no Location)");
	} else if (r->status != 200) {
		result_error(r, "HTTP %ld%s%s", r->status, *why ? " " : "",
		             why);
	} else if (!content_type_ok(r->content_type)) {
		r->fail = FETCH_FAIL_TYPE;
		if (x->abort == ABORT_NONE && rc == CURLE_OK) {
			r->len = x->body.len;
			r->body = buf_steal(&x->body);
		}
		result_error(r,
		             "Content-Type %s, expected text/plain (RFC 8461 "
		             "section 3.2)",
		             r->content_type
		                 ? str_printable(r->content_type,
		                                 strlen(r->content_type), ct,
		                                 sizeof(ct))
		                 : "missing");
	} else if (x->abort == ABORT_TOO_LARGE ||
	           rc == CURLE_FILESIZE_EXCEEDED) {
		result_error(r, "policy too large: more than %u bytes",
		             POLICY_MAX_SIZE);
	} else if (rc != CURLE_OK) {
		xfer_curl_error(x, rc, r);
	} else {
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
	if (want_certinfo && r->status != 0 && xfer_check_certinfo(x, r) == -1)
		return;
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
 * The transfers of the whole process run on FETCH_SERVICE_THREADS service
 * threads (started at the first fetch, stopped by fetch_global_cleanup()),
 * each driving a multi handle of its own: a TLS handshake costs about a
 * millisecond of CPU, and one thread doing them all was slower than the
 * threads that wait for them. Connections are closed after their transfer
 * (a verify goes to a host that is not asked again), and the trust store
 * is parsed once for the process (trust_store()), so a second thread costs
 * no second copy of it. A fetch_many() call is a batch: the calling thread
 * queues it, and each service thread takes its next job when it has room
 * (at most max_parallel of a batch at once, FETCH_MAX_RUNNING in all,
 * batches served in turn, the thread with fewer transfers first) and hands
 * back each job as it ends; the caller runs the done callbacks. If no
 * thread can be started, the caller drives its batch itself on a multi
 * handle of its own. The child of a fork(2) (publish_run_command) is a
 * command's supervisor, which makes only async-signal-safe calls until
 * it forks the command, which execs: neither touches the service, so a
 * fork while a service thread holds its lock is harmless.
 */
#define FETCH_SERVICE_THREADS 2
#define FETCH_MAX_RUNNING 32 /* transfers at once, all batches together */
#define ENGINE_MAX_RUNNING (FETCH_MAX_RUNNING / FETCH_SERVICE_THREADS)
#define FETCH_MAX_IDLE 4 /* idle connections, were any kept */

/* One fetch_many() call; every field but the jobs' transfers (xs[i], used
 * by the thread that took job i) under svc.lock. */
struct batch {
	struct fetch_job *jobs;
	const size_t *first; /* per job: the job whose transfer serves it */
	struct xfer *xs;     /* per job: its transfer */
	size_t n;
	unsigned max_parallel;
	size_t next;    /* next job to take */
	size_t running; /* jobs taken and not handed back yet */
	size_t *ready;  /* jobs handed back, in the order they ended */
	size_t nready;
	pthread_cond_t cv; /* signalled when a job is handed back */
	struct batch *link;
};

/* A multi handle and the transfers running on it. m and the slots are
 * the driving thread's; running under svc.lock (others read it). */
struct engine {
	CURLM *m;
	struct batch **queue; /* where it takes jobs from */
	int shared;           /* a service thread's: balanced with the others */
	size_t running;
	struct xfer *run[ENGINE_MAX_RUNNING];
};

/* The service: its threads and engines, and the queue of batches with
 * jobs not taken yet. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv; /* idle threads wait here for work */
	pthread_t thread[FETCH_SERVICE_THREADS];
	struct engine e[FETCH_SERVICE_THREADS];
	int nthreads; /* started */
	int stop;     /* fetch_global_cleanup() asks them to end */
	struct batch *queue;
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

/* Wake the service thread with the fewest transfers, unless that is self
 * (which then takes the job itself), when a job was queued or a batch has
 * room again (svc.lock held). */
static void
svc_wake_one(const struct engine *self)
{
	const struct engine *w = self;
	int k;

	for (k = 0; k < svc.nthreads; k++)
		if (w == NULL || svc.e[k].running < w->running)
			w = &svc.e[k];
	if (w == NULL || w == self)
		return;
	if (w->running == 0)
		pthread_cond_broadcast(&svc.cv); /* the idle ones wait there */
#if LIBCURL_VERSION_NUM >= 0x074400
	else if (w->m != NULL)
		curl_multi_wakeup(w->m);
#endif
}

/* The first batch in queue with room for another transfer, or NULL. */
static struct batch **
queue_first_with_room(struct batch **queue)
{
	struct batch **p;

	for (p = queue; *p != NULL; p = &(*p)->link)
		if ((*p)->running < (*p)->max_parallel)
			return p;
	return NULL;
}

/* Whether e may take a job now (svc.lock held): it has room, and no other
 * service thread has fewer transfers (that one takes it). */
static int
engine_has_room(const struct engine *e)
{
	int k;

	if (e->running >= ENGINE_MAX_RUNNING)
		return 0;
	if (e->shared)
		for (k = 0; k < svc.nthreads; k++)
			if (svc.e[k].running < e->running)
				return 0;
	return 1;
}

/* Take the next job for e (svc.lock held): from the first batch in the
 * queue with room, which then goes to the end of the queue (batches
 * served in turn) or, all its jobs taken, out of it. Returns 0 with *bp
 * and *ip set, or -1 if there is none. */
static int
engine_take(struct engine *e, struct batch **bp, size_t *ip)
{
	struct batch **p = queue_first_with_room(e->queue), *b;

	if (p == NULL)
		return -1;
	if (!engine_has_room(e)) {
		if (e->shared && e->running < ENGINE_MAX_RUNNING)
			svc_wake_one(e); /* one with fewer takes it */
		return -1;
	}
	b = *p;
	*ip = b->next++;
	while (b->next < b->n && b->first[b->next] != b->next)
		b->next++;
	b->running++;
	e->running++;
	*p = b->link;
	if (b->next < b->n) {
		while (*p != NULL)
			p = &(*p)->link;
		*p = b;
		b->link = NULL;
	}
	*bp = b;
	return 0;
}

/* Hand job i of b back to its caller, who may free b at once. */
static void
engine_hand_back(struct engine *e, struct batch *b, size_t i)
{
	int reopened;

	pthread_mutex_lock(&svc.lock);
	reopened = b->running-- == b->max_parallel && b->next < b->n;
	e->running--;
	b->ready[b->nready++] = i;
	pthread_cond_signal(&b->cv);
	if (e->shared && reopened)
		svc_wake_one(e);
	pthread_mutex_unlock(&svc.lock);
}

/* Start job i of b on e (one that cannot start is handed back at once
 * with its error). */
static void
engine_start(struct engine *e, struct batch *b, size_t i)
{
	struct xfer *x = &b->xs[i];
	size_t k;

	if (e->m == NULL) {
		result_error(&b->jobs[i].result, "cannot run the transfer");
	} else if (xfer_begin(x, &b->jobs[i]) == 0) {
		x->batch = b;
		if (curl_multi_add_handle(e->m, x->curl) == CURLM_OK) {
			for (k = 0; e->run[k] != NULL; k++)
				;
			e->run[k] = x;
			return;
		}
		result_error(&b->jobs[i].result, "cannot start the transfer");
	}
	xfer_end(x);
	engine_hand_back(e, b, i);
}

/* Start transfers while e may take more. */
static void
engine_fill(struct engine *e)
{
	struct batch *b;
	size_t i;
	int taken;

	for (;;) {
		pthread_mutex_lock(&svc.lock);
		taken = engine_take(e, &b, &i) == 0;
		pthread_mutex_unlock(&svc.lock);
		if (!taken)
			return;
		engine_start(e, b, i);
	}
}

/* Take x out of e's slots and multi handle, free it and hand its job
 * back. */
static void
engine_release(struct engine *e, struct xfer *x)
{
	size_t k;

	for (k = 0; k < ENGINE_MAX_RUNNING; k++)
		if (e->run[k] == x)
			e->run[k] = NULL;
	curl_multi_remove_handle(e->m, x->curl);
	xfer_end(x);
	engine_hand_back(e, x->batch, (size_t)(x - x->batch->xs));
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
		engine_release(e, x);
	}
}

/* The multi handle broke: fail every transfer running on it ("transfer
 * failed: why"); jobs not taken yet stay queued. */
static void
engine_abandon(struct engine *e, const char *why)
{
	struct xfer *x;
	size_t k;

	for (k = 0; k < ENGINE_MAX_RUNNING; k++) {
		if ((x = e->run[k]) == NULL)
			continue;
		result_error(&x->job->result, "transfer failed: %s", why);
		engine_release(e, x);
	}
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
	if (mc == CURLM_OK) {
		engine_collect(e);
		engine_fill(e); /* into the room the ended ones left */
	}
	if (mc == CURLM_OK && e->running > 0)
		mc = curl_multi_poll(e->m, NULL, 0, 1000, NULL);
	if (mc == CURLM_OK)
		return 0;
	engine_abandon(e, curl_multi_strerror(mc));
	return -1;
}

/* Whether e has work (svc.lock held): transfers, or a job it may take. */
static int
engine_busy(struct engine *e)
{
	return e->running > 0 || queue_first_with_room(e->queue) != NULL;
}

/* A service thread: drive its engine until asked to stop while idle. A
 * broken multi handle is replaced (under svc.lock, since callers wake
 * it). */
static void *
svc_main(void *arg)
{
	struct engine *e = arg;
	CURLM *m;

	pthread_mutex_lock(&svc.lock);
	for (;;) {
		if (!engine_busy(e)) {
			if (svc.stop)
				break;
			pthread_cond_wait(&svc.cv, &svc.lock);
			continue;
		}
		pthread_mutex_unlock(&svc.lock);
		m = engine_step(e) == 0 ? NULL : e->m;
		pthread_mutex_lock(&svc.lock);
		if (m != NULL) {
			curl_multi_cleanup(m);
			e->m = engine_multi();
		}
	}
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

/* Start the service threads (svc.lock held); as many as can be. */
static void
svc_start(void)
{
	struct engine *e;
	int k;

	svc.queue = NULL;
	for (k = 0; k < FETCH_SERVICE_THREADS; k++) {
		e = &svc.e[svc.nthreads];
		memset(e, 0, sizeof(*e));
		e->queue = &svc.queue;
		e->shared = 1;
		e->m = engine_multi();
		if (e->m == NULL)
			break;
		if (pthread_create(&svc.thread[svc.nthreads], NULL, svc_main,
		                   e) != 0) {
			curl_multi_cleanup(e->m);
			e->m = NULL;
			break;
		}
		svc.nthreads++;
	}
}

/* Queue b for the service threads, starting them if needed. Returns 0,
 * or -1 if there is no service thread (b was not queued). */
static int
svc_submit(struct batch *b)
{
	struct batch **p;
	int rc = -1;

	pthread_mutex_lock(&svc.lock);
	if (svc.nthreads == 0)
		svc_start();
	if (svc.nthreads > 0) {
		for (p = &svc.queue; *p != NULL; p = &(*p)->link)
			;
		b->link = NULL;
		*p = b;
		svc_wake_one(NULL);
		rc = 0;
	}
	pthread_mutex_unlock(&svc.lock);
	return rc;
}

/* Stop the service threads (when no fetch runs) and free their multi
 * handles. */
static void
svc_stop(void)
{
	int k, n;

	pthread_mutex_lock(&svc.lock);
	n = svc.nthreads;
	svc.stop = 1;
	pthread_cond_broadcast(&svc.cv);
	pthread_mutex_unlock(&svc.lock);
	for (k = 0; k < n; k++) {
		pthread_join(svc.thread[k], NULL);
		curl_multi_cleanup(svc.e[k].m);
		svc.e[k].m = NULL;
	}
	svc.nthreads = 0;
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

/* Wait for the service threads to hand back b's distinct jobs, calling
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

/* Without a service thread: drive b on a multi handle of this thread's
 * own, calling the done callbacks as jobs end. */
static void
batch_run_here(struct batch *b, size_t distinct)
{
	struct batch *queue = b;
	struct engine e;
	size_t seen = 0;

	memset(&e, 0, sizeof(e));
	e.m = engine_multi();
	e.queue = &queue;
	b->link = NULL;
	while (seen < distinct) {
		if (engine_step(&e) == -1) {
			curl_multi_cleanup(e.m);
			e.m = engine_multi();
		}
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
