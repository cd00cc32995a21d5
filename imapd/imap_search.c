/*
 * imap_search: SEARCH arguments into a key tree (imap_search.h).
 *
 * A recursive-descent parser over the argument tree: one table gives each
 * key word its kind (no argument, a string, a date, a size, a header
 * pair, a set, NOT, OR); parenthesised groups become AND nodes. The
 * shorthand keys are expanded while parsing, so the evaluator sees few
 * node kinds.
 *
 * SECURITY: untrusted client input. Recursion depth is bounded by
 * IMAP_SEARCH_DEPTH_MAX (NOT NOT NOT ... or OR OR OR ... need no
 * parentheses, so the command parser's nesting limit is not enough); the
 * number of keys is bounded by the command parser's argument limit.
 * Freeing walks sibling chains in a loop and recurses only into children,
 * so it is bounded by the same depth.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

#include "imap_condstore.h"
#include "imap_date.h"
#include "imap_flags.h"
#include "imap_search.h"

enum imap_search_kind {
	K_FLAG,			/* FLAG (flag) */
	K_UNFLAG,		/* NOT FLAG (flag) */
	K_NEW,
	K_OLD,
	K_ALL,
	K_STRING,		/* type with a value */
	K_FIELD,		/* HEADER field value, field fixed */
	K_HEADER,
	K_KEYWORD,
	K_UNKEYWORD,
	K_DATE,
	K_SIZE,
	K_UID,
	K_INTERVAL,		/* WITHIN: seconds, at least 1 */
	K_MODSEQ,
	K_NOT,
	K_OR,
	K_OBJECTID,		/* type with an objectid */
	K_NOARG,		/* type, no argument */
};

static const struct imap_search_word {
	const char *name;
	enum imap_search_kind kind;
	enum imap_search_type type;
	unsigned int flag;
	const char *field;
} imap_search_words[] = {
	{ "ALL", K_ALL, IMAP_SEARCH_ALL, 0, NULL },
	{ "ANSWERED", K_FLAG, 0, IMAP_FLAG_ANSWERED, NULL },
	{ "DELETED", K_FLAG, 0, IMAP_FLAG_DELETED, NULL },
	{ "DRAFT", K_FLAG, 0, IMAP_FLAG_DRAFT, NULL },
	{ "FLAGGED", K_FLAG, 0, IMAP_FLAG_FLAGGED, NULL },
	{ "RECENT", K_FLAG, 0, IMAP_FLAG_RECENT, NULL },
	{ "SEEN", K_FLAG, 0, IMAP_FLAG_SEEN, NULL },
	{ "UNANSWERED", K_UNFLAG, 0, IMAP_FLAG_ANSWERED, NULL },
	{ "UNDELETED", K_UNFLAG, 0, IMAP_FLAG_DELETED, NULL },
	{ "UNDRAFT", K_UNFLAG, 0, IMAP_FLAG_DRAFT, NULL },
	{ "UNFLAGGED", K_UNFLAG, 0, IMAP_FLAG_FLAGGED, NULL },
	{ "UNSEEN", K_UNFLAG, 0, IMAP_FLAG_SEEN, NULL },
	{ "NEW", K_NEW, 0, 0, NULL },
	{ "OLD", K_OLD, 0, 0, NULL },
	{ "BODY", K_STRING, IMAP_SEARCH_BODY, 0, NULL },
	{ "TEXT", K_STRING, IMAP_SEARCH_TEXT, 0, NULL },
	{ "BCC", K_FIELD, 0, 0, "BCC" },
	{ "CC", K_FIELD, 0, 0, "CC" },
	{ "FROM", K_FIELD, 0, 0, "FROM" },
	{ "SUBJECT", K_FIELD, 0, 0, "SUBJECT" },
	{ "TO", K_FIELD, 0, 0, "TO" },
	{ "HEADER", K_HEADER, 0, 0, NULL },
	{ "KEYWORD", K_KEYWORD, 0, 0, NULL },
	{ "UNKEYWORD", K_UNKEYWORD, 0, 0, NULL },
	{ "BEFORE", K_DATE, IMAP_SEARCH_BEFORE, 0, NULL },
	{ "ON", K_DATE, IMAP_SEARCH_ON, 0, NULL },
	{ "SINCE", K_DATE, IMAP_SEARCH_SINCE, 0, NULL },
	{ "SENTBEFORE", K_DATE, IMAP_SEARCH_SENTBEFORE, 0, NULL },
	{ "SENTON", K_DATE, IMAP_SEARCH_SENTON, 0, NULL },
	{ "SENTSINCE", K_DATE, IMAP_SEARCH_SENTSINCE, 0, NULL },
	{ "LARGER", K_SIZE, IMAP_SEARCH_LARGER, 0, NULL },
	{ "SMALLER", K_SIZE, IMAP_SEARCH_SMALLER, 0, NULL },
	{ "UID", K_UID, IMAP_SEARCH_UID, 0, NULL },
	{ "OLDER", K_INTERVAL, IMAP_SEARCH_OLDER, 0, NULL },
	{ "YOUNGER", K_INTERVAL, IMAP_SEARCH_YOUNGER, 0, NULL },
	{ "MODSEQ", K_MODSEQ, IMAP_SEARCH_MODSEQ, 0, NULL },
	{ "NOT", K_NOT, IMAP_SEARCH_NOT, 0, NULL },
	{ "OR", K_OR, IMAP_SEARCH_OR, 0, NULL },
	{ "EMAILID", K_OBJECTID, IMAP_SEARCH_EMAILID, 0, NULL },
	{ "THREADID", K_OBJECTID, IMAP_SEARCH_THREADID, 0, NULL },
	{ "SAVEDBEFORE", K_DATE, IMAP_SEARCH_SAVEDBEFORE, 0, NULL },
	{ "SAVEDON", K_DATE, IMAP_SEARCH_SAVEDON, 0, NULL },
	{ "SAVEDSINCE", K_DATE, IMAP_SEARCH_SAVEDSINCE, 0, NULL },
	{ "SAVEDATESUPPORTED", K_NOARG, IMAP_SEARCH_SAVEDATESUPPORTED, 0,
	  NULL },
};

