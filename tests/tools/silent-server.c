/*
 * silent-server - a misbehaving DNS server on 127.0.0.1 TCP PORT for the
 * fault tests. Usage: silent-server [ADDR#]PORT [MODE [KEY]]; runs until
 * killed and prints "ready" once listening. ADDR, an IPv4 address, is
 * listened on instead of 127.0.0.1 (a nameserver of a resolv.conf, which
 * takes no port but 53, at an address of the test's own). Queries that
 * come over UDP on the same port (if it is free for UDP too) are
 * answered at once, in every mode, as rcode=0 answers them: for a client
 * (check) that asks its first questions over UDP and the next ones over
 * TCP. The first modes answer one request per connection and close it;
 * MODE:
 *   silent    accept connections and never answer (the default)
 *   echo      answer each request with itself, QR set: a forged reply
 *             whose TSIG RR is the request's own
 *   unsigned  answer NOERROR with the bare header: an unsigned reply
 *   rcode=N   answer queries with an empty authoritative NOERROR (an
 *             SOA query with an SOA record at its name, unless its first
 *             label begins with an underscore) and
 *             UPDATEs with rcode N (no TSIG: for unsigned requests)
 *   reverse   read the requests a client pipelines (until none comes for
 *             0.3 s), print "batch N", answer them as rcode=0 does, in
 *             reverse order: replies out of order (RFC 7766 section 7)
 *   wrongq    answer as rcode=0 does, but to another question (the type
 *             changed): a reply that matches no request
 *   wrongid   answer as rcode=0 does, but with another message id
 *   truncated answer as rcode=0 does, with the TC bit set: a reply cut
 *             short over TCP
 *   udp-only  no TCP socket at all, so that a connection is refused;
 *             UDP answered as ever: a resolver that refuses TCP
 *   udp-truncated  the same, but UDP answered as truncated does (TC set,
 *             no record): a resolver whose answers are too long for UDP
 *             and that refuses TCP
 *   udp-truncated-ra  the same, but the answers a recursive resolver's
 *             (AA clear, RA set): check tells it from an authoritative
 *             server
 *   udp-servfail  UDP answered SERVFAIL as a recursive resolver answers
 *             it (AA clear, RA set), and REFUSED to a question without
 *             recursion (RD clear), no TCP socket: a resolver that
 *             cannot resolve
 *   udp-forward=PORT:NAME[:servfail[:drop-probe]]  no TCP socket; each
 *             question over UDP relayed to 127.0.0.1#PORT (a real server)
 *             and its reply relayed back, but the A and AAAA questions of
 *             NAME, which get no reply at all; with :servfail, SERVFAIL as
 *             a resolver answers it (AA clear, RA set) whether recursion
 *             is desired or not, as from a failure it holds in its cache:
 *             a resolver that cannot tell one name's address, the rest
 *             answered; with :drop-probe too, no reply either to a
 *             question of a name one label below NAME, that label
 *             "mta-sts-sync-..." (check's random probe): no other name
 *             has it, so the rest is relayed as ever
 *   udp-tc:MODE  UDP answered as truncated does, TCP as MODE (one of
 *             the modes above it): a resolver whose answers are too long
 *             for UDP, asked again over TCP (truncated: cut short there
 *             too; wrongq, wrongid: a reply to another question;
 *             unsigned: a bare header, without the question)
 *   refuse-once  answer as rcode=8 does (NXRRSET) until an UPDATE is
 *             refused, then close every connection unanswered: the
 *             records cannot be read again after the refusal
 *   accept-once  answer as rcode=0 does until an UPDATE is accepted,
 *             then close every connection unanswered: a primary that
 *             stopped right after it answered the UPDATE
 *
 * The session modes below keep each connection open for as many requests
 * as come (one connection at a time, up to 10 s idle), print "connection
 * N" for each connection and "update N (connection M)" for each UPDATE
 * read, and answer as a primary of any zone would: the TXT, MX or other
 * records that earlier UPDATEs added (class IN adds, NONE deletes a
 * record, ANY an RRset; prerequisites are not checked; an SOA at any
 * name asked for one, but a name whose first label begins with an
 * underscore), NOERROR and authoritative; signed with KEY
 * ("[alg:]name:secret", as dns-tool takes it) when given and the request
 * is signed with it. MODE:
 *   keep      just that
 *   dup=MS    each reply sent again MS milliseconds later: a duplicated
 *             reply (a middlebox, a retransmitting server)
 *   idle-dup=FILE  the last reply sent again, and "duplicate sent
 *             (connection N)" printed, once FILE exists while no request
 *             is pending (the client holds between two steps, as dns-tool
 *             --hold-after-read FILE does): a duplicate that waits on an
 *             idle connection; "request after duplicate (connection N)"
 *             printed for each request that comes on it then
 *   stale     each reply after the first of a connection preceded by the
 *             one before it again: a stale reply where the next is due
 *   stale-only  each reply after the first of a connection replaced by
 *             the first again: a server repeating an answer already
 *             taken, the answers due never coming
 *   stray     each reply preceded by a copy with another message id and
 *             a copy with another question
 *   stray-only  five such pairs instead of each reply, and no reply
 *   split=MS  each reply written in three parts (1 byte, 9 bytes, the
 *             rest), MS milliseconds apart: a reply in several segments
 *   stall     the first 10 bytes of the first reply written, then nothing
 *             more until the client closes the connection: a reply that
 *             stops coming
 *   late=MS   each reply sent MS milliseconds after its request
 *   cut       the reply's length prefix 100 bytes more than follows,
 *             then the connection closed: a reply cut mid-message
 *   len=N     a length prefix of N (below 12) and N bytes of the reply
 *   idle-close=FILE  the connection closed, and "closed (connection
 *             N)" printed, once FILE exists while no request is pending:
 *             a server's idle timeout between exchanges; only its
 *             sending side (shutdown), then what the client still sends
 *             is read, and "request after close (connection N)" printed
 *             for each request, left unanswered, until the client closes
 *             its side
 *   drop-update  an UPDATE read (and not applied), then the connection
 *             closed unanswered: a primary lost while it held the UPDATE
 *   drop-applied  an UPDATE read and applied, then the connection closed
 *             unanswered: a reply lost after the primary applied it
 *   drop-later  the first UPDATE applied and answered, the others as
 *             drop-update: records in place, then an UPDATE lost
 *   spoof-first  each reply preceded by two forged ones with its id and
 *             question, NOERROR, the answer to a TXT query holding
 *             "v=STSv1; id=forged": one unsigned, one signed as if it
 *             answered another request (the request MAC zeroed): an
 *             off-path spoofer that beats the server's reply
 *   spoof-only  the two forged replies instead of each reply, and no reply
 *   refuse-first  each reply preceded by a forged unsigned NOTAUTH with its
 *             id and question: a refusal, which ends the exchange
 *   othermac  replies signed as if they answered another request (the
 *             request MAC zeroed): a valid key, the wrong exchange
 *   otherkey  replies signed by a key of another name, same secret
 *   nosig     replies left unsigned, to signed requests too
 *   prereq-refuse  the first UPDATE answered NXRRSET (a prerequisite
 *             failed), the second REFUSED, both not applied; the others
 *             applied; at the first UPDATE a record "unrelated=someone"
 *             added at the owner of its first record: an UPDATE of
 *             several domains refused by the prerequisites (another's
 *             edit of a record not ours), then by the grants, each
 *             domain then taken alone
 *   contend-refuse  the same, but the record added is "v=STSv1;
 *             id=someone-else", at the owner of its last record:
 *             another's edit of one of its domains meanwhile
 *   contend-first  the same, at the owner of its first record:
 *             another's edit of its first domain meanwhile
 *   edit-twice  the first two UPDATEs answered NXRRSET, not applied,
 *             and at each a record added as prereq-refuse adds one (each
 *             another); the others applied: records edited again after
 *             they were read again
 *   misjudge  every UPDATE that carries a name starting with "_mta-sts.m"
 *             answered NXRRSET and not applied, the others applied: a
 *             server whose prerequisites misjudge the records of some
 *             domains (PowerDNS, a record stored in another form)
 *   mute-soa=N  the N-th SOA query of a zone (from 1; one at a name
 *             whose first label begins with an underscore is not
 *             counted, here and below) and every request after it
 *             on its connection left unanswered, "muted (connection M)"
 *             printed, until the client closes it; the next connections
 *             served as keep serves them: a primary that stops answering
 *             for one batch of reads (the reads again just before an
 *             UPDATE begin with the zone's SOA)
 *   ttl-fail=N  at the N-th SOA query (from 1) every record's TTL set
 *             to 600 (someone's edit of the TTL alone), that query and
 *             the next request answered, the one after that SERVFAIL: a
 *             batch of reads answered in part
 *   ttl-refuse=N  at the N-th SOA query every record's TTL set to 600,
 *             and the next UPDATE answered REFUSED, not applied: a TTL
 *             edited meanwhile, then an UPDATE refused by the grants
 *   ttl-twice=N  at the N-th SOA query every record's TTL set to 600,
 *             and at the next UPDATE a record "unrelated=someone" added
 *             at the owner of its first record and every TTL set to 900,
 *             that UPDATE answered NXRRSET, not applied, the next ones
 *             applied: a TTL edited meanwhile, then again with another
 *             record beside ours, which the UPDATE sent again keeps
 *   misjudge-edit  as misjudge, and at the first refusal a record
 *             "v=TLSRPTv1; rua=mailto:someone@example.net" added at the
 *             _smtp._tls name of the domain refused: an edit at a name
 *             the UPDATE did not carry
 *   late-refuse  the first UPDATE applied, and a record "v=STSv1;
 *             id=someone-else" added beside the first record it adds;
 *             the second answered REFUSED, not applied: someone's edit
 *             that the prerequisites let through, and the UPDATE that
 *             deletes ours again refused
 *   late-lost  the same, but the second UPDATE applied, then the
 *             connection closed unanswered
 *   ttl-age   the TTL of each record in an answer counted down by the
 *             whole seconds since the server's first request (to 1 at
 *             least): a cache in front of the primary (dnsdist)
 *   prereq-once  the first UPDATE answered NXRRSET and not applied, a
 *             record "unrelated=someone" added as prereq-refuse adds it;
 *             the others applied: an UPDATE refused by the prerequisites
 *             (another's edit of a record not ours), then sent again
 *   bad-update=KIND  each UPDATE applied, then answered NOERROR by a
 *             faulty reply of KIND instead of its own, and the
 *             connection closed; KIND (signed as ever unless said):
 *               id       another message id
 *               zone     another zone (a letter of its name changed)
 *               opcode   opcode QUERY
 *               query    the QR bit clear: no response
 *               garbage  the header and zone of its reply, then ANCOUNT 1
 *                        and 16 bytes that are no record, unsigned
 *               short    its reply with the last 6 bytes (of the TSIG
 *                        record) cut, the length prefix telling the rest
 *               tsig     its reply, the MAC size in the TSIG record one
 *                        more than the MAC
 *   bad-first=KIND  the same faulty reply, then the UPDATE's own: a reply
 *             that answers no UPDATE, or cannot be read, before it
 * Every session mode prints "add OWNER TTL" for each record an UPDATE it
 * applies adds. With $SILENT_SERVER_HOOK set to "N:COMMAND", a session
 * mode runs the shell COMMAND when it reads the N-th UPDATE (from 1),
 * before it answers it: for a test to change something (a policy file)
 * at that moment of a client's work.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "tsig.h"
#include "util.h"

/* Read exactly len bytes. Returns 0, or -1. */
static int
read_all(int fd, unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The length of the question section of msg (QDCOUNT 1 or 0 for an
 * UPDATE's zone section). */
static size_t
question_len(const unsigned char *msg, size_t len)
{
	size_t off = 12;

	if ((msg[4] << 8 | msg[5]) == 0)
		return 0;
	while (off < len && msg[off] != 0)
		off += 1 + msg[off];
	return off + 5 <= len ? off + 5 - 12 : 0;
}

/* Read one length-prefixed request from c into msg + 2. Returns its
 * length, or 0. */
static size_t
read_request(int c, unsigned char *msg)
{
	unsigned char hdr[2];
	size_t len;

	if (read_all(c, hdr, 2) == -1)
		return 0;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len < 12 || read_all(c, msg + 2, len) == -1)
		return 0;
	return len;
}

/* Does the name of the question of m (q bytes long) begin with a label
 * that begins with an underscore (_mta-sts.D, _smtp._tls.D)? Such a name
 * is no zone here: its SOA query is answered with no record, which tells
 * no zone (a zone at every name would put _mta-sts.D in a zone of its
 * own, apart from the zone configured for D). */
static int
underscore_name(const unsigned char *m, size_t q)
{
	return q >= 6 && m[12] > 0 && m[13] == '_';
}

/* Append to the answer m (its header and question, 12 + q bytes) an SOA
 * record at the name asked, as the primary of a zone there: its answer
 * to an SOA query. Returns the bytes added. */
static size_t
soa_answer(unsigned char *m, size_t q)
{
	/* the name asked (a pointer to the question), type, class, TTL
	 * 3600, RDLENGTH 22, MNAME "." and RNAME "." */
	static const unsigned char head[] = {0xC0, 0x0C,
	                                     0,    LDNS_RR_TYPE_SOA,
	                                     0,    LDNS_RR_CLASS_IN,
	                                     0,    0,
	                                     0x0E, 0x10,
	                                     0,    22,
	                                     0,    0};
	/* serial, refresh, retry, expire, minimum */
	static const unsigned long times[] = {1, 3600, 600, 86400, 300};
	unsigned char *p = m + 12 + q;

	memcpy(p, head, sizeof(head));
	p += sizeof(head);
	for (size_t i = 0; i < 5; i++, p += 4)
		for (int b = 0; b < 4; b++)
			p[b] = (unsigned char)(times[i] >> (24 - 8 * b));
	m[7] = 1; /* ANCOUNT */
	return sizeof(head) + 4 * 5;
}

/* Turn the request msg + 2 of len bytes into its answer according to
 * mode, length-prefixed. Returns the answer's length. */
static size_t
make_answer(unsigned char *msg, size_t len, const char *mode)
{
	int wrongq = strcmp(mode, "wrongq") == 0;
	int recursive =
	    strcmp(mode, "truncated-ra") == 0 || strcmp(mode, "servfail") == 0;
	size_t q;

	if (recursive) {
		len = make_answer(msg, len,
		                  mode[0] == 't' ? "truncated" : "rcode=0");
		msg[2 + 2] &= (unsigned char)~0x04; /* AA clear */
		msg[2 + 3] |= 0x80;                 /* RA */
		/* asked without recursion (RD clear), a resolver with
		 * nothing cached refuses: it is not the zone's server */
		if (mode[0] == 's')
			msg[2 + 3] =
			    (unsigned char)((msg[2 + 3] & 0xF0) |
			                    ((msg[2 + 2] & 0x01)
			                         ? LDNS_RCODE_SERVFAIL
			                         : LDNS_RCODE_REFUSED));
		return len;
	}

	if (strcmp(mode, "wrongid") == 0) {
		msg[2] ^= 0x5a; /* another id */
		mode = "rcode=0";
	}

	msg[2 + 2] |= 0x80; /* QR */
	if (strcmp(mode, "truncated") == 0)
		msg[2 + 2] |= 0x02; /* TC */
	if (strcmp(mode, "reverse") == 0 || strcmp(mode, "truncated") == 0 ||
	    wrongq)
		mode = "rcode=0";
	if (strncmp(mode, "rcode=", 6) == 0) {
		int update = ((msg[2 + 2] >> 3) & 0xF) == 5;

		msg[2 + 3] &= 0xF0;
		if (update)
			msg[2 + 3] |=
			    (unsigned char)(strtol(mode + 6, NULL, 10) & 0xF);
		else
			msg[2 + 2] |= 0x04; /* AA */
		memset(msg + 2 + 6, 0, 6);  /* question only */
		q = question_len(msg + 2, len);
		if (wrongq && q >= 4)
			msg[2 + 12 + q - 3] ^= 1; /* QTYPE */
		len = 12 + q;
		if (!update && q >= 4 && msg[2 + 12 + q - 4] == 0 &&
		    msg[2 + 12 + q - 3] == LDNS_RR_TYPE_SOA &&
		    !underscore_name(msg + 2, q))
			len += soa_answer(msg + 2, q);
	} else if (strcmp(mode, "unsigned") == 0) {
		msg[2 + 3] &= 0xF0; /* NOERROR */
		memset(msg + 2 + 4, 0, 8);
		len = 12;
	}
	msg[0] = (unsigned char)(len >> 8);
	msg[1] = (unsigned char)len;
	return len;
}

/* Answer one request on c according to mode. Returns 1 if it was an
 * UPDATE, else 0. */
static int
answer(int c, const char *mode)
{
	static unsigned char msg[65535 + 2];
	size_t len = read_request(c, msg);
	int update = len > 0 && ((msg[2 + 2] >> 3) & 0xF) == 5;

	if (len == 0)
		return 0;
	len = make_answer(msg, len, mode);
	if (write(c, msg, len + 2) != (ssize_t)(len + 2))
		perror("silent-server: write");
	return update;
}

#define BATCH_MAX 16 /* more than a client pipelines (13) */

/* Read the requests pipelined on c and answer them in reverse order. */
static void
answer_reversed(int c)
{
	static unsigned char msg[BATCH_MAX][1024 + 2];
	size_t len[BATCH_MAX], n = 0;
	struct pollfd p = {.fd = c, .events = POLLIN};

	while (n < BATCH_MAX && poll(&p, 1, 300) == 1) {
		unsigned char hdr[2];

		if (read_all(c, hdr, 2) == -1)
			break;
		len[n] = (size_t)hdr[0] << 8 | hdr[1];
		if (len[n] < 12 || len[n] > 1024 ||
		    read_all(c, msg[n] + 2, len[n]) == -1)
			break;
		len[n] = make_answer(msg[n], len[n], "reverse");
		n++;
	}
	printf("batch %zu\n", n);
	fflush(stdout);
	while (n-- > 0)
		if (write(c, msg[n], len[n] + 2) != (ssize_t)(len[n] + 2))
			perror("silent-server: write");
}

/* ------------------------------------------------------ session modes */

#define MSG_MAX 65535
#define ZONE_MAX 256 /* records the UPDATEs may add */

static ldns_rr *zone_rr[ZONE_MAX]; /* what UPDATEs added, in order */
static size_t zone_n;
static struct tsig_key key;
static int have_key;
static unsigned long connections, updates;
static int servfail_in;   /* ttl-fail: the reply that many on is SERVFAIL */
static int refuse_update; /* ttl-refuse: the next UPDATE is REFUSED */
static int retime_update; /* ttl-twice: the next UPDATE is NXRRSET */

/* Sleep ms milliseconds. */
static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1)
		;
}

