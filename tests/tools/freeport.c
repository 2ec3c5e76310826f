/*
 * freeport - print N free TCP port numbers on 127.0.0.1 (default 1), each
 * also free for UDP, for tests that start servers on loopback.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int
main(int argc, char **argv)
{
	int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;
	int fds[64], nfd = 0, found = 0;

	if (n < 1 || n > 32)
		return 2;
	while (found < n && nfd < 62) {
		unsigned short port, uport;
		int tfd = bind_port(SOCK_STREAM, 0, &port);
		int ufd;

		if (tfd == -1)
			return 1;
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
