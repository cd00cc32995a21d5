/*
 * queue_spare: finished queue files kept for the next message (queue.h).
 *
 * A mail system creates one queue file per message and removes it a
 * moment later. On Linux file systems that is an inode allocation, an
 * unlink, an eviction that frees the blocks (and discards them where
 * the file system is mounted with discard), per message; on ext4
 * without a journal every allocation also walks past each inode of its
 * group freed in the last minute. So qmgr does not unlink a finished
 * queue file: it renames it into incoming/.spare/ (at most
 * QUEUE_SPARE_MAX of them, each at most QUEUE_SPARE_SIZE_MAX bytes),
 * and smtpd, pickup and qmgr's own bounces take one from there instead
 * of creating a file: lock it, rename it to incoming/ID, overwrite from
 * offset 0, cut to the new length before commit (queue_file.c). qmgr
 * puts a file in the writing mode (QUEUE_MODE_WRITING), so a taken one
 * is an unfinished file from the moment its name is in incoming/; a
 * writer drops from the pool anything else it finds there.
 *
 * Names are ".N", N below QUEUE_SPARE_MAX: qmgr puts with
 * RENAME_NOREPLACE at a slot it believes free (it keeps a picture of
 * the slots, read from the directory when it runs out: the pool's size
 * is bounded without counting); a writer lists the directory once in a
 * while and takes a name by opening it, locking it (flock, LOCK_NB:
 * exactly one writer gets the lock; the others try the next name) and
 * renaming it (a name gone meanwhile: the next). With many writers the
 * pool turns
 * over faster than one writer's list: a name is looked up before it is
 * renamed (a rename between directories takes the file system's rename
 * lock, a lookup of a name another writer took costs a dentry), and a
 * run of names found gone means the list is stale, so it is read again.
 *
 * Crash safety. Putting is a rename that is never synced, like the
 * unlink it replaces: after a crash a finished message may be back in
 * active/ and delivered again (at least once, never lost). A writer's
 * commit syncs the file and incoming/ before anything is acknowledged,
 * as for a new file; before that, a crash may leave the old message's
 * bytes under the new name, which is the same repeated delivery. What
 * must never happen is a committed message overwritten through a spare
 * name that a crash left behind: qmgr empties the pool when it starts
 * (so nothing from before a crash or restart is reused), and a writer
 * takes only a regular file it owns with exactly one link.
 *
 * SECURITY: a reused inode carries the next message, so no process may
 * keep a descriptor of a queue file past its delivery: local hands its
 * per-owner workers a copy of the content (local_worker.c), never the
 * queue file; the smtp and lmtp clients run as the mail owner, who can
 * read the queue anyway. The pool is in incoming/ (mode 0700, the mail
 * owner's), which smtpd's sandbox already allows.
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
#include <unistd.h>

#include "msg.h"
#include "queue.h"
#include "str.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

#define SPARE_PUT_TRIES	4	/* occupied slots tried before an unlink */
#define SPARE_PUT_FEW	8	/* free slots after a list: nearly full */
#define SPARE_PUT_SKIP	32	/* puts that unlink after a nearly full list */
#define SPARE_TAKE_TRIES 8	/* renames tried before creating a file */
#define SPARE_MISSES	4	/* names found gone before a new list */
#define SPARE_LISTS	3	/* lists read by one take at most */
#define SPARE_NAME_MAX	8	/* ".255" and a NUL fit */

/* A writer's list of names seen in the pool: spare_count names, taken
 * from spare_first on (wrapping), spare_taken of them so far. */
static char spare_names[QUEUE_SPARE_MAX][SPARE_NAME_MAX];
static int spare_count, spare_first, spare_taken;
static unsigned spare_lists;	/* varies where the next list starts */

static bool spare_name_valid(const char *name)
{
	size_t len = strlen(name);

	return name[0] == '.' && len >= 2 && len < SPARE_NAME_MAX &&
		strspn(name + 1, "0123456789") == len - 1;
}

/* Call fn for each pool name in the directory; false if it cannot be
 * read. */
static bool spare_walk(void (*fn)(const char *name, void *ctx), void *ctx)
{
	struct dirent *de;
	DIR *d = opendir(QUEUE_SPARE);

	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (spare_name_valid(de->d_name))
			fn(de->d_name, ctx);
	(void)closedir(d);
	return true;
}

static void spare_list_one(const char *name, void *ctx)
{
	if (spare_count < QUEUE_SPARE_MAX)
		memcpy(spare_names[spare_count++], name, strlen(name) + 1);
}

/* Refill the list from the directory. Writers that list at the same
 * moment start at different names (by pid). */
static void spare_list(void)
{
	spare_count = spare_taken = 0;
	(void)spare_walk(spare_list_one, NULL);
	spare_first = spare_count > 0 ?
		(int)((msg_getpid() + spare_lists++) % spare_count) : 0;
}

