/*
 * util-test.c - the diagnostics: the first error wins, context added
 * after an error, bounded messages.
 */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "util.h"

static void
test_first_wins(void)
{
	struct diag d;

	diag_init(&d);
	ok(!diag_failed(&d), "a new diag holds no error");
	diag_error(NULL, "no diag: nothing happens");
	diag_error(&d, "first %d", 1);
	diag_error(&d, "second");
	is_str(d.error, "first 1", "the first error wins");
}

static void
test_append(void)
{
	struct diag d;
	char cause[400];

	diag_init(&d);
	diag_append(NULL, " (no diag: nothing happens)");
	diag_append(&d, " (context)");
	ok(!diag_failed(&d), "context without an error adds no error");

	diag_error(&d, "the cause");
	diag_append(&d, " (while %s)", "reading");
	is_str(d.error, "the cause (while reading)", "context goes after it");

	/* a long cause and a longer context: the cause stays whole */
	memset(cause, 'c', sizeof(cause) - 1);
	cause[sizeof(cause) - 1] = '\0';
	diag_init(&d);
	diag_error(&d, "%s", cause);
	diag_append(&d, " (%0300d)", 0);
	ok(strncmp(d.error, cause, strlen(cause)) == 0,
	   "a cut context leaves the cause whole");
	ok(strlen(d.error) == DIAG_MSG_MAX - 1, "the message fills its bound");
}

int
main(void)
{
	test_first_wins();
	test_append();
	return done_testing();
}
