/*
 * Unit tests for common/maildir.c: unique names, delivery into new/ with
 * tmp/ left clean, Maildir and Maildir++ folder creation, size limits,
 * writer failures and unwritable destinations.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <unistd.h>

#include "maildir.h"
#include "safe_file.h"
#include "str.h"

static char tmpdir[] = "/tmp/test_maildir.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	chmod(path, 0700);
	return remove(path);
}

static void setup(void)
{
	memcpy(tmpdir, "/tmp/test_maildir.XXXXXX", sizeof(tmpdir));
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *path_in(const char *name)
{
	static char buf[8][512];
	static int which;

	which = (which + 1) % 8;
	ck_assert(str_snprintf(buf[which], sizeof(buf[which]), "%s/%s",
			       tmpdir, name));
	return buf[which];
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Writes ctx (a string) one byte per write. */
static bool write_bytes(int fd, void *ctx)
{
	const char *text = ctx;

	for (; *text != '\0'; text++)
		if (write(fd, text, 1) != 1)
			return false;
	return true;
}

static bool write_fail(int fd, void *ctx)
{
	(void)write(fd, "partial", 7);
	errno = EIO;
	return false;
}

START_TEST(unique_names)
{
	struct str a = STR_INIT, b = STR_INIT;
	regex_t re;

	ck_assert_int_eq(regcomp(&re,
				 "^[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.[^/:]+$",
				 REG_EXTENDED | REG_NOSUB), 0);
	maildir_unique_name(&a);
	maildir_unique_name(&b);
	ck_assert_str_ne(str_c(&a), str_c(&b));
	ck_assert_int_eq(regexec(&re, str_c(&a), 0, NULL, 0), 0);
	ck_assert_int_eq(regexec(&re, str_c(&b), 0, NULL, 0), 0);
	regfree(&re);
	str_release(&a);
	str_release(&b);
}
END_TEST