/* Write len bytes, or say why not (the client may be gone). */
static void
write_out(int c, const unsigned char *p, size_t len)
{
	if (write(c, p, len) != (ssize_t)len)
		perror("silent-server: write");
}

/* Do a and b hold the same owner, type and RDATA? */
static int
rr_same(const ldns_rr *a, const ldns_rr *b, int rdata)
{
	if (ldns_dname_compare(ldns_rr_owner(a), ldns_rr_owner(b)) != 0 ||
	    ldns_rr_get_type(a) != ldns_rr_get_type(b))
		return 0;
	if (!rdata)
		return 1;
	if (ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
		return 0;
	for (size_t i = 0; i < ldns_rr_rd_count(a); i++)
		if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
			return 0;
	return 1;
}

/* Delete the records that the update RR u deletes (class NONE: that
 * record; class ANY: the RRset, or every RRset of the name for type
 * ANY). */
static void
zone_delete(const ldns_rr *u)
{
	int any = ldns_rr_get_class(u) == LDNS_RR_CLASS_ANY;
	int all = any && ldns_rr_get_type(u) == LDNS_RR_TYPE_ANY;
	size_t k = 0;

	for (size_t i = 0; i < zone_n; i++) {
		ldns_rr *r = zone_rr[i];
		int gone = all ? ldns_dname_compare(ldns_rr_owner(r),
		                                    ldns_rr_owner(u)) == 0
		               : rr_same(r, u, !any);

		if (gone)
			ldns_rr_free(r);
		else
			zone_rr[k++] = r;
	}
	zone_n = k;
}

/* Print "add OWNER TTL" for the record rr that an UPDATE adds. */
static void
print_add(const ldns_rr *rr)
{
	char *o = ldns_rdf2str(ldns_rr_owner(rr));

	printf("add %s %u\n", o ? o : "?", (unsigned)ldns_rr_ttl(rr));
	fflush(stdout);
	free(o);
}

/* Apply the update section of the UPDATE pkt. */
static void
zone_update(const ldns_pkt *pkt)
{
	const ldns_rr_list *u = ldns_pkt_authority(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(u); i++) {
		ldns_rr *rr = ldns_rr_list_rr(u, i);
		size_t j = 0;

		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			zone_delete(rr);
			continue;
		}
		while (j < zone_n && !rr_same(zone_rr[j], rr, 1))
			j++;
		if (j == zone_n && zone_n < ZONE_MAX)
			zone_rr[zone_n++] = ldns_rr_clone(rr);
		print_add(rr);
	}
}

