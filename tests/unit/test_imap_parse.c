/*
 * Unit tests for imapd/imap_parse.c (the incremental IMAP command
 * parser: every token kind, literal continuation states, limits, error
 * recovery, and the same results whatever the input is cut into) and
 * imapd/imap_quote.c (server output strings).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parse.h"
#include "imap_quote.h"
#include "test_util.h"

/* --- a transcript of what the parser says --- */

static void dump_args(struct str *out, const struct imap_arg *a)
{
	for (; a->type != IMAP_ARG_EOL; a++) {
		if (out->len > 0 && out->data[out->len - 1] != '(')
			str_append_c(out, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
			str_printf(out, "A:%s", a->str);
			break;
		case IMAP_ARG_NIL:
			str_append(out, "NIL");
			break;
		case IMAP_ARG_QUOTED:
			str_printf(out, "Q:%s", a->str);
			break;
		case IMAP_ARG_LITERAL:
		case IMAP_ARG_LITERAL8:
			str_printf(out, "%s{%zu%s}", a->type ==
				   IMAP_ARG_LITERAL8 ? "L8" : "L", a->len,
				   a->nonsync ? "+" : "");
			if (a->streamed) {
				const char *s;

				ck_assert_str_eq(a->str, "");
				ck_assert(!imap_arg_get_string(a, &s));
				str_append(out, "streamed");
				break;
			}
			str_append_n(out, a->str, a->len);
			ck_assert(a->str[a->len] == '\0');
			break;
		case IMAP_ARG_LIST:
			str_append_c(out, '(');
			dump_args(out, a->list);
			ck_assert(a->list[a->count].type == IMAP_ARG_EOL);
			str_append_c(out, ')');
			break;
		case IMAP_ARG_EOL:
			break;
		}
	}
}

/* Feed input in pieces of chunk bytes (0: all at once), answering every
 * CONT, and return what happened, one line per result. */
static char *run(struct imap_parser *p, const char *input, size_t len,
		 size_t chunk)
{
	struct str out = STR_INIT, args = STR_INIT;
	size_t pos = 0, used, n;
	enum imap_parse_result r;
	const struct imap_cmd *cmd;

	if (chunk == 0)
		chunk = len;
	while (pos < len) {
		n = len - pos < chunk ? len - pos : chunk;
		r = imap_parser_feed(p, input + pos, n, &used);
		ck_assert_uint_le(used, n);
		pos += used;
		cmd = imap_parser_cmd(p);
		switch (r) {
		case IMAP_PARSE_MORE:
			ck_assert_uint_eq(used, n);
			break;
		case IMAP_PARSE_CONT:
			str_printf(&out, "CONT %s %zu\n", cmd->tag,
				   imap_parser_literal_size(p));
			break;
		case IMAP_PARSE_LITERAL:
			/* The caller reads the data itself. */
			n = imap_parser_literal_size(p);
			str_printf(&out, "LITERAL %s %zu %s ", cmd->tag, n,
				   imap_parser_literal_sync(p) ? "sync" :
				   "nonsync");
			if (n > len - pos)
				n = len - pos;
			str_append_n(&out, input + pos, n);
			str_append_c(&out, '\n');
			pos += n;
			imap_parser_literal_streamed(p);
			break;
		case IMAP_PARSE_DONE:
			str_clear(&args);
			dump_args(&args, cmd->args);
			str_printf(&out, "DONE %s %s%s [%s]\n", cmd->tag,
				   cmd->uid ? "UID " : "", cmd->name,
				   str_c(&args));
			break;
		case IMAP_PARSE_ERROR:
			str_printf(&out, "ERROR %s %s%s\n",
				   cmd->tag != NULL ? cmd->tag : "*",
				   imap_parser_error(p),
				   imap_parser_error_toobig(p) ?
				   " TOOBIG" : "");
			break;
		case IMAP_PARSE_FATAL:
			str_printf(&out, "FATAL %s\n", imap_parser_error(p));
			ck_assert(imap_parser_feed(p, input + pos, len - pos,
						   &used) == IMAP_PARSE_FATAL);
			ck_assert_uint_eq(used, 0);
			return str_steal(&out);
		}
	}
	str_release(&args);
	if (out.data == NULL)
		str_append(&out, "");
	return str_steal(&out);
}

