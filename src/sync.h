/*
 * sync.h - `mta-sts-sync sync`: the per-domain plan of DESIGN.md section 2,
 * run for every configured (or named) domain. sync_run() is declared in
 * cmd.h; this header holds the pieces the tests use directly.
 */
#ifndef MTA_STS_SYNC_SYNC_H
#define MTA_STS_SYNC_SYNC_H

#include <stddef.h>

#include "util.h"

/*
 * Append to out a line diff of old and new (policy files are short): a
 * "--- old_name" / "+++ new_name" header, then the lines with ' ', '-' or
 * '+' in front. Line ends (LF or CRLF) are not shown; any other control
 * character but tab is shown as '?'. Returns 0, or -1 if out overflows.
 */
int sync_diff(const char *old, size_t oldlen, const char *new_, size_t newlen,
              const char *old_name, const char *new_name, struct buf *out);

#endif
