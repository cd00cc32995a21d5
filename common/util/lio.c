/*
 * lio: bounded, buffered line I/O over an fd with timeouts (lio.h).
 *
 * Input is read in chunks of LIO_CHUNK bytes into one buffer and lines are
 * cut out of it with memchr, so a client streaming a message costs one
 * system call per chunk, not per byte. Output is collected in a string and
 * written when the caller flushes, when it grows past LIO_OUT_MAX, or when
 * a read is about to wait for the peer (like a bidirectional stdio stream:
 * replies to pipelined commands go out together, and a request/response
 * exchange cannot deadlock on an unflushed request).
 *
 * Every public read or flush gets one deadline (timeout seconds from
 * its first wait: a call that finds its data ready reads no clock) and
 * all waiting inside that call counts against it. Sockets are used with
 * MSG_DONTWAIT, so blocking and non-blocking sockets behave the same and
 * the common case (data ready) costs one system call. A read from a
 * plain socket written to since the last read (a request, or replies
 * flushed because the input buffer ran dry) polls first instead: the
 * answer cannot be there yet, and a read would fail with EAGAIN; an
 * event loop that saw the fd readable says so with lio_ready. Other
 * fds are polled first when a timeout is set. A timeout or an I/O error is
 * sticky: every later read, write or flush fails fast with the same
 * status. End of file is sticky for reads only.
 *
 * A layer (TLS) plugs in through struct lio_ops. Its read and write must
 * not block (the layer puts the socket in non-blocking mode or reads it
 * with MSG_DONTWAIT): lio calls them first and polls only after EAGAIN,
 * for readability or, when the layer asks, writability.
 *
 * lio_free does not flush: a caller that wants its last reply sent calls
 * lio_flush (and learns whether it went out).
 *
 * SECURITY: the peer is untrusted. A line never exceeds the caller's
 * limit and memory use is bounded by it plus one chunk; every wait is
 * bounded by the timeout. Writes to a socket the peer closed use
 * MSG_NOSIGNAL, and writes to a pipe catch the SIGPIPE, so a vanished
 * client is an error return, never a dead process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "lio.h"
#include "mem.h"

#define LIO_CHUNK 16384		/* bytes asked of one read */
#define LIO_OUT_MAX 65536	/* flush when this much output is queued */

enum lio_kind {
	LIO_KIND_SOCKET,
	LIO_KIND_PIPE,
	LIO_KIND_OTHER,
};

struct lio {
	int fd;
	int timeout;
	enum lio_kind kind;
	const struct lio_ops *ops;
	void *ctx;

	char *in;		/* LIO_CHUNK bytes */
	size_t in_pos;		/* first unconsumed byte */
	size_t in_len;		/* end of valid bytes */
	bool eof;

	struct str out;
	size_t out_pos;		/* bytes of out already written */
	bool wrote;		/* written to since the last read */

	enum lio_status error;	/* LIO_OK, or the sticky failure */
};

/* The deadline for one call: LIO_NO_DEADLINE, or LIO_DEADLINE_LATER,
 * which the call's first wait turns into now + timeout (most calls
 * never wait, and need not read the clock). */
#define LIO_NO_DEADLINE		(-1LL)
#define LIO_DEADLINE_LATER	(-2LL)

static long long lio_deadline(const struct lio *lio)
{
	return lio->timeout <= 0 ? LIO_NO_DEADLINE : LIO_DEADLINE_LATER;
}

static enum lio_kind lio_kind_of(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return LIO_KIND_OTHER;
	if (S_ISSOCK(st.st_mode))
		return LIO_KIND_SOCKET;
	if (S_ISFIFO(st.st_mode))
		return LIO_KIND_PIPE;
	return LIO_KIND_OTHER;
}

struct lio *lio_create(int fd, int timeout)
{
	struct lio *lio = mem_alloc(sizeof(*lio));