/* Does the owner of the question qr begin with an underscore (see
 * underscore_name())? */
static int
underscore_owner(const ldns_rr *qr)
{
	const ldns_rdf *o = ldns_rr_owner(qr);
	const uint8_t *w = ldns_rdf_data(o);

	return ldns_rdf_size(o) >= 2 && w[0] > 0 && w[1] == '_';
}

/* An SOA record at the owner of the question qr, or NULL. */
static ldns_rr *
soa_rr(const ldns_rr *qr)
{
	ldns_rr *rr = NULL;
	char *name = ldns_rdf2str(ldns_rr_owner(qr));
	char line[400];

	snprintf(line, sizeof(line), "%s 3600 IN SOA . . 1 3600 600 86400 300",
	         name ? name : ".");
	free(name);
	if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	return rr;
}

/* The answer to the request pkt, as a primary holding zone_rr: the
 * records at the name and type asked (for a query), NOERROR; an SOA
 * query, the SOA of a zone there. */
static ldns_pkt *
zone_answer(const ldns_pkt *pkt)
{
	ldns_pkt *a = ldns_pkt_new();
	const ldns_rr_list *q = ldns_pkt_question(pkt);
	int update = ldns_pkt_get_opcode(pkt) == LDNS_PACKET_UPDATE;
	const ldns_rr *qr =
	    ldns_rr_list_rr_count(q) > 0 ? ldns_rr_list_rr(q, 0) : NULL;
	ldns_rr *soa;

	ldns_pkt_set_id(a, ldns_pkt_id(pkt));
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_aa(a, !update);
	ldns_pkt_set_opcode(a, ldns_pkt_get_opcode(pkt));
	ldns_pkt_set_rcode(a, LDNS_RCODE_NOERROR);
	if (qr == NULL)
		return a;
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(qr));
	for (size_t i = 0; !update && i < zone_n; i++)
		if (rr_same(zone_rr[i], qr, 0))
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER,
			                 ldns_rr_clone(zone_rr[i]));
	/* a zone at every name but those of underscore_name(): its SOA */
	if (!update && ldns_rr_get_type(qr) == LDNS_RR_TYPE_SOA &&
	    ldns_pkt_ancount(a) == 0 && !underscore_owner(qr) &&
	    (soa = soa_rr(qr)) != NULL)
		ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, soa);
	return a;
}

/* The name in uncompressed wire form into out (at least 256 bytes).
 * Returns its length. */
