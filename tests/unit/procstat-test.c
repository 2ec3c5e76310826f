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
#define AFTER_PGRP "1234 34816 -1 4194304 100 0 0 0 1 2 0 0 20 0 "
#define TAIL_PPID "S 1000 1234 " AFTER_PGRP
#define TAIL_START "1 0 56789 "
#define TAIL_REST                                                              \
	"2400000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0\n"
#define TAIL TAIL_PPID TAIL_START TAIL_REST
/* A line of a shell whose parent and group are ids ("1000 1234") */
#define WITH_IDS(ids) ("1234 (sh) S " ids " " AFTER_PGRP TAIL_START "0\n")

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

/* A line of a shell in state, with the terminal tty and its foreground
 * group tpgid (the shell's group is 1234). */
#define WITH_TTY(state, tty, tpgid)                                            \
	("1234 (sh) " state " 1000 1234 1234 " tty " " tpgid                   \
	 " 4194304 100 0 0 0 1 2 0 0 20 0 " TAIL_START "0\n")

/* Stopped in the background of its terminal (tty_stopped), as the
 * supervisor takes one that used the terminal out of its group, or not:
 * no terminal, its own group the foreground, not stopped; a terminal
 * field that is a sign alone, refused. */
static void
test_tty(void)
{
	struct command_stat st;

	ok(parse(WITH_TTY("T", "34816", "999"), &st) == 0 && st.tty_stopped &&
	       st.tty && st.ppid == 1000 && st.pgrp == 1234 &&
	       st.start == 56789,
	   "stopped, another group the terminal's foreground: tty_stopped");
	ok(parse(WITH_TTY("T", "34816", "-1"), &st) == 0 && st.tty_stopped,
	   "stopped, a terminal without a foreground group: tty_stopped");
	ok(parse(WITH_TTY("T", "34816", "1234"), &st) == 0 && !st.tty_stopped &&
	       st.tty,
	   "stopped, its own group the foreground: not tty_stopped");
	ok(parse(WITH_TTY("T", "0", "-1"), &st) == 0 && !st.tty_stopped &&
	       !st.tty,
	   "stopped without a terminal: not tty_stopped");
	ok(parse(WITH_TTY("S", "34816", "999"), &st) == 0 && !st.tty_stopped &&
	       st.tty,
	   "sleeping in the background: not tty_stopped");
	ok(parse(WITH_TTY("t", "34816", "999"), &st) == 0 && !st.tty_stopped,
	   "stopped by a debugger (t): not tty_stopped");
	ok(parse(WITH_TTY("T", "34816", "-"), &st) == -1,
	   "refused: a foreground group that is a sign alone");
	ok(parse(WITH_TTY("T", "--1", "999"), &st) == -1,
	   "refused: a terminal with two signs");
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

/* Lines refused: fields that are not numbers, numbers a parser that took
 * a part of them would read as others (too large, followed by a letter,
 * cut by the end of the line), no name. */
static const struct {
	const char *line, *what;
} refused[] = {
    {WITH_IDS("x 1234"), "a parent that is not a number"},
    {WITH_IDS("-1 1234"), "a negative parent"},
    {WITH_IDS("1000 +"), "a group that is not a number"},
    {("1234 (sh) S 1000 1234 1234 34816 -1 4194304 100 0 0 0 1 2 0 0 20 0 "
      "many 0 56789 \n"),
     "a thread count that is not a number"},
    {("1234 (sh) " TAIL_PPID "1 0 later\n"), "a start that is not a number"},
    {("1234 sh S " TAIL), "no ')'"},
    {")", "')' alone"},
    {"1234 (sh) ", "nothing after the name"},
    {("1234 (sh S 1000 1234 " TAIL_START), "a name never closed"},
    {("1234 (sh) " TAIL_PPID "1 0 18446744073709551616 0\n"),
     "a start past 64 bits"},
    {WITH_IDS("99999999999999999999999 1234"), "a parent past 64 bits"},
    /* 2^32 + 1000: as a pid_t, 1000, a process it is not the child of */
    {WITH_IDS("4294968296 1234"), "a parent past INT_MAX"},
    {WITH_IDS("1000 2147483648"), "a group past INT_MAX"},
    {WITH_IDS("1000x 1234"), "a parent followed by a letter"},
    {("1234 (sh) " TAIL_PPID "1 0 56789z 0\n"), "a start followed by a letter"},
    {("1234 (sh) " TAIL_PPID "1 0 56789\n"),
     "a start followed by the end of the line"},
};

/* The lines above, refused; numbers at their limits, read. */
static void
test_refused(void)
{
	struct command_stat st;
	char line[512];
	size_t start_at = strlen("1234 (sh) " TAIL_PPID "1 0 ");

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ok(parse(refused[i].line, &st) == -1, "refused: %s",
		   refused[i].what);
	ok(parse("1234 (sh) " TAIL_PPID "1 0 18446744073709551615 0\n", &st) ==
	           0 &&
	       st.start == 18446744073709551615ULL,
	   "the largest start of 64 bits");
	ok(parse(WITH_IDS("2147483647 2147483647"), &st) == 0 &&
	       st.ppid == INT_MAX && st.pgrp == INT_MAX,
	   "a parent and group of INT_MAX");
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

/* Children lists: the bytes read (len of them, into a buffer of size
 * bytes: 0 for a read that did not fill it), and the pids taken. */
static const struct {
	const char *list;
	size_t len, size;
	const char *want, *what;
} child_lists[] = {
    {"12 345 6789 ", 12, 0, "12 345 6789", "three pids"},
    {"", 0, 0, "", "none"},
    {"12 345 67", 9, 9, "12 345", "a full buffer's cut last pid left out"},
    {"12 345 ", 7, 7, "12 345", "a full buffer ending with a blank"},
    {"123456", 6, 6, "", "a full buffer of one cut pid"},
    {"12 34", 5, 0, "12 34", "the last pid without its blank"},
    {"2147483647 ", 11, 0, "2147483647", "the largest pid"},
    {"12 2147483648 5 ", 16, 0, "12", "a number past a pid ends the list"},
    {"12 99999999999999999999999 5 ", 29, 0, "12",
     "a number past 64 bits ends the list"},
    {"12 18446744073709551617 ", 24, 0, "12", "2^64 + 1 ends the list"},
    {"12 0 5 ", 7, 0, "12", "pid 0 ends the list"},
    {"12 x 5 ", 7, 0, "12", "what is not a number ends the list"},
    {"12 34x 5 ", 9, 0, "12", "a number followed by a letter ends the list"},
    {" 12 ", 4, 0, "", "a list that opens with a blank"},
    {"12 345 ", 4, 0, "12 3", "read up to the length only"},
};

/* The children lists above: as Linux writes them, cut by a full buffer,
 * and what it does not write. */
static void
test_children(void)
{
	char got[256];

	for (size_t i = 0; i < sizeof(child_lists) / sizeof(child_lists[0]);
	     i++) {
		children(child_lists[i].list, child_lists[i].len,
		         child_lists[i].size > 0 ? child_lists[i].size : 4096,
		         got, sizeof(got));
		is_str(got, child_lists[i].want, "children: %s",
		       child_lists[i].what);
	}
}

int
main(void)
{
	test_ordinary();
	test_tty();
	test_names();
	test_cut();
	test_refused();
	test_children();
	return done_testing();
}
