/*
 * policy-test.c - unit tests of the RFC 8461 policy core: parsing rules of
 * section 3.2, the canonical form, the id, and mx matching (section 4.1).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "tap.h"

static struct diag d;

/* Parse a NUL-terminated string, with a fresh diag. */
static struct policy *
parse(const char *s)
{
	diag_init(&d);
	return policy_parse(s, strlen(s), &d);
}

/* Canonical bytes of p in a static buffer ("" on failure). */
static const char *
canon(const struct policy *p)
{
	static struct buf b;

	if (b.max == 0)
		buf_init(&b, POLICY_MAX_SIZE);
	if (p == NULL || policy_canonical(p, &b) == -1 || b.data == NULL)
		return "";
	return b.data;
}

/* The input must fail with an error containing want (and the RFC cite). */
static void
fails(const char *input, size_t len, const char *want, const char *what)
{
	struct policy *p;

	diag_init(&d);
	p = policy_parse(input, len, &d);
	ok(p == NULL, "rejected: %s", what);
	like(d.error, want, "error text: %s", what);
	policy_free(p);
}

#define FAILS(input, want, what) fails(input, strlen(input), want, what)
#define HDR "version: STSv1\nmode: enforce\n"
#define TAIL "max_age: 86400\n"

static const char proton[] = "version: STSv1\nmode: enforce\n"
                             "mx: mail.protonmail.ch\n"
                             "mx: mailsec.protonmail.ch\nmax_age: 604800\n";
static const char proton_canon[] =
    "version: STSv1\r\nmode: enforce\r\nmx: mail.protonmail.ch\r\n"
    "mx: mailsec.protonmail.ch\r\nmax_age: 604800\r\n";

static void
test_valid(void)
{
	struct policy *p = parse(proton);

	ok(p != NULL, "Proton's policy parses");
	if (p == NULL)
		return;
	ok(p->mode == POLICY_MODE_ENFORCE, "mode enforce");
	ok(p->nmx == 2, "two mx");
	is_str(p->mx[0], "mail.protonmail.ch", "first mx in order");
	is_str(p->mx[1], "mailsec.protonmail.ch", "second mx in order");
	ok(p->max_age == 604800, "max_age");
	ok(p->next == 0, "no extension");
	ok(p->lf_only == 1, "LF line ends noticed");
	ok(d.nwarn == 0 && !diag_failed(&d), "no warning, no error");
	is_str(canon(p), proton_canon, "canonical bytes: CRLF, fixed order");
	policy_free(p);

	p = parse("version: STSv1\r\nmode: enforce\r\n"
	          "mx: gmail-smtp-in.l.google.com\r\n"
	          "mx: *.gmail-smtp-in.l.google.com\r\nmax_age: 86400\r\n");
	ok(p != NULL && p->nmx == 2 && p->max_age == 86400,
	   "Gmail's policy parses");
	ok(p != NULL && p->lf_only == 0, "CRLF input is not lf_only");
	policy_free(p);

	p = parse("version: STSv1\nmode: enforce\n"
	          "mx: *.mail.protection.outlook.com\nmax_age: 604800");
	ok(p != NULL && p->nmx == 1 && p->max_age == 604800,
	   "Microsoft's policy parses (no final newline)");
	policy_free(p);

	p = parse("version: STSv1\nmode: none\nmax_age: 0\n");
	ok(p != NULL && p->mode == POLICY_MODE_NONE && p->nmx == 0 &&
	       p->max_age == 0,
	   "mode none without mx, max_age 0");
	policy_free(p);

	p = parse("version: STSv1\nmode: testing\nmx: a.example\n"
	          "max_age: 31557600\n");
	ok(p != NULL && p->mode == POLICY_MODE_TESTING &&
	       p->max_age == 31557600,
	   "mode testing, max_age at its maximum");
	policy_free(p);
}

/* Inputs differing in line ends, final newline or order: same bytes. */
static void
test_semantic(void)
{
	static const char *const same[] = {
	    "version: STSv1\r\nmode: enforce\r\nmx: mail.protonmail.ch\r\n"
	    "mx: mailsec.protonmail.ch\r\nmax_age: 604800\r\n",
	    "version: STSv1\nmode: enforce\nmx: mail.protonmail.ch\n"
	    "mx: mailsec.protonmail.ch\nmax_age: 604800",
	    "max_age: 604800\nmx: mail.protonmail.ch\r\nmode: enforce\n"
	    "mx: mailsec.protonmail.ch\nversion: STSv1\n",
	    "version:STSv1\nmode:\t enforce \t\nmx: MAIL.ProtonMail.CH\n"
	    "mx:mailsec.protonmail.ch  \nmax_age: 000604800\n",
	};
	char id1[POLICY_ID_MAX + 1], id2[POLICY_ID_MAX + 1];
	struct policy *p;
	size_t i;

	policy_id(proton_canon, strlen(proton_canon), id1);
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		p = parse(same[i]);
		is_str(canon(p), proton_canon, "variant %zu: same canonical",
		       i);
		policy_id(canon(p), strlen(canon(p)), id2);
		is_str(id2, id1, "variant %zu: same id", i);
		policy_free(p);
	}
	p = parse("version: STSv1\nmode: enforce\nmx: mailsec.protonmail.ch\n"
	          "mx: mail.protonmail.ch\nmax_age: 604800\n");
	policy_id(canon(p), strlen(canon(p)), id2);
	ok(strcmp(id1, id2) != 0, "mx order is significant: another id");
	policy_free(p);
}

