/*
 * Unit tests for common/tls.c and tls_cert.c: self-signed certificates,
 * a real handshake between a server and a client context over a
 * socketpair, data through lio in both directions, verification by name,
 * the CVE-2011-0411 rule (bytes sent before the handshake are dropped),
 * session resumption (TLS 1.2 and 1.3) between contexts of one service
 * but not between two services sharing a key file, the ticket keys'
 * derivation and rotation (tls_ticket.c, with the clock as a
 * parameter), and errors for bad files.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "lio.h"
#include "mem.h"
#include "str.h"
#include "test_util.h"
#include "tls.h"
#include "tls_ticket.h"

static char tmpdir[] = "/tmp/test_tls.XXXXXX";
static char cert[256], key[256], ticket[256], cert2[256], key2[256];
/* The service the echo server's context belongs to. */
static const char *server_service = "";

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
		.ca_file = "", .ticket_service = server_service,
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

/* One handshake with a fresh server context of service (as a new
 * process of it would make), offering *session; true if the server
 * resumed it. *session becomes the new session. */
static bool resume_once(const char *service, int version,
			SSL_SESSION **session)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	char buf[64];
	size_t n = 0;
	bool reused;
	pid_t pid;
	SSL *ssl;
	int fd;

	server_service = service;
	pid = start_server(&fd, NULL);
	ck_assert_ptr_nonnull(c);
	SSL_CTX_set_min_proto_version(c, version);
	SSL_CTX_set_max_proto_version(c, version);
	ssl = SSL_new(c);
	SSL_set_fd(ssl, fd);
	if (*session != NULL)
		ck_assert_int_eq(SSL_set_session(ssl, *session), 1);
	ck_assert_int_eq(SSL_connect(ssl), 1);
	ck_assert_int_eq(SSL_write(ssl, "x\r\n", 3), 3);
	/* Reading the answer also takes in TLS 1.3's tickets. */
	ck_assert_int_eq(SSL_read_ex(ssl, buf, sizeof(buf), &n), 1);
	ck_assert_int_eq(SSL_version(ssl), version);
	reused = SSL_session_reused(ssl) == 1;
	SSL_SESSION_free(*session);
	*session = SSL_get1_session(ssl);
	ck_assert_ptr_nonnull(*session);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(c);
	close(fd);
	ck_assert_int_eq(tu_wait(pid), 0);
	return reused;
}

static void check_resumption(int version)
{
	SSL_SESSION *session = NULL;

	ck_assert(!resume_once("127.0.0.1:465", version, &session));
	/* Another process of the same service resumes it... */
	ck_assert(resume_once("127.0.0.1:465", version, &session));
	/* ...another service with the same key file does not. */
	ck_assert(!resume_once("127.0.0.1:995", version, &session));
	ck_assert(resume_once("127.0.0.1:995", version, &session));
	SSL_SESSION_free(session);
	server_service = "";
}

START_TEST(test_resume_per_service_tls12)
{
	check_resumption(TLS1_2_VERSION);
}
END_TEST

START_TEST(test_resume_per_service_tls13)
{
	check_resumption(TLS1_3_VERSION);
}
END_TEST

static const unsigned char secret[80] = "not a random secret, but a test";

