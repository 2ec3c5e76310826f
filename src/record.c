/*
 * record.c - the MTA-STS TXT record (RFC 8461 section 3.1), the TLS-RPT TXT
 * record (RFC 8460 section 3) and TXT RDATA character-strings (RFC 1035
 * section 3.3.14).
 *
 * Both records share one shape: the version, then fields "name=value"
 * separated by ";" with optional white space around it, and an optional
 * ";" at the end. Parsing follows that ABNF strictly: white space at the
 * start or after the last field without a ";" is an error. Field names
 * are case-sensitive; a repeated field: the first wins, with a warning.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define SEC_STS "(RFC 8461 section 3.1)"
#define SEC_RPT "(RFC 8460 section 3)"

/* One "name=value" field of a record. */
struct field {
	const char *name;
	size_t nlen;
	const char *value;
	size_t vlen;
};

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* Does txt (len bytes) start with version, then ';', white space or end?
 * With nocase, the version is compared without regard to case. */
static int
version_lead(const char *txt, size_t len, const char *version, int nocase)
{
	size_t vn = strlen(version);

	if (len < vn || (nocase ? ascii_ncasecmp(txt, version, vn)
	                        : memcmp(txt, version, vn)) != 0)
		return 0;
	return len == vn || txt[vn] == ';' || is_wsp(txt[vn]);
}

static int
starts_with_version(const char *txt, size_t len, const char *version)
{
	return version_lead(txt, len, version, 0);
}

int
record_is_version(const char *txt, const char *version)
{
	return starts_with_version(txt, strlen(txt), version);
}

int
record_is_version_nocase(const char *txt, const char *version)
{
	return version_lead(txt, strlen(txt), version, 1);
}

int
record_is_spf(const char *txt)
{
	return ascii_ncasecmp(txt, "v=spf1", 6) == 0 &&
	       (txt[6] == ' ' || txt[6] == '\0');
}

int
record_begins(const char *txt, const char *version)
{
	size_t vn = strlen(version);

	return strncmp(txt, version, vn) == 0 && txt[vn] == ';';
}

int
record_is_near_miss(const char *txt, const char *version)
{
	return record_is_version(txt, version) && !record_begins(txt, version);
}

size_t
record_select(char *const *txts, size_t n, const char *version, size_t *first)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (txts[i] == NULL || !record_begins(txts[i], version))
			continue;
		if (count++ == 0 && first != NULL)
			*first = i;
	}
	return count;
}

/* Is s an extension value: 1*(%x21-3A / %x3C / %x3E-7E)? */
static int
ext_value_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == ';' || c == '=')
			return 0;
	}
	return 1;
}

/*
 * Read the next field of a record from *pos (just after the version or a
 * field): a delimiter, then "name=value" up to the next ';' or the end
 * (trailing white space dropped). Returns 1 with f filled, 0 at the end of
 * the record, -1 with the reason in d (sec: the RFC section to cite).
 */
static int
next_field(const char *txt, size_t len, size_t *pos, struct field *f,
           const char *sec, struct diag *d)
{
	size_t i = *pos, start, eq;

	if (i == len)
		return 0;
	while (i < len && is_wsp(txt[i]))
		i++;
	if (i == len) {
		diag_error(d,
		           "white space at the end of the record: remove it %s",
		           sec);
		return -1;
	}
	if (txt[i] != ';') {
		diag_error(d, "expected ';' between fields %s", sec);
		return -1;
	}
	for (i++; i < len && is_wsp(txt[i]); i++)
		;
	if (i == len) {
		*pos = i;
		return 0;
	}
	start = i;
	while (i < len && txt[i] != ';')
		i++;
	*pos = i;
	while (i > start && is_wsp(txt[i - 1]))
		i--;
	for (eq = start; eq < i && txt[eq] != '='; eq++)
		;
	f->name = txt + start;
	f->nlen = eq - start;
	f->value = eq < i ? txt + eq + 1 : txt + i;
	f->vlen = eq < i ? i - eq - 1 : 0;
	if (eq == i || !policy_ext_name_ok(f->name, f->nlen)) {
		char show[80];

		diag_error(
		    d, "invalid field \"%s\": expected name=value %s",
		    str_printable(txt + start, i - start, show, sizeof(show)),
		    sec);
		return -1;
	}
	*pos = (size_t)(f->value + f->vlen - txt);
	return 1;
}

