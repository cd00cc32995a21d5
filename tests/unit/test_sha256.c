/*
 * Unit tests for sha256 (common/util/sha256.c): FIPS 180-4's examples,
 * a million 'a's, and OpenSSL's digest of random inputs of every length
 * up to four blocks, taken whole and in random pieces.
 */
#include "config.h"

#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "test_util.h"

static const char *hex(const unsigned char *md)
{
	static char out[2 * SHA256_LEN + 1];

	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return out;
}

START_TEST(test_fips_examples)
{
	unsigned char md[SHA256_LEN];
	char block[1000];
	struct sha256 c;

	sha256("", 0, md);
	ck_assert_str_eq(hex(md), "e3b0c44298fc1c149afbf4c8996fb924"
			 "27ae41e4649b934ca495991b7852b855");
	sha256("abc", 3, md);
	ck_assert_str_eq(hex(md), "ba7816bf8f01cfea414140de5dae2223"
			 "b00361a396177a9cb410ff61f20015ad");
	sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	       56, md);
	ck_assert_str_eq(hex(md), "248d6a61d20638b8e5c026930c3e6039"
			 "a33ce45964ff2167f6ecedd419db06c1");
	memset(block, 'a', sizeof(block));
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, block, sizeof(block));
	sha256_final(&c, md);
	ck_assert_str_eq(hex(md), "cdc76e5c9914fb9281a1c7e284d73e67"
			 "f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(test_against_openssl)
{
	unsigned char data[260], md[SHA256_LEN], want[SHA256_LEN];
	unsigned int wlen;

	srand(20261202);
	for (size_t len = 0; len <= sizeof(data); len++) {
		struct sha256 c;
		size_t at = 0;

		for (size_t i = 0; i < len; i++)
			data[i] = (unsigned char)rand();
		ck_assert(EVP_Digest(data, len, want, &wlen, EVP_sha256(),
				     NULL) == 1);
		sha256(data, len, md);
		ck_assert_msg(memcmp(md, want, SHA256_LEN) == 0,
			      "length %zu", len);
		sha256_init(&c);
		while (at < len) {
			size_t n = (size_t)rand() % (len - at + 1);

			sha256_update(&c, data + at, n);
			at += n;
		}
		sha256_final(&c, md);
		ck_assert_msg(memcmp(md, want, SHA256_LEN) == 0,
			      "length %zu in pieces", len);
	}
}
END_TEST

static Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("sha256");

	tcase_add_test(tc, test_fips_examples);
	tcase_add_test(tc, test_against_openssl);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(sha256_suite());
}
