/*
 * dnsupdate-test - the UPDATE plan without a server: which records
 * change, what is deleted and added, and the nsupdate-like dry-run text
 * (prerequisites, quoting, long texts split into character-strings,
 * CNAME refusal), that a target holds its own zone name, how a
 * refusal names what a domain gets from a wildcard, what a negative
 * answer's SOA tells check of a domain's place in its zone, and how a
 * server written ADDR[#PORT] is read (check's --server, the resolver).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns-internal.h"
#include "dnsupdate.h"
#include "heap.h"
#include "tap.h"

/* Add a TXT record holding text (one character-string) to s. */
static void
set_add(struct dns_txtset *s, const char *text)
{
	size_t len = strlen(text);

	strlist_add(&s->text, text);
	s->rdata = xreallocarray(s->rdata, s->n + 1, sizeof(*s->rdata));
	s->rdlen = xreallocarray(s->rdlen, s->n + 1, sizeof(*s->rdlen));
	s->rdata[s->n] = xmalloc(len + 1);
	s->rdata[s->n][0] = (unsigned char)len;
	memcpy(s->rdata[s->n] + 1, text, len);
	s->rdlen[s->n++] = len + 1;
}

static union dns_addr target_addr;
static socklen_t target_addrlen = sizeof(struct sockaddr_in);

static void
target_init(struct dns_target *t)
{
	memset(t, 0, sizeof(*t));
	str_copy(t->zone, sizeof(t->zone), "example.com");
	t->server = "ns1.example.com";
	target_addr.sin.sin_family = AF_INET;
	target_addr.sin.sin_port = htons(5353);
	t->addr = &target_addr;
	t->addrlen = &target_addrlen;
	t->naddr = 1;
}

/* The dry-run text of one change. */
static char *
plan_text(const struct dns_change *c, int *rc)
{
	struct dns_target t;
	struct buf b;

	target_init(&t);
	buf_init(&b, 1 << 16);
	buf_puts(&b, "");
	*rc = dns_update_text(&t, c, 1, &b);
	return buf_steal(&b);
}

static void
test_duplicates(void)
{
	struct dns_state st;
	struct dns_change c = {.domain = "example.com",
	                       .sts_text = "v=STSv1; id=new",
	                       .ttl = 600,
	                       .state = &st};
	char *text;
	int rc;

	memset(&st, 0, sizeof(st));
	set_add(&st.sts, "v=STSv1; id=old");
	set_add(&st.sts, "v=STSv1; id=new");
	set_add(&st.sts, "v=STSv1x; id=notours");
	set_add(&st.sts, "other");
	ok(dns_change_needed(&c), "two STS records: a change is needed");
	text = plan_text(&c, &rc);
	is_str(text,
	       "server ns1.example.com 5353\n"
	       "zone example.com\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"v=STSv1; id=old\"\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"v=STSv1; id=new\"\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"v=STSv1x; "
	       "id=notours\"\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"other\"\n"
	       "prereq nxrrset _mta-sts.example.com CNAME\n"
	       "update delete _mta-sts.example.com TXT \"v=STSv1; id=old\"\n"
	       "send\n",
	       "only the other STS record deleted; prerequisites on all, and "
	       "no CNAME");
	free(text);
	dns_state_free(&st);
	ok(st.sts.n == 0 && st.sts.rdata == NULL, "state freed and cleared");
}

/* Near misses ("v=STSv1 ; id=x", "v=STSv1"): records that some senders
 * count and the RFC discards. sync takes them for its own kind and
 * replaces them with the one clean record. */
static void
test_near_misses(void)
{
	struct dns_state st;
	struct dns_change c = {.domain = "example.com",
	                       .sts_text = "v=STSv1; id=new",
	                       .tlsrpt_text = "v=TLSRPTv1; rua=mailto:x@y",
	                       .ttl = 600,
	                       .state = &st};
	char *text;
	int rc;

	memset(&st, 0, sizeof(st));
	set_add(&st.sts, "v=STSv1; id=new");
	set_add(&st.sts, "v=STSv1 ; id=old");
	set_add(&st.sts, "v=STSv1");
	set_add(&st.tlsrpt, "v=TLSRPTv1 rua=mailto:x@y");
	st.sts.ttl = st.tlsrpt.ttl = 600;
	ok(dns_change_needed(&c), "near misses beside the record: a change");
	text = plan_text(&c, &rc);
	is_str(text,
	       "server ns1.example.com 5353\n"
	       "zone example.com\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"v=STSv1; id=new\"\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"v=STSv1 ; id=old\"\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"v=STSv1\"\n"
	       "prereq nxrrset _mta-sts.example.com CNAME\n"
	       "prereq yxrrset _smtp._tls.example.com TXT \"v=TLSRPTv1 "
	       "rua=mailto:x@y\"\n"
	       "prereq nxrrset _smtp._tls.example.com CNAME\n"
	       "update delete _mta-sts.example.com TXT \"v=STSv1 ; id=old\"\n"
	       "update delete _mta-sts.example.com TXT \"v=STSv1\"\n"
	       "update delete _smtp._tls.example.com TXT \"v=TLSRPTv1 "
	       "rua=mailto:x@y\"\n"
	       "update add _smtp._tls.example.com 600 TXT \"v=TLSRPTv1; "
	       "rua=mailto:x@y\"\n"
	       "send\n",
	       "near misses deleted, the clean records kept or added");
	free(text);
	dns_state_free(&st);
}

