#ifndef COMMON_LIO_H
#define COMMON_LIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "msg.h"
#include "str.h"

/* Bounded, buffered line I/O over a blocking or non-blocking fd with
 * timeouts: the base of every protocol (SMTP, POP3, IMAP and the internal
 * request protocol).
 *
 * Reads never trust the peer: a line is at most the caller's limit, a read
 * waits at most the timeout. A TLS layer plugs in through lio_ops. */

enum lio_status {
	LIO_OK = 1,
	LIO_EOF = 0,		/* orderly close before any byte of the line */
	LIO_ERROR = -1,		/* I/O error (errno set) */
	LIO_TIMEOUT = -2,
	LIO_TOOLONG = -3,	/* limit reached before LF; see lio_read_line */
};

struct lio_ops {
	/* Like read(2)/write(2); return -1 with errno EAGAIN when they
	 * would block, and report in *want_write whether the next attempt
	 * must wait for writability (TLS renegotiation). */
	ssize_t (*read)(void *ctx, void *buf, size_t len, bool *want_write);
	ssize_t (*write)(void *ctx, const void *buf, size_t len,
			 bool *want_read);
	/* Bytes already decrypted and waiting inside the layer. */
	size_t (*pending)(void *ctx);
};

struct lio;

/* Wrap fd; lio_free closes it. timeout is in seconds, 0 = no timeout. */
struct lio *lio_create(int fd, int timeout);
void lio_free(struct lio **lio);
int lio_fd(const struct lio *lio);
void lio_set_timeout(struct lio *lio, int seconds);
/* Route I/O through a layer (NULL ops restores the plain fd). */
void lio_set_ops(struct lio *lio, const struct lio_ops *ops, void *ctx);

/* Read one line into line (cleared first), including its terminating LF
 * (and CR before it, if any) exactly as received, so protocols can tell
 * CRLF from a bare LF. At most max bytes are stored: if max bytes arrive
 * without LF, returns LIO_TOOLONG with those bytes in line and the rest of
 * the line left to be read by the next call. At EOF after a partial line,
 * returns LIO_OK with the partial line (no LF); the next call returns
 * LIO_EOF. */
enum lio_status lio_read_line(struct lio *lio, struct str *line, size_t max);
/* Read exactly len bytes (appended to out), e.g. a BDAT chunk or a
 * literal. LIO_EOF if the peer closes first. */
enum lio_status lio_read_exact(struct lio *lio, struct str *out, size_t len);
/* Append to out whatever input is available, at most max bytes: the
 * buffered bytes if any, else one read (waiting up to the timeout). For
 * relays (a TLS proxy) and for handing pipelined input to another
 * process. LIO_EOF at end of file. */
enum lio_status lio_read_avail(struct lio *lio, struct str *out, size_t max);
/* Make data the next input, ahead of anything still to be read from the
 * fd: input that another process read before handing the connection
 * over. False if it does not fit in the input buffer (16 kB with what is
 * already buffered). */
bool lio_push_input(struct lio *lio, const void *data, size_t len);
/* Bytes received but not yet consumed by a read call (plus bytes pending
 * in the ops layer). Used to detect pipelined input. */
size_t lio_pending(const struct lio *lio);
/* The caller knows input is waiting (its event loop said the fd is
 * readable): the next read tries at once. Without it, a read from a
 * socket just written to waits in poll first (lio.c). */
void lio_ready(struct lio *lio);
/* Forget buffered input (after STARTTLS: CVE-2011-0411). */
void lio_discard_input(struct lio *lio);

/* Buffered output; lio_flush writes it all within the timeout. */
void lio_write(struct lio *lio, const void *data, size_t len);
void lio_puts(struct lio *lio, const char *text);
void lio_printf(struct lio *lio, const char *fmt, ...) MSG_PRINTF(2, 3);
enum lio_status lio_flush(struct lio *lio);
size_t lio_output_pending(const struct lio *lio);
/* After a flush: wipe the output buffer (it carried credentials). */
void lio_wipe_output(struct lio *lio);

/* Sticky error state: after a timeout or error every call fails fast. */
enum lio_status lio_error(const struct lio *lio);

/* Connect helpers returning a connected fd or -1 (errno set). */
/* Send each write at once (no Nagle delay) on a TCP socket; a no-op on
 * others. For servers that already write whole answers: a small answer
 * behind a big one otherwise waits for the peer's delayed ACK (40 ms). */
void lio_tcp_nodelay(int fd);
int lio_connect_unix(const char *path, int timeout);
int lio_connect_tcp(const char *host, const char *port, int timeout);

#endif
