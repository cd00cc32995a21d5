/*
 * Unit tests for store/store_quota.c: the quota rule, the maildirsize
 * header and lines (parser and writer), the store keeping the file up
 * to date on delivery and expunge in every folder, and recalculation
 * when the file is missing, torn at any byte, garbled, too big, stale
 * while over quota, or has other limits than the configured ones.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "safe_file.h"
#include "store.h"
#include "store_quota.h"
#include "str.h"
#include "test_util.h"

static char tmpdir[64];
static char md[96];

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_store_quota");
	snprintf(md, sizeof(md), "%s/Maildir", tmpdir);
	ck_assert(maildir_create(md, NULL));
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static uint32_t deliver(const char *dir, const char *text)
{
	struct str error = STR_INIT;
	const char *dsn;
	uint32_t uid = 0;

	ck_assert_msg(store_deliver(dir, 0, 0, tu_write_text, (void *)text, 0,
				    &uid, &error, &dsn) == MAILDIR_OK,
		      "deliver: %s", str_c(&error));
	str_release(&error);
	return uid;
}

static struct store_usage usage_of(const struct store_quota *q)
{
	struct store_usage u = { -1, -1 };
	struct str error = STR_INIT;

	ck_assert_msg(store_quota_get(md, q, NULL, &u, &error) == 1, "%s",
		      str_c(&error));
	str_release(&error);
	return u;
}

static void read_quota_file(struct str *out)
{
	str_clear(out);
	ck_assert(safe_read_file(tu_path(md, STORE_QUOTA_FILE), out, 65536));
}

START_TEST(rule_parse)
{
	struct store_quota q;
	const char *why;

	ck_assert(store_quota_parse("storage=1G messages=100000", &q, &why));
	ck_assert_uint_eq(q.bytes, 1024ULL * 1024 * 1024);
	ck_assert_uint_eq(q.messages, 100000);
	ck_assert(store_quota_parse("*:storage=10M:messages=5", &q, &why));
	ck_assert_uint_eq(q.bytes, 10 * 1024 * 1024);
	ck_assert_uint_eq(q.messages, 5);
	ck_assert(store_quota_parse("  messages=7", &q, &why));
	ck_assert_uint_eq(q.bytes, 0);
	ck_assert_uint_eq(q.messages, 7);
	ck_assert(store_quota_parse("STORAGE=512k", &q, &why));
	ck_assert_uint_eq(q.bytes, 512 * 1024);
	ck_assert(store_quota_parse("none", &q, &why));
	ck_assert(!store_quota_is_set(&q));
	ck_assert(store_quota_parse("", &q, &why));
	ck_assert(!store_quota_is_set(&q));
	ck_assert(store_quota_parse("storage=0 messages=0", &q, &why));
	ck_assert(!store_quota_is_set(&q));
	ck_assert(!store_quota_parse("storage=lots", &q, &why));
	ck_assert(!store_quota_parse("storage", &q, &why));
	ck_assert(!store_quota_parse("bytes=10", &q, &why));
	ck_assert(!store_quota_parse("messages=-1", &q, &why));
	ck_assert(!store_quota_parse("storage=99999999999999999999", &q,
				     &why));
}
END_TEST

START_TEST(header_round_trip)
{
	static const struct store_quota cases[] = {
		{ 1048576, 10 }, { 1000, 0 }, { 0, 5 },
	};
	static const char *const texts[] = { "1048576S,10C", "1000S", "5C" };
	struct str s = STR_INIT;

	for (size_t i = 0; i < 3; i++) {
		struct store_quota q;
		struct store_usage u;

		str_clear(&s);
		store_quota_format_header(&cases[i], &s);
		ck_assert_str_eq(str_c(&s), texts[i]);
		str_append(&s, "\n12 1\n-2 0\n");
		ck_assert(store_quota_parse_file(s.data, s.len, &q, &u));
		ck_assert_uint_eq(q.bytes, cases[i].bytes);
		ck_assert_uint_eq(q.messages, cases[i].messages);
		ck_assert_int_eq(u.bytes, 10);
		ck_assert_int_eq(u.messages, 1);
	}
	str_release(&s);
}
END_TEST

START_TEST(file_parse_rejects)
{
	static const char *const bad[] = {
		"",			/* no header */
		"1024S,10C",		/* header without newline */
		"1024X\n",		/* unknown letter */
		"S\n",			/* no number */
		"1024S,10C\n5 1\n7",	/* torn last line */
		"1024S,10C\n5 1\n7 \n",	/* one number */
		"1024S,10C\n5 1\nx y\n",	/* garbled */
		"1024S,10C\n5 1 2\n",	/* three numbers */
		"1024S,10C\n-5 -1\n",	/* below zero */
		"1024S,10C\n99999999999999999999 1\n",	/* overflow */
	};
	static const char *const good[] = {
		"1024S,10C\n",
		"1024S,10C\n  5   1\n",	/* Courier pads */
		"1024S,10C\n0 0\n5 1\n-5 -1\n",
	};
	struct store_quota q;
	struct store_usage u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(!store_quota_parse_file(bad[i], strlen(bad[i]),
						      &q, &u), "%s", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		ck_assert_msg(store_quota_parse_file(good[i], strlen(good[i]),
						     &q, &u), "%s", good[i]);
}
END_TEST

