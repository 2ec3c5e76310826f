/*
 * publish-test - edge cases of publish.c, command.c and fetch.c that need
 * no server: file names, binary content, bounded reads, command output
 * limits (command.c), URLs refused before any connection, duplicate jobs;
 * publish_write from many threads at once (the group commit of its
 * flushes); the leftovers of killed writers, with locks and without;
 * links and FIFOs on the way, and a directory swapped for a link as it
 * is made.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "dirwalk.h"
#include "fetch.h"
#include "hardlinks-stub.h"
#include "open-stub.h"
#include "publish.h"
#include "setacl.h"
#include "tap.h"
#include "util.h"

/* An NFSv4 ACL (fake_nfs4_len bytes) that the directory of device and
 * inode fake_nfs4_dev, fake_nfs4_ino has in place of a POSIX one, as on
 * an NFSv4 mount, or, fake_nfs4_errno set, that fails to be read with
 * it; NULL and 0: the real attributes. */
static const unsigned char *fake_nfs4;
static size_t fake_nfs4_len;
static dev_t fake_nfs4_dev;
static ino_t fake_nfs4_ino;
static int fake_nfs4_errno;

/* fgetxattr(2), as acl.c reads the ACL of an open file: fake_nfs4's
 * directory's, else the real call. */
ssize_t
fgetxattr(int fd, const char *name, void *value, size_t size)
{
	struct stat st;

	if ((fake_nfs4 == NULL && fake_nfs4_errno == 0) ||
	    fstat(fd, &st) == -1 || st.st_dev != fake_nfs4_dev ||
	    st.st_ino != fake_nfs4_ino)
		return (ssize_t)syscall(SYS_fgetxattr, fd, name, value, size);
	if (fake_nfs4_errno != 0) {
		errno = fake_nfs4_errno;
		return -1;
	}
	return xattr_fake_give("system.nfs4_acl", fake_nfs4, fake_nfs4_len,
	                       name, value, size);
}

/* Give the directory dir the NFSv4 ACL of the n entries e (n 0: none,
 * the real attributes), or, err set, an ACL whose read fails with err. */
static void
fake_nfs4_on(const char *dir, const struct nfs4_ace_spec *e, size_t n, int err)
{
	static unsigned char blob[256];
	struct stat st;

	fake_nfs4 = NULL;
	fake_nfs4_errno = err;
	if (stat(dir, &st) == -1)
		return;
	fake_nfs4_dev = st.st_dev;
	fake_nfs4_ino = st.st_ino;
	if (n > 0) {
		fake_nfs4_len = nfs4_acl_blob(e, n, blob, sizeof(blob));
		fake_nfs4 = blob;
	}
}

/* A fresh scratch directory, made the working directory. */
static char scratch[] = "/tmp/publish-test.XXXXXX";

/*
 * The flushes publish_write asks for, seen from here: these definitions
 * take the place of the C library's (the test links publish.o
 * statically). They count the calls, make each last longer (fsync_ms,
 * syncfs_ms) so that threads publishing at once meet, and can make
 * syncfs fail on request. With a delay set, the delay is the flush: the
 * real one is left out, since publish.c learns from how long flushes
 * take (a syncfs slower than the fsyncs it replaces is given up), and a
 * real syncfs under a loaded disk (CI building beside the test, valgrind)
 * made that learning, which lasts for the run, follow the machine rather
 * than the test. Without a delay, the real flush is done.
 */
static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned n_fsync, n_syncfs;
static int fsync_ms, syncfs_ms, syncfs_errno, fsync_errno;
static int fsync_dir_errno; /* fsync of a directory only */

/* Count one call (in *counter) and wait *delay_ms, a second or more
 * too. Returns whether a delay was set (then it stands for the flush). */
static int
flush_called(unsigned *counter, const int *delay_ms)
{
	struct timespec ts;
	int ms;

	pthread_mutex_lock(&flush_lock);
	(*counter)++;
	ms = *delay_ms;
	pthread_mutex_unlock(&flush_lock);
	if (ms <= 0)
		return 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return 1;
}

/* The failure a test set for a flush (an errno value), errno set to it;
 * 0 for none. */
static int
flush_fault(const int *fault)
{
	int e;

	pthread_mutex_lock(&flush_lock);
	e = *fault;
	pthread_mutex_unlock(&flush_lock);
	if (e != 0)
		errno = e;
	return e;
}

int
fsync(int fd)
{
	struct stat st;

	if (flush_called(&n_fsync, &fsync_ms))
		return flush_fault(&fsync_errno) != 0 ? -1 : 0;
	if (flush_fault(&fsync_errno) != 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
	    flush_fault(&fsync_dir_errno) != 0)
		return -1;
	return (int)syscall(SYS_fsync, fd);
}

int
syncfs(int fd)
{
	if (flush_called(&n_syncfs, &syncfs_ms))
		return flush_fault(&syncfs_errno) != 0 ? -1 : 0;
	if (flush_fault(&syncfs_errno) != 0)
		return -1;
	return (int)syscall(SYS_syncfs, fd);
}

/* The errno flock(2) fails with here, as on a file system without locks
 * (ENOLCK on NFSv3 without lockd; EOPNOTSUPP, EINVAL or ENOSYS
 * elsewhere); 0: the real flock. Set only while no thread runs. */
static int flock_errno;

int
flock(int fd, int op)
{
	if (flock_errno != 0) {
		errno = flock_errno;
		return -1;
	}
	return (int)syscall(SYS_flock, fd, op);
}

/* A name to remove just after the next openat(2) of it opened it, as
 * whoever linked another file there may do: NULL, none. */
static const char *unlink_after_open;

/* A name to replace by a new file of its directory just after each of
 * the next replace_opens openat(2) calls that open it to read, as the
 * writes of domains sharing a policy file rename theirs over it: NULL,
 * none. */
static const char *replace_name;
static int replace_opens;

/* The new file replace_name asks for, of its directory dfd. */
static void
replace_again(int dfd, const char *name)
{
	char tmp[256];
	int fd;

	if (replace_name == NULL || replace_opens <= 0 ||
	    strcmp(name, replace_name) != 0)
		return;
	replace_opens--;
	snprintf(tmp, sizeof(tmp), "%s.again", name);
	fd = (int)syscall(SYS_openat, dfd, tmp,
	                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, "again\n", 6) != 6 ||
	    renameat(dfd, tmp, dfd, name) == -1)
		printf("# cannot replace %s: %s\n", name, strerror(errno));
	if (fd != -1)
		close(fd);
}

/* A name that openat(2) without following it (O_PATH | O_NOFOLLOW, as
 * the walk of a program's path looks at each entry) finds nothing by:
 * NULL, none. */
static const char *entry_gone;

/* A file to rename over another (open_replace_to) just after the next
 * open(2) or openat(2) to read that other opened it (by its path, or by
 * its last component from its directory, as the walk that judges a
 * ca-file does), or, with open_replace_at_look, just after the walk
 * looked it up (O_PATH) to open it next: as whoever may write its
 * directory may do at that moment. NULL: none. */
static const char *open_replace_from, *open_replace_to;
static int open_replace_at_look;

/* The rename open_replace_from asks for, after name was opened. */
static void
replace_after_open(const char *name)
{
	const char *to = open_replace_to, *base;

	if (to == NULL)
		return;
	base = strrchr(to, '/') != NULL ? strrchr(to, '/') + 1 : to;
	if (strcmp(name, to) != 0 && strcmp(name, base) != 0)
		return;
	if (rename(open_replace_from, to) == -1)
		printf("# cannot rename %s to %s: %s\n", open_replace_from, to,
		       strerror(errno));
	open_replace_from = open_replace_to = NULL;
}

/* openat(2), as publish.c and dirwalk.c call it (and open(2), as
 * conftrust.c reads fs.protected_hardlinks, which fake_hardlinks says):
 * the real call, then the removal a test asked for. */
int
openat(int dfd, const char *name, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	va_start(ap, flags);
	mode = open_mode_arg(flags, ap);
	va_end(ap);
	if (fake_hardlinks != NULL && strcmp(name, FAKE_HARDLINKS_PATH) == 0)
		return fake_hardlinks_open();
	if (entry_gone != NULL && strcmp(name, entry_gone) == 0 &&
	    (flags & (O_PATH | O_NOFOLLOW)) == (O_PATH | O_NOFOLLOW)) {
		errno = ENOENT;
		return -1;
	}
	fd = (int)syscall(SYS_openat, dfd, name, flags, mode);
	if (fd != -1 && ((flags & O_PATH) != 0) == open_replace_at_look)
		replace_after_open(name);
	if (fd != -1 && (flags & (O_PATH | O_CREAT)) == 0)
		replace_again(dfd, name);
	if (fd != -1 && unlink_after_open != NULL &&
	    strcmp(name, unlink_after_open) == 0) {
		unlink_after_open = NULL;
		if (unlinkat(dfd, name, 0) == -1)
			printf("# cannot remove %s: %s\n", name,
			       strerror(errno));
	}
	return fd;
}

/* A path whose stat(2) finds nothing after the first (as if renamed away
 * for a moment then, by whoever may write its directory): NULL, none.
 * stat_gone_errno: the errno it fails with (0: ENOENT; EIO, as a
 * network file system out of reach). */
static const char *stat_gone;
static int stat_gone_seen, stat_gone_errno;

int
stat(const char *path, struct stat *st)
{
	if (stat_gone != NULL && strcmp(path, stat_gone) == 0 &&
	    stat_gone_seen++ > 0) {
		errno = stat_gone_errno != 0 ? stat_gone_errno : ENOENT;
		return -1;
	}
	return fstatat(AT_FDCWD, path, st, 0);
}

/* A file to rename over another at the next pipe2(2), the first call of
 * a publish-command's start, after its program was checked: the program
 * replaced between its check and its exec. NULL: none. */
static const char *replace_from, *replace_to;

int
pipe2(int fds[2], int flags)
{
	if (replace_from != NULL && rename(replace_from, replace_to) == -1)
		printf("# cannot rename %s to %s: %s\n", replace_from,
		       replace_to, strerror(errno));
	replace_from = replace_to = NULL;
	return (int)syscall(SYS_pipe2, fds, flags);
}

/* A group whose database entry needs more than 8 KiB, as one with many
 * members in LDAP may: getgrgid_r() gives its name, staff, only into a
 * buffer that large (ERANGE below). Other groups are the C library's. */
#define BIG_GID 4242421u
#define BIG_ENTRY 9000

int
getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
           struct group **res)
{
	static char *no_members[] = {NULL};
	int (*real)(gid_t, struct group *, char *, size_t, struct group **);

	if (gid != BIG_GID) {
		*(void **)&real = dlsym(RTLD_NEXT, "getgrgid_r");
		return real != NULL ? real(gid, gr, buf, len, res) : ENOSYS;
	}
	*res = NULL;
	if (len < BIG_ENTRY)
		return ERANGE;
	memset(gr, 0, sizeof(*gr));
	str_copy(buf, len, "staff");
	gr->gr_name = buf;
	gr->gr_passwd = buf + strlen(buf); /* "" */
	gr->gr_gid = gid;
	gr->gr_mem = no_members;
	*res = gr;
	return 0;
}

/* Two names to swap (rename(2) with RENAME_EXCHANGE) at the next
 * readlinkat(2), as a member of a group that may write their directory
 * may do at any moment, between the look at a link's owner and the read
 * of its target; NULL: none. */
static const char *exchange_a, *exchange_b;

/* readlinkat(2), as dirwalk.c calls it: the swap a test asked for, then
 * the real call. */
ssize_t
readlinkat(int dfd, const char *path, char *buf, size_t size)
{
	if (exchange_a != NULL && renameat2(AT_FDCWD, exchange_a, AT_FDCWD,
	                                    exchange_b, RENAME_EXCHANGE) == -1)
		printf("# cannot exchange %s and %s: %s\n", exchange_a,
		       exchange_b, strerror(errno));
	exchange_a = exchange_b = NULL;
	return (ssize_t)syscall(SYS_readlinkat, dfd, path, buf, size);
}

/* A link's target to put in place of the next directory that
 * publish_write makes, the moment it is made (then NULL again): what the
 * owner of the directory it is made in may do at that moment. */
static const char *swap_for_link;

/* Move the directory name just made in dfd away (to name.moved), and put
 * a link to swap_for_link in its place. */
static void
swap_made_dir(int dfd, const char *name)
{
	const char *to = swap_for_link;
	char moved[PATH_MAX];

	swap_for_link = NULL;
	snprintf(moved, sizeof(moved), "%s.moved", name);
	if (renameat(dfd, name, dfd, moved) == -1 ||
	    symlinkat(to, dfd, name) == -1)
		printf("# cannot swap %s for a link: %s\n", name,
		       strerror(errno));
}

/* mkdirat(2) and mkdir(2), as publish.c and dirwalk.c call them: the
 * real call, then swap_made_dir() when a test asked for it. */
int
mkdirat(int dfd, const char *name, mode_t mode)
{
	int rc = (int)syscall(SYS_mkdirat, dfd, name, mode);

	if (rc == 0 && swap_for_link != NULL)
		swap_made_dir(dfd, name);
	return rc;
}

int
mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}

/* Set the flush delays and the syncfs failure, and zero the counters. */
static void
flush_setup(int fsync_delay, int syncfs_delay, int fail_errno)
{
	pthread_mutex_lock(&flush_lock);
	fsync_ms = fsync_delay;
	syncfs_ms = syncfs_delay;
	syncfs_errno = fail_errno;
	n_fsync = n_syncfs = 0;
	pthread_mutex_unlock(&flush_lock);
}

static void
test_write_read(void)
{
	static const char bin[] = "a\0b\r\n\xff";
	char name[PUBLISH_NAME_MAX + 2];
	struct buf b;
	struct diag d;
	struct stat st;

	diag_init(&d);
	ok(publish_write("mta-sts.txt", bin, sizeof(bin) - 1, &d) == 0,
	   "write: a name without a directory part goes to the working "
	   "directory");
	ok(stat("mta-sts.txt", &st) == 0 && (st.st_mode & 07777) == 0644 &&
	       st.st_size == (off_t)(sizeof(bin) - 1),
	   "write: mode 0644 and the exact size");
	buf_init(&b, 1024);
	ok(publish_read("mta-sts.txt", &b, &d) == 1 &&
	       b.len == sizeof(bin) - 1 && memcmp(b.data, bin, b.len) == 0,
	   "read: binary content (NUL, CR, 0xff) comes back exactly");
	buf_free(&b);

	buf_init(&b, 4);
	diag_init(&d);
	ok(publish_read("mta-sts.txt", &b, &d) == -1, "read: bounded by max");
	like(d.error, "mta-sts.txt: larger than 4 bytes", "read: says so");
	buf_free(&b);

	buf_init(&b, 16);
	diag_init(&d);
	ok(publish_read("absent/file", &b, &d) == 0 && !diag_failed(&d),
	   "read: a missing file is 0, not an error");
	buf_free(&b);

	diag_init(&d);
	ok(publish_write("dir/", "x", 1, &d) == -1,
	   "write: a path ending in /");
	like(d.error, "not a usable file name", "write: refused in words");
	/* a name the temporary beside it would make too long: said so,
	 * with the limits (before, "File name too long" of the directory) */
	memset(name, 'n', PUBLISH_NAME_MAX + 1);
	name[PUBLISH_NAME_MAX + 1] = '\0';
	diag_init(&d);
	ok(publish_write(name, "x", 1, &d) == -1 && access(name, F_OK) == -1,
	   "write: a name of 245 bytes is refused");
	like(d.error,
	     ": longer than 4084 bytes, or its name than 244: the temporary "
	     "file beside it would not fit",
	     "write: ... naming the limits");
	diag_init(&d);
	ok(publish_write("empty.txt", "", 0, &d) == 0 &&
	       stat("empty.txt", &st) == 0 && st.st_size == 0,
	   "write: an empty file");
}

