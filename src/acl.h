/*
 * acl.h - who besides a file's owner and others may write it: on a file
 * with a POSIX access ACL (getfacl(1), setfacl(1)), the group bits of its
 * mode are the ACL's mask, and the users and groups it names may write
 * it as far as that mask lets them. The trust checks (conf.c, dirwalk.c)
 * read them here, from the system.posix_acl_access extended attribute.
 */
#ifndef MTA_STS_SYNC_ACL_H
#define MTA_STS_SYNC_ACL_H

#include <sys/stat.h>

/* Entries of an access ACL read, at most: more is refused as unread. */
#define ACL_ENTRIES_MAX 512

/* What may write a file beside its owner and others. */
struct acl_write {
	int group; /* its owning group: its ACL entry, masked (without
	              an ACL, the group bits of its mode) */
	/* a named user (or group, when named_is_group) that may write it
	 * and is not trusted: not root or the running user, not a group
	 * group_trusted() trusts; named 0: none */
	int named;
	int named_is_group;
	unsigned named_id;
	int acl;          /* it has an access ACL with named entries */
	int version;      /* its ACL's version, when not understood */
	unsigned entries; /* when it has more than ACL_ENTRIES_MAX */
};

/*
 * Read who may write path (its status st, links followed as for st) into
 * aw. Returns 0, or -1 with errno set when its ACL cannot be read or
 * judged: EBADMSG for one not understood (aw->version), E2BIG for one of
 * more than ACL_ENTRIES_MAX entries, or the error of the read (a file
 * removed meanwhile). A file system without extended attributes or ACLs
 * is a file without one.
 */
int acl_write_read(const char *path, const struct stat *st,
                   struct acl_write *aw);

#endif
