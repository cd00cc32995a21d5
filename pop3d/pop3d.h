#ifndef POP3D_POP3D_H
#define POP3D_POP3D_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lio.h"
#include "str.h"
#include "store.h"

/* The POP3 mail side (libexec/pop3d).
 *
 * Under master, pop3d is the mail-process spawner (common/login,
 * login_spawn.h) on private/pop3d. Each mail process is pop3d exec'd
 * afresh by it, already the mailbox owner, serving one session
 * (pop3d_session.c) on the client descriptor it inherited. The mailbox
 * is read through pop3d_mbox.c. */

/* What a mail process is started with. */
struct pop3d_session_args {
	const char *user;
	const char *mailbox;	/* Maildir path */
	uid_t uid;
	gid_t gid;
	const char *addr;	/* client address, for logs */
	bool tls;
	const char *input;	/* client input the front end read ahead */
	size_t input_len;
	int timeout;		/* pop3_timeout */
};

/* The mail process (main.c, LOGIN_MAIL_ARG): read the spawner's
 * parameters and serve the session on the client descriptor. */
void pop3d_mail_main(void) __attribute__((noreturn));

/* Serve one session on fd and exit. Runs as the mailbox owner. */
void pop3d_session_run(int fd, const struct pop3d_session_args *args)
	__attribute__((noreturn));

/* One message as the session sees it (the list is fixed at login, as
 * RFC 1939 asks). */
struct pop3d_msg {
	uint32_t uid;
	uint64_t vsize;		/* size with CRLF line ends */
};

/* The INBOX as one session sees it, through the mailbox store: message
 * n is msgs[n - 1]. */
struct pop3d_mbox {
	struct store_folder *folder;
	uint32_t validity;
	struct pop3d_msg *msgs;
	size_t count;
	unsigned char *deleted;	/* one flag per message */
	size_t ndeleted;
	uint64_t size;		/* of the messages not deleted */
};

/* Open the Maildir in the current directory through the store (its
 * index is built, or migrated from correo-uidlist, on first access;
 * messages still in new/ move to cur/). False with a reason. */
bool pop3d_mbox_open(struct pop3d_mbox *mb, struct str *error_r);
void pop3d_mbox_free(struct pop3d_mbox *mb);
/* Open message idx (0-based) for reading; -1 with errno set. Follows a
 * file renamed since the session began (its flags changed). */
int pop3d_mbox_open_msg(struct pop3d_mbox *mb, size_t idx);
/* Stream the message on fd to lio with CRLF line ends and dot-stuffing,
 * ending with ".\r\n". body_lines >= 0: the header, the blank line and
 * that many body lines only (TOP). Adds the message's bytes to *sent_r.
 * False on a read error (the reply is then cut short: drop the client). */
bool pop3d_mbox_send(struct lio *lio, int fd, long body_lines,
		     uint64_t *sent_r);
/* UPDATE state: remove the messages marked deleted. Returns how many
 * could not be removed. */
size_t pop3d_mbox_expunge(struct pop3d_mbox *mb);

#endif
