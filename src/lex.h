/*
 * lex.h - tokenizer for the named.conf-like syntax shared by the
 * configuration file and BIND-format key files: words, "strings", '{',
 * '}', ';', with '#', '//' and C comments. Operates on a caller-owned
 * buffer; never reads past buf + len.
 */
#ifndef MTA_STS_SYNC_LEX_H
#define MTA_STS_SYNC_LEX_H

#include <stddef.h>

#define LEX_TOKEN_MAX 4096

enum lex_type {
	TOK_EOF = 0,
	TOK_WORD,   /* unquoted: letters, digits, . - _ : / * @ + = and so on */
	TOK_STRING, /* "quoted", escapes \" and \\ resolved */
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_SEMI,
	TOK_ERROR, /* lex->error says why */
};

struct lex {
	const char *file; /* for messages; not owned */
	const char *buf;  /* not owned */
	size_t len;
	size_t pos;
	unsigned line;
	enum lex_type type;           /* the current token */
	unsigned tok_line;            /* line the current token starts on */
	char text[LEX_TOKEN_MAX + 1]; /* text of a WORD or STRING */
	size_t cut; /* 0, or the WORD ended at a "//" between base64
	               characters: it may end with the start of a secret
	               (see lex_word()), and cut is the length of the word,
	               the "//" and the base64 after it */
	char error[256];
};

void lex_init(struct lex *lx, const char *file, const char *buf, size_t len);
/* Read the next token into lx; returns its type. */
enum lex_type lex_next(struct lex *lx);
/* A human name for a token type, for "expected X, found Y" messages. */
const char *lex_type_name(enum lex_type type);

#endif
