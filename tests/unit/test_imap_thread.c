/*
 * Unit tests for imapd/imap_thread.c: message-ID lists, THREAD=REFERENCES
 * (RFC 5256 section 4: linking, duplicate and missing Message-IDs,
 * reference loops, dummy pruning, subject gathering, date order with
 * ties by sequence number) and THREAD=ORDEREDSUBJECT, on the cases of
 * Dovecot's imaptest thread scripts and odd ones.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_thread.h"
#include "test_util.h"

/* A message: date (seconds), subject, Message-ID, References,
 * In-Reply-To. */
struct def {
	int64_t date;
	const char *subject, *id, *refs, *irt;
};

static char *threaded(enum imap_thread_algo algo, const struct def *d,
		      size_t n)
{
	struct imap_thread_msg *msgs = calloc(n + 1, sizeof(*msgs));
	struct str out = STR_INIT;

	for (size_t i = 0; i < n; i++) {
		msgs[i].seq = (uint32_t)i + 1;
		msgs[i].number = (uint32_t)i + 1;
		msgs[i].date = d[i].date;
		msgs[i].subject = d[i].subject;
		msgs[i].message_id = d[i].id;
		msgs[i].references = d[i].refs;
		msgs[i].in_reply_to = d[i].irt;
	}
	imap_thread(msgs, n, algo, &out);
	free(msgs);
	str_append(&out, "");
	return str_steal(&out);
}

#define ck_thread(algo, defs, expected) do { \
	char *t_ = threaded(algo, defs, sizeof(defs) / sizeof(*defs)); \
	ck_assert_str_eq(t_, expected); \
	free(t_); \
} while (0)
#define REFS IMAP_THREAD_REFERENCES
#define OS IMAP_THREAD_ORDEREDSUBJECT

START_TEST(test_msgid)
{
	struct str id = STR_INIT;
	const char *p = " <a@b> junk <c\r\n @d>(comment <e@f>)<> <x <y@z>";

	ck_assert(imap_thread_next_msgid(&p, &id));
	ck_assert_str_eq(str_c(&id), "a@b");
	ck_assert(imap_thread_next_msgid(&p, &id));
	ck_assert_str_eq(str_c(&id), "c@d");
	ck_assert(imap_thread_next_msgid(&p, &id));
	ck_assert_str_eq(str_c(&id), "e@f");
	ck_assert(imap_thread_next_msgid(&p, &id));
	ck_assert_str_eq(str_c(&id), "y@z");
	ck_assert(!imap_thread_next_msgid(&p, &id));
	ck_assert(!imap_thread_next_msgid(&p, &id));
	p = "no ids at all <unterminated";
	ck_assert(!imap_thread_next_msgid(&p, &id));
	str_release(&id);
}
END_TEST

/* imaptest's "thread": a reference loop (c's References give it b as
 * parent, while b's made c b's parent): the older link is broken and
 * the loop not made. */
START_TEST(test_references_loop)
{
	static const struct def t1[] = {
		{ 1700, NULL, "<a@b>", NULL, NULL },
		{ 1500, NULL, "<b@b>", "<a@b> <c@b>", NULL },
		{ 1600, NULL, "<c@b>", "<b@b>", NULL },
	};
	static const struct def t2[] = {
		{ 1500, NULL, "<b@b>", "<a@b> <c@b>", NULL },
		{ 1600, NULL, "<c@b>", "<b@b>", NULL },
	};
	static const struct def mutual[] = {
		{ 5, NULL, "<a>", "<b>", NULL },
		{ 5, NULL, "<b>", "<a>", NULL },
	};
	static const struct def self[] = {
		{ 5, NULL, "<a>", "<a>", NULL },
		{ 5, NULL, "<b>", "<x> <b> <x>", NULL },
	};

	ck_thread(REFS, t1, "(3 2)(1)");
	ck_thread(REFS, t2, "(2 1)");
	ck_thread(REFS, mutual, "(2 1)");
	ck_thread(REFS, self, "(1)(2)");
}
END_TEST

