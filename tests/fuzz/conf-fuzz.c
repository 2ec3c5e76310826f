/*
 * conf-fuzz.c - fuzz target for the configuration parser and the key file
 * parser. The first byte chooses the parser: 'K' keyfile_parse() for the
 * file's only key, 'N' keyfile_parse() for the key named "k", anything
 * else conf_parse_flags() with CONF_NO_FILES (no include or key file is
 * ever read). Invariants, else abort: a failure always says why, a
 * success says nothing of an error, no warning of a success quotes the
 * secret of a key it parsed (in base64, as written), and a loaded
 * configuration is complete (every domain has a key, a policy file, an
 * upstream or a local policy). (That no error quotes a secret is
 * tested with known secrets by conf-test.)
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "conf.h"
#include "tsig.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path or URL made from a domain's settings: never empty. */
static void
check_made(char *s)
{
	if (s == NULL || *s == '\0')
		abort();
	free(s);
}

/* Every loaded domain carries what conf.h promises. */
static void
check_conf(const struct conf *c)
{
	size_t i;

	if (c->ndomains == 0)
		abort();
	for (i = 0; i < c->ndomains; i++) {
		struct domain_conf dc, *d = &dc;
		size_t k;

		conf_domain(c, i, d);
		if (d->name == NULL || d->key == NULL ||
		    d->policy_file_tmpl == NULL ||
		    (d->upstream == NULL) == (d->local_policy == NULL) ||
		    conf_find_domain(c, d->name, &k) == -1 || k != i)
			abort();
		check_made(conf_policy_file(d));
		check_made(conf_verify_url(d));
	}
}

/* No warning of d holds the secret of k in base64. */
static void
check_secret_unsaid(const struct tsig_key *k, const struct diag *d)
{
	unsigned char b64[4 * ((TSIG_SECRET_MAX + 2) / 3) + 1];
	size_t w;

	if (k->secret_len == 0)
		return;
	EVP_EncodeBlock(b64, k->secret, (int)k->secret_len);
	for (w = 0; w < d->nwarn; w++)
		if (strstr(d->warn[w], (const char *)b64) != NULL)
			abort();
}

/* Parse a key file; a failure has a message. */
static void
fuzz_keyfile(const char *buf, size_t len, const char *name)
{
	struct tsig_key key;
	struct diag d;
	int rc;

	diag_init(&d);
	memset(&key, 0, sizeof(key));
	rc = keyfile_parse("fuzz.key", buf, len, name, &key, &d);
	if ((rc == -1) != diag_failed(&d))
		abort();
	if (rc == 0 && (key.name[0] == '\0' || key.secret_len == 0))
		abort();
	if (rc == 0)
		check_secret_unsaid(&key, &d);
	tsig_key_wipe(&key);
}

static void
fuzz_conf(const char *buf, size_t len)
{
	struct conf *c;
	struct diag d;

	diag_init(&d);
	c = conf_parse_flags("fuzz.conf", buf, len, CONF_NO_FILES, &d);
	if ((c == NULL) != diag_failed(&d))
		abort();
	if (c != NULL) {
		check_conf(c);
		for (size_t k = 0; k < c->nkeys; k++)
			check_secret_unsaid(&c->keys[k], &d);
	}
	conf_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	if (size == 0)
		return 0;
	/* An exact private copy, so that reading past the end is caught. */
	buf = xmalloc(size - 1);
	memcpy(buf, data + 1, size - 1);
	if (data[0] == 'K')
		fuzz_keyfile(buf, size - 1, NULL);
	else if (data[0] == 'N')
		fuzz_keyfile(buf, size - 1, "k");
	else
		fuzz_conf(buf, size - 1);
	free(buf);
	return 0;
}
