/*
 * mountinfo-test - the reader of /proc/self/mountinfo (mountinfo.c): a
 * line's device, mount point (escaped), type and maker (user_id=), the
 * search for a device's line, and the lookup that reads the file a piece
 * at a time, passing over lines too long. Each line is handed over in an
 * allocation of its exact length, without a NUL after it, so that a read
 * past the length is seen under ASan; the lookup reads a file the test
 * writes, in place of /proc/self/mountinfo (openat() below).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mountinfo.h"
#include "open-stub.h"
#include "tap.h"

/* A FUSE mount (sshfs) of user 1000 at "/srv/www/my site" */
#define SSHFS_LINE                                                             \
	"52 29 0:48 / /srv/www/my\\040site rw,nosuid,nodev,relatime "          \
	"shared:27 master:3 - fuse.sshfs bob@host:/www "                       \
	"rw,user_id=1000,group_id=1000"
#define ROOT_LINE                                                              \
	"29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 "                  \
	"rw,errors=remount-ro"

/* The file the lookup reads instead of /proc/self/mountinfo (NULL: the
 * real one). */
static const char *fake_mountinfo;
/* How many times /proc/self/mountinfo was opened. */
static unsigned opens;

/* openat(2): fake_mountinfo for /proc/self/mountinfo when set, else the
 * real call. */
int
openat(int dfd, const char *name, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode_arg(flags, ap);
	va_end(ap);
	if (strcmp(name, "/proc/self/mountinfo") == 0)
		opens++;
	if (fake_mountinfo != NULL && strcmp(name, "/proc/self/mountinfo") == 0)
		name = fake_mountinfo;
	return (int)syscall(SYS_openat, dfd, name, flags, mode);
}

/* mountinfo_find() of the text s, copied into an allocation of exactly
 * its length. */
static int
find_in(const char *s, unsigned major, unsigned minor, struct mount_facts *mf)
{
	size_t len = strlen(s);
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	if (copy == NULL)
		abort();
	memcpy(copy, s, len);
	rc = mountinfo_find(copy, len, major, minor, mf);
	free(copy);
	return rc;
}

/* A line: its device, mount point unescaped, type and maker. */
static void
test_line(void)
{
	struct mount_facts mf;

	ok(find_in(SSHFS_LINE, 0, 48, &mf) == 1, "an sshfs line: found");
	is_str(mf.point, "/srv/www/my site", "its mount point, \\040 undone");
	is_str(mf.fstype, "fuse.sshfs", "its type");
	ok(mf.has_user && mf.user_id == 1000, "its maker: user_id=1000");
	ok(find_in(ROOT_LINE, 8, 1, &mf) == 1 && !mf.has_user,
	   "a line without user_id=: no maker");
	is_str(mf.fstype, "ext4", "its type");
	ok(find_in("52 29 0:48 /a /m\\134x\\011y rw - fuse x user_id=0", 0, 48,
	           &mf) == 1 &&
	       strcmp(mf.point, "/m\\x\ty") == 0 && mf.user_id == 0,
	   "a backslash and a tab escaped; user_id=0, without other options");
	ok(find_in("52 29 0:48 / /m rw - fuse x rw,xuser_id=5", 0, 48, &mf) ==
	           1 &&
	       !mf.has_user,
	   "xuser_id= is no user_id=");
}

/* The lines refused as not understood. */
static void
test_line_refused(void)
{
	static const char *const bad[] = {
	    "52 29 0:48 / /m rw - fuse x rw,user_id=4294967296",
	    "52 29 0:48 / /m rw - fuse x rw,user_id=",
	    "52 29 0:48 / /m rw - fuse x rw,user_id=12a",
	    "52 29 0:48 / /m rw shared:1 fuse x rw,user_id=0",
	    "52 29 0:48 / /m\\04 rw - fuse x user_id=0",
	    "52 29 0:48 / /m\\400 rw - fuse x user_id=0",
	    "52 29 0:48 / /m\\9 rw - fuse x user_id=0",
	    "52 29 0:48 / /m rw - fuse",
	    "52 29 0:48",
	};
	struct mount_facts mf;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ok(find_in(bad[i], 0, 48, &mf) == -1 && errno == EBADMSG,
		   "not understood: \"%s\"", bad[i]);
	}
	ok(find_in("52 29 0:48x / /m rw - fuse x user_id=0", 0, 48, &mf) == 0,
	   "a device not a number: not its line");
}

/* The search among lines: the device's line, not another's, a line not
 * understood of another device passed over, the last without newline. */
static void
test_find(void)
{
	struct mount_facts mf;

	ok(find_in(ROOT_LINE "\n" SSHFS_LINE "\n", 0, 48, &mf) == 1 &&
	       mf.user_id == 1000,
	   "the second line, of its device");
	ok(find_in(ROOT_LINE "\n" SSHFS_LINE, 0, 48, &mf) == 1,
	   "the last line, without its newline");
	ok(find_in(ROOT_LINE "\n" SSHFS_LINE "\n", 0, 49, &mf) == 0,
	   "no line of the device: not found");
	ok(find_in(ROOT_LINE "\n" SSHFS_LINE "\n", 48, 0, &mf) == 0,
	   "major and minor not swapped");
	ok(find_in("60 29 0:50 / /x\\9 rw - fuse x user_id=0\n" SSHFS_LINE, 0,
	           48, &mf) == 1,
	   "a line not understood of another device: passed over");
	ok(find_in("", 0, 48, &mf) == 0, "nothing: not found");
}

