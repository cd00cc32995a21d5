#ifndef COMMON_MAILDIR_H
#define COMMON_MAILDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* Writing into a Maildir (https://cr.yp.to/proto/maildir.html) and its
 * Maildir++ folders. local delivers with it; pop3d/imapd create folders
 * with it.
 *
 * A delivery writes tmp/NAME, fsyncs it, renames it to new/NAME and
 * fsyncs new/, so once maildir_deliver returns MAILDIR_OK the message
 * survives a crash. NAME is "SECONDS.M<usec>P<pid>Q<counter>.HOST", unique
 * per host even for deliveries in the same microsecond by one process;
 * in new/ it gets ",S=<bytes>,W=<bytes with CRLF line ends>" appended
 * (as Dovecot names files), so readers know the sizes without reading. */

enum maildir_status {
	MAILDIR_OK = 0,
	MAILDIR_DEFER = 1,	/* temporary: try again later */
	MAILDIR_BOUNCE = 2,	/* permanent (e.g. over the size limit) */
};

/* Writes the message into fd (an empty file); false with errno set. */
typedef bool maildir_write_fn(int fd, void *ctx);

/* A new unique base name (no directory) into name, replacing it. */
void maildir_unique_name(struct str *name);

/* Create maildir and its tmp/ new/ cur/ (mode 0700; parents too). With
 * folder (e.g. "Sent" or ".Sent"), also create the Maildir++ folder
 * maildir/.Sent with its maildirfolder marker. False with errno set. */
bool maildir_create(const char *maildir, const char *folder);

/* Deliver one message into maildir (folder NULL: INBOX), creating what
 * is missing. size_limit > 0 refuses (permanently) messages that would
 * be larger. On success the new file's path (maildir/[.Folder/]new/NAME)
 * is in path_r if not NULL. On failure returns MAILDIR_DEFER or
 * MAILDIR_BOUNCE with a reason in error_r and the matching enhanced
 * status code ("4.2.2", "5.2.3", ...) in dsn_r (a static string). */
enum maildir_status maildir_deliver(const char *maildir, const char *folder,
				    maildir_write_fn *write_fn, void *ctx,
				    long long size_limit, struct str *path_r,
				    struct str *error_r, const char **dsn_r);

/* The two halves of maildir_deliver, for callers that must do something
 * between them (the mailbox store takes its index lock): write_tmp
 * writes and fsyncs the message into tmp/ (tmp: its path, dst: its name
 * in new/ with the S= and W= sizes); commit_tmp renames it into new/
 * (creating what is missing once) and fsyncs new/, removing the tmp/
 * file on failure. Release t in any case. */
struct maildir_tmp {
	struct str tmp, dst;
	unsigned long long size, vsize;
};
#define MAILDIR_TMP_INIT { STR_INIT, STR_INIT, 0, 0 }
enum maildir_status maildir_write_tmp(const char *maildir,
				      const char *folder,
				      maildir_write_fn *write_fn, void *ctx,
				      long long size_limit,
				      struct maildir_tmp *t,
				      struct str *error_r, const char **dsn_r);
/* write_tmp for a message in memory: the iovcnt buffers in order (at
 * most SAFE_IOV_MAX), written at once and counted as they are. */
struct iovec;
enum maildir_status maildir_write_tmp_iov(const char *maildir,
					  const char *folder,
					  const struct iovec *iov, int iovcnt,
					  long long size_limit,
					  struct maildir_tmp *t,
					  struct str *error_r,
					  const char **dsn_r);
enum maildir_status maildir_commit_tmp(const char *maildir,
				       const char *folder,
				       struct maildir_tmp *t,
				       struct str *error_r, const char **dsn_r);
/* commit_tmp without the directory fsync, for callers that sync the
 * directory themselves (the store's group commit): the message is in
 * new/ (or wherever dst points) but its entry may not be on disk yet. */
enum maildir_status maildir_link_tmp(const char *maildir, const char *folder,
				     struct maildir_tmp *t,
				     struct str *error_r, const char **dsn_r);
void maildir_tmp_release(struct maildir_tmp *t);

/* The status class of a failed system call during delivery: ENOSPC,
 * EDQUOT and most errors defer; EFBIG bounces. */
enum maildir_status maildir_errno_status(int err, const char **dsn_r);

#endif