/* A write whose flush fails: the message names the policy file, never
 * the temporary (its random name would make every run's differ), and
 * says whether the new file is in place. */
static void
test_write_flush_errors(void)
{
	char first[DIAG_MSG_MAX];
	struct buf b;
	struct diag d;

	diag_init(&d);
	ok(publish_write("fl/mta-sts.txt", "old", 3, &d) == 0, "flush: setup");
	fsync_errno = EIO; /* no writer runs: no lock needed */
	diag_init(&d);
	ok(publish_write("fl/mta-sts.txt", "new", 3, &d) == -1,
	   "flush of the new copy fails: -1");
	str_copy(first, sizeof(first), d.error);
	is_str(d.error,
	       "policy-file fl/mta-sts.txt: cannot flush its new copy to "
	       "disk: Input/output error",
	       "flush of the new copy fails: the file named, not the copy");
	diag_init(&d);
	publish_write("fl/mta-sts.txt", "new", 3, &d);
	fsync_errno = 0;
	is_str(d.error, first,
	       "flush of the new copy fails: the same words "
	       "at the next try");
	buf_init(&b, 16);
	ok(publish_read("fl/mta-sts.txt", &b, &d) == 1 && b.len == 3 &&
	       memcmp(b.data, "old", 3) == 0,
	   "flush of the new copy fails: the old file stays");
	fsync_dir_errno = EIO;
	diag_init(&d);
	ok(publish_write("fl/mta-sts.txt", "new", 3, &d) == -2,
	   "flush of the directory fails: -2");
	fsync_dir_errno = 0;
	is_str(d.error,
	       "policy-file fl/mta-sts.txt: replaced, but its directory fl "
	       "cannot be flushed to disk: Input/output error (a crash may "
	       "bring the old file back)",
	       "flush of the directory fails: says the file was replaced");
	buf_reset(&b);
	ok(publish_read("fl/mta-sts.txt", &b, &d) == 1 && b.len == 3 &&
	       memcmp(b.data, "new", 3) == 0,
	   "flush of the directory fails: the new file is in place");
	buf_free(&b);
	ok(unlink("fl/mta-sts.txt") == 0 && rmdir("fl") == 0,
	   "flush errors: no temporary left");
}

/* Write the file path (mode 0644) with content s. Returns 0 or -1. */
static int
put_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd == -1 ? -1 : (int)write(fd, s, strlen(s));

	if (fd != -1)
		close(fd);
	return rc == (int)strlen(s) ? 0 : -1;
}

/* The scratch directory's path of name, for a link's target (one of
 * two buffers used in turn). */
static const char *
spath(const char *name)
{
	static char p[2][PATH_MAX];
	static int which;

	which ^= 1;
	snprintf(p[which], sizeof(p[which]), "%s/%s", scratch, name);
	return p[which];
}

/* A user other than the one running the tests. */
static unsigned
other_user(void)
{
	return geteuid() == 65534 ? 65533 : 65534;
}

/* Set by fifo_writer() once its open(2) of the FIFO returned: only a
 * reader's open lets it. */
static int fifo_opened;

/* A writer waiting for a reader of the FIFO arg. */
static void *
fifo_writer(void *arg)
{
	int fd = open(arg, O_WRONLY | O_CLOEXEC);

	__atomic_store_n(&fifo_opened, 1, __ATOMIC_SEQ_CST);
	if (fd != -1)
		close(fd);
	return NULL;
}

/*
 * A policy file that is a symbolic link is refused without reading what
 * it points to: a dry run shows the file it read as the published one,
 * and a link to a key file showed the key (before, the file was read
 * through the link, and only then refused). Anything but a regular file
 * is refused without being opened, also through a link: opening a
 * device may do something (a watchdog's arms it), and opening a FIFO
 * lets a writer waiting there go on (here one waits, and must still
 * wait; before, the read opened it).
 */
static void
test_read_refusals(void)
{
	struct timespec pause = {0, 100000000};
	struct diag d;
	struct buf b;
	pthread_t tid;
	int fd, started;

	ok(mkdir("rr", 0755) == 0 && put_file("rr/secret", "TOP SECRET") == 0 &&
	       symlink("secret", "rr/mta-sts.txt") == 0,
	   "refusals: a link to a secret file");
	buf_init(&b, 1024);
	diag_init(&d);
	ok(publish_read("rr/mta-sts.txt", &b, &d) == -1 && b.len == 0,
	   "refusals: a link is refused, nothing read");
	like(d.error,
	     "rr/mta-sts.txt is a symbolic link to secret: publishing "
	     "replaces the file",
	     "refusals: ... with the message of a link");
	started = mkfifo("rr/fifo", 0600) == 0 &&
	          symlink("fifo", "rr/to-fifo") == 0 &&
	          pthread_create(&tid, NULL, fifo_writer, "rr/fifo") == 0;
	ok(started, "refusals: a FIFO, a writer waiting at it, a link to it");
	nanosleep(&pause, NULL); /* the writer waits in open(2) */
	diag_init(&d);
	ok(publish_read("rr/fifo", &b, &d) == -1,
	   "refusals: a FIFO is refused");
	like(d.error, "rr/fifo: not a regular file", "refusals: ... said so");
	diag_init(&d);
	ok(publish_read("rr/to-fifo", &b, &d) == -1 &&
	       strstr(d.error, "symbolic link") != NULL,
	   "refusals: a link to the FIFO is refused as a link");
	nanosleep(&pause, NULL);
	ok(!__atomic_load_n(&fifo_opened, __ATOMIC_SEQ_CST),
	   "refusals: the FIFO was never opened (its writer still waits)");
	fd = open("rr/fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (started)
		pthread_join(tid, NULL);
	if (fd != -1)
		close(fd);
	buf_free(&b);
	ok(unlink("rr/fifo") == 0 && unlink("rr/to-fifo") == 0 &&
	       unlink("rr/mta-sts.txt") == 0 && unlink("rr/secret") == 0 &&
	       rmdir("rr") == 0,
	   "refusals: removed");
}

/*
 * publish_holds(): whether the file still holds given bytes, as sync
 * asks just before an UPDATE publishes their id. Other bytes of the
 * same size count, as does a file removed (or its directory); a link
 * or anything but a regular file is refused as a read refuses it, and
 * its target never compared.
 */
static void
test_holds(void)
{
	static const char mine[] = "version: STSv1\r\nmode: testing\r\n";
	static const char same_size[] = "version: STSv1\r\nmode: tasting\r\n";
	struct diag d;

	diag_init(&d);
	ok(publish_write("ho/mta-sts.txt", mine, sizeof(mine) - 1, &d) == 0,
	   "holds: a policy written");
	ok(publish_holds("ho/mta-sts.txt", mine, sizeof(mine) - 1, &d) ==
	           PUBLISH_HOLDS &&
	       !diag_failed(&d),
	   "holds: the bytes written");
	ok(publish_holds("ho/mta-sts.txt", same_size, sizeof(mine) - 1, &d) ==
	       PUBLISH_HOLDS_OTHER,
	   "holds: other bytes of the same size do not");
	ok(publish_holds("ho/mta-sts.txt", mine, sizeof(mine) - 2, &d) ==
	       PUBLISH_HOLDS_OTHER,
	   "holds: a prefix of the file does not");
	ok(put_file("ho/mta-sts.txt", same_size) == 0 &&
	       publish_holds("ho/mta-sts.txt", mine, sizeof(mine) - 1, &d) ==
	           PUBLISH_HOLDS_OTHER &&
	       !diag_failed(&d),
	   "holds: a file rewritten in place does not");
	ok(unlink("ho/mta-sts.txt") == 0 &&
	       publish_holds("ho/mta-sts.txt", mine, sizeof(mine) - 1, &d) ==
	           PUBLISH_HOLDS_GONE &&
	       publish_holds("ho/no/mta-sts.txt", mine, sizeof(mine) - 1, &d) ==
	           PUBLISH_HOLDS_GONE &&
	       !diag_failed(&d),
	   "holds: a file removed, or a directory, is gone");
	ok(put_file("ho/mine", mine) == 0 &&
	       symlink("mine", "ho/mta-sts.txt") == 0 &&
	       publish_holds("ho/mta-sts.txt", mine, sizeof(mine) - 1, &d) ==
	           -1,
	   "holds: a link to the same bytes is refused");
	like(d.error, "ho/mta-sts.txt is a symbolic link to mine",
	     "holds: ... with the message of a link");
	diag_init(&d);
	ok(publish_holds("ho/", mine, sizeof(mine) - 1, &d) == -1,
	   "holds: a directory is refused");
	like(d.error, "ho/: not a regular file", "holds: ... said so");
	ok(unlink("ho/mta-sts.txt") == 0 && unlink("ho/mine") == 0 &&
	       rmdir("ho") == 0,
	   "holds: removed");
}

/* publish_read() of path is refused unread, with want in its message
 * (what: the case). */
static void
read_refused(const char *path, const char *want, const char *what)
{
	struct diag d;
	struct buf b;

	buf_init(&b, 1024);
	diag_init(&d);
	ok(publish_read(path, &b, &d) == -1 && b.len == 0,
	   "hard links: %s: refused, nothing read", what);
	like(d.error, want, "hard links: %s: said so", what);
	buf_free(&b);
}

/* publish_read() of path reads it. */
static void
read_passes(const char *path, const char *what)
{
	struct diag d;
	struct buf b;

	buf_init(&b, 1024);
	diag_init(&d);
	ok(publish_read(path, &b, &d) == 1 && b.len > 0,
	   "hard links: %s: read (%s)", what, d.error);
	buf_free(&b);
}

/*
 * The name linked into a directory others may write is removed again
 * just after the open (unlink_after_open): the file's count is 1 again
 * by the time the descriptor is looked at. It is not read: before, the
 * count of the descriptor alone was judged, and the file (a key) was
 * read, and shown by a dry run. Now the name must still name the file
 * opened, counted with it; here it is gone, so there is no file.
 */
static void
test_hard_link_removed(void)
{
	struct diag d;
	struct buf b;
	int rc;

	buf_init(&b, 1024);
	diag_init(&d);
	unlink_after_open = "mta-sts.txt";
	rc = publish_read("hl/mta-sts.txt", &b, &d);
	unlink_after_open = NULL;
	ok(rc != 1 && b.len == 0,
	   "hard links: its name removed just after the open: nothing read "
	   "(%d: %s)",
	   rc, d.error);
	ok(access("hl/mta-sts.txt", F_OK) == -1 &&
	       link("hl-secret", "hl/mta-sts.txt") == 0,
	   "hard links: ... (linked again)");
	buf_free(&b);
}

/*
 * A directory whose ACL lets another user write it is one its group may
 * write for the hard-link rule (its group bits are the ACL's mask), and
 * the refusal names that user rather than "its group".
 */
static void
test_hard_links_acl(void)
{
	char want[512], who[128];

	if (set_acl_or_skip("hl", 0, other_user(), 7, 5, 7, 2) == -1)
		return;
	snprintf(want, sizeof(want),
	         "in a directory that user %s, whom its ACL names, may write "
	         "(mode 0775): it may be another file linked there",
	         user_shown(other_user(), who, sizeof(who)));
	read_refused("hl/mta-sts.txt", want,
	             "a directory an ACL lets another "
	             "user write");
	clear_acl("hl");
	chmod("hl", 0755);
}

/*
 * A directory of this user's, mode 0755, whose NFSv4 ACL lets another
 * user add entries (a server that keeps the ACL apart from the mode) is
 * one others may write for the hard-link rule; one whose ACL cannot be
 * read is refused too. Before, the mode alone was judged, and a file
 * that user linked there (a key) was read.
 */
static void
test_hard_links_nfs4(void)
{
	struct nfs4_ace_spec e[] = {{0, 0, 0x1 | 0x2 | 0x4 | 0x20 | 0x40, ""}};
	char who[128], id[16], want[512];

	snprintf(id, sizeof(id), "%u", other_user());
	e[0].who = id;
	fake_nfs4_on("hl", e, 1, 0);
	snprintf(want, sizeof(want),
	         "in a directory that user %s, whom its NFSv4 ACL's entry 1 "
	         "lets, may write (mode 0755): it may be another file linked "
	         "there",
	         user_shown(other_user(), who, sizeof(who)));
	read_refused("hl/mta-sts.txt", want,
	             "a directory of mode 0755 an NFSv4 ACL lets another user "
	             "write");
	fake_nfs4_on("hl", NULL, 0, EIO);
	read_refused("hl/mta-sts.txt",
	             "in a directory that has an ACL that cannot be read "
	             "(Input/output error), so who may write it cannot be "
	             "told (mode 0755): it may be another file linked there",
	             "a directory whose ACL cannot be read");
	e[0].who = "OWNER@";
	fake_nfs4_on("hl", e, 1, 0);
	read_passes("hl/mta-sts.txt", "an NFSv4 ACL that lets its owner only");
	fake_nfs4_on("hl", NULL, 0, 0);
}

/*
 * fs.protected_hardlinks decides whether hl/mta-sts.txt, linked to a
 * file of this user's in a directory others may write (and, as root, in
 * one of another user's), is read. With it 1 no one could have linked a
 * file there they may not read: it is read, as a deploy by rsync
 * --link-dest or cp -al leaves it (before, refused). With it 0, or
 * unreadable, refused, saying so and that setting it to 1 lifts it (or,
 * /proc/sys hidden, letting the run read it).
 */
static void
test_hard_links_sysctl(void)
{
	static const char one[] =
	    "1 (sysctl fs.protected_hardlinks=1, Debian's default), with "
	    "which one may link only a file one owns or may read and write";
	static const struct {
		const char *value, *what, *why, *tail;
	} why[] = {
	    {"0\n", "fs.protected_hardlinks 0",
	     ("the next run writes it anew; this is refused as "
	      "fs.protected_hardlinks is 0, which lets anyone link any file "
	      "there: setting it to "),
	     ", lifts the refusal too"},
	    {"", "fs.protected_hardlinks unreadable",
	     ("this is refused as fs.protected_hardlinks cannot be read "
	      "(/proc/sys/fs/protected_hardlinks: No such file or directory: "
	      "/proc/sys is hidden, as systemd's ProcSubset=pid does, or "
	      "/proc is not mounted), and with it 0 anyone may link any file "
	      "there: with it "),
	     (", and readable by the run (no ProcSubset=pid), the refusal is "
	      "lifted too")},
	    {"2\n", "fs.protected_hardlinks neither 0 nor 1",
	     ("this is refused as fs.protected_hardlinks cannot be read "
	      "(/proc/sys/fs/protected_hardlinks: Invalid argument), and "
	      "with it 0 anyone may link any file there: with it "),
	     ", and readable by the run, the refusal is lifted too"}};
	char want[512];

	fake_hardlinks = "1\n";
	read_passes("hl/mta-sts.txt",
	            "fs.protected_hardlinks 1, a directory others may write");
	if (geteuid() == 0 && chmod("hl", 0755) == 0 &&
	    chown("hl", 65534, 65534) == 0) {
		read_passes("hl/mta-sts.txt", "fs.protected_hardlinks 1, "
		                              "another user's directory");
		ok(chown("hl", 0, 0) == 0 && chmod("hl", 0777) == 0,
		   "hard links: the directory given back");
	} else {
		for (int i = 0; i < 2; i++)
			ok(1, "# SKIP not root: cannot give a directory away");
	}
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		fake_hardlinks = why[i].value;
		snprintf(want, sizeof(want), "%s%s%s", why[i].why, one,
		         why[i].tail);
		read_refused("hl/mta-sts.txt", want, why[i].what);
	}
	fake_hardlinks = "0\n";
}

