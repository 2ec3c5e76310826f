/*
 * dnsupdate.h - talking to the primary nameserver with ldns: finding the
 * zone and the primary, reading the records as the primary holds them,
 * and changing them with TSIG-signed RFC 2136 UPDATEs whose
 * prerequisites are the RRsets as read (compare-and-swap): one per zone,
 * or several when its changes do not fit in one message. For check, the
 * same wildcard test asked of a resolver, and a question asked again over
 * TCP.
 *
 * Structures returned by these functions are freed by the matching
 * *_free(); *_free(NULL) is safe.
 */
#ifndef MTA_STS_SYNC_DNSUPDATE_H
#define MTA_STS_SYNC_DNSUPDATE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tsig.h"
#include "util.h"

#define DNS_NAME_MAX 255

/* An address of a primary with its port set: ss_family says which
 * member holds it (AF_INET: sin, AF_INET6: sin6). */
union dns_addr {
	sa_family_t ss_family;
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

#define DNS_ADDR_MAX 8 /* addresses tried per primary */
/* CNAME links followed in an MX answer: a longer chain is not followed */
#define DNS_CNAME_CHAIN_MAX 8

/* Why the MX of a domain that is a CNAME were not read
 * (dns_state.mx_unread_why) */
enum dns_mx_unread {
	DNS_MX_AWAY = 1, /* the chain leaves the primary's zones (it does not
	                    serve its end) */
	DNS_MX_NXDOMAIN, /* its end does not exist */
	DNS_MX_LOOP,     /* a name of the chain comes back */
	DNS_MX_LONG      /* over DNS_CNAME_CHAIN_MAX links */
};

/*
 * Where a zone is updated: the zone apex and its primary's addresses.
 * A run holds one per domain in flight. The zone name is held in the
 * struct itself, so its memory lives as long as the target and a run
 * over many zones keeps none of them once their domains are done. The
 * server name and the address list point to read-only copies that
 * dns-zone.c keeps for the whole process, one per distinct value (a
 * run has a few primaries, not one per domain). A target may be copied
 * by value. After dns_target_find*(), zone and server are strings
 * (empty while unknown), even when it failed.
 */
struct dns_target {
	char zone[DNS_NAME_MAX + 1]; /* no trailing dot, lower case */
	const char *server;          /* as configured or the SOA MNAME */
	const union dns_addr *addr;  /* primary's addresses, port set */
	const socklen_t *addrlen;    /* their lengths */
	size_t naddr;                /* at most DNS_ADDR_MAX */
	const struct tsig_key *key;  /* not owned; NULL: unsigned */
	unsigned timeout;            /* seconds per exchange */
	/* a resolver, not the primary (dns_target_resolver()): queries ask
	 * for recursion (RD set) */
	int recurse;
	/* zone is the configured one, not one found by SOA queries: what
	 * is wrong with it is the configuration's */
	int zone_set;
};

/*
 * Find where records under domain are updated. zone: configured zone or
 * NULL to find it by SOA queries for _mta-sts.<domain> up the tree.
 * server: configured address or host name, or NULL for the SOA MNAME
 * (its A and AAAA). Queries go to the system resolver except once server
 * is known. Returns 0, or -1 with the reason in d.
 */
int dns_target_find(const char *domain, const char *zone, const char *server,
                    unsigned port, const struct tsig_key *key, unsigned timeout,
                    struct dns_target *t, struct diag *d);

/*
 * The same, but the discovery queries (the SOA walk when no server is
 * configured, and the A / AAAA of the SOA MNAME) go to resolver, "ADDR"
 * or "ADDR#PORT" (IPv4 or IPv6), instead of the system resolver
 * (resolv.conf); resolver NULL: the system resolver. For a site whose
 * resolv.conf does not see the internal view, and for the tests.
 */
int dns_target_find_via(const char *domain, const char *zone,
                        const char *server, unsigned port,
                        const struct tsig_key *key, unsigned timeout,
                        const char *resolver, struct dns_target *t,
                        struct diag *d);

/* Close the calling thread's kept TCP connection to a primary, if any
 * (the engine keeps one per thread open between exchanges; those of
 * threads that end are closed then), and free its TSIG contexts
 * (tsig_thread_cleanup()). */
void dns_close_connections(void);

/* A TXT RRset: each record's text (character-strings joined) and its
 * RDATA exactly as read, for prerequisites. */
struct dns_txtset {
	struct strlist text;
	unsigned char **rdata;
	size_t *rdlen;
	size_t n;
	uint32_t ttl;
};

/* How many records of s are of the kind of prefix ("v=STSv1" or
 * "v=TLSRPTv1", as record_is_version() tells). */
size_t dns_txtset_count(const struct dns_txtset *s, const char *prefix);

/* What the primary holds for one domain. */
struct dns_state {
	char *sts_cname;          /* _mta-sts.<domain> is a CNAME to this */
	struct dns_txtset sts;    /* TXT at _mta-sts.<domain> (all records) */
	struct dns_txtset tlsrpt; /* TXT at _smtp._tls.<domain> */
	/* MX targets of <domain>, no trailing dot; when <domain> is a
	 * CNAME, those of the end of its chain (mx_owner), as senders take
	 * them (RFC 5321 section 5.1) */
	struct strlist mx;
	char *tlsrpt_cname; /* _smtp._tls.<domain> is a CNAME to this */
	/* <domain> itself is a CNAME to this (its own or a wildcard's), as
	 * the MX query tells (NULL in a state read without it) */
	char *domain_cname;
	/* set by dns_state_wildcards(): what was read at that name was a
	 * wildcard's (the name does not exist), and is left out */
	int sts_wildcard;
	int tlsrpt_wildcard;
	/* with the flag above: it was a CNAME (no delegation) to this;
	 * sts_cname or tlsrpt_cname is then NULL */
	char *sts_wildcard_cname;
	char *tlsrpt_wildcard_cname;
	/* set by dns_state_read(): when its reads went out (util_mono();
	 * 0: not read), to tell a cache's count down of a TTL from an edit
	 * just before an UPDATE */
	double read_at;
	/* set by dns_state_read(): <domain>'s MX was asked (a state read
	 * again after a conflict has none: it was needed to plan only) */
	int mx_read;
	/* with mx_read: the end of <domain>'s CNAME chain in the MX answer
	 * (NULL: <domain> is no CNAME); mx_unread: the name at which the
	 * answer leaves the chain, when it holds neither that name's MX
	 * records nor the proof that it has none, or the name a loop comes
	 * back to; mx_unread_why says which (DNS_MX_*): then mx tells
	 * nothing, and the MX is not judged. mx_chain: with DNS_MX_LOOP,
	 * the chain from <domain> to the name seen again ("a -> b -> a") */
	char *mx_owner;
	char *mx_unread;
	int mx_unread_why;
	char *mx_chain;
	/* set by dns_state_zones(): the zone that holds _mta-sts.<domain>
	 * (_smtp._tls.<domain>) as the primary's answer to its SOA query
	 * tells, NULL when it does not: either name may be a zone of its
	 * own, or be delegated to one, and an UPDATE of another zone cannot
	 * change it (NOTZONE, or a record BIND adds below a zone cut where
	 * no one sees it); dns_state_read() sets that of a name its TXT
	 * query found delegated */
	char *sts_zone;
	char *tlsrpt_zone;
	/* which of those names (DNS_NAME_STS, DNS_NAME_TLSRPT) the primary
	 * does not serve: the zone being updated delegates them to a zone on
	 * other nameservers (a referral), whose name *_zone holds; nothing
	 * was read there (set by any read, and by dns_state_zones()) */
	unsigned away;
	/* set by dns_state_read(): _mta-sts.<domain> or _smtp._tls.<domain>
	 * was answered NXDOMAIN without a CNAME, so no wildcard answers
	 * <domain> (it would answer those names too) */
	int below_nxdomain;
	/* set by dns_target_find_read() with `server` and no `zone` (or
	 * `zone` _mta-sts.<domain>): what dns_state_zones() takes, instead
	 * of asking again, from the primary's answer (TSIG-verified with the
	 * key, as every reply of the target is) to the SOA query at
	 * _mta-sts.<domain> that began the zone discovery (or checked the
	 * zone): sts_soa_read says there was one; sts_soa_zone is the zone
	 * it names (NULL when it does not tell) and sts_soa_away says that
	 * it was a referral, as dns_state_zones() would have read them. Not
	 * the answer itself: parsed, it takes about 2 KiB, held while the
	 * domain waits for its upstream. Freed by dns_state_drop_soa() or
	 * dns_state_free(). Never from a resolver's answer */
	char *sts_soa_zone;
	int sts_soa_read;
	int sts_soa_away;
	/* set by dns_state_wildcards(): what <domain> has only through a
	 * wildcard (DNS_WILD_*; the name does not exist), which creating a
	 * name below it would hide; 0 when it has nothing to lose that way */
	unsigned domain_wildcard;
};

/* What a domain that exists only through a wildcard gets from it
 * (dns_state.domain_wildcard). */
#define DNS_WILD_MX 1u      /* MX records other than a null MX */
#define DNS_WILD_NULL_MX 2u /* a null MX (RFC 7505) */
#define DNS_WILD_SPF 4u     /* an SPF TXT record (v=spf1) */
#define DNS_WILD_TXT 8u     /* TXT records other than SPF */
#define DNS_WILD_A 16u      /* A records */
#define DNS_WILD_AAAA 32u   /* AAAA records */

/* The DNS_WILD_* bit of one record a domain holds, which it loses if a
 * wildcard gave it: an MX (type 15) whose exchange is data ("." for a
 * null MX, RFC 7505), a TXT record (16) whose text is data, an A (1) or
 * AAAA (28) record (data unused, "" say); 0 for another type. */
unsigned dns_wild_record(uint16_t type, const char *data);
/* Every DNS_WILD_* bit that records of type (as above) may give. */
unsigned dns_wild_type(uint16_t type);
/* The verdict of a wildcard test of a domain (dns_state_wildcards(), and
 * check): what it gets only from a wildcard (DNS_WILD_*), or 0, from what
 * its MX, TXT, A and AAAA records give it (have, DNS_WILD_*) and the types
 * whose RRsets differ from those of a random name below it or of one
 * beside it (differ, the dns_wild_type() bits of each). 0 when the MX or
 * TXT differ, or only the addresses do and the MX and TXT hold no record
 * (wild_domain_lost() in dns-state.c says why), or when it has no more to
 * lose than a null MX. */
unsigned dns_wild_verdict(unsigned have, unsigned differ);

/* Append to out what is said of domain, which gets lost (DNS_WILD_*) only
 * from wildcard ("a wildcard", "the wildcard *.example.com") and loses
 * once created exists (what would be published below it:
 * "_mta-sts.DOMAIN"): "DOMAIN has no records of its own: its MX and its
 * address come from WILDCARD (...), which no longer answers it once
 * CREATED exists, so they would go, and mail to it would stop; give it
 * records of its own (MX, A)", which the caller ends with when. */
void dns_wild_sentence(struct buf *out, const char *domain, unsigned lost,
                       const char *wildcard, const char *created);

/* Read the state of domain from the primary (over TCP, RD clear, signed
 * with t->key when set; the three queries, the TXT of its two names and
 * its MX, pipelined on one connection). A name that the primary's zone
 * delegates to a zone it does not serve (a referral to a zone below
 * t->zone) is read as empty, flagged in st->away, and its zone put in
 * st->sts_zone or st->tlsrpt_zone. names: the names the caller manages
 * (DNS_NAME_*): without DNS_NAME_TLSRPT, an answer at _smtp._tls.<domain>
 * of another rcode than NOERROR or NXDOMAIN (SERVFAIL from a zone there
 * that does not load, say) is read as empty instead of failing. Returns
 * 0, or -1 with the reason in d (server, port and rcode named; when
 * t->zone is below domain and t refuses domain's MX query or answers it
 * without authority, the reason ends saying that a _mta-sts record on
 * another primary than its domain's is not supported).
 * A null MX is listed as ".". dns_state_free() frees what st holds, not
 * st itself. */
int dns_state_read(const struct dns_target *t, const char *domain,
                   unsigned names, struct dns_state *st, struct diag *d);
void dns_state_free(struct dns_state *st);

/* Ask the primary t for the SOA of domain's two names, _mta-sts.<domain>
 * and _smtp._tls.<domain> (both pipelined on one connection; the latter
 * only if names, the names the caller manages, has DNS_NAME_TLSRPT: an
 * answer there could fail a domain that leaves that record alone), and take
 * the zone of each into st (st->sts_zone, st->tlsrpt_zone; a referral
 * to other nameservers flagged in st->away), which the caller compares
 * with t->zone: either name may be a zone of its own. A sync run asks it
 * only for a domain that changes, before anything is written for it.
 * What st keeps of t's answer to the SOA at _mta-sts.<domain> asked with
 * the first reads (st->sts_soa_read) is taken, not asked again (so that
 * half is as old as those reads): with no _smtp._tls name to ask,
 * nothing is sent. st must be the state read with
 * t for domain. Returns 0, or -1 with the reason in d (server, port and
 * rcode named). */
int dns_state_zones(const struct dns_target *t, const char *domain,
                    unsigned names, struct dns_state *st, struct diag *d);
/* Free what st keeps for dns_state_zones() (st->sts_soa_zone), when
 * the caller will not ask it: it is not held while st waits. */
void dns_state_drop_soa(struct dns_state *st);

/* Put into out (size at least DNS_NAME_MAX + 16) a name just below name
 * that surely does not exist, which a wildcard answers alike only if name
 * does not exist either: a random label, named for us in query logs,
 * before it. Returns 0, or -1 if it would be longer than a name may be. */
int dns_probe_name(const char *name, char *out, size_t size);

/*
 * Tell whether what st holds at _mta-sts.<domain> (with sts) and
 * _smtp._tls.<domain> (with tlsrpt) was synthesized from a wildcard (RFC
 * 4592) because the name does not exist: a prerequisite on TXT records
 * there would fail, since RFC 2136 checks prerequisites against the
 * records of the zone, never a wildcard's; and a CNAME there (a wildcard
 * *.<zone> CNAME <zone>, say) is no delegation: an update that adds a
 * TXT record creates the name, to which the wildcard then no longer
 * applies. In doubt are a CNAME, and TXT records none of which is of our
 * kind (v=STSv1, v=TLSRPTv1): the same primary is asked for TXT at a
 * random name just below the name, which a wildcard answers alike only
 * when the name does not exist (otherwise the name itself is the closest
 * encloser and the answer NXDOMAIN). TXT records answered alike are
 * emptied, a CNAME answered with the same target moves to
 * st->sts_wildcard_cname (st->tlsrpt_wildcard_cname), and either is
 * flagged (st->sts_wildcard, st->tlsrpt_wildcard): the update then asks
 * that the name has no TXT records and adding ours creates the name. A
 * real CNAME is left as it is.
 * Creating either name also makes <domain> exist (RFC 4592 section 2.2.2:
 * an empty non-terminal), which a wildcard then no longer answers, so
 * all it gives <domain> would go: its MX, its SPF TXT record, its
 * address (and the mail sent there for want of an MX, RFC 5321 section
 * 5.1). When st holds <domain>'s MX (dns_state_read()), <domain> is
 * below t's zone's apex (which always exists; when t's zone is
 * _mta-sts.<domain>, nothing is created in <domain>'s zone), neither
 * name holds a record of our kind yet (either makes it exist) and
 * neither was answered NXDOMAIN (st->below_nxdomain: no wildcard covers
 * <domain>), the MX,
 * TXT, A and AAAA of a random name just below <domain> and of a random
 * name beside it (below its parent) are asked too, with the TXT, A and
 * AAAA of <domain> itself; when its MX and TXT RRsets are the same as
 * both probes', its A and AAAA too unless its MX or TXT holds a record
 * (addresses may change from one query to the next, as a PowerDNS LUA
 * record's), and <domain> has something to lose (more than a null MX:
 * dns_wild_verdict()), <domain> exists only through a wildcard (the one
 * that answers a name that does not exist answers all names next to it
 * too) and st->domain_wildcard says what it gets from it (the caller
 * refuses the domain), unless a name asked about still holds a record,
 * TXT or CNAME, once the wildcard's are left out (it makes <domain>
 * exist). Blind spot: a domain with records of its own, a wildcard
 * *.<domain> with the same records and a wildcard *.<parent> (often
 * *.<zone>) with the same records too answers alike, and is refused;
 * with an MX or TXT record, whatever addresses the three hold.
 * Nothing is asked when nothing is in doubt (a state checked already
 * holds nothing in doubt at its names and keeps their flags; only the
 * questions about <domain> are asked again); all the questions go at
 * once. Returns 0, or -1 with the reason in d.
 */
int dns_state_wildcards(const struct dns_target *t, const char *domain, int sts,
                        int tlsrpt, struct dns_state *st, struct diag *d);

/* A DNS server to ask, as dns_server_spec_parse() reads it. */
struct dns_server_spec {
	char addr[INET6_ADDRSTRLEN]; /* IPv4 or IPv6, as written */
	unsigned port;               /* 1-65535 */
};

/*
 * Parse spec, a DNS server written "ADDR" or "ADDR#PORT" as dig and
 * nsupdate write it (an IPv4 or IPv6 address, a port from 1 to 65535,
 * 53 unless given), into s: check's --server and the engine's resolver
 * (below) are read by it alone. Returns 0, or -1 with the reason in d,
 * which begins "OPT SPEC: " (opt: what the caller calls it, "--server")
 * and, for an address and port written as in a URL ("IPv4:PORT",
 * "[IPv6]:PORT") or an IPv6 address in brackets, says what to write.
 */
int dns_server_spec_parse(const char *spec, const char *opt,
                          struct dns_server_spec *s, struct diag *d);

/* ldns's resolver, for check's single questions */
struct ldns_struct_resolver;

/*
 * A new ldns resolver (ldns's defaults: UDP, then TCP for a truncated
 * reply) asking the server at spec ("ADDR" or "ADDR#PORT", read by
 * dns_server_spec_parse() with opt) alone; the caller sets its timeouts
 * and frees it (ldns_resolver_deep_free()). Returns NULL with the reason
 * in d: spec is not one, or ldns could not allocate it.
 */
struct ldns_struct_resolver *dns_resolver_at(const char *spec, const char *opt,
                                             struct diag *d);

/* Append to b the addresses that res, the system's resolver, asks (three
 * at most named): "ADDR, ADDR, from /etc/resolv.conf", for a message. */
struct buf;
void dns_resolver_addrs(struct ldns_struct_resolver *res, struct buf *b);

/* dns_resolver_at() of a server already parsed (s): for check, which
 * parses --server once. */
struct ldns_struct_resolver *
dns_resolver_new_at(const struct dns_server_spec *s, struct diag *d);

/*
 * A target that is a resolver, not a primary, for check, which asks what
 * senders see: the server at spec ("ADDR" or "ADDR#PORT", IPv4 or IPv6,
 * read by dns_server_spec_parse() as "resolver"), or with spec NULL the
 * nameservers of the system's resolv.conf (at most DNS_ADDR_MAX, tried
 * in turn), asked over TCP as a primary is but with recursion desired
 * (t->recurse), unsigned, within timeout seconds an address. t->zone is
 * empty. Returns 0, or -1 with the reason in d.
 */
int dns_target_resolver(const char *spec, unsigned timeout,
                        struct dns_target *t, struct diag *d);

/* dns_target_resolver() of a server already parsed (s). */
int dns_target_resolver_at(const struct dns_server_spec *s, unsigned timeout,
                           struct dns_target *t, struct diag *d);

/* ldns's address of a server (an A or AAAA rdf), as ldns_pkt_answerfrom()
 * gives it */
struct ldns_struct_rdf;

/* dns_target_resolver() of the server at addr, port port: for check,
 * which asks again over TCP the server whose answer over UDP came
 * truncated, at the address ldns read it from. */
int dns_target_resolver_addr(const struct ldns_struct_rdf *addr, unsigned port,
                             unsigned timeout, struct dns_target *t,
                             struct diag *d);

/* ldns's answer (ldns_pkt), for check, which reads its own */
struct ldns_struct_pkt;

/*
 * Ask t (a resolver, dns_target_resolver()) the question name/type, class
 * IN, over TCP, as the engine asks a primary (no TSIG unless t has a
 * key): a random id from the CSPRNG, RD set for a resolver, t's addresses
 * tried in turn within t->timeout seconds each. A reply is taken only
 * with that id, QR set, the same opcode and the same question (name, type
 * and class; replies that fail that are read past, up to 18), or with no
 * question but an error rcode (some error replies carry none: a NOERROR
 * or NXDOMAIN without it, a bare header, is refused); not with
 * the TC bit set (over TCP it means the answer was cut short); and only
 * if ldns can parse it whole. It is at most 65535 bytes, what a TCP
 * length prefix can say. For check's retry of an answer that came
 * truncated over UDP. Returns 0 with *ans, the whole reply whatever its
 * rcode (the caller judges that, and frees it with ldns_pkt_free()), or
 * -1 with the reason (the server and port named) in d. The thread keeps
 * the connection (dns_close_connections()).
 */
int dns_query_tcp(const struct dns_target *t, const char *name, uint16_t type,
                  struct ldns_struct_pkt **ans, struct diag *d);

/*
 * Is domain its zone's apex, by the answer ans to a query at name, a name
 * below domain, that holds no record there and no CNAME (NXDOMAIN or no
 * data: a negative answer carries its zone's SOA in the authority
 * section)? 1 when that SOA is domain's, 0 when it is above domain, -1
 * when the answer does not tell (no SOA there, or name is a zone's apex
 * itself).
 */
int dns_answer_apex(const struct ldns_struct_pkt *ans, const char *name,
                    const char *domain);

/*
 * What domain gets only from a wildcard (DNS_WILD_*), as
 * dns_state_wildcards() tells it for sync (the same verdict, by the same
 * answers), asked of the resolver t (dns_target_resolver()), for check:
 * the MX of domain, the eleven questions that dns_state_wildcards() asks
 * about a domain (the MX, TXT, A and AAAA of a random name just below it
 * and of a random name beside it, the TXT, A and AAAA of domain) and, with
 * ask_soa, its SOA first (its zone's apex always exists: 0), all at once,
 * pipelined on one connection. Returns 0 with *lost set, or -1 with the
 * reason in d when it cannot tell: domain has one label, a probe name
 * would be too long, or no usable answer came (t refused the connection
 * over TCP, say). The caller asks only for a domain whose _mta-sts name
 * holds no record of its own, and leaves out a domain that no wildcard
 * covers (that name NXDOMAIN) and an apex it knows (dns_answer_apex()).
 */
int dns_domain_wildcard(const struct dns_target *t, const char *domain,
                        int ask_soa, unsigned *lost, struct diag *d);

/*
 * dns_target_find_via(), then dns_state_read() of domain from the target
 * found: the same results and messages in fewer round trips (with server
 * configured and zone not, the state queries are pipelined with the
 * first SOA query of the discovery). With both configured, the zone's SOA
 * is asked with the state queries (unless that zone was found at that
 * server under that key before in the process): a server that holds no
 * SOA record at the zone's name (a typo, or a name inside another zone,
 * which the message names), or answers for it without authority, makes
 * it -1, before anything is changed. Returns 0; -1 if the target was not
 * found (t as dns_target_find_via() leaves it); -2 if it was, but the
 * state could not be read. The reason is in d; st is left empty unless
 * 0 is returned. names as dns_state_read() takes it. With server and no
 * zone, st keeps what dns_state_zones() reads of the primary's answer to
 * the first SOA query of the discovery, at _mta-sts.<domain>
 * (st->sts_soa_read); with server and zone _mta-sts.<domain>, of its
 * answer to that zone's SOA when that is asked with these reads (the
 * first time the process meets that zone at that server under that key;
 * else nothing is kept, and dns_state_zones() asks it).
 */
int dns_target_find_read(const char *domain, const char *zone,
                         const char *server, unsigned port,
                         const struct tsig_key *key, unsigned timeout,
                         const char *resolver, unsigned names,
                         struct dns_target *t, struct dns_state *st,
                         struct diag *d);

/* One domain's wanted records. NULL text: leave that name alone. */
struct dns_change {
	const char *domain;
	const char *sts_text;    /* "v=STSv1; id=..." or NULL */
	const char *tlsrpt_text; /* "v=TLSRPTv1; rua=..." or NULL */
	/* ttl_set: every record at a name that changes gets ttl, and a
	 * record whose value is right but whose TTL is not is changed too;
	 * otherwise records keep the TTL they have (ttl for a new RRset) */
	uint32_t ttl;
	int ttl_set;
	struct dns_state *state; /* as read; refreshed on a conflict */
	int confirmed; /* set by dns_update_apply(): read back as changed */
	/* set by dns_update_apply(): someone changed its records of our kind,
	 * or made one of its names a CNAME, between the read and the update
	 * (the rcode of the refusal, NXRRSET or YXRRSET; or DNS_CONTENDED_LATE:
	 * the server let the update through all the same, and the records read
	 * back show their edit; else 0); they are left as they are */
	int contended;
	/* with contended: which of its names they changed (DNS_NAME_*) */
	unsigned contended_names;
	/* with contended: which of those they made a CNAME (DNS_NAME_*) */
	unsigned contended_cnames;
	/* with contended DNS_CONTENDED_LATE: how the UPDATE that deleted
	 * the records we had added went (0 NOERROR, or none was needed;
	 * else its rcode, DNS_UNDO_BADKEY, DNS_UNDO_OPEN, or -1: no answer,
	 * and the server did not get it whole) */
	int undo_rcode;
	/* set by dns_update_apply(): the TXT records at a name whose TTL the
	 * update keeps (no ttl_set) could not be read again just before it
	 * was first sent, so a TTL someone changed alone since the read was
	 * put back (the warning of dns_update_info.unread_warn says so) */
	int ttl_unread;
	/* set by dns_update_zone(): someone changed only the TTL of the
	 * records at these names (DNS_NAME_*) between the read and the
	 * UPDATE, and the UPDATE keeps their TTL: from ttl_was[k] to
	 * ttl_now[k] (k 0: _mta-sts, 1: _smtp._tls; as read last, again
	 * after a refusal by the prerequisites); words for it:
	 * dns_change_ttl_kept(). Kept with the change, not in the UPDATE's
	 * diag, so that each domain of a large zone gets its own */
	unsigned ttl_kept;
	uint32_t ttl_was[2], ttl_now[2];
	/* the part of the Knot acl that grants its names (knot_acl_parts():
	 * 0 for none known): changes of different parts never share an
	 * UPDATE, which Knot would refuse */
	unsigned acl_part;
	/* set by dns_update_zone(): its gate held the change back just
	 * before the UPDATE that carried it was sent (DNS_UPDATE_WITHHELD);
	 * its texts are then NULL, so that nothing of it is sent */
	int withheld;
};

#define DNS_NAME_STS 1u    /* _mta-sts.<domain> */
#define DNS_NAME_TLSRPT 2u /* _smtp._tls.<domain> */

/* The warning that the TTL of name k (0: _mta-sts, 1: _smtp._tls) of c
 * was kept (c->ttl_kept) into buf (size bytes). Returns 1, or 0 when
 * that TTL was not kept (buf untouched). */
int dns_change_ttl_kept(const struct dns_change *c, int k, char *buf,
                        size_t size);

/* dns_change.contended of an edit that the server's prerequisites let
 * through (PowerDNS compares TXT prerequisites without regard to case),
 * found in the records read back */
#define DNS_CONTENDED_LATE (-1)
/* dns_change.undo_rcode: the server did not know our key (NOTAUTH,
 * BADKEY), so did not apply it; or it got the UPDATE whole and no reply
 * came that we trust: it may have been applied */
#define DNS_UNDO_BADKEY (-2)
#define DNS_UNDO_OPEN (-3)

/* Does applying c to its state change anything? A v=STSv1 (v=TLSRPTv1)
 * text is current when it is the only record of its kind at its name
 * (other TXT records there are kept) and, with c->ttl_set, the RRset
 * has c->ttl; a NULL text never needs a change.
 * With state NULL: 1. A CNAME at the name still counts as needed:
 * dns_update_apply() then refuses (check state->sts_cname first to
 * treat an RFC 8461 section 8.2 delegation as settled). */
int dns_change_needed(const struct dns_change *c);

enum dns_update_result {
	DNS_UPDATE_OK = 0,
	DNS_UPDATE_FAILED = -1, /* reason in d */
	/* a prerequisite failed twice: concurrent edit */
	DNS_UPDATE_CONFLICT = -2,
	/* refused in a way that a grant missing for only some of its
	 * names causes: REFUSED, NOTZONE, or NOTAUTH with TSIG error
	 * BADKEY (Knot's ACL); nothing was changed; reason in d */
	DNS_UPDATE_DENIED = -3,
	/* an UPDATE of several changes refused by its prerequisites,
	 * though the records read again are those they named: no one
	 * changed them, the server misjudges some (PowerDNS, a cache, a
	 * secondary); nothing was changed; reason in d */
	DNS_UPDATE_MISJUDGED = -4,
	/* failed, and the server may have applied it: no reply, or none to
	 * trust, came to an UPDATE it got whole, or it accepted the UPDATE
	 * and the records could not be read back; reason in d, which says
	 * the next run checks */
	DNS_UPDATE_UNKNOWN = -5,
	/* the caller's gate held the change back (dns_update_gate):
	 * nothing of it was sent; the gate has its reason */
	DNS_UPDATE_WITHHELD = -6,
};

/*
 * Send one UPDATE for all n changes of the zone t: prerequisites are the
 * RRsets as read (every RR, value-dependent; "RRset does not exist" for an
 * empty one) of each name that changes, and that it holds no CNAME (class
 * NONE, type CNAME); the old v=STSv1 / v=TLSRPTv1 records deleted (class
 * NONE, with their RDATA), the new ones added with their TTL (a record
 * already there with the wrong TTL is deleted and added again with the
 * right one; servers then change the RRset's TTL). Just before it is first
 * sent, the zone's SOA and the TXT records of each name whose TTL it keeps
 * (no ttl set, records there) are read again, in one pipelined batch: a
 * TTL someone changed alone since the first read (which no prerequisite
 * can check) is kept, as c->ttl_kept says, with a warning in d (when
 * they cannot be read, the
 * changes concerned are marked ttl_unread, and d warns that such a TTL is
 * put back); the serial is for the read back. RD clear, random id,
 * TSIG-signed with t->key, over TCP. The
 * reply's TSIG is verified and its rcode checked (a reply whose TSIG does
 * not prove it the server's, as a forged one racing it, is set aside while
 * the server's own may still come, until the timeout); an UPDATE whose
 * reply is lost or not trusted is not sent again: DNS_UPDATE_UNKNOWN, d
 * saying it may have been applied. But when the connection ended before
 * any reply came, the records are read back first: if every name the
 * UPDATE changes holds exactly what it leaves there (values and TTL), it
 * was applied, and the call goes on as if it had been answered NOERROR. On
 * NXRRSET or YXRRSET (someone changed a record meanwhile) the states are
 * read again: if they already hold what the update would make, that is
 * DNS_UPDATE_OK with no warning; if the names it changes hold just what
 * was read before, no one changed them and the server misjudged them: one
 * change fails (d says what to look at), several are DNS_UPDATE_MISJUDGED;
 * a change whose records of our kind (v=STSv1, v=TLSRPTv1) someone
 * changed, or whose name someone made a CNAME, is left out (c->contended:
 * their edit is not overwritten; the call then ends in
 * DNS_UPDATE_CONFLICT, with their names in d); for the others a warning is
 * added to d and the update recomputed and retried once, and a second
 * failure is DNS_UPDATE_CONFLICT. Then the records are read back (a
 * failure to read them is DNS_UPDATE_UNKNOWN) and confirmed: each
 * c->state then holds the TXT records read back (its MX
 * list, needed only to plan, is not read again), and c->confirmed is set
 * for each change whose values they hold (a server may lower the TTL:
 * dns_change_needed() then still says so). Records of our kind read back
 * that were neither read nor sent are someone's edit that the server let
 * through (PowerDNS compares TXT prerequisites without regard to case):
 * the records the UPDATE added there are deleted again by one more UPDATE
 * (whose prerequisites are the RRsets read back), and that change is
 * contended (DNS_CONTENDED_LATE). A server may apply part of an UPDATE and
 * still answer NOERROR (PowerDNS drops what its Lua policy refuses): the
 * call then fails, and c->confirmed tells the changes that were made; when
 * the zone's SOA serial did not move, d says that `server` may be a
 * secondary. Changes that are not needed are left out; none needed:
 * nothing sent, DNS_UPDATE_OK. A change that would put a TXT record beside
 * a CNAME (_mta-sts.D or _smtp._tls.D) fails the whole call before
 * anything is sent ("... is a CNAME to X (RFC 8461 section 8.2
 * delegation): leaving it alone"). An UPDATE that does not fit in a DNS
 * message (65535 bytes with its TSIG record) fails, naming the zone and
 * the server: dns_update_zone() splits the changes. Every c->state must
 * have been filled by dns_state_read() and, for the names c changes,
 * checked by dns_state_wildcards() (the states read again are checked
 * here).
 */
enum dns_update_result dns_update_apply(const struct dns_target *t,
                                        struct dns_change *c, size_t n,
                                        struct diag *d);

/* "server NAME (ADDRESS) port N", as messages name a primary */
#define DNS_WHERE_MAX (DNS_NAME_MAX + 80)

/*
 * How the changes of one report went, beside its result (for -v, and
 * for the caller's advice on grants): where the UPDATE went and under
 * which key, how many UPDATEs they took, whether the records read back
 * matched, and whether the changes were sent alone because the UPDATE
 * carrying them with others of the zone was denied.
 */
struct dns_update_info {
	char where[DNS_WHERE_MAX]; /* the server the last UPDATE went to
	                              ("" if none was sent) */
	const char *key;           /* the TSIG key's name; NULL: unsigned */
	/* the changes the last UPDATE sent carried, these among them: not
	 * those held back, nor those left out after a refusal */
	size_t carried;
	/* UPDATEs sent for these changes: 0 (none needed), 1, or 2 after a
	 * refusal by the prerequisites; and one more (counted in undone too)
	 * for each change whose records read back showed someone's edit that
	 * the server let through (DNS_CONTENDED_LATE), to delete again what
	 * it had added there */
	unsigned sent, undone;
	int read_back; /* the records read back hold what was sent */
	/* what the server answered the last UPDATE, for -v: its rcode
	 * ("NOERROR", "REFUSED"), with the TSIG error or "unsigned" of a
	 * reply not trusted for it ("NOTAUTH, BADKEY", "NOTAUTH,
	 * unsigned"); "" when no answer came, or none that could be read */
	char answer[32];
	/* the server got the last UPDATE whole, and the connection ended
	 * before any reply came; with read_back, the records read back
	 * hold exactly what it leaves, so it was applied */
	int reply_lost;
	/* 1 + the index in the report's warnings of the one saying that the
	 * names whose TTL the UPDATE keeps could not be read again before it:
	 * only the changes marked ttl_unread are to get it; 0: none */
	unsigned unread_warn;
	/* sent alone: the UPDATE of c[denied_first] .. c[denied_first +
	 * denied_n - 1], these changes among them, was DNS_UPDATE_DENIED
	 * with the reason denied_reason, for denied_rcode ("REFUSED",
	 * "NOTZONE" or "NOTAUTH, BADKEY"), after denied_sent UPDATEs (1, or 2
	 * after a refusal by the prerequisites); else denied_n is 0. It
	 * carried denied_carried of them: not those the gate held back */
	size_t denied_first, denied_n, denied_carried;
	unsigned denied_sent;
	const char *denied_rcode;
	const char *denied_reason;
	/* with denied_n: the refusal was by the prerequisites (denied_rcode
	 * "NXRRSET" or "YXRRSET"), though the records read again were those
	 * they named (DNS_UPDATE_MISJUDGED), not by the grants */
	int denied_misjudged;
	/* before it, the server took an UPDATE of this zone with this key
	 * in this run (another domain's): it takes our updates, so a
	 * REFUSED is a grant missing for these names */
	int zone_took;
};

/*
 * What dns_update_zone() tells of the changes c[first] .. c[first + n -
 * 1], sent in one UPDATE: its result r (as dns_update_apply() returns
 * it; each c->confirmed is set), d, which holds its reason and warnings,
 * about these changes only, and info, how it went.
 */
typedef void dns_update_report(void *arg, size_t first, size_t n,
                               enum dns_update_result r, const struct diag *d,
                               const struct dns_update_info *info);

/*
 * Asked by dns_update_zone() about each change c (a member of the array
 * it was given) that an UPDATE is about to carry, just before that
 * UPDATE is sent (after the reads that go before it; again before the
 * retry after a refusal by the prerequisites), so that the
 * caller can check, as late as can be, what the change stands for: 0
 * lets it go; anything else holds it back (c->withheld), and the UPDATE
 * goes without it, or not at all when nothing else is left in it. A
 * change held back is in no later UPDATE either, and is reported alone
 * as DNS_UPDATE_WITHHELD; the gate keeps its own reason.
 */
typedef int dns_update_gate(void *arg, const struct dns_change *c);

/*
 * Apply the n changes of zone t as dns_update_apply() does, in one UPDATE
 * if they fit in a DNS message, else in as few as hold them, each holding
 * whole domains (the records of one change always go in one UPDATE, so its
 * compare-and-swap stays atomic), each with its own prerequisites, retry
 * and read-back, sent one after another (never two at once); a change
 * refused for a CNAME goes alone. An UPDATE of several changes that is
 * DNS_UPDATE_DENIED or DNS_UPDATE_MISJUDGED changed nothing; its changes
 * are then sent again one per UPDATE, so that a grant missing for one
 * domain, or records the server misjudges, fail that domain only, with its
 * own names in the message (at most one more UPDATE per change).
 * With gate not NULL, gate(arg, ...) is asked about each change just
 * before each UPDATE that would carry it is sent (the retry after a
 * refusal by the prerequisites, and one sent again alone after a
 * refusal, ask again). report(arg, ...) is called
 * after each UPDATE whose result stands, in the order of c, so that each
 * change is in exactly one report. Returns the number of UPDATEs sent,
 * denied ones and retries included.
 */
unsigned dns_update_zone(const struct dns_target *t, struct dns_change *c,
                         size_t n, dns_update_gate *gate,
                         dns_update_report *report, void *arg);

/* The UPDATEs dns_update_zone would send (before any retry), as
 * nsupdate-like text appended to out, for each: "server S PORT", "zone Z",
 * "prereq yxrrset NAME TXT \"...\"" / "prereq nxrrset NAME TXT", "prereq
 * nxrrset NAME CNAME", "update delete NAME TXT \"...\"", "update add NAME
 * TTL TXT \"...\"", "send", after a comment "; NAME: its TXT records come
 * from a wildcard ..." (or "; NAME: its CNAME to X comes from a wildcard
 * ...") for each name whose records dns_state_wildcards() left out.
 * Nothing is appended when no change is needed. Returns 0, or -1 (a CNAME
 * refusal, appended as "; not sent: reason"). */
int dns_update_text(const struct dns_target *t, const struct dns_change *c,
                    size_t n, struct buf *out);

#endif
