/*
 * login_auth: the front end's side of login (login_int.h): SASL
 * exchanges with auth over connections the spawner opens for us, and
 * the handoff of a logged-in client to the spawner with auth's cookie.
 *
 * Each exchange in progress has its own connection to auth (auth
 * serves one exchange per connection and delays failures by holding
 * the reply); finished ones go back to a small idle pool. Replies are
 * read without blocking, so a slow hash or a failure delay holds only
 * its own client. Requests to the spawner are blocking with a timeout
 * and answered at once (a connect, or a cookie lookup and a fork).
 *
 * XXX: a login request waits for the spawner's redeem round trip to
 * auth inside the event loop; auth answers redeem without hashing, so
 * this stays short, but a hung auth stalls the process for the spawner
 * timeout.
 *
 * SECURITY: runs unprivileged and chrooted. SASL data passes through
 * unparsed; auth checks it. The front end never names a user, mailbox
 * or uid to the spawner, only the cookie auth gave; a forged or replayed
 * cookie is refused by auth. Requests that carried credentials are
 * wiped.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "mem.h"
#include "metrics_client.h"
#include "msg.h"
#include "proto.h"

#include "login.h"
#include "login_int.h"

#define LOGIN_AUTH_IDLE_MAX 32
/* Exchanges in progress per process. auth holds a failed exchange's
 * connection for its delay and takes 1000 connections in all (smtpd's
 * included); beyond this a login gets a temporary failure. */
#define LOGIN_AUTH_BUSY_MAX 256
#define LOGIN_AUTH_INPUT_MAX (ATTR_MAX_LINE * 4)
#define LOGIN_MAX_INPUT 16384	/* pipelined input handed over */

struct login_auth_conn {
	struct login_auth_conn *next;
	struct lio *lio;	/* writes; reads go through in */
	struct str in;
	bool hello;
	bool busy;		/* counted in nbusy_auth */
	struct login_client *client;
};

/* ---- attribute lists from a buffer ---- */

struct login_attr_buf {
	const char *p;
	size_t left;
};

static ssize_t login_attr_buf_read(void *ctx, void *buf, size_t len,
				   bool *want_write)
{
	struct login_attr_buf *b = ctx;

	*want_write = false;
	if (b->left == 0)
		return 0;
	if (len > b->left)
		len = b->left;
	memcpy(buf, b->p, len);
	b->p += len;
	b->left -= len;
	return (ssize_t)len;
}

static ssize_t login_attr_buf_write(void *ctx, const void *buf, size_t len,
				    bool *want_read)
{
	(void)ctx;
	(void)buf;
	(void)len;
	*want_read = false;
	errno = EPIPE;
	return -1;
}

static size_t login_attr_buf_pending(void *ctx)
{
	return ((struct login_attr_buf *)ctx)->left;
}

static const struct lio_ops login_attr_buf_ops = {
	.read = login_attr_buf_read,
	.write = login_attr_buf_write,
	.pending = login_attr_buf_pending,
};

int login_attr_take(struct str *in, struct attr_list *list,
		    const struct attr_spec *spec, const char **error_r)
{
	struct login_attr_buf b;
	const char *end;
	struct lio *lio;
	size_t len;
	enum lio_status st;

	if (in->len == 0)
		return 0;
	if (in->data[0] == '\n') {
		len = 1;
	} else {
		end = memmem(in->data, in->len, "\n\n", 2);
		if (end == NULL)
			return 0;
		len = (size_t)(end - in->data) + 2;
	}
	b.p = in->data;
	b.left = len;
	lio = lio_create(-1, 0);
	lio_set_ops(lio, &login_attr_buf_ops, &b);
	st = attr_read(lio, list, spec, error_r);
	lio_free(&lio);
	explicit_bzero(in->data, len);
	str_consume(in, len);
	if (st != LIO_OK) {
		if (st == LIO_EOF)
			*error_r = "empty list";
		return -1;
	}
	return 1;
}