/* Is field f named name (case-sensitive)? */
static int
field_is(const struct field *f, const char *name)
{
	return f->nlen == strlen(name) && memcmp(f->name, name, f->nlen) == 0;
}

/* What a parse has seen of its key field (id, rua). */
struct key_seen {
	int have;      /* the key field itself */
	char alike[8]; /* the first field named the key but for case ("ID") */
};

/* Note f in k if its name is key but for letter case: a field name is
 * case-sensitive, so "ID=" is an extension field, not the id. */
static void
key_alike_note(const struct field *f, const char *key, struct key_seen *k)
{
	if (k->alike[0] == '\0' && f->nlen == strlen(key) &&
	    f->nlen < sizeof(k->alike) &&
	    ascii_ncasecmp(f->name, key, f->nlen) == 0 && !field_is(f, key)) {
		memcpy(k->alike, f->name, f->nlen);
		k->alike[f->nlen] = '\0';
	}
}

/* A field other than the key field of its record (an extension, which
 * a record may hold): its value must be well-formed; one named the key
 * but for case is noted in k. sec: the RFC section for the message.
 * Returns 0 or -1. */
static int
extension_field(const struct field *f, const char *key, struct key_seen *k,
                const char *sec, struct diag *d)
{
	char show[80];

	key_alike_note(f, key, k);
	if (ext_value_ok(f->value, f->vlen))
		return 0;
	diag_error(d, "invalid value for field \"%s\" %s",
	           str_printable(f->name, f->nlen, show, sizeof(show)), sec);
	return -1;
}

/*
 * The end of a parse that went well so far (rc 0): without the key field
 * it fails, naming a field that has the key's name in another case;
 * with both, a warning, since senders that ignore case see two. Returns
 * 0 or -1.
 */
static int
key_check(const struct key_seen *k, const char *key, const char *sec,
          struct diag *d)
{
	if (!k->have && k->alike[0] != '\0') {
		diag_error(d,
		           "record has no %s field: field names are "
		           "case-sensitive, write %s= instead of %s= %s",
		           key, key, k->alike, sec);
		return -1;
	}
	if (!k->have) {
		diag_error(d, "record has no %s field %s", key, sec);
		return -1;
	}
	if (k->alike[0] != '\0')
		diag_warn(d,
		          "field %s= is not %s= (field names are "
		          "case-sensitive), but senders that ignore case take "
		          "it for a second %s: remove it %s",
		          k->alike, key, key, sec);
	return 0;
}

/* Check the record's version prefix; sets *pos after it. 0 or -1. */
static int
version_check(const char *txt, size_t len, const char *version, const char *sec,
              size_t *pos, struct diag *d)
{
	if (!starts_with_version(txt, len, version)) {
		diag_error(d, "record does not start with \"%s;\" %s", version,
		           sec);
		return -1;
	}
	*pos = strlen(version);
	return 0;
}

/* Check and store the id value of an STSv1 record: 1-32 letters/digits. */
static int
sts_id_set(struct sts_record *r, const struct field *f, struct diag *d)
{
	char show[80];
	size_t i;

	for (i = 0; i < f->vlen; i++)
		if (!is_alnum((unsigned char)f->value[i]))
			break;
	if (f->vlen == 0 || f->vlen > POLICY_ID_MAX || i < f->vlen) {
		diag_error(
		    d, "id \"%s\" is not 1 to 32 letters and digits " SEC_STS,
		    str_printable(f->value, f->vlen, show, sizeof(show)));
		return -1;
	}
	memcpy(r->id, f->value, f->vlen);
	r->id[f->vlen] = '\0';
	return 0;
}

