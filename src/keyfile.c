/*
 * keyfile.c - TSIG key files in the three formats operators have at hand,
 * detected from the content:
 *
 *   BIND       key "name" { algorithm hmac-sha256; secret "..."; };
 *              (tsig-keygen, ddns-confgen -q; several keys, comments)
 *   Knot YAML  key:\n  - id: name\n    algorithm: ...\n    secret: ...
 *              (keymgr -t name), a strict line-by-line subset
 *   one line   [alg:]name:secret (knsupdate / kdig -y), hmac-sha256 default
 *
 * Also the capped file reader and the permission rule shared with conf.c.
 * Secrets are wiped after use and never quoted in a message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "conf.h"
#include "conftrust.h"
#include "dirwalk.h"
#include "lex.h"
#include "tsig.h"
#include "util.h"

void
conf_wipe_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
keyspec_wipe(struct keyspec *ks)
{
	explicit_bzero(ks, sizeof(*ks));
}

/* Read from fd until EOF into buf of cap bytes; returns the count or -1. */
static ssize_t
read_all(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

char *
conf_read_fd(int fd, size_t max, size_t *len, struct stat *st, struct diag *d)
{
	char *data;
	size_t cap;
	ssize_t n;

	if (fstat(fd, st) == -1) {
		diag_error(d, "%s", strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st->st_mode)) {
		diag_error(d, "not a regular file");
		return NULL;
	}
	if (st->st_size < 0 || (unsigned long long)st->st_size > max) {
		diag_error(d, "file too large (more than %zu bytes)", max);
		return NULL;
	}
	/* One byte more than the size, to notice a file that grew. */
	cap = (size_t)st->st_size + 1;
	data = xmalloc(cap + 1);
	if ((n = read_all(fd, data, cap)) == -1 || (size_t)n == cap) {
		diag_error(d, "%s",
		           n == -1 ? strerror(errno)
		                   : "file changed while being read");
		conf_wipe_free(data, cap + 1);
		return NULL;
	}
	data[n] = '\0';
	*len = (size_t)n;
	return data;
}

/* A user or group name as a shell takes it (quoted as path_shell()
 * quotes a path) in out, or NULL when it cannot be given so (a lead '-'
 * or '=', which path_shell() turns into another name with "./"). */
static const char *
name_shell(const char *name, char *out, size_t size)
{
	const char *sh = path_shell(name, out, size);

	return sh == out && *name != '-' && *name != '=' ? sh : NULL;
}

/* A user (other than uid) whose primary group is gid, as a shell takes
 * its name, into out; NULL when there is none (or it cannot be shown). */
static const char *
group_user(gid_t gid, uid_t uid, char *out, size_t size)
{
	const struct passwd *pw;
	const char *sh = NULL;

	setpwent();
	while (sh == NULL && (pw = getpwent()) != NULL)
		if (pw->pw_gid == gid && pw->pw_uid != uid) {
			sh = name_shell(pw->pw_name, out, size);
		}
	endpwent();
	return sh;
}

/* Whether this job's user is one that others share: nobody (the
 * overflow uid), or one whose primary group is nogroup or another's
 * too. A file given to it is given to all of them (their processes may
 * read it, and hold the configuration's lock). */
static int
runner_shared(void)
{
	const struct group *gr = getgrgid(getegid());
	char other[256];

	if (geteuid() == 65534 || getegid() == 65534 || gr == NULL ||
	    strcmp(gr->gr_name, "nogroup") == 0)
		return 1;
	for (char **m = gr->gr_mem; *m != NULL; m++) {
		const struct passwd *pw = getpwnam(*m);

		if (pw == NULL || pw->pw_uid != geteuid())
			return 1;
	}
	return group_user(getegid(), geteuid(), other, sizeof(other)) != NULL;
}

/*
 * Append to d what lets this job read path (what it is), set up for
 * someone else: the file of a user other than root, or one its group
 * (other than root's) may read, as contrib/ sets a configuration up
 * (root:GROUP 0640): the job is to run as that user or a member of that
 * group; giving the file to this one would lock the service out.
 * Returns whether it was.
 */
static int
set_up_for_other(const char *path, const struct stat *st, const char *hint,
                 struct diag *d)
{
	char id[256], who[DIAG_MSG_MAX], as[300];
	const char *sh;

	if (st->st_uid != 0 && (st->st_mode & S_IRUSR)) {
		user_name(st->st_uid, id, sizeof(id));
		sh = path_shell(id, who, sizeof(who));
		diag_append(
		    d,
		    "%s: %s is user %s's: run the job as that user%s%s%s, "
		    "or as root",
		    hint, path, id, sh == who ? " (sudo -u " : "",
		    sh == who ? sh : "", sh == who ? " ...)" : "");
		return 1;
	}
	if (st->st_gid == 0 || !(st->st_mode & S_IRGRP))
		return 0;
	group_name(st->st_gid, id, sizeof(id));
	sh = group_user(st->st_gid, (uid_t)-1, who, sizeof(who));
	snprintf(as, sizeof(as), "%s", sh != NULL ? sh : "");
	diag_append(d,
	            "%s: %s is set up for group %s (mode %04o), which that "
	            "user is not in: run the job as a member of it%s%s%s, or "
	            "as root (giving the file to this user would take it "
	            "from that group's service)",
	            hint, path, id, (unsigned)(st->st_mode & 07777),
	            sh != NULL ? " (sudo -u " : "", as,
	            sh != NULL ? " ..., whose group it is)" : "");
	return 1;
}

/*
 * Append to d, the reason path (what it is) was not opened, errno err,
 * as whom this job runs and what lets it read the file, when it was
 * refused access (EACCES, EPERM): a service user's job given root's key
 * or configuration. A configuration set up for another user or group
 * says so (set_up_for_other()); not a key, which is most often a name
 * server's (root:bind 0640, knot's own), whose user the job is not to
 * run as: it gets a copy of its own. A job as a user others share
 * (nobody, a group of several) gets words only: a system user of its
 * own, as contrib/README.md sets up; handing the file or a key to
 * nobody hands it to every daemon running as nobody. Else a key gets a
 * copy of that user's own (a name server may read the original), a
 * configuration that user's group (root:GROUP 0640, as contrib/ sets it
 * up), its keys moved out first: a secret in a file its group may read
 * is refused, and the advice must not lead to that refusal; names are
 * quoted as a shell takes them, as paths are. Where stat(2) is refused
 * too, a directory on the way is what keeps it out, whose modes
 * namei(1) shows. Not for root (refused by NFS's root_squash, or a unit
 * without CAP_DAC_OVERRIDE: no chown helps), nor a path not shown; past
 * 200 bytes, whom alone, without commands: the callers put the path
 * before it too, and a command cut short at the message's end would
 * name another path.
 */
static void
read_denied_append(const char *path, enum conf_trust what, int err,
                   struct diag *d)
{
	char hint[DIAG_MSG_MAX], ps[DIAG_MSG_MAX], id[256], way[DIAG_MSG_MAX],
	    ns[300];
	const char *sh = path_shell(path, ps, sizeof(ps)), *name;
	struct stat st;

	if (geteuid() == 0 || sh != ps || (err != EACCES && err != EPERM))
		return;
	if (strlen(sh) > 200) {
		runner_hint(err, "it", "readable", hint, sizeof(hint));
		diag_append(d, "%s", hint);
		return;
	}
	if (stat(path, &st) == -1 && errno == EACCES) {
		snprintf(way, sizeof(way), "the directories on the way to %s",
		         path);
		runner_hint(err, way, "searchable", hint, sizeof(hint));
		diag_append(d, "%s: namei -l %s shows their modes", hint, sh);
		return;
	}
	runner_hint(err, path, "readable", hint, sizeof(hint));
	if (what != CONF_TRUST_KEY && set_up_for_other(path, &st, hint, d))
		return;
	if (what == CONF_TRUST_KEY)
		user_name(geteuid(), id, sizeof(id));
	else
		group_name(getegid(), id, sizeof(id));
	name = name_shell(id, ns, sizeof(ns));
	if (runner_shared() || name == NULL)
		diag_append(
		    d,
		    "%s, a user other services share: give the job a "
		    "system user of its own (useradd --system "
		    "--user-group, as contrib/README.md sets it up) and "
		    "the file to it, or run the job as root",
		    hint);
	else if (what == CONF_TRUST_KEY)
		diag_append(d,
		            "%s: give that user a copy of its own (as root: "
		            "install -m 0600 -o %s %s COPY, and name COPY in "
		            "key-file), or run the job as root",
		            hint, name, sh);
	else
		diag_append(d,
		            "%s: give it that user's group (as root: chgrp %s "
		            "%s; chmod 0640 %s), with any key statement moved "
		            "to a key-file of that user's (a TSIG secret in a "
		            "file its group may read is refused), or run the "
		            "job as root",
		            hint, name, sh, sh);
}

char *
conf_read_trusted(const char *path, enum conf_trust what, size_t max,
                  size_t *len, struct stat *st, int *fdp, int *unread,
                  struct diag *d)
{
	char *data;
	int rc;

	*unread = 1;
	rc = conf_open_trusted(path, what, fdp, st, d->error, sizeof(d->error));
	if (rc == -1) {
		int err = errno;

		d->error[0] = '\0'; /* nothing said there: the reason */
		diag_error(d, "%s", strerror(err));
		read_denied_append(path, what, err, d);
	}
	if (rc != 0) {
		*unread = rc == -1;
		return NULL;
	}
	if ((data = conf_read_fd(*fdp, max, len, st, d)) == NULL) {
		close(*fdp);
		*fdp = -1;
	}
	return data;
}

/* What the permission bits bits (0 to 7) let do, in words ("readable",
 * "readable and writable", ...), into out (size bytes). Returns out. */
static const char *
bits_words(unsigned bits, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s%s", (bits & 4) ? "readable" : "",
	         (bits & 4) == 0 || (bits & 3) == 0 ? ""
	         : (bits & 3) == 3                  ? ", "
	                                            : " and ",
	         (bits & 2) ? "writable" : "", (bits & 3) == 3 ? " and " : "",
	         (bits & 1) ? "executable" : "");
	return out;
}

