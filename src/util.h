/*
 * util.h - small shared helpers: allocation that cannot fail, bounded
 * growable buffers, checked number parsing and diagnostics collection.
 */
#ifndef MTA_STS_SYNC_UTIL_H
#define MTA_STS_SYNC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation: these end the program with a message when memory runs out. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* The directory part of path: "." when it has none, "/" for a name in
 * the root; a new string. */
char *path_dir(const char *path);

/*
 * A growable byte buffer with a hard maximum size. data is always
 * NUL-terminated (the terminator is not counted in len). The caller owns
 * the buffer and releases it with buf_free().
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
/* Append len bytes; returns 0, or -1 (buffer unchanged) past b->max. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hand the data over to the caller (who frees it); b is reset. */
char *buf_steal(struct buf *b);

/* A list of strings; each element is owned by the list. */
struct strlist {
	char **v;
	size_t n;
};

/* Append a copy of s. */
void strlist_add(struct strlist *l, const char *s);
void strlist_free(struct strlist *l);

/*
 * Parse a whole decimal string of digits only (no sign, no space) into
 * *out. Returns 0, or -1 when s is empty, holds another character or
 * exceeds max.
 */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* Copy src into dst of size dstsize, always terminated. Returns -1 if
 * src did not fit (dst then holds a truncated copy), else 0. */
int str_copy(char *dst, size_t dstsize, const char *src);

/* Whether s holds a control byte (below 0x20, or 0x7f): a path or a
 * host that cannot be printed as it is, nor looked up. */
int str_has_control(const char *s);

/* FNV-1a (64 bits) of the len bytes at data, for hash tables. */
size_t hash_bytes(const void *data, size_t len);
/* The same, all 64 bits on every platform: for names that must not
 * change from one machine to another. */
uint64_t hash64_bytes(const void *data, size_t len);

/*
 * Copy at most n bytes of s into out (cap bytes) for an error message:
 * bytes that are not printable ASCII, '"' and '\\' become \xHH, and what
 * does not fit is cut with "...". Returns out.
 */
const char *str_printable(const char *s, size_t n, char *out, size_t cap);

/* str_printable(), but well-formed UTF-8 kept as it is (a C1 control
 * still \xHH): for a text that may hold a name in its own script, as a
 * URL with an IDN host. Returns out. */
const char *str_printable_utf8(const char *s, size_t n, char *out, size_t cap);

/* The length of the well-formed UTF-8 sequence of two to four bytes at
 * s (n bytes left), or 0 (RFC 3629 section 4: no overlong form, no
 * surrogate, nothing past U+10FFFF). */
size_t utf8_len(const unsigned char *s, size_t n);

/*
 * Secrets must never be printed, and a word, a value or a path of a
 * configuration or key file may be one written in the wrong place (a key
 * file pulled in with include, fields written in the wrong order, a
 * secret pasted where a name or a path goes). Messages quote such a thing
 * only when one of these says it is safe. The rule:
 *
 * secret_shaped(): does s hold a run of at least SECRET_SHAPED_MIN base64
 * characters (letters, digits, '+', '/') that mixes upper and lower case
 * letters, or letters and digits, or ends in '=' padding? The secrets
 * that tsig-keygen and keymgr make (16 to 64 random bytes: 24 to 88
 * characters) do but with odds below 1e-14, and so do hex secrets
 * (openssl rand -hex: valid base64 too); words of a configuration rarely
 * do, and then are only not shown. Applied to values.
 * key_secret_shaped(): secret_shaped(), or a run of at least
 * SECRET_SHAPED_MIN letters, digits and '+' whatever they are (a secret
 * made by hand in one case): where a key is likely (a key's name, a word
 * where a statement or a setting goes, which may come from a key file).
 * keyword_shaped(): is s shaped like a keyword (a statement or setting
 * name, a mode, a number): 1 to KEYWORD_SHAPED_MAX letters, digits, '-',
 * '_' and '.', and not key_secret_shaped()?
 * path_secret_shaped(): might path hold a key, written where a path goes?
 * It does when a component of it (between '/') is secret_shaped(), is
 * base64 ending in '=' padding (the end of a secret its '/' cut), or
 * holds ':' between two characters (a one-line [alg:]name:secret key).
 * Components, not the whole path, so that /home/User/Documents is shown;
 * whole components, so that a file name holding a run of a secret's
 * shape is shown too (key_written_as_path() tells a key-file or include
 * that is rather a key).
 */
