/*
 * Unit tests for common/safe_file.c: atomic replace without leftovers,
 * short writes, bounded reads, mkdir -p, mkdirat that never follows a
 * symlink, and the exclusive lock seen
 * from another process.
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
#include <sys/uio.h>
#include <unistd.h>

#include "mem.h"
#include "safe_file.h"
#include "str.h"
#include "test_util.h"

static char tmpdir[64];

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_safe_file");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static const char *path_in(const char *name)
{
	return tu_path(tmpdir, name);
}

static void assert_content(const char *path, const char *expect)
{
	struct str s = STR_INIT;

	ck_assert(safe_read_file(path, &s, 1 << 20));
	ck_assert_uint_eq(s.len, strlen(expect));
	ck_assert_str_eq(str_c(&s), expect);
	str_release(&s);
}

/* safe_open_noatime: a read leaves atime alone (relatime would move an
 * atime older than the mtime); a process that does not own the file
 * gets it opened without O_NOATIME rather than EPERM. */
static int open_as_nobody(void *arg)
{
	int fd;

	if (setgid(65534) != 0 || setuid(65534) != 0)
		return 2;
	fd = safe_open_noatime(AT_FDCWD, arg, O_RDONLY | O_CLOEXEC, 0);
	return fd >= 0 ? 0 : 1;
}

START_TEST(test_open_noatime)
{
	struct timespec ts[2] = { { 1000000, 0 }, { 0, UTIME_OMIT } };
	struct stat st;
	char path[128], buf[8];
	int fd;

	snprintf(path, sizeof(path), "%s/f", tmpdir);
	tu_write_file(path, "text\n", 0644);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	fd = safe_open_noatime(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 5);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_atim.tv_sec, 1000000);
	close(fd);
	if (geteuid() == 0) {
		ck_assert_int_eq(chmod(tmpdir, 0755), 0);
		ck_assert_int_eq(tu_run_child(open_as_nobody, path), 0);
	}
}
END_TEST

START_TEST(test_write_file_replaces)
{
	const char *p = path_in("file");
	struct stat st;

	ck_assert(safe_write_file(p, "first\n", 6, 0640));
	assert_content(p, "first\n");
	ck_assert(safe_write_file(p, "second, longer\n", 15, 0600));
	assert_content(p, "second, longer\n");
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* No temporary file left beside it. */
	ck_assert_int_eq(tu_count_entries(tmpdir), 1);
	/* The mode is exact, whatever the umask. */
	umask(077);
	ck_assert(safe_write_file(p, "", 0, 0644));
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_size, 0);
	umask(022);
}
END_TEST

START_TEST(test_write_file_atomic_for_readers)
{
	const char *p = path_in("file");
	int fd;
	char buf[16];
	ssize_t n;

	ck_assert(safe_write_file(p, "old", 3, 0644));
	/* A reader that opened the old file keeps the old contents: the
	 * new file is a different inode, never an in-place rewrite. */
	fd = open(p, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert(safe_write_file(p, "new!", 4, 0644));
	n = read(fd, buf, sizeof(buf));
	ck_assert_int_eq(n, 3);
	ck_assert(memcmp(buf, "old", 3) == 0);
	close(fd);
	assert_content(p, "new!");
}
END_TEST

START_TEST(test_write_file_failures_leave_nothing)
{
	const char *sub = path_in("sub");

	/* Missing directory: nothing created. */
	errno = 0;
	ck_assert(!safe_write_file(path_in("nodir/file"), "x", 1, 0644));
	ck_assert_int_eq(errno, ENOENT);
	/* The target is a directory: the temporary file is written, the
	 * rename fails, and the temporary file must be gone. */
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	errno = 0;
	ck_assert(!safe_write_file(sub, "x", 1, 0644));
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_int_eq(tu_count_entries(tmpdir), 1);
	/* A path ending in '/' names no file. */
	ck_assert(!safe_write_file(path_in(""), "x", 1, 0644));
	ck_assert_int_eq(tu_count_entries(tmpdir), 1);
}
END_TEST

START_TEST(test_write_all_short_writes)
{
	size_t len = 1 << 20, got = 0;
	char *data = mem_alloc(len), buf[4096];
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	memset(data, 'a', len);
	data[len - 1] = 'z';
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The pipe holds 64k: the parent's write returns short
		 * many times while this child reads slowly. */
		close(fds[0]);
		_exit(safe_write_all(fds[1], data, len) ? 0 : 1);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
		got += (size_t)n;
		if (got == len)
			ck_assert_int_eq(buf[n - 1], 'z');
	}
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(got, len);
	free(data);
	/* A bad descriptor fails with errno set. */
	errno = 0;
	ck_assert(!safe_write_all(-1, "x", 1));
	ck_assert_int_eq(errno, EBADF);
	ck_assert(safe_write_all(-1, "", 0));
}
END_TEST

