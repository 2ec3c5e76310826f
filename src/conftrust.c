/*
 * conftrust.c - the trust of the files a configuration names: the
 * configuration and its includes, a key-file, a ca-file and the program
 * of a publish-command (conftrust.h).
 *
 * A file is trusted when no one but root and the running user may change
 * it, nor any directory on the way to it: its owner, its mode, its ACL
 * (POSIX, NFSv4; an SMB mount, a FUSE mount of another user are
 * refused), the group that may write it.
 * The way is walked from / one component at a time (dirwalk.h), each
 * directory judged from its descriptor and a link followed only when its
 * owner could not have made it to mislead, and a file to be read is
 * opened from the last directory's descriptor: what is read is what was
 * judged. A refusal names the file, who could change it and what they
 * could then do, and the commands that mend it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "conftrust.h"
#include "dirwalk.h"
#include "util.h"

/* How the messages of conf_trust_check() name a file, what whoever may
 * change it could do, and where to keep it instead of a directory of
 * another user further up; and whether a group that may write it or a
 * directory on the way must be one of group_trusted()'s. */
struct trust_words {
	const char *file;
	const char *harm;
	const char *keep;
	int own_groups;
};

static const struct trust_words trust_words[] = {
    [CONF_TRUST_CONF] = {"configuration file",
                         "make mta-sts-sync run a command (publish-command)",
                         "keep the configuration in directories of root (as "
                         "/etc)",
                         0},
    [CONF_TRUST_PROGRAM] = {"program",
                            "change the command mta-sts-sync runs "
                            "(publish-command)",
                            "install the program in directories of root (as "
                            "/usr/local/bin)",
                            1},
    [CONF_TRUST_CA] = {"file",
                       "make mta-sts-sync trust a certificate authority of "
                       "their choosing, and mirror or verify a policy of "
                       "theirs (ca-file)",
                       "keep the file in directories of root (as /etc/ssl)", 1},
    [CONF_TRUST_KEY] = {"key file",
                        "make mta-sts-sync read another file as its key",
                        "keep the key in directories of root (as /etc)", 0},
};

/*
 * A refusal being written into out (len bytes): the reason, then what to
 * do about it (a chown, a chmod, where to keep the file), which is for
 * the file or directory judged. reason is the reason's length, where the
 * advice starts ("; chmod o-w DIR"): a caller that advises otherwise
 * (conf_trust_dir_check()'s, for a PATH entry that does not exist, whose
 * judged directory is one it lies under) ends out there, whatever the
 * words. A message whose advice is woven into its sentence (a file of
 * several names) is all reason.
 */
struct refusal {
	char *out;
	size_t len;
	size_t reason;
};

/* Write the reason of r (fmt), which ends it for now. */
static void __attribute__((format(printf, 2, 3)))
refusal_reason(struct refusal *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->out, r->len, fmt, ap);
	va_end(ap);
	r->reason = strlen(r->out);
}

/* The whole of what r holds is its reason: an advice woven into its
 * sentence, or none left after a cut. */
static void
refusal_all_reason(struct refusal *r)
{
	r->reason = strlen(r->out);
}

/* Add the advice of r (fmt, from its separator: "; chmod o-w DIR") after
 * its reason, cut where it does not fit, as one snprintf() of both would
 * cut them. Returns -1, the refusal's. */
