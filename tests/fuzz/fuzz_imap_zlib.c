/*
 * fuzz_imap_zlib: libFuzzer target for COMPRESS=DEFLATE's streams
 * (imapd/imap_zlib.c).
 *
 * Input: the first byte picks the inflate step (1 to 256 bytes), the rest
 * is fed to the inflater as a client's compressed stream, in pieces.
 * Checked properties: no step gives more than its limit, pending input
 * ends (each step makes progress or stops), an error stays an error; and
 * the same bytes, deflated and flushed, inflate back to themselves when
 * fed one byte at a time.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "imap_zlib.h"

static void check_inflate(const uint8_t *data, size_t size, size_t step)
{
	struct imap_zlib *z = imap_zlib_create();
	struct str out = STR_INIT;
	size_t off = 0;

	while (off < size) {
		size_t piece = size - off < 97 ? size - off : 97;
		unsigned rounds = 0;

		imap_zlib_input(z, data + off, piece);
		off += piece;
		while (imap_zlib_pending(z)) {
			ssize_t n;

			str_clear(&out);
			n = imap_zlib_inflate(z, &out, step);
			if (n < 0) {
				if (imap_zlib_pending(z) ||
				    imap_zlib_inflate(z, &out, step) != -1)
					abort();
				goto out;
			}
			if ((size_t)n > step || out.len != (size_t)n)
				abort();
			/* Input is consumed or output given: a stream of
			 * at most 64 kB makes far fewer rounds. */
			if (++rounds > 1000000)
				abort();
		}
	}
out:
	str_release(&out);
	imap_zlib_free(&z);
}

static void check_roundtrip(const uint8_t *data, size_t size)
{
	struct imap_zlib *a = imap_zlib_create(), *b = imap_zlib_create();
	struct str wire = STR_INIT, plain = STR_INIT;

	if (!imap_zlib_deflate(a, data, size, &wire))
		abort();
	for (size_t i = 0; i < wire.len; i++) {
		imap_zlib_input(b, wire.data + i, 1);
		while (imap_zlib_pending(b))
			if (imap_zlib_inflate(b, &plain, 64) < 0)
				abort();
	}
	if (plain.len != size || (size > 0 &&
				  memcmp(plain.data, data, size) != 0))
		abort();
	str_release(&wire);
	str_release(&plain);
	imap_zlib_free(&a);
	imap_zlib_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_imap_zlib");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 65536)
		return 0;
	check_inflate(data + 1, size - 1, (size_t)data[0] + 1);
	check_roundtrip(data + 1, size - 1);
	return 0;
}