static void
test_current(void)
{
	struct dns_state st;
	struct dns_change c = {.domain = "example.com",
	                       .sts_text = "v=STSv1; id=a",
	                       .tlsrpt_text = "v=TLSRPTv1; rua=mailto:x@y",
	                       .ttl = 600,
	                       .state = &st};
	char *text;
	int rc;

	memset(&st, 0, sizeof(st));
	set_add(&st.sts, "v=STSv1; id=a");
	set_add(&st.sts, "unrelated");
	set_add(&st.tlsrpt, "v=TLSRPTv1; rua=mailto:x@y");
	ok(!dns_change_needed(&c), "records current: no change needed");
	text = plan_text(&c, &rc);
	ok(rc == 0 && text[0] == '\0', "records current: no UPDATE text");
	free(text);
	c.tlsrpt_text = NULL;
	c.sts_text = NULL;
	ok(!dns_change_needed(&c), "NULL texts: nothing to change");
	dns_state_free(&st);
}

/* The TTL: kept when none is configured, a new record taking the
 * RRset's; enforced when one is (the record deleted and added again). */
static void
test_ttl(void)
{
	struct dns_state st;
	struct dns_change c = {.domain = "example.com",
	                       .sts_text = "v=STSv1; id=a",
	                       .ttl = 600,
	                       .state = &st};
	char *text;
	int rc;

	memset(&st, 0, sizeof(st));
	set_add(&st.sts, "v=STSv1; id=a");
	set_add(&st.sts, "other");
	st.sts.ttl = 300;
	ok(!dns_change_needed(&c), "ttl not set: another TTL is no change");
	c.sts_text = "v=STSv1; id=b";
	text = plan_text(&c, &rc);
	like(text,
	     "update delete _mta-sts.example.com TXT \"v=STSv1; id=a\"\n"
	     "update add _mta-sts.example.com 300 TXT \"v=STSv1; id=b\"\n",
	     "ttl not set: a new record takes the RRset's TTL");
	free(text);
	c.sts_text = "v=STSv1; id=a";
	c.ttl_set = 1;
	ok(dns_change_needed(&c), "ttl set: another TTL is a change");
	text = plan_text(&c, &rc);
	is_str(text,
	       "server ns1.example.com 5353\n"
	       "zone example.com\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"v=STSv1; id=a\"\n"
	       "prereq yxrrset _mta-sts.example.com TXT \"other\"\n"
	       "prereq nxrrset _mta-sts.example.com CNAME\n"
	       "update delete _mta-sts.example.com TXT \"v=STSv1; id=a\"\n"
	       "update add _mta-sts.example.com 600 TXT \"v=STSv1; id=a\"\n"
	       "send\n",
	       "ttl set: the record deleted and added again with it");
	free(text);
	st.sts.ttl = 600;
	ok(!dns_change_needed(&c), "ttl set: the same TTL is no change");
	dns_state_free(&st);
	/* an empty RRset (none, or a wildcard's taken as none) */
	c.ttl_set = 0;
	text = plan_text(&c, &rc);
	is_str(text,
	       "server ns1.example.com 5353\n"
	       "zone example.com\n"
	       "prereq nxrrset _mta-sts.example.com TXT\n"
	       "prereq nxrrset _mta-sts.example.com CNAME\n"
	       "update add _mta-sts.example.com 600 TXT \"v=STSv1; id=a\"\n"
	       "send\n",
	       "no RRset: nxrrset, and the configured TTL");
	free(text);
}

