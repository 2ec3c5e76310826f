/*
 * freeport - print N free TCP port numbers on 127.0.0.1 (default 1), each
 * also free for UDP, for tests that start servers on loopback.
 *
 * The ports are chosen at random BELOW the kernel's ephemeral range
 * (ip_local_port_range): a port from that range, free now, may become the
 * local port of one of the many outgoing connections the tests make
 * before the server that was meant to listen on it has bound it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
bind_port(int type, unsigned short port, unsigned short *got)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	*got = ntohs(sin.sin_port);
	return fd;
}

/* The first port of the ephemeral range, or 0 if it cannot be read. */
static unsigned
ephemeral_start(void)
{
	FILE *fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	char line[64];
	unsigned long v = 0;

	if (fp != NULL && fgets(line, sizeof(line), fp) != NULL)
		v = strtoul(line, NULL, 10);
	if (fp != NULL)
		fclose(fp);
	return v > 65535 ? 0 : (unsigned)v;
}

/* A random candidate port under the ephemeral range (0: let the kernel
 * choose, when there is no room below it). */
static unsigned short
candidate(unsigned start)
{
	const unsigned low = 10000;

	if (start <= low + 1000)
		return 0;
	return (unsigned short)(low + (unsigned)random() % (start - low));
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;
	int fds[64], nfd = 0, found = 0;

	if (n < 1 || n > 32)
		return 2;
	unsigned start = ephemeral_start();
	int tries = 0;

	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	while (found < n && nfd < 62 && tries++ < 1000) {
		unsigned short port, uport;
		int tfd = bind_port(SOCK_STREAM, candidate(start), &port);
		int ufd;

		if (tfd == -1)
			continue;
		fds[nfd++] = tfd;
		ufd = bind_port(SOCK_DGRAM, port, &uport);
		if (ufd == -1)
			continue;
		fds[nfd++] = ufd;
		printf("%u\n", port);
		found++;
	}
	while (nfd > 0)
		close(fds[--nfd]);
	return found == n ? 0 : 1;
}
