/*
 * check-args-fuzz.c - fuzz target for the operands check reads from its
 * command line: the --server address (parse_server, with the hint of
 * server_port_hint) and a domain (domain_normalize). It includes
 * src/check.c to reach them (the library's check.o is then not linked).
 * The input, cut at its first NUL byte as an argument is, is taken as
 * both. Invariants, else abort: a refusal says why and a success says
 * nothing; an address taken has a port from 1 to 65535; a domain taken
 * is lower case letters, digits, '-' and '_' in labels of 1 to 63 bytes,
 * at most DOMAIN_MAX long, normalised again to itself, and its names
 * fit the buffers check writes them into.
 */
#include "../../src/check.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --server arg. */
static void
fuzz_server(const char *arg)
{
	struct check_ctx ctx;
	struct diag d;

	memset(&ctx, 0, sizeof(ctx));
	diag_init(&d);
	if (parse_server(arg, &ctx, &d) == 0) {
		if (diag_failed(&d) || ctx.server == NULL || ctx.port == 0 ||
		    ctx.port > 65535)
			abort();
	} else if (!diag_failed(&d) || ctx.server != NULL) {
		abort();
	}
	ldns_rdf_deep_free(ctx.server);
}

/* A domain operand. */
static void
fuzz_domain(const char *arg)
{
	char out[DOMAIN_MAX + 1], again[DOMAIN_MAX + 1];
	char name[DOMAIN_MAX + 16];
	size_t label = 0;

	memset(out, 0x5a, sizeof(out));
	if (domain_normalize(arg, out) == -1)
		return;
	if (memchr(out, '\0', sizeof(out)) == NULL || out[0] == '\0')
		abort();
	for (const char *p = out;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63)
				abort();
			if (*p == '\0')
				break;
			label = 0;
		} else if (strchr("abcdefghijklmnopqrstuvwxyz0123456789-_",
		                  *p) == NULL) {
			abort();
		} else {
			label++;
		}
	}
	if (domain_normalize(out, again) == -1 || strcmp(out, again) != 0)
		abort();
	/* the longest name check makes of it fits, as check_tlsrpt()
	 * writes it */
	if (snprintf(name, sizeof(name), "_smtp._tls.%s", out) >=
	    (int)sizeof(name))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact private copy, so that reading past the end is caught */
	char *arg = xstrndup((const char *)data, size);

	fuzz_server(arg);
	fuzz_domain(arg);
	free(arg);
	return 0;
}
