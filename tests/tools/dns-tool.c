/*
 * dns-tool - test driver for the DNS UPDATE engine (dnsupdate.h).
 *
 *   dns-tool find|read|update [options]
 *     --domain D        a domain (repeatable; --sts/--tlsrpt/--ttl apply
 *                       to the last --domain given)
 *     --server S --port P --zone Z --resolver ADDR[#PORT] --timeout N
 *     --key [alg:]name:secret | --key-file F [--key-name N]
 *     --sts TEXT --tlsrpt TEXT --ttl N
 *     --dry-run               print the UPDATE as text, send nothing
 *     --pause-after-read N    sleep N seconds between reading the state
 *                             and sending the UPDATE (concurrent edits)
 *     --hold-after-read F     between them, make the file F, then wait
 *                             until it is gone (at most 60 s): an edit
 *                             the test makes meanwhile comes between
 *                             the read and the UPDATE, with no race
 *     --hold-between-reads F  before reading the state of each domain
 *                             after the first, make the file F and wait
 *                             until it is gone (at most 60 s): a kept
 *                             connection left idle while the test, or
 *                             the server, does something meanwhile
 *     --assume-empty          do not read the state: take it as empty
 *                             (a stale state; names outside the zone)
 *     --show-kept             read: print what the state keeps for the
 *                             zone check, and its heap
 *     --down-first            after the reads, try 127.0.0.2 (at the
 *                             same port, where nothing listens) before
 *                             the primary's addresses: a primary whose
 *                             first address refuses connections
 *
 * read prints the records of each domain; with --show-kept, also what
 * the first domain's state keeps for the zone check ("kept _mta-sts.D SOA
 * zone Z"), and the heap that held ("kept bytes N", "?" where not known).
 *
 * Exit status: 0 done, 1 failed, 3 conflict (DNS_UPDATE_CONFLICT),
 * 4 failed, and the server may have applied the UPDATE
 * (DNS_UPDATE_UNKNOWN), 2 usage. Errors go to standard error; the secret
 * is never printed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "dnsupdate.h"
#include "tsig.h"
#include "util.h"

#include "../unit/heap.h"

#define MAX_DOMAINS 20

struct opts {
	const char *cmd;
	const char *server, *zone, *resolver, *key_file, *key_name, *key;
	const char *hold, *hold_reads;
	unsigned long long port, timeout, pause;
	int dry_run, assume_empty, down_first, show_kept;
	struct dns_change c[MAX_DOMAINS];
	struct dns_state st[MAX_DOMAINS];
	size_t n;
};

static void
usage(void)
{
	fputs("usage: dns-tool find|read|update --domain D [--server S] "
	      "[--port P] [--zone Z]\n  [--resolver ADDR[#PORT]] [--key "
	      "[alg:]name:secret | --key-file F [--key-name N]]\n  [--sts "
	      "TEXT] [--tlsrpt TEXT] [--ttl N] [--timeout N] [--dry-run]\n"
	      "  [--pause-after-read N] [--hold-after-read FILE]\n"
	      "  [--hold-between-reads FILE] [--down-first]\n",
	      stderr);
	exit(2);
}

/* Parse a number option value or exit with usage. */
static unsigned long long
num(const char *s, unsigned long long max)
{
	unsigned long long v = 0;

	if (s == NULL || parse_uint(s, max, &v) == -1)
		usage();
	return v;
}

/* Apply one option with its value v to o. Returns 1 if it took v. */
static int
option(struct opts *o, const char *a, const char *v)
{
	struct dns_change *c = o->n ? &o->c[o->n - 1] : NULL;

	if (strcmp(a, "--dry-run") == 0) {
		o->dry_run = 1;
		return 0;
	}
	if (strcmp(a, "--assume-empty") == 0) {
		o->assume_empty = 1;
		return 0;
	}
	if (strcmp(a, "--show-kept") == 0) {
		o->show_kept = 1;
		return 0;
	}
	if (strcmp(a, "--down-first") == 0) {
		o->down_first = 1;
		return 0;
	}
	if (v == NULL)
		usage();
	if (strcmp(a, "--domain") == 0) {
		if (o->n == MAX_DOMAINS)
			usage();
		o->c[o->n].domain = v;
		o->c[o->n].ttl = 3600;
		o->c[o->n].state = &o->st[o->n];
		o->n++;
	} else if (strcmp(a, "--server") == 0)
		o->server = v;
	else if (strcmp(a, "--port") == 0)
		o->port = num(v, 65535);
	else if (strcmp(a, "--zone") == 0)
		o->zone = v;
	else if (strcmp(a, "--resolver") == 0)
		o->resolver = v;
	else if (strcmp(a, "--timeout") == 0)
		o->timeout = num(v, 3600);
	else if (strcmp(a, "--pause-after-read") == 0)
		o->pause = num(v, 3600);
	else if (strcmp(a, "--hold-after-read") == 0)
		o->hold = v;
	else if (strcmp(a, "--hold-between-reads") == 0)
		o->hold_reads = v;
	else if (strcmp(a, "--key") == 0)
		o->key = v;
	else if (strcmp(a, "--key-file") == 0)
		o->key_file = v;
	else if (strcmp(a, "--key-name") == 0)
		o->key_name = v;
	else if (c != NULL && strcmp(a, "--sts") == 0)
		c->sts_text = v;
	else if (c != NULL && strcmp(a, "--tlsrpt") == 0)
		c->tlsrpt_text = v;
	else if (c != NULL && strcmp(a, "--ttl") == 0) {
		c->ttl = (uint32_t)num(v, 2147483647);
		c->ttl_set = 1;
	} else
		usage();
	return 1;
}

