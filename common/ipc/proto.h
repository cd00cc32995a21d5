#ifndef COMMON_PROTO_H
#define COMMON_PROTO_H

#include "attr.h"

/* Every internal protocol, request and attribute, in one place.
 *
 * A protocol is spoken over one Unix socket under queue/private (or
 * public). Each request is an attribute list whose "request" attribute
 * names it; the reply is an attribute list with "status" (PROTO_STATUS_*)
 * and, where useful, "reason". */

/* Common attributes. */
#define PROTO_ATTR_REQUEST	"request"
#define PROTO_ATTR_STATUS	"status"
#define PROTO_ATTR_REASON	"reason"
/* The handshake: "protocol=NAME" then a blank line, from the server. */
#define PROTO_ATTR_PROTOCOL	"protocol"

#define PROTO_STATUS_OK		"ok"
#define PROTO_STATUS_DEFER	"defer"	/* temporary failure */
#define PROTO_STATUS_BOUNCE	"bounce"	/* permanent failure */
#define PROTO_STATUS_ERROR	"error"	/* the request was malformed */

/* Triggers: one byte written to a service's socket, then close. */
#define PROTO_TRIGGER_WAKEUP	'W'	/* periodic wakeup from master */
#define PROTO_TRIGGER_SCAN	'S'	/* new mail in incoming/ */
#define PROTO_TRIGGER_FLUSH	'F'	/* deliver deferred mail now */

/* Test protocol: "echo" answers a request with its attributes. It exists
 * so the request protocol can be tested end to end. */
#define PROTO_ECHO		"echo"
#define PROTO_REQ_ECHO		"echo"

/* Delivery (qmgr -> local, smtp): request "deliver". Defined fully by the
 * delivery issue; listed here so every name has one home. */
#define PROTO_DELIVERY		"delivery"
#define PROTO_REQ_DELIVER	"deliver"
#define PROTO_ATTR_QUEUE_ID	"queue_id"
#define PROTO_ATTR_QUEUE_FILE	"queue_file"
#define PROTO_ATTR_OFFSET	"offset"
#define PROTO_ATTR_SENDER	"sender"
#define PROTO_ATTR_RECIPIENT	"recipient"
#define PROTO_ATTR_ORIG_RCPT	"orig_recipient"
#define PROTO_ATTR_RCPT_INDEX	"rcpt_index"
#define PROTO_ATTR_MAILBOX	"mailbox"
#define PROTO_ATTR_QUOTA	"quota"		/* a quota rule */
#define PROTO_ATTR_USER		"user"
#define PROTO_ATTR_DSN		"dsn"
#define PROTO_ATTR_RELAY	"relay"
#define PROTO_ATTR_TARGET	"target"
#define PROTO_ATTR_RCPT_STATUS	"rcpt_status"

/* The "deliver" request to local (PROTO_DELIVERY), one per message and
 * batch of recipients; a connection carries many requests in turn:
 *
 *   request=deliver  queue_id=ID  queue_file=active/ID  sender=S
 *   then for each delivery, a group in this order:
 *     recipient=R         the final address (after alias expansion)
 *     orig_recipient=O    the queue recipient it came from
 *     rcpt_index=N        that recipient's index in the queue file
 *     [target=T]          only for "|command" or "/file" targets
 *
 * local resolves the mailbox of R itself (resolve_mailbox), so qmgr never
 * names a path local writes to; a target is honoured only if expanding O
 * yields it and allow_mail_to_* permit it. local opens the queue file
 * read-only and answers
 *
 *   status=ok (or status=error reason=... for a malformed request)
 *   then for each delivery, in request order:
 *     rcpt_index=N  rcpt_status=ok|defer|bounce  dsn=X.Y.Z  reason=TEXT
 */

/* The "deliver" request to smtp and lmtp (PROTO_DELIVERY, on
 * private/smtp or private/lmtp, or any services.conf row running the
 * smtp program): local's request and reply, plus
 *
 *   request:  nexthop=N          where to (transport.h syntax:
 *                                "example.com", "[192.0.2.1]:2525",
 *                                "unix:/path" for lmtp); required
 *             [size=BYTES]       content size, for ESMTP SIZE
 *             [ret=FULL|HDRS]    DSN RET (RFC 3461)
 *             [envid=TEXT]       DSN ENVID (plain text; xtext is the
 *                                agent's business)
 *             per delivery, after rcpt_index:
 *             [notify=N]         "NEVER" or a comma list of SUCCESS,
 *                                FAILURE, DELAY
 *             [orcpt=ADDR]       the original recipient for ORCPT
 *   DSN attributes go out only when the peer announces DSN.
 *
 *   reply:    status=ok  [dest_status=defer]
 *             then per delivery, in request order:
 *             rcpt_index=N rcpt_status=ok|defer|bounce dsn=X.Y.Z
 *             reason=TEXT relay=HOST[ADDR]:PORT ("none" if no session
 *             was made)
 *   dest_status=defer means the destination as a whole failed (no
 *   host answered, DNS trouble): qmgr may hold back other mail for the
 *   same next hop. reason then reads like Postfix's, e.g. "connect to
 *   mx.example.com[192.0.2.1]:25: Connection refused". */
