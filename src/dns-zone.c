/*
 * dns-zone.c - finding a domain's zone and the primary to send its
 * UPDATE to (dns-internal.h says how the files fit).
 *
 * The zone is found by SOA queries of the system resolver (or of the
 * one given) walking up the tree from _mta-sts.<domain> (find_zone),
 * the primary from its MNAME or the configured server, resolved to
 * addresses that are kept for the whole process (keep(): one copy per
 * distinct value).
 * dns_target_find_read() sends the first state reads with the
 * discovery's first query, and a zone set in the configuration is checked
 * to be held by the primary with authority (zone_check, once per zone:
 * zone_seen).
 * A server to ask written "ADDR[#PORT]" (the resolver, check's --server)
 * is read here, by dns_server_spec_parse() alone.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dns-internal.h"

/* ------------------------------------------------ kept target parts */

/* The addresses of a primary, as dns_targets point to them. */
struct addrset {
	size_t n;
	socklen_t len[DNS_ADDR_MAX];
	union dns_addr a[DNS_ADDR_MAX];
};

/* A value kept for the whole process, in the chain of its hash bucket. */
struct kept {
	struct kept *next;
	size_t len;
	max_align_t data[]; /* len bytes */
};

/* Every value kept: server names and address lists, one copy of each
 * (a run has a few primaries, not one per domain; zone names are not
 * kept here, each target holds its own). */
static struct {
	pthread_mutex_t lock;
	struct kept **bucket;
	size_t nbucket, n;
} kept_set = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

/* Double the buckets of kept_set (locked), or make the first 256. */
static void
kept_grow(void)
{
	size_t nb = kept_set.nbucket ? 2 * kept_set.nbucket : 256;
	struct kept **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < kept_set.nbucket; i++) {
		struct kept *k = kept_set.bucket[i], *next;

		for (; k != NULL; k = next) {
			size_t h = hash_bytes(k->data, k->len) % nb;

			next = k->next;
			k->next = b[h];
			b[h] = k;
		}
	}
	free(kept_set.bucket);
	kept_set.bucket = b;
	kept_set.nbucket = nb;
}

/* The kept copy of the len bytes at data (made on first sight), aligned
 * for any type, valid until the process ends. Thread-safe. */
static const void *
keep(const void *data, size_t len)
{
	struct kept *k;
	size_t h;

	pthread_mutex_lock(&kept_set.lock);
	if (kept_set.n >= kept_set.nbucket)
		kept_grow();
	h = hash_bytes(data, len) % kept_set.nbucket;
	for (k = kept_set.bucket[h]; k != NULL; k = k->next)
		if (k->len == len && memcmp(k->data, data, len) == 0)
			break;
	if (k == NULL) {
		k = xmalloc(sizeof(*k) + len);
		k->len = len;
		memcpy(k->data, data, len);
		k->next = kept_set.bucket[h];
		kept_set.bucket[h] = k;
		kept_set.n++;
	}
	pthread_mutex_unlock(&kept_set.lock);
	return k->data;
}

/* ---------------------------------------------------------- discovery */

/* Who answers discovery queries: a resolver, or the configured primary. */
struct finder {
	ldns_resolver *res;           /* NULL: ask t */
	const struct dns_target *t;   /* the primary, when configured */
	char name[DNS_NAME_MAX + 40]; /* for messages */
	struct batch *pre; /* its first query, sent already, or NULL */
	/* with res, for its messages: the seconds a query may take in all
	 * (`timeout`), whether it is the configured `resolver` (else the
	 * system's), what it is asked for ("while ..."), and the settings
	 * that would do without asking it */
	unsigned timeout;
	int configured;
	char task[DNS_NAME_MAX + 64];
	const char *instead;
};

/* What f is asked for next, for its messages: task formatted ("while
 * ..."), and instead, the settings that would do without asking. */
static void __attribute__((format(printf, 3, 4)))
finder_task(struct finder *f, const char *instead, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vformat(f->task, sizeof(f->task), fmt, ap);
	va_end(ap);
	f->instead = instead;
}

/* The addresses of the system's resolver res; see dnsupdate.h. */
void
dns_resolver_addrs(ldns_resolver *res, struct buf *b)
{
	ldns_rdf **ns = ldns_resolver_nameservers(res);
	size_t n = ldns_resolver_nameserver_count(res);

	for (size_t i = 0; i < n && i < 3; i++) {
		char *a = ldns_rdf2str(ns[i]);

		buf_printf(b, "%s%s", i ? ", " : "", a ? a : "?");
		free(a);
	}
	buf_printf(b, "%s%sfrom /etc/resolv.conf", n > 3 ? ", ..." : "",
	           n > 0 ? ", " : "no nameserver ");
}

/* "the system resolver (ADDR, ADDR, from /etc/resolv.conf)" into f->name:
 * which addresses the resolver asks (three at most named). */
static void
system_resolver_name(struct finder *f)
{
	struct buf b;

	buf_init(&b, sizeof(f->name));
	buf_puts(&b, "the system resolver (");
	dns_resolver_addrs(f->res, &b);
	buf_puts(&b, ")");
	str_copy(f->name, sizeof(f->name), b.data);
	buf_free(&b);
}

