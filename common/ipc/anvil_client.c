/*
 * anvil_client: the network services' side of the anvil protocol
 * (anvil_client.h, proto.h).
 *
 * Interface: anvil_client_create/free, anvil_client_open,
 * anvil_client_connect, anvil_client_disconnect, anvil_client_check,
 * anvil_client_log.
 *
 * One connection to private/anvil, made on first use and kept: anvil
 * ties the registrations to it, so when this process dies its clients
 * are forgotten without a disconnect request. If anvil restarted in
 * between, the first exchange fails and one reconnect is tried at once
 * (the new anvil knows nothing of the old counts; a disconnect for an
 * unknown client is ignored there).
 *
 * SECURITY: runs inside pre-authentication network services. Client
 * addresses go out as percent-encoded attribute values; replies are
 * read with a strict attribute spec and numbers are range-checked.
 * Nothing the network sent beyond the peer's address is passed on.
 */
#include "config.h"

#include <fcntl.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anvil_client.h"
#include "attr.h"
#include "lio.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"

struct anvil_client {
	char *path;
	struct lio *lio;
	bool down;		/* the last attempt failed (and was logged) */
	time_t retry_at;	/* no new connect before this */
};

static const struct attr_spec anvil_client_reply_spec[] = {
	{ PROTO_ATTR_STATUS, true, false },
	{ PROTO_ATTR_COUNT, false, false },
	{ PROTO_ATTR_RATE, false, false },
	{ PROTO_ATTR_ACTIVE, false, false },
	{ PROTO_ATTR_REASON, false, false },
	{ NULL, false, false },
};

struct anvil_client *anvil_client_create(const char *path)
{
	struct anvil_client *ac = mem_alloc(sizeof(*ac));

	ac->path = mem_strdup(path != NULL ? path : ANVIL_CLIENT_SOCKET);
	return ac;
}

void anvil_client_free(struct anvil_client **acp)
{
	struct anvil_client *ac = *acp;

	if (ac == NULL)
		return;
	lio_free(&ac->lio);
	free(ac->path);
	mem_free(*acp);
}

/* The one log line per outage. */
static void anvil_client_failed(struct anvil_client *ac, const char *why)
{
	lio_free(&ac->lio);
	ac->retry_at = time(NULL) + ANVIL_CLIENT_RETRY;
	if (ac->down)
		return;
	ac->down = true;
	msg_warn("anvil service %s: %s: connection limits are not enforced"
		 " until it is back", ac->path, why);
}

static bool anvil_client_reach(struct anvil_client *ac)
{
	const char *error = NULL;
	int fd;

	if (ac->lio != NULL)
		return true;
	if (ac->down && time(NULL) < ac->retry_at)
		return false;
	fd = lio_connect_unix(ac->path, ANVIL_CLIENT_TIMEOUT);
	if (fd < 0) {
		anvil_client_failed(ac, "cannot connect");
		return false;
	}
	ac->lio = lio_create(fd, ANVIL_CLIENT_TIMEOUT);
	if (!attr_client_hello(ac->lio, PROTO_ANVIL, &error)) {
		anvil_client_failed(ac, error != NULL ? error :
				    "bad handshake");
		return false;
	}
	if (ac->down)
		msg_info("anvil service %s is back", ac->path);
	ac->down = false;
	return true;
}

bool anvil_client_open(struct anvil_client *ac)
{
	return anvil_client_reach(ac);
}

/* One request and its reply; false with the connection dropped. */
static bool anvil_client_exchange(struct anvil_client *ac,
				  const struct attr_list *req,
				  struct attr_list *reply)
{
	const char *error = NULL;
	enum lio_status st;

	if (!anvil_client_reach(ac))
		return false;
	attr_write(ac->lio, req);
	st = lio_flush(ac->lio);
	if (st == LIO_OK)
		st = attr_read(ac->lio, reply, anvil_client_reply_spec,
			       &error);
	if (st == LIO_OK &&
	    strcmp(attr_get(reply, PROTO_ATTR_STATUS), PROTO_STATUS_OK) == 0)
		return true;
	lio_free(&ac->lio);
	return false;
}

