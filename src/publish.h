/*
 * publish.h - publishing the policy file: read the current one, write the
 * new one atomically (temporary file in the same directory, flushed, renamed,
 * the directory flushed, mode 0644: publish.c), run the publish-command
 * without a shell (command.c), and verify that the new bytes are served
 * before DNS changes (verify.c).
 */
#ifndef MTA_STS_SYNC_PUBLISH_H
#define MTA_STS_SYNC_PUBLISH_H

#include <stddef.h>

#include "fetch.h"
#include "util.h"

#define PUBLISH_DEFAULT_TIMEOUT 300u /* seconds, publish-command */

/* The longest policy file path publish_write() takes, and the longest
 * name of the file in it: the temporary beside it, "NAME.tmp-XXXXXX",
 * adds PUBLISH_TMP_EXTRA bytes to both, and must be a valid path
 * (PATH_MAX, 4096 with its NUL) and name (NAME_MAX, 255). The
 * configuration refuses longer ones (conf.c). */
#define PUBLISH_TMP_EXTRA 11u
#define PUBLISH_PATH_MAX (4095u - PUBLISH_TMP_EXTRA)
#define PUBLISH_NAME_MAX (255u - PUBLISH_TMP_EXTRA)

/*
 * A policy file, and its directory once opened: the steps of one domain
 * (the read that plans, the write) go through one descriptor of the
 * directory, found once by dirwalk.c's walk. publish_file_init() keeps
 * path (which must outlive f) and opens nothing; publish_file_close()
 * closes what was opened (safe to call twice).
 */
struct publish_file {
	const char *path; /* as configured: messages name it */
	const char *name; /* its last component, in path */
	char *dir;        /* its directory as written, for messages */
	int dirfd;        /* that directory once opened, else -1 */
};

void publish_file_init(struct publish_file *f, const char *path);
void publish_file_close(struct publish_file *f);

/*
 * Read the published file f into out. Returns 1 if it exists, 0 if it
 * (or a directory on the way) does not, -1 on another error (reason in
 * d). Bounded by out->max. Only a regular file is opened: a symbolic
 * link is refused unread (publishing would replace the link, and a dry
 * run would show what it points to), and so is anything else (a device
 * or a FIFO, looked at before it is opened), and so, unread, is a file
 * with other names where someone else than its owner could have linked
 * it there (a key of root's, say). So is a path through a symbolic link
 * that someone else than root or the running user could have put there
 * (dir_open_walked()). In a run that holds the lock
 * (publish_run_locked()), the temporaries killed writers left next to
 * the file (as publish_write() removes them) are removed too, when its
 * directory changed after the file was put in place: leftovers do not
 * wait for the policy to change. Never waits.
 */
int publish_file_read(struct publish_file *f, struct buf *out, struct diag *d);

/*
 * Replace f atomically with len bytes of data (mode 0644; run as root
 * in a directory of another user, that user's and group's, as the
 * directories it makes), creating missing directories (0755, see
 * dir_open_walked()). Returns 0, or -1 with the reason in d (the
 * directory or file named, with the errno text; never the temporary's
 * name, which is random: "policy-file PATH: cannot create its new copy
 * in DIR: ...", "policy-file PATH: cannot write its new copy: ..."); on
 * failure the old file is untouched and no temporary file is left. But
 * when only the final flush of the directory failed, -2: the new file
 * is in place, and may not survive a crash. The temporary "<name>.tmp-XXXXXX"
 * is locked (flock(2)) until it is renamed; leftover ones of path that no
 * process holds locked (their writer died) are removed first, whatever their
 * age, and those held (another writer's in flight, of this process or another)
 * are left. On a file system without locks (flock(2) fails with ENOLCK,
 * EOPNOTSUPP, EINVAL or ENOSYS) a temporary more than a minute old is
 * taken for a leftover instead, and a write beside a younger one, in a
 * run that holds the lock, touches the directory so that later runs
 * look there again (up to about 2 s longer). A symbolic link at path is
 * refused (the rename would replace the link, not the file it points
 * to).
 *
 * Durability: the new bytes are on disk before the rename, and the rename
 * before publish_write returns; a crash leaves the old or the new file,
 * never a partial one. Thread-safe; threads that publish at the same time
 * share the flushes (group commit): a flush for one writer is fsync(2) of
 * its file or directory, a flush for several is one syncfs(2) of their
 * file system (which also writes back unrelated dirty data there); when
 * it fails (the error may be any file's), each writer it covered flushes
 * its own file alone and is judged by that. Without syncfs, or once it
 * proves slower than the fsyncs it replaces (a busy file system), each
 * writer uses fsync.
 */
