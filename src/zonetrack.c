/*
 * zonetrack.c - when may a zone's UPDATE go (see zonetrack.h).
 *
 * The domains of the run are sorted by their names read backwards with a
 * dot appended ("a.example.com" as "moc.elpmaxe.a."), so that the domains
 * at or below a zone are one contiguous range: those whose key starts
 * with the zone's key. A zone's entry counts the domains of its range not
 * read yet; a read counts down the entries of every suffix of its name.
 * Entries live in a hash table by zone name and go once their groups are
 * released and nothing below them is left to read.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "zonetrack.h"

struct zone_entry {
	char *zone;
	size_t unread; /* domains at or below zone not read yet */
	struct zone_group *groups;
	struct zone_entry *chain; /* next in the hash bucket */
};

struct sorted_name {
	const char *name;
	size_t len;
	size_t index;
};

struct zonetrack {
	const char *const *names;   /* per domain */
	struct sorted_name *sorted; /* by reversed name, see above */
	size_t n;
	unsigned char *read;          /* per domain: read yet */
	struct zone_group **group_of; /* per domain */
	struct zone_entry **buckets;
	size_t nbuckets; /* a power of two */
};

/* Character k of s (len bytes) read backwards with a '.' appended; -1
 * past the end. */
static int
rev_char(const char *s, size_t len, size_t k)
{
	if (k < len)
		return (unsigned char)s[len - 1 - k];
	return k == len ? '.' : -1;
}

/* Compare a and b read backwards with a dot appended. */
static int
rev_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t k;

	for (k = 0;; k++) {
		int x = rev_char(a, alen, k), y = rev_char(b, blen, k);

		if (x != y)
			return x < y ? -1 : 1;
		if (x == -1)
			return 0;
	}
}

static int
sorted_cmp(const void *a, const void *b)
{
	const struct sorted_name *x = a, *y = b;

	return rev_cmp(x->name, x->len, y->name, y->len);
}

/* Is name at or below zone? ("" is the root: everything is.) */
static int
is_under(const char *name, size_t len, const char *zone, size_t zlen)
{
	if (zlen == 0)
		return 1;
	if (len < zlen || memcmp(name + len - zlen, zone, zlen) != 0)
		return 0;
	return len == zlen || name[len - zlen - 1] == '.';
}

static size_t
hash_name(const char *s)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return (size_t)h;
}

struct zonetrack *
zonetrack_new(const char *const *names, size_t n)
{
	struct zonetrack *zt = xcalloc(1, sizeof(*zt));
	size_t i;

	zt->names = names;
	zt->n = n;
	zt->sorted = xcalloc(n ? n : 1, sizeof(*zt->sorted));
	for (i = 0; i < n; i++) {
		zt->sorted[i].name = names[i];
		zt->sorted[i].len = strlen(names[i]);
		zt->sorted[i].index = i;
	}
	qsort(zt->sorted, n, sizeof(*zt->sorted), sorted_cmp);
	zt->read = xcalloc(n ? n : 1, 1);
	zt->group_of = xcalloc(n ? n : 1, sizeof(*zt->group_of));
	for (zt->nbuckets = 16; zt->nbuckets < n; zt->nbuckets *= 2)
		;
	zt->buckets = xcalloc(zt->nbuckets, sizeof(*zt->buckets));
	return zt;
}

static void
group_free(struct zone_group *g)
{
	free(g->zone);
	free(g->server);
	free(g->members);
	free(g);
}

void
zonetrack_free(struct zonetrack *zt)
{
	size_t b;

	if (zt == NULL)
		return;
	for (b = 0; b < zt->nbuckets; b++)
		while (zt->buckets[b] != NULL) {
			struct zone_entry *e = zt->buckets[b];

			zt->buckets[b] = e->chain;
			while (e->groups != NULL) {
				struct zone_group *g = e->groups;

				e->groups = g->next;
				group_free(g);
			}
			free(e->zone);
			free(e);
		}
	free(zt->buckets);
	free(zt->group_of);
	free(zt->read);
	free(zt->sorted);
	free(zt);
}

static struct zone_entry **
entry_slot(struct zonetrack *zt, const char *zone)
{
	struct zone_entry **p =
	    &zt->buckets[hash_name(zone) & (zt->nbuckets - 1)];

	while (*p != NULL && strcmp((*p)->zone, zone) != 0)
		p = &(*p)->chain;
	return p;
}

