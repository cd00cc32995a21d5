#ifndef SMTPD_SMTPD_H
#define SMTPD_SMTPD_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "lio.h"
#include "str.h"

/* Internal interfaces of the SMTP server (libsmtpd.a). One process
 * serves one client at a time (SERVER_SINGLE); the configuration and
 * the lookup tables are opened once per process and shared by every
 * session it serves. */

struct anvil_client;
struct auth_client;
struct cfg;
struct cidr_list;
struct dict;
struct queue_writer;
struct resolver;
struct tls_conn;
struct tls_ctx;

/* ---- smtpd_parse.c: command lines, pure functions ---- */

enum smtpd_verb {
	SMTPD_UNKNOWN,
	SMTPD_HELO,
	SMTPD_EHLO,
	SMTPD_STARTTLS,
	SMTPD_AUTH,
	SMTPD_MAIL,
	SMTPD_RCPT,
	SMTPD_DATA,
	SMTPD_BDAT,
	SMTPD_RSET,
	SMTPD_NOOP,
	SMTPD_VRFY,
	SMTPD_HELP,
	SMTPD_QUIT,
	SMTPD_FORBIDDEN,	/* GET, POST, CONNECT: not SMTP at all */
	SMTPD_VERB_COUNT
};

struct smtpd_cmd {
	enum smtpd_verb verb;
	const char *name;	/* "MAIL", or "unknown" */
	const char *args;	/* after the verb and its spaces; "" if none */
	size_t args_len;	/* trailing spaces removed */
};

/* Split a command line (CRLF or LF already removed) into verb and
 * arguments. Verbs are case-insensitive. */
void smtpd_parse_command(const char *line, size_t len, struct smtpd_cmd *cmd);
/* The lower-case name used in the disconnect log line ("ehlo"). */
const char *smtpd_verb_logname(enum smtpd_verb verb);

enum smtpd_body {
	SMTPD_BODY_NONE,
	SMTPD_BODY_7BIT,
	SMTPD_BODY_8BITMIME,
	SMTPD_BODY_BINARYMIME,
};

/* A parse failure: the whole reply line, without CRLF. */
struct smtpd_perr {
	char reply[512];
};

/* DSN RET= (RFC 3461 4.3). */
enum smtpd_ret {
	SMTPD_RET_NONE,
	SMTPD_RET_FULL,
	SMTPD_RET_HDRS,
};

/* ENVID is at most 100 characters of xtext (RFC 3461 4.4). */
#define SMTPD_ENVID_MAX 100

struct smtpd_mail {
	struct addr addr;	/* addr.null for <> */
	char orig[ADDR_PATH_MAX + 1];	/* as the client wrote it */
	long long size;		/* SIZE=, -1 if absent */
	enum smtpd_body body;
	bool smtputf8;
	enum smtpd_ret ret;
	char envid[SMTPD_ENVID_MAX + 1];	/* decoded; "" if absent */
	bool auth_param;	/* AUTH= was given (and ignored) */
};

/* "FROM:<path> [params]" (Postfix leniency: spaces after the colon, and
 * a bare address without brackets). Parameters: SIZE, BODY, SMTPUTF8,
 * RET, ENVID, AUTH. */
bool smtpd_parse_mail(const char *args, size_t len, struct smtpd_mail *m,
		      struct smtpd_perr *err);

struct smtpd_rcpt_arg {
	struct addr addr;
	char orig[ADDR_PATH_MAX + 1];
	unsigned notify;	/* QUEUE_NOTIFY_* bits, 0 if absent */
	char orcpt[ADDR_PATH_MAX + 1];	/* ORCPT rfc822 address */
	bool has_orcpt;
};

/* "TO:<path> [NOTIFY=...] [ORCPT=...]". smtputf8: the transaction
 * declared SMTPUTF8. A bare local part is accepted only for postmaster
 * (RFC 5321 4.5.1). */
bool smtpd_parse_rcpt(const char *args, size_t len, bool smtputf8,
		      struct smtpd_rcpt_arg *r, struct smtpd_perr *err);

