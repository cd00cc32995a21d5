/*
 * mime_addr: RFC 5322 address lists in the shape IMAP's ENVELOPE needs
 * (mime_addr_parse in mime.h): display name, source route, mailbox and
 * host per address, and group start/end markers.
 *
 * The parser is forgiving in the ways Dovecot's is, since its output
 * goes to clients that show it to people: display names are the phrase
 * with quoted-strings unquoted and words joined by one space, or else
 * the first comment ("user@host (Real Name)"); a quoted local part is
 * unquoted; an address without a host gets MISSING_DOMAIN and one
 * without a mailbox MISSING_MAILBOX, as Dovecot fills them ("<>" gets
 * both). Junk that fits nowhere is skipped up to the next ",".
 *
 * SECURITY: header text from a message. Every loop advances, comments
 * nest iteratively, output is at most a constant times the input.
 */
#include "config.h"

#include <string.h>

#include "mime_impl.h"

#define MIME_MISSING_MAILBOX	"MISSING_MAILBOX"
#define MIME_MISSING_DOMAIN	"MISSING_DOMAIN"

enum mime_tok {
	MIME_TOK_END,
	MIME_TOK_ATOM,		/* atext and dots */
	MIME_TOK_QUOTED,	/* a quoted-string */
	MIME_TOK_LITERAL,	/* [domain literal] */
	MIME_TOK_SPECIAL,	/* one of < > @ , ; : */
};

struct mime_addr_parser {
	struct mime_pool *pool;
	const char *s;
	size_t len;
	size_t pos;
	/* The first comment since the last reset, for a name. */
	struct str comment;
	bool have_comment;
	struct mime_addr *head;
	struct mime_addr **tail;
};

struct mime_tok_val {
	enum mime_tok type;
	char special;
	size_t start;		/* raw text of the token */
	size_t end;
};

static void mime_addr_comment(struct mime_addr_parser *p)
{
	unsigned depth = 0;
	size_t start = p->pos + 1;
	bool keep = !p->have_comment;

	do {
		char c = p->s[p->pos];

		if (c == '\\' && p->pos + 1 < p->len)
			p->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
		p->pos++;
	} while (depth > 0 && p->pos < p->len);
	if (keep) {
		size_t end = depth == 0 ? p->pos - 1 : p->pos;

		str_clear(&p->comment);
		mime_header_unfold(p->s + start, end - start, &p->comment);
		p->have_comment = p->comment.len > 0;
	}
}

static bool mime_atom_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && strchr("()<>[]:;@,\"", c) == NULL;
}

/* Read the next token from p->pos (comments and white space skipped). */
static void mime_tok_next(struct mime_addr_parser *p, struct mime_tok_val *t)
{
	const char *s = p->s;

	for (;;) {
		while (p->pos < p->len && mime_is_wsp((unsigned char)s[p->pos]))
			p->pos++;
		if (p->pos < p->len && s[p->pos] == '(')
			mime_addr_comment(p);
		else
			break;
	}
	t->start = p->pos;
	if (p->pos >= p->len) {
		t->type = MIME_TOK_END;
	} else if (s[p->pos] == '"') {
		t->type = MIME_TOK_QUOTED;
		for (p->pos++; p->pos < p->len && s[p->pos] != '"'; p->pos++)
			if (s[p->pos] == '\\' && p->pos + 1 < p->len)
				p->pos++;
		if (p->pos < p->len)
			p->pos++;
	} else if (s[p->pos] == '[') {
		t->type = MIME_TOK_LITERAL;
		while (p->pos < p->len && s[p->pos] != ']')
			p->pos++;
		if (p->pos < p->len)
			p->pos++;
	} else if (mime_atom_char((unsigned char)s[p->pos])) {
		t->type = MIME_TOK_ATOM;
		while (p->pos < p->len &&
		       mime_atom_char((unsigned char)s[p->pos]))
			p->pos++;
	} else {
		t->type = MIME_TOK_SPECIAL;
		t->special = s[p->pos];
		if (t->special == ')')
			t->special = ',';	/* a stray one: junk */
		p->pos++;
	}
	t->end = p->pos;
}

static void mime_tok_peek(struct mime_addr_parser *p, struct mime_tok_val *t)
{
	size_t pos = p->pos;

	mime_tok_next(p, t);
	p->pos = pos;
}

