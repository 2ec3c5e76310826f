/*
 * command.c - the publish-command (publish.h): its arguments expanded
 * (%d, %f), its program looked up in PATH and checked as safe as the
 * configuration, run without a shell under a supervisor that stops it,
 * and what it leaves running (found through /proc), on a timeout or when
 * the run ends (the comment before struct cmd_report says how); on
 * failure, its output and how it ended in words. Moved from publish.c,
 * which holds the run's lock state (publish-internal.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "conftrust.h"
#include "publish-internal.h"
#include "publish.h"
#include "util.h"

#define PUBLISH_OUTPUT_MAX 8192 /* bytes of command output kept */
#define PUBLISH_OUTPUT_LINES 5  /* lines of it shown on failure */
/* seconds a command's process group has between SIGTERM and SIGKILL */
#define PUBLISH_STOP_GRACE 5
/* Rounds of SIGKILL a supervisor sends, one a second, from
 * PUBLISH_STOP_GRACE s after its SIGTERM (sv_kill()); the run waits for
 * them before it kills a supervisor itself (stop_late()). */
#define SV_KILL_ROUNDS 5

/* Expand %d, %f and %% in arg into out. The configuration refuses
 * another '%' sequence (conf.c, percent_bad()); one would be copied as
 * it is. Returns 0, or -1 if out would pass its maximum. */
static int
expand_arg(const char *arg, const char *domain, const char *file,
           struct buf *out)
{
	const char *p;
	int rc = 0;

	for (p = arg; *p != '\0' && rc == 0; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			rc = buf_puts(out, domain);
			p++;
		} else if (p[0] == '%' && p[1] == 'f') {
			rc = buf_puts(out, file);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			rc = buf_puts(out, "%");
			p++;
		} else {
			rc = buf_append(out, p, 1);
		}
	}
	return rc;
}

