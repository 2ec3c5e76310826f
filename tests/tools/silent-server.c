/*
 * silent-server - accept TCP connections on 127.0.0.1 PORT and never
 * answer, for timeout tests. Usage: silent-server PORT (runs until
 * killed; prints "ready" once listening).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	int fd, one = 1;
	long port;
	char *end;

	if (argc != 2)
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

		(void)c; /* kept open, never answered */
		if (c == -1)
			sleep(1);
	}
}
