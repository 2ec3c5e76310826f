/*
 * dnsupdate.c - finding the zone and its primary, reading the records
 * as the primary holds them, and changing them with TSIG-signed RFC 2136
 * UPDATEs whose prerequisites are the RRsets as read: one per zone, or
 * a few in a row when its changes do not fit in one message.
 *
 * Queries are written in wire form here, UPDATEs built with ldns, and
 * replies parsed with ldns; the TSIG RR is added and checked on the wire
 * by tsig.c. Every exchange with the primary goes over a TCP connection
 * each thread keeps open, the queries of a domain pipelined on it
 * (RFC 7766 section 6.2.1.1) and their replies matched by id and
 * question (tcp_exchange); an UPDATE opens a new one. check asks a
 * resolver the questions of the wildcard test the same way
 * (dns_domain_wildcard()), with recursion desired.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "dnsupdate.h"
#include "log.h"
#include "record.h"

#define DNS_MSG_MAX 65535
/* messages pipelined at once: at most those of dns_state_wildcards(),
 * two TXT probes and the eleven questions about the domain, or those of
 * dns_domain_wildcard(), its SOA, its MX and the same eleven */
#define QUERY_MAX 13

/* ------------------------------------------------------------ helpers */

/* Describe address i of t for messages: "ns1.example (192.0.2.1) port
 * 53" or "192.0.2.1 port 53". */
static void
target_where(const struct dns_target *t, size_t i, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	const union dns_addr *a = &t->addr[i];

	if (a->ss_family == AF_INET) {
		inet_ntop(AF_INET, &a->sin.sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin.sin_port);
	} else if (a->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6.sin6_port);
	}
	if (t->server[0] == '\0' || strcmp(t->server, ip) == 0)
		snprintf(out, size, "server %s port %u", ip, port);
	else
		snprintf(out, size, "server %s (%s) port %u", t->server, ip,
		         port);
}

/* Copy a name into out (size DNS_NAME_MAX + 1) in lower case without a
 * trailing dot. Returns 0, or -1 if it is empty or too long. */
static int
name_copy(char *out, const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX - 2)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return 0;
}

/* Append the label byte c of a name to out at *o as ldns writes it
 * (\. \; \( \) \\, \DDD for other than printable ASCII), in lower case.
 * Returns 0, or -1 if it does not fit before max. */
static int
label_char(unsigned char c, char *out, size_t *o, size_t max)
{
	int quote = c == '.' || c == ';' || c == '(' || c == ')' || c == '\\';
	int code = c <= ' ' || c >= 0x7f;

	if (*o + (code ? 4 : quote ? 2 : 1) > max)
		return -1;
	if (quote) {
		out[(*o)++] = '\\';
		out[(*o)++] = (char)c;
	} else if (code) {
		snprintf(out + *o, 5, "\\%03u", c);
		*o += 4;
	} else {
		out[(*o)++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	return 0;
}

/* The domain name in a dname rdf as text, lower case, without the
 * trailing dot ("." for the root, or for a name whose text is longer
 * than a domain name may be): a new string. */
static char *
rdf_name(const ldns_rdf *rdf)
{
	const uint8_t *p = ldns_rdf_data(rdf);
	size_t len = ldns_rdf_size(rdf), i = 0, o = 0;
	char out[DNS_NAME_MAX + 1];

	while (i < len && p[i] != 0) {
		size_t l = p[i++];

		if (l > 63 || i + l > len ||
		    (o > 0 && o + 1 > DNS_NAME_MAX - 2))
			return xstrdup(".");
		if (o > 0)
			out[o++] = '.';
		for (; l > 0; l--)
			if (label_char(p[i++], out, &o, DNS_NAME_MAX - 2) == -1)
				return xstrdup(".");
	}
	out[o] = '\0';
	return xstrdup(o > 0 ? out : ".");
}

/* Fill b with n (at most 256) bytes from OpenSSL's CSPRNG, for message
 * ids (an off-path attacker must not guess them), drawn 256 at a time
 * into a per-thread pool: each draw takes the generator's lock. Ends the
 * program if no randomness is available. */
static void
random_bytes(unsigned char *b, size_t n)
{
	static __thread unsigned char pool[256];
	static __thread size_t left;

	if (n > left) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			die(1, "cannot get random bytes for a DNS message id");
		left = sizeof(pool);
	}
	memcpy(b, pool + sizeof(pool) - left, n);
	OPENSSL_cleanse(pool + sizeof(pool) - left, n);
	left -= n;
}

static uint64_t
now_seconds(void)
{
	return (uint64_t)time(NULL);
}

/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC), never 0: a
 * time to measure what elapsed since. */
static uint64_t
mono_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000 +
	       1;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 86400000 ? 86400000 : (int)ms;
}

/* ------------------------------------------------------- TCP exchange */

/* Wait until fd is ready for events or the deadline passes. Returns 0,
 * or -1 with errno ETIMEDOUT or the poll error. */
static int
wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int n = poll(&p, 1, ms_left(deadline));

		if (n > 0)
			return 0;
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* Connect fd to sa before the deadline. Returns 0, or -1 with errno. */
static int
connect_by(int fd, const union dns_addr *sa, socklen_t len,
           const struct timespec *deadline)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	if (connect(fd, &sa->sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	if (wait_fd(fd, POLLOUT, deadline) == -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* One request of an exchange with the primary, and its reply. */
struct wire_req {
	const unsigned char *q; /* the message, without length prefix */
	size_t qlen;
	struct buf *reply; /* receives the reply */
	int got;           /* the reply has come */
	int sent;          /* it was written whole on a connection */
	/* the key the request is signed with and its MAC, which a reply's
	 * TSIG must cover (key NULL: replies are not checked here) */
	const struct tsig_key *key;
	const struct tsig_mac *mac;
	/* reply holds a reply with its id and question whose TSIG does not
	 * prove it the server's: kept, while the genuine one may still come
	 * (reply_take()), for its fault if none does */
	int suspect;
	/* an UPDATE the server got whole, whose connection then ended
	 * before anything came back: no answer, not even a wrong one */
	int lost;
};

/* Write len bytes before the deadline. Returns 0, or -1 with errno. */
static int
write_all(int fd, const unsigned char *p, size_t len,
          const struct timespec *deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) == -1)
				return -1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Ask the kernel to acknowledge what arrives on fd at once, not after
 * the delayed-ACK timer, until we send again (it goes back to delaying
 * ACKs when we answer what we receive, so this is renewed after each
 * pipelined write). A server that writes each pipelined reply by itself
 * with Nagle's algorithm on (BIND) holds back the second reply until
 * the first is acknowledged: delayed, that costs 40 ms.
 */
static void
quick_ack(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* What has been read from a connection and not yet taken as a message. */
struct rx {
	unsigned char *p;
	size_t len, cap;
};

/*
 * How the exchange with one address of the primary went, for its
 * message when it fails.
 */
struct attempt {
	struct timespec deadline;
	int connected;   /* a connection was accepted (or kept) */
	int clean;       /* the server sent nothing but the replies */
	size_t stray;    /* replies read that answer no request waiting */
	unsigned faults; /* how they did not (enum mismatch bits) */
	size_t suspect;  /* replies kept aside for their TSIG (wire_req) */
	size_t runt;     /* the length of a message too short for DNS */
	size_t have;     /* at an early end: bytes of the reply that came */
	size_t want;     /* and those its length prefix announced (0: ?) */
};

/* Replies that answer no request waiting (a duplicate, a stale reply,
 * one to another question) read past in one exchange with an address:
 * STRAY_BASE, and STRAY_PER_REQUEST for each request of the batch, so
 * that a server that sends a stray or two before each reply still serves
 * a batch of QUERY_MAX; more, and the server is taken for broken. The
 * deadline bounds the time; this bounds only the work. */
#define STRAY_BASE 16
#define STRAY_PER_REQUEST 2

/* The most strays read past in an exchange of n requests. */
static size_t
stray_max(size_t n)
{
	return STRAY_BASE + STRAY_PER_REQUEST * n;
}

/* Take the next length-prefixed message buffered in rx into out. Returns
 * 1 if one was taken, 0 if more must be read first, -1 for a message
 * shorter than a DNS header (its length in *runt). */
static int
frame_take(struct rx *rx, struct buf *out, size_t *runt)
{
	size_t mlen;

	if (rx->len < 2)
		return 0;
	mlen = (size_t)rx->p[0] << 8 | rx->p[1];
	if (mlen < 12) {
		*runt = mlen;
		return -1;
	}
	if (rx->len < 2 + mlen)
		return 0;
	buf_reset(out);
	buf_append(out, rx->p + 2, mlen); /* out holds DNS_MSG_MAX bytes */
	rx->len -= 2 + mlen;
	memmove(rx->p, rx->p + 2 + mlen, rx->len);
	return 1;
}

/* Take the next length-prefixed message from the connection fd into out,
 * reading more before the deadline as needed (only what the kernel has:
 * a reply that arrived whole costs one recv). Returns 0, or -1 with
 * errno (ECONNRESET for an early end of stream, ETIMEDOUT, both with
 * what came of the message in a->have and a->want; EPROTO for a message
 * shorter than a DNS header, its length in a->runt). */
static int
rx_message(int fd, struct rx *rx, struct buf *out, struct attempt *a)
{
	for (;;) {
		size_t need = rx->len < 2 ? 2 : 2 + (rx->p[0] << 8 | rx->p[1]);
		int f = frame_take(rx, out, &a->runt);
		ssize_t n;

		if (f == 1)
			return 0;
		if (f == -1) {
			errno = EPROTO;
			return -1;
		}
		if (rx->cap < need || rx->cap < 4096) {
			/* never below what it holds: rx->len < need */
			rx->cap = need > 4096 ? need : 4096;
			rx->p = xrealloc(rx->p, rx->cap);
		}
		n = recv(fd, rx->p + rx->len, rx->cap - rx->len, 0);
		if (n > 0) {
			rx->len += (size_t)n;
			continue;
		}
		a->have = rx->len > 2 ? rx->len - 2 : 0;
		a->want = rx->len >= 2 ? need - 2 : 0;
		if (n == 0 || errno == ECONNRESET) {
			errno = ECONNRESET;
			return -1;
		}
		if ((errno == EAGAIN &&
		     wait_fd(fd, POLLIN, &a->deadline) == -1) ||
		    (errno != EAGAIN && errno != EINTR))
			return -1;
	}
}

/* The length of the question of a message (its header and first
 * question, or just its header when QDCOUNT is 0), or 0 if it is
 * malformed. Names in requests and echoed questions are uncompressed. */
static size_t
question_end(const unsigned char *m, size_t len)
{
	size_t off = 12;

	if (len < 12)
		return 0;
	if ((m[4] << 8 | m[5]) == 0)
		return 12;
	while (off < len && m[off] != 0) {
		if (m[off] & 0xC0)
			return 0;
		off += 1 + m[off];
	}
	return off + 5 <= len ? off + 5 : 0;
}

/* How a reply fails to answer a request (reply_mismatch()): bits, as an
 * exchange collects them for its message. */
enum mismatch {
	MATCH = 0,
	MISMATCH_ID = 1,       /* another message id */
	MISMATCH_QUESTION = 2, /* another question (an UPDATE's: its zone) */
	MISMATCH_OPCODE = 4,   /* another opcode */
	MISMATCH_QR = 8,       /* QR clear: not a response at all */
};

/* Does the reply r answer the request w: the same id, QR set, the same
 * opcode (RFC 1035 section 4.1.1, RFC 2136 section 3.8) and, unless the
 * reply carries no question (some error replies), the same question (the
 * name in any case)? Returns MATCH, or the first of these it fails. */
static enum mismatch
reply_mismatch(const struct wire_req *w, const struct buf *r)
{
	const unsigned char *q = w->q, *a = (const unsigned char *)r->data;
	size_t qe = question_end(q, w->qlen), ae = question_end(a, r->len);

	if (r->len < 12 || q[0] != a[0] || q[1] != a[1])
		return MISMATCH_ID;
	if (!(a[2] & 0x80))
		return MISMATCH_QR;
	if (((a[2] ^ q[2]) & 0x78) != 0) /* the opcode's four bits */
		return MISMATCH_OPCODE;
	if (ae == 12 && qe != 0)
		return MATCH;
	if (qe == 0 || ae != qe)
		return MISMATCH_QUESTION;
	for (size_t i = 12; i < qe - 4; i++) {
		unsigned char x = q[i], y = a[i];

		x = x >= 'A' && x <= 'Z' ? x - 'A' + 'a' : x;
		y = y >= 'A' && y <= 'Z' ? y - 'A' + 'a' : y;
		if (x != y)
			return MISMATCH_QUESTION;
	}
	/* QTYPE, QCLASS */
	return memcmp(q + qe - 4, a + qe - 4, 4) == 0 ? MATCH
	                                              : MISMATCH_QUESTION;
}

/*
 * Could the reply r to the signed request w be forged: its TSIG does not
 * verify (none, another key's, a wrong MAC, unreadable)? Anyone who sees
 * the id and question can send that, so it must not end the exchange
 * before the server's own reply comes. A TSIG error (BADSIG, BADKEY,
 * BADTIME) is not: it is the server's answer to a request it could not
 * check, unsigned by design (RFC 8945 section 5.3.2), and Knot denies an
 * UPDATE so; waiting past it would only delay that refusal. Nor is an
 * unsigned error (NOTAUTH, REFUSED...): PowerDNS refuses a key it cannot
 * check so, and a forger who can end the exchange with a forged TSIG
 * error gains nothing more with it, while waiting would hold each such
 * refusal until the server closes the connection. check_reply() verifies
 * the reply taken again, and words its fault.
 */
static int
reply_suspect(const struct wire_req *w, const struct buf *r)
{
	struct tsig_info info;
	enum tsig_status st;

	if (w->key == NULL)
		return 0;
	st = tsig_verify(w->key, (const unsigned char *)r->data, r->len, w->mac,
	                 now_seconds(), &info);
	if (st == TSIG_UNSIGNED && r->len > 3 &&
	    ((const unsigned char *)r->data)[3] % 16 != LDNS_RCODE_NOERROR)
		return 0; /* the header's RCODE: an unsigned refusal */
	return st == TSIG_UNSIGNED || st == TSIG_MALFORMED ||
	       st == TSIG_OTHER_KEY || st == TSIG_BAD_MAC;
}

/* What reply_take() did with a reply. */
enum take {
	TAKE_DONE,    /* it answers its request */
	TAKE_SUSPECT, /* kept aside: its TSIG does not prove it (see above) */
	TAKE_STRAY,   /* it answers no request waiting */
};

/* Put the reply r into the request of w it answers, or keep it there as
 * suspect (the first such reply only: its fault is reported if no
 * genuine reply comes). A stray's fault is put in *fault: how it fails
 * the request waiting with its id, or MISMATCH_ID if none has it. */
static enum take
reply_take(struct wire_req *w, size_t n, struct buf *r, unsigned *fault)
{
	*fault = MISMATCH_ID;
	for (size_t i = 0; i < n; i++) {
		enum mismatch m =
		    w[i].got ? MISMATCH_ID : reply_mismatch(&w[i], r);
		int suspect;

		if (m != MATCH) {
			*fault = m != MISMATCH_ID ? (unsigned)m : *fault;
			continue;
		}
		suspect = reply_suspect(&w[i], r);
		if (suspect && w[i].suspect)
			return TAKE_SUSPECT;
		buf_reset(w[i].reply);
		if (buf_append(w[i].reply, r->data, r->len) == -1)
			break;
		w[i].suspect = suspect;
		w[i].got = !suspect;
		return suspect ? TAKE_SUSPECT : TAKE_DONE;
	}
	return TAKE_STRAY;
}

/* Is the wire message m (len bytes) an UPDATE? Its opcode is in the
 * header's third byte. */
static int
wire_is_update(const unsigned char *m, size_t len)
{
	return len > 2 && ((m[2] >> 3) & 0xF) == LDNS_PACKET_UPDATE;
}

/* Is the request w an UPDATE? */
static int
req_is_update(const struct wire_req *w)
{
	return wire_is_update(w->q, w->qlen);
}

/* Was an UPDATE among the requests of w written whole and left without
 * its reply? The server may then have applied it: it is not sent again. */
static int
update_unanswered(const struct wire_req *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].sent && !w[i].got && req_is_update(&w[i]))
			return 1;
	return 0;
}

/*
 * Send every request of w not answered yet on the connected fd, back to
 * back (RFC 7766 section 6.2.1.1 pipelining), then read the replies in
 * whatever order they come, each into its request. A reply that answers
 * no request waiting (a duplicate, a stale reply, a reply to another
 * question or of another opcode, a message that is no response: RFC 7766
 * section 7 matches by id and question) is read past, counted in
 * a->stray and its fault in a->faults; one to a signed request whose TSIG does
 * not prove it the server's is kept aside and counted in a->suspect, and the
 * request waits on for its genuine reply: together up to stray_max(n)
 * over the attempt (the kept connection and the new ones), within the
 * deadline. A reply taken is checked again by check_reply(), which words
 * what is wrong with it. Returns 0, or -1 with errno (EBADMSG: too many
 * replies read past); a->clean is cleared when the server sent anything
 * but the replies (the connection must not be used again).
 */
static int
exchange_on(int fd, struct wire_req *w, size_t n, struct attempt *a)
{
	struct buf out, r;
	struct rx rx = {NULL, 0, 0};
	size_t waiting = 0, skipped = a->stray + a->suspect;
	int rc = -1;

	a->have = a->want = 0;

	buf_init(&out, (size_t)n * (DNS_MSG_MAX + 2));
	buf_init(&r, DNS_MSG_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char l[2] = {(unsigned char)(w[i].qlen >> 8),
		                      (unsigned char)w[i].qlen};

		if (w[i].got)
			continue;
		buf_append(&out, l, 2);
		buf_append(&out, w[i].q, w[i].qlen);
		waiting++;
	}
	if (write_all(fd, (unsigned char *)out.data, out.len, &a->deadline) ==
	    -1)
		goto out;
	for (size_t i = 0; i < n; i++)
		w[i].sent |= !w[i].got;
	if (waiting > 1)
		quick_ack(fd);
	while (waiting > 0) {
		enum take k;
		unsigned fault;

		if (rx_message(fd, &rx, &r, a) == -1)
			goto out;
		k = reply_take(w, n, &r, &fault);
		if (k == TAKE_DONE) {
			waiting--;
			continue;
		}
		if (k == TAKE_STRAY) {
			a->stray++;
			a->faults |= fault;
		} else
			a->suspect++;
		if (a->stray + a->suspect > stray_max(n)) {
			errno = EBADMSG;
			goto out;
		}
	}
	a->clean = rx.len == 0 && a->stray + a->suspect == skipped;
	rc = 0;
out:
	buf_free(&out);
	buf_free(&r);
	free(rx.p);
	return rc;
}

/* "N replies" or "a reply", into out. */
static void
replies_text(size_t n, char *out, size_t size)
{
	if (n == 1)
		str_copy(out, size, "a reply");
	else
		snprintf(out, size, "%zu replies", n);
}

/* What was wrong with the replies that matched no request (the
 * MISMATCH_ bits of faults; suspect: some were kept aside for their
 * TSIG), as "wrong id or question", "not a response", ..., into out. */
static void
faults_text(unsigned faults, int suspect, char *out, size_t size)
{
	static const char *const what[] = {"id", "question", "opcode"};
	const char *sep = "wrong ";
	size_t o = 0;
	unsigned left =
	    faults & (MISMATCH_ID | MISMATCH_QUESTION | MISMATCH_OPCODE);

	out[0] = '\0';
	for (unsigned i = 0; i < 3; i++) {
		if (!(left & 1u << i))
			continue;
		left &= ~(1u << i);
		o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%s%s",
		                      sep, what[i]);
		sep = (left & (left - 1)) != 0 ? ", " : " or ";
	}
	if (faults & MISMATCH_QR)
		o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%s",
		                      o > 0 ? ", or not a response"
		                            : "not a response");
	if (suspect)
		snprintf(out + o, o < size ? size - o : 0, "%s",
		         o > 0 ? ", or a TSIG that is not the server's"
		               : "a TSIG that is not the server's");
}

/*
 * Explain why an exchange with where failed (errno err, a telling how
 * it went) when replies that match no request came: the id, question or
 * opcode is wrong, or it is no response, or the server repeats itself;
 * or too many came, some kept aside for a TSIG that is not the server's.
 * With update_sent, the server got an UPDATE whole, which it may have
 * applied: the reason says so, and 1 is returned (else 0).
 */
static int
stray_error(int err, const struct attempt *a, int update_sent,
            const char *where, unsigned timeout, char *out, size_t len)
{
	char what[32], then[64], why[128];
	const char *upd = update_sent ? ": no answer to the update, which "
	                                "may have been applied; the next run "
	                                "checks"
	                              : "";

	replies_text(a->stray + a->suspect, what, sizeof(what));
	faults_text(a->stray > 0 ? a->faults : 0, a->suspect > 0, why,
	            sizeof(why));
	if (err == ETIMEDOUT)
		snprintf(then, sizeof(then), ", and no other within %u s",
		         timeout);
	else if (err == ECONNRESET || err == EPIPE)
		str_copy(then, sizeof(then), ", then closed the connection");
	else if (err == EBADMSG)
		str_copy(then, sizeof(then), "");
	else
		snprintf(then, sizeof(then), ", then failed: %s",
		         strerror(err));
	reason_first(out, len,
	             "%s sent %s that %s not match the request (%s)%s%s", where,
	             what, a->stray + a->suspect == 1 ? "does" : "do", why,
	             then, upd);
	return update_sent;
}

/* How much of the reply came before the connection ended, as " (N of M
 * bytes came)" or "", into out. */
static void
cut_text(const struct attempt *a, char *out, size_t size)
{
	out[0] = '\0';
	if (a->want > 0)
		snprintf(out, size, " (%zu of its %zu bytes came)", a->have,
		         a->want);
}

/*
 * Explain why an exchange with where failed (errno err, a telling how it
 * went) after the server got an UPDATE whole, into out: no answer is no
 * refusal, the server may have applied it, or apply it later, and the
 * next run, which reads the records, will see. Returns 1, or 0 when err
 * is not about the answer (the connection was refused, say: the
 * exchange_error() of any request then tells it).
 */
