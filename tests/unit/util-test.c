/*
 * util-test.c - the diagnostics: the first error wins, context added
 * after an error, bounded messages that say where they were cut; and the
 * log turns control bytes into '?'; a name at or below a zone.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"
#include "util.h"

static void
test_first_wins(void)
{
	struct diag d;

	diag_init(&d);
	ok(!diag_failed(&d), "a new diag holds no error");
	diag_error(NULL, "no diag: nothing happens");
	diag_error(&d, "first %d", 1);
	diag_error(&d, "second");
	is_str(d.error, "first 1", "the first error wins");
}

/* Does s end with tail? */
static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && strcmp(s + n - k, tail) == 0;
}

static void
test_append(void)
{
	struct diag d;
	char cause[DIAG_MSG_MAX - 200];

	diag_init(&d);
	diag_append(NULL, " (no diag: nothing happens)");
	diag_append(&d, " (context)");
	ok(!diag_failed(&d), "context without an error adds no error");

	diag_error(&d, "the cause");
	diag_append(&d, " (while %s)", "reading");
	is_str(d.error, "the cause (while reading)", "context goes after it");

	/* a long cause and a longer context: the cause stays whole */
	memset(cause, 'c', sizeof(cause) - 1);
	cause[sizeof(cause) - 1] = '\0';
	diag_init(&d);
	diag_error(&d, "%s", cause);
	diag_append(&d, " (%0300d)", 0);
	ok(strncmp(d.error, cause, strlen(cause)) == 0,
	   "a cut context leaves the cause whole");
	ok(strlen(d.error) > DIAG_MSG_MAX - 10 &&
	       strlen(d.error) < DIAG_MSG_MAX,
	   "the message fills its bound");
	ok(ends_with(d.error, TEXT_CUT_MARK), "a cut context ends marked");
}

/* A message longer than its bound is cut at the end of a word, never
 * inside a UTF-8 sequence, and says so; one that fits is left alone. */
static void
test_cut(void)
{
	struct diag d;
	char words[3 * DIAG_MSG_MAX], *p = words;
	size_t n;

	/* "word0001 word0002 ...": the cut comes after a whole word */
	for (int i = 1; p + 10 < words + sizeof(words); i++)
		p += snprintf(p, 10, "word%04d ", i);
	diag_init(&d);
	diag_error(&d, "%s", words);
	n = strlen(d.error);
	ok(n < DIAG_MSG_MAX && n > DIAG_MSG_MAX - 20,
	   "a long error fills its bound");
	ok(ends_with(d.error, TEXT_CUT_MARK), "a long error ends marked");
	ok(n > 20 && strncmp(d.error + n - strlen(TEXT_CUT_MARK) - 9, " word",
	                     5) == 0,
	   "a long error is cut after a whole word");
	diag_warn(&d, "%s", words);
	ok(ends_with(d.warn[0], TEXT_CUT_MARK), "a long warning ends marked");

	/* no space near the bound: cut before a two-byte character */
	memset(words, 'x', sizeof(words));
	for (size_t i = DIAG_MSG_MAX - 60; i + 1 < DIAG_MSG_MAX + 60; i += 2)
		memcpy(words + i, "\xC3\xA4", 2);
	words[sizeof(words) - 1] = '\0';
	diag_init(&d);
	diag_error(&d, "%s", words);
	n = strlen(d.error) - strlen(TEXT_CUT_MARK);
	ok(ends_with(d.error, TEXT_CUT_MARK) && n % 2 == 0 &&
	       (unsigned char)d.error[n - 1] == 0xA4,
	   "a cut leaves no character in half");

	diag_init(&d);
	diag_error(&d, "short %s", "enough");
	is_str(d.error, "short enough", "a message that fits is not marked");
}

/* A text another cut at a byte count ends before the character it cut
 * (text_utf8_trim(): libcurl's words), and a head of a text shown is
 * whole characters (text_utf8_head()). */
