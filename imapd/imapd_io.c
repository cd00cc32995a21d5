/*
 * imapd_io: the session loop of the IMAP mail process (imapd.h): read
 * bytes, feed the command parser, answer continuations, run commands,
 * send buffered output.
 *
 * The loop is blocking: one process serves one session, and the only
 * other thing it waits for is the mailbox during IDLE (imapd_read_line
 * polls an inotify descriptor beside the client).
 *
 * After COMPRESS DEFLATE (RFC 4978) both directions go through
 * imap_zlib: each flush is deflated and sync-flushed, and input is
 * inflated a bounded step at a time, only when the parser needs more,
 * so compressed input never grows s->in beyond what uncompressed input
 * could.
 *
 * SECURITY: runs as the mailbox owner; everything from the client goes
 * through the parser's limits (line, literal and APPEND sizes, nesting,
 * argument count). A client that stops reading is cut off when a write
 * blocks for longer than the idle timeout. A corrupt deflate stream ends
 * the session.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imapd.h"
#include "imapd_fts.h"
#include "mem.h"
#include "msg.h"

void imapd_init(struct imapd *s, int in_fd, int out_fd, const char *user,
		const char *root)
{
	struct imap_parser_limits limits = {
		.append_literal_max = IMAPD_APPEND_MAX,
		.literals_total_max = IMAPD_APPEND_MAX_TOTAL,
		.literal_plus = true,
	};

	memset(s, 0, sizeof(*s));
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->user = user;
	s->root = mem_strdup(root);
	s->parser = imap_parser_create(&limits);
	s->park_fd = -1;
	s->park_delay = -1;
}

void imapd_deinit(struct imapd *s)
{
	imapd_close_mailbox(s, false);
	imapd_notify_free(s);
	imap_parser_free(&s->parser);
	imap_seqset_release(&s->saved);
	str_release(&s->in);
	str_release(&s->out);
	str_release(&s->tagged);
	str_release(&s->zbuf);
	imap_zlib_free(&s->zlib);
	mem_free(s->root);
	mem_free(s->quota_rule);
	mem_free(s->addr);
}

void imapd_append(struct imapd *s, const char *data, size_t len)
{
	str_append_n(&s->out, data, len);
	if (s->out.len >= IMAPD_OUT_FLUSH)
		(void)imapd_flush(s);
}

void imapd_printf(struct imapd *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (s->out.len >= IMAPD_OUT_FLUSH)
		(void)imapd_flush(s);
}

/* Write all of data, waiting while the socket is full. */
static bool imapd_write_all(struct imapd *s, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(s->out_fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = s->out_fd,
					    .events = POLLOUT };

			if (poll(&p, 1, IMAPD_TIMEOUT * 1000) <= 0)
				goto fail;
			continue;
		}
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	s->out_bytes += off;
	return true;
fail:
	return false;
}

bool imapd_flush(struct imapd *s)
{
	bool ok;

	if (s->out.len == 0)
		return true;
	if (s->zlib != NULL) {
		/* Every flush ends a deflate block on a byte boundary
		 * (Z_SYNC_FLUSH): the client can read the whole
		 * response now. */
		str_clear(&s->zbuf);
		ok = imap_zlib_deflate(s->zlib, s->out.data, s->out.len,
				       &s->zbuf) &&
		     imapd_write_all(s, s->zbuf.data, s->zbuf.len);
	} else {
		ok = imapd_write_all(s, s->out.data, s->out.len);
	}
	str_clear(&s->out);
	if (!ok) {
		/* The client is gone or stuck: nothing more can be
		 * said. */
		s->logout = true;
	}
	return ok;
}

/* Inflate what COMPRESS input is queued into s->in, a bounded amount at
 * a time. False if the stream is corrupt. */
static bool imapd_inflate(struct imapd *s)
{
	ssize_t n = imap_zlib_inflate(s->zlib, &s->in, IMAPD_INFLATE_MAX);

	if (n < 0) {
		msg_warn("%s: corrupt COMPRESS input", s->user);
		return false;
	}
	return true;
}

void imapd_compress_start(struct imapd *s)
{
	s->zlib_start = false;
	if (!imapd_flush(s))
		return;
	s->zlib = imap_zlib_create();
	/* What the client sent after COMPRESS is already compressed. */
	if (s->in.len > 0) {
		imap_zlib_input(s->zlib, s->in.data, s->in.len);
		str_clear(&s->in);
	}
}

/* Read what the client sent into s->in (after COMPRESS: inflate what
 * is pending first, else read and inflate at most IMAPD_INFLATE_MAX);
 * false on EOF, error, a corrupt stream or timeout (after timeout
 * seconds). */
