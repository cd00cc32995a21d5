/*
 * Unit tests for pop3d/pop3_parse.c (commands, arity, numbers, bad
 * input), the command lines fed one byte at a time through lio over a
 * socketpair, the CAPA text of the front end, and the RETR/TOP stream of
 * pop3d_mbox.c (CRLF conversion, dot-stuffing, TOP's line count).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lio.h"
#include "pop3_login.h"
#include "pop3_parse.h"
#include "pop3d.h"

static struct pop3_cmd cmd = POP3_CMD_INIT;
static const char *perr;

static bool parse(const char *text)
{
	struct str line = STR_INIT;
	bool ok;

	str_append(&line, text);
	perr = NULL;
	ok = pop3_parse(&line, &cmd, &perr);
	str_release(&line);
	return ok;
}

START_TEST(test_commands)
{
	ck_assert(parse("user bob@demo.test\r\n"));
	ck_assert_int_eq(cmd.id, POP3_CMD_USER);
	ck_assert_str_eq(cmd.name, "USER");
	ck_assert_int_eq(cmd.nargs, 1);
	ck_assert_str_eq(cmd.args[0], "bob@demo.test");
	ck_assert(parse("PASS  with  spaces \r\n"));
	ck_assert_int_eq(cmd.id, POP3_CMD_PASS);
	ck_assert_int_eq(cmd.nargs, 1);
	ck_assert_str_eq(cmd.args[0], "with  spaces ");
	ck_assert(parse("Top 3 10\n"));
	ck_assert_int_eq(cmd.id, POP3_CMD_TOP);
	ck_assert_str_eq(cmd.args[0], "3");
	ck_assert_str_eq(cmd.args[1], "10");
	ck_assert(parse("LIST\r\n"));
	ck_assert_int_eq(cmd.nargs, 0);
	ck_assert(parse("list 7\r\n"));
	ck_assert_int_eq(cmd.nargs, 1);
	ck_assert(parse("AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n"));
	ck_assert_int_eq(cmd.id, POP3_CMD_AUTH);
	ck_assert_str_eq(cmd.args[1], "AGJvYgBzZWNyZXQ=");
	ck_assert(parse("AUTH\r\n"));
	ck_assert_int_eq(cmd.nargs, 0);
	ck_assert(parse("stls"));
	ck_assert_int_eq(cmd.id, POP3_CMD_STLS);
	ck_assert(parse("QUIT\r\n"));
	ck_assert(parse("CAPA\r\n"));
	ck_assert(parse("UIDL\r\n"));
	ck_assert(parse("RSET\r\n"));
	ck_assert(parse("NOOP\r\n"));
	ck_assert(parse("STAT\r\n"));
	ck_assert(parse("DELE 1\r\n"));
	ck_assert(parse("RETR 1\r\n"));
	ck_assert(parse("APOP bob 0123\r\n"));
}
END_TEST

START_TEST(test_bad_commands)
{
	ck_assert(!parse("\r\n"));
	ck_assert_str_eq(perr, "Empty command");
	ck_assert(!parse("FOO\r\n"));
	ck_assert_str_eq(perr, "Unknown command");
	ck_assert(!parse("USERX bob\r\n"));
	ck_assert_str_eq(perr, "Unknown command");
	ck_assert(!parse(" USER bob\r\n"));
	ck_assert_str_eq(perr, "Unknown command");
	ck_assert(!parse("USER\r\n"));
	ck_assert_str_eq(perr, "Missing argument");
	ck_assert(!parse("PASS \r\n"));
	ck_assert_str_eq(perr, "Missing argument");
	ck_assert(!parse("USER a b\r\n"));
	ck_assert_str_eq(perr, "Too many arguments");
	ck_assert(!parse("STAT 1\r\n"));
	ck_assert_str_eq(perr, "Too many arguments");
	ck_assert(!parse("TOP 1\r\n"));
	ck_assert_str_eq(perr, "Missing argument");
	ck_assert(!parse("LIST 1 2\r\n"));
	ck_assert_str_eq(perr, "Too many arguments");
	ck_assert(!parse("USER a\x01\r\n"));
	ck_assert_str_eq(perr, "Invalid characters in command");
	ck_assert(!parse("STLS\rCAPA\r\n"));
	ck_assert_str_eq(perr, "Invalid characters in command");
}
END_TEST

START_TEST(test_nul_and_long)
{
	struct str line = STR_INIT;
	char big[POP3_MAX_ARG_LEN + 10];

	str_append_n(&line, "USER a\0b\r\n", 10);
	ck_assert(!pop3_parse(&line, &cmd, &perr));
	ck_assert_str_eq(perr, "Invalid characters in command");
	str_release(&line);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	str_append(&line, "USER ");
	str_append(&line, big);
	ck_assert(!pop3_parse(&line, &cmd, &perr));
	ck_assert_str_eq(perr, "Argument too long");
	str_release(&line);
}
END_TEST

START_TEST(test_numbers)
{
	unsigned long n;

	ck_assert(pop3_parse_number("1", 1, 10, &n));
	ck_assert_uint_eq(n, 1);
	ck_assert(pop3_parse_number("0010", 1, 10, &n));
	ck_assert_uint_eq(n, 10);
	ck_assert(!pop3_parse_number("11", 1, 10, &n));
	ck_assert(!pop3_parse_number("0", 1, 10, &n));
	ck_assert(pop3_parse_number("0", 0, 10, &n));
	ck_assert(!pop3_parse_number("", 0, 10, &n));
	ck_assert(!pop3_parse_number("-1", 0, 10, &n));
	ck_assert(!pop3_parse_number("+1", 0, 10, &n));
	ck_assert(!pop3_parse_number("1x", 0, 10, &n));
	ck_assert(!pop3_parse_number(" 1", 0, 10, &n));
	ck_assert(!pop3_parse_number("99999999999999999999999", 0,
				     ULONG_MAX, &n));
	ck_assert(pop3_parse_number("18446744073709551615", 0, ULONG_MAX,
				    &n));
	ck_assert(!pop3_parse_number("18446744073709551616", 0, ULONG_MAX,
				     &n));
	/* Found by tests/fuzz/fuzz_pop3_parse: a digit above a small max
	 * wrapped the overflow check, so "4" passed for max 1. */
	ck_assert(!pop3_parse_number("4", 0, 1, &n));
	ck_assert(!pop3_parse_number("10", 0, 9, &n));
	ck_assert(pop3_parse_number("9", 0, 9, &n));
	ck_assert_uint_eq(n, 9);
}
END_TEST

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
		"USER bob\r\nPASS a b\r\nTOP 1 0\r\nbogus\r\nuidl\n";
	static const enum pop3_cmd_id want[] = {
		POP3_CMD_USER, POP3_CMD_PASS, POP3_CMD_TOP,
	};
	struct str line = STR_INIT;
	struct lio *lio;
	int sv[2], fd;
	size_t i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], input, sizeof(input) - 1),
			 (ssize_t)sizeof(input) - 1);
	close(sv[1]);
	fd = sv[0];
	lio = lio_create(fd, 5);
	lio_set_ops(lio, &one_byte_ops, &fd);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(lio_read_line(lio, &line, POP3_LINE_MAX),
				 LIO_OK);
		ck_assert(pop3_parse(&line, &cmd, &perr));
		ck_assert_int_eq(cmd.id, want[i]);
	}
	ck_assert_str_eq(cmd.args[1], "0");
	ck_assert_int_eq(lio_read_line(lio, &line, POP3_LINE_MAX), LIO_OK);
	ck_assert(!pop3_parse(&line, &cmd, &perr));
	ck_assert_str_eq(perr, "Unknown command");
	ck_assert_int_eq(lio_read_line(lio, &line, POP3_LINE_MAX), LIO_OK);
	ck_assert(pop3_parse(&line, &cmd, &perr));
	ck_assert_int_eq(cmd.id, POP3_CMD_UIDL);
	ck_assert_int_eq(lio_read_line(lio, &line, POP3_LINE_MAX), LIO_EOF);
	/* Over-long lines stop at the limit. */
	str_release(&line);
	lio_free(&lio);
}
END_TEST

