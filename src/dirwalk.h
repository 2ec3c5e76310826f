/*
 * dirwalk.h - the directory of a file, opened without trusting what
 * others could have put on the way to it. The path is walked one
 * component at a time, each directory opened relative to the one before
 * (openat(2), never following a link by itself), and a symbolic link is
 * followed only when it is root's or the running user's, in a directory
 * that dir_trust() trusts (the rule the configuration files' paths are
 * checked by). What is then done in the directory is done relative to
 * its descriptor: nothing on the way can be swapped for a link meanwhile.
 * The walk (walk_run()) is also the one conftrust.c takes to the files a
 * run reads, with hooks of its own.
 */
#ifndef MTA_STS_SYNC_DIRWALK_H
#define MTA_STS_SYNC_DIRWALK_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

#include "util.h"

/* Symbolic links followed on the way to a file, at most (the kernel's
 * own limit). */
#define DIRWALK_LINKS 40

/* Who could have put an entry in a directory (dir_trust()). */
enum dir_trust {
	DIR_TRUSTED,      /* root or the running user (or the group) only */
	DIR_OTHER_OWNER,  /* it belongs to another user */
	DIR_OTHERS_WRITE, /* others may write it, and it is not sticky */
	DIR_LINK_FOREIGN, /* (link_trust()) a link of another user */
	/* (the walk) it is on a mount whose owners and modes others make
	 * up (acl_mount_check(): an SMB mount, a FUSE mount of another
	 * user), or whose kind cannot be told */
	DIR_MOUNT_MADE_UP,
};

/* Whether the entries of the directory st can only be the doing of root
 * or of the running user: it belongs to one of them, and others may not
 * write it, unless it is sticky (as /tmp: only an entry's owner may
 * rename or remove it). Its group is trusted here, as a configuration
 * file's is (older Debian systems have /usr/local/etc group staff and
 * group-writable); a link in it is followed only when root's or the
 * running user's (link_trust()), and a program or a ca-file asks more of
 * the group (conf_trust_check()). */
enum dir_trust dir_trust(const struct stat *st);

struct acl_who;

/*
 * Whether others than its owner may add an entry to the directory open
 * as dfd (its status st): its group or others, by its mode, or a user or
 * group that its ACL lets write (aw, read with acl_root_or_runner() as
 * the pass: a group of any name may hold a user of any name), besides
 * root and the running user. A POSIX ACL's named entries are bounded by
 * the mask, the group bits, but an NFSv4 ACL is not bounded by the mode:
 * a server may let a user add entries to a directory of mode 0755.
 * Returns 1, 0, or -1 with errno (and aw, for acl_unread_why()) when its
 * ACL cannot be read.
 */
int dir_shared(int dfd, const struct stat *st, struct acl_who *aw);

/*
 * Whether a symbolic link (its status lst) in a directory (its status
 * dst) may be followed: nobody but root or the running user could have
 * put it there. The directory is judged by dir_trust(), and the link's
 * owner must be root or the running user (root's own, as /var/www ->
 * /srv/www or Debian's /etc/ssl/certs, pass), whoever may write the
 * directory: where others may (dir_shared(): its group, a user or group
 * its ACL names, anyone in a sticky one, as /tmp), any of them may add a
 * link; where none may now, another user's link was made when they could
 * (before a chmod o-w, as a refusal advises) or given to them by root. A
 * link is not followed on the strength of the directory's owner either,
 * even where the walk trusts that owner with the file (a key in its
 * owner's directory): the link could lead to a file of root's that its
 * owner may not read. Returns DIR_TRUSTED, or why not
 * (DIR_LINK_FOREIGN: the link's owner).
 */
enum dir_trust link_trust(const struct stat *dst, const struct stat *lst);

/*
 * Open the entry name of the directory dfd without following it
 * (O_PATH | O_NOFOLLOW), its status into *st: a link's owner and its
 * target (link_target()) are then those of one link, where two lookups
 * by name could meet two, swapped between them by whoever may write the
 * directory (rename(2) with RENAME_EXCHANGE). Returns the descriptor, or
 * -1 with errno set.
 */
int entry_open_nofollow(int dfd, const char *name, struct stat *st);

/*
 * entry_open_nofollow() of an entry that is expected to be a directory
 * on the way: opened as a directory first (O_DIRECTORY), for only that
 * makes the kernel mount what an automounter (autofs) keeps there, where
 * a path-only open would meet the empty mount point; an entry that is no
 * directory (a link is none: O_PATH | O_NOFOLLOW | O_DIRECTORY refuses
 * it with ENOTDIR) is then opened as entry_open_nofollow() does, to be
 * judged. Returns the descriptor, or -1 with errno set.
 */
int entry_open_dir_first(int dfd, const char *name, struct stat *st);

/* The target of the link open as lfd (entry_open_nofollow()) into out
 * (size bytes, NUL-terminated). Returns 0, or -1 with errno set
 * (ENAMETOOLONG: it does not fit; ENOENT: it is empty). */
int link_target(int lfd, char *out, size_t size);

