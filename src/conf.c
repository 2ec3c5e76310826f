/*
 * conf.c - the configuration file, mta-sts-sync.conf(5).
 *
 * named.conf-like statements read with the tokenizer of lex.h: include,
 * key (BIND's statement, verbatim), options { } (defaults for every
 * domain) and domain "name" { }. Each block is parsed into a struct block
 * that remembers where every setting was given; at the end the options
 * are inherited by the domains, the required settings checked, paths
 * expanded and keys resolved, so that callers read domain_conf only.
 *
 * Memory is kept small for tens of thousands of domains: every value is
 * stored once in the conf's chunks (struct conf_mem) and an inherited or
 * repeated value is shared, never copied; a domain block leaves only its
 * domain_conf and a small struct pending behind.
 *
 * The trust of the files it names (the configuration, its includes, a
 * key-file, a ca-file, a publish-command's program) is conftrust.c's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "dirwalk.h"
#include "fetch.h"
#include "lex.h"
#include "policy.h"
#include "publish.h"
#include "record.h"
#include "tsig.h"
#include "util.h"

enum setting {
	S_UPSTREAM,
	S_POLICY,
	S_MODE,
	S_MAX_AGE,
	S_MX,
	S_POLICY_FILE,
	S_PUBLISH_CMD,
	S_VERIFY,
	S_VERIFY_URL,
	S_VERIFY_TIMEOUT,
	S_TLS_RPT, /* the last policy or publishing setting: see inherit_one */
	S_KEY,
	S_KEY_FILE,
	S_SERVER,
	S_ZONE,
	S_TTL,
	S_MX_CHECK,
	S_CA_FILE,
	S_RESOLVE,
	S_TIMEOUT,
	S_RESOLVER,
	S_COUNT
};
_Static_assert(S_COUNT <= 32, "struct pending keeps a bit per setting");

#define TTL_MAX 2147483647ull
#define TIMEOUT_MAX ((unsigned long long)CONF_TIMEOUT_MAX)
#define PORT_MAX 65535ull
#define CONF_STR_MAX 16384 /* bytes, a path or URL built here */

/*
 * The options block, or the domain block being read, as written. The
 * values it points to are in the conf's memory (struct conf_mem).
 */
struct block {
	struct domain_conf dc;
	char where[300]; /* "options" or "domain \"x\"", for messages */
	const char *set_file[S_COUNT]; /* where each setting was given */
	unsigned set_line[S_COUNT];    /* 0: not given */
	const char *key_name;
	const char *key_file; /* path, resolved against its file */
};

/*
 * What a domain block leaves for the end of the file, besides its
 * domain_conf: which settings it gave (the options may still follow) and
 * its key, resolved once every key statement has been read.
 */
struct pending {
	uint32_t given; /* bit s: setting s was written in the domain */
	unsigned key_line, key_file_line;
	const char *key_at, *key_file_at; /* where key, key-file are set */
	const char *key_name;
	const char *key_file;
	size_t key; /* index in conf->keys, once resolved */
};

/* A domain as kept: see conf.h. */
struct domain_entry {
	const char *name;
	const char *file;
	struct strlist tls_rpt; /* given in the domain (n 0: not given) */
	const char *verify_url; /* given in the domain, or NULL */
	unsigned line;
	unsigned shared : 31;            /* index in conf->shared */
	unsigned policy_file_shared : 1; /* see domain_conf */
};

/*
 * The settings of a domain block other than its name, place, tls-rpt and
 * verify-url, with what the block leaves for the end of the file: one per
 * distinct combination, shared by the domains that write the same.
 * Compared and hashed byte by byte, so each is zeroed before it is filled
 * and copied with memcpy (padding included): equal bytes are equal
 * settings, and a difference in padding could only cost a copy.
 */
struct shape {
	struct domain_conf dc; /* name, file, line, tls_rpt, verify_url_set
	                          unset */
	struct pending pd;
	int key_done; /* pd.key resolved */
};

/* A hash set of strings (by pointer, not owned); open addressing. */
struct strset {
	char **slot;
	size_t cap; /* 0 or a power of two */
	size_t n;
};

/* A key file already loaded for some domain: loaded once. */
struct loaded_key {
	char *path;
	char *name; /* NULL: the file's only key */
	size_t idx; /* in conf->keys */
};

struct parser {
	struct conf *conf;
	struct diag *d;
	int flags;
	unsigned depth;                    /* include nesting */
	dev_t dev[CONF_INCLUDE_DEPTH + 2]; /* files being read, for loops */
	ino_t ino[CONF_INCLUDE_DEPTH + 2];
	mode_t mode[CONF_INCLUDE_DEPTH + 2]; /* 0: read from memory */
	gid_t gid[CONF_INCLUDE_DEPTH + 2];
	/* each file's descriptor, whose ACL the key statement's check
	   reads (-1: none) */
	int fd[CONF_INCLUDE_DEPTH + 2];
	/* the include statement that is reading each file: at depth i,
	   inc_file[i]:inc_line[i] (unset at depth 0) */
	const char *inc_file[CONF_INCLUDE_DEPTH + 2];
	unsigned inc_line[CONF_INCLUDE_DEPTH + 2];
	struct block options;
	const char *opt_file; /* NULL: no options block */
	unsigned opt_line;
	struct block cur;     /* the domain block being read */
	size_t cap;           /* of conf->domains */
	struct shape *shapes; /* the domains' shared settings */
	size_t nshapes, shapes_cap;
	struct conf_where *shape_at; /* where each shape's are written */
	size_t shape_at_cap;
	unsigned *shape_slot;  /* hash set of shapes: index + 1, 0 empty */
	size_t shape_slots;    /* 0 or a power of two, at most half full */
	struct strset values;  /* setting values, each stored once */
	struct strset names;   /* domain names, for duplicates */
	const char **key_file; /* where each key statement is */
	unsigned *key_line;
	size_t nkeystmt; /* conf->keys[0..nkeystmt) come from statements */
	struct loaded_key *loaded;
	size_t nloaded;
	struct dir_memo *dir_memo; /* while policy_files_check() runs */
	int value_cut;             /* the last value read was a word lx->cut */
};

struct setting_def {
	const char *name;
	int repeatable;
	int (*parse)(struct parser *p, struct lex *lx, struct block *b);
};

static int parse_statements(struct parser *p, struct lex *lx, struct block *b,
                            int in_braces);

/* file as path_shown() shows it before a message of len bytes, of
 * which it may take room bytes of the diag's: its last name, after
 * ".../", when its whole path would cut the message short (the commands
 * of a key file's advice keep their room, KEYFILE_PREFIX_ROOM). */
static const char *
prefix_shown(const char *file, size_t len, size_t room)
{
	const char *s = path_shown(file, '\0', NULL, 0), *base;

	if (strlen(s) + len + 16 < room)
		return s;
	base = strrchr(s, '/');
	return base != NULL ? base + 1 : s;
}

/* "..." before what prefix_shown() gave (fs) for file, when it is its
 * last name only; else "". */
static const char *
prefix_dots(const char *file, const char *fs)
{
	return fs != path_shown(file, '\0', NULL, 0) ? ".../" : "";
}

/* Set "file:line: message" as the error (the file by path_shown(), or
 * prefix_shown() for a long path); returns -1. */
static int __attribute__((format(printf, 4, 5)))
perr(struct parser *p, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[DIAG_MSG_MAX];
	const char *fs;
	va_list ap;

	va_start(ap, fmt);
	text_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fs = prefix_shown(file, strlen(msg), DIAG_MSG_MAX);
	diag_error(p->d, "%s%s:%u: %s", prefix_dots(file, fs), fs, line, msg);
	return -1;
}

/*
 * Set "include-file:line: file:line: message" as the error, for a file
 * whose fault is that it was included (a key file, say), so that the
 * include statement is named too; only "file:line: message" at the top
 * level. Returns -1.
 */
static int __attribute__((format(printf, 4, 5)))
perr_included(struct parser *p, const char *file, unsigned line,
              const char *fmt, ...)
{
	char msg[DIAG_MSG_MAX], at[300] = "";
	const char *fs, *is;
	va_list ap;

	va_start(ap, fmt);
	text_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fs = prefix_shown(file, strlen(msg) + (p->depth > 0 ? sizeof(at) : 0),
	                  DIAG_MSG_MAX);
	if (p->depth > 0) {
		is = prefix_shown(p->inc_file[p->depth],
		                  strlen(msg) + strlen(fs), DIAG_MSG_MAX);
		snprintf(at, sizeof(at),
		         "%s%s:%u: ", prefix_dots(p->inc_file[p->depth], is),
		         is, p->inc_line[p->depth]);
	}
	diag_error(p->d, "%s%s%s:%u: %s", at, prefix_dots(file, fs), fs, line,
	           msg);
	return -1;
}

/*
 * What a message says of a word or value it does not quote. The rule
 * (util.h): a word where a statement or a setting name goes is quoted
 * when keyword_shaped(); any other word, string or value, a URL or a
 * path out of place included, unless secret_shaped(). Neither is quoted
 * when the lexer cut it at a "//" that may be inside a secret (lx->cut).
 */
#define NOT_SHOWN "a value not shown (it looks like a TSIG secret)"

/* Describe the current token for "expected X, found Y" (the rule
 * above). */
static const char *
found(const struct lex *lx, char *buf, size_t size)
{
	char pr[80];

	if (lx->type != TOK_WORD && lx->type != TOK_STRING)
		snprintf(buf, size, "%s", lex_type_name(lx->type));
	else if (lx->cut || secret_shaped(lx->text))
		snprintf(buf, size, "a %s not shown (it may be a TSIG secret)",
		         lex_type_name(lx->type));
	else
		snprintf(
		    buf, size, lx->type == TOK_WORD ? "'%s'" : "\"%s\"",
		    str_printable(lx->text, strlen(lx->text), pr, sizeof(pr)));
	return buf;
}

/* May the word where a statement or a setting goes be quoted? */
static int
word_shown(const struct lex *lx)
{
	return keyword_shaped(lx->text) && !lx->cut;
}

/* Is the value just read (v) one that messages do not quote? */
static int
value_hidden(const struct parser *p, const char *v)
{
	return p->value_cut || secret_shaped(v);
}

/*
 * Value v of a setting, just read, quoted with q for a message about it:
 * at most max bytes of it, a longer one cut before a whole UTF-8
 * character and marked " [cut]"; or NOT_SHOWN (value_hidden()).
 */
static const char *
shown(const struct parser *p, const char *v, char q, int max, char *buf,
      size_t size)
{
	size_t n = strlen(v), keep = (size_t)max;

	if (value_hidden(p, v)) {
		snprintf(buf, size, "%s", NOT_SHOWN);
		return buf;
	}
	if (n <= keep) {
		snprintf(buf, size, "%c%s%c", q, v, q);
		return buf;
	}
	while (keep > 0 && ((unsigned char)v[keep] & 0xC0) == 0x80)
		keep--;
	snprintf(buf, size, "%c%.*s%c [cut]", q, (int)keep, v, q);
	return buf;
}

/* The next token; a tokenizer error is reported. */
static enum lex_type
next(struct parser *p, struct lex *lx)
{
	enum lex_type t = lex_next(lx);

	/* An unterminated comment is reported where it starts (lx->line),
	 * before the token's line is known. */
	if (t == TOK_ERROR)
		perr(p, lx->file,
		     strstr(lx->error, "comment") != NULL ? lx->line
		                                          : lx->tok_line,
		     "%s", lx->error);
	return t;
}

/* Read the next token, which must be t; what names it for the message. */
static int
expect(struct parser *p, struct lex *lx, enum lex_type t, const char *after)
{
	char f[96];
	enum lex_type got = next(p, lx);

	if (got == TOK_ERROR)
		return -1;
	if (got != t)
		return perr(p, lx->file, lx->tok_line,
		            "expected %s after %s, found %s", lex_type_name(t),
		            after, found(lx, f, sizeof(f)));
	return 0;
}

/*
 * Read the ';' that ends a statement or a setting, after what (as the
 * file has it, quoted, or described). A missing one is reported on the
 * line where what ends, where the ';' is to be added, not on the line
 * of the token found instead (often the next statement's).
 */
static int
expect_semi(struct parser *p, struct lex *lx, const char *what)
{
	unsigned end = lx->line;
	char f[96];
	enum lex_type got = next(p, lx);

	if (got == TOK_ERROR)
		return -1;
	if (got != TOK_SEMI)
		return perr(p, lx->file, end, "missing ';' after %s (found %s)",
		            what, found(lx, f, sizeof(f)));
	return 0;
}

/* Read a word or string value for setting name into *out (allocated). */
static int
get_value(struct parser *p, struct lex *lx, const char *name, char **out)
{
	char f[96];
	enum lex_type t = next(p, lx);

	if (t == TOK_ERROR)
		return -1;
	if (t != TOK_WORD && t != TOK_STRING)
		return perr(p, lx->file, lx->tok_line,
		            "expected a value after '%s', found %s", name,
		            found(lx, f, sizeof(f)));
	p->value_cut = lx->cut != 0;
	*out = xstrdup(lx->text);
	return 0;
}

/* What setting name with value v is, for a missing ';' after it, into
 * buf: "'name value'", v in double quotes when quoted (a string, as the
 * configuration wrote it: a blank in it is then no separator), or where
 * the value is not to be quoted (or is long, or holds a quote or a
 * backslash, which the file escapes) "the value of 'name'". */
static const char *
setting_shown(const struct parser *p, const char *name, const char *v,
              int quoted, char *buf, size_t size)
{
	const char *q = quoted ? "\"" : "";
	char pr[80];

	if (value_hidden(p, v) || strlen(v) > 60 ||
	    (quoted && strpbrk(v, "\"\\") != NULL))
		snprintf(buf, size, "the value of '%s'", name);
	else
		snprintf(buf, size, "'%s %s%s%s'", name, q,
		         str_printable(v, strlen(v), pr, sizeof(pr)), q);
	return buf;
}

