/*
 * Unit tests for the sendmail command's message handling (tools/
 * sendmail.c) and pickup's header helpers (pickup/pickup_file.c):
 * address lists, -t extraction and Bcc removal, qualification, the
 * end-of-input dot, where a header block ends, and the -bs SMTP
 * dialogue's state machine (tools/sendmail_smtp.c).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"

#include "../../pickup/pickup.h"
#include "../../tools/sendmail.h"
#include "test_util.h"

static char *joined(const struct sendmail_list *l)
{
	static struct str out;

	str_clear(&out);
	for (size_t i = 0; i < l->count; i++) {
		if (i > 0)
			str_append_c(&out, '|');
		str_append(&out, l->items[i]);
	}
	return out.data != NULL ? out.data : "";
}

static const char *addrs(const char *value)
{
	struct sendmail_list l = { NULL, 0 };
	static char buf[1024];

	sendmail_address_list(value, strlen(value), &l);
	snprintf(buf, sizeof(buf), "%s", joined(&l));
	sendmail_list_free(&l);
	return buf;
}

START_TEST(address_lists)
{
	ck_assert_str_eq(addrs("a@b.test"), "a@b.test");
	ck_assert_str_eq(addrs(" Demo User <demo@demo.test>, x@y.test (X)"),
			 "demo@demo.test|x@y.test");
	ck_assert_str_eq(addrs("\"Doe, John\" <jd@x.test>"), "jd@x.test");
	ck_assert_str_eq(addrs("team: a@x.test, b@x.test;, c@x.test"),
			 "a@x.test|b@x.test|c@x.test");
	ck_assert_str_eq(addrs("undisclosed-recipients:;"), "");
	ck_assert_str_eq(addrs("<@r1.test,@r2.test:u@d.test>"), "u@d.test");
	ck_assert_str_eq(addrs("(comment, with comma) u@d.test"), "u@d.test");
	ck_assert_str_eq(addrs("\"q u\"@d.test"), "\"q u\"@d.test");
	ck_assert_str_eq(addrs("a@x.test,\n\tb@x.test"), "a@x.test|b@x.test");
	ck_assert_str_eq(addrs(",,"), "");
	/* Unbalanced input ends without reading past the end. */
	ck_assert_str_eq(addrs("(open comment a@b"), "");
	ck_assert_str_eq(addrs("\"open quote"), "\"open quote");
}
END_TEST

START_TEST(headers_extract_and_bcc)
{
	struct str msg = STR_INIT;
	struct sendmail_list l = { NULL, 0 };

	str_append(&msg, "To: a@x.test,\n b@x.test\nSubject: s\n"
		   "BCC: hidden@x.test,\n\tmore@x.test\nCc: c@x.test\n\n"
		   "To: body@x.test\nBcc: body\n");
	sendmail_headers(&msg, true, &l);
	ck_assert_str_eq(joined(&l),
			 "a@x.test|b@x.test|hidden@x.test|more@x.test|"
			 "c@x.test");
	ck_assert_str_eq(msg.data, "To: a@x.test,\n b@x.test\nSubject: s\n"
			 "Cc: c@x.test\n\nTo: body@x.test\nBcc: body\n");
	sendmail_list_free(&l);
	/* Without -t nothing is collected, but Bcc still goes. */
	str_set(&msg, "Bcc: h@x.test\nTo: t@x.test\n\nbody\n");
	sendmail_headers(&msg, false, &l);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_str_eq(msg.data, "To: t@x.test\n\nbody\n");
	/* A body with no header at all. */
	str_set(&msg, "hi\nTo: x@y.test\n");
	sendmail_headers(&msg, true, &l);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_str_eq(msg.data, "hi\nTo: x@y.test\n");
	str_release(&msg);
}
END_TEST

START_TEST(qualify)
{
	struct str out = STR_INIT;
	const char *error = NULL;

	ck_assert(sendmail_qualify("demo", "h.test", false, &out, &error));
	ck_assert_str_eq(out.data, "demo@h.test");
	ck_assert(sendmail_qualify("<U@EXAMPLE.Test>", "h.test", false, &out,
				   &error));
	ck_assert_str_eq(out.data, "U@example.test");
	ck_assert(sendmail_qualify("<>", "h.test", true, &out, &error));
	ck_assert_uint_eq(out.len, 0);
	ck_assert(sendmail_qualify("", "h.test", true, &out, &error));
	ck_assert(!sendmail_qualify("", "h.test", false, &out, &error));
	ck_assert(!sendmail_qualify("a b@x.test", "h.test", false, &out,
				    &error));
	ck_assert(!sendmail_qualify("a@@x.test", "h.test", false, &out,
				    &error));
	ck_assert(!sendmail_qualify("demo", NULL, false, &out, &error));
	ck_assert_str_eq(error, "address has no domain");
	str_release(&out);
}
END_TEST

static int read_msg(const char *in, bool dot_ends, size_t max,
		    struct str *out)
{
	FILE *f = fmemopen((void *)in, strlen(in), "r");
	int ret;