/* Handle one field of an STSv1 record. 0 or -1. */
static int
sts_field(const struct field *f, struct sts_record *r, struct key_seen *k,
          struct diag *d)
{
	if (field_is(f, "id") && k->have) {
		diag_warn(d,
		          "repeated id field: the first is taken here, some "
		          "senders take the last: keep one id field " SEC_STS);
		return 0;
	}
	if (field_is(f, "id")) {
		k->have = 1;
		return sts_id_set(r, f, d);
	}
	return extension_field(f, "id", k, SEC_STS, d);
}

int
sts_record_parse(const char *txt, size_t len, struct sts_record *r,
                 struct diag *d)
{
	struct key_seen k = {0, ""};
	struct field f;
	size_t pos;
	int rc;

	r->id[0] = '\0';
	if (version_check(txt, len, STS_RECORD_VERSION, SEC_STS, &pos, d))
		return -1;
	while ((rc = next_field(txt, len, &pos, &f, SEC_STS, d)) == 1)
		if (sts_field(&f, r, &k, d) == -1) {
			rc = -1;
			break;
		}
	if (rc == 0)
		rc = key_check(&k, "id", SEC_STS, d);
	if (rc == -1)
		r->id[0] = '\0';
	return rc;
}

int
sts_record_format(const char *id, struct buf *out)
{
	size_t i, n = strlen(id);

	buf_reset(out);
	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)id[i]))
			return -1;
	if (n == 0 || n > POLICY_ID_MAX)
		return -1;
	return buf_printf(out, "%s; id=%s", STS_RECORD_VERSION, id);
}

/* Is c allowed in a URI (RFC 3986 unreserved, reserved or '%')? */
static int
uri_char_ok(int c)
{
	return is_alnum(c) ||
	       (c != '\0' && strchr("-._~:/?#[]@$&'()*+=%", c) != NULL);
}

/* Check the characters of uri: URI characters, valid %HH escapes. */
static const char *
uri_chars_problem(const char *uri)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	const char *s;

	for (s = uri; *s != '\0'; s++) {
		if (*s == '!')
			return "has a '!' that must be percent-encoded (%21): "
			       "a size limit such as !10m is DMARC's, not "
			       "TLS-RPT's";
		if (*s == ',' || *s == ';')
			return "has a ',' or ';' that must be "
			       "percent-encoded";
		if (!uri_char_ok((unsigned char)*s))
			return "has a character not allowed in a URI";
		if (*s == '%' && (s[1] == '\0' || !strchr(hex, s[1]) ||
		                  s[2] == '\0' || !strchr(hex, s[2])))
			return "has a '%' not followed by two hex digits";
	}
	return NULL;
}

static const char no_mailto[] = "is an address without mailto:";

/* Check the scheme and its minimal shape: mailto:x@y or https://host.
 * An address without a scheme gets no_mailto, for a hint. */
static const char *
uri_scheme_problem(const char *uri)
{
	const char *at, *host;

	if (ascii_ncasecmp(uri, "mailto:", 7) == 0) {
		at = strchr(uri + 7, '@');
		if (at == NULL || at == uri + 7 || at[1] == '\0' ||
		    at[1] == '?')
			return "is not a mailto: address (mailto:name@domain)";
		return NULL;
	}
	if (ascii_ncasecmp(uri, "https:", 6) == 0) {
		host = strncmp(uri + 6, "//", 2) == 0 ? uri + 8 : NULL;
		if (host == NULL || *host == '\0' ||
		    strchr("/?#", *host) != NULL)
			return "is not an https:// URL with a host";
		return NULL;
	}
	if (strchr(uri, '@') != NULL && strchr(uri, ':') == NULL)
		return no_mailto;
	return "is neither mailto: nor https:";
}

int
tlsrpt_uri_check(const char *uri, struct diag *d)
{
	const char *why = uri_chars_problem(uri);
	char show[120];

	if (why == NULL)
		why = uri_scheme_problem(uri);
	if (why == NULL)
		return 0;
	str_printable(uri, strlen(uri), show, sizeof(show));
	if (why == no_mailto)
		diag_error(d,
		           "rua URI \"%s\" is neither mailto: nor https:, "
		           "write mailto:%s (in a list each address has its "
		           "own mailto:, commas separate the URIs, and a comma "
		           "inside a URI is written %%2C) " SEC_RPT,
		           show, show);
	else
		diag_error(d, "rua URI \"%s\" %s " SEC_RPT, show, why);
	return -1;
}

