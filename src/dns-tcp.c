/*
 * dns-tcp.c - the exchanges with a primary, for the rest of the DNS
 * UPDATE engine (dns-internal.h says how the files fit).
 *
 * Every exchange goes over a TCP connection each thread keeps open
 * (conn_get() and its cache), the queries of a domain pipelined on it
 * (RFC 7766 section 6.2.1.1) and their replies framed (frame_take) and
 * matched by id and question (reply_mismatch, reply_take); replies that
 * match no request are strays, counted and turned into messages
 * (stray_error). An UPDATE opens a new connection. On top of that,
 * dns_send_wires() and dns_send_pkt() sign the messages, and check_reply()
 * verifies a reply's TSIG and says in words what failed (tsig_failure).
 * The small helpers all files use (names, time, random ids) open it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "dns-internal.h"

/* ------------------------------------------------------------ helpers */

/* Describe address i of t for messages: "ns1.example (192.0.2.1) port
 * 53" or "192.0.2.1 port 53". */
void
dns_target_where(const struct dns_target *t, size_t i, char *out, size_t size)
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
int
dns_name_copy(char *out, const char *name)
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
char *
dns_rdf_name(const ldns_rdf *rdf)
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
void
dns_random_bytes(unsigned char *b, size_t n)
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

/* Milliseconds left until deadline (util_mono()), at least 0. */
static int
ms_left(double deadline)
{
	double ms = (deadline - util_mono()) * 1000;

	return ms < 0 ? 0 : ms > 86400000 ? 86400000 : (int)ms;
}

/* ------------------------------------------------------- TCP exchange */

/* Wait until fd is ready for events or the deadline passes. Returns 0,
 * or -1 with errno ETIMEDOUT or the poll error. */
static int
wait_fd(int fd, short events, double deadline)
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
connect_by(int fd, const union dns_addr *sa, socklen_t len, double deadline)
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
write_all(int fd, const unsigned char *p, size_t len, double deadline)
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
	double deadline; /* util_mono() */
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
		     wait_fd(fd, POLLIN, a->deadline) == -1) ||
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
	MISMATCH_DUP = 16,     /* the reply of a request already answered */
};

/* Does the reply r answer the request w: the same id, QR set, the same
 * opcode (RFC 1035 section 4.1.1, RFC 2136 section 3.8) and, unless the
 * reply carries no question (some error replies; check_reply() refuses a
 * query's NOERROR or NXDOMAIN so), the same question (the name in any
 * case)? Returns MATCH, or the first of these it fails. */
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
		enum mismatch m = reply_mismatch(&w[i], r);
		int suspect;

		if (m == MATCH && w[i].got)
			m = MISMATCH_DUP; /* the server repeats itself */
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
	if (write_all(fd, (unsigned char *)out.data, out.len, a->deadline) ==
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
	if (faults & MISMATCH_DUP)
		o +=
		    (size_t)snprintf(out + o, o < size ? size - o : 0, "%s",
		                     o > 0 ? ", or a reply already taken, again"
		                           : "a reply already taken, again");
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
	char what[32], then[64], why[192];
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
		if (connect_by(fd, &t->addr[i], t->addrlen[i], a->deadline) ==
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
		dns_target_where(t, i, where, sizeof(where));
		a.deadline = util_mono() + (t->timeout ? t->timeout : 30);
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
		           "algorithm in the server configuration%s%s (Knot "
		           "answers so too when no acl of the zone names "
		           "the key: add the acl `mta-sts-sync server-config "
		           "--knot` prints to the zone)",
		           where, k->name, tsig_alg_name(k->alg),
		           k->origin != NULL ? ", and in ours at " : "",
		           k->origin != NULL ? k->origin : "");
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

/*
 * Does the wire reply m to a query claim an answer (NOERROR or NXDOMAIN)
 * without the question it answers (QDCOUNT 0: a bare header)? Such a
 * reply matches its request by id alone (reply_mismatch() lets error
 * replies come without the question, as some servers send FORMERR,
 * NOTIMP or REFUSED); an answer must echo it (RFC 1035 section 4.1.1),
 * or a bare header would pass for "no such record". An UPDATE's reply
 * may leave its sections out whatever its rcode (RFC 2136 section 3.8).
 */
static int
reply_bare(const unsigned char *m)
{
	int rcode = m[3] & 0x0F;

	return (m[4] << 8 | m[5]) == 0 &&
	       (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN);
}

/*
 * Check the raw reply r that reply_take() took for the answer to its
 * request (signed with mac when t has a key; an UPDATE with is_update):
 * TSIG, TC bit, the question of a query's answer (reply_bare()); then
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
	if (!is_update && reply_bare(m)) {
		diag_error(d,
		           "%s answered without the question (a bare header): "
		           "not taken for the answer to it; a name server "
		           "echoes the question (RFC 1035 section 4.1.1): is "
		           "it a name server, or does something between us (a "
		           "DNS proxy, a firewall inspecting DNS) rewrite its "
		           "replies?",
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

/* One request of dns_send_wires: its MAC, id and raw reply. */
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

	dns_random_bytes(b, 2 * n);
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		s[i].id = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
		while (j < i) {
			if (s[j].id != s[i].id) {
				j++;
				continue;
			}
			dns_random_bytes(b, 2);
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
size_t
dns_send_wires(const struct dns_target *t, struct buf *q, size_t n,
               unsigned answer_only, ldns_pkt **replies, char *where,
               size_t wsize, struct wire_fail *f, struct diag *d)
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
	dns_target_where(t, used, where, wsize);
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
size_t
dns_tsig_room(const struct dns_target *t)
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

	if (len + dns_tsig_room(t) <= DNS_MSG_MAX &&
	    buf_append(q, ldns_buffer_begin(wire), len) == 0)
		return 0;
	if (t->naddr > 0)
		dns_target_where(t, 0, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "server %s", t->server);
	diag_error(d,
	           "the UPDATE of zone %s for %s does not fit in a DNS message "
	           "(%zu bytes, and its TSIG record: at most %d)",
	           t->zone, where, len, DNS_MSG_MAX);
	return -1;
}

/* Send the UPDATE pkt to t (RD clear) by dns_send_wires(). Returns 0 with
 * *reply to free, or -1 with the reason in d and how it failed in *f. */
int
dns_send_pkt(const struct dns_target *t, ldns_pkt *pkt, ldns_pkt **reply,
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
	         dns_send_wires(t, &q, 1, 0, reply, where, wsize, f, d) == 1)
		rc = 0;
	ldns_buffer_free(wire);
	buf_free(&q);
	return rc;
}
