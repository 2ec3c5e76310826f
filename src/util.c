/*
 * util.c - allocation, bounded buffers, checked numbers, diagnostics.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void
oom(void)
{
	fputs("mta-sts-sync: out of memory\n", stderr);
	exit(1);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xreallocarray(void *ptr, size_t n, size_t size)
{
	if (size != 0 && n > (size_t)-1 / size)
		oom();
	return xrealloc(ptr, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	/* cap is at most max + 1 (the terminator): keep that from wrapping */
	b->max = max < (size_t)-1 / 2 ? max : (size_t)-1 / 2;
}

/* Make room for len more bytes plus the terminator. */
static int
buf_reserve(struct buf *b, size_t len)
{
	size_t need, cap;

	if (len > b->max || b->len > b->max - len)
		return -1;
	need = b->len + len + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) == -1)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
buf_steal(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

int
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (s == NULL || *s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -1;
		d = (unsigned)(*p - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int
str_copy(char *dst, size_t dstsize, const char *src)
{
	size_t n = strlen(src);

	if (dstsize == 0)
		return -1;
	if (n >= dstsize) {
		memcpy(dst, src, dstsize - 1);
		dst[dstsize - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* Is c a base64 character other than the '=' padding? */
static int
b64_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * The run of base64 characters at s (slash: '/' is one of them), with
 * its '=' padding: its length, and in *classes bit 1 for an upper case
 * letter, 2 lower case, 4 a digit, 8 padding.
 */
static size_t
b64_run(const char *s, int slash, unsigned *classes)
{
	size_t n = 0;
	int pad = 0;

	*classes = 0;
	for (; b64_char((unsigned char)s[n]) && (slash || s[n] != '/'); n++)
		*classes |= s[n] >= 'A' && s[n] <= 'Z'   ? 1u
		            : s[n] >= 'a' && s[n] <= 'z' ? 2u
		            : s[n] >= '0' && s[n] <= '9' ? 4u
		                                         : 0u;
	while (n > 0 && s[n] == '=' && pad < 2) {
		n++;
		pad++;
		*classes |= 8u;
	}
	return n;
}

/* Does s hold a run of at least SECRET_SHAPED_MIN base64 characters
 * ('/' counted when slash) that any_run says is enough, or that mixes
 * two of upper case, lower case and digits, or is padded? */
static int
secret_run(const char *s, int slash, int any_run)
{
	while (*s != '\0') {
		unsigned c, kinds;
		size_t n = b64_run(s, slash, &c);
		int mixed;

		kinds = c & 7u;
		mixed = (c & 8u) != 0 || (kinds & (kinds - 1)) != 0;
		if (n >= SECRET_SHAPED_MIN && (any_run || mixed))
			return 1;
		s += n > 0 ? n : 1;
	}
	return 0;
}

int
secret_shaped(const char *s)
{
	return secret_run(s, 1, 0);
}

int
key_secret_shaped(const char *s)
{
	return secret_run(s, 1, 0) || secret_run(s, 0, 1);
}

int
keyword_shaped(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");

	return n > 0 && n <= KEYWORD_SHAPED_MAX && s[n] == '\0' &&
	       !key_secret_shaped(s);
}

/* Is the path component c (n bytes) shaped like a key or a part of one:
 * see path_secret_shaped(). The whole component, not a run inside it: a
 * name such as a Nix store entry's ("<32 letters and digits>-name") or
 * "Tsig2024Key.key" is a file's, and a secret written where a path goes
 * fills whole components (its '/' may cut it: the parts are tested, and
 * key_written_as_path() tests it whole). */
static int
component_secret_shaped(const char *c, size_t n)
{
	char part[SECRET_SHAPED_MIN * 16];
	unsigned classes;

	for (size_t i = 1; i + 1 < n; i++)
		if (c[i] == ':' && c[i - 1] != ':' && c[i + 1] != ':')
			return 1;
	if (n > 0 && c[n - 1] == '=' && b64_run(c, 0, &classes) == n)
		return 1;
	if (n == 0 || b64_run(c, 0, &classes) != n)
		return 0;
	if (n >= sizeof(part))
		n = sizeof(part) - 1; /* a secret is shorter than that */
	memcpy(part, c, n);
	part[n] = '\0';
	return secret_shaped(part);
}

int
path_secret_shaped(const char *path)
{
	const char *p = path;

	for (;;) {
		size_t n = strcspn(p, "/");

		if (component_secret_shaped(p, n))
			return 1;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

/* Whether all of s (at least min bytes) is made of the bytes of set. */
static int
all_of(const char *s, const char *set, size_t min)
{
	size_t n = strlen(s);

	return n >= min && strspn(s, set) == n;
}

/* Is t, all of it, a base64 or hex secret: padded base64; unpadded
 * base64 of 24 characters or more (hmac-sha224 and sha384 keys, or one
 * made by hand, maybe in one case), which must mix case or letters and
 * digits when it holds a '/' (else keys/mtastsexamplecomkey, a path,
 * would be one); or hex? */
static int
secret_whole(const char *t)
{
	size_t n = strlen(t), b64 = 0;

	while (b64_char((unsigned char)t[b64]) || t[b64] == '=')
		b64++;
	if (n >= SECRET_SHAPED_MIN && b64 == n && n % 4 == 0 &&
	    (t[n - 1] == '=' ||
	     (n >= 24 && (strchr(t, '/') == NULL || secret_shaped(t)))))
		return 1;
	return all_of(t, "0123456789abcdefABCDEF", 2 * SECRET_SHAPED_MIN);
}

int
key_written_as_path(const char *s)
{
	const char *last = strrchr(s, ':');

	/* [alg:]name:secret, the secret after the last ':' */
	if (last != NULL && last > s && last[-1] != ':' &&
	    secret_whole(last + 1))
		return 1;
	/* a secret written as a relative path was joined to a directory:
	 * what was written is one of the tails after a '/' */
	if (secret_whole(s))
		return 1;
	for (const char *p = strchr(s, '/'); p != NULL; p = strchr(p + 1, '/'))
		if (secret_whole(p + 1))
			return 1;
	return 0;
}

/* A key written where include goes is no configuration, and one written
 * where key-file goes is no file: for both, the fix is a file holding
 * the key, named with key-file (include takes only named.conf syntax,
 * not the one-line form). */
const char *
key_as_path_message(const char *setting, const char *why, char *buf,
                    size_t size)
{
	snprintf(buf, size,
	         "%s: this looks like a key, not a path (not shown): put the "
	         "key in a file (mode 600) and name the file with key-file, "
	         "in the domain or in options (it cannot be read as a file: "
	         "%s)",
	         setting, why);
	return buf;
}

const char *
path_shown(const char *path, char q, char *buf, size_t size)
{
	if (path_secret_shaped(path) || key_written_as_path(path))
		return PATH_NOT_SHOWN;
	if (q == '\0')
		return path;
	snprintf(buf, size, "%c%s%c", q, path, q);
	return buf;
}

int
str_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

const char *
path_shell(const char *path, char *buf, size_t size)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
	                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "0123456789/._-+,:@%=";
	/* a leading '-' makes it an option of chmod, setfacl or rm, a
	 * leading '=' a command's path in zsh: "./" keeps it a file's */
	const char *lead = *path == '-' || *path == '=' ? "./" : "";
	size_t o = strlen(lead);

	if (path_shown(path, '\0', NULL, 0) != path)
		return PATH_NOT_SHOWN;
	/* Quoted, a control byte would reach the log, which turns it into
	 * '?' or a space (log_clean()): another path. $'\n' would survive
	 * that, but dash before 0.5.12 (the sh of Debian 11) has no $'':
	 * it reads $ and then a quoted string, another path again. */
	if (str_has_control(path))
		return PATH_CONTROL;
	if (o + 3 > size)
		return PATH_TOO_LONG;
	memcpy(buf, lead, o);
	if (*path != '\0' && strspn(path, plain) == strlen(path))
		return str_copy(buf + o, size - o, path) == -1 ? PATH_TOO_LONG
		                                               : buf;
	buf[o++] = '\'';
	/* a quote closes the quoting, is escaped, and reopens it: '\'' */
	for (const char *p = path; *p != '\0'; p++) {
		size_t n = *p == '\'' ? 4 : 1;

		/* cut short, it would name another path: none is given */
		if (o + n + 2 > size)
			return PATH_TOO_LONG;
		if (n == 4)
			memcpy(buf + o, "'\\''", 4);
		else
			buf[o] = *p;
		o += n;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

const char *
idn_hint(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return " (write an internationalized name in its xn-- "
			       "A-label form, as idn2 prints it)";
	return "";
}

size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
	             : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
	             : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
	                                            : 0;
	unsigned char lo = 0x80, hi = 0xBF;

	if (len == 0 || len > n)
		return 0;
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/* The length of the character at s (n bytes left) that a message may
 * show as it is: a printable ASCII byte but '"' and '\\' (1), with utf8
 * a well-formed UTF-8 sequence but a C1 control (U+0080 to U+009F, which
 * a terminal may take for a command); else 0, for \xHH. */
static size_t
printable_len(const unsigned char *s, size_t n, int utf8)
{
	size_t l;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return s[0] != '"' && s[0] != '\\';
	if (!utf8 || (l = utf8_len(s, n)) == 0)
		return 0;
	return s[0] == 0xC2 && s[1] < 0xA0 ? 0 : l;
}

/* str_printable(), or str_printable_utf8() with utf8. */
static const char *
printable_copy(const char *s, size_t n, char *out, size_t cap, int utf8)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 8 < cap; i++) {
		const unsigned char *c = (const unsigned char *)s + i;
		size_t l = printable_len(c, n - i, utf8);

		if (l > 0 && o + l + 7 >= cap)
			break; /* a character whole, or none */
		if (l > 0) {
			memcpy(out + o, c, l);
			o += l;
			i += l - 1;
		} else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02X", *c);
	}
	if (i < n && o + 4 <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

const char *
str_printable(const char *s, size_t n, char *out, size_t cap)
{
	return printable_copy(s, n, out, cap, 0);
}

const char *
str_printable_utf8(const char *s, size_t n, char *out, size_t cap)
{
	return printable_copy(s, n, out, cap, 1);
}

static int
ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int
ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);

		if (ca != cb)
			return ca - cb;
		if (ca == '\0')
			return 0;
	}
	return 0;
}

int
ascii_casecmp(const char *a, const char *b)
{
	return ascii_ncasecmp(a, b, (size_t)-1);
}

int
name_under(const char *name, const char *zone, int strictly)
{
	size_t n = strlen(name), z = strlen(zone);

	if (z == 0) /* the root */
		return !strictly || n > 0;
	if (n < z || ascii_casecmp(name + n - z, zone) != 0)
		return 0;
	return n == z ? !strictly : name[n - z - 1] == '.';
}

void
diag_init(struct diag *d)
{
	d->error[0] = '\0';
	d->nwarn = 0;
}

struct diag *
diag_new(void)
{
	struct diag *d = xmalloc(sizeof(*d));

	diag_init(d);
	return d;
}

/* How far back from its bound a cut looks for the end of a word. */
#define TEXT_CUT_WORD 32

void
text_mark_cut(char *out, size_t len, size_t keep)
{
	const size_t mark = sizeof(TEXT_CUT_MARK) - 1;
	size_t end, i;

	if (len < mark + 1 || len - 1 - mark < keep)
		return;
	end = len - 1 - mark; /* out[end]: the first byte dropped */
	for (i = end; i > keep && end - i < TEXT_CUT_WORD; i--)
		if (out[i] == ' ') {
			end = i;
			break;
		}
	/* a continuation byte goes with the sequence it ends */
	while (end > keep && ((unsigned char)out[end] & 0xC0) == 0x80)
		end--;
	memcpy(out + end, TEXT_CUT_MARK, mark + 1);
}

void
text_utf8_trim(char *s)
{
	size_t n = strlen(s), i = n;
	unsigned char c;

	/* i - 1: the last byte that continues no sequence */
	while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0 || (c = (unsigned char)s[i - 1]) < 0xC0)
		return;
	if (n - (i - 1) < (c >= 0xF0 ? 4u : c >= 0xE0 ? 3u : 2u))
		s[i - 1] = '\0';
}

size_t
text_utf8_head(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n < max)
		return n;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* The edit distance (insertions, deletions, substitutions) of a and b,
 * counted up to 3: a name is short, and only 2 or less counts
 * (text_nearest()). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[40], i, j;

	if (lb >= sizeof(row) / sizeof(row[0]) ||
	    (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j],
			       best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb] < 3 ? row[lb] : 3;
}

const char *
text_nearest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t d, bd = 3;

	for (size_t i = 0; i < n; i++)
		if ((d = edit_distance(word, names[i])) < bd &&
		    2 * d < strlen(word)) {
			bd = d;
			best = names[i];
		}
	return best;
}

int
text_vformat(char *out, size_t len, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, len, fmt, ap);

	if (n >= 0 && len > 0 && (size_t)n >= len)
		text_mark_cut(out, len, 0);
	return n;
}

void
reason_vfirst(char *out, size_t len, const char *fmt, va_list ap)
{
	if (out[0] != '\0')
		return;
	text_vformat(out, len, fmt, ap);
	if (out[0] == '\0')
		str_copy(out, len, "unknown error");
}

void
reason_first(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reason_vfirst(out, len, fmt, ap);
	va_end(ap);
}

void
diag_verror(struct diag *d, const char *fmt, va_list ap)
{
	if (d != NULL)
		reason_vfirst(d->error, sizeof(d->error), fmt, ap);
}

void
diag_error(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror(d, fmt, ap);
	va_end(ap);
}

void
diag_append(struct diag *d, const char *fmt, ...)
{
	size_t len;
	int n;
	va_list ap;

	if (d == NULL || d->error[0] == '\0')
		return;
	len = strlen(d->error);
	va_start(ap, fmt);
	n = vsnprintf(d->error + len, sizeof(d->error) - len, fmt, ap);
	va_end(ap);
	/* the mark goes in the context: the error itself stays whole */
	if (n > 0 && (size_t)n >= sizeof(d->error) - len)
		text_mark_cut(d->error, sizeof(d->error), len);
}

void
diag_warn(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	if (d == NULL || d->nwarn >= DIAG_MAX_WARN)
		return;
	va_start(ap, fmt);
	text_vformat(d->warn[d->nwarn], sizeof(d->warn[d->nwarn]), fmt, ap);
	va_end(ap);
	d->nwarn++;
}

int
diag_failed(const struct diag *d)
{
	return d->error[0] != '\0';
}

void
strlist_add(struct strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

uint64_t
hash64_bytes(const void *data, size_t len)
{
	const unsigned char *b = data;
	uint64_t h = 14695981039346656037ull;

	while (len-- > 0)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

size_t
hash_bytes(const void *data, size_t len)
{
	return (size_t)hash64_bytes(data, len);
}

void
sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---------------------------------------------------- lock holders */

#define HOLDERS_MAX 4          /* processes named */
#define HOLDER_FDINFO_MAX 8192 /* bytes of a /proc/PID/fdinfo/FD read */
/* Descriptors looked at per process: a holder has the lock where the run
 * had it, among its first few; a server with a great many is not one. */
#define HOLDER_FDS_MAX 1024

/* Read at most size - 1 bytes of the file at path (relative to dirfd)
 * into out, terminated. Returns the length, or -1. */
static ssize_t
read_small(int dirfd, const char *path, char *out, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n, len = 0;

	if (fd == -1)
		return -1;
	while ((size_t)len < size - 1 &&
	       (n = read(fd, out + len, size - 1 - (size_t)len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += n;
	}
	close(fd);
	out[len] = '\0';
	return len;
}

/* Whether the fdinfo text says its descriptor holds an flock(2) lock on
 * the file whose inode is id (":INODE ", as the end of the MAJ:MIN:INODE
 * of /proc/locks). */
static int
fdinfo_has_flock(const char *info, const char *id)
{
	const char *p = info;

	while ((p = strstr(p, "lock:")) != NULL) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[256];

		snprintf(line, sizeof(line), "%.*s ", (int)len, p);
		if (strstr(line, " FLOCK ") != NULL &&
		    strstr(line, id) != NULL && strstr(line, "->") == NULL)
			return 1;
		p += len;
	}
	return 0;
}

/* Whether the process whose /proc directory is procfd has a descriptor
 * on the file real (its path) that holds an flock(2) lock on it (id). */
static int
process_holds(int procfd, const char *real, const char *id)
{
	char link[4096], *info = NULL;
	size_t rlen = strlen(real);
	struct dirent *e;
	int held = 0, dfd, seen = 0;
	DIR *fds;

	dfd = openat(procfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || (fds = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return 0;
	}
	while (!held && seen++ < HOLDER_FDS_MAX && (e = readdir(fds)) != NULL) {
		char path[sizeof(e->d_name) + 8];
		/* the link names the file without touching it (a stat could
		 * hang on a dead network file system) */
		ssize_t n =
		    readlinkat(dirfd(fds), e->d_name, link, sizeof(link));

		if (n != (ssize_t)rlen || memcmp(link, real, rlen) != 0)
			continue;
		if (info == NULL)
			info = xmalloc(HOLDER_FDINFO_MAX);
		snprintf(path, sizeof(path), "fdinfo/%s", e->d_name);
		held = read_small(procfd, path, info, HOLDER_FDINFO_MAX) > 0 &&
		       fdinfo_has_flock(info, id);
	}
	closedir(fds);
	free(info);
	return held;
}

/* The parent pid of the process of /proc directory procfd, as digits
 * into out (size bytes), from its stat ("PID (COMM) STATE PPID ...";
 * COMM may hold any byte, the last ')' ends it); "" if unknown. */
static void
parent_pid(int procfd, char *out, size_t size)
{
	char stat[512];
	const char *p = NULL;
	size_t len;

	out[0] = '\0';
	if (read_small(procfd, "stat", stat, sizeof(stat)) > 0)
		p = strrchr(stat, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		return;
	p += 4;
	len = strspn(p, "0123456789");
	if (len > 0 && len < size && p[len] == ' ') {
		memcpy(out, p, len);
		out[len] = '\0';
	}
}

/* Whether process ppid (digits; /proc open as proc) holds the lock
 * too: the run a supervisor belongs to. */
static int
parent_holds(int proc, const char *ppid, const char *real, const char *id)
{
	int pfd, held;

	if (ppid[0] == '\0' || strcmp(ppid, "0") == 0)
		return 0;
	pfd = openat(proc, ppid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd == -1)
		return 0;
	held = process_holds(pfd, real, id);
	close(pfd);
	return held;
}

/* The name of a process, its comm file at path (relative to dirfd),
 * into comm (size bytes), without its newline; "" if unknown. */
static void
process_comm(int dirfd, const char *path, char *comm, size_t size)
{
	ssize_t n = read_small(dirfd, path, comm, size);

	while (n > 0 && comm[n - 1] == '\n')
		n--;
	comm[n > 0 ? n : 0] = '\0';
}

/* Append ", pid N COMMAND" for the process of /proc directory procfd
 * (proc: /proc itself), and for a publish-command's supervisor whose
 * run it is (real, id: the lock, as process_holds() takes them). Returns
 * 1 for a process known to be neither a run (named self, as this one)
 * nor a supervisor, else 0. */
static int
holder_name(int proc, int procfd, const char *pid, const char *real,
            const char *id, const char *self, struct buf *out)
{
	char comm[64], ppid[32];

	process_comm(procfd, "comm", comm, sizeof(comm));
	buf_printf(out, "%spid %s%s%s", out->len ? ", " : "", pid,
	           comm[0] != '\0' ? " " : "", comm);
	if (strcmp(comm, SUPERVISOR_COMM) != 0)
		return comm[0] != '\0' && strcmp(comm, self) != 0;
	parent_pid(procfd, ppid, sizeof(ppid));
	if (parent_holds(proc, ppid, real, id))
		buf_printf(out,
		           ": the supervisor of a publish-command of pid %s",
		           ppid);
	else
		buf_puts(out, ": the supervisor of a publish-command of a run "
		              "that has ended, stopping what the command left");
	return 0;
}

int
flock_holders(int fd, const char *path, struct buf *out)
{
	char *real = realpath(path, NULL), id[64], pid[32], self[64];
	size_t found = 0;
	int strangers = 0;
	struct dirent *e;
	struct stat st;
	DIR *proc = NULL;

	if (real == NULL || fstat(fd, &st) == -1 ||
	    (proc = opendir("/proc")) == NULL)
		goto out;
	/* the inode only: a file system may show stat(2) another device
	 * number than the lock's (a btrfs subvolume) */
	snprintf(id, sizeof(id), ":%llu ", (unsigned long long)st.st_ino);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	process_comm(dirfd(proc), "self/comm", self, sizeof(self));
	while (found <= HOLDERS_MAX && (e = readdir(proc)) != NULL) {
		int pfd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
		    strspn(e->d_name, "0123456789") != strlen(e->d_name) ||
		    strcmp(e->d_name, pid) == 0)
			continue;
		pfd = openat(dirfd(proc), e->d_name,
		             O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd == -1)
			continue;
		if (process_holds(pfd, real, id) && found++ < HOLDERS_MAX)
			strangers += holder_name(dirfd(proc), pfd, e->d_name,
			                         real, id, self, out);
		close(pfd);
	}
	if (found > HOLDERS_MAX)
		buf_puts(out, ", ...");
out:
	if (proc != NULL)
		closedir(proc);
	free(real);
	return strangers;
}

/* Whether this process has CAP_SYS_PTRACE in its effective set. */
static int
may_ptrace(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct c[2];

	memset(c, 0, sizeof(c));
	return syscall(SYS_capget, &h, c) == 0 &&
	       (c[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective &
	        CAP_TO_MASK(CAP_SYS_PTRACE)) != 0;
}

void
no_core(int only_if_ptrace)
{
	if (!only_if_ptrace || may_ptrace())
		prctl(PR_SET_DUMPABLE, 0);
}

double
util_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
