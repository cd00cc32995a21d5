/*
 * login_client: one pre-auth client in the front end's event loop
 * (login.h, login_int.h): buffered non-blocking I/O in plaintext or TLS,
 * line cutting with a bound, the command and error limits, the
 * absolute deadline, STARTTLS, and the API the protocol table uses.
 *
 * A client costs its struct, an epoll entry and a timer while idle; the
 * input and output buffers are released whenever they empty, and OpenSSL
 * releases its record buffers (SSL_MODE_RELEASE_BUFFERS), so thousands
 * of idle connections fit in one process.
 *
 * Every entry point (socket event, auth reply, timer) runs through
 * login_client_kick, which frees the client only after the step is
 * over, so a callback may end the client at any depth.
 *
 * SECURITY: every byte from the client is untrusted: lines are bounded
 * (an over-long line is discarded whole and counted as an error), the
 * input buffer is capped, and the deadline holds whatever the client
 * does. Input pipelined behind STARTTLS is discarded before the
 * handshake (CVE-2011-0411) and the protocol's state is dropped.
 * Buffers that may hold credentials are wiped before they are freed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "mem.h"
#include "metrics_client.h"
#include "msg.h"
#include "sasl.h"
#include "server.h"

#include "login.h"
#include "login_int.h"

/* The longest line unless the protocol says: an AUTH command with its
 * initial response. */
#define LOGIN_LINE_MAX (SASL_MAX_RESPONSE + 64)
#define LOGIN_LINE_BOUND (login_server.proto->line_max > 0 ? \
			  login_server.proto->line_max : LOGIN_LINE_MAX)
#define LOGIN_INPUT_CAP (LOGIN_LINE_BOUND + 4096)
#define LOGIN_READ_ROUNDS 64

struct login_server login_server;

static void login_client_destroy(struct login_client *c);
static void login_client_io(int fd, unsigned events, void *ctx);

/* ---- buffers ---- */

static void login_str_wipe(struct str *s)
{
	if (s->data != NULL)
		explicit_bzero(s->data, s->len);
	str_release(s);
}

/* Append to a buffer that may hold credentials: growing it copies into
 * a new block and wipes the old one, so realloc leaves no stale copy. */
static void login_str_append_safe(struct str *s, const char *data,
				  size_t len)
{
	struct str bigger = STR_INIT;

	if (s->data != NULL && s->len + len + 1 > s->cap) {
		str_reserve(&bigger, (s->len + len) * 2);
		str_append_n(&bigger, s->data, s->len);
		login_str_wipe(s);
		*s = bigger;
	}
	str_append_n(s, data, len);
}

void login_client_write(struct login_client *c, const char *data,
			size_t len)
{
	if (c->state == LOGIN_CLOSING || c->dead)
		return;
	str_append_n(&c->out, data, len);
}

void login_client_reply(struct login_client *c, const char *text)
{
	login_client_write(c, text, strlen(text));
	login_client_write(c, "\r\n", 2);
}

void login_client_answer(struct login_client *c, const char *text)
{
	if (login_server.proto->answer != NULL)
		login_server.proto->answer(c, text);
	else
		login_client_reply(c, text);
}

void login_client_set_handoff_data(struct login_client *c,
				   const char *data)
{
	mem_free(c->handoff_data);
	c->handoff_data = data != NULL ? mem_strdup(data) : NULL;
}

/* 1 progress, 0 would block, -1 end of file or error. */
static int login_client_read(struct login_client *c)
{
	char buf[4096];
	int n, err;

	if (c->in.len >= LOGIN_INPUT_CAP)
		return 0;
	if (c->ssl != NULL) {
		c->ssl_want_write = false;
		ERR_clear_error();
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0) {
			err = SSL_get_error(c->ssl, n);
			if (err == SSL_ERROR_WANT_READ)
				return 0;
			if (err == SSL_ERROR_WANT_WRITE) {
				c->ssl_want_write = true;
				return 0;
			}
			return -1;
		}
	} else {
		n = (int)recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
	}
	login_str_append_safe(&c->in, buf, (size_t)n);
	explicit_bzero(buf, (size_t)n);
	return 1;
}