#define PROTO_ATTR_NEXTHOP	"nexthop"
#define PROTO_ATTR_SIZE		"size"
#define PROTO_ATTR_RET		"ret"
#define PROTO_ATTR_ENVID	"envid"
#define PROTO_ATTR_NOTIFY	"notify"
#define PROTO_ATTR_ORCPT	"orcpt"
#define PROTO_ATTR_DEST_STATUS	"dest_status"

/* Authentication (smtpd, the POP3/IMAP front ends -> auth, over
 * private/auth; see correo-auth(8) and common/auth_client.h). The front end
 * relays the SASL exchange without understanding it: every client
 * response goes to auth verbatim (base64 as the client sent it, "=" for
 * an empty initial response), every challenge comes back verbatim. A
 * connection carries any number of exchanges, one at a time.
 *
 *   request=authenticate  service=smtp|pop3|imap  mechanism=PLAIN|LOGIN
 *     client_address=IP  [client_name=HOST]  [response=BASE64]
 *       (response: the initial response, if the client sent one)
 *   request=continue  response=BASE64|"*"
 *       (the client's answer to the last challenge; "*" cancels)
 *
 * Replies:
 *   status=continue  challenge=BASE64
 *   status=ok  user=ADDRESS  [mailbox=PATH  uid=N  gid=N]
 *       (user is the canonical, lower-cased login name; the mailbox
 *       attributes are absent when the user has no mailbox)
 *   status=fail  temporary=0|1  delay=MSEC  reason=TEXT
 *       (auth already waited delay milliseconds before answering; a
 *       temporary failure is a lockout or a table error)
 *   status=error  reason=TEXT  (a malformed request)
 * Wrong password and unknown user get the same reply, after the same
 * work. */
#define PROTO_AUTH		"auth"
#define PROTO_REQ_AUTHENTICATE	"authenticate"
#define PROTO_REQ_CONTINUE	"continue"
#define PROTO_ATTR_SERVICE	"service"
#define PROTO_ATTR_MECHANISM	"mechanism"
#define PROTO_ATTR_CLIENT_ADDR	"client_address"
#define PROTO_ATTR_CLIENT_NAME	"client_name"
#define PROTO_ATTR_RESPONSE	"response"
#define PROTO_ATTR_CHALLENGE	"challenge"
#define PROTO_ATTR_UID		"uid"
#define PROTO_ATTR_GID		"gid"
#define PROTO_ATTR_TEMPORARY	"temporary"
#define PROTO_ATTR_DELAY	"delay"
#define PROTO_STATUS_CONTINUE	"continue"
#define PROTO_STATUS_FAIL	"fail"
/* Every attribute an auth request or reply may carry (attr_read specs;
 * proto.c). */
extern const struct attr_spec proto_auth_request_spec[];
extern const struct attr_spec proto_auth_reply_spec[];

/* Login cookies (auth <-> the mail-process spawners). A successful
 * authenticate/continue reply for a user with a mailbox also carries
 *
 *   cookie=HEX   64 hex digits, random, good once, for
 *                AUTH_COOKIE_LIFETIME seconds, for that service only
 *
 * which the front end passes on with the client; the spawner (root,
 * unchrooted) redeems it on its own connection to auth:
 *
 *   request=redeem  cookie=HEX  service=pop3|imap
 *   reply: status=ok  user=ADDRESS  mailbox=PATH  uid=N  gid=N
 *          status=fail  reason=TEXT   (unknown, used or expired)
 *
 * auth answers redeem only to a peer running as root (SO_PEERCRED; in
 * instance mode, as auth's own user), so a front end that learned a
 * cookie cannot read the user's mailbox path or uid by itself, and the
 * mail process's user always comes from auth's verdict. */