static void
free_argv(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

#define ARG_MAX_LEN 65536u /* bytes of one expanded argument */

/* A NULL-terminated argv with the substitutions done; free with
 * free_argv(). NULL (reason in d) if an argument would be longer than
 * ARG_MAX_LEN: it is refused, not cut. */
static char **
build_argv(const struct strlist *argv, const char *domain, const char *file,
           struct diag *d)
{
	char **v = xcalloc(argv->n + 1, sizeof(*v));
	struct buf b;
	size_t i;

	for (i = 0; i < argv->n; i++) {
		buf_init(&b, ARG_MAX_LEN);
		if (expand_arg(argv->v[i], domain ? domain : "",
		               file ? file : "", &b) == -1) {
			buf_free(&b);
			free_argv(v);
			diag_error(
			    d,
			    "publish-command: argument %zu is longer "
			    "than %u bytes once %%d and %%f are expanded",
			    i + 1, ARG_MAX_LEN);
			return NULL;
		}
		v[i] = buf_steal(&b);
	}
	return v;
}

/*
 * A command ready to run: the program checked (program_find()), by the
 * absolute path that is executed, so that what runs is what was checked
 * (execvp() would look a bare name up in PATH again), and the identity
 * (device, inode) of the file checked, looked at again just before the
 * exec; the arguments it gets, its argv[0] as written for a bare name
 * (git), made absolute for a path (the command runs in /); and, for a
 * program without "#!" that the kernel does not run (ENOEXEC), the
 * shell's argv, "/bin/sh" path arguments..., as execvp() runs it (its
 * strings are argv's). Made before the fork: the supervisor and the
 * command allocate nothing.
 */
/* The PATH a command gets when the run has none: the one its program
 * was looked up in, and every entry checked (program_in_path()). */
#define PATH_DEFAULT "/usr/bin:/bin"

struct cmd_line {
	char *path;
	dev_t dev;
	ino_t ino;
	char **argv;
	char **sh;
	/* the command's environment: the run's (NULL), or the run's with
	 * PATH_DEFAULT when the run has no PATH (command_env()) */
	char **envp;
};

static void
cmd_line_free(struct cmd_line *c)
{
	free(c->path);
	free_argv(c->argv);
	free(c->sh);
	free(c->envp); /* its strings are environ's, or PATH_DEFAULT's */
	memset(c, 0, sizeof(*c));
}

/*
 * In the supervisor: close every descriptor from `first` on, so that
 * neither it nor the command (and whatever that leaves running) holds
 * the run's sockets and files (the supervisor keeps only a close-on-exec
 * copy of the lock: the configuration it is on may hold a TSIG secret);
 * and so that the run sees the end of
 * another command's output as soon as that command ends. Only
 * async-signal-safe calls: the run has other threads.
 */
static void
close_from(int first)
{
	struct rlimit rl;
	int fd, max = 65536;

#ifdef CLOSE_RANGE_CLOEXEC /* close_range() is there too */
	if (close_range((unsigned)first, ~0U, 0) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (fd = first; fd < max; fd++)
		close(fd);
}

/* The signals that end a run: they stop the running commands first
 * (publish_catch_signals()). */
static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};
#define NSTOP_SIGNALS (sizeof(stop_signals) / sizeof(stop_signals[0]))

/*
 * A publish-command runs under a supervisor: a process forked from the
 * run that makes a process group of its own, forks the command into it
 * and waits for it, so that no command outlives its run. The run has
 * the supervisor stop the group (a SIGTERM to it) on a timeout or when
 * a signal ends the run; a run killed with SIGKILL cannot, and its
 * command would go on beside the next run (and could deploy an older
 * policy after that run changed the id). So the kernel tells the
 * supervisor when its run dies (PR_SET_PDEATHSIG), and it then stops the
 * group: SIGTERM, and SIGKILL rounds from PUBLISH_STOP_GRACE seconds
 * later. What the command leaves running in the group when it exits is
 * stopped the same way; the supervisor is the subreaper of the command's
 * processes, so it sees them end, and it holds a copy of the run's lock
 * until then, so that the next run waits for them to be gone even when
 * this run was killed (SV_KILL_ROUNDS s of SIGKILL at most: what is
 * left then is reported). Processes that leave the group (setsid, a
 * daemon's double fork) are stopped too: those whose parent ended are
 * the supervisor's children, the others are found through /proc by
 * their parent, and the supervisor ends once it has no child left. Out
 * of its reach is what is not a descendant: a process that another
 * service starts when asked to (systemd-run, at, an ssh to this host);
 * and, where /proc hides processes (hidepid=) from a user that is not
 * root, one that is not dumpable, until it is the supervisor's child.
 * The supervisor is a copy of the multithreaded run that never execs:
 * only async-signal-safe calls in it (no malloc, no stdio), and no
 * signal handler (sigwaitinfo()).
 */

/* What the report pipe of a command carries: records, each one write
 * (shorter than PIPE_BUF, so never split or mixed with another). */
struct cmd_report {
	int kind;  /* REPORT_* */
	int value; /* an errno, or a wait status */
};
enum {
	REPORT_EXEC = 1, /* from the command: its exec failed (errno) */
	REPORT_START,    /* from the supervisor: no command (errno) */
	REPORT_STATUS,   /* from the supervisor: the command's wait status */
	/* from the supervisor: no command, as it could not be stopped
	 * with the run (errno of prctl PR_SET_PDEATHSIG), or what it
	 * leaves could not be followed (PR_SET_CHILD_SUBREAPER) */
	REPORT_PDEATHSIG,
	REPORT_SUBREAPER,
	/* from the command: not executed, as its path no longer names the
	 * file checked (errno of the stat(), or 0: another file) */
	REPORT_REPLACED,
	/* from the supervisor, as it ends with children left after its
	 * SIGKILL rounds: how many (-1: not known), then the pid of each,
	 * SV_LEFT_MAX at most, each followed by its REPORT_LEFT_FLAGS and
	 * its name (REPORT_LEFT_NAME, SV_NAME_RECORDS of them) */
	REPORT_LEFT_COUNT,
	REPORT_LEFT,
	/* from the supervisor: its last record, once nothing the command
	 * started is left (value 0); a supervisor that ends without it, or
	 * REPORT_LEFT_COUNT, was killed or crashed before it could stop
	 * what the command left */
	REPORT_STOPPED,
	/* from the supervisor: the command stopped (value: the signal,
	 * SIGTTIN or SIGTTOU, as it used the terminal from the supervisor's
	 * group, which is not the terminal's foreground) */
	REPORT_TTY_STOP,
	REPORT_LEFT_FLAGS, /* LEFT_*, of the REPORT_LEFT before it */
	REPORT_LEFT_NAME,  /* 4 bytes of its name (comm), NUL-padded */
	/* from the supervisor: a process the command started, in a group
	 * of its own, stopped in the terminal's background (value: its
	 * pid, then its name as for REPORT_LEFT), as one that used the
	 * terminal from there is (sv_tty_look()): neither the supervisor
	 * nor its waitpid() sees that signal */
	REPORT_TTY_PID
};
/* What the supervisor knows of a process left (REPORT_LEFT_FLAGS). */
enum {
	LEFT_COMMAND = 1, /* the command itself */
	LEFT_EPERM = 2,   /* kill() refused: another user's process */
	LEFT_HIDDEN = 4,  /* its /proc/PID/stat cannot be read (hidepid=) */
	/* with REPORT_LEFT_COUNT -1: no /proc of its own, and children out
	 * of its group, or a group that had to be killed (what left it, if
	 * anything did, cannot be found or stopped) */
	LEFT_NOPROC = 8
};
/* The longest name of a process (comm: TASK_COMM_LEN less its NUL), in
 * REPORT_LEFT_NAME records of 4 bytes. */
#define SV_NAME_MAX 16
#define SV_NAME_RECORDS (SV_NAME_MAX / 4)
#define REPORT_FD 3 /* the report pipe in the supervisor and command */
/* The supervisor's copy of the run's lock, close-on-exec: a run killed
 * with SIGKILL releases its own at once, while the supervisor may stop
 * the group for PUBLISH_STOP_GRACE seconds more, and the next run must
 * not start beside a command that ignores SIGTERM. The command loses it
 * at its exec: the lock is on the configuration, which may hold a TSIG
 * secret. */
#define LOCK_FD 4

/* Set in the supervisor once it stops its group. */
static int sv_stopping;
/* In the supervisor: rounds of SIGKILL sent (sv_kill()), one a second
 * from PUBLISH_STOP_GRACE s after the SIGTERM, until no child is left
 * or SV_KILL_ROUNDS were sent (what SIGKILL does not end at once is in
 * the kernel: an uninterruptible wait, which the lock, held until the
 * supervisor ends, should not wait for). */
static int sv_kill_rounds;
/* Set in the supervisor once a signal it sent was refused with EPERM
 * (a process of another user: a set-user-ID program, sudo). */
static int sv_eperm;
/* Set in the supervisor without a /proc of its own (sv_proc_ours()):
 * it cannot find what left its group, and waits for the group alone. */
static int sv_noproc;
/* Set in the supervisor that has a controlling terminal (and a /proc of
 * its own): while the command runs, it looks for a process of it
 * stopped in the terminal's background out of its group, once every
 * SV_TTY_LOOK_S s (sv_tty_look()). */
static int sv_tty_watch;
#define SV_TTY_LOOK_S 1
/* ... when its next look is due (sv_now()'s clock): a time fixed in
 * advance, not a wait restarted at each signal it takes, or a command
 * whose orphans end less than SV_TTY_LOOK_S s apart (each a SIGCHLD)
 * would never be looked at; 0 once sv_reap() saw a child other than the
 * command stop (an orphan that used the terminal): at once. */
static long long sv_next_look;
/* Processes the supervisor names to the run when SIGKILL rounds end
 * with children left (REPORT_LEFT). */
#define SV_LEFT_MAX 8
/* Descendants one scan of /proc notes (on the supervisor's stack: no
 * malloc after the fork); more are found by the next round, once those
 * noted have ended. */
#define SV_DESC_MAX 256
/* Passes over /proc in one scan (sv_descendants()). */
#define SV_SCAN_PASSES 8
/* In the supervisor, on the monotonic clock (ns, sv_now()): when its
 * SIGTERM went (sv_stop()), from which its SIGKILL rounds and its report
 * of what is left are timed (sv_round_at()), whatever its scans of /proc
 * take: the run kills a supervisor 2 s after its last round is due
 * (stop_late()), and on a host of thousands of processes the scans of
 * rounds timed one after another's end (each reads every
 * /proc/PID/stat) spent that margin, and the report was lost with it. */
static long long sv_stop_ns;

/* _Fork() (glibc 2.34), or fork() without it: a copy of a multithreaded
 * process should not run fork handlers, which may wait for a lock that
 * another thread of the run held (POSIX.1-2024 made _Fork()
 * async-signal-safe, and fork() no longer). */
static pid_t
fork_bare(void)
{
#ifdef HAVE__FORK
	return _Fork();
#else
	return fork();
#endif
}

/* In the supervisor: the monotonic clock, in ns (clock_gettime() is
 * async-signal-safe). */
static long long
sv_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* In the supervisor, stopping: when its SIGKILL round `round` is due
 * (from 0, PUBLISH_STOP_GRACE s after its SIGTERM, one a second), and
 * round SV_KILL_ROUNDS its report of what is left (sv_kill()). */
static long long
sv_round_at(int round)
{
	return sv_stop_ns + (PUBLISH_STOP_GRACE + round) * 1000000000LL;
}

/* In the supervisor: whether its report of what is left is due, so that
 * a scan of /proc stops where it is, with what it found: else a slow
 * one (thousands of processes) would hold the report past the run's
 * kill of the supervisor (stop_late()). */
static int
sv_report_due(void)
{
	return sv_stopping && sv_now() >= sv_round_at(SV_KILL_ROUNDS);
}

/* In the supervisor: SIGALRM at `at` (sv_now()'s clock), at once if it
 * has passed. setitimer(), a bare syscall, as alarm() counts whole
 * seconds from now, not from the SIGTERM. */
static void
sv_alarm_at(long long at)
{
	struct itimerval it;
	long long left = at - sv_now();

	memset(&it, 0, sizeof(it));
	if (left < 1000)
		left = 1000; /* 0 would disarm it */
	left += 999; /* in whole us, not before `at` (sv_alarm_ours()) */
	it.it_value.tv_sec = (time_t)(left / 1000000000LL);
	it.it_value.tv_usec = (suseconds_t)(left % 1000000000LL / 1000);
	setitimer(ITIMER_REAL, &it, NULL);
}

/* In the supervisor: whether a SIGALRM (info) is its timer's, for its
 * next SIGKILL round or report (sv_kill()): the command is in its group,
 * and one that signals the whole group (kill -ALRM 0) would else start
 * SIGKILL rounds with no SIGTERM first, all at once. The timer's comes
 * from the kernel (SI_KERNEL, which kill() and sigqueue() cannot give);
 * or, as a signal pending is not queued twice, from a process just as
 * that round is due: the timer's then went with it. */
static int
sv_alarm_ours(const siginfo_t *info)
{
	return sv_stopping && (info->si_code == SI_KERNEL ||
	                       sv_now() >= sv_round_at(sv_kill_rounds));
}

/* A process a look at /proc found below the supervisor. */
struct sv_proc {
	pid_t pid, ppid, pgrp;
	/* its start, in clock ticks after boot: with the pid, it names one
	 * process, not another given the same pid later (0: not known, for
	 * a child /proc hides, which keeps its pid until it is reaped) */
	unsigned long long start;
	/* a zombie whose threads have all ended: nothing to signal, and
	 * no child (they went to the subreaper when it ended) */
	int dead;
	int tty_stopped, tty; /* as in struct command_stat */
};

/* In the supervisor: move *p past n fields of a /proc/PID/stat line
 * (each ends with a blank), not past end. */
static void
sv_skip_fields(const char **p, const char *end, int n)
{
	while (n-- > 0) {
		while (*p < end && **p != ' ')
			(*p)++;
		if (*p < end)
			(*p)++;
	}
}

/* In the supervisor: the decimal number at *p into *v, *p moved past it
 * and the blank after it, if one is there. Returns 0, or -1 if there is
 * none, it is followed by something other than a blank, or it does not
 * fit in 64 bits (then *p is not moved): one taken in part would be
 * another number, another pid. */
static int
sv_number(const char **p, const char *end, unsigned long long *v)
{
	const char *s = *p;
	unsigned d;

	for (*v = 0; s < end && *s >= '0' && *s <= '9'; s++) {
		d = (unsigned)(*s - '0');
		if (*v > (ULLONG_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	if (s == *p || (s < end && *s != ' '))
		return -1;
	*p = s < end ? s + 1 : s;
	return 0;
}

/* In the supervisor: the number field of a /proc/PID/stat line at *p
 * into *v, *p moved past it and its blank, as for sv_number(), but for
 * a number at the end: the line goes on after each field read, so there
 * it may be cut. */
static int
sv_stat_field(const char **p, const char *end, unsigned long long *v)
{
	return sv_number(p, end, v) == -1 || (*p)[-1] != ' ' ? -1 : 0;
}

/* In the supervisor: sv_stat_field() of a field that may be negative
 * (tty_nr, tpgid: -1 without a terminal), *neg set if it is. */
static int
sv_stat_signed(const char **p, const char *end, int *neg, unsigned long long *v)
{
	*neg = *p < end && **p == '-';
	if (*neg)
		(*p)++;
	return sv_stat_field(p, end, v);
}

/* In the supervisor: head, the decimal pid, then tail into path (48
 * bytes; head and tail fit with room for the digits), without
 * snprintf(), which is not async-signal-safe. */
static void
sv_path(const char *head, pid_t pid, const char *tail, char *path)
{
	char digits[16];
	size_t n = 0, len = 0;

	do
		digits[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) > 0 && n < sizeof(digits));
	while (*head != '\0')
		path[len++] = *head++;
	while (n > 0)
		path[len++] = digits[--n];
	while (*tail != '\0')
		path[len++] = *tail++;
	path[len] = '\0';
}

/*
 * The parent, group, terminal, start and state of a process from its
 * /proc/PID/stat line, len bytes at line, read up to len only (no NUL
 * needed): fields 3 to 5, 7, 8, 20 and 22, counted after the name in
 * parentheses, which may hold any byte, ')' too (the last one ends it:
 * what follows is numbers). Async-signal-safe (the supervisor's).
 * Returns 0, or -1 if a field is missing, cut, not a number, or a pid
 * past INT_MAX.
 */
int
command_stat_parse(const char *line, size_t len, struct command_stat *st)
{
	const char *p, *end = line + len;
	unsigned long long ppid, pgrp, tty, tpgid, threads;
	int zombie, stopped, tty_neg, tpgid_neg;

	for (p = end; p > line && p[-1] != ')'; p--)
		;
	if (p == line || p + 1 >= end)
		return -1;
	p++; /* the blank after the name */
	zombie = *p == 'Z';
	stopped = *p == 'T';
	sv_skip_fields(&p, end, 1); /* state */
	if (sv_stat_field(&p, end, &ppid) == -1 || ppid > INT_MAX ||
	    sv_stat_field(&p, end, &pgrp) == -1 || pgrp > INT_MAX)
		return -1;
	sv_skip_fields(&p, end, 1); /* session */
	if (sv_stat_signed(&p, end, &tty_neg, &tty) == -1 ||
	    sv_stat_signed(&p, end, &tpgid_neg, &tpgid) == -1)
		return -1;
	sv_skip_fields(&p, end, 11); /* flags ... nice */
	if (sv_stat_field(&p, end, &threads) == -1)
		return -1;
	sv_skip_fields(&p, end, 1); /* itrealvalue */
	if (sv_stat_field(&p, end, &st->start) == -1)
		return -1;
	st->ppid = (pid_t)ppid;
	st->pgrp = (pid_t)pgrp;
	/* a group leader ended before its threads stays a zombie with
	 * them: they are signalled through its pid, and their children
	 * have it as their parent */
	st->dead = zombie && threads <= 1;
	st->tty = tty != 0;
	st->tty_stopped = stopped && st->tty && (tpgid_neg || tpgid != pgrp);
	return 0;
}

/* In the supervisor: the parent, group, start and state of pid, from
 * /proc/PID/stat (command_stat_parse()). Returns 0, or -1 if it is gone
 * or cannot be read (/proc may hide it: hidepid=). */
static int
sv_stat(pid_t pid, struct sv_proc *out)
{
	char path[48], line[1024];
	struct command_stat st;
	ssize_t n;
	int fd;

	sv_path("/proc/", pid, "/stat", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, line, sizeof(line));
	close(fd);
	if (n <= 0 || command_stat_parse(line, (size_t)n, &st) == -1)
		return -1;
	out->pid = pid;
	out->ppid = st.ppid;
	out->pgrp = st.pgrp;
	out->start = st.start;
	out->dead = st.dead;
	out->tty_stopped = st.tty_stopped;
	out->tty = st.tty;
	return 0;
}

/* In the supervisor: the index of pid among the n processes in d[], or
 * -1 if it is not there. */
static ssize_t
sv_find(const struct sv_proc *d, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].pid == pid)
			return (ssize_t)i;
	return -1;
}

/* In the supervisor: the pid a /proc entry's name is, or 0 if it is not
 * a process's (self, sys...). */
static pid_t
sv_pid_of(const char *name)
{
	unsigned long long v;
	const char *p = name, *end = name;

	while (*end != '\0')
		end++;
	if (sv_number(&p, end, &v) == -1 || p != end || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

/* In the supervisor (self): whether p, just read, descends from it: its
 * parent is self, or one of the n in d[] that still is the process
 * noted (its start read again after p's: a pid cannot come back to a
 * process, so that parent held its pid all along, and p's parent is
 * that process, not a later one given its pid). */
static int
sv_below(const struct sv_proc *p, pid_t self, const struct sv_proc *d, size_t n)
{
	ssize_t k;
	struct sv_proc now;

	if (p->ppid == self)
		return 1;
	if ((k = sv_find(d, n, p->ppid)) == -1)
		return 0;
	return d[k].ppid == self || /* a child keeps its pid until reaped */
	       (sv_stat(d[k].pid, &now) == 0 && now.start == d[k].start);
}

/* In the supervisor: one pass over /proc (procfd, read from its start):
 * each process whose parent is the supervisor (self) or one of the n in
 * d[] is added there, up to max, unless it is a zombie that has ended;
 * cut short once the report of what is left is due (sv_report_due()).
 * Returns the number in d[] then. */
static size_t
sv_scan(int procfd, pid_t self, struct sv_proc *d, size_t n, size_t max)
{
	char buf[4096] __attribute__((aligned(8)));
	long got;
	pid_t pid;

	while (n < max && !sv_report_due() &&
	       (got = syscall(SYS_getdents64, procfd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < got && n < max && !sv_report_due();) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);

			off += e->d_reclen;
			pid = sv_pid_of(e->d_name);
			if (pid > 0 && pid != self &&
			    sv_find(d, n, pid) == -1 &&
			    sv_stat(pid, &d[n]) == 0 && !d[n].dead &&
			    sv_below(&d[n], self, d, n))
				n++;
		}
	return n;
}

/* The length of the part of a /proc/PID/task/TID/children list, len
 * bytes read into a buffer of size, whose numbers are whole: all of it,
 * or, if it filled the buffer, up to its last blank (the number after it
 * may be cut). Async-signal-safe (the supervisor's). */
size_t
command_children_len(const char *list, size_t len, size_t size)
{
	if (len == size)
		while (len > 0 && list[len - 1] != ' ')
			len--;
	return len;
}

/* The pid at *p in a children list that ends at end ("PID PID ... "),
 * *p moved past it and its blank; 0 at the end of the list or at what is
 * not a pid. Async-signal-safe (the supervisor's). */
pid_t
command_child_next(const char **p, const char *end)
{
	unsigned long long v;

	if (*p >= end || sv_number(p, end, &v) == -1 || v == 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

/*
 * In the supervisor (self): note in d[] (max entries) its own children,
 * from /proc/self/task/SELF/children (it has one thread), which /proc
 * shows it even where it hides the children themselves (hidepid=,
 * ProtectProc=invisible: a process that is not dumpable, ssh-agent for
 * one, from a user that is not root): one that the scan cannot read is
 * noted by its pid alone, which stays its own until it is reaped.
 * Returns how many, or -1 if the list cannot be read (a kernel without
 * CONFIG_PROC_CHILDREN).
 */
static ssize_t
sv_children(pid_t self, struct sv_proc *d, size_t max)
{
	char path[48], list[4096];
	const char *p, *end;
	pid_t v;
	ssize_t got, len = 0;
	size_t n = 0;
	int fd;

	sv_path("/proc/self/task/", self, "/children", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (len < (ssize_t)sizeof(list) &&
	       (got = read(fd, list + len, sizeof(list) - (size_t)len)) > 0)
		len += got;
	close(fd);
	end = list + command_children_len(list, (size_t)len, sizeof(list));
	for (p = list; n < max && (v = command_child_next(&p, end)) != 0;) {
		if (sv_stat(v, &d[n]) == -1) {
			d[n].pid = v;
			d[n].ppid = self;
			d[n].pgrp = getpgid(v); /* a bare syscall */
			d[n].start = 0;
			d[n].dead = d[n].tty_stopped = d[n].tty = 0;
		}
		if (d[n].ppid == self && !d[n].dead)
			n++;
	}
	return (ssize_t)n;
}

/* In the supervisor (self): whether /proc is there, and of its pid
 * namespace (/proc/self names self): else the pids in it are others'. */
static int
sv_proc_ours(pid_t self)
{
	char link[16];
	ssize_t n = readlink("/proc/self", link, sizeof(link));
	const char *p = link;
	unsigned long long v;

	return n > 0 && n < (ssize_t)sizeof(link) &&
	       sv_number(&p, link + n, &v) == 0 && p == link + n &&
	       v == (unsigned long long)self;
}

/*
 * In the supervisor: note in d[] (max entries) its descendants, whatever
 * their group or session: its children (sv_children()), then the
 * processes whose parent (PPid) is the supervisor or one noted, by
 * passes over /proc until one adds nothing (a child listed before its
 * parent, its pid lower once pids wrapped, waits for the next pass),
 * SV_SCAN_PASSES at most. Returns how many, or -1 without a /proc of
 * its own (sv_noproc).
 */
static ssize_t
sv_descendants(struct sv_proc *d, size_t max)
{
	int procfd;
	pid_t self = getpid();
	ssize_t kids;
	size_t n = 0, before;

	if (sv_noproc ||
	    (procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((kids = sv_children(self, d, max)) > 0)
		n = (size_t)kids;
	for (int pass = 0; pass < SV_SCAN_PASSES && n < max; pass++) {
		before = n;
		if (lseek(procfd, 0, SEEK_SET) == -1)
			break;
		n = sv_scan(procfd, self, d, n, max);
		if (n == before)
			break;
	}
	close(procfd);
	return (ssize_t)n;
}

/* In the supervisor: kill(pid, sig), a refusal for want of permission
 * noted (sv_eperm): the process is another user's. */
static void
sv_kill_pid(pid_t pid, int sig)
{
	if (kill(pid, sig) == -1 && errno == EPERM)
		sv_eperm = 1;
}

/* In the supervisor: send sig to p by kill() if it is still the process
 * noted (its start), which leaves a moment between the check and the
 * kill() for its pid to go to another process. */
static void
sv_kill_checked(const struct sv_proc *p, int sig)
{
	struct sv_proc now;

	if (sv_stat(p->pid, &now) == 0 && now.start == p->start)
		sv_kill_pid(p->pid, sig);
}

/*
 * In the supervisor (self): send sig to p, a descendant a scan noted, if
 * it is still that process. A child cannot become another process before
 * the supervisor reaps it, which it has not done since the scan; a
 * grandchild's pid may be reused as soon as its parent reaps it, so it
 * gets sig through a pidfd, which stays its own, opened, then checked to
 * be the process noted (its start). Without pidfds (Linux before 5.3),
 * or where they are refused (a seccomp filter that predates them returns
 * EPERM, ENOSYS or another errno; EMFILE), the check comes just before
 * kill() (sv_kill_checked()).
 */
static void
sv_signal(const struct sv_proc *p, pid_t self, int sig)
{
	struct sv_proc now;
	int fd = -1;

	if (p->ppid == self) {
		sv_kill_pid(p->pid, sig);
		return;
	}
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (fd == -1 && errno == ESRCH)
		return; /* gone */
#endif
	if (fd == -1) {
		sv_kill_checked(p, sig);
		return;
	}
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	if (sv_stat(p->pid, &now) == 0 && now.start == p->start &&
	    syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == -1 &&
	    errno != ESRCH)
		sv_kill_checked(p, sig); /* the signal through it refused */
#else
	(void)now;
#endif
	close(fd);
}

/* In the supervisor: send sig, then sig2 unless it is 0, to every
 * descendant a scan of /proc finds (sv_descendants()), those in its
 * group too unless but_group (kill(0) reached them). Returns 0, or -1
 * without a /proc to scan. */
static int
sv_signal_descendants(int sig, int sig2, int but_group)
{
	struct sv_proc d[SV_DESC_MAX];
	pid_t self = getpid();
	ssize_t n = sv_descendants(d, SV_DESC_MAX);

	for (ssize_t i = 0; i < n; i++)
		if (!but_group || d[i].pgrp != self) {
			sv_signal(&d[i], self, sig);
			if (sig2 != 0)
				sv_signal(&d[i], self, sig2);
		}
	return n == -1 ? -1 : 0;
}

/* In the supervisor: stop what the command is and started, once,
 * whatever asked for it (the run's SIGTERM, the kernel's when the run
 * dies, the command's end): SIGTERM to the group, its only one (the
 * supervisor's own, blocked, comes back from sigwaitinfo() and does
 * nothing more), and to each descendant out of it (setsid), each
 * followed by SIGCONT: a stopped process (SIGSTOP, or SIGTTIN as it
 * read the terminal) keeps its SIGTERM pending, and would never run its
 * handler (a git command's removal of its index.lock); then SIGALRM
 * PUBLISH_STOP_GRACE s after its start (sv_stop_ns), however long the
 * scan took, which kills what is left (sv_kill()). */
static void
sv_stop(void)
{
	if (sv_stopping)
		return;
	sv_stopping = 1;
	sv_stop_ns = sv_now();
	kill(0, SIGTERM);
	kill(0, SIGCONT);
	/* none without /proc */
	(void)sv_signal_descendants(SIGTERM, SIGCONT, 1);
	sv_alarm_at(sv_round_at(0));
}

/*
 * In the supervisor: note in ignored[] the signals that end a run that
 * the run ignores from its start (nohup: they stay ignored for the
 * command), put the others back to their defaults (not the run's
 * handler), and block in *set, for sigwaitinfo(), those that stop the
 * group (SIGTERM always: the kernel sends it when the run dies), SIGALRM
 * and SIGCHLD, and SIGTTIN and SIGTTOU, which the kernel sends the whole
 * group when one of it uses the terminal (sv_tty()): else the
 * supervisor would stop with it. Signals are taken in turn, without a
 * handler: nothing runs at a moment the supervisor does not choose.
 */
static void
sv_signals(int *ignored, sigset_t *set)
{
	struct sigaction old;

	sigemptyset(set);
	for (size_t i = 0; i < NSTOP_SIGNALS; i++) {
		ignored[i] = sigaction(stop_signals[i], NULL, &old) == 0 &&
		             old.sa_handler == SIG_IGN;
		if (!ignored[i])
			signal(stop_signals[i], SIG_DFL);
		if (!ignored[i] || stop_signals[i] == SIGTERM)
			sigaddset(set, stop_signals[i]);
	}
	signal(SIGCHLD, SIG_DFL); /* ignored, children would not wait */
	sigaddset(set, SIGALRM);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTTIN);
	sigaddset(set, SIGTTOU);
	sigprocmask(SIG_SETMASK, set, NULL);
}

/* In the supervisor: standard input from /dev/null, output and errors
 * into the output pipe (outfd), the report pipe (repfd) as REPORT_FD
 * and a copy of the run's lock (if it holds one) as LOCK_FD, both
 * close-on-exec, and no other descriptor. outfd and repfd are above 2
 * (main() keeps 0 to 2 open). Returns 0, or an errno. */
static int
sv_descriptors(int outfd, int repfd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), lock = -1;

	/* the lock out of the way of the numbers below first: it may be 3 */
	if (null == -1 ||
	    (publish_run_lock() != -1 &&
	     (lock = fcntl(publish_run_lock(), F_DUPFD_CLOEXEC, LOCK_FD + 1)) ==
	         -1) ||
	    dup2(null, 0) == -1 || dup2(outfd, 1) == -1 ||
	    dup2(outfd, 2) == -1 ||
	    (repfd != REPORT_FD && dup2(repfd, REPORT_FD) == -1) ||
	    fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) == -1 ||
	    (lock != -1 && dup3(lock, LOCK_FD, O_CLOEXEC) == -1))
		return errno;
	close_from(lock != -1 ? LOCK_FD + 1 : REPORT_FD + 1);
	return 0;
}

/*
 * In the command, forked by its supervisor: the signals that end a run
 * as they were when the run started (ignored[]), SIGPIPE (which the run
 * ignores: a shell pipeline in the command needs it) at its default, the
 * run's signal mask (mask), then exec of c's program (or of the shell
 * for it, as execvp() does), if its path still names the file checked.
 * It has descriptors 0 to 2, and the report pipe, closed by the exec;
 * errno goes through it when the exec fails.
 */
static void __attribute__((noreturn))
command_exec(const struct cmd_line *c, const int *ignored, const sigset_t *mask)
{
	struct cmd_report r = {REPORT_EXEC, 0};
	struct stat st;

	for (size_t i = 0; i < NSTOP_SIGNALS; i++)
		signal(stop_signals[i], ignored[i] ? SIG_IGN : SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	/* the exec goes by the path (a script's interpreter opens it by
	 * that name, and its $0 is that name, not /dev/fd/N as with
	 * execveat() of a descriptor): what it names now must be what was
	 * checked, down to this moment */
	if (stat(c->path, &st) == -1 || st.st_dev != c->dev ||
	    st.st_ino != c->ino) {
		r.kind = REPORT_REPLACED;
		r.value = errno;
	} else {
		char **envp = c->envp != NULL ? c->envp : environ;

		execve(c->path, c->argv, envp);
		if (errno == ENOEXEC)
			execve(c->sh[0], c->sh, envp);
		r.value = errno;
	}
	if (write(REPORT_FD, &r, sizeof(r)) < 0)
		_exit(126);
	_exit(127);
}

/* End the supervisor as the command ended (status, its wait status):
 * killed by the same signal (without a core of its own), or with the
 * same exit status. */
static void sv_end(int status) __attribute__((noreturn));
static void
sv_end(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		sigset_t set;

		prctl(PR_SET_DUMPABLE, 0);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

/* In the supervisor: fork the command (c, with ignored[] and mask for
 * it) unless the group is being stopped. Returns its pid, or -1 (then
 * reported, unless stopping). */
static pid_t
sv_start(const struct cmd_line *c, const int *ignored, const sigset_t *mask)
{
	struct cmd_report r = {REPORT_START, 0};
	pid_t pid = -1;

	if (!sv_stopping && (pid = fork_bare()) == 0)
		command_exec(c, ignored, mask);
	if (pid == -1 && !sv_stopping) {
		r.value = errno;
		if (write(REPORT_FD, &r, sizeof(r)) < 0)
			_exit(126);
	}
	return pid;
}

/* In the supervisor: the n records r[] to the run, in one write, which
 * it reads whole (shorter than PIPE_BUF). Returns 0, or -1 if they could
 * not be written (the run is gone). */
static int
sv_write(const struct cmd_report *r, size_t n)
{
	ssize_t len = (ssize_t)(n * sizeof(*r));

	return write(REPORT_FD, r, (size_t)len) == len ? 0 : -1;
}

/* In the supervisor: one record to the run (kind, value). Returns 0, or
 * -1 if it could not be written (the run is gone). */
static int
sv_tell(int kind, int value)
{
	struct cmd_report r = {kind, value};

	return sv_write(&r, 1);
}

/* In the supervisor without a /proc of its own: tell the run that what
 * the command started may have left its group, which cannot be told
 * (REPORT_LEFT_COUNT -1, LEFT_NOPROC), so that the command fails. One
 * write, read whole. Returns 0, or -1 (the run is gone). */
static int
sv_tell_noproc(void)
{
	struct cmd_report r[2] = {{REPORT_LEFT_COUNT, -1},
	                          {REPORT_LEFT_FLAGS, LEFT_NOPROC}};

	return sv_write(r, 2);
}

/* In the supervisor: the command, or one in its group, stopped on sig
 * (SIGTTIN, SIGTTOU) as it used the terminal (a password prompt): the
 * supervisor's group is never the terminal's foreground, so it would
 * wait there until its time limit. The run is told (once), and the group
 * stopped at once. */
static void
sv_tty(int sig)
{
	if (!sv_stopping)
		(void)sv_tell(REPORT_TTY_STOP, sig);
	sv_stop();
}

/* In the supervisor: the name of pid, from /proc/PID/comm (empty if it
 * cannot be read), into r[] from k, as SV_NAME_RECORDS REPORT_LEFT_NAME
 * records. Returns the index after them. */
static size_t
sv_name_records(struct cmd_report *r, size_t k, pid_t pid)
{
	char path[48], name[SV_NAME_MAX];
	ssize_t n = 0;
	int fd;

	memset(name, 0, sizeof(name)); /* async-signal-safe, as memcpy */
	sv_path("/proc/", pid, "/comm", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, name, sizeof(name));
		close(fd);
	}
	for (ssize_t i = 0; i < n; i++)
		if (name[i] == '\n')
			name[i] = '\0';
	for (size_t i = 0; i < SV_NAME_RECORDS; i++) {
		r[k].kind = REPORT_LEFT_NAME;
		memcpy(&r[k++].value, name + 4 * i, 4);
	}
	return k;
}

/*
 * In the supervisor, while the command (cmd) runs under a terminal
 * (sv_tty_watch): a process it started that moved to a process group of
 * its own (setpgid in a deploy script) and used the terminal from there
 * (an ssh passphrase prompt) is stopped by the kernel (SIGTTIN, SIGTTOU)
 * with its group alone: the supervisor gets no signal, and its waitpid()
 * sees its own children only; it would wait there until its time limit.
 * So a scan of /proc looks for one stopped in the terminal's background
 * (struct command_stat's tty_stopped), out of the supervisor's group
 * (a stop there is sv_tty()'s) and not the command (its waitpid() tells
 * its signal: sv_command_changed()): the run is told (REPORT_TTY_PID),
 * and the group stopped at once, which resumes that process with its
 * SIGTERM (sv_stop()).
 */
static void
sv_tty_look(pid_t cmd)
{
	struct sv_proc d[SV_DESC_MAX];
	pid_t self = getpid();
	ssize_t n = sv_descendants(d, SV_DESC_MAX);

	struct cmd_report r[1 + SV_NAME_RECORDS];

	for (ssize_t i = 0; i < n; i++)
		if (d[i].tty_stopped && d[i].pgrp != self && d[i].pid != cmd) {
			r[0].kind = REPORT_TTY_PID;
			r[0].value = d[i].pid;
			(void)sv_name_records(r, 1, d[i].pid);
			(void)sv_write(r, 1 + SV_NAME_RECORDS);
			sv_stop();
			return;
		}
}

/* In the supervisor: whether sv_tty_look() is to run now: while the
 * command runs (not done) under a terminal (sv_tty_watch), once
 * sv_next_look has come, whatever signals came since the last look (the
 * next one is then due SV_TTY_LOOK_S s later). */
static int
sv_look_due(int done)
{
	long long now;

	if (!sv_tty_watch || sv_stopping || done ||
	    (now = sv_now()) < sv_next_look)
		return 0;
	sv_next_look = now + SV_TTY_LOOK_S * 1000000000LL;
	return 1;
}

/* In the supervisor: the next signal of set (sigwaitinfo()), its
 * siginfo in *info; while looks are made (sv_look_due()), -1 with EAGAIN
 * once the next one is due without a signal. */
static int
sv_next_signal(const sigset_t *set, int done, siginfo_t *info)
{
	struct timespec left = {0, 0};
	long long ns;

	if (!sv_tty_watch || sv_stopping || done)
		return sigwaitinfo(set, info);
	if ((ns = sv_next_look - sv_now()) > 0) {
		left.tv_sec = (time_t)(ns / 1000000000LL);
		left.tv_nsec = (long)(ns % 1000000000LL);
	}
	return sigtimedwait(set, info, &left);
}

/*
 * In the supervisor: the command changed state (st, from waitpid()).
 * Stopped as it used the terminal: sv_tty() (a stop on another signal
 * is someone's kill -STOP, left to them). Ended: *done set and *status
 * its wait status, sent to the run at once, as the run may kill the
 * supervisor after.
 */
static void
sv_command_changed(int st, int *done, int *status)
{
	if (WIFSTOPPED(st)) {
		if (WSTOPSIG(st) == SIGTTIN || WSTOPSIG(st) == SIGTTOU)
			sv_tty(WSTOPSIG(st));
		return;
	}
	*done = 1;
	*status = st;
	/* no status once SIGKILL was sent: the run says "killed", as when
	 * the supervisor died with the group */
	if (sv_kill_rounds == 0 && sv_tell(REPORT_STATUS, st) == -1)
		sv_stop(); /* the run is gone */
}

/*
 * In the supervisor, a child ended or stopped (SIGCHLD): each child that
 * ended is reaped, the command (pid) among them (sv_command_changed()),
 * and, while the command runs, the orphans it left (reparented to the
 * supervisor, their subreaper): else they stay zombies until it ends,
 * counted in the RLIMIT_NPROC of the run's user. A reap here cannot give
 * a pid that a scan noted to another process before it is signalled:
 * each scan and its signals are one call (sv_stop(), sv_kill()), and no
 * reap comes between them, as the supervisor takes one signal at a time
 * (sigwaitinfo(), no handler). Once the command has ended (*done,
 * *status), what it left running, in the group or out of it, is stopped,
 * and the supervisor ends as the command did once it has no child left,
 * saying so to the run (REPORT_STOPPED). Without a /proc of its own
 * (sv_noproc) it ends once none is left in its group: it could not find
 * one out of it, and would only wait for it; if some are left (its
 * children still), the run is told (REPORT_LEFT_COUNT -1, LEFT_NOPROC).
 * Once SIGKILL rounds have begun, a child reaped sends SIGKILL again at
 * once: the children of the one that ended are the supervisor's now,
 * and found even where /proc hides them (hidepid=), which would else
 * wait for the next round, a level of a hidden chain each round.
 */
static void
sv_reap(pid_t pid, int *done, int *status)
{
	pid_t w;
	int st, reaped = 0;

	while ((w = waitpid(-1, &st, WNOHANG | WUNTRACED)) > 0) {
		reaped |= !WIFSTOPPED(st);
		if (w == pid && !*done)
			sv_command_changed(st, done, status);
		else if (WIFSTOPPED(st))
			sv_next_look = 0; /* an orphan stopped: look now */
	}
	if (!*done)
		return;
	if (w == -1 && errno == ECHILD) {
		alarm(0);
		(void)sv_tell(REPORT_STOPPED, 0);
		sv_end(*status);
	}
	if (sv_noproc && waitpid(0, NULL, WNOHANG) == -1 && errno == ECHILD) {
		alarm(0);
		/* one write; if it fails, the run is gone: nobody to tell */
		(void)sv_tell_noproc();
		sv_end(*status);
	}
	if (reaped && sv_kill_rounds > 0 && !sv_noproc)
		(void)sv_signal_descendants(SIGKILL, 0, 0);
	sv_stop();
}

/* In the supervisor: the records of pid, a process left (flags LEFT_*),
 * into r[] from k: its pid, its flags (LEFT_EPERM if a last SIGKILL to
 * it is refused, LEFT_HIDDEN if its /proc/PID/stat cannot be read) and
 * its name (sv_name_records()). Returns the index after them. */
static size_t
sv_left_entry(struct cmd_report *r, size_t k, pid_t pid, int flags)
{
	struct sv_proc now;

	if (kill(pid, SIGKILL) == -1 && errno == EPERM) /* a child: its pid */
		flags |= LEFT_EPERM;
	if (sv_stat(pid, &now) == -1)
		flags |= LEFT_HIDDEN;
	r[k].kind = REPORT_LEFT;
	r[k++].value = pid;
	r[k].kind = REPORT_LEFT_FLAGS;
	r[k++].value = flags;
	return sv_name_records(r, k, pid);
}

/* In the supervisor, ending with children left after its SIGKILL
 * rounds: tell the run how many, and which (sv_children()), the command
 * (cmd, unless 0: it ended) first, so that it says so rather than "ok";
 * if which is not known, whether a signal was refused (sv_eperm). Each
 * child gets a last SIGKILL, named or not: rounds cut short (a slow
 * /proc) may not have sent one. */
static void
sv_report_left(pid_t cmd)
{
	struct sv_proc d[SV_DESC_MAX];
	struct cmd_report r[1 + (SV_LEFT_MAX + 1) * (2 + SV_NAME_RECORDS)];
	ssize_t n = sv_noproc ? -1 : sv_children(getpid(), d, SV_DESC_MAX);
	size_t k = 0, named = 0;

	r[k].kind = REPORT_LEFT_COUNT;
	r[k++].value = (int)n;
	if (n == -1 && sv_eperm) { /* which they are is not known */
		r[k].kind = REPORT_LEFT_FLAGS;
		r[k++].value = LEFT_EPERM;
	}
	if (cmd > 0)
		k = sv_left_entry(r, k, cmd, LEFT_COMMAND);
	for (ssize_t i = 0; i < n; i++)
		if (d[i].pid != cmd && named < SV_LEFT_MAX) {
			k = sv_left_entry(r, k, d[i].pid, 0);
			named++;
		} else if (d[i].pid != cmd)
			sv_kill_pid(d[i].pid, SIGKILL);
	/* one write, shorter than PIPE_BUF: the run reads it whole */
	if (write(REPORT_FD, r, k * sizeof(r[0])) < 0)
		return; /* the run is gone: nobody to tell */
}

/*
 * In the supervisor, SIGALRM: PUBLISH_STOP_GRACE s after the SIGTERM,
 * then each second, SIGKILL to every descendant left, in the group or
 * out of it, until none is left (sv_reap() ends the supervisor then):
 * one forked as its parent was killed is the supervisor's child after
 * that (it is their subreaper), and the next round finds it. After
 * SV_KILL_ROUNDS, or once their time has passed (sv_round_at(): rounds
 * are timed from the SIGTERM, and one whose scan ran late is followed
 * at once by the next, or the report), it tells the run what is left
 * (sv_report_left(), which reads the supervisor's children alone, not
 * all of /proc) and ends as the command did, or as killed if it did not
 * end (pid, *done, *status as for sv_reap()).
 */
static void
sv_kill(pid_t pid, int *done, int *status)
{
	int st;

	sv_reap(pid, done, status); /* an end before the SIGKILL is its own */
	if (sv_kill_rounds == SV_KILL_ROUNDS || sv_report_due()) {
		/* ended since sv_reap() looked: a zombie, not left running */
		if (!*done && waitpid(pid, &st, WNOHANG) == pid) {
			*done = 1;
			*status = st;
		}
		sv_report_left(*done ? 0 : pid);
		sv_end(*done ? *status : W_EXITCODE(0, SIGKILL));
	}
	sv_kill_rounds++;
	/* without /proc, the group alone, and the supervisor with it, as
	 * the supervisor cannot be left out of it: its last record first,
	 * as the run would else take its end for a crash. Something in the
	 * group outlived SIGTERM, so the group did not empty by itself
	 * (sv_reap()): whether a process the command started left it (a
	 * setsid) cannot be told, and the command fails, as one that may
	 * have left something running (before, "stopped": the run said ok,
	 * and such a process ran on) */
	if (sv_signal_descendants(SIGKILL, 0, 0) == -1) {
		(void)sv_tell_noproc();
		kill(0, SIGKILL);
	}
	sv_alarm_at(sv_round_at(sv_kill_rounds));
}

/*
 * The supervisor, forked from the run (pid run) by a thread that blocks
 * the signals that end a run: a process group of its own, the kernel's
 * SIGTERM when the run dies, then the command started, and the signals
 * taken in turn until it and what it left have ended (sv_reap()), or the
 * SIGKILL rounds have run out (sv_kill()); then the supervisor ends as
 * the command did. c: the command; outfd, repfd:
 * the write ends of the output and report pipes; mask: the run's signal
 * mask.
 */
static void __attribute__((noreturn))
supervise(const struct cmd_line *c, int outfd, int repfd, const sigset_t *mask,
          pid_t run)
{
	struct cmd_report r = {REPORT_START, 0};
	int ignored[NSTOP_SIGNALS], status = 0, done = 0, sig;
	struct sv_proc me;
	siginfo_t info;
	sigset_t set;
	pid_t pid;

	setpgid(0, 0);
	sv_noproc = !sv_proc_ours(getpid());
	sv_tty_watch = !sv_noproc && sv_stat(getpid(), &me) == 0 && me.tty;
	/* its own name, so that a run refused by the lock it keeps tells
	 * it from a run (flock_holders()); the command's exec replaces it */
	prctl(PR_SET_NAME, SUPERVISOR_COMM);
	sv_signals(ignored, &set);
	/* without either, the guarantees are gone (a seccomp filter, a
	 * kernel before 3.4): no command, rather than one that may outlive
	 * its run or leave processes nothing stops */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		r.value = errno;
		r.kind = REPORT_SUBREAPER;
	} else if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1) {
		r.value = errno;
		r.kind = REPORT_PDEATHSIG;
	} else if ((r.value = sv_descriptors(outfd, repfd)) == 0 &&
	           chdir("/") == -1)
		r.value = errno; /* the command runs in /, not where the run
		                    happens to be (a git work tree, a user's
		                    home): its paths are absolute */
	if (r.value != 0) {
		if (write(repfd, &r, sizeof(r)) < 0)
			_exit(126);
		_exit(127);
	}
	if (getppid() != run) /* it died before PR_SET_PDEATHSIG */
		sv_stop();
	pid = sv_start(c, ignored, mask);
	/* the output pipe is the command's alone: the run sees it end */
	close(0);
	close(1);
	close(2);
	if (pid == -1) {
		(void)sv_tell(REPORT_STOPPED, 0); /* nothing started */
		sv_end(sv_stopping ? W_EXITCODE(0, SIGTERM)
		                   : W_EXITCODE(127, 0));
	}
	sv_next_look = sv_now() + SV_TTY_LOOK_S * 1000000000LL;
	for (;;) {
		sig = sv_next_signal(&set, done, &info);
		if (sig == SIGCHLD)
			sv_reap(pid, &done, &status);
		else if (sig == SIGALRM) {
			if (sv_alarm_ours(&info))
				sv_kill(pid, &done, &status);
		} else if (sig == SIGTTIN || sig == SIGTTOU)
			sv_tty(sig);
		else if (sig > 0)
			sv_stop();
		if (sv_look_due(done))
			sv_tty_look(pid);
	}
}

/*
 * The process groups of the publish-commands running now (0: a free
 * slot), one per job at most, so that publish_stop_commands() can stop
 * them when the run is killed: else a git push would go on after the run,
 * beside the next run's.
 */
#define RUNNING_MAX 256
static pid_t running[RUNNING_MAX];
/* Set once a signal ends the run: no command starts after it. */
static int stopping;
/* Threads between the fork of a command and its entry in running[]. */
static int spawning;

/* Note the running command pid; returns its slot, or -1 if none is free
 * (more commands at once than jobs can run). */
static int
running_add(pid_t pid)
{
	for (int i = 0; i < RUNNING_MAX; i++) {
		pid_t free_slot = 0;

		if (__atomic_compare_exchange_n(&running[i], &free_slot, pid, 0,
		                                __ATOMIC_SEQ_CST,
		                                __ATOMIC_SEQ_CST))
			return i;
	}
	return -1;
}

static void
running_remove(int slot)
{
	if (slot >= 0)
		__atomic_store_n(&running[slot], 0, __ATOMIC_SEQ_CST);
}

void
publish_stop_commands(void)
{
	struct timespec ms = {0, 1000000};

	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	/* wait for the commands being started to enter running[]; not for
	 * ever: a fork may wait for a lock (malloc's) that the interrupted
	 * thread holds */
	for (int i = 0;
	     i < 1000 && __atomic_load_n(&spawning, __ATOMIC_SEQ_CST) > 0; i++)
		nanosleep(&ms, NULL);
	/* to each supervisor alone, which stops its group (sv_stop()):
	 * sent to the group as well, the command got SIGTERM twice, once
	 * from here and once from its supervisor, which this one reached */
	for (int i = 0; i < RUNNING_MAX; i++) {
		pid_t pid = __atomic_load_n(&running[i], __ATOMIC_SEQ_CST);

		if (pid > 0)
			kill(pid, SIGTERM);
	}
}

/* A run ended by a signal stops the publish-commands it started, then
 * ends as the signal ends it. */
static void
on_stop_signal(int sig)
{
	publish_stop_commands();
	signal(sig, SIG_DFL);
	raise(sig); /* blocked in here: delivered on return */
}

void
publish_catch_signals(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* a signal ignored from the start (nohup, a background job) stays
	 * ignored */
	for (size_t i = 0; i < NSTOP_SIGNALS; i++)
		if (sigaction(stop_signals[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaction(stop_signals[i], &sa, NULL);
}

/* Read what the pipe holds into out (bytes past out->max are dropped).
 * Returns 1 at end of file, else 0. */
static int
drain_pipe(int fd, struct buf *out)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return 1;
		if (n == -1)
			return errno == EINTR ? 0 : errno != EAGAIN;
		if (out->len < out->max)
			buf_append(out, chunk,
			           (size_t)n < out->max - out->len
			               ? (size_t)n
			               : out->max - out->len);
	}
}

/* Whether the child pid has exited, without reaping it (its pid, which
 * names its process group in running[], stays its own until then). */
static int
child_exited(pid_t pid)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) ==
	           0 &&
	       info.si_pid == pid;
}

/* A process a command's supervisor left running, as it said
 * (REPORT_LEFT, REPORT_LEFT_FLAGS, REPORT_LEFT_NAME). */
struct cmd_left {
	pid_t pid;
	int flags;                  /* LEFT_* */
	char name[SV_NAME_MAX + 1]; /* its comm, as read (may be empty) */
	size_t name_len;            /* bytes of it received */
};

/* What the report pipe of a command said, and how its wait ended. */
struct cmd_outcome {
	int exec_errno;       /* its exec failed */
	int replaced;         /* not executed: its path names another file */
	int start_errno;      /* its supervisor could not start it */
	const char *prctl_op; /* ... as this prctl() failed */
	int has_status;       /* status is the command's wait status */
	int status;
	int late;     /* it or what it left outlived the time limit */
	int in_time;  /* ... but it had ended by then (has_status) */
	int tty_stop; /* it stopped on this signal (SIGTTIN, SIGTTOU) */
	/* a process it started, in a group of its own, stopped in the
	 * terminal's background (REPORT_TTY_PID): its pid (0: none) and
	 * name */
	struct cmd_left tty_proc;
	/* its supervisor's last record came (REPORT_STOPPED or
	 * REPORT_LEFT_COUNT): else it was killed or crashed first */
	int final;
	int sv_killed; /* the run killed the supervisor (stop_late()) */
	int sv_status; /* the supervisor's own wait status */
	/* its supervisor ended with children left (REPORT_LEFT_COUNT):
	 * how many but the command (-1: not known), the first of them, and
	 * the command itself if it is left (pid 0: it is not) */
	int left;
	int left_n;
	int left_flags; /* LEFT_NOPROC or LEFT_EPERM, with left_n -1 */
	struct cmd_left left_proc[SV_LEFT_MAX];
	size_t left_pids;
	struct cmd_left cmd_left;
	struct cmd_left *filling; /* the entry names go to */
	pid_t next_pid;           /* a REPORT_LEFT before its flags */
};

/* Note a REPORT_LEFT_FLAGS record (flags) of o->next_pid in o: the
 * command, or one more process left (SV_LEFT_MAX kept). */
static void
note_left(struct cmd_outcome *o, int flags)
{
	struct cmd_left *l = NULL;

	if (o->next_pid == 0) /* flags of none: LEFT_NOPROC, LEFT_EPERM */
		o->left_flags |= flags;
	else if (flags & LEFT_COMMAND) {
		l = &o->cmd_left;
		if (o->left_n > 0)
			o->left_n--; /* counted among its children */
	} else if (o->left_pids < SV_LEFT_MAX)
		l = &o->left_proc[o->left_pids++];
	if (l != NULL) {
		memset(l, 0, sizeof(*l));
		l->pid = o->next_pid;
		l->flags = flags;
	}
	o->filling = l;
	o->next_pid = 0;
}

/* Note a REPORT_TTY_PID record (pid) in o: the names that follow are
 * that process's. */
static void
note_tty_pid(struct cmd_outcome *o, pid_t pid)
{
	memset(&o->tty_proc, 0, sizeof(o->tty_proc));
	o->tty_proc.pid = pid;
	o->filling = &o->tty_proc;
}

/* Note one report r in o. */
static void
note_report(struct cmd_outcome *o, const struct cmd_report *r)
{
	struct cmd_left *l = o->filling;

	if (r->kind == REPORT_EXEC)
		o->exec_errno = r->value;
	else if (r->kind == REPORT_REPLACED)
		o->replaced = 1;
	else if (r->kind == REPORT_START)
		o->start_errno = r->value;
	else if (r->kind == REPORT_PDEATHSIG || r->kind == REPORT_SUBREAPER) {
		o->start_errno = r->value;
		o->prctl_op = r->kind == REPORT_PDEATHSIG
		                  ? "PR_SET_PDEATHSIG"
		                  : "PR_SET_CHILD_SUBREAPER";
	} else if (r->kind == REPORT_STATUS) {
		o->has_status = 1;
		o->status = r->value;
	} else if (r->kind == REPORT_TTY_STOP)
		o->tty_stop = r->value;
	else if (r->kind == REPORT_TTY_PID)
		note_tty_pid(o, r->value);
	else if (r->kind == REPORT_STOPPED)
		o->final = 1;
	else if (r->kind == REPORT_LEFT_COUNT) {
		o->final = o->left = 1;
		o->left_n = r->value;
	} else if (r->kind == REPORT_LEFT)
		o->next_pid = r->value;
	else if (r->kind == REPORT_LEFT_FLAGS)
		note_left(o, r->value);
	else if (r->kind == REPORT_LEFT_NAME && l != NULL &&
	         l->name_len + 4 <= SV_NAME_MAX) {
		memcpy(l->name + l->name_len, &r->value, 4);
		l->name_len += 4;
	}
}

/* Add what the report pipe fd (non-blocking) holds to o. */
static void
read_reports(int fd, struct cmd_outcome *o)
{
	struct cmd_report r[4];
	ssize_t n;

	while ((n = read(fd, r, sizeof(r))) > 0 || (n == -1 && errno == EINTR))
		for (size_t i = 0; n > 0 && i < (size_t)n / sizeof(r[0]); i++)
			note_report(o, &r[i]);
}

/* A command as its run waits for it. */
struct cmd_wait {
	pid_t pid;       /* its supervisor, whose pid names the group */
	int slot;        /* the supervisor's in running[] */
	int outfd;       /* the command's output */
	int repfd;       /* the reports */
	double deadline; /* on the monotonic clock */
};

/*
 * At the deadline of w: the command is stopped as when the run ends by a
 * signal, by its supervisor (sv_stop(): SIGTERM to the group and what
 * left it, SIGKILL rounds from PUBLISH_STOP_GRACE s later), so that a
 * git command can remove its index.lock; the supervisor and its group
 * are killed from here only if the supervisor is still there 2 s after
 * its last round (it is stuck: its rounds are timed from its SIGTERM,
 * and a scan of /proc that runs into its report's time is cut short
 * there, sv_kill(), so that a slow /proc cannot spend these 2 s). Returns
 * 1 once it is killed, else 0 (the deadline moved on); o notes the
 * stop, and whether the command had ended.
 */
static int
stop_late(struct cmd_wait *w, struct cmd_outcome *o)
{
	if (o->late) {
		kill(-w->pid, SIGKILL);
		kill(w->pid, SIGKILL);
		o->sv_killed = 1;
		return 1;
	}
	read_reports(w->repfd, o);
	o->late = 1;
	o->in_time = o->has_status;
	kill(w->pid, SIGTERM);
	w->deadline += PUBLISH_STOP_GRACE + SV_KILL_ROUNDS + 2;
	return 0;
}

/*
 * Collect the output of w until its supervisor exits and the pipe is
 * closed; past the deadline, stop it (stop_late()). The supervisor leaves
 * running[] before it is reaped. One that ended without its last record
 * (o->final: killed by the OOM killer or a kill -9, or crashed) may have
 * left the command's group running, and so may one that reported
 * processes left (o->left): its scans of /proc, cut short once its
 * report was due, may have found part of the group only, on a host of
 * thousands of processes. The group gets SIGKILL then, before the
 * supervisor is reaped, as its zombie keeps the group's id from going to
 * another. Returns its wait status.
 */
static int
wait_child(struct cmd_wait *w, struct buf *out, struct cmd_outcome *o)
{
	struct pollfd pfd = {.fd = w->outfd, .events = POLLIN};
	int status = 0, eof = 0;

	for (;;) {
		if (child_exited(w->pid))
			break;
		if (!eof)
			eof = drain_pipe(w->outfd, out);
		if (util_mono() >= w->deadline && stop_late(w, o))
			break;
		poll(&pfd, eof ? 0 : 1, 100);
	}
	running_remove(w->slot);
	read_reports(w->repfd, o);
	if (!o->final || o->left)
		kill(-w->pid, SIGKILL);
	waitpid(w->pid, &status, 0);
	if (!eof) /* at eof, or a background process holds the pipe */
		drain_pipe(w->outfd, out);
	return status;
}

/* Append up to PUBLISH_OUTPUT_LINES lines of output to msg, separated
 * by " / ". */
static void
summarize_output(const struct buf *out, struct buf *msg)
{
	const char *p = out->data ? out->data : "", *nl;
	int lines = 0;

	while (*p != '\0' && lines < PUBLISH_OUTPUT_LINES) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p) {
			buf_puts(msg, lines ? " / " : ": ");
			buf_append(msg, p, (size_t)(nl - p));
			lines++;
		}
		p = *nl ? nl + 1 : nl;
	}
	if (*p != '\0')
		buf_puts(msg, " / ...");
}

/* Append how a process ended (st, its wait status) to msg. */
static void
status_words(struct buf *msg, int st)
{
	if (WIFSIGNALED(st))
		buf_printf(msg, "killed by signal %d (%s)", WTERMSIG(st),
		           strsignal(WTERMSIG(st)));
	else
		buf_printf(msg, "exit status %d", WEXITSTATUS(st));
}

/* Append to msg l's pid and name ("pid N \"name\""), its bytes that are
 * not printable ASCII, a quote or a backslash shown as '?': the name is
 * the process's own choice. */
static void
left_name_words(struct buf *msg, const struct cmd_left *l)
{
	buf_printf(msg, "pid %ld", (long)l->pid);
	if (l->name[0] == '\0')
		return;
	buf_puts(msg, " \"");
	for (size_t i = 0; i < SV_NAME_MAX && l->name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)l->name[i];

		buf_append(msg,
		           c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
		               ? l->name + i
		               : "?",
		           1);
	}
	buf_puts(msg, "\"");
}

