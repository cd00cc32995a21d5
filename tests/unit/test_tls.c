/*
 * Unit tests for common/tls.c and tls_cert.c: self-signed certificates,
 * a real handshake between a server and a client context over a
 * socketpair, data through lio in both directions, verification by name,
 * the CVE-2011-0411 rule (bytes sent before the handshake are dropped),
 * session ticket resumption across contexts sharing a key file, and
 * errors for bad files.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lio.h"
#include "mem.h"
#include "str.h"
#include "test_util.h"
#include "tls.h"

static char tmpdir[] = "/tmp/test_tls.XXXXXX";
static char cert[256], key[256], ticket[256], cert2[256], key2[256];

static void setup_files(void)
{
	char *error = NULL;

	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(cert2, sizeof(cert2), "%s/cert2.pem", tmpdir);
	snprintf(key2, sizeof(key2), "%s/key2.pem", tmpdir);
	snprintf(ticket, sizeof(ticket), "%s/ticket.key", tmpdir);
	ck_assert_msg(tls_make_selfsigned(cert, key, "mail.example.test",
					  &error), "%s", error);
	ck_assert_msg(tls_make_selfsigned(cert2, key2, "other.example.test",
					  &error), "%s", error);
	ck_assert_msg(tls_make_ticket_key(ticket, &error), "%s", error);
}

static struct tls_settings server_set(void)
{
	struct tls_settings set = {
		.cert_file = cert, .key_file = key, .min_protocol = "",
		.ciphers = "", .ticket_key_file = ticket,
		.ca_file = "",
	};
	return set;
}

/* Child: accept TLS on fd, echo one line back prefixed with "echo: ". */
static void serve_echo(int fd, const char *preamble)
{
	struct tls_settings set = server_set();
	char *error = NULL;
	const char *why = NULL;
	struct tls_ctx *ctx = tls_server_ctx(&set, &error);
	struct lio *lio = lio_create(fd, 10);
	struct str line = STR_INIT;
	struct tls_conn *conn;

	if (ctx == NULL)
		_exit(10);
	if (preamble != NULL) {
		/* Read the plain command, but leave the rest buffered: it
		 * must be dropped by tls_server_start. */
		if (lio_read_line(lio, &line, 100) != LIO_OK)
			_exit(11);
		lio_puts(lio, "220 go ahead\r\n");
	}
	conn = tls_server_start(ctx, lio, 10, &why);
	if (conn == NULL)
		_exit(12);
	if (lio_read_line(lio, &line, 1000) != LIO_OK)
		_exit(13);
	lio_printf(lio, "echo: %s", str_c(&line));
	lio_flush(lio);
	tls_conn_free(&conn, lio);
	lio_free(&lio);
	tls_ctx_free(&ctx);
	_exit(0);
}

static pid_t start_server(int *client_fd, const char *preamble)
{
	int sv[2];
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sv[0]);
		serve_echo(sv[1], preamble);
	}
	close(sv[1]);
	*client_fd = sv[0];
	return pid;
}

static struct tls_ctx *client_ctx(const char *ca)
{
	struct tls_settings set = {
		.cert_file = "", .key_file = "", .min_protocol = "",
		.ciphers = "", .ticket_key_file = "",
		.ca_file = ca,
	};
	char *error = NULL;
	struct tls_ctx *ctx = tls_client_ctx(&set, &error);

	ck_assert_msg(ctx != NULL, "%s", error);
	return ctx;
}

START_TEST(test_handshake_and_echo)
{
	int fd;
	pid_t pid = start_server(&fd, NULL);
	struct tls_ctx *ctx = client_ctx(cert);
	struct lio *lio = lio_create(fd, 10);
	const char *why = NULL;
	struct tls_conn *conn = tls_client_start(ctx, lio, "mail.example.test",
						 true, 10, &why);
	struct str line = STR_INIT;

	ck_assert_msg(conn != NULL, "%s", why);
	ck_assert(tls_conn_verified(conn));
	ck_assert_ptr_nonnull(strstr(tls_conn_info(conn), "TLSv1."));
	lio_puts(lio, "hello over tls\r\n");
	ck_assert_int_eq(lio_read_line(lio, &line, 1000), LIO_OK);
	ck_assert_str_eq(str_c(&line), "echo: hello over tls\r\n");
	tls_conn_free(&conn, lio);
	lio_free(&lio);
	tls_ctx_free(&ctx);
	str_release(&line);
	ck_assert_int_eq(tu_wait(pid), 0);
}
END_TEST

