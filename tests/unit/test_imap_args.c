/*
 * Unit tests for the argument parsers of imapd/: SEARCH keys
 * (imap_search.c), FETCH items (imap_fetch.c), STORE and flag lists
 * (imap_flags.c) and dates (imap_date.c). Arguments come from real
 * command lines through imap_parse.c.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_condstore.h"
#include "imap_date.h"
#include "imap_fetch.h"
#include "imap_flags.h"
#include "imap_parse.h"
#include "imap_search.h"
#include "mem.h"
#include "test_util.h"

static struct imap_parser *parser;

static void setup(void)
{
	parser = imap_parser_create(NULL);
}

static void teardown(void)
{
	imap_parser_free(&parser);
}

/* The arguments of the command "a NAME <text>\r\n" (literals
 * answered). */
static const struct imap_arg *args_cmd(const char *name, const char *text)
{
	struct str in = STR_INIT;
	size_t pos = 0, used;
	enum imap_parse_result r;

	imap_parser_reset(parser);
	str_printf(&in, "a %s %s\r\n", name, text);
	do {
		r = imap_parser_feed(parser, in.data + pos, in.len - pos,
				     &used);
		pos += used;
	} while (r == IMAP_PARSE_CONT || (r == IMAP_PARSE_MORE &&
					  pos < in.len));
	ck_assert_msg(r == IMAP_PARSE_DONE, "%s: %s", text,
		      imap_parser_error(parser));
	str_release(&in);
	return imap_parser_cmd(parser)->args;
}

static const struct imap_arg *args_of(const char *text)
{
	return args_cmd("X", text);
}

/* --- SEARCH --- */

static void dump_key(const struct imap_search_key *k, struct str *out)
{
	static const char *const names[] = {
		"ALL", "AND", "OR", "NOT", "SEQ", "UID", "FLAG", "KEYWORD",
		"BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE",
		"LARGER", "SMALLER", "HEADER", "BODY", "TEXT", "MODSEQ",
		"OLDER", "YOUNGER",
		"EMAILID", "THREADID", "SAVEDBEFORE", "SAVEDON", "SAVEDSINCE",
		"SAVEDATESUPPORTED",
	};
	const struct imap_search_key *c;

	str_append(out, names[k->type]);
	switch (k->type) {
	case IMAP_SEARCH_AND:
	case IMAP_SEARCH_OR:
	case IMAP_SEARCH_NOT:
		str_append_c(out, '(');
		for (c = k->child; c != NULL; c = c->next) {
			dump_key(c, out);
			if (c->next != NULL)
				str_append_c(out, ' ');
		}
		str_append_c(out, ')');
		break;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		str_append_c(out, ':');
		imap_seqset_format(&k->set, out);
		if (k->set.dollar)
			str_append(out, "$");
		break;
	case IMAP_SEARCH_FLAG:
		str_printf(out, ":%u", k->flag);
		break;
	case IMAP_SEARCH_HEADER:
		str_printf(out, ":%s=%s", k->field, k->value);
		break;
	case IMAP_SEARCH_KEYWORD:
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
	case IMAP_SEARCH_EMAILID:
	case IMAP_SEARCH_THREADID:
		str_printf(out, ":%s", k->value);
		break;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
	case IMAP_SEARCH_MODSEQ:
	case IMAP_SEARCH_OLDER:
	case IMAP_SEARCH_YOUNGER:
		str_printf(out, ":%llu", (unsigned long long)k->size);
		break;
	case IMAP_SEARCH_ALL:
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		break;
	default:
		str_printf(out, ":%lld", (long long)k->date);
		break;
	}
}

static const char *search_error;

/* The tree of a search, or "BAD"/"BADCHARSET". */
static char *search(const char *text)
{
	struct imap_search *s = NULL;
	struct str out = STR_INIT;
	enum imap_search_parse_result r;

	search_error = NULL;
	r = imap_search_parse(args_of(text), &s, &search_error);
	if (r != IMAP_SEARCH_PARSE_OK) {
		ck_assert_ptr_nonnull(search_error);
		ck_assert_ptr_null(s);
		str_append(&out, r == IMAP_SEARCH_PARSE_BAD ? "BAD" :
			   "BADCHARSET");
		return str_steal(&out);
	}
	if (s->charset != NULL)
		str_printf(&out, "[%s] ", s->charset);
	if (s->esearch)
		str_printf(&out, "RETURN %u ", s->ret);
	if (s->ret & IMAP_SEARCH_RETURN_PARTIAL)
		str_printf(&out, "PARTIAL %u:%u ", s->partial_lo,
			   s->partial_hi);
	dump_key(s->root, &out);
	{
		/* A copy (CONTEXT's live searches) reads the same and
		 * outlives the command's arguments. */
		struct imap_search *copy = imap_search_dup(s);
		struct str again = STR_INIT;

		imap_parser_reset(parser);
		dump_key(copy->root, &again);
		ck_assert_ptr_nonnull(strstr(str_c(&out), str_c(&again)));
		imap_search_free(&copy);
		str_release(&again);
	}
	imap_search_free(&s);
	ck_assert_ptr_null(s);
	return str_steal(&out);
}

