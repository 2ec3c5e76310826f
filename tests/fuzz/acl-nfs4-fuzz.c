/*
 * acl-nfs4-fuzz.c - fuzz target for the NFSv4 ACL reader (acl-nfs4.c),
 * which reads what an NFS server sent as system.nfs4_acl for every file
 * a run trusts on an NFSv4 mount. The input is the attribute: it is
 * judged for a file and for a directory, for write and for read, with the
 * trust checks' pass and with none. Invariants, else abort: it is judged
 * (0) or refused as not understood (EBADMSG, a reason given) or too large
 * (E2BIG, more than ACL_ENTRIES_MAX entries); a judged ACL's named entry
 * is one of its entries, with its strings ended; passing some over never
 * finds more; a directory's write finds at least what a file's does.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the NUL-terminated string fits in its array of size bytes. */
static int
ended(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The count of entries the attribute data (4 bytes at least) says. */
static unsigned
count_of(const uint8_t *data)
{
	return (unsigned)data[0] << 24 | (unsigned)data[1] << 16 |
	       (unsigned)data[2] << 8 | data[3];
}

/* acl_nfs4_judge() of data for a file of mode (its type too) and perm,
 * passing over by pass, into aw; abort() on a broken promise. Returns
 * its result. */
static int
judge(const uint8_t *data, size_t size, mode_t mode, unsigned perm,
      int (*pass)(int, unsigned), struct acl_who *aw)
{
	struct stat st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_gid = 4242;
	memset(aw, 0x5a, sizeof(*aw));
	aw->group = 0;
	errno = 0;
	rc = acl_nfs4_judge(data, size, &st, perm, pass, aw);
	if (!aw->nfs4 || !ended(aw->nfs4_bad, sizeof(aw->nfs4_bad)))
		abort();
	if (rc == -1 && errno == EBADMSG && aw->nfs4_bad[0] != '\0')
		return rc;
	if (rc == -1 && errno == E2BIG && aw->entries > ACL_ENTRIES_MAX)
		return rc;
	if (rc != 0 || size < 4)
		abort();
	if (aw->named && (aw->named_count == 0 || aw->nfs4_entry == 0 ||
	                  aw->nfs4_entry > count_of(data) ||
	                  !ended(aw->nfs4_spec, sizeof(aw->nfs4_spec)) ||
	                  !ended(aw->nfs4_who, sizeof(aw->nfs4_who))))
		abort();
	if (!aw->named && aw->named_count != 0)
		abort();
	/* the group's grant, from none, is an entry's, kept */
	if ((aw->nfs4_group_entry != 0) != (aw->group != 0) ||
	    aw->nfs4_group_entry > count_of(data) ||
	    (aw->group &&
	     !ended(aw->nfs4_group_spec, sizeof(aw->nfs4_group_spec))))
		abort();
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acl_who all, passed, dir;

	if (judge(data, size, S_IFREG | 0600, ACL_PERM_WRITE, NULL, &all) ==
	    -1) {
		/* not understood: the same, whatever is asked */
		if (judge(data, size, S_IFDIR | 0755, ACL_PERM_READ,
		          acl_root_or_runner, &dir) != -1)
			abort();
		return 0;
	}
	judge(data, size, S_IFREG | 0600, ACL_PERM_WRITE, acl_root_or_runner,
	      &passed);
	judge(data, size, S_IFDIR | 0700, ACL_PERM_WRITE, NULL, &dir);
	if (passed.named_count > all.named_count ||
	    dir.named_count < all.named_count || (all.group && !dir.group))
		abort();
	judge(data, size, S_IFREG | 0600, ACL_PERM_READ | ACL_PERM_EXEC, NULL,
	      &all);
	return 0;
}
