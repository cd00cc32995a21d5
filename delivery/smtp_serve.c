/*
 * smtp_serve: the "deliver" protocol between qmgr and smtp/lmtp
 * (proto.h), and the agent's settings.
 *
 * qmgr keeps a connection open and sends one request per message and
 * next hop; smtp answers each with one result per delivery in request
 * order, plus the relay it used. The SMTP sessions outlive the qmgr
 * connection (smtp_session.c caches them), so a new qmgr connection to
 * the same process reuses them. daemon_timeout bounds one request.
 *
 * Interface: smtp_pre_init, smtp_post_init, smtp_serve, smtp_set.
 *
 * SECURITY: the peer is qmgr over a 0700 private socket; the request is
 * read strictly, and the queue file must be "DIR/ID" in a queue
 * directory (nothing else is opened). smtp runs unprivileged.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "dns.h"
#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "server.h"
#include "smtp.h"

struct smtp_settings smtp_set;

static const struct attr_spec smtp_request_spec[] = {
	{ PROTO_ATTR_REQUEST, true, false },
	{ PROTO_ATTR_QUEUE_ID, true, false },
	{ PROTO_ATTR_QUEUE_FILE, true, false },
	{ PROTO_ATTR_SENDER, true, false },
	{ PROTO_ATTR_NEXTHOP, true, false },
	{ PROTO_ATTR_SIZE, false, false },
	{ PROTO_ATTR_RET, false, false },
	{ PROTO_ATTR_ENVID, false, false },
	{ PROTO_ATTR_RECIPIENT, true, true },
	{ PROTO_ATTR_ORIG_RCPT, true, true },
	{ PROTO_ATTR_RCPT_INDEX, true, true },
	{ PROTO_ATTR_NOTIFY, false, true },
	{ PROTO_ATTR_ORCPT, false, true },
	{ NULL, false, false },
};

/* "smtp_X" or "lmtp_X" (with LHLO for HELO in lmtp's names). */
static const char *smtp_key(const char *suffix)
{
	static char buf[64];

	if (smtp_set.lmtp && str_has_prefix(suffix, "helo_"))
		(void)str_snprintf(buf, sizeof(buf), "lmtp_lhlo_%s",
				   suffix + 5);
	else
		(void)str_snprintf(buf, sizeof(buf), "%s_%s",
				   smtp_set.lmtp ? "lmtp" : "smtp", suffix);
	return buf;
}

static void smtp_open_tables(void)
{
	char **specs = cfg_list(cfg_main, smtp_key("tls_policy_maps"));
	char *error = NULL;

	for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
		struct dict *d = dict_open(specs[i], &error);

		if (d == NULL)
			msg_fatal("open %s: %s", specs[i], error);
		smtp_set.tls_policy = mem_array_realloc(
			smtp_set.tls_policy, smtp_set.ntls_policy + 1,
			sizeof(*smtp_set.tls_policy));
		smtp_set.tls_policy[smtp_set.ntls_policy++] = d;
	}
}

/* SASL (smtp only): the tables are opened here, before privileges are
 * dropped, like the TLS policy tables; a rebuilt table is reopened as
 * the agent's user, so it must stay readable by mail_owner. */
static void smtp_open_sasl(void)
{
	char **specs;
	char *error = NULL;

	if (smtp_set.lmtp || !cfg_bool(cfg_main, "smtp_sasl_auth_enable"))
		return;
	smtp_set.sasl_enable = true;
	smtp_set.sasl_soft_bounce = cfg_bool(cfg_main,
					     "smtp_sasl_auth_soft_bounce");
	smtp_set.sasl_filter = cfg_list(cfg_main,
					"smtp_sasl_mechanism_filter");
	specs = cfg_list(cfg_main, "smtp_sasl_password_maps");
	for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
		struct dict *d = dict_open(specs[i], &error);

		if (d == NULL)
			msg_fatal("open %s: %s", specs[i], error);
		smtp_set.sasl_passwd = mem_array_realloc(
			smtp_set.sasl_passwd, smtp_set.nsasl_passwd + 1,
			sizeof(*smtp_set.sasl_passwd));
		smtp_set.sasl_passwd[smtp_set.nsasl_passwd++] = d;
	}
	if (smtp_set.nsasl_passwd == 0)
		msg_warn("smtp_sasl_auth_enable = yes but "
			 "smtp_sasl_password_maps is empty");
}