/* Append a quoted-string's content (escapes and folding undone). */
static void mime_unquote(struct str *out, const char *s, size_t len)
{
	size_t i, end = len > 1 && s[len - 1] == '"' ? len - 1 : len;

	for (i = 1; i < end; i++) {
		if (s[i] == '\\' && i + 1 < end)
			i++;
		else if (s[i] == '\r' || s[i] == '\n')
			continue;
		str_append_c(out, s[i]);
	}
}

/* Words up to the next special or the end: the display form into
 * display, the raw form (as a local part) into raw. */
static void mime_words(struct mime_addr_parser *p, struct str *display,
		       struct str *raw)
{
	struct mime_tok_val t;

	for (;;) {
		mime_tok_peek(p, &t);
		if (t.type != MIME_TOK_ATOM && t.type != MIME_TOK_QUOTED &&
		    t.type != MIME_TOK_LITERAL)
			return;
		mime_tok_next(p, &t);
		if (display->len > 0)
			str_append_c(display, ' ');
		if (t.type == MIME_TOK_QUOTED) {
			mime_unquote(display, p->s + t.start, t.end - t.start);
			mime_unquote(raw, p->s + t.start, t.end - t.start);
		} else {
			str_append_n(display, p->s + t.start, t.end - t.start);
			str_append_n(raw, p->s + t.start, t.end - t.start);
		}
	}
}

static const char *mime_dup(struct mime_addr_parser *p, const struct str *s)
{
	return mime_pool_strndup(p->pool, str_c(s), s->len);
}

static struct mime_addr *mime_emit(struct mime_addr_parser *p)
{
	struct mime_addr *a = mime_pool_alloc(p->pool, sizeof(*a));

	*p->tail = a;
	p->tail = &a->next;
	return a;
}

/* A domain Dovecot accepts: no empty label ("a..b", "a.b."). */
static bool mime_domain_ok(const struct str *d)
{
	if (d->len == 0)
		return false;
	if (d->data[0] == '[')
		return true;
	return d->data[0] != '.' && d->data[d->len - 1] != '.' &&
		strstr(d->data, "..") == NULL;
}

/* "<" [route ":"] [local "@" domain] ">" after the "<". */
static void mime_angle(struct mime_addr_parser *p, struct mime_addr *a)
{
	struct str route = STR_INIT, display = STR_INIT, local = STR_INIT;
	struct str domain = STR_INIT;
	struct mime_tok_val t;
	bool at = false;

	mime_tok_peek(p, &t);
	if (t.type == MIME_TOK_SPECIAL && t.special == '@') {
		/* A source route: "@a,@b:" */
		for (;;) {
			mime_tok_next(p, &t);
			if (t.type == MIME_TOK_END || (t.type ==
			    MIME_TOK_SPECIAL && (t.special == ':' ||
						 t.special == '>')))
				break;
			str_append_n(&route, p->s + t.start, t.end - t.start);
		}
		if (t.type == MIME_TOK_SPECIAL && t.special == '>')
			p->pos = t.start;	/* no ':': not a route */
		if (route.len > 0)
			a->route = mime_dup(p, &route);
	}
	mime_words(p, &display, &local);
	for (;;) {
		mime_tok_next(p, &t);
		if (t.type == MIME_TOK_END ||
		    (t.type == MIME_TOK_SPECIAL && t.special == '>'))
			break;
		if (t.type == MIME_TOK_SPECIAL && t.special == '@' && !at) {
			at = true;
			continue;
		}
		if (at)
			str_append_n(&domain, p->s + t.start, t.end - t.start);
	}
	a->mailbox = local.len > 0 ? mime_dup(p, &local) :
		MIME_MISSING_MAILBOX;
	a->domain = mime_domain_ok(&domain) ? mime_dup(p, &domain) :
		MIME_MISSING_DOMAIN;
	str_release(&route);
	str_release(&display);
	str_release(&local);
	str_release(&domain);
}

static void mime_address(struct mime_addr_parser *p, bool in_group);


