#ifndef TOOLS_CORREO_INIT_H
#define TOOLS_CORREO_INIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "str.h"

/* What "correo init DIR" (an instance) and "correo setup" (the system
 * install, correo_setup.c) both build: the accounts, the queue tree,
 * services.conf. Each prints its own messages (tool_complain). */

/* The fixed accounts of the privilege-separated setup besides
 * $mail_owner, $virtual_owner and $setgid_group: the user column of
 * the auth row and of the login front ends' rows in services.conf. */
#define CORREO_AUTH_USER "correo-auth"
#define CORREO_LOGIN_USER "correo-login"

struct correo_init_ids {
	uid_t owner_uid, vmail_uid;
	gid_t owner_gid, vmail_gid, drop_gid;
};

/* Run argv (absolute path, no shell); true if it exited 0. */
bool correo_init_run(char *const argv[]);
/* Look up, or create as a system account (useradd/groupadd --system,
 * retried while another tool holds /etc/passwd), user name with a group
 * of its own, or group name. */
bool correo_init_user(const char *name, uid_t *uid_r, gid_t *gid_r);
bool correo_init_group(const char *name, gid_t *gid_r);
/* Every account: owner ($mail_owner), vmail ($virtual_owner), the auth
 * and login users, the drop group ($setgid_group). Root only. */
bool correo_init_accounts(const char *owner, const char *vmail,
			  const char *drop, struct correo_init_ids *ids);

/* Make (or take, if it exists) directory name in parent_fd, opened
 * without following a symlink; fchmod mode and, when root, fchown
 * uid:gid. shown names it in messages. Returns its fd or -1. */
int correo_init_mkdirat(int parent, const char *name, const char *shown,
			mode_t mode, uid_t uid, gid_t gid, bool root);
/* The queue tree name in parent_fd: root's 0755 top, then every
 * queue_dirs[] entry with its mode, owned by ids->owner (pid/ root's,
 * maildrop/ and public/ group ids->drop_gid) when root. Existing
 * directories are taken and their modes and owners set. */
bool correo_init_queue(int parent_fd, const char *parent_path,
		       const char *name, const struct correo_init_ids *ids,
		       bool root);
/* Append services.conf's text: inet rows on listen:port_base+25 etc.,
 * or, with listen NULL and port_base 0, the real ports on every address
 * of inet_interfaces (the system install). */
void correo_init_services(struct str *out, const char *listen,
			  long port_base);

#endif