#define IMAP_NWORDS (sizeof(imap_search_words) / sizeof(imap_search_words[0]))

struct imap_search_ctx {
	const struct imap_arg *a;	/* the next argument */
	const char **error_r;
	unsigned int depth;
};

static struct imap_search_key *imap_search_key_new(enum imap_search_type t)
{
	struct imap_search_key *key = mem_alloc(sizeof(*key));

	key->type = t;
	return key;
}

static void imap_search_key_free(struct imap_search_key *key)
{
	struct imap_search_key *next;

	for (; key != NULL; key = next) {
		next = key->next;
		imap_search_key_free(key->child);
		imap_seqset_release(&key->set);
		if (key->owned) {
			free((char *)key->field);
			free((char *)key->value);
		}
		free(key);
	}
}

void imap_search_free(struct imap_search **search)
{
	if (*search == NULL)
		return;
	imap_search_key_free((*search)->root);
	mem_free(*search);
}

static bool imap_search_fail(struct imap_search_ctx *ctx, const char *error)
{
	*ctx->error_r = error;
	return false;
}

static struct imap_search_key *imap_search_wrap(enum imap_search_type t,
						struct imap_search_key *child)
{
	struct imap_search_key *key = imap_search_key_new(t);

	key->child = child;
	return key;
}

static struct imap_search_key *imap_search_flag(unsigned int flag)
{
	struct imap_search_key *key = imap_search_key_new(IMAP_SEARCH_FLAG);

	key->flag = flag;
	return key;
}

static bool imap_search_key(struct imap_search_ctx *ctx,
			    struct imap_search_key **key_r);

/* Keys up to the end of args, chained under parent (an AND). */
static bool imap_search_keys(struct imap_search_ctx *ctx,
			     struct imap_search_key *parent)
{
	struct imap_search_key **tail = &parent->child;

	if (ctx->a->type == IMAP_ARG_EOL)
		return imap_search_fail(ctx, "Missing search key");
	while (ctx->a->type != IMAP_ARG_EOL) {
		if (!imap_search_key(ctx, tail))
			return false;
		tail = &(*tail)->next;
	}
	return true;
}

