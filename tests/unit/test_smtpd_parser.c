/*
 * Unit tests for smtpd/smtpd_parse.c: verbs, MAIL FROM / RCPT TO paths
 * and ESMTP parameters, BDAT counts and HELO names. Command lines are
 * also fed one byte at a time through lio over a socketpair (an lio_ops
 * layer that reads a single byte per call), the way a slow client
 * delivers them.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lio.h"
#include "queue.h"
#include "smtpd.h"
#include "test_util.h"

static struct smtpd_cmd cmd;
static struct smtpd_mail m;
static struct smtpd_rcpt_arg r;
static struct smtpd_perr err;

static void command(const char *line)
{
	smtpd_parse_command(line, strlen(line), &cmd);
}

static bool mail(const char *args)
{
	memset(&err, 0, sizeof(err));
	return smtpd_parse_mail(args, strlen(args), &m, &err);
}

static bool rcpt(const char *args, bool utf8)
{
	memset(&err, 0, sizeof(err));
	return smtpd_parse_rcpt(args, strlen(args), utf8, &r, &err);
}

START_TEST(test_verbs)
{
	command("mail FROM:<a@b.c>");
	ck_assert_int_eq(cmd.verb, SMTPD_MAIL);
	ck_assert_str_eq(cmd.name, "MAIL");
	ck_assert_str_eq(cmd.args, "FROM:<a@b.c>");
	command("eHlO client.example");
	ck_assert_int_eq(cmd.verb, SMTPD_EHLO);
	ck_assert_uint_eq(cmd.args_len, 14);
	command("QUIT");
	ck_assert_int_eq(cmd.verb, SMTPD_QUIT);
	ck_assert_uint_eq(cmd.args_len, 0);
	command("quit   ");
	ck_assert_int_eq(cmd.verb, SMTPD_QUIT);
	ck_assert_uint_eq(cmd.args_len, 0);
	command("NOOP \t x ");
	ck_assert_int_eq(cmd.verb, SMTPD_NOOP);
	ck_assert_uint_eq(cmd.args_len, 1);
	command("MAILX FROM:<a@b.c>");
	ck_assert_int_eq(cmd.verb, SMTPD_UNKNOWN);
	ck_assert_str_eq(cmd.name, "unknown");
	command("MAI");
	ck_assert_int_eq(cmd.verb, SMTPD_UNKNOWN);
	command("");
	ck_assert_int_eq(cmd.verb, SMTPD_UNKNOWN);
	command("EXPN root");
	ck_assert_int_eq(cmd.verb, SMTPD_UNKNOWN);
	command("GET / HTTP/1.0");
	ck_assert_int_eq(cmd.verb, SMTPD_FORBIDDEN);
	command("bdat 10 last");
	ck_assert_int_eq(cmd.verb, SMTPD_BDAT);
	ck_assert_str_eq(smtpd_verb_logname(SMTPD_RCPT), "rcpt");
}
END_TEST

START_TEST(test_mail_forms)
{
	ck_assert(mail("FROM:<a@b.c>"));
	ck_assert_str_eq(m.addr.text, "a@b.c");
	ck_assert_str_eq(m.orig, "a@b.c");
	ck_assert_int_eq(m.size, -1);
	ck_assert_int_eq(m.body, SMTPD_BODY_NONE);
	/* Postfix leniency: spaces after the colon, case, no brackets. */
	ck_assert(mail("from:   <a@B.C>"));
	ck_assert_str_eq(m.addr.text, "a@b.c");
	ck_assert(mail("FROM:a@b.c"));
	ck_assert_str_eq(m.addr.text, "a@b.c");
	ck_assert(mail("FROM:a@b.c SIZE=12"));
	ck_assert_int_eq(m.size, 12);
	ck_assert(mail("FROM:<>"));
	ck_assert(m.addr.null);
	ck_assert_str_eq(m.addr.text, "");
	ck_assert(mail("FROM:<@relay.example:a@b.c>"));
	ck_assert_str_eq(m.addr.text, "a@b.c");
	ck_assert_str_eq(m.orig, "@relay.example:a@b.c");
}
END_TEST

