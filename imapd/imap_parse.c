/*
 * imap_parse: the incremental IMAP command parser (imap_parse.h).
 *
 * One byte-driven state machine: every byte of a command outside literal
 * data goes through imap_parse_step() (literal data is copied in bulk, with
 * the same effect), so where the input is cut makes no difference.
 * Tokens collect in one growable buffer and are copied, once complete,
 * into an arena freed when the next command starts; each open list keeps
 * its elements in a growable vector that is copied into the arena when
 * the list closes, so the finished tree is made of plain arrays that end
 * with an IMAP_ARG_EOL element.
 *
 * After a syntax error the rest of the line is skipped. A line that ends
 * in a non-synchronising literal announcement ({n+}) continues after the
 * literal, so the skipper remembers the last bytes of the line and skips
 * the literal data too; a synchronising literal ({n}) at the end of a bad
 * line is never sent, as the client waits for a continuation that the
 * BAD reply replaces.
 *
 * SECURITY: the input is raw, untrusted network data, parsed before and
 * after authentication (imap-login and imapd). Every buffer is bounded by
 * a limit checked before it grows: bytes per command outside literals,
 * each literal (announced size checked before any data is accepted), the
 * sum of literals, the number of arguments and the nesting depth. Sizes
 * are accumulated with saturation, never wrapped. Nothing here recurses.
 */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "str.h"

#include "imap_parse.h"
#include "imap_utf7.h"

#define IMAP_PARSE_NAME_MAX 64
#define IMAP_ARENA_BLOCK 4000
#define IMAP_PARSE_TAIL 32
/* Announced literal sizes saturate here (far above any limit). */
#define IMAP_PARSE_SIZE_CAP ((uint64_t)1 << 48)

enum imap_parse_state {
	S_NEW,			/* before a tag; empty lines are ignored */
	S_TAG,
	S_NAME,
	S_ARG,			/* where an argument may start */
	S_AFTER,		/* after an argument */
	S_ATOM,
	S_BRACKET,		/* FETCH section inside an atom */
	S_QUOTED,
	S_QESC,
	S_TILDE,		/* '~' read: literal8 or an atom */
	S_LITSIZE,
	S_LITPLUS,
	S_LITCR,
	S_LITLF,
	S_LITDATA,
	S_STREAM,		/* the caller reads APPEND data */
	S_CR,			/* CR read at the end of a line */
	S_SKIP,			/* skipping the rest of a bad line */
	S_SKIPLIT,		/* skipping the data of a literal */
	S_FATAL,
};

struct imap_arena_block {
	struct imap_arena_block *next;
	size_t size, used;
	max_align_t data[];
};

struct imap_vec {
	struct imap_arg *items;
	unsigned int count, cap;
};

struct imap_parser {
	struct imap_parser_limits lim;
	enum imap_parse_state state;
	bool finished;		/* DONE or ERROR returned: reset on feed */
	bool fetch;		/* FETCH, NOTIFY: atoms may hold [sections] */
	bool toobig;
	const char *error;

	struct str tag, name, tok;
	bool tok8bit;
	struct imap_cmd cmd;

	struct imap_arena_block *arena;
	struct imap_vec *stack;	/* depth_max + 1 vectors */
	unsigned int depth, nargs;
	size_t line_len;

	uint64_t lit_size;
	unsigned int lit_digits;
	bool lit_nonsync, lit8;
	char *lit_data;
	size_t lit_got;
	uint64_t literals_total;

	char tail[IMAP_PARSE_TAIL];
	size_t tail_len;
	uint64_t skip_left;
};

/* --- arena --- */

static void *imap_arena_alloc(struct imap_parser *p, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct imap_arena_block *b = p->arena;
	size_t need = (size + align - 1) / align * align;
	void *ptr;

	if (need < size)
		msg_panic("imap_arena_alloc: size overflow");
	if (b == NULL || b->size - b->used < need) {
		size_t bsize = need > IMAP_ARENA_BLOCK ? need :
			IMAP_ARENA_BLOCK;

		b = mem_alloc(sizeof(*b) + bsize);
		b->size = bsize;
		b->next = p->arena;
		p->arena = b;
	}
	ptr = (char *)b->data + b->used;
	b->used += need;
	return ptr;
}

