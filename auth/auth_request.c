/*
 * auth_request: the front-end requests of the auth protocol, checked
 * before anything acts on them.
 *
 * Interface (auth.h): auth_request_parse, auth_log_safe. The attributes
 * a request may carry are proto_auth_request_spec (proto.h).
 *
 * The wire format and its strictness (unknown attributes, bad encoding,
 * sizes) are attr.c's; this file checks the meaning: which attributes
 * each request needs and what their values may look like.
 *
 * SECURITY: requests come from front ends that talk to the network
 * before authentication and may be compromised. Every value that ends
 * up in a log line is either checked against a small alphabet here or
 * passed through auth_log_safe.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "auth.h"
#include "proto.h"

#define AUTH_MAX_SERVICE 32
#define AUTH_MAX_ADDR 64
#define AUTH_MAX_NAME 255

/* value is non-empty, at most max bytes, every byte in the alphabet
 * (alnum plus extra). */
static bool auth_value_ok(const char *value, size_t max, const char *extra)
{
	size_t len = strlen(value);

	if (len == 0 || len > max)
		return false;
	for (; *value != '\0'; value++) {
		unsigned char c = (unsigned char)*value;

		if (c >= 0x80 || (!isalnum(c) && strchr(extra, c) == NULL))
			return false;
	}
	return true;
}

static bool auth_parse_authenticate(const struct attr_list *list,
				    struct auth_request *req,
				    const char **error_r)
{
	req->kind = AUTH_REQ_AUTHENTICATE;
	req->service = attr_get(list, PROTO_ATTR_SERVICE);
	req->mechanism = attr_get(list, PROTO_ATTR_MECHANISM);
	req->client_addr = attr_get(list, PROTO_ATTR_CLIENT_ADDR);
	req->client_name = attr_get(list, PROTO_ATTR_CLIENT_NAME);
	req->response = attr_get(list, PROTO_ATTR_RESPONSE);
	if (req->service == NULL || req->mechanism == NULL ||
	    req->client_addr == NULL) {
		*error_r = "authenticate needs service, mechanism and "
			   "client_address";
	} else if (!auth_value_ok(req->service, AUTH_MAX_SERVICE, "-_")) {
		*error_r = "bad service name";
	} else if (!auth_value_ok(req->mechanism, AUTH_MAX_SERVICE, "-_")) {
		*error_r = "bad mechanism name";
	} else if (!auth_value_ok(req->client_addr, AUTH_MAX_ADDR, ".:%-_")) {
		*error_r = "bad client address";
	} else if (req->client_name != NULL &&
		   !auth_value_ok(req->client_name, AUTH_MAX_NAME, ".-_")) {
		*error_r = "bad client name";
	} else {
		if (req->client_name == NULL)
			req->client_name = "unknown";
		return true;
	}
	return false;
}

bool auth_request_parse(const struct attr_list *list,
			struct auth_request *req, const char **error_r)
{
	const char *name = attr_get(list, PROTO_ATTR_REQUEST);

	memset(req, 0, sizeof(*req));
	if (name == NULL) {
		*error_r = "missing request";
		return false;
	}
	if (strcmp(name, PROTO_REQ_AUTHENTICATE) == 0)
		return auth_parse_authenticate(list, req, error_r);
	if (strcmp(name, PROTO_REQ_REDEEM) == 0) {
		req->kind = AUTH_REQ_REDEEM;
		req->cookie = attr_get(list, PROTO_ATTR_COOKIE);
		req->service = attr_get(list, PROTO_ATTR_SERVICE);
		if (req->cookie == NULL || req->service == NULL ||
		    list->count != 3) {
			*error_r = "redeem needs cookie and service only";
			return false;
		}
		return true;
	}
	if (strcmp(name, PROTO_REQ_CONTINUE) != 0) {
		*error_r = "unknown request";
		return false;
	}
	req->kind = AUTH_REQ_CONTINUE;
	req->response = attr_get(list, PROTO_ATTR_RESPONSE);
	if (req->response == NULL || list->count != 2) {
		*error_r = "continue needs response and nothing else";
		return false;
	}
	return true;
}

void auth_log_safe(struct str *out, const char *text, size_t max)
{
	str_clear(out);
	for (size_t i = 0; i < max && text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)text[i];

		str_append_c(out, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
}
