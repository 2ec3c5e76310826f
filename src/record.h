/*
 * record.h - the DNS TXT records: "v=STSv1; id=..." at _mta-sts.<domain>
 * (RFC 8461 section 3.1) and "v=TLSRPTv1; rua=..." at _smtp._tls.<domain>
 * (RFC 8460 section 3), plus TXT RDATA character-string handling.
 */
#ifndef MTA_STS_SYNC_RECORD_H
#define MTA_STS_SYNC_RECORD_H

#include <stddef.h>

#include "policy.h"
#include "util.h"

#define STS_RECORD_VERSION "v=STSv1"
#define TLSRPT_RECORD_VERSION "v=TLSRPTv1"
#define TXT_RECORD_MAX 4096 /* longest record text we handle */

struct sts_record {
	char id[POLICY_ID_MAX + 1];
};

/* Parse one STSv1 record's text (character-strings already joined).
 * Returns 0, or -1 with "reason (RFC 8461 section 3.1)" in d. */
int sts_record_parse(const char *txt, size_t len, struct sts_record *r,
                     struct diag *d);
/* Write "v=STSv1; id=<id>" into out (reset first). 0, or -1. */
int sts_record_format(const char *id, struct buf *out);

struct tlsrpt_record {
	struct strlist rua; /* URIs as written (still percent-encoded) */
};

/* Parse one TLSRPTv1 record's text. Returns 0, or -1 with the reason
 * (RFC 8460 section 3) in d. Free with tlsrpt_record_free(). */
int tlsrpt_record_parse(const char *txt, size_t len, struct tlsrpt_record *r,
                        struct diag *d);
void tlsrpt_record_free(struct tlsrpt_record *r);
/* Check one rua URI: mailto: or https:, with ',' '!' ';' percent-encoded.
 * Returns 0, or -1 with the reason in d. */
int tlsrpt_uri_check(const char *uri, struct diag *d);
/* Write "v=TLSRPTv1; rua=<u1>,<u2>" into out (reset first). 0, or -1. */
int tlsrpt_record_format(const struct strlist *rua, struct buf *out);

/* Is the record text txt of the kind version (STS_RECORD_VERSION or
 * TLSRPT_RECORD_VERSION): does it start with it, followed by ';', white
 * space or the end? This is how sync tells the records it replaces: a
 * near miss too (see record_begins()). */
int record_is_version(const char *txt, const char *version);
/* The same, the version compared without regard to case: senders take
 * only the exact case, so a record of this kind but not the former is
 * ignored (most likely a typo). */
int record_is_version_nocase(const char *txt, const char *version);

/* Is txt an SPF record: "v=spf1" (in any case), then a space or the end
 * (RFC 7208 section 4.5)? Told where a domain would lose it. */
int record_is_spf(const char *txt);

/*
 * Does txt begin with version and ';' exactly ("v=STSv1;")? RFC 8461
 * section 3.1 and RFC 8460 section 3 discard every other record. Some
 * senders take any record beginning with the version, so a record that
 * record_is_version() counts but this does not is a near miss
 * (record_is_near_miss(): "v=STSv1", "v=STSv1 ; id=x"): senders
 * disagree about it. sync replaces both kinds alike.
 */
int record_begins(const char *txt, const char *version);
int record_is_near_miss(const char *txt, const char *version);

/*
 * Of n record texts, count those that begin with version and ';' (the
 * RFC rule, record_begins()); *first gets the index of the first such
 * record. Exactly one must remain, or the domain has no usable record.
 */
size_t record_select(char *const *txts, size_t n, const char *version,
                     size_t *first);

/* TXT RDATA (RFC 1035 section 3.3.14) from a record text: split into
 * character-strings of at most 255 bytes. Returns 0, or -1 if out (cap
 * bytes) is too small. */
int txt_rdata_from_text(const char *txt, size_t len, unsigned char *out,
                        size_t cap, size_t *outlen);
/* Record text from TXT RDATA: character-strings joined without spaces.
 * Returns 0, or -1 if the RDATA is malformed or too long. */
int txt_rdata_to_text(const unsigned char *rdata, size_t len, struct buf *out);

#endif
