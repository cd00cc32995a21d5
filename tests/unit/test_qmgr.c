/*
 * Unit tests for qmgr's pure parts: the retry backoff, the delay format
 * of log lines, and the strict parsing of local's replies.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "proto.h"
#include "str.h"

#include "../../qmgr/qmgr.h"

START_TEST(backoff)
{
	/* Age below the minimum: wait the minimum. */
	ck_assert_int_eq(qmgr_backoff_next(1000, 990, 300, 4000), 1300);
	/* Age in between: wait as long as the message has been queued. */
	ck_assert_int_eq(qmgr_backoff_next(10000, 9000, 300, 4000), 11000);
	/* Age above the maximum: the maximum. */
	ck_assert_int_eq(qmgr_backoff_next(100000, 0, 300, 4000), 104000);
	/* Clock went backwards (arrival in the future): the minimum. */
	ck_assert_int_eq(qmgr_backoff_next(1000, 5000, 300, 4000), 1300);
	/* max < min is treated as min. */
	ck_assert_int_eq(qmgr_backoff_next(1000, 0, 300, 100), 1300);
	ck_assert_int_eq(qmgr_backoff_next(1000, 1000, 0, 0), 1000);
}
END_TEST

static const char *fmt(double s)
{
	static struct str out;

	str_clear(&out);
	qmgr_delay_format(&out, s);
	return str_c(&out);
}

START_TEST(delay_format)
{
	ck_assert_str_eq(fmt(0), "0");
	ck_assert_str_eq(fmt(0.004), "0");
	ck_assert_str_eq(fmt(0.02), "0.02");
	ck_assert_str_eq(fmt(0.1), "0.1");
	ck_assert_str_eq(fmt(0.999), "1");
	ck_assert_str_eq(fmt(1.23), "1.2");
	ck_assert_str_eq(fmt(2.0), "2");
	ck_assert_str_eq(fmt(35.4), "35");
	ck_assert_str_eq(fmt(3600), "3600");
}
END_TEST

static void add_result(struct attr_list *l, const char *idx,
		       const char *status, const char *dsn,
		       const char *reason)
{
	attr_add(l, PROTO_ATTR_RCPT_INDEX, idx);
	if (status != NULL)
		attr_add(l, PROTO_ATTR_RCPT_STATUS, status);
	if (dsn != NULL)
		attr_add(l, PROTO_ATTR_DSN, dsn);
	if (reason != NULL)
		attr_add(l, PROTO_ATTR_REASON, reason);
}

START_TEST(reply_parse)
{
	struct attr_list l = ATTR_LIST_INIT;
	struct qmgr_result *res;
	bool dd = true;

	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	add_result(&l, "0", "ok", "2.0.0", "delivered to maildir");
	add_result(&l, "3", "bounce", "5.1.1", "unknown user");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), 2);
	ck_assert_int_eq(res[0].index, 0);
	ck_assert_str_eq(res[0].status, "ok");
	ck_assert_str_eq(res[0].reason, "delivered to maildir");
	ck_assert_int_eq(res[1].index, 3);
	ck_assert_str_eq(res[1].dsn, "5.1.1");
	ck_assert_ptr_null(res[1].relay);
	ck_assert(!dd);
	free(res);
	attr_list_clear(&l);

	/* smtp's reply: relay per delivery, dest_status for the message. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	attr_add(&l, PROTO_ATTR_DEST_STATUS, PROTO_STATUS_DEFER);
	add_result(&l, "1", "defer", "4.4.1", "connect to x: refused");
	attr_add(&l, PROTO_ATTR_RELAY, "none");
	add_result(&l, "2", "ok", "2.0.0", "250 ok");
	attr_add(&l, PROTO_ATTR_RELAY, "mx.test[192.0.2.1]:25");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), 2);
	ck_assert(dd);
	ck_assert_str_eq(res[0].relay, "none");
	ck_assert_str_eq(res[1].relay, "mx.test[192.0.2.1]:25");
	free(res);
	attr_list_clear(&l);

	/* dest_status=ok is the same as none. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	attr_add(&l, PROTO_ATTR_DEST_STATUS, PROTO_STATUS_OK);
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), 0);
	ck_assert(!dd);
	free(res);
	attr_list_clear(&l);

	/* An empty reply is valid (no deliveries). */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), 0);
	free(res);
	attr_list_clear(&l);
}
END_TEST

START_TEST(reply_parse_bad)
{
	struct attr_list l = ATTR_LIST_INIT;
	struct qmgr_result *res = (void *)1;
	bool dd = true;

	/* Request-level error. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_ERROR);
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	ck_assert_ptr_null(res);
	attr_list_clear(&l);
	/* Missing status. */
	add_result(&l, "0", "ok", "2.0.0", "x");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	attr_list_clear(&l);
	/* Unknown per-recipient status. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	add_result(&l, "0", "maybe", "2.0.0", "x");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	attr_list_clear(&l);
	/* Missing reason. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	add_result(&l, "0", "ok", "2.0.0", NULL);
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	attr_list_clear(&l);
	/* Bad index. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	add_result(&l, "-1", "ok", "2.0.0", "x");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	attr_list_clear(&l);
	/* A result attribute before any rcpt_index. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	attr_add(&l, PROTO_ATTR_DSN, "2.0.0");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	attr_list_clear(&l);
	/* An attribute nobody defined. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	add_result(&l, "0", "ok", "2.0.0", "x");
	attr_add(&l, "surprise", "1");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	attr_list_clear(&l);
	/* A relay before any rcpt_index; an unknown dest_status. */
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	attr_add(&l, PROTO_ATTR_RELAY, "x");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	attr_list_clear(&l);
	attr_add(&l, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	attr_add(&l, PROTO_ATTR_DEST_STATUS, "dead");
	ck_assert_int_eq(qmgr_local_parse_reply(&l, &res, &dd), -1);
	ck_assert(!dd);
	attr_list_clear(&l);
}
END_TEST

static Suite *qmgr_suite(void)
{
	Suite *s = suite_create("qmgr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, backoff);
	tcase_add_test(tc, delay_format);
	tcase_add_test(tc, reply_parse);
	tcase_add_test(tc, reply_parse_bad);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(qmgr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
