/*
 * Unit tests for common/login: the plaintext policy's address rule, the
 * deadline under load, attribute lists cut from a buffer (whole, byte
 * by byte, malformed), and the client state machine with a test
 * protocol table over a socketpair: greeting, pipelined commands, the
 * command and error limits, an over-long line, the plaintext policy
 * and the absolute deadline.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr.h"
#include "ev.h"
#include "login.h"
#include "login_int.h"
#include "str.h"
#include "test_util.h"

START_TEST(test_addr_secure)
{
	ck_assert(login_addr_secure("127.0.0.1", "192.0.2.1"));
	ck_assert(login_addr_secure("127.1.2.3", "127.0.0.1"));
	ck_assert(login_addr_secure("::1", "::1"));
	ck_assert(login_addr_secure("::ffff:127.0.0.1", "::ffff:10.0.0.1"));
	/* A webmail on the same host: local and remote equal. */
	ck_assert(login_addr_secure("192.0.2.7", "192.0.2.7"));
	ck_assert(!login_addr_secure("192.0.2.7", "192.0.2.8"));
	ck_assert(!login_addr_secure("2001:db8::1", "2001:db8::2"));
	ck_assert(!login_addr_secure("128.0.0.1", "192.0.2.1"));
	ck_assert(!login_addr_secure("unknown", "unknown"));
	ck_assert(!login_addr_secure("", "x"));
}
END_TEST

START_TEST(test_deadline)
{
	struct login_settings set;

	memset(&set, 0, sizeof(set));
	set.client_limit = 1000;
	set.deadline_ms = 60000;
	ck_assert_int_eq(login_deadline_ms(&set, 1), 60000);
	ck_assert_int_eq(login_deadline_ms(&set, 749), 60000);
	ck_assert_int_eq(login_deadline_ms(&set, 750), 15000);
	ck_assert_int_eq(login_deadline_ms(&set, 1000), 15000);
	set.deadline_ms = 0;
	ck_assert_int_eq(login_deadline_ms(&set, 1), 1000);
}
END_TEST

START_TEST(test_attr_take)
{
	const char *wire = "status=ok\nuser=a%0Ab\n\nstatus=continue\n\n";
	struct attr_list list = ATTR_LIST_INIT;
	struct str in = STR_INIT;
	const char *error = NULL;
	size_t i;
	int got = 0;

	/* Byte by byte: nothing until a list is whole. */
	for (i = 0; wire[i] != '\0'; i++) {
		str_append_c(&in, wire[i]);
		int r = login_attr_take(&in, &list, NULL, &error);

		ck_assert_int_ge(r, 0);
		if (r == 1) {
			got++;
			if (got == 1) {
				ck_assert_str_eq(attr_get(&list, "user"),
						 "a\nb");
				ck_assert_int_eq(in.len, 0);
			} else
				ck_assert_str_eq(attr_get(&list, "status"),
						 "continue");
		}
	}
	ck_assert_int_eq(got, 2);
	str_set(&in, "no equals sign\n\n");
	ck_assert_int_eq(login_attr_take(&in, &list, NULL, &error), -1);
	/* An empty list is a list. */
	str_set(&in, "\n");
	ck_assert_int_eq(login_attr_take(&in, &list, NULL, &error), 1);
	ck_assert_int_eq(list.count, 0);
	attr_list_clear(&list);
	str_release(&in);
}
END_TEST

/* ---- the state machine with a test protocol ---- */

static int cmds_seen;

static void t_greet(struct login_client *c)
{
	login_client_reply(c, "HELLO");
}

static void t_command(struct login_client *c, struct str *line)
{
	str_rtrim(line);
	cmds_seen++;
	if (strcmp(str_c(line), "BAD") == 0) {
		login_client_reply(c, "NO");
		login_client_error(c);
	} else if (strcmp(str_c(line), "LOGIN") == 0) {
		if (login_client_check_plaintext(c))
			login_client_reply(c, "WOULD-AUTH");
	} else if (strcmp(str_c(line), "QUIT") == 0) {
		login_client_quit(c, "BYE");
	} else
		login_client_reply(c, "OK");
}

static void t_challenge(struct login_client *c, const char *chal)
{
	login_client_reply(c, chal);
}

static const struct login_proto t_proto = {
	.name = "test",
	.line_max = 64,
	.greet = t_greet,
	.command = t_command,
	.challenge = t_challenge,
	.reply_auth_failed = "AUTH-FAILED",
	.reply_auth_tempfail = "AUTH-TEMP",
	.reply_auth_aborted = "AUTH-ABORTED",
	.reply_plaintext = "PLAINTEXT-REFUSED",
	.reply_too_many = "TOO-MANY",
	.reply_timeout = "TIMEOUT",
	.reply_unavailable = "UNAVAILABLE",
	.reply_line_too_long = "TOO-LONG",
	.reply_in_use = "IN-USE",
};

static int t_peer;

