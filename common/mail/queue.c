/*
 * queue: queue IDs, the queue directory table, moving files between
 * queue directories and scanning them (queue.h). The file format itself
 * lives in queue_file.c.
 *
 * A queue ID is QUEUE_ID_LEN characters from a 32-letter alphabet whose
 * ASCII order equals its digit order (0-9 then upper-case letters without
 * I, L, O, U), so IDs compare with strcmp like the numbers they encode:
 *
 *   11 chars  microseconds since the epoch (55 bits: good until ~3100)
 *    5 chars  the process ID (25 bits; Linux pids stop at 2^22)
 *    2 chars  a per-process counter within one microsecond (1024 values)
 *
 * Within a process IDs strictly increase: the time never goes backwards
 * (a clock step back reuses the last time and bumps the counter), and
 * when the counter runs out we wait for the next microsecond. Between
 * processes the pid keeps IDs apart; a forked child gets its own pid.
 * A collision could still happen if a pid is reused within the same
 * microsecond after a clock step; the writer creates files with O_EXCL
 * and takes a new ID when that happens.
 *
 * SECURITY: IDs are used as file names; queue_id_valid() admits only the
 * alphabet above, so a validated ID never contains '/' or starts with a
 * dot. Queue directories are owned by the mail owner; their modes are in
 * queue_dirs[].
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "safe_file.h"
#include "str.h"

#define QUEUE_ID_TIME_LEN	11
#define QUEUE_ID_PID_LEN	5
#define QUEUE_ID_SEQ_LEN	2
#define QUEUE_ID_SEQ_MAX	(1u << (5 * QUEUE_ID_SEQ_LEN))

static const char queue_id_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

const struct queue_dir_spec queue_dirs[] = {
	{ QUEUE_INCOMING, 0700 },
	{ QUEUE_ACTIVE, 0700 },
	{ QUEUE_DEFERRED, 0700 },
	{ QUEUE_HOLD, 0700 },
	{ QUEUE_CORRUPT, 0700 },
	{ QUEUE_DEFER, 0700 },
	{ QUEUE_MAILDROP, 01730 },
	{ QUEUE_PRIVATE, 0700 },
	{ QUEUE_PUBLIC, 0710 },
	{ QUEUE_PID, 0755 },
	{ NULL, 0 },
};

static void queue_id_put(char *out, uint64_t value, size_t len)
{
	while (len-- > 0) {
		out[len] = queue_id_alphabet[value & 31];
		value >>= 5;
	}
}

static uint64_t queue_id_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		msg_panic("clock_gettime: %m");
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void queue_id_new(char id[QUEUE_ID_SIZE])
{
	static uint64_t last_usec;
	static unsigned seq;
	uint64_t now = queue_id_now();

	if (now > last_usec) {
		last_usec = now;
		seq = 0;
	} else if (++seq >= QUEUE_ID_SEQ_MAX) {
		/* 1024 IDs in one microsecond: wait for the clock. If it was
		 * stepped back, step our own clock forward instead. */
		while ((now = queue_id_now()) == last_usec)
			;
		last_usec = now > last_usec ? now : last_usec + 1;
		seq = 0;
	}
	queue_id_put(id, last_usec, QUEUE_ID_TIME_LEN);
	queue_id_put(id + QUEUE_ID_TIME_LEN, (uint64_t)msg_getpid(),
		     QUEUE_ID_PID_LEN);
	queue_id_put(id + QUEUE_ID_TIME_LEN + QUEUE_ID_PID_LEN, seq,
		     QUEUE_ID_SEQ_LEN);
	id[QUEUE_ID_LEN] = '\0';
}

bool queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++) {
		if (s[i] == '\0' || strchr(queue_id_alphabet, s[i]) == NULL)
			return false;
	}
	return s[i] == '\0';
}

bool queue_id_time(const char *id, struct timespec *ts_r)
{
	uint64_t usec = 0;
	size_t i;

	if (!queue_id_valid(id))
		return false;
	for (i = 0; i < QUEUE_ID_TIME_LEN; i++) {
		usec = usec << 5 |
			(uint64_t)(strchr(queue_id_alphabet, id[i]) -
				   queue_id_alphabet);
	}
	ts_r->tv_sec = (time_t)(usec / 1000000);
	ts_r->tv_nsec = (long)(usec % 1000000) * 1000;
	return true;
}

bool queue_move(const char *id, const char *from_dir, const char *to_dir)
{
	char from[256], to[256];

	if (!queue_id_valid(id)) {
		errno = EINVAL;
		return false;
	}
	if (!str_snprintf(from, sizeof(from), "%s/%s", from_dir, id) ||
	    !str_snprintf(to, sizeof(to), "%s/%s", to_dir, id)) {
		errno = ENAMETOOLONG;
		return false;
	}
	if (rename(from, to) < 0)
		return false;
	return safe_fsync_dir(to_dir);
}

DIR *queue_dir_open(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
	}
	return d;
}

bool queue_file_writing(int dir_fd, const char *name)
{
	struct stat st;

	return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		(st.st_mode & 07777) == QUEUE_MODE_WRITING;
}

int queue_scan(const char *dir, bool (*cb)(const char *id, void *ctx),
	       void *ctx)
{
	bool incoming = strcmp(dir, QUEUE_INCOMING) == 0;
	DIR *d;
	struct dirent *de;
	int saved, n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (!queue_id_valid(de->d_name))
			continue;
		/* Still being written: not a message yet. */
		if (incoming && queue_file_writing(dirfd(d), de->d_name))
			continue;
		n++;
		if (!cb(de->d_name, ctx)) {
			errno = 0;
			break;
		}
	}
	saved = errno;
	(void)closedir(d);
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	return n;
}

bool queue_path_valid(const char *path, const char *id)
{
	static const char *const dirs[] = {
		QUEUE_ACTIVE, QUEUE_INCOMING, QUEUE_DEFERRED, QUEUE_HOLD, NULL
	};
	const char *slash = strchr(path, '/');

	if (slash == NULL || strcmp(slash + 1, id) != 0 ||
	    !queue_id_valid(id))
		return false;
	for (size_t i = 0; dirs[i] != NULL; i++)
		if (strlen(dirs[i]) == (size_t)(slash - path) &&
		    strncmp(path, dirs[i], (size_t)(slash - path)) == 0)
			return true;
	return false;
}