/* "WRITERS may write (mode M)", for a message about the directory open
 * as dfd (its status st) that dir_shared() says others may write, WRITERS
 * as dir_writers_shown() says; or "has an ACL that cannot be read (WHY),
 * so who may write it cannot be told (mode M)"; into out (size bytes).
 * Returns out. */
const char *dir_writers_words(int dfd, const struct stat *st, char *out,
                              size_t size);

/* "WORDS, and the link belongs to USER", for a message about a link (its
 * status lst) of another user than root or the running user in the
 * directory open as dfd (its status dst), into out (size bytes); WORDS as
 * dir_writers_words() says; where no one else may write the directory
 * now (dir_shared()), "only root or the user running mta-sts-sync may
 * write now (mode M), but the link belongs to USER, who may have made it
 * while others could write there". Returns out. */
const char *link_foreign_words(int dfd, const struct stat *dst,
                               const struct stat *lst, char *out, size_t size);

/* "is on MOUNT" (acl_mount_shown()) for a message about a link in the
 * directory open as dfd, which is on a mount whose owners and modes
 * others make up, or "is on a file system whose kind cannot be told
 * (WHY)"; into out (size bytes), and what to do about it into *fix
 * (acl_mount_fix(), or to run mta-sts-sync again). Returns out. */
const char *link_mount_words(int dfd, char *out, size_t size, const char **fix);

/* "check where it leads: if it is as it should be, chown -h root LINK
 * [and chmod o-w DIR], else replace it, or OTHER", the advice for a link
 * of another user (link_foreign_words()) at path link, into out (size
 * bytes): dir, if not NULL, is its directory, which others may write
 * (the link would be theirs again); other, what to do instead (name the
 * real path). Both callers' advice, kept in one. Returns out. */
const char *link_check_advice(const char *link, const char *dir,
                              const char *other, char *out, size_t size);

/* Whether the members of group gid may change what a run trusts to run
 * or to verify with (a publish-command's program, a ca-file): root's
 * group, the running user's own, or Debian's staff, whose members may
 * write /usr/local, ahead of /usr/bin in root's PATH, anyway. */
int group_trusted(gid_t gid);

/* Whether the group of name name, in the group database, is one that
 * group_trusted() trusts: its id into *gid. Returns 1, or 0 (no such
 * group, or one not trusted). */
int group_named_trusted(const char *name, unsigned *gid);

/* Whether name is the name of user id, or of group id when is_group,
 * in the user or group database (an NFSv4 ACL names its principals). */
int id_named(int is_group, unsigned id, const char *name);

/* "name (uid N)", or "uid N" for a user without a name, into out (size
 * bytes), for messages. Returns out. Thread-safe. */
const char *user_shown(uid_t uid, char *out, size_t size);
/* The same for a group: "name (gid N)" or "gid N". */
const char *group_shown(gid_t gid, char *out, size_t size);
/* The name of group gid, or its number when it has none, for a command
 * to run (chgrp NAME). Returns out. */
const char *group_name(gid_t gid, char *out, size_t size);
/* The same for user uid (install -o NAME). */
const char *user_name(uid_t uid, char *out, size_t size);

/* Who besides its owner may write the directory open as dfd (its status
 * st), for a message: "others", "its group", or, when its ACL says so,
 * "user NAME (uid N), whom its ACL names," (the first one but root and
 * the running user; or a group; for an NFSv4 ACL, "..., whom its NFSv4
 * ACL's entry N lets,", or "its group, whom its NFSv4 ACL lets,"), else
 * "the users or groups its ACL names". out (size bytes) may hold it.
 * Returns it. */
const char *dir_writers_shown(int dfd, const struct stat *st, char *out,
                              size_t size);

/* Take the next component of the path todo into comp (NAME_MAX + 1
 * bytes), and remove it from todo. Returns 0; 1 when it was longer than
 * NAME_MAX (comp holds its start); -1 when none is left. */
int path_next(char *todo, char *comp);

/* Put target (a symbolic link's) in front of what is left of a path,
 * todo (size bytes). Returns 0, or -1 when that would not fit. */
int path_splice(char *todo, size_t size, const char *target);

/*
 * The walk of a path from / (or the working directory), one component at
 * a time, that every walk here is: each entry opened from the directory
 * reached without following it (entry_open_dir_first()), a directory
 * entered, a link followed only where link_trust() allows, its target
 * read from the descriptor whose owner was judged. Where walks differ,
 * the caller's hooks (walk_ops) decide: a policy-file's directory
 * (dir_open_walked()) makes what is missing or stops there, while the
 * walk to a configuration, a key-file or a ca-file (conftrust.c) judges
 * each directory on the way and takes the file at its end.
 */
struct walk;

/* A walk's hooks: each returns 0 to go on, or what walk_run() is to
 * return (not 0), but for missing's WALK_AGAIN. */
