/*
 * diff.c - a line diff of two texts, for the dry run's view of a policy
 * file (see diff.h): the lines of each side, their longest common
 * subsequence when both are short (DIFF_MAX_LINES), else the whole old
 * side removed and the whole new side added.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "util.h"

/* the most lines a side may have for a longest-common-subsequence table,
 * whose size is the product of both sides' counts */
#define DIFF_MAX_LINES 400

struct lines {
	const char **start;
	size_t *len;
	size_t n;
};

/* Split text into lines (without their LF or CRLF). */
static void
lines_split(const char *text, size_t len, struct lines *l)
{
	size_t i, begin = 0;

	l->start = NULL;
	l->len = NULL;
	l->n = 0;
	for (i = 0; i <= len; i++) {
		size_t end;

		if (i < len && text[i] != '\n')
			continue;
		if (i == len && begin == len)
			break;
		end = i;
		if (end > begin && text[end - 1] == '\r')
			end--;
		l->start = xreallocarray(l->start, l->n + 1, sizeof(*l->start));
		l->len = xreallocarray(l->len, l->n + 1, sizeof(*l->len));
		l->start[l->n] = text + begin;
		l->len[l->n++] = end - begin;
		begin = i + 1;
	}
}

static int
lines_equal(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
	return a->len[i] == b->len[j] &&
	       memcmp(a->start[i], b->start[j], a->len[i]) == 0;
}

/* Append line i of l to out behind tag. The published side is whatever
 * the file held: a control character there but tab (a NUL byte, ESC, a
 * bare CR) is shown as '?', so that it neither reaches a terminal raw nor
 * cuts the line short. */
static void
diff_line(struct buf *out, char tag, const struct lines *l, size_t i)
{
	const char *p = l->start[i], *end = p + l->len[i];

	buf_append(out, &tag, 1);
	while (p < end) {
		const char *q = p;

		while (q < end && ((unsigned char)*q >= 0x20 || *q == '\t') &&
		       *q != 0x7f)
			q++;
		buf_append(out, p, (size_t)(q - p));
		if (q < end)
			buf_append(out, "?", 1);
		p = q < end ? q + 1 : q;
	}
	buf_append(out, "\n", 1);
}

/* Longest-common-subsequence table, (a->n+1) x (b->n+1), from the end. */
static size_t *
diff_table(const struct lines *a, const struct lines *b)
{
	size_t w = b->n + 1, i, j;
	size_t *t = xcalloc((a->n + 1) * w, sizeof(*t));

	for (i = a->n; i-- > 0;)
		for (j = b->n; j-- > 0;) {
			size_t down = t[(i + 1) * w + j];
			size_t right = t[i * w + j + 1];

			t[i * w + j] = lines_equal(a, i, b, j)
			                   ? t[(i + 1) * w + j + 1] + 1
			               : down > right ? down
			                              : right;
		}
	return t;
}

/* A line diff of old and new into out; see diff.h. */
int
diff_text(const char *old, size_t oldlen, const char *new_, size_t newlen,
          const char *old_name, const char *new_name, struct buf *out)
{
	struct lines a, b;
	size_t i = 0, j = 0, w, *t = NULL;

	lines_split(old, oldlen, &a);
	lines_split(new_, newlen, &b);
	buf_printf(out, "--- %s\n+++ %s\n", old_name, new_name);
	w = b.n + 1;
	if (a.n <= DIFF_MAX_LINES && b.n <= DIFF_MAX_LINES)
		t = diff_table(&a, &b);
	while (t != NULL && i < a.n && j < b.n) {
		if (lines_equal(&a, i, &b, j)) {
			diff_line(out, ' ', &a, i++);
			j++;
		} else if (t[(i + 1) * w + j] >= t[i * w + j + 1]) {
			diff_line(out, '-', &a, i++);
		} else {
			diff_line(out, '+', &b, j++);
		}
	}
	for (; i < a.n; i++)
		diff_line(out, '-', &a, i);
	for (; j < b.n; j++)
		diff_line(out, '+', &b, j);
	free(t);
	free(a.start);
	free(a.len);
	free(b.start);
	free(b.len);
	return out->len >= out->max ? -1 : 0;
}