	lio->fd = fd;
	lio->timeout = timeout;
	lio->kind = lio_kind_of(fd);
	lio->in = mem_alloc(LIO_CHUNK);
	lio->error = LIO_OK;
	return lio;
}

void lio_free(struct lio **lio)
{
	if (*lio == NULL)
		return;
	if ((*lio)->fd >= 0)
		(void)close((*lio)->fd);
	mem_free((*lio)->in);
	str_release(&(*lio)->out);
	mem_free(*lio);
}

int lio_fd(const struct lio *lio)
{
	return lio->fd;
}

void lio_set_timeout(struct lio *lio, int seconds)
{
	lio->timeout = seconds;
}

void lio_set_ops(struct lio *lio, const struct lio_ops *ops, void *ctx)
{
	lio->ops = ops;
	lio->ctx = ops != NULL ? ctx : NULL;
}

enum lio_status lio_error(const struct lio *lio)
{
	return lio->error;
}

static enum lio_status lio_fail(struct lio *lio, enum lio_status status)
{
	int saved = errno;

	lio->error = status;
	if (status == LIO_TIMEOUT)
		saved = ETIMEDOUT;
	errno = saved;
	return status;
}

/* Wait until fd is ready for events or the deadline passes. Readiness
 * includes errors and hang-ups: the following read or write reports
 * them. */
static enum lio_status lio_wait(struct lio *lio, short events,
				long long *deadline)
{
	struct pollfd pfd = { .fd = lio->fd, .events = events };
	long long left;
	int n;

	for (;;) {
		left = -1;
		if (*deadline == LIO_DEADLINE_LATER)
			*deadline = ev_now_ms() +
				(long long)lio->timeout * 1000;
		if (*deadline >= 0) {
			left = *deadline - ev_now_ms();
			if (left <= 0)
				return lio_fail(lio, LIO_TIMEOUT);
		}
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0) {
			if (pfd.revents & POLLNVAL) {
				errno = EBADF;
				return lio_fail(lio, LIO_ERROR);
			}
			return LIO_OK;
		}
		if (n < 0 && errno != EINTR)
			return lio_fail(lio, LIO_ERROR);
	}
}

/* One read attempt; -1 with EAGAIN when nothing is there yet. */
static ssize_t lio_raw_read(struct lio *lio, void *buf, size_t len,
			    bool *want_write)
{
	*want_write = false;
	if (lio->ops != NULL)
		return lio->ops->read(lio->ctx, buf, len, want_write);
	if (lio->kind == LIO_KIND_SOCKET)
		return recv(lio->fd, buf, len, MSG_DONTWAIT);
	return read(lio->fd, buf, len);
}

static enum lio_status lio_flush_until(struct lio *lio, long long *deadline);

/* Before waiting for the peer, send what it may be waiting for. */
static enum lio_status lio_flush_before_wait(struct lio *lio,
					     long long *deadline)
{
	if (lio->out.len == lio->out_pos)
		return LIO_OK;
	return lio_flush_until(lio, deadline);
}