static int __attribute__((format(printf, 2, 3)))
refusal_advice(struct refusal *r, const char *fmt, ...)
{
	size_t n = strlen(r->out);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->out + n, r->len - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "ps: what is writable by group G, mode M: any member could harm;
 * chmod g-w path" into r, for path (st) writable by a group
 * writers_check() refuses; lead is "ps: what", the file trusted and
 * what path is to it, could what whoever may write it could do first (a
 * directory: put another file in its place). Where the mode does not
 * show it, an NFSv4 ACL's entry does (aw): "ps: what has an NFSv4 ACL
 * whose entry N (SPEC) lets group G write it: ...; nfs4_setfacl -x
 * 'SPEC' path" (chmod g-w need not take it away). Returns -1. */
static int
group_refused(const char *lead, const char *could, const char *path,
              const struct stat *st, const struct acl_who *aw,
              const struct trust_words *w, struct refusal *r)
{
	char grp[128], fix[2 * PATH_MAX + 256], sh[DIAG_MSG_MAX];
	/* the path as a shell takes it: the commands are to be pasted */
	const char *ps = path_shell(path, sh, sizeof(sh));

	if ((st->st_mode & S_IWGRP) == 0 && aw->nfs4 &&
	    aw->nfs4_group_entry != 0) {
		refusal_reason(
		    r,
		    "%s has an NFSv4 ACL whose entry %u (%s) lets group %s "
		    "write it: any member could %s%s",
		    lead, aw->nfs4_group_entry, aw->nfs4_group_spec,
		    group_shown(st->st_gid, grp, sizeof(grp)), could, w->harm);
		return refusal_advice(
		    r, "; %s", acl_nfs4_group_fix(aw, ps, fix, sizeof(fix)));
	}
	refusal_reason(r,
	               "%s is writable by group %s, mode %04o: any member "
	               "could %s%s",
	               lead, group_shown(st->st_gid, grp, sizeof(grp)),
	               (unsigned)(st->st_mode & 07777), could, w->harm);
	return refusal_advice(r, "; chmod g-w %s", ps);
}

/* "lead has an ACL that lets user U write it ...; setfacl -x u:N path,
 * or setfacl -b path" into r, for path (st), whose ACL lets a user or
 * group that is not trusted write it (aw); for an NFSv4 ACL, "lead has
 * an NFSv4 ACL whose entry N (SPEC) lets ...; nfs4_setfacl -x 'SPEC'
 * path"; lead and could as for group_refused(). Returns -1. */
static int
acl_refused(const char *lead, const char *could, const char *path,
            const struct stat *st, const struct acl_who *aw,
            const struct trust_words *w, struct refusal *r)
{
	char who[192], fix[2 * PATH_MAX + 256], sh[DIAG_MSG_MAX];
	const char *ps = path_shell(path, sh, sizeof(sh));

	if (aw->nfs4) {
		refusal_reason(r,
		               "%s has an NFSv4 ACL whose entry %u (%s) lets "
		               "%s write it: %s could %s%s",
		               lead, aw->nfs4_entry, aw->nfs4_spec,
		               acl_named_shown(aw, who, sizeof(who)),
		               aw->nfs4_everyone    ? "anyone"
		               : aw->named_is_group ? "any member"
		                                    : "that user",
		               could, w->harm);
		return refusal_advice(r, "; %s",
		                      acl_nfs4_fix(aw, ps, fix, sizeof(fix)));
	}
	refusal_reason(r,
	               "%s has an ACL that lets %s write it (mode %04o, whose "
	               "group bits are the ACL's mask): %s could %s%s",
	               lead, acl_named_shown(aw, who, sizeof(who)),
	               (unsigned)(st->st_mode & 07777),
	               aw->named_is_group ? "any member" : "that user", could,
	               w->harm);
	return refusal_advice(
	    r, "; setfacl -x %c:%u %s (or setfacl -b %s: no ACL)",
	    aw->named_is_group ? 'g' : 'u', aw->named_id, ps, ps);
}

/*
 * What to do about a file or directory that was removed or replaced in
 * the directory dir while it was checked, into out (size bytes): once is
 * a coincidence (an editor saving it, a package upgrade), again and
 * again is something or someone changing it under the run. Returns out.
 */
static const char *
rerun_advice(const char *dir, char *out, size_t size)
{
	char shell[2 * PATH_MAX];

	snprintf(out, size,
	         "run mta-sts-sync again, and if this recurs, find what "
	         "changes %s while it runs (auditctl -w %s -p wa)",
	         path_shown(dir, '\0', NULL, 0),
	         path_shell(dir, shell, sizeof(shell)));
	return out;
}

/* rerun_advice() for path, removed or replaced in its directory: the
 * directory path names, or "." for a name without one. */
static const char *
rerun_advice_in(const char *path, char *out, size_t size)
{
	char *dir = path_dir(path);

	rerun_advice(dir, out, size);
	free(dir);
	return out;
}

/* "lead: it has an SMB (CIFS) ACL ...: move it to a local file system"
 * into r, for a file or directory with an ACL of a model not judged
 * (aw->model, aw->xattr), or on a mount whose owners and modes others
 * make up (aw->xattr NULL: acl_mount_check(), an SMB mount, a FUSE
 * mount of another user): its server enforces permissions that the mode
 * need not tell and that are not read here, or its program shows what
 * it likes, so who may write it cannot be told, and it is not trusted.
 * Returns -1. */
static int
acl_model_refused(const char *lead, const struct acl_who *aw,
                  const struct trust_words *w, struct refusal *r)
{
	char mount[PATH_MAX + 512];

	if (aw->xattr == NULL) {
		refusal_reason(r,
		               "%s: it is on %s, so who may write it, and %s, "
		               "cannot be told from its mode",
		               lead, acl_mount_shown(aw, mount, sizeof(mount)),
		               w->harm);
		return refusal_advice(r, "; %s: %s", acl_mount_fix(aw),
		                      w->keep);
	}
	refusal_reason(r,
	               "%s: it has an %s ACL (%s), which its server enforces "
	               "and mta-sts-sync cannot judge, so who may write it, "
	               "and %s, cannot be told from its mode",
	               lead, aw->model, aw->xattr, w->harm);
	return refusal_advice(r, "; move it to a local file system: %s",
	                      w->keep);
}

/* "lead: its ACL cannot be read (why): ...; setfacl -b path" into r,
 * for path, whose ACL acl_write_read() could not read or judge (err,
 * aw); but a path gone, or no longer a directory on the way (by name,
 * as a directory's ACL is read), was removed or replaced since its
 * status was looked at, by whoever may: no ACL to remove, and not
 * trusted, as path_changed() says. Returns -1. */
static int
acl_unread(const char *lead, const char *path, const struct acl_who *aw,
           int err, const struct trust_words *w, struct refusal *r)
{
	char why[128], todo[2 * PATH_MAX + 96], sh[DIAG_MSG_MAX];
	const char *ps = path_shell(path, sh, sizeof(sh));

	if (err == ENOENT || err == ENOTDIR || err == ESTALE || err == ELOOP) {
		refusal_reason(r,
		               "%s: %s (removed or replaced while it was "
		               "checked): not trusted, as whoever may do so "
		               "could %s",
		               lead, strerror(err), w->harm);
		return refusal_advice(
		    r, "; %s", rerun_advice_in(path, todo, sizeof(todo)));
	}
	if (err == ENOTSUP && aw->model != NULL)
		return acl_model_refused(lead, aw, w, r);
	if (err == ACL_ENOPROC) {
		refusal_reason(r,
		               "%s: its ACL cannot be read: /proc, through "
		               "which it is read, is not mounted",
		               lead);
		return refusal_advice(r, ": mount proc (mount -t proc proc "
		                         "/proc), or run mta-sts-sync where it "
		                         "is");
	}
	acl_unread_why(aw, err, why, sizeof(why));
	refusal_reason(r,
	               "%s: its ACL cannot be read (%s), so who may write it, "
	               "and %s, cannot be told",
	               lead, why, w->harm);
	if (aw->nfs4)
		return refusal_advice(r,
		                      "; nfs4_getfacl %s shows it, "
		                      "nfs4_setfacl -e %s mends it",
		                      ps, ps);
	return refusal_advice(r, "; setfacl -b %s removes it", ps);
}

/*
 * Whether path (st) may be written by a group or a user that the kind of
 * file w names does not trust: for a program or a ca-file, an owning
 * group but group_trusted()'s (a deploy script of root:www-data, mode
 * 0775, is the web server's to change), while a configuration trusts its
 * group (Debian's /usr/local/etc is group staff, group-writable); and for
 * every kind, a user or group that its ACL names (setfacl -m
 * u:deploy:rwx, the usual grant to a deploy user, leaves a root:root
 * file of mode 0775), but root, the running user or a trusted group.
 * With sticky_ok, a sticky directory passes: no one but an entry's owner
 * may replace an entry of it; but not on an SMB mount, nor on a FUSE
 * mount of another user (acl_mount_check()), which are refused whatever
 * their mode. lead and could as for group_refused().
 * Returns 0, or -1 with the reason in r.
 */
static int
writers_check(const char *lead, const char *could, const char *path, int fd,
              const struct stat *st, int sticky_ok, const struct trust_words *w,
              struct refusal *r)
{
	struct acl_who aw;

	memset(&aw, 0, sizeof(aw));
	/* an SMB mount's sticky bit may be its dir_mode, that nobody
	 * enforces, a FUSE mount's what its program likes: refused before
	 * the sticky bit is trusted */
	if (sticky_ok && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) != 0)
		return acl_mount_check(fd, path, &aw) == -1
		           ? acl_unread(lead, path, &aw, errno, w, r)
		           : 0;
	if (acl_write_read(fd, path, st, &aw) == -1)
		return acl_unread(lead, path, &aw, errno, w, r);
	if (w->own_groups && aw.group && !group_trusted(st->st_gid))
		return group_refused(lead, could, path, st, &aw, w, r);
	if (aw.named)
		return acl_refused(lead, could, path, st, &aw, w, r);
	return 0;
}

