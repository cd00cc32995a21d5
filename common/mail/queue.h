#ifndef COMMON_QUEUE_H
#define COMMON_QUEUE_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "attr.h"
#include "str.h"

/* The queue file: the one definition of its format.
 *
 * Every path here is relative to $queue_directory (daemons chdir there).
 * A queue file lives in incoming/, active/, deferred/, hold/ or corrupt/
 * under its queue ID. While smtpd, pickup or a bounce writes it, it is
 * incoming/ID in mode QUEUE_MODE_WRITING (0200), locked by its writer,
 * and every reader skips it; commit writes, makes it 0600, fsyncs it
 * and (unless another writer's sync covered it) incoming/. sendmail's
 * maildrop/.ID is renamed to its ID instead. A finished one is kept in
 * incoming/.spare/ and written again for a later message
 * (queue_spare.c).
 *
 * Layout (see queue_file.c for the byte-level record grammar):
 *   a fixed-width header line: magic, version, content offset and length,
 *   recipient count (filled in at commit)
 *   envelope records, each "<type><decimal length>:<data>\n"
 *   the content: the message as received, dot-unstuffed, every line
 *   ending in a bare LF.
 * Recipient records have a status byte that qmgr overwrites in place
 * (pwrite + fdatasync) when a recipient is finished, so a finished
 * recipient survives a crash. */

#define QUEUE_ID_SIZE 24	/* with NUL */
#define QUEUE_ID_LEN 18		/* every ID has exactly this length */

#define QUEUE_INCOMING	"incoming"
#define QUEUE_ACTIVE	"active"
#define QUEUE_DEFERRED	"deferred"
#define QUEUE_HOLD	"hold"
#define QUEUE_CORRUPT	"corrupt"
#define QUEUE_MAILDROP	"maildrop"
#define QUEUE_PRIVATE	"private"
/* In incoming/: the group commit state of its fsyncs (group_sync.h);
 * a dot file, so no scan takes it for a message. */
#define QUEUE_SYNC_FILE	".group-sync"
/* In incoming/: finished queue files kept for reuse (queue_spare.c). */
#define QUEUE_SPARE	"incoming/.spare"
#define QUEUE_SPARE_MAX	256
#define QUEUE_SPARE_SIZE_MAX (128 * 1024)	/* 32 MiB at most in all */
#define QUEUE_PUBLIC	"public"
#define QUEUE_PID	"pid"
#define QUEUE_DEFER	"defer"		/* deferral reasons (qmgr, correo queue) */

/* Every queue subdirectory with its mode, for init and check. */
struct queue_dir_spec {
	const char *name;
	unsigned mode;
};
extern const struct queue_dir_spec queue_dirs[];	/* ends with NULL */

/* Recipient status byte. */
#define QUEUE_RCPT_TODO		'R'
#define QUEUE_RCPT_DONE		'D'	/* delivered */
#define QUEUE_RCPT_BOUNCED	'B'	/* bounced, DSN queued */

/* DSN NOTIFY bits (RFC 3461). */
#define QUEUE_NOTIFY_NEVER	0x1
#define QUEUE_NOTIFY_SUCCESS	0x2
#define QUEUE_NOTIFY_FAILURE	0x4
#define QUEUE_NOTIFY_DELAY	0x8

/* A new unique, time-ordered ID usable as a file name: ordering by
 * strcmp equals ordering by creation time (microseconds), with a
 * per-process suffix to keep concurrent writers apart. */
void queue_id_new(char id[QUEUE_ID_SIZE]);
/* True if s looks like a queue ID (only ID characters, right length). */
bool queue_id_valid(const char *s);
/* True if path is "DIR/ID" for a queue directory a delivery agent may be
 * handed (incoming, active, deferred, hold) and the given valid ID: the
 * agents' check that a request names a queue file and nothing else. */
bool queue_path_valid(const char *path, const char *id);
/* The creation time encoded in a valid ID; false if id is not valid. */
bool queue_id_time(const char *id, struct timespec *ts_r);

struct queue_rcpt {
	char *address;		/* as routed (lower-cased domain) */
	char *orig;		/* ORCPT / as the client wrote it; may be NULL */
	unsigned notify;	/* QUEUE_NOTIFY_* or 0 for default */
	char status;		/* QUEUE_RCPT_* */
	off_t status_offset;	/* where the status byte lives in the file */
};

/* Writing (smtpd, pickup, bounces). */
struct queue_writer;

/* Create incoming/ID, in mode QUEUE_MODE_WRITING until its commit
 * makes it 0600 (queue_file.c). Returns NULL with errno set. */
struct queue_writer *queue_writer_create(void);
/* The same in another directory (sendmail: "maildrop", or an absolute
 * path), with file mode mode (subject to the umask): the file is
 * DIR/.ID while written and DIR/ID after commit, which fsyncs DIR. */
#define QUEUE_DIR_NAME_MAX 4095
struct queue_writer *queue_writer_create_in(const char *dir, unsigned mode);
const char *queue_writer_id(const struct queue_writer *w);
void queue_writer_sender(struct queue_writer *w, const char *sender);
/* Envelope attributes: client_addr, client_name, helo, protocol,
 * sasl_username, envid, ret, ... */
