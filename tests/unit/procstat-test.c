/*
 * procstat-test - the publish-command supervisor's readers of /proc
 * (command.c, publish-internal.h): a /proc/PID/stat line, whose process
 * name in parentheses may hold any byte, and a /proc/PID/task/TID/children
 * list. Each input is handed over in an allocation of its exact length,
 * without a NUL after it, so that a read past the length is seen under
 * ASan.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publish-internal.h"
#include "tap.h"

/* The fields of a stat line after the name, as Linux writes them for a
 * sleeping shell: state, ppid 1000, pgrp 1234, session ... nice, 1
 * thread, itrealvalue 0, start 56789, then the fields we do not read. */
#define TAIL_PPID "S 1000 1234 1234 34816 -1 4194304 100 0 0 0 1 2 0 0 20 0 "
#define TAIL_START "1 0 56789 "
#define TAIL_REST                                                              \
	"2400000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0\n"
#define TAIL TAIL_PPID TAIL_START TAIL_REST

/* command_stat_parse() of the len bytes at s, copied into an allocation
 * of exactly len bytes. */
static int
parse_n(const char *s, size_t len, struct command_stat *st)
{
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, s, len);
	memset(st, 0x55, sizeof(*st));
	rc = command_stat_parse(copy, len, st);
	free(copy);
	return rc;
}

/* command_stat_parse() of the string s (its NUL left out). */
static int
parse(const char *s, struct command_stat *st)
{
	return parse_n(s, strlen(s), st);
}

/* The line "1234 (NAME) TAIL", NAME nlen bytes (any), into out (size
 * bytes). Returns its length. */
static size_t
line_named(char *out, size_t size, const char *name, size_t nlen,
           const char *tail)
{
	size_t head = (size_t)snprintf(out, size, "1234 (");

	if (head + nlen + 2 + strlen(tail) >= size)
		abort();
	memcpy(out + head, name, nlen);
	out[head + nlen] = ')';
	out[head + nlen + 1] = ' ';
	memcpy(out + head + nlen + 2, tail, strlen(tail) + 1);
	return head + nlen + 2 + strlen(tail);
}

/* Whether the line with name (nlen bytes) and the usual fields parses to
 * them. */
static int
named_ok(const char *name, size_t nlen)
{
	char line[512];
	struct command_stat st;
	size_t len = line_named(line, sizeof(line), name, nlen, TAIL);

	return parse_n(line, len, &st) == 0 && st.ppid == 1000 &&
	       st.pgrp == 1234 && st.start == 56789 && !st.dead;
}

/* An ordinary line, and the states and thread counts that make a process
 * dead to the supervisor. */
static void
test_ordinary(void)
{
	struct command_stat st;

	ok(parse("1234 (sh) " TAIL, &st) == 0 && st.ppid == 1000 &&
	       st.pgrp == 1234 && st.start == 56789 && st.dead == 0,
	   "an ordinary line: parent, group and start read");
	ok(parse("7 (init) S 0 0 0 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 "
	         "123456789012 0\n",
	         &st) == 0 &&
	       st.ppid == 0 && st.pgrp == 0 && st.start == 123456789012ULL,
	   "a parent and group of 0 (outside the namespace)");
	ok(parse("9 (z) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77 0\n", &st) ==
	           0 &&
	       st.dead == 1 && st.start == 77,
	   "a zombie with one thread is dead");
	ok(parse("9 (z) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 3 0 77 0\n", &st) ==
	           0 &&
	       st.dead == 0,
	   "a zombie leader with threads left is not dead");
	ok(parse("9 (z) R 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 77 0\n", &st) ==
	           0 &&
	       st.dead == 0,
	   "a running process is not dead");
}

/* Process names that hold what the line is made of. */
static void
test_names(void)
{
	static const char max15[] = "123456789012345";
	char max64[64];

	memset(max64, 'w', sizeof(max64));
	ok(named_ok("a)b", 3), "a name with ')'");
	ok(named_ok("a) b", 4), "a name with ') '");
	ok(named_ok(") Z 1 1 1 1", 11), "a name that reads as the fields");
	ok(named_ok(")))", 3), "a name of ')' only");
	ok(named_ok("(", 1), "a name with '('");
	ok(named_ok("((x)", 4), "a name with '(' and ')'");
	ok(named_ok("a b  c", 6), "a name with blanks");
	ok(named_ok("a\nb", 3), "a name with a newline");
	ok(named_ok("a)\n9 (b) S 1 1", 14), "a name with a line of its own");
	ok(named_ok("", 0), "an empty name");
	ok(named_ok(max15, 15), "a name of 15 bytes (TASK_COMM_LEN)");
	ok(named_ok(max64, 63), "a name of 63 bytes (a workqueue worker's)");
	ok(named_ok(max64, 64), "a name of 64 bytes");
	ok(named_ok("\xff\x01\t", 3), "a name with bytes not text");
}