/* After "phrase:": the group's members up to ";" (or the end). */
static void mime_group(struct mime_addr_parser *p, const struct str *name)
{
	struct mime_tok_val t;
	struct mime_addr *a = mime_emit(p);

	a->mailbox = mime_dup(p, name);
	for (;;) {
		mime_tok_peek(p, &t);
		if (t.type == MIME_TOK_END)
			break;
		if (t.type == MIME_TOK_SPECIAL &&
		    (t.special == ',' || t.special == ';')) {
			mime_tok_next(p, &t);
			if (t.special == ';')
				break;
			continue;
		}
		mime_address(p, true);
	}
	mime_emit(p);	/* the group's end */
}

/* After "local@": the domain, then the mailbox. */
static void mime_addr_spec(struct mime_addr_parser *p, const struct str *raw)
{
	struct str domain = STR_INIT;
	struct mime_tok_val t;
	struct mime_addr *a;

	for (;;) {
		mime_tok_peek(p, &t);
		if (t.type == MIME_TOK_END || t.type == MIME_TOK_SPECIAL)
			break;
		mime_tok_next(p, &t);
		str_append_n(&domain, p->s + t.start, t.end - t.start);
	}
	a = mime_emit(p);
	a->mailbox = raw->len > 0 ? mime_dup(p, raw) : MIME_MISSING_MAILBOX;
	a->domain = mime_domain_ok(&domain) ? mime_dup(p, &domain) :
		MIME_MISSING_DOMAIN;
	if (p->comment.len > 0)
		a->name = mime_dup(p, &p->comment);
	str_release(&domain);
}

/* After "phrase <": the address and its name. */
static void mime_name_addr(struct mime_addr_parser *p,
			   const struct str *display)
{
	struct mime_addr *a = mime_emit(p);
	struct mime_tok_val t;

	a->name = display->len > 0 ? mime_dup(p, display) : NULL;
	p->have_comment = true;	/* comments inside are no name */
	mime_angle(p, a);
	p->have_comment = false;
	if (a->name == NULL) {
		/* "<a@b> (Name)": a comment after it names it. */
		mime_tok_peek(p, &t);
		if (p->comment.len > 0)
			a->name = mime_dup(p, &p->comment);
	}
}

/* One mailbox, or a group if in_group is false and a ":" follows the
 * phrase. Stops before "," or ";" (or the end). */
static void mime_address(struct mime_addr_parser *p, bool in_group)
{
	struct str display = STR_INIT, raw = STR_INIT;
	struct mime_tok_val t;
	struct mime_addr *a;

	str_clear(&p->comment);
	p->have_comment = false;
	mime_words(p, &display, &raw);
	mime_tok_peek(p, &t);
	if (t.type == MIME_TOK_SPECIAL && t.special == '<') {
		mime_tok_next(p, &t);
		mime_name_addr(p, &display);
	} else if (t.type == MIME_TOK_SPECIAL && t.special == ':' &&
		   !in_group) {
		mime_tok_next(p, &t);
		mime_group(p, &display);
	} else if (t.type == MIME_TOK_SPECIAL && t.special == '@') {
		mime_tok_next(p, &t);
		mime_addr_spec(p, &raw);
	} else if (raw.len > 0) {
		/* A bare word: a mailbox without a host. */
		a = mime_emit(p);
		a->mailbox = mime_dup(p, &raw);
		a->domain = MIME_MISSING_DOMAIN;
		if (p->comment.len > 0)
			a->name = mime_dup(p, &p->comment);
	}
	/* Whatever is left up to the next separator is junk. */
	for (;;) {
		mime_tok_peek(p, &t);
		if (t.type == MIME_TOK_END || (t.type == MIME_TOK_SPECIAL &&
		    (t.special == ',' || (t.special == ';' && in_group))))
			break;
		mime_tok_next(p, &t);
	}
	str_release(&display);
	str_release(&raw);
}

struct mime_addr *mime_addr_parse(struct mime_pool *pool, const char *value,
				  size_t len)
{
	struct mime_addr_parser p;
	struct mime_tok_val t;

	memset(&p, 0, sizeof(p));
	p.pool = pool;
	p.s = value;
	p.len = len;
	p.tail = &p.head;
	for (;;) {
		mime_tok_peek(&p, &t);
		if (t.type == MIME_TOK_END)
			break;
		if (t.type == MIME_TOK_SPECIAL &&
		    (t.special == ',' || t.special == ';')) {
			mime_tok_next(&p, &t);
			continue;
		}
		mime_address(&p, false);
	}
	str_release(&p.comment);
	return p.head;
}