static int
update_exchange_error(int err, const struct attempt *a, const char *where,
                      unsigned timeout, char *out, size_t len)
{
	char cut[64];

	cut_text(a, cut, sizeof(cut));
	if (err == ETIMEDOUT)
		reason_first(out, len,
		             "no answer to the update from %s within %u s%s: "
		             "it may still be applied; the next run checks",
		             where, timeout, cut);
	else if (err == ECONNRESET || err == EPIPE)
		reason_first(out, len,
		             "%s closed the connection without a complete "
		             "reply to the update%s: it may have been applied; "
		             "the next run checks",
		             where, cut);
	else if (err == EPROTO)
		reason_first(out, len,
		             "%s answered the update with a message of %zu "
		             "bytes, too short for DNS (a header alone is 12): "
		             "it may have been applied; the next run checks",
		             where, a->runt);
	else
		return 0;
	return 1;
}

/*
 * Explain why an exchange with where failed (errno err, a telling how it
 * went), into out; when the request was an UPDATE that the server got
 * whole (update_sent), as update_exchange_error() does. Returns 1 when
 * the reason says that the server may have applied the UPDATE, else 0.
 */
static int
exchange_error(int err, const struct attempt *a, int update_sent,
               const char *where, unsigned timeout, char *out, size_t len)
{
	char cut[64];

	if ((a->stray > 0 && err != EPROTO) || err == EBADMSG)
		return stray_error(err, a, update_sent, where, timeout, out,
		                   len);
	if (update_sent &&
	    update_exchange_error(err, a, where, timeout, out, len))
		return 1;
	cut_text(a, cut, sizeof(cut));
	if (err == EPROTO)
		reason_first(
		    out, len,
		    "%s sent a message of %zu bytes, too short for DNS "
		    "(a header alone is 12): a broken server, or not a "
		    "DNS server",
		    where, a->runt);
	else if (err == ETIMEDOUT && a->want > 0)
		reason_first(out, len,
		             "no complete reply from %s within %u s%s: is the "
		             "server or the network between overloaded?",
		             where, timeout, cut);
	else if (err == ETIMEDOUT)
		reason_first(
		    out, len, "no answer from %s within %u s%s", where, timeout,
		    a->connected
		        ? " (the TCP connection was accepted, but "
		          "no reply came: is the server hung, or at its "
		          "limit of TCP connections? see -j in "
		          "mta-sts-sync(8))"
		        : "");
	else if (err == ECONNREFUSED)
		reason_first(out, len,
		             "connection to %s refused: is the server running "
		             "and listening on TCP?",
		             where);
	else if (err == ECONNRESET || err == EPIPE)
		reason_first(out, len,
		             "%s closed the connection without a complete "
		             "reply%s",
		             where, cut);
	else
		reason_first(out, len, "cannot talk to %s: %s", where,
		             strerror(err));
	return 0;
}

/*
 * Each thread keeps its last TCP connection to a primary open (RFC 7766
 * section 6.2.1), so that a domain's reads share one connection, and its
 * read-back that of its UPDATE, instead of opening one each. An UPDATE
 * goes on a new connection: on a kept one the server may be closing (its
 * idle timeout, or a server that closes after each reply), its loss
 * could not be told from a server that took it and went away, and it is
 * never sent twice. A connection that fails in any way is closed, never
 * used again.
 */
struct conn_cache {
	int fd;
	union dns_addr addr;
	socklen_t len;
};

static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void
conn_destroy(void *p)
{
	struct conn_cache *c = p;

	if (c->fd != -1)
		close(c->fd);
	free(c);
}

static void
conn_key_init(void)
{
	pthread_key_create(&conn_key, conn_destroy);
}

/* This thread's cache. */
static struct conn_cache *
conn_get(void)
{
	struct conn_cache *c;

	pthread_once(&conn_once, conn_key_init);
	c = pthread_getspecific(conn_key);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->fd = -1;
		pthread_setspecific(conn_key, c);
	}
	return c;
}

/* Close this thread's kept connection, if any, and free its TSIG
 * contexts. */
void
dns_close_connections(void)
{
	struct conn_cache *c;

	pthread_once(&conn_once, conn_key_init);
	c = pthread_getspecific(conn_key);
	if (c != NULL) {
		pthread_setspecific(conn_key, NULL);
		conn_destroy(c);
	}
	tsig_thread_cleanup();
}

/* Keep fd (connected to address i of t) as this thread's connection. */
static void
conn_keep(const struct dns_target *t, size_t i, int fd)
{
	struct conn_cache *c = conn_get();

	if (c->fd != -1)
		close(c->fd);
	c->fd = fd;
	c->addr = t->addr[i];
	c->len = t->addrlen[i];
}

/* Has the idle kept connection fd anything to read: a reply nobody asked
 * for (a duplicate that came late), or the server's end of the
 * connection (its idle timeout)? Then nothing is sent on it. */
static int
conn_unsettled(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

/* Close this thread's kept connection, if any. */
static void
conn_drop(struct conn_cache *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/*
 * Try the queries of w on the kept connection if it goes to address i of
 * t. Returns 0 on success; 1 if there was none to use, or w holds an
 * UPDATE (the kept connection is closed first: a job holds one
 * connection at a time), or the connection was not idle and quiet (see
 * conn_unsettled()), or the server closed it before all the replies came:
 * the requests not answered go on a new one; -1 with errno on another
 * failure.
 */
static int
conn_reuse(const struct dns_target *t, size_t i, struct wire_req *w, size_t n,
           struct attempt *a)
{
	struct conn_cache *c = conn_get();
	int rc, err;

	for (size_t k = 0; k < n; k++)
		if (req_is_update(&w[k])) {
			conn_drop(c);
			return 1;
		}
	if (c->fd == -1 || c->len != t->addrlen[i] ||
	    memcmp(&c->addr, &t->addr[i], c->len) != 0)
		return 1;
	if (conn_unsettled(c->fd)) {
		conn_drop(c);
		return 1;
	}
	a->connected = 1;
	a->clean = 0;
	rc = exchange_on(c->fd, w, n, a);
	err = errno;
	if (rc == 0 && a->clean)
		return 0;
	conn_drop(c);
	if (rc == 0)
		return 0;
	errno = err;
	if (err != ECONNRESET && err != EPIPE)
		return -1;
	a->connected = 0; /* closed as we sent: queries go to a new one */
	return 1;
}

static size_t
count_answered(const struct wire_req *w, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += w[i].got != 0;
	return k;
}

/*
 * Open connections to address i of t and exchange the unanswered
 * requests of w, again while a server that closes the connection after
 * some replies answers at least one more each time (never after an
 * UPDATE went whole unanswered). Returns 0, or -1 with errno (and
 * a->connected set if a connection was accepted).
 */
static int
exchange_fresh(const struct dns_target *t, size_t i, struct wire_req *w,
               size_t n, struct attempt *a)
{
	for (;;) {
		size_t before = count_answered(w, n);
		int fd, err;

		fd = socket(t->addr[i].ss_family,
		            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			return -1;
		if (connect_by(fd, &t->addr[i], t->addrlen[i], &a->deadline) ==
		    0) {
			a->connected = 1;
			a->clean = 0;
			if (exchange_on(fd, w, n, a) == 0) {
				if (a->clean)
					conn_keep(t, i, fd);
				else
					close(fd);
				return 0;
			}
		}
		err = errno;
		close(fd);
		errno = err;
		if (!a->connected || (err != ECONNRESET && err != EPIPE) ||
		    count_answered(w, n) == before || update_unanswered(w, n))
			return -1;
	}
}

/* Mark the UPDATEs of w that the server got whole as lost when the
 * connection ended (errno err, a telling how the attempt went) before
 * any reply began to come: no answer at all, not even a wrong one, so
 * what the server did may be read back (update_lost()). */
static void
mark_lost(struct wire_req *w, size_t n, int err, const struct attempt *a)
{
	if ((err != ECONNRESET && err != EPIPE) || a->stray + a->suspect > 0 ||
	    a->want > 0)
		return;
	for (size_t i = 0; i < n; i++)
		w[i].lost = w[i].sent && !w[i].got && !w[i].suspect &&
		            req_is_update(&w[i]);
}

/*
 * Send the requests of w to the primary t over TCP, pipelined on one
 * connection, and read their replies, trying each address in turn until
 * one accepts the connection; within t->timeout seconds per address.
 * Requests already answered (w[i].got) are not sent again, nor is an
 * UPDATE once written whole; an UPDATE goes on a new connection (and is
 * kept for what follows). *used is the index of the address last
 * tried. Returns 0 when every request is answered, or -1 with the reason
 * (server and port named) in err (errlen bytes; the first address's
 * reason when several failed, but that of the address that got an
 * UPDATE whole), some requests perhaps answered; -2 when
 * that reason says the server may have applied an UPDATE of w, which it
 * got whole. This is the only place that talks to the network for the
 * primary.
 */
static int
tcp_exchange(const struct dns_target *t, struct wire_req *w, size_t n,
             size_t *used, char *err, size_t errlen)
{
	char where[DNS_NAME_MAX + 80];
	int open = 0;

	err[0] = '\0';
	for (size_t i = 0; i < t->naddr; i++) {
		struct attempt a;
		int rc, e, sent;

		memset(&a, 0, sizeof(a));
		*used = i;
		target_where(t, i, where, sizeof(where));
		clock_gettime(CLOCK_MONOTONIC, &a.deadline);
		a.deadline.tv_sec += t->timeout ? t->timeout : 30;
		rc = conn_reuse(t, i, w, n, &a);
		if (rc == 1)
			rc = exchange_fresh(t, i, w, n, &a);
		if (rc == 0)
			return 0;
		e = errno;
		mark_lost(w, n, e, &a);
		sent = update_unanswered(w, n);
		if (sent)
			err[0] = '\0'; /* its fate, not an address before */
		open =
		    exchange_error(e, &a, sent, where, t->timeout, err, errlen);
		if (a.connected)
			break; /* the message may have arrived: no resend */
	}
	if (t->naddr == 0)
		reason_first(err, errlen, "no address known for the primary %s",
		             t->server);
	return open ? -2 : -1;
}

/* Send one message to the primary t and read its reply; see dnsupdate.h. */
int
dns_tcp_exchange(const struct dns_target *t, const unsigned char *q,
                 size_t qlen, struct buf *reply, size_t *used, struct diag *d)
{
	struct wire_req w = {.q = q, .qlen = qlen, .reply = reply, .got = 0};
	char err[DIAG_MSG_MAX];

	if (tcp_exchange(t, &w, 1, used, err, sizeof(err)) == 0)
		return 0;
	diag_error(d, "%s", err);
	return -1;
}

/* ------------------------------------------------- signed exchanges */

/* Explain the clock offset of a BADTIME answer. */
static void
badtime_error(const struct tsig_info *info, uint64_t now, const char *where,
              const struct dns_target *t, struct diag *d)
{
	uint64_t server =
	    info->has_other_time ? info->other_time : info->time_signed;
	long long off = (long long)server - (long long)now;

	diag_error(d,
	           "%s rejected the request signed with TSIG key %s at "
	           "our time (BADTIME): the server clock is %lld s %s ours, "
	           "more than the %u s allowed; fix the clocks (NTP)",
	           where, t->key->name, off < 0 ? -off : off,
	           off < 0 ? "behind" : "ahead of", TSIG_FUDGE);
}

/* Explain a BADKEY answer. Knot also answers BADKEY when its ACL denies
 * a known key, and to a query when no ACL of the zone names the key, so
 * a query's message names both causes. An update always follows reads
 * signed with the same key that the server accepted: it knows the key,
 * and only its ACL is left. */
static void
badkey_error(const char *where, const struct tsig_key *k, int is_update,
             struct diag *d)
{
	if (is_update)
		diag_error(d,
		           "%s answered NOTAUTH, BADKEY to the update signed "
		           "with TSIG key %s (%s), after it accepted this key "
		           "for the reads: its update ACL does not allow this "
		           "key to change these names (Knot says so with "
		           "BADKEY); add the acl `mta-sts-sync server-config "
		           "--knot` prints to the zone",
		           where, k->name, tsig_alg_name(k->alg));
	else
		diag_error(d,
		           "%s does not know TSIG key %s with algorithm "
		           "%s (NOTAUTH, BADKEY): check the key name and "
		           "algorithm in the server configuration (Knot "
		           "answers so too when no acl of the zone names "
		           "the key: add the acl `mta-sts-sync server-config "
		           "--knot` prints to the zone)",
		           where, k->name, tsig_alg_name(k->alg));
}

/* Explain an unsigned NOTAUTH to an UPDATE. The reads that always come
 * before an update were signed with the same key, and this server
 * accepted them: the key, its secret and the clocks are fine. Knot
 * answers so for a zone it does not serve (it has no zone whose acl
 * could check the key), after it answered the reads from the zone above;
 * so the zone is wrong, or the server: which one the configuration set
 * says where to look. */
static void
update_notauth_unsigned(const char *where, const struct dns_target *t,
                        struct diag *d)
{
	diag_error(d,
	           "%s answered the UPDATE of zone %s with an unsigned "
	           "NOTAUTH, after it accepted key %s for the reads: it does "
	           "not serve zone %s (Knot answers so for a zone it does "
	           "not have); %s",
	           where, t->zone, t->key->name, t->zone,
	           t->zone_set ? "fix `zone` (or leave it out to have it "
	                         "found) or `server`"
	                       : "check that `server` (or the zone's SOA "
	                         "MNAME) is the zone's primary");
}

/* What an unsigned reply with this rcode to a query or an update
 * suggests, as "; ..." or "", into out. */
static void
unsigned_hint(int rcode, int is_update, char *out, size_t len)
{
	int refused = rcode == LDNS_RCODE_REFUSED;

	out[0] = '\0';
	if (rcode == LDNS_RCODE_NOTAUTH || (refused && is_update))
		snprintf(
		    out, len,
		    "; the server may not know this key, or know it with "
		    "another secret or algorithm, or its clock may be more "
		    "than %u s off ours%s (PowerDNS %s so; its bind "
		    "backend knows no key without bind-dnssec-db)",
		    TSIG_FUDGE,
		    refused ? ", or it may not take updates from us" : "",
		    refused ? "refuses" : "answers");
	else if (refused)
		str_copy(out, len,
		         "; is it authoritative for this name, and does it "
		         "answer us? (Knot refuses a zone it does not serve "
		         "without signing)");
}

/* What a refused reply to an UPDATE adds to its message when the server
 * may have applied the update. */
#define UPDATE_MAYBE "; the update may have been applied: the next run checks"

/* Does a reply to an UPDATE that failed its TSIG check with st, and
 * claims rcode, leave open whether the server applied the update? Not
 * when it is a refusal: a TSIG error (BADSIG, BADKEY, BADTIME: the
 * server could not check the request), or an unsigned error rcode; yes
 * when it is a claim of success, or a reply we cannot trust at all. */
static int
tsig_unknown_outcome(enum tsig_status st, int rcode)
{
	if (st == TSIG_ERROR)
		return 0;
	return st != TSIG_UNSIGNED || rcode == LDNS_RCODE_NOERROR;
}

/* Put the reason a TSIG check of a reply failed into d. Returns 1 when
 * it says that the update may have been applied, else 0. */
static int
tsig_failure(enum tsig_status st, const struct tsig_info *info, int rcode,
             int is_update, uint64_t now, const char *where,
             const struct dns_target *t, struct diag *d)
{
	const struct tsig_key *k = t->key;
	char *rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);

	if (st == TSIG_ERROR && info->error == TSIG_ERR_BADSIG)
		diag_error(d,
		           "%s rejected the TSIG signature of key %s "
		           "(NOTAUTH, BADSIG): the secret (or algorithm %s) "
		           "differs from the server's",
		           where, k->name, tsig_alg_name(k->alg));
	else if (st == TSIG_ERROR && info->error == TSIG_ERR_BADKEY)
		badkey_error(where, k, is_update, d);
	else if (st == TSIG_ERROR && info->error == TSIG_ERR_BADTIME)
		badtime_error(info, now, where, t, d);
	else if (st == TSIG_ERROR)
		diag_error(d, "%s answered with TSIG error %s (%s)", where,
		           tsig_error_name(info->error), rc ? rc : "?");
	else if (st == TSIG_UNSIGNED && is_update &&
	         rcode == LDNS_RCODE_NOTAUTH)
		update_notauth_unsigned(where, t, d);
	else if (st == TSIG_UNSIGNED) {
		char hint[320];

		unsigned_hint(rcode, is_update, hint, sizeof(hint));
		diag_error(d,
		           "%s sent an unsigned reply (%s) to a request "
		           "signed with TSIG key %s: not trusted%s",
		           where, rc ? rc : "?", k->name, hint);
	} else if (st == TSIG_OTHER_KEY)
		diag_error(d,
		           "%s signed its reply with key %s (%s), not with "
		           "%s: not trusted",
		           where, info->key_name, info->alg_name, k->name);
	else if (st == TSIG_BAD_MAC)
		diag_error(d,
		           "the reply from %s has a wrong TSIG MAC for key "
		           "%s: forged or corrupted, not trusted",
		           where, k->name);
	else if (st == TSIG_BAD_TIME)
		diag_error(d,
		           "the reply from %s is signed at a time %lld s "
		           "away from ours (more than %u s): check the "
		           "clocks (NTP)",
		           where, (long long)info->time_signed - (long long)now,
		           info->fudge);
	else
		diag_error(d,
		           "%s sent a malformed reply (its records or its "
		           "TSIG record cannot be parsed)",
		           where);
	free(rc);
	if (!is_update || !tsig_unknown_outcome(st, rcode))
		return 0;
	diag_append(d, UPDATE_MAYBE);
	return 1;
}

/* The offset past the name at off in m, or 0 if it runs past len. */
static size_t
skip_name(const unsigned char *m, size_t len, size_t off)
{
	while (off < len) {
		unsigned c = m[off];

		if ((c & 0xC0) == 0xC0)
			return off + 2 <= len ? off + 2 : 0;
		if (c & 0xC0)
			return 0;
		off += 1 + c;
		if (c == 0)
			return off <= len ? off : 0;
	}
	return 0;
}

/* Where the answer section of the message m ends (past its questions
 * and answer records), or 0 if it cannot be walked that far. */
static size_t
answer_end(const unsigned char *m, size_t len)
{
	unsigned qd, an;
	size_t off = 12;

	if (len < 12)
		return 0;
	qd = (unsigned)m[4] << 8 | m[5];
	an = (unsigned)m[6] << 8 | m[7];
	for (unsigned i = 0; i < qd + an; i++) {
		off = skip_name(m, len, off);
		if (off == 0 || off + (i < qd ? 4 : 10) > len)
			return 0;
		if (i < qd)
			off += 4;
		else
			off += 10 + ((size_t)m[off + 8] << 8 | m[off + 9]);
	}
	return off <= len ? off : 0;
}

/* Could the reply m (len bytes) be a referral: NOERROR, AA bit clear, no
 * answer? Its authority section then tells where the name went. */
static int
maybe_referral(const unsigned char *m, size_t len)
{
	return len >= 12 && !(m[2] & 0x04) && (m[3] & 0x0F) == 0 && m[6] == 0 &&
	       m[7] == 0;
}

/* Parse the message m into *pkt; with answer_only, only its header,
 * question and answer sections (the authority and additional records,
 * name servers, glue and the TSIG RR, are not needed then: parsing them
 * cost more than the rest), unless it may be a referral, whose NS
 * records state_txt_check() reads. Returns 0, or -1. */
static int
parse_reply(const unsigned char *m, size_t len, int answer_only, ldns_pkt **pkt)
{
	size_t end =
	    answer_only && !maybe_referral(m, len) ? answer_end(m, len) : 0;
	ldns_status st;

	if (end > 0 && end < len) {
		unsigned char *a = xmalloc(end);

		memcpy(a, m, end);
		memset(a + 8, 0, 4); /* NSCOUNT, ARCOUNT */
		st = ldns_wire2pkt(pkt, a, end);
		free(a);
	} else {
		st = ldns_wire2pkt(pkt, m, len);
	}
	if (st == LDNS_STATUS_OK)
		return 0;
	*pkt = NULL;
	return -1;
}

/* How the message of send_wires() that got no good reply failed, beside
 * the reason in words. */
struct wire_fail {
	unsigned tsig_err; /* the TSIG error its reply carried, or 0 */
	/* the rcode of its reply refused for a TSIG error or for coming
	 * unsigned (what the server claims, untrusted), or -1 */
	int rcode;
	int lost; /* an UPDATE the server got whole, then the connection
	             ended before any reply came (mark_lost()) */
	/* an UPDATE the server got whole, with no reply to trust: the
	 * reason says it may have been applied (lost ones too) */
	int open;
};

/*
 * Check the raw reply r that reply_take() took for the answer to its
 * request (signed with mac when t has a key; an UPDATE with is_update):
 * TSIG, TC bit; then
 * parse it into *reply (its answer section only, with answer_only).
 * Returns 0, or -1 with the reason in d (that the update may have been
 * applied, when the reply does not say it was not: then f->open is set)
 * and, when the reply carried a TSIG error or came unsigned, that error
 * and its rcode in f.
 */
static int
check_reply(const struct dns_target *t, const struct buf *r,
            const struct tsig_mac *mac, int is_update, int answer_only,
            const char *where, ldns_pkt **reply, struct wire_fail *f,
            struct diag *d)
{
	const unsigned char *m = (const unsigned char *)r->data;
	const char *maybe = is_update ? UPDATE_MAYBE : "";
	struct tsig_info info;
	uint64_t now = now_seconds();
	int rcode;

	/* its id, QR bit, opcode and question are the request's: a reply
	 * that fails them is read past (reply_mismatch()), as the server's
	 * own may still come */
	rcode = m[3] & 0x0F;
	if (t->key != NULL) {
		enum tsig_status st =
		    tsig_verify(t->key, m, r->len, mac, now, &info);

		if (st != TSIG_VALID) {
			f->open = tsig_failure(st, &info, rcode, is_update, now,
			                       where, t, d);
			if (st == TSIG_ERROR)
				f->tsig_err = info.error;
			if (st == TSIG_ERROR || st == TSIG_UNSIGNED)
				f->rcode = rcode;
			return -1;
		}
	}
	/* over TCP a reply has room for 65535 bytes: one cut short there
	 * would pass a partial RRset (or none) for the whole of it */
	if ((m[2] & 0x02) && is_update) {
		diag_error(d,
		           "%s sent a truncated reply over TCP (TC bit set) "
		           "to the update: not taken for an answer%s",
		           where, maybe);
		f->open = 1;
		return -1;
	}
	if (m[2] & 0x02) {
		diag_error(d,
		           "%s sent a truncated reply over TCP (TC bit set): "
		           "its answer does not fit in a DNS message, and a "
		           "part of it is not taken for the whole",
		           where);
		return -1;
	}
	if (parse_reply(m, r->len, answer_only, reply) == -1) {
		diag_error(d,
		           "%s sent a malformed reply (its records cannot be "
		           "parsed)%s",
		           where, maybe);
		f->open = is_update;
		return -1;
	}
	return 0;
}

/* Is the wire message q an UPDATE? */
static int
is_update(const struct buf *q)
{
	return wire_is_update((const unsigned char *)q->data, q->len);
}

/* One request of send_wires: its MAC, id and raw reply. */
struct sent {
	struct buf r;
	struct tsig_mac mac;
	uint16_t id;
};

/* Give the n (at most QUERY_MAX) messages s random ids, all different,
 * from one call to the CSPRNG. */
static void
sent_ids(struct sent *s, size_t n)
{
	unsigned char b[2 * QUERY_MAX];

	random_bytes(b, 2 * n);
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		s[i].id = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
		while (j < i) {
			if (s[j].id != s[i].id) {
				j++;
				continue;
			}
			random_bytes(b, 2);
			s[i].id = (uint16_t)(b[0] << 8 | b[1]);
			j = 0;
		}
	}
}

/* Give the n requests q random ids, all different, and, when t has a
 * key, their TSIG RR (their MACs into s), and point w at them and at the
 * reply buffers of s. Returns 0, or -1 with the reason in d. */
static int
wires_ready(const struct dns_target *t, struct buf *q, struct sent *s,
            struct wire_req *w, size_t n, struct diag *d)
{
	sent_ids(s, n);
	memset(w, 0, n * sizeof(*w));
	for (size_t i = 0; i < n; i++) {
		q[i].data[0] = (char)(s[i].id >> 8);
		q[i].data[1] = (char)s[i].id;
		if (t->key != NULL &&
		    tsig_sign(t->key, &q[i], now_seconds(), &s[i].mac, d) == -1)
			return -1;
		w[i].q = (unsigned char *)q[i].data;
		w[i].qlen = q[i].len;
		w[i].reply = &s[i].r;
		w[i].key = t->key;
		w[i].mac = &s[i].mac;
	}
	return 0;
}

/*
 * Send the n (at most QUERY_MAX) wire messages q to t at once, pipelined
 * on one connection, after giving each a random id and (when t has a
 * key) its TSIG RR; verify each reply's TSIG and parse it into
 * replies[i] (only up to its answer section when bit i of answer_only is
 * set). A message whose only reply came with a TSIG that does not prove
 * it the server's (reply_suspect()) fails with that reply's fault once
 * the exchange ends without a genuine one. where receives the
 * description of the server that answered. Returns how many leading
 * messages got a good reply (n: all); the reason the next one did not is
 * put in d, and how it failed in *f (if not NULL; zeroed first). Rcodes
 * are left to the caller.
 */
static size_t
send_wires(const struct dns_target *t, struct buf *q, size_t n,
           unsigned answer_only, ldns_pkt **replies, char *where, size_t wsize,
           struct wire_fail *f, struct diag *d)
{
	struct sent s[QUERY_MAX];
	struct wire_req w[QUERY_MAX];
	struct wire_fail unused;
	char terr[DIAG_MSG_MAX]; /* why the exchange stopped, if it did */
	size_t i, k = 0, used = 0;
	int open;

	f = f != NULL ? f : &unused;
	memset(f, 0, sizeof(*f));
	f->rcode = -1;
	snprintf(where, wsize, "server %s", t->server);
	if (n > QUERY_MAX) {
		diag_error(d, "too many DNS messages at once");
		return 0;
	}
	for (i = 0; i < n; i++) {
		replies[i] = NULL;
		buf_init(&s[i].r, DNS_MSG_MAX);
	}
	if (wires_ready(t, q, s, w, n, d) == -1)
		goto out; /* nothing sent */
	open = tcp_exchange(t, w, n, &used, terr, sizeof(terr)) == -2;
	target_where(t, used, where, wsize);
	for (k = 0; k < n; k++) {
		if (!w[k].got && !w[k].suspect) {
			diag_error(d, "%s", terr);
			f->lost = w[k].lost;
			f->open = open;
			break;
		}
		/* a suspect reply, if no genuine one came: its fault */
		if (check_reply(t, &s[k].r, t->key ? &s[k].mac : NULL,
		                is_update(&q[k]), (answer_only >> k) & 1, where,
		                &replies[k], f, d) == -1)
			break;
	}
out:
	for (i = 0; i < n; i++)
		buf_free(&s[i].r);
	return k;
}

/*
 * Room for the TSIG RR that t's key adds to a message, at most: its owner
 * (the key name), type, class, TTL and RDLENGTH, then the algorithm name
 * (at most 32 bytes for those known), time signed and fudge, MAC size,
 * the MAC (at most 64 bytes: SHA-512), original id, error and other
 * length.
 */
static size_t
tsig_room(const struct dns_target *t)
{
	if (t->key == NULL)
		return 0;
	return strlen(t->key->name) + 2 + 10 + 32 + 8 + 2 + 64 + 6;
}

/* Put the wire form of an UPDATE to t into q, if it fits in a DNS
 * message with its TSIG RR. Returns 0, or -1 with the reason (the zone
 * and the server named) in d. */
static int
update_wire_take(const struct dns_target *t, const ldns_buffer *wire,
                 struct buf *q, struct diag *d)
{
	size_t len = ldns_buffer_position(wire);
	char where[DNS_NAME_MAX + 80];

	if (len + tsig_room(t) <= DNS_MSG_MAX &&
	    buf_append(q, ldns_buffer_begin(wire), len) == 0)
		return 0;
	if (t->naddr > 0)
		target_where(t, 0, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "server %s", t->server);
	diag_error(d,
	           "the UPDATE of zone %s for %s does not fit in a DNS message "
	           "(%zu bytes, and its TSIG record: at most %d)",
	           t->zone, where, len, DNS_MSG_MAX);
	return -1;
}

/* Send the UPDATE pkt to t (RD clear) by send_wires(). Returns 0 with
 * *reply to free, or -1 with the reason in d and how it failed in *f. */
static int
send_pkt(const struct dns_target *t, ldns_pkt *pkt, ldns_pkt **reply,
         char *where, size_t wsize, struct wire_fail *f, struct diag *d)
{
	/* ldns_pkt2wire() would take a 64 KiB buffer for every message;
	 * this one grows from a size that fits most UPDATEs */
	ldns_buffer *wire = ldns_buffer_new(1024);
	struct buf q;
	int rc = -1;

	*reply = NULL;
	memset(f, 0, sizeof(*f));
	f->rcode = -1;
	snprintf(where, wsize, "server %s", t->server);
	buf_init(&q, DNS_MSG_MAX);
	ldns_pkt_set_rd(pkt, false);
	if (wire == NULL || ldns_pkt2buffer_wire(wire, pkt) != LDNS_STATUS_OK ||
	    ldns_buffer_position(wire) < 12)
		diag_error(d, "cannot build the DNS message");
	else if (update_wire_take(t, wire, &q, d) == 0 &&
	         send_wires(t, &q, 1, 0, reply, where, wsize, f, d) == 1)
		rc = 0;
	ldns_buffer_free(wire);
	buf_free(&q);
	return rc;
}

/* ------------------------------------------------------------ queries */

/* Explain a query rcode other than NOERROR / NXDOMAIN. */
static void
query_rcode_error(const char *where, const char *name, ldns_rr_type type,
                  int rcode, struct diag *d)
{
	char *rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);
	char *ty = ldns_rr_type2str(type);

	diag_error(d, "%s answered %s to the query for %s %s%s", where,
	           rc ? rc : "?", name, ty ? ty : "?",
	           rcode == LDNS_RCODE_REFUSED
	               ? ": is it authoritative for this name, and does "
	                 "it answer us?"
	               : "");
	free(rc);
	free(ty);
}

