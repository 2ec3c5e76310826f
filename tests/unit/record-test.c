/*
 * record-test.c - unit tests of the TXT records: STSv1 (RFC 8461 section
 * 3.1), TLSRPTv1 (RFC 8460 section 3), the "exactly one record" selection
 * and TXT RDATA character-strings.
 */
#include "config.h"

#include <string.h>

#include "record.h"
#include "tap.h"

static struct diag d;

/* Parse an STSv1 record text; 0 or -1. */
static int
sts(const char *txt, struct sts_record *r)
{
	diag_init(&d);
	return sts_record_parse(txt, strlen(txt), r, &d);
}

/* Parse a TLSRPTv1 record text; 0 or -1. */
static int
rpt(const char *txt, struct tlsrpt_record *r)
{
	diag_init(&d);
	return tlsrpt_record_parse(txt, strlen(txt), r, &d);
}

static void
test_sts_valid(void)
{
	static const struct {
		const char *txt, *id;
	} t[] = {
	    {"v=STSv1; id=20190429T010101", "20190429T010101"},
	    {"v=STSv1;id=abc", "abc"},
	    {"v=STSv1; id=abc;", "abc"},
	    {"v=STSv1 ;\tid=abc ; ", "abc"},
	    {"v=STSv1; id=0123456789abcdef0123456789ABCDEF",
	     "0123456789abcdef0123456789ABCDEF"},
	    {"v=STSv1; ext=x!y; id=a1", "a1"},
	    {"v=STSv1; id=first; id=second", "first"},
	};
	struct sts_record r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok(sts(t[i].txt, &r) == 0, "valid: %s", t[i].txt);
		is_str(r.id, t[i].id, "id of %s", t[i].txt);
	}
	ok(d.nwarn == 1, "a repeated id is a warning");
	like(d.warn[0],
	     "repeated id field: the first is taken here, some senders take "
	     "the last: keep one id field",
	     "warning text: senders differ, keep one");
	ok(sts("v=STSv1; id=abc; ID=def", &r) == 0 && strcmp(r.id, "abc") == 0,
	   "ID= beside id=: an extension field, the id is id=");
	ok(d.nwarn == 1, "... with a warning");
	like(d.warn[0],
	     "field ID= is not id= (field names are case-sensitive), "
	     "but senders that ignore case take it for a second id: remove "
	     "it",
	     "... saying that field names are case-sensitive");
}

static void
test_sts_invalid(void)
{
	static const struct {
		const char *txt, *why;
	} t[] = {
	    {"", "does not start with \"v=STSv1;\""},
	    {"v=STSv1", "record has no id field"},
	    {"v=STSv1;", "record has no id field"},
	    {"v=STSv10; id=abc", "does not start with \"v=STSv1;\""},
	    {"v=stsv1; id=abc", "does not start with"},
	    {" v=STSv1; id=abc", "does not start with"},
	    {"id=abc; v=STSv1", "does not start with"},
	    {"v=STSv1; id=", "id \"\" is not 1 to 32 letters and digits"},
	    {"v=STSv1; id=abc-def", "id \"abc-def\" is not 1 to 32"},
	    {"v=STSv1; id=0123456789abcdef0123456789abcdef0",
	     "is not 1 to 32 letters and digits"},
	    {"v=STSv1; id=ab cd", "id \"ab cd\" is not"},
	    {"v=STSv1; id=abc ", "white space at the end of the record: "
	                         "remove it"},
	    {"v=STSv1 id=abc", "expected ';' between fields"},
	    {"v=STSv1;; id=abc", "invalid field \"\": expected name=value"},
	    {"v=STSv1; ID=abc", "record has no id field: field names are "
	                        "case-sensitive, write id= instead of ID="},
	    {"v=STSv1; Id=abc", "write id= instead of Id="},
	    {"v=STSv1; id=abc; junk", "invalid field \"junk\""},
	    {"v=STSv1; id=abc; x=a=b", "invalid value for field \"x\""},
	    {"v=STSv1; id=abc; _x=1", "invalid field \"_x=1\""},
	};
	struct sts_record r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok(sts(t[i].txt, &r) == -1, "invalid: '%s'", t[i].txt);
		like(d.error, t[i].why, "reason for '%s'", t[i].txt);
		like(d.error, "(RFC 8461 section 3.1)", "cites RFC 8461 3.1");
		is_str(r.id, "", "no id left behind");
	}
	diag_init(&d);
	ok(sts_record_parse("v=STSv1; id=abc\0def", 19, &r, &d) == -1,
	   "a NUL inside the record is refused");
}

