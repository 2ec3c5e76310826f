/*
 * serverconf.c - `mta-sts-sync server-config`: print least-privilege
 * DNS UPDATE permissions for the configured domains, for BIND 9
 * (update-policy grants per zone), Knot DNS (acl entries, one per zone and
 * key) and PowerDNS (a Lua update policy with the names each key may
 * change). Each key may change only the TXT RRsets _mta-sts.D and, when
 * the domain manages its TLS-RPT record, _smtp._tls.D. No DNS query is
 * made: a domain without a configured zone (and not the apex of one)
 * gets its own section, marked as the zone of its _mta-sts name found at
 * run time (a zone of its own, or the domain's); the apex of one is
 * printed in that zone, with the same caveat.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "serverconf.h"
#include "util.h"

/* The domains of a configuration that share a zone, a key, or both,
 * linked in configuration order: found by sorting, so that tens of
 * thousands of domains cost no more than reading them. */
struct groups {
	size_t *next;         /* the next domain of the group, or NONE */
	unsigned char *first; /* is the domain the first of its group? */
};
#define NONE ((size_t)-1)

struct member {
	const char *a; /* NULL: alone */
	const char *b; /* NULL when groups are by a only */
	size_t i;
};

/* By a (NULL first), then b, then position. */
static int
member_cmp(const void *x_, const void *y_)
{
	const struct member *x = x_, *y = y_;
	int c = x->a == NULL || y->a == NULL ? (y->a == NULL) - (x->a == NULL)
	                                     : strcmp(x->a, y->a);

	if (c == 0 && x->b != NULL && y->b != NULL)
		c = strcmp(x->b, y->b);
	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Do sorted members x and y belong to one group? */
static int
member_joins(const struct member *x, const struct member *y)
{
	return x->a != NULL && y->a != NULL && strcmp(x->a, y->a) == 0 &&
	       (x->b == NULL || y->b == NULL || strcmp(x->b, y->b) == 0);
}

/* Group the n domains by a[i] and, if b is not NULL, b[i] as well; a
 * domain whose a[i] is NULL is a group of its own. */
static void
groups_make(struct groups *g, size_t n, const char *const *a,
            const char *const *b)
{
	struct member *m = xcalloc(n ? n : 1, sizeof(*m));

	g->next = xcalloc(n ? n : 1, sizeof(*g->next));
	g->first = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++) {
		m[i].a = a[i];
		m[i].b = b != NULL ? b[i] : NULL;
		m[i].i = i;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	for (size_t k = 0; k < n; k++) {
		int joins = k > 0 && member_joins(&m[k - 1], &m[k]);

		g->first[m[k].i] = !joins;
		g->next[m[k].i] = NONE;
		if (joins)
			g->next[m[k - 1].i] = m[k].i;
	}
	free(m);
}

static void
groups_free(struct groups *g)
{
	free(g->next);
	free(g->first);
}

static int
str_ptr_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/*
 * The zone of each domain, as far as the configuration tells (an array
 * of c->ndomains to free): its zone setting; else its own name when
 * another domain's zone setting names it (that zone exists and the
 * domain is its apex, so the run's SOA queries find it and send the two
 * in one UPDATE, unless _mta-sts.<domain> is a zone of its own, which
 * they find first: sure_zone() says so in the heading); else NULL: found
 * at run time, which no grant printed here can know.
 */
static const char **
zones_known(const struct conf *c)
{
	size_t n = c->ndomains, nz = 0;
	const char **zone = xcalloc(n ? n : 1, sizeof(*zone));
	const char **set = xcalloc(n ? n : 1, sizeof(*set));

	for (size_t i = 0; i < n; i++) {
		struct domain_conf d;

		conf_domain(c, i, &d);
		zone[i] = d.zone;
		if (d.zone != NULL)
			set[nz++] = d.zone;
	}
	qsort(set, nz, sizeof(*set), str_ptr_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *name = conf_domain_name(c, i);

		if (zone[i] == NULL &&
		    bsearch(&name, set, nz, sizeof(*set), str_ptr_cmp) != NULL)
			zone[i] = name;
	}
	free(set);
	return zone;
}

/* The name of each domain's key (an array of c->ndomains to free). */
static const char **
key_names(const struct conf *c)
{
	const char **key = xcalloc(c->ndomains ? c->ndomains : 1, sizeof(*key));

	for (size_t i = 0; i < c->ndomains; i++) {
		struct domain_conf d;

		conf_domain(c, i, &d);
		key[i] = d.key->name;
	}
	return key;
}

/*
 * The end of the comment that names the zone of domain i found at run
 * time: the zone that holds its _mta-sts name, which may be a zone of its
 * own below the domain's; the run refuses a domain whose _smtp._tls name,
 * when it manages it, is in another zone, so that one goes there too.
 */
static const char *
both_names(const struct conf *c, size_t i)
{
	struct domain_conf d;

	conf_domain(c, i, &d);
	return d.has_tls_rpt ? ", which must hold _smtp._tls too" : "";
}

/*
 * The end of the heading of the zone of domain i, the first of its zone
 * group (next links the group): "" when every domain of the group sets
 * that zone; else the caveat for the one that zones_known() filed under
 * its own name, whose _mta-sts name the run finds in a zone of its own
 * first, if there is one.
 */
#define SURE_ZONE_MAX (2 * 256 + 128) /* two names, and the words */
static const char *
sure_zone(const struct conf *c, const size_t *next, size_t i, char *buf,
          size_t size)
{
	for (size_t j = i; j != NONE; j = next[j]) {
		struct domain_conf d;

		conf_domain(c, j, &d);
		if (d.zone != NULL)
			continue;
		snprintf(buf, size,
		         " (%s sets no zone: found at run time by SOA query, "
		         "this one unless _mta-sts.%s is a zone of its own, "
		         "where its grants then go)",
		         d.name, d.name);
		return buf;
	}
	return "";
}

/* The grants of one domain inside an update-policy block. */
static void
bind_grants(FILE *out, const struct domain_conf *d)
{
	fprintf(out, "\tgrant \"%s\" name _mta-sts.%s. TXT;\n", d->key->name,
	        d->name);
	if (d->has_tls_rpt)
		fprintf(out, "\tgrant \"%s\" name _smtp._tls.%s. TXT;\n",
		        d->key->name, d->name);
}

/* Is key k of c written as a key statement in a configuration file
 * (its origin "FILE:LINE" of one of c's files), not read from a
 * key-file? */
static int
key_inline(const struct conf *c, const struct tsig_key *k)
{
	size_t n;

	for (size_t i = 0; k->origin != NULL && i < c->files.n; i++) {
		n = strlen(c->files.v[i]);
		if (strncmp(k->origin, c->files.v[i], n) == 0 &&
		    k->origin[n] == ':' && k->origin[n + 1] != '\0' &&
		    strspn(k->origin + n + 1, "0123456789") ==
		        strlen(k->origin + n + 1))
			return 1;
	}
	return 0;
}

/* Print how named gets a readable copy of key k of c (in a file
 * /etc/bind/NAME.key, NAME the key's if it makes a plain file name):
 * a key-file is installed as is, on one line to paste (its path quoted
 * for the shell, or not shown when it looks like a secret); a key statement
 * of mta-sts-sync's configuration is to be written into a file of its
 * own, as the configuration is not named's to read. */
static void
bind_key_copy(FILE *out, const struct conf *c, const struct tsig_key *k)
{
	char sh[DIAG_MSG_MAX];
	const char *base =
	    strspn(k->name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") ==
	                strlen(k->name) &&
	            k->name[0] != '.'
	        ? k->name
	        : "mta-sts-sync";

	if (key_inline(c, k))
		fprintf(out,
		        "// key %s is a key statement (%s): write it alone "
		        "into /etc/bind/%s.key, owner root, group bind, "
		        "mode 0640\n",
		        k->name, k->origin, base);
	else
		fprintf(out,
		        "// install -m 0640 -o root -g bind %s "
		        "/etc/bind/%s.key\n",
		        k->origin ? path_shell(k->origin, sh, sizeof(sh))
		                  : "KEYFILE",
		        base);
}

/* Print bind_key_copy() for each key that one of c's domains uses. */
static void
bind_key_copies(FILE *out, const struct conf *c)
{
	unsigned char *used = xcalloc(c->nkeys + 1, 1);
	struct domain_conf e;
	size_t i;

	for (i = 0; i < c->ndomains; i++) {
		conf_domain(c, i, &e);
		if (e.key != NULL)
			used[e.key - c->keys] = 1;
	}
	for (i = 0; i < c->nkeys; i++)
		if (used[i])
			bind_key_copy(out, c, &c->keys[i]);
	free(used);
}

/* Print the BIND 9 update-policy blocks, one per zone. BIND checks each
 * record of an UPDATE on its own against the grants, so one grant per
 * name lets the zone's one UPDATE through. */
static void
print_bind(FILE *out, const struct conf *c)
{
	const char **zone = zones_known(c);
	struct groups g;
	size_t i, j;
	char note[SURE_ZONE_MAX];

	/* named refuses allow-update beside update-policy, and
	 * "update-policy local;" beside grants: both are common (DHCP
	 * DDNS, nsupdate -l), so the header says how to merge them; the
	 * grant loses local's limit to this host's addresses, which no
	 * grant can say. named reads its configuration after dropping to
	 * its user, so a key file left 0600 to root stops it at its next
	 * start. */
	fputs("// BIND 9: least-privilege DNS UPDATE grants for mta-sts-sync.\n"
	      "// Put each update-policy block into the zone statement named\n"
	      "// above it (a zone has one update-policy: merge with an\n"
	      "// existing one). A zone's allow-update { key K; }; becomes\n"
	      "// grant K zonesub ANY; in it, since named refuses both\n"
	      "// together; update-policy local; becomes\n"
	      "// grant local-ddns zonesub ANY; (or the session-keyname set),\n"
	      "// which loses local's limit of that key to updates from this\n"
	      "// host: no grant can say it. named.conf must include each key\n"
	      "// from a file named's user can read (named reads it after\n"
	      "// dropping to that user); as root, on Debian (a key-file in\n"
	      "// Knot's format: write its key as a key statement instead):\n",
	      out);
	bind_key_copies(out, c);
	groups_make(&g, c->ndomains, zone, NULL);
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf e;

		if (!g.first[i])
			continue;
		if (zone[i] == NULL)
			fprintf(
			    out,
			    "\n// zone containing _mta-sts.%s (no zone "
			    "configured: found at run time by SOA query%s)\n",
			    conf_domain_name(c, i), both_names(c, i));
		else
			fprintf(out, "\n// zone \"%s\"%s\n", zone[i],
			        sure_zone(c, g.next, i, note, sizeof(note)));
		fputs("update-policy {\n", out);
		for (j = i; j != NONE; j = g.next[j]) {
			conf_domain(c, j, &e);
			bind_grants(out, &e);
		}
		fputs("};\n", out);
	}
	groups_free(&g);
	free(zone);
}

/*
 * What Knot (3.2) keeps of one acl's update-owner-name list: each name
 * costs its wire length and 2 bytes, and past 65535 bytes it refuses the
 * configuration ("not enough space provided"): about 1000 domains with
 * both names. Parts are kept below that, with room to spare.
 */
#define KNOT_OWNERS_MAX 60000

/* What domain d's owner names cost in that list: "_mta-sts.D." is
 * strlen(D) + 11 bytes in wire form, "_smtp._tls.D." strlen(D) + 13. */
static size_t
knot_owner_cost(const struct domain_conf *d)
{
	size_t len = strlen(d->name);

	return len + 13 + (d->has_tls_rpt ? len + 15 : 0);
}

/* One part of the Knot acl of a zone and key: members first up to (not
 * including) end of its group, the no'th part (1, 2, ...). */
struct knot_part {
	size_t first, end;
	unsigned no;
};

/* Before the first part of the acl of the group of g whose first member
 * is i: knot_part_next() steps to it. */
static struct knot_part
knot_parts_of(size_t i)
{
	struct knot_part p = {NONE, i, 0};

	return p;
}

/* Step p to the next part of its acl: the members, from where the last
 * part ended, that fit below KNOT_OWNERS_MAX (one at least, however
 * many names it has). The only place that tells where parts end, so
 * that the acls printed and the UPDATEs the sync cuts agree. Returns 1,
 * or 0 when the group has no more members. */
static int
knot_part_next(struct knot_part *p, const struct conf *c,
               const struct groups *g)
{
	size_t used = 0, j;
	struct domain_conf d;

	if (p->end == NONE)
		return 0;
	p->first = p->end;
	p->no++;
	for (j = p->first; j != NONE; j = g->next[j]) {
		conf_domain(c, j, &d);
		if (used > 0 && used + knot_owner_cost(&d) > KNOT_OWNERS_MAX)
			break;
		used += knot_owner_cost(&d);
	}
	p->end = j;
	return 1;
}

/* The id of part `part` (1, 2, ...) of the acl of a zone, or of a domain
 * whose zone is found at run time (name), into out: key is NULL when the
 * zone's domains have one key. '/' and '+' are in no domain or key name,
 * so ids never collide (but for a hash's, once knot_id_shorten() cut
 * them). */
static void
knot_acl_id(char *out, size_t size, const char *name, const char *key,
            unsigned part)
{
	size_t n = (size_t)snprintf(out, size, "mta-sts-sync-%s", name);

	if (key != NULL && n < size)
		n += (size_t)snprintf(out + n, size - n, "/%s", key);
	if (part > 1 && n < size)
		snprintf(out + n, size - n, "+%u", part);
}

/* "mta-sts-sync-", a name, "/", a key name, "+N" */
#define KNOT_ID_MAX (16 + 2 * 256 + 16)

/* Knot refuses an acl id longer than this, saying only "not enough
 * space provided". */
#define KNOT_ID_LIMIT 254

/* Shorten the acl id `id` in place when it is longer than Knot takes:
 * its first bytes, "-" and 16 hex digits of a hash of the whole id, so
 * that ids stay distinct and the same from run to run. Returns 1 if it
 * was shortened. */
static int
knot_id_shorten(char *id)
{
	size_t len = strlen(id);
	unsigned long long h;

	if (len <= KNOT_ID_LIMIT)
		return 0;
	h = (unsigned long long)hash64_bytes(id, len);
	snprintf(id + KNOT_ID_LIMIT - 17, 18, "-%016llx", h);
	return 1;
}

/* One Knot acl entry, id, for the owner names of members j up to (not
 * including) end of g; full: the whole id when id is a shortened form of
 * it, given in a comment line (else NULL). */
static void
knot_acl(FILE *out, const struct conf *c, const struct groups *g, size_t j,
         size_t end, const char *id, const char *full)
{
	struct domain_conf d;

	conf_domain(c, j, &d);
	if (full != NULL)
		fprintf(out,
		        "  # %s, its id shortened (Knot takes at most %d "
		        "bytes):\n",
		        full, KNOT_ID_LIMIT);
	fprintf(out,
	        "  - id: %s\n"
	        "    key: %s\n"
	        "    action: update\n"
	        "    update-type: [TXT]\n"
	        "    update-owner: name\n"
	        "    update-owner-match: equal\n",
	        id, d.key->name);
	for (; j != end; j = g->next[j]) {
		conf_domain(c, j, &d);
		fprintf(out, "    update-owner-name: _mta-sts.%s.\n", d.name);
		if (d.has_tls_rpt)
			fprintf(out, "    update-owner-name: _smtp._tls.%s.\n",
			        d.name);
	}
}

/* The Knot grouping: by zone (for the zone hints), by zone and key (one
 * acl each, in parts), and whether each domain's zone has several keys
 * (its acl ids then name the key). */
struct knot_groups {
	const char **zone, **key;
	struct groups by_zone, by_zone_key;
	unsigned char *several_keys;
};

static void
knot_groups_make(struct knot_groups *k, const struct conf *c)
{
	size_t n = c->ndomains;

	k->zone = zones_known(c);
	k->key = key_names(c);
	groups_make(&k->by_zone, n, k->zone, NULL);
	groups_make(&k->by_zone_key, n, k->zone, k->key);
	k->several_keys = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++) {
		int several = 0;
		size_t j;

		if (!k->by_zone.first[i])
			continue;
		for (j = i; j != NONE; j = k->by_zone.next[j])
			several |= strcmp(k->key[j], k->key[i]) != 0;
		for (j = i; j != NONE; j = k->by_zone.next[j])
			k->several_keys[j] = (unsigned char)several;
	}
}

