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
 * process dies, so a crashed holder never leaves a stale lock; it never
 * follows a symlink (O_NOFOLLOW).
 *
 * Directories are walked one component at a time (safe_walk): openat
 * with O_NOFOLLOW|O_DIRECTORY from a descriptor, mkdirat below it, fchown
 * on the new directory's descriptor, so a symlink planted by a user who
 * owns part of the tree (vmail below virtual_mailbox_base, the correo
 * user in the queue) never redirects root's mkdir or chown (the
 * CVE-2008-2936 class). safe_mkdir_p and safe_open_dir take absolute
 * paths from the configuration and follow a symlink only if root (or
 * the caller's own uid) owns it and its directory, which nobody else can
 * write (/var/run -> /run; a user's ~/Maildir link for local);
 * safe_mkdir_at follows none. safe_open_regular opens files named by
 * administrators' tables (:include:) without blocking (a FIFO) and
 * refuses symlinks, non-regular and world-writable files.
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
#include <sys/uio.h>
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

bool safe_writev_all(int fd, const struct iovec *iov, int iovcnt)
{
	struct iovec left[SAFE_IOV_MAX];
	int first = 0;

	if (iovcnt < 0 || iovcnt > SAFE_IOV_MAX) {
		errno = EINVAL;
		return false;
	}
	memcpy(left, iov, (size_t)iovcnt * sizeof(*iov));
	while (first < iovcnt) {
		ssize_t n = writev(fd, left + first, iovcnt - first);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (n == 0 && left[first].iov_len > 0) {
			errno = EIO;
			return false;
		}
		/* Skip what was written, the empty parts with it. */
		for (size_t done = (size_t)n; first < iovcnt; first++) {
			if (left[first].iov_len > done) {
				left[first].iov_base =
					(char *)left[first].iov_base + done;
				left[first].iov_len -= done;
				break;
			}
			done -= left[first].iov_len;
		}
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

int safe_open_noatime(int dirfd, const char *path, int flags, mode_t mode)
{
	int fd = openat(dirfd, path, flags | O_NOATIME, mode);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, path, flags, mode);
	return fd;
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
	int fd, saved;
	bool ok;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = safe_read_fd(fd, out, max);
	saved = errno;
	close(fd);
	errno = saved;
	return ok;
}

char *safe_read_text(const char *path, size_t max, char **error_r)
{
	struct str buf = STR_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0) {
		*error_r = str_dup_printf("%s: cannot open: %s", path,
					  strerror(errno));
		return NULL;
	}
	ok = safe_read_fd(fd, &buf, max);
	if (!ok)
		*error_r = errno == EFBIG ?
			str_dup_printf("%s: larger than %zu bytes", path, max) :
			str_dup_printf("%s: read: %s", path, strerror(errno));
	close(fd);
	if (ok && buf.len > 0 && memchr(buf.data, '\0', buf.len) != NULL) {
		*error_r = str_dup_printf("%s: contains a NUL byte", path);
		ok = false;
	}
	if (!ok) {
		str_release(&buf);
		return NULL;
	}
	str_append(&buf, "");
	return str_steal(&buf);
}

/* May the symlink name in the directory dirfd be followed? Only when
 * root or we ourselves made it: the link and the directory holding it
 * (which nobody else may write) belong to root or to our effective uid.
 * So root follows the administrator's links (/var/run -> /run) and no
 * one else's, and local, working as a mailbox owner, follows that
 * owner's own links (~/Maildir -> /data/...), which give it nothing the
 * owner could not do anyway. */
static bool safe_trusted_link(int dirfd, const char *name)
{
	struct stat dir, link;
	uid_t me = geteuid();

	return fstat(dirfd, &dir) == 0 &&
	       (dir.st_uid == 0 || dir.st_uid == me) &&
	       (dir.st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
	       fstatat(dirfd, name, &link, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISLNK(link.st_mode) &&
	       (link.st_uid == 0 || link.st_uid == me);
}

/* Open the directory name below dirfd without following a symlink
 * (unless trusted_links and safe_trusted_link say so). A symlink fails
 * with ELOOP, anything else that is not a directory with ENOTDIR. */
static int safe_open_step(int dirfd, const char *name, bool trusted_links)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY;
	struct stat st;
	int fd, saved;

	fd = openat(dirfd, name, flags | O_NOFOLLOW);
	if (fd >= 0 || (errno != ELOOP && errno != ENOTDIR))
		return fd;
	saved = errno;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode)) {
		if (trusted_links && safe_trusted_link(dirfd, name))
			return openat(dirfd, name, flags);
		saved = ELOOP;
	}
	errno = saved;
	return -1;
}

/* The walk shared by safe_open_dir and safe_mkdir_at: each component of
 * rel below dirfd (which is not closed), created with mode when create
 * is set and it is missing, and then given to uid:gid through its
 * descriptor if uid is not -1. Empty components and "." are skipped,
 * ".." is refused: the walk never climbs out of dirfd. */
static int safe_walk(int dirfd, const char *rel, bool create, mode_t mode,
		     uid_t uid, gid_t gid, bool trusted_links)
{
	char *copy = mem_strdup(rel), *cursor = copy, *name;
	int fd = dup(dirfd), next, saved;
	bool made;

	while (fd >= 0 && (name = strsep(&cursor, "/")) != NULL) {
		if (*name == '\0' || strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			saved = EINVAL;
			goto fail;
		}
		made = create && mkdirat(fd, name, mode) == 0;
		if (create && !made && errno != EEXIST) {
			saved = errno;
			goto fail;
		}
		next = safe_open_step(fd, name, trusted_links);
		if (next < 0 || (made && uid != (uid_t)-1 &&
				 fchown(next, uid, gid) < 0)) {
			saved = errno;
			if (next >= 0)
				close(next);
			goto fail;
		}
		close(fd);
		fd = next;
	}
	free(copy);
	return fd;
fail:
	close(fd);
	free(copy);
	errno = saved;
	return -1;
}

int safe_open_dir(const char *path)
{
	int start, fd, saved;

	start = open(*path == '/' ? "/" : ".",
		     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (start < 0)
		return -1;
	fd = safe_walk(start, path, false, 0, (uid_t)-1, (gid_t)-1, true);
	saved = errno;
	close(start);
	errno = saved;
	return fd;
}

int safe_mkdir_at(int dirfd, const char *rel, mode_t mode, uid_t uid,
		  gid_t gid)
{
	return safe_walk(dirfd, rel, true, mode, uid, gid, false);
}

bool safe_mkdir_p(const char *path, mode_t mode)
{
	int start, fd, saved;

	if (*path == '\0') {
		errno = ENOENT;
		return false;
	}
	start = open(*path == '/' ? "/" : ".",
		     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (start < 0)
		return false;
	fd = safe_walk(start, path, true, mode, (uid_t)-1, (gid_t)-1, true);
	saved = errno;
	close(start);
	if (fd < 0) {
		errno = saved;
		return false;
	}
	return close(fd) == 0;
}

int safe_open_regular(int dirfd, const char *path, uid_t *owner_r,
		      const char **why_r)
{
	struct stat st;
	int fd, saved;

	*why_r = NULL;
	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			*why_r = "is a symbolic link";
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		*why_r = "is not a regular file";
	else if ((st.st_mode & S_IWOTH) != 0)
		*why_r = "is world-writable";
	if (*why_r != NULL) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	/* Reads block from here on (a regular file never waits anyway). */
	if (fcntl(fd, F_SETFL, 0) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (owner_r != NULL)
		*owner_r = st.st_uid;
	return fd;
}

bool safe_read_fd(int fd, struct str *out, size_t max)
{
	size_t start = out->len, total = 0;
	char buf[8192];
	ssize_t n;

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
	if (n < 0) {
		/* Leave out as it was: no partial file. */
		str_truncate(out, start);
		return false;
	}
	return true;
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

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
		  0644);
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
