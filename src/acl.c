/*
 * acl.c - the users and groups that a file's POSIX access ACL lets write
 * or read it (see acl.h). The attribute is read as the kernel gives it (the
 * xattr form of include/uapi/linux/posix_acl_xattr.h, little-endian): a 4-byte
 * version, 2, then entries of a 2-byte tag, 2-byte permissions and a
 * 4-byte user or group id. No libacl: its acl_get_file() reads the same
 * bytes, and the checks need only who may write or read. Without one, an
 * NFSv4 ACL is read, and judged in acl-nfs4.c; a file on an SMB mount, or
 * on a FUSE mount of another user (mountinfo.c), is refused.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "acl.h"
#include "dirwalk.h"
#include "mountinfo.h"
#include "util.h"

#define ACL_XATTR "system.posix_acl_access"
#define ACL_NFS4_XATTR "system.nfs4_acl"
#define ACL_XATTR_VERSION 2
#define ACL_HEAD 4
#define ACL_ENTRY 8

/* Tags of the entries, and the write permission. */
enum {
	ACL_TAG_USER_OBJ = 0x01,
	ACL_TAG_USER = 0x02,
	ACL_TAG_GROUP_OBJ = 0x04,
	ACL_TAG_GROUP = 0x08,
	ACL_TAG_MASK = 0x10,
	ACL_TAG_OTHER = 0x20
};

/* The little-endian number of n bytes at p. */
static unsigned long
le_at(const unsigned char *p, size_t n)
{
	unsigned long v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

/* Whether a named entry (a group when is_group) for id is one of those
 * trusted anyway: root, the running user, a group_trusted() group. */
static int
named_trusted(int is_group, unsigned id)
{
	if (is_group)
		return group_trusted((gid_t)id);
	return id == 0 || id == (unsigned)geteuid();
}

/*
 * Whether the n entries at e are all of the six tags, with at most one
 * mask: the kernel gives nothing else, and an entry of another tag, or a
 * second mask, would be judged by a guess (skipped, the last mask taken),
 * so such an ACL is refused as not understood. Returns 0, or -1 with the
 * first unknown tag in aw->bad_tag (aw->tag_unknown set), else the number of
 * masks in aw->masks.
 */
static int
acl_entries_known(const unsigned char *e, size_t n, struct acl_who *aw)
{
	int masks = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned tag = (unsigned)le_at(e + i * ACL_ENTRY, 2);

		if (tag != ACL_TAG_USER_OBJ && tag != ACL_TAG_USER &&
		    tag != ACL_TAG_GROUP_OBJ && tag != ACL_TAG_GROUP &&
		    tag != ACL_TAG_MASK && tag != ACL_TAG_OTHER) {
			aw->tag_unknown = 1;
			aw->bad_tag = tag;
			return -1;
		}
		masks += tag == ACL_TAG_MASK;
	}
	if (masks <= 1)
		return 0;
	aw->masks = masks;
	return -1;
}

/* Count the entry of tag (a named one's) and id in *n, kept in e
 * while there is room (ACL_NAMED_KEPT). Returns the count before. */
static size_t
entry_note(struct acl_entry_id *e, size_t *n, unsigned tag, unsigned id)
{
	if (*n < ACL_NAMED_KEPT) {
		e[*n].is_group = tag == ACL_TAG_GROUP;
		e[*n].id = id;
	}
	return (*n)++;
}

/*
 * Judge the n entries at e (a well-formed ACL) of a file of group gid
 * into aw: whether the owning group may do perm, and the named entries
 * that may and are not ones pass passes over, all through the mask
 * (without a mask entry there is no named entry to mask). An entry that
 * names group gid is the owning group's: its members are the same, so
 * it is judged as the group bits are (a configuration trusts its group,
 * a program only group_trusted()'s), not as a stranger.
 */