static size_t
wire_name(const char *name, unsigned char *out)
{
	ldns_rdf *r = ldns_dname_new_frm_str(name);
	size_t len = r ? ldns_rdf_size(r) : 0;

	if (r != NULL)
		memcpy(out, ldns_rdf_data(r), len);
	ldns_rdf_deep_free(r);
	return len;
}

/* The MAC of the signed request m (len bytes) into mac. Returns 0, or
 * -1 if it is not signed with key. */
static int
request_mac(const unsigned char *m, size_t len, struct tsig_mac *mac)
{
	struct tsig_info info;
	size_t off, n;

	if (tsig_verify(&key, m, len, NULL, (uint64_t)time(NULL), &info) !=
	    TSIG_VALID)
		return -1;
	off = info.unsigned_len;
	for (int names = 0; names < 2; names++) { /* owner, algorithm */
		while (off < len && m[off] != 0)
			off += 1 + m[off];
		off += 1 + (names == 0 ? 10 : 0);
	}
	if (off + 10 > len)
		return -1;
	n = (size_t)m[off + 8] << 8 | m[off + 9];
	if (n > sizeof(mac->mac) || off + 10 + n > len)
		return -1;
	memcpy(mac->mac, m + off + 10, n);
	mac->len = n;
	return 0;
}

/* Append the TSIG RR of a response to a request whose MAC was req to
 * the message in b (RFC 8945 section 4.3: the MAC covers the request
 * MAC, the message and the TSIG variables), signed by key under the
 * name signer. */
static void
sign_reply(struct buf *b, const struct tsig_mac *req, const char *signer)
{
	unsigned char name[256], alg[256], v[16];
	size_t nlen = wire_name(signer, name);
	size_t alen = wire_name(tsig_alg_wire_name(key.alg), alg);
	uint64_t now = (uint64_t)time(NULL);
	struct buf d;
	struct tsig_mac mac;
	unsigned char *h;

	buf_init(&d, 3 * MSG_MAX);
	v[0] = (unsigned char)(req->len >> 8);
	v[1] = (unsigned char)req->len;
	buf_append(&d, v, 2);
	buf_append(&d, req->mac, req->len);
	buf_append(&d, b->data, b->len);
	buf_append(&d, name, nlen);
	memcpy(v, "\x00\xff\x00\x00\x00\x00", 6); /* class ANY, TTL 0 */
	buf_append(&d, v, 6);
	buf_append(&d, alg, alen);
	for (int i = 0; i < 6; i++)
		v[i] = (unsigned char)(now >> (40 - 8 * i));
	memcpy(v + 6, "\x01\x2c\x00\x00\x00\x00", 6); /* fudge, error, other */
	buf_append(&d, v, 12);
	tsig_hmac(&key, (unsigned char *)d.data, d.len, &mac);
	buf_free(&d);
	buf_append(b, name, nlen);
	memcpy(v, "\x00\xfa\x00\xff\x00\x00\x00\x00", 8); /* TSIG ANY TTL 0 */
	v[8] = (unsigned char)((alen + 16 + mac.len) >> 8);
	v[9] = (unsigned char)(alen + 16 + mac.len);
	buf_append(b, v, 10);
	buf_append(b, alg, alen);
	for (int i = 0; i < 6; i++)
		v[i] = (unsigned char)(now >> (40 - 8 * i));
	v[6] = 0x01, v[7] = 0x2c; /* fudge 300 */
	v[8] = (unsigned char)(mac.len >> 8), v[9] = (unsigned char)mac.len;
	buf_append(b, v, 10);
	buf_append(b, mac.mac, mac.len);
	memcpy(v, b->data, 2); /* original id, no error, no other data */
	memset(v + 2, 0, 4);
	buf_append(b, v, 6);
	h = (unsigned char *)b->data;
	h[11]++; /* ARCOUNT: one record at most before */
}

/* A TXT record "text" (no quote or backslash in it) at owner, TTL 300;
 * NULL if it cannot be made. */
static ldns_rr *
txt_rr(const ldns_rdf *owner, const char *text)
{
	ldns_rr *rr = NULL;
	char *name = ldns_rdf2str(owner);
	char line[600];

	snprintf(line, sizeof(line), "%s 300 IN TXT \"%s\"", name ? name : ".",
	         text);
	free(name);
	if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	return rr;
}

/* Put the wire form of the message a into out, and free a. Returns 0,
 * or -1. */
static int
pkt_take(ldns_pkt *a, struct buf *out)
{
	uint8_t *wire = NULL;
	size_t wlen = 0;
	ldns_status st = ldns_pkt2wire(&wire, a, &wlen);

	ldns_pkt_free(a);
	if (st != LDNS_STATUS_OK)
		return -1;
	buf_reset(out);
	buf_append(out, wire, wlen);
	free(wire);
	return 0;
}

/* Does the UPDATE pkt change a name that misjudge mode refuses (its
 * first label "_mta-sts", its second starting with "m")? */
static int
misjudged_name(const ldns_pkt *pkt)
{
	const ldns_rr_list *u = ldns_pkt_authority(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(u); i++) {
		char *o = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(u, i)));
		int m = o != NULL && strncmp(o, "_mta-sts.m", 10) == 0;

		free(o);
		if (m)
			return 1;
	}
	return 0;
}

/* Once: add "v=TLSRPTv1; rua=mailto:someone@example.net" at the
 * _smtp._tls name of the domain whose _mta-sts name the UPDATE pkt
 * carries first (misjudge-edit). */
static void
edit_tlsrpt(const ldns_pkt *pkt)
{
	static int done;
	const ldns_rr_list *u = ldns_pkt_authority(pkt);
	char *o, name[600];
	ldns_rdf *owner;
	ldns_rr *rr;

	if (done || ldns_rr_list_rr_count(u) == 0 || zone_n == ZONE_MAX)
		return;
	o = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(u, 0)));
	if (o == NULL || strncmp(o, "_mta-sts.", 9) != 0) {
		free(o);
		return;
	}
	snprintf(name, sizeof(name), "_smtp._tls.%s", o + 9);
	free(o);
	owner = ldns_dname_new_frm_str(name);
	rr = owner ? txt_rr(owner, "v=TLSRPTv1; rua=mailto:someone@example.net")
	           : NULL;
	ldns_rdf_deep_free(owner);
	if (rr != NULL)
		zone_rr[zone_n++] = rr;
	done = 1;
}

/* In the late- modes, the rcode of the UPDATE pkt, the n-th, after what
 * it does to the zone: the first applied, with someone's record added
 * beside its first add; the second refused (late-refuse) or applied. */
static ldns_pkt_rcode
late_rcode(const ldns_pkt *pkt, unsigned long n, const char *mode)
{
	const ldns_rr_list *u = ldns_pkt_authority(pkt);

	if (n == 2 && strcmp(mode, "late-refuse") == 0)
		return LDNS_RCODE_REFUSED;
	zone_update(pkt);
	for (size_t i = 0; n == 1 && i < ldns_rr_list_rr_count(u); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(u, i);
		ldns_rr *theirs;

		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		theirs = txt_rr(ldns_rr_owner(rr), "v=STSv1; id=someone-else");
		if (theirs != NULL && zone_n < ZONE_MAX)
			zone_rr[zone_n++] = theirs;
		else
			ldns_rr_free(theirs);
		break;
	}
	return LDNS_RCODE_NOERROR;
}

/* The rcode of an UPDATE pkt, the n-th (1, 2, ...), in mode
 * (prereq-refuse, contend-refuse, edit-twice: the first two refused;
 * prereq-once: the first;
 * misjudge: those of misjudged_name()), after what it then does to the
 * zone: adds another's record at a refusal by the prerequisites (but in
 * misjudge mode), or applies the UPDATE. */
