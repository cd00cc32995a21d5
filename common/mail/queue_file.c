/*
 * queue_file: writing and reading queue files (queue.h).
 *
 * THE FORMAT, byte by byte. A queue file is three parts: a fixed header,
 * the envelope records, the content.
 *
 * 1. Header: exactly QUEUE_HEADER_SIZE (46) bytes.
 *
 *      offset  len  contents
 *           0    8  "CORREO-Q"                  magic
 *           8    1  ' '
 *           9    1  '1'                         format version
 *          10    1  ' '
 *          11   12  content offset, decimal, zero padded
 *          23    1  ' '
 *          24   12  content length, decimal, zero padded
 *          36    1  ' '
 *          37    8  recipient count, decimal, zero padded
 *          45    1  '\n'
 *
 *    e.g. "CORREO-Q 1 000000000131 000000000042 00000002\n".
 *    The writer puts a placeholder with all numbers zero and fills in
 *    the real values at commit (in its buffer if nothing has been
 *    flushed yet, else with pwrite), so a file whose header still says
 *    content offset 0 was never committed.
 *
 * 2. Envelope: records from offset 46 up to the content offset. Each is
 *
 *      <type> <length> ':' <data> '\n'
 *
 *    with no spaces: type is one byte, length is the decimal byte count
 *    of data (1-10 digits, no sign, no leading zero except "0"), data is
 *    exactly that many bytes (never containing NUL; it may contain LF,
 *    since the length, not the LF, delimits it), and the '\n' is a
 *    check byte. Types:
 *
 *      'T'  arrival time: "<seconds>.<microseconds>", seconds 1-12
 *           digits, microseconds exactly 6 digits. Exactly once.
 *      'S'  envelope sender; empty data is the null sender <>. Exactly
 *           once.
 *      'A'  attribute "name=value": name is [a-z0-9_]+, the value is
 *           everything after the first '='. Any number, order kept.
 *      'R'  recipient: <status><notify><origlen>':'<orig><address>
 *             status   one byte: 'R' to do, 'D' delivered, 'B' bounced.
 *                      It is the first data byte, so its file offset is
 *                      record start + 1 + digits(length) + 1; qmgr
 *                      overwrites it in place.
 *             notify   one lower-case hex digit: QUEUE_NOTIFY_* bits.
 *             origlen  decimal length of orig (rules as above), then
 *                      ':' and orig (ORCPT/original form; 0 = none).
 *             address  the rest of the data: the routed address, not
 *                      empty.
 *           The number of 'R' records equals the header's count (>= 1).
 *      'E'  end of envelope, data empty ("E0:\n"). Exactly once, last:
 *           its '\n' is the byte before the content offset.
 *
 *    Any other type byte makes the file corrupt; a new record type means
 *    a new format version.
 *
 * 3. Content: content length bytes from the content offset to the end
 *    of the file: the message, dot-unstuffed, lines ending in LF. The
 *    file size must equal content offset + content length exactly.
 *
 * The writer buffers 64 KB at a time, so a small message is created
 * with one write(2) and a 100 KB one with two or three.
 *
 * In incoming/ the file has its final name, incoming/ID, from its
 * creation on, in mode QUEUE_MODE_WRITING (0200) and locked (flock) by
 * its writer; the commit gives it mode 0600, which makes it a message:
 * every reader of incoming/ skips a file in the writing mode
 * (queue_scan), and qmgr's sweep removes one only once it is an hour
 * old and its lock is free (its writer is dead). Elsewhere (sendmail's
 * maildrop/) the file is ".ID" until the commit renames it. Then the
 * commit fsyncs the file and incoming/ (see queue_writer_commit); the
 * directory's is a group commit shared by the writers (qw_sync_dir),
 * often done by another writer before this one commits.
 *
 * The reader reads the header and envelope with one or two pread(2)s
 * (the content is left on disk for delivery agents to read through
 * queue_msg_content_*), and checks every field: magic, version, digits,
 * the content offset and length against the file size, every record's
 * length against the bytes that remain, each record's type and syntax,
 * the recipient count. Any failure yields 0 with a reason naming the
 * file offset.
 *
 * SECURITY: queue files are written by smtpd and pickup (as the mail
 * owner) from untrusted mail; the envelope is built from the writer API,
 * never by parsing message text, so content cannot forge records. The
 * reader still treats the file as untrusted (a crash, a full disk or a
 * hand-edit can corrupt it): no length is used before it is checked
 * against the data actually read. Files are created mode 0600 with
 * O_EXCL and opened with O_NOFOLLOW.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "attr.h"
#include "bgsync.h"
#include "group_sync.h"
#include "mem.h"
#include "queue.h"
#include "safe_file.h"
#include "str.h"

#define QUEUE_MAGIC		"CORREO-Q"
#define QUEUE_VERSION		'1'
#define QUEUE_HEADER_SIZE	46
#define QUEUE_NUM_DIGITS	12
#define QUEUE_NUM_MAX		999999999999LL
#define QUEUE_NRCPT_DIGITS	8
#define QUEUE_NRCPT_MAX		99999999
#define QUEUE_LEN_DIGITS	10
#define QUEUE_BUF_SIZE		65536
#define QUEUE_READ_SIZE		8192

#define REC_TIME	'T'
#define REC_SENDER	'S'
#define REC_ATTR	'A'
#define REC_RCPT	'R'
#define REC_END		'E'

/* Minimal file: header plus the three mandatory small records. */
#define QUEUE_MIN_ENVELOPE	(QUEUE_HEADER_SIZE + 4)

