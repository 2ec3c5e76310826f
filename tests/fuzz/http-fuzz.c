/*
 * http-fuzz.c - fuzz target for what fetch.c reads from a web server
 * and from URLs. It includes src/fetch.c to reach its static readers (the
 * library's fetch.o is then not linked). The first byte chooses what the
 * rest is:
 *   'C' a server certificate (DER): the subjectAltName names it gives
 *       (cert_describe), whether it names a host (cert_names_host,
 *       cert_cn_names_host) and the message of a name mismatch
 *       (cert_name_error);
 *   'X' a failed transfer: a line of what libcurl tells of it ("RC
 *       ERRNO SIZE VERIFY CONNECTED TLS_DONE", decimal numbers: its
 *       CURLcode, the socket's errno, the Content-Length or -1, OpenSSL's
 *       verdict on the certificate, and two flags), a line with its URL,
 *       a line with libcurl's words (errbuf), then the response that came
 *       before it failed: header lines up to a blank line, then body
 *       bytes (given to on_body when the head is one a body is read
 *       after): the failure in words (curl_error_words: a connection
 *       cut, xfer_cut_error, refused, a failed handshake, a certificate
 *       refused, a timeout, libcurl's own words), or the response judged
 *       as xfer_finish judges it;
 *   'U' a URL, then on the next line a Location header's value, then
 *       resolve entries ("HOST:PORT:ADDR") one a line: the URL is split
 *       as a fetch splits it (xfer_parse_url), the Location resolved
 *       against it (absolute_url), and the entries named when its host
 *       cannot be resolved (xfer_curl_error, resolve_port_hint);
 *   anything else: the header lines of a response (on_header, one call
 *       per line as libcurl makes them), with the status and the
 *       Content-Type taken from them as libcurl would, then judged as
 *       a response (xfer_judge_response) and as one that ran out of
 *       time (xfer_curl_error, and timeout_words with each
 *       combination of connection and handshake done or not).
 * Invariants, else abort: the reason phrase kept is printable ASCII; a
 * Location kept has no line end; no error message holds a control
 * character, nor a UTF-8 sequence cut (or, from a URL, libcurl's words
 * or a head of valid UTF-8, anything but valid UTF-8), and one cut ends
 * with TEXT_CUT_MARK; a connection reset or closed after the handshake
 * is FETCH_FAIL_CUT, said with where it was cut and the body bytes that
 * came; a failed handshake is of the kind fetch_handshake_kind() says;
 * the names a certificate is said to have are whole names, the last
 * followed by ", ..." when some are left out; a response taken as a
 * policy has status 200 and a
 * text/plain Content-Type; a transfer out of time after a status line
 * stalled in its headers (no blank line came) or its body, never before,
 * and else at the first of connection, handshake and response not done;
 * a URL accepted has a host and a numeric port; a certificate that names
 * a host name in its subjectAltName names it for the CN check too.
 */
#include "../../src/fetch.c"

#include <openssl/x509.h>

#include "text-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE_URL "https://mta-sts.example.com/.well-known/mta-sts.txt"

/* Is each byte of s a printable ASCII character? */
static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
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

/* The reason phrase kept of a status line (len bytes) is all of it, or
 * a head of it marked "..." when it does not fit. */
static void
check_reason(const struct xfer *x, const char *line, size_t len)
{
	size_t i = 0, n, kept = strlen(x->reason);
	int spaces = 0;

	while (i < len && spaces < 2)
		if (line[i++] == ' ')
			spaces++;
	n = len - i;
	while (n > 0 && (line[i + n - 1] == '\r' || line[i + n - 1] == '\n'))
		n--;
	if (memchr(line + i, '\r', n) != NULL)
		n = (size_t)((const char *)memchr(line + i, '\r', n) -
		             (line + i));
	if (n < sizeof(x->reason)
	        ? kept != n
	        : kept != sizeof(x->reason) - 1 ||
	              strcmp(x->reason + kept - 3, "...") != 0)
		abort();
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

/* Header lines of buf (len bytes) to on_header() one at a time, as
 * libcurl gives them, with the status and the Content-Type taken into
 * the result of x as libcurl would, up to the end, or after the first
 * blank line if to_blank. Returns the bytes read. */
static size_t
feed_head(struct xfer *x, const char *buf, size_t len, int to_blank)
{
	struct fetch_result *r = &x->job->result;
	size_t off = 0;

	/* a 1xx head is followed by another */
	while (off < len && !(to_blank && x->head_done &&
	                      (r->status < 100 || r->status > 199))) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;
		char *ct = content_type_of(buf + off, n);

		/* libcurl's buffer, exactly as long as the line */
		char *line = xmalloc(n);

		memcpy(line, buf + off, n);
		if (on_header(line, 1, n, x) != n)
			abort();
		free(line);
		check_kept(x, memchr(buf, '\0', off + n) != NULL);
		if (n >= 5 && memcmp(buf + off, "HTTP/", 5) == 0) {
			r->status = status_of(buf + off, n);
			check_reason(x, buf + off, n);
			free(r->content_type);
			r->content_type = NULL;
		}
		if (ct != NULL) {
			free(r->content_type);
			r->content_type = ct;
		}
		off += n;
	}
	return off;
}