static void
acl_judge(const unsigned char *e, size_t n, gid_t gid, unsigned perm,
          int (*pass)(int, unsigned), struct acl_who *aw)
{
	unsigned mask = 07, group = 0;
	int has_group = 0;

	for (size_t i = 0; i < n; i++)
		if (le_at(e + i * ACL_ENTRY, 2) == ACL_TAG_MASK)
			mask = (unsigned)le_at(e + i * ACL_ENTRY + 2, 2);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *x = e + i * ACL_ENTRY;
		unsigned tag = (unsigned)le_at(x, 2);
		unsigned may = (unsigned)le_at(x + 2, 2) & mask & perm;
		unsigned id = (unsigned)le_at(x + 4, 4);

		if (tag == ACL_TAG_USER || tag == ACL_TAG_GROUP)
			aw->acl = 1;
		if (tag == ACL_TAG_GROUP_OBJ ||
		    (tag == ACL_TAG_GROUP && id == (unsigned)gid)) {
			has_group = 1;
			group |= may;
			if (tag == ACL_TAG_GROUP &&
			    ((unsigned)le_at(x + 2, 2) & perm) != 0) {
				aw->group_named = 1;
				aw->group_gid = id;
			}
			continue;
		}
		if ((tag != ACL_TAG_USER && tag != ACL_TAG_GROUP) ||
		    (pass != NULL && pass(tag == ACL_TAG_GROUP, id)))
			continue;
		if (may == 0) { /* hidden by the mask, or allowing nothing */
			if (((unsigned)le_at(x + 2, 2) & perm) != 0)
				entry_note(aw->masked, &aw->masked_count, tag,
				           id);
			continue;
		}
		if (entry_note(aw->listed, &aw->named_count, tag, id) > 0)
			continue;
		aw->named = 1;
		aw->named_is_group = tag == ACL_TAG_GROUP;
		aw->named_id = id;
	}
	if (has_group)
		aw->group = group != 0;
}

/*
 * The attribute name (an ACL) into buf (size bytes; 0: its size only) of
 * the file open as fd, or, when fd is -1, of path, links followed: the ACL
 * judged must be that of the file whose status was, not of what the name stands
 * for by now. An O_PATH descriptor cannot be read (EBADF): a directory's is
 * opened for reading through "." of itself, no name looked up, so that no /proc
 * is needed (a chroot may have none); a file that is no directory, or a
 * directory this user may not read, is read through /proc/self/fd (its absence:
 * ACL_ENOPROC). Returns getxattr()'s result.
 */
static ssize_t
xattr_get(int fd, const char *path, const char *name, unsigned char *buf,
          size_t size)
{
	char p[64];
	ssize_t n;
	int rfd, err;

	if (fd == -1)
		return getxattr(path, name, buf, size);
	n = fgetxattr(fd, name, buf, size);
	if (n != -1 || errno != EBADF)
		return n;
	rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd != -1) {
		n = fgetxattr(rfd, name, buf, size);
		err = errno;
		close(rfd);
		errno = err;
		return n;
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = getxattr(p, name, buf, size);
	if (n == -1 && errno == ENOENT && access("/proc/self/fd", F_OK) == -1)
		errno = ACL_ENOPROC;
	return n;
}

/* The attribute that shows an SMB ACL (a CIFS mount with the cifsacl
 * option): of the server's model, not judged here. */
#define ACL_SMB_XATTR "system.cifs_acl"

/*
 * The attribute name into buf (size bytes) of the file open as fd (-1:
 * path), as xattr_get() reads it. An attribute too large for it fails
 * with E2BIG and its size in *need, taken from a look at its size (that
 * look failing: its error, ENODATA when it was removed); should that size
 * fit (it shrank meanwhile), it is read once more, and should it then
 * still not fit, E2BIG with *need 0: it changed while it was read, and
 * no size is claimed that contradicts the limit. Returns the bytes read.
 */
