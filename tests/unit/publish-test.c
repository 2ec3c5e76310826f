/*
 * publish-test - edge cases of publish.c and fetch.c that need no server:
 * file names, binary content, bounded reads, command output limits, URLs
 * refused before any connection, duplicate jobs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "publish.h"
#include "tap.h"
#include "util.h"

/* A fresh scratch directory, made the working directory. */
static char scratch[] = "/tmp/publish-test.XXXXXX";

static void
test_write_read(void)
{
	static const char bin[] = "a\0b\r\n\xff";
	struct buf b;
	struct diag d;
	struct stat st;

	diag_init(&d);
	ok(publish_write("mta-sts.txt", bin, sizeof(bin) - 1, &d) == 0,
	   "write: a name without a directory part goes to the working "
	   "directory");
	ok(stat("mta-sts.txt", &st) == 0 && (st.st_mode & 07777) == 0644 &&
	       st.st_size == (off_t)(sizeof(bin) - 1),
	   "write: mode 0644 and the exact size");
	buf_init(&b, 1024);
	ok(publish_read("mta-sts.txt", &b, &d) == 1 &&
	       b.len == sizeof(bin) - 1 && memcmp(b.data, bin, b.len) == 0,
	   "read: binary content (NUL, CR, 0xff) comes back exactly");
	buf_free(&b);

	buf_init(&b, 4);
	diag_init(&d);
	ok(publish_read("mta-sts.txt", &b, &d) == -1, "read: bounded by max");
	like(d.error, "mta-sts.txt: larger than 4 bytes", "read: says so");
	buf_free(&b);

	buf_init(&b, 16);
	diag_init(&d);
	ok(publish_read("absent/file", &b, &d) == 0 && !diag_failed(&d),
	   "read: a missing file is 0, not an error");
	buf_free(&b);

	diag_init(&d);
	ok(publish_write("dir/", "x", 1, &d) == -1,
	   "write: a path ending in /");
	like(d.error, "not a usable file name", "write: refused in words");
	diag_init(&d);
	ok(publish_write("empty.txt", "", 0, &d) == 0 &&
	       stat("empty.txt", &st) == 0 && st.st_size == 0,
	   "write: an empty file");
}

static void
test_command(void)
{
	struct strlist argv = {0};
	struct diag d;

	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 5, &d) == -1,
	   "command: an empty argv is refused");
	like(d.error, "empty command", "command: says so");

	strlist_add(&argv, "true");
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 5, &d) == 0 &&
	       !diag_failed(&d),
	   "command: true succeeds");
	strlist_free(&argv);

	/* 200 KB of output: captured up to the cap, message bounded */
	strlist_add(&argv, "sh");
	strlist_add(&argv, "-c");
	strlist_add(&argv, "i=0; while [ $i -lt 4000 ]; do echo "
	                   "line-$i-%d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
	                   "i=$((i+1)); done; exit 7");
	diag_init(&d);
	ok(publish_run_command(&argv, "example.com", "f", 10, &d) == -1,
	   "command: a failing noisy command fails");
	like(d.error, "exit status 7: line-0-example.com-x",
	     "command: status and the first line (with %%d substituted)");
	like(d.error, "line-4-", "command: the fifth line is shown");
	ok(strstr(d.error, "line-5-") == NULL,
	   "command: the sixth line is not");
	ok(strlen(d.error) < DIAG_MSG_MAX, "command: the message is bounded");
	strlist_free(&argv);
}

static void
test_fetch_refusals(void)
{
	struct fetch_result r;
	struct fetch_job jobs[3];
	struct fetch_opts o = {.timeout = 3};

	ok(fetch_url("http://example.com/.well-known/mta-sts.txt", NULL, &r) ==
	       -1,
	   "fetch: http URL refused (NULL options allowed)");
	like(r.error, "https only", "fetch: says https only");
	ok(r.status == 0 && r.body == NULL, "fetch: no status, no body");
	fetch_result_free(&r);
	fetch_result_free(&r);
	fetch_result_free(NULL);
	ok(1, "fetch_result_free twice and on NULL is safe");

	memset(jobs, 0, sizeof(jobs));
	jobs[0].url = "gopher://example.com/";
	jobs[1].url = "https://127.0.0.1:1/x";
	jobs[1].opts = &o;
	jobs[2].url = "gopher://example.com/";
	fetch_many(jobs, 3, 0);
	like(jobs[0].result.error, "gopher:// URL refused", "many: job 1");
	like(jobs[1].result.error, "connection to 127.0.0.1 port 1 refused",
	     "many: job 2");
	is_str(jobs[2].result.error, jobs[0].result.error,
	       "many: the duplicate job has the same result");
	for (int i = 0; i < 3; i++)
		fetch_result_free(&jobs[i].result);
	fetch_many(NULL, 0, 4);
	ok(1, "many: no jobs is fine");
}

static void
test_verify(void)
{
	struct fetch_opts o = {.timeout = 2};
	struct diag d;

	diag_init(&d);
	ok(publish_verify("https://127.0.0.1:1/.well-known/mta-sts.txt", &o,
	                  "x", 1, 0, &d) == -1,
	   "verify: unreachable, timeout 0: one attempt, fails");
	like(d.error,
	     "https://127.0.0.1:1/.well-known/mta-sts.txt: connection to "
	     "127.0.0.1 port 1 refused",
	     "verify: the URL and the fetch error");
}

int
main(void)
{
	if (mkdtemp(scratch) == NULL || chdir(scratch) == -1) {
		printf("Bail out! cannot make a scratch directory\n");
		return 1;
	}
	umask(077);
	fetch_global_init();
	test_write_read();
	test_command();
	test_fetch_refusals();
	test_verify();
	fetch_global_cleanup();
	ok(unlink("mta-sts.txt") == 0 && unlink("empty.txt") == 0 &&
	       chdir("/") == 0 && rmdir(scratch) == 0,
	   "scratch directory left clean (no temporaries)");
	return done_testing();
}
