/*
 * publish.c - the published policy file: bounded read, atomic replacement
 * (a temporary in the same directory, fsync, rename, fsync of the
 * directory), the publish-command run without a shell, and the check that
 * the web server serves the new bytes.
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
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "conf.h"
#include "dirwalk.h"
#include "policy.h"
#include "publish.h"
#include "util.h"

#define PUBLISH_CLEAN_DIRS 64   /* directories remembered clean */
#define PUBLISH_OUTPUT_MAX 8192 /* bytes of command output kept */
#define PUBLISH_OUTPUT_LINES 5  /* lines of it shown on failure */
/* seconds a command's process group has between SIGTERM and SIGKILL */
#define PUBLISH_STOP_GRACE 5
/* Rounds of SIGKILL a supervisor sends, one a second, from
 * PUBLISH_STOP_GRACE s after its SIGTERM (sv_kill()); the run waits for
 * them before it kills a supervisor itself (stop_late()). */
#define SV_KILL_ROUNDS 5
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

/*
 * Whether f's file (st) may be another file that someone hard-linked
 * there (a key of root's, where fs.protected_hardlinks is 0): it has
 * other names, and its directory belongs to another user than root or
 * the running user, whose own file it is not, or others than its owner
 * may write the directory (dir_shared(): its group, anyone, a user or
 * group its ACL lets, or, its ACL unread, who knows). Reading it would
 * show it: a dry run prints the file it replaces.
 */
static int
linked_in(const struct publish_file *f, const struct stat *st, struct stat *dst)
{
	uid_t me = geteuid();
	struct acl_who aw;

	if (st->st_nlink <= 1 || fstat(f->dirfd, dst) == -1)
		return 0;
	if (dst->st_uid != 0 && dst->st_uid != me)
		return st->st_uid != dst->st_uid;
	/* an ACL that cannot be read may let anyone: refused too */
	return dir_shared(f->dirfd, dst, &aw) != 0;
}

/* Refuse f's file (st), which linked_in() says may be another file
 * (its directory's status dst). Returns -1 (in d). */
static int
linked_refused(const struct publish_file *f, const struct stat *st,
               const struct stat *dst, struct diag *d)
{
	char owner[128], where[320], sh[DIAG_MSG_MAX];

	if (dst->st_uid != 0 && dst->st_uid != geteuid())
		snprintf(where, sizeof(where), "belongs to %s",
		         user_shown(dst->st_uid, owner, sizeof(owner)));
	else
		dir_writers_words(f->dirfd, dst, where, sizeof(where));
	diag_error(d,
	           "%s has %lu names (hard links) and belongs to %s, in a "
	           "directory that %s: it may be another file linked there "
	           "(a key, say), so it is not read; remove it (rm %s), and "
	           "the next run writes it anew",
	           path_shown(f->path, '\0', NULL, 0),
	           (unsigned long)st->st_nlink,
	           user_shown(st->st_uid, owner, sizeof(owner)), where,
	           path_shell(f->path, sh, sizeof(sh)));
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
	struct stat now, dst;

	if (fstatat(f->dirfd, f->name, &now, AT_SYMLINK_NOFOLLOW) == -1 ||
	    now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		return 1;
	if (linked_in(f, st, &dst) || linked_in(f, &now, &dst))
		return linked_refused(f, &now, &dst, d);
	return 0;
}

/* Looks at a policy file that changes while it is opened, at most (a
 * publish of another domain sharing the file renames over it). */
#define POLICY_OPEN_TRIES 3

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
 * copy (LOCK_FD) until what its command started is gone. */
static int run_lock_fd = -1;

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

static double now_mono(void);

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
	start = now_mono();
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
		group_learn(g, n, now_mono() - start);
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

/* Expand %d, %f and %% in arg into out. The configuration refuses
 * another '%' sequence (conf.c, percent_bad()); one would be copied as
 * it is. Returns 0, or -1 if out would pass its maximum. */
static int
expand_arg(const char *arg, const char *domain, const char *file,
           struct buf *out)
{
	const char *p;
	int rc = 0;

	for (p = arg; *p != '\0' && rc == 0; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			rc = buf_puts(out, domain);
			p++;
		} else if (p[0] == '%' && p[1] == 'f') {
			rc = buf_puts(out, file);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			rc = buf_puts(out, "%");
			p++;
		} else {
			rc = buf_append(out, p, 1);
		}
	}
	return rc;
}

