/*
 * conf-test.c - the configuration file and key files: every setting,
 * defaults, options inheritance, includes, comments, every error rule,
 * key statements and key files in all formats (real tsig-keygen,
 * ddns-confgen and keymgr output from tests/data/conf/keys), the
 * permission rule, the trust of the files a configuration names
 * (conftrust.c), and that no message ever quotes a secret.
 *
 * Files are written to a private temporary directory; the test data is
 * copied there with mode 0600 (git does not keep modes).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "conf.h"
#include "conftrust.h"
#include "dirwalk.h"
#include "hardlinks-stub.h"
#include "open-stub.h"
#include "setacl.h"
#include "mountinfo.h"
#include "tap.h"
#include "tsig.h"
#include "util.h"

/* Compare the string fn(dc) makes with want, and free it. */
static void
is_made(char *(*fn)(const struct domain_conf *), const struct domain_conf *dc,
        const char *want, const char *what)
{
	char *got = fn(dc);

	is_str(got, want, "%s", what);
	free(got);
}

static char tmpdir[256];
static const char *srcdir;

/* A name ending whose getxattr(2) finds nothing, as if what it names
 * were removed just then (after its stat()): NULL, none. */
static const char *xattr_gone;

/* Whether /proc stands as not mounted (a chroot, a minimal container):
 * getxattr(2) of a /proc/self/fd/ path and access(2) of /proc/self/fd
 * fail with ENOENT. And whether the open of a directory's "." to read
 * fails with EACCES, as for a user who may not read it. */
static int no_proc, dot_refused;

/* A POSIX ACL attribute to give in place of the real one, for the file
 * whose name is fake_acl_path and for any descriptor: NULL, the real
 * one (other attributes are the real ones); the first fake_acl_erange
 * reads of it fail with ERANGE, as when it was larger a moment before. */
static const unsigned char *fake_acl;
static size_t fake_acl_len;
static const char *fake_acl_path;
static int fake_acl_erange;

/* fake_acl read into value (size bytes; 0: its size). */
static ssize_t
fake_acl_read(void *value, size_t size)
{
	if (size == 0)
		return (ssize_t)fake_acl_len;
	if (fake_acl_erange > 0 || size < fake_acl_len) {
		fake_acl_erange -= fake_acl_erange > 0;
		errno = ERANGE;
		return -1;
	}
	memcpy(value, fake_acl, fake_acl_len);
	return (ssize_t)fake_acl_len;
}

/* A name ending whose file is on a file system with ACLs of another
 * model, as an NFSv4 or SMB mount is: no POSIX ACL (ENOTSUP), and an
 * attribute fake_model_xattr ("system.nfs4_acl"; NULL: none) instead,
 * of fake_model_len bytes, fake_model_blob (NULL: 12 bytes, a count of
 * one entry and no more); with fake_smb, on an SMB mount (fstatfs()).
 * NULL: none. */
static const char *fake_model_at, *fake_model_xattr;
static const unsigned char *fake_model_blob;
static size_t fake_model_len;
static int fake_smb;
/* fstatfs(2) and statfs(2) of the file fake_model_at names fail with
 * it (0: they do not). */
static int fake_statfs_errno;
/* With fake_fuse, that file is on a FUSE mount (FUSE_SUPER_MAGIC), and
 * /proc/self/mountinfo is read from fake_mountinfo, or its open fails
 * with fake_mountinfo_errno. */
static int fake_fuse;
static const char *fake_mountinfo;
static int fake_mountinfo_errno;

/* Whether path (a descriptor's /proc/self/fd path: its file's) ends
 * with fake_model_at. */
static int
fake_model_file(const char *path)
{
	char target[PATH_MAX];
	ssize_t t;
	size_t n, g;

	if (fake_model_at == NULL)
		return 0;
	if (strncmp(path, "/proc/self/fd/", 14) == 0 &&
	    (t = readlink(path, target, sizeof(target) - 1)) > 0) {
		target[t] = '\0';
		path = target;
	}
	n = strlen(path);
	g = strlen(fake_model_at);
	return n >= g && strcmp(path + n - g, fake_model_at) == 0;
}

/* The attribute name of such a file (size bytes of value; 0: its size):
 * a blob, as the kernel gives an NFSv4 ACL's XDR, for fake_model_xattr,
 * ENOTSUP for any other. */
static ssize_t
fake_model_read(const char *name, void *value, size_t size)
{
	static const unsigned char blob[12] = {0, 0, 0, 1};
	const unsigned char *b = fake_model_blob ? fake_model_blob : blob;
	size_t len = fake_model_blob ? fake_model_len : sizeof(blob);

	return xattr_fake_give(fake_model_xattr, b, len, name, value, size);
}

/* fstatfs(2), as acl.c tells an SMB mount: the real call, but for the
 * file fake_model_at names when fake_smb is set, an SMB2 mount's magic
 * number. */
int
fstatfs(int fd, struct statfs *sf)
{
	char p[64];

	if (syscall(SYS_fstatfs, fd, sf) == -1)
		return -1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (fake_statfs_errno != 0 && fake_model_file(p)) {
		errno = fake_statfs_errno;
		return -1;
	}
	if (fake_smb && fake_model_file(p))
		sf->f_type = (__fsword_t)0xFE534D42u;
	if (fake_fuse && fake_model_file(p))
		sf->f_type = (__fsword_t)0x65735546u;
	return 0;
}

/* statfs(2): the same for a file read by its name. */
int
statfs(const char *path, struct statfs *sf)
{
	if (syscall(SYS_statfs, path, sf) == -1)
		return -1;
	if (fake_statfs_errno != 0 && fake_model_file(path)) {
		errno = fake_statfs_errno;
		return -1;
	}
	if (fake_smb && fake_model_file(path))
		sf->f_type = (__fsword_t)0xFE534D42u;
	if (fake_fuse && fake_model_file(path))
		sf->f_type = (__fsword_t)0x65735546u;
	return 0;
}

/* getxattr(2), as acl.c reads the ACL of a file by name: the removal or
 * the attribute a test asked for, else the real call. */
ssize_t
getxattr(const char *path, const char *name, void *value, size_t size)
{
	size_t n = strlen(path), g = xattr_gone ? strlen(xattr_gone) : 0;

	if (xattr_gone != NULL && n >= g &&
	    strcmp(path + n - g, xattr_gone) == 0) {
		errno = ENOENT;
		return -1;
	}
	if (fake_acl != NULL && strcmp(path, fake_acl_path) == 0 &&
	    strcmp(name, "system.posix_acl_access") == 0)
		return fake_acl_read(value, size);
	if (fake_model_file(path))
		return fake_model_read(name, value, size);
	if (no_proc && strncmp(path, "/proc/self/fd/", 14) == 0) {
		errno = ENOENT;
		return -1;
	}
	return (ssize_t)syscall(SYS_getxattr, path, name, value, size);
}

/* access(2): /proc/self/fd missing when no_proc is set, else the real
 * call. */
int
access(const char *path, int mode)
{
	if (no_proc && strcmp(path, "/proc/self/fd") == 0) {
		errno = ENOENT;
		return -1;
	}
	return (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
}

/* fgetxattr(2), as acl.c reads the ACL of an open file: the attribute a
 * test asked for, else the real call. */
ssize_t
fgetxattr(int fd, const char *name, void *value, size_t size)
{
	char p[64];

	if (fake_acl != NULL && strcmp(name, "system.posix_acl_access") == 0)
		return fake_acl_read(value, size);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (fake_model_file(p))
		return fake_model_read(name, value, size);
	return (ssize_t)syscall(SYS_fgetxattr, fd, name, value, size);
}

/* Two paths to exchange (rename(2) with RENAME_EXCHANGE) just before the
 * next open(2) or openat(2) to read a file named swap_at (its path or
 * its last component), and back just after it: what whoever may write
 * their directory may do at that moment. The open meets the other entry
 * under that name, every other look before and after it the first.
 * NULL: none. */
static const char *swap_at, *swap_a, *swap_b;

/* Exchange swap_a and swap_b, saying so when it fails. */
static void
swap_now(void)
{
	if (syscall(SYS_renameat2, AT_FDCWD, swap_a, AT_FDCWD, swap_b,
	            RENAME_EXCHANGE) == -1)
		printf("# cannot exchange %s and %s: %s\n", swap_a, swap_b,
		       strerror(errno));
}

/* A name (its last component) whose openat(2) other than O_PATH is
 * counted in opened_watched: NULL, none. */
static const char *open_watch;
static int opened_watched;

/* A name (its last component) whose openat(2) calls are counted in
 * flags_opens, the flags of the first FLAGS_KEPT in flags_seen: NULL,
 * none. */
#define FLAGS_KEPT 4
static const char *flags_watch;
/* the entry whose look-up (an O_PATH open) fails with fail_errno */
static const char *fail_at;
static int fail_errno;
static int flags_seen[FLAGS_KEPT], flags_opens;

/* Whether opens stand in for fs.protected_symlinks = 1 (link_protected()),
 * whatever the host's setting. */
static int protect_links;

/*
 * Whether the kernel, with fs.protected_symlinks = 1, would refuse the
 * open (flags) of name in dfd: it follows name, a link in a sticky
 * directory that others may write, whose owner is neither the
 * directory's nor the caller's (may_follow_link()). Only the last
 * component is looked at; only when protect_links is set.
 */
static int
link_protected(int dfd, const char *name, int flags)
{
	char dir[PATH_MAX], *slash;
	struct stat ls, ds;

	if (!protect_links || (flags & O_NOFOLLOW) != 0 ||
	    fstatat(dfd, name, &ls, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISLNK(ls.st_mode))
		return 0;
	snprintf(dir, sizeof(dir), "%s", name);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir ? 1 : 0] = '\0';
	if (fstatat(dfd, dir, &ds, 0) == -1)
		return 0;
	return (ds.st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH) &&
	       ls.st_uid != ds.st_uid && ls.st_uid != geteuid();
}

/* openat(2), as conftrust.c opens the files it reads (from the directory its
 * walk reached): the real call, within the exchange a test asked for
 * (swap_at), or refused as fs.protected_symlinks = 1 would
 * (protect_links); fs.protected_hardlinks as fake_hardlinks says. */
int
openat(int dfd, const char *name, int flags, ...)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	int swap = swap_at != NULL && (flags & O_PATH) == 0 &&
	           strcmp(base, swap_at) == 0;
	va_list ap;
	mode_t mode;
	int fd, err;

	va_start(ap, flags);
	mode = open_mode_arg(flags, ap);
	va_end(ap);
	if (fake_fuse && strcmp(name, "/proc/self/mountinfo") == 0) {
		if (fake_mountinfo_errno != 0) {
			errno = fake_mountinfo_errno;
			return -1;
		}
		name = fake_mountinfo;
	}
	if (fake_hardlinks != NULL && strcmp(name, FAKE_HARDLINKS_PATH) == 0)
		return fake_hardlinks_open();
	if (link_protected(dfd, name, flags) ||
	    (dot_refused && strcmp(name, ".") == 0 && (flags & O_PATH) == 0)) {
		errno = EACCES;
		return -1;
	}
	if (fail_at != NULL && (flags & O_PATH) != 0 &&
	    strcmp(base, fail_at) == 0) {
		errno = fail_errno;
		return -1;
	}
	if (swap)
		swap_now();
	if (open_watch != NULL && (flags & O_PATH) == 0 &&
	    strcmp(base, open_watch) == 0)
		opened_watched++;
	if (flags_watch != NULL && strcmp(base, flags_watch) == 0 &&
	    flags_opens++ < FLAGS_KEPT)
		flags_seen[flags_opens - 1] = flags;
	fd = (int)syscall(SYS_openat, dfd, name, flags, mode);
	err = errno;
	if (swap) {
		swap_now();
		swap_at = NULL;
	}
	errno = err;
	return fd;
}

/* conf_load() of tmpdir/name, with the ACL attribute acl (len bytes,
 * ERANGE for the first erange reads) in place of its real one. Returns
 * the configuration, or NULL with the reason in d. */
static struct conf *
load_with_acl(const char *name, const unsigned char *acl, size_t len,
              int erange, struct diag *d)
{
	char path[512];
	struct conf *c;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fake_acl = acl;
	fake_acl_len = len;
	fake_acl_path = path;
	fake_acl_erange = erange;
	diag_init(d);
	c = conf_load(path, d);
	fake_acl = NULL;
	return c;
}

/* "tmpdir/name" in a static buffer (one at a time). */
static const char *
tpath(const char *name)
{
	static char p[2][512];
	static int which;

	which ^= 1;
	snprintf(p[which], sizeof(p[which]), "%s/%s", tmpdir, name);
	return p[which];
}

/* Write content to tmpdir/name with mode. */
static void
write_file(const char *name, const char *content, mode_t mode)
{
	const char *path = tpath(name);
	FILE *fp = fopen(path, "w");

	if (fp == NULL) {
		perror(path);
		exit(99);
	}
	fputs(content, fp);
	fclose(fp);
	chmod(path, mode);
}

/* Read a whole file into a NUL-terminated string (caller frees). */
static char *
slurp(const char *path, size_t *len)
{
	struct diag d;
	struct stat st;
	char *b = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	diag_init(&d);
	if (fd == -1)
		diag_error(&d, "%s", strerror(errno));
	else
		b = conf_read_fd(fd, CONF_MAX_SIZE, len, &st, &d);
	if (fd != -1)
		close(fd);
	if (b == NULL) {
		fprintf(stderr, "%s: %s\n", path, d.error);
		exit(99);
	}
	return b;
}

/* Copy directory src into dst, every file with mode 0600. */
static void
copy_tree(const char *src, const char *dst)
{
	DIR *dir = opendir(src);
	struct dirent *de;
	char s[1024], t[1024];

	if (dir == NULL) {
		perror(src);
		exit(99);
	}
	mkdir(dst, 0700);
	while ((de = readdir(dir)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(s, sizeof(s), "%s/%s", src, de->d_name);
		snprintf(t, sizeof(t), "%s/%s", dst, de->d_name);
		if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) {
			copy_tree(s, t);
		} else {
			size_t len;
			char *b = slurp(s, &len);
			FILE *fp = fopen(t, "w");

			fwrite(b, 1, len, fp);
			fclose(fp);
			chmod(t, 0600);
			free(b);
		}
	}
	closedir(dir);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Parse text as tmpdir/test.conf (written with mode 0600 and loaded). */
static struct conf *
load_text(const char *text, struct diag *d)
{
	write_file("test.conf", text, 0600);
	diag_init(d);
	return conf_load(tpath("test.conf"), d);
}

/* The settings of domain i of c, in one of a few buffers used in turn,
 * so that a test may hold two at once. */
static struct domain_conf *
dom(const struct conf *c, size_t i)
{
	static struct domain_conf buf[8];
	static unsigned next;
	struct domain_conf *d = &buf[next++ % 8];

	conf_domain(c, i, d);
	return d;
}

#define LONG_LABEL                                                             \
	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"

/* Expect text to fail with an error containing want. */
static void
fails_with(const char *text, const char *want, const char *what)
{
	struct diag d;
	struct conf *c = load_text(text, &d);

	ok(c == NULL, "%s: refused", what);
	like(d.error, want, "%s: message", what);
	conf_free(c);
}

static void fails_hiding(const char *text, const char *want, const char *secret,
                         const char *what);

/* conf_load of the file name in tmpdir must fail with want in the error. */
static void
load_fails(const char *name, const char *want, const char *what)
{
	struct diag d;
	struct conf *c;

	diag_init(&d);
	c = conf_load(tpath(name), &d);
	ok(c == NULL, "%s: refused", what);
	like(d.error, want, "%s: message", what);
	conf_free(c);
}

#define KEY_STMT                                                               \
	"key \"k\" { algorithm hmac-sha256; secret "                           \
	"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"; };\n"
#define DOMAIN_OK                                                              \
	"domain \"example.com\" {\n"                                           \
	"\tupstream "                                                          \
	"\"https://mta-sts.example.net/.well-known/mta-sts.txt\";\n"           \
	"\tkey \"k\";\n"                                                       \
	"\tpolicy-file \"/srv/%d.txt\";\n"

/* A configuration that holds no secret (its key in a key-file). */
#define NOKEY_CONF                                                             \
	"domain \"example.com\" {\n\tupstream \"https://x.example/\";\n"       \
	"\tkey-file \"data/keys/oneline.key\";\n"                              \
	"\tpolicy-file \"/p/%d\";\n};\n"

/*
 * A configuration in a directory that others may write (not sticky), or
 * that belongs to another user, is refused, whether the path names it
 * or a link leads there.
 */
