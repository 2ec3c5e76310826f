/*
 * log.c - message output to standard error / standard output or syslog.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "util.h"

static enum log_level level = LOG_LEVEL_NORMAL;
static int to_syslog;

/* Whether a write error on standard output ends the program
 * (log_stdout_fatal()), and the first such error (0: none yet). */
static int stdout_fatal;
static int stdout_fatal_status = EXIT_FAILED;
static int stdout_errno;
#define STDOUT_CAUSE_UNKNOWN (-1) /* stdout_errno: the system's was lost */

/* The deferred warnings (each with its domain, or NULL), and the lock
 * that guards them and their printing. */
static struct {
	pthread_mutex_t lock;
	char *domain[LOG_DEFERRED_MAX];
	char *msg[LOG_DEFERRED_MAX];
	size_t n;
} deferred = {.lock = PTHREAD_MUTEX_INITIALIZER};

void
log_set_level(enum log_level l)
{
	level = l;
}

enum log_level
log_get_level(void)
{
	return level;
}

/* The socket syslog(3) writes to; without it every message would be lost
 * without a word (a container, a chroot), so they go to standard error. */
#define LOG_SYSLOG_SOCKET "/dev/log"

void
log_use_syslog(void)
{
	if (access(LOG_SYSLOG_SOCKET, W_OK) == -1) {
		fprintf(stderr,
		        "mta-sts-sync: warning: --syslog: no syslog socket "
		        "at " LOG_SYSLOG_SOCKET
		        " (%s): messages go to standard "
		        "error\n",
		        strerror(errno));
		return;
	}
	openlog("mta-sts-sync", LOG_PID, LOG_DAEMON);
	to_syslog = 1;
}

/* Print one line. */
static void
log_write(FILE *fp, int prio, const char *tag, const char *domain,
          const char *msg)
{
	if (to_syslog) {
		if (domain != NULL)
			syslog(prio, "%s: %s%s", domain, tag, msg);
		else
			syslog(prio, "%s%s", tag, msg);
		return;
	}
	if (domain != NULL)
		fprintf(fp, "%s: %s%s\n", domain, tag, msg);
	else
		fprintf(fp, "mta-sts-sync: %s%s\n", tag, msg);
	if (fp == stdout)
		log_stdout_flush();
	else
		fflush(fp);
}

/* Print the deferred warnings, once. */
static void
flush_deferred(void)
{
	size_t i, n;

	pthread_mutex_lock(&deferred.lock);
	n = deferred.n;
	deferred.n = 0;
	for (i = 0; i < n; i++) {
		log_write(stderr, LOG_WARNING, "warning: ", deferred.domain[i],
		          deferred.msg[i]);
		free(deferred.domain[i]);
		free(deferred.msg[i]);
	}
	pthread_mutex_unlock(&deferred.lock);
}

/* Control bytes in a message (which may quote what a server or a
 * publish-command sent) become '?', and tabs and line ends spaces, so
 * that it cannot move the terminal's cursor or forge a line. */
static void
log_clean(char *msg)
{
	for (; *msg != '\0'; msg++)
		if (*msg == '\t' || *msg == '\r' || *msg == '\n')
			*msg = ' ';
		else if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			*msg = '?';
}

/* Print msg (cleaned in place) after the deferred warnings. */
static void
log_put(FILE *fp, int prio, const char *tag, const char *domain, char *msg)
{
	log_clean(msg);
	flush_deferred();
	log_write(fp, prio, tag, domain, msg);
}

static void __attribute__((format(printf, 5, 0)))
log_emit(FILE *fp, int prio, const char *tag, const char *domain,
         const char *fmt, va_list ap)
{
	char msg[2048];

	text_vformat(msg, sizeof(msg), fmt, ap);
	log_put(fp, prio, tag, domain, msg);
}

void
log_error(const char *domain, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(stderr, LOG_ERR, "error: ", domain, fmt, ap);
	va_end(ap);
}

void
log_warning(const char *domain, const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_LEVEL_NORMAL)
		return;
	va_start(ap, fmt);
	log_emit(stderr, LOG_WARNING, "warning: ", domain, fmt, ap);
	va_end(ap);
}

void
log_alert(const char *domain, const char *msg)
{
	char m[2048];

	str_copy(m, sizeof(m), msg);
	/* marked as log_emit() marks a message over its bound */
	if (strlen(msg) >= sizeof(m))
		text_mark_cut(m, sizeof(m), 0);
	log_put(stderr, LOG_WARNING, "warning: ", domain, m);
}