static void
knot_groups_free(struct knot_groups *k)
{
	groups_free(&k->by_zone);
	groups_free(&k->by_zone_key);
	free(k->several_keys);
	free(k->zone);
	free(k->key);
}

/* The id of part `part` of the acl of domain i's zone and key, into out
 * (KNOT_ID_MAX bytes), shortened to what Knot takes; the full id into
 * full (as big) if not NULL. Returns 1 if it was shortened. */
static int
knot_id_of(const struct knot_groups *k, const struct conf *c, size_t i,
           unsigned part, char *out, char *full)
{
	knot_acl_id(out, KNOT_ID_MAX,
	            k->zone[i] != NULL ? k->zone[i] : conf_domain_name(c, i),
	            k->several_keys[i] ? k->key[i] : NULL, part);
	if (full != NULL)
		str_copy(full, KNOT_ID_MAX, out);
	return knot_id_shorten(out);
}

/* Which part of its zone's Knot acl each domain of c falls in; see
 * serverconf.h. The sync ends an UPDATE where the part changes. */
unsigned *
knot_acl_parts(const struct conf *c)
{
	unsigned *part = xcalloc(c->ndomains ? c->ndomains : 1, sizeof(*part));
	struct knot_groups k;

	knot_groups_make(&k, c);
	for (size_t i = 0; i < c->ndomains; i++) {
		struct knot_part p = knot_parts_of(i);

		if (!k.by_zone_key.first[i] || k.zone[i] == NULL)
			continue;
		while (knot_part_next(&p, c, &k.by_zone_key))
			for (size_t m = p.first; m != p.end;
			     m = k.by_zone_key.next[m])
				part[m] = p.no;
	}
	knot_groups_free(&k);
	return part;
}

