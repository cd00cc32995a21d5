/*
 * pop3d_mbox: the Maildir INBOX of one POP3 session (pop3d.h).
 *
 * Opening synchronizes the folder's UID list once (uidlist_sync: new/ is
 * moved to cur/, new names get uids, sizes with CRLF line ends are
 * computed once per message and kept in the list), so STAT, LIST and UIDL
 * cost no file access at all. Messages are streamed through a buffer:
 * Maildir files have LF line ends, POP3 wants CRLF and dot-stuffing, so
 * sendfile is no use; one read and at most one write per 64 kB, and
 * no read to find the end of a file shorter than that.
 *
 * SECURITY: runs as the mailbox owner in the Maildir. File names come
 * from the UID list, which checks them ('/'-free, below cur/), and files
 * are opened with O_NOFOLLOW. Message content is data only.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"

#include "pop3d.h"

#define POP3D_READ_CHUNK 65536
#define POP3D_LOCK_TIMEOUT 30

bool pop3d_mbox_open(struct pop3d_mbox *mb, struct str *error_r)
{
	size_t i;

	memset(mb, 0, sizeof(*mb));
	if (!uidlist_sync(".", &mb->ul, POP3D_LOCK_TIMEOUT, error_r))
		return false;
	mb->deleted = mem_alloc(mb->ul.count + 1);
	for (i = 0; i < mb->ul.count; i++)
		mb->size += mb->ul.recs[i].vsize;
	return true;
}

void pop3d_mbox_free(struct pop3d_mbox *mb)
{
	uidlist_clear(&mb->ul);
	mem_free(mb->deleted);
}

/* The message's file was renamed (new flags): find it again in cur/. */
static bool pop3d_mbox_refind(struct uidlist_rec *r)
{
	size_t len = strlen(r->name);
	struct dirent *de;
	bool found = false;
	DIR *d;

	d = opendir("cur");
	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, r->name, len) == 0 &&
		    (de->d_name[len] == ':' || de->d_name[len] == '\0')) {
			free(r->file);
			r->file = mem_strdup(de->d_name);
			found = true;
			break;
		}
	}
	closedir(d);
	return found;
}

static int pop3d_mbox_open_file(const struct uidlist_rec *r)
{
	struct str path = STR_INIT;
	int fd;

	str_printf(&path, "cur/%s", r->file);
	fd = open(str_c(&path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	str_release(&path);
	return fd;
}

int pop3d_mbox_open_msg(struct pop3d_mbox *mb, size_t idx)
{
	struct uidlist_rec *r = &mb->ul.recs[idx];
	int fd;

	fd = pop3d_mbox_open_file(r);
	if (fd < 0 && errno == ENOENT && pop3d_mbox_refind(r))
		fd = pop3d_mbox_open_file(r);
	return fd;
}

/* Where a message's conversion stands between chunks. */
struct pop3d_xfer {
	bool bol;		/* at the start of a line */
	bool last_cr;		/* the line so far ends in CR */
	size_t linelen;		/* bytes of the line so far */
	bool in_header;
	long lines_left;	/* body lines still to send; -1: all */
	bool done;
};

/* Convert one chunk into out. */
static void pop3d_xfer_chunk(struct pop3d_xfer *x, const char *p,
			     const char *end, struct str *out)
{
	const char *lf, *seg;
	bool header_line;

	while (p < end && !x->done) {
		if (x->bol) {
			if (*p == '.')
				str_append_c(out, '.');
			x->bol = false;
			x->linelen = 0;
			x->last_cr = false;
		}
		lf = memchr(p, '\n', (size_t)(end - p));
		seg = lf != NULL ? lf : end;
		if (seg > p) {
			str_append_n(out, p, (size_t)(seg - p));
			x->linelen += (size_t)(seg - p);
			x->last_cr = seg[-1] == '\r';
		}
		if (lf == NULL)
			break;
		str_append(out, x->last_cr ? "\n" : "\r\n");
		header_line = x->in_header;
		if (x->in_header && (x->linelen == 0 ||
				     (x->linelen == 1 && x->last_cr)))
			x->in_header = false;
		if (!header_line && x->lines_left > 0)
			x->lines_left--;
		if (!x->in_header && x->lines_left == 0)
			x->done = true;
		x->bol = true;
		p = lf + 1;
	}
}

bool pop3d_mbox_send(struct lio *lio, int fd, long body_lines,
		     uint64_t *sent_r)
{
	/* Kept for the session: allocating 200 kB per message costs an
	 * mmap and page faults each time. Idle sessions that never
	 * retrieve anything never allocate them. */
	static struct str out = STR_INIT;
	static char *buf;
	struct pop3d_xfer x = { .bol = true, .in_header = true,
				.lines_left = body_lines };
	bool ok = true;
	ssize_t n;

	if (buf == NULL) {
		buf = mem_alloc(POP3D_READ_CHUNK);
		str_reserve(&out, POP3D_READ_CHUNK * 2 + 16);
	}
	str_clear(&out);
	while (!x.done) {
		n = read(fd, buf, POP3D_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ok = false;
			break;
		}
		if (n == 0)
			break;
		*sent_r += (uint64_t)n;
		pop3d_xfer_chunk(&x, buf, buf + n, &out);
		/* A short read of a regular file is its end (Maildir
		 * files never grow once in cur/): no read just to see
		 * 0, one syscall less per message. */
		if (n < POP3D_READ_CHUNK)
			break;
		if (out.len >= POP3D_READ_CHUNK) {
			lio_write(lio, out.data, out.len);
			str_clear(&out);
		}
	}
	if (ok) {
		if (!x.bol)
			str_append(&out, "\r\n");
		str_append(&out, ".\r\n");
		lio_write(lio, out.data, out.len);
	}
	return ok;
}

size_t pop3d_mbox_expunge(struct pop3d_mbox *mb)
{
	struct str path = STR_INIT;
	struct uidlist_rec *r;
	size_t i, failed = 0;

	for (i = 0; i < mb->ul.count; i++) {
		if (!mb->deleted[i])
			continue;
		r = &mb->ul.recs[i];
		str_clear(&path);
		str_printf(&path, "cur/%s", r->file);
		if (unlink(str_c(&path)) == 0)
			continue;
		if (errno == ENOENT && pop3d_mbox_refind(r)) {
			str_clear(&path);
			str_printf(&path, "cur/%s", r->file);
			if (unlink(str_c(&path)) == 0)
				continue;
		}
		/* Gone already (another client expunged it) is fine. */
		if (errno == ENOENT)
			continue;
		msg_warn("unlink %s: %m", str_c(&path));
		failed++;
	}
	str_release(&path);
	return failed;
}