#define SECRET_SHAPED_MIN 16
#define KEYWORD_SHAPED_MAX 64
int secret_shaped(const char *s);
int key_secret_shaped(const char *s);
int keyword_shaped(const char *s);
int path_secret_shaped(const char *path);
/* Is s, written where a key file's path goes, rather a key: the
 * nsupdate -y form [alg:]name:secret, a bare base64 secret or a hex one?
 * (A path that only holds a secret-shaped part is not said to be a key:
 * /etc/mta-sts-sync/Tsig2024Key.key is a file name; path_shown() hides
 * it all the same.) */
int key_written_as_path(const char *s);
/* The message for the path of setting ("key-file" or "include") that
 * cannot be read as a file (why) and key_written_as_path() says is a
 * key: not shown, with where a key goes instead; into buf (size bytes),
 * which is returned. */
const char *key_as_path_message(const char *setting, const char *why, char *buf,
                                size_t size);

/* What a message says in place of a path it does not show. */
#define PATH_NOT_SHOWN "a path not shown (it looks like a TSIG key or secret)"
/*
 * A path for a message: quoted with q into buf (size bytes), or, when
 * path_secret_shaped(path) or key_written_as_path(path), PATH_NOT_SHOWN.
 * With q '\0' the path is returned as it is and buf is not used. Every
 * message that quotes a path of the configuration (include, key-file,
 * ca-file, the program of publish-command, the files read) takes it from
 * here.
 */
const char *path_shown(const char *path, char q, char *buf, size_t size);
/*
 * A path for a command a message gives to run (chmod, setfacl, ...): as
 * path_shown() shows it, and, unless every character is one a shell
 * takes as it is, in single quotes (a quote in it written '\''), so
 * that the command works when pasted, and "./" before a path that
 * starts with '-' or '=', which a command would take for an option (zsh
 * for a command's path); into buf (size bytes). Returns buf,
 * PATH_NOT_SHOWN, PATH_CONTROL for a path holding a control byte (below
 * 0x20, or 0x7f), which the log would change (log_clean()), or
 * PATH_TOO_LONG when it does not fit: a path cut short would be another,
 * valid, path, which a pasted command would act on; the words in angle
 * brackets make the shell refuse the command.
 */
#define PATH_TOO_LONG "<the path, too long to show here>"
#define PATH_CONTROL "<the path, which holds control characters>"
const char *path_shell(const char *path, char *buf, size_t size);

/* The hint for a name refused as a domain name: one with non-ASCII
 * bytes is an internationalized name in its U-label form, so the hint
 * (to append to the message) says to write its xn-- form; else "". */
const char *idn_hint(const char *s);

/* Sleep for s seconds (fractions allowed; a signal does not cut it). */
void sleep_seconds(double s);

/* ASCII-only case-insensitive comparison, independent of the locale. */
int ascii_casecmp(const char *a, const char *b);
int ascii_ncasecmp(const char *a, const char *b, size_t n);

/* Is the domain name name zone itself or below it (with strictly, below
 * it only)? Both without a trailing dot, "" for the root; compared
 * without regard to ASCII case, as DNS names are (RFC 4343). */
int name_under(const char *name, const char *zone, int strictly);

/*
 * Diagnostics collected by parsers and checks: at most one error (the
 * first one set wins) and a bounded list of warnings. Modules fill it;
 * the caller decides where it is printed.
 */
/* an error, as long as a line of log.c or sync.c's RUN_MSG_MAX */
#define DIAG_MSG_MAX 2048
#define DIAG_WARN_MAX 512 /* a warning: short, and 16 of them */
#define DIAG_MAX_WARN 16
/* what a message cut at its bound ends with (text_vformat()) */
#define TEXT_CUT_MARK " [cut]"

/*
 * Most of a diag is never written: nwarn and the start of the error are
 * put first, so that a new one touches a single page of the stack it is
 * on. Warnings keep a smaller bound than the error: a diag sits in
 * several nested frames of each worker, whose deepest stack stays
 * resident, and 16 warnings of 2048 bytes would make it 34 KiB instead
 * of 10 (the run of 10000 domains is held to 16 MiB).
 */
struct diag {
	size_t nwarn;
	char error[DIAG_MSG_MAX];
	char warn[DIAG_MAX_WARN][DIAG_WARN_MAX];
};

