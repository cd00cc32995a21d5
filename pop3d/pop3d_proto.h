#ifndef POP3D_POP3D_PROTO_H
#define POP3D_POP3D_PROTO_H

#include "proto.h"

/* The "pop3d" protocol: the POP3 front end (pop3-login) -> the pop3d
 * service (private/pop3d), one connection per front-end process, opened
 * before the front end chroots and drops privileges.
 *
 * Every request starts with one marker byte sent with fdpass_send():
 * POP3D_MARK_REQUEST for an attribute list alone, POP3D_MARK_LOGIN for a
 * "login" request, whose byte carries the client's descriptor. The
 * attribute list follows; the front end sends the next request only after
 * the reply, so the marker byte is never read ahead.
 *
 *   request=authenticate ... and request=continue ...
 *       exactly as in the auth protocol (proto.h); pop3d relays them to
 *       auth and relays the reply, except that the mailbox attributes of
 *       a successful reply stay in pop3d.
 *   request=login  tls=yes|no  client_address=IP  [input=BYTES]
 *       after status=ok from auth on this connection: start the mail
 *       process for that user on the passed descriptor (the client socket,
 *       or one end of a socketpair the front end proxies TLS through);
 *       input is client input the front end already read. The mail
 *       process greets the user ("+OK Logged in.") or refuses
 *       ("-ERR [IN-USE] ...") itself.
 *   reply: status=ok | status=fail reason=TEXT | status=error reason=TEXT
 */
#define PROTO_POP3D		"pop3d"
#define PROTO_REQ_LOGIN		"login"
#define PROTO_ATTR_TLS		"tls"
#define PROTO_ATTR_INPUT	"input"

#define POP3D_MARK_REQUEST	'R'
#define POP3D_MARK_LOGIN	'L'

/* Where the service listens, relative to $queue_directory. */
#define POP3D_SOCKET		"private/pop3d"
#define POP3D_AUTH_SOCKET	"private/auth"

/* Pipelined client input handed over with a login (lio's input buffer). */
#define POP3D_MAX_INPUT		16384

#endif
