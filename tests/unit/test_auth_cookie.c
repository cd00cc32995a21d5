/*
 * Unit tests for auth/auth_cookie.c: a login cookie is redeemed once,
 * only for its service, only by a root (or, in instance mode, same-user)
 * peer, and gives back exactly what auth decided.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attr.h"
#include "auth.h"
#include "proto.h"
#include "server.h"
#include "str.h"
#include "test_util.h"

static char *issue(const char *user, const char *service)
{
	struct attr_list reply = ATTR_LIST_INIT;
	/* bob has a quota, the others none. */
	struct auth_mailbox mb = { "/var/mail/x", 1234, 2345,
				   strncmp(user, "bob@", 4) == 0 ?
				   (char *)"storage=1g" : NULL };
	char *cookie;

	auth_cookie_issue(&reply, user, &mb, service);
	ck_assert_ptr_nonnull(attr_get(&reply, PROTO_ATTR_COOKIE));
	cookie = strdup(attr_get(&reply, PROTO_ATTR_COOKIE));
	ck_assert_int_eq(strlen(cookie), 64);
	attr_list_clear(&reply);
	return cookie;
}

static const char *redeem(int fd, const char *cookie, const char *service,
			  struct attr_list *reply)
{
	struct auth_request req;

	memset(&req, 0, sizeof(req));
	req.kind = AUTH_REQ_REDEEM;
	req.cookie = cookie;
	req.service = service;
	auth_cookie_redeem(fd, &req, reply);
	return attr_get(reply, PROTO_ATTR_STATUS);
}

START_TEST(test_redeem_once)
{
	struct attr_list reply = ATTR_LIST_INIT;
	char *a, *b;
	int sv[2];

	server_instance_mode = true;	/* a same-user peer is fine */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	a = issue("bob@example.org", "pop3");
	b = issue("alice@example.org", "pop3");
	ck_assert_str_ne(a, b);
	ck_assert_str_eq(redeem(sv[0], a, "pop3", &reply), "ok");
	ck_assert_str_eq(attr_get(&reply, PROTO_ATTR_USER), "bob@example.org");
	ck_assert_str_eq(attr_get(&reply, PROTO_ATTR_MAILBOX), "/var/mail/x");
	ck_assert_str_eq(attr_get(&reply, PROTO_ATTR_UID), "1234");
	ck_assert_str_eq(attr_get(&reply, PROTO_ATTR_GID), "2345");
	ck_assert_str_eq(attr_get(&reply, PROTO_ATTR_QUOTA), "storage=1g");
	/* Once only. */
	ck_assert_str_eq(redeem(sv[0], a, "pop3", &reply), "fail");
	/* Another service's cookie is refused, and used up. */
	ck_assert_str_eq(redeem(sv[0], b, "imap", &reply), "fail");
	ck_assert_str_eq(redeem(sv[0], b, "pop3", &reply), "fail");
	/* Forged, short, long. */
	ck_assert_str_eq(redeem(sv[0], "0000000000000000000000000000000000"
				"000000000000000000000000000000", "pop3",
				&reply), "fail");
	ck_assert_str_eq(redeem(sv[0], "abc", "pop3", &reply), "fail");
	free(a);
	free(b);
	attr_list_clear(&reply);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_redeem_unprivileged_peer)
{
	struct attr_list reply = ATTR_LIST_INIT;
	struct sockaddr_un sun;
	char dir[256], *cookie;
	int lfd, fd, status;
	pid_t pid;

	if (getuid() != 0)
		return;		/* needs a peer of another uid */
	server_instance_mode = false;
	tu_tmpdir(dir, sizeof(dir), "cookie");
	chmod(dir, 0777);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert(str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/s",
			       dir));
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	chmod(sun.sun_path, 0777);
	ck_assert_int_eq(listen(lfd, 1), 0);
	pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);

		if (setgid(65534) < 0 || setuid(65534) < 0 ||
		    connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			_exit(1);
		sleep(2);
		_exit(0);
	}
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	cookie = issue("bob@example.org", "pop3");
	ck_assert_str_eq(redeem(fd, cookie, "pop3", &reply), "fail");
	ck_assert_str_eq(attr_get(&reply, PROTO_ATTR_REASON), "not allowed");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(cookie);
	attr_list_clear(&reply);
	close(fd);
	close(lfd);
	tu_rmtree(dir);
}
END_TEST

static Suite *cookie_suite(void)
{
	Suite *s = suite_create("auth_cookie");
	TCase *tc = tcase_create("cookie");

	tcase_add_test(tc, test_redeem_once);
	tcase_add_test(tc, test_redeem_unprivileged_peer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(cookie_suite());
}
