/*
 * priv: user lookup, verified privilege drop and chroot (priv.h).
 *
 * priv_drop() does not trust the return values of the set*id calls
 * alone: afterwards it reads back the real, effective and saved ids and
 * the supplementary group list, and checks that setuid(0) fails. Any
 * surprise is reported as a failed drop, which every caller turns into a
 * fatal error rather than running with unknown privileges.
 *
 * SECURITY: runs as root in master and in the daemons before they drop
 * privileges. The user name comes from the administrator's
 * configuration, never from a client.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "priv.h"
#include "str.h"

#define PRIV_PWBUF_MAX (1024 * 1024)
#define PRIV_MAX_GROUPS 65536

/* The error text handed back through *error_r. Static storage, as the
 * interface promises; the daemons are single threaded. */
static char priv_error[256];

static bool priv_fail(const char **error_r, const char *what)
{
	str_snprintf(priv_error, sizeof(priv_error), "%s: %s", what,
		     strerror(errno));
	*error_r = priv_error;
	return false;
}

static bool priv_fail_msg(const char **error_r, const char *what)
{
	str_snprintf(priv_error, sizeof(priv_error), "%s", what);
	*error_r = priv_error;
	return false;
}

int priv_user_lookup(const char *name, struct priv_user *user_r)
{
	struct passwd pw, *result = NULL;
	size_t size = 1024;
	char *buf;
	int ret;

	memset(user_r, 0, sizeof(*user_r));
	for (;;) {
		buf = mem_alloc(size);
		ret = getpwnam_r(name, &pw, buf, size, &result);
		if (ret != ERANGE || size >= PRIV_PWBUF_MAX)
			break;
		free(buf);
		size *= 2;
	}
	if (result == NULL) {
		free(buf);
		/* glibc reports "no such user" as 0 or one of these. */
		if (ret == 0 || ret == ENOENT || ret == ESRCH ||
		    ret == EBADF || ret == EPERM)
			return 0;
		errno = ret;
		return -1;
	}
	user_r->name = mem_strdup(pw.pw_name);
	user_r->uid = pw.pw_uid;
	user_r->gid = pw.pw_gid;
	user_r->home = mem_strdup(pw.pw_dir != NULL ? pw.pw_dir : "/");
	user_r->shell = mem_strdup(pw.pw_shell != NULL ? pw.pw_shell : "");
	free(buf);
	return 1;
}

void priv_user_free(struct priv_user *user)
{
	mem_free(user->name);
	mem_free(user->home);
	mem_free(user->shell);
}

bool priv_is_root(void)
{
	return geteuid() == 0;
}

