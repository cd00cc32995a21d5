#ifndef COMMON_PRIV_H
#define COMMON_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

/* Privilege helpers. Dropping privileges is verified afterwards: if the
 * process could regain root, or any id is not what was asked, the drop
 * is treated as failed (and callers make that fatal). */

struct priv_user {
	char *name;
	uid_t uid;
	gid_t gid;
	char *home;
	char *shell;		/* "" if the entry has none */
};

/* -1 error (errno), 0 no such user, 1 found (free with priv_user_free). */
int priv_user_lookup(const char *name, struct priv_user *user_r);
void priv_user_free(struct priv_user *user);

bool priv_is_root(void);
/* initgroups (or setgroups to just gid when name is NULL), setgid, setuid;
 * then verify real/effective/saved ids and that setuid(0) fails.
 * Returns false with a static message in *error_r. */
bool priv_drop(const char *name, uid_t uid, gid_t gid, const char **error_r);
/* priv_drop with chroot(dir) between the group and the user change, so
 * the user and group files are read outside the jail (as Postfix's
 * chroot_uid does). dir NULL: no chroot. */
bool priv_drop_chroot(const char *name, uid_t uid, gid_t gid,
		      const char *dir, const char **error_r);
/* chdir(dir), chroot("."), chdir("/"). */
bool priv_chroot(const char *dir, const char **error_r);

#endif
