/*
 * tsig.c - TSIG (RFC 8945) over DNS messages in wire format: appending
 * a signature to a request and verifying the signature of a response,
 * with OpenSSL HMAC for every algorithm.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "openssl-api.h"
#ifdef USE_OPENSSL_1_1_API
#include <openssl/hmac.h>
#else
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif

#include "tsig.h"

#define DNS_HEADER 12
#define CLASS_ANY 255
#define WIRE_NAME_MAX 255
#define MSG_MAX 65535

/*
 * The HMAC of one message is computed over several pieces (the request
 * MAC, the header as signed, the rest of the message, the TSIG
 * variables) without copying them together. Each thread keeps one MAC
 * context per algorithm, made once and keyed again for every message:
 * OpenSSL 3's one-shot HMAC() looks the algorithm and the digest up in
 * its provider store every time, which costs more than the MAC of a
 * short message. The contexts hold state derived from the last key
 * used; they are freed (and cleansed by OpenSSL) when the thread ends,
 * or by tsig_thread_cleanup().
 */
#ifndef USE_OPENSSL_1_1_API
typedef EVP_MAC_CTX mac_ctx;

static EVP_MAC *hmac_mac; /* fetched once, shared by all threads */

static const char *
alg_digest(enum tsig_alg alg)
{
	switch (alg) {
	case TSIG_HMAC_MD5:
		return "MD5";
	case TSIG_HMAC_SHA1:
		return "SHA1";
	case TSIG_HMAC_SHA224:
		return "SHA224";
	case TSIG_HMAC_SHA256:
		return "SHA256";
	case TSIG_HMAC_SHA384:
		return "SHA384";
	case TSIG_HMAC_SHA512:
		return "SHA512";
	}
	return NULL;
}

