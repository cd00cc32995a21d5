/*
 * local_serve: the "deliver" protocol between qmgr and local (proto.h).
 *
 * qmgr keeps a connection open and sends one request per message and
 * batch of recipients; local answers each with one status per delivery,
 * in request order. A connection idle for ipc_timeout is closed; qmgr
 * reconnects. daemon_timeout bounds one request (alarm), not the
 * connection.
 *
 * Interface: local_pre_init, local_post_init, local_serve, local_state.
 *
 * SECURITY: the peer is qmgr over a 0700 private socket, but local is
 * root and checks anyway: the queue file must be "DIR/ID" in a queue
 * directory (no other path is opened), and the targets are resolved by
 * local itself (local_deliver.c).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "cfg.h"
#include "lio.h"
#include "local.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "proto.h"
#include "server.h"

struct local_state local_state;

static const struct attr_spec local_request_spec[] = {
	{ PROTO_ATTR_REQUEST, true, false },
	{ PROTO_ATTR_QUEUE_ID, true, false },
	{ PROTO_ATTR_QUEUE_FILE, true, false },
	{ PROTO_ATTR_SENDER, true, false },
	{ PROTO_ATTR_RECIPIENT, true, true },
	{ PROTO_ATTR_ORIG_RCPT, true, true },
	{ PROTO_ATTR_RCPT_INDEX, true, true },
	{ PROTO_ATTR_TARGET, false, true },
	{ NULL, false, false },
};

void local_pre_init(void *ctx)
{
	char *error = NULL;

	local_state.resolver = resolve_create(cfg_main, &error);
	if (local_state.resolver == NULL)
		msg_fatal("open lookup tables: %s", error);
	local_state.switch_user = priv_is_root();
	local_state.size_limit = cfg_size(cfg_main, "mailbox_size_limit");
	local_state.command_timeout = cfg_time(cfg_main, "command_time_limit");
	local_state.request_timeout = cfg_time(cfg_main, "ipc_timeout");
	local_state.daemon_timeout = cfg_time(cfg_main, "daemon_timeout");
}

void local_post_init(void *ctx)
{
	/* A command that exits early must not kill us while we feed it. */
	signal(SIGPIPE, SIG_IGN);
}

/* Split the request into deliveries (groups start at "recipient"). */
static size_t local_parse_rcpts(const struct attr_list *req,
				struct local_rcpt **rcpts_r)
{
	struct local_rcpt *rcpts = NULL;
	size_t n = 0;

	for (size_t i = 0; i < req->count; i++) {
		const struct attr *a = &req->attrs[i];

		if (strcmp(a->name, PROTO_ATTR_RECIPIENT) == 0) {
			rcpts = mem_array_realloc(rcpts, n + 1,
						  sizeof(*rcpts));
			memset(&rcpts[n], 0, sizeof(rcpts[n]));
			rcpts[n].address = a->value;
			rcpts[n].index = -1;
			n++;
		} else if (n == 0) {
			continue;
		} else if (strcmp(a->name, PROTO_ATTR_ORIG_RCPT) == 0) {
			rcpts[n - 1].orig = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_RCPT_INDEX) == 0) {
			if (!str_to_long(a->value, 0, 1000000000,
					 &rcpts[n - 1].index))
				rcpts[n - 1].index = -1;
		} else if (strcmp(a->name, PROTO_ATTR_TARGET) == 0) {
			rcpts[n - 1].target = a->value;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (rcpts[i].orig == NULL || rcpts[i].index < 0) {
			free(rcpts);
			*rcpts_r = NULL;
			return 0;
		}
	}
	*rcpts_r = rcpts;
	return n;
}

static void local_reply_rcpt(struct attr_list *reply,
			     const struct local_rcpt *rcpt,
			     const struct local_result *res)
{
	static const char *const names[] = {
		PROTO_STATUS_OK, PROTO_STATUS_DEFER, PROTO_STATUS_BOUNCE
	};

	attr_add_long(reply, PROTO_ATTR_RCPT_INDEX, rcpt->index);
	attr_add(reply, PROTO_ATTR_RCPT_STATUS, names[res->status]);
	attr_add(reply, PROTO_ATTR_DSN, res->dsn);
	attr_add(reply, PROTO_ATTR_REASON, str_c(&res->reason));
}

/* Every delivery gets the same answer (the file could not be read). */
static void local_reply_all(struct attr_list *reply,
			    const struct local_rcpt *rcpts, size_t n,
			    const struct local_result *res)
{
	for (size_t i = 0; i < n; i++)
		local_reply_rcpt(reply, &rcpts[i], res);
}

static void local_request(const struct attr_list *req,
			  struct attr_list *reply)
{
	const char *id = attr_get(req, PROTO_ATTR_QUEUE_ID);
	const char *path = attr_get(req, PROTO_ATTR_QUEUE_FILE);
	struct local_result res = { LOCAL_OK, "2.0.0", STR_INIT };
	struct queue_msg *msg = NULL;
	struct local_rcpt *rcpts;
	const char *error = "";
	size_t n = local_parse_rcpts(req, &rcpts);
	int ret;

	if (n == 0 || strcmp(attr_get(req, PROTO_ATTR_REQUEST),
			     PROTO_REQ_DELIVER) != 0 ||
	    !queue_path_valid(path, id)) {
		attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_ERROR);
		attr_add(reply, PROTO_ATTR_REASON, "malformed request");
		msg_warn("%s: malformed deliver request", id);
		free(rcpts);
		return;
	}
	attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	ret = queue_msg_open(path, false, &msg, &error);
	if (ret <= 0) {
		local_result_set(&res, LOCAL_DEFER, "4.3.0",
				 "cannot open queue file: %s",
				 ret < 0 ? strerror(errno) : error);
		local_reply_all(reply, rcpts, n, &res);
	} else {
		for (size_t i = 0; i < n; i++) {
			local_deliver(msg, &rcpts[i], &res);
			local_reply_rcpt(reply, &rcpts[i], &res);
		}
	}
	queue_msg_free(&msg);
	str_release(&res.reason);
	free(rcpts);
}

void local_serve(int fd, void *ctx)
{
	const struct server_attr_service svc = {
		.protocol = PROTO_DELIVERY,
		.spec = local_request_spec,
		.timeout = (int)local_state.request_timeout,
		.daemon_timeout = local_state.daemon_timeout,
		.handle = local_request,
	};

	server_attr_serve(fd, &svc);
	local_worker_close_all();
}