/*
 * Give each query of res timeout seconds in all: it is sent twice (UDP
 * may lose one) to each nameserver in turn, and ldns waits the time it is
 * given for each of those tries, so each try has its share; when a
 * share would be below a second, each nameserver is tried once (and a
 * try waits half a second at least). A timeout given whole to each try
 * made a query with `timeout 5` and one nameserver take 10 s, with
 * three 30 s.
 */
static void
resolver_budget(ldns_resolver *res, unsigned timeout)
{
	size_t n = ldns_resolver_nameserver_count(res);
	unsigned long ms;
	uint8_t tries = 2;

	n = n > 0 ? n : 1;
	if (timeout < 2 * n)
		tries = 1;
	ms = (unsigned long)timeout * 1000 / (tries * n);
	ms = ms < 500 ? 500 : ms;
	ldns_resolver_set_retry(res, tries);
	ldns_resolver_set_timeout(
	    res, (struct timeval){.tv_sec = (time_t)(ms / 1000),
	                          .tv_usec = (suseconds_t)(ms % 1000 * 1000)});
}

/* --------------------------------------------- a server's address */

/* Copy the len bytes at s into addr (size INET6_ADDRSTRLEN) if they
 * are an address of family af. Returns 1 if so, else 0. */
static int
addr_take(const char *s, size_t len, int af, char *addr)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (len == 0 || len >= INET6_ADDRSTRLEN)
		return 0;
	memcpy(addr, s, len);
	addr[len] = '\0';
	return inet_pton(af, addr, bin) == 1;
}

/*
 * spec, which is no address, written as a URL writes an address and
 * port ("IPv4:PORT", "[IPv6]:PORT"), or with an IPv6 address in
 * brackets ("[IPv6]", "[IPv6]#PORT"): the reason in d says how to write
 * it (opt names the setting), and 1 is returned; else 0.
 */
static int
server_spec_hint(const char *spec, const char *opt, struct diag *d)
{
	char addr[INET6_ADDRSTRLEN];
	size_t v6 = spec[0] == '[';
	const char *end = strchr(spec, v6 ? ']' : ':'), *port;

	if (end == NULL || !addr_take(spec + v6, (size_t)(end - spec) - v6,
	                              v6 ? AF_INET6 : AF_INET, addr))
		return 0;
	port = end + v6; /* after the ']', or at the ':' */
	if (*port == ':' && port[1] != '\0' &&
	    strspn(port + 1, "0123456789") == strlen(port + 1))
		diag_error(
		    d, "%s %s: the port follows a '#', as for dig: %s %s#%s",
		    opt, spec, opt, addr, port + 1);
	else if (v6 && (*port == '\0' || *port == '#'))
		diag_error(d,
		           "%s %s: an IPv6 address is written without "
		           "brackets: %s %s%s",
		           opt, spec, opt, addr, port);
	else
		return 0;
	return 1;
}

/* Parse a server's "ADDR[#PORT]"; see dnsupdate.h. The port is read
 * first: a bad one is said as such whatever the address. */
int
dns_server_spec_parse(const char *spec, const char *opt,
                      struct dns_server_spec *s, struct diag *d)
{
	const char *hash = strchr(spec, '#');
	size_t len = hash ? (size_t)(hash - spec) : strlen(spec);
	unsigned long long port = 53;

	if (len == 0) {
		diag_error(d, "%s %s: expected ADDR[#PORT]", opt, spec);
		return -1;
	}
	if (hash != NULL &&
	    (parse_uint(hash + 1, 65535, &port) == -1 || port == 0)) {
		diag_error(d,
		           "%s %s: expected ADDR[#PORT], with a PORT from 1 "
		           "to 65535",
		           opt, spec);
		return -1;
	}
	if (!addr_take(spec, len, AF_INET, s->addr) &&
	    !addr_take(spec, len, AF_INET6, s->addr)) {
		if (!server_spec_hint(spec, opt, d))
			diag_error(d, "%s %s: not an IPv4 or IPv6 address", opt,
			           spec);
		return -1;
	}
	s->port = (unsigned)port;
	return 0;
}

