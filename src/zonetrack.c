/*
 * zonetrack.c - when may a zone's UPDATE go (see zonetrack.h).
 *
 * The domains of the run are sorted by their names read backwards with a
 * dot appended ("a.example.com" as "moc.elpmaxe.a."), so that the domains
 * at or below a zone are one contiguous range: those whose key starts
 * with the zone's key. A zone's entry counts the domains of its range not
 * read yet; a read counts down the entries of every suffix of its name.
 * Entries live in a hash table by zone name and go once their groups are
 * released and nothing below them is left to read; the table grows with
 * the entries alive at once, not with the domains of the run.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "zonetrack.h"

struct zone_entry {
	char *zone;
	size_t unread; /* domains at or below zone not read yet */
	struct zone_group *groups;
	struct zone_entry *chain; /* next in the hash bucket */
};

/* What the tracker knows of one domain, in one uint32_t: not read yet,
 * read but in no group (its zone not found, or its group released), or
 * in the live group whose id is the value less SLOT_GROUP. */
#define SLOT_UNREAD 0u
#define SLOT_READ 1u
#define SLOT_GROUP 2u
#define ZONETRACK_MAX_DOMAINS (UINT32_MAX - SLOT_GROUP)

/*
 * Per domain, the tracker keeps 8 bytes for the whole run: its place in
 * the sorted order and its slot. Everything else (entries, groups, the
 * hash buckets, the table of live groups) is sized to what is in flight
 * and grows with it.
 */
struct zonetrack {
	const char *(*name_of)(const void *arg, size_t i);
	const void *name_arg;
	size_t n;
	uint32_t *sorted;         /* domain indices by reversed name */
	uint32_t *slot;           /* per domain, see SLOT_* */
	struct zone_group **live; /* by group id; NULL: a free id */
	uint32_t *free_ids;       /* ids given back, a stack */
	size_t nids;              /* ids given so far (the high-water mark) */
	size_t nfree, live_cap;
	struct zone_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t nentries;
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

/* The name of domain i. */
static const char *
domain_name(const struct zonetrack *zt, size_t i)
{
	return zt->name_of(zt->name_arg, i);
}

/* Compare the names of domains a and b read backwards. */
static int
domain_cmp(const struct zonetrack *zt, uint32_t a, uint32_t b)
{
	const char *x = domain_name(zt, a), *y = domain_name(zt, b);

	return rev_cmp(x, strlen(x), y, strlen(y));
}

/* Move v[i] down the max-heap v[0..n) to its place. */
static void
sift_down(const struct zonetrack *zt, uint32_t *v, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		uint32_t tmp;

		if (c >= n)
			return;
		if (c + 1 < n && domain_cmp(zt, v[c], v[c + 1]) < 0)
			c++;
		if (domain_cmp(zt, v[i], v[c]) >= 0)
			return;
		tmp = v[i];
		v[i] = v[c];
		v[c] = tmp;
		i = c;
	}
}

/* Sort the domain indices v[0..n) by reversed name: a heapsort, which
 * needs no memory beyond v (qsort may copy the whole array). */
static void
sort_by_reversed_name(const struct zonetrack *zt, uint32_t *v, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift_down(zt, v, i, n);
	for (i = n; i-- > 1;) {
		uint32_t tmp = v[0];

		v[0] = v[i];
		v[i] = tmp;
		sift_down(zt, v, 0, i);
	}
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

/* A tracker for n domains named by name_of; see zonetrack.h. */
struct zonetrack *
zonetrack_new_by(const char *(*name_of)(const void *arg, size_t i),
                 const void *arg, size_t n)
{
	struct zonetrack *zt = xcalloc(1, sizeof(*zt));
	size_t i;

	if (n > ZONETRACK_MAX_DOMAINS)
		die(1, "too many domains in one run (%zu)", n);
	zt->name_of = name_of;
	zt->name_arg = arg;
	zt->n = n;
	zt->sorted = xcalloc(n, sizeof(*zt->sorted));
	for (i = 0; i < n; i++)
		zt->sorted[i] = (uint32_t)i;
	sort_by_reversed_name(zt, zt->sorted, n);
	zt->slot = xcalloc(n, sizeof(*zt->slot));
	zt->nbuckets = 16;
	zt->buckets = xcalloc(zt->nbuckets, sizeof(*zt->buckets));
	return zt;
}

/* Element i of the array of names at arg. */
static const char *
name_in_array(const void *arg, size_t i)
{
	const char *const *names = arg;

	return names[i];
}

/* A tracker for the n domains named in an array; see zonetrack.h. */
struct zonetrack *
zonetrack_new(const char *const *names, size_t n)
{
	return zonetrack_new_by(name_in_array, names, n);
}

static void
group_free(struct zone_group *g)
{
	free(g->zone);
	free(g->server);
	free(g->members);
	free(g);
}

/* Free the tracker with every entry and group it still holds. */
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
	free(zt->live);
	free(zt->free_ids);
	free(zt->slot);
	free(zt->sorted);
	free(zt);
}

static struct zone_entry **
entry_slot(struct zonetrack *zt, const char *zone)
{
	struct zone_entry **p =
	    &zt->buckets[hash_bytes(zone, strlen(zone)) & (zt->nbuckets - 1)];

	while (*p != NULL && strcmp((*p)->zone, zone) != 0)
		p = &(*p)->chain;
	return p;
}

/* Double the hash buckets, so that they stay at least as many as the
 * live entries. */
