/*
 * publish.c - the published policy file: bounded read, atomic replacement
 * (a temporary in the same directory, fsync, rename, fsync of the
 * directory). The publish-command run without a shell is command.c's,
 * the check that the web server serves the new bytes verify.c's
 * (publish-internal.h says what they share).
 *
 * Where: the file's directory is opened once (dirwalk.c: from "/", one
 * component at a time, following only the links that root or the
 * running user could have made, making the missing directories), and
 * every step after that is relative to its descriptor (the read, the
 * temporary, the rename, the flush, the tidy of leftovers), so that
 * whoever owns a web root cannot, by a link put there at any moment,
 * make a run as root read, create, chmod or replace anything elsewhere.
 *
 * Crash safety: the file at path is only ever replaced by rename(2), so a
 * run killed at any point leaves the old or the new file. A killed run
 * may leave "<name>.tmp-XXXXXX". A writer holds an flock(2) lock on its
 * temporary from its creation until it has renamed or removed it, and
 * the kernel drops the lock when the writer dies, however it dies; so a
 * temporary nobody holds is a leftover, removed at once, whatever its
 * age, and one held is a writer's in flight (another domain's sharing
 * the file, in this run or another configuration's), left alone. The
 * next write of the file removes its leftovers, and so does a run that
 * finds the file up to date, when its directory changed after the file
 * was put in place (see tidy_after_read()). Nothing waits for a
 * temporary to age, and no directory is touched to be looked at again;
 * except on a file system without locks (flock(2) fails there: NFSv3
 * without lockd, some FUSE and CIFS mounts), where age tells instead: a
 * temporary over PUBLISH_NOLOCK_AGE seconds old is a leftover, and a
 * write beside a younger one touches the directory (keep_dir_listed()).
 *
 * Durability with group commit: the new bytes must be on disk before the
 * rename, and the rename before publish_write returns (and so before the
 * DNS id changes). Each of these takes a disk cache flush; when several
 * threads publish at once, one flush serves them all (see group_sync).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "conftrust.h"
#include "dirwalk.h"
#include "policy.h"
#include "publish-internal.h"
#include "publish.h"
#include "util.h"

#define PUBLISH_CLEAN_DIRS 64      /* directories remembered clean */
#define PUBLISH_TMP_SUFFIX ".tmp-" /* and six letters: PUBLISH_TMP_EXTRA */
_Static_assert(sizeof(PUBLISH_TMP_SUFFIX) - 1 + 6 == PUBLISH_TMP_EXTRA,
               "the temporary's name adds PUBLISH_TMP_EXTRA bytes");
_Static_assert(PUBLISH_PATH_MAX + PUBLISH_TMP_EXTRA < PATH_MAX &&
                   PUBLISH_NAME_MAX + PUBLISH_TMP_EXTRA <= NAME_MAX,
               "a temporary beside the longest policy file fits");
/* temporaries a tidy removed before their writer could lock them, in a
 * row, before a write gives up (see open_tmp()) */
#define PUBLISH_TMP_TRIES 3
/* names tried for one temporary while each is taken (create_tmp()) */
#define PUBLISH_NAME_TRIES 100
/* seconds after which a temporary whose lock cannot be tried (a file
 * system without locks) is taken for a leftover: a writer makes, fills,
 * flushes and renames its temporary in well under that */
#define PUBLISH_NOLOCK_AGE 60
/* touches of a directory before giving up (keep_dir_listed()) */
#define PUBLISH_MARK_TRIES 4
#define PUBLISH_SYNC_GROUPS 16 /* file systems with a group commit */
#define PUBLISH_SLOW_SYNCFS 3  /* costlier syncfs in a row: fsync only */

static void tidy_after_read(const struct publish_file *f,
                            const struct stat *file);

void
publish_file_init(struct publish_file *f, const char *path)
{
	const char *slash = strrchr(path, '/');

	f->path = path;
	f->name = slash != NULL ? slash + 1 : path;
	f->dir = path_dir(path);
	f->dirfd = -1;
}

void
publish_file_close(struct publish_file *f)
{
	if (f->dirfd != -1)
		close(f->dirfd);
	f->dirfd = -1;
	free(f->dir);
	f->dir = NULL;
}

/* Open f's directory unless it is open: walked from "/" without
 * following a link that others control (dir_open_walked()), made with
 * the missing ones when create is set. Returns 0, 1 when it does not
 * exist (create unset), or -1 (in d). */
static int
open_dir(struct publish_file *f, int create, struct diag *d)
{
	if (f->dirfd != -1)
		return 0;
	return dir_open_walked(f->dir, create, &f->dirfd, d);
}

/* Refuse f, a symbolic link: publishing replaces the file, and would
 * replace the link, not the file it points to; and what the link points
 * to is never read (a dry run would show it). Returns -1 (in d). */
static int
policy_link_refused(const struct publish_file *f, struct diag *d)
{
	char to[256];
	ssize_t n = readlinkat(f->dirfd, f->name, to, sizeof(to) - 1);

	to[n > 0 ? n : 0] = '\0';
	diag_error(d,
	           "%s is a symbolic link%s%s%s: publishing replaces the "
	           "file, and would replace the link; set policy-file to "
	           "the file it points to",
	           f->path, n > 0 ? " to " : "", to,
	           n == (ssize_t)sizeof(to) - 1 ? "..." : "");
	return -1;
}