#define ck_search(text, expected) do { \
	char *s_ = search(text); \
	ck_assert_str_eq(s_, expected); \
	free(s_); \
} while (0)

START_TEST(test_search_keys)
{
	ck_search("ALL", "AND(ALL)");
	ck_search("all seen", "AND(ALL FLAG:8)");
	ck_search("ANSWERED DELETED DRAFT FLAGGED RECENT SEEN",
		  "AND(FLAG:1 FLAG:4 FLAG:16 FLAG:2 FLAG:32 FLAG:8)");
	ck_search("UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
		  "AND(NOT(FLAG:1) NOT(FLAG:4) NOT(FLAG:16) NOT(FLAG:2) "
		  "NOT(FLAG:8))");
	ck_search("NEW OLD", "AND(AND(FLAG:32 NOT(FLAG:8)) NOT(FLAG:32))");
	ck_search("FROM alice TO \"bob smith\" CC c BCC d SUBJECT {5}\r\nhello",
		  "AND(HEADER:FROM=alice HEADER:TO=bob smith HEADER:CC=c "
		  "HEADER:BCC=d HEADER:SUBJECT=hello)");
	ck_search("HEADER X-Spam \"\"", "AND(HEADER:X-Spam=)");
	ck_search("BODY x TEXT y", "AND(BODY:x TEXT:y)");
	ck_search("KEYWORD $Junk UNKEYWORD work",
		  "AND(KEYWORD:$Junk NOT(KEYWORD:work))");
	ck_search("BEFORE 1-Feb-1994 ON \"01-Feb-1994\" SINCE 29-Feb-2000",
		  "AND(BEFORE:760060800 ON:760060800 SINCE:951782400)");
	ck_search("SENTBEFORE 1-Jan-1970 SENTON 2-jan-1970 "
		  "SENTSINCE 1-Feb-1994",
		  "AND(SENTBEFORE:0 SENTON:86400 SENTSINCE:760060800)");
	ck_search("LARGER 1000 SMALLER 4294967296",
		  "AND(LARGER:1000 SMALLER:4294967296)");
	ck_search("OLDER 3600 NOT YOUNGER 1", "AND(OLDER:3600 NOT(YOUNGER:1))");
	ck_search("1:3,5 UID 10:* $", "AND(SEQ:1:3,5 UID:10:* SEQ:$)");
	ck_search("NOT SEEN", "AND(NOT(FLAG:8))");
	ck_search("OR SEEN FLAGGED", "AND(OR(FLAG:8 FLAG:2))");
	ck_search("OR (SEEN FROM x) NOT (TO y)",
		  "AND(OR(AND(FLAG:8 HEADER:FROM=x) NOT(AND(HEADER:TO=y))))");
	ck_search("OR OR a b c", "BAD");
	ck_search("OR OR SEEN DRAFT DELETED",
		  "AND(OR(OR(FLAG:8 FLAG:16) FLAG:4))");
}
END_TEST

START_TEST(test_search_modseq)
{
	ck_search("MODSEQ 620162338", "AND(MODSEQ:620162338)");
	ck_search("modseq 0", "AND(MODSEQ:0)");
	/* RFC 7162 3.1.5's example. */
	ck_search("MODSEQ \"/flags/\\\\draft\" all 620162338",
		  "AND(MODSEQ:620162338)");
	ck_search("MODSEQ \"/flags/$Junk\" priv 5", "AND(MODSEQ:5)");
	ck_search("MODSEQ \"/FLAGS/\\\\Seen\" SHARED 5", "AND(MODSEQ:5)");
	ck_search("OR MODSEQ 5 SEEN", "AND(OR(MODSEQ:5 FLAG:8))");
	ck_search("MODSEQ", "BAD");
	ck_search("MODSEQ x", "BAD");
	ck_search("MODSEQ 9223372036854775808", "BAD");
	ck_search("MODSEQ \"/flags/\\\\seen\" 5", "BAD");
	ck_search("MODSEQ \"/flags/\\\\seen\" mine 5", "BAD");
	ck_search("MODSEQ \"/other/x\" all 5", "BAD");
	ck_search("MODSEQ \"/flags/\" all 5", "BAD");
}
END_TEST

