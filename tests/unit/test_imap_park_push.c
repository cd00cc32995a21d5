/*
 * Unit tests for imap_park_push (imapd/imap_park_push.c): what the park
 * process may tell a parked IDLE itself. A real store folder in a
 * temporary Maildir, a state as imapd would have parked it, then each
 * kind of change: new mail only (told: EXISTS, RECENT, the state's view
 * and modseq updated, \Recent claimed once), nothing new, an expunge, a
 * flag change of a known message, a new keyword, another UIDVALIDITY,
 * a read-only session, IMAP4rev2 (no RECENT), a quiet session.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap_park_push.h"
#include "imap_park_state.h"
#include "mem.h"
#include "safe_file.h"
#include "store.h"
#include "str.h"
#include "test_util.h"

static char tmpdir[64];
static const char *md;

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_park_push");
	md = tu_path(tmpdir, "Maildir");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static void deliver(int n)
{
	for (int i = 0; i < n; i++) {
		struct str error = STR_INIT;
		const char *dsn;

		ck_assert_msg(store_deliver(md, 0, 0, tu_write_text,
					    (void *)"Subject: x\n\nbody\n", 0,
					    NULL, &error, &dsn) == MAILDIR_OK,
			      "deliver: %s", str_c(&error));
		str_release(&error);
	}
}

static struct store_folder *open_folder(void)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(md, true, &error);

	ck_assert_msg(f != NULL, "open: %s", str_c(&error));
	str_release(&error);
	return f;
}

/* The state of a session that has just synced the folder: every
 * message in its view, those in new/ claimed as its \Recent ones. */
static void park_now(struct imap_park_state *st, unsigned flags)
{
	struct store_folder *f = open_folder();
	struct str error = STR_INIT;
	uint32_t *uids = NULL;
	int n = 0;

	imap_park_state_init(st);
	st->mailbox = mem_strdup("INBOX");
	st->idle_tag = mem_strdup("i1");
	st->flags = flags;
	if (!(flags & IMAP_PARK_READONLY))
		n = store_claim_new(f, &uids, &error);
	ck_assert_int_ge(n, 0);
	for (size_t i = 0; i < f->count; i++)
		imap_seqset_add(&st->uids, f->msgs[i].uid);
	for (int i = 0; i < n; i++)
		imap_seqset_add(&st->recent, uids[i]);
	imap_seqset_normalise(&st->uids);
	imap_seqset_normalise(&st->recent);
	st->uidvalidity = f->uidvalidity;
	st->modseq = f->highestmodseq;
	st->keywords = f->nkeywords;
	free(uids);
	str_release(&error);
	store_folder_free(&f);
}

static enum imap_park_push push(struct imap_park_state *st, struct str *out)
{
	struct store_folder *f = open_folder();
	enum imap_park_push r;

	str_clear(out);
	r = imap_park_push(f, st, out);
	store_folder_free(&f);
	return r;
}

static const char *set_text(const struct imap_seqset *set)
{
	static struct str text;

	str_clear(&text);
	imap_seqset_format(set, &text);
	return str_c(&text);
}

START_TEST(test_new_mail_told)
{
	struct imap_park_state st;
	struct str out = STR_INIT, enc = STR_INIT;
	struct imap_park_state back;
	const char *error;
	uint64_t before;

	deliver(2);
	park_now(&st, 0);
	ck_assert_str_eq(set_text(&st.recent), "1:2");
	before = st.modseq;
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_NOTHING);
	ck_assert_uint_eq(out.len, 0);

	deliver(3);
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_TOLD);
	ck_assert_str_eq(str_c(&out), "* 5 EXISTS\r\n* 5 RECENT\r\n");
	ck_assert_str_eq(set_text(&st.uids), "1:5");
	ck_assert_str_eq(set_text(&st.recent), "1:5");
	ck_assert_uint_gt(st.modseq, before);
	/* Still a state the parser takes (sets canonical). */
	imap_park_state_write(&st, &enc);
	ck_assert_msg(imap_park_state_parse(enc.data, enc.len, &back, &error),
		      "%s", error);
	imap_park_state_release(&back);

	/* Told once: nothing more to say, and the claim is not news. */
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_NOTHING);

	/* A second session parked before the delivery: the first took
	 * \Recent, this one hears of the messages without it. */
	{
		struct imap_park_state other;

		park_now(&other, 0);
		deliver(1);
		ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_TOLD);
		ck_assert_str_eq(str_c(&out),
				 "* 6 EXISTS\r\n* 6 RECENT\r\n");
		ck_assert_int_eq(push(&other, &out), IMAP_PARK_PUSH_TOLD);
		ck_assert_str_eq(str_c(&out),
				 "* 6 EXISTS\r\n* 0 RECENT\r\n");
		ck_assert_str_eq(set_text(&other.uids), "1:6");
		imap_park_state_release(&other);
	}
	imap_park_state_release(&st);
	str_release(&out);
	str_release(&enc);
}
END_TEST

