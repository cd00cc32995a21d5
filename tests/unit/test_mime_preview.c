/*
 * Unit tests for common/mail/mime_preview.c (PREVIEW, RFC 8970): which
 * part is chosen, transfer and charset decoding, HTML reduced to text,
 * white space collapsed, the 256-character cut on a character boundary,
 * and messages with no text at all.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "test_util.h"

static char *preview(const char *msg)
{
	struct mime_message *m = mime_parse(msg, strlen(msg), NULL);
	struct str out = STR_INIT;

	mime_preview(m, &out);
	mime_message_free(&m);
	str_append(&out, "");
	return str_steal(&out);
}

#define ck_preview(msg, expected) do { \
	char *p_ = preview(msg); \
	ck_assert_str_eq(p_, expected); \
	free(p_); \
} while (0)

START_TEST(test_plain)
{
	ck_preview("Subject: x\n\nHello\n\n   world\t!\n", "Hello world !");
	ck_preview("Subject: x\r\n\r\n  \r\n  lead and trail  \r\n",
		   "lead and trail");
	ck_preview("Subject: x\n\n", "");
	ck_preview("Subject: no body", "");
	/* Controls are white space; a NUL too. */
	ck_preview("Subject: x\n\na\001b\177c", "a b c");
}
END_TEST

START_TEST(test_decoding)
{
	ck_preview("Content-Type: text/plain; charset=iso-8859-1\n"
		   "Content-Transfer-Encoding: quoted-printable\n\n"
		   "Caf=E9 =\nau lait=3D\n", "Café au lait=");
	ck_preview("Content-Type: text/plain; charset=utf-8\n"
		   "Content-Transfer-Encoding: base64\n\n"
		   "R3LDvMOfZSDigJQg4oKsIDU=\n", "Grüße — € 5");
	/* Invalid UTF-8 in a part that claims it becomes U+FFFD. */
	ck_preview("Content-Type: text/plain; charset=utf-8\n\na\xff" "b",
		   "a\xef\xbf\xbd" "b");
	/* An unknown charset: the bytes made valid UTF-8. */
	ck_preview("Content-Type: text/plain; charset=x-bogus\n\nok\n", "ok");
	/* An encoding nobody knows: no preview rather than garbage. */
	ck_preview("Content-Transfer-Encoding: x-uuencode\n\nbegin 644\n", "");
}
END_TEST

START_TEST(test_html)
{
	ck_preview("Content-Type: text/html\n\n<html><head><title>T</title>"
		   "<style>p{color:red}</style></head><body><p>Dear&nbsp;Bob,"
		   "</p><!-- hidden --><script>var x = '<p>';</script><p>see "
		   "&lt;this&gt; &amp; &#233;t&#xE9; &bogus; &#xzz;</p>",
		   "Dear Bob, see <this> & été &bogus; &#xzz;");
	ck_preview("Content-Type: text/html\n\nA<br>B<STYLE>x</STYLE>C",
		   "A B C");
	/* Unclosed script: the rest is script. */
	ck_preview("Content-Type: text/html\n\nshown<script>hidden", "shown");
	ck_preview("Content-Type: text/html\n\n<p unclosed", "");
}
END_TEST

START_TEST(test_part_choice)
{
	ck_preview("Content-Type: multipart/alternative; boundary=b\n\n"
		   "--b\nContent-Type: text/html\n\n<b>html</b>\n"
		   "--b\nContent-Type: text/plain\n\nplain\n--b--\n", "plain");
	ck_preview("Content-Type: multipart/alternative; boundary=b\n\n"
		   "--b\nContent-Type: text/enriched\n\n<bold>e</bold>\n"
		   "--b\nContent-Type: text/html\n\n<b>html</b>\n--b--\n",
		   "html");
	ck_preview("Content-Type: multipart/mixed; boundary=b\n\n"
		   "--b\nContent-Type: text/plain\n"
		   "Content-Disposition: attachment\n\nattached\n"
		   "--b\nContent-Type: image/png\n\nPNG\n"
		   "--b\nContent-Type: multipart/alternative; boundary=c\n\n"
		   "--c\nContent-Type: text/plain\n\nnested\n--c--\n"
		   "--b--\n", "nested");
	ck_preview("Content-Type: image/png\n\nPNG\n", "");
	/* A forwarded message is not the message's own text. */
	ck_preview("Content-Type: message/rfc822\n\nSubject: in\n\ninner\n",
		   "");
}
END_TEST

