/*
 * Unit tests for auth/: the delay and lockout arithmetic
 * (auth_throttle.c, time passed in, no sleeping), the SASL state machine
 * (auth_sasl.c: PLAIN and LOGIN, cancel, malformed and over-long
 * input), request checks (auth_request.c), log
 * sanitizing, the password table edit of tools/correo_passwd.c, and
 * common/auth_client.c against a scripted fake auth server.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attr.h"
#include "auth.h"
#include "auth_client.h"
#include "lio.h"
#include "proto.h"
#include "sasl.h"
#include "str.h"

#include "../../tools/correo.h"
#include "test_util.h"

static const struct auth_throttle_cfg tcfg = {
	.delay_ms = 1000,
	.delay_max_ms = 15000,
	.user_threshold = 10,
	.addr_threshold = 20,
	.window_ms = 15 * 60 * 1000,
	.lockout_ms = 15 * 60 * 1000,
};

/* ---- delays and lockouts ---- */

START_TEST(test_delay_arithmetic)
{
	struct auth_throttle_cfg off = tcfg;

	ck_assert_int_eq(auth_throttle_delay(&tcfg, 0), 0);
	ck_assert_int_eq(auth_throttle_delay(&tcfg, -3), 0);
	ck_assert_int_eq(auth_throttle_delay(&tcfg, 1), 1000);
	ck_assert_int_eq(auth_throttle_delay(&tcfg, 2), 2000);
	ck_assert_int_eq(auth_throttle_delay(&tcfg, 3), 4000);
	ck_assert_int_eq(auth_throttle_delay(&tcfg, 4), 8000);
	ck_assert_int_eq(auth_throttle_delay(&tcfg, 5), 15000);
	ck_assert_int_eq(auth_throttle_delay(&tcfg, 1000000), 15000);
	off.delay_ms = 0;
	ck_assert_int_eq(auth_throttle_delay(&off, 7), 0);
}
END_TEST

START_TEST(test_parse_msec)
{
	static const char *const bad[] = {
		"", "ms", "s", "-1", "1.5s", "5m", "10xs", "1 s", "99999999999",
	};
	long ms;

	ck_assert(auth_parse_msec("250ms", &ms));
	ck_assert_int_eq(ms, 250);
	ck_assert(auth_parse_msec("2s", &ms));
	ck_assert_int_eq(ms, 2000);
	ck_assert(auth_parse_msec("15", &ms));
	ck_assert_int_eq(ms, 15000);
	ck_assert(auth_parse_msec("0", &ms));
	ck_assert_int_eq(ms, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!auth_parse_msec(bad[i], &ms), "%s", bad[i]);
}
END_TEST

