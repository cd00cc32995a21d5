/*
 * auth_client: the front ends' side of the auth protocol
 * (auth_client.h, proto.h).
 *
 * Interface: auth_client_create/free, auth_client_start,
 * auth_client_continue, auth_client_reply_clear.
 *
 * One connection to private/auth, made on first use and kept for the
 * front end's later clients. If auth restarted in between, the first
 * write or read fails; a new exchange (never a continuation, whose state
 * died with the old connection) reconnects and tries once more.
 *
 * SECURITY: runs inside front ends that talk to the network before
 * authentication. Client responses are passed through as attribute
 * values (percent-encoded by attr.c, so a response cannot inject
 * attributes); replies from auth are read with a strict attribute spec.
 * Nothing here sees a password in clear unless the mechanism puts it
 * there (PLAIN, LOGIN), and nothing here logs responses.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "auth_client.h"
#include "lio.h"
#include "mem.h"
#include "proto.h"
#include "str.h"

struct auth_client {
	char *path;
	int timeout;
	struct lio *lio;
};

struct auth_client *auth_client_create(const char *path, int timeout)
{
	struct auth_client *ac = mem_alloc(sizeof(*ac));

	ac->path = mem_strdup(path != NULL ? path : AUTH_CLIENT_SOCKET);
	ac->timeout = timeout > 0 ? timeout : AUTH_CLIENT_TIMEOUT;
	return ac;
}

void auth_client_free(struct auth_client **acp)
{
	struct auth_client *ac = *acp;

	if (ac == NULL)
		return;
	lio_free(&ac->lio);
	free(ac->path);
	mem_free(*acp);
}

void auth_client_reply_clear(struct auth_client_reply *reply)
{
	mem_free(reply->challenge);
	mem_free(reply->user);
	mem_free(reply->mailbox);
	mem_free(reply->reason);
	memset(reply, 0, sizeof(*reply));
	reply->status = AUTH_CLIENT_ERROR;
}

static enum auth_client_status auth_client_error(struct auth_client_reply *r,
						 const char *reason)
{
	r->status = AUTH_CLIENT_ERROR;
	mem_free(r->reason);
	r->reason = mem_strdup(reason);
	return r->status;
}

static bool auth_client_connect(struct auth_client *ac, const char **error_r)
{
	int fd;

	if (ac->lio != NULL)
		return true;
	fd = lio_connect_unix(ac->path, ac->timeout);
	if (fd < 0) {
		*error_r = "cannot connect to the auth service";
		return false;
	}
	ac->lio = lio_create(fd, ac->timeout);
	if (!attr_client_hello(ac->lio, PROTO_AUTH, error_r)) {
		lio_free(&ac->lio);
		return false;
	}
	return true;
}

/* Fill r from an OK reply; false if it is malformed. */
static bool auth_client_ok(const struct attr_list *list,
			   struct auth_client_reply *r)
{
	const char *user = attr_get(list, PROTO_ATTR_USER);
	const char *mailbox = attr_get(list, PROTO_ATTR_MAILBOX);
	long uid, gid;

	if (user == NULL)
		return false;
	if (mailbox != NULL) {
		if (!attr_get_long(list, PROTO_ATTR_UID, &uid) ||
		    !attr_get_long(list, PROTO_ATTR_GID, &gid) ||
		    uid < 0 || gid < 0)
			return false;
		r->mailbox = mem_strdup(mailbox);
		r->uid = (uid_t)uid;
		r->gid = (gid_t)gid;
	}
	r->user = mem_strdup(user);
	r->status = AUTH_CLIENT_OK;
	return true;
}

static bool auth_client_fail(const struct attr_list *list,
			     struct auth_client_reply *r)
{
	const char *temp = attr_get(list, PROTO_ATTR_TEMPORARY);
	const char *reason = attr_get(list, PROTO_ATTR_REASON);

	if (temp == NULL || reason == NULL ||
	    !attr_get_long(list, PROTO_ATTR_DELAY, &r->delay_ms))
		return false;
	r->temporary = strcmp(temp, "1") == 0;
	r->reason = mem_strdup(reason);
	r->status = AUTH_CLIENT_FAIL;
	return true;
}

/* Interpret a reply list. */
static enum auth_client_status auth_client_parse(const struct attr_list *list,
						 struct auth_client_reply *r)
{
	const char *status = attr_get(list, PROTO_ATTR_STATUS);
	const char *challenge = attr_get(list, PROTO_ATTR_CHALLENGE);
	bool ok = false;