/* A mount point longer than PATH_MAX (escaped to fit a line): cut, and
 * said so. */
static void
test_point_cut(void)
{
	struct mount_facts mf;
	char *line = malloc(2 * PATH_MAX + 64);
	size_t n;

	if (line == NULL)
		abort();
	n = (size_t)snprintf(line, 64, "52 29 0:48 / /");
	memset(line + n, 'a', PATH_MAX + 10);
	n += PATH_MAX + 10;
	snprintf(line + n, 64, " rw - fuse x user_id=1");
	ok(find_in(line, 0, 48, &mf) == 1 && strlen(mf.point) == PATH_MAX - 1 &&
	       strcmp(mf.point + PATH_MAX - 4, "...") == 0,
	   "a mount point too long: cut with ...");
	free(line);
}

/* Write the lines text to path, a line of more than MOUNTINFO_LINE_MAX
 * bytes (of device 0:77) first when long_first, filler lines (of device
 * 0:78) after it to fill many reads, then tail. */
static void
write_mountinfo(const char *path, int long_first, const char *tail)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	if (long_first) {
		fputs("70 29 0:77 / /", f);
		for (size_t i = 0; i < MOUNTINFO_LINE_MAX; i++)
			fputc('b', f);
		fputs(" rw - fuse y user_id=7\n", f);
	}
	for (int i = 0; i < 2000; i++)
		fprintf(f,
		        "%d 29 0:78 / /run/filler/%04d rw,nosuid shared:%d - "
		        "tmpfs tmpfs rw,size=1024k,mode=755\n",
		        100 + i, i, i);
	fputs(tail, f);
	fclose(f);
}

/* The lookup reads its lines a piece at a time: a line beyond the first
 * read, a line past one too long, the long one's own search refused as
 * unread (E2BIG), an absent file's error. */
static void
test_lookup(void)
{
	char path[] = "/tmp/mountinfo-test-XXXXXX";
	struct mount_facts mf;
	struct stat st;
	int fd = mkstemp(path);

	if (fd == -1)
		abort();
	close(fd);
	fake_mountinfo = path;
	write_mountinfo(path, 0, SSHFS_LINE "\n");
	ok(mountinfo_lookup(makedev(0, 48), &mf) == 1 && mf.user_id == 1000,
	   "a line after many reads: found");
	write_mountinfo(path, 1, SSHFS_LINE);
	mountinfo_forget();
	ok(mountinfo_lookup(makedev(0, 48), &mf) == 1 &&
	       strcmp(mf.point, "/srv/www/my site") == 0,
	   "a line after one too long, without its newline: found");
	errno = 0;
	ok(mountinfo_lookup(makedev(0, 77), &mf) == -1 && errno == E2BIG,
	   "the line too long: refused as unread (E2BIG)");
	errno = 0;
	ok(mountinfo_lookup(makedev(0, 99), &mf) == -1 && errno == E2BIG,
	   "a device not found after a line passed over: E2BIG");
	write_mountinfo(path, 0, "");
	mountinfo_forget();
	ok(mountinfo_lookup(makedev(0, 99), &mf) == 0, "a device not found: 0");
	unlink(path);
	mountinfo_forget();
	errno = 0;
	ok(mountinfo_lookup(makedev(0, 48), &mf) == -1 && errno == ENOENT,
	   "no mountinfo: its error (ENOENT)");
	fake_mountinfo = NULL;
	mountinfo_forget();
	/* the real one: /proc's own line */
	if (stat("/proc/self", &st) == 0)
		ok(mountinfo_lookup(st.st_dev, &mf) == 1 &&
		       strcmp(mf.fstype, "proc") == 0,
		   "the real mountinfo: /proc is a proc mount (%s)", mf.fstype);
}

/* A device found is read once for the run, one not found at every
 * lookup; a change to the mount table (a mount made in a mount
 * namespace of the test's own, when it may make one) makes the next
 * lookup read the file again. */
static void
test_cache(void)
{
	char dir[] = "/tmp/mountinfo-test-XXXXXX";
	struct mount_facts mf;
	struct stat st;
	unsigned before;

	mountinfo_forget();
	if (stat("/proc/self", &st) == -1 ||
	    mountinfo_lookup(st.st_dev, &mf) != 1) {
		ok(1, "the cache # SKIP no /proc");
		return;
	}
	before = opens;
	ok(mountinfo_lookup(st.st_dev, &mf) == 1 &&
	       strcmp(mf.fstype, "proc") == 0 && opens == before,
	   "a device found: kept, not read again");
	mountinfo_lookup(makedev(0, 999999), &mf);
	before = opens;
	ok(mountinfo_lookup(makedev(0, 999999), &mf) == 0 &&
	       opens == before + 1,
	   "a device not found: read again");
	/* the namespace first: an open mountinfo tells of its own */
	if (mkdtemp(dir) == NULL || unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1 ||
	    (mountinfo_forget(), mountinfo_lookup(st.st_dev, &mf)) != 1 ||
	    mount("tmpfs", dir, "tmpfs", 0, NULL) == -1) {
		ok(1, "after a mount # SKIP cannot make a mount namespace (%s)",
		   strerror(errno));
		rmdir(dir);
		return;
	}
	before = opens;
	ok(mountinfo_lookup(st.st_dev, &mf) == 1 && opens == before + 1,
	   "after a mount: the device found is read again");
	umount(dir);
	rmdir(dir);
}

int
main(void)
{
	test_line();
	test_line_refused();
	test_find();
	test_point_cut();
	test_lookup();
	test_cache();
	return done_testing();
}
