/*
 * trigger: the listener for wake-up triggers (trigger.h).
 *
 * qmgr and pickup are woken by master's timer, by sendmail, by smtpd and
 * by the admin tools through one small write to a Unix socket. Each
 * listening socket is accepted from in the event loop; each client is
 * read once per readiness and closed after a short read, so a client
 * that writes and goes away costs nothing more, and one that connects
 * and idles is closed at its first short read or its end of file.
 *
 * Interface: trigger_listen.
 *
 * SECURITY: a trigger client is anyone who may connect to the socket
 * (for pickup, the setgid group); its bytes only go to the callback,
 * at most 16 at a time, and nothing is written back.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "trigger.h"

/* One per trigger_listen call, for the daemon's life. */
struct trigger {
	struct ev_loop *loop;
	trigger_cb *cb;
	void *ctx;
};

static void trigger_read(int fd, unsigned events, void *ctx)
{
	struct trigger *t = ctx;
	char buf[16];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		t->cb(buf, (size_t)n, t->ctx);
	if (n <= 0 || n < (ssize_t)sizeof(buf)) {
		ev_io_del(t->loop, fd);
		close(fd);
	}
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
	ev_io_add(t->loop, fd, EV_READ, trigger_read, t);
}

void trigger_listen(struct ev_loop *loop, const int *fds, int nfds,
		    trigger_cb *cb, void *ctx)
{
	struct trigger *t = mem_alloc(sizeof(*t));

	t->loop = loop;
	t->cb = cb;
	t->ctx = ctx;
	for (int i = 0; i < nfds; i++) {
		(void)fcntl(fds[i], F_SETFL, O_NONBLOCK);
		ev_io_add(loop, fds[i], EV_READ, trigger_accept, t);
	}
}
