/*
 * tsig-test - TSIG keys, the HMAC layer against the RFC 2202 / RFC 4231
 * vectors, and message signing and verification cross-checked with the
 * independent TSIG implementation in ldns (for the algorithms it has).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "tap.h"
#include "tsig.h"

static int
hex_is(const struct tsig_mac *m, const char *hex)
{
	char got[2 * TSIG_MAC_MAX + 1];

	for (size_t i = 0; i < m->len; i++)
		snprintf(got + 2 * i, 3, "%02x", m->mac[i]);
	got[2 * m->len] = '\0';
	if (strcmp(got, hex) != 0)
		printf("#   got  %s\n#   want %s\n", got, hex);
	return strcmp(got, hex) == 0;
}

/* RFC 4231 test case 2 (key "Jefe") and RFC 2202 for md5 / sha1. */
static void
test_hmac_vectors(void)
{
	static const struct {
		const char *alg;
		const char *hex;
	} v[] = {
	    {"hmac-md5", "750c783e6ab0b503eaa86e310a5db738"},
	    {"hmac-sha1", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
	    {"hmac-sha224", "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e61"
	                    "48008fd05e44"},
	    {"hmac-sha256", "5bdcc146bf60754e6a042426089575c75a003f089d273"
	                    "9839dec58b964ec3843"},
	    {"hmac-sha384", "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01"
	                    "b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfa"
	                    "b21649"},
	    {"hmac-sha512", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831"
	                    "fd610270cd7ea2505549758bf75c05a994a6d034f65f8"
	                    "f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	};
	const char *data = "what do ya want for nothing?";

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct tsig_key k;
		struct tsig_mac m;
		struct diag d;

		diag_init(&d);
		ok(tsig_key_init(&k, "jefe", v[i].alg, "SmVmZQ==", &d) == 0,
		   "%s key", v[i].alg);
		ok(tsig_hmac(&k, (const unsigned char *)data, strlen(data),
		             &m) == 0 &&
		       hex_is(&m, v[i].hex),
		   "%s HMAC matches the RFC vector", v[i].alg);
	}
}

/* Two keys of one algorithm and secret length in turn, and the same key
 * again: each MAC is its own (the thread's context is keyed again only
 * when the secret changes, and must be whenever it does). The second
 * vector is HMAC-SHA256 of RFC 4231 test case 1's data with key "Jeff". */
static void
test_hmac_key_change(void)
{
	static const char *jefe =
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	static const char *hi =
	    "66cd88d80857e7e5ffb32f87ae505357e8922c58a5a64c0ab44c4e631d626ba2";
	const char *d1 = "what do ya want for nothing?", *d2 = "Hi There";
	struct tsig_key a, b;
	struct tsig_mac m;
	struct diag d;
	int good = 1;

	diag_init(&d);
	tsig_key_init(&a, "a", "hmac-sha256", "SmVmZQ==", &d);
	tsig_key_init(&b, "b", "hmac-sha256", "SmVmZg==", &d);
	for (int i = 0; i < 3; i++) {
		good &= tsig_hmac(&a, (const unsigned char *)d1, strlen(d1),
		                  &m) == 0 &&
		        hex_is(&m, jefe);
		good &= tsig_hmac(&a, (const unsigned char *)d1, strlen(d1),
		                  &m) == 0 &&
		        hex_is(&m, jefe);
		good &= tsig_hmac(&b, (const unsigned char *)d2, strlen(d2),
		                  &m) == 0 &&
		        hex_is(&m, hi);
	}
	ok(good, "two hmac-sha256 keys in turn: every MAC matches its vector");
	tsig_key_wipe(&a);
	tsig_thread_cleanup();
	ok(tsig_hmac(&b, (const unsigned char *)d2, strlen(d2), &m) == 0 &&
	       hex_is(&m, hi),
	   "the right MAC after the thread's contexts are freed");
	tsig_key_wipe(&b);
}

/* Key checks: names, algorithms, secrets. */
static void
test_keys(void)
{
	struct tsig_key k;
	struct diag d;
	enum tsig_alg a;

	diag_init(&d);
	ok(tsig_key_init(&k, "MtaSts.Example.", "HMAC-SHA384.",
	                 "c2VjcmV0c2VjcmV0", &d) == 0,
	   "key with upper case name and algorithm, trailing dots");
	ok(strcmp(k.name, "mtasts.example") == 0, "name lower case, no dot");
	ok(k.alg == TSIG_HMAC_SHA384 && k.secret_len == 12 &&
	       memcmp(k.secret, "secretsecret", 12) == 0,
	   "algorithm and decoded secret");
	ok(tsig_alg_from_name("hmac-md5.sig-alg.reg.int", &a) == 0 &&
	       a == TSIG_HMAC_MD5 &&
	       strcmp(tsig_alg_wire_name(a), "hmac-md5.sig-alg.reg.int") == 0 &&
	       strcmp(tsig_alg_name(a), "hmac-md5") == 0,
	   "hmac-md5 wire name");
	ok(tsig_alg_from_name("hmac-sha3", &a) == -1, "unknown algorithm");
	diag_init(&d);
	ok(tsig_key_init(&k, "k", "hmac-md5", "c2VjcmV0", &d) == 0 &&
	       d.nwarn == 1 && strstr(d.warn[0], "hmac-md5") != NULL,
	   "hmac-md5 accepted with a warning");
	diag_init(&d);
	ok(tsig_key_init(&k, "k", "hmac-sha256", "c2Vj*mV0", &d) == -1 &&
	       strstr(d.error, "base64") != NULL &&
	       strstr(d.error, "c2Vj") == NULL,
	   "bad base64 refused without quoting the secret");
	diag_init(&d);
	ok(tsig_key_init(&k, "a..b", "hmac-sha256", "c2VjcmV0", &d) == -1,
	   "bad key name refused");
	diag_init(&d);
	ok(tsig_key_init(&k, "k", "hmac-sha256", "", &d) == -1,
	   "empty secret refused");
	tsig_key_wipe(&k);
	ok(k.secret_len == 0 && k.secret[0] == 0, "wipe clears the secret");
}

/* A query for name/type in wire form, in b. */
static void
make_query(struct buf *b, const char *name)
{
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	ldns_pkt_query_new_frm_str(&q, name, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN,
	                           0);
	ldns_pkt_set_id(q, 4242);
	ldns_pkt2wire(&wire, q, &len);
	buf_init(b, 65535);
	buf_append(b, wire, len);
	free(wire);
	ldns_pkt_free(q);
}

/* Our signature on a request is accepted by ldns; ldns's signature on a
 * response is accepted by us; tampering, other keys, skewed time and a
 * missing TSIG are each detected. */
static void
test_cross(const char *alg, const char *ldns_alg)
{
	const char *secret = "zGyAnLjzqxXyHPXsdXGlS1QFqsE3o/xvO7jzFbvOWHw=";
	struct tsig_key k, other;
	struct tsig_mac mac;
	struct tsig_info info;
	struct diag d;
	struct buf q;
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL, macbuf[2 + TSIG_MAC_MAX];
	size_t len = 0;
	ldns_rdf *qmac;
	uint64_t now = (uint64_t)time(NULL);

	diag_init(&d);
	tsig_key_init(&k, "mtasts", alg, secret, &d);
	tsig_key_init(&other, "other", alg, secret, &d);
	make_query(&q, "_mta-sts.example.com.");
	ok(tsig_sign(&k, &q, now, &mac, &d) == 0, "%s: request signed", alg);
	ok(ldns_wire2pkt(&p, (uint8_t *)q.data, q.len) == LDNS_STATUS_OK &&
	       ldns_pkt_tsig_verify(p, (uint8_t *)q.data, q.len, "mtasts.",
	                            secret, NULL),
	   "%s: ldns accepts our request signature", alg);
	ok(tsig_verify(&k, (unsigned char *)q.data, q.len, NULL, now, &info) ==
	       TSIG_VALID,
	   "%s: we accept our request signature", alg);

	/* the response: ldns signs it, covering our request MAC */
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, LDNS_RCODE_NOERROR);
	macbuf[0] = (uint8_t)(mac.len >> 8);
	macbuf[1] = (uint8_t)mac.len;
	memcpy(macbuf + 2, mac.mac, mac.len);
	qmac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2 + mac.len,
	                             macbuf);
	ldns_rr_free(ldns_pkt_tsig(p));
	ldns_pkt_set_tsig(p, NULL);
	ok(ldns_pkt_tsig_sign(p, "mtasts.", secret, 300, ldns_alg, qmac) ==
	           LDNS_STATUS_OK &&
	       ldns_pkt2wire(&wire, p, &len) == LDNS_STATUS_OK,
	   "%s: ldns signs the response", alg);
	now = (uint64_t)time(NULL);
	ok(tsig_verify(&k, wire, len, &mac, now, &info) == TSIG_VALID,
	   "%s: we accept ldns's response signature", alg);
	ok(tsig_verify(&other, wire, len, &mac, now, &info) == TSIG_OTHER_KEY,
	   "%s: signed with another key detected", alg);
	ok(tsig_verify(&k, wire, len, &mac, now + 1000, &info) ==
	           TSIG_BAD_TIME &&
	       info.fudge == 300,
	   "%s: time outside the fudge detected", alg);
	ok(tsig_verify(&k, wire, info.unsigned_len, &mac, now, &info) ==
	       TSIG_MALFORMED,
	   "%s: a cut message is malformed", alg);
	wire[len - 20] ^= 1;
	ok(tsig_verify(&k, wire, len, &mac, now, &info) == TSIG_BAD_MAC,
	   "%s: a changed MAC detected", alg);
	wire[len - 20] ^= 1;
	wire[13] ^= 1;
	ok(tsig_verify(&k, wire, len, &mac, now, &info) == TSIG_BAD_MAC,
	   "%s: a changed message detected", alg);
	ldns_rdf_deep_free(qmac);
	free(wire);
	ldns_pkt_free(p);
	buf_free(&q);
}

