/*
 * login_proxy: after a login over TLS, the front end relays between the
 * client's TLS stream and the mail process's end of a socketpair
 * (login_int.h), in the event loop with the other clients.
 *
 * Bytes go both ways through the client's two buffers: in (client to
 * mail process) and out (mail process to client), each capped, reading
 * stopped on a side while its buffer is full. The session ends when
 * either side closes or fails; the mail process's own timeout decides
 * when an idle session ends.
 *
 * SECURITY: moves bytes only; nothing is parsed. Runs unprivileged and
 * chrooted like the rest of the front end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"

#include "login_int.h"

#define LOGIN_PROXY_CAP 65536

static void login_proxy_io(int fd, unsigned events, void *ctx);

static void login_proxy_watch(struct login_client *c)
{
	unsigned ce = 0, pe = 0;

	if (!c->client_eof && c->in.len < LOGIN_PROXY_CAP)
		ce |= EV_READ;
	if (c->out.len > 0 || c->ssl_want_write)
		ce |= EV_WRITE;
	if (!c->pair_eof && c->out.len < LOGIN_PROXY_CAP)
		pe |= EV_READ;
	if (c->in.len > 0)
		pe |= EV_WRITE;
	if (ce != 0)
		ev_io_add(login_server.loop, c->fd, ce, login_proxy_io, c);
	else
		ev_io_del(login_server.loop, c->fd);
	if (pe != 0)
		ev_io_add(login_server.loop, c->pair, pe, login_proxy_io, c);
	else
		ev_io_del(login_server.loop, c->pair);
}

/* Client to mail process. False when the session is over. */
static bool login_proxy_to_pair(struct login_client *c)
{
	char buf[16384];
	ssize_t n;
	int err;

	while (!c->client_eof && c->in.len < LOGIN_PROXY_CAP) {
		c->ssl_want_write = false;
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0) {
			err = SSL_get_error(c->ssl, (int)n);
			if (err == SSL_ERROR_WANT_READ)
				break;
			if (err == SSL_ERROR_WANT_WRITE) {
				c->ssl_want_write = true;
				break;
			}
			c->client_eof = true;
			break;
		}
		str_append_n(&c->in, buf, (size_t)n);
	}
	while (c->in.len > 0) {
		n = send(c->pair, c->in.data, c->in.len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0)
			return false;
		str_consume(&c->in, (size_t)n);
	}
	if (c->in.len == 0)
		str_release(&c->in);
	return !c->client_eof;
}

/* Mail process to client. False when the session is over. */
static bool login_proxy_to_client(struct login_client *c)
{
	char buf[16384];
	ssize_t n;

	while (!c->pair_eof && c->out.len < LOGIN_PROXY_CAP) {
		n = recv(c->pair, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			c->pair_eof = true;
			break;
		}
		str_append_n(&c->out, buf, (size_t)n);
	}
	if (!login_client_flush(c))
		return false;
	return !c->pair_eof || c->out.len > 0;
}

static void login_proxy_io(int fd, unsigned events, void *ctx)
{
	struct login_client *c = ctx;
	bool up, down;

	(void)fd;
	(void)events;
	down = login_proxy_to_client(c);
	up = login_proxy_to_pair(c);
	if (!up || !down) {
		/* Flush what the mail process said last, then end. */
		(void)login_client_flush(c);
		login_client_free(c);
		return;
	}
	login_proxy_watch(c);
}

void login_proxy_start(struct login_client *c, int pair)
{
	int flags = fcntl(pair, F_GETFL);

	if (flags >= 0)
		(void)fcntl(pair, F_SETFL, flags | O_NONBLOCK);
	c->state = LOGIN_PROXY;
	c->pair = pair;
	if (c->deadline != NULL)
		ev_timer_del(login_server.loop, &c->deadline);
	/* Input the client pipelined after its login is the mail
	 * process's first. */
	login_proxy_io(-1, 0, c);
}

void login_proxy_stop(struct login_client *c)
{
	if (c->pair < 0)
		return;
	ev_io_del(login_server.loop, c->pair);
	shutdown(c->pair, SHUT_RDWR);
	close(c->pair);
	c->pair = -1;
}
