#ifndef COMMON_BGSYNC_H
#define COMMON_BGSYNC_H

#include <stdbool.h>
#include <stdint.h>

/* An fsync that runs while the caller does something else: start it,
 * do the other work (typically another fsync), then wait for it. Two
 * fsyncs issued together cost about one disk cache flush where the
 * block layer merges their flushes (measured in bench/RESULTS.md: a
 * file and its directory synced together take half the time of one
 * after the other). It uses Linux AIO (IOCB_CMD_FSYNC/FDSYNC, kernel
 * 4.18 and later); where that is missing or refused, start does the
 * fsync itself and wait only reports its result. Only one operation
 * per process is in flight at a time. */

struct bgsync {
	int fd;
	int error;		/* errno of a finished sync, or 0 */
	bool pending;		/* submitted, not yet waited for */
	uint64_t cb[8];		/* the kernel's control block (struct iocb) */
};

/* Start fsync(fd) (fdatasync with data_only). */
void bgsync_start(struct bgsync *op, int fd, bool data_only);

/* Wait for it; false with errno set if the sync failed. */
bool bgsync_wait(struct bgsync *op);

#endif