	if (strcmp(status, PROTO_STATUS_OK) == 0) {
		ok = auth_client_ok(list, r);
	} else if (strcmp(status, PROTO_STATUS_CONTINUE) == 0) {
		ok = challenge != NULL;
		if (ok) {
			r->challenge = mem_strdup(challenge);
			r->status = AUTH_CLIENT_CONTINUE;
		}
	} else if (strcmp(status, PROTO_STATUS_FAIL) == 0) {
		ok = auth_client_fail(list, r);
	} else if (strcmp(status, PROTO_STATUS_ERROR) == 0) {
		const char *reason = attr_get(list, PROTO_ATTR_REASON);

		return auth_client_error(r, reason != NULL ? reason :
					 "auth service refused the request");
	}
	if (!ok)
		return auth_client_error(r, "malformed reply from auth");
	return r->status;
}

/* Send req, read the reply. False (and the connection dropped) on an
 * I/O problem, so the caller may reconnect. */
static bool auth_client_exchange(struct auth_client *ac,
				 const struct attr_list *req,
				 struct attr_list *reply,
				 const char **error_r)
{
	enum lio_status st;

	if (!auth_client_connect(ac, error_r))
		return false;
	attr_write(ac->lio, req);
	st = lio_flush(ac->lio);
	if (st == LIO_OK)
		st = attr_read(ac->lio, reply, proto_auth_reply_spec,
			       error_r);
	if (st != LIO_OK) {
		if (st == LIO_EOF || *error_r == NULL)
			*error_r = "lost connection with the auth service";
		lio_free(&ac->lio);
		return false;
	}
	return true;
}

static enum auth_client_status auth_client_call(struct auth_client *ac,
						const struct attr_list *req,
						bool may_retry,
						struct auth_client_reply *r)
{
	struct attr_list reply = ATTR_LIST_INIT;
	const char *error = NULL;
	bool fresh = ac->lio == NULL;
	enum auth_client_status status;

	bool ok;

	auth_client_reply_clear(r);
	ok = auth_client_exchange(ac, req, &reply, &error);
	if (!ok && !fresh && may_retry) {
		/* A kept connection may have died with an old auth. */
		error = NULL;
		ok = auth_client_exchange(ac, req, &reply, &error);
	}
	if (!ok) {
		attr_list_clear(&reply);
		return auth_client_error(r, error);
	}
	status = auth_client_parse(&reply, r);
	if (status == AUTH_CLIENT_ERROR)
		lio_free(&ac->lio);	/* out of step: start afresh */
	attr_list_clear(&reply);
	return status;
}

enum auth_client_status auth_client_start(struct auth_client *ac,
					  const struct auth_client_request
					  *req,
					  struct auth_client_reply *reply_r)
{
	struct attr_list list = ATTR_LIST_INIT;
	enum auth_client_status status;

	attr_add(&list, PROTO_ATTR_REQUEST, PROTO_REQ_AUTHENTICATE);
	attr_add(&list, PROTO_ATTR_SERVICE, req->service);
	attr_add(&list, PROTO_ATTR_MECHANISM, req->mechanism);
	attr_add(&list, PROTO_ATTR_CLIENT_ADDR, req->client_address);
	if (req->client_name != NULL)
		attr_add(&list, PROTO_ATTR_CLIENT_NAME, req->client_name);
	if (req->initial_response != NULL)
		attr_add(&list, PROTO_ATTR_RESPONSE, req->initial_response);
	status = auth_client_call(ac, &list, true, reply_r);
	for (size_t i = 0; i < list.count; i++)
		explicit_bzero(list.attrs[i].value,
			       strlen(list.attrs[i].value));
	attr_list_clear(&list);
	return status;
}

enum auth_client_status auth_client_continue(struct auth_client *ac,
					     const char *response,
					     struct auth_client_reply
					     *reply_r)
{
	struct attr_list list = ATTR_LIST_INIT;
	enum auth_client_status status;

	attr_add(&list, PROTO_ATTR_REQUEST, PROTO_REQ_CONTINUE);
	attr_add(&list, PROTO_ATTR_RESPONSE, response);
	status = auth_client_call(ac, &list, false, reply_r);
	explicit_bzero(list.attrs[1].value, strlen(list.attrs[1].value));
	attr_list_clear(&list);
	return status;
}
