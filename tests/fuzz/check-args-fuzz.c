/*
 * check-args-fuzz.c - fuzz target for the operands check reads from its
 * command line: the --server address (dns_server_spec_parse(), the
 * engine's, with its hints) and a domain (domain_normalize). It includes
 * src/check.c to reach them (the library's check.o is then not linked).
 * The input, cut at its first NUL byte as an argument is, is taken as
 * both. Invariants, else abort: a refusal says why and a success says
 * nothing; an address taken is one, has a port from 1 to 65535, and
 * makes a resolver asking it alone at that port; a domain taken
 * is lower case letters, digits, '-' and '_' in labels of 1 to 63 bytes,
 * at most DOMAIN_MAX long, normalised again to itself, and its names
 * fit the buffers check writes them into.
 */
#include "../../src/check.c"

#include <arpa/inet.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --server arg, read by the engine's parser (dns_server_spec_parse()),
 * and the resolver made of it. */
static void
fuzz_server(const char *arg)
{
	struct dns_server_spec s;
	unsigned char bin[sizeof(struct in6_addr)];
	ldns_resolver *res;
	struct diag d;

	memset(&s, 0x5a, sizeof(s));
	diag_init(&d);
	if (dns_server_spec_parse(arg, "--server", &s, &d) == -1) {
		if (!diag_failed(&d) || strncmp(d.error, "--server ", 9) != 0)
			abort();
		return;
	}
	if (diag_failed(&d) || s.port == 0 || s.port > 65535 ||
	    memchr(s.addr, '\0', sizeof(s.addr)) == NULL ||
	    (inet_pton(AF_INET, s.addr, bin) != 1 &&
	     inet_pton(AF_INET6, s.addr, bin) != 1))
		abort();
	res = dns_resolver_at(arg, "--server", &d);
	if (res == NULL || ldns_resolver_nameserver_count(res) != 1 ||
	    ldns_resolver_port(res) != s.port)
		abort();
	ldns_resolver_deep_free(res);
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
