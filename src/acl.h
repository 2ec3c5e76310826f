/*
 * acl.h - who besides a file's owner and others may write or read it: on
 * a file with a POSIX access ACL (getfacl(1), setfacl(1)), the group bits
 * of its mode are the ACL's mask, and the users and groups it names may
 * do what their entries say as far as that mask lets them. The trust
 * checks (conf.c, dirwalk.c), the key files' mode rule and the lock's
 * advice read them here, from the system.posix_acl_access extended
 * attribute.
 */
#ifndef MTA_STS_SYNC_ACL_H
#define MTA_STS_SYNC_ACL_H

#include <errno.h>
#include <sys/stat.h>

/* Entries of an access ACL read, at most: more is refused as unread. */
#define ACL_ENTRIES_MAX 512

/* Permissions an ACL entry gives (r, w, x), as in a mode's digits. */
#define ACL_PERM_READ 04
#define ACL_PERM_WRITE 02
#define ACL_PERM_EXEC 01

/* Named entries that may listed in struct acl_who, at most (all are
 * counted). */
#define ACL_NAMED_LISTED 8

/* Who may do something to a file beside its owner and others. */
struct acl_who {
	/* its owning group: its ACL entry, masked, or an entry that names
	 * that same group (without an ACL, the group bits of its mode) */
	int group;
	/* a named user (or group, when named_is_group), other than the
	 * file's own group, that may, and is not passed over; named 0:
	 * none */
	int named;
	int named_is_group;
	unsigned named_id;
	/* every such named entry, in the ACL's order: their number, and
	 * the first ACL_NAMED_LISTED of them (the first is named's) */
	size_t named_count;
	struct {
		int is_group;
		unsigned id;
	} listed[ACL_NAMED_LISTED];
	int acl;          /* it has an access ACL with named entries */
	int version;      /* its ACL's version, when not understood */
	int tag_unknown;  /* an entry's tag is not understood: */
	unsigned bad_tag; /* that tag */
	int masks;        /* its mask entries, when more than one */
	/* when it has more than ACL_ENTRIES_MAX; 0: it changed while it
	 * was read, too large at first and no longer */
	unsigned entries;
	/* an ACL of another model than POSIX's (ENOTSUP): its name
	 * ("NFSv4") and the attribute that shows it */
	const char *model;
	const char *xattr;
};

/*
 * Read who may do perm (ACL_PERM_* bits: any of them) to the file open
 * as fd (any descriptor, O_PATH too), or, when fd is -1, to path (links
 * followed), whose status is st, into aw: its owning group, and
 * the users and groups its ACL names that may, through the mask, but
 * those pass(is_group, id) says to pass over (NULL: none), the first
 * in aw->named_id, all counted, the first few listed. An entry naming the
 * file's own group is that group's: the same members, judged as the group bits
 * are. Returns 0, or -1 with errno set when its ACL cannot be read or judged:
 * EBADMSG for one not understood (aw->version, or an entry of an unknown tag,
 * aw->bad_tag, or aw->masks mask entries), E2BIG for one of more than
 * ACL_ENTRIES_MAX entries, ENOTSUP for an ACL of another model
 * (acl_model_other(), in aw->model and aw->xattr), ACL_ENOPROC for an O_PATH
 * descriptor of a file that is no directory, or of a directory this user may
 * not read, when /proc is not mounted (a chroot, a minimal container), or the
 * error of the read (a file removed meanwhile). A file system without extended
 * attributes or ACLs is a file without one.
 */
#define ACL_ENOPROC ENOMEDIUM
int acl_who_read(int fd, const char *path, const struct stat *st, unsigned perm,
                 int (*pass)(int is_group, unsigned id), struct acl_who *aw);

/* A pass for acl_who_read(): a named user entry of root or of the user
 * running mta-sts-sync, who may read the file anyway; never a group,
 * whose other members may not be trusted. */
int acl_root_or_runner(int is_group, unsigned id);

/*
 * Whether the file open as fd (any descriptor; -1: path, links followed)
 * has an ACL of another model than POSIX's: an NFSv4 ACL
 * (system.nfs4_acl, on an NFSv4 mount) or an SMB one (system.cifs_acl,
 * on a CIFS mount). The server enforces it, and what it grants is not
 * bounded by the mode, as a POSIX ACL is by its mask, so who may write or
 * read the file cannot be told from the mode; nor is it parsed here.
 * Asked only where the file has no POSIX ACL. Returns 1 with its model's
 * name ("NFSv4", "SMB (CIFS)") in *model and the attribute in *xattr, 0
 * for none, or -1 with errno when it cannot be looked at.
 */
int acl_model_other(int fd, const char *path, const char **model,
                    const char **xattr);

/* The named entry of aw (aw->named) for a message: "user NAME (uid N)"
 * or "group NAME (gid N)" (user_shown(), group_shown()), into out (size
 * bytes). Returns out. */
const char *acl_named_shown(const struct acl_who *aw, char *out, size_t size);
/* The same for the user or group (is_group) id. Returns out. */
const char *acl_entry_shown(int is_group, unsigned id, char *out, size_t size);

/* acl_who_read() of who may write the file (fd, or path when fd is -1),
 * passing over those the trust checks trust anyway: root, the running
 * user, a group_trusted() group. */
int acl_write_read(int fd, const char *path, const struct stat *st,
                   struct acl_who *aw);

#endif
