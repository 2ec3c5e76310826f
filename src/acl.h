/*
 * acl.h - who besides a file's owner and others may write or read it: on
 * a file with a POSIX access ACL (getfacl(1), setfacl(1)), the group bits
 * of its mode are the ACL's mask, and the users and groups it names may
 * do what their entries say as far as that mask lets them; on an NFSv4
 * mount, its NFSv4 ACL (nfs4_getfacl(1)), which its server enforces
 * whatever the mode says, grants what its entries do. The trust checks
 * (conftrust.c, dirwalk.c), the key files' mode rule and the lock's advice
 * read them here, from the system.posix_acl_access and system.nfs4_acl
 * extended attributes.
 */
#ifndef MTA_STS_SYNC_ACL_H
#define MTA_STS_SYNC_ACL_H

#include <errno.h>
#include <sys/stat.h>

#include "mountinfo.h"

struct buf;

/* Entries of an access ACL read, at most: more is refused as unread. */
#define ACL_ENTRIES_MAX 512

/* Permissions an ACL entry gives (r, w, x), as in a mode's digits. */
#define ACL_PERM_READ 04
#define ACL_PERM_WRITE 02
#define ACL_PERM_EXEC 01

/* Named entries a message names in words, at most (all are counted). */
#define ACL_NAMED_LISTED 8
/* Named entries kept in struct acl_who, at most, for the commands that
 * remove them: all of them or none, as a command that leaves some may
 * unmask them (setfacl -m sets the mask anew); more is said in words. */
#define ACL_NAMED_KEPT 64

/* Bytes of an NFSv4 ACL read, at most: the Linux NFS client's own
 * limit (16 pages); more is refused as unread. */
#define ACL_NFS4_BYTES 65536
/* named_id of an NFSv4 entry whose principal is no id known for
 * certain ("deploy@example.com" of no local name, EVERYONE@). */
#define ACL_ID_NONE 0xffffffffu

/* A named entry of an ACL: a user's, or a group's. */
struct acl_entry_id {
	int is_group;
	unsigned id;
};

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
	 * the first ACL_NAMED_KEPT of them (the first is named's) */
	size_t named_count;
	struct acl_entry_id listed[ACL_NAMED_KEPT];
	int acl; /* it has an access ACL with named entries */
	/* named entries, not passed over, that would let do perm but for
	 * the mask, which a mask widened (chmod g+r, setfacl -m) lets: their
	 * number, and the first ACL_NAMED_KEPT of them, as listed */
	size_t masked_count;
	struct acl_entry_id masked[ACL_NAMED_KEPT];
	/* an entry names the file's own group (counted in group, not in
	 * named) and lets it do perm, through the mask or not (its gid,
	 * group_gid): a setfacl -m g::- leaves it */
	int group_named;
	unsigned group_gid;
	int version;      /* its ACL's version, when not understood */
	int tag_unknown;  /* an entry's tag is not understood: */
	unsigned bad_tag; /* that tag */
	int masks;        /* its mask entries, when more than one */
	/* when it has more than ACL_ENTRIES_MAX; 0: it changed while it
	 * was read, too large at first and no longer */
	unsigned entries;
	/* an ACL of another model than POSIX's, or a mount, that is not
	 * judged (ENOTSUP): its name ("SMB (CIFS)", "FUSE") and the
	 * attribute that shows it, NULL for a mount that shows none */
	const char *model;
	const char *xattr;
	/* a FUSE mount (model "FUSE") that neither root nor the running
	 * user made: what /proc/self/mountinfo says of it (mount.has_user
	 * 0: no maker shown), or why that could not be read (mount_err, an
	 * errno; ENOENT: no entry for it; 0: it was read) */
	struct mount_facts mount;
	int mount_err;
	/* an NFSv4 ACL was read (acl_nfs4_judge()): named, when set, is
	 * its entry number nfs4_entry (1 on), shown as nfs4_getfacl(1)
	 * shows it in nfs4_spec (nfs4_spec_exact: as nfs4_setfacl -x
	 * takes it, every bit of it having a letter), whose principal,
	 * printable, is nfs4_who: an id when named_id is not
	 * ACL_ID_NONE, a set of users (EVERYONE@, AUTHENTICATED@...) when
	 * nfs4_everyone */
	int nfs4;
	unsigned nfs4_entry;
	char nfs4_spec[192];
	int nfs4_spec_exact;
	char nfs4_who[96];
	int nfs4_everyone;
	/* the first entry that lets the file's group (GROUP@, or one
	 * naming that group), its number (0: none) and spec, as nfs4_entry
	 * and nfs4_spec are named's: the mode's group bits need not show
	 * it, nor chmod g-w take it away */
	unsigned nfs4_group_entry;
	char nfs4_group_spec[192];
	int nfs4_group_exact;
	/* why an NFSv4 ACL is not understood (EBADMSG), or, E2BIG, its
	 * size in bytes when more than ACL_NFS4_BYTES (0: it changed while
	 * it was read) */
	char nfs4_bad[96];
	size_t nfs4_bytes;
};

