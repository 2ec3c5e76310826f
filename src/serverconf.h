/*
 * serverconf.h - what `mta-sts-sync server-config` prints that the sync
 * must follow: the parts of a zone's Knot acl, since Knot allows an
 * UPDATE only when one acl allows all of it.
 */
#ifndef MTA_STS_SYNC_SERVERCONF_H
#define MTA_STS_SYNC_SERVERCONF_H

#include "conf.h"

/*
 * Which part of the Knot acl of its zone and key (as `server-config
 * --knot` prints it: in configuration order, each part below Knot's
 * limit of names) each domain of c falls in: an array of c->ndomains to
 * free, 1, 2, ... for a domain whose zone the configuration tells (its
 * zone setting, or its name when another domain's zone setting names
 * it), 0 for one whose zone is found at run time (an acl of its own).
 */
unsigned *knot_acl_parts(const struct conf *c);

#endif
