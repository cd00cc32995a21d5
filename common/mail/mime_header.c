/*
 * mime_header: RFC 5322 header fields and RFC 2047 encoded words
 * (mime_header_* in mime.h).
 *
 * The iterator splits a header into fields: a line and the continuation
 * lines (starting with space or tab) after it. A line without a colon is
 * returned as a field with has_colon false, so HEADER.FIELDS.NOT can
 * return it as it is, like Dovecot. Unfolding drops CR and LF and keeps
 * the white space around them (RFC 5322 section 2.2.3).
 *
 * Decoding (for SEARCH and for people) turns "=?charset?B|Q?text?=" into
 * UTF-8. Adjacent encoded words in one charset are decoded together
 * before conversion, so a multi-byte character split across two words
 * survives; white space between encoded words is dropped (RFC 2047
 * section 6.2). Encoded words are recognised inside words too, as most
 * clients do. Text outside encoded words is taken as UTF-8 (8-bit
 * headers, RFC 6532) with invalid bytes replaced.
 *
 * SECURITY: all input is message text. A failed encoded word that runs
 * to the next white space without a "?=" makes the scan skip to that
 * white space (no later start before it can succeed), so the decoder is
 * linear in its input; the output is at most a small constant times the
 * input.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "mime_impl.h"
#include "str.h"

void mime_header_iter_init(struct mime_header_iter *iter, const char *data,
			   size_t start, size_t end)
{
	iter->data = data;
	iter->pos = start;
	iter->end = end;
}

/* The end of the line at pos (after its LF, or end). */
static size_t mime_line_end(const struct mime_header_iter *iter, size_t pos)
{
	const char *lf = memchr(iter->data + pos, '\n', iter->end - pos);

	return lf == NULL ? iter->end : (size_t)(lf - iter->data) + 1;
}

static size_t mime_eol_len(const char *s, size_t start, size_t end)
{
	if (end > start && s[end - 1] == '\n')
		return end - 1 > start && s[end - 2] == '\r' ? 2 : 1;
	return 0;
}

bool mime_header_next(struct mime_header_iter *iter, struct mime_field *f)
{
	const char *s = iter->data;
	size_t pos = iter->pos, end, first_end, i, eol;
	const char *colon;

	if (pos >= iter->end)
		return false;
	first_end = mime_line_end(iter, pos);
	eol = mime_eol_len(s, pos, first_end);
	if (first_end - pos == eol)
		return false;	/* the blank line */
	end = first_end;
	while (end < iter->end && (s[end] == ' ' || s[end] == '\t'))
		end = mime_line_end(iter, end);
	iter->pos = end;

	memset(f, 0, sizeof(*f));
	f->start = pos;
	f->end = end;
	f->name = s + pos;
	colon = memchr(s + pos, ':', first_end - pos);
	eol = mime_eol_len(s, pos, end);
	if (colon == NULL) {
		f->name_len = first_end - pos -
			mime_eol_len(s, pos, first_end);
		f->value = s + pos + f->name_len;
		f->value_len = 0;
		return true;
	}
	f->has_colon = true;
	i = (size_t)(colon - s);
	f->name_len = i - pos;
	while (f->name_len > 0 && (f->name[f->name_len - 1] == ' ' ||
				    f->name[f->name_len - 1] == '\t'))
		f->name_len--;
	f->value = colon + 1;
	f->value_len = end - eol - (i + 1);
	return true;
}

void mime_header_unfold(const char *value, size_t len, struct str *out)
{
	size_t i = 0, start;

	while (i < len && mime_is_wsp((unsigned char)value[i]))
		i++;
	while (len > i && mime_is_wsp((unsigned char)value[len - 1]))
		len--;
	start = i;
	for (; i < len; i++) {
		if (value[i] == '\r' || value[i] == '\n') {
			str_append_n(out, value + start, i - start);
			start = i + 1;
		}
	}
	str_append_n(out, value + start, len - start);
}

int mime_header_get(const struct mime_message *msg,
		    const struct mime_part *part, const char *name,
		    struct str *value_r)
{
	struct mime_header_iter iter;
	struct mime_field f;
	size_t nlen = strlen(name);

	str_clear(value_r);
	mime_header_iter_init(&iter, msg->data, part->header.off,
			      part->body.off);
	while (mime_header_next(&iter, &f)) {
		if (f.has_colon && f.name_len == nlen &&
		    strncasecmp(f.name, name, nlen) == 0) {
			mime_header_unfold(f.value, f.value_len, value_r);
			return 1;
		}
	}
	return 0;
}

/* RFC 2047 "Q": "_" is a space, "=XX" a byte. */
static void mime_q_decode(const char *s, size_t len, struct str *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '_') {
			str_append_c(out, ' ');
		} else if (s[i] == '=' && i + 2 < len &&
			   (hi = str_hex_digit((unsigned char)s[i + 1])) >= 0 &&
			   (lo = str_hex_digit((unsigned char)s[i + 2])) >= 0) {
			str_append_c(out, (char)(hi * 16 + lo));
			i += 2;
		} else {
			str_append_c(out, s[i]);
		}
	}
}