/* Whether an error of a lookup on the way (err) says what was there
 * went or became another kind of file, as a change would: the entry is
 * gone, or is no longer a directory (or no longer a link's target of
 * one), or was replaced on a network file system; not an error of a
 * server or a mount that cannot be reached (EHOSTDOWN, ETIMEDOUT, EIO,
 * an automount that failed) nor a search permission. */
static int
path_change_errno(int err)
{
	return err == ENOENT || err == ENOTDIR || err == ELOOP || err == ESTALE;
}

/*
 * The check of path (ps, as shown) could not look at what, on the way to
 * it (err): refused, as a check that skips what cannot be looked at
 * could be made to pass by whoever may take a directory away for a
 * moment (w names the file and what they could then do); but an error
 * that is no change (path_change_errno()) is said as itself, with no
 * blame. Returns -1 with "ps: reason" in r.
 */
static int
path_changed(const char *ps, const char *what, int err,
             const struct trust_words *w, struct refusal *r)
{
	char todo[2 * PATH_MAX + 96];

	if (err == ENAMETOOLONG) {
		refusal_reason(r,
		               "%s: the directories on the way to it cannot be "
		               "checked: %s...: %s",
		               ps, path_shown(what, '\0', NULL, 0),
		               strerror(err));
		return refusal_advice(r, "; give a shorter path");
	}
	if (!path_change_errno(err)) {
		refusal_reason(r,
		               "%s: the directories on the way to it cannot be "
		               "checked: %s: %s: not trusted until they can be",
		               ps, path_shown(what, '\0', NULL, 0),
		               strerror(err));
		return refusal_advice(r,
		                      "; if it is on a network file system "
		                      "or an automount, check that its "
		                      "server answers, then run mta-sts-sync "
		                      "again");
	}
	refusal_reason(r,
	               "%s: the directories on the way to it cannot be "
	               "checked: %s: %s (removed or replaced while it was "
	               "checked): not trusted, as whoever may do so could %s",
	               ps, path_shown(what, '\0', NULL, 0), strerror(err),
	               w->harm);
	return refusal_advice(r, "; %s",
	                      rerun_advice_in(what, todo, sizeof(todo)));
}

/* The walk of a path to a file a run trusts (path_walk_run()): the walk
 * (walk_run(): the directory reached, open, and what is left of the
 * path), and what its hooks need and find. */
struct path_walk {
	struct walk walk;
	char at[2 * PATH_MAX]; /* the entry looked up last: what could not
	                          be looked at (-1), or the file */
	const char *path;      /* the file checked, and what it is */
	const struct trust_words *tw;
	struct refusal *r; /* why it is not trusted (-2) */
	/* what the path named when it was looked at by name, or NULL: the
	 * walk must reach that very file */
	const struct stat *named;
	int open;        /* open the file reached, to read it, as fd */
	int fd;          /* (-1: not open) */
	struct stat fst; /* its status */
	int at_file;     /* the walk ended at a file (walk_file()) */
};

/* Whether a component is left in todo: something to look up in what the
 * walk has reached. */
static int
components_left(const char *todo)
{
	while (*todo == '/')
		todo++;
	return *todo != '\0';
}

