/*
 * Unit tests for server_trigger() (common/ipc/server.c): a trigger
 * reaches a listening service; a full backlog counts as a pending
 * wake-up, not an error (smtpd logged one warning per message for it);
 * a missing service is an error.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server.h"
#include "str.h"
#include "test_util.h"

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

START_TEST(trigger_delivers_byte)
{
	const char *path = tu_path(tmpdir, "svc");
	int lfd = listen_at(path, 4), cfd;
	char c = 0;

	ck_assert(server_trigger(path, 'S'));
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(read(cfd, &c, 1), 1);
	ck_assert_int_eq(c, 'S');
	close(cfd);
	close(lfd);
}
END_TEST

START_TEST(full_backlog_is_pending)
{
	const char *path = tu_path(tmpdir, "busy");
	int lfd = listen_at(path, 0), n;

	/* Fill the backlog: the first triggers queue up, later connects
	 * find it full (EAGAIN) and still report success. */
	for (n = 0; n < 64; n++)
		ck_assert_msg(server_trigger(path, 'S'),
			      "trigger %d failed: %s", n, strerror(errno));
	close(lfd);
}
END_TEST

START_TEST(missing_service_fails)
{
	errno = 0;
	ck_assert(!server_trigger(tu_path(tmpdir, "nothing"), 'S'));
	ck_assert_int_eq(errno, ENOENT);
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(trigger_suite());
}
