/*
 * log.c - message output to standard error / standard output or syslog.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static enum log_level level = LOG_LEVEL_NORMAL;
static int to_syslog;

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

static void __attribute__((format(printf, 5, 0)))
log_emit(FILE *fp, int prio, const char *tag, const char *domain,
         const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_clean(msg);
	flush_deferred();
	log_write(fp, prio, tag, domain, msg);
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
log_warning_deferred(const char *domain, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level < LOG_LEVEL_NORMAL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
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
die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(stderr, LOG_ERR, "", NULL, fmt, ap);
	va_end(ap);
	exit(status);
}