static void
test_unsafe_dirs(void)
{
	struct diag d;
	struct conf *c;
	char want[700];

	mkdir(tpath("open"), 0755);
	chmod(tpath("open"), 0777);
	write_file("open/a.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	snprintf(want, sizeof(want),
	         "open/a.conf: its directory %s is writable by others (mode "
	         "0777): anyone could put another file in its place and make "
	         "mta-sts-sync run a command (publish-command); chmod o-w %s",
	         tpath("open"), tpath("open"));
	load_fails("open/a.conf", want, "directory writable by others");
	if (symlink("open/a.conf", tpath("link.conf")) == -1)
		perror("symlink");
	load_fails("link.conf", "its directory ", "link into such a directory");
	write_file("inc.conf", "include \"open/a.conf\";\n", 0644);
	load_fails("inc.conf", "open/a.conf: its directory ",
	           "include from such a directory");

	/* a link in such a directory, between two safe ones: the file and
	 * a directory reached through it */
	mkdir(tpath("safe"), 0755);
	mkdir(tpath("safe2"), 0755);
	write_file("safe2/z.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	if (symlink("../open/y", tpath("safe/x.conf")) == -1 ||
	    symlink("../safe2/z.conf", tpath("open/y")) == -1 ||
	    symlink("../open/dlink", tpath("safe/d2")) == -1 ||
	    symlink("../safe2", tpath("open/dlink")) == -1)
		perror("symlink");
	snprintf(want, sizeof(want),
	         "x.conf: the directory on its path %s is writable by others",
	         tpath("open"));
	load_fails("safe/x.conf", want, "a link in such a directory");
	load_fails("safe/d2/z.conf", "the directory on its path ",
	           "a directory link in such a directory");
	diag_init(&d);
	c = conf_load(tpath("open/../safe2/z.conf"), &d);
	ok(c != NULL, "the way back (..) from such a directory loads: %s",
	   d.error);
	conf_free(c);

	chmod(tpath("open"), 01777);
	diag_init(&d);
	c = conf_load(tpath("link.conf"), &d);
	ok(c != NULL, "sticky directory writable by others loads: %s", d.error);
	conf_free(c);

	chmod(tpath("open"), 0775);
	diag_init(&d);
	c = conf_load(tpath("open/a.conf"), &d);
	ok(c != NULL, "directory writable by its group loads: %s", d.error);
	conf_free(c);

	if (geteuid() == 0 && chown(tpath("open"), 65534, 65534) == 0) {
		chmod(tpath("open"), 0755);
		load_fails("link.conf", "its directory ",
		           "link into another user's directory");
		snprintf(
		    want, sizeof(want),
		    "belongs to uid 65534, not to root or to the user "
		    "running mta-sts-sync (uid 0): its owner could put "
		    "another file in its place and make mta-sts-sync run a "
		    "command (publish-command); chown root %s",
		    tpath("open"));
		load_fails("open/a.conf", want, "directory of another user");
		mkdir(tpath("open/mine"), 0755);
		write_file("open/mine/b.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
		snprintf(
		    want, sizeof(want),
		    "b.conf: the directory on its path %s belongs to uid "
		    "65534, not to root or to the user running mta-sts-sync "
		    "(uid 0): its owner could put another file in its place "
		    "and make mta-sts-sync run a command (publish-command); "
		    "keep the configuration in directories of root (as /etc)",
		    tpath("open"));
		load_fails(
		    "open/mine/b.conf", want,
		    "a directory of another user above: no chown advice");

		write_file("their.key", KEY_STMT, 0600);
		if (chown(tpath("their.key"), 65534, 65534) == -1)
			perror("chown");
		fails_with(
		    "include \"their.key\";\n" DOMAIN_OK "};\n",
		    "(if it holds only a TSIG key, name it with key-file, "
		    "which reads keys only and may belong to that user)",
		    "included key of another user");
		snprintf(
		    want, sizeof(want),
		    "options { key-file \"%s\"; };\n"
		    "domain \"example.com\" { upstream \"https://x.example/\"; "
		    "policy-file \"/p/%%d\"; };\n",
		    tpath("their.key"));
		c = load_text(want, &d);
		ok(c != NULL, "... its key-file loads: %s", d.error);
		conf_free(c);
	} else {
		for (int i = 0; i < 6; i++)
			ok(1, "# SKIP not root: cannot give a directory away");
		for (int i = 0; i < 3; i++)
			ok(1, "# SKIP not root: cannot give a file away");
	}
}

static void
test_defaults(void)
{
	struct diag d;
	struct conf *c = load_text(KEY_STMT DOMAIN_OK "};\n", &d);
	struct domain_conf *dc;
	size_t i;

	ok(c != NULL, "minimal configuration loads: %s", d.error);
	if (c == NULL)
		return;
	dc = dom(c, 0);
	ok(c->ndomains == 1, "one domain");
	is_str(dc->name, "example.com", "domain name");
	ok(dc->line == 2, "domain line %u", dc->line);
	like(dc->file, "test.conf", "domain file");
	is_made(conf_policy_file, dc, "/srv/example.com.txt", "policy-file %d");
	ok(dc->ttl == 3600 && !dc->has_ttl, "default ttl, not given");
	ok(dc->timeout == 30, "default timeout");
	ok(dc->verify == 1, "default verify yes");
	ok(dc->verify_timeout == 60, "default verify-timeout");
	ok(dc->port == 53 && dc->resolver_port == 53, "default ports");
	ok(dc->mx_check == MX_CHECK_ENFORCE, "default mx-check");
	ok(dc->verify_url_set == NULL, "no verify-url kept by default");
	is_made(conf_verify_url, dc,
	        "https://mta-sts.example.com/.well-known/mta-sts.txt",
	        "default verify-url");
	ok(dc->server == NULL && dc->zone == NULL && dc->resolver == NULL &&
	       dc->ca_file == NULL,
	   "no server, zone, resolver, ca-file by default");
	ok(!dc->has_tls_rpt && dc->tls_rpt.n == 0, "tls-rpt absent");
	ok(!dc->has_mode && !dc->has_max_age && dc->extra_mx.n == 0,
	   "no overrides");
	ok(dc->publish_cmd.n == 0 && dc->resolve.n == 0, "empty lists");
	ok(dc->local_policy == NULL, "no local policy");
	ok(dc->key != NULL && strcmp(dc->key->name, "k") == 0 &&
	       dc->key->alg == TSIG_HMAC_SHA256 && dc->key->secret_len == 32,
	   "key resolved");
	ok(conf_find_domain(c, "EXAMPLE.com.", &i) == 0 && i == 0,
	   "conf_find_domain");
	ok(conf_find_domain(c, "example.org", &i) == -1, "unknown domain");
	conf_free(c);
}

/* The example with every setting, includes and key files. */
static void
test_full(void)
{
	struct diag d;
	struct conf *c;
	struct domain_conf *dc;
	char *path;

	diag_init(&d);
	c = conf_load(tpath("data/full.conf"), &d);
	ok(c != NULL, "full.conf loads: %s", d.error);
	if (c == NULL)
		return;
	ok(c->ndomains == 3, "three domains");
	dc = dom(c, 0);
	is_str(dc->name, "example.com", "name lower-cased, dot removed");
	is_str(dc->upstream,
	       "https://mta-sts.protonmail.ch/.well-known/mta-sts.txt",
	       "upstream");
	ok(dc->has_mode && dc->mode == POLICY_MODE_TESTING, "mode");
	ok(dc->has_max_age && dc->max_age == 86400, "max-age");
	ok(dc->extra_mx.n == 2 &&
	       strcmp(dc->extra_mx.v[0], "backup.example.com") == 0 &&
	       strcmp(dc->extra_mx.v[1], "*.mx.example.com") == 0,
	   "mx repeated, lower-cased");
	is_made(conf_policy_file, dc,
	        "/var/www/mta-sts/example.com/.well-known/mta-sts.txt",
	        "policy-file from options, expanded per domain");
	ok(dc->publish_cmd.n == 7, "publish-command argv");
	is_str(dc->publish_cmd.v[2], "/srv/www/%d", "%%d kept");
	is_str(dc->publish_cmd.v[6], "%f", "%%f kept");
	ok(dc->verify == 0, "verify no");
	is_made(conf_verify_url, dc,
	        "https://policy.example.com/example.com/mta-sts.txt",
	        "verify-url");
	ok(dc->verify_timeout == 120, "verify-timeout");
	ok(dc->has_tls_rpt && dc->tls_rpt.n == 2 &&
	       strcmp(dc->tls_rpt.v[1], "https://reports.example.com/tlsrpt") ==
	           0,
	   "tls-rpt repeated, replaces the options list");
	is_str(dc->server, "192.0.2.53", "server");
	ok(dc->port == 5353, "server port");
	is_str(dc->zone, "example.com", "zone");
	ok(dc->ttl == 300 && dc->has_ttl, "ttl overrides options, given");
	ok(dc->mx_check == MX_CHECK_OFF, "mx-check");
	like(dc->ca_file, "data/inc/ca.pem", "ca-file relative to the file");
	ok(dc->resolve.n == 2 &&
	       strcmp(dc->resolve.v[1], "mta-sts.example.com:443:[::1]") == 0,
	   "resolve repeated");
	is_str(dc->resolver, "::1", "resolver");
	ok(dc->resolver_port == 5300, "resolver port");
	ok(dc->timeout == 5, "timeout");
	ok(dc->key != NULL && strcmp(dc->key->name, "mtasts") == 0,
	   "key from options, defined in an include");

	dc = dom(c, 1);
	ok(dc->upstream == NULL && dc->local_policy != NULL,
	   "local policy, no upstream");
	if (dc->local_policy != NULL)
		ok(dc->local_policy->mode == POLICY_MODE_ENFORCE &&
		       dc->local_policy->nmx == 2 &&
		       dc->local_policy->max_age == 604800,
		   "policy { } settings");
	ok(dc->key != NULL && strcmp(dc->key->name, "strong.example") == 0 &&
	       dc->key->alg == TSIG_HMAC_SHA512,
	   "key from a nested include");
	is_str(dc->server, "ns1.example.org", "server host name");
	path = conf_policy_file(dc);
	like(path, "/data/policies/example.org.txt",
	     "relative policy-file resolved against the file");
	ok(path != NULL && path[0] == '/', "made absolute");
	free(path);
	ok(dc->ttl == 3600 && dc->has_ttl && dc->timeout == 20,
	   "ttl and timeout from options");
	ok(dc->mx_check == MX_CHECK_WARN, "mx-check from options");
	ok(dc->has_tls_rpt && dc->tls_rpt.n == 1, "tls-rpt from options");

	dc = dom(c, 2);
	ok(dc->key != NULL && strcmp(dc->key->name, "knot-key") == 0,
	   "key-file in the domain replaces key from options");
	conf_free(c);
}

/*
 * zone "_mta-sts.<domain>": a zone of its own for the domain's _mta-sts
 * name, the one zone with an underscore that a domain's records are in;
 * another domain's, or another name with an underscore, is refused.
 */
static void
test_sts_zone(void)
{
	struct diag d;
	struct conf *c;

	c = load_text(
	    KEY_STMT DOMAIN_OK "\tzone \"_MTA-STS.Example.com.\";\n};\n", &d);
	ok(c != NULL, "zone _mta-sts.<domain>: accepted: %s", d.error);
	if (c != NULL)
		is_str(dom(c, 0)->zone, "_mta-sts.example.com",
		       "zone _mta-sts.<domain>: normalised");
	conf_free(c);
	fails_with(
	    KEY_STMT DOMAIN_OK "\tzone \"_mta-sts.example.org\";\n};\n",
	    "test.conf:2: domain \"example.com\" is not in zone "
	    "\"_mta-sts.example.org\": its _mta-sts and _smtp._tls "
	    "records must be (or its _mta-sts record alone, in a zone "
	    "of its own, \"_mta-sts.example.com\"); fix the zone, or "
	    "leave it out to have it found",
	    "zone _mta-sts.<another domain>: refused, the zone allowed said");
	fails_with(KEY_STMT DOMAIN_OK
	           "\tzone \"_smtp._tls.example.com\";\n};\n",
	           "zone: '_smtp._tls.example.com' is not a valid domain name",
	           "zone _smtp._tls.<domain>: refused");
	fails_with(KEY_STMT DOMAIN_OK
	           "\tzone \"_mta-sts._x.example.com\";\n};\n",
	           "zone: '_mta-sts._x.example.com' is not a valid domain name",
	           "zone _mta-sts.<not a host name>: refused");
}

static void
test_inheritance(void)
{
	struct diag d;
	struct conf *c;

	c = load_text(KEY_STMT
	              "options {\n"
	              "\tpolicy { mode testing; mx \"mx.example.com\"; "
	              "max-age 600; };\n"
	              "\tkey \"k\"; policy-file \"/p/%d\"; ttl 60;\n"
	              "\tserver 192.0.2.1 port 54; zone \"Example.COM\";\n"
	              "\tresolve \"a.example:443:127.0.0.1\";\n"
	              "\tpublish-command \"/bin/true\";\n"
	              "\tresolver 127.0.0.1; verify no;\n"
	              "};\n"
	              "domain \"a.example.com\" { };\n"
	              "domain \"b.example.com\" {\n"
	              "\tupstream \"https://u.example/x\"; ttl 0;\n"
	              "\tresolver 127.0.0.2 port 5353;\n"
	              "};\n",
	              &d);
	ok(c != NULL, "options only: %s", d.error);
	if (c == NULL)
		return;
	ok(dom(c, 0)->local_policy != NULL && dom(c, 0)->upstream == NULL,
	   "policy { } inherited");
	ok(dom(c, 0)->ttl == 60 && dom(c, 0)->has_ttl &&
	       dom(c, 0)->port == 54 &&
	       strcmp(dom(c, 0)->zone, "example.com") == 0,
	   "ttl, server port and zone inherited");
	is_str(dom(c, 0)->resolver, "127.0.0.1", "resolver inherited");
	ok(dom(c, 0)->verify == 0 && dom(c, 0)->publish_cmd.n == 1 &&
	       dom(c, 0)->resolve.n == 1,
	   "verify, publish-command, resolve inherited");
	is_str(dom(c, 1)->upstream, "https://u.example/x", "domain upstream");
	ok(dom(c, 1)->local_policy == NULL,
	   "upstream in the domain replaces policy { } of options");
	ok(dom(c, 1)->ttl == 0 && dom(c, 1)->has_ttl,
	   "ttl 0 accepted, overrides");
	ok(dom(c, 1)->resolver_port == 5353, "resolver port");
	ok(dom(c, 0)->key == dom(c, 1)->key, "same key for both");
	conf_free(c);
}

/*
 * The overrides of options (mode, max-age, mx) apply to the domains that
 * mirror an upstream; a domain with a local policy, its own or that of
 * options, does not take them. An override written beside policy { } in
 * the same block is still an error.
 */
static void
test_overrides_local(void)
{
	struct diag d;
	struct conf *c;

	c = load_text(
	    KEY_STMT "options {\n"
	             "\tkey \"k\"; policy-file \"/p/%d\";\n"
	             "\tmode testing; max-age 600; mx \"backup.example.net\";\n"
	             "};\n"
	             "domain \"up.example\" {\n"
	             "\tupstream \"https://u.example/x\";\n"
	             "};\n"
	             "domain \"local.example\" {\n"
	             "\tpolicy { mode enforce; mx \"mx.local.example\"; "
	             "max-age 86400; };\n"
	             "};\n",
	    &d);
	ok(c != NULL, "options overrides beside a local-policy domain: %s",
	   d.error);
	if (c != NULL) {
		const struct domain_conf *up = dom(c, 0), *loc = dom(c, 1);

		ok(up->has_mode && up->mode == POLICY_MODE_TESTING &&
		       up->has_max_age && up->max_age == 600 &&
		       up->extra_mx.n == 1,
		   "the upstream domain takes the overrides of options");
		ok(!loc->has_mode && !loc->has_max_age && loc->extra_mx.n == 0,
		   "the local-policy domain does not");
		ok(loc->local_policy != NULL &&
		       loc->local_policy->mode == POLICY_MODE_ENFORCE &&
		       loc->local_policy->max_age == 86400,
		   "its policy is its own");
	}
	conf_free(c);

	c = load_text(KEY_STMT
	              "options {\n"
	              "\tkey \"k\"; policy-file \"/p/%d\"; mode none;\n"
	              "\tupstream \"https://u.example/x\";\n"
	              "};\n"
	              "domain \"a.example\" { };\n"
	              "domain \"b.example\" {\n"
	              "\tpolicy { mode testing; mx \"mx.b.example\"; "
	              "max-age 60; };\n"
	              "};\n",
	              &d);
	ok(c != NULL && dom(c, 0)->has_mode && !dom(c, 1)->has_mode,
	   "a domain replacing the upstream of options with policy { }: %s",
	   d.error);
	conf_free(c);

	fails_with(KEY_STMT "options { key \"k\"; policy-file \"/p/%d\";\n"
	                    "\tmax-age 600; };\n"
	                    "domain \"a.example\" {\n"
	                    "\tpolicy { mode testing; mx \"m.a.example\"; "
	                    "max-age 60; };\n\tmx \"other.example\";\n};\n"
	                    "domain \"b.example\" { upstream "
	                    "\"https://u.example/p\"; };\n",
	           "test.conf:4: domain \"a.example\": mode, max-age and mx "
	           "overrides apply to an upstream",
	           "an override in the domain beside its policy { }");
	fails_with(KEY_STMT "options { key \"k\"; policy-file \"/p/%d\";\n"
	                    "\tpolicy { mode testing; mx \"m.example\"; "
	                    "max-age 60; };\n\tmode enforce;\n};\n"
	                    "domain \"a.example\" { };\n",
	           "test.conf:4: options: mode beside policy { }: mode, "
	           "max-age and mx overrides apply to an upstream",
	           "an override in options beside its policy { }");
	/* ... which is not refused when a domain mirrors an upstream,
	 * which takes the override */
	c = load_text(KEY_STMT "options { key \"k\"; policy-file \"/p/%d\";\n"
	                       "\tpolicy { mode testing; mx \"m.example\"; "
	                       "max-age 60; };\n\tmode enforce;\n};\n"
	                       "domain \"a.example\" { };\n"
	                       "domain \"b.example\" { upstream "
	                       "\"https://u.example/p\"; };\n",
	              &d);
	ok(c != NULL && dom(c, 1)->has_mode &&
	       dom(c, 1)->mode == POLICY_MODE_ENFORCE && !dom(c, 0)->has_mode,
	   "options' policy { } and override, a domain with an upstream: "
	   "loads, the override is the upstream domain's only: %s",
	   d.error);
	conf_free(c);
	/* an override in options without policy { } there, when every
	 * domain has a local policy: it applies to none either */
	fails_with(
	    KEY_STMT "options { key \"k\"; policy-file \"/p/%d\";\n"
	             "\tmode testing;\n};\n"
	             "domain \"a.example\" {\n\tpolicy { mode enforce; "
	             "mx \"mx.a.example\"; max-age 86400; };\n};\n",
	    "test.conf:3: options: mode applies to no domain: mode, "
	    "max-age and mx overrides apply to a domain that mirrors an "
	    "upstream, and every domain has a local policy { }; write it "
	    "inside their policy { }",
	    "an override in options, every domain's policy local");
	fails_with(KEY_STMT "options { key \"k\"; policy-file \"/p/%d\";\n"
	                    "\tmx \"mx2.example\";\n};\n"
	                    "domain \"a.example\" {\n\tpolicy { mode enforce; "
	                    "mx \"mx.a.example\"; max-age 86400; };\n};\n"
	                    "domain \"b.example\" {\n\tpolicy { mode none; "
	                    "max-age 86400; };\n};\n",
	           "test.conf:3: options: mx applies to no domain",
	           "an mx override in options, every domain's policy local");
	c = load_text(KEY_STMT "options { key \"k\"; policy-file \"/p/%d\";\n"
	                       "\tmode testing;\n};\n"
	                       "domain \"a.example\" {\n\tpolicy { mode "
	                       "enforce; mx \"mx.a.example\"; max-age 86400; "
	                       "};\n};\n"
	                       "domain \"b.example\" { upstream "
	                       "\"https://u.example/p\"; };\n",
	              &d);
	ok(c != NULL && !dom(c, 0)->has_mode && dom(c, 1)->has_mode,
	   "... but with a domain that mirrors an upstream, it loads and "
	   "applies to that one: %s",
	   d.error);
	conf_free(c);
}

/*
 * verify-url expands %d and %% as policy-file does, and refuses any
 * other '%' sequence at its line; one without %d that several domains
 * use (each would be verified at the same host) is a warning, given
 * once for each URL.
 */
static void
test_verify_url(void)
{
	struct diag d;
	struct conf *c;

	c = load_text(KEY_STMT
	              "options {\n"
	              "\tkey \"k\"; policy-file \"/p/%d\";\n"
	              "\tupstream \"https://u.example/x\";\n"
	              "\tverify-url \"https://mta-sts.%d:8443/.well-known/"
	              "mta-sts.txt\";\n"
	              "};\n"
	              "domain \"a.example\" { };\n"
	              "domain \"b.example\" {\n"
	              "\tverify-url \"https://web.example/%d/100%%\";\n"
	              "};\n",
	              &d);
	ok(c != NULL && d.nwarn == 0, "verify-url with %%d: %s %s", d.error,
	   d.nwarn ? d.warn[0] : "");
	if (c != NULL) {
		is_made(
		    conf_verify_url, dom(c, 0),
		    "https://mta-sts.a.example:8443/.well-known/mta-sts.txt",
		    "verify-url of options: %d expanded per domain");
		is_made(conf_verify_url, dom(c, 1),
		        "https://web.example/b.example/100%",
		        "verify-url of a domain: %d and %% expanded");
	}
	conf_free(c);

	fails_with(KEY_STMT DOMAIN_OK
	           "\tverify-url \"https://mta-sts.example.com/a%20b\";\n};\n",
	           "test.conf:6: verify-url: only %d (the domain) and %% may "
	           "follow '%'",
	           "verify-url with another % sequence");
	fails_with("options {\n\tverify-url \"https://x.example/%s\";\n};\n",
	           "test.conf:2: verify-url: only %d",
	           "verify-url with %s in options");

	c = load_text(KEY_STMT
	              "options {\n"
	              "\tkey \"k\"; policy-file \"/p/%d\";\n"
	              "\tupstream \"https://u.example/x\";\n"
	              "\tverify-url \"https://web.example/mta-sts.txt\";\n"
	              "};\n"
	              "domain \"a.example\" { };\n"
	              "domain \"b.example\" { };\n"
	              "domain \"c.example\" { };\n"
	              "domain \"d.example\" { verify no; };\n"
	              "domain \"e.example\" {\n"
	              "\tverify-url \"https://web.example/e.txt\";\n"
	              "};\n"
	              "domain \"f.example\" {\n"
	              "\tverify-url \"https://web.example/e.txt\";\n"
	              "};\n",
	              &d);
	ok(c != NULL, "verify-url without %%d for several domains loads: %s",
	   d.error);
	ok(d.nwarn == 2, "one warning for each shared URL (%zu)",
	   (size_t)d.nwarn);
	like(d.nwarn > 0 ? d.warn[0] : "",
	     "test.conf:5: verify-url \"https://web.example/mta-sts.txt\" has "
	     "no %d and is used by more than one domain (\"a.example\" and "
	     "\"b.example\")",
	     "the options' URL: warned at its line");
	like(d.nwarn > 1 ? d.warn[1] : "",
	     "test.conf:14: verify-url \"https://web.example/e.txt\" has no "
	     "%d and is used by more than one domain (\"e.example\" and "
	     "\"f.example\")",
	     "a URL written in two domains: warned at the second");
	conf_free(c);

	c = load_text(KEY_STMT
	              "options {\n"
	              "\tkey \"k\"; policy-file \"/p/%d\";\n"
	              "\tupstream \"https://u.example/x\";\n"
	              "\tverify-url \"https://web.example/mta-sts.txt\";\n"
	              "};\n"
	              "domain \"a.example\" { };\n"
	              "domain \"b.example\" { verify no; };\n",
	              &d);
	ok(c != NULL && d.nwarn == 0,
	   "no warning when one domain verifies at that URL (%zu)",
	   (size_t)d.nwarn);
	conf_free(c);
}

/* Check that the domains of c are marked as sharing their policy file
 * as want says ('1' a domain, '0' not). */
static void
shared_flags(const struct conf *c, const char *want, const char *what)
{
	struct domain_conf dc;
	char got[16] = "";
	size_t i;

	for (i = 0; c != NULL && i < c->ndomains && i + 1 < sizeof(got); i++) {
		conf_domain(c, i, &dc);
		got[i] = dc.policy_file_shared ? '1' : '0';
	}
	is_str(got, want, "%s", what);
}

/*
 * Two domains whose policy files are one file are refused unless their
 * policies must be the same: the same upstream with the same overrides,
 * or the same local policy. The message names both places and %d.
 */
static void
test_shared_policy_file(void)
{
	struct diag d;
	struct conf *c;

#define SHARED_OPTIONS                                                         \
	KEY_STMT "options {\n\tkey \"k\";\n"                                   \
	         "\tpolicy-file \"/srv/mta-sts/mta-sts.txt\";\n};\n"
	fails_with(SHARED_OPTIONS
	           "domain \"a.example\" {\n"
	           "\tupstream \"https://mta-sts.one.example/x\";\n};\n"
	           "domain \"b.example\" {\n"
	           "\tupstream \"https://mta-sts.two.example/x\";\n};\n",
	           "test.conf:9: domain \"b.example\" has the policy-file of "
	           "domain \"a.example\" (",
	           "one file, two upstreams");
	c = load_text(SHARED_OPTIONS
	              "domain \"a.example\" {\n"
	              "\tupstream \"https://mta-sts.one.example/x\";\n};\n"
	              "domain \"b.example\" {\n"
	              "\tupstream \"https://mta-sts.two.example/x\";\n};\n",
	              &d);
	like(d.error,
	     "test.conf:6), \"/srv/mta-sts/mta-sts.txt\", and another policy "
	     "source: each would overwrite the other's policy; use %d in "
	     "policy-file",
	     "one file, two upstreams: the first domain's place, the file, "
	     "the advice");
	conf_free(c);

	c = load_text(SHARED_OPTIONS
	              "domain \"a.example\" {\n"
	              "\tupstream \"https://mta-sts.one.example/x\"; mode "
	              "testing; mx \"backup.example.net\";\n};\n"
	              "domain \"b.example\" {\n"
	              "\tupstream \"https://mta-sts.one.example/x\"; mode "
	              "testing; mx \"backup.example.net\";\n};\n"
	              "domain \"c.example\" {\n"
	              "\tupstream \"https://mta-sts.one.example/x\"; mode "
	              "testing; mx \"backup.example.net\";\n};\n",
	              &d);
	ok(c != NULL, "one file, one upstream with the same overrides: %s",
	   d.error);
	shared_flags(c, "111",
	             "one file, one upstream: every domain is "
	             "marked as sharing its policy file");
	conf_free(c);
	c = load_text(KEY_STMT "options {\n\tkey \"k\";\n\tpolicy-file "
	                       "\"/srv/%d.txt\";\n\tmx-check off;\n};\n"
	                       "domain \"a.example\" {\n\tupstream "
	                       "\"https://mta-sts.one.example/x\";\n};\n"
	                       "domain \"b.example\" {\n\tupstream "
	                       "\"https://mta-sts.one.example/x\";\n};\n"
	                       "domain \"c.example\" {\n\tupstream "
	                       "\"https://mta-sts.one.example/x\";\n"
	                       "\tpolicy-file \"/srv/a.example.txt\";\n};\n",
	              &d);
	shared_flags(c, "101",
	             "a file named through %d and written out: its two "
	             "domains are marked, the third is not");
	conf_free(c);
	/* mode enforce possible: the MX check of one domain could not stop
	 * the other from publishing the file, unless both check none */
	fails_with(SHARED_OPTIONS
	           "domain \"a.example\" {\n"
	           "\tupstream \"https://mta-sts.one.example/x\";\n};\n"
	           "domain \"b.example\" {\n"
	           "\tupstream \"https://mta-sts.one.example/x\";\n};\n",
	           "\"/srv/mta-sts/mta-sts.txt\": the MX check of one cannot "
	           "stop the other from publishing a policy in mode enforce",
	           "one file, one upstream that may be enforce, MX checked");
	c = load_text(SHARED_OPTIONS
	              "domain \"a.example\" {\n"
	              "\tupstream \"https://mta-sts.one.example/x\"; "
	              "mx-check off;\n};\n"
	              "domain \"b.example\" {\n"
	              "\tupstream \"https://mta-sts.one.example/x\"; "
	              "mx-check off;\n};\n",
	              &d);
	ok(c != NULL, "one file, one upstream, mx-check off: %s", d.error);
	conf_free(c);
	fails_with(SHARED_OPTIONS
	           "domain \"a.example\" {\n"
	           "\tupstream \"https://mta-sts.one.example/x\";\n};\n"
	           "domain \"b.example\" {\n"
	           "\tupstream \"https://mta-sts.one.example/x\"; "
	           "max-age 86400;\n};\n",
	           "domain \"b.example\" has the policy-file of domain "
	           "\"a.example\"",
	           "one file, one upstream, other overrides");
	fails_with(
	    SHARED_OPTIONS
	    "domain \"a.example\" {\n"
	    "\tupstream \"https://mta-sts.one.example/x\"; mx \"m1.example\";"
	    " mx \"m2.example\";\n};\n"
	    "domain \"b.example\" {\n"
	    "\tupstream \"https://mta-sts.one.example/x\"; mx \"m1.example\";"
	    "\n};\n",
	    "domain \"b.example\" has the policy-file",
	    "one file, one upstream, other extra mx");

	c = load_text(SHARED_OPTIONS
	              "domain \"a.example\" {\n"
	              "\tpolicy { mode testing; mx \"mx.example.net\"; "
	              "max-age 600; };\n};\n"
	              "domain \"b.example\" {\n"
	              "\tpolicy { max-age 600; mx \"MX.example.net\"; "
	              "mode testing; };\n};\n",
	              &d);
	ok(c != NULL, "one file, the same local policy written twice: %s",
	   d.error);
	conf_free(c);
	fails_with(SHARED_OPTIONS
	           "domain \"a.example\" {\n"
	           "\tpolicy { mode testing; mx \"mx.example.net\"; "
	           "max-age 600; };\n};\n"
	           "domain \"b.example\" {\n"
	           "\tpolicy { mode enforce; mx \"mx.example.net\"; "
	           "max-age 600; };\n};\n",
	           "domain \"b.example\" has the policy-file",
	           "one file, two local policies");
	fails_with(SHARED_OPTIONS
	           "domain \"a.example\" {\n"
	           "\tpolicy { mode testing; mx \"mx.example.net\"; "
	           "max-age 600; };\n};\n"
	           "domain \"b.example\" {\n"
	           "\tupstream \"https://mta-sts.one.example/x\";\n};\n",
	           "domain \"b.example\" has the policy-file",
	           "one file, a local policy and an upstream");
	/* the same path reached through %d and written out */
	fails_with(KEY_STMT
	           "options { key \"k\"; policy-file \"/srv/%d.txt\"; "
	           "};\n"
	           "domain \"a.example\" {\n"
	           "\tupstream \"https://mta-sts.one.example/x\";\n};\n"
	           "domain \"b.example\" {\n"
	           "\tupstream \"https://mta-sts.two.example/x\";\n"
	           "\tpolicy-file \"/srv/a.example.txt\";\n};\n",
	           "test.conf:6: domain \"b.example\" has the policy-file of "
	           "domain \"a.example\" (",
	           "one file through %d and written out");
#undef SHARED_OPTIONS
}

/* Load domains d1.example, d2.example, ... each with the policy-file of
 * files[] (relative: below tmpdir), one upstream, mx-check off, and
 * check which are marked as sharing their file. */
static void
shared_paths(const char *const *files, const char *want, const char *what)
{
	struct diag d;
	struct conf *c;
	struct buf b;
	size_t i;

	buf_init(&b, CONF_MAX_SIZE);
	buf_puts(&b, KEY_STMT "options {\n\tkey \"k\";\n\tupstream "
	                      "\"https://mta-sts.one.example/x\";\n"
	                      "\tmx-check off;\n};\n");
	for (i = 0; files[i] != NULL; i++)
		buf_printf(&b,
		           "domain \"d%zu.example\" { policy-file \"%s\"; };\n",
		           i + 1, files[i]);
	c = load_text(b.data, &d);
	ok(c != NULL, "%s: loads: %s", what, d.error);
	shared_flags(c, want, what);
	conf_free(c);
	buf_free(&b);
}

/*
 * A policy file is one file however its path is written: with "//",
 * "/./" or "x/..", through a symbolic link to a directory, or below
 * directories that do not exist yet (the publish creates them); before,
 * paths were compared as strings, and such domains were not marked as
 * sharing their file, nor refused for it.
 */
static void
test_shared_policy_file_paths(void)
{
	static const char *const exist[] = {"pf/www/x/mta-sts.txt",
	                                    "pf/www//x/./mta-sts.txt",
	                                    "pf/www/nope/../x/mta-sts.txt",
	                                    "pf/link/x/mta-sts.txt",
	                                    "pf/www/x/other.txt",
	                                    "pf/www/y/mta-sts.txt",
	                                    NULL};
	static const char *const absent[] = {"pf/www/new/f.txt",
	                                     "pf/link/new/f.txt",
	                                     "pf/www/new/../new/./f.txt",
	                                     "pf/www/nope/../../www/new/f.txt",
	                                     "pf/new/f.txt",
	                                     "pf/www/newer/f.txt",
	                                     NULL};
	static const char *const above[] = {"pf/www/x/g.txt",
	                                    "pf/www/nope/../../www/x/g.txt",
	                                    "pf/link/../www/x/g.txt", NULL};
	char target[600];
	struct diag d;
	struct conf *c;

	mkdir(tpath("pf"), 0700);
	mkdir(tpath("pf/www"), 0700);
	mkdir(tpath("pf/www/x"), 0700);
	mkdir(tpath("pf/www/y"), 0700);
	if (symlink("www", tpath("pf/link")) == -1) {
		perror("symlink");
		exit(99);
	}
	shared_paths(exist, "111100",
	             "an existing directory written four ways: one file; "
	             "another name or directory: not");
	shared_paths(absent, "111100",
	             "directories not made yet, written four ways: one "
	             "file; another directory: not");
	shared_paths(above, "111",
	             "\"..\" from a directory not made yet, and through a "
	             "link: one file");
	/* the refusal names both paths */
	snprintf(target, sizeof(target), "%s", tpath("pf/www/x/mta-sts.txt"));
	c = load_text(KEY_STMT "options { key \"k\"; mx-check off; };\n"
	                       "domain \"a.example\" { upstream "
	                       "\"https://mta-sts.one.example/x\"; "
	                       "policy-file \"pf/www/x/mta-sts.txt\"; };\n"
	                       "domain \"b.example\" { upstream "
	                       "\"https://mta-sts.two.example/x\"; "
	                       "policy-file \"pf/link/x/mta-sts.txt\"; };\n",
	              &d);
	ok(c == NULL, "one file through a link, two upstreams: refused");
	like(d.error,
	     "domain \"b.example\" has the policy-file of domain "
	     "\"a.example\"",
	     "one file through a link, two upstreams: both domains named");
	like(d.error, target,
	     "one file through a link, two upstreams: the other path named");
	conf_free(c);
}

/*
 * A link that someone else than root or the running user could have put
 * on the way to a policy file (a tenant's .well-known, linked to another
 * domain's) does not make the two files one: the publish does not
 * follow it (that domain fails alone, naming it), so the configuration
 * loads. Before, the link was followed here, and the whole configuration
 * was refused for two domains with one file: one tenant stopped every
 * domain's run. The same link in a directory of root's is followed, as
 * the publish follows it: one file, refused. Giving a directory to
 * another user needs root: skipped otherwise.
 */
static void
test_shared_policy_file_tenant(void)
{
	static const char conf[] =
	    KEY_STMT "options { key \"k\"; mx-check off; };\n"
	             "domain \"a.example\" { upstream "
	             "\"https://mta-sts.one.example/x\"; "
	             "policy-file \"tn/a/wk/mta-sts.txt\"; };\n"
	             "domain \"b.example\" { upstream "
	             "\"https://mta-sts.two.example/x\"; "
	             "policy-file \"tn/b/wk/mta-sts.txt\"; };\n";
	struct diag d;
	struct conf *c;

	if (geteuid() != 0) {
		for (int i = 0; i < 4; i++)
			ok(1, "# SKIP not root: cannot give a directory away");
		return;
	}
	mkdir(tpath("tn"), 0755);
	mkdir(tpath("tn/a"), 0755);
	mkdir(tpath("tn/a/wk"), 0755);
	mkdir(tpath("tn/b"), 0755);
	if (chown(tpath("tn/b"), 65534, 65534) == -1 ||
	    symlink(tpath("tn/a/wk"), tpath("tn/b/wk")) == -1) {
		perror("tn/b");
		exit(99);
	}
	c = load_text(conf, &d);
	ok(c != NULL,
	   "a tenant's link to another domain's directory: loads (%s)",
	   d.error);
	shared_flags(c, "00",
	             "a tenant's link: neither domain is taken to share "
	             "its file");
	conf_free(c);
	if (chown(tpath("tn/b"), 0, 0) == -1)
		perror("chown");
	c = load_text(conf, &d);
	ok(c == NULL, "the same link in a directory of root's: refused");
	like(d.error,
	     "domain \"b.example\" has the policy-file of domain "
	     "\"a.example\"",
	     "the same link in a directory of root's: one file");
	conf_free(c);
}

/*
 * Domains that write the same settings share them, and what is a
 * domain's own (name, place, tls-rpt, verify-url) stays its own: a
 * domain without tls-rpt gets the options' one, a domain with other
 * settings (here another key) shares nothing with the rest.
 */
static void
test_shared(void)
{
	struct diag d;
	struct conf *c = load_text(
	    KEY_STMT
	    "key \"k2\" { algorithm hmac-sha512; secret "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"; };\n"
	    "options { key \"k\"; policy-file \"/srv/%d.txt\";\n"
	    "\tupstream \"https://u.example/p\";\n"
	    "\ttls-rpt \"mailto:o@example.net\"; };\n"
	    "domain \"a.example\" { tls-rpt \"mailto:a@a.example\"; };\n"
	    "domain \"b.example\" { };\n"
	    "domain \"c.example\" { verify-url \"https://c.example/x\";"
	    " tls-rpt \"mailto:c@c.example\"; };\n"
	    "domain \"d.example\" { key \"k2\"; };\n"
	    "domain \"e.example\" { };\n",
	    &d);
	const struct domain_conf *a, *b, *cc, *dd, *e;

	ok(c != NULL && c->ndomains == 5, "five domains: %s", d.error);
	if (c == NULL)
		return;
	a = dom(c, 0), b = dom(c, 1), cc = dom(c, 2), dd = dom(c, 3);
	e = dom(c, 4);
	/* a and c give tls-rpt (c also verify-url), d its key: a, b with e,
	 * c and d each inherit differently */
	ok(c->nshared == 4, "four sets of shared settings (%zu)", c->nshared);
	ok(a->tls_rpt.n == 1 &&
	       strcmp(a->tls_rpt.v[0], "mailto:a@a.example") == 0,
	   "own tls-rpt");
	ok(b->tls_rpt.n == 1 && e->tls_rpt.v == b->tls_rpt.v &&
	       strcmp(b->tls_rpt.v[0], "mailto:o@example.net") == 0,
	   "tls-rpt of the options when none is given");
	ok(a->has_tls_rpt && b->has_tls_rpt && dd->has_tls_rpt, "tls-rpt on");
	ok(cc->verify_url_set != NULL && a->verify_url_set == NULL &&
	       strcmp(cc->verify_url_set, "https://c.example/x") == 0,
	   "own verify-url");
	is_str(cc->name, "c.example", "name of a sharing domain");
	ok(cc->line == 8 && e->line == 10, "lines of sharing domains");
	ok(a->key == b->key && strcmp(a->key->name, "k") == 0 &&
	       strcmp(dd->key->name, "k2") == 0,
	   "a domain with its own key does not share the others' settings");
	conf_free(c);
}

/* tls-rpt: the scheme is published in lower case, the rest as written. */
static void
test_tls_rpt_scheme(void)
{
	struct diag d;
	struct conf *c =
	    load_text(KEY_STMT DOMAIN_OK
	              "\ttls-rpt \"MAILTO:TlsRpt@Example.COM?Subject=X\";\n"
	              "\ttls-rpt \"HTTPS://Reports.Example/TLS%2Crpt\";\n"
	              "\ttls-rpt \"Mailto:a@b.example\";\n};\n",
	              &d);
	const struct domain_conf *dc;

	ok(c != NULL, "tls-rpt with upper-case schemes: accepted: %s", d.error);
	if (c == NULL)
		return;
	dc = dom(c, 0);
	ok(dc->tls_rpt.n == 3, "three tls-rpt URIs");
	if (dc->tls_rpt.n == 3) {
		is_str(dc->tls_rpt.v[0], "mailto:TlsRpt@Example.COM?Subject=X",
		       "MAILTO: published as mailto:, the address as written");
		is_str(dc->tls_rpt.v[1], "https://Reports.Example/TLS%2Crpt",
		       "HTTPS: published as https:, the rest as written");
		is_str(dc->tls_rpt.v[2], "mailto:a@b.example",
		       "Mailto: published as mailto:");
	}
	conf_free(c);
}

/* Heap bytes in use (glibc's statistics), or -1 where unknown. */
static long long
heap_in_use(void)
{
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 33)
	struct mallinfo2 m = mallinfo2();

	return (long long)(m.uordblks + m.hblkhd);
#else
	return -1;
#endif
}

/*
 * A configuration of n domains as the benchmark (and a hosting operator)
 * writes it: the shared settings in options, a verify-url and a tls-rpt
 * in each domain. *own gets the bytes of every domain's own strings
 * (name, verify-url, tls-rpt URI, with their NULs).
 */
static void
scale_config(struct buf *b, size_t n, size_t *own)
{
	char name[32];
	size_t i;

	buf_init(b, CONF_MAX_SIZE);
	buf_puts(b, KEY_STMT "options {\n\tkey \"k\";\n"
	                     "\tserver 127.0.0.1 port 5300;\n"
	                     "\tca-file \"/srv/lab/https/ca.pem\";\n"
	                     "\tresolve \"*:8443:127.0.0.1\";\n"
	                     "\tupstream \"https://mta-sts.upstream.test:8443/"
	                     ".well-known/mta-sts.txt\";\n"
	                     "\tpolicy-file \"/srv/www/mta-sts.%d/.well-known/"
	                     "mta-sts.txt\";\n"
	                     "\ttimeout 10;\n\tverify-timeout 5;\n};\n");
	*own = 0;
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "d%05zu.bench.test", i);
		buf_printf(b,
		           "domain \"%s\" {\n\tverify-url \"https://mta-sts.%s:"
		           "8443/.well-known/mta-sts.txt\";\n"
		           "\ttls-rpt \"mailto:tlsrpt@%s\";\n};\n",
		           name, name, name);
		*own +=
		    3 * strlen(name) + 3 +
		    strlen("https://mta-sts.:8443/.well-known/mta-sts.txt") +
		    strlen("mailto:tlsrpt@");
	}
}

/*
 * Thousands of domains: a value given once in options is stored once and
 * shared by every domain, each domain keeps its own values, and the heap
 * the configuration keeps per domain, beyond the domain's own strings,
 * is bounded: about 730 bytes when every domain had copies, 250 with a
 * full domain_conf each, and now its entry and its tls-rpt list.
 */
#define SCALE_N 2000
#define SCALE_BYTES_MAX 80

/*
 * A device or a FIFO named as a configuration or an include is refused
 * as "not a regular file" without being opened (only looked at, O_PATH):
 * an open may act on a device (a tape's rewind, a watchdog's start).
 * Before, the walk opened it O_RDONLY, then the reader refused it.
 */
static void
test_device_not_opened(void)
{
	struct diag d;
	struct conf *c;

	open_watch = "null";
	opened_watched = 0;
	diag_init(&d);
	c = conf_load("/dev/null", &d);
	ok(c == NULL && strstr(d.error, "not a regular file") != NULL,
	   "/dev/null as the configuration: not a regular file (%s)", d.error);
	ok(opened_watched == 0, "... not opened, only looked at (%d opens)",
	   opened_watched);
	open_watch = NULL;
	conf_free(c);
}

/* Thousands of domains publishing one file (one document root for every
 * policy host) from one upstream load; one more with another upstream is
 * refused, naming the first. */
static void
test_scale_one_file(void)
{
	struct conf *c;
	struct diag d;
	struct buf b;
	size_t i;

	buf_init(&b, CONF_MAX_SIZE);
	buf_puts(&b, KEY_STMT "options {\n\tkey \"k\";\n"
	                      "\tupstream \"https://u.example/p\";\n"
	                      "\tmx-check off;\n"
	                      "\tpolicy-file \"/srv/www/mta-sts.txt\";\n};\n");
	for (i = 1; i <= SCALE_N; i++)
		buf_printf(&b, "domain \"d%05zu.bench.test\" { };\n", i);
	diag_init(&d);
	c = conf_parse("one.conf", b.data, b.len, &d);
	ok(c != NULL, "%d domains, one file, one upstream: %s", SCALE_N,
	   d.error);
	conf_free(c);
	buf_printf(&b, "domain \"other.test\" { upstream "
	               "\"https://v.example/p\"; };\n");
	c = conf_parse("one.conf", b.data, b.len, &d);
	ok(c == NULL, "and one more with another upstream: refused");
	like(d.error,
	     "one.conf:2008: domain \"other.test\" has the policy-file of "
	     "domain \"d00001.bench.test\" (one.conf:8)",
	     "and one more with another upstream: the first place");
	conf_free(c);
	buf_free(&b);
}

static void
test_scale(void)
{
	const struct domain_conf *a, *z;
	long long before, after, extra;
	struct conf *c;
	struct diag d;
	struct buf b;
	size_t own, i;

	scale_config(&b, SCALE_N, &own);
	diag_init(&d);
	before = heap_in_use();
	c = conf_parse("scale.conf", b.data, b.len, &d);
	after = heap_in_use();
	ok(c != NULL && c->ndomains == SCALE_N, "%d domains: %s", SCALE_N,
	   d.error);
	ok(d.nwarn == 0, "a verify-url of each domain's own: no warning (%s)",
	   d.nwarn > 0 ? d.warn[0] : "");
	if (c == NULL) {
		buf_free(&b);
		return;
	}
	a = dom(c, 0);
	z = dom(c, SCALE_N - 1);
	ok(a->upstream == z->upstream && a->server == z->server &&
	       a->ca_file == z->ca_file && a->resolve.v == z->resolve.v &&
	       a->key == z->key,
	   "options values shared, not copied");
	ok(z->timeout == 10 && z->verify_timeout == 5 && z->port == 5300 &&
	       z->resolve.n == 1 && z->verify && z->has_tls_rpt,
	   "options values inherited");
	is_made(conf_policy_file, z,
	        "/srv/www/mta-sts.d02000.bench.test/.well-known/mta-sts.txt",
	        "policy-file expanded per domain");
	is_made(
	    conf_verify_url, z,
	    "https://mta-sts.d02000.bench.test:8443/.well-known/mta-sts.txt",
	    "verify-url of the domain");
	ok(z->tls_rpt.n == 1 &&
	       strcmp(z->tls_rpt.v[0], "mailto:tlsrpt@d02000.bench.test") == 0,
	   "tls-rpt of the domain");
	ok(conf_find_domain(c, "D01234.bench.test.", &i) == 0 && i == 1233,
	   "conf_find_domain among many");
	extra = (after - before - (long long)own) / SCALE_N;
	if (before < 0 || after - before < (long long)own)
		ok(1, "heap per domain # SKIP no heap statistics here "
		      "(sanitizer or valgrind)");
	else
		ok(extra <= SCALE_BYTES_MAX,
		   "heap per domain beyond its own strings: %lld bytes "
		   "(at most %d)",
		   extra, SCALE_BYTES_MAX);
	conf_free(c);
	buf_printf(&b, "domain \"d01999.bench.test\" { };\n");
	c = conf_parse("scale.conf", b.data, b.len, &d);
	ok(c == NULL, "duplicate among many: refused");
	like(d.error, "scale.conf:", "duplicate among many: message");
	like(d.error,
	     "duplicate domain \"d01999.bench.test\" (first at "
	     "scale.conf:",
	     "duplicate among many: first place");
	conf_free(c);
	buf_free(&b);
	test_scale_one_file();
}