START_TEST(test_growing_delay_per_address)
{
	struct auth_throttle *t = auth_throttle_create(&tcfg, 100);
	struct auth_fail_result r;
	static const long want[] = { 1000, 2000, 4000, 8000, 15000, 15000 };

	/* Different users from one address: the address's count decides. */
	for (size_t i = 0; i < 6; i++) {
		char user[16];

		(void)str_snprintf(user, sizeof(user), "u%zu", i);
		auth_throttle_fail(t, "10.0.0.1", user, 1000 * (long long)i,
				   &r);
		ck_assert_int_eq(r.delay_ms, want[i]);
		ck_assert_int_eq(r.addr_failures, (long)i + 1);
		ck_assert_int_eq(r.user_failures, 1);
		ck_assert_int_eq(r.locked, AUTH_LOCK_NONE);
	}
	/* Another address starts from the beginning. */
	auth_throttle_fail(t, "10.0.0.2", "u0", 6000, &r);
	ck_assert_int_eq(r.delay_ms, 1000);
	auth_throttle_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_user_lockout)
{
	struct auth_throttle *t = auth_throttle_create(&tcfg, 100);
	struct auth_fail_result r;
	long long now = 5000;

	for (int i = 1; i <= 10; i++) {
		ck_assert_int_eq(auth_throttle_locked(t, "a", "bob", now),
				 AUTH_LOCK_NONE);
		auth_throttle_fail(t, "a", "bob", now, &r);
		ck_assert_int_eq(r.locked, i == 10 ? AUTH_LOCK_USER
					       : AUTH_LOCK_NONE);
		now += 1000;
	}
	ck_assert_int_eq(auth_throttle_locked(t, "a", "bob", now),
			 AUTH_LOCK_USER);
	/* Only that user, only from that address. */
	ck_assert_int_eq(auth_throttle_locked(t, "a", "carol", now),
			 AUTH_LOCK_NONE);
	ck_assert_int_eq(auth_throttle_locked(t, "b", "bob", now),
			 AUTH_LOCK_NONE);
	ck_assert_int_eq(auth_throttle_locked(t, "a", NULL, now),
			 AUTH_LOCK_NONE);
	/* Locked until lockout_ms after the 10th failure, then clean. */
	now += tcfg.lockout_ms - 1001;
	ck_assert_int_eq(auth_throttle_locked(t, "a", "bob", now),
			 AUTH_LOCK_USER);
	now += 1;
	ck_assert_int_eq(auth_throttle_locked(t, "a", "bob", now),
			 AUTH_LOCK_NONE);
	auth_throttle_fail(t, "a", "bob", now, &r);
	ck_assert_int_eq(r.user_failures, 1);
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_address_lockout)
{
	struct auth_throttle *t = auth_throttle_create(&tcfg, 100);
	struct auth_fail_result r;
	char user[16];

	for (int i = 0; i < 20; i++) {
		(void)str_snprintf(user, sizeof(user), "u%d", i);
		auth_throttle_fail(t, "::1", user, 100, &r);
	}
	ck_assert_int_eq(r.locked, AUTH_LOCK_ADDRESS);
	ck_assert_int_eq(r.addr_failures, 20);
	ck_assert_int_eq(auth_throttle_locked(t, "::1", "anyone", 200),
			 AUTH_LOCK_ADDRESS);
	ck_assert_int_eq(auth_throttle_locked(t, "::1", NULL, 200),
			 AUTH_LOCK_ADDRESS);
	ck_assert_int_eq(auth_throttle_locked(t, "::2", "u1", 200),
			 AUTH_LOCK_NONE);
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_window_forgets)
{
	struct auth_throttle *t = auth_throttle_create(&tcfg, 100);
	struct auth_fail_result r;

	auth_throttle_fail(t, "a", "bob", 0, &r);
	auth_throttle_fail(t, "a", "bob", tcfg.window_ms - 1, &r);
	ck_assert_int_eq(r.user_failures, 2);
	ck_assert_int_eq(r.delay_ms, 2000);
	/* A whole quiet window later: forgotten. */
	auth_throttle_fail(t, "a", "bob", 2 * tcfg.window_ms, &r);
	ck_assert_int_eq(r.user_failures, 1);
	ck_assert_int_eq(r.addr_failures, 1);
	ck_assert_int_eq(r.delay_ms, 1000);
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_success_and_expire)
{
	struct auth_throttle *t = auth_throttle_create(&tcfg, 100);
	struct auth_fail_result r;

	auth_throttle_fail(t, "a", "bob", 0, &r);
	auth_throttle_fail(t, "a", "bob", 0, &r);
	ck_assert_uint_eq(auth_throttle_count(t), 2);
	auth_throttle_success(t, "a", "bob");
	ck_assert_uint_eq(auth_throttle_count(t), 1);
	/* The address keeps its count: a good account is no reset. */
	auth_throttle_fail(t, "a", "bob", 0, &r);
	ck_assert_int_eq(r.user_failures, 1);
	ck_assert_int_eq(r.addr_failures, 3);
	auth_throttle_expire(t, tcfg.window_ms - 1);
	ck_assert_uint_eq(auth_throttle_count(t), 2);
	auth_throttle_expire(t, tcfg.window_ms);
	ck_assert_uint_eq(auth_throttle_count(t), 0);
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_full_table)
{
	struct auth_throttle *t = auth_throttle_create(&tcfg, 4);
	struct auth_fail_result r;

	auth_throttle_fail(t, "a", "x", 0, &r);
	auth_throttle_fail(t, "b", "x", 0, &r);
	ck_assert_uint_eq(auth_throttle_count(t), 4);
	/* No room: not recorded, but the longest delay. */
	auth_throttle_fail(t, "c", "x", 10, &r);
	ck_assert_uint_eq(auth_throttle_count(t), 4);
	ck_assert_int_eq(r.delay_ms, tcfg.delay_max_ms);
	ck_assert_int_eq(r.addr_failures, 0);
	/* Once the old entries are stale, they make room. */
	auth_throttle_fail(t, "c", "x", tcfg.window_ms, &r);
	ck_assert_int_eq(r.delay_ms, 1000);
	ck_assert_uint_eq(auth_throttle_count(t), 2);
	auth_throttle_free(&t);
}
END_TEST