static ldns_pkt_rcode
update_rcode(const ldns_pkt *pkt, unsigned long n, const char *mode)
{
	const ldns_rr_list *u = ldns_pkt_authority(pkt);
	size_t k = ldns_rr_list_rr_count(u);
	int contend_first = strcmp(mode, "contend-first") == 0;
	int contend = contend_first || strcmp(mode, "contend-refuse") == 0;
	int twice = strcmp(mode, "edit-twice") == 0;
	int once = strcmp(mode, "prereq-once") == 0;
	ldns_pkt_rcode rc = n == 1 || (twice && n == 2) ? LDNS_RCODE_NXRRSET
	                    : n == 2 && !once           ? LDNS_RCODE_REFUSED
	                                                : LDNS_RCODE_NOERROR;

	if (strncmp(mode, "late-", 5) == 0)
		return late_rcode(pkt, n, mode);
	if (strncmp(mode, "misjudge", 8) == 0)
		rc = misjudged_name(pkt) ? LDNS_RCODE_NXRRSET
		                         : LDNS_RCODE_NOERROR;
	else if (!contend && !twice && !once &&
	         strcmp(mode, "prereq-refuse") != 0)
		rc = LDNS_RCODE_NOERROR;
	if (rc == LDNS_RCODE_NXRRSET && strcmp(mode, "misjudge-edit") == 0)
		edit_tlsrpt(pkt);
	if (rc == LDNS_RCODE_NXRRSET && k > 0 && zone_n < ZONE_MAX &&
	    strncmp(mode, "misjudge", 8) != 0) {
		ldns_rr *rr =
		    txt_rr(ldns_rr_owner(ldns_rr_list_rr(
		               u, contend && !contend_first ? k - 1 : 0)),
		           contend  ? "v=STSv1; id=someone-else"
		           : n == 1 ? "unrelated=someone"
		                    : "unrelated=someone-again");

		if (rr != NULL)
			zone_rr[zone_n++] = rr;
	}
	if (rc == LDNS_RCODE_NOERROR)
		zone_update(pkt);
	return rc;
}

/* In ttl-age mode: count the TTL of each record in the answer a down by
 * the whole seconds since the first request, to 1 at least. */
static void
ttl_age(ldns_pkt *a)
{
	static time_t first;
	const ldns_rr_list *an = ldns_pkt_answer(a);
	time_t now = time(NULL);

	if (first == 0)
		first = now;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		long ttl = (long)ldns_rr_ttl(rr) - (long)(now - first);

		ldns_rr_set_ttl(rr, (uint32_t)(ttl < 1 ? 1 : ttl));
	}
}

/* In ttl-twice mode, at the UPDATE pkt: another's record added at the
 * owner of its first record, and every TTL set to 900; not applied.
 * Returns NXRRSET, as a prerequisite that failed. */
static ldns_pkt_rcode
retime(const ldns_pkt *pkt)
{
	const ldns_rr_list *u = ldns_pkt_authority(pkt);
	ldns_rr *rr = ldns_rr_list_rr_count(u) > 0 && zone_n < ZONE_MAX
	                  ? txt_rr(ldns_rr_owner(ldns_rr_list_rr(u, 0)),
	                           "unrelated=someone")
	                  : NULL;

	if (rr != NULL)
		zone_rr[zone_n++] = rr;
	for (size_t i = 0; i < zone_n; i++)
		ldns_rr_set_ttl(zone_rr[i], 900);
	return LDNS_RCODE_NXRRSET;
}

/* The answer to the request m (len bytes) into out, as a primary
 * holding zone_rr answers it (an UPDATE applied first), signed as mode
 * says. Returns 0, or -1 if m is not DNS. */
static int
session_reply(const unsigned char *m, size_t len, const char *mode,
              struct buf *out)
{
	ldns_pkt *pkt = NULL, *a;
	struct tsig_mac req;
	int signed_req = have_key && request_mac(m, len, &req) == 0;
	ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;

	if (ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK)
		return -1;
	if (ldns_pkt_get_opcode(pkt) == LDNS_PACKET_UPDATE && retime_update) {
		rcode = retime(pkt);
		retime_update = 0;
	} else if (ldns_pkt_get_opcode(pkt) == LDNS_PACKET_UPDATE &&
	           refuse_update) {
		rcode = LDNS_RCODE_REFUSED;
		refuse_update = 0;
	} else if (ldns_pkt_get_opcode(pkt) == LDNS_PACKET_UPDATE) {
		rcode = update_rcode(pkt, updates, mode);
	}
	if (servfail_in > 0 && --servfail_in == 0) {
		rcode = LDNS_RCODE_SERVFAIL;
		printf("servfail\n");
		fflush(stdout);
	}
	a = zone_answer(pkt);
	ldns_pkt_set_rcode(a, rcode);
	ldns_pkt_free(pkt);
	if (strcmp(mode, "ttl-age") == 0)
		ttl_age(a);
	if (pkt_take(a, out) == -1)
		return -1;
	if (!signed_req || strcmp(mode, "nosig") == 0)
		return 0;
	if (strcmp(mode, "othermac") == 0)
		memset(req.mac, 0, req.len);
	sign_reply(out, &req,
	           strcmp(mode, "otherkey") == 0 ? "other-key" : key.name);
	return 0;
}

/* The answer to the request m (len bytes) as a spoofer would forge it:
 * its id and question, rcode rc; if NOERROR, for a TXT query a record
 * "v=STSv1; id=forged" at the name asked; unsigned, or (othermac) signed
 * with the key as if it answered another request. Into out; returns 0,
 * or -1 if m is not DNS. */
static int
forged_reply(const unsigned char *m, size_t len, int othermac,
             ldns_pkt_rcode rc, struct buf *out)
{
	ldns_pkt *pkt = NULL, *a;
	const ldns_rr_list *q;
	struct tsig_mac req;

	if (ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK)
		return -1;
	a = zone_answer(pkt); /* no UPDATE applied: only its header */
	q = ldns_pkt_question(pkt);
	ldns_pkt_set_rcode(a, rc);
	if (rc == LDNS_RCODE_NOERROR &&
	    ldns_pkt_get_opcode(pkt) != LDNS_PACKET_UPDATE &&
	    ldns_rr_list_rr_count(q) > 0 &&
	    ldns_rr_get_type(ldns_rr_list_rr(q, 0)) == LDNS_RR_TYPE_TXT) {
		ldns_rr *rr = txt_rr(ldns_rr_owner(ldns_rr_list_rr(q, 0)),
		                     "v=STSv1; id=forged");

		if (rr != NULL)
			ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
	}
	ldns_pkt_free(pkt);
	if (pkt_take(a, out) == -1)
		return -1;
	if (othermac && have_key && request_mac(m, len, &req) == 0) {
		memset(req.mac, 0, req.len);
		sign_reply(out, &req, key.name);
	}
	return 0;
}

/* Write the message msg (len bytes) to c with its length prefix: whole,
 * or (split=MS) in three parts MS milliseconds apart, or (keep-10) only
 * its first 10 bytes. */
static void
send_msg(int c, const void *msg, size_t len, const char *mode)
{
	unsigned char *f = xmalloc(len + 2);

	f[0] = (unsigned char)(len >> 8);
	f[1] = (unsigned char)len;
	memcpy(f + 2, msg, len);
	if (strncmp(mode, "split=", 6) == 0 && len + 2 > 10) {
		long ms = strtol(mode + 6, NULL, 10);

		write_out(c, f, 1);
		sleep_ms(ms);
		write_out(c, f + 1, 9);
		sleep_ms(ms);
		write_out(c, f + 10, len + 2 - 10);
	} else if (strcmp(mode, "keep-10") == 0 && len + 2 > 10) {
		write_out(c, f, 10);
	} else {
		write_out(c, f, len + 2);
	}
	free(f);
}

/* The faulty reply of the bad- modes (see the top of this file), of kind
 * kind, to the UPDATE m (len bytes), which was applied: into out. Returns
 * 0, or -1 if m is not DNS. */