/* The argument of a key word: an astring. */
static bool imap_search_astring(struct imap_search_ctx *ctx, const char **r)
{
	if (!imap_arg_get_astring(ctx->a, r))
		return imap_search_fail(ctx, "Missing search key argument");
	ctx->a++;
	return true;
}

static bool imap_search_set(struct imap_search_ctx *ctx,
			    struct imap_search_key *key, const char *text)
{
	return imap_seqset_parse(&key->set, text, IMAP_SEQSET_ALLOW_DOLLAR, 0,
				 ctx->error_r);
}

static bool imap_search_word(struct imap_search_ctx *ctx,
			     const struct imap_search_word *w,
			     struct imap_search_key **key_r)
{
	struct imap_search_key *key = NULL;
	const char *s, *v;

	switch (w->kind) {
	case K_ALL:
		*key_r = imap_search_key_new(IMAP_SEARCH_ALL);
		return true;
	case K_FLAG:
		*key_r = imap_search_flag(w->flag);
		return true;
	case K_UNFLAG:
		*key_r = imap_search_wrap(IMAP_SEARCH_NOT,
					  imap_search_flag(w->flag));
		return true;
	case K_NEW:
		key = imap_search_wrap(IMAP_SEARCH_AND,
				       imap_search_flag(IMAP_FLAG_RECENT));
		key->child->next = imap_search_wrap(IMAP_SEARCH_NOT,
					imap_search_flag(IMAP_FLAG_SEEN));
		*key_r = key;
		return true;
	case K_OLD:
		*key_r = imap_search_wrap(IMAP_SEARCH_NOT,
					  imap_search_flag(IMAP_FLAG_RECENT));
		return true;
	case K_STRING:
		if (!imap_search_astring(ctx, &s))
			return false;
		key = *key_r = imap_search_key_new(w->type);
		key->value = s;
		return true;
	case K_FIELD:
		if (!imap_search_astring(ctx, &s))
			return false;
		key = *key_r = imap_search_key_new(IMAP_SEARCH_HEADER);
		key->field = w->field;
		key->value = s;
		return true;
	case K_HEADER:
		if (!imap_search_astring(ctx, &s) ||
		    !imap_search_astring(ctx, &v))
			return false;
		if (*s == '\0' || strpbrk(s, ": \t") != NULL)
			return imap_search_fail(ctx, "Invalid header name");
		key = *key_r = imap_search_key_new(IMAP_SEARCH_HEADER);
		key->field = s;
		key->value = v;
		return true;
	case K_KEYWORD:
	case K_UNKEYWORD:
		if (!imap_arg_get_atom(ctx->a, &s) ||
		    !imap_flags_keyword_valid(s))
			return imap_search_fail(ctx, "Invalid keyword");
		ctx->a++;
		key = imap_search_key_new(IMAP_SEARCH_KEYWORD);
		key->value = s;
		*key_r = w->kind == K_KEYWORD ? key :
			imap_search_wrap(IMAP_SEARCH_NOT, key);
		return true;
	case K_DATE:
		if (!imap_search_astring(ctx, &s))
			return false;
		key = *key_r = imap_search_key_new(w->type);
		if (!imap_date_parse_day(s, &key->date))
			return imap_search_fail(ctx, "Invalid date");
		return true;
	case K_SIZE:
		if (!imap_arg_get_atom(ctx->a, &s))
			return imap_search_fail(ctx, "Missing size");
		ctx->a++;
		key = *key_r = imap_search_key_new(w->type);
		if (!imap_parse_number64(s, &key->size))
			return imap_search_fail(ctx, "Invalid size");
		return true;
	case K_INTERVAL:
		if (!imap_arg_get_atom(ctx->a, &s))
			return imap_search_fail(ctx, "Missing interval");
		ctx->a++;
		key = *key_r = imap_search_key_new(w->type);
		if (!imap_parse_number64(s, &key->size) || key->size == 0)
			return imap_search_fail(ctx, "Invalid interval");
		return true;
	case K_UID:
		if (!imap_arg_get_atom(ctx->a, &s))
			return imap_search_fail(ctx, "Missing UID set");
		ctx->a++;
		key = *key_r = imap_search_key_new(IMAP_SEARCH_UID);
		return imap_search_set(ctx, key, s);
	case K_MODSEQ:
		/* MODSEQ ["/flags/\\Seen" priv|shared|all] n: one modseq
		 * per message here, so the entry only has to be valid. */
		if (imap_arg_get_string(ctx->a, &s)) {
			if (!imap_arg_get_atom(ctx->a + 1, &v) ||
			    !imap_modseq_entry_valid(s, v))
				return imap_search_fail(ctx, "Invalid MODSEQ "
							"entry");
			ctx->a += 2;
		}
		if (!imap_arg_get_atom(ctx->a, &s))
			return imap_search_fail(ctx, "Missing modseq");
		ctx->a++;
		key = *key_r = imap_search_key_new(IMAP_SEARCH_MODSEQ);
		if (!imap_parse_number64(s, &key->size))
			return imap_search_fail(ctx, "Invalid modseq");
		return true;
	case K_OBJECTID:
		/* objectid = 1*255(ALPHA / DIGIT / "_" / "-"), an atom. */
		if (!imap_arg_get_atom(ctx->a, &s) || *s == '\0' ||
		    strlen(s) > 255 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		    strlen(s))
			return imap_search_fail(ctx, "Invalid object id");
		ctx->a++;
		key = *key_r = imap_search_key_new(w->type);
		key->value = s;
		return true;
	case K_NOARG:
		*key_r = imap_search_key_new(w->type);
		return true;
	case K_NOT:
		key = *key_r = imap_search_key_new(IMAP_SEARCH_NOT);
		return imap_search_key(ctx, &key->child);
	case K_OR:
		key = *key_r = imap_search_key_new(IMAP_SEARCH_OR);
		return imap_search_key(ctx, &key->child) &&
			imap_search_key(ctx, &key->child->next);
	}
	return imap_search_fail(ctx, "Unknown search key");
}