static void t_setup(long deadline_ms, bool plaintext_disabled)
{
	int sv[2];

	memset(&login_server, 0, sizeof(login_server));
	login_server.proto = &t_proto;
	login_server.set.client_limit = 10;
	login_server.set.deadline_ms = deadline_ms;
	login_server.set.command_limit = 8;
	login_server.set.error_limit = 3;
	login_server.set.plaintext_disabled = plaintext_disabled;
	login_server.set.loopback_secure = true;
	login_server.loop = ev_create();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	t_peer = sv[0];
	cmds_seen = 0;
	login_client_accept(sv[1]);
	ck_assert_int_eq(login_server.nclients, 1);
}

static void t_teardown(void)
{
	while (login_server.clients != NULL)
		login_client_free(login_server.clients);
	ev_free(&login_server.loop);
	close(t_peer);
}

/* Run the loop until the peer has seen want (or EOF, or 3 s). */
static void t_expect(struct str *got, const char *want)
{
	long long end = ev_now_ms() + 3000;
	char buf[4096];
	ssize_t n;

	while (strstr(str_c(got), want) == NULL && ev_now_ms() < end) {
		ev_run_once(login_server.loop, 20);
		n = recv(t_peer, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			str_append_n(got, buf, (size_t)n);
		else if (n == 0)
			break;
	}
	ck_assert_msg(strstr(str_c(got), want) != NULL, "want %s, got %s",
		      want, str_c(got));
}

static bool t_peer_eof(void)
{
	long long end = ev_now_ms() + 3000;
	char buf[256];
	ssize_t n;

	while (ev_now_ms() < end) {
		ev_run_once(login_server.loop, 20);
		n = recv(t_peer, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return true;
		if (n < 0 && errno != EAGAIN)
			return true;
	}
	return false;
}

static void t_send(const char *s)
{
	ck_assert_int_eq(send(t_peer, s, strlen(s), 0), (ssize_t)strlen(s));
}

START_TEST(test_client_pipelined_and_quit)
{
	struct str got = STR_INIT;

	t_setup(60000, false);
	t_expect(&got, "HELLO\r\n");
	t_send("A\r\nB\nC\r\nQUIT\r\nNOT-RUN\r\n");
	t_expect(&got, "BYE\r\n");
	ck_assert_str_eq(str_c(&got), "HELLO\r\nOK\r\nOK\r\nOK\r\nBYE\r\n");
	ck_assert(t_peer_eof());
	ck_assert_int_eq(cmds_seen, 4);
	ck_assert_int_eq(login_server.nclients, 0);
	t_teardown();
	str_release(&got);
}
END_TEST

START_TEST(test_client_command_limit)
{
	struct str got = STR_INIT;

	t_setup(60000, false);
	/* Good commands count too (CAPA floods). */
	for (int i = 0; i < 12; i++)
		t_send("NOOP\r\n");
	t_expect(&got, "TOO-MANY\r\n");
	ck_assert(t_peer_eof());
	ck_assert_int_eq(cmds_seen, 8);
	t_teardown();
	str_release(&got);
}
END_TEST

START_TEST(test_client_error_limit_and_long_line)
{
	struct str got = STR_INIT;
	char longline[200];

	t_setup(60000, false);
	memset(longline, 'x', sizeof(longline) - 3);
	memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
	t_send(longline);
	t_expect(&got, "TOO-LONG\r\n");
	t_send("BAD\r\n");
	t_expect(&got, "NO\r\n");
	t_send("BAD\r\n");
	t_expect(&got, "TOO-MANY\r\n");
	ck_assert(t_peer_eof());
	t_teardown();
	str_release(&got);
}
END_TEST

START_TEST(test_client_plaintext_policy)
{
	struct str got = STR_INIT;

	/* A socketpair has no IP address: not loopback, so refused. */
	t_setup(60000, true);
	t_send("LOGIN\r\n");
	t_expect(&got, "PLAINTEXT-REFUSED\r\n");
	t_teardown();
	str_clear(&got);
	t_setup(60000, false);
	t_send("LOGIN\r\n");
	t_expect(&got, "WOULD-AUTH\r\n");
	t_teardown();
	str_release(&got);
}
END_TEST

START_TEST(test_client_deadline)
{
	struct str got = STR_INIT;
	long long t0;

	t_setup(1000, false);
	t0 = ev_now_ms();
	t_expect(&got, "TIMEOUT\r\n");
	ck_assert_int_ge(ev_now_ms() - t0, 900);
	ck_assert(t_peer_eof());
	ck_assert_int_eq(login_server.nclients, 0);
	t_teardown();
	str_release(&got);
}
END_TEST

static Suite *login_suite(void)
{
	Suite *s = suite_create("login");
	TCase *tc = tcase_create("login");

	tcase_add_test(tc, test_addr_secure);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_attr_take);
	tcase_add_test(tc, test_client_pipelined_and_quit);
	tcase_add_test(tc, test_client_command_limit);
	tcase_add_test(tc, test_client_error_limit_and_long_line);
	tcase_add_test(tc, test_client_plaintext_policy);
	tcase_add_test(tc, test_client_deadline);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(login_suite());
}