/* A response head, one header line at a time, then its verdict. */
static void
fuzz_head(CURL *curl, const char *buf, size_t len)
{
	struct fetch_opts o = {NULL, NULL, 30, 0, "timeout"};
	struct fetch_job job = {BASE_URL, &o, {0}, NULL, NULL, 0};
	struct fetch_result *r = &job.result, late;
	struct xfer x;

	memset(&x, 0, sizeof(x));
	x.curl = curl;
	x.job = &job;
	buf_init(&x.body, POLICY_MAX_SIZE);
	str_copy(x.host, sizeof(x.host), "mta-sts.example.com");
	str_copy(x.port, sizeof(x.port), "443");
	feed_head(&x, buf, len, 0);
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

/* The next line of *p (its line end dropped) as a new string, *p moved
 * past it; "" at the end. */
static char *
next_line(const char **p)
{
	const char *nl = strchr(*p, '\n');
	size_t n = nl ? (size_t)(nl - *p) : strlen(*p);
	char *line = xstrndup(*p, n);

	*p += nl ? n + 1 : n;
	return line;
}

/* What libcurl tells of a failed transfer, from a line of decimal
 * numbers ("RC ERRNO SIZE VERIFY CONNECTED TLS_DONE"; missing: 0). */
static CURLcode
facts_of(const char *line, struct xfer_facts *f)
{
	long long v[6] = {0};
	char *end;

	for (int i = 0; i < 6; i++, line = end)
		v[i] = strtoll(line, &end, 10);
	memset(f, 0, sizeof(*f));
	f->os_errno = (long)v[1];
	f->size = (curl_off_t)v[2];
	f->verify_result = (long)v[3];
	f->connected = v[4] != 0;
	f->tls_done = v[5] != 0;
	return (CURLcode)(int)v[0];
}

/* The words of a cut connection (xfer_cut_error()) in r, for rc and f
 * after the head and body x kept: FETCH_FAIL_CUT when the words or the
 * errno say reset or closed, with where and what came, but
 * FETCH_FAIL_NO_RESPONSE for a close with no response after the request
 * (no reply at all, or a receive failure); nothing else. */
static void
check_cut(const struct xfer *x, CURLcode rc, const struct xfer_facts *f,
          const struct fetch_result *r)
{
	char got[64];
	int reset = f->os_errno == ECONNRESET || strstr(x->errbuf, "reset");
	enum fetch_fail want = FETCH_FAIL_CUT;

	if (rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR &&
	    rc != CURLE_GOT_NOTHING && rc != CURLE_PARTIAL_FILE)
		return;
	if (!reset && rc != CURLE_GOT_NOTHING && rc != CURLE_PARTIAL_FILE &&
	    f->os_errno != EPIPE && f->os_errno != ECONNABORTED &&
	    !strstr(x->errbuf, "unexpected eof") &&
	    !strstr(x->errbuf, "Broken pipe")) {
		if (r->fail == FETCH_FAIL_CUT)
			abort();
		return;
	}
	snprintf(got, sizeof(got), "(%zu", x->body.len);
	if (!reset && r->status == 0 &&
	    (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR))
		want = FETCH_FAIL_NO_RESPONSE;
	if (r->fail != want ||
	    !strstr(r->error, reset ? " reset " : " closed ") ||
	    !strstr(r->error, r->status ? got : "before any response"))
		abort();
}

/* A failed transfer: what libcurl tells of it, its URL, libcurl's
 * words, then the head and body that came, in words as xfer_finish()
 * says them. */
static void
fuzz_fail(CURL *curl, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	char *facts = next_line(&p), *url = next_line(&p);
	char *words = next_line(&p);
	struct fetch_opts o = {NULL, NULL, 30, 0, "timeout"};
	struct fetch_job job = {url, &o, {0}, NULL, NULL, 0};
	struct fetch_result *r = &job.result;
	struct xfer_facts f;
	CURLcode rc = facts_of(facts, &f);
	struct xfer x;
	int utf8;

	memset(&x, 0, sizeof(x));
	x.curl = curl;
	x.job = &job;
	buf_init(&x.body, POLICY_MAX_SIZE);
	/* libcurl's words are printable: a control one stands for '?' */
	str_copy(x.errbuf, sizeof(x.errbuf), words);
	for (char *c = x.errbuf; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	/* cut to its size as libcurl cuts them: maybe inside a character */
	utf8 = utf8_valid(words);
	if (xfer_parse_url(&x, url) == 0 && p <= end) {
		p += feed_head(&x, p, (size_t)(end - p), 1);
		/* libcurl decodes a "%8F" in a host: other bytes than typed */
		utf8 = utf8 && utf8_valid(x.host) && utf8_valid(x.reason);
		x.head_checked = 1;
		if (!head_wanted(r->status, r->content_type))
			x.abort = ABORT_HEAD;
		else if (p < end)
			(void)on_body((char *)p, 1, (size_t)(end - p), &x);
		if (rc == CURLE_OK || rc == CURLE_FILESIZE_EXCEEDED ||
		    (rc == CURLE_WRITE_ERROR && x.abort != ABORT_NONE))
			xfer_judge_response(&x, rc, r);
		else
			curl_error_words(&x, rc, &f, r);
		if (!r->ok && r->error[0] == '\0')
			abort();
		check_error(r->error, utf8);
		if (rc == CURLE_SSL_CONNECT_ERROR &&
		    r->fail != fetch_handshake_kind(x.errbuf, f.os_errno))
			abort();
		check_cut(&x, rc, &f, r);
	}
	fetch_result_free(r);
	buf_free(&x.body);
	free(x.location);
	free(facts);
	free(url);
	free(words);
}

/* The resolve entries in lines (one a line, up to the end), as a
 * transfer holds them, but those holding a control character or a byte
 * of no ASCII character, which the configuration refuses (its PORT is
 * digits, its HOST a name); NULL for none. */
static struct curl_slist *
resolve_entries(const char *lines)
{
	struct curl_slist *l = NULL;

	while (lines != NULL && *lines != '\0') {
		const char *nl = strchr(lines, '\n');
		char *e =
		    xstrndup(lines, nl ? (size_t)(nl - lines) : strlen(lines));

		if (printable_ascii(e))
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
		check_error(r.error, utf8_valid(x.host));
		curl_slist_free_all(x.resolve);
	} else if (job.result.error[0] == '\0') {
		abort();
	}
	/* libcurl decodes a "%8F" in a host: other bytes than typed */
	check_error(job.result.error,
	            utf8_valid(buf) && strchr(url, '%') == NULL);
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

/* room for every name of a certificate: a few KiB of input has fewer */
#define ALL_NAMES (1 << 20)

/* The names of a certificate said in size bytes (part) are whole: all
 * of them (all), or those of a head of them followed by ", ...", or
 * "..." alone, or nothing in less than 4 bytes. */
static void
check_names(const char *all, const char *part, size_t size)
{
	size_t n = strlen(part), mark = strlen(", ...");

	if (n >= size)
		abort();
	if (strcmp(part, all) == 0 || strcmp(part, "...") == 0 ||
	    (n == 0 && size < 4))
		return;
	if (n < mark || strcmp(part + n - mark, ", ...") != 0)
		abort();
	n -= mark;
	if (strncmp(part, all, n) != 0 || strncmp(all + n, ", ", 2) != 0)
		abort();
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
	char names[160], ip[INET6_ADDRSTRLEN + 2], *all, *all_ip;

	if (cert == NULL)
		return;
	all = xmalloc(ALL_NAMES);
	all_ip = xmalloc(ALL_NAMES);
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
	cert_describe(cert, GEN_DNS, all, ALL_NAMES);
	cert_describe(cert, GEN_IPADD, all_ip, ALL_NAMES);
	for (size_t size = 1; size <= sizeof(names); size += 53) {
		cert_describe(cert, GEN_DNS, names, size);
		check_names(all, names, size);
		check_no_controls(names);
		cert_describe(cert, GEN_IPADD, names, size);
		check_names(all_ip, names, size);
	}
	free(all);
	free(all_ip);
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
	else if (data[0] == 'X')
		fuzz_fail(curl, buf, size - 1);
	else
		fuzz_head(curl, buf, size - 1);
	free(buf);
	return 0;
}
