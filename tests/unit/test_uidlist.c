/*
 * Unit tests for common/uidlist.c: the file format (round trip, every
 * kind of damage reported with its line), CRLF sizes, and uidlist_sync
 * on real Maildirs: new/ moved to cur/, uids kept across syncs and
 * renames (flag changes), vanished messages forgotten, new ones numbered
 * in name order, the list file rewritten only when something changed,
 * and a held lock timing out.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "safe_file.h"
#include "uidlist.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/test_uidlist_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert(maildir_create(dir, NULL));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void put(const char *sub, const char *name, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	fclose(f);
}

static bool exists(const char *sub, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	return access(path, F_OK) == 0;
}

static void parse_fail(const char *text, const char *want)
{
	struct uidlist ul = UIDLIST_INIT;
	struct str err = STR_INIT;

	ck_assert_msg(!uidlist_parse(text, strlen(text), &ul, &err),
		      "accepted: %s", text);
	ck_assert_str_eq(str_c(&err), want);
	ck_assert_uint_eq(ul.count, 0);
	str_release(&err);
}

START_TEST(test_format_round_trip)
{
	static const char text[] =
		"1 V1700000000 N8\n"
		"3 W120 :1.M1P1Q1.host\n"
		"7 W0 :2.M1P1Q2.host\n";
	struct uidlist ul = UIDLIST_INIT;
	struct str err = STR_INIT, out = STR_INIT;

	ck_assert(uidlist_parse(text, strlen(text), &ul, &err));
	ck_assert_uint_eq(ul.validity, 1700000000);
	ck_assert_uint_eq(ul.next, 8);
	ck_assert_uint_eq(ul.count, 2);
	ck_assert_uint_eq(ul.recs[0].uid, 3);
	ck_assert_uint_eq(ul.recs[0].vsize, 120);
	ck_assert_str_eq(ul.recs[1].name, "2.M1P1Q2.host");
	ck_assert_ptr_eq(uidlist_lookup(&ul, 7), &ul.recs[1]);
	ck_assert_ptr_null(uidlist_lookup(&ul, 4));
	uidlist_format(&ul, &out);
	ck_assert_str_eq(str_c(&out), text);
	/* Unknown fields are skipped. */
	ck_assert(uidlist_parse("1 V5 N3 X9\n2 G1234 W5 :n\n", 25, &ul,
				&err));
	ck_assert_uint_eq(ul.recs[0].vsize, 5);
	uidlist_clear(&ul);
	str_release(&err);
	str_release(&out);
}
END_TEST

START_TEST(test_parse_errors)
{
	parse_fail("", "line 0: empty file");
	parse_fail("1 V5 N3", "line 1: missing final newline");
	parse_fail("2 V5 N3\n",
		   "line 1: bad header (expected \"1 V<n> N<n>\")");
	parse_fail("1 V0 N3\n",
		   "line 1: bad header (expected \"1 V<n> N<n>\")");
	parse_fail("1 V5 N99999999999\n",
		   "line 1: bad header (expected \"1 V<n> N<n>\")");
	parse_fail("1 V5 N9\nx :a\n", "line 2: bad uid");
	parse_fail("1 V5 N9\n0 :a\n", "line 2: bad uid");
	parse_fail("1 V5 N9\n3 :a\n2 :b\n", "line 3: uid not increasing");
	parse_fail("1 V5 N9\n3 :a\n3 :b\n", "line 3: uid not increasing");
	parse_fail("1 V5 N3\n3 :a\n",
		   "line 2: uid not below the header's next uid");
	parse_fail("1 V5 N9\n3 a\n", "line 2: expected \" :NAME\"");
	parse_fail("1 V5 N9\n3 :\n", "line 2: bad name");
	parse_fail("1 V5 N9\n3 :../x\n", "line 2: bad name");
	parse_fail("1 V5 N9\n3 :a:2,S\n", "line 2: bad name");
	parse_fail("1 V5 N9\n3 :.hidden\n", "line 2: bad name");
	parse_fail("1 V5 N9\n3 Wx :a\n", "line 2: bad W size");
	parse_fail("1 V5 N9\n3 :a\n4 :b", "line 3: missing final newline");
}
END_TEST