START_TEST(test_threshold_zero_never_locks)
{
	struct auth_throttle_cfg c = tcfg;
	struct auth_throttle *t;
	struct auth_fail_result r;

	c.user_threshold = 0;
	c.addr_threshold = 0;
	t = auth_throttle_create(&c, 100);
	for (int i = 0; i < 50; i++) {
		auth_throttle_fail(t, "a", "bob", i, &r);
		ck_assert_int_eq(r.locked, AUTH_LOCK_NONE);
	}
	ck_assert_int_eq(auth_throttle_locked(t, "a", "bob", 60),
			 AUTH_LOCK_NONE);
	auth_throttle_free(&t);
}
END_TEST

/* ---- the SASL exchange ---- */

static char *b64(const char *data, size_t len)
{
	struct str s = STR_INIT;

	sasl_base64_encode(&s, data, len);
	return str_steal(&s);
}

START_TEST(test_mech_find)
{
	char *both[] = { "plain", "LOGIN", NULL };
	char *plain_only[] = { "PLAIN", "CRAM-MD5", NULL };

	ck_assert_int_eq(auth_mech_find("PLAIN", both), AUTH_MECH_PLAIN);
	ck_assert_int_eq(auth_mech_find("login", both), AUTH_MECH_LOGIN);
	ck_assert_int_eq(auth_mech_find("LOGIN", plain_only), AUTH_MECH_NONE);
	ck_assert_int_eq(auth_mech_find("CRAM-MD5", plain_only),
			 AUTH_MECH_NONE);
	ck_assert_int_eq(auth_mech_find("", both), AUTH_MECH_NONE);
	ck_assert_str_eq(auth_mech_name(AUTH_MECH_LOGIN), "LOGIN");
}
END_TEST

START_TEST(test_plain_initial)
{
	struct auth_sasl s = { 0 };
	struct auth_step step = AUTH_STEP_INIT;
	char *resp = b64("\0bob@x\0pw 1", 11);

	auth_sasl_start(&s, AUTH_MECH_PLAIN, resp, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_VERIFY);
	ck_assert_str_eq(str_c(&step.user), "bob@x");
	ck_assert_str_eq(str_c(&step.password), "pw 1");
	ck_assert_int_eq(s.state, AUTH_SASL_IDLE);
	/* The exchange is over. */
	ck_assert(!auth_sasl_continue(&s, resp, &step));
	auth_step_clear(&step);
	ck_assert_uint_eq(step.password.len, 0);
	free(resp);
}
END_TEST