static struct imap_parser_limits lim;

/* Parse input whole, one byte at a time and in pieces of 2, 3 and 7
 * bytes with fresh parsers: all transcripts must be equal. */
static char *parse_len(const char *input, size_t len)
{
	static const size_t chunks[] = { 1, 2, 3, 7 };
	struct imap_parser *p = imap_parser_create(&lim);
	char *whole = run(p, input, len, 0), *piece;
	size_t i;

	imap_parser_free(&p);
	ck_assert_ptr_null(p);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		p = imap_parser_create(&lim);
		piece = run(p, input, len, chunks[i]);
		imap_parser_free(&p);
		if (strcmp(whole, piece) != 0)
			ck_abort_msg("chunk %zu differs:\n%s---\n%s", chunks[i],
				     whole, piece);
		free(piece);
	}
	return whole;
}

static char *parse(const char *input)
{
	return parse_len(input, strlen(input));
}

#define ck_parse(input, expected) do { \
	char *got_ = parse(input); \
	ck_assert_str_eq(got_, expected); \
	free(got_); \
} while (0)

static void setup(void)
{
	memset(&lim, 0, sizeof(lim));
	lim.literal_plus = true;
}

START_TEST(test_simple)
{
	ck_parse("a1 NOOP\r\n", "DONE a1 NOOP []\n");
	ck_parse("a1 noop\n", "DONE a1 NOOP []\n");
	ck_parse("x LOGIN bob secret\r\n", "DONE x LOGIN [A:bob A:secret]\n");
	ck_parse("\r\n\r\nx CAPABILITY\r\n", "DONE x CAPABILITY []\n");
	ck_parse("a NOOP \r\n", "DONE a NOOP []\n");
	ck_parse("a1 NOOP\r\na2 LOGOUT\r\n",
		 "DONE a1 NOOP []\nDONE a2 LOGOUT []\n");
	ck_parse("t1 uid fetch 1:* (FLAGS)\r\n",
		 "DONE t1 UID FETCH [A:1:* (A:FLAGS)]\n");
	ck_parse("t1 UID\r\n", "ERROR t1 Missing command after UID\n");
	ck_parse("t1\r\n", "ERROR t1 Missing command name\n");
	ck_parse("t1 \r\n", "ERROR t1 Missing command name\n");
}
END_TEST

START_TEST(test_tokens)
{
	ck_parse("a SELECT \"with \\\"quotes\\\" and \\\\\"\r\n",
		 "DONE a SELECT [Q:with \"quotes\" and \\]\n");
	ck_parse("a X \"\" nil NIL Nil \"NIL\"\r\n",
		 "DONE a X [Q: NIL NIL NIL Q:NIL]\n");
	ck_parse("a STORE 1 +FLAGS (\\Seen \\Deleted $Junk)\r\n",
		 "DONE a STORE [A:1 A:+FLAGS "
		 "(A:\\Seen A:\\Deleted A:$Junk)]\n");
	ck_parse("a LIST \"\" %\r\n", "DONE a LIST [Q: A:%]\n");
	ck_parse("a LIST \"\" *\r\n", "DONE a LIST [Q: A:*]\n");
	ck_parse("a X () (()) ((a) b)\r\n",
		 "DONE a X [() (()) ((A:a) A:b)]\n");
	ck_parse("a X (a)(b)\r\n", "ERROR a Missing space after argument\n");
	ck_parse("a X \"a\"b\r\n", "ERROR a Missing space after argument\n");
	ck_parse("a X a\"b\r\n", "ERROR a Invalid characters in atom\n");
	ck_parse("a X (a\r\n", "ERROR a Missing ')'\n");
	ck_parse("a X a)\r\n", "ERROR a Unexpected ')'\n");
	ck_parse("a X \"abc\r\nb NOOP\r\n",
		 "ERROR a Missing '\"'\nDONE b NOOP []\n");
	ck_parse("a X \"a\\b\"\r\n", "ERROR a Invalid escape in string\n");
	ck_parse("a X \x01\r\n", "ERROR a Invalid characters in argument\n");
	ck_parse("a X \xc3\xa9\r\n",
		 "ERROR a Invalid characters in argument\n");
	ck_parse("a X \"caf\xc3\xa9\"\r\n", "DONE a X [Q:caf\xc3\xa9]\n");
	ck_parse("a X \"caf\xc3\"\r\n", "ERROR a Invalid UTF-8 in string\n");
	ck_parse("a X a\rb\r\n", "ERROR a CR without LF\n");
	ck_parse("a X a\r \r\n", "ERROR a CR without LF\n");
	ck_parse("a X ~peter/mail\r\n", "DONE a X [A:~peter/mail]\n");
	ck_parse("a X ~\r\n", "DONE a X [A:~]\n");
	ck_parse("+ NOOP\r\n", "ERROR * Missing tag\n");
	ck_parse("* NOOP\r\n", "ERROR * Missing tag\n");
	ck_parse(" NOOP\r\nb NOOP\r\n",
		 "ERROR * Missing tag\nDONE b NOOP []\n");
	ck_parse("a\\b NOOP\r\n", "ERROR * Invalid characters in tag\n");
	ck_parse("a N(OOP\r\n", "ERROR a Invalid characters in command name\n");
}
END_TEST