static int
bad_reply(const unsigned char *m, size_t len, const char *kind, struct buf *out)
{
	ldns_pkt *pkt = NULL, *a;
	struct tsig_mac req;
	unsigned char name[256], alg[256], *h;
	size_t ulen;

	if (ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK)
		return -1;
	a = zone_answer(pkt); /* an UPDATE's: its header and zone only */
	ldns_pkt_free(pkt);
	if (strcmp(kind, "id") == 0)
		ldns_pkt_set_id(a, ldns_pkt_id(a) ^ 0x5a5a);
	ldns_pkt_set_opcode(a, strcmp(kind, "opcode") == 0
	                           ? LDNS_PACKET_QUERY
	                           : LDNS_PACKET_UPDATE);
	ldns_pkt_set_qr(a, strcmp(kind, "query") != 0);
	if (pkt_take(a, out) == -1 || out->len < 14)
		return -1;
	h = (unsigned char *)out->data;
	ulen = out->len;
	if (strcmp(kind, "zone") == 0)
		h[13] ^= 1; /* the first letter of the zone's name */
	if (strcmp(kind, "garbage") == 0) {
		h[7] = 1; /* ANCOUNT */
		memset(alg, 0xff, 16);
		buf_append(out, alg, 16);
		return 0;
	}
	if (!have_key || request_mac(m, len, &req) == -1)
		return 0;
	sign_reply(out, &req, key.name);
	h = (unsigned char *)out->data;
	if (strcmp(kind, "short") == 0)
		out->len -= 6;
	if (strcmp(kind, "tsig") == 0) /* past owner, type ... RDLENGTH,
	                                  algorithm, time signed, fudge */
		h[ulen + wire_name(key.name, name) + 10 +
		  wire_name(tsig_alg_wire_name(key.alg), alg) + 9]++;
	return 0;
}

/* In the bad- modes, when the request m (len bytes) is an UPDATE, send
 * on c its faulty reply. Returns -1 when the connection is then to be
 * closed (bad-update), else 0. */
static int
send_bad(int c, const unsigned char *m, size_t len, const char *mode)
{
	struct buf b;

	if (strncmp(mode, "bad-", 4) != 0 || ((m[2] >> 3) & 0xF) != 5)
		return 0;
	buf_init(&b, MSG_MAX);
	if (bad_reply(m, len, strchr(mode, '=') + 1, &b) == 0)
		send_msg(c, b.data, b.len, "keep");
	buf_free(&b);
	return strncmp(mode, "bad-update=", 11) == 0 ? -1 : 0;
}

/* Send two copies of the reply r that match no request: one with
 * another message id, one with another question (its type changed). */
static void
send_strays(int c, const struct buf *r)
{
	unsigned char *m = xmalloc(r->len);
	size_t q = question_len((const unsigned char *)r->data, r->len);

	memcpy(m, r->data, r->len);
	m[0] ^= 0x5a;
	send_msg(c, m, r->len, "keep");
	m[0] ^= 0x5a;
	if (q >= 4)
		m[12 + q - 3] ^= 1; /* QTYPE */
	send_msg(c, m, r->len, "keep");
	free(m);
}

/* Send the reply r on c as mode says, with what mode sends before or
 * after it; prev holds the reply sent before it on this connection
 * (empty: none), and then r. Returns 0, or -1 when mode closes the
 * connection. */
static int
deliver(int c, const struct buf *r, struct buf *prev, const char *mode)
{
	const char *eq = strchr(mode, '=');
	long n = eq != NULL ? strtol(eq + 1, NULL, 10) : 0;

	if (strcmp(mode, "stale") == 0 && prev->len > 0)
		send_msg(c, prev->data, prev->len, "keep");
	if (strcmp(mode, "stale-only") == 0 && prev->len > 0) {
		send_msg(c, prev->data, prev->len, "keep");
		return 0; /* prev stays the first reply */
	}
	if (strcmp(mode, "stray") == 0)
		send_strays(c, r);
	if (strcmp(mode, "stray-only") == 0) {
		for (int i = 0; i < 5; i++)
			send_strays(c, r);
		return 0;
	}
	if (strcmp(mode, "spoof-only") == 0)
		return 0; /* send_forged() sent all there is */
	if (strncmp(mode, "late=", 5) == 0)
		sleep_ms(n);
	if (strcmp(mode, "cut") == 0) {
		unsigned char l[2] = {(unsigned char)((r->len + 100) >> 8),
		                      (unsigned char)(r->len + 100)};

		write_out(c, l, 2);
		write_out(c, (const unsigned char *)r->data, r->len);
		return -1;
	}
	if (strcmp(mode, "stall") == 0) {
		unsigned char skip[512];

		send_msg(c, r->data, r->len, "keep-10");
		while (read(c, skip, sizeof(skip)) > 0)
			; /* what else comes goes unanswered */
		return -1;
	}
	if (strncmp(mode, "len=", 4) == 0) {
		unsigned char f[2 + 12] = {0, (unsigned char)n};

		if (n < 0 || n >= 12)
			return -1;
		memcpy(f + 2, r->data, (size_t)n);
		write_out(c, f, 2 + (size_t)n);
		return 0;
	}
	send_msg(c, r->data, r->len, mode);
	if (strncmp(mode, "dup=", 4) == 0) {
		sleep_ms(n);
		send_msg(c, r->data, r->len, "keep");
	}
	buf_reset(prev);
	buf_append(prev, r->data, r->len);
	return 0;
}

/* In the spoof modes, send on c the forged replies to the request m
 * (len bytes) that come before its reply, or instead of it. */
static void
send_forged(int c, const unsigned char *m, size_t len, const char *mode)
{
	struct buf f;

	if (strncmp(mode, "spoof-", 6) != 0 &&
	    strcmp(mode, "refuse-first") != 0)
		return;
	buf_init(&f, MSG_MAX);
	if (strcmp(mode, "refuse-first") == 0) {
		if (forged_reply(m, len, 0, LDNS_RCODE_NOTAUTH, &f) == 0)
			send_msg(c, f.data, f.len, "keep");
	} else {
		for (int othermac = 0; othermac < 2; othermac++)
			if (forged_reply(m, len, othermac, LDNS_RCODE_NOERROR,
			                 &f) == 0)
				send_msg(c, f.data, f.len, "keep");
	}
	buf_free(&f);
}

/* Is mode one of the session modes? */
static int
is_session(const char *mode)
{
	static const char *const modes[] = {
	    "keep",           "dup=",         "idle-dup=",
	    "stale",          "stale-only",   "stray",
	    "stray-only",     "split=",       "stall",
	    "late=",          "cut",          "len=",
	    "idle-close=",    "drop-update",  "othermac",
	    "otherkey",       "nosig",        "prereq-refuse",
	    "contend-refuse", "misjudge",     "edit-twice",
	    "drop-applied",   "drop-later",   "spoof-first",
	    "spoof-only",     "refuse-first", "mute-soa=",
	    "ttl-fail=",      "ttl-refuse=",  "ttl-age",
	    "late-refuse",    "late-lost",    "misjudge-edit",
	    "prereq-once",    "bad-update=",  "bad-first=",
	    "contend-first",  "ttl-twice="};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		size_t l = strlen(modes[i]);

		if (modes[i][l - 1] == '=' ? strncmp(mode, modes[i], l) == 0
		                           : strcmp(mode, modes[i]) == 0)
			return 1;
	}
	return 0;
}

/* Wait up to 10 s for the next request on c. When FILE exists before
 * one comes, *acted is set, and with idle-dup=FILE the last reply (prev)
 * sent again (once); with idle-close=FILE the wait ends. Returns 1 when a
 * request came. */
static int
await_request(int c, const char *mode, const struct buf *prev, int *acted)
{
	struct pollfd p = {.fd = c, .events = POLLIN};
	int dup =
	    strncmp(mode, "idle-dup=", 9) == 0 && prev->len > 0 && !*acted;
	int shut = strncmp(mode, "idle-close=", 11) == 0;
	const char *file = strchr(mode, '=') ? strchr(mode, '=') + 1 : "";

	for (int ms = 0; ms < 10000;) {
		/* the file looked for every 10 ms while it can act */
		int tick = dup || shut ? 10 : 10000 - ms;
		int r = poll(&p, 1, tick);

		ms += tick;
		if (r != 0)
			return r == 1;
		if ((!dup && !shut) || access(file, F_OK) != 0)
			continue;
		*acted = 1;
		if (shut)
			return 0;
		send_msg(c, prev->data, prev->len, "keep");
		printf("duplicate sent (connection %lu)\n", connections);
		fflush(stdout);
		dup = 0;
	}
	return 0;
}