struct mime_ew {
	size_t start;		/* "=?" */
	size_t end;		/* after "?=" */
	const char *charset;	/* not NUL-terminated */
	size_t charset_len;	/* without "*language" */
	char encoding;		/* 'B' or 'Q' */
	size_t text;		/* offset and length of the encoded text */
	size_t text_len;
};

/* Try to read an encoded word at s[i] ("=?"). Returns true with *ew; on
 * failure *skip_r is where the next attempt may start. */
static bool mime_ew_parse(const char *s, size_t len, size_t i,
			  struct mime_ew *ew, size_t *skip_r)
{
	size_t j = i + 2, cs, q;
	const char *star;

	*skip_r = i + 1;
	cs = j;
	while (j < len && s[j] != '?' &&
	       mime_is_token_char((unsigned char)s[j]))
		j++;
	if (j == cs || j >= len || s[j] != '?' || j - cs > 64)
		return false;
	ew->charset = s + cs;
	ew->charset_len = j - cs;
	star = memchr(ew->charset, '*', ew->charset_len);
	if (star != NULL)
		ew->charset_len = (size_t)(star - ew->charset);
	if (ew->charset_len == 0 || j + 2 >= len || s[j + 2] != '?')
		return false;
	ew->encoding = s[j + 1] == 'b' || s[j + 1] == 'B' ? 'B' :
		s[j + 1] == 'q' || s[j + 1] == 'Q' ? 'Q' : 0;
	if (ew->encoding == 0)
		return false;
	ew->text = q = j + 3;
	for (; q < len; q++) {
		if (s[q] == '?' && q + 1 < len && s[q + 1] == '=')
			break;
		if (mime_is_wsp((unsigned char)s[q]))
			break;
	}
	if (q >= len || s[q] != '?') {
		*skip_r = q;	/* no "?=" before white space */
		return false;
	}
	ew->text_len = q - ew->text;
	ew->start = i;
	ew->end = q + 2;
	return true;
}

struct mime_ew_run {
	char charset[65];
	struct str bytes;	/* decoded, not yet converted */
	size_t raw_start;	/* raw text of the run, for fallback */
	size_t raw_end;
	bool active;
};

static void mime_ew_flush(struct mime_ew_run *run, const char *s,
			  struct str *out)
{
	if (!run->active)
		return;
	if (!mime_charset_to_utf8(run->charset, run->bytes.data == NULL ?
				  "" : run->bytes.data, run->bytes.len, out))
		mime_utf8_sanitize(s + run->raw_start,
				   run->raw_end - run->raw_start, out);
	str_clear(&run->bytes);
	run->active = false;
}

static bool mime_all_wsp(const char *s, size_t start, size_t end)
{
	for (; start < end; start++)
		if (!mime_is_wsp((unsigned char)s[start]))
			return false;
	return true;
}

static void mime_decode_unfolded(const char *s, size_t len, struct str *out)
{
	struct mime_ew_run run;
	struct mime_ew ew;
	size_t i = 0, plain = 0, skip;
	bool after_ew = false;

	memset(&run, 0, sizeof(run));
	while (i + 1 < len) {
		if (s[i] != '=' || s[i + 1] != '?') {
			i++;
			continue;
		}
		if (!mime_ew_parse(s, len, i, &ew, &skip)) {
			i = skip;
			continue;
		}
		if (!after_ew || !mime_all_wsp(s, plain, i) ||
		    ew.charset_len != strlen(run.charset) ||
		    strncasecmp(ew.charset, run.charset, ew.charset_len) != 0) {
			mime_ew_flush(&run, s, out);
			if (!after_ew || !mime_all_wsp(s, plain, i))
				mime_utf8_sanitize(s + plain, i - plain, out);
			memcpy(run.charset, ew.charset, ew.charset_len);
			run.charset[ew.charset_len] = '\0';
			run.raw_start = i;
			run.active = true;
		}
		if (ew.encoding == 'B')
			mime_base64_decode(s + ew.text, ew.text_len,
					   &run.bytes);
		else
			mime_q_decode(s + ew.text, ew.text_len, &run.bytes);
		run.raw_end = ew.end;
		i = plain = ew.end;
		after_ew = true;
	}
	mime_ew_flush(&run, s, out);
	mime_utf8_sanitize(s + plain, len - plain, out);
	str_release(&run.bytes);
}

void mime_header_decode(const char *value, size_t len, struct str *out)
{
	struct str tmp = STR_INIT;

	mime_header_unfold(value, len, &tmp);
	mime_decode_unfolded(tmp.data == NULL ? "" : tmp.data, tmp.len, out);
	str_release(&tmp);
}
