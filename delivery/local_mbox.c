/*
 * local_mbox: append a message to an mbox file (local.h): virtual
 * mailboxes whose map value has no trailing '/', system mailboxes when
 * home_mailbox is empty, and "/file" alias targets.
 *
 * The file is opened O_APPEND, locked with flock (and fcntl, which is what
 * other mbox readers check), written, fsync'd; on any error it is
 * truncated back to its old size so a reader never sees half an entry.
 *
 * Interface: local_mbox.
 *
 * SECURITY: runs as the mailbox owner (or default_privs for alias files).
 * O_NOFOLLOW and a regular-file check keep a planted symlink or device
 * from redirecting the write.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

static bool local_mbox_lock(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (flock(fd, LOCK_EX) != 0)
		return false;
	return fcntl(fd, F_SETLKW, &fl) == 0;
}

void local_mbox(const struct local_content *content, const char *path,
		struct local_result *res)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	if (!local_mbox_lock(fd) || fstat(fd, &st) != 0) {
		err = errno;
		goto fail_close;
	}
	if (!S_ISREG(st.st_mode)) {
		local_result_set(res, LOCAL_BOUNCE, "5.2.0",
				 "cannot append to %s: not a regular file",
				 path);
		close(fd);
		return;
	}
	if (!local_content_write_mbox(fd, (void *)content) ||
	    fsync(fd) != 0) {
		err = errno;
		(void)ftruncate(fd, st.st_size);
		goto fail_close;
	}
	close(fd);
	local_result_set(res, LOCAL_OK, "2.0.0", "delivered to file: %s",
			 path);
	return;
fail_close:
	close(fd);
fail:
	local_result_set(res, err == EFBIG ? LOCAL_BOUNCE : LOCAL_DEFER,
			 err == EFBIG ? "5.2.3" :
			 (err == ENOSPC || err == EDQUOT) ? "4.2.2" : "4.2.0",
			 "cannot append to %s: %s", path, strerror(err));
}
