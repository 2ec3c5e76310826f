/*
 * zonetrack-test.c - when a zone's UPDATE may go: fixed cases, then random
 * runs checked against the rule itself (every domain at or below the zone
 * read, every member done, each group handed out once, never two UPDATEs
 * for one zone in flight at once).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "zonetrack.h"

/* Is the group list l exactly the one group g? */
static int
only(const struct zone_group *l, const struct zone_group *g)
{
	return l != NULL && l == g && l->ready_next == NULL;
}

static void
test_one_zone_per_domain(void)
{
	const char *names[] = {"a.test", "b.test"};
	struct zonetrack *zt = zonetrack_new(names, 2);
	struct zone_group *g;

	ok(zonetrack_read(zt, 0, "a.test", "ns") == NULL,
	   "a read: its own work is pending");
	g = zonetrack_group_of(zt, 0);
	ok(g != NULL && strcmp(g->zone, "a.test") == 0 && g->n == 1,
	   "a joined the group of a.test");
	ok(only(zonetrack_done(zt, g), g), "a done: a.test may go");
	ok(g->members[0] == 0, "its member is a");
	zonetrack_release(zt, g);
	ok(zonetrack_group_of(zt, 0) == NULL, "released");
	ok(zonetrack_read(zt, 1, NULL, NULL) == NULL, "b failed to read");
	ok(zonetrack_group_of(zt, 1) == NULL, "b has no group");
	zonetrack_free(zt);
}

static void
test_shared_zone(void)
{
	const char *names[] = {"example.com", "a.example.com", "b.example.com",
	                       "bexample.com", "x-example.com"};
	struct zonetrack *zt = zonetrack_new(names, 5);
	struct zone_group *g, *r;

	ok(zonetrack_read(zt, 3, "bexample.com", "ns") == NULL,
	   "bexample.com read");
	r = zonetrack_done(zt, zonetrack_group_of(zt, 3));
	ok(r != NULL && strcmp(r->zone, "bexample.com") == 0,
	   "bexample.com goes alone: nothing else is below it");
	zonetrack_release(zt, r);
	ok(zonetrack_read(zt, 0, "example.com", "ns") == NULL,
	   "example.com read");
	g = zonetrack_group_of(zt, 0);
	ok(zonetrack_done(zt, g) == NULL,
	   "example.com done, but a. and b.example.com are not read");
	ok(zonetrack_read(zt, 4, "x-example.com", "ns") == NULL,
	   "x-example.com is not below example.com");
	ok(zonetrack_read(zt, 1, "example.com", "ns") == NULL,
	   "a.example.com joins example.com");
	ok(zonetrack_group_of(zt, 1) == g && g->n == 2, "two members");
	ok(zonetrack_done(zt, g) == NULL, "b.example.com still unread");
	r = zonetrack_read(zt, 2, "b.example.com", "ns");
	ok(only(r, g), "reading b.example.com (its own zone) releases "
	               "example.com");
	ok(g->members[0] == 0 && g->members[1] == 1, "members in join order");
	zonetrack_release(zt, g);
	r = zonetrack_done(zt, zonetrack_group_of(zt, 2));
	ok(r != NULL && strcmp(r->zone, "b.example.com") == 0,
	   "b.example.com goes when done");
	zonetrack_release(zt, r);
	r = zonetrack_done(zt, zonetrack_group_of(zt, 4));
	ok(r != NULL && strcmp(r->zone, "x-example.com") == 0,
	   "x-example.com goes when done");
	zonetrack_release(zt, r);
	zonetrack_free(zt);
}

static void
test_two_primaries(void)
{
	const char *names[] = {"a.z.test", "b.z.test"};
	struct zonetrack *zt = zonetrack_new(names, 2);
	struct zone_group *g0, *g1, *r;

	zonetrack_read(zt, 0, "z.test", "ns1");
	zonetrack_read(zt, 1, "z.test", "ns2");
	g0 = zonetrack_group_of(zt, 0);
	g1 = zonetrack_group_of(zt, 1);
	ok(g0 != g1 && strcmp(g0->server, "ns1") == 0 &&
	       strcmp(g1->server, "ns2") == 0,
	   "one group per primary");
	ok(zonetrack_done(zt, g1) == NULL,
	   "the second primary's group waits for the first: never two "
	   "UPDATEs for one zone at once");
	r = zonetrack_done(zt, g0);
	ok(r == g0 && r->ready_next == g1 && g1->ready_next == NULL,
	   "then both go in one list, in the order they formed");
	ok(zonetrack_release(zt, g0) == NULL &&
	       zonetrack_release(zt, g1) == NULL,
	   "and nothing waits on them");
	zonetrack_free(zt);
}

/* A domain outside the zone it names (the configuration refuses that,
 * this is the tracker's own guard) never joins a group being sent. */