START_TEST(test_fetch_sections)
{
	ck_parse("a FETCH 1 (BODY[HEADER.FIELDS (From To)]<0.100> UID)\r\n",
		 "DONE a FETCH [A:1 (A:BODY[HEADER.FIELDS (From To)]<0.100> "
		 "A:UID)]\n");
	ck_parse("a UID FETCH 1 BODY.PEEK[1.2.MIME]\r\n",
		 "DONE a UID FETCH [A:1 A:BODY.PEEK[1.2.MIME]]\n");
	ck_parse("a FETCH 1 BODY[]\r\n", "DONE a FETCH [A:1 A:BODY[]]\n");
	ck_parse("a FETCH 1 BODY[HEADER\r\n",
		 "ERROR a Invalid characters in section\n");
	/* Outside FETCH a '[' is an ordinary atom character. */
	ck_parse("a LOGIN foo[bar baz\r\n",
		 "DONE a LOGIN [A:foo[bar A:baz]\n");
}
END_TEST

START_TEST(test_literals)
{
	ck_parse("a LOGIN {3}\r\nbob {6}\r\nsecret\r\n",
		 "CONT a 3\nCONT a 6\nDONE a LOGIN [L{3}bob L{6}secret]\n");
	ck_parse("a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n",
		 "DONE a LOGIN [L{3+}bob L{6+}secret]\n");
	ck_parse("a X {0}\r\n\r\n", "CONT a 0\nDONE a X [L{0}]\n");
	ck_parse("a X {0+}\r\n {0}\r\n)\r\n",
		 "CONT a 0\nERROR a Unexpected ')'\n");
	ck_parse("a X ({2}\r\nab)\r\n", "CONT a 2\nDONE a X [(L{2}ab)]\n");
	ck_parse("a X {4}\r\na\r\nb\r\n", "CONT a 4\nDONE a X [L{4}a\r\nb]\n");
	ck_parse("a APPEND box ~{3+}\r\n\x01\x02\x03\r\n",
		 "DONE a APPEND [A:box L8{3+}\x01\x02\x03]\n");
	ck_parse("a X {}\r\n", "ERROR a Invalid literal size\n");
	ck_parse("a X {1x}\r\n", "ERROR a Invalid literal size\n");
	ck_parse("a X {1}x\r\n", "ERROR a Missing CRLF after literal\n");
	ck_parse("a X {1+\r\n", "ERROR a Invalid literal size\n");
	ck_parse("a X {5}\r\nab", "CONT a 5\n");
}
END_TEST

#define parse_bin(lit) parse_len(lit, sizeof(lit) - 1)

