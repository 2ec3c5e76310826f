/*
 * mountinfo-fuzz.c - fuzz target for the reader of /proc/self/mountinfo
 * (mountinfo.c), which the trust checks read for every file on a FUSE
 * mount, and whose paths (escaped) and options a user that may mount
 * chooses. The input is read as mountinfo lines. Invariants, else abort:
 * what is read is ended strings, a type of printable text; the first
 * line, read, is what a search for its device finds, and a search says
 * found (1), not found (0) or not understood (-1, EBADMSG), nothing else;
 * a line's device found in it read alone, and a line read alone is read
 * the same with bytes added after a newline.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the facts a and b are the same. */
static int
same_facts(const struct mount_facts *a, const struct mount_facts *b)
{
	return strcmp(a->point, b->point) == 0 &&
	       strcmp(a->fstype, b->fstype) == 0 &&
	       a->has_user == b->has_user &&
	       (!a->has_user || a->user_id == b->user_id);
}

/* abort() unless mf's strings are ended, its type printable. */
static void
check_facts(const struct mount_facts *mf)
{
	if (memchr(mf->point, '\0', sizeof(mf->point)) == NULL ||
	    memchr(mf->fstype, '\0', sizeof(mf->fstype)) == NULL)
		abort();
	for (const char *t = mf->fstype; *t != '\0'; t++)
		if (*t < 0x20 || *t > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *nl = memchr(buf, '\n', size);
	size_t first = nl != NULL ? (size_t)(nl - buf) : size;
	struct mount_facts mf, found;
	unsigned major, minor;
	int rc;

	if (mountinfo_line(buf, first, &major, &minor, &mf) == -1) {
		/* whatever it finds, it says one of three things */
		errno = 0;
		rc = mountinfo_find(buf, size, 0, 0, &found);
		if (rc < -1 || rc > 1 || (rc == -1 && errno != EBADMSG))
			abort();
		if (rc == 1)
			check_facts(&found);
		return 0;
	}
	check_facts(&mf);
	if (mountinfo_find(buf, size, major, minor, &found) != 1 ||
	    !same_facts(&mf, &found))
		abort();
	if (mountinfo_find(buf, first, major, minor, &found) != 1 ||
	    !same_facts(&mf, &found))
		abort();
	return 0;
}