struct walk_ops {
	/* Judge the directory reached before its entry (status st, just
	 * looked up) is used: entered, followed or taken; once per
	 * directory (walk's judged). NULL: nothing to judge. */
	int (*judge)(struct walk *w, const struct stat *st);
	/* The entry name of the directory reached does not exist: made
	 * and entered, put aside, or WALK_AGAIN to look at it again (made
	 * or replaced by another meanwhile). NULL: fail with ENOENT. */
	int (*missing)(struct walk *w, const char *name);
	/* The entry name (its status st) is neither a directory nor a
	 * link. NULL: fail with ENOTDIR. */
	int (*file)(struct walk *w, const char *name, const struct stat *st);
	/* The link name (open as lfd, its status lst) in the directory
	 * reached (dst) may not be followed: link_trust() says why. */
	int (*refused)(struct walk *w, const char *name, int lfd,
	               const struct stat *dst, const struct stat *lst,
	               enum dir_trust why);
	/* name could not be looked at or gone through (err; EAGAIN: it
	 * changed each time it was looked at). */
	int (*fail)(struct walk *w, const char *name, int err);
};

/* What missing returns to have the entry looked at again. */
#define WALK_AGAIN 2

/* A walk under way. */
struct walk {
	const struct walk_ops *ops;
	void *ctx;         /* the caller's, for its hooks */
	int fd;            /* the directory reached, path-only (-1: none) */
	int judged;        /* ops->judge passed it */
	const char *entry; /* the entry of it that ops->judge is asked
	                      about (its name), while it is */
	struct buf at;     /* its path, links replaced by their
	                      targets ("" for the working directory) */
	char todo[2 * PATH_MAX]; /* what is left, links' targets in front */
	int links;               /* followed so far */
	/* what was not walked below fd ("/x/y": missing directories, or a
	 * link that is not followed and what follows it), for
	 * dir_walk_identity(); ".." takes back a component of it down to
	 * floor only (not the link: where it leads is not known) */
	struct buf rest;
	size_t floor;
	int stopped; /* at a link not followed, or an error: all is rest */
};

/* Set w up to walk path with the hooks ops (ctx: theirs), from / for an
 * absolute path, else from the working directory. Returns 0, or -1 with
 * errno set (w->fd -1: the start could not be opened; else the path is
 * too long). walk_free() w either way. */
int walk_init(struct walk *w, const struct walk_ops *ops, void *ctx,
              const char *path);

/* Walk what is left of w's path. Returns 0 at its end, or what a hook
 * returned to stop. */
int walk_run(struct walk *w);

/* Close and free what w holds, errno kept. */
void walk_free(struct walk *w);

/* The path of entry name of the directory reached, for a message, in
 * out (size bytes). Returns out. */
const char *walk_entry(const struct walk *w, const char *name, char *out,
                       size_t size);

/*
 * Open the directory dir, walked as above: symbolic links of root or
 * the running user followed, one that someone else could have put there
 * refused, naming it, whom its directory or the link belongs to and what
 * to do. With create, missing
 * directories are made (mode 0755 whatever the umask, set-group-ID kept
 * where the directory above passes it on; by root, in a directory of
 * another user, given that user and group: a try as root must not leave
 * directories the service user cannot write) and opened without
 * following a link, so that no one can make a chmod or chown land
 * elsewhere. Returns 0 with the descriptor in
 * *fd (read-only; a path-only descriptor when the directory may not be
 * read); 1, without create, when a directory on the way does not exist;
 * -1 with the reason in d.
 */
int dir_open_walked(const char *dir, int create, int *fd, struct diag *d);

/*
 * The identity of directory dir into id (reset first), for telling
 * whether two paths name one directory: the device and inode of what
 * dir_open_walked(dir, 1) would open, as far as the directories exist
 * and the links on the way may be followed, and the rest of the path
 * after that, made normal (without "//", "/./", and "x/.." where x does
 * not exist yet: a publish creates it). A link that would be refused
 * is not followed: two paths through it name one directory only when
 * they are written alike.
 */
void dir_walk_identity(const char *dir, struct buf *id);

/* Run as root, give the file or directory open as fd the owner and group
 * of the directory dfd when another user owns that: what a try as
 * root leaves there is the service user's to replace. Best effort. */
void own_like_dir(int fd, int dfd);

/* What to add to a message about a file system that refused a write
 * with err: under systemd, ProtectSystem=strict (contrib's unit has it)
 * makes every directory the unit does not name read-only. */
const char *erofs_hint(int err);

/* What to add to a message about path (as it is to be shown), which
 * refused with err what this job asked of it, into out (size bytes): for
 * EACCES or EPERM, "; PATH must be ABLE by user NAME, as whom this job
 * runs" (able: "readable", "writable"; "uid N" for a user without a
 * login name), so that one who runs it by hand, or set up a service
 * user, sees whose access is missing; else "". */
void runner_hint(int err, const char *path, const char *able, char *out,
                 size_t size);
/* What to add to a message about the directory dir, which refused with
 * err to take a new entry, into out (size bytes): for EACCES or EPERM,
 * runner_hint()'s "must be writable"; else erofs_hint(err). */
void dir_write_hint(int err, const char *dir, char *out, size_t size);

#endif
