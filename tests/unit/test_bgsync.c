/*
 * Unit tests for bgsync (common/util/bgsync.c): a background fsync of a
 * file and of a directory succeeds and is waited for, one operation
 * after another reuses the process's AIO context, and a failing sync
 * (a descriptor that cannot be synced) reports its error.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "bgsync.h"
#include "test_util.h"

static char tmpdir[64];

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_bgsync");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

START_TEST(file_and_directory)
{
	int fd = open(tu_path(tmpdir, "f"), O_WRONLY | O_CREAT, 0600);
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	struct bgsync a, b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dfd, 0);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(write(fd, "x", 1), 1);
		bgsync_start(&a, fd, i % 2 == 0);
		ck_assert(fsync(dfd) == 0);
		ck_assert(bgsync_wait(&a));
		/* Waiting twice is harmless. */
		ck_assert(bgsync_wait(&a));
	}
	bgsync_start(&b, dfd, false);
	ck_assert(bgsync_wait(&b));
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(errors_reported)
{
	struct bgsync op;
	int p[2];

	bgsync_start(&op, -1, false);
	errno = 0;
	ck_assert(!bgsync_wait(&op));
	ck_assert_int_eq(errno, EBADF);
	/* A pipe cannot be synced: EINVAL either way. */
	ck_assert_int_eq(pipe(p), 0);
	bgsync_start(&op, p[0], false);
	errno = 0;
	ck_assert(!bgsync_wait(&op));
	ck_assert_int_eq(errno, EINVAL);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *bgsync_suite(void)
{
	Suite *s = suite_create("bgsync");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, file_and_directory);
	tcase_add_test(tc, errors_reported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(bgsync_suite());
}
