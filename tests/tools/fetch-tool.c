/*
 * fetch-tool - drive fetch.c, publish.c, command.c and verify.c from the
 * shell tests.
 *
 *   fetch-tool fetch [OPTS] URL          print the body, or "error: ..."
 *   fetch-tool fetch --info [OPTS] URL   print "status=N len=N expiry=T
 *                                        content-type=C location=L"
 *   fetch-tool many [OPTS] URL...        one line per URL: "URL ok BODY"
 *                                        (newlines shown as |) or
 *                                        "URL error: ..."
 *   fetch-tool threads [OPTS] N URL...   N threads at once each fetch every
 *                                        URL (even threads by fetch_url,
 *                                        odd ones by fetch_many); one line
 *                                        per thread and URL: "T URL ok
 *                                        BODY" or "T URL error: ..."
 *   fetch-tool alternate [OPTS] N URL    N times: URL fetched twice with
 *                                        OPTS, then twice without their
 *                                        --resolve entries (so that both
 *                                        service threads, which mostly
 *                                        take fetches in turn, have run
 *                                        each kind); a line for each
 *                                        fetch, "with ok" or "with error:
 *                                        ...", "without ok" or "without
 *                                        error: ..." (the entries of one
 *                                        fetch must not reach the next)
 *   fetch-tool verify [OPTS] URL FILE SECONDS
 *                                        publish_verify() against FILE
 *                                        (--previous F: what the file
 *                                        held before; --no-deploy: as
 *                                        without a publish-command)
 *   fetch-tool publish FILE < DATA       publish_write()
 *   fetch-tool read FILE                 publish_read(): body, exit 3 if
 *                                        absent
 *   fetch-tool run-command [--domain D] [--file F] [--timeout N] ARGV...
 *   fetch-tool listen PORT               listen on 127.0.0.1:PORT, never
 *                                        accept nor answer; print "ready"
 *   fetch-tool cut PORT CERT KEY MODE    a TLS server on 127.0.0.1:PORT
 *                                        (certificate chain CERT, key
 *                                        KEY) that cuts each connection
 *                                        after the handshake, once the
 *                                        request came; MODE: reset (a
 *                                        TCP reset, no response), close
 *                                        (closed, no response, no TLS
 *                                        close_notify), reset-body or
 *                                        close-body (the same after a
 *                                        200 head promising 1000 bytes
 *                                        and 16 of them): a web server
 *                                        stopped or restarting; print
 *                                        "ready", then "cut" each time
 *
 * OPTS: --ca-file F, --resolve HOST:PORT:ADDR (repeatable), --timeout N,
 * --connect-timeout N, --timeout-setting NAME (fetch_opts'
 * timeout_setting), --parallel N. Exit status 0 on success, 1 on a
 * failure (message on standard error), 2 on a usage error.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "fetch.h"
#include "policy.h"
#include "publish.h"
#include "util.h"

struct tool_opts {
	struct fetch_opts fo;
	struct strlist resolve;
	unsigned parallel;
	int info;
	const char *domain;
	const char *file;
	const char *previous;
	unsigned timeout;
	int no_deploy; /* verify as a run without a publish-command */
};

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr, "fetch-tool: %s\n", why);
	exit(2);
}

/* A number argument, or exit 2. */
static unsigned
num_arg(const char *s)
{
	unsigned long long v;

	if (s == NULL || parse_uint(s, 100000, &v) == -1)
		usage("bad number");
	return (unsigned)v;
}

/* Consume the options at argv[*i]; returns when the first operand is
 * reached. */
static void
parse_opts(int argc, char **argv, int *i, struct tool_opts *t)
{
	for (; *i < argc && strncmp(argv[*i], "--", 2) == 0; (*i)++) {
		const char *o = argv[*i],
		           *v = *i + 1 < argc ? argv[*i + 1] : NULL;

		if (strcmp(o, "--") == 0) {
			(*i)++;
			return;
		}
		if (strcmp(o, "--info") == 0) {
			t->info = 1;
			continue;
		}
		if (strcmp(o, "--no-deploy") == 0) {
			t->no_deploy = 1;
			continue;
		}
		if (v == NULL)
			usage("option needs a value");
		(*i)++;
		if (strcmp(o, "--ca-file") == 0)
			t->fo.ca_file = v;
		else if (strcmp(o, "--resolve") == 0)
			strlist_add(&t->resolve, v);
		else if (strcmp(o, "--timeout") == 0)
			t->fo.timeout = t->timeout = num_arg(v);
		else if (strcmp(o, "--connect-timeout") == 0)
			t->fo.connect_timeout = num_arg(v);
		else if (strcmp(o, "--timeout-setting") == 0)
			t->fo.timeout_setting = v;
		else if (strcmp(o, "--parallel") == 0)
			t->parallel = num_arg(v);
		else if (strcmp(o, "--domain") == 0)
			t->domain = v;
		else if (strcmp(o, "--file") == 0)
			t->file = v;
		else if (strcmp(o, "--previous") == 0)
			t->previous = v;
		else
			usage("unknown option");
	}
}