/* keyfile_mode_words(), the group bits of mode being those of group (its
 * group, or the entries its ACL names, through its mask). */
static const char *
mode_words(mode_t mode, const char *group, char *buf, size_t size)
{
	unsigned g = (mode >> 3) & 7, o = mode & 7;
	char gw[48], ow[48];

	if ((mode & 077) == 0)
		return NULL;
	bits_words(g, gw, sizeof(gw));
	bits_words(o, ow, sizeof(ow));
	if (g == o)
		snprintf(buf, size, "%s by %s and others", gw, group);
	else if (g != 0 && o != 0)
		snprintf(buf, size, "%s by %s and %s by others", gw, group, ow);
	else
		snprintf(buf, size, "%s by %s", g != 0 ? gw : ow,
		         g != 0 ? group : "others");
	snprintf(buf + strlen(buf), size - strlen(buf), " (mode %04o)",
	         (unsigned)(mode & 07777));
	return buf;
}

const char *
keyfile_mode_words(mode_t mode, char *buf, size_t size)
{
	return mode_words(mode, "its group", buf, size);
}

/* acl_who_read() of the key file (fd, or path when fd is -1) of mode and
 * gid: the named entries that may do perm to it, root and the running
 * user passed over. Returns its result. */
static int
key_acl_read(int fd, const char *path, mode_t mode, gid_t gid, unsigned perm,
             struct acl_who *aw)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_gid = gid;
	return acl_who_read(fd, path, &st, perm, acl_root_or_runner, aw);
}

int
keyfile_acl_readers_own(int fd, const char *path, mode_t mode, gid_t gid)
{
	struct acl_who aw;

	if ((mode & 007) != 0 || (mode & 070) == 0)
		return 0;
	if (key_acl_read(fd, path, mode, gid, (mode >> 3) & 7, &aw) == -1)
		return 0; /* judged by its mode, as without an ACL */
	return aw.acl && !aw.group && !aw.named;
}

/* "read", "write" or "execute", for the ACL_PERM_* bit perm. */
static const char *
perm_word(unsigned perm)
{
	return perm == ACL_PERM_READ    ? "read"
	       : perm == ACL_PERM_WRITE ? "write"
	                                : "execute";
}

/* acl_nfs4_more() of aw and ps into out (size bytes; "" when it does
 * not fit). Returns out. */
static const char *
nfs4_more_words(const struct acl_who *aw, const char *ps, char *out,
                size_t size)
{
	struct buf b;

	buf_init(&b, size - 1);
	str_copy(out, size,
	         acl_nfs4_more(aw, ps, &b) == 0 && b.data != NULL ? b.data
	                                                          : "");
	buf_free(&b);
	return out;
}

/* The access keyfile_mode_words() names first in mode (the worst), as
 * its group bits have it: ACL_PERM_READ, _WRITE or _EXEC. */
static unsigned
worst_perm(mode_t mode)
{
	return (mode & 044)   ? ACL_PERM_READ
	       : (mode & 022) ? ACL_PERM_WRITE
	                      : ACL_PERM_EXEC;
}

/* key_acl_read() of perm, when the group bits of mode let it: whether
 * an entry of another user or group may (aw->named), into aw. */
