/*
 * metrics_server: the metrics service's sockets (metrics.h,
 * correo-metrics(8)).
 *
 * Interface: metrics_pre_init, metrics_event_init (SERVER_EVENT).
 *
 * Two kinds of input, one event loop:
 *  - private/metrics, a Unix stream socket the service binds (as the
 *    mail owner, mode 0600): each daemon keeps one connection and
 *    writes one update per line (metrics_client.h), applied to the
 *    table as whole lines arrive; a line longer than
 *    METRICS_MAX_LINE closes that connection;
 *  - the inet row's listening sockets: HTTP/1.x scrapes. A request is
 *    read whole (up to METRICS_MAX_REQUEST bytes, METRICS_TIMEOUT_MS),
 *    "GET /metrics" is answered with the exposition (text format 0.0.4)
 *    and the connection closed; anything else gets 404 or 405.
 *
 * SECURITY: runs as the mail owner; after init it reads only the queue
 * folders (names, to count them), never a file's content. The port
 * should be a loopback one: the counts tell traffic volumes, not mail.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mem.h"
#include "metrics.h"
#include "metrics_client.h"
#include "msg.h"

#define METRICS_MAX_REQUEST 8192
#define METRICS_MAX_CONNS 64
#define METRICS_TIMEOUT_MS 10000
#define METRICS_MAX_LINE 256
#define METRICS_MAX_PEERS 768	/* under the usual 1024 descriptors */

/* A daemon's update connection. */
struct metrics_peer {
	int fd;
	char buf[METRICS_MAX_LINE];
	size_t len;
};

struct metrics_conn {
	int fd;
	char in[METRICS_MAX_REQUEST];
	size_t inlen;
	struct str out;
	size_t off;
	struct ev_timer *timer;
};

static struct {
	struct ev_loop *loop;
	int update_fd;
	int queue_fd;
	size_t nconns;
	size_t npeers;
} metrics = { .update_fd = -1, .queue_fd = -1 };

static void metrics_conn_close(struct metrics_conn *c)
{
	ev_io_del(metrics.loop, c->fd);
	if (c->timer != NULL)
		ev_timer_del(metrics.loop, &c->timer);
	close(c->fd);
	str_release(&c->out);
	free(c);
	metrics.nconns--;
}

static void metrics_timeout(void *ctx)
{
	struct metrics_conn *c = ctx;

	c->timer = NULL;
	metrics_conn_close(c);
}