/*
 * A policy file with another name (a hard link) is not read where
 * someone else than its owner could have linked it there: in a directory
 * others may write, or (as root) one of another user when the file is
 * not theirs, or one of root's that another group may write. With
 * fs.protected_hardlinks 0 a tenant can link any file, a key of root's
 * say, and a dry run showed it as the published file (before, any
 * regular file was read). Where only its owner could have, it is read.
 */
static void
test_hard_links(void)
{
	ok(mkdir("hl", 0755) == 0 && chmod("hl", 0777) == 0 &&
	       put_file("hl-secret", "TOP SECRET") == 0 &&
	       link("hl-secret", "hl/mta-sts.txt") == 0,
	   "hard links: a file linked into a directory others may write");
	read_refused("hl/mta-sts.txt",
	             "hl/mta-sts.txt has 2 names (hard links) and belongs to ",
	             "others may write its directory");
	test_hard_links_sysctl();
	test_hard_link_removed();
	chmod("hl", 0755);
	read_passes("hl/mta-sts.txt", "in a directory of this user's");
	test_hard_links_acl();
	test_hard_links_nfs4();
	if (geteuid() == 0) {
		ok(chown("hl", 65534, 65534) == 0,
		   "hard links: the directory given to another user");
		read_refused("hl/mta-sts.txt",
		             "in a directory that belongs to ",
		             "root's file in another user's directory");
		ok(lchown("hl/mta-sts.txt", 65534, 65534) == 0,
		   "hard links: the file given to that user");
		read_passes("hl/mta-sts.txt", "their own file");
		ok(chown("hl", 0, 65534) == 0 && chmod("hl", 02775) == 0 &&
		       lchown("hl/mta-sts.txt", 0, 0) == 0,
		   "hard links: a directory of root's its group may write");
		read_refused("hl/mta-sts.txt",
		             "in a directory that its group may write (mode "
		             "2775): it may be another file linked there (a "
		             "key, say), so it is not read; remove it (rm "
		             "hl/mta-sts.txt), and the next run writes it anew",
		             "root's file where a group may write");
	} else {
		for (int i = 0; i < 8; i++)
			ok(1, "# SKIP not root: cannot give a file away");
	}
	ok(unlink("hl/mta-sts.txt") == 0 && rmdir("hl") == 0 &&
	       unlink("hl-secret") == 0,
	   "hard links: removed");
}

/*
 * As root: in a directory of root's that its group may write (a web root
 * of root:www-data, mode 2775), a link of a member of the group is
 * refused, as in a sticky one, with what to check and do, but not to run
 * as that member (before, it said so: any member could have made it),
 * and refused still once only root may write there (before, followed);
 * root's is followed (before, the
 * directory was trusted whole: any member could point its .well-known at
 * a directory of root's, and a run as root wrote there). A directory made
 * below it keeps the set-group-ID bit it gets there (before, the chmod to
 * 0755 took it off, and what was made below left the group).
 */
/* With grp's mode set to mode, the link grp/ln of another user is
 * refused, the message holding want (what: the test's name). */
static void
grp_link_refused(mode_t mode, const char *want, const char *what)
{
	struct diag d;

	diag_init(&d);
	ok(chmod("grp", mode) == 0 &&
	       publish_write("grp/ln/mta-sts.txt", "f", 1, &d) == -1,
	   "%s: refused", what);
	like(d.error, want, "%s: saying why", what);
}

static void
test_group_links(void)
{
	struct stat st;
	struct diag d;
	struct buf b;

	buf_init(&b, 1024);
	diag_init(&d);
	ok(mkdir("grp", 0755) == 0 && chown("grp", 0, 65534) == 0 &&
	       chmod("grp", 02775) == 0 &&
	       symlink(spath("lk/real"), "grp/ln") == 0 &&
	       lchown("grp/ln", 65534, 65534) == 0 &&
	       publish_write("grp/ln/mta-sts.txt", "f", 1, &d) == -1,
	   "links: a group member's, where the group may write, is refused");
	like(d.error, "grp/ln is a symbolic link (to \"", "links: ... named");
	like(d.error,
	     "in a directory that its group may write (mode 2775), and the "
	     "link belongs to ",
	     "links: ... saying why and whose it is");
	like(d.error,
	     "; check where it leads: if it is as it should be, chown -h "
	     "root grp/ln, else replace it, or set policy-file to the real "
	     "path",
	     "links: ... and what to do");
	ok(strstr(d.error, "run mta-sts-sync as") == NULL,
	   "links: ... but not to run as the link's owner, who may be any "
	   "member");
	diag_init(&d);
	ok(publish_read("grp/ln/mta-sts.txt", &b, &d) == -1 && b.len == 0 &&
	       strstr(d.error, "grp/ln is a symbolic link") != NULL,
	   "links: ... by a read too, which reads nothing");
	/* the group may not write it now: the link may still be of the
	 * time when it could (before, it was followed then) */
	grp_link_refused(02755,
	                 "in a directory that only root or the user running "
	                 "mta-sts-sync may write now (mode 2755), but the "
	                 "link belongs to nobody (uid 65534), who may have "
	                 "made it while others could write there: not "
	                 "followed",
	                 "links: a member's, where only root may write now");
	/* others may write it, and the link is another user's: both to
	 * mend (before: "chmod o-w would do", which left the link) */
	grp_link_refused(0757,
	                 "in a directory that others may write (mode 0757), "
	                 "and the link belongs to nobody (uid 65534): not "
	                 "followed, as it could lead anywhere (another "
	                 "domain's directory, a system one); check where it "
	                 "leads: if it is as it should be, chown -h root "
	                 "grp/ln and chmod o-w grp, else replace it",
	                 "links: another user's where others may write");
	diag_init(&d);
	ok(chmod("grp", 02775) == 0 && lchown("grp/ln", 0, 0) == 0 &&
	       publish_write("grp/ln/mta-sts.txt", "g", 1, &d) == 0,
	   "links: root's there is followed (%s)", d.error);
	diag_init(&d);
	memset(&st, 0, sizeof(st));
	if (publish_write("grp/new/mta-sts.txt", "h", 1, &d) == -1 ||
	    stat("grp/new", &st) == -1)
		printf("# grp/new: %s\n", d.error);
	ok((st.st_mode & 07777) == 02755 && st.st_gid == 65534,
	   "links: a directory made in it keeps set-group-ID and the group "
	   "(mode %04o, gid %u)",
	   (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid);
	ok(unlink("grp/new/mta-sts.txt") == 0 && rmdir("grp/new") == 0 &&
	       unlink("grp/ln") == 0 && rmdir("grp") == 0,
	   "links: the group's directory removed");
	buf_free(&b);
}

/*
 * As root: in a directory of root's whose ACL lets another user write it,
 * a link of that user is refused as in one its group may write, naming
 * the user the ACL names rather than "its group".
 */
static void
test_acl_links(void)
{
	char who[128], want[512];
	struct diag d;

	if (mkdir("al", 0755) == -1 || chmod("al", 0755) == -1 ||
	    set_acl_or_skip("al", 0, 65534, 7, 5, 7, 2) == -1) {
		ok(rmdir("al") == 0, "links: ACL directory removed");
		return;
	}
	diag_init(&d);
	ok(symlink(spath("lk/real"), "al/ln") == 0 &&
	       lchown("al/ln", 65534, 65534) == 0 &&
	       publish_write("al/ln/mta-sts.txt", "f", 1, &d) == -1,
	   "links: one of the user an ACL lets write its directory, refused");
	snprintf(want, sizeof(want),
	         "in a directory that user %s, whom its ACL names, may write "
	         "(mode 0775), and the link belongs to ",
	         user_shown(65534, who, sizeof(who)));
	like(d.error, want, "links: ... naming the user of the ACL");
	ok(unlink("al/ln") == 0 && rmdir("al") == 0,
	   "links: ACL directory removed");
}

/*
 * As root: in a directory of root's, mode 0755, whose NFSv4 ACL lets
 * another user add entries (a server that does not fold the ACL into the
 * mode), a link of that user is refused as in one its group may write,
 * naming the entry; one in a directory whose ACL cannot be read too.
 * Before, the mode alone was judged and the link was followed: a run as
 * root wrote where that user pointed it. A link of root's is followed.
 */
static void
test_nfs4_links(void)
{
	struct nfs4_ace_spec e[] = {{0, 0, 0x1 | 0x2 | 0x4 | 0x20 | 0x40, ""}};
	char who[128], id[16], want[512];
	struct diag d;
	int fd = -1, rc;

	snprintf(id, sizeof(id), "%u", other_user());
	e[0].who = id;
	ok(mkdir("n4", 0755) == 0 && chmod("n4", 0755) == 0 &&
	       mkdir("n4-else", 0755) == 0 &&
	       symlink(spath("n4-else"), "n4/ln") == 0 &&
	       lchown("n4/ln", other_user(), other_user()) == 0,
	   "NFSv4 links: another user's link in a directory of mode 0755");
	fake_nfs4_on("n4", e, 1, 0);
	diag_init(&d);
	rc = dir_open_walked("n4/ln", 0, &fd, &d);
	ok(rc == -1 && fd == -1,
	   "NFSv4 links: not followed where its NFSv4 ACL lets that user "
	   "write (%d)",
	   rc);
	snprintf(want, sizeof(want),
	         "n4/ln is a symbolic link (to \"%s\") in a directory that "
	         "user %s, whom its NFSv4 ACL's entry 1 lets, may write (mode "
	         "0755), and the link belongs to ",
	         spath("n4-else"), user_shown(other_user(), who, sizeof(who)));
	like(d.error, want, "NFSv4 links: ... naming the link and the entry");
	diag_init(&d);
	ok(publish_write("n4/ln/mta-sts.txt", "f", 1, &d) == -1 &&
	       access("n4-else/mta-sts.txt", F_OK) == -1,
	   "NFSv4 links: ... nothing written where it points");
	fake_nfs4_on("n4", NULL, 0, EIO);
	diag_init(&d);
	ok(dir_open_walked("n4/ln", 0, &fd, &d) == -1,
	   "NFSv4 links: not followed where the ACL cannot be read");
	like(d.error,
	     "in a directory that has an ACL that cannot be read "
	     "(Input/output error), so who may write it cannot be told (mode "
	     "0755), and the link belongs to ",
	     "NFSv4 links: ... saying so");
	diag_init(&d);
	ok(lchown("n4/ln", 0, 0) == 0 &&
	       dir_open_walked("n4/ln", 0, &fd, &d) == 0,
	   "NFSv4 links: root's link followed, the ACL unread (%s)", d.error);
	fake_nfs4_on("n4", NULL, 0, 0);
	if (fd != -1)
		close(fd);
	ok(unlink("n4/ln") == 0 && rmdir("n4") == 0 && rmdir("n4-else") == 0,
	   "NFSv4 links: removed");
}

/*
 * As root, in a directory of root's that its group may write: a member
 * swaps root's link for one of theirs (RENAME_EXCHANGE) between the look
 * at the link's owner and the read of its target. The walk follows
 * root's link, whose owner it judged, or refuses; never the member's
 * (before, the owner was root's and the target the member's: a run as
 * root made .well-known in the directory of their choosing).
 */
static void
test_link_exchange(void)
{
	struct stat want, got;
	struct diag d;
	int fd = -1, rc;

	ok(mkdir("xg", 0755) == 0 && chown("xg", 0, 65534) == 0 &&
	       chmod("xg", 02775) == 0 && mkdir("xg-real", 0755) == 0 &&
	       mkdir("xg-other", 0755) == 0 &&
	       symlink(spath("xg-real"), "xg/site") == 0 &&
	       symlink(spath("xg-other"), "xg/evil") == 0 &&
	       lchown("xg/evil", 65534, 65534) == 0,
	   "exchange: root's link and a member's, where the group may write");
	exchange_a = "xg/site";
	exchange_b = "xg/evil";
	diag_init(&d);
	rc = dir_open_walked("xg/site/.well-known", 1, &fd, &d);
	exchange_a = exchange_b = NULL;
	ok(access("xg-other/.well-known", F_OK) == -1,
	   "exchange: nothing made where the member's link points");
	ok(rc == -1 || (rc == 0 && fstat(fd, &got) == 0 &&
	                stat("xg-real/.well-known", &want) == 0 &&
	                got.st_ino == want.st_ino && got.st_dev == want.st_dev),
	   "exchange: root's link followed, or refused (%d: %s)", rc, d.error);
	if (fd != -1)
		close(fd);
	rmdir("xg-other/.well-known");
	rmdir("xg-real/.well-known");
	ok(unlink("xg/site") == 0 && unlink("xg/evil") == 0 &&
	       rmdir("xg") == 0 && rmdir("xg-real") == 0 &&
	       rmdir("xg-other") == 0,
	   "exchange: removed");
}

/*
 * A symbolic link on the way to the policy file is followed only where
 * nobody but root or the running user could have put it: in a directory
 * of theirs that others may not write (unless sticky, and then only a
 * link of theirs). Else whoever owns a web root could point a link
 * (.well-known, say) at any directory, and a run as root would make or
 * replace mta-sts.txt there; so the read and the write refuse it, saying
 * where it is and what to do. Before, every link was followed. Another
 * user's directory needs root to be made: those cases are skipped
 * otherwise.
 */
static void
test_links(void)
{
	struct diag d;
	struct buf b;
	char got[8] = "";
	int fd;

	buf_init(&b, 1024);
	diag_init(&d);
	ok(mkdir("lk", 0755) == 0 && mkdir("lk/real", 0755) == 0 &&
	       symlink("real", "lk/ln") == 0 &&
	       publish_write("lk/ln/mta-sts.txt", "a", 1, &d) == 0 &&
	       access("lk/real/mta-sts.txt", F_OK) == 0,
	   "links: one in a directory of this user's is followed (%s)",
	   d.error);
	diag_init(&d);
	ok(mkdir("ow", 0755) == 0 && chmod("ow", 0777) == 0 &&
	       symlink(spath("lk/real"), "ow/ln") == 0 &&
	       publish_write("ow/ln/mta-sts.txt", "b", 1, &d) == -1,
	   "links: one in a directory others may write is refused");
	like(d.error, "ow/ln is a symbolic link (to \"", "links: ... named");
	like(d.error, "others may write (mode 0777", "links: ... and why");
	like(d.error, "set policy-file to the real path",
	     "links: ... and what to do");
	diag_init(&d);
	ok(publish_read("ow/ln/mta-sts.txt", &b, &d) == -1 && b.len == 0 &&
	       strstr(d.error, "ow/ln is a symbolic link") != NULL,
	   "links: ... by a read too, which reads nothing");
	fd = open("lk/real/mta-sts.txt", O_RDONLY | O_CLOEXEC);
	ok(fd != -1 && read(fd, got, sizeof(got) - 1) == 1 &&
	       strcmp(got, "a") == 0,
	   "links: the file it points to is untouched");
	if (fd != -1)
		close(fd);
	if (geteuid() == 0) {
		diag_init(&d);
		ok(mkdir("tenant", 0755) == 0 &&
		       chown("tenant", 65534, 65534) == 0 &&
		       symlink(spath("lk/real"), "tenant/.well-known") == 0 &&
		       publish_write("tenant/.well-known/mta-sts.txt", "c", 1,
		                     &d) == -1,
		   "links: one in a directory of another user is refused");
		like(d.error,
		     "(uid 65534), not to root or to the user running "
		     "mta-sts-sync (uid 0)",
		     "links: ... saying whose it is");
		like(d.error, ", or run mta-sts-sync as ",
		     "links: ... and that running as its owner would do");
		diag_init(&d);
		ok(mkdir("sticky", 0755) == 0 && chmod("sticky", 01777) == 0 &&
		       symlink(spath("lk/real"), "sticky/ln") == 0 &&
		       lchown("sticky/ln", 65534, 65534) == 0 &&
		       publish_write("sticky/ln/mta-sts.txt", "d", 1, &d) == -1,
		   "links: another user's in a sticky directory is refused");
		like(d.error,
		     "others may write (mode 1777), and the link "
		     "belongs to ",
		     "links: ... saying whose it is");
		diag_init(&d);
		ok(lchown("sticky/ln", 0, 0) == 0 &&
		       publish_write("sticky/ln/mta-sts.txt", "e", 1, &d) == 0,
		   "links: root's there is followed (%s)", d.error);
		test_group_links();
		test_link_exchange();
		test_acl_links();
		test_nfs4_links();
		ok(unlink("tenant/.well-known") == 0 && rmdir("tenant") == 0 &&
		       unlink("sticky/ln") == 0 && rmdir("sticky") == 0,
		   "links: removed (as root)");
	} else {
		for (int i = 0; i < 35; i++)
			ok(1, "# SKIP not root: cannot give a directory away");
	}
	buf_free(&b);
	ok(unlink("ow/ln") == 0 && rmdir("ow") == 0 &&
	       unlink("lk/real/mta-sts.txt") == 0 && unlink("lk/ln") == 0 &&
	       rmdir("lk/real") == 0 && rmdir("lk") == 0,
	   "links: removed");
}

/*
 * A directory publish_write makes is swapped for a link the moment it
 * is made (swap_for_link), as whoever owns the directory it is made in
 * may do: its mode and owner are set through a descriptor of what was
 * made, never through its name, so what the link points to keeps its
 * mode, and the link is not followed when another user could have made
 * it (as root). Before, chmod(2) of the name followed the link: a run as
 * root could be made to chmod any file or directory 0755.
 */
static void
test_mkdir_swap(void)
{
	int root = geteuid() == 0;
	struct stat st;
	struct diag d;

	/* as root the web root is another user's; the target is one of
	 * root's, a directory there (a file otherwise) */
	ok(mkdir("race", 0755) == 0 &&
	       (!root || chown("race", 65534, 65534) == 0) &&
	       (root ? mkdir("victim", 0700) : put_file("victim", "x")) == 0 &&
	       chmod("victim", 0700) == 0,
	   "swap: a directory to make in, and a target of mode 0700");
	swap_for_link = spath("victim");
	diag_init(&d);
	ok(publish_write("race/new/mta-sts.txt", "x", 1, &d) == -1,
	   "swap: the write fails");
	if (stat("victim", &st) == -1)
		st.st_mode = 0;
	ok((st.st_mode & 07777) == 0700,
	   "swap: what the link points to keeps its mode (%04o)",
	   (unsigned)(st.st_mode & 07777));
	if (root)
		like(d.error, "race/new is a symbolic link",
		     "swap: the link is refused, named");
	else
		like(d.error, "victim: not a directory",
		     "swap: the link leads to a file, not a directory");
	ok(access("victim/mta-sts.txt", F_OK) == -1,
	   "swap: nothing written where it points");
	ok(unlink("race/new") == 0 && rmdir("race/new.moved") == 0 &&
	       rmdir("race") == 0 &&
	       (root ? rmdir("victim") : unlink("victim")) == 0,
	   "swap: removed");
}

/* The command inherits standard input, output and error only: none of
 * the run's descriptors (sockets, files) leak into it. */
static void
test_command_fds(void)
{
	struct strlist argv = {0};
	struct diag d;
	int extra = open("/dev/null", O_RDONLY); /* not close-on-exec */

	strlist_add(&argv, "sh");
	strlist_add(&argv, "-c");
	/* ls lists the shell's descriptors, one a line, and tr shows its
	 * argv on the next; failing shows them */
	strlist_add(&argv, "ls /proc/$$/fd; tr '\\000' ' ' </proc/$$/cmdline; "
	                   "exit 9");
	diag_init(&d);
	ok(extra >= 3 &&
	       publish_run_command(&argv, "example.com", "f", 10, &d) == -1,
	   "command: lists its descriptors");
	like(d.error, "exit status 9: 0 / 1 / 2 / sh ",
	     "command: only 0, 1 and 2 are open in it");
	like(d.error, " / 2 / sh -c ls ",
	     "command: its argv[0] is its name as written (not the path run)");
	strlist_free(&argv);
	if (extra >= 0)
		close(extra);
}

static void
test_command(void)
{
	struct strlist argv = {0};
	struct diag d;

	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 5, &d) == -1,
	   "command: an empty argv is refused");
	like(d.error, "empty command", "command: says so");

	strlist_add(&argv, "true");
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 5, &d) == 0 &&
	       !diag_failed(&d),
	   "command: true succeeds");
	strlist_free(&argv);

	/* 200 KB of output: captured up to the cap, message bounded */
	strlist_add(&argv, "sh");
	strlist_add(&argv, "-c");
	strlist_add(&argv, "i=0; while [ $i -lt 4000 ]; do echo "
	                   "line-$i-%d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
	                   "i=$((i+1)); done; exit 7");
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 10, &d) == -1,
	   "command: a failing noisy command fails");
	like(d.error, "exit status 7: line-0-example.com-x",
	     "command: status and the first line (with %%d substituted)");
	like(d.error, "line-4-", "command: the fifth line is shown");
	ok(strstr(d.error, "line-5-") == NULL,
	   "command: the sixth line is not");
	ok(strlen(d.error) < DIAG_MSG_MAX, "command: the message is bounded");
	strlist_free(&argv);
	test_command_fds();
}