static int
key_named_read(int fd, const char *path, mode_t mode, gid_t gid, unsigned perm,
               struct acl_who *aw)
{
	return (mode & (perm << 3)) != 0 &&
	       key_acl_read(fd, path, mode, gid, perm, aw) == 0 && aw->named;
}

/* Of a key_named_read() aw: whether the group bits that let perm are
 * only its POSIX ACL's mask, its owning group letting nothing (g::---):
 * not "its group" (on NFSv4, the group bits are GROUP@'s). */
static int
mask_only(const struct acl_who *aw)
{
	return aw->acl && !aw->nfs4 && !aw->group;
}

const char *
keyfile_access_words(int fd, const char *path, mode_t mode, gid_t gid,
                     char *buf, size_t size)
{
	/* the access keyfile_mode_words() names, as its group has it */
	unsigned perm = worst_perm(mode);
	char sh[DIAG_MSG_MAX], who[192], more[DIAG_MSG_MAX], words[160];
	struct acl_who aw;
	int named = key_named_read(fd, path, mode, gid, perm, &aw);
	int masked = named && mask_only(&aw);
	struct buf b;

	if (mode_words(mode, masked ? "the entries its ACL names" : "its group",
	               words, sizeof(words)) == NULL)
		return NULL;
	str_copy(buf, size, words);
	if (!named)
		return buf;
	if (aw.nfs4) {
		snprintf(
		    buf, size,
		    "%s, and its NFSv4 ACL's entry %u (%s) lets %s %s it%s",
		    words, aw.nfs4_entry, aw.nfs4_spec,
		    acl_named_shown(&aw, who, sizeof(who)), perm_word(perm),
		    nfs4_more_words(&aw, path_shell(path, sh, sizeof(sh)), more,
		                    sizeof(more)));
		return buf;
	}
	buf_init(&b, size - 1);
	if (buf_printf(&b, "%s, as its ACL%s lets ", words,
	               masked ? "'s mask (the group bits of its mode)" : "") ==
	        0 &&
	    acl_listed_shown(&aw, NULL, path_shell(path, sh, sizeof(sh)), &b) ==
	        0 &&
	    buf_printf(&b, " %s it%s", perm_word(perm),
	               masked ? " (its group may not)"
	                      : " (the group bits of its mode are the ACL's "
	                        "mask)") == 0)
		str_copy(buf, size, b.data);
	buf_free(&b);
	return buf;
}

const char *
keyfile_acl_other_words(int fd, const char *path, mode_t mode, gid_t gid,
                        char *buf, size_t size)
{
	char who[192], why[128], fix[2 * PATH_MAX + 256], sh[DIAG_MSG_MAX];
	char more[DIAG_MSG_MAX];
	/* the path as a shell takes it: the commands are to be pasted */
	const char *ps = path_shell(path, sh, sizeof(sh));
	struct acl_who aw;
	int rc;

	buf[0] = '\0';
	rc = key_acl_read(fd, path, mode, gid, ACL_PERM_READ | ACL_PERM_WRITE,
	                  &aw);
	if (rc == -1 && aw.model != NULL && aw.xattr == NULL)
		snprintf(buf, size,
		         "is on %s, so who may read the secret cannot be told "
		         "from its mode; %s",
		         acl_mount_shown(&aw, more, sizeof(more)),
		         acl_mount_fix(&aw));
	else if (rc == -1 && aw.model != NULL)
		snprintf(
		    buf, size,
		    "has an %s ACL (%s), which its server enforces and "
		    "mta-sts-sync cannot judge, so who may read the secret "
		    "cannot be told from its mode; move it to a local file "
		    "system",
		    aw.model, aw.xattr);
	else if (rc == -1 && aw.nfs4)
		snprintf(
		    buf, size,
		    "has an NFSv4 ACL that cannot be read (%s), so who may "
		    "read the secret cannot be told; nfs4_getfacl %s shows "
		    "it, nfs4_setfacl -e %s mends it",
		    acl_unread_why(&aw, errno, why, sizeof(why)), ps, ps);
	else if (rc == -1 && errno == ACL_ENOPROC)
		snprintf(buf, size,
		         "is not trusted, as who may read it cannot be told: "
		         "/proc, through which its ACL is read, is not "
		         "mounted: mount proc (mount -t proc proc /proc), or "
		         "run mta-sts-sync where it is");
	else if (rc == -1)
		/* a secret is refused when its readers cannot be told,
		 * whatever the cause (its file system's type unread) */
		snprintf(buf, size,
		         "is not trusted, as who may read it cannot be told: "
		         "its ACL, or the kind of its file system, could not "
		         "be looked at (%s); getfacl %s shows its ACL, and a "
		         "run once they can be looked at takes it",
		         acl_unread_why(&aw, errno, why, sizeof(why)), ps);
	else if (rc == 0 && aw.nfs4 && aw.named)
		snprintf(buf, size,
		         "has an NFSv4 ACL whose entry %u (%s) lets %s read or "
		         "write it%s; %s",
		         aw.nfs4_entry, aw.nfs4_spec,
		         acl_named_shown(&aw, who, sizeof(who)),
		         nfs4_more_words(&aw, ps, more, sizeof(more)),
		         acl_nfs4_fix(&aw, ps, fix, sizeof(fix)));
	else if (rc == 0 && aw.nfs4 && aw.nfs4_group_entry != 0)
		snprintf(
		    buf, size,
		    "has an NFSv4 ACL whose entry %u (%s) lets its group %s "
		    "read or write it; %s",
		    aw.nfs4_group_entry, aw.nfs4_group_spec,
		    group_shown(gid, who, sizeof(who)),
		    acl_nfs4_group_fix(&aw, ps, fix, sizeof(fix)));
	/* called for a mode without group bits only: aw.group is then
	 * set by an NFSv4 entry alone, which sets aw.nfs4_group_entry */
	return buf;
}

/* For the setfacl -x ... -m of a key's POSIX ACL (aw), which takes out
 * the entries its mask hides too: " (its mask hides user A (uid N) ...
 * now, which ...)", appended to b, so that they are not taken for a
 * mistake. Returns 0, or -1 when b cannot hold it all. */
static int
masked_words(const struct acl_who *aw, const char *ps, struct buf *b)
{
	return buf_puts(b, " (its mask hides ") | acl_masked_shown(aw, ps, b) |
	       buf_puts(b, " now, which the mask -m sets anew would let at "
	                   "it)");
}

/* keyfile_fix_words()'s advice in words, for commands that do not fit
 * (or entries too many to be kept), into buf (size bytes): of aw, named
 * (other users' entries that may), posix (a POSIX ACL), chmod (its
 * group's or others' access is to go too). */
