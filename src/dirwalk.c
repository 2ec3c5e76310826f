/*
 * dirwalk.c - walking a path one component at a time (see dirwalk.h):
 * the walk itself, and its use for the directory of a policy file. A
 * root run writes in web roots that other users own: a link they put on
 * the way (the domain's directory, .well-known) must not take the run's
 * writes, directories and chmods anywhere else, and a link of one tenant
 * must not make two domains' files one. The kernel's path lookup follows
 * every link; this walk follows only those that root or the running user
 * could have made. conftrust.c walks the path of a configuration, a
 * key-file or a ca-file with it too, judging every directory on the way.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "dirwalk.h"

/* Attempts at a component that changes while it is looked at (made or
 * removed by another process between two calls). */
#define DIRWALK_TRIES 3

enum dir_trust
dir_trust(const struct stat *st)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me)
		return DIR_OTHER_OWNER;
	if ((st->st_mode & S_IWOTH) != 0 && (st->st_mode & S_ISVTX) == 0)
		return DIR_OTHERS_WRITE;
	return DIR_TRUSTED;
}

int
dir_shared(int dfd, const struct stat *st, struct acl_who *aw)
{
	memset(aw, 0, sizeof(*aw));
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return 1;
	/* the group's and others' write is the mode's own; a user or a
	 * group of any name may hold the link's owner */
	if (acl_who_read(dfd, NULL, st, ACL_PERM_WRITE, acl_root_or_runner,
	                 aw) == -1)
		return -1;
	return aw->named || aw->group;
}

enum dir_trust
link_trust(const struct stat *dst, const struct stat *lst)
{
	enum dir_trust why = dir_trust(dst);

	/* another user's link, whoever may write the directory now: it
	 * was made when others could, or given away by root; a directory
	 * that only root may write now says nothing of what was put there
	 * before a chmod o-w */
	if (why == DIR_TRUSTED && lst->st_uid != 0 && lst->st_uid != geteuid())
		return DIR_LINK_FOREIGN;
	return why;
}

/* fd (or -1, errno set), its status into *st; closed when that cannot
 * be read. Returns fd, or -1 with errno set. */
static int
fd_with_status(int fd, struct stat *st)
{
	int err;

	if (fd == -1 || fstat(fd, st) == 0)
		return fd;
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int
entry_open_nofollow(int dfd, const char *name, struct stat *st)
{
	return fd_with_status(
	    openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), st);
}

int
entry_open_dir_first(int dfd, const char *name, struct stat *st)
{
	int fd =
	    openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	/* a link or a file (ENOTDIR; ELOOP, what an open that is not
	 * path-only says of a link): looked at again as what it is */
	if (fd == -1 && (errno == ENOTDIR || errno == ELOOP))
		return entry_open_nofollow(dfd, name, st);
	return fd_with_status(fd, st);
}

