/*
 * main.c - command line parsing and dispatch only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "util.h"

enum {
	OPT_JSON = 256,
	OPT_SYSLOG,
	OPT_SERVER,
	OPT_CA_FILE,
	OPT_CANONICAL,
	OPT_BIND,
	OPT_KNOT,
	OPT_PDNS,
};

static const char usage_text[] =
    "usage: mta-sts-sync [sync] [-c FILE] [-n] [-j N] [-v|-q] [--json] "
    "[--syslog] [DOMAIN...]\n"
    "       mta-sts-sync check [-c FILE] [-q] [--server ADDR[#PORT]] "
    "[--ca-file FILE] [--json] DOMAIN...\n"
    "       mta-sts-sync lint [-q] [--canonical] FILE...   (- for standard "
    "input)\n"
    "       mta-sts-sync server-config [-c FILE] [--bind|--knot|--pdns]\n"
    "       mta-sts-sync -h | --help | -V | --version\n";

static const char help_text[] =
    "\n"
    "Keep a domain's MTA-STS policy (RFC 8461) and TLS-RPT record (RFC 8460)\n"
    "current on your own authoritative DNS.\n"
    "\n"
    "Commands:\n"
    "  sync           fetch, validate, publish and verify each configured\n"
    "                 domain's policy, then update its DNS records with\n"
    "                 TSIG-signed DNS UPDATEs, one per zone unless its\n"
    "                 changes do not fit in one message (the default)\n"
    "  check          audit domains as a sending MTA sees them\n"
    "  lint           validate policy files\n"
    "  server-config  print least-privilege BIND / Knot / PowerDNS update\n"
    "                 grants\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   configuration file (default " CONF_DEFAULT_PATH ")\n"
    "  -n, --dry-run       sync: show the file diff and the UPDATE, change "
    "nothing\n"
    "                      (its signed reads test the key and the clocks; "
    "not\n"
    "                      tested: the UPDATE grant, writing, serving)\n"
    "  -j, --jobs N        sync: work on N domains at once (default 8)\n"
    "  -v, --verbose       sync: explain every step\n"
    "  -q, --quiet         print errors only (check: FAIL lines; lint: "
    "error lines;\n"
    "                      sync: and the warning of an MX host that a "
    "policy in\n"
    "                      mode enforce leaves uncovered)\n"
    "      --json          sync, check: one JSON document on standard output\n"
    "      --syslog        sync: log to syslog instead of standard error\n"
    "      --server A[#P]  check: ask this DNS server instead of the system "
    "resolver\n"
    "                      (an authoritative server of the zone: its faults "
    "count)\n"
    "      --ca-file FILE  check: trust this CA bundle instead of the system "
    "store\n"
    "      --canonical     lint: print the canonical policy of one FILE\n"
    "      --bind, --knot, --pdns\n"
    "                      server-config: only this server's syntax\n"
    "  -h, --help          this help\n"
    "  -V, --version       the version\n"
    "\n"
    "Exit status: 0 all in sync / valid / passed; 1 a domain or file failed,\n"
    "output was lost, or another run held the lock (nothing done); 2 usage\n"
    "or configuration error. See mta-sts-sync(8).\n";

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"dry-run", no_argument, NULL, 'n'},
    {"jobs", required_argument, NULL, 'j'},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"json", no_argument, NULL, OPT_JSON},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"server", required_argument, NULL, OPT_SERVER},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"canonical", no_argument, NULL, OPT_CANONICAL},
    {"bind", no_argument, NULL, OPT_BIND},
    {"knot", no_argument, NULL, OPT_KNOT},
    {"pdns", no_argument, NULL, OPT_PDNS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

enum command { CMD_SYNC, CMD_CHECK, CMD_LINT, CMD_SERVER_CONFIG };

static void __attribute__((noreturn)) usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "mta-sts-sync: %s\n", msg);
	fputs(usage_text, stderr);
	exit(EXIT_USAGE);
}

static enum command
command_from_name(const char *name, int *consumed)
{
	static const struct {
		const char *name;
		enum command cmd;
	} cmds[] = {
	    {"sync", CMD_SYNC},
	    {"check", CMD_CHECK},
	    {"lint", CMD_LINT},
	    {"server-config", CMD_SERVER_CONFIG},
	};
	size_t i;

	*consumed = 0;
	if (name == NULL || name[0] == '-')
		return CMD_SYNC;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(name, cmds[i].name) == 0) {
			*consumed = 1;
			return cmds[i].cmd;
		}
	}
	return CMD_SYNC; /* a domain name for the default command */
}