static void
free_argv(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

#define ARG_MAX_LEN 65536u /* bytes of one expanded argument */

/* A NULL-terminated argv with the substitutions done; free with
 * free_argv(). NULL (reason in d) if an argument would be longer than
 * ARG_MAX_LEN: it is refused, not cut. */
static char **
build_argv(const struct strlist *argv, const char *domain, const char *file,
           struct diag *d)
{
	char **v = xcalloc(argv->n + 1, sizeof(*v));
	struct buf b;
	size_t i;

	for (i = 0; i < argv->n; i++) {
		buf_init(&b, ARG_MAX_LEN);
		if (expand_arg(argv->v[i], domain ? domain : "",
		               file ? file : "", &b) == -1) {
			buf_free(&b);
			free_argv(v);
			diag_error(
			    d,
			    "publish-command: argument %zu is longer "
			    "than %u bytes once %%d and %%f are expanded",
			    i + 1, ARG_MAX_LEN);
			return NULL;
		}
		v[i] = buf_steal(&b);
	}
	return v;
}

/*
 * A command ready to run: the program checked (program_find()), by the
 * absolute path that is executed, so that what runs is what was checked
 * (execvp() would look a bare name up in PATH again), and the identity
 * (device, inode) of the file checked, looked at again just before the
 * exec; the arguments it gets, its argv[0] as written for a bare name
 * (git), made absolute for a path (the command runs in /); and, for a
 * program without "#!" that the kernel does not run (ENOEXEC), the
 * shell's argv, "/bin/sh" path arguments..., as execvp() runs it (its
 * strings are argv's). Made before the fork: the supervisor and the
 * command allocate nothing.
 */
struct cmd_line {
	char *path;
	dev_t dev;
	ino_t ino;
	char **argv;
	char **sh;
};

static void
cmd_line_free(struct cmd_line *c)
{
	free(c->path);
	free_argv(c->argv);
	free(c->sh);
	memset(c, 0, sizeof(*c));
}

/*
 * In the supervisor: close every descriptor from `first` on, so that
 * neither it nor the command (and whatever that leaves running) holds
 * the run's sockets and files (the supervisor keeps only a close-on-exec
 * copy of the lock: the configuration it is on may hold a TSIG secret);
 * and so that the run sees the end of
 * another command's output as soon as that command ends. Only
 * async-signal-safe calls: the run has other threads.
 */
static void
close_from(int first)
{
	struct rlimit rl;
	int fd, max = 65536;

#ifdef CLOSE_RANGE_CLOEXEC /* close_range() is there too */
	if (close_range((unsigned)first, ~0U, 0) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (fd = first; fd < max; fd++)
		close(fd);
}

/* The signals that end a run: they stop the running commands first
 * (publish_catch_signals()). */
static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};
#define NSTOP_SIGNALS (sizeof(stop_signals) / sizeof(stop_signals[0]))

void
publish_run_locked(int fd)
{
	tidy_enabled = 1;
	run_lock_fd = fd;
}

/*
 * A publish-command runs under a supervisor: a process forked from the
 * run that makes a process group of its own, forks the command into it
 * and waits for it, so that no command outlives its run. The run has
 * the supervisor stop the group (a SIGTERM to it) on a timeout or when
 * a signal ends the run; a run killed with SIGKILL cannot, and its
 * command would go on beside the next run (and could deploy an older
 * policy after that run changed the id). So the kernel tells the
 * supervisor when its run dies (PR_SET_PDEATHSIG), and it then stops the
 * group: SIGTERM, and SIGKILL rounds from PUBLISH_STOP_GRACE seconds
 * later. What the command leaves running in the group when it exits is
 * stopped the same way; the supervisor is the subreaper of the command's
 * processes, so it sees them end, and it holds a copy of the run's lock
 * until then, so that the next run waits for them to be gone even when
 * this run was killed (SV_KILL_ROUNDS s of SIGKILL at most: what is
 * left then is reported). Processes that leave the group (setsid, a
 * daemon's double fork) are stopped too: those whose parent ended are
 * the supervisor's children, the others are found through /proc by
 * their parent, and the supervisor ends once it has no child left. Out
 * of its reach is what is not a descendant: a process that another
 * service starts when asked to (systemd-run, at, an ssh to this host);
 * and, where /proc hides processes (hidepid=) from a user that is not
 * root, one that is not dumpable, until it is the supervisor's child.
 * The supervisor is a copy of the multithreaded run that never execs:
 * only async-signal-safe calls in it (no malloc, no stdio), and no
 * signal handler (sigwaitinfo()).
 */

/* What the report pipe of a command carries: records, each one write
 * (shorter than PIPE_BUF, so never split or mixed with another). */
struct cmd_report {
	int kind;  /* REPORT_* */
	int value; /* an errno, or a wait status */
};
enum {
	REPORT_EXEC = 1, /* from the command: its exec failed (errno) */
	REPORT_START,    /* from the supervisor: no command (errno) */
	REPORT_STATUS,   /* from the supervisor: the command's wait status */
	/* from the supervisor: no command, as it could not be stopped
	 * with the run (errno of prctl PR_SET_PDEATHSIG), or what it
	 * leaves could not be followed (PR_SET_CHILD_SUBREAPER) */
	REPORT_PDEATHSIG,
	REPORT_SUBREAPER,
	/* from the command: not executed, as its path no longer names the
	 * file checked (errno of the stat(), or 0: another file) */
	REPORT_REPLACED,
	/* from the supervisor, as it ends with children left after its
	 * SIGKILL rounds: how many (-1: not known), then the pid of each,
	 * SV_LEFT_MAX at most */
	REPORT_LEFT_COUNT,
	REPORT_LEFT
};
#define REPORT_FD 3 /* the report pipe in the supervisor and command */
/* The supervisor's copy of the run's lock, close-on-exec: a run killed
 * with SIGKILL releases its own at once, while the supervisor may stop
 * the group for PUBLISH_STOP_GRACE seconds more, and the next run must
 * not start beside a command that ignores SIGTERM. The command loses it
 * at its exec: the lock is on the configuration, which may hold a TSIG
 * secret. */
#define LOCK_FD 4

/* Set in the supervisor once it stops its group. */
static int sv_stopping;
/* In the supervisor: rounds of SIGKILL sent (sv_kill()), one a second
 * from PUBLISH_STOP_GRACE s after the SIGTERM, until no child is left
 * or SV_KILL_ROUNDS were sent (what SIGKILL does not end at once is in
 * the kernel: an uninterruptible wait, which the lock, held until the
 * supervisor ends, should not wait for). */
static int sv_kill_rounds;
/* Set in the supervisor without a /proc of its own (sv_proc_ours()):
 * it cannot find what left its group, and waits for the group alone. */
static int sv_noproc;
/* Processes the supervisor names to the run when SIGKILL rounds end
 * with children left (REPORT_LEFT). */
#define SV_LEFT_MAX 8
/* Descendants one scan of /proc notes (on the supervisor's stack: no
 * malloc after the fork); more are found by the next round, once those
 * noted have ended. */
#define SV_DESC_MAX 256
/* Passes over /proc in one scan (sv_descendants()). */
#define SV_SCAN_PASSES 8

/* _Fork() (glibc 2.34), or fork() without it: a copy of a multithreaded
 * process should not run fork handlers, which may wait for a lock that
 * another thread of the run held (POSIX.1-2024 made _Fork()
 * async-signal-safe, and fork() no longer). */
static pid_t
fork_bare(void)
{
#ifdef HAVE__FORK
	return _Fork();
#else
	return fork();
#endif
}

/* A process a look at /proc found below the supervisor. */
struct sv_proc {
	pid_t pid, ppid, pgrp;
	/* its start, in clock ticks after boot: with the pid, it names one
	 * process, not another given the same pid later (0: not known, for
	 * a child /proc hides, which keeps its pid until it is reaped) */
	unsigned long long start;
	/* a zombie whose threads have all ended: nothing to signal, and
	 * no child (they went to the subreaper when it ended) */
	int dead;
};

/* In the supervisor: move *p past n fields of a /proc/PID/stat line
 * (each ends with a blank), not past end. */
static void
sv_skip_fields(const char **p, const char *end, int n)
{
	while (n-- > 0) {
		while (*p < end && **p != ' ')
			(*p)++;
		if (*p < end)
			(*p)++;
	}
}

/* In the supervisor: the decimal number at *p into *v, *p moved past it
 * and the blank after. Returns 0, or -1 if there is none. */
static int
sv_number(const char **p, const char *end, unsigned long long *v)
{
	const char *s = *p;

	*v = 0;
	while (s < end && *s >= '0' && *s <= '9' && *v < ULLONG_MAX / 10)
		*v = *v * 10 + (unsigned long long)(*s++ - '0');
	if (s == *p)
		return -1;
	*p = s;
	sv_skip_fields(p, end, 1);
	return 0;
}

/* In the supervisor: head, the decimal pid, then tail into path (48
 * bytes; head and tail fit with room for the digits), without
 * snprintf(), which is not async-signal-safe. */
static void
sv_path(const char *head, pid_t pid, const char *tail, char *path)
{
	char digits[16];
	size_t n = 0, len = 0;

	do
		digits[n++] = (char)('0' + pid % 10);
	while ((pid /= 10) > 0 && n < sizeof(digits));
	while (*head != '\0')
		path[len++] = *head++;
	while (n > 0)
		path[len++] = digits[--n];
	while (*tail != '\0')
		path[len++] = *tail++;
	path[len] = '\0';
}

/* In the supervisor: the parent, group, start and state of pid, from
 * /proc/PID/stat (fields 3 to 5, 20 and 22, counted after the name in
 * parentheses, which may hold any byte). Returns 0, or -1 if it is gone
 * or cannot be read (/proc may hide it: hidepid=). */
static int
sv_stat(pid_t pid, struct sv_proc *out)
{
	char path[48], line[1024];
	const char *p, *end;
	unsigned long long ppid, pgrp, threads;
	ssize_t n;
	int fd, zombie;

	sv_path("/proc/", pid, "/stat", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, line, sizeof(line));
	close(fd);
	if (n <= 0)
		return -1;
	for (end = line + n, p = end; p > line && p[-1] != ')'; p--)
		;
	if (p == line || p + 1 >= end)
		return -1;
	p++; /* the blank after the name */
	zombie = *p == 'Z';
	sv_skip_fields(&p, end, 1); /* state */
	if (sv_number(&p, end, &ppid) == -1 || sv_number(&p, end, &pgrp) == -1)
		return -1;
	sv_skip_fields(&p, end, 14); /* session ... nice */
	if (sv_number(&p, end, &threads) == -1)
		return -1;
	sv_skip_fields(&p, end, 1); /* itrealvalue */
	if (sv_number(&p, end, &out->start) == -1)
		return -1;
	out->pid = pid;
	out->ppid = (pid_t)ppid;
	out->pgrp = (pid_t)pgrp;
	/* a group leader ended before its threads stays a zombie with
	 * them: they are signalled through its pid, and their children
	 * have it as their parent */
	out->dead = zombie && threads <= 1;
	return 0;
}

/* In the supervisor: the index of pid among the n processes in d[], or
 * -1 if it is not there. */
static ssize_t
sv_find(const struct sv_proc *d, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (d[i].pid == pid)
			return (ssize_t)i;
	return -1;
}

/* In the supervisor: the pid a /proc entry's name is, or 0 if it is not
 * a process's (self, sys...). */
static pid_t
sv_pid_of(const char *name)
{
	unsigned long long v;
	const char *p = name, *end = name;

	while (*end != '\0')
		end++;
	if (sv_number(&p, end, &v) == -1 || p != end || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

/* In the supervisor (self): whether p, just read, descends from it: its
 * parent is self, or one of the n in d[] that still is the process
 * noted (its start read again after p's: a pid cannot come back to a
 * process, so that parent held its pid all along, and p's parent is
 * that process, not a later one given its pid). */
static int
sv_below(const struct sv_proc *p, pid_t self, const struct sv_proc *d, size_t n)
{
	ssize_t k;
	struct sv_proc now;

	if (p->ppid == self)
		return 1;
	if ((k = sv_find(d, n, p->ppid)) == -1)
		return 0;
	return d[k].ppid == self || /* a child keeps its pid until reaped */
	       (sv_stat(d[k].pid, &now) == 0 && now.start == d[k].start);
}

/* In the supervisor: one pass over /proc (procfd, read from its start):
 * each process whose parent is the supervisor (self) or one of the n in
 * d[] is added there, up to max, unless it is a zombie that has ended.
 * Returns the number in d[] then. */
static size_t
sv_scan(int procfd, pid_t self, struct sv_proc *d, size_t n, size_t max)
{
	char buf[4096] __attribute__((aligned(8)));
	long got;
	pid_t pid;

	while (n < max &&
	       (got = syscall(SYS_getdents64, procfd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < got && n < max;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);

			off += e->d_reclen;
			pid = sv_pid_of(e->d_name);
			if (pid > 0 && pid != self &&
			    sv_find(d, n, pid) == -1 &&
			    sv_stat(pid, &d[n]) == 0 && !d[n].dead &&
			    sv_below(&d[n], self, d, n))
				n++;
		}
	return n;
}

/*
 * In the supervisor (self): note in d[] (max entries) its own children,
 * from /proc/self/task/SELF/children (it has one thread), which /proc
 * shows it even where it hides the children themselves (hidepid=,
 * ProtectProc=invisible: a process that is not dumpable, ssh-agent for
 * one, from a user that is not root): one that the scan cannot read is
 * noted by its pid alone, which stays its own until it is reaped.
 * Returns how many, or -1 if the list cannot be read (a kernel without
 * CONFIG_PROC_CHILDREN).
 */
static ssize_t
sv_children(pid_t self, struct sv_proc *d, size_t max)
{
	char path[48], list[4096];
	const char *p, *end;
	unsigned long long v;
	ssize_t got, len = 0;
	size_t n = 0;
	int fd;

	sv_path("/proc/self/task/", self, "/children", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (len < (ssize_t)sizeof(list) &&
	       (got = read(fd, list + len, sizeof(list) - (size_t)len)) > 0)
		len += got;
	close(fd);
	if (len == (ssize_t)sizeof(list)) /* a number may be cut: not it */
		while (len > 0 && list[len - 1] != ' ')
			len--;
	for (p = list, end = list + len; n < max && p < end;) {
		if (sv_number(&p, end, &v) == -1 || v == 0 || v > INT_MAX)
			break;
		if (sv_stat((pid_t)v, &d[n]) == -1) {
			d[n].pid = (pid_t)v;
			d[n].ppid = self;
			d[n].pgrp = getpgid((pid_t)v); /* a bare syscall */
			d[n].start = 0;
			d[n].dead = 0;
		}
		if (d[n].ppid == self && !d[n].dead)
			n++;
	}
	return (ssize_t)n;
}

/* In the supervisor (self): whether /proc is there, and of its pid
 * namespace (/proc/self names self): else the pids in it are others'. */
static int
sv_proc_ours(pid_t self)
{
	char link[16];
	ssize_t n = readlink("/proc/self", link, sizeof(link));
	const char *p = link;
	unsigned long long v;

	return n > 0 && n < (ssize_t)sizeof(link) &&
	       sv_number(&p, link + n, &v) == 0 && p == link + n &&
	       v == (unsigned long long)self;
}

/*
 * In the supervisor: note in d[] (max entries) its descendants, whatever
 * their group or session: its children (sv_children()), then the
 * processes whose parent (PPid) is the supervisor or one noted, by
 * passes over /proc until one adds nothing (a child listed before its
 * parent, its pid lower once pids wrapped, waits for the next pass),
 * SV_SCAN_PASSES at most. Returns how many, or -1 without a /proc of
 * its own (sv_noproc).
 */
static ssize_t
sv_descendants(struct sv_proc *d, size_t max)
{
	int procfd;
	pid_t self = getpid();
	ssize_t kids;
	size_t n = 0, before;

	if (sv_noproc ||
	    (procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((kids = sv_children(self, d, max)) > 0)
		n = (size_t)kids;
	for (int pass = 0; pass < SV_SCAN_PASSES && n < max; pass++) {
		before = n;
		if (lseek(procfd, 0, SEEK_SET) == -1)
			break;
		n = sv_scan(procfd, self, d, n, max);
		if (n == before)
			break;
	}
	close(procfd);
	return (ssize_t)n;
}

/* In the supervisor: send sig to p by kill() if it is still the process
 * noted (its start), which leaves a moment between the check and the
 * kill() for its pid to go to another process. */
static void
sv_kill_checked(const struct sv_proc *p, int sig)
{
	struct sv_proc now;

	if (sv_stat(p->pid, &now) == 0 && now.start == p->start)
		kill(p->pid, sig);
}

/*
 * In the supervisor (self): send sig to p, a descendant a scan noted, if
 * it is still that process. A child cannot become another process before
 * the supervisor reaps it, which it has not done since the scan; a
 * grandchild's pid may be reused as soon as its parent reaps it, so it
 * gets sig through a pidfd, which stays its own, opened, then checked to
 * be the process noted (its start). Without pidfds (Linux before 5.3),
 * or where they are refused (a seccomp filter that predates them returns
 * EPERM, ENOSYS or another errno; EMFILE), the check comes just before
 * kill() (sv_kill_checked()).
 */
static void
sv_signal(const struct sv_proc *p, pid_t self, int sig)
{
	struct sv_proc now;
	int fd = -1;

	if (p->ppid == self) {
		kill(p->pid, sig);
		return;
	}
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (fd == -1 && errno == ESRCH)
		return; /* gone */
#endif
	if (fd == -1) {
		sv_kill_checked(p, sig);
		return;
	}
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	if (sv_stat(p->pid, &now) == 0 && now.start == p->start &&
	    syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) == -1 &&
	    errno != ESRCH)
		sv_kill_checked(p, sig); /* the signal through it refused */
#else
	(void)now;
#endif
	close(fd);
}

/* In the supervisor: send sig to every descendant a scan of /proc finds
 * (sv_descendants()), those in its group too unless but_group (kill(0)
 * reached them). Returns 0, or -1 without a /proc to scan. */
static int
sv_signal_descendants(int sig, int but_group)
{
	struct sv_proc d[SV_DESC_MAX];
	pid_t self = getpid();
	ssize_t n = sv_descendants(d, SV_DESC_MAX);

	for (ssize_t i = 0; i < n; i++)
		if (!but_group || d[i].pgrp != self)
			sv_signal(&d[i], self, sig);
	return n == -1 ? -1 : 0;
}

/* In the supervisor: stop what the command is and started, once,
 * whatever asked for it (the run's SIGTERM, the kernel's when the run
 * dies, the command's end): SIGTERM to the group, its only one (the
 * supervisor's own, blocked, comes back from sigwaitinfo() and does
 * nothing more), and to each descendant out of it (setsid), then
 * SIGALRM PUBLISH_STOP_GRACE s later, which kills what is left
 * (sv_kill()). */
static void
sv_stop(void)
{
	if (sv_stopping)
		return;
	sv_stopping = 1;
	kill(0, SIGTERM);
	(void)sv_signal_descendants(SIGTERM, 1); /* none without /proc */
	alarm(PUBLISH_STOP_GRACE);
}

/*
 * In the supervisor: note in ignored[] the signals that end a run that
 * the run ignores from its start (nohup: they stay ignored for the
 * command), put the others back to their defaults (not the run's
 * handler), and block in *set, for sigwaitinfo(), those that stop the
 * group (SIGTERM always: the kernel sends it when the run dies), SIGALRM
 * and SIGCHLD. Signals are taken in turn, without a handler: nothing
 * runs at a moment the supervisor does not choose.
 */
static void
sv_signals(int *ignored, sigset_t *set)
{
	struct sigaction old;

	sigemptyset(set);
	for (size_t i = 0; i < NSTOP_SIGNALS; i++) {
		ignored[i] = sigaction(stop_signals[i], NULL, &old) == 0 &&
		             old.sa_handler == SIG_IGN;
		if (!ignored[i])
			signal(stop_signals[i], SIG_DFL);
		if (!ignored[i] || stop_signals[i] == SIGTERM)
			sigaddset(set, stop_signals[i]);
	}
	signal(SIGCHLD, SIG_DFL); /* ignored, children would not wait */
	sigaddset(set, SIGALRM);
	sigaddset(set, SIGCHLD);
	sigprocmask(SIG_SETMASK, set, NULL);
}

/* In the supervisor: standard input from /dev/null, output and errors
 * into the output pipe (outfd), the report pipe (repfd) as REPORT_FD
 * and a copy of the run's lock (if it holds one) as LOCK_FD, both
 * close-on-exec, and no other descriptor. outfd and repfd are above 2
 * (main() keeps 0 to 2 open). Returns 0, or an errno. */
static int
sv_descriptors(int outfd, int repfd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), lock = -1;

	/* the lock out of the way of the numbers below first: it may be 3 */
	if (null == -1 ||
	    (run_lock_fd != -1 &&
	     (lock = fcntl(run_lock_fd, F_DUPFD_CLOEXEC, LOCK_FD + 1)) == -1) ||
	    dup2(null, 0) == -1 || dup2(outfd, 1) == -1 ||
	    dup2(outfd, 2) == -1 ||
	    (repfd != REPORT_FD && dup2(repfd, REPORT_FD) == -1) ||
	    fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) == -1 ||
	    (lock != -1 && dup3(lock, LOCK_FD, O_CLOEXEC) == -1))
		return errno;
	close_from(lock != -1 ? LOCK_FD + 1 : REPORT_FD + 1);
	return 0;
}

/*
 * In the command, forked by its supervisor: the signals that end a run
 * as they were when the run started (ignored[]), SIGPIPE (which the run
 * ignores: a shell pipeline in the command needs it) at its default, the
 * run's signal mask (mask), then exec of c's program (or of the shell
 * for it, as execvp() does), if its path still names the file checked.
 * It has descriptors 0 to 2, and the report pipe, closed by the exec;
 * errno goes through it when the exec fails.
 */
static void __attribute__((noreturn))
command_exec(const struct cmd_line *c, const int *ignored, const sigset_t *mask)
{
	struct cmd_report r = {REPORT_EXEC, 0};
	struct stat st;

	for (size_t i = 0; i < NSTOP_SIGNALS; i++)
		signal(stop_signals[i], ignored[i] ? SIG_IGN : SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	/* the exec goes by the path (a script's interpreter opens it by
	 * that name, and its $0 is that name, not /dev/fd/N as with
	 * execveat() of a descriptor): what it names now must be what was
	 * checked, down to this moment */
	if (stat(c->path, &st) == -1 || st.st_dev != c->dev ||
	    st.st_ino != c->ino) {
		r.kind = REPORT_REPLACED;
		r.value = errno;
	} else {
		execv(c->path, c->argv);
		if (errno == ENOEXEC)
			execv(c->sh[0], c->sh);
		r.value = errno;
	}
	if (write(REPORT_FD, &r, sizeof(r)) < 0)
		_exit(126);
	_exit(127);
}

/* End the supervisor as the command ended (status, its wait status):
 * killed by the same signal (without a core of its own), or with the
 * same exit status. */
static void sv_end(int status) __attribute__((noreturn));
static void
sv_end(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		sigset_t set;

		prctl(PR_SET_DUMPABLE, 0);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

/* In the supervisor: fork the command (c, with ignored[] and mask for
 * it) unless the group is being stopped. Returns its pid, or -1 (then
 * reported, unless stopping). */
static pid_t
sv_start(const struct cmd_line *c, const int *ignored, const sigset_t *mask)
{
	struct cmd_report r = {REPORT_START, 0};
	pid_t pid = -1;

	if (!sv_stopping && (pid = fork_bare()) == 0)
		command_exec(c, ignored, mask);
	if (pid == -1 && !sv_stopping) {
		r.value = errno;
		if (write(REPORT_FD, &r, sizeof(r)) < 0)
			_exit(126);
	}
	return pid;
}

/*
 * In the supervisor, a child ended (SIGCHLD). Once the command (pid) has
 * ended (*status: its wait status, sent to the run at once, as the run
 * may kill the supervisor after), what it left running, in the group or
 * out of it, is stopped; the supervisor, their subreaper, is the parent
 * of each whose parent ended, and ends as the command did once it has no
 * child left, or, without a /proc of its own (sv_noproc), none in its
 * group: it could not stop one out of it, and would only wait for it.
 */
static void
sv_reap(pid_t pid, int *done, int *status)
{
	struct cmd_report r = {REPORT_STATUS, 0};
	pid_t w;

	if (!*done && waitpid(pid, status, WNOHANG) == pid) {
		*done = 1;
		r.value = *status;
		/* no status once SIGKILL was sent: the run says "killed", as
		 * when the supervisor died with the group */
		if (sv_kill_rounds == 0 &&
		    write(REPORT_FD, &r, sizeof(r)) != (ssize_t)sizeof(r))
			sv_stop(); /* the run is gone */
	}
	if (!*done)
		return;
	/* every child: those that left the group (setsid) too */
	while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
		;
	if ((w == -1 && errno == ECHILD) ||
	    (sv_noproc && waitpid(0, NULL, WNOHANG) == -1 && errno == ECHILD)) {
		alarm(0);
		sv_end(*status);
	}
	sv_stop();
}

/* In the supervisor, ending with children left after its SIGKILL
 * rounds: tell the run how many, and which (sv_children()), so that it
 * says so rather than "ok". */
static void
sv_report_left(void)
{
	struct sv_proc d[SV_DESC_MAX];
	struct cmd_report r[SV_LEFT_MAX + 1];
	ssize_t n = sv_noproc ? -1 : sv_children(getpid(), d, SV_DESC_MAX);
	size_t k = 0;

	r[k].kind = REPORT_LEFT_COUNT;
	r[k++].value = (int)n;
	for (ssize_t i = 0; i < n && i < SV_LEFT_MAX; i++) {
		r[k].kind = REPORT_LEFT;
		r[k++].value = d[i].pid;
	}
	/* one write, shorter than PIPE_BUF: the run reads it whole */
	if (write(REPORT_FD, r, k * sizeof(r[0])) < 0)
		return; /* the run is gone: nobody to tell */
}

/*
 * In the supervisor, SIGALRM: PUBLISH_STOP_GRACE s after the SIGTERM,
 * then each second, SIGKILL to every descendant left, in the group or
 * out of it, until none is left (sv_reap() ends the supervisor then):
 * one forked as its parent was killed is the supervisor's child after
 * that (it is their subreaper), and the next round finds it. After
 * SV_KILL_ROUNDS, it tells the run what is left (sv_report_left()) and
 * ends as the command did, or as killed if it did not end (pid, *done,
 * *status as for sv_reap()).
 */
static void
sv_kill(pid_t pid, int *done, int *status)
{
	sv_reap(pid, done, status); /* an end before the SIGKILL is its own */
	if (sv_kill_rounds == SV_KILL_ROUNDS) {
		sv_report_left();
		sv_end(*done ? *status : W_EXITCODE(0, SIGKILL));
	}
	sv_kill_rounds++;
	/* without /proc, the group alone, and the supervisor with it, as
	 * the supervisor cannot be left out of it */
	if (sv_signal_descendants(SIGKILL, 0) == -1)
		kill(0, SIGKILL);
	alarm(1);
}

/*
 * The supervisor, forked from the run (pid run) by a thread that blocks
 * the signals that end a run: a process group of its own, the kernel's
 * SIGTERM when the run dies, then the command started, and the signals
 * taken in turn until it and what it left have ended (sv_reap()), or the
 * SIGKILL rounds have run out (sv_kill()); then the supervisor ends as
 * the command did. c: the command; outfd, repfd:
 * the write ends of the output and report pipes; mask: the run's signal
 * mask.
 */
static void __attribute__((noreturn))
supervise(const struct cmd_line *c, int outfd, int repfd, const sigset_t *mask,
          pid_t run)
{
	struct cmd_report r = {REPORT_START, 0};
	int ignored[NSTOP_SIGNALS], status = 0, done = 0, sig;
	sigset_t set;
	pid_t pid;

	setpgid(0, 0);
	sv_noproc = !sv_proc_ours(getpid());
	/* its own name, so that a run refused by the lock it keeps tells
	 * it from a run (flock_holders()); the command's exec replaces it */
	prctl(PR_SET_NAME, SUPERVISOR_COMM);
	sv_signals(ignored, &set);
	/* without either, the guarantees are gone (a seccomp filter, a
	 * kernel before 3.4): no command, rather than one that may outlive
	 * its run or leave processes nothing stops */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
		r.value = errno;
		r.kind = REPORT_SUBREAPER;
	} else if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1) {
		r.value = errno;
		r.kind = REPORT_PDEATHSIG;
	} else if ((r.value = sv_descriptors(outfd, repfd)) == 0 &&
	           chdir("/") == -1)
		r.value = errno; /* the command runs in /, not where the run
		                    happens to be (a git work tree, a user's
		                    home): its paths are absolute */
	if (r.value != 0) {
		if (write(repfd, &r, sizeof(r)) < 0)
			_exit(126);
		_exit(127);
	}
	if (getppid() != run) /* it died before PR_SET_PDEATHSIG */
		sv_stop();
	pid = sv_start(c, ignored, mask);
	/* the output pipe is the command's alone: the run sees it end */
	close(0);
	close(1);
	close(2);
	if (pid == -1)
		sv_end(sv_stopping ? W_EXITCODE(0, SIGTERM)
		                   : W_EXITCODE(127, 0));
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGCHLD)
			sv_reap(pid, &done, &status);
		else if (sig == SIGALRM)
			sv_kill(pid, &done, &status);
		else if (sig > 0)
			sv_stop();
	}
}

/*
 * The process groups of the publish-commands running now (0: a free
 * slot), one per job at most, so that publish_stop_commands() can stop
 * them when the run is killed: else a git push would go on after the run,
 * beside the next run's.
 */
#define RUNNING_MAX 256
static pid_t running[RUNNING_MAX];
/* Set once a signal ends the run: no command starts after it. */
static int stopping;
/* Threads between the fork of a command and its entry in running[]. */
static int spawning;

/* Note the running command pid; returns its slot, or -1 if none is free
 * (more commands at once than jobs can run). */
static int
running_add(pid_t pid)
{
	for (int i = 0; i < RUNNING_MAX; i++) {
		pid_t free_slot = 0;

		if (__atomic_compare_exchange_n(&running[i], &free_slot, pid, 0,
		                                __ATOMIC_SEQ_CST,
		                                __ATOMIC_SEQ_CST))
			return i;
	}
	return -1;
}

static void
running_remove(int slot)
{
	if (slot >= 0)
		__atomic_store_n(&running[slot], 0, __ATOMIC_SEQ_CST);
}

void
publish_stop_commands(void)
{
	struct timespec ms = {0, 1000000};

	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	/* wait for the commands being started to enter running[]; not for
	 * ever: a fork may wait for a lock (malloc's) that the interrupted
	 * thread holds */
	for (int i = 0;
	     i < 1000 && __atomic_load_n(&spawning, __ATOMIC_SEQ_CST) > 0; i++)
		nanosleep(&ms, NULL);
	/* to each supervisor alone, which stops its group (sv_stop()):
	 * sent to the group as well, the command got SIGTERM twice, once
	 * from here and once from its supervisor, which this one reached */
	for (int i = 0; i < RUNNING_MAX; i++) {
		pid_t pid = __atomic_load_n(&running[i], __ATOMIC_SEQ_CST);

		if (pid > 0)
			kill(pid, SIGTERM);
	}
}

/* A run ended by a signal stops the publish-commands it started, then
 * ends as the signal ends it. */
static void
on_stop_signal(int sig)
{
	publish_stop_commands();
	signal(sig, SIG_DFL);
	raise(sig); /* blocked in here: delivered on return */
}

void
publish_catch_signals(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* a signal ignored from the start (nohup, a background job) stays
	 * ignored */
	for (size_t i = 0; i < NSTOP_SIGNALS; i++)
		if (sigaction(stop_signals[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaction(stop_signals[i], &sa, NULL);
}

/* Seconds on the monotonic clock. */
static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read what the pipe holds into out (bytes past out->max are dropped).
 * Returns 1 at end of file, else 0. */
static int
drain_pipe(int fd, struct buf *out)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return 1;
		if (n == -1)
			return errno == EINTR ? 0 : errno != EAGAIN;
		if (out->len < out->max)
			buf_append(out, chunk,
			           (size_t)n < out->max - out->len
			               ? (size_t)n
			               : out->max - out->len);
	}
}

/* Whether the child pid has exited, without reaping it (its pid, which
 * names its process group in running[], stays its own until then). */
static int
child_exited(pid_t pid)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) ==
	           0 &&
	       info.si_pid == pid;
}

/* What the report pipe of a command said, and how its wait ended. */
struct cmd_outcome {
	int exec_errno;       /* its exec failed */
	int replaced;         /* not executed: its path names another file */
	int start_errno;      /* its supervisor could not start it */
	const char *prctl_op; /* ... as this prctl() failed */
	int has_status;       /* status is the command's wait status */
	int status;
	int late;    /* it or what it left outlived the time limit */
	int in_time; /* ... but it had ended by then (has_status) */
	/* its supervisor ended with children left (REPORT_LEFT_COUNT):
	 * how many (-1: not known), and the pids of the first */
	int left;
	int left_n;
	pid_t left_pid[SV_LEFT_MAX];
	size_t left_pids;
};

/* Add what the report pipe fd (non-blocking) holds to o. */
static void
read_reports(int fd, struct cmd_outcome *o)
{
	struct cmd_report r[4];
	ssize_t n;

	while ((n = read(fd, r, sizeof(r))) > 0 || (n == -1 && errno == EINTR))
		for (size_t i = 0; n > 0 && i < (size_t)n / sizeof(r[0]); i++)
			if (r[i].kind == REPORT_EXEC)
				o->exec_errno = r[i].value;
			else if (r[i].kind == REPORT_REPLACED)
				o->replaced = 1;
			else if (r[i].kind == REPORT_START)
				o->start_errno = r[i].value;
			else if (r[i].kind == REPORT_PDEATHSIG ||
			         r[i].kind == REPORT_SUBREAPER) {
				o->start_errno = r[i].value;
				o->prctl_op = r[i].kind == REPORT_PDEATHSIG
				                  ? "PR_SET_PDEATHSIG"
				                  : "PR_SET_CHILD_SUBREAPER";
			} else if (r[i].kind == REPORT_STATUS) {
				o->has_status = 1;
				o->status = r[i].value;
			} else if (r[i].kind == REPORT_LEFT_COUNT) {
				o->left = 1;
				o->left_n = r[i].value;
			} else if (r[i].kind == REPORT_LEFT &&
			           o->left_pids < SV_LEFT_MAX)
				o->left_pid[o->left_pids++] = r[i].value;
}

/* A command as its run waits for it. */
struct cmd_wait {
	pid_t pid;       /* its supervisor, whose pid names the group */
	int slot;        /* the supervisor's in running[] */
	int outfd;       /* the command's output */
	int repfd;       /* the reports */
	double deadline; /* on the monotonic clock */
};

/*
 * At the deadline of w: the command is stopped as when the run ends by a
 * signal, by its supervisor (sv_stop(): SIGTERM to the group and what
 * left it, SIGKILL rounds from PUBLISH_STOP_GRACE s later), so that a
 * git command can remove its index.lock; the supervisor and its group
 * are killed from here only if the supervisor is still there 2 s after
 * its last round (it is stuck: its rounds are never cut short). Returns
 * 1 once it is killed, else 0 (the deadline moved on); o notes the
 * stop, and whether the command had ended.
 */
static int
stop_late(struct cmd_wait *w, struct cmd_outcome *o)
{
	if (o->late) {
		kill(-w->pid, SIGKILL);
		kill(w->pid, SIGKILL);
		return 1;
	}
	read_reports(w->repfd, o);
	o->late = 1;
	o->in_time = o->has_status;
	kill(w->pid, SIGTERM);
	w->deadline += PUBLISH_STOP_GRACE + SV_KILL_ROUNDS + 2;
	return 0;
}

/*
 * Collect the output of w until its supervisor exits and the pipe is
 * closed; past the deadline, stop it (stop_late()). The supervisor leaves
 * running[] before it is reaped. Returns its wait status.
 */
static int
wait_child(struct cmd_wait *w, struct buf *out, struct cmd_outcome *o)
{
	struct pollfd pfd = {.fd = w->outfd, .events = POLLIN};
	int status = 0, eof = 0;

	for (;;) {
		if (child_exited(w->pid))
			break;
		if (!eof)
			eof = drain_pipe(w->outfd, out);
		if (now_mono() >= w->deadline && stop_late(w, o))
			break;
		poll(&pfd, eof ? 0 : 1, 100);
	}
	running_remove(w->slot);
	waitpid(w->pid, &status, 0);
	if (!eof) /* at eof, or a background process holds the pipe */
		drain_pipe(w->outfd, out);
	return status;
}

/* Append up to PUBLISH_OUTPUT_LINES lines of output to msg, separated
 * by " / ". */
static void
summarize_output(const struct buf *out, struct buf *msg)
{
	const char *p = out->data ? out->data : "", *nl;
	int lines = 0;

	while (*p != '\0' && lines < PUBLISH_OUTPUT_LINES) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p) {
			buf_puts(msg, lines ? " / " : ": ");
			buf_append(msg, p, (size_t)(nl - p));
			lines++;
		}
		p = *nl ? nl + 1 : nl;
	}
	if (*p != '\0')
		buf_puts(msg, " / ...");
}

