/*
 * conf.h - the configuration file (mta-sts-sync.conf(5)): named.conf-like
 * syntax, include, options defaults, domain blocks, BIND key statements,
 * and key files in BIND, Knot YAML or one-line [alg:]name:secret format.
 *
 * conf_load() returns a struct conf that the caller frees with
 * conf_free(). conf_domain() gives a domain's effective settings, with
 * the options defaults already applied, so callers read domain_conf only.
 *
 * The trust of the files a configuration names, and their open, is
 * declared in conftrust.h (conftrust.c); keyfile.c holds the readers of
 * key files and their mode rule declared here.
 */
#ifndef MTA_STS_SYNC_CONF_H
#define MTA_STS_SYNC_CONF_H

#include <stddef.h>
#include <sys/stat.h>

#include "conftrust.h"
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
#define CONF_TIMEOUT_MAX 3600u /* seconds, timeout and verify-timeout */
#define CONF_DEFAULT_PORT 53u

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef EXAMPLESDIR
#define EXAMPLESDIR "/usr/share/doc/mta-sts-sync/examples"
#endif
/* The configuration read without -c (the directories are chosen at build
 * time), and the example that the error for its absence points to. */
#define CONF_DEFAULT_PATH SYSCONFDIR "/mta-sts-sync.conf"
#define CONF_EXAMPLE_PATH EXAMPLESDIR "/mta-sts-sync.conf.example"

#define CONF_MAX_SIZE (1024u * 1024u) /* bytes, each configuration file */
#define CONF_INCLUDE_DEPTH 8u         /* include nesting limit */
#define KEYFILE_MAX_SIZE 65536u       /* bytes, a key file */
#define KEYFILE_MAX_KEYS 64u          /* keys in one key file */

/*
 * The effective settings of one domain, as conf_domain() fills them in.
 * Everything a domain_conf points to belongs to its struct conf and is
 * read-only: a value written once in options (or the same value written
 * in many domains) is stored once and shared by every domain that uses
 * it, so readers neither change nor free a field.
 */
struct domain_conf {
	const char *name; /* lower case, no trailing dot */
	const char *file; /* config file and line of the domain statement */

	/* Exactly one of upstream and local_policy is set. */
	const char *upstream;              /* https URL */
	const struct policy *local_policy; /* from policy { } */

	/* policy-file as written (%d, %% not expanded: conf_policy_file()) */
	const char *policy_file_tmpl;
	/* verify-url as written (%d, %% not expanded: conf_verify_url());
	   NULL: the default */
	const char *verify_url_set;

	const struct tsig_key *key; /* points into struct conf keys */
	const char *server;         /* address or host name; NULL: SOA MNAME */
	const char *zone;           /* NULL: found by SOA query */
	const char *ca_file;        /* NULL: system trust store */
	const char *resolver;       /* DNS resolver address for discovery;
	                               NULL: /etc/resolv.conf */

	struct strlist extra_mx;    /* mx overrides */
	struct strlist publish_cmd; /* argv; %d and %f still unexpanded */
	struct strlist tls_rpt;     /* rua URIs, in order */
	struct strlist resolve;     /* "HOST:PORT:ADDR" entries */

	unsigned line;
	unsigned ttl;
	unsigned max_age;              /* if has_max_age, 0..31557600 */
	unsigned short verify_timeout; /* seconds, 1..3600 */
	unsigned short timeout;        /* seconds, 1..3600 */
	/* of server and resolver: CONF_DEFAULT_PORT unless set, never 0 */
	unsigned short port;
	unsigned short resolver_port;

	/* mode, max_age and extra_mx override the upstream policy */
	unsigned has_mode : 1;
	unsigned has_max_age : 1;
	unsigned has_tls_rpt : 1;     /* tls-rpt given: manage _smtp._tls */
	unsigned has_ttl : 1;         /* ttl given: records must have it */
	unsigned tls_rpt_options : 1; /* that tls-rpt is the options' */
	unsigned verify : 1;          /* default yes */
	/* another domain has the same policy file (and so the same policy:
	   conf.c refuses the rest), whose form it must not choose alone */
	unsigned policy_file_shared : 1;
	enum policy_mode mode : 2; /* if has_mode */
	enum mx_check mx_check : 2;
};

/* Where the domains' strings, lists and local policies live (conf.c). */
struct conf_mem;

/*
 * A domain as the configuration keeps it (conf.c): what is its own (its
 * name, where it is written, a tls-rpt or verify-url given in it) and the
 * index of its other settings, which every domain setting the same things
 * shares. So tens of thousands of domains that differ only by those cost
 * about 60 bytes each beyond their strings (conf-test measures it). Read
 * it with conf_domain().
 */
struct domain_entry;

/*
 * Where the settings of a shared domain_conf that are checked when a run
 * starts (sync_check_files()) were written, for its messages: the first
 * domain block, or options, that gave them. 0 lines: not set.
 */
