/*
 * fuzz_lio: libFuzzer target for the bounded line reader
 * (common/lio.c): lio_read_line with odd limits mixed with
 * lio_read_exact, lio_read_avail and lio_push_input.
 *
 * Input: 8 control bytes, then the stream. Control byte 0 says how many
 * stream bytes to hand in with lio_push_input (the rest comes from a
 * memfd); the others, used in turn, pick each call and its limit. The
 * checks are the reader's contract: a line never exceeds its limit,
 * LIO_OK lines end in LF except the last one before EOF, LIO_TOOLONG
 * means exactly the limit without LF, and every byte of the stream is
 * returned once, in order (what the calls returned concatenated equals
 * the stream).
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "lio.h"

#define NCTL 8

static void check_line(const struct str *line, size_t max,
		       enum lio_status st)
{
	const char *lf = line->len > 0 ?
		memchr(line->data, '\n', line->len) : NULL;

	if (line->len > max)
		abort();
	if (st == LIO_TOOLONG && (line->len != max || lf != NULL))
		abort();
	if (st == LIO_OK && (line->len == 0 ||
			     (lf != NULL && lf != line->data + line->len - 1)))
		abort();
}

/* One call chosen by ctl; appends what it returned to got. False when
 * the stream is done. */
static bool one_call(struct lio *lio, uint8_t ctl, struct str *got,
		     bool *complete_r)
{
	struct str buf = STR_INIT;
	enum lio_status st;
	size_t max = 1 + (ctl & 0x3f);
	bool more = true;

	if (ctl & 0x40)
		max *= 97;	/* up to 6208: longer than one read */
	switch (ctl >> 7) {
	case 0:
		st = lio_read_line(lio, &buf, max);
		check_line(&buf, max, st);
		break;
	default:
		if (ctl & 1) {
			st = lio_read_exact(lio, &buf, max);
			if (st == LIO_OK && buf.len != max)
				abort();
		} else {
			st = lio_read_avail(lio, &buf, max);
			if (st == LIO_OK && (buf.len == 0 || buf.len > max))
				abort();
		}
		break;
	}
	if (buf.len > 0)
		str_append_n(got, buf.data, buf.len);
	if (st == LIO_EOF) {
		/* read_exact may drop a partial tail; the others not. */
		*complete_r = !(ctl >> 7) || !(ctl & 1);
		more = false;
	} else if (st != LIO_OK && st != LIO_TOOLONG) {
		abort();
	}
	str_release(&buf);
	return more;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_lio");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in = data + NCTL;
	size_t len, push, i;
	struct str got = STR_INIT;
	struct lio *lio;
	bool complete = false;

	if (size < NCTL)
		return 0;
	len = size - NCTL;
	push = data[0] % 64 < len ? data[0] % 64 : len;
	lio = lio_create(fuzz_fd(in + push, len - push), 0);
	if (!lio_push_input(lio, in, push))
		abort();
	if (lio_pending(lio) != push)
		abort();
	for (i = 0; i <= len && one_call(lio, data[1 + i % (NCTL - 1)],
					 &got, &complete); i++)
		;
	if (got.len > len || (got.len > 0 && memcmp(got.data, in,
						      got.len) != 0)) {
		fprintf(stderr, "lio returned bytes the stream does not"
			" have at that place\n");
		abort();
	}
	if (complete && got.len != len)
		abort();
	str_release(&got);
	lio_free(&lio);
	return 0;
}