START_TEST(test_vsize)
{
	uint64_t v = 0;
	char path[256];

	put("tmp", "m", "a\nb\r\nc\rd\n");
	snprintf(path, sizeof(path), "%s/tmp/m", dir);
	ck_assert(uidlist_vsize(path, &v));
	ck_assert_uint_eq(v, 9 + 2);
	snprintf(path, sizeof(path), "%s/tmp/none", dir);
	ck_assert(!uidlist_vsize(path, &v));
}
END_TEST

START_TEST(test_name_vsize)
{
	static const struct {
		const char *name;
		bool ok;
		uint64_t v;
	} c[] = {
		{ "1700000000.M1P2Q3.host,S=4096,W=4180", true, 4180 },
		{ "1700000000.M1P2Q3.host,W=7,S=5", true, 7 },
		{ "1.M1P1Q1.h,W=0", true, 0 },
		{ "1.M1P1Q1.h,S=4096", false, 0 },
		{ "1.M1P1Q1.h", false, 0 },
		{ "1.M1P1Q1.h,W=", false, 0 },
		{ "1.M1P1Q1.h,W=12x", false, 0 },
		{ "1.M1P1Q1.h,W=-1", false, 0 },
		{ "1.M1P1Q1.h,XW=5", false, 0 },
		{ "1.M1P1Q1.h,W=281474976710657", false, 0 },
		{ "1.M1P1Q1.h,W=99999999999999999999999", false, 0 },
	};
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		v = 12345;
		ck_assert_msg(uidlist_name_vsize(c[i].name, strlen(c[i].name),
						 &v) == c[i].ok, "%s",
			      c[i].name);
		ck_assert_uint_eq(v, c[i].ok ? c[i].v : 12345);
	}
	/* Only the base name's length counts: ",W=5:2," stops at ':'. */
	ck_assert(uidlist_name_vsize("a,W=5:2,", 5, &v));
	ck_assert_uint_eq(v, 5);
	ck_assert(!uidlist_name_vsize("a,W=5", 4, &v));
}
END_TEST

START_TEST(test_sync_sizes_from_names)
{
	struct uidlist ul = UIDLIST_INIT;
	struct str err = STR_INIT;

	/* W= is believed without reading the file (here it disagrees with
	 * the content, which proves the file was not read); S= alone is
	 * not enough: the file is read. */
	put("new", "100.M1P1Q1.h,S=3,W=999", "ab\n");
	put("new", "101.M1P1Q1.h,S=3", "ab\n");
	put("cur", "102.M1P1Q1.h,W=bad:2,S", "ab\n");
	ck_assert_msg(uidlist_sync(dir, &ul, 1, &err), "%s", str_c(&err));
	ck_assert_uint_eq(ul.count, 3);
	ck_assert_str_eq(ul.recs[0].name, "100.M1P1Q1.h,S=3,W=999");
	ck_assert_str_eq(ul.recs[0].file, "100.M1P1Q1.h,S=3,W=999:2,");
	ck_assert_uint_eq(ul.recs[0].vsize, 999);
	ck_assert_uint_eq(ul.recs[1].vsize, 4);
	ck_assert_uint_eq(ul.recs[2].vsize, 4);
	uidlist_clear(&ul);
	str_release(&err);
}
END_TEST

