/*
 * Unit tests for imapd/imap_seqset.c: parsing (with '*', '$' and the
 * 32-bit limit), resolving '*', normalising, membership, iteration, the
 * range limit and the compact output form.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap_seqset.h"
#include "test_util.h"

static struct imap_seqset set = IMAP_SEQSET_INIT;

static void teardown(void)
{
	imap_seqset_release(&set);
}

static char *fmt(void)
{
	struct str out = STR_INIT;

	imap_seqset_format(&set, &out);
	str_append(&out, "");
	return str_steal(&out);
}

#define ck_set(expected) do { \
	char *f_ = fmt(); \
	ck_assert_str_eq(f_, expected); \
	free(f_); \
} while (0)

static bool parse(const char *text)
{
	const char *error = NULL;
	bool ok = imap_seqset_parse(&set, text, IMAP_SEQSET_ALLOW_DOLLAR, 0,
				    &error);

	ck_assert(ok || error != NULL);
	return ok;
}

START_TEST(test_parse)
{
	ck_assert(parse("1"));
	ck_set("1");
	ck_assert(parse("1:3,7,9:*"));
	ck_assert(set.star);
	ck_set("1:3,7,9:*");
	ck_assert(parse("*"));
	ck_set("*");
	ck_assert(parse("*:4"));
	ck_set("4:*");
	ck_assert(parse("5:2"));
	ck_set("2:5");
	ck_assert(parse("1,2,3,5"));
	ck_set("1:3,5");
	ck_assert(parse("4294967295"));
	ck_set("4294967295");
	ck_assert(parse("1:4294967295"));
	ck_assert(parse("0001"));
	ck_set("1");
	ck_assert(parse("$"));
	ck_assert(set.dollar);
	ck_assert_uint_eq(set.count, 0);
	ck_assert(parse("1,$"));
	ck_assert(set.dollar);

	ck_assert(!parse(""));
	ck_assert(!parse("0"));
	ck_assert(!parse("0:5"));
	ck_assert(!parse("00"));
	ck_assert(!parse("4294967296"));
	ck_assert(!parse("4294967297"));
	ck_assert(!parse("1:4294967296"));
	ck_assert(!parse("99999999999999999999"));
	ck_assert(!parse("1,"));
	ck_assert(!parse(",1"));
	ck_assert(!parse("1::2"));
	ck_assert(!parse("1:"));
	ck_assert(!parse("-1"));
	ck_assert(!parse("1 2"));
	ck_assert(!parse("a"));
	ck_assert(!parse("**"));
	ck_assert(!parse("$$"));
	ck_assert(!parse("1.5"));
	{
		const char *error;

		ck_assert(!imap_seqset_parse(&set, "$", 0, 0, &error));
	}
}
END_TEST

START_TEST(test_range_limit)
{
	struct str text = STR_INIT;
	const char *error = NULL;
	int i;

	for (i = 0; i < 10; i++)
		str_printf(&text, "%s%d", i > 0 ? "," : "", i * 2 + 1);
	ck_assert(imap_seqset_parse(&set, str_c(&text), 0, 10, &error));
	ck_assert_uint_eq(set.count, 10);
	str_append(&text, ",100");
	ck_assert(!imap_seqset_parse(&set, str_c(&text), 0, 10, &error));
	ck_assert_str_eq(error, "Too many ranges in sequence set");
	/* Adjacent numbers merge while parsing: no limit reached. */
	str_clear(&text);
	for (i = 1; i <= 100; i++)
		str_printf(&text, "%s%d", i > 1 ? "," : "", i);
	ck_assert(imap_seqset_parse(&set, str_c(&text), 0, 10, &error));
	ck_set("1:100");
	/* The default limit. */
	str_clear(&text);
	for (i = 0; i <= IMAP_SEQSET_RANGES_MAX; i++)
		str_printf(&text, "%s%d", i > 0 ? "," : "", i * 2 + 1);
	ck_assert(!imap_seqset_parse(&set, str_c(&text), 0, 0, &error));
	str_release(&text);
}
END_TEST