/* Map long-only options to letters for option_allowed(). */
static int
option_letter(int opt)
{
	switch (opt) {
	case OPT_JSON:
		return 'J';
	case OPT_SYSLOG:
		return 'L';
	case OPT_SERVER:
		return 'S';
	case OPT_CA_FILE:
		return 'A';
	case OPT_CANONICAL:
		return 'K';
	case OPT_BIND:
		return 'B';
	case OPT_KNOT:
		return 'N';
	case OPT_PDNS:
		return 'P';
	default:
		return opt;
	}
}

static const char *const command_names[] = {
    [CMD_SYNC] = "sync",
    [CMD_CHECK] = "check",
    [CMD_LINT] = "lint",
    [CMD_SERVER_CONFIG] = "server-config",
};

/* Reject an option that the chosen command does not take, naming it. */
static void
option_allowed(enum command cmd, int opt)
{
	const char *allowed, *name = NULL;
	char msg[96];
	size_t i;

	switch (cmd) {
	case CMD_SYNC:
		allowed = "cjnvqJL";
		break;
	case CMD_CHECK:
		allowed = "cqJSA";
		break;
	case CMD_LINT:
		allowed = "qK";
		break;
	case CMD_SERVER_CONFIG:
		allowed = "cBNP";
		break;
	default:
		allowed = "";
		break;
	}
	if (strchr(allowed, option_letter(opt)) != NULL)
		return;
	for (i = 0; long_opts[i].name != NULL && name == NULL; i++)
		if (long_opts[i].val == opt)
			name = long_opts[i].name;
	if (opt < 128 && name != NULL)
		snprintf(msg, sizeof(msg), "-%c (--%s) is not an option of %s",
		         opt, name, command_names[cmd]);
	else
		snprintf(msg, sizeof(msg), "--%s is not an option of %s",
		         name != NULL ? name : "?", command_names[cmd]);
	usage(msg);
}

/* The value of -j: how many domains sync works on at once. */
static unsigned
parse_jobs(const char *arg)
{
	unsigned long long n;

	if (parse_uint(arg, 256, &n) == -1 || n == 0)
		usage("-j takes a number from 1 to 256");
	return (unsigned)n;
}

/* Two options that exclude each other (-v and -q, or two of --bind,
 * --knot and --pdns) are a usage error, not the last one winning. */
static void
option_exclusive(int *seen, int opt, const char *which)
{
	char msg[96];

	if (*seen != 0 && *seen != opt) {
		snprintf(msg, sizeof(msg), "%s exclude each other", which);
		usage(msg);
	}
	*seen = opt;
}

static void
parse_option(int opt, struct cmd_opts *o, int *use_syslog)
{
	static int level_seen, flavour_seen;

	if (opt == 'v' || opt == 'q')
		option_exclusive(&level_seen, opt, "-v and -q");
	if (opt == OPT_BIND || opt == OPT_KNOT || opt == OPT_PDNS)
		option_exclusive(&flavour_seen, opt,
		                 "--bind, --knot and --pdns");
	switch (opt) {
	case 'c':
		o->conf_path = optarg;
		o->conf_given = 1;
		break;
	case 'n':
		o->dry_run = 1;
		break;
	case 'j':
		o->jobs = parse_jobs(optarg);
		break;
	case 'v':
		log_set_level(LOG_LEVEL_VERBOSE);
		break;
	case 'q':
		log_set_level(LOG_LEVEL_QUIET);
		break;
	case OPT_JSON:
		o->json = 1;
		break;
	case OPT_SYSLOG:
		*use_syslog = 1;
		break;
	case OPT_SERVER:
		o->server = optarg;
		break;
	case OPT_CA_FILE:
		o->ca_file = optarg;
		break;
	case OPT_CANONICAL:
		o->canonical = 1;
		break;
	case OPT_BIND:
		o->flavour = FLAVOUR_BIND;
		break;
	case OPT_KNOT:
		o->flavour = FLAVOUR_KNOT;
		break;
	case OPT_PDNS:
		o->flavour = FLAVOUR_PDNS;
		break;
	}
}

/* A command named after the options ("-c FILE check ...") would be taken
 * for a domain of sync: say where it goes instead. */
static void
command_first(int consumed, const struct cmd_opts *o)
{
	char msg[128];
	int is_cmd = 0;

	if (consumed || o->nargs == 0)
		return;
	command_from_name(o->args[0], &is_cmd);
	if (!is_cmd)
		return;
	snprintf(msg, sizeof(msg),
	         "the command comes first: mta-sts-sync %s [options] ...",
	         o->args[0]);
	usage(msg);
}

/* A first operand of the default command that has no dot cannot be a
 * domain worth an MTA-STS policy: it is a mistyped command ("chekc
 * example.com"), which would be reported as a domain not configured. A
 * domain without a dot may still follow an explicit sync. */
