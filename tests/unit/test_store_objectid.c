/*
 * Unit tests for store/store_objectid.c (MAILBOXID made once and kept
 * through a rename of the directory, EMAILIDs derived from base names and
 * the same with or without flags, records that win, the last record
 * winning, junk lines ignored, reloading when the file grew) and
 * store/store_savedate.c (the time in the base name, unchanged by a flag
 * change; a foreign name's ctime).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "safe_file.h"
#include "store.h"
#include "store_objectid.h"
#include "store_savedate.h"
#include "test_util.h"

static char tmpdir[64];
static const char *md;

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_store_objectid");
	md = tu_path(tmpdir, "Maildir");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static struct store_folder *deliver_and_open(const char *text,
					     uint32_t *uid_r)
{
	struct str error = STR_INIT;
	struct store_folder *f;
	const char *dsn;

	ck_assert(store_deliver(md, 0, 0, tu_write_text, (void *)text, 0, uid_r,
				&error, &dsn) == MAILDIR_OK);
	f = store_folder_open(md, false, &error);
	ck_assert_msg(f != NULL, "%s", str_c(&error));
	str_release(&error);
	return f;
}

START_TEST(mailbox_id_made_once)
{
	char a[STORE_OBJECTID_MAX], b[STORE_OBJECTID_MAX];
	char c[STORE_OBJECTID_MAX];
	struct str error = STR_INIT, moved = STR_INIT;

	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert(store_mailbox_id(md, a, &error));
	ck_assert(store_objectid_valid(a));
	ck_assert_int_eq(a[0], 'F');
	ck_assert(store_mailbox_id(md, b, &error));
	ck_assert_str_eq(a, b);
	/* No temporary file left behind. */
	ck_assert_int_eq(tu_count_entries(md), 1);
	/* The id is the directory's: a rename keeps it. */
	str_printf(&moved, "%s/.Moved", tmpdir);
	ck_assert_int_eq(rename(md, str_c(&moved)), 0);
	ck_assert(store_mailbox_id(str_c(&moved), b, &error));
	ck_assert_str_eq(a, b);
	/* A new folder gets another. */
	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert(store_mailbox_id(md, c, &error));
	ck_assert_str_ne(a, c);
	/* A damaged id file is an error, not a silently new id. */
	tu_write_file(tu_path(md, "correo-mailboxid"), "bad id!\n", 0600);
	ck_assert(!store_mailbox_id(md, c, &error));
	str_release(&error);
	str_release(&moved);
}
END_TEST

START_TEST(email_id_from_base_name)
{
	char a[STORE_OBJECTID_MAX], b[STORE_OBJECTID_MAX];
	char c[STORE_OBJECTID_MAX];

	store_email_id(NULL, "1764672000.M1P2Q3.host", a);
	store_email_id(NULL, "1764672000.M1P2Q3.host:2,FS", b);
	ck_assert(store_objectid_valid(a));
	ck_assert_int_eq(a[0], 'M');
	ck_assert_uint_eq(strlen(a), 25);
	/* Flags in the name do not change the id. */
	ck_assert_str_eq(a, b);
	store_email_id(NULL, "1764672000.M1P2Q4.host", c);
	ck_assert_str_ne(a, c);
}
END_TEST

