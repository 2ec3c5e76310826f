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
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* Is domain j configured with zone (not NULL)? Its settings go to *d. */
static int
in_zone(const struct conf *c, size_t j, const char *zone, struct domain_conf *d)
{
	conf_domain(c, j, d);
	return d->zone != NULL && strcmp(d->zone, zone) == 0;
}

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

/* Is domain i the first one configured with its what (zone_of, key_of:
 * NULL for none, which no other domain shares)? */
static int
first_with(const struct conf *c, size_t i,
           const char *(*what)(const struct domain_conf *))
{
	struct domain_conf d, e;
	size_t j;

	conf_domain(c, i, &d);
	for (j = 0; j < i; j++) {
		conf_domain(c, j, &e);
		if (what(&d) != NULL && what(&e) != NULL &&
		    strcmp(what(&d), what(&e)) == 0)
			return 0;
	}
	return 1;
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
	size_t i, j;

	fputs("// BIND 9: least-privilege DNS UPDATE grants for mta-sts-sync.\n"
	      "// Put each update-policy block into the zone statement named\n"
	      "// above it (a zone has one update-policy: merge with an\n"
	      "// existing one). The key statements must be in named.conf\n"
	      "// too: include the key file.\n",
	      out);
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf dc, *d = &dc, e;

		conf_domain(c, i, d);
		if (d->zone == NULL) {
			fprintf(out,
			        "\n// zone containing \"%s\" (no zone "
			        "configured: found at run time by SOA query)\n"
			        "update-policy {\n",
			        d->name);
			bind_grants(out, d);
			fputs("};\n", out);
			continue;
		}
		if (!first_with(c, i, zone_of))
			continue;
		fprintf(out, "\n// zone \"%s\"\nupdate-policy {\n", d->zone);
		for (j = i; j < c->ndomains; j++)
			if (in_zone(c, j, d->zone, &e))
				bind_grants(out, &e);
		fputs("};\n", out);
	}
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

/* The commented zone section that references the acls of a zone. */
static void
knot_zone_hint(FILE *out, const struct conf *c, size_t i)
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
	for (j = i; j < c->ndomains; j++)
		if (in_zone(c, j, d->zone, &e)) {
			fprintf(out, "%smta-sts-sync-%s", sep, e.name);
			sep = ", ";
		}
	fputs("]\n", out);
}

/* Print the Knot DNS acl section and how to reference it. */
static void
print_knot(FILE *out, const struct conf *c)
{
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
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf d;

		conf_domain(c, i, &d);
		if (d.zone == NULL || first_with(c, i, zone_of))
			knot_zone_hint(out, c, i);
	}
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
	size_t i, j;

	fputs("local grants = {\n", out);
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf d, e;

		if (!first_with(c, i, key_of))
			continue;
		conf_domain(c, i, &d);
		fprintf(out, "  [\"%s.\"] = {\n", d.key->name);
		for (j = i; j < c->ndomains; j++) {
			conf_domain(c, j, &e);
			if (strcmp(e.key->name, d.key->name) == 0)
				pdns_names(out, &e);
		}
		fputs("  },\n", out);
	}
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
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_error(NULL, "cannot write the output");
		return EXIT_FAILED;
	}
	return EXIT_OK;
}