/* A resolver asking the server s alone; see dnsupdate.h. */
ldns_resolver *
dns_resolver_new_at(const struct dns_server_spec *s, struct diag *d)
{
	ldns_rdf *ns = ldns_rdf_new_frm_str(
	    strchr(s->addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
	    s->addr);
	ldns_resolver *res = ns != NULL ? ldns_resolver_new() : NULL;

	/* ldns fails these only when memory runs out; the nameserver
	 * pushed is a copy */
	if (res == NULL ||
	    ldns_resolver_push_nameserver(res, ns) != LDNS_STATUS_OK) {
		diag_error(d,
		           "cannot set up a DNS resolver asking %s port %u: "
		           "out of memory",
		           s->addr, s->port);
		ldns_resolver_deep_free(res);
		res = NULL;
	} else {
		ldns_resolver_set_port(res, (uint16_t)s->port);
	}
	ldns_rdf_deep_free(ns);
	return res;
}

/* A resolver asking the server at spec; see dnsupdate.h. */
ldns_resolver *
dns_resolver_at(const char *spec, const char *opt, struct diag *d)
{
	struct dns_server_spec s;

	if (dns_server_spec_parse(spec, opt, &s, d) == -1)
		return NULL;
	return dns_resolver_new_at(&s, d);
}

/* Set up f->res to ask the server at spec ("ADDR" or "ADDR#PORT", the
 * `resolver` setting). Returns 0, or -1 with the reason in d. */
static int
resolver_at(struct finder *f, const char *spec, struct diag *d)
{
	struct dns_server_spec s;

	if (dns_server_spec_parse(spec, "resolver", &s, d) == -1 ||
	    (f->res = dns_resolver_new_at(&s, d)) == NULL)
		return -1;
	snprintf(f->name, sizeof(f->name), "resolver %s port %u", s.addr,
	         s.port);
	return 0;
}

/* Open the resolver at spec ("ADDR" or "ADDR#PORT"), or the system's
 * (spec NULL). Returns 0, or -1 with the reason in d. */
static int
resolver_open(struct finder *f, const char *spec, unsigned timeout,
              struct diag *d)
{
	if (spec == NULL) {
		if (ldns_resolver_new_frm_file(&f->res, NULL) !=
		    LDNS_STATUS_OK) {
			f->res = NULL;
			diag_error(d, "cannot read the resolver configuration "
			              "(/etc/resolv.conf): set `resolver`, or "
			              "`server` and `zone`");
			return -1;
		}
		system_resolver_name(f);
	} else if (resolver_at(f, spec, d) == -1) {
		return -1;
	}
	f->configured = spec != NULL;
	f->timeout = timeout ? timeout : 30;
	resolver_budget(f->res, f->timeout);
	ldns_resolver_set_fallback(f->res, true);
	return 0;
}

/*
 * The reason a query for name/type got no answer from the resolver of f
 * (status s, after elapsed seconds) into d: which resolver, the query,
 * how long it waited, what it was asked for, and what to do.
 */
static void
resolver_silent(const struct finder *f, const char *name, ldns_rr_type type,
                ldns_status s, double elapsed, struct diag *d)
{
	char *ty = ldns_rr_type2str(type), what[DNS_NAME_MAX + 120];

	/* ldns says "network error" for a timeout as for a failure */
	if (s == LDNS_STATUS_NETWORK_ERR && elapsed >= f->timeout / 2.0)
		snprintf(what, sizeof(what),
		         "gave no answer within %u s to the %s query for %s",
		         f->timeout, ty ? ty : "?", name);
	else
		snprintf(what, sizeof(what),
		         "could not be sent the %s query for %s (%s)",
		         ty ? ty : "?", name, ldns_get_errorstr_by_id(s));
	diag_error(d, "%s %s%s%s: %s, or set %s%s", f->name, what,
	           f->task[0] ? ", " : "", f->task,
	           f->configured ? "check that it runs and answers us"
	                         : "start a resolver there",
	           f->configured ? "another `resolver`, or "
	                         : "`resolver`, or ",
	           f->instead ? f->instead : "`server` and `zone`");
	free(ty);
}

/* Ask the finder for name/type. Returns 0 with *ans (NOERROR or
 * NXDOMAIN) to free; 1 with *ans the answer to f->pre's first query,
 * which that batch still holds (dns_target_find_read() keeps what
 * dns_state_zones() reads of it); or -1 with the reason in d. */
static int
finder_ask(struct finder *f, const char *name, ldns_rr_type type,
           ldns_pkt **ans, struct diag *d)
{
	double t0, took;
	ldns_rdf *qn;
	ldns_status s;
	int rcode;

	if (f->pre != NULL && type == f->pre->q[0].type &&
	    strcmp(name, f->pre->q[0].name) == 0) {
		struct batch *b = f->pre;

		f->pre = NULL; /* the answer is taken once */
		if (dns_batch_check(f->t, b, 0, 0, d) == -1)
			return -1;
		*ans = b->ans[0];
		return 1;
	}
	if (f->res == NULL)
		return dns_query_primary(f->t, name, type, 0, ans, d);
	qn = ldns_dname_new_frm_str(name);
	if (qn == NULL) {
		diag_error(d, "%s is not a valid domain name", name);
		return -1;
	}
	t0 = util_mono();
	s = ldns_resolver_send(ans, f->res, qn, type, LDNS_RR_CLASS_IN,
	                       LDNS_RD);
	took = util_mono() - t0;
	ldns_rdf_deep_free(qn);
	if (s != LDNS_STATUS_OK || *ans == NULL) {
		*ans = NULL;
		resolver_silent(f, name, type, s, took, d);
		return -1;
	}
	rcode = ldns_pkt_get_rcode(*ans);
	if (ldns_pkt_tc(*ans)) /* ldns asked again over TCP: cut there too */
		diag_error(d,
		           "%s sent a truncated reply for %s (TC bit set, "
		           "over TCP too): a part of its answer is not taken "
		           "for the whole",
		           f->name, name);
	else if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN)
		return 0;
	else
		dns_query_rcode_error(f->name, name, type, rcode, 1, d);
	ldns_pkt_free(*ans);
	*ans = NULL;
	return -1;
}

/* The SOA in ans that is the zone of qn: in the answer at qn, or in the
 * authority section at qn or an ancestor of qn. NULL if none, or if the
 * answer holds a CNAME at qn (a DNAME's too): a server that follows it
 * (PowerDNS does, across the zones it serves; a resolver does) puts
 * there the SOA of the zone where the chain ends, not of qn's. */
