/*
 * tsigkey.c - TSIG keys: algorithm names and checked key construction
 * from a name, an algorithm name and a base64 secret.
 */
#include "config.h"

#include <stdio.h>
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

int
tsig_key_name_check(const char *name, char *why, size_t size)
{
	size_t len = name ? strlen(name) : 0, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253) {
		snprintf(why, size, "%s",
		         len == 0 ? "it is empty"
		                  : "it is longer than 253 characters");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' && label == 0) {
			snprintf(why, size,
			         "it has an empty label: a dot first, or two "
			         "in a row");
			return -1;
		}
		label = c == '.' ? 0 : label + 1;
		if (label > 63) {
			snprintf(why, size,
			         "a label is longer than 63 characters");
			return -1;
		}
		if (c != '.' && !key_name_char((char)c)) {
			snprintf(why, size,
			         c > ' ' && c < 0x7f ? "it holds '%c'"
			                             : "it holds byte 0x%02X",
			         c);
			snprintf(why + strlen(why), size - strlen(why),
			         " (a name is made of letters, digits, '-' "
			         "and '_', in labels between dots)");
			return -1;
		}
	}
	return 0;
}

const char *
tsig_key_name_hidden(const char *name, char *why, size_t size)
{
	if (tsig_key_name_check(name, why, size) == -1)
		return why;
	if (!key_secret_shaped(name))
		return NULL;
	snprintf(why, size, "it looks like a base64 secret");
	return why;
}

const char *
tsig_key_label(const char *name, char *buf, size_t size)
{
	char why[160];

	if (tsig_key_name_hidden(name, why, sizeof(why)) != NULL)
		snprintf(buf, size, "a key whose name is not shown (%s)", why);
	else
		snprintf(buf, size, "key \"%s\"", name);
	return buf;
}

/*
 * Copy name to key->name in lower case without a trailing dot, checking
 * that it is a domain name. Returns 0, or -1 with the reason in d. An
 * invalid name is not quoted: it may be the secret, written in its place
 * (the fields of a key file out of order).
 */
static int
key_set_name(struct tsig_key *key, const char *name, struct diag *d)
{
	char why[160];
	size_t len, i;

	if (tsig_key_name_check(name, why, sizeof(why)) == -1) {
		diag_error(
		    d,
		    "the TSIG key name is not a valid domain name: %s; "
		    "it is not shown, %s",
		    why,
		    secret_shaped(name)
		        ? "as it looks like a base64 secret: are the "
		          "name and the secret in each other's place?"
		        : "as it could be a secret written in its place");
		return -1;
	}
	len = strlen(name);
	if (name[len - 1] == '.')
		len--;
	for (i = 0; i < len; i++)
		key->name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z'
		                          ? name[i] - 'A' + 'a'
		                          : name[i]);
	key->name[len] = '\0';
	return 0;
}

#define SECRET_B64_MAX ((TSIG_SECRET_MAX + 2) / 3 * 4) /* characters */
#define TEXT_OF_(x) #x
#define TEXT_OF(x) TEXT_OF_(x) /* a macro's value as a string */

/* Copy the base64 secret b64 into text (SECRET_B64_MAX + 1 bytes)
 * without the white space BIND allows inside it (secret "abcd efgh";).
 * Returns its length, or SECRET_B64_MAX + 1 if it is too long. */
static size_t
secret_compact(const char *b64, char *text)
{
	size_t n = 0;

	for (; b64 != NULL && *b64 != '\0'; b64++) {
		if (*b64 == ' ' || *b64 == '\t' || *b64 == '\r' || *b64 == '\n')
			continue;
		if (n == SECRET_B64_MAX)
			return SECRET_B64_MAX + 1;
		text[n++] = *b64;
	}
	text[n] = '\0';
	return n;
}

/*
 * Decode the base64 secret b64 into out (TSIG_SECRET_MAX + 3 bytes).
 * Returns the number of bytes, or -1 with why (a message's end) when it
 * is not base64 of 1 to TSIG_SECRET_MAX bytes.
 */
static int
secret_decode(const char *b64, unsigned char *out, const char **why)
{
	char text[SECRET_B64_MAX + 1];
	size_t len = secret_compact(b64, text), pad = 0;
	int n = -1;

	*why = "the secret is not base64 of at most " TEXT_OF(
	    TSIG_SECRET_MAX) " bytes";
	if (len == 0 || len % 4 != 0 || len > SECRET_B64_MAX)
		goto out;
	for (size_t i = len; i > 0 && text[i - 1] == '=' && pad < 2; i--)
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
	*why = "the secret is not valid base64";
	if (n < 0 || (size_t)n < pad || (size_t)n - pad == 0 ||
	    (size_t)n - pad > TSIG_SECRET_MAX)
		n = -1;
	else
		n -= (int)pad;
out:
	OPENSSL_cleanse(text, sizeof(text));
	return n;
}