/* ---- the spawner connection ---- */

static bool login_spawner_fail(const char *error)
{
	struct login_server *srv = &login_server;

	msg_warn("%s: %s", srv->proto->spawner_socket, error);
	srv->spawner_broken = true;
	login_server_update();
	return false;
}

bool login_spawner_request(const struct attr_list *req, int fd,
			   struct attr_list *reply, int *fd_r)
{
	struct login_server *srv = &login_server;
	static bool hello;
	const char *error = "connection lost";
	struct pollfd pfd;
	int rfd = -1, sock;
	char mark;

	if (fd_r != NULL)
		*fd_r = -1;
	if (srv->spawner_broken)
		return false;
	sock = lio_fd(srv->spawner);
	if (!hello) {
		if (!attr_client_hello(srv->spawner, PROTO_LOGIN, &error))
			return login_spawner_fail(error);
		hello = true;
	}
	if (lio_pending(srv->spawner) != 0)
		return login_spawner_fail("unexpected data");
	if (!fdpass_send(sock, LOGIN_MARK, fd))
		return login_spawner_fail(strerror(errno));
	attr_write(srv->spawner, req);
	if (lio_flush(srv->spawner) != LIO_OK)
		return login_spawner_fail(error);
	pfd.fd = sock;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, srv->set.io_timeout * 1000) <= 0)
		return login_spawner_fail("timed out");
	if (fdpass_recv(sock, &mark, &rfd) <= 0 || mark != LOGIN_MARK) {
		if (rfd >= 0)
			close(rfd);
		return login_spawner_fail("bad reply");
	}
	if (attr_read(srv->spawner, reply, NULL, &error) != LIO_OK ||
	    attr_get(reply, PROTO_ATTR_STATUS) == NULL) {
		if (rfd >= 0)
			close(rfd);
		return login_spawner_fail(error);
	}
	if (fd_r != NULL)
		*fd_r = rfd;
	else if (rfd >= 0)
		close(rfd);
	return true;
}

/* ---- auth connections ---- */

static void login_auth_input(int fd, unsigned events, void *ctx);

static void login_auth_conn_free(struct login_auth_conn *a)
{
	if (a->busy)
		login_server.nbusy_auth--;
	if (a->client != NULL)
		a->client->auth = NULL;
	ev_io_del(login_server.loop, lio_fd(a->lio));
	lio_free(&a->lio);
	if (a->in.data != NULL)
		explicit_bzero(a->in.data, a->in.len);
	str_release(&a->in);
	free(a);
}

static struct login_auth_conn *login_auth_conn_get(void)
{
	struct login_server *srv = &login_server;
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	struct login_auth_conn *a = srv->idle_auth;
	int fd = -1;

	if (a != NULL) {
		srv->idle_auth = a->next;
		srv->nidle_auth--;
		a->next = NULL;
		a->busy = true;
		srv->nbusy_auth++;
		return a;
	}
	if (srv->nbusy_auth >= LOGIN_AUTH_BUSY_MAX) {
		msg_warn("%d authentications in progress; refusing one",
			 LOGIN_AUTH_BUSY_MAX);
		return NULL;
	}
	attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_AUTH_CONNECT);
	if (!login_spawner_request(&req, -1, &reply, &fd) || fd < 0 ||
	    strcmp(attr_get(&reply, PROTO_ATTR_STATUS),
		   PROTO_STATUS_OK) != 0) {
		if (fd >= 0)
			close(fd);
		msg_warn("no connection to auth: %s",
			 attr_get(&reply, PROTO_ATTR_REASON) ?: "spawner "
			 "unavailable");
		a = NULL;
		goto done;
	}
	a = mem_alloc(sizeof(*a));
	a->lio = lio_create(fd, srv->set.io_timeout);
	a->busy = true;
	srv->nbusy_auth++;
	ev_io_add(srv->loop, fd, EV_READ, login_auth_input, a);
done:
	attr_list_clear(&req);
	attr_list_clear(&reply);
	return a;
}