static ssize_t
xattr_read_sized(int fd, const char *path, const char *name, unsigned char *buf,
                 size_t size, size_t *need)
{
	ssize_t n = -1, got;

	*need = 0;
	for (int tries = 0; tries < 2; tries++) {
		n = xattr_get(fd, path, name, buf, size);
		if (n != -1 || errno != ERANGE)
			return n;
		if ((got = xattr_get(fd, path, name, NULL, 0)) == -1)
			return -1; /* gone, or removed, meanwhile */
		if (got > (ssize_t)size) {
			*need = (size_t)got; /* more than the limit */
			break;
		}
	}
	errno = E2BIG;
	return -1;
}

/*
 * The POSIX access ACL into buf (size bytes, room for ACL_ENTRIES_MAX
 * entries), as xattr_read_sized() reads it: too large, its entry count
 * in aw->entries (rounded up: more than the limit, as it is; 0 when it
 * changed while it was read). Returns the bytes read.
 */
static ssize_t
acl_read_sized(int fd, const char *path, unsigned char *buf, size_t size,
               struct acl_who *aw)
{
	size_t need;
	ssize_t n = xattr_read_sized(fd, path, ACL_XATTR, buf, size, &need);

	if (n == -1 && errno == E2BIG && need > 0)
		aw->entries =
		    (unsigned)((need - ACL_HEAD + ACL_ENTRY - 1) / ACL_ENTRY);
	return n;
}

/* The kinds of mount acl_mount_check() tells apart. */
enum mount_kind { MOUNT_OTHER, MOUNT_SMB, MOUNT_FUSE };

/* The kind of mount the file open as fd (-1: path) is on, by the file
 * system's magic number: the kernel's CIFS_MAGIC_NUMBER for SMB1,
 * SMB2_MAGIC_NUMBER for SMB2 and later, FUSE_SUPER_MAGIC for fuse and
 * fuseblk (and virtiofs). Returns it, or -1 with errno. */
static int
mount_kind_of(int fd, const char *path)
{
	struct statfs sf;
	uint32_t type;

	if ((fd == -1 ? statfs(path, &sf) : fstatfs(fd, &sf)) == -1)
		return -1;
	type = (uint32_t)sf.f_type;
	if (type == 0xFF534D42u || type == 0xFE534D42u)
		return MOUNT_SMB;
	return type == 0x65735546u ? MOUNT_FUSE : MOUNT_OTHER;
}

/*
 * Judge the NFSv4 ACL of the file open as fd (-1: path), whose status is
 * st, into aw as acl_nfs4_judge() does. Returns 1 when it was judged, 0
 * when it has none, or -1 with errno (acl_who_read()'s; aw->nfs4 set).
 */
static int
acl_nfs4_read(int fd, const char *path, const struct stat *st, unsigned perm,
              int (*pass)(int, unsigned), struct acl_who *aw)
{
	unsigned char *buf;
	size_t need;
	ssize_t n;
	int err;

	/* its size first: most files have none, and need no buffer */
	if (xattr_get(fd, path, ACL_NFS4_XATTR, NULL, 0) == -1) {
		if (errno == ENODATA || errno == ENOTSUP)
			return 0;
		aw->nfs4 = 1;
		return -1;
	}
	buf = xmalloc(ACL_NFS4_BYTES);
	n = xattr_read_sized(fd, path, ACL_NFS4_XATTR, buf, ACL_NFS4_BYTES,
	                     &need);
	aw->nfs4 = 1;
	if (n == -1)
		aw->nfs4_bytes = need;
	else
		n = acl_nfs4_judge(buf, (size_t)n, st, perm, pass, aw);
	err = errno;
	free(buf);
	errno = err;
	return n == -1 ? -1 : 1;
}

/*
 * acl_who_read() of a file on an SMB (CIFS) mount: refused (ENOTSUP, in
 * aw->model), with an SMB ACL (system.cifs_acl, aw->xattr) or without:
 * its server enforces permissions of its own that the mode the client
 * shows need not tell (the mount's options, file_mode and uid, may make
 * it up), and that are not read here; a POSIX ACL (the SMB1 Unix
 * extensions) is no more than what the server says either. Returns -1.
 */
