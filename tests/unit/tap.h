/*
 * tap.h - a minimal TAP producer for the C unit tests. Each ok() is one
 * test point; done_testing() prints the plan and returns the exit status.
 */
#ifndef MTA_STS_SYNC_TAP_H
#define MTA_STS_SYNC_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static void __attribute__((format(printf, 4, 5), unused))
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!pass)
		tap_failed++;
	printf("%s %d - ", pass ? "ok" : "not ok", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!pass)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
}

/* Compare two strings; on failure show both. */
#define is_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *tap_g_ = (got), *tap_w_ = (want);                  \
		int tap_p_ = tap_g_ != NULL && tap_w_ != NULL &&               \
		             strcmp(tap_g_, tap_w_) == 0;                      \
		ok(tap_p_, __VA_ARGS__);                                       \
		if (!tap_p_)                                                   \
			printf("#   got:  '%s'\n#   want: '%s'\n",             \
			       tap_g_ ? tap_g_ : "(null)",                     \
			       tap_w_ ? tap_w_ : "(null)");                    \
	} while (0)

/* Check that haystack contains needle; on failure show both. */
#define like(haystack, needle, ...)                                            \
	do {                                                                   \
		const char *tap_h_ = (haystack), *tap_n_ = (needle);           \
		int tap_p_ = tap_h_ != NULL && strstr(tap_h_, tap_n_) != NULL; \
		ok(tap_p_, __VA_ARGS__);                                       \
		if (!tap_p_)                                                   \
			printf("#   '%s'\n#   does not contain '%s'\n",        \
			       tap_h_ ? tap_h_ : "(null)", tap_n_);            \
	} while (0)

static int __attribute__((unused)) done_testing(void)
{
	printf("1..%d\n", tap_count);
	if (tap_count == 0) {
		printf("# no test was run\n");
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif
