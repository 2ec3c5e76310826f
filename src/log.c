/*
 * log.c - message output to standard error / standard output or syslog.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "log.h"

static enum log_level level = LOG_LEVEL_NORMAL;
static int to_syslog;

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

void
log_use_syslog(void)
{
	openlog("mta-sts-sync", LOG_PID, LOG_DAEMON);
	to_syslog = 1;
}

static void __attribute__((format(printf, 5, 0)))
log_emit(FILE *fp, int prio, const char *tag, const char *domain,
         const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
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