/* The cause a process left (flags, its LEFT_*) could not be stopped, as
 * LEFT_* bits: LEFT_EPERM (a signal refused; /proc hides another
 * user's process anyway), else none (an uninterruptible wait), with
 * LEFT_HIDDEN kept as a note. Each is the supervisor's child, sent
 * SIGKILL by its pid, which needs no /proc: hidepid only hid what it
 * started, never the cause it is left (before, "/proc hides it" was
 * given as that cause). */
static int
left_cause(int flags)
{
	return flags & LEFT_EPERM ? LEFT_EPERM : flags & LEFT_HIDDEN;
}

/* Append to msg, in parentheses, why processes left could not be
 * stopped: flags, the left_cause() of each, or'd; plain: one of them
 * had no LEFT_EPERM, or which they are is not known; then whether /proc
 * hid one (LEFT_HIDDEN), which hid what it started. */
static void
left_causes(struct buf *msg, int flags, int plain)
{
	const char *sep = " (";

	if (flags & LEFT_EPERM) {
		buf_printf(msg,
		           "%sa signal to it was refused (EPERM): another "
		           "user's process, a set-user-ID program or sudo that "
		           "the command ran, which a run as uid %ld may not "
		           "signal, or a seccomp filter",
		           sep, (long)getuid());
		sep = "; ";
	}
	if (plain) {
		buf_printf(msg,
		           "%sa process in an uninterruptible wait outlasts "
		           "SIGKILL",
		           sep);
		sep = "; ";
	}
	if (flags & LEFT_HIDDEN)
		buf_printf(
		    msg,
		    "%s/proc hid it (hidepid=, ProtectProc=invisible in "
		    "a systemd unit: a process that is not dumpable, "
		    "ssh-agent for one, is hidden from a run that is not "
		    "root), and with it the processes it started, until it "
		    "ended",
		    sep);
	buf_puts(msg, ")");
}

