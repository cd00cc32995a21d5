/*
 * maildir: deliver messages into a Maildir and Maildir++ folders
 * (maildir.h).
 *
 * The steps follow the Maildir spec: a unique name, create tmp/NAME
 * exclusively, write, fsync, rename into new/, fsync new/. The unique
 * name is "SECONDS.M<usec>P<pid>Q<counter>.HOST", the "Q" counter
 * separating deliveries by one process within the same microsecond; the
 * host name has '/' and ':' written as \057 and \072 as the spec asks.
 * A Maildir or folder missing on first delivery is created (0700).
 * The name in new/ carries ",S=<size>,W=<size with CRLF line ends>"
 * (Dovecot's fields, read by uidlist and by Dovecot), counted by reading
 * the written file back before the fsync, or, for a message given in
 * memory, while it is written.
 *
 * Interface: maildir_unique_name, maildir_create, maildir_deliver,
 * maildir_errno_status.
 *
 * SECURITY: runs as the mailbox owner (local switches before calling),
 * never as root on a user's directory. The Maildir path comes from the
 * resolver (configuration and lookup tables), the folder name from the
 * caller; a folder with '/' or a ".." component is refused. Files are
 * created O_EXCL|O_NOFOLLOW mode 0600, so a planted symlink in tmp/ is
 * never followed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "maildir.h"
#include "mem.h"
#include "safe_file.h"
#include "str.h"

#define MAILDIR_SIZE_CHUNK 32768

static unsigned long maildir_counter;

/* The host part of unique names, with '/' and ':' escaped; looked up
 * once per process (a delivery agent writes many messages). */
static void maildir_host(struct str *out)
{
	static struct str cached = STR_INIT;
	char host[256];
	const char *p;

	if (cached.len == 0) {
		if (gethostname(host, sizeof(host)) != 0)
			(void)str_snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		for (p = host; *p != '\0'; p++) {
			if (*p == '/')
				str_append(&cached, "\\057");
			else if (*p == ':')
				str_append(&cached, "\\072");
			else
				str_append_c(&cached, *p);
		}
	}
	str_append_n(out, cached.data, cached.len);
}

void maildir_unique_name(struct str *name)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	str_clear(name);
	str_printf(name, "%lld.M%ldP%ldQ%lu.", (long long)tv.tv_sec,
		   (long)tv.tv_usec, msg_getpid(), ++maildir_counter);
	maildir_host(name);
}

/* ".Folder" from "Folder" or ".Folder"; false for unsafe names. */
static bool maildir_folder_dir(const char *maildir, const char *folder,
			       struct str *dir)
{
	str_set(dir, maildir);
	if (folder == NULL || *folder == '\0')
		return true;
	if (strchr(folder, '/') != NULL || strstr(folder, "..") != NULL ||
	    strcmp(folder, ".") == 0) {
		errno = EINVAL;
		return false;
	}
	if (dir->len > 0 && dir->data[dir->len - 1] != '/')
		str_append_c(dir, '/');
	if (folder[0] != '.')
		str_append_c(dir, '.');
	str_append(dir, folder);
	return true;
}

/* tmp/ new/ cur/ under dir. */
static bool maildir_make_subdirs(const char *dir)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	struct str path = STR_INIT;
	bool ok = true;

	for (size_t i = 0; i < 3 && ok; i++) {
		str_clear(&path);
		str_printf(&path, "%s/%s", dir, subs[i]);
		if (mkdir(str_c(&path), 0700) != 0 && errno != EEXIST)
			ok = false;
	}
	str_release(&path);
	return ok;
}

bool maildir_create(const char *maildir, const char *folder)
{
	struct str dir = STR_INIT, marker = STR_INIT;
	bool ok = false;
	int fd;

	if (!safe_mkdir_p(maildir, 0700) || !maildir_make_subdirs(maildir))
		goto out;
	if (!maildir_folder_dir(maildir, folder, &dir))
		goto out;
	if (folder != NULL && *folder != '\0') {
		if (mkdir(str_c(&dir), 0700) != 0 && errno != EEXIST)
			goto out;
		if (!maildir_make_subdirs(str_c(&dir)))
			goto out;
		str_printf(&marker, "%s/maildirfolder", str_c(&dir));
		fd = open(str_c(&marker), O_WRONLY | O_CREAT | O_NOFOLLOW,
			  0600);
		if (fd < 0)
			goto out;
		close(fd);
	}
	ok = true;
out:
	str_release(&dir);
	str_release(&marker);
	return ok;
}