/* Free every block but the last one allocated, which is kept for reuse
 * unless it is an oversized one (a big literal). */
static void imap_arena_clear(struct imap_parser *p, bool all)
{
	struct imap_arena_block *b = p->arena, *next;

	if (b == NULL)
		return;
	/* Commands carry passwords (LOGIN) and mail: nothing of one stays
	 * in memory for the next (or for whoever reads a core). */
	for (next = b; next != NULL; next = next->next)
		explicit_bzero(next->data, next->used);
	for (next = b->next; next != NULL; next = b) {
		b = next->next;
		free(next);
	}
	if (all || p->arena->size > IMAP_ARENA_BLOCK) {
		free(p->arena);
		p->arena = NULL;
	} else {
		p->arena->next = NULL;
		p->arena->used = 0;
	}
}

static const char *imap_arena_strndup(struct imap_parser *p, const char *s,
				      size_t len)
{
	char *d = imap_arena_alloc(p, len + 1);

	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* --- setup --- */

#define IMAP_LIMIT(field, def) \
	if (p->lim.field == 0) p->lim.field = (def)

struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = mem_alloc(sizeof(*p));

	if (limits != NULL)
		p->lim = *limits;
	IMAP_LIMIT(line_max, IMAP_PARSE_LINE_MAX);
	IMAP_LIMIT(literal_max, IMAP_PARSE_LITERAL_MAX);
	IMAP_LIMIT(append_literal_max, p->lim.literal_max);
	IMAP_LIMIT(literals_total_max, IMAP_PARSE_LITERALS_TOTAL_MAX);
	IMAP_LIMIT(args_max, IMAP_PARSE_ARGS_MAX);
	IMAP_LIMIT(depth_max, IMAP_PARSE_DEPTH_MAX);
	if (p->lim.depth_max > 1000)
		p->lim.depth_max = 1000;
	p->stack = mem_array(p->lim.depth_max + 1, sizeof(*p->stack));
	p->state = S_NEW;
	return p;
}

void imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;
	unsigned int i;

	if (p == NULL)
		return;
	for (i = 0; i <= p->lim.depth_max; i++)
		free(p->stack[i].items);
	free(p->stack);
	imap_arena_clear(p, true);
	str_release(&p->tag);
	str_release(&p->name);
	str_release(&p->tok);
	mem_free(*pp);
}

static void imap_parse_cmd_clear(struct imap_parser *p)
{
	memset(&p->cmd, 0, sizeof(p->cmd));
	str_clear(&p->tag);
	str_clear(&p->name);
	if (p->tok.data != NULL)
		explicit_bzero(p->tok.data, p->tok.cap);
	str_clear(&p->tok);
	imap_arena_clear(p, false);
	p->stack[0].count = 0;
	p->depth = 0;
	p->nargs = 0;
	p->line_len = 0;
	p->literals_total = 0;
	p->fetch = false;
	p->toobig = false;
	p->error = NULL;
}

void imap_parser_reset(struct imap_parser *p)
{
	imap_parse_cmd_clear(p);
	p->finished = false;
	if (p->state != S_SKIP && p->state != S_SKIPLIT &&
	    p->state != S_FATAL)
		p->state = S_NEW;
}

const struct imap_cmd *imap_parser_cmd(const struct imap_parser *p)
{
	return &p->cmd;
}

const char *imap_parser_error(const struct imap_parser *p)
{
	return p->error != NULL ? p->error : "Invalid command";
}

bool imap_parser_error_toobig(const struct imap_parser *p)
{
	return p->toobig;
}

size_t imap_parser_literal_size(const struct imap_parser *p)
{
	return (size_t)p->lit_size;
}

void imap_parser_set_literal_plus(struct imap_parser *p, bool on)
{
	p->lim.literal_plus = on;
}

