#ifndef DELIVERY_SMTP_H
#define DELIVERY_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dict.h"
#include "lio.h"
#include "queue.h"
#include "str.h"
#include "tls.h"

/* smtp: the SMTP/LMTP client delivery agent. It serves "deliver"
 * requests from qmgr (proto.h) on private/smtp or private/lmtp, finds
 * the next hop's hosts (MX, [host], unix socket), speaks ESMTP (EHLO
 * with HELO fallback, PIPELINING, SIZE, 8BITMIME, DSN, STARTTLS) or
 * LMTP (LHLO, one reply per recipient after DATA), and keeps idle
 * sessions for reuse. The same program is both: it speaks LMTP when
 * its service name starts with "lmtp" or its first argument in
 * services.conf is "lmtp"; settings are then read from lmtp_* keys. */

enum smtp_status {
	SMTP_OK,
	SMTP_DEFER,
	SMTP_BOUNCE,
};

/* Process-wide settings (smtp_pre_init). */
struct smtp_settings {
	bool lmtp;
	const char *proto;		/* "SMTP" or "LMTP" (for reasons) */
	unsigned default_port;		/* 25 or 24 */
	const char *helo_name;
	long connect_timeout, helo_timeout, starttls_timeout;
	long mail_timeout, rcpt_timeout, data_init_timeout;
	long data_xfer_timeout, data_done_timeout, quit_timeout;
	long reuse_time, cache_limit, address_limit;
	const char *tls_level;		/* none may encrypt verify secure */
	struct dict **tls_policy;
	size_t ntls_policy;
	struct tls_ctx *tls_ctx;	/* NULL if TLS cannot be used */
	const char *bind_address;	/* "" = any */
	bool sasl_enable;		/* smtp_sasl_auth_enable (not lmtp) */
	struct dict **sasl_passwd;	/* smtp_sasl_password_maps */
	size_t nsasl_passwd;
	char **sasl_filter;		/* smtp_sasl_mechanism_filter */
	bool sasl_soft_bounce;
	long request_timeout, daemon_timeout;
};

extern struct smtp_settings smtp_set;

/* One delivery of a request, with its result. */
struct smtp_rcpt {
	const char *address;
	const char *orig;		/* orig_recipient (passed back only) */
	const char *notify;		/* DSN NOTIFY or NULL */
	const char *orcpt;		/* DSN ORCPT address or NULL */
	long index;
	bool done;			/* result is final */
	bool sent;			/* RCPT TO sent this transaction */
	bool accepted;			/* RCPT TO got 2xx this transaction */
	enum smtp_status status;
	char dsn[16];
	struct str reason;
};

struct smtp_request {
	const char *queue_id;
	const char *sender;		/* "" for <> */
	const char *nexthop;
	const char *ret, *envid;	/* DSN, or NULL */
	const char *body;		/* "8BITMIME" or NULL (from the queue) */
	long long size;
	struct queue_msg *msg;
	struct smtp_rcpt *rcpts;
	size_t nrcpt;
	bool dest_defer;		/* the whole destination failed */
	struct str relay;		/* "host[addr]:port" or "none" */
};

/* A server reply: code, enhanced status (the peer's or derived), and
 * the text of every line joined with single spaces. */
struct smtp_reply {
	int code;			/* 0: none (connection trouble) */
	char dsn[16];
	struct str text;		/* "250 2.1.5 Ok" (first code kept) */
	struct str lines;		/* each line's text after "ddd-",
					   LF-terminated (EHLO keywords) */
};

#define SMTP_FEAT_PIPELINING	0x01
#define SMTP_FEAT_SIZE		0x02
#define SMTP_FEAT_8BITMIME	0x04
#define SMTP_FEAT_DSN		0x08
#define SMTP_FEAT_STARTTLS	0x10
#define SMTP_FEAT_ENHANCED	0x20
#define SMTP_FEAT_AUTH		0x40

/* An open, greeted session with one server. */
struct smtp_session {
	struct lio *lio;
	struct tls_conn *tls;
	char *key;			/* cache key: the next hop */
	char *host;			/* server name (or socket path) */
	char *peer;			/* "host[addr]" (for reasons) */
	char *relay;			/* "host[addr]:port" */
	unsigned features;
	long long size_limit;		/* SIZE n, 0 if none announced */
	char *auth_mechs;		/* "PLAIN LOGIN" from EHLO, or NULL */
	time_t created;
	bool broken;			/* do not reuse */
	bool rset_pending;		/* reused: RSET goes out pipelined
					   with MAIL (smtp_trans.c) */
	bool stale;			/* that RSET failed: nothing was
					   sent, redo on another session */
	struct smtp_session *next;	/* cache list */
};

