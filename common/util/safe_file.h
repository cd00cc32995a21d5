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
/* fsync the directory holding path (or path itself if it is a dir). */
bool safe_fsync_dir(const char *path);
/* rename(from, to), then fsync to's directory (and from's, if different).
 */
bool safe_rename(const char *from, const char *to);
/* Create path with data: write to a unique temporary file in the same
 * directory, fsync, rename over path, fsync the directory. */
bool safe_write_file(const char *path, const void *data, size_t len,
		     mode_t mode);
/* Read a whole file of at most max bytes into out (appended). */
bool safe_read_file(const char *path, struct str *out, size_t max);
/* mkdir -p with mode for each created component. */
bool safe_mkdir_p(const char *path, mode_t mode);
/* Create the directory name (one component) in dirfd with mode, or take
 * the existing one, and open it without following a symlink: what the
 * caller then does to the returned fd (fchown, fchmod, *at calls) cannot
 * be redirected by someone who can write in dirfd. *made_r (may be NULL)
 * says whether it was created here. -1 with errno (ELOOP or ENOTDIR for a
 * symlink or another kind of file). */
int safe_mkdirat(int dirfd, const char *name, mode_t mode, bool *made_r);
/* Open-or-create the lock file and take an exclusive non-blocking lock;
 * -1 with errno EWOULDBLOCK if someone holds it. */
int safe_lock_file(const char *path);

#endif