void
log_warning_deferred(const char *domain, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level < LOG_LEVEL_NORMAL)
		return;
	va_start(ap, fmt);
	text_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_clean(msg);
	pthread_mutex_lock(&deferred.lock);
	if (deferred.n < LOG_DEFERRED_MAX) {
		deferred.domain[deferred.n] =
		    domain != NULL ? xstrdup(domain) : NULL;
		deferred.msg[deferred.n++] = xstrdup(msg);
	}
	pthread_mutex_unlock(&deferred.lock);
}

void
log_notice(const char *domain, const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_LEVEL_NORMAL)
		return;
	va_start(ap, fmt);
	log_emit(stdout, LOG_NOTICE, "", domain, fmt, ap);
	va_end(ap);
}

void
log_verbose(const char *domain, const char *fmt, ...)
{
	va_list ap;

	if (level < LOG_LEVEL_VERBOSE)
		return;
	va_start(ap, fmt);
	log_emit(stderr, LOG_INFO, "", domain, fmt, ap);
	va_end(ap);
}

void
log_stdout_fatal(void)
{
	stdout_fatal = 1;
}

void
log_stdout_fatal_status(int status)
{
	stdout_fatal_status = status;
}

/* What went wrong with standard output, for a message. */
static const char *
stdout_reason(void)
{
	return stdout_errno == STDOUT_CAUSE_UNKNOWN
	           ? "a write failed (its cause was not kept)"
	           : strerror(stdout_errno);
}

/*
 * End the program for the write error on standard output: a reader that
 * went away (EPIPE) kills it by SIGPIPE, silently, as SIGPIPE kills cat
 * or grep (it is ignored until then only so that a DNS or HTTPS peer that
 * closed its connection cannot kill the program); any other error is
 * said once, with status 1 (or log_stdout_fatal_status()'s). _exit: what the
 * command had in hand is not freed, and nothing is flushed again.
 */
static void __attribute__((noreturn)) stdout_lost_end(void)
{
	sigset_t pipe;

	if (stdout_errno == EPIPE) {
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&pipe);
		sigaddset(&pipe, SIGPIPE);
		pthread_sigmask(SIG_UNBLOCK, &pipe, NULL);
		raise(SIGPIPE);
	}
	fprintf(stderr, "mta-sts-sync: error: standard output: %s\n",
	        stdout_reason());
	_exit(stdout_fatal_status);
}

/*
 * The cause of an error on standard output that stdio did not keep (glibc
 * drops its buffer and the errno of a write that failed inside a printf,
 * and the next fflush() succeeds): EPIPE when the descriptor is a pipe or
 * socket whose reader has gone, which poll() tells by POLLERR or POLLHUP;
 * else STDOUT_CAUSE_UNKNOWN, rather than a guess (EIO was said of a full
 * disk).
 */
static int
stdout_error_cause(void)
{
	struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};

	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0)
		return EPIPE;
	return STDOUT_CAUSE_UNKNOWN;
}

/* A write or flush of standard output failed (err: its errno, or
 * STDOUT_CAUSE_UNKNOWN): keep the first cause, and end the program now
 * under log_stdout_fatal(). Returns -1. */
static int
stdout_failed(int err)
{
	if (stdout_errno == 0)
		stdout_errno = err;
	if (stdout_fatal)
		stdout_lost_end();
	return -1;
}

int
log_stdout_flush(void)
{
	int flushed;

	errno = 0;
	flushed = fflush(stdout);
	if (flushed == 0 && !ferror(stdout))
		return 0;
	return stdout_failed(flushed != 0 && errno != 0 ? errno
	                                                : stdout_error_cause());
}

int
log_stdout_write(const void *data, size_t len)
{
	/* the errno of the write(2) that failed is still there when fwrite
	 * returns short; by the next fflush(), glibc has dropped it */
	errno = 0;
	if (fwrite(data, 1, len, stdout) == len && !ferror(stdout))
		return 0;
	return stdout_failed(errno != 0 ? errno : stdout_error_cause());
}

int
log_stdout_puts(const char *s)
{
	return log_stdout_write(s, strlen(s));
}

int
log_stdout_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	errno = 0;
	va_start(ap, fmt);
	n = vfprintf(stdout, fmt, ap);
	va_end(ap);
	if (n >= 0 && !ferror(stdout))
		return 0;
	return stdout_failed(errno != 0 ? errno : stdout_error_cause());
}

int
log_output_end(void)
{
	int lost = 0;

	if (log_stdout_flush() == -1) {
		log_error(NULL,
		          "standard output: %s: what was printed there is lost",
		          stdout_reason());
		lost = 1;
	}
	return lost || ferror(stderr) ? -1 : 0;
}

void
die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(stderr, LOG_ERR, "", NULL, fmt, ap);
	va_end(ap);
	exit(status);
}