/*
 * Read who may do perm (ACL_PERM_* bits: any of them) to the file open
 * as fd (any descriptor, O_PATH too), or, when fd is -1, to path (links
 * followed), whose status is st, into aw: its owning group, and
 * the users and groups its ACL names that may, through the mask, but
 * those pass(is_group, id) says to pass over (NULL: none), the first
 * in aw->named_id, all counted, the first few listed. An entry naming the
 * file's own group is that group's: the same members, judged as the group bits
 * are. Without a POSIX ACL, an NFSv4 one is judged (acl_nfs4_judge(): aw->nfs4
 * set, its entries not listed). Returns 0, or -1 with errno set when its ACL
 * cannot be read or judged: EBADMSG for one not understood (aw->version, or an
 * entry of an unknown tag, aw->bad_tag, or aw->masks mask entries; for an
 * NFSv4 one, aw->nfs4_bad), E2BIG for one of more than ACL_ENTRIES_MAX entries
 * (aw->entries), or an NFSv4 one of more than ACL_NFS4_BYTES (aw->nfs4_bytes),
 * ENOTSUP for a file on an SMB mount or with an SMB ACL (in aw->model and
 * aw->xattr), or on a FUSE mount of another user (acl_mount_check()),
 * ACL_ENOPROC for an O_PATH descriptor of a file that is no directory,
 * or of a directory this user may not read, when /proc is not
 * mounted (a chroot, a minimal container), or the error of the read (a file
 * removed meanwhile). A file system without extended attributes or ACLs is a
 * file without one.
 */
#define ACL_ENOPROC ENOMEDIUM
int acl_who_read(int fd, const char *path, const struct stat *st, unsigned perm,
                 int (*pass)(int is_group, unsigned id), struct acl_who *aw);

/* Whether the file open as fd (-1: path, links followed) is on a mount
 * whose owners and modes are made up by others than root and the
 * running user, as acl_who_read() refuses it: an SMB (CIFS) mount, whose
 * server enforces what the client's mode and sticky bit need not show
 * (the mount's dir_mode may make them up), or a FUSE mount that another
 * user made (its user_id= in /proc/self/mountinfo), whose file system
 * program shows whatever owners and modes it likes, or whose maker
 * cannot be told. Returns 0 when it is not; -1 with errno ENOTSUP
 * (aw->model, aw->xattr; for FUSE aw->mount, aw->mount_err set) when it
 * is, or the error of fstatfs(2) (statfs(2)) or fstat(2) (stat(2)) when
 * that cannot be told. */
int acl_mount_check(int fd, const char *path, struct acl_who *aw);

/* What acl_mount_check() refused (aw), into out (size bytes): "an SMB
 * (CIFS) mount, whose server enforces permissions of its own that
 * mta-sts-sync cannot check", or "a FUSE mount (TYPE) at POINT made by
 * NAME (uid N), whose program shows whatever owners and modes it likes"
 * (or whose maker cannot be told, and why). Returns out. */
const char *acl_mount_shown(const struct acl_who *aw, char *out, size_t size);

/* What to do about a file on the mount acl_mount_check() refused (aw):
 * "move it to a local file system" for SMB, "mount it as root, or keep
 * the file elsewhere" for FUSE. */
const char *acl_mount_fix(const struct acl_who *aw);

/* A pass for acl_who_read(): a named user entry of root or of the user
 * running mta-sts-sync, who may read the file anyway; never a group,
 * whose other members may not be trusted. */
int acl_root_or_runner(int is_group, unsigned id);

/*
 * Judge the NFSv4 ACL buf (n bytes, the XDR of system.nfs4_acl) of a
 * file whose status is st into aw (cleared first but for aw->group, the
 * group bits of its mode, which it may only add to), as acl_who_read()
 * does: which entries let a principal do perm (ACL_PERM_WRITE: write its
 * data, append, write its ACL or take it over; for a directory, add or
 * remove an entry too) but OWNER@ (the owner, judged by its id), GROUP@
 * (aw->group) and ids pass() passes over, all counted, the first in
 * aw->named and the aw->nfs4 fields. Entries that only take away (DENY)
 * or grant nothing (AUDIT, ALARM, INHERIT_ONLY ones) are passed over: an
 * entry that a DENY before it overrides is judged all the same, as the
 * safe side. A mask bit not known grants, as far as it is told, perm.
 * Returns 0, or -1 with errno EBADMSG (why in aw->nfs4_bad: cut short,
 * bytes left over, an unknown type or flag) or E2BIG (more than
 * ACL_ENTRIES_MAX entries, in aw->entries).
 */
int acl_nfs4_judge(const unsigned char *buf, size_t n, const struct stat *st,
                   unsigned perm, int (*pass)(int is_group, unsigned id),
                   struct acl_who *aw);

