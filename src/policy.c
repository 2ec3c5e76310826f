/*
 * policy.c - MTA-STS policies (RFC 8461 section 3.2): a strict parser over a
 * bounded buffer, validation, the canonical form, the content-derived id and
 * mx pattern matching (section 4.1).
 *
 * Decisions where the RFC leaves room (documented in policy.h as well):
 * - fields may come in any order: the RFC's ABNF (sts-policy-record) lets
 *   any sts-policy-field come first, unlike the TXT record where "v=STSv1"
 *   must lead; "version: STSv1" must be present exactly as written.
 * - the body is US-ASCII but for extension values, where the ABNF allows
 *   UTF-8 (sts-policy-vchar): there it must be well-formed (RFC 3629), and
 *   a non-ASCII mx is explained as a U-label instead of an A-label. A
 *   byte-order mark is an error, said as such.
 * - blank lines are errors (the ABNF has none), except empty lines at the
 *   very end, after the last field: ignored with a warning, since common
 *   senders accept them and the canonical form drops them anyway (a
 *   provider's policy ending in one can still be mirrored); trailing white
 *   space after a value is allowed and dropped (the ABNF's "*WSP" before
 *   each line end).
 * - at most POLICY_MX_MAX mx patterns and POLICY_EXT_MAX extensions: limits
 *   of ours (the RFC sets none) that bound the memory a policy uses, said
 *   as such in their errors, which cite no RFC section.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "policy.h"

#define SEC_32 "(RFC 8461 section 3.2)"

/* The limits of ours (the RFC sets none), said as such, without its
 * section cited. */
#define MX_LIMIT                                                               \
	"is one too many: mta-sts-sync takes at most " POLICY_MX_MAX_STR       \
	" mx patterns, a limit of its own that bounds the memory a policy "    \
	"uses"

/* Field names the RFC defines; the rest are extensions. */
enum field {
	FIELD_VERSION,
	FIELD_MODE,
	FIELD_MX,
	FIELD_MAX_AGE,
	FIELD_EXT,
};

/* Parser state over one buffer. */
struct pstate {
	struct policy *p;
	struct diag *d;
	size_t line;            /* current line number, from 1 */
	size_t seen[FIELD_EXT]; /* line of the first field of each kind */
};

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
to_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

const char *
policy_mode_name(enum policy_mode mode)
{
	switch (mode) {
	case POLICY_MODE_ENFORCE:
		return "enforce";
	case POLICY_MODE_TESTING:
		return "testing";
	case POLICY_MODE_NONE:
		return "none";
	}
	return "?";
}

int
policy_mode_from_name(const char *name, enum policy_mode *mode)
{
	if (strcmp(name, "enforce") == 0)
		*mode = POLICY_MODE_ENFORCE;
	else if (strcmp(name, "testing") == 0)
		*mode = POLICY_MODE_TESTING;
	else if (strcmp(name, "none") == 0)
		*mode = POLICY_MODE_NONE;
	else
		return -1;
	return 0;
}

struct policy *
policy_new(void)
{
	struct policy *p = xcalloc(1, sizeof(*p));

	p->mode = POLICY_MODE_NONE;
	return p;
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nmx; i++)
		free(p->mx[i]);
	free(p->mx);
	for (i = 0; i < p->next; i++) {
		free(p->ext[i].key);
		free(p->ext[i].value);
	}
	free(p->ext);
	free(p);
}

/* Deep copy of p; the caller frees it with policy_free(). */
struct policy *
policy_dup(const struct policy *p)
{
	struct policy *c = policy_new();
	size_t i;

	c->mode = p->mode;
	c->max_age = p->max_age;
	c->lf_only = p->lf_only;
	c->nmx = p->nmx;
	c->mx = xcalloc(p->nmx, sizeof(*c->mx));
	for (i = 0; i < p->nmx; i++)
		c->mx[i] = xstrdup(p->mx[i]);
	c->next = p->next;
	c->ext = xcalloc(p->next, sizeof(*c->ext));
	for (i = 0; i < p->next; i++) {
		c->ext[i].key = xstrdup(p->ext[i].key);
		c->ext[i].value = xstrdup(p->ext[i].value);
	}
	return c;
}

