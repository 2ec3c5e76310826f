/*
 * mountinfo.h - what /proc/self/mountinfo (proc(5)) tells of the mount a
 * file is on: its mount point, its file system's type, and the user that
 * made it (the user_id= option a FUSE mount shows). The trust checks
 * (acl.c) ask it of a FUSE mount, whose file system program shows
 * whatever owners and modes it likes: what it shows is trusted only on a
 * mount of root or of the running user. The kernel shows user_id= as the
 * mount's user namespace sees it (fuse_show_options()): root of a user
 * namespace that an unprivileged user made (rootless podman, unshare
 * -Urm) shows 0. Such a mount is in that namespace's mount namespace
 * only; a runner that joins it (nsenter -m) reads it as root's.
 */
#ifndef MTA_STS_SYNC_MOUNTINFO_H
#define MTA_STS_SYNC_MOUNTINFO_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Bytes of a line of mountinfo read, at most: three paths of PATH_MAX,
 * each escaped to four times its length, and the options. A longer line
 * is passed over; should the mount looked for not be found, that is
 * said (E2BIG). */
#define MOUNTINFO_LINE_MAX (16 * PATH_MAX + 4096)

/* What a line of mountinfo says of a mount. */
struct mount_facts {
	/* its mount point, unescaped (\040 a blank), and its file system's
	 * type ("fuse.sshfs", "fuseblk"), as printable text, cut with "..."
	 * should it not fit */
	char point[PATH_MAX];
	char fstype[64];
	int has_user;     /* it shows user_id=N, its maker: */
	unsigned user_id; /* that N */
};

/*
 * The line (len bytes, no newline; no NUL needed) of mountinfo:
 * "ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE
 * SUPER-OPTIONS", its device into *major and *minor and the rest into
 * *mf. Reads nothing past len. Returns 0, or -1 for a line not
 * understood (a field missing, a number too large, an escape that is
 * none).
 */
int mountinfo_line(const char *line, size_t len, unsigned *major,
                   unsigned *minor, struct mount_facts *mf);

/*
 * The first line of buf (len bytes of whole lines) whose device is
 * major:minor, into *mf; lines not understood are passed over, but that
 * one. Reads nothing past len. Returns 1 when found, 0 when not, or -1
 * with errno EBADMSG when its line is not understood.
 */
int mountinfo_find(const char *buf, size_t len, unsigned major, unsigned minor,
                   struct mount_facts *mf);

/* Devices whose facts a run keeps (mountinfo_lookup()); past that, the
 * oldest is dropped. */
#define MOUNTINFO_CACHE_MAX 8

/*
 * mountinfo_find() of the device dev (a file's st_dev) in
 * /proc/self/mountinfo, read a piece at a time, a line of more than
 * MOUNTINFO_LINE_MAX bytes passed over. Returns 1, 0, or -1 with errno:
 * the open's or the read's (ENOENT: /proc not mounted), EBADMSG, or
 * E2BIG when it was not found and a line was passed over as too long.
 * A device found is kept for the run, while the mount table stays as it
 * was (the kernel tells a change); one not found is read again.
 * Thread-safe.
 */
int mountinfo_lookup(dev_t dev, struct mount_facts *mf);

/* Drop what mountinfo_lookup() keeps: the next lookup reads the file
 * (after a change to it that the kernel does not tell: a test's file
 * standing for it). */
void mountinfo_forget(void);

#endif