static void
test_id(void)
{
	char id[POLICY_ID_MAX + 1];

	policy_id("abc", 3, id);
	is_str(id, "ba7816bf8f01cfea414140de5dae2223",
	       "id = first 32 hex digits of SHA-256 (abc)");
	policy_id("", 0, id);
	is_str(id, "e3b0c44298fc1c149afbf4c8996fb924", "id of no bytes");
	ok(strlen(id) == POLICY_ID_MAX, "id is 32 characters");
}

/* The alternate form and the second id it gives: the same policy with
 * LF line ends, whose SHA-256 differs. */
static void
test_alternate(void)
{
	char id[POLICY_ID_MAX + 1], alt_id[POLICY_ID_MAX + 1];
	struct buf alt, small;
	struct policy *p;
	size_t i;

	buf_init(&alt, POLICY_MAX_SIZE);
	ok(policy_alternate(proton_canon, strlen(proton_canon), &alt) == 0,
	   "alternate: made");
	is_str(alt.data, proton,
	       "alternate: the canonical bytes, LF line ends");
	policy_id(proton_canon, strlen(proton_canon), id);
	policy_id(alt.data, alt.len, alt_id);
	is_str(id, "577dff60ecc7983026c228bb31c19dd6", "alternate: usual id");
	is_str(alt_id, "b056f5c25f57f294adb9e26a6b65f373",
	       "alternate: its id is the SHA-256 of its bytes");
	ok(strcmp(id, alt_id) != 0, "alternate: another id");
	for (i = 0; i < POLICY_ID_MAX; i++)
		if (!strchr("0123456789abcdef", alt_id[i]))
			break;
	ok(i == POLICY_ID_MAX && alt_id[i] == '\0',
	   "alternate id: 32 lower-case hex digits");
	p = parse(alt.data);
	is_str(canon(p), proton_canon, "alternate: the same policy");
	policy_free(p);
	buf_init(&small, POLICY_MAX_SIZE);
	ok(policy_alternate(alt.data, alt.len, &small) == 0 &&
	       strcmp(small.data, proton) == 0,
	   "alternate of the alternate: the same bytes");
	buf_free(&small);
	p = parse(HDR "mx: a.example\nmax_age: 1\next1: a\r\n");
	ok(policy_alternate(canon(p), strlen(canon(p)), &alt) == 0 &&
	       strchr(alt.data, '\r') == NULL &&
	       strcmp(alt.data, "version: STSv1\nmode: enforce\n"
	                        "mx: a.example\nmax_age: 1\next1: a\n") == 0,
	   "alternate: extensions too, no CR left");
	policy_free(p);
	ok(policy_alternate("", 0, &alt) == 0 && alt.len == 0,
	   "alternate of nothing: nothing");
	buf_init(&small, 8);
	ok(policy_alternate(proton_canon, strlen(proton_canon), &small) == -1,
	   "alternate: a buffer too small fails");
	buf_free(&small);
	buf_free(&alt);
}