/* Build the key from "[alg:]name:secret" or the key file. Returns 1 if
 * a key was given, 0 if not; exits on error. */
static int
load_key(const struct opts *o, struct tsig_key *key)
{
	struct diag d;
	int rc = 0;

	diag_init(&d);
	if (o->key_file != NULL) {
		rc = keyfile_load(o->key_file, o->key_name, key, &d);
	} else if (o->key != NULL) {
		char *s = xstrdup(o->key), *c1 = strchr(s, ':'), *c2;

		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c1 == NULL)
			usage();
		*c1 = '\0';
		if (c2 != NULL)
			*c2 = '\0';
		rc = c2 ? tsig_key_init(key, c1 + 1, s, c2 + 1, &d)
		        : tsig_key_init(key, s, NULL, c1 + 1, &d);
		memset(s, 0, strlen(o->key));
		free(s);
	} else {
		return 0;
	}
	for (size_t i = 0; i < d.nwarn; i++)
		fprintf(stderr, "dns-tool: warning: %s\n", d.warn[i]);
	if (rc == -1) {
		fprintf(stderr, "dns-tool: %s\n", d.error);
		exit(1);
	}
	return 1;
}

/* Print a TXT set as "owner TXT "text"" lines. */
static void
print_txt(const char *prefix, const char *domain, const struct dns_txtset *s)
{
	for (size_t i = 0; i < s->n; i++)
		printf("%s%s TXT \"%s\"\n", prefix, domain, s->text.v[i]);
}

static void
print_target(const struct dns_target *t)
{
	printf("zone %s\nserver %s\n", t->zone, t->server);
	for (size_t i = 0; i < t->naddr; i++) {
		char ip[INET6_ADDRSTRLEN] = "?";
		unsigned port;

		if (t->addr[i].ss_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)&t->addr[i];

			inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
			port = ntohs(s->sin_port);
		} else {
			const struct sockaddr_in6 *s =
			    (const void *)&t->addr[i];

			inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
			port = ntohs(s->sin6_port);
		}
		printf("address %s port %u\n", ip, port);
	}
}

static void
print_state(const char *domain, const struct dns_state *st, int show_kept)
{
	if (st->sts_cname)
		printf("_mta-sts.%s CNAME %s\n", domain, st->sts_cname);
	print_txt("_mta-sts.", domain, &st->sts);
	if (st->tlsrpt_cname)
		printf("_smtp._tls.%s CNAME %s\n", domain, st->tlsrpt_cname);
	print_txt("_smtp._tls.", domain, &st->tlsrpt);
	for (size_t i = 0; i < st->mx.n; i++)
		printf("%s MX %s\n", domain, st->mx.v[i]);
	if (show_kept && st->sts_soa_read)
		printf("kept _mta-sts.%s SOA zone %s%s\n", domain,
		       st->sts_soa_zone ? st->sts_soa_zone : "(none)",
		       st->sts_soa_away ? " (referral)" : "");
}

/* Drop what st keeps for dns_state_zones() and print "kept bytes N",
 * the heap that freed, or "kept bytes ?" where that is not known: the
 * zone of _mta-sts.<domain> is kept while a domain waits for its
 * upstream, up to 256 of them at once, and must stay a name's worth, not
 * a parsed answer's (about 2 KiB). */
static void
print_kept_bytes(struct dns_state *st)
{
	size_t before = heap_in_use(), after;

	dns_state_drop_soa(st);
	after = heap_in_use();
	if (before == 0)
		printf("kept bytes ?\n");
	else
		printf("kept bytes %zu\n", before > after ? before - after : 0);
}

/* Put 127.0.0.2, at the port of t's first address, before t's
 * addresses (the last one left out if there is no room). */
static void
down_first(struct dns_target *t)
{
	static union dns_addr a[DNS_ADDR_MAX];
	static socklen_t len[DNS_ADDR_MAX];
	size_t n = t->naddr < DNS_ADDR_MAX ? t->naddr : DNS_ADDR_MAX - 1;

	memset(&a[0], 0, sizeof(a[0]));
	a[0].sin.sin_family = AF_INET;
	a[0].sin.sin_port = t->naddr > 0 ? t->addr[0].sin.sin_port : 0;
	inet_pton(AF_INET, "127.0.0.2", &a[0].sin.sin_addr);
	len[0] = sizeof(struct sockaddr_in);
	for (size_t i = 0; i < n; i++) {
		a[i + 1] = t->addr[i];
		len[i + 1] = t->addrlen[i];
	}
	t->addr = a;
	t->addrlen = len;
	t->naddr = n + 1;
}

