/*
 * Unit tests for msg (common/util/msg.c): a log line names the process
 * that wrote it, also in a child forked after the parent logged (the
 * pid is asked once per process and forgotten at fork).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "str.h"
#include "test_util.h"

static int child_logs(void *arg)
{
	(void)arg;
	msg_info("from the child");
	return 0;
}

START_TEST(test_pid_after_fork)
{
	char dir[64], tag[64];
	const char *path;
	struct str out = STR_INIT;
	pid_t child;
	int status;

	tu_tmpdir(dir, sizeof(dir), "test_msg");
	path = tu_path(dir, "log");
	tu_msg_capture_begin(path);
	msg_info("from the parent");
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(child_logs(NULL));
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	msg_info("from the parent again");
	tu_msg_capture_end(path, &out);
	snprintf(tag, sizeof(tag), "[%ld]: from the parent\n", (long)getpid());
	ck_assert_msg(strstr(str_c(&out), tag) != NULL, "%s", str_c(&out));
	snprintf(tag, sizeof(tag), "[%ld]: from the child\n", (long)child);
	ck_assert_msg(strstr(str_c(&out), tag) != NULL, "%s", str_c(&out));
	snprintf(tag, sizeof(tag), "[%ld]: from the parent again\n",
		 (long)getpid());
	ck_assert_msg(strstr(str_c(&out), tag) != NULL, "%s", str_c(&out));
	str_release(&out);
	tu_rmtree(dir);
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_pid_after_fork);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(msg_suite());
}