START_TEST(deliver_creates_and_writes)
{
	const char *md = path_in("deep/user/Maildir");
	struct str path = STR_INIT, error = STR_INIT, got = STR_INIT;
	const char *dsn = NULL;
	struct stat st;

	ck_assert_int_eq(maildir_deliver(md, NULL, write_bytes,
					 "Subject: hi\n\nbody\n", 0, &path,
					 &error, &dsn), MAILDIR_OK);
	ck_assert_str_eq(dsn, "2.0.0");
	ck_assert(str_has_prefix(str_c(&path), md));
	ck_assert_ptr_nonnull(strstr(str_c(&path), "/new/"));
	ck_assert(safe_read_file(str_c(&path), &got, 4096));
	ck_assert_str_eq(str_c(&got), "Subject: hi\n\nbody\n");
	ck_assert_int_eq(count_entries(path_in("deep/user/Maildir/tmp")), 0);
	ck_assert_int_eq(count_entries(path_in("deep/user/Maildir/new")), 1);
	ck_assert_int_eq(stat(path_in("deep/user/Maildir/cur"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(str_c(&path), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* A second delivery gets its own file. */
	ck_assert_int_eq(maildir_deliver(md, NULL, write_bytes, "x\n", 0,
					 NULL, &error, &dsn), MAILDIR_OK);
	ck_assert_int_eq(count_entries(path_in("deep/user/Maildir/new")), 2);
	str_release(&path);
	str_release(&error);
	str_release(&got);
}
END_TEST

/* Another delivery is creating the Maildir: tmp/ exists, new/ and cur/
 * not yet. The delivery completes instead of deferring (the rename into
 * new/ is retried once after creating what is missing). */
START_TEST(half_created_maildir)
{
	const char *md = path_in("half/Maildir");
	struct str error = STR_INIT;
	const char *dsn = NULL;

	ck_assert(safe_mkdir_p(path_in("half/Maildir/tmp"), 0700));
	ck_assert_int_eq(maildir_deliver(md, NULL, write_bytes, "m\n", 0,
					 NULL, &error, &dsn), MAILDIR_OK);
	ck_assert_int_eq(count_entries(path_in("half/Maildir/new")), 1);
	str_release(&error);
}
END_TEST

/* Many processes deliver at once into Maildirs that do not exist yet;
 * every delivery succeeds at its first attempt. */
START_TEST(concurrent_fresh_maildirs)
{
	enum { CHILDREN = 8, ROUNDS = 25 };
	pid_t pids[CHILDREN];
	int status;

	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		ck_assert_int_ge(pids[c], 0);
		if (pids[c] > 0)
			continue;
		for (int r = 0; r < ROUNDS; r++) {
			char name[64];
			struct str error = STR_INIT;
			const char *dsn;

			snprintf(name, sizeof(name), "fresh/u%d/Maildir", r);
			if (maildir_deliver(path_in(name), NULL, write_bytes,
					    "m\n", 0, NULL, &error, &dsn) !=
			    MAILDIR_OK) {
				fprintf(stderr, "%s\n", str_c(&error));
				_exit(1);
			}
		}
		_exit(0);
	}
	for (int c = 0; c < CHILDREN; c++) {
		ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	for (int r = 0; r < ROUNDS; r++) {
		char name[64];

		snprintf(name, sizeof(name), "fresh/u%d/Maildir/new", r);
		ck_assert_int_eq(count_entries(path_in(name)), CHILDREN);
	}
}
END_TEST

START_TEST(folder_created)
{
	const char *md = path_in("Maildir");
	struct str path = STR_INIT, error = STR_INIT;
	const char *dsn;
	struct stat st;

	ck_assert_int_eq(maildir_deliver(md, "Sent", write_bytes, "m\n", 0,
					 &path, &error, &dsn), MAILDIR_OK);
	ck_assert(str_has_prefix(str_c(&path), path_in("Maildir/.Sent/new/")));
	ck_assert_int_eq(stat(path_in("Maildir/.Sent/maildirfolder"), &st),
			 0);
	ck_assert_int_eq(stat(path_in("Maildir/.Sent/cur"), &st), 0);
	ck_assert_int_eq(stat(path_in("Maildir/new"), &st), 0);
	ck_assert(maildir_create(md, ".Trash"));
	ck_assert_int_eq(stat(path_in("Maildir/.Trash/tmp"), &st), 0);
	/* Unsafe folder names. */
	ck_assert_int_eq(maildir_deliver(md, "../x", write_bytes, "m\n", 0,
					 NULL, &error, &dsn), MAILDIR_DEFER);
	ck_assert(!maildir_create(md, "a/b"));
	ck_assert_int_eq(errno, EINVAL);
	str_release(&path);
	str_release(&error);
}
END_TEST

START_TEST(writer_failure_cleans_tmp)
{
	const char *md = path_in("Maildir");
	struct str error = STR_INIT;
	const char *dsn;

	ck_assert_int_eq(maildir_deliver(md, NULL, write_fail, NULL, 0, NULL,
					 &error, &dsn), MAILDIR_DEFER);
	ck_assert_str_eq(dsn, "4.2.0");
	ck_assert_ptr_nonnull(strstr(str_c(&error), "write"));
	ck_assert_int_eq(count_entries(path_in("Maildir/tmp")), 0);
	ck_assert_int_eq(count_entries(path_in("Maildir/new")), 0);
	str_release(&error);
}
END_TEST

START_TEST(size_limit_bounces)
{
	const char *md = path_in("Maildir");
	struct str error = STR_INIT;
	const char *dsn;

	ck_assert_int_eq(maildir_deliver(md, NULL, write_bytes, "0123456789",
					 10, NULL, &error, &dsn), MAILDIR_OK);
	ck_assert_int_eq(maildir_deliver(md, NULL, write_bytes, "0123456789X",
					 10, NULL, &error, &dsn),
			 MAILDIR_BOUNCE);
	ck_assert_str_eq(dsn, "5.2.3");
	ck_assert_int_eq(count_entries(path_in("Maildir/tmp")), 0);
	ck_assert_int_eq(count_entries(path_in("Maildir/new")), 1);
	str_release(&error);
}
END_TEST

START_TEST(unwritable_defers)
{
	struct str error = STR_INIT;
	const char *dsn;
	int fd = open(path_in("file"), O_WRONLY | O_CREAT, 0600);

	ck_assert_int_ge(fd, 0);
	close(fd);
	/* Under a regular file: ENOTDIR, even for root. */
	ck_assert_int_eq(maildir_deliver(path_in("file/Maildir"), NULL,
					 write_bytes, "m\n", 0, NULL, &error,
					 &dsn), MAILDIR_DEFER);
	ck_assert_str_eq(dsn, "4.2.0");
	ck_assert_ptr_nonnull(strstr(str_c(&error), "file/Maildir"));
	if (geteuid() != 0) {
		ck_assert(maildir_create(path_in("ro"), NULL));
		ck_assert_int_eq(chmod(path_in("ro/tmp"), 0500), 0);
		ck_assert_int_eq(maildir_deliver(path_in("ro"), NULL,
						 write_bytes, "m\n", 0, NULL,
						 &error, &dsn),
				 MAILDIR_DEFER);
		ck_assert_ptr_nonnull(strstr(str_c(&error),
					     "Permission denied"));
	}
	str_release(&error);
}
END_TEST

START_TEST(errno_classes)
{
	const char *dsn;

	ck_assert_int_eq(maildir_errno_status(ENOSPC, &dsn), MAILDIR_DEFER);
	ck_assert_str_eq(dsn, "4.2.2");
	ck_assert_int_eq(maildir_errno_status(EDQUOT, &dsn), MAILDIR_DEFER);
	ck_assert_str_eq(dsn, "4.2.2");
	ck_assert_int_eq(maildir_errno_status(EFBIG, &dsn), MAILDIR_BOUNCE);
	ck_assert_str_eq(dsn, "5.2.3");
	ck_assert_int_eq(maildir_errno_status(EACCES, &dsn), MAILDIR_DEFER);
	ck_assert_str_eq(dsn, "4.2.0");
}
END_TEST

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The name in new/ carries ",S=<bytes>,W=<bytes with CRLF ends>",
 * counted across the read-back chunks (a CR LF split between two). */
START_TEST(deliver_names_sizes)
{
	static char big[70000];
	struct str path = STR_INIT, error = STR_INIT, want = STR_INIT;
	const char *dsn = NULL, *slash;
	size_t i, lfs = 0;

	ck_assert_int_eq(maildir_deliver(path_in("Maildir"), NULL,
					 write_bytes, "a\nb\r\nc\rd\n", 0,
					 &path, &error, &dsn), MAILDIR_OK);
	ck_assert_msg(has_suffix(str_c(&path), ",S=9,W=11"), "%s",
		      str_c(&path));
	for (i = 0; i < sizeof(big) - 1; i++)
		big[i] = i % 61 == 60 ? '\n' : 'x';
	big[32767] = '\r';	/* CR at the end of the first chunk */
	big[32768] = '\n';
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < sizeof(big) - 1; i++)
		lfs += big[i] == '\n' && (i == 0 || big[i - 1] != '\r');
	ck_assert_int_eq(maildir_deliver(path_in("Maildir"), NULL,
					 write_bytes, big, 0, &path, &error,
					 &dsn), MAILDIR_OK);
	str_printf(&want, ",S=%zu,W=%zu", sizeof(big) - 1,
		   sizeof(big) - 1 + lfs);
	slash = strrchr(str_c(&path), '/');
	ck_assert_ptr_nonnull(slash);
	ck_assert_msg(has_suffix(slash, str_c(&want)), "%s", slash);
	ck_assert_ptr_null(strchr(slash, ':'));
	str_release(&path);
	str_release(&error);
	str_release(&want);
}
END_TEST

/* A message in memory: written whole, with the sizes counted over the
 * buffers (a CR at the end of one, its LF at the start of the next). */
START_TEST(deliver_from_memory)
{
	struct maildir_tmp t = MAILDIR_TMP_INIT;
	struct str error = STR_INIT, back = STR_INIT;
	struct iovec iov[4] = { { "Return-Path: <>\r", 16 }, { "\n", 1 },
				{ "", 0 }, { "a\nb\r\nc\n", 8 } };
	const char *dsn = NULL;

	ck_assert_int_eq(maildir_write_tmp_iov(path_in("Maildir"), NULL, iov,
					       4, 0, &t, &error, &dsn),
			 MAILDIR_OK);
	ck_assert_uint_eq(t.size, 25);
	ck_assert_uint_eq(t.vsize, 27);
	ck_assert_msg(has_suffix(str_c(&t.dst), ",S=25,W=27"), "%s",
		      str_c(&t.dst));
	ck_assert(safe_read_file(str_c(&t.tmp), &back, 1024));
	ck_assert_str_eq(str_c(&back), "Return-Path: <>\r\na\nb\r\nc\n");
	ck_assert_int_eq(maildir_commit_tmp(path_in("Maildir"), NULL, &t,
					    &error, &dsn), MAILDIR_OK);
	ck_assert_int_eq(count_entries(path_in("Maildir/new")), 1);
	maildir_tmp_release(&t);
	/* Over the size limit: refused, nothing left in tmp/. */
	ck_assert_int_eq(maildir_write_tmp_iov(path_in("Maildir"), NULL, iov,
					       4, 10, &t, &error, &dsn),
			 MAILDIR_BOUNCE);
	ck_assert_int_eq(count_entries(path_in("Maildir/tmp")), 0);
	maildir_tmp_release(&t);
	str_release(&error);
	str_release(&back);
}
END_TEST

static Suite *maildir_suite(void)
{
	Suite *s = suite_create("maildir");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unique_names);
	tcase_add_test(tc, deliver_creates_and_writes);
	tcase_add_test(tc, half_created_maildir);
	tcase_add_test(tc, concurrent_fresh_maildirs);
	tcase_add_test(tc, folder_created);
	tcase_add_test(tc, writer_failure_cleans_tmp);
	tcase_add_test(tc, size_limit_bounces);
	tcase_add_test(tc, unwritable_defers);
	tcase_add_test(tc, errno_classes);
	tcase_add_test(tc, deliver_names_sizes);
	tcase_add_test(tc, deliver_from_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(maildir_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
