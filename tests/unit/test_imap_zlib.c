/*
 * Unit tests for imapd/imap_zlib.c (COMPRESS=DEFLATE framing): a round
 * trip through the two streams, output decodable after every flush (a
 * raw inflater of zlib's own sees each response whole), input fed one
 * byte at a time, a decompression bomb inflated in bounded steps, and a
 * corrupt stream refused.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "imap_zlib.h"
#include "test_util.h"

/* Inflate everything queued in z into out, in max-byte steps. */
static void drain(struct imap_zlib *z, struct str *out, size_t max)
{
	ssize_t n;

	do {
		n = imap_zlib_inflate(z, out, max);
		ck_assert_int_ge(n, 0);
		ck_assert_uint_le((size_t)n, max);
	} while (imap_zlib_pending(z));
}

START_TEST(test_roundtrip)
{
	struct imap_zlib *a = imap_zlib_create(), *b = imap_zlib_create();
	struct str wire = STR_INIT, plain = STR_INIT, expect = STR_INIT;

	for (int i = 0; i < 2000; i++) {
		char line[128];

		(void)snprintf(line, sizeof(line), "* %d FETCH (UID %d "
			       "FLAGS (\\Seen))\r\n", i + 1, i * 7);
		str_append(&expect, line);
		str_clear(&wire);
		ck_assert(imap_zlib_deflate(a, line, strlen(line), &wire));
		/* Flushed: the whole line comes out of the other side
		 * with no more input. */
		imap_zlib_input(b, wire.data, wire.len);
		drain(b, &plain, 4096);
		ck_assert_uint_eq(plain.len, expect.len);
	}
	ck_assert_mem_eq(plain.data, expect.data, expect.len);
	str_release(&wire);
	str_release(&plain);
	str_release(&expect);
	imap_zlib_free(&a);
	imap_zlib_free(&b);
	ck_assert_ptr_null(a);
}
END_TEST

/* What a client with zlib of its own (raw, -15) makes of our output. */
START_TEST(test_flush_boundary)
{
	struct imap_zlib *z = imap_zlib_create();
	struct str wire = STR_INIT;
	z_stream in;
	char buf[256];
	const char *resp = "A1 OK Begin compression.\r\n";

	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(inflateInit2(&in, -15), Z_OK);
	ck_assert(imap_zlib_deflate(z, resp, strlen(resp), &wire));
	/* A sync flush ends in the empty stored block 00 00 ff ff. */
	ck_assert_uint_ge(wire.len, 4);
	ck_assert_mem_eq(wire.data + wire.len - 4, "\0\0\377\377", 4);
	in.next_in = (Bytef *)wire.data;
	in.avail_in = (uInt)wire.len;
	in.next_out = (Bytef *)buf;
	in.avail_out = sizeof(buf);
	ck_assert_int_eq(inflate(&in, Z_SYNC_FLUSH), Z_OK);
	ck_assert_uint_eq(sizeof(buf) - in.avail_out, strlen(resp));
	ck_assert_mem_eq(buf, resp, strlen(resp));
	inflateEnd(&in);
	str_release(&wire);
	imap_zlib_free(&z);
}
END_TEST

START_TEST(test_one_byte_at_a_time)
{
	struct imap_zlib *a = imap_zlib_create(), *b = imap_zlib_create();
	struct str wire = STR_INIT, plain = STR_INIT;
	const char *cmd = "a SELECT INBOX\r\nb FETCH 1:* (FLAGS)\r\n"
			  "c APPEND INBOX {5+}\r\nhello\r\n";

	ck_assert(imap_zlib_deflate(a, cmd, strlen(cmd), &wire));
	for (size_t i = 0; i < wire.len; i++) {
		imap_zlib_input(b, wire.data + i, 1);
		drain(b, &plain, 7);
	}
	ck_assert_uint_eq(plain.len, strlen(cmd));
	ck_assert_mem_eq(plain.data, cmd, plain.len);
	str_release(&wire);
	str_release(&plain);
	imap_zlib_free(&a);
	imap_zlib_free(&b);
}
END_TEST

/* 64 MB of one byte compresses to about 64 kB; each inflate step gives
 * at most max bytes and leaves the rest pending, never more. */
START_TEST(test_bomb_bounded)
{
	struct imap_zlib *a = imap_zlib_create(), *b = imap_zlib_create();
	struct str wire = STR_INIT, plain = STR_INIT;
	size_t total = 0, chunk = 1024 * 1024, steps = 0;
	char *zeros = calloc(1, chunk);

	for (int i = 0; i < 64; i++)
		ck_assert(imap_zlib_deflate(a, zeros, chunk, &wire));
	ck_assert_uint_lt(wire.len, 512 * 1024);
	imap_zlib_input(b, wire.data, wire.len);
	while (imap_zlib_pending(b)) {
		ssize_t n;

		str_clear(&plain);
		n = imap_zlib_inflate(b, &plain, 16384);
		ck_assert_int_ge(n, 0);
		ck_assert_uint_le((size_t)n, 16384);
		/* The caller's buffer never grows past one step. */
		ck_assert_uint_le(plain.cap, 16384 * 2 + 64);
		total += (size_t)n;
		steps++;
	}
	ck_assert_uint_eq(total, 64 * chunk);
	ck_assert_uint_ge(steps, 64 * chunk / 16384);
	free(zeros);
	str_release(&wire);
	str_release(&plain);
	imap_zlib_free(&a);
	imap_zlib_free(&b);
}
END_TEST

START_TEST(test_corrupt)
{
	struct imap_zlib *z = imap_zlib_create();
	struct str plain = STR_INIT;
	/* BTYPE 11 (reserved) in the first block header. */
	const char bad[] = "\xff\xff\xff\xff";

	imap_zlib_input(z, bad, 4);
	ck_assert_int_eq(imap_zlib_inflate(z, &plain, 100), -1);
	ck_assert(!imap_zlib_pending(z));
	ck_assert_int_eq(imap_zlib_inflate(z, &plain, 100), -1);
	str_release(&plain);
	imap_zlib_free(&z);
}
END_TEST

static Suite *imap_zlib_suite(void)
{
	Suite *s = suite_create("imap_zlib");
	TCase *tc = tcase_create("deflate");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_flush_boundary);
	tcase_add_test(tc, test_one_byte_at_a_time);
	tcase_add_test(tc, test_bomb_bounded);
	tcase_add_test(tc, test_corrupt);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_zlib_suite());
}
