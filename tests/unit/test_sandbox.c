/*
 * Unit tests for common/util/sandbox.c: seccomp allowlists (a call
 * outside the list kills with SIGSYS, an allowed one works, argument
 * checks), Landlock, core dumps, the capability reduction of the
 * processes that switch users, sandbox = no, and master's floor.
 *
 * A sandbox cannot be undone, so every test installs it in a child it
 * forks (tu_run_child) and reads the child's fate from its exit status:
 * 0 is success, 100 + N death by signal N (SIGSYS is 31 on x86_64),
 * other numbers name the step that went wrong. Children leave with
 * _exit, as tu_run_child does. The capability tests need root and are
 * skipped with a message otherwise.
 *
 * SECURITY: test code; runs as whoever runs "make check".
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "sandbox.h"
#include "str.h"
#include "test_util.h"

#define DIED_SIGSYS (100 + SIGSYS)

static char tmp[256];

static void setup(void)
{
	tu_tmpdir(tmp, sizeof(tmp), "test_sandbox");
	tu_write_file(tu_path(tmp, "file"), "hello\n", 0644);
}

static void teardown(void)
{
	(void)tu_rmtree(tmp);
}

/* The value of "Key:" in /proc/self/status, as text; "" if absent. */
static void proc_status(const char *key, char *out, size_t size)
{
	char line[256];
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	out[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			str_snprintf(out, size, "%s", str_trim(line + n + 1));
			break;
		}
	}
	fclose(f);
}

static int seccomp_only(unsigned allow)
{
	const char *error;

	if (!sandbox_no_new_privs(&error) || !sandbox_seccomp(allow, &error))
		return 2;
	return 0;
}

/* ---- seccomp ---- */

static int child_allowed(void *arg)
{
	int p[2];
	char c = 0;

	if (seccomp_only(0) != 0)
		return 2;
	/* The base set: pipes, I/O, time, ids. */
	if (pipe2(p, O_CLOEXEC) < 0 || write(p[1], "x", 1) != 1 ||
	    read(p[0], &c, 1) != 1 || c != 'x')
		return 3;
	if (getpid() <= 0 || time(NULL) == (time_t)-1)
		return 4;
	return 0;
}

START_TEST(test_allowed_call_works)
{
	ck_assert_int_eq(tu_run_child(child_allowed, NULL), 0);
}
END_TEST

static int child_open(void *arg)
{
	if (seccomp_only(0) != 0)
		return 2;
	(void)open(tu_path(tmp, "file"), O_WRONLY);
	return 3;		/* still alive: the filter let it through */
}

START_TEST(test_forbidden_call_kills)
{
	ck_assert_int_eq(tu_run_child(child_open, NULL), DIED_SIGSYS);
}
END_TEST

static int child_fork(void *arg)
{
	pid_t pid;

	if (seccomp_only((unsigned)(long)arg) != 0)
		return 2;
	pid = fork();
	if (pid == 0)
		_exit(7);
	if (pid < 0)
		return 3;
	return tu_wait(pid) == 7 ? 0 : 4;
}

START_TEST(test_fork_needs_its_class)
{
	ck_assert_int_eq(tu_run_child(child_fork, (void *)0L), DIED_SIGSYS);
	ck_assert_int_eq(tu_run_child(child_fork,
				      (void *)(long)SANDBOX_ALLOW_FORK), 0);
}
END_TEST