int publish_file_write(struct publish_file *f, const char *data, size_t len,
                       struct diag *d);

/* publish_file_read() and publish_file_write() of the file at path, its
 * directory walked anew for the call. */
int publish_read(const char *path, struct buf *out, struct diag *d);
int publish_write(const char *path, const char *data, size_t len,
                  struct diag *d);

/* What publish_holds() found. */
enum {
	PUBLISH_HOLDS_OTHER, /* the file holds other bytes */
	PUBLISH_HOLDS,       /* exactly the bytes asked for */
	PUBLISH_HOLDS_GONE   /* no file there (or no directory) */
};

/*
 * Does the policy file at path hold exactly the len bytes at want? Its
 * directory is walked anew, as publish_read() walks it (a symbolic link
 * followed only where root or the running user could have made it), and
 * the file is opened as publish_file_read() opens it (a regular file
 * only; a symbolic link, or a file others may have linked there, is
 * refused unread); its size is compared before its bytes are read.
 * Nothing is removed, and nothing read is kept. Returns PUBLISH_HOLDS,
 * PUBLISH_HOLDS_OTHER or PUBLISH_HOLDS_GONE, or -1 when it cannot tell
 * (the reason in d, naming path). Never waits.
 */
int publish_holds(const char *path, const char *want, size_t len,
                  struct diag *d);

/* Run argv (argv[0] a path or a name looked up in PATH) with execve, no
 * shell: "%d" in any argument becomes domain, "%f" file (made absolute),
 * "%%" a '%' (the configuration allows no other '%'). Standard input is
 * /dev/null; standard output and error are captured (8 KiB); no other
 * descriptor is passed on (the caller keeps 0 to 2 open: main() does);
 * the working directory is /. The program is found and checked as
 * publish_command_check() does just before it runs, and the file so
 * checked is executed, by its absolute path (argv[0] stays a bare name
 * as written; a file without "#!" is run by /bin/sh, as execvp() does). It runs
 * under a supervisor, in a process group of theirs, which stops the group
 * and every descendant of the command, in the group or not (setsid), when
 * this process dies, and what the command leaves running when it exits
 * (SIGTERM, SIGKILL rounds from 5 s later). After timeout seconds (0:
 * 300), they are stopped the same way. Returns 0 on exit status 0, else -1 with
 * "publish-command ARGV0: exit status N: line / line" (or "killed by
 * signal N (name)", "took longer than N s: stopped with SIGTERM (exit
 * status N)", "took longer than N s, and did not end within 5 s of
 * SIGTERM: killed", "exit status N; what it left running took
 * longer than N s: stopped", "...; N processes it started (pid P ...),
 * and what they started, could not be stopped within 5 s of SIGKILL:
 * left running (...)", "cannot execute: reason", "cannot start
 * it: reason", "not started: prctl(OP): reason; ...": the supervisor
 * could not be set up), or publish_command_check()'s reason, in d. */
int publish_run_command(const struct strlist *argv, const char *domain,
                        const char *file, unsigned timeout, struct diag *d);

/* This process holds the run's lock, on descriptor fd: publish_read()
 * may remove leftovers (a dry run, which takes no lock, removes
 * nothing), and the supervisor of each publish-command keeps a
 * close-on-exec copy of fd until the command and what it started are
 * gone (or its SIGKILL rounds have run out), so that no next run starts beside
 * it (the command itself does not get it). */
void publish_run_locked(int fd);

/* Check before a run that the program prog (argv[0] of a
 * publish-command: a path, or a name looked up in PATH as execvp does)
 * can be executed, and is as safe as the configuration, as is every
 * PATH entry looked in before it (conf_trust_check(),
 * conf_trust_dir_check()). Returns 0, or -1 with "publish-command PROG:
 * reason" in d. A prog holding '%' is expanded per domain and not
 * checked. */
int publish_command_check(const char *prog, struct diag *d);