START_TEST(test_capa)
{
	char *mechs[] = { "PLAIN", "LOGIN", NULL };
	struct str out = STR_INIT;

	/* Before TLS, plaintext refused. */
	pop3_login_capa(true, false, mechs, &out);
	ck_assert_ptr_nonnull(strstr(str_c(&out), "STLS\r\n"));
	ck_assert_ptr_null(strstr(str_c(&out), "USER\r\n"));
	ck_assert_ptr_null(strstr(str_c(&out), "SASL"));
	str_clear(&out);
	/* After TLS. */
	pop3_login_capa(false, true, mechs, &out);
	ck_assert_ptr_null(strstr(str_c(&out), "STLS"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "USER\r\n"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "SASL PLAIN LOGIN\r\n"));
	str_release(&out);
}
END_TEST

/* Stream content through pop3d_mbox_send into a file; return what was
 * written. */
static char *stream(const char *content, size_t len, long lines,
		    size_t *out_len)
{
	char in_path[] = "/tmp/test_pop3_XXXXXX";
	char out_path[] = "/tmp/test_pop3_XXXXXX";
	struct str got = STR_INIT;
	uint64_t sent = 0;
	struct lio *lio;
	int fd, out;
	char buf[4096];
	ssize_t n;

	fd = mkstemp(in_path);
	out = mkstemp(out_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(out, 0);
	unlink(in_path);
	unlink(out_path);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	lio = lio_create(dup(out), 5);
	ck_assert(pop3d_mbox_send(lio, fd, lines, &sent));
	ck_assert_int_eq(lio_flush(lio), LIO_OK);
	lio_free(&lio);
	close(fd);
	if (lines < 0)
		ck_assert_uint_eq(sent, len);
	lseek(out, 0, SEEK_SET);
	while ((n = read(out, buf, sizeof(buf))) > 0)
		str_append_n(&got, buf, (size_t)n);
	close(out);
	*out_len = got.len;
	return str_steal(&got);
}

static void check_stream(const char *in, long lines, const char *want)
{
	size_t len;
	char *got = stream(in, strlen(in), lines, &len);

	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(got, want, len);
	free(got);
}

START_TEST(test_retr_stream)
{
	check_stream("A: b\n\nbody\n", -1, "A: b\r\n\r\nbody\r\n.\r\n");
	check_stream(".x\n..y\n.\n", -1, "..x\r\n...y\r\n..\r\n.\r\n");
	check_stream("no newline", -1, "no newline\r\n.\r\n");
	check_stream("crlf\r\nmixed\n", -1, "crlf\r\nmixed\r\n.\r\n");
	check_stream("", -1, ".\r\n");
	check_stream("bare\rcr\n", -1, "bare\rcr\r\n.\r\n");
	check_stream("H: 1\nH: 2\n\nl1\nl2\nl3\n", 0,
		     "H: 1\r\nH: 2\r\n\r\n.\r\n");
	check_stream("H: 1\r\n\r\nl1\r\n.l2\r\nl3\r\n", 2,
		     "H: 1\r\n\r\nl1\r\n..l2\r\n.\r\n");
	check_stream("H: 1\nno body", 5, "H: 1\r\nno body\r\n.\r\n");
}
END_TEST

/* A message bigger than the read chunk, with CR LF split across chunk
 * boundaries and dots at chunk starts. */
START_TEST(test_retr_stream_large)
{
	size_t n = 300000, i, len, dots = 0, lfs = 0;
	char *in = malloc(n), *got;

	for (i = 0; i < n; i++) {
		in[i] = (i % 7 == 6) ? '\n' : (i % 65536 == 0 ||
					       i % 7 == 0) ? '.' : 'x';
		if (in[i] == '\n')
			lfs++;
		if (in[i] == '.' && (i == 0 || in[i - 1] == '\n'))
			dots++;
	}
	got = stream(in, n, -1, &len);
	ck_assert_uint_eq(len, n + lfs + dots + (in[n - 1] != '\n' ? 2 : 0) +
			  3);
	ck_assert_mem_eq(got + len - 5, "\r\n.\r\n", 5);
	free(in);
	free(got);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pop3_parser");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_commands);
	tcase_add_test(tc, test_bad_commands);
	tcase_add_test(tc, test_nul_and_long);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_byte_at_a_time);
	tcase_add_test(tc, test_capa);
	tcase_add_test(tc, test_retr_stream);
	tcase_add_test(tc, test_retr_stream_large);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pop3_cmd_free(&cmd);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
