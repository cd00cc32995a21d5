/*
 * test_smtp: the smtp client's pure parts: server reply parsing
 * (multi-line, enhanced status codes, bad lines, a reply read one byte
 * at a time through lio, overlong lines, timeouts) and the DATA encoder
 * (LF -> CRLF, dot-stuffing, any chunking), and the content leaving
 * with its end marker in one write.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lio.h"
#include "queue.h"
#include "str.h"
#include "../../delivery/smtp.h"
#include "test_util.h"

/* ---- replies ---------------------------------------------------------- */

static int feed(struct smtp_reply *r, const char *line)
{
	return smtp_reply_line(r, line, strlen(line));
}

START_TEST(test_reply_single)
{
	struct smtp_reply r = { 0 };

	ck_assert_int_eq(feed(&r, "250 2.1.5 Ok\r\n"), 1);
	ck_assert_int_eq(r.code, 250);
	ck_assert_str_eq(r.dsn, "2.1.5");
	ck_assert_str_eq(str_c(&r.text), "250 2.1.5 Ok");
	ck_assert_int_eq(smtp_reply_status(&r), SMTP_OK);

	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "550 5.1.1 <x@y>: User unknown\n"), 1);
	ck_assert_str_eq(r.dsn, "5.1.1");
	ck_assert_int_eq(smtp_reply_status(&r), SMTP_BOUNCE);

	/* No enhanced code: derived from the class. */
	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "451 try later"), 1);
	ck_assert_str_eq(r.dsn, "4.0.0");
	ck_assert_int_eq(smtp_reply_status(&r), SMTP_DEFER);
	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "250"), 1);
	ck_assert_str_eq(r.dsn, "2.0.0");
	ck_assert_str_eq(str_c(&r.text), "250");

	/* An enhanced code of another class is not the server's. */
	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "550 2.1.0 odd"), 1);
	ck_assert_str_eq(r.dsn, "5.0.0");
	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "554 5.7.1x no"), 1);
	ck_assert_str_eq(r.dsn, "5.0.0");
	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "554 5.1234.1 no"), 1);
	ck_assert_str_eq(r.dsn, "5.0.0");
	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "452 4.2.2"), 1);
	ck_assert_str_eq(r.dsn, "4.2.2");
	smtp_reply_release(&r);
}
END_TEST

START_TEST(test_reply_multiline)
{
	struct smtp_reply r = { 0 };

	ck_assert_int_eq(feed(&r, "250-mx.test hello\r\n"), 0);
	ck_assert_int_eq(feed(&r, "250-PIPELINING\r\n"), 0);
	ck_assert_int_eq(feed(&r, "250-SIZE 1000\r\n"), 0);
	ck_assert_int_eq(feed(&r, "250 8BITMIME\r\n"), 1);
	ck_assert_int_eq(r.code, 250);
	ck_assert_str_eq(str_c(&r.text),
			 "250-mx.test hello PIPELINING SIZE 1000 8BITMIME");
	ck_assert_str_eq(str_c(&r.lines),
			 "mx.test hello\nPIPELINING\nSIZE 1000\n8BITMIME\n");
	smtp_reply_release(&r);
}
END_TEST

START_TEST(test_reply_bad_lines)
{
	static const char *const bad[] = {
		"", "25", "2x0 ok", "250xok", "199 too small", "600 too big",
		"abc", " 250 ok", NULL
	};
	struct smtp_reply r = { 0 };

	for (size_t i = 0; bad[i] != NULL; i++) {
		smtp_reply_reset(&r);
		ck_assert_msg(feed(&r, bad[i]) == -1, "accepted \"%s\"",
			      bad[i]);
	}
	/* A continuation with another code. */
	smtp_reply_reset(&r);
	ck_assert_int_eq(feed(&r, "250-a"), 0);
	ck_assert_int_eq(feed(&r, "251 b"), -1);
	smtp_reply_release(&r);
}
END_TEST

/* A child writes text to fd one byte at a time. */
static pid_t writer(int fd, const char *text, int delay_us)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (size_t i = 0; text[i] != '\0'; i++) {
			if (write(fd, text + i, 1) != 1)
				_exit(1);
			usleep((useconds_t)delay_us);
		}
		_exit(0);
	}
	return pid;
}

START_TEST(test_reply_read_bytewise)
{
	int sv[2];
	struct smtp_reply r = { 0 };
	struct lio *lio;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = writer(sv[1], "220-first\r\n220 2.0.0 second\r\n"
		     "250 ok\r\n", 200);
	close(sv[1]);
	lio = lio_create(sv[0], 5);
	ck_assert_int_eq(smtp_reply_read(lio, 5, &r), LIO_OK);
	ck_assert_int_eq(r.code, 220);
	/* Only the first line can carry the enhanced code. */
	ck_assert_str_eq(r.dsn, "2.0.0");
	ck_assert_str_eq(str_c(&r.text), "220-first 2.0.0 second");
	ck_assert_int_eq(smtp_reply_read(lio, 5, &r), LIO_OK);
	ck_assert_int_eq(r.code, 250);
	ck_assert_int_eq(smtp_reply_read(lio, 5, &r), LIO_EOF);
	ck_assert_int_eq(r.code, 0);
	waitpid(pid, NULL, 0);
	lio_free(&lio);
	smtp_reply_release(&r);
}
END_TEST

