/*
 * conf.h - the configuration file (mta-sts-sync.conf(5)): named.conf-like
 * syntax, include, options defaults, domain blocks, BIND key statements,
 * and key files in BIND, Knot YAML or one-line [alg:]name:secret format.
 *
 * conf_load() returns a struct conf that the caller frees with
 * conf_free(). Every domain carries its effective settings: the options
 * defaults are already applied, so callers read domain_conf only.
 */
#ifndef MTA_STS_SYNC_CONF_H
#define MTA_STS_SYNC_CONF_H

#include <stddef.h>
#include <sys/stat.h>

#include "lex.h"
#include "policy.h"
#include "tsig.h"
#include "util.h"

enum mx_check {
	MX_CHECK_ENFORCE =
	    0,         /* refuse to publish enforce if an MX is not covered */
	MX_CHECK_WARN, /* publish with a warning */
	MX_CHECK_OFF,
};

#define CONF_DEFAULT_TTL 3600u
#define CONF_DEFAULT_TIMEOUT 30u        /* seconds, network operations */
#define CONF_DEFAULT_VERIFY_TIMEOUT 60u /* seconds */
#define CONF_DEFAULT_PORT 53u

#define CONF_MAX_SIZE (1024u * 1024u) /* bytes, each configuration file */
#define CONF_INCLUDE_DEPTH 8u         /* include nesting limit */
#define KEYFILE_MAX_SIZE 65536u       /* bytes, a key file */
#define KEYFILE_MAX_KEYS 64u          /* keys in one key file */

struct domain_conf {
	char *name;       /* lower case, no trailing dot */
	const char *file; /* config file and line of the domain statement */
	unsigned line;

	/* Exactly one of upstream and local_policy is set. */
	char *upstream;              /* https URL */
	struct policy *local_policy; /* from policy { }; owned */

	/* Overrides applied on top of the upstream policy. */
	int has_mode;
	enum policy_mode mode;
	int has_max_age;
	unsigned long max_age;
	struct strlist extra_mx;

	char *policy_file;          /* %d already expanded */
	struct strlist publish_cmd; /* argv; %d and %f still unexpanded */
	int verify;                 /* default yes */
	/* default https://mta-sts.D/.well-known/mta-sts.txt */
	char *verify_url;
	unsigned verify_timeout; /* seconds */

	int has_tls_rpt;        /* tls-rpt given: manage _smtp._tls */
	struct strlist tls_rpt; /* rua URIs, in order */

	const struct tsig_key *key; /* points into struct conf keys */
	char *server;               /* address or host name; NULL: SOA MNAME */
	unsigned port;
	char *zone; /* NULL: found by SOA query */
	unsigned ttl;
	enum mx_check mx_check;
	char *ca_file;          /* NULL: system trust store */
	struct strlist resolve; /* "HOST:PORT:ADDR" entries */
	unsigned timeout;       /* seconds */
	char *resolver;         /* DNS resolver address for discovery;
	                           NULL: /etc/resolv.conf */
	unsigned resolver_port;
};

struct conf {
	char *path;
	struct tsig_key *keys; /* every key defined or loaded */
	size_t nkeys;
	struct domain_conf *domains; /* in file order */
	size_t ndomains;
	/* every file read; domain_conf.file points here */
	struct strlist files;
};

/*
 * Read and check the configuration at path. Returns NULL with
 * "file:line: reason" in d on any error: syntax, unknown or duplicated
 * setting, missing required value, unusable key file.
 */
struct conf *conf_load(const char *path, struct diag *d);
/* Parse a configuration held in memory (used by conf_load and the fuzz
 * target); includes and key files are read relative to the directory of
 * name (the working directory if name has no '/'). */
struct conf *conf_parse(const char *name, const char *buf, size_t len,
                        struct diag *d);
/* conf_parse with flags: CONF_NO_FILES refuses include and key-file
 * (nothing but buf is read: for the fuzz target). */
#define CONF_NO_FILES 0x1
struct conf *conf_parse_flags(const char *name, const char *buf, size_t len,
                              int flags, struct diag *d);
void conf_free(struct conf *conf);

/* The domain named name, or NULL. */
struct domain_conf *conf_find_domain(struct conf *conf, const char *name);

/*
 * Load a key from a key file in BIND (key "n" { ... };), Knot YAML (key:
 * list) or one-line [alg:]name:secret format, detected from its content.
 * With name NULL the file must hold exactly one key. The file is refused
 * if others may read or write it (checked with fstat on the open file).
 * Returns 0, or -1 with "path: reason" in d.
 */
int keyfile_load(const char *path, const char *name, struct tsig_key *key,
                 struct diag *d);
/* The same from memory (no permission check): for tests and fuzzing. */
int keyfile_parse(const char *path, const char *buf, size_t len,
                  const char *name, struct tsig_key *key, struct diag *d);

/*
 * Shared by conf.c and keyfile.c. A key as written, before it is checked
 * by tsig_key_init(); keyspec_wipe() clears the secret.
 */
#define KEYSPEC_SECRET_MAX 1024
struct keyspec {
	char name[TSIG_NAME_MAX + 2];
	char alg[64];
	char secret[KEYSPEC_SECRET_MAX + 1];
	unsigned line;
};

/*
 * Parse a BIND key statement after its "key" word: "name" { algorithm A;
 * secret "S"; }; Returns 0, or -1 with "file:line: reason" in d.
 */
int keyspec_parse_bind(struct lex *lx, struct keyspec *ks, struct diag *d);
/* Check ks with tsig_key_init(); errors and warnings get "file:line: ". */
int keyspec_to_key(const char *file, const struct keyspec *ks,
                   struct tsig_key *key, struct diag *d);
void keyspec_wipe(struct keyspec *ks);

/*
 * Read a whole regular file of at most max bytes through one descriptor;
 * *st gets its fstat. Returns the NUL-terminated contents (free with
 * conf_wipe_free) and *len, or NULL with the reason (no file name) in d.
 */
char *conf_read_file(const char *path, size_t max, size_t *len, struct stat *st,
                     struct diag *d);
/* Overwrite len bytes at p, then free p (secrets). */
void conf_wipe_free(char *p, size_t len);
/* Refuse a file holding a secret that group or others may read or
 * write: "path: key file is readable by others (mode 0644); chmod 600
 * path". Returns 0 or -1. */
int keyfile_check_mode(const char *path, mode_t mode, struct diag *d);

#endif