/* Print the acls of the zone and key of domain i, the first of its
 * group: one, or several parts when its names are more than one holds. */
static void
knot_acls_of(FILE *out, const struct conf *c, const struct knot_groups *k,
             size_t i)
{
	char id[KNOT_ID_MAX], full[KNOT_ID_MAX];
	struct knot_part p = knot_parts_of(i);

	while (knot_part_next(&p, c, &k->by_zone_key)) {
		int cut = knot_id_of(k, c, i, p.no, id, full);

		knot_acl(out, c, &k->by_zone_key, p.first, p.end, id,
		         cut ? full : NULL);
	}
}

/* The ids of every acl of the zone and key of domain i (the first of its
 * group), each after sep, then ", ". */
static void
knot_ids_of(FILE *out, const struct conf *c, const struct knot_groups *k,
            size_t i, const char **sep)
{
	char id[KNOT_ID_MAX];
	struct knot_part p = knot_parts_of(i);

	while (knot_part_next(&p, c, &k->by_zone_key)) {
		knot_id_of(k, c, i, p.no, id, NULL);
		fprintf(out, "%s%s", *sep, id);
		*sep = ", ";
	}
}

/* The commented zone section that references the acls of the zone of
 * domain i, the first of its zone group. */
static void
knot_zone_hint(FILE *out, const struct conf *c, const struct knot_groups *k,
               size_t i)
{
	const char *sep = "";
	char note[SURE_ZONE_MAX];

	if (k->zone[i] == NULL)
		fprintf(out,
		        "#   # the zone containing _mta-sts.%s (found at run "
		        "time by SOA query%s):\n"
		        "#   - domain: ZONE\n",
		        conf_domain_name(c, i), both_names(c, i));
	else {
		const char *z =
		    sure_zone(c, k->by_zone.next, i, note, sizeof(note));

		fprintf(out, "#   - domain: %s%s%s\n", k->zone[i],
		        *z != '\0' ? "  #" : "", z);
	}
	fputs("#     acl: [", out);
	for (size_t j = i; j != NONE; j = k->by_zone.next[j])
		if (k->by_zone_key.first[j])
			knot_ids_of(out, c, k, j, &sep);
	fputs("]\n", out);
}

