#ifndef COMMON_AUTH_CLIENT_H
#define COMMON_AUTH_CLIENT_H

#include <stdbool.h>
#include <sys/types.h>

/* The front ends' side of the auth protocol (proto.h, correo-auth(8)): smtpd,
 * the POP3 and IMAP front ends ask the auth service whether a client's
 * SASL exchange succeeds, and never see a password table.
 *
 * The front end relays the exchange without understanding it:
 *
 *   AUTH PLAIN dGVzdA...   -> auth_client_start(mech "PLAIN",
 *                               initial_response "dGVzdA...")
 *   AUTH LOGIN             -> auth_client_start(mech "LOGIN", NULL)
 *     while the answer is AUTH_CLIENT_CONTINUE: send the challenge
 *     ("334 CHALLENGE", "+ CHALLENGE"), read the client's line and
 *     call auth_client_continue with it as is ("*" cancels).
 *
 * Responses and challenges stay base64; "=" is an empty initial
 * response (RFC 4954). Blocking, with a timeout; for SERVER_SINGLE
 * front ends. A failed exchange's reply arrives only after auth's delay
 * for it (growing with the client's recent failures; delay_ms says how
 * long it was), so the front end need not sleep itself.
 *
 * The mechanisms to advertise are cfg_list(cfg, "auth_mechanisms"). */

/* Relative to the queue directory, where daemons run. */
#define AUTH_CLIENT_SOCKET "private/auth"
/* Longer than auth_failure_delay_max, so delays are not timeouts. */
#define AUTH_CLIENT_TIMEOUT 60

enum auth_client_status {
	AUTH_CLIENT_OK,		/* authenticated */
	AUTH_CLIENT_CONTINUE,	/* send reply.challenge, then continue */
	AUTH_CLIENT_FAIL,	/* refused: see temporary, reason */
	AUTH_CLIENT_ERROR,	/* auth unreachable or confused: treat as a
				 * temporary failure (454 4.7.0 / [UNAVAIL]) */
};

struct auth_client_request {
	const char *service;		/* "smtp", "pop3", "imap" */
	const char *mechanism;		/* as the client named it */
	const char *initial_response;	/* base64 as sent, or NULL */
	const char *client_address;	/* IP address, for counting */
	const char *client_name;	/* host name, or NULL ("unknown") */
};

struct auth_client_reply {
	enum auth_client_status status;
	char *challenge;	/* CONTINUE: base64 ("" for an empty one) */
	char *user;		/* OK: canonical (lower-cased) login name */
	char *mailbox;		/* OK: mailbox path, NULL if none */
	uid_t uid;		/* OK, with mailbox: its owner */
	gid_t gid;
	bool temporary;		/* FAIL: lockout, table trouble */
	long delay_ms;		/* FAIL: how long auth waited */
	char *reason;		/* FAIL, ERROR: text for the log / reply */
};

struct auth_client;

/* No connection is made until the first request. path NULL means
 * AUTH_CLIENT_SOCKET; timeout in seconds (0: AUTH_CLIENT_TIMEOUT). */
struct auth_client *auth_client_create(const char *path, int timeout);
void auth_client_free(struct auth_client **ac);

/* Begin an exchange (abandoning one in progress). Connects (or
 * reconnects once, if auth restarted since) as needed. reply_r is
 * cleared first; free it with auth_client_reply_clear. */
enum auth_client_status auth_client_start(struct auth_client *ac,
					  const struct auth_client_request
					  *req,
					  struct auth_client_reply *reply_r);
/* Relay the client's answer to the last challenge. */
enum auth_client_status auth_client_continue(struct auth_client *ac,
					     const char *response,
					     struct auth_client_reply
					     *reply_r);
void auth_client_reply_clear(struct auth_client_reply *reply);

#endif