static void
fix_in_words(const struct acl_who *aw, int named, int posix, int chmod,
             char *buf, size_t size)
{
	/* a mask set anew (setfacl -m) would unmask them */
	int masked = posix && chmod && aw->masked_count > 0;

	snprintf(buf, size, "%s%s%s%s%s",
	         aw->nfs4 && named ? "remove the entries its NFSv4 ACL gives "
	                             "other users and groups (nfs4_getfacl "
	                             "lists them; nfs4_setfacl -x)"
	         : named           ? "remove the entries its ACL gives other "
	                             "users and groups"
	                           : "",
	         !masked ? ""
	         : named ? ", and those its mask hides now"
	                 : "remove the entries its mask hides now",
	         masked ? " (the mask setfacl -m sets anew would let them "
	                  "at it; getfacl lists them; setfacl -x)"
	         : named && !aw->nfs4 ? " (getfacl lists them; setfacl -x)"
	                              : "",
	         (named || masked) && chmod ? ", then " : "",
	         !chmod  ? ""
	         : posix ? "take its group's and others' access away "
	                   "with setfacl -m g::-,o::- (chmod would only "
	                   "narrow its ACL's mask)"
	                 : "chmod 600 it");
}

const char *
keyfile_fix_words(int fd, const char *path, mode_t mode, gid_t gid, char *buf,
                  size_t size)
{
	char sh[DIAG_MSG_MAX];
	const char *ps = path_shell(path, sh, sizeof(sh));
	struct acl_who aw;
	struct buf b;
	int rc = 0, named, posix, chmod;

	/* any access at all, as the mode rule refuses any */
	rc = key_acl_read(fd, path, mode, gid, 07, &aw);
	named = rc == 0 && aw.named;
	/* a POSIX ACL: chmod's group bits would set its mask, hiding the
	 * entries left (the running user's own, which may read it) and
	 * keeping the owning group's, to be given back by the next setfacl
	 * -m: setfacl takes that access away itself (on NFSv4, its group
	 * bits are GROUP@'s, in aw.group, which chmod does rewrite) */
	posix = rc == 0 && aw.acl && !aw.nfs4;
	chmod = aw.group || (mode & 007) != 0 || rc != 0 || !aw.named;
	rc = 0;
	buf_init(&b, size - 1);
	/* all the entries, or none (rc -1: words): those left out of -x
	 * would be let at it by the mask -m sets anew */
	if (posix) {
		rc |=
		    acl_remove_command(&aw, chmod ? "g::-,o::-" : NULL, ps, &b);
		if (chmod && aw.masked_count > 0)
			rc |= masked_words(&aw, ps, &b);
	} else if (named)
		rc |= acl_remove_command(&aw, NULL, ps, &b);
	if (chmod && !posix)
		rc |= buf_printf(&b, "%schmod 600 %s", named ? "; " : "", ps);
	if (rc != 0) /* no command cut short: words instead */
		fix_in_words(&aw, named, posix, chmod, buf, size);
	else
		str_copy(buf, size, b.data);
	buf_free(&b);
	return buf;
}

const char *
keyfile_mode_advice(const char *head, int fd, const char *path, mode_t mode,
                    gid_t gid, const char *tail, char *out, size_t size)
{
	size_t used = strlen(head) + strlen(tail);
	size_t room = used < size ? size - used : 1;
	char fix[DIAG_MSG_MAX];
	int n;

	/* keyfile_fix_words() says in words what does not fit whole */
	keyfile_fix_words(fd, path, mode, gid, fix,
	                  room < sizeof(fix) ? room : sizeof(fix));
	n = snprintf(out, size, "%s%s%s", head, fix, tail);
	if (n >= 0 && (size_t)n >= size) /* a head that fills it: said */
		text_mark_cut(out, size, 0);
	return out;
}

int
keyfile_check_mode(const char *path, int fd, const struct stat *st,
                   struct diag *d)
{
	const char *ps = path_shown(path, '\0', NULL, 0);
	char words[80], acl[2 * PATH_MAX + 512], head[DIAG_MSG_MAX];
	char msg[DIAG_MSG_MAX - KEYFILE_PREFIX_ROOM];

	if (keyfile_mode_words(st->st_mode, words, sizeof(words)) == NULL) {
		/* the mode bounds a POSIX ACL, not an NFSv4 one, nor what an
		 * SMB server enforces */
		if (keyfile_acl_other_words(fd, path, st->st_mode, st->st_gid,
		                            acl, sizeof(acl))[0] == '\0')
			return 0;
		diag_error(d, "%s: key file %s", ps, acl);
		return -1;
	}
	if (keyfile_acl_readers_own(fd, path, st->st_mode, st->st_gid))
		return 0;
	snprintf(head, sizeof(head), "%s: key file is %s; ", ps,
	         keyfile_access_words(fd, path, st->st_mode, st->st_gid, acl,
	                              sizeof(acl)));
	/* room left for the "file:line: " of a configuration naming it */
	diag_error(d, "%s",
	           keyfile_mode_advice(
	               head, fd, path, st->st_mode, st->st_gid,
	               keyfile_group_hint(fd, path, st->st_mode, st->st_gid),
	               msg, sizeof(msg)));
	return -1;
}

const char *
keyfile_group_hint(int fd, const char *path, mode_t mode, gid_t gid)
{
	struct acl_who aw;

	/* Debian's named reads its keys as root:bind 0640; not when the
	 * group bits are only an ACL's mask, its group reading nothing */
	if ((mode & 047) != 040 ||
	    (key_named_read(fd, path, mode, gid, ACL_PERM_READ, &aw) &&
	     mask_only(&aw)))
		return "";
	return ", or, if a name server reads it through its group, give "
	       "mta-sts-sync a copy of its own";
}