static void
test_long_and_quoted(void)
{
	struct dns_state st;
	char longtext[301], want[1024];
	struct dns_change c = {.domain = "example.org",
	                       .tlsrpt_text = longtext,
	                       .sts_text = "v=STSv1; id=\"q\\",
	                       .ttl = 60,
	                       .state = &st};
	char *text;
	int rc;

	memset(&st, 0, sizeof(st));
	memcpy(longtext, "v=TLSRPTv1; rua=mailto:", 23);
	memset(longtext + 23, 'a', sizeof(longtext) - 24);
	longtext[300] = '\0';
	text = plan_text(&c, &rc);
	like(text, "prereq nxrrset _mta-sts.example.org TXT\n",
	     "empty RRset: RRset-does-not-exist prerequisite");
	like(text,
	     "update add _mta-sts.example.org 60 TXT \"v=STSv1; "
	     "id=\\\"q\\\\\"\n",
	     "quotes and backslashes escaped");
	snprintf(want, sizeof(want),
	         "update add _smtp._tls.example.org 60 TXT \"%.255s\" "
	         "\"%s\"\n",
	         longtext, longtext + 255);
	like(text, want, "a long text split into 255-byte strings");
	ok(strstr(text, "prereq") < strstr(text, "update"),
	   "prerequisites before updates");
	free(text);
}

static void
test_cname(void)
{
	struct dns_state st;
	struct dns_change c = {.domain = "example.net",
	                       .sts_text = "v=STSv1; id=a",
	                       .ttl = 60,
	                       .state = &st};
	char *text;
	int rc;

	memset(&st, 0, sizeof(st));
	st.sts_cname = xstrdup("_mta-sts.provider.example");
	ok(dns_change_needed(&c), "CNAME: a change would be needed");
	text = plan_text(&c, &rc);
	ok(rc == -1, "CNAME: refused");
	like(text,
	     "; not sent: _mta-sts.example.net is a CNAME to "
	     "_mta-sts.provider.example (RFC 8461 section 8.2 delegation): "
	     "leaving it alone",
	     "CNAME: reason given");
	ok(strstr(text, "update add") == NULL, "CNAME: no TXT added beside it");
	free(text);
	dns_state_free(&st);

	/* a wildcard's CNAME, as dns_state_wildcards() leaves it */
	memset(&st, 0, sizeof(st));
	st.sts_wildcard = 1;
	st.sts_wildcard_cname = xstrdup("example.net");
	st.tlsrpt_wildcard = 1;
	c.tlsrpt_text = "v=TLSRPTv1; rua=mailto:r@example.net";
	text = plan_text(&c, &rc);
	ok(rc == 0, "wildcard CNAME: not refused");
	is_str(text,
	       "server ns1.example.com 5353\n"
	       "zone example.com\n"
	       "; _mta-sts.example.net: its CNAME to example.net comes from a "
	       "wildcard (the name does not exist), not a delegation, so the "
	       "update creates the name\n"
	       "; _smtp._tls.example.net: its TXT records come from a wildcard "
	       "(the name does not exist), so the update creates the name\n"
	       "prereq nxrrset _mta-sts.example.net TXT\n"
	       "prereq nxrrset _mta-sts.example.net CNAME\n"
	       "prereq nxrrset _smtp._tls.example.net TXT\n"
	       "prereq nxrrset _smtp._tls.example.net CNAME\n"
	       "update add _mta-sts.example.net 60 TXT \"v=STSv1; id=a\"\n"
	       "update add _smtp._tls.example.net 60 TXT \"v=TLSRPTv1; "
	       "rua=mailto:r@example.net\"\n"
	       "send\n",
	       "wildcard CNAME: the name taken as empty, and said");
	free(text);
	dns_state_free(&st);
}

/* Is each of the n domains' records in one block of text (both its
 * names between the same two "send" lines)? */
static int
domains_whole(const char *text, size_t n)
{
	char name[64];

	for (size_t i = 0; i < n; i++) {
		const char *a, *b;

		snprintf(name, sizeof(name),
		         "prereq nxrrset _mta-sts.d%03zu.example.com TXT", i);
		a = strstr(text, name);
		snprintf(name, sizeof(name),
		         "update add _smtp._tls.d%03zu.example.com ", i);
		b = strstr(text, name);
		/* the first "send" after the one must come after the other */
		if (a == NULL || b == NULL || b < a || strstr(a, "send\n") < b)
			return 0;
	}
	return 1;
}

/* Count the occurrences of what in text. */
static size_t
count_of(const char *text, const char *what)
{
	size_t count = 0;

	for (const char *p = text; (p = strstr(p, what)) != NULL; p++)
		count++;
	return count;
}