/* A query to the primary. */
struct query {
	char name[DNS_NAME_MAX + 16];
	ldns_rr_type type;
};

/* Queries sent to the primary together, and what came back. */
struct batch {
	struct query q[QUERY_MAX];
	size_t n;
	ldns_pkt *ans[QUERY_MAX]; /* replies (TSIG verified), i < k */
	size_t k;                 /* leading queries with a reply */
	char where[DNS_NAME_MAX + 80];
	struct wire_fail fail; /* how query k failed, if it did */
	uint64_t sent_ms;      /* mono_ms() when the queries went out */
	/* why query k has none, the first reason: an error only (no
	 * warning of a batch is told), not a whole struct diag, whose
	 * warnings would put 8 KiB more in every frame that holds a batch,
	 * and so on the resident stack of every worker */
	char err[DIAG_MSG_MAX];
};

/* Add the query name/type to b. */
static void
batch_add(struct batch *b, const char *name, ldns_rr_type type)
{
	str_copy(b->q[b->n].name, sizeof(b->q[b->n].name), name);
	b->q[b->n++].type = type;
}

/* Put the wire form of a query for name/type (class IN, RD set with
 * rd, else clear, id 0) into q. Returns 0, or -1 if name is not a valid
 * domain name. */
static int
query_wire(const char *name, ldns_rr_type type, int rd, struct buf *q)
{
	const unsigned char hdr[12] = {0, 0, rd ? 1 : 0, 0, 0, 1};
	unsigned char tc[4] = {(unsigned char)(type >> 8), (unsigned char)type,
	                       0, LDNS_RR_CLASS_IN};
	ldns_rdf *qn = ldns_dname_new_frm_str(name);

	if (qn == NULL)
		return -1;
	buf_append(q, hdr, sizeof(hdr));
	buf_append(q, ldns_rdf_data(qn), ldns_rdf_size(qn));
	buf_append(q, tc, sizeof(tc));
	ldns_rdf_deep_free(qn);
	return 0;
}

/* Send the queries of b to t at once, over TCP (signed when t has a key,
 * RD set only for a resolver), and take the replies. send_wires()
 * reports into a diag, which is on the heap: a batch is sent at the
 * bottom of the deepest frames of a worker. */
static void
batch_send(const struct dns_target *t, struct batch *b)
{
	struct diag *e = xmalloc(sizeof(*e));
	struct buf q[QUERY_MAX];
	unsigned answer_only = 0;
	size_t i;

	diag_init(e);
	b->k = 0;
	memset(&b->fail, 0, sizeof(b->fail));
	b->fail.rcode = -1;
	b->sent_ms = mono_ms();
	for (i = 0; i < b->n; i++) {
		buf_init(&q[i], DNS_MSG_MAX);
		/* an SOA may come in the authority section */
		if (b->q[i].type != LDNS_RR_TYPE_SOA)
			answer_only |= 1u << i;
	}
	for (i = 0; i < b->n; i++) {
		const struct query *qi = &b->q[i];

		if (query_wire(qi->name, qi->type, t->recurse, &q[i]) == -1) {
			diag_error(e, "%s is not a valid domain name",
			           qi->name);
			break;
		}
	}
	if (i == b->n)
		b->k = send_wires(t, q, b->n, answer_only, b->ans, b->where,
		                  sizeof(b->where), &b->fail, e);
	for (i = 0; i < b->n; i++)
		buf_free(&q[i]);
	str_copy(b->err, sizeof(b->err), e->error);
	free(e);
}

/*
 * Check the answer to query i of the batch b sent to t: it came, and is
 * NOERROR or NXDOMAIN and, with need_aa, authoritative. Returns 0, or -1
 * with the reason in d.
 */
static int
batch_check(const struct dns_target *t, const struct batch *b, size_t i,
            int need_aa, struct diag *d)
{
	const struct query *q = &b->q[i];
	int rcode;

	if (i >= b->k) {
		diag_error(d, "%s", b->err);
		return -1;
	}
	rcode = ldns_pkt_get_rcode(b->ans[i]);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		query_rcode_error(b->where, q->name, q->type, rcode, d);
	else if (need_aa && !ldns_pkt_aa(b->ans[i]))
		diag_error(d,
		           "%s is not authoritative for %s: is it the "
		           "primary of zone %s?",
		           b->where, q->name, t->zone);
	else
		return 0;
	return -1;
}

/* Put the reason batch_check() gives for answer i of b into b->err,
 * unless that holds one already. Its diag is on the heap, as
 * batch_send()'s is. */
static void
batch_note(const struct dns_target *t, struct batch *b, size_t i)
{
	struct diag *d = xmalloc(sizeof(*d));

	diag_init(d);
	batch_check(t, b, i, 1, d);
	reason_first(b->err, sizeof(b->err), "%s", d->error);
	free(d);
}

/* Free the answers of b. */
static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->k; i++)
		ldns_pkt_free(b->ans[i]);
	b->k = 0;
}

/*
 * Check the answers to the queries first..n-1 of b, in order (as if they
 * had been asked one by one: the first failure is the one reported).
 * Returns 0, or -1 with the reason in d.
 */
static int
batch_check_from(const struct dns_target *t, const struct batch *b,
                 size_t first, int need_aa, struct diag *d)
{
	for (size_t i = first; i < b->n; i++)
		if (batch_check(t, b, i, need_aa, d) == -1)
			return -1;
	return 0;
}

/* Ask the primary t for name/type. Returns 0 with *ans (NOERROR or
 * NXDOMAIN; with need_aa authoritative) to free, or -1 with the reason
 * in d. */
static int
query_primary(const struct dns_target *t, const char *name, ldns_rr_type type,
              int need_aa, ldns_pkt **ans, struct diag *d)
{
	struct batch b;

	*ans = NULL;
	b.n = 0;
	batch_add(&b, name, type);
	batch_send(t, &b);
	if (batch_check(t, &b, 0, need_aa, d) == -1) {
		batch_free(&b);
		return -1;
	}
	*ans = b.ans[0];
	return 0;
}

/* Does rr belong to the name qn? */
static int
rr_at(const ldns_rr *rr, const ldns_rdf *qn)
{
	return ldns_dname_compare(ldns_rr_owner(rr), qn) == 0;
}

/* Append the RDATA of rr, its fields as on the wire one after the
 * other, to s (and its TTL, if it is the first). Alone, for records of
 * other types than TXT, which dnsupdate.c compares only: s->text then
 * stays empty. */
static void
rdata_add(struct dns_txtset *s, const ldns_rr *rr)
{
	struct buf raw;

	buf_init(&raw, DNS_MSG_MAX);
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);

		buf_append(&raw, ldns_rdf_data(f), ldns_rdf_size(f));
	}
	if (s->n == 0)
		s->ttl = ldns_rr_ttl(rr);
	s->rdata = xreallocarray(s->rdata, s->n + 1, sizeof(*s->rdata));
	s->rdlen = xreallocarray(s->rdlen, s->n + 1, sizeof(*s->rdlen));
	s->rdata[s->n] = xmalloc(raw.len ? raw.len : 1);
	if (raw.len)
		memcpy(s->rdata[s->n], raw.data, raw.len);
	s->rdlen[s->n] = raw.len;
	s->n++;
	buf_free(&raw);
}

/* Append the TXT record rr to s: its text (character-strings joined)
 * and its RDATA as on the wire. */
static void
txtset_add(struct dns_txtset *s, const ldns_rr *rr)
{
	struct buf text;

	buf_init(&text, DNS_MSG_MAX);
	buf_puts(&text, "");
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		const uint8_t *p = ldns_rdf_data(f);
		size_t len = ldns_rdf_size(f);

		for (size_t j = 1; j < len; j++)
			buf_append(&text, p[j] ? (const char *)p + j : "?", 1);
	}
	strlist_add(&s->text, text.data);
	rdata_add(s, rr);
	buf_free(&text);
}

static void
txtset_free(struct dns_txtset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->rdata[i]);
	free(s->rdata);
	free(s->rdlen);
	strlist_free(&s->text);
	memset(s, 0, sizeof(*s));
}

/* Take the TXT RRset at name from the answer ans into s; *cname
 * receives the target when name is a CNAME (a new string), else NULL. */
static void
read_txt(const ldns_pkt *ans, const char *name, struct dns_txtset *s,
         char **cname)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name);

	*cname = NULL;
	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!rr_at(rr, qn))
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT)
			txtset_add(s, rr);
		else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		         *cname == NULL && ldns_rr_rd_count(rr) == 1)
			*cname = rdf_name(ldns_rr_rdf(rr, 0));
	}
	ldns_rdf_deep_free(qn);
}

/* Take the records of type at name from the answer ans into s: for
 * TXT, as read_txt() does (a CNAME aside); for another type, their
 * RDATA only. */
static void
read_rrs(const ldns_pkt *ans, const char *name, ldns_rr_type type,
         struct dns_txtset *s)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name);

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (!rr_at(rr, qn) || ldns_rr_get_type(rr) != type)
			continue;
		if (type == LDNS_RR_TYPE_TXT)
			txtset_add(s, rr);
		else
			rdata_add(s, rr);
	}
	ldns_rdf_deep_free(qn);
}

/* The target of the CNAME at name in the answer ans (a new string), or
 * NULL. */
static char *
read_cname(const ldns_pkt *ans, const char *name)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name);
	char *cname = NULL;

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (rr_at(rr, qn) &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    ldns_rr_rd_count(rr) == 1) {
			cname = rdf_name(ldns_rr_rdf(rr, 0));
			break;
		}
	}
	ldns_rdf_deep_free(qn);
	return cname;
}

/* Take the MX targets of domain from the answer ans into mx ("." for a
 * null MX). */
static void
read_mx(const ldns_pkt *ans, const char *domain, struct strlist *mx)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(domain);

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (rr_at(rr, qn) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_MX &&
		    ldns_rr_rd_count(rr) == 2) {
			char *host = rdf_name(ldns_rr_rdf(rr, 1));

			strlist_add(mx, host);
			free(host);
		}
	}
	ldns_rdf_deep_free(qn);
}

/* Add the queries of type at the two names of domain to b:
 * _mta-sts.<domain>, then _smtp._tls.<domain> unless names (DNS_NAME_*)
 * leaves it out. */
static void
names_batch(struct batch *b, const char *domain, ldns_rr_type type,
            unsigned names)
{
	char name[DNS_NAME_MAX + 16];

	snprintf(name, sizeof(name), "_mta-sts.%s", domain);
	batch_add(b, name, type);
	if (!(names & DNS_NAME_TLSRPT))
		return;
	snprintf(name, sizeof(name), "_smtp._tls.%s", domain);
	batch_add(b, name, type);
}

/* Add the state queries of domain to b: TXT at _mta-sts.<domain> and
 * _smtp._tls.<domain>, and with with_mx the MX of domain. (The zone of
 * each name is asked by dns_state_zones(), only for a domain that
 * changes.) */
static void
state_batch(struct batch *b, const char *domain, int with_mx)
{
	names_batch(b, domain, LDNS_RR_TYPE_TXT,
	            DNS_NAME_STS | DNS_NAME_TLSRPT);
	if (with_mx)
		batch_add(b, domain, LDNS_RR_TYPE_MX);
}

/* defined with the discovery, which uses it first */
static const ldns_rr *zone_soa(const ldns_pkt *ans, const ldns_rdf *qn);

/*
 * The zone that t's zone delegates name to, by ans, the answer of the
 * primary t to a query at name: a referral (NOERROR, AA bit clear, no
 * answer, NS records in the authority section at name or an ancestor of
 * it below t's zone), which the primary gives for a name that its zone
 * delegates to a zone it does not serve. A new string, or NULL when ans
 * is no such referral.
 */
static char *
referral_zone(const struct dns_target *t, const ldns_pkt *ans, const char *name)
{
	const ldns_rr_list *au = ldns_pkt_authority(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(name),
	         *zn = ldns_dname_new_frm_str(t->zone);
	char *cut = NULL;

	if (qn == NULL || zn == NULL || ldns_pkt_aa(ans) ||
	    ldns_pkt_get_rcode(ans) != LDNS_RCODE_NOERROR ||
	    ldns_rr_list_rr_count(ldns_pkt_answer(ans)) > 0)
		goto out;
	for (size_t i = 0; i < ldns_rr_list_rr_count(au); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(au, i);
		const ldns_rdf *o = ldns_rr_owner(rr);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    (ldns_dname_compare(o, qn) == 0 ||
		     ldns_dname_is_subdomain(qn, o)) &&
		    ldns_dname_is_subdomain(o, zn)) {
			cut = rdf_name(o);
			break;
		}
	}
out:
	ldns_rdf_deep_free(qn);
	ldns_rdf_deep_free(zn);
	return cut;
}

/* The zone that holds name by the authoritative answer ans to its SOA
 * query (the SOA at name, or the one above it in the authority section),
 * as a new string; NULL when ans does not tell. */
static char *
soa_zone(const ldns_pkt *ans, const char *name)
{
	ldns_rdf *qn = ldns_dname_new_frm_str(name);
	const ldns_rr *soa =
	    qn != NULL && ldns_pkt_aa(ans) ? zone_soa(ans, qn) : NULL;
	char *zone = soa != NULL ? rdf_name(ldns_rr_owner(soa)) : NULL;

	ldns_rdf_deep_free(qn);
	return zone;
}

/*
 * Check answer i of b (sent to t), the TXT records of one of the names of
 * a state (bit: DNS_NAME_STS or DNS_NAME_TLSRPT), into st: authoritative,
 * or a referral (NOERROR, AA bit clear, no answer), which sets or leaves
 * the bit in st->away (nothing is read there): at the first read
 * (first_read), one to a zone below t's that referral_zone() finds in its
 * authority section, whose name goes in st's *_zone; at a read again,
 * any, for a name that st->away says t does not serve (the authority
 * section is not parsed). Returns 0, or -1 with the reason in d.
 */