/* Format an "at line" error (the file by path_shown()); returns -1. */
static int __attribute__((format(printf, 4, 5)))
key_error(struct diag *d, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[DIAG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	text_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error(d, "%s:%u: %s", path_shown(file, '\0', NULL, 0), line, msg);
	return -1;
}

/*
 * Describe the current token for an "expected X, found Y" message: its
 * type only, as a word in a key file may be a secret.
 */
static const char *
found(const struct lex *lx, char *buf, size_t size)
{
	snprintf(buf, size, "%s", lex_type_name(lx->type));
	return buf;
}

/* Next token; a tokenizer error becomes "file:line: reason" in d. */
static enum lex_type
key_next(struct lex *lx, struct diag *d)
{
	enum lex_type t = lex_next(lx);

	if (t == TOK_ERROR)
		key_error(d, lx->file, lx->tok_line, "%s", lx->error);
	return t;
}

/* Read "VALUE ;" for key setting what into out of size; wipes the
 * tokenizer's copy (it may be the secret). */
static int
key_value(struct lex *lx, const char *what, char *out, size_t size,
          struct diag *d)
{
	char f[96];
	enum lex_type t = key_next(lx, d);

	if (t == TOK_ERROR)
		return -1;
	if (t != TOK_WORD && t != TOK_STRING)
		return key_error(d, lx->file, lx->tok_line,
		                 "expected a value after '%s', found %s", what,
		                 found(lx, f, sizeof(f)));
	if (str_copy(out, size, lx->text) == -1) {
		explicit_bzero(lx->text, sizeof(lx->text));
		return key_error(d, lx->file, lx->tok_line,
		                 "%s too long (at most %zu characters)", what,
		                 size - 1);
	}
	explicit_bzero(lx->text, sizeof(lx->text));
	if ((t = key_next(lx, d)) == TOK_ERROR)
		return -1;
	if (t != TOK_SEMI)
		return key_error(d, lx->file, lx->tok_line,
		                 "expected ';' after %s, found %s", what,
		                 found(lx, f, sizeof(f)));
	return 0;
}

/* Does word look like a setting name (lower case letters and '-', as
 * BIND's), rather than, say, a secret whose keyword was left out? */
static int
setting_shaped(const char *word)
{
	size_t n = strspn(word, "abcdefghijklmnopqrstuvwxyz-");

	return n > 0 && n <= 32 && word[n] == '\0';
}

#define KEY_LABEL_MAX (TSIG_NAME_MAX + 256) /* tsig_key_label() */

/* A word in a key block that is not a setting expected there. It is
 * quoted only when it looks like a setting name: it may be the secret. */
static int
key_setting_error(const struct lex *lx, const struct keyspec *ks,
                  struct diag *d)
{
	static const char *const words[] = {"algorithm", "secret"};
	char kl[KEY_LABEL_MAX];
	const char *near;

	tsig_key_label(ks->name, kl, sizeof(kl));
	if (strcmp(lx->text, "algorithm") == 0 ||
	    strcmp(lx->text, "secret") == 0)
		return key_error(d, lx->file, lx->tok_line,
		                 "duplicate setting '%s' in %s", lx->text, kl);
	/* a word the lexer cut at a "//" may be the start of a secret */
	if (!lx->cut && setting_shaped(lx->text) &&
	    !key_secret_shaped(lx->text)) {
		near = text_nearest(lx->text, words, 2);
		return key_error(d, lx->file, lx->tok_line,
		                 "unknown setting '%s' in %s%s%s%s", lx->text,
		                 kl, near != NULL ? "; did you mean '" : "",
		                 near != NULL ? near : "",
		                 near != NULL ? "'?" : "");
	}
	return key_error(d, lx->file, lx->tok_line,
	                 "expected algorithm or secret in %s, found a word "
	                 "that is no setting name (not shown: it may be the "
	                 "secret; write secret \"...\";)",
	                 kl);
}

/* Parse the body of a key block after '{' up to and including "};". */
static int
key_body(struct lex *lx, struct keyspec *ks, struct diag *d)
{
	char f[96], kl[KEY_LABEL_MAX];
	enum lex_type t;

	while ((t = key_next(lx, d)) == TOK_WORD) {
		if (strcmp(lx->text, "algorithm") == 0 && ks->alg[0] == '\0') {
			if (key_value(lx, "algorithm", ks->alg, sizeof(ks->alg),
			              d) == -1)
				return -1;
		} else if (strcmp(lx->text, "secret") == 0 &&
		           ks->secret[0] == '\0') {
			if (key_value(lx, "secret", ks->secret,
			              sizeof(ks->secret), d) == -1)
				return -1;
		} else {
			return key_setting_error(lx, ks, d);
		}
	}
	if (t == TOK_ERROR)
		return -1;
	tsig_key_label(ks->name, kl, sizeof(kl));
	if (t != TOK_RBRACE)
		return key_error(d, lx->file, lx->tok_line,
		                 "expected algorithm, secret or '}' in %s, "
		                 "found %s",
		                 kl, found(lx, f, sizeof(f)));
	if ((t = key_next(lx, d)) == TOK_ERROR)
		return -1;
	if (t != TOK_SEMI)
		return key_error(d, lx->file, lx->tok_line,
		                 "expected ';' after '}' of %s, found %s", kl,
		                 found(lx, f, sizeof(f)));
	return 0;
}

int
keyspec_parse_bind(struct lex *lx, struct keyspec *ks, struct diag *d)
{
	char f[96], kl[KEY_LABEL_MAX];
	enum lex_type t;

	memset(ks, 0, sizeof(*ks));
	ks->line = lx->tok_line;
	if ((t = key_next(lx, d)) == TOK_ERROR)
		return -1;
	if (t != TOK_STRING && t != TOK_WORD)
		return key_error(d, lx->file, lx->tok_line,
		                 "expected a key name after 'key', found %s",
		                 found(lx, f, sizeof(f)));
	if (str_copy(ks->name, sizeof(ks->name), lx->text) == -1)
		return key_error(d, lx->file, lx->tok_line,
		                 "key name too long");
	if ((t = key_next(lx, d)) == TOK_ERROR)
		return -1;
	tsig_key_label(ks->name, kl, sizeof(kl));
	if (t != TOK_LBRACE)
		return key_error(d, lx->file, lx->tok_line,
		                 "expected '{' after %s, found %s", kl,
		                 found(lx, f, sizeof(f)));
	if (key_body(lx, ks, d) == -1)
		return -1;
	if (ks->alg[0] == '\0')
		return key_error(d, lx->file, ks->line, "%s has no algorithm",
		                 kl);
	if (ks->secret[0] == '\0')
		return key_error(d, lx->file, ks->line, "%s has no secret", kl);
	return 0;
}

#define KEY_SECRET_MIN 16 /* bytes: tsig-keygen's shortest (hmac-md5) */

/* Could s be a secret: shaped like one (key_secret_shaped(): a hex
 * secret too), or base64 of at least KEY_SECRET_MIN bytes? */
static int
secret_like(const char *s)
{
	return key_secret_shaped(s) || tsig_secret_len(s) >= KEY_SECRET_MIN;
}

/*
 * The fields of ks are out of order: a name that could be a secret
 * beside a secret that could not (tsig-keygen's and keymgr's secrets
 * always could). Neither may be shown, and the usual errors (the name is
 * not a domain name, the secret is not base64) would not say why.
 */
static int
keyspec_swapped(const char *file, const struct keyspec *ks, struct diag *d)
{
	if (!secret_like(ks->name) || secret_like(ks->secret))
		return 0;
	return key_error(d, file, ks->line,
	                 "the key's name looks like a base64 secret and its "
	                 "secret does not: are the name and the secret in "
	                 "each other's place? (neither is shown)");
}

int
keyspec_to_key(const char *file, const struct keyspec *ks, struct tsig_key *key,
               struct diag *d)
{
	char kl[KEY_LABEL_MAX + 2] = "", why[160];
	struct diag kd;
	size_t i;

	if (keyspec_swapped(file, ks, d) == -1)
		return -1;
	/* an invalid name: the error of tsig_key_init() says why alone; and
	 * with a secret that does not decode, a name that does may be the
	 * secret: tsig_key_init() does not show it either */
	if (tsig_key_name_check(ks->name, why, sizeof(why)) == 0 &&
	    (tsig_secret_len(ks->secret) != -1 ||
	     tsig_secret_len(ks->name) == -1))
		snprintf(kl, sizeof(kl),
		         "%s: ", tsig_key_label(ks->name, why, sizeof(why)));
	diag_init(&kd);
	if (tsig_key_init(key, ks->name, ks->alg, ks->secret, &kd) == -1 ||
	    diag_failed(&kd)) {
		tsig_key_wipe(key);
		return key_error(d, file, ks->line, "%s%s", kl,
		                 diag_failed(&kd) ? kd.error : "invalid key");
	}
	for (i = 0; i < kd.nwarn; i++)
		diag_warn(d, "%s:%u: %s%s", path_shown(file, '\0', NULL, 0),
		          ks->line, kl, kd.warn[i]);
	return 0;
}

/* Parse a BIND-format key file: key statements only. Returns the number
 * of keys stored in ks (at most max), or -1. */
static int
parse_bind(const char *path, const char *buf, size_t len, struct keyspec *ks,
           size_t max, struct diag *d)
{
	struct lex lx;
	enum lex_type t;
	size_t n = 0;
	char f[96];

	lex_init(&lx, path, buf, len);
	while ((t = key_next(&lx, d)) == TOK_WORD) {
		if (strcmp(lx.text, "key") != 0) {
			if (strcmp(lx.text, "update-policy") == 0)
				return key_error(
				    d, path, lx.tok_line,
				    "update-policy belongs in named.conf, "
				    "not in a key file (write key files "
				    "with tsig-keygen or ddns-confgen -q)");
			return key_error(d, path, lx.tok_line,
			                 "expected a key statement, found %s",
			                 found(&lx, f, sizeof(f)));
		}
		if (n == max)
			return key_error(d, path, lx.tok_line,
			                 "too many keys (at most %zu)", max);
		if (keyspec_parse_bind(&lx, &ks[n], d) == -1)
			return -1;
		n++;
	}
	if (t == TOK_ERROR)
		return -1;
	if (t != TOK_EOF)
		return key_error(d, path, lx.tok_line,
		                 "expected a key statement, found %s",
		                 found(&lx, f, sizeof(f)));
	return (int)n;
}

/*
 * Split buf into lines: on each call store the next line (without its
 * LF or CR LF, trailing blanks removed) in line. Returns 0 at the end,
 * -1 for a line too long or holding a NUL byte, else 1.
 */
static int
next_line(const char *buf, size_t len, size_t *pos, char *line, size_t size)
{
	size_t start = *pos, n;
	const char *nl;

	if (start >= len)
		return 0;
	nl = memchr(buf + start, '\n', len - start);
	n = nl != NULL ? (size_t)(nl - (buf + start)) : len - start;
	*pos = start + n + 1;
	if (n >= size || memchr(buf + start, '\0', n) != NULL)
		return -1;
	memcpy(line, buf + start, n);
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' ||
	                 line[n - 1] == '\t'))
		n--;
	line[n] = '\0';
	return 1;
}

