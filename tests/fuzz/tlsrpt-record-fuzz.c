/*
 * tlsrpt-record-fuzz.c - fuzz target for the "v=TLSRPTv1; rua=..." TXT
 * record parser (RFC 8460 section 3) and for TXT RDATA handling. The input
 * is parsed as record text, and also as RDATA whose joined text is parsed
 * too. A parsed record must format and parse back to the same URIs; text
 * split into character-strings must join back to itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse txt; if valid, its formatted form must parse to the same URIs. */
static void
check_record(const char *txt, size_t len)
{
	struct tlsrpt_record r, r2;
	struct diag d;
	struct buf b;
	size_t i;

	diag_init(&d);
	if (tlsrpt_record_parse(txt, len, &r, &d) == -1) {
		if (!diag_failed(&d) || r.rua.n != 0)
			abort();
		return;
	}
	buf_init(&b, 1 << 20);
	if (r.rua.n == 0 || tlsrpt_record_format(&r.rua, &b) != 0 ||
	    tlsrpt_record_parse(b.data, b.len, &r2, &d) != 0 ||
	    r2.rua.n != r.rua.n)
		abort();
	for (i = 0; i < r.rua.n; i++)
		if (strcmp(r.rua.v[i], r2.rua.v[i]) != 0 ||
		    tlsrpt_uri_check(r.rua.v[i], &d) != 0)
			abort();
	tlsrpt_record_free(&r);
	tlsrpt_record_free(&r2);
	buf_free(&b);
}

/* RDATA to text and back: the text must survive the round trip. */
static void
check_rdata(const uint8_t *data, size_t size)
{
	struct buf text, again;
	unsigned char *rd;
	size_t cap, n;

	buf_init(&text, TXT_RECORD_MAX);
	if (txt_rdata_to_text(data, size, &text) == 0) {
		check_record(text.data, text.len);
		cap = text.len + text.len / 255 + 1;
		rd = xmalloc(cap);
		buf_init(&again, TXT_RECORD_MAX);
		if (txt_rdata_from_text(text.data, text.len, rd, cap, &n) !=
		        0 ||
		    txt_rdata_to_text(rd, n, &again) != 0 ||
		    again.len != text.len ||
		    memcmp(again.data, text.data, text.len) != 0)
			abort();
		buf_free(&again);
		free(rd);
	}
	buf_free(&text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_record((const char *)data, size);
	check_rdata(data, size);
	return 0;
}