	ck_assert_ptr_nonnull(f);
	str_clear(out);
	ret = sendmail_read_message(f, dot_ends, max, out);
	fclose(f);
	return ret;
}

START_TEST(read_message)
{
	struct str out = STR_INIT;

	ck_assert_int_eq(read_msg("a\r\nb\n.\nc\n", true, 100, &out), 1);
	ck_assert_str_eq(out.data, "a\nb\n");
	ck_assert_int_eq(read_msg("a\n.\nc", false, 100, &out), 1);
	ck_assert_str_eq(out.data, "a\n.\nc\n");
	ck_assert_int_eq(read_msg("..\n.x\n", true, 100, &out), 1);
	ck_assert_str_eq(out.data, "..\n.x\n");
	ck_assert_int_eq(read_msg("0123456789\n", true, 5, &out), 0);
	ck_assert_int_eq(read_msg("", true, 5, &out), 1);
	ck_assert_uint_eq(out.len, 0);
	str_release(&out);
}
END_TEST

START_TEST(header_end)
{
	const char *m;
	bool blank;

	m = "A: 1\nB: 2\n\nbody\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 10);
	ck_assert(blank);
	m = "A: 1\n cont\nbody line\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 11);
	ck_assert(!blank);
	m = "hi\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 0);
	ck_assert(!blank);
	m = " leading space: no\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 0);
	m = "X: no newline";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank),
			  strlen(m));
	m = "From: a\nmessage-id: <x>\nDate: d\n";
	ck_assert(pickup_has_header(m, strlen(m), "message-id"));
	ck_assert(pickup_has_header(m, strlen(m), "from"));
	ck_assert(pickup_has_header(m, strlen(m), "date"));
	ck_assert(!pickup_has_header(m, strlen(m), "to"));
	ck_assert(!pickup_has_header("Fromage: x\n", 11, "from"));
}
END_TEST

/* ---- sendmail -bs --------------------------------------------------- */

/* What the dialogue handed to its commit callback. */
struct bs_queue {
	int commits;
	bool fail;
	struct str sender, rcpts, msg;
};

static bool bs_commit(void *ctx, const char *sender,
		      const struct sendmail_list *rcpts,
		      const struct str *msg, struct str *id_r,
		      const char **error_r)
{
	struct bs_queue *q = ctx;

	if (q->fail) {
		*error_r = "No space left on device";
		return false;
	}
	q->commits++;
	str_set(&q->sender, sender);
	str_set(&q->rcpts, joined(rcpts));
	str_set(&q->msg, msg->data != NULL ? msg->data : "");
	str_printf(id_r, "ID%d", q->commits);
	return true;
}

/* Feed each line of script (LF-separated) and return all replies. */
static const char *bs_run(struct sendmail_smtp *s, const char *script)
{
	static struct str out;
	const char *p = script;

	str_clear(&out);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		sendmail_smtp_line(s, p, len, &out);
		p += len + (nl != NULL);
	}
	return out.data != NULL ? out.data : "";
}