/* Refuse f, not a regular file (a directory, a FIFO, a device). Returns
 * -1 (in d). */
static int
not_regular(const struct publish_file *f, struct diag *d)
{
	diag_error(d,
	           "%s: not a regular file, so not a policy file: check "
	           "policy-file, or move it away",
	           f->path);
	return -1;
}

/* What linked_in() found of a file of several names: its directory's
 * status, and fs.protected_hardlinks as read (prot; err, errno when -1:
 * conf_hardlinks_protected()). */
struct linked_dir {
	struct stat st;
	int prot, err;
};

/*
 * Whether f's file (st) may be another file that someone hard-linked
 * there (a key of root's): it has other names, and its directory belongs
 * to another user than root or the running user, whose own file it is
 * not, or others than its owner may write the directory (dir_shared():
 * its group, anyone, a user or group its ACL lets, or, its ACL unread,
 * who knows); and fs.protected_hardlinks is not 1 (ld says what it is).
 * Reading it would show it: a dry run prints the file it replaces. With
 * it 1, one may link only a file one owns or may read and write, so
 * whoever could have made that name (the directory's owner, or those it
 * lets write) could only have linked a file they may read: they could as
 * well have copied it there as a file of their own, one name, which is
 * read. Both parts of the rule ask only who could have made the name, so
 * neither refuses anything then, and a deploy that hard-links its files
 * (rsync --link-dest, cp -al) is read.
 */
static int
linked_in(const struct publish_file *f, const struct stat *st,
          struct linked_dir *ld)
{
	uid_t me = geteuid();
	struct acl_who aw;
	int maybe;

	if (st->st_nlink <= 1 || fstat(f->dirfd, &ld->st) == -1)
		return 0;
	if (ld->st.st_uid != 0 && ld->st.st_uid != me)
		maybe = st->st_uid != ld->st.st_uid;
	else /* an ACL that cannot be read may let anyone: refused too */
		maybe = dir_shared(f->dirfd, &ld->st, &aw) != 0;
	if (!maybe)
		return 0;
	ld->prot = conf_hardlinks_protected();
	ld->err = errno;
	return ld->prot != 1;
}

/* Refuse f's file (st), which linked_in() says may be another file (ld:
 * its directory, and why so). Returns -1 (in d). */
static int
linked_refused(const struct publish_file *f, const struct stat *st,
               const struct linked_dir *ld, struct diag *d)
{
	char owner[128], where[320], sh[DIAG_MSG_MAX], why[512];

	if (ld->st.st_uid != 0 && ld->st.st_uid != geteuid())
		snprintf(where, sizeof(where), "belongs to %s",
		         user_shown(ld->st.st_uid, owner, sizeof(owner)));
	else
		dir_writers_words(f->dirfd, &ld->st, where, sizeof(where));
	conf_hardlinks_why(ld->prot, ld->err, why, sizeof(why));
	diag_error(d,
	           "%s has %lu names (hard links) and belongs to %s, in a "
	           "directory that %s: it may be another file linked there "
	           "(a key, say), so it is not read; remove it (rm %s), and "
	           "the next run writes it anew%s",
	           path_shown(f->path, '\0', NULL, 0),
	           (unsigned long)st->st_nlink,
	           user_shown(st->st_uid, owner, sizeof(owner)), where,
	           path_shell(f->path, sh, sizeof(sh)), why);
	return -1;
}

/*
 * Open f's file, in its open directory, for reading: only a regular
 * file, which is looked at before it is opened (opening a device may do
 * something, and a link would lead elsewhere). Returns the descriptor
 * with its status in st, -2 when there is no file, -3 to look again (it
 * changed between the look and the open), -1 (in d).
 */