/* "count [LAST]": count is 1 to SMTPD_BDAT_DIGITS_MAX digits, at most
 * SMTPD_BDAT_COUNT_MAX. A failure's reply is a 421: the chunk's length
 * is unknown, so its octets cannot be skipped and the session must end
 * rather than read them as commands. */
#define SMTPD_BDAT_DIGITS_MAX 19
#define SMTPD_BDAT_COUNT_MAX 0x7fffffffffffffffULL
bool smtpd_parse_bdat(const char *args, size_t len, unsigned long long *n_r,
		      bool *last_r, struct smtpd_perr *err);

/* The client's HELO/EHLO name: the first word, printable ASCII, at most
 * 255 octets. */
bool smtpd_parse_helo(const char *args, size_t len, char *out, size_t size);

/* ---- smtpd_dsn.c: DSN parameters (RFC 3461), pure functions ---- */

/* Decode xtext (RFC 3461 4): printable ASCII except '+' and '=', with
 * "+XX" (upper-case hex) for anything else. The decoded text must fit
 * in size - 1 bytes and may not contain NUL or control characters.
 * False on any violation. */
bool smtpd_xtext_decode(const char *in, size_t len, char *out, size_t size);
/* NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY. */
bool smtpd_dsn_notify(const char *val, size_t len, unsigned *notify_r);
/* ORCPT=addr-type;xtext. True with the decoded address in out when the
 * type is rfc822 (or utf-8); other types are accepted with out = "". */
bool smtpd_dsn_orcpt(const char *val, size_t len, char *out, size_t size);
/* RET=FULL|HDRS. */
bool smtpd_dsn_ret(const char *val, size_t len, enum smtpd_ret *ret_r);
/* The queue file's "ret" attribute value, NULL for none. */
const char *smtpd_dsn_ret_name(enum smtpd_ret ret);

/* ---- smtpd_server.c: per-process configuration ---- */

struct smtpd_config {
	const char *myhostname;
	const char *banner;
	long long size_limit;		/* 0: none */
	long long queue_minfree;	/* bytes; see smtpd_space_ok */
	long rcpt_limit;
	size_t line_limit;		/* command lines */
	long hard_error_limit;
	long soft_error_limit;
	long junk_limit;		/* NOOP/VRFY/RSET before they count */
	long error_sleep;		/* seconds */
	int timeout;
	bool forbid_bare_lf;
	bool peername_lookup;
	int flow_fd;			/* inflow tokens (flow.h), or -1 */
	long flow_delay_ms;		/* in_flow_delay */
	bool helo_required;
	struct cidr_list *mynetworks;
	struct resolver *resolver;

	/* TLS and submission (smtpd_tls.c, smtpd_auth.c). */
	struct tls_ctx *tls;		/* NULL: no STARTTLS */
	bool tls_required;		/* smtpd_tls_security_level=encrypt */
	bool tls_wrapper;		/* TLS from the first byte (465) */
	bool auth_enable;
	bool auth_tls_only;
	bool require_auth;
	char **mechanisms;		/* auth_mechanisms */
	struct auth_client *auth;
	struct dict **sender_login_maps;	/* NULL-terminated */

	/* Connection limits and stress (smtpd_limit.c). */
	struct anvil_client *anvil;
	const char *service;		/* anvil's name for this service */
	long conn_count_limit;
	long conn_rate_limit;
	long process_limit;		/* maxproc of our row; 0: none */
	int stress_timeout;
};

/* ---- smtpd_proto.c: one session ---- */

struct smtpd_rcpt {
	char *address;		/* canonical, routed */
	char *orig;		/* ORCPT, else as the client wrote it */
	unsigned notify;	/* QUEUE_NOTIFY_*, 0 for the default */
};

struct smtpd_session {
	const struct smtpd_config *cfg;
	struct lio *lio;
	int fd;
	struct str line;	/* input, reused */
	struct str buf;		/* scratch, reused */
	char client_addr[64];
	char client_name[256];
	char server_addr[64];
	char helo[256];
	bool esmtp;
	bool trusted;		/* client in $mynetworks */
	struct tls_conn *tls;	/* after STARTTLS or in wrapper mode */
	char *sasl_user;	/* after AUTH: the canonical login */
	char sasl_method[16];

