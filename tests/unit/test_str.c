/*
 * Unit tests for common/str.c and common/mem.c: growable strings, the
 * checked snprintf wrapper and the strict number/time/size parsers.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "str.h"
#include "test_util.h"

START_TEST(test_append_grows_and_terminates)
{
	struct str s = STR_INIT;
	size_t i;

	ck_assert_str_eq(str_c(&s), "");
	for (i = 0; i < 10000; i++)
		str_append_c(&s, (char)('a' + i % 26));
	ck_assert_uint_eq(s.len, 10000);
	ck_assert_int_eq(s.data[s.len], '\0');
	ck_assert_int_eq(s.data[26], 'a');
	str_release(&s);
	ck_assert_ptr_null(s.data);
}
END_TEST

START_TEST(test_dup_printf)
{
	char big[5000];
	char *p = str_dup_printf("%s=%d", "n", 42);

	ck_assert_str_eq(p, "n=42");
	mem_free(p);
	ck_assert_ptr_null(p);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p = str_dup_printf("<%s>", big);
	ck_assert_uint_eq(strlen(p), sizeof(big) + 1);
	mem_free(p);
	p = str_dup_printf("%s", "");
	ck_assert_str_eq(p, "");
	mem_free(p);
}
END_TEST

/* Found by fuzz_local_header: consuming nothing from a string that never
 * held anything did pointer arithmetic on NULL (UBSan). */
START_TEST(test_consume_empty)
{
	struct str s = STR_INIT;

	str_consume(&s, 0);
	ck_assert_uint_eq(s.len, 0);
	ck_assert_str_eq(str_c(&s), "");
}
END_TEST

START_TEST(test_embedded_nul)
{
	struct str s = STR_INIT;

	str_append_n(&s, "a\0b", 3);
	ck_assert_uint_eq(s.len, 3);
	ck_assert_int_eq(memcmp(s.data, "a\0b", 3), 0);
	ck_assert(!str_equals(&s, "a"));
	str_release(&s);
}
END_TEST

START_TEST(test_printf_large)
{
	struct str s = STR_INIT;
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	str_printf(&s, "<%s>%d", big, 42);
	ck_assert_uint_eq(s.len, sizeof(big) - 1 + 4);
	ck_assert_str_eq(s.data + s.len - 3, ">42");
	str_printf(&s, "%s", "!");
	ck_assert_int_eq(s.data[s.len - 1], '!');
	str_release(&s);
}
END_TEST

START_TEST(test_truncate_consume_rtrim)
{
	struct str s = STR_INIT;

	str_set(&s, "hello world \r\n");
	str_rtrim(&s);
	ck_assert_str_eq(str_c(&s), "hello world");
	str_consume(&s, 6);
	ck_assert_str_eq(str_c(&s), "world");
	str_truncate(&s, 3);
	ck_assert_str_eq(str_c(&s), "wor");
	str_clear(&s);
	ck_assert_uint_eq(s.len, 0);
	str_release(&s);
}
END_TEST

START_TEST(test_steal_and_free)
{
	struct str *s = str_create(4);
	char *p;

	str_append(s, "abc");
	p = str_steal(s);
	ck_assert_str_eq(p, "abc");
	ck_assert_uint_eq(s->len, 0);
	free(p);
	str_free(&s);
	ck_assert_ptr_null(s);
	str_free(&s);
}
END_TEST

START_TEST(test_snprintf_reports_truncation)
{
	char buf[8];

	ck_assert(str_snprintf(buf, sizeof(buf), "%s", "1234567"));
	ck_assert(!str_snprintf(buf, sizeof(buf), "%s", "12345678"));
	ck_assert_str_eq(buf, "1234567");
}
END_TEST

START_TEST(test_token_and_trim)
{
	char text[] = "  a, b,,c  ";
	char *cursor = text, *t;
	const char *want[] = { "a", "b", "c" };
	int n = 0;
	char spaced[] = " \t x y \r\n";

	while ((t = str_token(&cursor, ", ")) != NULL) {
		ck_assert_int_lt(n, 3);
		ck_assert_str_eq(t, want[n++]);
	}
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(str_trim(spaced), "x y");
}
END_TEST