/* Append how a process ended (st, its wait status) to msg. */
static void
status_words(struct buf *msg, int st)
{
	if (WIFSIGNALED(st))
		buf_printf(msg, "killed by signal %d (%s)", WTERMSIG(st),
		           strsignal(WTERMSIG(st)));
	else
		buf_printf(msg, "exit status %d", WEXITSTATUS(st));
}

/* Append to msg how a command that outlived its time limit (timeout
 * seconds), or left something running that did, ended (o), and
 * what to change: the command, or the configuration's timeout, which is
 * the limit when longer than the default (sync.c). */
static void
late_words(struct buf *msg, const struct cmd_outcome *o, unsigned timeout)
{
	if (o->in_time) {
		status_words(msg, o->status);
		buf_printf(msg,
		           "; what it left running took longer than %u s: "
		           "stopped; have the command wait for what it starts "
		           "(setsid does not detach it: systemd-run without "
		           "--scope or at starts what should outlive it)",
		           timeout);
		return;
	}
	if (o->has_status) {
		buf_printf(msg, "took longer than %u s: stopped with SIGTERM (",
		           timeout);
		status_words(msg, o->status);
		buf_puts(msg, ")");
	} else
		buf_printf(msg,
		           "took longer than %u s, and did not end within %d s "
		           "of SIGTERM: killed",
		           timeout, PUBLISH_STOP_GRACE);
	if (timeout < CONF_TIMEOUT_MAX)
		buf_printf(msg,
		           "; to give it longer, raise timeout (the limit is "
		           "timeout when above %u s, up to %u)",
		           PUBLISH_DEFAULT_TIMEOUT, CONF_TIMEOUT_MAX);
	else
		buf_printf(msg,
		           "; %u s is the longest timeout gives: make the "
		           "command quicker",
		           CONF_TIMEOUT_MAX);
}