bool login_client_flush(struct login_client *c)
{
	ssize_t n;
	int err;

	while (c->out.len > 0) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			n = SSL_write(c->ssl, c->out.data, (int)c->out.len);
			if (n <= 0) {
				err = SSL_get_error(c->ssl, (int)n);
				return err == SSL_ERROR_WANT_WRITE ||
				       err == SSL_ERROR_WANT_READ;
			}
		} else {
			n = send(c->fd, c->out.data, c->out.len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR;
		}
		str_consume(&c->out, (size_t)n);
	}
	str_release(&c->out);
	return true;
}

/* ---- TLS ---- */

static void login_client_tls_begin(struct login_client *c)
{
	SSL_CTX *ctx = tls_ctx_ssl(login_server.tls);

	/* Nothing sent before the handshake counts after it. */
	login_str_wipe(&c->in);
	if (c->pctx != NULL && login_server.proto->free_pctx != NULL)
		login_server.proto->free_pctx(c->pctx);
	c->pctx = NULL;
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		msg_warn("SSL_new: out of memory");
		c->state = LOGIN_CLOSING;
		c->dead = true;
		return;
	}
	SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS |
		     SSL_MODE_ENABLE_PARTIAL_WRITE |
		     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_set_accept_state(c->ssl);
	c->state = LOGIN_HANDSHAKE;
}

/* 1 done, 0 in progress, -1 failed (logged). */
static int login_client_handshake(struct login_client *c)
{
	unsigned long e;
	int ret, err;

	ERR_clear_error();
	ret = SSL_do_handshake(c->ssl);
	if (ret == 1) {
		c->ssl_want_write = false;
		metrics_count("correo_tls_handshakes_total",
			      login_metrics_label(), 1);
		return 1;
	}
	err = SSL_get_error(c->ssl, ret);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->ssl_want_write = err == SSL_ERROR_WANT_WRITE;
		return 0;
	}
	e = ERR_peek_error();
	metrics_count("correo_tls_handshake_failures_total",
		      login_metrics_label(), 1);
	msg_info("TLS handshake failed: %s, rip=%s",
		 e != 0 ? ERR_reason_error_string(e) : "connection closed",
		 c->addr);
	return -1;
}

/* ---- lines ---- */

static void login_client_line(struct login_client *c, struct str *line)
{
	if (c->state == LOGIN_AUTH_RESPONSE) {
		str_rtrim(line);
		login_auth_response(c, str_c(line));
		return;
	}
	if (++c->commands > login_server.set.command_limit) {
		msg_info("too many commands before login, rip=%s", c->addr);
		login_client_quit(c, login_server.proto->reply_too_many);
		return;
	}
	login_server.proto->command(c, line);
}

static bool login_client_reading(const struct login_client *c)
{
	return !c->dead && (c->state == LOGIN_CMD ||
			    c->state == LOGIN_AUTH_RESPONSE);
}

void login_client_resume(struct login_client *c)
{
	const struct login_proto *p = login_server.proto;
	struct str line = STR_INIT;
	const char *nl;
	size_t len;

	while (login_client_reading(c) && c->in.len > 0) {
		nl = memchr(c->in.data, '\n', c->in.len);
		if (nl == NULL) {
			if (c->in.len < LOGIN_LINE_BOUND)
				break;
			/* Over-long: drop it up to its end. */
			login_str_wipe(&c->in);
			if (!c->skipping) {
				c->skipping = true;
				if (c->state == LOGIN_AUTH_RESPONSE) {
					login_auth_response(c, "*");
				} else {
					login_client_reply(c,
						p->reply_line_too_long);
					login_client_error(c);
				}
			}
			break;
		}
		len = (size_t)(nl - c->in.data) + 1;
		str_append_n(&line, c->in.data, len);
		explicit_bzero(c->in.data, len);
		str_consume(&c->in, len);
		if (c->skipping)
			c->skipping = false;
		else if (line.len > LOGIN_LINE_BOUND &&
			 c->state == LOGIN_CMD) {
			login_client_reply(c, p->reply_line_too_long);
			login_client_error(c);
		} else
			login_client_line(c, &line);
		login_str_wipe(&line);
	}
	if (c->in.len == 0)
		str_release(&c->in);
}

/* ---- one step, whatever woke us ---- */