static void
test_version_mode(void)
{
	struct policy *p;

	FAILS("mode: enforce\nmx: a.example\nmax_age: 1\n",
	      "missing required field \"version\" (RFC 8461 section 3.2)",
	      "missing version");
	FAILS("version: STSv2\nmode: none\nmax_age: 1\n",
	      "line 1: unsupported version \"STSv2\"", "version STSv2");
	FAILS("version: stsv1\nmode: none\nmax_age: 1\n",
	      "line 1: unsupported version", "version value is case-sensitive");
	FAILS("version: STSv1\nmax_age: 1\n",
	      "missing required field \"mode\" (RFC 8461 section 3.2)",
	      "missing mode");
	FAILS("version: STSv1\nmode: none\n",
	      "missing required field \"max_age\"", "missing max_age");
	FAILS(HDR "max_age: 1\n",
	      "mode enforce needs at least one mx (RFC 8461 section 3.2)",
	      "enforce without mx");
	FAILS("version: STSv1\nmode: testing\nmax_age: 1\n",
	      "mode testing needs at least one mx", "testing without mx");
	FAILS("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n",
	      "line 2: mode \"Enforce\" must be lower case",
	      "mode values are case-sensitive");
	FAILS("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
	      "line 2: invalid mode \"strict\": expected enforce, testing or "
	      "none (RFC 8461 section 3.2)",
	      "unknown mode");
	FAILS("version: STSv1\nmode:\nmx: a.example\nmax_age: 1\n",
	      "line 2: invalid mode \"\"", "empty mode");

	p = parse("mode: none\nmax_age: 5\nversion: STSv1\n");
	ok(p != NULL, "version need not be the first field");
	policy_free(p);

	p = parse("version: STSv1\nmode: testing\nmx: a.example\n"
	          "mode: Enforce\nversion: STSv9\nmax_age: 7\nmax_age: x\n");
	ok(p != NULL && p->mode == POLICY_MODE_TESTING && p->max_age == 7,
	   "repeated fields: the first wins, the others are not checked");
	ok(d.nwarn == 3, "one warning per repeated field (%zu)", d.nwarn);
	like(d.warn[0],
	     "line 4: duplicate \"mode\" field ignored, the first one "
	     "(line 2) wins (RFC 8461 section 3.2)",
	     "warning names both lines");
	like(d.warn[1], "line 5: duplicate \"version\"", "version repeated");
	like(d.warn[2], "line 7: duplicate \"max_age\"", "max_age repeated");
	policy_free(p);

	p = parse("version: STSv1\nMode: enforce\nmode: none\nmax_age: 1\n");
	ok(p != NULL && p->next == 1 && p->mode == POLICY_MODE_NONE,
	   "\"Mode\" is an unknown field (names are case-sensitive)");
	like(d.warn[0], "line 2: \"Mode\" is kept as an unknown field",
	     "a warning explains the case");
	policy_free(p);
}

static void
test_max_age(void)
{
	struct policy *p;

	FAILS(HDR "mx: a.example\nmax_age: 31557601\n",
	      "line 4: max_age 31557601 exceeds the maximum 31557600 "
	      "(RFC 8461 section 3.2)",
	      "max_age 31557601");
	FAILS(HDR "mx: a.example\nmax_age: 99999999999\n",
	      "line 4: max_age \"99999999999\" is not 1 to 10 digits",
	      "max_age of 11 digits");
	FAILS(HDR "mx: a.example\nmax_age: -1\n", "line 4: max_age \"-1\"",
	      "negative max_age");
	FAILS(HDR "mx: a.example\nmax_age: +5\n", "line 4: max_age \"+5\"",
	      "max_age with a sign");
	FAILS(HDR "mx: a.example\nmax_age: 1 2\n", "line 4: max_age \"1 2\"",
	      "max_age with a space inside");
	FAILS(HDR "mx: a.example\nmax_age: 86400s\n", "not 1 to 10 digits",
	      "max_age with a unit");
	FAILS(HDR "mx: a.example\nmax_age:\n", "line 4: max_age \"\"",
	      "empty max_age");
	p = parse(HDR "mx: a.example\nmax_age: 0000086400\n");
	ok(p != NULL && p->max_age == 86400, "leading zeros: 10 digits ok");
	like(canon(p), "\r\nmax_age: 86400\r\n", "canonical drops the zeros");
	policy_free(p);
}