static int
open_policy_once(const struct publish_file *f, struct stat *st, struct diag *d)
{
	int fd;

	if (fstatat(f->dirfd, f->name, st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return -2;
		diag_error(d, "%s: %s", f->path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st->st_mode))
		return policy_link_refused(f, d);
	if (!S_ISREG(st->st_mode))
		return not_regular(f, d);
	/* replaced since? O_NOFOLLOW: not by a link; O_NONBLOCK: a FIFO
	 * does not hang the run; fstat: anything else is closed unread */
	fd = openat(f->dirfd, f->name,
	            O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT)
		return -3;
	if (fd == -1 && errno == ELOOP)
		return policy_link_refused(f, d);
	if (fd == -1) {
		diag_error(d, "%s: %s", f->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return not_regular(f, d);
	}
	return fd;
}

/*
 * Whether the name of f's file, open as fd (its status st), still names
 * it after the open, and whether f's file has no other name that someone
 * else could have linked there (linked_in(), of its status now: the name
 * counted too). Whoever linked another file there (a key) could remove
 * that name again just after the open, and the count read from fd would
 * be 1 again. Returns 0 (read it), 1 (gone or replaced since: look
 * again), -1 (refused, in d).
 */
static int
policy_still_named(const struct publish_file *f, const struct stat *st,
                   struct diag *d)
{
	struct linked_dir ld;
	struct stat now;

	if (fstatat(f->dirfd, f->name, &now, AT_SYMLINK_NOFOLLOW) == -1 ||
	    now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return 1;
	if (linked_in(f, st, &ld) || linked_in(f, &now, &ld))
		return linked_refused(f, &now, &ld, d);
	return 0;
}

/* Looks at a policy file that changes while it is opened, at most: the
 * publishes of other domains sharing the file rename theirs over it, as
 * many at once as a run has workers, and a reader may lose its window to
 * several in a row (valgrind's one-thread-at-a-time scheduling made 3
 * too few); a bound all the same, so one that changes at every look is
 * an error, not a loop. */
#define POLICY_OPEN_TRIES 16

/*
 * Open f's file for reading (open_policy_once()), and not one that may
 * have been hard-linked there from elsewhere (policy_still_named()).
 * Returns the descriptor with its status in st, -2 when there is no
 * file, -1 (in d).
 */
static int
open_policy(const struct publish_file *f, struct stat *st, struct diag *d)
{
	int fd, rc;

	for (int i = 0; i < POLICY_OPEN_TRIES; i++) {
		if ((fd = open_policy_once(f, st, d)) == -3)
			continue;
		if (fd < 0)
			return fd;
		if ((rc = policy_still_named(f, st, d)) == 0)
			return fd;
		close(fd);
		if (rc == -1)
			return -1;
	}
	diag_error(d,
	           "%s: removed or replaced each time it was opened; keep "
	           "other programs from changing it while mta-sts-sync runs",
	           f->path);
	return -1;
}

/* Read f's file, open as fd, into out (emptied first; bounded by
 * out->max). Returns 1, or -1 (in d). */
static int
read_policy(const struct publish_file *f, int fd, struct buf *out,
            struct diag *d)
{
	char chunk[4096];
	ssize_t n;
	int rc = 1;

	buf_reset(out);
	while (rc == 1 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			diag_error(d, "%s: %s", f->path, strerror(errno));
			rc = -1;
		} else if (buf_append(out, chunk, (size_t)n) == -1) {
			diag_error(d,
			           "%s: larger than %zu bytes, so not a policy "
			           "file: check policy-file, or move it away",
			           f->path, out->max);
			rc = -1;
		}
	}
	return rc;
}

int
publish_file_read(struct publish_file *f, struct buf *out, struct diag *d)
{
	struct stat st;
	int fd, rc;

	if (*f->name == '\0') /* "dir/": a directory */
		return not_regular(f, d);
	if ((rc = open_dir(f, 0, d)) != 0)
		return rc == 1 ? 0 : -1;
	if ((fd = open_policy(f, &st, d)) < 0)
		return fd == -2 ? 0 : -1;
	rc = read_policy(f, fd, out, d);
	close(fd);
	if (rc == 1)
		tidy_after_read(f, &st);
	return rc;
}

int
publish_read(const char *path, struct buf *out, struct diag *d)
{
	struct publish_file f;
	int rc;

	publish_file_init(&f, path);
	rc = publish_file_read(&f, out, d);
	publish_file_close(&f);
	return rc;
}

/* Does f's file, open as fd with status st, hold exactly the len bytes
 * at want? The size tells most changes unread. Returns PUBLISH_HOLDS,
 * PUBLISH_HOLDS_OTHER, or -1 (in d). */
static int
fd_holds(const struct publish_file *f, int fd, const struct stat *st,
         const char *want, size_t len, struct diag *d)
{
	struct buf now;
	int rc;

	if (st->st_size < 0 || (uintmax_t)st->st_size != len)
		return PUBLISH_HOLDS_OTHER;
	buf_init(&now, POLICY_MAX_SIZE);
	rc = read_policy(f, fd, &now, d);
	if (rc == 1)
		rc = now.len == len && memcmp(now.data, want, len) == 0
		         ? PUBLISH_HOLDS
		         : PUBLISH_HOLDS_OTHER;
	buf_free(&now);
	return rc;
}

int
publish_holds(const char *path, const char *want, size_t len, struct diag *d)
{
	struct publish_file f;
	struct stat st;
	int fd, rc;

	publish_file_init(&f, path);
	/* "dir/" names a directory; open_dir() gives 1 for none */
	rc = *f.name == '\0' ? not_regular(&f, d) : open_dir(&f, 0, d);
	if (rc == 1) {
		rc = PUBLISH_HOLDS_GONE;
	} else if (rc == 0) {
		fd = open_policy(&f, &st, d);
		if (fd >= 0) {
			rc = fd_holds(&f, fd, &st, want, len, d);
			close(fd);
		} else {
			rc = fd == -2 ? PUBLISH_HOLDS_GONE : -1;
		}
	}
	publish_file_close(&f);
	return rc;
}

/* If name is some base + ".tmp-" + 6 letters or digits (random_name()),
 * the length of that base; else 0. */
static size_t
tmp_base_len(const char *name)
{
	size_t len = strlen(name), sl = strlen(PUBLISH_TMP_SUFFIX);

	if (len <= sl + 6 ||
	    strncmp(name + len - 6 - sl, PUBLISH_TMP_SUFFIX, sl) != 0)
		return 0;
	for (size_t i = len - 6; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return 0;
	}
	return len - 6 - sl;
}

/* Whether name is base + ".tmp-" + 6 letters or digits. */
static int
is_tmp_of(const char *name, const char *base)
{
	size_t bl = strlen(base);

	return tmp_base_len(name) == bl && strncmp(name, base, bl) == 0;
}

/*
 * A writer of this process makes its temporary and locks it under
 * tmp_lock, and a tidy of this process tries a temporary's lock under it
 * too: so no tidy takes a temporary of this run for a leftover in the
 * moment between its creation and its lock (a thread may be preempted
 * there; threads writing one file at once met that in tests). A tidy of
 * another process may: open_tmp() then finds its name gone. The
 * supervisor of a publish-command, a fork, never takes it.
 */
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether err, of a failed flock(2), says that the file system has no
 * locks (NFSv3 without lockd: ENOLCK; FUSE, CIFS and others: EOPNOTSUPP,
 * which is ENOTSUP on Linux, EINVAL or ENOSYS), rather than that the
 * lock is held (EWOULDBLOCK). */
static int
no_locks(int err)
{
	return err == ENOLCK || err == EOPNOTSUPP || err == EINVAL ||
	       err == ENOSYS;
}

/* What remove_if_abandoned() did with a temporary. */
enum tmp_fate {
	TMP_REMOVED, /* a leftover, removed */
	TMP_LEFT,    /* held, not ours to judge or remove */
	TMP_YOUNG    /* no lock to tell by, and too young to be a leftover */
};

/* Whether the temporary open as fd is older than a writer's can be, by
 * its mtime (its last write) against this host's clock; on a network
 * file system the server sets mtime by its own clock, so a skew of
 * about PUBLISH_NOLOCK_AGE between them misjudges it. */
static int
tmp_aged(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 &&
	       time(NULL) - st.st_mtime > PUBLISH_NOLOCK_AGE;
}

/*
 * Remove the temporary name in the directory dfd unless a writer holds
 * it: every writer holds a lock on its temporary until it has renamed or
 * removed it (open_tmp()), and the kernel drops the lock of a writer
 * that dies. A shared lock is enough to tell, and needs no write access
 * (NFS emulates flock(2) with fcntl locks, and grants an exclusive one
 * only on a descriptor open for writing). Where the file system has no
 * locks, no writer holds one either: its age tells instead (tmp_aged()),
 * as it did before temporaries were locked, so that killed writers'
 * leftovers do not stay there for good. Returns what it did: TMP_LEFT
 * also for a temporary that is not a regular file or not ours to open
 * or remove.
 */
static enum tmp_fate
remove_if_abandoned(int dfd, const char *name)
{
	struct stat st;
	int fd, held, err, abandoned;
	enum tmp_fate fate = TMP_LEFT;

	/* a device is not opened: that alone may do something */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return TMP_LEFT;
	fd = openat(dfd, name,
	            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return TMP_LEFT;
	pthread_mutex_lock(&tmp_lock);
	held = flock(fd, LOCK_SH | LOCK_NB) == -1;
	err = errno;
	pthread_mutex_unlock(&tmp_lock);
	abandoned = !held || (no_locks(err) && tmp_aged(fd));
	if (abandoned && unlinkat(dfd, name, 0) == 0)
		fate = TMP_REMOVED;
	else if (!abandoned && no_locks(err))
		fate = TMP_YOUNG;
	close(fd);
	return fate;
}

/*
 * Remove the temporaries that killed writers left next to the file base
 * in the directory dfd, best effort. Returns how many temporaries of
 * any file's (base's or another's) are left there: 0 when it holds
 * none; *young (unless NULL) gets how many of base's are left for being
 * too young to judge on a file system without locks. The directory is
 * listed through a descriptor of its own (opened anew: another thread
 * may list it through dfd's at the same time).
 */
static size_t
remove_leftovers(int dfd, const char *base, size_t *young)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd == -1 ? NULL : fdopendir(fd);
	struct dirent *e;
	size_t left = 0, recent = 0;
	enum tmp_fate fate;

	if (young != NULL)
		*young = 0;
	if (dp == NULL) {
		if (fd != -1)
			close(fd);
		return 1;
	}
	while ((e = readdir(dp)) != NULL) {
		if (tmp_base_len(e->d_name) == 0)
			continue;
		fate = is_tmp_of(e->d_name, base)
		           ? remove_if_abandoned(dirfd(dp), e->d_name)
		           : TMP_LEFT;
		left += fate != TMP_REMOVED;
		recent += fate == TMP_YOUNG;
	}
	closedir(dp);
	if (young != NULL)
		*young = recent;
	return left;
}

/* Set while this process holds the run's lock (publish_run_locked()):
 * publish_read() may then remove leftovers. */
static int tidy_enabled;
/* The descriptor the run's lock is on, or -1: each supervisor keeps a
 * copy (command.c's LOCK_FD) until what its command started is gone. */
static int run_lock_fd = -1;

void
publish_run_locked(int fd)
{
	tidy_enabled = 1;
	run_lock_fd = fd;
}

int
publish_run_lock(void)
{
	return run_lock_fd;
}

/* Directories found without any temporary, each at its mtime then: a
 * directory that many policy files share is read once per run, not once
 * per file. */
static struct clean_dir {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
} clean_dirs[PUBLISH_CLEAN_DIRS];
static size_t clean_next;
static pthread_mutex_t clean_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether the directory st was found clean at its present mtime. */
static int
dir_known_clean(const struct stat *st)
{
	int found = 0;

	pthread_mutex_lock(&clean_lock);
	for (size_t i = 0; i < PUBLISH_CLEAN_DIRS && !found; i++) {
		const struct clean_dir *c = &clean_dirs[i];

		found = c->dev == st->st_dev && c->ino == st->st_ino &&
		        c->mtime.tv_sec == st->st_mtim.tv_sec &&
		        c->mtime.tv_nsec == st->st_mtim.tv_nsec;
	}
	pthread_mutex_unlock(&clean_lock);
	return found;
}

/* Remember the directory st as clean at its present mtime. */
static void
dir_mark_clean(const struct stat *st)
{
	pthread_mutex_lock(&clean_lock);
	clean_dirs[clean_next].dev = st->st_dev;
	clean_dirs[clean_next].ino = st->st_ino;
	clean_dirs[clean_next].mtime = st->st_mtim;
	clean_next = (clean_next + 1) % PUBLISH_CLEAN_DIRS;
	pthread_mutex_unlock(&clean_lock);
}

/* Is a later than b? */
static int
later_than(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/*
 * After the policy file f (its status in file) was read in a run that
 * holds the lock: remove the leftovers of killed writers next to it,
 * which else stay as long as the policy does not change (and a
 * publish-command running `git add -A` would commit them). Cheaply: a
 * run with nothing to do reads one file per domain, and lists no
 * directory where nothing happened. Making a temporary changes the
 * directory's mtime, and a rename puts the file in place at the moment
 * it changes that mtime; so the directory is listed only when its mtime
 * is later than the file's ctime, and not again in this run once found
 * clean at that mtime (a directory that many files share is listed
 * once). A file system that stamps the two updates of a rename apart
 * has its directories listed once a run, which costs about what reading
 * the files does. Removing a leftover changes the mtime again, so such
 * a directory is listed on each run until the file is next replaced:
 * one small listing, only where a writer was once killed. Missed: a
 * temporary made before the file was last replaced (two writers of one
 * file at once) whose writer died since; the next write of the file
 * removes it. On a file system without locks a temporary under a minute
 * old is left for its age: the directory is then not clean, and is
 * listed again by the next run (and after a write beside it, thanks to
 * keep_dir_listed()) until the temporary is old enough to go.
 */
static void
tidy_after_read(const struct publish_file *f, const struct stat *file)
{
	struct stat st;

	if (!tidy_enabled)
		return;
	if (fstat(f->dirfd, &st) == 0 &&
	    later_than(&st.st_mtim, &file->st_ctim) && !dir_known_clean(&st) &&
	    remove_leftovers(f->dirfd, f->name, NULL) == 0 &&
	    fstat(f->dirfd, &st) == 0)
		dir_mark_clean(&st);
}

/*
 * f was just renamed into its directory beside a temporary of its own
 * that a tidy could not judge: a file system without locks, and younger than
 * PUBLISH_NOLOCK_AGE (a writer killed less than a minute ago, or another
 * writer of the file at work). The rename gave dir the file's ctime as
 * its mtime, so tidy_after_read() would not list dir again until the
 * file is next replaced, and a leftover would stay past its minute. So,
 * if one is still there (the other writer may have renamed its own
 * since), dir is touched until its mtime is later than the file's ctime
 * (checked against the times the file system gave, in steps from 10 ms
 * to 1 s: some keep whole seconds), and later runs list it until the
 * leftover is gone. Only in a run that holds the lock, whose later runs
 * tidy; best effort (a directory this user may not touch keeps the
 * leftover until the file next changes).
 */
static void
keep_dir_listed(const struct publish_file *f)
{
	static const double pause[PUBLISH_MARK_TRIES] = {0.01, 0.1, 0.5, 1};
	struct stat file, st;
	size_t young;

	if (!tidy_enabled)
		return;
	remove_leftovers(f->dirfd, f->name, &young);
	for (int i = 0; young > 0 && i < PUBLISH_MARK_TRIES; i++) {
		if (fstatat(f->dirfd, f->name, &file, AT_SYMLINK_NOFOLLOW) ==
		        -1 ||
		    fstat(f->dirfd, &st) == -1 ||
		    later_than(&st.st_mtim, &file.st_ctim))
			return;
		sleep_seconds(pause[i]);
		if (futimens(f->dirfd, NULL) == -1)
			return;
	}
}

/* Whether name, in the directory dfd, still names the file open as
 * fd. */
static int
still_named(int dfd, int fd, const char *name)
{
	struct stat own, named;

	return fstat(fd, &own) == 0 &&
	       fstatat(dfd, name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
	       own.st_dev == named.st_dev && own.st_ino == named.st_ino;
}

/* Six letters and digits for a temporary's name, into out (no NUL),
 * random where the kernel has randomness at hand: a name that others
 * cannot guess cannot be taken before us (which would only cost a try:
 * create_tmp() never opens what it did not make). */
static void
random_name(char *out)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned long counter;
	unsigned char r[6];
	struct timespec ts;
	uint64_t h;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		h = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		    ((uint64_t)getpid() << 12) ^
		    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		h = hash64_bytes(&h, sizeof(h));
		memcpy(r, &h, sizeof(r));
	}
	for (size_t i = 0; i < sizeof(r); i++)
		out[i] = set[r[i] % (sizeof(set) - 1)];
}

/* Create a new file of a random name (random_name() in place of the
 * last six bytes of name) in the directory dfd, as mkostemp(3) does in
 * a directory named by path: exclusive, never through a link, mode
 * 0600 until filled. Returns its descriptor, or -1 with errno. */
static int
create_tmp(int dfd, char *name)
{
	size_t len = strlen(name);
	int fd = -1;

	for (int i = 0; i < PUBLISH_NAME_TRIES && fd == -1; i++) {
		random_name(name + len - 6);
		fd = openat(dfd, name,
		            O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            0600);
		if (fd == -1 && errno != EEXIST)
			return -1;
	}
	return fd;
}

/*
 * The reason the new copy of f could not be made in its directory (errno
 * err), into d. Its name is not in it: a random one, it would make the
 * same failure read differently at every run. Refused for permission,
 * the directory itself must be writable: the new copy is renamed over
 * the file, and write access to the file alone (which operators often
 * give, chown'ing the file) is not enough.
 */
static void
tmp_create_error(const struct publish_file *f, int err, struct diag *d)
{
	char hint[PATH_MAX + 320];

	dir_write_hint(err, f->dir, hint, sizeof(hint));
	diag_error(d,
	           "policy-file %s: cannot create its new copy in %s: %s%s%s",
	           f->path, f->dir, strerror(err), hint,
	           err == EACCES || err == EPERM
	               ? " (the copy is renamed over the file: write access "
	                 "to the file alone is not enough)"
	               : "");
}

/*
 * Make the temporary tmp (f's path + ".tmp-XXXXXX"; the X are replaced)
 * in f's directory, locked (flock LOCK_EX) until its descriptor is closed: the
 * lock tells every tidy, of this run or another, that its writer is alive
 * (remove_if_abandoned()). A tidy of another process may take it for a
 * leftover between its creation and the lock (tmp_lock keeps this
 * process's off): a temporary whose name is gone once locked, or that
 * such a tidy holds, is given up for another. Where the file system has
 * no locks, the temporary goes unlocked, and a tidy judges it by its age
 * instead (remove_if_abandoned()). Returns the descriptor, or -1 with
 * the reason in d.
 */
static int
open_tmp(const struct publish_file *f, char *tmp, struct diag *d)
{
	char *name = tmp + (f->name - f->path); /* its name in f->dirfd */
	int fd, rc, err;

	for (int i = 0; i < PUBLISH_TMP_TRIES; i++) {
		pthread_mutex_lock(&tmp_lock);
		fd = create_tmp(f->dirfd, name);
		rc = fd == -1 ? -1 : flock(fd, LOCK_EX | LOCK_NB);
		err = errno;
		pthread_mutex_unlock(&tmp_lock);
		if (fd == -1) {
			tmp_create_error(f, err, d);
			return -1;
		}
		if (rc == 0 ? still_named(f->dirfd, fd, name)
		            : err != EWOULDBLOCK)
			return fd;
		if (rc == -1) /* the tidy may not have the right to */
			unlinkat(f->dirfd, name, 0);
		close(fd);
	}
	diag_error(d,
	           "policy-file %s: cannot create its new copy in %s: another "
	           "program removed each temporary file made there before it "
	           "could be used (%d in a row); keep it away from the "
	           "*" PUBLISH_TMP_SUFFIX "* files there",
	           f->path, f->dir, PUBLISH_TMP_TRIES);
	return -1;
}

/* Write all len bytes to fd. Returns 0 or -1 with errno set. */
static int
write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------ group commit */

/*
 * Group commit. A writer whose data (or rename) is complete calls
 * group_sync(fd) and needs a flush of its file system that starts after
 * that point. If none is running it runs one itself, covering every
 * writer that arrived before; otherwise it waits, and the next flush,
 * started as soon as the running one ends, covers every writer that
 * arrived meanwhile. A flush covering one writer is fsync(2) of its
 * descriptor, as without any grouping (so a run publishing one domain
 * at a time flushes exactly what it wrote); one covering several is
 * syncfs(2), which writes back and flushes everything dirty on that
 * file system, a superset of fsync of each of their files. The outcome
 * goes to every writer the flush covered; when a syncfs fails, each of
 * them flushes its own file alone, since the error may be another
 * file's, and is judged by that. syncfs reports
 * the writeback errors of the whole file system since the descriptor it
 * is given was opened (Linux 5.8+); each covered writer then also asks
 * for its own file's writeback errors (sync_file_range(2), no flush), so
 * an error older than the leader's descriptor is not lost. Without
 * syncfs (ENOSYS) every writer falls back to its own fsync.
 *
 * syncfs also writes back whatever else is dirty on the file system (a
 * busy /var), and on ext4 it may commit the journal twice; measured
 * there, with a name server writing its journals on the same file
 * system, one syncfs took 1.1 to 1.5 times a lone fsync. So it is kept
 * only while it pays: the time of each flush is measured, and once
 * PUBLISH_SLOW_SYNCFS syncfs calls in a row each took longer than the
 * fsyncs of the writers it covered would have (their number times the
 * running average of a lone fsync), that file system goes back to one
 * fsync per writer for the rest of the run.
 *
 * One mutex and one condition variable for all file systems (there are
 * few, and waiters only wake to check their own flag). The child of
 * publish_run_command never touches them, so fork(2) while a thread
 * holds the mutex is harmless.
 */

/* A writer waiting for a flush; lives on the writer's stack. */
struct sync_waiter {
	int fd;
	int done;      /* a flush covering it has finished */
	int err;       /* its errno, 0 on success */
	int by_syncfs; /* that flush was syncfs(2) */
	struct sync_waiter *next;
};

/* The flushes of one file system. */
struct sync_group {
	dev_t dev;
	int used;
	int running;                 /* a flush is in progress */
	int fsync_only;              /* no syncfs(2), or it did not pay */
	int slow_syncfs;             /* syncfs costlier than fsyncs, in a row */
	double fsync_time;           /* running average of a lone fsync, s */
	struct sync_waiter *waiting; /* not covered by a started flush */
};

static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static struct sync_group sync_groups[PUBLISH_SYNC_GROUPS];

/* The group of file system dev, made on first use; NULL if the table is
 * full. Called with sync_lock held. */
static struct sync_group *
group_find(dev_t dev)
{
	size_t i;

	for (i = 0; i < PUBLISH_SYNC_GROUPS; i++) {
		if (sync_groups[i].used && sync_groups[i].dev == dev)
			return &sync_groups[i];
		if (!sync_groups[i].used) {
			sync_groups[i].used = 1;
			sync_groups[i].dev = dev;
			return &sync_groups[i];
		}
	}
	return NULL;
}

/*
 * Learn from a flush of g that covered n writers and took t seconds
 * (called with sync_lock held): the average of a lone fsync, and whether
 * syncfs keeps paying (see above).
 */
static void
group_learn(struct sync_group *g, size_t n, double t)
{
	if (n == 1) {
		g->fsync_time =
		    g->fsync_time > 0 ? 0.75 * g->fsync_time + 0.25 * t : t;
		return;
	}
	if (g->fsync_time > 0 && t > (double)n * g->fsync_time)
		g->slow_syncfs++;
	else
		g->slow_syncfs = 0;
	if (g->slow_syncfs >= PUBLISH_SLOW_SYNCFS)
		g->fsync_only = 1;
}

/*
 * Run one flush for every writer waiting in g (self among them), with
 * sync_lock held on entry and on return (dropped during the flush), and
 * give each of them its outcome.
 */
static void
group_lead(struct sync_group *g, struct sync_waiter *self)
{
	struct sync_waiter *batch = g->waiting, *w, *next;
	int many = batch->next != NULL, err = 0;
	int fallback = many && g->fsync_only; /* learnt since they queued */
	double start;
	size_t n = 0;

	g->waiting = NULL;
	g->running = 1;
	pthread_mutex_unlock(&sync_lock);
	start = util_mono();
	if (fallback)
		err = ENOSYS; /* each of them fsyncs its own file */
	else if ((many ? syncfs(self->fd) : fsync(self->fd)) == -1)
		err = errno;
	pthread_mutex_lock(&sync_lock);
	if (many && err == ENOSYS)
		g->fsync_only = 1;
	for (w = batch; w != NULL; w = next, n++) {
		next = w->next;
		w->err = err;
		w->by_syncfs = many;
		w->done = 1;
	}
	if (err == 0)
		group_learn(g, n, util_mono() - start);
	g->running = 0;
	pthread_cond_broadcast(&sync_cv);
}

/* After a syncfs covered fd: the writeback errors of fd's own file since
 * it was opened, without another flush. Returns 0 or -1 with errno. */
static int
own_wb_error(int fd)
{
	if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_AFTER) == 0)
		return 0;
	if (errno == ENOSYS || errno == EINVAL || errno == ESPIPE)
		return fsync(fd); /* cannot ask: flush it alone */
	return -1;
}

