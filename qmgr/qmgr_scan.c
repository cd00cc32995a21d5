/*
 * qmgr_scan: feeding the active queue (qmgr.h).
 *
 * At start, files left in active/ by a stopped or killed qmgr go back to
 * incoming/ (their finished recipients are already marked, so only the
 * rest is delivered again). A scan takes incoming/ in ID order (which is
 * arrival order) and, when asked, the deferred/ files whose next attempt
 * time (their mtime) has come, moving each to active/ until
 * qmgr_message_active_limit messages are in memory. incoming/ is taken
 * QMGR_SCAN_BATCH messages at a time from one listing, the event loop
 * running in between: a flood of new mail taken in one go kept qmgr
 * from reading the agents' replies (and sending them more work) for
 * tens of milliseconds while they sat idle.
 *
 * A writer that dies while it writes (smtpd or sendmail killed, a disk
 * that fails) leaves its unfinished file: in incoming/ an ID in the
 * writing mode (queue_file.c), in maildrop/ a ".ID". Nothing was
 * acknowledged for it (a queue file counts once it is committed), so a
 * sweep at start and then every QMGR_SWEEP_EVERY seconds removes those
 * older than QMGR_TEMP_MAX_AGE, far longer than any live writer takes
 * (smtpd's DATA and pickup's copy both run under their own timeouts),
 * and logs each. One in incoming/ is removed only if its lock is free:
 * a live writer, however slow, holds it until its commit is done, so
 * the sweep can never remove a file whose commit is under way.
 *
 * Interface: qmgr_scan_recover, qmgr_scan, qmgr_scan_sweep.
 *
 * SECURITY: only names that are valid queue IDs are touched
 * (queue_scan), so a stray file cannot make qmgr rename arbitrary
 * paths.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "metrics_client.h"
#include "msg.h"
#include "qmgr.h"

#define QMGR_SCAN_BATCH 16
#define QMGR_TEMP_MAX_AGE (60 * 60)
#define QMGR_SWEEP_EVERY (10 * 60)

struct qmgr_idlist {
	char **ids;
	size_t count;
	size_t next;		/* the first not yet taken */
	bool due_only;		/* deferred/: only files now due */
	time_t now;
	const char *dir;
};

static bool qmgr_collect(const char *id, void *ctx)
{
	struct qmgr_idlist *l = ctx;
	struct stat st;
	char path[256];

	if (l->due_only) {
		if (!str_snprintf(path, sizeof(path), "%s/%s", l->dir, id) ||
		    stat(path, &st) != 0 || st.st_mtime > l->now)
			return true;
	}
	l->ids = mem_array_realloc(l->ids, l->count + 1, sizeof(*l->ids));
	l->ids[l->count++] = mem_strdup(id);
	return true;
}

static int qmgr_idcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void qmgr_idlist_free(struct qmgr_idlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		mem_free(l->ids[i]);
	mem_free(l->ids);
	l->count = 0;
}

static void qmgr_list(struct qmgr_idlist *l, const char *dir, bool due_only)
{
	memset(l, 0, sizeof(*l));
	l->dir = dir;
	l->due_only = due_only;
	l->now = time(NULL);
	if (queue_scan(dir, qmgr_collect, l) < 0)
		msg_warn("scan %s: %m", dir);
	if (l->count > 1)
		qsort(l->ids, l->count, sizeof(*l->ids), qmgr_idcmp);
}

/* A file name a dead writer may have left in dir: ".ID" anywhere, and
 * in incoming/ an ID still in the writing mode (queue_file.c). */
static bool qmgr_sweep_name(const char *dir, int dir_fd, const char *name)
{
	if (name[0] == '.')
		return queue_id_valid(name + 1);
	return strcmp(dir, QUEUE_INCOMING) == 0 && queue_id_valid(name) &&
		queue_file_writing(dir_fd, name);
}

/* Is the unfinished file name in dir_fd its writer's still? A writer in
 * incoming/ holds a lock on its file from before the name is there
 * until its commit is done; a dead one's lock went with it. Other
 * writers (sendmail's maildrop/ files) are judged by age alone. */
static bool qmgr_sweep_live(int dir_fd, const char *name)
{
	int fd;
	bool live;

	if (name[0] == '.')
		return false;
	fd = openat(dir_fd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
	if (fd < 0)
		return true;	/* gone, or not ours: leave it */
	live = flock(fd, LOCK_EX | LOCK_NB) != 0;
	(void)close(fd);
	return live;
}

/* Remove dir's unfinished files older than QMGR_TEMP_MAX_AGE whose
 * writer is gone. Only names of queue IDs are looked at, through the
 * directory's descriptor, never following a symlink. */
static void qmgr_sweep_dir(const char *dir, time_t now)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((d = queue_dir_open(dir)) == NULL)
		return;
	fd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (!qmgr_sweep_name(dir, fd, de->d_name))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) ||
		    now - st.st_mtime < QMGR_TEMP_MAX_AGE ||
		    qmgr_sweep_live(fd, de->d_name))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			msg_info("%s: removed %s/%s, a temporary file left by a"
				 " writer that did not finish (%lld s old)",
				 de->d_name + (de->d_name[0] == '.'), dir,
				 de->d_name, (long long)(now - st.st_mtime));
		else if (errno != ENOENT)
			msg_warn("remove %s/%s: %m", dir, de->d_name);
	}
	(void)closedir(d);
}