/* Append to msg that the command itself (o->cmd_left) outlived its
 * SIGTERM and the SIGKILL rounds, and why that can be. */
static void
unended_words(struct buf *msg, const struct cmd_outcome *o)
{
	buf_printf(msg,
	           "did not end within %d s of SIGTERM, nor within %d s of "
	           "SIGKILL: left running (",
	           PUBLISH_STOP_GRACE, SV_KILL_ROUNDS);
	left_name_words(msg, &o->cmd_left);
	buf_puts(msg, ")");
	left_causes(msg, left_cause(o->cmd_left.flags),
	            !(o->cmd_left.flags & LEFT_EPERM));
}

/* Append to msg how a command that outlived its time limit (timeout
 * seconds), or left something running that did, ended (o), and
 * what to change: the command, or the configuration's timeout, which is
 * the limit when longer than the default (sync.c). */
static void
late_words(struct buf *msg, const struct cmd_outcome *o, unsigned timeout)
{
	if (o->in_time) {
		status_words(msg, o->status);
		buf_printf(msg,
		           "; what it left running took longer than %u s: "
		           "stopped; have the command wait for what it starts "
		           "(setsid does not detach it: systemd-run without "
		           "--scope or at starts what should outlive it)",
		           timeout);
		return;
	}
	if (o->has_status) {
		buf_printf(msg, "took longer than %u s: stopped with SIGTERM (",
		           timeout);
		status_words(msg, o->status);
		buf_puts(msg, ")");
	} else if (o->cmd_left.pid > 0) {
		buf_printf(msg, "took longer than %u s, and ", timeout);
		unended_words(msg, o);
	} else
		buf_printf(msg,
		           "took longer than %u s, and did not end within %d s "
		           "of SIGTERM: killed",
		           timeout, PUBLISH_STOP_GRACE);
	if (timeout < CONF_TIMEOUT_MAX)
		buf_printf(msg,
		           "; to give it longer, raise timeout (the limit is "
		           "timeout when above %u s, up to %u)",
		           PUBLISH_DEFAULT_TIMEOUT, CONF_TIMEOUT_MAX);
	else
		buf_printf(msg,
		           "; %u s is the longest timeout gives: make the "
		           "command quicker",
		           CONF_TIMEOUT_MAX);
}