/*
 * Print the Knot DNS acl section and how to reference it. Knot lets an
 * UPDATE through only when one acl rule allows every record of it, so
 * the names of a zone's domains (with one key) share one rule: with a
 * rule per domain, the zone's one UPDATE (DESIGN.md section 2.9) was
 * refused (NOTAUTH, BADKEY) and sent again one domain at a time.
 */
static void
print_knot(FILE *out, const struct conf *c)
{
	struct knot_groups k;
	size_t i;

	fputs("# Knot DNS: least-privilege DNS UPDATE ACLs for mta-sts-sync.\n"
	      "# Knot allows an UPDATE only when one acl allows every record\n"
	      "# of it: each zone has one acl per key with the names of all\n"
	      "# its domains, so that mta-sts-sync's one UPDATE per zone\n"
	      "# passes. A domain without a zone setting has an acl of its\n"
	      "# own: set zone for domains that share a zone, or their\n"
	      "# UPDATE is sent again one domain at a time.\n"
	      "# Each key must be defined before these acls (keymgr -t NAME,\n"
	      "# in the key: section or in a file included above them).\n"
	      "acl:\n",
	      out);
	knot_groups_make(&k, c);
	for (i = 0; i < c->ndomains; i++)
		if (k.by_zone_key.first[i])
			knot_acls_of(out, c, &k, i);
	fputs("\n# Reference the acls from their zones (add to an existing "
	      "acl list):\n# zone:\n",
	      out);
	for (i = 0; i < c->ndomains; i++)
		if (k.by_zone.first[i])
			knot_zone_hint(out, c, &k, i);
	knot_groups_free(&k);
}