static int
state_txt_check(const struct dns_target *t, const struct batch *b, size_t i,
                unsigned bit, int first_read, struct dns_state *st,
                struct diag *d)
{
	char **zone = bit == DNS_NAME_STS ? &st->sts_zone : &st->tlsrpt_zone;

	if (first_read && i < b->k && t->zone[0] != '\0' &&
	    (*zone = referral_zone(t, b->ans[i], b->q[i].name)) != NULL)
		st->away |= bit;
	if ((st->away & bit) && i < b->k &&
	    ldns_pkt_get_rcode(b->ans[i]) == LDNS_RCODE_NOERROR &&
	    !ldns_pkt_aa(b->ans[i]) &&
	    ldns_rr_list_rr_count(ldns_pkt_answer(b->ans[i])) == 0)
		return 0;
	st->away &= ~bit;
	return batch_check(t, b, i, 1, d);
}

/* Take into st the zone of the name of the SOA query i of b (bit: its
 * DNS_NAME_*), when its answer came and tells: a referral (st->away) or
 * an authoritative SOA; else none. Nothing is checked: batch_check()
 * does that after both answers, in the order of the queries. */
static void
state_zone(const struct dns_target *t, const struct batch *b, size_t i,
           unsigned bit, struct dns_state *st)
{
	char **zone = bit == DNS_NAME_STS ? &st->sts_zone : &st->tlsrpt_zone;
	int rcode;

	free(*zone);
	*zone = NULL;
	if (i >= b->k)
		return;
	rcode = ldns_pkt_get_rcode(b->ans[i]);
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		return;
	if (t->zone[0] != '\0' &&
	    (*zone = referral_zone(t, b->ans[i], b->q[i].name)) != NULL)
		st->away |= bit;
	else
		*zone = soa_zone(b->ans[i], b->q[i].name);
}

/* Was the answer ans NXDOMAIN? Without a CNAME in it, its name does not
 * exist and no wildcard covers it. */
static int
nxdomain(const ldns_pkt *ans)
{
	return ldns_pkt_get_rcode(ans) == LDNS_RCODE_NXDOMAIN;
}

/*
 * Add to d, the reason why the first read of domain from t failed, why
 * that is no wonder when t's zone is below domain (a zone of its own for
 * _mta-sts.<domain>) and t does not serve domain's zone, as its answer
 * to the MX query at domain (answer i of b) tells: REFUSED or NOTAUTH,
 * or without authority. Not for any other failure (a zone that does not
 * load, a timeout): its own cause is the one to fix.
 */
static void
state_fail_hint(const struct dns_target *t, const struct batch *b, size_t i,
                const char *domain, struct diag *d)
{
	int rcode;

	if (i >= b->k || !name_under(t->zone, domain, 1))
		return;
	rcode = ldns_pkt_get_rcode(b->ans[i]);
	if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH ||
	    ((rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN) &&
	     !ldns_pkt_aa(b->ans[i])))
		diag_append(d,
		            " (the zone of _mta-sts is below the domain, and "
		            "its primary is asked for the domain's MX and "
		            "_smtp._tls records too: a _mta-sts record on "
		            "another primary than its domain's is not "
		            "supported; serve both zones from one primary, or "
		            "_mta-sts from the domain's zone)");
}

/* Did query i of b get an answer with rcode NOERROR or NXDOMAIN? */
static int
batch_answered(const struct batch *b, size_t i)
{
	int rcode = i < b->k ? (int)ldns_pkt_get_rcode(b->ans[i]) : -1;

	return rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN;
}

/* Check the answers to the state queries added to b at first (sent to
 * t) and take them into st; away: the names (DNS_NAME_*) that an earlier
 * read found t does not serve (st->away); names: those the caller
 * manages: at _smtp._tls.<domain> without it, a failed answer (SERVFAIL
 * from a zone there that does not load, say) is read as empty rather
 * than failing a domain that leaves that record alone. Returns 0, or -1
 * with the reason in d. */
static int
state_take(const struct dns_target *t, const struct batch *b, size_t first,
           const char *domain, unsigned away, unsigned names,
           struct dns_state *st, struct diag *d)
{
	int with_mx = b->n > first + 2,
	    rpt = (names & DNS_NAME_TLSRPT) || batch_answered(b, first + 1);

	memset(st, 0, sizeof(*st));
	st->away = away;
	if (state_txt_check(t, b, first, DNS_NAME_STS, with_mx, st, d) == -1 ||
	    (rpt && state_txt_check(t, b, first + 1, DNS_NAME_TLSRPT, with_mx,
	                            st, d) == -1) ||
	    (with_mx && batch_check(t, b, first + 2, 1, d) == -1)) {
		if (with_mx)
			state_fail_hint(t, b, first + 2, domain, d);
		dns_state_free(st);
		return -1;
	}
	st->read_ms = b->sent_ms;
	if (!(st->away & DNS_NAME_STS))
		read_txt(b->ans[first], b->q[first].name, &st->sts,
		         &st->sts_cname);
	if (rpt && !(st->away & DNS_NAME_TLSRPT))
		read_txt(b->ans[first + 1], b->q[first + 1].name, &st->tlsrpt,
		         &st->tlsrpt_cname);
	st->below_nxdomain =
	    (nxdomain(b->ans[first]) && st->sts_cname == NULL) ||
	    (rpt && nxdomain(b->ans[first + 1]) && st->tlsrpt_cname == NULL);
	if (with_mx) {
		read_mx(b->ans[first + 2], domain, &st->mx);
		st->domain_cname = read_cname(b->ans[first + 2], domain);
		st->mx_read = 1;
	}
	return 0;
}

/* Read the TXT records of domain (and its MX, with with_mx) from t: the
 * queries are sent at once (pipelined); away and names as state_take()
 * takes them. */
static int
state_read(const struct dns_target *t, const char *domain, int with_mx,
           unsigned away, unsigned names, struct dns_state *st, struct diag *d)
{
	struct batch b;
	int rc;

	b.n = 0;
	state_batch(&b, domain, with_mx);
	batch_send(t, &b);
	rc = state_take(t, &b, 0, domain, away, names, st, d);
	batch_free(&b);
	return rc;
}

/* Read the state of domain from the primary; see dnsupdate.h. */
int
dns_state_read(const struct dns_target *t, const char *domain, unsigned names,
               struct dns_state *st, struct diag *d)
{
	return state_read(t, domain, 1, 0, names, st, d);
}

/* Ask t for the zones of domain's two names; see dnsupdate.h. */
int
dns_state_zones(const struct dns_target *t, const char *domain, unsigned names,
                struct dns_state *st, struct diag *d)
{
	struct batch b;
	int rc;

	b.n = 0;
	names_batch(&b, domain, LDNS_RR_TYPE_SOA, names);
	batch_send(t, &b);
	state_zone(t, &b, 0, DNS_NAME_STS, st);
	if (b.n > 1)
		state_zone(t, &b, 1, DNS_NAME_TLSRPT, st);
	rc = batch_check_from(t, &b, 0, 0, d);
	batch_free(&b);
	return rc;
}

/* Free what st holds (st itself belongs to the caller) and clear it. */
void
dns_state_free(struct dns_state *st)
{
	if (st == NULL)
		return;
	free(st->sts_cname);
	free(st->tlsrpt_cname);
	free(st->sts_wildcard_cname);
	free(st->tlsrpt_wildcard_cname);
	free(st->domain_cname);
	free(st->sts_zone);
	free(st->tlsrpt_zone);
	txtset_free(&st->sts);
	txtset_free(&st->tlsrpt);
	strlist_free(&st->mx);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------- wildcard answers */

/* The probe name of a wildcard test; see dnsupdate.h. */
int
dns_probe_name(const char *name, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[8];
	char label[2 * sizeof(r) + 1];

	/* 253: the longest name in text without the final dot */
	if (strlen(name) + strlen("mta-sts-sync-.") + 2 * sizeof(r) > 253)
		return -1;
	random_bytes(r, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++) {
		label[2 * i] = hex[r[i] >> 4];
		label[2 * i + 1] = hex[r[i] & 15];
	}
	label[2 * sizeof(r)] = '\0';
	snprintf(out, size, "mta-sts-sync-%s.%s", label, name);
	return 0;
}

/* Do the TXT RRsets a and b hold the same records (RDATA)? */
static int
txtset_same(const struct dns_txtset *a, const struct dns_txtset *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;

		while (j < b->n &&
		       (b->rdlen[j] != a->rdlen[i] ||
		        memcmp(b->rdata[j], a->rdata[i], a->rdlen[i]) != 0))
			j++;
		if (j == b->n)
			return 0;
	}
	return 1;
}

/* One name of a state whose answer may be a wildcard's. */
struct wild_part {
	struct dns_txtset *set; /* the TXT records read there */
	char **cname;           /* the CNAME target read there, or NULL */
	char **wild_cname;      /* receives *cname if it is a wildcard's */
	int *flag;              /* set if either is a wildcard's */
};

/* Add the probe of the name label.domain, read into part, to b and p if
 * its answer may be a wildcard's: a CNAME, or TXT records none of which
 * is of our kind (prefix) (the RRset with our record is at a name that
 * exists: the last update made it). */
static void
wild_add(struct batch *b, struct wild_part *p, const struct wild_part *part,
         const char *label, const char *domain, const char *prefix)
{
	char name[DNS_NAME_MAX + 16], probe[DNS_NAME_MAX + 16];
	const struct dns_txtset *s = part->set;

	if (*part->cname == NULL &&
	    (s->n == 0 || dns_txtset_count(s, prefix) > 0))
		return;
	snprintf(name, sizeof(name), "%s.%s", label, domain);
	if (dns_probe_name(name, probe, sizeof(probe)) == -1)
		return;
	p[b->n] = *part;
	batch_add(b, probe, LDNS_RR_TYPE_TXT);
}

/* Is the answer read into p a wildcard's, by the answer ans to its
 * probe name pname: a CNAME to the same target, or, without a CNAME,
 * the same TXT records? */
static int
wild_alike(const struct wild_part *p, const ldns_pkt *ans, const char *pname)
{
	struct dns_txtset probe;
	char *cname;
	int same;

	memset(&probe, 0, sizeof(probe));
	read_txt(ans, pname, &probe, &cname);
	if (*p->cname != NULL)
		same = cname != NULL && strcmp(cname, *p->cname) == 0;
	else
		same = cname == NULL && txtset_same(p->set, &probe);
	txtset_free(&probe);
	free(cname);
	return same;
}

/* Leave out and flag each answer of p that its probe, among the first
 * n queries of b (answered), tells a wildcard's: TXT records are
 * emptied, a CNAME is moved to *wild_cname. */
static void
wild_take(const struct batch *b, const struct wild_part *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!wild_alike(&p[i], b->ans[i], b->q[i].name))
			continue;
		txtset_free(p[i].set);
		*p[i].wild_cname = *p[i].cname;
		*p[i].cname = NULL;
		*p[i].flag = 1;
	}
}

/* Do the MX host lists a and b name the same hosts, in any order? */
static int
mx_same(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;

		while (j < b->n && ascii_casecmp(a->v[i], b->v[j]) != 0)
			j++;
		if (j == b->n)
			return 0;
	}
	return 1;
}

/* The types asked about a domain: at the probe below it and at the
 * probe beside it, all four; at the domain itself, all but the first
 * (its MX is asked apart: sync has it in its state). */
static const ldns_rr_type wild_domain_types[] = {
    LDNS_RR_TYPE_MX, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
#define WILD_TYPES 4
/* where wild_domain_ask() puts them, from its first question on: the
 * probe below (i from 0), the probe beside (i from 0), the domain (i
 * from 1) */
#define WILD_BELOW(i) (i)
#define WILD_BESIDE(i) (WILD_TYPES + (i))
#define WILD_DOMAIN(i) (2 * WILD_TYPES - 1 + (i))

/*
 * Add to b the questions that tell whether domain exists only through a
 * wildcard: the four types at a random name just below domain and at a
 * random name beside it (below its parent, which is in the zone when
 * domain is not the apex), and all but the MX at domain (its MX is asked
 * apart), where WILD_BELOW(), WILD_BESIDE() and WILD_DOMAIN() say from
 * the first one added (wild_domain_lost() says why both probes). Returns
 * 0, or -1 with nothing added when domain has one label or a probe name
 * would be too long.
 */
static int
wild_domain_ask(struct batch *b, const char *domain)
{
	char below[DNS_NAME_MAX + 16], beside[DNS_NAME_MAX + 16];
	const char *parent = strchr(domain, '.');

	if (parent == NULL ||
	    dns_probe_name(domain, below, sizeof(below)) == -1 ||
	    dns_probe_name(parent + 1, beside, sizeof(beside)) == -1)
		return -1;
	for (size_t i = 0; i < WILD_TYPES; i++)
		batch_add(b, below, wild_domain_types[i]);
	for (size_t i = 0; i < WILD_TYPES; i++)
		batch_add(b, beside, wild_domain_types[i]);
	for (size_t i = 1; i < WILD_TYPES; i++)
		batch_add(b, domain, wild_domain_types[i]);
	return 0;
}

/*
 * Add to b the questions about domain, read into st (wild_domain_ask()),
 * if the run may create a name below it that would hide what a wildcard
 * gives domain: its MX was read, it is below the apex of the zone that
 * the run updates (the apex always exists, and often has its wildcard's
 * MX and TXT; and when that zone is _mta-sts.<domain>'s own, the run
 * creates nothing in domain's zone, where the delegation of _mta-sts
 * makes domain exist already, and the probe beside domain would be
 * asked outside the zones the primary serves), neither of its names
 * holds a record of our kind (either would make it exist already: once
 * the run's record is there, nothing is asked; until then every run asks,
 * a domain refused or failing too), and neither was answered NXDOMAIN (a
 * wildcard that covered domain would answer them: a zone without one
 * pays nothing). A real record of another kind at either name proves it
 * exists too, but only the TXT probes sent beside these tell it
 * (wild_real_below()). Returns 1 if added, else 0.
 */
static int
wild_domain_add(struct batch *b, const struct dns_target *t, const char *domain,
                const struct dns_state *st)
{
	if (!st->mx_read || st->below_nxdomain ||
	    !name_under(domain, t->zone, 1) ||
	    dns_txtset_count(&st->sts, STS_RECORD_VERSION) > 0 ||
	    dns_txtset_count(&st->tlsrpt, TLSRPT_RECORD_VERSION) > 0)
		return 0;
	return wild_domain_ask(b, domain) == 0;
}

/* Is domain's MX, as read into mx, the same as the answer ans to the
 * probe name pname: the same hosts (or none at either)? */
static int
wild_mx_alike(const struct strlist *mx, const ldns_pkt *ans, const char *pname)
{
	struct strlist probe;
	int same;

	memset(&probe, 0, sizeof(probe));
	read_mx(ans, pname, &probe);
	same = mx_same(mx, &probe);
	strlist_free(&probe);
	return same;
}

/* Are the records here (of type) the same as those that the answer ans
 * holds at the probe name pname (the same RDATA, or none at either)? */
static int
wild_rrs_alike(const struct dns_txtset *here, ldns_rr_type type,
               const ldns_pkt *ans, const char *pname)
{
	struct dns_txtset probe;
	int same;

	memset(&probe, 0, sizeof(probe));
	read_rrs(ans, pname, type, &probe);
	same = txtset_same(here, &probe);
	txtset_free(&probe);
	return same;
}

/* What a domain's record gives it; see dnsupdate.h. */
unsigned
dns_wild_record(uint16_t type, const char *data)
{
	switch (type) {
	case LDNS_RR_TYPE_MX:
		return strcmp(data, ".") == 0 ? DNS_WILD_NULL_MX : DNS_WILD_MX;
	case LDNS_RR_TYPE_TXT:
		return record_is_spf(data) ? DNS_WILD_SPF : DNS_WILD_TXT;
	case LDNS_RR_TYPE_A:
		return DNS_WILD_A;
	case LDNS_RR_TYPE_AAAA:
		return DNS_WILD_AAAA;
	default:
		return 0;
	}
}

/* What records of a type may give; see dnsupdate.h. */
unsigned
dns_wild_type(uint16_t type)
{
	switch (type) {
	case LDNS_RR_TYPE_MX:
		return DNS_WILD_MX | DNS_WILD_NULL_MX;
	case LDNS_RR_TYPE_TXT:
		return DNS_WILD_SPF | DNS_WILD_TXT;
	default:
		return dns_wild_record(type, "");
	}
}

/* What the records s of type (TXT, A or AAAA) give a domain
 * (DNS_WILD_*; 0 if s is empty). */
static unsigned
wild_have(ldns_rr_type type, const struct dns_txtset *s)
{
	unsigned have = 0;

	for (size_t i = 0; i < s->n; i++)
		have |= dns_wild_record(
		    type, type == LDNS_RR_TYPE_TXT ? s->text.v[i] : "");
	return have;
}

/* The verdict of a wildcard test; see dnsupdate.h, and
 * wild_domain_lost() for why. */
unsigned
dns_wild_verdict(unsigned have, unsigned differ)
{
	const unsigned addr = DNS_WILD_A | DNS_WILD_AAAA;
	const unsigned mx_txt =
	    dns_wild_type(LDNS_RR_TYPE_MX) | dns_wild_type(LDNS_RR_TYPE_TXT);

	if ((differ & mx_txt) != 0)
		return 0;
	if ((differ & addr) != 0 && (have & mx_txt) == 0)
		return 0;
	return (have & ~DNS_WILD_NULL_MX) != 0 ? have : 0;
}

/*
 * What domain, read into st, gets from a wildcard (DNS_WILD_*), by the
 * answers of b from first on (wild_domain_ask()'s questions): 0 unless
 * its MX and TXT RRsets are each the same as those of both probes, the
 * name below it (B, <random>.<domain>) and the name beside it (S,
 * <random>.<parent>), its A and AAAA RRsets too if its MX and TXT hold
 * no record, and it has more to lose than a null MX (which takes no mail
 * before or after): dns_wild_verdict(). A name that does not exist is
 * answered from the wildcard of its closest encloser, the nearest name
 * above it that exists, if that has one, else NXDOMAIN (RFC 4592
 * section 3.3.1), and a name that exists never is (a wildcard applies
 * only where the name is not found, RFC 1034 section 4.3.2 step 3c);
 * names do not exist by chance, so neither probe does.
 * - domain does not exist (what is refused): nothing below it exists
 *   either (it would make domain exist, section 2.2.2), so domain's
 *   closest encloser E is B's too; and it is S's: E is the parent P if
 *   P exists, else a name above P, with nothing below P. One wildcard,
 *   *.E, answers all three alike. For a.b.<zone>: b does not exist, and
 *   all get *.<zone>'s records; *.b.<zone> exists (b does then), and
 *   all get its records; b exists without a wildcard, and all get
 *   NXDOMAIN (nothing is asked then: st->below_nxdomain). For a.<zone>,
 *   E is the apex and all get *.<zone>'s. So every domain refused on B
 *   alone still is.
 * - domain exists (so does P): what it is asked for is its own, B's
 *   closest encloser is domain, S's is P, so B gets the records of
 *   *.<domain> or none, S those of *.<parent> or none: for a.b.<zone>,
 *   *.b.<zone>; for a.<zone>, *.<zone>. Having something to lose,
 *   domain is refused only if both wildcards exist and both give the
 *   records it holds itself. *.<domain> alone (a web host's "sub A x"
 *   beside "*.sub A x", or a domain's MX beside the same *.<domain>
 *   MX), which B alone took for a domain that does not exist, no longer
 *   is. What is left, and cannot be told without DNSSEC, is *.<parent>
 *   with those same records as well: most often *.<zone>, for a domain
 *   just below the apex (the blind spot that dnsupdate.h describes).
 * So an MX or TXT record of domain that both probes get too means that
 * domain does not exist, or the blind spot: an existing domain's record
 * is its own, and for B and S to get it too both wildcards must hold it.
 * Its addresses cannot tell these two apart any better, and they may
 * differ between the three answers although one wildcard gives them all:
 * a server may make a new answer for each query (a PowerDNS LUA record
 * picking an address at random or by which are up, ALIAS in a wildcard,
 * a geographic backend), and requiring them alike would publish such a
 * domain, taking away the wildcard's MX and its mail. So once an MX or
 * TXT record is alike at all three, the addresses are not compared (the
 * blind spot then takes in a domain whose own MX and TXT both wildcards
 * give, whatever addresses the three have). Without one, the addresses
 * are all there is to compare: every domain without an MX or TXT record
 * of its own has the same (none) as two names without any, and only
 * alike addresses tell one that does not exist.
 */
static unsigned
wild_domain_lost(const struct batch *b, size_t first,
                 const struct dns_state *st)
{
	ldns_pkt *const *ans = b->ans + first;
	const char *below = b->q[first + WILD_BELOW(0)].name,
	           *beside = b->q[first + WILD_BESIDE(0)].name,
	           *domain = b->q[first + WILD_DOMAIN(1)].name;
	unsigned have = 0, differ = 0;

	for (size_t i = 0; i < st->mx.n; i++)
		have |= dns_wild_record(LDNS_RR_TYPE_MX, st->mx.v[i]);
	if (!wild_mx_alike(&st->mx, ans[WILD_BELOW(0)], below) ||
	    !wild_mx_alike(&st->mx, ans[WILD_BESIDE(0)], beside))
		differ |= dns_wild_type(LDNS_RR_TYPE_MX);
	for (size_t i = 1; i < WILD_TYPES; i++) {
		ldns_rr_type type = wild_domain_types[i];
		struct dns_txtset here;

		memset(&here, 0, sizeof(here));
		read_rrs(ans[WILD_DOMAIN(i)], domain, type, &here);
		have |= wild_have(type, &here);
		if (!wild_rrs_alike(&here, type, ans[WILD_BELOW(i)], below) ||
		    !wild_rrs_alike(&here, type, ans[WILD_BESIDE(i)], beside))
			differ |= dns_wild_type(type);
		txtset_free(&here);
	}
	return dns_wild_verdict(have, differ);
}

/* Append to out the words of list (n of them) joined as in "a, b and
 * c". */
static void
join_words(const char *const *list, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s%s",
		           i == 0      ? ""
		           : i + 1 < n ? ", "
		                       : " and ",
		           list[i]);
}

