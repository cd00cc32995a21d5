/*
 * Unit tests for the sendmail command's message handling (tools/
 * sendmail.c) and pickup's header helpers (pickup/pickup_file.c):
 * address lists, -t extraction and Bcc removal, qualification, the
 * end-of-input dot, and where a header block ends.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"

#include "../../pickup/pickup.h"
#include "../../tools/sendmail.h"
#include "test_util.h"

static char *joined(const struct sendmail_list *l)
{
	static struct str out;

	str_clear(&out);
	for (size_t i = 0; i < l->count; i++) {
		if (i > 0)
			str_append_c(&out, '|');
		str_append(&out, l->items[i]);
	}
	return out.data != NULL ? out.data : "";
}

static const char *addrs(const char *value)
{
	struct sendmail_list l = { NULL, 0 };
	static char buf[1024];

	sendmail_address_list(value, strlen(value), &l);
	snprintf(buf, sizeof(buf), "%s", joined(&l));
	sendmail_list_free(&l);
	return buf;
}

START_TEST(address_lists)
{
	ck_assert_str_eq(addrs("a@b.test"), "a@b.test");
	ck_assert_str_eq(addrs(" Demo User <demo@demo.test>, x@y.test (X)"),
			 "demo@demo.test|x@y.test");
	ck_assert_str_eq(addrs("\"Doe, John\" <jd@x.test>"), "jd@x.test");
	ck_assert_str_eq(addrs("team: a@x.test, b@x.test;, c@x.test"),
			 "a@x.test|b@x.test|c@x.test");
	ck_assert_str_eq(addrs("undisclosed-recipients:;"), "");
	ck_assert_str_eq(addrs("<@r1.test,@r2.test:u@d.test>"), "u@d.test");
	ck_assert_str_eq(addrs("(comment, with comma) u@d.test"), "u@d.test");
	ck_assert_str_eq(addrs("\"q u\"@d.test"), "\"q u\"@d.test");
	ck_assert_str_eq(addrs("a@x.test,\n\tb@x.test"), "a@x.test|b@x.test");
	ck_assert_str_eq(addrs(",,"), "");
	/* Unbalanced input ends without reading past the end. */
	ck_assert_str_eq(addrs("(open comment a@b"), "");
	ck_assert_str_eq(addrs("\"open quote"), "\"open quote");
}
END_TEST

START_TEST(headers_extract_and_bcc)
{
	struct str msg = STR_INIT;
	struct sendmail_list l = { NULL, 0 };

	str_append(&msg, "To: a@x.test,\n b@x.test\nSubject: s\n"
		   "BCC: hidden@x.test,\n\tmore@x.test\nCc: c@x.test\n\n"
		   "To: body@x.test\nBcc: body\n");
	sendmail_headers(&msg, true, &l);
	ck_assert_str_eq(joined(&l),
			 "a@x.test|b@x.test|hidden@x.test|more@x.test|"
			 "c@x.test");
	ck_assert_str_eq(msg.data, "To: a@x.test,\n b@x.test\nSubject: s\n"
			 "Cc: c@x.test\n\nTo: body@x.test\nBcc: body\n");
	sendmail_list_free(&l);
	/* Without -t nothing is collected, but Bcc still goes. */
	str_set(&msg, "Bcc: h@x.test\nTo: t@x.test\n\nbody\n");
	sendmail_headers(&msg, false, &l);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_str_eq(msg.data, "To: t@x.test\n\nbody\n");
	/* A body with no header at all. */
	str_set(&msg, "hi\nTo: x@y.test\n");
	sendmail_headers(&msg, true, &l);
	ck_assert_uint_eq(l.count, 0);
	ck_assert_str_eq(msg.data, "hi\nTo: x@y.test\n");
	str_release(&msg);
}
END_TEST

START_TEST(qualify)
{
	struct str out = STR_INIT;
	const char *error = NULL;

	ck_assert(sendmail_qualify("demo", "h.test", false, &out, &error));
	ck_assert_str_eq(out.data, "demo@h.test");
	ck_assert(sendmail_qualify("<U@EXAMPLE.Test>", "h.test", false, &out,
				   &error));
	ck_assert_str_eq(out.data, "U@example.test");
	ck_assert(sendmail_qualify("<>", "h.test", true, &out, &error));
	ck_assert_uint_eq(out.len, 0);
	ck_assert(sendmail_qualify("", "h.test", true, &out, &error));
	ck_assert(!sendmail_qualify("", "h.test", false, &out, &error));
	ck_assert(!sendmail_qualify("a b@x.test", "h.test", false, &out,
				    &error));
	ck_assert(!sendmail_qualify("a@@x.test", "h.test", false, &out,
				    &error));
	ck_assert(!sendmail_qualify("demo", NULL, false, &out, &error));
	ck_assert_str_eq(error, "address has no domain");
	str_release(&out);
}
END_TEST

static int read_msg(const char *in, bool dot_ends, size_t max,
		    struct str *out)
{
	FILE *f = fmemopen((void *)in, strlen(in), "r");
	int ret;

	ck_assert_ptr_nonnull(f);
	str_clear(out);
	ret = sendmail_read_message(f, dot_ends, max, out);
	fclose(f);
	return ret;
}

START_TEST(read_message)
{
	struct str out = STR_INIT;

	ck_assert_int_eq(read_msg("a\r\nb\n.\nc\n", true, 100, &out), 1);
	ck_assert_str_eq(out.data, "a\nb\n");
	ck_assert_int_eq(read_msg("a\n.\nc", false, 100, &out), 1);
	ck_assert_str_eq(out.data, "a\n.\nc\n");
	ck_assert_int_eq(read_msg("..\n.x\n", true, 100, &out), 1);
	ck_assert_str_eq(out.data, "..\n.x\n");
	ck_assert_int_eq(read_msg("0123456789\n", true, 5, &out), 0);
	ck_assert_int_eq(read_msg("", true, 5, &out), 1);
	ck_assert_uint_eq(out.len, 0);
	str_release(&out);
}
END_TEST

START_TEST(header_end)
{
	const char *m;
	bool blank;

	m = "A: 1\nB: 2\n\nbody\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 10);
	ck_assert(blank);
	m = "A: 1\n cont\nbody line\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 11);
	ck_assert(!blank);
	m = "hi\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 0);
	ck_assert(!blank);
	m = " leading space: no\n";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank), 0);
	m = "X: no newline";
	ck_assert_uint_eq(pickup_header_end(m, strlen(m), &blank),
			  strlen(m));
	m = "From: a\nmessage-id: <x>\nDate: d\n";
	ck_assert(pickup_has_header(m, strlen(m), "message-id"));
	ck_assert(pickup_has_header(m, strlen(m), "from"));
	ck_assert(pickup_has_header(m, strlen(m), "date"));
	ck_assert(!pickup_has_header(m, strlen(m), "to"));
	ck_assert(!pickup_has_header("Fromage: x\n", 11, "from"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sendmail");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, address_lists);
	tcase_add_test(tc, headers_extract_and_bcc);
	tcase_add_test(tc, qualify);
	tcase_add_test(tc, read_message);
	tcase_add_test(tc, header_end);
	suite_add_tcase(s, tc);
	return tu_run_suite(s);
}