/* The names of domain d in a Lua table of names. */
static void
pdns_names(FILE *out, const struct domain_conf *d)
{
	fprintf(out, "    [\"_mta-sts.%s.\"] = true,\n", d->name);
	if (d->has_tls_rpt)
		fprintf(out, "    [\"_smtp._tls.%s.\"] = true,\n", d->name);
}

/* The Lua table of the names each key may change (key and domain names
 * are lower case, without a trailing dot, and hold no quote). */
static void
pdns_grants(FILE *out, const struct conf *c)
{
	const char **key = key_names(c);
	struct groups g;
	size_t i, j;

	fputs("local grants = {\n", out);
	groups_make(&g, c->ndomains, key, NULL);
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf d, e;

		if (!g.first[i])
			continue;
		conf_domain(c, i, &d);
		fprintf(out, "  [\"%s.\"] = {\n", d.key->name);
		for (j = i; j != NONE; j = g.next[j]) {
			conf_domain(c, j, &e);
			pdns_names(out, &e);
		}
		fputs("  },\n", out);
	}
	groups_free(&g);
	free(key);
	fputs("}\n", out);
}

/* Print the PowerDNS Lua update policy. */
static void
print_pdns(FILE *out, const struct conf *c)
{
	fputs(
	    "-- PowerDNS: least-privilege DNS UPDATE policy for mta-sts-sync.\n"
	    "-- Save it as the file named by lua-dnsupdate-policy-script in\n"
	    "-- pdns.conf, with dnsupdate=yes. PowerDNS then asks it about\n"
	    "-- every record of every update to every zone, instead of all\n"
	    "-- its other update permissions (allow-dnsupdate-from,\n"
	    "-- ALLOW-DNSUPDATE-FROM, TSIG-ALLOW-DNSUPDATE): a granted key is\n"
	    "-- enough from any address (test r:getRemote() to limit them),\n"
	    "-- and other update clients need their rules here too. What it\n"
	    "-- refuses is dropped from an update that still answers NOERROR;\n"
	    "-- mta-sts-sync sees it when it reads the records back. PowerDNS\n"
	    "-- reads this file only when it starts: restart pdns_server\n"
	    "-- after each change of it. PowerDNS\n"
	    "-- must know each key: pdnsutil import-tsig-key NAME ALGORITHM\n"
	    "-- SECRET (on the server: the secret shows in its process "
	    "list).\n",
	    out);
	pdns_grants(out, c);
	fputs("\nfunction updatepolicy(r)\n"
	      "  local key = r:getTsigName()\n"
	      "  if key:countLabels() == 0 then\n"
	      "    return false\n"
	      "  end\n"
	      "  local names = grants[key:toString():lower()]\n"
	      "  return names ~= nil and r:getQType() == pdns.TXT and\n"
	      "    names[r:getQName():toString():lower()] == true\n"
	      "end\n",
	      out);
}

