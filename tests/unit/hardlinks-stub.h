/*
 * hardlinks-stub.h - for a unit test whose openat(2) stand-in (with
 * open-stub.h's open(2)) makes fs.protected_hardlinks read as the test
 * chooses, whatever the host's: conftrust.c reads it before it refuses a
 * file of several names, for a configuration, a key or a policy file.
 * Included once, by the test's own source.
 */
#ifndef MTA_STS_SYNC_HARDLINKS_STUB_H
#define MTA_STS_SYNC_HARDLINKS_STUB_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Where the kernel says it, the name the stand-in answers for. */
#define FAKE_HARDLINKS_PATH "/proc/sys/fs/protected_hardlinks"

/* What FAKE_HARDLINKS_PATH holds: "0" (as the tests were written: files
 * of several names refused where someone else could have linked them),
 * "1", or "" for a file that cannot be read (ENOENT); NULL: the host's
 * own. */
static const char *fake_hardlinks = "0";

/* A descriptor that reads fake_hardlinks (a pipe), or -1 with ENOENT
 * when it is "". */
static int
fake_hardlinks_open(void)
{
	int p[2];

	if (fake_hardlinks[0] == '\0' || pipe(p) == -1) {
		errno = ENOENT;
		return -1;
	}
	if (write(p[1], fake_hardlinks, strlen(fake_hardlinks)) == -1)
		perror("pipe");
	close(p[1]);
	return p[0];
}

#endif
