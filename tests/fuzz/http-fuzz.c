/*
 * http-fuzz.c - fuzz target for what fetch.c reads from a web server
 * and from URLs. It includes src/fetch.c to reach its static readers (the
 * library's fetch.o is then not linked). The first byte chooses what the
 * rest is:
 *   'C' a server certificate (DER): the subjectAltName names it gives
 *       (cert_describe), whether it names a host (cert_names_host,
 *       cert_cn_names_host) and the message of a name mismatch
 *       (cert_name_error);
 *   'U' a URL, then on the next line a Location header's value, then
 *       resolve entries ("HOST:PORT:ADDR") one a line: the URL is split
 *       as a fetch splits it (xfer_parse_url), the Location resolved
 *       against it (absolute_url), and the entries named when its host
 *       cannot be resolved (xfer_curl_error, resolve_port_hint);
 *   anything else: the header lines of a response (on_header, one call
 *       per line as libcurl makes them), with the status and the
 *       Content-Type taken from them as libcurl would, then judged as
 *       a response (xfer_judge_response) and as one that ran out of
 *       time (xfer_timeout_error, and timeout_words with each
 *       combination of connection and handshake done or not).
 * Invariants, else abort: the reason phrase kept is printable ASCII; a
 * Location kept has no line end; no error message holds a control
 * character; a response taken as a policy has status 200 and a
 * text/plain Content-Type; a transfer out of time after a status line
 * stalled in its headers (no blank line came) or its body, never before,
 * and else at the first of connection, handshake and response not done;
 * a URL accepted has a host and a numeric port; a certificate that names
 * a host name in its subjectAltName names it for the CN check too.
 */
#include "../../src/fetch.c"

#include <openssl/x509.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE_URL "https://mta-sts.example.com/.well-known/mta-sts.txt"

/* No byte of s is a control character (C0 or DEL). */
static void
check_no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

/* The HTTP status of a status line ("HTTP/1.1 404 ..."), or 0. */
static long
status_of(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	long st = 0;

	if (sp == NULL || (size_t)(sp - line) + 4 > len)
		return 0;
	for (int i = 1; i <= 3; i++) {
		if (sp[i] < '0' || sp[i] > '9')
			return 0;
		st = st * 10 + (sp[i] - '0');
	}
	return st;
}

/* The value of a Content-Type header line as libcurl gives it (blanks
 * and the line end trimmed), a new string; or NULL for another line. */
static char *
content_type_of(const char *line, size_t len)
{
	size_t n = strlen("Content-Type:");

	if (len < n || ascii_ncasecmp(line, "Content-Type:", n) != 0)
		return NULL;
	while (n < len && (line[n] == ' ' || line[n] == '\t'))
		n++;
	while (len > n && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
	                   line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	return xstrndup(line + n, len - n);
}

/* What on_header() kept in x is within its bounds (a Location ends
 * with no line end, unless a NUL byte cut it before). */
static void
check_kept(const struct xfer *x, int nul)
{
	size_t n = strnlen(x->reason, sizeof(x->reason));

	if (n == sizeof(x->reason))
		abort();
	for (size_t i = 0; i < n; i++)
		if (x->reason[i] < 0x20 || x->reason[i] > 0x7e)
			abort();
	if (x->location != NULL && *x->location != '\0' && !nul) {
		char last = x->location[strlen(x->location) - 1];

		if (last == '\r' || last == '\n' || last == ' ')
			abort();
	}
}

/* The reason r of a transfer that ran out of time after the head x
 * (timeout_words(), told connected and tls_done) names where it stalled:
 * the head when a status line came, whatever libcurl said of the
 * connection and the handshake; else the first step not done. */
static void
check_timeout_words(const struct xfer *x, const struct fetch_result *r,
                    int connected, int tls_done)
{
	const char *want;

	check_no_controls(r->error);
	if (!r->timed_out)
		abort();
	if (r->status != 0)
		want = x->head_done ? "but the body did not finish"
		                    : "but its headers did not finish";
	else if (!connected)
		want = "cannot connect to";
	else if (!tls_done)
		want = "but the TLS handshake did not finish";
	else
		want = "sent no HTTP response";
	if (strstr(r->error, want) == NULL)
		abort();
}

/* A response head, one header line at a time, then its verdict. */
static void
fuzz_head(CURL *curl, const char *buf, size_t len)
{
	struct fetch_opts o = {NULL, NULL, 30, 0, "timeout"};
	struct fetch_job job = {BASE_URL, &o, {0}, NULL, NULL, 0};
	struct fetch_result *r = &job.result, late;
	struct xfer x;
	size_t off = 0;

	memset(&x, 0, sizeof(x));
	x.curl = curl;
	x.job = &job;
	buf_init(&x.body, POLICY_MAX_SIZE);
	str_copy(x.host, sizeof(x.host), "mta-sts.example.com");
	str_copy(x.port, sizeof(x.port), "443");
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		char *ct = content_type_of(buf + off, n);

		/* libcurl's buffer, exactly as long as the line */
		char *line = xmalloc(n);

		memcpy(line, buf + off, n);
		if (on_header(line, 1, n, &x) != n)
			abort();
		free(line);
		check_kept(&x, memchr(buf, '\0', off + n) != NULL);
		if (n >= 5 && memcmp(buf + off, "HTTP/", 5) == 0) {
			r->status = status_of(buf + off, n);
			free(r->content_type);
			r->content_type = NULL;
		}
		if (ct != NULL) {
			free(r->content_type);
			r->content_type = ct;
		}
		off += n;
	}
	if (x.location != NULL)
		r->location = absolute_url(BASE_URL, x.location);
	xfer_judge_response(&x, CURLE_OK, r);
	check_no_controls(r->error);
	if (r->ok && (r->status != 200 || !content_type_ok(r->content_type) ||
	              r->body == NULL))
		abort();
	if (!r->ok && r->error[0] == '\0')
		abort();
	/* the same head, had the transfer then run out of time */
	memset(&late, 0, sizeof(late));
	late.status = r->status;
	xfer_curl_error(&x, CURLE_OPERATION_TIMEDOUT, &late);
	check_timeout_words(&x, &late, 0, 0);
	for (int connected = 0; connected <= 1; connected++)
		for (int tls_done = 0; tls_done <= 1; tls_done++) {
			memset(&late, 0, sizeof(late));
			late.status = r->status;
			timeout_words(&x, &late, connected, tls_done,
			              tls_done ? 80 : -1);
			check_timeout_words(&x, &late, connected, tls_done);
		}
	fetch_result_free(r);
	buf_free(&x.body);
	free(x.location);
}