/*
 * Make what was written through fd (data, or a rename in the directory
 * fd) durable, like fsync(fd), sharing the flush with the writers that
 * call this at the same time. Thread-safe. Returns 0, or -1 with errno.
 */
static int
group_sync(int fd)
{
	struct sync_waiter self = {.fd = fd};
	struct sync_group *g;
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	pthread_mutex_lock(&sync_lock);
	g = group_find(st.st_dev);
	if (g == NULL || g->fsync_only) {
		pthread_mutex_unlock(&sync_lock);
		return fsync(fd);
	}
	self.next = g->waiting;
	g->waiting = &self;
	while (!self.done) {
		if (!g->running)
			group_lead(g, &self);
		else
			pthread_cond_wait(&sync_cv, &sync_lock);
	}
	pthread_mutex_unlock(&sync_lock);
	/* No syncfs, or it failed: the error may be another file's (syncfs
	 * reports any on the file system), so each writer asks for its own
	 * file alone and is blamed only for that. */
	if (self.by_syncfs && self.err != 0)
		return fsync(fd);
	if (self.err != 0) {
		errno = self.err;
		return -1;
	}
	if (self.by_syncfs && S_ISREG(st.st_mode))
		return own_wb_error(fd);
	return 0;
}

/* Make the open temporary fd (in the directory dfd; the new copy of the
 * policy file path, which messages name) 0644,
 * owned as a directory made there would be (own_like_dir(): a try as
 * root leaves the service user's file, as it leaves their directories),
 * write data into it and make it durable; it stays open, and locked.
 * The mode first: a run of another user (a try as root) can then open a
 * leftover to see whether it is held (remove_if_abandoned()). Returns
 * 0, or -1 with the reason in d. */