static bool anvil_client_call(struct anvil_client *ac, const char *request,
			      const char *service, const char *client_addr,
			      struct attr_list *reply)
{
	struct attr_list req = ATTR_LIST_INIT;
	bool fresh = ac->lio == NULL;
	bool ok;

	attr_add(&req, PROTO_ATTR_REQUEST, request);
	attr_add(&req, PROTO_ATTR_SERVICE, service);
	attr_add(&req, PROTO_ATTR_CLIENT_ADDR, client_addr);
	ok = anvil_client_exchange(ac, &req, reply);
	if (!ok && !fresh) {
		/* A kept connection may have died with an old anvil. */
		attr_list_clear(reply);
		ok = anvil_client_exchange(ac, &req, reply);
	}
	if (!ok && ac->lio == NULL && !(ac->down &&
					time(NULL) < ac->retry_at))
		anvil_client_failed(ac, "request failed");
	attr_list_clear(&req);
	return ok;
}

/* The counts of a connect or hold reply; false (logged) if malformed. */
static bool anvil_client_counts(struct anvil_client *ac,
				const struct attr_list *reply,
				struct anvil_counts *counts_r)
{
	if (!attr_get_long(reply, PROTO_ATTR_COUNT, &counts_r->count) ||
	    !attr_get_long(reply, PROTO_ATTR_RATE, &counts_r->rate) ||
	    !attr_get_long(reply, PROTO_ATTR_ACTIVE, &counts_r->active) ||
	    counts_r->count < 1 || counts_r->rate < 1 ||
	    counts_r->active < counts_r->count) {
		memset(counts_r, 0, sizeof(*counts_r));
		anvil_client_failed(ac, "malformed reply");
		return false;
	}
	return true;
}

int anvil_client_connect(struct anvil_client *ac, const char *service,
			 const char *client_addr,
			 struct anvil_counts *counts_r)
{
	struct attr_list reply = ATTR_LIST_INIT;
	int ret = -1;

	memset(counts_r, 0, sizeof(*counts_r));
	if (anvil_client_call(ac, PROTO_REQ_CONNECT, service, client_addr,
			      &reply) &&
	    anvil_client_counts(ac, &reply, counts_r))
		ret = 1;
	attr_list_clear(&reply);
	return ret;
}

int anvil_client_hold(struct anvil_client *ac, const char *service,
		      const char *key, struct anvil_counts *counts_r,
		      int *fd_r)
{
	struct attr_list reply = ATTR_LIST_INIT;
	int ret = -1;

	*fd_r = -1;
	memset(counts_r, 0, sizeof(*counts_r));
	/* Always a connection of its own: it leaves with the session. */
	lio_free(&ac->lio);
	if (anvil_client_call(ac, PROTO_REQ_HOLD, service, key, &reply) &&
	    anvil_client_counts(ac, &reply, counts_r)) {
		*fd_r = fcntl(lio_fd(ac->lio), F_DUPFD_CLOEXEC, 3);
		if (*fd_r < 0)
			msg_warn("anvil: dup: %m");
		else
			ret = 1;
	}
	lio_free(&ac->lio);
	attr_list_clear(&reply);
	return ret;
}

void anvil_client_disconnect(struct anvil_client *ac, const char *service,
			     const char *client_addr)
{
	struct attr_list reply = ATTR_LIST_INIT;

	(void)anvil_client_call(ac, PROTO_REQ_DISCONNECT, service,
				client_addr, &reply);
	attr_list_clear(&reply);
}

enum anvil_verdict anvil_client_check(const struct anvil_counts *c,
				      long count_limit, long rate_limit)
{
	if (count_limit > 0 && c->count > count_limit)
		return ANVIL_COUNT;
	if (rate_limit > 0 && c->rate > rate_limit)
		return ANVIL_RATE;
	return ANVIL_OK;
}

void anvil_client_log(enum anvil_verdict v, const struct anvil_counts *c,
		      const char *client, const char *service)
{
	if (v == ANVIL_COUNT)
		msg_warn("Connection concurrency limit exceeded: %ld from %s"
			 " for service %s", c->count, client, service);
	else if (v == ANVIL_RATE)
		msg_warn("Connection rate limit exceeded: %ld from %s for"
			 " service %s", c->rate, client, service);
}