	/* The transaction. */
	bool in_mail;
	char sender[ADDR_TEXT_MAX + 1];
	bool smtputf8;
	enum smtpd_body body;
	enum smtpd_ret ret;
	char envid[SMTPD_ENVID_MAX + 1];
	struct smtpd_rcpt *rcpts;
	size_t nrcpt, rcpt_cap;
	size_t rcpt_accepted;	/* RCPTs answered 250, duplicates too */
	struct queue_writer *qw;
	struct smtpd_header *hdr;	/* submission: header fixer */
	struct str hbuf;		/* its output, reused */
	char queue_id[32];
	bool bdat;		/* a BDAT transfer is under way */
	bool bdat_cr;		/* last BDAT byte was a held-back CR */
	char bdat_last;		/* last content octet stored from BDAT */
	const char *bdat_error;	/* reply for the rest of the chunks */
	bool bdat_in_header;	/* BDAT content still in the header */
	unsigned bdat_line;	/* octets of its current line (capped) */
	char bdat_field[9];	/* the line's first octets */
	unsigned bdat_hops;	/* Received: fields in BDAT content */
	unsigned long long msg_size;	/* content bytes stored */

	/* Bookkeeping. */
	unsigned counts[SMTPD_VERB_COUNT][2];	/* [ok, total] */
	unsigned ncommands[2];
	unsigned errors;
	unsigned junk;		/* NOOP, VRFY and RSET commands so far */
	int last_code;		/* code of the last reply sent */
	const char *where;	/* last command name, for log lines */
	bool quit;		/* end the session after this command */
	bool anvil_registered;	/* anvil counts this session */
	bool stress;		/* short timeout, first error ends it */
};

/* A client handed over by postscreen (smtpd_pass.c). */
struct smtpd_handoff {
	bool greeted;		/* postscreen sent the 220 */
	const char *input;	/* bytes the client sent after it */
	size_t input_len;
};

/* Serve one connected client on fd (closed on return). */
void smtpd_session_run(const struct smtpd_config *cfg, int fd);
/* The same for a client postscreen handed over: no greeting if it sent
 * one, and its buffered input read first. */
void smtpd_session_run_passed(const struct smtpd_config *cfg, int fd,
			      const struct smtpd_handoff *h);
/* Forget the transaction (RSET, HELO, after DATA); aborts a half-written
 * queue file. */
void smtpd_transaction_reset(struct smtpd_session *s);
/* An I/O failure st while reading in state s->where: log it the Postfix
 * way, answer 421 on a timeout, and end the session. */
void smtpd_io_failed(struct smtpd_session *s, enum lio_status st);
/* Forget everything the client said (after STARTTLS, RFC 3207 4.2): the
 * HELO/EHLO name, the transaction and any login. */
void smtpd_session_forget(struct smtpd_session *s);
/* The protocol name for Received: and the queue file (RFC 3848):
 * SMTP, ESMTP, ESMTPS, ESMTPA or ESMTPSA. */
const char *smtpd_protocol(const struct smtpd_session *s);

/* ---- smtpd_reply.c ---- */

/* Queue one reply line ("250 2.0.0 Ok"); CRLF is added. Replies go out
 * when the session is about to wait for input, so a pipelined batch is
 * answered in one write. A 4xx/5xx counts as an error. */
void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
	MSG_PRINTF(2, 3);
/* Reply and log "NOQUEUE: reject: CMD from NAME[ADDR]: REPLY; from=<..>
 * to=<..> proto=.. helo=<..>" (queue ID instead of NOQUEUE when there is
 * one). to may be NULL. */
void smtpd_reject(struct smtpd_session *s, const char *to,
		  const char *fmt, ...) MSG_PRINTF(3, 4);
/* Best effort direct write of a final 421 after lio failed. */
void smtpd_reply_raw(struct smtpd_session *s, const char *text);
/* The EHLO reply. */
void smtpd_reply_ehlo(struct smtpd_session *s);