static void
test_includes(void)
{
	struct diag d;
	struct conf *c;
	char name[64], text[128];
	int i;

	mkdir(tpath("sub"), 0700);
	write_file("sub/key.conf", KEY_STMT "include \"dom.conf\";\n", 0600);
	write_file("sub/dom.conf", DOMAIN_OK "};\n", 0600);
	c = load_text("include \"sub/key.conf\";\n", &d);
	ok(c != NULL && c->ndomains == 1,
	   "nested includes relative to each file: %s", d.error);
	if (c != NULL)
		like(dom(c, 0)->file, "sub/dom.conf", "domain file name");
	conf_free(c);

	write_file("sub/in-block.conf", "ttl 77;\n", 0600);
	c = load_text(KEY_STMT DOMAIN_OK "include \"sub/in-block.conf\";\n};\n",
	              &d);
	ok(c != NULL && dom(c, 0)->ttl == 77,
	   "include inside a domain block: %s", d.error);
	conf_free(c);

	write_file("loop-a.conf", "include \"loop-b.conf\";\n", 0600);
	write_file("loop-b.conf", "\ninclude \"loop-a.conf\";\n", 0600);
	fails_with("include \"loop-a.conf\";\n",
	           "loop-b.conf:2: include loop: \"", "include loop");
	fails_with("include \"test.conf\";\n", "include loop",
	           "file including itself");
	fails_with("\n\ninclude \"nonexistent.conf\";\n",
	           "test.conf:3: cannot read include \"", "missing include");
	fails_with("include \"sub\";\n", "not a regular file",
	           "include of a directory");
	mkfifo(tpath("fifo.conf"), 0600);
	open_watch = "fifo.conf";
	opened_watched = 0;
	fails_with("include \"fifo.conf\";\n", "not a regular file",
	           "include of a FIFO (does not block)");
	ok(opened_watched == 0, "... not opened, only looked at (%d opens)",
	   opened_watched);
	test_device_not_opened();
	for (i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "deep%d.conf", i);
		snprintf(text, sizeof(text), "include \"deep%d.conf\";\n",
		         i + 1);
		write_file(name, text, 0600);
	}
	fails_with("include \"deep0.conf\";\n", "include nesting too deep",
	           "include depth limit");

	diag_init(&d);
	c = conf_parse_flags("mem.conf", "include \"/etc/passwd\";\n", 23,
	                     CONF_NO_FILES, &d);
	ok(c == NULL, "CONF_NO_FILES refuses include");
	like(d.error, "mem.conf:1: include is not allowed here",
	     "no-files message");
}

/* conf->where of the shared settings of domain i of c. */
static const struct conf_where *
where_of(const struct conf *c, size_t i)
{
	size_t k;

	for (k = 0; k < c->nshared; k++) {
		struct domain_conf *d = dom(c, i);

		if (d->publish_cmd.v == c->shared[k].publish_cmd.v &&
		    d->ca_file == c->shared[k].ca_file &&
		    d->ttl == c->shared[k].ttl)
			return &c->where[k];
	}
	return NULL;
}

/* Where publish-command and ca-file are written is kept for the run's
 * checks of them: in options, in a domain, in an included file. */
static void
test_where(void)
{
	const struct conf_where *w;
	struct diag d;
	struct conf *c;

	write_file("cmd.inc", "\n\tpublish-command \"deploy\" \"%f\";\n", 0600);
	c = load_text(KEY_STMT
	              "options {\n\tca-file \"ca.pem\";\n"
	              "\tpublish-command \"opt-deploy\";\n};\n" DOMAIN_OK "};\n"
	              "domain \"b.example\" {\n\tupstream "
	              "\"https://x.example/\";\n\tkey \"k\";\n"
	              "\tpolicy-file \"/p/%d\";\n"
	              "\tinclude \"cmd.inc\";\n\tttl 5;\n};\n",
	              &d);
	ok(c != NULL && c->ndomains == 2, "where: loads: %s", d.error);
	if (c == NULL)
		return;
	w = where_of(c, 0);
	ok(w != NULL && w->cmd_line == 4 && w->ca_line == 3 &&
	       strcmp(w->cmd_file, tpath("test.conf")) == 0 &&
	       strcmp(w->ca_file, tpath("test.conf")) == 0,
	   "where: both inherited from options: their lines");
	w = where_of(c, 1);
	ok(w != NULL && w->cmd_line == 2 && w->ca_line == 3 &&
	       strcmp(w->cmd_file, tpath("cmd.inc")) == 0,
	   "where: a publish-command in an included file: its file and line");
	conf_free(c);
}

static void
test_comments(void)
{
	struct diag d;
	struct conf *c;

	c = load_text(
	    "# hash\n// slashes\n/* c\n comment */ " KEY_STMT DOMAIN_OK
	    "\tttl /* inline */ 5; # end\n"
	    "\tmx-check warn; // end\n};\n",
	    &d);
	ok(c != NULL && dom(c, 0)->ttl == 5 &&
	       dom(c, 0)->mx_check == MX_CHECK_WARN,
	   "three kinds of comments: %s", d.error);
	conf_free(c);
	fails_with("/* one\n two\n three */\n# four\n// five\nbogus;\n",
	           "test.conf:6: unknown statement 'bogus'",
	           "line numbers count comment lines");
	/* a "//" comment right after a word, without a space: the word
	 * ends there, but is not quoted if base64 follows (a secret's "//") */
	c = load_text(KEY_STMT DOMAIN_OK "\tttl 300//60\n;\n};\n", &d);
	ok(c != NULL && dom(c, 0)->ttl == 300,
	   "a // comment right after a word ends it: %s", d.error);
	conf_free(c);
	fails_with(
	    "bogus//comment\n;\n",
	    "test.conf:1: expected a statement (include, key, options or "
	    "domain), found a word that is no statement name (not "
	    "shown: it may be a secret)",
	    "a word cut by // before base64 is not quoted");
	fails_with("bogus// comment\n;\n",
	           "test.conf:1: unknown statement 'bogus'",
	           "a word before a // comment that is not base64 is quoted");
	fails_with("options { ttl x1//y2\n; };\n",
	           "test.conf:1: ttl: expected a number from 0 to 2147483647, "
	           "found a value not shown",
	           "a value cut by // before base64 is not quoted");
	/* out of place, a URL or a path is quoted; a secret never */
	fails_with("options { upstream \"https://a.example/p\" "
	           "\"https://b.example/p\"; };\n",
	           "test.conf:1: missing ';' after 'upstream "
	           "\"https://a.example/p\"' (found \"https://b.example/p\")",
	           "a URL out of place is quoted");
	fails_with("options { policy-file \"/srv/%d.txt\" \"/var/%d\"; };\n",
	           "found \"/var/%d\"", "a path out of place is quoted");
	fails_with(
	    "options { policy-file \"/srv/%d.txt\" "
	    "\"/var/fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=\"; };\n",
	    "found a quoted string not shown (it may be a TSIG secret)",
	    "a secret out of place is not");
	/* a name whose _smtp._tls or _mta-sts name would be too long */
	{
		char text[1024], name[256];

		/* 4 labels of 60 and "a.bc": 246 characters */
		snprintf(name, sizeof(name), "%s.%s.%s.%s.a.bc", LONG_LABEL,
		         LONG_LABEL, LONG_LABEL, LONG_LABEL);
		snprintf(text, sizeof(text),
		         "domain \"%s\" { upstream \"https://u.example/p\"; "
		         "policy-file \"/p/%%d\"; key-file \"k\"; };\n",
		         name);
		fails_with(text, "is too long: _mta-sts.", "domain too long");
		/* 243: fits _mta-sts, not _smtp._tls */
		snprintf(name, sizeof(name), "%s.%s.%s.%s", LONG_LABEL,
		         LONG_LABEL, LONG_LABEL, LONG_LABEL);
		snprintf(text, sizeof(text),
		         "domain \"%s\" { upstream \"https://u.example/p\"; "
		         "tls-rpt \"mailto:r@example.com\"; "
		         "policy-file \"/p/%%d\"; key-file \"k\"; };\n",
		         name);
		fails_with(text, "is too long: _smtp._tls.",
		           "domain too long for its TLS-RPT record");
	}
	fails_with("domain \"b\xc3\xbc"
	           "cher.example\" { };\n",
	           "is not a valid domain name (write an internationalized "
	           "name in its xn-- A-label form, as idn2 prints it)",
	           "a domain in U-labels");
	/* the update-policy hint of plain ddns-confgen, included */
	fails_with("key \"k\" { algorithm hmac-sha256; secret "
	           "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"; };\n"
	           "update-policy { grant k name x. ANY; };\n",
	           "test.conf:2: update-policy belongs in named.conf, not "
	           "here (plain ddns-confgen prints one: write the key with "
	           "tsig-keygen or ddns-confgen -q)",
	           "ddns-confgen's update-policy in the configuration");
}

/* Parse the len bytes of text (which may hold NUL bytes) as mem.conf:
 * must fail with want in the error. */
static void
bytes_fail(const char *text, size_t len, const char *want, const char *what)
{
	struct diag d;
	struct conf *c;

	diag_init(&d);
	c = conf_parse("mem.conf", text, len, &d);
	ok(c == NULL, "%s: refused", what);
	like(d.error, want, "%s: message", what);
	conf_free(c);
}

/* A string literal and its length (it may hold NUL bytes). */
#define BYTES(s) s, sizeof(s) - 1

/* Bytes the files may not hold: each is named where it is. */
static void
test_bytes(void)
{
	static const char esc_nul[] = "domain \"a.example\" { policy-file "
	                              "\"/tmp/au\\\0dit/a\"; };\n";
	static const char key_nul[] = "key \"k\" { algorithm hmac-sha256; "
	                              "secret \"\\\0AAAA\"; };\n";
	struct tsig_key key;
	struct diag d;

	bytes_fail(esc_nul, sizeof(esc_nul) - 1,
	           "mem.conf:1: NUL byte in string",
	           "a backslash and a NUL byte in a string");
	bytes_fail(key_nul, sizeof(key_nul) - 1,
	           "mem.conf:1: NUL byte in string",
	           "a backslash and a NUL byte in a secret");
	diag_init(&d);
	ok(keyfile_parse("k.key", key_nul, sizeof(key_nul) - 1, NULL, &key,
	                 &d) == -1,
	   "key file: a backslash and a NUL byte in a secret refused");
	like(d.error, "k.key:1: NUL byte in string", "key file: message");
	{
		/* a secret without its quotes, cut by the lexer at its "//":
		 * the part before is not quoted (it was: 'abcdefg') */
		static const char cut[] = "key \"k\" { algorithm hmac-sha256; "
		                          "abcdefg//8yxurfd013QPShViyhOHUvSVvoe"
		                          "v2E=; };\n";

		diag_init(&d);
		ok(keyfile_parse("k.key", cut, sizeof(cut) - 1, NULL, &key,
		                 &d) == -1 &&
		       strstr(d.error, "abcdefg") == NULL &&
		       strstr(d.error, "no setting name") != NULL,
		   "key file: a secret cut at its // is not quoted (%s)",
		   d.error);
	}

	/* a UTF-8 byte-order mark, other bytes outside strings: named */
	bytes_fail(BYTES("\xEF\xBB\xBFoptions { ttl 5; };\n"),
	           "mem.conf:1: unexpected bytes EF BB BF, a UTF-8 byte-order "
	           "mark: save the file without it",
	           "a byte-order mark");
	bytes_fail(BYTES("options {\n\tttl\xC2\xA0"
	                 "5; };\n"),
	           "mem.conf:2: unexpected byte 0xC2, which is not ASCII: "
	           "outside quoted strings only ASCII is allowed",
	           "a no-break space");
	bytes_fail(BYTES("domain b\xC3\xBC"
	                 "cher.example { };\n"),
	           "mem.conf:1: unexpected byte 0xC3, which is not ASCII: "
	           "outside quoted strings only ASCII is allowed (write an "
	           "internationalized name in its xn-- A-label form)",
	           "an unquoted U-label");
	bytes_fail(BYTES("options { ttl\x01 5; };\n"),
	           "mem.conf:1: unexpected control character 0x01",
	           "a control character");
	{
		static const char *const keys[] = {
		    "\xEF\xBB\xBFkey \"k\" { algorithm hmac-sha256; secret "
		    "\"c2VjcmV0\"; };\n",
		    "\xEF\xBB\xBFkey:\n  - id: k\n    algorithm: hmac-sha256\n"
		    "    secret: c2VjcmV0\n",
		    "\xEF\xBB\xBF# hmac-sha256:k:c2VjcmV0\nkey:\n  - id: k\n"
		    "    algorithm: hmac-sha256\n    secret: c2VjcmV0\n",
		    "\xEF\xBB\xBFk:c2VjcmV0\n",
		};
		size_t i;

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			diag_init(&d);
			ok(keyfile_parse("k.key", keys[i], strlen(keys[i]),
			                 NULL, &key, &d) == -1,
			   "key file %zu with a byte-order mark: refused", i);
			is_str(d.error,
			       "k.key:1: the file starts with bytes EF BB BF, "
			       "a UTF-8 byte-order mark: save it without one",
			       "key file %zu with a byte-order mark: said", i);
		}
		write_file("bom.key", keys[1], 0600);
		fails_with("options {\n\tkey-file \"bom.key\";\n\tpolicy-file "
		           "\"/p/%d\";\n};\ndomain \"a.example\" { upstream "
		           "\"https://u.example/\"; };\n",
		           "bom.key:1: the file starts with bytes EF BB BF, a "
		           "UTF-8 byte-order mark: save it without one",
		           "a key-file with a byte-order mark");
	}
}

/* A configuration of example.com whose policy-file is path (a buf of
 * text), loaded; NULL with the reason in d. */
static struct conf *
load_policy_file(const char *path, struct diag *d)
{
	struct buf text;
	struct conf *c;

	buf_init(&text, 65536);
	buf_printf(&text,
	           KEY_STMT "domain \"example.com\" {\n"
	                    "\tupstream \"https://x.example/\";\n"
	                    "\tkey \"k\";\n\tpolicy-file \"%s\";\n};\n",
	           path);
	c = load_text(text.data, d);
	buf_free(&text);
	return c;
}

/* "/p/" and parts of part bytes of 'x', each followed by "/", up to
 * len bytes, then a file name of name bytes, into b (reset first). */
static void
long_path(struct buf *b, size_t len, size_t part, size_t name)
{
	buf_reset(b);
	buf_puts(b, "/p/");
	while (b->len + name < len) {
		size_t n = len - name - b->len - 1;

		for (size_t i = 0; i < (n < part ? n : part); i++)
			buf_puts(b, "x");
		buf_puts(b, "/");
	}
	for (size_t i = 0; i < name; i++)
		buf_puts(b, "m");
}

/* A policy-file built by long_path(), and what its load says (NULL: it
 * loads). */
struct long_path_case {
	size_t len, part, name;
	const char *want, *what;
};

static const struct long_path_case long_paths[] = {
    {4084, 200, 200, NULL, "a path of 4084 bytes"},
    {4085, 200, 200,
     "domain \"example.com\": policy-file longer than 4084 bytes once %d "
     "is expanded (the temporary file beside it adds 11, and a path may "
     "have 4095)",
     "a path of 4085 bytes"},
    {300, 200, 244, NULL, "a file name of 244 bytes"},
    {300, 200, 245,
     "domain \"example.com\": policy-file names a file longer than 244 "
     "bytes once %d is expanded (the temporary file beside it adds 11, and "
     "a name may have 255)",
     "a file name of 245 bytes"},
    {600, 255, 10, NULL, "directory names of 255 bytes"},
    {600, 256, 10,
     "domain \"example.com\": policy-file has a directory name longer "
     "than 255 bytes once %d is expanded",
     "a directory name of 256 bytes"},
};

/* The configuration of case t loads, or fails saying t->want. */
static void
long_path_loads(const struct long_path_case *t)
{
	struct buf path;
	struct conf *c;
	struct diag d;

	buf_init(&path, 65536);
	long_path(&path, t->len, t->part, t->name);
	c = load_policy_file(path.data, &d);
	if (t->want == NULL)
		ok(c != NULL && path.len == t->len, "%s: loads (%zu bytes; %s)",
		   t->what, path.len, d.error);
	else
		like(d.error, t->want, "%s: refused (%zu bytes)", t->what,
		     path.len);
	conf_free(c);
	buf_free(&path);
}

/*
 * A policy-file is refused when the configuration is loaded if a publish
 * could not write it, naming the limit: longer than 4084 bytes once %d is
 * expanded, a file name longer than 244 or a directory name longer than
 * 255 (the temporary file beside it adds 11 bytes to the path and the
 * name). Before, up to 16383 bytes loaded, and the publish failed each
 * run ("not a usable file name" above 4 KiB, "File name too long").
 */
static void
test_long_expansion(void)
{
	struct buf path;
	struct conf *c;
	struct diag d;

	buf_init(&path, 65536);
	buf_puts(&path, "/p/");
	for (int i = 0; i < 400; i++)
		buf_puts(&path, "%d");
	c = load_policy_file(path.data, &d);
	ok(c == NULL, "policy-file too long once expanded: refused");
	like(d.error,
	     "domain \"example.com\": policy-file longer than 4084 bytes "
	     "once %d is expanded",
	     "policy-file too long once expanded: message");
	conf_free(c);
	buf_free(&path);
	for (size_t i = 0; i < sizeof(long_paths) / sizeof(long_paths[0]); i++)
		long_path_loads(&long_paths[i]);
}

/* A policy-file that names a directory ("dir/", "dir/.", "dir/..") is
 * refused at its line (before, it loaded, and each run said "not a
 * regular file, so not a policy file" of whatever was there). */
static void
test_policy_file_dir(void)
{
	const char *const dirs[] = {"/p/%d/.well-known/", "/p/%d/.",
	                            "/p/%d/.."};
	struct conf *c;
	struct diag d;
	char want[256];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		c = load_policy_file(dirs[i], &d);
		ok(c == NULL, "policy-file %s: refused", dirs[i]);
		snprintf(want, sizeof(want),
		         "test.conf:5: policy-file \"%s\" names a directory, "
		         "not a file: name the file in it "
		         "(.../.well-known/mta-sts.txt)",
		         dirs[i]);
		like(d.error, want, "policy-file %s: said so", dirs[i]);
		conf_free(c);
	}
}

/* An unknown setting near a known one gets a "did you mean"; one far
 * from every name does not. */
static void
test_did_you_mean(void)
{
	struct diag d;
	struct conf *c;

	fails_with("options {\n\ttlsrpt \"mailto:a@example.com\";\n};\n",
	           "test.conf:2: unknown setting 'tlsrpt' in options; did you "
	           "mean 'tls-rpt'?",
	           "did you mean: a missing '-'");
	fails_with("options {\n\tverify-timout 5;\n};\n",
	           "unknown setting 'verify-timout' in options; did you mean "
	           "'verify-timeout'?",
	           "did you mean: a missing letter");
	fails_with(KEY_STMT DOMAIN_OK "\tcafile \"/etc/ca.pem\";\n};\n",
	           "unknown setting 'cafile' in domain \"example.com\"; did "
	           "you mean 'ca-file'?",
	           "did you mean: in a domain");
	fails_with("key \"k\" {\n\talgorithm hmac-sha256;\n\tsecrte "
	           "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\";\n};\n",
	           "test.conf:3: unknown setting 'secrte' in key \"k\"; did "
	           "you mean 'secret'?",
	           "did you mean: in a key block");
	fails_with("domian \"example.com\" { };\n",
	           "test.conf:1: unknown statement 'domian' (expected include, "
	           "key, options or domain); did you mean 'domain'?",
	           "did you mean: a top-level statement");
	fails_hiding("options {\n\tsecret "
	             "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\";\n};\n",
	             "test.conf:2: 'secret' belongs in a key statement (key "
	             "\"name\" { algorithm ...; secret \"...\"; };), or in a "
	             "key file named with key-file, not in options",
	             "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	             "a secret in options: where it belongs, not shown");
	fails_with(KEY_STMT DOMAIN_OK "\talgorithm hmac-sha256;\n};\n",
	           "'algorithm' belongs in a key statement (key \"name\" { "
	           "algorithm ...; secret \"...\"; };), or in a key file named "
	           "with key-file, not in domain \"example.com\"",
	           "an algorithm in a domain: where it belongs");
	c = load_text("options {\n\tbogus yes;\n\ttl 5;\n};\n", &d);
	ok(c == NULL && strstr(d.error, "did you mean") == NULL,
	   "did you mean: none for a word far from every setting");
	conf_free(c);
	c = load_text("options {\n\ttl 5;\n};\n", &d);
	ok(c == NULL && strstr(d.error, "did you mean") == NULL,
	   "did you mean: none for a word of two letters ('tl')");
	conf_free(c);
}

/* A missing ';' is reported on the line of what it should end, the
 * value quoted with its setting's name. */
static void
test_missing_semi(void)
{
	fails_with("options {\n\ttimeout 5\n\tverify-timeout 9;\n};\n",
	           "test.conf:2: missing ';' after 'timeout 5' (found "
	           "'verify-timeout')",
	           "missing ';': the line of the setting it ends");
	fails_with("options {\n\tupstream \"https://a.example/p\"\n\n"
	           "\ttls-rpt \"mailto:a@example.com\";\n};\n",
	           "test.conf:2: missing ';' after 'upstream "
	           "\"https://a.example/p\"' (found 'tls-rpt')",
	           "missing ';': a string value, a blank line between");
	fails_with("options {\n\tpolicy-file \"/srv/my dir/%d.txt\"\n"
	           "\ttimeout 5;\n};\n",
	           "test.conf:2: missing ';' after 'policy-file \"/srv/my "
	           "dir/%d.txt\"' (found 'timeout')",
	           "missing ';': a string value is quoted as it is written");
	fails_with(KEY_STMT DOMAIN_OK
	           "\tpublish-command \"/bin/true\"\n\t\t\"%d\"\n};\n",
	           "test.conf:7: missing ';' after the arguments of "
	           "'publish-command' (found '}')",
	           "missing ';': after publish-command's last argument");
	fails_with(KEY_STMT DOMAIN_OK "\tpolicy { mode testing; }\n};\n",
	           "test.conf:6: missing ';' after the '}' of policy { } "
	           "(found '}')",
	           "missing ';': after policy { }");
}

static void
test_errors(void)
{
	fails_with(KEY_STMT DOMAIN_OK
	           "\tupstreams \"https://x.example/\";\n};\n",
	           "test.conf:6: unknown setting 'upstreams' in domain "
	           "\"example.com\"",
	           "unknown setting");
	fails_with("options {\n\tbogus yes;\n};\n",
	           "test.conf:2: unknown setting 'bogus' in options",
	           "unknown setting in options");
	fails_with(
	    KEY_STMT DOMAIN_OK "\tpolicy { mode testing; age 1; };\n};\n",
	    "unknown setting 'age' in policy { }", "unknown setting in policy");
	fails_with(KEY_STMT DOMAIN_OK "\tttl 1;\n\tttl 2;\n};\n",
	           "test.conf:7: duplicate setting 'ttl' in domain "
	           "\"example.com\" (first at ",
	           "duplicate setting");
	fails_with("domain \"example.com\" { policy { mode testing; "
	           "mode none; }; };\n",
	           "duplicate setting 'mode' in policy { }",
	           "duplicate in policy");
	fails_with(KEY_STMT DOMAIN_OK "};\n" DOMAIN_OK "};\n",
	           "test.conf:7: duplicate domain \"example.com\" (first at ",
	           "duplicate domain");
	fails_with(KEY_STMT DOMAIN_OK "\tttl 5\n};\n",
	           "test.conf:6: missing ';' after 'ttl 5' (found '}')",
	           "missing semicolon");
	fails_with(KEY_STMT DOMAIN_OK "}\n", "missing ';' after '}' (found",
	           "missing semicolon after block");
	fails_with("domain \"example.com\" {\n\tupstream "
	           "\"https://x.example/\";\n\tpolicy-file \"/p\";\n};\n",
	           "test.conf:1: domain \"example.com\" has no key: set key "
	           "or key-file in the domain or in options",
	           "missing key");
	fails_with(KEY_STMT "domain \"example.com\" {\n\tupstream "
	                    "\"https://x.example/\";\n\tkey \"k\";\n};\n",
	           "domain \"example.com\" has no policy-file",
	           "missing policy-file");
	fails_with(KEY_STMT DOMAIN_OK "\tpolicy { mode testing; mx "
	                              "\"m.example\"; max-age 5; };\n};\n",
	           "upstream and policy { } are mutually exclusive",
	           "policy and upstream");
	fails_with("domain \"example.com\" {\n\tpolicy { mode enforce; "
	           "max-age 86400; };\n};\n",
	           "policy { }: ", "local policy without mx");
	fails_with("domain \"example.com\" {\n\tpolicy { mode testing; "
	           "mx \"m.example\"; };\n};\n",
	           "test.conf:2: policy { } needs a max-age (RFC 8461 "
	           "section 3.2)",
	           "local policy without max-age");
	fails_with("domain \"example.com\" {\n\tmx \"bad..name\";\n};\n",
	           "mx \"bad..name\"", "bad mx override");
	fails_with("domain \"example.com\" { server 999.1.1.1; };\n",
	           "server: expected an IP address or host name", "bad server");
	fails_with("domain \"example.com\" { server 192.0.2.1 prot 53; };\n",
	           "expected 'port' or ';' after server address",
	           "server with a typo");
	/* ADDR#PORT as dig and nsupdate write it: '#' starts a comment */
	fails_with("domain \"example.com\" {\n\tserver 127.0.0.1#5353;\n};\n",
	           "test.conf:2: server: a port is not written after the "
	           "address with '#' (here '#' starts a comment); write: "
	           "server 127.0.0.1 port 5353;",
	           "server ADDR#PORT");
	fails_with("domain \"example.com\" { server ::1#5353; };\n",
	           "write: server ::1 port 5353;", "server IPv6#PORT");
	fails_with("domain \"example.com\" { server \"192.0.2.1#53\"; };\n",
	           "with '#'; write: server 192.0.2.1 port 53;",
	           "server \"ADDR#PORT\"");
	fails_with("domain \"example.com\" { server ns1.example.com:5300; };\n",
	           "with ':'; write: server ns1.example.com port 5300;",
	           "server NAME:PORT");
	fails_with("domain \"example.com\" { resolver 127.0.0.1#53; };\n",
	           "write: resolver 127.0.0.1 port 53;", "resolver ADDR#PORT");
	/* an IPv6 address in brackets, as in a URL */
	fails_with("domain \"example.com\" {\n\tserver [::1]:5353;\n};\n",
	           "test.conf:2: server: an IPv6 address is written without "
	           "brackets, and a port with 'port'; write: server ::1 port "
	           "5353;",
	           "server [IPv6]:PORT");
	fails_with(
	    "domain \"example.com\" { server \"[2001:db8::53]:53\"; };\n",
	    "write: server 2001:db8::53 port 53;", "server \"[IPv6]:PORT\"");
	fails_with("domain \"example.com\" { server [::1]#5353; };\n",
	           "write: server ::1 port 5353;", "server [IPv6]#PORT");
	fails_with("domain \"example.com\" { resolver [::1]; };\n",
	           "resolver: an IPv6 address is written without brackets; "
	           "write: resolver ::1;",
	           "resolver [IPv6]");
	fails_with("domain \"example.com\" { zone \"-bad.example\"; };\n",
	           "zone: '-bad.example' is not a valid domain name",
	           "bad zone");
	fails_with("domain \"example.com\" { policy-file \"/p/%\"; };\n",
	           "policy-file: only %d", "lone percent");
	fails_with(
	    "domain \"example.com\" {\n\tpublish-command \"deploy\" "
	    "\"%d\"\n\t\t\"+%Y\";\n};\n",
	    "test.conf:3: publish-command: argument 2 '+%Y' holds '%Y': only "
	    "%d (the domain), %f (the policy file) and %% may follow '%' "
	    "(write a % the command must get as %%)",
	    "publish-command with another % sequence: the argument named");
	fails_with(
	    "domain \"example.com\" { publish-command \"sh\" \"-c\" "
	    "\"git commit -m \\\"$(date +%s)\\\"\" \"%f\"; };\n",
	    "test.conf:1: publish-command: argument 2 'git commit -m "
	    "\\x22$(date +%s)\\x22' holds '%s': only %d",
	    "publish-command %s: the argument named, its quotes escaped");
	fails_with("domain \"example.com\" { publish-command \"/bin/%x\"; };\n",
	           "test.conf:1: publish-command: the program '/bin/%x' holds "
	           "'%x'",
	           "publish-command %x in the program");
	fails_with(
	    "domain \"example.com\" { publish-command \"x\" \"a%\"; };\n",
	    "test.conf:1: publish-command: argument 1 'a%' holds '%': "
	    "only %d",
	    "publish-command: a '%' at the end");
	fails_hiding(
	    "domain \"example.com\" { publish-command \"x\" "
	    "\"fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=%Y\"; };\n",
	    "test.conf:1: publish-command: argument 1 holds '%Y': only "
	    "%d",
	    "fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=",
	    "publish-command: an argument like a secret is not named");
	write_file("cmd.inc", "\n\npublish-command \"date\" \"+%Y\";\n", 0600);
	fails_with("domain \"example.com\" {\n\tinclude \"cmd.inc\";\n};\n",
	           "cmd.inc:3: publish-command: argument 1 '+%Y' holds '%Y'",
	           "publish-command %Y in an included file: its file:line");
	test_long_expansion();
	test_policy_file_dir();
	fails_with(KEY_STMT DOMAIN_OK "\tzone \"example.org\";\n};\n",
	           "test.conf:2: domain \"example.com\" is not in zone "
	           "\"example.org\": its _mta-sts and _smtp._tls records must "
	           "be (or its _mta-sts record alone, in a zone of its own, "
	           "\"_mta-sts.example.com\"); fix the zone, or leave it out "
	           "to have it found",
	           "zone the domain is not in");
	fails_with(KEY_STMT "options { zone \"ample.com\"; };\n" DOMAIN_OK
	                    "};\n",
	           "domain \"example.com\" is not in zone \"ample.com\"",
	           "zone from options, a suffix but not a parent");
	fails_with("domain \"example.com\" { key-file; };\n",
	           "expected a value after 'key-file', found ';'",
	           "missing value");
	fails_with(
	    "domain \"example.com\" { tls-rpt \"http://r.example/\"; };\n",
	    "tls-rpt \"http://r.example/\"", "http tls-rpt");
	fails_with("domain \"example.com\" { resolve \"h:0:127.0.0.1\"; };\n",
	           "resolve: expected", "resolve port 0");
	fails_with("domain \"example.com\" { resolve \"h:443:nohost\"; };\n",
	           "resolve: expected", "resolve without an address");
	fails_with("domain \"_x.example.com\" { };\n",
	           "is not a valid domain name", "domain with an underscore");
	fails_with("domain \"xn--bcher-kva.example\u00e9\" { };\n",
	           "is not a valid domain name", "domain not in A-labels");
	fails_with("domain \"a\tb\" { };\n", "is not a valid domain name",
	           "domain with a tab");
	fails_with("domain \"example.com\" { upstream \"unterminated; };\n",
	           "unterminated string", "unterminated string");
}

/* One resolve entry in a domain, for test_resolve_entries(). */
static void
resolve_fails(const char *entry, const char *want, const char *what)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s\tresolve \"%s\";\n};\n",
	         KEY_STMT DOMAIN_OK, entry);
	fails_with(text, want, what);
}

/*
 * resolve entries as libcurl 7.88 reads them: several addresses, '*'
 * and a host in any case or with a trailing dot are taken; what libcurl
 * would take for something else ('-' a removal, '+' an entry that
 * expires), or never match (a blank or a '*.' pattern in HOST, an IP
 * address, a name longer than DNS allows), and a second entry for the
 * same HOST:PORT (libcurl keeps the last) are refused, at their line.
 */
