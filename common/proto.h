#ifndef COMMON_PROTO_H
#define COMMON_PROTO_H

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
#define PROTO_ATTR_USER		"user"
#define PROTO_ATTR_DSN		"dsn"
#define PROTO_ATTR_RELAY	"relay"

#endif
