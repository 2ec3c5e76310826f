/*
 * json-test.c - the JSON string writer: escapes, UTF-8 handling, the
 * buffer limit.
 */
#include "config.h"

#include "json.h"
#include "tap.h"
#include "util.h"

/* The JSON literal for len bytes of s, in a static buffer. */
static const char *
lit(const char *s, size_t len)
{
	static char out[256];
	struct buf b;

	buf_init(&b, 200);
	if (json_nstring(&b, s, len) < 0)
		str_copy(out, sizeof(out), "(overflow)");
	else
		str_copy(out, sizeof(out), b.data);
	buf_free(&b);
	return out;
}

#define LIT(s) lit(s, sizeof(s) - 1)

/* Each edge of RFC 3629 section 4's table, as utf8_len() (util.c) draws
 * it for every text: the first and last code point of each row kept, the
 * byte just past either edge refused (every byte of it as U+FFFD). */
static void
test_utf8_edges(void)
{
	static const struct {
		const char *in, *want, *what;
	} t[] = {
	    {"\xc2\x80", "\"\xc2\x80\"", "U+0080 kept"},
	    {"\xc1\xbf", "\"\\ufffd\\ufffd\"", "overlong U+007F refused"},
	    {"\xdf\xbf", "\"\xdf\xbf\"", "U+07FF kept"},
	    {"\xe0\xa0\x80", "\"\xe0\xa0\x80\"", "U+0800 kept"},
	    {"\xe0\x9f\xbf", "\"\\ufffd\\ufffd\\ufffd\"",
	     "overlong U+07FF refused"},
	    {"\xed\x9f\xbf", "\"\xed\x9f\xbf\"", "U+D7FF kept"},
	    {"\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"",
	     "surrogate U+DFFF refused"},
	    {"\xee\x80\x80", "\"\xee\x80\x80\"", "U+E000 kept"},
	    {"\xef\xbf\xbf", "\"\xef\xbf\xbf\"", "U+FFFF kept"},
	    {"\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"", "U+10000 kept"},
	    {"\xf0\x8f\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
	     "overlong U+FFFF refused"},
	    {"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "U+10FFFF kept"},
	    {"\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
	     "lead byte F5 refused"},
	    {"\xe2\x28\xac", "\"\\ufffd(\\ufffd\"",
	     "a sequence broken by ASCII: the ASCII kept"},
	    {"\xf0\x9f\x93", "\"\\ufffd\\ufffd\\ufffd\"",
	     "4-byte sequence cut at its third byte"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_str(lit(t[i].in, strlen(t[i].in)), t[i].want, "%s",
		       t[i].what);
}

int
main(void)
{
	struct buf b;

	is_str(LIT("plain"), "\"plain\"", "plain text unchanged");
	is_str(LIT(""), "\"\"", "empty string");
	is_str(LIT("a\"b\\c"), "\"a\\\"b\\\\c\"", "quote and backslash");
	is_str(LIT("l1\r\nl2\t"), "\"l1\\r\\nl2\\t\"", "CR LF TAB");
	is_str(LIT("\x1b[31m\x7f"), "\"\\u001b[31m\\u007f\"",
	       "ESC and DEL as \\u00XX");
	is_str(LIT("a\0b"), "\"a\\u0000b\"", "NUL inside the length");
	is_str(LIT("RFC 8461 \xc2\xa7"
	           "3.1"),
	       "\"RFC 8461 \xc2\xa7"
	       "3.1\"",
	       "two-byte UTF-8 kept");
	is_str(LIT("\xe2\x82\xac \xf0\x9f\x93\xa7"),
	       "\"\xe2\x82\xac \xf0\x9f\x93\xa7\"", "3- and 4-byte UTF-8 kept");
	is_str(LIT("a\xff"
	           "b"),
	       "\"a\\ufffdb\"", "invalid byte replaced");
	is_str(LIT("\xc0\xaf"), "\"\\ufffd\\ufffd\"", "overlong form refused");
	is_str(LIT("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"",
	       "surrogate refused");
	is_str(LIT("\xe2\x82"), "\"\\ufffd\\ufffd\"", "truncated sequence");
	is_str(LIT("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"",
	       "above U+10FFFF refused");

	test_utf8_edges();

	buf_init(&b, 64);
	ok(json_member(&b, "k", "v") == 0 && json_member(&b, "n", NULL) == 0,
	   "members written");
	is_str(b.data, "\"k\":\"v\"\"n\":null", "member and null");
	buf_free(&b);

	buf_init(&b, 8);
	ok(json_string(&b, "0123456789") < 0, "overflow reported");
	buf_free(&b);
	return done_testing();
}