/* Whether a and b are the status of one file. */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* "it has N names (hard links): it may be another file linked there ...;
 * remove this name (rm PATH), and put the real WHAT in its place", then
 * tail, into out (size bytes), for the file w->path (its status file, of
 * w->tw's kind; the entry the walk judges, or else w->at), which may be another
 * file (a key, a secret of root's) that whoever may add entries to its
 * directory hard-linked there: a chown of it, or of the directory, would hand
 * that file over or have it read. */
static void
walk_linked_fix(const struct path_walk *w, const struct stat *file,
                const char *tail, char *out, size_t size)
{
	char sh[DIAG_MSG_MAX], at[2 * PATH_MAX];

	/* the name reached, not a link to it that rm would remove */
	if (w->walk.entry != NULL)
		walk_entry(&w->walk, w->walk.entry, at, sizeof(at));
	else
		str_copy(at, sizeof(at), w->at);
	snprintf(out, size,
	         "it has %lu names (hard links), so it may be another file "
	         "linked there (a key or a secret of root's, say): remove "
	         "this name (rm %s) and put the real %s in its place%s",
	         (unsigned long)file->st_nlink, path_shell(at, sh, sizeof(sh)),
	         w->tw->file, tail);
}

/*
 * The directory reached (w->walk, its status st), which holds the key file
 * w->path (its status file), belongs to another user than root, the
 * running user and the key's owner, the three it may belong to: say so,
 * naming its owner and the key's, and what to do, in w->r: for a run
 * of root, give the key to the directory's owner (a daemon keeps its
 * directory); give the directory to the key's owner or to root (chown by
 * number: a name may be missing or stand for another user), or move the
 * key. Words instead of the commands where they would not fit whole. A
 * key of several names may be another file (a key or a secret of root's)
 * that the directory's owner linked there: neither chown then, which
 * would give that file to them or make the run read it as its key, but
 * remove that name and put the real key there (walk_linked_fix()).
 */
static void
key_dir_refused(struct path_walk *w, const struct stat *st,
                const struct stat *file)
{
	char owner[128], key_owner[128], sh[DIAG_MSG_MAX], ksh[DIAG_MSG_MAX];
	const char *ds = path_shell(w->walk.at.data, sh, sizeof(sh));
	struct buf fix;
	int n, rc = 0;

	n = snprintf(w->r->out, w->r->len,
	             "%s: its directory %s belongs to %s, not to root, to the "
	             "user running mta-sts-sync (uid %u) or to the key's "
	             "owner, %s: its owner could put another file in its "
	             "place and %s; ",
	             path_shown(w->path, '\0', NULL, 0),
	             path_shown(w->walk.at.data, '\0', NULL, 0),
	             user_shown(st->st_uid, owner, sizeof(owner)),
	             (unsigned)geteuid(),
	             user_shown(file->st_uid, key_owner, sizeof(key_owner)),
	             w->tw->harm);
	if (n < 0 || (size_t)n >= w->r->len) {
		text_mark_cut(w->r->out, w->r->len,
		              0); /* no advice, and said */
		refusal_all_reason(w->r);
		return;
	}
	w->r->reason = (size_t)n - 2; /* before its "; " */
	if (file->st_nlink > 1) {
		walk_linked_fix(w, file, "", w->r->out + n,
		                w->r->len - (size_t)n);
		return;
	}
	buf_init(&fix, w->r->len - (size_t)n - 1);
	/* the key to the directory's owner first, which leaves the daemon
	 * its directory; a run of root reads it all the same */
	if (geteuid() == 0)
		rc |= buf_printf(&fix,
		                 "chown %u %s (the key to the directory's "
		                 "owner), or ",
		                 (unsigned)st->st_uid,
		                 path_shell(w->path, ksh, sizeof(ksh)));
	if (file->st_uid != 0)
		rc |= buf_printf(&fix, "chown %u %s (to the key's owner) or ",
		                 (unsigned)file->st_uid, ds);
	rc |= buf_printf(&fix,
	                 "chown root %s, or move the key to a directory of "
	                 "root or of its owner",
	                 ds);
	str_copy(w->r->out + n, w->r->len - (size_t)n,
	         rc == 0 ? fix.data
	                 : "give the key to the directory's owner, or the "
	                   "directory to the key's owner or to root, or move "
	                   "the key to a directory of root or of its owner");
	buf_free(&fix);
}

/*
 * The directory reached (w->walk) is on the way to the file (own: it
 * holds the file itself), and an entry of it was just looked up: whoever
 * may write it may put another entry in its place, so it must be as safe
 * as the file (w->tw names it). It is judged from its descriptor: the
 * directory the walk goes through, whatever its name stands for by now.
 * A sticky directory (as /tmp) lets no one but an entry's owner rename or
 * remove it; the group of a directory is trusted as that of the file is
 * (writers_check()). A key file's own directory may belong to the owner
 * of the key looked up there (file: its status; NULL for a directory on
 * the way), who may write any secret into the key anyway: a daemon's
 * directory that holds its key (/var/lib/knot, of user knot). Its owner
 * could put there only files of theirs (a link of theirs is not
 * followed; a hard link to another's file is no longer the key's
 * owner's), so the key read is still one they could write. Returns 0, or
 * -2 with the reason in w->r.
 */
static int
walk_dir_judge(struct path_walk *w, int own, const struct stat *file)
{
	const char *cur = w->walk.at.data;
	const char *ps = path_shown(w->path, '\0', NULL, 0);
	const char *ds = path_shown(cur, '\0', NULL, 0);
	const char *where = own ? "its directory" : "the directory on its path";
	char lead[2 * PATH_MAX + 64], sh[DIAG_MSG_MAX];
	/* the directory as a shell takes it, in the commands */
	const char *dsh = path_shell(cur, sh, sizeof(sh));
	enum dir_trust trust;
	struct stat st;

	if (fstat(w->walk.fd, &st) == -1) {
		path_changed(ps, cur, errno, w->tw, w->r);
		return -2;
	}
	trust = dir_trust(&st);
	if (trust == DIR_OTHER_OWNER && own && file != NULL &&
	    w->tw == &trust_words[CONF_TRUST_KEY] && file->st_uid == st.st_uid)
		trust = (st.st_mode & S_IWOTH) != 0 ? DIR_OTHERS_WRITE
		                                    : DIR_TRUSTED;
	if (trust == DIR_OTHER_OWNER && own && file != NULL &&
	    w->tw == &trust_words[CONF_TRUST_KEY]) {
		key_dir_refused(w, &st, file);
		return -2;
	}
	if (trust == DIR_OTHER_OWNER) {
		refusal_reason(
		    w->r,
		    "%s: %s %s belongs to uid %u, not to root or to "
		    "the user running mta-sts-sync (uid %u): its "
		    "owner could put another file in its place and %s",
		    ps, where, ds, (unsigned)st.st_uid, (unsigned)geteuid(),
		    w->tw->harm);
		refusal_advice(w->r, "; %s%s",
		               own ? "chown root " : w->tw->keep,
		               own ? dsh : "");
		return -2;
	}
	if (trust == DIR_OTHERS_WRITE) {
		refusal_reason(
		    w->r,
		    "%s: %s %s is writable by others (mode %04o): "
		    "anyone could put another file in its place and %s",
		    ps, where, ds, (unsigned)(st.st_mode & 07777), w->tw->harm);
		refusal_advice(w->r, "; chmod o-w %s", dsh);
		return -2;
	}
	snprintf(lead, sizeof(lead), "%s: %s %s", ps, where, ds);
	return writers_check(lead, "put another file in its place and ", cur,
	                     w->walk.fd, &st, 1, w->tw, w->r) == -1
	           ? -2
	           : 0;
}

/* The walk hook that judges the directory reached once an entry of it
 * (st) is looked up (walk_dir_judge()): the entry ends the path when it
 * is the file, no directory or link with nothing after it. */
static int
walk_judge_hook(struct walk *ww, const struct stat *st)
{
	int end = !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode) &&
	          !components_left(ww->todo);

	return walk_dir_judge(ww->ctx, end, end ? st : NULL);
}

/* The walk hook for the entry name that could not be looked at or gone
 * through (err): its path into w->at (for "..", the directory it leads
 * up from), errno err. Returns -1. */
static int
walk_fail_hook(struct walk *ww, const char *name, int err)
{
	struct path_walk *w = ww->ctx;

	if (strcmp(name, "..") == 0)
		str_copy(w->at, sizeof(w->at), ww->at.data);
	else
		walk_entry(ww, name, w->at, sizeof(w->at));
	errno = err;
	return -1;
}

/*
 * The walk hook for the link name (its status lst, open as lfd) in the
 * directory reached (its status dst), which could be another user's
 * doing, who could point it at a file of theirs (link_trust()): say
 * which link, whose, and what to do in w->r: check it, and give it to
 * root only if it is as it should be (a tarball unpacked with its owners
 * kept), for whoever made it may have pointed it elsewhere while others
 * could write the directory; or, on a mount whose owners others make up
 * (why DIR_MOUNT_MADE_UP), which mount and what to do. Returns -2.
 */
static int
walk_link_refused(struct walk *ww, const char *name, int lfd,
                  const struct stat *dst, const struct stat *lst,
                  enum dir_trust why)
{
	struct path_walk *w = ww->ctx;
	char to[PATH_MAX], shown[128], whose[PATH_MAX + 768];
	char advice[2 * DIAG_MSG_MAX + 128];
	const char *ls, *fix;

	walk_entry(ww, name, w->at, sizeof(w->at));
	ls = path_shown(w->at, '\0', NULL, 0);
	if (link_target(lfd, to, sizeof(to)) == -1)
		to[0] = '\0';
	str_printable(to, strlen(to), shown, sizeof(shown));
	/* the directory passed walk_dir_judge(): only the link's owner can
	 * be wrong, or the mount that shows it, changed since */
	if (why == DIR_MOUNT_MADE_UP) {
		/* fix: set by link_mount_words(), for the advice */
		refusal_reason(
		    w->r,
		    "%s: %s is a symbolic link (to \"%s\") in a directory "
		    "that %s: not followed, as whoever made it could point "
		    "it at another file and %s",
		    path_shown(w->path, '\0', NULL, 0), ls, shown,
		    link_mount_words(ww->fd, whose, sizeof(whose), &fix),
		    w->tw->harm);
		refusal_advice(w->r, "; %s: %s", fix, w->tw->keep);
		return -2;
	}
	refusal_reason(
	    w->r,
	    "%s: %s is a symbolic link (to \"%s\") in a directory that %s: "
	    "not followed, as whoever made it could point it at another "
	    "file and %s",
	    path_shown(w->path, '\0', NULL, 0), ls, shown,
	    link_foreign_words(ww->fd, dst, lst, whose, sizeof(whose)),
	    w->tw->harm);
	refusal_advice(w->r, "; %s",
	               link_check_advice(w->at, NULL,
	                                 "name the file by its real path",
	                                 advice, sizeof(advice)));
	return -2;
}

/* The file reached is not the one looked at a moment before: whoever may
 * write its directory replaced it meanwhile (rename(2), as with
 * RENAME_EXCHANGE), and it is not trusted, whatever it is now. Says so in
 * w->r. Returns -2. */
static int
walk_replaced(struct path_walk *w)
{
	char what[2 * PATH_MAX + 96];

	refusal_reason(w->r,
	               "%s: %s was replaced by another file while it was "
	               "checked: not trusted, as whoever may do so could %s",
	               path_shown(w->path, '\0', NULL, 0),
	               path_shown(w->at, '\0', NULL, 0), w->tw->harm);
	refusal_advice(w->r, "; %s",
	               rerun_advice(w->walk.at.data, what, sizeof(what)));
	return -2;
}

/*
 * The entry comp of the directory reached (its status st, at its
 * lookup) ends the path: the file. It must be the file the path named
 * when looked at by name (w->named); to be read (w->open), it is opened
 * from the directory reached, without following a link, and must be the
 * file looked up: what is read is what the walk judged, not what another
 * lookup of the name (the kernel's, following every link) would find.
 * Returns 0, -1 with errno set, or -2 (walk_replaced()).
 */
static int
walk_file(struct path_walk *w, const char *comp, const struct stat *st)
{
	int fd, err;

	if (w->named != NULL && !same_file(w->named, st))
		return walk_replaced(w);
	if (!w->open)
		return 0;
	/* anything but a regular file is refused by the reader from its
	 * status: a device or a FIFO is not opened (an open may act, as a
	 * tape's rewind or a watchdog's start), only looked at (O_PATH);
	 * O_NONBLOCK: a regular file replaced by a FIFO meanwhile must not
	 * block the open */
	fd = openat(
	    w->walk.fd, comp,
	    (S_ISREG(st->st_mode) ? O_RDONLY | O_NONBLOCK | O_NOCTTY : O_PATH) |
	        O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ELOOP || errno == ENXIO ? walk_replaced(w) : -1;
	if (fstat(fd, &w->fst) == -1) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (!same_file(&w->fst, st)) {
		close(fd);
		return walk_replaced(w);
	}
	w->fd = fd;
	return 0;
}

/* Where the kernel says whether fs.protected_hardlinks is set. */
#define PROTECTED_HARDLINKS "/proc/sys/fs/protected_hardlinks"

/*
 * Is fs.protected_hardlinks 1 (conftrust.h)? Read through open(2), which
 * a unit test stands in for. Only the current value: a link made while
 * it was 0 (early in boot, another system mounting the disk) or by
 * another NFS client whose kernel has it 0 is not told apart
 * (mta-sts-sync.conf(5) says so).
 */
int
conf_hardlinks_protected(void)
{
	char b[4];
	int fd = open(PROTECTED_HARDLINKS, O_RDONLY | O_CLOEXEC), err;
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, b, sizeof(b));
	err = errno;
	close(fd);
	errno = n == -1 ? err : EINVAL;
	if (n < 1 || (b[0] != '0' && b[0] != '1') || (n > 1 && b[1] != '\n'))
		return -1;
	return b[0] == '1';
}

/* Why a file of several names in a shared directory is refused
 * (conftrust.h), into out (size bytes). Unread, the sysctl may well be
 * 1: a /proc/sys that is not there (ENOENT) is hidden, as systemd's
 * ProcSubset=pid hides it, or /proc is not mounted, so the advice is to
 * let the run read it rather than to set it. */
void
conf_hardlinks_why(int prot, int err, char *out, size_t size)
{
	static const char one[] =
	    "1 (sysctl fs.protected_hardlinks=1, Debian's default), with "
	    "which one may link only a file one owns or may read and write";

	if (prot == 0) {
		snprintf(out, size,
		         "; this is refused as fs.protected_hardlinks is 0, "
		         "which lets anyone link any file there: setting it "
		         "to %s, lifts the refusal too",
		         one);
		return;
	}
	snprintf(out, size,
	         "; this is refused as fs.protected_hardlinks cannot be read "
	         "(%s: %s%s), and with it 0 anyone may link any file there: "
	         "with it %s, and readable by the run%s, the refusal is "
	         "lifted too",
	         PROTECTED_HARDLINKS, strerror(err),
	         err == ENOENT ? ": /proc/sys is hidden, as systemd's "
	                         "ProcSubset=pid does, or /proc is not mounted"
	                       : "",
	         one, err == ENOENT ? " (no ProcSubset=pid)" : "");
}

/*
 * The file at the end of the walk (w->at, its status st), a configuration
 * (or an include) or a key (w->tw), whose directory (the walk's) passed
 * walk_dir_judge(): where others than the directory's owner may add
 * entries to it (dir_shared(): its group, anyone in a sticky one as /tmp,
 * a user or group its ACL lets, or its ACL unread), any of them could
 * have made the name first (the sticky bit guards only the names that
 * exist), as a file of theirs or as a hard link to a file of root's of
 * their choosing, where fs.protected_hardlinks is not 1 (with it 1, one
 * may link only a file one owns or may read and write, and the owner
 * rules refuse both). A key must then belong to root, the running user
 * or the directory's owner, as a configuration must (file_trust_check()),
 * and neither may have other names unless fs.protected_hardlinks is 1
 * (NixOS's /nix/store, root:nixbld 1775, hard-links its files). Another
 * user's key is not chowned but made anew: its owner may have read it
 * and may keep it open to change it. Returns 0, or -2 with the reason in
 * w->r.
 */
static int
walk_shared_file(struct path_walk *w, const struct stat *st)
{
	char where[512], who[128], sh[DIAG_MSG_MAX], why[512];
	int key = w->tw == &trust_words[CONF_TRUST_KEY], foreign, n;
	int prot = 1, err = 0;
	struct acl_who aw;
	struct stat dst;

	if ((!key && w->tw != &trust_words[CONF_TRUST_CONF]) ||
	    !S_ISREG(st->st_mode))
		return 0;
	if (fstat(w->walk.fd, &dst) == -1) {
		path_changed(path_shown(w->path, '\0', NULL, 0),
		             w->walk.at.data, errno, w->tw, w->r);
		return -2;
	}
	foreign = key && st->st_uid != 0 && st->st_uid != geteuid() &&
	          st->st_uid != dst.st_uid;
	if (st->st_nlink > 1 && !foreign) {
		prot = conf_hardlinks_protected();
		err = errno;
	}
	if ((prot == 1 && !foreign) || dir_shared(w->walk.fd, &dst, &aw) == 0)
		return 0;
	n = snprintf(w->r->out, w->r->len,
	             "%s: %s %s is in a directory that %s, and ",
	             path_shown(w->path, '\0', NULL, 0), w->tw->file,
	             path_shown(w->at, '\0', NULL, 0),
	             dir_writers_words(w->walk.fd, &dst, where, sizeof(where)));
	if (n < 0 || (size_t)n >= w->r->len) {
		text_mark_cut(w->r->out, w->r->len, 0);
	} else if (!foreign) {
		conf_hardlinks_why(prot, err, why, sizeof(why));
		walk_linked_fix(w, st, why, w->r->out + n,
		                w->r->len - (size_t)n);
	} else {
		snprintf(w->r->out + n, w->r->len - (size_t)n,
		         "belongs to %s, not to root or to the user "
		         "running mta-sts-sync (uid %u): any of them could "
		         "have put a file of theirs there, which could %s, "
		         "and may have read what was written in it since, or "
		         "keep it open to change it (a chown revokes neither)",
		         user_shown(st->st_uid, who, sizeof(who)),
		         (unsigned)geteuid(), w->tw->harm);
		refusal_all_reason(w->r);
		refusal_advice(w->r,
		               "; make a new key (tsig-keygen, or its secret "
		               "copied) in a new file that root creates in a "
		               "directory only root may write, name that in "
		               "key-file, and remove this one (rm %s)",
		               path_shell(w->at, sh, sizeof(sh)));
		return -2;
	}
	refusal_all_reason(w->r);
	return -2;
}

/* The walk hook for the entry name (st), no directory or link: the file
 * at the end of the path (walk_file()), or, with components left, a file
 * on the way (replaced meanwhile): not a directory. */
static int
walk_file_hook(struct walk *ww, const char *name, const struct stat *st)
{
	struct path_walk *w = ww->ctx;

	if (components_left(ww->todo))
		return walk_fail_hook(ww, name, ENOTDIR);
	walk_entry(ww, name, w->at, sizeof(w->at));
	w->at_file = 1;
	if (walk_shared_file(w, st) == -2)
		return -2;
	return walk_file(w, name, st);
}

/* The hooks of the walk to a file a run trusts: no directory is made. */
static const struct walk_ops path_walk_ops = {.judge = walk_judge_hook,
                                              .file = walk_file_hook,
                                              .refused = walk_link_refused,
                                              .fail = walk_fail_hook};

/* Set w up to walk path (tw: what it is), the reason it is not trusted
 * to go in r. */
static void
path_walk_init(struct path_walk *w, const char *path,
               const struct trust_words *tw, struct refusal *r)
{
	memset(w, 0, sizeof(*w));
	w->walk.fd = w->fd = -1;
	w->path = path;
	w->tw = tw;
	w->r = r;
}

/*
 * Walk w->path from / (a relative path from the working directory's
 * real path), one component at a time (walk_run()): each directory
 * entered from the one before without following a link, a link followed
 * only as link_trust() allows, and each directory judged from its
 * descriptor once an entry of it is looked up, or the path ends there
 * (walk_dir_judge()). Nothing on the way is looked up by name from / a
 * second time, so nothing swapped meanwhile can lead it elsewhere.
 * Returns 0 at a file (walk_file()), 1 at a directory, -1 with errno
 * set (what could not be looked at in w->at), -2 with the reason in
 * w->r. The caller closes what w holds (path_walk_done()).
 */
static int
path_walk_run(struct path_walk *w)
{
	char todo[PATH_MAX], cwd[PATH_MAX] = "";
	int rc, err;

	/* a relative path, from the working directory's real path */
	if (w->path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL) {
		err = errno;
		str_copy(w->at, sizeof(w->at), ".");
		errno = err;
		return -1;
	}
	if ((size_t)snprintf(todo, sizeof(todo), "%s/%s", cwd, w->path) >=
	    sizeof(todo)) {
		str_copy(w->at, sizeof(w->at), cwd);
		errno = ENAMETOOLONG;
		return -1;
	}
	if (walk_init(&w->walk, &path_walk_ops, w, todo) == -1) {
		str_copy(w->at, sizeof(w->at), "/");
		return -1;
	}
	rc = walk_run(&w->walk);
	if (rc != 0 || w->at_file)
		return rc;
	if (!w->walk.judged && walk_dir_judge(w, 1, NULL) == -2)
		return -2;
	return 1;
}

/* Close what the walk w holds, errno kept. */
static void
path_walk_done(struct path_walk *w)
{
	int err = errno;

	walk_free(&w->walk);
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	errno = err;
}

/*
 * The walk of path (path_walk_run()) for a file looked at by name
 * (named: its status, which the walk must reach; NULL for a directory,
 * where the path ends): every directory on the way judged, links
 * followed one at a time (those of the path as written, and of every
 * link's target). Whatever on the way cannot be looked at refuses the
 * file (path_changed()), as does a link another user could have made.
 * Returns 0, or -1 with the reason in r.
 */
static int
path_walk_check(const char *path, const struct stat *named,
                const struct trust_words *tw, struct refusal *r)
{
	struct path_walk *w = xmalloc(sizeof(*w)); /* see conf_parse_mode() */
	int rc;

	path_walk_init(w, path, tw, r);
	w->named = named;
	rc = path_walk_run(w);
	if (rc == 1 && named != NULL) {
		/* a directory by now */
		str_copy(w->at, sizeof(w->at), w->walk.at.data);
		rc = walk_replaced(w);
	}
	if (rc == -1)
		path_changed(path_shown(path, '\0', NULL, 0), w->at, errno, tw,
		             r);
	path_walk_done(w);
	free(w);
	return rc < 0 ? -1 : 0;
}

/*
 * The file path (its status st; fd, the descriptor st came from, whose
 * ACL is judged, or -1: the ACL of path) itself, as conf_trust_check()
 * judges it (w names it): its owner, the others' write bit, and who else
 * may write it (writers_check()). Returns 0, or -1 with the reason in r.
 */
static int
file_trust_check(const char *path, int fd, const struct stat *st,
                 const struct trust_words *w, struct refusal *r)
{
	const char *ps = path_shown(path, '\0', NULL, 0);
	char lead[PATH_MAX + 64], sh[DIAG_MSG_MAX];
	const char *psh = path_shell(path, sh, sizeof(sh));
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me) {
		/* chown root makes what that owner wrote root's: a
		 * publish-command, a program, trusted as it is */
		refusal_reason(
		    r,
		    "%s: %s belongs to uid %u, not to root or to the "
		    "user running mta-sts-sync (uid %u): its owner "
		    "could %s",
		    ps, w->file, (unsigned)st->st_uid, (unsigned)me, w->harm);
		return refusal_advice(
		    r,
		    "; check its content first (its owner may "
		    "have changed it already, and once root "
		    "owns it, it is trusted as it is), then "
		    "chown root %s",
		    psh);
	}
	if ((st->st_mode & S_IWOTH) != 0) {
		refusal_reason(
		    r,
		    "%s: %s is writable by others (mode %04o): anyone "
		    "could %s",
		    ps, w->file, (unsigned)(st->st_mode & 07777), w->harm);
		return refusal_advice(r, "; chmod o-w %s", psh);
	}
	snprintf(lead, sizeof(lead), "%s: %s", ps, w->file);
	return writers_check(lead, "", path, fd, st, 0, w, r);
}