static void
test_resolve_entries(void)
{
	char entry[400];
	struct diag d;
	struct conf *c;

	c = load_text(KEY_STMT DOMAIN_OK
	              "\tresolve \"mta-sts.example.com:443:127.0.0.1,::1,"
	              "[2001:db8::1]\";\n\tresolve \"*:8443:192.0.2.1\";\n"
	              "\tresolve \"MTA-STS.Example.NET.:443:192.0.2.2\";\n"
	              "\tresolve \"mta-sts.example.com:8443:192.0.2.3\";\n"
	              "};\n",
	              &d);
	ok(c != NULL && dom(c, 0)->resolve.n == 4,
	   "resolve: several addresses, '*', a host in capitals with a "
	   "trailing dot, the same host on another port: %s",
	   d.error);
	if (c != NULL)
		is_str(dom(c, 0)->resolve.v[0],
		       "mta-sts.example.com:443:127.0.0.1,::1,[2001:db8::1]",
		       "resolve: the entry kept as written");
	conf_free(c);
	resolve_fails("-mta-sts.example.com:443:127.0.0.1",
	              "test.conf:6: resolve: expected "
	              "\"HOST:PORT:ADDRESS[,ADDRESS]...\", found "
	              "'-mta-sts.example.com:443:127.0.0.1': a '-' before HOST "
	              "makes it libcurl's removal of an entry, which would do "
	              "nothing",
	              "resolve: a '-' before the host");
	resolve_fails("+mta-sts.example.com:443:127.0.0.1",
	              "a '+' before HOST (libcurl's entry that expires) means "
	              "nothing here, where each fetch sets its entries anew: "
	              "leave it out",
	              "resolve: a '+' before the host");
	resolve_fails("mta-sts.example .com:443:127.0.0.1",
	              "'mta-sts.example .com:443:127.0.0.1': HOST must be a "
	              "host name as the URL writes it (letters, digits, '-' "
	              "and dots) or '*', or it matches no URL",
	              "resolve: a blank in the host");
	resolve_fails(" mta-sts.example.com:443:127.0.0.1",
	              "HOST must be a host name", "resolve: a leading blank");
	resolve_fails("mta_sts.example.com:443:127.0.0.1",
	              "HOST must be a host name", "resolve: an underscore");
	resolve_fails("*.example.com:443:127.0.0.1",
	              "libcurl takes '*' alone for every host, and no other "
	              "pattern, so this HOST would match no URL: write an "
	              "entry for each host, or HOST '*'",
	              "resolve: a '*.' pattern");
	resolve_fails("192.0.2.9:443:127.0.0.1", "HOST is an IP address",
	              "resolve: an address as the host");
	snprintf(entry, sizeof(entry), "%s.%s.%s.%s.example.com:443:127.0.0.1",
	         LONG_LABEL, LONG_LABEL, LONG_LABEL, LONG_LABEL);
	resolve_fails(entry,
	              "HOST is longer than the 253 characters of a DNS name",
	              "resolve: a host of 255 characters");
	resolve_fails(":443:127.0.0.1", "HOST is empty", "resolve: no host");
	resolve_fails("mta-sts.example.com:443", "separated by ':'",
	              "resolve: no address");
	resolve_fails("mta-sts.example.com:65536:127.0.0.1",
	              "PORT must be a number from 1 to 65535",
	              "resolve: port 65536");
	resolve_fails("mta-sts.example.com: 443:127.0.0.1",
	              "PORT must be a number from 1 to 65535",
	              "resolve: a blank before the port");
	resolve_fails("mta-sts.example.com:443:127.0.0.1,",
	              "an ADDRESS is empty (a ',' at an end, or two in a row)",
	              "resolve: a ',' at the end");
	resolve_fails("mta-sts.example.com:443:127.0.0.1, ::1",
	              "each ADDRESS must be an IPv4 or IPv6 address (IPv6 in "
	              "brackets or not)",
	              "resolve: a blank after a ','");
	resolve_fails("mta-sts.example.com:443:[127.0.0.1]",
	              "each ADDRESS must be an IPv4 or IPv6 address",
	              "resolve: IPv4 in brackets");
	fails_with(KEY_STMT DOMAIN_OK
	           "\tresolve \"mta-sts.example.com:443:127.0.0.1\";\n"
	           "\tresolve \"MTA-STS.example.com:443:::1\";\n};\n",
	           "test.conf:7: resolve: 'MTA-STS.example.com:443' is given "
	           "twice in domain \"example.com\", and libcurl keeps the "
	           "last entry only: give all its addresses in one, separated "
	           "by ','",
	           "resolve: the same host and port twice");
}

/* A conf of one domain (name) with upstream and verify-url as given (a
 * verify-url of NULL: none), loaded; NULL (the reason in d) if refused. */
static struct conf *
load_urls(const char *name, const char *upstream, const char *verify_url,
          struct diag *d)
{
	char text[1536];

	snprintf(text, sizeof(text),
	         "%sdomain \"%s\" {\n\tupstream \"%s\";\n\tkey \"k\";\n"
	         "\tpolicy-file \"/srv/p.txt\";\n%s%s%s};\n",
	         KEY_STMT, name, upstream, verify_url ? "\tverify-url \"" : "",
	         verify_url ? verify_url : "", verify_url ? "\";\n" : "");
	return load_text(text, d);
}

/*
 * A URL whose host is longer than a DNS name (253 characters, a trailing
 * dot not counted) can never be looked up, and its host was cut at 255
 * bytes in every message of a run: refused at its line, or, for a
 * verify-url with %d, at the domain's once expanded. 253 are taken.
 */
static void
test_url_host_length(void)
{
	/* 4 labels of 60, 4 dots and 9 = 253 characters */
	char host[300], url[400], name[300];
	struct diag d;
	struct conf *c;

	snprintf(host, sizeof(host), "%s.%s.%s.%s.abcdefghi", LONG_LABEL,
	         LONG_LABEL, LONG_LABEL, LONG_LABEL);
	ok(strlen(host) == 253, "a host of 253 characters");
	snprintf(url, sizeof(url), "https://%s/p", host);
	c = load_urls("example.com", url, url, &d);
	ok(c != NULL,
	   "upstream and verify-url with a host of 253 characters: "
	   "%s",
	   d.error);
	conf_free(c);
	snprintf(url, sizeof(url), "https://%s.:8443/p", host);
	c = load_urls("example.com", url, NULL, &d);
	ok(c != NULL, "... and a trailing dot: %s", d.error);
	conf_free(c);
	snprintf(url, sizeof(url), "https://x%s/p", host);
	c = load_urls("example.com", url, NULL, &d);
	ok(c == NULL, "upstream with a host of 254 characters: refused");
	like(d.error,
	     "test.conf:3: upstream: the URL's host "
	     "xabcdefghijabcdefghijabcdefghijabcdefghijabcdefg... is 254 "
	     "characters long, more than the 253 of a DNS name: fix the URL",
	     "... at its line, its start shown, the cut marked");
	conf_free(c);
	snprintf(url, sizeof(url), "https://user@x%s:8443/p?q#f", host);
	c = load_urls("example.com", "https://u.example/p", url, &d);
	ok(c == NULL, "verify-url with a host of 254 characters: refused");
	like(d.error, "test.conf:6: verify-url: the URL's host xabcdefghij",
	     "... at its line");
	conf_free(c);
	/* a domain of 244 characters (as long as _mta-sts.<domain> allows)
	 * in a verify-url host with 9 more */
	snprintf(name, sizeof(name), "%s.%s.%s.%sa", LONG_LABEL, LONG_LABEL,
	         LONG_LABEL, LONG_LABEL);
	ok(strlen(name) == 244, "a domain of 244 characters");
	c = load_urls(name, "https://u.example/p",
	              "https://mta-sts.%d/.well-known/mta-sts.txt", &d);
	ok(c != NULL, "verify-url https://mta-sts.%%d/ for it: %s", d.error);
	conf_free(c);
	c = load_urls(name, "https://u.example/p",
	              "https://www.mta-sts.%d/.well-known/mta-sts.txt", &d);
	ok(c == NULL, "verify-url https://www.mta-sts.%%d/ for it: refused");
	like(d.error, "test.conf:2: domain \"abcdefghij",
	     "... at the domain's line");
	like(d.error,
	     "ja\": verify-url, once %d is expanded: the URL's host "
	     "www.mta-sts.abcdefghijabcdefghijabcdefghijabcdef... is 256 "
	     "characters long, more than the 253 of a DNS name: fix the URL",
	     "... once %%d is expanded");
	conf_free(c);
}

/* Numbers: bounds accepted, one past refused, garbage refused. */
static void
test_numbers(void)
{
	static const struct {
		const char *setting;
		const char *value;
		int good;
	} cases[] = {
	    {"ttl", "0", 1},
	    {"ttl", "2147483647", 1},
	    {"ttl", "2147483648", 0},
	    {"ttl", "-1", 0},
	    {"ttl", "1h", 0},
	    {"ttl", "", 0},
	    {"timeout", "1", 1},
	    {"timeout", "3600", 1},
	    {"timeout", "0", 0},
	    {"timeout", "3601", 0},
	    {"verify-timeout", "3600", 1},
	    {"verify-timeout", "0", 0},
	    {"max-age", "0", 1},
	    {"max-age", "31557600", 1},
	    {"max-age", "31557601", 0},
	    {"max-age", "99999999999999999999999", 0},
	    {"server 192.0.2.1 port", "65535", 1},
	    {"server 192.0.2.1 port", "0", 0},
	    {"resolver ::1 port", "1", 1},
	    {"resolver ::1 port", "65536", 0},
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct diag d;
		struct conf *c;

		snprintf(text, sizeof(text), "%s\t%s \"%s\";\n};\n",
		         KEY_STMT DOMAIN_OK, cases[i].setting, cases[i].value);
		c = load_text(text, &d);
		ok((c != NULL) == cases[i].good, "%s '%s' %s: %s",
		   cases[i].setting, cases[i].value,
		   cases[i].good ? "accepted" : "refused", d.error);
		if (!cases[i].good)
			like(d.error, "expected a number from", "%s message",
			     cases[i].setting);
		conf_free(c);
	}
}

/* A value too long for a message is cut before a whole UTF-8 character
 * and the cut is marked: the end of the shown value is not the end of
 * the setting. */
static void
test_value_cut(void)
{
	char text[512], want[160], a[74];
	struct diag d;
	struct conf *c;

	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	/* 26 + 73 bytes, then a two-byte character across byte 100 */
	snprintf(text, sizeof(text),
	         "domain \"example.com\" { upstream "
	         "\"ftp://mta-sts.example.com/%s\xc3\xa9%050d\"; };\n",
	         a, 0);
	snprintf(want, sizeof(want),
	         "found 'ftp://mta-sts.example.com/%s' [cut]", a);
	c = load_text(text, &d);
	ok(c == NULL, "a long bad upstream: refused");
	like(d.error, want,
	     "a long value: cut before the character across the limit, "
	     "and the cut marked");
	conf_free(c);
}

static void
test_urls(void)
{
	static const char *const bad[] = {
	    "http://mta-sts.example.com/.well-known/mta-sts.txt",
	    "ftp://mta-sts.example.com/x",
	    "https://",
	    "https:///path",
	    "https://host name/x",
	    "mta-sts.example.com",
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		         "domain \"example.com\" { upstream \"%s\"; };\n",
		         bad[i]);
		fails_with(text, "upstream: expected an https:// URL",
		           "bad upstream URL");
		snprintf(text, sizeof(text),
		         "domain \"example.com\" { verify-url \"%s\"; };\n",
		         bad[i]);
		fails_with(text, "verify-url: expected an https:// URL",
		           "bad verify-url");
	}
	test_url_host_length();
	test_value_cut();
}

/*
 * Key statements as BIND takes them: a name with a trailing dot is the
 * same name (in key and for duplicates), a secret may hold white space;
 * a secret of zero bytes (keys.example's placeholder) is refused.
 */
static void
test_key_statement_forms(void)
{
	struct diag d;
	struct conf *c;

	c = load_text(KEY_STMT "domain \"example.com\" {\n\tupstream "
	                       "\"https://x.example/\";\n\tkey \"K.\";\n"
	                       "\tpolicy-file \"/p/%d\";\n};\n",
	              &d);
	ok(c != NULL && strcmp(dom(c, 0)->key->name, "k") == 0,
	   "key \"K.\" names key \"k\": %s", d.error);
	conf_free(c);
	fails_with(KEY_STMT "key \"k.\" { algorithm hmac-sha1; secret "
	                    "\"c2VjcmV0\"; };\n",
	           "test.conf:2: duplicate key \"k.\" (first at ",
	           "key \"k\" and key \"k.\" are the same key");
	c = load_text("key \"k\" { algorithm hmac-sha256; secret \"AAEC "
	              "AwQF\n\tBgcI\tCQoL\"; };\n" DOMAIN_OK "};\n",
	              &d);
	ok(c != NULL && dom(c, 0)->key->secret_len == 12 &&
	       dom(c, 0)->key->secret[11] == 11,
	   "white space inside a secret is skipped, as BIND does: %s", d.error);
	conf_free(c);
	fails_with(
	    "key \"k\" { algorithm hmac-sha256; secret "
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"; };\n" DOMAIN_OK
	    "};\n",
	    "test.conf:1: key \"k\": TSIG key k: the secret is all zero "
	    "bytes, as the placeholder of keys.example",
	    "a secret of zero bytes");
}

/* Every algorithm, as tsig-keygen writes it, as a key statement. */
static void
test_key_statements(void)
{
	static const struct {
		const char *alg;
		enum tsig_alg id;
	} algs[] = {
	    {"hmac-md5", TSIG_HMAC_MD5},
	    {"hmac-sha1", TSIG_HMAC_SHA1},
	    {"hmac-sha224", TSIG_HMAC_SHA224},
	    {"hmac-sha256", TSIG_HMAC_SHA256},
	    {"hmac-sha384", TSIG_HMAC_SHA384},
	    {"hmac-sha512", TSIG_HMAC_SHA512},
	};
	char text[1024];
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct diag d;
		struct conf *c;

		snprintf(text, sizeof(text),
		         "include \"data/keys/tsig-keygen-%s.key\";\n"
		         "domain \"example.com\" {\n\tupstream "
		         "\"https://x.example/\";\n\tkey \"test-%s\";\n"
		         "\tpolicy-file \"/p/%%d\";\n};\n",
		         algs[i].alg, algs[i].alg);
		c = load_text(text, &d);
		ok(c != NULL && dom(c, 0)->key->alg == algs[i].id,
		   "key statement %s: %s", algs[i].alg, d.error);
		if (algs[i].id == TSIG_HMAC_MD5)
			ok(d.nwarn > 0 && strstr(d.warn[0], "md5") != NULL,
			   "hmac-md5 warns: %s", d.nwarn ? d.warn[0] : "");
		else
			ok(d.nwarn == 0, "%s: no warning", algs[i].alg);
		conf_free(c);
	}
}

/* keyfile_load on tmpdir/data/keys/file; checks name and algorithm. */
static void
key_loads(const char *file, const char *name, const char *want_name,
          enum tsig_alg alg)
{
	struct tsig_key key;
	struct diag d;
	char path[512];
	int rc;

	snprintf(path, sizeof(path), "%s/data/keys/%s", tmpdir, file);
	diag_init(&d);
	memset(&key, 0, sizeof(key));
	rc = keyfile_load(path, name, &key, &d);
	ok(rc == 0, "%s (%s) loads: %s", file, name ? name : "only key",
	   d.error);
	is_str(key.name, want_name, "%s: key name", file);
	ok(key.alg == alg && key.secret_len > 0, "%s: algorithm and secret",
	   file);
}

/* keyfile_load must fail with want in the message. */
static void
key_fails(const char *path, const char *name, const char *want)
{
	struct tsig_key key;
	struct diag d;

	diag_init(&d);
	ok(keyfile_load(path, name, &key, &d) == -1, "%s refused", path);
	like(d.error, want, "message");
}

/* keyfile_load of path must fail with a message ending in end. */
static void
key_fails_ending(const char *path, const char *end, const char *what)
{
	struct tsig_key key;
	struct diag d;
	size_t n = strlen(end), len;

	diag_init(&d);
	ok(keyfile_load(path, NULL, &key, &d) == -1, "%s refused", path);
	len = strlen(d.error);
	ok(len >= n && strcmp(d.error + len - n, end) == 0, "%s: '%s'", what,
	   d.error);
}

/* keys.example's placeholder (zero bytes) is refused, saying so; with a
 * real secret in its place the file is a key file as it is. */
static void
test_keys_example(void)
{
	static const char zero[] =
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	static const char real[] =
	    "fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=";
	struct tsig_key key;
	struct diag d;
	char path[1024], want[512], *buf, *at;
	unsigned line = 1;
	size_t len;

	snprintf(path, sizeof(path), "%s/keys.example", srcdir);
	buf = slurp(path, &len);
	/* the line of the key statement */
	at = strstr(buf, "\nkey \"mtasts\"");
	for (char *c = buf; at != NULL && c <= at; c++)
		line += *c == '\n';
	diag_init(&d);
	ok(keyfile_parse("keys.example", buf, len, NULL, &key, &d) == -1,
	   "keys.example as it is: refused");
	snprintf(
	    want, sizeof(want),
	    "keys.example:%u: key \"mtasts\": TSIG key mtasts: the secret "
	    "is all zero bytes, as the placeholder of keys.example: make a "
	    "key of your own with tsig-keygen (or keymgr -t)",
	    line);
	like(d.error, want, "... its placeholder secret is said to be one");
	at = strstr(buf, zero);
	ok(at != NULL, "keys.example holds the placeholder");
	if (at != NULL)
		memcpy(at, real, sizeof(real) - 1);
	diag_init(&d);
	ok(keyfile_parse("keys.example", buf, len, NULL, &key, &d) == 0 &&
	       strcmp(key.name, "mtasts") == 0 && key.alg == TSIG_HMAC_SHA256,
	   "keys.example with a real secret parses: %s", d.error);
	conf_wipe_free(buf, len);
}

static void
test_key_files(void)
{
	key_loads("tsig-keygen-hmac-sha256.key", NULL, "test-hmac-sha256",
	          TSIG_HMAC_SHA256);
	key_loads("tsig-keygen-hmac-sha224.key", "test-hmac-sha224",
	          "test-hmac-sha224", TSIG_HMAC_SHA224);
	key_loads("ddns-confgen-q.key", NULL, "ddns-key.example",
	          TSIG_HMAC_SHA256);
	key_loads("keymgr.yaml", NULL, "knot-key", TSIG_HMAC_SHA256);
	key_loads("keymgr-sha512.yaml", "KNOT-512.", "knot-512",
	          TSIG_HMAC_SHA512);
	key_loads("oneline.key", NULL, "oneline-key", TSIG_HMAC_SHA512);
	key_loads("oneline-default.key", NULL, "short-key", TSIG_HMAC_SHA256);
	key_loads("two-keys.key", "second.example", "second.example",
	          TSIG_HMAC_SHA384);
	key_loads("two-keys.key", "first", "first", TSIG_HMAC_SHA256);
	key_loads("two-keys.yaml", "beta", "beta", TSIG_HMAC_SHA1);
	test_keys_example();
	key_fails(tpath("data/keys/two-keys.key"), NULL,
	          "two-keys.key: holds 2 keys (first, second.example.); name "
	          "the one to use");
	key_fails(tpath("data/keys/two-keys.yaml"), "gamma",
	          "two-keys.yaml: no key named \"gamma\" (it holds: alpha, "
	          "beta)");
	key_fails(tpath("data/keys/oneline.key"), "other",
	          "no key named \"other\" (it holds: oneline-key)");
	key_fails(tpath("data/keys/ddns-confgen-full.txt"), NULL,
	          "update-policy belongs in named.conf");
	key_fails(tpath("nonexistent.key"), NULL, "cannot read key file");
	key_fails(tpath("data/keys"), NULL, "not a regular file");
}

/* The names a key file error lists leave out one that holds a secret of
 * the file (fields out of place), and cut a long list short. */
static void
test_key_names_listed(void)
{
	static const char secret[] = "U2VjcmV0TWFya2VyWFlaWFla";
	struct tsig_key key;
	struct buf text;
	struct diag d;
	int i;

	buf_init(&text, 65536);
	buf_printf(&text,
	           "key \"a\" { algorithm hmac-sha256; secret \"%s\"; };\n"
	           "key \"%s\" { algorithm hmac-sha256; secret \"AAAA\"; };\n"
	           "key \"x%s\" { algorithm hmac-sha256; secret \"AAAA\"; };\n",
	           secret, secret, secret);
	diag_init(&d);
	ok(keyfile_parse("k", text.data, text.len, NULL, &key, &d) == -1,
	   "a key file naming a key with a secret: refused without a name");
	like(d.error,
	     "k: holds 3 keys (a, (a name not shown), (a name not shown)); "
	     "name the one",
	     "the names that hold a secret are not shown");
	ok(strstr(d.error, secret) == NULL, "the secret is not in it: %s",
	   d.error);
	diag_init(&d);
	keyfile_parse("k", text.data, text.len, "b", &key, &d);
	like(d.error, "no key named \"b\" (it holds: a, (a name not shown)",
	     "no key of that name: the names, but not the secret");
	ok(strstr(d.error, secret) == NULL, "the secret is not in it either");

	/* a name that is another secret, or no valid name: not shown */
	buf_reset(&text);
	buf_printf(
	    &text,
	    "key \"b\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };\n"
	    "key \"fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=\" { "
	    "algorithm hmac-sha256; secret \"c2VjcmV0\"; };\n");
	diag_init(&d);
	keyfile_parse("k", text.data, text.len, NULL, &key, &d);
	like(d.error, "k: holds 2 keys (b, (a name not shown))",
	     "a name that is no valid key name is not listed");
	ok(strstr(d.error, "fcc4A+NN") == NULL, "nor shown");

	buf_reset(&text);
	for (i = 0; i < 40; i++)
		buf_printf(&text,
		           "key \"key-number-%02d.example\" { algorithm "
		           "hmac-sha256; secret \"AAAA\"; };\n",
		           i);
	diag_init(&d);
	keyfile_parse("k", text.data, text.len, NULL, &key, &d);
	like(d.error, "k: holds 40 keys (key-number-00.example, ",
	     "many keys: the first names");
	like(d.error, ", ...); name the one to use",
	     "many keys: the list is cut short");
	buf_free(&text);
}

/* Comments after a value, as YAML (and Knot) takes them, and keymgr -t
 * outputs appended to one file (two key: lists, which Knot reads as
 * one), in a Knot key file; a comment after a one-line key. */
static void
test_key_yaml_comments(void)
{
	static const char appended[] =
	    "# hmac-sha256:alpha:c2VjcmV0\nkey:\n  - id: alpha\n"
	    "    algorithm: hmac-sha256\n    secret: c2VjcmV0\n"
	    "# hmac-sha512:beta:c2VjcmV1\nkey:\n  - id: beta\n"
	    "    algorithm: hmac-sha512\n    secret: c2VjcmV1\n";
	static const char comments[] =
	    "key: # the keys\n  - id: c # a name\n"
	    "    algorithm: hmac-sha256\t# the default\n"
	    "    secret: \"c2VjcmV0\" # rotated in May\n";
	static const char hash_in_quotes[] =
	    "key:\n  - id: c\n    algorithm: \"hmac-sha256 #x\"\n"
	    "    secret: c2VjcmV0\n";
	static const char oneline[] =
	    "hmac-sha1:one:c2VjcmV0 # for knsupdate\n";
	struct tsig_key key;
	struct diag d;

	diag_init(&d);
	ok(keyfile_parse("k", appended, strlen(appended), "beta", &key, &d) ==
	           0 &&
	       key.alg == TSIG_HMAC_SHA512,
	   "two keymgr -t outputs appended: the second key (%s)", d.error);
	diag_init(&d);
	ok(keyfile_parse("k", appended, strlen(appended), "alpha", &key, &d) ==
	       0,
	   "... and the first (%s)", d.error);
	diag_init(&d);
	keyfile_parse("k", appended, strlen(appended), NULL, &key, &d);
	like(d.error, "k: holds 2 keys (alpha, beta)", "... one list of two");
	diag_init(&d);
	ok(keyfile_parse("k", comments, strlen(comments), NULL, &key, &d) ==
	           0 &&
	       strcmp(key.name, "c") == 0 && key.secret_len == 6,
	   "Knot key with comments after its values (%s)", d.error);
	diag_init(&d);
	ok(keyfile_parse("k", hash_in_quotes, strlen(hash_in_quotes), NULL,
	                 &key, &d) == -1,
	   "a '#' inside quotes is no comment");
	like(d.error, "unknown algorithm (not shown",
	     "... it stays in the value");
	diag_init(&d);
	ok(keyfile_parse("k", oneline, strlen(oneline), NULL, &key, &d) == 0 &&
	       strcmp(key.name, "one") == 0 && key.alg == TSIG_HMAC_SHA1,
	   "one-line key with a comment after it (%s)", d.error);
}

/* The format is told from the content: a '/' in a one-line secret is
 * not a BIND comment, and a BIND comment holding ':' is not a one-line
 * key. */
static void
test_key_format_detection(void)
{
	static const char slash[] = "hmac-sha256:slash-key:ab/cd+ef/j//\n";
	static const char comment[] =
	    "// made by: tsig-keygen\nkey \"c\" { algorithm hmac-sha1; "
	    "secret \"c2VjcmV0\"; };\n";
	struct tsig_key key;
	struct diag d;

	diag_init(&d);
	ok(keyfile_parse("k", slash, strlen(slash), NULL, &key, &d) == 0 &&
	       strcmp(key.name, "slash-key") == 0,
	   "one-line key whose secret holds '/' (%s)", d.error);
	diag_init(&d);
	ok(keyfile_parse("k", comment, strlen(comment), NULL, &key, &d) == 0 &&
	       key.alg == TSIG_HMAC_SHA1,
	   "BIND key file opening with a // comment holding ':' (%s)", d.error);
	test_key_yaml_comments();
}

/* A line longer than a key file's line buffer, after a comment, in a
 * Knot and a one-line key file: refused at its line. */
static void
test_key_long_lines(void)
{
	static const char *const heads[] = {"key:\n# c\n", "a:AAAA\n# c\n"};
	char text[2 * KEYSPEC_SECRET_MAX];
	struct tsig_key key;
	struct diag d;

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		size_t n = strlen(heads[i]);

		memcpy(text, heads[i], n);
		memset(text + n, 'A', sizeof(text) - n - 2);
		text[sizeof(text) - 2] = '\n';
		text[sizeof(text) - 1] = '\0';
		diag_init(&d);
		ok(keyfile_parse("k", text, strlen(text), NULL, &key, &d) ==
		           -1 &&
		       strstr(d.error, "k:3: line too long or NUL byte") !=
		           NULL,
		   "key file %zu: a long line refused at its line (%s)", i,
		   d.error);
	}
}

/* Key file parsing errors from memory, each with its line. */
static void
test_key_parse_errors(void)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"key:\n  - id: a\n    algorithm: hmac-sha256\n", "no secret"},
	    {"key:\n  - id: a\n    colour: blue\n", "k:3: unknown field"},
	    {"key:\n  - algorithm: hmac-sha256\n", "k:2: expected '- id"},
	    {"key:\n\t- id: a\n", "k:2: expected an indented"},
	    {"key:\nremote:\n", "k:2: expected an indented key item"},
	    {"key:\n", "no key in the key: list"},
	    {"a:b:c:d\n", "k:1: expected [algorithm:]name:secret"},
	    {"name:\n", "expected [algorithm:]name:secret"},
	    {"a:AAAA\nb:AAAA\n", "k:2: more than one line"},
	    /* blank and comment lines count */
	    {"key:\n\n# none yet\n", "k:3: no key in the key: list"},
	    {"# k\na:AAAA\n\n# b\nb:AAAA\n", "k:5: more than one line"},
	    {"key \"a\" { algorithm hmac-sha256; };\n", "has no secret"},
	    {"key \"a\" { secret \"AAAA\"; };\n", "has no algorithm"},
	    {"key \"a\" { algorithm hmac-sha256; algorithm hmac-sha1; };",
	     "duplicate setting 'algorithm'"},
	    {"key \"a\" { algorithm hmac-sha256 secret \"AAAA\"; };",
	     "expected ';' after algorithm"},
	    {"options { };\n", "k:1: expected a key statement"},
	    {"", "no key in the file"},
	    {"# only a comment\n", "no key in the file"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tsig_key key;
		struct diag d;

		diag_init(&d);
		ok(keyfile_parse("k", cases[i].text, strlen(cases[i].text),
		                 NULL, &key, &d) == -1,
		   "key file case %zu refused", i);
		like(d.error, cases[i].want, "key file case %zu message", i);
	}
	test_key_long_lines();
}

/*
 * An ACL entry that names a configuration's own group is that group's,
 * as the group bits are: its members are the same, and a configuration
 * trusts its group (mode 0664 of root:nogroup loads), so
 * setfacl -m g:nogroup:rw on it loads too; before, it was refused as a
 * group the ACL names ("lets group nogroup write it"). Another group's
 * entry is still refused. Giving a file to another group needs root:
 * skipped otherwise. acl.conf has an ACL, and has none after.
 */
static void
test_conf_acl_own_group(void)
{
	struct diag d;
	struct conf *c;

	if (geteuid() != 0 || chown(tpath("acl.conf"), 0, 65534) == -1) {
		for (int i = 0; i < 3; i++)
			ok(1, "# SKIP not root: cannot give a file away");
		clear_acl(tpath("acl.conf"));
		return;
	}
	set_acl(tpath("acl.conf"), 1, 65534, 6, 4, 6);
	diag_init(&d);
	c = conf_load(tpath("acl.conf"), &d);
	ok(c != NULL, "an ACL that lets the file's own group write loads: %s",
	   d.error);
	conf_free(c);
	set_acl(tpath("acl.conf"), 1, 65533, 6, 4, 6);
	load_fails("acl.conf",
	           "acl.conf: configuration file has an ACL that lets group ",
	           "an ACL that lets another group write it, the file's "
	           "own group aside");
	clear_acl(tpath("acl.conf"));
	if (chown(tpath("acl.conf"), 0, 0) == -1)
		perror("chown");
}

/*
 * A configuration file, or a directory on the way to it, whose ACL lets
 * a user or a group that is not trusted write it is refused, naming them
 * and the setfacl to run: before, the group bits of its mode, which are
 * then the ACL's mask, were all that was looked at, and a configuration's
 * group is trusted, so setfacl -m u:deploy:rw let that user set a
 * publish-command. An entry the mask leaves without write, and the
 * running user's, pass.
 */
static void
test_conf_acl(void)
{
	unsigned other = geteuid() == 65534 ? 65533 : 65534;
	char want[1024], who[128];
	struct diag d;
	struct conf *c;

	write_file("acl.conf", NOKEY_CONF, 0644);
	if (set_acl_or_skip(tpath("acl.conf"), 0, other, 6, 4, 6, 12) == -1)
		return;
	/* the whole message, with the setfacl to run */
	snprintf(want, sizeof(want),
	         "acl.conf: configuration file has an ACL that lets user %s "
	         "write it (mode 0664, whose group bits are the ACL's mask): "
	         "that user could make mta-sts-sync run a command "
	         "(publish-command); setfacl -x u:%u %s (or setfacl -b %s: "
	         "no ACL)",
	         user_shown(other, who, sizeof(who)), other, tpath("acl.conf"),
	         tpath("acl.conf"));
	load_fails("acl.conf", want, "an ACL lets another user write it");
	set_acl(tpath("acl.conf"), 1, other, 6, 4, 6);
	load_fails("acl.conf",
	           "acl.conf: configuration file has an ACL that "
	           "lets group ",
	           "an ACL lets another group write it");
	set_acl(tpath("acl.conf"), 0, other, 6, 4, 4);
	diag_init(&d);
	c = conf_load(tpath("acl.conf"), &d);
	ok(c != NULL, "an ACL whose mask takes write away loads: %s", d.error);
	conf_free(c);
	set_acl(tpath("acl.conf"), 0, (unsigned)geteuid(), 6, 4, 6);
	diag_init(&d);
	c = conf_load(tpath("acl.conf"), &d);
	ok(c != NULL, "an ACL that lets the running user write loads: %s",
	   d.error);
	conf_free(c);
	test_conf_acl_own_group();
	mkdir(tpath("acldir"), 0755);
	write_file("acldir/a.conf", NOKEY_CONF, 0644);
	set_acl(tpath("acldir"), 0, other, 7, 5, 7);
	snprintf(want, sizeof(want),
	         "a.conf: its directory %s has an ACL that lets user %s write "
	         "it (mode 0775, whose group bits are the ACL's mask): that "
	         "user could put another file in its place and make "
	         "mta-sts-sync run a command (publish-command); setfacl -x "
	         "u:%u %s",
	         tpath("acldir"), who, other, tpath("acldir"));
	load_fails("acldir/a.conf", want,
	           "an ACL lets another user write its "
	           "directory");
	ok(unlink(tpath("acldir/a.conf")) == 0 && rmdir(tpath("acldir")) == 0 &&
	       unlink(tpath("acl.conf")) == 0,
	   "ACL files removed");
}

