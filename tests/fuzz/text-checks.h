/*
 * text-checks.h - what fuzz targets check of the messages they make
 * (http-fuzz, verify-fuzz): no control character, valid UTF-8. Each
 * aborts, or answers, as a fuzz target's invariant does.
 */
#ifndef TEXT_CHECKS_H
#define TEXT_CHECKS_H

#include <stdlib.h>

/* No byte of s is a control character (C0 or DEL). */
static void __attribute__((unused)) check_no_controls(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

/* Is s valid UTF-8 (no sequence cut, none overlong or past U+10FFFF,
 * no surrogate)? */
static int __attribute__((unused)) utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n = *p < 0x80                  ? 0
		        : *p >= 0xC2 && *p <= 0xDF ? 1
		        : (*p & 0xF0) == 0xE0      ? 2
		        : *p >= 0xF0 && *p <= 0xF4 ? 3
		                                   : -1;
		unsigned cp = n == 1 ? *p & 0x1F : n == 2 ? *p & 0x0F : *p & 7;

		if (n < 0)
			return 0;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3F);
		}
		if ((n == 2 &&
		     (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* An error message e holds no control character, and is valid UTF-8
 * when what it was made of was (from_utf8): a cut (text_vformat())
 * never splits a sequence. */
static void __attribute__((unused)) check_error(const char *e, int from_utf8)
{
	check_no_controls(e);
	if (from_utf8 && !utf8_valid(e))
		abort();
}

#endif
