/*
 * Unit tests for imapd/imap_park_state.c (the state of a parked IMAP
 * session): a full state and an unselected one survive a round trip
 * byte for byte; every truncation, a flipped byte anywhere, unknown,
 * repeated or missing keys, bad numbers, non-canonical sets and escapes,
 * recent UIDs outside the view and trailing data are refused.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_park_state.h"
#include "test_util.h"

static void full_state(struct imap_park_state *st)
{
	imap_park_state_init(st);
	st->mailbox = strdup("Lists.caf\xc3\xa9 % new");
	st->uidvalidity = 1700000000;
	imap_seqset_add_range(&st->uids, 1, 40);
	imap_seqset_add(&st->uids, 42);
	imap_seqset_add_range(&st->uids, 100, 4000000000u);
	imap_seqset_add(&st->recent, 42);
	imap_seqset_add_range(&st->recent, 200, 300);
	imap_seqset_add_range(&st->saved, 3, 5);
	st->modseq = 123456789012ULL;
	st->keywords = 3;
	st->flags = IMAP_PARK_CONDSTORE | IMAP_PARK_QRESYNC | IMAP_PARK_UTF8;
	st->idle_tag = strdup("A0042.x");
	st->quota = strdup("storage=1M messages=100");
	st->addr = strdup("192.0.2.7");
	st->in_bytes = 1234;
	st->out_bytes = 99999;
	st->deleted = 2;
	st->expunged = 1;
	str_append(&st->input, "DONE\r\n");
}

static void check_equal(const struct imap_park_state *a,
			const struct imap_park_state *b)
{
	struct str x = STR_INIT, y = STR_INIT;

	imap_park_state_write(a, &x);
	imap_park_state_write(b, &y);
	ck_assert_uint_eq(x.len, y.len);
	ck_assert_int_eq(memcmp(x.data, y.data, x.len), 0);
	str_release(&x);
	str_release(&y);
}

START_TEST(test_roundtrip)
{
	struct imap_park_state st, back;
	struct str enc = STR_INIT;
	const char *error = NULL;

	full_state(&st);
	imap_park_state_write(&st, &enc);
	ck_assert_msg(imap_park_state_parse(enc.data, enc.len, &back, &error),
		      "%s", error);
	ck_assert_str_eq(back.mailbox, st.mailbox);
	ck_assert_uint_eq(back.uidvalidity, 1700000000);
	ck_assert(imap_seqset_contains(&back.uids, 4000000000u));
	ck_assert(!imap_seqset_contains(&back.uids, 41));
	ck_assert(imap_seqset_contains(&back.recent, 250));
	ck_assert_uint_eq(back.modseq, 123456789012ULL);
	ck_assert_str_eq(back.idle_tag, "A0042.x");
	ck_assert_str_eq(str_c(&back.input), "DONE\r\n");
	ck_assert_uint_eq(back.flags, st.flags);
	check_equal(&st, &back);
	imap_park_state_release(&back);
	imap_park_state_release(&st);

	/* Nothing selected, not in IDLE, an empty view is allowed too. */
	imap_park_state_init(&st);
	st.flags = IMAP_PARK_REV2;
	str_clear(&enc);
	imap_park_state_write(&st, &enc);
	ck_assert(imap_park_state_parse(enc.data, enc.len, &back, &error));
	ck_assert_ptr_null(back.mailbox);
	ck_assert_ptr_null(back.idle_tag);
	check_equal(&st, &back);
	imap_park_state_release(&back);
	st.mailbox = strdup("INBOX");
	st.uidvalidity = 1;
	str_clear(&enc);
	imap_park_state_write(&st, &enc);
	ck_assert(imap_park_state_parse(enc.data, enc.len, &back, &error));
	ck_assert_uint_eq(back.uids.count, 0);
	imap_park_state_release(&back);
	imap_park_state_release(&st);
	str_release(&enc);
}
END_TEST

START_TEST(test_truncated_and_flipped)
{
	struct imap_park_state st, back;
	struct str enc = STR_INIT;
	const char *error;
	size_t accepted = 0;

	full_state(&st);
	imap_park_state_write(&st, &enc);
	for (size_t len = 0; len < enc.len; len++)
		ck_assert_msg(!imap_park_state_parse(enc.data, len, &back,
						     &error),
			      "accepted a state cut at %zu", len);
	/* A changed byte either is refused or decodes to a state that
	 * writes back as exactly what was parsed (never half used). */
	for (size_t i = 0; i < enc.len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			struct str bad = STR_INIT, again = STR_INIT;

			str_append_n(&bad, enc.data, enc.len);
			bad.data[i] ^= (char)(1u << bit);
			if (imap_park_state_parse(bad.data, bad.len, &back,
						  &error)) {
				imap_park_state_write(&back, &again);
				ck_assert_uint_eq(again.len, bad.len);
				ck_assert_int_eq(memcmp(again.data, bad.data,
							bad.len), 0);
				imap_park_state_release(&back);
				accepted++;
			}
			str_release(&bad);
			str_release(&again);
		}
	}
	/* No checksum (the state travels over local sockets): a flip
	 * inside a name or a number can make another good state, the
	 * rest must be refused. */
	ck_assert_uint_lt(accepted, enc.len * 8 / 2);
	imap_park_state_release(&st);
	str_release(&enc);
}
END_TEST