/* Append to msg what the supervisor of a command left running as it
 * ended (o), why that can be, and what to do. */
static void
left_words(struct buf *msg, const struct cmd_outcome *o)
{
	if (o->left_n > 0)
		buf_printf(msg, "; %d process%s it started", o->left_n,
		           o->left_n == 1 ? "" : "es");
	else
		buf_puts(msg, "; processes it started");
	for (size_t i = 0; i < o->left_pids; i++)
		buf_printf(msg, "%s%ld", i == 0 ? " (pid " : " ",
		           (long)o->left_pid[i]);
	if (o->left_pids > 0)
		buf_puts(msg, (int)o->left_pids < o->left_n ? " ...)" : ")");
	buf_printf(msg,
	           ", and what they started, could not be stopped within %d "
	           "s of SIGKILL: left running (where /proc is mounted with "
	           "hidepid=, ProtectProc=invisible in a systemd unit, a "
	           "process that is not dumpable, ssh-agent for one, is "
	           "hidden from a run that is not root; a process in an "
	           "uninterruptible wait outlasts SIGKILL); kill what is "
	           "left, and have the command wait for what it starts",
	           SV_KILL_ROUNDS);
}

/* Put the outcome of a failed run into d: status is the wait status (the
 * command's own when it sent it), o what else is known of it. */
