/*
 * bgsync: an fsync in the background through Linux AIO (bgsync.h).
 *
 * One AIO context per process, made on first use (io_setup). A sync is
 * one io_submit of an IOCB_CMD_FSYNC or IOCB_CMD_FDSYNC control block
 * (the kernel runs it on a worker: same semantics as fsync(2)) and one
 * io_getevents. Any failure to set up or submit falls back to a plain
 * fsync in bgsync_start, so callers never see the difference except in
 * time. The raw system calls are used (no libaio).
 *
 * Interface: bgsync_start, bgsync_wait.
 *
 * SECURITY: no input; the sandbox profiles of the processes that
 * commit files allow io_setup, io_submit and io_getevents (legacy AIO,
 * not io_uring).
 */
#include "config.h"

#include <errno.h>
#include <linux/aio_abi.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bgsync.h"
#include "msg.h"

#define BGSYNC_EVENTS 4

static aio_context_t bgsync_ctx;
static int bgsync_state;	/* 0 not tried, 1 ready, -1 unavailable */

_Static_assert(sizeof(((struct bgsync *)0)->cb) >= sizeof(struct iocb),
	       "struct bgsync: cb too small for struct iocb");

static bool bgsync_setup(void)
{
	if (bgsync_state == 0)
		bgsync_state = syscall(SYS_io_setup, BGSYNC_EVENTS,
				       &bgsync_ctx) == 0 ? 1 : -1;
	return bgsync_state == 1;
}

static void bgsync_now(struct bgsync *op, bool data_only)
{
	int ret = data_only ? fdatasync(op->fd) : fsync(op->fd);

	op->error = ret == 0 ? 0 : (errno != 0 ? errno : EIO);
}

void bgsync_start(struct bgsync *op, int fd, bool data_only)
{
	struct iocb *cb = (struct iocb *)op->cb;
	struct iocb *cbs[1] = { cb };

	op->fd = fd;
	op->error = 0;
	op->pending = false;
	if (!bgsync_setup()) {
		bgsync_now(op, data_only);
		return;
	}
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = data_only ? IOCB_CMD_FDSYNC : IOCB_CMD_FSYNC;
	cb->aio_fildes = (uint32_t)fd;
	cb->aio_data = (uint64_t)(uintptr_t)op;
	if (syscall(SYS_io_submit, bgsync_ctx, 1L, cbs) == 1) {
		op->pending = true;
		return;
	}
	/* EINVAL: this file system cannot sync asynchronously. */
	bgsync_now(op, data_only);
}

bool bgsync_wait(struct bgsync *op)
{
	struct io_event ev;
	long n;

	while (op->pending) {
		n = syscall(SYS_io_getevents, bgsync_ctx, 1L, 1L, &ev, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			msg_fatal("io_getevents: %m");
		if (ev.data != (uint64_t)(uintptr_t)op)
			msg_panic("bgsync: event of another operation");
		op->pending = false;
		op->error = ev.res == 0 ? 0 : (int)-ev.res;
	}
	if (op->error != 0) {
		errno = op->error;
		return false;
	}
	return true;
}
