/*
 * imap_flags: flag lists and STORE arguments (imap_flags.h).
 *
 * SECURITY: the arguments are untrusted client input, already bounded by
 * the command parser's limits; keywords become file-name characters and
 * index entries later, so only strict atoms are accepted here.
 * Duplicate detection is quadratic in the number of keywords, bounded by
 * IMAP_FLAGS_KEYWORDS_MAX.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

#include "imap_flags.h"

static const struct {
	const char *name;
	unsigned int bit;
} imap_system_flags[] = {
	{ "\\Answered", IMAP_FLAG_ANSWERED },
	{ "\\Flagged", IMAP_FLAG_FLAGGED },
	{ "\\Deleted", IMAP_FLAG_DELETED },
	{ "\\Seen", IMAP_FLAG_SEEN },
	{ "\\Draft", IMAP_FLAG_DRAFT },
	{ "\\Recent", IMAP_FLAG_RECENT },
};

#define IMAP_NSYSTEM (sizeof(imap_system_flags) / sizeof(imap_system_flags[0]))

unsigned int imap_flags_system(const char *name)
{
	size_t i;

	for (i = 0; i < IMAP_NSYSTEM; i++)
		if (strcasecmp(name, imap_system_flags[i].name) == 0)
			return imap_system_flags[i].bit;
	return 0;
}

bool imap_flags_keyword_valid(const char *s)
{
	if (*s == '\0' || *s == '\\')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		/* ATOM-CHAR: no atom-specials, wildcards or ']'. */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

static bool imap_flags_add_keyword(const char *kw, const char ***keywords_r,
				   unsigned int *nkeywords_r,
				   const char **error_r)
{
	unsigned int i;

	for (i = 0; i < *nkeywords_r; i++)
		if (strcasecmp((*keywords_r)[i], kw) == 0)
			return true;
	if (*nkeywords_r >= IMAP_FLAGS_KEYWORDS_MAX) {
		*error_r = "Too many keywords";
		return false;
	}
	*keywords_r = mem_array_realloc(*keywords_r, *nkeywords_r + 1,
					sizeof(**keywords_r));
	(*keywords_r)[(*nkeywords_r)++] = kw;
	return true;
}

bool imap_flags_parse(const struct imap_arg *args, unsigned int *flags_r,
		      const char ***keywords_r, unsigned int *nkeywords_r,
		      const char **error_r)
{
	const char *s;
	unsigned int bit;

	for (; args->type != IMAP_ARG_EOL; args++) {
		/* NIL is an atom like any other here: a keyword called
		 * "NIL" (Dovecot, and imaptest's nil test, agree). */
		if (args->type == IMAP_ARG_NIL)
			s = "NIL";
		else if (!imap_arg_get_atom(args, &s)) {
			*error_r = "Flags must be atoms";
			return false;
		}
		if (s[0] == '\\') {
			bit = imap_flags_system(s);
			if (bit == 0) {
				*error_r = "Invalid system flag";
				return false;
			}
			if (bit == IMAP_FLAG_RECENT) {
				*error_r = "\\Recent cannot be set";
				return false;
			}
			*flags_r |= bit;
			continue;
		}
		if (!imap_flags_keyword_valid(s)) {
			*error_r = "Invalid keyword";
			return false;
		}
		if (!imap_flags_add_keyword(s, keywords_r, nkeywords_r,
					    error_r))
			return false;
	}
	return true;
}

bool imap_store_parse(const struct imap_arg *args, struct imap_store *store,
		      const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	const char *item;

	imap_store_release(store);
	if (args[0].type == IMAP_ARG_LIST) {
		*error_r = "STORE modifiers are not supported";
		return false;
	}
	if (!imap_arg_get_atom(&args[0], &item)) {
		*error_r = "Missing STORE data item";
		return false;
	}
	store->op = IMAP_STORE_REPLACE;
	if (item[0] == '+' || item[0] == '-') {
		store->op = item[0] == '+' ? IMAP_STORE_ADD :
			IMAP_STORE_REMOVE;
		item++;
	}
	if (strcasecmp(item, "FLAGS.SILENT") == 0) {
		store->silent = true;
	} else if (strcasecmp(item, "FLAGS") != 0) {
		*error_r = "Invalid STORE data item";
		return false;
	}
	args++;
	if (args->type == IMAP_ARG_EOL) {
		*error_r = "Missing flags";
		return false;
	}
	if (imap_arg_get_list(args, &list, &count)) {
		if (args[1].type != IMAP_ARG_EOL) {
			*error_r = "Unexpected arguments after flag list";
			return false;
		}
		args = list;
	}
	return imap_flags_parse(args, &store->flags, &store->keywords,
				&store->nkeywords, error_r);
}

void imap_store_release(struct imap_store *store)
{
	mem_free(store->keywords);
	store->nkeywords = 0;
	store->flags = 0;
	store->silent = false;
	store->op = IMAP_STORE_REPLACE;
}

void imap_flags_format(unsigned int flags, const char *const *keywords,
		       unsigned int nkeywords, struct str *out)
{
	bool first = true;
	unsigned int i;
	size_t j;

	str_append_c(out, '(');
	for (j = 0; j < IMAP_NSYSTEM; j++) {
		if ((flags & imap_system_flags[j].bit) == 0)
			continue;
		if (!first)
			str_append_c(out, ' ');
		str_append(out, imap_system_flags[j].name);
		first = false;
	}
	for (i = 0; i < nkeywords; i++) {
		if (!first)
			str_append_c(out, ' ');
		str_append(out, keywords[i]);
		first = false;
	}
	str_append_c(out, ')');
}
