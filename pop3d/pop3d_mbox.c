/*
 * pop3d_mbox: the Maildir INBOX of one POP3 session (pop3d.h).
 *
 * Opening reads the folder through the mailbox store (store.h): its
 * index gives every message's UID and size with CRLF line ends, so STAT,
 * LIST and UIDL cost no file access at all (POP3's former correo-uidlist
 * becomes the index on first access, UIDLs unchanged); messages still in
 * new/ move to cur/, and DELE + QUIT expunges through the index, so IMAP
 * sessions see the deletions at once. Messages are streamed through a buffer:
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
	uint32_t *claimed = NULL;

	memset(mb, 0, sizeof(*mb));
	mb->folder = store_folder_open(".", false, error_r);
	if (mb->folder == NULL)
		return false;
	/* As before the store, POP3 moves what it has seen to cur/. */
	if (store_claim_new(mb->folder, &claimed, error_r) < 0) {
		store_folder_free(&mb->folder);
		return false;
	}
	free(claimed);
	mb->validity = mb->folder->uidvalidity;
	mb->count = mb->folder->count;
	mb->msgs = mem_array(mb->count + 1, sizeof(*mb->msgs));
	mb->deleted = mem_alloc(mb->count + 1);
	for (size_t i = 0; i < mb->count; i++) {
		mb->msgs[i].uid = mb->folder->msgs[i].uid;
		mb->msgs[i].vsize = mb->folder->msgs[i].vsize;
		mb->size += mb->msgs[i].vsize;
	}
	return true;
}

void pop3d_mbox_free(struct pop3d_mbox *mb)
{
	store_folder_free(&mb->folder);
	mem_free(mb->msgs);
	mem_free(mb->deleted);
}

int pop3d_mbox_open_msg(struct pop3d_mbox *mb, size_t idx)
{
	struct str error = STR_INIT;
	int fd = store_msg_open(mb->folder, mb->msgs[idx].uid, &error);

	if (fd < 0 && errno != ENOENT)
		msg_warn("%s", str_c(&error));
	str_release(&error);
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
	struct str error = STR_INIT;
	uint32_t *uids = mem_array(mb->count + 1, sizeof(*uids));
	size_t n = 0, failed = 0;

	for (size_t i = 0; i < mb->count; i++)
		if (mb->deleted[i])
			uids[n++] = mb->msgs[i].uid;
	/* Through the index, so IMAP sessions see them go; messages
	 * another client removed already are simply not there. */
	if (n > 0 && store_expunge(mb->folder, uids, n, &error) < 0) {
		msg_warn("expunge: %s", str_c(&error));
		failed = n;
	}
	free(uids);
	str_release(&error);
	return failed;
}
