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
/* Overwrite the secret in memory. */
void tsig_key_wipe(struct tsig_key *key);

#endif