START_TEST(test_cut)
{
	struct str msg = STR_INIT, want = STR_INIT;
	char *p;

	str_append(&msg, "Content-Type: text/plain; charset=utf-8\n\n");
	for (int i = 0; i < 300; i++)
		str_append(&msg, "\xc3\xa9");	/* é: 2 bytes, 1 char */
	for (int i = 0; i < 256; i++)
		str_append(&want, "\xc3\xa9");
	p = preview(str_c(&msg));
	ck_assert_str_eq(p, str_c(&want));
	free(p);
	/* A space is never the 256th character, nor the first. */
	str_clear(&msg);
	str_clear(&want);
	str_append(&msg, "Subject: x\n\n  ");
	for (int i = 0; i < 100; i++)
		str_append(&msg, "ab  \n");
	p = preview(str_c(&msg));
	ck_assert_uint_eq(strlen(p), 256);
	ck_assert_int_ne(p[0], ' ');
	ck_assert_int_ne(p[255], ' ');
	ck_assert(strncmp(p, "ab ab ab", 8) == 0);
	free(p);
	str_release(&msg);
	str_release(&want);
}
END_TEST

/* msg's first part decoded whole and decoded to at least max bytes:
 * the second is a prefix of the first, at least max long (or all). */
static void ck_decode_prefix(const char *msg, size_t max)
{
	struct mime_message *m = mime_parse(msg, strlen(msg), NULL);
	struct str all = STR_INIT, some = STR_INIT;
	const char *error;

	ck_assert_int_eq(mime_part_decode(m, m->root, &all, &error), 1);
	ck_assert_int_eq(mime_part_decode_prefix(m, m->root, max, &some,
						 &error), 1);
	ck_assert_uint_ge(some.len, (all.len < max ? all.len : max));
	ck_assert_uint_le(some.len, all.len);
	ck_assert(memcmp(str_c(&all), str_c(&some), some.len) == 0);
	str_release(&all);
	str_release(&some);
	mime_message_free(&m);
}

/* Long parts: the preview comes from their start, whatever it takes. */
START_TEST(test_long_parts)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	struct str msg = STR_INIT, text = STR_INIT, want = STR_INIT;
	unsigned v = 0;
	int bits = 0;
	char *p;

	/* More than the short scan of white space, then the words. */
	str_append(&msg, "Subject: x\n\n");
	for (int i = 0; i < 3000; i++)
		str_append(&msg, " \n");
	str_append(&msg, "late words\n");
	ck_preview(str_c(&msg), "late words");
	/* A two-byte character across the short scan's end, with fewer
	 * than 256 characters before it. */
	str_clear(&msg);
	str_append(&msg, "Content-Type: text/plain; charset=utf-8\n\n");
	for (int i = 0; i < 3587; i++)
		str_append_c(&msg, ' ');
	for (int i = 0; i < 300; i++)
		str_append(&msg, "\xc3\xa9");
	for (int i = 0; i < 256; i++)
		str_append(&want, "\xc3\xa9");
	ck_preview(str_c(&msg), str_c(&want));
	/* 100 KB of base64 text in 76-character lines. */
	for (int i = 0; text.len < 100000; i++)
		str_printf(&text, "word%d ", i % 10);
	str_clear(&msg);
	str_append(&msg, "Content-Transfer-Encoding: base64\n\n");
	for (size_t i = 0, col = 0; i < text.len; i++) {
		v = v << 8 | (unsigned char)str_c(&text)[i];
		for (bits += 8; bits >= 6; bits -= 6) {
			str_append_c(&msg, b64[(v >> (bits - 6)) & 63]);
			if (++col == 76) {
				str_append_c(&msg, '\n');
				col = 0;
			}
		}
	}
	if (bits > 0)
		str_append_c(&msg, b64[(v << (6 - bits)) & 63]);
	str_append(&msg, "==\n");
	p = preview(str_c(&msg));
	ck_assert_uint_eq(strlen(p), 256);
	ck_assert(strncmp(p, str_c(&text), 255) == 0);
	free(p);
	ck_decode_prefix(str_c(&msg), 4096);
	ck_decode_prefix(str_c(&msg), 1);
	ck_decode_prefix(str_c(&msg), 10 * 1000 * 1000);
	/* Quoted-printable made only of escapes. */
	str_clear(&msg);
	str_append(&msg, "Content-Transfer-Encoding: quoted-printable\n\n");
	for (int i = 0; i < 20000; i++)
		str_append(&msg, i % 25 == 24 ? "=41=\n" : "=41");
	ck_decode_prefix(str_c(&msg), 4096);
	ck_decode_prefix(str_c(&msg), 65536);
	/* 7bit with bare line feeds: the CRLF view's prefix. */
	ck_decode_prefix(str_c(&text), 4096);
	/* HTML whose text starts after 10 KB of style. */
	str_clear(&msg);
	str_append(&msg, "Content-Type: text/html\n\n<style>\n");
	for (int i = 0; i < 1000; i++)
		str_append(&msg, "p { x: y }\n");
	str_append(&msg, "</style><p>Hello there</p>\n");
	ck_preview(str_c(&msg), "Hello there");
	str_release(&msg);
	str_release(&text);
	str_release(&want);
}
END_TEST

static Suite *mime_preview_suite(void)
{
	Suite *s = suite_create("mime_preview");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_decoding);
	tcase_add_test(tc, test_html);
	tcase_add_test(tc, test_part_choice);
	tcase_add_test(tc, test_cut);
	tcase_add_test(tc, test_long_parts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(mime_preview_suite());
}