/* writev: short writes resume mid-buffer, empty buffers are skipped. */
START_TEST(test_writev_all_short_writes)
{
	size_t len = 300000, got = 0, want = 0;
	char *data = mem_alloc(len), buf[4096];
	struct iovec iov[5];
	unsigned long sum = 0, want_sum = 0;
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 23);
	iov[0] = (struct iovec){ data, 100 };
	iov[1] = (struct iovec){ data, 0 };
	iov[2] = (struct iovec){ data + 100, 150000 };
	iov[3] = (struct iovec){ data + 150100, 0 };
	iov[4] = (struct iovec){ data + 150100, len - 150100 };
	for (size_t i = 0; i < len; i++)
		want_sum = want_sum * 31 + (unsigned char)data[i];
	want = len;
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(safe_writev_all(fds[1], iov, 5) ? 0 : 1);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			sum = sum * 31 + (unsigned char)buf[i];
		got += (size_t)n;
	}
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(got, want);
	ck_assert(sum == want_sum);
	free(data);
	errno = 0;
	ck_assert(!safe_writev_all(-1, iov, 1));
	ck_assert_int_eq(errno, EBADF);
	ck_assert(!safe_writev_all(1, iov, SAFE_IOV_MAX + 1));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_write_all_broken_pipe)
{
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	errno = 0;
	ck_assert(!safe_write_all(fds[1], "x", 1));
	ck_assert_int_eq(errno, EPIPE);
	close(fds[1]);
}
END_TEST

START_TEST(test_read_file_max)
{
	const char *p = path_in("data");
	struct str s = STR_INIT;

	ck_assert(safe_write_file(p, "0123456789", 10, 0644));
	str_set(&s, "prefix:");
	ck_assert(safe_read_file(p, &s, 10));	/* exactly max is fine */
	ck_assert_str_eq(str_c(&s), "prefix:0123456789");
	/* One byte over: fails, and out is left as it was. */
	str_set(&s, "prefix:");
	errno = 0;
	ck_assert(!safe_read_file(p, &s, 9));
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_str_eq(str_c(&s), "prefix:");
	ck_assert_uint_eq(s.len, 7);
	errno = 0;
	ck_assert(!safe_read_file(path_in("missing"), &s, 100));
	ck_assert_int_eq(errno, ENOENT);
	/* A big file over several read()s. */
	{
		size_t len = 100000;
		char *big = mem_alloc(len);

		memset(big, 'b', len);
		ck_assert(safe_write_file(p, big, len, 0644));
		str_clear(&s);
		ck_assert(safe_read_file(p, &s, len));
		ck_assert_uint_eq(s.len, len);
		ck_assert(memcmp(s.data, big, len) == 0);
		str_clear(&s);
		ck_assert(!safe_read_file(p, &s, len - 1));
		ck_assert_uint_eq(s.len, 0);
		free(big);
	}
	str_release(&s);
}
END_TEST

