/*
 * imap_utf7: modified UTF-7 for mailbox names and UTF-8 checks
 * (imap_utf7.h).
 *
 * Both directions go through code points: UTF-8 is decoded strictly into
 * code points, which become UTF-16 units in base64; base64 becomes UTF-16
 * units, which are paired into code points and encoded as UTF-8. The
 * decoder accepts only what the encoder would produce, so a name that
 * decodes also re-encodes to the same bytes (the unit tests check the
 * round trip both ways).
 *
 * SECURITY: the input is an untrusted mailbox name from a client (or a
 * directory name from the user's Maildir). Output only grows through
 * str.h; nothing is written to fixed buffers.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "imap_utf7.h"

static const char imap_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int imap_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Decode one UTF-8 sequence at s (len bytes left): the code point, or -1
 * if the sequence is invalid. *n_r is its length. */
static int32_t imap_utf8_next(const unsigned char *s, size_t len,
			      size_t *n_r)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80) {
		*n_r = 1;
		return s[0];
	}
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
		return -1;
	}
	if (len < n)
		return -1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n_r = n;
	return (int32_t)cp;
}

bool imap_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (imap_utf8_next(u + i, len - i, &n) < 0)
			return false;
		i += n;
	}
	return true;
}

static void imap_utf8_put(struct str *out, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	str_append_n(out, b, n);
}

/* --- encoding --- */

struct imap_b64_enc {
	uint32_t bits;
	unsigned int nbits;
};

static void imap_b64_put16(struct str *out, struct imap_b64_enc *e,
			   uint32_t unit)
{
	e->bits = (e->bits << 16) | unit;
	e->nbits += 16;
	while (e->nbits >= 6) {
		e->nbits -= 6;
		str_append_c(out, imap_b64[(e->bits >> e->nbits) & 0x3f]);
	}
	e->bits &= (1u << e->nbits) - 1;
}

static void imap_b64_flush(struct str *out, struct imap_b64_enc *e)
{
	if (e->nbits > 0)
		str_append_c(out, imap_b64[(e->bits << (6 - e->nbits)) & 0x3f]);
	e->bits = 0;
	e->nbits = 0;
	str_append_c(out, '-');
}

bool imap_utf7_encode(const char *utf8, struct str *out,
		      const char **error_r)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t len = strlen(utf8), i = 0, n;
	struct imap_b64_enc e = { 0, 0 };
	bool shifted = false;
	int32_t cp;

	while (i < len) {
		cp = imap_utf8_next(s + i, len - i, &n);
		if (cp < 0) {
			*error_r = "Invalid UTF-8";
			return false;
		}
		i += n;
		if (cp >= 0x20 && cp <= 0x7e) {
			if (shifted) {
				imap_b64_flush(out, &e);
				shifted = false;
			}
			if (cp == '&')
				str_append(out, "&-");
			else
				str_append_c(out, (char)cp);
			continue;
		}
		if (!shifted) {
			str_append_c(out, '&');
			shifted = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			imap_b64_put16(out, &e,
				       0xd800 | ((uint32_t)cp >> 10));
			imap_b64_put16(out, &e,
				       0xdc00 | ((uint32_t)cp & 0x3ff));
		} else {
			imap_b64_put16(out, &e, (uint32_t)cp);
		}
	}
	if (shifted)
		imap_b64_flush(out, &e);
	return true;
}

/* --- decoding --- */

/* Decode the base64 run after '&' at *sp, up to and including its '-'. */
static bool imap_utf7_shift(const unsigned char **sp, struct str *out,
			    const char **error_r)
{
	const unsigned char *s = *sp;
	uint32_t bits = 0, high = 0, unit;
	unsigned int nbits = 0;
	int v;

	for (; *s != '-'; s++) {
		if ((v = imap_b64_value(*s)) < 0) {
			*error_r = *s == '\0' ? "Unterminated &-shift" :
				"Invalid character in base64";
			return false;
		}
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff) {
				*error_r = "Unpaired UTF-16 surrogate";
				return false;
			}
			imap_utf8_put(out, 0x10000 + ((high - 0xd800) << 10) +
				      (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			*error_r = "Unpaired UTF-16 surrogate";
			return false;
		} else if ((unit >= 0x20 && unit <= 0x7e) || unit == 0) {
			*error_r = unit == 0 ? "U+0000 in name" :
				"Printable ASCII encoded in base64";
			return false;
		} else {
			imap_utf8_put(out, unit);
		}
	}
	if (high != 0) {
		*error_r = "Unpaired UTF-16 surrogate";
		return false;
	}
	if (nbits >= 6 || bits != 0) {
		*error_r = "Non-canonical base64 padding";
		return false;
	}
	*sp = s + 1;
	return true;
}

bool imap_utf7_decode(const char *mutf7, struct str *out,
		      const char **error_r)
{
	const unsigned char *s = (const unsigned char *)mutf7;
	bool after_shift = false;

	while (*s != '\0') {
		if (*s < 0x20 || *s > 0x7e) {
			*error_r = "Invalid character in modified UTF-7";
			return false;
		}
		if (*s != '&') {
			str_append_c(out, (char)*s++);
			after_shift = false;
			continue;
		}
		s++;
		if (*s == '-') {
			str_append_c(out, '&');
			s++;
			after_shift = false;
			continue;
		}
		if (after_shift) {
			*error_r = "Two &-shifts in a row";
			return false;
		}
		if (!imap_utf7_shift(&s, out, error_r))
			return false;
		after_shift = true;
	}
	return true;
}

bool imap_utf7_valid(const char *s)
{
	struct str tmp = STR_INIT;
	const char *error;
	bool ok = imap_utf7_decode(s, &tmp, &error);

	str_release(&tmp);
	return ok;
}
