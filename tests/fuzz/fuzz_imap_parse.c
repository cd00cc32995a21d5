/*
 * fuzz_imap_parse: libFuzzer target for the IMAP command parser
 * (imapd/imap_parse.c) and the argument parsers built on it
 * (imap_seqset.c, imap_search.c, imap_fetch.c, imap_flags.c,
 * imap_date.c).
 *
 * Input: byte 0 picks small or default limits, LITERAL+ and streamed
 * APPEND literals (read or refused by the caller); the rest is
 * a client stream. It is parsed twice, once whole and once in pieces
 * whose sizes come from the input itself, answering every continuation;
 * the two transcripts of results (and of the commands' argument trees)
 * must be equal. Every result must be consistent: a DONE command has a
 * tag and a name, arguments of the kinds announced with NUL-terminated
 * strings, lists that end with IMAP_ARG_EOL; an ERROR has a text. Each
 * complete command's arguments are also handed to the sequence-set,
 * SEARCH, FETCH, STORE and date parsers, which must not crash.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "imap_date.h"
#include "imap_fetch.h"
#include "imap_flags.h"
#include "imap_parse.h"
#include "imap_quote.h"
#include "imap_search.h"
#include "imap_seqset.h"

static struct imap_parser_limits lim;

static void check_args(const struct imap_arg *a, unsigned int count,
		       struct str *out, int depth)
{
	unsigned int i;

	if (depth > IMAP_PARSE_DEPTH_MAX + 1)
		abort();
	for (i = 0; i < count; i++, a++) {
		switch (a->type) {
		case IMAP_ARG_ATOM:
		case IMAP_ARG_NIL:
		case IMAP_ARG_QUOTED:
		case IMAP_ARG_LITERAL:
		case IMAP_ARG_LITERAL8:
			if (a->streamed) {
				if (!lim.stream_append || a->str == NULL ||
				    a->str[0] != '\0')
					abort();
				str_printf(out, " streamed %zu", a->len);
				break;
			}
			if (a->str == NULL || a->str[a->len] != '\0')
				abort();
			if (a->type != IMAP_ARG_LITERAL8 &&
			    memchr(a->str, '\0', a->len) != NULL)
				abort();
			if (a->type == IMAP_ARG_ATOM && a->len == 0)
				abort();
			str_printf(out, " %d:", (int)a->type);
			str_append_n(out, a->str, a->len);
			break;
		case IMAP_ARG_LIST:
			if (a->list[a->count].type != IMAP_ARG_EOL)
				abort();
			str_append(out, " (");
			check_args(a->list, a->count, out, depth + 1);
			str_append(out, ")");
			break;
		case IMAP_ARG_EOL:
			abort();
		}
	}
	if (a->type != IMAP_ARG_EOL)
		abort();
}

/* Hand the arguments to the argument parsers. */
static void exercise(const struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct imap_search *search = NULL;
	struct imap_fetch fetch = IMAP_FETCH_INIT;
	struct imap_store store = IMAP_STORE_INIT;
	struct str out = STR_INIT;
	const char *s, *error;
	time_t t;
	int tz;

	if (cmd->nargs == 0)
		return;
	if (imap_arg_get_atom(&args[0], &s) &&
	    imap_seqset_parse(&set, s, IMAP_SEQSET_ALLOW_DOLLAR, 100,
			      &error)) {
		imap_seqset_format(&set, &out);
		imap_seqset_resolve(&set, 1000);
		if (imap_seqset_count(&set) > 0 &&
		    !imap_seqset_contains(&set, imap_seqset_max(&set)))
			abort();
	}
	if (imap_search_parse(args, &search, &error) ==
	    IMAP_SEARCH_PARSE_OK) {
		if (search == NULL)
			abort();
		imap_search_free(&search);
	}
	if (cmd->nargs >= 2 && imap_fetch_parse(&args[1], &fetch, &error)) {
		for (unsigned int i = 0; i < fetch.count; i++)
			imap_fetch_item_name(&fetch.items[i], &out);
	}
	imap_fetch_release(&fetch);
	if (cmd->nargs >= 2 && imap_store_parse(&args[1], &store, &error))
		imap_flags_format(store.flags, store.keywords,
				  store.nkeywords, &out);
	imap_store_release(&store);
	if (imap_arg_get_astring(&args[0], &s)) {
		if (imap_date_parse_day(s, &t))
			imap_date_format(t, 0, &out);
		if (imap_date_parse_datetime(s, &t, &tz))
			imap_date_format(t, tz, &out);
		imap_quote_astring(&out, s, args[0].len, (s[0] & 1) != 0);
	}
	str_release(&out);
	imap_seqset_release(&set);
}

