/*
 * pop3d_service: the privileged half of POP3 login (pop3d.h,
 * pop3d_proto.h).
 *
 * One connection per front-end process. SASL requests are relayed to
 * auth (private/auth, one connection per front end, opened on first use);
 * a successful reply's mailbox, uid and gid stay here, and the next
 * "login" request with the client's descriptor forks the mail process
 * for exactly that user. So the front end never names a mailbox or a
 * uid: a compromised front end can open only sessions whose credentials
 * it was given.
 *
 * Children are reaped by the kernel (SIGCHLD ignored with SA_NOCLDWAIT);
 * a session outlives the service process that forked it, as a Dovecot
 * mail process outlives its login.
 *
 * SECURITY: runs as root (the invoker in instance mode), unchrooted,
 * because it must become any mailbox owner. Its peer is a front end,
 * reached only through the 0700 private directory. Requests are checked
 * strictly: only the auth attributes the protocol lists are relayed,
 * "service" is forced to pop3, a login without a preceding success is
 * refused, and a descriptor on any other request is closed.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "cfg.h"
#include "fdpass.h"
#include "mem.h"
#include "msg.h"
#include "server.h"
#include "str.h"

#include "pop3d.h"
#include "pop3d_proto.h"

struct pop3d_conn {
	int fd;
	struct lio *lio;
	struct lio *auth;
	int timeout;
	/* The last successful authentication, until a login uses it. */
	bool authed;
	char *user, *mailbox;
	uid_t uid;
	gid_t gid;
};

static const struct attr_spec pop3d_auth_spec[] = {
	{ PROTO_ATTR_REQUEST, true, false },
	{ PROTO_ATTR_SERVICE, false, false },
	{ PROTO_ATTR_MECHANISM, false, false },
	{ PROTO_ATTR_CLIENT_ADDR, false, false },
	{ PROTO_ATTR_CLIENT_NAME, false, false },
	{ PROTO_ATTR_RESPONSE, false, false },
	{ PROTO_ATTR_TLS, false, false },
	{ PROTO_ATTR_INPUT, false, false },
	{ NULL, false, false }
};

static void pop3d_forget(struct pop3d_conn *c)
{
	c->authed = false;
	mem_free(c->user);
	mem_free(c->mailbox);
}

static void pop3d_reply(struct pop3d_conn *c, const char *status,
			const char *reason)
{
	struct attr_list reply = ATTR_LIST_INIT;

	attr_add(&reply, PROTO_ATTR_STATUS, status);
	if (reason != NULL)
		attr_add(&reply, PROTO_ATTR_REASON, reason);
	if (strcmp(status, PROTO_STATUS_FAIL) == 0)
		attr_add(&reply, PROTO_ATTR_TEMPORARY, "1");
	attr_write(c->lio, &reply);
	attr_list_clear(&reply);
}

static bool pop3d_auth_connect(struct pop3d_conn *c)
{
	const char *error;
	int fd;

	if (c->auth != NULL)
		return true;
	fd = lio_connect_unix(POP3D_AUTH_SOCKET, c->timeout);
	if (fd < 0) {
		msg_warn("connect to %s: %m", POP3D_AUTH_SOCKET);
		return false;
	}
	c->auth = lio_create(fd, c->timeout);
	if (!attr_client_hello(c->auth, PROTO_AUTH, &error)) {
		msg_warn("%s: %s", POP3D_AUTH_SOCKET, error);
		lio_free(&c->auth);
		return false;
	}
	return true;
}

/* Keep what a successful reply says about the user. */
static bool pop3d_auth_ok(struct pop3d_conn *c, const struct attr_list *r)
{
	const char *user = attr_get(r, PROTO_ATTR_USER);
	const char *mailbox = attr_get(r, PROTO_ATTR_MAILBOX);
	long uid, gid;

	if (user == NULL || mailbox == NULL || mailbox[0] != '/' ||
	    !attr_get_long(r, PROTO_ATTR_UID, &uid) ||
	    !attr_get_long(r, PROTO_ATTR_GID, &gid) || uid < 0 || gid < 0) {
		msg_warn("auth: user=<%s> has no usable mailbox",
			 user != NULL ? user : "?");
		return false;
	}
	c->user = mem_strdup(user);
	c->mailbox = mem_strdup(mailbox);
	c->uid = (uid_t)uid;
	c->gid = (gid_t)gid;
	c->authed = true;
	return true;
}

