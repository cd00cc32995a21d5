#ifndef COMMON_EV_H
#define COMMON_EV_H

#include <stdbool.h>

/* A small epoll event loop for the long-running event-driven processes
 * (master, qmgr). Timers are one-shot and ordered by a binary heap;
 * signals arrive through signalfd so handlers run in normal context. */

#define EV_READ  0x1
#define EV_WRITE 0x2

struct ev_loop;
struct ev_timer;

typedef void ev_io_cb(int fd, unsigned events, void *ctx);
typedef void ev_timer_cb(void *ctx);
typedef void ev_signal_cb(int signo, void *ctx);

struct ev_loop *ev_create(void);
void ev_free(struct ev_loop **loop);

/* Watch fd for events (EV_READ|EV_WRITE); add replaces an existing watch
 * of the same fd. */
void ev_io_add(struct ev_loop *loop, int fd, unsigned events,
	       ev_io_cb *cb, void *ctx);
void ev_io_del(struct ev_loop *loop, int fd);

/* Call cb once after msec milliseconds. The handle stays valid until the
 * callback starts or ev_timer_del is called. */
struct ev_timer *ev_timer_add(struct ev_loop *loop, long msec,
			      ev_timer_cb *cb, void *ctx);
void ev_timer_del(struct ev_loop *loop, struct ev_timer **timer);

/* Deliver signo through the loop (blocks it for the process). */
void ev_signal_add(struct ev_loop *loop, int signo, ev_signal_cb *cb,
		   void *ctx);
/* Restore the signal mask from before ev_signal_add blocked anything; a
 * child forked from a process with a loop calls it before exec, since the
 * mask survives execve. */
void ev_signal_unblock(const struct ev_loop *loop);

/* Run until ev_stop. */
void ev_run(struct ev_loop *loop);
/* One iteration: wait at most timeout_ms (-1 forever). */
void ev_run_once(struct ev_loop *loop, int timeout_ms);
void ev_stop(struct ev_loop *loop);

/* Monotonic milliseconds. */
long long ev_now_ms(void);

#endif