/* Parse data in pieces (piece sizes from seed, 0 for all at once). */
static char *run(const uint8_t *data, size_t size, const uint8_t *seed,
		 size_t seed_len)
{
	struct imap_parser *p = imap_parser_create(&lim);
	struct str out = STR_INIT;
	size_t pos = 0, used, n, k = 0;
	enum imap_parse_result r;
	const struct imap_cmd *cmd;

	while (pos < size) {
		n = size - pos;
		if (seed_len > 0) {
			size_t want = (size_t)seed[k++ % seed_len] % 16 + 1;

			if (want < n)
				n = want;
		}
		r = imap_parser_feed(p, data + pos, n, &used);
		if (used > n)
			abort();
		pos += used;
		cmd = imap_parser_cmd(p);
		switch (r) {
		case IMAP_PARSE_MORE:
			if (used != n)
				abort();
			break;
		case IMAP_PARSE_CONT:
			if (cmd->tag == NULL || cmd->name == NULL)
				abort();
			str_printf(&out, "CONT %zu\n",
				   imap_parser_literal_size(p));
			break;
		case IMAP_PARSE_LITERAL:
			if (!lim.stream_append)
				abort();
			n = imap_parser_literal_size(p);
			str_printf(&out, "LITERAL %zu\n", n);
			if (pos < size && (data[pos] & 1)) {
				/* Refuse it sometimes. */
				imap_parser_refuse(p);
				break;
			}
			pos += n < size - pos ? n : size - pos;
			imap_parser_literal_streamed(p);
			break;
		case IMAP_PARSE_DONE:
			if (cmd->tag == NULL || cmd->name == NULL ||
			    cmd->args == NULL)
				abort();
			str_printf(&out, "DONE %s %s", cmd->tag, cmd->name);
			check_args(cmd->args, cmd->nargs, &out, 0);
			str_append_c(&out, '\n');
			exercise(cmd);
			break;
		case IMAP_PARSE_ERROR:
		case IMAP_PARSE_FATAL:
			if (imap_parser_error(p) == NULL)
				abort();
			str_printf(&out, "ERR %s\n", imap_parser_error(p));
			if (r == IMAP_PARSE_FATAL)
				pos = size;
			break;
		}
	}
	imap_parser_free(&p);
	str_append(&out, "");
	return str_steal(&out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_imap_parse");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *whole, *pieces;

	if (size < 1)
		return 0;
	memset(&lim, 0, sizeof(lim));
	lim.literal_plus = (data[0] & 1) != 0;
	lim.stream_append = (data[0] & 4) != 0;
	if (data[0] & 2) {
		lim.line_max = 200;
		lim.literal_max = 64;
		lim.append_literal_max = 128;
		lim.literals_total_max = 150;
		lim.args_max = 20;
		lim.depth_max = 4;
	}
	whole = run(data + 1, size - 1, NULL, 0);
	pieces = run(data + 1, size - 1, data, size);
	if (strcmp(whole, pieces) != 0) {
		fprintf(stderr, "whole:\n%s\npieces:\n%s\n", whole, pieces);
		abort();
	}
	free(whole);
	free(pieces);
	return 0;
}
