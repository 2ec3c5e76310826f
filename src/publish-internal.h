/*
 * publish-internal.h - what the files of publishing share; not part of
 * its interface (that is publish.h).
 *
 * Publishing was one file, publish.c; it is now three:
 *   publish.c  the policy file: its bounded read, its atomic replacement
 *              (group commit of the flushes), the tidy of leftovers, and
 *              the run's lock (publish_run_locked());
 *   command.c  the publish-command: its arguments, its program's lookup
 *              and trust, and the supervisor that runs and stops it;
 *   verify.c   the policy fetched back until it is served.
 * Everything here was static in publish.c; its names now begin with
 * publish_, as the interface's do, since they are external now. The
 * supervisor's readers of /proc (command_, in command.c) are here for
 * their unit test and fuzz target.
 */
#ifndef MTA_STS_SYNC_PUBLISH_INTERNAL_H
#define MTA_STS_SYNC_PUBLISH_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

/* The descriptor the run's lock is on, or -1 (publish_run_locked(), in
 * publish.c): each supervisor keeps a copy (command.c, LOCK_FD), which
 * is all command.c may do with it. Async-signal-safe. */
int publish_run_lock(void);

/* What the publish-command's supervisor reads of a process in its
 * /proc/PID/stat line (command_stat_parse()). */
struct command_stat {
	pid_t ppid, pgrp;
	/* its start, in clock ticks after boot (with the pid, it names one
	 * process, not another given the same pid later) */
	unsigned long long start;
	int dead; /* a zombie whose threads have all ended */
	/* stopped by a signal (state T), and in the background of its
	 * controlling terminal (tty_nr not 0, the terminal's foreground
	 * group, tpgid, not its own): as the kernel stops one that reads
	 * the terminal there (SIGTTIN), or writes to it (SIGTTOU); a kill
	 * -STOP looks the same */
	int tty_stopped;
	int tty; /* it has a controlling terminal (tty_nr not 0) */
};

/* The readers below take a buffer and its length (no NUL needed), read
 * nothing past it, and are async-signal-safe: the supervisor, a forked
 * copy of the multithreaded run, calls them (command.c). */

/* The fields of a /proc/PID/stat line (len bytes) into *st. Returns 0,
 * or -1 if a field is missing, cut, not a number, or a pid past INT_MAX. */
int command_stat_parse(const char *line, size_t len, struct command_stat *st);

/* The length of the part of a /proc/PID/task/TID/children list (len
 * bytes read into a buffer of size) whose numbers are whole. */
size_t command_children_len(const char *list, size_t len, size_t size);

/* The pid at *p in a children list ending at end, *p moved past it; 0 at
 * the end of the list or at what is not a pid. */
pid_t command_child_next(const char **p, const char *end);

#endif
