/*
 * metrics_server: the metrics service's sockets (metrics.h,
 * correo-metrics(8)).
 *
 * Interface: metrics_pre_init, metrics_event_init (SERVER_EVENT).
 *
 * Two kinds of input, one event loop:
 *  - private/metrics, a Unix datagram socket the service binds (as the
 *    mail owner, mode 0600): one update per datagram from the daemons
 *    (metrics_client.h), applied to the table;
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
	int dgram_fd;
	int queue_fd;
	size_t nconns;
} metrics = { .dgram_fd = -1, .queue_fd = -1 };

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

static void metrics_receive(int fd, unsigned events, void *ctx)
{
	char buf[256];
	ssize_t n;
	int i;

	(void)events;
	(void)ctx;
	/* A bounded batch per wake-up, so scrapes are not starved. */
	for (i = 0; i < 256; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return;
		metrics_update(buf, (size_t)n);
	}
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
 * socket is the mail owner's like private/ itself. */
static void metrics_bind(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int sz = 1 << 20;

	memcpy(sun.sun_path, METRICS_SOCKET, sizeof(METRICS_SOCKET));
	metrics.dgram_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
				  SOCK_CLOEXEC, 0);
	if (metrics.dgram_fd < 0)
		msg_fatal("socket: %m");
	/* A socket left by an earlier run. */
	if (unlink(METRICS_SOCKET) < 0 && errno != ENOENT)
		msg_fatal("unlink %s: %m", METRICS_SOCKET);
	if (bind(metrics.dgram_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		msg_fatal("bind %s: %m", METRICS_SOCKET);
	if (chmod(METRICS_SOCKET, 0600) < 0)
		msg_fatal("chmod %s: %m", METRICS_SOCKET);
	/* Room for bursts while a scrape is being written. */
	(void)setsockopt(metrics.dgram_fd, SOL_SOCKET, SO_RCVBUF, &sz,
			 sizeof(sz));
}

void metrics_event_init(struct ev_loop *loop, const int *fds, int nfds,
			void *ctx)
{
	(void)ctx;
	metrics.loop = loop;
	metrics_bind();
	ev_io_add(loop, metrics.dgram_fd, EV_READ, metrics_receive, NULL);
	for (int i = 0; i < nfds; i++)
		ev_io_add(loop, fds[i], EV_READ, metrics_accept, NULL);
}
