/*
 * test_dns: MX ordering (sort by preference, shuffle of equal
 * preferences), parsing of hand-built DNS answers (compression, other
 * record types, null MX, every truncation, bad lengths, pointer loops)
 * and address lookups of literals.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "mem.h"
#include "str.h"
#include "test_util.h"

/* ---- sorting ---------------------------------------------------------- */

static unsigned long lcg(void *ctx)
{
	unsigned long *state = ctx;

	*state = *state * 6364136223846793005UL + 1442695040888963407UL;
	return *state >> 33;
}

static unsigned long zero(void *ctx)
{
	(void)ctx;
	return 0;
}

static void fill(struct dns_mx *mx, const unsigned *prefs, size_t n)
{
	static char names[16][8];

	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "h%zu", i);
		mx[i].host = names[i];
		mx[i].pref = prefs[i];
	}
}

START_TEST(test_sort_by_preference)
{
	static const unsigned prefs[] = { 30, 10, 20, 5, 65535, 0 };
	struct dns_mx mx[6];
	unsigned long seed = 1;

	fill(mx, prefs, 6);
	dns_mx_sort(mx, 6, lcg, &seed);
	ck_assert_str_eq(mx[0].host, "h5");
	ck_assert_str_eq(mx[1].host, "h3");
	ck_assert_str_eq(mx[2].host, "h1");
	ck_assert_str_eq(mx[3].host, "h2");
	ck_assert_str_eq(mx[4].host, "h0");
	ck_assert_str_eq(mx[5].host, "h4");
	/* Empty and single lists are left alone. */
	dns_mx_sort(mx, 0, lcg, &seed);
	dns_mx_sort(mx, 1, lcg, &seed);
	ck_assert_str_eq(mx[0].host, "h5");
}
END_TEST

/* Equal preferences stay together, in front of worse ones, and every
 * order of them shows up. */
START_TEST(test_sort_shuffles_equal)
{
	static const unsigned prefs[] = { 20, 10, 10, 30, 10 };
	int seen[3][3] = { { 0 } };
	unsigned long seed = 42;

	for (int run = 0; run < 600; run++) {
		struct dns_mx mx[5];

		fill(mx, prefs, 5);
		dns_mx_sort(mx, 5, lcg, &seed);
		for (int i = 0; i < 3; i++) {
			ck_assert_uint_eq(mx[i].pref, 10);
			seen[i][mx[i].host[1] == '1' ? 0 :
				mx[i].host[1] == '2' ? 1 : 2]++;
		}
		ck_assert_str_eq(mx[3].host, "h0");
		ck_assert_str_eq(mx[4].host, "h3");
	}
	/* Each host took each of the first three places about a third of
	 * the time. */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			ck_assert_msg(seen[i][j] > 120 && seen[i][j] < 280,
				      "place %d host %d: %d", i, j, seen[i][j]);
}
END_TEST

START_TEST(test_sort_deterministic_rnd)
{
	static const unsigned prefs[] = { 10, 10, 10 };
	struct dns_mx mx[3];

	/* rnd() == 0 always swaps with the first: h0 h1 h2 -> h1 h2 h0. */
	fill(mx, prefs, 3);
	dns_mx_sort(mx, 3, zero, NULL);
	ck_assert_str_eq(mx[0].host, "h1");
	ck_assert_str_eq(mx[1].host, "h2");
	ck_assert_str_eq(mx[2].host, "h0");
}
END_TEST

/* ---- packets ---------------------------------------------------------- */

struct pkt {
	unsigned char b[512];
	size_t len;
};

static void put(struct pkt *p, const void *data, size_t n)
{
	ck_assert(p->len + n <= sizeof(p->b));
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

static void put16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(p, b, 2);
}

/* "a.b" -> 1a1b0 */
static void put_name(struct pkt *p, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);
		unsigned char len = (unsigned char)n;

		put(p, &len, 1);
		put(p, name, n);
		name += n + (dot != NULL);
	}
	put(p, "", 1);
}

static void put_header(struct pkt *p, unsigned qd, unsigned an)
{
	p->len = 0;
	put16(p, 0x1234);
	put16(p, 0x8180);	/* response, RD, RA, NOERROR */
	put16(p, qd);
	put16(p, an);
	put16(p, 0);
	put16(p, 0);
}