/* Lines cut short, by their length. */
static void
test_cut(void)
{
	struct command_stat st;
	char line[512];
	size_t len = line_named(line, sizeof(line), "sh", 2, TAIL);
	size_t ppid_at = strlen("1234 (sh) S ");
	size_t start_at = strlen("1234 (sh) " TAIL_PPID "1 0 ");

	ok(parse_n(line, 0, &st) == -1, "a line of no bytes");
	ok(parse_n(line, strlen("1234 (sh"), &st) == -1, "cut in the name");
	ok(parse_n(line, strlen("1234 (sh)"), &st) == -1, "cut after the name");
	ok(parse_n(line, strlen("1234 (sh) "), &st) == -1,
	   "cut before the state");
	ok(parse_n(line, strlen("1234 (sh) S"), &st) == -1,
	   "cut after the state");
	ok(parse_n(line, ppid_at, &st) == -1, "cut before the parent");
	ok(parse_n(line, ppid_at + strlen("1000 "), &st) == -1,
	   "cut before the group");
	ok(parse_n(line, strlen("1234 (sh) " TAIL_PPID), &st) == -1,
	   "cut before the thread count");
	ok(parse_n(line, start_at, &st) == -1, "cut before the start");
	ok(parse_n(line, start_at + strlen("56789 "), &st) == 0 &&
	       st.start == 56789,
	   "cut after the start and its blank: what is read is there");
	ok(parse_n(line, len, &st) == 0 && st.start == 56789,
	   "the whole line, not NUL-terminated");
	/* the bytes past the length would give a whole line */
	ok(parse_n(line, start_at - 1, &st) == -1,
	   "cut within the fields, the rest of the line after the length");
}

/* Fields that are not numbers, and lines without a name. */
static void
test_malformed(void)
{
	struct command_stat st;

	ok(parse("1234 (sh) S x 1234 " TAIL_START, &st) == -1,
	   "a parent that is not a number");
	ok(parse("1234 (sh) S -1 1234 " TAIL_START, &st) == -1,
	   "a negative parent");
	ok(parse("1234 (sh) S 1000 + 1234 " TAIL_START, &st) == -1,
	   "a group that is not a number");
	ok(parse("1234 (sh) S 1000 1234 1234 34816 -1 4194304 100 0 0 0 1 2 0 "
	         "0 20 0 many 0 56789 \n",
	         &st) == -1,
	   "a thread count that is not a number");
	ok(parse("1234 (sh) " TAIL_PPID "1 0 later\n", &st) == -1,
	   "a start that is not a number");
	ok(parse("1234 sh S " TAIL, &st) == -1, "no ')'");
	ok(parse(")", &st) == -1, "')' alone");
	ok(parse("1234 (sh) ", &st) == -1, "nothing after the name");
	ok(parse("1234 (sh S 1000 1234 " TAIL_START, &st) == -1,
	   "a name never closed");
}

/* Numbers a parser that takes a part of them reads as others: too large,
 * followed by letters, cut by the end of the buffer. */
