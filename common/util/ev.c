/*
 * ev: a small epoll event loop (ev.h).
 *
 * I/O watches live in a table indexed by fd. Each registration carries a
 * generation number in its epoll data, so an event that epoll reported
 * for a watch a callback has since deleted (or deleted and replaced by a
 * new watch on a reused fd number) is dropped instead of reaching the
 * wrong callback.
 *
 * Timers are one-shot, kept in a binary min-heap ordered by expiry and
 * then by creation, so timers due at the same moment fire in the order
 * they were added. A timer is taken off the heap and freed before its
 * callback runs; a callback may add or delete any timer or watch. Timers
 * added by a callback wait for the next iteration, so a callback that
 * re-arms itself with 0 ms cannot starve I/O.
 *
 * Signals are blocked and read from one signalfd, so their callbacks run
 * in normal context. ev_free restores the signal mask; a child forked
 * from a process with a loop calls ev_signal_unblock before exec (the
 * mask survives execve).
 *
 * SECURITY: no input is parsed here; the loop trusts its callers. All fds
 * it creates are close-on-exec.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "mem.h"
#include "msg.h"

#define EV_BATCH 64		/* events taken per epoll_wait */
#define EV_NSIG 65		/* signal numbers 1..64 */

struct ev_io {
	ev_io_cb *cb;
	void *ctx;
	unsigned events;
	uint32_t gen;		/* 0: no watch */
};

struct ev_timer {
	long long when;
	uint64_t seq;
	size_t index;		/* position in the heap */
	ev_timer_cb *cb;
	void *ctx;
};

struct ev_sig {
	ev_signal_cb *cb;
	void *ctx;
};

struct ev_loop {
	int epfd;
	struct ev_io *ios;
	size_t ios_cap;
	uint32_t gen;

	struct ev_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	uint64_t seq;

	int sigfd;
	sigset_t sigmask;	/* signals routed through sigfd */
	sigset_t saved_mask;	/* the process mask before ev blocked any */
	bool saved;
	struct ev_sig sigs[EV_NSIG];

	bool stop;
};

long long ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ev_loop *ev_create(void)
{
	struct ev_loop *loop = mem_alloc(sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		msg_fatal("epoll_create1: %s", strerror(errno));
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	return loop;
}

void ev_signal_unblock(const struct ev_loop *loop)
{
	if (loop->saved)
		sigprocmask(SIG_SETMASK, &loop->saved_mask, NULL);
}

void ev_free(struct ev_loop **loopp)
{
	struct ev_loop *loop = *loopp;
	size_t i;

	if (loop == NULL)
		return;
	for (i = 0; i < loop->heap_len; i++)
		mem_free(loop->heap[i]);
	mem_free(loop->heap);
	mem_free(loop->ios);
	if (loop->sigfd >= 0)
		(void)close(loop->sigfd);
	ev_signal_unblock(loop);
	(void)close(loop->epfd);
	mem_free(*loopp);
}

/* I/O watches. */

static uint32_t ev_to_epoll(unsigned events)
{
	return ((events & EV_READ) ? EPOLLIN : 0) |
	       ((events & EV_WRITE) ? EPOLLOUT : 0);
}

static void ev_io_grow(struct ev_loop *loop, int fd)
{
	size_t cap = loop->ios_cap < 64 ? 64 : loop->ios_cap;

	while (cap <= (size_t)fd)
		cap *= 2;
	loop->ios = mem_array_realloc(loop->ios, cap, sizeof(*loop->ios));
	memset(loop->ios + loop->ios_cap, 0,
	       (cap - loop->ios_cap) * sizeof(*loop->ios));
	loop->ios_cap = cap;
}

void ev_io_add(struct ev_loop *loop, int fd, unsigned events,
	       ev_io_cb *cb, void *ctx)
{
	struct epoll_event ee = { .events = ev_to_epoll(events) };
	struct ev_io *io;
	int op;

	if (fd < 0)
		msg_panic("ev_io_add: bad fd %d", fd);
	if ((size_t)fd >= loop->ios_cap)
		ev_io_grow(loop, fd);
	io = &loop->ios[fd];
	op = io->gen != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (io->gen == 0) {
		if (++loop->gen == 0)
			loop->gen = 1;
		io->gen = loop->gen;
	}
	ee.data.u64 = (uint64_t)io->gen << 32 | (uint32_t)fd;
	/* A watched fd closed without ev_io_del left epoll by itself. */
	if (epoll_ctl(loop->epfd, op, fd, &ee) < 0 &&
	    (op != EPOLL_CTL_MOD || errno != ENOENT ||
	     epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) < 0))
		msg_fatal("epoll_ctl fd %d: %s", fd, strerror(errno));
	io->cb = cb;
	io->ctx = ctx;
	io->events = events;
}

void ev_io_del(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->ios_cap || loop->ios[fd].gen == 0)
		return;
	/* Fails harmlessly if the caller already closed fd. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	memset(&loop->ios[fd], 0, sizeof(loop->ios[fd]));
}

static void ev_io_dispatch(struct ev_loop *loop, const struct epoll_event *ee)
{
	int fd = (int)(uint32_t)ee->data.u64;
	uint32_t gen = (uint32_t)(ee->data.u64 >> 32);
	unsigned events = 0;
	struct ev_io *io;

	if ((size_t)fd >= loop->ios_cap || loop->ios[fd].gen != gen)
		return;
	io = &loop->ios[fd];
	if (ee->events & EPOLLIN)
		events |= EV_READ;
	if (ee->events & EPOLLOUT)
		events |= EV_WRITE;
	/* Errors and hang-ups wake whoever waits; its read or write then
	 * sees the EOF or the error. */
	if (ee->events & (EPOLLERR | EPOLLHUP))
		events |= io->events;
	events &= io->events;
	if (events != 0)
		io->cb(fd, events, io->ctx);
}