static void smtp_open_tls(void)
{
	struct tls_settings set = {
		.cert_file = "", .key_file = "",
		.ticket_key_file = "", .ciphers = "",
		.min_protocol = cfg_str(cfg_main, "tls_min_protocol"),
		.ca_file = cfg_str(cfg_main, smtp_key("tls_CAfile")),
	};
	char *error = NULL;

	if (strcmp(smtp_set.tls_level, "none") == 0 &&
	    smtp_set.ntls_policy == 0)
		return;
	smtp_set.tls_ctx = tls_client_ctx(&set, &error);
	if (smtp_set.tls_ctx == NULL) {
		/* Opportunistic TLS goes on without; stricter levels defer
		 * (smtp_session.c says why per delivery). */
		msg_warn("TLS disabled: %s", error);
		free(error);
	}
}

static long smtp_time(const char *suffix)
{
	return cfg_time(cfg_main, smtp_key(suffix));
}

void smtp_pre_init(void *ctx)
{
	(void)ctx;
	smtp_set.lmtp = str_has_prefix(server_service_name, "lmtp") ||
		(server_nargs > 0 && strcmp(server_args[0], "lmtp") == 0);
	smtp_set.proto = smtp_set.lmtp ? "LMTP" : "SMTP";
	smtp_set.default_port = smtp_set.lmtp ? 24 : 25;
	if (!dns_set_protocols(cfg_str(cfg_main, "inet_protocols")))
		msg_fatal("inet_protocols: expected all, ipv4 or ipv6, got"
			  " \"%s\"", cfg_str(cfg_main, "inet_protocols"));
	smtp_set.helo_name = cfg_str(cfg_main, smtp_key("helo_name"));
	smtp_set.connect_timeout = smtp_time("connect_timeout");
	smtp_set.helo_timeout = smtp_time("helo_timeout");
	smtp_set.starttls_timeout = smtp_time("starttls_timeout");
	smtp_set.mail_timeout = smtp_time("mail_timeout");
	smtp_set.rcpt_timeout = smtp_time("rcpt_timeout");
	smtp_set.data_init_timeout = smtp_time("data_init_timeout");
	smtp_set.data_xfer_timeout = smtp_time("data_xfer_timeout");
	smtp_set.data_done_timeout = smtp_time("data_done_timeout");
	smtp_set.quit_timeout = smtp_time("quit_timeout");
	smtp_set.reuse_time = smtp_time("connection_reuse_time");
	smtp_set.cache_limit = cfg_int(cfg_main,
				       smtp_key("connection_cache_limit"));
	smtp_set.address_limit = cfg_int(cfg_main,
					 smtp_key("mx_address_limit"));
	smtp_set.tls_level = cfg_str(cfg_main, smtp_key("tls_security_level"));
	if (strcmp(smtp_set.tls_level, "none") != 0 &&
	    strcmp(smtp_set.tls_level, "may") != 0 &&
	    strcmp(smtp_set.tls_level, "encrypt") != 0 &&
	    strcmp(smtp_set.tls_level, "verify") != 0 &&
	    strcmp(smtp_set.tls_level, "secure") != 0)
		msg_fatal("%s: unknown level \"%s\"",
			  smtp_key("tls_security_level"), smtp_set.tls_level);
	smtp_set.bind_address = cfg_str(cfg_main, smtp_key("bind_address"));
	smtp_set.request_timeout = cfg_time(cfg_main, "ipc_timeout");
	smtp_set.daemon_timeout = cfg_time(cfg_main, "daemon_timeout");
	smtp_open_tables();
	smtp_open_sasl();
	smtp_open_tls();
}

void smtp_post_init(void *ctx)
{
	(void)ctx;
	/* A server that hangs up must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	atexit(smtp_cache_flush);
}

/* Split the deliveries (groups start at "recipient"); false if one is
 * incomplete. */
static bool smtp_parse_rcpts(const struct attr_list *list,
			     struct smtp_request *req)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct attr *a = &list->attrs[i];
		struct smtp_rcpt *r = req->nrcpt > 0 ?
			&req->rcpts[req->nrcpt - 1] : NULL;

		if (strcmp(a->name, PROTO_ATTR_RECIPIENT) == 0) {
			req->rcpts = mem_array_realloc(req->rcpts,
						       req->nrcpt + 1,
						       sizeof(*req->rcpts));
			r = &req->rcpts[req->nrcpt++];
			memset(r, 0, sizeof(*r));
			r->address = a->value;
			r->index = -1;
		} else if (r == NULL) {
			continue;
		} else if (strcmp(a->name, PROTO_ATTR_ORIG_RCPT) == 0) {
			r->orig = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_RCPT_INDEX) == 0) {
			if (!str_to_long(a->value, 0, 1000000000, &r->index))
				r->index = -1;
		} else if (strcmp(a->name, PROTO_ATTR_NOTIFY) == 0) {
			r->notify = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_ORCPT) == 0) {
			r->orcpt = a->value;
		}
	}
	for (size_t i = 0; i < req->nrcpt; i++)
		if (req->rcpts[i].orig == NULL || req->rcpts[i].index < 0 ||
		    *req->rcpts[i].address == '\0')
			return false;
	return req->nrcpt > 0;
}

