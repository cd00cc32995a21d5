/*
 * addr: RFC 5321 envelope address parsing (addr.h).
 *
 * The grammar is RFC 5321 section 4.1.2 with RFC 6531's UTF-8 additions:
 *
 *   Path        = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l       = At-domain *( "," At-domain ) ; At-domain = "@" Domain
 *   Mailbox     = Local-part [ "@" ( Domain / address-literal ) ]
 *   Local-part  = Dot-string / Quoted-string
 *   Domain      = sub-domain *( "." sub-domain ), one trailing dot allowed
 *
 * The parser is a single forward scan with fixed output buffers; every
 * error carries the offset of the byte that broke the grammar. Source
 * routes are parsed and dropped; address literals are checked with
 * inet_pton. General address literals ("[tag:content]") are refused:
 * nothing in correo can route them.
 *
 * SECURITY: input is untrusted client text. Lengths are checked before
 * any byte is copied into the fixed buffers, NUL/CR/LF and other control
 * characters are never accepted, and UTF-8 is accepted only when the
 * caller says SMTPUTF8 was declared, and then only well-formed. Routing
 * syntax inside the local part ("%", "!", a quoted "@") is reported by
 * addr_has_routing so smtpd can refuse to relay it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

static bool addr_fail(struct addr_error *err, const char *reason,
		      size_t pos)
{
	if (err != NULL) {
		err->reason = reason;
		err->pos = pos;
	}
	return false;
}

/* RFC 5322 atext, plus non-ASCII octets for SMTPUTF8. */
static bool addr_atext(unsigned char c, unsigned flags)
{
	if (c >= 0x80)
		return (flags & ADDR_F_UTF8) != 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

bool addr_valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 3;
			cp = p[i] & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Is s[0..len) a Dot-string: atoms separated by single dots? */
static bool addr_dot_string(const char *s, size_t len, unsigned flags)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!addr_atext((unsigned char)s[i], flags)) {
			return false;
		}
	}
	return true;
}

static bool addr_literal(const char *s, size_t len, struct addr_error *err)
{
	char buf[64];
	unsigned char bin[16];
	size_t n = len - 2;
	const char *in = s + 1;
	int af = AF_INET;

	if (len < 3 || s[len - 1] != ']')
		return addr_fail(err, "unterminated address literal",
				 len - 1);
	if (n >= 5 && strncasecmp(in, "IPv6:", 5) == 0) {
		af = AF_INET6;
		in += 5;
		n -= 5;
	} else if (memchr(in, ':', n) != NULL) {
		return addr_fail(err, "unsupported address literal", 1);
	}
	/* A NUL would end buf early: "[192.0.2.1\0junk]" must not pass. */
	if (n == 0 || n >= sizeof(buf) || memchr(in, '\0', n) != NULL)
		return addr_fail(err, "bad address literal", 1);
	memcpy(buf, in, n);
	buf[n] = '\0';
	if (inet_pton(af, buf, bin) != 1)
		return addr_fail(err, "bad address literal", 1);
	return true;
}

/* One label: letters, digits, hyphens inside; UTF-8 with SMTPUTF8. */
static bool addr_label(const char *s, size_t len, size_t base,
		       unsigned flags, struct addr_error *err)
{
	size_t i;
	unsigned char c;

	if (len == 0)
		return addr_fail(err, "empty label in domain", base);
	if (len > 63)
		return addr_fail(err, "domain label too long", base + 63);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x80) {
			if (!(flags & ADDR_F_UTF8))
				return addr_fail(err, "non-ASCII domain"
						 " without SMTPUTF8",
						 base + i);
			continue;
		}
		if (c == '-' && i > 0 && i < len - 1)
			continue;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		return addr_fail(err, "invalid character in domain",
				 base + i);
	}
	return true;
}

bool addr_valid_domain(const char *s, size_t len, unsigned flags,
		       struct addr_error *err)
{
	const char *dot;
	size_t start = 0, n;