/* 400 domains published at once do not fit in one UPDATE: the dry run
 * shows a few, each holding whole domains; a change refused for its
 * CNAME goes alone, and the others are still shown; changes of two Knot
 * acl parts go in two UPDATEs. */
static void
test_split(void)
{
	enum { N = 400 };
	static struct dns_change c[N];
	static struct dns_state st[N];
	static char names[N][32];
	struct dns_target t;
	struct tsig_key key = {.name = "update-key.example.com",
	                       .alg = TSIG_HMAC_SHA512};
	struct buf b;
	size_t sends;
	int rc;

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "d%03zu.example.com", i);
		memset(&st[i], 0, sizeof(st[i]));
		c[i] = (struct dns_change){
		    .domain = names[i],
		    .sts_text = "v=STSv1; id=0123456789abcdef0123456789abcdef",
		    .tlsrpt_text = "v=TLSRPTv1; rua=mailto:tls@reports.example",
		    .ttl = 3600,
		    .state = &st[i]};
	}
	target_init(&t);
	t.key = &key;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "");
	rc = dns_update_text(&t, c, N, &b);
	sends = count_of(b.data, "send\n");
	ok(rc == 0 && sends >= 2 && sends <= 4,
	   "400 domains: a few UPDATEs (%zu), not one", sends);
	ok(count_of(b.data, "zone example.com\n") == sends,
	   "400 domains: each UPDATE names the zone");
	ok(domains_whole(b.data, N),
	   "400 domains: each domain's records in one UPDATE");
	buf_reset(&b);
	buf_puts(&b, "");
	st[1].sts_cname = xstrdup("_mta-sts.provider.example");
	rc = dns_update_text(&t, c, 3, &b);
	ok(rc == -1 && count_of(b.data, "send\n") == 2 &&
	       count_of(b.data, "; not sent: _mta-sts.d001.example.com is a "
	                        "CNAME") == 1 &&
	       strstr(b.data, "_mta-sts.d000.example.com") != NULL &&
	       strstr(b.data, "_mta-sts.d002.example.com") != NULL,
	   "a change beside a CNAME goes alone, refused; the others are "
	   "sent");
	dns_state_free(&st[1]);
	buf_reset(&b);
	buf_puts(&b, "");
	c[2].acl_part = c[3].acl_part = 1; /* a Knot acl part ends at d001 */
	rc = dns_update_text(&t, c, 4, &b);
	ok(rc == 0 && count_of(b.data, "send\n") == 2 &&
	       strstr(b.data, "_mta-sts.d001.example.com TXT") <
	           strstr(b.data, "send\n") &&
	       strstr(b.data, "_mta-sts.d002.example.com TXT") >
	           strstr(b.data, "send\n"),
	   "an UPDATE ends where the Knot acl part changes");
	buf_free(&b);
}

/* Find the target of a domain of zone with the server configured as an
 * address, which needs no network. Returns 0 or -1. */
static int
target_local(const char *domain, const char *zone, struct dns_target *t)
{
	struct diag d;

	diag_init(&d);
	if (dns_target_find(domain, zone, "127.0.0.1", 5353, NULL, 5, t, &d) ==
	    -1) {
		printf("# %s\n", d.error);
		return -1;
	}
	return 0;
}

/* A target holds its zone name itself: a copy keeps its zone when the
 * original is reused for another one; the primary is kept once. */
static void
test_target_copy(void)
{
	struct dns_target t, copy;

	ok(target_local("a.example.com", "Example.COM.", &t) == 0,
	   "target with zone and server configured");
	is_str(t.zone, "example.com", "zone in lower case, no trailing dot");
	copy = t;
	ok(target_local("b.example.net", "example.net", &t) == 0,
	   "the same target reused for another zone");
	is_str(copy.zone, "example.com", "a copy keeps its own zone");
	is_str(t.zone, "example.net", "the reused one holds the new zone");
	ok(copy.server == t.server && copy.addr == t.addr,
	   "one primary: its name and addresses are kept once");
}

/* Targets found for many distinct zones leave no memory behind once
 * they are gone: a run over 10000 zones must not keep 10000 names. */
static void
test_zones_not_kept(void)
{
	struct dns_target t;
	char domain[80], zone[64];
	size_t before, after;
	int i, bad = 0;

	target_local("warm.example", "warm.example", &t);
	before = heap_in_use();
	for (i = 0; i < 2000; i++) {
		snprintf(zone, sizeof(zone), "z%05d.example", i);
		snprintf(domain, sizeof(domain), "d.%s", zone);
		bad += target_local(domain, zone, &t) != 0;
		bad += strcmp(t.zone, zone) != 0;
	}
	after = heap_in_use();
	ok(bad == 0, "2000 targets in distinct zones");
	if (before == 0)
		ok(1, "no memory kept per zone # SKIP no heap statistics here "
		      "(sanitizer or not glibc)");
	else
		ok(after < before + 4096,
		   "no memory kept per zone (heap in use %zu -> %zu bytes)",
		   before, after);
}