static void
test_utf8_cuts(void)
{
	static const struct {
		const char *in, *want;
	} trims[] = {
	    {"ab\xC3", "ab"},
	    {"ab\xC3\xA4", "ab\xC3\xA4"},
	    {"ab\xE2\x82", "ab"},
	    {"ab\xE2\x82\xAC", "ab\xE2\x82\xAC"},
	    {"ab\xF0\x9F\x98", "ab"},
	    {"ab\xF0\x9F\x98\x80", "ab\xF0\x9F\x98\x80"},
	    {"\xA4\xA4", "\xA4\xA4"},
	    {"", ""},
	};
	char s[16];

	for (size_t i = 0; i < sizeof(trims) / sizeof(trims[0]); i++) {
		str_copy(s, sizeof(s), trims[i].in);
		text_utf8_trim(s);
		ok(strcmp(s, trims[i].want) == 0,
		   "utf8 trim %zu: %zu bytes left", i, strlen(s));
	}
	ok(text_utf8_head("a\xC3\xA4\xC3\xA4", 2) == 1,
	   "utf8 head: not inside the first character");
	ok(text_utf8_head("a\xC3\xA4\xC3\xA4", 3) == 3, "utf8 head: after it");
	ok(text_utf8_head("ab", 48) == 2, "utf8 head: a shorter text whole");
}

/* str_printable_utf8() keeps well-formed UTF-8 and escapes the rest as
 * str_printable() does: control bytes, a C1 control, an overlong form, a
 * lone continuation byte; its cut keeps characters whole. */
static void
test_printable_utf8(void)
{
	char out[64];

	is_str(str_printable_utf8("\xC3\xA9\xE2\x82\xAC\x01\"", 7, out,
	                          sizeof(out)),
	       "\xC3\xA9\xE2\x82\xAC\\x01\\x22",
	       "printable utf8: kept, escaped");
	is_str(str_printable_utf8("\xC2\x9B\xC0\xAF\xA9", 5, out, sizeof(out)),
	       "\\xC2\\x9B\\xC0\\xAF\\xA9",
	       "printable utf8: C1, overlong, lone continuation escaped");
	is_str(str_printable("\xC3\xA9", 2, out, sizeof(out)), "\\xC3\\xA9",
	       "printable: UTF-8 escaped as before");
	is_str(str_printable_utf8("ab\xE2\x82\xAC", 5, out, 11), "ab...",
	       "printable utf8: a character that does not fit is cut whole");
}

/* Run fn with stderr going to a file, and read back into got (size
 * bytes) what it wrote. */
static void
stderr_of(void (*fn)(void), char *got, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char path[512];
	int fd, saved = dup(2);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/util-test.XXXXXX",
	         tmp != NULL ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd == -1 || saved == -1 || dup2(fd, 2) == -1) {
		perror("util-test: stderr to a file");
		exit(99);
	}
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fp = fdopen(fd, "r");
	rewind(fp);
	got[fread(got, 1, size - 1, fp)] = '\0';
	fclose(fp);
	unlink(path);
}

static void
log_control_bytes(void)
{
	log_error("example.com", "Content-Type %s",
	          "text/html\x1b[2J\r\nX\x7f");
	log_warning_deferred(NULL, "a\tb");
	log_error(NULL, "done");
}

/* What the log writes for a message that quotes control bytes (as a
 * server's header may hold), read back from a file standing for stderr. */
static void
test_log_clean(void)
{
	char got[256] = "";

	stderr_of(log_control_bytes, got, sizeof(got));
	is_str(got,
	       "example.com: error: Content-Type text/html?[2J  X?\n"
	       "mta-sts-sync: warning: a b\n"
	       "mta-sts-sync: error: done\n",
	       "the log turns control bytes into '?' (tabs and line ends into "
	       "spaces), and its lines stay lines");
}

static void
log_long_alert(void)
{
	struct buf m;

	buf_init(&m, 4096);
	for (int i = 0; i < 400; i++)
		buf_printf(&m, "mx%d.example.com, ", i);
	log_alert("example.com", m.data);
	buf_free(&m);
}

/* An alert over the log's bound (a list of many MX hosts) is cut with
 * the mark every message cut at its bound ends with. */
static void
test_log_alert_cut(void)
{
	char got[4096] = "";
	size_t n;

	stderr_of(log_long_alert, got, sizeof(got));
	n = strlen(got);
	ok(n > 1000 && n < 2100 && got[n - 1] == '\n',
	   "a long alert is one line, cut to the log's bound");
	got[n - 1] = '\0';
	ok(n > sizeof(TEXT_CUT_MARK) &&
	       strcmp(got + n - sizeof(TEXT_CUT_MARK), TEXT_CUT_MARK) == 0,
	   "a long alert ends with the cut mark (%s)", TEXT_CUT_MARK);
}

