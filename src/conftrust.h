/*
 * conftrust.h - the trust of the files a configuration names
 * (conftrust.c): whether the configuration, a key-file, a ca-file or the
 * program of a publish-command, and every directory on the way to it,
 * may be changed by no one but root and the running user; and the open
 * of such a file by the walk that judged it. Also the reading of
 * fs.protected_hardlinks, which the read of a policy file (publish.c)
 * asks too.
 */
#ifndef MTA_STS_SYNC_CONFTRUST_H
#define MTA_STS_SYNC_CONFTRUST_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * What a file a run trusts is for: the configuration (its publish-command
 * runs as the user running mta-sts-sync, root from many a crontab), the
 * program of a publish-command (run as that user), a ca-file (which says
 * whom the fetches trust), a key-file (which says what key the updates
 * are signed with; read for keys only, it may belong to another user,
 * and keyfile_check_mode() judges its mode: conf_open_trusted() judges
 * only the way to it).
 */
enum conf_trust {
	CONF_TRUST_CONF,
	CONF_TRUST_PROGRAM,
	CONF_TRUST_CA,
	CONF_TRUST_KEY
};
/*
 * Such a file (path, its stat st; fd, the descriptor st came from, whose
 * ACL is judged, or -1 when it was not opened: the ACL of path) must
 * belong to root or to the user
 * running mta-sts-sync, who alone may change its mode, and not be
 * writable by others; nor may any directory on the way to it, links
 * followed one at a time: whoever may write a directory may put another
 * file in its place. A sticky directory (as /tmp) is trusted. The group
 * of a configuration file and of its directories is trusted (older
 * Debian systems have /usr/local/etc group staff and group-writable);
 * that of a program or a ca-file only when group_trusted() (root's, the
 * running user's, staff): sshd's StrictModes refuses group write
 * altogether. The walk of the path must reach the file st says (the
 * same device and inode): one replaced meanwhile is refused. Returns 0,
 * or -1 with "path: reason; what to run (chown, chmod)" in out (len
 * bytes).
 */
int conf_trust_check(const char *path, int fd, const struct stat *st,
                     enum conf_trust what, char *out, size_t len);
/*
 * Open the file path to read it (O_RDONLY; a FIFO does not block) as
 * conf_trust_check() would judge it, and judge it so: the path walked
 * from / one component at a time, each directory entered from the one
 * before and judged from its descriptor, a link followed only by the
 * rule for links, and the file opened from the last directory's
 * descriptor without following a link, once its lookup there found it.
 * What is read is then what was judged: the kernel's lookup of the name,
 * following every link, could find another file, swapped in by whoever
 * may write a directory on the way (rename(2) with RENAME_EXCHANGE).
 * Returns 0 with the descriptor in *fd and its status in *st (a
 * directory, or any file that is not regular, is not judged: the reader
 * refuses it); -1 with errno set when it cannot be opened (ENOENT,
 * EACCES, ELOOP: as open(2) would say); -2 with the reason it is not
 * trusted in out (len bytes), *st filled when the file was reached.
 * Nothing is left open on failure.
 */
int conf_open_trusted(const char *path, enum conf_trust what, int *fd,
                      struct stat *st, char *out, size_t len);
/* Which rule the directory conf_trust_dir_check() judged broke. */
enum conf_dir_rule {
	CONF_DIR_OWNER,  /* it belongs to another user */
	CONF_DIR_OTHERS, /* others may write it (mode o+w, sticky or not) */
	/* another: a group or an ACL that may write it, a directory on
	 * the way, what could not be looked at */
	CONF_DIR_MORE
};
/* Why conf_trust_dir_check() refused a directory, for a caller that
 * advises otherwise. */
struct conf_dir_refusal {
	/* the length of the reason alone: out ended there leaves out the
	 * advice, which is for the directory judged (for a dir that does
	 * not exist, the one it lies under: a user's home, /tmp) */
	size_t reason;
	enum conf_dir_rule rule;
};
/*
 * The directory dir, where such a file would be looked for (a PATH entry
 * before the one that holds the program): whoever may add a file there
 * could put one of that name first, so it must be as safe as the file,
 * and a sticky one is not (anyone may make a new name in /tmp); so must
 * the directories on the way to it. One that does not exist is judged
 * where it would be made: the deepest directory on its way that exists.
 * Returns 0 (also when dir does not exist and nobody else could make
 * it), or -1 with "dir: reason; what to run" in out (len bytes), and
 * what the reason is and how long in *why (unless why is NULL).
 */
int conf_trust_dir_check(const char *dir, enum conf_trust what, char *out,
                         size_t len, struct conf_dir_refusal *why);
/*
 * Is fs.protected_hardlinks 1: may a user hard-link only a file they own
 * or may read and write (the kernel's may_linkat())? Then whoever could
 * link a file of several names into a directory could read it anyway,
 * and a key of root's cannot be linked there. Returns 1, 0 when it is 0,
 * or -1 with errno when it cannot be read (no /proc) or says neither.
 */
int conf_hardlinks_protected(void);
/*
 * Why a file of several names in a directory others may add entries to
 * is refused, into out (size bytes), starting "; this is refused as":
 * fs.protected_hardlinks, as read (prot, and errno err when -1:
 * conf_hardlinks_protected()), lets anyone link any file there, a key of
 * root's; setting it to 1 (or, unread, letting the run read it) also
 * lifts the refusal.
 */
void conf_hardlinks_why(int prot, int err, char *out, size_t size);

#endif
