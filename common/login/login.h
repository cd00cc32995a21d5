#ifndef COMMON_LOGIN_H
#define COMMON_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "ev.h"
#include "str.h"

/* The pre-authentication front end of every access protocol (POP3 now,
 * IMAP next): one event-driven process serves up to $login_client_limit
 * clients, each with TLS (implicit or STARTTLS/STLS), the plaintext
 * policy, a command limit, an absolute deadline, and a SASL exchange
 * relayed to auth. After auth says ok, the client's descriptor goes to
 * the mail-process spawner (login_spawn.h) with the one-time cookie auth
 * gave: the spawner learns the user from auth, never from us.
 *
 * A protocol plugs in with a struct login_proto: its greeting, a command
 * callback for each line read before login, and the texts of the
 * replies the library sends itself. Everything else (buffers, TLS, the
 * deadline, auth, handoff, the TLS proxy after login) is here.
 *
 *   pop3-login: main.c -> server_main(SERVER_EVENT, login_event_init)
 *   pop3_login.c: the login_proto table (CAPA, USER/PASS, AUTH, STLS)
 */

struct login_client;

struct login_proto {
	const char *name;		/* auth service: "pop3", "imap" */
	const char *spawner_socket;	/* "private/pop3d" */
	const char *tls_wrapper_key;	/* "pop3_tls_wrapper" */
	const char *plaintext_key;	/* "pop3_disable_plaintext_auth" */
	/* The longest command line, CRLF included (an AUTH command with
	 * its initial response); 0: SASL_MAX_RESPONSE + 64. */
	size_t line_max;
	/* Send the greeting. */
	void (*greet)(struct login_client *c);
	/* One line as read (with its line end), not inside SASL. The line
	 * may be modified; it is wiped after the call. */
	void (*command)(struct login_client *c, struct str *line);
	/* Send a SASL challenge (base64, "" for an empty one). */
	void (*challenge)(struct login_client *c, const char *challenge);
	/* Optional: send a reply that answers the command in progress
	 * (auth results, plaintext refused, service unavailable), e.g.
	 * with the IMAP tag in front. NULL: the text as a line. */
	void (*answer)(struct login_client *c, const char *text);
	/* Replies the library sends (one line each, without CRLF). */
	const char *reply_auth_failed;
	const char *reply_auth_tempfail;
	const char *reply_auth_aborted;
	const char *reply_plaintext;	/* plaintext refused before TLS */
	const char *reply_too_many;	/* the command limit is reached */
	const char *reply_timeout;	/* the pre-auth deadline passed */
	const char *reply_unavailable;	/* login service trouble */
	const char *reply_line_too_long;
	/* The start of the answer to a login over
	 * mail_max_userip_connections ("NO [LIMIT]"; the library adds
	 * Dovecot's text), after which the connection ends. */
	const char *reply_in_use;
	/* Free the protocol's per-client state (login_client_pctx). */
	void (*free_pctx)(void *pctx);
};

/* What every front-end process reads from the config (login_config.c),
 * exported for the unit tests. */
struct login_settings {
	int client_limit;		/* clients per process */
	long deadline_ms;		/* absolute pre-auth time */
	int command_limit;		/* commands before login */
	int error_limit;		/* bad commands before login */
	int io_timeout;			/* seconds, internal requests */
	bool plaintext_disabled;	/* refuse plaintext before TLS */
	bool loopback_secure;		/* ... except on loopback */
	bool tls_wrapper;		/* implicit TLS */
	char **mechanisms;		/* SASL mechanisms offered */
};

/* ---- the daemon's callbacks (server.h) ---- */

/* pre_init: read the settings, open the TLS keys, connect to the
 * spawner, and move into the empty chroot directory. ctx is the
 * const struct login_proto. */
void login_pre_init(void *ctx);
/* event_init: take the listening descriptors. */
void login_event_init(struct ev_loop *loop, const int *fds, int nfds,
		      void *ctx);

/* ---- for the protocol's callbacks ---- */

/* Queue a reply line (CRLF added) or raw bytes. */
void login_client_reply(struct login_client *c, const char *text);
void login_client_write(struct login_client *c, const char *data,
			size_t len);
/* A reply answering the command in progress (the proto's answer). */
void login_client_answer(struct login_client *c, const char *text);
/* Text the mail process gets with the session (its "data" parameter,
 * login_mail.data), e.g. the IMAP tag of the login command; NULL
 * clears it. */
void login_client_set_handoff_data(struct login_client *c,
				   const char *data);
/* Count a bad command; the client is dropped with reply_too_many at
 * $login_error_limit. */
void login_client_error(struct login_client *c);
/* Send the reply, then end the connection. */
void login_client_quit(struct login_client *c, const char *reply);
bool login_client_tls(const struct login_client *c);
bool login_client_tls_available(const struct login_client *c);
/* Start TLS now (after the protocol's "go ahead" reply, which is
 * flushed first). Input pipelined behind the command is discarded. */
void login_client_starttls(struct login_client *c);
/* May plaintext credentials be used? (TLS, or the plaintext policy
 * allows it on this connection.) */
bool login_client_plaintext_ok(const struct login_client *c);
/* As login_client_plaintext_ok, but sends reply_plaintext and counts
 * an error when not. */
bool login_client_check_plaintext(struct login_client *c);
char **login_client_mechanisms(const struct login_client *c);
bool login_client_mech_offered(const struct login_client *c,
			       const char *mech);
/* Begin a SASL exchange with auth: mech as named (upper case), initial
 * response (base64; "=" empty) or NULL. Further lines go to the
 * exchange until it ends; on success the client is handed to its mail
 * process, which greets it. */
void login_client_auth(struct login_client *c, const char *mech,
		       const char *initial);
const char *login_client_addr(const struct login_client *c);
/* The protocol's per-client state (NULL at first). */
void *login_client_pctx(const struct login_client *c);
void login_client_set_pctx(struct login_client *c, void *pctx);

/* ---- the policy, for tests ---- */

/* Is a connection from remote to local (numeric addresses) "secure"
 * for plaintext logins: loopback, or local and remote equal (Dovecot's
 * rule: a webmail on the same host)? */
bool login_addr_secure(const char *remote, const char *local);
/* The pre-auth deadline for a new client, given the load. */
long login_deadline_ms(const struct login_settings *set, int nclients);

#endif