/* Relay an authenticate/continue request to auth. */
static void pop3d_relay(struct pop3d_conn *c, const struct attr_list *req)
{
	struct attr_list fwd = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	const char *error, *status;
	size_t i;

	pop3d_forget(c);
	for (i = 0; i < req->count; i++) {
		if (strcmp(req->attrs[i].name, PROTO_ATTR_TLS) == 0 ||
		    strcmp(req->attrs[i].name, PROTO_ATTR_INPUT) == 0)
			continue;
		attr_add(&fwd, req->attrs[i].name,
			 strcmp(req->attrs[i].name, PROTO_ATTR_SERVICE) == 0 ?
			 "pop3" : req->attrs[i].value);
	}
	if (!pop3d_auth_connect(c)) {
		pop3d_reply(c, PROTO_STATUS_FAIL, "auth unavailable");
		goto done;
	}
	attr_write(c->auth, &fwd);
	if (lio_flush(c->auth) != LIO_OK ||
	    attr_read(c->auth, &reply, proto_auth_reply_spec, &error) !=
	    LIO_OK) {
		msg_warn("%s: %s", POP3D_AUTH_SOCKET, lio_error(c->auth) ==
			 LIO_OK ? error : "connection lost");
		lio_free(&c->auth);
		pop3d_reply(c, PROTO_STATUS_FAIL, "auth unavailable");
		goto done;
	}
	status = attr_get(&reply, PROTO_ATTR_STATUS);
	if (strcmp(status, PROTO_STATUS_OK) != 0) {
		attr_write(c->lio, &reply);
		goto done;
	}
	if (!pop3d_auth_ok(c, &reply)) {
		attr_list_clear(&fwd);
		attr_add(&fwd, PROTO_ATTR_STATUS, PROTO_STATUS_FAIL);
		attr_add(&fwd, PROTO_ATTR_TEMPORARY, "0");
		attr_add(&fwd, PROTO_ATTR_REASON, "no mailbox");
		attr_write(c->lio, &fwd);
		goto done;
	}
	attr_list_clear(&fwd);
	attr_add(&fwd, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	attr_add(&fwd, PROTO_ATTR_USER, c->user);
	attr_write(c->lio, &fwd);
done:
	for (i = 0; i < fwd.count; i++)
		explicit_bzero(fwd.attrs[i].value, strlen(fwd.attrs[i].value));
	attr_list_clear(&fwd);
	attr_list_clear(&reply);
}

/* Fork the mail process for the authenticated user on client. */
static void pop3d_login(struct pop3d_conn *c, const struct attr_list *req,
			int client)
{
	struct pop3d_session_args a;
	const char *tls = attr_get(req, PROTO_ATTR_TLS);
	const char *addr = attr_get(req, PROTO_ATTR_CLIENT_ADDR);
	const char *input = attr_get(req, PROTO_ATTR_INPUT);
	pid_t pid;

	if (!c->authed) {
		pop3d_reply(c, PROTO_STATUS_ERROR, "login before "
			    "authentication");
		return;
	}
	memset(&a, 0, sizeof(a));
	a.user = c->user;
	a.mailbox = c->mailbox;
	a.uid = c->uid;
	a.gid = c->gid;
	a.addr = addr != NULL ? addr : "unknown";
	a.tls = tls != NULL && strcmp(tls, "yes") == 0;
	a.input = input;
	a.input_len = input != NULL ? strlen(input) : 0;
	a.timeout = c->timeout;
	pid = fork();
	if (pid < 0) {
		msg_warn("fork: %m");
		pop3d_reply(c, PROTO_STATUS_FAIL, "fork failed");
		return;
	}
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		close(SERVER_STATUS_FD);
		if (c->auth != NULL)
			close(lio_fd(c->auth));
		close(c->fd);
		pop3d_session_run(client, &a);
	}
	pop3d_forget(c);
	pop3d_reply(c, PROTO_STATUS_OK, NULL);
}

static bool pop3d_request(struct pop3d_conn *c)
{
	struct attr_list req = ATTR_LIST_INIT;
	const char *error, *name;
	int client = -1, ret;
	char mark;

	if (lio_flush(c->lio) != LIO_OK || lio_pending(c->lio) != 0)
		return false;
	ret = fdpass_recv(c->fd, &mark, &client);
	if (ret <= 0) {
		/* A reset is a front end (or a status probe) going away. */
		if (ret < 0 && errno != ECONNRESET)
			msg_warn("receive from front end: %m");
		return false;
	}
	if (attr_read(c->lio, &req, pop3d_auth_spec, &error) != LIO_OK) {
		msg_warn("front end request: %s", error);
		if (client >= 0)
			close(client);
		return false;
	}
	name = attr_get(&req, PROTO_ATTR_REQUEST);
	if (mark == POP3D_MARK_LOGIN && client >= 0 &&
	    strcmp(name, PROTO_REQ_LOGIN) == 0)
		pop3d_login(c, &req, client);
	else if (mark == POP3D_MARK_REQUEST && client < 0 &&
		 (strcmp(name, PROTO_REQ_AUTHENTICATE) == 0 ||
		  strcmp(name, PROTO_REQ_CONTINUE) == 0))
		pop3d_relay(c, &req);
	else
		pop3d_reply(c, PROTO_STATUS_ERROR, "unexpected request");
	if (client >= 0)
		close(client);
	attr_list_clear(&req);
	return true;
}

void pop3d_serve(int fd, void *ctx)
{
	struct pop3d_conn c;

	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.timeout = (int)cfg_time(cfg_main, "pop3_timeout");
	/* The front end may wait long for its next client: no timeout on
	 * the request reads (its end closes when it exits). */
	c.lio = lio_create(fd, 0);
	attr_server_hello(c.lio, PROTO_POP3D);
	while (pop3d_request(&c))
		;
	pop3d_forget(&c);
	if (c.auth != NULL)
		lio_free(&c.auth);
	lio_free(&c.lio);
}

void pop3d_pre_init(void *ctx)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		msg_fatal("sigaction SIGCHLD: %m");
}
