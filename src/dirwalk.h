/*
 * dirwalk.h - walking a path one component at a time, and who could
 * have put an entry in a directory on the way (the rule the paths of the
 * configuration files are checked by).
 */
#ifndef MTA_STS_SYNC_DIRWALK_H
#define MTA_STS_SYNC_DIRWALK_H

#include <stddef.h>
#include <sys/stat.h>

/* Symbolic links followed on the way to a file, at most (the kernel's
 * own limit). */
#define DIRWALK_LINKS 40

/* Who could have put an entry in a directory (dir_trust()). */
enum dir_trust {
	DIR_TRUSTED,      /* root or the running user (or the group) only */
	DIR_OTHER_OWNER,  /* it belongs to another user */
	DIR_OTHERS_WRITE, /* others may write it, and it is not sticky */
};

/* Whether the entries of the directory st can only be the doing of root
 * or of the running user: it belongs to one of them, and others may not
 * write it, unless it is sticky (as /tmp: only an entry's owner may
 * rename or remove it). Its group is trusted, as a file's is (older
 * Debian systems have /usr/local/etc group staff and group-writable). */
enum dir_trust dir_trust(const struct stat *st);

/* Take the next component of the path todo into comp (NAME_MAX + 1
 * bytes), and remove it from todo. Returns 0; 1 when it was longer than
 * NAME_MAX (comp holds its start); -1 when none is left. */
int path_next(char *todo, char *comp);

/* Put target (a symbolic link's) in front of what is left of a path,
 * todo (size bytes). Returns 0, or -1 when that would not fit. */
int path_splice(char *todo, size_t size, const char *target);

#endif