static void login_auth_conn_put(struct login_auth_conn *a)
{
	struct login_server *srv = &login_server;

	if (a->client != NULL)
		a->client->auth = NULL;
	a->client = NULL;
	if (a->busy)
		srv->nbusy_auth--;
	a->busy = false;
	if (srv->nidle_auth >= LOGIN_AUTH_IDLE_MAX || a->in.len > 0) {
		login_auth_conn_free(a);
		return;
	}
	a->next = srv->idle_auth;
	srv->idle_auth = a;
	srv->nidle_auth++;
}

static void login_auth_idle_remove(struct login_auth_conn *a)
{
	struct login_server *srv = &login_server;
	struct login_auth_conn **pp;

	for (pp = &srv->idle_auth; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			srv->nidle_auth--;
			return;
		}
	}
}

void login_auth_free_idle(void)
{
	while (login_server.idle_auth != NULL) {
		struct login_auth_conn *a = login_server.idle_auth;

		login_server.idle_auth = a->next;
		login_auth_conn_free(a);
	}
	login_server.nidle_auth = 0;
}

/* Send req on the client's auth connection; false (and the connection
 * gone) on failure. */
static bool login_auth_send(struct login_client *c, struct attr_list *req)
{
	struct login_auth_conn *a = c->auth;
	bool ok;

	attr_write(a->lio, req);
	ok = lio_flush(a->lio) == LIO_OK;
	lio_wipe_output(a->lio);
	for (size_t i = 0; i < req->count; i++)
		explicit_bzero(req->attrs[i].value,
			       strlen(req->attrs[i].value));
	attr_list_clear(req);
	if (!ok) {
		msg_warn("auth: write failed");
		login_auth_conn_free(a);
	}
	return ok;
}

static void login_auth_unavailable(struct login_client *c)
{
	c->state = LOGIN_CMD;
	login_client_answer(c, login_server.proto->reply_unavailable);
	login_client_error(c);
}

void login_client_auth(struct login_client *c, const char *mech,
		       const char *initial)
{
	struct attr_list req = ATTR_LIST_INIT;

	if (c->auth != NULL)
		msg_panic("login_client_auth: exchange in progress");
	c->auth = login_auth_conn_get();
	if (c->auth == NULL) {
		login_auth_unavailable(c);
		return;
	}
	c->auth->client = c;
	mem_free(c->mech);
	c->mech = mem_strdup(mech);
	attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_AUTHENTICATE);
	attr_add(&req, PROTO_ATTR_SERVICE, login_server.proto->name);
	attr_add(&req, PROTO_ATTR_MECHANISM, mech);
	attr_add(&req, PROTO_ATTR_CLIENT_ADDR, c->addr);
	if (initial != NULL)
		attr_add(&req, PROTO_ATTR_RESPONSE, initial);
	if (!login_auth_send(c, &req)) {
		login_auth_unavailable(c);
		return;
	}
	c->state = LOGIN_AUTH_WAIT;
}

void login_auth_response(struct login_client *c, const char *line)
{
	struct attr_list req = ATTR_LIST_INIT;

	if (c->auth == NULL) {
		login_auth_unavailable(c);
		return;
	}
	if (strcmp(line, "*") == 0)
		c->auth_cancelled = true;
	attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_CONTINUE);
	attr_add(&req, PROTO_ATTR_RESPONSE, line);
	if (!login_auth_send(c, &req)) {
		login_auth_unavailable(c);
		return;
	}
	c->state = LOGIN_AUTH_WAIT;
}

void login_auth_abort(struct login_client *c)
{
	/* A reply may still come on it: not reusable. */
	if (c->auth != NULL)
		login_auth_conn_free(c->auth);
	c->auth = NULL;
	if (c->cookie != NULL) {
		explicit_bzero(c->cookie, strlen(c->cookie));
		mem_free(c->cookie);
	}
	mem_free(c->user);
}