	if (len == 0)
		return addr_fail(err, "missing domain", 0);
	if (len > ADDR_DOMAIN_MAX)
		return addr_fail(err, "domain too long", ADDR_DOMAIN_MAX);
	if (s[0] == '[')
		return addr_literal(s, len, err);
	for (;;) {
		dot = memchr(s + start, '.', len - start);
		n = dot != NULL ? (size_t)(dot - s) - start : len - start;
		if (!addr_label(s + start, n, start, flags, err))
			return false;
		if (dot == NULL)
			break;
		start += n + 1;
	}
	if ((flags & ADDR_F_UTF8) && !addr_valid_utf8(s, len))
		return addr_fail(err, "bad UTF-8 in domain", 0);
	return true;
}

/* Scan a Quoted-string starting at s[0] == '"'; decode into a->local.
 * Returns the length consumed (through the closing quote) or 0. */
static size_t addr_quoted(const char *s, size_t len, unsigned flags,
			  struct addr *a, struct addr_error *err)
{
	size_t i = 1, o = 0;
	unsigned char c;

	for (;;) {
		if (i >= len || i >= ADDR_LOCAL_MAX) {
			if (i >= ADDR_LOCAL_MAX)
				addr_fail(err, "local part too long", i);
			else
				addr_fail(err, "unterminated quoted string",
					  i);
			return 0;
		}
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (i + 1 >= len || (unsigned char)s[i + 1] < 32 ||
			    (unsigned char)s[i + 1] > 126) {
				addr_fail(err, "bad quoted pair", i + 1);
				return 0;
			}
			c = (unsigned char)s[++i];
		} else if (c < 32 || c == 127 ||
			   (c >= 0x80 && !(flags & ADDR_F_UTF8))) {
			addr_fail(err, c >= 0x80 ? "non-ASCII local part"
				  " without SMTPUTF8" :
				  "invalid character in quoted string", i);
			return 0;
		}
		a->local[o++] = (char)c;
		i++;
	}
	a->local[o] = '\0';
	a->quoted = true;
	return i + 1;
}

/* Scan a Dot-string local part up to '@' or the end. */
static size_t addr_dotted(const char *s, size_t len, unsigned flags,
			  struct addr *a, struct addr_error *err)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < len && s[i] != '@'; i++) {
		c = (unsigned char)s[i];
		if (i >= ADDR_LOCAL_MAX) {
			addr_fail(err, "local part too long", i);
			return 0;
		}
		if (c == '.') {
			if (i == 0 || s[i - 1] == '.') {
				addr_fail(err, "empty atom in local part", i);
				return 0;
			}
		} else if (!addr_atext(c, flags)) {
			addr_fail(err, c >= 0x80 ? "non-ASCII local part"
				  " without SMTPUTF8" :
				  "invalid character in local part", i);
			return 0;
		}
		a->local[i] = (char)c;
	}
	if (i == 0) {
		addr_fail(err, "empty local part", 0);
		return 0;
	}
	if (s[i - 1] == '.') {
		addr_fail(err, "empty atom in local part", i - 1);
		return 0;
	}
	a->local[i] = '\0';
	return i;
}

/* Write the canonical text form into a->text. */
static void addr_canonical(struct addr *a, unsigned flags)
{
	size_t n = strlen(a->local), o = 0, i;
	char *t = a->text;

	if (addr_dot_string(a->local, n, flags | ADDR_F_UTF8)) {
		memcpy(t, a->local, n);
		o = n;
	} else {
		t[o++] = '"';
		for (i = 0; i < n; i++) {
			if (a->local[i] == '"' || a->local[i] == '\\')
				t[o++] = '\\';
			t[o++] = a->local[i];
		}
		t[o++] = '"';
	}
	if (a->domain[0] != '\0') {
		t[o++] = '@';
		n = strlen(a->domain);
		memcpy(t + o, a->domain, n);
		o += n;
	}
	t[o] = '\0';
}

static bool addr_set_domain(const char *d, size_t n, unsigned flags,
			    struct addr *a, size_t base,
			    struct addr_error *err)
{
	size_t i;