static void
report_failure(const char *cmd, int status, const struct cmd_outcome *o,
               unsigned timeout, const struct buf *out, struct diag *d)
{
	struct buf msg;

	buf_init(&msg, 4096); /* diag_error() cuts it to DIAG_MSG_MAX */
	if (o->replaced)
		buf_printf(&msg,
		           "publish-command %s: not run: the program was "
		           "replaced or removed between its check and its "
		           "start; if nothing else than an upgrade of it "
		           "explains that, find what changes it",
		           cmd);
	else if (o->exec_errno != 0)
		buf_printf(&msg, "publish-command %s: cannot execute: %s", cmd,
		           strerror(o->exec_errno));
	else if (o->prctl_op != NULL)
		buf_printf(&msg,
		           "publish-command %s: not started: prctl(%s): %s; "
		           "without it the command could outlive the run or "
		           "leave processes nothing stops (Linux 3.4 or later "
		           "is needed, and a seccomp filter must allow prctl)",
		           cmd, o->prctl_op, strerror(o->start_errno));
	else if (o->start_errno != 0)
		buf_printf(&msg, "publish-command %s: cannot start it: %s", cmd,
		           strerror(o->start_errno));
	else {
		buf_printf(&msg, "publish-command %s: ", cmd);
		if (o->late)
			late_words(&msg, o, timeout);
		else
			status_words(&msg, status);
		if (o->left)
			left_words(&msg, o);
	}
	summarize_output(out, &msg);
	diag_error(d, "%s", msg.data ? msg.data : "publish-command failed");
	buf_free(&msg);
}