/* OBJECTID (RFC 8474) and SAVEDATE (RFC 8514) keys. */
START_TEST(test_search_objectid_savedate)
{
	ck_search("EMAILID M6d99ac3275bb4e threadid T64b478a75b7ea9_-",
		  "AND(EMAILID:M6d99ac3275bb4e THREADID:T64b478a75b7ea9_-)");
	ck_search("SAVEDBEFORE 1-Feb-1994 SAVEDON 2-jan-1970 "
		  "SAVEDSINCE \"29-Feb-2000\"",
		  "AND(SAVEDBEFORE:760060800 SAVEDON:86400 "
		  "SAVEDSINCE:951782400)");
	ck_search("SAVEDATESUPPORTED NOT SAVEDATESUPPORTED",
		  "AND(SAVEDATESUPPORTED NOT(SAVEDATESUPPORTED))");
	/* An objectid is an atom of ALPHA, DIGIT, "_" and "-". */
	ck_search("EMAILID", "BAD");
	ck_search("EMAILID a.b", "BAD");
	ck_search("EMAILID \"abc\"", "BAD");
	ck_search("EMAILID a+b", "BAD");
	ck_search("THREADID (x)", "BAD");
	ck_search("SAVEDON 31-Feb-2020", "BAD");
	ck_search("SAVEDSINCE", "BAD");
}
END_TEST

START_TEST(test_search_options)
{
	ck_search("CHARSET UTF-8 TEXT x", "[UTF-8] AND(TEXT:x)");
	ck_search("charset us-ascii ALL", "[us-ascii] AND(ALL)");
	ck_search("CHARSET ISO-8859-1 TEXT x", "BADCHARSET");
	ck_search("RETURN (MIN MAX) ALL", "RETURN 3 AND(ALL)");
	ck_search("RETURN () ALL", "RETURN 4 AND(ALL)");
	ck_search("RETURN (COUNT SAVE) CHARSET UTF-8 1:*",
		  "[UTF-8] RETURN 24 AND(SEQ:1:*)");
	ck_search("RETURN (BOGUS) ALL", "BAD");
	ck_search("RETURN ALL", "BAD");
	/* CONTEXT=SEARCH (RFC 5267): UPDATE, PARTIAL lo:hi either way. */
	ck_search("RETURN (UPDATE) SEEN", "RETURN 32 AND(FLAG:8)");
	ck_search("RETURN (PARTIAL 4:2 COUNT) ALL",
		  "RETURN 72 PARTIAL 2:4 AND(ALL)");
	ck_search("RETURN (PARTIAL 1:4294967295) ALL",
		  "RETURN 64 PARTIAL 1:4294967295 AND(ALL)");
	ck_search("RETURN (PARTIAL 1) ALL", "BAD");
	ck_search("RETURN (PARTIAL 1:*) ALL", "BAD");
	ck_search("RETURN (PARTIAL *:1) ALL", "BAD");
	ck_search("RETURN (PARTIAL 0:1) ALL", "BAD");
	ck_search("RETURN (PARTIAL) ALL", "BAD");
	ck_search("RETURN (PARTIAL 1:2:3) ALL", "BAD");
}
END_TEST