static void login_auth_failed(struct login_client *c,
			      const struct attr_list *reply)
{
	const struct login_proto *p = login_server.proto;
	const char *temp = attr_get(reply, PROTO_ATTR_TEMPORARY);
	bool cancelled = c->auth_cancelled;

	c->auth_cancelled = false;
	c->state = LOGIN_CMD;
	if (cancelled) {
		login_client_answer(c, p->reply_auth_aborted);
	} else {
		metrics_count("correo_auth_failures_total",
			      login_metrics_label(), 1);
		msg_info("authentication failed: method=%s, rip=%s, "
			 "reason=%s", c->mech != NULL ? c->mech : "?",
			 c->addr, attr_get(reply, PROTO_ATTR_REASON) ?: "?");
		login_client_answer(c, temp != NULL && strcmp(temp, "1") == 0 ?
				    p->reply_auth_tempfail :
				    p->reply_auth_failed);
	}
	login_client_error(c);
}

/* One reply from auth for c. */
static void login_auth_reply(struct login_client *c,
			     const struct attr_list *reply)
{
	const char *status = attr_get(reply, PROTO_ATTR_STATUS);
	const char *cookie = attr_get(reply, PROTO_ATTR_COOKIE);

	if (status == NULL) {
		status = "";
	}
	if (strcmp(status, PROTO_STATUS_CONTINUE) == 0 &&
	    !c->auth_cancelled) {
		c->state = LOGIN_AUTH_RESPONSE;
		login_server.proto->challenge(c, attr_get(reply,
					      PROTO_ATTR_CHALLENGE) ?: "");
		return;
	}
	if (strcmp(status, PROTO_STATUS_CONTINUE) == 0) {
		/* auth wants more after "*": that is a failure. */
		login_auth_conn_free(c->auth);
		login_auth_failed(c, reply);
		return;
	}
	login_auth_conn_put(c->auth);
	if (strcmp(status, PROTO_STATUS_OK) == 0 && cookie != NULL) {
		c->cookie = mem_strdup(cookie);
		c->user = mem_strdup(attr_get(reply, PROTO_ATTR_USER) ?: "?");
		c->state = LOGIN_HANDOFF;
		return;
	}
	if (strcmp(status, PROTO_STATUS_OK) == 0) {
		msg_warn("auth: user=<%s> has no mailbox",
			 attr_get(reply, PROTO_ATTR_USER) ?: "?");
		login_auth_failed(c, reply);
		return;
	}
	if (strcmp(status, PROTO_STATUS_FAIL) == 0) {
		login_auth_failed(c, reply);
		return;
	}
	msg_warn("auth: %s", attr_get(reply, PROTO_ATTR_REASON) ?: status);
	login_auth_unavailable(c);
}

static void login_auth_input(int fd, unsigned events, void *ctx)
{
	struct login_auth_conn *a = ctx;
	struct attr_list list = ATTR_LIST_INIT;
	struct login_client *c;
	const char *error = "connection lost";
	char buf[4096];
	ssize_t n;
	int ret;

	(void)events;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 && a->in.len + (size_t)n <= LOGIN_AUTH_INPUT_MAX) {
			str_append_n(&a->in, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		goto fail;	/* closed, failed or flooding */
	}
	while ((ret = login_attr_take(&a->in, &list, NULL, &error)) == 1) {
		if (!a->hello) {
			if (attr_get(&list, PROTO_ATTR_PROTOCOL) == NULL ||
			    strcmp(attr_get(&list, PROTO_ATTR_PROTOCOL),
				   PROTO_AUTH) != 0) {
				error = "wrong protocol";
				goto fail;
			}
			a->hello = true;
			continue;
		}
		c = a->client;
		if (c == NULL || c->state != LOGIN_AUTH_WAIT) {
			error = "unexpected reply";
			goto fail;
		}
		login_auth_reply(c, &list);
		attr_list_clear(&list);
		login_client_wake(c);
		return;	/* a may be gone or pooled */
	}
	if (ret < 0)
		goto fail;
	attr_list_clear(&list);
	return;
fail:
	attr_list_clear(&list);
	c = a->client;
	if (a->client == NULL)
		login_auth_idle_remove(a);
	else
		msg_warn("auth: %s", error);
	login_auth_conn_free(a);
	if (c != NULL) {
		login_auth_unavailable(c);
		login_client_wake(c);
	}
}