/* Check one label of an mx pattern; returns the problem or NULL. */
static const char *
label_problem(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return "has an empty label (no leading or trailing dot, no "
		       "\"..\")";
	if (n > 63)
		return "has a label longer than 63 characters";
	for (i = 0; i < n; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return "has a character other than letters, digits, "
			       "'-' and '.'";
	if (s[0] == '-' || s[n - 1] == '-')
		return "has a label that starts or ends with '-'";
	return NULL;
}

/* Is the label all digits (a top-level label never is: an IP address)? */
static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	return n > 0;
}

/* How many times c is in s (n bytes). */
static size_t
count_char(const char *s, size_t n, char c)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

/* Is s (n bytes) "host:port", one colon followed by 1 to 5 digits? */
static int
has_port(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t digits;

	if (colon == NULL || colon == s || count_char(s, n, ':') != 1)
		return 0;
	digits = n - (size_t)(colon + 1 - s);
	return digits >= 1 && digits <= 5 && all_digits(colon + 1, digits);
}

/* Check the characters that make a pattern obviously not a host name:
 * each says what was meant instead. */
static const char *
mx_char_problem(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return "is not an A-label domain: it has non-ASCII "
			       "characters (write an internationalized name "
			       "in its xn-- A-label form)";
	/* "mx: a.example b.example": the ABNF has one pattern per line */
	for (i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t' || s[i] == ',')
			return "holds more than one name: each mx pattern "
			       "needs an mx line of its own";
	if (has_port(s, n))
		return "has a port: an mx pattern is a host name only, "
		       "without a port";
	if ((n > 0 && s[0] == '[') || count_char(s, n, ':') > 1)
		return "is an IP address: mx must be a host name";
	if (n > 253)
		return "is longer than 253 characters";
	if (n >= 2 && s[0] == '*' && s[1] == '.')
		s += 2, n -= 2;
	if (memchr(s, '*', n) != NULL)
		return "has a wildcard that is not the whole left-most label "
		       "(only \"*.\" at the start is allowed)";
	return NULL;
}

/*
 * Check an mx pattern: ["*."] Domain in A-labels (RFC 8461 section 3.2,
 * RFC 5321 Domain). Returns the problem as a phrase, or NULL if valid.
 */
static const char *
mx_problem(const char *s, size_t n)
{
	const char *why, *dot, *end = s + n, *last = s;

	if (n == 0)
		return "is empty";
	if (n <= 2 && s[0] == '*' && (n == 1 || s[1] == '.'))
		return "is only a wildcard: \"*.\" must be followed by a "
		       "domain, as in \"*.example.com\"";
	/* a trailing dot: the problem of the pattern without it, if it has
	 * one ("192.0.2.1."), else the dot */
	if (n > 1 && s[n - 1] == '.' && s[n - 2] != '.')
		return (why = mx_problem(s, n - 1)) != NULL
		           ? why
		           : "ends with a dot: write it without the trailing "
		             "dot";
	if ((why = mx_char_problem(s, n)) != NULL)
		return why;
	if (n >= 2 && s[0] == '*' && s[1] == '.')
		s += 2;
	for (;;) {
		dot = memchr(s, '.', (size_t)(end - s));
		if (dot == NULL)
			dot = end;
		if ((why = label_problem(s, (size_t)(dot - s))) != NULL)
			return why;
		last = s;
		if (dot == end)
			break;
		s = dot + 1;
	}
	if (all_digits(last, (size_t)(end - last)))
		return "is an IP address (its last label is all digits): mx "
		       "must be a host name";
	return NULL;
}

/*
 * Add the pattern s (n bytes, already valid) lower-cased. Returns 1 if an
 * equal pattern was already there (nothing added), else 0.
 */
static int
mx_add(struct policy *p, const char *s, size_t n)
{
	char *low = xstrndup(s, n);
	size_t i;

	for (i = 0; i < n; i++)
		low[i] = (char)to_lower((unsigned char)low[i]);
	for (i = 0; i < p->nmx; i++)
		if (strcmp(p->mx[i], low) == 0) {
			free(low);
			return 1;
		}
	p->mx = xreallocarray(p->mx, p->nmx + 1, sizeof(*p->mx));
	p->mx[p->nmx++] = low;
	return 0;
}

int
policy_add_mx(struct policy *p, const char *pattern, struct diag *d)
{
	size_t n = strlen(pattern);
	const char *why = mx_problem(pattern, n), *cite = " " SEC_32;
	char show[128];

	if (why == NULL && p->nmx >= POLICY_MX_MAX)
		why = MX_LIMIT, cite = "";
	if (why != NULL) {
		diag_error(d, "mx \"%s\" %s%s",
		           str_printable(pattern, n, show, sizeof(show)), why,
		           cite);
		return -1;
	}
	mx_add(p, pattern, n);
	return 0;
}

int
policy_ext_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 32 || !(is_alpha(s[0]) || is_digit(s[0])))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* Is s a valid extension value: visible ASCII or well-formed UTF-8, with
 * inner spaces only (sts-policy-ext-value)? */