START_TEST(test_search_bad)
{
	struct str deep = STR_INIT;
	int i;

	ck_search("", "BAD");
	ck_search("BOGUS", "BAD");
	ck_search("FROM", "BAD");
	ck_search("HEADER X", "BAD");
	ck_search("HEADER \"a:b\" c", "BAD");
	ck_search("BEFORE 30-Feb-2000", "BAD");
	ck_search("BEFORE 1-Foo-2000", "BAD");
	ck_search("BEFORE 1-Feb-94", "BAD");
	ck_search("BEFORE 001-Feb-1994", "BAD");
	ck_search("LARGER -1", "BAD");
	/* WITHIN (RFC 5032): an interval of at least one second. */
	ck_search("OLDER 0", "BAD");
	ck_search("YOUNGER", "BAD");
	ck_search("YOUNGER -5", "BAD");
	ck_search("OLDER (5)", "BAD");
	ck_search("LARGER 9223372036854775808", "BAD");
	ck_search("LARGER \"5\"", "BAD");
	ck_search("UID 0", "BAD");
	ck_search("UID 4294967296", "BAD");
	ck_search("4294967296", "BAD");
	ck_search("1:4294967297", "BAD");
	ck_search("KEYWORD \\Seen", "BAD");
	ck_search("NOT", "BAD");
	ck_search("OR SEEN", "BAD");
	ck_search("()", "BAD");
	ck_search("(SEEN) \"x\"", "BAD");
	ck_search("CHARSET", "BAD");
	/* NOT NOT NOT ... beyond the depth limit: an error. */
	for (i = 0; i < 1000; i++)
		str_append(&deep, "NOT ");
	str_append(&deep, "ALL");
	ck_search(str_c(&deep), "BAD");
	ck_assert_str_eq(search_error, "Search keys nested too deeply");
	str_clear(&deep);
	for (i = 0; i < IMAP_SEARCH_DEPTH_MAX - 1; i++)
		str_append(&deep, "NOT ");
	str_append(&deep, "ALL");
	{
		char *s = search(str_c(&deep));

		ck_assert(str_has_prefix(s, "AND(NOT(NOT("));
		free(s);
	}
	str_release(&deep);
}
END_TEST

/* --- FETCH --- */

static char *fetch(const char *text)
{
	struct imap_fetch f = IMAP_FETCH_INIT;
	struct str out = STR_INIT;
	const char *error = NULL;
	unsigned int i;

	if (!imap_fetch_parse(args_cmd("FETCH", text), &f, &error)) {
		ck_assert_ptr_nonnull(error);
		imap_fetch_release(&f);
		return mem_strdup("BAD");
	}
	for (i = 0; i < f.count; i++) {
		if (i > 0)
			str_append_c(&out, ' ');
		if (f.items[i].peek)
			str_append(&out, "peek:");
		if (imap_fetch_item_sets_seen(&f.items[i]))
			str_append(&out, "seen:");
		imap_fetch_item_name(&f.items[i], &out);
		if (f.items[i].partial)
			str_printf(&out, "/%llu",
				   (unsigned long long)f.items[i].length);
	}
	imap_fetch_release(&f);
	return str_steal(&out);
}

#define ck_fetch(text, expected) do { \
	char *f_ = fetch(text); \
	ck_assert_str_eq(f_, expected); \
	free(f_); \
} while (0)