static void
test_latecomer(void)
{
	const char *names[] = {"a.test", "b.other"};
	struct zonetrack *zt = zonetrack_new(names, 2);
	struct zone_group *g1, *g2;

	zonetrack_read(zt, 0, "a.test", "ns");
	g1 = zonetrack_done(zt, zonetrack_group_of(zt, 0));
	ok(g1 != NULL, "a.test handed out");
	ok(zonetrack_read(zt, 1, "a.test", "ns") == NULL,
	   "b.other read, naming a.test");
	g2 = zonetrack_group_of(zt, 1);
	ok(g2 != NULL && g2 != g1 && g1->n == 1,
	   "it starts a group of its own; the one being sent is untouched");
	ok(zonetrack_done(zt, g2) == NULL,
	   "done, it waits while the zone's UPDATE is being sent");
	ok(only(zonetrack_release(zt, g1), g2),
	   "and goes once that one is released");
	ok(zonetrack_release(zt, g2) == NULL, "released in turn");
	zonetrack_free(zt);
}

/* Unfinished groups are freed with the tracker (a run that stopped). */
static void
test_free_unfinished(void)
{
	const char *names[] = {"a.test", "b.a.test"};
	struct zonetrack *zt = zonetrack_new(names, 2);

	ok(zonetrack_read(zt, 0, "a.test", "ns") == NULL, "a read");
	zonetrack_free(zt);
	ok(1, "freed with a group pending (valgrind checks the rest)");
}

/* ------------------------------------------------------------ growth */

#define GN 1000 /* zones in flight at once */

/* How many of domains [from, to) are not in a group of their own zone
 * (want_group) or are in a group at all (!want_group). */
static int
check_groups(struct zonetrack *zt, char names[][32], int from, int to, int step,
             int want_group)
{
	int i, bad = 0;

	for (i = from; i < to; i += step) {
		struct zone_group *g = zonetrack_group_of(zt, (size_t)i);

		if (!want_group)
			bad += g != NULL;
		else
			bad += g == NULL || strcmp(g->zone, names[i]) != 0 ||
			       g->n != 1 || g->members[0] != (size_t)i;
	}
	return bad;
}

/* Send and release the groups of domains [from, to) by step, each on
 * its own. Returns how many were not handed out alone. */
static int
send_each(struct zonetrack *zt, int from, int to, int step)
{
	int i, bad = 0;

	for (i = from; i < to; i += step) {
		struct zone_group *g = zonetrack_group_of(zt, (size_t)i);
		struct zone_group *r = g ? zonetrack_done(zt, g) : NULL;

		bad += r == NULL || r != g || r->ready_next != NULL;
		if (r != NULL)
			zonetrack_release(zt, r);
	}
	return bad;
}

/* Name i of an array of char[32] (no array of pointers to them). */
static const char *
growth_name(const void *arg, size_t i)
{
	const char(*names)[32] = arg;

	return names[i];
}

/* Many zones in flight at once: the hash table and the table of live
 * groups grow past their first size, the ids of released groups are
 * given to new ones, and every domain still finds its own group. The
 * names come from a function (zonetrack_new_by). */
static void
test_growth(void)
{
	static char names[2 * GN][32];
	struct zonetrack *zt;
	int i, bad = 0;

	for (i = 0; i < 2 * GN; i++)
		snprintf(names[i], sizeof(names[i]), "d%04d.test", i);
	zt = zonetrack_new_by(growth_name, names, 2 * GN);
	for (i = 0; i < GN; i++)
		bad += zonetrack_read(zt, (size_t)i, names[i], "ns") != NULL;
	ok(bad == 0 && check_groups(zt, names, 0, GN, 1, 1) == 0,
	   "%d zones in flight, each domain in a group of its own zone", GN);
	ok(send_each(zt, 1, GN, 2) == 0, "every other one sent alone");
	ok(check_groups(zt, names, 1, GN, 2, 0) == 0,
	   "their domains are in no group any more");
	for (i = GN; i < 2 * GN; i++)
		bad += zonetrack_read(zt, (size_t)i, names[i], "ns") != NULL;
	ok(bad == 0 && check_groups(zt, names, 0, GN, 2, 1) == 0 &&
	       check_groups(zt, names, GN, 2 * GN, 1, 1) == 0,
	   "%d more read, reusing the freed ids: each in its own group", GN);
	ok(send_each(zt, 0, GN, 2) == 0 && send_each(zt, GN, 2 * GN, 1) == 0,
	   "the rest sent alone");
	ok(check_groups(zt, names, 0, 2 * GN, 1, 0) == 0, "no group left");
	zonetrack_free(zt);
}

/* ------------------------------------------------------------ random */

#define RN 60

struct model {
	char names[RN][64];
	const char *ptr[RN];
	int zone_of[RN]; /* index of the zone's name among the domains, -1:
	                    failed; zones are domain names here */
	int server_of[RN];
	int read[RN], done[RN], sent[RN];
};

/* Is domain i at or below the name of domain z? */
static int
below(const struct model *m, int i, int z)
{
	size_t a = strlen(m->names[i]), b = strlen(m->names[z]);

	if (a < b || strcmp(m->names[i] + a - b, m->names[z]) != 0)
		return 0;
	return a == b || m->names[i][a - b - 1] == '.';
}

/* A random tree of names: each new name a label under an earlier one or
 * a new top-level name; each domain's zone is a random ancestor-or-self
 * (or none). */
