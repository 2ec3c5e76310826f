/*
 * mountinfo.c - the mount a file is on, as /proc/self/mountinfo tells it
 * (see mountinfo.h). The kernel writes one line a mount, its fields
 * parted by single blanks, a blank, a tab, a newline or a backslash in a
 * path or a type written as \ooo (octal): the line is read as it is
 * written, a field at a time, within its length.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "mountinfo.h"
#include "util.h"

/* A line being read: what is left of it. */
struct cursor {
	const char *p, *end;
};

/* The next field of c (up to a blank or the end) into *f, *flen; c then
 * past it and its blank. Returns 0, or -1 when no field is left. */
static int
field_next(struct cursor *c, const char **f, size_t *flen)
{
	const char *blank;

	if (c->p >= c->end)
		return -1;
	blank = memchr(c->p, ' ', (size_t)(c->end - c->p));
	*f = c->p;
	*flen = (size_t)((blank != NULL ? blank : c->end) - c->p);
	c->p = blank != NULL ? blank + 1 : c->end;
	return 0;
}

/* The decimal number of the n bytes at s (digits only, at most
 * 4294967295) into *v. Returns 0, or -1. */
static int
number_of(const char *s, size_t n, unsigned *v)
{
	unsigned long long x = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	if (x > 0xffffffffu)
		return -1;
	*v = (unsigned)x;
	return 0;
}

/* "MAJOR:MINOR" (the n bytes at s) into *major, *minor. Returns 0, or
 * -1. */
static int
device_of(const char *s, size_t n, unsigned *major, unsigned *minor)
{
	const char *colon = memchr(s, ':', n);

	if (colon == NULL)
		return -1;
	return number_of(s, (size_t)(colon - s), major) == -1 ||
	               number_of(colon + 1, n - (size_t)(colon - s) - 1,
	                         minor) == -1
	           ? -1
	           : 0;
}

/* The n bytes at s, \ooo escapes undone, into out (size bytes, ended),
 * as printable text when printable (str_printable(): cut with "..." when
 * it does not fit). Returns 0, or -1 for a backslash not followed by
 * three octal digits of a byte, which the kernel does not write. */
static int
unescape(const char *s, size_t n, int printable, char *out, size_t size)
{
	char *raw = xmalloc(n + 1);
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			raw[len++] = s[i];
			continue;
		}
		if (n - i < 4 || s[i + 1] < '0' || s[i + 1] > '3' ||
		    s[i + 2] < '0' || s[i + 2] > '7' || s[i + 3] < '0' ||
		    s[i + 3] > '7') {
			free(raw);
			return -1;
		}
		raw[len++] = (char)((s[i + 1] - '0') << 6 |
		                    (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
		i += 3;
	}
	raw[len] = '\0';
	if (printable)
		str_printable(raw, len, out, size);
	else if (str_copy(out, size, raw) == -1 && size > 4)
		memcpy(out + size - 4, "...", 4); /* cut: said so */
	free(raw);
	return 0;
}

/* The user_id=N of the super options (the n bytes at s, comma-parted)
 * into mf. Returns 0, or -1 for one that is no number. */
static int
user_of(const char *s, size_t n, struct mount_facts *mf)
{
	struct cursor c = {s, s + n};

	mf->has_user = 0;
	while (c.p < c.end) {
		const char *comma = memchr(c.p, ',', (size_t)(c.end - c.p));
		const char *opt = c.p, *stop = comma != NULL ? comma : c.end;

		c.p = comma != NULL ? comma + 1 : c.end;
		if (stop - opt < 8 || memcmp(opt, "user_id=", 8) != 0)
			continue;
		if (number_of(opt + 8, (size_t)(stop - opt - 8),
		              &mf->user_id) == -1)
			return -1;
		mf->has_user = 1;
	}
	return 0;
}

/* The fields of c after the mount options: optional ones up to "-",
 * then the type, the source and the super options, into mf. Returns 0,
 * or -1. */
static int
after_options(struct cursor *c, struct mount_facts *mf)
{
	const char *f;
	size_t n;

	do {
		if (field_next(c, &f, &n) == -1)
			return -1;
	} while (n != 1 || f[0] != '-');
	if (field_next(c, &f, &n) == -1 ||
	    unescape(f, n, 1, mf->fstype, sizeof(mf->fstype)) == -1 ||
	    field_next(c, &f, &n) == -1 || field_next(c, &f, &n) == -1)
		return -1;
	return user_of(f, n, mf);
}

int
mountinfo_line(const char *line, size_t len, unsigned *major, unsigned *minor,
               struct mount_facts *mf)
{
	struct cursor c = {line, line + len};
	const char *f;
	size_t n;

	memset(mf, 0, sizeof(*mf));
	/* the mount's id and its parent's, then its device */
	if (field_next(&c, &f, &n) == -1 || field_next(&c, &f, &n) == -1 ||
	    field_next(&c, &f, &n) == -1 || device_of(f, n, major, minor) == -1)
		return -1;
	/* its root in the file system, then its mount point */
	if (field_next(&c, &f, &n) == -1 || field_next(&c, &f, &n) == -1 ||
	    unescape(f, n, 0, mf->point, sizeof(mf->point)) == -1)
		return -1;
	if (field_next(&c, &f, &n) == -1) /* its mount options */
		return -1;
	return after_options(&c, mf);
}

/* Whether the line (len bytes) is of the device major:minor, read no
 * further than its third field. */
static int
line_of_device(const char *line, size_t len, unsigned major, unsigned minor)
{
	struct cursor c = {line, line + len};
	const char *f;
	size_t n;
	unsigned ma, mi;

	return field_next(&c, &f, &n) == 0 && field_next(&c, &f, &n) == 0 &&
	       field_next(&c, &f, &n) == 0 && device_of(f, n, &ma, &mi) == 0 &&
	       ma == major && mi == minor;
}