/* Append to what the records that a domain gets from a wildcard (lost,
 * DNS_WILD_*) as messages name them ("its MX, its SPF TXT record and its
 * address"), and to types their types ("MX, TXT, A"), for the advice to
 * give it its own. Returns whether what is plural. */
static int
wild_words(unsigned lost, struct buf *what, struct buf *types)
{
	const char *w[3], *t[4];
	size_t nw = 0, nt = 0;
	int plural = 0;

	if (lost & (DNS_WILD_MX | DNS_WILD_NULL_MX)) {
		w[nw++] = lost & DNS_WILD_MX ? "its MX" : "its null MX";
		t[nt++] = "MX";
	}
	if (lost & (DNS_WILD_SPF | DNS_WILD_TXT)) {
		w[nw++] = !(lost & DNS_WILD_TXT) ? "its SPF TXT record"
		          : !(lost & DNS_WILD_SPF)
		              ? "its TXT records"
		              : "its SPF and other TXT records";
		plural = (lost & DNS_WILD_TXT) != 0;
		t[nt++] = "TXT";
	}
	if (lost & (DNS_WILD_A | DNS_WILD_AAAA))
		w[nw++] = "its address";
	if (lost & DNS_WILD_A)
		t[nt++] = "A";
	if (lost & DNS_WILD_AAAA)
		t[nt++] = "AAAA";
	join_words(w, nw, what);
	for (size_t i = 0; i < nt; i++)
		buf_printf(types, "%s%s", i == 0 ? "" : ", ", t[i]);
	return plural || nw > 1;
}

/* What else stops when a domain loses lost (DNS_WILD_*): its mail, if it
 * goes to an MX or, without one, to the address (RFC 5321 section 5.1)
 * that goes: ", and mail to it would stop" (or a longer form), or "". */
static const char *
wild_mail(unsigned lost)
{
	if (lost & DNS_WILD_MX)
		return ", and mail to it would stop";
	if (!(lost & DNS_WILD_NULL_MX) && (lost & (DNS_WILD_A | DNS_WILD_AAAA)))
		return ", and mail to it, which goes to that address for want "
		       "of an MX (RFC 5321 section 5.1), would stop";
	return "";
}

/* Say what a domain gets from a wildcard, and would lose; see
 * dnsupdate.h. The sentence in three steps: what comes from where (and
 * the evidence), why it would go, and what to give it. */
void
dns_wild_sentence(struct buf *out, const char *domain, unsigned lost,
                  const char *wildcard, const char *created)
{
	struct buf what, types;
	int plural;

	buf_init(&what, 256);
	buf_init(&types, 256);
	buf_puts(&what, "");
	buf_puts(&types, "");
	plural = wild_words(lost, &what, &types);
	buf_printf(out,
	           "%s has no records of its own: %s %s from %s (a name "
	           "below it and one beside it get the same)",
	           domain, what.data, plural ? "come" : "comes", wildcard);
	buf_printf(out,
	           ", which no longer answers it once %s exists, so %s would "
	           "go%s",
	           created, plural ? "they" : "it", wild_mail(lost));
	buf_printf(out, "; give it records of its own (%s)", types.data);
	buf_free(&what);
	buf_free(&types);
}

/* After wild_take(): does a name below domain that was asked about (sts:
 * _mta-sts, tlsrpt: _smtp._tls) still hold a record, TXT or CNAME, which
 * is then its own? Such a name makes domain exist (an empty non-terminal
 * at least, RFC 4592 section 2.2.2), so no wildcard answers domain; a
 * wildcard *.<domain> that answers the probe alike does not matter. */
static int
wild_real_below(const struct dns_state *st, int sts, int tlsrpt)
{
	return (sts && (st->sts.n > 0 || st->sts_cname != NULL)) ||
	       (tlsrpt && (st->tlsrpt.n > 0 || st->tlsrpt_cname != NULL));
}

/* Tell wildcard answers in the state of domain; see dnsupdate.h. All
 * the probes needed are sent at once. */
int
dns_state_wildcards(const struct dns_target *t, const char *domain, int sts,
                    int tlsrpt, struct dns_state *st, struct diag *d)
{
	struct wild_part p[2];
	const struct wild_part sp = {&st->sts, &st->sts_cname,
	                             &st->sts_wildcard_cname,
	                             &st->sts_wildcard};
	const struct wild_part tp = {&st->tlsrpt, &st->tlsrpt_cname,
	                             &st->tlsrpt_wildcard_cname,
	                             &st->tlsrpt_wildcard};
	struct batch b;
	size_t ntxt;
	int rc = 0, dom;

	b.n = b.k = 0;
	if (sts)
		wild_add(&b, p, &sp, "_mta-sts", domain, STS_RECORD_VERSION);
	if (tlsrpt)
		wild_add(&b, p, &tp, "_smtp._tls", domain,
		         TLSRPT_RECORD_VERSION);
	ntxt = b.n;
	dom = (sts || tlsrpt) && wild_domain_add(&b, t, domain, st);
	if (b.n == 0)
		return 0;
	batch_send(t, &b);
	if (batch_check_from(t, &b, 0, 1, d) == -1) {
		diag_append(d,
		            " (asking whether the records of %s come from a "
		            "wildcard)",
		            domain);
		rc = -1;
	} else {
		wild_take(&b, p, ntxt);
		if (dom && !wild_real_below(st, sts, tlsrpt))
			st->domain_wildcard = wild_domain_lost(&b, ntxt, st);
	}
	batch_free(&b);
	return rc;
}

/* Does the answer ans hold an SOA record at name (name is a zone's
 * apex)? */
static int
holds_soa(const ldns_pkt *ans, const char *name)
{
	struct dns_txtset soa;
	int apex;

	memset(&soa, 0, sizeof(soa));
	read_rrs(ans, name, LDNS_RR_TYPE_SOA, &soa);
	apex = soa.n > 0;
	txtset_free(&soa);
	return apex;
}

/* What domain gets from a wildcard, asked of a resolver; see
 * dnsupdate.h. One batch: the SOA (with ask_soa), the MX, then the
 * questions of wild_domain_ask(), which wild_domain_lost() reads with the
 * MX as sync's state holds it. */
int
dns_domain_wildcard(const struct dns_target *t, const char *domain, int ask_soa,
                    unsigned *lost, struct diag *d)
{
	struct dns_state st;
	struct batch b;
	size_t mx;
	int rc = 0;

	*lost = 0;
	if (strchr(domain, '.') == NULL) {
		diag_error(d,
		           "%s has one label, so there is no name beside it "
		           "to ask",
		           domain);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	b.n = b.k = 0;
	if (ask_soa)
		batch_add(&b, domain, LDNS_RR_TYPE_SOA);
	mx = b.n;
	batch_add(&b, domain, LDNS_RR_TYPE_MX);
	if (wild_domain_ask(&b, domain) == -1) {
		diag_error(
		    d,
		    "a name below %s to ask would be longer than the 253 "
		    "characters of a DNS name",
		    domain);
		return -1;
	}
	batch_send(t, &b);
	if (batch_check_from(t, &b, 0, 0, d) == -1) {
		diag_append(d,
		            " (the %zu questions of the test go together "
		            "on one TCP connection)",
		            b.n);
		rc = -1;
	} else if (!(ask_soa && holds_soa(b.ans[0], domain))) {
		read_mx(b.ans[mx], domain, &st.mx);
		*lost = wild_domain_lost(&b, mx + 1, &st);
	}
	dns_state_free(&st);
	batch_free(&b);
	return rc;
}

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

/* "the system resolver (ADDR, ADDR, from /etc/resolv.conf)" into f->name:
 * which addresses the resolver asks (three at most named). */
static void
system_resolver_name(struct finder *f)
{
	ldns_rdf **ns = ldns_resolver_nameservers(f->res);
	size_t n = ldns_resolver_nameserver_count(f->res);
	struct buf b;

	buf_init(&b, sizeof(f->name));
	buf_puts(&b, "the system resolver (");
	for (size_t i = 0; i < n && i < 3; i++) {
		char *a = ldns_rdf2str(ns[i]);

		buf_printf(&b, "%s%s", i ? ", " : "", a ? a : "?");
		free(a);
	}
	buf_printf(&b, "%s%sfrom /etc/resolv.conf)", n > 3 ? ", ..." : "",
	           n > 0 ? ", " : "no nameserver ");
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

/* Set up f->res to ask the server at spec ("ADDR" or "ADDR#PORT").
 * Returns 0, or -1 with the reason in d. */
static int
resolver_at(struct finder *f, const char *spec, struct diag *d)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned long long port = 53;
	const char *hash = strchr(spec, '#');
	ldns_rdf *ns;

	snprintf(addr, sizeof(addr), "%.*s",
	         (int)(hash ? (size_t)(hash - spec) : strlen(spec)), spec);
	ns = ldns_rdf_new_frm_str(
	    strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, addr);
	if (ns == NULL || (hash && parse_uint(hash + 1, 65535, &port))) {
		ldns_rdf_deep_free(ns);
		diag_error(d, "resolver \"%s\" is not ADDR or ADDR#PORT", spec);
		return -1;
	}
	f->res = ldns_resolver_new();
	ldns_resolver_push_nameserver(f->res, ns);
	ldns_rdf_deep_free(ns);
	ldns_resolver_set_port(f->res, (uint16_t)port);
	snprintf(f->name, sizeof(f->name), "resolver %s port %llu", addr, port);
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
 * NXDOMAIN) to free, or -1 with the reason in d. */
static int
finder_ask(struct finder *f, const char *name, ldns_rr_type type,
           ldns_pkt **ans, struct diag *d)
{
	struct timespec t0, t1;
	ldns_rdf *qn;
	ldns_status s;
	int rcode;

	if (f->pre != NULL && type == f->pre->q[0].type &&
	    strcmp(name, f->pre->q[0].name) == 0) {
		struct batch *b = f->pre;

		f->pre = NULL; /* the answer is taken once */
		if (batch_check(f->t, b, 0, 0, d) == -1)
			return -1;
		*ans = b->ans[0];
		b->ans[0] = NULL;
		return 0;
	}
	if (f->res == NULL)
		return query_primary(f->t, name, type, 0, ans, d);
	qn = ldns_dname_new_frm_str(name);
	if (qn == NULL) {
		diag_error(d, "%s is not a valid domain name", name);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = ldns_resolver_send(ans, f->res, qn, type, LDNS_RR_CLASS_IN,
	                       LDNS_RD);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ldns_rdf_deep_free(qn);
	if (s != LDNS_STATUS_OK || *ans == NULL) {
		*ans = NULL;
		resolver_silent(f, name, type, s,
		                (double)(t1.tv_sec - t0.tv_sec) +
		                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		                d);
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
		query_rcode_error(f->name, name, type, rcode, d);
	ldns_pkt_free(*ans);
	*ans = NULL;
	return -1;
}

/* The SOA in ans that is the zone of qn: in the answer at qn, or in the
 * authority section at qn or an ancestor of qn. NULL if none, or if the
 * answer holds a CNAME at qn (a DNAME's too): a server that follows it
 * (PowerDNS does, across the zones it serves; a resolver does) puts
 * there the SOA of the zone where the chain ends, not of qn's. */
static const ldns_rr *
zone_soa(const ldns_pkt *ans, const ldns_rdf *qn)
{
	const ldns_rr_list *l[2] = {ldns_pkt_answer(ans),
	                            ldns_pkt_authority(ans)};

	for (size_t i = 0; i < ldns_rr_list_rr_count(l[0]); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l[0], i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && rr_at(rr, qn))
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
 * dnsupdate.h. The SOA that zone_soa() finds for name, if it is not
 * name's own, is the apex of the zone that holds name and domain both. */
int
dns_answer_apex(const ldns_pkt *ans, const char *name, const char *domain)
{
	ldns_rdf *qn = ldns_dname_new_frm_str(name),
	         *dn = ldns_dname_new_frm_str(domain);
	const ldns_rr *soa = qn != NULL ? zone_soa(ans, qn) : NULL;
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
	int found = 0;

	if (finder_ask(f, name, LDNS_RR_TYPE_SOA, &ans, d) == -1)
		return -1;
	qn = ldns_dname_new_frm_str(name);
	soa = zone_soa(ans, qn);
	if (soa != NULL) {
		z = rdf_name(ldns_rr_owner(soa));
		m = rdf_name(ldns_rr_rdf(soa, 0));
		found = str_copy(zone, DNS_NAME_MAX + 1, z) == 0 &&
		        str_copy(mname, DNS_NAME_MAX + 1, m) == 0;
		free(z);
		free(m);
	}
	ldns_rdf_deep_free(qn);
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

	if (finder_ask(f, host, type, &ans, d) == -1)
		return -1;
	addrs_from_answer(ans, type, port, as);
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
	if (name_copy(name, server) == -1) {
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
		batch_send(t, pre);
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
	if (zone != NULL && name_copy(name, zone) == -1) {
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

	if (batch_check(t, b, i, 0, d) == -1)
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
	if (holds_soa(ans, t->zone)) {
		zone_seen_at(t, 1);
		return 0;
	}
	qn = ldns_dname_new_frm_str(t->zone);
	soa = qn != NULL ? zone_soa(ans, qn) : NULL;
	if (soa != NULL)
		above = rdf_name(ldns_rr_owner(soa));
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
	if (query_primary(t, name, LDNS_RR_TYPE_TXT, 1, &ans, NULL) == -1)
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
		batch_add(&b, t->zone, LDNS_RR_TYPE_SOA);
		first = 1;
	}
	state_batch(&b, domain, 1);
	batch_send(t, &b);
	if (first == 1 && zone_refused(t, &b, 0, domain, d))
		rc = -1;
	else if (first == 1 && zone_check(t, &b, 0, d) == -1)
		rc = -1;
	else if (state_take(t, &b, first, domain, 0, names, st, d) == -1)
		rc = -2;
	batch_free(&b);
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
	batch_add(&b, name, LDNS_RR_TYPE_SOA);
	state_batch(&b, domain, 1);
	if (target_find(domain, zone, server, port, key, timeout, resolver, t,
	                &b, d) == -1)
		rc = -1;
	else if (state_take(t, &b, 1, domain, 0, names, st, d) == -1)
		rc = -2;
	batch_free(&b);
	return rc;
}

/* A resolver as a target; see dnsupdate.h. The nameservers (and port)
 * are those the finder's resolver would ask. */
int
dns_target_resolver(const char *spec, unsigned timeout, struct dns_target *t,
                    struct diag *d)
{
	struct finder f = {.res = NULL, .t = NULL, .pre = NULL};
	struct addrset as;
	ldns_rdf **ns;

	memset(t, 0, sizeof(*t));
	memset(&as, 0, sizeof(as));
	t->server = "";
	t->timeout = timeout ? timeout : 30;
	t->recurse = 1;
	if (resolver_open(&f, spec, t->timeout, d) == -1)
		return -1;
	ns = ldns_resolver_nameservers(f.res);
	for (size_t i = 0; i < ldns_resolver_nameserver_count(f.res); i++)
		addr_add_rdf(&as, ns[i], ldns_resolver_port(f.res));
	if (as.n == 0)
		diag_error(d, "%s has no usable nameserver address", f.name);
	else
		target_set_primary(t, "", &as);
	ldns_resolver_deep_free(f.res);
	return as.n > 0 ? 0 : -1;
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

/* --------------------------------------------------------------- plan */

enum op_kind {
	OP_EXISTS,   /* prerequisite: this RR is in the RRset as read */
	OP_ABSENT,   /* prerequisite: no TXT RRset at owner */
	OP_NO_CNAME, /* prerequisite: no CNAME at owner */
	OP_DELETE,   /* delete this RR */
	OP_ADD,      /* add this RR */
};

/* Is an operation of kind k a prerequisite? */
static int
op_prereq(enum op_kind k)
{
	return k == OP_EXISTS || k == OP_ABSENT || k == OP_NO_CNAME;
}

struct op {
	enum op_kind kind;
	char owner[DNS_NAME_MAX + 1];
	unsigned char *rdata; /* TXT RDATA (character-strings); owned */
	size_t rdlen;
	uint32_t ttl;
};

struct plan {
	struct op *ops;
	size_t n;
};

/* Append an operation to p, copying rdata. */
static void
plan_add(struct plan *p, enum op_kind kind, const char *owner,
         const unsigned char *rdata, size_t rdlen, uint32_t ttl)
{
	struct op *o;

	p->ops = xreallocarray(p->ops, p->n + 1, sizeof(*p->ops));
	o = &p->ops[p->n++];
	o->kind = kind;
	str_copy(o->owner, sizeof(o->owner), owner);
	o->rdata = xmalloc(rdlen ? rdlen : 1);
	if (rdlen)
		memcpy(o->rdata, rdata, rdlen);
	o->rdlen = rdlen;
	o->ttl = ttl;
}

static void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->ops[i].rdata);
	free(p->ops);
	p->ops = NULL;
	p->n = 0;
}

/* Encode text as TXT RDATA: character-strings of up to 255 bytes. */
static void
txt_encode(const char *text, struct buf *out)
{
	size_t len = strlen(text), off = 0;

	do {
		size_t n = len - off > 255 ? 255 : len - off;
		unsigned char l = (unsigned char)n;

		buf_append(out, &l, 1);
		buf_append(out, text + off, n);
		off += n;
	} while (off < len);
}

size_t
dns_txtset_count(const struct dns_txtset *s, const char *prefix)
{
	size_t count = 0;

	for (size_t i = 0; i < s->n; i++)
		count += record_is_version(s->text.v[i], prefix);
	return count;
}

/* The TTL c wants for the records of the RRset s: the configured one,
 * or the one they have. */
static uint32_t
part_ttl(const struct dns_txtset *s, const struct dns_change *c)
{
	return c->ttl_set || s->n == 0 ? c->ttl : s->ttl;
}

/* Would setting the prefix records of s to text, with TTL ttl, change
 * anything? */
static int
part_needed(const struct dns_txtset *s, const char *text, const char *prefix,
            uint32_t ttl)
{
	size_t count = 0, same = 0;

	if (text == NULL)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!record_is_version(s->text.v[i], prefix))
			continue;
		count++;
		same += strcmp(s->text.v[i], text) == 0;
	}
	return !(count == 1 && same == 1 && s->ttl == ttl);
}

/* Add the operations that make the prefix records at owner exactly
 * text with TTL ttl, given the RRset s as read, to p. Besides the RRset
 * as read, owner must hold no CNAME: one made meanwhile where no TXT
 * record was passes a TXT prerequisite, and servers then drop the TXT
 * record added beside it (BIND, Knot) or refuse the update (PowerDNS),
 * with nothing that tells why. */
static void
plan_part(struct plan *p, const char *owner, const struct dns_txtset *s,
          const char *text, const char *prefix, uint32_t ttl)
{
	struct buf rd;
	int present = 0;

	if (!part_needed(s, text, prefix, ttl))
		return;
	if (s->n == 0)
		plan_add(p, OP_ABSENT, owner, NULL, 0, 0);
	for (size_t i = 0; i < s->n; i++)
		plan_add(p, OP_EXISTS, owner, s->rdata[i], s->rdlen[i], 0);
	plan_add(p, OP_NO_CNAME, owner, NULL, 0, 0);
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->text.v[i], text) == 0 && s->ttl == ttl)
			present = 1;
		else if (record_is_version(s->text.v[i], prefix))
			plan_add(p, OP_DELETE, owner, s->rdata[i], s->rdlen[i],
			         0);
	}
	if (present)
		return;
	buf_init(&rd, DNS_MSG_MAX);
	txt_encode(text, &rd);
	plan_add(p, OP_ADD, owner, (unsigned char *)rd.data, rd.len, ttl);
	buf_free(&rd);
}

/* Does applying c to its state change anything? */
int
dns_change_needed(const struct dns_change *c)
{
	const struct dns_txtset *sts, *rpt;

	if (c->state == NULL)
		return 1;
	sts = &c->state->sts;
	rpt = &c->state->tlsrpt;
	return part_needed(sts, c->sts_text, STS_RECORD_VERSION,
	                   part_ttl(sts, c)) ||
	       part_needed(rpt, c->tlsrpt_text, TLSRPT_RECORD_VERSION,
	                   part_ttl(rpt, c));
}

/* Refuse a change that would put a TXT record beside a CNAME. Returns
 * 0, or -1 with the reason in d. */
static int
change_refused(const struct dns_change *c, struct diag *d)
{
	if (c->state == NULL) {
		diag_error(d, "%s: the DNS state was not read", c->domain);
		return -1;
	}
	if (c->sts_text != NULL && c->state->sts_cname != NULL) {
		diag_error(d,
		           "_mta-sts.%s is a CNAME to %s (RFC 8461 section "
		           "8.2 delegation): leaving it alone",
		           c->domain, c->state->sts_cname);
		return -1;
	}
	if (c->tlsrpt_text != NULL && c->state->tlsrpt_cname != NULL) {
		diag_error(d,
		           "_smtp._tls.%s is a CNAME to %s: leaving it alone "
		           "(a TXT record cannot stand beside it)",
		           c->domain, c->state->tlsrpt_cname);
		return -1;
	}
	return 0;
}

/* Build the plan for the n changes. Returns 0, or -1 (refused, in d). */
static int
plan_build(const struct dns_change *c, size_t n, struct plan *p, struct diag *d)
{
	char owner[DNS_NAME_MAX + 16];

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++)
		if (!c[i].contended && dns_change_needed(&c[i]) &&
		    change_refused(&c[i], d) == -1)
			return -1;
	for (size_t i = 0; i < n; i++) {
		if (c[i].contended)
			continue;
		snprintf(owner, sizeof(owner), "_mta-sts.%s", c[i].domain);
		plan_part(p, owner, &c[i].state->sts, c[i].sts_text,
		          STS_RECORD_VERSION,
		          part_ttl(&c[i].state->sts, &c[i]));
		snprintf(owner, sizeof(owner), "_smtp._tls.%s", c[i].domain);
		plan_part(p, owner, &c[i].state->tlsrpt, c[i].tlsrpt_text,
		          TLSRPT_RECORD_VERSION,
		          part_ttl(&c[i].state->tlsrpt, &c[i]));
	}
	return 0;
}