static void
test_sts_format(void)
{
	struct buf b;
	struct sts_record r;

	buf_init(&b, TXT_RECORD_MAX);
	ok(sts_record_format("0123456789abcdef0123456789abcdef", &b) == 0,
	   "format a 32-character id");
	is_str(b.data, "v=STSv1; id=0123456789abcdef0123456789abcdef",
	       "formatted STSv1 record");
	ok(sts(b.data, &r) == 0 &&
	       strcmp(r.id, "0123456789abcdef0123456789abcdef") == 0,
	   "the formatted record parses back");
	ok(sts_record_format("bad-id", &b) == -1, "refuse a non-alnum id");
	ok(sts_record_format("", &b) == -1, "refuse an empty id");
	ok(sts_record_format("0123456789abcdef0123456789abcdef0", &b) == -1,
	   "refuse a 33-character id");
	buf_free(&b);
}

static void
test_tlsrpt(void)
{
	struct tlsrpt_record r;

	ok(rpt("v=TLSRPTv1; rua=mailto:tlsrpt@example.com", &r) == 0,
	   "one mailto rua");
	ok(r.rua.n == 1 && strcmp(r.rua.v[0], "mailto:tlsrpt@example.com") == 0,
	   "rua kept as written");
	tlsrpt_record_free(&r);

	ok(rpt("v=TLSRPTv1;rua=mailto:a@example.com , "
	       "https://reports.example.net/tls?x=1%2C2;ext=1;",
	       &r) == 0,
	   "two URIs, white space around the comma, extension");
	ok(r.rua.n == 2 &&
	       strcmp(r.rua.v[1], "https://reports.example.net/tls?x=1%2C2") ==
	           0,
	   "second URI, percent-encoding kept");
	tlsrpt_record_free(&r);

	ok(rpt("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@x.example",
	       &r) == 0 &&
	       r.rua.n == 1,
	   "a repeated rua: the first wins");
	like(d.warn[0],
	     "repeated rua field: the first is taken here, some senders take "
	     "the last: keep one rua field, its URIs separated by commas",
	     "with a warning: senders differ, keep one");
	tlsrpt_record_free(&r);

	ok(rpt("v=TLSRPTv1; rua=mailto:a@example.com; RUA=mailto:b@x.example",
	       &r) == 0 &&
	       r.rua.n == 1,
	   "RUA= beside rua=: an extension field");
	like(d.warn[0],
	     "field RUA= is not rua= (field names are "
	     "case-sensitive)",
	     "... with a warning");
	tlsrpt_record_free(&r);
}

static void
test_tlsrpt_invalid(void)
{
	static const struct {
		const char *txt, *why;
	} t[] = {
	    {"v=TLSRPTv1", "record has no rua field"},
	    {"v=TLSRPTv1; RUA=mailto:a@example.com",
	     "record has no rua field: field names are case-sensitive, "
	     "write rua= instead of RUA="},
	    {"v=TLSRPTv1; rua=mailto:a@example.com,b@example.com",
	     "rua URI \"b@example.com\" is neither mailto: nor https:, "
	     "write mailto:b@example.com (in a list each address has its "
	     "own mailto:, commas separate the URIs, and a comma inside a URI "
	     "is written %2C)"},
	    {"v=TLSRPTv1; rua=tlsrpt@example.com",
	     "write mailto:tlsrpt@example.com"},
	    {"v=TLSRPTv1; ext=1", "record has no rua field"},
	    {"v=TLSRPTv1; rua=mailto:a@example.com; x=a=b",
	     "invalid value for field \"x\""},
	    {"v=TLSRPTv10; rua=mailto:a@example.com",
	     "does not start with \"v=TLSRPTv1;\""},
	    {"v=STSv1; rua=mailto:a@example.com", "does not start with"},
	    {"v=TLSRPTv1; rua=http://example.com/r",
	     "rua URI \"http://example.com/r\" is neither mailto: nor "
	     "https:"},
	    {"v=TLSRPTv1; rua=ftp://example.com/", "is neither mailto:"},
	    {"v=TLSRPTv1; rua=mailto:a!b@example.com",
	     "has a '!' that must be percent-encoded (%21)"},
	    {"v=TLSRPTv1; rua=mailto:a@example.com!10m",
	     "has a '!' that must be percent-encoded (%21): a size limit "
	     "such as !10m is DMARC's, not TLS-RPT's"},
	    {"v=TLSRPTv1; rua=https://example.com/a!b", "percent-encoded"},
	    {"v=TLSRPTv1; rua=mailto:a@example.com,", "empty URI in rua"},
	    {"v=TLSRPTv1; rua=,mailto:a@example.com", "empty URI in rua"},
	    {"v=TLSRPTv1; rua=mailto:", "is not a mailto: address"},
	    {"v=TLSRPTv1; rua=mailto:example.com", "is not a mailto:"},
	    {"v=TLSRPTv1; rua=mailto:@example.com", "is not a mailto:"},
	    {"v=TLSRPTv1; rua=https://", "is not an https:// URL with a host"},
	    {"v=TLSRPTv1; rua=https:/x", "is not an https:// URL"},
	    {"v=TLSRPTv1; rua=https:///path", "is not an https:// URL"},
	    {"v=TLSRPTv1; rua=mailto:a b@example.com",
	     "has a character not allowed in a URI"},
	    {"v=TLSRPTv1; rua=mailto:a@example.com%2", "has a '%' not"},
	    {"v=TLSRPTv1; rua=mailto:a@example.com%zz", "has a '%' not"},
	    {"v=TLSRPTv1; rua=mailto:caf\xc3\xa9@example.com",
	     "has a character not allowed"},
	};
	struct tlsrpt_record r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok(rpt(t[i].txt, &r) == -1, "invalid: '%s'", t[i].txt);
		like(d.error, t[i].why, "reason for '%s'", t[i].txt);
		like(d.error, "(RFC 8460 section 3)", "cites RFC 8460 3");
		ok(r.rua.n == 0 && r.rua.v == NULL, "nothing left to free");
	}
}