/* ---- handoff ---- */

void login_auth_handoff(struct login_client *c)
{
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	struct str input = STR_INIT, text = STR_INIT;
	int sv[2] = { -1, -1 }, pass = c->fd;
	long limit;

	if (c->ssl != NULL) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			       sv) < 0) {
			msg_warn("socketpair: %m");
			login_client_quit(c,
				login_server.proto->reply_unavailable);
			goto done;
		}
		pass = sv[1];
	} else if (c->in.len > 0) {
		/* Pipelined commands after the login go along. */
		str_append_n(&input, c->in.data, c->in.len < LOGIN_MAX_INPUT ?
			     c->in.len : LOGIN_MAX_INPUT);
	}
	attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_LOGIN);
	attr_add(&req, PROTO_ATTR_COOKIE, c->cookie);
	attr_add(&req, PROTO_ATTR_CLIENT_ADDR, c->addr);
	attr_add(&req, PROTO_ATTR_LOCAL_ADDR, c->local);
	attr_add(&req, PROTO_ATTR_TLS, c->ssl != NULL ? "yes" : "no");
	if (input.len > 0)
		attr_add(&req, PROTO_ATTR_INPUT, str_c(&input));
	if (c->handoff_data != NULL)
		attr_add(&req, PROTO_ATTR_DATA, c->handoff_data);
	if (!login_spawner_request(&req, pass, &reply, NULL)) {
		login_client_quit(c, login_server.proto->reply_unavailable);
		goto done;
	}
	if (attr_get_long(&reply, PROTO_ATTR_USERIP_LIMIT, &limit) &&
	    strcmp(attr_get(&reply, PROTO_ATTR_STATUS),
		   PROTO_STATUS_OK) != 0) {
		/* Dovecot's words; the connection ends, as there. */
		str_printf(&text, "%s Maximum number of connections from "
			   "user+IP exceeded (mail_max_userip_connections="
			   "%ld)", login_server.proto->reply_in_use, limit);
		msg_info("Disconnected: Maximum number of connections from "
			 "user+IP exceeded (mail_max_userip_connections=%ld):"
			 " user=<%s>, method=%s, rip=%s", limit, c->user,
			 c->mech != NULL ? c->mech : "?", c->addr);
		login_client_answer(c, str_c(&text));
		login_client_quit(c, NULL);
		goto done;
	}
	if (strcmp(attr_get(&reply, PROTO_ATTR_STATUS),
		   PROTO_STATUS_OK) != 0) {
		msg_warn("login of %s refused by the spawner: %s", c->user,
			 attr_get(&reply, PROTO_ATTR_REASON) ?: "unavailable");
		login_client_quit(c, login_server.proto->reply_unavailable);
		goto done;
	}
	msg_info("login: user=<%s>, method=%s, rip=%s%s", c->user,
		 c->mech != NULL ? c->mech : "?", c->addr,
		 c->ssl != NULL ? ", TLS" : "");
	if (c->ssl != NULL) {
		login_proxy_start(c, sv[0]);
		sv[0] = -1;
	} else
		login_client_free(c);
done:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	for (size_t i = 0; i < req.count; i++)
		explicit_bzero(req.attrs[i].value,
			       strlen(req.attrs[i].value));
	attr_list_clear(&req);
	attr_list_clear(&reply);
	if (input.data != NULL)
		explicit_bzero(input.data, input.len);
	str_release(&input);
	str_release(&text);
	if (c->cookie != NULL) {
		explicit_bzero(c->cookie, strlen(c->cookie));
		mem_free(c->cookie);
	}
}