const ldns_rr *
dns_zone_soa(const ldns_pkt *ans, const ldns_rdf *qn)
{
	const ldns_rr_list *l[2] = {ldns_pkt_answer(ans),
	                            ldns_pkt_authority(ans)};

	for (size_t i = 0; i < ldns_rr_list_rr_count(l[0]); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l[0], i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    dns_rr_at(rr, qn))
			return NULL;
	}
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < ldns_rr_list_rr_count(l[s]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(l[s], i);
			const ldns_rdf *o = ldns_rr_owner(rr);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
			    ldns_rr_rd_count(rr) < 1)
				continue;
			if (ldns_dname_compare(o, qn) == 0 ||
			    (s == 1 && ldns_dname_is_subdomain(qn, o)))
				return rr;
		}
	}
	return NULL;
}

/* Where domain stands in its zone by a negative answer below it; see
 * dnsupdate.h. The SOA that dns_zone_soa() finds for name, if it is not
 * name's own, is the apex of the zone that holds name and domain both. */
int
dns_answer_apex(const ldns_pkt *ans, const char *name, const char *domain)
{
	ldns_rdf *qn = ldns_dname_new_frm_str(name),
	         *dn = ldns_dname_new_frm_str(domain);
	const ldns_rr *soa = qn != NULL ? dns_zone_soa(ans, qn) : NULL;
	int apex = -1;

	if (soa != NULL && dn != NULL) {
		const ldns_rdf *o = ldns_rr_owner(soa);

		if (ldns_dname_compare(o, dn) == 0)
			apex = 1;
		else if (ldns_dname_is_subdomain(dn, o))
			apex = 0;
	}
	ldns_rdf_deep_free(qn);
	ldns_rdf_deep_free(dn);
	return apex;
}

/* Ask for the SOA of name and, if found, copy the zone and the MNAME.
 * Returns 1 if found, 0 if not, -1 on error (in d). */
static int
ask_soa(struct finder *f, const char *name, char *zone, char *mname,
        struct diag *d)
{
	ldns_pkt *ans;
	ldns_rdf *qn;
	const ldns_rr *soa;
	char *z, *m;
	int found = 0, held = finder_ask(f, name, LDNS_RR_TYPE_SOA, &ans, d);

	if (held == -1)
		return -1;
	qn = ldns_dname_new_frm_str(name);
	soa = dns_zone_soa(ans, qn);
	if (soa != NULL) {
		z = dns_rdf_name(ldns_rr_owner(soa));
		m = dns_rdf_name(ldns_rr_rdf(soa, 0));
		found = str_copy(zone, DNS_NAME_MAX + 1, z) == 0 &&
		        str_copy(mname, DNS_NAME_MAX + 1, m) == 0;
		free(z);
		free(m);
	}
	ldns_rdf_deep_free(qn);
	if (!held)
		ldns_pkt_free(ans);
	return found;
}

/* Find the zone of _mta-sts.<domain> by SOA queries walking up the
 * tree. Returns 0, or -1 with the reason in d. */