/* A label of n copies of c, for length limits. */
static char *
label(size_t n, char c)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_mx_syntax(void)
{
	char in[1024], *l63 = label(63, 'a'), *l64 = label(64, 'a');
	char *l61 = label(61, 'b'), *l62 = label(62, 'b');
	struct policy *p;

	p = parse(HDR "mx: *.Example.NET\nmx: xn--bcher-kva.example\n"
	              "mx: a-b.c1.example\n" TAIL);
	ok(p != NULL && p->nmx == 3, "wildcard, A-label, hyphen and digits");
	if (p != NULL)
		is_str(p->mx[0], "*.example.net", "mx stored lower-cased");
	policy_free(p);

	FAILS(HDR "mx: *.*.example.com\n" TAIL,
	      "line 3: mx \"*.*.example.com\" has a wildcard that is not the "
	      "whole left-most label",
	      "*.*.example.com");
	FAILS(HDR "mx: mail.*.example.com\n" TAIL, "has a wildcard",
	      "wildcard in the middle");
	FAILS(HDR "mx: *mail.example.com\n" TAIL, "has a wildcard",
	      "partial wildcard label");
	FAILS(HDR "mx: *\n" TAIL, "line 3: mx \"*\" is only a wildcard",
	      "a lone wildcard");
	FAILS(HDR "mx: 192.0.2.1\n" TAIL,
	      "line 3: mx \"192.0.2.1\" is an IP address", "IPv4 address");
	FAILS(HDR "mx: 2001:db8::1\n" TAIL, "is an IP address", "IPv6 address");
	FAILS(HDR "mx: [192.0.2.1]\n" TAIL, "is an IP address",
	      "address literal");
	FAILS(HDR "mx: mail.b\xc3\xbc"
	          "cher.example\n" TAIL,
	      "line 3: mx \"mail.b\\xC3\\xBCcher.example\" is not an A-label "
	      "domain",
	      "U-label");
	FAILS(HDR "mx: mail.example.com.\n" TAIL, "ends with a dot",
	      "trailing dot");
	FAILS(HDR "mx: .example.com\n" TAIL, "has an empty label",
	      "leading dot");
	FAILS(HDR "mx: mail..example.com\n" TAIL, "has an empty label",
	      "empty label");
	FAILS(HDR "mx: -mail.example.com\n" TAIL,
	      "has a label that starts or ends with '-'", "leading hyphen");
	FAILS(HDR "mx: mail-.example.com\n" TAIL,
	      "has a label that starts or ends with '-'", "trailing hyphen");
	FAILS(HDR "mx: mail_1.example.com\n" TAIL,
	      "has a character other than letters, digits", "underscore");
	FAILS(HDR "mx: mail:example.com\n" TAIL, "has a character other than",
	      "a colon inside");
	FAILS(HDR "mx: a.example b.example\n" TAIL,
	      "line 3: mx \"a.example b.example\" holds more than one name: "
	      "each mx pattern needs an mx line of its own (RFC 8461 section "
	      "3.2)",
	      "two patterns on one line, a space between");
	FAILS(HDR "mx: a.example,b.example\n" TAIL,
	      "holds more than one name: each mx pattern needs an mx line of "
	      "its own",
	      "two patterns on one line, a comma between");
	FAILS(HDR "mx: a.example,\tb.example\n" TAIL,
	      "holds more than one name",
	      "two patterns, a comma and a tab between");
	FAILS(HDR "mx: mail.example.com:25\n" TAIL,
	      "line 3: mx \"mail.example.com:25\" has a port: an mx pattern "
	      "is a host name only, without a port (RFC 8461 section 3.2)",
	      "a host name with a port");
	FAILS(HDR "mx: 192.0.2.1:25\n" TAIL, "has a port",
	      "an address with a port");
	FAILS(HDR "mx: *.\n" TAIL,
	      "line 3: mx \"*.\" is only a wildcard: \"*.\" must be followed "
	      "by a domain, as in \"*.example.com\"",
	      "a wildcard and a dot, no domain");
	FAILS(HDR "mx: *.example.com.\n" TAIL,
	      "ends with a dot: write it without the trailing dot",
	      "a wildcard pattern with a trailing dot");
	FAILS(HDR "mx: a.\n" TAIL, "ends with a dot",
	      "a one-label name with a trailing dot");
	FAILS(HDR "mx: mail.*.example.com.\n" TAIL,
	      "has a wildcard that is not the whole left-most label",
	      "a trailing dot after another problem: that problem");
	FAILS(HDR "mx: 192.0.2.1.\n" TAIL, "is an IP address",
	      "an address with a trailing dot");
	FAILS(HDR "mx:\n" TAIL, "line 3: mx \"\" is empty", "empty mx");

	snprintf(in, sizeof(in), HDR "mx: %s.example\n" TAIL, l63);
	p = parse(in);
	ok(p != NULL, "a 63-character label is fine");
	policy_free(p);
	snprintf(in, sizeof(in), HDR "mx: %s.example\n" TAIL, l64);
	FAILS(in, "has a label longer than 63 characters", "64-char label");
	snprintf(in, sizeof(in), HDR "mx: %s.%s.%s.%s\n" TAIL, l63, l63, l63,
	         l61);
	p = parse(in);
	ok(p != NULL, "a 253-character name is fine");
	policy_free(p);
	snprintf(in, sizeof(in), HDR "mx: %s.%s.%s.%s\n" TAIL, l63, l63, l63,
	         l62);
	FAILS(in, "is longer than 253 characters", "254-character name");
	free(l63);
	free(l64);
	free(l61);
	free(l62);

	p = parse(HDR "mx: a.example\nmx: A.Example\n" TAIL);
	ok(p != NULL && p->nmx == 1, "a repeated mx is kept once");
	like(d.warn[0], "line 4: mx \"A.Example\" repeated, ignored",
	     "a repeated mx is a warning");
	policy_free(p);
}

/* Empty lines at the very end: ignored with a warning, one for them all,
 * and left out of the canonical form. */