int
conf_trust_check(const char *path, int fd, const struct stat *st,
                 enum conf_trust what, char *out, size_t len)
{
	const struct trust_words *w = &trust_words[what];
	struct refusal r = {out, len, 0};

	if (file_trust_check(path, fd, st, w, &r) == -1)
		return -1;
	return path_walk_check(path, st, w, &r);
}

int
conf_open_trusted(const char *path, enum conf_trust what, int *fd,
                  struct stat *st, char *out, size_t len)
{
	const struct trust_words *w = &trust_words[what];
	struct path_walk *pw = xmalloc(sizeof(*pw)); /* see path_walk_check() */
	struct refusal r = {out, len, 0};
	int rc, err;

	*fd = -1;
	memset(st, 0, sizeof(*st));
	path_walk_init(pw, path, w, &r);
	pw->open = 1;
	rc = path_walk_run(pw);
	if (rc == 1) {
		/* a directory: the reader says it is not a regular file */
		pw->fd = fcntl(pw->walk.fd, F_DUPFD_CLOEXEC, 0);
		rc = pw->fd == -1 || fstat(pw->fd, &pw->fst) == -1 ? -1 : 0;
	}
	if (rc == 0) {
		*st = pw->fst;
		/* a key file's owner may be another user, but in a
		 * directory others may add to (walk_shared_file()); its
		 * mode is judged by keyfile_check_mode() */
		if (S_ISREG(st->st_mode) && what != CONF_TRUST_KEY &&
		    file_trust_check(path, pw->fd, st, w, &r) == -1)
			rc = -2;
	}
	if (rc == 0) {
		*fd = pw->fd;
		pw->fd = -1;
	}
	path_walk_done(pw);
	err = errno; /* the reason of -1, for the caller */
	free(pw);
	errno = err;
	return rc;
}