START_TEST(test_literal_nul)
{
	struct imap_parser *p;
	const struct imap_arg *a;
	const char *s;
	char *got;
	size_t used;

	got = parse_bin("a X {3+}\r\na\0b\r\nb NOOP\r\n");
	ck_assert_str_eq(got, "ERROR a NUL in literal (use literal8)\n"
			 "DONE b NOOP []\n");
	free(got);
	got = parse_bin("a X {3}\r\na\0b\r\nb NOOP\r\n");
	ck_assert_str_eq(got, "CONT a 3\nERROR a NUL in literal (use literal8)"
			 "\nDONE b NOOP []\n");
	free(got);
	got = parse_bin("a X \"a\0b\"\r\nb NOOP\r\n");
	ck_assert_str_eq(got, "ERROR a NUL in quoted string\n"
			 "DONE b NOOP []\n");
	free(got);
	/* literal8 carries NUL bytes. */
	p = imap_parser_create(NULL);
	ck_assert(imap_parser_feed(p, "a X ~{3}\r\n", 10, &used) ==
		  IMAP_PARSE_CONT);
	ck_assert(imap_parser_feed(p, "a\0b\r\n", 5, &used) ==
		  IMAP_PARSE_DONE);
	a = imap_parser_cmd(p)->args;
	ck_assert_int_eq(a[0].type, IMAP_ARG_LITERAL8);
	ck_assert_uint_eq(a[0].len, 3);
	ck_assert(memcmp(a[0].str, "a\0b", 4) == 0);
	ck_assert(!imap_arg_get_astring(&a[0], &s));
	imap_parser_free(&p);
}
END_TEST

START_TEST(test_literal_limits)
{
	lim.literal_max = 10;
	lim.append_literal_max = 100;
	ck_parse("a X {11}\r\nb NOOP\r\n",
		 "ERROR a Literal too large TOOBIG\nDONE b NOOP []\n");
	ck_parse("a X {10}\r\n0123456789\r\n",
		 "CONT a 10\nDONE a X [L{10}0123456789]\n");
	ck_parse("a APPEND box {50}\r\n",
		 "CONT a 50\n");
	ck_parse("a APPEND box {101}\r\n",
		 "ERROR a Literal too large TOOBIG\n");
	ck_parse("a X {99999999999999999999999999}\r\n",
		 "ERROR a Literal too large TOOBIG\n");
	/* A non-synchronising literal over the limit cannot be skipped. */
	ck_parse("a X {11+}\r\n01234567890\r\nb NOOP\r\n",
		 "FATAL Literal too large\n");
	/* Total of literals. */
	lim.literals_total_max = 15;
	ck_parse("a X {8+}\r\n01234567 {8+}\r\n01234567\r\nb NOOP\r\n",
		 "ERROR a Literal too large TOOBIG\nDONE b NOOP []\n");
}
END_TEST

START_TEST(test_literal_minus)
{
	char *in = malloc(5000 + 64), *got;
	size_t len;

	lim.literal_plus = false;
	lim.literal_max = 10000;
	len = (size_t)sprintf(in, "a X {4096+}\r\n");
	memset(in + len, 'x', 4096);
	len += 4096;
	memcpy(in + len, "\r\n", 2);
	len += 2;
	got = parse_len(in, len);
	ck_assert(strncmp(got, "DONE a X [L{4096+}xxx", 21) == 0);
	free(got);
	/* {4097+} under LITERAL- is refused, the literal skipped. */
	len = (size_t)sprintf(in, "a X {4097+}\r\n");
	memset(in + len, 'x', 4097);
	len += 4097;
	memcpy(in + len, "\r\nb NOOP\r\n", 10);
	len += 10;
	got = parse_len(in, len);
	ck_assert_str_eq(got, "ERROR a Non-synchronizing literal over 4096 "
			 "bytes (LITERAL-)\nDONE b NOOP []\n");
	free(got);
	/* With LITERAL+ switched on it is fine. */
	{
		struct imap_parser *p = imap_parser_create(&lim);

		imap_parser_set_literal_plus(p, true);
		got = run(p, in, len, 0);
		ck_assert(strncmp(got, "DONE a X [L{4097+}xx", 20) == 0);
		free(got);
		imap_parser_free(&p);
	}
	free(in);
}
END_TEST