static int priv_gid_cmp(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and remove duplicates (and gid itself: whether the primary group
 * also shows up in the supplementary list is an accident of the user
 * database). Returns the new count. */
static int priv_gid_normalize(gid_t *gids, int n, gid_t gid)
{
	int i, out = 0;

	qsort(gids, (size_t)n, sizeof(*gids), priv_gid_cmp);
	for (i = 0; i < n; i++) {
		if (gids[i] == gid || (out > 0 && gids[out - 1] == gids[i]))
			continue;
		gids[out++] = gids[i];
	}
	return out;
}

/* The supplementary groups initgroups(name, gid) should have set. */
static int priv_expected_groups(const char *name, gid_t gid, gid_t **gids_r)
{
	int n = 32;
	gid_t *gids = mem_array((size_t)n, sizeof(*gids));

	if (name == NULL) {
		gids[0] = gid;
		*gids_r = gids;
		return priv_gid_normalize(gids, 1, gid);
	}
	while (getgrouplist(name, gid, gids, &n) < 0) {
		if (n > PRIV_MAX_GROUPS) {
			free(gids);
			return -1;
		}
		gids = mem_array_realloc(gids, (size_t)n, sizeof(*gids));
	}
	*gids_r = gids;
	return priv_gid_normalize(gids, n, gid);
}

/* want/nwant: the groups computed before the change (the group file may
 * be out of reach in a chroot afterwards). */
static bool priv_verify_groups(const gid_t *want, int nwant, gid_t gid,
			       const char **error_r)
{
	gid_t *have;
	int nhave;
	bool ok;

	nhave = getgroups(0, NULL);
	if (nhave < 0)
		return priv_fail(error_r, "getgroups");
	have = mem_array((size_t)nhave + 1, sizeof(*have));
	nhave = getgroups(nhave, have);
	if (nhave < 0) {
		free(have);
		return priv_fail(error_r, "getgroups");
	}
	nhave = priv_gid_normalize(have, nhave, gid);
	ok = nwant == nhave && (nhave == 0 ||
	     memcmp(want, have, (size_t)nhave * sizeof(*have)) == 0);
	free(have);
	if (!ok)
		return priv_fail_msg(error_r, "supplementary groups are not "
				     "what was asked");
	return true;
}

static bool priv_verify(uid_t uid, gid_t gid, const gid_t *groups,
			int ngroups, const char **error_r)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) < 0)
		return priv_fail(error_r, "getresuid");
	if (getresgid(&rgid, &egid, &sgid) < 0)
		return priv_fail(error_r, "getresgid");
	if (ruid != uid || euid != uid || suid != uid)
		return priv_fail_msg(error_r, "user ids are not what was "
				     "asked after setresuid");
	if (rgid != gid || egid != gid || sgid != gid)
		return priv_fail_msg(error_r, "group ids are not what was "
				     "asked after setresgid");
	if (uid != 0 && setuid(0) == 0)
		return priv_fail_msg(error_r, "setuid(0) succeeded after "
				     "dropping privileges");
	return priv_verify_groups(groups, ngroups, gid, error_r);
}

/* initgroups() happily sets just gid for a name it does not know, so
 * check the name first: a typo in the configuration must not become a
 * process with the wrong groups. */
static bool priv_check_name(const char *name, uid_t uid,
			    const char **error_r)
{
	struct priv_user user;
	int ret = priv_user_lookup(name, &user);
	bool match;

	if (ret < 0)
		return priv_fail(error_r, "user lookup");
	if (ret == 0)
		return priv_fail_msg(error_r, "no such user");
	match = user.uid == uid;
	priv_user_free(&user);
	if (!match)
		return priv_fail_msg(error_r, "user name and uid disagree");
	return true;
}

static bool priv_change(const char *name, uid_t uid, gid_t gid,
			const char *dir, const char **error_r)
{
	if (name != NULL) {
		if (initgroups(name, gid) < 0)
			return priv_fail(error_r, "initgroups");
	} else if (setgroups(1, &gid) < 0) {
		return priv_fail(error_r, "setgroups");
	}
	/* Group first: once the uid is gone we could not change it. */
	if (setresgid(gid, gid, gid) < 0)
		return priv_fail(error_r, "setresgid");
	if (dir != NULL && !priv_chroot(dir, error_r))
		return false;
	if (setresuid(uid, uid, uid) < 0)
		return priv_fail(error_r, "setresuid");
	return true;
}

bool priv_drop_chroot(const char *name, uid_t uid, gid_t gid,
		      const char *dir, const char **error_r)
{
	gid_t *groups = NULL;
	int ngroups;
	bool ok;

	if (name != NULL && !priv_check_name(name, uid, error_r))
		return false;
	ngroups = priv_expected_groups(name, gid, &groups);
	if (ngroups < 0)
		return priv_fail_msg(error_r, "too many groups");
	ok = priv_change(name, uid, gid, dir, error_r) &&
		priv_verify(uid, gid, groups, ngroups, error_r);
	free(groups);
	return ok;
}

bool priv_drop(const char *name, uid_t uid, gid_t gid, const char **error_r)
{
	return priv_drop_chroot(name, uid, gid, NULL, error_r);
}

bool priv_chroot(const char *dir, const char **error_r)
{
	if (chdir(dir) < 0)
		return priv_fail(error_r, "chdir to the chroot directory");
	if (chroot(".") < 0)
		return priv_fail(error_r, "chroot");
	if (chdir("/") < 0)
		return priv_fail(error_r, "chdir / in the chroot");
	return true;
}