START_TEST(bs_transaction)
{
	struct bs_queue q = { 0 };
	struct sendmail_smtp *s = sendmail_smtp_create("mail.x.test",
						       "x.test", 100,
						       bs_commit, &q);
	struct str greeting = STR_INIT;

	sendmail_smtp_greeting(s, &greeting);
	ck_assert_str_eq(str_c(&greeting),
			 "220 mail.x.test ESMTP correo (sendmail -bs)\r\n");
	ck_assert_str_eq(bs_run(s, "EHLO me"),
			 "250-mail.x.test\r\n250-PIPELINING\r\n"
			 "250-SIZE 100\r\n250-8BITMIME\r\n"
			 "250 ENHANCEDSTATUSCODES\r\n");
	ck_assert_str_eq(bs_run(s, "mail from:<A@X.test> BODY=8BITMIME\n"
				"RCPT TO:<b@y.test>\nrcpt to:carol\nDATA"),
			 "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
			 "354 End data with <CR><LF>.<CR><LF>\r\n");
	/* In DATA, commands are content; a leading dot is unstuffed. */
	ck_assert_str_eq(bs_run(s, "Subject: s\n\nQUIT\n..x\n.."), "");
	ck_assert_int_eq(q.commits, 0);
	ck_assert_str_eq(bs_run(s, "."), "250 2.0.0 Ok: queued as ID1\r\n");
	ck_assert_int_eq(q.commits, 1);
	ck_assert_str_eq(str_c(&q.sender), "A@x.test");	/* domain folded */
	ck_assert_str_eq(str_c(&q.rcpts), "b@y.test|carol@x.test");
	ck_assert_str_eq(str_c(&q.msg), "Subject: s\n\nQUIT\n.x\n.\n");
	/* The next transaction starts clean: no sender, no recipients. */
	ck_assert_str_eq(bs_run(s, "RCPT TO:<b@y.test>\nDATA"),
			 "503 5.5.1 Error: need MAIL command\r\n"
			 "503 5.5.1 Error: need MAIL command\r\n");
	/* Null sender, then too big: the rest is read, nothing queued. */
	ck_assert_str_eq(bs_run(s, "MAIL FROM:<>\nRCPT TO:<b@y.test>\n"
				"DATA"),
			 "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			 "354 End data with <CR><LF>.<CR><LF>\r\n");
	ck_assert_str_eq(bs_run(s, "0123456789012345678901234567890123456789\n"
				"0123456789012345678901234567890123456789\n"
				"0123456789012345678901234567890123456789\n"
				"."),
			 "552 5.3.4 Error: message file too big\r\n");
	ck_assert_int_eq(q.commits, 1);
	/* A queue failure is temporary. */
	q.fail = true;
	bs_run(s, "MAIL FROM:<>\nRCPT TO:<b@y.test>\nDATA\nhi");
	ck_assert_str_eq(bs_run(s, "."), "451 4.3.0 Error: queue file write "
			 "error: No space left on device\r\n");
	ck_assert(!sendmail_smtp_done(s));
	ck_assert_str_eq(bs_run(s, "QUIT\nNOOP"), "221 2.0.0 Bye\r\n");
	ck_assert(sendmail_smtp_done(s));
	sendmail_smtp_free(&s);
	ck_assert_ptr_null(s);
	str_release(&greeting);
	str_release(&q.sender);
	str_release(&q.rcpts);
	str_release(&q.msg);
}
END_TEST

START_TEST(bs_errors)
{
	struct bs_queue q = { 0 };
	struct sendmail_smtp *s = sendmail_smtp_create("h", NULL, 0,
						       bs_commit, &q);
	char long_line[SENDMAIL_SMTP_LINE_MAX + 10];

	ck_assert_str_eq(bs_run(s, "HELO\nHELO there\nEHLO"),
			 "501 Syntax: HELO hostname\r\n250 h\r\n"
			 "501 Syntax: EHLO hostname\r\n");
	/* No size limit: no SIZE keyword. */
	ck_assert(strstr(bs_run(s, "EHLO a"), "SIZE") == NULL);
	ck_assert_str_eq(bs_run(s, "MAIL TO:<a@b.test>\nMAIL FROM:<a@b.test"
				"\nMAIL FROM:<a@b.test> FOO=1\n"
				"MAIL FROM:<a@b.test> SIZE=x\n"
				"MAIL FROM:<nodomain>\nMAILFROM:<a@b.test>"),
			 "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
			 "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
			 "555 5.5.4 Unsupported option: FOO=1\r\n"
			 "501 5.5.4 Bad SIZE parameter\r\n"
			 "501 5.1.7 Bad sender address syntax: address has "
			 "no domain\r\n"
			 "502 5.5.2 Error: command not recognized\r\n");
	ck_assert_str_eq(bs_run(s, "MAIL FROM:a@b.test\nMAIL FROM:<c@d.test>"
				"\nDATA\nRCPT TO:<x@y.test> NOTIFY=NEVER\n"
				"RCPT TO:<>\nRSET\nDATA x"),
			 "250 2.1.0 Ok\r\n"
			 "503 5.5.1 Error: nested MAIL command\r\n"
			 "554 5.5.1 Error: no valid recipients\r\n"
			 "555 5.5.4 Unsupported option: NOTIFY=NEVER\r\n"
			 "501 5.1.3 Bad recipient address syntax: empty "
			 "address\r\n"
			 "250 2.0.0 Ok\r\n"
			 "501 5.5.4 Syntax: DATA\r\n");
	memset(long_line, 'a', sizeof(long_line));
	{
		struct str out = STR_INIT;

		sendmail_smtp_line(s, long_line, sizeof(long_line), &out);
		ck_assert_str_eq(str_c(&out),
				 "500 5.5.2 Error: line too long\r\n");
		str_clear(&out);
		sendmail_smtp_line(s, "NOOP\0x", 6, &out);
		ck_assert_str_eq(str_c(&out), "500 5.5.2 Error: NUL byte in "
				 "command\r\n");
		str_release(&out);
	}
	/* Too many recipients. */
	bs_run(s, "MAIL FROM:<a@b.test>");
	for (int i = 0; i < SENDMAIL_SMTP_RCPT_MAX; i++)
		ck_assert_str_eq(bs_run(s, "RCPT TO:<r@b.test>"),
				 "250 2.1.5 Ok\r\n");
	ck_assert_str_eq(bs_run(s, "RCPT TO:<r@b.test>"),
			 "452 4.5.3 Error: too many recipients\r\n");
	ck_assert_int_eq(q.commits, 0);
	sendmail_smtp_free(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sendmail");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, address_lists);
	tcase_add_test(tc, headers_extract_and_bcc);
	tcase_add_test(tc, qualify);
	tcase_add_test(tc, read_message);
	tcase_add_test(tc, header_end);
	tcase_add_test(tc, bs_transaction);
	tcase_add_test(tc, bs_errors);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