/* Read "VALUE ;" into *out (allocated, replacing nothing). */
static int
get_value_semi(struct parser *p, struct lex *lx, const char *name, char **out)
{
	char what[160];

	if (get_value(p, lx, name, out) == -1)
		return -1;
	if (expect_semi(p, lx,
	                setting_shown(p, name, *out, lx->type == TOK_STRING,
	                              what, sizeof(what))) == -1) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Read "NUMBER ;" with min <= NUMBER <= max. */
static int
get_number(struct parser *p, struct lex *lx, const char *name,
           unsigned long long min, unsigned long long max,
           unsigned long long *out)
{
	unsigned line;
	char *v = NULL, sh[128];
	int bad, quoted;

	if (get_value(p, lx, name, &v) == -1)
		return -1;
	line = lx->tok_line;
	quoted = lx->type == TOK_STRING;
	bad = parse_uint(v, max, out) == -1 || *out < min;
	if (bad)
		perr(p, lx->file, line,
		     "%s: expected a number from %llu to %llu, found %s", name,
		     min, max, shown(p, v, '\'', 64, sh, sizeof(sh)));
	if (!bad)
		setting_shown(p, name, v, quoted, sh, sizeof(sh));
	free(v);
	if (bad)
		return -1;
	return expect_semi(p, lx, sh);
}

/*
 * Validate a host or zone name (LDH A-labels: letters, digits and '-',
 * not at either end of a label; no '_', as mta-sts.<domain> must be a
 * host name) and normalise it in place: lower case, no trailing dot.
 * Returns 0 or -1.
 */
static int
domain_normalise(char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-' ||
			    s[i - label] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			s[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           c == '-'))
			return -1;
		label++;
	}
	return 0;
}

