/*
 * group_sync: group commit across processes (group_sync.h).
 *
 * The state file holds one 32-byte record: "GSYNC1\n\0", the 16-byte
 * boot id (/proc/sys/kernel/random/boot_id, as bytes) and the
 * CLOCK_MONOTONIC start, in nanoseconds, of the last sync that
 * succeeded. It is read and written only under flock(LOCK_EX), which
 * also makes the sync itself one at a time: while a leader syncs, the
 * others wait on the lock, and when they get it the leader's record
 * covers every one of them whose change was complete before it began.
 *
 * Why the start time and not a counter: a participant needs no step
 * before its change and only one lock round trip after it. Why the
 * boot id: CLOCK_MONOTONIC restarts at boot, so a record from before a
 * reboot could otherwise look newer than a change made after it (the
 * record itself is never synced and may survive a crash in any state;
 * a record of another boot, of the wrong size or with a start in the
 * future is ignored).
 *
 * Interface: group_sync_prepare, group_sync_open, group_sync_mark,
 * group_sync_run.
 *
 * SECURITY: the state file is opened O_NOFOLLOW in a directory of the
 * caller's (incoming/ of the queue, a Maildir folder of the mailbox
 * owner); its content is only ever compared, so a forged record can at
 * worst skip syncs of the files of whoever can write it, who can
 * delete those files anyway.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "group_sync.h"
#include "msg.h"
#include "safe_file.h"
#include "str.h"

#define GS_MAGIC "GSYNC1\n"	/* 8 bytes with its NUL */
#define GS_RECORD 32

static unsigned char gs_boot[16];
static int gs_boot_state;	/* 0 not read, 1 have it, -1 unreadable */

void group_sync_prepare(void)
{
	char text[64];
	ssize_t n;
	int fd, k = 0;

	if (gs_boot_state != 0)
		return;
	gs_boot_state = -1;
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n" */
	for (const char *p = text; *p != '\0' && *p != '\n'; p++) {
		int hi, lo;

		if (*p == '-')
			continue;
		hi = str_hex_digit(p[0]);
		lo = p[1] != '\0' ? str_hex_digit(p[1]) : -1;
		if (hi < 0 || lo < 0 || k >= (int)sizeof(gs_boot))
			return;
		gs_boot[k++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	if (k == (int)sizeof(gs_boot))
		gs_boot_state = 1;
}

const unsigned char *group_sync_boot_id(void)
{
	group_sync_prepare();
	return gs_boot_state == 1 ? gs_boot : NULL;
}

/* A failing state file only costs syncs (each commit syncs alone), but
 * the I/O error behind it is worth a word: once per process, not per
 * message. */
static void gs_warn(const char *what, const char *name)
{
	static bool warned;

	if (warned)
		return;
	warned = true;
	msg_warn("group sync state %s: %s: %m (each commit syncs alone)",
		 name, what);
}

int group_sync_open(int dirfd, const char *name)
{
	int fd = safe_open_noatime(dirfd, name, O_RDWR | O_CREAT |
				   O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 && errno != ENOENT)
		gs_warn("open", name);
	return fd;
}

uint64_t group_sync_mark(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The recorded start of the last good sync of this boot, or 0. */
static uint64_t gs_read(int fd, uint64_t now)
{
	unsigned char rec[GS_RECORD];
	uint64_t start;

	if (pread(fd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec) ||
	    memcmp(rec, GS_MAGIC, 8) != 0 ||
	    memcmp(rec + 8, gs_boot, sizeof(gs_boot)) != 0)
		return 0;
	memcpy(&start, rec + 24, sizeof(start));
	return start <= now ? start : 0;
}

static void gs_write(int fd, uint64_t start)
{
	unsigned char rec[GS_RECORD];

	memcpy(rec, GS_MAGIC, 8);
	memcpy(rec + 8, gs_boot, sizeof(gs_boot));
	memcpy(rec + 24, &start, sizeof(start));
	/* Only an optimisation rides on it: a failed write makes the next
	 * participant sync again. */
	if (pwrite(fd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec))
		gs_warn("write", "file");
}

static int gs_flock(int fd, int op)
{
	int ret;

	while ((ret = flock(fd, op)) < 0 && errno == EINTR)
		;
	return ret;
}

bool group_sync_run(int state_fd, uint64_t mark, bool (*sync)(void *ctx),
		    void *ctx, bool *covered_r)
{
	uint64_t start;
	bool ok;
	int saved;

	if (covered_r != NULL)
		*covered_r = false;
	group_sync_prepare();
	if (state_fd < 0 || gs_boot_state != 1 ||
	    gs_flock(state_fd, LOCK_EX) < 0)
		return sync(ctx);
	start = group_sync_mark();
	if (gs_read(state_fd, start) > mark) {
		(void)gs_flock(state_fd, LOCK_UN);
		if (covered_r != NULL)
			*covered_r = true;
		return true;
	}
	ok = sync(ctx);
	saved = errno;
	if (ok)
		gs_write(state_fd, start);
	(void)gs_flock(state_fd, LOCK_UN);
	errno = saved;
	return ok;
}
