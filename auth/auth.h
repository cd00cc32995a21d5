#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "attr.h"
#include "cfg.h"
#include "ev.h"
#include "str.h"

/* The auth service: the only reader of the password tables. One process
 * (maxproc 1) holds the failure counters of every client in memory and
 * serves every front end's connection from one event loop. Pieces:
 *
 *   auth_throttle.c  failure counting, reply delays, lockouts (pure)
 *   auth_sasl.c      the SASL exchange of one connection (pure)
 *   auth_request.c   front-end requests checked (pure)
 *   auth_passdb.c    password check and mailbox lookup (tables)
 *   auth_pool.c      the hashing threads, fair between clients
 *                    (auth_pool.h)
 *   auth_server.c    connections, timers, replies, logging */

/* ---- auth_throttle.c ---- */

struct auth_throttle_cfg {
	long delay_ms;		/* first failure's delay; 0: none */
	long delay_max_ms;
	long user_threshold;	/* failures per address+user; 0: never */
	long addr_threshold;	/* failures per address; 0: never */
	long long window_ms;	/* quiet time that forgets failures */
	long long lockout_ms;
};

enum auth_lock {
	AUTH_LOCK_NONE,
	AUTH_LOCK_USER,		/* this user from this address */
	AUTH_LOCK_ADDRESS,	/* every user from this address */
};

struct auth_fail_result {
	long delay_ms;		/* wait this long before replying */
	enum auth_lock locked;	/* a lockout this failure started */
	long user_failures;	/* recent failures, this one included */
	long addr_failures;
};

struct auth_throttle;

/* Most client entries kept; past it, failures get the longest delay. */
#define AUTH_THROTTLE_MAX 100000

struct auth_throttle *auth_throttle_create(const struct auth_throttle_cfg
					   *cfg, size_t max_entries);
void auth_throttle_free(struct auth_throttle **t);
/* The delay after failures recent failures: delay_ms doubled per failure
 * after the first, at most delay_max_ms; 0 for none. */
long auth_throttle_delay(const struct auth_throttle_cfg *cfg, long failures);
/* Is addr (or user from addr) locked out at now_ms? */
enum auth_lock auth_throttle_locked(struct auth_throttle *t, const char *addr,
				    const char *user, long long now_ms);
/* Count a failure of user (NULL: none known) from addr. */
void auth_throttle_fail(struct auth_throttle *t, const char *addr,
			const char *user, long long now_ms,
			struct auth_fail_result *result_r);
/* A successful login forgets that user's failures from addr (not the
 * address's: one good account must not reset a password sprayer). */
void auth_throttle_success(struct auth_throttle *t, const char *addr,
			   const char *user);
/* Drop entries with nothing left to remember. */
void auth_throttle_expire(struct auth_throttle *t, long long now_ms);
size_t auth_throttle_count(const struct auth_throttle *t);

/* Parse "250ms", "2s" or "2" (seconds) into milliseconds. */
bool auth_parse_msec(const char *text, long *msec_r);

/* ---- auth_sasl.c ---- */

enum auth_mech {
	AUTH_MECH_NONE,
	AUTH_MECH_PLAIN,
	AUTH_MECH_LOGIN,
};

enum auth_sasl_state {
	AUTH_SASL_IDLE,		/* no exchange */
	AUTH_SASL_PLAIN,	/* waiting for the PLAIN response */
	AUTH_SASL_LOGIN_USER,	/* waiting for the LOGIN user name */
	AUTH_SASL_LOGIN_PASS,	/* waiting for the LOGIN password */
};

struct auth_sasl {
	enum auth_sasl_state state;
	enum auth_mech mech;
	struct str user;	/* LOGIN: the name, between the two steps */
};

enum auth_step_kind {
	AUTH_STEP_CHALLENGE,	/* send challenge (base64) to the client */
	AUTH_STEP_VERIFY,	/* check user and password */
	AUTH_STEP_FAIL,		/* bad client data: a failure */
	AUTH_STEP_CANCEL,	/* the client cancelled ("*") */
};

struct auth_step {
	enum auth_step_kind kind;
	const char *challenge;	/* CHALLENGE: static base64 */
	struct str user;	/* VERIFY (and FAIL, if known) */
	struct str password;	/* VERIFY; wiped by auth_step_clear */
	const char *reason;	/* FAIL: static text for the log */
};