static int child_read_only(void *arg)
{
	int fd;

	if (seccomp_only(SANDBOX_ALLOW_FS_READ) != 0)
		return 2;
	fd = open(tu_path(tmp, "file"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 3;
	close(fd);
	/* Directories too (OpenSSL lists its CA directory). */
	fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 4;
	close(fd);
	if ((long)arg == 1)
		(void)open(tu_path(tmp, "new"), O_WRONLY | O_CREAT, 0600);
	if ((long)arg == 2)
		(void)open(tu_path(tmp, "file"), O_RDWR);
	if ((long)arg == 3)
		(void)unlink(tu_path(tmp, "file"));
	return 0;
}

START_TEST(test_fs_read_opens_read_only)
{
	ck_assert_int_eq(tu_run_child(child_read_only, (void *)0L), 0);
	ck_assert_int_eq(tu_run_child(child_read_only, (void *)1L),
			 DIED_SIGSYS);
	ck_assert_int_eq(tu_run_child(child_read_only, (void *)2L),
			 DIED_SIGSYS);
	ck_assert_int_eq(tu_run_child(child_read_only, (void *)3L),
			 DIED_SIGSYS);
	ck_assert_int_eq(access(tu_path(tmp, "new"), F_OK), -1);
}
END_TEST

static int child_sockets(void *arg)
{
	int fd;

	if (seccomp_only(0) != 0)
		return 2;
	/* syslog(3)'s datagram socket is in the base. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 3;
	close(fd);
	/* A Unix stream socket fails politely (NSS modules try one). */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 || errno != EACCES)
		return 4;
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return 5;
}

START_TEST(test_socket_families)
{
	ck_assert_int_eq(tu_run_child(child_sockets, NULL), DIED_SIGSYS);
}
END_TEST

static int child_inet(void *arg)
{
	int fd;

	if (seccomp_only(SANDBOX_ALLOW_INET) != 0)
		return 2;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno != EAFNOSUPPORT)
		return 3;
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 4;
	close(fd);
	/* Namespaces are never in a profile. */
	(void)unshare(CLONE_NEWNET);
	return 5;
}

START_TEST(test_inet_but_no_namespaces)
{
	ck_assert_int_eq(tu_run_child(child_inet, NULL), DIED_SIGSYS);
}
END_TEST

static int child_exec(void *arg)
{
	if (seccomp_only(SANDBOX_ALLOW_FS_WRITE | SANDBOX_ALLOW_FORK) != 0)
		return 2;
	execl("/bin/true", "true", (char *)NULL);
	return 3;
}

START_TEST(test_exec_needs_its_class)
{
	ck_assert_int_eq(tu_run_child(child_exec, NULL), DIED_SIGSYS);
}
END_TEST

/* Filters stack: a second, stricter one takes away what the first
 * allowed. */
static int child_stack(void *arg)
{
	const char *error;

	if (seccomp_only(SANDBOX_ALLOW_FS_READ | SANDBOX_ALLOW_STACK) != 0)
		return 2;
	if (chdir(tmp) < 0)
		return 3;
	if (!sandbox_seccomp(0, &error))
		return 4;
	(void)chdir("/");
	return 5;
}

START_TEST(test_filters_stack)
{
	ck_assert_int_eq(tu_run_child(child_stack, NULL), DIED_SIGSYS);
}
END_TEST

/* ---- Landlock ---- */