/* --hold-after-read, --hold-between-reads: make the file, then wait
 * until the test removes it (what it does meanwhile is then done),
 * polling every 10 ms for at most 60 s. Returns 0, or -1 (said) if the
 * file cannot be made or is not removed. */
static int
hold(const char *file)
{
	FILE *f = fopen(file, "w");

	if (f == NULL || fclose(f) != 0) {
		fprintf(stderr, "dns-tool: %s: cannot create: %s\n", file,
		        strerror(errno));
		return -1;
	}
	for (int i = 0; i < 6000; i++) {
		if (access(file, F_OK) != 0)
			return 0;
		sleep_seconds(0.01);
	}
	fprintf(stderr, "dns-tool: %s is still there after 60 s\n", file);
	return -1;
}

/* Read the states, then update (or print the update). */
static int
run_update(struct opts *o, struct dns_target *t, struct diag *d)
{
	enum dns_update_result r;
	int needed = 0;

	for (size_t i = 0; i < o->n; i++)
		needed |= dns_change_needed(&o->c[i]);
	if (o->dry_run) {
		struct buf b;

		buf_init(&b, 1 << 20);
		dns_update_text(t, o->c, o->n, &b);
		fputs(b.data ? b.data : "", stdout);
		buf_free(&b);
		return 0;
	}
	if (o->pause)
		sleep((unsigned)o->pause);
	if (o->hold != NULL && hold(o->hold) == -1)
		return 1;
	if (o->down_first)
		down_first(t);
	r = dns_update_apply(t, o->c, o->n, d);
	if (r == DNS_UPDATE_OK)
		printf("%s\n", needed ? "updated" : "no change");
	if (r == DNS_UPDATE_UNKNOWN)
		return 4;
	return r == DNS_UPDATE_OK ? 0 : r == DNS_UPDATE_CONFLICT ? 3 : 1;
}

static int
run(struct opts *o, struct dns_target *t, struct diag *d)
{
	struct tsig_key key;
	int has_key = load_key(o, &key), rc = 1;
	size_t first = 0;

	if (strcmp(o->cmd, "find") == 0 || o->assume_empty) {
		if (dns_target_find_via(
		        o->c[0].domain, o->zone, o->server, (unsigned)o->port,
		        has_key ? &key : NULL, (unsigned)o->timeout,
		        o->resolver, t, d) == -1)
			goto out;
	} else {
		/* as sync does: the first domain's state read with the
		 * discovery */
		if (dns_target_find_read(
		        o->c[0].domain, o->zone, o->server, (unsigned)o->port,
		        has_key ? &key : NULL, (unsigned)o->timeout,
		        o->resolver, DNS_NAME_STS | DNS_NAME_TLSRPT, t,
		        &o->st[0], d) != 0)
			goto out;
		first = 1;
	}
	if (strcmp(o->cmd, "find") == 0) {
		print_target(t);
		rc = 0;
		goto out;
	}
	for (size_t i = first; i < o->n && !o->assume_empty; i++) {
		if (i > 0 && o->hold_reads != NULL && hold(o->hold_reads) == -1)
			goto out;
		if (dns_state_read(t, o->c[i].domain,
		                   DNS_NAME_STS | DNS_NAME_TLSRPT, &o->st[i],
		                   d) == -1)
			goto out;
	}
	/* as sync does, for the names an update changes */
	for (size_t i = 0; i < o->n && !o->assume_empty; i++)
		if (dns_state_wildcards(
		        t, o->c[i].domain, o->c[i].sts_text != NULL,
		        o->c[i].tlsrpt_text != NULL, &o->st[i], d) == -1)
			goto out;
	if (strcmp(o->cmd, "read") == 0) {
		for (size_t i = 0; i < o->n; i++)
			print_state(o->c[i].domain, &o->st[i], o->show_kept);
		if (o->show_kept)
			print_kept_bytes(&o->st[0]);
		rc = 0;
	} else {
		rc = run_update(o, t, d);
	}
out:
	tsig_key_wipe(&key);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct dns_target t;
	struct diag d;
	int rc;

	memset(&o, 0, sizeof(o));
	if (argc < 2)
		usage();
	o.cmd = argv[1];
	if (strcmp(o.cmd, "find") && strcmp(o.cmd, "read") &&
	    strcmp(o.cmd, "update"))
		usage();
	for (int i = 2; i < argc; i++)
		i += option(&o, argv[i], i + 1 < argc ? argv[i + 1] : NULL);
	if (o.n == 0)
		usage();
	diag_init(&d);
	rc = run(&o, &t, &d);
	for (size_t i = 0; i < d.nwarn; i++)
		fprintf(stderr, "dns-tool: warning: %s\n", d.warn[i]);
	if (rc != 0 && d.error[0])
		fprintf(stderr, "dns-tool: %s\n", d.error);
	for (size_t i = 0; i < o.n; i++)
		dns_state_free(&o.st[i]);
	return rc;
}