int
tsig_secret_len(const char *b64)
{
	unsigned char out[TSIG_SECRET_MAX + 3];
	const char *why;
	int n = secret_decode(b64, out, &why);

	OPENSSL_cleanse(out, sizeof(out));
	return n;
}

/*
 * "TSIG key NAME" for key, whose name is written as written and whose
 * secret is secret_b64; or words that do not show the name when it may
 * be a secret: it looks like one (key_secret_shaped(), which a valid name
 * may be: key->name passed key_set_name()), or the secret does not
 * decode and the name does (the two may be in each other's place).
 */
static const char *
key_said(const struct tsig_key *key, const char *written,
         const char *secret_b64, char *buf, size_t size)
{
	if (key_secret_shaped(written))
		snprintf(buf, size,
		         "a TSIG key whose name is not shown (it looks like a "
		         "base64 secret)");
	else if (tsig_secret_len(secret_b64) == -1 &&
	         tsig_secret_len(written) != -1)
		snprintf(buf, size,
		         "a TSIG key whose name is not shown (with a secret "
		         "that does not decode, the name may be the secret "
		         "written in its place)");
	else
		snprintf(buf, size, "TSIG key %s", key->name);
	return buf;
}

/* Is each of the n bytes at s zero? */
static int
all_zero(const unsigned char *s, size_t n)
{
	while (n > 0 && s[n - 1] == 0)
		n--;
	return n == 0;
}

/*
 * Decode the base64 secret into key (named name as written). Returns 0,
 * or -1 with the reason in d (without quoting the secret). A secret of
 * zero bytes only is refused: it is the placeholder of keys.example,
 * which anyone can read.
 */
static int
key_set_secret(struct tsig_key *key, const char *name, const char *b64,
               struct diag *d)
{
	unsigned char out[TSIG_SECRET_MAX + 3];
	char said[TSIG_NAME_MAX + 160];
	const char *why;
	int n = secret_decode(b64, out, &why), rc = -1;

	if (n == -1)
		diag_error(d, "%s: %s",
		           key_said(key, name, b64, said, sizeof(said)), why);
	else if (all_zero(out, (size_t)n))
		diag_error(
		    d,
		    "%s: the secret is all zero bytes, as the placeholder "
		    "of keys.example: make a key of your own with "
		    "tsig-keygen (or keymgr -t)",
		    key_said(key, name, b64, said, sizeof(said)));
	else {
		key->secret_len = (size_t)n;
		memcpy(key->secret, out, key->secret_len);
		rc = 0;
	}
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}

/* Report alg as unknown for key (named name as written); returns -1.
 * alg is quoted only when it looks like an algorithm name: the secret
 * may be in its place. */
static int
alg_unknown(const struct tsig_key *key, const char *name, const char *alg,
            const char *secret_b64, struct diag *d)
{
	char said[TSIG_NAME_MAX + 160], shown[80];

	if (keyword_shaped(alg))
		snprintf(shown, sizeof(shown), "\"%.40s\"", alg);
	else
		snprintf(shown, sizeof(shown),
		         "(not shown: it is no algorithm name, and may be "
		         "the secret)");
	diag_error(d,
	           "%s: unknown algorithm %s (use hmac-sha256, hmac-sha1, "
	           "hmac-sha224, hmac-sha384, hmac-sha512 or hmac-md5)",
	           key_said(key, name, secret_b64, said, sizeof(said)), shown);
	return -1;
}

/* Fill key from its parts, checking each. Returns 0, or -1 with the
 * reason in d. A hmac-md5 key is accepted with a warning. */
int
tsig_key_init(struct tsig_key *key, const char *name, const char *alg,
              const char *secret_b64, struct diag *d)
{
	char said[TSIG_NAME_MAX + 160];

	memset(key, 0, sizeof(*key));
	if (key_set_name(key, name, d) == -1)
		return -1;
	if (alg == NULL)
		alg = "hmac-sha256";
	if (tsig_alg_from_name(alg, &key->alg) == -1)
		return alg_unknown(key, name, alg, secret_b64, d);
	if (key_set_secret(key, name, secret_b64, d) == -1) {
		tsig_key_wipe(key);
		return -1;
	}
	if (key->alg == TSIG_HMAC_MD5)
		diag_warn(d,
		          "%s uses hmac-md5, which is obsolete: prefer "
		          "hmac-sha256",
		          key_said(key, name, secret_b64, said, sizeof(said)));
	return 0;
}

int
tsig_key_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && ascii_ncasecmp(a, b, la) == 0;
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