/* An executable script at path (in the scratch directory), mode mode. */
static void
write_prog(const char *path, mode_t mode)
{
	FILE *fp = fopen(path, "we");

	if (fp != NULL) {
		fputs("#!/bin/sh\nexit 0\n", fp);
		fclose(fp);
	}
	if (chmod(path, mode) == -1)
		perror(path);
}

/* publish_command_check() of prog is refused, with want in its message. */
static void
prog_refused(const char *prog, const char *want, const char *what)
{
	struct diag d;

	diag_init(&d);
	ok(publish_command_check(prog, &d) == -1, "program check: %s: refused",
	   what);
	like(d.error, want, "program check: %s: message", what);
}

/* publish_command_check() of prog passes. */
static void
prog_passes(const char *prog, const char *what)
{
	struct diag d;

	diag_init(&d);
	ok(publish_command_check(prog, &d) == 0,
	   "program check: %s passes (%s)", what, d.error);
}

/* Set PATH to here's dir, then here's bin (which holds the program
 * deploy). */
static void
path_set_before(const char *here, const char *dir)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s:%s/bin", here, dir, here);
	setenv("PATH", path, 1);
}

/* Make here's directory dir, mode mode, and put it in PATH before here's
 * bin (which holds the program deploy). */
static void
path_entry_before(const char *here, const char *dir, mode_t mode)
{
	if ((mkdir(dir, 0755) == -1 && errno != EEXIST) ||
	    chmod(dir, mode) == -1)
		perror(dir);
	path_set_before(here, dir);
}

/* PATH set to here's bin, then tail, which holds (words for) an empty
 * or relative entry: the program, found in bin, is refused for it, with
 * no advice to give its path (what: the test). */
static void
relative_after_refused(const char *here, const char *tail, const char *holds,
                       const char *what)
{
	char path[PATH_MAX + 64], want[2 * PATH_MAX + 512];

	snprintf(path, sizeof(path), "%s/bin%s", here, tail);
	setenv("PATH", path, 1);
	snprintf(want, sizeof(want),
	         "publish-command deploy: PATH (%s) holds %s, which the "
	         "command gets for the programs it runs by name: the command "
	         "runs in /, and such a directory is not checked; take it out "
	         "of PATH",
	         path, holds);
	prog_refused("deploy", want, what);
}

/* The message for here's PATH entry pre (how: where it is in PATH), mode
 * 1777, into want: made for anyone to write, as /tmp is, it is to be
 * taken out of PATH, and no chmod o-w of it. */
static void
sticky_entry_want(char *want, size_t size, const char *here, const char *how)
{
	snprintf(want, size,
	         "publish-command deploy: PATH entry %s/pre, %s: %s/pre is "
	         "writable by others (mode 1777): anyone could put a program "
	         "there and change the command mta-sts-sync runs "
	         "(publish-command); take it out of PATH: a sticky directory, "
	         "as /tmp, is for anyone's files, not for programs",
	         here, how, here);
}

/* The message for here's PATH entry entry (how: where it is in PATH),
 * which does not exist, in here's pre, mode 1777, into want: said
 * missing, to be taken out of PATH, and no chmod of pre. */
static void
missing_entry_want(char *want, size_t size, const char *here, const char *entry,
                   const char *how)
{
	snprintf(want, size,
	         "PATH entry %s/%s, %s, does not exist, and %s/pre is "
	         "writable by others (mode 1777): anyone could put a program "
	         "there and change the command mta-sts-sync runs "
	         "(publish-command): take it out of PATH (a login shell, su - "
	         "or sudo -i, sets root's own PATH)",
	         here, entry, how, here);
}

/*
 * A missing PATH entry after the program, where another user could make
 * it (here's pre, mode 1777 now): said not to exist, with the advice to
 * take it out of PATH, also for a program named with %d at
 * configuration time (before, "chmod o-w" of the directory it lies
 * under, and no word of it missing).
 */
static void
test_path_missing_after(const char *here)
{
	char path[PATH_MAX + 64], want[2 * PATH_MAX + 512];

	snprintf(path, sizeof(path), "%s/bin:%s/pre/.local/bin", here, here);
	setenv("PATH", path, 1);
	missing_entry_want(want, sizeof(want), here, "pre/.local/bin",
	                   "which the command gets for the programs it runs "
	                   "by name");
	prog_refused("deploy", want, "a missing PATH entry after it");
	prog_refused("deploy-%d", want,
	             "a program named with %d, and a missing PATH entry");
}

/*
 * A PATH entry after the program that cannot be reached (EIO: a network
 * file system out of reach) is refused, naming the cause: what it holds
 * once back was never checked (before, judged by its parent, here's pre,
 * which passes, as if it did not exist).
 */
static void
test_path_unreachable(const char *here)
{
	char path[2 * PATH_MAX], entry[PATH_MAX], want[2 * PATH_MAX + 256];

	snprintf(entry, sizeof(entry), "%s/pre/nfs", here);
	snprintf(path, sizeof(path), "%s/bin:%s", here, entry);
	setenv("PATH", path, 1);
	prog_passes("deploy",
	            "a missing PATH entry in a safe directory, after");
	stat_gone = entry;
	stat_gone_seen = 1;
	stat_gone_errno = EIO;
	snprintf(want, sizeof(want),
	         "publish-command deploy: PATH entry %s, which the command "
	         "gets for the programs it runs by name: cannot be checked: "
	         "%s (a network file system out of reach?)",
	         entry, strerror(EIO));
	prog_refused("deploy", want, "an unreachable PATH entry after it");
	stat_gone = NULL;
	stat_gone_errno = 0;
}

/*
 * Every PATH entry must be as safe as the program, also one after the
 * entry that holds it, and whatever the program is named by: the command
 * gets that PATH, and what it runs by name (a deploy script's aws) is
 * looked up there (before, an entry after the program was not checked,
 * and a script of root's ran what anyone had put in a directory of mode
 * 1777 there). here's pre exists, mode 0755.
 */
static void
test_path_after(const char *here)
{
	char path[PATH_MAX + 64], want[2 * PATH_MAX + 512], prog[PATH_MAX];
	struct diag d;

	snprintf(path, sizeof(path), "%s/bin:%s/pre", here, here);
	setenv("PATH", path, 1);
	prog_passes("deploy", "a safe PATH entry after it");
	chmod("pre", 0777);
	snprintf(want, sizeof(want),
	         "publish-command deploy: PATH entry %s/pre, which the command "
	         "gets for the programs it runs by name: %s/pre is writable "
	         "by others (mode 0777): anyone could put a program there and "
	         "change the command mta-sts-sync runs (publish-command); "
	         "chmod o-w %s/pre, or take it out of PATH",
	         here, here, here);
	prog_refused("deploy", want, "a PATH entry others may write, after it");
	chmod("pre", 01777);
	sticky_entry_want(want, sizeof(want), here,
	                  "which the command gets for the programs it runs by "
	                  "name");
	prog_refused("deploy", want, "a sticky PATH entry, after it");
	snprintf(prog, sizeof(prog), "%s/bin/deploy", here);
	snprintf(want, sizeof(want),
	         "publish-command %s: PATH entry %s/pre, which the command "
	         "gets for the programs it runs by name: %s/pre is writable",
	         prog, here, here);
	prog_refused(prog, want,
	             "a program by its path, and a PATH entry others may "
	             "write");
	prog_refused("deploy-%d", "PATH entry ",
	             "a program named with %d, and a PATH entry others may "
	             "write");
	test_path_missing_after(here);
	chmod("pre", 0755);
	test_path_unreachable(here);
	relative_after_refused(here, "::bin",
	                       "an empty entry (the working directory)",
	                       "an empty PATH entry after it");
	relative_after_refused(here, ":bin", "the relative entry 'bin'",
	                       "a relative PATH entry after it");
	diag_init(&d);
	ok(publish_command_check("deploy", &d) == -1 &&
	       strstr(d.error, "absolute path") == NULL,
	   "program check: ... no advice to give the program's path");
	prog_refused("deploy-%d",
	             "holds the relative entry 'bin', which the "
	             "command gets",
	             "a program named with %d, at configuration time, and a "
	             "relative PATH entry");
}

/* As root, give here's pre to nobody, make sub (a directory of root's
 * in it, unless NULL), and put here's entry in PATH before bin; not as
 * root, skip the two tests that need it. Returns 0, or -1 when
 * skipped. */
static int
pre_given_away(const char *here, const char *sub, const char *entry)
{
	if (geteuid() != 0 || chown("pre", 65534, 65534) == -1 ||
	    (sub != NULL && mkdir(sub, 0755) == -1)) {
		ok(1, "# SKIP not root: cannot give a directory away");
		ok(1, "# SKIP not root: cannot give a directory away");
		return -1;
	}
	path_set_before(here, entry);
	return 0;
}