/* Append to msg that the command stopped as it used the terminal (o),
 * how it ended then, and what to change: it cannot ask anything. A
 * process out of its group stopped in the terminal's background
 * (o->tty_proc) is said by its pid and name: which signal stopped it is
 * not known (sv_tty_look()). */
static void
tty_words(struct buf *msg, const struct cmd_outcome *o)
{
	if (o->tty_stop == 0 && o->tty_proc.pid > 0) {
		buf_puts(msg, "stopped, as a process it started (");
		left_name_words(msg, &o->tty_proc);
		buf_puts(msg,
		         ") stopped (state T) in a process group of its "
		         "own in the terminal's background, as one that "
		         "reads the terminal or writes to it there does "
		         "(SIGTTIN, SIGTTOU), which a publish-command may "
		         "not do (a password or passphrase prompt?), then ");
	} else
		buf_printf(msg,
		           "stopped (%s) as it, or a process it started, %s "
		           "the terminal, which a publish-command may not use "
		           "(a password or passphrase prompt?), then ",
		           o->tty_stop == SIGTTIN ? "SIGTTIN" : "SIGTTOU",
		           o->tty_stop == SIGTTIN ? "read" : "wrote to or set");
	if (o->has_status) {
		buf_puts(msg, "stopped with SIGTERM (");
		status_words(msg, o->status);
		buf_puts(msg, ")");
	} else if (o->cmd_left.pid > 0)
		unended_words(msg, o);
	else
		buf_printf(msg, "killed, not ended within %d s of SIGTERM",
		           PUBLISH_STOP_GRACE);
	buf_puts(msg, "; the command must not ask: give ssh a key without a "
	              "passphrase, or an agent, and git a credential helper");
}

