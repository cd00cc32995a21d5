/*
 * imap_quote: atoms, quoted strings and literals in server output
 * (imap_quote.h).
 *
 * One scan decides: if every byte may stand in a quoted string (and the
 * string is short), quote it; otherwise send a literal. Literals are
 * counted after NUL bytes are dropped, so the announced size always
 * matches what follows.
 *
 * SECURITY: the strings are untrusted (message headers, mailbox names,
 * client-chosen values echoed back). What matters is that none of them
 * can end a line or a string early and inject protocol text: CR and LF
 * only ever travel inside a literal of exact length.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "imap_quote.h"
#include "imap_utf7.h"

static bool imap_quote_ok(const char *s, size_t len, bool utf8)
{
	bool eight = false;
	size_t i;

	if (len > IMAP_QUOTE_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80)
			eight = true;
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return !eight || (utf8 && imap_utf8_valid(s, len));
}

static void imap_quote_literal(struct str *out, const char *s, size_t len)
{
	size_t n = 0, i, start;

	for (i = 0; i < len; i++)
		if (s[i] != '\0')
			n++;
	str_printf(out, "{%zu}\r\n", n);
	for (start = i = 0; i <= len; i++) {
		if (i == len || s[i] == '\0') {
			str_append_n(out, s + start, i - start);
			start = i + 1;
		}
	}
}

void imap_quote_string(struct str *out, const char *s, size_t len, bool utf8)
{
	size_t i, start;

	if (!imap_quote_ok(s, len, utf8)) {
		imap_quote_literal(out, s, len);
		return;
	}
	str_append_c(out, '"');
	for (start = i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			str_append_n(out, s + start, i - start);
			str_append_c(out, '\\');
			start = i;
		}
	}
	str_append_n(out, s + start, len - start);
	str_append_c(out, '"');
}

/* ASTRING-CHAR: ATOM-CHAR or ']'. */
static bool imap_quote_astring_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\", c) == NULL;
}

void imap_quote_astring(struct str *out, const char *s, size_t len,
			bool utf8)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!imap_quote_astring_char((unsigned char)s[i]))
			break;
	if (len > 0 && i == len && len <= IMAP_QUOTE_MAX &&
	    !(len == 3 && strncasecmp(s, "NIL", 3) == 0)) {
		str_append_n(out, s, len);
		return;
	}
	imap_quote_string(out, s, len, utf8);
}

void imap_quote_nstring(struct str *out, const char *s, size_t len,
			bool utf8)
{
	if (s == NULL)
		str_append(out, "NIL");
	else
		imap_quote_string(out, s, len, utf8);
}

void imap_quote_literal8(struct str *out, const char *s, size_t len)
{
	str_printf(out, "~{%zu}\r\n", len);
	str_append_n(out, s, len);
}