/* How a refusal names what a domain gets from a wildcard: the records,
 * their number (the verb and pronoun), their types, and whether its mail
 * stops, in the sentence that sync and check both say. */
static void
test_wild_sentence(void)
{
	static const struct {
		unsigned lost;
		const char *what, *types;
		int plural, mail;
	} t[] = {
	    {DNS_WILD_MX, "its MX", "MX", 0, 1},
	    {DNS_WILD_SPF, "its SPF TXT record", "TXT", 0, 0},
	    {DNS_WILD_TXT, "its TXT records", "TXT", 1, 0},
	    {DNS_WILD_SPF | DNS_WILD_TXT, "its SPF and other TXT records",
	     "TXT", 1, 0},
	    {DNS_WILD_A, "its address", "A", 0, 2},
	    {DNS_WILD_A | DNS_WILD_AAAA, "its address", "A, AAAA", 0, 2},
	    {DNS_WILD_MX | DNS_WILD_SPF | DNS_WILD_AAAA,
	     "its MX, its SPF TXT record and its address", "MX, TXT, AAAA", 1,
	     1},
	    {DNS_WILD_NULL_MX | DNS_WILD_SPF | DNS_WILD_A,
	     "its null MX, its SPF TXT record and its address", "MX, TXT, A", 1,
	     0},
	};
	static const char *const mail[] = {
	    "", ", and mail to it would stop",
	    (", and mail to it, which goes to that address for want of an MX "
	     "(RFC 5321 section 5.1), would stop")};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char want[1024];
		struct buf got;

		snprintf(want, sizeof(want),
		         "sub.example.com has no records of its own: %s %s "
		         "from the wildcard *.example.com (a name below it and "
		         "one beside it get the same), which no longer answers "
		         "it once _mta-sts.sub.example.com exists, so %s would "
		         "go%s; give it records of its own (%s)",
		         t[i].what, t[i].plural ? "come" : "comes",
		         t[i].plural ? "they" : "it", mail[t[i].mail],
		         t[i].types);
		buf_init(&got, 1024);
		buf_puts(&got, "");
		dns_wild_sentence(&got, "sub.example.com", t[i].lost,
		                  "the wildcard *.example.com",
		                  "_mta-sts.sub.example.com");
		ok(strcmp(got.data, want) == 0, "lost %#x: \"%s\"", t[i].lost,
		   got.data);
		buf_free(&got);
	}
}

/* What one record gives a domain, and the bits of each type. */
static void
test_wild_record(void)
{
	ok(dns_wild_record(15, ".") == DNS_WILD_NULL_MX &&
	       dns_wild_record(15, "mx1.example.com") == DNS_WILD_MX &&
	       dns_wild_record(16, "v=spf1 -all") == DNS_WILD_SPF &&
	       dns_wild_record(16, "google-site-verification=x") ==
	           DNS_WILD_TXT &&
	       dns_wild_record(1, "") == DNS_WILD_A &&
	       dns_wild_record(28, "") == DNS_WILD_AAAA &&
	       dns_wild_record(5, "") == 0,
	   "records: null MX, MX, SPF, other TXT, A, AAAA; a CNAME gives "
	   "nothing");
	ok(dns_wild_type(15) == (DNS_WILD_MX | DNS_WILD_NULL_MX) &&
	       dns_wild_type(16) == (DNS_WILD_SPF | DNS_WILD_TXT) &&
	       dns_wild_type(1) == DNS_WILD_A &&
	       dns_wild_type(28) == DNS_WILD_AAAA && dns_wild_type(5) == 0,
	   "types: the bits each may give");
}

/*
 * The verdict of a wildcard test, from what the domain has and which
 * types differ at a name below it or beside it. An MX or TXT record
 * alike at all three names is refused whatever the addresses say: a
 * wildcard whose address changes from one answer to the next (PowerDNS
 * LUA pickrandom, ALIAS, a geographic backend) gave the three different
 * ones, and the domain was published, losing the wildcard's MX. Without
 * one, the addresses must be alike.
 */
