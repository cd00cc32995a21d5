/*
 * safe_file: durable file operations (safe_file.h).
 *
 * The queue, the lookup table builder and the config writer all need the
 * same few steps done right: write every byte (short writes and EINTR),
 * fsync the file, rename it into place, fsync the directory so the rename
 * itself survives a crash. safe_write_file() does all of them with a
 * unique temporary file (mkstemp) next to the target, so a reader sees
 * either the old file or the new one, never a half-written one, and a
 * failure leaves no temporary file behind.
 *
 * Every function returns false (or -1) with errno set; nothing is logged
 * here, the caller logs once with %m.
 *
 * SECURITY: paths come from the configuration or from the caller, never
 * from the network. Temporary files are created with mkstemp (O_EXCL, mode
 * 0600) and only then given their final mode, so a file meant to be
 * private is never briefly readable. safe_lock_file() uses flock(2), which
 * is per open file description: a second open of the same lock file in
 * the same process is refused too, and the lock is released when the
 * process dies, so a crashed holder never leaves a stale lock.
 * safe_mkdirat() is for privileged callers working in directories a
 * less privileged user can write: it never follows a symlink, and the
 * caller changes the directory through the descriptor it returns.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "safe_file.h"
#include "str.h"

bool safe_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (n == 0) {
			errno = EIO;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* The directory part of path: "a/b" -> "a", "b" -> ".", "/b" -> "/". */
static void safe_dirname(const char *path, struct str *dir)
{
	const char *slash = strrchr(path, '/');

	str_clear(dir);
	if (slash == NULL)
		str_append(dir, ".");
	else if (slash == path)
		str_append(dir, "/");
	else
		str_append_n(dir, path, (size_t)(slash - path));
}

/* fsync one directory by name. */
static bool safe_fsync_one_dir(const char *dir)
{
	int fd, saved;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fsync(fd) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	return close(fd) == 0;
}

bool safe_fsync_dir(const char *path)
{
	struct str dir = STR_INIT;
	struct stat st;
	bool ok;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return safe_fsync_one_dir(path);
	safe_dirname(path, &dir);
	ok = safe_fsync_one_dir(str_c(&dir));
	str_release(&dir);
	return ok;
}

bool safe_rename(const char *from, const char *to)
{
	struct str from_dir = STR_INIT, to_dir = STR_INIT;
	bool ok = false;

	if (rename(from, to) < 0)
		return false;
	/* Sync the parents explicitly: "to" may itself be a directory. */
	safe_dirname(from, &from_dir);
	safe_dirname(to, &to_dir);
	if (!safe_fsync_one_dir(str_c(&to_dir)))
		goto out;
	if (strcmp(str_c(&from_dir), str_c(&to_dir)) != 0 &&
	    !safe_fsync_one_dir(str_c(&from_dir)))
		goto out;
	ok = true;
out:
	str_release(&from_dir);
	str_release(&to_dir);
	return ok;
}

/* Write, chmod, fsync and close the temporary file. */
static bool safe_fill_temp(int fd, const void *data, size_t len,
			   mode_t mode)
{
	int saved;

	if (!safe_write_all(fd, data, len) || fchmod(fd, mode) < 0 ||
	    fsync(fd) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	return close(fd) == 0;
}

bool safe_write_file(const char *path, const void *data, size_t len,
		     mode_t mode)
{
	struct str tmp = STR_INIT;
	const char *base = strrchr(path, '/');
	int fd, saved;

	/* ".NAME.XXXXXX" in the same directory: dot files are ignored by
	 * the queue scanners, and rename(2) needs the same filesystem. */
	if (base == NULL) {
		base = path;
	} else {
		str_append_n(&tmp, path, (size_t)(base - path) + 1);
		base++;
	}
	if (*base == '\0') {
		str_release(&tmp);
		errno = EISDIR;
		return false;
	}
	str_printf(&tmp, ".%s.XXXXXX", base);
	fd = mkostemp(tmp.data, O_CLOEXEC);
	if (fd < 0)
		goto fail_nofile;
	if (!safe_fill_temp(fd, data, len, mode) ||
	    !safe_rename(str_c(&tmp), path))
		goto fail;
	str_release(&tmp);
	return true;
fail:
	saved = errno;
	/* After a successful rename the temp name is gone; ENOENT is
	 * harmless then (only the directory fsync failed). */
	(void)unlink(str_c(&tmp));
	errno = saved;
fail_nofile:
	saved = errno;
	str_release(&tmp);
	errno = saved;
	return false;
}

bool safe_read_file(const char *path, struct str *out, size_t max)
{
	size_t start = out->len, total = 0;
	char buf[8192];
	int fd, saved;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n > max - total) {
			errno = EFBIG;
			n = -1;
			break;
		}
		total += (size_t)n;
		str_append_n(out, buf, (size_t)n);
	}
	saved = errno;
	close(fd);
	if (n < 0) {
		/* Leave out as it was: no partial file. */
		str_truncate(out, start);
		errno = saved;
		return false;
	}
	return true;
}

/* Create one directory; an existing directory is fine. */
static bool safe_mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return true;
	if (errno != EEXIST)
		return false;
	if (stat(path, &st) < 0)
		return false;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return false;
	}
	return true;
}

bool safe_mkdir_p(const char *path, mode_t mode)
{
	char *copy, *p;
	bool ok = true;

	if (*path == '\0') {
		errno = ENOENT;
		return false;
	}
	copy = mem_strdup(path);
	for (p = copy + 1; ok && *p != '\0'; p++) {
		if (*p != '/' || p[-1] == '/')
			continue;
		*p = '\0';
		ok = safe_mkdir_one(copy, mode);
		*p = '/';
	}
	if (ok)
		ok = safe_mkdir_one(copy, mode);
	free(copy);
	return ok;
}

int safe_mkdirat(int dirfd, const char *name, mode_t mode, bool *made_r)
{
	bool made;

	if (name[0] == '\0' || strchr(name, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	made = mkdirat(dirfd, name, mode) == 0;
	if (!made && errno != EEXIST)
		return -1;
	if (made_r != NULL)
		*made_r = made;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		      O_CLOEXEC);
}

int safe_lock_file(const char *path)
{
	int fd, saved;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		saved = errno;
		close(fd);
		errno = saved == EAGAIN ? EWOULDBLOCK : saved;
		return -1;
	}
	return fd;
}