/* Append to msg what the supervisor of a command left running as it
 * ended (o), why that can be, and what to do. */
static void
left_words(struct buf *msg, const struct cmd_outcome *o)
{
	int flags = o->left_flags & LEFT_EPERM, plain = o->left_pids == 0;
	int named = 0;

	if (o->left_flags & LEFT_NOPROC) {
		buf_puts(msg,
		         "; processes it started may have left its process "
		         "group, which cannot be told without /proc (it is "
		         "missing, or is "
		         "another PID namespace's: mount the namespace's "
		         "own /proc): they may still run; find them (ps -eo "
		         "pid,sid,args) and kill them, and have the command "
		         "wait for what it starts");
		return;
	}
	if (o->left_n > 0)
		buf_printf(msg, "; %d process%s it started", o->left_n,
		           o->left_n == 1 ? "" : "es");
	else
		buf_puts(msg, "; processes it started");
	for (size_t i = 0; i < o->left_pids; i++) {
		buf_puts(msg, i == 0 ? " (" : ", ");
		left_name_words(msg, &o->left_proc[i]);
		flags |= left_cause(o->left_proc[i].flags);
		plain |= !(o->left_proc[i].flags & LEFT_EPERM);
		named |= o->left_proc[i].name[0] != '\0';
	}
	if (o->left_pids > 0)
		buf_puts(msg, (int)o->left_pids < o->left_n ? ", ...)" : ")");
	buf_printf(msg,
	           ", and what they started, could not be stopped within %d "
	           "s of SIGKILL: left running",
	           SV_KILL_ROUNDS);
	left_causes(msg, flags, plain);
	buf_printf(msg,
	           "; kill what is left%s, and have the command wait "
	           "for what it starts",
	           named ? " (if still running under that name)" : "");
}

