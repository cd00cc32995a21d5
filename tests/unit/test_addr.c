/*
 * Unit tests for common/addr.c: RFC 5321 mailboxes and paths, dot-atom
 * and quoted local parts, length limits, address literals, source
 * routes, SMTPUTF8, and errors with their positions.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "test_util.h"

static struct addr a;
static struct addr_error err;

static bool mbox(const char *s, unsigned flags)
{
	memset(&err, 0, sizeof(err));
	return addr_parse_mailbox(s, strlen(s), flags, &a, &err);
}

static bool path(const char *s, unsigned flags, size_t *end)
{
	memset(&err, 0, sizeof(err));
	return addr_parse_path(s, strlen(s), flags, &a, end, &err);
}

/* A string of n copies of c. */
static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_dot_atom)
{
	ck_assert(mbox("John.Doe+tag@Example.COM", 0));
	ck_assert_str_eq(a.local, "John.Doe+tag");
	ck_assert_str_eq(a.domain, "example.com");
	ck_assert_str_eq(a.text, "John.Doe+tag@example.com");
	ck_assert(!a.quoted && !a.literal && !a.trailing_dot && !a.utf8);
	ck_assert(mbox("!#$%&'*+-/=?^_`{|}~@x.y", 0));
	ck_assert_str_eq(a.local, "!#$%&'*+-/=?^_`{|}~");
}
END_TEST

START_TEST(test_dot_atom_errors)
{
	ck_assert(!mbox(".a@x.y", 0));
	ck_assert_str_eq(err.reason, "empty atom in local part");
	ck_assert_uint_eq(err.pos, 0);
	ck_assert(!mbox("a..b@x.y", 0));
	ck_assert_uint_eq(err.pos, 2);
	ck_assert(!mbox("a.@x.y", 0));
	ck_assert_uint_eq(err.pos, 1);
	ck_assert(!mbox("a b@x.y", 0));
	ck_assert_str_eq(err.reason, "invalid character in local part");
	ck_assert_uint_eq(err.pos, 1);
	ck_assert(!mbox("a(c)@x.y", 0));
	ck_assert_uint_eq(err.pos, 1);
	ck_assert(!mbox("@x.y", 0));
	ck_assert_str_eq(err.reason, "empty local part");
	ck_assert(!mbox("", 0));
	ck_assert(!mbox("user", 0));
	ck_assert_str_eq(err.reason, "missing domain");
	ck_assert_uint_eq(err.pos, 4);
	ck_assert(!mbox("user@", 0));
	ck_assert_str_eq(err.reason, "missing domain");
	ck_assert(!mbox("a@b@c", 0));
	ck_assert_str_eq(err.reason, "invalid character in domain");
	ck_assert_uint_eq(err.pos, 3);
}
END_TEST

START_TEST(test_quoted)
{
	ck_assert(mbox("\"john doe\"@x.y", 0));
	ck_assert(a.quoted);
	ck_assert_str_eq(a.local, "john doe");
	ck_assert_str_eq(a.text, "\"john doe\"@x.y");
	/* Needless quotes are dropped in the canonical form. */
	ck_assert(mbox("\"bob\"@x.y", 0));
	ck_assert_str_eq(a.local, "bob");
	ck_assert_str_eq(a.text, "bob@x.y");
	/* Escapes resolved, and re-escaped minimally. */
	ck_assert(mbox("\"a\\\"b\\\\c\\d\"@x.y", 0));
	ck_assert_str_eq(a.local, "a\"b\\cd");
	ck_assert_str_eq(a.text, "\"a\\\"b\\\\cd\"@x.y");
	/* A quoted @ stays in the local part and is routing. */
	ck_assert(mbox("\"user@other.example\"@ours.example", 0));
	ck_assert_str_eq(a.local, "user@other.example");
	ck_assert_str_eq(a.domain, "ours.example");
	ck_assert(addr_has_routing(&a));
	ck_assert(mbox("\"\"@x.y", 0));
	ck_assert_str_eq(a.local, "");
	ck_assert_str_eq(a.text, "\"\"@x.y");
}
END_TEST