void diag_init(struct diag *d);
/* A new empty diag on the heap (free() it): for a frame below which a
 * thread's deepest frames run, where one on the stack would deepen it by
 * its 10 KiB, and a stack's deepest pages stay resident once touched. */
struct diag *diag_new(void);
/* The name of names (n of them) nearest to word, for a "did you
 * mean": one at an edit distance of 2 or less, and less than half the
 * word's length (so "tl" does not become "ttl"), or NULL. */
const char *text_nearest(const char *word, const char *const *names, size_t n);
/* Format into out (len bytes, NUL-terminated) as vsnprintf() does; a
 * text longer than that is cut and ends with TEXT_CUT_MARK, at the end
 * of a word when one ends near and never inside a UTF-8 sequence, so
 * that a cut message says it was cut. Returns the length of the whole
 * text, as vsnprintf(). Every bounded message goes through it. */
int text_vformat(char *out, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* End the text at out, which filled its len bytes (a longer text was cut
 * there), with TEXT_CUT_MARK as text_vformat() does, keeping the first
 * keep bytes whole (nothing is marked when the mark does not fit after
 * them). */
void text_mark_cut(char *out, size_t len, size_t keep);
/* End s before a UTF-8 sequence its end cut short (a text another cut
 * at a byte count, as libcurl its words at CURL_ERROR_SIZE). */
void text_utf8_trim(char *s);
/* How many of the first max bytes of the string s to show so that no
 * UTF-8 sequence is cut: its length if that is shorter, else max less
 * the start of a sequence that the byte after them continues. */
size_t text_utf8_head(const char *s, size_t max);
/* Put the formatted reason into out (len bytes, NUL-terminated) unless it
 * holds one already: the first reason wins. diag_error() does this for
 * a struct diag; these serve a step that reports an error only. */
void reason_first(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reason_vfirst(char *out, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Set the error unless one is already set. Safe with d == NULL. */
void diag_error(struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Add the formatted text after the error d holds, as its context (what
 * does not fit is cut: the error itself is kept). Nothing if d has none;
 * safe with d == NULL. */
void diag_append(struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void diag_verror(struct diag *d, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Add a warning; past DIAG_MAX_WARN further ones are dropped. */
void diag_warn(struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int diag_failed(const struct diag *d);

/*
 * Make this process non-dumpable (PR_SET_DUMPABLE 0, prctl(2)), before
 * it reads a TSIG key: it leaves no core dump (a crash report sent on,
 * or kept where others read it, would carry the key, with OpenSSL's
 * copies), and only processes with CAP_SYS_PTRACE may read its /proc
 * entries or trace it. With only_if_ptrace, only when it has
 * CAP_SYS_PTRACE itself, as root has: a sync run, whose next run reads
 * the descriptors of this one to name the lock's holder, which a run
 * without it (a service user, a container's root) could then no longer
 * do; that user may read the key file anyway. check, lint and
 * server-config take no lock, and are made non-dumpable always.
 */
void no_core(int only_if_ptrace);

/*
 * Seconds on the monotonic clock (CLOCK_MONOTONIC), since a start that
 * is not 0 in practice (the system's boot): for what elapsed, and for
 * deadlines a change of the wall clock must not move. Async-signal-safe
 * (clock_gettime(2) only).
 */
double util_mono(void);

/* The name (comm) a publish-command's supervisor gives itself
 * (command.c), so that flock_holders() tells it from a run: at most 15
 * bytes, as the kernel keeps. */
#define SUPERVISOR_COMM "mta-sts-sync-sv"

/*
 * Name the other processes that hold an flock(2) lock on the file open
 * as fd (path names it): "pid N COMMAND, pid M COMMAND" appended to out,
 * four at most (then ", ..."). Every process sharing the locked open
 * file (a child that inherited it, as flock(1)'s command does) is
 * named, found by its descriptors in /proc (/proc/locks names only the
 * process that took the lock, which may be gone). A publish-command's
 * supervisor (SUPERVISOR_COMM) is named as such, with the run it
 * belongs to: "pid M mta-sts-sync-sv: the supervisor of a
 * publish-command of pid N" (its parent, when that holds the lock too),
 * or "... of a run that has ended". Best effort: nothing is appended for
 * what cannot be read (another user's processes, no /proc). Returns how
 * many of those named are neither a run (a process of the same name as
 * this one) nor a supervisor: another program holds the lock.
 */
int flock_holders(int fd, const char *path, struct buf *out);

#endif
