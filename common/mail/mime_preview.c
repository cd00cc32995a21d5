/*
 * mime_preview: the preview text of a message (mime_preview in mime.h;
 * IMAP PREVIEW, RFC 8970).
 *
 * The text is taken from the first part a reader would see: the first
 * text/plain or text/html leaf that is not an attachment, walking
 * multiparts depth first, and in a multipart/alternative the plain
 * version before the HTML one. Its transfer encoding is undone, its
 * charset turned into UTF-8 (invalid sequences become U+FFFD), HTML
 * reduced to its text (tags dropped, <script>, <style> and <head> dropped
 * whole, the common entities and numeric references decoded), and every
 * run of white space or control characters becomes one space, trimmed
 * at both ends. At most MIME_PREVIEW_CHARS characters are kept, cut on
 * a character boundary. A message with no such part has an empty
 * preview (RFC 8970 allows it).
 *
 * SECURITY: the message is hostile input. The walk is bounded by the
 * parser's part limits; at most MIME_PREVIEW_SCAN bytes of the part's
 * decoded body are looked at, whatever its size.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_impl.h"

/* Decoded bytes looked at: enough for 256 characters after HTML
 * markup in all but absurd messages. */
#define MIME_PREVIEW_SCAN (64 * 1024)
#define MIME_PREVIEW_SHORT_SCAN 4096

static bool mime_preview_attachment(const struct mime_part *p)
{
	return p->disposition != NULL &&
	       strcasecmp(p->disposition, "attachment") == 0;
}

static bool mime_preview_text(const struct mime_part *p, const char *sub)
{
	return p->children == NULL && mime_part_is_type(p, "text", sub) &&
	       !mime_preview_attachment(p);
}

static const struct mime_part *mime_preview_find(const struct mime_part *p)
{
	const struct mime_part *c, *found;

	if (mime_part_is_type(p, "multipart", "alternative")) {
		for (c = p->children; c != NULL; c = c->next)
			if (mime_preview_text(c, "plain"))
				return c;
		for (c = p->children; c != NULL; c = c->next)
			if (mime_preview_text(c, "html"))
				return c;
	}
	if (mime_part_is_type(p, "multipart", NULL)) {
		for (c = p->children; c != NULL; c = c->next)
			if ((found = mime_preview_find(c)) != NULL)
				return found;
		return NULL;
	}
	if (mime_preview_text(p, "plain") || mime_preview_text(p, "html"))
		return p;
	return NULL;
}