START_TEST(test_fetch_items)
{
	ck_fetch("ALL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
	ck_fetch("fast", "FLAGS INTERNALDATE RFC822.SIZE");
	ck_fetch("FULL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY");
	ck_fetch("uid", "UID");
	ck_fetch("(UID FLAGS ENVELOPE BODYSTRUCTURE BODY INTERNALDATE)",
		 "UID FLAGS ENVELOPE BODYSTRUCTURE BODY INTERNALDATE");
	ck_fetch("(RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE)",
		 "seen:RFC822 RFC822.HEADER seen:RFC822.TEXT RFC822.SIZE");
	ck_fetch("BODY[]", "seen:BODY[]");
	ck_fetch("body.peek[]", "peek:BODY[]");
	ck_fetch("BODY[HEADER]", "seen:BODY[HEADER]");
	ck_fetch("BODY[TEXT]<0.100>", "seen:BODY[TEXT]<0>/100");
	ck_fetch("BODY.PEEK[1.2.3]", "peek:BODY[1.2.3]");
	ck_fetch("BODY[1.2.MIME]", "seen:BODY[1.2.MIME]");
	ck_fetch("BODY[2.header]", "seen:BODY[2.HEADER]");
	ck_fetch("BODY[2.TEXT]<5.4294967296>",
		 "seen:BODY[2.TEXT]<5>/4294967296");
	ck_fetch("(BODY.PEEK[HEADER.FIELDS (From to \"X-Spam\")])",
		 "peek:BODY[HEADER.FIELDS (FROM TO X-SPAM)]");
	ck_fetch("BODY[1.HEADER.FIELDS.NOT (Received)]<10.20>",
		 "seen:BODY[1.HEADER.FIELDS.NOT (RECEIVED)]<10>/20");
	ck_fetch("(BINARY[1.2] BINARY.PEEK[] BINARY.SIZE[3] BINARY[1]<0.5>)",
		 "seen:BINARY[1.2] peek:BINARY[] BINARY.SIZE[3] "
		 "seen:BINARY[1]<0>/5");
	ck_fetch("(FLAGS MODSEQ)", "FLAGS MODSEQ");
	ck_fetch("modseq", "MODSEQ");
}
END_TEST

/* --- CONDSTORE / QRESYNC parameters (imap_condstore.c) --- */

/* FETCH modifiers as "c<n>" and "v", or "BAD". */
static void ck_fetch_mods(const char *text, const char *expected)
{
	struct imap_fetch_mods m;
	struct str out = STR_INIT;
	const char *error = NULL;

	if (!imap_fetch_mods_parse(args_of(text), &m, &error)) {
		ck_assert_ptr_nonnull(error);
		str_set(&out, "BAD");
	} else {
		if (m.changedsince_set)
			str_printf(&out, "c%llu",
				   (unsigned long long)m.changedsince);
		if (m.vanished)
			str_append(&out, "v");
	}
	ck_assert_msg(strcmp(str_c(&out), expected) == 0, "%s: %s != %s",
		      text, str_c(&out), expected);
	str_release(&out);
}

START_TEST(test_fetch_modifiers)
{
	ck_fetch_mods("(CHANGEDSINCE 12345)", "c12345");
	ck_fetch_mods("(changedsince 0)", "c0");
	ck_fetch_mods("(CHANGEDSINCE 9223372036854775807)",
		      "c9223372036854775807");
	ck_fetch_mods("(CHANGEDSINCE 7 VANISHED)", "c7v");
	ck_fetch_mods("(vanished CHANGEDSINCE 7)", "c7v");
	ck_fetch_mods("(VANISHED)", "BAD");	/* needs CHANGEDSINCE */
	ck_fetch_mods("(CHANGEDSINCE 9223372036854775808)", "BAD");
	ck_fetch_mods("(CHANGEDSINCE -1)", "BAD");
	ck_fetch_mods("(CHANGEDSINCE 1x)", "BAD");
	ck_fetch_mods("(CHANGEDSINCE)", "BAD");
	ck_fetch_mods("(CHANGEDSINCE 1 CHANGEDSINCE 2)", "BAD");
	ck_fetch_mods("(CHANGEDSINCE 1 VANISHED VANISHED)", "BAD");
	ck_fetch_mods("(CHANGEDSINCE \"5\")", "BAD");
	ck_fetch_mods("(FOO 1)", "BAD");
	ck_fetch_mods("()", "BAD");
	ck_fetch_mods("CHANGEDSINCE", "BAD");
}
END_TEST

static void ck_store_mods(const char *text, const char *expected)
{
	uint64_t v;
	const char *error = NULL;
	char buf[32];

	if (!imap_store_mods_parse(args_of(text), &v, &error)) {
		ck_assert_ptr_nonnull(error);
		ck_assert_uint_eq(v, UINT64_MAX);
		snprintf(buf, sizeof(buf), "BAD");
	} else {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	}
	ck_assert_msg(strcmp(buf, expected) == 0, "%s: %s != %s", text, buf,
		      expected);
}

START_TEST(test_store_modifiers)
{
	ck_store_mods("(UNCHANGEDSINCE 320162338)", "320162338");
	ck_store_mods("(unchangedsince 0)", "0");
	ck_store_mods("(UNCHANGEDSINCE)", "BAD");
	ck_store_mods("(UNCHANGEDSINCE 1 2)", "BAD");
	ck_store_mods("(UNCHANGEDSINCE 99999999999999999999)", "BAD");
	ck_store_mods("(CHANGEDSINCE 5)", "BAD");
	ck_store_mods("()", "BAD");
	ck_store_mods("UNCHANGEDSINCE", "BAD");
}
END_TEST

/* SELECT parameters as "C", "Q<validity>/<modseq>[ k<uids>][ m<seqs>=
 * <uids>]", or "BAD". */
static void ck_select(const char *text, const char *expected)
{
	struct imap_select_params p = IMAP_SELECT_PARAMS_INIT;
	struct str out = STR_INIT;
	const char *error = NULL;

	if (!imap_select_params_parse(args_of(text), &p, &error)) {
		ck_assert_ptr_nonnull(error);
		str_set(&out, "BAD");
	} else {
		if (p.condstore)
			str_append(&out, "C");
		if (p.qresync)
			str_printf(&out, "Q%u/%llu", p.uidvalidity,
				   (unsigned long long)p.modseq);
		if (p.has_known_uids) {
			str_append(&out, " k");
			imap_seqset_format(&p.known_uids, &out);
		}
		if (p.has_match) {
			str_append(&out, " m");
			imap_seqset_format(&p.match_seqs, &out);
			str_append_c(&out, '=');
			imap_seqset_format(&p.match_uids, &out);
		}
	}
	ck_assert_msg(strcmp(str_c(&out), expected) == 0, "%s: %s != %s",
		      text, str_c(&out), expected);
	imap_select_params_release(&p);
	str_release(&out);
}

START_TEST(test_select_params)
{
	ck_select("(CONDSTORE)", "C");
	ck_select("(condstore)", "C");
	/* RFC 7162's examples. */
	ck_select("(QRESYNC (67890007 20050715194045000 "
		  "41,43:211,214:541))",
		  "Q67890007/20050715194045000 k41,43:211,214:541");
	ck_select("(QRESYNC (67890007 90060115194045000 "
		  "41:211,214:541))",
		  "Q67890007/90060115194045000 k41:211,214:541");
	ck_select("(QRESYNC (67890007 90060115194045000 1:29997 "
		  "(5000,7500,9000,9990:9999 15000,22500,27000,29970,"
		  "29973,29976,29979,29982,29985,29988,29991,29994,"
		  "29997)))",
		  "Q67890007/90060115194045000 k1:29997 "
		  "m5000,7500,9000,9990:9999=15000,22500,27000,29970,29973,"
		  "29976,29979,29982,29985,29988,29991,29994,29997");
	ck_select("(QRESYNC (1 2))", "Q1/2");
	ck_select("(CONDSTORE QRESYNC (1 2 5:3))", "CQ1/2 k3:5");
	ck_select("(QRESYNC (1 2 1:5 (1:2 3:4)))", "Q1/2 k1:5 m1:2=3:4");
	ck_select("(QRESYNC (1 2 (1:2 3:4)))", "Q1/2 m1:2=3:4");
	ck_select("(QRESYNC (1 2 1:5 (1:3 3:4)))", "BAD");	/* sizes */
	ck_select("(QRESYNC (1 2 1:5 (1:2)))", "BAD");
	ck_select("(QRESYNC (1 2 1:*))", "BAD");	/* no '*' */
	ck_select("(QRESYNC (1 2 $))", "BAD");
	ck_select("(QRESYNC (0 2))", "BAD");	/* nz uidvalidity */
	ck_select("(QRESYNC (1 0))", "BAD");	/* nz modseq */
	ck_select("(QRESYNC (4294967296 2))", "BAD");
	ck_select("(QRESYNC (1))", "BAD");
	ck_select("(QRESYNC (1 2 3 (1 1) 5))", "BAD");
	ck_select("(QRESYNC)", "BAD");
	ck_select("(QRESYNC 1 2)", "BAD");
	ck_select("(QRESYNC (1 2) QRESYNC (1 2))", "BAD");
	ck_select("(CONDSTORE CONDSTORE)", "BAD");
	ck_select("(FOO)", "BAD");
	ck_select("()", "BAD");
	ck_select("CONDSTORE", "BAD");
}
END_TEST

/* OBJECTID, SAVEDATE and PREVIEW items; PREVIEW's modifier list. */
START_TEST(test_fetch_ext_items)
{
	struct imap_fetch f = IMAP_FETCH_INIT;
	const char *error = NULL;

	ck_fetch("(EMAILID THREADID SAVEDATE PREVIEW)",
		 "EMAILID THREADID SAVEDATE PREVIEW");
	ck_fetch("emailid", "EMAILID");
	ck_fetch("(PREVIEW (LAZY) UID)", "PREVIEW UID");
	ck_fetch("(UID PREVIEW (lazy))", "UID PREVIEW");
	ck_fetch("(PREVIEW (FUZZY))", "BAD");
	ck_fetch("(PREVIEW ())", "BAD");
	ck_fetch("(PREVIEW (LAZY FUZZY))", "BAD");
	ck_fetch("(UID (LAZY))", "BAD");
	ck_assert(imap_fetch_parse(args_cmd("FETCH", "(PREVIEW (LAZY) "
					    "PREVIEW)"), &f, &error));
	ck_assert_uint_eq(f.count, 2);
	ck_assert(f.items[0].lazy);
	ck_assert(!f.items[1].lazy);
	ck_assert(!imap_fetch_item_sets_seen(&f.items[0]));
	imap_fetch_release(&f);
}
END_TEST

START_TEST(test_fetch_bad)
{
	static const char *const bad[] = {
		"BOGUS", "()", "(ALL)", "(UID \"FLAGS\")", "(UID (FLAGS))",
		"BODY[MIME]", "BODY[0]", "BODY[1.0]", "BODY[4294967296]",
		"BODY[1.]", "BODY[.1]", "BODY[1..2]", "BODY[TEXT.1]",
		"BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]",
		"BODY[HEADER.FIELDS (a:b)]", "BODY[HEADER.FIELDS (a  b)]",
		"BODY[HEADER.FIELDS (a) x]", "BODY[HEADER.FIELDS (a]",
		"BODY[]<0.0>", "BODY[]<0>", "BODY[]<a.1>", "BODY[]<1.2>x",
		"BODY[]<.1>", "BODY[]<18446744073709551616.1>",
		"BINARY[TEXT]", "BINARY[1.MIME]", "BINARY.SIZE[1]<0.1>",
		"BODY.PEEK", "BINARY", "BINARY.SIZE", "BODYX[]",
		"BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21."
		"22.23.24.25.26.27.28.29.30.31.32.33]",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *f = fetch(bad[i]);

		ck_assert_msg(strcmp(f, "BAD") == 0, "%s accepted: %s",
			      bad[i], f);
		free(f);
	}
	/* Not an atom or list. */
	ck_fetch("\"ALL\"", "BAD");
}
END_TEST

/* --- STORE and flags --- */

static char *store(const char *text)
{
	struct imap_store st = IMAP_STORE_INIT;
	struct str out = STR_INIT;
	const char *error = NULL;

	if (!imap_store_parse(args_of(text), &st, &error)) {
		ck_assert_ptr_nonnull(error);
		imap_store_release(&st);
		return mem_strdup("BAD");
	}
	str_printf(&out, "%c%s ", "=+-"[st.op], st.silent ? "S" : "");
	imap_flags_format(st.flags, st.keywords, st.nkeywords, &out);
	imap_store_release(&st);
	return str_steal(&out);
}

#define ck_store(text, expected) do { \
	char *s_ = store(text); \
	ck_assert_str_eq(s_, expected); \
	free(s_); \
} while (0)