/* ------------------------------------------------------------- split */

/* What an UPDATE to t takes besides its operations: header, zone
 * section and TSIG RR. */
static size_t
update_overhead(const struct dns_target *t)
{
	return 12 + strlen(t->zone) + 2 + 4 + tsig_room(t);
}

/* How many bytes the operations of p take in an UPDATE, at most: their
 * names are counted uncompressed. */
static size_t
plan_wire_max(const struct plan *p)
{
	size_t size = 0;

	for (size_t i = 0; i < p->n; i++)
		size += strlen(p->ops[i].owner) + 2 + 10 + p->ops[i].rdlen;
	return size;
}

/*
 * How many of the leading changes of c (n > 0) go into one UPDATE to t:
 * as many as fit in a DNS message (counted as plan_wire_max() does) and
 * share the first one's acl part (Knot refuses an UPDATE that no one of
 * its acls allows whole), at least one, so that a change's records
 * always go together. A change that plan_build() refuses (a TXT beside a
 * CNAME) goes alone: its refusal is then its own.
 */
static size_t
update_fit(const struct dns_target *t, const struct dns_change *c, size_t n)
{
	size_t size = update_overhead(t), k;

	for (k = 0; k < n; k++) {
		struct plan p;
		size_t more;

		if (k > 0 && c[k].acl_part != c[0].acl_part)
			break;
		if (plan_build(&c[k], 1, &p, NULL) == -1)
			return k > 0 ? k : 1;
		more = plan_wire_max(&p);
		plan_free(&p);
		if (k > 0 && size + more > DNS_MSG_MAX)
			break;
		size += more;
	}
	return k;
}

/* ------------------------------------------------------ dry-run text */

#define WILDCARD_NOTE                                                          \
	"; %s.%s: its TXT records come from a wildcard (the name does not "    \
	"exist), so the update creates the name\n"
#define WILDCARD_CNAME_NOTE                                                    \
	"; %s.%s: its CNAME to %s comes from a wildcard (the name does not "   \
	"exist), not a delegation, so the update creates the name\n"

/* Append TXT RDATA as quoted character-strings to out. */
static void
txt_present(const unsigned char *rd, size_t len, struct buf *out)
{
	size_t off = 0;

	while (off < len) {
		size_t n = rd[off++];

		buf_puts(out, " \"");
		for (size_t i = 0; i < n && off < len; i++, off++) {
			unsigned char c = rd[off];

			if (c == '"' || c == '\\')
				buf_printf(out, "\\%c", c);
			else if (c < 0x20 || c > 0x7e)
				buf_printf(out, "\\%03u", c);
			else
				buf_append(out, &c, 1);
		}
		buf_puts(out, "\"");
	}
}

/* Say, as a comment appended to out, that the name label.domain is
 * created because what was read there was a wildcard's (its CNAME to
 * wild_cname, if not NULL; else its TXT records). */
static void
wildcard_note(const char *label, const char *domain, const char *wild_cname,
              struct buf *out)
{
	if (wild_cname != NULL)
		buf_printf(out, WILDCARD_CNAME_NOTE, label, domain, wild_cname);
	else
		buf_printf(out, WILDCARD_NOTE, label, domain);
}

/* Say, as comments appended to out, which names of the n changes c
 * are created because what was read there was a wildcard's. */
static void
wildcard_notes(const struct dns_change *c, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct dns_state *st = c[i].state;

		if (st->sts_wildcard && c[i].sts_text != NULL)
			wildcard_note("_mta-sts", c[i].domain,
			              st->sts_wildcard_cname, out);
		if (st->tlsrpt_wildcard && c[i].tlsrpt_text != NULL)
			wildcard_note("_smtp._tls", c[i].domain,
			              st->tlsrpt_wildcard_cname, out);
	}
}

/* The UPDATE dns_update_apply would send for the n changes c, as
 * nsupdate-like text appended to out. Returns 0, or -1 (refused). */
static int
update_text_one(const struct dns_target *t, const struct dns_change *c,
                size_t n, struct buf *out)
{
	static const char *const what[] = {[OP_EXISTS] = "prereq yxrrset",
	                                   [OP_ABSENT] = "prereq nxrrset",
	                                   [OP_NO_CNAME] = "prereq nxrrset",
	                                   [OP_DELETE] = "update delete",
	                                   [OP_ADD] = "update add"};
	struct plan p;
	struct diag d;
	unsigned port = 53;

	diag_init(&d);
	if (plan_build(c, n, &p, &d) == -1) {
		buf_printf(out, "; not sent: %s\n", d.error);
		return -1;
	}
	if (t->naddr > 0)
		port = ntohs(t->addr[0].ss_family == AF_INET6
		                 ? t->addr[0].sin6.sin6_port
		                 : t->addr[0].sin.sin_port);
	if (p.n == 0)
		return 0;
	buf_printf(out, "server %s %u\nzone %s\n", t->server, port, t->zone);
	wildcard_notes(c, n, out);
	for (size_t j = 0; j < 2 * p.n; j++) {
		const struct op *o = &p.ops[j % p.n];

		if ((j < p.n) != op_prereq(o->kind))
			continue; /* prerequisites first, then the updates */
		buf_printf(out, "%s %s", what[o->kind], o->owner);
		if (o->kind == OP_ADD)
			buf_printf(out, " %lu", (unsigned long)o->ttl);
		buf_puts(out, o->kind == OP_NO_CNAME ? " CNAME" : " TXT");
		txt_present(o->rdata, o->rdlen, out);
		buf_puts(out, "\n");
	}
	buf_puts(out, "send\n");
	plan_free(&p);
	return 0;
}

/* The UPDATEs dns_update_zone would send, as nsupdate-like text. */
int
dns_update_text(const struct dns_target *t, const struct dns_change *c,
                size_t n, struct buf *out)
{
	int rc = 0;

	for (size_t first = 0, k; first < n; first += k) {
		k = update_fit(t, c + first, n - first);
		if (update_text_one(t, c + first, k, out) == -1)
			rc = -1;
	}
	return rc;
}

/* ------------------------------------------------------------ update */

/* The ldns RR for operation o. */
static ldns_rr *
op_rr(const struct op *o)
{
	ldns_rr *rr = ldns_rr_new();
	size_t off = 0;

	ldns_rr_set_owner(rr, ldns_dname_new_frm_str(o->owner));
	ldns_rr_set_type(rr, o->kind == OP_NO_CNAME ? LDNS_RR_TYPE_CNAME
	                                            : LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, o->kind == OP_EXISTS || o->kind == OP_ADD
	                          ? LDNS_RR_CLASS_IN
	                          : LDNS_RR_CLASS_NONE);
	ldns_rr_set_ttl(rr, o->kind == OP_ADD ? o->ttl : 0);
	if (o->kind == OP_ABSENT || o->kind == OP_NO_CNAME)
		return rr;
	while (off < o->rdlen) {
		size_t n = 1 + o->rdata[off];

		if (off + n > o->rdlen)
			break;
		ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n,
		                                           o->rdata + off));
		off += n;
	}
	return rr;
}

/* The UPDATE message for plan p in zone. */
static ldns_pkt *
plan_packet(const char *zone, const struct plan *p)
{
	ldns_rr_list *pr = ldns_rr_list_new(), *up = ldns_rr_list_new();
	ldns_pkt *pkt;

	for (size_t i = 0; i < p->n; i++) {
		ldns_rr_list_push_rr(op_prereq(p->ops[i].kind) ? pr : up,
		                     op_rr(&p->ops[i]));
	}
	pkt = ldns_update_pkt_new(ldns_dname_new_frm_str(zone),
	                          LDNS_RR_CLASS_IN, pr, up, NULL);
	ldns_rr_list_deep_free(pr);
	ldns_rr_list_deep_free(up);
	return pkt;
}

/* The owner names p changes, for messages: "a, b", or "a, b, ..." when
 * the next one does not fit in size. */
static void
plan_names(const struct plan *p, char *out, size_t size)
{
	static const char more[] = ", ...";
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->n; i++) {
		const char *o = p->ops[i].owner;
		size_t need = (len > 0 ? 2 : 0) + strlen(o);

		if (strstr(out, o) != NULL) /* named already */
			continue;
		if (len + need + sizeof(more) > size) {
			if (len + sizeof(more) <= size)
				memcpy(out + len, more, sizeof(more));
			return;
		}
		len += (size_t)snprintf(out + len, size - len, "%s%s",
		                        len > 0 ? ", " : "", o);
	}
}

/* Explain a signed REFUSED of an UPDATE. It comes from BIND (a grant
 * missing, or a secondary without allow-update-forwarding) or PowerDNS
 * (updates off or not from us; a grant its Lua policy lacks is dropped
 * from a NOERROR instead); Knot denies with NOTAUTH and BADKEY. Nothing
 * in the reply tells them apart reliably (PowerDNS sets the AA bit,
 * which RFC 2136 reserves, and may stop), so the advice names each: what
 * is refused, then what to fix on each, in sentences of their own,
 * BIND's first (the common case: a message cut at its bound still holds
 * it whole). */
static void
update_refused_error(const struct dns_target *t, const char *where,
                     const char *names, struct diag *d)
{
	const char *key = t->key ? t->key->name : "(none)";

	diag_error(d,
	           "%s refused the update of %s (REFUSED): it does not let "
	           "key %s change these names in zone %s. On BIND, the "
	           "zone's update-policy lacks the grants `mta-sts-sync "
	           "server-config --bind` prints, or `server` is a secondary "
	           "without allow-update-forwarding (name the primary). On "
	           "PowerDNS, updates are off or not taken from us: set "
	           "dnsupdate=yes. Without a lua-dnsupdate-policy-script, "
	           "PowerDNS also needs allow-dnsupdate-from to admit our "
	           "address, and the zone's TSIG-ALLOW-DNSUPDATE metadata, "
	           "if set, to name key %s",
	           where, names, key, t->zone, key);
}

/* Explain the rcode of a failed UPDATE. */
static void
update_rcode_error(const struct dns_target *t, const char *where,
                   const char *names, int rcode, struct diag *d)
{
	char *rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);

	if (rcode == LDNS_RCODE_REFUSED)
		update_refused_error(t, where, names, d);
	else if (rcode == LDNS_RCODE_NOTZONE)
		diag_error(d,
		           "%s: %s is not in zone %s (NOTZONE): set `zone` "
		           "to the zone that holds it",
		           where, names, t->zone);
	else if (rcode == LDNS_RCODE_NOTAUTH && t->zone_set)
		diag_error(
		    d,
		    "%s is not authoritative for zone %s (NOTAUTH): it "
		    "does not serve zone %s as its primary; check `zone` "
		    "(or leave it out to have it found) and `server`",
		    where, t->zone, t->zone);
	else if (rcode == LDNS_RCODE_NOTAUTH)
		diag_error(d,
		           "%s is not authoritative for zone %s (NOTAUTH): "
		           "is it the zone's primary?",
		           where, t->zone);
	else if (rcode == LDNS_RCODE_SERVFAIL)
		diag_error(d,
		           "%s failed to apply the update of zone %s "
		           "(SERVFAIL): see the server's log",
		           where, t->zone);
	else if (rcode == LDNS_RCODE_NOTIMPL)
		diag_error(d,
		           "%s does not accept updates for zone %s "
		           "(NOTIMP): is it a secondary, or a PowerDNS "
		           "whose backend cannot change zones (as its bind "
		           "backend)?",
		           where, t->zone);
	else
		diag_error(d, "%s answered %s to the update of %s in zone %s",
		           where, rc ? rc : "?", names, t->zone);
	free(rc);
}

/* send_update: the UPDATE was refused with TSIG error BADKEY, as Knot
 * refuses one its ACL denies (the reason is in d) */
#define SENT_BADKEY (-2)
/* send_update: the server got the UPDATE whole, then the connection
 * ended before any reply came (the reason is in d): it may have been
 * applied */
#define SENT_LOST (-3)
/* send_update: the server got the UPDATE whole, and no other reply came
 * that can be trusted (the reason, in d, says it may have been applied) */
#define SENT_OPEN (-4)

/* Put what a reply to an UPDATE said into out (size bytes), as
 * dns_update_info.answer has it: rcode, and with f (a reply not trusted,
 * or none: f->rcode -1) its TSIG error or "unsigned". */
static void
answer_words(int rcode, const struct wire_fail *f, char *out, size_t size)
{
	char *rc;

	out[0] = '\0';
	if (f != NULL)
		rcode = f->rcode;
	if (rcode < 0)
		return;
	rc = ldns_pkt_rcode2str((ldns_pkt_rcode)rcode);
	if (f != NULL && f->tsig_err != 0)
		snprintf(out, size, "%s, %s", rc ? rc : "?",
		         tsig_error_name(f->tsig_err));
	else
		snprintf(out, size, "%s%s", rc ? rc : "?",
		         f != NULL ? ", unsigned" : "");
	free(rc);
}

/* Send the UPDATE for plan p. Returns the rcode, or SENT_BADKEY,
 * SENT_LOST, SENT_OPEN or -1, with the reason in d; info->where names the
 * server that answered, info->answer what it answered. */
static int
send_update(const struct dns_target *t, const struct plan *p,
            struct dns_update_info *info, struct diag *d)
{
	ldns_pkt *pkt = plan_packet(t->zone, p), *reply = NULL;
	char *where = info->where;
	int rcode = -1;
	struct wire_fail f;

	info->answer[0] = '\0';
	if (pkt == NULL) {
		diag_error(d, "cannot build the UPDATE for zone %s", t->zone);
		return -1;
	}
	if (send_pkt(t, pkt, &reply, where, sizeof(info->where), &f, d) == -1) {
		answer_words(-1, &f, info->answer, sizeof(info->answer));
		if (f.tsig_err == TSIG_ERR_BADKEY)
			rcode = SENT_BADKEY;
		else if (f.lost)
			rcode = SENT_LOST;
		else if (f.open)
			rcode = SENT_OPEN;
	} else {
		/* its opcode is UPDATE: reply_mismatch() reads past others */
		rcode = ldns_pkt_get_rcode(reply);
		answer_words(rcode, NULL, info->answer, sizeof(info->answer));
	}
	ldns_pkt_free(reply);
	ldns_pkt_free(pkt);
	return rcode;
}

/* Read the state of every change not confirmed (nor contended, nor
 * withheld: no UPDATE carries it, and a failure to read its names must
 * not fail those of the others) again, replacing the old states: into
 * old[i] when old is not NULL (the caller frees them; those of changes
 * not read again stay as they were), else freed. Returns 0, or -1 with
 * the reason in d. */
static int
reread(const struct dns_target *t, struct dns_change *c, size_t n,
       struct dns_state *old, struct diag *d)
{
	for (size_t i = 0; i < n; i++) {
		struct dns_state fresh;

		if (c[i].confirmed || c[i].contended || c[i].withheld)
			continue;
		/* the MX records were needed for the plan only */
		if (state_read(
		        t, c[i].domain, 0, c[i].state->away,
		        DNS_NAME_STS |
		            (c[i].tlsrpt_text != NULL ? DNS_NAME_TLSRPT : 0),
		        &fresh, d) == -1)
			return -1;
		if (dns_state_wildcards(t, c[i].domain, c[i].sts_text != NULL,
		                        c[i].tlsrpt_text != NULL, &fresh,
		                        d) == -1) {
			dns_state_free(&fresh);
			return -1;
		}
		if (old != NULL)
			old[i] = *c[i].state;
		else
			dns_state_free(c[i].state);
		*c[i].state = fresh;
	}
	return 0;
}

/* One of the two names a change manages, as a state holds it. */
struct part {
	char owner[DNS_NAME_MAX + 16];
	struct dns_txtset *set; /* the TXT records there */
	const char *cname;      /* the CNAME there, or NULL */
	const char *text;       /* the record wanted there; NULL: left alone */
	const char *prefix;     /* its kind: STS_ or TLSRPT_RECORD_VERSION */
	unsigned bit;           /* DNS_NAME_STS or DNS_NAME_TLSRPT */
};

/* Part k (0: _mta-sts, 1: _smtp._tls) of change c into pt, as the state
 * st holds it (c's own when st is NULL). */
static void
part_of(const struct dns_change *c, int k, struct dns_state *st,
        struct part *pt)
{
	st = st != NULL ? st : c->state;
	snprintf(pt->owner, sizeof(pt->owner), "%s.%s",
	         k ? "_smtp._tls" : "_mta-sts", c->domain);
	pt->set = k ? &st->tlsrpt : &st->sts;
	pt->cname = k ? st->tlsrpt_cname : st->sts_cname;
	pt->text = k ? c->tlsrpt_text : c->sts_text;
	pt->prefix = k ? TLSRPT_RECORD_VERSION : STS_RECORD_VERSION;
	pt->bit = k ? DNS_NAME_TLSRPT : DNS_NAME_STS;
}

/* Does the plan p hold an operation at owner? */
static int
plan_touches(const struct plan *p, const char *owner)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->ops[i].owner, owner) == 0)
			return 1;
	return 0;
}

/* ---------------------------------------------- before the first send */

/* What was read just before the first send of an UPDATE, for its read
 * back: the serial of the zone's SOA, if it could be read. */
struct before {
	uint32_t serial;
	int have_serial;
};

/* The serial of the SOA of zone in the answer ans into *serial. Returns
 * 0, or -1 if ans holds none. */
static int
soa_serial(const ldns_pkt *ans, const char *zone, uint32_t *serial)
{
	ldns_rr_list *an = ldns_pkt_answer(ans);
	ldns_rdf *qn = ldns_dname_new_frm_str(zone);
	int rc = -1;

	for (size_t i = 0; qn != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (rr_at(rr, qn) && ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
		    ldns_rr_rd_count(rr) >= 3 &&
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) == 4) {
			*serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
			rc = 0;
			break;
		}
	}
	ldns_rdf_deep_free(qn);
	return rc;
}

/*
 * Is the TTL now, read again, the TTL first read at st->read_ms as a cache
 * in front of the primary (dnsdist's packet cache) counts it down: lower
 * by at most the seconds since, plus one for the whole seconds counted?
 * That is no edit: taking it would lower the zone's TTL a little at each
 * change, and blame someone for it.
 */
static int
ttl_aged(const struct dns_state *st, uint32_t first, uint32_t now)
{
	if (st->read_ms == 0 || now >= first)
		return 0;
	return first - now <= (mono_ms() - st->read_ms) / 1000 + 1;
}

/* The warning of a TTL kept; see dnsupdate.h. */
int
dns_change_ttl_kept(const struct dns_change *c, int k, char *buf, size_t size)
{
	struct part pt;

	if (!(c->ttl_kept & (k ? DNS_NAME_TLSRPT : DNS_NAME_STS)))
		return 0;
	part_of(c, k, NULL, &pt);
	snprintf(buf, size,
	         "someone changed the TTL of the records at %s from %lu to "
	         "%lu between our read and our update: kept (no ttl is "
	         "configured)",
	         pt.owner, (unsigned long)c->ttl_was[k],
	         (unsigned long)c->ttl_now[k]);
	return 1;
}

/*
 * Take the answer to query q of b, the TXT records at part k of change c
 * asked again just before its UPDATE: when they are those read before
 * but for their TTL, someone changed only the TTL, which no prerequisite
 * can check (RFC 2136 section 2.4: they carry TTL 0), so the UPDATE would
 * put back the TTL read first (a cache's count down is not taken:
 * ttl_aged()). The state takes the new TTL, and the
 * UPDATE keeps it, as it keeps any TTL with no ttl configured; c says so
 * (ttl_kept). Returns 1 if it did, 0 if not, -1 if the answer did not
 * come or is an error (the reason in b->err, the first one kept).
 */
static int
ttl_take(const struct dns_target *t, struct batch *b, size_t q,
         struct dns_change *c, int k)
{
	struct dns_txtset now;
	struct part pt;
	char *cname = NULL;
	int took = 0;

	if (q >= b->k) /* b->err says why */
		return -1;
	if (batch_check(t, b, q, 1, NULL) == -1) {
		batch_note(t, b, q);
		return -1;
	}
	part_of(c, k, NULL, &pt);
	memset(&now, 0, sizeof(now));
	read_txt(b->ans[q], b->q[q].name, &now, &cname);
	if (cname == NULL && now.ttl != pt.set->ttl &&
	    txtset_same(&now, pt.set) &&
	    !ttl_aged(c->state, pt.set->ttl, now.ttl)) {
		if (!(c->ttl_kept & pt.bit)) /* the TTL first read */
			c->ttl_was[k] = pt.set->ttl;
		c->ttl_kept |= pt.bit;
		c->ttl_now[k] = now.ttl;
		pt.set->ttl = now.ttl;
		took = 1;
	}
	txtset_free(&now);
	free(cname);
	return took;
}

/* What pre_batch() did: a TTL taken (the plan is to be built again, even
 * when a later answer failed), an answer failed. */
enum { PRE_TOOK = 1, PRE_FAILED = 2 };

/* A name that pre_read() asks about: part k of change i. */
struct ask {
	size_t i;
	int k;
};

/* Ask t at once (pipelined) for the names ask[from] .. ask[to - 1] of
 * the changes c, and with soa for the SOA of its zone first (its serial
 * into pre), and take the answers (ttl_take(): a TTL kept is told in its
 * change); a change whose answer failed is marked ttl_unread, the first
 * reason into why (wsize bytes).
 * Returns PRE_TOOK when a TTL was taken, PRE_FAILED when an answer failed
 * (the others are not asked), both, or 0. */
static int
pre_batch(const struct dns_target *t, struct dns_change *c,
          const struct ask *ask, size_t from, size_t to, int soa,
          struct before *pre, char *why, size_t wsize)
{
	struct batch b;
	struct part pt;
	int took = 0;

