/*
 * diff-fuzz.c - fuzz target for the diff a dry run prints of the policy
 * file (diff_text): its old side is whatever the file held, which another
 * program or person may have written. The first two bytes of the input
 * give the length of the old side (modulo what follows), the rest is the
 * new side. Invariants, else abort: the diff fits its buffer; after its
 * two header lines every line begins with ' ', '-' or '+'; the ' ' and
 * '-' lines give back the old side's lines and the ' ' and '+' lines the
 * new side's (without their LF or CRLF, any other control character
 * shown as '?'); no control character but a tab reaches the output.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* text (len bytes) as its diff lines show it: each line without its LF
 * or CRLF, control characters but tab as '?', each line ended by LF. */
static void
shown_lines(const char *text, size_t len, struct buf *out)
{
	size_t begin = 0;

	for (size_t i = 0; i <= len; i++) {
		size_t end = i;

		if (i < len && text[i] != '\n')
			continue;
		if (i == len && begin == len)
			break;
		if (end > begin && text[end - 1] == '\r')
			end--;
		for (size_t k = begin; k < end; k++) {
			unsigned char c = (unsigned char)text[k];
			char s = (c < 0x20 && c != '\t') || c == 0x7f ? '?'
			                                              : (char)c;

			buf_append(out, &s, 1);
		}
		buf_append(out, "\n", 1);
		begin = i + 1;
	}
}

/* The lines of the diff d (past its header) tagged with ' ' or tag,
 * without their tag, into out. */
static void
side_of(const char *d, size_t len, char tag, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(d + i, '\n', len - i);
		size_t n;

		if (nl == NULL || (d[i] != ' ' && d[i] != '-' && d[i] != '+'))
			abort();
		n = (size_t)(nl - (d + i)) + 1;
		if (d[i] == ' ' || d[i] == tag)
			buf_append(out, d + i + 1, n - 1);
		i += n;
	}
}

/* out and want hold the same bytes. */
static void
check_same(const struct buf *out, const struct buf *want)
{
	if (out->len != want->len ||
	    (out->len > 0 && memcmp(out->data, want->data, out->len) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "--- old\n+++ new\n";
	struct buf diff, got, want;
	size_t oldlen;
	char *copy;

	if (size < 2)
		return 0;
	oldlen = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	/* an exact private copy, so that reading past the end is caught */
	copy = xmalloc(size - 2 > 0 ? size - 2 : 1);
	memcpy(copy, data + 2, size - 2);
	buf_init(&diff, 1u << 20);
	if (diff_text(copy, oldlen, copy + oldlen, size - 2 - oldlen, "old",
	              "new", &diff) != 0 ||
	    diff.len < strlen(head) || memcmp(diff.data, head, strlen(head)))
		abort();
	for (size_t i = 0; i < diff.len; i++)
		if (((unsigned char)diff.data[i] < 0x20 &&
		     diff.data[i] != '\t' && diff.data[i] != '\n') ||
		    diff.data[i] == 0x7f)
			abort();
	for (int side = 0; side < 2; side++) {
		buf_init(&got, 1u << 20);
		buf_init(&want, 1u << 20);
		side_of(diff.data + strlen(head), diff.len - strlen(head),
		        side ? '+' : '-', &got);
		if (side)
			shown_lines(copy + oldlen, size - 2 - oldlen, &want);
		else
			shown_lines(copy, oldlen, &want);
		check_same(&got, &want);
		buf_free(&got);
		buf_free(&want);
	}
	buf_free(&diff);
	free(copy);
	return 0;
}