/* The grants of c in the formats o asks for (all by default), to out. */
static void
print_flavours(FILE *out, const struct cmd_opts *o, const struct conf *c)
{
	if (o->flavour == FLAVOUR_ALL || o->flavour == FLAVOUR_BIND)
		print_bind(out, c);
	if (o->flavour == FLAVOUR_ALL)
		fputs("\n", out);
	if (o->flavour == FLAVOUR_ALL || o->flavour == FLAVOUR_KNOT)
		print_knot(out, c);
	if (o->flavour == FLAVOUR_ALL)
		fputs("\n", out);
	if (o->flavour == FLAVOUR_ALL || o->flavour == FLAVOUR_PDNS)
		print_pdns(out, c);
}

/*
 * print_flavours() into memory, then to standard output in one write
 * (log_stdout_write()): printed there through stdio, a write that fails
 * inside a printf (a full disk, past the stream's first 4 KiB) loses its
 * cause, and the error could say only that a write failed. Returns 0, or
 * -1 (said; a failed write ends the program, log_stdout_fatal()).
 */
static int
serverconf_print(const struct cmd_opts *o, const struct conf *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int rc;

	if (m == NULL) {
		log_error(NULL, "cannot print the configuration: %s",
		          strerror(errno));
		return -1;
	}
	errno = 0;
	print_flavours(m, o, c);
	rc = ferror(m);
	if (fclose(m) != 0 || rc != 0) {
		/* only memory can run out there */
		log_error(NULL, "cannot print the configuration: %s",
		          strerror(errno != 0 ? errno : ENOMEM));
		free(text);
		return -1;
	}
	rc = log_stdout_write(text, len) == 0 && log_stdout_flush() == 0 ? 0
	                                                                 : -1;
	free(text);
	return rc;
}

int
serverconf_run(const struct cmd_opts *o)
{
	const char *path =
	    o->conf_path != NULL ? o->conf_path : CONF_DEFAULT_PATH;
	struct conf *c;
	struct diag d;
	size_t i;
	int rc;

	diag_init(&d);
	c = conf_load(path, &d);
	for (i = 0; i < d.nwarn; i++)
		log_warning(NULL, "%s", d.warn[i]);
	if (c == NULL) {
		log_error(NULL, "%s", d.error);
		return EXIT_USAGE;
	}
	rc = serverconf_print(o, c);
	conf_free(c);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