static int
acl_smb_refused(int fd, const char *path, struct acl_who *aw)
{
	aw->model = "SMB (CIFS)";
	aw->xattr = NULL;
	if (xattr_get(fd, path, ACL_SMB_XATTR, NULL, 0) != -1)
		aw->xattr = ACL_SMB_XATTR;
	errno = ENOTSUP;
	return -1;
}

int
acl_root_or_runner(int is_group, unsigned id)
{
	return !is_group && (id == 0 || id == (unsigned)geteuid());
}

/*
 * acl_who_read() of a file without a POSIX ACL: its NFSv4 ACL, judged;
 * an SMB ACL (acl_smb_refused()), on whatever mount; else none: the mode
 * tells.
 */
static int
acl_other_read(int fd, const char *path, const struct stat *st, unsigned perm,
               int (*pass)(int, unsigned), struct acl_who *aw)
{
	int rc = acl_nfs4_read(fd, path, st, perm, pass, aw);

	if (rc != 0)
		return rc == 1 ? 0 : -1;
	if (xattr_get(fd, path, ACL_SMB_XATTR, NULL, 0) != -1)
		return acl_smb_refused(fd, path, aw);
	return errno == ENODATA || errno == ENOTSUP ? 0 : -1;
}

/* Whether the FUSE mount (its facts mf, as mountinfo_lookup() found
 * them: rc) is one whose owners and modes may be trusted: root or the
 * running user made it, or it is a virtiofs mount, which shows no maker
 * and which only root may make. user_id is as the mount's user
 * namespace sees it (mountinfo.h): a mount that a user namespace's root
 * made reads 0, but is seen only from its own mount namespace
 * (mta-sts-sync.conf(5) warns against running there). */
static int
fuse_mount_trusted(int rc, const struct mount_facts *mf)
{
	if (rc != 1)
		return 0;
	if (mf->has_user)
		return mf->user_id == 0 || mf->user_id == (unsigned)geteuid();
	return strcmp(mf->fstype, "virtiofs") == 0;
}

/*
 * acl_mount_check() of a file (fd, -1: path) on a FUSE mount: its maker
 * read from /proc/self/mountinfo, by the file's device; the mount of
 * another user, or of a maker that cannot be told, is refused (ENOTSUP,
 * aw->model "FUSE", aw->mount, aw->mount_err): its program, that user's,
 * shows whatever owners and modes it likes. Returns 0, or -1.
 */
static int
acl_fuse_check(int fd, const char *path, struct acl_who *aw)
{
	struct stat st;
	int rc;

	if ((fd == -1 ? stat(path, &st) : fstat(fd, &st)) == -1)
		return -1;
	rc = mountinfo_lookup(st.st_dev, &aw->mount);
	if (fuse_mount_trusted(rc, &aw->mount))
		return 0;
	aw->mount_err = rc == -1 ? errno : rc == 0 ? ENOENT : 0;
	aw->model = "FUSE";
	aw->xattr = NULL;
	errno = ENOTSUP;
	return -1;
}

int
acl_mount_check(int fd, const char *path, struct acl_who *aw)
{
	int kind = mount_kind_of(fd, path);

	if (kind == MOUNT_SMB)
		return acl_smb_refused(fd, path, aw);
	if (kind == MOUNT_FUSE)
		return acl_fuse_check(fd, path, aw);
	return kind == -1 ? -1 : 0;
}

/* The maker of the FUSE mount aw->mount, or why it cannot be told, into
 * out (size bytes): "made by NAME (uid N)", "whose maker cannot
 * be told (/proc/self/mountinfo: why)". Returns out. */