/* Append to msg that the supervisor of a command (o, its process group
 * pgid) ended before it could stop what the command left: how it ended,
 * what the run did, and what to do. */
static void
lost_words(struct buf *msg, const struct cmd_outcome *o, pid_t pgid)
{
	if (o->sv_killed)
		buf_puts(msg, "; its supervisor did not end in time: ");
	else {
		buf_puts(msg, o->has_status ? "; its supervisor ended ("
		                            : "its supervisor ended (");
		status_words(msg, o->sv_status);
		buf_puts(msg, o->has_status
		                  ? ") before it had stopped what the "
		                    "command left running: "
		                  : ") while the command ran: ");
	}
	buf_printf(msg,
	           "the run killed %sthe command's process group (%ld); "
	           "processes that left it may still run: find them (ps -eo "
	           "pid,pgid,sid,args) and kill them",
	           o->sv_killed ? "it and " : "", (long)pgid);
}

/* Put the outcome of a failed run into d: status is the wait status (the
 * command's own when it sent it), o what else is known of it, pgid its
 * process group. */
static void
report_failure(const char *cmd, int status, const struct cmd_outcome *o,
               unsigned timeout, pid_t pgid, const struct buf *out,
               struct diag *d)
{
	struct buf msg;
	int lost = !o->final;

	buf_init(&msg, 4096); /* diag_error() cuts it to DIAG_MSG_MAX */
	if (o->replaced)
		buf_printf(&msg,
		           "publish-command %s: not run: the program was "
		           "replaced or removed between its check and its "
		           "start; if nothing else than an upgrade of it "
		           "explains that, find what changes it",
		           cmd);
	else if (o->exec_errno != 0)
		buf_printf(&msg, "publish-command %s: cannot execute: %s", cmd,
		           strerror(o->exec_errno));
	else if (o->prctl_op != NULL)
		buf_printf(&msg,
		           "publish-command %s: not started: prctl(%s): %s; "
		           "without it the command could outlive the run or "
		           "leave processes nothing stops (Linux 3.4 or later "
		           "is needed, and a seccomp filter must allow prctl)",
		           cmd, o->prctl_op, strerror(o->start_errno));
	else if (o->start_errno != 0)
		buf_printf(&msg, "publish-command %s: cannot start it: %s", cmd,
		           strerror(o->start_errno));
	else {
		buf_printf(&msg, "publish-command %s: ", cmd);
		if (o->tty_stop || o->tty_proc.pid > 0)
			tty_words(&msg, o);
		else if (o->late)
			late_words(&msg, o, timeout);
		else if (o->has_status || !lost)
			status_words(&msg, status);
		if (lost)
			lost_words(&msg, o, pgid);
		else if (o->left && (o->left_n != 0 || o->left_pids > 0))
			left_words(&msg, o);
	}
	summarize_output(out, &msg);
	diag_error(d, "%s", msg.data ? msg.data : "publish-command failed");
	buf_free(&msg);
}

/* Close the descriptors of a pair that are open. */
static void
close_pair(int fds[2])
{
	int i;

	for (i = 0; i < 2; i++)
		if (fds[i] != -1)
			close(fds[i]);
	fds[0] = fds[1] = -1;
}

/*
 * Start c under its supervisor (supervise()). On success returns the
 * supervisor's pid, which is also the process group of both, with
 * *outfd the read end of the command's output and *repfd that of the
 * report pipe; -1 with the reason in d otherwise.
 */
