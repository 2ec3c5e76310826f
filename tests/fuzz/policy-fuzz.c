/*
 * policy-fuzz.c - fuzz target for the RFC 8461 policy parser. Whatever
 * parses must validate, have a canonical form that reparses to the very
 * same bytes (and id), and be covered by its own mx patterns; anything
 * else aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An example host for pattern: the pattern itself, "*" made "x". */
static void
check_covered(const struct policy *p)
{
	size_t i;
	char *host;

	for (i = 0; i < p->nmx; i++) {
		host = xstrdup(p->mx[i]);
		if (host[0] == '*')
			host[0] = 'x';
		if (!policy_covers(p, host) || !policy_mx_match(p->mx[i], host))
			abort();
		free(host);
	}
}

/* The canonical bytes of p must reparse to themselves. */
static void
check_round_trip(const struct policy *p)
{
	struct buf c1, c2;
	struct diag d;
	struct policy *q, *dup;
	char id1[POLICY_ID_MAX + 1], id2[POLICY_ID_MAX + 1];

	buf_init(&c1, POLICY_MAX_SIZE);
	buf_init(&c2, POLICY_MAX_SIZE);
	diag_init(&d);
	if (policy_validate(p, &d) != 0 || policy_canonical(p, &c1) != 0)
		abort();
	q = policy_parse(c1.data, c1.len, &d);
	if (q == NULL || policy_canonical(q, &c2) != 0 || c1.len != c2.len ||
	    memcmp(c1.data, c2.data, c1.len) != 0)
		abort();
	policy_id(c1.data, c1.len, id1);
	policy_id(c2.data, c2.len, id2);
	if (strcmp(id1, id2) != 0 || strlen(id1) != POLICY_ID_MAX)
		abort();
	dup = policy_dup(q);
	if (policy_canonical(dup, &c2) != 0 || c1.len != c2.len ||
	    memcmp(c1.data, c2.data, c1.len) != 0)
		abort();
	policy_free(dup);
	policy_free(q);
	buf_free(&c1);
	buf_free(&c2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d;
	struct policy *p;

	diag_init(&d);
	p = policy_parse((const char *)data, size, &d);
	if (p == NULL) {
		if (!diag_failed(&d))
			abort(); /* a failure always says why */
		return 0;
	}
	if (diag_failed(&d))
		abort();
	check_round_trip(p);
	check_covered(p);
	policy_free(p);
	return 0;
}
