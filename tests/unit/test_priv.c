/*
 * Unit tests for common/priv.c: user lookup, the verified privilege drop
 * and chroot.
 *
 * Dropping privileges cannot be undone, so every drop happens in a child
 * forked by the test itself (not relying on Check's fork mode); the child
 * reports what it saw through its exit status. The drop and chroot
 * tests need root and are skipped with a message otherwise.
 *
 * SECURITY: test code; runs as whoever runs "make check".
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "priv.h"
#include "str.h"
#include "test_util.h"

#define NO_SUCH_USER "correo-no-such-user-xyz"

static bool skip_unless_root(const char *what)
{
	if (priv_is_root())
		return false;
	fprintf(stderr, "test_priv: not root, skipping %s\n", what);
	return true;
}

START_TEST(test_lookup_root)
{
	struct priv_user user;

	ck_assert_int_eq(priv_user_lookup("root", &user), 1);
	ck_assert_str_eq(user.name, "root");
	ck_assert_int_eq(user.uid, 0);
	ck_assert_int_eq(user.gid, 0);
	ck_assert_ptr_nonnull(user.home);
	priv_user_free(&user);
	ck_assert_ptr_null(user.name);
	ck_assert_ptr_null(user.home);
}
END_TEST

START_TEST(test_lookup_missing)
{
	struct priv_user user;

	ck_assert_int_eq(priv_user_lookup(NO_SUCH_USER, &user), 0);
	ck_assert_int_eq(priv_user_lookup("", &user), 0);
}
END_TEST

/* In the child: drop to nobody (by name, or with just its gid), then
 * check every id, the groups and that root cannot be regained. */
static int drop_nobody(void *arg)
{
	bool by_name = arg != NULL;
	struct priv_user user;
	const char *error;
	uid_t r, e, s;
	gid_t rg, eg, sg, groups[64];
	int n;

	if (priv_user_lookup("nobody", &user) != 1)
		return 10;
	if (!priv_drop(by_name ? user.name : NULL, user.uid, user.gid,
		       &error)) {
		fprintf(stderr, "drop failed: %s\n", error);
		return 11;
	}
	if (getresuid(&r, &e, &s) < 0 || r != user.uid || e != user.uid ||
	    s != user.uid)
		return 12;
	if (getresgid(&rg, &eg, &sg) < 0 || rg != user.gid ||
	    eg != user.gid || sg != user.gid)
		return 13;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return 14;
	if (priv_is_root())
		return 15;
	n = getgroups(64, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == 0)
			return 16;
	if (!by_name && (n != 1 || groups[0] != user.gid))
		return 17;
	/* Going back must fail, and say why. */
	if (priv_drop(NULL, 0, 0, &error) || strstr(error, "setgroups") ==
	    NULL)
		return 18;
	priv_user_free(&user);
	return 0;
}

START_TEST(test_drop_by_name)
{
	if (skip_unless_root("priv_drop by name"))
		return;
	ck_assert_int_eq(tu_run_child(drop_nobody, (void *)"name"), 0);
}
END_TEST

START_TEST(test_drop_by_gid)
{
	if (skip_unless_root("priv_drop without a name"))
		return;
	ck_assert_int_eq(tu_run_child(drop_nobody, NULL), 0);
}
END_TEST

static int drop_bad_name(void *arg)
{
	const char *error = NULL;
	struct priv_user user;

	if (priv_drop(NO_SUCH_USER, 65534, 65534, &error))
		return 20;
	if (error == NULL || strcmp(error, "no such user") != 0)
		return 21;
	/* Nothing was changed by the failed attempt. */
	if (getuid() != 0 || geteuid() != 0)
		return 22;
	/* A name that does not own the uid is refused too. */
	if (priv_user_lookup("nobody", &user) != 1)
		return 23;
	if (priv_drop("root", user.uid, user.gid, &error))
		return 24;
	if (strcmp(error, "user name and uid disagree") != 0)
		return 25;
	priv_user_free(&user);
	return 0;
}

START_TEST(test_drop_bad_name)
{
	if (skip_unless_root("priv_drop to an unknown user"))
		return;
	ck_assert_int_eq(tu_run_child(drop_bad_name, NULL), 0);
}
END_TEST

