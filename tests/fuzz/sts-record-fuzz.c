/*
 * sts-record-fuzz.c - fuzz target for the "v=STSv1; id=..." TXT record
 * parser (RFC 8461 section 3.1). A parsed id must format and parse back to
 * itself; a record the parser accepts must be of the kind sync replaces
 * (record_is_version()), and record_select() selects it exactly when it
 * begins with "v=STSv1;", else it is a near miss.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sts_record r, r2;
	struct diag d;
	struct buf b;
	char *txt;

	diag_init(&d);
	if (sts_record_parse((const char *)data, size, &r, &d) == -1) {
		if (!diag_failed(&d) || r.id[0] != '\0')
			abort();
		return 0;
	}
	buf_init(&b, TXT_RECORD_MAX);
	if (sts_record_format(r.id, &b) != 0 ||
	    sts_record_parse(b.data, b.len, &r2, &d) != 0 ||
	    strcmp(r.id, r2.id) != 0)
		abort();
	buf_free(&b);
	txt = xstrndup((const char *)data, size);
	if (strlen(txt) == size &&
	    (!record_is_version(txt, STS_RECORD_VERSION) ||
	     record_select(&txt, 1, STS_RECORD_VERSION, NULL) !=
	         (size_t)record_begins(txt, STS_RECORD_VERSION) ||
	     record_is_near_miss(txt, STS_RECORD_VERSION) ==
	         record_begins(txt, STS_RECORD_VERSION)))
		abort();
	free(txt);
	return 0;
}
