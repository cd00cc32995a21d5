/*
 * Unit tests for common/cidr.c: $mynetworks lists with IPv4, IPv6 and
 * IPv4-mapped addresses, and the errors for bad entries and masks.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "mem.h"
#include "test_util.h"

static struct cidr_list *parse_ok(const char *text)
{
	char *error = NULL;
	struct cidr_list *l = cidr_list_parse(text, &error);

	ck_assert_msg(l != NULL, "%s: %s", text, error);
	return l;
}

static char *parse_bad(const char *text)
{
	char *error = NULL;
	struct cidr_list *l = cidr_list_parse(text, &error);

	ck_assert_msg(l == NULL, "%s parsed", text);
	ck_assert_ptr_nonnull(error);
	return error;
}

START_TEST(test_v4)
{
	struct cidr_list *l = parse_ok("127.0.0.0/8, 192.0.2.7 10.1.0.0/16");

	ck_assert_uint_eq(cidr_list_count(l), 3);
	ck_assert(cidr_list_match(l, "127.0.0.1"));
	ck_assert(cidr_list_match(l, "127.255.255.255"));
	ck_assert(!cidr_list_match(l, "128.0.0.1"));
	ck_assert(cidr_list_match(l, "192.0.2.7"));
	ck_assert(!cidr_list_match(l, "192.0.2.8"));
	ck_assert(cidr_list_match(l, "10.1.200.3"));
	ck_assert(!cidr_list_match(l, "10.2.0.1"));
	ck_assert(!cidr_list_match(l, "not an address"));
	ck_assert(!cidr_list_match(l, ""));
	cidr_list_free(&l);
	ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_odd_prefixes)
{
	struct cidr_list *l = parse_ok("192.0.2.128/25 0.0.0.0/0");

	cidr_list_free(&l);
	l = parse_ok("192.0.2.128/25");
	ck_assert(cidr_list_match(l, "192.0.2.200"));
	ck_assert(!cidr_list_match(l, "192.0.2.127"));
	cidr_list_free(&l);
	l = parse_ok("0.0.0.0/0");
	ck_assert(cidr_list_match(l, "203.0.113.9"));
	ck_assert(!cidr_list_match(l, "2001:db8::1"));
	cidr_list_free(&l);
	l = parse_ok("");
	ck_assert_uint_eq(cidr_list_count(l), 0);
	ck_assert(!cidr_list_match(l, "127.0.0.1"));
	cidr_list_free(&l);
}
END_TEST

START_TEST(test_v6)
{
	struct cidr_list *l = parse_ok("[::1]/128 2001:db8::/32 [fe80::1]");

	ck_assert(cidr_list_match(l, "::1"));
	ck_assert(!cidr_list_match(l, "::2"));
	ck_assert(cidr_list_match(l, "2001:db8:ffff::5"));
	ck_assert(cidr_list_match(l, "2001:DB8::"));
	ck_assert(!cidr_list_match(l, "2001:db9::1"));
	ck_assert(cidr_list_match(l, "fe80::1"));
	ck_assert(!cidr_list_match(l, "fe80::2"));
	ck_assert(!cidr_list_match(l, "127.0.0.1"));
	cidr_list_free(&l);
}
END_TEST

START_TEST(test_v4_mapped)
{
	struct cidr_list *l = parse_ok("127.0.0.0/8");
	struct sockaddr_in6 in6;
	struct sockaddr_in in;

	ck_assert(cidr_list_match(l, "::ffff:127.0.0.1"));
	ck_assert(!cidr_list_match(l, "::ffff:128.0.0.1"));
	/* ::127.0.0.1 (IPv4-compatible, deprecated) is not the same. */
	ck_assert(!cidr_list_match(l, "::127.0.0.1"));
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:127.0.0.9",
				   &in6.sin6_addr), 1);
	ck_assert(cidr_list_match_sa(l, (struct sockaddr *)&in6));
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(0x7f000002);
	ck_assert(cidr_list_match_sa(l, (struct sockaddr *)&in));
	in.sin_addr.s_addr = htonl(0x08080808);
	ck_assert(!cidr_list_match_sa(l, (struct sockaddr *)&in));
	cidr_list_free(&l);
}
END_TEST

START_TEST(test_bad_entries)
{
	char *e;

	e = parse_bad("127.0.0.0/33");
	ck_assert_str_eq(e, "127.0.0.0/33: bad network mask length");
	mem_free(e);
	e = parse_bad("::/129");
	ck_assert_str_eq(e, "::/129: bad network mask length");
	mem_free(e);
	e = parse_bad("10.0.0.0/-1");
	mem_free(e);
	e = parse_bad("10.0.0.0/");
	mem_free(e);
	e = parse_bad("10.0.0.0/8x");
	mem_free(e);
	e = parse_bad("127.0.0.1 example.com");
	ck_assert_str_eq(e, "example.com: bad network address");
	mem_free(e);
	e = parse_bad("10.0.0/8");
	mem_free(e);
	e = parse_bad("[::1");
	mem_free(e);
	e = parse_bad("[::1]x");
	mem_free(e);
	e = parse_bad("[127.0.0.1]/8");
	ck_assert_str_eq(e, "[127.0.0.1]/8: non-null host address bits,"
			 " perhaps you meant 127.0.0.0/8");
	mem_free(e);
	e = parse_bad("10.1.2.3/8");
	ck_assert_str_eq(e, "10.1.2.3/8: non-null host address bits,"
			 " perhaps you meant 10.0.0.0/8");
	mem_free(e);
	e = parse_bad("2001:db8::1/32");
	ck_assert_str_eq(e, "2001:db8::1/32: non-null host address bits,"
			 " perhaps you meant 2001:db8::/32");
	mem_free(e);
}
END_TEST

static Suite *cidr_suite(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_v4);
	tcase_add_test(tc, test_odd_prefixes);
	tcase_add_test(tc, test_v6);
	tcase_add_test(tc, test_v4_mapped);
	tcase_add_test(tc, test_bad_entries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(cidr_suite());
}
