/*
 * trigger: the listener for wake-up triggers (trigger.h).
 *
 * qmgr and pickup are woken by master's timer, by sendmail, by smtpd and
 * by the admin tools through one small write to a Unix socket. Each
 * listening socket is accepted from in the event loop. A client may
 * write and go away (it is closed at its end of file) or keep its
 * connection and write a byte per wake-up (smtpd does, once a message:
 * server_trigger_kept), so a connection stays open until its end of
 * file. Up to TRIGGER_KEPT_MAX connections stay open at once; beyond
 * that one is read once and closed, as every one was before, so idle
 * clients can cost descriptors only up to that bound.
 *
 * Interface: trigger_listen, trigger_free.
 *
 * SECURITY: a trigger client is anyone who may connect to the socket
 * (for pickup, the setgid group); its bytes only go to the callback,
 * at most 16 at a time, and nothing is written back. Kept connections
 * are bounded (above).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "trigger.h"

#define TRIGGER_KEPT_MAX	256

/* One per trigger_listen call: a daemon keeps it for its life, a test
 * frees it (trigger_free) after its loop. */
struct trigger {
	struct ev_loop *loop;
	trigger_cb *cb;
	void *ctx;
};

/* Connections open now, over every listener of the process. */
static int trigger_kept;

static void trigger_close(struct ev_loop *loop, int fd)
{
	ev_io_del(loop, fd);
	close(fd);
	trigger_kept--;
}

/* One read, its bytes to the callback: what read returned, with EAGAIN
 * and EINTR as TRIGGER_LATER. */
#define TRIGGER_LATER	(-2)

static ssize_t trigger_take(int fd, struct trigger *t)
{
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return TRIGGER_LATER;
	if (n > 0)
		t->cb(buf, (size_t)n, t->ctx);
	return n;
}

static void trigger_read(int fd, unsigned events, void *ctx)
{
	struct trigger *t = ctx;
	ssize_t n = trigger_take(fd, t);

	if (n == 0 || n == -1)
		trigger_close(t->loop, fd);
}

/* Beyond the bound: read once, then closed whatever it says. */
static void trigger_read_once(int fd, unsigned events, void *ctx)
{
	struct trigger *t = ctx;

	if (trigger_take(fd, t) != TRIGGER_LATER)
		trigger_close(t->loop, fd);
}

static void trigger_accept(int lfd, unsigned events, void *ctx)
{
	struct trigger *t = ctx;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			msg_warn("accept trigger: %m");
		return;
	}
	ev_io_add(t->loop, fd, EV_READ, trigger_kept < TRIGGER_KEPT_MAX ?
		  trigger_read : trigger_read_once, t);
	trigger_kept++;
}

struct trigger *trigger_listen(struct ev_loop *loop, const int *fds,
			       int nfds, trigger_cb *cb, void *ctx)
{
	struct trigger *t = mem_alloc(sizeof(*t));

	t->loop = loop;
	t->cb = cb;
	t->ctx = ctx;
	for (int i = 0; i < nfds; i++) {
		(void)fcntl(fds[i], F_SETFL, O_NONBLOCK);
		ev_io_add(loop, fds[i], EV_READ, trigger_accept, t);
	}
	return t;
}

void trigger_free(struct trigger **t)
{
	mem_free(*t);
}