/* smtp_reply.c */
/* Read one reply (all its lines) within timeout seconds. Returns
 * LIO_OK, or the lio error; a reply that is not SMTP (bad code,
 * inconsistent codes in a multi-line reply, too many lines) is
 * LIO_ERROR with reply->code 0. */
enum lio_status smtp_reply_read(struct lio *lio, long timeout,
				struct smtp_reply *reply);
/* Feed one line (CRLF stripped or not): 1 when the reply is complete,
 * 0 when more lines follow, -1 if the line is not a reply line. The
 * reply is cleared by smtp_reply_reset. Pure: used by tests. */
int smtp_reply_line(struct smtp_reply *reply, const char *line, size_t len);
void smtp_reply_reset(struct smtp_reply *reply);
void smtp_reply_release(struct smtp_reply *reply);
/* SMTP_OK for 2xx (and 3xx), SMTP_DEFER for 4xx, SMTP_BOUNCE for 5xx. */
enum smtp_status smtp_reply_status(const struct smtp_reply *reply);

/* smtp_data.c: LF -> CRLF and dot-stuffing on the way out. */
struct smtp_stuff {
	bool bol;			/* at the beginning of a line */
	bool cr;			/* the last byte was CR */
};
void smtp_stuff_init(struct smtp_stuff *st);
/* Append the encoded form of data to out. */
void smtp_stuff(struct smtp_stuff *st, const char *data, size_t len,
		struct str *out);
/* Finish: CRLF if the content did not end with a line end, then
 * ".\r\n". */
void smtp_stuff_end(struct smtp_stuff *st, struct str *out);
/* Stream the queue file's content to the session. Returns LIO_OK, a
 * write error, or LIO_ERROR with errno set on a queue read error
 * (*read_error_r true). */
enum lio_status smtp_data_send(struct smtp_session *s, struct queue_msg *msg,
			       bool *read_error_r);

/* smtp_session.c */
/* A live session for the request's next hop: a cached one (that
 * answers RSET now, or, with PIPELINING, in front of MAIL: see
 * smtp_trans), or a new one (addresses in MX order, greeting, EHLO/LHLO,
 * STARTTLS by policy). NULL when none could be made: every recipient
 * that is not done has then been given a result (and req->dest_defer
 * set where the destination failed as a whole). */
struct smtp_session *smtp_session_get(struct smtp_request *req);
/* Done with s: keep it for reuse if it is healthy, young enough and the
 * cache has room, else QUIT and close. */
void smtp_session_release(struct smtp_session *s);
void smtp_session_close(struct smtp_session *s, bool quit);
/* QUIT and close every cached session. */
void smtp_cache_flush(void);
/* The TLS level for next hop (policy tables, else the default);
 * NULL on a table error with *error_r. */
const char *smtp_tls_level(const char *nexthop, const char **error_r);

/* smtp_sasl.c: AUTH after EHLO when smtp_sasl_auth_enable is set and
 * the tables hold credentials for s's next hop (s->key) or server
 * (s->host). Credentials go only over TLS. True when authenticated or
 * when there is nothing to do; false with status, dsn and why set (and
 * s->broken when the connection failed). */
bool smtp_sasl_auth(struct smtp_session *s, struct smtp_reply *reply,
		    enum smtp_status *status_r, char dsn_r[16],
		    struct str *why);
/* The PLAIN mechanism's initial response, base64 ("\0user\0pass"). Pure:
 * used by tests. */
void smtp_sasl_plain(struct str *out, const char *user, const char *pass);
/* The first mechanism of filter (or PLAIN, LOGIN if filter is empty)
 * that the server's list offers; NULL if none. */
const char *smtp_sasl_choose(const char *offered, char *const *filter);

/* smtp_trans.c: one mail transaction on s. Gives every recipient not
 * yet done a result. Marks s broken if the connection failed. A reused
 * session whose pipelined RSET fails is marked broken and stale instead,
 * with no results given: the caller redoes the transaction on another
 * session. */
void smtp_trans(struct smtp_session *s, struct smtp_request *req);

/* smtp_deliver.c / smtp_serve.c */
void smtp_deliver(struct smtp_request *req);
/* Set a result on every recipient not yet done. */
void smtp_rcpt_all(struct smtp_request *req, enum smtp_status status,
		   const char *dsn, const char *fmt, ...) MSG_PRINTF(4, 5);
void smtp_rcpt_set(struct smtp_rcpt *r, enum smtp_status status,
		   const char *dsn, const char *fmt, ...) MSG_PRINTF(4, 5);
/* "host H[A] said: 550 5.1.1 ... (in reply to RCPT TO command)" */
void smtp_rcpt_reply(struct smtp_rcpt *r, const struct smtp_session *s,
		     const struct smtp_reply *reply, const char *command);
void smtp_pre_init(void *ctx);
void smtp_post_init(void *ctx);
void smtp_serve(int fd, void *ctx);

#endif
