/*
 * mime_charset: text in a named charset to UTF-8 (mime_charset_to_utf8
 * and mime_utf8_sanitize in mime.h).
 *
 * The charsets that make up nearly all mail are converted here with
 * tables: UTF-8 (checked), US-ASCII, ISO-8859-1, ISO-8859-15 and
 * Windows-1252. Anything else goes through glibc's iconv(3), one
 * conversion descriptor per call (glibc caches the loaded modules).
 * Whatever cannot be converted becomes U+FFFD, byte by byte, so the
 * output is always valid UTF-8 and never longer than 3 bytes per input
 * byte (iconv aside, whose output is bounded by its charsets).
 *
 * SECURITY: the charset name and the text come from a message. Only
 * names of token characters, at most MIME_CHARSET_NAME_MAX long, reach
 * iconv_open (no "//TRANSLIT" or path tricks); UTF-8 checks reject
 * overlong forms, surrogates and code points above U+10FFFF.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "mime_impl.h"

#define MIME_CHARSET_NAME_MAX	40

enum mime_charset {
	MIME_CS_UTF8,
	MIME_CS_ASCII,
	MIME_CS_LATIN1,
	MIME_CS_LATIN9,
	MIME_CS_CP1252,
	MIME_CS_OTHER,
};

static const struct {
	const char *name;
	enum mime_charset cs;
} mime_charset_names[] = {
	{ "utf-8", MIME_CS_UTF8 }, { "utf8", MIME_CS_UTF8 },
	{ "us-ascii", MIME_CS_ASCII }, { "ascii", MIME_CS_ASCII },
	{ "ansi_x3.4-1968", MIME_CS_ASCII }, { "us", MIME_CS_ASCII },
	{ "iso-8859-1", MIME_CS_LATIN1 }, { "iso8859-1", MIME_CS_LATIN1 },
	{ "iso_8859-1", MIME_CS_LATIN1 }, { "latin1", MIME_CS_LATIN1 },
	{ "l1", MIME_CS_LATIN1 }, { "iso-ir-100", MIME_CS_LATIN1 },
	{ "cp819", MIME_CS_LATIN1 },
	{ "iso-8859-15", MIME_CS_LATIN9 }, { "iso8859-15", MIME_CS_LATIN9 },
	{ "iso_8859-15", MIME_CS_LATIN9 }, { "latin-9", MIME_CS_LATIN9 },
	{ "latin9", MIME_CS_LATIN9 },
	{ "windows-1252", MIME_CS_CP1252 }, { "cp1252", MIME_CS_CP1252 },
	{ "x-cp1252", MIME_CS_CP1252 },
};

/* Windows-1252 0x80-0x9f; 0 for the five unassigned bytes. */
static const unsigned short mime_cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static void mime_put_cp(struct str *out, unsigned cp)
{
	char b[4];

	if (cp < 0x80) {
		str_append_c(out, (char)cp);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		str_append_n(out, b, 2);
	} else {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		str_append_n(out, b, 3);
	}
}

#define MIME_REPLACEMENT	0xfffd

/* Length of the valid UTF-8 sequence at s (at most left bytes), or 0. */
static size_t mime_utf8_seq(const unsigned char *s, size_t left)
{
	unsigned cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t mime_utf8_char_len(const char *s, size_t left)
{
	return left == 0 ? 0 : mime_utf8_seq((const unsigned char *)s, left);
}

void mime_utf8_sanitize(const char *s, size_t len, struct str *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0, n;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		n = mime_utf8_seq(u + i, len - i);
		if (n > 0) {
			i += n;
			continue;
		}
		str_append_n(out, s + start, i - start);
		mime_put_cp(out, MIME_REPLACEMENT);
		start = ++i;
	}
	str_append_n(out, s + start, len - start);
}

static enum mime_charset mime_charset_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mime_charset_names) /
		     sizeof(mime_charset_names[0]); i++)
		if (strcasecmp(name, mime_charset_names[i].name) == 0)
			return mime_charset_names[i].cs;
	return MIME_CS_OTHER;
}

unsigned long mime_charset_iconv_count;

static bool mime_iconv(const char *charset, const char *in, size_t len,
		       struct str *out)
{
	char buf[4096], *inp = (char *)in, *outp;
	size_t inleft = len, outleft, i;
	iconv_t cd;

	if (strlen(charset) > MIME_CHARSET_NAME_MAX || *charset == '\0')
		return false;
	for (i = 0; charset[i] != '\0'; i++)
		if (!mime_is_token_char((unsigned char)charset[i]) ||
		    charset[i] == '/')
			return false;
	mime_charset_iconv_count++;
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return false;
	while (inleft > 0) {
		outp = buf;
		outleft = sizeof(buf);
		if (iconv(cd, &inp, &inleft, &outp, &outleft) == (size_t)-1 &&
		    errno != E2BIG) {
			/* EILSEQ, or EINVAL at a truncated end: one byte
			 * becomes U+FFFD and the state starts over. */
			str_append_n(out, buf, (size_t)(outp - buf));
			mime_put_cp(out, MIME_REPLACEMENT);
			inp++;
			inleft--;
			iconv(cd, NULL, NULL, NULL, NULL);
			continue;
		}
		str_append_n(out, buf, (size_t)(outp - buf));
	}
	/* Flush a stateful encoding's shift sequence. */
	outp = buf;
	outleft = sizeof(buf);
	if (iconv(cd, NULL, NULL, &outp, &outleft) != (size_t)-1)
		str_append_n(out, buf, (size_t)(outp - buf));
	iconv_close(cd);
	return true;
}

bool mime_charset_to_utf8(const char *charset, const char *in, size_t len,
			  struct str *out)
{
	enum mime_charset cs = mime_charset_lookup(charset);
	const unsigned char *u = (const unsigned char *)in;
	size_t i, start = 0;
	unsigned cp;

	if (cs == MIME_CS_UTF8) {
		mime_utf8_sanitize(in, len, out);
		return true;
	}
	if (cs == MIME_CS_OTHER) {
		/* The result is checked again: iconv modules are many. */
		struct str tmp = STR_INIT;
		bool ok = mime_iconv(charset, in, len, &tmp);

		if (ok && tmp.len > 0)
			mime_utf8_sanitize(tmp.data, tmp.len, out);
		str_release(&tmp);
		return ok;
	}
	str_reserve(out, len);
	for (i = 0; i < len; i++) {
		if (u[i] < 0x80)
			continue;
		str_append_n(out, in + start, i - start);
		start = i + 1;
		cp = u[i];
		if (cs == MIME_CS_ASCII) {
			cp = MIME_REPLACEMENT;
		} else if (cs == MIME_CS_CP1252 && cp < 0xa0) {
			cp = mime_cp1252[cp - 0x80];
			if (cp == 0)
				cp = MIME_REPLACEMENT;
		} else if (cs == MIME_CS_LATIN9) {
			switch (cp) {
			case 0xa4: cp = 0x20ac; break;
			case 0xa6: cp = 0x0160; break;
			case 0xa8: cp = 0x0161; break;
			case 0xb4: cp = 0x017d; break;
			case 0xb8: cp = 0x017e; break;
			case 0xbc: cp = 0x0152; break;
			case 0xbd: cp = 0x0153; break;
			case 0xbe: cp = 0x0178; break;
			default: break;
			}
		}
		mime_put_cp(out, cp);
	}
	str_append_n(out, in + start, len - start);
	return true;
}
