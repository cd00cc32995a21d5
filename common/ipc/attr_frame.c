/*
 * attr_frame: attribute lists framed from an event loop's input buffer
 * (attr_frame.h).
 *
 * SECURITY: the buffer holds a peer's raw requests (auth's may carry
 * passwords: its owner wipes it); nothing here interprets them.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "attr_frame.h"

static ssize_t attr_frame_read(void *ctx, void *buf, size_t len,
			       bool *want_write)
{
	struct attr_frame *fr = ctx;

	*want_write = false;
	if (fr->framed == 0) {
		errno = EAGAIN;	/* callers read whole lists only */
		return -1;
	}
	if (len > fr->framed)
		len = fr->framed;
	memcpy(buf, fr->in.data, len);
	str_consume(&fr->in, len);
	fr->framed -= len;
	return (ssize_t)len;
}

static ssize_t attr_frame_write(void *ctx, const void *buf, size_t len,
				bool *want_read)
{
	struct attr_frame *fr = ctx;

	*want_read = false;
	return send(fr->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static size_t attr_frame_pending(void *ctx)
{
	return ((struct attr_frame *)ctx)->framed;
}

static const struct lio_ops attr_frame_ops = {
	.read = attr_frame_read,
	.write = attr_frame_write,
	.pending = attr_frame_pending,
};

void attr_frame_attach(struct attr_frame *fr, struct lio *lio)
{
	fr->fd = lio_fd(lio);
	lio_set_ops(lio, &attr_frame_ops, fr);
}

bool attr_frame_next(struct attr_frame *fr)
{
	const char *end;

	if (fr->framed > 0)
		return true;
	if (fr->in.len > 0 && fr->in.data[0] == '\n') {
		fr->framed = 1;
		return true;
	}
	end = fr->in.len > 1 ? memmem(fr->in.data, fr->in.len, "\n\n", 2)
			     : NULL;
	if (end == NULL)
		return false;
	fr->framed = (size_t)(end - fr->in.data) + 2;
	return true;
}