static int
ext_value_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, l;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	while (i < n) {
		if (u[i] >= 0x20 && u[i] <= 0x7e)
			l = 1;
		else if ((l = utf8_len(u + i, n - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

/* The number of bytes policy_canonical() writes for p (kept in step with
 * it), whatever its size. */
static size_t
canonical_size(const struct policy *p)
{
	size_t i, n;

	n = strlen("version: STSv1\r\n") + strlen("mode: \r\n") +
	    strlen(policy_mode_name(p->mode)) + strlen("max_age: \r\n") +
	    (size_t)snprintf(NULL, 0, "%lu", p->max_age);
	for (i = 0; i < p->nmx; i++)
		n += strlen("mx: \r\n") + strlen(p->mx[i]);
	for (i = 0; i < p->next; i++)
		n += strlen(": \r\n") + strlen(p->ext[i].key) +
		     strlen(p->ext[i].value);
	return n;
}

/*
 * Whether p, published in its canonical form, fits in what senders read:
 * RFC 8461 section 3.3 suggests they read at most 64 KiB (and so does our
 * fetch), so a larger file would be refused. Its size is said, since an
 * input that fits (LF line ends, say) may not once written out. Returns
 * 0, or -1 with the reason in d.
 */
static int
canonical_fits(const struct policy *p, struct diag *d)
{
	size_t n = canonical_size(p);

	if (n <= POLICY_MAX_SIZE)
		return 0;
	diag_error(d,
	           "the canonical form of this policy (CRLF line ends, fields "
	           "in order) would be %zu bytes, more than the 64 KiB (%u "
	           "bytes) that senders may read at most (RFC 8461 section "
	           "3.3), so they could refuse the published file: shorten "
	           "the policy",
	           n, POLICY_MAX_SIZE);
	return -1;
}

int
policy_validate(const struct policy *p, struct diag *d)
{
	size_t i;

	if (p->mode != POLICY_MODE_ENFORCE && p->mode != POLICY_MODE_TESTING &&
	    p->mode != POLICY_MODE_NONE) {
		diag_error(d, "invalid mode " SEC_32);
		return -1;
	}
	if (p->mode != POLICY_MODE_NONE && p->nmx == 0) {
		diag_error(d, "mode %s needs at least one mx " SEC_32,
		           policy_mode_name(p->mode));
		return -1;
	}
	if (p->max_age > POLICY_MAX_AGE_MAX) {
		diag_error(d, "max_age %lu exceeds %lu " SEC_32, p->max_age,
		           POLICY_MAX_AGE_MAX);
		return -1;
	}
	for (i = 0; i < p->nmx; i++)
		if (mx_problem(p->mx[i], strlen(p->mx[i])) != NULL) {
			diag_error(d, "mx \"%.300s\" %s " SEC_32, p->mx[i],
			           mx_problem(p->mx[i], strlen(p->mx[i])));
			return -1;
		}
	for (i = 0; i < p->next; i++)
		if (!policy_ext_name_ok(p->ext[i].key, strlen(p->ext[i].key)) ||
		    !ext_value_ok(p->ext[i].value, strlen(p->ext[i].value))) {
			diag_error(d,
			           "invalid extension field \"%.100s\" " SEC_32,
			           p->ext[i].key);
			return -1;
		}
	return canonical_fits(p, d);
}

/* Reset out and write the canonical bytes of p into it (see policy.h). */
int
policy_canonical(const struct policy *p, struct buf *out)
{
	size_t i;
	int rc = 0;

	buf_reset(out);
	rc |= buf_printf(out, "version: STSv1\r\nmode: %s\r\n",
	                 policy_mode_name(p->mode));
	for (i = 0; i < p->nmx && rc == 0; i++)
		rc |= buf_printf(out, "mx: %s\r\n", p->mx[i]);
	rc |= buf_printf(out, "max_age: %lu\r\n", p->max_age);
	for (i = 0; i < p->next && rc == 0; i++)
		rc |= buf_printf(out, "%s: %s\r\n", p->ext[i].key,
		                 p->ext[i].value);
	return rc == 0 ? 0 : -1;
}

void
policy_id(const char *bytes, size_t len, char id[POLICY_ID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;

	if (EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 < POLICY_ID_MAX) {
		fputs("mta-sts-sync: SHA-256 failed\n", stderr);
		abort();
	}
	for (i = 0; i < POLICY_ID_MAX / 2; i++) {
		id[2 * i] = hex[md[i] >> 4];
		id[2 * i + 1] = hex[md[i] & 0x0f];
	}
	id[POLICY_ID_MAX] = '\0';
}

/*
 * The policy's second id comes from its alternate form: the canonical
 * bytes with LF line ends (RFC 8461 section 3.2 allows LF or CRLF), the
 * same policy to a sender but other bytes, so another id. A sync that
 * must change the id of an unchanged policy (the file served another
 * policy while its id was live: senders may have cached that one under
 * it) serves this form. Being other bytes in the file, the form itself
 * tells the next run which id is due when that run is cut short, with no
 * state kept elsewhere; and the id stays the SHA-256 of what is served.
 * These bytes never are the canonical form of any policy, so the id of
 * one policy's alternate form is never the usual id of another.
 */
int
policy_alternate(const char *canon, size_t len, struct buf *out)
{
	size_t i, start = 0;
	int rc = 0;

	buf_reset(out);
	for (i = 0; i < len && rc == 0; i++)
		if (canon[i] == '\r' && i + 1 < len && canon[i + 1] == '\n') {
			rc = buf_append(out, canon + start, i - start);
			start = i + 1;
		}
	if (rc == 0)
		rc = buf_append(out, canon + start, len - start);
	return rc;
}

/* Length of host without one trailing dot. */
static size_t
name_len(const char *s)
{
	size_t n = strlen(s);

	return (n > 0 && s[n - 1] == '.') ? n - 1 : n;
}

int
policy_mx_match(const char *pattern, const char *host)
{
	size_t pn = name_len(pattern), hn = name_len(host);
	const char *dot;

	if (pn == 0 || hn == 0)
		return 0;
	if (pattern[0] != '*')
		return pn == hn && ascii_ncasecmp(pattern, host, pn) == 0;
	if (pn < 3 || pattern[1] != '.')
		return 0;
	/* "*.suffix": host is exactly one non-empty label, a dot, suffix. */
	dot = memchr(host, '.', hn);
	if (dot == NULL || dot == host)
		return 0;
	return hn - (size_t)(dot - host) == pn - 1 &&
	       ascii_ncasecmp(dot, pattern + 1, pn - 1) == 0;
}

int
policy_covers(const struct policy *p, const char *host)
{
	size_t i;

	for (i = 0; i < p->nmx; i++)
		if (policy_mx_match(p->mx[i], host))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ parsing */

/* Does the body look like an HTML page (first non-space byte '<')? */
static int
looks_like_html(const char *buf, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (is_wsp(buf[i]) || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && buf[i] == '<';
}

/*
 * Check the bytes of one line (without its end): no NUL, no control
 * character but tab, no bare CR, and US-ASCII unless allow_8bit (mx lines:
 * the domain check explains a U-label better). Returns 0 or -1.
 */
static int
line_bytes_check(struct pstate *ps, const char *s, size_t n, int allow_8bit)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			diag_error(ps->d, "line %zu: NUL byte " SEC_32,
			           ps->line);
		else if (c == '\r')
			diag_error(ps->d,
			           "line %zu: bare CR: lines end in LF or "
			           "CRLF " SEC_32,
			           ps->line);
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			diag_error(ps->d,
			           "line %zu: control character 0x%02X " SEC_32,
			           ps->line, c);
		else if (c >= 0x80 && !allow_8bit)
			diag_error(ps->d,
			           "line %zu: non-ASCII byte 0x%02X: only "
			           "extension values may hold UTF-8 " SEC_32,
			           ps->line, c);
		else
			continue;
		return -1;
	}
	return 0;
}

/* Which field is the name s (n bytes)? Names are case-sensitive. */
static enum field
field_of(const char *s, size_t n)
{
	static const struct {
		const char *name;
		enum field f;
	} known[] = {
	    {"version", FIELD_VERSION},
	    {"mode", FIELD_MODE},
	    {"mx", FIELD_MX},
	    {"max_age", FIELD_MAX_AGE},
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == n &&
		    memcmp(known[i].name, s, n) == 0)
			return known[i].f;
	return FIELD_EXT;
}

/*
 * A field other than mx seen a second time: the first wins (RFC 8461
 * section 3.2). Returns 1 (and warns) if this one must be ignored.
 */
static int
field_repeated(struct pstate *ps, enum field f, const char *name)
{
	if (ps->seen[f] == 0) {
		ps->seen[f] = ps->line;
		return 0;
	}
	diag_warn(ps->d,
	          "line %zu: duplicate \"%s\" field ignored, the first one "
	          "(line %zu) wins " SEC_32,
	          ps->line, name, ps->seen[f]);
	return 1;
}

/* version: only "STSv1". */
static int
parse_version(struct pstate *ps, const char *v, size_t n)
{
	char show[80];

	if (field_repeated(ps, FIELD_VERSION, "version"))
		return 0;
	if (n == 5 && memcmp(v, "STSv1", 5) == 0)
		return 0;
	diag_error(
	    ps->d,
	    "line %zu: unsupported version \"%s\": only \"STSv1\" " SEC_32,
	    ps->line, str_printable(v, n, show, sizeof(show)));
	return -1;
}

/* mode: enforce, testing or none, case-sensitive. */
static int
parse_mode(struct pstate *ps, const char *v, size_t n)
{
	char show[80], name[16];

	if (field_repeated(ps, FIELD_MODE, "mode"))
		return 0;
	if (n < sizeof(name)) {
		memcpy(name, v, n);
		name[n] = '\0';
		if (policy_mode_from_name(name, &ps->p->mode) == 0)
			return 0;
	}
	str_printable(v, n, show, sizeof(show));
	if (n < sizeof(name) && (ascii_casecmp(name, "enforce") == 0 ||
	                         ascii_casecmp(name, "testing") == 0 ||
	                         ascii_casecmp(name, "none") == 0))
		diag_error(ps->d,
		           "line %zu: mode \"%s\" must be lower case: mode "
		           "values are case-sensitive " SEC_32,
		           ps->line, show);
	else
		diag_error(ps->d,
		           "line %zu: invalid mode \"%s\": expected "
		           "enforce, testing or none " SEC_32,
		           ps->line, show);
	return -1;
}

/* max_age: 1 to 10 digits, at most POLICY_MAX_AGE_MAX. */
static int
parse_max_age(struct pstate *ps, const char *v, size_t n)
{
	char show[80], digits[16];
	unsigned long long age;

	if (field_repeated(ps, FIELD_MAX_AGE, "max_age"))
		return 0;
	str_printable(v, n, show, sizeof(show));
	if (n == 0 || n > 10 || !all_digits(v, n)) {
		diag_error(
		    ps->d,
		    "line %zu: max_age \"%s\" is not 1 to 10 digits " SEC_32,
		    ps->line, show);
		return -1;
	}
	memcpy(digits, v, n);
	digits[n] = '\0';
	if (parse_uint(digits, POLICY_MAX_AGE_MAX, &age) == -1) {
		diag_error(
		    ps->d,
		    "line %zu: max_age %s exceeds the maximum %lu " SEC_32,
		    ps->line, show, POLICY_MAX_AGE_MAX);
		return -1;
	}
	ps->p->max_age = (unsigned long)age;
	return 0;
}

/* mx: one more pattern; a repeated pattern is dropped with a warning. */
static int
parse_mx(struct pstate *ps, const char *v, size_t n)
{
	const char *why = mx_problem(v, n), *cite = " " SEC_32;
	char show[128];

	str_printable(v, n, show, sizeof(show));
	if (why == NULL && ps->p->nmx >= POLICY_MX_MAX)
		why = MX_LIMIT, cite = "";
	if (why != NULL) {
		diag_error(ps->d, "line %zu: mx \"%s\" %s%s", ps->line, show,
		           why, cite);
		return -1;
	}
	if (mx_add(ps->p, v, n))
		diag_warn(ps->d,
		          "line %zu: mx \"%s\" repeated, ignored " SEC_32,
		          ps->line, show);
	return 0;
}

/* An unknown field: kept as an extension; a repeated one: first wins. */
static int
parse_ext(struct pstate *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	struct policy *p = ps->p;
	char show[80];
	size_t i;

	str_printable(k, kn, show, sizeof(show));
	if (!ext_value_ok(v, vn)) {
		diag_error(ps->d,
		           "line %zu: invalid value for \"%s\": visible ASCII "
		           "or well-formed UTF-8 " SEC_32,
		           ps->line, show);
		return -1;
	}
	if ((ascii_casecmp(show, "version") == 0 ||
	     ascii_casecmp(show, "mode") == 0 ||
	     ascii_casecmp(show, "mx") == 0 ||
	     ascii_casecmp(show, "max_age") == 0))
		diag_warn(ps->d,
		          "line %zu: \"%s\" is kept as an unknown field: "
		          "field names are case-sensitive " SEC_32,
		          ps->line, show);
	for (i = 0; i < p->next; i++)
		if (strlen(p->ext[i].key) == kn &&
		    memcmp(p->ext[i].key, k, kn) == 0) {
			diag_warn(ps->d,
			          "line %zu: duplicate \"%s\" field ignored, "
			          "the first one wins " SEC_32,
			          ps->line, show);
			return 0;
		}
	if (p->next >= POLICY_EXT_MAX) {
		diag_error(
		    ps->d,
		    "line %zu: more than %u unknown fields: mta-sts-sync "
		    "keeps at most %u, a limit of its own that bounds the "
		    "memory a policy uses",
		    ps->line, POLICY_EXT_MAX, POLICY_EXT_MAX);
		return -1;
	}
	p->ext = xreallocarray(p->ext, p->next + 1, sizeof(*p->ext));
	p->ext[p->next].key = xstrndup(k, kn);
	p->ext[p->next].value = xstrndup(v, vn);
	p->next++;
	return 0;
}

/* Report why the name before the colon (kn bytes of k) is not valid. */
static int
bad_name(struct pstate *ps, const char *k, size_t kn)
{
	char show[80];

	if (kn > 0 && (is_wsp(k[0]) || is_wsp(k[kn - 1])))
		diag_error(ps->d,
		           "line %zu: white space around the field name "
		           "(only after the colon) " SEC_32,
		           ps->line);
	else
		diag_error(ps->d, "line %zu: invalid field name \"%s\" " SEC_32,
		           ps->line, str_printable(k, kn, show, sizeof(show)));
	return -1;
}

/* Parse one line (s, n bytes, without its line end) as "name: value". */
static int
parse_line(struct pstate *ps, const char *s, size_t n)
{
	const char *colon, *v, *end = s + n;
	enum field f;
	size_t kn;

	if (n == 0) {
		diag_error(ps->d, "line %zu: empty line " SEC_32, ps->line);
		return -1;
	}
	colon = memchr(s, ':', n);
	kn = colon != NULL ? (size_t)(colon - s) : 0;
	f = field_of(s, kn);
	/* 8-bit bytes: an mx is explained as a U-label, an extension value
	 * is checked as UTF-8 */
	if (line_bytes_check(ps, s, n, f == FIELD_MX || f == FIELD_EXT) == -1)
		return -1;
	if (colon == NULL) {
		diag_error(ps->d, "line %zu: expected \"field: value\" " SEC_32,
		           ps->line);
		return -1;
	}
	if (!policy_ext_name_ok(s, kn))
		return bad_name(ps, s, kn);
	for (v = colon + 1; v < end && is_wsp(*v); v++)
		;
	while (end > v && is_wsp(end[-1]))
		end--;
	switch (f) {
	case FIELD_VERSION:
		return parse_version(ps, v, (size_t)(end - v));
	case FIELD_MODE:
		return parse_mode(ps, v, (size_t)(end - v));
	case FIELD_MAX_AGE:
		return parse_max_age(ps, v, (size_t)(end - v));
	case FIELD_MX:
		return parse_mx(ps, v, (size_t)(end - v));
	default:
		return parse_ext(ps, s, kn, v, (size_t)(end - v));
	}
}

/* How many empty lines (LF or CRLF) s (n bytes) is made of; 0 if it
 * holds anything else. */
static size_t
empty_lines(const char *s, size_t n)
{
	size_t i = 0, lines = 0;

	while (i < n) {
		if (s[i] == '\r' && i + 1 < n)
			i++;
		if (s[i] != '\n')
			return 0;
		i++;
		lines++;
	}
	return lines;
}

/*
 * Whether the empty line the parser is at (at s, n bytes to the end of
 * the buffer) starts the empty lines that end the policy, after its last
 * field: then they are ignored with a warning (their number given), and
 * parsing ends. Anywhere else an empty line is an error (the ABNF has
 * none).
 */
static int
trailing_empty_lines(struct pstate *ps, const char *s, size_t n)
{
	size_t k = ps->line > 1 ? empty_lines(s, n) : 0;
	char where[64];

	if (k == 0)
		return 0;
	if (k == 1)
		snprintf(where, sizeof(where), "line %zu: an empty line",
		         ps->line);
	else
		snprintf(where, sizeof(where), "lines %zu-%zu: %zu empty lines",
		         ps->line, ps->line + k - 1, k);
	diag_warn(ps->d,
	          "%s at the end, ignored (the canonical form has none): the "
	          "grammar has no empty line, so a strict sender may refuse "
	          "this file " SEC_32,
	          where);
	return 1;
}

/* Split buf into lines (LF or CRLF ends, the last one optional). */
static int
parse_lines(struct pstate *ps, const char *buf, size_t len)
{
	size_t pos = 0, n;
	const char *lf;

	while (pos < len) {
		ps->line++;
		lf = memchr(buf + pos, '\n', len - pos);
		n = lf != NULL ? (size_t)(lf - (buf + pos)) : len - pos;
		if (lf != NULL && n > 0 && buf[pos + n - 1] == '\r')
			n--;
		else if (lf != NULL)
			ps->p->lf_only = 1;
		if (n == 0 && trailing_empty_lines(ps, buf + pos, len - pos))
			return 0;
		if (parse_line(ps, buf + pos, n) == -1)
			return -1;
		pos = lf != NULL ? (size_t)(lf - buf) + 1 : len;
	}
	return 0;
}

/* After the last line: the required fields are there. */
static int
parse_finish(struct pstate *ps)
{
	static const struct {
		enum field f;
		const char *name;
	} required[] = {
	    {FIELD_VERSION, "version"},
	    {FIELD_MODE, "mode"},
	    {FIELD_MAX_AGE, "max_age"},
	};
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (ps->seen[required[i].f] == 0) {
			diag_error(ps->d,
			           "missing required field \"%s\" " SEC_32,
			           required[i].name);
			return -1;
		}
	/* whatever parses must be servable: policy_validate() also checks
	 * that its canonical form fits */
	return policy_validate(ps->p, ps->d);
}

struct policy *
policy_parse(const char *buf, size_t len, struct diag *d)
{
	struct pstate ps;

	memset(&ps, 0, sizeof(ps));
	ps.d = d;
	if (len > POLICY_MAX_SIZE) {
		diag_error(d, "policy larger than %u bytes", POLICY_MAX_SIZE);
		return NULL;
	}
	if (len == 0) {
		diag_error(d, "line 1: empty policy " SEC_32);
		return NULL;
	}
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
		diag_error(d, "line 1: starts with a UTF-8 byte-order mark "
		              "(EF BB BF): save the file without it " SEC_32);
		return NULL;
	}
	if (looks_like_html(buf, len)) {
		diag_error(d, "line 1: not a policy: looks like an HTML page "
		              "(an error page?) " SEC_32);
		return NULL;
	}
	ps.p = policy_new();
	if (parse_lines(&ps, buf, len) == -1 || parse_finish(&ps) == -1) {
		policy_free(ps.p);
		return NULL;
	}
	return ps.p;
}