void qmgr_scan_sweep(bool force)
{
	static time_t last;
	time_t now = time(NULL);

	if (!force && now - last < QMGR_SWEEP_EVERY)
		return;
	last = now;
	qmgr_sweep_dir(QUEUE_INCOMING, now);
	qmgr_sweep_dir(QUEUE_MAILDROP, now);
}

void qmgr_scan_recover(void)
{
	struct qmgr_idlist l;

	qmgr_list(&l, QUEUE_ACTIVE, false);
	for (size_t i = 0; i < l.count; i++)
		if (!queue_move(l.ids[i], QUEUE_ACTIVE, QUEUE_INCOMING))
			msg_warn("%s: move to %s: %m", l.ids[i],
				 QUEUE_INCOMING);
	if (l.count > 0)
		msg_info("recovered %zu messages from %s/", l.count,
			 QUEUE_ACTIVE);
	qmgr_idlist_free(&l);
}

/* dir/ID -> active/ID. A plain rename, no directory fsync: after a crash
 * the file is in one directory or the other, and both are scanned, so
 * syncing would only cost time (Postfix does the same). */
static bool qmgr_scan_move(const char *id, const char *dir)
{
	char from[256], to[256];

	if (!str_snprintf(from, sizeof(from), "%s/%s", dir, id) ||
	    !str_snprintf(to, sizeof(to), "%s/%s", QUEUE_ACTIVE, id)) {
		errno = ENAMETOOLONG;
		return false;
	}
	return rename(from, to) == 0;
}

/* Move l's IDs from dir into active/ while there is room, at most max
 * of them (0: no limit). */
static void qmgr_take_some(struct qmgr_idlist *l, const char *dir,
			   size_t max)
{
	size_t taken = 0;

	for (; l->next < l->count; l->next++) {
		const char *id = l->ids[l->next];

		if (qmgr.nmsgs >= (size_t)qmgr.active_limit ||
		    (max > 0 && taken >= max))
			break;
		if (!qmgr_scan_move(id, dir)) {
			if (errno != ENOENT)
				msg_warn("%s: move to %s: %m", id,
					 QUEUE_ACTIVE);
			continue;
		}
		taken++;
		if (strcmp(dir, QUEUE_INCOMING) == 0)
			metrics_count("correo_messages_received_total", NULL,
				      1);
		qmgr_msg_start(id, strcmp(dir, QUEUE_INCOMING) == 0);
	}
}

/* Move the listed IDs from dir into active/ while there is room.
 * Returns false if some were left. */
static bool qmgr_take(const char *dir, bool due_only)
{
	struct qmgr_idlist l;
	bool all;

	qmgr_list(&l, dir, due_only);
	qmgr_take_some(&l, dir, 0);
	all = l.next >= l.count;
	qmgr_idlist_free(&l);
	return all;
}

bool qmgr_scan(bool deferred, bool flush)
{
	/* What is left of the last listing of incoming/; files that went
	 * away meanwhile fail to move (ENOENT) and are skipped, newer ones
	 * are in the next listing. */
	static struct qmgr_idlist in;
	static unsigned long in_wakeups;	/* qmgr.wakeups at its listing */
	bool more;

	/* Deferred first so old mail is not starved by a flood of new. */
	if (deferred) {
		(void)qmgr_take(QUEUE_DEFERRED, !flush);
		qmgr_scan_sweep(false);
	}
	if (in.next >= in.count) {
		qmgr_idlist_free(&in);
		in_wakeups = qmgr.wakeups;
		qmgr_list(&in, QUEUE_INCOMING, false);
	}
	qmgr_take_some(&in, QUEUE_INCOMING, QMGR_SCAN_BATCH);
	/* A wake-up that came while the listing was older than the file
	 * it announced was spent on this listing: once it is used up, list
	 * again, or that file waits for the next wake-up (with nothing
	 * else arriving, the periodic queue run). */
	more = in.next < in.count || in_wakeups != qmgr.wakeups;
	qmgr.incoming_pending = in.count - in.next;
	/* Stopped by the active limit: a finished message rescans. */
	qmgr.incoming_left = more &&
		qmgr.nmsgs >= (size_t)qmgr.active_limit;
	return more && !qmgr.incoming_left;
}