/* After an idle close (idle-close=FILE): close the sending side of c
 * only, and read what the client still sends until it closes its side
 * (up to 10 s), printing each request, unanswered: a client that sends on
 * a connection the server closed. */
static void
linger_closed(int c, unsigned char *req)
{
	struct pollfd p = {.fd = c, .events = POLLIN};

	shutdown(c, SHUT_WR);
	printf("closed (connection %lu)\n", connections);
	fflush(stdout);
	while (poll(&p, 1, 10000) == 1 && read_request(c, req) > 0) {
		printf("request after close (connection %lu)\n", connections);
		fflush(stdout);
	}
}

/* Is the request m (len bytes) a query for the SOA record of a zone?
 * Those at a name of underscore_name() (a sync run asks for the SOA of
 * the two names of a domain that changes, and the zone discovery for that
 * of _mta-sts.D) are not counted. */
static int
is_soa_query(const unsigned char *m, size_t len)
{
	size_t q = question_len(m, len);

	return ((m[2] >> 3) & 0xF) == 0 && q >= 4 && m[12 + q - 4] == 0 &&
	       m[12 + q - 3] == LDNS_RR_TYPE_SOA && !underscore_name(m, q);
}

/* In mute-soa=N mode, when the request m (len bytes) is the N-th SOA
 * query: leave it and what else comes on c unanswered until the client
 * closes c. Returns 1 if it did. */
static int
mute_at_soa(int c, const unsigned char *m, size_t len, const char *mode)
{
	static unsigned long soa;
	static unsigned char skip[MSG_MAX + 2];

	if (strncmp(mode, "mute-soa=", 9) != 0 || !is_soa_query(m, len) ||
	    ++soa != strtoul(mode + 9, NULL, 10))
		return 0;
	printf("muted (connection %lu)\n", connections);
	fflush(stdout);
	while (read_request(c, skip) > 0)
		;
	return 1;
}

/* In ttl-fail=N, ttl-refuse=N and ttl-twice=N modes, when the request m
 * (len bytes) is the N-th SOA query: set the TTL of every record to 600,
 * and the reply to the second request after it to SERVFAIL (ttl-fail),
 * that to the next UPDATE to REFUSED (ttl-refuse), or that UPDATE to
 * retime() (ttl-twice). */
static void
ttl_edit_at(const unsigned char *m, size_t len, const char *mode)
{
	static unsigned long soa;
	int fail = strncmp(mode, "ttl-fail=", 9) == 0;
	int twice = strncmp(mode, "ttl-twice=", 10) == 0;

	if ((!fail && !twice && strncmp(mode, "ttl-refuse=", 11) != 0) ||
	    !is_soa_query(m, len) ||
	    ++soa != strtoul(strchr(mode, '=') + 1, NULL, 10))
		return;
	for (size_t i = 0; i < zone_n; i++)
		ldns_rr_set_ttl(zone_rr[i], 600);
	servfail_in = fail ? 3 : 0;
	refuse_update = !fail && !twice;
	retime_update = twice;
}

/* Run the command of $SILENT_SERVER_HOOK ("N:COMMAND") if the UPDATE
 * just read is its N-th. */
static void
update_hook(void)
{
	const char *h = getenv("SILENT_SERVER_HOOK");
	char *colon;

	if (h == NULL || strtoul(h, &colon, 10) != updates || *colon != ':')
		return;
	if (system(colon + 1) != 0)
		fprintf(stderr, "silent-server: the hook failed\n");
}

/* Serve the requests of the connection c as mode says until the client
 * closes it, no request comes in time (see await_request()), or mode
 * closes it. */
static void
session(int c, const char *mode)
{
	static unsigned char req[MSG_MAX + 2];
	struct buf out, prev;
	int one = 1, acted = 0;

	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	printf("connection %lu\n", ++connections);
	fflush(stdout);
	buf_init(&out, MSG_MAX);
	buf_init(&prev, MSG_MAX);
	for (;;) {
		size_t len;
		int update;

		if (!await_request(c, mode, &prev, &acted)) {
			if (acted && strncmp(mode, "idle-close=", 11) == 0)
				linger_closed(c, req);
			break;
		}
		if ((len = read_request(c, req)) == 0 ||
		    mute_at_soa(c, req + 2, len, mode))
			break;
		if (acted) { /* idle-dup: a request after the duplicate */
			printf("request after duplicate (connection %lu)\n",
			       connections);
			fflush(stdout);
		}
		ttl_edit_at(req + 2, len, mode);
		update = ((req[2 + 2] >> 3) & 0xF) == 5;
		if (update) {
			printf("update %lu (connection %lu)\n", ++updates,
			       connections);
			fflush(stdout);
			update_hook();
		}
		if ((update && strcmp(mode, "drop-update") == 0) ||
		    (update && updates > 1 &&
		     strcmp(mode, "drop-later") == 0) ||
		    session_reply(req + 2, len, mode, &out) == -1 ||
		    (update && strcmp(mode, "drop-applied") == 0) ||
		    (update && updates == 2 && strcmp(mode, "late-lost") == 0))
			break;
		send_forged(c, req + 2, len, mode);
		if (send_bad(c, req + 2, len, mode) == -1 ||
		    deliver(c, &out, &prev, mode) == -1)
			break;
	}
	buf_free(&out);
	buf_free(&prev);
	close(c);
}

/* Set key from "[alg:]name:secret". Returns 0, or -1. */
static int
key_parse(const char *arg)
{
	char *s = strdup(arg), *c1 = s ? strchr(s, ':') : NULL, *c2;
	struct diag d;
	int rc;

	if (c1 == NULL) {
		free(s);
		return -1;
	}
	c2 = strchr(c1 + 1, ':');
	*c1 = '\0';
	if (c2 != NULL)
		*c2 = '\0';
	diag_init(&d);
	rc = c2 ? tsig_key_init(&key, c1 + 1, s, c2 + 1, &d)
	        : tsig_key_init(&key, s, NULL, c1 + 1, &d);
	free(s);
	if (rc == -1)
		fprintf(stderr, "silent-server: %s\n", d.error);
	have_key = rc == 0;
	return rc;
}

/* Answer the query waiting on the UDP socket u as mode does (rcode=0 or
 * truncated). */
static void
answer_udp(int u, const char *mode)
{
	static unsigned char msg[65535 + 2];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(u, msg + 2, sizeof(msg) - 2, 0,
	                     (struct sockaddr *)&from, &flen);
	size_t len;

	if (n < 12)
		return;
	len = make_answer(msg, (size_t)n, mode);
	sendto(u, msg + 2, len, 0, (struct sockaddr *)&from, flen);
}

/* A UDP socket bound to the address sin, or -1 (UDP not served). */
static int
udp_open(const struct sockaddr_in *sin)
{
	int u = socket(AF_INET, SOCK_DGRAM, 0);

	if (u != -1 &&
	    bind(u, (const struct sockaddr *)sin, sizeof(*sin)) == -1) {
		close(u);
		u = -1;
	}
	return u;
}

/* Wait for a connection on the listening socket fd, answering what comes
 * on the UDP socket u (if not -1) meanwhile as udp_mode does. Returns the
 * connection, or -1. */
static int
accept_serving_udp(int fd, int u, const char *udp_mode)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
	                      {.fd = u, .events = POLLIN}};

	while (poll(p, u == -1 ? 1 : 2, -1) > 0 && !(p[0].revents & POLLIN))
		if (p[1].revents & POLLIN)
			answer_udp(u, udp_mode);
	return accept(fd, NULL, NULL);
}

/* The udp-only, udp-truncated, udp-truncated-ra and udp-servfail modes:
 * answer UDP at sin as mode does, with no TCP socket. Returns 1 if the port
 * cannot be had for UDP. */