/* The resolve entries in lines (one a line, up to the end), as a
 * transfer holds them; NULL for none. */
static struct curl_slist *
resolve_entries(const char *lines)
{
	struct curl_slist *l = NULL;

	while (lines != NULL && *lines != '\0') {
		const char *nl = strchr(lines, '\n');
		char *e =
		    xstrndup(lines, nl ? (size_t)(nl - lines) : strlen(lines));

		l = curl_slist_append(l, e);
		free(e);
		lines = nl ? nl + 1 : NULL;
	}
	return l;
}

/* A URL, a Location to resolve against it, then the resolve entries
 * named when its host cannot be resolved, one a line. */
static void
fuzz_url(const char *buf)
{
	const char *nl = strchr(buf, '\n');
	const char *nl2 = nl ? strchr(nl + 1, '\n') : NULL;
	char *url = xstrndup(buf, nl ? (size_t)(nl - buf) : strlen(buf));
	struct fetch_opts o = {NULL, NULL, 30, 0, "timeout"};
	struct fetch_job job = {url, &o, {0}, NULL, NULL, 0};
	struct fetch_result r;
	struct xfer x;
	char *loc, *abs;

	memset(&x, 0, sizeof(x));
	memset(&r, 0, sizeof(r));
	x.job = &job;
	if (xfer_parse_url(&x, url) == 0) {
		if (x.host[0] == '\0' || x.port[0] == '\0' ||
		    strspn(x.port, "0123456789") != strlen(x.port) ||
		    job.result.error[0] != '\0')
			abort();
		x.resolve = resolve_entries(nl2 ? nl2 + 1 : NULL);
		xfer_curl_error(&x, CURLE_COULDNT_RESOLVE_HOST, &r);
		if (r.ok || r.error[0] == '\0')
			abort();
		curl_slist_free_all(x.resolve);
	} else if (job.result.error[0] == '\0') {
		abort();
	}
	if (nl != NULL) {
		loc = xstrndup(nl + 1,
		               nl2 ? (size_t)(nl2 - nl - 1) : strlen(nl + 1));
		abs = absolute_url(url, loc);
		check_no_controls(abs);
		free(abs);
		free(loc);
	}
	free(url);
}

/* A server certificate, checked for a few hosts. */
static void
fuzz_cert(const unsigned char *der, size_t len)
{
	static const char *const hosts[] = {"mta-sts.example.com",
	                                    "mta-sts.example.com.", "192.0.2.1",
	                                    "[2001:db8::1]", "x"};
	const unsigned char *p = der;
	X509 *cert = d2i_X509(NULL, &p, (long)len);
	char names[160], ip[INET6_ADDRSTRLEN + 2];

	if (cert == NULL)
		return;
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct fetch_result r;
		struct xfer x;

		memset(&x, 0, sizeof(x));
		memset(&r, 0, sizeof(r));
		str_copy(x.host, sizeof(x.host), hosts[i]);
		if (!host_ip_literal(hosts[i], ip, sizeof(ip)) &&
		    cert_names_host(cert, hosts[i]) &&
		    !cert_cn_names_host(cert, hosts[i]))
			abort();
		cert_name_error(&x, cert, &r);
		check_no_controls(r.error);
	}
	for (size_t size = 1; size <= sizeof(names); size += 53) {
		cert_describe(cert, GEN_DNS, names, size);
		if (strlen(names) >= size)
			abort();
		check_no_controls(names);
		cert_describe(cert, GEN_IPADD, names, size);
		if (strlen(names) >= size)
			abort();
	}
	(void)cert_not_after(cert);
	X509_free(cert);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static CURL *curl;
	char *buf;

	if (size == 0)
		return 0;
	if (curl == NULL && (curl = curl_easy_init()) == NULL)
		abort();
	/* an exact private copy, so that reading past the end is caught */
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	if (data[0] == 'C')
		fuzz_cert((const unsigned char *)buf, size - 1);
	else if (data[0] == 'U')
		fuzz_url(buf);
	else
		fuzz_head(curl, buf, size - 1);
	free(buf);
	return 0;
}
