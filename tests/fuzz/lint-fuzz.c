/*
 * lint-fuzz.c - fuzz target for `mta-sts-sync lint`, which reads policy
 * files from anywhere (a provider's, a colleague's, standard input). It
 * includes src/lint.c to reach its static functions (the library's
 * lint.o is then not linked). The input is the file, read through its
 * name as lint reads it (lint_read, lint_load), and linted (lint_file,
 * its standard output thrown away). Invariants, else abort: a file
 * whose policy parses gives a policy and the canonical bytes
 * policy_canonical() makes of it; a file that does not gives a reason;
 * every line lint prints of the result (lint_print) is one line with no
 * control character; lint_file() succeeds exactly when lint_load() does.
 */
#include "../../src/lint.c"

#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The output of lint_print() for msg is one line with no control
 * character but its line end. */
static void
check_printed(const char *kind, const char *msg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	if (fp == NULL)
		abort();
	lint_print(fp, "policy.txt", kind, msg);
	fclose(fp);
	if (len == 0 || out[len - 1] != '\n')
		abort();
	for (size_t i = 0; i + 1 < len; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
	free(out);
}

/* lint_file(path), its standard output thrown away. */
static int
lint_quietly(const char *path)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), out = dup(1), rc;

	if (null == -1 || out == -1 || fflush(stdout) != 0 ||
	    dup2(null, 1) == -1)
		abort();
	rc = lint_file(path);
	if (fflush(stdout) != 0 || dup2(out, 1) == -1)
		abort();
	close(null);
	close(out);
	return rc;
}

/* What lint_load() made of path against what the parser makes of the
 * same bytes. */
static void
check_loaded(const char *path, const uint8_t *data, size_t size)
{
	struct buf canon, again;
	struct diag d, d2;
	struct policy *p, *q;

	diag_init(&d);
	diag_init(&d2);
	buf_init(&canon, POLICY_MAX_SIZE);
	buf_init(&again, POLICY_MAX_SIZE);
	p = lint_load(path, &canon, &d);
	q = policy_parse(size ? (const char *)data : "", size, &d2);
	if ((p == NULL) != (q == NULL) || (p == NULL) != diag_failed(&d))
		abort();
	if (p != NULL &&
	    (policy_canonical(q, &again) != 0 || again.len != canon.len ||
	     memcmp(again.data, canon.data, canon.len) != 0))
		abort();
	if (p == NULL)
		check_printed("error", d.error);
	for (size_t i = 0; i < d.nwarn; i++)
		check_printed("warning", d.warn[i]);
	if ((lint_quietly(path) == 0) != (p != NULL))
		abort();
	policy_free(p);
	policy_free(q);
	buf_free(&canon);
	buf_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd;

	fd = memfd_create("policy.txt", MFD_CLOEXEC);
	if (fd == -1 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	check_loaded(path, data, size);
	close(fd);
	return 0;
}