/*
 * Cut a YAML comment off line, in place: from a '#' that starts the line
 * or follows a blank, outside quotes, with the blanks before it (keymgr
 * writes none, but a hand-edited file may: "secret: ... # rotated").
 * Also for one-line keys: neither a name nor a base64 secret holds '#'.
 */
static void
strip_comment(char *line)
{
	char quote = 0, *c;
	size_t n;

	for (c = line; *c != '\0'; c++) {
		if (quote != 0 && *c == quote)
			quote = 0;
		else if (quote == 0 && (*c == '"' || *c == '\''))
			quote = *c;
		else if (quote == 0 && *c == '#' &&
		         (c == line || c[-1] == ' ' || c[-1] == '\t'))
			break;
	}
	*c = '\0';
	n = strlen(line);
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
}

/* A line that says nothing: empty or a # comment. */
static int
line_is_blank(const char *s)
{
	s += strspn(s, " \t");
	return *s == '\0' || *s == '#';
}

/* A Knot or one-line key file, read line by line. */
struct key_lines {
	const char *path, *buf;
	size_t len, pos;
	unsigned ln; /* the number of the line last read */
};

/* The next line of kl that says something, into line (size bytes), its
 * comment cut off: 1; 0 at the end; -1, with the error in d, for a line
 * too long or holding a NUL byte. */
static int
key_line_next(struct key_lines *kl, char *line, size_t size, struct diag *d)
{
	int r;

	while ((r = next_line(kl->buf, kl->len, &kl->pos, line, size)) == 1) {
		kl->ln++;
		strip_comment(line);
		if (!line_is_blank(line))
			return 1;
	}
	explicit_bzero(line, size); /* a comment may have been a secret */
	if (r == -1)
		return key_error(d, kl->path, ++kl->ln,
		                 "line too long or NUL byte");
	return 0;
}

/* Remove one pair of matching quotes around a YAML scalar, in place. */
static void
unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		memmove(v, v + 1, n - 2);
		v[n - 2] = '\0';
	}
}

/* Store one "field: value" line of a Knot key item into ks. */
static int
knot_field(const char *path, unsigned ln, char *t, struct keyspec *ks,
           struct diag *d)
{
	static const char *const names[] = {"id", "algorithm", "secret"};
	char *dst[3] = {ks->name, ks->alg, ks->secret};
	size_t sizes[3] = {sizeof(ks->name), sizeof(ks->alg),
	                   sizeof(ks->secret)};
	char *colon = strchr(t, ':'), *v;
	size_t i;

	if (colon == NULL)
		return key_error(d, path, ln, "expected 'field: value'");
	*colon = '\0';
	v = colon + 1 + strspn(colon + 1, " \t");
	unquote(v);
	for (i = 0; i < 3; i++) {
		if (strcmp(t, names[i]) != 0)
			continue;
		if (dst[i][0] != '\0')
			return key_error(d, path, ln, "duplicate '%s'", t);
		if (*v == '\0' || str_copy(dst[i], sizes[i], v) == -1)
			return key_error(d, path, ln, "bad value for '%s'", t);
		return 0;
	}
	if (!setting_shaped(t))
		return key_error(
		    d, path, ln,
		    "expected id, algorithm or secret, found a "
		    "field name that is none (not shown: it may be "
		    "the secret)");
	return key_error(d, path, ln,
	                 "unknown field '%s' (expected id, algorithm or "
	                 "secret)",
	                 t);
}