/* parse_uint keeps to max, whatever max is. */
static void
test_parse_uint(void)
{
	unsigned long long v = 99;

	ok(parse_uint("5", 5, &v) == 0 && v == 5, "parse_uint: max itself");
	ok(parse_uint("6", 5, &v) == -1, "parse_uint: one past a max below 9");
	ok(parse_uint("10", 9, &v) == -1, "parse_uint: two digits past 9");
	ok(parse_uint("18446744073709551615", ~0ull, &v) == 0 && v == ~0ull,
	   "parse_uint: the largest value");
	ok(parse_uint("18446744073709551616", ~0ull, &v) == -1,
	   "parse_uint: one past it");
	ok(parse_uint("", 5, &v) == -1 && parse_uint("1x", 5, &v) == -1,
	   "parse_uint: empty or not digits");
}

/* path_dir: the directory part of a path, "." and "/" included. */
static void
test_path_dir(void)
{
	static const char *const cases[][2] = {
	    {"/etc/mta-sts-sync.conf", "/etc"},
	    {"/mta-sts-sync.conf", "/"},
	    {"mta-sts-sync.conf", "."},
	    {"conf.d/a.conf", "conf.d"}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = path_dir(cases[i][0]);

		is_str(d, cases[i][1], "path_dir(\"%s\")", cases[i][0]);
		free(d);
	}
}

/* name_under: a name at or below a zone, by whole labels, case aside;
 * strictly, below it only. */
static void
test_name_under(void)
{
	ok(name_under("example.com", "example.com", 0) &&
	       !name_under("example.com", "example.com", 1),
	   "name_under: the zone itself, unless strictly");
	ok(name_under("_mta-sts.example.com", "example.com", 0) &&
	       name_under("_mta-sts.example.com", "example.com", 1),
	   "name_under: a name below");
	ok(!name_under("badexample.com", "example.com", 0) &&
	       !name_under("com", "example.com", 0),
	   "name_under: whole labels only, not a name above");
	ok(name_under("Mail.EXAMPLE.com", "example.COM", 1) &&
	       name_under("EXAMPLE.com", "example.com", 0),
	   "name_under: ASCII case does not count (RFC 4343)");
	ok(name_under("example.com", "", 0) &&
	       name_under("example.com", "", 1) && name_under("", "", 0) &&
	       !name_under("", "", 1),
	   "name_under: \"\" is the root, above every name");
}

/* What messages may quote: secrets are told from names and paths. */
static void
test_secret_shapes(void)
{
	static const char *const secrets[] = {
	    "fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=",
	    "OVOjUFOqFiE9dciCZqKjlgitooDNqCg44QeS9eh7",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "hmac-sha256:mtasts:fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=",
	    "x\"OVOjUFOqFiE9dciCZqKjlgitooDNqCg44QeS9eh7\"",
	    /* hex (openssl rand -hex), which BIND takes as base64 too */
	    "adc88547eb55010db79f0f2535fde868",
	    "ADC88547EB55010DB79F0F2535FDE868",
	    "q8v2m4x7k1z9w3r6t5y0p2s8d4f6g1h3",
	    /* letters and digits in one case are one now */
	    "MTASTS2024KEY0123456789",
	};
	static const char *const words[] = {
	    "mta-sts.example.com",
	    "/var/www/mta-sts/example/.well-known/mta-sts.txt",
	    "https://mta-sts.protonmail.ch/.well-known/mta-sts.txt",
	    "update-policy",
	    "xn--bcher-kva.example",
	    "12345678901234567890",
	    "internationalbusinessmachines.example",
	};
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		ok(secret_shaped(secrets[i]) && !keyword_shaped(secrets[i]),
		   "secret shape %zu: not shown", i);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		ok(!secret_shaped(words[i]), "%s: not a secret's shape",
		   words[i]);
	ok(keyword_shaped("options") && keyword_shaped("max-age") &&
	       keyword_shaped("1h") && keyword_shaped("Domain") &&
	       keyword_shaped("mta-sts.example.com"),
	   "keywords, numbers and names are keyword-shaped");
	ok(!keyword_shaped("") && !keyword_shaped("key:") &&
	       !keyword_shaped("a b") && !keyword_shaped("x=") &&
	       !keyword_shaped("https://x.example/"),
	   "nor is what holds other characters");
	/* where a key is likely, a run of 16 in one case is one too */
	ok(key_secret_shaped("thisisalllowercase") &&
	       key_secret_shaped("x-ABCDEFGHIJKLMNOP") &&
	       !keyword_shaped("thisisalllowercase") &&
	       !secret_shaped("thisisalllowercase"),
	   "a run of 16 letters: key_secret_shaped() only");
	ok(!key_secret_shaped("mtasts.example.com") &&
	       !key_secret_shaped("tsig-key_2024.example") &&
	       !key_secret_shaped("/etc/mta-sts-sync/mtasts.key"),
	   "names and paths split in shorter runs: not");
}