START_TEST(test_quoted_errors)
{
	ck_assert(!mbox("\"abc@x.y", 0));
	ck_assert_str_eq(err.reason, "unterminated quoted string");
	ck_assert(!mbox("\"a\tb\"@x.y", 0));
	ck_assert_str_eq(err.reason, "invalid character in quoted string");
	ck_assert_uint_eq(err.pos, 2);
	ck_assert(!mbox("\"a\\\x01\"@x.y", 0));
	ck_assert_str_eq(err.reason, "bad quoted pair");
	ck_assert(!mbox("\"ab\"c@x.y", 0));
	ck_assert_uint_eq(err.pos, 4);
	ck_assert(!mbox("\"a\rb\"@x.y", 0));
	ck_assert(!mbox("\"a\nb\"@x.y", 0));
}
END_TEST

START_TEST(test_lengths)
{
	char buf[600], *l64 = rep('a', 64), *l65 = rep('a', 65);
	char *label63 = rep('b', 63), *label64 = rep('b', 64);

	snprintf(buf, sizeof(buf), "%s@x.y", l64);
	ck_assert(mbox(buf, 0));
	snprintf(buf, sizeof(buf), "%s@x.y", l65);
	ck_assert(!mbox(buf, 0));
	ck_assert_str_eq(err.reason, "local part too long");
	ck_assert_uint_eq(err.pos, 64);
	/* Quotes count: 62 octets inside quotes is the most. */
	snprintf(buf, sizeof(buf), "\"%.62s\"@x.y", l64);
	ck_assert(mbox(buf, 0));
	snprintf(buf, sizeof(buf), "\"%.63s\"@x.y", l64);
	ck_assert(!mbox(buf, 0));
	ck_assert_str_eq(err.reason, "local part too long");

	snprintf(buf, sizeof(buf), "u@%s.c", label63);
	ck_assert(mbox(buf, 0));
	snprintf(buf, sizeof(buf), "u@%s.c", label64);
	ck_assert(!mbox(buf, 0));
	ck_assert_str_eq(err.reason, "domain label too long");
	ck_assert_uint_eq(err.pos, 2 + 63);

	/* Domain: 4 * 63 + 3 dots = 255 is fine, 257 is not. */
	snprintf(buf, sizeof(buf), "u@%s.%s.%s.%s", label63, label63, label63,
		 label63);
	ck_assert(mbox(buf, 0));
	ck_assert_uint_eq(strlen(a.domain), 255);
	snprintf(buf, sizeof(buf), "u@%s.%s.%s.%s.x", label63, label63,
		 label63, label63);
	ck_assert(!mbox(buf, 0));
	ck_assert_str_eq(err.reason, "domain too long");
	free(l64);
	free(l65);
	free(label63);
	free(label64);
}
END_TEST

START_TEST(test_path_length)
{
	char buf[600], *lab = rep('c', 61);
	size_t end;

	/* "<" + 64 + "@" + 61.61.61.3 (189) + ">" = 256 octets */
	snprintf(buf, sizeof(buf), "<%s@%s.%s.%s.com>", "a", lab, lab, lab);
	ck_assert(path(buf, 0, &end));
	snprintf(buf, sizeof(buf), "<%.64s@%s.%s.%s.%.3s>",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 lab, lab, lab, "ccc");
	ck_assert_uint_eq(strlen(buf), 256);
	ck_assert(path(buf, 0, &end));
	ck_assert_uint_eq(end, 256);
	snprintf(buf, sizeof(buf), "<%.64s@%s.%s.%s.%.4s>",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 lab, lab, lab, "cccc");
	ck_assert_uint_eq(strlen(buf), 257);
	ck_assert(!path(buf, 0, &end));
	ck_assert_str_eq(err.reason, "path too long");
	free(lab);
}
END_TEST