START_TEST(test_drop_not_root)
{
	const char *error = NULL;

	if (priv_is_root()) {
		fprintf(stderr, "test_priv: root, skipping the non-root "
			"drop failure\n");
		return;
	}
	ck_assert(!priv_drop(NULL, 0, 0, &error));
	ck_assert_ptr_nonnull(error);
}
END_TEST

static int chroot_child(void *arg)
{
	const char *dir = arg;
	const char *error;
	struct stat before, after;

	if (stat(dir, &before) < 0)
		return 30;
	if (!priv_chroot(dir, &error)) {
		fprintf(stderr, "chroot failed: %s\n", error);
		return 31;
	}
	if (stat("/", &after) < 0 || stat(".", &after) < 0)
		return 32;
	if (after.st_ino != before.st_ino || after.st_dev != before.st_dev)
		return 33;
	if (access("/marker", F_OK) < 0)
		return 34;
	/* ".." of the new root is the root itself. */
	if (stat("/..", &after) < 0 || after.st_ino != before.st_ino)
		return 35;
	return 0;
}

START_TEST(test_chroot)
{
	char dir[] = "/tmp/test_priv.XXXXXX";
	char marker[64];
	int fd;

	if (skip_unless_root("priv_chroot"))
		return;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert(str_snprintf(marker, sizeof(marker), "%s/marker", dir));
	fd = open(marker, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tu_run_child(chroot_child, dir), 0);
	unlink(marker);
	rmdir(dir);
}
END_TEST

/* The drop with a chroot in between: the jail has no /etc, yet the
 * name is checked and the groups verified. */
static int drop_chroot_child(void *arg)
{
	const char *dir = arg;
	struct priv_user user;
	const char *error;
	struct stat before, after;

	if (stat(dir, &before) < 0 || priv_user_lookup("nobody", &user) != 1)
		return 40;
	if (!priv_drop_chroot(user.name, user.uid, user.gid, dir, &error)) {
		fprintf(stderr, "drop_chroot failed: %s\n", error);
		return 41;
	}
	if (getuid() != user.uid || getgid() != user.gid || setuid(0) == 0)
		return 42;
	if (stat("/", &after) < 0 || after.st_ino != before.st_ino)
		return 43;
	if (access("/marker", F_OK) < 0)
		return 44;
	/* No way back out, and no user database in here. */
	if (priv_user_lookup("nobody", &user) == 1 && user.uid == 0)
		return 45;
	return 0;
}

START_TEST(test_drop_chroot)
{
	char dir[] = "/tmp/test_priv.XXXXXX";
	char marker[64];
	int fd;

	if (skip_unless_root("priv_drop_chroot"))
		return;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert(str_snprintf(marker, sizeof(marker), "%s/marker", dir));
	fd = open(marker, O_CREAT | O_WRONLY, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tu_run_child(drop_chroot_child, dir), 0);
	unlink(marker);
	rmdir(dir);
}
END_TEST

static int drop_chroot_missing(void *arg)
{
	const char *error = NULL;

	if (priv_drop_chroot(NULL, 65534, 65534, "/nonexistent/jail",
			     &error))
		return 50;
	if (strstr(error, "chdir") == NULL)
		return 51;
	return 0;
}

START_TEST(test_drop_chroot_missing)
{
	if (skip_unless_root("priv_drop_chroot to a missing directory"))
		return;
	ck_assert_int_eq(tu_run_child(drop_chroot_missing, NULL), 0);
}
END_TEST

START_TEST(test_chroot_missing)
{
	const char *error = NULL;

	ck_assert(!priv_chroot("/nonexistent/correo-test", &error));
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, "chdir") != NULL, "error: %s", error);
	ck_assert_msg(strstr(error, "No such file") != NULL, "error: %s",
		      error);
}
END_TEST

static Suite *priv_suite(void)
{
	Suite *s = suite_create("priv");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lookup_root);
	tcase_add_test(tc, test_lookup_missing);
	tcase_add_test(tc, test_drop_by_name);
	tcase_add_test(tc, test_drop_by_gid);
	tcase_add_test(tc, test_drop_bad_name);
	tcase_add_test(tc, test_drop_not_root);
	tcase_add_test(tc, test_chroot);
	tcase_add_test(tc, test_chroot_missing);
	tcase_add_test(tc, test_drop_chroot);
	tcase_add_test(tc, test_drop_chroot_missing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(priv_suite());
}