/* Check that the Knot key item ks is complete. */
static int
knot_item_done(const char *path, const struct keyspec *ks, struct diag *d)
{
	char kl[KEY_LABEL_MAX];

	tsig_key_label(ks->name, kl, sizeof(kl));
	if (ks->alg[0] == '\0')
		return key_error(d, path, ks->line, "%s has no algorithm", kl);
	if (ks->secret[0] == '\0')
		return key_error(d, path, ks->line, "%s has no secret", kl);
	return 0;
}

/* Handle one indented line of the Knot key: list. */
static int
knot_line(const char *path, unsigned ln, char *line, struct keyspec *ks,
          size_t *n, size_t max, struct diag *d)
{
	char *t = line + strspn(line, " ");

	if (t == line || *t == '\t' || line[0] == '\t')
		return key_error(
		    d, path, ln,
		    "expected an indented key item (spaces, no tabs)");
	if (t[0] == '-' && (t[1] == ' ' || t[1] == '\0')) {
		if (*n > 0 && knot_item_done(path, &ks[*n - 1], d) == -1)
			return -1;
		if (*n == max)
			return key_error(d, path, ln,
			                 "too many keys (at most %zu)", max);
		memset(&ks[*n], 0, sizeof(ks[*n]));
		ks[*n].line = ln;
		(*n)++;
		t += 1 + strspn(t + 1, " ");
		if (strncmp(t, "id:", 3) != 0)
			return key_error(
			    d, path, ln,
			    "expected '- id: NAME' to start a key");
	} else if (*n == 0) {
		return key_error(d, path, ln, "expected '- id: NAME'");
	}
	return knot_field(path, ln, t, &ks[*n - 1], d);
}

/* Parse a Knot YAML key: list (as written by keymgr -t). Returns the
 * number of keys, or -1. */
static int
parse_knot(const char *path, const char *buf, size_t len, struct keyspec *ks,
           size_t max, struct diag *d)
{
	char line[KEYSPEC_SECRET_MAX + 128];
	struct key_lines kl = {path, buf, len, 0, 0};
	size_t n = 0;
	int in_list = 0, r;

	while ((r = key_line_next(&kl, line, sizeof(line), d)) == 1) {
		if (strcmp(line, "key:") == 0)
			in_list = 1; /* keymgr -t outputs appended: one list */
		else if (!in_list || line[0] != ' ')
			r = key_error(d, path, kl.ln,
			              "expected %s (only a Knot key: section "
			              "is understood)",
			              in_list ? "an indented key item"
			                      : "'key:'");
		else
			r = knot_line(path, kl.ln, line, ks, &n, max, d);
		explicit_bzero(line, sizeof(line));
		if (r == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	if (n == 0)
		return key_error(d, path, kl.ln, "no key in the key: list");
	if (knot_item_done(path, &ks[n - 1], d) == -1)
		return -1;
	return (int)n;
}

/* Split "[alg:]name:secret" into ks. */
static int
oneline_split(const char *path, unsigned ln, char *t, struct keyspec *ks,
              struct diag *d)
{
	char *c1 = strchr(t, ':'), *c2;
	const char *alg = "hmac-sha256", *name = t, *secret;

	c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	if (c1 == NULL || (c2 != NULL && strchr(c2 + 1, ':') != NULL))
		return key_error(d, path, ln,
		                 "expected [algorithm:]name:secret");
	*c1 = '\0';
	secret = c1 + 1;
	if (c2 != NULL) {
		*c2 = '\0';
		alg = t;
		name = c1 + 1;
		secret = c2 + 1;
	}
	memset(ks, 0, sizeof(*ks));
	ks->line = ln;
	if (*name == '\0' || *secret == '\0' || *alg == '\0' ||
	    str_copy(ks->name, sizeof(ks->name), name) == -1 ||
	    str_copy(ks->alg, sizeof(ks->alg), alg) == -1 ||
	    str_copy(ks->secret, sizeof(ks->secret), secret) == -1)
		return key_error(d, path, ln,
		                 "expected [algorithm:]name:secret");
	return 0;
}

/* Parse the one-line format: one key line, # comments around it. */
static int
parse_oneline(const char *path, const char *buf, size_t len, struct keyspec *ks,
              struct diag *d)
{
	char line[KEYSPEC_SECRET_MAX + 128];
	struct key_lines kl = {path, buf, len, 0, 0};
	int n = 0, r;

	while ((r = key_line_next(&kl, line, sizeof(line), d)) == 1) {
		if (n == 1)
			r = key_error(d, path, kl.ln,
			              "more than one line in a one-line key "
			              "file");
		else
			r = oneline_split(path, kl.ln,
			                  line + strspn(line, " \t"), ks, d);
		explicit_bzero(line, sizeof(line));
		if (r == -1)
			return -1;
		n = 1;
	}
	return r == -1 ? -1 : n;
}

/*
 * The line of a one-line key file, split (ks), must read as a key before
 * any of its fields is shown: a file that is no key file at all (another
 * file of root's, named by mistake) may well hold a line of two colons,
 * and its fields must not go to a cron mail or a log. Says which field
 * is wrong, none shown. Returns 0, or -1 (in d).
 */
static int
oneline_usable(const char *path, const struct keyspec *ks, struct diag *d)
{
	enum tsig_alg alg;
	const char *what = NULL;
	char why[160];

	if (keyspec_swapped(path, ks, d) == -1)
		return -1;
	if (tsig_alg_from_name(ks->alg, &alg) == -1)
		what = "its algorithm (the first of three fields) is none of "
		       "hmac-sha256, hmac-sha1, hmac-sha224, hmac-sha384, "
		       "hmac-sha512, hmac-md5";
	else if (tsig_key_name_check(ks->name, why, sizeof(why)) == -1)
		what = "its name (the field before the secret) is not a key "
		       "name";
	else if (tsig_secret_len(ks->secret) == -1)
		what = "its secret (the last field) is not base64";
	if (what == NULL)
		return 0;
	return key_error(d, path, ks->line,
	                 "not a key of the form [algorithm:]name:secret: %s "
	                 "(no field of it is shown: the file may be no key "
	                 "file at all)",
	                 what);
}

enum keyfile_format { KF_BIND, KF_KNOT, KF_ONELINE };

/* Tell the format from the first line that is not blank or a # comment. */
static enum keyfile_format
detect_format(const char *buf, size_t len)
{
	char line[KEYSPEC_SECRET_MAX + 128];
	size_t pos = 0;
	int r;

	while ((r = next_line(buf, len, &pos, line, sizeof(line))) != 0) {
		const char *t = line;
		enum keyfile_format f = KF_BIND;

		/* a line too long or holding a NUL byte: BIND's parser says
		 * what is wrong with it (line is not filled then) */
		if (r == 1) {
			strip_comment(line);
			t = line + strspn(line, " \t");
		}
		if (r == 1 && line_is_blank(line))
			continue;
		if (r == 1 && strcmp(t, "key:") == 0)
			f = KF_KNOT;
		else if (r == 1 && strchr(t, ':') != NULL &&
		         strpbrk(t, " \t{};\"#") == NULL &&
		         strncmp(t, "//", 2) != 0 && strncmp(t, "/*", 2) != 0)
			f = KF_ONELINE; /* base64 secrets may hold '/' */
		explicit_bzero(line, sizeof(line));
		return f;
	}
	return KF_BIND;
}

#define KEY_NAME_SECRET_PART 12 /* a name this long in a secret: not shown */

/*
 * The names of the n keys of ks, ", "-separated, into out (size bytes,
 * cut short with "..."), for a message. Names are not secret, but a name
 * that holds a secret of the file, or a long part of one (a file whose
 * fields are out of place), is not shown, nor one that is no valid key
 * name or looks like a secret (tsig_key_name_hidden()). (A short name
 * may well occur in a base64 secret by chance, and says nothing of it.)
 */
static void
key_names(const struct keyspec *ks, int n, char *out, size_t size)
{
	char why[160];
	size_t o = 0, len;
	int i, j, hide;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		hide =
		    tsig_key_name_hidden(ks[i].name, why, sizeof(why)) != NULL;
		for (j = 0; j < n && !hide; j++)
			hide = ks[j].secret[0] != '\0' &&
			       (strstr(ks[i].name, ks[j].secret) != NULL ||
			        (strlen(ks[i].name) >= KEY_NAME_SECRET_PART &&
			         strstr(ks[j].secret, ks[i].name) != NULL));
		len = hide ? strlen("(a name not shown)") : strlen(ks[i].name);
		if (o + 2 + len + sizeof(", ...") > size) {
			snprintf(out + o, size - o, "%s...", o > 0 ? ", " : "");
			return;
		}
		o += (size_t)snprintf(out + o, size - o, "%s%s",
		                      o > 0 ? ", " : "",
		                      hide ? "(a name not shown)" : ks[i].name);
	}
}

/* Choose the key named name (or the only one) among n. Returns its index
 * or -1. */
static int
select_key(const char *path, const struct keyspec *ks, int n, const char *name,
           struct diag *d)
{
	const char *ps = path_shown(path, '\0', NULL, 0);
	char names[256], kl[KEY_LABEL_MAX];
	int i, found = -1;

	if (n <= 0) {
		diag_error(d, "%s: no key in the file", ps);
		return -1;
	}
	key_names(ks, n, names, sizeof(names));
	if (name == NULL) {
		if (n == 1)
			return 0;
		diag_error(d,
		           "%s: holds %d keys (%s); name the one to use with "
		           "key \"NAME\"",
		           ps, n, names);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!tsig_key_name_eq(ks[i].name, name))
			continue;
		if (found != -1) {
			key_error(d, path, ks[i].line, "%s defined twice",
			          tsig_key_label(name, kl, sizeof(kl)));
			return -1;
		}
		found = i;
	}
	/* the name asked for is the configuration's key setting, which
	 * may hold a secret too (a one-line key written there) */
	if (found == -1 && tsig_key_name_hidden(name, kl, sizeof(kl)) == NULL)
		diag_error(d, "%s: no key named \"%s\" (it holds: %s)", ps,
		           name, names);
	else if (found == -1)
		diag_error(d,
		           "%s: no key has the name that key gives (not shown: "
		           "%s) (it holds: %s)",
		           ps, kl, names);
	return found;
}