static bool landlock_available(void)
{
	static const struct sandbox_path none[] = { { NULL, SANDBOX_FS_RO } };
	const char *error;
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (!sandbox_no_new_privs(&error))
			_exit(2);
		_exit(sandbox_landlock(none, &error) == 1 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int child_landlock(void *arg)
{
	struct sandbox_path paths[] = {
		{ tu_path(tmp, "ro"), SANDBOX_FS_RO },
		{ tu_path(tmp, "rw"), SANDBOX_FS_RW },
		{ tu_path(tmp, "absent"), SANDBOX_FS_RW },
		{ NULL, SANDBOX_FS_RO },
	};
	const char *error;
	int fd;

	if (!sandbox_no_new_privs(&error) ||
	    sandbox_landlock(paths, &error) != 1)
		return 2;
	fd = open(tu_path(tmp, "ro/f"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 3;
	close(fd);
	if (open(tu_path(tmp, "ro/g"), O_WRONLY | O_CREAT | O_CLOEXEC,
		 0600) >= 0 || errno != EACCES)
		return 4;
	if (open(tu_path(tmp, "file"), O_RDONLY | O_CLOEXEC) >= 0 ||
	    errno != EACCES)
		return 5;
	fd = open(tu_path(tmp, "rw/new"), O_WRONLY | O_CREAT | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return 6;
	close(fd);
	/* A FIFO may be renamed within reach (pickup's quarantine). */
	if (rename(tu_path(tmp, "rw/fifo"), tu_path(tmp, "rw/sub/fifo")) < 0)
		return 7;
	if (rename(tu_path(tmp, "rw/new"), tu_path(tmp, "ro/new")) == 0)
		return 8;
	return 0;
}

START_TEST(test_landlock_paths)
{
	if (!landlock_available()) {
		fprintf(stderr, "test_sandbox: no Landlock, skipping\n");
		return;
	}
	ck_assert_int_eq(mkdir(tu_path(tmp, "ro"), 0755), 0);
	ck_assert_int_eq(mkdir(tu_path(tmp, "rw"), 0755), 0);
	ck_assert_int_eq(mkdir(tu_path(tmp, "rw/sub"), 0755), 0);
	ck_assert_int_eq(mkfifo(tu_path(tmp, "rw/fifo"), 0600), 0);
	tu_write_file(tu_path(tmp, "ro/f"), "x", 0644);
	ck_assert_int_eq(tu_run_child(child_landlock, NULL), 0);
	ck_assert_int_eq(access(tu_path(tmp, "rw/new"), F_OK), 0);
	ck_assert_int_eq(access(tu_path(tmp, "ro/new"), F_OK), -1);
}
END_TEST

/* "@tables": the directory of each configured table is readable. */
static int child_tables(void *arg)
{
	static const struct sandbox_path paths[] = {
		{ "@tables", SANDBOX_FS_RO },
		{ NULL, SANDBOX_FS_RO },
	};
	const char *error;
	int fd;

	if (!sandbox_no_new_privs(&error) ||
	    sandbox_landlock(paths, &error) != 1)
		return 2;
	fd = open(tu_path(tmp, "maps/other"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 3;
	close(fd);
	if (open(tu_path(tmp, "file"), O_RDONLY | O_CLOEXEC) >= 0 ||
	    errno != EACCES)
		return 4;
	return 0;
}

START_TEST(test_landlock_tables)
{
	struct str conf = STR_INIT;
	char *error = NULL;

	if (!landlock_available()) {
		fprintf(stderr, "test_sandbox: no Landlock, skipping\n");
		return;
	}
	ck_assert_int_eq(mkdir(tu_path(tmp, "maps"), 0755), 0);
	tu_write_file(tu_path(tmp, "maps/other"), "x", 0644);
	str_printf(&conf, "transport_maps = inline:{a=b}, hash:%s/maps/t\n",
		   tmp);
	/* The default tables (aliases, passwd) live in the config
	 * directory: one that does not exist, so only maps/ is added. */
	cfg_main = cfg_parse(str_c(&conf), "test", tu_path(tmp, "conf"),
			     &error);
	ck_assert_msg(cfg_main != NULL, "%s", error);
	ck_assert_int_eq(tu_run_child(child_tables, NULL), 0);
	cfg_free(&cfg_main);
	str_release(&conf);
}
END_TEST

/* ---- The whole profile, dumps, sandbox = no ---- */

/* With "sandbox = no" the child can still read its own status. */
static int child_profile(void *arg)
{
	char nnp[32], sec[32];
	struct rlimit rl;
	const char *error;

	if (!sandbox_apply(&sandbox_pop3_login, &error))
		return 2;
	proc_status("NoNewPrivs", nnp, sizeof(nnp));
	proc_status("Seccomp", sec, sizeof(sec));
	if (strcmp(nnp, "1") != 0)
		return 3;
	if (strcmp(sec, "0") != 0)
		return 4;
	/* NoNewPrivs and the dump settings stay. */
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return 5;
	if (getrlimit(RLIMIT_CORE, &rl) < 0 || rl.rlim_cur != 0 ||
	    rl.rlim_max != 0)
		return 6;
	return 0;
}

START_TEST(test_config_switch)
{
	char *error = NULL;

	cfg_main = cfg_parse("sandbox = no\n", "test", tmp, &error);
	ck_assert_msg(cfg_main != NULL, "%s", error);
	ck_assert(!sandbox_enabled());
	ck_assert_int_eq(tu_run_child(child_profile, NULL), 0);
	cfg_free(&cfg_main);
	ck_assert(sandbox_enabled());
}
END_TEST

/* /proc/PID/status of a sandboxed child, read by its parent. */
START_TEST(test_apply_shows_in_proc)
{
	char path[64], buf[4096];
	const char *error;
	int p[2], q[2], fd;
	ssize_t n;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		close(q[1]);
		if (!sandbox_apply(&sandbox_echod, &error))
			_exit(2);
		(void)write(p[1], "x", 1);
		/* Wait with an allowed call until the parent has looked. */
		(void)read(q[0], &c, 1);
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	str_snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	close(q[1]);
	ck_assert_int_eq(tu_wait(pid), 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "\nNoNewPrivs:\t1\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nSeccomp:\t2\n"));
}
END_TEST

/* ---- Capabilities (root) ---- */

static int child_keep_setid(void *arg)
{
	char eff[32], bnd[32], prm[32];
	const char *error;
	pid_t pid;
	int fd;

	if (!sandbox_keep_setid(65534, 65534, &error))
		return 2;
	proc_status("CapEff", eff, sizeof(eff));
	proc_status("CapPrm", prm, sizeof(prm));
	proc_status("CapBnd", bnd, sizeof(bnd));
	if (strcmp(eff, "00000000000000c0") != 0 ||
	    strcmp(prm, "00000000000000c0") != 0 ||
	    strcmp(bnd, "00000000000000c0") != 0)
		return 3;
	/* Files as nobody: root's private file is out of reach. */
	fd = open(tu_path(tmp, "secret"), O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		return 4;
	/* Still able to switch users, and a worker that did is out of
	 * reach of kill() but not of sandbox_kill_as(). */
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		if (setuid(0) == 0)
			_exit(1);
		pause();
		_exit(0);
	}
	if (pid < 0)
		return 5;
	usleep(100000);
	if (kill(pid, SIGTERM) == 0 || errno != EPERM)
		return 6;
	if (sandbox_kill_as(65534, pid, SIGTERM) < 0)
		return 7;
	if (tu_wait(pid) != 100 + SIGTERM)
		return 8;
	/* And back to files as nobody after the switch. */
	fd = open(tu_path(tmp, "secret"), O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		return 9;
	return 0;
}

START_TEST(test_keep_setid)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox: not root, skipping "
			"test_keep_setid\n");
		return;
	}
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	tu_write_file(tu_path(tmp, "secret"), "x", 0600);
	ck_assert_int_eq(tu_run_child(child_keep_setid, NULL), 0);
}
END_TEST

/* ---- master's floor ---- */

static int child_master(void *arg)
{
	const char *error;
	pid_t pid;

	if (!sandbox_master(&error))
		return 2;
	/* Ordinary life goes on, exec included. */
	pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(9);
	}
	if (pid < 0 || tu_wait(pid) != 0)
		return 3;
	(void)mount("none", tmp, "tmpfs", 0, NULL);
	return 4;
}

START_TEST(test_master_floor)
{
	ck_assert_int_eq(tu_run_child(child_master, NULL), DIED_SIGSYS);
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_allowed_call_works);
	tcase_add_test(tc, test_forbidden_call_kills);
	tcase_add_test(tc, test_fork_needs_its_class);
	tcase_add_test(tc, test_fs_read_opens_read_only);
	tcase_add_test(tc, test_socket_families);
	tcase_add_test(tc, test_inet_but_no_namespaces);
	tcase_add_test(tc, test_exec_needs_its_class);
	tcase_add_test(tc, test_filters_stack);
	tcase_add_test(tc, test_landlock_paths);
	tcase_add_test(tc, test_landlock_tables);
	tcase_add_test(tc, test_config_switch);
	tcase_add_test(tc, test_apply_shows_in_proc);
	tcase_add_test(tc, test_keep_setid);
	tcase_add_test(tc, test_master_floor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(sandbox_suite());
}