/* Close the descriptors of a pair that are open. */
static void
close_pair(int fds[2])
{
	int i;

	for (i = 0; i < 2; i++)
		if (fds[i] != -1)
			close(fds[i]);
	fds[0] = fds[1] = -1;
}

/*
 * Start c under its supervisor (supervise()). On success returns the
 * supervisor's pid, which is also the process group of both, with
 * *outfd the read end of the command's output and *repfd that of the
 * report pipe; -1 with the reason in d otherwise.
 */
static pid_t
spawn(const struct cmd_line *c, int *outfd, int *repfd, const sigset_t *mask,
      struct diag *d)
{
	int out[2] = {-1, -1}, rep[2] = {-1, -1};
	pid_t pid = -1, run = getpid();

	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(rep, O_CLOEXEC) == -1)
		diag_error(d, "publish-command: pipe: %s", strerror(errno));
	else if ((pid = fork()) == -1)
		diag_error(d, "publish-command: fork: %s", strerror(errno));
	else if (pid == 0)
		supervise(c, out[1], rep[1], mask, run);
	if (pid == -1) {
		close_pair(out);
		close_pair(rep);
		return -1;
	}
	/* also here: a timeout or a stop may come before the child's */
	setpgid(pid, pid);
	close(out[1]);
	close(rep[1]);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(rep[0], F_SETFL, O_NONBLOCK);
	*outfd = out[0];
	*repfd = rep[0];
	return pid;
}

/*
 * spawn(), with the command in running[] (its slot in *slot) before a
 * signal that ends the run can look: those signals are blocked in this
 * thread meanwhile, and publish_stop_commands() waits while spawning is
 * not 0. After such a signal, no command starts.
 */
static pid_t
spawn_tracked(const struct cmd_line *c, int *outfd, int *repfd, int *slot,
              struct diag *d)
{
	sigset_t block, old;
	pid_t pid = -1;

	sigemptyset(&block);
	for (size_t i = 0; i < NSTOP_SIGNALS; i++)
		sigaddset(&block, stop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	__atomic_add_fetch(&spawning, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
		diag_error(d,
		           "publish-command %s: not started: the run is "
		           "ending",
		           path_shown(c->argv[0], '\0', NULL, 0));
	else if ((pid = spawn(c, outfd, repfd, &old, d)) != -1)
		*slot = running_add(pid);
	__atomic_sub_fetch(&spawning, 1, __ATOMIC_SEQ_CST);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return pid;
}

/* Is path a regular file we may execute? */
static int
is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

/*
 * The PATH entry dir (len bytes at p), looked in before the program
 * prog is found, must be as safe as the program: whoever may add a file
 * there could put one of that name first (conf_trust_dir_check()).
 * Returns 0, or -1 with the reason in d.
 */
static int
path_entry_trusted(const char *prog, const char *p, size_t len, struct diag *d)
{
	char dir[PATH_MAX], why[DIAG_MSG_MAX];

	if (len >= sizeof(dir))
		return 0; /* no such directory: nothing is found there */
	memcpy(dir, p, len);
	dir[len] = '\0';
	if (conf_trust_dir_check(dir, CONF_TRUST_PROGRAM, why, sizeof(why)) ==
	    0)
		return 0;
	diag_error(d,
	           "publish-command %s: PATH entry %s, looked in before the "
	           "program is found: %s, or take it out of PATH",
	           path_shown(prog, '\0', NULL, 0), dir, why);
	return -1;
}

/*
 * Look the bare name prog up in PATH as execvp() does, the first
 * executable file found into found. An empty or relative entry met
 * before it is refused: it names a directory from wherever the command
 * happens to run (it runs in /), which nobody checks; and so is an
 * absolute one that someone else than root or the running user could
 * add a file of that name to (path_entry_trusted()). Returns 0, or -1
 * with the reason in d.
 */
static int
program_in_path(const char *prog, struct buf *found, struct diag *d)
{
	const char *path = getenv("PATH"), *p, *end;

	if (path == NULL)
		path = "/usr/bin:/bin"; /* execvp's default */
	for (p = path;; p = end + 1) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if (p[0] != '/') {
			diag_error(
			    d,
			    "publish-command %s: PATH (%s) holds %s%.*s%s, "
			    "where the program would be looked up: the "
			    "command runs in /, and such a directory is "
			    "not checked; take it out of PATH, or give the "
			    "program's absolute path",
			    path_shown(prog, '\0', NULL, 0), path,
			    end > p ? "the relative entry '"
			            : "an empty entry (the working directory)",
			    (int)(end - p), p, end > p ? "'" : "");
			return -1;
		}
		buf_reset(found);
		if (buf_printf(found, "%.*s/%s", (int)(end - p), p, prog) ==
		        0 &&
		    is_executable(found->data))
			return 0;
		if (path_entry_trusted(prog, p, (size_t)(end - p), d) == -1)
			return -1;
		if (*end == '\0')
			break;
	}
	diag_error(d, "publish-command %s: not found in PATH (%s)",
	           path_shown(prog, '\0', NULL, 0), path);
	return -1;
}

/*
 * The program found (prog as written, found where it is) must be as safe
 * as the configuration that names it: it runs as the user running
 * mta-sts-sync, so neither it nor a directory on the way to it may be
 * changed by another user (conf_trust_check()). A file that cannot be
 * looked at any more is refused too: it was there a moment ago, and
 * whoever may take it away for a moment could make a check that skips
 * it pass. Returns 0 with its status in st, or -1 with the reason and
 * what to run in d.
 */
static int
program_trusted(const char *prog, const char *found, struct stat *st,
                struct diag *d)
{
	char why[DIAG_MSG_MAX];

