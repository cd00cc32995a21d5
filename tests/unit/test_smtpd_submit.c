/*
 * Unit tests for smtpd's submission helpers: smtpd/smtpd_dsn.c (xtext,
 * NOTIFY, ORCPT, RET, and the DSN parameters through the MAIL/RCPT
 * parser) and smtpd/smtpd_header.c (Message-ID:/Date: added to a header
 * that lacks them, with the content fed whole, one byte at a time, and
 * cut at every position).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "smtpd.h"
#include "str.h"
#include "test_util.h"

static char out[64];

static bool xtext(const char *in)
{
	return smtpd_xtext_decode(in, strlen(in), out, sizeof(out));
}

START_TEST(test_xtext)
{
	ck_assert(xtext("plain"));
	ck_assert_str_eq(out, "plain");
	ck_assert(xtext("a+2Bb+3Dc"));
	ck_assert_str_eq(out, "a+b=c");
	ck_assert(xtext(""));
	ck_assert_str_eq(out, "");
	ck_assert(xtext("+20x"));
	ck_assert_str_eq(out, " x");
	/* Bad: lone '+', short or lower-case hex, '=' or space as is,
	 * controls and 8-bit after decoding, overflow. */
	ck_assert(!xtext("+"));
	ck_assert(!xtext("a+4"));
	ck_assert(!xtext("a+2b"));
	ck_assert(!xtext("a=b"));
	ck_assert(!xtext("a b"));
	ck_assert(!xtext("+0A"));
	ck_assert(!xtext("+00"));
	ck_assert(!xtext("+C3+A9"));
	ck_assert(!xtext("\x80"));
	ck_assert(!smtpd_xtext_decode("abcd", 4, out, 4));
	ck_assert(smtpd_xtext_decode("abc", 3, out, 4));
	ck_assert(!smtpd_xtext_decode("a+41", 4, out, 2));
}
END_TEST

static bool notify(const char *in, unsigned *bits)
{
	return smtpd_dsn_notify(in, strlen(in), bits);
}

START_TEST(test_notify)
{
	unsigned bits = 99;

	ck_assert(notify("NEVER", &bits));
	ck_assert_uint_eq(bits, QUEUE_NOTIFY_NEVER);
	ck_assert(notify("success,Failure,DELAY", &bits));
	ck_assert_uint_eq(bits, QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE |
			  QUEUE_NOTIFY_DELAY);
	ck_assert(notify("DELAY", &bits));
	ck_assert_uint_eq(bits, QUEUE_NOTIFY_DELAY);
	bits = 7;
	ck_assert(!notify("", &bits));
	ck_assert(!notify("NEVER,SUCCESS", &bits));
	ck_assert(!notify("SUCCESS,NEVER", &bits));
	ck_assert(!notify("SUCCESS,", &bits));
	ck_assert(!notify(",SUCCESS", &bits));
	ck_assert(!notify("SUCCESS,,FAILURE", &bits));
	ck_assert(!notify("FAILURE,FAILURE", &bits));
	ck_assert(!notify("SUCCESS FAILURE", &bits));
	ck_assert(!notify("SOMETIMES", &bits));
	ck_assert_uint_eq(bits, 7);	/* untouched on failure */
}
END_TEST

