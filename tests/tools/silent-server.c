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
 */
#include <arpa/inet.h>
#include <netinet/in.h>
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

/* Answer one request on c according to mode. */
static void
answer(int c, const char *mode)
{
	unsigned char hdr[2], msg[65535 + 2];
	size_t len;

	if (read_all(c, hdr, 2) == -1)
		return;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len < 12 || read_all(c, msg + 2, len) == -1)
		return;
	msg[2 + 2] |= 0x80; /* QR */
	if (strncmp(mode, "rcode=", 6) == 0) {
		int update = ((msg[2 + 2] >> 3) & 0xF) == 5;

		msg[2 + 3] &= 0xF0;
		if (update)
			msg[2 + 3] |=
			    (unsigned char)(strtol(mode + 6, NULL, 10) & 0xF);
		else
			msg[2 + 2] |= 0x04; /* AA */
		memset(msg + 2 + 6, 0, 6);  /* question only */
		len = 12 + question_len(msg + 2, len);
	} else if (strcmp(mode, "unsigned") == 0) {
		msg[2 + 3] &= 0xF0; /* NOERROR */
		memset(msg + 2 + 4, 0, 8);
		len = 12;
	}
	msg[0] = (unsigned char)(len >> 8);
	msg[1] = (unsigned char)len;
	if (write(c, msg, len + 2) != (ssize_t)(len + 2))
		perror("silent-server: write");
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *mode = argc > 2 ? argv[2] : "silent";
	int fd, one = 1;
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
		answer(c, mode);
		close(c);
	}
}
