/*
 * Unit tests for imapd/imap_sort.c and the RFC 5322 date of
 * imapd/imap_date.c: the sort program, i;unicode-casemap, base subject
 * extraction (RFC 5256 2.1) with RFC 2047 words, address keys (RFC 5256
 * and RFC 5957 DISPLAY), sent dates (bad syntax falls back to the
 * internal date) and the sort itself (ties by sequence number, REVERSE
 * per key).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap_date.h"
#include "imap_parse.h"
#include "imap_sort.h"
#include "mime.h"
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

/* The first argument of "a X <text>". */
static const struct imap_arg *arg_of(const char *text)
{
	struct str in = STR_INIT;
	size_t pos = 0, used;
	enum imap_parse_result r;

	imap_parser_reset(parser);
	str_printf(&in, "a X %s\r\n", text);
	do {
		r = imap_parser_feed(parser, in.data + pos, in.len - pos,
				     &used);
		pos += used;
	} while (r == IMAP_PARSE_MORE && pos < in.len);
	ck_assert_int_eq(r, IMAP_PARSE_DONE);
	str_release(&in);
	return imap_parser_cmd(parser)->args;
}

static bool program(const char *text, struct imap_sort_program *p)
{
	const char *error = NULL;
	bool ok = imap_sort_program_parse(arg_of(text), p, &error);

	ck_assert(ok || error != NULL);
	return ok;
}

START_TEST(test_program)
{
	struct imap_sort_program p;

	ck_assert(program("(REVERSE date subject)", &p));
	ck_assert_uint_eq(p.count, 2);
	ck_assert_int_eq(p.crit[0].key, IMAP_SORT_DATE);
	ck_assert(p.crit[0].reverse);
	ck_assert_int_eq(p.crit[1].key, IMAP_SORT_SUBJECT);
	ck_assert(!p.crit[1].reverse);
	ck_assert(program("(ARRIVAL CC FROM SIZE TO DISPLAYFROM DISPLAYTO)",
			  &p));
	ck_assert_uint_eq(p.count, 7);
	ck_assert_uint_eq(imap_sort_program_headers(&p),
			  IMAP_SORT_H_CC | IMAP_SORT_H_FROM | IMAP_SORT_H_TO);
	ck_assert(!program("()", &p));
	ck_assert(!program("(REVERSE)", &p));
	ck_assert(!program("(DATE REVERSE)", &p));
	ck_assert(!program("(REVERSE REVERSE DATE)", &p));
	ck_assert(!program("(BOGUS)", &p));
	ck_assert(!program("DATE", &p));
	ck_assert(!program("((DATE))", &p));
	ck_assert(!program("(DATE DATE DATE DATE DATE DATE DATE DATE DATE "
			   "DATE DATE DATE DATE DATE DATE DATE DATE)", &p));
}
END_TEST

static char *base(const char *subject, bool *reply_r)
{
	struct str out = STR_INIT;
	bool reply = imap_base_subject(subject, &out);

	if (reply_r != NULL)
		*reply_r = reply;
	str_append(&out, "");
	return str_steal(&out);
}

#define ck_base(in, expected, is_reply) do { \
	bool r_; \
	char *b_ = base(in, &r_); \
	ck_assert_str_eq(b_, expected); \
	ck_assert_msg(r_ == (is_reply), "%s: reply %d", b_, r_); \
	free(b_); \
} while (0)

