/*
 * Helpers shared by the Check unit tests: temporary directories and
 * their recursive removal, paths inside them, counting entries, writing
 * small files, waiting for forked children, and capturing msg_* output
 * in a file. Interface: tests/unit/test_util.h (prefix tu_). Built as
 * libtestutil.a and linked into every unit test program.
 *
 * SECURITY: test code only, never installed. It creates and removes
 * files only below directories it made with mkdtemp() or paths its
 * caller names; tu_rmtree() does not follow symbolic links.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "safe_file.h"
#include "str.h"
#include "test_util.h"

void tu_tmpdir(char *buf, size_t size, const char *name)
{
	ck_assert(str_snprintf(buf, size, "/tmp/%s.XXXXXX", name));
	ck_assert_msg(mkdtemp(buf) != NULL, "mkdtemp %s: %s", buf,
		      strerror(errno));
}

static int tu_rm_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int tu_rmtree(const char *path)
{
	return nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_path(const char *dir, const char *name)
{
	static char buf[16][512];
	static int which;

	which = (which + 1) % 16;
	ck_assert(str_snprintf(buf[which], sizeof(buf[which]), "%s/%s", dir,
			       name));
	return buf[which];
}

int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

void tu_write_file(const char *path, const char *text, mode_t mode)
{
	ck_assert_msg(safe_write_file(path, text, strlen(text), mode),
		      "write %s: %s", path, strerror(errno));
}

int tu_wait(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 100 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int tu_run_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	return tu_wait(pid);
}

void tu_msg_capture_begin(const char *path)
{
	ck_assert_msg(msg_open_file(path), "msg_open_file %s: %s", path,
		      strerror(errno));
}

void tu_msg_capture_end(const char *path, struct str *out)
{
	msg_open_stderr();
	ck_assert_msg(safe_read_file(path, out, 1 << 20), "read %s: %s",
		      path, strerror(errno));
	(void)unlink(path);
}

int tu_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

bool tu_write_text(int fd, void *ctx)
{
	const char *text = ctx;

	return safe_write_all(fd, text, strlen(text));
}