static void
model_init(struct model *m, unsigned *seed)
{
	int i, j;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < RN; i++) {
		int parent = i > 0 && rand_r(seed) % 4 != 0
		                 ? (int)(rand_r(seed) % (unsigned)i)
		                 : -1;

		if (parent >= 0 && strlen(m->names[parent]) < 50)
			snprintf(m->names[i], sizeof(m->names[i]), "l%d.%s", i,
			         m->names[parent]);
		else
			snprintf(m->names[i], sizeof(m->names[i]), "t%d", i);
		m->ptr[i] = m->names[i];
		m->zone_of[i] = -1;
		if (rand_r(seed) % 8 == 0)
			continue;
		for (j = 0; j < 100; j++) {
			int z = (int)(rand_r(seed) % (unsigned)(i + 1));

			if (below(m, i, z)) {
				m->zone_of[i] = z;
				break;
			}
		}
		m->server_of[i] = (int)(rand_r(seed) % 2);
	}
}

/* May g go by the rule? Every domain below its zone read, every member
 * done. */
static int
rule_allows(const struct model *m, const struct zone_group *g)
{
	int i;
	size_t k;

	for (i = 0; i < RN; i++)
		if (strcmp(m->names[i], g->zone) == 0)
			break;
	for (int j = 0; j < RN; j++)
		if (below(m, j, i) && !m->read[j])
			return 0;
	for (k = 0; k < g->n; k++)
		if (!m->done[g->members[k]])
			return 0;
	return 1;
}

/* A random run's groups handed out and not released yet: the UPDATEs
 * in flight. */
struct flight {
	struct zone_group *g[RN];
	int n;
};

/* Check the groups of list l, just handed out, and put them in flight;
 * returns how many broke the rule: sent before the rule allows, a
 * domain sent twice or in a group of another zone, or a group of a zone
 * that already has an UPDATE in flight. */
static int
take(struct model *m, struct flight *f, struct zone_group *l)
{
	int bad = 0, in_flight = f->n;

	for (; l != NULL; l = l->ready_next) {
		size_t k;

		bad += !rule_allows(m, l);
		for (k = 0; k < l->n; k++) {
			int d = (int)l->members[k];

			bad += m->sent[d]++ != 0;
			bad += strcmp(m->names[m->zone_of[d]], l->zone) != 0;
		}
		for (int j = 0; j < in_flight; j++)
			bad += strcmp(f->g[j]->zone, l->zone) == 0;
		f->g[f->n++] = l;
	}
	return bad;
}

/* Release in-flight group j (its UPDATE answered); the groups that
 * waited for it are taken. */
static int
land(struct model *m, struct zonetrack *zt, struct flight *f, int j)
{
	struct zone_group *g = f->g[j];

	f->g[j] = f->g[--f->n];
	return take(m, f, zonetrack_release(zt, g));
}

/* One random run: reads in order (as sync does) interleaved in random
 * order with done events and with the answers of the UPDATEs in flight.
 * Returns the number of violations. */
static int
random_run(unsigned seed)
{
	struct model m;
	struct flight f = {.n = 0};
	struct zonetrack *zt;
	char server[2][4] = {"ns1", "ns2"};
	int next_read = 0, bad = 0, i, waiting[RN], nwait = 0;

	model_init(&m, &seed);
	zt = zonetrack_new(m.ptr, RN);
	while (next_read < RN || nwait > 0 || f.n > 0) {
		unsigned pick = rand_r(&seed) % 3;

		if (next_read < RN && (pick == 0 || (nwait == 0 && f.n == 0))) {
			i = next_read++;
			m.read[i] = 1;
			bad += take(&m, &f,
			            zonetrack_read(zt, i,
			                           m.zone_of[i] < 0
			                               ? NULL
			                               : m.names[m.zone_of[i]],
			                           server[m.server_of[i]]));
			if (m.zone_of[i] >= 0)
				waiting[nwait++] = i;
		} else if (nwait > 0 && (pick == 1 || f.n == 0)) {
			int w = (int)(rand_r(&seed) % (unsigned)nwait);

			i = waiting[w];
			waiting[w] = waiting[--nwait];
			m.done[i] = 1;
			bad +=
			    take(&m, &f,
			         zonetrack_done(zt, zonetrack_group_of(zt, i)));
		} else if (f.n > 0) {
			bad += land(&m, zt, &f,
			            (int)(rand_r(&seed) % (unsigned)f.n));
		}
	}
	for (i = 0; i < RN; i++)
		bad += m.zone_of[i] >= 0 && m.sent[i] != 1;
	zonetrack_free(zt);
	return bad;
}

int
main(void)
{
	unsigned s;
	int bad = 0;

	test_one_zone_per_domain();
	test_shared_zone();
	test_two_primaries();
	test_latecomer();
	test_free_unfinished();
	test_growth();
	for (s = 1; s <= 300; s++)
		bad += random_run(s);
	ok(bad == 0,
	   "300 random runs: every group handed out once, only "
	   "when the rule allows, with the right members, never "
	   "while its zone has an UPDATE in flight (%d violations)",
	   bad);
	return done_testing();
}