/* The named entry of aw (aw->named) for a message: "user NAME (uid N)"
 * or "group NAME (gid N)" (user_shown(), group_shown()); for an NFSv4
 * entry whose principal is no id, "user deploy@example.com" (or group),
 * or for a set of users "everyone (EVERYONE@)" or "the users of
 * AUTHENTICATED@"; into out (size bytes). Returns out. */
const char *acl_named_shown(const struct acl_who *aw, char *out, size_t size);
/* The same for the user or group (is_group) id. Returns out. */
const char *acl_entry_shown(int is_group, unsigned id, char *out, size_t size);

/* What to run to take the NFSv4 entry of aw (aw->named, aw->nfs4) out
 * of the ACL of the file whose path, as a shell takes it (path_shell()),
 * is ps: "nfs4_setfacl -x 'SPEC' ps", or,
 * for an entry that nfs4_setfacl cannot name exactly,
 * "nfs4_setfacl -e ps (take out entry N, SPEC)", as acl_remove_command()
 * builds it, into out (size bytes; "" when it cannot hold it whole).
 * Returns out. */
const char *acl_nfs4_fix(const struct acl_who *aw, const char *ps, char *out,
                         size_t size);

/* For an NFSv4 ACL (aw) of more than one such entry, whose advice takes
 * out only its first: ", and N more entr(y|ies): nfs4_getfacl ps lists
 * them", ps as for acl_nfs4_fix(), appended to b; nothing for one.
 * Returns 0, or -1 when b cannot hold it. */
int acl_nfs4_more(const struct acl_who *aw, const char *ps, struct buf *b);

/* The same for the entry of aw that lets the file's group
 * (aw->nfs4_group_entry, not 0). Returns out. */
const char *acl_nfs4_group_fix(const struct acl_who *aw, const char *ps,
                               char *out, size_t size);

/* Why acl_who_read() could not read or judge an ACL (its errno err,
 * aw), for a message: "it has an entry of unknown tag 0x40", "NFSv4 ACL
 * entry 3 is cut short", the error's text... into out (size bytes).
 * Returns out. */
const char *acl_unread_why(const struct acl_who *aw, int err, char *out,
                           size_t size);

/*
 * The command that removes the named entries listed in aw (all of them:
 * none when there are more than ACL_NAMED_KEPT), "setfacl -x u:N,g:M PS", PS
 * the path as a shell takes it (path_shell()), appended to b. Entries are named
 * by number: a name may be missing, or stand for another id on a host that
 * resolves it otherwise. With mod (NULL: none), a POSIX ACL's
 * "setfacl -x u:N -m MOD PS" (setfacl applies them in order), "setfacl
 * -m MOD PS" when no entry is listed, and an entry naming the file's own
 * group (aw->group_named) and those the mask hides (aw->masked, which the
 * mask setfacl -m sets anew would let) taken out too: mod "g::-,o::-" takes its
 * group and others' access away without the mask that chmod would narrow, which
 * hides the entries left (the running user's own) and keeps the rest, to be
 * given back by the next setfacl -m. For an NFSv4 ACL (aw->nfs4), whose
 * entries are not listed, the nfs4_setfacl command that takes out its first
 * one (acl_nfs4_fix()), mod not used. Returns 0, or -1 when b cannot hold it
 * all, or there are more than ACL_NAMED_KEPT entries to remove (b then
 * holds a part of it: the caller drops it, and says it in words).
 */
int acl_remove_command(const struct acl_who *aw, const char *mod,
                       const char *ps, struct buf *b);
/* The command that removes the entries of aw that its mask hides
 * (aw->masked, not none), "setfacl -x u:N,g:M PS", appended to b: before
 * a chmod that widens that mask. Returns 0, or -1 when b cannot hold it
 * all, or there are more than ACL_NAMED_KEPT of them. */
int acl_masked_command(const struct acl_who *aw, const char *ps, struct buf *b);
/*
 * The named entries of aw, a POSIX ACL's (not aw->nfs4: its entries are
 * not listed), for a message, "user A (uid N), group B (gid
 * M) and user C (uid O)", each followed by note(is_group, id) (NULL: no
 * note), and " and N more (getfacl PS lists them)" for those beyond the
 * listed ones, appended to b. Returns 0, or -1 when b cannot hold it all.
 */
int acl_listed_shown(const struct acl_who *aw,
                     const char *(*note)(int is_group, unsigned id),
                     const char *ps, struct buf *b);
/* The same for the entries of aw that its mask hides (aw->masked), no
 * note. Returns 0, or -1 when b cannot hold it all. */
int acl_masked_shown(const struct acl_who *aw, const char *ps, struct buf *b);

/* acl_who_read() of who may write the file (fd, or path when fd is -1),
 * passing over those the trust checks trust anyway: root, the running
 * user, a group_trusted() group. */
int acl_write_read(int fd, const char *path, const struct stat *st,
                   struct acl_who *aw);

#endif
