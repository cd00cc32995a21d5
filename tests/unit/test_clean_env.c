/*
 * Unit tests for common/util/clean_env.c: only the allowlisted names
 * survive, NAME=VALUE sets, a later entry wins, bad names change
 * nothing.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "clean_env.h"
#include "test_util.h"

extern char **environ;

static int env_count(void)
{
	int n = 0;

	/* clearenv() may leave environ NULL. */
	while (environ != NULL && environ[n] != NULL)
		n++;
	return n;
}

START_TEST(test_keeps_only_the_list)
{
	char *list[] = { "KEEP_ME", "UNSET_NAME", "LANG=C", "TZ", NULL };
	const char *bad = NULL;

	setenv("KEEP_ME", "a value=with equals", 1);
	setenv("SECRET_TOKEN", "hunter2", 1);
	setenv("LANG", "de_DE.UTF-8", 1);
	unsetenv("UNSET_NAME");
	unsetenv("TZ");
	ck_assert(clean_env(list, &bad));
	ck_assert_str_eq(getenv("KEEP_ME"), "a value=with equals");
	ck_assert_str_eq(getenv("LANG"), "C");
	ck_assert_ptr_null(getenv("SECRET_TOKEN"));
	ck_assert_ptr_null(getenv("UNSET_NAME"));
	ck_assert_ptr_null(getenv("PATH"));
	ck_assert_int_eq(env_count(), 2);
}
END_TEST

START_TEST(test_later_entry_wins_and_empty_list)
{
	char *list[] = { "A=1", "A=2", "B", NULL };
	char *none[] = { NULL };
	const char *bad = NULL;

	setenv("B", "", 1);
	ck_assert(clean_env(list, &bad));
	ck_assert_str_eq(getenv("A"), "2");
	ck_assert_str_eq(getenv("B"), "");
	ck_assert(clean_env(none, &bad));
	ck_assert_int_eq(env_count(), 0);
}
END_TEST

START_TEST(test_bad_names_change_nothing)
{
	static char *bad_lists[][3] = {
		{ "OK", "=value", NULL },
		{ "OK", "1ABC", NULL },
		{ "OK", "A-B", NULL },
		{ "OK", "A B=c", NULL },
	};
	const char *bad;
	size_t i;

	for (i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		setenv("STILL_HERE", "yes", 1);
		bad = NULL;
		ck_assert(!clean_env(bad_lists[i], &bad));
		ck_assert_str_eq(bad, bad_lists[i][1]);
		ck_assert_str_eq(getenv("STILL_HERE"), "yes");
	}
}
END_TEST

static Suite *clean_env_suite(void)
{
	Suite *s = suite_create("clean_env");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_keeps_only_the_list);
	tcase_add_test(tc, test_later_entry_wins_and_empty_list);
	tcase_add_test(tc, test_bad_names_change_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(clean_env_suite());
}
