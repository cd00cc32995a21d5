/*
 * Unit tests for imapd/imap_url.c: relative IMAP URLs (RFC 5092) of
 * messages and parts as CATENATE (RFC 4469) uses them: the mailbox
 * percent-decoded, UIDVALIDITY, UID, SECTION and PARTIAL in any case,
 * and everything else refused (absolute URLs, URLAUTH, a missing UID,
 * zero or overflowing numbers, broken or NUL escapes, trailing parts).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "imap_url.h"
#include "test_util.h"

static struct imap_url u;

static void teardown(void)
{
	imap_url_free(&u);
}

static void ck_ok(const char *url)
{
	const char *error = NULL;

	imap_url_free(&u);
	ck_assert_msg(imap_url_parse(url, &u, &error), "%s: %s", url, error);
}

static void ck_bad(const char *url)
{
	const char *error = NULL;

	imap_url_free(&u);
	ck_assert_msg(!imap_url_parse(url, &u, &error), "%s parsed", url);
	ck_assert_ptr_nonnull(error);
}

START_TEST(test_forms)
{
	ck_ok("/INBOX/;UID=20");
	ck_assert_str_eq(u.mailbox, "INBOX");
	ck_assert_uint_eq(u.uidvalidity, 0);
	ck_assert_uint_eq(u.uid, 20);
	ck_assert_ptr_null(u.section);
	ck_assert(!u.partial);

	ck_ok("/Sent%20Items;uidvalidity=385759045/;uid=4294967295"
	      "/;section=1.2.MIME/;partial=0.1024");
	ck_assert_str_eq(u.mailbox, "Sent Items");
	ck_assert_uint_eq(u.uidvalidity, 385759045u);
	ck_assert_uint_eq(u.uid, 4294967295u);
	ck_assert_str_eq(u.section, "1.2.MIME");
	ck_assert(u.partial);
	ck_assert_uint_eq(u.offset, 0);
	ck_assert_uint_eq(u.length, 1024);

	/* PARTIAL without a length: to the end. */
	ck_ok("/a/;UID=1/;PARTIAL=100000");
	ck_assert(u.partial);
	ck_assert_uint_eq(u.offset, 100000);
	ck_assert_uint_eq(u.length, 0);

	/* A section with spaces and parentheses, escaped. */
	ck_ok("/a/;UID=3/;SECTION=HEADER.FIELDS%20(FROM%20TO)");
	ck_assert_str_eq(u.mailbox, "a");
	ck_assert_str_eq(u.section, "HEADER.FIELDS (FROM TO)");

	/* UTF-8 names, percent-encoded. */
	ck_ok("/%C3%89t%C3%A9/;UID=1");
	ck_assert_str_eq(u.mailbox, "\xc3\x89t\xc3\xa9");
}
END_TEST

START_TEST(test_hierarchy)
{
	/* '/' is a character of the name (a hierarchy of a client that
	 * uses it); "/;" ends the name. */
	ck_ok("/a/b/;UID=3");
	ck_assert_str_eq(u.mailbox, "a/b");
	ck_ok("/a%2Fb/;UID=3");
	ck_assert_str_eq(u.mailbox, "a/b");
	ck_ok("/a/b;UIDVALIDITY=7/;UID=3/;SECTION=1/2");
	ck_assert_str_eq(u.mailbox, "a/b");
	ck_assert_uint_eq(u.uidvalidity, 7);
	ck_assert_str_eq(u.section, "1/2");
	ck_ok("/a.b/;UID=3");
	ck_assert_str_eq(u.mailbox, "a.b");
}
END_TEST

START_TEST(test_refused)
{
	ck_bad("");
	ck_bad("INBOX/;UID=1");
	ck_bad("imap://user@host/INBOX/;UID=1");
	ck_bad("IMAP://host/INBOX/;UID=1");
	ck_bad("//host/INBOX/;UID=1");
	ck_bad("/;UID=1");
	ck_bad("/INBOX");
	ck_bad("/INBOX/");
	ck_bad("/INBOX/;UID=");
	ck_bad("/INBOX/;UID=0");
	ck_bad("/INBOX/;UID=4294967296");
	ck_bad("/INBOX/;UID=12345678901");
	ck_bad("/INBOX/;UID=1x");
	ck_bad("/INBOX/;UID=-1");
	ck_bad("/INBOX;UIDVALIDITY=0/;UID=1");
	ck_bad("/INBOX;UIDVALIDITY=/;UID=1");
	ck_bad("/INBOX;FOO=1/;UID=1");
	ck_bad("/INBOX/;UID=1/;SECTION=");
	ck_bad("/INBOX/;UID=1/;PARTIAL=");
	ck_bad("/INBOX/;UID=1/;PARTIAL=1.0");
	ck_bad("/INBOX/;UID=1/;PARTIAL=1.");
	ck_bad("/INBOX/;UID=1/;PARTIAL=x");
	ck_bad("/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123");
	ck_bad("/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z");
	ck_bad("/INBOX/;UID=1/;PARTIAL=1/;SECTION=TEXT");
	ck_bad("/INBOX/;UID=1/");
	ck_bad("/IN%00BOX/;UID=1");
	ck_bad("/IN%2/;UID=1");
	ck_bad("/IN%/;UID=1");
	ck_bad("/IN%zz/;UID=1");
	ck_bad("/INBOX/;UID=1/;SECTION=%00");
}
END_TEST

static Suite *imap_url_suite(void)
{
	Suite *s = suite_create("imap_url");
	TCase *tc = tcase_create("url");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_forms);
	tcase_add_test(tc, test_hierarchy);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(imap_url_suite());
}
