/*
 * Unit tests for imapd/imap_utf7.c (modified UTF-7: known vectors, round
 * trips both ways, strict rejections; UTF-8 validity) and
 * imapd/imap_mailbox.c (mailbox names that would leave the Maildir, the
 * Maildir++ directory mapping).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap_mailbox.h"
#include "imap_utf7.h"
#include "test_util.h"

static char *enc(const char *utf8)
{
	struct str out = STR_INIT;
	const char *error = NULL;

	if (!imap_utf7_encode(utf8, &out, &error)) {
		ck_assert_ptr_nonnull(error);
		str_release(&out);
		return NULL;
	}
	str_append(&out, "");
	return str_steal(&out);
}

static char *dec(const char *mutf7)
{
	struct str out = STR_INIT;
	const char *error = NULL;

	if (!imap_utf7_decode(mutf7, &out, &error)) {
		ck_assert_ptr_nonnull(error);
		ck_assert(!imap_utf7_valid(mutf7));
		str_release(&out);
		return NULL;
	}
	ck_assert(imap_utf7_valid(mutf7));
	str_append(&out, "");
	return str_steal(&out);
}

/* utf8 <-> mutf7 both ways. */
static void pair(const char *utf8, const char *mutf7)
{
	char *e = enc(utf8), *d = dec(mutf7);

	ck_assert_msg(e != NULL && strcmp(e, mutf7) == 0, "encode %s: %s",
		      utf8, e != NULL ? e : "(failed)");
	ck_assert_msg(d != NULL && strcmp(d, utf8) == 0, "decode %s: %s",
		      mutf7, d != NULL ? d : "(failed)");
	free(e);
	free(d);
}

START_TEST(test_vectors)
{
	pair("", "");
	pair("INBOX", "INBOX");
	pair("\xe2\x98\xba", "&Jjo-");		/* U+263A */
	pair("&", "&-");
	pair("Tom & Jerry", "Tom &- Jerry");
	/* RFC 3501 5.1.3's example, with its Chinese names. */
	pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	     "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	pair("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	pair("\xc3\xa9t\xc3\xa9", "&AOk-t&AOk-");
	pair("\xc3\xa9\xc3\xa9\xc3\xa9", "&AOkA6QDp-");
	/* Outside the BMP: a surrogate pair (U+1F600). */
	pair("\xf0\x9f\x98\x80", "&2D3eAA-");
	/* Control characters are base64 too. */
	pair("a\tb", "a&AAk-b");
	pair("\x7f", "&AH8-");
}
END_TEST