/* A new MAC context for alg, or NULL. */
static mac_ctx *
mac_new(enum tsig_alg alg)
{
	OSSL_PARAM params[2];
	const char *digest = alg_digest(alg);
	EVP_MAC_CTX *c;

	if (hmac_mac == NULL || digest == NULL ||
	    (c = EVP_MAC_CTX_new(hmac_mac)) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                             (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(c, params) != 1) {
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	return c;
}

#define mac_free EVP_MAC_CTX_free

/* Start a MAC with key, or with the key c already has (key NULL).
 * Returns 0, or -1. */
static int
mac_init(mac_ctx *c, const struct tsig_key *key)
{
	if (key == NULL)
		return EVP_MAC_init(c, NULL, 0, NULL) == 1 ? 0 : -1;
	return EVP_MAC_init(c, key->secret, key->secret_len, NULL) == 1 ? 0
	                                                                : -1;
}

static int
mac_update(mac_ctx *c, const void *data, size_t len)
{
	return EVP_MAC_update(c, data, len) == 1 ? 0 : -1;
}

/* Finish the MAC into mac. Returns 0, or -1. */
static int
mac_final(mac_ctx *c, struct tsig_mac *mac)
{
	size_t n = 0;

	if (EVP_MAC_final(c, mac->mac, &n, sizeof(mac->mac)) != 1)
		return -1;
	mac->len = n;
	return 0;
}
#else /* OpenSSL 1.1: the HMAC_CTX interface */
typedef HMAC_CTX mac_ctx;

static const EVP_MD *
alg_md(enum tsig_alg alg)
{
	switch (alg) {
	case TSIG_HMAC_MD5:
		return EVP_md5();
	case TSIG_HMAC_SHA1:
		return EVP_sha1();
	case TSIG_HMAC_SHA224:
		return EVP_sha224();
	case TSIG_HMAC_SHA256:
		return EVP_sha256();
	case TSIG_HMAC_SHA384:
		return EVP_sha384();
	case TSIG_HMAC_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

static mac_ctx *
mac_new(enum tsig_alg alg)
{
	(void)alg;
	return HMAC_CTX_new();
}

#define mac_free HMAC_CTX_free

static int
mac_init(mac_ctx *c, const struct tsig_key *key)
{
	const EVP_MD *md = key ? alg_md(key->alg) : NULL;

	if (key == NULL)
		return HMAC_Init_ex(c, NULL, 0, NULL, NULL) == 1 ? 0 : -1;
	return md != NULL && HMAC_Init_ex(c, key->secret, (int)key->secret_len,
	                                  md, NULL) == 1
	           ? 0
	           : -1;
}

static int
mac_update(mac_ctx *c, const void *data, size_t len)
{
	return HMAC_Update(c, data, len) == 1 ? 0 : -1;
}

static int
mac_final(mac_ctx *c, struct tsig_mac *mac)
{
	unsigned int n = 0;

	if (HMAC_Final(c, mac->mac, &n) != 1 || n > TSIG_MAC_MAX)
		return -1;
	mac->len = n;
	return 0;
}
#endif

#define NALG (TSIG_HMAC_SHA512 + 1)

/* The calling thread's MAC contexts, one per algorithm, and the secret
 * each was last keyed with (keying again with the same secret is left
 * out: that hashes it twice, a quarter of a short message's MAC). */
struct mac_cache {
	mac_ctx *ctx[NALG];
	unsigned char secret[NALG][TSIG_SECRET_MAX];
	size_t secret_len[NALG]; /* 0: not keyed */
};

static pthread_key_t mac_key;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void
mac_cache_free(void *p)
{
	struct mac_cache *mc = p;

	for (size_t i = 0; i < NALG; i++)
		if (mc->ctx[i] != NULL)
			mac_free(mc->ctx[i]);
	OPENSSL_cleanse(mc, sizeof(*mc));
	free(mc);
}

static void
mac_setup(void)
{
#ifndef USE_OPENSSL_1_1_API
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
#endif
	pthread_key_create(&mac_key, mac_cache_free);
}

/* Free the calling thread's MAC contexts; see tsig.h. */
void
tsig_thread_cleanup(void)
{
	struct mac_cache *mc;

	pthread_once(&mac_once, mac_setup);
	mc = pthread_getspecific(mac_key);
	if (mc != NULL) {
		pthread_setspecific(mac_key, NULL);
		mac_cache_free(mc);
	}
}

/* Start a MAC with key on the context of its algorithm in mc, keying
 * it only if it holds another secret. Returns the context, or NULL. */
static mac_ctx *
mac_keyed(struct mac_cache *mc, const struct tsig_key *key)
{
	enum tsig_alg a = key->alg;
	int same =
	    key->secret_len > 0 && mc->secret_len[a] == key->secret_len &&
	    CRYPTO_memcmp(mc->secret[a], key->secret, key->secret_len) == 0;

	if (mc->ctx[a] == NULL)
		mc->ctx[a] = mac_new(a);
	if (mc->ctx[a] == NULL ||
	    mac_init(mc->ctx[a], same ? NULL : key) == -1) {
		mc->secret_len[a] = 0;
		return NULL;
	}
	if (!same && key->secret_len <= TSIG_SECRET_MAX) {
		memcpy(mc->secret[a], key->secret, key->secret_len);
		mc->secret_len[a] = key->secret_len;
	}
	return mc->ctx[a];
}

/* Start a MAC with key on the calling thread's context for its
 * algorithm. Returns the context, or NULL. */
static mac_ctx *
mac_begin(const struct tsig_key *key)
{
	struct mac_cache *mc;

	if ((unsigned)key->alg >= NALG)
		return NULL;
	pthread_once(&mac_once, mac_setup);
	mc = pthread_getspecific(mac_key);
	if (mc == NULL) {
		mc = xcalloc(1, sizeof(*mc));
		pthread_setspecific(mac_key, mc);
	}
	return mac_keyed(mc, key);
}

/* Compute the HMAC of data with key into mac. Returns 0, or -1. */
int
tsig_hmac(const struct tsig_key *key, const unsigned char *data, size_t len,
          struct tsig_mac *mac)
{
	mac_ctx *c = mac_begin(key);

	if (c == NULL || mac_update(c, data, len) == -1 ||
	    mac_final(c, mac) == -1)
		return -1;
	return 0;
}

const char *
tsig_error_name(unsigned error)
{
	switch (error) {
	case TSIG_ERR_NONE:
		return "NOERROR";
	case TSIG_ERR_BADSIG:
		return "BADSIG";
	case TSIG_ERR_BADKEY:
		return "BADKEY";
	case TSIG_ERR_BADTIME:
		return "BADTIME";
	case 19:
		return "BADMODE";
	case 20:
		return "BADNAME";
	case 21:
		return "BADALG";
	case TSIG_ERR_BADTRUNC:
		return "BADTRUNC";
	}
	return "unknown TSIG error";
}

/* Convert a dotted name (no trailing dot needed) to uncompressed lower
 * case wire form in out. Returns the length, or 0 if it is invalid. */
static size_t
name_to_wire(const char *name, unsigned char out[WIRE_NAME_MAX])
{
	size_t o = 0, start = 0, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	while (start < len) {
		size_t end = start;

		while (end < len && name[end] != '.')
			end++;
		if (end == start || end - start > 63 ||
		    o + 1 + (end - start) + 1 > WIRE_NAME_MAX)
			return 0;
		out[o++] = (unsigned char)(end - start);
		for (size_t i = start; i < end; i++) {
			char c = name[i];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			out[o++] = (unsigned char)c;
		}
		start = end + 1;
	}
	out[o++] = 0;
	return o;
}

/*
 * Read the possibly compressed name at *off of m into out in lower case
 * uncompressed wire form; *off moves past it. Returns the length of out,
 * or 0 if the name is malformed.
 */
static size_t
wire_read_name(const unsigned char *m, size_t len, size_t *off,
               unsigned char out[WIRE_NAME_MAX])
{
	size_t p = *off, o = 0, hops = 0;
	int jumped = 0;

	for (;;) {
		unsigned c;

		if (p >= len)
			return 0;
		c = m[p];
		if ((c & 0xC0) == 0xC0) {
			if (p + 1 >= len || ++hops > 64)
				return 0;
			if (!jumped)
				*off = p + 2;
			jumped = 1;
			p = ((c & 0x3F) << 8) | m[p + 1];
			continue;
		}
		if (c & 0xC0 || p + 1 + c > len || o + 1 + c > WIRE_NAME_MAX)
			return 0;
		out[o++] = (unsigned char)c;
		if (c == 0)
			break;
		for (size_t i = 1; i <= c; i++) {
			unsigned char ch = m[p + i];

			out[o++] =
			    (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch;
		}
		p += 1 + c;
	}
	if (!jumped)
		*off = p + 1;
	return o;
}

/* Write the wire name w as dotted text (no trailing dot) into out. */
static void
wire_name_text(const unsigned char *w, char out[TSIG_NAME_MAX + 1])
{
	size_t o = 0;

	for (size_t p = 0; w[p] != 0 && o < TSIG_NAME_MAX; p += 1 + w[p]) {
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 1; i <= w[p] && o < TSIG_NAME_MAX; i++)
			out[o++] = (char)w[p + i];
	}
	out[o] = '\0';
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static uint64_t
get48(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | p[i];
	return v;
}

static void
put48(unsigned char *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

/* Skip the resource record at *off (or a question when question is
 * set). Returns 0, or -1 if it runs past len. */
static int
wire_skip_rr(const unsigned char *m, size_t len, size_t *off, int question)
{
	unsigned char name[WIRE_NAME_MAX];

	if (wire_read_name(m, len, off, name) == 0)
		return -1;
	if (question)
		return *off + 4 <= len ? (*off += 4, 0) : -1;
	if (*off + 10 > len || *off + 10 + get16(m + *off + 8) > len)
		return -1;
	*off += 10 + get16(m + *off + 8);
	return 0;
}

/* The TSIG variables and MAC position as parsed from a TSIG RR. */
struct tsig_rr {
	unsigned char name[WIRE_NAME_MAX];
	size_t name_len;
	unsigned char alg[WIRE_NAME_MAX];
	size_t alg_len;
	const unsigned char *mac;
	unsigned orig_id;
	const unsigned char *other;
	size_t other_len;
};

/* Parse the TSIG rdata at m[off..end) into rr and info. Returns 0, or
 * -1 if it is malformed. */
static int
parse_tsig_rdata(const unsigned char *m, size_t off, size_t end,
                 struct tsig_rr *rr, struct tsig_info *info)
{
	size_t mac_len;

	rr->alg_len = wire_read_name(m, end, &off, rr->alg);
	if (rr->alg_len == 0 || off + 10 > end)
		return -1;
	wire_name_text(rr->alg, info->alg_name);
	info->time_signed = get48(m + off);
	info->fudge = get16(m + off + 6);
	mac_len = get16(m + off + 8);
	off += 10;
	if (mac_len > end - off || end - off - mac_len < 6)
		return -1; /* a length past the record is not reported */
	info->mac_len = mac_len;
	rr->mac = m + off;
	off += info->mac_len;
	rr->orig_id = get16(m + off);
	info->error = get16(m + off + 2);
	rr->other_len = get16(m + off + 4);
	rr->other = m + off + 6;
	if (off + 6 + rr->other_len != end)
		return -1;
	if (rr->other_len == 6) {
		info->has_other_time = 1;
		info->other_time = get48(rr->other);
	}
	return 0;
}

/*
 * Find the TSIG RR, the last record of msg, and parse it into rr and
 * info. Returns TSIG_VALID when found, TSIG_UNSIGNED when the last
 * record is not a TSIG RR, TSIG_MALFORMED when msg cannot be parsed.
 */
static enum tsig_status
find_tsig(const unsigned char *m, size_t len, struct tsig_rr *rr,
          struct tsig_info *info)
{
	size_t off = DNS_HEADER, start, rdlen;
	unsigned counts[4], total;

	if (len < DNS_HEADER)
		return TSIG_MALFORMED;
	for (int i = 0; i < 4; i++)
		counts[i] = get16(m + 4 + 2 * i);
	total = counts[1] + counts[2] + counts[3];
	for (unsigned i = 0; i < counts[0]; i++)
		if (wire_skip_rr(m, len, &off, 1) == -1)
			return TSIG_MALFORMED;
	for (unsigned i = 0; total > 0 && i < total - 1; i++)
		if (wire_skip_rr(m, len, &off, 0) == -1)
			return TSIG_MALFORMED;
	if (counts[3] == 0) /* no additional record: skip the last one */
		return (total == 0 || wire_skip_rr(m, len, &off, 0) == 0) &&
		               off == len
		           ? TSIG_UNSIGNED
		           : TSIG_MALFORMED;
	start = off;
	rr->name_len = wire_read_name(m, len, &off, rr->name);
	if (rr->name_len == 0 || off + 10 > len)
		return TSIG_MALFORMED;
	rdlen = get16(m + off + 8);
	if (off + 10 + rdlen != len)
		return TSIG_MALFORMED;
	if (get16(m + off) != TSIG_TYPE)
		return TSIG_UNSIGNED;
	if (get16(m + off + 2) != CLASS_ANY)
		return TSIG_MALFORMED;
	info->present = 1;
	info->unsigned_len = start;
	wire_name_text(rr->name, info->key_name);
	if (parse_tsig_rdata(m, off + 10, len, rr, info) == -1)
		return TSIG_MALFORMED;
	return TSIG_VALID;
}

/* Largest encoding of the TSIG variables without the other data. */
#define VARS_MAX (2 * WIRE_NAME_MAX + 18)

/* Encode the TSIG variables (RFC 8945 section 4.3.3) up to the other
 * data, whose length is other_len, into v. Returns the length. */
static size_t
put_variables(unsigned char v[VARS_MAX], const unsigned char *name,
              size_t name_len, const unsigned char *alg, size_t alg_len,
              uint64_t time_signed, unsigned fudge, unsigned error,
              size_t other_len)
{
	size_t o = 0;

	memcpy(v, name, name_len);
	o += name_len;
	put16(v + o, CLASS_ANY);
	memset(v + o + 2, 0, 4); /* TTL */
	o += 6;
	memcpy(v + o, alg, alg_len);
	o += alg_len;
	put48(v + o, time_signed);
	put16(v + o + 6, fudge);
	put16(v + o + 8, error);
	put16(v + o + 10, (unsigned)other_len);
	return o + 12;
}

/* Append the TSIG RR for key with the given MAC and time to msg and
 * increment ARCOUNT. Returns 0, or -1 if msg would be too big. */
static int
append_tsig_rr(struct buf *msg, const unsigned char *name, size_t name_len,
               const unsigned char *alg, size_t alg_len, uint64_t now,
               const struct tsig_mac *mac)
{
	unsigned char v[16];
	size_t rdlen = alg_len + 10 + mac->len + 6;
	unsigned char *h = (unsigned char *)msg->data;

	put16(v, TSIG_TYPE);
	put16(v + 2, CLASS_ANY);
	memset(v + 4, 0, 4);
	put16(v + 8, (unsigned)rdlen);
	if (buf_append(msg, name, name_len) == -1 ||
	    buf_append(msg, v, 10) == -1 || buf_append(msg, alg, alg_len) == -1)
		return -1;
	put48(v, now);
	put16(v + 6, TSIG_FUDGE);
	put16(v + 8, (unsigned)mac->len);
	if (buf_append(msg, v, 10) == -1 ||
	    buf_append(msg, mac->mac, mac->len) == -1)
		return -1;
	h = (unsigned char *)msg->data;
	memcpy(v, h, 2); /* original id */
	memset(v + 2, 0, 4);
	if (buf_append(msg, v, 6) == -1)
		return -1;
	h = (unsigned char *)msg->data;
	put16(h + 10, get16(h + 10) + 1);
	return 0;
}

/* Sign msg with key at time now, appending the TSIG RR. Returns 0, or
 * -1 with the reason in d. */
int
tsig_sign(const struct tsig_key *key, struct buf *msg, uint64_t now,
          struct tsig_mac *mac, struct diag *d)
{
	unsigned char name[WIRE_NAME_MAX], alg[WIRE_NAME_MAX], v[VARS_MAX];
	size_t name_len = name_to_wire(key->name, name);
	size_t alg_len = name_to_wire(tsig_alg_wire_name(key->alg), alg);
	mac_ctx *c;

	if (msg->len < DNS_HEADER || name_len == 0 || alg_len == 0) {
		diag_error(d, "cannot sign a malformed DNS message");
		return -1;
	}
	c = mac_begin(key);
	if (c == NULL || mac_update(c, msg->data, msg->len) == -1 ||
	    mac_update(c, v,
	               put_variables(v, name, name_len, alg, alg_len, now,
	                             TSIG_FUDGE, 0, 0)) == -1 ||
	    mac_final(c, mac) == -1) {
		diag_error(d, "cannot compute the TSIG MAC");
		return -1;
	}
	if (append_tsig_rr(msg, name, name_len, alg, alg_len, now, mac) == -1 ||
	    msg->len > MSG_MAX) {
		diag_error(d, "DNS message too big to sign");
		return -1;
	}
	return 0;
}

/* Compute the MAC a correct signer would have put in msg (whose TSIG RR
 * was parsed into rr and info): over the request MAC (with req), the
 * header with the original id and ARCOUNT less the TSIG RR, the rest of
 * the message up to the TSIG RR, and the TSIG variables. Returns 1 if it
 * matches the MAC in the RR. */
static int
mac_matches(const struct tsig_key *key, const unsigned char *m,
            const struct tsig_rr *rr, const struct tsig_info *info,
            const struct tsig_mac *req)
{
	unsigned char v[VARS_MAX], h[DNS_HEADER];
	struct tsig_mac mac;
	mac_ctx *c = mac_begin(key);
	size_t vlen = put_variables(v, rr->name, rr->name_len, rr->alg,
	                            rr->alg_len, info->time_signed, info->fudge,
	                            info->error, rr->other_len);

	if (c == NULL)
		return 0;
	memcpy(h, m, DNS_HEADER);
	put16(h, rr->orig_id);
	put16(h + 10, get16(h + 10) - 1);
	if (req != NULL) {
		unsigned char l[2];

		put16(l, (unsigned)req->len);
		if (mac_update(c, l, 2) == -1 ||
		    mac_update(c, req->mac, req->len) == -1)
			return 0;
	}
	if (mac_update(c, h, DNS_HEADER) == -1 ||
	    mac_update(c, m + DNS_HEADER, info->unsigned_len - DNS_HEADER) ==
	        -1 ||
	    mac_update(c, v, vlen) == -1 ||
	    mac_update(c, rr->other, rr->other_len) == -1 ||
	    mac_final(c, &mac) == -1)
		return 0;
	return mac.len == info->mac_len &&
	       CRYPTO_memcmp(mac.mac, rr->mac, mac.len) == 0;
}

/* Verify the TSIG of msg against key; see tsig.h. */
enum tsig_status
tsig_verify(const struct tsig_key *key, const unsigned char *msg, size_t len,
            const struct tsig_mac *req, uint64_t now, struct tsig_info *info)
{
	struct tsig_rr rr;
	unsigned char name[WIRE_NAME_MAX], alg[WIRE_NAME_MAX];
	size_t name_len = name_to_wire(key->name, name);
	size_t alg_len = name_to_wire(tsig_alg_wire_name(key->alg), alg);
	enum tsig_status st;
	uint64_t diff;

	memset(info, 0, sizeof(*info));
	info->unsigned_len = len;
	st = find_tsig(msg, len, &rr, info);
	if (st != TSIG_VALID)
		return st;
	if (info->mac_len == 0)
		return info->error ? TSIG_ERROR : TSIG_BAD_MAC;
	if (rr.name_len != name_len || memcmp(rr.name, name, name_len) != 0 ||
	    rr.alg_len != alg_len || memcmp(rr.alg, alg, alg_len) != 0)
		return TSIG_OTHER_KEY;
	if (!mac_matches(key, msg, &rr, info, req))
		return TSIG_BAD_MAC;
	if (info->error)
		return TSIG_ERROR;
	diff = now > info->time_signed ? now - info->time_signed
	                               : info->time_signed - now;
	if (diff > info->fudge)
		return TSIG_BAD_TIME;
	return TSIG_VALID;
}