int
link_target(int lfd, char *out, size_t size)
{
	ssize_t n = readlinkat(lfd, "", out, size);

	if (n == -1)
		return -1;
	if (n == 0 || (size_t)n >= size) {
		errno = n == 0 ? ENOENT : ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/* The buffer of an entry of the user or group database, at most: a
 * group with many members (LDAP, SSSD) needs more than the 4 KiB tried
 * first, and the name read from it decides whether it is staff. */
#define DIRWALK_ENTRY_MAX (1024 * 1024)

/*
 * Look user id (or, when name is not NULL, the user of that name) up in
 * the user database into pw, or a group into gr when is_group, in buf
 * (len bytes) first, then in a buffer grown as a large entry needs, up to
 * DIRWALK_ENTRY_MAX bytes, left in *big (free it). Returns the entry
 * found (pw or gr), or NULL.
 */
static void *
db_lookup(int is_group, unsigned id, const char *name, struct passwd *pw,
          struct group *gr, char *buf, size_t len, char **big)
{
	struct passwd *pwf = NULL;
	struct group *grf = NULL;
	int rc;

	*big = NULL;
	for (;;) {
		if (is_group)
			rc = name != NULL
			         ? getgrnam_r(name, gr, buf, len, &grf)
			         : getgrgid_r((gid_t)id, gr, buf, len, &grf);
		else
			rc = name != NULL
			         ? getpwnam_r(name, pw, buf, len, &pwf)
			         : getpwuid_r((uid_t)id, pw, buf, len, &pwf);
		if (rc != ERANGE || len >= DIRWALK_ENTRY_MAX)
			break;
		len *= 2;
		free(*big);
		buf = *big = xmalloc(len);
	}
	if (rc != 0)
		return NULL;
	return is_group ? (void *)grf : (void *)pwf;
}

/* The name of user id, or of group id when is_group, printable, into
 * out (size bytes); "" when it has none, or its entry does not fit in
 * DIRWALK_ENTRY_MAX bytes. Returns out. */
static const char *
id_name(int is_group, unsigned id, char *out, size_t size)
{
	struct passwd pw;
	struct group gr;
	const char *name = NULL;
	char small[4096], *big;

	if (db_lookup(is_group, id, NULL, &pw, &gr, small, sizeof(small),
	              &big) != NULL)
		name = is_group ? gr.gr_name : pw.pw_name;
	if (name == NULL)
		name = "";
	str_printable(name, strlen(name), out, size);
	free(big);
	return out;
}

int
group_named_trusted(const char *name, unsigned *gid)
{
	struct group gr;
	char small[4096], *big;
	int found = 0;

	if (db_lookup(1, 0, name, NULL, &gr, small, sizeof(small), &big) !=
	    NULL) {
		*gid = (unsigned)gr.gr_gid;
		found = 1;
	}
	free(big);
	return found && *gid != ACL_ID_NONE && group_trusted((gid_t)*gid);
}

int
id_named(int is_group, unsigned id, const char *name)
{
	char own[256];

	return name[0] != '\0' &&
	       strcmp(id_name(is_group, id, own, sizeof(own)), name) == 0;
}

int
group_trusted(gid_t gid)
{
	char name[64];

	if (gid == 0 || gid == getegid())
		return 1;
	return strcmp(id_name(1, (unsigned)gid, name, sizeof(name)), "staff") ==
	       0;
}

/* "NAME (uid N)" for user id, or "NAME (gid N)" for group id when
 * is_group, into out (size bytes); "uid N" or "gid N" when it has no
 * name. Returns out. */
static const char *
id_shown(int is_group, unsigned id, char *out, size_t size)
{
	const char *kind = is_group ? "gid" : "uid";
	char name[64];

	if (id_name(is_group, id, name, sizeof(name))[0] == '\0')
		snprintf(out, size, "%s %u", kind, id);
	else
		snprintf(out, size, "%s (%s %u)", name, kind, id);
	return out;
}

const char *
user_shown(uid_t uid, char *out, size_t size)
{
	return id_shown(0, (unsigned)uid, out, size);
}

const char *
group_shown(gid_t gid, char *out, size_t size)
{
	return id_shown(1, (unsigned)gid, out, size);
}

/* The name of user id, or of group id when is_group, or its number
 * when it has none, for a command to run, into out (size bytes).
 * Returns out. */
static const char *
id_word(int is_group, unsigned id, char *out, size_t size)
{
	if (id_name(is_group, id, out, size)[0] == '\0')
		snprintf(out, size, "%u", id);
	return out;
}

const char *
group_name(gid_t gid, char *out, size_t size)
{
	return id_word(1, (unsigned)gid, out, size);
}

const char *
user_name(uid_t uid, char *out, size_t size)
{
	return id_word(0, (unsigned)uid, out, size);
}

int
path_next(char *todo, char *comp)
{
	char *p = todo, *slash;
	size_t n;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return -1;
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	snprintf(comp, NAME_MAX + 1, "%.*s", (int)(n < NAME_MAX ? n : NAME_MAX),
	         p);
	memmove(todo, p + n, strlen(p + n) + 1);
	return n > NAME_MAX ? 1 : 0;
}

int
path_splice(char *todo, size_t size, const char *target)
{
	size_t t = strlen(target), r = strlen(todo);

	if (t + 1 + r + 1 > size)
		return -1;
	memmove(todo + t + 1, todo, r + 1);
	memcpy(todo, target, t);
	todo[t] = '/';
	return 0;
}

void
own_like_dir(int fd, int dfd)
{
	struct stat st;

	if (geteuid() != 0 || fstat(dfd, &st) == -1 || st.st_uid == 0)
		return;
	if (fchown(fd, st.st_uid, st.st_gid) == -1) {
		/* best effort: the next write says why */
	}
}

const char *
erofs_hint(int err)
{
	return err == EROFS ? "; under systemd, add the directory (or one "
	                      "above it) to the unit's ReadWritePaths=: its "
	                      "ProtectSystem=strict makes the rest read-only"
	                    : "";
}

/* The user this process reads and writes files as, into out (size
 * bytes): "user NAME" (its login name), or "uid N" when it has none.
 * Returns out. */
static const char *
runner_words(char *out, size_t size)
{
	uid_t uid = geteuid();
	char name[256];

	if (id_name(0, (unsigned)uid, name, sizeof(name))[0] == '\0')
		snprintf(out, size, "uid %lu", (unsigned long)uid);
	else
		snprintf(out, size, "user %s", name);
	return out;
}

void
runner_hint(int err, const char *path, const char *able, char *out, size_t size)
{
	char who[272];

	if (err == EACCES || err == EPERM)
		snprintf(out, size,
		         "; %s must be %s by %s, as whom this job runs", path,
		         able, runner_words(who, sizeof(who)));
	else if (size > 0)
		out[0] = '\0';
}

void
dir_write_hint(int err, const char *dir, char *out, size_t size)
{
	if (err == EACCES || err == EPERM)
		runner_hint(err, dir, "writable", out, size);
	else
		str_copy(out, size, erofs_hint(err));
}

const char *
dir_writers_shown(int dfd, const struct stat *st, char *out, size_t size)
{
	struct acl_who aw;
	char who[192];

	if ((st->st_mode & S_IWOTH) != 0)
		return "others";
	/* the directory open as dfd, not what a path names by now */
	if (acl_who_read(dfd, NULL, st, ACL_PERM_WRITE, acl_root_or_runner,
	                 &aw) == -1 ||
	    !aw.acl)
		return "its group";
	if (aw.named && aw.nfs4)
		snprintf(out, size, "%s, whom its NFSv4 ACL's entry %u lets,",
		         acl_named_shown(&aw, who, sizeof(who)), aw.nfs4_entry);
	else if (aw.named && aw.named_is_group)
		snprintf(out, size, "group %s, which its ACL names,",
		         group_shown((gid_t)aw.named_id, who, sizeof(who)));
	else if (aw.named)
		snprintf(out, size, "user %s, whom its ACL names,",
		         user_shown((uid_t)aw.named_id, who, sizeof(who)));
	else if (aw.nfs4 && aw.nfs4_group_entry != 0 &&
	         (st->st_mode & S_IWGRP) == 0)
		snprintf(out, size,
		         "its group, whom its NFSv4 ACL's entry %u lets,",
		         aw.nfs4_group_entry);
	else if (aw.nfs4)
		return "its group";
	else
		snprintf(out, size, "%sthe users or groups its ACL names",
		         aw.group ? "its group, or " : "");
	return out;
}

const char *
dir_writers_words(int dfd, const struct stat *st, char *out, size_t size)
{
	char writers[192], why[128];
	struct acl_who aw;

	if (dir_shared(dfd, st, &aw) == -1)
		snprintf(out, size,
		         "has an ACL that cannot be read (%s), so who may "
		         "write it cannot be told (mode %04o)",
		         acl_unread_why(&aw, errno, why, sizeof(why)),
		         (unsigned)(st->st_mode & 07777));
	else
		snprintf(out, size, "%s may write (mode %04o)",
		         dir_writers_shown(dfd, st, writers, sizeof(writers)),
		         (unsigned)(st->st_mode & 07777));
	return out;
}

const char *
link_foreign_words(int dfd, const struct stat *dst, const struct stat *lst,
                   char *out, size_t size)
{
	char writers[320], who[128];
	struct acl_who aw;

	user_shown(lst->st_uid, who, sizeof(who));
	if (dir_shared(dfd, dst, &aw) == 0)
		snprintf(out, size,
		         "only root or the user running mta-sts-sync may "
		         "write now (mode %04o), but the link belongs to %s, "
		         "who may have made it while others could write there",
		         (unsigned)(dst->st_mode & 07777), who);
	else
		snprintf(out, size, "%s, and the link belongs to %s",
		         dir_writers_words(dfd, dst, writers, sizeof(writers)),
		         who);
	return out;
}

const char *
link_mount_words(int dfd, char *out, size_t size, const char **fix)
{
	char mount[PATH_MAX + 512];
	struct acl_who aw;

	memset(&aw, 0, sizeof(aw));
	if (acl_mount_check(dfd, NULL, &aw) == -1 && aw.model != NULL) {
		snprintf(out, size, "is on %s",
		         acl_mount_shown(&aw, mount, sizeof(mount)));
		*fix = acl_mount_fix(&aw);
	} else {
		/* fstatfs(2) failed, or the mount changed since */
		snprintf(out, size,
		         "is on a file system whose kind cannot be told (%s)",
		         strerror(errno));
		*fix = "run mta-sts-sync again";
	}
	return out;
}

const char *
link_check_advice(const char *link, const char *dir, const char *other,
                  char *out, size_t size)
{
	char lsh[DIAG_MSG_MAX], dsh[DIAG_MSG_MAX];

	snprintf(out, size,
	         "check where it leads: if it is as it should be, chown -h "
	         "root %s%s%s, else replace it, or %s",
	         path_shell(link, lsh, sizeof(lsh)),
	         dir != NULL ? " and chmod o-w " : "",
	         dir != NULL ? path_shell(dir, dsh, sizeof(dsh)) : "", other);
	return out;
}

int
walk_init(struct walk *w, const struct walk_ops *ops, void *ctx,
          const char *path)
{
	const char *start = path[0] == '/' ? "/" : ".";

	memset(w, 0, sizeof(*w));
	w->ops = ops;
	w->ctx = ctx;
	buf_init(&w->at, 2 * PATH_MAX);
	buf_init(&w->rest, 2 * PATH_MAX);
	buf_puts(&w->at, path[0] == '/' ? "/" : "");
	w->fd = open(start, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->fd == -1)
		return -1;
	if (str_copy(w->todo, sizeof(w->todo), path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void
walk_free(struct walk *w)
{
	int err = errno;

	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	buf_free(&w->at);
	buf_free(&w->rest);
	errno = err;
}

const char *
walk_entry(const struct walk *w, const char *name, char *out, size_t size)
{
	const char *at = w->at.len > 0 ? w->at.data : "";

	snprintf(out, size, "%s%s%s", at,
	         w->at.len > 0 && at[w->at.len - 1] != '/' ? "/" : "", name);
	return out;
}

/* Add component comp to w->rest ("..": take one back, down to floor).
 * Returns 0. */
static int
rest_add(struct walk *w, const char *comp)
{
	char *slash;

	if (strcmp(comp, "..") == 0 && w->rest.len > w->floor) {
		slash = strrchr(w->rest.data, '/');
		w->rest.len = (size_t)(slash - w->rest.data);
		w->rest.data[w->rest.len] = '\0';
		return 0;
	}
	buf_puts(&w->rest, "/");
	buf_puts(&w->rest, comp);
	return 0;
}

/* Make fd, the directory just reached through name, the one walked. */
static int
walk_enter(struct walk *w, int fd, const char *name)
{
	close(w->fd);
	w->fd = fd;
	w->judged = 0;
	if (w->at.len > 0 && w->at.data[w->at.len - 1] != '/')
		buf_puts(&w->at, "/");
	buf_puts(&w->at, name);
	return 0;
}

/* Go to the parent of the directory reached (as the kernel does for
 * "..": the real one, judged as any other once an entry of it is looked
 * up; one left straight back need not be safe: nothing in it was
 * followed). Returns 0, or what ops->fail returned. */
static int
walk_up(struct walk *w)
{
	int fd = openat(w->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	char *slash;

	if (fd == -1)
		return w->ops->fail(w, "..", errno);
	close(w->fd);
	w->fd = fd;
	w->judged = 0;
	slash = w->at.len > 0 ? strrchr(w->at.data, '/') : NULL;
	if (w->at.len == 0 || strcmp(slash ? slash + 1 : w->at.data, "..") == 0)
		buf_puts(&w->at, w->at.len == 0 ? ".." : "/..");
	else if (slash == w->at.data)
		w->at.len = 1; /* "/x": "/" */
	else
		w->at.len = slash != NULL ? (size_t)(slash - w->at.data) : 0;
	w->at.data[w->at.len] = '\0';
	return 0;
}

/*
 * Follow the link name (open as lfd, its status lst) of the directory
 * reached, if nobody but root or the running user could have put it
 * there (link_trust(): the directory is trusted, and the link is root's
 * or this user's, whoever else may write the directory, as a web root of
 * root:www-data, mode 2775, or /tmp; and what shows them is no mount
 * whose owners others make up, acl_mount_check()), else ops->refused
 * says what then. Its target, read from lfd (the link whose owner was
 * judged, not whatever has its name by then), goes in front of what is
 * left. Returns 0, or what a hook returned.
 */
static int
walk_link(struct walk *w, const char *name, int lfd, const struct stat *lst)
{
	char target[PATH_MAX];
	struct stat dst;
	struct acl_who aw;
	enum dir_trust why;
	int fd;

	if (fstat(w->fd, &dst) == -1)
		return w->ops->fail(w, name, errno);
	why = link_trust(&dst, lst);
	/* the owners a FUSE mount of another user shows are its program's
	 * to choose, an SMB mount's the mount's options */
	if (why == DIR_TRUSTED && acl_mount_check(w->fd, NULL, &aw) == -1)
		why = DIR_MOUNT_MADE_UP;
	if (why != DIR_TRUSTED)
		return w->ops->refused(w, name, lfd, &dst, lst, why);
	if (++w->links > DIRWALK_LINKS)
		return w->ops->fail(w, name, ELOOP);
	if (link_target(lfd, target, sizeof(target)) == -1)
		return w->ops->fail(w, name, errno);
	if (path_splice(w->todo, sizeof(w->todo), target) == -1)
		return w->ops->fail(w, name, ENAMETOOLONG);
	if (target[0] != '/')
		return 0;
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return w->ops->fail(w, name, errno);
	close(w->fd);
	w->fd = fd;
	w->judged = 0;
	buf_reset(&w->at);
	buf_puts(&w->at, "/");
	return 0;
}

/*
 * The entry name of the directory reached, open as fd (its status st):
 * once the directory is judged (ops->judge), a directory is entered, a
 * link followed when it may be (walk_link()), anything else given to
 * ops->file. Its owner and its target are then those of one link: two
 * lookups by name could meet two, swapped between them by whoever may
 * write there (rename(2) with RENAME_EXCHANGE). Returns 0 to go on, or
 * what a hook returned.
 */
static int
walk_found(struct walk *w, const char *name, int fd, const struct stat *st)
{
	int rc = 0, err;

	w->entry = name;
	if (w->ops->judge != NULL && !w->judged &&
	    (rc = w->ops->judge(w, st)) == 0)
		w->judged = 1;
	w->entry = NULL;
	if (rc == 0 && S_ISDIR(st->st_mode))
		return walk_enter(w, fd, name);
	if (rc == 0 && S_ISLNK(st->st_mode))
		rc = walk_link(w, name, fd, st);
	else if (rc == 0 && w->ops->file != NULL)
		rc = w->ops->file(w, name, st);
	else if (rc == 0)
		rc = w->ops->fail(w, name, ENOTDIR);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

/*
 * Walk into the entry name of the directory reached, opened as a
 * directory first (entry_open_dir_first(): an automount point is
 * mounted), then as what it is (walk_found()); a missing one is for
 * ops->missing, tried again while it says so, a few times. Returns 0 to
 * go on, or what a hook returned.
 */
static int
walk_into(struct walk *w, const char *name)
{
	struct stat st;
	int fd, rc;

	for (int i = 0; i < DIRWALK_TRIES; i++) {
		fd = entry_open_dir_first(w->fd, name, &st);
		if (fd != -1)
			return walk_found(w, name, fd, &st);
		if (errno != ENOENT)
			return w->ops->fail(w, name, errno);
		if (w->ops->missing == NULL)
			return w->ops->fail(w, name, ENOENT);
		if ((rc = w->ops->missing(w, name)) != WALK_AGAIN)
			return rc;
	}
	/* made or replaced under this walk each time */
	return w->ops->fail(w, name, EAGAIN);
}

int
walk_run(struct walk *w)
{
	char comp[NAME_MAX + 1];
	int rc = 0, next;

	while (rc == 0 && (next = path_next(w->todo, comp)) != -1) {
		if (next == 1)
			rc = w->ops->fail(w, comp, ENAMETOOLONG);
		else if (strcmp(comp, ".") == 0)
			continue;
		else if (w->stopped || w->rest.len > w->floor)
			rc = rest_add(w, comp);
		else if (strcmp(comp, "..") == 0)
			rc = walk_up(w);
		else
			rc = walk_into(w, comp);
	}
	return rc;
}

/* ------------------------------------------- a policy-file's directory */

/* The walk hook that ends a policy-file directory's walk at entry name
 * (err): the reason in the walk's diag. Returns -1. */
static int
dir_fail(struct walk *w, const char *name, int err)
{
	char p[2 * PATH_MAX];

	walk_entry(w, name, p, sizeof(p));
	if (err == ENOTDIR)
		diag_error(w->ctx, "%s: not a directory", p);
	else if (err == EAGAIN)
		diag_error(w->ctx,
		           "%s: made, removed or replaced by another program "
		           "each time it was looked at; keep others away from "
		           "it while mta-sts-sync runs",
		           p);
	else
		diag_error(w->ctx, "%s: %s", p, strerror(err));
	return -1;
}

/*
 * The walk hook that makes the missing directory name in the one
 * reached, and enters it: mode 0755 whatever the umask (the web server
 * must read it), set-group-ID kept when it has it from the directory it
 * is made in (a group's web root of mode 2775: what is made below stays
 * the group's), the owner of the directory it is made in when root makes
 * it there for another user. Both go through a descriptor opened without
 * following a link, and only to a directory of this user: whoever may
 * write where it is made may replace it meanwhile, by a link (then not
 * opened) or a directory of theirs (then left as it is). Returns 0 when
 * entered, WALK_AGAIN to look at name again (someone else made or
 * replaced it), -1 (in the walk's diag).
 */
static int
dir_make(struct walk *w, const char *name)
{
	char p[2 * PATH_MAX], hint[PATH_MAX + 320];
	struct stat st;
	int fd, err;

	if (mkdirat(w->fd, name, 0755) == -1) {
		if (errno == EEXIST)
			return WALK_AGAIN;
		err = errno;
		dir_write_hint(err, w->at.len > 0 ? w->at.data : ".", hint,
		               sizeof(hint));
		diag_error(w->ctx, "cannot create directory %s: %s%s",
		           walk_entry(w, name, p, sizeof(p)), strerror(err),
		           hint);
		return -1;
	}
	fd = openat(w->fd, name,
	            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return WALK_AGAIN;
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid()) {
		if (fchmod(fd, 0755 | (st.st_mode & S_ISGID)) == -1) {
			/* best effort: the umask's mode still lets this
			 * user write; the web server may say more */
		}
		own_like_dir(fd, w->fd);
	}
	return walk_enter(w, fd, name);
}

/* The walk hook for a directory that does not exist, when none is made:
 * nothing below it exists. Returns 1. */
static int
dir_missing(struct walk *w, const char *name)
{
	(void)w;
	(void)name;
	return 1;
}

/*
 * The walk hook that refuses to follow the link name (open as lfd, its
 * status lst) in the directory reached (dst), which someone else than
 * root or the running user could have put there (why): they could point
 * it at any directory (another domain's, a system one) for this run to
 * write in. Says so in the walk's diag, naming the link, where it points,
 * whose directory or link it is and what to do: for a link in another
 * user's directory, also to run as that user, the tenant whose web root
 * it is; never as the owner of a link in a directory of root's, who may
 * be anyone that could write there once: that link is to be checked,
 * and given to root only if it is as it should be. Returns -1.
 */
static int
link_refused(struct walk *w, const char *name, int lfd, const struct stat *dst,
             const struct stat *lst, enum dir_trust why)
{
	char to[PATH_MAX], shown[128], p[2 * PATH_MAX], whose[PATH_MAX + 768];
	char who[128], fix[2 * DIAG_MSG_MAX + 128];
	unsigned mode = (unsigned)(dst->st_mode & 07777);
	int foreign = lst->st_uid != 0 && lst->st_uid != geteuid();

	if (link_target(lfd, to, sizeof(to)) == -1)
		to[0] = '\0';
	str_printable(to, strlen(to), shown, sizeof(shown));
	walk_entry(w, name, p, sizeof(p));
	user_shown(dst->st_uid, who, sizeof(who));
	if (why == DIR_MOUNT_MADE_UP) {
		const char *mfix;

		link_mount_words(w->fd, whose, sizeof(whose), &mfix);
		snprintf(fix, sizeof(fix),
		         "%s, or set policy-file to the real path", mfix);
	} else if (why == DIR_OTHER_OWNER) {
		snprintf(whose, sizeof(whose),
		         "belongs to %s, not to root or to the user running "
		         "mta-sts-sync (uid %u)",
		         who, (unsigned)geteuid());
		snprintf(fix, sizeof(fix),
		         "put the directory itself there, set policy-file to "
		         "the real path, or run mta-sts-sync as %s",
		         who);
	} else if (!foreign) {
		snprintf(whose, sizeof(whose),
		         "others may write (mode %04o; chmod o-w would do)",
		         mode);
		str_copy(fix, sizeof(fix),
		         "put the directory itself there, or set policy-file "
		         "to the real path");
	} else {
		link_foreign_words(w->fd, dst, lst, whose, sizeof(whose));
		link_check_advice(p,
		                  why != DIR_OTHERS_WRITE ? NULL
		                  : w->at.len > 0         ? w->at.data
		                                          : ".",
		                  "set policy-file to the real path", fix,
		                  sizeof(fix));
	}
	diag_error(w->ctx,
	           "%s is a symbolic link (to \"%s\") in a directory that "
	           "%s: not followed, as it could lead anywhere (another "
	           "domain's directory, a system one); %s",
	           p, shown, whose, fix);
	return -1;
}

/* The hooks of dir_open_walked(), as told there. */
static const struct walk_ops dir_read_ops = {
    .missing = dir_missing, .refused = link_refused, .fail = dir_fail};
static const struct walk_ops dir_create_ops = {
    .missing = dir_make, .refused = link_refused, .fail = dir_fail};

int
dir_open_walked(const char *dir, int create, int *fd, struct diag *d)
{
	struct walk w;
	int rc;

	*fd = -1;
	rc = walk_init(&w, create ? &dir_create_ops : &dir_read_ops, d, dir);
	if (rc == -1 && w.fd == -1)
		diag_error(d, "cannot open directory %s: %s",
		           dir[0] == '/' ? "/" : ".", strerror(errno));
	else if (rc == -1)
		diag_error(d, "%s: %s", dir, strerror(errno));
	if (rc == 0)
		rc = walk_run(&w);
	if (rc == 0) {
		/* read-only, to list, flush and touch it; path-only (enough
		 * for the rest) when this user may not read it */
		*fd = openat(w.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (*fd == -1) {
			*fd = w.fd;
			w.fd = -1;
		}
	}
	walk_free(&w);
	return rc;
}

/* ------------------------------------------------- a directory's identity */

/* The walk hook that stops an identity walk for real at entry name (a
 * link that is not followed, or whatever cannot be gone through): it and
 * all after it are the rest. Returns 0. */
static int
identity_stop(struct walk *w, const char *name, int err)
{
	(void)err;
	rest_add(w, name);
	w->floor = w->rest.len;
	w->stopped = 1;
	return 0;
}

/* The walk hook of an identity walk at a link not followed. */
static int
identity_refused(struct walk *w, const char *name, int lfd,
                 const struct stat *dst, const struct stat *lst,
                 enum dir_trust why)
{
	(void)lfd;
	(void)dst;
	(void)lst;
	(void)why;
	return identity_stop(w, name, 0);
}

/* The walk hook of an identity walk at a missing directory: a publish
 * would make it, so the walk goes on in the rest. Returns 0. */
static int
identity_missing(struct walk *w, const char *name)
{
	return rest_add(w, name);
}

static const struct walk_ops identity_ops = {.missing = identity_missing,
                                             .refused = identity_refused,
                                             .fail = identity_stop};

void
dir_walk_identity(const char *dir, struct buf *id)
{
	struct walk w;
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (walk_init(&w, &identity_ops, NULL, dir) == 0) {
		walk_run(&w);
		if (fstat(w.fd, &st) == -1)
			memset(&st, 0, sizeof(st));
	}
	buf_reset(id);
	buf_printf(id, "%llx:%llx", (unsigned long long)st.st_dev,
	           (unsigned long long)st.st_ino);
	if (w.rest.len > 0)
		buf_append(id, w.rest.data, w.rest.len);
	walk_free(&w);
}