void queue_writer_attr(struct queue_writer *w, const char *name,
		       const char *value);
void queue_writer_rcpt(struct queue_writer *w, const char *address,
		       const char *orig, unsigned notify);
/* Append content bytes (already unstuffed, LF line ends). Buffered; the
 * envelope must be complete before the first call. False on a write
 * error (errno set). */
bool queue_writer_content(struct queue_writer *w, const void *data,
			  size_t len);
/* Content bytes appended so far (for message_size_limit). */
size_t queue_writer_size(const struct queue_writer *w);
/* Finish: header, the committed mode (incoming/) or the rename to
 * DIR/ID (elsewhere), fsync, fsync of DIR. False with errno set; the
 * file is then removed. */
bool queue_writer_commit(struct queue_writer *w);
/* Remove the partial file and free. */
void queue_writer_abort(struct queue_writer **w);
void queue_writer_free(struct queue_writer **w);

/* The spare pool (queue_spare.c). take: a spare, opened for writing
 * and locked (flock), renamed to the path to (a writer's incoming/ID,
 * in QUEUE_MODE_WRITING); the fd, with the file's old size in
 * *old_size_r, or -1 when there is none fit to take (then create a
 * file). put (qmgr): keep a finished queue file (path, and its open fd
 * or -1) of size bytes instead of removing it; false means it was not
 * kept (the caller unlinks it). clear (qmgr, at start): create the
 * pool, or empty it of anything left from before. */
int queue_spare_take(const char *to, off_t *old_size_r);
bool queue_spare_put(const char *path, int fd, off_t size);
void queue_spare_clear(void);

/* The mode of a file in incoming/ while its writer writes it, under
 * its final name and locked (flock); committed, it is 0600 (0700 with
 * qmgr's delay-warning bit). Every reader of incoming/ skips it
 * (queue_scan, queue_file_writing). */
#define QUEUE_MODE_WRITING 0200

/* Reading (qmgr, delivery agents, "correo queue"). */
struct queue_msg {
	char id[QUEUE_ID_SIZE];
	char *path;
	int fd;			/* O_RDWR if opened for update */
	time_t arrival;
	long arrival_usec;
	char *sender;		/* "" for the null sender */
	struct attr_list attrs;
	struct queue_rcpt *rcpts;
	size_t nrcpt;
	off_t content_offset;
	off_t content_len;
	char *whole;		/* the whole file, when a read-only open's
				 * first read held it all; else NULL */
};

/* Open and parse a queue file. Returns -1 on I/O error (errno), 0 when
 * the file is corrupt (*error_r says why: quarantine it), 1 on success.
 * msg->id is the file's base name if that is a valid ID, else "".
 * *error_r points to a static buffer, valid until the next call. */
int queue_msg_open(const char *path, bool for_update,
		   struct queue_msg **msg_r, const char **error_r);
void queue_msg_free(struct queue_msg **msg);
/* Durably set recipient i's status (pwrite + fdatasync). */
bool queue_msg_mark(struct queue_msg *msg, size_t i, char status);
/* Set recipient i's status without syncing; call queue_msg_sync once
 * after marking a batch (one fdatasync for many recipients). */
bool queue_msg_set_status(struct queue_msg *msg, size_t i, char status);
bool queue_msg_sync(struct queue_msg *msg);
/* Number of recipients still QUEUE_RCPT_TODO. */
size_t queue_msg_todo(const struct queue_msg *msg);

/* Content access for delivery agents (the fd may be O_RDONLY).
 * Read up to len content bytes starting at content position pos (0 is
 * the first content byte): returns the count, 0 at the end, -1 on error
 * (errno; EIO if the file shrank under us). */
ssize_t queue_msg_content_read(struct queue_msg *msg, off_t pos,
			       void *buf, size_t len);
/* Append the whole content to out (bounces, small messages); false if
 * it is larger than max bytes (EFBIG) or on a read error. */
bool queue_msg_content(struct queue_msg *msg, struct str *out, size_t max);
/* Copy the whole content to out_fd at its current position
 * (copy_file_range where possible, else read/write). */
bool queue_msg_content_copy(struct queue_msg *msg, int out_fd);

/* Move a queue file between queue directories (rename + fsync). */
bool queue_move(const char *id, const char *from_dir, const char *to_dir);
/* dir opened for reading through a descriptor that did not follow a
 * symlink (dirfd() gives it, for *at calls); NULL with errno set. */
DIR *queue_dir_open(const char *dir);
/* Is name in the directory dir_fd a queue file its writer has not
 * committed yet (QUEUE_MODE_WRITING)? */
bool queue_file_writing(int dir_fd, const char *name);
/* Call cb for every valid queue ID in dir (dot files, other names and,
 * in incoming/, files still being written are skipped) until cb
 * returns false. Returns the number of IDs seen or -1 (errno). No
 * order is guaranteed: sort if you need one. */
int queue_scan(const char *dir, bool (*cb)(const char *id, void *ctx),
	       void *ctx);

#endif