struct queue_writer {
	int fd;
	char id[QUEUE_ID_SIZE];
	char dir[QUEUE_DIR_NAME_MAX + 1];	/* incoming, or maildrop */
	char path[QUEUE_DIR_NAME_MAX + QUEUE_ID_SIZE + 2];	/* its name now */
	char *buf;
	size_t buf_len;
	off_t flushed;		/* bytes written to fd so far */
	off_t content_offset;	/* 0 until the envelope is ended */
	size_t content_len;
	size_t nrcpt;
	off_t old_size;		/* a reused spare's size before (queue_spare.c) */
	int error;		/* errno of the first failure, or 0 */
	bool have_sender;
	bool done;		/* committed or removed: nothing to unlink */
	bool in_place;		/* under its final name from the start */
	unsigned mode;		/* the committed file's mode */
	uint64_t mark;		/* group_sync_mark() once the name was there */
};

/*
 * Writer.
 */

static bool write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		data += n;
		len -= (size_t)n;
	}
	return true;
}

static void qw_fail(struct queue_writer *w, int error)
{
	if (w->error == 0)
		w->error = error;
}

static void qw_flush(struct queue_writer *w)
{
	if (w->error != 0 || w->buf_len == 0)
		return;
	if (!write_all(w->fd, w->buf, w->buf_len)) {
		qw_fail(w, errno);
		return;
	}
	w->flushed += (off_t)w->buf_len;
	w->buf_len = 0;
}

static void qw_put(struct queue_writer *w, const void *data, size_t len)
{
	if (w->error != 0 || len == 0)
		return;
	if (len > QUEUE_BUF_SIZE - w->buf_len) {
		qw_flush(w);
		if (w->error != 0)
			return;
	}
	if (len >= QUEUE_BUF_SIZE) {
		/* Large appends go straight to the file. */
		if (!write_all(w->fd, data, len))
			qw_fail(w, errno);
		else
			w->flushed += (off_t)len;
		return;
	}
	memcpy(w->buf + w->buf_len, data, len);
	w->buf_len += len;
}

static off_t qw_offset(const struct queue_writer *w)
{
	return w->flushed + (off_t)w->buf_len;
}

/* "<type><len>:" */
static void qw_record_start(struct queue_writer *w, char type, size_t len)
{
	char head[QUEUE_LEN_DIGITS + 8];

	if (w->content_offset != 0)
		msg_panic("queue_writer: %s: envelope record after content",
			  w->id);
	if (len > 9999999999ULL) {
		qw_fail(w, EFBIG);
		return;
	}
	if (!str_snprintf(head, sizeof(head), "%c%zu:", type, len))
		msg_panic("queue_writer: record head overflow");
	qw_put(w, head, strlen(head));
}

static void qw_record(struct queue_writer *w, char type, const char *data,
		      size_t len)
{
	qw_record_start(w, type, len);
	qw_put(w, data, len);
	qw_put(w, "\n", 1);
}

static void qw_header(const struct queue_writer *w, char *out)
{
	char tmp[QUEUE_HEADER_SIZE + 1];

	if (!str_snprintf(tmp, sizeof(tmp), "%s %c %012lld %012lld %08zu\n",
			  QUEUE_MAGIC, QUEUE_VERSION,
			  (long long)w->content_offset,
			  (long long)w->content_len, w->nrcpt) ||
	    strlen(tmp) != QUEUE_HEADER_SIZE)
		msg_panic("queue_writer: header does not fit");
	memcpy(out, tmp, QUEUE_HEADER_SIZE);
}

static void qw_arrival(struct queue_writer *w)
{
	struct timeval tv;
	char data[40];

	if (gettimeofday(&tv, NULL) < 0)
		msg_panic("gettimeofday: %m");
	if (!str_snprintf(data, sizeof(data), "%lld.%06ld",
			  (long long)tv.tv_sec, (long)tv.tv_usec))
		msg_panic("queue_writer: arrival overflow");
	qw_record(w, REC_TIME, data, strlen(data));
}

struct queue_writer *queue_writer_create(void)
{
	return queue_writer_create_in(QUEUE_INCOMING, 0600);
}