enum maildir_status maildir_errno_status(int err, const char **dsn_r)
{
	switch (err) {
	case EFBIG:
		*dsn_r = "5.2.3";
		return MAILDIR_BOUNCE;
	case ENOSPC:
	case EDQUOT:
		*dsn_r = "4.2.2";
		return MAILDIR_DEFER;
	default:
		*dsn_r = "4.2.0";
		return MAILDIR_DEFER;
	}
}

/* Create tmp/NAME, creating the Maildir on the first ENOENT. */
static int maildir_open_tmp(const char *maildir, const char *folder,
			    const char *dir, const char *name,
			    struct str *tmp)
{
	int fd;

	str_clear(tmp);
	str_printf(tmp, "%s/tmp/%s", dir, name);
	fd = open(str_c(tmp), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		if (!maildir_create(maildir, folder))
			return -1;
		fd = open(str_c(tmp), O_RDWR | O_CREAT | O_EXCL |
			  O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	return fd;
}

/* Count into *size and *lfs the bytes of buf and its LFs not preceded
 * by CR; *prev_cr carries the last byte over to the next buffer. */
static void maildir_count(const char *buf, size_t n, bool *prev_cr,
			  unsigned long long *size, unsigned long long *lfs)
{
	const char *p, *end, *lf;

	if (n == 0)
		return;
	*size += n;
	for (p = buf, end = buf + n;
	     (lf = memchr(p, '\n', (size_t)(end - p))) != NULL; p = lf + 1)
		if (!(lf > buf ? lf[-1] == '\r' : *prev_cr))
			++*lfs;
	*prev_cr = buf[n - 1] == '\r';
}

/* The file's size and its size with CRLF line ends (one more byte per
 * LF not preceded by CR), read back from the page cache: the write
 * function may have copied in the kernel (copy_file_range). */
static bool maildir_sizes(int fd, unsigned long long *size_r,
			  unsigned long long *vsize_r)
{
	char buf[MAILDIR_SIZE_CHUNK];
	unsigned long long size = 0, lfs = 0;
	bool prev_cr = false;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), (off_t)size)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		maildir_count(buf, (size_t)n, &prev_cr, &size, &lfs);
	}
	*size_r = size;
	*vsize_r = size + lfs;
	return true;
}

/* Where a message comes from: a write function, or buffers in memory
 * (whose sizes are counted without reading the file back). */
struct maildir_src {
	maildir_write_fn *write_fn;
	void *ctx;
	const struct iovec *iov;
	int iovcnt;
};

static bool maildir_src_write(int fd, const struct maildir_src *src,
			      unsigned long long *size_r,
			      unsigned long long *vsize_r)
{
	unsigned long long size = 0, lfs = 0;
	bool prev_cr = false;

	if (src->write_fn != NULL)
		return src->write_fn(fd, src->ctx) &&
			maildir_sizes(fd, size_r, vsize_r);
	if (!safe_writev_all(fd, src->iov, src->iovcnt))
		return false;
	for (int i = 0; i < src->iovcnt; i++)
		maildir_count(src->iov[i].iov_base, src->iov[i].iov_len,
			      &prev_cr, &size, &lfs);
	*size_r = size;
	*vsize_r = size + lfs;
	return true;
}

/* Write, check the size, fsync, close; the sizes into size_r and
 * vsize_r. */
static bool maildir_fill(int fd, const struct maildir_src *src,
			 long long size_limit, unsigned long long *size_r,
			 unsigned long long *vsize_r)
{
	int saved;

	if (!maildir_src_write(fd, src, size_r, vsize_r))
		goto fail;
	if (size_limit > 0 && *size_r > (unsigned long long)size_limit) {
		errno = EFBIG;
		goto fail;
	}
	if (fsync(fd) != 0)
		goto fail;
	return close(fd) == 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return false;
}

static enum maildir_status maildir_failed(const char *maildir,
					  const char *step,
					  const struct str *tmp,
					  struct str *error_r,
					  const char **dsn_r)
{
	int saved = errno;
	enum maildir_status status = maildir_errno_status(saved, dsn_r);

	str_clear(error_r);
	if (saved == EFBIG)
		str_printf(error_r, "message too large for maildir %s",
			   maildir);
	else
		str_printf(error_r, "maildir delivery failed: %s %s: %s",
			   step, tmp->len > 0 ? str_c(tmp) : maildir,
			   strerror(saved));
	return status;
}

