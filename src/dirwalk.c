/*
 * dirwalk.c - walking a path one component at a time, and who could
 * have put an entry in a directory on the way (see dirwalk.h).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirwalk.h"

enum dir_trust
dir_trust(const struct stat *st)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me)
		return DIR_OTHER_OWNER;
	if ((st->st_mode & S_IWOTH) != 0 && (st->st_mode & S_ISVTX) == 0)
		return DIR_OTHERS_WRITE;
	return DIR_TRUSTED;
}

int
path_next(char *todo, char *comp)
{
	char *p = todo, *slash;
	size_t n;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return -1;
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	snprintf(comp, NAME_MAX + 1, "%.*s", (int)(n < NAME_MAX ? n : NAME_MAX),
	         p);
	memmove(todo, p + n, strlen(p + n) + 1);
	return n > NAME_MAX ? 1 : 0;
}

int
path_splice(char *todo, size_t size, const char *target)
{
	size_t t = strlen(target), r = strlen(todo);

	if (t + 1 + r + 1 > size)
		return -1;
	memmove(todo + t + 1, todo, r + 1);
	memcpy(todo, target, t);
	todo[t] = '/';
	return 0;
}