static int
find_zone(struct finder *f, const char *domain, char *zone, char *mname,
          struct diag *d)
{
	char name[DNS_NAME_MAX + 16];
	const char *p = name;

	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	finder_task(f, "`server` and `zone` for this domain",
	            "while finding the zone of %s", name);
	while (p != NULL && *p != '\0') {
		int r = ask_soa(f, p, zone, mname, d);

		if (r != 0)
			return r == 1 ? 0 : -1;
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
	diag_error(d,
	           "no zone found for _mta-sts.%s: no SOA record up the "
	           "tree (asked %s); set `zone`",
	           domain, f->name);
	return -1;
}

/* Add an address with port to the list as. */
static void
target_add(struct addrset *as, const struct sockaddr *sa, socklen_t len,
           unsigned port)
{
	union dns_addr *a;

	if (as->n >= DNS_ADDR_MAX || len > sizeof(*a))
		return;
	a = &as->a[as->n];
	memset(a, 0, sizeof(*a));
	memcpy(a, sa, len);
	if (a->ss_family == AF_INET)
		a->sin.sin_port = htons((uint16_t)port);
	else
		a->sin6.sin6_port = htons((uint16_t)port);
	as->len[as->n++] = len;
}

/* Resolve the configured server (address or host name) with the system
 * resolver into as. Returns 0, or -1 with the reason in d. */
static int
resolve_server(struct addrset *as, const char *server, unsigned port,
               struct diag *d)
{
	struct addrinfo hints, *res = NULL, *ai;
	int e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	e = getaddrinfo(server, NULL, &hints, &res);
	if (e != 0) {
		diag_error(d, "cannot resolve server %s: %s", server,
		           gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			target_add(as, ai->ai_addr, ai->ai_addrlen, port);
	freeaddrinfo(res);
	if (as->n == 0) {
		diag_error(d, "server %s has no IPv4 or IPv6 address", server);
		return -1;
	}
	return 0;
}

/* Add the address a (an A or AAAA rdf), with port, to as. */
static void
addr_add_rdf(struct addrset *as, const ldns_rdf *a, unsigned port)
{
	size_t len = 0;
	struct sockaddr_storage *sa =
	    ldns_rdf2native_sockaddr_storage(a, (uint16_t)port, &len);

	if (sa != NULL) {
		target_add(as, (struct sockaddr *)sa, (socklen_t)len, port);
		free(sa);
	}
}

/* Add the addresses of type (A or AAAA) in the answer section of ans,
 * with port, to as. */
static void
addrs_from_answer(const ldns_pkt *ans, ldns_rr_type type, unsigned port,
                  struct addrset *as)
{
	ldns_rr_list *l =
	    ldns_pkt_rr_list_by_type(ans, type, LDNS_SECTION_ANSWER);

	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);

		/* an empty RDATA parses as a record without fields */
		if (ldns_rr_rd_count(rr) == 1 &&
		    ldns_rdf_size(ldns_rr_rdf(rr, 0)) ==
		        (type == LDNS_RR_TYPE_A ? 4u : 16u))
			addr_add_rdf(as, ldns_rr_rdf(rr, 0), port);
	}
	ldns_rr_list_deep_free(l);
}

/* Add the addresses of type (A or AAAA) of host, asked of f, to as. */
static int
resolve_mname_type(struct finder *f, const char *host, ldns_rr_type type,
                   unsigned port, struct addrset *as, struct diag *d)
{
	ldns_pkt *ans;
	int held = finder_ask(f, host, type, &ans, d);

	if (held == -1)
		return -1;
	addrs_from_answer(ans, type, port, as);
	if (!held)
		ldns_pkt_free(ans);
	return 0;
}

/* Add the IPv4 and IPv6 addresses of host, asked of f, with port, to
 * as. Returns 0 (as may hold none), or -1 with the reason in d. */
static int
resolve_host(struct finder *f, const char *host, unsigned port,
             struct addrset *as, struct diag *d)
{
	if (resolve_mname_type(f, host, LDNS_RR_TYPE_A, port, as, d) == -1 ||
	    resolve_mname_type(f, host, LDNS_RR_TYPE_AAAA, port, as, d) == -1)
		return -1;
	return 0;
}

/* Find the addresses of the primary of zone from its SOA MNAME into as.
 * Returns 0, or -1 with the reason in d. */
static int
resolve_mname(struct finder *f, const char *zone, const char *mname,
              unsigned port, struct addrset *as, struct diag *d)
{
	finder_task(f, "`server`",
	            "while finding the address of %s, the primary of zone %s "
	            "(its SOA MNAME)",
	            mname, zone);
	if (resolve_host(f, mname, port, as, d) == -1)
		return -1;
	if (as->n == 0) {
		diag_error(d,
		           "the primary of zone %s, %s (SOA MNAME), has no "
		           "address (asked %s); set `server`",
		           zone, mname, f->name);
		return -1;
	}
	return 0;
}

/* Point t at the kept copies of the primary's name and addresses. */
static void
target_set_primary(struct dns_target *t, const char *server,
                   const struct addrset *as)
{
	const struct addrset *k = keep(as, sizeof(*as));

	t->server = keep(server, strlen(server) + 1);
	t->addr = k->a;
	t->addrlen = k->len;
	t->naddr = k->n;
}

/* Is s an IPv4 or IPv6 address (not a host name)? */
static int
is_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

/* Resolve the configured server's host name by asking the configured
 * resolver (at spec) for its A and AAAA records, into as. Returns 0, or
 * -1 with the reason in d. */
static int
resolve_server_via(struct addrset *as, const char *server, unsigned port,
                   const char *spec, unsigned timeout, struct diag *d)
{
	struct finder r = {.res = NULL, .t = NULL, .pre = NULL};
	int rc = -1;

	if (resolver_open(&r, spec, timeout, d) == -1)
		return -1;
	finder_task(&r, "`server` to its address",
	            "while finding the address of `server` %s", server);
	if (resolve_host(&r, server, port, as, d) == 0) {
		rc = as->n > 0 ? 0 : -1;
		if (rc == -1)
			diag_error(d,
			           "server %s has no IPv4 or IPv6 address "
			           "(asked %s)",
			           server, r.name);
	}
	ldns_resolver_deep_free(r.res);
	return rc;
}

/* Make the configured server t's primary, the one f asks, and send it
 * the batch pre (if not NULL) at once. A host name is resolved by the
 * configured resolver (spec), or else by the system's. Returns 0, or -1
 * with the reason in d. */
static int
target_configured(struct dns_target *t, const char *server, unsigned port,
                  const char *spec, struct finder *f, struct batch *pre,
                  struct diag *d)
{
	char name[DNS_NAME_MAX + 1];
	struct addrset as;
	int rc;

	memset(&as, 0, sizeof(as));
	if (dns_name_copy(name, server) == -1) {
		diag_error(d, "server \"%s\" is not a valid name", server);
		return -1;
	}
	if (spec != NULL && !is_address(server))
		rc = resolve_server_via(&as, server, port, spec, t->timeout, d);
	else
		rc = resolve_server(&as, server, port, d);
	if (rc == -1)
		return -1;
	target_set_primary(t, name, &as);
	snprintf(f->name, sizeof(f->name), "server %s port %u", name, port);
	if (pre != NULL) {
		dns_batch_send(t, pre);
		f->pre = pre;
	}
	return 0;
}

/*
 * Find the SOA MNAME of the configured zone t->zone, asking f, into
 * mname. The UPDATE goes to that zone, so its SOA must be at its name:
 * an SOA above it (the zone the name is in, or the parent's of a zone
 * that this resolver does not see) names another zone, whose primary is
 * not where `zone` says the records are. Returns 0, or -1 with the
 * reason in d.
 */
static int
configured_zone_mname(struct dns_target *t, struct finder *f, char *mname,
                      struct diag *d)
{
	char zone[DNS_NAME_MAX + 1];