static const char *
fuse_maker_shown(const struct acl_who *aw, char *out, size_t size)
{
	char who[128];

	if (aw->mount_err == 0 && aw->mount.has_user)
		snprintf(
		    out, size, "made by %s",
		    user_shown((uid_t)aw->mount.user_id, who, sizeof(who)));
	else if (aw->mount_err == 0)
		snprintf(out, size,
		         "whose maker cannot be told (its line in "
		         "/proc/self/mountinfo shows no user_id)");
	else if (aw->mount_err == ENOENT)
		snprintf(out, size,
		         "whose maker cannot be told (/proc/self/mountinfo "
		         "cannot be read, or has no line for it: is /proc "
		         "mounted?)");
	else
		snprintf(out, size,
		         "whose maker cannot be told (/proc/self/mountinfo: "
		         "%s)",
		         aw->mount_err == E2BIG ? "a line too long to read"
		         : aw->mount_err == EBADMSG
		             ? "its line for it is not understood"
		             : strerror(aw->mount_err));
	return out;
}

const char *
acl_mount_shown(const struct acl_who *aw, char *out, size_t size)
{
	char maker[256], at[PATH_MAX + 16];

	if (strcmp(aw->model, "FUSE") != 0) {
		snprintf(out, size,
		         "an %s mount, whose server enforces permissions of "
		         "its own that mta-sts-sync cannot check",
		         aw->model);
		return out;
	}
	at[0] = '\0';
	if (aw->mount_err == 0)
		snprintf(at, sizeof(at), " at %s",
		         path_shown(aw->mount.point, '\0', NULL, 0));
	snprintf(out, size,
	         "a FUSE mount%s%s%s%s %s, whose program shows whatever "
	         "owners and modes it likes",
	         aw->mount.fstype[0] != '\0' ? " (" : "", aw->mount.fstype,
	         aw->mount.fstype[0] != '\0' ? ")" : "", at,
	         fuse_maker_shown(aw, maker, sizeof(maker)));
	return out;
}

const char *
acl_mount_fix(const struct acl_who *aw)
{
	if (strcmp(aw->model, "FUSE") == 0)
		return "mount it as root, or keep the file elsewhere";
	return "move it to a local file system";
}

int
acl_who_read(int fd, const char *path, const struct stat *st, unsigned perm,
             int (*pass)(int is_group, unsigned id), struct acl_who *aw)
{
	unsigned char buf[ACL_HEAD + ACL_ENTRY * ACL_ENTRIES_MAX];
	ssize_t n;

	memset(aw, 0, sizeof(aw[0]));
	aw->group = (st->st_mode & (perm << 3)) != 0;
	if (acl_mount_check(fd, path, aw) == -1)
		return -1;
	n = acl_read_sized(fd, path, buf, sizeof(buf), aw);
	if (n == -1 && (errno == ENODATA || errno == ENOTSUP))
		/* no POSIX ACL: a file system without ACLs, or one whose
		 * ACLs are of another model, that the mode does not bound */
		return acl_other_read(fd, path, st, perm, pass, aw);
	if (n == -1)
		return -1;
	if (n < ACL_HEAD || (n - ACL_HEAD) % ACL_ENTRY != 0 ||
	    le_at(buf, 4) != ACL_XATTR_VERSION) {
		aw->version = n >= ACL_HEAD ? (int)le_at(buf, 4) : -1;
		errno = EBADMSG;
		return -1;
	}
	if (acl_entries_known(buf + ACL_HEAD,
	                      (size_t)(n - ACL_HEAD) / ACL_ENTRY, aw) == -1) {
		errno = EBADMSG;
		return -1;
	}
	acl_judge(buf + ACL_HEAD, (size_t)(n - ACL_HEAD) / ACL_ENTRY,
	          st->st_gid, perm, pass, aw);
	return 0;
}

int
acl_write_read(int fd, const char *path, const struct stat *st,
               struct acl_who *aw)
{
	return acl_who_read(fd, path, st, ACL_PERM_WRITE, named_trusted, aw);
}

