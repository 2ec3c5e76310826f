/*
 * open-stub.h - for a unit test that stands in for openat(2) (to make a
 * file vanish or change at a chosen moment): open(2) made an openat() of
 * the working directory, so that what the code under test opens by name
 * meets the stand-in too. Included once, by the test's own source; the
 * test defines openat().
 */
#ifndef MTA_STS_SYNC_OPEN_STUB_H
#define MTA_STS_SYNC_OPEN_STUB_H

#include <fcntl.h>
#include <stdarg.h>
#include <sys/types.h>

/* The mode argument of an open(2) or openat(2) of flags, whose variable
 * arguments are ap: there only when it may make a file. */
static mode_t
open_mode_arg(int flags, va_list ap)
{
	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

/* open(2): openat() of the working directory (the test's). */
int
open(const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = openat(AT_FDCWD, path, flags, open_mode_arg(flags, ap));
	va_end(ap);
	return fd;
}

#endif