static pid_t
spawn(const struct cmd_line *c, int *outfd, int *repfd, const sigset_t *mask,
      struct diag *d)
{
	int out[2] = {-1, -1}, rep[2] = {-1, -1};
	pid_t pid = -1, run = getpid();

	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(rep, O_CLOEXEC) == -1)
		diag_error(d, "publish-command: pipe: %s", strerror(errno));
	else if ((pid = fork()) == -1)
		diag_error(d, "publish-command: fork: %s", strerror(errno));
	else if (pid == 0)
		supervise(c, out[1], rep[1], mask, run);
	if (pid == -1) {
		close_pair(out);
		close_pair(rep);
		return -1;
	}
	/* also here: a timeout or a stop may come before the child's */
	setpgid(pid, pid);
	close(out[1]);
	close(rep[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(rep[0], F_SETFL, O_NONBLOCK);
	*outfd = out[0];
	*repfd = rep[0];
	return pid;
}

/*
 * spawn(), with the command in running[] (its slot in *slot) before a
 * signal that ends the run can look: those signals are blocked in this
 * thread meanwhile, and publish_stop_commands() waits while spawning is
 * not 0. After such a signal, no command starts.
 */
static pid_t
spawn_tracked(const struct cmd_line *c, int *outfd, int *repfd, int *slot,
              struct diag *d)
{
	sigset_t block, old;
	pid_t pid = -1;

	sigemptyset(&block);
	for (size_t i = 0; i < NSTOP_SIGNALS; i++)
		sigaddset(&block, stop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	__atomic_add_fetch(&spawning, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
		diag_error(d,
		           "publish-command %s: not started: the run is "
		           "ending",
		           path_shown(c->argv[0], '\0', NULL, 0));
	else if ((pid = spawn(c, outfd, repfd, &old, d)) != -1)
		*slot = running_add(pid);
	__atomic_sub_fetch(&spawning, 1, __ATOMIC_SEQ_CST);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/* Is path a regular file we may execute? */
static int
is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/* Said after "take it out of PATH": how root gets a PATH of its own,
 * without the entry a user's environment brought. */
#define PATH_OWN "(a login shell, su - or sudo -i, sets root's own PATH)"

/*
 * Say in d why the PATH entry dir (how: where it is in PATH) is refused:
 * conf_trust_dir_check()'s why (refused). Its advice, to change the
 * directory, stands for an entry of root's or of the running user's
 * (chmod o-w, a setfacl), taken out of PATH as the other choice. For one
 * of another user (seen: dir exists, and was judged itself), taking it
 * out comes first: the command is not to run that user's programs by
 * name, and a chown root is right only for a directory that was to be
 * root's (a tarball unpacked with its owner kept), once what it holds is
 * checked; and for a sticky one that anyone may write (/tmp, made so),
 * only taking it out. Returns -1.
 */
static int
path_entry_refused(const char *prog, const char *dir, const char *how,
                   char *why, const struct conf_dir_refusal *refused,
                   const struct stat *seen, struct diag *d)
{
	char sh[DIAG_MSG_MAX];
	const char *ps = path_shown(prog, '\0', NULL, 0);
	const char *ds = path_shown(dir, '\0', NULL, 0);

	if (seen != NULL && refused->rule == CONF_DIR_OWNER) {
		why[refused->reason] = '\0';
		diag_error(
		    d,
		    "publish-command %s: PATH entry %s, %s: %s; take it "
		    "out of PATH, as the command is not to run another "
		    "user's programs by name " PATH_OWN "; only if it is to "
		    "be root's (a tarball unpacked with its owner kept), "
		    "check what it holds, then chown -R root %s",
		    ps, ds, how, why, path_shell(dir, sh, sizeof(sh)));
		return -1;
	}
	if (seen != NULL && refused->rule == CONF_DIR_OTHERS &&
	    (seen->st_mode & S_ISVTX) != 0) {
		why[refused->reason] = '\0';
		diag_error(d,
		           "publish-command %s: PATH entry %s, %s: %s; take it "
		           "out of PATH: a sticky directory, as /tmp, is for "
		           "anyone's files, not for programs",
		           ps, ds, how, why);
		return -1;
	}
	diag_error(d,
	           "publish-command %s: PATH entry %s, %s: %s, or take it "
	           "out of PATH",
	           ps, ds, how, why);
	return -1;
}

/*
 * The PATH entry dir (len bytes at p) must be as safe as the program:
 * whoever may add a file there could put one of a name looked up there
 * first (conf_trust_dir_check()): the program's own (before, set when
 * the entry is met before the program is found), or one the command
 * runs by name (a deploy script's aws or rclone). One that does not
 * exist is judged where it would be made, but the advice is to take it
 * out of PATH, not conf_trust_dir_check()'s to change that directory (a
 * user's home, /tmp): its reason alone is said; so for one of another
 * user, or sticky (path_entry_refused()). One that cannot be looked at
 * for another cause than its absence or a permission (EIO, ETIMEDOUT,
 * ESTALE: a network file system out of reach) is refused, naming the
 * cause: the command gets this PATH, and what the entry holds once
 * reachable again, mid-run, was never checked. Returns 0, or -1 with
 * the reason in d.
 */
static int
path_entry_trusted(const char *prog, const char *p, size_t len, int before,
                   struct diag *d)
{
	char dir[PATH_MAX], why[DIAG_MSG_MAX];
	struct conf_dir_refusal refused;
	const char *how = before ? "looked in before the program is found"
	                         : "which the command gets for the programs "
	                           "it runs by name";
	struct stat st;
	int gone = 0, seen = 1;

	if (len >= sizeof(dir))
		return 0; /* no such directory: nothing is found there */
	memcpy(dir, p, len);
	dir[len] = '\0';
	if (stat(dir, &st) == -1) {
		seen = 0; /* judged by a directory it lies under */
		gone = errno == ENOENT || errno == ENOTDIR;
		if (!gone && errno != EACCES) {
			diag_error(
			    d,
			    "publish-command %s: PATH entry %s, %s: cannot "
			    "be checked: %s (a network file system out of "
			    "reach?): what it holds once back was never "
			    "checked; take it out of PATH, or run once it "
			    "can be reached",
			    path_shown(prog, '\0', NULL, 0),
			    path_shown(dir, '\0', NULL, 0), how,
			    strerror(errno));
			return -1;
		}
	}
	if (conf_trust_dir_check(dir, CONF_TRUST_PROGRAM, why, sizeof(why),
	                         &refused) == 0)
		return 0;
	if (gone) {
		why[refused.reason] = '\0';
		diag_error(d,
		           "publish-command %s: PATH entry %s, %s, does not "
		           "exist, and %s: take it out of PATH " PATH_OWN,
		           path_shown(prog, '\0', NULL, 0),
		           path_shown(dir, '\0', NULL, 0), how, why);
		return -1;
	}
	return path_entry_refused(prog, dir, how, why, &refused,
	                          seen ? &st : NULL, d);
}

/*
 * The PATH entry at p (up to end) is absolute and trusted
 * (path_entry_trusted()): an empty or relative one names a directory
 * from wherever the command happens to be (it starts in /, a script may
 * cd), which nobody checks. before as for path_entry_trusted(); path is
 * the whole PATH, for the message. Returns 0, or -1 with the reason in d.
 */
static int
path_entry_checked(const char *prog, const char *path, const char *p,
                   const char *end, int before, struct diag *d)
{
	if (p[0] == '/')
		return path_entry_trusted(prog, p, (size_t)(end - p), before,
		                          d);
	diag_error(d,
	           "publish-command %s: PATH (%s) holds %s%.*s%s, %s: the "
	           "command runs in /, and such a directory is not checked; "
	           "take it out of PATH%s",
	           path_shown(prog, '\0', NULL, 0), path,
	           end > p ? "the relative entry '"
	                   : "an empty entry (the working directory)",
	           (int)(end - p), p, end > p ? "'" : "",
	           before ? "where the program would be looked up"
	                  : "which the command gets for the programs it runs "
	                    "by name",
	           before ? ", or give the program's absolute path" : "");
	return -1;
}

/*
 * Look the bare name prog up in PATH as execvp() does, the first
 * executable file found into found (unless found is NULL: prog is named
 * by a path), and check every entry of PATH, the command's as well as
 * the run's (path_entry_checked()): one met before the program could
 * change it, and any other what the command runs by name. The entry
 * that holds the program is checked with it (program_trusted()).
 * Refusing, rather than giving the command a PATH of the entries that
 * pass, keeps its environment the one the operator set, and says what
 * to fix: a tool found in a dropped entry would fail, or another of its
 * name run, far from the cause. Returns 0, or -1 with the reason in d.
 */
static int
program_in_path(const char *prog, struct buf *found, struct diag *d)
{
	const char *path = getenv("PATH"), *p, *end;
	int in = found == NULL; /* the program is found */

	if (path == NULL)
		path = PATH_DEFAULT; /* execvp's, and the command's then */
	for (p = path;; p = end + 1) {
		int here = 0; /* the program is found in this entry */

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if (!in && p[0] == '/') {
			buf_reset(found);
			here = in = buf_printf(found, "%.*s/%s", (int)(end - p),
			                       p, prog) == 0 &&
			            is_executable(found->data);
		}
		if (!here &&
		    path_entry_checked(prog, path, p, end, !in, d) == -1)
			return -1;
		if (*end == '\0')
			break;
	}
	if (in)
		return 0;
	diag_error(d, "publish-command %s: not found in PATH (%s)",
	           path_shown(prog, '\0', NULL, 0), path);
	return -1;
}

/*
 * The program found (prog as written, found where it is) must be as safe
 * as the configuration that names it: it runs as the user running
 * mta-sts-sync, so neither it nor a directory on the way to it may be
 * changed by another user (conf_trust_check()). A file that cannot be
 * looked at any more is refused too: it was there a moment ago, and
 * whoever may take it away for a moment could make a check that skips
 * it pass. Returns 0 with its status in st, or -1 with the reason and
 * what to run in d.
 */
static int
program_trusted(const char *prog, const char *found, struct stat *st,
                struct diag *d)
{
	char why[DIAG_MSG_MAX];

	if (stat(found, st) == -1)
		snprintf(why, sizeof(why),
		         "%s: cannot be checked: %s (removed or replaced "
		         "since it was found): not run",
		         path_shown(found, '\0', NULL, 0), strerror(errno));
	else if (!S_ISREG(st->st_mode))
		snprintf(why, sizeof(why),
		         "%s: not a regular file (replaced since it was "
		         "found): not run",
		         path_shown(found, '\0', NULL, 0));
	else if (conf_trust_check(found, -1, st, CONF_TRUST_PROGRAM, why,
	                          sizeof(why)) == 0)
		return 0;
	if (strcmp(prog, found) == 0)
		diag_error(d, "publish-command %s", why);
	else
		diag_error(d, "publish-command %s, found in PATH: %s",
		           path_shown(prog, '\0', NULL, 0), why);
	return -1;
}

/* path, relative to the run's working directory, as an absolute path (a
 * new string): the command runs in /. NULL (the reason in d) if that
 * directory cannot be told. */
static char *
from_run_dir(const char *path, struct diag *d)
{
	char cwd[PATH_MAX];
	struct buf b;

	if (path[0] == '/')
		return xstrdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		diag_error(d,
		           "publish-command: %s is relative, and the working "
		           "directory cannot be told (%s): the command runs in "
		           "/; use absolute paths",
		           path_shown(path, '\0', NULL, 0), strerror(errno));
		return NULL;
	}
	buf_init(&b, ARG_MAX_LEN);
	if (buf_printf(&b, "%s/%s", cwd, path) == -1) {
		buf_free(&b);
		diag_error(d, "publish-command: %s: path too long",
		           path_shown(path, '\0', NULL, 0));
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * Find the program prog (a publish-command's, any '%' expanded) as it is
 * to run, and check it: a bare name in PATH, a path from the run's
 * working directory; every PATH entry, which the command gets too
 * (program_in_path()); then program_trusted(). Returns its
 * absolute path (a new string), with the status of the file checked in
 * st, or NULL with the reason in d.
 */
static char *
program_find(const char *prog, struct stat *st, struct diag *d)
{
	struct buf found;
	char *at;

	if (strchr(prog, '/') == NULL) {
		buf_init(&found, ARG_MAX_LEN);
		if (program_in_path(prog, &found, d) == -1) {
			buf_free(&found);
			return NULL;
		}
		at = buf_steal(&found);
	} else if ((at = from_run_dir(prog, d)) == NULL) {
		return NULL;
	} else if (!is_executable(at)) {
		diag_error(d, "publish-command %s: cannot execute it: %s",
		           path_shown(prog, '\0', NULL, 0),
		           access(at, F_OK) == 0 ? "not an executable file"
		                                 : strerror(errno));
		free(at);
		return NULL;
	}
	if (program_trusted(prog, at, st, d) == -1 ||
	    (strchr(prog, '/') != NULL &&
	     program_in_path(prog, NULL, d) == -1)) {
		free(at);
		return NULL;
	}
	return at;
}

int
publish_command_check(const char *prog, struct diag *d)
{
	struct stat st;
	char *at;

	if (strchr(prog, '%') != NULL) /* found when it is about to run */
		return program_in_path(prog, NULL, d);
	at = program_find(prog, &st, d);
	free(at);
	return at != NULL ? 0 : -1;
}

/* The command's environment when the run has no PATH: the run's, with
 * PATH_DEFAULT (a new array of environ's strings); else NULL, the run's
 * as it is. Without it, each shell looks names up in its own default,
 * which the check never saw: dash's has /usr/local/sbin, bash's ends
 * with '.', the directory a script happens to be in. */
static char **
command_env(void)
{
	static char path[] = "PATH=" PATH_DEFAULT;
	size_t n = 0;
	char **envp;

	if (getenv("PATH") != NULL)
		return NULL;
	while (environ[n] != NULL)
		n++;
	envp = xcalloc(n + 2, sizeof(*envp));
	memcpy(envp, environ, n * sizeof(*envp));
	envp[n] = path;
	return envp;
}

/* The shell's argv for c (struct cmd_line), from its path and argv. */
static char **
shell_argv(const struct cmd_line *c)
{
	size_t n = 0;
	char **sh;

	while (c->argv[n] != NULL)
		n++;
	sh = xcalloc(n + 2, sizeof(*sh));
	sh[0] = (char *)"/bin/sh";
	sh[1] = c->path;
	for (size_t i = 1; i < n; i++)
		sh[i + 1] = c->argv[i];
	return sh;
}

/*
 * The command for domain and file (build_argv()) into c, to run in /:
 * the file given relative to the run's working directory made absolute;
 * the program found and checked now (program_find()), just before it
 * runs, as publish_command_check() checked it when the run started (a
 * program named with %d or %f is checked only now), and the identity of
 * the file checked, which the command looks at again just before its
 * exec. Returns 0, or -1 with the reason in d.
 */
static int
command_line(const struct strlist *argv, const char *domain, const char *file,
             struct cmd_line *c, struct diag *d)
{
	char *abs_file = NULL;
	struct stat st;

	memset(c, 0, sizeof(*c));
	if (file != NULL && (abs_file = from_run_dir(file, d)) == NULL)
		return -1;
	c->argv = build_argv(argv, domain, abs_file, d);
	free(abs_file);
	if (c->argv == NULL ||
	    (c->path = program_find(c->argv[0], &st, d)) == NULL) {
		cmd_line_free(c);
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (strchr(c->argv[0], '/') != NULL) {
		free(c->argv[0]);
		c->argv[0] = xstrdup(c->path);
	}
	c->sh = shell_argv(c);
	c->envp = command_env();
	return 0;
}

int
publish_run_command(const struct strlist *argv, const char *domain,
                    const char *file, unsigned timeout, struct diag *d)
{
	struct cmd_outcome o;
	struct cmd_wait w;
	struct cmd_line c;
	struct buf output;
	int status, failed;

	if (argv == NULL || argv->n == 0) {
		diag_error(d, "publish-command: empty command");
		return -1;
	}
	if (timeout == 0)
		timeout = PUBLISH_DEFAULT_TIMEOUT;
	if (command_line(argv, domain, file, &c, d) == -1)
		return -1;
	w.slot = -1;
	w.pid = spawn_tracked(&c, &w.outfd, &w.repfd, &w.slot, d);
	if (w.pid == -1) {
		cmd_line_free(&c);
		return -1;
	}
	memset(&o, 0, sizeof(o));
	buf_init(&output, PUBLISH_OUTPUT_MAX);
	w.deadline = util_mono() + timeout;
	status = o.sv_status = wait_child(&w, &output, &o);
	read_reports(w.repfd, &o);
	/* the command's own: its supervisor may end otherwise (killed by
	 * its last SIGKILL round, or from here: stop_late()) */
	if (o.has_status)
		status = o.status;
	/* a supervisor that ended without its last record may have left
	 * what the command started running (wait_child()) */
	failed = o.late || o.left || o.tty_stop || o.tty_proc.pid > 0 ||
	         !o.final || status != 0 || o.exec_errno != 0 ||
	         o.start_errno != 0 || o.replaced;
	if (failed)
		report_failure(path_shown(c.argv[0], '\0', NULL, 0), status, &o,
		               timeout, w.pid, &output, d);
	close(w.outfd);
	close(w.repfd);
	cmd_line_free(&c);
	buf_free(&output);
	return failed ? -1 : 0;
}