	finder_task(f, "`server`", "while finding the primary of zone %s",
	            t->zone);
	if (ask_soa(f, t->zone, zone, mname, d) != 1) {
		diag_error(d, "no SOA record for zone %s (asked %s)", t->zone,
		           f->name);
		return -1;
	}
	if (ascii_casecmp(zone, t->zone) == 0)
		return 0;
	diag_error(d,
	           "zone %s: %s has no SOA record at that name, only zone "
	           "%s's above it, so %s is no zone there and its primary "
	           "is not known; fix `zone` (or leave it out to have it "
	           "found), or, if zone %s is one that this resolver does "
	           "not see, set `server` to its primary",
	           t->zone, f->name, zone, t->zone, t->zone);
	return -1;
}

/* Make the SOA MNAME of t's zone, as found by f (asking for the SOA of
 * the configured zone if the discovery did not), t's primary. Returns 0,
 * or -1 with the reason in d. */
static int
target_mname(struct dns_target *t, struct finder *f, char *mname, unsigned port,
             struct diag *d)
{
	struct addrset as;

	memset(&as, 0, sizeof(as));
	if (mname[0] == '\0' && configured_zone_mname(t, f, mname, d) == -1)
		return -1;
	t->server = keep(mname, strlen(mname) + 1);
	if (resolve_mname(f, t->zone, mname, port, &as, d) == -1)
		return -1;
	target_set_primary(t, mname, &as);
	return 0;
}

/*
 * Find where records under domain are updated (see dnsupdate.h); with a
 * configured server, the batch pre (if not NULL), whose first query is
 * the first SOA query of the discovery, is sent as soon as the server's
 * addresses are known, and the discovery takes that answer from it.
 */
static int
target_find(const char *domain, const char *zone, const char *server,
            unsigned port, const struct tsig_key *key, unsigned timeout,
            const char *resolver, struct dns_target *t, struct batch *pre,
            struct diag *d)
{
	struct finder f = {.res = NULL, .t = t, .pre = NULL};
	char name[DNS_NAME_MAX + 1] = "", mname[DNS_NAME_MAX + 1] = "";
	int rc = -1;

	memset(t, 0, sizeof(*t));
	t->server = "";
	t->key = key;
	t->timeout = timeout ? timeout : 30;
	port = port ? port : 53;
	if (server != NULL &&
	    target_configured(t, server, port, resolver, &f, pre, d) == -1)
		return -1;
	if (zone != NULL && dns_name_copy(name, zone) == -1) {
		diag_error(d, "zone \"%s\" is not a valid domain name", zone);
		return -1;
	}
	if (server == NULL && resolver_open(&f, resolver, t->timeout, d) == -1)
		return -1;
	if (zone == NULL && find_zone(&f, domain, name, mname, d) == -1)
		goto out;
	str_copy(t->zone, sizeof(t->zone), name);
	if (server == NULL && target_mname(t, &f, mname, port, d) == -1)
		goto out;
	t->zone_set = zone != NULL;
	rc = 0;
out:
	if (f.res != NULL)
		ldns_resolver_deep_free(f.res);
	return rc;
}

/* Find where records under domain are updated; see dnsupdate.h. */
int
dns_target_find_via(const char *domain, const char *zone, const char *server,
                    unsigned port, const struct tsig_key *key, unsigned timeout,
                    const char *resolver, struct dns_target *t, struct diag *d)
{
	return target_find(domain, zone, server, port, key, timeout, resolver,
	                   t, NULL, d);
}

/*
 * The configured zones found at their configured primary this run: the
 * hash of each (zone, primary, key) that zone_check() passed, in the
 * slot it picks, so that the domains of a zone ask for its SOA once, not
 * each. A slot holds one: with more zones than slots some are asked
 * again, which costs a question in a batch that is sent anyway, and no
 * memory grows with the zones.
 */
#define ZONE_SEEN_SLOTS 256
static struct {
	pthread_mutex_t lock;
	uint64_t h[ZONE_SEEN_SLOTS];
} zone_seen = {PTHREAD_MUTEX_INITIALIZER, {0}};

/* The zone_seen hash of t's zone, primary (its kept addresses, one copy
 * per distinct list) and key; never 0. */
static uint64_t
zone_seen_hash(const struct dns_target *t)
{
	const char *key = t->key != NULL ? t->key->name : "";
	uint64_t h = hash64_bytes(t->zone, strlen(t->zone) + 1);

	h = h * 0x9E3779B97F4A7C15u ^ hash64_bytes(key, strlen(key));
	h = h * 0x9E3779B97F4A7C15u ^ hash64_bytes(&t->addr, sizeof(t->addr));
	return h | 1;
}

/* Was t's zone found at t's primary already (add: note that it was)? */
static int
zone_seen_at(const struct dns_target *t, int add)
{
	uint64_t h = zone_seen_hash(t);
	int seen;

	pthread_mutex_lock(&zone_seen.lock);
	seen = zone_seen.h[h % ZONE_SEEN_SLOTS] == h;
	if (add)
		zone_seen.h[h % ZONE_SEEN_SLOTS] = h;
	pthread_mutex_unlock(&zone_seen.lock);
	return seen;
}

/*
 * Check the answer to query i of b, the SOA of t's zone, which was set in
 * the configuration: the primary must hold it there, with authority, or
 * the UPDATE would be refused only after the policy was published. The
 * zone it holds the name in, if its answer tells, is named. Returns 0,
 * or -1 with the reason in d.
 */
static int
zone_check(const struct dns_target *t, const struct batch *b, size_t i,
           struct diag *d)
{
	const ldns_pkt *ans;
	const ldns_rr *soa;
	ldns_rdf *qn;
	char *above = NULL;