	b.n = 0;
	if (soa)
		batch_add(&b, t->zone, LDNS_RR_TYPE_SOA);
	for (size_t a = from; a < to; a++) {
		part_of(&c[ask[a].i], ask[a].k, NULL, &pt);
		batch_add(&b, pt.owner, LDNS_RR_TYPE_TXT);
	}
	batch_send(t, &b);
	if (soa && batch_check(t, &b, 0, 1, NULL) == 0 &&
	    soa_serial(b.ans[0], t->zone, &pre->serial) == 0)
		pre->have_serial = 1;
	for (size_t a = from; a < to; a++) {
		int r = ttl_take(t, &b, (size_t)soa + a - from, &c[ask[a].i],
		                 ask[a].k);

		took |= r == 1 ? PRE_TOOK : 0;
		c[ask[a].i].ttl_unread |= r == -1;
	}
	if (b.err[0] != '\0') {
		str_copy(why, wsize, b.err);
		took |= PRE_FAILED;
	}
	batch_free(&b);
	return took;
}

/* The names that pre_read() asks about, of the changes c for the UPDATE
 * of plan p: those p changes whose records keep their TTL (no ttl
 * configured, records there), into ask (room for 2 * n). Returns how
 * many. */
static size_t
pre_asks(const struct dns_change *c, size_t n, const struct plan *p,
         struct ask *ask)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++) {
			struct part pt;

			part_of(&c[i], k, NULL, &pt);
			if (c[i].contended || c[i].ttl_set || pt.set->n == 0 ||
			    !plan_touches(p, pt.owner))
				continue;
			ask[m].i = i;
			ask[m++].k = k;
		}
	return m;
}

/* The warning that the names of the changes marked ttl_unread were not
 * read again before the UPDATE (why: the first reason), into d, its place
 * there into info->unread_warn: only those changes are to get it. */
static void
pre_unread(const char *why, struct dns_update_info *info, struct diag *d)
{
	size_t before = d->nwarn;

	diag_warn(d,
	          "reading the records of this domain again just before the "
	          "UPDATE failed, so a TTL someone changed there since our "
	          "first read would be overwritten by the TTL read first "
	          "(`ttl` in the configuration avoids the question): %s",
	          why);
	if (d->nwarn > before)
		info->unread_warn = (unsigned)d->nwarn;
}

/*
 * Before the first send of the UPDATE of plan p for the changes c: ask t
 * for the SOA of its zone (its serial into *pre, for confirm()) and for
 * the TXT records at each name p changes whose records keep their TTL
 * (no ttl configured, records there), all at once (QUERY_MAX a round
 * trip: most zones take one). Their TTL is taken when someone changed it
 * alone (ttl_take()); nothing else read counts, so that the prerequisites
 * are still those of the first read and an edit of the values since then
 * still makes the server refuse the UPDATE. A read that fails changes
 * nothing: the UPDATE goes as planned, and the changes whose names were
 * not read again are marked ttl_unread, with a warning (pre_unread()).
 * Returns 1 when a TTL was taken (plan again: the TTLs taken before a
 * failed answer are kept as warned), else 0.
 */
static int
pre_read(const struct dns_target *t, struct dns_change *c, size_t n,
         const struct plan *p, struct before *pre, struct dns_update_info *info,
         struct diag *d)
{
	struct ask *ask = xcalloc(2 * n, sizeof(*ask));
	size_t m = pre_asks(c, n, p, ask), from = 0;
	char why[DIAG_WARN_MAX] = "";
	int took = 0, r;

	memset(pre, 0, sizeof(*pre));
	do {
		size_t to = from + QUERY_MAX - (from == 0);

		to = to < m ? to : m;
		r = pre_batch(t, c, ask, from, to, from == 0, pre, why,
		              sizeof(why));
		took |= r & PRE_TOOK;
		from = to;
	} while (from < m && !(r & PRE_FAILED));
	for (; from < m; from++) /* not asked */
		c[ask[from].i].ttl_unread = 1;
	free(ask);
	if ((r & PRE_FAILED) && m > 0)
		pre_unread(why, info, d);
	return took != 0;
}

/* pre_read(), and the plan p of the changes c built again when a TTL was
 * taken. Returns 0, or -1 with the reason in d when it cannot be. */
static int
pre_read_plan(const struct dns_target *t, struct dns_change *c, size_t n,
              struct plan *p, struct before *pre, struct dns_update_info *info,
              struct diag *d)
{
	if (!pre_read(t, c, n, p, pre, info, d))
		return 0;
	plan_free(p); /* a TTL taken: the same changes, that TTL */
	return plan_build(c, n, p, d);
}

/* Mark the changes whose records, as read back, hold the values they
 * wanted (not those contended or withheld: no UPDATE carried them);
 * returns how many do not. The TTL is not waited for: it came with the
 * values, and a server may lower it (BIND's max-zone-ttl). */
static size_t
confirm_marks(struct dns_change *c, size_t n)
{
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		struct dns_change values = c[i];

		if (c[i].contended || c[i].withheld)
			continue;
		values.ttl_set = 0;
		c[i].confirmed = !dns_change_needed(&values);
		left += !c[i].confirmed;
	}
	return left;
}

/*
 * The waits before records that differ from an accepted update are read
 * again, in seconds: a primary may serve an update a moment after it
 * answered (BIND applies the update of an inline-signing zone to its
 * unsigned copy, and serves it once it has signed it). They add up to
 * CONFIRM_WAIT_S.
 */
static const double confirm_waits[] = {0.01, 0.03, 0.06, 0.1,
                                       0.2,  0.4,  0.8,  1.4};
#define CONFIRM_WAIT_S 3 /* the sum of confirm_waits, for messages */

/* reread() after the server accepted the update: a failure to read
 * says so, since the records may well have changed. Returns 0, or -1
 * with the reason in d. The read's own diag is on the heap, as
 * send_planned()'s is. */
static int
reread_accepted(const struct dns_target *t, struct dns_change *c, size_t n,
                struct diag *d)
{
	struct diag *why = xmalloc(sizeof(*why));
	int rc = 0;

	diag_init(why);
	if (reread(t, c, n, NULL, why) != 0) {
		for (size_t i = 0; i < why->nwarn; i++)
			diag_warn(d, "%s", why->warn[i]);
		diag_error(d,
		           "the update was accepted, but reading the records "
		           "back failed: %s; the next run checks them",
		           why->error);
		rc = -1;
	}
	free(why);
	return rc;
}

/* Does the plan p hold an operation of kind k at owner with the TXT
 * RDATA rd (len bytes)? */
static int
plan_has(const struct plan *p, enum op_kind k, const char *owner,
         const unsigned char *rd, size_t len)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];

		if (o->kind == k && o->rdlen == len &&
		    memcmp(o->rdata, rd, len) == 0 &&
		    strcmp(o->owner, owner) == 0)
			return 1;
	}
	return 0;
}

/* Does the RRset s hold a record with the TXT RDATA rd (len bytes)? */
static int
txtset_has(const struct dns_txtset *s, const unsigned char *rd, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->rdlen[i] == len && memcmp(s->rdata[i], rd, len) == 0)
			return 1;
	return 0;
}

/* Is the TXT RDATA rd (len bytes), its character-strings joined, the
 * text text (a NUL byte read as "?", as txtset_add() reads it)? */
static int
rdata_is_text(const unsigned char *rd, size_t len, const char *text)
{
	size_t off = 0, at = 0;

	while (off < len) {
		size_t n = rd[off++];

		for (size_t i = 0; i < n && off < len; i++, off++, at++)
			if (text[at] != (rd[off] ? (char)rd[off] : '?'))
				return 0;
	}
	return text[at] == '\0';
}

/* Does the plan p hold an operation of kind k at owner whose record's
 * text is text (however it is split into strings)? */
static int
plan_has_text(const struct plan *p, enum op_kind k, const char *owner,
              const char *text)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];

		if (o->kind == k && strcmp(o->owner, owner) == 0 &&
		    rdata_is_text(o->rdata, o->rdlen, text))
			return 1;
	}
	return 0;
}

/*
 * The names of change c that the UPDATE of plan p changed whose records
 * read back (c's state) hold one of our kind that was neither read (p's
 * prerequisites) nor sent (p's adds): someone's edit that the server's
 * prerequisites let through (PowerDNS compares TXT prerequisites without
 * regard to case: a record of ours they changed only in case passes
 * them, and the delete, which does regard case, then removes nothing).
 * Records are told by their text, as the read back confirms them.
 * DNS_NAME_* bits, 0 if none.
 */
static unsigned
late_names(const struct plan *p, const struct dns_change *c)
{
	unsigned names = 0;

	for (int k = 0; k < 2; k++) {
		struct part pt;

		part_of(c, k, NULL, &pt);
		if (pt.text == NULL || !plan_touches(p, pt.owner))
			continue;
		for (size_t i = 0; i < pt.set->n; i++) {
			const char *text = pt.set->text.v[i];

			if (record_is_version(text, pt.prefix) &&
			    !plan_has_text(p, OP_EXISTS, pt.owner, text) &&
			    !plan_has_text(p, OP_ADD, pt.owner, text))
				names |= pt.bit;
		}
	}
	return names;
}

/*
 * Take out again, with an UPDATE to t, the records that plan p added at
 * the names of change c where late_names() found someone's edit, so that
 * their edit is left as it is, as it is when the prerequisites refuse
 * the update. Its prerequisites are those RRsets as read back (a further
 * edit makes it fail), and it deletes, each by its exact RDATA as read
 * back, only the records whose text p added and did not read there:
 * never theirs, nor one that was there before. The records p deleted are
 * not put back: they may have deleted them too. Counted in info; why it
 * failed is not told (its rcode is). Returns the rcode (0: NOERROR, or
 * none of ours was there), DNS_UNDO_BADKEY, DNS_UNDO_OPEN (it may have
 * been applied), or -1 (no answer, not applied).
 */
static int
undo_late(const struct dns_target *t, const struct plan *p,
          const struct dns_change *c, struct dns_update_info *info)
{
	struct dns_update_info undo = *info; /* info tells of the UPDATE */
	struct plan u;
	int rcode = LDNS_RCODE_NOERROR;

	memset(&u, 0, sizeof(u));
	for (int k = 0; k < 2; k++) {
		struct part pt;
		size_t mine = u.n;

		part_of(c, k, NULL, &pt);
		if (!(c->contended_names & pt.bit))
			continue;
		for (size_t i = 0; i < pt.set->n; i++)
			if (plan_has_text(p, OP_ADD, pt.owner,
			                  pt.set->text.v[i]) &&
			    !plan_has_text(p, OP_EXISTS, pt.owner,
			                   pt.set->text.v[i]))
				plan_add(&u, OP_DELETE, pt.owner,
				         pt.set->rdata[i], pt.set->rdlen[i], 0);
		for (size_t i = 0; u.n > mine && i < pt.set->n; i++)
			plan_add(&u, OP_EXISTS, pt.owner, pt.set->rdata[i],
			         pt.set->rdlen[i], 0);
	}
	if (u.n > 0) {
		info->sent++;
		info->undone++;
		rcode = send_update(t, &u, &undo, NULL);
	}
	plan_free(&u);
	if (rcode == SENT_BADKEY)
		return DNS_UNDO_BADKEY;
	if (rcode == SENT_LOST || rcode == SENT_OPEN)
		return DNS_UNDO_OPEN;
	return rcode < 0 ? -1 : rcode;
}

/* Mark the changes of the UPDATE of plan p whose records read back show
 * someone's edit that the server let through (late_names()) contended,
 * and take ours out there again (undo_late()). */
static void
mark_late(const struct dns_target *t, const struct plan *p,
          struct dns_change *c, size_t n, struct dns_update_info *info)
{
	for (size_t i = 0; i < n; i++) {
		unsigned names;

		if (c[i].confirmed || c[i].contended)
			continue;
		names = late_names(p, &c[i]);
		if (names == 0)
			continue;
		c[i].contended = DNS_CONTENDED_LATE;
		c[i].contended_names = names;
		c[i].undo_rcode = undo_late(t, p, &c[i], info);
	}
}

/* Does the SOA of t's zone still hold the serial that pre read before
 * the UPDATE? 0 also when it cannot tell. */
static int
serial_kept(const struct dns_target *t, const struct before *pre)
{
	ldns_pkt *ans;
	uint32_t now;
	int kept;

	if (!pre->have_serial ||
	    query_primary(t, t->zone, LDNS_RR_TYPE_SOA, 1, &ans, NULL) == -1)
		return 0;
	kept = soa_serial(ans, t->zone, &now) == 0 && now == pre->serial;
	ldns_pkt_free(ans);
	return kept;
}

/* The error of a change whose records read back from t still differ
 * from an accepted update after the waits. When the zone's SOA serial
 * has not moved since before the UPDATE (pre), `server` may be a
 * secondary that forwards updates: the records are read back from it,
 * and it has them only once the primary sends it the zone. */
static void
confirm_error(const struct dns_target *t, const struct before *pre,
              struct diag *d)
{
	char where[DNS_WHERE_MAX];

	target_where(t, 0, where, sizeof(where));
	if (serial_kept(t, pre))
		diag_error(
		    d,
		    "%s accepted the update, but the records of this "
		    "domain read back from it still differ after %d s and "
		    "zone %s kept its SOA serial: check that its update "
		    "policy allows this key to change them (PowerDNS "
		    "accepts and drops what its "
		    "lua-dnsupdate-policy-script refuses, and reads that "
		    "script only when it starts), that `server` is the "
		    "primary, not a secondary forwarding updates, or "
		    "whether it serves updates later still",
		    where, CONFIRM_WAIT_S, t->zone);
	else
		diag_error(
		    d,
		    "%s accepted the update, but the records of this "
		    "domain read back from it still differ after %d s: "
		    "check that its update policy allows this key to "
		    "change them (PowerDNS accepts and drops what its "
		    "lua-dnsupdate-policy-script refuses, and reads that "
		    "script only when it starts), or whether it serves "
		    "updates later still (a signed zone on a busy "
		    "server)",
		    where, CONFIRM_WAIT_S);
}

/* Read the records back after the UPDATE of plan p and confirm each
 * change; a change whose records show someone's edit that the server
 * let through is marked contended (mark_late()). The error, if some
 * still differ, is about those (each domain's own message); one that
 * could not be read back is DNS_UPDATE_UNKNOWN. */
static enum dns_update_result
confirm(const struct dns_target *t, struct dns_change *c, size_t n,
        const struct plan *p, const struct before *pre,
        struct dns_update_info *info, struct diag *d)
{
	const size_t waits = sizeof(confirm_waits) / sizeof(confirm_waits[0]);

	if (reread_accepted(t, c, n, d) == -1)
		return DNS_UPDATE_UNKNOWN;
	for (size_t w = 0;; w++) {
		mark_late(t, p, c, n, info);
		if (confirm_marks(c, n) == 0)
			return DNS_UPDATE_OK;
		if (w == waits) {
			confirm_error(t, pre, d);
			return DNS_UPDATE_FAILED;
		}
		sleep_seconds(confirm_waits[w]);
		if (reread_accepted(t, c, n, d) == -1)
			return DNS_UPDATE_UNKNOWN;
	}
}

/*
 * Does the RRset s, read back at owner, hold exactly what the UPDATE of
 * plan p leaves there: the records its prerequisites name (the RRset as
 * read), less those it deletes, with those it adds, no other, and with
 * their TTL (a change of TTL alone leaves the same records)? Yes too
 * when p leaves owner alone.
 */
static int
plan_left(const struct plan *p, const char *owner, const struct dns_txtset *s)
{
	size_t want = 0;
	int touched = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];

		if (strcmp(o->owner, owner) != 0)
			continue;
		touched = 1;
		if (o->kind == OP_ADD && s->ttl != o->ttl)
			return 0;
		if (o->kind != OP_ADD &&
		    (o->kind != OP_EXISTS ||
		     plan_has(p, OP_DELETE, owner, o->rdata, o->rdlen) ||
		     plan_has(p, OP_ADD, owner, o->rdata, o->rdlen)))
			continue; /* not left, or counted at its add */
		if (!txtset_has(s, o->rdata, o->rdlen))
			return 0;
		want++;
	}
	return !touched || s->n == want;
}

/* Do the states of the changes c, as read back, hold exactly what the
 * UPDATE of plan p leaves at every name it changes? */
static int
plan_in_place(const struct plan *p, const struct dns_change *c, size_t n)
{
	char owner[DNS_NAME_MAX + 16];

	for (size_t i = 0; i < n; i++) {
		if (c[i].contended)
			continue; /* not in p */
		snprintf(owner, sizeof(owner), "_mta-sts.%s", c[i].domain);
		if (!plan_left(p, owner, &c[i].state->sts))
			return 0;
		snprintf(owner, sizeof(owner), "_smtp._tls.%s", c[i].domain);
		if (!plan_left(p, owner, &c[i].state->tlsrpt))
			return 0;
	}
	return 1;
}

/*
 * After the server got the UPDATE of plan p for the changes c whole and
 * the connection ended before any reply came: it may have been applied,
 * or be applied later. Read the records back, again after each of
 * confirm_waits (a server may serve an update a moment after it applied
 * it), and take it for applied only when every name it changes holds
 * exactly what it leaves there (plan_left()): each change is then
 * confirmed, and NOERROR returned. Otherwise SENT_LOST: records as they
 * were do not prove that the server will not apply it later, so it is
 * not sent again, and the caller's reason says it may have been applied.
 */
static int
update_lost(const struct dns_target *t, struct dns_change *c, size_t n,
            const struct plan *p, struct dns_update_info *info)
{
	const size_t waits = sizeof(confirm_waits) / sizeof(confirm_waits[0]);

	info->reply_lost = 1;
	for (size_t w = 0;; w++) {
		/* why a read fails is not told: the caller's reason (it may
		 * have been applied) is; and no diag sits in the frame of
		 * every UPDATE for it */
		if (reread(t, c, n, NULL, NULL) == -1)
			return SENT_LOST;
		if (plan_in_place(p, c, n))
			break;
		if (w == waits)
			return SENT_LOST;
		sleep_seconds(confirm_waits[w]);
	}
	confirm_marks(c, n);
	info->read_back = 1;
	return LDNS_RCODE_NOERROR;
}

/* Send the UPDATE of plan p for the changes c, counted in info; one whose
 * reply was lost counts as answered NOERROR when the records read back
 * show it applied (update_lost()), and its reason is then dropped.
 * Returns the rcode, or as send_update() does, with the reason in d.
 * The reason waits in a diag on the heap: on the stack it would deepen
 * every UPDATE's frames by its size, resident in every worker. */
static int
send_planned(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct plan *p, struct dns_update_info *info, struct diag *d)
{
	struct diag *why = xmalloc(sizeof(*why));
	int rcode;

	diag_init(why);
	info->sent++;
	rcode = send_update(t, p, info, why);
	if (rcode == SENT_LOST)
		rcode = update_lost(t, c, n, p, info);
	if (rcode != LDNS_RCODE_NOERROR && why->error[0] != '\0')
		diag_error(d, "%s", why->error);
	free(why);
	return rcode;
}

/* The name of a failed prerequisite's rcode (NOERROR for a late edit,
 * which no prerequisite refused). */
static const char *
prereq_rcode_name(int rcode)
{
	if (rcode == DNS_CONTENDED_LATE)
		return "NOERROR";
	return rcode == LDNS_RCODE_NXRRSET ? "NXRRSET" : "YXRRSET";
}

/* The second refusal of an UPDATE by its prerequisites. */
static void
conflict_error(const char *names, const char *where, int rcode, struct diag *d)
{
	diag_error(d,
	           "someone changed %s meanwhile: %s refused the update twice "
	           "because the records differ from what was read (%s); "
	           "nothing was changed",
	           names, where, prereq_rcode_name(rcode));
}

/* A digest of the records of the kind of prefix that s holds, whatever
 * their order. */
static size_t
version_digest(const struct dns_txtset *s, const char *prefix)
{
	size_t sum = 0;

	for (size_t i = 0; i < s->n; i++)
		if (record_is_version(s->text.v[i], prefix))
			sum += hash_bytes(s->text.v[i], strlen(s->text.v[i]));
	return sum;
}

/*
 * After a refusal by the prerequisites of the UPDATE of plan p and a new
 * read: mark the changes whose records of our kind someone changed since
 * the first read (old holds the states then), or that someone made a
 * CNAME, at the names p changes (no prerequisite covered the others, so
 * an edit there explains no refusal), unless they now hold what we want,
 * and which of their names those are. Their edit is
 * not overwritten (DESIGN section 2.9), and a new CNAME is that change's
 * own refusal, not one of the whole UPDATE. Returns how many.
 */
static size_t
mark_contended(const struct plan *p, struct dns_change *c, size_t n,
               struct dns_state *old, int rcode)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned names = 0, cnames = 0;

		for (int j = 0; j < 2; j++) {
			struct part was, now;

			part_of(&c[i], j, &old[i], &was);
			part_of(&c[i], j, NULL, &now);
			if (now.text == NULL || !plan_touches(p, now.owner))
				continue;
			if (now.cname != NULL && was.cname == NULL)
				cnames |= now.bit;
			if (version_digest(was.set, now.prefix) !=
			    version_digest(now.set, now.prefix))
				names |= now.bit;
		}
		names |= cnames;
		if (!dns_change_needed(&c[i]))
			names = cnames = 0;
		c[i].contended = names ? rcode : 0;
		c[i].contended_names = names;
		c[i].contended_cnames = cnames;
		k += names != 0;
	}
	return k;
}

/* Do the names that plan p changes hold, as read again (the states of
 * the changes c), just what was read before (old): the same TXT records
 * (RDATA) and the same CNAME, or none? */
static int
states_same(const struct plan *p, const struct dns_change *c, size_t n,
            struct dns_state *old)
{
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			struct part was, now;

			part_of(&c[i], k, &old[i], &was);
			part_of(&c[i], k, NULL, &now);
			if (!plan_touches(p, now.owner))
				continue;
			if (!txtset_same(was.set, now.set) ||
			    (was.cname == NULL) != (now.cname == NULL) ||
			    (now.cname != NULL && strcmp(was.cname, now.cname)))
				return 0;
		}
	}
	return 1;
}

/* Append to names the names of c that someone changed, for messages:
 * "the v=STSv1 records at _mta-sts.D", "_smtp._tls.D (now a CNAME to
 * T)", joined with " and ". */