static int
serve_udp_only(const struct sockaddr_in *sin, const char *mode)
{
	int u = udp_open(sin);

	if (u == -1) {
		perror("silent-server");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		answer_udp(u, mode);
}

#define FORWARD_WAIT_MS 2000 /* for the real server's reply */

/* What the udp-forward mode does: where it relays to, and the name
 * (wire form, fwd_len bytes) whose addresses it fails. */
static struct sockaddr_in fwd_to;
static unsigned char fwd_name[256];
static size_t fwd_len;
static int fwd_servfail, fwd_drop_probe;

/* Set up the udp-forward mode from "PORT:NAME[:servfail[:drop-probe]]".
 * Returns 0, or -1 if it is not that. */
static int
forward_parse(const char *arg)
{
	char name[256];
	const char *colon = strchr(arg, ':'), *end;
	long port = strtol(arg, NULL, 10);

	if (colon == NULL || port <= 0 || port > 65535)
		return -1;
	end = strchr(colon + 1, ':');
	fwd_drop_probe =
	    end != NULL && strcmp(end, ":servfail:drop-probe") == 0;
	fwd_servfail =
	    fwd_drop_probe || (end != NULL && strcmp(end, ":servfail") == 0);
	if (end == NULL)
		end = colon + strlen(colon);
	else if (!fwd_servfail)
		return -1;
	if ((size_t)(end - colon) > sizeof(name))
		return -1;
	memcpy(name, colon + 1, (size_t)(end - colon - 1));
	name[end - colon - 1] = '\0';
	memset(&fwd_to, 0, sizeof(fwd_to));
	fwd_to.sin_family = AF_INET;
	fwd_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fwd_to.sin_port = htons((unsigned short)port);
	fwd_len = wire_name(name, fwd_name);
	return fwd_len > 0 ? 0 : -1;
}

/* Is the question of the query m (len bytes) for an A or AAAA record of
 * the name that udp-forward fails? */
static int
forward_fails(const unsigned char *m, size_t len)
{
	size_t q = question_len(m, len);
	unsigned type;

	if (q != fwd_len + 4)
		return 0;
	type = (unsigned)m[12 + q - 4] << 8 | m[12 + q - 3];
	if (type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA)
		return 0;
	for (size_t i = 0; i < fwd_len; i++)
		if (tolower(m[12 + i]) != tolower(fwd_name[i]))
			return 0;
	return 1;
}

/* Is the question of the query m (len bytes) of check's probe below the
 * name udp-forward fails: one label more, "mta-sts-sync-" and more? */
static int
forward_probe(const unsigned char *m, size_t len)
{
	static const char prefix[] = "mta-sts-sync-";
	size_t q = question_len(m, len), lab = q > 0 ? m[12] : 0;

	if (q != 1 + lab + fwd_len + 4 || lab <= strlen(prefix) ||
	    strncasecmp((const char *)m + 13, prefix, strlen(prefix)) != 0)
		return 0;
	for (size_t i = 0; i < fwd_len; i++)
		if (tolower(m[13 + lab + i]) != tolower(fwd_name[i]))
			return 0;
	return 1;
}

/* Relay the query m (len bytes) to the real server over the socket f
 * (connected to it) and put its reply, with the same id, into m.
 * Returns the reply's length, or 0 if none came in time. */
static size_t
forward_relay(int f, unsigned char *m, size_t len, size_t size)
{
	struct pollfd p = {.fd = f, .events = POLLIN};
	unsigned char id[2] = {m[0], m[1]};
	ssize_t n = 0;

	if (send(f, m, len, 0) != (ssize_t)len)
		return 0;
	while (poll(&p, 1, FORWARD_WAIT_MS) == 1 &&
	       (n = recv(f, m, size, 0)) >= 12)
		if (m[0] == id[0] && m[1] == id[1])
			return (size_t)n;
	return 0;
}

/* The udp-forward mode: answer UDP at sin, relaying to fwd_to all but
 * the questions that forward_fails() picks. Returns 1 if a socket
 * cannot be had. */
static int
serve_forward(const struct sockaddr_in *sin)
{
	static unsigned char msg[65535];
	struct sockaddr_in from;
	socklen_t flen;
	int u = udp_open(sin), f = socket(AF_INET, SOCK_DGRAM, 0);

	if (u == -1 || f == -1 ||
	    connect(f, (const struct sockaddr *)&fwd_to, sizeof(fwd_to)) ==
	        -1) {
		perror("silent-server");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		ssize_t n;
		size_t len;

		flen = sizeof(from);
		n = recvfrom(u, msg, sizeof(msg), 0, (struct sockaddr *)&from,
		             &flen);
		if (n < 12)
			continue;
		len = (size_t)n;
		if (fwd_drop_probe && forward_probe(msg, len))
			len = 0; /* no reply */
		else if (!forward_fails(msg, len))
			len = forward_relay(f, msg, len, sizeof(msg));
		else if (fwd_servfail) {
			msg[2] |= 0x80;                      /* QR */
			msg[2] &= (unsigned char)~0x04;      /* AA clear */
			msg[3] = 0x80 | LDNS_RCODE_SERVFAIL; /* RA */
			memset(msg + 6, 0, 6);
			len = 12 + question_len(msg, len);
		} else
			len = 0; /* no reply */
		if (len > 0)
			sendto(u, msg, len, 0, (struct sockaddr *)&from, flen);
	}
}

/* Parse "[ADDR#]PORT" into sin (127.0.0.1 without ADDR). Returns 0, or
 * -1 if it is not one. */
static int
listen_address(const char *arg, struct sockaddr_in *sin)
{
	const char *hash = strchr(arg, '#');
	char addr[INET_ADDRSTRLEN];
	long port;
	char *end;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (hash != NULL) {
		if ((size_t)(hash - arg) >= sizeof(addr))
			return -1;
		memcpy(addr, arg, (size_t)(hash - arg));
		addr[hash - arg] = '\0';
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return -1;
		arg = hash + 1;
	}
	port = strtol(arg, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535)
		return -1;
	sin->sin_port = htons((unsigned short)port);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *mode = argc > 2 ? argv[2] : "silent", *udp_mode = "rcode=0";
	int fd, u, one = 1, updated = 0;

	if (argc < 2 || argc > 4 || (argc == 4 && key_parse(argv[3]) == -1))
		return 2;
	signal(SIGPIPE, SIG_IGN); /* a client gone is not our end */
	if (listen_address(argv[1], &sin) == -1)
		return 2;
	if (strcmp(mode, "udp-only") == 0)
		return serve_udp_only(&sin, "rcode=0");
	if (strcmp(mode, "udp-truncated") == 0)
		return serve_udp_only(&sin, "truncated");
	if (strcmp(mode, "udp-truncated-ra") == 0)
		return serve_udp_only(&sin, "truncated-ra");
	if (strcmp(mode, "udp-servfail") == 0)
		return serve_udp_only(&sin, "servfail");
	if (strncmp(mode, "udp-forward=", 12) == 0)
		return forward_parse(mode + 12) == -1 ? 2 : serve_forward(&sin);
	if (strncmp(mode, "udp-tc:", 7) == 0) {
		udp_mode = "truncated";
		mode += 7;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1) {
		perror("silent-server");
		return 1;
	}
	u = udp_open(&sin);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept_serving_udp(fd, u, udp_mode);

		if (c == -1) {
			sleep(1);
			continue;
		}
		if (strcmp(mode, "silent") == 0)
			continue; /* kept open, never answered */
		if (is_session(mode)) {
			session(c, mode);
			continue;
		}
		if (strcmp(mode, "reverse") == 0)
			answer_reversed(c);
		else if (strcmp(mode, "refuse-once") == 0) {
			if (!updated)
				updated = answer(c, "rcode=8");
		} else if (strcmp(mode, "accept-once") == 0) {
			if (!updated)
				updated = answer(c, "rcode=0");
		} else
			answer(c, mode);
		close(c);
	}
}