START_TEST(test_plain_challenge_then_response)
{
	struct auth_sasl s = { 0 };
	struct auth_step step = AUTH_STEP_INIT;
	char *resp = b64("bob@x\0bob@x\0pw", 14);

	auth_sasl_start(&s, AUTH_MECH_PLAIN, NULL, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_CHALLENGE);
	ck_assert_str_eq(step.challenge, "");
	ck_assert(auth_sasl_continue(&s, resp, &step));
	ck_assert_int_eq(step.kind, AUTH_STEP_VERIFY);
	ck_assert_str_eq(str_c(&step.user), "bob@x");
	auth_step_clear(&step);
	free(resp);
}
END_TEST

START_TEST(test_plain_refusals)
{
	struct auth_sasl s = { 0 };
	struct auth_step step = AUTH_STEP_INIT;
	char *other = b64("alice\0bob\0pw", 12);
	char *nonul = b64("bobpw", 5);
	char big[SASL_MAX_RESPONSE + 8];

	auth_sasl_start(&s, AUTH_MECH_PLAIN, other, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_FAIL);
	ck_assert_str_eq(step.reason, "authorization identity refused");
	ck_assert_str_eq(str_c(&step.user), "bob");	/* still counted */
	auth_sasl_start(&s, AUTH_MECH_PLAIN, nonul, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_FAIL);
	ck_assert_str_eq(step.reason, "malformed PLAIN response");
	auth_sasl_start(&s, AUTH_MECH_PLAIN, "Zg=", &step);
	ck_assert_str_eq(step.reason, "malformed base64 response");
	auth_sasl_start(&s, AUTH_MECH_PLAIN, "=", &step);	/* empty */
	ck_assert_str_eq(step.reason, "malformed PLAIN response");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[SASL_MAX_RESPONSE + 4] = '\0';	/* a multiple of 4 */
	auth_sasl_start(&s, AUTH_MECH_PLAIN, big, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_FAIL);
	ck_assert_int_eq(s.state, AUTH_SASL_IDLE);
	auth_step_clear(&step);
	free(other);
	free(nonul);
}
END_TEST

START_TEST(test_login_steps)
{
	struct auth_sasl s = { 0 };
	struct auth_step step = AUTH_STEP_INIT;
	char *user = b64("bob@x", 5), *pass = b64("secret", 6);

	auth_sasl_start(&s, AUTH_MECH_LOGIN, NULL, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_CHALLENGE);
	ck_assert_str_eq(step.challenge, "VXNlcm5hbWU6");	/* Username: */
	ck_assert(auth_sasl_continue(&s, user, &step));
	ck_assert_int_eq(step.kind, AUTH_STEP_CHALLENGE);
	ck_assert_str_eq(step.challenge, "UGFzc3dvcmQ6");	/* Password: */
	ck_assert(auth_sasl_continue(&s, pass, &step));
	ck_assert_int_eq(step.kind, AUTH_STEP_VERIFY);
	ck_assert_str_eq(str_c(&step.user), "bob@x");
	ck_assert_str_eq(str_c(&step.password), "secret");
	/* The user name as initial response skips the first challenge. */
	auth_sasl_start(&s, AUTH_MECH_LOGIN, user, &step);
	ck_assert_str_eq(step.challenge, "UGFzc3dvcmQ6");
	/* A bad password line still names the user (for the counters). */
	ck_assert(auth_sasl_continue(&s, "!!", &step));
	ck_assert_int_eq(step.kind, AUTH_STEP_FAIL);
	ck_assert_str_eq(str_c(&step.user), "bob@x");
	auth_step_clear(&step);
	free(user);
	free(pass);
}
END_TEST