START_TEST(test_error_recovery)
{
	/* A bad line ending in a non-synchronising literal: the literal
	 * is skipped too, and the next command is read. */
	ck_parse("a X \x01 {5+}\r\nb NOO\r\nc NOOP\r\n",
		 "ERROR a Invalid characters in argument\nDONE c NOOP []\n");
	ck_parse("a X ) {5+}\r\nb NOO {3+}\r\nxyz\r\nc NOOP\r\n",
		 "ERROR a Unexpected ')'\nDONE c NOOP []\n");
	/* ... a synchronising one is not sent by the client. */
	ck_parse("a X ) {5}\r\nc NOOP\r\n",
		 "ERROR a Unexpected ')'\nDONE c NOOP []\n");
	/* A refused continuation: reset and read on. */
	{
		struct imap_parser *p = imap_parser_create(&lim);
		size_t used;
		const char *in = "a LOGIN {5}\r\nb NOOP\r\n";

		ck_assert(imap_parser_feed(p, in, strlen(in), &used) ==
			  IMAP_PARSE_CONT);
		ck_assert_uint_eq(used, 13);
		ck_assert_str_eq(imap_parser_cmd(p)->tag, "a");
		ck_assert_str_eq(imap_parser_cmd(p)->name, "LOGIN");
		imap_parser_reset(p);
		ck_assert(imap_parser_feed(p, in + used, strlen(in) - used,
					   &used) == IMAP_PARSE_DONE);
		ck_assert_str_eq(imap_parser_cmd(p)->tag, "b");
		imap_parser_free(&p);
	}
}
END_TEST

START_TEST(test_stream_append)
{
	lim.stream_append = true;
	lim.append_literal_max = 100;
	lim.literal_max = 5;
	/* The mailbox name is read as usual; the messages are streamed. */
	ck_parse("a APPEND {5}\r\nINBOX (\\Seen) {10}\r\n0123456789 "
		 "~{3+}\r\nxyz\r\n",
		 "CONT a 5\nLITERAL a 10 sync 0123456789\n"
		 "LITERAL a 3 nonsync xyz\n"
		 "DONE a APPEND [L{5}INBOX (A:\\Seen) L{10}streamed "
		 "L8{3+}streamed]\n");
	/* Limits still apply before the data. */
	ck_parse("a APPEND INBOX {101}\r\nb NOOP\r\n",
		 "ERROR a Literal too large TOOBIG\nDONE b NOOP []\n");
	/* Other commands and lists are not streamed. */
	ck_parse("a X y {3+}\r\nabc\r\n", "DONE a X [A:y L{3+}abc]\n");
	ck_parse("a APPEND INBOX ({3+}\r\nabc)\r\n",
		 "DONE a APPEND [A:INBOX (L{3+}abc)]\n");
	ck_parse("a UID APPEND INBOX {3+}\r\nabc\r\n",
		 "DONE a UID APPEND [A:INBOX L{3+}abc]\n");
}
END_TEST