static void
test_wild_verdict(void)
{
	const unsigned mx = dns_wild_type(15), txt = dns_wild_type(16),
	               a = DNS_WILD_A, aaaa = DNS_WILD_AAAA;
	static const struct {
		const char *what;
		unsigned have, differ, refused;
	} t[] = {
	    {"MX, SPF and A alike", DNS_WILD_MX | DNS_WILD_SPF | DNS_WILD_A, 0,
	     1},
	    {"MX alike, A differs (a random address)", DNS_WILD_MX | DNS_WILD_A,
	     DNS_WILD_A, 1},
	    {"MX alike, A and AAAA differ",
	     DNS_WILD_MX | DNS_WILD_A | DNS_WILD_AAAA,
	     DNS_WILD_A | DNS_WILD_AAAA, 1},
	    {"SPF alike, no MX, A differs", DNS_WILD_SPF | DNS_WILD_A,
	     DNS_WILD_A, 1},
	    {"other TXT alike, no MX, A differs", DNS_WILD_TXT | DNS_WILD_A,
	     DNS_WILD_A, 1},
	    {"null MX alike, AAAA differs", DNS_WILD_NULL_MX | DNS_WILD_AAAA,
	     DNS_WILD_AAAA, 1},
	    {"only A, alike", DNS_WILD_A, 0, 1},
	    {"only A, differs", DNS_WILD_A, DNS_WILD_A, 0},
	    {"no MX or TXT, AAAA differs", DNS_WILD_A | DNS_WILD_AAAA,
	     DNS_WILD_AAAA, 0},
	    {"MX differs", DNS_WILD_MX | DNS_WILD_A, DNS_WILD_MX, 0},
	    {"MX alike, TXT differs", DNS_WILD_MX, DNS_WILD_SPF, 0},
	    {"only a null MX, alike", DNS_WILD_NULL_MX, 0, 0},
	    {"nothing at all, alike", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* differ as callers give it: every bit of each type */
		unsigned differ = (t[i].differ & mx ? mx : 0) |
		                  (t[i].differ & txt ? txt : 0) |
		                  (t[i].differ & a) | (t[i].differ & aaaa);
		unsigned v = dns_wild_verdict(t[i].have, differ);

		ok(t[i].refused ? v == t[i].have : v == 0, "%s: %s (%#x)",
		   t[i].what, t[i].refused ? "refused" : "not refused", v);
	}
}

/* An answer whose authority section holds the SOA of zone (none when
 * zone is NULL), as a negative answer carries it. */
static ldns_pkt *
negative_answer(const char *zone)
{
	char soa[256];
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_rr *rr = NULL;

	snprintf(soa, sizeof(soa), "%s 300 IN SOA ns.%s host.%s 1 2 3 4 5",
	         zone ? zone : "", zone ? zone : "", zone ? zone : "");
	if (zone != NULL &&
	    ldns_rr_new_frm_str(&rr, soa, 0, NULL, NULL) == LDNS_STATUS_OK)
		ldns_pkt_push_rr(pkt, LDNS_SECTION_AUTHORITY, rr);
	return pkt;
}

/* Where a domain stands in its zone, by the SOA of a negative answer at
 * its _mta-sts name: its own (the apex: check asks nothing more), a
 * name's above it (not the apex: its SOA is not asked), or none that
 * tells (asked). */
static void
test_answer_apex(void)
{
	static const struct {
		const char *zone, *domain;
		int apex;
	} t[] = {
	    {"example.com.", "example.com", 1},
	    {"Example.COM.", "example.com", 1},
	    {"example.com.", "sub.example.com", 0},
	    {"example.com.", "a.b.example.com", 0},
	    {"_mta-sts.sub.example.com.", "sub.example.com", -1},
	    {"example.net.", "sub.example.com", -1},
	    {"sub.example.com.", "example.com", -1},
	    {NULL, "sub.example.com", -1},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char name[128];
		ldns_pkt *pkt = negative_answer(t[i].zone);

		snprintf(name, sizeof(name), "_mta-sts.%s", t[i].domain);
		ok(dns_answer_apex(pkt, name, t[i].domain) == t[i].apex,
		   "SOA %s, domain %s: %d", t[i].zone ? t[i].zone : "(none)",
		   t[i].domain, t[i].apex);
		ldns_pkt_free(pkt);
	}
}

/* A DNS server written "ADDR[#PORT]" (check's --server, the engine's
 * resolver): read by one parser, whose messages say what to write. */
static void
test_server_spec(void)
{
	static const struct {
		const char *spec, *addr; /* addr NULL: refused, msg says */
		unsigned port;
		const char *msg;
	} t[] = {
	    {"192.0.2.53", "192.0.2.53", 53, NULL},
	    {"192.0.2.53#5353", "192.0.2.53", 5353, NULL},
	    {"2001:db8::53#65535", "2001:db8::53", 65535, NULL},
	    {"::1#1", "::1", 1, NULL},
	    {"::1:5353", "::1:5353", 53, NULL}, /* an IPv6 address */
	    {"192.0.2.53#0", NULL, 0,
	     "-s 192.0.2.53#0: expected ADDR[#PORT], with a PORT from 1 to "
	     "65535"},
	    {"192.0.2.53#65536", NULL, 0,
	     "-s 192.0.2.53#65536: expected ADDR[#PORT], with a PORT from 1 "
	     "to 65535"},
	    {"192.0.2.53#", NULL, 0,
	     "-s 192.0.2.53#: expected ADDR[#PORT], with a PORT from 1 to "
	     "65535"},
	    {"192.0.2.53#53#54", NULL, 0,
	     "-s 192.0.2.53#53#54: expected ADDR[#PORT], with a PORT from 1 "
	     "to 65535"},
	    {"#53", NULL, 0, "-s #53: expected ADDR[#PORT]"},
	    {"", NULL, 0, "-s : expected ADDR[#PORT]"},
	    {"ns.example.com#53", NULL, 0,
	     "-s ns.example.com#53: not an IPv4 or IPv6 address"},
	    {"192.0.2.530", NULL, 0,
	     "-s 192.0.2.530: not an IPv4 or IPv6 address"},
	    {"0000:0000:0000:0000:0000:ffff:255.255.255.2559", NULL, 0,
	     "-s 0000:0000:0000:0000:0000:ffff:255.255.255.2559: not an IPv4 "
	     "or IPv6 address"},
	    {"192.0.2.53:5353", NULL, 0,
	     "-s 192.0.2.53:5353: the port follows a '#', as for dig: -s "
	     "192.0.2.53#5353"},
	    {"[::1]:5353", NULL, 0,
	     "-s [::1]:5353: the port follows a '#', as for dig: -s "
	     "::1#5353"},
	    {"[::1]#5353", NULL, 0,
	     "-s [::1]#5353: an IPv6 address is written without brackets: "
	     "-s ::1#5353"},
	    {"[::1]", NULL, 0,
	     "-s [::1]: an IPv6 address is written without brackets: -s "
	     "::1"},
	    {"192.0.2.53:x", NULL, 0,
	     "-s 192.0.2.53:x: not an IPv4 or IPv6 address"},
	    {"[192.0.2.53]", NULL, 0,
	     "-s [192.0.2.53]: not an IPv4 or IPv6 address"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dns_server_spec s;
		struct diag d;
		int rc;

		diag_init(&d);
		memset(&s, 0, sizeof(s));
		rc = dns_server_spec_parse(t[i].spec, "-s", &s, &d);
		if (t[i].addr != NULL)
			ok(rc == 0 && strcmp(s.addr, t[i].addr) == 0 &&
			       s.port == t[i].port,
			   "server \"%s\": %s port %u (%d %s port %u)",
			   t[i].spec, t[i].addr, t[i].port, rc, s.addr, s.port);
		else
			is_str(rc == -1 ? d.error : "(taken)", t[i].msg,
			       "server \"%s\": refused, saying so", t[i].spec);
	}
}

/* The engine's resolver is read by that parser: port 0 was taken, and
 * an ldns resolver is set up at the address and port given. */
static void
test_resolver_spec(void)
{
	struct dns_target t;
	ldns_resolver *res;
	struct diag d;
	char *a;

	diag_init(&d);
	ok(dns_target_resolver("127.0.0.1#0", 5, &t, &d) == -1,
	   "resolver with port 0: refused");
	is_str(d.error,
	       "resolver 127.0.0.1#0: expected ADDR[#PORT], with a PORT from "
	       "1 to 65535",
	       "resolver with port 0: the message says why");
	diag_init(&d);
	ok(dns_target_resolver("::1#5353", 5, &t, &d) == 0 && t.naddr == 1 &&
	       t.addr[0].ss_family == AF_INET6 &&
	       ntohs(t.addr[0].sin6.sin6_port) == 5353 && t.recurse,
	   "resolver ::1#5353: one IPv6 address, port 5353, recursion");
	diag_init(&d);
	res = dns_resolver_at("192.0.2.53#5353", "-s", &d);
	ok(res != NULL && ldns_resolver_nameserver_count(res) == 1 &&
	       ldns_resolver_port(res) == 5353,
	   "dns_resolver_at: one nameserver, port 5353");
	a = res ? ldns_rdf2str(ldns_resolver_nameservers(res)[0]) : NULL;
	is_str(a, "192.0.2.53", "dns_resolver_at: the address given");
	free(a);
	ldns_resolver_deep_free(res);
	diag_init(&d);
	ok(dns_resolver_at("192.0.2.53:53", "-s", &d) == NULL &&
	       strstr(d.error, "as for dig: -s 192.0.2.53#53") != NULL,
	   "dns_resolver_at: a spec refused, with the parser's reason");
}

/* A resolver target at an address as ldns gives it (check's server
 * that answered truncated): the address and port taken as data, of
 * either family; an rdf that is no address, refused with the reason. */
static void
test_resolver_addr(void)
{
	ldns_rdf *v6 = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, "::1");
	ldns_rdf *v4 = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "192.0.2.53");
	ldns_rdf *name = ldns_dname_new_frm_str("ns.example.");
	struct dns_target t;
	struct diag d;

	diag_init(&d);
	ok(dns_target_resolver_addr(v6, 5353, 5, &t, &d) == 0 && t.naddr == 1 &&
	       t.addr[0].ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&t.addr[0].sin6.sin6_addr) &&
	       ntohs(t.addr[0].sin6.sin6_port) == 5353 && t.recurse &&
	       t.timeout == 5,
	   "resolver at ::1 port 5353: one IPv6 address, its port, recursion");
	diag_init(&d);
	ok(dns_target_resolver_addr(v4, 53, 5, &t, &d) == 0 && t.naddr == 1 &&
	       t.addr[0].ss_family == AF_INET &&
	       ntohl(t.addr[0].sin.sin_addr.s_addr) == 0xc0000235u &&
	       ntohs(t.addr[0].sin.sin_port) == 53,
	   "resolver at 192.0.2.53 port 53: one IPv4 address, its port");
	diag_init(&d);
	ok(dns_target_resolver_addr(name, 53, 5, &t, &d) == -1 && t.naddr == 0,
	   "resolver at an rdf that is no address: refused");
	is_str(d.error,
	       "the server that answered has no usable nameserver address",
	       "resolver at an rdf that is no address: the message says why");
	ldns_rdf_deep_free(v6);
	ldns_rdf_deep_free(v4);
	ldns_rdf_deep_free(name);
}