/* How many domains at or below zone are not read yet. */
static size_t
count_unread(const struct zonetrack *zt, const char *zone)
{
	size_t zlen = strlen(zone), lo = 0, hi = zt->n, count = 0;

	while (zlen > 0 && lo < hi) { /* first key >= the zone's key */
		size_t mid = lo + (hi - lo) / 2;
		const struct sorted_name *s = &zt->sorted[mid];

		if (rev_cmp(s->name, s->len, zone, zlen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < zt->n; lo++) {
		const struct sorted_name *s = &zt->sorted[lo];

		if (!is_under(s->name, s->len, zone, zlen))
			break;
		count += !zt->read[s->index];
	}
	return count;
}

/* Join domain i to the group of (zone, server), making what is missing. */
static void
join(struct zonetrack *zt, size_t i, const char *zone, const char *server)
{
	struct zone_entry **slot = entry_slot(zt, zone), *e = *slot;
	struct zone_group *g;

	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->zone = xstrdup(zone);
		e->unread = count_unread(zt, zone);
		*slot = e;
	}
	/* A group handed out is being sent: a latecomer (only possible for
	 * a domain outside its zone, which the configuration refuses)
	 * starts a group of its own rather than join it. */
	for (g = e->groups;
	     g != NULL && (g->handed_out || strcmp(g->server, server) != 0);
	     g = g->next)
		;
	if (g == NULL) {
		g = xcalloc(1, sizeof(*g));
		g->zone = xstrdup(zone);
		g->server = xstrdup(server);
		g->entry = e;
		g->next = e->groups;
		e->groups = g;
	}
	g->members = xreallocarray(g->members, g->n + 1, sizeof(*g->members));
	g->members[g->n++] = i;
	g->pending++;
	zt->group_of[i] = g;
}

/* If g may go now, hand it out onto *ready. */
static void
maybe_ready(struct zone_group *g, struct zone_group **ready)
{
	if (g->handed_out || g->pending > 0 || g->entry->unread > 0)
		return;
	g->handed_out = 1;
	g->ready_next = *ready;
	*ready = g;
}

/* Remove e from the table if nothing refers to it any more. */
static void
entry_retire(struct zonetrack *zt, struct zone_entry *e)
{
	struct zone_entry **slot;

	if (e->unread > 0 || e->groups != NULL)
		return;
	slot = entry_slot(zt, e->zone);
	*slot = e->chain;
	free(e->zone);
	free(e);
}

/* Call fn(zt, entry, arg) for the entry of every suffix of name that has
 * one (the name itself, each parent, the root). */
static void
each_suffix_entry(struct zonetrack *zt, const char *name,
                  void (*fn)(struct zonetrack *, struct zone_entry *, void *),
                  void *arg)
{
	const char *s = name;

	for (;;) {
		struct zone_entry *e = *entry_slot(zt, s);

		if (e != NULL)
			fn(zt, e, arg);
		if (*s == '\0')
			return;
		s = strchr(s, '.');
		s = s != NULL ? s + 1 : "";
	}
}

static void
count_down(struct zonetrack *zt, struct zone_entry *e, void *arg)
{
	(void)zt;
	(void)arg;
	e->unread--;
}

static void
collect_ready(struct zonetrack *zt, struct zone_entry *e, void *arg)
{
	struct zone_group *g;

	for (g = e->groups; g != NULL; g = g->next)
		maybe_ready(g, arg);
	entry_retire(zt, e);
}

struct zone_group *
zonetrack_read(struct zonetrack *zt, size_t i, const char *zone,
               const char *server)
{
	struct zone_group *ready = NULL;
	const char *name = zt->names[i];

	zt->read[i] = 1;
	/* every entry made before now counted i as unread */
	each_suffix_entry(zt, name, count_down, NULL);
	if (zone != NULL)
		join(zt, i, zone, server);
	each_suffix_entry(zt, name, collect_ready, &ready);
	return ready;
}

struct zone_group *
zonetrack_done(struct zonetrack *zt, struct zone_group *g)
{
	struct zone_group *ready = NULL;

	(void)zt;
	g->pending--;
	maybe_ready(g, &ready);
	return ready;
}

struct zone_group *
zonetrack_group_of(const struct zonetrack *zt, size_t i)
{
	return zt->group_of[i];
}

void
zonetrack_release(struct zonetrack *zt, struct zone_group *g)
{
	struct zone_entry *e = g->entry;
	struct zone_group **p;
	size_t k;

	for (k = 0; k < g->n; k++)
		zt->group_of[g->members[k]] = NULL;
	for (p = &e->groups; *p != g; p = &(*p)->next)
		;
	*p = g->next;
	group_free(g);
	entry_retire(zt, e);
}
