/*
 * replay.c - a main() for fuzz targets built without libFuzzer: feeds
 * every file named on the command line (or every file in a named
 * directory) to LLVMFuzzerTestOneInput once, so the corpus of hostile
 * inputs runs in every test build, under ASan and valgrind too. Each
 * input gets an allocation of its exact size, as libFuzzer gives it, so
 * that a target reading past its input reads past the allocation, which
 * they report.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the largest input replayed: more than any target reads */
#define REPLAY_MAX (1 << 20)

/* The whole file fp (named path) in a new allocation of its exact size,
 * *len bytes; NULL if it cannot be read whole. */
static uint8_t *
read_whole(FILE *fp, const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;

	if (fstat(fileno(fp), &st) == -1) {
		perror(path);
		return NULL;
	}
	if (st.st_size > REPLAY_MAX) {
		fprintf(stderr, "%s: larger than %d bytes\n", path, REPLAY_MAX);
		return NULL;
	}
	*len = (size_t)st.st_size;
	/* glibc's malloc(0) is an allocation of no bytes: any read is seen */
	if ((buf = malloc(*len)) == NULL) {
		perror("malloc");
		return NULL;
	}
	if (fread(buf, 1, *len, fp) != *len) {
		fprintf(stderr, "%s: cannot read its %zu bytes\n", path, *len);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Feed the file at path to the target once. Returns 0, or -1 if it
 * cannot be read. */
static int
replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	size_t n = 0;

	if (fp == NULL) {
		perror(path);
		return -1;
	}
	buf = read_whole(fp, path, &n);
	fclose(fp);
	if (buf == NULL)
		return -1;
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int
replay_path(const char *path, int *count)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	char sub[4096];
	int rc = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (replay_path(sub, count) == -1)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

int
main(int argc, char **argv)
{
	int i, count = 0, rc = 0;

	for (i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) == -1)
			rc = 1;
	printf("replayed %d inputs\n", count);
	return rc != 0 || count == 0;
}
