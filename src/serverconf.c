/*
 * serverconf.c - `mta-sts-sync server-config`: print least-privilege
 * DNS UPDATE permissions for the configured domains, for BIND 9
 * (update-policy grants per zone), Knot DNS (acl entries) and PowerDNS (a
 * Lua update policy with the names each key may change). Each key may
 * change only the TXT RRsets _mta-sts.D and, when the domain manages its
 * TLS-RPT record, _smtp._tls.D. No DNS query is made: a domain without a
 * configured zone gets its own section, marked as found at run time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

static const char *
zone_of(const struct domain_conf *d)
{
	return d->zone;
}

static const char *
key_of(const struct domain_conf *d)
{
	return d->key->name;
}

/* The domains of a configuration that share a zone or key, linked in
 * configuration order: found by sorting, so that tens of thousands of
 * domains cost no more than reading them. */
struct groups {
	size_t *next;         /* the next domain of the group, or NONE */
	unsigned char *first; /* is the domain the first of its group? */
};
#define NONE ((size_t)-1)

struct member {
	const char *what; /* NULL: alone */
	size_t i;
};

/* By what (NULL first), then by position. */
static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = x->what == NULL || y->what == NULL
	            ? (y->what == NULL) - (x->what == NULL)
	            : strcmp(x->what, y->what);

	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Group the domains of c by what (zone_of, key_of); a domain whose what
 * is NULL is a group of its own. */
static void
groups_make(struct groups *g, const struct conf *c,
            const char *(*what)(const struct domain_conf *))
{
	size_t n = c->ndomains;
	struct member *m = xcalloc(n ? n : 1, sizeof(*m));
	struct domain_conf d;

	g->next = xcalloc(n ? n : 1, sizeof(*g->next));
	g->first = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++) {
		conf_domain(c, i, &d);
		m[i].what = what(&d);
		m[i].i = i;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	for (size_t k = 0; k < n; k++) {
		int joins = k > 0 && m[k].what != NULL &&
		            m[k - 1].what != NULL &&
		            strcmp(m[k].what, m[k - 1].what) == 0;

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

/* Print the BIND 9 update-policy blocks, one per zone. */
static void
print_bind(FILE *out, const struct conf *c)
{
	struct groups g;
	size_t i, j;

	fputs("// BIND 9: least-privilege DNS UPDATE grants for mta-sts-sync.\n"
	      "// Put each update-policy block into the zone statement named\n"
	      "// above it (a zone has one update-policy: merge with an\n"
	      "// existing one). The key statements must be in named.conf\n"
	      "// too: include the key file.\n",
	      out);
	groups_make(&g, c, zone_of);
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf dc, *d = &dc, e;

		if (!g.first[i])
			continue;
		conf_domain(c, i, d);
		if (d->zone == NULL)
			fprintf(out,
			        "\n// zone containing \"%s\" (no zone "
			        "configured: found at run time by SOA query)\n",
			        d->name);
		else
			fprintf(out, "\n// zone \"%s\"\n", d->zone);
		fputs("update-policy {\n", out);
		for (j = i; j != NONE; j = g.next[j]) {
			conf_domain(c, j, &e);
			bind_grants(out, &e);
		}
		fputs("};\n", out);
	}
	groups_free(&g);
}

/* One Knot acl entry for domain d. */
static void
knot_acl(FILE *out, const struct domain_conf *d)
{
	fprintf(out,
	        "  - id: mta-sts-sync-%s\n"
	        "    key: %s\n"
	        "    action: update\n"
	        "    update-type: [TXT]\n"
	        "    update-owner: name\n"
	        "    update-owner-match: equal\n"
	        "    update-owner-name: [_mta-sts.%s.",
	        d->name, d->key->name, d->name);
	if (d->has_tls_rpt)
		fprintf(out, ", _smtp._tls.%s.", d->name);
	fputs("]\n", out);
}

/* The commented zone section that references the acls of the zone of
 * domain i, the first of its group in g. */
static void
knot_zone_hint(FILE *out, const struct conf *c, const struct groups *g,
               size_t i)
{
	struct domain_conf dc, *d = &dc, e;
	const char *sep = "";
	size_t j;

	conf_domain(c, i, d);
	if (d->zone == NULL) {
		fprintf(out,
		        "#   # the zone containing %s (found at run time by "
		        "SOA query):\n"
		        "#   - domain: ZONE\n"
		        "#     acl: [mta-sts-sync-%s]\n",
		        d->name, d->name);
		return;
	}
	fprintf(out, "#   - domain: %s\n#     acl: [", d->zone);
	for (j = i; j != NONE; j = g->next[j]) {
		conf_domain(c, j, &e);
		fprintf(out, "%smta-sts-sync-%s", sep, e.name);
		sep = ", ";
	}
	fputs("]\n", out);
}

/* Print the Knot DNS acl section and how to reference it. */
static void
print_knot(FILE *out, const struct conf *c)
{
	struct groups g;
	size_t i;

	fputs("# Knot DNS: least-privilege DNS UPDATE ACLs for mta-sts-sync.\n"
	      "# The key section must define each key (keymgr -t NAME).\n"
	      "acl:\n",
	      out);
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf d;

		conf_domain(c, i, &d);
		knot_acl(out, &d);
	}
	fputs("\n# Reference the acls from their zones (add to an existing "
	      "acl list):\n# zone:\n",
	      out);
	groups_make(&g, c, zone_of);
	for (i = 0; i < c->ndomains; i++)
		if (g.first[i])
			knot_zone_hint(out, c, &g, i);
	groups_free(&g);
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
	struct groups g;
	size_t i, j;

	fputs("local grants = {\n", out);
	groups_make(&g, c, key_of);
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

int
serverconf_run(const struct cmd_opts *o)
{
	const char *path = o->conf_path != NULL ? o->conf_path
	                                        : SYSCONFDIR
	                       "/mta-sts-sync.conf";
	struct conf *c;
	struct diag d;
	size_t i;

	diag_init(&d);
	c = conf_load(path, &d);
	for (i = 0; i < d.nwarn; i++)
		log_warning(NULL, "%s", d.warn[i]);
	if (c == NULL) {
		log_error(NULL, "%s", d.error);
		return EXIT_USAGE;
	}
	if (o->flavour == FLAVOUR_ALL || o->flavour == FLAVOUR_BIND)
		print_bind(stdout, c);
	if (o->flavour == FLAVOUR_ALL)
		fputs("\n", stdout);
	if (o->flavour == FLAVOUR_ALL || o->flavour == FLAVOUR_KNOT)
		print_knot(stdout, c);
	if (o->flavour == FLAVOUR_ALL)
		fputs("\n", stdout);
	if (o->flavour == FLAVOUR_ALL || o->flavour == FLAVOUR_PDNS)
		print_pdns(stdout, c);
	conf_free(c);
	return log_stdout_flush() == 0 ? EXIT_OK : EXIT_FAILED;
}
