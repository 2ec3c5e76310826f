/*
 * sync.c - `mta-sts-sync sync`: for every configured (or named) domain,
 * fetch the upstream policy, validate it, apply the overrides, compare the
 * canonical policy with the published file and the live DNS records, and
 * only when something differs: write the file atomically, run the
 * publish-command, verify that the new file is served, then send one
 * TSIG-signed UPDATE per zone (a few in a row when its changes do not fit
 * in one message) and read it back (DESIGN.md section 2).
 *
 * A domain that fails at any step keeps what it had: nothing after the
 * failing step is done for it, and the other domains go on.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "acl.h"
#include "cmd.h"
#include "conf.h"
#include "diff.h"
#include "conftrust.h"
#include "dirwalk.h"
#include "dnsupdate.h"
#include "fetch.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "publish.h"
#include "record.h"
#include "serverconf.h"
#include "zonetrack.h"

#define SYNC_FETCH_PARALLEL 16
#define NO_FETCH UINT32_MAX /* a domain with a local policy */
/*
 * Domains worked on at once. Each worker keeps one TCP connection to a
 * primary open; BIND 9.18's default tcp-listen-queue is 10, and more
 * connections opened at the same moment overflow it (the SYN is retried a
 * second later), so the default stays below it.
 */
#define SYNC_DEFAULT_JOBS 8
/*
 * Domains between their read and the end of their work, per worker:
 * enough to read ahead while the upstreams arrive, and a bound on the
 * memory of a run however many domains it has.
 */
#define SYNC_WINDOW_PER_JOB 32
/* -v, for a name whose TXT records a wildcard gave */
#define WILDCARD_NOTE                                                          \
	"%s.%s: its TXT records come from a wildcard (the name does not "      \
	"exist): taken as none, the update creates the name"
/* -v, for a name whose CNAME a wildcard gave */
#define WILDCARD_CNAME_NOTE                                                    \
	"%s.%s: its CNAME to %s comes from a wildcard (the name does not "     \
	"exist), not a delegation: taken as no record, the update creates "    \
	"the name"
/* -v, when the id changes although the policy does not (plan_form) */
#define ID_TOGGLE_NOTE                                                         \
	"%s held another policy while the live id named this one (a "          \
	"publish whose id change never came), so senders may have cached "     \
	"that one under it: the id changes although the policy is the same, "  \
	"to %s, the id of the policy written with %s line ends"
/* -v, when the id changes to that of the form the file holds (an
 * earlier run wrote it so and did not finish, or a publish-command or
 * git converted its line ends) or gets, without another policy in it */
#define ID_FORM_NOTE                                                           \
	"%s %s the policy with %s line ends, so the id becomes %s, that of "   \
	"these bytes"
/* -v, for a policy served in its alternate form */
#define ID_ALTERNATE_NOTE                                                      \
	"the policy is served with LF line ends, its alternate form (id %s), " \
	"as the file holds it: kept"
/* the change line, when the id changes although the policy does not */
#define ID_TOGGLE_WHY                                                          \
	" (a new id for the same policy: the file held another policy while "  \
	"the old id was live, and senders may have cached that one under it)"
/* -v, when a publish-command converted the file's line ends */
#define ID_COMMAND_FORM_NOTE                                                   \
	"the publish-command turned %s's line ends into %s: the id is %s, "    \
	"that of these bytes"
/* a revert whose id a publish-command's conversion takes back */
#define ID_COMMAND_REVERT                                                      \
	"the publish-command turned %s's line ends into %s, so the id "        \
	"cannot leave %s, under which senders may have cached another "        \
	"policy; make the command keep the file's bytes (git: "                \
	"`mta-sts.txt -text` in .gitattributes)"
#define ID_FORM_WHY                                                            \
	" (a new id for the same policy: the file holds it with %s line "      \
	"ends, and the id is that of those bytes)"
/* a shared file held another policy while the id that stays was live */
#define SHARED_STALE_WARNING                                                   \
	"%s held another policy while the live id %s named this one, and "     \
	"other domains share the file, so the id stays: senders that "         \
	"fetched meanwhile may keep that policy until its max_age; give "      \
	"each domain a file of its own (%%d in policy-file) to let the id "    \
	"change instead"
/* the policy file changed between its publish and the UPDATE of its id
 * (file_recheck()) */
#define FILE_TAKEN_ERROR                                                       \
	"policy-file %s was %s by someone else after this run %s, before "     \
	"the UPDATE that was to publish its id (another configuration "        \
	"naming %s, a concurrent run, a hand edit or a deploy): name each "    \
	"domain in one configuration only, and leave its policy file to "      \
	"mta-sts-sync; the next run writes the policy again and publishes "    \
	"its id"
#define RUN_MSG_MAX 2048 /* a domain's failure, warning or note, as log.c */

enum run_status { RUN_UNCHANGED, RUN_CHANGED, RUN_FAILED };

/* Why the id changes although the policy does not (want_alternate()). */
enum id_toggle {
	TOGGLE_NONE,
	TOGGLE_REVERT, /* the file held another policy under the live id */
	TOGGLE_FORM    /* the id follows the form the file holds */
};

/* Everything one run knows about one domain. */
struct domain_run {
	const struct domain_conf *dc; /* &settings */
	struct domain_conf settings;  /* from the configuration */
	char *policy_file;            /* dc's, expanded */
	/* policy_file, its directory open from the plan's read to the end
	 * of the publish: both go to the directory the walk found once */
	struct publish_file file;
	char *verify_url; /* dc's, or the default */
	char *error;      /* why the domain failed; NULL: it did not */
	struct strlist warnings;
	/* warnings about what senders do: an MX host that the policy in
	 * mode enforce leaves uncovered (mx-check warn publishing it, or
	 * the live policy at every run until it is fixed): printed even
	 * with -q, and by a run that changes nothing */
	struct strlist alerts;
	struct buf notes;           /* -v lines, printed in domain order */
	struct buf dry_text;        /* --dry-run: the file diff */
	struct fetch_job *upstream; /* shared with other domains; NULL: local */
	struct fetch_opts opts;     /* for upstream and verify fetches */
	struct policy *policy;      /* effective policy */
	int planned;           /* the policy was built: what follows is set */
	enum policy_mode mode; /* its summary, kept for the report */
	size_t nmx;
	unsigned long max_age;
	struct buf served; /* its bytes: canonical, or the alternate form */
	char id[POLICY_ID_MAX + 1]; /* the id of served */
	int alternate;              /* served is the alternate form */
	/* the form not served (plan_form), for a publish-command that
	 * converts the file into it; its id, "" if it was not built. Freed
	 * once published: not kept while the domain waits for its zone */
	struct buf other;
	char other_id[POLICY_ID_MAX + 1];
	/* a live id is the policy's other one, and must change although
	 * the policy does not (plan_form) */
	enum id_toggle id_toggle;
	/* a shared file held another policy under the id that stays */
	int shared_stale;
	struct buf published; /* the file as found */
	int file_differs;
	int file_exists; /* the policy file is there (published before) */
	int file_looked; /* plan_file() read it (file_exists is known) */
	/* the policy file's directory, when it (or one above) does not
	 * exist: the publish makes it (said with -v; a dry run says it
	 * would); kept here, as the file's is freed before the report */
	char *dir_missing;
	int have_state;
	struct dns_target *target; /* from the DNS read to the UPDATE */
	struct dns_state state;
	struct buf sts_text;
	struct buf tlsrpt_text;
	struct dns_change change;
	int sts_needed;    /* the _mta-sts record changes */
	int tlsrpt_needed; /* the _smtp._tls record changes */
	/* their values change (else only the TTL): the new id must be
	 * served first */
	int id_needed;
	int tlsrpt_value_needed;
	int dns_needed; /* some record changes */
	int file_written;
	/* the policy file holds the new policy and only its id is left to
	 * publish: from the write (or, when the file held it already, from
	 * the publish-command) on; a failure then says so (fail_state()) */
	int file_new;
	/* someone else changed the policy file after that, before the
	 * UPDATE that was to publish its id (file_recheck()) */
	int file_taken;
	/* or that policy file could not be read again then: what it holds
	 * is not known */
	int file_unread;
	int file_rechecked; /* -v said the file still holds it */
	/* the UPDATE that failed may have been applied (DNS_UPDATE_UNKNOWN:
	 * its reason says so), or the one deleting ours again beside
	 * someone's edit */
	int update_open;
	/* its UPDATE put our new _mta-sts record beside someone's, and
	 * deleting ours again failed: the id names the new policy */
	int id_beside;
	int dns_updated;
	/* where it is in the run (under the run's lock) */
	int read_done; /* read: it may join the ready queue */
	int queued;    /* in the ready queue */
	int finished;  /* everything done: its result may be printed */
};

/* A message formatted into a new string, of up to RUN_MSG_MAX bytes (as
 * many as a line of log.c; a longer one ends with TEXT_CUT_MARK): the
 * messages that name the domain several times (the wildcard refusals)
 * need them with long names. */
static char *__attribute__((format(printf, 1, 0)))
message_new(const char *fmt, va_list ap)
{
	char msg[RUN_MSG_MAX];

	text_vformat(msg, sizeof(msg), fmt, ap);
	return xstrdup(msg);
}

static int record_needed(const struct dns_change *c, int sts, int value_only);

/*
 * What a failure of r leaves published, as the clause that ends its
 * message: the same words wherever the run stopped, so that an operator
 * (and a monitor grouping alerts) reads at the end of any failure what
 * was and was not changed. Before the write nothing was; after it the
 * file holds the new policy and the id is the old one, unless someone
 * else changed the file before the UPDATE (it holds what they left
 * there) or it could not be read again then (what it holds is not
 * known), the UPDATE may have been applied (its reason says so, and
 * the next run checks) or the records read back after it hold the new
 * id (a server that applied part of it): the _mta-sts value no longer
 * needs the change it needed. A domain that had no policy file and no
 * _mta-sts record is not said to have a published policy left.
 */
static const char *
fail_state(const struct domain_run *r)
{
	if (!r->file_new && r->file_looked && !r->file_exists &&
	    r->have_state && r->state.sts.n == 0 && r->state.sts_cname == NULL)
		return "nothing was published (the domain had no policy yet)";
	if (!r->file_new)
		return "the published policy is left as it is";
	if (r->file_taken)
		return "the policy file is as someone else left it; the "
		       "_mta-sts id was not changed";
	if (r->file_unread)
		return "the policy file could not be read again; the "
		       "_mta-sts id was not changed";
	if (r->update_open)
		return "the policy file holds the new policy";
	if (r->id_beside)
		return "the policy file holds the new policy, and the "
		       "_mta-sts id names it, beside theirs";
	if (r->id_needed && r->have_state && !record_needed(&r->change, 1, 1))
		return "the policy file holds the new policy, and the "
		       "_mta-sts id names it";
	return "the policy file holds the new policy; the _mta-sts id was "
	       "not changed";
}

/* Record a failure for r (the first reason wins), ended by the clause
 * of fail_state(): a reason too long for the message is cut as
 * text_vformat() cuts (marked, never inside a UTF-8 sequence), so that
 * the clause is always there. */
static void __attribute__((format(printf, 2, 3)))
run_fail(struct domain_run *r, const char *fmt, ...)
{
	const char *state;
	char msg[RUN_MSG_MAX];
	size_t room;
	va_list ap;
	int n;

	if (r->error != NULL)
		return;
	state = fail_state(r);
	room = sizeof(msg) - strlen(state) - 2;
	va_start(ap, fmt);
	n = text_vformat(msg, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; %s", state);
	r->error = xstrdup(msg);
}

static int
run_failed(const struct domain_run *r)
{
	return r->error != NULL;
}

/* Add a warning for r. */
static void __attribute__((format(printf, 2, 3)))
run_warn(struct domain_run *r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = message_new(fmt, ap);
	va_end(ap);
	strlist_add(&r->warnings, msg);
	free(msg);
}

/* Copy the warnings of d into r, each prefixed by what they concern. */
static void
run_take_warnings(struct domain_run *r, const struct diag *d,
                  const char *prefix)
{
	size_t i;

	for (i = 0; i < d->nwarn; i++)
		run_warn(r, "%s%s", prefix, d->warn[i]);
}

/*
 * A step worth telling with -v. Domains are worked on concurrently, so
 * the lines are kept and printed with the domain's result, in the order
 * of the configuration.
 */
static void __attribute__((format(printf, 2, 3)))
run_note(struct domain_run *r, const char *fmt, ...)
{
	char line[RUN_MSG_MAX];
	va_list ap;

	if (log_get_level() < LOG_LEVEL_VERBOSE)
		return;
	va_start(ap, fmt);
	text_vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->notes.max == 0)
		buf_init(&r->notes, 1u << 16);
	buf_printf(&r->notes, "%s\n", line);
}

/* ------------------------------------------------------ configuration */

/* Load the configuration; NULL with the reason in d. Its warnings are
 * printed (or deferred: see log_warning_deferred()). */
static struct conf *
sync_load_conf(const struct cmd_opts *o, struct diag *d)
{
	struct conf *conf;
	size_t i;

	/* before the key is read; only with CAP_SYS_PTRACE, as the next
	 * run must read this one's descriptors to name the lock's holder */
	no_core(1);
	conf = conf_load(o->conf_path, d);
	if (conf == NULL)
		return NULL;
	/* an hmac-md5 key: said in every run that prints anything */
	for (i = 0; i < d->nwarn; i++)
		if (o->dry_run || o->json ||
		    log_get_level() >= LOG_LEVEL_VERBOSE)
			log_warning(NULL, "%s", d->warn[i]);
		else
			log_warning_deferred(NULL, "%s", d->warn[i]);
	return conf;
}

/* Pick the domains to process: all (*sel NULL), or those named on the
 * command line (each once, however often it is named), as indices in
 * conf. Returns the number chosen, or -1 for an unknown name (in d). */
static int
sync_select(const struct conf *conf, const struct cmd_opts *o, size_t **sel,
            struct diag *d)
{
	size_t *v;
	size_t i, j, k, m = 0;

	*sel = NULL;
	if (o->nargs <= 0)
		return (int)conf->ndomains;
	v = xcalloc((size_t)o->nargs, sizeof(*v));
	for (i = 0; i < (size_t)o->nargs; i++) {
		if (conf_find_domain(conf, o->args[i], &k) == -1) {
			diag_error(d, "%s is not configured in %s", o->args[i],
			           conf->path);
			free(v);
			return -1;
		}
		/* a domain named twice is done once */
		for (j = 0; j < m && v[j] != k; j++)
			;
		if (j == m)
			v[m++] = k;
	}
	*sel = v;
	return (int)m;
}

/*
 * The ca-file path says whom the fetches trust: like the configuration,
 * it must be safe from other users, and it is judged before anything is
 * parsed from it. It is opened once, through the walk that judges its
 * path (conf_open_trusted()): judged by the status of that descriptor,
 * and what the fetches of the run trust is parsed from it
 * (fetch_ca_file_load()), not from whatever the path names a moment
 * later. Returns 0, or -1 (in d).
 */