START_TEST(email_id_records)
{
	struct store_emailids *e;
	struct str error = STR_INIT;
	char id[STORE_OBJECTID_MAX], plain[STORE_OBJECTID_MAX];

	ck_assert_int_eq(mkdir(md, 0700), 0);
	e = store_emailids_load(md);	/* no file: no records */
	store_email_id(e, "200.M1.h:2,S", id);
	store_email_id(NULL, "200.M1.h", plain);
	ck_assert_str_eq(id, plain);
	ck_assert(store_email_id_set(md, "200.M1.h:2,S", "Mfirst", &error));
	ck_assert(store_email_id_set(md, "100.M9.h", "Mother", &error));
	ck_assert(!store_email_id_set(md, "300.M1.h", "bad id", &error));
	/* Junk: no id, a bad id, a name with '/', a torn last line. */
	{
		FILE *fp = fopen(tu_path(md, "correo-emailids"), "a");

		ck_assert_ptr_nonnull(fp);
		fputs("noid\n200.M1.h bad!id\n../x Mx\n", fp);
		fclose(fp);
	}
	ck_assert(store_email_id_set(md, "200.M1.h", "Msecond", &error));
	{
		FILE *fp = fopen(tu_path(md, "correo-emailids"), "a");

		fputs("200.M1.h Mtorn", fp);
		fclose(fp);
	}
	/* Stale until refreshed. */
	store_email_id(e, "200.M1.h", id);
	ck_assert_str_eq(id, plain);
	store_emailids_refresh(&e, md);
	store_email_id(e, "200.M1.h:2,FS", id);
	ck_assert_str_eq(id, "Msecond");	/* the last whole record */
	/* The next write ends the torn line first, spoiled: its id may be
	 * cut short, so it never counts. */
	store_email_id(e, "100.M9.h", id);
	ck_assert_str_eq(id, "Mother");
	/* A name that is a prefix of a recorded one is not it. */
	store_email_id(e, "200.M1", id);
	store_email_id(NULL, "200.M1", plain);
	ck_assert_str_eq(id, plain);
	/* A batch: several records in one write; names that could not be
	 * read back are refused. */
	{
		struct str batch = STR_INIT;

		ck_assert(store_email_id_record(&batch, "300.M1.h:2,", "Ma"));
		ck_assert(store_email_id_record(&batch, "301.M1.h", "Mb"));
		ck_assert(!store_email_id_record(&batch, "3 02.h", "Mc"));
		ck_assert(!store_email_id_record(&batch, "a/b", "Mc"));
		ck_assert(!store_email_id_record(&batch, "", "Mc"));
		ck_assert(!store_email_id_record(&batch, "302.h", "M c"));
		ck_assert_str_eq(str_c(&batch), "300.M1.h Ma\n301.M1.h Mb\n");
		ck_assert(store_email_ids_write(md, &batch, &error));
		str_release(&batch);
		ck_assert(store_email_ids_write(md, &batch, &error));
		store_emailids_refresh(&e, md);
		store_email_id(e, "300.M1.h:2,S", id);
		ck_assert_str_eq(id, "Ma");
		store_email_id(e, "301.M1.h", id);
		ck_assert_str_eq(id, "Mb");
		store_email_id(e, "200.M1.h", id);
		ck_assert_str_eq(id, "Msecond");
	}
	store_emailids_free(&e);
	ck_assert_ptr_null(e);
	str_release(&error);
}
END_TEST

START_TEST(savedate_from_name)
{
	struct str error = STR_INIT, path = STR_INIT, to = STR_INIT;
	struct store_folder *f;
	struct store_msg *m;
	uint32_t uid;
	time_t before = time(NULL);
	int64_t t;

	f = deliver_and_open("Subject: x\n\nbody\n", &uid);
	m = store_lookup(f, uid, NULL);
	ck_assert_ptr_nonnull(m);
	t = store_msg_savedate(f, m);
	ck_assert_int_ge(t, (int64_t)before - 1);
	ck_assert_int_le(t, (int64_t)time(NULL));
	/* A flag change renames the file (and changes its ctime): the
	 * save date stays. */
	sleep(1);
	ck_assert_int_eq(store_set_flags(f, uid, STORE_F_SEEN, 0, &error), 1);
	m = store_lookup(f, uid, NULL);
	ck_assert_int_eq(store_msg_savedate(f, m), t);
	/* Another program's file without a time in its name: its ctime. */
	store_msg_path(f, m, &path);
	str_printf(&to, "%s/cur/foreign:2,S", md);
	ck_assert_int_eq(rename(str_c(&path), str_c(&to)), 0);
	store_folder_free(&f);
	f = store_folder_open(md, false, &error);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->count, 1);
	t = store_msg_savedate(f, &f->msgs[0]);
	ck_assert_int_ge(t, (int64_t)before);
	ck_assert_int_le(t, (int64_t)time(NULL));
	store_folder_free(&f);
	str_release(&error);
	str_release(&path);
	str_release(&to);
}
END_TEST

static Suite *store_objectid_suite(void)
{
	Suite *s = suite_create("store_objectid");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mailbox_id_made_once);
	tcase_add_test(tc, email_id_from_base_name);
	tcase_add_test(tc, email_id_records);
	tcase_add_test(tc, savedate_from_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_objectid_suite());
}
