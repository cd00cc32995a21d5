#ifndef IMAPD_IMAP_ZLIB_H
#define IMAPD_IMAP_ZLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "str.h"

/* COMPRESS=DEFLATE (RFC 4978): the two raw deflate streams (RFC 1951, no
 * zlib or gzip header) of one session, one per direction.
 *
 * Output is compressed and flushed to a byte boundary (Z_SYNC_FLUSH) at
 * every imap_zlib_deflate(), so the peer can decode everything written so
 * far: a response is never held back inside the compressor.
 *
 * Input is pulled, not pushed: compressed bytes are queued with
 * imap_zlib_input() and inflated by imap_zlib_inflate() at most max bytes
 * at a time, so the memory a peer can make the session use does not
 * depend on the compression ratio (a "decompression bomb" of a few kB
 * that inflates to gigabytes is read 16 kB at a time and refused by the
 * command parser's own limits like any other long input). */

struct imap_zlib;

struct imap_zlib *imap_zlib_create(void);
void imap_zlib_free(struct imap_zlib **z);

/* Compress len bytes of data and flush, appending to out. False only on
 * an internal zlib error. */
bool imap_zlib_deflate(struct imap_zlib *z, const void *data, size_t len,
		       struct str *out);

/* Queue compressed input (copied). */
void imap_zlib_input(struct imap_zlib *z, const void *data, size_t len);
/* Inflate queued input, appending at most max bytes to out: the number
 * appended (0: more input is needed), or -1 if the stream is corrupt or
 * ended (a raw deflate stream from an IMAP client never ends). */
ssize_t imap_zlib_inflate(struct imap_zlib *z, struct str *out, size_t max);
/* True while queued input or inflated output not yet taken is left, so
 * that imap_zlib_inflate() must be called before waiting for the peer. */
bool imap_zlib_pending(const struct imap_zlib *z);
/* Bytes in and out of each direction, for the logout line. */
void imap_zlib_totals(const struct imap_zlib *z, size_t *in_raw_r,
		      size_t *in_plain_r, size_t *out_plain_r,
		      size_t *out_raw_r);

#endif