struct queue_writer *queue_writer_create_in(const char *dir, unsigned mode)
{
	struct queue_writer *w = mem_alloc(sizeof(*w));
	char header[QUEUE_HEADER_SIZE];
	int tries;

	if (!str_snprintf(w->dir, sizeof(w->dir), "%s", dir))
		msg_panic("queue_writer: directory name too long: %s", dir);
	/* In incoming/ the file has its final name from the start, in
	 * the writing mode (see the top of this file); elsewhere
	 * (sendmail's maildrop/, which pickup lists) it is ".ID" until
	 * the commit renames it. */
	w->in_place = strcmp(dir, QUEUE_INCOMING) == 0;
	w->mode = mode;
	for (tries = 0; tries < 10; tries++) {
		queue_id_new(w->id);
		if (!str_snprintf(w->path, sizeof(w->path),
				  w->in_place ? "%s/%s" : "%s/.%s",
				  w->dir, w->id))
			msg_panic("queue_writer: path overflow");
		w->old_size = 0;
		w->fd = w->in_place ?
			queue_spare_take(w->path, &w->old_size) : -1;
		if (w->fd < 0) {
			w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL |
				     O_CLOEXEC | O_NOFOLLOW, (mode_t)(w->in_place
				     ? QUEUE_MODE_WRITING : mode));
			/* Born young: qmgr's sweep needs an hour-old file
			 * before it even tries the lock. */
			if (w->fd >= 0 && w->in_place)
				(void)flock(w->fd, LOCK_EX | LOCK_NB);
		}
		if (w->fd >= 0 || errno != EEXIST)
			break;
	}
	/* The name is in incoming/ from here on: a directory sync that
	 * begins later covers the commit (qw_sync_dir). */
	w->mark = group_sync_mark();
	if (w->fd < 0) {
		int saved = errno;

		mem_free(w);
		errno = saved;
		return NULL;
	}
	/* Not zeroed: only bytes written into it are ever read (zeroing
	 * 64 KiB was half of smtpd's per-message instructions). */
	w->buf = mem_realloc(NULL, QUEUE_BUF_SIZE);
	qw_header(w, header);	/* the placeholder: all zero */
	qw_put(w, header, sizeof(header));
	qw_arrival(w);
	return w;
}

const char *queue_writer_id(const struct queue_writer *w)
{
	return w->id;
}

void queue_writer_sender(struct queue_writer *w, const char *sender)
{
	if (w->have_sender)
		msg_panic("queue_writer: %s: sender set twice", w->id);
	w->have_sender = true;
	qw_record(w, REC_SENDER, sender, strlen(sender));
}

static bool attr_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	}
	return true;
}

void queue_writer_attr(struct queue_writer *w, const char *name,
		       const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);

	if (!attr_name_valid(name, nlen))
		msg_panic("queue_writer: bad attribute name '%s'", name);
	qw_record_start(w, REC_ATTR, nlen + 1 + vlen);
	qw_put(w, name, nlen);
	qw_put(w, "=", 1);
	qw_put(w, value, vlen);
	qw_put(w, "\n", 1);
}

void queue_writer_rcpt(struct queue_writer *w, const char *address,
		       const char *orig, unsigned notify)
{
	size_t alen = strlen(address), olen = orig != NULL ? strlen(orig) : 0;
	char head[QUEUE_LEN_DIGITS + 8];

	if (alen == 0)
		msg_panic("queue_writer: %s: empty recipient", w->id);
	if (notify > 0xf)
		msg_panic("queue_writer: bad notify 0x%x", notify);
	if (!str_snprintf(head, sizeof(head), "%c%x%zu:", QUEUE_RCPT_TODO,
			  notify, olen))
		msg_panic("queue_writer: record head overflow");
	qw_record_start(w, REC_RCPT, strlen(head) + olen + alen);
	qw_put(w, head, strlen(head));
	qw_put(w, orig != NULL ? orig : "", olen);
	qw_put(w, address, alen);
	qw_put(w, "\n", 1);
	w->nrcpt++;
}

static void qw_end_envelope(struct queue_writer *w)
{
	if (w->content_offset != 0)
		return;
	qw_record(w, REC_END, "", 0);
	w->content_offset = qw_offset(w);
}

bool queue_writer_content(struct queue_writer *w, const void *data,
			  size_t len)
{
	qw_end_envelope(w);
	if (w->error == 0 && len > (size_t)(QUEUE_NUM_MAX -
					    w->content_offset - w->content_len))
		qw_fail(w, EFBIG);
	qw_put(w, data, len);
	if (w->error != 0) {
		errno = w->error;
		return false;
	}
	w->content_len += len;
	return true;
}

size_t queue_writer_size(const struct queue_writer *w)
{
	return w->content_len;
}