static int
ca_file_load(const char *path, struct diag *d)
{
	char why[DIAG_MSG_MAX];
	struct stat st;
	int fd, rc = -1, trust;

	trust =
	    conf_open_trusted(path, CONF_TRUST_CA, &fd, &st, why, sizeof(why));
	if (trust == -1)
		diag_error(d, "%s: cannot read: %s",
		           path_shown(path, '\0', NULL, 0), strerror(errno));
	else if (trust == -2)
		diag_error(d, "%s", why);
	else if (!S_ISREG(st.st_mode))
		diag_error(d, "%s: not a regular file",
		           path_shown(path, '\0', NULL, 0));
	else
		rc = fetch_ca_file_load(path, fd, d);
	if (fd != -1)
		close(fd);
	return rc;
}

/*
 * Every ca-file of the configuration must be readable, hold a
 * certificate and be safe from other users, and every publish-command's
 * program must be there and be as safe: like
 * a key file that cannot be read, a configuration error (nothing done),
 * rather than a failure for every domain that names it, reported at the
 * setting's file:line. Each CA file is parsed once, for the whole run,
 * once it is found safe (ca_file_load()). Returns 0, or -1 (in d).
 * Out of line: its diag would otherwise sit in the frame below which
 * the configuration is read, the main thread's deepest.
 */
static int __attribute__((noinline))
sync_check_files(const struct conf *conf, struct diag *d)
{
	const char *last = NULL;
	struct diag cd;

	for (size_t i = 0; i < conf->nshared; i++) {
		const char *ca = conf->shared[i].ca_file;
		const struct strlist *cmd = &conf->shared[i].publish_cmd;
		const struct conf_where *w = &conf->where[i];

		diag_init(&cd);
		if (cmd->n > 0 && publish_command_check(cmd->v[0], &cd) == -1) {
			diag_error(d, "%s:%u: %s",
			           path_shown(w->cmd_file, '\0', NULL, 0),
			           w->cmd_line, cd.error);
			return -1;
		}
		if (ca == NULL || (last != NULL && strcmp(ca, last) == 0))
			continue;
		last = ca;
		if (ca_file_load(ca, &cd) == -1) {
			diag_error(d, "%s:%u: ca-file %s",
			           path_shown(w->ca_file, '\0', NULL, 0),
			           w->ca_line, cd.error);
			return -1;
		}
	}
	return 0;
}

/* Whether the running user is in group gid (its own, or another it
 * belongs to: as many as it is in, up to NGROUPS_MAX, 65536). */
static int
in_my_groups(gid_t gid)
{
	gid_t *list;
	int n, found = 0;

	if (gid == getegid())
		return 1;
	if ((n = getgroups(0, NULL)) <= 0)
		return 0;
	list = xreallocarray(NULL, (size_t)n, sizeof(*list));
	n = getgroups(n, list);
	for (int i = 0; i < n && !found; i++)
		found = list[i] == gid;
	free(list);
	return found;
}

/* What to run so that others may not read path (st, its ACL aw), the
 * configuration others may read, and the running user still may,
 * appended to b: chmod o-r when that user owns it or reads it through its
 * group; else (root's 0644 file, run by a service user) give it that
 * user's group first, with chmod 0640, whose group bits on a file with an
 * ACL are its mask: the entries that mask hides now, which it would let
 * read the file, are taken out first (setfacl -x), all of them, and named.
 * Returns 0, or -1 when b cannot hold it all (or there are more than
 * ACL_NAMED_KEPT such entries: a part of them taken out, chmod would
 * unmask the rest). */
static int
unshare_words(const char *path, const struct stat *st, const struct acl_who *aw,
              struct buf *b)
{
	char grp[64], buf[DIAG_MSG_MAX];
	const char *ps;
	int rc = 0;

	/* the path as a shell takes it: the command is to be pasted; or
	 * words that no shell takes for a path (hidden, too long) */
	ps = path_shell(path, buf, sizeof(buf));
	if (st->st_uid == geteuid() || in_my_groups(st->st_gid))
		return buf_printf(b, "chmod o-r %s (mode 0640 or 0600)", ps);
	if (aw->masked_count > 0 && !aw->nfs4) {
		/* all of them (more: words), or chmod unmasks the rest */
		rc |= acl_masked_command(aw, ps, b);
		rc |= buf_puts(b, " (its mask hides ");
		rc |= acl_masked_shown(aw, ps, b);
		rc |= buf_puts(b, " now, which chmod 0640 would let read "
		                  "it); ");
	}
	return rc |
	       buf_printf(b,
	                  "chgrp %s %s; chmod 0640 %s (the group of the user "
	                  "running mta-sts-sync, which must still read it)",
	                  group_name(getegid(), grp, sizeof(grp)), ps, ps);
}

/* The note after a group the running user is in, in the lock advice's
 * list of the ACL's readers. */
static const char *
lock_reader_note(int is_group, unsigned id)
{
	return is_group && in_my_groups((gid_t)id)
	           ? ", which the running user is in,"
	           : "";
}

/*
 * The named entries of aw that may read the configuration (path), for
 * the lock advice, into b: "setfacl -x u:N,g:M PATH (its ACL lets user
 * A and group B, which the running user is in, read it ...)", all of
 * them, so that the operator does not learn of the next one at the
 * next run kept out; a group the running user is in first given that
 * user an entry of its own (setfacl -m u:ME:r), should it read the file
 * through that group. Beyond ACL_NAMED_LISTED, getfacl lists the rest;
 * beyond ACL_NAMED_KEPT, no command (-1): words.
 * Returns 0, or -1 when b cannot hold it all.
 */
static int
lock_readers_acl(const char *path, const struct stat *st,
                 const struct acl_who *aw, struct buf *b)
{
	char buf[DIAG_MSG_MAX];
	const char *ps = path_shell(path, buf, sizeof(buf));
	int mine = 0, rc = 0;

	for (size_t i = 0; i < aw->named_count && i < ACL_NAMED_KEPT; i++)
		mine |= *lock_reader_note(aw->listed[i].is_group,
		                          aw->listed[i].id) != '\0';
	if (mine && geteuid() != 0 && st->st_uid != geteuid())
		rc |= buf_printf(b, "setfacl -m u:%u:r %s; ",
		                 (unsigned)geteuid(), ps);
	rc |= acl_remove_command(aw, NULL, ps, b);
	rc |= buf_puts(b, " (its ACL lets ");
	rc |= acl_listed_shown(aw, lock_reader_note, ps, b);
	return rc |
	       buf_printf(b, " read it%s)",
	                  mine ? ": every member of a group may lock it" : "");
}

/* The entry of an NFSv4 ACL (aw) that lets another user read the
 * configuration (path), for the lock advice, appended to b:
 * "nfs4_setfacl -x 'SPEC' PATH (its NFSv4 ACL lets user A read it, and N
 * more entries: nfs4_getfacl PATH lists them)". Returns 0, or -1 when b
 * cannot hold it all. */
static int
lock_readers_nfs4(const char *path, const struct acl_who *aw, struct buf *b)
{
	char who[192], buf[DIAG_MSG_MAX];
	const char *ps = path_shell(path, buf, sizeof(buf));
	int rc = acl_remove_command(aw, NULL, ps, b);

	rc |= buf_printf(b, " (its NFSv4 ACL lets %s read it",
	                 acl_named_shown(aw, who, sizeof(who)));
	rc |= acl_nfs4_more(aw, ps, b);
	return rc | buf_puts(b, ")");
}

/*
 * What to run so that no other user may read path (its status st) to
 * lock it, whose ACL aw lets the users and groups it names read it,
 * appended to b: unshare_words() when others may, and setfacl -x for
 * those users and groups (chmod o-r leaves them their entries), or the
 * nfs4_setfacl -x of an NFSv4 ACL's entry, when any. Returns 1, 0 when
 * none may (nothing appended), or -1 when b cannot hold it all (b then
 * holds a part of it, which is not to be shown).
 */
static int
lock_readers_fix(const char *path, const struct stat *st,
                 const struct acl_who *aw, struct buf *b)
{
	int others = (st->st_mode & S_IROTH) != 0, rc = 0;

	if (!others && aw->named_count == 0)
		return 0;
	if (others)
		rc |= unshare_words(path, st, aw, b);
	if (others && aw->named_count > 0)
		rc |= buf_puts(b, "; ");
	if (aw->named_count > 0 && aw->nfs4)
		rc |= lock_readers_nfs4(path, aw, b);
	else if (aw->named_count > 0)
		rc |= lock_readers_acl(path, st, aw, b);
	return rc == 0 ? 1 : -1;
}

/*
 * Append to d, whose lock on path (open as fd) is taken (by another
 * program, or by a process this run cannot see), that any user who may
 * read the file may take it, and lock_readers_fix()'s commands, when any
 * such user is. Where the commands would not fit whole in d (a long
 * path), words without them: a command cut short would name another path.
 */
static void
lock_readers_append(const char *path, int fd, struct diag *d)
{
	const char *shown = path_shown(path, '\0', NULL, 0);
	size_t used = strlen(d->error);
	struct acl_who aw;
	struct stat st;
	struct buf b;
	int rc;

	if (fstat(fd, &st) == -1)
		return;
	if (acl_who_read(fd, NULL, &st, ACL_PERM_READ, acl_root_or_runner,
	                 &aw) == -1)
		aw.named_count = aw.masked_count = 0;
	buf_init(&b, used < sizeof(d->error) ? sizeof(d->error) - used - 1 : 0);
	rc = buf_printf(&b,
	                "; any user who may read %s may lock it and keep "
	                "every run out: ",
	                shown);
	if (rc == 0)
		rc = lock_readers_fix(path, &st, &aw, &b);
	if (rc == 1)
		diag_append(d, "%s", b.data);
	else if (rc == -1)
		diag_append(
		    d,
		    "; any user who may read %s may lock it and keep every "
		    "run out: take their read access away (mode 0640 or "
		    "0600, and no ACL entry for another user or group%s: %s "
		    "lists them, %s removes them)",
		    shown,
		    aw.masked_count > 0 ? ", those its mask hides now "
		                          "included, which a mode of 0640 "
		                          "would let read it"
		                        : "",
		    aw.nfs4 ? "nfs4_getfacl" : "getfacl",
		    aw.nfs4 ? "nfs4_setfacl -x" : "setfacl -x");
	buf_free(&b);
}

/*
 * The lock on path is held, and no holder was found: /proc shows another
 * user's descriptors to root alone, hides their processes altogether
 * with hidepid= (systemd's ProtectProc=invisible), and shows none of
 * another PID namespace's. Say so into d rather than call the holder a
 * run (a manual run of root's beside a service user's cron job, or
 * flock(1), is as likely), with how root finds it: as commands for a
 * path of up to 200 bytes, else words, so that a long one leaves the
 * room to lock_readers_append()'s commands (a command cut short would
 * name another path).
 */
static void
lock_unseen(const char *path, struct diag *d)
{
	char buf[DIAG_MSG_MAX];
	const char *ps = path_shell(path, buf, sizeof(buf));

	diag_error(d,
	           "the lock on %s is held by a process this run cannot see "
	           "(another user's run, or one /proc hides: hidepid=, "
	           "ProtectProc=invisible, another PID namespace); nothing "
	           "done: wait for it to end",
	           path_shown(path, '\0', NULL, 0));
	if (ps == buf && strlen(ps) <= 200)
		diag_append(d, " (as root, fuser -v %s or lsof %s names it)",
		            ps, ps);
	else
		diag_append(d, " (root can name it with lsof or fuser on the "
		               "file)");
}

/*
 * The lock on path (open as fd) is taken: say by whom, if /proc tells,
 * and what to do. Anyone who may open the file may lock it (flock(2) asks
 * for no more than a read-only descriptor, and a read lock of fcntl(2)
 * keeps a write lock out as well), so a configuration others may read,
 * or a user or group its ACL names (lock_readers_fix()), lets them keep
 * every run out: said when the holder is another program, or cannot be
 * seen.
 */
static void
lock_taken(const char *path, int fd, struct diag *d)
{
	/* as other messages show it: a secret-shaped one is not */
	const char *shown = path_shown(path, '\0', NULL, 0);
	struct buf who;
	int strangers;

	buf_init(&who, DIAG_MSG_MAX);
	strangers = flock_holders(fd, path, &who);
	if (strangers > 0)
		diag_error(d,
		           "%s is locked by %s, which %s; nothing done: stop "
		           "%s",
		           shown, who.data,
		           strangers > 1 ? "are not runs of mta-sts-sync"
		                         : "is not a run of mta-sts-sync",
		           strangers > 1 ? "them" : "it");
	else if (who.len > 0)
		diag_error(d,
		           "another mta-sts-sync run is using %s (%s); nothing "
		           "done: wait for it to end, or stop it",
		           shown, who.data);
	else
		lock_unseen(path, d);
	if (strangers > 0 || who.len == 0)
		lock_readers_append(path, fd, d);
	buf_free(&who);
}

/*
 * Take an exclusive lock on the configuration file so that two runs on
 * the same configuration never overlap. The lock is taken on the file
 * conf_load() read, through its descriptor: opening the path again
 * would follow whatever someone who may rename entries in its directory
 * put there since (a FIFO that hangs the open, a device, another file
 * whose lock keeps no run out). The descriptor stays open (and the lock
 * held) until the process ends; it is close-on-exec, so that no
 * publish-command gets a descriptor to read the configuration (and an
 * inline TSIG secret in it) through. The supervisor of each command
 * keeps a copy until what the command started is gone (command.c): a run
 * killed with SIGKILL keeps the next one out until then. Returns 0, -2
 * when another process holds the lock, or -1 when it cannot be taken
 * (the reason in d, for both).
 */