START_TEST(test_domains)
{
	ck_assert(mbox("u@a-b.c1", 0));
	ck_assert(!mbox("u@-ab.c", 0));
	ck_assert_uint_eq(err.pos, 2);
	ck_assert(!mbox("u@ab-.c", 0));
	ck_assert_uint_eq(err.pos, 4);
	ck_assert(!mbox("u@a..c", 0));
	ck_assert_str_eq(err.reason, "empty label in domain");
	ck_assert_uint_eq(err.pos, 4);
	ck_assert(!mbox("u@a_b.c", 0));
	ck_assert(!mbox("u@.c", 0));
	ck_assert(mbox("u@Ours.Example.", 0));
	ck_assert(a.trailing_dot);
	ck_assert_str_eq(a.domain, "ours.example");
	ck_assert_str_eq(a.text, "u@ours.example");
	ck_assert(!mbox("u@ours.example..", 0));
	ck_assert(!mbox("u@.", 0));
}
END_TEST

START_TEST(test_literals)
{
	ck_assert(mbox("u@[192.0.2.1]", 0));
	ck_assert(a.literal);
	ck_assert_str_eq(a.domain, "[192.0.2.1]");
	ck_assert(mbox("u@[IPv6:2001:DB8::1]", 0));
	ck_assert_str_eq(a.domain, "[ipv6:2001:db8::1]");
	ck_assert(mbox("u@[ipv6:::ffff:1.2.3.4]", 0));
	ck_assert(!mbox("u@[192.0.2.256]", 0));
	ck_assert_str_eq(err.reason, "bad address literal");
	ck_assert(!mbox("u@[192.0.2.1", 0));
	ck_assert_str_eq(err.reason, "unterminated address literal");
	ck_assert(!mbox("u@[2001:db8::1]", 0));
	ck_assert_str_eq(err.reason, "unsupported address literal");
	ck_assert(!mbox("u@[IPv6:1.2.3.4]", 0));
	ck_assert(!mbox("u@[]", 0));
	/* A literal keeps no trailing-dot treatment. */
	ck_assert(!mbox("u@[192.0.2.1].", 0));
	/* Found by tests/fuzz/fuzz_addr: a NUL inside a literal ended the
	 * text given to inet_pton, so the rest was never checked. */
	memset(&err, 0, sizeof(err));
	ck_assert(!addr_parse_mailbox("u@[192.0.2.1\0x]", 15, 0, &a, &err));
	ck_assert_str_eq(err.reason, "bad address literal");
	ck_assert(!addr_parse_mailbox("u@[IPv6:::1\0\1]", 14, 0, &a, &err));
	ck_assert_str_eq(err.reason, "bad address literal");
}
END_TEST

START_TEST(test_paths)
{
	size_t end;

	ck_assert(path("<u@x.y> SIZE=10", 0, &end));
	ck_assert_uint_eq(end, 7);
	ck_assert_str_eq(a.text, "u@x.y");
	ck_assert(!path("<>", 0, &end));
	ck_assert_str_eq(err.reason, "null address not allowed");
	ck_assert(path("<>", ADDR_F_NULL, &end));
	ck_assert(a.null);
	ck_assert_uint_eq(end, 2);
	ck_assert_str_eq(a.text, "");
	ck_assert(!path("u@x.y", 0, &end));
	ck_assert_str_eq(err.reason, "missing '<'");
	ck_assert(!path("<u@x.y", 0, &end));
	ck_assert_str_eq(err.reason, "missing '>'");
	/* '>' inside a quoted local part does not close the path. */
	ck_assert(path("<\"a>b\"@x.y>", 0, &end));
	ck_assert_str_eq(a.local, "a>b");
	ck_assert_uint_eq(end, 11);
	/* Error positions are offsets in the whole path. */
	ck_assert(!path("<ab..c@x.y>", 0, &end));
	ck_assert_uint_eq(err.pos, 4);	/* the second dot */
	ck_assert(!path("<u@x_y>", 0, &end));
	ck_assert_uint_eq(err.pos, 4);
}
END_TEST

