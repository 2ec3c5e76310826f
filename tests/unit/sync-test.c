/*
 * sync-test.c - unit tests of sync.c's own helpers, which are static: it
 * includes src/sync.c (the archive's sync.o is then not linked). A
 * domain's failure message: its reason cut to leave room for the clause
 * saying what was left, and that clause after an UPDATE told by its
 * result, not by its reason's words. The lock's advice, and the file
 * it is taken on.
 */
#include "../../src/sync.c"

#include <limits.h>
#include <sys/resource.h>

#include "setacl.h"
#include "tap.h"

#include <sys/syscall.h>
#include <sys/xattr.h>

/* An NFSv4 ACL (fake_nfs4_len bytes) that every descriptor has in place
 * of a POSIX one, as on an NFSv4 mount; NULL: the real attributes. */
static const unsigned char *fake_nfs4;
static size_t fake_nfs4_len;

/* fgetxattr(2), as acl.c reads the ACL of an open file: fake_nfs4 when
 * set, else the real call. */
ssize_t
fgetxattr(int fd, const char *name, void *value, size_t size)
{
	if (fake_nfs4 == NULL)
		return (ssize_t)syscall(SYS_fgetxattr, fd, name, value, size);
	return xattr_fake_give("system.nfs4_acl", fake_nfs4, fake_nfs4_len,
	                       name, value, size);
}

/* s is well-formed UTF-8 (RFC 3629 section 4, lengths and continuation
 * bytes; enough here, where the only non-ASCII text is "é"). */