/* Print a body on one line, newlines shown as '|'. */
static void
print_flat(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		putchar(s[i] == '\n' ? '|' : s[i] == '\r' ? '~' : s[i]);
}

static int
cmd_fetch(const char *url, struct tool_opts *t)
{
	struct fetch_result r;
	int rc = fetch_url(url, &t->fo, &r);

	if (t->info)
		printf("status=%ld len=%zu expiry=%lld content-type=%s "
		       "location=%s\n",
		       r.status, r.len, (long long)r.cert_expiry,
		       r.content_type ? r.content_type : "-",
		       r.location ? r.location : "-");
	else if (rc == 0)
		fwrite(r.body, 1, r.len, stdout);
	if (rc == -1)
		fprintf(stderr, "error: %s\n", r.error);
	fetch_result_free(&r);
	return rc == 0 ? 0 : 1;
}

static int
cmd_many(int argc, char **argv, struct tool_opts *t)
{
	struct fetch_job *jobs = xcalloc((size_t)argc, sizeof(*jobs));
	int i, bad = 0;

	for (i = 0; i < argc; i++) {
		jobs[i].url = argv[i];
		jobs[i].opts = &t->fo;
	}
	fetch_many(jobs, (size_t)argc, t->parallel ? t->parallel : 4);
	for (i = 0; i < argc; i++) {
		struct fetch_result *r = &jobs[i].result;

		printf("%s ", argv[i]);
		if (r->ok) {
			printf("ok ");
			print_flat(r->body, r->len);
			printf("\n");
		} else {
			printf("error: %s\n", r->error);
			bad = 1;
		}
		fetch_result_free(r);
	}
	free(jobs);
	return bad;
}

/* Fetch url n times twice with the options of t, then twice without
 * their resolve entries, one line for each fetch. Returns 0. */
static int
cmd_alternate(const char *n, const char *url, struct tool_opts *t)
{
	struct fetch_opts bare = t->fo;
	unsigned k, times = num_arg(n);

	bare.resolve = NULL;
	for (k = 0; k < 4 * times; k++) {
		struct fetch_result r;

		fetch_url(url, k % 4 > 1 ? &bare : &t->fo, &r);
		printf("%s %s%s\n", k % 4 > 1 ? "without" : "with",
		       r.ok ? "ok" : "error: ", r.ok ? "" : r.error);
		fetch_result_free(&r);
	}
	return 0;
}

/* One thread of cmd_threads: its number, the URLs, its results. */
struct tool_thread {
	pthread_t tid;
	unsigned no;
	char **urls;
	size_t n;
	struct tool_opts *t;
	pthread_barrier_t *start;
	struct fetch_result *r; /* per URL */
	unsigned bad_done;      /* done callbacks wrong: count, thread */
};

/* fetch_job callback: count calls made from another thread than the one
 * that called fetch_many(). */
static void
thread_job_done(struct fetch_job *job, void *arg)
{
	struct tool_thread *th = arg;

	if (!pthread_equal(pthread_self(), th->tid) || job->done_called != 1)
		th->bad_done++;
}

/* Fetch every URL, starting at a different one in each thread so that
 * the threads ask different hosts at the same time. */
static void *
thread_main(void *arg)
{
	struct tool_thread *th = arg;
	struct fetch_job *jobs = xcalloc(th->n, sizeof(*jobs));
	size_t k, i;

	pthread_barrier_wait(th->start); /* th->tid is set from here on */
	for (k = 0; k < th->n; k++) {
		i = (k + th->no) % th->n;
		jobs[k].url = th->urls[i];
		jobs[k].opts = &th->t->fo;
		jobs[k].done = thread_job_done;
		jobs[k].done_arg = th;
		if (th->no % 2 == 0)
			fetch_url(th->urls[i], &th->t->fo, &th->r[i]);
	}
	if (th->no % 2 == 1) {
		fetch_many(jobs, th->n, th->t->parallel ? th->t->parallel : 3);
		for (k = 0; k < th->n; k++)
			th->r[(k + th->no) % th->n] = jobs[k].result;
	}
	free(jobs);
	return NULL;
}