START_TEST(test_base_subject)
{
	ck_base(NULL, "", false);
	ck_base("", "", false);
	ck_base("   ", "", false);
	ck_base("Hello", "HELLO", false);
	ck_base("  hello   world\t again ", "HELLO WORLD AGAIN", false);
	ck_base("Re: hello", "HELLO", true);
	ck_base("RE:hello", "HELLO", true);
	ck_base("re : hello", "HELLO", true);
	ck_base("Fwd: hello", "HELLO", true);
	ck_base("Fw: hello", "HELLO", true);
	ck_base("Re: Re: RE: fwd: hello", "HELLO", true);
	ck_base("Re[2]: hello", "HELLO", true);
	ck_base("Re [2]: hello", "HELLO", true);
	ck_base("hello (fwd)", "HELLO", true);
	ck_base("hello (fwd) (FWD)  ", "HELLO", true);
	ck_base("[list] hello", "HELLO", false);
	ck_base("[list] Re: hello", "HELLO", true);
	ck_base("Re: [list] hello", "HELLO", true);
	ck_base("[a][b] Re: [c] Re: hello", "HELLO", true);
	/* A blob that is all there is stays. */
	ck_base("[list]", "[LIST]", false);
	ck_base("Re: [list]", "[LIST]", true);
	/* [fwd: ...] wrappers, nested, with the whole extraction inside. */
	ck_base("[fwd: hello]", "HELLO", true);
	ck_base("[Fwd: Re: hello (fwd)]", "HELLO", true);
	ck_base("Re: [fwd: [fwd: hello]]", "HELLO", true);
	ck_base("Re: [fwd: ]", "", true);
	/* Not leaders: no colon, or a word that merely starts so. */
	ck_base("Reply needed", "REPLY NEEDED", false);
	ck_base("Fwdx: hello", "FWDX: HELLO", false);
	ck_base("Re hello", "RE HELLO", false);
	ck_base("hello (fwd) world", "HELLO (FWD) WORLD", false);
	ck_base("Re:", "", true);
	ck_base("Re: ", "", true);
	/* RFC 2047 words decoded first, then casemapped. */
	ck_base("=?utf-8?q?Re=3A_caf=C3=A9?=", "CAFE\xcc\x81", true);
	ck_base("=?iso-8859-1?q?R=E9sum=E9?=", "RE\xcc\x81SUME\xcc\x81",
		false);
	ck_base("Re: =?utf-8?b?w6k=?= x", "E\xcc\x81 X", true);
	/* Folding is white space. */
	ck_base("Re: hello\r\n world", "HELLO WORLD", true);
}
END_TEST

static char *mapped(const char *in)
{
	struct str out = STR_INIT;

	mime_casemap(in, strlen(in), &out);
	str_append(&out, "");
	return str_steal(&out);
}

#define ck_map(in, expected) do { \
	char *m_ = mapped(in); \
	ck_assert_str_eq(m_, expected); \
	free(m_); \
} while (0)

START_TEST(test_casemap)
{
	ck_map("abcXYZ 09", "ABCXYZ 09");
	/* Titlecase: U+01C6 (dz with caron) is U+01C5 in title case, whose
	 * NFKD is "D" + "z" + U+030C. */
	ck_map("\xc7\x86", "Dz\xcc\x8c");
	/* Greek sigma forms meet; ligatures decompose (NFKD), and U+FB01
	 * has no single-character titlecase, so "fi" stays lower case. */
	ck_map("\xcf\x82", "\xce\xa3");
	ck_map("\xcf\x83", "\xce\xa3");
	ck_map("\xef\xac\x81", "fi");
	/* Precomposed and decomposed forms compare equal. */
	{
		char *a = mapped("\xc3\xa9"), *b = mapped("e\xcc\x81");

		ck_assert_str_eq(a, b);
		free(a);
		free(b);
	}
	/* Invalid UTF-8 becomes U+FFFD. */
	ck_map("a\xff", "A\xef\xbf\xbd");
}
END_TEST

static char *addr(const char *value, bool display)
{
	struct str out = STR_INIT;

	imap_sort_addr_key(value, display, &out);
	str_append(&out, "");
	return str_steal(&out);
}

#define ck_addr(in, display, expected) do { \
	char *a_ = addr(in, display); \
	ck_assert_str_eq(a_, expected); \
	free(a_); \
} while (0)

START_TEST(test_addr_key)
{
	ck_addr(NULL, false, "");
	ck_addr(NULL, true, "");
	ck_addr("", false, "");
	ck_addr("foo bar <user2@domain2.org>", false, "USER2");
	ck_addr("user2@domain2.org (foo bar)", false, "USER2");
	ck_addr("a@x, b@y", false, "A");
	/* A group counts with its name. */
	ck_addr("user2: blah@domain1.org;", false, "USER2");
	ck_addr("empty:;", true, "EMPTY");
	ck_addr("z: aa@aa.org, bb@bb.org;", true, "Z");
	/* DISPLAY: the decoded name, else the address. */
	ck_addr("foo bar <a@b.c>", true, "FOO BAR");
	ck_addr("=?iso-8859-1?q?foo_aar?= <e@f.g>", true, "FOO AAR");
	ck_addr("\"\" <b@c.d>", true, "B@C.D");
	ck_addr("b@c.d", true, "B@C.D");
	ck_addr("d", true, "D");
	ck_addr("<>", false, "");
}
END_TEST