/* Record header: name bytes must already be written. */
static void put_rr(struct pkt *p, unsigned type, unsigned rdlen)
{
	put16(p, type);
	put16(p, 1);		/* IN */
	put16(p, 0);
	put16(p, 300);		/* TTL */
	put16(p, rdlen);
}

/* example.com MX: a CNAME first (skipped), MX 10 mx1 with compression,
 * MX 20 MX2.Example.COM. uncompressed. */
static void build_example(struct pkt *p)
{
	unsigned char ptr_q[2] = { 0xc0, 12 };	/* -> example.com */

	put_header(p, 1, 3);
	put_name(p, "example.com");
	put16(p, 15);
	put16(p, 1);
	put(p, ptr_q, 2);
	put_rr(p, 5, 2 + 4);	/* CNAME: 3www + ptr */
	put(p, "\3www", 4);
	put(p, ptr_q, 2);
	put(p, ptr_q, 2);
	put_rr(p, 15, 2 + 4 + 2);
	put16(p, 10);
	put(p, "\3mx1", 4);
	put(p, ptr_q, 2);
	put(p, ptr_q, 2);
	put_rr(p, 15, 2 + 17);
	put16(p, 20);
	put_name(p, "MX2.Example.COM");
}

START_TEST(test_parse_answer)
{
	struct pkt p;
	struct dns_mx_list list = DNS_MX_LIST_INIT;
	const char *why = NULL;

	build_example(&p);
	ck_assert_int_eq(dns_mx_parse(p.b, p.len, &list, &why), 2);
	ck_assert_uint_eq(list.count, 2);
	ck_assert_str_eq(list.mx[0].host, "mx1.example.com");
	ck_assert_uint_eq(list.mx[0].pref, 10);
	ck_assert_str_eq(list.mx[1].host, "mx2.example.com");
	ck_assert_uint_eq(list.mx[1].pref, 20);
	ck_assert(!list.null_mx);
	dns_mx_list_free(&list);
	ck_assert_uint_eq(list.count, 0);
}
END_TEST

START_TEST(test_parse_every_truncation)
{
	struct pkt p;
	const char *why;

	build_example(&p);
	for (size_t n = 0; n < p.len; n++) {
		struct dns_mx_list list = DNS_MX_LIST_INIT;
		unsigned char *copy = mem_dup(p.b, n + 1);

		why = NULL;
		ck_assert_msg(dns_mx_parse(copy, n, &list, &why) == -1,
			      "length %zu accepted", n);
		ck_assert_ptr_nonnull(why);
		dns_mx_list_free(&list);
		free(copy);
	}
}
END_TEST

START_TEST(test_parse_null_mx)
{
	struct pkt p;
	struct dns_mx_list list = DNS_MX_LIST_INIT;
	const char *why;
	unsigned char ptr_q[2] = { 0xc0, 12 };

	put_header(&p, 1, 1);
	put_name(&p, "nomail.test");
	put16(&p, 15);
	put16(&p, 1);
	put(&p, ptr_q, 2);
	put_rr(&p, 15, 3);
	put16(&p, 0);
	put(&p, "", 1);
	ck_assert_int_eq(dns_mx_parse(p.b, p.len, &list, &why), 1);
	ck_assert(list.null_mx);
	ck_assert_str_eq(list.mx[0].host, "");
	dns_mx_list_free(&list);
	ck_assert(!list.null_mx);
}
END_TEST