START_TEST(test_login_refusals)
{
	struct auth_sasl s = { 0 };
	struct auth_step step = AUTH_STEP_INIT;
	char *nul = b64("bo\0b", 4);

	auth_sasl_start(&s, AUTH_MECH_LOGIN, NULL, &step);
	ck_assert(auth_sasl_continue(&s, "", &step));	/* empty name */
	ck_assert_int_eq(step.kind, AUTH_STEP_FAIL);
	ck_assert_int_eq(s.state, AUTH_SASL_IDLE);
	auth_sasl_start(&s, AUTH_MECH_LOGIN, nul, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_FAIL);
	ck_assert_str_eq(step.reason, "malformed LOGIN response");
	/* "*" cancels, and is not a failure. */
	auth_sasl_start(&s, AUTH_MECH_LOGIN, NULL, &step);
	ck_assert(auth_sasl_continue(&s, "*", &step));
	ck_assert_int_eq(step.kind, AUTH_STEP_CANCEL);
	ck_assert(!auth_sasl_continue(&s, "*", &step));
	auth_sasl_start(&s, AUTH_MECH_NONE, NULL, &step);
	ck_assert_int_eq(step.kind, AUTH_STEP_FAIL);
	auth_step_clear(&step);
	auth_sasl_reset(&s);
	free(nul);
}
END_TEST

/* ---- requests ---- */

static void req_list(struct attr_list *l, const char *const *kv)
{
	attr_list_clear(l);
	for (; kv[0] != NULL; kv += 2)
		attr_add(l, kv[0], kv[1]);
}

START_TEST(test_request_parse)
{
	struct attr_list l = ATTR_LIST_INIT;
	struct auth_request req;
	const char *error = NULL;
	static const char *const good[] = {
		"request", "authenticate", "service", "smtp", "mechanism",
		"PLAIN", "client_address", "2001:db8::1",
		"response", "AGEAYg==", NULL };
	static const char *const cont[] = {
		"request", "continue", "response", "*", NULL };

	req_list(&l, good);
	ck_assert(auth_request_parse(&l, &req, &error));
	ck_assert_int_eq(req.kind, AUTH_REQ_AUTHENTICATE);
	ck_assert_str_eq(req.client_addr, "2001:db8::1");
	ck_assert_str_eq(req.client_name, "unknown");
	ck_assert_str_eq(req.response, "AGEAYg==");
	req_list(&l, cont);
	ck_assert(auth_request_parse(&l, &req, &error));
	ck_assert_int_eq(req.kind, AUTH_REQ_CONTINUE);
	ck_assert_str_eq(req.response, "*");
	attr_list_clear(&l);
}
END_TEST

START_TEST(test_request_refusals)
{
	static const char *const bad[][12] = {
		{ "request", "authenticate", "service", "smtp", "mechanism",
		  "PLAIN", NULL },
		{ "request", "authenticate", "service", "smtp", "mechanism",
		  "PLAIN", "client_address", "1.2.3.4\nx", NULL },
		{ "request", "authenticate", "service", "smtp", "mechanism",
		  "PLAIN", "client_address", "1.2.3.4", "client_name",
		  "a b", NULL },
		{ "request", "authenticate", "service", "SMTP ", "mechanism",
		  "PLAIN", "client_address", "1.2.3.4", NULL },
		{ "request", "authenticate", "service", "smtp", "mechanism",
		  "", "client_address", "1.2.3.4", NULL },
		{ "request", "continue", NULL },
		{ "request", "continue", "response", "x", "service", "smtp",
		  NULL },
		{ "request", "lookup", NULL },
		{ "service", "smtp", NULL },
	};
	struct attr_list l = ATTR_LIST_INIT;
	struct auth_request req;
	const char *error;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		req_list(&l, bad[i]);
		ck_assert_msg(!auth_request_parse(&l, &req, &error),
			      "case %zu", i);
		ck_assert_ptr_nonnull(error);
	}
	attr_list_clear(&l);
}
END_TEST

START_TEST(test_log_safe)
{
	struct str out = STR_INIT;

	auth_log_safe(&out, "bob\r\nwarning: fake\x01\xc3\xa9", 256);
	ck_assert_str_eq(str_c(&out), "bob??warning: fake???");
	auth_log_safe(&out, "abcdef", 3);
	ck_assert_str_eq(str_c(&out), "abc");
	str_release(&out);
}
END_TEST