START_TEST(test_rev2_and_readonly)
{
	struct imap_park_state st, ro;
	struct str out = STR_INIT;

	deliver(1);
	park_now(&st, IMAP_PARK_REV2);	/* takes 1 as its \Recent */
	park_now(&ro, IMAP_PARK_READONLY);
	deliver(2);
	/* Read-only first: the messages are still in new/, recent to it
	 * as to EXAMINE, and it claims nothing. */
	ck_assert_int_eq(push(&ro, &out), IMAP_PARK_PUSH_TOLD);
	ck_assert_str_eq(str_c(&out), "* 3 EXISTS\r\n* 2 RECENT\r\n");
	ck_assert_str_eq(set_text(&ro.recent), "2:3");
	/* IMAP4rev2 has no RECENT; it still claims them. */
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_TOLD);
	ck_assert_str_eq(str_c(&out), "* 3 EXISTS\r\n");
	ck_assert_str_eq(set_text(&st.recent), "1:3");
	imap_park_state_release(&st);
	imap_park_state_release(&ro);
	str_release(&out);
}
END_TEST

START_TEST(test_needs_an_imapd)
{
	struct imap_park_state st;
	struct str out = STR_INIT, error = STR_INIT;
	struct store_folder *f;
	uint64_t modseq;

	/* A flag change of a message the client knows. */
	deliver(3);
	park_now(&st, 0);
	f = open_folder();
	ck_assert_int_eq(store_set_flags(f, 2, STORE_F_SEEN, 0, &error), 1);
	store_folder_free(&f);
	deliver(1);
	modseq = st.modseq;
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_RESUME);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(st.modseq, modseq);	/* left alone */
	ck_assert_str_eq(set_text(&st.uids), "1:3");
	imap_park_state_release(&st);

	/* An expunge, even with new mail beside it. */
	park_now(&st, 0);
	f = open_folder();
	ck_assert_int_eq(store_expunge(f, (uint32_t[]){ 1 }, 1, &error), 1);
	store_folder_free(&f);
	deliver(1);
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_RESUME);
	imap_park_state_release(&st);

	/* A new keyword: FLAGS must be announced. */
	park_now(&st, 0);
	f = open_folder();
	ck_assert_int_ge(store_keyword(f, "$Junk", &error), 0);
	store_folder_free(&f);
	deliver(1);
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_RESUME);
	imap_park_state_release(&st);

	/* Another UIDVALIDITY. */
	park_now(&st, 0);
	st.uidvalidity++;
	deliver(1);
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_RESUME);
	imap_park_state_release(&st);

	/* A quiet session (not in IDLE) may hear nothing unasked. */
	park_now(&st, 0);
	mem_free(st.idle_tag);
	st.idle_tag = NULL;
	deliver(1);
	ck_assert_int_eq(push(&st, &out), IMAP_PARK_PUSH_RESUME);
	imap_park_state_release(&st);
	str_release(&out);
	str_release(&error);
}
END_TEST

static Suite *park_push_suite(void)
{
	Suite *s = suite_create("imap_park_push");
	TCase *tc = tcase_create("push");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_mail_told);
	tcase_add_test(tc, test_rev2_and_readonly);
	tcase_add_test(tc, test_needs_an_imapd);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(park_push_suite());
}