const char *
acl_entry_shown(int is_group, unsigned id, char *out, size_t size)
{
	char who[128];

	if (is_group)
		group_shown((gid_t)id, who, sizeof(who));
	else
		user_shown((uid_t)id, who, sizeof(who));
	snprintf(out, size, "%s %s", is_group ? "group" : "user", who);
	return out;
}

const char *
acl_named_shown(const struct acl_who *aw, char *out, size_t size)
{
	int everyone = strcmp(aw->nfs4_who, "EVERYONE@") == 0;

	if (aw->nfs4 && aw->nfs4_everyone)
		snprintf(out, size, "%s%s%s",
		         everyone ? "everyone (" : "the users of ",
		         aw->nfs4_who, everyone ? ")" : "");
	else if (aw->nfs4 && aw->named_id == ACL_ID_NONE)
		snprintf(out, size, "%s %s",
		         aw->named_is_group ? "group" : "user", aw->nfs4_who);
	else
		acl_entry_shown(aw->named_is_group, aw->named_id, out, size);
	return out;
}

/* "nfs4_setfacl -x 'SPEC' ps" for the NFSv4 entry number entry, spec
 * (exact: as nfs4_setfacl -x takes it), else "nfs4_setfacl -e ps (take
 * out entry N, SPEC)", appended to b. Returns 0, or -1 when b cannot
 * hold it. */
static int
nfs4_remove_command(unsigned entry, const char *spec, int exact, const char *ps,
                    struct buf *b)
{
	/* an NFSv4 entry by its text, which nfs4_setfacl -x matches */
	if (exact)
		return buf_printf(b, "nfs4_setfacl -x '%s' %s", spec, ps);
	return buf_printf(b, "nfs4_setfacl -e %s (take out entry %u, %s)", ps,
	                  entry, spec);
}

/* nfs4_remove_command() into out (size bytes; "" when it cannot hold
 * it whole). Returns out. */
static const char *
nfs4_fix(unsigned entry, const char *spec, int exact, const char *ps, char *out,
         size_t size)
{
	struct buf b;

	buf_init(&b, size - 1);
	str_copy(out, size,
	         nfs4_remove_command(entry, spec, exact, ps, &b) == 0 ? b.data
	                                                              : "");
	buf_free(&b);
	return out;
}

const char *
acl_nfs4_fix(const struct acl_who *aw, const char *ps, char *out, size_t size)
{
	return nfs4_fix(aw->nfs4_entry, aw->nfs4_spec, aw->nfs4_spec_exact, ps,
	                out, size);
}

int
acl_nfs4_more(const struct acl_who *aw, const char *ps, struct buf *b)
{
	if (aw->named_count <= 1)
		return 0;
	return buf_printf(
	    b, ", and %zu more entr%s: nfs4_getfacl %s lists them",
	    aw->named_count - 1, aw->named_count > 2 ? "ies" : "y", ps);
}

const char *
acl_nfs4_group_fix(const struct acl_who *aw, const char *ps, char *out,
                   size_t size)
{
	return nfs4_fix(aw->nfs4_group_entry, aw->nfs4_group_spec,
	                aw->nfs4_group_exact, ps, out, size);
}

const char *
acl_unread_why(const struct acl_who *aw, int err, char *out, size_t size)
{
	if (err == EBADMSG && aw->nfs4)
		str_copy(out, size, aw->nfs4_bad);
	else if (err == EBADMSG && aw->tag_unknown)
		snprintf(out, size, "it has an entry of unknown tag 0x%x",
		         aw->bad_tag);
	else if (err == EBADMSG && aw->masks > 1)
		snprintf(out, size, "it has %d mask entries, not one",
		         aw->masks);
	else if (err == EBADMSG)
		snprintf(out, size, "it is not a version 2 ACL (%d)",
		         aw->version);
	else if (err == E2BIG && aw->entries > ACL_ENTRIES_MAX)
		snprintf(out, size, "it has %u entries, more than %d",
		         aw->entries, ACL_ENTRIES_MAX);
	else if (err == E2BIG && aw->nfs4_bytes > ACL_NFS4_BYTES)
		snprintf(out, size,
		         "it is an NFSv4 ACL of %zu bytes, more "
		         "than %d",
		         aw->nfs4_bytes, ACL_NFS4_BYTES);
	else if (err == E2BIG)
		snprintf(out, size,
		         "it was larger than %s, then smaller: it changed "
		         "while it was read",
		         aw->nfs4 ? "the NFSv4 limit" : "the limit");
	else
		str_copy(out, size, strerror(err));
	return out;
}