int
mountinfo_find(const char *buf, size_t len, unsigned major, unsigned minor,
               struct mount_facts *mf)
{
	const char *p = buf, *end = buf + len;
	unsigned ma, mi;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		if (line_of_device(p, n, major, minor)) {
			if (mountinfo_line(p, n, &ma, &mi, mf) == 0)
				return 1;
			errno = EBADMSG;
			return -1;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

/* What a read of mountinfo has come to. */
struct scan {
	char *buf;
	size_t have;  /* bytes in buf */
	int skipping; /* in a line longer than buf, passed over */
	int cut;      /* a line was passed over */
};

/* The whole lines of s->buf looked through for major:minor, the bytes
 * after them kept for the next read; a buffer full of one line starts
 * passing it over. Returns mountinfo_find()'s result. */
static int
scan_lines(struct scan *s, unsigned major, unsigned minor,
           struct mount_facts *mf)
{
	char *nl;
	size_t whole;
	int rc;

	if (s->skipping) {
		if ((nl = memchr(s->buf, '\n', s->have)) == NULL) {
			s->have = 0;
			return 0;
		}
		s->skipping = 0;
		s->have -= (size_t)(nl + 1 - s->buf);
		memmove(s->buf, nl + 1, s->have);
	}
	nl = memrchr(s->buf, '\n', s->have);
	if (nl == NULL) {
		s->skipping = s->have == MOUNTINFO_LINE_MAX;
		s->cut |= s->skipping;
		s->have = s->skipping ? 0 : s->have;
		return 0;
	}
	whole = (size_t)(nl + 1 - s->buf);
	if ((rc = mountinfo_find(s->buf, whole, major, minor, mf)) != 0)
		return rc;
	s->have -= whole;
	memmove(s->buf, nl + 1, s->have);
	return 0;
}

/* mountinfo_lookup() of what fd reads, into the scan s. */
static int
scan_fd(int fd, struct scan *s, unsigned major, unsigned minor,
        struct mount_facts *mf)
{
	ssize_t r;
	int rc;

	for (;;) {
		r = read(fd, s->buf + s->have, MOUNTINFO_LINE_MAX - s->have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) /* the last line may lack its newline */
			break;
		s->have += (size_t)r;
		if ((rc = scan_lines(s, major, minor, mf)) != 0)
			return rc;
	}
	if (!s->skipping && s->have > 0 &&
	    (rc = mountinfo_find(s->buf, s->have, major, minor, mf)) != 0)
		return rc;
	if (s->cut) {
		errno = E2BIG;
		return -1;
	}
	return 0;
}

/* mountinfo_lookup() without the cache: one read of the file. */
static int
lookup_read(dev_t dev, struct mount_facts *mf)
{
	struct scan s = {NULL, 0, 0, 0};
	int fd, rc, err;

	memset(mf, 0, sizeof(*mf));
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	s.buf = xmalloc(MOUNTINFO_LINE_MAX);
	rc = scan_fd(fd, &s, major(dev), minor(dev), mf);
	err = errno;
	free(s.buf);
	close(fd);
	errno = err;
	return rc;
}

/*
 * The devices found for the run, so that a tree of files on one FUSE
 * mount costs one read of mountinfo, not one a file (on a container
 * host it may be megabytes). An anonymous device number is used again
 * once its mount is gone, so an entry holds only while the mount table
 * has not changed since it was read: the kernel marks an open
 * mountinfo (watch, opened before the reads it stands for) readable
 * with POLLPRI when it does (proc(5)), and that empties the cache. A
 * device not found is not kept: it is read again.
 */
static struct {
	pthread_mutex_t lock;
	int watch; /* -1: none open yet */
	size_t n, next;
	dev_t dev[MOUNTINFO_CACHE_MAX];
	struct mount_facts mf[MOUNTINFO_CACHE_MAX];
} cache = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0, {0}, {{{0}, {0}, 0, 0}}};

/* Whether the mount table changed since the watch last said (which it
 * says once). */
static int
mounts_changed(int watch)
{
	struct pollfd p = {watch, POLLPRI, 0};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR)) != 0;
}

/* The cached facts of dev into mf; 1 when held, else 0. Under the
 * lock. */
static int
cache_get(dev_t dev, struct mount_facts *mf)
{
	if (cache.watch == -1)
		cache.watch =
		    open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	else if (mounts_changed(cache.watch))
		cache.n = 0;
	for (size_t i = 0; i < cache.n; i++)
		if (cache.dev[i] == dev) {
			*mf = cache.mf[i];
			return 1;
		}
	return 0;
}

int
mountinfo_lookup(dev_t dev, struct mount_facts *mf)
{
	int rc, err;

	pthread_mutex_lock(&cache.lock);
	if (cache_get(dev, mf)) {
		pthread_mutex_unlock(&cache.lock);
		return 1;
	}
	rc = lookup_read(dev, mf);
	err = errno;
	if (rc == 1 && cache.watch != -1) {
		cache.dev[cache.next] = dev;
		cache.mf[cache.next] = *mf;
		cache.next = (cache.next + 1) % MOUNTINFO_CACHE_MAX;
		if (cache.n < MOUNTINFO_CACHE_MAX)
			cache.n++;
	}
	pthread_mutex_unlock(&cache.lock);
	errno = err;
	return rc;
}

void
mountinfo_forget(void)
{
	pthread_mutex_lock(&cache.lock);
	if (cache.watch != -1)
		close(cache.watch);
	cache.watch = -1;
	cache.n = cache.next = 0;
	pthread_mutex_unlock(&cache.lock);
}