static int
fill_tmp(int dfd, int fd, const char *path, const char *data, size_t len,
         struct diag *d)
{
	const char *what = NULL;

	own_like_dir(fd, dfd);
	if (fchmod(fd, 0644) == -1)
		what = "set the mode of its new copy";
	else if (write_all(fd, data, len) == -1)
		what = "write its new copy";
	else if (group_sync(fd) == -1)
		what = "flush its new copy to disk";
	if (what == NULL)
		return 0;
	/* not the temporary's random name: the same failure, the same
	 * words at every run */
	diag_error(d, "policy-file %s: cannot %s: %s", path, what,
	           strerror(errno));
	return -1;
}

/* fsync f's directory so that a rename in it is durable, through a
 * descriptor of its own (f->dirfd may be path-only: a directory this user
 * may not read). EINVAL (a file system that cannot) is not an error.
 * Returns 0 or -1. */
static int
sync_dir(const struct publish_file *f, struct diag *d)
{
	int fd = openat(f->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1 || (group_sync(fd) == -1 && errno != EINVAL)) {
		diag_error(d,
		           "policy-file %s: replaced, but its directory %s "
		           "cannot be flushed to disk: %s (a crash may bring "
		           "the old file back)",
		           f->path, f->dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Refuse f if it is a symbolic link: the rename would replace the
 * link, not the file it points to. Returns 0, or -1 (in d). */
static int
refuse_link(const struct publish_file *f, struct diag *d)
{
	struct stat st;

	if (fstatat(f->dirfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return policy_link_refused(f, d);
	return 0;
}

/* Put the filled temporary tmp in place of f. Returns 0, or -1 (in
 * d). */
static int
rename_tmp(const struct publish_file *f, const char *tmp, struct diag *d)
{
	const char *name = tmp + (f->name - f->path);

	if (renameat(f->dirfd, name, f->dirfd, f->name) == 0)
		return 0;
	/* EBUSY: the file is a mount point, which rename(2) cannot
	 * replace */
	diag_error(d, "policy-file %s: cannot replace it: %s%s", f->path,
	           strerror(errno),
	           errno == EBUSY ? "; a bind-mounted file cannot be "
	                            "replaced: bind-mount its directory "
	                            "instead"
	                          : "");
	return -1;
}

int
publish_file_write(struct publish_file *f, const char *data, size_t len,
                   struct diag *d)
{
	struct buf tmp;
	size_t young; /* f's temporaries left unjudged: no locks */
	int fd, rc = -1;

	buf_init(&tmp, PUBLISH_PATH_MAX + PUBLISH_TMP_EXTRA);
	if (*f->name == '\0') {
		diag_error(d, "%s: not a usable file name", f->path);
		goto out;
	}
	if (strlen(f->name) > PUBLISH_NAME_MAX ||
	    buf_printf(&tmp, "%s" PUBLISH_TMP_SUFFIX "XXXXXX", f->path) == -1) {
		diag_error(d,
		           "%s: longer than %u bytes, or its name than %u: the "
		           "temporary file beside it would not fit",
		           f->path, PUBLISH_PATH_MAX, PUBLISH_NAME_MAX);
		goto out;
	}
	if (open_dir(f, 1, d) == -1 || refuse_link(f, d) == -1)
		goto out;
	remove_leftovers(f->dirfd, f->name, &young);
	fd = open_tmp(f, tmp.data, d);
	if (fd == -1)
		goto out;
	if (fill_tmp(f->dirfd, fd, f->path, data, len, d) == -1 ||
	    rename_tmp(f, tmp.data, d) == -1) {
		unlinkat(f->dirfd, tmp.data + (f->name - f->path), 0);
		close(fd);
		goto out;
	}
	/* Closed only now: its lock kept every tidy off the temporary until
	 * the rename. The bytes are durable (fill_tmp), so the close has
	 * nothing left to report. */
	close(fd);
	rc = sync_dir(f, d) == 0 ? 0 : -2;
	if (young > 0)
		keep_dir_listed(f);
out:
	buf_free(&tmp);
	return rc;
}

int
publish_write(const char *path, const char *data, size_t len, struct diag *d)
{
	struct publish_file f;
	int rc;

	publish_file_init(&f, path);
	rc = publish_file_write(&f, data, len, d);
	publish_file_close(&f);
	return rc;
}
