/*
 * mountinfo.h - what /proc/self/mountinfo (proc(5)) tells of the mount a
 * file is on: its mount point, its file system's type, and the user that
 * made it (the user_id= option a FUSE mount shows). The trust checks
 * (acl.c) ask it of a FUSE mount, whose file system program shows
 * whatever owners and modes it likes: what it shows is trusted only on a
 * mount of root or of the running user.
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

/*
 * mountinfo_find() of the device dev (a file's st_dev) in
 * /proc/self/mountinfo, read a piece at a time, a line of more than
 * MOUNTINFO_LINE_MAX bytes passed over. Returns 1, 0, or -1 with errno:
 * the open's or the read's (ENOENT: /proc not mounted), EBADMSG, or
 * E2BIG when it was not found and a line was passed over as too long.
 */
int mountinfo_lookup(dev_t dev, struct mount_facts *mf);

#endif