static void
test_trailing_blank_lines(void)
{
	static const char want[] =
	    "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n";
	struct policy *p;

	p = parse("version: STSv1\r\nmode: none\r\nmax_age: 1\r\n\r\n");
	ok(p != NULL && d.nwarn == 1,
	   "a CRLF blank line at the end: accepted, one warning");
	like(d.warn[0],
	     "line 4: an empty line at the end, ignored (the canonical form "
	     "has none): the grammar has no empty line, so a strict sender "
	     "may refuse this file (RFC 8461 section 3.2)",
	     "a blank line at the end: the warning says why");
	is_str(canon(p), want,
	       "a blank line at the end: not in the canonical "
	       "form");
	policy_free(p);
	p = parse("version: STSv1\nmode: none\nmax_age: 1\n\n\r\n\n");
	ok(p != NULL && d.nwarn == 1, "three blank lines at the end: accepted, "
	                              "one warning");
	like(d.warn[0], "lines 4-6: 3 empty lines at the end, ignored",
	     "three blank lines at the end: their lines are named");
	is_str(canon(p), want,
	       "blank lines at the end: not in the canonical "
	       "form");
	policy_free(p);
	p = parse("version: STSv1\nmode: none\nmax_age: 1\n");
	ok(p != NULL && d.nwarn == 0, "no blank line: no warning");
	policy_free(p);
}

static void
test_lines(void)
{
	char big[POLICY_MAX_SIZE + 2];
	struct policy *p;

	FAILS("", "line 1: empty policy (RFC 8461 section 3.2)", "empty input");
	FAILS("<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n",
	      "line 1: not a policy: looks like an HTML page",
	      "an HTML error page");
	FAILS("\r\n  <html>\n", "looks like an HTML page",
	      "HTML after white space");
	FAILS("version: STSv1\rmode: none\rmax_age: 1\r",
	      "line 1: bare CR: lines end in LF or CRLF (RFC 8461 section 3.2)",
	      "CR line ends");
	FAILS("version: STSv1\nmode: none\nmax_age: 1\r", "line 3: bare CR",
	      "a CR at the very end");
	FAILS("version: STSv1\nmode: no\rne\nmax_age: 1\n", "line 2: bare CR",
	      "a CR inside a line");
	fails("version: STSv1\nmode: none\0\nmax_age: 1\n", 38,
	      "line 2: NUL byte (RFC 8461 section 3.2)", "a NUL byte");
	FAILS("version: STSv1\nmode: none\n\nmax_age: 1\n",
	      "line 3: empty line (RFC 8461 section 3.2)", "a blank line");
	FAILS("version: STSv1\nmode: none\nmax_age: 1\n\nx: y\n",
	      "line 4: empty line (RFC 8461 section 3.2)",
	      "a blank line before the last field");
	FAILS("version: STSv1\nmode: none\nmax_age: 1\n\n\n \n",
	      "line 4: empty line", "blank lines before a line of spaces");
	FAILS("\n", "line 1: empty line", "an empty line alone");
	FAILS("\r\n\r\nversion: STSv1\nmode: none\nmax_age: 1\n",
	      "line 1: empty line", "blank lines at the start");
	test_trailing_blank_lines();
	FAILS("version: STSv1\n mode: none\nmax_age: 1\n",
	      "line 2: white space around the field name", "leading space");
	FAILS("version: STSv1\nmode : none\nmax_age: 1\n",
	      "line 2: white space around the field name",
	      "space before the colon");
	FAILS("version: STSv1\nmode none\nmax_age: 1\n",
	      "line 2: expected \"field: value\"", "no colon");
	FAILS("version: STSv1\nmode: none\nmax_age: 1\n: x\n",
	      "line 4: invalid field name \"\"", "empty field name");
	FAILS("version: STSv1\nmode: none\nmax_age: 1\nnote: \x01\n",
	      "line 4: control character 0x01", "a control character");
	FAILS("version: STSv1\nmode: n\xc3\xb6ne\nmax_age: 1\n",
	      "line 2: non-ASCII byte 0xC3: only extension values may hold "
	      "UTF-8",
	      "non-ASCII in a field of the RFC's");
	FAILS("\xef\xbb\xbfversion: STSv1\nmode: none\nmax_age: 1\n",
	      "line 1: starts with a UTF-8 byte-order mark (EF BB BF): save "
	      "the file without it",
	      "a byte-order mark");

	p = parse("version: STSv1\t\nmode:\t\tnone   \nmax_age:   3 \n");
	ok(p != NULL && p->max_age == 3,
	   "white space after the colon and at the end is dropped");
	policy_free(p);
	p = parse("version: STSv1\r\nmode: none\nmax_age: 3\r\n");
	ok(p != NULL && p->lf_only == 1, "mixed LF and CRLF ends are legal");
	policy_free(p);

	memset(big, 'x', sizeof(big));
	fails(big, POLICY_MAX_SIZE + 1, "policy larger than 65536 bytes",
	      "one byte over 64 KiB");
}