START_TEST(test_references_ids)
{
	/* Duplicate IDs: each duplicate is unique (imaptest thread2). */
	static const struct def dup[] = {
		{ 5, NULL, "<a@b>", NULL, NULL },
		{ 5, NULL, "<a@b>", NULL, NULL },
	};
	/* ... and then joined by subject, the reply under the original
	 * (thread3). */
	static const struct def dup_re[] = {
		{ 5, "foo", "<a@b>", NULL, NULL },
		{ 6, "Re: foo", "<a@b>", NULL, NULL },
	};
	/* A missing parent is a dummy, pruned; the subject joins
	 * (thread4). */
	static const struct def missing[] = {
		{ 5, "foo", "<a@b>", NULL, NULL },
		{ 6, "Re: foo", "<b@b>", "<c@b>", NULL },
	};
	/* No Message-IDs, one missing parent: a dummy with two children
	 * stays at the top (thread6). */
	static const struct def noid[] = {
		{ 5, NULL, NULL, "<a@b>", NULL },
		{ 6, NULL, NULL, "<a@b>", NULL },
	};
	/* In-Reply-To when there are no References; its first ID. */
	static const struct def irt[] = {
		{ 5, NULL, "<1@b>", NULL, NULL },
		{ 6, NULL, "<2@b>", NULL, "Your message of today <1@b> <9@b>" },
		{ 6, NULL, "<3@b>", "junk", "<2@b>" },
		{ 6, NULL, "<4@b>", "<2@b>", "<1@b>" },
	};

	ck_thread(REFS, dup, "(1)(2)");
	ck_thread(REFS, dup_re, "(1 2)");
	ck_thread(REFS, missing, "(1 2)");
	ck_thread(REFS, noid, "((1)(2))");
	ck_thread(REFS, irt, "(1 2 (3)(4))");
}
END_TEST

/* imaptest's thread5: children by date, equal dates by sequence; dummies
 * with one child promoted, with two kept at the top. */
START_TEST(test_references_dummies)
{
	static const struct def t1[] = {
		{ 1700, NULL, "<1@b>", NULL, NULL },
		{ 1500, NULL, "<2@b>", NULL, "<1@b>" },
		{ 1500, NULL, "<3@b>", NULL, "<1@b>" },
		{ 1500, NULL, "<4@b>", NULL, "<2@b>" },
	};
	static const struct def t2[] = {
		{ 1500, NULL, "<3@b>", NULL, "<1@b>" },
		{ 1500, NULL, "<4@b>", NULL, "<2@b>" },
	};
	static const struct def t3[] = {
		{ 1500, NULL, "<3@b>", NULL, "<1@b>" },
		{ 1500, NULL, "<4@b>", NULL, "<2@b>" },
		{ 1500, NULL, "<5@b>", NULL, "<2@b>" },
	};
	/* Dummies inside a thread vanish, their children move up. */
	static const struct def inner[] = {
		{ 1, NULL, "<r>", NULL, NULL },
		{ 3, NULL, "<x>", "<r> <gone1> <gone2>", NULL },
		{ 2, NULL, "<y>", "<r> <gone1>", NULL },
	};

	ck_thread(REFS, t1, "(1 (2 4)(3))");
	ck_thread(REFS, t2, "(1)(2)");
	ck_thread(REFS, t3, "(1)((2)(3))");
	ck_thread(REFS, inner, "(1 (3)(2))");
}
END_TEST

START_TEST(test_references_subjects)
{
	/* Two originals with one subject: both under a dummy. Empty
	 * subjects never join. A reply goes under the original even when
	 * it is older. "[fwd: ...]" is a forward. Subjects compare after
	 * RFC 2047 decoding and casemapping (NFKD: precomposed and combining
	 * accents meet). */
	static const struct def s[] = {
		{ 1, "Re: Hello", "<a>", NULL, NULL },
		{ 2, "hello", "<b>", NULL, NULL },
		{ 3, "", "<c>", NULL, NULL },
		{ 4, NULL, "<d>", NULL, NULL },
		{ 5, "[list] Other", "<e>", NULL, NULL },
		{ 6, "[fwd: other]", "<f>", NULL, NULL },
		{ 7, "HELLO", "<g>", NULL, NULL },
		{ 8, "Re: =?utf-8?q?caf=C3=A9?=", "<h>", NULL, NULL },
		{ 9, "Cafe\xcc\x81", "<i>", NULL, NULL },
	};
	/* A thread of two, whose top has the subject another thread's
	 * reply carries: the reply thread joins the original's. */
	static const struct def deep[] = {
		{ 1, "topic", "<a>", NULL, NULL },
		{ 2, "Re: topic", "<b>", "<a>", NULL },
		{ 3, "Re: topic", "<c>", "<lost>", NULL },
	};

	ck_thread(REFS, s, "((2 1)(7))(3)(4)(5 6)(9 8)");
	ck_thread(REFS, deep, "(1 (2)(3))");
}
END_TEST

START_TEST(test_orderedsubject)
{
	/* imaptest's thread-orderedsubject2 (dates in seconds). */
	static const struct def os2[] = {
		{ 10, "a", NULL, NULL, NULL },
		{ 9, "b", NULL, NULL, NULL },
		{ 8, "a", NULL, NULL, NULL },
		{ 7, "b", NULL, NULL, NULL },
		{ 30, "a", NULL, NULL, NULL },
		{ 29, "b", NULL, NULL, NULL },
		{ 28, "a", NULL, NULL, NULL },
		{ 27, "b", NULL, NULL, NULL },
	};
	static const struct def mixed[] = {
		{ 5, "Re: x", NULL, NULL, NULL },
		{ 5, "x", NULL, NULL, NULL },
		{ 1, NULL, NULL, NULL, NULL },
		{ 2, "", NULL, NULL, NULL },
		{ 9, "y", NULL, NULL, NULL },
	};

	ck_thread(OS, os2, "(4 (2)(8)(6))(3 (1)(7)(5))");
	ck_thread(OS, mixed, "(3 4)(1 2)(5)");
}
END_TEST