START_TEST(root_of_folder)
{
	struct str r = STR_INIT;

	store_quota_root("/m/Maildir", &r);
	ck_assert_str_eq(str_c(&r), "/m/Maildir");
	store_quota_root("/m/Maildir/.Sent", &r);
	ck_assert_str_eq(str_c(&r), "/m/Maildir");
	store_quota_root("/m/Maildir/", &r);
	ck_assert_str_eq(str_c(&r), "/m/Maildir/");
	store_quota_root(".", &r);
	ck_assert_str_eq(str_c(&r), ".");
	store_quota_root("./.a.b", &r);
	ck_assert_str_eq(str_c(&r), ".");
	str_release(&r);
}
END_TEST

START_TEST(no_limits_no_file)
{
	struct store_quota none = { 0, 0 };
	struct store_usage u;
	struct str error = STR_INIT;
	struct stat st;

	deliver(md, "a\n");
	ck_assert_int_eq(store_quota_get(md, &none, NULL, &u, &error), 0);
	ck_assert_int_eq(store_quota_get(md, NULL, NULL, &u, &error), 0);
	ck_assert_int_eq(store_quota_check(md, &none, 1000000, 1000, &error),
			 1);
	ck_assert(stat(tu_path(md, STORE_QUOTA_FILE), &st) != 0);
	str_release(&error);
}
END_TEST

START_TEST(store_keeps_count)
{
	struct store_quota q = { 1000, 10 };
	struct str error = STR_INIT, sent = STR_INIT, text = STR_INIT;
	struct store_folder *f;
	struct store_usage u;
	uint32_t uid;

	deliver(md, "before the quota\n");	/* 17 bytes */
	u = usage_of(&q);	/* created by a recalculation */
	ck_assert_int_eq(u.bytes, 17);
	ck_assert_int_eq(u.messages, 1);
	uid = deliver(md, "0123456789\n");
	str_printf(&sent, "%s/.Sent", md);
	deliver(str_c(&sent), "sent\n");
	u = usage_of(&q);
	ck_assert_int_eq(u.bytes, 17 + 11 + 5);
	ck_assert_int_eq(u.messages, 3);
	read_quota_file(&text);
	ck_assert_str_eq(str_c(&text), "1000S,10C\n17 1\n11 1\n5 1\n");
	f = store_folder_open(md, false, &error);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(store_expunge(f, &uid, 1, &error), 1);
	store_folder_free(&f);
	u = usage_of(&q);
	ck_assert_int_eq(u.bytes, 17 + 5);
	ck_assert_int_eq(u.messages, 2);
	/* The count kept equals a recalculation. */
	ck_assert(store_quota_recalc(md, &q, &u, &error));
	ck_assert_int_eq(u.bytes, 17 + 5);
	ck_assert_int_eq(u.messages, 2);
	read_quota_file(&text);
	ck_assert_str_eq(str_c(&text), "1000S,10C\n22 2\n");
	str_release(&error);
	str_release(&sent);
	str_release(&text);
}
END_TEST

/* A recalculation waits for a delivery that is under way (it holds the
 * shared quota lock): the message is counted once, by the sum, and not
 * lost to a note appended to no file before the new one is renamed in
 * (the race that made a quota-bound delivery succeed one over). */
START_TEST(recalc_waits_for_delivery)
{
	struct store_quota q = { 0, 10 };
	struct str error = STR_INIT;
	struct store_usage u;
	int p[2], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int lock = store_quota_lock(md, false);

		if (lock < 0 || write(p[1], "L", 1) != 1)
			_exit(1);
		usleep(200000);
		deliver(md, "0123456789\n");
		store_quota_unlock(&lock);
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert(store_quota_recalc(md, &q, &u, &error));
	ck_assert_int_eq(u.messages, 1);
	ck_assert_int_eq(u.bytes, 11);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	u = usage_of(&q);
	ck_assert_int_eq(u.messages, 1);
	ck_assert_int_eq(u.bytes, 11);
	close(p[0]);
	close(p[1]);
	str_release(&error);
}
END_TEST

