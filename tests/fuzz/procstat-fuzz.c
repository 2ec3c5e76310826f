/*
 * procstat-fuzz.c - fuzz target for the publish-command supervisor's
 * readers of /proc (command.c), which run in a forked copy of the run,
 * where a read past a buffer or a wrong pid is a process signalled that
 * should not be. The input is read as a /proc/PID/stat line and as a
 * /proc/PID/task/TID/children list, both from a copy of its exact size.
 * Invariants, else abort: a line is read only if it holds ')' after which
 * there is more; what comes before its last ')' (the name) does not
 * change what is read, nor do bytes added after a line read (each field
 * read ends with a blank); its pids are not negative; the children list
 * gives pids from 1 to INT_MAX, each from bytes of its own, and a full
 * buffer's list no more than the same list read whole.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "publish-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The same fields read, or both lines refused. */
static int
same(int rc1, const struct command_stat *a, int rc2,
     const struct command_stat *b)
{
	return rc1 == rc2 &&
	       (rc1 != 0 ||
	        (a->ppid == b->ppid && a->pgrp == b->pgrp &&
	         a->start == b->start && a->dead == b->dead &&
	         a->tty_stopped == b->tty_stopped && a->tty == b->tty));
}

/* The stat line invariants over line (len bytes, its own allocation). */
static void
check_stat(char *line, size_t len)
{
	static const char more[] = "7 0\n";
	struct command_stat st, again;
	const char *close = NULL;
	char *longer;
	int rc = command_stat_parse(line, len, &st), rc2;

	for (size_t i = len; i > 0 && close == NULL; i--)
		if (line[i - 1] == ')')
			close = line + i - 1;
	if (rc == 0 && (close == NULL || close + 2 >= line + len ||
	                st.ppid < 0 || st.pgrp < 0))
		abort();
	/* another name: every byte before the last ')' changed */
	if (close != NULL) {
		memset(line, 'n', (size_t)(close - line));
		rc2 = command_stat_parse(line, len, &again);
		if (!same(rc, &st, rc2, &again))
			abort();
	}
	/* more fields after it */
	if (rc == 0) {
		if ((longer = malloc(len + sizeof(more) - 1)) == NULL)
			abort();
		memcpy(longer, line, len);
		memcpy(longer + len, more, sizeof(more) - 1);
		rc2 =
		    command_stat_parse(longer, len + sizeof(more) - 1, &again);
		free(longer);
		if (!same(rc, &st, rc2, &again))
			abort();
	}
}

/* The pids of the children list at list (len bytes, read into a buffer
 * of size bytes): each a pid from bytes of its own. Returns how many. */
static size_t
check_children(const char *list, size_t len, size_t size)
{
	const char *p = list, *before, *end;
	size_t n = 0, whole = command_children_len(list, len, size);
	pid_t pid;

	if (whole > len)
		abort();
	end = list + whole;
	for (before = p; (pid = command_child_next(&p, end)) != 0; before = p) {
		if (pid < 1 || p <= before || p > end)
			abort();
		n++;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size > 0 ? size : 1);

	/* an exact private copy, so that reading past the end is caught */
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	if (check_children(copy, size, size) >
	    check_children(copy, size, size + 1))
		abort();
	check_stat(copy, size);
	free(copy);
	return 0;
}