START_TEST(test_orcpt_ret)
{
	char addr[32];
	enum smtpd_ret ret = SMTPD_RET_NONE;

	ck_assert(smtpd_dsn_orcpt("rfc822;a+2Bb@c.d", 16, addr,
				  sizeof(addr)));
	ck_assert_str_eq(addr, "a+b@c.d");
	ck_assert(smtpd_dsn_orcpt("RFC822;x@y", 10, addr, sizeof(addr)));
	ck_assert_str_eq(addr, "x@y");
	/* Another type is accepted and not kept. */
	ck_assert(smtpd_dsn_orcpt("x400;c+3Dus", 11, addr, sizeof(addr)));
	ck_assert_str_eq(addr, "");
	ck_assert(!smtpd_dsn_orcpt("a@b", 3, addr, sizeof(addr)));
	ck_assert(!smtpd_dsn_orcpt(";a@b", 4, addr, sizeof(addr)));
	ck_assert(!smtpd_dsn_orcpt("rfc822;", 7, addr, sizeof(addr)));
	ck_assert(!smtpd_dsn_orcpt("rfc 822;a", 9, addr, sizeof(addr)));
	ck_assert(!smtpd_dsn_orcpt("rfc822;a=b", 10, addr, sizeof(addr)));
	/* 31 octets fit in addr[32], 32 do not. */
	ck_assert(smtpd_dsn_orcpt("rfc822;0123456789012345678901234567890",
				  38, addr, sizeof(addr)));
	ck_assert(!smtpd_dsn_orcpt("rfc822;01234567890123456789012345678901",
				   39, addr, sizeof(addr)));
	ck_assert(smtpd_dsn_ret("full", 4, &ret));
	ck_assert_int_eq(ret, SMTPD_RET_FULL);
	ck_assert_str_eq(smtpd_dsn_ret_name(ret), "FULL");
	ck_assert(smtpd_dsn_ret("HDRS", 4, &ret));
	ck_assert_str_eq(smtpd_dsn_ret_name(ret), "HDRS");
	ck_assert(!smtpd_dsn_ret("HDR", 3, &ret));
	ck_assert(!smtpd_dsn_ret("", 0, &ret));
	ck_assert_ptr_null(smtpd_dsn_ret_name(SMTPD_RET_NONE));
}
END_TEST

START_TEST(test_parser_dsn)
{
	struct smtpd_mail m;
	struct smtpd_rcpt_arg r;
	struct smtpd_perr err;
	const char *a;

	a = "FROM:<a@b.c> RET=FULL ENVID=Q+2B1 AUTH=<>";
	ck_assert(smtpd_parse_mail(a, strlen(a), &m, &err));
	ck_assert_int_eq(m.ret, SMTPD_RET_FULL);
	ck_assert_str_eq(m.envid, "Q+1");
	ck_assert(m.auth_param);
	a = "FROM:<a@b.c> ENVID=x ENVID=y";
	ck_assert(!smtpd_parse_mail(a, strlen(a), &m, &err));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad ENVID parameter syntax");
	a = "FROM:<a@b.c> AUTH=a AUTH=b";
	ck_assert(!smtpd_parse_mail(a, strlen(a), &m, &err));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad AUTH parameter syntax");
	a = "TO:<a@b.c> ORCPT=rfc822;o@b.c NOTIFY=FAILURE,DELAY";
	ck_assert(smtpd_parse_rcpt(a, strlen(a), false, &r, &err));
	ck_assert_str_eq(r.orcpt, "o@b.c");
	ck_assert_uint_eq(r.notify, QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY);
	a = "TO:<a@b.c> ORCPT=rfc822;o@b.c ORCPT=rfc822;p@b.c";
	ck_assert(!smtpd_parse_rcpt(a, strlen(a), false, &r, &err));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad ORCPT parameter syntax");
	a = "TO:<a@b.c> NOTIFY=NEVER NOTIFY=NEVER";
	ck_assert(!smtpd_parse_rcpt(a, strlen(a), false, &r, &err));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad NOTIFY parameter syntax");
}
END_TEST

/* ---- smtpd_header ---- */

/* Feed text cut at the given positions (sorted, 0 = none); return the
 * result. */
static char *fix(const char *text, size_t cut1, size_t cut2)
{
	struct smtpd_header *h = smtpd_header_create("mx.test", "QID");
	struct str o = STR_INIT;
	size_t n = strlen(text), c1 = cut1 > n ? n : cut1;
	size_t c2 = cut2 > n ? n : cut2;
	char *res;

	if (c2 < c1)
		c2 = c1;
	smtpd_header_feed(h, text, c1, &o);
	smtpd_header_feed(h, text + c1, c2 - c1, &o);
	smtpd_header_feed(h, text + c2, n - c2, &o);
	smtpd_header_finish(h, &o);
	smtpd_header_free(&h);
	ck_assert_ptr_null(h);
	res = strdup(o.data != NULL ? o.data : "");
	str_release(&o);
	return res;
}

static char *fix_bytes(const char *text)
{
	struct smtpd_header *h = smtpd_header_create("mx.test", "QID");
	struct str o = STR_INIT;
	char *res;

	for (size_t i = 0; text[i] != '\0'; i++)
		smtpd_header_feed(h, text + i, 1, &o);
	smtpd_header_finish(h, &o);
	smtpd_header_free(&h);
	res = strdup(o.data != NULL ? o.data : "");
	str_release(&o);
	return res;
}