START_TEST(test_store)
{
	ck_store("FLAGS (\\Seen)", "= (\\Seen)");
	ck_store("+FLAGS (\\seen \\DELETED $Junk)",
		 "+ (\\Deleted \\Seen $Junk)");
	ck_store("-FLAGS.SILENT \\Answered \\Flagged \\Draft",
		 "-S (\\Answered \\Flagged \\Draft)");
	ck_store("+flags.silent ()", "+S ()");
	ck_store("FLAGS (a A b a)", "= (a b)");
	ck_store("FLAGS", "BAD");
	ck_store("FLAGS (\\Recent)", "BAD");
	ck_store("FLAGS (\\Bogus)", "BAD");
	ck_store("FLAGS (\\*)", "BAD");
	ck_store("FLAGS (\"quoted\")", "BAD");
	ck_store("FLAGS (a]b)", "BAD");
	ck_store("FLAGS (a%)", "BAD");
	ck_store("FLAGS ((x))", "BAD");
	ck_store("FLAGS (a) b", "BAD");
	ck_store("*FLAGS (a)", "BAD");
	ck_store("FLAGS.LOUD (a)", "BAD");
	ck_store("(UNCHANGEDSINCE 5) FLAGS (a)", "BAD");
	ck_store("\"FLAGS\" (a)", "BAD");
}
END_TEST