START_TEST(test_resolve)
{
	ck_assert(parse("1:3,7,9:*"));
	imap_seqset_resolve(&set, 20);
	ck_set("1:3,7,9:20");
	ck_assert(parse("30:*"));
	imap_seqset_resolve(&set, 20);
	ck_set("20:30");
	ck_assert(parse("*,5"));
	imap_seqset_resolve(&set, 20);
	ck_set("5,20");
	ck_assert(parse("*"));
	imap_seqset_resolve(&set, 0);
	ck_set("");
	ck_assert(parse("5:*,2"));
	imap_seqset_resolve(&set, 0);
	ck_set("2,5");
	ck_assert(parse("10:12,1:4,3:6,7,20:25,21"));
	imap_seqset_resolve(&set, 100);
	ck_set("1:7,10:12,20:25");
	ck_assert_uint_eq(imap_seqset_count(&set), 16);
	ck_assert_uint_eq(imap_seqset_max(&set), 25);
	ck_assert(parse("4294967295,1:4294967295"));
	imap_seqset_resolve(&set, 5);
	ck_set("1:4294967295");
	ck_assert_uint_eq(imap_seqset_count(&set), 4294967295ull);
}
END_TEST

START_TEST(test_contains_iter)
{
	struct imap_seqset_iter it;
	uint32_t n, seen[32];
	unsigned int count = 0;

	ck_assert(parse("9:*,1:3,5"));
	imap_seqset_resolve(&set, 11);
	ck_assert(imap_seqset_contains(&set, 1));
	ck_assert(imap_seqset_contains(&set, 3));
	ck_assert(!imap_seqset_contains(&set, 4));
	ck_assert(imap_seqset_contains(&set, 5));
	ck_assert(!imap_seqset_contains(&set, 8));
	ck_assert(imap_seqset_contains(&set, 11));
	ck_assert(!imap_seqset_contains(&set, 12));
	ck_assert(!imap_seqset_contains(&set, 0));
	imap_seqset_iter_init(&it, &set);
	while (imap_seqset_iter_next(&it, &n))
		seen[count++] = n;
	ck_assert_uint_eq(count, 7);
	ck_assert(seen[0] == 1 && seen[2] == 3 && seen[3] == 5 &&
		  seen[4] == 9 && seen[6] == 11);
	/* The top of the number space ends the iteration. */
	ck_assert(parse("4294967294:4294967295"));
	imap_seqset_resolve(&set, 1);
	imap_seqset_iter_init(&it, &set);
	count = 0;
	while (imap_seqset_iter_next(&it, &n))
		seen[count++] = n;
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(seen[1], 4294967295u);
	/* An empty set. */
	imap_seqset_clear(&set);
	imap_seqset_iter_init(&it, &set);
	ck_assert(!imap_seqset_iter_next(&it, &n));
	ck_assert(!imap_seqset_contains(&set, 1));
}
END_TEST

START_TEST(test_build)
{
	struct imap_seqset other = IMAP_SEQSET_INIT;

	/* COPYUID: order kept, runs compacted. */
	imap_seqset_add(&set, 7);
	imap_seqset_add(&set, 8);
	imap_seqset_add(&set, 9);
	imap_seqset_add(&set, 3);
	imap_seqset_add(&set, 4);
	imap_seqset_add(&set, 12);
	ck_set("7:9,3:4,12");
	imap_seqset_add(&other, 4294967295u);
	imap_seqset_add(&other, 1);
	ck_assert_uint_eq(other.count, 2);
	imap_seqset_merge(&set, &other);
	ck_set("7:9,3:4,12,4294967295,1");
	imap_seqset_normalise(&set);
	ck_set("1,3:4,7:9,12,4294967295");
	imap_seqset_release(&other);
}
END_TEST

static Suite *imap_seqset_suite(void)
{
	Suite *s = suite_create("imap_seqset");
	TCase *tc = tcase_create("seqset");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_range_limit);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_contains_iter);
	tcase_add_test(tc, test_build);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_seqset_suite());
}