/* A configuration of domain name, with its key, into tmpdir/path. */
static void
write_domain_conf(const char *path, const char *name)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         KEY_STMT "domain \"%s\" {\n\tupstream "
	                  "\"https://mta-sts.example.net/.well-known/"
	                  "mta-sts.txt\";\n\tkey \"k\";\n\tpolicy-file "
	                  "\"/srv/%%d.txt\";\n};\n",
	         name);
	write_file(path, text, 0600);
}

/* conf_load() of tmpdir/name with tmpdir/a and tmpdir/b exchanged when
 * a file of name's last component is opened (swap_at). Returns the
 * configuration, or NULL with the reason in d. */
static struct conf *
load_swapped(const char *a, const char *b, const char *name, struct diag *d)
{
	char pa[512], pb[512];
	struct conf *c;

	snprintf(pa, sizeof(pa), "%s", tpath(a));
	snprintf(pb, sizeof(pb), "%s", tpath(b));
	swap_a = pa;
	swap_b = pb;
	swap_at = strrchr(name, '/') != NULL ? strrchr(name, '/') + 1 : name;
	diag_init(d);
	c = conf_load(tpath(name), d);
	swap_at = NULL;
	return c;
}

/*
 * The file read is the file judged: a configuration is opened from the
 * directory its walk reached, so an entry exchanged for another
 * (rename(2) with RENAME_EXCHANGE, by whoever may write the directory)
 * just when it is opened does not make the run read a file its path does
 * not lead to. Before, it was opened by name (the kernel following every
 * link) and its path walked and judged by name a second time: a link to
 * another file, in its place for the open only, loaded that file
 * (another domain's configuration here), and so did a directory
 * exchanged with another for that moment.
 */
static void
test_swapped_at_open(void)
{
	static const char *const dirs[] = {"sw",     "sw/etc", "sw/other",
	                                   "sw/sub", "sw/nob", NULL};
	struct diag d;
	struct conf *c;

	for (size_t i = 0; dirs[i] != NULL; i++)
		mkdir(tpath(dirs[i]), 0755);
	write_domain_conf("sw/etc/main.conf", "good.example");
	write_domain_conf("sw/other/evil.conf", "evil.example");
	write_domain_conf("sw/sub/main.conf", "good.example");
	write_domain_conf("sw/nob/main.conf", "evil.example");
	if (symlink("../other/evil.conf", tpath("sw/etc/x")) == -1)
		perror("symlink");

	c = load_swapped("sw/etc/main.conf", "sw/etc/x", "sw/etc/main.conf",
	                 &d);
	ok(c == NULL,
	   "a link in the file's place when it is opened: refused "
	   "(loaded: %s)",
	   c != NULL ? conf_domain_name(c, 0) : "none");
	like(d.error,
	     "/sw/etc/main.conf was replaced by another file while it was "
	     "checked: not trusted, as whoever may do so could make "
	     "mta-sts-sync run a command (publish-command); run mta-sts-sync "
	     "again, and if this recurs, find what changes ",
	     "... said so, and what to do");
	conf_free(c);

	c = load_swapped("sw/sub", "sw/nob", "sw/sub/main.conf", &d);
	ok(c != NULL && strcmp(conf_domain_name(c, 0), "good.example") == 0,
	   "a directory on the way exchanged when the file is opened: the "
	   "file of the directory walked is read (loaded: %s; %s)",
	   c != NULL ? conf_domain_name(c, 0) : "none", d.error);
	conf_free(c);
	swap_at = NULL;
}

/* conf_load() of tmpdir/name, the opens of its entries named watch
 * counted and their flags kept (flags_opens, flags_seen). Returns the
 * configuration, or NULL with the reason in d. */
static struct conf *
load_watching_flags(const char *name, const char *watch, struct diag *d)
{
	struct conf *c;

	flags_watch = watch;
	flags_opens = 0;
	diag_init(d);
	c = conf_load(tpath(name), d);
	flags_watch = NULL;
	return c;
}

/* Whether open i of the entry watched had the flags want, and none of
 * the flags unwanted. */
static int
flags_were(int i, int want, int unwanted)
{
	return i < flags_opens && i < FLAGS_KEPT &&
	       (flags_seen[i] & want) == want &&
	       (flags_seen[i] & unwanted) == 0;
}

/*
 * Each directory on the way to a configuration is opened as a directory
 * (O_DIRECTORY), for only that makes the kernel mount what an automounter
 * (autofs) keeps there: before, the walk's path-only opens met the empty
 * mount point, and the file under it was "No such file or directory". A
 * link or a file on the way, which such an open refuses, is opened again
 * as what it is and judged as before: the link followed, the file not a
 * directory.
 */
static void
test_dirs_opened_as_dirs(void)
{
	const int dir = O_PATH | O_DIRECTORY | O_NOFOLLOW;
	const int entry = O_PATH | O_NOFOLLOW;
	struct diag d;
	struct conf *c;

	mkdir(tpath("od"), 0755);
	mkdir(tpath("od/dir"), 0755);
	write_domain_conf("od/dir/main.conf", "good.example");
	write_file("od/file", "not a directory\n", 0644);
	if (symlink("dir", tpath("od/ln")) == -1)
		perror("symlink");

	c = load_watching_flags("od/dir/main.conf", "dir", &d);
	ok(c != NULL && flags_opens == 1 && flags_were(0, dir, 0),
	   "a directory on the way: opened once, as a directory, without "
	   "following it (%d opens, flags %#o; %s)",
	   flags_opens, (unsigned)flags_seen[0], d.error);
	conf_free(c);

	c = load_watching_flags("od/ln/main.conf", "ln", &d);
	ok(c != NULL && flags_opens == 2 && flags_were(0, dir, 0) &&
	       flags_were(1, entry, O_DIRECTORY),
	   "a link on the way: opened as a directory, then as itself, and "
	   "followed (%d opens; %s)",
	   flags_opens, d.error);
	conf_free(c);

	c = load_watching_flags("od/file/main.conf", "file", &d);
	ok(c == NULL && flags_opens == 2 && flags_were(0, dir, 0) &&
	       flags_were(1, entry, O_DIRECTORY),
	   "a file on the way: opened as a directory, then as itself (%d "
	   "opens)",
	   flags_opens);
	like(d.error,
	     "/od/file/main.conf: cannot read configuration: Not a directory",
	     "... and not a directory, as before");
	conf_free(c);
}

/*
 * A component longer than a name may be (NAME_MAX) refuses the path, as
 * the kernel's lookup would: before, the walk to a configuration (not
 * that to a policy-file's directory) looked up its first 255 bytes, and
 * read the file of that name.
 */
static void
test_long_component(void)
{
	char name[NAME_MAX + 2];
	struct diag d;
	struct conf *c;

	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	write_domain_conf(name, "cut.example");
	name[NAME_MAX] = 'n';
	name[NAME_MAX + 1] = '\0';
	diag_init(&d);
	c = conf_load(tpath(name), &d);
	ok(c == NULL,
	   "a configuration named by a component of 256 bytes: refused "
	   "(loaded: %s)",
	   c != NULL ? conf_domain_name(c, 0) : "none");
	like(d.error, ": cannot read configuration: File name too long",
	     "... its name too long, as the kernel says");
	conf_free(c);
}

/* The directories of a path deeper than PATH_MAX: "deep/" then
 * components of 250 bytes, DEEP_LINKED of them behind a link, one after
 * it. */
#define DEEP_LINKED 16
#define DEEP_NAME 250

/*
 * Make tmpdir/deep/C/.../C/C (DEEP_LINKED + 1 components C of DEEP_NAME
 * bytes), main.conf in the last, and the link tmpdir/dl to all but the
 * last: tmpdir/dl/C/main.conf is then longer than PATH_MAX once the link
 * is followed. Made from descriptors, as no path may name the file.
 * Returns the descriptor of the last but one, or -1.
 */