static void
test_extensions(void)
{
	char name[40], in[256];
	struct policy *p;

	p = parse("version: STSv1\nx-b: two words\nmode: none\nmax_age: 1\n"
	          "a.1_x-y: v\nx-b: again\n");
	ok(p != NULL && p->next == 2, "unknown fields are kept");
	if (p == NULL || p->next != 2)
		return;
	is_str(p->ext[0].key, "x-b", "first extension, name as written");
	is_str(p->ext[0].value, "two words", "inner spaces kept");
	is_str(p->ext[1].key, "a.1_x-y", "second extension in input order");
	like(d.warn[0], "line 6: duplicate \"x-b\" field ignored",
	     "a repeated extension: first wins, warning");
	is_str(canon(p),
	       "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n"
	       "x-b: two words\r\na.1_x-y: v\r\n",
	       "extensions come last in the canonical form");
	policy_free(p);

	FAILS("version: STSv1\nmode: none\nmax_age: 1\n_x: v\n",
	      "line 4: invalid field name \"_x\"", "name starting with '_'");
	FAILS("version: STSv1\nmode: none\nmax_age: 1\nx: a\tb\n",
	      "line 4: invalid value for \"x\"", "tab inside a value");
	FAILS("version: STSv1\nmode: none\nmax_age: 1\nx:\n",
	      "line 4: invalid value for \"x\"", "empty extension value");

	/* UTF-8 in an extension value (sts-policy-vchar), kept as it is */
	p = parse("version: STSv1\nmode: none\nmax_age: 1\n"
	          "note: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\n");
	ok(p != NULL && p->next == 1, "UTF-8 in an extension value: valid");
	if (p != NULL)
		is_str(canon(p),
		       "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n"
		       "note: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\r\n",
		       "... and kept in the canonical form");
	policy_free(p);
	{
		static const char *const bad[] = {
		    "caf\xc3",          /* cut short */
		    "\xc0\xaf",         /* overlong '/' */
		    "\xe0\x80\xaf",     /* overlong, three bytes */
		    "\xed\xa0\x80",     /* a surrogate */
		    "\xf4\x90\x80\x80", /* past U+10FFFF */
		    "\x80",             /* a continuation byte alone */
		    "\xfe",             /* never in UTF-8 */
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(in, sizeof(in),
			         "version: STSv1\nmode: none\nmax_age: 1\n"
			         "x: %s\n",
			         bad[i]);
			FAILS(in,
			      "line 4: invalid value for \"x\": visible ASCII "
			      "or well-formed UTF-8",
			      "a value that is not well-formed UTF-8");
		}
	}
	memset(name, 'n', 33);
	name[33] = '\0';
	snprintf(in, sizeof(in),
	         "version: STSv1\nmode: none\nmax_age: 1\n"
	         "%s: v\n",
	         name);
	FAILS(in, "line 4: invalid field name", "33-character name");
	name[32] = '\0';
	snprintf(in, sizeof(in),
	         "version: STSv1\nmode: none\nmax_age: 1\n"
	         "%s: v\n",
	         name);
	p = parse(in);
	ok(p != NULL, "32-character name is fine");
	policy_free(p);
}

static void
test_match(void)
{
	static const struct {
		const char *pattern, *host;
		int want;
	} t[] = {
	    {"mail.example.com", "mail.example.com", 1},
	    {"mail.example.com", "MAIL.Example.COM", 1},
	    {"mail.example.com", "mail.example.com.", 1},
	    {"MAIL.example.com", "mail.example.com", 1},
	    {"mail.example.com", "mail2.example.com", 0},
	    {"mail.example.com", "a.mail.example.com", 0},
	    {"*.example.com", "mx1.example.com", 1},
	    {"*.example.com", "MX1.EXAMPLE.COM.", 1},
	    {"*.example.com", "example.com", 0},
	    {"*.example.com", "a.b.example.com", 0},
	    {"*.example.com", ".example.com", 0},
	    {"*.example.com", "mx1.example.org", 0},
	    {"*.example.com", "mx1example.com", 0},
	    {"*.mail.protection.outlook.com",
	     "example-com.mail.protection.outlook.com", 1},
	    {"*.gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com",
	     1},
	    {"*.gmail-smtp-in.l.google.com", "gmail-smtp-in.l.google.com", 0},
	    {"*", "example", 0},
	    {"mail.example.com", "", 0},
	};
	struct policy *p;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(policy_mx_match(t[i].pattern, t[i].host) == t[i].want,
		   "%s %s %s", t[i].pattern, t[i].want ? "matches" : "misses",
		   t[i].host);

	p = parse("version: STSv1\nmode: enforce\n"
	          "mx: gmail-smtp-in.l.google.com\n"
	          "mx: *.gmail-smtp-in.l.google.com\nmax_age: 86400\n");
	ok(p != NULL && policy_covers(p, "gmail-smtp-in.l.google.com"),
	   "covers the bare host");
	ok(p != NULL && policy_covers(p, "alt4.gmail-smtp-in.l.google.com."),
	   "covers a host under the wildcard");
	ok(p != NULL && !policy_covers(p, "a.alt4.gmail-smtp-in.l.google.com"),
	   "does not cover two labels under the wildcard");
	ok(p != NULL && !policy_covers(p, "mx.example.com"),
	   "does not cover another host");
	policy_free(p);
}