/* The entries e (n of them, the first ACL_NAMED_KEPT kept),
 * "u:N,g:M", after sep and a comma between them, appended to b. Returns
 * 0, or -1 when b cannot hold them, or some were not kept: a command
 * that removes only a part of them is not given. */
static int
entries_put(const char *sep, size_t n, const struct acl_entry_id *e,
            struct buf *b)
{
	int rc = n > ACL_NAMED_KEPT ? -1 : 0;

	for (size_t i = 0; i < n && i < ACL_NAMED_KEPT; i++)
		rc |= buf_printf(b, "%s%c:%u", i > 0 ? "," : sep,
		                 e[i].is_group ? 'g' : 'u', e[i].id);
	return rc;
}

int
acl_remove_command(const struct acl_who *aw, const char *mod, const char *ps,
                   struct buf *b)
{
	/* with mod, the mask is set anew: the entries it hides now, and
	 * the owning group's own entry, whose access is to go too */
	size_t n = aw->named_count, m = mod != NULL ? aw->masked_count : 0;
	int rc;

	if (aw->nfs4)
		return nfs4_remove_command(aw->nfs4_entry, aw->nfs4_spec,
		                           aw->nfs4_spec_exact, ps, b);
	rc = buf_puts(b, "setfacl");
	rc |= entries_put(" -x ", n, aw->listed, b);
	rc |= entries_put(n > 0 ? "," : " -x ", m, aw->masked, b);
	if (mod != NULL && aw->group_named)
		rc |= buf_printf(b, "%sg:%u", n + m > 0 ? "," : " -x ",
		                 aw->group_gid);
	if (mod != NULL)
		rc |= buf_printf(b, " -m %s", mod);
	return rc | buf_printf(b, " %s", ps);
}

int
acl_masked_command(const struct acl_who *aw, const char *ps, struct buf *b)
{
	return buf_puts(b, "setfacl") |
	       entries_put(" -x ", aw->masked_count, aw->masked, b) |
	       buf_printf(b, " %s", ps);
}

/* The entries e (total of them, the first kept) for a message, as
 * acl_listed_shown() puts them, appended to b. Returns 0, or -1 when b
 * cannot hold them all. */
static int
entries_shown(const struct acl_entry_id *e, size_t total,
              const char *(*note)(int is_group, unsigned id), const char *ps,
              struct buf *b)
{
	size_t n = total < ACL_NAMED_LISTED ? total : ACL_NAMED_LISTED;
	char who[192];
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		rc |= buf_printf(
		    b, "%s%s%s",
		    i == 0                     ? ""
		    : i + 1 == n && total == n ? " and "
		                               : ", ",
		    acl_entry_shown(e[i].is_group, e[i].id, who, sizeof(who)),
		    note != NULL ? note(e[i].is_group, e[i].id) : "");
	if (total > n)
		rc |= buf_printf(b, " and %zu more (getfacl %s lists them)",
		                 total - n, ps);
	return rc;
}

int
acl_listed_shown(const struct acl_who *aw,
                 const char *(*note)(int is_group, unsigned id), const char *ps,
                 struct buf *b)
{
	return entries_shown(aw->listed, aw->named_count, note, ps, b);
}

int
acl_masked_shown(const struct acl_who *aw, const char *ps, struct buf *b)
{
	return entries_shown(aw->masked, aw->masked_count, NULL, ps, b);
}
