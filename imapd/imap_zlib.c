/*
 * imap_zlib: the raw deflate streams of COMPRESS=DEFLATE (imap_zlib.h).
 *
 * Both streams use windowBits -15 (raw deflate, 32 kB window), which is
 * what RFC 4978 asks and what every client sends. The deflater runs at
 * the default level with memLevel 8: about 256 kB per session for the
 * deflater and 44 kB for the inflater, allocated once at COMPRESS.
 *
 * SECURITY: the compressed input is the client's and untrusted. zlib
 * checks the stream; a corrupt one is an error that ends the session.
 * The inflater never produces more than the caller's max per call and
 * keeps at most one read of compressed input queued (the session reads
 * from the socket only when nothing is pending), so memory stays bounded
 * whatever the ratio.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "imap_zlib.h"
#include "mem.h"

struct imap_zlib {
	z_stream in, out;
	struct str queued;	/* compressed input not yet given to zlib */
	size_t queued_off;
	bool more;		/* the last inflate filled its output */
	bool broken;
	size_t in_raw, in_plain, out_plain, out_raw;
};

struct imap_zlib *imap_zlib_create(void)
{
	struct imap_zlib *z = mem_alloc(sizeof(*z));

	if (inflateInit2(&z->in, -15) != Z_OK)
		msg_fatal("zlib: inflateInit2 failed");
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		msg_fatal("zlib: deflateInit2 failed");
	return z;
}

void imap_zlib_free(struct imap_zlib **zp)
{
	struct imap_zlib *z = *zp;

	if (z == NULL)
		return;
	inflateEnd(&z->in);
	deflateEnd(&z->out);
	str_release(&z->queued);
	mem_free(z);
	*zp = NULL;
}

bool imap_zlib_deflate(struct imap_zlib *z, const void *data, size_t len,
		       struct str *out)
{
	size_t start = out->len;

	z->out.next_in = (Bytef *)(uintptr_t)data;
	z->out.avail_in = (uInt)len;
	do {
		int r;

		str_reserve(out, len / 2 + 64);
		z->out.next_out = (Bytef *)out->data + out->len;
		z->out.avail_out = (uInt)(out->cap - out->len - 1);
		r = deflate(&z->out, Z_SYNC_FLUSH);
		if (r != Z_OK && r != Z_BUF_ERROR)
			return false;
		out->len = (size_t)((char *)z->out.next_out - out->data);
		/* Z_SYNC_FLUSH is complete when output space was left. */
	} while (z->out.avail_out == 0 || z->out.avail_in > 0);
	out->data[out->len] = '\0';
	z->out_plain += len;
	z->out_raw += out->len - start;
	return true;
}

void imap_zlib_input(struct imap_zlib *z, const void *data, size_t len)
{
	if (z->queued_off == z->queued.len) {
		str_clear(&z->queued);
		z->queued_off = 0;
	}
	str_append_n(&z->queued, data, len);
	z->in_raw += len;
}

ssize_t imap_zlib_inflate(struct imap_zlib *z, struct str *out, size_t max)
{
	size_t before = out->len;
	int r;

	if (z->broken)
		return -1;
	if (max == 0)
		return 0;
	str_reserve(out, max);
	z->in.next_in = (Bytef *)z->queued.data + z->queued_off;
	z->in.avail_in = (uInt)(z->queued.len - z->queued_off);
	z->in.next_out = (Bytef *)out->data + out->len;
	z->in.avail_out = (uInt)max;
	r = inflate(&z->in, Z_SYNC_FLUSH);
	z->queued_off = z->queued.len - z->in.avail_in;
	out->len = (size_t)((char *)z->in.next_out - out->data);
	out->data[out->len] = '\0';
	z->more = z->in.avail_out == 0;
	if (r == Z_STREAM_END || (r != Z_OK && r != Z_BUF_ERROR)) {
		z->broken = true;
		return -1;
	}
	z->in_plain += out->len - before;
	return (ssize_t)(out->len - before);
}

bool imap_zlib_pending(const struct imap_zlib *z)
{
	return !z->broken && (z->more || z->queued_off < z->queued.len);
}

void imap_zlib_totals(const struct imap_zlib *z, size_t *in_raw_r,
		      size_t *in_plain_r, size_t *out_plain_r,
		      size_t *out_raw_r)
{
	*in_raw_r = z->in_raw;
	*in_plain_r = z->in_plain;
	*out_plain_r = z->out_plain;
	*out_raw_r = z->out_raw;
}