static void
test_tlsrpt_uri_format(void)
{
	struct strlist l = {NULL, 0};
	struct tlsrpt_record r;
	struct buf b;

	diag_init(&d);
	ok(tlsrpt_uri_check("MAILTO:Reports@Example.com", &d) == 0,
	   "the scheme is case-insensitive");
	ok(tlsrpt_uri_check("https://r.example/x;y", &d) == -1,
	   "a ';' in an https URI must be encoded");
	like(d.error, "has a ',' or ';' that must be percent-encoded",
	     "... and the message says so");
	diag_init(&d);
	ok(tlsrpt_uri_check("mailto:a@b.example?subject=x%21", &d) == 0,
	   "encoded '!' is fine");

	buf_init(&b, TXT_RECORD_MAX);
	ok(tlsrpt_record_format(&l, &b) == -1, "no rua: nothing to format");
	strlist_add(&l, "mailto:tlsrpt@example.com");
	strlist_add(&l, "https://tlsrpt.example.com/v1");
	ok(tlsrpt_record_format(&l, &b) == 0, "format two rua");
	is_str(b.data,
	       "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,"
	       "https://tlsrpt.example.com/v1",
	       "formatted TLSRPTv1 record");
	ok(rpt(b.data, &r) == 0 && r.rua.n == 2, "it parses back");
	tlsrpt_record_free(&r);
	strlist_free(&l);
	buf_free(&b);
}

static void
test_select(void)
{
	char *txts[] = {
	    "v=spf1 -all",
	    "v=STSv10; id=1",
	    "v=STSv1; id=abc",
	    "v=STSv1",
	    "v=STSv1 ; id=x",
	    "xv=STSv1; id=1",
	    "v=TLSRPTv1; rua=mailto:a@b.example",
	};
	size_t first = 99;

	ok(record_select(txts, 3, STS_RECORD_VERSION, &first) == 1 &&
	       first == 2,
	   "v=STSv10 does not count, v=STSv1; does");
	ok(record_select(txts, 5, STS_RECORD_VERSION, &first) == 1 &&
	       first == 2,
	   "version followed by the end or white space does not count "
	   "(RFC 8461 section 3.1: records not beginning with v=STSv1; are "
	   "discarded)");
	ok(record_select(txts, 7, TLSRPT_RECORD_VERSION, &first) == 1 &&
	       first == 6,
	   "one TLSRPTv1 record");
	first = 99;
	ok(record_select(txts, 2, STS_RECORD_VERSION, &first) == 0 &&
	       first == 99,
	   "none: first untouched");
	ok(record_select(txts + 5, 1, STS_RECORD_VERSION, NULL) == 0,
	   "the version must start the record");
}

/* Near misses: records that begin with the version but not with
 * "<version>;". Some senders count them, the RFC discards them, and sync
 * replaces them as its own (record_is_version()). */
