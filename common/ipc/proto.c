/*
 * proto: the attribute specs of the requests and replies listed in
 * proto.h that more than one program reads, defined once so a reader
 * and a writer cannot drift apart.
 *
 * Interface (proto.h): proto_auth_request_spec, proto_auth_reply_spec.
 *
 * SECURITY: data only. attr_read with a spec rejects any attribute the
 * spec does not name, so what is listed here is everything a peer may
 * send.
 */
#include "config.h"

#include <stddef.h>

#include "proto.h"

const struct attr_spec proto_auth_request_spec[] = {
	{ PROTO_ATTR_REQUEST, true, false },
	{ PROTO_ATTR_SERVICE, false, false },
	{ PROTO_ATTR_MECHANISM, false, false },
	{ PROTO_ATTR_CLIENT_ADDR, false, false },
	{ PROTO_ATTR_CLIENT_NAME, false, false },
	{ PROTO_ATTR_RESPONSE, false, false },
	{ PROTO_ATTR_COOKIE, false, false },
	{ NULL, false, false },
};

const struct attr_spec proto_auth_reply_spec[] = {
	{ PROTO_ATTR_STATUS, true, false },
	{ PROTO_ATTR_CHALLENGE, false, false },
	{ PROTO_ATTR_USER, false, false },
	{ PROTO_ATTR_MAILBOX, false, false },
	{ PROTO_ATTR_UID, false, false },
	{ PROTO_ATTR_GID, false, false },
	{ PROTO_ATTR_TEMPORARY, false, false },
	{ PROTO_ATTR_DELAY, false, false },
	{ PROTO_ATTR_REASON, false, false },
	{ PROTO_ATTR_COOKIE, false, false },
	{ NULL, false, false },
};
