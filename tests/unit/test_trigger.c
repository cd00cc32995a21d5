/*
 * Unit tests for server_trigger() (common/ipc/server.c): a trigger
 * reaches a listening service; a full backlog counts as a pending
 * wake-up, not an error (smtpd logged one warning per message for it);
 * a missing service is an error. server_trigger_kept() sends over one
 * connection and connects again when the service closed it; the
 * listener (common/util/trigger.c) keeps a connection until its end of
 * file and reads every byte written to it.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ev.h"
#include "server.h"
#include "str.h"
#include "test_util.h"
#include "trigger.h"

static char tmpdir[64];

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_trigger");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

/* A listening socket at path with the given backlog, never accepted
 * from until the test does. */
static int listen_at(const char *path, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert(str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
			       path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, backlog), 0);
	return fd;
}

/* Accept one connection on lfd and read what it holds into buf: the
 * count; the connection in *cfd_r. */
static ssize_t accept_read(int lfd, char *buf, size_t size, int *cfd_r)
{
	*cfd_r = accept(lfd, NULL, NULL);
	ck_assert_int_ge(*cfd_r, 0);
	return read(*cfd_r, buf, size);
}

/* n triggers through fn to a listener never accepted or read from: a
 * full backlog or buffer counts as a pending wake-up, so each is sent. */
static void all_sent(const char *path, int backlog,
		     bool (*fn)(const char *, char), int n)
{
	int lfd = listen_at(path, backlog);

	for (int i = 0; i < n; i++)
		ck_assert_msg(fn(path, 'S'), "trigger %d failed: %s", i,
			      strerror(errno));
	close(lfd);
}

START_TEST(trigger_delivers_byte)
{
	const char *path = tu_path(tmpdir, "svc");
	int lfd = listen_at(path, 4), cfd;
	char c = 0;

	ck_assert(server_trigger(path, 'S'));
	ck_assert_int_eq(accept_read(lfd, &c, 1, &cfd), 1);
	ck_assert_int_eq(c, 'S');
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(full_backlog_is_pending)
{
	/* The first connects queue up, later ones find the backlog full
	 * (EAGAIN). */
	all_sent(tu_path(tmpdir, "busy"), 0, server_trigger, 64);
}
END_TEST

START_TEST(missing_service_fails)
{
	errno = 0;
	ck_assert(!server_trigger(tu_path(tmpdir, "nothing"), 'S'));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(kept_uses_one_connection)
{
	const char *path = tu_path(tmpdir, "kept");
	int lfd = listen_at(path, 4), cfd, cfd2;
	char buf[8];

	ck_assert(server_trigger_kept(path, 'S'));
	ck_assert(server_trigger_kept(path, 'T'));
	ck_assert_int_eq(accept_read(lfd, buf, sizeof(buf), &cfd), 2);
	ck_assert(buf[0] == 'S' && buf[1] == 'T');
	/* No second connection was made. */
	ck_assert_int_eq(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_lt(accept(lfd, NULL, NULL), 0);
	ck_assert_int_eq(errno, EAGAIN);
	/* The service closes it (a restart): the next trigger connects
	 * again and still arrives. */
	close(cfd);
	ck_assert(server_trigger_kept(path, 'U'));
	ck_assert_int_eq(fcntl(lfd, F_SETFL, 0), 0);
	ck_assert_int_eq(accept_read(lfd, buf, sizeof(buf), &cfd2), 1);
	ck_assert_int_eq(buf[0], 'U');
	close(cfd2);
	close(lfd);
}
END_TEST

START_TEST(kept_full_buffer_is_pending)
{
	/* One connection, never read: once its buffer is full. */
	all_sent(tu_path(tmpdir, "kfull"), 4, server_trigger_kept, 300000);
}
END_TEST

static size_t heard;

static void count_bytes(const char *buf, size_t n, void *ctx)
{
	(void)buf;
	(void)ctx;
	heard += n;
}

/* Open trigger connections of this process (the listener's included). */
static int open_sockets(void)
{
	char link[64], target[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len > 0 && strncmp(target, "socket:", 7) == 0)
			n++;
	}
	return n;
}

START_TEST(listener_keeps_until_eof)
{
	const char *path = tu_path(tmpdir, "listen");
	struct ev_loop *loop = ev_create();
	struct trigger *t;
	int lfd = listen_at(path, 16), cfd, before;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	t = trigger_listen(loop, &lfd, 1, count_bytes, NULL);
	before = open_sockets();
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
			       path));
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sun,
				 sizeof(sun)), 0);
	heard = 0;
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(write(cfd, "S", 1), 1);
		for (int r = 0; r < 10 && heard < (size_t)i + 1; r++)
			ev_run_once(loop, 100);
		ck_assert_uint_eq(heard, (size_t)i + 1);
	}
	/* The client and the accepted end: still open after three. */
	ck_assert_int_eq(open_sockets(), before + 2);
	close(cfd);
	for (int r = 0; r < 10 && open_sockets() > before; r++)
		ev_run_once(loop, 100);
	ck_assert_int_eq(open_sockets(), before);
	/* A one-shot client: connect, write, close. */
	ck_assert(server_trigger(path, 'S'));
	for (int r = 0; r < 10 && (heard < 4 || open_sockets() > before); r++)
		ev_run_once(loop, 100);
	ck_assert_uint_eq(heard, 4);
	ck_assert_int_eq(open_sockets(), before);
	ev_free(&loop);
	trigger_free(&t);
	close(lfd);
}
END_TEST

static Suite *trigger_suite(void)
{
	Suite *s = suite_create("trigger");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, trigger_delivers_byte);
	tcase_add_test(tc, full_backlog_is_pending);
	tcase_add_test(tc, missing_service_fails);
	tcase_add_test(tc, kept_uses_one_connection);
	tcase_add_test(tc, kept_full_buffer_is_pending);
	tcase_add_test(tc, listener_keeps_until_eof);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(trigger_suite());
}