/* The signature of the sha224 and sha384 algorithms ldns lacks, checked
 * by recomputing the MAC over the RFC 8945 digest layout by hand. */
static void
test_layout(void)
{
	struct tsig_key k;
	struct tsig_mac mac, want;
	struct tsig_info info;
	struct diag d;
	struct buf q, digest;
	uint64_t now = 0x0000000102030405ULL;
	static const unsigned char vars[] = {
	    1,   'k', 0,   0,   255, 0,   0,   0,   0, /* name, class ANY, TTL 0
	                                                */
	    11,  'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2',
	    '2', '4', 0,   0,   1,   2,   3,   4,   5, /* time signed */
	    1,   44,                                   /* fudge 300 */
	    0,   0,   0,   0,                          /* error, other len */
	};

	diag_init(&d);
	tsig_key_init(&k, "K", "hmac-sha224", "c2VjcmV0", &d);
	make_query(&q, "example.com.");
	buf_init(&digest, 65535);
	buf_append(&digest, q.data, q.len);
	buf_append(&digest, vars, sizeof(vars));
	tsig_hmac(&k, (unsigned char *)digest.data, digest.len, &want);
	ok(tsig_sign(&k, &q, now, &mac, &d) == 0 && mac.len == 28 &&
	       memcmp(mac.mac, want.mac, 28) == 0,
	   "hmac-sha224: MAC over message + TSIG variables");
	ok(((unsigned char *)q.data)[11] == 1, "ARCOUNT incremented");
	ok(tsig_verify(&k, (unsigned char *)q.data, q.len, NULL, now, &info) ==
	           TSIG_VALID &&
	       strcmp(info.key_name, "k") == 0 &&
	       strcmp(info.alg_name, "hmac-sha224") == 0 &&
	       info.time_signed == now,
	   "hmac-sha224: verified, variables parsed");
	buf_free(&digest);
	buf_free(&q);
}