START_TEST(test_mail_errors)
{
	ck_assert(!mail(""));
	ck_assert_str_eq(err.reply, "501 5.5.4 Syntax: MAIL FROM:<address>");
	ck_assert(!mail("FROM <a@b.c>"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Syntax: MAIL FROM:<address>");
	ck_assert(!mail("FROM:"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Syntax: MAIL FROM:<address>");
	ck_assert(!mail("FROM:<a@b.c"));
	ck_assert_str_eq(err.reply, "501 5.1.7 Bad sender address syntax");
	ck_assert(!mail("FROM:<a..b@c.d>"));
	ck_assert_str_eq(err.reply, "501 5.1.7 Bad sender address syntax");
	ck_assert(!mail("FROM:<a@b.c>SIZE=1"));
	ck_assert_str_eq(err.reply, "501 5.1.7 Bad sender address syntax");
	ck_assert(!mail("FROM:<>x"));
}
END_TEST

START_TEST(test_mail_params)
{
	ck_assert(mail("FROM:<a@b.c> SIZE=10240000 BODY=8bitmime"));
	ck_assert_int_eq(m.size, 10240000);
	ck_assert_int_eq(m.body, SMTPD_BODY_8BITMIME);
	ck_assert(mail("FROM:<a@b.c> body=7BIT size=0"));
	ck_assert_int_eq(m.body, SMTPD_BODY_7BIT);
	ck_assert_int_eq(m.size, 0);
	ck_assert(mail("FROM:<a@b.c> BODY=BINARYMIME SMTPUTF8"));
	ck_assert_int_eq(m.body, SMTPD_BODY_BINARYMIME);
	ck_assert(m.smtputf8);
	ck_assert(mail("FROM:<a@b.c>   SIZE=5   "));
	ck_assert_int_eq(m.size, 5);

	ck_assert(!mail("FROM:<a@b.c> SIZE=abc"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad message size syntax");
	ck_assert(!mail("FROM:<a@b.c> SIZE="));
	ck_assert(!mail("FROM:<a@b.c> SIZE"));
	ck_assert(!mail("FROM:<a@b.c> SIZE=-1"));
	ck_assert(!mail("FROM:<a@b.c> SIZE=99999999999999999999"));
	/* 19 digits: one past LLONG_MAX must not wrap to a negative size
	 * (that would slip under $message_size_limit). */
	ck_assert(mail("FROM:<a@b.c> SIZE=9223372036854775807"));
	ck_assert(m.size == 9223372036854775807LL);
	ck_assert(!mail("FROM:<a@b.c> SIZE=9223372036854775808"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad message size syntax");
	ck_assert(!mail("FROM:<a@b.c> SIZE=9999999999999999999"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad message size syntax");
	ck_assert(!mail("FROM:<a@b.c> SIZE=1 SIZE=2"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad message size syntax");
	ck_assert(!mail("FROM:<a@b.c> BODY=9BIT"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad BODY keyword syntax");
	ck_assert(!mail("FROM:<a@b.c> BODY"));
	ck_assert(!mail("FROM:<a@b.c> SMTPUTF8=yes"));
	ck_assert_str_eq(err.reply, "501 5.5.4 Bad SMTPUTF8 parameter syntax");
	ck_assert(mail("FROM:<a@b.c> RET=HDRS"));
	ck_assert_int_eq(m.ret, SMTPD_RET_HDRS);
	ck_assert(!mail("FROM:<a@b.c> MT-PRIORITY=1"));
	ck_assert_str_eq(err.reply, "555 5.5.4 Unsupported option:"
			 " MT-PRIORITY");
	ck_assert(!mail("FROM:<a@b.c> X\x01Y=1"));
	ck_assert_str_eq(err.reply, "555 5.5.4 Unsupported option: X?Y");
}
END_TEST

START_TEST(test_mail_utf8)
{
	ck_assert(!mail("FROM:<j\xc3\xa9@b.c>"));
	ck_assert_str_eq(err.reply,
			 "553 5.6.7 Must declare SMTPUTF8 to send unicode"
			 " address");
	ck_assert(mail("FROM:<j\xc3\xa9@b.c> SMTPUTF8"));
	ck_assert(m.addr.utf8);
	ck_assert(!mail("FROM:<j\xc3@b.c> SMTPUTF8"));
	ck_assert_str_eq(err.reply, "501 5.1.7 Bad sender address syntax");
}
END_TEST

START_TEST(test_rcpt)
{
	ck_assert(rcpt("TO:<Bob@Example.COM>", false));
	ck_assert_str_eq(r.addr.text, "Bob@example.com");
	ck_assert_str_eq(r.orig, "Bob@Example.COM");
	ck_assert(rcpt("to: <bob@example.com.>", false));
	ck_assert(r.addr.trailing_dot);
	ck_assert_str_eq(r.addr.domain, "example.com");
	ck_assert(rcpt("TO:<Postmaster>", false));
	ck_assert_str_eq(r.addr.domain, "");
	ck_assert(rcpt("TO:postmaster", false));
	ck_assert(!rcpt("TO:<bob>", false));
	ck_assert_str_eq(err.reply, "501 5.1.3 Bad recipient address syntax");
	ck_assert(!rcpt("TO:<>", false));
	ck_assert_str_eq(err.reply, "501 5.1.3 Bad recipient address syntax");
	ck_assert(!rcpt("TO:", false));
	ck_assert_str_eq(err.reply, "501 5.5.4 Syntax: RCPT TO:<address>");
	ck_assert(!rcpt("FROM:<a@b.c>", false));
	ck_assert(rcpt("TO:<a@b.c> NOTIFY=NEVER", false));
	ck_assert_uint_eq(r.notify, QUEUE_NOTIFY_NEVER);
	ck_assert(!rcpt("TO:<a@b.c> RRVS=2030-01-01T00:00:00Z", false));
	ck_assert_str_eq(err.reply, "555 5.5.4 Unsupported option: RRVS");
	ck_assert(!rcpt("TO:<j\xc3\xa9@b.c>", false));
	ck_assert_str_eq(err.reply,
			 "553 5.6.7 Must declare SMTPUTF8 to send unicode"
			 " address");
	ck_assert(rcpt("TO:<j\xc3\xa9@b.c>", true));
	ck_assert(rcpt("TO:<@a.example,@b.example:u@c.example>", false));
	ck_assert(r.addr.route);
	ck_assert_str_eq(r.addr.text, "u@c.example");
}
END_TEST

START_TEST(test_bdat)
{
	unsigned long long n;
	bool last;

	ck_assert(smtpd_parse_bdat("100", 3, &n, &last, &err));
	ck_assert_uint_eq(n, 100);
	ck_assert(!last);
	ck_assert(smtpd_parse_bdat("0 LAST", 6, &n, &last, &err));
	ck_assert_uint_eq(n, 0);
	ck_assert(last);
	ck_assert(smtpd_parse_bdat("7  last", 7, &n, &last, &err));
	ck_assert(last);
	ck_assert(!smtpd_parse_bdat("", 0, &n, &last, &err));
	ck_assert_str_eq(err.reply, "421 4.5.4 Syntax: BDAT count [LAST];"
			 " chunk size not understood, closing connection");
	ck_assert(!smtpd_parse_bdat("x", 1, &n, &last, &err));
	ck_assert(!smtpd_parse_bdat("10 FIRST", 8, &n, &last, &err));
	ck_assert(!smtpd_parse_bdat("10LAST", 6, &n, &last, &err));
	ck_assert(!smtpd_parse_bdat("-1", 2, &n, &last, &err));
	ck_assert(!smtpd_parse_bdat("1234567890123456789012", 22, &n, &last,
				    &err));
	ck_assert(strncmp(err.reply, "421 ", 4) == 0);
	/* 2^63 - 1 is the largest count; 2^63 and 20 digits are not. */
	ck_assert(smtpd_parse_bdat("9223372036854775807", 19, &n, &last,
				   &err));
	ck_assert_uint_eq(n, 9223372036854775807ULL);
	ck_assert(!smtpd_parse_bdat("9223372036854775808", 19, &n, &last,
				    &err));
	ck_assert(smtpd_parse_bdat("0000000000000000042", 19, &n, &last,
				   &err));
	ck_assert_uint_eq(n, 42);
	ck_assert(!smtpd_parse_bdat("00000000000000000042", 20, &n, &last,
				    &err));
}
END_TEST

START_TEST(test_helo)
{
	char out[256];

	ck_assert(smtpd_parse_helo("client.example", 14, out, sizeof(out)));
	ck_assert_str_eq(out, "client.example");
	ck_assert(smtpd_parse_helo("[192.0.2.1] extra", 17, out, sizeof(out)));
	ck_assert_str_eq(out, "[192.0.2.1]");
	ck_assert(!smtpd_parse_helo("", 0, out, sizeof(out)));
	ck_assert(!smtpd_parse_helo("a\rb", 3, out, sizeof(out)));
	ck_assert(!smtpd_parse_helo("caf\xc3\xa9", 5, out, sizeof(out)));
}
END_TEST

/* ---- one byte at a time through lio over a socketpair ---- */

static ssize_t one_byte_read(void *ctx, void *buf, size_t len,
			     bool *want_write)
{
	ssize_t n = recv(*(int *)ctx, buf, len > 0 ? 1 : 0, MSG_DONTWAIT);

	*want_write = false;
	if (n < 0 && errno == EWOULDBLOCK)
		errno = EAGAIN;
	return n;
}

static ssize_t plain_write(void *ctx, const void *buf, size_t len,
			   bool *want_read)
{
	*want_read = false;
	return send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
}

static const struct lio_ops one_byte_ops = {
	.read = one_byte_read,
	.write = plain_write,
};

START_TEST(test_byte_at_a_time)
{
	static const char input[] =
		"EHLO client.example\r\n"
		"MAIL FROM:<a@b.c> SIZE=42 BODY=8BITMIME\r\n"
		"RCPT TO:<\"x y\"@d.e>\r\n"
		"BDAT 5 LAST\r\n"
		"rcpt to:  <Postmaster>\n";
	int sv[2], fd;
	struct lio *lio;
	struct str line = STR_INIT;
	unsigned long long n;
	bool last;
	size_t len;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], input, sizeof(input) - 1),
			 (ssize_t)sizeof(input) - 1);
	close(sv[1]);
	fd = sv[0];
	lio = lio_create(fd, 5);
	lio_set_ops(lio, &one_byte_ops, &fd);

	ck_assert_int_eq(lio_read_line(lio, &line, 512), LIO_OK);
	smtpd_parse_command(line.data, line.len - 2, &cmd);
	ck_assert_int_eq(cmd.verb, SMTPD_EHLO);
	ck_assert_str_eq(cmd.args, "client.example\r\n");

	ck_assert_int_eq(lio_read_line(lio, &line, 512), LIO_OK);
	smtpd_parse_command(line.data, line.len - 2, &cmd);
	ck_assert_int_eq(cmd.verb, SMTPD_MAIL);
	ck_assert(smtpd_parse_mail(cmd.args, cmd.args_len, &m, &err));
	ck_assert_int_eq(m.size, 42);
	ck_assert_int_eq(m.body, SMTPD_BODY_8BITMIME);

	ck_assert_int_eq(lio_read_line(lio, &line, 512), LIO_OK);
	smtpd_parse_command(line.data, line.len - 2, &cmd);
	ck_assert(smtpd_parse_rcpt(cmd.args, cmd.args_len, false, &r, &err));
	ck_assert_str_eq(r.addr.local, "x y");

	ck_assert_int_eq(lio_read_line(lio, &line, 512), LIO_OK);
	smtpd_parse_command(line.data, line.len - 2, &cmd);
	ck_assert(smtpd_parse_bdat(cmd.args, cmd.args_len, &n, &last, &err));
	ck_assert_uint_eq(n, 5);
	ck_assert(last);

	/* A bare LF ends a command line too; the parser sees no LF. */
	ck_assert_int_eq(lio_read_line(lio, &line, 512), LIO_OK);
	len = line.len;
	ck_assert_int_eq(line.data[len - 1], '\n');
	ck_assert_int_ne(line.data[len - 2], '\r');
	smtpd_parse_command(line.data, len - 1, &cmd);
	ck_assert(smtpd_parse_rcpt(cmd.args, cmd.args_len, false, &r, &err));
	ck_assert(addr_is_postmaster(&r.addr));

	ck_assert_int_eq(lio_read_line(lio, &line, 512), LIO_EOF);
	str_release(&line);
	lio_free(&lio);
}
END_TEST

START_TEST(test_long_line_byte_at_a_time)
{
	int sv[2], fd;
	struct lio *lio;
	struct str line = STR_INIT;
	char *big = malloc(3000);

	memset(big, 'A', 3000);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], big, 3000), 3000);
	ck_assert_int_eq(write(sv[1], "\r\nQUIT\r\n", 8), 8);
	close(sv[1]);
	fd = sv[0];
	lio = lio_create(fd, 5);
	lio_set_ops(lio, &one_byte_ops, &fd);
	/* What smtpd does: the limit, then the rest in pieces. */
	ck_assert_int_eq(lio_read_line(lio, &line, 2048), LIO_TOOLONG);
	ck_assert_uint_eq(line.len, 2048);
	ck_assert_int_eq(lio_read_line(lio, &line, 2048), LIO_OK);
	ck_assert_uint_eq(line.len, 3000 - 2048 + 2);
	ck_assert_int_eq(lio_read_line(lio, &line, 2048), LIO_OK);
	smtpd_parse_command(line.data, line.len - 2, &cmd);
	ck_assert_int_eq(cmd.verb, SMTPD_QUIT);
	str_release(&line);
	lio_free(&lio);
	free(big);
}
END_TEST

static Suite *smtpd_parser_suite(void)
{
	Suite *s = suite_create("smtpd_parser");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_verbs);
	tcase_add_test(tc, test_mail_forms);
	tcase_add_test(tc, test_mail_errors);
	tcase_add_test(tc, test_mail_params);
	tcase_add_test(tc, test_mail_utf8);
	tcase_add_test(tc, test_rcpt);
	tcase_add_test(tc, test_bdat);
	tcase_add_test(tc, test_helo);
	tcase_add_test(tc, test_byte_at_a_time);
	tcase_add_test(tc, test_long_line_byte_at_a_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(smtpd_parser_suite());
}