static bool imap_search_key_body(struct imap_search_ctx *ctx,
				 struct imap_search_key **key_r)
{
	const struct imap_arg *list;
	const struct imap_arg *a = ctx->a;
	unsigned int count;
	const char *s;
	size_t i;

	if (imap_arg_get_list(a, &list, &count)) {
		struct imap_search_ctx sub = *ctx;

		*key_r = imap_search_key_new(IMAP_SEARCH_AND);
		ctx->a++;
		sub.a = list;
		return imap_search_keys(&sub, *key_r);
	}
	if (!imap_arg_get_atom(a, &s)) {
		if (a->type == IMAP_ARG_EOL)
			return imap_search_fail(ctx, "Missing search key");
		return imap_search_fail(ctx, "Invalid search key");
	}
	ctx->a++;
	if ((*s >= '0' && *s <= '9') || *s == '*' || *s == '$') {
		*key_r = imap_search_key_new(IMAP_SEARCH_SEQSET);
		return imap_search_set(ctx, *key_r, s);
	}
	for (i = 0; i < IMAP_NWORDS; i++)
		if (strcasecmp(s, imap_search_words[i].name) == 0)
			return imap_search_word(ctx, &imap_search_words[i],
						key_r);
	return imap_search_fail(ctx, "Unknown search key");
}

static bool imap_search_key(struct imap_search_ctx *ctx,
			    struct imap_search_key **key_r)
{
	bool ok;

	if (ctx->depth >= IMAP_SEARCH_DEPTH_MAX)
		return imap_search_fail(ctx, "Search keys nested too deeply");
	ctx->depth++;
	ok = imap_search_key_body(ctx, key_r);
	ctx->depth--;
	return ok;
}

static struct imap_search_key *
imap_search_key_dup(const struct imap_search_key *k)
{
	struct imap_search_key *first = NULL, **tail = &first;

	for (; k != NULL; k = k->next) {
		struct imap_search_key *c = mem_alloc(sizeof(*c));

		*c = *k;
		c->next = NULL;
		c->owned = true;
		c->field = k->field == NULL ? NULL : mem_strdup(k->field);
		c->value = k->value == NULL ? NULL : mem_strdup(k->value);
		c->set.ranges = k->set.count == 0 ? NULL :
			mem_dup(k->set.ranges,
				k->set.count * sizeof(*k->set.ranges));
		c->set.cap = k->set.count;
		c->child = imap_search_key_dup(k->child);
		*tail = c;
		tail = &c->next;
	}
	return first;
}

