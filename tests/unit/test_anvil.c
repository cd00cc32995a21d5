/*
 * Unit tests for anvil/anvil_table.c (counts, rate windows, services'
 * active sums, sweeping, peaks) and the verdicts of
 * common/ipc/anvil_client.c.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "anvil.h"
#include "anvil_client.h"
#include "test_util.h"

#define UNIT 60000LL

START_TEST(test_counts)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_counts c;
	struct anvil_entry *a, *b;

	a = anvil_table_connect(t, "smtp", "192.0.2.1", 0, &c);
	ck_assert_int_eq(c.count, 1);
	ck_assert_int_eq(c.rate, 1);
	ck_assert_int_eq(c.active, 1);
	ck_assert_ptr_eq(anvil_table_connect(t, "smtp", "192.0.2.1", 10, &c),
			 a);
	ck_assert_int_eq(c.count, 2);
	ck_assert_int_eq(c.rate, 2);
	/* Another client of the same service: its own counts, the
	 * service's sum. */
	b = anvil_table_connect(t, "smtp", "192.0.2.2", 20, &c);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(c.count, 1);
	ck_assert_int_eq(c.active, 3);
	/* The same address on another service is another key. */
	anvil_table_connect(t, "submission", "192.0.2.1", 30, &c);
	ck_assert_int_eq(c.count, 1);
	ck_assert_int_eq(c.active, 1);
	anvil_table_disconnect(t, a);
	ck_assert_ptr_eq(anvil_table_find(t, "smtp", "192.0.2.1"), a);
	anvil_table_connect(t, "smtp", "192.0.2.1", 40, &c);
	ck_assert_int_eq(c.count, 2);
	ck_assert_int_eq(c.rate, 3);	/* disconnecting resets nothing */
	ck_assert_int_eq(c.active, 3);
	ck_assert_ptr_null(anvil_table_find(t, "smtp", "192.0.2.9"));
	anvil_table_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_rate_window)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_counts c;
	struct anvil_entry *e;
	int i;

	for (i = 0; i < 5; i++)
		e = anvil_table_connect(t, "smtp", "::1", 1000 + i, &c);
	ck_assert_int_eq(c.rate, 5);
	for (i = 0; i < 5; i++)
		anvil_table_disconnect(t, e);
	/* Still within the window that began at 1000. */
	anvil_table_connect(t, "smtp", "::1", 1000 + UNIT - 1, &c);
	ck_assert_int_eq(c.rate, 6);
	ck_assert_int_eq(c.count, 1);
	/* A new window. */
	anvil_table_connect(t, "smtp", "::1", 1000 + UNIT, &c);
	ck_assert_int_eq(c.rate, 1);
	ck_assert_int_eq(c.count, 2);
	anvil_table_free(&t);
}
END_TEST

START_TEST(test_sweep)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_counts c;
	struct anvil_entry *gone, *open;

	gone = anvil_table_connect(t, "smtp", "192.0.2.1", 0, &c);
	open = anvil_table_connect(t, "smtp", "192.0.2.2", 0, &c);
	anvil_table_disconnect(t, gone);
	/* The closed client's window is not over: it stays. */
	ck_assert_uint_eq(anvil_table_sweep(t, UNIT - 1), 2);
	ck_assert_uint_eq(anvil_table_sweep(t, UNIT), 1);
	ck_assert_ptr_null(anvil_table_find(t, "smtp", "192.0.2.1"));
	/* An open connection keeps its entry whatever its age. */
	ck_assert_ptr_eq(anvil_table_find(t, "smtp", "192.0.2.2"), open);
	ck_assert_uint_eq(anvil_table_sweep(t, 100 * UNIT), 1);
	anvil_table_free(&t);
}
END_TEST

