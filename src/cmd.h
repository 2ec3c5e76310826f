/*
 * cmd.h - the subcommands and the options main.c parsed for them. Each
 * *_run() returns the process exit status (DESIGN: 0 ok, 1 some domain or
 * file failed, 2 usage or configuration error).
 */
#ifndef MTA_STS_SYNC_CMD_H
#define MTA_STS_SYNC_CMD_H

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2

enum server_flavour {
	FLAVOUR_ALL = 0,
	FLAVOUR_BIND,
	FLAVOUR_KNOT,
	FLAVOUR_PDNS,
};

struct cmd_opts {
	const char *conf_path; /* -c; default CONF_DEFAULT_PATH */
	int conf_given;        /* -c was given */
	int dry_run;           /* -n */
	unsigned jobs;         /* sync -j N: domains at once; 0: default */
	int json;              /* --json */
	const char *server;    /* check --server ADDR[#PORT] */
	const char *ca_file;   /* check --ca-file */
	int canonical;         /* lint --canonical */
	enum server_flavour flavour; /* server-config --bind/--knot/--pdns */
	char **args;                 /* remaining operands: domains or files */
	int nargs;
};

int lint_run(const struct cmd_opts *o);
int sync_run(const struct cmd_opts *o);
int check_run(const struct cmd_opts *o);
int serverconf_run(const struct cmd_opts *o);

#endif