struct conf_where {
	const char *cmd_file; /* publish-command */
	const char *ca_file;  /* ca-file */
	unsigned cmd_line, ca_line;
};

struct conf {
	char *path;
	struct tsig_key *keys; /* every key defined or loaded */
	size_t nkeys;
	struct domain_entry *domains; /* in file order: conf_domain() */
	size_t ndomains;
	struct domain_conf *shared; /* the settings domains share (conf.c) */
	struct conf_where *where;   /* nshared: where shared[i]'s are set */
	size_t nshared;
	/* every file read; domain_conf.file points here */
	struct strlist files;
	struct conf_mem *mem; /* owns what the domains point to */
	/* the descriptor conf_load() read the file from, kept open
	 * (close-on-exec) so that a run locks the file it read, not
	 * whatever the path names later; -1 when parsed from memory */
	int fd;
};

/*
 * Read and check the configuration at path. Returns NULL with
 * "file:line: reason" in d on any error: syntax, unknown or duplicated
 * setting, missing required value, unusable key file.
 */
struct conf *conf_load(const char *path, struct diag *d);
/* conf_load with flags (CONF_NO_SECRETS). */
struct conf *conf_load_flags(const char *path, int flags, struct diag *d);
/* Parse a configuration held in memory (used by conf_load and the fuzz
 * target); includes and key files are read relative to the directory of
 * name (the working directory if name has no '/'). */
struct conf *conf_parse(const char *name, const char *buf, size_t len,
                        struct diag *d);
/* conf_parse with flags: CONF_NO_FILES refuses include and key-file
 * (nothing but buf is read: for the fuzz target). CONF_NO_SECRETS loads
 * no key: key-file is not read, an include this user may not read (a
 * key kept from it) is left out, and every domain's key is NULL (for
 * check, which signs nothing). */
#define CONF_NO_FILES 0x1
#define CONF_NO_SECRETS 0x2
struct conf *conf_parse_flags(const char *name, const char *buf, size_t len,
                              int flags, struct diag *d);
void conf_free(struct conf *conf);

/* The effective settings of domain i (i < conf->ndomains) into *dc. */
void conf_domain(const struct conf *conf, size_t i, struct domain_conf *dc);
/* The name of domain i: lower case, no trailing dot. */
const char *conf_domain_name(const struct conf *conf, size_t i);
/* The index of the domain named name (any case, a trailing dot allowed)
 * into *i. Returns 0, or -1 if no domain has that name. */
int conf_find_domain(const struct conf *conf, const char *name, size_t *i);

/*
 * The policy file of dc: its policy-file with %d (the domain) and %%
 * expanded, as a new string. Kept unexpanded in the configuration, so
 * that 10000 domains do not hold 10000 paths for the whole run.
 */
char *conf_policy_file(const struct domain_conf *dc);

/* The verify URL of dc: its verify-url with %d (the domain) and %%
 * expanded, or by default https://mta-sts.<domain>/.well-known/mta-sts.txt,
 * as a new string. */
char *conf_verify_url(const struct domain_conf *dc);

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
 * Read the whole regular file open as fd (conf_open_trusted()), of at
 * most max bytes, leaving fd open; *st gets its fstat. Returns the
 * NUL-terminated contents (free with conf_wipe_free) and *len, or NULL
 * with the reason (no file name) in d. There is no reader by name: a
 * file a run trusts is opened through the walk that judges its path.
 */
char *conf_read_fd(int fd, size_t max, size_t *len, struct stat *st,
                   struct diag *d);
/* conf_open_trusted() of path (what it is), then conf_read_fd(): its
 * contents, its status in *st and its descriptor, open, in *fdp; or NULL
 * with the reason in d, *unread set when it cannot be read (the reason
 * alone, without the path) and unset when it is not trusted (the whole
 * message). */
char *conf_read_trusted(const char *path, enum conf_trust what, size_t max,
                        size_t *len, struct stat *st, int *fdp, int *unread,
                        struct diag *d);
/* Overwrite len bytes at p, then free p (secrets). */
void conf_wipe_free(char *p, size_t len);
/* Refuse a file holding a secret (path, open as fd, its status st:
 * its ACL is read from fd, or from path when fd is -1) that group or
 * others may read, write or execute: "path: key file is readable by
 * others (mode 0644); chmod 600 path", naming the entries of its ACL that
 * give its group bits (keyfile_access_words()) and removing them
 * (keyfile_fix_words()), unless that access is
 * only that of ACL entries for the running user or root
 * (keyfile_acl_readers_own()); or one whose mode lets no one else at it
 * but whom keyfile_acl_other_words() finds, which the mode does not
 * bound. Returns 0 or -1. */
int keyfile_check_mode(const char *path, int fd, const struct stat *st,
                       struct diag *d);
