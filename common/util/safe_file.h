#ifndef COMMON_SAFE_FILE_H
#define COMMON_SAFE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/* Durable file operations. Each returns false and leaves errno set;
 * callers log once with %m. */

/* Write all of data to fd, retrying short writes and EINTR. */
bool safe_write_all(int fd, const void *data, size_t len);
/* The same for iovcnt buffers in order (at most SAFE_IOV_MAX). */
#define SAFE_IOV_MAX 8
struct iovec;
bool safe_writev_all(int fd, const struct iovec *iov, int iovcnt);
/* openat(dirfd, path, flags | O_NOATIME, mode), or without O_NOATIME
 * where the caller may not ask it (EPERM: not the file's owner). For
 * files read over and over right after they change (queue files, index
 * logs, group-sync state), where relatime would dirty the inode at each
 * read. */
int safe_open_noatime(int dirfd, const char *path, int flags, mode_t mode);
/* fsync the directory holding path (or path itself if it is a dir). */
bool safe_fsync_dir(const char *path);
/* rename(from, to), then fsync to's directory (and from's, if different).
 */
bool safe_rename(const char *from, const char *to);
/* Create path with data: write to a unique temporary file in the same
 * directory, fsync, rename over path, fsync the directory. */
bool safe_write_file(const char *path, const void *data, size_t len,
		     mode_t mode);
/* A whole text file of at most max bytes, NUL-terminated (heap; NULL
 * with "PATH: cannot open: ...", "PATH: larger than N bytes" or "PATH:
 * contains a NUL byte" in *error_r, heap too). */
char *safe_read_text(const char *path, size_t max, char **error_r);
/* Read a whole file of at most max bytes into out (appended). */
bool safe_read_file(const char *path, struct str *out, size_t max);
/* The same from an open descriptor (not closed); EFBIG past max, and out
 * is left as it was on any failure. */
bool safe_read_fd(int fd, struct str *out, size_t max);
/* mkdir -p with mode for each created component, walked with openat and
 * O_NOFOLLOW; a symlink on the way is followed only if root or the
 * effective uid owns it and its directory (which no one else may
 * write), else ELOOP. */
bool safe_mkdir_p(const char *path, mode_t mode);
/* Create the directory name (one component) in dirfd with mode, or take
 * the existing one, and open it without following a symlink: what the
 * caller then does to the returned fd (fchown, fchmod, *at calls) cannot
 * be redirected by someone who can write in dirfd. *made_r (may be NULL)
 * says whether it was created here. -1 with errno (ELOOP or ENOTDIR for a
 * symlink or another kind of file). */
int safe_mkdirat(int dirfd, const char *name, mode_t mode, bool *made_r);
/* Open the directory path (O_RDONLY|O_DIRECTORY) the same way. -1 with
 * errno; ELOOP for an untrusted symlink. */
int safe_open_dir(const char *path);
/* mkdir -p of rel below the directory dirfd, for root working in a tree
 * another user owns: each component is created with mode if missing,
 * then opened with O_NOFOLLOW|O_DIRECTORY (a symlink anywhere fails with
 * ELOOP, another non-directory with ENOTDIR, a ".." with EINVAL), and
 * one this call created is given to uid:gid with fchown unless uid is
 * (uid_t)-1. Existing components keep their owner. Returns the last
 * directory's descriptor, or -1 with errno. */
int safe_mkdir_at(int dirfd, const char *rel, mode_t mode, uid_t uid,
		  gid_t gid);
/* Open path (relative to dirfd, or absolute) for reading as a file an
 * administrator or a user wrote: never following a final symlink, never
 * blocking on a FIFO or device, and refusing anything but a regular file
 * that nobody but its owner and group may write. -1 with errno; when the
 * file exists but is refused, *why_r says why ("is a symbolic link", "is
 * not a regular file", "is world-writable"), else it is NULL. *owner_r
 * (if not NULL) is the file's owner. */
int safe_open_regular(int dirfd, const char *path, uid_t *owner_r,
		      const char **why_r);
/* Open-or-create the lock file and take an exclusive non-blocking lock;
 * -1 with errno EWOULDBLOCK if someone holds it. */
int safe_lock_file(const char *path);

#endif