static int
deep_tree(const char *comp)
{
	char target[(DEEP_NAME + 1) * DEEP_LINKED + 8] = "deep", in[512];
	size_t len = strlen(target);
	int fd, next;

	mkdir(tpath("deep"), 0755);
	fd = open(tpath("deep"), O_PATH | O_DIRECTORY);
	for (int i = 0; i < DEEP_LINKED && fd != -1; i++) {
		next = mkdirat(fd, comp, 0755) == -1
		           ? -1
		           : openat(fd, comp, O_PATH | O_DIRECTORY);
		close(fd);
		fd = next;
		len += (size_t)snprintf(target + len, sizeof(target) - len,
		                        "/%s", comp);
	}
	snprintf(in, sizeof(in), "%s/main.conf", comp);
	write_domain_conf("deep.conf", "deep.example");
	if (fd == -1 || mkdirat(fd, comp, 0755) == -1 ||
	    renameat(AT_FDCWD, tpath("deep.conf"), fd, in) == -1 ||
	    symlink(target, tpath("dl")) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * A configuration whose path is longer than PATH_MAX once a link on the
 * way is followed is walked to, as the kernel opens it (it limits a path
 * as written, and a link's target, not what following them adds up to),
 * and as the walk to a policy-file's directory already did: the walks
 * are one. Before, the walk to a configuration, a key-file or a ca-file
 * refused it ("File name too long").
 */
static void
test_deep_path(void)
{
	char comp[DEEP_NAME + 1], path[DEEP_NAME + 32];
	struct diag d;
	struct conf *c;
	int fd;

	memset(comp, 'c', DEEP_NAME);
	comp[DEEP_NAME] = '\0';
	if ((fd = deep_tree(comp)) == -1) {
		ok(1, "# SKIP cannot make a tree deeper than PATH_MAX: %s",
		   strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "dl/%s/main.conf", comp);
	diag_init(&d);
	c = conf_load(tpath(path), &d);
	ok(c != NULL && strcmp(conf_domain_name(c, 0), "deep.example") == 0,
	   "a configuration longer than PATH_MAX through a link: loaded (%s)",
	   d.error);
	conf_free(c);
	/* within reach of the removal at the end, which goes by path */
	if (renameat(fd, comp, AT_FDCWD, tpath("deep-end")) == -1)
		printf("# cannot move the deepest directory: %s\n",
		       strerror(errno));
	close(fd);
}

/*
 * A directory where a program would be looked for (conf_trust_dir_check()),
 * read by its name, gone when its ACL is read (after its status was
 * looked at: whoever may write its parent removed or replaced it): refused
 * as removed or replaced, saying what to do (run again; if it recurs,
 * find what changes the directory above it). Before, only what happened.
 */
static void
conf_dir_gone(void)
{
	char out[DIAG_MSG_MAX], want[1200];
	struct conf_dir_refusal why;

	xattr_gone = "/gonedir";
	ok(conf_trust_dir_check(tpath("gonedir"), CONF_TRUST_PROGRAM, out,
	                        sizeof(out), &why) == -1,
	   "a directory gone at its ACL's read: refused");
	xattr_gone = NULL;
	ok(why.rule == CONF_DIR_MORE &&
	       strncmp(out + why.reason, "; run mta-sts-sync again", 24) == 0,
	   "a directory gone at its ACL's read: its reason ends before the "
	   "advice (%s)",
	   out + why.reason);
	snprintf(want, sizeof(want),
	         "No such file or directory (removed or replaced while it was "
	         "checked): not trusted, as whoever may do so could change the "
	         "command mta-sts-sync runs (publish-command); run "
	         "mta-sts-sync again, and if this recurs, find what changes %s "
	         "while it runs (auditctl -w %s -p wa)",
	         tmpdir, tmpdir);
	like(out, want, "a directory gone at its ACL's read: what to do");
}

/*
 * A directory refused by conf_trust_dir_check() tells its caller the rule
 * it broke and where its reason ends, for a caller that gives other
 * advice (a PATH entry): others may write it, and (as root) it belongs to
 * another user.
 */
static void
conf_dir_refusal(void)
{
	char out[DIAG_MSG_MAX], want[PATH_MAX + 128];
	struct conf_dir_refusal why;
	const char *dir = tpath("opendir");
	int rc;

	mkdir(dir, 0755);
	chmod(dir, 0777);
	rc = conf_trust_dir_check(dir, CONF_TRUST_PROGRAM, out, sizeof(out),
	                          &why);
	ok(rc == -1 && why.rule == CONF_DIR_OTHERS,
	   "a directory others may write: refused as such");
	snprintf(want, sizeof(want), "; chmod o-w %s", dir);
	ok(rc == -1 && strcmp(out + why.reason, want) == 0,
	   "... its reason ends before its advice (%s)", out + why.reason);
	chmod(dir, 0755);
	if (geteuid() == 0 && chown(dir, 65534, 65534) == 0) {
		rc = conf_trust_dir_check(dir, CONF_TRUST_PROGRAM, out,
		                          sizeof(out), &why);
		snprintf(want, sizeof(want), "; chown root %s", dir);
		ok(rc == -1 && why.rule == CONF_DIR_OWNER &&
		       strcmp(out + why.reason, want) == 0,
		   "a directory of another user: refused as such, its reason "
		   "ending before its advice (%s)",
		   out + why.reason);
	} else
		ok(1, "# SKIP not root: cannot give a directory away");
	ok(rmdir(dir) == 0, "a refused directory: removed");
}

/* A new directory tmpdir/dir (mode 0755) holding a.conf, a minimal
 * configuration: its path, in a static buffer. */
static const char *
dir_conf(const char *dir)
{
	static char path[512];
	char name[256];

	mkdir(tpath(dir), 0755);
	snprintf(name, sizeof(name), "%s/a.conf", dir);
	write_file(name, KEY_STMT DOMAIN_OK "};\n", 0600);
	snprintf(path, sizeof(path), "%s", tpath(name));
	return path;
}

/* conf_load() of path, d cleared first. */
static struct conf *
conf_load_new(const char *path, struct diag *d)
{
	diag_init(d);
	return conf_load(path, d);
}

/*
 * A directory on the way that cannot be looked at for a reason that is
 * no change (a network file system's server down, an automount that
 * failed) is said as itself: not blamed on someone who removed or
 * replaced it, with the advice to check its server. Before, every such
 * error was "removed or replaced while it was checked".
 */
static void
conf_dir_unreachable(void)
{
	const char *path = dir_conf("hostdown");
	char out[DIAG_MSG_MAX];
	struct stat st;

	stat(path, &st);

	fail_at = "hostdown";
	fail_errno = EHOSTDOWN;
	ok(conf_trust_check(path, -1, &st, CONF_TRUST_CONF, out, sizeof(out)) ==
	       -1,
	   "a directory on the way whose server is down: refused");
	fail_at = NULL;
	like(out,
	     "hostdown: Host is down: not trusted until they can be; if it "
	     "is on a network file system or an automount, check that its "
	     "server answers, then run mta-sts-sync again",
	     "a directory on the way whose server is down: said as such");
	ok(strstr(out, "removed or replaced") == NULL,
	   "a directory on the way whose server is down: no change blamed");
	fail_at = "hostdown";
	fail_errno = ENOENT;
	ok(conf_trust_check(path, -1, &st, CONF_TRUST_CONF, out, sizeof(out)) ==
	       -1,
	   "a directory on the way gone: refused");
	fail_at = NULL;
	like(out, "No such file or directory (removed or replaced",
	     "a directory on the way gone: a change, as before");
}

/*
 * Without /proc (a chroot, a minimal container), a configuration loads:
 * the ACL of each directory on its way is read from a descriptor opened
 * through "." of the walk's own. Before, it was read through
 * /proc/self/fd, and every configuration was refused as "removed or
 * replaced while it was checked". Where that open is refused too (a
 * directory a user may not read), the refusal says /proc is missing.
 */
static void
test_acl_no_proc(void)
{
	struct diag d;
	struct conf *c;
	const char *path = dir_conf("noproc");

	no_proc = 1;
	c = conf_load_new(path, &d);
	ok(c != NULL, "no /proc: a configuration loads (%s)", d.error);
	conf_free(c);
	dot_refused = 1;
	c = conf_load_new(path, &d);
	dot_refused = no_proc = 0;
	ok(c == NULL, "no /proc, a directory that cannot be opened: refused");
	like(d.error,
	     ": its ACL cannot be read: /proc, through which it is read, is "
	     "not mounted: mount proc (mount -t proc proc /proc), or run "
	     "mta-sts-sync where it is",
	     "... saying /proc is not mounted");
	ok(strstr(d.error, "removed or replaced") == NULL,
	   "... not that it was replaced");
	conf_free(c);
}

/*
 * A directory on the way to a configuration is judged from the
 * descriptor the walk entered it by: its ACL read from there, not by its
 * name, which here finds nothing (as if whoever may write its parent had
 * removed or replaced it just then). Before, the directory was looked at
 * by name after the walk, and the file was refused as "removed or
 * replaced while it was checked", though the walk had gone through it.
 */
static void
test_acl_dir_gone(void)
{
	struct diag d;
	struct conf *c;
	const char *path = dir_conf("gonedir");

	xattr_gone = "/gonedir";
	c = conf_load_new(path, &d);
	xattr_gone = NULL;
	ok(c != NULL,
	   "a directory on the way, gone by name at its ACL's read: judged "
	   "from the walk's descriptor, loads (%s)",
	   d.error);
	conf_free(c);
	conf_dir_gone();
	conf_dir_refusal();
	conf_dir_unreachable();
	ok(unlink(tpath("gonedir/a.conf")) == 0 && rmdir(tpath("gonedir")) == 0,
	   "gonedir removed");
}

/*
 * An ACL too large for the buffer at the first read and small enough at
 * the look at its size (it shrank in between) is read again and judged:
 * before, it was refused as "it has 3 entries, more than 512". One of
 * more than 512 entries is still refused, counted.
 */
static void
test_acl_shrank(void)
{
	/* u::rw-, g::r--, o::r--: version 2, then 3 entries */
	static const unsigned char small[] = {
	    2,    0,    0,    0, 0x01, 0,    6,    0,    0xff, 0xff,
	    0xff, 0xff, 0x04, 0, 4,    0,    0xff, 0xff, 0xff, 0xff,
	    0x20, 0,    4,    0, 0xff, 0xff, 0xff, 0xff};
	static unsigned char big[4 + 8 * 600];
	struct diag d;
	struct conf *c;

	write_file("shrank.conf", NOKEY_CONF, 0644);
	c = load_with_acl("shrank.conf", small, sizeof(small), 1, &d);
	ok(c != NULL, "an ACL that shrank while read: read again (%s)",
	   d.error);
	conf_free(c);
	memcpy(big, small, sizeof(small));
	c = load_with_acl("shrank.conf", big, sizeof(big), 0, &d);
	ok(c == NULL, "an ACL of 600 entries: refused");
	like(d.error,
	     "its ACL cannot be read (it has 600 entries, more than 512)",
	     "an ACL of 600 entries: ... counted");
	conf_free(c);
	ok(unlink(tpath("shrank.conf")) == 0, "shrank.conf removed");
}

/*
 * An ACL with an entry of a tag that acl.c does not know (0x40), or with
 * two mask entries, is refused as one not understood: before, the entry
 * was skipped and the last mask taken, and the file loaded.
 */
static void
test_acl_not_understood(void)
{
	/* u::rw-, g::r--, TAG::rwx (id 65534), o::r-- */
	static unsigned char acl[] = {
	    2,    0,    0, 0, 0x01, 0,    6,    0,    0xff, 0xff, 0xff, 0xff,
	    0x04, 0,    4, 0, 0xff, 0xff, 0xff, 0xff, 0x40, 0,    7,    0,
	    0xfe, 0xff, 0, 0, 0x20, 0,    4,    0,    0xff, 0xff, 0xff, 0xff};
	struct diag d;
	struct conf *c;

	write_file("tags.conf", NOKEY_CONF, 0644);
	c = load_with_acl("tags.conf", acl, sizeof(acl), 0, &d);
	ok(c == NULL, "an ACL entry of unknown tag 0x40: refused");
	like(d.error,
	     "its ACL cannot be read (it has an entry of unknown tag "
	     "0x40)",
	     "an ACL entry of unknown tag 0x40: ... said so");
	conf_free(c);
	acl[20] = 0x10; /* a second mask, after g:: */
	acl[12] = 0x10; /* the first in place of g:: */
	c = load_with_acl("tags.conf", acl, sizeof(acl), 0, &d);
	ok(c == NULL, "an ACL with two masks: refused");
	like(d.error, "its ACL cannot be read (it has 2 mask entries, not one)",
	     "an ACL with two masks: ... said so");
	conf_free(c);
	ok(unlink(tpath("tags.conf")) == 0, "tags.conf removed");
}

/* conf_load() of tmpdir/name, the file or directory whose name ends
 * with at having an ACL of another model (its attribute xattr): refused,
 * with want in the reason (what: the case). */
static void
model_refused(const char *name, const char *xattr, const char *at,
              const char *want, const char *what)
{
	struct diag d;
	struct conf *c;

	fake_model_xattr = xattr;
	fake_model_at = at;
	diag_init(&d);
	c = conf_load(tpath(name), &d);
	fake_model_at = NULL;
	ok(c == NULL, "%s: refused", what);
	like(d.error, want, "%s: said so", what);
	conf_free(c);
}

/* keyfile_load() of tmpdir/name, its file having an ACL of another
 * model (its attribute xattr; NULL: none, as on an SMB mount): refused,
 * with want in the reason (what: the case). */
static void
key_model_refused(const char *name, const char *xattr, const char *want,
                  const char *what)
{
	char at[64];
	struct tsig_key key;
	struct diag d;

	snprintf(at, sizeof(at), "/%s", name);
	fake_model_xattr = xattr;
	fake_model_at = at;
	diag_init(&d);
	ok(keyfile_load(tpath(name), NULL, &key, &d) == -1, "%s: refused",
	   what);
	fake_model_at = NULL;
	like(d.error, want, "%s: said so", what);
}

/*
 * A file or directory whose ACL is of a model not judged (an SMB mount's
 * system.cifs_acl), or whose NFSv4 ACL (system.nfs4_acl) cannot be read,
 * which the server enforces and the mode does not bound, is refused,
 * named with what to do: a configuration, a directory on the way to one,
 * a key file of mode 0600. Before, it was taken as a file without an
 * ACL, and loaded whatever its ACL let another user do.
 */
static void
test_acl_other_model(void)
{
	struct tsig_key key;
	struct diag d;
	struct conf *c;
	char want[1024];

	write_file("nfs.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	snprintf(want, sizeof(want),
	         "%s: configuration file: its ACL cannot be read (an NFSv4 ACL "
	         "that counts 1 entries in 12 bytes), so who may write it, and "
	         "make mta-sts-sync run a command (publish-command), cannot be "
	         "told; nfs4_getfacl %s shows it, nfs4_setfacl -e %s mends it",
	         tpath("nfs.conf"), tpath("nfs.conf"), tpath("nfs.conf"));
	model_refused("nfs.conf", "system.nfs4_acl", "/nfs.conf", want,
	              "a configuration with an NFSv4 ACL cut short");
	snprintf(want, sizeof(want),
	         "%s: configuration file: it has an SMB (CIFS) ACL "
	         "(system.cifs_acl), which its server enforces and "
	         "mta-sts-sync cannot judge, so who may write it, and make "
	         "mta-sts-sync run a command (publish-command), cannot be "
	         "told from its mode; move it to a local file system: keep the "
	         "configuration in directories of root (as /etc)",
	         tpath("nfs.conf"));
	model_refused("nfs.conf", "system.cifs_acl", "/nfs.conf", want,
	              "a configuration with an SMB ACL");
	mkdir(tpath("nfsdir"), 0755);
	write_file("nfsdir/a.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	model_refused(
	    "nfsdir/a.conf", "system.nfs4_acl", "/nfsdir",
	    "/nfsdir: its ACL cannot be read (an NFSv4 ACL that counts "
	    "1 entries in 12 bytes)",
	    "a directory with an NFSv4 ACL cut short on the way");

	write_file("nfs.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	key_model_refused(
	    "nfs.key", "system.cifs_acl",
	    "nfs.key: key file has an SMB (CIFS) ACL (system.cifs_acl), which "
	    "its server enforces and mta-sts-sync cannot judge, so who may "
	    "read the secret cannot be told from its mode; move it to a local "
	    "file system",
	    "a key file of mode 0600 with an SMB ACL");
	key_model_refused(
	    "nfs.key", "system.nfs4_acl",
	    "nfs.key: key file has an NFSv4 ACL that cannot be read (an NFSv4 "
	    "ACL that counts 1 entries in 12 bytes), so who may read the "
	    "secret cannot be told; nfs4_getfacl ",
	    "a key file of mode 0600 with an NFSv4 ACL cut short");
	diag_init(&d);
	c = conf_load(tpath("nfsdir/a.conf"), &d);
	ok(c != NULL, "the same on a local file system: loads (%s)", d.error);
	conf_free(c);
	ok(keyfile_load(tpath("nfs.key"), NULL, &key, &d) == 0,
	   "the key file on a local file system: loads (%s)", d.error);
	unlink(tpath("nfs.conf"));
	unlink(tpath("nfs.key"));
	unlink(tpath("nfsdir/a.conf"));
	ok(rmdir(tpath("nfsdir")) == 0, "nfsdir removed");
}

/* NFSv4 ACL mask bits and flags (RFC 7530 section 6.2.1.3.1, 6.2.1.4),
 * and the masks nfs4_getfacl shows as "rwatTcCy" (an owner of mode
 * rw-), "tcy" (---), "rtcy" (r--), "rwaDxtTcCy" (a directory's rwx),
 * "rxtcy" (a directory's r-x). */
#define NFS4_R 0x1u
#define NFS4_W 0x2u
#define NFS4_A 0x4u
#define NFS4_DCHILD 0x40u
#define NFS4_TCY 0x120080u
#define NFS4_OWNER_RW 0x160187u
#define NFS4_DIR_RWX 0x1601e7u
#define NFS4_DIR_RX 0x1200a1u
#define NFS4_INHERIT_ONLY 0x8u
/* the entries the Linux server gives a file of mode 0600 */
#define NFS4_MIRROR_0600                                                       \
	{0, 0, NFS4_OWNER_RW, "OWNER@"}, {0, 0x40, NFS4_TCY, "GROUP@"},        \
	{                                                                      \
		0, 0, NFS4_TCY, "EVERYONE@"                                    \
	}

/* The n entries e made the NFSv4 ACL of the file or directory whose name
 * ends with at (fake_model_at), in buf (size bytes); b bytes of it given
 * (0: all), as when it is cut short. */
static void
nfs4_fake(const char *at, const struct nfs4_ace_spec *e, size_t n,
          unsigned char *buf, size_t size, size_t b)
{
	size_t len = nfs4_acl_blob(e, n, buf, size);

	fake_model_at = at;
	fake_model_xattr = "system.nfs4_acl";
	fake_model_blob = buf;
	fake_model_len = b > 0 ? b : len;
}

/* No NFSv4 ACL faked any more. */
static void
nfs4_fake_end(void)
{
	fake_model_at = NULL;
	fake_model_xattr = NULL;
	fake_model_blob = NULL;
	fake_model_len = 0;
}

/* A case of an NFSv4 ACL given to a configuration or a directory: its
 * entries, what a load says (NULL: it loads). */
struct nfs4_case {
	const char *what;
	struct nfs4_ace_spec e[4];
	size_t n;
	const char *want;
};

/* conf_load() of tmpdir/name, whose file or directory at has the ACL of
 * k: loads, or refused saying k->want. */
static void
nfs4_case_run(const char *name, const char *at, const struct nfs4_case *k)
{
	unsigned char buf[1024];
	struct diag d;
	struct conf *c;

	nfs4_fake(at, k->e, k->n, buf, sizeof(buf), 0);
	diag_init(&d);
	c = conf_load(tpath(name), &d);
	nfs4_fake_end();
	if (k->want == NULL) {
		ok(c != NULL, "%s: loads (%s)", k->what, d.error);
	} else {
		ok(c == NULL, "%s: refused", k->what);
		like(d.error, k->want, "%s: said so", k->what);
	}
	conf_free(c);
}

/*
 * An NFSv4 ACL is judged as a POSIX one is, where before any file with
 * one was refused: one that mirrors the mode, as the Linux server makes,
 * loads; an entry that lets everyone, or a user that is not root or the
 * one running mta-sts-sync (a name of no certain id, an id), write the
 * configuration is refused, named, with the nfs4_setfacl to run. Entries
 * that grant nothing to the file itself (DENY, AUDIT, INHERIT_ONLY) are
 * passed over; an entry of unknown type or flags is refused.
 */
static void
test_acl_nfs4_conf(void)
{
	static const struct nfs4_case cases[] = {
	    {"an NFSv4 ACL that mirrors mode 0600",
	     {NFS4_MIRROR_0600},
	     3,
	     NULL},
	    {"an NFSv4 ACL whose EVERYONE@ may write",
	     {{0, 0, NFS4_OWNER_RW, "OWNER@"},
	      {0, 0, NFS4_R | NFS4_W | NFS4_A | NFS4_TCY, "EVERYONE@"}},
	     2,
	     "nfs.conf: configuration file has an NFSv4 ACL whose entry 2 "
	     "(A::EVERYONE@:rwatcy) lets everyone (EVERYONE@) write it: "
	     "anyone could make mta-sts-sync run a command (publish-command); "
	     "nfs4_setfacl -x 'A::EVERYONE@:rwatcy' "},
	    {"an NFSv4 ACL that lets a named user write",
	     {{0, 0, NFS4_OWNER_RW, "OWNER@"},
	      {0, 0, NFS4_W | NFS4_A, "deploy@example.com"}},
	     2,
	     "has an NFSv4 ACL whose entry 2 (A::deploy@example.com:wa) lets "
	     "user deploy@example.com write it: that user could make "
	     "mta-sts-sync run a command (publish-command); nfs4_setfacl -x "
	     "'A::deploy@example.com:wa' "},
	    {"an NFSv4 ACL that lets group 4242 write",
	     {{0, 0x40, NFS4_W, "4242"}},
	     1,
	     "has an NFSv4 ACL whose entry 1 (A:g:4242:w) lets group "},
	    {"an NFSv4 ACL whose AUTHENTICATED@ may take the file over",
	     {{0, 0, 0x80000, "AUTHENTICATED@"}},
	     1,
	     "lets the users of AUTHENTICATED@ write it: anyone could"},
	    {"an NFSv4 ACL of a principal no shell takes as it is",
	     {{0, 0, NFS4_W, "it's@example.com"}},
	     1,
	     "write it: that user could make mta-sts-sync run a command "
	     "(publish-command); nfs4_setfacl -e "},
	    {"an NFSv4 ACL with a mask bit not known",
	     {{0, 0, 0x800000, "EVERYONE@"}},
	     1,
	     "whose entry 1 (A::EVERYONE@:+0x800000) lets everyone"},
	    {"an NFSv4 ACL whose INHERIT_ONLY entry lets everyone write",
	     {{0, NFS4_INHERIT_ONLY | 0x3, NFS4_W | NFS4_A, "EVERYONE@"}},
	     1,
	     NULL},
	    {"an NFSv4 ACL whose DENY, AUDIT and ALARM entries name everyone",
	     {{1, 0, NFS4_W, "EVERYONE@"},
	      {2, 0x10, NFS4_W, "EVERYONE@"},
	      {3, 0x20, NFS4_W, "EVERYONE@"}},
	     3,
	     NULL},
	    {"an NFSv4 ACL whose GROUP@ may write a file that holds a key",
	     {{0, 0x40, NFS4_W | NFS4_A, "GROUP@"}},
	     1,
	     "this file holds a TSIG secret but has an NFSv4 ACL whose entry 1 "
	     "(A:g:GROUP@:wa) lets its group "},
	    {"an NFSv4 ACL whose DELETE_CHILD for everyone is a file's",
	     {{0, 0, NFS4_DCHILD, "EVERYONE@"}},
	     1,
	     NULL},
	    {"an NFSv4 ACL entry of unknown type",
	     {{0, 0, NFS4_OWNER_RW, "OWNER@"}, {4, 0, NFS4_R, "EVERYONE@"}},
	     2,
	     "its ACL cannot be read (NFSv4 ACL entry 2 is of unknown type 4)"},
	    {"an NFSv4 ACL entry of unknown flags",
	     {{2, 0x100, NFS4_R, "EVERYONE@"}},
	     1,
	     "its ACL cannot be read (NFSv4 ACL entry 1 has unknown flags "
	     "0x100)"},
	};

	write_file("nfs.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		nfs4_case_run("nfs.conf", "/nfs.conf", &cases[i]);
	unlink(tpath("nfs.conf"));
}

/* The name of the running user, "" when it has none. */
static const char *
my_name(void)
{
	struct passwd *pw = getpwuid(geteuid());

	return pw != NULL ? pw->pw_name : "";
}

/*
 * Principals of NFSv4 entries passed over: the running user's id, and
 * that user's name at a domain; GROUP@, whose write a configuration's
 * group may have. A directory on the way whose ACL lets
 * everyone add or remove an entry (ADD_FILE, DELETE_CHILD) is refused,
 * as a directory its mode lets them write is.
 */
static void
test_acl_nfs4_principals(void)
{
	char me[32], named[300];
	struct nfs4_case runner = {
	    "an NFSv4 ACL that lets the running user's id write",
	    {{0, 0, NFS4_W | NFS4_A, me}},
	    1,
	    NULL};
	const struct nfs4_case group_w = {
	    "an NFSv4 ACL whose GROUP@ may write (a configuration's group is "
	    "trusted)",
	    {{0, 0, NFS4_OWNER_RW, "OWNER@"},
	     {0, 0x40, NFS4_R | NFS4_W | NFS4_A | NFS4_TCY, "GROUP@"}},
	    2,
	    NULL};
	const struct nfs4_case dir_ok = {
	    "a directory whose NFSv4 ACL mirrors mode 0755",
	    {{0, 0, NFS4_DIR_RWX, "OWNER@"},
	     {0, 0x40, NFS4_DIR_RX, "GROUP@"},
	     {0, 0, NFS4_DIR_RX, "EVERYONE@"}},
	    3,
	    NULL};
	const struct nfs4_case dir_child = {
	    "a directory whose NFSv4 ACL lets everyone remove an entry",
	    {{0, 0, NFS4_DIR_RWX, "OWNER@"},
	     {0, 0, NFS4_DIR_RX | NFS4_DCHILD, "EVERYONE@"}},
	    2,
	    "/nfsdir has an NFSv4 ACL whose entry 2 (A::EVERYONE@:rDxtcy) lets "
	    "everyone (EVERYONE@) write it: anyone could put another file in "
	    "its place and make mta-sts-sync run a command (publish-command); "
	    "nfs4_setfacl -x 'A::EVERYONE@:rDxtcy' "};

	write_file("nfs.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	snprintf(me, sizeof(me), "%u", (unsigned)geteuid());
	nfs4_case_run("nfs.conf", "/nfs.conf", &runner);
	if (my_name()[0] == '\0') {
		ok(1, "# SKIP the running user has no name");
	} else {
		snprintf(named, sizeof(named), "%s@example.org", my_name());
		runner.what = "an NFSv4 ACL that lets the running user's name "
		              "write";
		runner.e[0].who = named;
		nfs4_case_run("nfs.conf", "/nfs.conf", &runner);
	}
	unlink(tpath("nfs.conf"));
	write_file("nfskeys.conf", KEY_STMT, 0600);
	write_file("nfsg.conf", "include \"nfskeys.conf\";\n" DOMAIN_OK "};\n",
	           0660);
	nfs4_case_run("nfsg.conf", "/nfsg.conf", &group_w);
	unlink(tpath("nfsg.conf"));
	unlink(tpath("nfskeys.conf"));
	mkdir(tpath("nfsdir"), 0755);
	write_file("nfsdir/a.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	nfs4_case_run("nfsdir/a.conf", "/nfsdir", &dir_ok);
	nfs4_case_run("nfsdir/a.conf", "/nfsdir", &dir_child);
	unlink(tpath("nfsdir/a.conf"));
	rmdir(tpath("nfsdir"));
}

/* conf_load() of tmpdir/nfs.conf, whose NFSv4 ACL is the b bytes of
 * blob (of len bytes): refused, saying want. */
static void
nfs4_blob_refused(const unsigned char *blob, size_t len, size_t b,
                  const char *want, const char *what)
{
	struct diag d;
	struct conf *c;

	fake_model_at = "/nfs.conf";
	fake_model_xattr = "system.nfs4_acl";
	fake_model_blob = blob;
	fake_model_len = b > 0 ? b : len;
	diag_init(&d);
	c = conf_load(tpath("nfs.conf"), &d);
	nfs4_fake_end();
	ok(c == NULL, "%s: refused", what);
	like(d.error, want, "%s: said so", what);
	conf_free(c);
}

/*
 * An NFSv4 ACL that is cut short, counts more entries than its bytes
 * hold, has bytes after its entries, has more than 512 entries, or is
 * larger than the NFS client's 64 KiB, is refused as one that cannot be
 * read, saying which.
 */
static void
test_acl_nfs4_bounds(void)
{
	static const struct nfs4_ace_spec e[] = {
	    NFS4_MIRROR_0600,
	};
	static unsigned char many[4 + 513 * 16];
	unsigned char buf[256];
	size_t len = nfs4_acl_blob(e, 3, buf, sizeof(buf));

	write_file("nfs.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	nfs4_blob_refused(buf, len, len - 2,
	                  "its ACL cannot be read (NFSv4 ACL entry 3 is cut "
	                  "short)",
	                  "an NFSv4 ACL cut short");
	buf[3] = 9;
	nfs4_blob_refused(
	    buf, len, 0,
	    "its ACL cannot be read (an NFSv4 ACL that counts 9 "
	    "entries in ",
	    "an NFSv4 ACL that counts more entries than it holds");
	buf[3] = 2;
	nfs4_blob_refused(
	    buf, len, 0,
	    "its ACL cannot be read (28 bytes after the 2 entries "
	    "of an NFSv4 ACL)",
	    "an NFSv4 ACL with bytes after its entries");
	buf[3] = 3;
	buf[4 + 12 + 3] = 0xff; /* OWNER@'s length: 255, past the end */
	nfs4_blob_refused(buf, len, 0,
	                  "its ACL cannot be read (NFSv4 ACL entry 1 is cut "
	                  "short)",
	                  "an NFSv4 ACL whose principal runs past its end");
	many[2] = 513 >> 8;
	many[3] = 513 & 0xff;
	for (size_t i = 0; i < 513; i++)
		many[4 + i * 16 + 3] = 2; /* AUDIT, of an empty principal */
	nfs4_blob_refused(many, sizeof(many), 0,
	                  "its ACL cannot be read (it has 513 entries, more "
	                  "than 512)",
	                  "an NFSv4 ACL of 513 entries");
	nfs4_blob_refused(buf, 70000, 0,
	                  "its ACL cannot be read (it is an NFSv4 ACL of 70000 "
	                  "bytes, more than 65536)",
	                  "an NFSv4 ACL larger than 64 KiB");
	unlink(tpath("nfs.conf"));
}

/*
 * A program of root's, mode 0755, of a group that is not trusted, whose
 * NFSv4 ACL lets that group write it, through GROUP@ or an entry that
 * names the group (by number, by name), is refused naming that entry and
 * its nfs4_setfacl -x: before, the message quoted the mode ("mode 0755")
 * and advised chmod g-w, which need not take the entry away.
 */
static void
test_acl_nfs4_group(void)
{
	struct nfs4_ace_spec e[] = {{0, 0x40, NFS4_W | NFS4_A, "GROUP@"}};
	const char *whos[] = {"GROUP@", "65534", "nogroup@localdomain"};
	unsigned char buf[256];
	char out[2048], want[512];
	struct stat st;

	if (geteuid() != 0 || getgrgid(65534) == NULL ||
	    strcmp(getgrgid(65534)->gr_name, "nogroup") != 0) {
		for (int i = 0; i < 6; i++)
			ok(1, "# SKIP not root, or no group nogroup (65534)");
		return;
	}
	write_file("nfsprog", "#!/bin/sh\n", 0755);
	if (chown(tpath("nfsprog"), 0, 65534) == -1 ||
	    chmod(tpath("nfsprog"), 0755) == -1)
		printf("# nfsprog: %s\n", strerror(errno));
	for (size_t i = 0; i < sizeof(whos) / sizeof(whos[0]); i++) {
		e[0].who = whos[i];
		nfs4_fake("/nfsprog", e, 1, buf, sizeof(buf), 0);
		stat(tpath("nfsprog"), &st);
		conf_trust_check(tpath("nfsprog"), -1, &st, CONF_TRUST_PROGRAM,
		                 out, sizeof(out));
		nfs4_fake_end();
		snprintf(want, sizeof(want),
		         "program has an NFSv4 ACL whose entry 1 (A:g:%s:wa) "
		         "lets group nogroup (gid 65534) write it: any member "
		         "could change the command mta-sts-sync runs "
		         "(publish-command); nfs4_setfacl -x 'A:g:%s:wa' %s",
		         whos[i], whos[i], tpath("nfsprog"));
		like(out, want,
		     "a program whose NFSv4 ACL lets its group write it (%s): "
		     "that entry named",
		     whos[i]);
		ok(strstr(out, "chmod g-w") == NULL,
		   "a program whose NFSv4 ACL lets its group write it (%s): no "
		   "chmod g-w",
		   whos[i]);
	}
	unlink(tpath("nfsprog"));
}

/*
 * A program whose NFSv4 ACL lets group staff (trusted, as root's and the
 * running user's are) write it passes whether the entry names staff by
 * number or by name at a domain, as mta-sts-sync.conf(5) says: before,
 * "staff@localdomain" was refused as a name of no certain id.
 */
static void
test_acl_nfs4_staff(void)
{
	struct nfs4_ace_spec e[] = {{0, 0, NFS4_OWNER_RW, "OWNER@"},
	                            {0, 0x40, NFS4_W | NFS4_A, ""}};
	struct group *gr = getgrnam("staff");
	char num[16], out[2048];
	unsigned char buf[256];
	struct stat st;
	int rc;

	if (gr == NULL) {
		for (int i = 0; i < 2; i++)
			ok(1, "# SKIP no group staff");
		return;
	}
	snprintf(num, sizeof(num), "%u", (unsigned)gr->gr_gid);
	write_file("staffprog", "#!/bin/sh\n", 0755);
	for (int i = 0; i < 2; i++) {
		e[1].who = i == 0 ? num : "staff@localdomain";
		nfs4_fake("/staffprog", e, 2, buf, sizeof(buf), 0);
		stat(tpath("staffprog"), &st);
		out[0] = '\0';
		rc = conf_trust_check(tpath("staffprog"), -1, &st,
		                      CONF_TRUST_PROGRAM, out, sizeof(out));
		nfs4_fake_end();
		ok(rc == 0,
		   "a program whose NFSv4 ACL lets group staff write it, named "
		   "%s: passes (%s)",
		   e[1].who, out);
	}
	unlink(tpath("staffprog"));
}

/*
 * A key file of mode 0600 whose NFSv4 ACL lets its own group read it
 * through an entry that names the group (by number, by name) is refused
 * naming that entry and its nfs4_setfacl -x: before, the message said
 * "GROUP@", which the ACL has none of.
 */
static void
test_acl_nfs4_key_group(void)
{
	struct nfs4_ace_spec e[] = {{0, 0, NFS4_OWNER_RW, "OWNER@"},
	                            {0, 0x40, NFS4_R, ""}};
	struct group *gr = getgrgid(getegid());
	char num[16], named[300], want[1024], grp[128];
	unsigned char buf[256];
	struct tsig_key key;
	struct diag d;

	snprintf(num, sizeof(num), "%u", (unsigned)getegid());
	snprintf(named, sizeof(named), "%s@localdomain",
	         gr != NULL ? gr->gr_name : num);
	write_file("nfsg.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	for (int i = 0; i < 2; i++) {
		e[1].who = i == 0 ? num : named;
		nfs4_fake("/nfsg.key", e, 2, buf, sizeof(buf), 0);
		diag_init(&d);
		ok(keyfile_load(tpath("nfsg.key"), NULL, &key, &d) == -1,
		   "a key file whose NFSv4 ACL names its own group (%s): "
		   "refused",
		   e[1].who);
		nfs4_fake_end();
		snprintf(want, sizeof(want),
		         "key file has an NFSv4 ACL whose entry 2 (A:g:%s:r) "
		         "lets its group %s read or write it; nfs4_setfacl -x "
		         "'A:g:%s:r' %s",
		         e[1].who, group_shown(getegid(), grp, sizeof(grp)),
		         e[1].who, tpath("nfsg.key"));
		like(
		    d.error, want,
		    "a key file whose NFSv4 ACL names its own group (%s): that "
		    "entry named, not GROUP@",
		    e[1].who);
	}
	unlink(tpath("nfsg.key"));
}

/*
 * A secret is judged by who may read it: a key file of mode 0600 whose
 * NFSv4 ACL lets everyone read it is refused, named, as is a
 * configuration that holds a key statement; one whose ACL mirrors the
 * mode loads. Before, a key file of mode 0600 with any NFSv4 ACL was
 * refused, whatever its ACL said. One of mode 0640 whose NFSv4 ACL names
 * a reader is advised that entry's nfs4_setfacl -x before chmod 600,
 * which need not take it away.
 */
static void
test_acl_nfs4_secret(void)
{
	static const struct nfs4_ace_spec mirror[] = {
	    NFS4_MIRROR_0600,
	};
	static const struct nfs4_ace_spec named[] = {
	    {0, 0, NFS4_OWNER_RW, "OWNER@"},
	    {0, 0, NFS4_R | NFS4_TCY, "deploy@example.com"},
	    {0, 0x40, NFS4_R | NFS4_TCY, "GROUP@"},
	};
	static const struct nfs4_ace_spec readable[] = {
	    {0, 0, NFS4_OWNER_RW, "OWNER@"},
	    {0, 0, NFS4_R | NFS4_TCY, "EVERYONE@"},
	};
	static const struct nfs4_ace_spec two[] = {
	    {0, 0, NFS4_OWNER_RW, "OWNER@"},
	    {0, 0, NFS4_R | NFS4_TCY, "deploy@example.com"},
	    {0, 0, NFS4_R | NFS4_TCY, "backup@example.com"},
	};
	unsigned char buf[256];
	char want[1024];
	struct tsig_key key;
	struct diag d;
	struct conf *c;

	write_file("nfs.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	nfs4_fake("/nfs.key", mirror, 3, buf, sizeof(buf), 0);
	diag_init(&d);
	ok(keyfile_load(tpath("nfs.key"), NULL, &key, &d) == 0,
	   "a key file whose NFSv4 ACL mirrors mode 0600: loads (%s)", d.error);
	nfs4_fake("/nfs.key", readable, 2, buf, sizeof(buf), 0);
	diag_init(&d);
	ok(keyfile_load(tpath("nfs.key"), NULL, &key, &d) == -1,
	   "a key file of mode 0600 whose NFSv4 ACL lets everyone read it: "
	   "refused");
	like(d.error,
	     "nfs.key: key file has an NFSv4 ACL whose entry 2 "
	     "(A::EVERYONE@:rtcy) lets everyone (EVERYONE@) read or write it; "
	     "nfs4_setfacl -x 'A::EVERYONE@:rtcy' ",
	     "a key file whose NFSv4 ACL lets everyone read it: said so");
	chmod(tpath("nfs.key"), 0640);
	nfs4_fake("/nfs.key", named, 3, buf, sizeof(buf), 0);
	diag_init(&d);
	ok(keyfile_load(tpath("nfs.key"), NULL, &key, &d) == -1,
	   "a key file of mode 0640 whose NFSv4 ACL names a reader: refused");
	snprintf(want, sizeof(want),
	         "nfs.key: key file is readable by its group (mode 0640), and "
	         "its NFSv4 ACL's entry 2 (A::deploy@example.com:rtcy) lets "
	         "user deploy@example.com read it; nfs4_setfacl -x "
	         "'A::deploy@example.com:rtcy' %s; chmod 600 %s,",
	         tpath("nfs.key"), tpath("nfs.key"));
	like(d.error, want,
	     "a key file of mode 0640 whose NFSv4 ACL names a reader: said so, "
	     "its entry's nfs4_setfacl -x before chmod 600");
	/* two readers: the advice takes out the first, and says there is
	 * another (before, one refusal per entry, nothing said) */
	nfs4_fake("/nfs.key", two, 3, buf, sizeof(buf), 0);
	snprintf(want, sizeof(want),
	         "lets user deploy@example.com read it, and 1 more entry: "
	         "nfs4_getfacl %s lists them; nfs4_setfacl -x "
	         "'A::deploy@example.com:rtcy' ",
	         tpath("nfs.key"));
	key_fails(tpath("nfs.key"), NULL, want);
	/* of mode 0600: the same, the mode not refused */
	chmod(tpath("nfs.key"), 0600);
	snprintf(want, sizeof(want),
	         "read or write it, and 1 more entry: nfs4_getfacl %s lists "
	         "them; nfs4_setfacl -x ",
	         tpath("nfs.key"));
	key_fails(tpath("nfs.key"), NULL, want);
	chmod(tpath("nfs.key"), 0640);
	nfs4_fake_end();

	mkdir(tpath("sub"), 0755);
	write_file("sub/keys.conf", KEY_STMT, 0600);
	write_file("inc.conf", "include \"sub/keys.conf\";\n" DOMAIN_OK "};\n",
	           0600);
	nfs4_fake("/sub/keys.conf", readable, 2, buf, sizeof(buf), 0);
	diag_init(&d);
	c = conf_load(tpath("inc.conf"), &d);
	ok(c == NULL, "an included file of a key statement whose NFSv4 ACL "
	              "lets everyone read it: refused");
	like(
	    d.error,
	    "this file holds a TSIG secret but has an NFSv4 ACL whose entry 2 "
	    "(A::EVERYONE@:rtcy) lets everyone (EVERYONE@) read or write it; "
	    "nfs4_setfacl -x ",
	    "an included file of a key statement whose NFSv4 ACL lets everyone "
	    "read it: said so");
	conf_free(c);
	nfs4_fake("/sub/keys.conf", mirror, 3, buf, sizeof(buf), 0);
	diag_init(&d);
	c = conf_load(tpath("inc.conf"), &d);
	ok(c != NULL, "the same whose NFSv4 ACL mirrors mode 0600: loads (%s)",
	   d.error);
	conf_free(c);
	nfs4_fake_end();
	unlink(tpath("sub/keys.conf"));
	unlink(tpath("inc.conf"));
	unlink(tpath("nfs.key"));
	rmdir(tpath("sub"));
}

/* conf_load() of tmpdir/dir/a.conf, dir (mode 0755) being on a fake
 * mount (what): refused, with want in the reason, as it is and sticky
 * (the sticky bit of an SMB mount may be its dir_mode, that nobody
 * enforces, a FUSE mount's what its program likes: before, it passed). */
static void
mount_dir_refused(const char *dir, const char *want, const char *what)
{
	char conf[64], at[64], case_what[128];

	snprintf(conf, sizeof(conf), "%s/a.conf", dir);
	snprintf(at, sizeof(at), "/%s", dir);
	snprintf(case_what, sizeof(case_what), "a directory on the way on %s",
	         what);
	model_refused(conf, NULL, at, want, case_what);
	chmod(tpath(dir), 01777);
	snprintf(case_what, sizeof(case_what),
	         "a sticky directory on the way on %s", what);
	model_refused(conf, NULL, at, want, case_what);
	chmod(tpath(dir), 0755);
}

/*
 * A file on an SMB (CIFS) mount that shows no ACL attribute (its mode
 * may be made up by the mount's options) is refused, saying the
 * server's permissions cannot be checked: a configuration, a directory
 * on the way, a key file of mode 0600. Before, it passed on its mode
 * alone.
 */
static void
test_acl_smb_mount(void)
{
	char want[1024];

	write_file("smb.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	fake_smb = 1;
	snprintf(want, sizeof(want),
	         "%s: configuration file: it is on an SMB (CIFS) mount, whose "
	         "server enforces permissions of its own that mta-sts-sync "
	         "cannot check, so who may write it, and make mta-sts-sync run "
	         "a command (publish-command), cannot be told from its mode; "
	         "move it to a local file system: keep the configuration in "
	         "directories of root (as /etc)",
	         tpath("smb.conf"));
	model_refused("smb.conf", NULL, "/smb.conf", want,
	              "a configuration on an SMB mount");
	mkdir(tpath("smbdir"), 0755);
	write_file("smbdir/a.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	mount_dir_refused("smbdir", "/smbdir: it is on an SMB (CIFS) mount",
	                  "an SMB mount");
	write_file("smb.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	key_model_refused(
	    "smb.key", NULL,
	    "smb.key: key file is on an SMB (CIFS) mount, whose server "
	    "enforces permissions of its own that mta-sts-sync cannot check, "
	    "so who may read the secret cannot be told from its mode; move it "
	    "to a local file system",
	    "a key file of mode 0600 on an SMB mount");
	fake_smb = 0;
	unlink(tpath("smb.conf"));
	unlink(tpath("smb.key"));
	unlink(tpath("smbdir/a.conf"));
	rmdir(tpath("smbdir"));
}

/* Write tmpdir/mountinfo, for fake_mountinfo: the test directory's
 * device a FUSE mount of type at "/srv/www/t x" (escaped, as the kernel
 * writes it) made by uid (its super options: user_id=uid; when uid is
 * -1, none, as a virtiofs mount's), after a line of another device. */
static void
write_fuse_mountinfo(const char *type, long uid)
{
	char text[512], opts[64] = "rw";
	struct stat st;

	if (stat(tmpdir, &st) == -1)
		abort();
	if (uid >= 0)
		snprintf(opts, sizeof(opts), "rw,user_id=%ld,group_id=%ld", uid,
		         uid);
	snprintf(text, sizeof(text),
	         "29 1 %u:%u / / rw shared:1 - ext4 /dev/sda1 rw\n"
	         "52 29 %u:%u / /srv/www/t\\040x rw,nosuid,nodev shared:27 - "
	         "%s tenant@files:/www %s\n",
	         major(st.st_dev) + 1, minor(st.st_dev), major(st.st_dev),
	         minor(st.st_dev), type, opts);
	write_file("mountinfo", text, 0644);
	/* a file changed is no mount table changed: the kernel tells no
	 * change of it, so what the lookups keep is dropped by hand */
	mountinfo_forget();
}

/* dir_open_walked() of tmpdir/ln, a link of root's in tmpdir, to
 * fusedir, its directory (tmpdir) on a fake FUSE mount: ok when
 * want_ok, else refused with want in the reason (what: the case). */
static void
fuse_link_walked(int want_ok, const char *want, const char *what)
{
	struct diag d;
	char at[256];
	int fd = -1, rc;

	/* the directory the link is in is what the walk asks */
	snprintf(at, sizeof(at), "%s", strrchr(tmpdir, '/'));
	fake_model_at = at;
	diag_init(&d);
	rc = dir_open_walked(tpath("ln"), 0, &fd, &d);
	fake_model_at = NULL;
	if (fd != -1)
		close(fd);
	if (want_ok) {
		ok(rc == 0, "%s: followed (%s)", what, d.error);
		return;
	}
	ok(rc == -1, "%s: refused", what);
	like(d.error, want, "%s: said so", what);
}

/*
 * A FUSE mount shows whatever owners and modes its program likes: one
 * that another user made (user_id= in /proc/self/mountinfo) is refused,
 * named with its mount point and maker and what to do, for a
 * configuration, a directory on the way, a sticky one, a key file of mode
 * 0600, and a link of "root's" on the way to a policy-file's directory;
 * so is one whose maker cannot be told (mountinfo unreadable, no
 * user_id=); one of root's, or a virtiofs mount, is trusted. Before,
 * they passed on the owners and modes shown, and a policy-file's link on
 * an SMB mount was followed too.
 */
static void
test_acl_fuse_mount(void)
{
	static char mountinfo[512];
	char want[1024], who[128];
	struct diag d;
	struct conf *c;

	write_file("fuse.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	mkdir(tpath("fusedir"), 0755);
	write_file("fusedir/a.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	write_file("fuse.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	symlink(tpath("fusedir"), tpath("ln"));
	fake_fuse = 1;
	snprintf(mountinfo, sizeof(mountinfo), "%s", tpath("mountinfo"));
	fake_mountinfo = mountinfo;
	write_fuse_mountinfo("fuse.sshfs", 4242);
	user_shown(4242, who, sizeof(who));
	snprintf(want, sizeof(want),
	         "%s: configuration file: it is on a FUSE mount (fuse.sshfs) "
	         "at /srv/www/t x made by %s, whose program shows "
	         "whatever owners and modes it likes, so who may write it, "
	         "and make mta-sts-sync run a command (publish-command), "
	         "cannot be told from its mode; mount it as root, or keep the "
	         "file elsewhere: keep the configuration in directories of "
	         "root (as /etc)",
	         tpath("fuse.conf"), who);
	model_refused("fuse.conf", NULL, "/fuse.conf", want,
	              "a configuration on another user's FUSE mount");
	mount_dir_refused("fusedir",
	                  "/fusedir: it is on a FUSE mount (fuse.sshfs) at "
	                  "/srv/www/t x made by ",
	                  "another user's FUSE mount");
	snprintf(want, sizeof(want),
	         "fuse.key: key file is on a FUSE mount (fuse.sshfs) at "
	         "/srv/www/t x made by %s, whose program shows whatever "
	         "owners and modes it likes, so who may read the secret cannot "
	         "be told from its mode; mount it as root, or keep the file "
	         "elsewhere",
	         who);
	key_model_refused("fuse.key", NULL, want,
	                  "a key file of mode 0600 on another user's FUSE "
	                  "mount");
	snprintf(want, sizeof(want),
	         "%s is a symbolic link (to \"%s\") in a directory that is on "
	         "a FUSE mount (fuse.sshfs) at /srv/www/t x made by %s, "
	         "whose program shows whatever owners and modes it likes: not "
	         "followed, as it could lead anywhere (another domain's "
	         "directory, a system one); mount it as root, or keep the file "
	         "elsewhere, or set policy-file to the real path",
	         tpath("ln"), tpath("fusedir"), who);
	fuse_link_walked(0, want,
	                 "a policy-file's link on another user's FUSE mount");

	/* what made it cannot be told: refused, saying why */
	fake_mountinfo_errno = EACCES;
	mountinfo_forget();
	model_refused("fuse.conf", NULL, "/fuse.conf",
	              "it is on a FUSE mount whose maker cannot be told "
	              "(/proc/self/mountinfo: Permission denied)",
	              "a FUSE mount, mountinfo unreadable");
	fake_mountinfo_errno = ENOENT;
	mountinfo_forget();
	model_refused("fuse.conf", NULL, "/fuse.conf",
	              "whose maker cannot be told (/proc/self/mountinfo cannot "
	              "be read, or has no line for it: is /proc mounted?)",
	              "a FUSE mount, no mountinfo");
	fake_mountinfo_errno = 0;
	write_file("mountinfo", "29 1 0:1 / / rw - ext4 /dev/sda1 rw\n", 0644);
	mountinfo_forget();
	model_refused("fuse.conf", NULL, "/fuse.conf", "or has no line for it",
	              "a FUSE mount without its line in mountinfo");
	write_fuse_mountinfo("fuse.sshfs", -1);
	model_refused("fuse.conf", NULL, "/fuse.conf",
	              "whose maker cannot be told (its line in "
	              "/proc/self/mountinfo shows no user_id)",
	              "a FUSE mount whose line shows no user_id");
	write_fuse_mountinfo("virtiofs", -1);

	/* a virtiofs mount (only root may make one), a mount of root's:
	 * trusted */
	fake_model_at = "/fuse.conf";
	diag_init(&d);
	c = conf_load(tpath("fuse.conf"), &d);
	fake_model_at = NULL;
	ok(c != NULL, "a configuration on a virtiofs mount: loads (%s)",
	   d.error);
	conf_free(c);
	write_fuse_mountinfo("fuse.sshfs", 0);
	fake_model_at = "/fusedir";
	diag_init(&d);
	c = conf_load(tpath("fusedir/a.conf"), &d);
	fake_model_at = NULL;
	ok(c != NULL, "a directory on root's FUSE mount: loads (%s)", d.error);
	conf_free(c);
	fuse_link_walked(1, NULL, "a policy-file's link on root's FUSE mount");
	fake_fuse = 0;
	/* an SMB mount's owners are its options: its links neither */
	fake_smb = 1;
	fuse_link_walked(0,
	                 "in a directory that is on an SMB (CIFS) mount, whose "
	                 "server enforces permissions of its own that "
	                 "mta-sts-sync cannot check: not followed, as it could "
	                 "lead anywhere (another domain's directory, a system "
	                 "one); move it to a local file system, or set "
	                 "policy-file to the real path",
	                 "a policy-file's link on an SMB mount");
	fake_smb = 0;
	fake_mountinfo = NULL;
	mountinfo_forget();
	unlink(tpath("ln"));
	unlink(tpath("mountinfo"));
	unlink(tpath("fuse.conf"));
	unlink(tpath("fuse.key"));
	unlink(tpath("fusedir/a.conf"));
	rmdir(tpath("fusedir"));
}

/*
 * A key file of mode 0600 whose readers cannot be told, its file
 * system's type unread (fstatfs(2) or statfs(2) failing with EIO), is
 * refused, saying why: before, keyfile_acl_other_words() found no words
 * for a failure other than an SMB or NFSv4 one, and the key passed.
 */
static void
test_key_readers_unknown(void)
{
	char buf[2 * PATH_MAX + 512];
	int fd;

	write_file("eio.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	fd = open(tpath("eio.key"), O_RDONLY | O_CLOEXEC);
	fake_model_at = "/eio.key";
	fake_statfs_errno = EIO;
	keyfile_acl_other_words(fd, tpath("eio.key"), 0100600, getegid(), buf,
	                        sizeof(buf));
	like(buf,
	     "is not trusted, as who may read it cannot be told: its ACL, or "
	     "the kind of its file system, could not be looked at "
	     "(Input/output error)",
	     "key readers unknown: refused, saying why");
	keyfile_acl_other_words(-1, tpath("eio.key"), 0100600, getegid(), buf,
	                        sizeof(buf));
	like(buf, "(Input/output error)",
	     "key readers unknown: refused by name too");
	fake_statfs_errno = 0;
	keyfile_acl_other_words(fd, tpath("eio.key"), 0100600, getegid(), buf,
	                        sizeof(buf));
	ok(buf[0] == '\0',
	   "key readers unknown: passes once they are known (%s)", buf);
	fake_model_at = NULL;
	if (fd != -1)
		close(fd);
	unlink(tpath("eio.key"));
}

/* The host's fs.protected_symlinks, for a note: "0", "1", or "unknown". */
static const char *
protected_symlinks_setting(void)
{
	static char v[8];
	FILE *fp = fopen("/proc/sys/fs/protected_symlinks", "re");

	snprintf(v, sizeof(v), "unknown");
	if (fp != NULL) {
		if (fgets(v, sizeof(v), fp) == NULL)
			snprintf(v, sizeof(v), "unknown");
		v[strcspn(v, "\n")] = '\0';
		fclose(fp);
	}
	return v;
}

/*
 * A link on the way to a configuration, in a directory that others than
 * its owner may write (its group, or anyone when it is sticky), is
 * followed only when it is root's or the running user's: any of them
 * could have made another, pointing at a file of theirs. Before, such a
 * link was followed whoever made it (its directory alone was judged),
 * and fs.protected_symlinks, where it is set, stopped only a link in a
 * sticky directory that others may write. Nor is another user's link
 * followed in a directory that only root may write now: it may have been
 * made before the chmod o-w that a refusal advises (before, it was
 * followed then). Giving a link away needs root: skipped otherwise.
 */
static void
test_foreign_links(void)
{
	char want[1024], why[DIAG_MSG_MAX];
	struct stat st;
	struct diag d;
	struct conf *c;

	if (geteuid() != 0) {
		for (int i = 0; i < 21; i++)
			ok(1, "# SKIP not root: cannot give a link away");
		return;
	}
	mkdir(tpath("fl"), 0755);
	mkdir(tpath("fl/gw"), 0755);
	chmod(tpath("fl/gw"), 0775);
	mkdir(tpath("fl/real"), 0755);
	write_file("fl/real/z.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	if (symlink("../real/z.conf", tpath("fl/gw/n.conf")) == -1 ||
	    lchown(tpath("fl/gw/n.conf"), 65534, 65534) == -1 ||
	    symlink("../real", tpath("fl/gw/d")) == -1 ||
	    lchown(tpath("fl/gw/d"), 65534, 65534) == -1 ||
	    symlink("../real/z.conf", tpath("fl/gw/root.conf")) == -1) {
		perror("fl/gw");
		exit(99);
	}
	snprintf(want, sizeof(want),
	         "n.conf: %s is a symbolic link (to \"../real/z.conf\") in a "
	         "directory that its group may write (mode 0775), and the link "
	         "belongs to nobody (uid 65534): not followed, as whoever made "
	         "it could point it at another file and make mta-sts-sync run "
	         "a command (publish-command); check where it leads: if it is "
	         "as it should be, chown -h root %s, else replace it, or name "
	         "the file by its real path",
	         tpath("fl/gw/n.conf"), tpath("fl/gw/n.conf"));
	load_fails("fl/gw/n.conf", want,
	           "another user's link in a directory its group may write");
	load_fails("fl/gw/d/z.conf",
	           "fl/gw/d is a symbolic link (to \"../real\")",
	           "another user's directory link there");
	diag_init(&d);
	c = conf_load(tpath("fl/gw/root.conf"), &d);
	ok(c != NULL, "root's link there loads: %s", d.error);
	conf_free(c);
	/* a key-file too: the link could lead to any file of root's */
	write_file("fl/real/k.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	if (symlink("../real/k.key", tpath("fl/gw/k.key")) == -1 ||
	    lchown(tpath("fl/gw/k.key"), 65534, 65534) == -1)
		perror("fl/gw/k.key");
	key_fails(tpath("fl/gw/k.key"), NULL,
	          "fl/gw/k.key is a symbolic link (to \"../real/k.key\") in a "
	          "directory that its group may write (mode 0775), and the "
	          "link belongs to nobody (uid 65534): not followed, as "
	          "whoever made it could point it at another file and make "
	          "mta-sts-sync read another file as its key");
	/* the link rule's message whatever fs.protected_symlinks is: the
	 * kernel is never asked to follow the link (with 1, it refused
	 * root's open of it with "Permission denied") */
	chmod(tpath("fl/gw"), 01777);
	printf("# fs.protected_symlinks is %s here; the open stands in for 1\n",
	       protected_symlinks_setting());
	protect_links = 1;
	load_fails("fl/gw/n.conf",
	           "in a directory that others may write (mode 1777), and the "
	           "link belongs to nobody (uid 65534): not followed",
	           "another user's link in a sticky directory, "
	           "fs.protected_symlinks 1");
	protect_links = 0;
	load_fails("fl/gw/n.conf",
	           "in a directory that others may write (mode 1777), and the "
	           "link belongs to nobody (uid 65534): not followed",
	           "another user's link in a sticky directory, "
	           "fs.protected_symlinks as the host has it");
	/* others may write it: refused for that, with chmod o-w as the
	 * fix; once that is done, the link another user put there while
	 * they could is refused still (before, it was followed: the
	 * advised chmod made the run read a key of that user's) */
	chmod(tpath("fl/gw"), 0757);
	load_fails("fl/gw/n.conf", "is writable by others (mode 0757)",
	           "a link in a directory others may write");
	chmod(tpath("fl/gw"), 0755);
	snprintf(want, sizeof(want),
	         "%s is a symbolic link (to \"../real/z.conf\") in a directory "
	         "that only root or the user running mta-sts-sync may write "
	         "now (mode 0755), but the link belongs to nobody (uid "
	         "65534), who may have made it while others could write "
	         "there: not followed, as whoever made it could point it at "
	         "another file and make mta-sts-sync run a command "
	         "(publish-command); check where it leads: if it is as it "
	         "should be, chown -h root %s, else replace",
	         tpath("fl/gw/n.conf"), tpath("fl/gw/n.conf"));
	load_fails("fl/gw/n.conf", want,
	           "another user's link in a directory only root may write "
	           "now (after chmod o-w)");
	key_fails(tpath("fl/gw/k.key"), NULL,
	          "fl/gw/k.key is a symbolic link (to \"../real/k.key\") in a "
	          "directory that only root or the user running mta-sts-sync "
	          "may write now (mode 0755), but the link belongs to nobody");
	/* a program's path too (and a ca-file's: the same walk) */
	if (stat(tpath("fl/gw/n.conf"), &st) == -1)
		perror("fl/gw/n.conf");
	ok(conf_trust_check(tpath("fl/gw/n.conf"), -1, &st, CONF_TRUST_PROGRAM,
	                    why, sizeof(why)) == -1 &&
	       strstr(why, "belongs to nobody (uid 65534), who may have made "
	                   "it while others could write there") != NULL,
	   "a program through that link is refused: %s", why);
	diag_init(&d);
	c = conf_load(tpath("fl/gw/root.conf"), &d);
	ok(c != NULL, "root's link there loads: %s", d.error);
	conf_free(c);
	/* as the advice says, once checked */
	if (lchown(tpath("fl/gw/n.conf"), 0, 0) == -1)
		perror("lchown");
	diag_init(&d);
	c = conf_load(tpath("fl/gw/n.conf"), &d);
	ok(c != NULL, "the link given to root loads: %s", d.error);
	conf_free(c);
}

#define ONE_LINE_KEY "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"

/*
 * In a directory that others than its owner may add entries to (sticky
 * and open to all, as /tmp; or its group's), a key file must belong to
 * root or the running user, as a configuration must: whoever made the
 * name first owns it (the sticky bit guards only names that exist), and
 * before, a key of any user there was read. Neither a key nor a
 * configuration there may have other names: one may be a hard link to
 * a file of root's that a user chose (fs.protected_hardlinks 0); before,
 * it was read. In a directory only root may write, another user's key
 * is still read (root gave it to them). Root only (files given away).
 */
static void
test_shared_dir_files(void)
{
	char want[2048], kp[512];
	struct tsig_key key;
	struct diag d;

	if (geteuid() != 0) {
		for (int i = 0; i < 14; i++)
			ok(1, "# SKIP not root: cannot give a file away");
		return;
	}
	snprintf(kp, sizeof(kp), "%s", tpath("sk/k.key"));
	mkdir(tpath("sk"), 0755);
	chmod(tpath("sk"), 01777);
	write_file("sk/k.key", ONE_LINE_KEY, 0600);
	if (chown(kp, 65534, 65534) == -1)
		perror("sk/k.key");
	/* not chowned: its owner may have read it and keep it open */
	snprintf(want, sizeof(want),
	         "key file %s is in a directory that others may write (mode "
	         "1777), and belongs to nobody (uid 65534), not to root or to "
	         "the user running mta-sts-sync (uid 0): any of them could "
	         "have put a file of theirs there, which could make "
	         "mta-sts-sync read another file as its key, and may have "
	         "read what was written in it since, or keep it open to "
	         "change it (a chown revokes neither); make a new key "
	         "(tsig-keygen, or its secret copied) in a new file that root "
	         "creates in a directory only root may write, name that in "
	         "key-file, and remove this one (rm %s)",
	         kp, kp);
	key_fails(kp, NULL, want);
	if (chown(kp, 0, 0) == -1 || link(kp, tpath("sk/k2.key")) == -1)
		perror("sk/k2.key");
	snprintf(want, sizeof(want),
	         "key file %s is in a directory that others may write (mode "
	         "1777), and it has 2 names (hard links), so it may be another "
	         "file linked there (a key or a secret of root's, say): remove "
	         "this name (rm %s) and put the real key file in its place; "
	         "this is refused as fs.protected_hardlinks is 0, which lets "
	         "anyone link any file there: setting it to 1 (sysctl "
	         "fs.protected_hardlinks=1, Debian's default), with which one "
	         "may link only a file one owns or may read and write, lifts "
	         "the refusal too",
	         kp, kp);
	key_fails(kp, NULL, want);
	/* with fs.protected_hardlinks 1 no one could link root's key there */
	fake_hardlinks = "1\n";
	diag_init(&d);
	ok(keyfile_load(kp, NULL, &key, &d) == 0,
	   "root's key with two names there, fs.protected_hardlinks 1: "
	   "loads (%s)",
	   d.error);
	fake_hardlinks = "0\n";
	if (unlink(tpath("sk/k2.key")) == -1)
		perror("sk/k2.key");
	diag_init(&d);
	ok(keyfile_load(kp, NULL, &key, &d) == 0,
	   "root's key with one name there loads (%s)", d.error);
	/* a configuration (or an include) with two names there */
	write_file("sk/a.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	if (link(tpath("sk/a.conf"), tpath("sk/b.conf")) == -1)
		perror("sk/b.conf");
	load_fails("sk/a.conf",
	           "a.conf is in a directory that others may write (mode "
	           "1777), and it has 2 names (hard links), so it may be "
	           "another file linked there",
	           "a configuration with two names in a sticky directory");
	/* a group's directory of root's: its members may add entries */
	mkdir(tpath("gk"), 0755);
	write_file("gk/k.key", ONE_LINE_KEY, 0600);
	if (chown(tpath("gk"), 0, 65534) == -1 || chmod(tpath("gk"), 02775) ||
	    chown(tpath("gk/k.key"), 65534, 65534) == -1)
		perror("gk");
	key_fails(tpath("gk/k.key"), NULL,
	          "is in a directory that its group may write (mode 2775), "
	          "and belongs to nobody (uid 65534), not to root");
	/* only root may add entries: root gave the key away */
	chmod(tpath("gk"), 0755);
	diag_init(&d);
	ok(keyfile_load(tpath("gk/k.key"), NULL, &key, &d) == 0,
	   "another user's key where only root may write loads (%s)", d.error);
	ok(unlink(tpath("gk/k.key")) == 0 && rmdir(tpath("gk")) == 0 &&
	       unlink(tpath("sk/a.conf")) == 0 &&
	       unlink(tpath("sk/b.conf")) == 0 && unlink(kp) == 0 &&
	       rmdir(tpath("sk")) == 0,
	   "shared directories removed");
}

/*
 * NixOS's shape: a configuration of root's directly in /nix/store
 * (root:nixbld, mode 1775), hard-linked into /nix/store/.links by
 * auto-optimise-store. With fs.protected_hardlinks 1 it loads: no member
 * of the group could have linked a file of root's there that they may
 * not write. With it 0, or unreadable, it is refused, saying why and
 * that setting it to 1 (or, hidden, letting the run read it) lifts the
 * refusal. Before, it was refused
 * whatever the setting, with advice to rm the store's file. Root only.
 */
static void
test_store_links(void)
{
	static const char why[] =
	    "it has 2 names (hard links), so it may be another file linked "
	    "there (a key or a secret of root's, say): remove this name (rm "
	    "%s) and put the real configuration file in its place; this is "
	    "refused as fs.protected_hardlinks %s, which lets anyone link any "
	    "file there: setting it to 1 (sysctl fs.protected_hardlinks=1, "
	    "Debian's default), with which one may link only a file one owns "
	    "or may read and write, lifts the refusal too";
	static const char unread[] =
	    "it has 2 names (hard links), so it may be another file linked "
	    "there (a key or a secret of root's, say): remove this name (rm "
	    "%s) and put the real configuration file in its place; this is "
	    "refused as fs.protected_hardlinks cannot be read "
	    "(/proc/sys/fs/protected_hardlinks: No such file or directory: "
	    "/proc/sys is hidden, as systemd's ProcSubset=pid does, or /proc "
	    "is not mounted), and with it 0 anyone may link any file there: "
	    "with it 1 (sysctl fs.protected_hardlinks=1, Debian's default), "
	    "with which one may link only a file one owns or may read and "
	    "write, and readable by the run (no ProcSubset=pid), the refusal "
	    "is lifted too";
	char want[2048], cp[512];
	struct diag d;
	struct conf *c;

	if (geteuid() != 0) {
		for (int i = 0; i < 6; i++)
			ok(1, "# SKIP not root: cannot give a directory away");
		return;
	}
	snprintf(cp, sizeof(cp), "%s", tpath("store/abc-m.conf"));
	mkdir(tpath("store"), 0755);
	mkdir(tpath("store/.links"), 0755);
	write_file("store/abc-m.conf", KEY_STMT DOMAIN_OK "};\n", 0600);
	if (chown(tpath("store"), 0, 65534) == -1 ||
	    chmod(tpath("store"), 01775) == -1 ||
	    link(cp, tpath("store/.links/0abc")) == -1)
		perror("store");
	fake_hardlinks = "1\n";
	diag_init(&d);
	c = conf_load(cp, &d);
	ok(c != NULL,
	   "root's configuration of 2 names in a 1775 directory, "
	   "fs.protected_hardlinks 1: loads (%s)",
	   d.error);
	conf_free(c);
	fake_hardlinks = "0\n";
	snprintf(want, sizeof(want), why, cp, "is 0");
	load_fails("store/abc-m.conf", want,
	           "the same, fs.protected_hardlinks 0: refused, saying why");
	fake_hardlinks = "";
	snprintf(want, sizeof(want), unread, cp);
	load_fails("store/abc-m.conf", want,
	           "the same, fs.protected_hardlinks unreadable (/proc/sys "
	           "hidden): refused, with advice to let the run read it");
	fake_hardlinks = "0\n";
	ok(unlink(cp) == 0 && unlink(tpath("store/.links/0abc")) == 0 &&
	       rmdir(tpath("store/.links")) == 0 && rmdir(tpath("store")) == 0,
	   "store removed");
}

/*
 * A key file in a directory of its own owner (a daemon's, as
 * /var/lib/knot of user knot holding knot's key, mode 0770) loads: its
 * owner may write any secret into the key anyway. Before, it was refused
 * with advice to chown root the daemon's directory. A key of root's in
 * that directory is still refused: its owner could put it there in
 * place of another; the message names the directory's owner and the
 * key's, and says to give the key to the directory's owner (before,
 * the only command was to chown root the daemon's directory), or the
 * directory to the key's owner (by uid) or to root: before, it said "not
 * to root or to the user running
 * mta-sts-sync" and only chown root, as if the key's owner could not
 * own it. A key of root's there that has another name gets no chown at
 * all (before, "chown 65534 KEY" gave the directory's owner the file of
 * root's they may have linked there), but rm and the real key in its
 * place. Root only (files given to another user).
 */
static void
test_key_in_owner_dir(void)
{
	char want[1024], dir[128], key[128], kp[512];
	struct tsig_key key_read;
	struct diag d;

	snprintf(kp, sizeof(kp), "%s", tpath("knotlike/k.key"));
	mkdir(tpath("knotlike"), 0770);
	write_file("knotlike/k.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	if (geteuid() != 0 || chown(tpath("knotlike"), 65534, 65534) == -1) {
		for (int i = 0; i < 8; i++)
			ok(1, "# SKIP not root: cannot give a directory away");
		return;
	}
	snprintf(want, sizeof(want),
	         "its directory %s belongs to %s, not to root, to the user "
	         "running mta-sts-sync (uid 0) or to the key's owner, %s: its "
	         "owner could put another file in its place and make "
	         "mta-sts-sync read another file as its key; chown 65534 %s "
	         "(the key to the directory's owner), or chown root %s, or "
	         "move the key to a directory of root or of its owner",
	         tpath("knotlike"), user_shown(65534, dir, sizeof(dir)),
	         user_shown(0, key, sizeof(key)), tpath("knotlike/k.key"),
	         tpath("knotlike"));
	key_fails(tpath("knotlike/k.key"), NULL, want);
	if (chown(tpath("knotlike/k.key"), 65533, 65533) == -1)
		perror("chown");
	snprintf(want, sizeof(want),
	         "or to the key's owner, %s: its owner could put another file "
	         "in its place and make mta-sts-sync read another file as its "
	         "key; chown 65534 %s (the key to the directory's owner), or "
	         "chown 65533 %s (to the key's owner) or chown root %s, or "
	         "move",
	         user_shown(65533, key, sizeof(key)), kp, tpath("knotlike"),
	         tpath("knotlike"));
	key_fails(tpath("knotlike/k.key"), NULL, want);
	/* a key of root's with another name: the directory's owner may
	 * have linked a file of root's there (before, the advice was to
	 * chown it to them, which gave them that file) */
	if (chown(tpath("knotlike/k.key"), 0, 0) == -1 ||
	    link(tpath("knotlike/k.key"), tpath("hl-precious")) == -1)
		perror("hl-precious");
	snprintf(want, sizeof(want),
	         "read another file as its key; it has 2 names (hard links), "
	         "so it may be another file linked there (a key or a secret "
	         "of root's, say): remove this name (rm %s) and put the real "
	         "key file in its place",
	         kp);
	key_fails(tpath("knotlike/k.key"), NULL, want);
	diag_init(&d);
	ok(keyfile_load(tpath("knotlike/k.key"), NULL, &key_read, &d) == -1 &&
	       strstr(d.error, "chown") == NULL,
	   "... and gives no chown: %s", d.error);
	if (unlink(tpath("hl-precious")) == -1 ||
	    chown(tpath("knotlike/k.key"), 65534, 65534) == -1)
		perror("chown");
	diag_init(&d);
	memset(&key_read, 0, sizeof(key_read));
	ok(keyfile_load(tpath("knotlike/k.key"), NULL, &key_read, &d) == 0,
	   "a key file in a directory of the key's owner loads (%s)", d.error);
}

/*
 * A key file that its ACL lets the running user read, and no one else
 * but its owner (a credential systemd's LoadCredential= passes to a
 * service of User=: root 0400, u:USER:r, mode 0440 then), loads: its
 * group bits are the mask of that entry alone. Before, it was refused as
 * "readable by its group (mode 0440)", with chmod 600 as the advice,
 * which would lock that user out (and a credentials directory is read
 * only). Its owning group able to read it too is still refused, without
 * naming the running user's entry; so is a key statement in an included
 * file that another user's entry lets read, as before.
 */
static void
test_key_acl_runner(void)
{
	unsigned me = (unsigned)geteuid();
	struct tsig_key key;
	char want[1024];
	struct conf *c;
	struct diag d;

	write_file("cred.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0400);
	if (set_acl_or_skip(tpath("cred.key"), 0, me, 4, 0, 4, 6) == -1)
		return;
	key_loads("../../cred.key", NULL, "k", TSIG_HMAC_SHA256);
	write_file("credk.inc", KEY_STMT, 0400);
	set_acl(tpath("credk.inc"), 0, me, 4, 0, 4);
	c = load_text("include \"credk.inc\";\n" DOMAIN_OK "};\n", &d);
	ok(c != NULL,
	   "an included key statement its ACL lets the running user read: "
	   "loads (%s)",
	   d.error);
	conf_free(c);
	/* chmod 600 would mask the running user's entry too, and leave
	 * g::r in place: setfacl takes the group's access away alone */
	set_acl(tpath("cred.key"), 0, me, 4, 4, 4);
	snprintf(want, sizeof(want),
	         "cred.key: key file is readable by its group (mode 0440); "
	         "setfacl -m g::-,o::- %s,",
	         tpath("cred.key"));
	key_fails(tpath("cred.key"), NULL, want);
	diag_init(&d);
	ok(keyfile_load(tpath("cred.key"), NULL, &key, &d) == -1 &&
	       strstr(d.error, "chmod") == NULL,
	   "... no chmod, which would mask the running user's entry: %s",
	   d.error);
}

/*
 * The advice for a key file refused by its ACL, at paths of 400 to 2000
 * bytes, named by a configuration: its setfacl -x names the whole path,
 * or words say what to do; before, from about 650 bytes on, the command
 * was cut mid-path, as the message's room and the "file:line: " before it
 * were not counted ("setfacl -x u:N /tmp/.../eee [cut]": another path).
 */
static void
test_key_advice_long_path(void)
{
	unsigned other = geteuid() == 65534 ? 65533 : 65534;
	char dir[2400], key[2400], text[3000], cmd[2500], seg[201];
	int whole = 1, words = 0, commands = 0;
	const char *at;
	struct diag d;
	struct conf *c;
	FILE *f;

	memset(seg, 'd', 200);
	seg[200] = '\0';
	snprintf(dir, sizeof(dir), "%s/kl", tmpdir);
	mkdir(dir, 0755);
	while (strlen(dir) + 210 < 2100) {
		str_copy(dir + strlen(dir), sizeof(dir) - strlen(dir), "/");
		str_copy(dir + strlen(dir), sizeof(dir) - strlen(dir), seg);
		mkdir(dir, 0755);
		snprintf(key, sizeof(key), "%s/k.key", dir);
		if ((f = fopen(key, "w")) == NULL)
			break;
		fputs("k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", f);
		fclose(f);
		chmod(key, 0600);
		if (set_acl(key, 0, other, 4, 0, 4) == -1) {
			ok(1, "# SKIP cannot give %s an ACL", key);
			return;
		}
		snprintf(text, sizeof(text),
		         "domain \"example.com\" {\n\tupstream "
		         "\"https://x.example/\";\n\tkey-file \"%s\";\n"
		         "\tpolicy-file \"/p/%%d\";\n};\n",
		         key);
		c = load_text(text, &d);
		conf_free(c);
		/* whole: the path, then the message's end (g::---: no
		 * name-server hint) */
		snprintf(cmd, sizeof(cmd), "setfacl -x u:%u %s", other, key);
		at = strstr(d.error, cmd);
		if (at != NULL && at[strlen(cmd)] == '\0')
			commands++;
		else if (strstr(d.error, "setfacl -x u:") != NULL)
			whole = 0;
		else
			words += strstr(d.error, "getfacl lists them") != NULL;
	}
	ok(whole && commands > 0 && words > 0,
	   "key advice at long paths: whole commands (%d) or words (%d), "
	   "none cut",
	   commands, words);
}

/*
 * The commands of the refusals name the path as a shell takes it, quoted
 * when it holds a blank or a ';': before, the configuration's setfacl
 * -x, its chmod o-w and an NFSv4 key's nfs4_setfacl -x printed it bare,
 * and pasted, "setfacl -x u:N /dir/a b;x/c.conf" ran setfacl on two
 * other paths, then a command "x/c.conf".
 */
static void
test_advice_quoted(void)
{
	static const struct nfs4_ace_spec named[] = {
	    {0, 0, NFS4_OWNER_RW, "OWNER@"},
	    {0, 0, NFS4_R | NFS4_TCY, "deploy@example.com"},
	};
	unsigned other = geteuid() == 65534 ? 65533 : 65534;
	char want[1536], q[520], buf[256];
	struct tsig_key key;
	struct diag d;

	mkdir(tpath("a b;x"), 0755);
	snprintf(q, sizeof(q), "'%s'", tpath("a b;x/c.conf"));
	write_file("a b;x/c.conf", NOKEY_CONF, 0646);
	snprintf(want, sizeof(want), "(publish-command); chmod o-w %s", q);
	load_fails("a b;x/c.conf", want, "chmod o-w of a path with a blank");
	chmod(tpath("a b;x/c.conf"), 0644);
	if (set_acl_or_skip(tpath("a b;x/c.conf"), 0, other, 6, 4, 6, 3) == -1)
		return;
	snprintf(want, sizeof(want),
	         "(publish-command); setfacl -x u:%u %s (or setfacl -b %s: no "
	         "ACL)",
	         other, q, q);
	load_fails("a b;x/c.conf", want, "setfacl -x of a path with a blank");
	write_file("a b;x/nfs.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	nfs4_fake("/a b;x/nfs.key", named, 2, (unsigned char *)buf, sizeof(buf),
	          0);
	diag_init(&d);
	keyfile_load(tpath("a b;x/nfs.key"), NULL, &key, &d);
	nfs4_fake_end();
	snprintf(want, sizeof(want),
	         "read or write it; nfs4_setfacl -x "
	         "'A::deploy@example.com:rtcy' '%s'",
	         tpath("a b;x/nfs.key"));
	like(d.error, want, "an NFSv4 key's nfs4_setfacl -x, path quoted");
}

/* The key file kp is refused, its message holding lead, then the
 * advice "setfacl -x u:ID -m g::-,o::- KP," (g:ID for is_group). */
static void
key_setfacl_fails(const char *kp, const char *lead, int is_group, unsigned id)
{
	char want[1024];
	int n =
	    snprintf(want, sizeof(want), "%ssetfacl -x %c:%u -m g::-,o::- %s,",
	             lead, is_group ? 'g' : 'u', id, kp);

	ok(n > 0 && (size_t)n < sizeof(want), "the advice wanted for %s fits",
	   kp);
	key_fails(kp, NULL, want);
}

/* "u:U1,u:U2,...": the n uids from first on, into out (size bytes).
 * Returns out. */
static const char *
uid_list(unsigned first, size_t n, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%su:%u",
		                      i > 0 ? "," : "", first + (unsigned)i);
	return out;
}

/*
 * A key whose ACL names more than ACL_NAMED_LISTED users: the setfacl -x
 * takes out every one, as the mask -m sets anew would let those left at
 * the key (before, the first 8 only: the rest, masked, could read it
 * after the advice was pasted); those its mask hides are named; beyond
 * ACL_NAMED_KEPT, no command, words that say to take them all out.
 */
static void
test_key_acl_many(void)
{
	unsigned uids[70];
	char want[1536], list[1024];
	const char *kp = tpath("many.key");

	for (unsigned i = 0; i < 70; i++)
		uids[i] = 2001 + i;
	write_file("many.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0604);
	if (set_acl_list(kp, 10, uids, 0, NULL, 4, 0) == -1) {
		for (int i = 0; i < 10; i++)
			ok(1, "# SKIP cannot give %s an ACL", kp);
		return;
	}
	/* masked: mode 0604, the mask --- */
	snprintf(want, sizeof(want),
	         "key file is readable by others (mode 0604); setfacl -x %s -m "
	         "g::-,o::- %s (its mask hides user uid 2001, user uid 2002, ",
	         uid_list(2001, 10, list, sizeof(list)), kp);
	key_fails(kp, NULL, want);
	snprintf(want, sizeof(want),
	         "user uid 2008 and 2 more (getfacl %s lists them) now, which "
	         "the mask -m sets anew would let at it)",
	         kp);
	key_fails_ending(kp, want, "10 masked: 8 named, the rest counted");
	/* effective: mode 0640, g::---, the mask r */
	chmod(kp, 0640);
	set_acl_list(kp, 10, uids, 0, NULL, 4, 4);
	snprintf(want, sizeof(want),
	         "read it (its group may not); setfacl -x %s %s",
	         uid_list(2001, 10, list, sizeof(list)), kp);
	key_fails_ending(kp, want, "10 effective: all taken out");
	/* beyond ACL_NAMED_KEPT: words, no command that leaves some */
	set_acl_list(kp, 70, uids, 0, NULL, 4, 4);
	key_fails(kp, NULL,
	          "(its group may not); remove the entries its ACL gives other "
	          "users and groups (getfacl lists them; setfacl -x)");
	chmod(kp, 0604);
	set_acl_list(kp, 70, uids, 0, NULL, 4, 0);
	key_fails_ending(kp,
	                 "(mode 0604); remove the entries its mask hides now "
	                 "(the mask setfacl -m sets anew would let them at it; "
	                 "getfacl lists them; setfacl -x), then take its "
	                 "group's and others' access away with setfacl -m "
	                 "g::-,o::- (chmod would only narrow its ACL's mask)",
	                 "70 masked: words");
}

/*
 * A key file, or an included file with a key statement, that its ACL
 * lets a user or group read is refused by its group bits (the ACL's
 * mask), and the message names that entry; with g::---, it says the
 * entries its ACL names may read it through its mask, not its group,
 * and gives no hint about a name server reading it through its group
 * (before, "readable by its group", which its group was not). The advice
 * is the setfacl -x that removes every such entry, with chmod 600 only
 * where its owning group or others may read it too: before, it was
 * chmod 600 alone, which leaves the entries in place, masked, to read
 * the key again once a setfacl -m widens the mask.
 */
static void
test_key_acl(void)
{
	unsigned other = geteuid() == 65534 ? 65533 : 65534;
	unsigned uids[2] = {other - 2, other - 1}, gids[1] = {other};
	char want[1024], who[128], w2[128], w3[128];
	const char *kp = tpath("acl.key");
	struct stat st;

	write_file("acl.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	if (set_acl_or_skip(kp, 0, other, 4, 0, 4, 8) == -1)
		return;
	snprintf(want, sizeof(want),
	         "acl.key: key file is readable by the entries its ACL names "
	         "(mode 0640), as its ACL's mask (the group bits of its mode) "
	         "lets user %s read it (its group may not); setfacl -x u:%u %s",
	         user_shown(other, who, sizeof(who)), other, kp);
	key_fails_ending(kp, want,
	                 "g::---: no name-server hint after the command");
	set_acl(kp, 1, other, 4, 4, 4);
	snprintf(want, sizeof(want),
	         "as its ACL lets group %s read it (the group bits of its mode "
	         "are the ACL's mask); ",
	         group_shown(other, w2, sizeof(w2)));
	key_setfacl_fails(kp, want, 1, other);
	/* an entry the mask hides, which the mask setfacl -m sets anew
	 * would let write it: taken out too, and named */
	set_acl(kp, 0, other, 2, 4, 4);
	snprintf(want, sizeof(want),
	         "readable by its group (mode 0640); setfacl -x u:%u -m "
	         "g::-,o::- %s (its mask hides user %s now, which the mask -m "
	         "sets anew would let at it), or, if a name server",
	         other, kp, user_shown(other, who, sizeof(who)));
	key_fails(kp, NULL, want);
	/* an entry naming the file's own group: g::- would leave it */
	stat(kp, &st);
	set_acl(kp, 1, (unsigned)st.st_gid, 4, 0, 4);
	key_setfacl_fails(kp, "readable by its group (mode 0640); ", 1,
	                  (unsigned)st.st_gid);
	/* every entry, and others' bits too */
	chmod(kp, 0604);
	set_acl_list(kp, 2, uids, 1, gids, 4, 4);
	snprintf(want, sizeof(want),
	         "key file is readable by the entries its ACL names and others "
	         "(mode 0644), as its ACL's mask (the group bits of its mode) "
	         "lets user %s, user %s and group %s read it (its group may "
	         "not); setfacl -x u:%u,u:%u,g:%u -m g::-,o::- %s",
	         user_shown(uids[0], who, sizeof(who)),
	         user_shown(uids[1], w2, sizeof(w2)),
	         group_shown(gids[0], w3, sizeof(w3)), uids[0], uids[1],
	         gids[0], kp);
	key_fails(kp, NULL, want);
	write_file("aclk.inc", KEY_STMT, 0600);
	set_acl(tpath("aclk.inc"), 0, other, 4, 0, 4);
	snprintf(
	    want, sizeof(want),
	    "key \"k\": this file holds a TSIG secret but is readable by "
	    "the entries its ACL names (mode 0640), as its ACL's mask (the "
	    "group bits of its mode) lets user %s read it (its group may "
	    "not): setfacl -x u:%u %s",
	    user_shown(other, who, sizeof(who)), other, tpath("aclk.inc"));
	fails_with("include \"aclk.inc\";\n" DOMAIN_OK "};\n", want,
	           "an included key statement an ACL lets another user read");
	test_key_acl_runner();
	test_key_in_owner_dir();
	test_shared_dir_files();
	test_store_links();
	test_key_acl_many();
}

/* The permission rule for key files and configurations with secrets. */
static void
test_modes(void)
{
	static const struct {
		mode_t mode;
		const char *want;
	} modes[] = {
	    {0644, "key file is readable by its group and others (mode 0644); "
	           "chmod 600 "},
	    {0640, "readable by its group (mode 0640); chmod 600 "},
	    {0640, "mode.key, or, if a name server reads it through its "
	           "group, give mta-sts-sync a copy of its own"},
	    {0604, "readable by others (mode 0604)"},
	    {0620, "writable by its group (mode 0620)"},
	    {0602, "writable by others (mode 0602)"},
	    {0660, "readable and writable by its group (mode 0660)"},
	    /* before, "readable by its group and others": not writable */
	    {0664, "key file is readable and writable by its group and "
	           "readable by others (mode 0664); chmod 600 "},
	    {0674, "readable, writable and executable by its group and "
	           "readable by others (mode 0674)"},
	    {0606, "readable and writable by others (mode 0606)"},
	    {0650, "readable and executable by its group (mode 0650)"},
	    {0622, "writable by its group and others (mode 0622)"},
	    {0610, "executable by its group (mode 0610)"},
	};
	struct diag d;
	struct conf *c;
	char want[1024];
	size_t i;

	write_file("mode.key",
	           "k:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		chmod(tpath("mode.key"), modes[i].mode);
		key_fails(tpath("mode.key"), NULL, modes[i].want);
	}
	chmod(tpath("mode.key"), 0400);
	key_loads("../../mode.key", NULL, "k", TSIG_HMAC_SHA256);

	chmod(tpath("mode.key"), 0644);
	c = load_text("domain \"example.com\" {\n\tupstream "
	              "\"https://x.example/\";\n\tkey-file \"mode.key\";\n"
	              "\tpolicy-file \"/p/%d\";\n};\n",
	              &d);
	ok(c == NULL, "configuration with a key-file of mode 0644 refused");
	like(d.error, "test.conf:3: ", "names the key-file setting");
	like(d.error, "chmod 600", "with the advice");

	/* the key statement's line, and the main file is no key file */
	write_file("test.conf", "\n" KEY_STMT DOMAIN_OK "};\n", 0644);
	diag_init(&d);
	c = conf_load(tpath("test.conf"), &d);
	ok(c == NULL, "configuration with a key statement, mode 0644: refused");
	snprintf(want, sizeof(want),
	         "test.conf:2: key \"k\": this file holds a TSIG secret but "
	         "is readable by its group and others (mode 0644): chmod 600 "
	         "%s, or move the key to a file of its own named by key-file",
	         tpath("test.conf"));
	like(d.error, want, "... the key statement, what to do");
	ok(strstr(d.error, "key file is") == NULL &&
	       strstr(d.error, "name server") == NULL,
	   "... not called a key file, no name server advice");
	conf_free(c);
	write_file("test.conf", KEY_STMT DOMAIN_OK "};\n", 0640);
	load_fails("test.conf",
	           "test.conf:1: key \"k\": this file holds a TSIG secret but "
	           "is readable by its group (mode 0640): chmod 600 ",
	           "configuration with a key statement, mode 0640");

	write_file("nokey.conf", NOKEY_CONF, 0644);
	diag_init(&d);
	c = conf_load(tpath("nokey.conf"), &d);
	ok(c != NULL, "configuration without secrets may be 0644: %s", d.error);
	conf_free(c);

	/* an included one: the include's line too, as for key-file */
	write_file("secret.key", "# made by tsig-keygen\n" KEY_STMT, 0640);
	snprintf(want, sizeof(want),
	         "test.conf:3: %s:2: key \"k\": this file holds a TSIG secret "
	         "but is readable by its group (mode 0640): chmod 600 %s, or, "
	         "if a name server reads it through its group, give "
	         "mta-sts-sync a copy of its own",
	         tpath("secret.key"), tpath("secret.key"));
	fails_with("# keys\n\ninclude \"secret.key\";\n" DOMAIN_OK "};\n", want,
	           "included key statement of mode 0640");

	/* anyone may write: refused, the main file and an included one */
	chmod(tpath("nokey.conf"), 0646);
	load_fails("nokey.conf",
	           "nokey.conf: configuration file is writable by others (mode "
	           "0646): anyone could make mta-sts-sync run a command "
	           "(publish-command); chmod o-w ",
	           "configuration writable by others");
	chmod(tpath("nokey.conf"), 0664);
	diag_init(&d);
	c = conf_load(tpath("nokey.conf"), &d);
	ok(c != NULL, "configuration writable by its group loads: %s", d.error);
	conf_free(c);
	write_file("open.inc", "", 0666);
	fails_with("include \"open.inc\";\n" KEY_STMT DOMAIN_OK "};\n",
	           "open.inc: configuration file is writable by others (mode "
	           "0666)",
	           "included file writable by others");

	/* another user's: refused (only root may give a file away) */
	chmod(tpath("nokey.conf"), 0644);
	if (geteuid() == 0 && chown(tpath("nokey.conf"), 65534, 65534) == 0) {
		load_fails(
		    "nokey.conf",
		    "nokey.conf: configuration file belongs to uid 65534, "
		    "not to root or to the user running mta-sts-sync "
		    "(uid 0): its owner could make mta-sts-sync run a "
		    "command (publish-command); check its content first (its "
		    "owner may have changed it already, and once root owns "
		    "it, it is trusted as it is), then chown root ",
		    "configuration of another user: its content to check "
		    "before chown root");
	} else {
		ok(1, "# SKIP not root: cannot give a file to another user");
		ok(1, "# SKIP not root: cannot give a file to another user");
	}
	test_key_acl();
	test_unsafe_dirs();
	test_foreign_links();
	test_conf_acl();
	test_acl_dir_gone();
	test_acl_no_proc();
	test_swapped_at_open();
	test_dirs_opened_as_dirs();
	test_long_component();
	test_deep_path();
	test_acl_shrank();
	test_acl_not_understood();
	test_acl_other_model();
	test_acl_nfs4_conf();
	test_acl_nfs4_principals();
	test_acl_nfs4_bounds();
	test_acl_nfs4_secret();
	test_advice_quoted();
	test_key_advice_long_path();
	test_acl_nfs4_group();
	test_acl_nfs4_staff();
	test_acl_nfs4_key_group();
	test_acl_smb_mount();
	test_acl_fuse_mount();
	test_key_readers_unknown();
}

/* Replace every "%s" in text (of size) with s. */
static void
replace_marker(char *text, size_t size, const char *s)
{
	struct buf b;
	const char *p;

	buf_init(&b, size - 1);
	for (p = text; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 's') {
			buf_puts(&b, s);
			p++;
		} else {
			buf_append(&b, p, 1);
		}
	}
	str_copy(text, size, b.data);
	buf_free(&b);
}

/* No message ever contains the secret. */
static void
test_no_secret_in_messages(void)
{
	static const char secret[] = "U2VjcmV0TWFya2VyWFlaWFla";
	static const char *const texts[] = {
	    "key \"k\" { algorithm hmac-sha999; secret \"%s\"; };\n",
	    ("key \"k\" { algorithm hmac-sha256; secret \"%s\"; secret "
	     "\"%s\"; };\n"),
	    "key \"k\" { algorithm hmac-sha256; secret \"%s\" };\n",
	    "key \"k\" { algorithm hmac-sha256; secret \"%s!!\"; };\n",
	    "key \"bad name..\" { algorithm hmac-sha256; secret \"%s\"; };\n",
	    "key \"k\" { secret \"%s\" algorithm };\n",
	    "key \"k\" { algorithm hmac-sha256; secret %s; }\n",
	    "key \"k\" { algorithm hmac-sha256; secret \"%s\"; bogus 1; };\n",
	    /* the secret where a setting name goes (its keyword left out) */
	    "key \"k\" { algorithm hmac-sha256; %s; };\n",
	    "key \"k\" { algorithm hmac-sha256; sec%s; };\n",
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct diag d;
		struct conf *c;
		struct tsig_key key;
		size_t w;
		int leak = 0;

		/* Each case holds the secret once or twice. */
		str_copy(text, sizeof(text), texts[i]);
		replace_marker(text, sizeof(text), secret);
		c = load_text(text, &d);
		ok(c == NULL && diag_failed(&d), "bad key case %zu refused: %s",
		   i, d.error);
		leak |= strstr(d.error, secret) != NULL;
		for (w = 0; w < d.nwarn; w++)
			leak |= strstr(d.warn[w], secret) != NULL;
		diag_init(&d);
		keyfile_parse("k.key", text, strlen(text), NULL, &key, &d);
		leak |= strstr(d.error, secret) != NULL;
		ok(!leak, "case %zu: the secret is not in any message", i);
		conf_free(c);
	}
}

/* Real-looking secrets (tsig-keygen hmac-sha256 and hmac-sha512, and
 * 30 bytes whose base64 holds neither '+', '/' nor '='), two holding
 * "//" after 7 and 11 letters and digits (which a "//" comment would cut:
 * the part before it is shorter than SECRET_PART in one, so only the
 * message tells it), and two BIND takes as base64 too: 16 bytes in hex (openssl
 * rand -hex 16) and 32 lower case letters and digits (a password
 * generator's). Each is tried in every case below. */
static const char *const out_of_place_secrets[] = {
    "fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=",
    ("WoBiE+/qRehidTmZkshV6mn+qf2EHHaKR+YlQ/StIl7Lz04VRmXzH7R2X3USNCpzM1HOk2g/"
     "kFqMSK8tpB0JxQ=="),
    "OVOjUFOqFiE9dciCZqKjlgitooDNqCg44QeS9eh7",
    "Nmy1mR3//98C32TxCY0f7gTSSnamr7wMWBlF0lX8Xy8=",
    "IadpVCMnHqU//8yxurfd013QPShViyhOHUvSVvoev2E=",
    "adc88547eb55010db79f0f2535fde868",
    "q8v2m4x7k1z9w3r6t5y0p2s8d4f6g1h3",
};

#define SECRET_PART 8 /* bytes of a secret that no message may hold */

/* Does hay hold needle, in any case? */
static int
has_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (ascii_ncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

/* Is any SECRET_PART-byte part of secret, in any case (a name is
 * lower-cased), in the error or a warning of d? */
static int
secret_in_nocase(const struct diag *d, const char *secret)
{
	char part[SECRET_PART + 1];
	size_t i, w, n = strlen(secret);

	for (i = 0; i + SECRET_PART <= n; i++) {
		memcpy(part, secret + i, SECRET_PART);
		part[SECRET_PART] = '\0';
		if (has_nocase(d->error, part))
			return 1;
		for (w = 0; w < d->nwarn; w++)
			if (has_nocase(d->warn[w], part))
				return 1;
	}
	return 0;
}

/*
 * A secret where the configuration has a statement, a setting or a
 * value: a key file pulled in with include instead of key-file (in each
 * format BIND's statement is not), or a secret pasted in the wrong
 * place. The error says what was expected and never quotes the secret.
 * "%s" in inc is the secret, written to inc.key (mode 0600); in conf,
 * written to test.conf. Where a name goes (name set), a secret that is a
 * valid name (no '+', '/' or '=') is taken for one, as it would be
 * anywhere: those cases are tried with the others only. A secret holding
 * "//" and written without quotes is cut there by what reads as a
 * comment: where that gives another error, cut is the message.
 */
static void
test_secret_out_of_place(void)
{
	static const struct {
		const char *inc, *conf, *want;
		int name;
		const char *cut;
	} cases[] = {
	    {"hmac-sha256:mtasts:%s\n", "include \"inc.key\";\n",
	     "test.conf:1: %/inc.key:1: this looks like a TSIG key file (a "
	     "one-line [algorithm:]name:secret key; the key is not shown), "
	     "not configuration: name it with key-file \"%/inc.key\"; in the "
	     "domain or in options, not with include",
	     0, NULL},
	    {"# made by hand\nmtasts:%s\n", "\n\ninclude \"inc.key\";\n",
	     "test.conf:3: %/inc.key:2: this looks like a TSIG key file (a "
	     "one-line",
	     0, NULL},
	    {"%s\n", "include \"inc.key\";\n",
	     "test.conf:1: %/inc.key:1: found a bare base64 TSIG secret (not "
	     "shown), not configuration: a key file names the key too",
	     0, NULL},
	    /* a short secret (a test's): still a one-line key */
	    {"mtasts:c2VjcmV0\n", "include \"inc.key\";\n",
	     "test.conf:1: %/inc.key:1: this looks like a TSIG key file (a "
	     "one-line",
	     0, NULL},
	    {"# hmac-sha256:mtasts:%s\nkey:\n  - id: mtasts\n    algorithm: "
	     "hmac-sha256\n    secret: %s\n",
	     "include \"inc.key\";\n",
	     "test.conf:1: %/inc.key:2: this looks like a TSIG key file (a "
	     "Knot key list, as keymgr -t writes it; the key is not shown)",
	     0, NULL},
	    {"hmac-sha256:mtasts:%s\n",
	     "options {\n\tinclude \"inc.key\";\n};\n",
	     "test.conf:2: %/inc.key:1: this looks like a TSIG key file", 0,
	     NULL},
	    {"%s\n", "domain \"a.example\" { include \"inc.key\"; };\n",
	     "found a bare base64 TSIG secret (not shown)", 0, NULL},
	    {NULL, "%s;\n", "test.conf:1: found a bare base64 TSIG secret", 0,
	     NULL},
	    {NULL, "\"%s\";\n",
	     "test.conf:1: expected a statement, found a quoted string not "
	     "shown (it may be a TSIG secret)",
	     0, NULL},
	    {NULL, "secret%s;\n",
	     "test.conf:1: expected a statement (include, key, options or "
	     "domain), found a word that is no statement name (not shown: "
	     "it may be a secret)",
	     0, NULL},
	    {NULL, "options { secret-%s; };\n",
	     "test.conf:1: expected a setting in options, found a word that "
	     "is no setting name (not shown: it may be a secret)",
	     0, NULL},
	    {NULL, "options { key \"mtasts\" %s; };\n",
	     "test.conf:1: missing ';' after 'key \"mtasts\"' (found a word "
	     "not "
	     "shown (it may be a TSIG secret))",
	     0, NULL},
	    {NULL, "options { key mtasts \"%s\"; };\n",
	     "found a quoted string not shown", 0, NULL},
	    {NULL, "options { ttl %s; };\n",
	     "test.conf:1: ttl: expected a number from 0 to 2147483647, found "
	     "a value not shown (it looks like a TSIG secret)",
	     0, NULL},
	    {NULL, "options { mode %s; };\n",
	     "mode: expected enforce, testing or none, found a value not "
	     "shown",
	     0, "missing ';' after the value of 'mode' (found end of file)"},
	    {NULL, "options { verify \"%s\"; };\n",
	     "verify: expected yes or no, found a value not shown", 0, NULL},
	    {NULL, "options { upstream \"%s\"; };\n",
	     "upstream: expected an https:// URL, found a value not shown", 0,
	     NULL},
	    {NULL, "options { verify-url \"%s\"; };\n",
	     "verify-url: expected an https:// URL, found a value not shown", 0,
	     NULL},
	    {NULL, "options { zone \"%s\"; };\n",
	     "zone: a value not shown (it looks like a TSIG secret) is not a "
	     "valid domain name",
	     1, NULL},
	    {NULL, "domain \"%s\" { };\n",
	     "domain: a value not shown (it looks like a TSIG secret) is not "
	     "a valid domain name",
	     1, NULL},
	    {NULL, "options { server %s; };\n",
	     "server: expected an IP address or host name, found a value not "
	     "shown",
	     1,
	     "expected 'port' or ';' after server address, found end of "
	     "file"},
	    {NULL, "options { resolver \"%s\"; };\n",
	     "resolver: expected an IP address, found a value not shown", 0,
	     NULL},
	    {NULL, "options { resolve \"%s\"; };\n",
	     "resolve: expected \"HOST:PORT:ADDRESS[,ADDRESS]...\", found a "
	     "value not shown",
	     0, NULL},
	    {NULL, "options { resolve \"mta-sts.example:443:%s\"; };\n",
	     "resolve: expected \"HOST:PORT:ADDRESS[,ADDRESS]...\", found a "
	     "value not shown",
	     0, NULL},
	    {NULL, "options { tls-rpt \"%s\"; };\n",
	     "tls-rpt a value not shown (it looks like a TSIG secret): invalid "
	     "URI",
	     0, NULL},
	    {NULL, "options { tls-rpt \"mailto:%s\"; };\n",
	     "tls-rpt a value not shown", 0, NULL},
	    {NULL, "options { mx \"%s\"; };\n",
	     "mx a value not shown (it looks like a TSIG secret): invalid "
	     "pattern",
	     1, NULL},
	    {NULL, "options { policy { mx \"%s\"; }; };\n",
	     "mx a value not shown", 1, NULL},
	    {NULL, "options { policy { mode %s; }; };\n",
	     "mode: expected enforce, testing or none, found a value not "
	     "shown",
	     0, "missing ';' after the value of 'mode' (found end of file)"},
	    {NULL, "options { policy { %s; }; };\n",
	     "expected mode, mx or max-age in policy { }, found a word that "
	     "is no setting name (not shown: it may be a secret)",
	     0, NULL},
	    {NULL, "domain \"a.example\" %s { };\n",
	     "expected '{' after domain name, found a word not shown", 0, NULL},
	    /* a key written where a path goes: key-file, include */
	    {NULL,
	     "options { key-file \"hmac-sha256:mtasts:%s\"; policy-file "
	     "\"/p/%d\"; };\ndomain \"a.example\" { upstream "
	     "\"https://u.example/p\"; };\n",
	     "test.conf:1: key-file: this looks like a key, not a path (not "
	     "shown): put the key in a file (mode 600) and name the file with "
	     "key-file, in the domain or in options (it cannot be read as a "
	     "file: No such file or directory)",
	     0, NULL},
	    {NULL,
	     "options { key-file \"%s\"; policy-file \"/p/%d\"; };\ndomain "
	     "\"a.example\" { upstream \"https://u.example/p\"; };\n",
	     "test.conf:1: key-file: this looks like a key, not a path (not "
	     "shown)",
	     0, NULL},
	    {NULL, "\ninclude \"mtasts:%s\";\n",
	     "test.conf:2: include: this looks like a key, not a path (not "
	     "shown): put the key in a file (mode 600) and name the file with "
	     "key-file, in the domain or in options (it cannot be read as a "
	     "file: No such file or directory)",
	     0, NULL},
	    {NULL, "options { include \"%s\"; };\n",
	     "test.conf:1: include: this looks like a key, not a path (not "
	     "shown)",
	     0, NULL},
	};
	char text[1024], want[1024];
	size_t i, k;

	for (k = 0;
	     k < sizeof(out_of_place_secrets) / sizeof(out_of_place_secrets[0]);
	     k++) {
		const char *secret = out_of_place_secrets[k];

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct diag d;
			struct conf *c;

			if (cases[i].name && strpbrk(secret, "+/=") == NULL)
				continue;
			if (cases[i].inc != NULL) {
				str_copy(text, sizeof(text), cases[i].inc);
				replace_marker(text, sizeof(text), secret);
				write_file("inc.key", text, 0600);
			}
			str_copy(text, sizeof(text), cases[i].conf);
			replace_marker(text, sizeof(text), secret);
			c = load_text(text, &d);
			ok(c == NULL, "secret %zu, case %zu: refused", k, i);
			/* "%/" is the directory of the files */
			str_copy(want, sizeof(want),
			         cases[i].cut != NULL &&
			                 strstr(secret, "//") != NULL &&
			                 strstr(cases[i].conf, "\"%s") == NULL
			             ? cases[i].cut
			             : cases[i].want);
			for (char *m; (m = strstr(want, "%/")) != NULL;) {
				char rest[1024];

				str_copy(rest, sizeof(rest), m + 2);
				*m = '\0';
				snprintf(m, sizeof(want) - (size_t)(m - want),
				         "%s/%s", tmpdir, rest);
			}
			like(d.error, want, "secret %zu, case %zu: message", k,
			     i);
			ok(!secret_in_nocase(&d, secret),
			   "secret %zu, case %zu: the secret is not in it", k,
			   i);
			conf_free(c);
		}
	}
}

/* keyfile_parse() of text must fail with want, without secret. */
static void
key_text_fails(const char *text, const char *want, const char *secret,
               const char *what)
{
	struct tsig_key key;
	struct diag d;

	diag_init(&d);
	ok(keyfile_parse("k.key", text, strlen(text), NULL, &key, &d) == -1,
	   "%s: refused", what);
	like(d.error, want, "%s: message", what);
	ok(!secret_in_nocase(&d, secret), "%s: the secret is not in it", what);
}

/*
 * A one-line key file shows none of its fields until its line reads as
 * a key: a file that is no key file (another file of root's) may hold a
 * line of two colons. Before, "key \"NAME\": TSIG key NAME: unknown
 * algorithm \"ALG\"" showed two of its fields.
 */
static void
test_key_fields_hidden(void)
{
	static const char text[] = "rootpw:hunter2name:c2VjcmV0MTIzNDU2Nzg5\n";
	struct tsig_key key;
	struct diag d;

	diag_init(&d);
	ok(keyfile_parse("k.key", text, strlen(text), NULL, &key, &d) == -1,
	   "a line of two colons, no key: refused");
	like(d.error,
	     "k.key:1: not a key of the form [algorithm:]name:secret: its "
	     "algorithm (the first of three fields) is none of ",
	     "... said why");
	ok(strstr(d.error, "rootpw") == NULL &&
	       strstr(d.error, "hunter2name") == NULL,
	   "... none of its fields shown (%s)", d.error);
}

/* fails_with(), and no part of secret is in the messages. */
static void
fails_hiding(const char *text, const char *want, const char *secret,
             const char *what)
{
	struct diag d;
	struct conf *c = load_text(text, &d);

	ok(c == NULL, "%s: refused", what);
	like(d.error, want, "%s: message", what);
	ok(!secret_in_nocase(&d, secret), "%s: the secret is not in it", what);
	conf_free(c);
}

/*
 * A key whose fields are out of place: the secret in the name's (or the
 * algorithm's) place, in each key file format, read by keyfile_parse()
 * and as a key-file; and the key setting holding a secret. The error
 * says what is wrong, warnings too are checked, and the secret is in
 * none of them, in any case.
 */
static void
test_key_fields_swapped(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"%s:mtasts\n", "are the name and the secret in each other's "
	                    "place? (neither is shown)"},
	    {"hmac-sha256:%s:mtasts\n", "in each other's place?"},
	    {"key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: "
	     "mtasts\n",
	     "k.key:2: the key's name looks like a base64 secret and its "
	     "secret does not"},
	    {"key \"%s\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };\n",
	     "k.key:1: the key's name looks like a base64 secret"},
	    /* the secret where the algorithm goes: said unknown, or too
	     * long for an algorithm */
	    {"%s:hmac-sha256:mtasts\n", "k.key:1: "},
	    {"key:\n  - id: mtasts\n    algorithm: %s\n    secret: "
	     "hmac-sha256\n",
	     "k.key:"},
	    {"key \"%s\" { algorithm hmac-sha256; bogus 1; };\n",
	     "k.key:1: unknown setting 'bogus' in a key whose name is not "
	     "shown ("},
	    {"key \"%s\" { algorithm hmac-sha256; };\n",
	     "a key whose name is not shown ("},
	    {"key \"%s\" { algorithm hmac-sha256 };\n",
	     "expected ';' after algorithm"},
	    {"key \"%s\" ;\n", "k.key:1: expected '{' after a key whose "
	                       "name is not shown ("},
	    {"key:\n  - id: %s\n    algorithm: hmac-sha256\n",
	     "a key whose name is not shown ("},
	    /* the name is invalid, or valid but not shown (secret 2) */
	    {"key \"%s\" { algorithm hmac-sha999; secret "
	     "\"fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=\"; };\n",
	     "not shown"},
	};
	const char *s0 = out_of_place_secrets[0];
	char text[1024], conf[1024];
	size_t i, k;

	/* a secret in the algorithm's place (that of secret 1 is too long
	 * for an algorithm, and said so) */
	snprintf(text, sizeof(text), "%s:hmac-sha256:mtasts\n", s0);
	/* a one-line key shows no field until it reads as a key */
	key_text_fails(text,
	               "k.key:1: not a key of the form "
	               "[algorithm:]name:secret: its algorithm (the first of "
	               "three fields) is none of hmac-sha256, ",
	               s0, "one-line key, the secret as its algorithm");
	snprintf(text, sizeof(text),
	         "key:\n  - id: mtasts\n    algorithm: %s\n    secret: "
	         "hmac-sha256\n",
	         s0);
	key_text_fails(text,
	               "k.key:2: key \"mtasts\": TSIG key mtasts: unknown "
	               "algorithm (not shown",
	               s0, "Knot key, the secret as its algorithm");
	/* a short secret (a test's) in the name's place, "mtasts" in the
	 * secret's: not said to be swapped (it is too short for a real
	 * secret), but as the secret does not decode, the name is not shown */
	key_text_fails(
	    "c2VjcmV0:mtasts\n",
	    "k.key:1: not a key of the form "
	    "[algorithm:]name:secret: its secret (the last field) is "
	    "not base64 (no field of it is shown",
	    "c2VjcmV0", "a short secret in the name's place");
	key_text_fails("key \"c2VjcmV0\" { algorithm hmac-sha256; secret "
	               "\"mta!sts\"; };\n",
	               "k.key:1: a TSIG key whose name is not shown (with a "
	               "secret that does not decode",
	               "c2VjcmV0", "... in a key statement");
	/* a secret that decodes: the name is shown */
	key_text_fails("key \"mtasts\" { algorithm hmac-sha256; secret "
	               "\"AAAAAAAAAAAAAAAAAAAAAA==\"; };\n",
	               "k.key:1: key \"mtasts\": TSIG key mtasts: the secret "
	               "is all zero bytes",
	               "c2VjcmV0", "a secret that decodes: the name is shown");
	/* a secret that does not decode beside a name that does not either
	 * (no secret in the name's place): the name is shown */
	key_text_fails("key \"mtasts\" { algorithm hmac-sha256; secret "
	               "\"abc\"; };\n",
	               "k.key:1: key \"mtasts\": TSIG key mtasts: the secret "
	               "is not base64",
	               "c2VjcmV0",
	               "a bad secret beside a name: the name shown");
	/* a valid name shaped like a secret: a warning does not show it */
	snprintf(text, sizeof(text),
	         "key \"%s\" { algorithm hmac-md5; secret \"%s\"; };\n",
	         out_of_place_secrets[2], s0);
	{
		struct tsig_key key;
		struct diag d;

		diag_init(&d);
		ok(keyfile_parse("k.key", text, strlen(text), NULL, &key, &d) ==
		           0 &&
		       d.nwarn == 1,
		   "a key named like a secret, two real secrets: loads, with "
		   "the md5 warning: %s",
		   d.error);
		like(d.warn[0],
		     "k.key:1: a key whose name is not shown (it looks like a "
		     "base64 secret): a TSIG key whose name is not shown (it "
		     "looks like a base64 secret) uses hmac-md5",
		     "... whose name the warning does not show");
		ok(!secret_in_nocase(&d, out_of_place_secrets[2]) &&
		       !secret_in_nocase(&d, s0),
		   "... nor any secret");
	}
	for (k = 0;
	     k < sizeof(out_of_place_secrets) / sizeof(out_of_place_secrets[0]);
	     k++) {
		const char *secret = out_of_place_secrets[k];

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct tsig_key key;
			struct diag d;
			struct conf *c;

			str_copy(text, sizeof(text), cases[i].text);
			replace_marker(text, sizeof(text), secret);
			diag_init(&d);
			ok(keyfile_parse("k.key", text, strlen(text), NULL,
			                 &key, &d) == -1,
			   "secret %zu, key %zu: refused", k, i);
			like(d.error, cases[i].want,
			     "secret %zu, key %zu: message", k, i);
			ok(!secret_in_nocase(&d, secret),
			   "secret %zu, key %zu: the secret is not in it", k,
			   i);
			write_file("k.key", text, 0600);
			c = load_text("options { key-file \"k.key\"; "
			              "policy-file \"/p/%d\"; };\n"
			              "domain \"a.example\" { upstream "
			              "\"https://u.example/p\"; };\n",
			              &d);
			ok(c == NULL && !secret_in_nocase(&d, secret),
			   "secret %zu, key %zu as key-file: refused, no "
			   "secret: %s",
			   k, i, d.error);
			conf_free(c);
		}
		/* the secret in the key setting, or a one-line key there */
		snprintf(conf, sizeof(conf),
		         "options { key \"%s\"; policy-file \"/p/%%d\"; };\n"
		         "domain \"a.example\" { upstream "
		         "\"https://u.example/p\"; };\n",
		         secret);
		fails_hiding(conf,
		             "test.conf:1: a key whose name is not shown (",
		             secret, "the secret as the key setting");
		snprintf(conf, sizeof(conf),
		         "options { key \"hmac-sha256:mtasts:%s\"; "
		         "key-file \"data/keys/oneline.key\"; "
		         "policy-file \"/p/%%d\"; };\n"
		         "domain \"a.example\" { upstream "
		         "\"https://u.example/p\"; };\n",
		         secret);
		fails_hiding(
		    conf,
		    "oneline.key: no key has the name that key gives "
		    "(not shown: it holds ':' ",
		    secret, "a one-line key as the key setting, with key-file");
	}
}

/* Each file in tests/data/conf/broken starts with "# error: TEXT". */
static void
test_broken_dir(void)
{
	DIR *dir = opendir(tpath("data/broken"));
	struct dirent *de;
	int n = 0;

	while (dir != NULL && (de = readdir(dir)) != NULL) {
		char path[1024], want[512], *buf, *nl;
		struct diag d;
		struct conf *c;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/data/broken/%s", tmpdir,
		         de->d_name);
		buf = slurp(path, &len);
		nl = strchr(buf, '\n');
		ok(strncmp(buf, "# error: ", 9) == 0 && nl != NULL,
		   "%s has an expected error", de->d_name);
		snprintf(want, sizeof(want), "%.*s",
		         nl != NULL ? (int)(nl - buf - 9) : 0, buf + 9);
		diag_init(&d);
		c = conf_parse("broken.conf", buf, len, &d);
		ok(c == NULL, "%s refused", de->d_name);
		like(d.error, want, "%s message", de->d_name);
		conf_free(c);
		conf_wipe_free(buf, len);
		n++;
	}
	if (dir != NULL)
		closedir(dir);
	ok(n >= 20, "%d broken configurations tried", n);
}

static void
test_read_file(void)
{
	struct diag d;
	struct conf *c;

	diag_init(&d);
	c = conf_load(tpath("nonexistent.conf"), &d);
	ok(c == NULL, "missing configuration");
	like(d.error,
	     "nonexistent.conf: cannot read configuration: No such "
	     "file",
	     "message");
	ok(strstr(d.error, ".example") == NULL,
	   "no example offered for a file named with -c: %s", d.error);
	/* the default file, missing after an install: the installed
	 * example is named (unless this machine has that file) */
	diag_init(&d);
	if (access(CONF_DEFAULT_PATH, F_OK) == 0 || errno != ENOENT) {
		ok(1, "# SKIP %s exists here", CONF_DEFAULT_PATH);
	} else {
		c = conf_load(CONF_DEFAULT_PATH, &d);
		ok(c == NULL, "missing default configuration");
		like(d.error,
		     CONF_DEFAULT_PATH
		     ": cannot read configuration: No "
		     "such file or directory: copy " EXAMPLESDIR
		     "/mta-sts-sync.conf.example there and "
		     "adjust it",
		     "the missing default configuration names the example");
	}
	diag_init(&d);
	c = conf_load(tmpdir, &d);
	ok(c == NULL && strstr(d.error, "not a regular file") != NULL,
	   "directory refused: %s", d.error);
}

int
main(void)
{
	char data[512];
	const char *base = getenv("TMPDIR");

	srcdir = getenv("top_srcdir");
	if (srcdir == NULL)
		srcdir = ".";
	snprintf(tmpdir, sizeof(tmpdir), "%s/conf-test.XXXXXX",
	         base != NULL ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(data, sizeof(data), "%s/tests/data/conf", srcdir);
	copy_tree(data, tpath("data"));

	test_defaults();
	test_full();
	test_inheritance();
	test_sts_zone();
	test_overrides_local();
	test_verify_url();
	test_shared_policy_file();
	test_shared_policy_file_paths();
	test_shared_policy_file_tenant();
	test_shared();
	test_tls_rpt_scheme();
	test_scale();
	test_includes();
	test_comments();
	test_where();
	test_bytes();
	test_errors();
	test_did_you_mean();
	test_missing_semi();
	test_numbers();
	test_resolve_entries();
	test_urls();
	test_key_statements();
	test_key_statement_forms();
	test_key_files();
	test_key_names_listed();
	test_key_format_detection();
	test_key_parse_errors();
	test_modes();
	test_no_secret_in_messages();
	test_secret_out_of_place();
	test_key_fields_swapped();
	test_key_fields_hidden();
	test_broken_dir();
	test_read_file();

	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
