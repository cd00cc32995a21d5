/*
 * Unit tests for qmgr's pure parts: the retry backoff, the delay format
 * of log lines, the strict parsing of the agents' replies, the text of
 * DSNs (RFC 3464) built from a struct, NOTIFY filtering, and the
 * dead-destination bookkeeping.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attr.h"
#include "proto.h"
#include "str.h"

#include "../../qmgr/qmgr.h"
#include "test_util.h"

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

/* Retried at each next attempt time, a message's waits double (its age
 * doubles) from the minimum until they reach the maximum. */
START_TEST(backoff_sequence)
{
	static const long want[] = { 300, 300, 600, 1200, 2400, 4000, 4000 };
	time_t arrival = 100000, t = arrival;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		time_t next = qmgr_backoff_next(t, arrival, 300, 4000);

		ck_assert_int_eq(next - t, want[i]);
		t = next;
	}
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


/* ---- DSN text ---------------------------------------------------------- */

static const char orig_msg[] =
	"Received: from x\n\tby y\nFrom: alice@alice.test\n"
	"Subject: hello\n\nbody line 1\nbody line 2\n";

static const struct qmgr_dsn_rcpt two_rcpts[] = {
	{ "bob@marvel.test", "Bob@Marvel.test", QMGR_DSN_FAILED, "5.1.1",
	  "mx.marvel.test[10.0.0.3]:25",
	  "host mx.marvel.test[10.0.0.3] said: 550 5.1.1 no such user "
	  "(in reply to RCPT TO command)" },
	{ "carol@local.test", NULL, QMGR_DSN_FAILED, "5.2.2", "local",
	  "mailbox full" },
};