static void login_client_step(struct login_client *c)
{
	int i, r;

	if (c->state == LOGIN_PROXY)
		return;
	if (c->state == LOGIN_HANDSHAKE) {
		r = login_client_handshake(c);
		if (r < 0) {
			c->dead = true;
			return;
		}
		if (r == 0)
			return;
		c->state = LOGIN_CMD;
		if (c->commands == 0 && login_server.set.tls_wrapper)
			login_server.proto->greet(c);
	}
	for (i = 0; i < LOGIN_READ_ROUNDS && !c->dead; i++) {
		if (!login_client_flush(c)) {
			c->dead = true;
			return;
		}
		if (c->out.len > 0)
			break;
		if (c->state == LOGIN_CLOSING) {
			c->dead = true;
			return;
		}
		if (c->state == LOGIN_TLS_PENDING) {
			login_client_tls_begin(c);
			login_client_step(c);
			return;
		}
		if (c->state == LOGIN_HANDOFF) {
			login_auth_handoff(c);
			return;
		}
		if (c->state != LOGIN_CMD && c->state != LOGIN_AUTH_WAIT &&
		    c->state != LOGIN_AUTH_RESPONSE)
			return;
		r = login_client_read(c);
		if (r < 0) {
			c->dead = true;
			return;
		}
		login_client_resume(c);
		if (r == 0 && (c->ssl == NULL || SSL_pending(c->ssl) == 0))
			break;
	}
	if (!c->dead && !login_client_flush(c))
		c->dead = true;
}

void login_client_watch(struct login_client *c)
{
	unsigned events = 0;

	if (c->state == LOGIN_PROXY)
		return;
	if (c->out.len > 0 || c->ssl_want_write)
		events |= EV_WRITE;
	if (c->state == LOGIN_HANDSHAKE) {
		if (!c->ssl_want_write)
			events |= EV_READ;
	} else if ((c->state == LOGIN_CMD || c->state == LOGIN_AUTH_WAIT ||
		    c->state == LOGIN_AUTH_RESPONSE) &&
		   c->in.len < LOGIN_INPUT_CAP)
		events |= EV_READ;
	if (events != 0)
		ev_io_add(login_server.loop, c->fd, events, login_client_io,
			  c);
	else
		ev_io_del(login_server.loop, c->fd);
}

/* Run one step for c and free it if it ended. */
static void login_client_kick(struct login_client *c)
{
	if (c->in_watch) {
		return;		/* the outer step continues */
	}
	c->in_watch = true;
	login_client_step(c);
	c->in_watch = false;
	if (c->dead) {
		login_client_destroy(c);
		return;
	}
	login_client_watch(c);
}

static void login_client_io(int fd, unsigned events, void *ctx)
{
	(void)fd;
	(void)events;
	login_client_kick(ctx);
}

void login_client_wake(struct login_client *c)
{
	login_client_kick(c);
}

static void login_client_deadline(void *ctx)
{
	struct login_client *c = ctx;

	c->deadline = NULL;
	if (c->state == LOGIN_PROXY || c->state == LOGIN_HANDOFF)
		return;
	msg_info("disconnected: no login within the time limit, rip=%s",
		 c->addr);
	if (c->state == LOGIN_HANDSHAKE)
		c->dead = true;
	else
		login_client_quit(c, login_server.proto->reply_timeout);
	login_client_kick(c);
}

/* ---- the protocol's API ---- */

void login_client_error(struct login_client *c)
{
	if (++c->errors >= login_server.set.error_limit) {
		msg_info("too many bad commands before login, rip=%s",
			 c->addr);
		login_client_quit(c, login_server.proto->reply_too_many);
	}
}

void login_client_quit(struct login_client *c, const char *reply)
{
	if (c->state == LOGIN_CLOSING)
		return;
	login_auth_abort(c);
	if (reply != NULL)
		login_client_reply(c, reply);
	c->state = LOGIN_CLOSING;
}

bool login_client_tls(const struct login_client *c)
{
	return c->ssl != NULL;
}

bool login_client_tls_available(const struct login_client *c)
{
	return login_server.tls != NULL && c->ssl == NULL;
}

void login_client_starttls(struct login_client *c)
{
	if (!login_client_tls_available(c))
		msg_panic("login_client_starttls without TLS");
	c->state = LOGIN_TLS_PENDING;
}