static enum maildir_status maildir_write_src(const char *maildir,
					     const char *folder,
					     const struct maildir_src *src,
					     long long size_limit,
					     struct maildir_tmp *t,
					     struct str *error_r,
					     const char **dsn_r)
{
	struct str dir = STR_INIT, name = STR_INIT;
	enum maildir_status status = MAILDIR_OK;
	const char *step;
	int fd, saved;

	*dsn_r = "2.0.0";
	str_clear(&t->tmp);
	str_clear(&t->dst);
	step = "bad folder name";
	if (!maildir_folder_dir(maildir, folder, &dir))
		goto fail;
	maildir_unique_name(&name);
	step = "create";
	fd = maildir_open_tmp(maildir, folder, str_c(&dir), str_c(&name),
			      &t->tmp);
	if (fd < 0)
		goto fail;
	step = "write";
	if (!maildir_fill(fd, src, size_limit, &t->size, &t->vsize)) {
		saved = errno;
		unlink(str_c(&t->tmp));
		errno = saved;
		goto fail;
	}
	/* The sizes in the name, as Dovecot writes (and reads) them:
	 * readers need not open the file to learn them. */
	str_printf(&t->dst, "%s/new/%s,S=%llu,W=%llu", str_c(&dir),
		   str_c(&name), t->size, t->vsize);
	goto out;
fail:
	status = maildir_failed(maildir, step, &t->tmp, error_r, dsn_r);
out:
	str_release(&dir);
	str_release(&name);
	return status;
}

enum maildir_status maildir_write_tmp(const char *maildir,
				      const char *folder,
				      maildir_write_fn *write_fn, void *ctx,
				      long long size_limit,
				      struct maildir_tmp *t,
				      struct str *error_r, const char **dsn_r)
{
	struct maildir_src src = { write_fn, ctx, NULL, 0 };

	return maildir_write_src(maildir, folder, &src, size_limit, t,
				 error_r, dsn_r);
}

enum maildir_status maildir_write_tmp_iov(const char *maildir,
					  const char *folder,
					  const struct iovec *iov, int iovcnt,
					  long long size_limit,
					  struct maildir_tmp *t,
					  struct str *error_r,
					  const char **dsn_r)
{
	struct maildir_src src = { NULL, NULL, iov, iovcnt };

	return maildir_write_src(maildir, folder, &src, size_limit, t,
				 error_r, dsn_r);
}

enum maildir_status maildir_link_tmp(const char *maildir, const char *folder,
				     struct maildir_tmp *t,
				     struct str *error_r, const char **dsn_r)
{
	const char *step = "rename into new/";
	int saved;

	*dsn_r = "2.0.0";
	/* Another delivery may be creating this Maildir right now: tmp/
	 * exists, new/ not yet. Create what is missing and retry once. */
	if (rename(str_c(&t->tmp), str_c(&t->dst)) != 0 &&
	    (errno != ENOENT || !maildir_create(maildir, folder) ||
	     rename(str_c(&t->tmp), str_c(&t->dst)) != 0)) {
		saved = errno;
		unlink(str_c(&t->tmp));
		errno = saved;
		return maildir_failed(maildir, step, &t->tmp, error_r, dsn_r);
	}
	return MAILDIR_OK;
}

enum maildir_status maildir_commit_tmp(const char *maildir,
				       const char *folder,
				       struct maildir_tmp *t,
				       struct str *error_r, const char **dsn_r)
{
	enum maildir_status status;

	status = maildir_link_tmp(maildir, folder, t, error_r, dsn_r);
	if (status == MAILDIR_OK && !safe_fsync_dir(str_c(&t->dst)))
		return maildir_failed(maildir, "fsync new/", &t->tmp, error_r,
				      dsn_r);
	return status;
}

void maildir_tmp_release(struct maildir_tmp *t)
{
	str_release(&t->tmp);
	str_release(&t->dst);
}

enum maildir_status maildir_deliver(const char *maildir, const char *folder,
				    maildir_write_fn *write_fn, void *ctx,
				    long long size_limit, struct str *path_r,
				    struct str *error_r, const char **dsn_r)
{
	struct maildir_tmp t = MAILDIR_TMP_INIT;
	enum maildir_status status;

	status = maildir_write_tmp(maildir, folder, write_fn, ctx,
				   size_limit, &t, error_r, dsn_r);
	if (status == MAILDIR_OK)
		status = maildir_commit_tmp(maildir, folder, &t, error_r,
					    dsn_r);
	if (status == MAILDIR_OK && path_r != NULL)
		str_set(path_r, str_c(&t.dst));
	maildir_tmp_release(&t);
	return status;
}
