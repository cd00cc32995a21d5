/*
 * Unit tests for common/sasl.c: base64 (RFC 4648 vectors, malformed
 * input), PLAIN decoding (missing NULs, empty fields, over-long input)
 * and crypt(3) password hashes.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "str.h"
#include "test_util.h"

START_TEST(test_base64_vectors)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	struct str enc = STR_INIT, dec = STR_INIT;
	size_t i;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		str_clear(&enc);
		sasl_base64_encode(&enc, vec[i][0], strlen(vec[i][0]));
		ck_assert_str_eq(str_c(&enc), vec[i][1]);
		ck_assert(sasl_base64_decode(vec[i][1], strlen(vec[i][1]),
					     &dec));
		ck_assert_str_eq(str_c(&dec), vec[i][0]);
	}
	str_release(&enc);
	str_release(&dec);
}
END_TEST

START_TEST(test_base64_binary_roundtrip)
{
	unsigned char bin[256];
	struct str enc = STR_INIT, dec = STR_INIT;
	size_t i;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i;
	sasl_base64_encode(&enc, bin, sizeof(bin));
	ck_assert(sasl_base64_decode(enc.data, enc.len, &dec));
	ck_assert_uint_eq(dec.len, sizeof(bin));
	ck_assert_int_eq(memcmp(dec.data, bin, sizeof(bin)), 0);
	str_release(&enc);
	str_release(&dec);
}
END_TEST

START_TEST(test_base64_malformed)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "Zm9v!", "Zm 9v", "=Zm9", "Zg==Zg==",
		"Zh==", "Zm9=", "Zm\n9v",
	};
	struct str dec = STR_INIT;
	size_t i;
	char *huge;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!sasl_base64_decode(bad[i], strlen(bad[i]),
						  &dec), "accepted %s", bad[i]);
	huge = malloc(SASL_MAX_RESPONSE + 4);
	memset(huge, 'A', SASL_MAX_RESPONSE + 4);
	ck_assert(!sasl_base64_decode(huge, SASL_MAX_RESPONSE + 4, &dec));
	free(huge);
	str_release(&dec);
}
END_TEST

static bool plain(const char *raw, size_t len, struct sasl_plain *p,
		  const char **why)
{
	struct str msg = STR_INIT;
	bool ok;

	str_append_n(&msg, raw, len);
	ok = sasl_plain_parse(&msg, p, why);
	str_release(&msg);
	return ok;
}

START_TEST(test_plain)
{
	struct sasl_plain p;
	const char *why = NULL;
	char *big;

	ck_assert(plain("\0bob\0secret", 11, &p, &why));
	ck_assert_str_eq(p.authzid, "");
	ck_assert_str_eq(p.authcid, "bob");
	ck_assert_str_eq(p.passwd, "secret");
	ck_assert(plain("admin\0bob\0pw", 12, &p, &why));
	ck_assert_str_eq(p.authzid, "admin");
	ck_assert(!plain("bobsecret", 9, &p, &why));
	ck_assert_ptr_nonnull(strstr(why, "missing NUL"));
	ck_assert(!plain("\0bobsecret", 10, &p, &why));
	ck_assert(!plain("\0\0secret", 8, &p, &why));
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert(!plain("\0bob\0", 5, &p, &why));
	ck_assert(!plain("\0bob\0se\0cret", 12, &p, &why));
	ck_assert_ptr_nonnull(strstr(why, "extra NUL"));
	big = calloc(1, SASL_MAX_FIELD + 10);
	memset(big + 1, 'x', SASL_MAX_FIELD + 2);
	big[SASL_MAX_FIELD + 3] = '\0';
	big[SASL_MAX_FIELD + 4] = 'p';
	ck_assert(!plain(big, SASL_MAX_FIELD + 5, &p, &why));
	ck_assert_ptr_nonnull(strstr(why, "too long"));
	free(big);
}
END_TEST

START_TEST(test_password_hash)
{
	struct str h = STR_INIT, h2 = STR_INIT;

	ck_assert(sasl_hash_password("correct horse", &h));
	ck_assert(str_has_prefix(str_c(&h), "$y$") ||
		  str_has_prefix(str_c(&h), "$6$"));
	ck_assert(sasl_verify_password("correct horse", str_c(&h)));
	ck_assert(!sasl_verify_password("correct horsE", str_c(&h)));
	ck_assert(!sasl_verify_password("", str_c(&h)));
	ck_assert(sasl_hash_password("correct horse", &h2));
	ck_assert_str_ne(str_c(&h), str_c(&h2));	/* salted */
	ck_assert(!sasl_verify_password("x", NULL));
	ck_assert(!sasl_verify_password("x", ""));
	ck_assert(!sasl_verify_password("x", "garbage"));
	str_release(&h);
	str_release(&h2);
}
END_TEST

START_TEST(test_equal)
{
	ck_assert(sasl_equal("abc", "abc", 3));
	ck_assert(!sasl_equal("abc", "abd", 3));
	ck_assert(sasl_equal("", "", 0));
}
END_TEST

static Suite *sasl_suite(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_base64_vectors);
	tcase_add_test(tc, test_base64_binary_roundtrip);
	tcase_add_test(tc, test_base64_malformed);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_password_hash);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(sasl_suite());
}
