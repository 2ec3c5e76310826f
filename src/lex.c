/*
 * lex.c - tokenizer for the named.conf-like syntax.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lex.h"

void
lex_init(struct lex *lx, const char *file, const char *buf, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->file = file;
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
	lx->tok_line = 1;
}

static int
lex_peek(const struct lex *lx, size_t off)
{
	if (lx->pos + off >= lx->len)
		return -1;
	return (unsigned char)lx->buf[lx->pos + off];
}

static enum lex_type
lex_fail(struct lex *lx, const char *msg)
{
	snprintf(lx->error, sizeof(lx->error), "%s", msg);
	lx->type = TOK_ERROR;
	return TOK_ERROR;
}

/* Skip white space and comments; returns -1 on an unterminated comment. */
static int
lex_skip(struct lex *lx)
{
	for (;;) {
		int c = lex_peek(lx, 0);

		if (c == '\n') {
			lx->line++;
			lx->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' ||
		           c == '\v') {
			lx->pos++;
		} else if (c == '#' || (c == '/' && lex_peek(lx, 1) == '/')) {
			while (lex_peek(lx, 0) != -1 && lex_peek(lx, 0) != '\n')
				lx->pos++;
		} else if (c == '/' && lex_peek(lx, 1) == '*') {
			unsigned start = lx->line;

			lx->pos += 2;
			while (!(lex_peek(lx, 0) == '*' &&
			         lex_peek(lx, 1) == '/')) {
				if (lex_peek(lx, 0) == -1) {
					lx->line = start;
					return -1;
				}
				if (lex_peek(lx, 0) == '\n')
					lx->line++;
				lx->pos++;
			}
			lx->pos += 2;
		} else {
			return 0;
		}
	}
}

static enum lex_type
lex_string(struct lex *lx)
{
	size_t n = 0;

	lx->pos++; /* opening quote */
	for (;;) {
		int c = lex_peek(lx, 0);

		if (c == -1)
			return lex_fail(lx, "unterminated string");
		if (c == '\0')
			return lex_fail(lx, "NUL byte in string");
		lx->pos++;
		if (c == '"')
			break;
		if (c == '\n')
			lx->line++;
		if (c == '\\') {
			/* the escaped byte is checked as any other: a NUL
			 * stored here would end the value early */
			c = lex_peek(lx, 0);
			if (c == -1)
				return lex_fail(lx, "unterminated string");
			if (c == '\0')
				return lex_fail(lx, "NUL byte in string");
			lx->pos++;
		}
		if (n >= LEX_TOKEN_MAX)
			return lex_fail(lx, "string too long");
		lx->text[n++] = (char)c;
	}
	lx->text[n] = '\0';
	lx->type = TOK_STRING;
	return TOK_STRING;
}

static int
lex_is_word_char(int c)
{
	if (c <= ' ' || c >= 0x7f)
		return 0;
	return strchr("{};\"#", c) == NULL;
}

/*
 * Fail on byte c, which starts no token: name it, and say what to do
 * about a UTF-8 byte-order mark (which editors on some systems add) or
 * other non-ASCII bytes.
 */
static enum lex_type
lex_bad_byte(struct lex *lx, int c)
{
	if (c == '\0')
		return lex_fail(lx, "NUL byte");
	if (c == 0xEF && lex_peek(lx, 1) == 0xBB && lex_peek(lx, 2) == 0xBF)
		return lex_fail(lx,
		                "unexpected bytes EF BB BF, a UTF-8 "
		                "byte-order mark: save the file without it");
	if (c >= 0x80)
		snprintf(lx->error, sizeof(lx->error),
		         "unexpected byte 0x%02X, which is not ASCII: outside "
		         "quoted strings only ASCII is allowed (write an "
		         "internationalized name in its xn-- A-label form)",
		         (unsigned)c);
	else
		snprintf(lx->error, sizeof(lx->error),
		         "unexpected control character 0x%02X", (unsigned)c);
	lx->type = TOK_ERROR;
	return TOK_ERROR;
}

/* Is c a base64 character ('=' padding included)? */
static int
lex_is_b64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

/* How many base64 characters, and nothing else of a word, follow the
 * "//" at the current position (0 if something else does)? */
static size_t
lex_b64_follows(const struct lex *lx)
{
	size_t off = 2;
	int c;

	while ((c = lex_peek(lx, off)) != -1 && lex_is_word_char(c)) {
		if (!lex_is_b64(c))
			return 0;
		off++;
	}
	return off - 2;
}

/*
 * A word ends where a comment starts ('#', "//" or a C comment). A
 * base64 secret may hold "//", though: when base64 characters are on
 * both sides of it, lx->cut says that the word may end with the start of
 * a secret that a comment seemed to cut, so that no message quotes it,
 * and how long the word, the "//" and what follows are together.
 */
static enum lex_type
lex_word(struct lex *lx)
{
	size_t n = 0;
	int c;

	while ((c = lex_peek(lx, 0)) != -1 && lex_is_word_char(c)) {
		if (c == '/' && lex_peek(lx, 1) == '/') {
			size_t after = lex_b64_follows(lx);

			if (n > 0 && lx->text[n - 1] != '=' &&
			    lex_is_b64((unsigned char)lx->text[n - 1]) &&
			    after > 0)
				lx->cut = n + 2 + after;
			break;
		}
		if (c == '/' && lex_peek(lx, 1) == '*')
			break;
		if (n >= LEX_TOKEN_MAX)
			return lex_fail(lx, "word too long");
		lx->text[n++] = (char)c;
		lx->pos++;
	}
	if (n == 0)
		return lex_bad_byte(lx, c);
	lx->text[n] = '\0';
	lx->type = TOK_WORD;
	return TOK_WORD;
}

enum lex_type
lex_next(struct lex *lx)
{
	int c;

	lx->text[0] = '\0';
	lx->cut = 0;
	if (lex_skip(lx) == -1)
		return lex_fail(lx, "unterminated /* comment");
	lx->tok_line = lx->line;
	c = lex_peek(lx, 0);
	switch (c) {
	case -1:
		lx->type = TOK_EOF;
		return TOK_EOF;
	case '{':
		lx->pos++;
		return lx->type = TOK_LBRACE;
	case '}':
		lx->pos++;
		return lx->type = TOK_RBRACE;
	case ';':
		lx->pos++;
		return lx->type = TOK_SEMI;
	case '"':
		return lex_string(lx);
	default:
		return lex_word(lx);
	}
}

const char *
lex_type_name(enum lex_type type)
{
	switch (type) {
	case TOK_EOF:
		return "end of file";
	case TOK_WORD:
		return "word";
	case TOK_STRING:
		return "quoted string";
	case TOK_LBRACE:
		return "'{'";
	case TOK_RBRACE:
		return "'}'";
	case TOK_SEMI:
		return "';'";
	case TOK_ERROR:
		break;
	}
	return "invalid token";
}