bool login_client_plaintext_ok(const struct login_client *c)
{
	return c->ssl != NULL || !login_server.set.plaintext_disabled ||
	       (login_server.set.loopback_secure && c->secure_addr);
}

bool login_client_check_plaintext(struct login_client *c)
{
	if (login_client_plaintext_ok(c))
		return true;
	login_client_answer(c, login_server.proto->reply_plaintext);
	login_client_error(c);
	return false;
}

char **login_client_mechanisms(const struct login_client *c)
{
	(void)c;
	return login_server.set.mechanisms;
}

bool login_client_mech_offered(const struct login_client *c,
			       const char *mech)
{
	char **m;

	for (m = login_client_mechanisms(c); m != NULL && *m != NULL; m++)
		if (strcasecmp(*m, mech) == 0)
			return true;
	return false;
}

const char *login_client_addr(const struct login_client *c)
{
	return c->addr;
}

void *login_client_pctx(const struct login_client *c)
{
	return c->pctx;
}

void login_client_set_pctx(struct login_client *c, void *pctx)
{
	c->pctx = pctx;
}

/* ---- life ---- */

static void login_sockaddr_text(const struct sockaddr_storage *ss,
				char *buf, size_t size)
{
	const void *a = NULL;

	str_snprintf(buf, size, "unknown");
	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (a != NULL)
		inet_ntop(ss->ss_family, a, buf, (socklen_t)size);
}

static void login_client_addrs(struct login_client *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == 0)
		login_sockaddr_text(&ss, c->addr, sizeof(c->addr));
	else
		str_snprintf(c->addr, sizeof(c->addr), "unknown");
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(c->fd, (struct sockaddr *)&ss, &len) == 0)
		login_sockaddr_text(&ss, c->local, sizeof(c->local));
	else
		str_snprintf(c->local, sizeof(c->local), "unknown");
}

void login_client_accept(int fd)
{
	struct login_client *c = mem_alloc(sizeof(*c));
	struct login_server *srv = &login_server;

	c->fd = fd;
	c->pair = -1;
	login_client_addrs(c);
	c->secure_addr = login_addr_secure(c->addr, c->local);
	c->next = srv->clients;
	if (srv->clients != NULL)
		srv->clients->prev = c;
	srv->clients = c;
	srv->nclients++;
	c->deadline = ev_timer_add(srv->loop,
				   login_deadline_ms(&srv->set,
						     srv->nclients),
				   login_client_deadline, c);
	msg_debug("connect from [%s]", c->addr);
	metrics_count("correo_sessions_total", login_metrics_label(), 1);
	if (!login_limit_connect(c->addr, &c->anvil_registered)) {
		/* A plaintext line would only garble a TLS client's
		 * handshake: those get nothing. */
		login_client_quit(c, srv->set.tls_wrapper ? NULL :
				  srv->proto->reply_unavailable);
		login_client_kick(c);
		login_server_update();
		return;
	}
	if (srv->set.tls_wrapper)
		login_client_tls_begin(c);
	else
		srv->proto->greet(c);
	login_client_kick(c);
	login_server_update();
}

void login_client_free(struct login_client *c)
{
	c->dead = true;
	login_client_kick(c);
}

static void login_client_destroy(struct login_client *c)
{
	struct login_server *srv = &login_server;

	login_auth_abort(c);
	if (c->anvil_registered)
		login_limit_disconnect(c->addr);
	if (c->deadline != NULL)
		ev_timer_del(srv->loop, &c->deadline);
	login_proxy_stop(c);
	if (c->fd >= 0) {
		ev_io_del(srv->loop, c->fd);
		if (c->ssl != NULL)
			(void)SSL_shutdown(c->ssl);
		close(c->fd);
	}
	SSL_free(c->ssl);
	if (c->pctx != NULL && srv->proto->free_pctx != NULL)
		srv->proto->free_pctx(c->pctx);
	login_str_wipe(&c->in);
	login_str_wipe(&c->out);
	mem_free(c->mech);
	mem_free(c->handoff_data);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nclients--;
	explicit_bzero(c, sizeof(*c));
	free(c);
	login_server_update();
}
