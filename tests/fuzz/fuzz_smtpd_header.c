/*
 * fuzz_smtpd_header: libFuzzer target for smtpd's header watcher
 * (smtpd/smtpd_header.c), which adds Message-ID: and Date: to submitted
 * mail while the content streams into the queue.
 *
 * Input: byte 0 seeds how the content is cut into pieces; the rest is
 * the content (LF line ends, as smtpd passes it). Checks: the output does
 * not depend on where the pieces were cut (whole content vs pieces of
 * 1-16 bytes), and it is the content with one insertion, never altered
 * (a common prefix and suffix cover the whole input).
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <time.h>

#include "fuzz.h"

#include "addr.h"
#include "smtpd.h"

static void run(const char *p, size_t n, unsigned seed, struct str *out)
{
	struct smtpd_header *h = smtpd_header_create("mx.example.com",
						     "1K0T8KD6CVR00K8E00");
	size_t piece;

	while (n > 0) {
		piece = n;
		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			piece = 1 + (seed >> 16) % 16;
		}
		if (piece > n)
			piece = n;
		smtpd_header_feed(h, p, piece, out);
		p += piece;
		n -= piece;
	}
	smtpd_header_finish(h, out);
	smtpd_header_free(&h);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_smtpd_header");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct str whole = STR_INIT, pieces = STR_INIT;
	const char *in = (const char *)data + 1;
	size_t len, pre = 0, suf = 0;
	time_t t0 = time(NULL);
	char *copy;

	if (size < 1)
		return 0;
	len = size - 1;
	copy = mem_dup(in, len);
	run(copy, len, 0, &whole);	/* seed 0: one piece */
	run(copy, len, data[0] | 1, &pieces);
	/* Date: may differ across a second boundary. */
	if (time(NULL) == t0 &&
	    (whole.len != pieces.len ||
	     (whole.len > 0 && memcmp(whole.data, pieces.data,
				      whole.len) != 0))) {
		fprintf(stderr, "output depends on the cut points\n");
		abort();
	}
	if (whole.len < len)
		abort();
	while (pre < len && whole.data[pre] == copy[pre])
		pre++;
	while (suf < len - pre &&
	       whole.data[whole.len - 1 - suf] == copy[len - 1 - suf])
		suf++;
	if (pre + suf != len) {
		fprintf(stderr, "content altered\n");
		abort();
	}
	str_release(&whole);
	str_release(&pieces);
	mem_free(copy);
	return 0;
}