int queue_spare_take(const char *to, off_t *old_size_r)
{
	char from[sizeof(QUEUE_SPARE) + SPARE_NAME_MAX + 1];
	int renames = 0, lists = 0, misses = 0;
	struct stat st;
	int fd;

	while (renames < SPARE_TAKE_TRIES) {
		if (spare_taken == spare_count || misses == SPARE_MISSES) {
			if (lists++ == SPARE_LISTS)
				return -1;
			spare_list();
			misses = 0;
			if (spare_count == 0)
				return -1;
		}
		if (!str_snprintf(from, sizeof(from), "%s/%s", QUEUE_SPARE,
				  spare_names[(spare_first + spare_taken++) %
					      spare_count]))
			return -1;
		/* Gone already: another writer took it since the list. */
		if (fstatat(AT_FDCWD, from, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			misses++;
			continue;
		}
		/* Only what qmgr puts, a regular file in the writing mode,
		 * is taken; anything else is dropped from the pool. */
		if (!S_ISREG(st.st_mode) ||
		    (st.st_mode & 07777) != QUEUE_MODE_WRITING) {
			(void)unlink(from);
			continue;
		}
		/* Locked before it is renamed: under its final name it is
		 * a live writer's (qmgr's sweep leaves it alone), and a
		 * writer that finds it locked leaves it to its taker. */
		fd = open(from, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			misses++;
			continue;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			(void)close(fd);
			misses++;
			continue;
		}
		/* And of ours, with one link (a crash may leave a spare's
		 * name beside a committed message's). */
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_nlink != 1 || st.st_uid != geteuid() ||
		    (st.st_mode & 07777) != QUEUE_MODE_WRITING) {
			(void)close(fd);
			(void)unlink(from);
			continue;
		}
		renames++;
		if (rename(from, to) != 0) {
			(void)close(fd);
			misses++;	/* the pool was emptied meanwhile */
			continue;
		}
		misses = 0;
		/* Young again: qmgr sweeps unfinished files by their age
		 * (a small message writes nothing before its commit). */
		(void)futimens(fd, NULL);
		*old_size_r = st.st_size;
		return fd;
	}
	return -1;
}

/* qmgr's picture of the pool's slots. qmgr is the only process that
 * puts, and writers only ever take names away, so a slot clear here is
 * free unless a list is due: a put finds a free slot at once instead of
 * trying occupied ones (each a failed rename under the file system's
 * rename lock). When every slot looks taken the directory is read
 * again; if it is still (nearly) full, the next puts remove their files
 * without looking, for a while. */
static unsigned char spare_used[QUEUE_SPARE_MAX];
static bool spare_used_known;
static unsigned spare_slot, spare_skip;

static void spare_used_one(const char *name, void *ctx)
{
	unsigned long n = strtoul(name + 1, NULL, 10);
	unsigned *nfree = ctx;

	if (n < QUEUE_SPARE_MAX && !spare_used[n]) {
		spare_used[n] = 1;
		--*nfree;
	}
}

/* Read the picture from the directory; the number of free slots. */
static unsigned spare_used_list(void)
{
	unsigned nfree = QUEUE_SPARE_MAX;

	memset(spare_used, 0, sizeof(spare_used));
	spare_used_known = true;
	(void)spare_walk(spare_used_one, &nfree);
	return nfree;
}

/* The next slot believed free after the last one used; -1 if none. */
static int spare_free_slot(void)
{
	for (unsigned i = 1; i <= QUEUE_SPARE_MAX; i++) {
		unsigned s = (spare_slot + i) % QUEUE_SPARE_MAX;

		if (!spare_used[s])
			return (int)s;
	}
	return -1;
}

bool queue_spare_put(const char *path, int fd, off_t size)
{
	char to[sizeof(QUEUE_SPARE) + SPARE_NAME_MAX + 1];
	int slot;

	if (size < 0 || size > QUEUE_SPARE_SIZE_MAX)
		return false;
	if (spare_skip > 0) {
		spare_skip--;
		return false;
	}
	/* The pool holds only files in the writing mode: a taken one is
	 * under its final name in incoming/ at once (queue_file.c). */
	if ((fd >= 0 ? fchmod(fd, QUEUE_MODE_WRITING) :
	     chmod(path, QUEUE_MODE_WRITING)) != 0)
		return false;
	for (int tries = 0; tries < SPARE_PUT_TRIES; tries++) {
		slot = spare_used_known ? spare_free_slot() : -1;
		if (slot < 0) {
			if (spare_used_list() < SPARE_PUT_FEW)
				spare_skip = SPARE_PUT_SKIP;
			slot = spare_free_slot();
			if (slot < 0)
				return false;
		}
		spare_slot = (unsigned)slot;
		if (!str_snprintf(to, sizeof(to), "%s/.%d", QUEUE_SPARE, slot))
			return false;
		if (renameat2(AT_FDCWD, path, AT_FDCWD, to,
			      RENAME_NOREPLACE) == 0) {
			spare_used[slot] = 1;
			return true;
		}
		if (errno == EEXIST) {
			/* Put by someone else: the picture is stale. */
			spare_used_known = false;
			continue;
		}
		/* ENOENT: the file is gone already (correo queue
		 * delete), or the pool is (its start said so). */
		if (errno != ENOENT)
			msg_warn("keep %s as %s: %m (removing it instead)",
				 path, to);
		return false;
	}
	return false;
}

void queue_spare_clear(void)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if (mkdir(QUEUE_SPARE, 0700) != 0 && errno != EEXIST) {
		msg_warn("mkdir %s: %m", QUEUE_SPARE);
		return;
	}
	if ((d = queue_dir_open(QUEUE_SPARE)) == NULL) {
		msg_warn("open %s: %m", QUEUE_SPARE);
		return;
	}
	fd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) != 0 && errno != ENOENT)
			msg_warn("remove %s/%s: %m", QUEUE_SPARE, de->d_name);
	}
	(void)closedir(d);
	spare_used_known = false;
	spare_skip = 0;
}