static void metrics_write(int fd, unsigned events, void *ctx)
{
	struct metrics_conn *c = ctx;
	ssize_t n;

	(void)events;
	while (c->off < c->out.len) {
		n = write(fd, c->out.data + c->off, c->out.len - c->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		c->off += (size_t)n;
	}
	metrics_conn_close(c);
}

static void metrics_respond(struct metrics_conn *c, const char *status,
			    const char *type, const struct str *body)
{
	str_printf(&c->out, "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
		   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		   status, type, body->len);
	str_append_n(&c->out, body->data, body->len);
	ev_io_add(metrics.loop, c->fd, EV_WRITE, metrics_write, c);
}

/* The request line of a whole request: method and path. */
static void metrics_request(struct metrics_conn *c)
{
	struct str body = STR_INIT;
	char *line = c->in, *sp, *path, *end;

	line[c->inlen] = '\0';
	sp = strchr(line, ' ');
	if (sp == NULL) {
		str_append(&body, "bad request\n");
		metrics_respond(c, "400 Bad Request", "text/plain", &body);
	} else if ((*sp = '\0', path = sp + 1,
		    strcmp(line, "GET") != 0 && strcmp(line, "HEAD") != 0)) {
		str_append(&body, "method not allowed\n");
		metrics_respond(c, "405 Method Not Allowed", "text/plain",
				&body);
	} else {
		end = path + strcspn(path, " ?\r\n");
		*end = '\0';
		if (strcmp(path, "/metrics") == 0) {
			bool head = strcmp(line, "HEAD") == 0;

			metrics_render(&body, metrics.queue_fd);
			metrics_respond(c, "200 OK",
					"text/plain; version=0.0.4; "
					"charset=utf-8", &body);
			if (head)	/* the headers only */
				str_truncate(&c->out, c->out.len - body.len);
		} else {
			str_append(&body, "not found; try /metrics\n");
			metrics_respond(c, "404 Not Found", "text/plain",
					&body);
		}
	}
	str_release(&body);
}

static void metrics_read(int fd, unsigned events, void *ctx)
{
	struct metrics_conn *c = ctx;
	ssize_t n;

	(void)events;
	n = read(fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		metrics_conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (strstr(c->in, "\r\n\r\n") != NULL ||
	    strstr(c->in, "\n\n") != NULL)
		metrics_request(c);
	else if (c->inlen >= sizeof(c->in) - 1)
		metrics_conn_close(c);	/* a request too large */
}

static void metrics_accept(int lfd, unsigned events, void *ctx)
{
	struct metrics_conn *c;
	int fd;

	(void)events;
	(void)ctx;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			msg_warn("metrics: accept: %m");
		return;
	}
	if (metrics.nconns >= METRICS_MAX_CONNS) {
		close(fd);
		return;
	}
	c = mem_alloc(sizeof(*c));
	c->fd = fd;
	metrics.nconns++;
	c->timer = ev_timer_add(metrics.loop, METRICS_TIMEOUT_MS,
				metrics_timeout, c);
	ev_io_add(metrics.loop, fd, EV_READ, metrics_read, c);
}

static void metrics_peer_close(struct metrics_peer *p)
{
	ev_io_del(metrics.loop, p->fd);
	close(p->fd);
	free(p);
	metrics.npeers--;
}

/* Apply every whole line that arrived. */
static void metrics_peer_read(int fd, unsigned events, void *ctx)
{
	struct metrics_peer *p = ctx;
	char *nl, *start;
	ssize_t n;

	(void)events;
	n = read(fd, p->buf + p->len, sizeof(p->buf) - p->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		metrics_peer_close(p);	/* the daemon exited */
		return;
	}
	p->len += (size_t)n;
	start = p->buf;
	while ((nl = memchr(start, '\n', p->len - (size_t)(start - p->buf)))
	       != NULL) {
		metrics_update(start, (size_t)(nl - start));
		start = nl + 1;
	}
	p->len -= (size_t)(start - p->buf);
	memmove(p->buf, start, p->len);
	if (p->len == sizeof(p->buf)) {
		msg_warn("metrics: an update line longer than %d bytes; "
			 "closing that connection", METRICS_MAX_LINE);
		metrics_update(p->buf, 0);	/* counted as rejected */
		metrics_peer_close(p);
	}
}

static void metrics_peer_accept(int lfd, unsigned events, void *ctx)
{
	struct metrics_peer *p;
	int fd;

	(void)events;
	(void)ctx;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (metrics.npeers >= METRICS_MAX_PEERS) {
		close(fd);
		return;
	}
	p = mem_alloc(sizeof(*p));
	p->fd = fd;
	metrics.npeers++;
	ev_io_add(metrics.loop, fd, EV_READ, metrics_peer_read, p);
}

void metrics_pre_init(void *ctx)
{
	(void)ctx;
	/* Counted at each scrape: the queue's root, held open. */
	metrics.queue_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (metrics.queue_fd < 0)
		msg_fatal("open queue directory: %m");
}

/* Bound here, after the skeleton dropped to the mail owner, so the
 * socket is the mail owner's like private/ itself. Bound under a
 * temporary name and renamed into place once it listens: a client that
 * sees private/metrics can connect (between bind and listen a connect
 * is refused, and a jailed front end that tried then never could). The
 * rename also replaces a socket left by an earlier run. */
static void metrics_bind(void)
{
	static const char tmp[] = METRICS_SOCKET ".new";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memcpy(sun.sun_path, tmp, sizeof(tmp));
	metrics.update_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				   SOCK_CLOEXEC, 0);
	if (metrics.update_fd < 0)
		msg_fatal("socket: %m");
	if (unlink(tmp) < 0 && errno != ENOENT)
		msg_fatal("unlink %s: %m", tmp);
	if (bind(metrics.update_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		msg_fatal("bind %s: %m", tmp);
	if (chmod(tmp, 0600) < 0)
		msg_fatal("chmod %s: %m", tmp);
	if (listen(metrics.update_fd, 128) < 0)
		msg_fatal("listen %s: %m", tmp);
	if (rename(tmp, METRICS_SOCKET) < 0)
		msg_fatal("rename %s to %s: %m", tmp, METRICS_SOCKET);
}

void metrics_event_init(struct ev_loop *loop, const int *fds, int nfds,
			void *ctx)
{
	(void)ctx;
	metrics.loop = loop;
	metrics_bind();
	ev_io_add(loop, metrics.update_fd, EV_READ, metrics_peer_accept, NULL);
	for (int i = 0; i < nfds; i++)
		ev_io_add(loop, fds[i], EV_READ, metrics_accept, NULL);
}
