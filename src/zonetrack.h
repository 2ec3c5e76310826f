/*
 * zonetrack.h - when may a zone's UPDATE go? A sync run sends one UPDATE
 * per zone and primary, carrying the changes of every domain of the run
 * in that zone (DESIGN.md section 2 step 9; or a few in a row, each
 * holding whole domains, when they do not fit in one message). Domains are read
 * one after another, and only reading a domain tells its zone, so the UPDATE of
 * a zone may go once
 *
 *   - every domain of the run at or below the zone's name has been read
 *     (none of them can still turn out to belong to it), and
 *   - every domain that joined the zone's group is done with its work.
 *
 * The tracker holds the groups formed so far and hands each group out
 * exactly once, when both hold. A zone reached through several primaries
 * (or keys) has a group for each: they are handed out together, in one
 * list, when all of them may go, and a group formed while the zone's
 * others are being sent waits until they are released. So the caller
 * that sends a list one group after another never has two UPDATEs for
 * one zone in flight at once. It does no locking: the caller serialises
 * every call.
 */
#ifndef MTA_STS_SYNC_ZONETRACK_H
#define MTA_STS_SYNC_ZONETRACK_H

#include <stddef.h>
#include <stdint.h>

/* The domains of one run updated through one zone on one primary. */
struct zone_group {
	char *zone;      /* lower case, no trailing dot */
	char *server;    /* the primary and how it is reached (caller's
	                    text: domains with the same text share it) */
	size_t *members; /* domain indices, in the order they joined */
	size_t n;
	size_t pending;                /* members whose work is not done */
	int handed_out;                /* returned by zonetrack_read/_done */
	struct zone_group *next;       /* same zone, another primary */
	struct zone_group *ready_next; /* in a list of groups ready to go */
	struct zone_entry *entry;      /* private to zonetrack.c */
	uint32_t id;                   /* private to zonetrack.c */
};

struct zonetrack;

/* A tracker for a run over the n domains named (lower case, no trailing
 * dot; the names must live as long as the tracker). It keeps 8 bytes per
 * domain for the run; the rest is sized to the zones in flight. n is at
 * most 2^32 - 3 (more ends the program). */
struct zonetrack *zonetrack_new(const char *const *names, size_t n);

/* The same, with the name of domain i given by name_of(arg, i) (the
 * names must live as long as the tracker), for a caller that has its
 * domains' names in structures of its own and no array of them. */
struct zonetrack *zonetrack_new_by(const char *(*name_of)(const void *arg,
                                                          size_t i),
                                   const void *arg, size_t n);

void zonetrack_free(struct zonetrack *zt);

/*
 * Domain i has been read. If its zone is known (zone not NULL), it joins
 * the group of (zone, server) with its work pending. Returns the groups
 * that became ready to send because of this read (linked by ready_next;
 * NULL if none): each is handed out once and stays valid until
 * zonetrack_release(). Each domain is read once.
 */
struct zone_group *zonetrack_read(struct zonetrack *zt, size_t i,
                                  const char *zone, const char *server);

/* The work of one member of g is done. Returns the groups that became
 * ready to send (g and the other groups of its zone, linked by
 * ready_next), or NULL. */
struct zone_group *zonetrack_done(struct zonetrack *zt, struct zone_group *g);

/* The group of domain i, or NULL (not read yet, its zone not found, or
 * its group released). */
struct zone_group *zonetrack_group_of(const struct zonetrack *zt, size_t i);

/* Free a group that was handed out (its UPDATE is sent). Returns the
 * groups of its zone that were waiting for it and may go now (linked by
 * ready_next), or NULL. */
struct zone_group *zonetrack_release(struct zonetrack *zt,
                                     struct zone_group *g);

#endif