	if (dns_batch_check(t, b, i, 0, d) == -1)
		return -1;
	ans = b->ans[i];
	if (!ldns_pkt_aa(ans)) {
		diag_error(d,
		           "zone %s: %s answers for it without authority (AA "
		           "bit clear): it is not a primary of that zone; fix "
		           "`server`, or `zone`",
		           t->zone, b->where);
		return -1;
	}
	if (dns_holds_soa(ans, t->zone)) {
		zone_seen_at(t, 1);
		return 0;
	}
	qn = ldns_dname_new_frm_str(t->zone);
	soa = qn != NULL ? dns_zone_soa(ans, qn) : NULL;
	if (soa != NULL)
		above = dns_rdf_name(ldns_rr_owner(soa));
	diag_error(d,
	           "zone %s: %s has no SOA record at that name, so it is no "
	           "zone there%s%s%s; fix `zone`, or leave it out to have it "
	           "found",
	           t->zone, b->where, above ? " (the name is in its zone " : "",
	           above ? above : "", above ? ")" : "");
	free(above);
	ldns_rdf_deep_free(qn);
	return -1;
}

/*
 * The rcode with which the SOA query i of b was refused, REFUSED or
 * NOTAUTH, signed or unsigned but without a TSIG error (Knot refuses a
 * zone it does not serve unsigned); or -1 for any other answer.
 */
static int
soa_refusal(const struct batch *b, size_t i)
{
	int rcode = -1;

	if (i < b->k)
		rcode = ldns_pkt_get_rcode(b->ans[i]);
	else if (i == b->k && b->fail.tsig_err == 0)
		rcode = b->fail.rcode;
	if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH)
		return rcode;
	return -1;
}

/*
 * Was the SOA query i of b, for t's configured zone, refused while t
 * answers for domain's _mta-sts name? Then t serves no such zone (an
 * ancestor of the domain, as conf.c checks, such as "com", or the parent
 * of the zone it holds): say so in d, blaming `zone`, and return 1; else
 * return 0 and leave d alone.
 */
static int
zone_refused(const struct dns_target *t, const struct batch *b, size_t i,
             const char *domain, struct diag *d)
{
	char name[DNS_NAME_MAX + 16], *rc;
	int rcode = soa_refusal(b, i);
	ldns_pkt *ans;

	if (rcode < 0)
		return 0;
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	if (dns_query_primary(t, name, LDNS_RR_TYPE_TXT, 1, &ans, NULL) == -1)
		return 0;
	ldns_pkt_free(ans);
	rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);
	diag_error(d,
	           "zone %s: %s refuses the SOA query for it (%s), while it "
	           "answers for %s: it serves no zone %s; fix `zone`, or "
	           "leave it out to have it found",
	           t->zone, b->where, rc ? rc : "?", name, t->zone);
	free(rc);
	return 1;
}

/*
 * Keep in st what dns_state_zones() reads of the answer to query 0 of b,
 * sent to the primary t, when it is the SOA of _mta-sts.<domain>: the
 * question that dns_state_zones() asks of the same primary under the same
 * key for a domain that changes, which then takes this instead
 * (dns_target_find_read() says where). Not the answer: the batch frees it.
 */
static void
keep_sts_soa(const struct dns_target *t, const struct batch *b,
             const char *domain, struct dns_state *st)
{
	char name[DNS_NAME_MAX + 16];

	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	if (b->k == 0 || b->q[0].type != LDNS_RR_TYPE_SOA ||
	    ascii_casecmp(b->q[0].name, name) != 0)
		return;
	dns_state_keep_soa(t, b, 0, st);
}

/* Read the state of domain from t, whose zone was configured, and check
 * that zone (zone_check()) with the same batch unless it was found there
 * already. Returns 0; -1 if the zone is not there; -2 if the state could
 * not be read. The reason is in d. */
static int
state_read_zone(const struct dns_target *t, const char *domain, unsigned names,
                struct dns_state *st, struct diag *d)
{
	struct batch b;
	size_t first = 0;
	int rc = 0;

	b.n = 0;
	if (!zone_seen_at(t, 0)) {
		dns_batch_add(&b, t->zone, LDNS_RR_TYPE_SOA);
		first = 1;
	}
	dns_state_batch(&b, domain, 1);
	dns_batch_send(t, &b);
	if (first == 1 && zone_refused(t, &b, 0, domain, d))
		rc = -1;
	else if (first == 1 && zone_check(t, &b, 0, d) == -1)
		rc = -1;
	else if (dns_state_take(t, &b, first, domain, 0, names, st, d) == -1)
		rc = -2;
	if (rc == 0 && first == 1) /* a zone _mta-sts.<domain> of its own */
		keep_sts_soa(t, &b, domain, st);
	dns_batch_free(&b);
	return rc;
}

