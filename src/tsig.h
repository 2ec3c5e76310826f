/*
 * tsig.h - TSIG keys (RFC 8945): algorithms, secrets, and signing and
 * verifying DNS messages in wire format with OpenSSL HMAC (ldns 1.8
 * cannot sign hmac-sha224 and misspells hmac-sha384, so all algorithms
 * go through one implementation here).
 *
 * A struct tsig_key holds the decoded secret; it is never printed.
 */
#ifndef MTA_STS_SYNC_TSIG_H
#define MTA_STS_SYNC_TSIG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum tsig_alg {
	TSIG_HMAC_MD5,
	TSIG_HMAC_SHA1,
	TSIG_HMAC_SHA224,
	TSIG_HMAC_SHA256,
	TSIG_HMAC_SHA384,
	TSIG_HMAC_SHA512,
};

#define TSIG_NAME_MAX 255
#define TSIG_SECRET_MAX 256

struct tsig_key {
	char name[TSIG_NAME_MAX + 1]; /* lower case, no trailing dot */
	enum tsig_alg alg;
	unsigned char secret[TSIG_SECRET_MAX];
	size_t secret_len;
	/* where it is defined, for messages: "FILE:LINE" of a key
	 * statement, a key file's path; NULL (tsig_key_init()): not said.
	 * Not owned. */
	const char *origin;
};

/*
 * Look up an algorithm by name: "hmac-sha256", "HMAC-SHA256",
 * "hmac-md5.sig-alg.reg.int" and the forms with a trailing dot are
 * accepted. Returns 0, or -1 for an unknown name.
 */
int tsig_alg_from_name(const char *name, enum tsig_alg *alg);
/* The canonical algorithm name as it appears on the wire, without the
 * trailing dot: "hmac-sha256", "hmac-md5.sig-alg.reg.int", ... */
const char *tsig_alg_wire_name(enum tsig_alg alg);
/* The short name operators write: "hmac-sha256", "hmac-md5", ... */
const char *tsig_alg_name(enum tsig_alg alg);

/*
 * Fill key from its parts, checking the name (a domain name), the
 * algorithm name and the base64 secret. A hmac-md5 key adds a warning.
 * Returns 0, or -1 with the reason in d (the secret is never quoted).
 */
int tsig_key_init(struct tsig_key *key, const char *name, const char *alg,
                  const char *secret_b64, struct diag *d);
/*
 * The number of bytes the base64 secret b64 decodes to (white space
 * inside it skipped, as BIND does), or -1 if it is not base64 of 1 to
 * TSIG_SECRET_MAX bytes. The decoded bytes are wiped.
 */
int tsig_secret_len(const char *b64);
/*
 * Can name be a TSIG key name (a domain name of letters, digits, '-' and
 * '_', a trailing dot allowed)? Returns 0, or -1 with why not in why
 * (size bytes), in words that do not quote the name.
 */
int tsig_key_name_check(const char *name, char *why, size_t size);
/*
 * Why a message must not show name, a key name as a file or the
 * configuration writes it: it is not a valid key name, or looks like a
 * base64 secret (either may be the secret, the fields of a key file out
 * of order). Returns why (size bytes), or NULL if it may be shown.
 */
const char *tsig_key_name_hidden(const char *name, char *why, size_t size);
/*
 * For a message about the key named name as a file writes it: key "NAME",
 * or, for a name that is not a valid key name or looks like a base64
 * secret (which a name never shows in a message: it may be the secret,
 * the fields of a key file out of order), "a key whose name is not shown
 * (REASON)". Returns buf.
 */
const char *tsig_key_label(const char *name, char *buf, size_t size);
/* Are a and b the same key name: equal but for case and one trailing dot
 * (BIND takes "mtasts." and "MTASTS" for the same key)? */
int tsig_key_name_eq(const char *a, const char *b);
/* Overwrite the secret in memory. */
void tsig_key_wipe(struct tsig_key *key);

/* ---- signing and verifying messages (tsig.c) ---- */

#define TSIG_FUDGE 300u /* seconds of clock difference allowed */
#define TSIG_MAC_MAX 64 /* hmac-sha512 */
#define TSIG_TYPE 250   /* the TSIG RR type */

/* TSIG error codes (RFC 8945 section 3; 16-18 share numbers with
 * extended rcodes). */
#define TSIG_ERR_NONE 0
#define TSIG_ERR_BADSIG 16
#define TSIG_ERR_BADKEY 17
#define TSIG_ERR_BADTIME 18
#define TSIG_ERR_BADTRUNC 22

/* The MAC of a signed request, which its response's MAC covers. */
struct tsig_mac {
	unsigned char mac[TSIG_MAC_MAX];
	size_t len;
};

/*
 * Sign the DNS message msg (wire format, no TSIG yet) with key at time
 * now (seconds since the epoch): the TSIG RR is appended and ARCOUNT
 * incremented (RFC 8945 section 4.2). mac receives the request MAC.
 * Returns 0, or -1 with the reason in d (message malformed or too big).
 */
int tsig_sign(const struct tsig_key *key, struct buf *msg, uint64_t now,
              struct tsig_mac *mac, struct diag *d);

/* What tsig_verify found in a message. */
struct tsig_info {
	int present; /* the last additional RR is a TSIG RR */
	char key_name[TSIG_NAME_MAX + 1];
	char alg_name[TSIG_NAME_MAX + 1];
	uint64_t time_signed;
	unsigned fudge;
	unsigned error;     /* TSIG_ERR_* */
	size_t mac_len;     /* 0: unsigned error response */
	int has_other_time; /* BADTIME: server's time in other data */
	uint64_t other_time;
	size_t unsigned_len; /* message length without the TSIG RR */
};

enum tsig_status {
	TSIG_VALID = 0,
	TSIG_UNSIGNED,  /* no TSIG RR at all */
	TSIG_MALFORMED, /* message or TSIG RR cannot be parsed */
	TSIG_OTHER_KEY, /* signed with another key or algorithm */
	TSIG_ERROR,     /* TSIG RR carries an error (info->error) */
	TSIG_BAD_MAC,   /* MAC missing, truncated or wrong */
	TSIG_BAD_TIME,  /* signed outside the fudge window around now */
};

/*
 * Verify the TSIG RR of a response msg to a request signed with key
 * whose MAC was req (RFC 8945 section 5.3): MAC over the request MAC,
 * the message without its TSIG RR (ARCOUNT decremented, original id
 * restored) and the TSIG variables; time signed within fudge of now.
 * req NULL: msg is a request. info is filled as far as parsed; with an
 * error response (TSIG_ERROR) the MAC is still checked when present
 * (info->mac_len > 0). Returns the status.
 */
enum tsig_status tsig_verify(const struct tsig_key *key,
                             const unsigned char *msg, size_t len,
                             const struct tsig_mac *req, uint64_t now,
                             struct tsig_info *info);
/* The TSIG error name: "BADSIG", "BADKEY", "BADTIME", ... */
const char *tsig_error_name(unsigned error);

/* Compute the HMAC of data with key into mac. Returns 0, or -1. */
int tsig_hmac(const struct tsig_key *key, const unsigned char *data, size_t len,
              struct tsig_mac *mac);

/*
 * Each thread that signs or verifies keeps one HMAC context per
 * algorithm (made once, keyed again when the secret changes), with a
 * copy of the secret it was keyed with; a thread's contexts and copies
 * are freed and cleansed when it ends. tsig_thread_cleanup() does it
 * for the calling thread now (for the main thread at the end of a run;
 * dns_close_connections() calls it).
 */
void tsig_thread_cleanup(void);

#endif