static void
command_unknown(int consumed, const struct cmd_opts *o)
{
	char msg[160], word[64];

	if (consumed || o->nargs <= 0 || strchr(o->args[0], '.') != NULL)
		return;
	snprintf(
	    msg, sizeof(msg),
	    "unknown command '%s' (sync, check, lint, server-config)",
	    str_printable(o->args[0], strlen(o->args[0]), word, sizeof(word)));
	usage(msg);
}

static int
dispatch(enum command cmd, const struct cmd_opts *o)
{
	switch (cmd) {
	case CMD_CHECK:
		if (o->nargs == 0)
			usage("check: name at least one domain");
		return check_run(o);
	case CMD_LINT:
		if (o->nargs == 0)
			usage("lint: name at least one file (- for standard "
			      "input)");
		if (o->canonical && o->nargs != 1)
			usage("lint --canonical takes exactly one file");
		return lint_run(o);
	case CMD_SERVER_CONFIG:
		if (o->nargs != 0)
			usage("server-config takes no operands");
		return serverconf_run(o);
	case CMD_SYNC:
	default:
		return sync_run(o);
	}
}

/*
 * Open /dev/null onto each of descriptors 0 to 2 that is closed (a run
 * started with >&- or 2>&-): else the next file or socket opened would
 * take its number, and what is printed to standard output or error
 * would go into a DNS connection or a policy file's temporary. A
 * publish-command gets 0 to 2 of its own anyway.
 */
static void
std_descriptors_open(void)
{
	for (int fd = 0; fd < 3; fd++) {
		int null;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* the lowest free number: fd, as those below are open */
		null = open("/dev/null", O_RDWR);
		if (null == -1)
			die(EXIT_FAILED,
			    "descriptor %d is closed, and /dev/null cannot be "
			    "opened onto it: %s",
			    fd, strerror(errno));
		if (null != fd) {
			dup2(null, fd);
			close(null);
		}
	}
}

int
main(int argc, char **argv)
{
	static char prog_name[] = PACKAGE_NAME;
	struct cmd_opts o;
	enum command cmd;
	int consumed, opt, rc, use_syslog = 0;

	std_descriptors_open();
	/* A reader that goes away (a pipe into head, a log collector that
	 * stopped) must not end a sync half-way by SIGPIPE, past the handler
	 * that stops its publish-commands: a write to it fails instead, the
	 * domains are still processed, and the exit status says the output
	 * was lost (log_output_end()). Nor may a DNS or HTTPS peer that
	 * closed its connection kill any command. The other commands die by
	 * SIGPIPE when standard output's reader has gone (log.c). The
	 * publish-commands get the default back (command.c). */
	signal(SIGPIPE, SIG_IGN);
	/* Started with SIGCHLD ignored (some daemons and cron do that), its
	 * children would be reaped by the kernel: no publish-command's end
	 * could be waited for, and each would fail at its timeout. */
	signal(SIGCHLD, SIG_DFL);
	memset(&o, 0, sizeof(o));
	o.conf_path = CONF_DEFAULT_PATH;
	cmd = command_from_name(argc > 1 ? argv[1] : NULL, &consumed);
	if (cmd != CMD_SYNC) {
		log_stdout_fatal();
		/* before anything is read: check and server-config read TSIG
		 * keys, and none of them takes a lock whose holder a later
		 * run must name (sync decides for itself: no_core(1)) */
		no_core(0);
	}
	argc -= consumed;
	argv += consumed;
	/* getopt names the program by argv[0]: the command word once one is
	 * consumed ("check: invalid option"), else the path it was run by;
	 * every other message says "mta-sts-sync:". */
	if (argc > 0)
		argv[0] = prog_name;
	while ((opt = getopt_long(argc, argv, "c:j:nvqhV", long_opts, NULL)) !=
	       -1) {
		if (opt == 'h' || opt == 'V') {
			log_stdout_fatal();
			if (opt == 'h') {
				log_stdout_puts(usage_text);
				log_stdout_puts(help_text);
			} else {
				log_stdout_puts(PACKAGE_NAME " " PACKAGE_VERSION
				                             "\n");
			}
			return log_output_end() == 0 ? EXIT_OK : EXIT_FAILED;
		}
		if (opt == '?')
			usage(NULL);
		option_allowed(cmd, opt);
		parse_option(opt, &o, &use_syslog);
	}
	if (use_syslog)
		log_use_syslog();
	o.args = argv + optind;
	o.nargs = argc - optind;
	command_first(consumed, &o);
	command_unknown(consumed, &o);
	rc = dispatch(cmd, &o);
	/* output lost: not "ok", whatever else happened */
	if (log_output_end() == -1 && rc == EXIT_OK)
		rc = EXIT_FAILED;
	return rc;
}