START_TEST(test_sync)
{
	struct uidlist ul = UIDLIST_INIT;
	struct str err = STR_INIT;
	char from[256], to[256];
	uint32_t validity;
	struct stat st1, st2;

	put("new", "200.M1P1Q2.h", "x\n");
	put("new", "100.M1P1Q1.h", "hello\nworld\n");
	put("cur", "150.M1P1Q1.h:2,S", "seen\n");
	ck_assert_msg(uidlist_sync(dir, &ul, 1, &err), "%s", str_c(&err));
	ck_assert_uint_eq(ul.count, 3);
	/* Name order: delivery order. */
	ck_assert_str_eq(ul.recs[0].name, "100.M1P1Q1.h");
	ck_assert_str_eq(ul.recs[0].file, "100.M1P1Q1.h:2,");
	ck_assert_uint_eq(ul.recs[0].vsize, 14);
	ck_assert_str_eq(ul.recs[1].file, "150.M1P1Q1.h:2,S");
	ck_assert_uint_eq(ul.recs[2].uid, 3);
	ck_assert_uint_eq(ul.next, 4);
	ck_assert(!exists("new", "100.M1P1Q1.h"));
	ck_assert(exists("cur", "100.M1P1Q1.h:2,"));
	validity = ul.validity;

	/* Nothing changed: the same list, and the file is not rewritten. */
	snprintf(from, sizeof(from), "%s/%s", dir, UIDLIST_FILE);
	ck_assert_int_eq(stat(from, &st1), 0);
	ck_assert(uidlist_sync(dir, &ul, 1, &err));
	ck_assert_int_eq(stat(from, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert_uint_eq(ul.validity, validity);

	/* A flag change (rename), a removal and a new message. */
	snprintf(from, sizeof(from), "%s/cur/100.M1P1Q1.h:2,", dir);
	snprintf(to, sizeof(to), "%s/cur/100.M1P1Q1.h:2,RS", dir);
	ck_assert_int_eq(rename(from, to), 0);
	snprintf(from, sizeof(from), "%s/cur/150.M1P1Q1.h:2,S", dir);
	ck_assert_int_eq(unlink(from), 0);
	put("new", "050.M1P1Q1.h", "old name, new message\n");
	ck_assert(uidlist_sync(dir, &ul, 1, &err));
	ck_assert_uint_eq(ul.count, 3);
	ck_assert_uint_eq(ul.recs[0].uid, 1);
	ck_assert_str_eq(ul.recs[0].file, "100.M1P1Q1.h:2,RS");
	ck_assert_uint_eq(ul.recs[1].uid, 3);
	ck_assert_uint_eq(ul.recs[2].uid, 4);
	ck_assert_str_eq(ul.recs[2].name, "050.M1P1Q1.h");
	ck_assert_uint_eq(ul.next, 5);

	/* Another reader (a fresh list) sees the same uids. */
	uidlist_clear(&ul);
	ck_assert_int_eq(uidlist_read(dir, &ul, &err), 1);
	ck_assert_uint_eq(ul.count, 3);
	ck_assert_uint_eq(ul.recs[2].uid, 4);
	ck_assert_uint_eq(ul.validity, validity);
	uidlist_clear(&ul);
	str_release(&err);
}
END_TEST

START_TEST(test_sync_damaged_and_locked)
{
	struct uidlist ul = UIDLIST_INIT;
	struct str err = STR_INIT;
	char path[256];
	int lock;

	snprintf(path, sizeof(path), "%s/%s", dir, UIDLIST_FILE);
	ck_assert(safe_write_file(path, "garbage\n", 8, 0600));
	ck_assert(!uidlist_sync(dir, &ul, 1, &err));
	ck_assert_ptr_nonnull(strstr(str_c(&err), "line 1: bad header"));
	unlink(path);

	snprintf(path, sizeof(path), "%s/%s", dir, UIDLIST_LOCK);
	lock = safe_lock_file(path);
	ck_assert_int_ge(lock, 0);
	str_clear(&err);
	ck_assert(!uidlist_sync(dir, &ul, 0, &err));
	ck_assert_ptr_nonnull(strstr(str_c(&err), "timed out"));
	close(lock);
	str_clear(&err);
	ck_assert(uidlist_sync(dir, &ul, 0, &err));
	ck_assert_uint_eq(ul.count, 0);
	ck_assert_int_eq(uidlist_read(dir, &ul, &err), 1);
	uidlist_clear(&ul);
	str_release(&err);

	/* No cur/: an error, not an empty mailbox. */
	snprintf(path, sizeof(path), "rm -rf %s/cur", dir);
	ck_assert_int_eq(system(path), 0);
	ck_assert(!uidlist_sync(dir, &ul, 1, &err));
	str_release(&err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uidlist");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_format_round_trip);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_vsize);
	tcase_add_test(tc, test_sync);
	tcase_add_test(tc, test_name_vsize);
	tcase_add_test(tc, test_sync_sizes_from_names);
	tcase_add_test(tc, test_sync_damaged_and_locked);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
