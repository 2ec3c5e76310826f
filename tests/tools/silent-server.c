/*
 * silent-server - a misbehaving DNS server on 127.0.0.1 TCP PORT for the
 * fault tests. Usage: silent-server PORT [MODE]; runs until killed and
 * prints "ready" once listening. MODE:
 *   silent    accept connections and never answer (the default)
 *   echo      answer each request with itself, QR set: a forged reply
 *             whose TSIG RR is the request's own
 *   unsigned  answer NOERROR with the bare header: an unsigned reply
 *   rcode=N   answer queries with an empty authoritative NOERROR and
 *             UPDATEs with rcode N (no TSIG: for unsigned requests)
 *   reverse   read the requests a client pipelines (until none comes for
 *             0.3 s), print "batch N", answer them as rcode=0 does, in
 *             reverse order: replies out of order (RFC 7766 section 7)
 *   wrongq    answer as rcode=0 does, but to another question (the type
 *             changed): a reply that matches no request
 *   truncated answer as rcode=0 does, with the TC bit set: a reply cut
 *             short over TCP
 *   refuse-once  answer as rcode=8 does (NXRRSET) until an UPDATE is
 *             refused, then close every connection unanswered: the
 *             records cannot be read again after the refusal
 *   accept-once  answer as rcode=0 does until an UPDATE is accepted,
 *             then close every connection unanswered: a primary that
 *             stopped right after it answered the UPDATE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* Turn the request msg + 2 of len bytes into its answer according to
 * mode, length-prefixed. Returns the answer's length. */
static size_t
make_answer(unsigned char *msg, size_t len, const char *mode)
{
	int wrongq = strcmp(mode, "wrongq") == 0;
	size_t q;

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

#define BATCH_MAX 8

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

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *mode = argc > 2 ? argv[2] : "silent";
	int fd, one = 1, updated = 0;
	long port;
	char *end;

	if (argc < 2 || argc > 3)
		return 2;
	port = strtol(argv[1], &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535)
		return 2;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 8) == -1) {
		perror("silent-server");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c == -1) {
			sleep(1);
			continue;
		}
		if (strcmp(mode, "silent") == 0)
			continue; /* kept open, never answered */
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