/* Paths a message quotes, and those that may hold a key. */
static void
test_path_shapes(void)
{
	static const char *const keys[] = {
	    ("/etc/"
	     "hmac-sha256:mtasts:fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c="),
	    "/etc/mtasts:c2VjcmV0",
	    "/etc/conf/fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=",
	    "/etc/conf/adc88547eb55010db79f0f2535fde868",
	    /* a secret its '/' cuts in parts shorter than 16 */
	    "/etc/conf/Nmy1mR3sd8aB/98C32TxCY0f7/gTSSnamr7w=",
	    "/etc/conf/Nmy1mR3sd8aB/98C32TxCY0f7/gTSSnamr7wMWBlF0",
	};
	static const char *const paths[] = {
	    "/etc/mta-sts-sync/mtasts.key",
	    "/home/User/Documents/MtaStsPolicies/mta-sts.txt",
	    "/var/www/%d/.well-known/mta-sts.txt",
	    "/usr/local/bin/deploy-policy",
	    "/etc/bind/Kmtasts.example.com.+165+12345.key",
	    "C:",
	    "relative/keys/a.key",
	    /* a run of a secret's shape inside a file's name */
	    "/nix/store/0c8ni0ld7d5ikqzyx8l2dgs0mrd1zcs4-mta-sts-sync.conf",
	    "/etc/mta-sts-sync/Tsig2024ProductionKey.key",
	    /* a component of 16 letters in one case */
	    "/etc/keys/mtastsexamplecomkey",
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ok(path_secret_shaped(keys[i]) &&
		       strcmp(path_shown(keys[i], '"', buf, sizeof(buf)),
		              PATH_NOT_SHOWN) == 0 &&
		       strcmp(path_shown(keys[i], '\0', NULL, 0),
		              PATH_NOT_SHOWN) == 0,
		   "path like a key %zu: not shown", i);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char want[256];

		snprintf(want, sizeof(want), "\"%s\"", paths[i]);
		ok(!path_secret_shaped(paths[i]) &&
		       strcmp(path_shown(paths[i], '"', buf, sizeof(buf)),
		              want) == 0 &&
		       path_shown(paths[i], '\0', NULL, 0) == paths[i],
		   "%s: shown", paths[i]);
	}
}

/* key_written_as_path(): a key written where a key file's path goes is
 * told from a path, also once a relative one was joined to a directory;
 * a file name of a secret's shape is only not shown, not called a key. */
