/*
 * verify-fuzz.c - fuzz target for what the verify (src/verify.c) says of
 * what a web server served back in place of the new policy: a body that
 * is another policy, the previous one or none (verify_compare), a fetch
 * that failed (verify_failed), and the reason it ends with, as lasting
 * (verify_lasted) or out of time (verify_timed_out). It includes
 * src/verify.c to reach its static functions (the library's verify.o is
 * then not linked). The input is a line of decimal numbers ("STATUS FAIL
 * TIMED_OUT TRIES SECONDS PORT": the failed fetch's status, its kind of
 * failure, whether it ran out of time, then the tries and seconds of the
 * verify, the port tried), a line with the Content-Type (none if empty),
 * a line with the fetch's error (as fetch.c says it: a control character
 * stands for '?'), a line with the verify URL (likewise), then the body.
 * Invariants, else abort: a body is the same policy or something else,
 * said in words; a policy's own error is quoted whole; a text/html page
 * that is not the new policy is a deploy under way; each reason holds no
 * control character, is valid UTF-8 when the URL, the error and the body
 * were, and one longer than its bound ends with TEXT_CUT_MARK.
 */
#include "../../src/verify.c"

#include <stdint.h>
#include <stdlib.h>

#include "text-checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WANT                                                                   \
	"version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"          \
	"max_age: 604800\r\n"
#define PREV                                                                   \
	"version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\n"          \
	"max_age: 86400\r\n"

/* The next line of *p (its line end dropped) into out (size bytes, cut
 * to them), a control character as '?'; *p moved past it. */
static void
next_line(const char **p, const char *end, char *out, size_t size)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p), o = 0;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned char c = (unsigned char)(*p)[i];

		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[o] = '\0';
	*p += nl ? n + 1 : n;
}

/* What a body (len bytes) is against the new policy p says: the same
 * policy, or something else said in words that quote a policy's own
 * error whole. */
static void
check_compare(const char *body, size_t len, const struct verify_policies *p)
{
	struct verify_seen seen;
	struct diag d;
	struct buf c;
	int rc;

	memset(&seen, 0, sizeof(seen));
	rc = verify_compare(body, len, p, &seen);
	if (rc == VERIFY_SAME_POLICY)
		return;
	if (rc != VERIFY_OTHER || seen.what[0] == '\0')
		abort();
	check_error(seen.what, 1);
	buf_init(&c, 2 * POLICY_MAX_SIZE);
	diag_init(&d);
	if (canonical_of(body, len, &c, &d) == -1 &&
	    strstr(seen.what, d.error) == NULL)
		abort();
	buf_free(&c);
}

/* The reasons a verification ends with after seen (from a URL and a
 * fetch error of valid UTF-8 or not: utf8; deploys: a publish-command
 * deploys the file): no control character, no sequence cut, marked when
 * cut. */
static void
check_reasons(const char *url, const struct verify_seen *seen, unsigned tries,
              double seconds, int deploys, int utf8)
{
	struct diag d;
	int long_text = strlen(url) + strlen(seen->what) >= DIAG_MSG_MAX;
	size_t n, mark = strlen(TEXT_CUT_MARK);

	for (int lasted = 0; lasted <= 1; lasted++) {
		diag_init(&d);
		if (lasted)
			verify_lasted(url, seen, tries, seconds, tries, &d);
		else
			verify_timed_out(url, seen, seconds, deploys, &d);
		check_error(d.error, utf8);
		n = strlen(d.error);
		if (long_text && (n < mark || strcmp(d.error + n - mark,
		                                     TEXT_CUT_MARK) != 0))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char nums[64], ct[256], url[DIAG_MSG_MAX + 64];
	struct verify_hints h = {"/srv/www/mta-sts.example.com/.well-known/"
	                         "mta-sts.txt",
	                         "2d120f5760e028c5eff9ef7eab9d28ee", 0};
	struct verify_policies pol = {WANT,         strlen(WANT), PREV,
	                              strlen(PREV), &h,           ""};
	struct verify_seen seen;
	struct fetch_result r;
	long long v[6] = {0};
	char *e = nums;

	memset(&r, 0, sizeof(r));
	next_line(&p, end, nums, sizeof(nums));
	next_line(&p, end, ct, sizeof(ct));
	next_line(&p, end, r.error, sizeof(r.error));
	next_line(&p, end, url, sizeof(url));
	for (int i = 0; i < 6; i++)
		v[i] = strtoll(e, &e, 10);
	/* a deploy or a file written in place, asked about where the URL
	 * is served from */
	h.deploys = (int)(v[3] & 1);
	verify_root(url, h.policy_file, pol.root, sizeof(pol.root));
	/* an exact private copy of the body, so that reading past is caught */
	r.len = (size_t)(end - p);
	r.body = xmalloc(r.len + 1);
	memcpy(r.body, p, r.len);
	r.body[r.len] = '\0';
	check_compare(r.body, r.len, &pol);
	pol.prev = NULL;
	check_compare(r.body, r.len, &pol);
	pol.prev = PREV;
	r.status = (long)v[0];
	r.fail = (enum fetch_fail)((unsigned long long)v[1] % 7);
	r.timed_out = v[2] != 0;
	r.port = (long)v[5];
	r.content_type = ct[0] ? ct : NULL;
	str_copy(r.addr, sizeof(r.addr), r.port ? "192.0.2.1" : "");
	memset(&seen, 0, sizeof(seen)); /* as verify_once() does */
	verify_failed(&r, &pol, &seen);
	if (strcmp(seen.what, r.error) != 0 ||
	    (r.fail == FETCH_FAIL_TYPE &&
	     fetch_media_type_is(r.content_type, "text/html") &&
	     !(r.len == pol.len && memcmp(r.body, WANT, pol.len) == 0) &&
	     (seen.fail != FETCH_FAIL_OTHER || !seen.deploying)))
		abort();
	check_reasons(url, &seen, (unsigned)v[3], (double)v[4], h.deploys,
	              utf8_valid(url) && utf8_valid(r.error));
	/* and after a body that was something else */
	memset(&seen, 0, sizeof(seen));
	if (verify_compare(r.body, r.len, &pol, &seen) == VERIFY_OTHER)
		check_reasons(url, &seen, (unsigned)v[3], (double)v[4],
		              h.deploys, utf8_valid(url));
	free(r.body);
	return 0;
}
