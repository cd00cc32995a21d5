/*
 * Unit tests for metrics/metrics_table.c: the update grammar, what it
 * refuses, the series cap, and the exposition (counters, gauges,
 * histogram buckets, queue folders).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "test_util.h"

static bool upd(const char *s)
{
	return metrics_update(s, strlen(s));
}

static char *render(int queue_fd)
{
	struct str out = STR_INIT;

	metrics_render(&out, queue_fd);
	return str_steal(&out);
}

static void has(const char *text, const char *line)
{
	char *want = str_dup_printf("\n%s\n", line);

	if (strstr(text, want) == NULL)
		ck_abort_msg("missing line \"%s\" in:\n%s", line, text);
	free(want);
}

START_TEST(test_grammar)
{
	char *t;

	metrics_table_reset();
	ck_assert(upd("c correo_messages_received_total - 1"));
	ck_assert(upd("c correo_messages_received_total - 2"));
	ck_assert(upd("c correo_messages_delivered_total local 1"));
	ck_assert(upd("c correo_messages_delivered_total smtp 4"));
	ck_assert(upd("g correo_process_pool_busy 127.0.0.1:25 3"));
	ck_assert(upd("g correo_process_pool_busy 127.0.0.1:25 1"));
	ck_assert(upd("g correo_process_pool_limit [::1]:25 100"));
	/* Refused: unknown name, wrong kind for the type, bad numbers,
	 * characters that would need quoting, extra or missing fields,
	 * a NUL, too long. */
	ck_assert(!upd("c correo_nothing_total - 1"));
	ck_assert(!upd("g correo_messages_received_total - 1"));
	ck_assert(!upd("c correo_process_pool_busy x 1"));
	ck_assert(!upd("c correo_messages_received_total - -1"));
	ck_assert(!upd("c correo_messages_received_total - 1x"));
	ck_assert(!upd("c correo_messages_received_total - nan"));
	ck_assert(!upd("c correo_messages_received_total - inf"));
	ck_assert(!upd("c correo_messages_delivered_total a\"b 1"));
	ck_assert(!upd("c correo_messages_delivered_total a\\b 1"));
	ck_assert(!upd("c correo_messages_received_total - 1 2"));
	ck_assert(!upd("c correo_messages_received_total -"));
	ck_assert(!upd("cc correo_messages_received_total - 1"));
	ck_assert(!upd(""));
	ck_assert(!metrics_update("c correo_messages_received_total - 1\0",
				  38));
	t = render(-1);
	has(t, "correo_messages_received_total 3");
	has(t, "correo_messages_delivered_total{transport=\"local\"} 1");
	has(t, "correo_messages_delivered_total{transport=\"smtp\"} 4");
	has(t, "correo_process_pool_busy{service=\"127.0.0.1:25\"} 1");
	has(t, "correo_process_pool_limit{service=\"[::1]:25\"} 100");
	has(t, "# TYPE correo_messages_received_total counter");
	has(t, "# TYPE correo_process_pool_busy gauge");
	has(t, "correo_metrics_updates_total 21");
	has(t, "correo_metrics_updates_rejected_total 14");
	ck_assert_ptr_null(strstr(t, "correo_nothing"));
	ck_assert_ptr_null(strstr(t, "correo_queue_messages"));
	free(t);
}
END_TEST

START_TEST(test_histogram)
{
	char *t;

	metrics_table_reset();
	ck_assert(upd("h correo_delivery_delay_seconds local 0.05"));
	ck_assert(upd("h correo_delivery_delay_seconds local 0.5"));
	ck_assert(upd("h correo_delivery_delay_seconds local 7"));
	ck_assert(upd("h correo_delivery_delay_seconds local 100000"));
	ck_assert(!upd("c correo_delivery_delay_seconds local 1"));
	ck_assert(!upd("h correo_delivery_delay_seconds local -1"));
	t = render(-1);
	has(t, "# TYPE correo_delivery_delay_seconds histogram");
	has(t, "correo_delivery_delay_seconds_bucket{transport=\"local\","
	    "le=\"0.1\"} 1");
	has(t, "correo_delivery_delay_seconds_bucket{transport=\"local\","
	    "le=\"0.5\"} 2");
	has(t, "correo_delivery_delay_seconds_bucket{transport=\"local\","
	    "le=\"5\"} 2");
	has(t, "correo_delivery_delay_seconds_bucket{transport=\"local\","
	    "le=\"10\"} 3");
	has(t, "correo_delivery_delay_seconds_bucket{transport=\"local\","
	    "le=\"86400\"} 3");
	has(t, "correo_delivery_delay_seconds_bucket{transport=\"local\","
	    "le=\"+Inf\"} 4");
	has(t, "correo_delivery_delay_seconds_count{transport=\"local\"} 4");
	has(t, "correo_delivery_delay_seconds_sum{transport=\"local\"} "
	    "100007.55");
	free(t);
}
END_TEST

/* More label values than a metric keeps: the rest go to "other". */
START_TEST(test_series_cap)
{
	char buf[80], *t;

	metrics_table_reset();
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf),
			 "c correo_sessions_total p%d 1", i);
		ck_assert(upd(buf));
	}
	t = render(-1);
	has(t, "correo_sessions_total{protocol=\"p0\"} 1");
	has(t, "correo_sessions_total{protocol=\"p62\"} 1");
	ck_assert_ptr_null(strstr(t, "\"p63\""));
	has(t, "correo_sessions_total{protocol=\"other\"} 37");
	free(t);
}
END_TEST

START_TEST(test_queue_folders)
{
	char dir[64], *t;
	int fd;

	tu_tmpdir(dir, sizeof(dir), "test_metrics");

	fd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	for (const char *const *d = (const char *const[]){ "incoming",
	     "active", "deferred", "hold", NULL }; *d != NULL; d++)
		ck_assert_int_eq(mkdirat(fd, *d, 0700), 0);
	/* corrupt/ is missing: no line for it. */
	tu_write_file(tu_path(dir, "deferred/A"), "x", 0600);
	tu_write_file(tu_path(dir, "deferred/B"), "x", 0600);
	tu_write_file(tu_path(dir, "incoming/.C"), "x", 0600);
	metrics_table_reset();
	t = render(fd);
	has(t, "correo_queue_messages{queue=\"deferred\"} 2");
	has(t, "correo_queue_messages{queue=\"incoming\"} 0");
	has(t, "correo_queue_messages{queue=\"hold\"} 0");
	ck_assert_ptr_null(strstr(t, "queue=\"corrupt\""));
	free(t);
	close(fd);
	tu_rmtree(dir);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_grammar);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_series_cap);
	tcase_add_test(tc, test_queue_folders);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(metrics_suite());
}