/* Refusing a command at a literal skips what the client sends anyway. */
START_TEST(test_refuse)
{
	struct imap_parser *p;
	const char *in = "a APPEND Nope {3+}\r\nabc {2+}\r\nde\r\n"
		"b APPEND Nope {3}\r\nc NOOP\r\n";
	size_t pos = 0, used;

	lim.stream_append = true;
	p = imap_parser_create(&lim);
	ck_assert(imap_parser_feed(p, in, strlen(in), &used) ==
		  IMAP_PARSE_LITERAL);
	ck_assert(!imap_parser_literal_sync(p));
	pos += used;
	/* Feeding without reading the literal changes nothing. */
	ck_assert(imap_parser_feed(p, in + pos, strlen(in) - pos, &used) ==
		  IMAP_PARSE_LITERAL);
	ck_assert_uint_eq(used, 0);
	imap_parser_refuse(p);
	ck_assert(imap_parser_feed(p, in + pos, strlen(in) - pos, &used) ==
		  IMAP_PARSE_LITERAL);
	pos += used;
	ck_assert_str_eq(imap_parser_cmd(p)->tag, "b");
	ck_assert(imap_parser_literal_sync(p));
	imap_parser_refuse(p);
	ck_assert(imap_parser_feed(p, in + pos, strlen(in) - pos, &used) ==
		  IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_cmd(p)->tag, "c");
	imap_parser_free(&p);

	/* The same after CONT without streaming. */
	lim.stream_append = false;
	p = imap_parser_create(&lim);
	in = "a LOGIN {3}\r\nb NOOP\r\n";
	ck_assert(imap_parser_feed(p, in, strlen(in), &used) ==
		  IMAP_PARSE_CONT);
	imap_parser_refuse(p);
	ck_assert(imap_parser_feed(p, in + used, strlen(in) - used, &used) ==
		  IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_cmd(p)->tag, "b");
	/* Refusing a complete command changes nothing for the next. */
	imap_parser_refuse(p);
	ck_assert(imap_parser_feed(p, "c NOOP\r\n", 8, &used) ==
		  IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_cmd(p)->tag, "c");
	/* Refusing in the middle of a line skips the rest of it. */
	ck_assert(imap_parser_feed(p, "d LOGIN x", 9, &used) ==
		  IMAP_PARSE_MORE);
	imap_parser_refuse(p);
	ck_assert(imap_parser_feed(p, " y\r\ne NOOP\r\n", 12, &used) ==
		  IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_cmd(p)->tag, "e");
	/* A synchronising literal refused after its data began: the
	 * rest of the data is skipped. */
	ck_assert(imap_parser_feed(p, "f X {4}\r\nab", 11, &used) ==
		  IMAP_PARSE_CONT);
	ck_assert(imap_parser_feed(p, "ab", 2, &used) == IMAP_PARSE_MORE);
	imap_parser_refuse(p);
	ck_assert(imap_parser_feed(p, "cd\r\ng NOOP\r\n", 12, &used) ==
		  IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_cmd(p)->tag, "g");
	imap_parser_free(&p);
}
END_TEST

START_TEST(test_pipelining)
{
	struct imap_parser *p = imap_parser_create(NULL);
	const char *in = "a IDLE\r\nDONE\r\nb NOOP\r\n";
	size_t used;

	/* The parser stops after a command: the caller may read the next
	 * line itself (IDLE's DONE, AUTHENTICATE's responses). */
	ck_assert(imap_parser_feed(p, in, strlen(in), &used) ==
		  IMAP_PARSE_DONE);
	ck_assert_uint_eq(used, 8);
	ck_assert_str_eq(imap_parser_cmd(p)->name, "IDLE");
	ck_assert(imap_parser_feed(p, in + 14, strlen(in) - 14, &used) ==
		  IMAP_PARSE_DONE);
	ck_assert_str_eq(imap_parser_cmd(p)->tag, "b");
	ck_assert_uint_eq(imap_parser_cmd(p)->nargs, 0);
	imap_parser_free(&p);
}
END_TEST

START_TEST(test_limits)
{
	struct str in = STR_INIT;
	char *got;
	int i;

	/* Nesting. */
	lim.depth_max = 4;
	ck_parse("a X ((((a))))\r\n", "DONE a X [((((A:a))))]\n");
	ck_parse("a X (((((a)))))\r\nb NOOP\r\n",
		 "ERROR a Too deep parenthesis nesting\nDONE b NOOP []\n");
	/* Default nesting limit with 10000 parentheses: an error. */
	lim.depth_max = 0;
	str_append(&in, "a X ");
	for (i = 0; i < 10000; i++)
		str_append_c(&in, '(');
	str_append(&in, "\r\nb NOOP\r\n");
	got = parse(str_c(&in));
	ck_assert_str_eq(got, "ERROR a Too deep parenthesis nesting\n"
			 "DONE b NOOP []\n");
	free(got);
	/* Arguments. */
	lim.args_max = 3;
	ck_parse("a X 1 2 3\r\n", "DONE a X [A:1 A:2 A:3]\n");
	ck_parse("a X 1 2 3 4\r\n", "ERROR a Too many arguments\n");
	ck_parse("a X 1 (2 3)\r\n", "ERROR a Too many arguments\n");
	ck_parse("a X 1 (2)\r\n", "DONE a X [A:1 (A:2)]\n");
	ck_parse("a X 1 2 3 {1}\r\n", "ERROR a Too many arguments\n");
	/* Line length. */
	lim.args_max = 0;
	lim.line_max = 20;
	ck_parse("a X 1234567890123\r\n", "DONE a X [A:1234567890123]\n");
	ck_parse("a X 12345678901234567890\r\nb NOOP\r\n",
		 "ERROR a Command line too long\nDONE b NOOP []\n");
	/* Literal data does not count against the line. */
	ck_parse("a X {30+}\r\n012345678901234567890123456789\r\n",
		 "DONE a X [L{30+}012345678901234567890123456789]\n");
	str_release(&in);
}
END_TEST

