/*
 * json.c - JSON string literals (RFC 8259 section 7).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"

/*
 * Length of the valid UTF-8 sequence (RFC 3629) at s (at most n bytes),
 * or 0 if the bytes there are not one: overlong forms, surrogates and
 * code points above U+10FFFF are refused.
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Append the escape for the ASCII byte c, or c itself. 0 or -1. */
static int
json_ascii(struct buf *out, unsigned char c)
{
	switch (c) {
	case '"':
		return buf_puts(out, "\\\"");
	case '\\':
		return buf_puts(out, "\\\\");
	case '\n':
		return buf_puts(out, "\\n");
	case '\r':
		return buf_puts(out, "\\r");
	case '\t':
		return buf_puts(out, "\\t");
	default:
		if (c < 0x20 || c == 0x7f)
			return buf_printf(out, "\\u%04x", c);
		return buf_append(out, &c, 1);
	}
}

int
json_nstring(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	if (buf_puts(out, "\"") < 0)
		return -1;
	while (i < len) {
		n = utf8_seq_len(p + i, len - i);
		if (n == 1) {
			if (json_ascii(out, p[i]) < 0)
				return -1;
		} else if (n > 1) {
			if (buf_append(out, p + i, n) < 0)
				return -1;
		} else {
			if (buf_puts(out, "\\ufffd") < 0)
				return -1;
			n = 1;
		}
		i += n;
	}
	return buf_puts(out, "\"");
}

int
json_string(struct buf *out, const char *s)
{
	if (s == NULL)
		return buf_puts(out, "null");
	return json_nstring(out, s, strlen(s));
}

int
json_member(struct buf *out, const char *key, const char *value)
{
	if (json_string(out, key) < 0 || buf_puts(out, ":") < 0)
		return -1;
	return json_string(out, value);
}

void
json_print_refusal(const char *members, const char *error)
{
	struct buf out;

	/* an escaped byte takes at most 6 */
	buf_init(&out, strlen(members) + 6 * strlen(error) + 16);
	buf_puts(&out, "{");
	buf_puts(&out, members);
	buf_puts(&out, "\"error\":");
	json_string(&out, error);
	buf_puts(&out, "}\n");
	/* a write that fails is said with its cause (a full disk) */
	log_stdout_puts(out.data);
	buf_free(&out);
}