/*
 * For a file holding a secret (path, open as fd; -1: read by its name)
 * of mode mode and group gid: who may read or write it whom the mode does
 * not bound, in words to follow "path: key file ": "has an NFSv4 ACL
 * whose entry N (SPEC) lets user U read or write it; nfs4_setfacl -x
 * ...", "has an NFSv4 ACL that cannot be read (why)...", "is on an SMB
 * (CIFS) mount, whose server enforces permissions of its own...", or,
 * when its ACL or its mount cannot be looked at for another reason, "is
 * not trusted, as who may read it cannot be told: ... (why)..." into
 * buf (size bytes); "" for none (no such ACL or mount, or a POSIX ACL,
 * which the mode's group bits bound). For a mode without group or
 * others bits (keyfile_mode_words() NULL) only. Returns buf.
 */
const char *keyfile_acl_other_words(int fd, const char *path, mode_t mode,
                                    gid_t gid, char *buf, size_t size);
/*
 * What keyfile_mode_words() says of mode, for the key file path (open as
 * fd; -1: read by its name) of group gid, with the users and groups its
 * ACL names, when the refused access of its group is theirs (the running
 * user and root passed over; the group bits are then the ACL's mask):
 * "readable by its group (mode 0640), as its ACL lets user NAME (uid N)
 * and group ... read it (...)", or, when its owning group may not
 * (g::---), "readable by the entries its ACL names (mode 0640), as its
 * ACL's mask (...) lets user NAME (uid N) read it (its group may not)"
 * (an NFSv4 one's: ", and its NFSv4 ACL's entry N (SPEC) lets ... read
 * it") into buf (size bytes); NULL when mode refuses nothing. Returns
 * buf.
 */
const char *keyfile_access_words(int fd, const char *path, mode_t mode,
                                 gid_t gid, char *buf, size_t size);
/*
 * What to run so that only its owner (and root, the running user's
 * entry) may read, write or execute path (open as fd; -1: read by its
 * name) of mode and group gid, into buf (size bytes): "chmod 600 PATH"
 * for a file without an ACL; on a POSIX ACL, "setfacl -x u:N,g:M PATH"
 * that removes the entries of other users and groups that may, with "-m
 * g::-,o::-" before PATH when its owning group or others may too (chmod
 * would only narrow the mask: the entries it hides, the running user's
 * own among them, keep their place, to be given back by a mask widened
 * later); for an NFSv4 ACL the "nfs4_setfacl -x 'SPEC' PATH" of its first
 * such entry, with "; chmod 600 PATH" when its group or others may too
 * (there chmod rewrites GROUP@ and EVERYONE@). With -m, the entries the
 * mask hides now go too, named after it ("(its mask hides user A (uid N)
 * now, ...)"). A command that would not fit whole in buf, or that
 * could not name every entry (more than ACL_NAMED_KEPT), is said in
 * words. Returns buf.
 */
const char *keyfile_fix_words(int fd, const char *path, mode_t mode, gid_t gid,
                              char *buf, size_t size);
/*
 * Bytes of a message a key file's refusal leaves for the "file:line: "
 * before it (its configuration's, and an include's), which conf.c
 * shortens to the files' last names when their paths do not fit: so that
 * the commands of the advice are not cut short into other paths.
 */
#define KEYFILE_PREFIX_ROOM 600
/*
 * head, then keyfile_fix_words() for path (fd, mode, gid), then tail,
 * into out (size bytes): the commands only when all of it fits, else
 * the words that say them (a command cut short would name another path).
 * Returns out.
 */
const char *keyfile_mode_advice(const char *head, int fd, const char *path,
                                mode_t mode, gid_t gid, const char *tail,
                                char *out, size_t size);
/*
 * Whether the access group and others have in mode (of path, open as fd,
 * -1: read by its name; of group gid) is only that of entries its ACL
 * gives the running user or root: no others bits, and its owning group
 * and every other named entry may do nothing through the mask. So a
 * credential systemd passes to a service of User= (root 0400, with
 * u:USER:r, mode 0440) is that user's alone. A file without an ACL, or
 * whose ACL cannot be read: 0.
 */
int keyfile_acl_readers_own(int fd, const char *path, mode_t mode, gid_t gid);
/* What keyfile_check_mode() refuses in mode, in words, its group's and
 * others' ("readable by its group and others (mode 0644)", "readable and
 * writable by its group and readable by others (mode 0664)") into buf;
 * NULL if nothing. */
const char *keyfile_mode_words(mode_t mode, char *buf, size_t size);
/* The advice to add for a key file (path, open as fd, -1: read by its
 * name; of mode and group gid) its group may read (a name server's,
 * root:bind 0640 on Debian), or "": also when the group bits are only
 * its ACL's mask, its owning group reading nothing. */
const char *keyfile_group_hint(int fd, const char *path, mode_t mode,
                               gid_t gid);

#endif