/* Each rcode of a query's answer is said with its cause and what to do:
 * a primary's SERVFAIL is a zone it cannot serve, a resolver's one it
 * could not resolve. */
static void
test_query_rcodes(void)
{
	static const struct {
		int rcode, resolver;
		const char *want, *what;
	} t[] = {
	    {LDNS_RCODE_SERVFAIL, 0,
	     ("server 192.0.2.1 port 53 answered SERVFAIL to the query for "
	      "_mta-sts.example.net SOA: it has the zone but cannot serve "
	      "it (a zone that failed to load, or a signing or journal "
	      "error); see its log, and check the zone (named-checkzone, "
	      "knotc zone-check)"),
	     "query rcode: a primary's SERVFAIL, with its causes"},
	    {LDNS_RCODE_SERVFAIL, 1,
	     "SOA: it found no answer (the name's servers not",
	     "query rcode: a resolver's SERVFAIL, another cause"},
	    {LDNS_RCODE_NOTIMPL, 0,
	     ("NOTIMPL to the query for _mta-sts.example.net SOA: it does "
	      "not take this query: is it a name server, and its DNS port?"),
	     "query rcode: NOTIMP, a cause"},
	    {LDNS_RCODE_FORMERR, 0,
	     "FORMERR to the query for _mta-sts.example.net SOA: it could "
	     "not read the query",
	     "query rcode: FORMERR, a cause"},
	    {LDNS_RCODE_YXDOMAIN, 0,
	     "YXDOMAIN to the query for _mta-sts.example.net SOA: see its log",
	     "query rcode: another, the log to see"},
	};
	struct diag d;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		diag_init(&d);
		dns_query_rcode_error("server 192.0.2.1 port 53",
		                      "_mta-sts.example.net", LDNS_RR_TYPE_SOA,
		                      t[i].rcode, t[i].resolver, &d);
		like(d.error, t[i].want, "%s", t[i].what);
	}
}

int
main(void)
{
	test_duplicates();
	test_near_misses();
	test_current();
	test_ttl();
	test_long_and_quoted();
	test_cname();
	test_split();
	test_target_copy();
	test_zones_not_kept();
	test_wild_sentence();
	test_wild_record();
	test_wild_verdict();
	test_answer_apex();
	test_server_spec();
	test_resolver_spec();
	test_resolver_addr();
	test_query_rcodes();
	return done_testing();
}