START_TEST(test_many_clients)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_counts c;
	char addr[32];
	int i;

	/* Past several table growths, every entry is still found. */
	for (i = 0; i < 5000; i++) {
		str_snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256,
			     i % 256);
		anvil_table_connect(t, "smtp", addr, i, &c);
		ck_assert_int_eq(c.count, 1);
		ck_assert_int_eq(c.active, i + 1);
	}
	for (i = 0; i < 5000; i++) {
		str_snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256,
			     i % 256);
		ck_assert_ptr_nonnull(anvil_table_find(t, "smtp", addr));
		anvil_table_disconnect(t, anvil_table_find(t, "smtp", addr));
	}
	ck_assert_uint_eq(anvil_table_sweep(t, 5000 + UNIT), 0);
	anvil_table_free(&t);
}
END_TEST

START_TEST(test_peaks)
{
	struct anvil_table *t = anvil_table_create(UNIT);
	struct anvil_counts c;
	long count, rate;
	char *cwho, *rwho;

	ck_assert(!anvil_table_peaks(t, &count, &cwho, &rate, &rwho));
	anvil_table_connect(t, "smtp", "192.0.2.1", 0, &c);
	anvil_table_connect(t, "smtp", "192.0.2.2", 0, &c);
	anvil_table_connect(t, "smtp", "192.0.2.2", 0, &c);
	ck_assert(anvil_table_peaks(t, &count, &cwho, &rate, &rwho));
	ck_assert_int_eq(count, 2);
	ck_assert_int_eq(rate, 2);
	ck_assert_str_eq(cwho, "smtp:192.0.2.2");
	ck_assert_str_eq(rwho, "smtp:192.0.2.2");
	free(cwho);
	free(rwho);
	ck_assert(!anvil_table_peaks(t, &count, &cwho, &rate, &rwho));
	anvil_table_free(&t);
}
END_TEST

START_TEST(test_verdicts)
{
	struct anvil_counts c = { .count = 50, .rate = 100, .active = 50 };

	ck_assert_int_eq(anvil_client_check(&c, 50, 100), ANVIL_OK);
	ck_assert_int_eq(anvil_client_check(&c, 0, 0), ANVIL_OK);
	c.count = 51;
	ck_assert_int_eq(anvil_client_check(&c, 50, 100), ANVIL_COUNT);
	ck_assert_int_eq(anvil_client_check(&c, 0, 100), ANVIL_OK);
	c.count = 1;
	c.rate = 101;
	ck_assert_int_eq(anvil_client_check(&c, 50, 100), ANVIL_RATE);
	ck_assert_int_eq(anvil_client_check(&c, 50, 0), ANVIL_OK);
}
END_TEST

START_TEST(test_client_fails_open)
{
	char dir[64];
	struct anvil_client *ac;
	struct anvil_counts c = { 7, 7, 7 };
	struct str log = STR_INIT;

	tu_tmpdir(dir, sizeof(dir), "test_anvil");
	ac = anvil_client_create(tu_path(dir, "anvil"));
	tu_msg_capture_begin(tu_path(dir, "log"));
	ck_assert_int_eq(anvil_client_connect(ac, "smtp", "192.0.2.1", &c),
			 -1);
	ck_assert_int_eq(c.count, 0);
	anvil_client_disconnect(ac, "smtp", "192.0.2.1");
	ck_assert_int_eq(anvil_client_connect(ac, "smtp", "192.0.2.1", &c),
			 -1);
	tu_msg_capture_end(tu_path(dir, "log"), &log);
	/* Logged once, not once per client. */
	ck_assert_ptr_nonnull(strstr(str_c(&log), "cannot connect"));
	ck_assert_ptr_null(strstr(strstr(str_c(&log), "cannot connect") + 1,
				  "cannot connect"));
	anvil_client_free(&ac);
	ck_assert_ptr_null(ac);
	str_release(&log);
	tu_rmtree(dir);
}
END_TEST

static Suite *anvil_suite(void)
{
	Suite *s = suite_create("anvil");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_rate_window);
	tcase_add_test(tc, test_sweep);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_peaks);
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_client_fails_open);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(anvil_suite());
}