static void
buckets_grow(struct zonetrack *zt)
{
	size_t nb = 2 * zt->nbuckets, b;
	struct zone_entry **nbk = xcalloc(nb, sizeof(*nbk));

	for (b = 0; b < zt->nbuckets; b++)
		while (zt->buckets[b] != NULL) {
			struct zone_entry *e = zt->buckets[b];
			size_t h =
			    hash_bytes(e->zone, strlen(e->zone)) & (nb - 1);

			zt->buckets[b] = e->chain;
			e->chain = nbk[h];
			nbk[h] = e;
		}
	free(zt->buckets);
	zt->buckets = nbk;
	zt->nbuckets = nb;
}

/* How many domains at or below zone are not read yet. */
static size_t
count_unread(const struct zonetrack *zt, const char *zone)
{
	size_t zlen = strlen(zone), lo = 0, hi = zt->n, count = 0;

	while (zlen > 0 && lo < hi) { /* first key >= the zone's key */
		size_t mid = lo + (hi - lo) / 2;
		const char *s = domain_name(zt, zt->sorted[mid]);

		if (rev_cmp(s, strlen(s), zone, zlen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < zt->n; lo++) {
		uint32_t i = zt->sorted[lo];
		const char *s = domain_name(zt, i);

		if (!is_under(s, strlen(s), zone, zlen))
			break;
		count += zt->slot[i] == SLOT_UNREAD;
	}
	return count;
}

/* Make the entry of zone, growing the buckets with the live entries. */
static struct zone_entry *
entry_new(struct zonetrack *zt, const char *zone)
{
	struct zone_entry *e = xcalloc(1, sizeof(*e)), **slot;

	if (zt->nentries >= zt->nbuckets)
		buckets_grow(zt);
	slot = entry_slot(zt, zone);
	e->zone = xstrdup(zone);
	e->unread = count_unread(zt, zone);
	*slot = e;
	zt->nentries++;
	return e;
}

/* Make a group of (zone, server) in e and give it a free id. */
static struct zone_group *
group_new(struct zonetrack *zt, struct zone_entry *e, const char *zone,
          const char *server)
{
	struct zone_group *g = xcalloc(1, sizeof(*g));

	if (zt->nfree == 0 && zt->nids == zt->live_cap) {
		zt->live_cap = zt->live_cap ? 2 * zt->live_cap : 16;
		zt->live =
		    xreallocarray(zt->live, zt->live_cap, sizeof(*zt->live));
		zt->free_ids = xreallocarray(zt->free_ids, zt->live_cap,
		                             sizeof(*zt->free_ids));
	}
	/* every live group has a member of its own: ids stay below n */
	g->id =
	    zt->nfree > 0 ? zt->free_ids[--zt->nfree] : (uint32_t)zt->nids++;
	zt->live[g->id] = g;
	g->zone = xstrdup(zone);
	g->server = xstrdup(server);
	g->entry = e;
	g->next = e->groups;
	e->groups = g;
	return g;
}

/* Join domain i to the group of (zone, server), making what is missing. */
static void
join(struct zonetrack *zt, size_t i, const char *zone, const char *server)
{
	struct zone_entry *e = *entry_slot(zt, zone);
	struct zone_group *g;

	if (e == NULL)
		e = entry_new(zt, zone);
	/* A group handed out is being sent: a latecomer (only possible for
	 * a domain that is not at or below its zone: a configured zone the
	 * configuration refuses, or a discovered one below the domain, such
	 * as a zone of its own for _mta-sts.<domain>) starts a group of its
	 * own rather than join it, and waits until that one is released. */
	for (g = e->groups;
	     g != NULL && (g->handed_out || strcmp(g->server, server) != 0);
	     g = g->next)
		;
	if (g == NULL)
		g = group_new(zt, e, zone, server);
	g->members = xreallocarray(g->members, g->n + 1, sizeof(*g->members));
	g->members[g->n++] = i;
	g->pending++;
	zt->slot[i] = SLOT_GROUP + g->id;
}

/*
 * If the groups of e may go now, hand every one of them out onto *ready:
 * nothing at or below the zone is left to read, every member of every
 * group is done, and no group of the zone is being sent. A zone's groups
 * (one per primary) go together, to one caller that sends them one after
 * another, so that two UPDATEs for one zone are never in flight at once.
 */
static void
entry_maybe_ready(struct zone_entry *e, struct zone_group **ready)
{
	struct zone_group *g;

	if (e->unread > 0)
		return;
	for (g = e->groups; g != NULL; g = g->next)
		if (g->handed_out || g->pending > 0)
			return;
	for (g = e->groups; g != NULL; g = g->next) {
		g->handed_out = 1;
		g->ready_next = *ready;
		*ready = g;
	}
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
	zt->nentries--;
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
	entry_maybe_ready(e, arg);
	entry_retire(zt, e);
}

struct zone_group *
zonetrack_read(struct zonetrack *zt, size_t i, const char *zone,
               const char *server)
{
	struct zone_group *ready = NULL;
	const char *name = domain_name(zt, i);

	zt->slot[i] = SLOT_READ;
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
	entry_maybe_ready(g->entry, &ready);
	return ready;
}

struct zone_group *
zonetrack_group_of(const struct zonetrack *zt, size_t i)
{
	uint32_t v = zt->slot[i];

	return v >= SLOT_GROUP ? zt->live[v - SLOT_GROUP] : NULL;
}

struct zone_group *
zonetrack_release(struct zonetrack *zt, struct zone_group *g)
{
	struct zone_entry *e = g->entry;
	struct zone_group **p, *ready = NULL;
	size_t k;

	for (k = 0; k < g->n; k++)
		zt->slot[g->members[k]] = SLOT_READ;
	zt->live[g->id] = NULL;
	zt->free_ids[zt->nfree++] = g->id;
	for (p = &e->groups; *p != g; p = &(*p)->next)
		;
	*p = g->next;
	group_free(g);
	/* a group that waited for this one to be sent may go now */
	entry_maybe_ready(e, &ready);
	entry_retire(zt, e);
	return ready;
}