int
keyfile_parse(const char *path, const char *buf, size_t len, const char *name,
              struct tsig_key *key, struct diag *d)
{
	struct keyspec *ks;
	int n, i, rc = -1;

	/* before the format is told, which such a first line would hide */
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
		return key_error(d, path, 1,
		                 "the file starts with bytes EF BB BF, a UTF-8 "
		                 "byte-order mark: save it without one");
	ks = xcalloc(KEYFILE_MAX_KEYS, sizeof(*ks));
	switch (detect_format(buf, len)) {
	case KF_KNOT:
		n = parse_knot(path, buf, len, ks, KEYFILE_MAX_KEYS, d);
		break;
	case KF_ONELINE:
		n = parse_oneline(path, buf, len, ks, d);
		if (n == 1 && oneline_usable(path, &ks[0], d) == -1)
			n = -1;
		break;
	default:
		n = parse_bind(path, buf, len, ks, KEYFILE_MAX_KEYS, d);
		break;
	}
	if (n != -1 && (i = select_key(path, ks, n, name, d)) != -1)
		rc = keyspec_to_key(path, &ks[i], key, d);
	explicit_bzero(ks, KEYFILE_MAX_KEYS * sizeof(*ks));
	free(ks);
	return rc;
}

/*
 * The key file path cannot be read (why): say so, and, for a path that
 * looks like a key (the nsupdate -y form or a secret written where the
 * path goes), what to do instead, without showing it.
 */
static void
keyfile_unreadable(const char *path, const char *why, struct diag *d)
{
	char msg[DIAG_MSG_MAX];

	if (key_written_as_path(path))
		diag_error(
		    d, "%s",
		    key_as_path_message("key-file", why, msg, sizeof(msg)));
	else
		diag_error(d, "%s: cannot read key file: %s",
		           path_shown(path, '\0', NULL, 0), why);
}

int
keyfile_load(const char *path, const char *name, struct tsig_key *key,
             struct diag *d)
{
	struct diag rd;
	struct stat st;
	size_t len = 0;
	char *buf;
	int rc, fd, unread;

	/* through the walk that judges the way to it, as a configuration
	 * file's: a link there that another user could have made could
	 * lead to any file of root's */
	diag_init(&rd);
	if ((buf = conf_read_trusted(path, CONF_TRUST_KEY, KEYFILE_MAX_SIZE,
	                             &len, &st, &fd, &unread, &rd)) == NULL) {
		if (unread)
			keyfile_unreadable(path, rd.error, d);
		else
			diag_error(d, "%s", rd.error);
		return -1;
	}
	rc = keyfile_check_mode(path, fd, &st, d);
	close(fd);
	if (rc == -1) {
		conf_wipe_free(buf, len + 1);
		return -1;
	}
	rc = keyfile_parse(path, buf, len, name, key, d);
	conf_wipe_free(buf, len + 1);
	return rc;
}