/* --- characters --- */

/* ATOM-CHAR, loosely: list-wildcards, '\' (flags) and ']' are allowed,
 * as commands take them in atoms (sequence sets, patterns, flags). */
static bool imap_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '"';
}

static bool imap_tag_char(unsigned char c)
{
	return imap_atom_char(c) && c != '+' && c != '%' && c != '*' &&
	       c != '\\';
}

/* --- errors --- */

/* An error on byte c in the middle of a line: skip the rest of it. */
static enum imap_parse_result imap_parse_fail(struct imap_parser *p,
					      const char *text,
					      unsigned char c)
{
	p->error = text;
	p->state = S_SKIP;
	p->tail[0] = (char)c;
	p->tail_len = 1;
	if (c == '\n') {
		p->tail_len = 0;
		p->state = S_NEW;
	}
	return IMAP_PARSE_ERROR;
}

/* An error at the end of a line (nothing left to skip). */
static enum imap_parse_result imap_parse_fail_eol(struct imap_parser *p,
						  const char *text)
{
	p->error = text;
	p->state = S_NEW;
	return IMAP_PARSE_ERROR;
}

static enum imap_parse_result imap_parse_fatal(struct imap_parser *p,
					       const char *text)
{
	p->error = text;
	p->state = S_FATAL;
	return IMAP_PARSE_FATAL;
}

/* --- building the tree --- */

static size_t imap_parse_literal_limit(const struct imap_parser *p)
{
	if (strcmp(str_c(&p->name), "APPEND") == 0 && !p->cmd.uid)
		return p->lim.append_literal_max;
	return p->lim.literal_max;
}

static bool imap_parse_add(struct imap_parser *p, const struct imap_arg *arg)
{
	struct imap_vec *v = &p->stack[p->depth];

	if (p->nargs >= p->lim.args_max)
		return false;
	p->nargs++;
	if (v->count == v->cap) {
		v->cap = v->cap == 0 ? 8 : v->cap * 2;
		v->items = mem_array_realloc(v->items, v->cap,
					     sizeof(*v->items));
	}
	v->items[v->count++] = *arg;
	return true;
}

/* The elements of the innermost vector, copied into the arena. */
static struct imap_arg *imap_parse_close_vec(struct imap_parser *p,
					     unsigned int *count_r)
{
	struct imap_vec *v = &p->stack[p->depth];
	struct imap_arg *a = imap_arena_alloc(p, (v->count + 1) * sizeof(*a));

	if (v->count > 0)
		memcpy(a, v->items, v->count * sizeof(*a));
	memset(&a[v->count], 0, sizeof(*a));
	a[v->count].type = IMAP_ARG_EOL;
	*count_r = v->count;
	v->count = 0;
	return a;
}

static bool imap_parse_str_arg(struct imap_parser *p, enum imap_arg_type type)
{
	struct imap_arg arg = { .type = type };

	arg.str = imap_arena_strndup(p, p->tok.data == NULL ? "" : p->tok.data,
				     p->tok.len);
	arg.len = p->tok.len;
	if (type == IMAP_ARG_ATOM && strcasecmp(arg.str, "NIL") == 0)
		arg.type = IMAP_ARG_NIL;
	str_clear(&p->tok);
	return imap_parse_add(p, &arg);
}