struct imap_search *imap_search_dup(const struct imap_search *search)
{
	struct imap_search *copy = mem_alloc(sizeof(*copy));

	*copy = *search;
	copy->charset = NULL;
	copy->root = imap_search_key_dup(search->root);
	return copy;
}

bool imap_search_partial_parse(const char *text, uint32_t *lo_r,
			       uint32_t *hi_r)
{
	const char *colon = strchr(text, ':');
	char lo[11];
	uint32_t a, b;

	if (colon == NULL || (size_t)(colon - text) >= sizeof(lo))
		return false;
	memcpy(lo, text, (size_t)(colon - text));
	lo[colon - text] = '\0';
	if (!imap_parse_nz_number(lo, &a) ||
	    !imap_parse_nz_number(colon + 1, &b))
		return false;
	*lo_r = a < b ? a : b;
	*hi_r = a < b ? b : a;
	return true;
}

/* RETURN (...) of ESEARCH. */
static bool imap_search_return(struct imap_search_ctx *ctx,
			       struct imap_search *search)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN },
		{ "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
		{ "UPDATE", IMAP_SEARCH_RETURN_UPDATE },
		{ "PARTIAL", IMAP_SEARCH_RETURN_PARTIAL },
	};
	const struct imap_arg *list;
	unsigned int count;
	const char *s;
	size_t i;

	if (!imap_arg_get_list(ctx->a, &list, &count))
		return imap_search_fail(ctx, "Invalid RETURN options");
	ctx->a++;
	search->esearch = true;
	for (; list->type != IMAP_ARG_EOL; list++) {
		if (!imap_arg_get_atom(list, &s))
			return imap_search_fail(ctx, "Invalid RETURN option");
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (strcasecmp(s, opts[i].name) == 0)
				break;
		if (i == sizeof(opts) / sizeof(opts[0]))
			return imap_search_fail(ctx, "Unknown RETURN option");
		search->ret |= opts[i].bit;
		if (opts[i].bit == IMAP_SEARCH_RETURN_PARTIAL &&
		    (!imap_arg_get_atom(++list, &s) ||
		     !imap_search_partial_parse(s, &search->partial_lo,
						&search->partial_hi)))
			return imap_search_fail(ctx, "Invalid PARTIAL range");
	}
	if (search->ret == 0)
		search->ret = IMAP_SEARCH_RETURN_ALL;
	return true;
}

bool imap_search_parse_keys(const struct imap_arg *args,
			    struct imap_search **search_r,
			    const char **error_r)
{
	struct imap_search *search = mem_alloc(sizeof(*search));
	struct imap_search_ctx ctx = { args, error_r, 0 };

	search->root = imap_search_key_new(IMAP_SEARCH_AND);
	if (!imap_search_keys(&ctx, search->root)) {
		imap_search_free(&search);
		return false;
	}
	*search_r = search;
	return true;
}

enum imap_search_parse_result
imap_search_parse(const struct imap_arg *args, struct imap_search **search_r,
		  const char **error_r)
{
	struct imap_search *search = mem_alloc(sizeof(*search));
	struct imap_search_ctx ctx = { args, error_r, 0 };
	const char *cs;

	search->root = imap_search_key_new(IMAP_SEARCH_AND);
	if (imap_arg_atom_equals(ctx.a, "RETURN")) {
		ctx.a++;
		if (!imap_search_return(&ctx, search))
			goto bad;
	}
	if (imap_arg_atom_equals(ctx.a, "CHARSET")) {
		ctx.a++;
		if (!imap_arg_get_astring(ctx.a, &cs)) {
			*error_r = "Missing charset";
			goto bad;
		}
		ctx.a++;
		search->charset = cs;
		if (strcasecmp(cs, "UTF-8") != 0 &&
		    strcasecmp(cs, "US-ASCII") != 0) {
			*error_r = "Unsupported charset";
			imap_search_free(&search);
			return IMAP_SEARCH_PARSE_BADCHARSET;
		}
	}
	if (!imap_search_keys(&ctx, search->root))
		goto bad;
	*search_r = search;
	return IMAP_SEARCH_PARSE_OK;
bad:
	imap_search_free(&search);
	return IMAP_SEARCH_PARSE_BAD;
}