START_TEST(test_date)
{
	time_t t;

	ck_assert(imap_date_parse_rfc5322("Fri, 22 Feb 2008 22:00:10 +0200",
					  &t));
	ck_assert_int_eq(t, 1203710410);
	ck_assert(imap_date_parse_rfc5322("22 Feb 2008 20:00:10 GMT", &t));
	ck_assert_int_eq(t, 1203710410);
	ck_assert(imap_date_parse_rfc5322("22 feb 2008 15:00:10 EST", &t));
	ck_assert_int_eq(t, 1203710410);
	ck_assert(imap_date_parse_rfc5322(" Fri (day) , 22 Feb 2008 "
					  "20:00 (no seconds) +0000", &t));
	ck_assert_int_eq(t, 1203710400);
	/* Two- and three-digit years (RFC 5322 4.3). */
	ck_assert(imap_date_parse_rfc5322("1 Jan 08 00:00:00 +0000", &t));
	ck_assert_int_eq(t, 1199145600);
	ck_assert(imap_date_parse_rfc5322("1 Jan 108 00:00:00 +0000", &t));
	ck_assert_int_eq(t, 1199145600);
	ck_assert(imap_date_parse_rfc5322("1 Jan 70 00:00:00 +0000", &t));
	ck_assert_int_eq(t, 0);
	/* No zone: UTC; military and unknown zones: +0000. */
	ck_assert(imap_date_parse_rfc5322("1 Jan 1970 00:00:01", &t));
	ck_assert_int_eq(t, 1);
	ck_assert(imap_date_parse_rfc5322("1 Jan 1970 00:00:01 Z", &t));
	ck_assert_int_eq(t, 1);
	/* Bad syntax. */
	ck_assert(!imap_date_parse_rfc5322("", &t));
	ck_assert(!imap_date_parse_rfc5322("yesterday", &t));
	ck_assert(!imap_date_parse_rfc5322("Fri 22 Feb 2008 22:00:10", &t));
	ck_assert(!imap_date_parse_rfc5322("32 Feb 2008 22:00:10", &t));
	ck_assert(!imap_date_parse_rfc5322("30 Feb 2008 22:00:10", &t));
	ck_assert(!imap_date_parse_rfc5322("22 Fbr 2008 22:00:10", &t));
	ck_assert(!imap_date_parse_rfc5322("22 Feb 2008 24:00:10", &t));
	ck_assert(!imap_date_parse_rfc5322("22 Feb 2008 22", &t));
	ck_assert(!imap_date_parse_rfc5322("22 Feb 2008 22:00 +02", &t));
	ck_assert(!imap_date_parse_rfc5322("222 Feb 2008 22:00", &t));
	/* The sent date falls back to the internal date. */
	ck_assert_int_eq(imap_sort_sent_date("junk", 42), 42);
	ck_assert_int_eq(imap_sort_sent_date(NULL, 43), 43);
	ck_assert_int_eq(imap_sort_sent_date("1 Jan 1970 00:00:05 +0000",
					     43), 5);
}
END_TEST

/* Sort n messages with the given headers; answer as "n n n". */
struct msgdef {
	int64_t arrival;
	uint64_t size;
	const char *date, *subject, *from, *to, *cc;
};