/* ---- smtpd_tls.c: STARTTLS and implicit TLS ---- */

/* Make the server TLS context per the configuration (pre_init, while
 * the key files are readable). Fatal on a broken configuration. */
void smtpd_tls_init(struct smtpd_config *c, struct cfg *cfg);
/* Wrapper mode: the handshake before the greeting. False if it failed
 * (logged; the session is over). */
bool smtpd_tls_wrap(struct smtpd_session *s);
void smtpd_cmd_starttls(struct smtpd_session *s, const struct smtpd_cmd *cmd);
/* Is STARTTLS to be offered now? */
bool smtpd_tls_offer(const struct smtpd_session *s);
/* End TLS at the end of the session. */
void smtpd_tls_end(struct smtpd_session *s);

/* ---- smtpd_auth.c: AUTH (RFC 4954) and the submission policy ---- */

/* Open the auth client and $smtpd_sender_login_maps (pre_init). */
void smtpd_auth_init(struct smtpd_config *c, struct cfg *cfg);
/* Is AUTH to be offered now (never on a plaintext connection unless
 * smtpd_tls_auth_only = no)? */
bool smtpd_auth_offer(const struct smtpd_session *s);
void smtpd_cmd_auth(struct smtpd_session *s, const struct smtpd_cmd *cmd);
/* May the authenticated client use sender (canonical text, "" for <>)?
 * Returns -1 on a table error, 0 no, 1 yes. */
int smtpd_auth_sender_ok(struct smtpd_session *s, const char *sender);
/* The submission checks at MAIL; false with the reply already sent. */
bool smtpd_auth_check_mail(struct smtpd_session *s, const char *sender);
/* Forget the login (end of session). */
void smtpd_auth_reset(struct smtpd_session *s);

/* ---- smtpd_limit.c: connection limits (anvil) and stress mode ---- */

/* Open the anvil client, read the limits and our process limit from
 * services.conf (pre_init). */
void smtpd_limit_init(struct smtpd_config *c, struct cfg *cfg);
/* Register the session with anvil; enter stress mode when the service
 * is nearly full. False (reply and log done) when a client outside
 * $mynetworks is over a limit: the session must end. */
bool smtpd_limit_connect(struct smtpd_session *s);
void smtpd_limit_disconnect(struct smtpd_session *s);

/* ---- smtpd_pass.c: clients handed over by postscreen ---- */

/* Receive one client from postscreen on the pass connection fd (fd is
 * not closed) and serve it. */
void smtpd_pass_serve(const struct smtpd_config *c, int fd);

/* ---- smtpd_header.c: missing headers of submitted mail ---- */

/* Watch the header of content being stored and add Message-ID: and
 * Date: when the header ends without them (RFC 6409 8.2, 8.3). */
struct smtpd_header;
struct smtpd_header *smtpd_header_create(const char *myhostname,
					 const char *queue_id);
void smtpd_header_free(struct smtpd_header **h);
/* Pass content (LF line ends) through; out receives what to store. */
void smtpd_header_feed(struct smtpd_header *h, const char *p, size_t n,
		       struct str *out);
/* At the end of content: whatever is still owed. */
void smtpd_header_finish(struct smtpd_header *h, struct str *out);

/* ---- smtpd_check.c: recipient acceptance and relay control ---- */

/* Decide about one RCPT. Returns true with the routed address in
 * *address_r (allocated); false with the reply in err. */
bool smtpd_check_rcpt(struct smtpd_session *s, const struct smtpd_rcpt_arg *r,
		      char **address_r, struct smtpd_perr *err);

/* ---- smtpd_data.c: message content into the queue ---- */

void smtpd_cmd_data(struct smtpd_session *s, const struct smtpd_cmd *cmd);
void smtpd_cmd_bdat(struct smtpd_session *s, const struct smtpd_cmd *cmd);

/* Hop count above which a message is refused (mail loop). */
#define SMTPD_HOPCOUNT_LIMIT 50
/* Bytes read from the client per piece in DATA lines and BDAT chunks. */
#define SMTPD_DATA_PIECE 65536

#endif
