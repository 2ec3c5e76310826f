/*
 * lint.c - "mta-sts-sync lint [--canonical] FILE...": validate policy files
 * ("-" is standard input) with the parser that checks upstream policies.
 *
 * Output, on standard output, per file:
 *   FILE: ok id=<id> mode=<m> mx=<n> max_age=<n>
 *   FILE: error: <reason> (RFC 8461 §x.y)
 * each followed by its "FILE: warning: ..." lines. The id is the one the
 * canonical bytes get (the bytes mta-sts-sync would serve). With
 * --canonical the canonical bytes of the one file are written instead,
 * and the error and warning lines go to standard error.
 * Exit status: 0 all files valid, 1 one of them is not (or cannot be read).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "policy.h"
#include "util.h"

/*
 * Read at most POLICY_MAX_SIZE bytes of path ("-": standard input) into
 * b (whose max is POLICY_MAX_SIZE + 1, so one byte more shows the file is
 * too large without reading the rest). Returns 0, or -1 with the reason
 * in d.
 */
static int
lint_read(const char *path, struct buf *b, struct diag *d)
{
	char chunk[8192];
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rbe");
	size_t n, want;
	int err = 0;

	if (fp == NULL) {
		diag_error(d, "cannot read: %s", strerror(errno));
		return -1;
	}
	do {
		want = b->max - b->len < sizeof(chunk) ? b->max - b->len
		                                       : sizeof(chunk);
		n = fread(chunk, 1, want, fp);
		buf_append(b, chunk, n);
	} while (n > 0 && b->len < b->max);
	if (ferror(fp))
		err = errno != 0 ? errno : EIO;
	if (fp != stdin)
		fclose(fp);
	if (err != 0) {
		diag_error(d, "cannot read: %s", strerror(err));
		return -1;
	}
	if (b->len > POLICY_MAX_SIZE) {
		diag_error(d, "policy larger than %u bytes", POLICY_MAX_SIZE);
		return -1;
	}
	return 0;
}

/* Print msg for file on fp, with "(RFC NNNN section x.y)" written
 * "§x.y": standard output through log_stdout_puts(), so that a write
 * that fails (a full disk) is said with its cause. */
static void
lint_print(FILE *fp, const char *file, const char *kind, const char *msg)
{
	const char *rfc = strstr(msg, "(RFC ");
	const char *sec = rfc != NULL ? strstr(rfc, " section ") : NULL;
	struct buf b;

	buf_init(&b, strlen(file) + strlen(kind) + strlen(msg) + 16);
	if (sec == NULL || sec - rfc != 9)
		buf_printf(&b, "%s: %s: %s\n", file, kind, msg);
	else
		buf_printf(&b, "%s: %s: %.*s §%s\n", file, kind,
		           (int)(sec - msg), msg, sec + strlen(" section "));
	if (fp == stdout)
		log_stdout_puts(b.data);
	else
		fputs(b.data, fp);
	buf_free(&b);
}

/* Print the warnings of d for file on fp. */
static void
lint_warnings(FILE *fp, const char *file, const struct diag *d)
{
	size_t i;

	for (i = 0; i < d->nwarn; i++)
		lint_print(fp, file, "warning", d->warn[i]);
}

/*
 * Parse the policy of path and make its canonical bytes (in canon).
 * Returns the policy, or NULL with the reason in d.
 */
static struct policy *
lint_load(const char *path, struct buf *canon, struct diag *d)
{
	struct buf in;
	struct policy *p = NULL;

	buf_init(&in, POLICY_MAX_SIZE + 1);
	if (lint_read(path, &in, d) == 0)
		p = policy_parse(in.data != NULL ? in.data : "", in.len, d);
	buf_free(&in);
	if (p != NULL && policy_canonical(p, canon) == -1) {
		diag_error(d, "canonical policy larger than %u bytes",
		           POLICY_MAX_SIZE);
		policy_free(p);
		p = NULL;
	}
	return p;
}

/* Lint one file: its "ok" or "error" line and its warnings. 0 or -1. */
static int
lint_file(const char *path)
{
	struct diag d;
	struct buf canon;
	struct policy *p;
	char id[POLICY_ID_MAX + 1];

	diag_init(&d);
	buf_init(&canon, POLICY_MAX_SIZE);
	p = lint_load(path, &canon, &d);
	if (p == NULL) {
		lint_print(stdout, path, "error", d.error);
	} else if (log_get_level() != LOG_LEVEL_QUIET) {
		policy_id(canon.data, canon.len, id);
		log_stdout_printf("%s: ok id=%s mode=%s mx=%zu max_age=%lu\n",
		                  path, id, policy_mode_name(p->mode), p->nmx,
		                  p->max_age);
	}
	if (log_get_level() != LOG_LEVEL_QUIET)
		lint_warnings(stdout, path, &d);
	log_stdout_flush();
	buf_free(&canon);
	policy_free(p);
	return p != NULL ? 0 : -1;
}

/* --canonical: write the canonical bytes of path to standard output. */
static int
lint_canonical(const char *path)
{
	struct diag d;
	struct buf canon;
	struct policy *p;
	int rc = -1;

	diag_init(&d);
	buf_init(&canon, POLICY_MAX_SIZE);
	p = lint_load(path, &canon, &d);
	if (p == NULL)
		lint_print(stderr, path, "error", d.error);
	else if (log_stdout_write(canon.data, canon.len) == 0 &&
	         log_stdout_flush() == 0)
		rc = 0;
	if (log_get_level() != LOG_LEVEL_QUIET)
		lint_warnings(stderr, path, &d);
	buf_free(&canon);
	policy_free(p);
	return rc;
}

int
lint_run(const struct cmd_opts *o)
{
	int i, failed = 0;

	if (o->nargs < 1 || (o->canonical && o->nargs != 1)) {
		fputs("mta-sts-sync: lint [--canonical] FILE...\n", stderr);
		return EXIT_USAGE;
	}
	if (o->canonical)
		return lint_canonical(o->args[0]) == 0 ? EXIT_OK : EXIT_FAILED;
	for (i = 0; i < o->nargs; i++)
		if (lint_file(o->args[i]) == -1)
			failed = 1;
	return failed ? EXIT_FAILED : EXIT_OK;
}