static void
test_build(void)
{
	struct policy *p = policy_new(), *c;
	enum policy_mode m;
	struct buf small;

	ok(p->mode == POLICY_MODE_NONE && p->nmx == 0 && p->max_age == 0,
	   "policy_new: mode none, no mx, max_age 0");
	diag_init(&d);
	ok(policy_validate(p, &d) == 0, "an empty mode none policy is valid");
	p->mode = POLICY_MODE_ENFORCE;
	ok(policy_validate(p, &d) == -1, "enforce without mx is not");
	like(d.error, "mode enforce needs at least one mx", "and says why");
	diag_init(&d);
	ok(policy_add_mx(p, "*.*.example.com", &d) == -1,
	   "policy_add_mx refuses a double wildcard");
	like(d.error, "mx \"*.*.example.com\" has a wildcard",
	     "policy_add_mx error text");
	like(d.error, "(RFC 8461 section 3.2)", "policy_add_mx cites the RFC");
	diag_init(&d);
	ok(policy_add_mx(p, "MX1.Example.COM", &d) == 0 &&
	       policy_add_mx(p, "mx1.example.com", &d) == 0 && p->nmx == 1,
	   "policy_add_mx lower-cases and ignores duplicates");
	policy_add_mx(p, "*.example.net", &d);
	p->max_age = 3600;
	ok(policy_validate(p, &d) == 0, "a filled policy validates");
	p->max_age = POLICY_MAX_AGE_MAX + 1;
	ok(policy_validate(p, &d) == -1, "max_age over the maximum fails");
	p->max_age = 3600;

	c = policy_dup(p);
	free(p->mx[0]);
	p->mx[0] = xstrdup("changed.example");
	is_str(c->mx[0], "mx1.example.com", "policy_dup is a deep copy");
	is_str(canon(c),
	       "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
	       "mx: *.example.net\r\nmax_age: 3600\r\n",
	       "canonical form of a hand-built policy");
	buf_init(&small, 20);
	ok(policy_canonical(c, &small) == -1, "canonical into a small buffer");
	buf_free(&small);
	policy_free(c);
	policy_free(p);
	policy_free(NULL);

	is_str(policy_mode_name(POLICY_MODE_TESTING), "testing", "mode name");
	ok(policy_mode_from_name("none", &m) == 0 && m == POLICY_MODE_NONE,
	   "mode from name");
	ok(policy_mode_from_name("None", &m) == -1, "mode names are exact");
}

/* Into in: an LF-only policy, its fields in canonical order, whose
 * canonical form (CRLF line ends) is canonical_len bytes: 95 lines, so
 * 95 bytes shorter. */
static void
lf_policy(struct buf *in, size_t canonical_len)
{
	size_t lines = 4 + 90 + 1, pad;
	unsigned i;

	buf_reset(in);
	buf_puts(in, "version: STSv1\nmode: testing\nmx: mail.example.com\n"
	             "max_age: 86400\n");
	for (i = 10; i < 100; i++)
		buf_printf(in, "x%u: %0600d\n", i, 0);
	pad = canonical_len - lines - in->len - strlen("y: \n");
	buf_puts(in, "y: ");
	while (pad-- > 0)
		buf_puts(in, "a");
	buf_puts(in, "\n");
}

/* An input that fits in 64 KiB but whose canonical form does not is
 * refused with the size of that form, exact to the byte. */
static void
test_canonical_size(void)
{
	struct buf in;
	struct policy *p;

	buf_init(&in, 2 * POLICY_MAX_SIZE);
	lf_policy(&in, POLICY_MAX_SIZE + 95);
	ok(in.len == POLICY_MAX_SIZE, "an LF-only policy of 65536 bytes (%zu)",
	   in.len);
	fails(in.data, in.len,
	      "the canonical form of this policy (CRLF line ends, fields in "
	      "order) would be 65631 bytes, more than the 64 KiB (65536 bytes) "
	      "that senders may read at most (RFC 8461 section 3.3), so they "
	      "could refuse the published file: shorten the policy",
	      "an LF-only policy of 64 KiB: the size of its canonical form");
	lf_policy(&in, POLICY_MAX_SIZE);
	p = parse(in.data);
	ok(p != NULL && strlen(canon(p)) == POLICY_MAX_SIZE,
	   "a canonical form of exactly 65536 bytes is accepted");
	policy_free(p);
	lf_policy(&in, POLICY_MAX_SIZE + 1);
	FAILS(in.data, "would be 65537 bytes, more than the 64 KiB",
	      "a canonical form of 65537 bytes: refused, its size exact");
	buf_free(&in);
}