static void
test_near_miss(void)
{
	static const struct {
		const char *txt, *version;
		int begins, near, ours;
	} t[] = {
	    {"v=STSv1; id=abc", STS_RECORD_VERSION, 1, 0, 1},
	    {"v=STSv1;id=abc", STS_RECORD_VERSION, 1, 0, 1},
	    {"v=STSv1", STS_RECORD_VERSION, 0, 1, 1},
	    {"v=STSv1 id=junk", STS_RECORD_VERSION, 0, 1, 1},
	    {"v=STSv1 ; id=abc", STS_RECORD_VERSION, 0, 1, 1},
	    {"v=STSv1\t; id=abc", STS_RECORD_VERSION, 0, 1, 1},
	    {"v=STSv10; id=abc", STS_RECORD_VERSION, 0, 0, 0},
	    {" v=STSv1; id=abc", STS_RECORD_VERSION, 0, 0, 0},
	    {"V=STSV1; id=abc", STS_RECORD_VERSION, 0, 0, 0},
	    {"v=TLSRPTv1; rua=mailto:a@b.example", TLSRPT_RECORD_VERSION, 1, 0,
	     1},
	    {"v=TLSRPTv1 rua=mailto:a@b.example", TLSRPT_RECORD_VERSION, 0, 1,
	     1},
	    {"v=TLSRPTv1", TLSRPT_RECORD_VERSION, 0, 1, 1},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ok(record_begins(t[i].txt, t[i].version) == t[i].begins,
		   "'%s' begins with %s;: %s", t[i].txt, t[i].version,
		   t[i].begins ? "yes" : "no");
		ok(record_is_near_miss(t[i].txt, t[i].version) == t[i].near,
		   "'%s' is a near miss: %s", t[i].txt,
		   t[i].near ? "yes" : "no");
		ok(record_is_version(t[i].txt, t[i].version) == t[i].ours,
		   "'%s' is one sync replaces: %s", t[i].txt,
		   t[i].ours ? "yes" : "no");
	}
}

/* SPF records, which a domain that exists only through a wildcard
 * would lose (RFC 7208 section 4.5: the version in any case, then a
 * space or the end). */
static void
test_spf(void)
{
	static const struct {
		const char *txt;
		int spf;
	} t[] = {
	    {"v=spf1 -all", 1},  {"v=spf1", 1},  {"V=SPF1 mx -all", 1},
	    {"v=spf10 -all", 0}, {"v=spf1x", 0}, {" v=spf1 -all", 0},
	    {"v=spf", 0},        {"", 0},        {"v=spf1\t-all", 0},
	    {"spf1 -all", 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ok(record_is_spf(t[i].txt) == t[i].spf, "'%s' is SPF: %s",
		   t[i].txt, t[i].spf ? "yes" : "no");
}

static void
test_rdata(void)
{
	unsigned char rd[1024];
	char text[600];
	size_t n = 0;
	struct buf b;
	static const unsigned char bad1[] = {5, 'a', 'b'};
	static const unsigned char ok2[] = {3, 'a', 'b', 'c', 0, 2, 'd', 'e'};

	buf_init(&b, TXT_RECORD_MAX);
	ok(txt_rdata_from_text("v=STSv1; id=1", 13, rd, sizeof(rd), &n) == 0 &&
	       n == 14 && rd[0] == 13,
	   "a short record: one character-string");
	memset(text, 'x', sizeof(text));
	ok(txt_rdata_from_text(text, 600, rd, sizeof(rd), &n) == 0 &&
	       n == 603 && rd[0] == 255 && rd[256] == 255 && rd[512] == 90,
	   "600 bytes: strings of 255, 255 and 90");
	ok(txt_rdata_to_text(rd, n, &b) == 0 && b.len == 600 &&
	       memcmp(b.data, text, 600) == 0,
	   "joined back without spaces");
	ok(txt_rdata_from_text(text, 510, rd, sizeof(rd), &n) == 0 && n == 512,
	   "510 bytes: exactly two full strings");
	ok(txt_rdata_from_text("", 0, rd, sizeof(rd), &n) == 0 && n == 1 &&
	       rd[0] == 0,
	   "empty text: one empty string");
	ok(txt_rdata_from_text(text, 600, rd, 602, &n) == -1,
	   "output too small");
	ok(txt_rdata_to_text(ok2, sizeof(ok2), &b) == 0 &&
	       strcmp(b.data, "abcde") == 0,
	   "strings (one empty) joined");
	ok(txt_rdata_to_text(bad1, sizeof(bad1), &b) == -1,
	   "a length past the end is malformed");
	ok(txt_rdata_to_text(rd, 0, &b) == -1, "empty RDATA is malformed");
	buf_free(&b);
	buf_init(&b, 10);
	txt_rdata_from_text(text, 20, rd, sizeof(rd), &n);
	ok(txt_rdata_to_text(rd, n, &b) == -1, "text longer than the buffer");
	buf_free(&b);
}

int
main(void)
{
	test_sts_valid();
	test_sts_invalid();
	test_sts_format();
	test_tlsrpt();
	test_tlsrpt_invalid();
	test_tlsrpt_uri_format();
	test_select();
	test_near_miss();
	test_spf();
	test_rdata();
	return done_testing();
}