static bool smtp_parse_request(const struct attr_list *list,
			       struct smtp_request *req)
{
	const char *size = attr_get(list, PROTO_ATTR_SIZE);
	long v;

	req->queue_id = attr_get(list, PROTO_ATTR_QUEUE_ID);
	req->sender = attr_get(list, PROTO_ATTR_SENDER);
	req->nexthop = attr_get(list, PROTO_ATTR_NEXTHOP);
	req->ret = attr_get(list, PROTO_ATTR_RET);
	req->envid = attr_get(list, PROTO_ATTR_ENVID);
	req->size = -1;
	if (size != NULL) {
		if (!str_to_long(size, 0, 0x7fffffffL, &v))
			return false;
		req->size = v;
	}
	return strcmp(attr_get(list, PROTO_ATTR_REQUEST),
		      PROTO_REQ_DELIVER) == 0 &&
		queue_path_valid(attr_get(list, PROTO_ATTR_QUEUE_FILE),
				   req->queue_id) &&
		*req->nexthop != '\0' && smtp_parse_rcpts(list, req);
}

static void smtp_reply_results(const struct smtp_request *req,
			       struct attr_list *reply)
{
	static const char *const names[] = {
		PROTO_STATUS_OK, PROTO_STATUS_DEFER, PROTO_STATUS_BOUNCE
	};

	attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	if (req->dest_defer)
		attr_add(reply, PROTO_ATTR_DEST_STATUS, PROTO_STATUS_DEFER);
	for (size_t i = 0; i < req->nrcpt; i++) {
		const struct smtp_rcpt *r = &req->rcpts[i];

		attr_add_long(reply, PROTO_ATTR_RCPT_INDEX, r->index);
		attr_add(reply, PROTO_ATTR_RCPT_STATUS, names[r->status]);
		attr_add(reply, PROTO_ATTR_DSN, r->dsn);
		attr_add(reply, PROTO_ATTR_REASON, str_c(&r->reason));
		attr_add(reply, PROTO_ATTR_RELAY, str_c(&req->relay));
	}
}

static void smtp_request(const struct attr_list *list,
			 struct attr_list *reply)
{
	struct smtp_request req;
	const char *path = attr_get(list, PROTO_ATTR_QUEUE_FILE);
	const char *error = "";
	int ret;

	memset(&req, 0, sizeof(req));
	if (!smtp_parse_request(list, &req)) {
		attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_ERROR);
		attr_add(reply, PROTO_ATTR_REASON, "malformed request");
		msg_warn("%s: malformed deliver request",
			 attr_get(list, PROTO_ATTR_QUEUE_ID));
		free(req.rcpts);
		return;
	}
	ret = queue_msg_open(path, false, &req.msg, &error);
	if (ret <= 0) {
		str_set(&req.relay, "none");
		smtp_rcpt_all(&req, SMTP_DEFER, "4.3.0", "cannot open queue "
			      "file: %s", ret < 0 ? strerror(errno) : error);
	} else {
		if (req.size < 0)
			req.size = (long long)req.msg->content_len;
		req.body = attr_get(&req.msg->attrs, "body");
		smtp_deliver(&req);
	}
	smtp_reply_results(&req, reply);
	queue_msg_free(&req.msg);
	for (size_t i = 0; i < req.nrcpt; i++)
		str_release(&req.rcpts[i].reason);
	free(req.rcpts);
	str_release(&req.relay);
}

void smtp_serve(int fd, void *ctx)
{
	const struct server_attr_service svc = {
		.protocol = PROTO_DELIVERY,
		.spec = smtp_request_spec,
		.timeout = (int)smtp_set.request_timeout,
		.daemon_timeout = smtp_set.daemon_timeout,
		.handle = smtp_request,
	};

	(void)ctx;
	server_attr_serve(fd, &svc);
}
