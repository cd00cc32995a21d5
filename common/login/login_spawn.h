#ifndef COMMON_LOGIN_SPAWN_H
#define COMMON_LOGIN_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "attr.h"

/* The mail-process spawner (e.g. the pop3d service on private/pop3d)
 * and the mail process's start (proto.h, "Login").
 *
 * The spawner runs as root (the invoker in instance mode), unchrooted,
 * one process per front-end process (SERVER_SINGLE: the front end keeps
 * its connection). It never sees a password: it opens connections to
 * auth for the chrooted front end, and for a login it redeems the
 * front end's cookie with auth, which answers with the user, mailbox,
 * uid and gid. It then forks; the child keeps only the client
 * descriptor, drops to that uid/gid (never 0) and execs the mail
 * program afresh, which reads its parameters from a pipe. */

struct login_spawn_spec {
	const char *service;		/* auth service: "pop3" */
	const char *mail_name;		/* argv[0] of the mail process */
	const char *timeout_key;	/* its idle timeout: "pop3_timeout" */
	/* Run in the child, as the user, just before the mail program is
	 * exec'd (descriptors 0..3 in place, nothing above): may open
	 * LOGIN_MAIL_PARK_FD (IMAP's park process, imapd_park.c). NULL:
	 * nothing. */
	void (*prepare)(const char *user, const char *mailbox,
			const char *exe, char **envp);
};

/* Server callbacks; ctx is the const struct login_spawn_spec. */
void login_spawn_pre_init(void *ctx);
void login_spawn_serve(int fd, void *ctx);

/* ---- in the mail process ---- */

/* argv[1] of a mail process started by the spawner. */
#define LOGIN_MAIL_ARG "--mail-session"

/* The exec contract's descriptors. */
#define LOGIN_MAIL_CLIENT_FD 0
#define LOGIN_MAIL_PARAMS_FD 1
#define LOGIN_MAIL_LOG_FD 2
/* A held anvil connection (anvil_client_hold) counting the session for
 * mail_max_userip_connections, when there is one: the mail process
 * keeps it open and never touches it. */
#define LOGIN_MAIL_HOLD_FD 3
/* IMAP: a connection to the user's park process (imapd_park.c), when
 * there is one. */
#define LOGIN_MAIL_PARK_FD 4

struct login_mail {
	const char *user;
	const char *mailbox;	/* absolute path */
	uid_t uid;
	gid_t gid;
	const char *addr;	/* client address, for logs */
	bool tls;
	const char *input;	/* client input read ahead, or NULL */
	size_t input_len;
	int timeout;		/* idle timeout, seconds */
	const char *data;	/* the front end's (an IMAP tag), or NULL */
	const char *quota;	/* the quota rule ("none"), or NULL */
	struct attr_list params;	/* owns the strings above */
};

/* True if this process was started by the spawner as a mail process. */
bool login_mail_is_session(int argc, char **argv);
/* Set up logging as name, read the parameters and close their pipe.
 * Fatal if anything is missing or the process runs as root. The client
 * is on LOGIN_MAIL_CLIENT_FD. */
void login_mail_init(const char *name, struct login_mail *m_r);

#endif