START_TEST(test_numbers)
{
	uint32_t n;
	uint64_t n64;

	ck_assert(imap_parse_number("0", &n) && n == 0);
	ck_assert(imap_parse_number("4294967295", &n) && n == 4294967295u);
	ck_assert(!imap_parse_number("4294967296", &n));
	ck_assert(!imap_parse_number("4294967297", &n));
	ck_assert(!imap_parse_number("99999999999999999999999", &n));
	ck_assert(imap_parse_number("000000000000000000017", &n) && n == 17);
	ck_assert(!imap_parse_number("", &n));
	ck_assert(!imap_parse_number("-1", &n));
	ck_assert(!imap_parse_number("+1", &n));
	ck_assert(!imap_parse_number(" 1", &n));
	ck_assert(!imap_parse_number("1 ", &n));
	ck_assert(!imap_parse_nz_number("0", &n));
	ck_assert(imap_parse_nz_number("1", &n) && n == 1);
	ck_assert(imap_parse_number64("9223372036854775807", &n64) &&
		  n64 == 9223372036854775807ull);
	ck_assert(!imap_parse_number64("9223372036854775808", &n64));
	ck_assert(!imap_parse_number64("18446744073709551616", &n64));
}
END_TEST

START_TEST(test_arg_helpers)
{
	struct imap_parser *p = imap_parser_create(NULL);
	const char *in = "a X atom \"q\" {1+}\r\nl NIL (x) 42 4294967296\r\n";
	const struct imap_arg *args, *list;
	unsigned int count;
	const char *s;
	uint32_t n;
	size_t used;

	ck_assert(imap_parser_feed(p, in, strlen(in), &used) ==
		  IMAP_PARSE_DONE);
	args = imap_parser_cmd(p)->args;
	ck_assert_uint_eq(imap_parser_cmd(p)->nargs, 7);
	ck_assert(imap_arg_get_atom(&args[0], &s) && strcmp(s, "atom") == 0);
	ck_assert(!imap_arg_get_string(&args[0], &s));
	ck_assert(imap_arg_get_astring(&args[0], &s));
	ck_assert(imap_arg_get_string(&args[1], &s) && strcmp(s, "q") == 0);
	ck_assert(imap_arg_get_string(&args[2], &s) && strcmp(s, "l") == 0);
	ck_assert(imap_arg_get_nstring(&args[3], &s) && s == NULL);
	ck_assert(imap_arg_get_astring(&args[3], &s) &&
		  strcmp(s, "NIL") == 0);
	ck_assert(!imap_arg_get_atom(&args[3], &s));
	ck_assert(imap_arg_get_list(&args[4], &list, &count) && count == 1);
	ck_assert(imap_arg_atom_equals(&list[0], "X"));
	ck_assert(list[1].type == IMAP_ARG_EOL);
	ck_assert(imap_arg_get_number(&args[5], &n) && n == 42);
	ck_assert(!imap_arg_get_number(&args[6], &n));
	ck_assert(args[7].type == IMAP_ARG_EOL);
	imap_parser_free(&p);
}
END_TEST

/* --- imap_quote --- */

static char *quote(void (*fn)(struct str *, const char *, size_t, bool),
		   const char *s, size_t len, bool utf8)
{
	struct str out = STR_INIT;

	fn(&out, s, len, utf8);
	return str_steal(&out);
}

#define ck_quote(fn, s, utf8, expected) do { \
	char *q_ = quote(fn, s, strlen(s), utf8); \
	ck_assert_str_eq(q_, expected); \
	free(q_); \
} while (0)