/* Send SIGTERM to the supervisors of the publish-commands running now,
 * each of which then stops its command and what it started (one
 * SIGTERM, SIGKILL rounds from 5 s later), and start none after.
 * Async-signal-safe: for a handler of the signals that end a run. */
void publish_stop_commands(void);

/* Make SIGTERM, SIGINT and SIGHUP (unless ignored from the start) stop
 * the running publish-commands before they end the process, so that a
 * git push does not go on beside the next run's. */
void publish_catch_signals(void);

/* What publish_verify() found served. */
enum {
	VERIFY_OTHER,      /* other content (not returned) */
	VERIFY_SERVED,     /* exactly the bytes wanted */
	VERIFY_SAME_POLICY /* the same policy in other bytes (LF line ends,
	                      another field order): what senders parse is
	                      the new policy */
};

/* What the run knows of where publish_verify() looks, for the advice of
 * a failed verification. */
struct verify_hints {
	const char *policy_file; /* the file written, or NULL */
	const char *live_id;     /* the live _mta-sts record's id, or NULL */
	int deploys; /* a publish-command deploys the file: a deploy under
	                way may explain what is served */
};

/*
 * Fetch url with the sender rules until it serves the policy want (len
 * bytes, canonical or its alternate form) or timeout seconds pass,
 * retrying with backoff (0.5 s doubling up to 5 s; timeout 0: one
 * attempt). prev (prev_len bytes) is what the policy file held before
 * (NULL: nothing, or unknown), to tell it from another policy. Returns
 * VERIFY_SERVED or VERIFY_SAME_POLICY when served, -1 with the last
 * reason in d otherwise: when the server answered, "URL: still serving
 * the previous policy (id=P) after N s (...)", "URL: serving another
 * policy (id=X), neither the new one nor the previous one (id=P), after N
 * s (...)" (", not the new one," without prev; "the policy of the live
 * _mta-sts id" for "another policy" when X is h's live_id), "URL: serving
 * N bytes that are not a valid policy (reason) after N s" or "URL: HTTP
 * 404 Not Found after N s" (any refused response; a text/html page with
 * "(a page in place of a file not deployed yet: ...)"). Without a
 * publish-command (h's deploys 0), the advice in parentheses of the
 * previous policy, another and a 404 asks first whether the web server
 * serves the URL from h's policy_file ("is DIR, where policy-file is
 * written, the web server's document root for HOST? or ..."); with one
 * (or h NULL), each is followed by "; raise `verify-timeout` if the
 * deploy takes longer" where a deploy under way would explain it.
 * A connection refused until the end: "URL: connection
 * to HOST port P refused after N s (is the web server running, and
 * listening on ADDR port P? ...)"; else "URL: <fetch error>", which
 * names the setting to raise after a timeout (o's, or verify-timeout
 * when its end cut the fetch short).
 * A connection reset or closed in the TLS handshake or after it until
 * the end: "URL: the connection to HOST port P was reset during the TLS
 * handshake, after N s (retried: ...; check the web server behind ADDR
 * port P)" (or "... was reset after the TLS handshake, before any
 * response, ...", "HTTP 200 from HOST, but the connection was reset
 * before the response ended (...), ...").
 * What may be the web server's configuration (a redirect, a Content-Type
 * refused, text/html too when its body is the new policy's, a
 * certificate refused, a failed TLS handshake: an alert or no TLS; a
 * connection closed after the request with no response, only without
 * a publish-command, h's deploys 0: with one it is retried as a cut)
 * ends it once the same kind has lasted 10 s (a reload, or a
 * certificate being issued, passes sooner), or at verify-timeout: "URL:
 * <fetch error>; it lasted N s, K tries in a row: <what to fix>; a
 * higher `verify-timeout` will not help: this is how the web server is
 * set up" ("...; a higher `verify-timeout` will not help, as no
 * publish-command deploys the file" for the close with no response;
 * " at the first answer" for a single try; "renew the certificate
 * (expired DATE)" to fix an expired certificate). When verify-timeout
 * ended it before 10 s, the tail is "`verify-timeout` (N s) ended it
 * before 10 s had passed, the time a reload or a certificate being
 * issued is given: raise it to at least 10 s".
 */
int publish_verify(const char *url, const struct fetch_opts *o,
                   const char *want, size_t len, const char *prev,
                   size_t prev_len, unsigned timeout,
                   const struct verify_hints *h, struct diag *d);

#endif