START_TEST(test_verify_wrong_name_fails)
{
	int fd;
	pid_t pid = start_server(&fd, NULL);
	struct tls_ctx *ctx = client_ctx(cert);
	struct lio *lio = lio_create(fd, 10);
	const char *why = NULL;
	struct tls_conn *conn = tls_client_start(ctx, lio, "wrong.test", true,
						 10, &why);

	ck_assert_ptr_null(conn);
	ck_assert_ptr_nonnull(why);
	lio_free(&lio);
	tls_ctx_free(&ctx);
	ck_assert_int_ne(tu_wait(pid), 0);
}
END_TEST

START_TEST(test_untrusted_without_verify_still_encrypts)
{
	int fd;
	pid_t pid = start_server(&fd, NULL);
	struct tls_ctx *ctx = client_ctx(cert2);	/* wrong anchor */
	struct lio *lio = lio_create(fd, 10);
	const char *why = NULL;
	struct tls_conn *conn = tls_client_start(ctx, lio, "mail.example.test",
						 false, 10, &why);
	struct str line = STR_INIT;

	ck_assert_msg(conn != NULL, "%s", why);
	ck_assert(!tls_conn_verified(conn));
	lio_puts(lio, "x\r\n");
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_OK);
	ck_assert_str_eq(str_c(&line), "echo: x\r\n");
	tls_conn_free(&conn, lio);
	lio_free(&lio);
	tls_ctx_free(&ctx);
	str_release(&line);
	ck_assert_int_eq(tu_wait(pid), 0);
}
END_TEST

/* "STARTTLS\r\nRSET\r\n" in one write: the RSET must not survive. The
 * client sends the plain RSET, then does the handshake, then sends
 * "after". The server must echo "after", not "RSET". */
START_TEST(test_plaintext_injection_dropped)
{
	int fd;
	pid_t pid = start_server(&fd, "STARTTLS");
	struct tls_ctx *ctx = client_ctx(cert);
	struct lio *lio = lio_create(fd, 10);
	struct str line = STR_INIT;
	const char *why = NULL;
	struct tls_conn *conn;

	lio_puts(lio, "STARTTLS\r\nRSET\r\n");
	ck_assert_int_eq(lio_flush(lio), LIO_OK);
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_OK);
	ck_assert_str_eq(str_c(&line), "220 go ahead\r\n");
	conn = tls_client_start(ctx, lio, "mail.example.test", true, 10, &why);
	ck_assert_msg(conn != NULL, "%s", why);
	lio_puts(lio, "after\r\n");
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_OK);
	ck_assert_str_eq(str_c(&line), "echo: after\r\n");
	tls_conn_free(&conn, lio);
	lio_free(&lio);
	tls_ctx_free(&ctx);
	str_release(&line);
	ck_assert_int_eq(tu_wait(pid), 0);
}
END_TEST

START_TEST(test_plain_client_fails_handshake)
{
	int fd;
	pid_t pid = start_server(&fd, NULL);

	ck_assert_int_eq(write(fd, "EHLO plain\r\n", 12), 12);
	ck_assert_int_eq(tu_wait(pid), 12);
	close(fd);
}
END_TEST

START_TEST(test_bad_files)
{
	struct tls_settings set = server_set();
	char *error = NULL;
	struct str out = STR_INIT;

	set.cert_file = "/nonexistent/cert.pem";
	ck_assert_ptr_null(tls_server_ctx(&set, &error));
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent/cert.pem"));
	free(error);
	error = NULL;
	set = server_set();
	set.key_file = key2;	/* does not match cert */
	ck_assert_ptr_null(tls_server_ctx(&set, &error));
	ck_assert_ptr_nonnull(strstr(error, "does not match"));
	free(error);
	error = NULL;
	set = server_set();
	set.min_protocol = "SSLv2";
	ck_assert_ptr_null(tls_server_ctx(&set, &error));
	free(error);
	ck_assert(!tls_describe(cert, key2, &out));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "NOT match"));
	str_clear(&out);
	ck_assert(tls_describe(cert, key, &out));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "CN=mail.example.test"));
	ck_assert_ptr_nonnull(strstr(str_c(&out), "matches"));
	str_release(&out);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup_files, NULL);
	tcase_add_test(tc, test_handshake_and_echo);
	tcase_add_test(tc, test_verify_wrong_name_fails);
	tcase_add_test(tc, test_untrusted_without_verify_still_encrypts);
	tcase_add_test(tc, test_plaintext_injection_dropped);
	tcase_add_test(tc, test_plain_client_fails_handshake);
	tcase_add_test(tc, test_bad_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return tu_run_suite(tls_suite());
}
