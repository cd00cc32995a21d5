#ifndef COMMON_GROUP_SYNC_H
#define COMMON_GROUP_SYNC_H

#include <stdbool.h>
#include <stdint.h>

/* Group commit across processes: one fsync of a directory (or of any
 * set of files) covering the changes several processes made to it at
 * about the same moment.
 *
 * Each participant makes its change (a rename or link into the
 * directory, an append to a file), takes group_sync_mark() once the
 * change is complete, and calls group_sync_run(). Under an exclusive
 * flock of the group's state file it reads when the last successful
 * sync *started*; if that was after its mark, the change was already
 * made when that sync began, so the sync covered it and there is
 * nothing to do. Otherwise it becomes the leader: it notes the time,
 * runs the sync, and on success records that start time. Everyone who
 * queued on the lock meanwhile is covered by the leader's sync, so a
 * burst of N commits costs about two syncs instead of N.
 *
 * Nothing is reported done without a sync that began after the change
 * (a leader that fails or dies records nothing; the next one syncs
 * again). The record carries the kernel's boot id, so a time from
 * before a reboot never counts; where the boot id cannot be read (call
 * group_sync_prepare before a chroot or sandbox hides /proc) every
 * caller syncs for itself. */

/* Read the boot id now (before a chroot or sandbox). Optional: the
 * first group_sync_run reads it otherwise. */
void group_sync_prepare(void);

/* The kernel's boot id (16 bytes), or NULL where it cannot be read. */
const unsigned char *group_sync_boot_id(void);

/* Open (creating it, mode 0600) the state file name in directory dirfd
 * (AT_FDCWD: relative to the working directory), never following a
 * symlink. -1 with errno set on failure: callers then sync alone. */
int group_sync_open(int dirfd, const char *name);

/* Now, in the clock the records use; take it after the change. */
uint64_t group_sync_mark(void);

/* Make sure a sync that started after mark has completed: run
 * sync(ctx) unless another process's sync covered the change. state_fd
 * -1 always runs sync. covered_r (if not NULL) says whether another
 * process's sync was used. False (errno set) if the sync failed. */
bool group_sync_run(int state_fd, uint64_t mark, bool (*sync)(void *ctx),
		    void *ctx, bool *covered_r);

#endif