#define AUTH_STEP_INIT { AUTH_STEP_FAIL, NULL, STR_INIT, STR_INIT, NULL }

/* The mechanism named (case-insensitive) if it is in enabled (a NULL
 * terminated list such as cfg_list's), else AUTH_MECH_NONE. */
enum auth_mech auth_mech_find(const char *name, char *const *enabled);
const char *auth_mech_name(enum auth_mech mech);

/* Start an exchange with mech; response is the client's initial response
 * as sent (base64, "=" for empty) or NULL. */
void auth_sasl_start(struct auth_sasl *s, enum auth_mech mech,
		     const char *response, struct auth_step *step_r);
/* The client's next response. False if no exchange is in progress (a
 * protocol error of the front end). */
bool auth_sasl_continue(struct auth_sasl *s, const char *response,
			struct auth_step *step_r);
void auth_sasl_reset(struct auth_sasl *s);
void auth_step_clear(struct auth_step *step);

/* A front end's request (proto.h; read with proto_auth_request_spec),
 * checked; the strings point into the attribute list it came from. */
enum auth_req_kind {
	AUTH_REQ_AUTHENTICATE,
	AUTH_REQ_CONTINUE,
	AUTH_REQ_REDEEM,
};

struct auth_request {
	enum auth_req_kind kind;
	const char *service;		/* AUTHENTICATE */
	const char *mechanism;		/* AUTHENTICATE */
	const char *client_addr;	/* AUTHENTICATE */
	const char *client_name;	/* AUTHENTICATE; "unknown" if absent */
	const char *response;		/* NULL if absent (AUTHENTICATE) */
	const char *cookie;		/* REDEEM (with service) */
};

/* Check a request: the attributes its kind needs and no others, a
 * service name of [a-z0-9], an IP-address-like client address and a
 * host-name-like client name (they go into log lines). False with a
 * static reason. */
bool auth_request_parse(const struct attr_list *list,
			struct auth_request *req_r, const char **error_r);

/* Copy text into out for a log line: printable ASCII kept, anything
 * else (CR, LF, control, 8-bit) as '?', at most max bytes. */
void auth_log_safe(struct str *out, const char *text, size_t max);

/* ---- auth_passdb.c ---- */

struct auth_mailbox {
	char *path;
	uid_t uid;
	gid_t gid;
	char *quota;		/* the quota rule (resolve_quota), or NULL */
};

struct auth_passdb;

/* Open the tables named in cfg (the password tables lazily: a missing
 * table is a temporary failure until it appears). NULL with an
 * allocated message. */
struct auth_passdb *auth_passdb_create(struct cfg *cfg, char **error_r);
void auth_passdb_free(struct auth_passdb **db);
/* The crypt hash of user into hash_r (empty if the user has none): -1
 * table error (*error_r), 0 unknown user, 1 found. The caller wipes
 * hash_r. */
int auth_passdb_hash(struct auth_passdb *db, const char *user,
		     struct str *hash_r, const char **error_r);
/* Check user's password here and now (auth_passdb_hash, then one
 * hash computation; auth_server hashes in its pool instead). The work is
 * the same whether the user exists or not. -1 table error (*error_r),
 * 0 wrong user or password, 1 ok. */
int auth_passdb_verify(struct auth_passdb *db, const char *user,
		       const char *password, const char **error_r);
/* The mailbox of user: -1 error, 0 none, 1 found (free with
 * auth_mailbox_clear). */
int auth_passdb_mailbox(struct auth_passdb *db, const char *user,
			struct auth_mailbox *mb_r, const char **error_r);
void auth_mailbox_clear(struct auth_mailbox *mb);

/* ---- auth_cookie.c: one-time login cookies (proto.h) ---- */

/* After a successful login of user with mailbox mb for service: make a
 * cookie, remember it, and add it to reply. */
void auth_cookie_issue(struct attr_list *reply, const char *user,
		       const struct auth_mailbox *mb, const char *service);
/* Answer a redeem request from the peer on fd into reply (cleared
 * first); the cookie is forgotten either way. */
void auth_cookie_redeem(int fd, const struct auth_request *req,
			struct attr_list *reply);
/* Forget expired cookies (the periodic expiry timer). */
void auth_cookie_expire(void);

/* ---- auth_server.c ---- */

void auth_pre_init(void *ctx);
void auth_event_init(struct ev_loop *loop, const int *fds, int nfds,
		     void *ctx);

#endif
