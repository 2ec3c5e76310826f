/*
 * json.h - the few pieces needed to write JSON documents (RFC 8259) into
 * a struct buf: string literals escaped so that any input, including
 * control characters and invalid UTF-8 from the network, gives valid
 * JSON text. Callers write the punctuation ({ } [ ] , :) themselves.
 */
#ifndef MTA_STS_SYNC_JSON_H
#define MTA_STS_SYNC_JSON_H

#include <stddef.h>

#include "util.h"

/*
 * Append len bytes of s as a quoted JSON string: '"' and '\' escaped,
 * control characters as \n \r \t or \u00XX, valid UTF-8 kept, every
 * byte of an invalid UTF-8 sequence replaced by U+FFFD. Returns 0, or
 * -1 when out reached its maximum (out then holds a partial string).
 */
int json_nstring(struct buf *out, const char *s, size_t len);
/* json_nstring() of a NUL-terminated string; NULL gives null. */
int json_string(struct buf *out, const char *s);
/* Append "key":"value" (value NULL gives null). 0, or -1 as above. */
int json_member(struct buf *out, const char *key, const char *value);

/* Print on standard output the document {MEMBERS"error":"ERROR"}, where
 * members are written JSON members, each followed by a ',': what a
 * command that did nothing prints with --json. */
void json_print_refusal(const char *members, const char *error);

#endif