/* Print thread th's results, one line per URL; returns 1 if one failed. */
static int
thread_print(struct tool_thread *th)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < th->n; i++) {
		printf("%u %s ", th->no, th->urls[i]);
		if (th->r[i].ok) {
			printf("ok ");
			print_flat(th->r[i].body, th->r[i].len);
			printf("\n");
		} else {
			printf("error: %s\n", th->r[i].error);
			bad = 1;
		}
		fetch_result_free(&th->r[i]);
	}
	if (th->bad_done)
		printf("%u done callbacks wrong: %u\n", th->no, th->bad_done);
	return bad;
}

static int
cmd_threads(const char *count, int argc, char **argv, struct tool_opts *t)
{
	unsigned n = num_arg(count), k;
	struct tool_thread *th = xcalloc(n ? n : 1, sizeof(*th));
	pthread_barrier_t start;
	int bad = 0;

	pthread_barrier_init(&start, NULL, n + 1);
	for (k = 0; k < n; k++) {
		th[k].no = k;
		th[k].urls = argv;
		th[k].n = (size_t)argc;
		th[k].t = t;
		th[k].start = &start;
		th[k].r = xcalloc((size_t)argc, sizeof(*th[k].r));
		if (pthread_create(&th[k].tid, NULL, thread_main, &th[k]) != 0)
			usage("cannot start a thread");
	}
	pthread_barrier_wait(&start);
	for (k = 0; k < n; k++)
		pthread_join(th[k].tid, NULL);
	for (k = 0; k < n; k++) {
		bad |= thread_print(&th[k]) | (th[k].bad_done != 0);
		free(th[k].r);
	}
	pthread_barrier_destroy(&start);
	free(th);
	return bad;
}

/* Read all of a stream (or a file) into b; exit on failure. */
static void
slurp(FILE *f, struct buf *b)
{
	char chunk[4096];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) == -1)
			usage("input too large");
}

/* The content of file into b (buf_init()ed here), or exit 2. */
static void
slurp_file(const char *file, struct buf *b)
{
	FILE *f = fopen(file, "rb");

	if (f == NULL)
		usage("cannot open a policy file");
	buf_init(b, POLICY_MAX_SIZE);
	slurp(f, b);
	fclose(f);
}

static int
cmd_verify(const char *url, const char *file, const char *secs,
           struct tool_opts *t)
{
	struct buf want, prev = {0};
	struct verify_hints local = {NULL, NULL, 0};
	struct diag d;
	int rc;

	slurp_file(file, &want);
	if (t->previous != NULL)
		slurp_file(t->previous, &prev);
	diag_init(&d);
	rc = publish_verify(
	    url, &t->fo, want.data ? want.data : "", want.len,
	    t->previous != NULL ? (prev.data ? prev.data : "") : NULL, prev.len,
	    num_arg(secs), t->no_deploy ? &local : NULL, &d);
	if (rc == VERIFY_SERVED)
		printf("ok\n");
	else if (rc == VERIFY_SAME_POLICY)
		printf("ok: the same policy in other bytes\n");
	else
		fprintf(stderr, "error: %s\n", d.error);
	buf_free(&want);
	buf_free(&prev);
	return rc == -1 ? 1 : 0;
}

static int
cmd_publish(const char *file)
{
	struct buf data;
	struct diag d;
	int rc;

	buf_init(&data, 16u << 20);
	slurp(stdin, &data);
	diag_init(&d);
	rc = publish_write(file, data.data ? data.data : "", data.len, &d);
	if (rc != 0)
		fprintf(stderr, "error: %s\n", d.error);
	buf_free(&data);
	return rc == 0 ? 0 : 1;
}

static int
cmd_read(const char *file)
{
	struct buf data;
	struct diag d;
	int rc;

	buf_init(&data, POLICY_MAX_SIZE);
	diag_init(&d);
	rc = publish_read(file, &data, &d);
	if (rc == 1)
		fwrite(data.data, 1, data.len, stdout);
	else if (rc == -1)
		fprintf(stderr, "error: %s\n", d.error);
	buf_free(&data);
	return rc == 1 ? 0 : rc == 0 ? 3 : 1;
}

static int
cmd_run(int argc, char **argv, struct tool_opts *t)
{
	struct strlist args = {0};
	struct diag d;
	int i, rc;

	for (i = 0; i < argc; i++)
		strlist_add(&args, argv[i]);
	diag_init(&d);
	rc = publish_run_command(&args, t->domain ? t->domain : "example.com",
	                         t->file ? t->file : "/nonexistent", t->timeout,
	                         &d);
	if (rc == 0)
		printf("ok\n");
	else
		fprintf(stderr, "error: %s\n", d.error);
	strlist_free(&args);
	return rc == 0 ? 0 : 1;
}