/* Header into place, everything written. False with w->error set. */
static bool qw_finish(struct queue_writer *w)
{
	char header[QUEUE_HEADER_SIZE];
	bool header_flushed = w->flushed > 0;

	qw_header(w, header);
	if (!header_flushed)
		memcpy(w->buf, header, sizeof(header));
	qw_flush(w);
	if (w->error != 0)
		return false;
	if (header_flushed &&
	    pwrite(w->fd, header, sizeof(header), 0) != sizeof(header)) {
		qw_fail(w, errno != 0 ? errno : EIO);
		return false;
	}
	/* A reused spare: cut what is left of the message before. */
	if (w->old_size > w->flushed && ftruncate(w->fd, w->flushed) != 0) {
		qw_fail(w, errno);
		return false;
	}
	return true;
}

/* incoming/ stays open for the process's life: its commits sync it
 * through this descriptor (no lookup, open and close a message). The
 * queue tree is never replaced under a running daemon. */
static bool qw_fsync_dir(void *ctx)
{
	static int dir_fd = -1;

	if (dir_fd < 0)
		dir_fd = open(ctx, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return safe_fsync_dir(ctx);
	return fsync(dir_fd) == 0;
}

/* The directory fsync of a commit. Into incoming/ it is a group commit
 * (group_sync.h) with every smtpd and pickup committing at the same
 * moment: one fsync of incoming/ that began after our name was there
 * covers us, whoever ran it. The name came when the file was created
 * (taken from the pool), at DATA, before the message came in, so
 * another writer's sync often covers it by the commit. */
static bool qw_sync_dir(struct queue_writer *w, bool *covered_r)
{
	static int state = -2;	/* not opened yet */

	*covered_r = false;
	if (!w->in_place)	/* maildrop/: the rename just now */
		return safe_fsync_dir(w->dir);
	if (state == -2)
		state = group_sync_open(AT_FDCWD,
					QUEUE_INCOMING "/" QUEUE_SYNC_FILE);
	return group_sync_run(state, w->mark, qw_fsync_dir, w->dir,
			      covered_r);
}

/* Whether this process's last commit was covered by another's
 * directory sync (queue_writer_commit). */
static bool qw_busy;

bool queue_writer_commit(struct queue_writer *w)
{
	char final[sizeof(w->path)];
	const char *remove = w->path;
	struct bgsync bg;
	bool dir_ok, covered;
	int dir_errno;

	if (w->done)
		msg_panic("queue_writer: %s: commit after commit", w->id);
	qw_end_envelope(w);
	if (!w->have_sender || w->nrcpt == 0)
		qw_fail(w, EINVAL);
	else if (w->nrcpt > QUEUE_NRCPT_MAX)
		qw_fail(w, E2BIG);
	if (!qw_finish(w))
		goto fail;
	if (!str_snprintf(final, sizeof(final), "%s/%s", w->dir, w->id))
		msg_panic("queue_writer: path overflow");
	if (w->in_place) {
		struct stat st;

		/* Committed: qmgr may take it from here on. Still linked,
		 * or "correo queue delete" took it while it was written. */
		if (fchmod(w->fd, (mode_t)w->mode) < 0 ||
		    fstat(w->fd, &st) < 0) {
			qw_fail(w, errno);
			goto fail;
		}
		if (st.st_nlink == 0) {
			qw_fail(w, ENOENT);
			goto fail;
		}
	} else if (rename(w->path, final) < 0) {
		qw_fail(w, errno);
		goto fail;
	}
	remove = final;
	/* The mode or the rename comes before the fsyncs so that one
	 * journal commit carries the data, the inode and (renamed) the
	 * directory entry; the directory fsync then usually has nothing
	 * left to write (on ext4 this halves the latency of a commit).
	 * Nothing is acknowledged until both fsyncs return, so a crash in
	 * between loses no accepted mail: qmgr finds the file complete,
	 * or incomplete and quarantines it. A reader that opens it early
	 * sees it whole: all of it was written before. */
	/* Alone, the file's fsync runs beside the directory's: the disk
	 * merges their cache flushes (bgsync.h). When the last commit was
	 * covered by another process's directory sync, others are
	 * committing too and the CPUs, not the disk, are the limit: then
	 * the file is synced here, before the directory, which spares the
	 * kernel worker that runs a background sync and the two wake-ups
	 * around it (measured: 5-10% more messages a second at 10
	 * sessions, and 10% fewer at one session if always done). Both
	 * finish before commit returns. */
	if (qw_busy) {
		if (fsync(w->fd) != 0) {
			qw_fail(w, errno);
			goto fail;
		}
	} else {
		bgsync_start(&bg, w->fd, false);
	}
	/* sendmail may write to maildrop/ (mode 1730) but not read it,
	 * so it cannot fsync it; pickup's own commit is synced. */
	dir_ok = qw_sync_dir(w, &covered) ||
		(errno == EACCES && strcmp(w->dir, QUEUE_INCOMING) != 0);
	dir_errno = errno;
	if (!qw_busy && !bgsync_wait(&bg)) {
		qw_fail(w, errno);
		goto fail;
	}
	qw_busy = dir_ok && covered;
	if (!dir_ok) {
		qw_fail(w, dir_errno);
		goto fail;
	}
	w->done = true;
	if (close(w->fd) < 0) {
		w->fd = -1;
		qw_fail(w, errno);
		goto fail;
	}
	w->fd = -1;
	return true;
fail:
	(void)unlink(remove);
	if (w->fd >= 0)
		(void)close(w->fd);
	w->fd = -1;
	w->done = true;
	errno = w->error;
	return false;
}

void queue_writer_free(struct queue_writer **wp)
{
	struct queue_writer *w = *wp;
	int saved = errno;

	if (w == NULL)
		return;
	if (!w->done)
		(void)unlink(w->path);
	if (w->fd >= 0)
		(void)close(w->fd);
	mem_free(w->buf);
	mem_free(*wp);
	errno = saved;
}

void queue_writer_abort(struct queue_writer **wp)
{
	/* free removes a file that was not committed. */
	queue_writer_free(wp);
}

/*
 * Reader.
 */

static char queue_error[256];

struct qparse {
	const char *buf;	/* the file from offset 0 */
	size_t end;		/* the content offset */
	size_t pos;
	struct queue_msg *msg;
	size_t rcpt_cap;
	size_t nrcpt_header;
	bool have_time;
	bool have_sender;
	bool have_end;
};

static int MSG_PRINTF(2, 3) qp_corrupt(const char **error_r,
				       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(queue_error, sizeof(queue_error), fmt, ap);
	va_end(ap);
	*error_r = queue_error;
	return 0;
}

/* Exactly len decimal digits. */
static bool parse_fixed(const char *p, size_t len, long long *value_r)
{
	long long v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*value_r = v;
	return true;
}

/* A record length at p (at most QUEUE_LEN_DIGITS digits, no leading
 * zero) ending with ':' before end. Returns the position after ':' or
 * NULL. */
static const char *parse_len(const char *p, const char *end, size_t *len_r)
{
	size_t v = 0, n = 0;

	while (p < end && *p >= '0' && *p <= '9') {
		if (++n > QUEUE_LEN_DIGITS || (n == 2 && v == 0))
			return NULL;
		v = v * 10 + (size_t)(*p++ - '0');
	}
	if (n == 0 || p >= end || *p != ':')
		return NULL;
	*len_r = v;
	return p + 1;
}

static int qp_header(struct qparse *qp, off_t size, const char **error_r)
{
	const char *h = qp->buf;
	long long off, len, nrcpt;

	if (size < QUEUE_HEADER_SIZE)
		return qp_corrupt(error_r, "truncated header (%lld bytes)",
				  (long long)size);
	if (memcmp(h, QUEUE_MAGIC, 8) != 0)
		return qp_corrupt(error_r, "bad magic");
	if (h[9] != QUEUE_VERSION)
		return qp_corrupt(error_r, "unsupported version 0x%02x",
				  (unsigned char)h[9]);
	if (h[8] != ' ' || h[10] != ' ' || h[23] != ' ' || h[36] != ' ' ||
	    h[45] != '\n' || !parse_fixed(h + 11, QUEUE_NUM_DIGITS, &off) ||
	    !parse_fixed(h + 24, QUEUE_NUM_DIGITS, &len) ||
	    !parse_fixed(h + 37, QUEUE_NRCPT_DIGITS, &nrcpt))
		return qp_corrupt(error_r, "malformed header");
	if (off == 0)
		return qp_corrupt(error_r, "uncommitted header");
	if (off < QUEUE_MIN_ENVELOPE)
		return qp_corrupt(error_r, "content offset %lld inside header",
				  off);
	if (off > size || len != size - off)
		return qp_corrupt(error_r, "content offset %lld + length %lld "
				  "does not match file size %lld", off, len,
				  (long long)size);
	if (nrcpt == 0)
		return qp_corrupt(error_r, "no recipients in header");
	qp->end = (size_t)off;
	qp->nrcpt_header = (size_t)nrcpt;
	qp->msg->content_offset = off;
	qp->msg->content_len = len;
	return 1;
}

static int qp_time(struct qparse *qp, const char *d, size_t len,
		   const char **error_r)
{
	const char *dot = memchr(d, '.', len);
	long long sec, usec;
	size_t slen;

	if (qp->have_time)
		return qp_corrupt(error_r, "offset %zu: second arrival time",
				  qp->pos);
	slen = dot != NULL ? (size_t)(dot - d) : 0;
	if (dot == NULL || slen == 0 || slen > 12 || len != slen + 7 ||
	    !parse_fixed(d, slen, &sec) || !parse_fixed(dot + 1, 6, &usec))
		return qp_corrupt(error_r, "offset %zu: bad arrival time",
				  qp->pos);
	qp->have_time = true;
	qp->msg->arrival = (time_t)sec;
	qp->msg->arrival_usec = (long)usec;
	return 1;
}

static int qp_sender(struct qparse *qp, const char *d, size_t len,
		     const char **error_r)
{
	if (qp->have_sender)
		return qp_corrupt(error_r, "offset %zu: second sender",
				  qp->pos);
	qp->have_sender = true;
	qp->msg->sender = mem_strndup(d, len);
	return 1;
}

static int qp_attr(struct qparse *qp, const char *d, size_t len,
		   const char **error_r)
{
	struct attr_list *list = &qp->msg->attrs;
	const char *eq = memchr(d, '=', len);
	struct attr *a;

	if (eq == NULL || !attr_name_valid(d, (size_t)(eq - d)))
		return qp_corrupt(error_r, "offset %zu: bad attribute name",
				  qp->pos);
	/* The list is filled (and freed in queue_msg_free) here rather
	 * than with attr_add, so its memory has one owner. */
	if (list->count == list->cap) {
		list->cap = list->cap == 0 ? 8 : list->cap * 2;
		list->attrs = mem_array_realloc(list->attrs, list->cap,
						sizeof(*list->attrs));
	}
	a = &list->attrs[list->count++];
	a->name = mem_strndup(d, (size_t)(eq - d));
	a->value = mem_strndup(eq + 1, len - (size_t)(eq - d) - 1);
	return 1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int qp_rcpt(struct qparse *qp, const char *d, size_t len,
		   const char **error_r)
{
	struct queue_msg *msg = qp->msg;
	struct queue_rcpt *r;
	const char *p, *end = d + len;
	size_t olen;
	int notify;

	if (len < 5)
		return qp_corrupt(error_r, "offset %zu: short recipient",
				  qp->pos);
	if (d[0] != QUEUE_RCPT_TODO && d[0] != QUEUE_RCPT_DONE &&
	    d[0] != QUEUE_RCPT_BOUNCED)
		return qp_corrupt(error_r, "offset %zu: bad recipient status",
				  qp->pos);
	if ((notify = hex_digit(d[1])) < 0)
		return qp_corrupt(error_r, "offset %zu: bad notify flags",
				  qp->pos);
	p = parse_len(d + 2, end, &olen);
	if (p == NULL || olen >= (size_t)(end - p))
		return qp_corrupt(error_r, "offset %zu: bad recipient lengths",
				  qp->pos);
	if (msg->nrcpt == qp->nrcpt_header)
		return qp_corrupt(error_r, "offset %zu: more recipients than "
				  "the header's %zu", qp->pos,
				  qp->nrcpt_header);
	if (msg->nrcpt == qp->rcpt_cap) {
		qp->rcpt_cap = qp->rcpt_cap == 0 ? 4 : qp->rcpt_cap * 2;
		msg->rcpts = mem_array_realloc(msg->rcpts, qp->rcpt_cap,
					       sizeof(*msg->rcpts));
	}
	r = &msg->rcpts[msg->nrcpt++];
	r->status = d[0];
	r->notify = (unsigned)notify;
	r->status_offset = (off_t)(d - qp->buf);
	r->orig = olen > 0 ? mem_strndup(p, olen) : NULL;
	r->address = mem_strndup(p + olen, (size_t)(end - p) - olen);
	return 1;
}

static int qp_record(struct qparse *qp, const char **error_r)
{
	const char *start = qp->buf + qp->pos, *end = qp->buf + qp->end;
	const char *d;
	size_t len;
	int ret;

	d = parse_len(start + 1, end, &len);
	if (d == NULL)
		return qp_corrupt(error_r, "offset %zu: bad record length",
				  qp->pos);
	if (len >= (size_t)(end - d))
		return qp_corrupt(error_r, "offset %zu: record length %zu "
				  "past the envelope end %zu", qp->pos, len,
				  qp->end);
	if (d[len] != '\n')
		return qp_corrupt(error_r, "offset %zu: record not ended by "
				  "LF", qp->pos);
	if (memchr(d, '\0', len) != NULL)
		return qp_corrupt(error_r, "offset %zu: NUL in record",
				  qp->pos);
	switch (*start) {
	case REC_TIME:
		ret = qp_time(qp, d, len, error_r);
		break;
	case REC_SENDER:
		ret = qp_sender(qp, d, len, error_r);
		break;
	case REC_ATTR:
		ret = qp_attr(qp, d, len, error_r);
		break;
	case REC_RCPT:
		ret = qp_rcpt(qp, d, len, error_r);
		break;
	case REC_END:
		if (len != 0)
			return qp_corrupt(error_r, "offset %zu: end record "
					  "not empty", qp->pos);
		if (d + 1 != end)
			return qp_corrupt(error_r, "offset %zu: end record "
					  "not at the content offset %zu",
					  qp->pos, qp->end);
		qp->have_end = true;
		ret = 1;
		break;
	default:
		return qp_corrupt(error_r, "offset %zu: unknown record type "
				  "0x%02x", qp->pos, (unsigned char)*start);
	}
	qp->pos = (size_t)(d + len + 1 - qp->buf);
	return ret;
}

static int qp_envelope(struct qparse *qp, const char **error_r)
{
	int ret;

	qp->pos = QUEUE_HEADER_SIZE;
	while (qp->pos < qp->end && !qp->have_end) {
		if ((ret = qp_record(qp, error_r)) != 1)
			return ret;
	}
	if (!qp->have_end)
		return qp_corrupt(error_r, "missing end record");
	if (!qp->have_time)
		return qp_corrupt(error_r, "missing arrival time");
	if (!qp->have_sender)
		return qp_corrupt(error_r, "missing sender");
	if (qp->msg->nrcpt != qp->nrcpt_header)
		return qp_corrupt(error_r, "%zu recipients, header says %zu",
				  qp->msg->nrcpt, qp->nrcpt_header);
	return 1;
}

/* Read exactly len bytes at off; false with errno (EIO on EOF). */
static bool pread_all(int fd, char *buf, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return false;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return true;
}

/* Read the header and envelope and parse them. */
static int qp_read(struct queue_msg *msg, bool for_update,
		   const char **error_r)
{
	struct qparse qp = { .msg = msg };
	struct stat st;
	char *buf;
	size_t got;
	int ret = -1;

	if (fstat(msg->fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode))
		return qp_corrupt(error_r, "not a regular file");
	got = st.st_size < QUEUE_READ_SIZE ? (size_t)st.st_size :
		QUEUE_READ_SIZE;
	buf = mem_alloc(got + 1);
	if (!pread_all(msg->fd, buf, got, 0))
		goto out;
	qp.buf = buf;
	if ((ret = qp_header(&qp, st.st_size, error_r)) != 1)
		goto out;
	if (qp.end > got) {
		buf = mem_realloc(buf, qp.end);
		qp.buf = buf;
		ret = -1;
		if (!pread_all(msg->fd, buf + got, qp.end - got, (off_t)got))
			goto out;
	}
	ret = qp_envelope(&qp, error_r);
	/* A delivery agent reads the content next: when the first read
	 * held all of it, it is kept (queue_msg_content*), sparing the
	 * agent one or two reads of a small message. Not for update
	 * opens: qmgr holds many messages and never reads content. */
	if (ret == 1 && !for_update && (off_t)got == st.st_size &&
	    (off_t)qp.end == msg->content_offset) {
		msg->whole = buf;
		return ret;
	}
out:
	mem_free(buf);
	return ret;
}

static void queue_msg_set_id(struct queue_msg *msg, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	if (queue_id_valid(base))
		memcpy(msg->id, base, QUEUE_ID_LEN + 1);
}

int queue_msg_open(const char *path, bool for_update,
		   struct queue_msg **msg_r, const char **error_r)
{
	struct queue_msg *msg = mem_alloc(sizeof(*msg));
	int ret, saved;

	*msg_r = NULL;
	*error_r = NULL;
	/* O_NONBLOCK: a FIFO planted in maildrop/ must not hang pickup
	 * (it is then refused as "not a regular file"). */
	msg->fd = safe_open_noatime(AT_FDCWD, path, (for_update ? O_RDWR :
				    O_RDONLY) | O_CLOEXEC | O_NOFOLLOW |
				    O_NONBLOCK, 0);
	if (msg->fd < 0) {
		saved = errno;
		mem_free(msg);
		errno = saved;
		return -1;
	}
	msg->path = mem_strdup(path);
	queue_msg_set_id(msg, path);
	ret = qp_read(msg, for_update, error_r);
	if (ret != 1) {
		saved = errno;
		queue_msg_free(&msg);
		errno = saved;
		return ret;
	}
	*msg_r = msg;
	return 1;
}

void queue_msg_free(struct queue_msg **msgp)
{
	struct queue_msg *msg = *msgp;
	size_t i;

	if (msg == NULL)
		return;
	if (msg->fd >= 0)
		(void)close(msg->fd);
	for (i = 0; i < msg->nrcpt; i++) {
		mem_free(msg->rcpts[i].address);
		mem_free(msg->rcpts[i].orig);
	}
	mem_free(msg->rcpts);
	for (i = 0; i < msg->attrs.count; i++) {
		mem_free(msg->attrs.attrs[i].name);
		mem_free(msg->attrs.attrs[i].value);
	}
	mem_free(msg->attrs.attrs);
	mem_free(msg->sender);
	mem_free(msg->path);
	mem_free(msg->whole);
	mem_free(*msgp);
}

bool queue_msg_set_status(struct queue_msg *msg, size_t i, char status)
{
	if (i >= msg->nrcpt || (status != QUEUE_RCPT_TODO &&
				status != QUEUE_RCPT_DONE &&
				status != QUEUE_RCPT_BOUNCED)) {
		errno = EINVAL;
		return false;
	}
	if (pwrite(msg->fd, &status, 1, msg->rcpts[i].status_offset) != 1) {
		if (errno == 0)
			errno = EIO;
		return false;
	}
	msg->rcpts[i].status = status;
	return true;
}

bool queue_msg_sync(struct queue_msg *msg)
{
	return fdatasync(msg->fd) == 0;
}

bool queue_msg_mark(struct queue_msg *msg, size_t i, char status)
{
	return queue_msg_set_status(msg, i, status) && queue_msg_sync(msg);
}

size_t queue_msg_todo(const struct queue_msg *msg)
{
	size_t i, n = 0;

	for (i = 0; i < msg->nrcpt; i++) {
		if (msg->rcpts[i].status == QUEUE_RCPT_TODO)
			n++;
	}
	return n;
}

ssize_t queue_msg_content_read(struct queue_msg *msg, off_t pos,
			       void *buf, size_t len)
{
	ssize_t n;

	if (pos < 0) {
		errno = EINVAL;
		return -1;
	}
	if (pos >= msg->content_len || len == 0)
		return 0;
	if (len > (size_t)(msg->content_len - pos))
		len = (size_t)(msg->content_len - pos);
	if (msg->whole != NULL) {
		memcpy(buf, msg->whole + msg->content_offset + pos, len);
		return (ssize_t)len;
	}
	do {
		n = pread(msg->fd, buf, len, msg->content_offset + pos);
	} while (n < 0 && errno == EINTR);
	if (n == 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

bool queue_msg_content(struct queue_msg *msg, struct str *out, size_t max)
{
	size_t len;

	if ((unsigned long long)msg->content_len > max) {
		errno = EFBIG;
		return false;
	}
	len = (size_t)msg->content_len;
	if (msg->whole != NULL) {
		str_append_n(out, msg->whole + msg->content_offset, len);
		return true;
	}
	str_reserve(out, len);
	if (!pread_all(msg->fd, out->data + out->len, len,
		       msg->content_offset)) {
		out->data[out->len] = '\0';
		return false;
	}
	out->len += len;
	out->data[out->len] = '\0';
	return true;
}

static bool content_copy_rw(struct queue_msg *msg, off_t pos, int out_fd)
{
	char *buf = mem_realloc(NULL, QUEUE_BUF_SIZE);	/* no zeroing */
	ssize_t n;
	bool ok = true;

	while (ok && pos < msg->content_len) {
		n = queue_msg_content_read(msg, pos, buf, QUEUE_BUF_SIZE);
		if (n < 0)
			ok = false;
		else if (!write_all(out_fd, buf, (size_t)n))
			ok = false;
		else
			pos += n;
	}
	mem_free(buf);
	return ok;
}

/* Copy the content from *in (a file offset) to its end with one kernel
 * call after another: copy_file_range, or sendfile. 1 when done, -1 on
 * failure, 0 when the kernel refuses this pair of files (errno says
 * why; *in is where it stopped, for another way to go on from). */
static int content_copy_kernel(struct queue_msg *msg, bool use_sendfile,
			       off_t *in, int out_fd)
{
	off_t end = msg->content_offset + msg->content_len;
	ssize_t n;

	while (*in < end) {
		n = use_sendfile ?
			sendfile(out_fd, msg->fd, in, (size_t)(end - *in)) :
			copy_file_range(msg->fd, in, out_fd, NULL,
					(size_t)(end - *in), 0);
		if (n > 0)
			continue;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
		    errno == EOPNOTSUPP || errno == EBADF || errno == EPERM)
			return 0;
		return -1;
	}
	return 1;
}

bool queue_msg_content_copy(struct queue_msg *msg, int out_fd)
{
	/* Once the kernel said it cannot copy between these file systems
	 * (local copies a queue file into a memory file for every
	 * delivery: copy_file_range refuses, sendfile does it), this
	 * process does not ask again. EINVAL and the like may be this
	 * out_fd's alone (O_APPEND). Content already in memory is
	 * written from there. */
	static bool cfr_unusable, sendfile_unusable;
	off_t in = msg->content_offset;
	int r;

	if (msg->whole == NULL && !cfr_unusable) {
		if ((r = content_copy_kernel(msg, false, &in, out_fd)) != 0)
			return r > 0;
		cfr_unusable = errno == EXDEV || errno == ENOSYS ||
			errno == EOPNOTSUPP;
	}
	if (msg->whole == NULL && !sendfile_unusable) {
		if ((r = content_copy_kernel(msg, true, &in, out_fd)) != 0)
			return r > 0;
		sendfile_unusable = errno == ENOSYS;
	}
	return content_copy_rw(msg, in - msg->content_offset, out_fd);
}