/*
 * Find the target and read the state; see dnsupdate.h. With a server
 * configured and no zone, the state queries cannot depend on the zone
 * the discovery finds (they go to that server whatever it is), so they
 * go out with the discovery's first SOA query. Their answers are checked
 * only once the target is found, in the same order as the queries asked
 * one by one, so the results and messages are the same. With a server
 * and a zone configured, the zone's SOA goes out with them instead.
 *
 * The answer to that first SOA query, at _mta-sts.<domain>, is the one
 * dns_state_zones() would ask of the same primary under the same key
 * for a domain that changes, so st keeps what it reads there
 * (keep_sts_soa()) and that question is asked once; so is the answer
 * to the SOA of a configured zone that is _mta-sts.<domain> itself.
 * Only those: with no server, the discovery's SOA queries go to a
 * resolver, whose answer (unsigned, recursion desired, maybe from a
 * cache or another view) is no substitute for the primary's own
 * authoritative one, which dns_state_zones() then asks; a configured
 * zone above the name is another question.
 */
int
dns_target_find_read(const char *domain, const char *zone, const char *server,
                     unsigned port, const struct tsig_key *key,
                     unsigned timeout, const char *resolver, unsigned names,
                     struct dns_target *t, struct dns_state *st, struct diag *d)
{
	char name[DNS_NAME_MAX + 16];
	struct batch b;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (server == NULL || zone != NULL) {
		if (dns_target_find_via(domain, zone, server, port, key,
		                        timeout, resolver, t, d) == -1)
			return -1;
		if (server != NULL)
			return state_read_zone(t, domain, names, st, d);
		return dns_state_read(t, domain, names, st, d) == -1 ? -2 : 0;
	}
	b.n = b.k = 0;
	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	dns_batch_add(&b, name, LDNS_RR_TYPE_SOA);
	dns_state_batch(&b, domain, 1);
	if (target_find(domain, zone, server, port, key, timeout, resolver, t,
	                &b, d) == -1)
		rc = -1;
	else if (dns_state_take(t, &b, 1, domain, 0, names, st, d) == -1)
		rc = -2;
	if (rc == 0) /* the discovery's first answer, checked there */
		keep_sts_soa(t, &b, domain, st);
	dns_batch_free(&b);
	return rc;
}

/* Set up t (zeroed by the caller, so that it is also on the caller's
 * own failures), a resolver as a target (dns_target_resolver()), asking
 * the addresses as (named name in a message); a timeout of 0 is 30 s.
 * Returns 0, or -1 with the reason in d: as holds none. */
static int
target_of_addrs(const struct addrset *as, const char *name, unsigned timeout,
                struct dns_target *t, struct diag *d)
{
	t->server = "";
	t->timeout = timeout ? timeout : 30;
	t->recurse = 1;
	if (as->n == 0) {
		diag_error(d, "%s has no usable nameserver address", name);
		return -1;
	}
	target_set_primary(t, "", as);
	return 0;
}

/* target_of_addrs() of the nameservers of res, which is freed. */
static int
target_of_resolver(ldns_resolver *res, const char *name, unsigned timeout,
                   struct dns_target *t, struct diag *d)
{
	ldns_rdf **ns = ldns_resolver_nameservers(res);
	struct addrset as;
	int rc;

	memset(&as, 0, sizeof(as));
	for (size_t i = 0; i < ldns_resolver_nameserver_count(res); i++)
		addr_add_rdf(&as, ns[i], ldns_resolver_port(res));
	rc = target_of_addrs(&as, name, timeout, t, d);
	ldns_resolver_deep_free(res);
	return rc;
}

/* A resolver as a target; see dnsupdate.h. The nameservers (and port)
 * are those the finder's resolver would ask. */
int
dns_target_resolver(const char *spec, unsigned timeout, struct dns_target *t,
                    struct diag *d)
{
	struct finder f = {.res = NULL, .t = NULL, .pre = NULL};

	memset(t, 0, sizeof(*t));
	/* resolver_open() takes 0 for 30 s too */
	if (resolver_open(&f, spec, timeout, d) == -1)
		return -1;
	return target_of_resolver(f.res, f.name, timeout, t, d);
}

/* The server s as a resolver target; see dnsupdate.h. */
int
dns_target_resolver_at(const struct dns_server_spec *s, unsigned timeout,
                       struct dns_target *t, struct diag *d)
{
	ldns_resolver *res = dns_resolver_new_at(s, d);

	memset(t, 0, sizeof(*t));
	if (res == NULL)
		return -1;
	return target_of_resolver(res, s->addr, timeout, t, d);
}

/* The server at addr, port port as a resolver target; see
 * dnsupdate.h. */
int
dns_target_resolver_addr(const ldns_rdf *addr, unsigned port, unsigned timeout,
                         struct dns_target *t, struct diag *d)
{
	struct addrset as;

	memset(t, 0, sizeof(*t));
	memset(&as, 0, sizeof(as));
	addr_add_rdf(&as, addr, port);
	return target_of_addrs(&as, "the server that answered", timeout, t, d);
}

/* dns_target_find_via() with the system resolver; see dnsupdate.h. */
int
dns_target_find(const char *domain, const char *zone, const char *server,
                unsigned port, const struct tsig_key *key, unsigned timeout,
                struct dns_target *t, struct diag *d)
{
	return dns_target_find_via(domain, zone, server, port, key, timeout,
	                           NULL, t, d);
}