static bool imapd_fill(struct imapd *s, int timeout)
{
	struct pollfd p = { .fd = s->in_fd, .events = POLLIN };
	char buf[16384];
	ssize_t n;
	int r;

	if (s->zlib != NULL && imap_zlib_pending(s->zlib))
		return imapd_inflate(s);
	do {
		r = poll(&p, 1, timeout * 1000);
	} while (r < 0 && errno == EINTR);
	if (r <= 0) {
		if (r == 0) {
			imapd_printf(s, "* BYE Disconnected for inactivity.\r\n");
			(void)imapd_flush(s);
		}
		return false;
	}
	if (s->zlib != NULL) {
		do {
			n = read(s->in_fd, buf, sizeof(buf));
		} while (n < 0 && errno == EINTR);
		if (n <= 0)
			return false;
		s->in_bytes += (uint64_t)n;
		imap_zlib_input(s->zlib, buf, (size_t)n);
		return imapd_inflate(s);
	}
	str_reserve(&s->in, sizeof(buf));
	do {
		n = read(s->in_fd, s->in.data + s->in.len,
			 s->in.cap - s->in.len - 1);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	s->in.len += (size_t)n;
	s->in.data[s->in.len] = '\0';
	s->in_bytes += (uint64_t)n;
	return true;
}

int imapd_read_line(struct imapd *s, int extra_fd, int timeout,
		    struct str *line_r)
{
	for (;;) {
		const char *nl = memchr(s->in.data == NULL ? "" : s->in.data,
					'\n', s->in.len);
		struct pollfd p[2] = {
			{ .fd = s->in_fd, .events = POLLIN },
			{ .fd = extra_fd, .events = POLLIN },
		};
		int r;

		if (nl != NULL) {
			size_t len = (size_t)(nl - s->in.data);

			str_clear(line_r);
			str_append_n(line_r, s->in.data,
				     len > 0 && nl[-1] == '\r' ? len - 1 :
				     len);
			str_consume(&s->in, len + 1);
			return 1;
		}
		if (s->in.len > 8192)
			return -1;
		if (s->zlib != NULL && imap_zlib_pending(s->zlib)) {
			if (!imapd_fill(s, 0))
				return -1;
			continue;
		}
		do {
			r = poll(p, extra_fd >= 0 ? 2 : 1, timeout * 1000);
		} while (r < 0 && errno == EINTR);
		if (r <= 0)
			return -1;
		if (extra_fd >= 0 && (p[1].revents & POLLIN) &&
		    !(p[0].revents & (POLLIN | POLLHUP)))
			return 0;
		if (!imapd_fill(s, 0))
			return -1;
	}
}

static void imapd_parse_error(struct imapd *s, bool fatal)
{
	const struct imap_cmd *cmd = imap_parser_cmd(s->parser);
	const char *error = imap_parser_error(s->parser);

	if (fatal) {
		imapd_printf(s, "* BYE %s\r\n", error);
		s->logout = true;
	} else if (cmd->tag != NULL) {
		if (imap_parser_error_toobig(s->parser))
			imapd_printf(s, "%s NO [TOOBIG] %s\r\n", cmd->tag,
				     error);
		else
			imapd_printf(s, "%s BAD %s\r\n", cmd->tag, error);
	} else {
		imapd_printf(s, "* BAD %s\r\n", error);
	}
}

void imapd_serve(struct imapd *s, const char *greeting)
{
	unsigned bad = 0;
	bool between = true;	/* no byte of a next command parsed yet */

	if (greeting != NULL)	/* NULL: a resumed session */
		imapd_printf(s, "%s\r\n", greeting);
	(void)imapd_flush(s);
	while (!s->logout) {
		size_t used = 0;
		enum imap_parse_result r;

		between &= s->in.len == 0;
		r = imap_parser_feed(s->parser, s->in.data == NULL ? "" :
				     s->in.data, s->in.len, &used);
		str_consume(&s->in, used);
		switch (r) {
		case IMAP_PARSE_MORE:
			/* A quiet session between commands indexes for
			 * SEARCH (imapd_fts.c), then may be parked
			 * (imapd_park.c). */
			if (!imapd_flush(s)) {
				s->logout = true;
				break;
			}
			if (between)
				(void)imapd_fts_idle(s, -1);
			if ((between && imapd_park_quiet(s)) ||
			    !imapd_fill(s, IMAPD_TIMEOUT))
				s->logout = true;
			break;
		case IMAP_PARSE_CONT:
			if (imapd_quota_literal_refused(s))
				break;
			imapd_printf(s, "+ OK\r\n");
			if (!imapd_flush(s))
				s->logout = true;
			break;
		case IMAP_PARSE_DONE:
			bad = 0;
			imapd_command(s, imap_parser_cmd(s->parser));
			imap_parser_reset(s->parser);
			between = true;
			if (s->zlib_start)
				imapd_compress_start(s);
			break;
		case IMAP_PARSE_ERROR:
			imapd_parse_error(s, false);
			/* Dovecot's rule: a client that only sends errors
			 * is not an IMAP client. */
			if (++bad >= 20) {
				imapd_printf(s, "* BYE Too many invalid IMAP "
					     "commands.\r\n");
				s->logout = true;
			}
			break;
		default:	/* IMAP_PARSE_FATAL */
			imapd_parse_error(s, true);
			break;
		}
	}
	(void)imapd_flush(s);
}