/* Read at least one byte into buf (up to len); LIO_EOF at end of input. */
static enum lio_status lio_read_some(struct lio *lio, void *buf, size_t len,
				     long long *deadline, size_t *got_r)
{
	bool want_write, poll_first;
	ssize_t n;

	if (lio->error != LIO_OK)
		return lio->error;
	if (lio->eof)
		return LIO_EOF;
	/* A read from a pipe or tty may block: flush first. With a timeout,
	 * poll first, or a blocking fd would ignore it. */
	poll_first = lio->ops == NULL && lio->kind != LIO_KIND_SOCKET;
	if (poll_first && lio_flush_before_wait(lio, deadline) != LIO_OK)
		return lio->error;
	poll_first = poll_first && *deadline != LIO_NO_DEADLINE;
	/* A plain socket we just wrote to (or are about to): the answer to
	 * that cannot be there yet, so wait for it instead of trying a read
	 * that fails with EAGAIN (one system call a request or command;
	 * data that came earlier makes the poll return at once). */
	if (lio->ops == NULL && lio->kind == LIO_KIND_SOCKET &&
	    (lio->wrote || lio->out.len > lio->out_pos))
		poll_first = true;
	want_write = false;
	for (;;) {
		if (poll_first) {
			if (lio_flush_before_wait(lio, deadline) != LIO_OK ||
			    lio_wait(lio, want_write ? POLLOUT : POLLIN,
				     deadline) != LIO_OK)
				return lio->error;
		}
		n = lio_raw_read(lio, buf, len, &want_write);
		if (n > 0) {
			lio->wrote = false;
			*got_r = (size_t)n;
			return LIO_OK;
		}
		if (n == 0) {
			lio->eof = true;
			return LIO_EOF;
		}
		if (errno == EINTR) {
			poll_first = false;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return lio_fail(lio, LIO_ERROR);
		poll_first = true;
	}
}

/* Refill the (empty) input buffer. */
static enum lio_status lio_fill(struct lio *lio, long long *deadline)
{
	enum lio_status st;
	size_t got;

	lio->in_pos = 0;
	lio->in_len = 0;
	st = lio_read_some(lio, lio->in, LIO_CHUNK, deadline, &got);
	if (st == LIO_OK)
		lio->in_len = got;
	return st;
}

static size_t lio_buffered(const struct lio *lio)
{
	return lio->in_len - lio->in_pos;
}

enum lio_status lio_read_line(struct lio *lio, struct str *line, size_t max)
{
	long long deadline = lio_deadline(lio);
	enum lio_status st;
	const char *start, *lf;
	size_t room, n;

	if (max == 0)
		msg_panic("lio_read_line: zero limit");
	str_clear(line);
	if (lio->error != LIO_OK)
		return lio->error;
	for (;;) {
		if (lio_buffered(lio) == 0) {
			st = lio_fill(lio, &deadline);
			if (st == LIO_EOF && line->len > 0)
				return LIO_OK;
			if (st != LIO_OK)
				return st;
		}
		start = lio->in + lio->in_pos;
		room = max - line->len;
		n = lio_buffered(lio) < room ? lio_buffered(lio) : room;
		lf = memchr(start, '\n', n);
		if (lf != NULL)
			n = (size_t)(lf - start) + 1;
		str_append_n(line, start, n);
		lio->in_pos += n;
		if (lf != NULL)
			return LIO_OK;
		if (line->len == max)
			return LIO_TOOLONG;
	}
}

/* Large reads skip the buffer and land in out directly. */
static enum lio_status lio_read_direct(struct lio *lio, struct str *out,
				       size_t want, long long *deadline,
				       size_t *got_r)
{
	enum lio_status st;

	str_reserve(out, want);
	st = lio_read_some(lio, out->data + out->len, want, deadline, got_r);
	if (st != LIO_OK)
		return st;
	out->len += *got_r;
	out->data[out->len] = '\0';
	return LIO_OK;
}

enum lio_status lio_read_exact(struct lio *lio, struct str *out, size_t len)
{
	long long deadline = lio_deadline(lio);
	enum lio_status st;
	size_t n;

	if (lio->error != LIO_OK)
		return lio->error;
	while (len > 0) {
		n = lio_buffered(lio);
		if (n == 0 && len >= LIO_CHUNK) {
			st = lio_read_direct(lio, out, len < LIO_OUT_MAX ?
					     len : LIO_OUT_MAX, &deadline, &n);
			if (st != LIO_OK)
				return st;
			len -= n;
			continue;
		}
		if (n == 0) {
			st = lio_fill(lio, &deadline);
			if (st != LIO_OK)
				return st;
			n = lio_buffered(lio);
		}
		if (n > len)
			n = len;
		str_append_n(out, lio->in + lio->in_pos, n);
		lio->in_pos += n;
		len -= n;
	}
	return LIO_OK;
}

enum lio_status lio_read_avail(struct lio *lio, struct str *out, size_t max)
{
	long long deadline = lio_deadline(lio);
	enum lio_status st;
	size_t n;

	if (lio->error != LIO_OK)
		return lio->error;
	if (lio_buffered(lio) == 0) {
		st = lio_fill(lio, &deadline);
		if (st != LIO_OK)
			return st;
	}
	n = lio_buffered(lio) < max ? lio_buffered(lio) : max;
	str_append_n(out, lio->in + lio->in_pos, n);
	lio->in_pos += n;
	return LIO_OK;
}

bool lio_push_input(struct lio *lio, const void *data, size_t len)
{
	size_t have = lio_buffered(lio);

	if (len > LIO_CHUNK - have)
		return false;
	memmove(lio->in + len, lio->in + lio->in_pos, have);
	memcpy(lio->in, data, len);
	lio->in_pos = 0;
	lio->in_len = have + len;
	return true;
}

void lio_ready(struct lio *lio)
{
	lio->wrote = false;
}

size_t lio_pending(const struct lio *lio)
{
	size_t n = lio_buffered(lio);

	if (lio->ops != NULL && lio->ops->pending != NULL)
		n += lio->ops->pending(lio->ctx);
	return n;
}

void lio_discard_input(struct lio *lio)
{
	lio->in_pos = 0;
	lio->in_len = 0;
}

/* write(2) to a pipe whose reader may be gone, without dying of SIGPIPE:
 * block the signal, and if this write raised it, take it back. */
static ssize_t lio_pipe_write(int fd, const void *buf, size_t len)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe_set, old, pending;
	bool was_pending;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, buf, len);
	saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending) {
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

static ssize_t lio_raw_write(struct lio *lio, const void *buf, size_t len,
			     bool *want_read)
{
	*want_read = false;
	if (lio->ops != NULL)
		return lio->ops->write(lio->ctx, buf, len, want_read);
	switch (lio->kind) {
	case LIO_KIND_SOCKET:
		return send(lio->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	case LIO_KIND_PIPE:
		return lio_pipe_write(lio->fd, buf, len);
	default:
		return write(lio->fd, buf, len);
	}
}

/* Write all of buf before the deadline. */
static enum lio_status lio_write_all(struct lio *lio, const char *buf,
				     size_t len, long long *deadline)
{
	bool want_read, must_poll;
	size_t chunk;
	ssize_t n;

	/* Only sockets and layers can be written without blocking. Once
	 * poll says a pipe is writable, PIPE_BUF bytes fit without it. */
	must_poll = lio->ops == NULL && lio->kind != LIO_KIND_SOCKET &&
		    *deadline != LIO_NO_DEADLINE;
	while (len > 0) {
		chunk = len;
		if (must_poll) {
			if (lio_wait(lio, POLLOUT, deadline) != LIO_OK)
				return lio->error;
			if (lio->kind == LIO_KIND_PIPE && chunk > PIPE_BUF)
				chunk = PIPE_BUF;
		}
		n = lio_raw_write(lio, buf, chunk, &want_read);
		if (n >= 0) {
			lio->wrote = true;
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return lio_fail(lio, LIO_ERROR);
		if (!must_poll && lio_wait(lio, want_read ? POLLIN : POLLOUT,
					   deadline) != LIO_OK)
			return lio->error;
	}
	return LIO_OK;
}

static enum lio_status lio_flush_until(struct lio *lio, long long *deadline)
{
	enum lio_status st;

	if (lio->error != LIO_OK)
		return lio->error;
	st = lio_write_all(lio, lio->out.data + lio->out_pos,
			   lio->out.len - lio->out_pos, deadline);
	if (st != LIO_OK)
		return st;
	str_clear(&lio->out);
	lio->out_pos = 0;
	return LIO_OK;
}

enum lio_status lio_flush(struct lio *lio)
{
	long long deadline = lio_deadline(lio);

	if (lio->error != LIO_OK)
		return lio->error;
	if (lio->out.len == lio->out_pos)
		return LIO_OK;
	return lio_flush_until(lio, &deadline);
}

size_t lio_output_pending(const struct lio *lio)
{
	return lio->out.len - lio->out_pos;
}

/* Keep the output buffer bounded: large output goes out as it is
 * produced. Errors are sticky and reported by the next flush or read. */
static void lio_limit_output(struct lio *lio)
{
	if (lio_output_pending(lio) >= LIO_OUT_MAX)
		(void)lio_flush(lio);
}

void lio_write(struct lio *lio, const void *data, size_t len)
{
	if (lio->error != LIO_OK)
		return;
	if (len >= LIO_OUT_MAX) {
		long long deadline = lio_deadline(lio);

		if (lio_flush(lio) == LIO_OK)
			(void)lio_write_all(lio, data, len, &deadline);
		return;
	}
	str_append_n(&lio->out, data, len);
	lio_limit_output(lio);
}

void lio_wipe_output(struct lio *lio)
{
	if (lio->out.data != NULL && lio->out.len == lio->out_pos)
		explicit_bzero(lio->out.data, lio->out.cap);
}

void lio_puts(struct lio *lio, const char *text)
{
	lio_write(lio, text, strlen(text));
}

void lio_printf(struct lio *lio, const char *fmt, ...)
{
	va_list ap;

	if (lio->error != LIO_OK)
		return;
	va_start(ap, fmt);
	str_vprintf(&lio->out, fmt, ap);
	va_end(ap);
	lio_limit_output(lio);
}

/* Set SO_SNDTIMEO; on a Unix socket it also bounds connect(). */
static int lio_set_sndtimeo(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void lio_tcp_nodelay(int fd)
{
	int on = 1;

	/* ENOTSUP/EOPNOTSUPP on a Unix socket: nothing to do. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int lio_connect_unix(const char *path, int timeout)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, saved;

	if (!str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A full listen queue makes connect wait; bound it. */
	if (timeout > 0 && lio_set_sndtimeo(fd, timeout) < 0)
		goto fail;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EINPROGRESS)
			errno = ETIMEDOUT;
		goto fail;
	}
	if (timeout > 0 && lio_set_sndtimeo(fd, 0) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

static int lio_set_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

/* Finish a non-blocking connect within timeout seconds (0: no limit). */
static int lio_connect_wait(int fd, int timeout)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	long long deadline = ev_now_ms() + (long long)timeout * 1000;
	long long left = -1;
	socklen_t len = sizeof(int);
	int n, err = 0;

	for (;;) {
		if (timeout > 0) {
			left = deadline - ev_now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
		}
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Connect to one address; each address gets the whole timeout, so one
 * black-holed address of several does not starve the others. */
static int lio_connect_addr(const struct addrinfo *ai, int timeout)
{
	int fd, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		if (lio_connect_wait(fd, timeout) < 0)
			goto fail;
	}
	if (lio_set_nonblock(fd, false) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

static int lio_gai_errno(int gai)
{
	switch (gai) {
	case EAI_SYSTEM:
		return errno;
	case EAI_AGAIN:
		return EAGAIN;
	case EAI_MEMORY:
		return ENOMEM;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
		return ENOENT;
	default:
		return EINVAL;
	}
}

int lio_connect_tcp(const char *host, const char *port, int timeout)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res, *ai;
	int gai, fd = -1, saved = ECONNREFUSED;

	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		errno = lio_gai_errno(gai);
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = lio_connect_addr(ai, timeout);
		if (fd < 0)
			saved = errno;
	}
	freeaddrinfo(res);
	if (fd < 0)
		errno = saved;
	return fd;
}