/* Timers: a binary min-heap on (when, seq). */

static bool ev_timer_before(const struct ev_timer *a,
			    const struct ev_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void ev_heap_set(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->index = i;
}

static void ev_heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!ev_timer_before(t, loop->heap[parent]))
			break;
		ev_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	ev_heap_set(loop, i, t);
}

static void ev_heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    ev_timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!ev_timer_before(loop->heap[child], t))
			break;
		ev_heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	ev_heap_set(loop, i, t);
}

static void ev_heap_remove(struct ev_loop *loop, struct ev_timer *t)
{
	size_t i = t->index;
	struct ev_timer *last;

	if (i >= loop->heap_len || loop->heap[i] != t)
		msg_panic("ev_timer: handle not in the heap");
	last = loop->heap[--loop->heap_len];
	if (last == t)
		return;
	ev_heap_set(loop, i, last);
	if (i > 0 && ev_timer_before(last, loop->heap[(i - 1) / 2]))
		ev_heap_up(loop, i);
	else
		ev_heap_down(loop, i);
}

struct ev_timer *ev_timer_add(struct ev_loop *loop, long msec,
			      ev_timer_cb *cb, void *ctx)
{
	struct ev_timer *t = mem_alloc(sizeof(*t));

	/* Clamped to about 30 years so the sum cannot overflow. */
	if (msec < 0)
		msec = 0;
	if (msec > 1000000000000L)
		msec = 1000000000000L;
	t->when = ev_now_ms() + msec;
	t->seq = loop->seq++;
	t->cb = cb;
	t->ctx = ctx;
	if (loop->heap_len == loop->heap_cap) {
		loop->heap_cap = loop->heap_cap < 16 ? 16 : loop->heap_cap * 2;
		loop->heap = mem_array_realloc(loop->heap, loop->heap_cap,
					       sizeof(*loop->heap));
	}
	loop->heap[loop->heap_len++] = t;
	ev_heap_up(loop, loop->heap_len - 1);
	return t;
}

void ev_timer_del(struct ev_loop *loop, struct ev_timer **timer)
{
	if (*timer == NULL)
		return;
	ev_heap_remove(loop, *timer);
	mem_free(*timer);
}

/* Fire the timers that are due and existed when this pass began. */
static void ev_timers_run(struct ev_loop *loop)
{
	uint64_t limit = loop->seq;
	long long now = ev_now_ms();
	struct ev_timer *t;
	ev_timer_cb *cb;
	void *ctx;

	while (loop->heap_len > 0) {
		t = loop->heap[0];
		if (t->when > now || t->seq >= limit)
			break;
		ev_heap_remove(loop, t);
		cb = t->cb;
		ctx = t->ctx;
		mem_free(t);
		cb(ctx);
	}
}

/* Milliseconds until the first timer, capped by timeout_ms (-1: none). */
static int ev_wait_ms(const struct ev_loop *loop, int timeout_ms)
{
	long long left;

	if (loop->heap_len == 0)
		return timeout_ms;
	left = loop->heap[0]->when - ev_now_ms();
	if (left < 0)
		left = 0;
	if (timeout_ms >= 0 && left > timeout_ms)
		left = timeout_ms;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Signals. */

static void ev_signal_read(int fd, unsigned events, void *ctx)
{
	struct ev_loop *loop = ctx;
	struct signalfd_siginfo si;
	ssize_t n;
	int signo;

	for (;;) {
		n = read(fd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return;
		signo = (int)si.ssi_signo;
		if (signo > 0 && signo < EV_NSIG && loop->sigs[signo].cb)
			loop->sigs[signo].cb(signo, loop->sigs[signo].ctx);
	}
}

void ev_signal_add(struct ev_loop *loop, int signo, ev_signal_cb *cb,
		   void *ctx)
{
	sigset_t one;
	int fd;

	if (signo <= 0 || signo >= EV_NSIG)
		msg_panic("ev_signal_add: bad signal %d", signo);
	sigemptyset(&one);
	sigaddset(&one, signo);
	sigaddset(&loop->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &one, loop->saved ? NULL :
			&loop->saved_mask) < 0)
		msg_fatal("sigprocmask: %s", strerror(errno));
	loop->saved = true;
	fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		msg_fatal("signalfd: %s", strerror(errno));
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		ev_io_add(loop, fd, EV_READ, ev_signal_read, loop);
	}
	loop->sigs[signo].cb = cb;
	loop->sigs[signo].ctx = ctx;
}

/* Running. */

void ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	struct epoll_event events[EV_BATCH];
	int i, n;

	n = epoll_wait(loop->epfd, events, EV_BATCH,
		       ev_wait_ms(loop, timeout_ms));
	if (n < 0 && errno != EINTR)
		msg_fatal("epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++)
		ev_io_dispatch(loop, &events[i]);
	ev_timers_run(loop);
}

void ev_run(struct ev_loop *loop)
{
	while (!loop->stop)
		ev_run_once(loop, -1);
	loop->stop = false;
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop = true;
}