static bool keys_equal(const struct tls_ticket_key *a,
		       const struct tls_ticket_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

START_TEST(test_ticket_keys_per_service)
{
	struct tls_ticket_keys a, a2, b;
	long long now = 1767225600;	/* 2026-01-01 */
	bool renew;

	tls_ticket_keys_init(&a, secret, sizeof(secret), "smtps", 3600, now);
	tls_ticket_keys_init(&a2, secret, sizeof(secret), "smtps", 3600,
			     now + 10);
	tls_ticket_keys_init(&b, secret, sizeof(secret), "pop3s", 3600, now);
	/* Two processes of one service agree; another service differs in
	 * every part of the key. */
	ck_assert(keys_equal(&a.cur, &a2.cur));
	ck_assert(keys_equal(&a.prev, &a2.prev));
	ck_assert(memcmp(a.cur.name, b.cur.name, TLS_TICKET_NAME_LEN) != 0);
	ck_assert(memcmp(a.cur.hmac, b.cur.hmac, TLS_TICKET_SECRET_LEN) != 0);
	ck_assert(memcmp(a.cur.aes, b.cur.aes, TLS_TICKET_SECRET_LEN) != 0);
	ck_assert(memcmp(a.cur.hmac, a.cur.aes, TLS_TICKET_SECRET_LEN) != 0);
	ck_assert_ptr_null(tls_ticket_keys_find(&b, a.cur.name, &renew));
	ck_assert_ptr_null(tls_ticket_keys_find(&b, a.prev.name, &renew));
	ck_assert_ptr_eq(tls_ticket_keys_find(&a, a2.cur.name, &renew),
			 &a.cur);
	ck_assert(!renew);
	/* Nothing of the file's secret stays in the state. */
	ck_assert_ptr_null(memmem(&a, sizeof(a), secret, 16));
	tls_ticket_keys_wipe(&a);
	tls_ticket_keys_wipe(&a2);
	tls_ticket_keys_wipe(&b);
}
END_TEST

/* A short interval: a key encrypts for one interval, decrypts (asking
 * for a new ticket) during the next, and is gone after that. */
START_TEST(test_ticket_keys_rotate)
{
	struct tls_ticket_keys k, fresh;
	struct tls_ticket_key first;
	long long t = 1767225600;
	bool renew;

	tls_ticket_keys_init(&k, secret, sizeof(secret), "smtps", 2, t);
	first = k.cur;
	tls_ticket_keys_update(&k, t + 1);
	ck_assert(keys_equal(&k.cur, &first));
	tls_ticket_keys_update(&k, t + 2);
	ck_assert(!keys_equal(&k.cur, &first));
	ck_assert(keys_equal(&k.prev, &first));
	ck_assert_ptr_eq(tls_ticket_keys_find(&k, first.name, &renew),
			 &k.prev);
	ck_assert(renew);
	ck_assert_ptr_eq(tls_ticket_keys_find(&k, k.cur.name, &renew),
			 &k.cur);
	ck_assert(!renew);
	/* The clock never goes back. */
	tls_ticket_keys_update(&k, t);
	ck_assert(keys_equal(&k.prev, &first));
	tls_ticket_keys_update(&k, t + 4);
	ck_assert_ptr_null(tls_ticket_keys_find(&k, first.name, &renew));
	/* A process started now agrees with one that has rotated. */
	tls_ticket_keys_init(&fresh, secret, sizeof(secret), "smtps", 2,
			     t + 5);
	ck_assert(keys_equal(&k.cur, &fresh.cur));
	ck_assert(keys_equal(&k.prev, &fresh.prev));
	tls_ticket_keys_wipe(&k);
	tls_ticket_keys_wipe(&fresh);
}
END_TEST

/* Step by step across many epochs (every carry of the epoch's low bits)
 * and by long jumps: always the keys a fresh start computes, and no two
 * epochs share a name. */
START_TEST(test_ticket_keys_walk)
{
	struct tls_ticket_keys k, fresh;
	unsigned char names[300][TLS_TICKET_NAME_LEN];
	long long t = 1767225600;
	int i, j;

	tls_ticket_keys_init(&k, secret, sizeof(secret), "x", 1, t);
	for (i = 0; i < 300; i++) {
		tls_ticket_keys_update(&k, t + i);
		memcpy(names[i], k.cur.name, TLS_TICKET_NAME_LEN);
		for (j = 0; j < i; j++)
			ck_assert(memcmp(names[i], names[j],
					 TLS_TICKET_NAME_LEN) != 0);
		if (i % 37 != 0)
			continue;
		tls_ticket_keys_init(&fresh, secret, sizeof(secret), "x", 1,
				     t + i);
		ck_assert(keys_equal(&k.cur, &fresh.cur));
		ck_assert(keys_equal(&k.prev, &fresh.prev));
	}
	for (i = 1; i < 20; i++) {
		long long later = t + 300 + (1LL << i) * 7;

		tls_ticket_keys_update(&k, later);
		tls_ticket_keys_init(&fresh, secret, sizeof(secret), "x", 1,
				     later);
		ck_assert(keys_equal(&k.cur, &fresh.cur));
		ck_assert(keys_equal(&k.prev, &fresh.prev));
		tls_ticket_keys_wipe(&fresh);
	}
	tls_ticket_keys_wipe(&k);
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
	tcase_add_test(tc, test_resume_per_service_tls12);
	tcase_add_test(tc, test_resume_per_service_tls13);
	tcase_add_test(tc, test_ticket_keys_per_service);
	tcase_add_test(tc, test_ticket_keys_rotate);
	tcase_add_test(tc, test_ticket_keys_walk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	return tu_run_suite(tls_suite());
}