START_TEST(test_empty_and_numbers)
{
	struct imap_thread_msg m[2] = {
		{ 1, 101, 5, "s", "<a>", NULL, NULL },
		{ 2, 205, 6, "s", "<b>", "<a>", NULL },
	};
	struct str out = STR_INIT;

	imap_thread(m, 0, REFS, &out);
	ck_assert_uint_eq(out.len, 0);
	imap_thread(m, 2, REFS, &out);
	ck_assert_str_eq(str_c(&out), "(101 205)");
	str_release(&out);
}
END_TEST

/* A long chain is written without recursion and links without
 * quadratic blow-up in practice. */
START_TEST(test_long_chain)
{
	enum { N = 3000 };
	struct def *d = calloc(N, sizeof(*d));
	char **ids = calloc(N, sizeof(char *)), **refs = calloc(N,
							       sizeof(char *));
	struct str expect = STR_INIT;
	char *t;

	for (size_t i = 0; i < N; i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "<m%zu@x>", i);
		ids[i] = strdup(buf);
		snprintf(buf, sizeof(buf), "<m%zu@x>", i - 1);
		refs[i] = i > 0 ? strdup(buf) : NULL;
		d[i].date = (int64_t)i;
		d[i].subject = "Re: chain";
		d[i].id = ids[i];
		d[i].refs = refs[i];
		str_printf(&expect, i ? " %zu" : "(%zu", i + 1);
	}
	str_append(&expect, ")");
	t = threaded(REFS, d, N);
	ck_assert_str_eq(t, str_c(&expect));
	free(t);
	for (size_t i = 0; i < N; i++) {
		free(ids[i]);
		free(refs[i]);
	}
	free(ids);
	free(refs);
	free(d);
	str_release(&expect);
}
END_TEST

/* One message with 20,000 replies. An earlier message's References
 * first chain every reply's ID below another (a chain 20,000 deep), then
 * each reply's own In-Reply-To moves it under the root: no walk per link
 * or unlink, no loop check that walks the chain for a new ID. Then
 * 20,001 messages of one subject for ORDEREDSUBJECT. */
START_TEST(test_wide)
{
	enum { N = 20000 };
	struct def *d = calloc(N + 1, sizeof(*d));
	char **ids = calloc(N + 1, sizeof(char *));
	struct str refs = STR_INIT, expect = STR_INIT;
	char *t;

	d[0].id = "<root>";
	d[0].subject = "s";
	d[1].id = "<first>";
	d[1].date = 1;
	d[1].subject = "t";
	str_append(&refs, "<other>");
	str_append(&expect, "(1 ");
	for (size_t i = 2; i <= N; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "<r%zu>", i);
		ids[i] = strdup(buf);
		str_printf(&refs, " %s", buf);
		d[i].id = ids[i];
		d[i].irt = "<root>";
		d[i].date = (int64_t)i;
		d[i].subject = "Re: s";
		/* The last reply has message 2 below it: its References
		 * ended with the last reply's ID. */
		str_printf(&expect, i < N ? "(%zu)" : "(%zu 2))", i + 1);
	}
	d[1].refs = str_c(&refs);
	t = threaded(REFS, d, N + 1);
	ck_assert_str_eq(t, str_c(&expect));
	free(t);
	str_clear(&expect);
	str_append(&expect, "(1 ");
	for (size_t i = 0; i <= N; i++) {
		d[i].subject = "same";
		if (i > 0)
			str_printf(&expect, "(%zu)", i + 1);
	}
	str_append_c(&expect, ')');
	t = threaded(OS, d, N + 1);
	ck_assert_str_eq(t, str_c(&expect));
	free(t);
	for (size_t i = 2; i <= N; i++)
		free(ids[i]);
	free(ids);
	free(d);
	str_release(&refs);
	str_release(&expect);
}
END_TEST

static Suite *imap_thread_suite(void)
{
	Suite *s = suite_create("imap_thread");
	TCase *tc = tcase_create("thread");

	tcase_add_test(tc, test_msgid);
	tcase_add_test(tc, test_references_loop);
	tcase_add_test(tc, test_references_ids);
	tcase_add_test(tc, test_references_dummies);
	tcase_add_test(tc, test_references_subjects);
	tcase_add_test(tc, test_orderedsubject);
	tcase_add_test(tc, test_empty_and_numbers);
	tcase_add_test(tc, test_long_chain);
	tcase_add_test(tc, test_wide);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_thread_suite());
}