START_TEST(test_keyword_limit)
{
	struct str text = STR_INIT;
	char *s;
	int i;

	str_append(&text, "FLAGS (");
	for (i = 0; i < IMAP_FLAGS_KEYWORDS_MAX; i++)
		str_printf(&text, "%sk%d", i > 0 ? " " : "", i);
	str_append(&text, ")");
	s = store(str_c(&text));
	ck_assert(str_has_prefix(s, "= (k0 k1"));
	free(s);
	str_truncate(&text, text.len - 1);
	str_append(&text, " one-more)");
	ck_store(str_c(&text), "BAD");
	str_release(&text);
	ck_assert_uint_eq(imap_flags_system("\\SEEN"), IMAP_FLAG_SEEN);
	ck_assert_uint_eq(imap_flags_system("Seen"), 0);
}
END_TEST

/* --- dates --- */

static char *fmt_date(time_t t, int tz)
{
	struct str out = STR_INIT;

	imap_date_format(t, tz, &out);
	return str_steal(&out);
}

START_TEST(test_dates)
{
	time_t t;
	int tz;
	char *s;

	ck_assert(imap_date_parse_day("1-Feb-1994", &t) && t == 760060800);
	ck_assert(imap_date_parse_day("01-FEB-1994", &t) && t == 760060800);
	ck_assert(imap_date_parse_day("31-Dec-9999", &t));
	ck_assert(imap_date_parse_day("29-Feb-2000", &t));
	ck_assert(!imap_date_parse_day("29-Feb-1900", &t));
	ck_assert(!imap_date_parse_day("29-Feb-2001", &t));
	ck_assert(!imap_date_parse_day("0-Feb-1994", &t));
	ck_assert(!imap_date_parse_day("32-Jan-1994", &t));
	ck_assert(!imap_date_parse_day("1-Feb-1899", &t));
	ck_assert(!imap_date_parse_day("1-Feb-19945", &t));
	ck_assert(!imap_date_parse_day("1 Feb 1994", &t));
	ck_assert(!imap_date_parse_day("", &t));
	ck_assert(!imap_date_parse_day("1-Fe", &t));

	ck_assert(imap_date_parse_datetime("01-Feb-1994 21:52:25 -0800", &t,
					   &tz));
	ck_assert_int_eq(tz, -480);
	ck_assert_int_eq(t, 760060800 + 21 * 3600 + 52 * 60 + 25 + 8 * 3600);
	ck_assert(imap_date_parse_datetime(" 1-Feb-1994 00:00:00 +0000", &t,
					   &tz) && t == 760060800 && tz == 0);
	ck_assert(!imap_date_parse_datetime("1-Feb-1994 00:00:00 +0000", &t,
					    &tz));
	ck_assert(!imap_date_parse_datetime("01-Feb-1994 24:00:00 +0000", &t,
					    &tz));
	ck_assert(!imap_date_parse_datetime("01-Feb-1994 00:00:00 0000", &t,
					    &tz));
	ck_assert(!imap_date_parse_datetime("01-Feb-1994 00:00:00 +0060", &t,
					    &tz));
	ck_assert(!imap_date_parse_datetime("01-Feb-1994 00:00:00 +00000",
					    &t, &tz));
	ck_assert(!imap_date_parse_datetime("01-Feb-1994 0:00:00 +0000", &t,
					    &tz));

	s = fmt_date(760060800 + 21 * 3600 + 52 * 60 + 25 + 8 * 3600, -480);
	ck_assert_str_eq(s, "\"01-Feb-1994 21:52:25 -0800\"");
	free(s);
	s = fmt_date(0, 0);
	ck_assert_str_eq(s, "\"01-Jan-1970 00:00:00 +0000\"");
	free(s);
	s = fmt_date(-1, 90);
	ck_assert_str_eq(s, "\"01-Jan-1970 01:29:59 +0130\"");
	free(s);
	/* Round trip through the parser. */
	s = fmt_date(1700000000, 330);
	s[strlen(s) - 1] = '\0';
	ck_assert(imap_date_parse_datetime(s + 1, &t, &tz));
	ck_assert_int_eq(t, 1700000000);
	ck_assert_int_eq(tz, 330);
	free(s);
}
END_TEST

static Suite *imap_args_suite(void)
{
	Suite *s = suite_create("imap_args");
	TCase *tc = tcase_create("args");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_search_keys);
	tcase_add_test(tc, test_search_options);
	tcase_add_test(tc, test_search_modseq);
	tcase_add_test(tc, test_search_bad);
	tcase_add_test(tc, test_fetch_items);
	tcase_add_test(tc, test_fetch_bad);
	tcase_add_test(tc, test_fetch_modifiers);
	tcase_add_test(tc, test_store_modifiers);
	tcase_add_test(tc, test_select_params);
	tcase_add_test(tc, test_fetch_ext_items);
	tcase_add_test(tc, test_search_objectid_savedate);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_keyword_limit);
	tcase_add_test(tc, test_dates);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_args_suite());
}