/* A TCP socket listening on 127.0.0.1:port. Returns it, or -1
 * (said on standard error). */
static int
listen_socket(const char *port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)num_arg(port));
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 64) == -1) {
		perror("fetch-tool: listen");
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* A TCP listener that never accepts: connections complete in the
 * kernel's backlog and then hear nothing (TLS handshakes never end). */
static int
cmd_listen(const char *port)
{
	if (listen_socket(port) == -1)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* Take the connection fd through the TLS handshake and its request, then
 * cut it as mode says (cmd_cut()): SO_LINGER of 0 makes the close a
 * reset; no SSL_shutdown(), so no close_notify either way. */
static void
cut_connection(SSL_CTX *ctx, int fd, const char *mode)
{
	static const char head[] = "HTTP/1.1 200 OK\r\n"
	                           "Content-Type: text/plain\r\n"
	                           "Content-Length: 1000\r\n\r\n"
	                           "version: STSv1\r\n";
	struct linger hard = {1, 0};
	char req[4096];
	SSL *ssl = SSL_new(ctx);

	if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1 &&
	    SSL_read(ssl, req, sizeof(req)) > 0) {
		if (strstr(mode, "-body") != NULL) {
			SSL_write(ssl, head, (int)sizeof(head) - 1);
			/* for the client to read it: a reset that comes
			 * first throws away what it has not read */
			usleep(300000);
		}
		if (strncmp(mode, "reset", 5) == 0)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard,
			           sizeof(hard));
	}
	SSL_free(ssl);
	close(fd);
	printf("cut\n");
	fflush(stdout);
}

/* The cutting TLS server of the usage above. Returns 1 if it cannot
 * start; else runs until killed. */
static int
cmd_cut(const char *port, const char *cert, const char *key, const char *mode)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int fd, c;

	if (strcmp(mode, "reset") != 0 && strcmp(mode, "close") != 0 &&
	    strcmp(mode, "reset-body") != 0 && strcmp(mode, "close-body") != 0)
		usage("cut: bad mode");
	if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "fetch-tool: cut: cannot load %s or %s\n", cert,
		        key);
		return 1;
	}
	fd = listen_socket(port);
	if (fd == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN); /* a client gone while we write */
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		c = accept(fd, NULL, NULL);
		if (c != -1)
			cut_connection(ctx, c, mode);
	}
}

int
main(int argc, char **argv)
{
	struct tool_opts t;
	const char *cmd;
	int i = 2, rc = 2;

	memset(&t, 0, sizeof(t));
	if (argc < 2)
		usage("no command");
	cmd = argv[1];
	parse_opts(argc, argv, &i, &t);
	t.fo.resolve = &t.resolve;
	if (fetch_global_init() == -1)
		usage("libcurl initialisation failed");
	if (strcmp(cmd, "fetch") == 0 && argc - i == 1)
		rc = cmd_fetch(argv[i], &t);
	else if (strcmp(cmd, "many") == 0 && argc - i >= 1)
		rc = cmd_many(argc - i, argv + i, &t);
	else if (strcmp(cmd, "alternate") == 0 && argc - i == 2)
		rc = cmd_alternate(argv[i], argv[i + 1], &t);
	else if (strcmp(cmd, "threads") == 0 && argc - i >= 2)
		rc = cmd_threads(argv[i], argc - i - 1, argv + i + 1, &t);
	else if (strcmp(cmd, "verify") == 0 && argc - i == 3)
		rc = cmd_verify(argv[i], argv[i + 1], argv[i + 2], &t);
	else if (strcmp(cmd, "publish") == 0 && argc - i == 1)
		rc = cmd_publish(argv[i]);
	else if (strcmp(cmd, "read") == 0 && argc - i == 1)
		rc = cmd_read(argv[i]);
	else if (strcmp(cmd, "listen") == 0 && argc - i == 1)
		rc = cmd_listen(argv[i]);
	else if (strcmp(cmd, "cut") == 0 && argc - i == 4)
		rc = cmd_cut(argv[i], argv[i + 1], argv[i + 2], argv[i + 3]);
	else if (strcmp(cmd, "run-command") == 0 && argc - i >= 1)
		rc = cmd_run(argc - i, argv + i, &t);
	else
		usage("bad command or arguments");
	strlist_free(&t.resolve);
	fetch_global_cleanup();
	return rc;
}
