/*
 * json.c - JSON string literals (RFC 8259 section 7).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"

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
		/* utf8_len() (util.c) judges UTF-8 for policy.c and the
		 * messages too: one reading of RFC 3629 for every text */
		if (p[i] < 0x80) {
			if (json_ascii(out, p[i]) < 0)
				return -1;
			n = 1;
		} else if ((n = utf8_len(p + i, len - i)) > 0) {
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