START_TEST(test_reply_read_errors)
{
	int sv[2];
	struct smtp_reply r = { 0 };
	struct str big = STR_INIT;
	struct lio *lio;

	/* An overlong line is cut, the reply still parsed; then a line
	 * that is not SMTP; then a timeout. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	str_append(&big, "250 ");
	for (int i = 0; i < 5000; i++)
		str_append_c(&big, 'x');
	str_append(&big, "\r\nHELLO\r\n");
	ck_assert_int_eq(write(sv[1], big.data, big.len), (ssize_t)big.len);
	lio = lio_create(sv[0], 1);
	ck_assert_int_eq(smtp_reply_read(lio, 1, &r), LIO_OK);
	ck_assert_int_eq(r.code, 250);
	ck_assert_uint_le(r.text.len, 2048);
	ck_assert_int_eq(smtp_reply_read(lio, 1, &r), LIO_ERROR);
	ck_assert_int_eq(r.code, 0);
	ck_assert_int_eq(smtp_reply_read(lio, 1, &r), LIO_TIMEOUT);
	close(sv[1]);
	lio_free(&lio);
	str_release(&big);
	smtp_reply_release(&r);
}
END_TEST

/* ---- DATA encoding ---------------------------------------------------- */

static const struct {
	const char *in, *out;
} stuff_cases[] = {
	{ "", ".\r\n" },
	{ "a\n", "a\r\n.\r\n" },
	{ "a", "a\r\n.\r\n" },
	{ ".\n", "..\r\n.\r\n" },
	{ ".", "..\r\n.\r\n" },
	{ "a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n" },
	{ "..x\n", "...x\r\n.\r\n" },
	{ "a.b\n.", "a.b\r\n..\r\n.\r\n" },
	{ "crlf\r\nkept\r\n", "crlf\r\nkept\r\n.\r\n" },
	{ "bare\rcr\n", "bare\rcr\r\n.\r\n" },
	{ "\n\n", "\r\n\r\n.\r\n" },
	{ "end\r", "end\r\n.\r\n" },
	{ NULL, NULL },
};

static void encode(const char *in, size_t chunk, struct str *out)
{
	struct smtp_stuff st;
	size_t len = strlen(in);

	str_clear(out);
	smtp_stuff_init(&st);
	for (size_t i = 0; i < len; i += chunk)
		smtp_stuff(&st, in + i, len - i < chunk ? len - i : chunk,
			   out);
	smtp_stuff_end(&st, out);
}

START_TEST(test_stuff_cases)
{
	struct str out = STR_INIT;

	for (size_t i = 0; stuff_cases[i].in != NULL; i++) {
		for (size_t chunk = 1; chunk <= 8; chunk++) {
			encode(stuff_cases[i].in, chunk, &out);
			ck_assert_msg(str_equals(&out, stuff_cases[i].out),
				      "case %zu chunk %zu: got \"%s\"", i,
				      chunk, str_c(&out));
		}
	}
	str_release(&out);
}
END_TEST

/* Random content: no chunking changes the output, and the output never
 * contains CRLF.CRLF before its end nor a bare LF. */
START_TEST(test_stuff_random)
{
	static const char alphabet[] = "..\n\nab\r";
	struct str whole = STR_INIT, parts = STR_INIT;
	char in[200];
	unsigned seed = 7;

	for (int run = 0; run < 500; run++) {
		size_t len = (size_t)(rand_r(&seed) % (sizeof(in) - 1));

		for (size_t i = 0; i < len; i++)
			in[i] = alphabet[rand_r(&seed) % 7];
		in[len] = '\0';
		encode(in, 1000, &whole);
		encode(in, (size_t)(rand_r(&seed) % 5 + 1), &parts);
		ck_assert(str_equals(&parts, str_c(&whole)));
		for (size_t i = 0; i < whole.len; i++)
			if (whole.data[i] == '\n')
				ck_assert(i > 0 && whole.data[i - 1] == '\r');
		if (whole.len >= 5)
			ck_assert_ptr_eq(strstr(whole.data, "\r\n.\r\n"),
					 whole.data + whole.len - 5);
	}
	str_release(&whole);
	str_release(&parts);
}
END_TEST

/* The content and the end marker leave in one write: a separate small
 * "." write waits for the peer's delayed ACK under Nagle (40 ms a
 * message on loopback). A SOCK_SEQPACKET pair keeps each write a record
 * of its own, so the first record must end the message. */
static void data_one_write(size_t len)
{
	char dir[] = "/tmp/test_smtp.XXXXXX", path[64];
	struct smtp_session s = { 0 };
	struct queue_writer *w;
	struct queue_msg *msg = NULL;
	char *content = malloc(len), *rec = malloc(2 * len + 16);
	const char *error = "";
	bool read_error;
	ssize_t n, last = 0;
	size_t total = 0, lines = 0;
	int sv[2];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (size_t i = 0; i < len; i++) {
		content[i] = i % 70 == 69 || i == len - 1 ? '\n' : 'a';
		lines += content[i] == '\n';
	}
	w = queue_writer_create_in(dir, 0600);
	ck_assert_ptr_nonnull(w);
	queue_writer_sender(w, "a@example.com");
	queue_writer_rcpt(w, "b@example.com", "b@example.com", 0);
	ck_assert(queue_writer_content(w, content, len));
	ck_assert(str_snprintf(path, sizeof(path), "%s/%s", dir,
			       queue_writer_id(w)));
	ck_assert(queue_writer_commit(w));
	queue_writer_free(&w);
	ck_assert_int_eq(queue_msg_open(path, false, &msg, &error), 1);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	s.lio = lio_create(sv[0], 5);
	smtp_set.data_xfer_timeout = 5;
	ck_assert_int_eq(smtp_data_send(&s, msg, &read_error), LIO_OK);
	ck_assert(!read_error);
	/* A big message may take several records; the last one carries
	 * content as well as the marker. */
	while ((n = recv(sv[1], rec, 2 * len + 16, MSG_DONTWAIT)) > 0) {
		total += (size_t)n;
		last = n;
		if (memcmp(rec + n - 5, "\r\n.\r\n", 5) == 0)
			break;
	}
	ck_assert_int_gt(last, 5 + 70);
	ck_assert_int_eq(memcmp(rec + last - 5, "\r\n.\r\n", 5), 0);
	ck_assert_uint_eq(total, len + lines + 3);
	ck_assert_int_lt(recv(sv[1], rec, 16, MSG_DONTWAIT), 0);
	lio_free(&s.lio);
	close(sv[1]);
	queue_msg_free(&msg);
	unlink(path);
	rmdir(dir);
	free(content);
	free(rec);
}

/* AUTH PLAIN's initial response: base64 of NUL user NUL password. */
START_TEST(test_sasl_plain)
{
	struct str out = STR_INIT;

	smtp_sasl_plain(&out, "alice@b.test", "pw:with colon");
	/* printf '\0alice@b.test\0pw:with colon' | base64 */
	ck_assert_str_eq(str_c(&out),
			 "AGFsaWNlQGIudGVzdABwdzp3aXRoIGNvbG9u");
	smtp_sasl_plain(&out, "u", "p");
	ck_assert_str_eq(str_c(&out), "AHUAcA==");
	str_release(&out);
}
END_TEST

START_TEST(test_sasl_choose)
{
	char *plain_only[] = { "plain", NULL };
	char *login_first[] = { "LOGIN", "PLAIN", NULL };
	char *cram[] = { "CRAM-MD5", NULL };
	char *empty[] = { NULL };

	ck_assert_str_eq(smtp_sasl_choose(" PLAIN LOGIN", NULL), "PLAIN");
	ck_assert_str_eq(smtp_sasl_choose("LOGIN PLAIN", empty), "PLAIN");
	ck_assert_str_eq(smtp_sasl_choose(" login", NULL), "LOGIN");
	ck_assert_str_eq(smtp_sasl_choose(" CRAM-MD5 LOGIN PLAIN",
					  login_first), "LOGIN");
	ck_assert_str_eq(smtp_sasl_choose(" Plain", plain_only), "PLAIN");
	ck_assert_ptr_null(smtp_sasl_choose(" LOGIN", plain_only));
	ck_assert_ptr_null(smtp_sasl_choose(" CRAM-MD5 PLAIN", cram));
	ck_assert_ptr_null(smtp_sasl_choose(" CRAM-MD5 XPLAIN PLAINX", NULL));
	ck_assert_ptr_null(smtp_sasl_choose("", NULL));
	ck_assert_ptr_null(smtp_sasl_choose(NULL, NULL));
}
END_TEST

START_TEST(test_data_one_write)
{
	data_one_write(1024);
	data_one_write(100 * 1024);
}
END_TEST

static Suite *smtp_suite(void)
{
	Suite *s = suite_create("smtp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reply_single);
	tcase_add_test(tc, test_reply_multiline);
	tcase_add_test(tc, test_reply_bad_lines);
	tcase_add_test(tc, test_reply_read_bytewise);
	tcase_add_test(tc, test_reply_read_errors);
	tcase_add_test(tc, test_stuff_cases);
	tcase_add_test(tc, test_stuff_random);
	tcase_add_test(tc, test_data_one_write);
	tcase_add_test(tc, test_sasl_plain);
	tcase_add_test(tc, test_sasl_choose);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return tu_run_suite(smtp_suite());
}
