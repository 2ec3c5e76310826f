/*
 * tsig-fuzz.c - fuzz target for the TSIG reader, which sees every reply of
 * a primary before anything else does. The input is one DNS message: it
 * is verified as a reply to a signed request and as a request. Then, if
 * it holds no TSIG record, it is signed and must verify (the writer and
 * the reader agree), and the signed copy with one byte changed must not.
 * Invariants, else abort: what tsig_verify reports stays within its
 * bounds (names ended, lengths within the message), a valid message
 * carries a MAC, and the round trip above.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsig.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000u

static const struct tsig_key key = {"k.example",
                                    TSIG_HMAC_SHA256,
                                    {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                     12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                     23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
                                    32,
                                    NULL};

/* Verify msg; abort if what is reported breaks its bounds. */
static enum tsig_status
verify(const unsigned char *msg, size_t len, const struct tsig_mac *req)
{
	struct tsig_info info;
	enum tsig_status st;

	memset(&info, 0, sizeof(info));
	st = tsig_verify(&key, msg, len, req, NOW, &info);
	if (st > TSIG_BAD_TIME ||
	    memchr(info.key_name, '\0', sizeof(info.key_name)) == NULL ||
	    memchr(info.alg_name, '\0', sizeof(info.alg_name)) == NULL ||
	    info.mac_len > len || info.unsigned_len > len ||
	    (st == TSIG_VALID && (!info.present || info.mac_len == 0)))
		abort();
	return st;
}

/* Sign a copy of msg (len bytes, no TSIG record): it must verify, and
 * with one byte of its body changed it must not. */
static void
round_trip(const unsigned char *msg, size_t len)
{
	struct tsig_mac mac;
	struct diag d;
	struct buf b;

	buf_init(&b, 0);
	buf_append(&b, msg, len);
	diag_init(&d);
	if (tsig_sign(&key, &b, NOW, &mac, &d) == 0) {
		if (verify((unsigned char *)b.data, b.len, NULL) != TSIG_VALID)
			abort();
		if (len > 12) {
			b.data[len - 1] ^= 0x01;
			if (verify((unsigned char *)b.data, b.len, NULL) ==
			    TSIG_VALID)
				abort();
		}
	}
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tsig_mac req;
	unsigned char *copy = xmalloc(size > 0 ? size : 1);

	/* an exact private copy, so that reading past the end is caught */
	memcpy(copy, data, size);
	memset(&req, 0x5a, sizeof(req));
	req.len = 32;
	verify(copy, size, &req);
	if (verify(copy, size, NULL) == TSIG_UNSIGNED)
		round_trip(copy, size);
	free(copy);
	tsig_thread_cleanup();
	return 0;
}
