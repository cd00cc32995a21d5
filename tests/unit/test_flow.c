/*
 * Unit tests for the inflow control tokens (common/ipc/flow.c): tokens
 * added are taken one each, an empty FIFO makes the taker wait and then
 * go on without one, a token added while it waits is taken at once, a
 * fill never removes tokens, and anything but a FIFO of ours is refused.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flow.h"
#include "test_util.h"

static char tmpdir[64];
static char fifo[128];

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_flow");
	snprintf(fifo, sizeof(fifo), "%s", tu_path(tmpdir, "flow"));
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

START_TEST(fill_and_take)
{
	int fd = flow_open(fifo);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(flow_count(fd), 0);
	ck_assert_uint_eq(flow_fill(fd, 3), 3);
	ck_assert_uint_eq(flow_count(fd), 3);
	/* A fill below what is there adds nothing and removes nothing. */
	ck_assert_uint_eq(flow_fill(fd, 2), 0);
	ck_assert_uint_eq(flow_fill(fd, 5), 2);
	for (int i = 0; i < 5; i++)
		ck_assert(flow_take(fd, 0));
	ck_assert_uint_eq(flow_count(fd), 0);
	/* Empty: the wait runs out and the caller goes on. */
	ck_assert(!flow_take(fd, 20));
	close(fd);
}
END_TEST

START_TEST(second_opener_shares_tokens)
{
	int qmgr = flow_open(fifo), smtpd = flow_open(fifo);

	ck_assert_int_ge(qmgr, 0);
	ck_assert_int_ge(smtpd, 0);
	ck_assert_uint_eq(flow_fill(qmgr, 1), 1);
	ck_assert(flow_take(smtpd, 0));
	ck_assert(!flow_take(smtpd, 0));
	close(qmgr);
	close(smtpd);
}
END_TEST

/* A token that arrives while a taker waits ends its wait: the child
 * adds one after 100 ms; the taker, allowed 60 s, must get it (the
 * test would hit Check's timeout if the wake-up were lost). */
START_TEST(token_during_wait)
{
	int fd = flow_open(fifo);
	pid_t pid;
	int status;

	ck_assert_int_ge(fd, 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		usleep(100000);
		_exit(flow_fill(fd, 1) == 1 ? 0 : 1);
	}
	ck_assert(flow_take(fd, 60000));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
}
END_TEST

START_TEST(refuses_non_fifo)
{
	const char *file = tu_path(tmpdir, "file");
	char link[128];
	int fd;

	fd = open(file, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	errno = 0;
	ck_assert_int_lt(flow_open(file), 0);
	ck_assert_int_eq(errno, EPERM);
	snprintf(link, sizeof(link), "%s", tu_path(tmpdir, "link"));
	ck_assert_int_eq(symlink(fifo, link), 0);
	ck_assert_int_lt(flow_open(link), 0);
	ck_assert_int_lt(flow_open(tu_path(tmpdir, "missing")), 0);
	/* No FIFO: no inflow control, and no wait. */
	ck_assert(!flow_take(-1, 60000));
	ck_assert_uint_eq(flow_fill(-1, 10), 0);
}
END_TEST

static Suite *flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fill_and_take);
	tcase_add_test(tc, second_opener_shares_tokens);
	tcase_add_test(tc, token_during_wait);
	tcase_add_test(tc, refuses_non_fifo);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(flow_suite());
}
