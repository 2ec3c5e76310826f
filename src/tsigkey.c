/*
 * tsigkey.c - TSIG keys: algorithm names and checked key construction
 * from a name, an algorithm name and a base64 secret.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tsig.h"

static const struct {
	enum tsig_alg alg;
	const char *name;
	const char *wire;
} algs[] = {
    {TSIG_HMAC_MD5, "hmac-md5", "hmac-md5.sig-alg.reg.int"},
    {TSIG_HMAC_SHA1, "hmac-sha1", "hmac-sha1"},
    {TSIG_HMAC_SHA224, "hmac-sha224", "hmac-sha224"},
    {TSIG_HMAC_SHA256, "hmac-sha256", "hmac-sha256"},
    {TSIG_HMAC_SHA384, "hmac-sha384", "hmac-sha384"},
    {TSIG_HMAC_SHA512, "hmac-sha512", "hmac-sha512"},
};

#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* Look up an algorithm by its short or wire name, any case, with or
 * without a trailing dot. Returns 0, or -1 if unknown. */
int
tsig_alg_from_name(const char *name, enum tsig_alg *alg)
{
	char n[64];
	size_t len;

	if (name == NULL || str_copy(n, sizeof(n), name) == -1)
		return -1;
	len = strlen(n);
	if (len > 0 && n[len - 1] == '.')
		n[len - 1] = '\0';
	for (size_t i = 0; i < NALGS; i++) {
		if (ascii_casecmp(n, algs[i].name) == 0 ||
		    ascii_casecmp(n, algs[i].wire) == 0) {
			*alg = algs[i].alg;
			return 0;
		}
	}
	return -1;
}

const char *
tsig_alg_wire_name(enum tsig_alg alg)
{
	for (size_t i = 0; i < NALGS; i++)
		if (algs[i].alg == alg)
			return algs[i].wire;
	return "unknown";
}

const char *
tsig_alg_name(enum tsig_alg alg)
{
	for (size_t i = 0; i < NALGS; i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return "unknown";
}

/* Is c a character allowed in a key name label (letters, digits, '-',
 * '_')? Key names are domain names; BIND and Knot accept these. */
static int
key_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Copy name to key->name in lower case without a trailing dot, checking
 * that it is a domain name. Returns 0, or -1 with the reason in d. */
static int
key_set_name(struct tsig_key *key, const char *name, struct diag *d)
{
	size_t len = name ? strlen(name) : 0, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253) {
		diag_error(d, "TSIG key name is empty or too long");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				goto bad;
			label = 0;
		} else if (key_name_char(c) && ++label <= 63) {
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
		} else {
			goto bad;
		}
		key->name[i] = c;
	}
	key->name[len] = '\0';
	return 0;
bad:
	diag_error(d, "TSIG key name \"%.*s\" is not a valid domain name",
	           (int)(len > 80 ? 80 : len), name);
	return -1;
}

/* Decode the base64 secret into key. Returns 0, or -1 with the reason in
 * d (without quoting the secret). */
static int
key_set_secret(struct tsig_key *key, const char *b64, struct diag *d)
{
	unsigned char out[TSIG_SECRET_MAX + 3];
	size_t len = 0, pad = 0;
	int n;

	if (b64 != NULL)
		len = strlen(b64);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(out)) {
		diag_error(d,
		           "TSIG key %s: the secret is not base64 of at "
		           "most %d bytes",
		           key->name, TSIG_SECRET_MAX);
		return -1;
	}
	for (size_t i = len; i > 0 && b64[i - 1] == '=' && pad < 2; i--)
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad == 0 ||
	    (size_t)n - pad > TSIG_SECRET_MAX) {
		OPENSSL_cleanse(out, sizeof(out));
		diag_error(d, "TSIG key %s: the secret is not valid base64",
		           key->name);
		return -1;
	}
	key->secret_len = (size_t)n - pad;
	memcpy(key->secret, out, key->secret_len);
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

/* Fill key from its parts, checking each. Returns 0, or -1 with the
 * reason in d. A hmac-md5 key is accepted with a warning. */
int
tsig_key_init(struct tsig_key *key, const char *name, const char *alg,
              const char *secret_b64, struct diag *d)
{
	memset(key, 0, sizeof(*key));
	if (key_set_name(key, name, d) == -1)
		return -1;
	if (alg == NULL)
		alg = "hmac-sha256";
	if (tsig_alg_from_name(alg, &key->alg) == -1) {
		diag_error(d,
		           "TSIG key %s: unknown algorithm \"%.40s\" "
		           "(use hmac-sha256, hmac-sha1, hmac-sha224, "
		           "hmac-sha384, hmac-sha512 or hmac-md5)",
		           key->name, alg);
		return -1;
	}
	if (key_set_secret(key, secret_b64, d) == -1) {
		tsig_key_wipe(key);
		return -1;
	}
	if (key->alg == TSIG_HMAC_MD5)
		diag_warn(d,
		          "TSIG key %s uses hmac-md5, which is obsolete: "
		          "prefer hmac-sha256",
		          key->name);
	return 0;
}

/* Overwrite the secret in memory. */
void
tsig_key_wipe(struct tsig_key *key)
{
	if (key == NULL)
		return;
	OPENSSL_cleanse(key->secret, sizeof(key->secret));
	key->secret_len = 0;
}