/* An unsigned reply with records in the answer section (no additional
 * record) is unsigned, not malformed. */
static void
test_unsigned_answer(const struct tsig_key *k)
{
	ldns_pkt *p = NULL;
	ldns_rr *rr = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;
	struct tsig_info info;

	ldns_pkt_query_new_frm_str(&p, "example.com.", LDNS_RR_TYPE_TXT,
	                           LDNS_RR_CLASS_IN, 0);
	ldns_rr_new_frm_str(&rr, "example.com. 60 IN TXT \"v=STSv1; id=1\"", 0,
	                    NULL, NULL);
	ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	ldns_pkt_set_qr(p, true);
	ldns_pkt2wire(&wire, p, &len);
	ok(tsig_verify(k, wire, len, NULL, 0, &info) == TSIG_UNSIGNED,
	   "an unsigned reply with an answer is unsigned");
	ok(tsig_verify(k, wire, len - 1, NULL, 0, &info) == TSIG_MALFORMED,
	   "a cut unsigned reply is malformed");
	free(wire);
	ldns_pkt_free(p);
}

static void
test_unsigned(void)
{
	struct tsig_key k;
	struct tsig_info info;
	struct diag d;
	struct buf q;

	diag_init(&d);
	tsig_key_init(&k, "k", "hmac-sha256", "c2VjcmV0", &d);
	make_query(&q, "example.com.");
	ok(tsig_verify(&k, (unsigned char *)q.data, q.len, NULL, 0, &info) ==
	       TSIG_UNSIGNED,
	   "a message without TSIG is unsigned");
	ok(tsig_verify(&k, (unsigned char *)q.data, 5, NULL, 0, &info) ==
	       TSIG_MALFORMED,
	   "a short message is malformed");
	buf_free(&q);
	ok(strcmp(tsig_error_name(TSIG_ERR_BADTIME), "BADTIME") == 0,
	   "error names");
	test_unsigned_answer(&k);
}

int
main(void)
{
	test_hmac_vectors();
	test_hmac_key_change();
	test_keys();
	test_cross("hmac-md5", "hmac-md5.sig-alg.reg.int.");
	test_cross("hmac-sha1", "hmac-sha1.");
	test_cross("hmac-sha256", "hmac-sha256.");
	test_cross("hmac-sha512", "hmac-sha512.");
	test_layout();
	test_unsigned();
	return done_testing();
}