static void
contended_names_text(const struct dns_change *c, struct buf *names)
{
	for (int k = 0; k < 2; k++) {
		struct part pt;

		part_of(c, k, NULL, &pt);
		if (!(c->contended_names & pt.bit))
			continue;
		buf_puts(names, names->len ? " and " : "");
		if (c->contended_cnames & pt.bit)
			buf_printf(names, "%s (now a CNAME to %s)", pt.owner,
			           pt.cname ? pt.cname : "?");
		else
			buf_printf(names, "the %s records at %s", pt.prefix,
			           pt.owner);
	}
}

/* The error of change c, of which someone made a name a CNAME between
 * our read and where refused its update: as for one there at the read,
 * it is left alone. */
static void
cname_error(const struct dns_change *c, const char *where, struct diag *d)
{
	struct part pt;

	part_of(c, !(c->contended_cnames & DNS_NAME_STS), NULL, &pt);
	diag_error(d,
	           "someone made %s a CNAME to %s between our read and our "
	           "update (%s from %s): leaving it alone (%s), and this "
	           "domain's records were not changed",
	           pt.owner, pt.cname ? pt.cname : "?",
	           prereq_rcode_name(c->contended), where,
	           pt.bit == DNS_NAME_STS ? "RFC 8461 section 8.2 delegation"
	                                  : "a TXT record cannot stand "
	                                    "beside it");
}

/* What became of the UPDATE that deleted the records we added beside
 * someone's edit (its undo_rcode), into out (size bytes). */
static void
undo_words(int undo, char *out, size_t size)
{
	char *rc = undo > 0 ? ldns_pkt_rcode2str((ldns_pkt_rcode)undo) : NULL;

	if (undo == 0)
		str_copy(out, size,
		         "the records we added were deleted again, so their "
		         "edit is left as it is");
	else if (undo == DNS_UNDO_OPEN)
		str_copy(out, size,
		         "no reply we trust came to the UPDATE deleting the "
		         "records we added again: it may have been applied; if "
		         "not, theirs and ours are both there, a name with two "
		         "records of its kind, which senders ignore");
	else
		snprintf(out, size,
		         "deleting the records we added again failed (%s), so "
		         "theirs and ours are both there: a name with two "
		         "records of its kind, which senders ignore until one "
		         "is deleted (delete theirs or ours)",
		         undo == DNS_UNDO_BADKEY ? "NOTAUTH, BADKEY"
		         : rc                    ? rc
		                                 : "no answer");
	free(rc);
}

/* The error of change c, whose names (in words) someone changed while
 * where took our update, their records read back beside ours: what
 * undo_late() did. */
static void
late_error(const struct dns_change *c, const char *names, const char *where,
           struct diag *d)
{
	char undo[DIAG_MSG_MAX / 2];

	undo_words(c->undo_rcode, undo, sizeof(undo));
	diag_error(d,
	           "someone changed %s while we updated them: the records "
	           "read back from %s hold theirs beside ours (PowerDNS "
	           "compares TXT prerequisites without regard to case); %s; "
	           "the next run replaces their edit unless the domain is "
	           "taken out of the configuration",
	           names, where, undo);
}

/* The error of the changes marked contended: which records of which
 * names someone changed, and that nothing of theirs changed. */
static void
contended_error(const struct dns_change *c, size_t n, const char *where,
                struct diag *d)
{
	const struct dns_change *first = NULL;
	struct buf names;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (c[i].contended && k++ == 0)
			first = &c[i];
	if (first == NULL)
		return;
	if (k == 1 && first->contended_cnames != 0) {
		cname_error(first, where, d);
		return;
	}
	buf_init(&names, DIAG_MSG_MAX / 2);
	for (size_t i = 0; i < n; i++)
		if (c[i].contended)
			contended_names_text(&c[i], &names);
	if (k == 1 && first->contended == DNS_CONTENDED_LATE)
		late_error(first, names.data, where, d);
	else
		diag_error(d,
		           "someone changed %s between our read and our update "
		           "(%s from %s): their edit is left as it is and %s "
		           "records were not changed; the next run replaces "
		           "their edit unless the domain is taken out of the "
		           "configuration",
		           names.data ? names.data : "?",
		           prereq_rcode_name(first->contended), where,
		           k > 1 ? "these domains'" : "this domain's");
	buf_free(&names);
}

/* Read the states again after where refused the update of names with
 * rcode (the states before into old); a failure to read says what it
 * followed (after its reason, which is never cut). Returns 0, or -1. */
static int
reread_refused(const struct dns_target *t, struct dns_change *c, size_t n,
               struct dns_state *old, const char *where, const char *names,
               int rcode, struct diag *d)
{
	if (reread(t, c, n, old, d) == 0)
		return 0;
	diag_append(d,
	            " (while reading the records again after %s refused the "
	            "update of %s with %s: they differ from what was read)",
	            where, names, prereq_rcode_name(rcode));
	return -1;
}

/* After the prerequisites refused the update of plan p with rcode: read
 * the states again, set *same when the names p changes hold just what
 * was read before (states_same()), and with mark, mark the contended
 * changes. Returns 0, or -1 with the reason in d. */
static int
reread_after(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct plan *p, const char *where, const char *names,
             int rcode, int mark, int *same, struct diag *d)
{
	struct dns_state *old = xcalloc(n, sizeof(*old));
	int rc = reread_refused(t, c, n, old, where, names, rcode, d);

	if (rc == 0) {
		*same = states_same(p, c, n, old);
		if (mark)
			mark_contended(p, c, n, old, rcode);
	}
	for (size_t i = 0; i < n; i++)
		dns_state_free(&old[i]);
	free(old);
	return rc;
}

/* The result of an update whose other changes went through: a conflict
 * if some were contended (their error in d), else DNS_UPDATE_OK. */
static enum dns_update_result
contended_result(const struct dns_change *c, size_t n, const char *where,
                 struct diag *d)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i].contended) {
			contended_error(c, n, where, d);
			return DNS_UPDATE_CONFLICT;
		}
	}
	return DNS_UPDATE_OK;
}

/*
 * After where refused the UPDATE of names (n changes) with rcode, a
 * prerequisite, the records read again are just those its prerequisites
 * named: no one changed them, the server misjudges them (PowerDNS
 * compares its stored text of a record with one it writes of ours: a
 * record stored in another form, "a\059b" for "a;b", never matches,
 * and TXT records differing only in case each match both; or a cache or
 * a secondary answered the reads). Sending the same UPDATE again would
 * fail the same way, and every domain of it with it. Several changes:
 * DNS_UPDATE_MISJUDGED (the refusal into info), and dns_update_zone()
 * sends each alone, so that only those it misjudges fail; one: its
 * error, DNS_UPDATE_FAILED.
 */
static enum dns_update_result
misjudged(size_t n, const char *where, const char *names, int rcode,
          struct dns_update_info *info, struct diag *d)
{
	const char *rc = prereq_rcode_name(rcode);

	if (n > 1) {
		diag_error(d,
		           "%s refused the update of %s (%s), though the "
		           "records read again are those its prerequisites "
		           "named",
		           where, names, rc);
		info->denied_rcode = rc;
		info->denied_misjudged = 1;
		return DNS_UPDATE_MISJUDGED;
	}
	diag_error(d,
	           "%s refused the update of %s (%s), though the records read "
	           "again are those its prerequisites named: it misjudges "
	           "them, and nothing was changed. Likely: on PowerDNS, a TXT "
	           "record stored in another written form (\\059 for ;: "
	           "rewrite it with pdnsutil replace-rrset or the API) or two "
	           "differing only in case (keep one, or make them differ "
	           "otherwise); a cache answering our reads; "
	           "`server` a secondary forwarding updates (name the "
	           "primary)",
	           where, names, rc);
	return DNS_UPDATE_FAILED;
}

/* Can a refusal of an UPDATE with rcode (as send_update() returns it)
 * come from a grant missing for some of its names only? BIND refuses
 * (REFUSED) an UPDATE its update-policy does not allow as a whole, Knot
 * answers BADKEY when its ACL denies one name, and a domain whose names
 * are outside the zone makes the whole UPDATE NOTZONE. */
static int
update_denied(int rcode)
{
	return rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTZONE ||
	       rcode == SENT_BADKEY;
}

/* The name of a refusal that update_denied() accepts. */
static const char *
denied_name(int rcode)
{
	if (rcode == SENT_BADKEY)
		return "NOTAUTH, BADKEY";
	return rcode == LDNS_RCODE_NOTZONE ? "NOTZONE" : "REFUSED";
}

/* An info for an UPDATE of zone t that is yet to be sent. */
static void
info_init(struct dns_update_info *info, const struct dns_target *t)
{
	memset(info, 0, sizeof(*info));
	info->key = t->key != NULL ? t->key->name : NULL;
}

/* The result of an UPDATE that rcode refused (not NOERROR, NXRRSET or
 * YXRRSET; below 0: no trusted answer, its reason in d already), its
 * reason into d: DNS_UPDATE_DENIED for a refusal that a grant missing for
 * some of names gives (its rcode's name into info), DNS_UPDATE_UNKNOWN
 * when the server may have applied it (SENT_LOST, SENT_OPEN), else
 * DNS_UPDATE_FAILED. */
static enum dns_update_result
update_refused(const struct dns_target *t, const char *where, const char *names,
               int rcode, struct dns_update_info *info, struct diag *d)
{
	if (rcode >= 0)
		update_rcode_error(t, where, names, rcode, d);
	if (rcode == SENT_LOST || rcode == SENT_OPEN)
		return DNS_UPDATE_UNKNOWN;
	if (!update_denied(rcode))
		return DNS_UPDATE_FAILED;
	info->denied_rcode = denied_name(rcode);
	return DNS_UPDATE_DENIED;
}

/* After the states of the changes c were read again (reread()), for
 * each that keeps a TTL someone changed (ttl_kept): the TTL read now,
 * which the UPDATE sent again keeps, is the one its warning names; none
 * when it is back to the one first read. */
static void
ttl_retake(struct dns_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++) {
			struct part pt;

			part_of(&c[i], k, NULL, &pt);
			if (!(c[i].ttl_kept & pt.bit) || pt.set->n == 0)
				continue;
			c[i].ttl_now[k] = pt.set->ttl;
			if (pt.set->ttl == c[i].ttl_was[k])
				c[i].ttl_kept &= ~pt.bit;
		}
}

/*
 * After the UPDATE of plan p (the changes c, its names in words; attempt
 * 0: the first) was refused with rcode: read the states again if a
 * prerequisite failed, and tell what comes next. DNS_UPDATE_OK: plan
 * again and send once more; else the result, its reason in d. Records
 * read again just as they were read before mean that no one changed
 * them (misjudged()); otherwise, on the first refusal, the changes whose
 * records of our kind someone changed are marked contended, and a second
 * refusal is a conflict.
 */
static enum dns_update_result
update_after(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct plan *p, const char *names, int attempt, int rcode,
             struct dns_update_info *info, struct diag *d)
{
	const char *where = info->where;
	int same = 0;

	if (rcode != LDNS_RCODE_NXRRSET && rcode != LDNS_RCODE_YXRRSET)
		return update_refused(t, where, names, rcode, info, d);
	if (reread_after(t, c, n, p, where, names, rcode, attempt == 0, &same,
	                 d) == -1)
		return DNS_UPDATE_FAILED;
	if (same)
		return misjudged(info->carried, where, names, rcode, info, d);
	if (attempt > 0) {
		conflict_error(names, where, rcode, d);
		return DNS_UPDATE_CONFLICT;
	}
	ttl_retake(c, n);
	return DNS_UPDATE_OK;
}

/* How many of the changes c plan p carries: those it changes a name of
 * (not those held back, contended, or needing nothing any more). */
static size_t
plan_carried(const struct plan *p, const struct dns_change *c, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct part sts, tlsrpt;

		part_of(&c[i], 0, NULL, &sts);
		part_of(&c[i], 1, NULL, &tlsrpt);
		k +=
		    plan_touches(p, sts.owner) || plan_touches(p, tlsrpt.owner);
	}
	return k;
}

/* A dns_update_zone() caller's gate (dnsupdate.h), with its argument. */
struct gate {
	dns_update_gate *fn;
	void *arg;
};

/* Ask g about each change of c that an UPDATE about to be sent would
 * carry, and hold back those it refuses: marked withheld, their
 * texts dropped, so that no plan takes them again. Returns how many it
 * held back. */
static size_t
gate_changes(const struct gate *g, struct dns_change *c, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (c[i].contended || c[i].withheld ||
		    !dns_change_needed(&c[i]) || g->fn(g->arg, &c[i]) == 0)
			continue;
		c[i].withheld = 1;
		c[i].sts_text = c[i].tlsrpt_text = NULL;
		k++;
	}
	return k;
}

/* Just before plan p for the changes c is sent, as late as the
 * caller's checks can be: hold back the changes g (NULL: none) refuses,
 * and plan again without them. Returns whether anything is left to send
 * (p empty otherwise). */
static int
gate_plan(const struct gate *g, struct dns_change *c, size_t n, struct plan *p,
          struct diag *d)
{
	size_t k = g != NULL ? gate_changes(g, c, n) : 0;

	if (k == 0)
		return 1;
	plan_free(p); /* the same changes, but those held back */
	plan_build(c, n, p, d);
	return p->n > 0;
}

/*
 * Send one UPDATE for the changes of zone t (dns_update_apply(), which
 * see), telling how it went in info (from info_init()). Just before it
 * is first sent, the names whose TTL it keeps are read again, with the
 * zone's SOA (pre_read()), and then the gate g (NULL: none) is asked
 * about each change (gate_plan()), as it is again before the retry
 * after a refusal by the prerequisites: one it holds back is left out, and
 * with none left nothing is sent (DNS_UPDATE_OK; the changes held back
 * are told by c->withheld). When a prerequisite fails (the records differ
 * from what was read), the states are read again (update_after()): if
 * they already hold what the update would make (someone made the same
 * change meanwhile; our own UPDATE is never sent twice), there is
 * nothing left to do and no conflict to report; a change whose records
 * of our kind someone else changed, or whose name someone made a CNAME,
 * is left out, so that their edit is not overwritten (it fails as a
 * conflict); the others are planned again and sent once more, with a
 * warning, and a second refusal is a conflict. An UPDATE whose reply was
 * lost counts as accepted only when the records read back show it
 * applied (send_planned()); they are then confirmed already.
 */
static enum dns_update_result
update_apply(const struct dns_target *t, struct dns_change *c, size_t n,
             const struct gate *g, struct dns_update_info *info, struct diag *d)
{
	char *where = info->where, names[DIAG_MSG_MAX / 2];
	int refused = 0; /* the first attempt's failed prerequisite */
	enum dns_update_result r;
	struct before pre;
	struct plan p;

	info->carried = n;
	for (size_t i = 0; i < n; i++) {
		c[i].confirmed = c[i].contended = c[i].undo_rcode = 0;
		c[i].contended_names = c[i].contended_cnames = 0;
		c[i].ttl_unread = 0;
	}
	for (int attempt = 0;; attempt++) {
		int rcode;

		if (plan_build(c, n, &p, d) == -1)
			return DNS_UPDATE_FAILED;
		if (p.n == 0) /* after a refusal, the states just read back */
			return contended_result(c, n, where, d);
		if (attempt == 0 &&
		    pre_read_plan(t, c, n, &p, &pre, info, d) == -1)
			return DNS_UPDATE_FAILED;
		/* the retry after a refusal too: its reads took time */
		if (!gate_plan(g, c, n, &p, d)) {
			plan_free(&p);
			return DNS_UPDATE_OK;
		}
		if (refused)
			diag_warn(d,
			          "someone changed %s meanwhile (%s from %s): "
			          "read the records again and retried",
			          names, prereq_rcode_name(refused), where);
		plan_names(&p, names, sizeof(names));
		info->carried = plan_carried(&p, c, n);
		rcode = send_planned(t, c, n, &p, info, d);
		if (rcode == LDNS_RCODE_NOERROR)
			break;
		r = update_after(t, c, n, &p, names, attempt, rcode, info, d);
		plan_free(&p);
		if (r != DNS_UPDATE_OK)
			return r;
		refused = rcode;
	}
	/* a lost reply was confirmed by the read-back already */
	r = info->reply_lost ? DNS_UPDATE_OK
	                     : confirm(t, c, n, &p, &pre, info, d);
	plan_free(&p);
	if (r != DNS_UPDATE_OK)
		return r;
	info->read_back = 1;
	return contended_result(c, n, where, d);
}

/* Send one UPDATE for the changes of zone t; see dnsupdate.h. */
enum dns_update_result
dns_update_apply(const struct dns_target *t, struct dns_change *c, size_t n,
                 struct diag *d)
{
	struct dns_update_info info;
	enum dns_update_result r;
	char w[DIAG_WARN_MAX];

	info_init(&info, t);
	r = update_apply(t, c, n, NULL, &info, d);
	for (size_t i = 0; i < n; i++) /* the TTLs kept */
		for (int k = 0; k < 2; k++)
			if (dns_change_ttl_kept(&c[i], k, w, sizeof(w)))
				diag_warn(d, "%s", w);
	return r;
}

/* Report change i, which someone else contended (its records of our
 * kind changed meanwhile), as a conflict of its own. */
static void
report_contended(const struct dns_target *t, const struct dns_change *c,
                 size_t i, const struct dns_update_info *info,
                 dns_update_report *report, void *arg)
{
	char where[DNS_WHERE_MAX];
	struct diag own;

	diag_init(&own);
	target_where(t, 0, where, sizeof(where));
	contended_error(&c[i], 1, where, &own);
	report(arg, i, 1, DNS_UPDATE_CONFLICT, &own, info);
}

/* Report change i, which the gate held back, alone: the gate has its
 * reason. Out of line, as update_alone() is: its empty diag would
 * otherwise deepen the stack of every UPDATE. */
static void __attribute__((noinline))
report_withheld(size_t i, const struct dns_update_info *info,
                dns_update_report *report, void *arg)
{
	struct diag none;

	diag_init(&none);
	report(arg, i, 1, DNS_UPDATE_WITHHELD, &none, info);
}

/* Report the outcome r (reason and warnings in d, how it went in info)
 * of the UPDATE of c[first] .. c[first + k - 1]: a contended change gets
 * its own conflict, whatever befell the others, and one the gate held
 * back its own report. */
static void
report_part(const struct dns_target *t, const struct dns_change *c,
            size_t first, size_t k, enum dns_update_result r,
            const struct diag *d, const struct dns_update_info *info,
            dns_update_report *report, void *arg)
{
	size_t i;

	for (i = first; i < first + k && !c[i].contended && !c[i].withheld; i++)
		;
	if (i == first + k) {
		report(arg, first, k, r, d, info);
		return;
	}
	for (i = first; i < first + k; i++)
		if (c[i].withheld)
			report_withheld(i, info, report, arg);
		else if (c[i].contended)
			report_contended(t, c, i, info, report, arg);
		else
			report(arg, i, 1, r, d, info);
}

/* Send the changes c[first] .. c[first + k - 1], whose UPDATE together
 * was denied or misjudged (its info and reason: denied, why), one per
 * UPDATE, each past the gate g again, and report each: a grant missing
 * for one domain, or records the server misjudges, fail that domain
 * only. A change someone else contended before the refusal is not sent
 * again: their edit stays; nor is one the gate held back. Returns the number of
 * UPDATEs sent. Out of line: its diag would otherwise sit in
 * dns_update_zone()'s frame, deepening the stack of every UPDATE (more resident
 * memory in each worker), though only a denied one needs it. */
static unsigned __attribute__((noinline))
update_alone(const struct dns_target *t, struct dns_change *c, size_t first,
             size_t k, const struct gate *g,
             const struct dns_update_info *denied, const struct diag *why,
             dns_update_report *report, void *arg)
{
	unsigned sent = 0;

	for (size_t i = first; i < first + k; i++) {
		struct dns_update_info info;
		enum dns_update_result r;
		struct diag d;

		info_init(&info, t);
		info.denied_first = first;
		info.denied_n = k;
		info.denied_carried = denied->carried;
		info.denied_sent = denied->sent;
		info.denied_rcode = denied->denied_rcode;
		info.denied_misjudged = denied->denied_misjudged;
		info.denied_reason = why->error;
		if (c[i].withheld) {
			report_withheld(i, &info, report, arg);
			continue;
		}
		if (c[i].contended) {
			report_contended(t, c, i, &info, report, arg);
			continue;
		}
		diag_init(&d);
		r = update_apply(t, &c[i], 1, g, &info, &d);
		sent += info.sent;
		report_part(t, c, i, 1, r, &d, &info, report, arg);
	}
	return sent;
}

/*
 * Apply the changes of zone t in as few UPDATEs as hold them, one after
 * another; see dnsupdate.h. A part refused as a whole by a server's
 * grants (DNS_UPDATE_DENIED), or by prerequisites that named the records
 * as they are (DNS_UPDATE_MISJUDGED), changed nothing, so sending its
 * changes again one by one is safe, and tells which domains lack the
 * grant, or have records the server misjudges. The diag of a part is on
 * the heap, as send_planned()'s is.
 */
unsigned
dns_update_zone(const struct dns_target *t, struct dns_change *c, size_t n,
                dns_update_gate *gate, dns_update_report *report, void *arg)
{
	const struct gate g = {gate, arg};
	const struct gate *gp = gate != NULL ? &g : NULL;
	unsigned sent = 0;
	struct diag *d = xmalloc(sizeof(*d));

	for (size_t first = 0, k; first < n; first += k) {
		struct dns_update_info info;
		enum dns_update_result r;

		k = update_fit(t, c + first, n - first);
		diag_init(d);
		info_init(&info, t);
		r = update_apply(t, c + first, k, gp, &info, d);
		sent += info.sent;
		/* alone, a change the UPDATE carried alone would only be
		 * refused again */
		if ((r == DNS_UPDATE_DENIED || r == DNS_UPDATE_MISJUDGED) &&
		    info.carried > 1)
			sent += update_alone(t, c, first, k, gp, &info, d,
			                     report, arg);
		else
			report_part(t, c, first, k, r, d, &info, report, arg);
	}
	free(d);
	return sent;
}
