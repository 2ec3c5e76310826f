/*
 * policy.h - MTA-STS policies (RFC 8461 section 3.2): strict parsing,
 * validation, the canonical form, the content-derived id and mx pattern
 * matching (section 4.1).
 *
 * policy_parse() and policy_new() return a policy the caller frees with
 * policy_free(); policy_free(NULL) is safe.
 *
 * Parsing follows the ABNF of RFC 8461 section 3.2 strictly:
 * - "field: value" lines ending in LF or CRLF (the last end optional); a
 *   bare CR, a blank line, white space before the colon or at the start of
 *   a line are errors; white space after the colon and at the end of a
 *   line is allowed and dropped. Empty lines at the very end, after the
 *   last field, are ignored with a warning (common senders accept them).
 * - field names and the version and mode values are case-sensitive.
 * - fields may come in any order (the ABNF does not fix one; only the TXT
 *   record must start with "v=STSv1"); version, mode and max_age must be
 *   present, mx too unless mode is none.
 * - a repeated field other than mx: the first wins, with a warning; a
 *   repeated mx pattern is dropped with a warning; unknown fields are kept
 *   in input order.
 * - the body is US-ASCII but for extension values, which may hold
 *   well-formed UTF-8 as the ABNF allows; a non-ASCII mx is a U-label,
 *   never valid.
 * - a body that starts with '<' is reported as an HTML page.
 * Error messages read "line N: reason (RFC 8461 section 3.2)".
 */
#ifndef MTA_STS_SYNC_POLICY_H
#define MTA_STS_SYNC_POLICY_H

#include <stddef.h>

#include "util.h"

#define POLICY_MAX_SIZE 65536u        /* bytes, body cap for fetch and parse */
#define POLICY_MAX_AGE_MAX 31557600ul /* RFC 8461 section 3.2 */
#define POLICY_ID_MAX 32              /* RFC 8461 section 3.1 */
#define POLICY_MX_MAX 1000u           /* mx patterns, a limit of ours */
#define POLICY_MX_MAX_STR "1000"
#define POLICY_EXT_MAX 100u /* unknown fields, a limit of ours */

enum policy_mode {
	POLICY_MODE_ENFORCE,
	POLICY_MODE_TESTING,
	POLICY_MODE_NONE,
};

struct policy_ext {
	char *key; /* as written */
	char *value;
};

struct policy {
	enum policy_mode mode;
	char **mx; /* patterns, lower case, in input order */
	size_t nmx;
	unsigned long max_age;
	struct policy_ext *ext; /* unknown fields, kept in input order */
	size_t next;
	int lf_only; /* the parsed input used LF line ends (legal; advice) */
};

/*
 * Parse and validate a policy body of len bytes (not NUL-terminated).
 * Returns NULL with "line N: reason (RFC 8461 section x.y)" in d on any
 * violation; warnings (duplicated fields, ...) are added to d.
 */
struct policy *policy_parse(const char *buf, size_t len, struct diag *d);
/* An empty policy (mode none, no mx, max_age 0) to fill by hand. */
struct policy *policy_new(void);
struct policy *policy_dup(const struct policy *p);
void policy_free(struct policy *p);

/* Add an mx pattern (lower-cased); returns -1 with the reason in d if
 * the pattern is not a valid ["*."] A-label domain name. Duplicates are
 * ignored. */
int policy_add_mx(struct policy *p, const char *pattern, struct diag *d);
/* Check a hand-built policy: mx required unless mode is none, ... */
int policy_validate(const struct policy *p, struct diag *d);

/* Write the canonical form into out (reset first): version, mode, mx
 * lines, max_age, extensions, CRLF line ends. Returns 0, or -1 if out
 * exceeds its maximum. A policy that policy_parse() accepted always fits
 * in POLICY_MAX_SIZE bytes and reparses to the same bytes. */
int policy_canonical(const struct policy *p, struct buf *out);
/* The id for the exact served bytes: 32 lower-case hex digits of their
 * SHA-256, NUL-terminated. */
void policy_id(const char *bytes, size_t len, char id[POLICY_ID_MAX + 1]);
/* Write into out (reset first) the alternate form of the canonical
 * bytes canon: each CRLF turned into LF. The same policy in other bytes,
 * whose policy_id() is the policy's second id (see policy.c for when it
 * is served). Returns 0, or -1 if out is too small (it needs len bytes). */
int policy_alternate(const char *canon, size_t len, struct buf *out);

/* RFC 8461 section 4.1: does pattern ("host" or "*.suffix") match host?
 * Case-insensitive, a trailing dot on host ignored, '*' matches exactly
 * one left-most label. */
int policy_mx_match(const char *pattern, const char *host);
/* Does some mx pattern of p match host? */
int policy_covers(const struct policy *p, const char *host);

/* Is s (n bytes) an extension field name, as both the policy (section
 * 3.2) and the TXT record (section 3.1) define it: (ALPHA / DIGIT)
 * followed by at most 31 of ALPHA / DIGIT / "_" / "-" / "."? */
int policy_ext_name_ok(const char *s, size_t n);

const char *policy_mode_name(enum policy_mode mode);
/* Parse "enforce", "testing" or "none" (case-sensitive); 0 or -1. */
int policy_mode_from_name(const char *name, enum policy_mode *mode);

#endif