START_TEST(test_mkdir_p)
{
	const char *deep = path_in("a/b//c/");
	struct stat st;

	ck_assert(safe_mkdir_p(deep, 0750));
	ck_assert_int_eq(stat(path_in("a/b/c"), &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0750);
	ck_assert_int_eq(stat(path_in("a"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0750);
	/* Existing directories are fine. */
	ck_assert(safe_mkdir_p(path_in("a/b/c"), 0700));
	ck_assert(safe_mkdir_p(tmpdir, 0700));
	/* A file in the way is not. */
	ck_assert(safe_write_file(path_in("a/f"), "x", 1, 0644));
	errno = 0;
	ck_assert(!safe_mkdir_p(path_in("a/f/g"), 0700));
	ck_assert_int_eq(errno, ENOTDIR);
	errno = 0;
	ck_assert(!safe_mkdir_p(path_in("a/f"), 0700));
	ck_assert_int_eq(errno, ENOTDIR);
	errno = 0;
	ck_assert(!safe_mkdir_p("", 0700));
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_mkdirat_never_follows)
{
	struct stat st, target;
	bool made = false;
	int dir, fd;

	dir = open(tmpdir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dir, 0);
	fd = safe_mkdirat(dir, "new", 0750, &made);
	ck_assert_int_ge(fd, 0);
	ck_assert(made);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	close(fd);
	/* An existing directory is opened. */
	fd = safe_mkdirat(dir, "new", 0700, &made);
	ck_assert_int_ge(fd, 0);
	ck_assert(!made);
	close(fd);
	/* A symlink to a directory is refused, and the target untouched. */
	ck_assert(safe_mkdir_p(path_in("elsewhere"), 0755));
	ck_assert_int_eq(symlink(path_in("elsewhere"), path_in("link")), 0);
	errno = 0;
	ck_assert_int_lt(safe_mkdirat(dir, "link", 0700, NULL), 0);
	ck_assert(errno == ELOOP || errno == ENOTDIR);
	ck_assert_int_eq(stat(path_in("elsewhere"), &target), 0);
	ck_assert_uint_eq(target.st_mode & 0777, 0755);
	/* So is a file, a dangling symlink and more than one component. */
	ck_assert(safe_write_file(path_in("f"), "x", 1, 0644));
	ck_assert_int_lt(safe_mkdirat(dir, "f", 0700, NULL), 0);
	ck_assert_int_eq(symlink(path_in("nowhere"), path_in("dangling")), 0);
	ck_assert_int_lt(safe_mkdirat(dir, "dangling", 0700, NULL), 0);
	ck_assert_int_ne(access(path_in("nowhere"), F_OK), 0);
	errno = 0;
	ck_assert_int_lt(safe_mkdirat(dir, "new/sub", 0700, NULL), 0);
	ck_assert_int_eq(errno, EINVAL);
	close(dir);
}
END_TEST

START_TEST(test_fsync_dir_and_rename)
{
	const char *from = path_in("from");
	const char *sub = path_in("sub");

	ck_assert(safe_fsync_dir(tmpdir));		/* a directory */
	ck_assert(safe_write_file(from, "x", 1, 0644));
	ck_assert(safe_fsync_dir(from));		/* a file: its dir */
	ck_assert(safe_fsync_dir(path_in("not-yet")));	/* parent exists */
	errno = 0;
	ck_assert(!safe_fsync_dir(path_in("nodir/file")));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(safe_mkdir_p(sub, 0755));
	ck_assert(safe_rename(from, path_in("sub/to")));
	assert_content(path_in("sub/to"), "x");
	ck_assert_int_eq(access(from, F_OK), -1);
	errno = 0;
	ck_assert(!safe_rename(from, path_in("sub/to")));
	ck_assert_int_eq(errno, ENOENT);
	/* Relative names use the current directory. */
	ck_assert_int_eq(chdir(sub), 0);
	ck_assert(safe_rename("to", "to2"));
	ck_assert(safe_fsync_dir("to2"));
	assert_content("to2", "x");
}
END_TEST

START_TEST(test_mkdir_at_refuses_symlinks)
{
	int base, fd;
	struct stat st;

	ck_assert(safe_mkdir_p(path_in("base"), 0755));
	ck_assert(safe_mkdir_p(path_in("victim"), 0755));
	base = safe_open_dir(path_in("base"));
	ck_assert_int_ge(base, 0);
	/* A fresh tree is made and its last directory returned. */
	fd = safe_mkdir_at(base, "d/u/", 0700, (uid_t)-1, (gid_t)-1);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	close(fd);
	ck_assert_int_eq(stat(path_in("base/d/u"), &st), 0);
	/* A symlink at the last or a middle component is never followed. */
	ck_assert_int_eq(symlink(path_in("victim"), path_in("base/d/l")), 0);
	errno = 0;
	ck_assert_int_eq(safe_mkdir_at(base, "d/l", 0700, (uid_t)-1,
				       (gid_t)-1), -1);
	ck_assert_int_eq(errno, ELOOP);
	errno = 0;
	ck_assert_int_eq(safe_mkdir_at(base, "d/l/sub", 0700, (uid_t)-1,
				       (gid_t)-1), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(access(path_in("victim/sub"), F_OK), -1);
	/* ".." never climbs out. */
	errno = 0;
	ck_assert_int_eq(safe_mkdir_at(base, "d/../../x", 0700, (uid_t)-1,
				       (gid_t)-1), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* safe_mkdir_p follows a link of root's or of our own (in such a
	 * directory), and no one else's. */
	ck_assert(safe_mkdir_p(path_in("base/d/l/own"), 0700));
	ck_assert_int_eq(access(path_in("victim/own"), F_OK), 0);
	if (geteuid() == 0) {
		ck_assert_int_eq(lchown(path_in("base/d/l"), 65534, 65534), 0);
		errno = 0;
		ck_assert(!safe_mkdir_p(path_in("base/d/l/sub"), 0700));
		ck_assert_int_eq(errno, ELOOP);
	}
	close(base);
}
END_TEST

START_TEST(test_open_regular)
{
	const char *why;
	uid_t owner;
	int fd;
	struct str s = STR_INIT;

	ck_assert(safe_write_file(path_in("ok"), "a\nb\n", 4, 0640));
	fd = safe_open_regular(AT_FDCWD, path_in("ok"), &owner, &why);
	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(owner, geteuid());
	ck_assert(safe_read_fd(fd, &s, 100));
	ck_assert_str_eq(str_c(&s), "a\nb\n");
	close(fd);
	/* A FIFO with no writer: refused at once, not waited on. */
	ck_assert_int_eq(mkfifo(path_in("fifo"), 0600), 0);
	ck_assert_int_eq(safe_open_regular(AT_FDCWD, path_in("fifo"), NULL,
					   &why), -1);
	ck_assert_str_eq(why, "is not a regular file");
	ck_assert_int_eq(symlink(path_in("ok"), path_in("link")), 0);
	ck_assert_int_eq(safe_open_regular(AT_FDCWD, path_in("link"), NULL,
					   &why), -1);
	ck_assert_str_eq(why, "is a symbolic link");
	ck_assert(safe_write_file(path_in("ww"), "x", 1, 0666));
	ck_assert_int_eq(safe_open_regular(AT_FDCWD, path_in("ww"), NULL,
					   &why), -1);
	ck_assert_str_eq(why, "is world-writable");
	ck_assert_int_eq(safe_open_regular(AT_FDCWD, tmpdir, NULL, &why), -1);
	ck_assert_str_eq(why, "is not a regular file");
	errno = 0;
	ck_assert_int_eq(safe_open_regular(AT_FDCWD, path_in("none"), NULL,
					   &why), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_null(why);
	str_release(&s);
}
END_TEST

/* Try the lock in a child; its exit status: 0 got it, 1 EWOULDBLOCK,
 * 2 another error. */
static int lock_in_child(const char *path)
{
	int status, fd;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fd = safe_lock_file(path);
		if (fd >= 0)
			_exit(0);
		_exit(errno == EWOULDBLOCK ? 1 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(test_lock_file)
{
	const char *p = path_in("master.lock");
	int fd, fd2;

	fd = safe_lock_file(p);
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(lock_in_child(p), 1);
	/* A second open in the same process is refused too. */
	errno = 0;
	fd2 = safe_lock_file(p);
	ck_assert_int_eq(fd2, -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	/* Released on close: the next locker gets it. */
	close(fd);
	ck_assert_int_eq(lock_in_child(p), 0);
	/* A lock file in a missing directory is an ordinary error. */
	ck_assert_int_eq(lock_in_child(path_in("nodir/x.lock")), 2);
}
END_TEST

START_TEST(test_lock_dies_with_holder)
{
	const char *p = path_in("held.lock");
	int fds[2], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (safe_lock_file(p) < 0)
			_exit(1);
		(void)!write(fds[1], "L", 1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &c, 1), 1);
	ck_assert_int_eq(safe_lock_file(p), -1);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_ge(safe_lock_file(p), 0);
	close(fds[0]);
}
END_TEST

static Suite *safe_file_suite(void)
{
	Suite *s = suite_create("safe_file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_file_replaces);
	tcase_add_test(tc, test_write_file_atomic_for_readers);
	tcase_add_test(tc, test_write_file_failures_leave_nothing);
	tcase_add_test(tc, test_write_all_short_writes);
	tcase_add_test(tc, test_writev_all_short_writes);
	tcase_add_test(tc, test_write_all_broken_pipe);
	tcase_add_test(tc, test_read_file_max);
	tcase_add_test(tc, test_mkdir_p);
	tcase_add_test(tc, test_mkdirat_never_follows);
	tcase_add_test(tc, test_mkdir_at_refuses_symlinks);
	tcase_add_test(tc, test_open_regular);
	tcase_add_test(tc, test_fsync_dir_and_rename);
	tcase_add_test(tc, test_open_noatime);
	tcase_add_test(tc, test_lock_file);
	tcase_add_test(tc, test_lock_dies_with_holder);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(safe_file_suite());
}