/* A policy built by hand (the configuration's mx overrides) is checked
 * for its canonical size by policy_validate(). */
static void
test_hand_built_too_large(void)
{
	struct buf canon;
	struct policy *p = policy_new();
	char name[128], want[200];
	unsigned i;
	int rc, added = 1;

	p->mode = POLICY_MODE_TESTING;
	p->max_age = 86400;
	for (i = 0; i < 950; i++) {
		snprintf(name, sizeof(name), "mx%03u.%s.%s.example", i,
		         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		         "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
		diag_init(&d);
		added = policy_add_mx(p, name, &d) == 0 && added;
	}
	ok(added, "950 long mx patterns added");
	buf_init(&canon, 1u << 20);
	rc = policy_canonical(p, &canon);
	ok(rc == 0 && canon.len > POLICY_MAX_SIZE,
	   "950 long mx patterns: over 64 KiB in canonical form (%zu)",
	   canon.len);
	snprintf(want, sizeof(want),
	         "the canonical form of this policy (CRLF line ends, fields in "
	         "order) would be %zu bytes, more than the 64 KiB",
	         canon.len);
	diag_init(&d);
	ok(policy_validate(p, &d) == -1, "policy_validate() refuses it");
	like(d.error, want, "with the exact size of its canonical form");
	buf_free(&canon);
	policy_free(p);
}

/* Many mx: a cap on their number, and on the canonical size. */
static void
test_limits(void)
{
	struct buf in;
	struct policy *p;
	unsigned i;

	buf_init(&in, 1 << 20);
	buf_puts(&in, "version:STSv1\nmode:testing\nmax_age:1\n");
	for (i = 0; i < 1000; i++)
		buf_printf(&in, "mx:h%04u%s.example.com\n", i,
		           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	ok(in.len <= POLICY_MAX_SIZE, "input of 1000 mx fits 64 KiB (%zu)",
	   in.len);
	fails(in.data, in.len,
	      "the canonical form of this policy (CRLF line ends, fields in "
	      "order) would be ",
	      "a policy whose canonical form would not fit");
	like(d.error,
	     " bytes, more than the 64 KiB (65536 bytes) that senders may read "
	     "at most (RFC 8461 section 3.3), so they could refuse the "
	     "published file: shorten the policy",
	     "a policy whose canonical form would not fit: why it matters");
	test_canonical_size();
	test_hand_built_too_large();

	buf_reset(&in);
	buf_puts(&in, "version:STSv1\nmode:testing\nmax_age:1\n");
	for (i = 0; i < POLICY_MX_MAX; i++)
		buf_printf(&in, "mx:h%u.e\n", i);
	diag_init(&d);
	p = policy_parse(in.data, in.len, &d);
	ok(p != NULL && p->nmx == POLICY_MX_MAX, "1000 mx are accepted");
	policy_free(p);
	buf_puts(&in, "mx:one.more\n");
	fails(in.data, in.len,
	      "line 1004: mx \"one.more\" is one too many: mta-sts-sync takes "
	      "at most 1000 mx patterns, a limit of its own that bounds the "
	      "memory a policy uses",
	      "1001 mx");
	ok(strstr(d.error, "RFC") == NULL,
	   "1001 mx: our limit is not cited as the RFC's");
	diag_init(&d);
	p = policy_parse(in.data, in.len - strlen("mx:one.more\n"), &d);
	ok(p != NULL && policy_add_mx(p, "one.more", &d) == -1 &&
	       strncmp(d.error, "mx \"one.more\" is one too many", 28) == 0 &&
	       strstr(d.error, "a limit of its own") != NULL &&
	       strstr(d.error, "RFC") == NULL,
	   "1001 mx added by hand: our limit, not the RFC's");
	policy_free(p);

	buf_reset(&in);
	buf_puts(&in, "version:STSv1\nmode:none\nmax_age:1\n");
	for (i = 0; i < POLICY_EXT_MAX; i++)
		buf_printf(&in, "x%u: v\n", i);
	diag_init(&d);
	p = policy_parse(in.data, in.len, &d);
	ok(p != NULL && p->next == POLICY_EXT_MAX,
	   "100 unknown fields are kept");
	policy_free(p);
	buf_puts(&in, "y: v\n");
	fails(in.data, in.len,
	      "line 104: more than 100 unknown fields: mta-sts-sync keeps at "
	      "most 100, a limit of its own that bounds the memory a policy "
	      "uses",
	      "101 unknown fields");
	ok(strstr(d.error, "RFC") == NULL,
	   "101 unknown fields: our limit is not cited as the RFC's");
	buf_free(&in);
}

int
main(void)
{
	test_valid();
	test_semantic();
	test_id();
	test_alternate();
	test_version_mode();
	test_max_age();
	test_mx_syntax();
	test_lines();
	test_extensions();
	test_match();
	test_build();
	test_limits();
	return done_testing();
}