/* One code point as UTF-8. */
static void mime_preview_cp(struct str *out, unsigned long cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		str_append_c(out, (char)cp);
	} else if (cp < 0x800) {
		str_append_c(out, (char)(0xc0 | (cp >> 6)));
		str_append_c(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		str_append_c(out, (char)(0xe0 | (cp >> 12)));
		str_append_c(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		str_append_c(out, (char)(0xf0 | (cp >> 18)));
		str_append_c(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		str_append_c(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/* An entity at s ("&amp;", "&#233;", "&#xe9;"): its length, the text
 * appended; 0 if it is none we know (the '&' is then kept). */
static size_t mime_preview_entity(const char *s, const char *end,
				  struct str *out)
{
	static const struct {
		const char *name;
		const char *text;
	} ents[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" },
		{ "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", " " },
	};
	size_t avail = (size_t)(end - s) - 1;

	if (avail > 0 && s[1] == '#') {
		char buf[12];
		size_t n = 0;
		const char *p = s + 2;
		bool hex = p < end && (*p == 'x' || *p == 'X');
		char *stop;
		unsigned long cp;

		if (hex)
			p++;
		while (p + n < end && n < sizeof(buf) - 1 && p[n] != ';')
			buf[n] = p[n], n++;
		if (n == 0 || p + n >= end || p[n] != ';')
			return 0;
		buf[n] = '\0';
		cp = strtoul(buf, &stop, hex ? 16 : 10);
		if (*stop != '\0')
			return 0;
		mime_preview_cp(out, cp);
		return (size_t)(p + n + 1 - s);
	}
	for (size_t i = 0; i < sizeof(ents) / sizeof(*ents); i++) {
		size_t l = strlen(ents[i].name);

		if (avail >= l && strncasecmp(s + 1, ents[i].name, l) == 0) {
			str_append(out, ents[i].text);
			return l + 1;
		}
	}
	return 0;
}

/* The name of the tag at s (after '<' and an optional '/'), compared. */
static bool mime_preview_tag_is(const char *s, const char *end,
				const char *name)
{
	size_t l = strlen(name);

	return (size_t)(end - s) > l && strncasecmp(s, name, l) == 0 &&
	       (s[l] == '>' || s[l] == ' ' || s[l] == '\t' || s[l] == '\n' ||
		s[l] == '\r' || s[l] == '/');
}

/* HTML to text: tags become spaces (they often separate words),
 * script/style/head vanish with their content, entities decode. */
static void mime_preview_html(const char *s, size_t len, struct str *out)
{
	static const char *const skip[] = { "script", "style", "head",
					    "title" };
	const char *end = s + len;

	while (s < end) {
		if (*s == '<') {
			const char *name = s + 1, *gt;
			bool dropped = false;

			if (end - s >= 4 && memcmp(s, "<!--", 4) == 0) {
				const char *c = memmem(s + 4,
						       (size_t)(end - s - 4),
						       "-->", 3);

				s = c == NULL ? end : c + 3;
				continue;
			}
			for (size_t i = 0; i < sizeof(skip) / sizeof(*skip);
			     i++) {
				char close[16];
				const char *c;

				if (!mime_preview_tag_is(name, end, skip[i]))
					continue;
				(void)snprintf(close, sizeof(close), "</%s",
					       skip[i]);
				c = memmem(name, (size_t)(end - name), close,
					   strlen(close));
				if (c == NULL) {
					/* Unclosed: look for it in any
					 * case, else drop the rest. */
					for (c = name; c < end; c++)
						if (*c == '<' &&
						    end - c > 1 && c[1] == '/' &&
						    mime_preview_tag_is(
							    c + 2, end,
							    skip[i]))
							break;
				}
				gt = c >= end ? NULL :
				     memchr(c, '>', (size_t)(end - c));
				s = gt == NULL ? end : gt + 1;
				str_append_c(out, ' ');
				dropped = true;
				break;
			}
			if (dropped)
				continue;
			gt = memchr(s, '>', (size_t)(end - s));
			s = gt == NULL ? end : gt + 1;
			str_append_c(out, ' ');
		} else if (*s == '&') {
			size_t n = mime_preview_entity(s, end, out);

			if (n == 0)
				str_append_c(out, *s++);
			else
				s += n;
		} else {
			str_append_c(out, *s++);
		}
	}
}

/* Collapse white space and controls into single spaces, trim, and keep
 * at most max characters of the UTF-8 text. True if it stopped at max
 * with text left over (more text would not change the result). */
static bool mime_preview_collapse(const char *s, size_t len, size_t max,
				  struct str *out)
{
	size_t chars = 0, start = out->len;
	bool space = false;

	for (size_t i = 0; i < len; ) {
		unsigned char c = (unsigned char)s[i];
		size_t n = 1;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = out->len > start;
			i++;
			continue;
		}
		/* U+00A0 NO-BREAK SPACE is white space too. */
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] == 0xa0) {
			space = out->len > start;
			i += 2;
			continue;
		}
		if (c >= 0xf0)
			n = 4;
		else if (c >= 0xe0)
			n = 3;
		else if (c >= 0xc0)
			n = 2;
		if (i + n > len)
			return false;
		if (chars + space + 1 > max)
			return true;
		if (space) {
			str_append_c(out, ' ');
			chars++;
			space = false;
		}
		str_append_n(out, s + i, n);
		chars++;
		i += n;
	}
	return false;
}

/* The preview of part from its first scan decoded bytes, cut back to
 * the last line end (or ASCII byte) when the part goes on, so no
 * character, entity or shift sequence is split at the cut. True if the
 * preview filled up before the end of what was scanned: a longer scan
 * would make the same. */
static bool mime_preview_scan(const struct mime_message *msg,
				const struct mime_part *part, size_t scan,
				struct str *out)
{
	struct str data = STR_INIT, utf8 = STR_INIT, text = STR_INIT;
	const struct mime_param *cs;
	const char *error;
	bool full = false;
	size_t cut;

	if (mime_part_decode_prefix(msg, part, scan + 1, &data, &error) < 0)
		goto out;	/* an encoding we cannot undo: no preview */
	if (data.len > scan) {
		for (cut = scan; cut > 0 && data.data[cut - 1] != '\n'; cut--)
			;
		for (cut = cut > 0 ? cut : scan;
		     cut > 0 && (unsigned char)data.data[cut - 1] >= 0x80;
		     cut--)
			;
		str_truncate(&data, cut > 0 ? cut : scan);
	}
	cs = mime_params_find(&part->params, "charset");
	if (cs == NULL || !mime_charset_to_utf8(cs->value, data.data == NULL ?
						"" : data.data, data.len,
						&utf8))
		mime_utf8_sanitize(data.data == NULL ? "" : data.data,
				   data.len, &utf8);
	if (mime_part_is_type(part, "text", "html"))
		mime_preview_html(str_c(&utf8), utf8.len, &text);
	else
		str_append_n(&text, str_c(&utf8), utf8.len);
	full = mime_preview_collapse(str_c(&text), text.len,
				     MIME_PREVIEW_CHARS, out);
out:
	str_release(&data);
	str_release(&utf8);
	str_release(&text);
	return full;
}

void mime_preview(const struct mime_message *msg, struct str *out)
{
	const struct mime_part *part = mime_preview_find(msg->root);
	size_t start = out->len;

	if (part == NULL)
		return;
	/* Plain text nearly always fills the preview from its first lines:
	 * a short scan first, and the long one only if it fell short
	 * (markup can hide the first words far down). */
	if (!mime_part_is_type(part, "text", "html") &&
	    mime_preview_scan(msg, part, MIME_PREVIEW_SHORT_SCAN, out))
		return;
	str_truncate(out, start);
	(void)mime_preview_scan(msg, part, MIME_PREVIEW_SCAN, out);
}