static void
test_key_as_path(void)
{
	static const char *const keys[] = {
	    "hmac-sha256:mtasts:fcc4A+NNtcf0AzH4bF4UyBIWhIDmP4QKchXrxjMA99c=",
	    "mtasts:adc88547eb55010db79f0f2535fde868",
	    "/etc/mta-sts-sync/IadpVCMnHqU//8yxurfd013QPShViyhOHUvSVvoev2E=",
	    "/etc/mta-sts-sync/adc88547eb55010db79f0f2535fde868",
	    "/etc/mta-sts-sync/q8v2m4x7k1z9w3r6t5y0p2s8d4f6g1h3",
	    /* a secret made by hand in one case, BIND takes it */
	    "/etc/mta-sts-sync/abcdefghijklmnopqrstuvwxyzabcdef",
	};
	static const char *const paths[] = {
	    "/etc/mta-sts-sync/mtastsproductionkey.key",
	    "/etc/keys/mtastsexamplecomkey",
	    "/etc/mta-sts-sync/keys/mtasts-production.key",
	    "/etc/mta-sts-sync/Tsig2024ProductionKey.key",
	    "/etc/bind/Kmtasts.example.com.+165+12345.key",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ok(key_written_as_path(keys[i]) &&
		       strcmp(path_shown(keys[i], '\0', NULL, 0),
		              PATH_NOT_SHOWN) == 0,
		   "key as a path %zu: a key, not shown", i);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ok(!key_written_as_path(paths[i]), "%s: not a key", paths[i]);
}

/*
 * A path in a command to paste (path_shell()): as it is when a shell
 * takes every character of it so, else in single quotes, a quote in it
 * written '\''; a key is not shown. One too long for its buffer is not
 * given at all: cut short, it was another path (a pasted command would
 * act on it), the quote closed at the cut.
 */
static void
test_path_shell(void)
{
	static const struct {
		const char *path, *want;
	} cases[] = {
	    {"/etc/mta-sts-sync/mta-sts-sync.conf",
	     "/etc/mta-sts-sync/mta-sts-sync.conf"},
	    {"/etc/my conf/a.conf", "'/etc/my conf/a.conf'"},
	    {"/etc/it's.conf", "'/etc/it'\\''s.conf'"},
	    {"/tmp/$(reboot)`x`;a&b|c*", "'/tmp/$(reboot)`x`;a&b|c*'"},
	    {"", "''"},
	    /* a leading '-' or '=' is no option, nor zsh's =cmd */
	    {"-x.key", "./-x.key"},
	    {"=k", "./=k"},
	    {"-my key", "./'-my key'"},
	    {"a/-x.key", "a/-x.key"},
	    /* quoted, the log would turn them into a space or '?' */
	    {"/tmp/nl\ndir/k.key", PATH_CONTROL},
	    {"/tmp/t\tb", PATH_CONTROL},
	    {"/tmp/esc\x1b[2J", PATH_CONTROL},
	    {"/tmp/del\x7f", PATH_CONTROL},
	    {"-\r", PATH_CONTROL},
	};
	/* in a buffer of size bytes */
	static const struct {
		const char *path;
		size_t size;
		const char *want, *what;
	} sized[] = {
	    {"/a b/it's", 8, PATH_TOO_LONG,
	     "too long for its buffer, quoted: none given"},
	    {"/a b", 7, "'/a b'", "quoted, just fits"},
	    {"/etc/abc", 8, PATH_TOO_LONG,
	     "too long for its buffer, plain: none given"},
	    {"-abcd", 8, "./-abcd", "./ and a path, just fit"},
	    {"-abcde", 8, PATH_TOO_LONG,
	     "./ and a path, one byte over: none given"},
	    {"-a b", 9, "./'-a b'", "./ and a quoted path, just fit"},
	    {"-a b", 8, PATH_TOO_LONG, "./ and a quoted path, one byte over"},
	    {"/\xc3\xa9", 128, "'/\xc3\xa9'",
	     "bytes over 0x7f are no control bytes"},
	};
	char buf[128], longp[3000], big[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(path_shell(cases[i].path, buf, sizeof(buf)),
		       cases[i].want, "path_shell() case %zu: %s", i,
		       cases[i].want);
	for (size_t i = 0; i < sizeof(sized) / sizeof(sized[0]); i++)
		is_str(path_shell(sized[i].path, buf, sized[i].size),
		       sized[i].want, "path_shell: %s", sized[i].what);
	for (size_t i = 0; i < sizeof(longp); i++)
		longp[i] = "/dir-of-a-tree"[i % 14];
	longp[1500] = ' ';
	longp[sizeof(longp) - 1] = '\0';
	is_str(path_shell(longp, big, sizeof(big)), PATH_TOO_LONG,
	       "path_shell: a 3000-byte path in 2048 bytes: none given");
	longp[1500] = 'a';
	is_str(path_shell(longp, big, sizeof(big)), PATH_TOO_LONG,
	       "path_shell: ... nor unquoted");
	is_str(path_shell("mtasts:adc88547eb55010db79f0f2535fde868", buf,
	                  sizeof(buf)),
	       PATH_NOT_SHOWN, "path_shell: a key not shown");
}

int
main(void)
{
	test_secret_shapes();
	test_path_shell();
	test_path_dir();
	test_path_shapes();
	test_key_as_path();
	test_first_wins();
	test_parse_uint();
	test_name_under();
	test_append();
	test_cut();
	test_printable_utf8();
	test_utf8_cuts();
	test_log_clean();
	test_log_alert_cut();
	return done_testing();
}
