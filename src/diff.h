/*
 * diff.h - a line diff of two texts, as a dry run shows the change of a
 * policy file: generic, it knows nothing of sync.
 */
#ifndef MTA_STS_SYNC_DIFF_H
#define MTA_STS_SYNC_DIFF_H

#include <stddef.h>

#include "util.h"

/*
 * Append to out a line diff of old and new (policy files are short): a
 * "--- old_name" / "+++ new_name" header, then the lines with ' ', '-' or
 * '+' in front. Line ends (LF or CRLF) are not shown; any other control
 * character but tab is shown as '?'. Returns 0, or -1 if out overflows.
 */
int diff_text(const char *old, size_t oldlen, const char *new_, size_t newlen,
              const char *old_name, const char *new_name, struct buf *out);

#endif