/*
 * As root: a missing PATH entry whose deepest directory that exists
 * (here's pre/sub, root's) lies in a directory of another user (pre) is
 * said not to exist, to be taken out of PATH, and nothing more: not
 * conf_trust_dir_check()'s advice for the directory it judged (before,
 * its "install the program in directories of root (as /usr/local/bin)",
 * which a cut of only a chown, chmod or setfacl at the end let through).
 */
static void
test_path_missing_foreign_way(const char *here)
{
	char want[2 * PATH_MAX + 512];

	if (pre_given_away(here, "pre/sub", "pre/sub/none") == -1)
		return;
	snprintf(want, sizeof(want),
	         "publish-command deploy: PATH entry %s/pre/sub/none, looked "
	         "in before the program is found, does not exist, and "
	         "%s/pre/sub: the directory on its path %s/pre belongs to uid "
	         "65534, not to root or to the user running mta-sts-sync (uid "
	         "0): its owner could put another file in its place and change "
	         "the command mta-sts-sync runs (publish-command): take it out "
	         "of PATH (a login shell, su - or sudo -i, sets root's own "
	         "PATH)",
	         here, here, here);
	prog_refused("deploy", want,
	             "a missing PATH entry in a directory of another user");
	if (rmdir("pre/sub") == -1 || chown("pre", 0, 0) == -1)
		perror("pre/sub");
}

/*
 * As root: a PATH entry of another user (here's pre, given to nobody) is
 * to be taken out of PATH first, as the command is not to run that
 * user's programs by name, and given to root (with what it holds, once
 * checked) only if it was to be root's (before, "chown root" of it and
 * no more, as for the directory of a program, and taking it out of PATH
 * as the other choice).
 */
static void
test_path_foreign(const char *here)
{
	char want[2 * PATH_MAX + 1024], who[128];

	if (pre_given_away(here, NULL, "pre") == -1)
		return;
	snprintf(want, sizeof(want),
	         "publish-command deploy: PATH entry %s/pre, looked in before "
	         "the program is found: %s/pre belongs to %s, not to root or "
	         "to the user running mta-sts-sync (uid 0): its owner could "
	         "put a program there and change the command mta-sts-sync "
	         "runs (publish-command); take it out of PATH, as the command "
	         "is not to run another user's programs by name (a login "
	         "shell, su - or sudo -i, sets root's own PATH); only if it is "
	         "to be root's (a tarball unpacked with its owner kept), check "
	         "what it holds, then chown -R root %s/pre",
	         here, here, user_shown(65534, who, sizeof(who)), here);
	prog_refused("deploy", want, "a PATH entry of another user");
	if (chown("pre", 0, 0) == -1)
		perror("pre");
}

/*
 * An absolute PATH entry met before the one that holds the program must
 * be as safe as the program: whoever may add a file there could put one
 * of that name first (before, only empty and relative entries were
 * refused). Sticky is not enough there (anyone may make a new name in
 * /tmp), and a missing entry is judged by where it would be made; an
 * entry after the program does not matter.
 */
static void
test_path_entries(const char *here)
{
	char path[PATH_MAX + 64], want[2048];

	path_entry_before(here, "pre", 0777);
	snprintf(want, sizeof(want),
	         "publish-command deploy: PATH entry %s/pre, looked in before "
	         "the program is found: %s/pre is writable by others (mode "
	         "0777): anyone could put a program there and change the "
	         "command mta-sts-sync runs (publish-command); chmod o-w "
	         "%s/pre, or take it out of PATH",
	         here, here, here);
	prog_refused("deploy", want,
	             "a PATH entry others may write, before it");
	chmod("pre", 01777);
	sticky_entry_want(want, sizeof(want), here,
	                  "looked in before the program is found");
	prog_refused("deploy", want, "a sticky PATH entry, before it");
	snprintf(path, sizeof(path), "%s/pre/none:%s/bin", here, here);
	setenv("PATH", path, 1);
	/* it is said not to exist, and to be taken out of PATH, not its
	 * parent changed (before: "chmod o-w" of that parent, /tmp's) */
	missing_entry_want(want, sizeof(want), here, "pre/none",
	                   "looked in before the program is found");
	prog_refused("deploy", want,
	             "a missing PATH entry in a directory anyone may write");
	chmod("pre", 0755);
	prog_passes("deploy", "a missing PATH entry in a safe directory");
	test_path_missing_foreign_way(here);
	test_path_foreign(here);
	test_path_after(here);
	if (rmdir("pre") == -1)
		perror("pre");
}

/*
 * A bare name is looked up in PATH, where an empty or relative entry met
 * before the program is refused (before, the working directory was
 * searched): the command runs in /, and no such directory is checked.
 */
static void
test_program_path(const char *here)
{
	char path[PATH_MAX + 64], *saved = getenv("PATH");

	saved = saved != NULL ? xstrdup(saved) : NULL;
	snprintf(path, sizeof(path), "%s/bin:/usr/bin:/bin", here);
	setenv("PATH", path, 1);
	prog_passes("deploy", "a name found in PATH");
	snprintf(path, sizeof(path), ":%s/bin", here);
	setenv("PATH", path, 1);
	prog_refused("deploy",
	             "holds an empty entry (the working directory), where the "
	             "program would be looked up",
	             "an empty PATH entry");
	snprintf(path, sizeof(path), "bin:%s/bin", here);
	setenv("PATH", path, 1);
	prog_refused("deploy",
	             "holds the relative entry 'bin', where the "
	             "program would be looked up: the command runs "
	             "in /, and such a directory is not checked; take "
	             "it out of PATH, or give the program's absolute "
	             "path",
	             "a relative PATH entry");
	snprintf(path, sizeof(path), "%s/bin", here);
	setenv("PATH", path, 1);
	chmod("bin/deploy", 0757);
	prog_refused("deploy", "publish-command deploy, found in PATH: ",
	             "a name found in PATH, writable by others");
	chmod("bin/deploy", 0755);
	test_path_entries(here);
	if (saved != NULL)
		setenv("PATH", saved, 1);
	free(saved);
}

/*
 * A program, or a directory on the way to it, or a PATH entry before it,
 * whose ACL lets a user or group that is not trusted write it is refused,
 * naming them and the setfacl to run: before, the group bits of the mode,
 * which are then the ACL's mask, were taken for its group's, so setfacl
 * -m u:deploy:rwx on a script of root's (mode 0775 then, group root,
 * trusted) let the deploy user change what root runs. The running user's
 * entry, root's group's, and one the mask leaves without write pass.
 * prog is here's bin/deploy.
 */
static void
test_program_acl(const char *here, const char *prog)
{
	unsigned other = other_user();
	char want[4096], who[128], *saved;

	if (set_acl_or_skip("bin/deploy", 0, other, 7, 5, 7, 14) == -1)
		return;
	user_shown(other, who, sizeof(who));
	snprintf(want, sizeof(want),
	         "publish-command %s: program has an ACL that lets user %s "
	         "write it (mode 0775, whose group bits are the ACL's mask): "
	         "that user could change the command mta-sts-sync runs "
	         "(publish-command); setfacl -x u:%u %s (or setfacl -b %s: no "
	         "ACL)",
	         prog, who, other, prog, prog);
	prog_refused(prog, want, "a program an ACL lets another user write");
	set_acl("bin/deploy", 1, other, 7, 5, 7);
	prog_refused(prog, "program has an ACL that lets group ",
	             "a program an ACL lets another group write");
	set_acl("bin/deploy", 0, other, 7, 5, 5);
	prog_passes(prog, "an ACL whose mask takes write away");
	set_acl("bin/deploy", 0, (unsigned)geteuid(), 7, 5, 7);
	prog_passes(prog, "an ACL that lets the running user write");
	set_acl("bin/deploy", 1, 0, 7, 5, 7);
	prog_passes(prog, "an ACL that lets root's group write");
	/* an entry of the program's own group is judged as the group bits
	 * are: only root's, the running user's or staff pass */
	if (geteuid() == 0 && chown("bin/deploy", 0, 65534) == 0) {
		set_acl("bin/deploy", 1, 65534, 7, 5, 7);
		prog_refused(
		    prog,
		    "program is writable by group nogroup (gid 65534), "
		    "mode 0775: any member could change the command",
		    "an ACL that lets the program's own group write");
		if (chown("bin/deploy", 0, 0) == -1)
			perror("chown");
	} else {
		ok(1, "# SKIP not root: cannot give a file away");
		ok(1, "# SKIP not root: cannot give a file away");
	}
	clear_acl("bin/deploy");
	chmod("bin/deploy", 0755);
	set_acl("bin", 0, other, 7, 5, 7);
	snprintf(want, sizeof(want),
	         "publish-command %s: its directory %s/bin has an ACL that "
	         "lets user %s write it (mode 0775, whose group bits are the "
	         "ACL's mask): that user could put another file in its place "
	         "and change the command mta-sts-sync runs (publish-command); "
	         "setfacl -x u:%u %s/bin",
	         prog, here, who, other, here);
	prog_refused(prog, want,
	             "in a directory an ACL lets another user "
	             "write");
	clear_acl("bin");
	chmod("bin", 0755);
	saved = xstrdup(getenv("PATH"));
	path_entry_before(here, "pre2", 0755);
	set_acl("pre2", 0, other, 7, 5, 7);
	snprintf(want, sizeof(want),
	         "PATH entry %s/pre2, looked in before the program is found: "
	         "%s/pre2 has an ACL that lets user %s write it (mode 0775, "
	         "whose group bits are the ACL's mask): that user could put a "
	         "program there and change the command",
	         here, here, who);
	prog_refused("deploy", want,
	             "a PATH entry an ACL lets another user "
	             "write");
	setenv("PATH", saved, 1);
	free(saved);
	ok(rmdir("pre2") == 0, "program ACLs: removed");
}

/*
 * As root: a program, or a directory on the way to it, that a group
 * other than root's may write is refused, with the chmod g-w to run
 * (before, groups were trusted: a deploy script of root:www-data, mode
 * 0775, in a web root was the web server's to change, and ran as root);
 * root's group may, and a sticky directory's group. prog is here's
 * bin/deploy.
 */
static void
test_program_groups(const char *here, const char *prog)
{
	char want[2048], grp[128];

	group_shown(65534, grp, sizeof(grp));
	if (chown("bin/deploy", 0, 65534) == -1 || chmod("bin/deploy", 0775))
		perror("bin/deploy");
	snprintf(want, sizeof(want),
	         "publish-command %s: program is writable by group %s, mode "
	         "0775: any member could change the command mta-sts-sync runs "
	         "(publish-command); chmod g-w %s",
	         prog, grp, prog);
	prog_refused(prog, want, "a program another group may write");
	chmod("bin/deploy", 0755);
	prog_passes(prog, "a program another group may not write");
	if (chown("bin", 0, 65534) == -1 || chmod("bin", 02775) == -1)
		perror("bin");
	snprintf(want, sizeof(want),
	         "publish-command %s: its directory %s/bin is writable by "
	         "group %s, mode 2775: any member could put another file in "
	         "its place and change the command mta-sts-sync runs "
	         "(publish-command); chmod g-w %s/bin",
	         prog, here, grp, here);
	prog_refused(prog, want, "in a directory another group may write");
	chmod("bin", 03775);
	prog_passes(prog, "in a sticky directory another group may write");
	if (chown("bin", 0, 0) == -1 || chmod("bin", 0775) == -1)
		perror("bin");
	prog_passes(prog, "in a directory root's group may write");
	chmod("bin", 0755);
}

/*
 * A group whose database entry does not fit in 4 KiB is read with a
 * larger buffer: before, ERANGE read as a group without a name, so staff
 * (the group of /usr/local/bin on older Debian) was not trusted when it
 * had many members, and messages named it by its number.
 */
static void
test_big_group(void)
{
	char shown[128], want[64];

	ok(group_trusted(BIG_GID) == 1,
	   "big group entry: its name (staff) read, so trusted");
	snprintf(want, sizeof(want), "staff (gid %u)", BIG_GID);
	is_str(group_shown(BIG_GID, shown, sizeof(shown)), want,
	       "big group entry: named");
}

/*
 * The program must be as safe as the configuration (before, any
 * executable file was run): not writable by others, nor any directory on
 * the way to it, links followed (as /usr/bin/editor ->
 * /etc/alternatives/editor -> ...), and as root, no file or directory of
 * another user. Its group is trusted, and a sticky directory.
 */
static void
test_program_trust(void)
{
	char here[512], prog[600], link[600];
	char want[2048];

	if (getcwd(here, sizeof(here)) == NULL)
		return;
	mkdir("bin", 0755);
	mkdir("alt", 0755);
	chmod("bin", 0755);
	chmod(".", 0755);
	write_prog("bin/deploy", 0755);
	snprintf(prog, sizeof(prog), "%s/bin/deploy", here);
	snprintf(link, sizeof(link), "%s/bin/editor", here);
	prog_passes(prog, "a program of this user");
	prog_passes("/bin/sh", "/bin/sh");
	chmod("bin/deploy", 0757);
	snprintf(want, sizeof(want),
	         "publish-command %s: program is writable by others (mode "
	         "0757): anyone could change the command mta-sts-sync runs "
	         "(publish-command); chmod o-w %s",
	         prog, prog);
	prog_refused(prog, want, "a program writable by others");
	chmod("bin/deploy", 0775);
	prog_passes(prog, "a program its group may write");
	chmod("bin/deploy", 0755);
	chmod("bin", 0777);
	snprintf(want, sizeof(want),
	         "publish-command %s: its directory %s/bin is writable by "
	         "others (mode 0777): anyone could put another file in its "
	         "place and change the command mta-sts-sync runs "
	         "(publish-command); chmod o-w %s/bin",
	         prog, here, here);
	prog_refused(prog, want, "in a directory writable by others");
	chmod("bin", 01777);
	prog_passes(prog, "in a sticky directory");
	chmod("bin", 0755);
	if (symlink("../bin/deploy", "alt/deploy") == -1 ||
	    symlink("../alt/deploy", "bin/editor") == -1)
		perror("symlink");
	prog_passes(link, "a link through a link, in safe directories");
	chmod("alt", 0777);
	snprintf(want, sizeof(want),
	         "the directory on its path %s/alt is "
	         "writable by others",
	         here);
	prog_refused(link, want, "a link in a directory writable by others");
	chmod("alt", 0755);
	test_program_acl(here, prog);
	test_program_path(here);
	if (geteuid() == 0 && chown("bin/deploy", 65534, 65534) == 0) {
		snprintf(
		    want, sizeof(want),
		    "publish-command %s: program belongs to uid 65534, not "
		    "to root or to the user running mta-sts-sync (uid 0): "
		    "its owner could change the command mta-sts-sync runs "
		    "(publish-command); check its content first (its owner "
		    "may have changed it already, and once root owns it, it "
		    "is trusted as it is), then chown root %s",
		    prog, prog);
		prog_refused(prog, want, "a program of another user, as root");
		if (chown("bin/deploy", 0, 0) == -1)
			perror("chown");
		if (chown("alt", 65534, 65534) == 0)
			prog_refused(link, "the directory on its path ",
			             "a link in a directory of another user");
		if (chown("alt", 0, 0) == -1)
			perror("chown");
		test_program_groups(here, prog);
	} else {
		for (int i = 0; i < 11; i++)
			ok(1, "# SKIP not root: cannot give a file to another "
			      "user");
	}
	ok(unlink("bin/editor") == 0 && unlink("alt/deploy") == 0 &&
	       unlink("bin/deploy") == 0 && rmdir("bin") == 0 &&
	       rmdir("alt") == 0,
	   "program check: its files removed");
}