START_TEST(check_limits)
{
	struct store_quota q = { 100, 3 };
	struct str error = STR_INIT;

	deliver(md, "0123456789\n");	/* 11 */
	ck_assert_int_eq(store_quota_check(md, &q, 89, 1, &error), 1);
	ck_assert_int_eq(store_quota_check(md, &q, 90, 1, &error), 0);
	ck_assert_int_eq(store_quota_check(md, &q, 1, 2, &error), 1);
	ck_assert_int_eq(store_quota_check(md, &q, 1, 3, &error), 0);
	/* A reader without configured limits takes the file's. */
	ck_assert_int_eq(store_quota_check(md, NULL, 90, 1, &error), 0);
	ck_assert_int_eq(store_quota_check(md, NULL, 89, 1, &error), 1);
	str_release(&error);
}
END_TEST

/* The file cut at every byte: a torn line is noticed and the usage
 * recalculated (a cut at a line's end is a shorter, valid file: the
 * changes after it are lost until a recalculation, as in Maildir++). */
START_TEST(torn_file_recalculated)
{
	struct store_quota q = { 5000, 50 };
	struct str text = STR_INIT, cut = STR_INIT;
	struct store_usage u;

	(void)usage_of(&q);
	for (int i = 0; i < 5; i++)
		deliver(md, "some message text\n");	/* 18 each */
	read_quota_file(&text);
	for (size_t len = 0; len < text.len; len++) {
		if (len > 0 && text.data[len - 1] == '\n')
			continue;
		str_clear(&cut);
		str_append_n(&cut, text.data, len);
		tu_write_file(tu_path(md, STORE_QUOTA_FILE), str_c(&cut),
			      0600);
		u = usage_of(&q);
		ck_assert_msg(u.bytes == 90 && u.messages == 5,
			      "cut at %zu: %lld %lld", len, (long long)u.bytes,
			      (long long)u.messages);
		read_quota_file(&cut);
		ck_assert_str_eq(str_c(&cut), "5000S,50C\n90 5\n");
	}
	str_release(&text);
	str_release(&cut);
}
END_TEST

START_TEST(garbled_big_or_changed_recalculated)
{
	struct store_quota q = { 5000, 50 }, q2 = { 8000, 0 };
	struct str text = STR_INIT;
	struct store_usage u;

	deliver(md, "abc\n");
	tu_write_file(tu_path(md, STORE_QUOTA_FILE),
		      "5000S,50C\n4 1\nrubbish\n", 0600);
	u = usage_of(&q);
	ck_assert_int_eq(u.bytes, 4);
	read_quota_file(&text);
	ck_assert_str_eq(str_c(&text), "5000S,50C\n4 1\n");
	/* Over 5120 bytes: start afresh even though the sum is right. */
	str_set(&text, "5000S,50C\n4 1\n");
	for (int i = 0; i < 1500; i++)
		str_append(&text, "0 0\n");
	tu_write_file(tu_path(md, STORE_QUOTA_FILE), str_c(&text), 0600);
	u = usage_of(&q);
	ck_assert_int_eq(u.bytes, 4);
	read_quota_file(&text);
	ck_assert_str_eq(str_c(&text), "5000S,50C\n4 1\n");
	/* The administrator changed the limits: a new header. */
	u = usage_of(&q2);
	read_quota_file(&text);
	ck_assert_str_eq(str_c(&text), "8000S\n4 1\n");
	str_release(&text);
}
END_TEST

START_TEST(stale_over_quota_recalculated)
{
	struct store_quota q = { 100, 0 };
	struct str error = STR_INIT;
	struct timespec old[2] = { { 0, 0 }, { 0, 0 } };

	deliver(md, "abc\n");
	/* A file that says over quota, fresh: believed. */
	tu_write_file(tu_path(md, STORE_QUOTA_FILE), "100S\n500 1\n", 0600);
	ck_assert_int_eq(store_quota_check(md, &q, 1, 1, &error), 0);
	/* The same file 16 minutes old: recalculated, and it fits. */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - STORE_QUOTA_STALE - 60;
	ck_assert(utimensat(AT_FDCWD, tu_path(md, STORE_QUOTA_FILE), old,
			    0) == 0);
	ck_assert_int_eq(store_quota_check(md, &q, 1, 1, &error), 1);
	ck_assert_int_eq(usage_of(&q).bytes, 4);
	str_release(&error);
}
END_TEST

static Suite *store_quota_suite(void)
{
	Suite *s = suite_create("store_quota");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rule_parse);
	tcase_add_test(tc, header_round_trip);
	tcase_add_test(tc, file_parse_rejects);
	tcase_add_test(tc, root_of_folder);
	tcase_add_test(tc, no_limits_no_file);
	tcase_add_test(tc, store_keeps_count);
	tcase_add_test(tc, recalc_waits_for_delivery);
	tcase_add_test(tc, check_limits);
	tcase_add_test(tc, torn_file_recalculated);
	tcase_add_test(tc, garbled_big_or_changed_recalculated);
	tcase_add_test(tc, stale_over_quota_recalculated);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_quota_suite());
}