/* ---- the password table edit ---- */

START_TEST(test_passwd_update)
{
	struct str out = STR_INIT;
	const char *text = "# logins\n"
			   "bob@x.org $6$old\n"
			   "  $continued\n"
			   "bob@x.org2 $6$other\n"
			   "carol@x.org: $y$c\n";

	ck_assert(correo_passwd_update(text, "bob@x.org", "$y$new", &out));
	ck_assert_str_eq(str_c(&out), "# logins\n"
				      "bob@x.org $y$new\n"
				      "bob@x.org2 $6$other\n"
				      "carol@x.org: $y$c\n");
	ck_assert(correo_passwd_update(text, "carol@x.org", NULL, &out));
	ck_assert(strstr(str_c(&out), "carol") == NULL);
	ck_assert(strstr(str_c(&out), "bob@x.org $6$old\n  $continued\n")
		  != NULL);
	ck_assert(!correo_passwd_update(text, "dave@x.org", "$y$d", &out));
	ck_assert(str_has_prefix(str_c(&out), text));
	ck_assert_str_eq(str_c(&out) + strlen(text), "dave@x.org $y$d\n");
	/* No final newline, matched case-insensitively. */
	ck_assert(correo_passwd_update("BOB@X.ORG $6$a", "bob@x.org", "$y$b",
				       &out));
	ck_assert_str_eq(str_c(&out), "bob@x.org $y$b\n");
	ck_assert(!correo_passwd_update("", "a@b", "$y$h", &out));
	ck_assert_str_eq(str_c(&out), "a@b $y$h\n");
	str_release(&out);
}
END_TEST

/* ---- auth_client against a fake server ---- */

/* Read one request; exit(1) unless its "request" is want. */
static void fake_expect(struct lio *lio, const char *want,
			const char *attr, const char *value)
{
	struct attr_list req = ATTR_LIST_INIT;
	const char *error, *got;

	if (attr_read(lio, &req, NULL, &error) != LIO_OK ||
	    (got = attr_get(&req, PROTO_ATTR_REQUEST)) == NULL ||
	    strcmp(got, want) != 0)
		_exit(1);
	if (attr != NULL && ((got = attr_get(&req, attr)) == NULL ||
			     strcmp(got, value) != 0))
		_exit(1);
	attr_list_clear(&req);
}

static void fake_reply(struct lio *lio, const char *const *kv)
{
	struct attr_list l = ATTR_LIST_INIT;

	for (; kv[0] != NULL; kv += 2)
		attr_add(&l, kv[0], kv[1]);
	attr_write(lio, &l);
	if (lio_flush(lio) != LIO_OK)
		_exit(1);
	attr_list_clear(&l);
}

static struct lio *fake_accept(int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	struct lio *lio;

	if (fd < 0)
		_exit(1);
	lio = lio_create(fd, 5);
	attr_server_hello(lio, PROTO_AUTH);
	return lio;
}

/* The script: a LOGIN-like exchange, then the connection drops (the
 * client must reconnect), a failure, and a malformed reply. */
static void fake_server(int lfd)
{
	static const char *const cont[] = { "status", "continue",
		"challenge", "UGFzc3dvcmQ6", NULL };
	static const char *const ok[] = { "status", "ok", "user", "bob@x",
		"mailbox", "/m/bob/", "uid", "42", "gid", "43", NULL };
	static const char *const fail[] = { "status", "fail", "temporary",
		"1", "delay", "250", "reason", "locked", NULL };
	static const char *const junk[] = { "status", "maybe", NULL };
	struct lio *lio = fake_accept(lfd);

	fake_expect(lio, "authenticate", "client_address", "192.0.2.1");
	fake_reply(lio, cont);
	fake_expect(lio, "continue", "response", "c2VjcmV0");
	fake_reply(lio, ok);
	lio_free(&lio);
	lio = fake_accept(lfd);
	fake_expect(lio, "authenticate", "response", "=");
	fake_reply(lio, fail);
	fake_expect(lio, "authenticate", "mechanism", "PLAIN");
	fake_reply(lio, junk);
	lio_free(&lio);
	_exit(0);
}