/* conf_trust_dir_check() of the directory at (its status st), which
 * exists, into r, the rule broken into *rule. Returns 0 or -1. */
static int
dir_trust_check(const char *at, const struct stat *st,
                const struct trust_words *w, struct refusal *r,
                enum conf_dir_rule *rule)
{
	char who[128], could[64], sh[DIAG_MSG_MAX];
	const char *ds = path_shown(at, '\0', NULL, 0);
	const char *dsh = path_shell(at, sh, sizeof(sh));

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		*rule = CONF_DIR_OWNER;
		refusal_reason(r,
		               "%s belongs to %s, not to root or to the user "
		               "running mta-sts-sync (uid %u): its owner could "
		               "put a %s there and %s",
		               ds, user_shown(st->st_uid, who, sizeof(who)),
		               (unsigned)geteuid(), w->file, w->harm);
		return refusal_advice(r, "; chown root %s", dsh);
	}
	/* sticky or not: a new name is anyone's to make there */
	if ((st->st_mode & S_IWOTH) != 0) {
		*rule = CONF_DIR_OTHERS;
		refusal_reason(r,
		               "%s is writable by others (mode %04o): anyone "
		               "could put a %s there and %s",
		               ds, (unsigned)(st->st_mode & 07777), w->file,
		               w->harm);
		return refusal_advice(r, "; chmod o-w %s", dsh);
	}
	*rule = CONF_DIR_MORE;
	snprintf(could, sizeof(could), "put a %s there and ", w->file);
	if (writers_check(ds, could, at, -1, st, 0, w, r) == -1)
		return -1;
	return path_walk_check(at, NULL, w, r);
}

int
conf_trust_dir_check(const char *dir, enum conf_trust what, char *out,
                     size_t len, struct conf_dir_refusal *why)
{
	struct refusal r = {out, len, 0};
	struct conf_dir_refusal ignored;
	char at[PATH_MAX], *slash;
	struct stat st;

	if (why == NULL)
		why = &ignored;

	/* a missing one: where it would be made, the deepest that exists */
	if (str_copy(at, sizeof(at), dir) == -1)
		return 0;
	while (stat(at, &st) == -1) {
		if ((slash = strrchr(at, '/')) == NULL || strcmp(at, "/") == 0)
			return 0;
		slash[slash == at ? 1 : 0] = '\0';
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* nothing can be made there */
	if (dir_trust_check(at, &st, &trust_words[what], &r, &why->rule) == 0)
		return 0;
	why->reason = r.reason;
	return -1;
}