static void
test_numbers(void)
{
	struct command_stat st;
	char line[512];
	size_t start_at = strlen("1234 (sh) " TAIL_PPID "1 0 ");

	ok(parse("1234 (sh) " TAIL_PPID "1 0 18446744073709551615 0\n", &st) ==
	           0 &&
	       st.start == 18446744073709551615ULL,
	   "the largest start of 64 bits");
	ok(parse("1234 (sh) " TAIL_PPID "1 0 18446744073709551616 0\n", &st) ==
	       -1,
	   "a start past 64 bits");
	ok(parse(
	       "1234 (sh) S 99999999999999999999999 1234 1234 34816 -1 4194304 "
	       "100 0 0 0 1 2 0 0 20 0 1 0 56789 0\n",
	       &st) == -1,
	   "a parent past 64 bits");
	/* 2^32 + 1000: as a pid_t, 1000, a process it is not the child of */
	ok(parse("1234 (sh) S 4294968296 1234 1234 34816 -1 4194304 100 0 0 0 "
	         "1 2 0 0 20 0 1 0 56789 0\n",
	         &st) == -1,
	   "a parent past INT_MAX");
	ok(parse(
	       "1234 (sh) S 2147483647 2147483647 1234 34816 -1 4194304 100 0 "
	       "0 0 1 2 0 0 20 0 1 0 56789 0\n",
	       &st) == 0 &&
	       st.ppid == INT_MAX && st.pgrp == INT_MAX,
	   "a parent and group of INT_MAX");
	ok(parse("1234 (sh) S 1000 2147483648 1234 34816 -1 4194304 100 0 0 0 "
	         "1 2 0 0 20 0 1 0 56789 0\n",
	         &st) == -1,
	   "a group past INT_MAX");
	ok(parse("1234 (sh) S 1000x 1234 1234 34816 -1 4194304 100 0 0 0 1 2 0 "
	         "0 20 0 1 0 56789 0\n",
	         &st) == -1,
	   "a parent followed by a letter");
	ok(parse("1234 (sh) " TAIL_PPID "1 0 56789z 0\n", &st) == -1,
	   "a start followed by a letter");
	ok(parse("1234 (sh) " TAIL_PPID "1 0 56789\n", &st) == -1,
	   "a start followed by the end of the line");
	(void)line_named(line, sizeof(line), "sh", 2, TAIL);
	ok(parse_n(line, start_at + strlen("5678"), &st) == -1,
	   "a start cut by the end of the buffer");
	ok(parse_n(line, start_at + strlen("56789"), &st) == -1,
	   "a start whole at the end of the buffer, its blank cut");
}

/* The pids of the children list at s (len bytes, in a buffer of size
 * bytes as read) into out ("12 345"), through an exact copy. */
static void
children(const char *s, size_t len, size_t size, char *out, size_t outsize)
{
	char *copy = malloc(len > 0 ? len : 1);
	const char *p = copy, *end;
	size_t used = 0;
	pid_t pid;

	if (copy == NULL)
		abort();
	memcpy(copy, s, len);
	end = copy + command_children_len(copy, len, size);
	out[0] = '\0';
	while ((pid = command_child_next(&p, end)) != 0 && used < outsize)
		used += (size_t)snprintf(out + used, outsize - used, "%s%d",
		                         used > 0 ? " " : "", (int)pid);
	free(copy);
}

/* The children list: as Linux writes it, cut by a full buffer, and what it
 * does not write. */
static void
test_children(void)
{
	char got[256];

	children("12 345 6789 ", 12, 4096, got, sizeof(got));
	is_str(got, "12 345 6789", "children: three pids");
	children("", 0, 4096, got, sizeof(got));
	is_str(got, "", "children: none");
	children("12 345 67", 9, 9, got, sizeof(got));
	is_str(got, "12 345",
	       "children: a full buffer's cut last pid left out");
	children("12 345 ", 7, 7, got, sizeof(got));
	is_str(got, "12 345", "children: a full buffer ending with a blank");
	children("123456", 6, 6, got, sizeof(got));
	is_str(got, "", "children: a full buffer of one cut pid");
	children("12 34", 5, 4096, got, sizeof(got));
	is_str(got, "12 34", "children: the last pid without its blank");
	children("2147483647 ", 11, 4096, got, sizeof(got));
	is_str(got, "2147483647", "children: the largest pid");
	children("12 2147483648 5 ", 16, 4096, got, sizeof(got));
	is_str(got, "12", "children: a number past a pid ends the list");
	children("12 99999999999999999999999 5 ", 29, 4096, got, sizeof(got));
	is_str(got, "12", "children: a number past 64 bits ends the list");
	children("12 0 5 ", 7, 4096, got, sizeof(got));
	is_str(got, "12", "children: pid 0 ends the list");
	children("12 x 5 ", 7, 4096, got, sizeof(got));
	is_str(got, "12", "children: what is not a number ends the list");
	children(" 12 ", 4, 4096, got, sizeof(got));
	is_str(got, "", "children: a list that opens with a blank");
	children("12 345 ", 4, 4096, got, sizeof(got));
	is_str(got, "12 3", "children: read up to the length only");
	children("12 34x 5 ", 9, 4096, got, sizeof(got));
	is_str(got, "12",
	       "children: a number followed by a letter ends the list");
	children("12 18446744073709551617 ", 24, 4096, got, sizeof(got));
	is_str(got, "12", "children: 2^64 + 1 ends the list");
}

int
main(void)
{
	test_ordinary();
	test_names();
	test_cut();
	test_malformed();
	test_numbers();
	test_children();
	return done_testing();
}