/* Split a rua value into URIs (',' with optional white space around). */
static int
rua_split(const char *v, size_t n, struct strlist *rua, struct diag *d)
{
	size_t i = 0, start, end;
	char *uri;
	int rc;

	for (;;) {
		while (i < n && is_wsp(v[i]))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		for (end = i; end > start && is_wsp(v[end - 1]); end--)
			;
		if (end == start) {
			diag_error(d, "empty URI in rua " SEC_RPT);
			return -1;
		}
		uri = xstrndup(v + start, end - start);
		rc = tlsrpt_uri_check(uri, d);
		if (rc == 0)
			strlist_add(rua, uri);
		free(uri);
		if (rc == -1)
			return -1;
		if (i == n)
			return 0;
		i++;
	}
}

/* Handle one field of a TLSRPTv1 record. 0 or -1. */
static int
tlsrpt_field(const struct field *f, struct tlsrpt_record *r, struct key_seen *k,
             struct diag *d)
{
	if (field_is(f, "rua") && k->have) {
		diag_warn(d, "repeated rua field: the first is taken here, "
		             "some senders take the last: keep one rua field, "
		             "its URIs separated by commas " SEC_RPT);
		return 0;
	}
	if (field_is(f, "rua")) {
		k->have = 1;
		return rua_split(f->value, f->vlen, &r->rua, d);
	}
	return extension_field(f, "rua", k, SEC_RPT, d);
}

int
tlsrpt_record_parse(const char *txt, size_t len, struct tlsrpt_record *r,
                    struct diag *d)
{
	struct key_seen k = {0, ""};
	struct field f;
	size_t pos;
	int rc;

	r->rua.v = NULL;
	r->rua.n = 0;
	if (version_check(txt, len, TLSRPT_RECORD_VERSION, SEC_RPT, &pos, d))
		return -1;
	while ((rc = next_field(txt, len, &pos, &f, SEC_RPT, d)) == 1)
		if (tlsrpt_field(&f, r, &k, d) == -1) {
			rc = -1;
			break;
		}
	if (rc == 0)
		rc = key_check(&k, "rua", SEC_RPT, d);
	if (rc == -1) {
		strlist_free(&r->rua);
		return -1;
	}
	return 0;
}

void
tlsrpt_record_free(struct tlsrpt_record *r)
{
	if (r != NULL)
		strlist_free(&r->rua);
}

int
tlsrpt_record_format(const struct strlist *rua, struct buf *out)
{
	size_t i;

	buf_reset(out);
	if (rua->n == 0)
		return -1;
	if (buf_printf(out, "%s; rua=", TLSRPT_RECORD_VERSION) == -1)
		return -1;
	for (i = 0; i < rua->n; i++)
		if ((i > 0 && buf_puts(out, ",") == -1) ||
		    buf_puts(out, rua->v[i]) == -1)
			return -1;
	return 0;
}

int
txt_rdata_from_text(const char *txt, size_t len, unsigned char *out, size_t cap,
                    size_t *outlen)
{
	size_t o = 0, chunk;

	do {
		chunk = len > 255 ? 255 : len;
		if (cap - o < chunk + 1)
			return -1;
		out[o++] = (unsigned char)chunk;
		if (chunk > 0)
			memcpy(out + o, txt, chunk);
		o += chunk;
		txt += chunk;
		len -= chunk;
	} while (len > 0);
	*outlen = o;
	return 0;
}

int
txt_rdata_to_text(const unsigned char *rdata, size_t len, struct buf *out)
{
	size_t i = 0, n;

	buf_reset(out);
	if (len == 0)
		return -1;
	while (i < len) {
		n = rdata[i++];
		if (n > len - i || buf_append(out, rdata + i, n) == -1)
			return -1;
		i += n;
	}
	return 0;
}