/* Put a script that creates PATH.ran when it runs at path, mode mode,
 * with "#!" (shebang) or without (the shell runs it, as execvp does). */
static void
put_marker_prog(const char *path, mode_t mode, int shebang)
{
	FILE *fp = fopen(path, "we");

	if (fp != NULL) {
		fprintf(fp, "%s: >\"$0.ran\"\n", shebang ? "#!/bin/sh\n" : "");
		fclose(fp);
	}
	if (chmod(path, mode) == -1)
		perror(path);
}

/*
 * What runs is the program checked just before it runs, executed by the
 * path checked (before, the check was made when the run started, and
 * execvp() looked the name up in PATH again when the domain's turn came,
 * maybe minutes later): one of that name put meanwhile in an earlier
 * PATH entry, here one others may write, is refused and not run. The
 * command still gets its name as written as argv[0], and a script
 * without "#!" still runs, as execvp() ran it.
 */
static void
test_program_swapped(void)
{
	char here[512], path[PATH_MAX + 64], *saved = getenv("PATH");
	struct strlist argv = {0};
	struct diag d;

	if (getcwd(here, sizeof(here)) == NULL)
		return;
	saved = saved != NULL ? xstrdup(saved) : NULL;
	mkdir("early", 0755);
	mkdir("late", 0755);
	put_marker_prog("late/deploy", 0755, 1);
	snprintf(path, sizeof(path), "%s/early:%s/late", here, here);
	setenv("PATH", path, 1);
	prog_passes("deploy", "swapped: a name found in the second entry");
	put_marker_prog("early/deploy", 0757, 1);
	strlist_add(&argv, "deploy");
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 10, &d) == -1,
	   "swapped: one put first in PATH after the check is refused");
	like(d.error, "/early/deploy: program is writable by others",
	     "swapped: ... named");
	ok(access("early/deploy.ran", F_OK) == -1 &&
	       access("late/deploy.ran", F_OK) == -1,
	   "swapped: ... and neither it nor the other is run");
	ok(unlink("early/deploy") == 0 && rmdir("early") == 0,
	   "swapped: removed");
	put_marker_prog("late/deploy", 0755, 0);
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 10, &d) == 0 &&
	       access("late/deploy.ran", F_OK) == 0,
	   "swapped: a script without #! is run by the shell (%s)", d.error);
	strlist_free(&argv);
	ok(unlink("late/deploy") == 0 && unlink("late/deploy.ran") == 0 &&
	       rmdir("late") == 0,
	   "swapped: its files removed");
	if (saved != NULL)
		setenv("PATH", saved, 1);
	free(saved);
}

/*
 * A directory on the way to a program that cannot be looked at when the
 * path is checked (taken away for a moment by whoever may, here anyone:
 * mode 0777) refuses the program: before, the walk stopped there, or the
 * directory was skipped, and the program passed.
 */
static void
test_program_dir_gone(const char *here)
{
	char prog[700], dir[600], want[2400];

	snprintf(dir, sizeof(dir), "%s/gd/sub", here);
	snprintf(prog, sizeof(prog), "%s/deploy", dir);
	ok(mkdir("gd", 0755) == 0 && mkdir(dir, 0755) == 0 &&
	       chmod(dir, 0777) == 0,
	   "gone: a directory anyone may write, on the way to a program");
	write_prog(prog, 0755);
	entry_gone = "sub";
	snprintf(want, sizeof(want),
	         "/gd/sub/deploy: the directories on the way to it cannot be "
	         "checked: %s: No such file or directory (removed or replaced "
	         "while it was checked): not trusted, as whoever may do so "
	         "could change the command mta-sts-sync runs "
	         "(publish-command); run mta-sts-sync again, and if this "
	         "recurs, find what changes %s/gd while it runs (auditctl -w "
	         "%s/gd -p wa)",
	         dir, here, here);
	prog_refused(prog, want,
	             "a directory on the way away at the walk: what to do");
	entry_gone = NULL;
	/* judged from the walk's descriptor: a look by name, which
	 * would find nothing, is not made */
	stat_gone = dir;
	stat_gone_seen = 1;
	prog_refused(prog,
	             "/gd/sub is writable by others (mode 0777): anyone "
	             "could put another file in its place",
	             "a directory on the way away by name at its check: "
	             "judged from the walk's descriptor");
	stat_gone = NULL;
	ok(unlink("gd/sub/deploy") == 0 && rmdir("gd/sub") == 0 &&
	       rmdir("gd") == 0,
	   "gone: removed");
}

/*
 * A program that cannot be looked at when it is checked, though it was
 * found a moment before (whoever may write its directory renamed it away
 * and back), is refused: before, the check was skipped ("exec will
 * tell"), and a program writable by others passed. One replaced between
 * its check and its exec is not run.
 */
static void
test_program_gone(void)
{
	char here[512], prog[600];
	struct strlist argv = {0};
	struct diag d;

	if (getcwd(here, sizeof(here)) == NULL)
		return;
	mkdir("gone", 0755);
	write_prog("gone/deploy", 0757);
	snprintf(prog, sizeof(prog), "%s/gone/deploy", here);
	stat_gone = prog;
	stat_gone_seen = 0;
	diag_init(&d);
	ok(publish_command_check(prog, &d) == -1,
	   "gone: a program away at its check is refused");
	stat_gone = NULL;
	like(d.error, "/gone/deploy: cannot be checked: No such file",
	     "gone: ... saying so");
	put_marker_prog("gone/deploy", 0755, 1);
	put_marker_prog("gone/other", 0755, 1);
	replace_from = "gone/other";
	replace_to = "gone/deploy";
	strlist_add(&argv, prog);
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 10, &d) == -1,
	   "gone: a program replaced after its check fails");
	replace_from = replace_to = NULL;
	like(d.error,
	     "/gone/deploy: not run: the program was replaced or removed "
	     "between its check and its start",
	     "gone: ... saying so");
	ok(access("gone/deploy.ran", F_OK) == -1,
	   "gone: ... and nothing is run");
	strlist_free(&argv);
	unlink("gone/other");
	ok(unlink("gone/deploy") == 0 && rmdir("gone") == 0, "gone: removed");
	test_program_dir_gone(here);
}

static void
test_fetch_refusals(void)
{
	struct fetch_result r;
	struct fetch_job jobs[3];
	struct fetch_opts o = {.timeout = 3};

	ok(fetch_url("http://example.com/.well-known/mta-sts.txt", NULL, &r) ==
	       -1,
	   "fetch: http URL refused (NULL options allowed)");
	like(r.error, "https only", "fetch: says https only");
	ok(r.status == 0 && r.body == NULL, "fetch: no status, no body");
	fetch_result_free(&r);
	fetch_result_free(&r);
	fetch_result_free(NULL);
	ok(1, "fetch_result_free twice and on NULL is safe");

	memset(jobs, 0, sizeof(jobs));
	jobs[0].url = "gopher://example.com/";
	jobs[1].url = "https://127.0.0.1:1/x";
	jobs[1].opts = &o;
	jobs[2].url = "gopher://example.com/";
	fetch_many(jobs, 3, 0);
	like(jobs[0].result.error, "gopher:// URL refused", "many: job 1");
	like(jobs[1].result.error, "connection to 127.0.0.1 port 1 refused",
	     "many: job 2");
	is_str(jobs[2].result.error, jobs[0].result.error,
	       "many: the duplicate job has the same result");
	for (int i = 0; i < 3; i++)
		fetch_result_free(&jobs[i].result);
	fetch_many(NULL, 0, 4);
	ok(1, "many: no jobs is fine");
}

/*
 * The URL checks say a host whole: the head of a host too long is whole
 * UTF-8 characters (an IDN host, which libcurl keeps in UTF-8: its 48th
 * byte starts an 'ä' here), and a host that libcurl decodes to a control
 * character ("%7F") is not a valid URL, its text shown as typed.
 */
static void
test_fetch_url_hosts(void)
{
	char url[512], head[128];
	struct fetch_result r;
	struct diag d;
	size_t o = 0, h = 0;

	o += (size_t)snprintf(url, sizeof(url), "https://a");
	h += (size_t)snprintf(head, sizeof(head), "host a");
	for (int i = 0; i < 150; i++)
		o += (size_t)snprintf(url + o, sizeof(url) - o, "\xC3\xA4");
	for (int i = 0; i < 23; i++)
		h += (size_t)snprintf(head + h, sizeof(head) - h, "\xC3\xA4");
	snprintf(url + o, sizeof(url) - o, "/x");
	snprintf(head + h, sizeof(head) - h, "... is 301 characters");
	diag_init(&d);
	ok(fetch_url_host_check(url, &d) == -1, "url host: IDN too long");
	like(d.error, head, "url host: its head in whole characters");
	ok(fetch_url("https://mta-sts.exa%7Fmple.com/x", NULL, &r) == -1,
	   "url host: %%7F refused");
	is_str(r.error, "not a valid URL: https://mta-sts.exa%7Fmple.com/x",
	       "url host: %%7F is no valid URL, shown as typed");
	fetch_result_free(&r);
	/* an IDN host's UTF-8 shown as it is (before: \xC3\xA9), a C1
	 * control, a byte that starts no character and a control byte
	 * escaped */
	ok(fetch_url("https://mta-sts.\xC3\xA9xa%7Fmple.com/\xC2\x9B\xFF\x01",
	             NULL, &r) == -1,
	   "url host: IDN with %%7F refused");
	is_str(r.error,
	       "not a valid URL: https://mta-sts.\xC3\xA9xa%7Fmple.com/"
	       "\\xC2\\x9B\\xFF\\x01",
	       "url host: its UTF-8 shown, control and invalid bytes escaped");
	fetch_result_free(&r);
}

/*
 * fetch_handshake_kind() on the words of each libcurl generation: only
 * a reason from the TLS library (an alert, not TLS) is the port's
 * configuration; a reset or a close is retried, whatever the words.
 */
static void
test_handshake_kind(void)
{
	static const struct {
		const char *text;
		long err;
		enum fetch_fail kind;
	} cases[] = {
	    /* 7.68 to 7.86: OpenSSL has the socket; errno in the words */
	    {"OpenSSL SSL_connect: Connection reset by peer in connection to "
	     "h:443 ",
	     0, FETCH_FAIL_CUT},
	    {"OpenSSL SSL_connect: Broken pipe in connection to h:443 ", 0,
	     FETCH_FAIL_CUT},
	    {"OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to h:443 ",
	     0, FETCH_FAIL_CUT},
	    {"LibreSSL SSL_connect: SSL_ERROR_SYSCALL in connection to h:443 ",
	     0, FETCH_FAIL_CUT},
	    /* before 7.62 */
	    {"Unknown SSL protocol error in connection to h:443 ", 0,
	     FETCH_FAIL_CUT},
	    /* 7.87 on: the socket filter's words and errno */
	    {"Recv failure: Connection reset by peer", ECONNRESET,
	     FETCH_FAIL_CUT},
	    {"Recv failure: Connection reset by peer", 0, FETCH_FAIL_CUT},
	    {"Send failure: Broken pipe", EPIPE, FETCH_FAIL_CUT},
	    {"OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to h:443 ",
	     ECONNRESET, FETCH_FAIL_CUT},
	    {"", 0, FETCH_FAIL_CUT},
	    /* a host whose name holds a reason's words is no reason */
	    {"OpenSSL SSL_connect: Connection reset by peer in connection to "
	     "mta-sts.redalert.example:443 ",
	     0, FETCH_FAIL_CUT},
	    {"OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to "
	     "mta-sts.alert.example:443 ",
	     0, FETCH_FAIL_CUT},
	    /* OpenSSL 3: a close is an SSL routines reason too */
	    {"OpenSSL/3.0.2: error:0A000126:SSL routines::unexpected eof "
	     "while reading",
	     0, FETCH_FAIL_CUT},
	    {"error:0A000126:SSL routines::unexpected eof while reading", 0,
	     FETCH_FAIL_CUT},
	    /* the port's answer: OpenSSL 1.0, 1.1, 3.0, 3.2 */
	    {"error:140770FC:SSL routines:SSL23_GET_SERVER_HELLO:unknown "
	     "protocol",
	     0, FETCH_FAIL_TLS},
	    {"error:1408F10B:SSL routines:ssl3_get_record:wrong version "
	     "number",
	     0, FETCH_FAIL_TLS},
	    {"error:14094458:SSL routines:ssl3_read_bytes:tlsv1 unrecognized "
	     "name",
	     0, FETCH_FAIL_TLS},
	    {"error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert "
	     "handshake failure",
	     0, FETCH_FAIL_TLS},
	    {"OpenSSL/3.0.19: error:0A00010B:SSL routines::wrong version "
	     "number",
	     0, FETCH_FAIL_TLS},
	    {"OpenSSL/3.0.2: error:0A000458:SSL routines::tlsv1 unrecognized "
	     "name",
	     0, FETCH_FAIL_TLS},
	    {"OpenSSL/3.0.2: error:0A000438:SSL routines::tlsv1 alert "
	     "internal error",
	     0, FETCH_FAIL_TLS},
	    {"OpenSSL/3.2.1: error:0A0000C6:SSL routines::packet length too "
	     "long",
	     0, FETCH_FAIL_TLS},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(fetch_handshake_kind(cases[i].text, cases[i].err) ==
		       cases[i].kind,
		   "handshake kind: \"%s\" (errno %ld): %s", cases[i].text,
		   cases[i].err,
		   cases[i].kind == FETCH_FAIL_CUT ? "cut, retried"
		                                   : "the port's, refused");
}

/*
 * fetch_media_type_is(), which both the fetch and the verify ask (a
 * text/html answer is read as a fallback page): case, blanks and tabs
 * around the type, and parameters, do not matter; a longer type is
 * another.
 */
static void
test_media_type(void)
{
	ok(fetch_media_type_is("text/html\t; charset=utf-8", "text/html"),
	   "media type: a tab before the parameters");
	ok(fetch_media_type_is(" TEXT/PLAIN", "text/plain"),
	   "media type: a blank before, another case");
	ok(fetch_media_type_is("text/plain;charset=us-ascii", "text/plain"),
	   "media type: a parameter right after");
	ok(!fetch_media_type_is("text/htmlx", "text/html"),
	   "media type: a longer type is another");
	ok(!fetch_media_type_is("text/plain", "text/html"),
	   "media type: another type");
	ok(!fetch_media_type_is("", "text/html"), "media type: none");
}

static void
test_verify(void)
{
	struct fetch_opts o = {.timeout = 2};
	struct diag d;

	diag_init(&d);
	ok(publish_verify("https://127.0.0.1:1/.well-known/mta-sts.txt", &o,
	                  "x", 1, NULL, 0, 0, NULL, &d) == -1,
	   "verify: unreachable, timeout 0: one attempt, fails");
	like(d.error,
	     "https://127.0.0.1:1/.well-known/mta-sts.txt: connection to "
	     "127.0.0.1 port 1 refused",
	     "verify: the URL and the fetch error");
}

/* ---------------------------------------------- many writers at once */

#define WRITERS 16
#define WRITER_FILES 20

/* The directory the writers write under: "mt" in the scratch directory,
 * or one on another file system. Set between rounds only. */
static const char *writers_top = "mt";

/* One writing thread: files f00..f(nfiles-1) of writer t in a round. */
struct writer {
	int t, round, nfiles;
	const char *bad_path; /* if set, also published (in the middle) */
	int failed[WRITER_FILES];
	char error[WRITER_FILES][DIAG_MSG_MAX];
	int bad_failed;
	char bad_error[DIAG_MSG_MAX];
};

/* The path of writer t's file k. */
static void
writer_path(char *out, size_t size, int t, int k)
{
	snprintf(out, size, "%s/w%02d/f%02d/.well-known/mta-sts.txt",
	         writers_top, t, k);
}

/* The bytes writer t publishes as file k in round r (lengths vary). */
static size_t
writer_bytes(char *out, size_t size, int t, int k, int r)
{
	int n = snprintf(out, size,
	                 "version: STSv1\r\nmode: testing\r\n"
	                 "x-round: %d %d %d\r\n",
	                 r, t, k);
	size_t len = (size_t)n;

	while (len + 1 < size && len < (size_t)n + (size_t)((t * 7 + k) % 40))
		out[len++] = 'a' + (char)((t + k + r) % 26);
	out[len] = '\0';
	return len;
}

/* Thread body: publish the writer's files in order. */
static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	char path[256], data[256];
	struct diag d;
	size_t len;
	int k;

	for (k = 0; k < w->nfiles; k++) {
		if (w->bad_path != NULL && k == w->nfiles / 2) {
			diag_init(&d);
			w->bad_failed =
			    publish_write(w->bad_path, "x", 1, &d) == -1;
			str_copy(w->bad_error, sizeof(w->bad_error), d.error);
		}
		writer_path(path, sizeof(path), w->t, k);
		len = writer_bytes(data, sizeof(data), w->t, k, w->round);
		diag_init(&d);
		w->failed[k] = publish_write(path, data, len, &d) == -1;
		str_copy(w->error[k], sizeof(w->error[k]), d.error);
	}
	return NULL;
}