START_TEST(test_quote)
{
	struct str big = STR_INIT, out = STR_INIT;
	char *q;

	ck_quote(imap_quote_astring, "INBOX", false, "INBOX");
	ck_quote(imap_quote_astring, "a]b", false, "a]b");
	ck_quote(imap_quote_astring, "", false, "\"\"");
	ck_quote(imap_quote_astring, "nil", false, "\"nil\"");
	ck_quote(imap_quote_astring, "a b", false, "\"a b\"");
	ck_quote(imap_quote_astring, "a*", false, "\"a*\"");
	ck_quote(imap_quote_string, "say \"hi\" \\o/", false,
		 "\"say \\\"hi\\\" \\\\o/\"");
	ck_quote(imap_quote_string, "a\tb", false, "\"a\tb\"");
	ck_quote(imap_quote_string, "a\r\nb", false, "{4}\r\na\r\nb");
	ck_quote(imap_quote_string, "caf\xc3\xa9", false,
		 "{5}\r\ncaf\xc3\xa9");
	ck_quote(imap_quote_string, "caf\xc3\xa9", true, "\"caf\xc3\xa9\"");
	ck_quote(imap_quote_string, "caf\xc3", true, "{4}\r\ncaf\xc3");
	ck_quote(imap_quote_astring, "caf\xc3\xa9", true,
		 "\"caf\xc3\xa9\"");
	ck_quote(imap_quote_string, "\x01", false, "{1}\r\n\x01");
	/* NUL bytes are left out of a literal, and counted out. */
	q = quote(imap_quote_string, "a\0b\n", 4, false);
	ck_assert_str_eq(q, "{3}\r\nab\n");
	free(q);
	imap_quote_nstring(&out, NULL, 0, false);
	str_append_c(&out, ' ');
	imap_quote_nstring(&out, "x", 1, false);
	str_append_c(&out, ' ');
	imap_quote_literal8(&out, "a\0b", 3);
	ck_assert_uint_eq(out.len, 17);
	ck_assert(memcmp(out.data, "NIL \"x\" ~{3}\r\na\0b", 17) == 0);
	/* Long strings become literals. */
	while (big.len <= IMAP_QUOTE_MAX)
		str_append_c(&big, 'x');
	str_clear(&out);
	imap_quote_astring(&out, big.data, big.len, false);
	ck_assert(str_has_prefix(str_c(&out), "{1025}\r\nxxx"));
	str_release(&big);
	str_release(&out);
}
END_TEST

/* Whatever the parser reads as a string, quoting it and parsing that
 * gives the same string back. */
START_TEST(test_quote_roundtrip)
{
	static const char *const samples[] = {
		"", "x", "NIL", "a b", "\"\\", "a\r\nb", "(", ")", "{5}",
		"caf\xc3\xa9", "\x7f", "*%", "]", "~{1}",
	};
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct imap_parser *p = imap_parser_create(NULL);
		struct str in = STR_INIT;
		const char *s;
		size_t used;
		enum imap_parse_result r;

		str_append(&in, "a X ");
		imap_quote_astring(&in, samples[i], strlen(samples[i]), true);
		str_append(&in, "\r\n");
		r = imap_parser_feed(p, in.data, in.len, &used);
		if (r == IMAP_PARSE_CONT)
			r = imap_parser_feed(p, in.data + used, in.len - used,
					     &used);
		ck_assert_msg(r == IMAP_PARSE_DONE, "%s", str_c(&in));
		ck_assert(imap_arg_get_astring(&imap_parser_cmd(p)->args[0],
					       &s));
		ck_assert_str_eq(s, samples[i]);
		ck_assert(imap_parser_cmd(p)->args[0].type != IMAP_ARG_NIL);
		str_release(&in);
		imap_parser_free(&p);
	}
}
END_TEST

static Suite *imap_parse_suite(void)
{
	Suite *s = suite_create("imap_parse");
	TCase *tc = tcase_create("parser");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_simple);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_fetch_sections);
	tcase_add_test(tc, test_literals);
	tcase_add_test(tc, test_literal_nul);
	tcase_add_test(tc, test_literal_limits);
	tcase_add_test(tc, test_literal_minus);
	tcase_add_test(tc, test_error_recovery);
	tcase_add_test(tc, test_stream_append);
	tcase_add_test(tc, test_refuse);
	tcase_add_test(tc, test_pipelining);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_arg_helpers);
	suite_add_tcase(s, tc);
	tc = tcase_create("quote");
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_quote_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_parse_suite());
}