START_TEST(test_to_long)
{
	long v;

	ck_assert(str_to_long("42", 0, 100, &v));
	ck_assert_int_eq(v, 42);
	ck_assert(!str_to_long("", 0, 100, &v));
	ck_assert(!str_to_long(" 4", 0, 100, &v));
	ck_assert(!str_to_long("4x", 0, 100, &v));
	ck_assert(!str_to_long("101", 0, 100, &v));
	ck_assert(!str_to_long("-1", 0, 100, &v));
	ck_assert(!str_to_long("99999999999999999999999", 0, LONG_MAX, &v));
}
END_TEST

START_TEST(test_to_time)
{
	long v;

	ck_assert(str_to_time("300", 1, &v));
	ck_assert_int_eq(v, 300);
	ck_assert(str_to_time("5m", 1, &v));
	ck_assert_int_eq(v, 300);
	ck_assert(str_to_time("2h", 1, &v));
	ck_assert_int_eq(v, 7200);
	ck_assert(str_to_time("5d", 1, &v));
	ck_assert_int_eq(v, 5 * 86400);
	ck_assert(str_to_time("1w", 1, &v));
	ck_assert_int_eq(v, 7 * 86400);
	ck_assert(str_to_time("3", 86400, &v));
	ck_assert_int_eq(v, 3 * 86400);
	ck_assert(!str_to_time("m", 1, &v));
	ck_assert(!str_to_time("5x", 1, &v));
	ck_assert(!str_to_time("", 1, &v));
	ck_assert(!str_to_time("99999999999999999w", 1, &v));
}
END_TEST

START_TEST(test_to_size_and_bool)
{
	long long v;
	bool b;

	ck_assert(str_to_size("10240000", &v));
	ck_assert_int_eq(v, 10240000);
	ck_assert(str_to_size("10k", &v));
	ck_assert_int_eq(v, 10240);
	ck_assert(str_to_size("2M", &v));
	ck_assert_int_eq(v, 2 * 1024 * 1024);
	ck_assert(!str_to_size("2q", &v));
	ck_assert(!str_to_size("k", &v));
	ck_assert(str_to_bool("yes", &b) && b);
	ck_assert(str_to_bool("No", &b) && !b);
	ck_assert(!str_to_bool("maybe", &b));
}
END_TEST

START_TEST(test_hex_digit)
{
	const char *digits = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(str_hex_digit(digits[i]), i);
		ck_assert_int_eq(str_hex_digit(toupper((unsigned char)digits[i])),
				 i);
	}
	for (int c = -1; c < 256; c++)
		if (!isxdigit(c))
			ck_assert_int_eq(str_hex_digit(c), -1);
}
END_TEST

START_TEST(test_mem_overflow_panics)
{
	(void)mem_array((size_t)-1 / 2, 4);
}
END_TEST

START_TEST(test_mem_strndup)
{
	char *p = mem_strndup("abcdef", 3);

	ck_assert_str_eq(p, "abc");
	mem_free(p);
	ck_assert_ptr_null(p);
}
END_TEST

static Suite *str_suite(void)
{
	Suite *s = suite_create("str");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_grows_and_terminates);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_dup_printf);
	tcase_add_test(tc, test_consume_empty);
	tcase_add_test(tc, test_printf_large);
	tcase_add_test(tc, test_truncate_consume_rtrim);
	tcase_add_test(tc, test_steal_and_free);
	tcase_add_test(tc, test_snprintf_reports_truncation);
	tcase_add_test(tc, test_token_and_trim);
	tcase_add_test(tc, test_to_long);
	tcase_add_test(tc, test_to_time);
	tcase_add_test(tc, test_to_size_and_bool);
	tcase_add_test(tc, test_mem_strndup);
	tcase_add_test(tc, test_hex_digit);
	tcase_add_test_raise_signal(tc, test_mem_overflow_panics, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(str_suite());
}