static int
utf8_whole(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int more = *p < 0x80             ? 0
		           : (*p & 0xE0) == 0xC0 ? 1
		           : (*p & 0xF0) == 0xE0 ? 2
		           : (*p & 0xF8) == 0xF0 ? 3
		                                 : -1;

		if (more < 0)
			return 0;
		for (p++; more > 0; more--, p++)
			if ((*p & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

/* A reason too long for the message is cut, marked, before the clause
 * of fail_state(); with a two-byte character at every place around the
 * cut, never inside the character. */
static void
test_fail_cut(void)
{
	const char *state = "; the published policy is left as it is";
	char reason[RUN_MSG_MAX + 64];
	int whole = 1, marked = 1, fits = 1;

	for (size_t at = RUN_MSG_MAX - 80; at < RUN_MSG_MAX - 30; at++) {
		struct domain_run r;
		size_t n;

		memset(&r, 0, sizeof(r));
		memset(reason, 'x', sizeof(reason));
		memcpy(reason + at, "\xC3\xA9", 2); /* é */
		reason[sizeof(reason) - 1] = '\0';
		run_fail(&r, "%s", reason);
		n = strlen(r.error);
		if (!utf8_whole(r.error)) {
			printf("# é at byte %zu: cut inside it\n", at);
			whole = 0;
		}
		if (n < strlen(state) ||
		    strcmp(r.error + n - strlen(state), state) != 0 ||
		    strstr(r.error, TEXT_CUT_MARK "; ") == NULL)
			marked = 0;
		if (n >= RUN_MSG_MAX || n < RUN_MSG_MAX - 16)
			fits = 0;
		free(r.error);
	}
	ok(whole, "a cut reason leaves no character in half");
	ok(marked, "a cut reason is marked, and the clause follows it whole");
	ok(fits, "the failure fills its bound");
}

/* A reason that fits is kept whole, and the first reason wins. */
static void
test_fail_first(void)
{
	struct domain_run r;

	memset(&r, 0, sizeof(r));
	run_fail(&r, "publish-command %s: exit status %d", "x", 1);
	run_fail(&r, "later");
	is_str(r.error,
	       "publish-command x: exit status 1; the published policy is "
	       "left as it is",
	       "a short reason is kept whole; the first one wins");
	free(r.error);
}

/* The failure of a domain whose new file is written, after its UPDATE
 * reported r with the reason why. */
static char *
update_failure(enum dns_update_result r, const char *why)
{
	struct dns_change c;
	struct domain_run dr, *who = &dr;
	struct zone_send s;
	struct dns_update_info info;
	struct diag d;

	memset(&c, 0, sizeof(c));
	memset(&dr, 0, sizeof(dr));
	memset(&s, 0, sizeof(s));
	memset(&info, 0, sizeof(info));
	dr.file_new = 1;
	s.changes = &c;
	s.who = &who;
	s.zone = "example.com";
	diag_init(&d);
	diag_error(&d, "%s", why);
	zone_report(&s, 0, 1, r, &d, &info);
	strlist_free(&dr.warnings);
	return dr.error;
}

/* After an UPDATE that may have been applied (DNS_UPDATE_UNKNOWN), the
 * clause leaves the id open, even when the reason was cut before the
 * words that say so; after a refusal it says the id was not changed,
 * whatever words the reason holds. */
static void
test_update_state(void)
{
	const char *open = "; the policy file holds the new policy";
	const char *kept = "; the _mta-sts id was not changed";
	char why[DIAG_MSG_MAX];
	char *e;

	memset(why, 'x', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	memcpy(why + sizeof(why) - 1 - strlen(TEXT_CUT_MARK), TEXT_CUT_MARK,
	       strlen(TEXT_CUT_MARK));
	e = update_failure(DNS_UPDATE_UNKNOWN, why);
	ok(e != NULL && strlen(e) > strlen(open) &&
	       strcmp(e + strlen(e) - strlen(open), open) == 0,
	   "an UPDATE that may have been applied, its reason cut: the id "
	   "is left open");
	free(e);
	e = update_failure(DNS_UPDATE_FAILED,
	                   "S refused the update (REFUSED): the next run "
	                   "checks nothing else");
	ok(e != NULL && strlen(e) > strlen(kept) &&
	       strcmp(e + strlen(e) - strlen(kept), kept) == 0,
	   "a refused UPDATE whose reason says the next run checks: the id "
	   "was not changed");
	free(e);
}

/*
 * The lock advice, into d, for the configuration (open as fd, at path,
 * of size bytes, in dir) renamed to dir/name, others and user other
 * allowed to read it. path is its new name after.
 */
static void
lock_advice_renamed(const char *dir, const char *name, char *path, size_t size,
                    int fd, unsigned other, struct diag *d)
{
	char to[128];

	snprintf(to, sizeof(to), "%s/%s", dir, name);
	if (rename(path, to) == -1) {
		perror("rename");
		exit(99);
	}
	snprintf(path, size, "%s", to);
	fchmod(fd, 0644);
	set_acl(path, 0, other, 4, 4, 4);
	diag_init(d);
	lock_taken(path, fd, d);
}

/*
 * The commands of the lock advice quote the configuration's path as a
 * shell takes it, so that they work when pasted (a name with a space
 * and a quote): before, the path was put in them as it is. Those for a
 * configuration whose name looks like a secret say so in words in place
 * of the path, which the message shows nowhere: before, the buffer the
 * path was to be quoted into was printed unwritten. The configuration is
 * open as fd, at path (size bytes, its new name after), in dir; user
 * other may read it.
 */
static void
lock_advice_paths(const char *dir, char *path, size_t size, int fd,
                  unsigned other)
{
	char want[512];
	struct diag d;

	lock_advice_renamed(dir, "my lock's.conf", path, size, fd, other, &d);
	snprintf(want, sizeof(want),
	         "keep every run out: chmod o-r '%s/my lock'\\''s.conf' "
	         "(mode 0640 or 0600); setfacl -x u:%u '%s/my lock'\\''s.conf' "
	         "(its ACL lets user ",
	         dir, other, dir);
	like(d.error, want, "lock: the path quoted in its commands");
	lock_advice_renamed(dir, "Um9Ib0hmQ0Z6MHdmVXpSb2Zqc1pZZXNOM0dYa3ZpV3A",
	                    path, size, fd, other, &d);
	snprintf(want, sizeof(want),
	         "keep every run out: chmod o-r %s (mode 0640 or 0600); "
	         "setfacl -x u:%u %s (its ACL lets user ",
	         PATH_NOT_SHOWN, other, PATH_NOT_SHOWN);
	like(d.error, want,
	     "lock: a secret-shaped path is not put in its commands");
	ok(strstr(d.error, "Um9Ib0hmQ0Z6") == NULL,
	   "lock: a secret-shaped path is shown nowhere in the message");
}

/* A configuration to lock, lock.conf of mode 0600, in a new directory
 * made from the template dir, its path into path (size bytes). Returns
 * it open read-write, or -1. */
static int
lock_file_make(char *dir, char *path, size_t size)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	snprintf(path, size, "%s/lock.conf", dir);
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

/* Close fd (-1: none), remove path and its directory dir. */
static void
lock_file_drop(const char *dir, const char *path, int fd)
{
	if (fd != -1)
		close(fd);
	unlink(path);
	rmdir(dir);
}

/*
 * A configuration whose lock is taken, on an NFSv4 mount, whose NFSv4
 * ACL lets another user read it: the advice names that entry and the
 * nfs4_setfacl -x to run, not a setfacl of POSIX ACLs; an entry of the
 * running user's id is passed over.
 */
static void
test_lock_nfs4_readers(void)
{
	char dir[] = "/tmp/sync-test.XXXXXX", path[128], want[512], me[32];
	struct nfs4_ace_spec e[] = {
	    {0, 0, 0x160187, "OWNER@"},
	    {0, 0, 0x1, "deploy@example.com"},
	};
	unsigned char blob[128];
	struct diag d;
	int fd = lock_file_make(dir, path, sizeof(path));

	if (fd == -1)
		return;
	fake_nfs4 = blob;
	fake_nfs4_len = nfs4_acl_blob(e, 2, blob, sizeof(blob));
	diag_init(&d);
	lock_taken(path, fd, &d);
	snprintf(want, sizeof(want),
	         "any user who may read %s may lock it and keep every run out: "
	         "nfs4_setfacl -x 'A::deploy@example.com:r' %s (its NFSv4 ACL "
	         "lets user deploy@example.com read it)",
	         path, path);
	like(d.error, want, "lock: a user an NFSv4 ACL lets read it: named");
	snprintf(me, sizeof(me), "%u", (unsigned)geteuid());
	e[1].who = me;
	fake_nfs4_len = nfs4_acl_blob(e, 2, blob, sizeof(blob));
	diag_init(&d);
	lock_taken(path, fd, &d);
	ok(strstr(d.error, "may lock it") == NULL,
	   "lock: the running user's own NFSv4 entry: no advice (%s)", d.error);
	fake_nfs4 = NULL;
	close(fd);
	unlink(path);
	rmdir(dir);
}

/*
 * A configuration whose lock is taken, that an ACL lets another user
 * read (mode 0640 then, the group bits being the ACL's mask), is one
 * that user may hold the lock of: the advice names them and the setfacl
 * to run; before, only others' read bit was looked at, and nothing was
 * said. With others' read bit too, both are said; the running user's
 * own entry is passed over.
 */
static void
test_lock_acl_readers(void)
{
	unsigned other = geteuid() == 65534 ? 65533 : 65534;
	char dir[] = "/tmp/sync-test.XXXXXX", path[128], want[1024], who[128];
	struct diag d;
	int fd;

	fd = lock_file_make(dir, path, sizeof(path));
	if (fd == -1 || set_acl_or_skip(path, 0, other, 4, 0, 4, 4) == -1)
		goto out;
	diag_init(&d);
	lock_taken(path, fd, &d);
	snprintf(want, sizeof(want),
	         "; any user who may read %s may lock it and keep every run "
	         "out: setfacl -x u:%u %s (its ACL lets user %s read it)",
	         path, other, path, user_shown(other, who, sizeof(who)));
	like(d.error, want, "lock: a user an ACL lets read it: setfacl -x");
	/* no holder this run can see: not called a run (before, "another
	 * mta-sts-sync run is using"), and how root finds it */
	snprintf(want, sizeof(want),
	         "the lock on %s is held by a process this run cannot see "
	         "(another user's run, or one /proc hides: hidepid=, "
	         "ProtectProc=invisible, another PID namespace); nothing done: "
	         "wait for it to end (as root, fuser -v %s or lsof %s names "
	         "it); any user",
	         path, path, path);
	ok(strncmp(d.error, want, strlen(want)) == 0,
	   "lock: no holder seen: a process this run cannot see (%s)", d.error);
	fchmod(fd, 0644);
	set_acl(path, 0, other, 4, 0, 4);
	diag_init(&d);
	lock_taken(path, fd, &d);
	like(d.error, "keep every run out: chmod o-r ",
	     "lock: others too: chmod o-r first");
	like(d.error, "(mode 0640 or 0600); setfacl -x u:",
	     "lock: others too: then setfacl -x");
	set_acl(path, 0, (unsigned)geteuid(), 4, 0, 4);
	fchmod(fd, 0640);
	diag_init(&d);
	lock_taken(path, fd, &d);
	ok(strstr(d.error, "may lock it") == NULL,
	   "lock: the running user's own entry: no advice (%s)", d.error);
	lock_advice_paths(dir, path, sizeof(path), fd, other);
out:
	lock_file_drop(dir, path, fd);
}

/* The lock advice for path (open as fd, its lock taken), into d and
 * out (size bytes). Returns out. */
static const char *
lock_advice(const char *path, int fd, struct diag *d, char *out, size_t size)
{
	diag_init(d);
	lock_taken(path, fd, d);
	snprintf(out, size, "%s", d->error);
	return out;
}

/*
 * A configuration of another user's, others may read, run by a user not
 * in its group: the lock advice's chgrp and chmod 0640, on a file whose
 * ACL's mask hides an entry that lets a user read it, first removes that
 * entry (before, chmod 0640 widened the mask to it: a reader the advice
 * never named was let in).
 */
static void
test_lock_masked_reader(void)
{
	unsigned other = geteuid() == 65534 ? 65533 : 65534, hidden = 4242;
	char dir[] = "/tmp/sync-test.XXXXXX", path[128], want[512], grp[64];
	char got[DIAG_MSG_MAX], who[128];
	unsigned uids[70];
	struct diag d;
	int fd;

	fd = lock_file_make(dir, path, sizeof(path));
	if (fd == -1 || fchown(fd, other, other) == -1 ||
	    in_my_groups((gid_t)other)) {
		for (int i = 0; i < 4; i++)
			ok(1, "# SKIP cannot give %s to uid %u", path, other);
		goto out;
	}
	fchmod(fd, 0604);
	if (set_acl_or_skip(path, 0, hidden, 4, 0, 0, 4) == -1)
		goto out;
	snprintf(
	    want, sizeof(want),
	    "keep every run out: setfacl -x u:%u %s (its mask hides user %s "
	    "now, which chmod 0640 would let read it); chgrp %s %s; chmod "
	    "0640 %s (",
	    hidden, path, user_shown(hidden, who, sizeof(who)),
	    group_name(getegid(), grp, sizeof(grp)), path, path);
	like(lock_advice(path, fd, &d, got, sizeof(got)), want,
	     "lock: the entry a chmod 0640 would unmask is taken out first");
	/* more than ACL_NAMED_LISTED: all taken out (before, the first 8,
	 * and chmod 0640 unmasked the rest) */
	for (unsigned i = 0; i < 70; i++)
		uids[i] = 2001 + i;
	set_acl_list(path, 10, uids, 0, NULL, 4, 0);
	snprintf(want, sizeof(want),
	         "keep every run out: setfacl -x "
	         "u:2001,u:2002,u:2003,u:2004,u:2005,u:2006,u:2007,u:2008,"
	         "u:2009,u:2010 %s (its mask hides user uid 2001, ",
	         path);
	like(lock_advice(path, fd, &d, got, sizeof(got)), want,
	     "lock: 10 masked entries, all taken out");
	snprintf(want, sizeof(want),
	         "user uid 2008 and 2 more (getfacl %s lists them) now, which "
	         "chmod 0640 would let read it); chgrp ",
	         path);
	like(got, want, "lock: ... 8 named, the rest counted");
	/* beyond ACL_NAMED_KEPT: words, no chmod 0640 */
	set_acl_list(path, 70, uids, 0, NULL, 4, 0);
	lock_advice(path, fd, &d, got, sizeof(got));
	ok(strstr(got, "chmod 0640 /") == NULL &&
	       strstr(got, "and no ACL entry for another user or group, "
	                   "those its mask hides now included, which a mode "
	                   "of 0640 would let read it: getfacl lists them, "
	                   "setfacl -x removes them)") != NULL,
	   "lock: 70 masked entries: words, no chmod: '%s'", got);
out:
	lock_file_drop(dir, path, fd);
}

/* The lock advice for path, whose ACL lets user 65534 and group gid,
 * one the running user is in, read it, into out (size bytes). Returns
 * out. */
static const char *
want_all_readers(const char *path, unsigned gid, char *out, size_t size)
{
	char u[128], g[128];

	snprintf(out, size,
	         "keep every run out: setfacl -x u:65534,g:%u %s (its ACL "
	         "lets user %s and group %s, which the running user is in, "
	         "read it: every member of a group may lock it)",
	         gid, path, user_shown(65534, u, sizeof(u)),
	         group_shown((gid_t)gid, g, sizeof(g)));
	return out;
}

/*
 * Every user and group an ACL lets read the configuration is named in
 * the lock advice, in one setfacl -x, and a group the running user is
 * in (here its own group, gid getegid(), the file given another) is
 * named too, as its other members may hold the lock: before, such a
 * group was passed over, and only the first entry named. Beyond
 * ACL_NAMED_LISTED entries, getfacl is said to list the rest. Giving the
 * file another group needs root (or another group of the user's):
 * skipped otherwise.
 */
static void
test_lock_acl_all_readers(void)
{
	unsigned users[10] = {65530, 65531, 65532, 65533, 65534},
	         gids[1] = {(unsigned)getegid()};
	gid_t other = getegid() == 65534 ? 65533 : 65534;
	char dir[] = "/tmp/sync-test.XXXXXX", path[64], want[DIAG_MSG_MAX],
	     u[1024];
	struct diag d;
	int fd;

	fd = lock_file_make(dir, path, sizeof(path));
	if (fd == -1 || fchown(fd, (uid_t)-1, other) == -1 ||
	    set_acl_list(path, 1, users + 4, 1, gids, 4, 4) == -1) {
		ok(1, "# SKIP cannot give %s another group and an ACL: %s",
		   path, strerror(errno));
		ok(1, "# SKIP cannot give %s another group and an ACL", path);
		goto out;
	}
	/* the running user owns it: no setfacl -m u:UID:r first */
	like(lock_advice(path, fd, &d, want, sizeof(want)),
	     want_all_readers(path, gids[0], u, sizeof(u)),
	     "lock: a user and the running user's group: both named");
	for (unsigned i = 5; i < 10; i++)
		users[i] = 65535 + i;
	set_acl_list(path, 10, users, 0, gids, 4, 4);
	like(lock_advice(path, fd, &d, want, sizeof(want)),
	     " and 2 more (getfacl ",
	     "lock: 10 entries: 8 named, the rest counted");
out:
	lock_file_drop(dir, path, fd);
}

/* Whether every command in the lock advice msg names path whole: each
 * "chmod o-r ", "fuser -v ", " or lsof ", "setfacl -x u:N " and
 * "nfs4_setfacl -x 'SPEC' " followed by path and a blank. */
static int
lock_commands_whole(const char *msg, const char *path)
{
	size_t n = strlen(path);
	const char *p, *at;

	for (p = msg; (p = strstr(p, "chmod o-r ")) != NULL; p++)
		if (strncmp(p + 10, path, n) != 0 || p[10 + n] != ' ')
			return 0;
	for (p = msg; (p = strstr(p, "fuser -v ")) != NULL; p++)
		if (strncmp(p + 9, path, n) != 0 || p[9 + n] != ' ')
			return 0;
	for (p = msg; (p = strstr(p, " or lsof ")) != NULL; p++)
		if (strncmp(p + 9, path, n) != 0 || p[9 + n] != ' ')
			return 0;
	for (p = msg; (p = strstr(p, "setfacl -x u:")) != NULL; p++)
		if ((at = strchr(p + 13, ' ')) == NULL ||
		    strncmp(at + 1, path, n) != 0 || at[1 + n] != ' ')
			return 0;
	for (p = msg; (p = strstr(p, "nfs4_setfacl -x '")) != NULL; p++)
		if ((at = strstr(p + 17, "' ")) == NULL ||
		    strncmp(at + 2, path, n) != 0 || at[2 + n] != ' ')
			return 0;
	return 1;
}

/* Move the configuration at path (size bytes; its new path after) to a
 * name of total length len under dir, in directories of 200 characters
 * made there as needed. Returns 0, or -1. */
static int
lock_path_of_length(const char *dir, char *path, size_t size, size_t len)
{
	char to[PATH_MAX], comp[256];
	size_t o = (size_t)snprintf(to, sizeof(to), "%s", dir);

	/* not base64: a secret-shaped name would not be shown */
	for (size_t i = 0; i < 200; i++)
		comp[i] = "dir-"[i % 4];
	comp[200] = '\0';
	/* a directory more while the name left would be too long */
	while (len > o + 1 + 255) {
		o += (size_t)snprintf(to + o, sizeof(to) - o, "/%s", comp);
		if (mkdir(to, 0700) == -1 && errno != EEXIST)
			return -1;
	}
	for (size_t i = 0; i < len - o - 1; i++)
		comp[i] = "name-"[i % 5];
	comp[len - o - 1] = '\0';
	snprintf(to + o, sizeof(to) - o, "/%s", comp);
	if (rename(path, to) == -1)
		return -1;
	snprintf(path, size, "%s", to);
	return 0;
}

/* lock_file_drop() of path, moved under dir by lock_path_of_length(),
 * with the directories made there on the way. */
static void
lock_path_drop(const char *dir, char *path, int fd)
{
	char *slash;

	if (fd != -1)
		close(fd);
	unlink(path);
	while ((slash = strrchr(path, '/')) != NULL &&
	       (size_t)(slash - path) > strlen(dir)) {
		*slash = '\0';
		rmdir(path);
	}
	rmdir(dir);
}

/*
 * lock_taken() of the configuration at path (size bytes, open as fd),
 * moved under dir to names of 300 to 2200 characters: each command of
 * its advice whole (lock_commands_whole()), cmd given at some lengths
 * and words (fallback) in its place at others, never the note that
 * follows cmd ("(its ACL lets ") without it (what: the case).
 */
static void
lock_advice_lengths(const char *dir, char *path, size_t size, int fd,
                    const char *cmd, const char *note, const char *fallback,
                    const char *what)
{
	size_t words = 0, given = 0;
	char bad[64] = "";
	struct diag d;

	for (size_t len = 300; len <= 2200 && bad[0] == '\0'; len += 25) {
		if (lock_path_of_length(dir, path, size, len) == -1) {
			snprintf(bad, sizeof(bad), "%zu: %s", len,
			         strerror(errno));
			break;
		}
		diag_init(&d);
		lock_taken(path, fd, &d);
		if (!lock_commands_whole(d.error, path) ||
		    (strstr(d.error, note) != NULL &&
		     strstr(d.error, cmd) == NULL))
			snprintf(bad, sizeof(bad), "%zu", len);
		if (strstr(d.error, cmd) != NULL)
			given++;
		else if (strstr(d.error, fallback) != NULL)
			words++;
	}
	ok(bad[0] == '\0' && given > 0,
	   "lock: %s: every command whole (%s; given at %zu lengths)", what,
	   bad[0] != '\0' ? bad : "each length", given);
	ok(words > 0,
	   "lock: %s: words where the commands do not fit (%zu lengths)", what,
	   words);
}

/*
 * The lock advice for a configuration of a long path, which others and
 * an ACL's user may read, gives its commands whole or not at all, at
 * every length up to where the message itself is cut: where they do
 * not fit, words say what to do. Before, a command the advice could not
 * hold whole was printed cut short ("setfacl -x u:N /tmp/...dir- [cut]"),
 * which names another path. The same for an NFSv4 ACL's entry and its
 * nfs4_setfacl -x.
 */
static void
test_lock_advice_long_path(void)
{
	char dir[] = "/tmp/sync-test.XXXXXX", path[PATH_MAX], cmd[32];
	char dir4[] = "/tmp/sync-test.XXXXXX", path4[PATH_MAX];
	unsigned other = geteuid() == 65534 ? 65533 : 65534;
	struct nfs4_ace_spec e[] = {
	    {0, 0, 0x160187, "OWNER@"},
	    {0, 0, 0x1, "deploy@example.com"},
	};
	unsigned char blob[128];
	int fd;

	fd = lock_file_make(dir4, path4, sizeof(path4));
	if (fd != -1 && fchmod(fd, 0644) == 0) {
		fake_nfs4 = blob;
		fake_nfs4_len = nfs4_acl_blob(e, 2, blob, sizeof(blob));
		lock_advice_lengths(
		    dir4, path4, sizeof(path4), fd,
		    "nfs4_setfacl -x 'A::deploy@example.com:r' ",
		    "(its NFSv4 ACL lets ",
		    "nfs4_getfacl lists them, nfs4_setfacl -x removes them",
		    "a long path, an NFSv4 ACL");
		fake_nfs4 = NULL;
	}
	lock_path_drop(dir4, path4, fd);
	fd = lock_file_make(dir, path, sizeof(path));
	if (fd == -1 || fchmod(fd, 0644) == -1 ||
	    set_acl_or_skip(path, 0, other, 4, 4, 4, 2) == -1)
		goto out;
	snprintf(cmd, sizeof(cmd), "setfacl -x u:%u ", other);
	lock_advice_lengths(dir, path, sizeof(path), fd, cmd, "(its ACL lets ",
	                    "take their read access away", "a long path");
out:
	lock_path_drop(dir, path, fd);
}

/* A configuration at path that conf_load() takes (exit 99 if not). */
static struct conf *
conf_at(const char *path)
{
	static const char text[] =
	    "key \"k\" { algorithm hmac-sha256; secret "
	    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"; };\n"
	    "domain \"example.com\" { upstream "
	    "\"https://mta-sts.example.net/.well-known/mta-sts.txt\"; "
	    "key \"k\"; policy-file \"/srv/%d.txt\"; };\n";
	struct conf *c;
	struct diag d;
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0 ||
	    chmod(path, 0600) == -1) {
		perror(path);
		exit(99);
	}
	diag_init(&d);
	if ((c = conf_load(path, &d)) == NULL) {
		printf("# %s\n", d.error);
		exit(99);
	}
	return c;
}

/*
 * The lock is taken on the file conf_load() read, whatever its path
 * names by then: one who may rename entries in its directory (a member
 * of its group-writable directory's group) puts another file there, then
 * a FIFO. Before, sync_lock() opened the path again: it locked the other
 * file, so two runs could overlap, and it hung in the open of the FIFO
 * (alarm(2) ends the test then).
 */
static void
test_lock_file_read(void)
{
	char dir[] = "/tmp/sync-test.XXXXXX", a[64], b[64], x[64];
	struct conf *ca, *cb;
	struct diag d;
	int keep, rc, locked;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	snprintf(a, sizeof(a), "%s/a.conf", dir);
	snprintf(b, sizeof(b), "%s/b.conf", dir);
	snprintf(x, sizeof(x), "%s/x", dir);
	ca = conf_at(a);
	cb = conf_at(b);
	if ((keep = open(a, O_RDONLY | O_CLOEXEC)) == -1 ||
	    rename(b, x) == -1 || rename(x, a) == -1 || mkfifo(x, 0600) == -1 ||
	    rename(x, b) == -1) {
		perror(dir);
		exit(99);
	}
	alarm(10);
	diag_init(&d);
	rc = sync_lock(ca, &d);
	ok(rc == 0, "lock: taken, its path naming another file (%s)", d.error);
	locked = flock(keep, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	ok(locked, "lock: on the file read, not on the one its path names");
	diag_init(&d);
	rc = sync_lock(cb, &d);
	ok(rc == 0, "lock: taken, its path naming a FIFO: no hang (%s)",
	   d.error);
	alarm(0);
	close(keep);
	conf_free(ca);
	conf_free(cb);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

/*
 * A lock that cannot be taken (no descriptor left to copy the
 * configuration's into) shows the configuration's path as other
 * messages do: one that looks like a secret is not shown. Before, it
 * was put in the message as it is.
 */
static void
test_lock_error_path(void)
{
	char dir[] = "/tmp/sync-test.XXXXXX", p[128];
	struct rlimit was, low;
	struct conf *c;
	struct diag d;
	int rc;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	snprintf(p, sizeof(p), "%s/Um9Ib0hmQ0Z6MHdmVXpSb2Zqc1pZZXNOM0dYa3ZpV3A",
	         dir);
	c = conf_at(p);
	getrlimit(RLIMIT_NOFILE, &was);
	low = was;
	low.rlim_cur = 0;
	diag_init(&d);
	if (setrlimit(RLIMIT_NOFILE, &low) == -1) {
		perror("setrlimit");
		exit(99);
	}
	rc = sync_lock(c, &d);
	setrlimit(RLIMIT_NOFILE, &was);
	ok(rc == -1 && strstr(d.error, "cannot lock") != NULL &&
	       strstr(d.error, PATH_NOT_SHOWN) != NULL &&
	       strstr(d.error, "Um9Ib0hmQ0Z6") == NULL,
	   "lock: cannot be taken: a secret-shaped path not shown (%s)",
	   d.error);
	conf_free(c);
	unlink(p);
	rmdir(dir);
}

int
main(void)
{
	test_fail_cut();
	test_fail_first();
	test_update_state();
	test_lock_acl_readers();
	test_lock_masked_reader();
	test_lock_acl_all_readers();
	test_lock_nfs4_readers();
	test_lock_advice_long_path();
	test_lock_file_read();
	test_lock_error_path();
	return done_testing();
}