static bool parses(const char *text)
{
	struct imap_park_state st;
	const char *error;
	bool ok = imap_park_state_parse(text, strlen(text), &st, &error);

	if (ok)
		imap_park_state_release(&st);
	return ok;
}

#define HEAD "correo-park 1\n"
#define TAIL "flags 0\nin 0\nout 0\ndeleted 0\nexpunged 0\nend\n"
#define SEL "mailbox INBOX\nuidvalidity 5\nuids 1:9\nrecent 3\n" \
	"modseq 7\nkeywords 0\n"

START_TEST(test_damaged)
{
	ck_assert(parses(HEAD TAIL));
	ck_assert(parses(HEAD SEL TAIL));
	ck_assert(parses(HEAD SEL "idle A1\n" TAIL));
	ck_assert(!parses("correo-park 2\n" TAIL));
	ck_assert(!parses(HEAD TAIL "x"));		/* trailing */
	ck_assert(!parses(HEAD "color blue\n" TAIL));	/* unknown key */
	ck_assert(!parses(HEAD "flags 0\n" TAIL));	/* repeated */
	ck_assert(!parses(HEAD "in 0\nout 0\ndeleted 0\nexpunged 0\nend\n"));
	ck_assert(!parses(HEAD "mailbox INBOX\n" TAIL));	/* no view */
	ck_assert(!parses(HEAD "uids 1:3\n" TAIL));	/* view, no folder */
	ck_assert(!parses(HEAD "mailbox INBOX\nuidvalidity 0\nuids 1\n"
			  "recent \nmodseq 1\nkeywords 0\n" TAIL));
	ck_assert(!parses(HEAD "mailbox INBOX\nuidvalidity 4294967296\n"
			  "uids 1\nrecent \nmodseq 1\nkeywords 0\n" TAIL));
	ck_assert(!parses(HEAD "mailbox INBOX\nuidvalidity 5\nuids 3:1\n"
			  "recent \nmodseq 1\nkeywords 0\n" TAIL));
	ck_assert(!parses(HEAD "mailbox INBOX\nuidvalidity 5\nuids 1:3,2\n"
			  "recent \nmodseq 1\nkeywords 0\n" TAIL));
	ck_assert(!parses(HEAD "mailbox INBOX\nuidvalidity 5\nuids 1:*\n"
			  "recent \nmodseq 1\nkeywords 0\n" TAIL));
	ck_assert(!parses(HEAD "mailbox INBOX\nuidvalidity 5\nuids 1:9\n"
			  "recent 10\nmodseq 1\nkeywords 0\n" TAIL));
	ck_assert(!parses(HEAD SEL "idle A+1\n" TAIL));	/* not a tag */
	ck_assert(!parses(HEAD SEL "idle A%201\n" TAIL));
	ck_assert(!parses(HEAD "mailbox IN%42OX\n" TAIL));	/* escaped B */
	ck_assert(!parses(HEAD "mailbox IN%0\n" TAIL));
	ck_assert(!parses(HEAD "mailbox a%00b\n" TAIL));	/* NUL */
	ck_assert(!parses(HEAD "in 01\nflags 0\nout 0\ndeleted 0\n"
			  "expunged 0\nend\n"));
	ck_assert(!parses(HEAD "in 18446744073709551616\nflags 0\nout 0\n"
			  "deleted 0\nexpunged 0\nend\n"));
	ck_assert(!parses(HEAD "flags 128\nin 0\nout 0\ndeleted 0\n"
			  "expunged 0\nend\n"));
	ck_assert(!parses(HEAD "input \n" TAIL));
	ck_assert(!parses(HEAD "flags 32\nin 0\nout 0\ndeleted 0\n"
			  "expunged 0\nend\n"));	/* readonly, no folder */
}
END_TEST

static Suite *imap_park_state_suite(void)
{
	Suite *s = suite_create("imap_park_state");
	TCase *tc = tcase_create("state");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_truncated_and_flipped);
	tcase_add_test(tc, test_damaged);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_park_state_suite());
}