static char *sorted(const char *prog, const struct msgdef *defs, size_t n)
{
	struct imap_sort_program p;
	struct imap_sort_msg *msgs = calloc(n, sizeof(*msgs));
	struct str out = STR_INIT;

	ck_assert(program(prog, &p));
	for (size_t i = 0; i < n; i++) {
		struct imap_sort_headers h = {
			.date = defs[i].date, .subject = defs[i].subject,
			.from = defs[i].from, .to = defs[i].to,
			.cc = defs[i].cc,
		};

		msgs[i].seq = (uint32_t)i + 1;
		msgs[i].number = (uint32_t)i + 1;
		msgs[i].arrival = defs[i].arrival;
		msgs[i].size = defs[i].size;
		imap_sort_msg_fill(&msgs[i], &p, &h);
	}
	imap_sort(msgs, n, &p);
	for (size_t i = 0; i < n; i++) {
		str_printf(&out, i ? " %u" : "%u", msgs[i].number);
		imap_sort_msg_release(&msgs[i]);
	}
	free(msgs);
	str_append(&out, "");
	return str_steal(&out);
}

#define ck_sort(prog, defs, expected) do { \
	char *s_ = sorted(prog, defs, sizeof(defs) / sizeof(*defs)); \
	ck_assert_str_eq(s_, expected); \
	free(s_); \
} while (0)

START_TEST(test_sort)
{
	static const struct msgdef m[] = {
		{ 30, 100, "1 Jan 2000 00:00:03 +0000", "Re: b", "x@y",
		  NULL, "c@d" },
		{ 10, 300, NULL, "a", "Bob <b@y>", "z@z", NULL },
		{ 20, 100, "1 Jan 2000 00:00:01 +0000", "[list] B", NULL,
		  "A@a", "a@d" },
		{ 10, 200, "bad date", "b (fwd)", "a@y", "b@b", "" },
		{ 30, 100, "1 Jan 2000 00:00:03 +0000", "A", "x@y", "z@z",
		  "c@d" },
	};

	ck_sort("(ARRIVAL)", m, "2 4 3 1 5");
	ck_sort("(REVERSE ARRIVAL)", m, "1 5 3 2 4");
	ck_sort("(SIZE)", m, "1 3 5 4 2");
	ck_sort("(REVERSE SIZE ARRIVAL)", m, "2 4 3 1 5");
	/* Missing or bad Date: the internal date. */
	ck_sort("(DATE)", m, "2 4 3 1 5");
	ck_sort("(SUBJECT)", m, "2 5 1 3 4");
	ck_sort("(SUBJECT REVERSE ARRIVAL)", m, "5 2 1 3 4");
	ck_sort("(REVERSE SUBJECT)", m, "1 3 4 2 5");
	/* Missing address: the empty key, first. */
	ck_sort("(FROM)", m, "3 4 2 1 5");
	ck_sort("(DISPLAYFROM)", m, "3 4 2 1 5");
	ck_sort("(TO)", m, "1 3 4 2 5");
	ck_sort("(CC)", m, "2 4 3 1 5");
	ck_sort("(REVERSE CC)", m, "1 5 3 2 4");
}
END_TEST

/* Many messages with equal keys keep their mailbox order, whatever
 * qsort does. */
START_TEST(test_sort_stable)
{
	enum { N = 500 };
	struct imap_sort_program p;
	struct imap_sort_msg *msgs = calloc(N, sizeof(*msgs));
	struct imap_sort_headers h = { .subject = "Re: same" };

	ck_assert(program("(REVERSE SUBJECT REVERSE SIZE)", &p));
	for (size_t i = 0; i < N; i++) {
		/* Shuffled input: seq says the mailbox order. */
		msgs[i].seq = (uint32_t)((i * 7919) % N) + 1;
		msgs[i].number = msgs[i].seq;
		msgs[i].size = 5;
		imap_sort_msg_fill(&msgs[i], &p, &h);
	}
	imap_sort(msgs, N, &p);
	for (size_t i = 0; i < N; i++) {
		ck_assert_uint_eq(msgs[i].number, i + 1);
		imap_sort_msg_release(&msgs[i]);
	}
	free(msgs);
}
END_TEST

static Suite *imap_sort_suite(void)
{
	Suite *s = suite_create("imap_sort");
	TCase *tc = tcase_create("sort");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_program);
	tcase_add_test(tc, test_base_subject);
	tcase_add_test(tc, test_casemap);
	tcase_add_test(tc, test_addr_key);
	tcase_add_test(tc, test_date);
	tcase_add_test(tc, test_sort);
	tcase_add_test(tc, test_sort_stable);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_sort_suite());
}