#define PROTO_REQ_REDEEM	"redeem"
#define PROTO_ATTR_COOKIE	"cookie"
#define AUTH_COOKIE_LIFETIME	30

/* Login (a pre-auth front end, e.g. pop3-login -> its mail-process
 * spawner, e.g. the pop3d service on private/pop3d; login_spawn.h). One
 * connection per front-end process, opened before it chroots. Every
 * request and every reply starts with one marker byte sent with
 * fdpass_send (LOGIN_MARK), which may carry a descriptor; the attribute
 * list follows. One request at a time.
 *
 *   request=auth_connect
 *       reply: the marker carries a new connection to private/auth
 *       (the chrooted front end cannot connect itself); status=ok, or
 *       status=fail reason=TEXT without a descriptor.
 *   request=login  cookie=HEX  client_address=IP  local_address=IP
 *     tls=yes|no  [input=BYTES]  [data=TEXT]
 *       the marker carries the client's descriptor (or, over TLS, one
 *       end of a socketpair the front end proxies); input is client
 *       input already read (pipelined commands). The spawner redeems
 *       the cookie with auth and starts the mail process as that user;
 *       reply status=ok, or status=fail reason=TEXT; a user over
 *       mail_max_userip_connections gets status=fail
 *       userip_limit=N, which the front end answers with the
 *       protocol's "in use" reply.
 *
 * The mail process is exec'd fresh with only the client descriptor (fd
 * 0), a pipe carrying its parameters (fd 1: an attribute list with
 * user, mailbox, uid, gid, client_address, tls, timeout, verbose, log,
 * maybe input and data) and the log file (fd 2, when logging to a file). */
#define PROTO_LOGIN		"login"
#define PROTO_REQ_AUTH_CONNECT	"auth_connect"
#define PROTO_REQ_LOGIN		"login"
#define PROTO_ATTR_LOCAL_ADDR	"local_address"
#define PROTO_ATTR_TLS		"tls"
#define PROTO_ATTR_INPUT	"input"
#define PROTO_ATTR_TIMEOUT	"timeout"
#define PROTO_ATTR_VERBOSE	"verbose"
#define PROTO_ATTR_LOG		"log"
#define PROTO_ATTR_DATA		"data"
#define PROTO_ATTR_USERIP_LIMIT	"userip_limit"
#define LOGIN_MARK		'L'

/* Connection counting (smtpd, postscreen, the login front ends ->
 * anvil, over private/anvil; see correo-anvil(8) and
 * common/ipc/anvil_client.h).
 * anvil only counts; the client compares with its own limits, so one
 * anvil serves services with different limits. A connection carries
 * any number of requests; when it closes, anvil forgets every
 * connection it registered (a crashed client leaks no counts).
 *
 *   request=connect  service=S  client_address=IP
 *     reply: status=ok  count=N  rate=N  active=N
 *       count: this client's simultaneous connections to S, this one
 *       included; rate: its connections to S in the current
 *       $anvil_rate_time_unit, this one included; active: every
 *       client's connections to S (for stress decisions)
 *   request=disconnect  service=S  client_address=IP
 *     reply: status=ok
 *   request=hold  service=S  client_address=KEY
 *     reply: as connect; the connection is then held: it is never read
 *       again, and anvil forgets this registration when the client
 *       closes it (or sends anything). The spawners hold one per mail
 *       session ("imap/user", "USER/IP") and pass the descriptor to the
 *       mail process, so a session counts until its process is gone
 *       (mail_max_userip_connections).
 *
 * The postscreen -> smtpd hand-off (over private/smtpd or whatever
 * $postscreen_pass_service names) is one way, with no handshake: one
 * fdpass marker byte (PROTO_PASS_MARKER) carrying the client socket,
 * then one list
 *
 *   request=pass  greeted=0|1  [input=BYTES]
 *
 * greeted: postscreen already sent the 220 greeting; input: what the
 * client sent after it (at most one command line), to be read by smtpd
 * before anything else from the socket. */
#define PROTO_ANVIL		"anvil"
#define PROTO_REQ_CONNECT	"connect"
#define PROTO_REQ_DISCONNECT	"disconnect"
#define PROTO_REQ_HOLD		"hold"
#define PROTO_ATTR_COUNT	"count"
#define PROTO_ATTR_RATE		"rate"
#define PROTO_ATTR_ACTIVE	"active"
#define PROTO_REQ_PASS		"pass"
#define PROTO_ATTR_GREETED	"greeted"
#define PROTO_ATTR_INPUT	"input"
#define PROTO_PASS_MARKER	'P'

#endif