/* Append code point cp to u as UTF-8. */
static void put_cp(struct str *u, unsigned int cp)
{
	if (cp < 0x80) {
		str_append_c(u, (char)cp);
	} else if (cp < 0x800) {
		str_append_c(u, (char)(0xc0 | (cp >> 6)));
		str_append_c(u, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		str_append_c(u, (char)(0xe0 | (cp >> 12)));
		str_append_c(u, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(u, (char)(0x80 | (cp & 0x3f)));
	} else {
		str_append_c(u, (char)(0xf0 | (cp >> 18)));
		str_append_c(u, (char)(0x80 | ((cp >> 12) & 0x3f)));
		str_append_c(u, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(u, (char)(0x80 | (cp & 0x3f)));
	}
}

START_TEST(test_roundtrip)
{
	/* Every code point class, 1 to 4 times (alone and between ASCII),
	 * encoded and decoded back. */
	static const unsigned int cps[] = {
		0x01, 0x1f, 0x7f, 0x80, 0xff, 0x100, 0x7ff, 0x800, 0xd7ff,
		0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff,
	};
	struct str u = STR_INIT;
	size_t i, j, k;
	char *e, *d;

	for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		for (j = 1; j <= 4; j++) {
			str_clear(&u);
			for (k = 0; k < j; k++) {
				if (k % 2 == 1)
					str_append_c(&u, 'x');
				put_cp(&u, cps[i]);
			}
			e = enc(str_c(&u));
			ck_assert_ptr_nonnull(e);
			d = dec(e);
			ck_assert_msg(d != NULL && strcmp(d, str_c(&u)) == 0,
				      "U+%04X x%zu: %s", cps[i], j, e);
			free(e);
			free(d);
		}
	}
	str_release(&u);
}
END_TEST

START_TEST(test_strict)
{
	static const char *const bad[] = {
		"&",			/* unterminated */
		"&Jjo",			/* unterminated */
		"a&Jjo-&Jjo-",		/* two shifts in a row */
		"&AGE-",		/* 'a' in base64 */
		"&ACY-",		/* '&' in base64 */
		"&AAA-",		/* U+0000 */
		"&Jj-",			/* leftover bits not zero */
		"&Jjp-",		/* leftover bits not zero */
		"&JjoA-",		/* a whole extra base64 character */
		"&Jj o-",		/* space inside */
		"&Jj/-",		/* '/' is not modified base64 */
		"&Jj=-",		/* padding */
		"&2D0-",		/* lone high surrogate */
		"&3gA-",		/* lone low surrogate */
		"&2D3YPQ-",		/* high surrogate, then another */
		"caf\xc3\xa9",		/* raw 8-bit */
		"a\tb",			/* raw control character */
		"\x7f",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *d = dec(bad[i]);

		ck_assert_msg(d == NULL, "accepted %s as %s", bad[i], d);
	}
	/* A shift followed by a literal '&' is fine. */
	{
		char *d = dec("&Jjo-&-");

		ck_assert_str_eq(d, "\xe2\x98\xba&");
		free(d);
	}
	/* Invalid UTF-8 is not encoded. */
	ck_assert_ptr_null(enc("caf\xc3"));
	ck_assert_ptr_null(enc("\xc0\xaf"));		/* overlong '/' */
	ck_assert_ptr_null(enc("\xed\xa0\x80"));	/* surrogate */
	ck_assert_ptr_null(enc("\xf4\x90\x80\x80"));	/* > U+10FFFF */
	ck_assert_ptr_null(enc("\xff"));
}
END_TEST

START_TEST(test_utf8_valid)
{
	ck_assert(imap_utf8_valid("", 0));
	ck_assert(imap_utf8_valid("abc", 3));
	ck_assert(imap_utf8_valid("\xc3\xa9", 2));
	ck_assert(imap_utf8_valid("\xf0\x9f\x98\x80", 4));
	ck_assert(!imap_utf8_valid("\xc3", 1));
	ck_assert(!imap_utf8_valid("\xe0\x80\x80", 3));
	ck_assert(!imap_utf8_valid("\xf8\x88\x80\x80\x80", 5));
	ck_assert(!imap_utf8_valid("\x80", 1));
}
END_TEST

/* --- mailbox names --- */

static bool valid(const char *name)
{
	const char *error = NULL;
	bool ok = imap_mailbox_name_valid(name, &error);

	ck_assert(ok || error != NULL);
	return ok;
}

START_TEST(test_names)
{
	struct str big = STR_INIT;
	int i;

	ck_assert(valid("INBOX"));
	ck_assert(valid("Sent"));
	ck_assert(valid("Work.2024.Q1"));
	ck_assert(valid("Tom & Jerry"));
	ck_assert(valid("\xe2\x98\xba"));
	ck_assert(valid("~peter"));
	ck_assert(valid("a..b") == false);
	ck_assert(!valid(""));
	ck_assert(!valid("."));
	ck_assert(!valid(".."));
	ck_assert(!valid(".hidden"));
	ck_assert(!valid("trailing."));
	ck_assert(!valid("a/b"));
	ck_assert(!valid("../../etc"));
	ck_assert(!valid("/etc/passwd"));
	ck_assert(!valid("a\nb"));
	ck_assert(!valid("a\rb"));
	ck_assert(!valid("a\tb"));
	ck_assert(!valid("a\x7f"));
	ck_assert(!valid("a*"));
	ck_assert(!valid("a%"));
	ck_assert(!valid("caf\xc3"));
	/* Length: the directory name must fit in 255 bytes. */
	while (big.len < 254)
		str_append_c(&big, 'x');
	ck_assert(valid(str_c(&big)));
	str_append_c(&big, 'x');
	ck_assert(!valid(str_c(&big)));
	/* ... counted after mUTF-7 encoding. */
	str_clear(&big);
	for (i = 0; i < 100; i++)
		str_append(&big, "\xe2\x98\xba");
	ck_assert(!valid(str_c(&big)));
	/* Depth. */
	str_clear(&big);
	for (i = 0; i < IMAP_MAILBOX_DEPTH_MAX; i++)
		str_append(&big, i > 0 ? ".a" : "a");
	ck_assert(valid(str_c(&big)));
	str_append(&big, ".a");
	ck_assert(!valid(str_c(&big)));
	str_release(&big);
}
END_TEST

START_TEST(test_dirs)
{
	struct str dir = STR_INIT, name = STR_INIT;
	const char *error;

	ck_assert(imap_mailbox_to_dir("inbox", &dir, &error));
	ck_assert_str_eq(str_c(&dir), "");
	ck_assert(imap_mailbox_to_dir("Work.2024", &dir, &error));
	ck_assert_str_eq(str_c(&dir), ".Work.2024");
	str_clear(&dir);
	ck_assert(imap_mailbox_to_dir("Entw\xc3\xbcrfe", &dir, &error));
	ck_assert_str_eq(str_c(&dir), ".Entw&APw-rfe");
	str_clear(&dir);
	ck_assert(!imap_mailbox_to_dir("..", &dir, &error));
	ck_assert(!imap_mailbox_to_dir("a/../../b", &dir, &error));

	ck_assert(imap_mailbox_from_dir(".Entw&APw-rfe", &name, &error));
	ck_assert_str_eq(str_c(&name), "Entw\xc3\xbcrfe");
	str_clear(&name);
	ck_assert(imap_mailbox_from_dir(".INBOX.sub", &name, &error));
	ck_assert_str_eq(str_c(&name), "INBOX.sub");
	str_clear(&name);
	ck_assert(!imap_mailbox_from_dir("cur", &name, &error));
	ck_assert(!imap_mailbox_from_dir(".", &name, &error));
	ck_assert(!imap_mailbox_from_dir("..", &name, &error));
	ck_assert(!imap_mailbox_from_dir(".Inbox", &name, &error));
	ck_assert(!imap_mailbox_from_dir(".a..b", &name, &error));
	ck_assert(!imap_mailbox_from_dir(".&AGE-", &name, &error));
	/* A name hiding '/' in base64 is refused after decoding. */
	ck_assert(!imap_mailbox_from_dir(".&AC8-", &name, &error));
	ck_assert(!imap_mailbox_from_dir(".a&AAo-b", &name, &error));
	ck_assert_uint_eq(name.len, 0);
	str_release(&dir);
	str_release(&name);
}
END_TEST

START_TEST(test_match)
{
	struct str big = STR_INIT;

	ck_assert(imap_mailbox_match("*", "INBOX"));
	ck_assert(imap_mailbox_match("*", "a.b.c"));
	ck_assert(imap_mailbox_match("%", "Sent"));
	ck_assert(!imap_mailbox_match("%", "a.b"));
	ck_assert(imap_mailbox_match("a.%", "a.b"));
	ck_assert(!imap_mailbox_match("a.%", "a.b.c"));
	ck_assert(imap_mailbox_match("a.*", "a.b.c"));
	ck_assert(!imap_mailbox_match("a.*", "a"));
	ck_assert(imap_mailbox_match("a*", "a"));
	ck_assert(imap_mailbox_match("%.%", "a.b"));
	ck_assert(imap_mailbox_match("%b%", "abc"));
	ck_assert(!imap_mailbox_match("%b%", "a.b"));
	ck_assert(imap_mailbox_match("Sent", "Sent"));
	ck_assert(!imap_mailbox_match("sent", "Sent"));
	ck_assert(!imap_mailbox_match("Sen", "Sent"));
	ck_assert(!imap_mailbox_match("", "Sent"));
	ck_assert(imap_mailbox_match("", ""));
	/* INBOX in any case. */
	ck_assert(imap_mailbox_match("inbox", "INBOX"));
	ck_assert(imap_mailbox_match("Inbox.%", "INBOX.sub"));
	ck_assert(!imap_mailbox_match("inbox.SUB", "INBOX.sub"));
	ck_assert(!imap_mailbox_match("inboxes", "INBOXES"));
	ck_assert(imap_mailbox_match("INBOXES", "INBOXES"));
	/* Many wildcards stay polynomial. */
	while (big.len < IMAP_MAILBOX_PATTERN_MAX - 2)
		str_append(&big, "*%");
	str_append_c(&big, 'x');
	ck_assert(!imap_mailbox_match(str_c(&big), "aaaaaaaaaaaaaaaaaaaaaaa"
				      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaay"));
	ck_assert(imap_mailbox_match(str_c(&big), "aaaaaaaaaaaaaaaaaaaaaaa"
				     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaax"));
	/* Longer patterns match nothing. */
	str_clear(&big);
	while (big.len <= IMAP_MAILBOX_PATTERN_MAX)
		str_append_c(&big, '*');
	ck_assert(!imap_mailbox_match(str_c(&big), "x"));
	str_release(&big);
}
END_TEST

static Suite *imap_utf7_suite(void)
{
	Suite *s = suite_create("imap_utf7");
	TCase *tc = tcase_create("utf7");

	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_strict);
	tcase_add_test(tc, test_utf8_valid);
	suite_add_tcase(s, tc);
	tc = tcase_create("mailbox");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_dirs);
	tcase_add_test(tc, test_match);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_utf7_suite());
}