static void dsn_init(struct qmgr_dsn *d)
{
	memset(d, 0, sizeof(*d));
	d->kind = QMGR_DSN_FAILED;
	d->hostname = "mail.alice.test";
	d->to = "alice@alice.test";
	d->sender = "alice@alice.test";
	d->queue_id = "1K0TA2ERC5N00K1500";
	d->notice_id = "1K0TA2ERC5N00K1600";
	d->boundary = "1K0TA2ERC5N00K1500.1700000000/mail.alice.test";
	d->arrival = 1700000000;
	d->now = 1700000100;
	d->retry_until = 1700000000 + 5 * 86400;
	d->content = orig_msg;
	d->content_len = strlen(orig_msg);
	d->rcpts = two_rcpts;
	d->nrcpt = 2;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* The header block of part k (0: the message itself) of text. */
static char *dsn_part(const char *text, const char *boundary, int k)
{
	struct str delim = STR_INIT;
	const char *p = text, *end;
	char *out;

	str_printf(&delim, "\n--%s\n", boundary);
	for (int i = 0; i < k; i++) {
		p = strstr(p, str_c(&delim));
		ck_assert_ptr_nonnull(p);
		p += delim.len;
	}
	end = strstr(p, "\n--");
	ck_assert_ptr_nonnull(end);
	out = strndup(p, (size_t)(end - p) + 1);
	str_release(&delim);
	return out;
}

START_TEST(dsn_failure)
{
	struct qmgr_dsn d;
	struct str out = STR_INIT;
	char *p;

	setenv("TZ", "UTC", 1);
	tzset();
	dsn_init(&d);
	d.full = true;
	d.envid = "env-42";
	qmgr_dsn_build(&d, &out);
	p = dsn_part(str_c(&out), d.boundary, 0);
	ck_assert_ptr_nonnull(strstr(p, "From: MAILER-DAEMON@mail.alice.test "
				     "(Mail Delivery System)\n"));
	ck_assert_ptr_nonnull(strstr(p, "\nTo: <alice@alice.test>\n"));
	ck_assert_ptr_nonnull(strstr(p, "\nSubject: Undelivered Mail "
				     "Returned to Sender\n"));
	ck_assert_ptr_nonnull(strstr(p, "\nDate: Tue, 14 Nov 2023 22:15:00 "
				     "+0000\n"));
	ck_assert_ptr_nonnull(strstr(p, "Message-ID: <1K0TA2ERC5N00K1600@"
				     "mail.alice.test>\n"));
	ck_assert_ptr_nonnull(strstr(p, "\nContent-Type: multipart/report; "
				     "report-type=delivery-status;\n\t"
				     "boundary=\"1K0TA2ERC5N00K1500."
				     "1700000000/mail.alice.test\"\n"));
	ck_assert_ptr_nonnull(strstr(p, "\nMIME-Version: 1.0\n"));
	free(p);
	/* Three parts and the closing delimiter, once each. */
	ck_assert_uint_eq(count(str_c(&out), "\n--1K0TA2ERC5N00K1500."
				"1700000000/mail.alice.test\n"), 3);
	ck_assert_uint_eq(count(str_c(&out), "\n--1K0TA2ERC5N00K1500."
				"1700000000/mail.alice.test--\n"), 1);
	ck_assert_str_eq(str_c(&out) + out.len - 19, "/mail.alice.test--\n");

	p = dsn_part(str_c(&out), d.boundary, 1);
	ck_assert(str_has_prefix(p, "Content-Description: Notification\n"
				 "Content-Type: text/plain; "
				 "charset=us-ascii\n\n"));
	/* Original-Recipient differs only in case: not "expanded". */
	ck_assert_ptr_nonnull(strstr(p, "\n<bob@marvel.test>: host mx.marvel."
				     "test[10.0.0.3] said: 550 5.1.1 no such"
				     " user (in reply to RCPT TO command)\n"));
	ck_assert_ptr_nonnull(strstr(p, "\n<carol@local.test>: mailbox "
				     "full\n"));
	free(p);

	p = dsn_part(str_c(&out), d.boundary, 2);
	ck_assert_str_eq(p,
		"Content-Description: Delivery report\n"
		"Content-Type: message/delivery-status\n"
		"\n"
		"Original-Envelope-Id: env-42\n"
		"Reporting-MTA: dns; mail.alice.test\n"
		"X-Correo-Queue-ID: 1K0TA2ERC5N00K1500\n"
		"X-Correo-Sender: rfc822; alice@alice.test\n"
		"Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
		"\n"
		"Original-Recipient: rfc822; Bob@Marvel.test\n"
		"Final-Recipient: rfc822; bob@marvel.test\n"
		"Action: failed\n"
		"Status: 5.1.1\n"
		"Remote-MTA: dns; mx.marvel.test\n"
		"Diagnostic-Code: smtp; 550 5.1.1 no such user\n"
		"\n"
		"Final-Recipient: rfc822; carol@local.test\n"
		"Action: failed\n"
		"Status: 5.2.2\n"
		"Diagnostic-Code: X-Correo; mailbox full\n"
		"\n");
	free(p);

	/* RET=FULL: the whole message as message/rfc822. */
	p = dsn_part(str_c(&out), d.boundary, 3);
	ck_assert(str_has_prefix(p, "Content-Description: Undelivered "
				 "Message\nContent-Type: message/rfc822\n\n"
				 "Received: from x\n\tby y\n"));
	free(p);
	ck_assert_ptr_nonnull(strstr(str_c(&out), "\nbody line 2\n\n--"));
	str_release(&out);
}
END_TEST

START_TEST(dsn_headers_only)
{
	struct qmgr_dsn d;
	struct str out = STR_INIT;
	char *p;

	setenv("TZ", "UTC", 1);
	tzset();
	dsn_init(&d);
	d.full = false;
	qmgr_dsn_build(&d, &out);
	p = dsn_part(str_c(&out), d.boundary, 3);
	ck_assert_str_eq(p, "Content-Description: Undelivered Message "
			 "Headers\nContent-Type: text/rfc822-headers\n\n"
			 "Received: from x\n\tby y\nFrom: alice@alice.test\n"
			 "Subject: hello\n\n");
	free(p);
	ck_assert_ptr_null(strstr(str_c(&out), "body line"));
	/* No ENVID: no Original-Envelope-Id. */
	ck_assert_ptr_null(strstr(str_c(&out), "Original-Envelope-Id"));
	str_release(&out);
}
END_TEST

START_TEST(dsn_delay_and_success)
{
	static const struct qmgr_dsn_rcpt delayed[] = {
		{ "bob@marvel.test", NULL, QMGR_DSN_DELAYED, "4.4.1",
		  "none", "connect to mx.marvel.test[10.0.0.3]:25: "
		  "Connection refused" },
	};
	static const struct qmgr_dsn_rcpt ok[] = {
		{ "bob@marvel.test", NULL, QMGR_DSN_RELAYED, "2.0.0",
		  "mx.marvel.test[10.0.0.3]:25", "250 2.0.0 Ok" },
		{ "carol@local.test", NULL, QMGR_DSN_DELIVERED, "2.0.0",
		  "local", "delivered to maildir" },
	};
	struct qmgr_dsn d;
	struct str out = STR_INIT;

	setenv("TZ", "UTC", 1);
	tzset();
	dsn_init(&d);
	d.kind = QMGR_DSN_DELAYED;
	d.now = d.arrival + 4 * 3600;
	d.rcpts = delayed;
	d.nrcpt = 1;
	qmgr_dsn_build(&d, &out);
	ck_assert_ptr_nonnull(strstr(str_c(&out), "\nSubject: Delayed Mail "
				     "(still being retried)\n"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "delivered for 4 hour(s)"
				     ".\nIt will be retried until it is 5 "
				     "day(s) old.\n"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "\nAction: delayed\n"
				     "Status: 4.4.1\nDiagnostic-Code: "
				     "X-Correo; connect to mx.marvel.test"
				     "[10.0.0.3]:25: Connection refused\n"
				     "Will-Retry-Until: Sun, 19 Nov 2023 "
				     "22:13:20 +0000\n"));
	ck_assert_ptr_null(strstr(str_c(&out), "Remote-MTA"));

	str_clear(&out);
	d.kind = QMGR_DSN_DELIVERED;
	d.rcpts = ok;
	d.nrcpt = 2;
	qmgr_dsn_build(&d, &out);
	ck_assert_ptr_nonnull(strstr(str_c(&out), "\nSubject: Successful "
				     "Mail Delivery Report\n"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "Final-Recipient: rfc822; "
				     "bob@marvel.test\nAction: relayed\n"
				     "Status: 2.0.0\nRemote-MTA: dns; "
				     "mx.marvel.test\n"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "Final-Recipient: rfc822; "
				     "carol@local.test\nAction: delivered\n"
				     "Status: 2.0.0\nDiagnostic-Code: "
				     "X-Correo; delivered to maildir\n\n"));
	ck_assert_ptr_null(strstr(str_c(&out), "Will-Retry-Until"));
	str_release(&out);
}
END_TEST

/* A CR or LF in a remote reason or an address never starts a header. */
START_TEST(dsn_no_injection)
{
	static const struct qmgr_dsn_rcpt evil[] = {
		{ "bob@marvel.test", NULL, QMGR_DSN_FAILED, "5.0.0\nX-A: 1",
		  "mx[1.2.3.4]:25", "host mx said: 550 no\r\nX-Injected: yes"
		  " (in reply to DATA)" },
	};
	struct qmgr_dsn d;
	struct str out = STR_INIT;

	dsn_init(&d);
	d.rcpts = evil;
	d.nrcpt = 1;
	d.to = "alice@alice.test>\nBcc: <victim@x";
	d.envid = "e\nX-Env: 1";
	qmgr_dsn_build(&d, &out);
	ck_assert_ptr_null(strstr(str_c(&out), "\nX-Injected"));
	ck_assert_ptr_null(strstr(str_c(&out), "\nBcc:"));
	ck_assert_ptr_null(strstr(str_c(&out), "\nX-A:"));
	ck_assert_ptr_null(strstr(str_c(&out), "\nX-Env:"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "Diagnostic-Code: smtp; "
				     "550 no\n"));
	str_release(&out);
}
END_TEST

START_TEST(dsn_helpers)
{
	struct str s = STR_INIT;

	ck_assert(qmgr_dsn_diagnostic("host a[1.2.3.4] said: 452 4.2.2 full"
				      " (in reply to end of DATA command)",
				      &s));
	ck_assert_str_eq(str_c(&s), "smtp; 452 4.2.2 full");
	ck_assert(qmgr_dsn_diagnostic("host a said: 550 x", &s));
	ck_assert_str_eq(str_c(&s), "smtp; 550 x");
	ck_assert(!qmgr_dsn_diagnostic("unknown user", &s));
	ck_assert_str_eq(str_c(&s), "X-Correo; unknown user");
	ck_assert(!qmgr_dsn_diagnostic("", &s));
	ck_assert_str_eq(str_c(&s), "X-Correo; ");

	ck_assert(qmgr_dsn_remote_mta("mx.test[192.0.2.1]:25", &s));
	ck_assert_str_eq(str_c(&s), "dns; mx.test");
	ck_assert(qmgr_dsn_remote_mta("mx.test", &s));
	ck_assert_str_eq(str_c(&s), "dns; mx.test");
	ck_assert(!qmgr_dsn_remote_mta("none", &s));
	ck_assert(!qmgr_dsn_remote_mta("local", &s));
	ck_assert(!qmgr_dsn_remote_mta(NULL, &s));
	ck_assert(!qmgr_dsn_remote_mta("[::1]:25", &s));

	ck_assert_uint_eq(qmgr_dsn_headers_len("A: 1\nB: 2\n\nbody\n", 17),
			  10);
	ck_assert_uint_eq(qmgr_dsn_headers_len("A: 1\n", 5), 5);
	ck_assert_uint_eq(qmgr_dsn_headers_len("\nbody\n", 6), 0);
	ck_assert_uint_eq(qmgr_dsn_headers_len("", 0), 0);
	str_release(&s);
}
END_TEST

START_TEST(notify_filter)
{
	/* No NOTIFY: failures and delays, no success. */
	ck_assert(qmgr_bounce_wanted(0, QMGR_DSN_FAILED));
	ck_assert(qmgr_bounce_wanted(0, QMGR_DSN_DELAYED));
	ck_assert(!qmgr_bounce_wanted(0, QMGR_DSN_DELIVERED));
	/* NEVER: nothing. */
	ck_assert(!qmgr_bounce_wanted(QUEUE_NOTIFY_NEVER, QMGR_DSN_FAILED));
	ck_assert(!qmgr_bounce_wanted(QUEUE_NOTIFY_NEVER, QMGR_DSN_DELAYED));
	/* A list: exactly what it names. */
	ck_assert(qmgr_bounce_wanted(QUEUE_NOTIFY_SUCCESS,
				     QMGR_DSN_DELIVERED));
	ck_assert(!qmgr_bounce_wanted(QUEUE_NOTIFY_SUCCESS,
				      QMGR_DSN_FAILED));
	ck_assert(!qmgr_bounce_wanted(QUEUE_NOTIFY_FAILURE,
				      QMGR_DSN_DELAYED));
	ck_assert(qmgr_bounce_wanted(QUEUE_NOTIFY_FAILURE |
				     QUEUE_NOTIFY_DELAY, QMGR_DSN_DELAYED));
}
END_TEST

/* Destinations: limits per transport, death after the cohort limit,
 * revival after the dead time. No jobs are queued, so no message code
 * runs. */
START_TEST(dest_dead)
{
	struct qmgr_dest *d, *e;
	time_t now = time(NULL);

	qmgr.local_limit = 3;
	qmgr.smtp_limit = 7;
	qmgr.default_limit = 0;		/* clamped to 1 */
	qmgr.failed_cohort = 2;
	qmgr.dead_time = 100;
	d = qmgr_dest_get("smtp", "[127.0.0.1]:25");
	ck_assert_ptr_eq(qmgr_dest_get("smtp", "[127.0.0.1]:25"), d);
	ck_assert_str_eq(d->socket, "private/smtp");
	ck_assert_int_eq(d->limit, 7);
	e = qmgr_dest_get("lmtp", "unix:private/x");
	ck_assert_ptr_ne(e, d);
	ck_assert_int_eq(e->limit, 1);
	ck_assert_int_eq(qmgr_dest_get("local", NULL)->limit, 3);

	qmgr_dest_failed(d, "connect refused");
	ck_assert(!qmgr_dest_is_dead(d, now));
	qmgr_dest_ok(d);
	qmgr_dest_failed(d, "connect refused");
	ck_assert(!qmgr_dest_is_dead(d, now));
	qmgr_dest_failed(d, "connect refused");
	ck_assert(qmgr_dest_is_dead(d, now));
	ck_assert(qmgr_dest_is_dead(d, now + 99));
	ck_assert_str_eq(str_c(&d->dead_reason), "connect refused");
	/* Revived: one more failure kills it again at once. */
	ck_assert(!qmgr_dest_is_dead(d, d->dead_until));
	qmgr_dest_failed(d, "again");
	ck_assert(qmgr_dest_is_dead(d, time(NULL)));
	/* Idle, alive destinations are freed; dead ones stay. */
	qmgr_dest_gc();
	ck_assert_ptr_eq(qmgr.dests, d);
	ck_assert_ptr_null(d->next);
}
END_TEST

static Suite *qmgr_suite(void)
{
	Suite *s = suite_create("qmgr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, backoff);
	tcase_add_test(tc, backoff_sequence);
	tcase_add_test(tc, delay_format);
	tcase_add_test(tc, reply_parse);
	tcase_add_test(tc, reply_parse_bad);
	tcase_add_test(tc, dsn_failure);
	tcase_add_test(tc, dsn_headers_only);
	tcase_add_test(tc, dsn_delay_and_success);
	tcase_add_test(tc, dsn_no_injection);
	tcase_add_test(tc, dsn_helpers);
	tcase_add_test(tc, notify_filter);
	tcase_add_test(tc, dest_dead);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(qmgr_suite());
}