	if (stat(found, st) == -1)
		snprintf(why, sizeof(why),
		         "%s: cannot be checked: %s (removed or replaced "
		         "since it was found): not run",
		         path_shown(found, '\0', NULL, 0), strerror(errno));
	else if (!S_ISREG(st->st_mode))
		snprintf(why, sizeof(why),
		         "%s: not a regular file (replaced since it was "
		         "found): not run",
		         path_shown(found, '\0', NULL, 0));
	else if (conf_trust_check(found, -1, st, CONF_TRUST_PROGRAM, why,
	                          sizeof(why)) == 0)
		return 0;
	if (strcmp(prog, found) == 0)
		diag_error(d, "publish-command %s", why);
	else
		diag_error(d, "publish-command %s, found in PATH: %s",
		           path_shown(prog, '\0', NULL, 0), why);
	return -1;
}

/* path, relative to the run's working directory, as an absolute path (a
 * new string): the command runs in /. NULL (the reason in d) if that
 * directory cannot be told. */
static char *
from_run_dir(const char *path, struct diag *d)
{
	char cwd[PATH_MAX];
	struct buf b;

	if (path[0] == '/')
		return xstrdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		diag_error(d,
		           "publish-command: %s is relative, and the working "
		           "directory cannot be told (%s): the command runs in "
		           "/; use absolute paths",
		           path_shown(path, '\0', NULL, 0), strerror(errno));
		return NULL;
	}
	buf_init(&b, ARG_MAX_LEN);
	if (buf_printf(&b, "%s/%s", cwd, path) == -1) {
		buf_free(&b);
		diag_error(d, "publish-command: %s: path too long",
		           path_shown(path, '\0', NULL, 0));
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * Find the program prog (a publish-command's, any '%' expanded) as it is
 * to run, and check it: a bare name in PATH (program_in_path()), a path
 * from the run's working directory; then program_trusted(). Returns its
 * absolute path (a new string), with the status of the file checked in
 * st, or NULL with the reason in d.
 */
static char *
program_find(const char *prog, struct stat *st, struct diag *d)
{
	struct buf found;
	char *at;

	if (strchr(prog, '/') == NULL) {
		buf_init(&found, ARG_MAX_LEN);
		if (program_in_path(prog, &found, d) == -1) {
			buf_free(&found);
			return NULL;
		}
		at = buf_steal(&found);
	} else if ((at = from_run_dir(prog, d)) == NULL) {
		return NULL;
	} else if (!is_executable(at)) {
		diag_error(d, "publish-command %s: cannot execute it: %s",
		           path_shown(prog, '\0', NULL, 0),
		           access(at, F_OK) == 0 ? "not an executable file"
		                                 : strerror(errno));
		free(at);
		return NULL;
	}
	if (program_trusted(prog, at, st, d) == -1) {
		free(at);
		return NULL;
	}
	return at;
}

int
publish_command_check(const char *prog, struct diag *d)
{
	struct stat st;
	char *at;

	if (strchr(prog, '%') != NULL)
		return 0;
	at = program_find(prog, &st, d);
	free(at);
	return at != NULL ? 0 : -1;
}

/* The shell's argv for c (struct cmd_line), from its path and argv. */
static char **
shell_argv(const struct cmd_line *c)
{
	size_t n = 0;
	char **sh;

	while (c->argv[n] != NULL)
		n++;
	sh = xcalloc(n + 2, sizeof(*sh));
	sh[0] = (char *)"/bin/sh";
	sh[1] = c->path;
	for (size_t i = 1; i < n; i++)
		sh[i + 1] = c->argv[i];
	return sh;
}

/*
 * The command for domain and file (build_argv()) into c, to run in /:
 * the file given relative to the run's working directory made absolute;
 * the program found and checked now (program_find()), just before it
 * runs, as publish_command_check() checked it when the run started (a
 * program named with %d or %f is checked only now), and the identity of
 * the file checked, which the command looks at again just before its
 * exec. Returns 0, or -1 with the reason in d.
 */
static int
command_line(const struct strlist *argv, const char *domain, const char *file,
             struct cmd_line *c, struct diag *d)
{
	char *abs_file = NULL;
	struct stat st;

	memset(c, 0, sizeof(*c));
	if (file != NULL && (abs_file = from_run_dir(file, d)) == NULL)
		return -1;
	c->argv = build_argv(argv, domain, abs_file, d);
	free(abs_file);
	if (c->argv == NULL ||
	    (c->path = program_find(c->argv[0], &st, d)) == NULL) {
		cmd_line_free(c);
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (strchr(c->argv[0], '/') != NULL) {
		free(c->argv[0]);
		c->argv[0] = xstrdup(c->path);
	}
	c->sh = shell_argv(c);
	return 0;
}

int
publish_run_command(const struct strlist *argv, const char *domain,
                    const char *file, unsigned timeout, struct diag *d)
{
	struct cmd_outcome o;
	struct cmd_wait w;
	struct cmd_line c;
	struct buf output;
	int status, failed;

	if (argv == NULL || argv->n == 0) {
		diag_error(d, "publish-command: empty command");
		return -1;
	}
	if (timeout == 0)
		timeout = PUBLISH_DEFAULT_TIMEOUT;
	if (command_line(argv, domain, file, &c, d) == -1)
		return -1;
	w.slot = -1;
	w.pid = spawn_tracked(&c, &w.outfd, &w.repfd, &w.slot, d);
	if (w.pid == -1) {
		cmd_line_free(&c);
		return -1;
	}
	memset(&o, 0, sizeof(o));
	buf_init(&output, PUBLISH_OUTPUT_MAX);
	w.deadline = now_mono() + timeout;
	status = wait_child(&w, &output, &o);
	read_reports(w.repfd, &o);
	/* the command's own: its supervisor may end otherwise (killed by
	 * its last SIGKILL round, or from here: stop_late()) */
	if (o.has_status)
		status = o.status;
	failed = o.late || o.left || status != 0 || o.exec_errno != 0 ||
	         o.start_errno != 0 || o.replaced;
	if (failed)
		report_failure(path_shown(c.argv[0], '\0', NULL, 0), status, &o,
		               timeout, &output, d);
	close(w.outfd);
	close(w.repfd);
	cmd_line_free(&c);
	buf_free(&output);
	return failed ? -1 : 0;
}

/* The canonical bytes of the policy body in buf (len bytes) into out.
 * Returns 0, or -1 with the reason in d if it is not a valid policy. */
static int
canonical_of(const char *buf, size_t len, struct buf *out, struct diag *d)
{
	struct policy *p = policy_parse(buf, len, d);
	int rc;

	if (p == NULL)
		return -1;
	rc = policy_canonical(p, out);
	policy_free(p);
	if (rc == -1)
		diag_error(d, "too long");
	return rc;
}

/* What one verification attempt saw, for the message of the last. */
struct verify_seen {
	char what[DIAG_MSG_MAX + 160]; /* what was served, or the failure */
	const char *advice;            /* a guess at the cause, or NULL */
	int answered; /* the server answered (a status, other content) */
	/* a deploy still under way would explain it (another policy or
	 * content, 404, 5xx): more verify-timeout may help, where a refused
	 * Content-Type or a redirect may be the web server's configuration
	 * (verify_lasting()) */
	int deploying;
	enum fetch_fail fail; /* the fetch's kind of failure */
	char addr[48];        /* the address tried, or "" */
	long port;            /* its port */
};

/* The policies a verification tells apart: the new one (want, len
 * bytes) and the one the file held before (prev, prev_len bytes; NULL:
 * none, or the same). */
struct verify_policies {
	const char *want;
	size_t len;
	const char *prev;
	size_t prev_len;
};

/* Do the canonical bytes in c equal those of the policy bytes (len)? */
static int
same_canonical(const struct buf *c, const char *bytes, size_t len)
{
	struct buf other;
	struct diag d;
	int same;

	buf_init(&other, POLICY_MAX_SIZE);
	diag_init(&d);
	same = canonical_of(bytes, len, &other, &d) == 0 &&
	       other.len == c->len && memcmp(other.data, c->data, c->len) == 0;
	buf_free(&other);
	return same;
}

/*
 * The policy served (len bytes at body) against the new one, when the
 * bytes differ: VERIFY_SAME_POLICY if it is the same policy in other
 * bytes (a host that turns CRLF into LF, say: senders get the new
 * policy), or VERIFY_OTHER with what it is in seen: the previous
 * policy (named by its id, which the live record most likely holds),
 * another policy (named by its id), or no policy at all.
 */
static int
verify_compare(const char *body, size_t len, const struct verify_policies *p,
               struct verify_seen *seen)
{
	char id[POLICY_ID_MAX + 1], prev_id[POLICY_ID_MAX + 1];
	struct buf got;
	struct diag d;
	int rc = VERIFY_OTHER;

	buf_init(&got, 2 * POLICY_MAX_SIZE); /* LF may turn into CRLF */
	diag_init(&d);
	if (p->prev != NULL)
		policy_id(p->prev, p->prev_len, prev_id);
	policy_id(body, len, id);
	if (canonical_of(body, len, &got, &d) == -1) {
		snprintf(
		    seen->what, sizeof(seen->what),
		    "serving %zu bytes that are not a valid policy (%.300s)",
		    len, d.error);
	} else if (same_canonical(&got, p->want, p->len)) {
		rc = VERIFY_SAME_POLICY;
	} else if (p->prev != NULL &&
	           same_canonical(&got, p->prev, p->prev_len)) {
		snprintf(seen->what, sizeof(seen->what),
		         "still serving the previous policy (id=%s)", prev_id);
		seen->advice = "a cache's copy, or a file a container "
		               "bind-mounted before it was replaced? mount the "
		               "directory, not the file";
	} else {
		snprintf(seen->what, sizeof(seen->what),
		         "serving another policy (id=%s), %s%s%s,", id,
		         p->prev != NULL ? "neither the new one nor the "
		                           "previous one (id="
		                         : "not the new one",
		         p->prev != NULL ? prev_id : "",
		         p->prev != NULL ? ")" : "");
		seen->advice = "another server or a cache behind the URL?";
	}
	buf_free(&got);
	return rc;
}

/*
 * What a failed fetch r tells a verification of the policies p, into
 * seen. A page served as text/html in place of the file is what a
 * static host's fallback (try_files to an index, a single-page
 * application's rewrite) or a maintenance page serves while the file is
 * not deployed yet: it counts as not there yet, as a 404 does, and not
 * as a refused Content-Type, unless it is the new policy's very bytes:
 * then it is the file served with a wrong type.
 */
static void
verify_failed(const struct fetch_result *r, const struct verify_policies *p,
              struct verify_seen *seen)
{
	str_copy(seen->what, sizeof(seen->what), r->error);
	seen->answered = r->status != 0 && !r->timed_out;
	seen->deploying =
	    seen->answered &&
	    (r->status == 404 || (r->status >= 500 && r->status <= 599));
	seen->fail = r->fail;
	str_copy(seen->addr, sizeof(seen->addr), r->addr);
	seen->port = r->port;
	if (r->fail == FETCH_FAIL_TYPE &&
	    fetch_media_type_is(r->content_type, "text/html") &&
	    !(r->body != NULL && r->len == p->len &&
	      memcmp(r->body, p->want, p->len) == 0)) {
		seen->fail = FETCH_FAIL_OTHER;
		seen->deploying = 1;
		seen->advice = "a page in place of a file not deployed yet: a "
		               "fallback page or a maintenance page?";
	}
}

/* One verification attempt, each fetch bounded by the time left.
 * Returns VERIFY_SERVED if url serves the new policy's bytes,
 * VERIFY_SAME_POLICY or VERIFY_OTHER (what it serves in seen) if it
 * serves other bytes, -1 if the fetch failed (reason in seen). */
static int
verify_once(const char *url, const struct fetch_opts *o,
            const struct verify_policies *p, double left,
            struct verify_seen *seen)
{
	struct fetch_opts lo = {0};
	struct fetch_result r;
	int rc;

	memset(seen, 0, sizeof(*seen));
	if (o != NULL)
		lo = *o;
	if (lo.timeout == 0)
		lo.timeout = FETCH_DEFAULT_TIMEOUT;
	/* cut to the time left: then verify-timeout is what ran out */
	if (left < lo.timeout) {
		lo.timeout = left < 1 ? 1 : (unsigned)(left + 0.999);
		if (lo.timeout_setting != NULL)
			lo.timeout_setting = "verify-timeout";
	}
	if (fetch_url(url, &lo, &r) == -1) {
		verify_failed(&r, p, seen);
		rc = -1;
	} else if (r.len == p->len && memcmp(r.body, p->want, p->len) == 0) {
		rc = VERIFY_SERVED;
	} else {
		seen->answered = seen->deploying = 1;
		rc = verify_compare(r.body, r.len, p, seen);
	}
	fetch_result_free(&r);
	return rc;
}

/*
 * Whether a fetch failing in the way f may be what the web server's
 * configuration answers for the URL, which writing or deploying the file
 * does not change: a redirect, a refused Content-Type, certificate or
 * TLS handshake. Each is also a state that passes: a web server
 * reloading its configuration answers from the old one for seconds (the
 * default site's certificate for a site just added), Traefik, Caddy or
 * cert-manager serve a default certificate until one is issued, and a
 * host may redirect a file it does not have yet. So such a failure ends
 * a verification only once it has lasted VERIFY_LASTING_S.
 */
static int
verify_lasting(enum fetch_fail f)
{
	return f == FETCH_FAIL_REDIRECT || f == FETCH_FAIL_TYPE ||
	       f == FETCH_FAIL_CERT || f == FETCH_FAIL_TLS;
}

#define VERIFY_LASTING_S 10.0 /* seconds a lasting failure ends it after */

/* The reason, into d, of a verification ended by a failure that may be
 * the web server's configuration (verify_lasting()) once it lasted:
 * tries fetches in a row failing that way over seconds since the first
 * began (VERIFY_LASTING_S, or less when verify-timeout came first), the
 * last described by seen. */
static void
verify_lasted(const char *url, const struct verify_seen *seen, unsigned tries,
              double seconds, struct diag *d)
{
	const char *fix;
	char lasted[80];

	switch (seen->fail) {
	case FETCH_FAIL_REDIRECT:
		fix = "serve the file at this URL itself";
		break;
	case FETCH_FAIL_TYPE:
		fix = "make the web server send it as text/plain (nginx: "
		      "types { text/plain txt; } in its location)";
		break;
	case FETCH_FAIL_CERT:
		fix = "give the web server a certificate for the URL's host "
		      "that senders accept";
		break;
	default:
		fix = "make the URL's port serve HTTPS, with a certificate "
		      "for its host";
	}
	if (tries > 1)
		snprintf(lasted, sizeof(lasted),
		         "; it lasted %.0f s, %u tries in a row", seconds,
		         tries);
	else
		str_copy(lasted, sizeof(lasted), " at the first answer");
	diag_error(d,
	           "%s: %s%s: %s; if the web server's configuration answers "
	           "this, a higher `verify-timeout` does not help",
	           url, seen->what, lasted, fix);
}

/* The reason, into d, of a verification whose verify-timeout ended,
 * seconds after it began, seen its last attempt. */
static void
verify_timed_out(const char *url, const struct verify_seen *seen,
                 double seconds, struct diag *d)
{
	int cut = seen->fail == FETCH_FAIL_CUT;

	/* a transfer's failure says what to raise itself, if anything */
	if (seen->fail == FETCH_FAIL_REFUSED || cut)
		diag_error(
		    d, "%s: %s%s after %.0f s (%s %s port %ld%s)", url,
		    seen->what, cut ? "," : "", seconds,
		    cut ? "retried: a web server restarting, or a proxy "
		          "in front of one that is not up; check the web "
		          "server behind"
		        : "is the web server running, and listening on",
		    seen->addr[0] ? seen->addr : "that address", seen->port,
		    cut ? ""
		        : "? if it listens elsewhere, check "
		          "`verify-url` and any `resolve` entry for "
		          "its host");
	else if (!seen->answered)
		diag_error(d, "%s: %s", url, seen->what);
	else
		diag_error(d, "%s: %s after %.0f s%s%s%s%s", url, seen->what,
		           seconds, seen->advice ? " (" : "",
		           seen->advice ? seen->advice : "",
		           seen->advice ? ")" : "",
		           seen->deploying ? "; raise `verify-timeout` if the "
		                             "deploy takes longer"
		                           : "");
}

/* How long to pause before the next try, at most delay and left (the
 * time to verify-timeout), and no later than when a lasting failure
 * that began at since (or -1: none) has lasted grace seconds. */
static double
verify_pause(double delay, double left, double since, double grace)
{
	double pause = delay < left ? delay : left;
	double to_grace = since + grace - now_mono();

	if (since >= 0 && to_grace < pause)
		pause = to_grace > 0 ? to_grace : 0;
	return pause;
}

int
publish_verify(const char *url, const struct fetch_opts *o, const char *want,
               size_t len, const char *prev, size_t prev_len, unsigned timeout,
               struct diag *d)
{
	struct verify_policies p = {want, len, prev, prev_len};
	double start = now_mono(), deadline = start + timeout, delay = 0.5;
	double began, left, since = -1; /* when the lasting failure began */
	struct verify_seen seen;
	enum fetch_fail last = FETCH_FAIL_OTHER;
	unsigned tries = 0;
	int rc;

	/* the previous policy, if it is the new one, tells nothing */
	if (prev != NULL && prev_len == len && memcmp(prev, want, len) == 0)
		p.prev = NULL;
	for (;;) {
		began = now_mono();
		rc = verify_once(url, o, &p, deadline - began, &seen);
		if (rc == VERIFY_SERVED || rc == VERIFY_SAME_POLICY)
			return rc;
		/* another answer in between starts the count again */
		if (!verify_lasting(seen.fail) || seen.fail != last) {
			tries = 0;
			since = verify_lasting(seen.fail) ? began : -1;
		}
		tries++;
		last = seen.fail;
		left = deadline - now_mono();
		/* a failure that may be the configuration ends it once it
		 * has lasted VERIFY_LASTING_S, or at a verify-timeout that
		 * comes first, with the same reason; any other is retried
		 * until verify-timeout */
		if (since >= 0 &&
		    (now_mono() - since >= VERIFY_LASTING_S || left <= 0)) {
			verify_lasted(url, &seen, tries, now_mono() - since, d);
			return -1;
		}
		if (left <= 0)
			break;
		sleep_seconds(
		    verify_pause(delay, left, since, VERIFY_LASTING_S));
		delay = delay * 2 > 5 ? 5 : delay * 2;
	}
	verify_timed_out(url, &seen, now_mono() - start, d);
	return -1;
}
