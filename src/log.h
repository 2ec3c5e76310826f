/*
 * log.h - the one place where messages are printed. Messages about a
 * domain are prefixed with it ("example.com: ..."). Errors and warnings go
 * to standard error, or to syslog after log_use_syslog() (unless there is
 * no syslog socket: then to standard error still, after a warning).
 */
#ifndef MTA_STS_SYNC_LOG_H
#define MTA_STS_SYNC_LOG_H

enum log_level {
	LOG_LEVEL_QUIET = 0,   /* errors only */
	LOG_LEVEL_NORMAL = 1,  /* errors, warnings, one line per change */
	LOG_LEVEL_VERBOSE = 2, /* every step */
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_use_syslog(void);

/* domain may be NULL for messages that concern no domain. */
void log_error(const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warning(const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The warning msg, printed even with -q: one about what senders do now,
 * which an operator who asked for errors only must still see (sync.c);
 * over the bound of a message, cut with TEXT_CUT_MARK as they are. */
void log_alert(const char *domain, const char *msg);
/*
 * A warning that alone is not worth a message from a run that has nothing
 * else to say (one about the configuration, which every run would repeat):
 * kept, and printed before the first line the run prints, if any. So a run
 * from cron that changes nothing stays silent, and the mail of a run that
 * does something carries it. At most LOG_DEFERRED_MAX are kept.
 */
#define LOG_DEFERRED_MAX 16
void log_warning_deferred(const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A change worth reporting in normal mode (printed to standard output). */
void log_notice(const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A step, printed with -v only (standard error). */
void log_verbose(const char *domain, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Standard output. A write to it that fails (a closed pipe, a full disk)
 * is remembered, and decides the exit status at log_output_end(). For
 * commands that start no publish-command, log_stdout_fatal() makes it
 * end the program at once instead: by SIGPIPE if the reader went away,
 * else with one message and status 1.
 */
void log_stdout_fatal(void);
/* The status such an end exits with, once the command knows what it is
 * to return (a refusal of its configuration, 2): EXIT_FAILED until then. */
void log_stdout_fatal_status(int status);
/* Flush standard output (each domain's or file's lines, so that a reader
 * gets them as they come and one that went away is noticed); 0, or -1. */
int log_stdout_flush(void);
/*
 * Write len bytes of data (or the string s, or what fmt formats) to
 * standard output. A failed
 * write is remembered with its errno, which stdio does not keep for a
 * later flush (glibc drops it): output larger than the stream's buffer,
 * printed through it, is to be written here, or its cause is lost ("a
 * write failed"). Under log_stdout_fatal() a failure ends the program.
 * Returns 0, or -1.
 */
int log_stdout_write(const void *data, size_t len);
int log_stdout_puts(const char *s);
int log_stdout_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* At the end of a command: flush standard output. Returns 0, or -1 when
 * some of what was printed to standard output or error was lost (for
 * standard output, said by log_error(), where it still can be). */
int log_output_end(void);

/* Print "mta-sts-sync: message" and exit with status. */
void die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#endif
