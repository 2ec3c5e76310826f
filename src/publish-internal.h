/*
 * publish-internal.h - what the files of publishing share; not part of
 * its interface (that is publish.h).
 *
 * Publishing was one file, publish.c; it is now three:
 *   publish.c  the policy file: its bounded read, its atomic replacement
 *              (group commit of the flushes), the tidy of leftovers, and
 *              the run's lock (publish_run_locked());
 *   command.c  the publish-command: its arguments, its program's lookup
 *              and trust, and the supervisor that runs and stops it;
 *   verify.c   the policy fetched back until it is served.
 * Everything here was static in publish.c; its names now begin with
 * publish_, as the interface's do, since they are external now.
 */
#ifndef MTA_STS_SYNC_PUBLISH_INTERNAL_H
#define MTA_STS_SYNC_PUBLISH_INTERNAL_H

/* Seconds on the monotonic clock (publish.c). */
double publish_now_mono(void);

/* The descriptor the run's lock is on, or -1 (publish_run_locked(), in
 * publish.c): each supervisor keeps a copy (command.c, LOCK_FD). */
extern int publish_run_lock_fd;

#endif
