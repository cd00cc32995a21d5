/*
 * Unit tests for the group commit (common/util/group_sync.c): a sync
 * that began after a change covers it, one that began before does not,
 * a failed sync covers nothing, a record of another boot or a corrupt
 * one is ignored, no state file means syncing alone; and under
 * concurrency every participant returns only after a sync that started
 * after its mark had finished (checked against a log of every sync).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "group_sync.h"
#include "test_util.h"

static char tmpdir[64];
static int syncs;

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_group_sync");
	syncs = 0;
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static bool count_sync(void *ctx)
{
	syncs++;
	return true;
}

static bool failing_sync(void *ctx)
{
	errno = EIO;
	return false;
}

START_TEST(covers_only_later_syncs)
{
	int fd = group_sync_open(AT_FDCWD, tu_path(tmpdir, "state"));
	uint64_t m1, m2;
	bool covered;

	ck_assert_int_ge(fd, 0);
	m1 = group_sync_mark();
	ck_assert(group_sync_run(fd, m1, count_sync, NULL, &covered));
	ck_assert(!covered);
	ck_assert_int_eq(syncs, 1);
	/* The same change again: that sync began after it. */
	ck_assert(group_sync_run(fd, m1, count_sync, NULL, &covered));
	ck_assert(covered);
	ck_assert_int_eq(syncs, 1);
	/* A change after the last sync began needs a new one. */
	m2 = group_sync_mark();
	ck_assert(group_sync_run(fd, m2, count_sync, NULL, &covered));
	ck_assert(!covered);
	ck_assert_int_eq(syncs, 2);
	close(fd);
}
END_TEST

START_TEST(failed_sync_covers_nothing)
{
	int fd = group_sync_open(AT_FDCWD, tu_path(tmpdir, "state"));
	uint64_t m = group_sync_mark();
	bool covered;

	ck_assert_int_ge(fd, 0);
	errno = 0;
	ck_assert(!group_sync_run(fd, m, failing_sync, NULL, &covered));
	ck_assert_int_eq(errno, EIO);
	ck_assert(group_sync_run(fd, m, count_sync, NULL, &covered));
	ck_assert(!covered);
	ck_assert_int_eq(syncs, 1);
	close(fd);
}
END_TEST

START_TEST(other_boot_or_garbage_ignored)
{
	int fd = group_sync_open(AT_FDCWD, tu_path(tmpdir, "state"));
	uint64_t m = group_sync_mark();
	unsigned char rec[32];
	bool covered;

	ck_assert_int_ge(fd, 0);
	ck_assert(group_sync_run(fd, m, count_sync, NULL, &covered));
	/* Another boot id: the recorded start means nothing now. */
	ck_assert_int_eq(pread(fd, rec, sizeof(rec), 0), 32);
	rec[8] ^= 0xff;
	ck_assert_int_eq(pwrite(fd, rec, sizeof(rec), 0), 32);
	ck_assert(group_sync_run(fd, m, count_sync, NULL, &covered));
	ck_assert(!covered);
	ck_assert_int_eq(syncs, 2);
	/* A start in the future (a record from a longer boot). */
	memset(rec + 24, 0xff, 8);
	ck_assert_int_eq(pread(fd, rec, 24, 0), 24);
	ck_assert_int_eq(pwrite(fd, rec, sizeof(rec), 0), 32);
	ck_assert(group_sync_run(fd, m, count_sync, NULL, &covered));
	ck_assert(!covered);
	/* Short or empty. */
	ck_assert_int_eq(ftruncate(fd, 10), 0);
	ck_assert(group_sync_run(fd, m, count_sync, NULL, &covered));
	ck_assert(!covered);
	ck_assert_int_eq(syncs, 4);
	close(fd);
	/* No state file: always alone. */
	ck_assert(group_sync_run(-1, m, count_sync, NULL, &covered));
	ck_assert(group_sync_run(-1, m, count_sync, NULL, &covered));
	ck_assert(!covered);
	ck_assert_int_eq(syncs, 6);
}
END_TEST

#define WORKERS 6
#define ROUNDS 40

static int sync_log = -1;

/* A sync that logs when it started and ended, and takes a while, so
 * that others queue behind it. */
static bool logged_sync(void *ctx)
{
	char line[64];
	uint64_t start = group_sync_mark(), end;
	int n;

	usleep(2000);
	end = group_sync_mark();
	n = snprintf(line, sizeof(line), "S %llu %llu\n",
		     (unsigned long long)start, (unsigned long long)end);
	return write(sync_log, line, (size_t)n) == n;
}

static void worker(const char *state_path, int k)
{
	int fd = group_sync_open(AT_FDCWD, state_path);
	char line[80];

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t mark = group_sync_mark(), done;
		int n;

		if (fd < 0 || !group_sync_run(fd, mark, logged_sync, NULL,
					      NULL))
			_exit(1);
		done = group_sync_mark();
		n = snprintf(line, sizeof(line), "C %llu %llu\n",
			     (unsigned long long)mark,
			     (unsigned long long)done);
		if (write(sync_log, line, (size_t)n) != n)
			_exit(1);
		usleep((unsigned)(k * 300));
	}
	_exit(0);
}

START_TEST(concurrent_commits_all_covered)
{
	const char *state = tu_path(tmpdir, "state");
	static unsigned long long s[WORKERS * ROUNDS][2];
	static unsigned long long c[WORKERS * ROUNDS][2];
	size_t ns = 0, nc = 0;
	char kind, buf[80];
	FILE *f;
	int status;

	sync_log = open(tu_path(tmpdir, "log"), O_WRONLY | O_CREAT |
			O_APPEND, 0600);
	ck_assert_int_ge(sync_log, 0);
	for (int k = 0; k < WORKERS; k++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			worker(state, k);
	}
	for (int k = 0; k < WORKERS; k++) {
		ck_assert_int_gt(wait(&status), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(sync_log);
	f = fopen(tu_path(tmpdir, "log"), "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		unsigned long long a, b;

		ck_assert_int_eq(sscanf(buf, "%c %llu %llu", &kind, &a, &b),
				 3);
		if (kind == 'S') {
			s[ns][0] = a;
			s[ns++][1] = b;
		} else {
			c[nc][0] = a;
			c[nc++][1] = b;
		}
	}
	fclose(f);
	ck_assert_uint_eq(nc, WORKERS * ROUNDS);
	ck_assert_uint_le(ns, nc);
	for (size_t i = 0; i < nc; i++) {
		bool ok = false;

		for (size_t j = 0; j < ns && !ok; j++)
			ok = s[j][0] > c[i][0] && s[j][1] <= c[i][1];
		ck_assert_msg(ok, "commit %zu (mark %llu) returned without a "
			      "sync that began after it", i, c[i][0]);
	}
	fprintf(stderr, "group_sync: %zu commits, %zu syncs\n", nc, ns);
}
END_TEST

static Suite *group_sync_suite(void)
{
	Suite *s = suite_create("group_sync");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, covers_only_later_syncs);
	tcase_add_test(tc, failed_sync_covers_nothing);
	tcase_add_test(tc, other_boot_or_garbage_ignored);
	tcase_add_test(tc, concurrent_commits_all_covered);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(group_sync_suite());
}