static int
sync_lock(const struct conf *conf, struct diag *d)
{
	const char *path = conf->path;
	int fd = fcntl(conf->fd, F_DUPFD_CLOEXEC, 0);

	if (fd == -1) {
		diag_error(d, "%s: cannot lock: %s",
		           path_shown(path, '\0', NULL, 0), strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int taken = errno == EWOULDBLOCK;

		if (taken)
			lock_taken(path, fd, d);
		else
			diag_error(d, "%s: cannot lock: %s",
			           path_shown(path, '\0', NULL, 0),
			           strerror(errno));
		close(fd);
		return taken ? -2 : -1;
	}
	publish_run_locked(fd);
	return 0;
}

/* A run that does nothing: the reason in d is printed, and with --json
 * a document without domains carries it, its "locked" true when another
 * process held the lock (locked): a monitor that counts "failed" alone
 * would miss a run kept out. Returns status. */
static int
sync_refused(const struct cmd_opts *o, const struct diag *d, int status,
             int locked)
{
	char members[160];

	log_error(NULL, "%s", d->error);
	if (!o->json)
		return status;
	snprintf(members, sizeof(members),
	         "\"dry_run\":%s,\"domains\":[],%s\"changed\":0,"
	         "\"failed\":0,\"locked\":%s,",
	         o->dry_run ? "true" : "false",
	         o->dry_run ? "\"updates\":[]," : "",
	         locked ? "true" : "false");
	json_print_refusal(members, d->error);
	return status;
}

/* -------------------------------------------------------------- plan */

/* What to do about an upstream's HTTP error status (400-599), after
 * ": ", or NULL for another. */
static const char *
upstream_status_advice(long status)
{
	if (status == 404 || status == 410)
		return "check `upstream` (the provider may have moved its "
		       "policy)";
	if (status == 401 || status == 403)
		return "check `upstream`, and whether the provider serves its "
		       "policy to this host";
	if (status >= 400 && status <= 499)
		return "check `upstream`";
	if (status >= 500 && status <= 599)
		return "the provider's server failed; the next run tries "
		       "again (tell the provider if it lasts)";
	return NULL;
}

/* The upstream policy of r, parsed; NULL (failure recorded) if the fetch
 * failed or the policy is invalid. */
static struct policy *
run_upstream_policy(struct domain_run *r)
{
	const struct fetch_result *fr = &r->upstream->result;
	struct policy *p;
	struct diag d;
	char prefix[DIAG_MSG_MAX];

	if (!fr->ok) {
		const char *advice = fr->fail == FETCH_FAIL_OTHER
		                         ? upstream_status_advice(fr->status)
		                         : NULL;

		run_fail(r, "upstream %s: %s%s%s", r->dc->upstream, fr->error,
		         advice != NULL ? ": " : "",
		         advice != NULL ? advice : "");
		return NULL;
	}
	diag_init(&d);
	p = policy_parse(fr->body, fr->len, &d);
	if (p == NULL) {
		run_fail(r, "upstream %s: invalid policy: %s", r->dc->upstream,
		         d.error);
		return NULL;
	}
	snprintf(prefix, sizeof(prefix), "upstream %s: ", r->dc->upstream);
	run_take_warnings(r, &d, prefix);
	return p;
}

/* Apply the mode, max-age and mx overrides of dc to p. */
static int
apply_overrides(const struct domain_conf *dc, struct policy *p, struct diag *d)
{
	size_t i;

	if (dc->has_mode)
		p->mode = dc->mode;
	if (dc->has_max_age)
		p->max_age = dc->max_age;
	for (i = 0; i < dc->extra_mx.n; i++)
		if (policy_add_mx(p, dc->extra_mx.v[i], d) == -1)
			return -1;
	return policy_validate(p, d);
}

/* Build the effective policy, its canonical bytes and its id. */
static int
plan_policy(struct domain_run *r)
{
	struct diag d;

	if (r->dc->local_policy != NULL)
		r->policy = policy_dup(r->dc->local_policy);
	else
		r->policy = run_upstream_policy(r);
	if (r->policy == NULL)
		return -1;
	diag_init(&d);
	if (apply_overrides(r->dc, r->policy, &d) == -1) {
		run_fail(r, "policy after overrides: %s", d.error);
		return -1;
	}
	buf_init(&r->served, POLICY_MAX_SIZE);
	if (policy_canonical(r->policy, &r->served) == -1) {
		run_fail(r, "policy: longer than %u bytes", POLICY_MAX_SIZE);
		return -1;
	}
	policy_id(r->served.data, r->served.len, r->id);
	r->planned = 1;
	r->mode = r->policy->mode;
	r->nmx = r->policy->nmx;
	r->max_age = r->policy->max_age;
	run_note(r, "policy id=%s mode=%s mx=%zu max_age=%lu", r->id,
	         policy_mode_name(r->policy->mode), r->policy->nmx,
	         r->policy->max_age);
	return 0;
}

/* Does r's policy file hold exactly the len bytes at bytes? */
static int
file_holds(const struct domain_run *r, const char *bytes, size_t len)
{
	return r->file_exists && r->published.len == len &&
	       memcmp(r->published.data, bytes, len) == 0;
}

/* Is the live _mta-sts TXT record i of r an STSv1 record? Returns 1 with
 * it parsed into rec, or 0. */
static int
live_sts_record(const struct domain_run *r, size_t i, struct sts_record *rec)
{
	const char *t = r->state.sts.text.v[i];
	struct diag d;

	diag_init(&d);
	return t != NULL && record_is_version(t, STS_RECORD_VERSION) &&
	       sts_record_parse(t, strlen(t), rec, &d) == 0;
}

/*
 * Is id that of a v=STSv1 record live at r's _mta-sts name? Of any
 * record record_is_version() counts and that parses: a near miss
 * ("v=STSv1 ; id=X", which RFC 8461's grammar allows and some senders
 * take) and one of several too, since some sender may have taken it,
 * and erring towards a new id costs only one more id change.
 */
static int
live_sts_id_is(const struct domain_run *r, const char *id)
{
	struct sts_record rec;

	for (size_t i = 0; i < r->state.sts.text.n; i++)
		if (live_sts_record(r, i, &rec) && strcmp(rec.id, id) == 0)
			return 1;
	return 0;
}

/*
 * Should r serve the alternate form of its policy (policy_alternate())?
 * alt_id is that form's id, r->id the usual one. The form the file holds
 * stays, so that a run cut short between the write and the UPDATE is
 * finished with the id of what it wrote, and a file whose line ends a
 * publish-command or git converted keeps the id of its bytes. Otherwise,
 * when a live id is one of the policy's two but the file holds another
 * policy, that policy was served under this id (a publish whose UPDATE
 * never came, then a revert): senders may have cached it, and only a new
 * id makes them fetch again, so the other form is served. Not when the
 * file is missing: nothing was served from it (the form a live id names
 * is written back). Never for a file that other domains share: each
 * would choose from its own live id, and one form serves them all
 * (policy_file_shared; mta-sts-sync(8) says what that costs). Sets
 * r->id_toggle.
 */
static int
want_alternate(struct domain_run *r, const struct buf *alt, const char *alt_id)
{
	int live_usual = live_sts_id_is(r, r->id);
	int live_alt = live_sts_id_is(r, alt_id);
	int held_other = r->file_exists &&
	                 !file_holds(r, r->served.data, r->served.len) &&
	                 !file_holds(r, alt->data, alt->len);
	int use_alt;

	if (file_holds(r, r->served.data, r->served.len))
		use_alt = 0;
	else if (file_holds(r, alt->data, alt->len))
		use_alt = 1;
	else if (r->dc->policy_file_shared)
		use_alt = 0;
	else if (live_usual || live_alt)
		use_alt = r->file_exists ? live_usual : live_alt;
	else
		use_alt = 0;
	if (!(use_alt ? live_usual : live_alt))
		r->id_toggle = TOGGLE_NONE;
	else
		r->id_toggle = held_other ? TOGGLE_REVERT : TOGGLE_FORM;
	/* the id stays, and may name what senders cached of the other */
	r->shared_stale = held_other && r->dc->policy_file_shared &&
	                  (use_alt ? live_alt : live_usual);
	return use_alt;
}

/* Serve r's other form: served and other, and their ids, trade places. */
static void
forms_swap(struct domain_run *r)
{
	struct buf t = r->served;
	char id[POLICY_ID_MAX + 1];

	r->served = r->other;
	r->other = t;
	memcpy(id, r->id, sizeof(id));
	memcpy(r->id, r->other_id, sizeof(id));
	memcpy(r->other_id, id, sizeof(id));
	r->alternate = !r->alternate;
}

/* Choose the form of its policy that r serves (want_alternate()): with
 * the alternate one, r->served and r->id become its. The other form is
 * kept in r->other. */
static void
plan_form(struct domain_run *r)
{
	buf_init(&r->other, POLICY_MAX_SIZE);
	r->other_id[0] = '\0';
	/* never longer than the canonical bytes */
	if (policy_alternate(r->served.data, r->served.len, &r->other) != 0)
		return;
	policy_id(r->other.data, r->other.len, r->other_id);
	if (want_alternate(r, &r->other, r->other_id))
		forms_swap(r);
}

/* Say with -v why r serves the form of its policy it does, unless that
 * is the usual one and the id need not change for it; and warn when a
 * shared file held another policy under the id that stays. */
static void
form_note(struct domain_run *r)
{
	const char *ends = r->alternate ? "LF" : "CRLF";

	if (r->id_toggle == TOGGLE_REVERT)
		run_note(r, ID_TOGGLE_NOTE, r->policy_file, r->id, ends);
	else if (r->id_toggle == TOGGLE_FORM)
		run_note(r, ID_FORM_NOTE, r->policy_file,
		         r->file_differs ? "gets" : "holds", ends, r->id);
	else if (r->alternate)
		run_note(r, ID_ALTERNATE_NOTE, r->id);
	if (r->shared_stale)
		run_warn(r, SHARED_STALE_WARNING, r->policy_file, r->id);
}

/* Compare the policy with the published file. */
static int
plan_file(struct domain_run *r)
{
	char dir[PATH_MAX + 64] = "";
	struct diag d;
	int exists;

	diag_init(&d);
	buf_init(&r->published, POLICY_MAX_SIZE);
	exists = publish_file_read(&r->file, &r->published, &d);
	if (exists == -1) {
		/* nothing read may be shown (a dry run's diff): the file
		 * refused may be what a link pointed to */
		buf_reset(&r->published);
		run_fail(r, "%s", d.error);
		return -1;
	}
	r->file_exists = exists;
	r->file_looked = 1;
	/* the read opens the directory unless it (or one above) is
	 * missing */
	if (!exists && r->file.dirfd == -1)
		r->dir_missing = xstrdup(r->file.dir);
	plan_form(r);
	r->file_differs = !file_holds(r, r->served.data, r->served.len);
	form_note(r);
	if (r->dir_missing)
		snprintf(dir, sizeof(dir), "; directory %s does not exist",
		         r->dir_missing);
	run_note(r, "%s: %s%s", r->policy_file,
	         !exists           ? "not published yet"
	         : r->file_differs ? "differs from the new policy"
	                           : "up to date",
	         dir);
	return 0;
}

/* Say with -v that the name label.<domain of r> is taken as empty: what
 * was read there was a wildcard's (its CNAME to wild_cname, if not NULL;
 * else its TXT records). */
static void
wildcard_note(struct domain_run *r, const char *label, const char *wild_cname)
{
	if (wild_cname != NULL)
		run_note(r, WILDCARD_CNAME_NOTE, label, r->dc->name,
		         wild_cname);
	else
		run_note(r, WILDCARD_NOTE, label, r->dc->name);
}

/*
 * What a wildcard gives a name that does not exist is not at that name:
 * an update whose prerequisites named its TXT records would fail every
 * run, and its CNAME (a hosting operator's *.<zone> CNAME <zone>, say)
 * is no delegation: adding a TXT record creates the name, to which the
 * wildcard then no longer applies. dns_state_wildcards() tells them, for
 * the names this run may change, and they are taken as no records. d is
 * the caller's, for the reason (emptied first).
 */
static int
plan_wildcards(struct domain_run *r, struct diag *d)
{
	const struct domain_conf *dc = r->dc;

	diag_init(d);
	if (dns_state_wildcards(r->target, dc->name, 1, dc->has_tls_rpt,
	                        &r->state, d) == -1) {
		run_fail(r, "%s", d->error);
		return -1;
	}
	if (r->state.sts_wildcard)
		wildcard_note(r, "_mta-sts", r->state.sts_wildcard_cname);
	if (r->state.tlsrpt_wildcard)
		wildcard_note(r, "_smtp._tls", r->state.tlsrpt_wildcard_cname);
	return 0;
}

/*
 * A wildcard CNAME that answers the domain's own name too (the domain
 * exists only through it, as a name under a hosting operator's catch-all
 * *.<zone> CNAME <zone> may): adding _mta-sts.<domain> would create the
 * domain's name as an empty node, which the wildcard then no longer
 * answers, so that name would stop resolving (its address, its mail
 * through the CNAME). Refused, with the fix.
 */
static int
plan_wildcard_shadow(struct domain_run *r)
{
	const struct dns_state *st = &r->state;
	const char *d = r->dc->name, *target = st->sts_wildcard_cname;

	if (target == NULL)
		target = st->tlsrpt_wildcard_cname;
	if (target == NULL || st->domain_cname == NULL ||
	    strcmp(target, st->domain_cname) != 0)
		return 0;
	run_fail(r,
	         "%s itself is answered by the wildcard CNAME to %s (the "
	         "name does not exist in the zone): adding its records "
	         "would create %s as an empty name, which the wildcard then "
	         "no longer answers, and its address and mail would stop "
	         "resolving; give it records of its own first (%s. CNAME "
	         "%s., say)",
	         d, target, d, d, target);
	return -1;
}

/* The parent of domain d (d itself if it has one label). */
static const char *
parent_of(const char *d)
{
	const char *dot = strchr(d, '.');

	return dot != NULL ? dot + 1 : d;
}

/* Put into out (of size size) the wildcard that answers domain d of
 * zone when d does not exist: *.<zone> when d is just below the apex,
 * else one of the names above d, which the answers do not tell. */
static void
wildcard_above(const char *d, const char *zone, char *out, size_t size)
{
	const char *parent = parent_of(d);

	if (strcmp(parent, zone) == 0)
		snprintf(out, size, "the wildcard *.%s", zone);
	else
		snprintf(out, size, "a wildcard (*.%s, or one above it)",
		         parent);
}

/*
 * A domain below its zone's apex that exists only through a wildcard
 * (dns_state_wildcards() asks a name below it and one beside it): adding
 * _mta-sts.<domain> would create the domain's name as an empty node
 * (RFC 4592 section 2.2.2), which the wildcard then no longer answers,
 * so its MX, its SPF TXT record, its address (all the wildcard gives
 * it) would go, and with its MX or address its mail. Refused, with the
 * fix. A domain whose own records a wildcard *.<domain> and a wildcard
 * *.<parent> both give too looks the same (no answer tells them apart
 * without DNSSEC): the message says how to get past that false refusal (a
 * record of our kind at _mta-sts.<domain> makes the question moot, and the run
 * replaces it).
 */
static int
plan_wildcard_domain(struct domain_run *r)
{
	const char *d = r->dc->name;
	unsigned lost = r->state.domain_wildcard;
	char wild[DNS_NAME_MAX + 40], created[DNS_NAME_MAX + 16];
	struct buf msg;

	if (lost == 0)
		return 0;
	wildcard_above(d, r->target->zone, wild, sizeof(wild));
	snprintf(created, sizeof(created), "_mta-sts.%s", d);
	/* room for more than a message holds, so that no part is dropped:
	 * run_fail() cuts the whole */
	buf_init(&msg, 4 * RUN_MSG_MAX);
	dns_wild_sentence(&msg, d, lost, wild, created);
	/* the policy host may be one more name the wildcard answers */
	buf_printf(&msg,
	           " first, and mta-sts.%s its own address if it has the "
	           "wildcard's, which then stops answering it too",
	           d);
	/* the blind spot: how to get past a false refusal */
	buf_printf(&msg,
	           " (if it has them, and wildcards *.%s and *.%s give the "
	           "same, add _mta-sts.%s TXT \"v=STSv1; id=0\" first: the "
	           "next run replaces it)",
	           d, parent_of(d), d);
	run_fail(r, "%s", msg.data);
	buf_free(&msg);
	return -1;
}

/*
 * Fail r when the zone its UPDATE goes to (r->target's) does not hold
 * _mta-sts.<domain>, as the primary's answers tell: that name is a zone
 * of its own, or delegated to one (away: on other nameservers). An
 * UPDATE of the wrong zone is refused (NOTZONE), or, for a name below a
 * zone cut in it, accepted by BIND without a trace where anyone looks.
 * Not when that name is a CNAME, which is left alone with a message of
 * its own.
 */
static int
plan_sts_zone(struct domain_run *r)
{
	const char *d = r->dc->name, *z = r->target->zone,
	           *sz = r->state.sts_zone;

	if (r->state.sts_cname != NULL || sz == NULL ||
	    ascii_casecmp(sz, z) == 0)
		return 0;
	if (r->state.away & DNS_NAME_STS)
		run_fail(r,
		         "_mta-sts.%s is delegated from zone %s to zone %s, "
		         "which %s port %u does not serve: a domain's records "
		         "(its MX too) are read from one primary and updated "
		         "with one key, so a _mta-sts record on another "
		         "primary than its domain's is not supported; serve "
		         "_mta-sts.%s from zone %s (remove the delegation), or "
		         "serve both zones from one primary and set `server` "
		         "to it",
		         d, z, sz, r->target->server, r->dc->port, d, z);
	else
		run_fail(r,
		         "_mta-sts.%s is in zone %s on %s port %u, not in zone "
		         "%s%s: an UPDATE of zone %s cannot change it; %s",
		         d, sz, r->target->server, r->dc->port, z,
		         r->target->zone_set ? ", which `zone` names"
		                             : ", found for it by SOA queries",
		         z,
		         r->target->zone_set
		             ? "leave `zone` out to have its zone found"
		             : "the resolver that found it sees another view "
		               "than the primary: set `server` to the "
		               "primary, which is then asked for the zone");
	return -1;
}

/*
 * Fail r when it manages its _smtp._tls record (no CNAME there) and that
 * name is in another zone than its _mta-sts name: one domain's records
 * go in one UPDATE of one zone, which cannot change both.
 */
static int
plan_tlsrpt_zone(struct domain_run *r)
{
	const char *d = r->dc->name, *z = r->target->zone,
	           *tz = r->state.tlsrpt_zone;
	char where[DNS_NAME_MAX + 96];

	if (!r->dc->has_tls_rpt || r->state.tlsrpt_cname != NULL ||
	    tz == NULL || ascii_casecmp(tz, z) == 0)
		return 0;
	snprintf(where, sizeof(where), "%s %s port %u",
	         r->state.away & DNS_NAME_TLSRPT ? "delegated to other "
	                                           "nameservers than"
	                                         : "on",
	         r->target->server, r->dc->port);
	run_fail(r,
	         "_smtp._tls.%s is in zone %s (%s), _mta-sts.%s in zone %s: "
	         "a domain's two records go in one UPDATE of one zone, so "
	         "records of one domain in two zones are not supported; "
	         "leave tls-rpt out of this domain (set it in the domain "
	         "blocks that need it rather than in options), and the "
	         "_smtp._tls record is left alone for you to manage in zone "
	         "%s, or serve both names from one zone",
	         d, tz, where, d, z, tz);
	return -1;
}

/* The names (DNS_NAME_*) whose records r manages: _mta-sts.<domain>,
 * and _smtp._tls.<domain> with tls-rpt unless the read found a CNAME
 * there. An answer at a name r leaves alone must not fail it. */
static unsigned
run_names(const struct domain_run *r)
{
	return DNS_NAME_STS |
	       (r->dc->has_tls_rpt && r->state.tlsrpt_cname == NULL
	            ? DNS_NAME_TLSRPT
	            : 0);
}

/* plan_read_dns() with its diag d (empty). */
static int
plan_read_dns_into(struct domain_run *r, struct diag *d)
{
	const struct domain_conf *dc = r->dc;
	char resolver[DNS_NAME_MAX + 16];
	int rc;

	if (dc->resolver != NULL)
		snprintf(resolver, sizeof(resolver), "%s#%u", dc->resolver,
		         dc->resolver_port);
	r->target = xmalloc(sizeof(*r->target));
	rc = dns_target_find_read(dc->name, dc->zone, dc->server, dc->port,
	                          dc->key, dc->timeout,
	                          dc->resolver != NULL ? resolver : NULL,
	                          run_names(r), r->target, &r->state, d);
	if (rc != -1)
		run_note(r, "zone %s, primary %s port %u", r->target->zone,
		         r->target->server, dc->port);
	if (rc != 0) {
		run_fail(r, "%s", d->error);
		return -1;
	}
	r->have_state = 1;
	/* d again: a second diag in this frame would deepen every worker's
	 * stack (resident memory) by its size */
	if (plan_wildcards(r, d) == -1 || plan_wildcard_shadow(r) == -1)
		return -1;
	/* before the wildcard MX: a real CNAME makes the domain exist, and
	 * its message is the one that applies */
	if (r->state.sts_cname != NULL) {
		run_fail(r,
		         "_mta-sts.%s is a CNAME to %s (RFC 8461 section "
		         "8.2 delegation): the record is managed there, "
		         "so it is left alone; remove the CNAME to manage "
		         "it here, or remove the domain from the "
		         "configuration if the delegation is intended",
		         dc->name, r->state.sts_cname);
		return -1;
	}
	return plan_wildcard_domain(r);
}

/* Find the zone and primary, and read the records as the primary holds
 * them. Its diag is on the heap: the reads below it are a worker's
 * deepest frames, and the deepest pages of a worker's stack stay
 * resident for the whole run. */
static int
plan_read_dns(struct domain_run *r)
{
	struct diag *d = diag_new();
	int rc = plan_read_dns_into(r, d);

	free(d);
	return rc;
}

/*
 * Whether r manages its _smtp._tls record. Not when that name is a CNAME
 * (TLS-RPT handed to another name, e.g. a reporting service's): no TXT
 * record can stand beside it, and the domain's policy and id are still
 * managed. Said as a warning when the domain's own block sets tls-rpt,
 * and only with -v when it comes from the options.
 */
static int
plan_tlsrpt(struct domain_run *r)
{
	const struct domain_conf *dc = r->dc;
	const char *cname = r->state.tlsrpt_cname;

	if (!dc->has_tls_rpt)
		return 0;
	if (cname == NULL)
		return 1;
	if (dc->tls_rpt_options)
		run_note(r,
		         "_smtp._tls.%s is a CNAME to %s: TLS-RPT is "
		         "handed there, the record is left alone",
		         dc->name, cname);
	else
		run_warn(r,
		         "_smtp._tls.%s is a CNAME to %s: a TXT record "
		         "cannot stand beside it, so this domain's tls-rpt "
		         "is not published; remove one or the other",
		         dc->name, cname);
	return 0;
}

/*
 * Several records of one kind at a name make senders take none of them
 * (RFC 8461 section 3.1, RFC 8460 section 3): the UPDATE removes all but
 * the new one, and the operator is told, since someone put them there.
 * Near misses ("v=STSv1 id=x") count: some senders count them, and they
 * go too.
 */
static void
plan_duplicates(struct domain_run *r, const struct dns_txtset *s,
                const char *label, const char *prefix, const char *rfc)
{
	size_t n = dns_txtset_count(s, prefix);

	if (n > 1)
		run_warn(r,
		         "%s.%s holds %zu records that begin with %s, and "
		         "senders that count more than one take none (%s): "
		         "the update removes all but the new one",
		         label, r->dc->name, n, prefix, rfc);
}

/* Does c change the record of one of its names (sts: _mta-sts, else
 * _smtp._tls); with value_only, other than by its TTL? */
static int
record_needed(const struct dns_change *c, int sts, int value_only)
{
	struct dns_change one = *c;

	if (sts)
		one.tlsrpt_text = NULL;
	else
		one.sts_text = NULL;
	if (value_only)
		one.ttl_set = 0;
	return dns_change_needed(&one);
}

/* What happens to a record, for -v. */
static const char *
record_note(int needed, int value_needed)
{
	return !needed        ? "up to date"
	       : value_needed ? "to update"
	                      : "to update (its TTL only)";
}

/* Work out which records change. */
static int
plan_records(struct domain_run *r)
{
	int tlsrpt = plan_tlsrpt(r);

	buf_init(&r->sts_text, TXT_RECORD_MAX);
	buf_init(&r->tlsrpt_text, TXT_RECORD_MAX);
	if (sts_record_format(r->id, &r->sts_text) == -1 ||
	    (tlsrpt &&
	     tlsrpt_record_format(&r->dc->tls_rpt, &r->tlsrpt_text) == -1)) {
		run_fail(r, "TXT record longer than %u bytes", TXT_RECORD_MAX);
		return -1;
	}
	r->change.domain = r->dc->name;
	r->change.sts_text = r->sts_text.data;
	r->change.tlsrpt_text = tlsrpt ? r->tlsrpt_text.data : NULL;
	r->change.ttl = r->dc->ttl;
	r->change.ttl_set = r->dc->has_ttl;
	r->change.state = &r->state;
	r->sts_needed = record_needed(&r->change, 1, 0);
	r->id_needed = record_needed(&r->change, 1, 1);
	r->tlsrpt_needed = tlsrpt && record_needed(&r->change, 0, 0);
	r->tlsrpt_value_needed = tlsrpt && record_needed(&r->change, 0, 1);
	r->dns_needed = r->sts_needed || r->tlsrpt_needed;
	plan_duplicates(r, &r->state.sts, "_mta-sts", STS_RECORD_VERSION,
	                "RFC 8461 section 3.1");
	if (tlsrpt)
		plan_duplicates(r, &r->state.tlsrpt, "_smtp._tls",
		                TLSRPT_RECORD_VERSION, "RFC 8460 section 3");
	run_note(r, "_mta-sts TXT %s, _smtp._tls TXT %s",
	         record_note(r->sts_needed, r->id_needed),
	         tlsrpt ? record_note(r->tlsrpt_needed, r->tlsrpt_value_needed)
	                : "not managed");
	return 0;
}

/* qsort order of host names: ASCII, case aside. */
static int
host_cmp(const void *a, const void *b)
{
	return ascii_casecmp(*(const char *const *)a, *(const char *const *)b);
}

/* The name whose MX senders use for r's domain: the end of its CNAME
 * chain, or the domain itself. */
static const char *
mx_host(const struct domain_run *r)
{
	return r->state.mx_owner != NULL ? r->state.mx_owner : r->dc->name;
}

/*
 * Append the mail hosts of r's domain that no mx pattern of its new
 * policy matches to missing: its MX hosts, or with none the domain itself
 * (RFC 5321 section 5.1: the implicit MX). In name order, each once:
 * servers rotate an RRset, and the same refusal must read the same at
 * every run. Returns how many.
 */
static size_t
mx_uncovered(const struct domain_run *r, struct buf *missing)
{
	const struct strlist *mx = &r->state.mx;
	const char **v = xcalloc(mx->n ? mx->n : 1, sizeof(*v));
	size_t n = 0, k = 0;

	if (mx->n == 0 && !policy_covers(r->policy, mx_host(r))) {
		buf_puts(missing, mx_host(r));
		k = 1;
	}
	for (size_t i = 0; i < mx->n; i++)
		if (!policy_covers(r->policy, mx->v[i]))
			v[n++] = mx->v[i];
	qsort(v, n, sizeof(*v), host_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || ascii_casecmp(v[i], v[i - 1]) != 0) {
			buf_printf(missing, "%s%s", k ? ", " : "", v[i]);
			k++;
		}
	free(v);
	return k;
}

/* Append the mx patterns of policy p to out, as the policy lists
 * them. */
static void
mx_patterns(const struct policy *p, struct buf *out)
{
	for (size_t i = 0; i < p->nmx; i++)
		buf_printf(out, "%s%s", i ? ", " : "", p->mx[i]);
}

/* Refuse (mx-check enforce) or warn about the n hosts in missing: which,
 * what the policy allows instead, and what publishing anyway would do.
 * With publishing clear, the policy is the live one (its file and id
 * are in place): nothing is refused, as nothing is published, and the
 * warning says what senders do now. */
static int
mx_gate_verdict(struct domain_run *r, const char *missing, size_t n,
                int publishing)
{
	const char *which = publishing ? "new" : "published";
	struct buf what;
	int rc = 0;

	buf_init(&what, 8192);
	if (r->state.mx.n == 0 && r->state.mx_owner != NULL)
		buf_printf(&what,
		           "%s is a CNAME to %s, which has no MX records, so "
		           "senders deliver to %s itself (RFC 5321 section "
		           "5.1), which no mx pattern of the %s policy matches",
		           r->dc->name, r->state.mx_owner, r->state.mx_owner,
		           which);
	else if (r->state.mx.n == 0)
		buf_printf(&what,
		           "%s has no MX records, so senders deliver to the "
		           "domain itself (RFC 5321 section 5.1), which no mx "
		           "pattern of the %s policy matches",
		           r->dc->name, which);
	else
		buf_printf(&what,
		           "MX %s not matched by any mx pattern of the %s "
		           "policy",
		           missing, which);
	buf_puts(&what, " (it allows ");
	mx_patterns(r->policy, &what);
	buf_puts(&what, ")");
	if (!publishing) {
		buf_puts(&what, ": senders enforcing it do not deliver there "
		                "(RFC 8461 section 4.1); fix the MX records or "
		                "the policy");
		strlist_add(&r->alerts, what.data);
	} else if (r->dc->mx_check == MX_CHECK_ENFORCE) {
		run_fail(r,
		         "%s: refusing to publish mode enforce (RFC 8461 "
		         "section 4.1); fix the MX records or the policy; "
		         "mx-check warn would publish it anyway, and senders "
		         "enforcing it would refuse mail to %s",
		         what.data,
		         r->state.mx.n == 0 ? "the domain"
		         : n == 1           ? "this host"
		                            : "these hosts");
		rc = -1;
	} else {
		buf_puts(&what, ": senders enforcing the policy will not "
		                "deliver there (RFC 8461 section 4.1)");
		strlist_add(&r->alerts, what.data);
	}
	buf_free(&what);
	return rc;
}

/* Add an alert to r: a warning said with -q too (log_alert()). */
static void __attribute__((format(printf, 2, 3)))
run_alert(struct domain_run *r, const char *fmt, ...)
{
	char msg[RUN_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	text_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	strlist_add(&r->alerts, msg);
}

/* Append to what why r's MX could not be read (dns_state.mx_unread_why),
 * and to fix what to do about it. Returns whether the cause can be fixed
 * in the zone (a loop, a name that does not exist, a chain too long),
 * not only checked by hand (a target outside the primary's zones). */
static int
mx_unread_cause(const struct domain_run *r, struct buf *what, struct buf *fix)
{
	const struct dns_state *st = &r->state;
	const char *to = st->mx_unread;

	if (st->mx_unread_why == DNS_MX_LOOP) {
		buf_printf(what, "a CNAME loop at %s (%s)", to, st->mx_chain);
		buf_puts(fix, "fix the zone");
		return 1;
	}
	buf_printf(what, "%s is a CNAME to %s, ", r->dc->name,
	           st->domain_cname);
	if (st->mx_unread_why == DNS_MX_NXDOMAIN) {
		if (strcmp(to, st->domain_cname) == 0)
			buf_puts(what, "which");
		else
			buf_printf(what, "and %s, the end of its chain,", to);
		buf_puts(what, " does not exist (NXDOMAIN), so senders find "
		               "no host to deliver to");
		buf_puts(fix, "fix the CNAME or add the name");
		return 1;
	}
	if (st->mx_unread_why == DNS_MX_LONG) {
		buf_printf(what, "and its chain does not end within %d links",
		           DNS_CNAME_CHAIN_MAX);
		buf_puts(fix, "shorten the chain");
		return 1;
	}
	buf_printf(what,
	           "and the primary's answer holds neither the MX records of "
	           "%s nor the proof that it has none (a name outside its "
	           "zones)",
	           to);
	buf_printf(fix,
	           "senders follow the CNAME (RFC 5321 section 5.1): check "
	           "that an mx pattern matches each MX host of %s (dig MX %s)",
	           to, to);
	return 0;
}

/*
 * Say that r's MX could not be checked against its policy in mode
 * enforce (new when publishing, else live): its domain is a CNAME whose
 * chain the primary's answer does not follow to MX records or to the
 * proof that there are none, and senders follow it (RFC 5321 section
 * 5.1) to MX that are not guessed at here. mx-check enforce fails closed
 * (DESIGN 2.6): a new policy is refused, and a live one is warned of at
 * every run, as an uncovered MX is, until the operator fixes the cause
 * or accepts it with mx-check warn; under warn a new policy is published
 * with the warning, and a live one is only noted (-v): the operator
 * chose it. Returns -1 when refused.
 */
static int
mx_unjudged(struct domain_run *r, int publishing)
{
	int enforce = r->dc->mx_check == MX_CHECK_ENFORCE, fixable, rc = 0;
	struct buf what, fix;

	buf_init(&what, 4096);
	buf_init(&fix, 1024);
	fixable = mx_unread_cause(r, &what, &fix);
	if (enforce && publishing) {
		run_fail(r,
		         "MX not checked against the new policy: %s: refusing "
		         "to publish mode enforce unchecked (RFC 8461 section "
		         "4.1); %s%s set mx-check warn for %s to publish it "
		         "unchecked",
		         what.data, fix.data, fixable ? ", or" : ", then",
		         r->dc->name);
		rc = -1;
	} else if (enforce) {
		buf_printf(&what,
		           "; %s%s set mx-check warn for %s to accept it (then "
		           "said with -v only)",
		           fix.data, fixable ? ", or" : ", then", r->dc->name);
		run_alert(r, "MX not checked against the published policy: %s",
		          what.data);
	} else if (publishing) {
		run_alert(r, "MX not checked against the new policy: %s; %s",
		          what.data, fix.data);
	} else {
		run_note(r,
		         "MX not checked against the published policy "
		         "(mx-check warn): %s",
		         what.data);
	}
	buf_free(&what);
	buf_free(&fix);
	return rc;
}

/*
 * RFC 8461 section 4.1 before publishing mode enforce: every host that
 * senders deliver the domain's mail to must match an mx pattern, or they
 * would refuse the mail. A null MX (RFC 7505: no mail) has none. Checked
 * at every run, with nothing to publish too: an MX added under a live
 * enforce policy is refused by senders from then on, and the MX records
 * were read with the TXT records (no query more).
 */
static int
plan_mx_gate(struct domain_run *r)
{
	const struct strlist *mx = &r->state.mx;
	int publishing = r->file_differs || r->id_needed;
	struct buf missing;
	size_t n;
	int rc = 0;

	if (r->policy->mode != POLICY_MODE_ENFORCE ||
	    r->dc->mx_check == MX_CHECK_OFF)
		return 0;
	if (r->state.mx_unread != NULL)
		return mx_unjudged(r, publishing);
	if (mx->n == 1 && strcmp(mx->v[0], ".") == 0) {
		if (publishing)
			run_note(r, "null MX: the domain takes no mail, no "
			            "host to check against the policy");
		return 0;
	}
	buf_init(&missing, 4096);
	n = mx_uncovered(r, &missing);
	if (n > 0)
		rc = mx_gate_verdict(r, missing.data, n, publishing);
	buf_free(&missing);
	return rc;
}

/*
 * When r changes (its file, or its records), ask its primary which zone
 * holds each of its two names, and fail r if its UPDATE could not
 * change them (plan_sts_zone(), plan_tlsrpt_zone()): before anything is
 * written for it, the file too, so that a domain that would fail there
 * keeps its last good state. One round trip at most, asked of no domain
 * that has nothing to change: its records are right where they are, and
 * no run with nothing to change waits for it. The SOA of _mta-sts that
 * the primary was asked already (with `server`, by the zone discovery, or
 * as the SOA of a `zone` that is that name) is not asked again
 * (dns_state_zones()): that half of the check rests on the answer of the
 * first read, made before the upstream was fetched, as old as the
 * records the plan rests on; a zone cut made at _mta-sts.<domain> while
 * the upstream was fetched is then seen only after the file was
 * published (by the next run's first read at the latest).
 */
static int
plan_zones(struct domain_run *r)
{
	struct diag d;

	if (!r->file_differs && !r->dns_needed)
		return 0;
	diag_init(&d);
	if (dns_state_zones(r->target, r->dc->name, run_names(r), &r->state,
	                    &d) == -1) {
		run_fail(r, "%s", d.error);
		return -1;
	}
	return plan_sts_zone(r) == -1 || plan_tlsrpt_zone(r) == -1 ? -1 : 0;
}

/* Plan one domain whose DNS state is read and whose upstream arrived;
 * returns 0, or -1 with the failure recorded in r. */
static int
plan_domain(struct domain_run *r)
{
	if (plan_policy(r) == -1 || plan_file(r) == -1 ||
	    plan_records(r) == -1 || plan_mx_gate(r) == -1)
		return -1;
	return plan_zones(r);
}

/* ----------------------------------------------------------- publish */

/* Write the file. */
static int
publish_file(struct domain_run *r)
{
	struct diag d;
	int rc;

	diag_init(&d);
	rc = publish_file_write(&r->file, r->served.data, r->served.len, &d);
	if (rc == -2) /* in place, not flushed: it may be served */
		r->file_written = r->file_new = 1;
	if (rc != 0) {
		run_fail(r, "%s", d.error);
		return -1;
	}
	r->file_written = 1;
	if (r->dir_missing)
		run_note(r,
		         "created directory %s (mode 0755, with those "
		         "missing above it)",
		         r->dir_missing);
	run_note(r, "wrote %s", r->policy_file);
	return 0;
}

/*
 * Run the publish-command, if there is one. `timeout` limits network
 * operations; a command (a git push, an rsync) gets at least
 * PUBLISH_DEFAULT_TIMEOUT seconds.
 */
static int
publish_command(struct domain_run *r)
{
	const struct domain_conf *dc = r->dc;
	unsigned limit = dc->timeout > PUBLISH_DEFAULT_TIMEOUT
	                     ? dc->timeout
	                     : PUBLISH_DEFAULT_TIMEOUT;
	struct diag d;

	diag_init(&d);
	if (dc->publish_cmd.n == 0)
		return 0;
	if (publish_run_command(&dc->publish_cmd, dc->name, r->policy_file,
	                        limit, &d) == -1) {
		run_fail(r, "%s", d.error);
		return -1;
	}
	run_note(r, "publish-command succeeded");
	return 0;
}

/*
 * RFC 8461 section 8.1: the new policy must be served before the id
 * changes. Verify whenever the file or the id changes.
 */
static int
publish_confirm(struct domain_run *r)
{
	const struct domain_conf *dc = r->dc;
	struct verify_hints h = {r->policy_file, NULL, dc->publish_cmd.n > 0};
	struct sts_record live, one;
	struct diag d;
	int rc, n = 0;

	if (!dc->verify) {
		run_note(r, "verify no: not checking %s", r->verify_url);
		return 0;
	}
	diag_init(&d);
	run_note(r, "verifying %s", r->verify_url);
	/* the live id, if one record holds one: the policy it names may be
	 * what a web server serving another directory serves */
	for (size_t i = 0; i < r->state.sts.text.n; i++)
		if (live_sts_record(r, i, &one) && n++ == 0)
			live = one;
	h.live_id = n == 1 ? live.id : NULL;
	/* the file as this run found it, if it replaced it */
	rc = publish_verify(
	    r->verify_url, &r->opts, r->served.data, r->served.len,
	    r->file_exists && r->file_differs ? r->published.data : NULL,
	    r->published.len, dc->verify_timeout, &h, &d);
	if (rc == -1) {
		run_fail(r, "new policy not served: %s", d.error);
		return -1;
	}
	run_note(r, "%s serves the new policy%s", r->verify_url,
	         rc == VERIFY_SAME_POLICY
	             ? ", in other bytes than the file's (line ends or "
	               "field order changed on the way)"
	             : "");
	return 0;
}

/* Serve the other form of r's policy: the id and the records that
 * follow from it change with it. */
static void
switch_form(struct domain_run *r)
{
	int old_live = live_sts_id_is(r, r->id);

	forms_swap(r);
	/* the id is at most POLICY_ID_MAX alphanumerics: it fits */
	(void)sts_record_format(r->id, &r->sts_text);
	r->change.sts_text = r->sts_text.data;
	r->sts_needed = record_needed(&r->change, 1, 0);
	r->id_needed = record_needed(&r->change, 1, 1);
	r->dns_needed = r->sts_needed || r->tlsrpt_needed;
	r->id_toggle = old_live && r->id_needed ? TOGGLE_FORM : TOGGLE_NONE;
}

/*
 * After r's publish-command: a command that rewrites the file's line
 * ends (dos2unix, a git checkout with eol=lf) leaves the other form of
 * the policy there, which the next run would follow with the id. Follow
 * it now, for the verify and the UPDATE (one id change instead of two).
 * Not when this run changes the id only because the file held another
 * policy under the live one (a revert): the converted form's id is that
 * live id, under which senders may have cached the other policy, so the
 * domain fails, with the fix. A file changed into anything else is left
 * to the verify. Returns 0, or -1 with the failure recorded.
 */
static int
follow_command_form(struct domain_run *r)
{
	const char *ends = r->alternate ? "CRLF" : "LF";
	struct buf now;
	struct diag d;
	int rc = 0;

	if (r->dc->publish_cmd.n == 0 || r->other_id[0] == '\0')
		return 0;
	diag_init(&d);
	buf_init(&now, POLICY_MAX_SIZE);
	/* walked anew: the command may have replaced the directory too */
	if (publish_read(r->policy_file, &now, &d) == 1 &&
	    now.len == r->other.len &&
	    memcmp(now.data, r->other.data, now.len) == 0) {
		if (r->id_toggle == TOGGLE_REVERT &&
		    live_sts_id_is(r, r->other_id)) {
			run_fail(r, ID_COMMAND_REVERT, r->policy_file, ends,
			         r->other_id);
			rc = -1;
		} else {
			switch_form(r);
			run_note(r, ID_COMMAND_FORM_NOTE, r->policy_file, ends,
			         r->id);
		}
	}
	buf_free(&now);
	return rc;
}

/*
 * Publish r's file if it differs, and confirm it is served before the id
 * changes. The publish-command also runs when the file is already in
 * place but the id is not: a run that failed or was killed after writing
 * the file may not have deployed it everywhere (a command that copies it
 * to several web servers, one of which failed, leaves a URL that serves
 * it from some of them only, which one fetch cannot tell), and the next
 * run must finish the job. So a command must succeed when it has nothing
 * new to do (mta-sts-sync.conf(5)).
 */
static int
publish_domain(struct domain_run *r)
{
	if (r->file_differs && publish_file(r) == -1)
		return -1;
	if (!r->file_differs && !r->id_needed)
		return 0;
	r->file_new = 1;
	if (publish_command(r) == -1 || follow_command_form(r) == -1)
		return -1;
	return publish_confirm(r);
}

/* --------------------------------------------------------------- DNS */

/* A dry run's UPDATE text for one zone, printed at the end by zone. */
struct dry_update {
	char *zone;
	char *server;
	char *text;
};

static int
dry_update_cmp(const void *a, const void *b)
{
	const struct dry_update *x = a, *y = b;
	int c = strcmp(x->zone, y->zone);

	return c != 0 ? c : strcmp(x->server, y->server);
}

/* After r's update c: warn if the primary keeps the records with another
 * TTL than the ttl configured (BIND lowers a TTL above the zone's
 * max-zone-ttl, which dnssec-policy also sets). */
static void
update_ttl_check(struct domain_run *r, const struct dns_change *c)
{
	const struct dns_txtset *s = &c->state->sts;

	if (!dns_change_needed(c))
		return;
	if (c->sts_text == NULL || s->ttl == c->ttl)
		s = &c->state->tlsrpt;
	run_warn(r,
	         "the primary keeps the records with TTL %lu, not the ttl "
	         "%lu configured (BIND lowers TTLs above the zone's "
	         "max-zone-ttl, which dnssec-policy also sets): set ttl to "
	         "at most %lu, or every run updates them again",
	         (unsigned long)s->ttl, (unsigned long)c->ttl,
	         (unsigned long)s->ttl);
}

/* The changes of a zone group being sent, and whose they are. */
struct zone_send {
	struct dns_change *changes;
	struct domain_run **who;
	const char *zone;
	/* the UPDATE denied whose changes are being sent alone: its first
	 * change (SIZE_MAX: none yet), how many of them were accepted, and
	 * the UPDATEs they took, the denied one included */
	size_t alone_first, alone_ok;
	unsigned alone_sent;
	char alone_where[DNS_WHERE_MAX]; /* the server that took them */
};

/* The words for the result r of an UPDATE (info: how it went) for the
 * change c, in a -v line: a refusal or failure names what the server
 * answered, its rcode (and TSIG error), as the error does; one accepted
 * whose records read back held someone's edit beside ours says what was
 * done about it (DNS_CONTENDED_LATE). */
static const char *
update_result_words(enum dns_update_result r,
                    const struct dns_update_info *info,
                    const struct dns_change *c)
{
	if (info->reply_lost)
		return "no reply";
	if (c->contended == DNS_CONTENDED_LATE && c->undo_rcode == 0)
		return "accepted, then the records we added deleted again by "
		       "one more UPDATE: someone's stood beside them";
	if (c->contended == DNS_CONTENDED_LATE &&
	    c->undo_rcode == DNS_UNDO_OPEN)
		return "accepted, then no reply we trust came to the UPDATE "
		       "deleting the records we added again: someone's stood "
		       "beside them";
	if (c->contended == DNS_CONTENDED_LATE)
		return "accepted, then deleting the records we added again "
		       "failed: someone's stood beside them";
	if (r == DNS_UPDATE_OK)
		return "accepted";
	if (r == DNS_UPDATE_CONFLICT || r == DNS_UPDATE_MISJUDGED)
		return "refused by its prerequisites";
	if (strcmp(info->answer, "NOERROR") == 0)
		return "accepted (NOERROR), but not confirmed";
	return info->answer[0] != '\0' ? info->answer : "failed";
}

/* Did someone change the records of a domain of the UPDATE that info
 * says was denied? Those are not sent again. */
static int
denied_contended(const struct zone_send *s, const struct dns_update_info *info)
{
	for (size_t i = 0; i < info->denied_n; i++)
		if (s->changes[info->denied_first + i].contended)
			return 1;
	return 0;
}

/* The first domain of s that the UPDATE info says was denied carried:
 * the first of its domains but those the gate held back, which are
 * reported without a word about it, and those someone changed (before
 * the refusal: left out of that UPDATE, and told they are not sent
 * again; or at their own UPDATE after it, and then told that). */
static size_t
denied_head(const struct zone_send *s, const struct dns_update_info *info)
{
	size_t j = info->denied_first;

	while (j + 1 < info->denied_first + info->denied_n &&
	       (s->changes[j].withheld || s->changes[j].contended))
		j++;
	return j;
}

/* Is domain i of s the first of the UPDATE that info says was denied
 * to be told of that (denied_head())? */
static int
denied_lead(const struct zone_send *s, size_t i,
            const struct dns_update_info *info)
{
	return i == denied_head(s, info);
}

/* The -v lines of domain i of s about the refusal of the UPDATE that
 * carried it with others (info): each is sent again alone, but one
 * whose records someone changed meanwhile. */
static void
denied_notes(const struct zone_send *s, size_t i,
             const struct dns_update_info *info)
{
	struct domain_run *who = s->who[i];

	if (denied_lead(s, i, info))
		run_note(who,
		         "the UPDATE of zone %s carrying %zu domains was "
		         "refused: %s; each domain%s is sent again in an "
		         "UPDATE of its own",
		         s->zone, info->denied_carried, info->denied_reason,
		         denied_contended(s, info)
		             ? " whose records no one changed meanwhile"
		             : "");
	else if (s->changes[i].contended && info->sent == 0)
		/* contended before the refusal; one contended after its own
		 * resend was sent again (the line below) */
		run_note(who,
		         "not sent again: the UPDATE of zone %s carrying %zu "
		         "domains was refused (%s), and someone changed the "
		         "records of this domain meanwhile",
		         s->zone, info->denied_carried, info->denied_rcode);
	else
		run_note(who,
		         "sent again in an UPDATE of its own: the UPDATE of "
		         "zone %s carrying %zu domains was refused (%s)",
		         s->zone, info->denied_carried, info->denied_rcode);
}

/* The -v line of domain i of s about the read back after its UPDATE
 * (result r), if any: after a lost reply, whether it shows the UPDATE
 * applied. */
static void
read_back_note(const struct zone_send *s, size_t i, enum dns_update_result r,
               const struct dns_update_info *info)
{
	struct domain_run *who = s->who[i];

	if (info->reply_lost && info->read_back)
		run_note(who,
		         "the reply to the UPDATE was lost (the connection "
		         "ended before it came), and the records read back "
		         "from %s hold exactly what it leaves: it was applied",
		         info->where);
	else if (info->reply_lost && r != DNS_UPDATE_OK)
		run_note(who,
		         "the reply to the UPDATE was lost (the connection "
		         "ended before it came), and reading the records back "
		         "from %s did not show it applied: it is not known to "
		         "be (the server may still apply it), so it is not "
		         "sent again",
		         info->where);
	else if (info->read_back)
		run_note(who,
		         "read back from %s: the records hold what was sent",
		         info->where);
}

/* The -v lines of domain i of s about its UPDATE (result r): after
 * which refusal it went alone, where it went under which key, with how
 * many other domains, and the read back. */
static void
update_notes(const struct zone_send *s, size_t i, enum dns_update_result r,
             const struct dns_update_info *info)
{
	struct domain_run *who = s->who[i];
	char doms[64];

	if (info->denied_n > 0)
		denied_notes(s, i, info);
	if (info->sent == 0)
		return;
	if (info->carried == 1)
		str_copy(doms, sizeof(doms), "this domain alone");
	else
		snprintf(doms, sizeof(doms), "%zu domains", info->carried);
	run_note(who, "UPDATE of zone %s (%s) sent to %s, %s%s: %s%s", s->zone,
	         doms, info->where,
	         info->key != NULL ? "signed with TSIG key " : "unsigned",
	         info->key != NULL ? info->key : "",
	         update_result_words(r, info, &s->changes[i]),
	         info->sent - info->undone > 1
	             ? " (sent twice: records changed between our read and "
	               "our first UPDATE)"
	             : "");
	read_back_note(s, i, r, info);
}

/*
 * After the report of changes sent alone because the UPDATE carrying
 * them together was denied: once every one of them was accepted alone,
 * warn (in the first of them) that the server's grants take the zone's
 * domains only one at a time, and what that costs. A refusal some domain
 * meets alone too is its missing grant, which its error tells. Changes
 * sent alone because the server misjudged the prerequisites of their
 * UPDATE (DNS_UPDATE_MISJUDGED) tell nothing of the grants.
 */
static void
alone_check(struct zone_send *s, size_t n, enum dns_update_result r,
            const struct dns_update_info *info)
{
	if (info->denied_n == 0 || info->denied_misjudged)
		return;
	if (info->denied_first != s->alone_first) {
		s->alone_first = info->denied_first;
		s->alone_ok = 0;
		s->alone_sent = info->denied_sent; /* the denied one(s) */
	}
	s->alone_sent += info->sent;
	if (info->where[0] != '\0')
		str_copy(s->alone_where, sizeof(s->alone_where), info->where);
	if (r == DNS_UPDATE_OK)
		s->alone_ok += n;
	if (s->alone_ok < info->denied_carried)
		return;
	run_warn(s->who[denied_head(s, info)],
	         "%s refused the UPDATE of zone %s carrying this domain and "
	         "%zu other%s (%s), then accepted each of them alone: no one "
	         "grant of key %s covers all their names (Knot allows an "
	         "UPDATE only when one acl allows all of it), so they took "
	         "%u UPDATEs instead of 1; grant a zone's names to the key "
	         "in one rule, as `mta-sts-sync server-config` prints them "
	         "for domains with a zone setting, and print them again "
	         "after domains are added or moved (a zone of more than "
	         "about 1000 domains has its Knot acl in parts, in "
	         "configuration order, and each UPDATE stays within one)",
	         s->alone_where, s->zone, info->denied_carried - 1,
	         info->denied_carried == 2 ? "" : "s", info->denied_rcode,
	         info->key != NULL ? info->key : "(none)", s->alone_sent);
}

/*
 * Does r's policy file still hold the bytes whose id the UPDATE is about
 * to publish: those this run wrote, or found there already (a run that
 * finishes what an earlier one began)? The run's lock is per
 * configuration, so after the verify someone else may have replaced
 * them (another configuration naming the domain, a hand edit, a deploy),
 * and the id would then name a policy the file no longer holds: senders
 * would cache that one under it. The file is found as the plan's read
 * found it, its directory walked anew from / (publish_holds()): the
 * descriptor the publish used is closed when its work ends, since a
 * domain may then wait long for the others of its zone, and thousands
 * of them each holding one would pass the limit on open files. Returns
 * 0, or -1 with the failure recorded. Its diag is on the heap: this is
 * asked deep in an UPDATE's stack, and the deepest pages of a worker's
 * stack stay resident for the whole run.
 */
static int
file_recheck(struct domain_run *r)
{
	const char *how =
	    r->file_written ? "wrote it" : "found it holding the new policy";
	struct diag *d = xmalloc(sizeof(*d));
	int rc;

	diag_init(d);
	rc = publish_holds(r->policy_file, r->served.data, r->served.len, d);
	/* before run_fail(), whose clause says what the file holds */
	r->file_taken = rc == PUBLISH_HOLDS_OTHER || rc == PUBLISH_HOLDS_GONE;
	r->file_unread = rc == -1;
	if (rc == PUBLISH_HOLDS) {
		/* said once: a retry or a send alone asks again */
		if (!r->file_rechecked)
			run_note(r, "%s still holds the policy of id %s",
			         r->policy_file, r->id);
		r->file_rechecked = 1;
	} else if (rc == -1)
		run_fail(r,
		         "cannot check that %s still holds the policy this run "
		         "%s, before the UPDATE that was to publish its id: %s",
		         r->policy_file, r->file_written ? "wrote" : "found",
		         d->error);
	else
		run_fail(r, FILE_TAKEN_ERROR, r->policy_file,
		         rc == PUBLISH_HOLDS_GONE ? "removed" : "changed", how,
		         r->dc->name);
	free(d);
	return rc == PUBLISH_HOLDS ? 0 : -1;
}

/* The dns_update_gate of zone_update(), asked just before an UPDATE
 * carries the change c of one of its domains: a change of the id goes
 * only while the policy file holds what it names (file_recheck()). */
static int
update_gate(void *arg, const struct dns_change *c)
{
	struct zone_send *s = arg;
	struct domain_run *r = s->who[c - s->changes];

	return r->id_needed ? file_recheck(r) : 0;
}

/* Note in who what the failed UPDATE (its result r, its change c) left
 * for fail_state(): it may have been applied, or so may the UPDATE that
 * deleted ours beside someone's edit; or that one failed, and our new
 * _mta-sts record stands beside theirs. */
static void
update_left(struct domain_run *who, enum dns_update_result r,
            const struct dns_change *c)
{
	int late = c->contended == DNS_CONTENDED_LATE && c->undo_rcode != 0;

	who->update_open =
	    r == DNS_UPDATE_UNKNOWN || (late && c->undo_rcode == DNS_UNDO_OPEN);
	who->id_beside = late && (c->contended_names & DNS_NAME_STS);
}

/* Does warning w of an UPDATE (how it went: info) concern the change c:
 * that the TTL was not read again, only a change marked ttl_unread; any
 * other, every change of the UPDATE? (A TTL kept at its names is told by
 * the change itself: ttl_kept_warn().) */
static int
warn_concerns(const struct dns_update_info *info, size_t w,
              const struct dns_change *c)
{
	return w + 1 != info->unread_warn || c->ttl_unread;
}

/* Warn who of each TTL that someone changed at the names of its change
 * c, which the UPDATE kept: one warning per name, however many domains
 * the UPDATE carried. */
static void
ttl_kept_warn(struct domain_run *who, const struct dns_change *c)
{
	char w[DIAG_WARN_MAX];

	for (int k = 0; k < 2; k++)
		if (dns_change_ttl_kept(c, k, w, sizeof(w)))
			run_warn(who, "%s", w);
}

/* Record the outcome of one UPDATE (a dns_update_report) in the domains
 * whose changes first .. first + n - 1 it carried. */
static void
zone_report(void *arg, size_t first, size_t n, enum dns_update_result r,
            const struct diag *d, const struct dns_update_info *info)
{
	struct zone_send *s = arg;

	for (size_t i = first; i < first + n; i++) {
		struct domain_run *who = s->who[i];

		if (r == DNS_UPDATE_WITHHELD)
			continue; /* update_gate() recorded why */
		update_notes(s, i, r, info);
		/* a failed domain gets its warnings too */
		ttl_kept_warn(who, &s->changes[i]);
		for (size_t w = 0; w < d->nwarn; w++)
			if (warn_concerns(info, w, &s->changes[i]))
				run_warn(who, "%s", d->warn[w]);
		/* a server may have applied only part of it */
		if (r != DNS_UPDATE_OK && !s->changes[i].confirmed) {
			update_left(who, r, &s->changes[i]);
			run_fail(who, "%s", d->error);
			continue;
		}
		who->dns_updated = 1;
		update_ttl_check(who, &s->changes[i]);
	}
	alone_check(s, n, r, info);
}

/* The -v line of each of the m domains of s, sent in `sent` UPDATEs
 * (whatever their answers, which the lines before tell), but those held
 * back before any (update_gate()): a zone whose domains use several keys
 * (or primaries) takes the UPDATEs of each apart, so the line names the
 * key. */
static void
zone_sent_notes(const struct zone_send *s, size_t m, unsigned sent)
{
	const struct tsig_key *key = s->who[0]->target->key;
	size_t k = m;

	for (size_t i = 0; i < m; i++)
		k -= s->changes[i].withheld != 0;
	for (size_t i = 0; i < m; i++)
		if (!s->changes[i].withheld)
			run_note(s->who[i],
			         "zone %s: %u UPDATE%s sent for %zu %s%s%s",
			         s->zone, sent, sent == 1 ? "" : "s", k,
			         k == 1 ? "domain" : "domains",
			         key != NULL ? " signed with TSIG key "
			                     : ", unsigned",
			         key != NULL ? key->name : "");
}

/* A member of a zone group in sending order: by the part of the Knot
 * acl that grants its names, then by run index. */
struct send_key {
	unsigned part;
	size_t index;
};

/* qsort order of send keys. */
static int
send_key_cmp(const void *a, const void *b)
{
	const struct send_key *x = a, *y = b;

	if (x->part != y->part)
		return x->part < y->part ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Send the changes of every member of g that needs one (or, in a dry
 * run, write them into *text): one UPDATE, or several when they do not
 * fit in one message or are refused together (dns_update_zone()); and
 * record the outcome in each. Every member's work is done when this runs.
 * The changes go by acl part, then in run order (configuration order, or
 * that of the domains named on the command line), not in the order the
 * domains were read (which threads make vary), so that the UPDATEs and
 * the messages are the same from run to run, and the domains of one part
 * are together whatever order they were named in (dns_update_fit() ends an
 * UPDATE where the part changes).
 */
static void
zone_update(struct domain_run **runs, const struct zone_group *g, int dry_run,
            struct buf *text)
{
	struct send_key *order = xcalloc(g->n, sizeof(*order));
	struct zone_send s;
	size_t m = 0;
	unsigned sent;

	memset(&s, 0, sizeof(s));
	s.changes = xcalloc(g->n, sizeof(*s.changes));
	s.who = xcalloc(g->n, sizeof(*s.who));
	s.zone = g->zone;
	s.alone_first = SIZE_MAX;
	for (size_t i = 0; i < g->n; i++) {
		order[i].index = g->members[i];
		order[i].part = runs[g->members[i]]->change.acl_part;
	}
	qsort(order, g->n, sizeof(*order), send_key_cmp);
	for (size_t i = 0; i < g->n; i++) {
		struct domain_run *r = runs[order[i].index];

		if (!run_failed(r) && r->dns_needed) {
			s.changes[m] = r->change;
			s.who[m++] = r;
		}
	}
	if (m == 0) {
		/* nothing to send */
	} else if (dry_run) {
		dns_update_text(s.who[0]->target, s.changes, m, text);
	} else {
		sent = dns_update_zone(s.who[0]->target, s.changes, m,
		                       update_gate, zone_report, &s);
		zone_sent_notes(&s, m, sent);
	}
	free(s.changes);
	free(s.who);
	free(order);
}

/* ------------------------------------------------------------ report */

static enum run_status
run_status(const struct domain_run *r, int dry_run)
{
	if (run_failed(r))
		return RUN_FAILED;
	if (r->file_written || r->dns_updated)
		return RUN_CHANGED;
	if (dry_run && r->planned && (r->file_differs || r->dns_needed))
		return RUN_CHANGED;
	return RUN_UNCHANGED;
}

/* Append a record of r that changes to the list out: "LABEL.D TXT", and
 * " (TTL N)" if only its TTL changes. */
static void
run_change_record(const struct domain_run *r, const char *label,
                  int value_changes, struct buf *out)
{
	buf_printf(out, "%s%s.%s TXT", out->len ? ", " : "", label,
	           r->dc->name);
	if (!value_changes)
		buf_printf(out, " (TTL %lu)", (unsigned long)r->change.ttl);
}

/* The list of what changed (or would change) for r, e.g. "FILE,
 * _mta-sts.D TXT, _smtp._tls.D TXT". */
static void
run_changes(const struct domain_run *r, int dry_run, struct buf *out)
{
	int file = dry_run ? r->file_differs : r->file_written;
	int dns = dry_run || r->dns_updated;

	buf_reset(out);
	if (file)
		buf_printf(out, "%s", r->policy_file);
	if (file && dry_run && r->dir_missing)
		buf_printf(out,
		           " (directory %s does not exist: it would be "
		           "created)",
		           r->dir_missing);
	if (dns && r->sts_needed)
		run_change_record(r, "_mta-sts", r->id_needed, out);
	if (dns && r->tlsrpt_needed)
		run_change_record(r, "_smtp._tls", r->tlsrpt_value_needed, out);
}

/* Why r changed (would change) its id although its policy is the same,
 * for its change line, into why (size bytes): empty if it did not. */
static void
id_toggle_why(const struct domain_run *r, int dry_run, char *why, size_t size)
{
	why[0] = '\0';
	if (r->id_toggle == TOGGLE_NONE || !r->id_needed ||
	    !(dry_run || r->dns_updated))
		return;
	if (r->id_toggle == TOGGLE_REVERT)
		str_copy(why, size, ID_TOGGLE_WHY);
	else
		snprintf(why, size, ID_FORM_WHY, r->alternate ? "LF" : "CRLF");
}

/* One line per changed or failed domain; warnings where they matter. */
static void
report_text(const struct domain_run *r, int dry_run)
{
	enum run_status st = run_status(r, dry_run);
	char why[256];
	struct buf what;
	size_t i;

	if (st != RUN_UNCHANGED || log_get_level() >= LOG_LEVEL_VERBOSE)
		for (i = 0; i < r->warnings.n; i++)
			log_warning(r->dc->name, "%s", r->warnings.v[i]);
	for (i = 0; i < r->alerts.n; i++)
		log_alert(r->dc->name, r->alerts.v[i]);
	if (st == RUN_FAILED) {
		log_error(r->dc->name, "%s", r->error);
		return;
	}
	if (st == RUN_UNCHANGED) {
		log_verbose(r->dc->name, "in sync (id=%s)", r->id);
		return;
	}
	buf_init(&what, 8192);
	run_changes(r, dry_run, &what);
	id_toggle_why(r, dry_run, why, sizeof(why));
	if ((dry_run ? r->file_differs : r->file_written) || r->id_needed)
		log_notice(r->dc->name,
		           "%s policy id=%s mode=%s mx=%zu max_age=%lu: %s%s",
		           dry_run ? "would publish" : "published", r->id,
		           policy_mode_name(r->mode), r->nmx, r->max_age,
		           what.data ? what.data : "", why);
	else /* a TLS-RPT record or a TTL only */
		log_notice(r->dc->name, "%s %s (policy id=%s unchanged)",
		           dry_run ? "would update" : "updated",
		           what.data ? what.data : "", r->id);
	buf_free(&what);
}

static void
report_json_domain(struct buf *out, const struct domain_run *r, int dry_run)
{
	static const char *names[] = {"unchanged", "changed", "failed"};
	enum run_status st = run_status(r, dry_run);
	/* what was changed; in a dry run, what would be (nothing, if failed) */
	int file =
	    dry_run ? st != RUN_FAILED && r->file_differs : r->file_written;
	int dns = dry_run ? st != RUN_FAILED && r->dns_needed : r->dns_updated;
	size_t i;

	buf_puts(out, "{\"domain\":");
	json_string(out, r->dc->name);
	buf_printf(out, ",\"status\":\"%s\"", names[st]);
	if (r->planned)
		buf_printf(out,
		           ",\"id\":\"%s\",\"mode\":\"%s\",\"mx\":%zu,"
		           "\"max_age\":%lu",
		           r->id, policy_mode_name(r->mode), r->nmx,
		           r->max_age);
	buf_printf(out, ",\"file_changed\":%s,\"dns_changed\":%s",
	           file ? "true" : "false", dns ? "true" : "false");
	buf_puts(out, ",\"error\":");
	if (st == RUN_FAILED)
		json_string(out, r->error);
	else
		buf_puts(out, "null");
	buf_puts(out, ",\"warnings\":[");
	for (i = 0; i < r->warnings.n; i++) {
		if (i > 0)
			buf_puts(out, ",");
		json_string(out, r->warnings.v[i]);
	}
	for (i = 0; i < r->alerts.n; i++) {
		if (i > 0 || r->warnings.n > 0)
			buf_puts(out, ",");
		json_string(out, r->alerts.v[i]);
	}
	buf_puts(out, "]");
	if (dry_run) {
		buf_puts(out, ",\"diff\":");
		if (r->dry_text.data != NULL)
			json_nstring(out, r->dry_text.data, r->dry_text.len);
		else
			buf_puts(out, "null");
	}
	buf_puts(out, "}");
}

/* Print r as one element of the --json document's domain list. */
static void
json_domain(const struct domain_run *r, int dry_run, int first)
{
	struct buf out;

	buf_init(&out, 1u << 20);
	if (!first)
		buf_puts(&out, ",");
	report_json_domain(&out, r, dry_run);
	log_stdout_puts(out.data);
	buf_free(&out);
}

/* ----------------------------------------------------------- dry run */

/* Write down what a dry run would write for one domain. */
static void
dry_run_diff(struct domain_run *r)
{
	char old_name[4200], new_name[4200];

	if (!r->file_differs)
		return;
	snprintf(old_name, sizeof(old_name), "%s (%s)", r->policy_file,
	         r->file_exists ? "published" : "not published yet");
	snprintf(new_name, sizeof(new_name), "%s (new, id=%s%s)",
	         r->policy_file, r->id, r->alternate ? ", LF line ends" : "");
	buf_init(&r->dry_text, 1u << 20);
	diff_text(r->published.data ? r->published.data : "", r->published.len,
	          r->served.data, r->served.len, old_name, new_name,
	          &r->dry_text);
}

/* ----------------------------------------------------------- the run */

/* Free what r needed only while it was worked on; the report needs only
 * its summary, messages and flags. */
static void
run_release(struct domain_run *r)
{
	policy_free(r->policy);
	r->policy = NULL;
	buf_free(&r->served);
	buf_free(&r->other);
	buf_free(&r->published);
	buf_free(&r->sts_text);
	buf_free(&r->tlsrpt_text);
	if (r->have_state)
		dns_state_free(&r->state);
	r->have_state = 0;
	free(r->target);
	r->target = NULL;
}

static void
run_free(struct domain_run *r)
{
	free(r->error);
	publish_file_close(&r->file);
	free(r->policy_file);
	free(r->dir_missing);
	free(r->verify_url);
	strlist_free(&r->warnings);
	strlist_free(&r->alerts);
	buf_free(&r->notes);
	buf_free(&r->dry_text);
	run_release(r);
	free(r);
}

/* Print the -v lines kept for r, one log line each. */
static void
run_print_notes(const struct domain_run *r)
{
	const char *p = r->notes.data, *nl;

	while (p != NULL && (nl = strchr(p, '\n')) != NULL) {
		log_verbose(r->dc->name, "%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

/*
 * One run over many domains. `jobs` worker threads take, under the lock,
 * either a domain whose upstream has arrived (its work: plan, publish,
 * verify) or, while fewer than `window` domains are between their read
 * and the end of their work, the next domain to read (zone, primary,
 * records). The upstreams are fetched meanwhile in a thread of their
 * own; a slow one holds up only the domains following it. The tracker
 * (zonetrack.h) says when a zone's UPDATE may go, and the thread that
 * finished the last piece sends it. The calling thread prints each
 * domain's result, in configuration order, as soon as it and every
 * earlier domain are finished, and frees it: the memory of a run is
 * bounded by the window, not by the number of domains. A dry run's text
 * output puts the UPDATEs after every file diff and before the results:
 * each diff is printed as its domain finishes, and the domains and the
 * UPDATE texts are kept until the end (with --json, only the UPDATEs).
 */
struct sync_state {
	const struct conf *conf;
	const size_t *sel; /* per domain: its index in conf; NULL: all */
	size_t n;
	const struct cmd_opts *o;
	unsigned jobs;
	size_t window;
	struct domain_run **runs;  /* from a domain's read until reported */
	struct fetch_job *fetches; /* the distinct upstreams */
	struct fetch_opts *fetch_opts;
	struct strlist *fetch_resolve; /* per fetch: fetch_opts' resolve */
	size_t *fetch_owner;    /* per fetch: the first domain following it */
	unsigned char *arrived; /* per fetch */
	size_t nfetches;
	uint32_t *fetch_of; /* per domain: its fetch, or NO_FETCH */
	unsigned *acl_part; /* per domain of conf: knot_acl_parts() */
	struct zonetrack *zt;
	struct dry_update *dry; /* a dry run's UPDATE texts */
	size_t ndry;
	pthread_mutex_t lock;     /* guards everything below and above */
	pthread_cond_t work_cv;   /* something for a worker to take */
	pthread_cond_t report_cv; /* a domain finished */
	uint32_t *ready;          /* domains whose upstream arrived */
	size_t pushed, taken;     /* into and out of ready */
	size_t next_read, active, reported;
	size_t changed, failed; /* counted as reported */
};

/* The index in the configuration of the run's domain i. */
static size_t
conf_index(const struct sync_state *s, size_t i)
{
	return s->sel != NULL ? s->sel[i] : i;
}

/* The name of the run's domain i, for the zone tracker (arg: the run). */
static const char *
run_domain_name(const void *arg, size_t i)
{
	const struct sync_state *s = arg;

	return conf_domain_name(s->conf, conf_index(s, i));
}

/* Domain i may go on to its work. Called with s->lock held. */
static void
state_push(struct sync_state *s, size_t i)
{
	s->runs[i]->queued = 1;
	s->ready[s->pushed++] = (uint32_t)i;
	pthread_cond_signal(&s->work_cv);
}

/* Domain i is finished: its result may be printed. Called with the lock
 * held. */
static void
state_finish(struct sync_state *s, size_t i)
{
	s->runs[i]->finished = 1;
	pthread_cond_signal(&s->report_cv);
}

/* fetch_job callback: the domains read and following job may go on. */
static void
upstream_arrived(struct fetch_job *job, void *arg)
{
	struct sync_state *s = arg;
	size_t j = (size_t)(job - s->fetches), i;

	pthread_mutex_lock(&s->lock);
	s->arrived[j] = 1;
	for (i = s->reported; i < s->next_read; i++)
		if (s->fetch_of[i] == j && s->runs[i]->read_done &&
		    !s->runs[i]->queued)
			state_push(s, i);
	pthread_mutex_unlock(&s->lock);
}

/* The fetch options of domain conf dc. */
static struct fetch_opts
fetch_opts_of(const struct domain_conf *dc)
{
	struct fetch_opts o;

	memset(&o, 0, sizeof(o));
	o.ca_file = dc->ca_file;
	o.resolve = &dc->resolve;
	o.timeout = dc->timeout;
	o.timeout_setting = "timeout";
	return o;
}

/* Does fetch j make the request of url with options o? */
static int
fetch_same(const struct sync_state *s, size_t j, const char *url,
           const struct fetch_opts *o)
{
	struct fetch_opts oj = s->fetch_opts[j];

	oj.resolve = &s->fetch_resolve[j];
	return fetch_same_request(s->fetches[j].url, &oj, url, o);
}

/* Add a fetch job for domain i's upstream, with options o. */
static void
fetch_add(struct sync_state *s, size_t i, const char *url,
          const struct fetch_opts *o)
{
	size_t nj = s->nfetches;

	s->fetches = xreallocarray(s->fetches, nj + 1, sizeof(*s->fetches));
	s->fetch_opts =
	    xreallocarray(s->fetch_opts, nj + 1, sizeof(*s->fetch_opts));
	s->fetch_resolve =
	    xreallocarray(s->fetch_resolve, nj + 1, sizeof(*s->fetch_resolve));
	s->fetch_owner =
	    xreallocarray(s->fetch_owner, nj + 1, sizeof(*s->fetch_owner));
	memset(&s->fetches[nj], 0, sizeof(*s->fetches));
	s->fetches[nj].url = url;
	s->fetch_opts[nj] = *o;
	s->fetch_resolve[nj] = *o->resolve;
	s->fetch_owner[nj] = i;
	s->nfetches = nj + 1;
}

/* One fetch job per distinct upstream (same URL, same options); set each
 * domain's fetch. */
static void
state_plan_fetches(struct sync_state *s)
{
	size_t i, j;

	s->fetch_of = xcalloc(s->n ? s->n : 1, sizeof(*s->fetch_of));
	for (i = 0; i < s->n; i++) {
		struct domain_conf dc;
		struct fetch_opts o;

		conf_domain(s->conf, conf_index(s, i), &dc);
		o = fetch_opts_of(&dc);
		s->fetch_of[i] = NO_FETCH;
		if (dc.upstream == NULL)
			continue;
		for (j = 0;
		     j < s->nfetches && !fetch_same(s, j, dc.upstream, &o); j++)
			;
		if (j == s->nfetches)
			fetch_add(s, i, dc.upstream, &o);
		s->fetch_of[i] = (uint32_t)j;
	}
	for (j = 0; j < s->nfetches; j++) {
		s->fetch_opts[j].resolve = &s->fetch_resolve[j];
		s->fetches[j].opts = &s->fetch_opts[j];
		s->fetches[j].done = upstream_arrived;
		s->fetches[j].done_arg = s;
	}
	s->arrived = xcalloc(s->nfetches ? s->nfetches : 1, 1);
}

static void *
fetch_thread(void *arg)
{
	struct sync_state *s = arg;

	fetch_many(s->fetches, s->nfetches, SYNC_FETCH_PARALLEL);
	return NULL;
}

/* A new run for domain i (called with the lock held). */
static struct domain_run *
state_start(struct sync_state *s, size_t i)
{
	struct domain_run *r = xcalloc(1, sizeof(*r));
	size_t j = s->fetch_of[i];

	conf_domain(s->conf, conf_index(s, i), &r->settings);
	r->dc = &r->settings;
	r->file.dirfd = -1; /* nothing to close before state_read() */
	r->change.acl_part = s->acl_part[conf_index(s, i)];
	r->opts = fetch_opts_of(r->dc);
	if (j != NO_FETCH)
		r->upstream = &s->fetches[j];
	s->runs[i] = r;
	return r;
}

/* The groups of list a, then those of list b (both linked by
 * ready_next). */
static struct zone_group *
ready_append(struct zone_group *a, struct zone_group *b)
{
	struct zone_group *t = a;

	if (a == NULL)
		return b;
	while (t->ready_next != NULL)
		t = t->ready_next;
	t->ready_next = b;
	return a;
}

/*
 * Send the UPDATE of each group of the list (handed out by the tracker),
 * then finish its members; and then the groups its releases let go (a
 * zone's groups are sent one after another, never at once). Called
 * without the lock.
 */
static void
state_send(struct sync_state *s, struct zone_group *g)
{
	while (g != NULL) {
		struct zone_group *next = g->ready_next;
		struct buf text;
		size_t k;

		/* about 250 bytes a domain: room for 250000 in one zone */
		buf_init(&text, s->o->dry_run ? 1u << 26 : 0);
		zone_update(s->runs, g, s->o->dry_run, &text);
		for (k = 0; k < g->n; k++)
			run_release(s->runs[g->members[k]]);
		pthread_mutex_lock(&s->lock);
		if (text.len > 0) {
			s->dry =
			    xreallocarray(s->dry, s->ndry + 1, sizeof(*s->dry));
			s->dry[s->ndry].zone = xstrdup(g->zone);
			s->dry[s->ndry].server = xstrdup(g->server);
			s->dry[s->ndry++].text = buf_steal(&text);
		}
		for (k = 0; k < g->n; k++)
			state_finish(s, g->members[k]);
		next = ready_append(zonetrack_release(s->zt, g), next);
		pthread_mutex_unlock(&s->lock);
		buf_free(&text);
		g = next;
	}
}

/*
 * How r's UPDATE reaches its primary: the key it is signed with (the key
 * itself, not its name: two key files may name different secrets alike)
 * and the addresses and port it goes to, whatever name or address the
 * configuration gives for them (a server address beside a discovered
 * SOA MNAME). Domains of one zone are sent in one UPDATE only when these
 * agree, since the message goes to one place under one signature.
 */
static void
primary_ident(const struct domain_run *r, char *out, size_t len)
{
	const struct dns_target *t = r->have_state ? r->target : NULL;
	size_t o =
	    (size_t)snprintf(out, len, "key %p at", (const void *)r->dc->key);

	for (size_t i = 0; t != NULL && i < t->naddr && o < len; i++) {
		const union dns_addr *a = &t->addr[i];
		char host[INET6_ADDRSTRLEN] = "?";
		unsigned port;

		if (a->ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &a->sin6.sin6_addr, host,
			          sizeof(host));
			port = ntohs(a->sin6.sin6_port);
		} else {
			inet_ntop(AF_INET, &a->sin.sin_addr, host,
			          sizeof(host));
			port = ntohs(a->sin.sin_port);
		}
		o += (size_t)snprintf(out + o, len - o, " %s#%u", host, port);
	}
}

/* Read domain i's zone, primary and records; it then waits for its
 * upstream, or goes on at once. */
static void
state_read(struct sync_state *s, size_t i)
{
	struct domain_run *r = s->runs[i];
	const struct domain_conf *dc = r->dc;
	struct zone_group *ready;
	size_t j = s->fetch_of[i];
	char ident[32 + DNS_ADDR_MAX * (INET6_ADDRSTRLEN + 8)];

	/* built here, outside the run's lock, which state_start holds */
	r->policy_file = conf_policy_file(dc);
	publish_file_init(&r->file, r->policy_file);
	r->verify_url = conf_verify_url(dc);
	if (j != NO_FETCH)
		run_note(r, "fetching upstream %s%s", dc->upstream,
		         s->fetch_owner[j] == i
		             ? ""
		             : " (fetched once for several domains)");
	plan_read_dns(r);
	primary_ident(r, ident, sizeof(ident));
	pthread_mutex_lock(&s->lock);
	r->read_done = 1;
	ready = zonetrack_read(s->zt, i, r->have_state ? r->target->zone : NULL,
	                       ident);
	if (j == NO_FETCH || s->arrived[j])
		state_push(s, i);
	pthread_mutex_unlock(&s->lock);
	state_send(s, ready);
}

/* Plan domain i, then publish and verify its file (or, in a dry run,
 * write down the diff, even of a policy the plan refused); then it waits
 * for its zone's UPDATE, if any. */
static void
state_work(struct sync_state *s, size_t i)
{
	struct domain_run *r = s->runs[i];
	struct zone_group *g, *ready = NULL;

	if (!run_failed(r) && plan_domain(r) == 0 && !s->o->dry_run)
		publish_domain(r);
	buf_free(&r->other);           /* not kept while r waits for its zone */
	dns_state_drop_soa(&r->state); /* nor what the zone check kept */
	/* a preview shows the policy also when the plan refuses it (the MX
	 * gate), beside the reason */
	if (s->o->dry_run && r->planned)
		dry_run_diff(r);
	publish_file_close(&r->file);
	pthread_mutex_lock(&s->lock);
	s->active--;
	pthread_cond_signal(&s->work_cv);
	g = zonetrack_group_of(s->zt, i);
	if (g != NULL) {
		ready = zonetrack_done(s->zt, g);
	} else {
		run_release(r);
		state_finish(s, i);
	}
	pthread_mutex_unlock(&s->lock);
	state_send(s, ready);
}

/*
 * Take the next thing to do: a domain ready for its work (first, so that
 * UPDATEs start early and the window drains), or the next domain to
 * read. Returns 1 with *i and *read set, or 0 when everything is taken.
 */
static int
state_take(struct sync_state *s, size_t *i, int *read)
{
	int rc = 1;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->taken < s->pushed) {
			*i = s->ready[s->taken++];
			*read = 0;
			break;
		}
		if (s->next_read < s->n && s->active < s->window) {
			*i = s->next_read++;
			*read = 1;
			s->active++;
			state_start(s, *i);
			break;
		}
		if (s->taken == s->n) {
			rc = 0;
			pthread_cond_broadcast(&s->work_cv);
			break;
		}
		pthread_cond_wait(&s->work_cv, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void *
worker_thread(void *arg)
{
	struct sync_state *s = arg;
	size_t i;
	int read;

	while (state_take(s, &i, &read))
		if (read)
			state_read(s, i);
		else
			state_work(s, i);
	return NULL;
}

/* ------------------------------------------------------ reporting */

/* The start of the --json document. */
static void
json_begin(const struct sync_state *s)
{
	log_stdout_printf("{\"dry_run\":%s,\"domains\":[",
	                  s->o->dry_run ? "true" : "false");
}

/* Print r's result: its -v lines, then its line or its JSON object. */
static void
state_report(struct sync_state *s, const struct domain_run *r, size_t i)
{
	enum run_status st = run_status(r, s->o->dry_run);

	s->changed += st == RUN_CHANGED;
	s->failed += st == RUN_FAILED;
	run_print_notes(r);
	if (s->o->json && i == 0)
		json_begin(s);
	if (s->o->json)
		json_domain(r, s->o->dry_run, i == 0);
	else
		report_text(r, s->o->dry_run);
}

/* Wait until domain i is finished; returns its run. */
static struct domain_run *
state_wait(struct sync_state *s, size_t i)
{
	struct domain_run *r;

	pthread_mutex_lock(&s->lock);
	while (s->runs[i] == NULL || !s->runs[i]->finished)
		pthread_cond_wait(&s->report_cv, &s->lock);
	r = s->runs[i];
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Print every domain's result as it finishes, in configuration order,
 * and free it. A dry run's text output has the file diffs first, then
 * the UPDATEs, then the results: each diff is printed (and freed) as
 * its domain finishes, the rest at the end (state_report_dry). */
static void
state_report_all(struct sync_state *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct domain_run *r = state_wait(s, i);

		if (s->o->dry_run && !s->o->json) {
			if (r->dry_text.data != NULL)
				log_stdout_puts(r->dry_text.data);
			buf_free(&r->dry_text);
			continue;
		}
		state_report(s, r, i);
		pthread_mutex_lock(&s->lock);
		s->runs[i] = NULL;
		s->reported = i + 1;
		pthread_mutex_unlock(&s->lock);
		run_free(r);
	}
}

/* The rest of a dry run's text output, once everything is finished:
 * the UPDATEs by zone, then the results. */
static void
state_report_dry(struct sync_state *s)
{
	size_t i;

	if (s->ndry > 1) /* qsort takes no NULL array, even empty */
		qsort(s->dry, s->ndry, sizeof(*s->dry), dry_update_cmp);
	for (i = 0; i < s->ndry; i++)
		log_stdout_puts(s->dry[i].text);
	for (i = 0; i < s->n; i++) {
		state_report(s, s->runs[i], i);
		run_free(s->runs[i]);
		s->runs[i] = NULL;
	}
}

/* A dry run's UPDATEs by zone, as the --json document's "updates". */
static void
json_updates(struct sync_state *s)
{
	struct buf out;
	size_t i;

	if (s->ndry > 1) /* qsort takes no NULL array, even empty */
		qsort(s->dry, s->ndry, sizeof(*s->dry), dry_update_cmp);
	log_stdout_puts(",\"updates\":[");
	for (i = 0; i < s->ndry; i++) {
		buf_init(&out, 1u << 20);
		buf_puts(&out, i > 0 ? ",{" : "{");
		json_member(&out, "zone", s->dry[i].zone);
		buf_puts(&out, ",");
		json_member(&out, "text", s->dry[i].text);
		buf_puts(&out, "}");
		log_stdout_puts(out.data);
		buf_free(&out);
	}
	log_stdout_puts("]");
}

/* Start the fetch thread and the workers, report, and wait for them all.
 * Threads that cannot be started are done without: with no worker, the
 * calling thread does the work before it reports. */
static void
state_run(struct sync_state *s)
{
	pthread_t fetcher, *workers = xcalloc(s->jobs, sizeof(*workers));
	unsigned k, started = 0;
	int threaded;

	state_plan_fetches(s);
	threaded = pthread_create(&fetcher, NULL, fetch_thread, s) == 0;
	if (!threaded)
		fetch_thread(s);
	for (k = 0; k < s->jobs; k++)
		if (pthread_create(&workers[started], NULL, worker_thread, s) ==
		    0)
			started++;
	if (started == 0)
		worker_thread(s);
	state_report_all(s);
	for (k = 0; k < started; k++)
		pthread_join(workers[k], NULL);
	if (threaded)
		pthread_join(fetcher, NULL);
	if (s->o->dry_run && !s->o->json)
		state_report_dry(s);
	if (s->o->json && s->n == 0)
		json_begin(s);
	if (s->o->json) {
		log_stdout_puts("]");
		if (s->o->dry_run)
			json_updates(s);
		log_stdout_printf(
		    ",\"changed\":%zu,\"failed\":%zu,\"locked\":false,"
		    "\"error\":null}\n",
		    s->changed, s->failed);
	}
	free(workers);
}

static void
state_free(struct sync_state *s)
{
	size_t i;

	for (i = 0; i < s->nfetches; i++)
		fetch_result_free(&s->fetches[i].result);
	free(s->fetches);
	free(s->fetch_opts);
	free(s->fetch_resolve);
	free(s->fetch_owner);
	free(s->arrived);
	free(s->fetch_of);
	free(s->acl_part);
	for (i = 0; i < s->ndry; i++) {
		free(s->dry[i].zone);
		free(s->dry[i].server);
		free(s->dry[i].text);
	}
	free(s->dry);
	zonetrack_free(s->zt);
	free(s->runs);
	free(s->ready);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->report_cv);
	pthread_mutex_destroy(&s->lock);
}

/*
 * glibc gives each thread that allocates a malloc arena of its own, which
 * keeps what it once held: with a worker per job, the fetch service and
 * the calling thread, that cost about 1 MiB of a 10000-domain run's peak
 * for no measurable speed, and a second arena still 0.6 MiB. The workers
 * allocate little and briefly, mostly from their own thread cache,
 * without the arena's lock, so one arena serves them all.
 */
static void
sync_limit_arenas(void)
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	mallopt(M_ARENA_MAX, 1);
#endif
}

/*
 * Work on the n domains of conf whose indices are sel (o->jobs at once)
 * and print their results. Returns how many failed.
 */
static size_t
sync_domains(const struct conf *conf, const size_t *sel, size_t n,
             const struct cmd_opts *o)
{
	struct sync_state s;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	s.sel = sel;
	s.n = n;
	s.o = o;
	s.jobs = o->jobs ? o->jobs : SYNC_DEFAULT_JOBS;
	s.window = s.jobs * SYNC_WINDOW_PER_JOB;
	s.zt = zonetrack_new_by(run_domain_name, &s, n);
	s.acl_part = knot_acl_parts(conf);
	s.runs = xcalloc(n ? n : 1, sizeof(*s.runs));
	s.ready = xcalloc(n ? n : 1, sizeof(*s.ready));
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.work_cv, NULL);
	pthread_cond_init(&s.report_cv, NULL);
	state_run(&s);
	state_free(&s);
	return s.failed;
}

/* sync_run() with its diag d (empty). */
static int
sync_run_with(const struct cmd_opts *o, struct diag *d)
{
	struct conf *conf;
	size_t *sel = NULL, failed;
	int n, rc;

	if ((conf = sync_load_conf(o, d)) == NULL)
		return sync_refused(o, d, EXIT_USAGE, 0);
	if ((n = sync_select(conf, o, &sel, d)) == -1) {
		conf_free(conf);
		return sync_refused(o, d, EXIT_USAGE, 0);
	}
	/* a dry run writes nothing: it may overlap a run */
	if (!o->dry_run && (rc = sync_lock(conf, d)) < 0) {
		free(sel);
		conf_free(conf);
		return sync_refused(o, d, EXIT_FAILED, rc == -2);
	}
	sync_limit_arenas();
	publish_catch_signals();
	if (fetch_global_init() == -1)
		die(EXIT_FAILED, "cannot initialise libcurl");
	if (sync_check_files(conf, d) == -1) {
		fetch_global_cleanup();
		free(sel);
		conf_free(conf);
		return sync_refused(o, d, EXIT_USAGE, 0);
	}
	failed = sync_domains(conf, sel, (size_t)n, o);
	dns_close_connections();
	free(sel);
	fetch_global_cleanup();
	conf_free(conf);
	return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/* Run the sync command. Its diag is on the heap: the configuration is
 * read below this frame, and the pages of the main thread's stack that
 * its deepest frames touched stay resident for the whole run. */
int
sync_run(const struct cmd_opts *o)
{
	struct diag *d = diag_new();
	int rc = sync_run_with(o, d);

	free(d);
	return rc;
}