/* Run n writers of nfiles files each at once in round r. */
static void
run_writers(struct writer *w, int n, int nfiles, int r, const char *bad)
{
	pthread_t tid[WRITERS];
	int t;

	for (t = 0; t < n; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].t = t;
		w[t].round = r;
		w[t].nfiles = nfiles;
		w[t].bad_path = t == 0 ? bad : NULL;
		if (pthread_create(&tid[t], NULL, writer_run, &w[t]) != 0) {
			printf("Bail out! cannot create a thread\n");
			exit(1);
		}
	}
	for (t = 0; t < n; t++)
		pthread_join(tid[t], NULL);
}

/* Whether the directory of writer t's file k holds only mta-sts.txt. */
static int
only_the_file(int t, int k)
{
	char path[256], *slash;
	struct dirent *e;
	DIR *dp;
	int others = 0;

	writer_path(path, sizeof(path), t, k);
	slash = strrchr(path, '/');
	*slash = '\0';
	dp = opendir(path);
	if (dp == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0 &&
		    strcmp(e->d_name, "mta-sts.txt") != 0)
			others++;
	closedir(dp);
	return others == 0;
}

/* Whether writer t's file k holds the bytes of round r, mode 0644. */
static int
holds_round(int t, int k, int r)
{
	char path[256], want[256];
	size_t len = writer_bytes(want, sizeof(want), t, k, r);
	struct stat st;
	struct diag d;
	struct buf b;
	int same;

	writer_path(path, sizeof(path), t, k);
	buf_init(&b, 1024);
	diag_init(&d);
	same = publish_read(path, &b, &d) == 1 && b.len == len &&
	       memcmp(b.data, want, len) == 0 && stat(path, &st) == 0 &&
	       (st.st_mode & 07777) == 0644;
	buf_free(&b);
	return same;
}

/*
 * Check a round of n writers: every publish that succeeded holds its
 * bytes; one that failed holds the previous round's (or, if only the
 * flush of the directory failed, its own) and names want_error; no
 * temporary anywhere. Returns how many failed, or -1 on a mismatch.
 */
static int
check_round(const struct writer *w, int n, int nfiles, int r,
            const char *want_error)
{
	int t, k, failures = 0;

	for (t = 0; t < n; t++)
		for (k = 0; k < nfiles; k++) {
			if (!only_the_file(t, k))
				return -1;
			if (!w[t].failed[k] && holds_round(t, k, r))
				continue;
			if (!w[t].failed[k] || want_error == NULL ||
			    strstr(w[t].error[k], want_error) == NULL)
				return -1;
			if (!holds_round(t, k, r - 1) && !holds_round(t, k, r))
				return -1;
			failures++;
		}
	return failures;
}

/* Remove the files of n writers x nfiles under top, and their
 * directories but top. Returns 0 or -1. */
static int
remove_tree(const char *top, int n, int nfiles)
{
	size_t stop = strlen(top) + 4; /* "/wNN" */
	const char *saved = writers_top;
	char path[256], *slash;
	int t, k, rc = 0;

	writers_top = top;
	for (t = 0; t < n; t++) {
		for (k = 0; k < nfiles; k++) {
			writer_path(path, sizeof(path), t, k);
			rc |= unlink(path);
			while ((slash = strrchr(path, '/')) != NULL &&
			       (size_t)(slash - path) > stop) {
				*slash = '\0';
				rc |= rmdir(path);
			}
		}
		snprintf(path, sizeof(path), "%s/w%02d", top, t);
		rc |= rmdir(path);
	}
	writers_top = saved;
	return rc;
}

/* Another file system (tmpfs /dev/shm), whose state is its own: there
 * syncfs says ENOSYS. Skipped if there is none. */
static void
test_threads_enosys(struct writer *w)
{
	static char shm[] = "/dev/shm/publish-test.XXXXXX";
	struct stat here, there;

	if (stat(".", &here) == -1 || mkdtemp(shm) == NULL ||
	    stat(shm, &there) == -1 || here.st_dev == there.st_dev) {
		ok(1, "# SKIP no /dev/shm on another file system");
		return;
	}
	writers_top = shm;
	flush_setup(5, 5, ENOSYS);
	run_writers(w, 8, 5, 1, NULL);
	ok(check_round(w, 8, 5, 1, NULL) == 0 && n_syncfs == 1,
	   "threads: without syncfs (ENOSYS, %u call) each writer fsyncs "
	   "its own file and all succeed",
	   n_syncfs);
	ok(remove_tree(shm, 8, 5) == 0 && rmdir(shm) == 0,
	   "threads: removed what they wrote on the other file system");
	writers_top = "mt";
}

static void
test_threads(void)
{
	static struct writer w[WRITERS];
	int files = WRITERS * WRITER_FILES, fails, fd;
	unsigned flushes;
	struct diag d;

	diag_init(&d);
	flush_setup(20, 1, 0);
	ok(publish_write("lone.txt", "x", 1, &d) == 0 && n_fsync == 2 &&
	       n_syncfs == 0,
	   "threads: a writer alone: fsync of the file and of the directory, "
	   "as without grouping");

	flush_setup(20, 1, 0);
	run_writers(w, WRITERS, WRITER_FILES, 1, NULL);
	ok(check_round(w, WRITERS, WRITER_FILES, 1, NULL) == 0,
	   "threads: %d writers x %d new files, each with its exact bytes, "
	   "mode 0644, no temporary left",
	   WRITERS, WRITER_FILES);
	flushes = n_fsync + n_syncfs;
	ok(n_syncfs > 0 && flushes < (unsigned)files,
	   "threads: flushes shared (%u fsync + %u syncfs for %d files, "
	   "2 each alone)",
	   n_fsync, n_syncfs, files);

	flush_setup(20, 1, 0);
	fd = open("plain", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok(fd >= 0 && close(fd) == 0,
	   "threads: a regular file where a directory should be");
	run_writers(w, WRITERS, WRITER_FILES, 2, "plain/x/mta-sts.txt");
	ok(w[0].bad_failed, "threads: the path under a regular file fails");
	like(w[0].bad_error, "plain: not a directory",
	     "threads: naming the culprit");
	ok(check_round(w, WRITERS, WRITER_FILES, 2, NULL) == 0,
	   "threads: every other file replaced with its exact bytes");

	/* syncfs reports an error of any file on the file system: each
	 * writer it covered then flushes its own file alone, and is judged
	 * by that (here every fsync works) */
	flush_setup(20, 1, EIO);
	run_writers(w, 8, 5, 3, NULL);
	fails = check_round(w, 8, 5, 3, NULL);
	ok(n_syncfs > 0 && fails == 0 && n_fsync >= 2 * n_syncfs,
	   "threads: a failing syncfs: every writer it covered flushes its "
	   "own file and succeeds (%d failed, %u syncfs, %u fsync)",
	   fails, n_syncfs, n_fsync);
	/* ... and fails when its own flush fails too */
	flush_setup(20, 1, EIO);
	fsync_errno = EIO; /* no writer runs: no lock needed */
	run_writers(w, 8, 5, 4, NULL);
	fails = check_round(w, 8, 5, 4, "Input/output error");
	fsync_errno = 0;
	ok(fails == 8 * 5,
	   "threads: when its own flush fails too, every writer fails (%d of "
	   "%d), each keeping a whole file, no temporary",
	   fails, 8 * 5);

	/* a syncfs 1000 times a lone fsync: its cost stays above that of
	 * the up to 8 fsyncs it replaces even when the lone ones are timed
	 * 100 times slower (valgrind runs one thread at a time, and a
	 * writer woken from its sleep waits for the others' turns) */
	flush_setup(1, 1000, 0);
	for (fd = 0; fd < 4; fd++) /* lone fsyncs to compare with */
		publish_write("lone.txt", "y", 1, &d);
	run_writers(w, 8, 5, 5, NULL);
	ok(check_round(w, 8, 5, 5, NULL) == 0 && n_syncfs >= 1 && n_syncfs <= 3,
	   "threads: syncfs slower than the fsyncs it replaces: given up "
	   "after at most 3 (%u calls), all files right",
	   n_syncfs);
	test_threads_enosys(w);
	flush_setup(0, 0, 0);
}

/* ------------------------------------------------ killed runs' leftovers */

/* A supervisor killed (the OOM killer, a kill -9; here by the command
 * itself) fails the command, saying the supervisor ended, not that the
 * command was killed by signal 9 (before: "killed by signal 9"); the run
 * kills the command's group at once (the sleep does not last its 10 s). */
static void
test_command_supervisor_killed(void)
{
	struct strlist argv = {0};
	struct diag d;
	double start = util_mono();

	strlist_add(&argv, "sh");
	strlist_add(&argv, "-c");
	strlist_add(&argv, "kill -9 $PPID; sleep 10");
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 30, &d) == -1,
	   "supervisor killed: the command fails");
	like(d.error,
	     "publish-command sh: its supervisor ended (killed by signal 9 "
	     "(Killed)) while the command ran: the run killed the command's "
	     "process group (",
	     "supervisor killed: said so, not that the command was killed");
	like(d.error,
	     "); processes that left it may still run: find them (ps -eo "
	     "pid,pgid,sid,args) and kill them",
	     "supervisor killed: ... with what may be left and how to find it");
	ok(util_mono() - start < 5,
	   "supervisor killed: the command's group is killed at once");
	strlist_free(&argv);
}

/* Make the empty file path, two hours old if old; returns 0 or -1. */
static int
make_file(const char *path, int old)
{
	struct timespec t[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd == -1)
		return -1;
	if (old) {
		t[0].tv_sec = t[1].tv_sec = time(NULL) - 7200;
		t[0].tv_nsec = t[1].tv_nsec = 0;
	}
	return futimens(fd, t) | close(fd);
}

/* Whether the directory dir is later than its file mta-sts.txt was put
 * in place (what makes a read look for leftovers there). */
static int
dir_changed_since_file(const char *dir)
{
	char path[64];
	struct stat st, file;

	snprintf(path, sizeof(path), "%s/mta-sts.txt", dir);
	return stat(dir, &st) == 0 && stat(path, &file) == 0 &&
	       (st.st_mtim.tv_sec > file.st_ctim.tv_sec ||
	        (st.st_mtim.tv_sec == file.st_ctim.tv_sec &&
	         st.st_mtim.tv_nsec > file.st_ctim.tv_nsec));
}

/*
 * Leftovers of killed writers (temporaries nobody holds locked) are
 * removed at once, by a write and by a read in a run that holds the
 * lock; a temporary a live writer holds (here a descriptor of this
 * test, locked as publish_write() locks its own) is left, however old;
 * neither waits. Before, a temporary was judged by its age: a fresh
 * leftover stayed for a minute, an old one was removed even while held,
 * and a write beside a fresh one slept a second or more to touch the
 * directory.
 */
static void
test_leftovers(void)
{
	struct timespec pause = {0, 20000000};
	struct diag d;
	struct buf b;
	double t;
	int held;

	diag_init(&d);
	ok(publish_write("lo/mta-sts.txt", "one", 3, &d) == 0 &&
	       make_file("lo/mta-sts.txt.tmp-Dead01", 0) == 0 &&
	       make_file("lo/mta-sts.txt.tmp-Held01", 1) == 0 &&
	       make_file("lo/other.txt.tmp-Other1", 1) == 0,
	   "leftovers: a file, a fresh leftover, an old temporary held by a "
	   "writer, another file's temporary");
	held = open("lo/mta-sts.txt.tmp-Held01", O_RDWR | O_CLOEXEC);
	ok(held >= 0 && flock(held, LOCK_EX | LOCK_NB) == 0,
	   "leftovers: the held one locked, as a writer locks its own");
	publish_run_locked(-1);
	t = util_mono();
	ok(publish_write("lo/mta-sts.txt", "two", 3, &d) == 0,
	   "leftovers: the file written beside them");
	t = util_mono() - t;
	ok(access("lo/mta-sts.txt.tmp-Dead01", F_OK) == -1,
	   "leftovers: the write removes a leftover nobody holds, however "
	   "young");
	ok(access("lo/mta-sts.txt.tmp-Held01", F_OK) == 0,
	   "leftovers: ... and keeps the one a live writer holds, however old");
	ok(access("lo/other.txt.tmp-Other1", F_OK) == 0,
	   "leftovers: ... and another file's");
	ok(t < 1.0, "leftovers: ... without waiting (%.3f s)", t);

	nanosleep(&pause, NULL); /* a clock tick after the rename */
	ok(make_file("lo/mta-sts.txt.tmp-Dead02", 0) == 0 &&
	       dir_changed_since_file("lo"),
	   "leftovers: a fresh leftover made after the write");
	buf_init(&b, 1024);
	t = util_mono();
	ok(publish_read("lo/mta-sts.txt", &b, &d) == 1 &&
	       access("lo/mta-sts.txt.tmp-Dead02", F_OK) == -1,
	   "leftovers: a read (the file up to date) removes it at once");
	ok(access("lo/mta-sts.txt.tmp-Held01", F_OK) == 0 &&
	       util_mono() - t < 1.0,
	   "leftovers: ... keeps the held one, and does not wait");
	close(held); /* its writer died */
	ok(publish_read("lo/mta-sts.txt", &b, &d) == 1 &&
	       access("lo/mta-sts.txt.tmp-Held01", F_OK) == -1,
	   "leftovers: once its writer is gone, the next read removes it");
	buf_free(&b);
	ok(unlink("lo/other.txt.tmp-Other1") == 0 &&
	       unlink("lo/mta-sts.txt") == 0 && rmdir("lo") == 0,
	   "leftovers: nothing else left");
}