	if (n > 1 && d[n - 1] == '.' && d[0] != '[') {
		a->trailing_dot = true;
		n--;
	}
	if (!addr_valid_domain(d, n, flags, err)) {
		if (err != NULL)
			err->pos += base;
		return false;
	}
	for (i = 0; i < n; i++) {
		char c = d[i];

		a->domain[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		if ((unsigned char)c >= 0x80)
			a->utf8 = true;
	}
	a->domain[n] = '\0';
	a->literal = d[0] == '[';
	return true;
}

bool addr_parse_mailbox(const char *s, size_t len, unsigned flags,
			struct addr *a, struct addr_error *err)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (len == 0)
		return addr_fail(err, "empty address", 0);
	if (s[0] == '"')
		i = addr_quoted(s, len, flags, a, err);
	else
		i = addr_dotted(s, len, flags, a, err);
	if (i == 0)
		return false;
	if (i > ADDR_LOCAL_MAX)
		return addr_fail(err, "local part too long", ADDR_LOCAL_MAX);
	if ((flags & ADDR_F_UTF8) && !addr_valid_utf8(a->local,
						      strlen(a->local)))
		return addr_fail(err, "bad UTF-8 in local part", 0);
	if (i == len) {
		if (!(flags & ADDR_F_NODOMAIN))
			return addr_fail(err, "missing domain", len);
	} else if (s[i] != '@') {
		return addr_fail(err, "invalid character in local part", i);
	} else if (!addr_set_domain(s + i + 1, len - i - 1, flags, a, i + 1,
				    err)) {
		return false;
	}
	for (i = 0; a->local[i] != '\0'; i++)
		if ((unsigned char)a->local[i] >= 0x80)
			a->utf8 = true;
	addr_canonical(a, flags);
	return true;
}

/* "@dom1,@dom2:" at s[0..len); returns the length consumed or 0. */
static size_t addr_route(const char *s, size_t len, unsigned flags,
			 struct addr_error *err)
{
	size_t i = 0, start, n;

	for (;;) {
		if (i >= len || s[i] != '@') {
			addr_fail(err, "bad source route", i);
			return 0;
		}
		start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':' && s[i] != '>')
			i++;
		n = i - start;
		if (!addr_valid_domain(s + start, n, flags, err)) {
			if (err != NULL)
				err->pos += start;
			return 0;
		}
		if (i < len && s[i] == ':')
			return i + 1;
		if (i >= len || s[i] != ',') {
			addr_fail(err, "bad source route", i);
			return 0;
		}
		i++;
	}
}

/* Offset of the '>' closing a mailbox that starts at s[0], skipping a
 * quoted local part; len if there is none. */
static size_t addr_find_close(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 0 && s[0] == '"') {
		for (i = 1; i < len && s[i] != '"'; i++)
			if (s[i] == '\\' && i + 1 < len)
				i++;
	}
	for (; i < len; i++)
		if (s[i] == '>')
			return i;
	return len;
}

bool addr_parse_path(const char *s, size_t len, unsigned flags,
		     struct addr *a, size_t *end_r, struct addr_error *err)
{
	size_t start = 1, close, route = 0;

	memset(a, 0, sizeof(*a));
	if (len == 0 || s[0] != '<')
		return addr_fail(err, "missing '<'", 0);
	if (len >= 2 && s[1] == '>') {
		if (!(flags & ADDR_F_NULL))
			return addr_fail(err, "null address not allowed", 1);
		a->null = true;
		*end_r = 2;
		return true;
	}
	if (len >= 2 && s[1] == '@') {
		route = addr_route(s + 1, len - 1, flags, err);
		if (route == 0) {
			if (err != NULL)
				err->pos += 1;
			return false;
		}
		start += route;
	}
	close = start + addr_find_close(s + start, len - start);
	if (close >= len)
		return addr_fail(err, "missing '>'", len);
	if (close + 1 > ADDR_PATH_MAX)
		return addr_fail(err, "path too long", ADDR_PATH_MAX);
	if (!addr_parse_mailbox(s + start, close - start,
				flags & ~ADDR_F_NULL, a, err)) {
		if (err != NULL)
			err->pos += start;
		return false;
	}
	a->route = route > 0;
	*end_r = close + 1;
	return true;
}

bool addr_has_routing(const struct addr *a)
{
	return strpbrk(a->local, "@%!") != NULL;
}

bool addr_is_postmaster(const struct addr *a)
{
	return !a->null && strcasecmp(a->local, "postmaster") == 0;
}