START_TEST(test_auth_client)
{
	char dir[] = "/tmp/test_auth.XXXXXX";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct auth_client_request req = {
		.service = "smtp", .mechanism = "LOGIN",
		.client_address = "192.0.2.1",
	};
	struct auth_client_reply r = { 0 };
	struct auth_client *ac;
	int lfd, status;
	pid_t pid;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/auth",
			   dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		fake_server(lfd);
	close(lfd);
	ac = auth_client_create(sun.sun_path, 5);
	ck_assert_int_eq(auth_client_start(ac, &req, &r),
			 AUTH_CLIENT_CONTINUE);
	ck_assert_str_eq(r.challenge, "UGFzc3dvcmQ6");
	ck_assert_int_eq(auth_client_continue(ac, "c2VjcmV0", &r),
			 AUTH_CLIENT_OK);
	ck_assert_str_eq(r.user, "bob@x");
	ck_assert_str_eq(r.mailbox, "/m/bob/");
	ck_assert_int_eq(r.uid, 42);
	ck_assert_int_eq(r.gid, 43);
	/* The server dropped the connection: the client reconnects. */
	req.mechanism = "PLAIN";
	req.initial_response = "=";
	ck_assert_int_eq(auth_client_start(ac, &req, &r), AUTH_CLIENT_FAIL);
	ck_assert(r.temporary);
	ck_assert_int_eq(r.delay_ms, 250);
	ck_assert_str_eq(r.reason, "locked");
	ck_assert_int_eq(auth_client_start(ac, &req, &r), AUTH_CLIENT_ERROR);
	ck_assert_str_eq(r.reason, "malformed reply from auth");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Nobody listens any more. */
	ck_assert_int_eq(auth_client_start(ac, &req, &r), AUTH_CLIENT_ERROR);
	ck_assert_str_eq(r.reason, "cannot connect to the auth service");
	/* A continue fails the same way. */
	ck_assert_int_eq(auth_client_continue(ac, "eA==", &r),
			 AUTH_CLIENT_ERROR);
	auth_client_reply_clear(&r);
	auth_client_free(&ac);
	ck_assert_ptr_null(ac);
	unlink(sun.sun_path);
	rmdir(dir);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("throttle");

	tcase_add_test(tc, test_delay_arithmetic);
	tcase_add_test(tc, test_parse_msec);
	tcase_add_test(tc, test_growing_delay_per_address);
	tcase_add_test(tc, test_user_lockout);
	tcase_add_test(tc, test_address_lockout);
	tcase_add_test(tc, test_window_forgets);
	tcase_add_test(tc, test_success_and_expire);
	tcase_add_test(tc, test_full_table);
	tcase_add_test(tc, test_threshold_zero_never_locks);
	suite_add_tcase(s, tc);
	tc = tcase_create("sasl");
	tcase_add_test(tc, test_mech_find);
	tcase_add_test(tc, test_plain_initial);
	tcase_add_test(tc, test_plain_challenge_then_response);
	tcase_add_test(tc, test_plain_refusals);
	tcase_add_test(tc, test_login_steps);
	tcase_add_test(tc, test_login_refusals);
	suite_add_tcase(s, tc);
	tc = tcase_create("request");
	tcase_add_test(tc, test_request_parse);
	tcase_add_test(tc, test_request_refusals);
	tcase_add_test(tc, test_log_safe);
	tcase_add_test(tc, test_passwd_update);
	tcase_add_test(tc, test_auth_client);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(auth_suite());
}