static enum imap_parse_result imap_parse_open(struct imap_parser *p,
					      unsigned char c)
{
	if (p->depth >= p->lim.depth_max)
		return imap_parse_fail(p, "Too deep parenthesis nesting", c);
	if (p->nargs >= p->lim.args_max)
		return imap_parse_fail(p, "Too many arguments", c);
	p->nargs++;
	p->depth++;
	p->stack[p->depth].count = 0;
	p->state = S_ARG;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result imap_parse_close(struct imap_parser *p,
					       unsigned char c)
{
	struct imap_arg arg = { .type = IMAP_ARG_LIST };

	if (p->depth == 0)
		return imap_parse_fail(p, "Unexpected ')'", c);
	arg.list = imap_parse_close_vec(p, &arg.count);
	p->depth--;
	/* The list was counted when it opened. */
	p->nargs--;
	if (!imap_parse_add(p, &arg))
		return imap_parse_fail(p, "Too many arguments", c);
	p->state = S_AFTER;
	return IMAP_PARSE_MORE;
}

/* The command name (or the word after UID) is complete. */
static bool imap_parse_name_done(struct imap_parser *p)
{
	if (p->name.len == 0)
		return false;
	for (size_t i = 0; i < p->name.len; i++)
		if (p->name.data[i] >= 'a' && p->name.data[i] <= 'z')
			p->name.data[i] -= 'a' - 'A';
	if (!p->cmd.uid && str_equals(&p->name, "UID")) {
		p->cmd.uid = true;
		str_clear(&p->name);
		return false;
	}
	p->cmd.name = str_c(&p->name);
	/* NOTIFY's MessageNew takes FETCH items too (RFC 5465). */
	p->fetch = str_equals(&p->name, "FETCH") ||
		   str_equals(&p->name, "NOTIFY");
	return true;
}

static enum imap_parse_result imap_parse_eol(struct imap_parser *p)
{
	if (p->cmd.name == NULL)
		return imap_parse_fail_eol(p, p->cmd.uid ?
					   "Missing command after UID" :
					   "Missing command name");
	if (p->depth > 0)
		return imap_parse_fail_eol(p, "Missing ')'");
	p->cmd.args = imap_parse_close_vec(p, &p->cmd.nargs);
	p->state = S_NEW;
	return IMAP_PARSE_DONE;
}

/* --- literals --- */

static enum imap_parse_result imap_parse_literal_begin(struct imap_parser *p)
{
	uint64_t n = p->lit_size;
	size_t limit = imap_parse_literal_limit(p);
	const char *error = NULL;

	if (n > limit || p->literals_total + n > p->lim.literals_total_max) {
		p->toobig = true;
		error = "Literal too large";
	} else if (p->lit_nonsync && !p->lim.literal_plus &&
		   n > IMAP_PARSE_LITERAL_MINUS_MAX) {
		error = "Non-synchronizing literal over 4096 bytes (LITERAL-)";
	} else if (p->nargs >= p->lim.args_max) {
		error = "Too many arguments";
	}
	if (error != NULL) {
		if (!p->lit_nonsync)
			return imap_parse_fail_eol(p, error);
		if (n > limit)
			return imap_parse_fatal(p, error);
		p->error = error;
		p->skip_left = n;
		p->tail_len = 0;
		p->state = n > 0 ? S_SKIPLIT : S_SKIP;
		return IMAP_PARSE_ERROR;
	}
	p->lit_got = 0;
	if (p->lim.stream_append && p->depth == 0 && p->stack[0].count > 0 &&
	    strcmp(str_c(&p->name), "APPEND") == 0 && !p->cmd.uid) {
		p->state = S_STREAM;
		return IMAP_PARSE_LITERAL;
	}
	p->literals_total += n;
	p->lit_data = imap_arena_alloc(p, (size_t)n + 1);
	p->state = S_LITDATA;
	return p->lit_nonsync ? IMAP_PARSE_MORE : IMAP_PARSE_CONT;
}

static bool imap_parse_literal_done(struct imap_parser *p)
{
	struct imap_arg arg = {
		.type = p->lit8 ? IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL,
		.str = p->lit_data,
		.len = p->lit_got,
		.nonsync = p->lit_nonsync,
	};

	p->lit_data[p->lit_got] = '\0';
	p->state = S_AFTER;
	return imap_parse_add(p, &arg);
}

/* Take literal data from the input: returns the bytes used. */
static size_t imap_parse_literal_data(struct imap_parser *p,
				      const unsigned char *d, size_t size,
				      enum imap_parse_result *r)
{
	size_t n = (size_t)(p->lit_size - p->lit_got);
	const unsigned char *nul;

	if (n > size)
		n = size;
	if (!p->lit8 && (nul = memchr(d, '\0', n)) != NULL) {
		size_t used = (size_t)(nul - d) + 1;

		p->skip_left = p->lit_size - p->lit_got - used;
		p->error = "NUL in literal (use literal8)";
		p->tail_len = 0;
		p->state = p->skip_left > 0 ? S_SKIPLIT : S_SKIP;
		*r = IMAP_PARSE_ERROR;
		return used;
	}
	memcpy(p->lit_data + p->lit_got, d, n);
	p->lit_got += n;
	*r = IMAP_PARSE_MORE;
	if (p->lit_got == p->lit_size && !imap_parse_literal_done(p)) {
		p->error = "Too many arguments";
		p->tail_len = 0;
		p->state = S_SKIP;
		*r = IMAP_PARSE_ERROR;
	}
	return n;
}

void imap_parser_refuse(struct imap_parser *p)
{
	/* The client sends the data of a {n+} regardless, and of a {n}
	 * once it has begun. */
	bool skip_data = (p->state == S_STREAM || p->state == S_LITDATA) &&
		(p->lit_nonsync || p->lit_got > 0) && p->lit_got < p->lit_size;

	imap_parse_cmd_clear(p);
	p->finished = false;
	if (p->state == S_FATAL)
		return;
	p->tail_len = 0;
	if (skip_data) {
		p->skip_left = p->lit_size - p->lit_got;
		p->state = S_SKIPLIT;
	} else if (p->state == S_STREAM || p->state == S_LITDATA) {
		/* A synchronising literal: the client sends nothing. */
		p->state = S_NEW;
	} else if (p->state != S_SKIP && p->state != S_SKIPLIT &&
		   p->state != S_NEW) {
		/* In the middle of a line: skip the rest of it. */
		p->state = S_SKIP;
	}
}

void imap_parser_literal_streamed(struct imap_parser *p)
{
	struct imap_arg arg = {
		.type = p->lit8 ? IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL,
		.str = "",
		.len = (size_t)p->lit_size,
		.nonsync = p->lit_nonsync,
		.streamed = true,
	};

	if (p->state != S_STREAM)
		msg_panic("imap_parser_literal_streamed: no literal");
	/* literal_begin checked the argument limit. */
	if (!imap_parse_add(p, &arg))
		msg_panic("imap_parser_literal_streamed: too many arguments");
	p->state = S_AFTER;
}

bool imap_parser_literal_sync(const struct imap_parser *p)
{
	return !p->lit_nonsync;
}

/* --- skipping a bad line --- */

/* At the end of a skipped line: does it announce a literal? */
static enum imap_parse_result imap_parse_skip_eol(struct imap_parser *p)
{
	const char *t = p->tail;
	size_t len = p->tail_len, i;
	uint64_t n = 0;
	bool nonsync = false;

	p->tail_len = 0;
	p->state = S_NEW;
	if (len > 0 && t[len - 1] == '\r')
		len--;
	if (len < 3 || t[len - 1] != '}')
		return IMAP_PARSE_MORE;
	len--;
	if (t[len - 1] == '+') {
		nonsync = true;
		len--;
	}
	for (i = len; i > 0 && t[i - 1] >= '0' && t[i - 1] <= '9'; i--)
		;
	if (i == len || i == 0 || t[i - 1] != '{' || len - i > 15)
		return IMAP_PARSE_MORE;
	for (; i < len; i++)
		n = n * 10 + (uint64_t)(t[i] - '0');
	if (!nonsync)
		return IMAP_PARSE_MORE;
	if (n > p->lim.literal_max && n > p->lim.append_literal_max)
		return imap_parse_fatal(p, "Literal too large");
	p->skip_left = n;
	p->state = n > 0 ? S_SKIPLIT : S_SKIP;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result imap_parse_skip(struct imap_parser *p,
					      unsigned char c)
{
	if (c == '\n')
		return imap_parse_skip_eol(p);
	if (p->tail_len == IMAP_PARSE_TAIL) {
		memmove(p->tail, p->tail + 1, IMAP_PARSE_TAIL - 1);
		p->tail_len--;
	}
	p->tail[p->tail_len++] = (char)c;
	return IMAP_PARSE_MORE;
}

/* --- the state machine --- */

static enum imap_parse_result imap_parse_after(struct imap_parser *p,
					       unsigned char c)
{
	switch (c) {
	case ' ':
		p->state = S_ARG;
		return IMAP_PARSE_MORE;
	case ')':
		return imap_parse_close(p, c);
	case '\r':
		p->state = S_CR;
		return IMAP_PARSE_MORE;
	case '\n':
		return imap_parse_eol(p);
	default:
		return imap_parse_fail(p, "Missing space after argument", c);
	}
}

static enum imap_parse_result imap_parse_arg(struct imap_parser *p,
					     unsigned char c)
{
	switch (c) {
	case ' ':
		return IMAP_PARSE_MORE;
	case '(':
		return imap_parse_open(p, c);
	case ')':
		return imap_parse_close(p, c);
	case '"':
		str_clear(&p->tok);
		p->tok8bit = false;
		p->state = S_QUOTED;
		return IMAP_PARSE_MORE;
	case '{':
		p->lit8 = false;
		p->lit_size = 0;
		p->lit_digits = 0;
		p->lit_nonsync = false;
		p->state = S_LITSIZE;
		return IMAP_PARSE_MORE;
	case '~':
		p->state = S_TILDE;
		return IMAP_PARSE_MORE;
	case '\r':
		p->state = S_CR;
		return IMAP_PARSE_MORE;
	case '\n':
		return imap_parse_eol(p);
	}
	if (!imap_atom_char(c))
		return imap_parse_fail(p, "Invalid characters in argument", c);
	str_clear(&p->tok);
	str_append_c(&p->tok, (char)c);
	p->state = c == '[' && p->fetch ? S_BRACKET : S_ATOM;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result imap_parse_atom(struct imap_parser *p,
					      unsigned char c)
{
	if (imap_atom_char(c)) {
		str_append_c(&p->tok, (char)c);
		if (c == '[' && p->fetch)
			p->state = S_BRACKET;
		return IMAP_PARSE_MORE;
	}
	if (c != ' ' && c != ')' && c != '\r' && c != '\n')
		return imap_parse_fail(p, "Invalid characters in atom", c);
	if (!imap_parse_str_arg(p, IMAP_ARG_ATOM))
		return imap_parse_fail(p, "Too many arguments", c);
	return imap_parse_after(p, c);
}

static enum imap_parse_result imap_parse_bracket(struct imap_parser *p,
						unsigned char c)
{
	if (c < 0x20 || c >= 0x7f || c == '[')
		return imap_parse_fail(p, "Invalid characters in section", c);
	str_append_c(&p->tok, (char)c);
	if (c == ']')
		p->state = S_ATOM;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result imap_parse_quoted(struct imap_parser *p,
					       unsigned char c)
{
	switch (c) {
	case '\\':
		p->state = S_QESC;
		return IMAP_PARSE_MORE;
	case '"':
		if (p->tok8bit && !imap_utf8_valid(p->tok.data, p->tok.len))
			return imap_parse_fail(p, "Invalid UTF-8 in string",
					       c);
		if (!imap_parse_str_arg(p, IMAP_ARG_QUOTED))
			return imap_parse_fail(p, "Too many arguments", c);
		p->state = S_AFTER;
		return IMAP_PARSE_MORE;
	case '\r':
	case '\n':
		return imap_parse_fail(p, "Missing '\"'", c);
	case '\0':
		return imap_parse_fail(p, "NUL in quoted string", c);
	}
	if (c >= 0x80)
		p->tok8bit = true;
	str_append_c(&p->tok, (char)c);
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result imap_parse_litsize(struct imap_parser *p,
						unsigned char c)
{
	if (c >= '0' && c <= '9') {
		p->lit_size = p->lit_size * 10 + (c - '0');
		if (p->lit_size > IMAP_PARSE_SIZE_CAP)
			p->lit_size = IMAP_PARSE_SIZE_CAP;
		p->lit_digits++;
		return IMAP_PARSE_MORE;
	}
	if (p->lit_digits == 0 || (c != '+' && c != '}'))
		return imap_parse_fail(p, "Invalid literal size", c);
	p->state = c == '+' ? S_LITPLUS : S_LITCR;
	return IMAP_PARSE_MORE;
}

static enum imap_parse_result imap_parse_name(struct imap_parser *p,
					      unsigned char c)
{
	if (imap_atom_char(c)) {
		if (p->name.len >= IMAP_PARSE_NAME_MAX)
			return imap_parse_fail(p, "Command name too long", c);
		str_append_c(&p->name, (char)c);
		return IMAP_PARSE_MORE;
	}
	switch (c) {
	case ' ':
		if (imap_parse_name_done(p))
			p->state = S_ARG;
		return IMAP_PARSE_MORE;
	case '\r':
		imap_parse_name_done(p);
		p->state = S_CR;
		return IMAP_PARSE_MORE;
	case '\n':
		imap_parse_name_done(p);
		return imap_parse_eol(p);
	}
	return imap_parse_fail(p, "Invalid characters in command name", c);
}

static enum imap_parse_result imap_parse_tag(struct imap_parser *p,
					     unsigned char c)
{
	if (imap_tag_char(c)) {
		str_append_c(&p->tag, (char)c);
		return IMAP_PARSE_MORE;
	}
	if (c == ' ') {
		p->cmd.tag = str_c(&p->tag);
		p->state = S_NAME;
		return IMAP_PARSE_MORE;
	}
	if (c == '\r' || c == '\n') {
		p->cmd.tag = str_c(&p->tag);
		return imap_parse_fail(p, "Missing command name", c);
	}
	return imap_parse_fail(p, "Invalid characters in tag", c);
}

static enum imap_parse_result imap_parse_step(struct imap_parser *p,
					      unsigned char c)
{
	if (p->state != S_SKIP && p->state != S_NEW &&
	    ++p->line_len > p->lim.line_max)
		return imap_parse_fail(p, "Command line too long", c);

	switch (p->state) {
	case S_NEW:
		if (c == '\r' || c == '\n')
			return IMAP_PARSE_MORE;
		if (!imap_tag_char(c))
			return imap_parse_fail(p, "Missing tag", c);
		p->line_len = 1;
		str_append_c(&p->tag, (char)c);
		p->state = S_TAG;
		return IMAP_PARSE_MORE;
	case S_TAG:
		return imap_parse_tag(p, c);
	case S_NAME:
		return imap_parse_name(p, c);
	case S_ARG:
		return imap_parse_arg(p, c);
	case S_AFTER:
		return imap_parse_after(p, c);
	case S_ATOM:
		return imap_parse_atom(p, c);
	case S_BRACKET:
		return imap_parse_bracket(p, c);
	case S_QUOTED:
		return imap_parse_quoted(p, c);
	case S_QESC:
		if (c != '"' && c != '\\')
			return imap_parse_fail(p, "Invalid escape in string",
					       c);
		str_append_c(&p->tok, (char)c);
		p->state = S_QUOTED;
		return IMAP_PARSE_MORE;
	case S_TILDE:
		if (c == '{') {
			p->lit8 = true;
			p->lit_size = 0;
			p->lit_digits = 0;
			p->lit_nonsync = false;
			p->state = S_LITSIZE;
			return IMAP_PARSE_MORE;
		}
		str_clear(&p->tok);
		str_append_c(&p->tok, '~');
		p->state = S_ATOM;
		return imap_parse_atom(p, c);
	case S_LITSIZE:
		return imap_parse_litsize(p, c);
	case S_LITPLUS:
		if (c != '}')
			return imap_parse_fail(p, "Invalid literal size", c);
		p->lit_nonsync = true;
		p->state = S_LITCR;
		return IMAP_PARSE_MORE;
	case S_LITCR:
		if (c == '\r') {
			p->state = S_LITLF;
			return IMAP_PARSE_MORE;
		}
		/* fall through */
	case S_LITLF:
		if (c != '\n')
			return imap_parse_fail(p, "Missing CRLF after literal",
					       c);
		return imap_parse_literal_begin(p);
	case S_LITDATA:
		/* Only a literal of 0 bytes gets here (after its CONT). */
		if (!imap_parse_literal_done(p))
			return imap_parse_fail(p, "Too many arguments", c);
		return imap_parse_after(p, c);
	case S_CR:
		if (c != '\n')
			return imap_parse_fail(p, "CR without LF", c);
		return imap_parse_eol(p);
	case S_SKIP:
		return imap_parse_skip(p, c);
	case S_SKIPLIT:
	case S_STREAM:
	case S_FATAL:
		break;
	}
	msg_panic("imap_parse_step: state %d", (int)p->state);
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p,
					const void *data, size_t size,
					size_t *consumed_r)
{
	const unsigned char *d = data;
	enum imap_parse_result r = IMAP_PARSE_MORE;
	size_t i = 0, n;

	if (p->state == S_FATAL || p->state == S_STREAM) {
		*consumed_r = 0;
		return p->state == S_FATAL ? IMAP_PARSE_FATAL :
			IMAP_PARSE_LITERAL;
	}
	if (p->finished) {
		imap_parse_cmd_clear(p);
		p->finished = false;
	}
	while (i < size && r == IMAP_PARSE_MORE) {
		if (p->state == S_LITDATA && p->lit_got < p->lit_size) {
			i += imap_parse_literal_data(p, d + i, size - i, &r);
		} else if (p->state == S_SKIPLIT) {
			n = size - i;
			if (n > p->skip_left)
				n = (size_t)p->skip_left;
			p->skip_left -= n;
			i += n;
			if (p->skip_left == 0)
				p->state = S_SKIP;
		} else {
			r = imap_parse_step(p, d[i++]);
		}
	}
	if (r == IMAP_PARSE_DONE || r == IMAP_PARSE_ERROR)
		p->finished = true;
	*consumed_r = i;
	return r;
}

/* --- argument helpers --- */

bool imap_arg_get_atom(const struct imap_arg *arg, const char **r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	*r = arg->str;
	return true;
}

bool imap_arg_get_astring(const struct imap_arg *arg, const char **r)
{
	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL)
		return (*r = arg->str), true;
	return imap_arg_get_string(arg, r);
}

bool imap_arg_get_string(const struct imap_arg *arg, const char **r)
{
	if ((arg->type != IMAP_ARG_QUOTED && arg->type != IMAP_ARG_LITERAL) ||
	    arg->streamed)
		return false;
	*r = arg->str;
	return true;
}

bool imap_arg_get_nstring(const struct imap_arg *arg, const char **r)
{
	if (arg->type == IMAP_ARG_NIL)
		return (*r = NULL), true;
	return imap_arg_get_string(arg, r);
}

bool imap_arg_get_list(const struct imap_arg *arg,
		       const struct imap_arg **list_r, unsigned int *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	*count_r = arg->count;
	return true;
}

bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}

bool imap_arg_get_number(const struct imap_arg *arg, uint32_t *r)
{
	return arg->type == IMAP_ARG_ATOM && imap_parse_number(arg->str, r);
}

bool imap_parse_number64(const char *s, uint64_t *r)
{
	uint64_t n = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (n > (INT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*r = n;
	return true;
}

bool imap_parse_number(const char *s, uint32_t *r)
{
	uint64_t n;

	if (!imap_parse_number64(s, &n) || n > UINT32_MAX)
		return false;
	*r = (uint32_t)n;
	return true;
}

bool imap_parse_nz_number(const char *s, uint32_t *r)
{
	uint32_t n;

	if (!imap_parse_number(s, &n) || n == 0)
		return false;
	*r = n;
	return true;
}