/* An https:// URL with a host and no blanks or control characters. */
static int
url_ok(const char *u)
{
	const char *h, *c;

	if (ascii_ncasecmp(u, "https://", 8) != 0)
		return 0;
	h = u + 8;
	if (*h == '\0' || *h == '/' || *h == ':' || *h == '?' || *h == '#')
		return 0;
	for (c = u; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
			return 0;
	return 1;
}

/* An IPv4 or IPv6 address (IPv6 in brackets if brackets). */
static int
addr_ok(const char *a, int brackets_ok)
{
	unsigned char bin[16];
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(a);

	if (brackets_ok && n > 2 && a[0] == '[' && a[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return 0;
		memcpy(tmp, a + 1, n - 2);
		tmp[n - 2] = '\0';
		return inet_pton(AF_INET6, tmp, bin) == 1;
	}
	return inet_pton(AF_INET, a, bin) == 1 ||
	       inet_pton(AF_INET6, a, bin) == 1;
}

/* Resolve path against the directory of the file base it is written in. */
static char *
path_resolve(const char *base, const char *path)
{
	const char *slash = strrchr(base, '/');
	struct buf b;

	if (path[0] == '/' || slash == NULL)
		return xstrdup(path);
	buf_init(&b, CONF_STR_MAX);
	buf_append(&b, base, (size_t)(slash - base) + 1);
	buf_puts(&b, path);
	return buf_steal(&b);
}

/* ------------------------------------------------------------ memory */

/*
 * The conf's memory: every string and string list the domains point to
 * is carved out of a few large chunks (no allocator overhead per
 * string), and every local policy is listed, so that conf_free() frees
 * each once. Under AddressSanitizer every allocation keeps a poisoned
 * gap after it, so an overrun is still caught.
 */
#define MEM_CHUNK_MIN 4096u
#define MEM_CHUNK_MAX 65536u
#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif
#ifdef MEM_ASAN
#include <sanitizer/asan_interface.h>
#define MEM_GAP 16u /* poisoned bytes after each allocation */
#define MEM_ALIGN_MIN 8u
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define MEM_GAP 0u
#define MEM_ALIGN_MIN 1u
#endif

/* Strings are taken from the bottom of a chunk and aligned arrays from
 * its top, so that no padding falls between strings. */
struct mem_chunk {
	struct mem_chunk *next;
	size_t size;         /* bytes at data */
	size_t low;          /* data[0..low) is taken by strings */
	size_t high;         /* data[high..size) is taken by arrays */
	unsigned char *data; /* follows the header */
};

struct conf_mem {
	struct mem_chunk *chunk; /* the one being filled; older ones follow */
	struct policy **policies;
	size_t npolicies;
};

/* Take size bytes aligned to align (a power of two) from chunk c, or
 * return NULL if they do not fit. */
static void *
chunk_take(struct mem_chunk *c, size_t size, size_t align)
{
	uintptr_t low = (uintptr_t)(c->data + c->low), at;
	unsigned char *r;

	if (c->high - c->low < size + MEM_GAP)
		return NULL;
	if (align == 1) {
		r = c->data + c->low;
		c->low += size + MEM_GAP;
	} else {
		at = (uintptr_t)(c->data + c->high) - MEM_GAP - size;
		at &= ~(uintptr_t)(align - 1);
		if (at < low)
			return NULL;
		r = c->data + (at - (uintptr_t)c->data);
		c->high = (size_t)(r - c->data);
	}
	ASAN_UNPOISON_MEMORY_REGION(r, size);
	return r;
}

/* A new chunk of at least size usable bytes. */
static struct mem_chunk *
chunk_new(size_t size)
{
	struct mem_chunk *c = xmalloc(sizeof(*c) + size);

	c->next = NULL;
	c->size = c->high = size;
	c->low = 0;
	c->data = (unsigned char *)(c + 1);
	ASAN_POISON_MEMORY_REGION(c->data, size);
	return c;
}

/* size bytes aligned to align (a power of two), freed by mem_free(). */
static void *
mem_alloc(struct conf_mem *m, size_t size, size_t align)
{
	struct mem_chunk *c = m->chunk;
	size_t want;
	void *r;

	if (align < MEM_ALIGN_MIN)
		align = MEM_ALIGN_MIN;
	if (c != NULL && (r = chunk_take(c, size, align)) != NULL)
		return r;
	want = c == NULL ? MEM_CHUNK_MIN : c->size * 2;
	if (want > MEM_CHUNK_MAX)
		want = MEM_CHUNK_MAX;
	if (size > MEM_CHUNK_MAX / 4 && c != NULL) {
		/* a large one gets a chunk of its own, behind the current */
		struct mem_chunk *big = chunk_new(size + align + MEM_GAP);

		big->next = c->next;
		c->next = big;
		return chunk_take(big, size, align);
	}
	if (want < size + align + MEM_GAP)
		want = size + align + MEM_GAP;
	c = chunk_new(want);
	c->next = m->chunk;
	m->chunk = c;
	return chunk_take(c, size, align);
}

/* A copy of s in m. */
static char *
mem_strdup(struct conf_mem *m, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(mem_alloc(m, n, 1), s, n);
}

/* Append s (not copied: it must live in m) to list l, whose array is in
 * m: the array holds n entries when n is a power of two, and doubles. */
static void
mem_list_add(struct conf_mem *m, struct strlist *l, char *s)
{
	char **v;

	if (l->n == 0 || (l->n & (l->n - 1)) == 0) {
		v = mem_alloc(m, (l->n > 0 ? 2 * l->n : 1) * sizeof(*v),
		              sizeof(*v));
		if (l->n > 0)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
	}
	l->v[l->n++] = s;
}

/* Make m the owner of policy pol. */
static void
mem_own_policy(struct conf_mem *m, struct policy *pol)
{
	m->policies =
	    xreallocarray(m->policies, m->npolicies + 1, sizeof(*m->policies));
	m->policies[m->npolicies++] = pol;
}

/* Free m and everything in it. */
static void
mem_free(struct conf_mem *m)
{
	struct mem_chunk *c, *next;
	size_t i;

	if (m == NULL)
		return;
	for (c = m->chunk; c != NULL; c = next) {
		next = c->next;
		ASAN_UNPOISON_MEMORY_REGION(c->data, c->size);
		free(c);
	}
	for (i = 0; i < m->npolicies; i++)
		policy_free(m->policies[i]);
	free(m->policies);
	free(m);
}

/* The slot of t holding s, or the empty slot where s belongs. */
static char **
strset_slot(const struct strset *t, const char *s)
{
	size_t i = hash_bytes(s, strlen(s)) & (t->cap - 1);

	while (t->slot[i] != NULL && strcmp(t->slot[i], s) != 0)
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

/* The string of t equal to s, or NULL. */
static char *
strset_find(const struct strset *t, const char *s)
{
	return t->cap > 0 ? *strset_slot(t, s) : NULL;
}

/* Add s (by pointer), which is not in t; t stays at most half full. */
static void
strset_add(struct strset *t, char *s)
{
	struct strset bigger;
	size_t i;

	if (2 * (t->n + 1) > t->cap) {
		bigger.cap = t->cap > 0 ? 2 * t->cap : 64;
		bigger.n = t->n;
		bigger.slot = xcalloc(bigger.cap, sizeof(*bigger.slot));
		for (i = 0; i < t->cap; i++)
			if (t->slot[i] != NULL)
				*strset_slot(&bigger, t->slot[i]) = t->slot[i];
		free(t->slot);
		*t = bigger;
	}
	*strset_slot(t, s) = s;
	t->n++;
}

/* The stored copy of setting value v: one per distinct value, so that
 * domains giving the same value share it. */
static char *
keep(struct parser *p, const char *v)
{
	char *s = strset_find(&p->values, v);

	if (s == NULL) {
		s = mem_strdup(p->conf->mem, v);
		strset_add(&p->values, s);
	}
	return s;
}

/* ------------------------------------------------------------ settings */

/*
 * The host of url, the value of setting name just read, must be a name
 * that DNS can hold (fetch_url_host_check()): a longer one can never be
 * looked up, and was cut in each run's messages. Returns 0, or -1
 * (perr()).
 */
static int
url_host_fits(struct parser *p, const struct lex *lx, const char *name,
              const char *url)
{
	struct diag d;

	diag_init(&d);
	if (fetch_url_host_check(url, &d) == 0)
		return 0;
	return perr(p, lx->file, lx->tok_line, "%s: %s: fix the URL", name,
	            d.error);
}

static int
set_upstream(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL, sh[128];

	if (get_value_semi(p, lx, "upstream", &v) == -1)
		return -1;
	b->dc.upstream = keep(p, v);
	free(v);
	if (!url_ok(b->dc.upstream))
		return perr(
		    p, lx->file, lx->tok_line,
		    "upstream: expected an https:// URL, found %s",
		    shown(p, b->dc.upstream, '\'', 100, sh, sizeof(sh)));
	if (url_host_fits(p, lx, "upstream", b->dc.upstream) == -1)
		return -1;
	if (b->set_line[S_POLICY])
		return perr(p, lx->file, lx->tok_line,
		            "upstream and policy { } are mutually exclusive "
		            "in %s",
		            b->where);
	return 0;
}

/* mode enforce|testing|none; an override of the upstream mode. */
static int
set_mode(struct parser *p, struct lex *lx, struct block *b)
{
	enum policy_mode mode = POLICY_MODE_ENFORCE;
	char *v = NULL, sh[128];
	int rc = 0;

	if (get_value_semi(p, lx, "mode", &v) == -1)
		return -1;
	if (policy_mode_from_name(v, &mode) == -1)
		rc = perr(p, lx->file, lx->tok_line,
		          "mode: expected enforce, testing or none, found %s",
		          shown(p, v, '\'', 64, sh, sizeof(sh)));
	b->dc.mode = mode;
	b->dc.has_mode = 1;
	free(v);
	return rc;
}

/* max-age N; an override, 0..31557600. */
static int
set_max_age(struct parser *p, struct lex *lx, struct block *b)
{
	unsigned long long v;

	if (get_number(p, lx, "max-age", 0, POLICY_MAX_AGE_MAX, &v) == -1)
		return -1;
	b->dc.max_age = (unsigned)v;
	b->dc.has_max_age = 1;
	return 0;
}

/* Check an mx pattern with the policy module's rules; lower-cases it. */
static int
mx_check_pattern(struct parser *p, struct lex *lx, char *v)
{
	struct policy *scratch = policy_new();
	int secret = value_hidden(p, v); /* before it is lower-cased */
	struct diag md;
	char *c;
	int rc = 0;

	diag_init(&md);
	for (c = v; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	/* policy_add_mx() quotes the pattern: not said of a secret */
	if (scratch == NULL || policy_add_mx(scratch, v, &md) == -1)
		rc = perr(p, lx->file, lx->tok_line, "mx %s%.100s%s: %s",
		          secret ? "" : "\"", secret ? NOT_SHOWN : v,
		          secret ? "" : "\"",
		          diag_failed(&md) && !secret ? md.error
		                                      : "invalid pattern");
	policy_free(scratch);
	return rc;
}

/* mx "pattern"; an extra mx pattern, repeatable. */
static int
set_mx(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL;
	int rc;

	if (get_value_semi(p, lx, "mx", &v) == -1)
		return -1;
	if ((rc = mx_check_pattern(p, lx, v)) == 0)
		mem_list_add(p->conf->mem, &b->dc.extra_mx, keep(p, v));
	free(v);
	return rc;
}

/*
 * The first '%' of s followed by neither '%' nor a letter of allowed,
 * or NULL: a policy-file path or a verify-url expands %d and %%, a
 * publish-command argument %d, %f and %%.
 */
static const char *
percent_bad(const char *s, const char *allowed)
{
	for (; *s != '\0'; s++)
		if (*s == '%' && s[1] != '\0' &&
		    (s[1] == '%' || strchr(allowed, s[1]) != NULL))
			s++;
		else if (*s == '%')
			return s;
	return NULL;
}

/* Whether path ends in "/", "/." or "/.." (or is "." or ".."): it
 * names a directory, whatever is there. */
static int
names_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash != NULL ? slash + 1 : path;

	return *name == '\0' || strcmp(name, ".") == 0 ||
	       strcmp(name, "..") == 0;
}

/* policy-file "path"; %d and %% are expanded later, per domain. */
static int
set_policy_file(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL, *path;

	if (get_value_semi(p, lx, "policy-file", &v) == -1)
		return -1;
	path = path_resolve(lx->file, v);
	b->dc.policy_file_tmpl = keep(p, path);
	free(path);
	free(v);
	if (percent_bad(b->dc.policy_file_tmpl, "d") != NULL)
		return perr(p, lx->file, lx->tok_line,
		            "policy-file: only %%d (the domain) and %%%% may "
		            "follow '%%'");
	if (names_dir(b->dc.policy_file_tmpl))
		return perr(p, lx->file, lx->tok_line,
		            "policy-file \"%s\" names a directory, not a "
		            "file: name the file in it "
		            "(.../.well-known/mta-sts.txt)",
		            b->dc.policy_file_tmpl);
	return 0;
}

/*
 * Refuse publish-command argument i (lx->text; 0 is the program) for the
 * '%' sequence at bad, naming the argument unless it may be a secret.
 * Returns -1.
 */
static int
cmd_percent_error(struct parser *p, const struct lex *lx, size_t i,
                  const char *bad)
{
	char arg[140], pr[120], seq[16];

	if (i == 0)
		snprintf(arg, sizeof(arg), "the program");
	else
		snprintf(arg, sizeof(arg), "argument %zu", i);
	if (!lx->cut && !secret_shaped(lx->text))
		snprintf(
		    arg + strlen(arg), sizeof(arg) - strlen(arg), " '%s'",
		    str_printable(lx->text, strlen(lx->text), pr, sizeof(pr)));
	return perr(
	    p, lx->file, lx->tok_line,
	    "publish-command: %s holds '%s': only %%d (the "
	    "domain), %%f (the policy file) and %%%% may follow '%%' "
	    "(write a %% the command must get as %%%%)",
	    arg, str_printable(bad, bad[1] != '\0' ? 2 : 1, seq, sizeof(seq)));
}

/*
 * publish-command "argv0" "arg" ...; kept as argv, %d and %f unexpanded.
 * Another '%' sequence is refused, as in policy-file and verify-url: kept
 * as written, "%Y" and "%%Y" would both give %Y.
 */
static int
set_publish_cmd(struct parser *p, struct lex *lx, struct block *b)
{
	unsigned end = lx->line; /* where the last word ends: see
	                            expect_semi() */
	char f[96];
	const char *bad;
	enum lex_type t;

	while ((t = next(p, lx)) == TOK_WORD || t == TOK_STRING) {
		if ((bad = percent_bad(lx->text, "df")) != NULL)
			return cmd_percent_error(p, lx, b->dc.publish_cmd.n,
			                         bad);
		mem_list_add(p->conf->mem, &b->dc.publish_cmd,
		             keep(p, lx->text));
		end = lx->line;
	}
	if (t == TOK_ERROR)
		return -1;
	if (t != TOK_SEMI)
		return perr(p, lx->file, end,
		            "missing ';' after the arguments of "
		            "'publish-command' (found %s)",
		            found(lx, f, sizeof(f)));
	if (b->dc.publish_cmd.n == 0)
		return perr(p, lx->file, lx->tok_line,
		            "publish-command: expected a program and its "
		            "arguments");
	return 0;
}

/* Read one of the words in names (NULL-terminated); its index in *idx. */
static int
get_choice(struct parser *p, struct lex *lx, const char *name,
           const char *const *names, const char *expected, int *idx)
{
	char *v = NULL, sh[128];
	int i;

	if (get_value_semi(p, lx, name, &v) == -1)
		return -1;
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0)
			break;
	*idx = i;
	if (names[i] == NULL)
		perr(p, lx->file, lx->tok_line, "%s: expected %s, found %s",
		     name, expected, shown(p, v, '\'', 64, sh, sizeof(sh)));
	free(v);
	return names[i] == NULL ? -1 : 0;
}

/* verify yes|no; */
static int
set_verify(struct parser *p, struct lex *lx, struct block *b)
{
	static const char *const yn[] = {"no", "yes", NULL};
	int i;

	if (get_choice(p, lx, "verify", yn, "yes or no", &i) == -1)
		return -1;
	b->dc.verify = i == 1;
	return 0;
}

/* mx-check enforce|warn|off; */
static int
set_mx_check(struct parser *p, struct lex *lx, struct block *b)
{
	static const char *const v[] = {"enforce", "warn", "off", NULL};
	int i;

	if (get_choice(p, lx, "mx-check", v, "enforce, warn or off", &i) == -1)
		return -1;
	b->dc.mx_check = i == 0   ? MX_CHECK_ENFORCE
	                 : i == 1 ? MX_CHECK_WARN
	                          : MX_CHECK_OFF;
	return 0;
}

/* verify-url "URL"; an https:// URL, %d and %% expanded per domain as
 * in policy-file (so that options may give one for every domain). */
static int
set_verify_url(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL, sh[128];

	if (get_value_semi(p, lx, "verify-url", &v) == -1)
		return -1;
	b->dc.verify_url_set = keep(p, v);
	free(v);
	if (!url_ok(b->dc.verify_url_set))
		return perr(
		    p, lx->file, lx->tok_line,
		    "verify-url: expected an https:// URL, found %s",
		    shown(p, b->dc.verify_url_set, '\'', 100, sh, sizeof(sh)));
	if (percent_bad(b->dc.verify_url_set, "d") != NULL)
		return perr(p, lx->file, lx->tok_line,
		            "verify-url: only %%d (the domain) and %%%% may "
		            "follow '%%' (write a %%-escape of the URL, such "
		            "as %%20, as %%%%20)");
	/* with a '%', each domain's is checked once expanded */
	if (strchr(b->dc.verify_url_set, '%') == NULL &&
	    url_host_fits(p, lx, "verify-url", b->dc.verify_url_set) == -1)
		return -1;
	return 0;
}

/* verify-timeout N; seconds, 1..3600. */
static int
set_verify_timeout(struct parser *p, struct lex *lx, struct block *b)
{
	unsigned long long v;

	if (get_number(p, lx, "verify-timeout", 1, TIMEOUT_MAX, &v) == -1)
		return -1;
	b->dc.verify_timeout = (unsigned short)v;
	return 0;
}

/* timeout N; seconds, 1..3600. */
static int
set_timeout(struct parser *p, struct lex *lx, struct block *b)
{
	unsigned long long v;

	if (get_number(p, lx, "timeout", 1, TIMEOUT_MAX, &v) == -1)
		return -1;
	b->dc.timeout = (unsigned short)v;
	return 0;
}

/* ttl N; 0..2147483647. */
static int
set_ttl(struct parser *p, struct lex *lx, struct block *b)
{
	unsigned long long v;

	if (get_number(p, lx, "ttl", 0, TTL_MAX, &v) == -1)
		return -1;
	b->dc.ttl = (unsigned)v;
	b->dc.has_ttl = 1;
	return 0;
}

/*
 * tls-rpt "URI"; checked by tlsrpt_uri_check(), repeatable. Its scheme is
 * kept in lower case ("MAILTO:" is published "mailto:"): schemes are
 * case-insensitive, lower case is their canonical form (RFC 3986 section
 * 3.1), and a reporter that compares "mailto:" as written would otherwise
 * skip the address. The rest of the URI is kept as written.
 */
static int
set_tls_rpt(struct parser *p, struct lex *lx, struct block *b)
{
	struct diag td;
	char *v = NULL, *c;
	int secret, rc = 0;

	if (get_value_semi(p, lx, "tls-rpt", &v) == -1)
		return -1;
	diag_init(&td);
	secret = value_hidden(p, v);
	/* tlsrpt_uri_check() quotes the URI: not said of a secret */
	if (tlsrpt_uri_check(v, &td) == -1 || diag_failed(&td))
		rc = perr(p, lx->file, lx->tok_line, "tls-rpt %s%.100s%s: %s",
		          secret ? "" : "\"", secret ? NOT_SHOWN : v,
		          secret ? "" : "\"",
		          diag_failed(&td) && !secret ? td.error
		                                      : "invalid URI");
	for (c = v; rc == 0 && *c != '\0' && *c != ':'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	mem_list_add(p->conf->mem, &b->dc.tls_rpt, keep(p, v));
	b->dc.has_tls_rpt = 1;
	free(v);
	return rc;
}

/* key "name"; resolved once the whole file is read. */
static int
set_key(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL;

	if (get_value_semi(p, lx, "key", &v) == -1)
		return -1;
	b->key_name = keep(p, v);
	free(v);
	return 0;
}

/* key-file "path"; loaded once the whole file is read. */
static int
set_key_file(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL, *path;

	if (get_value_semi(p, lx, "key-file", &v) == -1)
		return -1;
	path = path_resolve(lx->file, v);
	b->key_file = keep(p, path);
	free(path);
	free(v);
	return 0;
}

/* ca-file "path"; */
static int
set_ca_file(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL, *path;

	if (get_value_semi(p, lx, "ca-file", &v) == -1)
		return -1;
	path = path_resolve(lx->file, v);
	b->dc.ca_file = keep(p, path);
	free(path);
	free(v);
	return 0;
}

/* The first label of a zone of its own for a domain's _mta-sts name. */
#define STS_ZONE_LABEL "_mta-sts."

/* Validate and normalise a zone name as domain_normalise() does, with
 * one more form: _mta-sts.<name>, a zone of its own for that name (the
 * only zone with an underscore that a domain's records are in;
 * domain_check() sees that it is the domain's). Returns 0 or -1. */
static int
zone_normalise(char *s)
{
	size_t n = sizeof(STS_ZONE_LABEL) - 1;

	if (ascii_ncasecmp(s, STS_ZONE_LABEL, n) != 0)
		return domain_normalise(s);
	memcpy(s, STS_ZONE_LABEL, n);
	return domain_normalise(s + n);
}

/* zone "name"; a domain name, or _mta-sts.<domain>, normalised. */
static int
set_zone(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL, sh[128];
	int rc;

	if (get_value_semi(p, lx, "zone", &v) == -1)
		return -1;
	rc = zone_normalise(v);
	b->dc.zone = keep(p, v);
	free(v);
	if (rc == -1)
		return perr(p, lx->file, lx->tok_line,
		            "zone: %s is not a valid domain name%s",
		            shown(p, b->dc.zone, '\'', 100, sh, sizeof(sh)),
		            idn_hint(b->dc.zone));
	return 0;
}

/* A host name: a domain name whose last label is not all digits (so
 * that a mistyped address is not taken for a name). Normalises s. */
static int
host_ok_name(char *s)
{
	const char *last;

	if (domain_normalise(s) == -1)
		return 0;
	last = strrchr(s, '.');
	last = last != NULL ? last + 1 : s;
	return strspn(last, "0123456789") != strlen(last);
}

/*
 * An IPv6 address in brackets, as a URL writes it, with or without a
 * port after it (":PORT", or "#PORT", whose '#' starts a comment here):
 * say how to write it. v is the value read, rest what follows it in the
 * file. Returns -1 if it was such an address, else 0.
 */
static int
server_bracket_hint(struct parser *p, const struct lex *lx, const char *name,
                    const char *v, const char *rest, size_t restlen)
{
	char addr[INET6_ADDRSTRLEN + 1], port[16] = "";
	const char *close = strchr(v, ']'), *after;
	size_t n, k = 0;

	if (v[0] != '[' || close == NULL ||
	    (n = (size_t)(close - v - 1)) >= sizeof(addr))
		return 0;
	memcpy(addr, v + 1, n);
	addr[n] = '\0';
	if (!addr_ok(addr, 0))
		return 0;
	after = close + 1;
	if (*after == '\0' && lx->type == TOK_WORD && restlen > 0 &&
	    rest[0] == '#') /* the port went into a comment */
		after = rest;
	else
		restlen = strlen(after);
	if (*after == ':' || *after == '#')
		while (k + 1 < restlen && k < 5 && after[k + 1] >= '0' &&
		       after[k + 1] <= '9')
			k++;
	if (k > 0)
		snprintf(port, sizeof(port), " port %.*s", (int)k, after + 1);
	else if (*after == ':' || *after == '#')
		snprintf(port, sizeof(port), " port N");
	return perr(p, lx->file, lx->tok_line,
	            "%s: an IPv6 address is written without brackets%s; "
	            "write: %s %s%s;",
	            name, port[0] != '\0' ? ", and a port with 'port'" : "",
	            name, addr, port);
}

/*
 * A port written the way of dig and nsupdate (ADDR#PORT, whose '#' starts
 * a comment here, so that the port and the ';' are lost) or of a URL
 * (IPv4:PORT or NAME:PORT): say how to write it. v is the value read,
 * rest what follows it in the file; host_ok: a host name may stand for
 * the address. Returns -1 if it was such a port, else 0.
 */
static int
server_port_hint(struct parser *p, const struct lex *lx, const char *name,
                 int host_ok, const char *v, const char *rest, size_t restlen)
{
	char addr[INET6_ADDRSTRLEN + 1], port[8] = "N";
	const char *sep = strchr(v, '#'), *colon = strchr(v, ':');
	int comment = 0;
	size_t n, k = 0;

	if (sep == NULL && lx->type == TOK_WORD && restlen > 0 &&
	    rest[0] == '#') {
		sep = v + strlen(v); /* the '#' and the port follow the word */
		rest++;
		restlen--;
		comment = 1;
	} else if (sep == NULL && colon != NULL &&
	           strchr(colon + 1, ':') == NULL) {
		sep = colon; /* IPv4:PORT (an IPv6 address has more) */
	}
	if (sep == NULL)
		return 0;
	if (!comment) {
		rest = sep + 1;
		restlen = strlen(rest);
	}
	n = (size_t)(sep - v);
	if (n >= sizeof(addr))
		return 0;
	memcpy(addr, v, n);
	addr[n] = '\0';
	if (!addr_ok(addr, 0) && !(host_ok && host_ok_name(addr)))
		return 0;
	while (k < restlen && k < sizeof(port) - 1 && rest[k] >= '0' &&
	       rest[k] <= '9')
		k++;
	if (k > 0)
		snprintf(port, sizeof(port), "%.*s", (int)k, rest);
	return perr(p, lx->file, lx->tok_line,
	            "%s: a port is not written after the address with "
	            "'%c'%s; write: %s %s port %s;",
	            name, *sep == ':' ? ':' : '#',
	            comment ? " (here '#' starts a comment)" : "", name, addr,
	            port);
}

/*
 * Parse "ADDR [port N] ;" for server or resolver. A server may be a host
 * name; a resolver must be an address.
 */
static int
get_server(struct parser *p, struct lex *lx, const char *name, int host_ok,
           const char **addr, unsigned short *port)
{
	unsigned long long v;
	unsigned line;
	char f[96], sh[128], *a = NULL;
	enum lex_type t;
	int ok;

	if (get_value(p, lx, name, &a) == -1)
		return -1;
	line = lx->tok_line;
	if (server_bracket_hint(p, lx, name, a, lx->buf + lx->pos,
	                        lx->len - lx->pos) == -1 ||
	    server_port_hint(p, lx, name, host_ok, a, lx->buf + lx->pos,
	                     lx->len - lx->pos) == -1) {
		free(a);
		return -1;
	}
	ok = addr_ok(a, 0) || (host_ok && host_ok_name(a));
	*addr = keep(p, a);
	free(a);
	if (!ok)
		return perr(p, lx->file, line,
		            "%s: expected an IP address%s, found %s", name,
		            host_ok ? " or host name" : "",
		            shown(p, *addr, '\'', 100, sh, sizeof(sh)));
	if ((t = next(p, lx)) == TOK_SEMI)
		return 0;
	if (t == TOK_ERROR)
		return -1;
	if (t != TOK_WORD || strcmp(lx->text, "port") != 0)
		return perr(p, lx->file, lx->tok_line,
		            "expected 'port' or ';' after %s address, found %s",
		            name, found(lx, f, sizeof(f)));
	if (get_number(p, lx, "port", 1, PORT_MAX, &v) == -1)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* server ADDR [port N]; an address or a host name. */
static int
set_server(struct parser *p, struct lex *lx, struct block *b)
{
	return get_server(p, lx, "server", 1, &b->dc.server, &b->dc.port);
}

/* resolver ADDR [port N]; an address only. */
static int
set_resolver(struct parser *p, struct lex *lx, struct block *b)
{
	return get_server(p, lx, "resolver", 0, &b->dc.resolver,
	                  &b->dc.resolver_port);
}

/*
 * Why the ADDRESS part of a resolve entry, a (size n bytes, not
 * NUL-terminated), would not do what it says, or NULL: libcurl 7.88 takes
 * one or more IPv4 or IPv6 addresses separated by ',', each one in
 * brackets or not.
 */
static const char *
resolve_addr_fault(const char *a, size_t n)
{
	char one[INET6_ADDRSTRLEN + 3];
	const char *end = a + n, *comma;

	for (;; a = comma + 1) {
		comma = memchr(a, ',', (size_t)(end - a));
		if (comma == NULL)
			comma = end;
		/* libcurl skips an empty one: a slip, not an address */
		if (comma == a)
			return "an ADDRESS is empty (a ',' at an end, or "
			       "two in a row)";
		if ((size_t)(comma - a) >= sizeof(one))
			return "an ADDRESS is too long for an IP address";
		memcpy(one, a, (size_t)(comma - a));
		one[comma - a] = '\0';
		if (!addr_ok(one, 1))
			return "each ADDRESS must be an IPv4 or IPv6 address "
			       "(IPv6 in brackets or not)";
		if (comma == end)
			return NULL;
	}
}

/*
 * Why the HOST part of a resolve entry, h (n bytes, not NUL-terminated),
 * would match no URL, or NULL. libcurl 7.88 compares it, without regard
 * to case, with the host of the URL as written there, or takes '*' alone
 * for every host: anything but a host name or '*' is never used.
 */
static const char *
resolve_host_fault(const char *h, size_t n)
{
	char host[256];

	if (n == 1 && h[0] == '*')
		return NULL;
	if (memchr(h, '*', n) != NULL)
		return "libcurl takes '*' alone for every host, and no other "
		       "pattern, so this HOST would match no URL: write an "
		       "entry for each host, or HOST '*'";
	if (n == 0)
		return "HOST is empty";
	if (n - (h[n - 1] == '.') > 253)
		return "HOST is longer than the 253 characters of a DNS name";
	memcpy(host, h, n);
	host[n] = '\0';
	if (addr_ok(host, 1))
		return "HOST is an IP address: a URL that names an address "
		       "is reached there without an entry";
	if (!host_ok_name(host))
		return "HOST must be a host name as the URL writes it "
		       "(letters, digits, '-' and dots) or '*', or it matches "
		       "no URL";
	return NULL;
}

/*
 * Why the resolve entry v would not do what it says, or NULL if it does:
 * "HOST:PORT:ADDRESS[,ADDRESS]...", as curl's --resolve. libcurl 7.88
 * reads a leading '-' as the removal of an entry (which does nothing
 * here) and a leading '+' as an entry that expires, which means nothing
 * here, where each transfer sets its entries anew; so neither is taken.
 */
static const char *
resolve_fault(const char *v)
{
	const char *c1 = strchr(v, ':'), *c2;
	unsigned long long port;
	const char *why;
	char ps[8];

	if (v[0] == '-')
		return "a '-' before HOST makes it libcurl's removal of an "
		       "entry, which would do nothing";
	if (v[0] == '+')
		return "a '+' before HOST (libcurl's entry that expires) "
		       "means nothing here, where each fetch sets its entries "
		       "anew: leave it out";
	if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
		return "HOST, PORT and ADDRESS are separated by ':'";
	if ((why = resolve_host_fault(v, (size_t)(c1 - v))) != NULL)
		return why;
	if ((size_t)(c2 - c1 - 1) >= sizeof(ps))
		return "PORT must be a number from 1 to 65535";
	memcpy(ps, c1 + 1, (size_t)(c2 - c1 - 1));
	ps[c2 - c1 - 1] = '\0';
	if (parse_uint(ps, PORT_MAX, &port) == -1 || port == 0)
		return "PORT must be a number from 1 to 65535";
	return resolve_addr_fault(c2 + 1, strlen(c2 + 1));
}

/* The entry of list l for the same HOST:PORT as v (no regard to case, as
 * libcurl looks them up), or NULL. Both are well formed. */
static const char *
resolve_same(const struct strlist *l, const char *v)
{
	size_t n = (size_t)(strchr(strchr(v, ':') + 1, ':') - v);

	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) > n && l->v[i][n] == ':' &&
		    ascii_ncasecmp(l->v[i], v, n) == 0)
			return l->v[i];
	return NULL;
}

/* resolve "HOST:PORT:ADDRESS[,ADDRESS]..."; repeatable. */
static int
set_resolve(struct parser *p, struct lex *lx, struct block *b)
{
	char *v = NULL, sh[272], hp[264];
	const char *why;
	int rc = 0;

	if (get_value_semi(p, lx, "resolve", &v) == -1)
		return -1;
	if ((why = resolve_fault(v)) != NULL) {
		rc = perr(
		    p, lx->file, lx->tok_line,
		    "resolve: expected \"HOST:PORT:ADDRESS[,ADDRESS]...\", "
		    "found %s: %s",
		    shown(p, v, '\'', 100, sh, sizeof(sh)), why);
	} else if (resolve_same(&b->dc.resolve, v) != NULL) {
		/* HOST:PORT, at most 254 + 1 + 5 bytes */
		snprintf(hp, sizeof(hp), "%.*s",
		         (int)(strchr(strchr(v, ':') + 1, ':') - v), v);
		rc = perr(p, lx->file, lx->tok_line,
		          "resolve: %s is given twice in %s, and libcurl keeps "
		          "the last entry only: give all its addresses in one, "
		          "separated by ','",
		          shown(p, hp, '\'', 300, sh, sizeof(sh)), b->where);
	}
	mem_list_add(p->conf->mem, &b->dc.resolve, keep(p, v));
	free(v);
	return rc;
}

/* mx "pattern"; inside policy { }. */
static int
policy_mx(struct parser *p, struct lex *lx, struct policy *pol)
{
	struct diag md;
	char *s = NULL;
	int rc;

	if (get_value_semi(p, lx, "mx", &s) == -1)
		return -1;
	diag_init(&md);
	/* after mx_check_pattern(), policy_add_mx() fails only past
	 * POLICY_MX_MAX patterns: the pattern it quotes is a valid one */
	if ((rc = mx_check_pattern(p, lx, s)) == 0 &&
	    (rc = policy_add_mx(pol, s, &md)) == -1)
		perr(p, lx->file, lx->tok_line, "mx \"%.100s\": %s", s,
		     md.error);
	free(s);
	return rc;
}

/* mode M; inside policy { }. */
static int
policy_mode(struct parser *p, struct lex *lx, struct policy *pol)
{
	char *s = NULL, sh[128];
	int rc = 0;

	if (get_value_semi(p, lx, "mode", &s) == -1)
		return -1;
	if (policy_mode_from_name(s, &pol->mode) == -1)
		rc = perr(p, lx->file, lx->tok_line,
		          "mode: expected enforce, testing or none, found %s",
		          shown(p, s, '\'', 64, sh, sizeof(sh)));
	free(s);
	return rc;
}

/* One setting of a policy { } block into pol; *seen tracks duplicates
 * of mode (1) and max-age (2). */
static int
policy_setting(struct parser *p, struct lex *lx, struct policy *pol,
               unsigned *seen)
{
	unsigned long long v;
	unsigned bit = strcmp(lx->text, "mode") == 0      ? 1
	               : strcmp(lx->text, "max-age") == 0 ? 2
	                                                  : 0;

	if (strcmp(lx->text, "mx") == 0)
		return policy_mx(p, lx, pol);
	if (bit == 0 && !word_shown(lx))
		return perr(p, lx->file, lx->tok_line,
		            "expected mode, mx or max-age in policy { }, found "
		            "a word that is no setting name (not shown: it may "
		            "be a secret)");
	if (bit == 0)
		return perr(p, lx->file, lx->tok_line,
		            "unknown setting '%s' in policy { } (expected "
		            "mode, mx or max-age)",
		            lx->text);
	if (*seen & bit)
		return perr(p, lx->file, lx->tok_line,
		            "duplicate setting '%s' in policy { }", lx->text);
	*seen |= bit;
	if (bit == 1)
		return policy_mode(p, lx, pol);
	if (get_number(p, lx, "max-age", 0, POLICY_MAX_AGE_MAX, &v) == -1)
		return -1;
	pol->max_age = (unsigned long)v;
	return 0;
}

/* policy { mode M; mx "p"; ... max-age N; }; a local policy, validated. */
static int
set_policy(struct parser *p, struct lex *lx, struct block *b)
{
	unsigned line = lx->tok_line, seen = 0;
	struct policy *pol;
	struct diag vd;
	enum lex_type t;

	if (expect(p, lx, TOK_LBRACE, "'policy'") == -1)
		return -1;
	if ((pol = policy_new()) == NULL)
		return perr(p, lx->file, line, "cannot create a policy");
	mem_own_policy(p->conf->mem, pol);
	b->dc.local_policy = pol;
	while ((t = next(p, lx)) == TOK_WORD)
		if (policy_setting(p, lx, pol, &seen) == -1)
			return -1;
	if (t == TOK_ERROR)
		return -1;
	if (t != TOK_RBRACE)
		return perr(p, lx->file, lx->tok_line,
		            "expected a setting or '}' in policy { }");
	if (expect_semi(p, lx, "the '}' of policy { }") == -1)
		return -1;
	if (!(seen & 1))
		return perr(p, lx->file, line, "policy { } needs a mode");
	/* max_age is required (RFC 8461 section 3.2); 0 would quietly tell
	 * senders not to cache the policy at all */
	if (!(seen & 2))
		return perr(p, lx->file, line,
		            "policy { } needs a max-age (RFC 8461 section "
		            "3.2), e.g. max-age 604800;");
	diag_init(&vd);
	if (policy_validate(pol, &vd) == -1 || diag_failed(&vd))
		return perr(p, lx->file, line, "policy { }: %s",
		            diag_failed(&vd) ? vd.error : "invalid policy");
	if (b->set_line[S_UPSTREAM])
		return perr(p, lx->file, line,
		            "upstream and policy { } are mutually exclusive "
		            "in %s",
		            b->where);
	return 0;
}

static const struct setting_def settings[S_COUNT] = {
    [S_UPSTREAM] = {"upstream", 0, set_upstream},
    [S_POLICY] = {"policy", 0, set_policy},
    [S_MODE] = {"mode", 0, set_mode},
    [S_MAX_AGE] = {"max-age", 0, set_max_age},
    [S_MX] = {"mx", 1, set_mx},
    [S_POLICY_FILE] = {"policy-file", 0, set_policy_file},
    [S_PUBLISH_CMD] = {"publish-command", 0, set_publish_cmd},
    [S_VERIFY] = {"verify", 0, set_verify},
    [S_VERIFY_URL] = {"verify-url", 0, set_verify_url},
    [S_VERIFY_TIMEOUT] = {"verify-timeout", 0, set_verify_timeout},
    [S_TLS_RPT] = {"tls-rpt", 1, set_tls_rpt},
    [S_KEY] = {"key", 0, set_key},
    [S_KEY_FILE] = {"key-file", 0, set_key_file},
    [S_SERVER] = {"server", 0, set_server},
    [S_ZONE] = {"zone", 0, set_zone},
    [S_TTL] = {"ttl", 0, set_ttl},
    [S_MX_CHECK] = {"mx-check", 0, set_mx_check},
    [S_CA_FILE] = {"ca-file", 0, set_ca_file},
    [S_RESOLVE] = {"resolve", 1, set_resolve},
    [S_TIMEOUT] = {"timeout", 0, set_timeout},
    [S_RESOLVER] = {"resolver", 0, set_resolver},
};

#define B64_CHARS                                                              \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/* Is the word just read base64 up to the "//" that cut it (lx->cut),
 * and as long as a secret, with the "//" and what follows? */
static int
cut_secret(const struct lex *lx)
{
	return lx->cut >= SECRET_SHAPED_MIN && lx->cut % 4 == 0 &&
	       strspn(lx->text, B64_CHARS) == strlen(lx->text);
}

/* Is w shaped like a one-line key, [alg:]name:secret (no statement or
 * setting name holds ':')? */
static int
oneline_shaped(const char *w)
{
	const char *c1 = strchr(w, ':'), *c2;

	if (c1 == NULL || c1 == w)
		return 0;
	c2 = strchr(c1 + 1, ':');
	if (c2 != NULL && (c2 == c1 + 1 || strchr(c2 + 1, ':') != NULL))
		return 0;
	return strrchr(w, ':')[1] != '\0';
}

/*
 * The word just read where a statement or a setting goes (lx->text) is
 * shaped like the contents of a key file that is not BIND's: Knot's
 * "key:" (keymgr -t), a one-line [alg:]name:secret, or a bare base64
 * secret (key_secret_shaped(), of a length base64 has; or base64 up to a
 * "//" that may be inside a secret of such a length: cut_secret()). Such
 * a file was named with include instead of key-file: say so, without
 * quoting the word. Returns -1 with the error, or 0.
 */
static int
key_file_words(struct parser *p, const struct lex *lx)
{
	const char *w = lx->text, *c1 = strchr(w, ':');
	char qf[PATH_MAX + 3];
	const char *what, *file = path_shown(lx->file, '"', qf, sizeof(qf));

	if (strcmp(w, "key:") == 0)
		what = "a Knot key list, as keymgr -t writes it";
	else if (oneline_shaped(w))
		what = "a one-line [algorithm:]name:secret key";
	else if (c1 == NULL && (cut_secret(lx) ||
	                        (strlen(w) % 4 == 0 && key_secret_shaped(w))))
		return perr_included(
		    p, lx->file, lx->tok_line,
		    "found a bare base64 TSIG secret (not shown), not "
		    "configuration: a key file names the key too (write it "
		    "with tsig-keygen, or as name:secret), and is named with "
		    "key-file %s; in the domain or in options, not with "
		    "include",
		    file);
	else
		return 0;
	return perr_included(p, lx->file, lx->tok_line,
	                     "this looks like a TSIG key file (%s; the key is "
	                     "not shown), not configuration: name it with "
	                     "key-file %s; in the domain or in options, "
	                     "not with include",
	                     what, file);
}

/* The setting name nearest to word, for a "did you mean"
 * (text_nearest()), or NULL. */
static const char *
nearest_setting(const char *word)
{
	const char *names[S_COUNT];

	for (size_t i = 0; i < S_COUNT; i++)
		names[i] = settings[i].name;
	return text_nearest(word, names, S_COUNT);
}

/* Parse one setting of an options or domain block; its name is read. */
static int
parse_setting(struct parser *p, struct lex *lx, struct block *b)
{
	const struct setting_def *s = NULL;
	size_t i;

	for (i = 0; i < S_COUNT; i++)
		if (strcmp(lx->text, settings[i].name) == 0)
			s = &settings[i];
	if (s == NULL && key_file_words(p, lx) == -1)
		return -1;
	if (s == NULL && !word_shown(lx))
		return perr(p, lx->file, lx->tok_line,
		            "expected a setting in %s, found a word that is "
		            "no setting name (not shown: it may be a secret)",
		            b->where);
	/* the key's own words: its value is not read, so never shown */
	if (s == NULL && (strcmp(lx->text, "secret") == 0 ||
	                  strcmp(lx->text, "algorithm") == 0))
		return perr(p, lx->file, lx->tok_line,
		            "'%s' belongs in a key statement (key \"name\" { "
		            "algorithm ...; secret \"...\"; };), or in a key "
		            "file named with key-file, not in %s",
		            lx->text, b->where);
	if (s == NULL && nearest_setting(lx->text) != NULL)
		return perr(p, lx->file, lx->tok_line,
		            "unknown setting '%s' in %s; did you mean '%s'?",
		            lx->text, b->where, nearest_setting(lx->text));
	if (s == NULL)
		return perr(p, lx->file, lx->tok_line,
		            "unknown setting '%s' in %s", lx->text, b->where);
	i = (size_t)(s - settings);
	if (b->set_line[i] && !s->repeatable)
		return perr(p, lx->file, lx->tok_line,
		            "duplicate setting '%s' in %s (first at %s:%u)",
		            s->name, b->where, b->set_file[i], b->set_line[i]);
	if (!b->set_line[i]) {
		b->set_line[i] = lx->tok_line;
		b->set_file[i] = lx->file;
	}
	return s->parse(p, lx, b);
}

/* ------------------------------------------------------------ statements */

/* A block with the defaults of conf.h. */
static void
block_init(struct block *b, const char *where)
{
	memset(b, 0, sizeof(*b));
	str_copy(b->where, sizeof(b->where), where);
	b->dc.verify = 1;
	b->dc.verify_timeout = CONF_DEFAULT_VERIFY_TIMEOUT;
	b->dc.port = CONF_DEFAULT_PORT;
	b->dc.resolver_port = CONF_DEFAULT_PORT;
	b->dc.ttl = CONF_DEFAULT_TTL;
	b->dc.mx_check = MX_CHECK_ENFORCE;
	b->dc.timeout = CONF_DEFAULT_TIMEOUT;
}

/*
 * The mode rule of key files (keyfile_check_mode()) for a file that holds
 * key statement ks, at the statement's line, prefixed with the include
 * that reads the file. The main file is not called a key file: its key
 * may move to a file of its own.
 */
static int
key_file_mode_check(struct parser *p, const char *file,
                    const struct keyspec *ks)
{
	mode_t mode = p->mode[p->depth];
	char words[80], kl[TSIG_NAME_MAX + 256], acl[2 * PATH_MAX + 512];
	char head[DIAG_MSG_MAX], msg[DIAG_MSG_MAX - KEYFILE_PREFIX_ROOM];

	if (mode == 0)
		return 0; /* read from memory */
	if (keyfile_mode_words(mode, words, sizeof(words)) == NULL) {
		/* not bound by the mode: an NFSv4 ACL, an SMB mount */
		if (keyfile_acl_other_words(p->fd[p->depth], file, mode,
		                            p->gid[p->depth], acl,
		                            sizeof(acl))[0] == '\0')
			return 0;
		return perr_included(p, file, ks->line,
		                     "%s: this file holds a TSIG secret but %s",
		                     tsig_key_label(ks->name, kl, sizeof(kl)),
		                     acl);
	}
	if (keyfile_acl_readers_own(p->fd[p->depth], file, mode,
	                            p->gid[p->depth]))
		return 0; /* safe */
	snprintf(head, sizeof(head),
	         "%s: this file holds a TSIG secret but is %s: ",
	         tsig_key_label(ks->name, kl, sizeof(kl)),
	         keyfile_access_words(p->fd[p->depth], file, mode,
	                              p->gid[p->depth], acl, sizeof(acl)));
	return perr_included(
	    p, file, ks->line, "%s",
	    keyfile_mode_advice(
	        head, p->fd[p->depth], file, mode, p->gid[p->depth],
	        p->depth == 0 ? ", or move the key to a file of its own "
	                        "named by key-file"
	                      : keyfile_group_hint(p->fd[p->depth], file, mode,
	                                           p->gid[p->depth]),
	        msg, sizeof(msg)));
}

/* key "name" { algorithm A; secret "S"; }; as BIND writes it. */
static int
parse_key_stmt(struct parser *p, struct lex *lx)
{
	struct conf *c = p->conf;
	char kl[TSIG_NAME_MAX + 256], at[PATH_MAX + 16];
	struct keyspec ks;
	size_t i;
	int rc = -1;

	if (keyspec_parse_bind(lx, &ks, p->d) == -1 ||
	    key_file_mode_check(p, lx->file, &ks) == -1)
		goto out;
	for (i = 0; i < p->nkeystmt; i++)
		if (tsig_key_name_eq(c->keys[i].name, ks.name)) {
			perr(p, lx->file, ks.line,
			     "duplicate %s (first at %s:%u)",
			     tsig_key_label(ks.name, kl, sizeof(kl)),
			     p->key_file[i], p->key_line[i]);
			goto out;
		}
	c->keys = xreallocarray(c->keys, c->nkeys + 1, sizeof(*c->keys));
	if (keyspec_to_key(lx->file, &ks, &c->keys[c->nkeys], p->d) == -1)
		goto out;
	snprintf(at, sizeof(at), "%s:%u", lx->file, ks.line);
	c->keys[c->nkeys].origin = keep(p, at); /* for the BADKEY advice */
	p->key_file =
	    xreallocarray(p->key_file, p->nkeystmt + 1, sizeof(*p->key_file));
	p->key_line =
	    xreallocarray(p->key_line, p->nkeystmt + 1, sizeof(*p->key_line));
	p->key_file[p->nkeystmt] = lx->file;
	p->key_line[p->nkeystmt] = ks.line;
	c->nkeys++;
	p->nkeystmt++;
	rc = 0;
out:
	keyspec_wipe(&ks);
	return rc;
}

/* options { ... }; */
static int
parse_options(struct parser *p, struct lex *lx)
{
	if (p->opt_file != NULL)
		return perr(p, lx->file, lx->tok_line,
		            "duplicate options block (first at %s:%u)",
		            p->opt_file, p->opt_line);
	p->opt_file = lx->file;
	p->opt_line = lx->tok_line;
	if (expect(p, lx, TOK_LBRACE, "'options'") == -1)
		return -1;
	return parse_statements(p, lx, &p->options, 1);
}

/* Report name as a duplicate of the domain that has it already. */
static int
domain_duplicate(struct parser *p, const struct lex *lx, unsigned line,
                 const char *name)
{
	const struct domain_entry *e = p->conf->domains;
	size_t i;

	for (i = 0; i < p->conf->ndomains; i++)
		if (strcmp(e[i].name, name) == 0)
			break;
	return perr(p, lx->file, line,
	            "duplicate domain \"%s\" (first at %s:%u)", name,
	            i < p->conf->ndomains ? e[i].file : "?",
	            i < p->conf->ndomains ? e[i].line : 0);
}

/* The slot of p's shape set holding a shape equal to k, or the empty
 * slot where it belongs. */
static unsigned *
shape_slot(const struct parser *p, const struct shape *k)
{
	size_t i = hash_bytes(k, sizeof(*k)) & (p->shape_slots - 1);

	while (p->shape_slot[i] != 0 &&
	       memcmp(&p->shapes[p->shape_slot[i] - 1], k, sizeof(*k)) != 0)
		i = (i + 1) & (p->shape_slots - 1);
	return &p->shape_slot[i];
}

/* Double p's shape set (or make the first one), keeping it half empty. */
static void
shape_grow(struct parser *p)
{
	size_t i, n = p->shape_slots > 0 ? 2 * p->shape_slots : 64;

	free(p->shape_slot);
	p->shape_slot = xcalloc(n, sizeof(*p->shape_slot));
	p->shape_slots = n;
	for (i = 0; i < p->nshapes; i++)
		*shape_slot(p, &p->shapes[i]) = (unsigned)i + 1;
}

/* The index of the shape equal to k, added if it is new. */
static unsigned
shape_keep(struct parser *p, const struct shape *k)
{
	unsigned *slot;

	if (2 * (p->nshapes + 1) > p->shape_slots)
		shape_grow(p);
	slot = shape_slot(p, k);
	if (*slot == 0) {
		if (p->nshapes == p->shapes_cap) {
			p->shapes_cap = p->shapes_cap ? 2 * p->shapes_cap : 16;
			p->shapes = xreallocarray(p->shapes, p->shapes_cap,
			                          sizeof(*p->shapes));
		}
		memcpy(&p->shapes[p->nshapes++], k, sizeof(*k));
		*slot = (unsigned)p->nshapes;
	}
	return *slot - 1;
}

/* The shape of block b: all but its name, place, tls-rpt and verify-url,
 * which are a domain's own. */
static void
shape_of(const struct block *b, struct shape *k)
{
	size_t s;

	memset(k, 0, sizeof(*k));
	memcpy(&k->dc, &b->dc, sizeof(k->dc));
	k->dc.name = k->dc.file = NULL;
	k->dc.line = 0;
	memset(&k->dc.tls_rpt, 0, sizeof(k->dc.tls_rpt));
	k->dc.verify_url_set = NULL;
	for (s = 0; s < S_COUNT; s++)
		if (b->set_line[s])
			k->pd.given |= (uint32_t)1 << s;
	k->pd.key_name = b->key_name;
	k->pd.key_at = b->set_file[S_KEY];
	k->pd.key_line = b->set_line[S_KEY];
	k->pd.key_file = b->key_file;
	k->pd.key_file_at = b->set_file[S_KEY_FILE];
	k->pd.key_file_line = b->set_line[S_KEY_FILE];
}

/* Append the domain block just read to conf->domains: its own values,
 * and its shape (what is left for the end of the file with it). */
static void
domain_keep(struct parser *p, const struct block *b)
{
	struct conf *c = p->conf;
	struct domain_entry *e;
	struct shape k;

	if (c->ndomains == p->cap) {
		p->cap = p->cap > 0 ? 2 * p->cap : 16;
		c->domains =
		    xreallocarray(c->domains, p->cap, sizeof(*c->domains));
	}
	shape_of(b, &k);
	e = &c->domains[c->ndomains++];
	e->name = b->dc.name;
	e->file = b->dc.file;
	e->line = b->dc.line;
	e->tls_rpt = b->dc.tls_rpt;
	e->verify_url = b->dc.verify_url_set;
	e->shared = shape_keep(p, &k);
	e->policy_file_shared = 0; /* policy_files_check() sets it */
}

/* Note where block b, which made the last shape, writes the settings
 * struct conf_where tells (those not written are inherited: finish()). */
static void
shape_where_keep(struct parser *p, const struct block *b)
{
	struct conf_where *w;

	if (p->nshapes > p->shape_at_cap) {
		p->shape_at_cap = p->shapes_cap;
		p->shape_at = xreallocarray(p->shape_at, p->shape_at_cap,
		                            sizeof(*p->shape_at));
	}
	w = &p->shape_at[p->nshapes - 1];
	w->cmd_file = b->set_file[S_PUBLISH_CMD];
	w->cmd_line = b->set_line[S_PUBLISH_CMD];
	w->ca_file = b->set_file[S_CA_FILE];
	w->ca_line = b->set_line[S_CA_FILE];
}

/* The conf_where of every shape, for conf->where: the options' place for
 * a setting its domains inherit. */
static struct conf_where *
shapes_where(const struct parser *p)
{
	const struct block *o = &p->options;
	struct conf_where *w = xcalloc(p->nshapes, sizeof(*w));

	for (size_t i = 0; i < p->nshapes; i++) {
		w[i] = p->shape_at[i];
		if (w[i].cmd_line == 0 && o->set_line[S_PUBLISH_CMD]) {
			w[i].cmd_file = o->set_file[S_PUBLISH_CMD];
			w[i].cmd_line = o->set_line[S_PUBLISH_CMD];
		}
		if (w[i].ca_line == 0 && o->set_line[S_CA_FILE]) {
			w[i].ca_file = o->set_file[S_CA_FILE];
			w[i].ca_line = o->set_line[S_CA_FILE];
		}
	}
	return w;
}

/* domain "name" { ... }; */
static int
parse_domain(struct parser *p, struct lex *lx)
{
	unsigned line = lx->tok_line;
	struct block *b = &p->cur;
	char *name = NULL, *kept, where[300];
	size_t nshapes;

	if (get_value(p, lx, "domain", &name) == -1)
		return -1;
	if (domain_normalise(name) == -1) {
		perr(p, lx->file, line,
		     "domain: %s is not a valid domain name%s",
		     shown(p, name, '\'', 100, where, sizeof(where)),
		     idn_hint(name));
		free(name);
		return -1;
	}
	if (strset_find(&p->names, name) != NULL) {
		domain_duplicate(p, lx, line, name);
		free(name);
		return -1;
	}
	snprintf(where, sizeof(where), "domain \"%s\"", name);
	block_init(b, where);
	kept = mem_strdup(p->conf->mem, name);
	free(name);
	strset_add(&p->names, kept);
	b->dc.name = kept;
	b->dc.file = lx->file;
	b->dc.line = line;
	if (expect(p, lx, TOK_LBRACE, "domain name") == -1 ||
	    parse_statements(p, lx, b, 1) == -1)
		return -1;
	nshapes = p->nshapes;
	domain_keep(p, b);
	if (p->nshapes > nshapes)
		shape_where_keep(p, b);
	return 0;
}

/* Parse buf as file (already in conf->files) within block b. */
static int
parse_buffer(struct parser *p, const char *file, const char *buf, size_t len,
             struct block *b)
{
	struct lex *lx = xmalloc(sizeof(*lx));
	int rc;

	lex_init(lx, file, buf, len);
	rc = parse_statements(p, lx, b, 0);
	explicit_bzero(lx, sizeof(*lx));
	free(lx);
	return rc;
}

/* Record a file name in conf->files; returns the stable copy. */
static const char *
file_name_keep(struct conf *c, const char *name)
{
	strlist_add(&c->files, name);
	return c->files.v[c->files.n - 1];
}

/*
 * The included file path cannot be read (why): say so, and, for a path
 * that looks like a key (the one-line key or the secret written where
 * the path goes), what to do instead, without showing it. Returns -1.
 */
static int
include_unreadable(struct parser *p, const struct lex *lx, unsigned line,
                   const char *path, const char *why)
{
	char q[PATH_MAX + 3], msg[DIAG_MSG_MAX];

	if (key_written_as_path(path))
		return perr(
		    p, lx->file, line, "%s",
		    key_as_path_message("include", why, msg, sizeof(msg)));
	return perr(p, lx->file, line, "cannot read include %s: %s",
	            path_shown(path, '"', q, sizeof(q)), why);
}

/* Read an included file and parse it within b. */
static int
include_read(struct parser *p, const struct lex *lx, unsigned line,
             const char *path, struct block *b)
{
	char q[PATH_MAX + 3];
	struct diag *rd = diag_new(); /* see conf_parse_mode() */
	struct stat st;
	size_t len = 0, i;
	char *buf;
	int rc, fd, unread;

	buf = conf_read_trusted(path, CONF_TRUST_CONF, CONF_MAX_SIZE, &len, &st,
	                        &fd, &unread, rd);
	if (buf == NULL && unread)
		rc = include_unreadable(p, lx, line, path, rd->error);
	else if (buf == NULL)
		rc = perr(p, lx->file, line, "%s%s", rd->error,
		          st.st_uid != 0 && st.st_uid != geteuid()
		              ? " (if it holds only a TSIG key, name it with "
		                "key-file, which reads keys only and may "
		                "belong to that user)"
		              : "");
	free(rd);
	if (buf == NULL)
		return rc;
	for (i = 0; i <= p->depth; i++)
		if (p->dev[i] == st.st_dev && p->ino[i] == st.st_ino &&
		    p->mode[i] != 0) {
			conf_wipe_free(buf, len + 1);
			close(fd);
			return perr(p, lx->file, line,
			            "include loop: %s is already being read",
			            path_shown(path, '"', q, sizeof(q)));
		}
	p->depth++;
	p->dev[p->depth] = st.st_dev;
	p->ino[p->depth] = st.st_ino;
	p->mode[p->depth] = st.st_mode | S_IFREG;
	p->gid[p->depth] = st.st_gid;
	p->fd[p->depth] = fd;
	p->inc_file[p->depth] = lx->file;
	p->inc_line[p->depth] = line;
	rc = parse_buffer(p, file_name_keep(p->conf, path), buf, len, b);
	p->depth--;
	conf_wipe_free(buf, len + 1);
	close(fd);
	return rc;
}

/* include "path"; relative to the including file's directory. */
static int
parse_include(struct parser *p, struct lex *lx, struct block *b)
{
	unsigned line = lx->tok_line;
	char *v = NULL, *path;
	int rc;

	if (get_value_semi(p, lx, "include", &v) == -1)
		return -1;
	if (p->flags & CONF_NO_FILES) {
		free(v);
		return perr(p, lx->file, line, "include is not allowed here");
	}
	if (p->depth >= CONF_INCLUDE_DEPTH) {
		free(v);
		return perr(p, lx->file, line,
		            "include nesting too deep (more than %u levels)",
		            CONF_INCLUDE_DEPTH);
	}
	path = path_resolve(lx->file, v);
	free(v);
	if ((p->flags & CONF_NO_SECRETS) && access(path, R_OK) == -1 &&
	    errno == EACCES) {
		free(path);
		return 0;
	}
	rc = include_read(p, lx, line, path, b);
	free(path);
	return rc;
}

/* A top-level statement other than include; its first word is read. */
static int
parse_top(struct parser *p, struct lex *lx)
{
	static const char *const stmts[] = {"include", "key", "options",
	                                    "domain"};
	const char *near;

	if (strcmp(lx->text, "key") == 0)
		return parse_key_stmt(p, lx);
	if (strcmp(lx->text, "options") == 0)
		return parse_options(p, lx);
	if (strcmp(lx->text, "domain") == 0)
		return parse_domain(p, lx);
	if (strcmp(lx->text, "update-policy") == 0) /* ddns-confgen's */
		return perr(p, lx->file, lx->tok_line,
		            "update-policy belongs in named.conf, not here "
		            "(plain ddns-confgen prints one: write the key "
		            "with tsig-keygen or ddns-confgen -q)");
	if (key_file_words(p, lx) == -1)
		return -1;
	if (!word_shown(lx))
		return perr(p, lx->file, lx->tok_line,
		            "expected a statement (include, key, options or "
		            "domain), found a word that is no statement name "
		            "(not shown: it may be a secret)");
	near = text_nearest(lx->text, stmts, sizeof(stmts) / sizeof(*stmts));
	return perr(p, lx->file, lx->tok_line,
	            "unknown statement '%s' (expected include, key, "
	            "options or domain)%s%s%s",
	            lx->text, near != NULL ? "; did you mean '" : "",
	            near != NULL ? near : "", near != NULL ? "'?" : "");
}

/*
 * Parse statements up to the end of the file, or, in_braces, up to the
 * "};" that closes block b. b NULL: the top level.
 */
static int
parse_statements(struct parser *p, struct lex *lx, struct block *b,
                 int in_braces)
{
	char f[96];
	enum lex_type t;
	int rc;

	for (;;) {
		if ((t = next(p, lx)) == TOK_ERROR)
			return -1;
		if (t == TOK_EOF && !in_braces)
			return 0;
		if (t == TOK_RBRACE && in_braces)
			return expect_semi(p, lx, "'}'");
		if (t != TOK_WORD)
			return perr(p, lx->file, lx->tok_line,
			            "expected %s, found %s",
			            b == NULL   ? "a statement"
			            : in_braces ? "a setting or '}'"
			                        : "a setting",
			            found(lx, f, sizeof(f)));
		if (strcmp(lx->text, "include") == 0)
			rc = parse_include(p, lx, b);
		else if (b == NULL)
			rc = parse_top(p, lx);
		else
			rc = parse_setting(p, lx, b);
		if (rc == -1)
			return -1;
	}
}

/* ------------------------------------------------------------ finishing */

/* Share a policy or publishing setting s of the options od with d. */
static void
inherit_policy_setting(struct domain_conf *d, const struct domain_conf *od,
                       enum setting s)
{
	if (s == S_UPSTREAM)
		d->upstream = od->upstream;
	else if (s == S_POLICY)
		d->local_policy = od->local_policy;
	else if (s == S_MODE)
		d->mode = od->mode;
	else if (s == S_MAX_AGE)
		d->max_age = od->max_age;
	else if (s == S_MX)
		d->extra_mx = od->extra_mx;
	else if (s == S_POLICY_FILE)
		d->policy_file_tmpl = od->policy_file_tmpl;
	else if (s == S_PUBLISH_CMD)
		d->publish_cmd = od->publish_cmd;
	else if (s == S_VERIFY)
		d->verify = od->verify;
	else if (s == S_VERIFY_URL)
		d->verify_url_set = od->verify_url_set;
	else if (s == S_VERIFY_TIMEOUT)
		d->verify_timeout = od->verify_timeout;
	else if (s == S_TLS_RPT) {
		d->tls_rpt = od->tls_rpt;
		d->tls_rpt_options = 1;
	}
	d->has_mode |= s == S_MODE;
	d->has_max_age |= s == S_MAX_AGE;
	d->has_tls_rpt |= s == S_TLS_RPT;
}

/* Share a DNS or network setting s of the options o with d and pd. */
static void
inherit_dns_setting(struct domain_conf *d, struct pending *pd,
                    const struct block *o, enum setting s)
{
	const struct domain_conf *od = &o->dc;

	if (s == S_KEY) {
		pd->key_name = o->key_name;
		pd->key_at = o->set_file[S_KEY];
		pd->key_line = o->set_line[S_KEY];
	} else if (s == S_KEY_FILE) {
		pd->key_file = o->key_file;
		pd->key_file_at = o->set_file[S_KEY_FILE];
		pd->key_file_line = o->set_line[S_KEY_FILE];
	} else if (s == S_SERVER) {
		d->server = od->server;
		d->port = od->port;
	} else if (s == S_ZONE) {
		d->zone = od->zone;
	} else if (s == S_TTL) {
		d->ttl = od->ttl;
		d->has_ttl = 1;
	} else if (s == S_MX_CHECK) {
		d->mx_check = od->mx_check;
	} else if (s == S_CA_FILE) {
		d->ca_file = od->ca_file;
	} else if (s == S_RESOLVE) {
		d->resolve = od->resolve;
	} else if (s == S_TIMEOUT) {
		d->timeout = od->timeout;
	} else if (s == S_RESOLVER) {
		d->resolver = od->resolver;
		d->resolver_port = od->resolver_port;
	}
}

/* Was s, or a setting that goes with it, given in the domain? Given one
 * of upstream / policy or key / key-file, a domain inherits neither. */
static int
group_given(uint32_t given, enum setting s)
{
	uint32_t bit = (uint32_t)1 << s;

	if (s == S_UPSTREAM || s == S_POLICY)
		bit = (uint32_t)1 << S_UPSTREAM | (uint32_t)1 << S_POLICY;
	else if (s == S_KEY || s == S_KEY_FILE)
		bit = (uint32_t)1 << S_KEY | (uint32_t)1 << S_KEY_FILE;
	return (given & bit) != 0;
}

/* Is s one of the overrides (mode, max-age, mx) of an upstream? */
static int
is_override(int s)
{
	return s == S_MODE || s == S_MAX_AGE || s == S_MX;
}

/*
 * Apply the options defaults o to domain d: values are shared, not
 * copied. The overrides of options apply on top of an upstream (DESIGN
 * section 2.3): a domain whose policy is local, written in it or taken
 * from options (which inherit() has set by the time it reaches them, as
 * S_POLICY comes first), does not take them.
 */
static void
inherit(struct domain_conf *d, struct pending *pd, const struct block *o)
{
	int s;

	for (s = 0; s < S_COUNT; s++) {
		if (!o->set_line[s] || group_given(pd->given, (enum setting)s))
			continue;
		if (is_override(s) && d->local_policy != NULL)
			continue;
		if (s <= S_TLS_RPT)
			inherit_policy_setting(d, &o->dc, (enum setting)s);
		else
			inherit_dns_setting(d, pd, o, (enum setting)s);
	}
}

/* Is d's zone the zone of its own of its _mta-sts name? */
static int
zone_of_sts(const struct domain_conf *d)
{
	size_t n = sizeof(STS_ZONE_LABEL) - 1;

	return strncmp(d->zone, STS_ZONE_LABEL, n) == 0 &&
	       strcmp(d->zone + n, d->name) == 0;
}

/* The length of tmpl with %d expanded to name (and %% to %). */
static size_t
expanded_len(const char *tmpl, const char *name)
{
	size_t n = 0, nl = strlen(name);

	for (; *tmpl != '\0'; tmpl++, n++)
		if (tmpl[0] == '%' && (tmpl[1] == 'd' || tmpl[1] == '%')) {
			n += tmpl[1] == 'd' ? nl - 1 : 0;
			tmpl++;
		}
	return n;
}

/*
 * The policy-file of domain d, once %d is expanded, must be a path that
 * a publish can write: at most PUBLISH_PATH_MAX bytes, a file name of at
 * most PUBLISH_NAME_MAX (the temporary beside it adds to both) and no
 * directory name longer than NAME_MAX, which no file system takes.
 * Refused at load, naming the limit, rather than failing each run.
 * Returns 0, or -1 (perr()).
 */
static int
policy_file_fits(struct parser *p, const struct domain_conf *d)
{
	const char *s, *slash;
	size_t n;
	char *path;
	int rc = 0;

	if (expanded_len(d->policy_file_tmpl, d->name) > PUBLISH_PATH_MAX)
		return perr(p, d->file, d->line,
		            "domain \"%s\": policy-file longer than %u bytes "
		            "once %%d is expanded (the temporary file beside "
		            "it adds %u, and a path may have 4095)",
		            d->name, PUBLISH_PATH_MAX, PUBLISH_TMP_EXTRA);
	path = conf_policy_file(d);
	for (s = path; rc == 0 && *s != '\0'; s = slash + (*slash != '\0')) {
		slash = strchrnul(s, '/');
		n = (size_t)(slash - s);
		if (*slash == '\0' && n > PUBLISH_NAME_MAX)
			rc =
			    perr(p, d->file, d->line,
			         "domain \"%s\": policy-file names a file "
			         "longer than %u bytes once %%d is expanded "
			         "(the temporary file beside it adds %u, and a "
			         "name may have 255)",
			         d->name, PUBLISH_NAME_MAX, PUBLISH_TMP_EXTRA);
		else if (n > NAME_MAX)
			rc = perr(p, d->file, d->line,
			          "domain \"%s\": policy-file has a directory "
			          "name longer than %u bytes once %%d is "
			          "expanded",
			          d->name, (unsigned)NAME_MAX);
	}
	free(path);
	return rc;
}

/* The verify-url of domain d, if it has a '%' (set_verify_url() checks
 * the others), must have a host that DNS can hold once %d is expanded.
 * Returns 0, or -1 (perr()). */
static int
verify_url_fits(struct parser *p, const struct domain_conf *d)
{
	struct diag vd;
	char *url;
	int rc;

	if (d->verify_url_set == NULL || strchr(d->verify_url_set, '%') == NULL)
		return 0;
	diag_init(&vd);
	url = conf_verify_url(d);
	rc = fetch_url_host_check(url, &vd);
	free(url);
	if (rc == 0)
		return 0;
	return perr(p, d->file, d->line,
	            "domain \"%s\": verify-url, once %%d is expanded: %s: "
	            "fix the URL",
	            d->name, vd.error);
}

/* The required settings of a domain, after inheritance. */
static int
domain_check(struct parser *p, const struct domain_conf *d,
             const struct pending *pd)
{
	/* the names the records go to must be DNS names too (253) */
	const char *label = d->has_tls_rpt ? "_smtp._tls." : "_mta-sts.";

	if (strlen(label) + strlen(d->name) > 253)
		return perr(p, d->file, d->line,
		            "domain \"%s\" is too long: %s%s would be longer "
		            "than the 253 characters of a DNS name",
		            d->name, label, d->name);
	if (d->upstream == NULL && d->local_policy == NULL)
		return perr(p, d->file, d->line,
		            "domain \"%s\" has no upstream and no policy { }",
		            d->name);
	if (d->local_policy != NULL &&
	    (d->has_mode || d->has_max_age || d->extra_mx.n > 0))
		return perr(p, d->file, d->line,
		            "domain \"%s\": mode, max-age and mx overrides "
		            "apply to an upstream; write them inside "
		            "policy { }",
		            d->name);
	if (d->policy_file_tmpl == NULL)
		return perr(p, d->file, d->line,
		            "domain \"%s\" has no policy-file", d->name);
	if (d->zone != NULL && !name_under(d->name, d->zone, 0) &&
	    !zone_of_sts(d))
		return perr(
		    p, d->file, d->line,
		    "domain \"%s\" is not in zone \"%s\": its "
		    "_mta-sts and _smtp._tls records must be (or its "
		    "_mta-sts record alone, in a zone of its own, "
		    "\"_mta-sts.%s\"); fix the zone, or leave it out to "
		    "have it found",
		    d->name, d->zone, d->name);
	if (policy_file_fits(p, d) == -1)
		return -1;
	if (d->verify_url_set != NULL &&
	    expanded_len(d->verify_url_set, d->name) >= CONF_STR_MAX)
		return perr(p, d->file, d->line,
		            "domain \"%s\": verify-url longer than %u bytes "
		            "once %%d is expanded",
		            d->name, (unsigned)CONF_STR_MAX - 1);
	if (verify_url_fits(p, d) == -1)
		return -1;
	if (pd->key_name == NULL && pd->key_file == NULL &&
	    !(p->flags & CONF_NO_SECRETS))
		return perr(p, d->file, d->line,
		            "domain \"%s\" has no key: set key or key-file "
		            "in the domain or in options",
		            d->name);
	return 0;
}

/* Find or load the key of pd from its key-file; index in pd->key.
 * Errors and warnings go to kd, unprefixed. */
static int
key_from_file(struct parser *p, struct pending *pd, struct diag *kd)
{
	struct conf *c = p->conf;
	struct loaded_key *l;
	size_t i;

	for (i = 0; i < p->nloaded; i++) {
		l = &p->loaded[i];
		if (strcmp(l->path, pd->key_file) == 0 &&
		    ((l->name == NULL && pd->key_name == NULL) ||
		     (l->name != NULL && pd->key_name != NULL &&
		      strcmp(l->name, pd->key_name) == 0))) {
			pd->key = l->idx;
			return 0;
		}
	}
	if (p->flags & CONF_NO_FILES) {
		diag_error(kd, "key-file is not allowed here");
		return -1;
	}
	c->keys = xreallocarray(c->keys, c->nkeys + 1, sizeof(*c->keys));
	if (keyfile_load(pd->key_file, pd->key_name, &c->keys[c->nkeys], kd) ==
	    -1)
		return -1;
	c->keys[c->nkeys].origin = pd->key_file; /* kept: keep() */
	p->loaded =
	    xreallocarray(p->loaded, p->nloaded + 1, sizeof(*p->loaded));
	l = &p->loaded[p->nloaded++];
	l->path = xstrdup(pd->key_file);
	l->name = pd->key_name != NULL ? xstrdup(pd->key_name) : NULL;
	l->idx = pd->key = c->nkeys++;
	return 0;
}

/* The index in conf->keys of the key of domain d, into pd->key. */
static int
key_resolve(struct parser *p, const struct domain_conf *d, struct pending *pd)
{
	char kl[TSIG_NAME_MAX + 256];
	struct diag kd;
	size_t i;

	if (pd->key_file != NULL) {
		diag_init(&kd);
		if (key_from_file(p, pd, &kd) == -1)
			return perr(p, pd->key_file_at, pd->key_file_line, "%s",
			            kd.error);
		for (i = 0; i < kd.nwarn; i++)
			diag_warn(p->d, "%s:%u: %s",
			          path_shown(pd->key_file_at, '\0', NULL, 0),
			          pd->key_file_line, kd.warn[i]);
		return 0;
	}
	for (i = 0; i < p->nkeystmt; i++)
		if (tsig_key_name_eq(p->conf->keys[i].name, pd->key_name)) {
			pd->key = i;
			return 0;
		}
	/* the name may be a secret written in the key setting */
	return perr(p, pd->key_at, pd->key_line,
	            "%s is not defined by a key statement (for domain \"%s\")",
	            tsig_key_label(pd->key_name, kl, sizeof(kl)), d->name);
}

/* Domain entry e with the settings dc of its shape, into *out. */
static void
domain_fill(const struct domain_entry *e, const struct domain_conf *dc,
            struct domain_conf *out)
{
	*out = *dc;
	out->name = e->name;
	out->file = e->file;
	out->line = e->line;
	if (e->tls_rpt.n > 0)
		out->tls_rpt = e->tls_rpt;
	if (e->verify_url != NULL)
		out->verify_url_set = e->verify_url;
	out->policy_file_shared = e->policy_file_shared;
}

/* Check domain i and resolve the key of its shape (once a shape, at its
 * first domain, so that messages name that domain). */
static int
domain_finish(struct parser *p, size_t i)
{
	const struct domain_entry *e = &p->conf->domains[i];
	struct shape *k = &p->shapes[e->shared];
	struct domain_conf d;

	domain_fill(e, &k->dc, &d);
	if (domain_check(p, &d, &k->pd) == -1)
		return -1;
	if (!k->key_done && !(p->flags & CONF_NO_SECRETS) &&
	    key_resolve(p, &d, &k->pd) == -1)
		return -1;
	k->key_done = 1;
	return 0;
}

/* An override written in options when no domain mirrors an upstream
 * (after inheritance): it applies to nothing, since a local policy takes
 * no override, as in a domain (domain_check()). Silence would let an
 * operator believe, say, that mode testing holds for every domain. */
static int
options_check(struct parser *p)
{
	const struct block *o = &p->options;
	int s;

	for (size_t i = 0; i < p->nshapes; i++)
		if (p->shapes[i].dc.upstream != NULL)
			return 0;
	for (s = 0; s < S_COUNT; s++)
		if (is_override(s) && o->set_line[s] && o->set_line[S_POLICY])
			return perr(p, o->set_file[s], o->set_line[s],
			            "options: %s beside policy { }: mode, "
			            "max-age and mx overrides apply to an "
			            "upstream; write them inside policy { }",
			            settings[s].name);
		else if (is_override(s) && o->set_line[s])
			return perr(
			    p, o->set_file[s], o->set_line[s],
			    "options: %s applies to no domain: mode, "
			    "max-age and mx overrides apply to a domain "
			    "that mirrors an upstream, and every domain "
			    "has a local policy { }; write it inside "
			    "their policy { }",
			    settings[s].name);
	return 0;
}

/*
 * A temporary set of domains by a hash of one of their values (a verify
 * URL, a policy file path), to find two that have the same one among
 * tens of thousands at the cost of 8 bytes a slot; freed after the
 * check. Slots hold the domain's index + 1 (0: empty) and the high bits
 * of the hash, so that most different values are told apart without
 * building them again.
 */
struct seen_entry {
	uint32_t tag;
	uint32_t idx : 31;   /* domain index + 1; 0: empty */
	uint32_t marked : 1; /* for the caller (a warning given) */
};

struct seen {
	struct seen_entry *e;
	size_t cap; /* a power of two, at least twice the domains added */
};

/* A set for at most n domains. */
static void
seen_init(struct seen *t, size_t n)
{
	t->cap = 64;
	while (t->cap < 2 * n)
		t->cap *= 2;
	t->e = xcalloc(t->cap, sizeof(*t->e));
}

/*
 * The entry of an earlier domain whose value equals that of domain i
 * (same(p, earlier, i) says whether it does), or NULL after adding i
 * under hash h.
 */
static struct seen_entry *
seen_add(struct seen *t, size_t h, size_t i, struct parser *p,
         int (*same)(struct parser *p, size_t a, size_t b))
{
	uint32_t tag = (uint32_t)(h >> 16) ^ (uint32_t)h;
	size_t k;

	for (k = h & (t->cap - 1); t->e[k].idx != 0; k = (k + 1) & (t->cap - 1))
		if (t->e[k].tag == tag && same(p, t->e[k].idx - 1, i))
			return &t->e[k];
	t->e[k].tag = tag;
	t->e[k].idx = (uint32_t)i + 1;
	return NULL;
}

/* The settings of domain i, as they are before finish() ends. */
static void
parsed_domain(const struct parser *p, size_t i, struct domain_conf *d)
{
	const struct domain_entry *e = &p->conf->domains[i];

	domain_fill(e, &p->shapes[e->shared].dc, d);
}

/* Does tmpl (a policy-file or verify-url) hold %d? */
static int
names_domain(const char *tmpl)
{
	for (; *tmpl != '\0'; tmpl++)
		if (tmpl[0] == '%' && tmpl[1] == 'd')
			return 1;
		else if (tmpl[0] == '%' && tmpl[1] == '%')
			tmpl++;
	return 0;
}

/* seen_add() test: do domains a and b have the same verify-url? */
static int
same_verify_url(struct parser *p, size_t a, size_t b)
{
	struct domain_conf da, db;

	parsed_domain(p, a, &da);
	parsed_domain(p, b, &db);
	return strcmp(da.verify_url_set, db.verify_url_set) == 0;
}

/* Warn that the verify-url of domain i, without %d, is also that of
 * domain first: one of them may "pass" against the other's file. */
static void
verify_url_shared(struct parser *p, size_t first, size_t i)
{
	const struct domain_entry *e = &p->conf->domains[i];
	const struct domain_entry *f = &p->conf->domains[first];
	const struct block *o = &p->options;
	struct domain_conf d;
	int own = e->verify_url != NULL;

	parsed_domain(p, i, &d);
	diag_warn(p->d,
	          "%s:%u: verify-url \"%.200s\" has no %%d and is used by "
	          "more than one domain (\"%s\" and \"%s\"): each is "
	          "verified at that one URL, so one may pass against "
	          "another's file; write %%d where the domain goes",
	          own ? e->file : o->set_file[S_VERIFY_URL],
	          own ? e->line : o->set_line[S_VERIFY_URL], d.verify_url_set,
	          f->name, e->name);
}

/* Warn once for each verify-url without %d that several domains use. */
static void
verify_urls_check(struct parser *p)
{
	struct seen_entry *hit;
	struct domain_conf d;
	struct seen t;
	size_t i;

	seen_init(&t, p->conf->ndomains);
	for (i = 0; i < p->conf->ndomains; i++) {
		parsed_domain(p, i, &d);
		if (d.verify_url_set == NULL || !d.verify ||
		    names_domain(d.verify_url_set))
			continue;
		hit = seen_add(
		    &t, hash_bytes(d.verify_url_set, strlen(d.verify_url_set)),
		    i, p, same_verify_url);
		if (hit != NULL && !hit->marked) {
			hit->marked = 1;
			verify_url_shared(p, hit->idx - 1, i);
		}
	}
	free(t.e);
}

/*
 * The last directory dir_walk_identity() was asked about, as written, and its
 * identity: domains one after another often name one directory (a file
 * per domain in one directory, one file for all), and each comparison of
 * two domains' files asks about both again.
 */
struct dir_memo {
	struct buf dir;
	struct buf id;
};

/*
 * The identity of the file at path, into id: its directory's
 * (dir_walk_identity(), remembered in p->dir_memo) and its name. Two
 * domains whose policy files have one identity publish to one file,
 * however their paths are written ("/srv/www//x/./f", a directory
 * reached through a symbolic link). The directory is found as the
 * publish will find it: a link that someone else than root or the
 * running user could have put on the way is not followed there (the
 * publish refuses that domain alone), so it does not make two domains'
 * files one here either, which would refuse the whole configuration: a
 * tenant who links their .well-known to another domain's cannot stop
 * every domain's run.
 */
static void
file_identity(struct parser *p, const char *path, struct buf *id)
{
	struct dir_memo *m = p->dir_memo;
	const char *slash = strrchr(path, '/');
	const char *dir = slash == NULL ? "." : slash == path ? "/" : path;
	size_t dlen = dir == path ? (size_t)(slash - path) : 1;

	if (m->dir.data == NULL || m->dir.len != dlen ||
	    memcmp(m->dir.data, dir, dlen) != 0) {
		buf_reset(&m->dir);
		buf_append(&m->dir, dir, dlen);
		dir_walk_identity(m->dir.data, &m->id);
	}
	buf_reset(id);
	buf_append(id, m->id.data, m->id.len);
	buf_puts(id, "/");
	buf_puts(id, slash == NULL ? path : slash + 1);
}

/* file_identity() of the policy file of domain i. */
static void
policy_file_identity(struct parser *p, size_t i, struct buf *id)
{
	struct domain_conf d;
	char *path;

	parsed_domain(p, i, &d);
	path = conf_policy_file(&d);
	file_identity(p, path, id);
	free(path);
}

/* seen_add() test: do domains a and b publish to the same file? */
static int
same_policy_file(struct parser *p, size_t a, size_t b)
{
	struct buf fa, fb;
	int same;

	buf_init(&fa, 3 * CONF_STR_MAX);
	buf_init(&fb, 3 * CONF_STR_MAX);
	policy_file_identity(p, a, &fa);
	policy_file_identity(p, b, &fb);
	same = fa.len == fb.len && memcmp(fa.data, fb.data, fa.len) == 0;
	buf_free(&fa);
	buf_free(&fb);
	return same;
}

/* The same strings in the same order? */
static int
strlist_same(const struct strlist *a, const struct strlist *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return 0;
	return 1;
}

/* Do local policies a and b have the same canonical bytes? */
static int
local_policy_same(const struct policy *a, const struct policy *b)
{
	struct buf x, y;
	int same;

	if (a == b)
		return 1;
	buf_init(&x, POLICY_MAX_SIZE);
	buf_init(&y, POLICY_MAX_SIZE);
	same = policy_canonical(a, &x) == 0 && policy_canonical(b, &y) == 0 &&
	       x.len == y.len &&
	       (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
	buf_free(&x);
	buf_free(&y);
	return same;
}

/*
 * Must domains a and b publish the same bytes? Yes when they mirror the
 * same upstream (fetched once a run) with the same overrides, or write
 * the same local policy; anything else may differ one day.
 */
static int
same_policy_source(const struct domain_conf *a, const struct domain_conf *b)
{
	if (a->local_policy != NULL || b->local_policy != NULL)
		return a->local_policy != NULL && b->local_policy != NULL &&
		       local_policy_same(a->local_policy, b->local_policy);
	return strcmp(a->upstream, b->upstream) == 0 &&
	       a->has_mode == b->has_mode &&
	       (!a->has_mode || a->mode == b->mode) &&
	       a->has_max_age == b->has_max_age &&
	       (!a->has_max_age || a->max_age == b->max_age) &&
	       strlist_same(&a->extra_mx, &b->extra_mx);
}

/* Could d publish a policy in mode enforce (which the MX check gates)? */
static int
may_enforce(const struct domain_conf *d)
{
	if (d->local_policy != NULL)
		return d->local_policy->mode == POLICY_MODE_ENFORCE;
	return !d->has_mode || d->mode == POLICY_MODE_ENFORCE;
}

/* Refuse domain d (entry e), whose policy file at path is also f's:
 * returns -1. The message names f's path too when it is written
 * otherwise ("//", "/./", a directory through a symbolic link). */
static int
shared_file_refused(struct parser *p, const struct domain_entry *e,
                    const struct domain_conf *d, const struct domain_conf *f,
                    const char *path)
{
	char *fpath = conf_policy_file(f), also[200] = "";
	int rc;

	if (strcmp(fpath, path) != 0)
		snprintf(also, sizeof(also), " (the same file as \"%.150s\")",
		         fpath);
	free(fpath);
	if (!same_policy_source(f, d))
		rc = perr(p, e->file, e->line,
		          "domain \"%s\" has the policy-file of domain "
		          "\"%s\" (%s:%u), \"%.200s\"%s, and another policy "
		          "source: each would overwrite the other's policy; "
		          "use %%d in policy-file to give each domain a file "
		          "of its own",
		          d->name, f->name, f->file, f->line, path, also);
	else
		rc = perr(p, e->file, e->line,
		          "domain \"%s\" has the policy-file of domain "
		          "\"%s\" (%s:%u), \"%.200s\"%s: the MX check of one "
		          "cannot stop the other from publishing a policy in "
		          "mode enforce in the file they share; use %%d in "
		          "policy-file, or set mx-check off for both if you "
		          "keep their MX hosts in the policy yourself",
		          d->name, f->name, f->file, f->line, path, also);
	return rc;
}

/*
 * Refuse two domains whose policy files are one file unless their
 * policies are necessarily the same (one document root for every
 * mta-sts host, say): otherwise each run writes one policy over the
 * other, and a domain's id may name a policy its file no longer serves.
 * A policy that may be in mode enforce must not be checked against the
 * MX hosts of each domain either: one domain's check would refuse the
 * file the other still publishes.
 * Files are compared by what they are, not how their paths are written
 * (policy_file_identity(): a walk of each directory, one for all the
 * domains in a row that name one). Paths are expanded one at a time and
 * only their hashes kept, so that tens of thousands of domains cost a
 * table of 8 bytes a slot. Domains that share a file are marked
 * (policy_file_shared): sync must not choose the form of their policy
 * per domain.
 */
static int
policy_files_check(struct parser *p)
{
	struct dir_memo memo;
	struct buf id;
	struct domain_conf d, f;
	struct domain_entry *e;
	struct seen_entry *hit;
	struct seen t;
	size_t i;
	char *path;
	int rc = 0;

	buf_init(&memo.dir, CONF_STR_MAX);
	buf_init(&memo.id, 2 * CONF_STR_MAX);
	buf_init(&id, 3 * CONF_STR_MAX);
	p->dir_memo = &memo;
	seen_init(&t, p->conf->ndomains);
	for (i = 0; rc == 0 && i < p->conf->ndomains; i++) {
		parsed_domain(p, i, &d);
		path = conf_policy_file(&d);
		file_identity(p, path, &id);
		hit = seen_add(&t, hash_bytes(id.data, id.len), i, p,
		               same_policy_file);
		if (hit != NULL) {
			parsed_domain(p, hit->idx - 1, &f);
			e = &p->conf->domains[i];
			e->policy_file_shared = 1;
			p->conf->domains[hit->idx - 1].policy_file_shared = 1;
			if (!same_policy_source(&f, &d) ||
			    (may_enforce(&d) && (d.mx_check != MX_CHECK_OFF ||
			                         f.mx_check != MX_CHECK_OFF)))
				rc = shared_file_refused(p, e, &d, &f, path);
		}
		free(path);
	}
	free(t.e);
	p->dir_memo = NULL;
	buf_free(&memo.dir);
	buf_free(&memo.id);
	buf_free(&id);
	return rc;
}

/* Inherit, check and complete every domain of conf. */
static int
finish(struct parser *p)
{
	struct conf *c = p->conf;
	size_t i;

	for (i = 0; i < p->nshapes; i++)
		inherit(&p->shapes[i].dc, &p->shapes[i].pd, &p->options);
	if (options_check(p) == -1)
		return -1;
	for (i = 0; i < c->ndomains; i++)
		if (domain_finish(p, i) == -1)
			return -1;
	if (policy_files_check(p) == -1)
		return -1;
	verify_urls_check(p);
	/* conf->keys moves while key files are loaded: point at it last */
	c->shared = xcalloc(p->nshapes, sizeof(*c->shared));
	c->where = shapes_where(p);
	c->nshared = p->nshapes;
	for (i = 0; i < p->nshapes; i++) {
		c->shared[i] = p->shapes[i].dc;
		c->shared[i].key = (p->flags & CONF_NO_SECRETS)
		                       ? NULL
		                       : &c->keys[p->shapes[i].pd.key];
	}
	c->domains =
	    xreallocarray(c->domains, c->ndomains, sizeof(*c->domains));
	return 0;
}

/* Free the parser state (not the conf it fills). */
static void
parser_free(struct parser *p)
{
	size_t i;

	free(p->shapes);
	free(p->shape_at);
	free(p->shape_slot);
	free(p->values.slot);
	free(p->names.slot);
	free(p->key_file);
	free(p->key_line);
	for (i = 0; i < p->nloaded; i++) {
		free(p->loaded[i].path);
		free(p->loaded[i].name);
	}
	free(p->loaded);
}

/* Parse buf as the main file name; st is its status and fd its
 * descriptor (NULL and -1: read from memory). The parser is on the heap,
 * as are the diags of the file reads and the path walks of the trust
 * checks below it: a configuration is read on the main thread, and the
 * pages of its stack that the deepest frames touched stay resident for
 * the whole run. */
static struct conf *
conf_parse_mode(const char *name, const char *buf, size_t len, int flags,
                const struct stat *st, int fd, struct diag *d)
{
	struct parser *p = xcalloc(1, sizeof(*p));
	struct conf *c = xcalloc(1, sizeof(*c));
	int rc;

	p->conf = c;
	p->d = d;
	p->flags = flags;
	p->fd[0] = fd;
	if (st != NULL) {
		p->dev[0] = st->st_dev;
		p->ino[0] = st->st_ino;
		p->mode[0] = st->st_mode | S_IFREG;
		p->gid[0] = st->st_gid;
	}
	c->fd = -1; /* conf_load() sets it */
	c->path = xstrdup(name);
	c->mem = xcalloc(1, sizeof(*c->mem));
	block_init(&p->options, "options");
	rc = parse_buffer(p, file_name_keep(c, name), buf, len, NULL);
	if (rc == 0 && c->ndomains == 0)
		rc = perr(p, name, 1, "no domain statement");
	if (rc == 0)
		rc = finish(p);
	parser_free(p);
	free(p);
	if (rc == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
}

struct conf *
conf_parse_flags(const char *name, const char *buf, size_t len, int flags,
                 struct diag *d)
{
	return conf_parse_mode(name, buf, len, flags, NULL, -1, d);
}

struct conf *
conf_parse(const char *name, const char *buf, size_t len, struct diag *d)
{
	return conf_parse_mode(name, buf, len, 0, NULL, -1, d);
}

/* The error for a configuration file that cannot be read; the default
 * one, not made yet after an install, gets the example to start from. */
static void
conf_unreadable(const char *path, const char *reason, struct diag *d)
{
	struct stat st;

	if (strcmp(path, CONF_DEFAULT_PATH) == 0 && stat(path, &st) == -1 &&
	    errno == ENOENT)
		diag_error(d,
		           "%s: cannot read configuration: %s: copy "
		           "%s there and adjust it (mta-sts-sync.conf(5)), "
		           "or name another file with -c",
		           path, reason, CONF_EXAMPLE_PATH);
	else
		diag_error(d, "%s: cannot read configuration: %s", path,
		           reason);
}

struct conf *
conf_load(const char *path, struct diag *d)
{
	return conf_load_flags(path, 0, d);
}

struct conf *
conf_load_flags(const char *path, int flags, struct diag *d)
{
	struct diag *rd = diag_new(); /* see conf_parse_mode() */
	struct conf *c;
	struct stat st;
	size_t len = 0;
	char *buf;
	int fd, unread;

	buf = conf_read_trusted(path, CONF_TRUST_CONF, CONF_MAX_SIZE, &len, &st,
	                        &fd, &unread, rd);
	if (buf == NULL && unread)
		conf_unreadable(path, rd->error, d);
	else if (buf == NULL)
		diag_error(d, "%s", rd->error);
	free(rd);
	if (buf == NULL)
		return NULL;
	c = conf_parse_mode(path, buf, len, flags, &st, fd, d);
	conf_wipe_free(buf, len + 1);
	if (c != NULL)
		c->fd = fd; /* sync_lock() locks it */
	else
		close(fd);
	return c;
}

void
conf_free(struct conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	free(conf->domains);
	free(conf->shared);
	free(conf->where);
	mem_free(conf->mem);
	for (i = 0; i < conf->nkeys; i++)
		tsig_key_wipe(&conf->keys[i]);
	free(conf->keys);
	strlist_free(&conf->files);
	free(conf->path);
	if (conf->fd != -1)
		close(conf->fd);
	free(conf);
}

/* tmpl with %d expanded to name and %% to %, as a new string (its
 * length was checked at load: expanded_len). */
static char *
expand_domain(const char *tmpl, const char *name)
{
	const char *s;
	struct buf b;

	if (strchr(tmpl, '%') == NULL)
		return xstrdup(tmpl);
	buf_init(&b, CONF_STR_MAX);
	for (s = tmpl; *s != '\0'; s++) {
		if (s[0] == '%' && (s[1] == 'd' || s[1] == '%')) {
			s++;
			if (s[0] == 'd')
				buf_puts(&b, name);
			else
				buf_append(&b, "%", 1);
		} else {
			buf_append(&b, s, 1);
		}
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
}

char *
conf_policy_file(const struct domain_conf *dc)
{
	return expand_domain(dc->policy_file_tmpl, dc->name);
}

char *
conf_verify_url(const struct domain_conf *dc)
{
	char u[320]; /* a name is at most 253 bytes */

	if (dc->verify_url_set != NULL)
		return expand_domain(dc->verify_url_set, dc->name);
	snprintf(u, sizeof(u), "https://mta-sts.%s/.well-known/mta-sts.txt",
	         dc->name);
	return xstrdup(u);
}

void
conf_domain(const struct conf *conf, size_t i, struct domain_conf *dc)
{
	const struct domain_entry *e = &conf->domains[i];

	domain_fill(e, &conf->shared[e->shared], dc);
}

const char *
conf_domain_name(const struct conf *conf, size_t i)
{
	return conf->domains[i].name;
}

int
conf_find_domain(const struct conf *conf, const char *name, size_t *i)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	for (*i = 0; *i < conf->ndomains; (*i)++)
		if (strlen(conf->domains[*i].name) == n &&
		    ascii_ncasecmp(conf->domains[*i].name, name, n) == 0)
			return 0;
	return -1;
}