START_TEST(test_source_routes)
{
	size_t end;

	ck_assert(path("<@a.example,@b.example:user@c.example>", 0, &end));
	ck_assert(a.route);
	ck_assert_str_eq(a.text, "user@c.example");
	ck_assert(path("<@[192.0.2.1]:u@c.example>", 0, &end));
	ck_assert(a.route);
	ck_assert(!path("<@a.example:>", 0, &end));
	ck_assert(!path("<@a.example,b.example:u@c>", 0, &end));
	ck_assert_str_eq(err.reason, "bad source route");
	ck_assert_uint_eq(err.pos, 12);
	ck_assert(!path("<@a..b:u@c>", 0, &end));
	ck_assert_str_eq(err.reason, "empty label in domain");
	ck_assert_uint_eq(err.pos, 4);
	ck_assert(!path("<@a.example u@c>", 0, &end));
}
END_TEST

START_TEST(test_routing_and_postmaster)
{
	ck_assert(mbox("user%other.example@ours.example", 0));
	ck_assert(addr_has_routing(&a));
	ck_assert(mbox("other.example!user@ours.example", 0));
	ck_assert(addr_has_routing(&a));
	ck_assert(mbox("user@ours.example", 0));
	ck_assert(!addr_has_routing(&a));
	ck_assert(mbox("PostMaster", ADDR_F_NODOMAIN));
	ck_assert(addr_is_postmaster(&a));
	ck_assert_str_eq(a.domain, "");
	ck_assert_str_eq(a.text, "PostMaster");
	ck_assert(mbox("postmaster@x.y", 0));
	ck_assert(addr_is_postmaster(&a));
	ck_assert(mbox("postmasters@x.y", 0));
	ck_assert(!addr_is_postmaster(&a));
}
END_TEST

START_TEST(test_utf8)
{
	/* "jose" with e-acute, and a U-label domain. */
	ck_assert(!mbox("jos\xc3\xa9@x.y", 0));
	ck_assert_str_eq(err.reason, "non-ASCII local part without SMTPUTF8");
	ck_assert_uint_eq(err.pos, 3);
	ck_assert(mbox("jos\xc3\xa9@x.y", ADDR_F_UTF8));
	ck_assert(a.utf8);
	ck_assert(!mbox("u@b\xc3\xbc" "cher.example", 0));
	ck_assert_str_eq(err.reason, "non-ASCII domain without SMTPUTF8");
	ck_assert(mbox("u@B\xc3\xbc" "cher.example", ADDR_F_UTF8));
	ck_assert_str_eq(a.domain, "b\xc3\xbc" "cher.example");
	ck_assert(mbox("\"j\xc3\xa9 x\"@x.y", ADDR_F_UTF8));
	/* Malformed UTF-8: lone continuation, overlong, surrogate. */
	ck_assert(!mbox("a\x80@x.y", ADDR_F_UTF8));
	ck_assert(!mbox("a\xc0\xaf@x.y", ADDR_F_UTF8));
	ck_assert(!mbox("a\xed\xa0\x80@x.y", ADDR_F_UTF8));
	ck_assert(!mbox("a\xc3@x.y", ADDR_F_UTF8));
	ck_assert(!mbox("u@b\xff.example", ADDR_F_UTF8));
	ck_assert(addr_valid_utf8("\xf0\x9f\x93\xa7", 4));
	ck_assert(!addr_valid_utf8("\xf4\x90\x80\x80", 4));
}
END_TEST

START_TEST(test_control_chars)
{
	size_t end;

	ck_assert(!addr_parse_mailbox("a\0b@x.y", 7, 0, &a, &err));
	ck_assert_uint_eq(err.pos, 1);
	ck_assert(!addr_parse_mailbox("ab@x\0.y", 7, 0, &a, &err));
	ck_assert_uint_eq(err.pos, 4);
	ck_assert(!mbox("a\r@x.y", ADDR_F_UTF8));
	ck_assert(!path("<a@x.y\r>", 0, &end));
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_dot_atom);
	tcase_add_test(tc, test_dot_atom_errors);
	tcase_add_test(tc, test_quoted);
	tcase_add_test(tc, test_quoted_errors);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_path_length);
	tcase_add_test(tc, test_domains);
	tcase_add_test(tc, test_literals);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_source_routes);
	tcase_add_test(tc, test_routing_and_postmaster);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_control_chars);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(addr_suite());
}