START_TEST(test_parse_bad_records)
{
	struct pkt p;
	struct dns_mx_list list = DNS_MX_LIST_INIT;
	const char *why;
	unsigned char loop[2] = { 0xc0, 12 + 13 + 4 + 1 + 10 + 2 };

	/* rdlength beyond the end. */
	put_header(&p, 0, 1);
	put(&p, "\0", 1);
	put_rr(&p, 15, 200);
	put16(&p, 10);
	ck_assert_int_eq(dns_mx_parse(p.b, p.len, &list, &why), -1);
	ck_assert_str_eq(why, "record data runs past the end of the answer");

	/* MX too short to hold a name. */
	put_header(&p, 0, 1);
	put(&p, "\0", 1);
	put_rr(&p, 15, 2);
	put16(&p, 10);
	ck_assert_int_eq(dns_mx_parse(p.b, p.len, &list, &why), -1);
	ck_assert_str_eq(why, "MX record too short");

	/* The exchange name is a pointer to itself. */
	put_header(&p, 1, 1);
	put_name(&p, "example.com");
	put16(&p, 15);
	put16(&p, 1);
	put(&p, "\0", 1);
	put_rr(&p, 15, 4);
	put16(&p, 10);
	put(&p, loop, 2);
	ck_assert_uint_eq(p.len, (size_t)(loop[1] + 2));
	ck_assert_int_eq(dns_mx_parse(p.b, p.len, &list, &why), -1);
	ck_assert_str_eq(why, "malformed MX exchange name");

	/* The name is shorter than rdlength says (trailing junk). */
	put_header(&p, 0, 1);
	put(&p, "\0", 1);
	put_rr(&p, 15, 2 + 6 + 1);
	put16(&p, 10);
	put_name(&p, "mx.x");
	put(&p, "J", 1);
	ck_assert_int_eq(dns_mx_parse(p.b, p.len, &list, &why), -1);
	ck_assert_uint_eq(list.count, 0);
	dns_mx_list_free(&list);
}
END_TEST

START_TEST(test_parse_no_mx)
{
	struct pkt p;
	struct dns_mx_list list = DNS_MX_LIST_INIT;
	const char *why;

	put_header(&p, 1, 0);
	put_name(&p, "example.com");
	put16(&p, 15);
	put16(&p, 1);
	ck_assert_int_eq(dns_mx_parse(p.b, p.len, &list, &why), 0);
	ck_assert_uint_eq(list.count, 0);
}
END_TEST

/* ---- addresses -------------------------------------------------------- */

START_TEST(test_addr_literals)
{
	struct dns_addr *a;
	struct str err = STR_INIT;
	size_t n;

	ck_assert_int_eq(dns_addr_lookup("127.0.0.1", 5, &a, &n, &err), 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(a[0].text, "127.0.0.1");
	dns_addr_set_port(&a[0], 2525);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&a[0].sa)->sin_port),
			  2525);
	free(a);
	ck_assert_int_eq(dns_addr_lookup("::1", 5, &a, &n, &err), 1);
	ck_assert_str_eq(a[0].text, "::1");
	free(a);
	/* A name that cannot exist fails (permanently, or temporarily when
	 * there is no DNS here), with a Postfix-shaped reason. */
	ck_assert_int_le(dns_addr_lookup("no-such-host.invalid", 5, &a, &n,
					 &err), 0);
	ck_assert_ptr_null(a);
	ck_assert(str_has_prefix(str_c(&err), "Host or domain name not "
				 "found. Name service error for "
				 "name=no-such-host.invalid type=A"));
	str_release(&err);
}
END_TEST

/* inet_protocols = ipv4 never yields (or asks for) IPv6 addresses. */
START_TEST(test_addr_protocols)
{
	struct dns_addr *a = NULL;
	struct str err = STR_INIT;
	size_t n;

	ck_assert(!dns_set_protocols("ipx"));
	ck_assert(dns_set_protocols("ipv4"));
	ck_assert_int_le(dns_addr_lookup("::1", 5, &a, &n, &err), 0);
	ck_assert_ptr_null(a);
	ck_assert_int_eq(dns_addr_lookup("127.0.0.1", 5, &a, &n, &err), 1);
	free(a);
	ck_assert(dns_set_protocols("ipv6"));
	ck_assert_int_le(dns_addr_lookup("127.0.0.1", 5, &a, &n, &err), 0);
	ck_assert(dns_set_protocols("all"));
	ck_assert_int_eq(dns_addr_lookup("::1", 5, &a, &n, &err), 1);
	free(a);
	str_release(&err);
}
END_TEST

static Suite *dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sort_by_preference);
	tcase_add_test(tc, test_sort_shuffles_equal);
	tcase_add_test(tc, test_sort_deterministic_rnd);
	tcase_add_test(tc, test_parse_answer);
	tcase_add_test(tc, test_parse_every_truncation);
	tcase_add_test(tc, test_parse_null_mx);
	tcase_add_test(tc, test_parse_bad_records);
	tcase_add_test(tc, test_parse_no_mx);
	tcase_add_test(tc, test_addr_literals);
	tcase_add_test(tc, test_addr_protocols);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(dns_suite());
}