/* Remove the value of the Date: line we added ("Tue, 1 Jan ..."),
 * which depends on the clock. */
static void blank_date(char *s)
{
	char *d = s, *e;

	while ((d = strstr(d, "Date: ")) != NULL) {
		d += 6;
		e = strchr(d, '\n');
		ck_assert_ptr_nonnull(e);
		if (e - d > 25 && d[3] == ',') {
			memmove(d, e, strlen(e) + 1);
			return;
		}
	}
}

static void check_fix(const char *in, const char *want)
{
	size_t n = strlen(in), i, j;
	char *got;

	got = fix(in, 0, 0);
	blank_date(got);
	ck_assert_str_eq(got, want);
	free(got);
	got = fix_bytes(in);
	blank_date(got);
	ck_assert_str_eq(got, want);
	free(got);
	for (i = 0; i <= n; i++) {
		for (j = i; j <= n; j += 3) {
			got = fix(in, i, j);
			blank_date(got);
			ck_assert_msg(strcmp(got, want) == 0,
				      "cut at %zu,%zu: %s", i, j, got);
			free(got);
		}
	}
}

START_TEST(test_header_added)
{
	check_fix("Subject: s\nFrom: a@b\n\nbody\nDate: not a header\n",
		  "Subject: s\nFrom: a@b\nDate: \n"
		  "Message-ID: <QID@mx.test>\n\nbody\nDate: not a header\n");
	/* Folded fields, odd case, one of the two present. */
	check_fix("subject: a\n b\nDATE: x\n\nb\n",
		  "subject: a\n b\nDATE: x\nMessage-ID: <QID@mx.test>\n\nb\n");
	check_fix("message-id: <m@x>\n\nb\n",
		  "message-id: <m@x>\nDate: \n\nb\n");
	check_fix("Message-ID: <m@x>\nDate: d\n\nbody\n",
		  "Message-ID: <m@x>\nDate: d\n\nbody\n");
	/* A name that only starts like ours is another field. */
	check_fix("Message-IDs: x\nDated: y\n\n",
		  "Message-IDs: x\nDated: y\nDate: \n"
		  "Message-ID: <QID@mx.test>\n\n");
}
END_TEST

START_TEST(test_header_edges)
{
	/* No header at all: the fields go first. */
	check_fix("\nbody\n", "Date: \nMessage-ID: <QID@mx.test>\n\nbody\n");
	/* A non-header line starts the body. */
	check_fix("Subject: x\nnot a header line\nDate: y\n",
		  "Subject: x\nDate: \nMessage-ID: <QID@mx.test>\n"
		  "not a header line\nDate: y\n");
	check_fix(" leading space\n",
		  "Date: \nMessage-ID: <QID@mx.test>\n leading space\n");
	check_fix(": no name\n",
		  "Date: \nMessage-ID: <QID@mx.test>\n: no name\n");
	/* All header, no body: the fields at the end. */
	check_fix("Subject: only\n",
		  "Subject: only\nDate: \nMessage-ID: <QID@mx.test>\n");
	/* Empty content. */
	check_fix("", "Date: \nMessage-ID: <QID@mx.test>\n");
	/* A 70-character name is not a field name. */
	check_fix("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAAAAAAAAAAAAAAAAAA: x\n",
		  "Date: \nMessage-ID: <QID@mx.test>\nAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA: x\n");
}
END_TEST

START_TEST(test_header_date_format)
{
	char *got = fix("Subject: x\n\n", 0, 0);
	const char *d = strstr(got, "Date: ");
	char day[4], mon[4], zone[6];
	int dd, yy, hh, mi, ss;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(sscanf(d, "Date: %3s, %d %3s %d %d:%d:%d %5s", day,
				&dd, mon, &yy, &hh, &mi, &ss, zone), 8);
	ck_assert(zone[0] == '+' || zone[0] == '-');
	ck_assert_int_ge(yy, 2024);
	free(got);
}
END_TEST

static Suite *smtpd_submit_suite(void)
{
	Suite *s = suite_create("smtpd_submit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_xtext);
	tcase_add_test(tc, test_notify);
	tcase_add_test(tc, test_orcpt_ret);
	tcase_add_test(tc, test_parser_dsn);
	tcase_add_test(tc, test_header_added);
	tcase_add_test(tc, test_header_edges);
	tcase_add_test(tc, test_header_date_format);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(smtpd_submit_suite());
}