/*
 * One round of nolock(): with flock(2) failing with err, a write beside
 * an old leftover and a young temporary removes the old one, keeps the
 * young one (a writer of it may be at work) and touches the directory so
 * that a later read looks there again; a read once it has aged removes
 * it. Before, nothing was ever removed without locks.
 */
static void
nolock_round(int err, const char *name)
{
	struct diag d;
	struct buf b;
	double t;

	diag_init(&d);
	buf_init(&b, 1024);
	flock_errno = 0;
	ok(publish_write("nl/mta-sts.txt", "one", 3, &d) == 0 &&
	       make_file("nl/mta-sts.txt.tmp-Old001", 1) == 0 &&
	       make_file("nl/mta-sts.txt.tmp-New001", 0) == 0,
	   "no locks (%s): a file, an old leftover and a young temporary",
	   name);
	flock_errno = err;
	t = util_mono();
	ok(publish_write("nl/mta-sts.txt", "two", 3, &d) == 0,
	   "no locks (%s): the file written beside them", name);
	t = util_mono() - t;
	ok(access("nl/mta-sts.txt.tmp-Old001", F_OK) == -1,
	   "no locks (%s): the write removes the one over a minute old", name);
	ok(access("nl/mta-sts.txt.tmp-New001", F_OK) == 0,
	   "no locks (%s): ... keeps the young one", name);
	ok(dir_changed_since_file("nl") && t < 2.5,
	   "no locks (%s): ... and leaves the directory later than the file, "
	   "to be looked at again (%.3f s)",
	   name, t);
	ok(make_file("nl/mta-sts.txt.tmp-New001", 1) == 0 &&
	       publish_read("nl/mta-sts.txt", &b, &d) == 1 &&
	       access("nl/mta-sts.txt.tmp-New001", F_OK) == -1,
	   "no locks (%s): once it is old, a read removes it", name);
	flock_errno = 0;
	buf_free(&b);
}

/*
 * A file system without locks: flock(2) fails with ENOLCK, EOPNOTSUPP,
 * EINVAL or ENOSYS, and a temporary is judged by its age instead (over a
 * minute old: a leftover). A held lock (EWOULDBLOCK) still keeps one
 * however old: test_leftovers().
 */
static void
test_nolock(void)
{
	nolock_round(ENOLCK, "ENOLCK");
	nolock_round(EOPNOTSUPP, "EOPNOTSUPP");
	nolock_round(EINVAL, "EINVAL");
	nolock_round(ENOSYS, "ENOSYS");
	ok(unlink("nl/mta-sts.txt") == 0 && rmdir("nl") == 0,
	   "no locks: nothing else left");
}

/*
 * A policy file replaced just after each open, as the writes of domains
 * sharing it rename theirs over it while it is read: 8 replacements in
 * a row are looked at again and the last file is read (before, a read
 * gave up after 3, and valgrind's scheduling of test_same_file()'s eight
 * writers made that happen); one replaced at every open ends with an
 * error instead of looping.
 */
static void
test_replaced_while_read(void)
{
	struct diag d;
	struct buf b;
	int rc;

	buf_init(&b, 1024);
	diag_init(&d);
	ok(mkdir("rr", 0755) == 0 && make_file("rr/mta-sts.txt", 0) == 0,
	   "replaced while read: a policy file");
	replace_name = "mta-sts.txt";
	replace_opens = 8;
	rc = publish_read("rr/mta-sts.txt", &b, &d);
	ok(rc == 1 && b.len == 6 && memcmp(b.data, "again\n", 6) == 0 &&
	       replace_opens == 0,
	   "replaced while read: 8 times in a row: the last one read (%d: "
	   "%s)",
	   rc, d.error);
	diag_init(&d);
	replace_opens = 1000;
	rc = publish_read("rr/mta-sts.txt", &b, &d);
	ok(rc == -1 && replace_opens > 0 &&
	       strstr(d.error, "replaced each time it was opened") != NULL,
	   "replaced while read: at every open: an error, not a loop (%s)",
	   d.error);
	replace_name = NULL;
	replace_opens = 0;
	ok(unlink("rr/mta-sts.txt") == 0 && rmdir("rr") == 0,
	   "replaced while read: nothing else left");
	buf_free(&b);
}

/* The writes of each thread of test_same_file(). */
static int same_rounds;

/* One of the threads writing the same file at once (test_same_file). */
static void *
same_file_run(void *arg)
{
	int *failed = arg;
	char data[64];
	struct diag d;
	struct buf b;

	buf_init(&b, 1024);
	for (int i = 0; i < same_rounds; i++) {
		int n = snprintf(data, sizeof(data), "round %d\n", i);

		diag_init(&d);
		if (publish_write("same/mta-sts.txt", data, (size_t)n, &d) ==
		        -1 ||
		    publish_read("same/mta-sts.txt", &b, &d) != 1) {
			(*failed)++;
			printf("# %s\n", d.error);
		}
	}
	buf_free(&b);
	return NULL;
}

/*
 * Threads writing and reading one file at once, as the domains sharing a
 * policy file do in a run: each write removes the leftovers it finds and
 * each read may too, yet no writer's temporary is taken for one (a
 * temporary is locked from its creation; one a tidy removed in between
 * is given up for another), so every write succeeds and none is left.
 * With flock failing with err (a file system without locks), the same:
 * a temporary in use is young.
 */
static void
test_same_file(int rounds, int err, const char *label)
{
	pthread_t tid[8];
	int failed[8] = {0}, total = 0;
	struct dirent *e;
	DIR *dp;
	int others = 0;

	flush_setup(0, 0, 0);
	same_rounds = rounds;
	flock_errno = err;
	for (int i = 0; i < 8; i++)
		pthread_create(&tid[i], NULL, same_file_run, &failed[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		total += failed[i];
	}
	flock_errno = 0;
	ok(total == 0,
	   "%s: 8 threads x %d writes and reads of one file at once all "
	   "succeed (%d failed)",
	   label, rounds, total);
	dp = opendir("same");
	while (dp != NULL && (e = readdir(dp)) != NULL)
		others += strcmp(e->d_name, ".") != 0 &&
		          strcmp(e->d_name, "..") != 0 &&
		          strcmp(e->d_name, "mta-sts.txt") != 0;
	if (dp != NULL)
		closedir(dp);
	ok(dp != NULL && others == 0, "%s: no temporary left (%d)", label,
	   others);
	ok(unlink("same/mta-sts.txt") == 0 && rmdir("same") == 0, "%s: removed",
	   label);
}

/* Copy the first certificate of the system's bundle to path (mode
 * 0644). Returns 0, or -1 when there is none to copy. */
static int
put_first_cert(const char *path)
{
	FILE *in = fopen("/etc/ssl/certs/ca-certificates.crt", "re");
	FILE *out = fopen(path, "we");
	char line[256];
	int inside = 0, done = 0;

	while (in != NULL && out != NULL && !done &&
	       fgets(line, sizeof(line), in) != NULL) {
		inside |= strncmp(line, "-----BEGIN CERTIFICATE-----", 27) == 0;
		if (inside)
			fputs(line, out);
		done = inside &&
		       strncmp(line, "-----END CERTIFICATE-----", 25) == 0;
	}
	if (in != NULL)
		fclose(in);
	if (out != NULL)
		fclose(out);
	return done && chmod(path, 0644) == 0 ? 0 : -1;
}

/* Run sync_run() as "mta-sts-sync -n -c conf", what it says on standard
 * error into err (size bytes). Returns its exit status. */
static int
sync_dry_run(const char *conf, char *err, size_t size)
{
	struct cmd_opts o;
	int saved = dup(2), fd, rc;
	ssize_t n = 0;

	memset(&o, 0, sizeof(o));
	o.conf_path = conf;
	o.conf_given = 1;
	o.dry_run = 1;
	fd = open("sync.err", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fflush(stderr);
	dup2(fd, 2);
	rc = sync_run(&o);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (lseek(fd, 0, SEEK_SET) == 0)
		n = read(fd, err, size - 1);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink("sync.err");
	return rc;
}

/* A copy of ca with an ACL that lets another user write it, at
 * ca/copy.pem, renamed over ca when the run opens ca (at_look: when its
 * walk looks it up, before the open); ca's own ACL removed first. What
 * the dry run of conf says on standard error goes into err (size bytes).
 * Returns its exit status, or -1 (a skip said) when no copy can be made. */
static int
ca_replaced_run(const char *ca, const char *conf, int at_look, char *err,
                size_t size)
{
	int rc;

	clear_acl(ca);
	if (put_first_cert("ca/copy.pem") == -1 ||
	    set_acl("ca/copy.pem", 0, other_user(), 6, 4, 6) == -1) {
		ok(1, "# SKIP cannot make an ACL'd copy: %s", strerror(errno));
		unlink("ca/copy.pem");
		return -1;
	}
	open_replace_from = "ca/copy.pem";
	open_replace_to = ca;
	open_replace_at_look = at_look;
	rc = sync_dry_run(conf, err, size);
	ok(open_replace_to == NULL, "ca-file replaced %s: renamed then",
	   at_look ? "between its look and its open" : "after its open");
	open_replace_from = open_replace_to = NULL;
	open_replace_at_look = 0;
	return rc;
}

/*
 * A ca-file (ca, named by conf) replaced, just after it was opened, by a
 * copy whose ACL lets another user write it: the file judged and parsed
 * is the one opened, which has no ACL, so the run goes on (to the
 * server, which is not there). Before acl-fd, its owner and mode came
 * from the descriptor but its ACL from the name, the copy's: refused for
 * an ACL the certificates trusted do not have. Replaced after the walk
 * looked it up and before it was opened, it is refused: the file opened
 * is not the file the walk judged. Before, the ca-file was opened by
 * name and its path walked by name after, so nothing tied the two, and
 * the run went on with whatever the open found.
 */
static void
test_ca_file_acl_swapped(const char *ca, const char *conf)
{
	char err[4096];
	int rc;

	if ((rc = ca_replaced_run(ca, conf, 0, err, sizeof(err))) == -1)
		return;
	ok(rc == EXIT_FAILED && strstr(err, "ca.pem") == NULL,
	   "ca-file replaced after its open: the opened file judged and "
	   "used, the run goes on (%d: %s)",
	   rc, err);
	like(err, "connection to server 127.0.0.1 port 1 refused",
	     "... to the server");
	if ((rc = ca_replaced_run(ca, conf, 1, err, sizeof(err))) == -1)
		return;
	ok(rc == EXIT_USAGE,
	   "ca-file replaced between its walk's look and its open: refused, "
	   "exit 2 (%d)",
	   rc);
	like(err,
	     "/ca/ca.pem was replaced by another file while it was checked: "
	     "not trusted, as whoever may do so could make mta-sts-sync "
	     "trust a certificate authority of their choosing",
	     "... said so");
	clear_acl(ca);
}

/*
 * A ca-file that others may write, away when its status is looked at
 * (whoever may write it, or its directory, renamed it away for a moment;
 * here a stand-in stat() finds nothing), is refused: before, the check
 * was skipped (stat() failed: "nothing to say"), after the file had been
 * parsed and kept as the run's trust store, and the run went on with it.
 * Now it is judged by the status of the descriptor it is then parsed
 * from, before any parsing.
 */
static void
test_ca_file_gone(void)
{
	char conf[PATH_MAX], ca[PATH_MAX], err[4096];
	FILE *fp;
	int rc;

	snprintf(ca, sizeof(ca), "%s/ca/ca.pem", scratch);
	snprintf(conf, sizeof(conf), "%s/ca/ca.conf", scratch);
	if (mkdir("ca", 0755) == -1 || put_first_cert(ca) == -1) {
		ok(1, "# SKIP no certificate in the system's bundle to use");
		ok(1, "# SKIP no certificate in the system's bundle to use");
		unlink(ca);
		rmdir("ca");
		return;
	}
	chmod(ca, 0666);
	put_file("ca/k.key", "hmac-sha256:k:"
	                     "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=\n");
	chmod("ca/k.key", 0600);
	fp = fopen(conf, "we");
	if (fp != NULL) {
		fprintf(fp,
		        "domain \"example.com\" {\n"
		        "\tpolicy { mode none; max-age 86400; };\n"
		        "\tpolicy-file \"%s/ca/%%d.txt\";\n"
		        "\tserver 127.0.0.1 port 1;\n\tzone \"example.com\";\n"
		        "\tkey-file \"%s/ca/k.key\";\n"
		        "\tca-file \"%s\";\n\ttimeout 2;\n};\n",
		        scratch, scratch, ca);
		fclose(fp);
	}
	stat_gone = ca;
	stat_gone_seen = 1;
	rc = sync_dry_run(conf, err, sizeof(err));
	stat_gone = NULL;
	ok(rc == EXIT_USAGE, "ca-file away at its check: refused, exit 2 (%d)",
	   rc);
	like(err, "/ca/ca.pem: file is writable by others (mode 0666)",
	     "ca-file away at its check: ... judged by its descriptor");
	chmod(ca, 0644);
	if (set_acl_or_skip(ca, 0, other_user(), 6, 4, 6, 2) == 0) {
		rc = sync_dry_run(conf, err, sizeof(err));
		ok(rc == EXIT_USAGE,
		   "ca-file an ACL lets another user write: refused, exit 2 "
		   "(%d)",
		   rc);
		like(err, "/ca/ca.pem: file has an ACL that lets user ",
		     "ca-file an ACL lets another user write: ... said so");
		test_ca_file_acl_swapped(ca, conf);
	}
	ok(unlink(ca) == 0 && unlink(conf) == 0 && unlink("ca/k.key") == 0 &&
	       rmdir("ca") == 0,
	   "ca-file: removed");
}

int
main(void)
{
	if (mkdtemp(scratch) == NULL || chdir(scratch) == -1) {
		printf("Bail out! cannot make a scratch directory\n");
		return 1;
	}
	umask(077);
	fetch_global_init();
	test_write_read();
	test_write_flush_errors();
	test_read_refusals();
	test_holds();
	test_hard_links();
	test_links();
	test_mkdir_swap();
	test_command();
	test_command_supervisor_killed();
	test_big_group();
	test_program_trust();
	test_program_swapped();
	test_program_gone();
	test_fetch_refusals();
	test_fetch_url_hosts();
	test_handshake_kind();
	test_media_type();
	test_verify();
	test_threads();
	test_leftovers();
	test_nolock();
	test_replaced_while_read();
	test_same_file(40, 0, "same file");
	test_same_file(10, ENOLCK, "same file, no locks");
	fetch_global_cleanup();
	test_ca_file_gone();
	ok(remove_tree("mt", WRITERS, WRITER_FILES) == 0 && rmdir("mt") == 0 &&
	       unlink("plain") == 0 && unlink("lone.txt") == 0,
	   "threads: removed what they wrote");
	ok(unlink("mta-sts.txt") == 0 && unlink("empty.txt") == 0 &&
	       chdir("/") == 0 && rmdir(scratch) == 0,
	   "scratch directory left clean (no temporaries)");
	return done_testing();
}
