/*
 * mime_decode: Content-Transfer-Encodings (RFC 2045 section 6): base64,
 * quoted-printable, and BINARY[section] on top of them
 * (mime_base64_decode, mime_qp_decode, mime_part_decode in mime.h).
 *
 * Both decoders are forgiving, as readers of mail must be: base64 skips
 * what is not in its alphabet, quoted-printable keeps a "=" that starts
 * no valid escape. Decoding never fails; only an encoding we do not know
 * (x-uuencode, say) makes mime_part_decode() refuse, so IMAP can answer
 * [UNKNOWN-CTE] (RFC 3516).
 *
 * SECURITY: the input is message text; output is never longer than the
 * input (the CRLF view at most doubles it). One pass each, no recursion.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mime_impl.h"
#include "str.h"

static int mime_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool mime_base64_decode(const char *in, size_t len, struct str *out)
{
	unsigned long acc = 0;
	unsigned n = 0;
	bool clean = true;
	size_t i;
	int v;

	str_reserve(out, len / 4 * 3 + 3);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '=')
			break;
		v = mime_b64_value(c);
		if (v < 0) {
			if (!mime_is_wsp(c))
				clean = false;
			continue;
		}
		acc = (acc << 6) | (unsigned long)v;
		if (++n == 4) {
			out->data[out->len++] = (char)(acc >> 16);
			out->data[out->len++] = (char)(acc >> 8);
			out->data[out->len++] = (char)acc;
			acc = 0;
			n = 0;
		}
	}
	if (n == 2) {
		out->data[out->len++] = (char)(acc >> 4);
	} else if (n == 3) {
		out->data[out->len++] = (char)(acc >> 10);
		out->data[out->len++] = (char)(acc >> 2);
	} else if (n == 1) {
		clean = false;
	}
	out->data[out->len] = '\0';
	return clean;
}

/* Decode one line (without its line end, trailing white space already
 * dropped). Returns true if it ended in a soft line break. */
static bool mime_qp_line(const char *s, size_t len, struct str *out)
{
	size_t i, start = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] != '=')
			continue;
		str_append_n(out, s + start, i - start);
		if (i + 1 == len)
			return true;
		if (i + 2 < len &&
		    (hi = str_hex_digit((unsigned char)s[i + 1])) >= 0 &&
		    (lo = str_hex_digit((unsigned char)s[i + 2])) >= 0) {
			str_append_c(out, (char)(hi * 16 + lo));
			i += 2;
			start = i + 1;
		} else {
			start = i;	/* keep the "=" as it is */
		}
	}
	str_append_n(out, s + start, len - start);
	return false;
}

void mime_qp_decode(const char *in, size_t len, struct str *out)
{
	size_t pos = 0, end, line_len;
	const char *lf;
	bool has_eol;

	str_reserve(out, len);
	while (pos < len) {
		lf = memchr(in + pos, '\n', len - pos);
		end = lf == NULL ? len : (size_t)(lf - in);
		has_eol = lf != NULL;
		line_len = end - pos;
		if (has_eol && line_len > 0 && in[end - 1] == '\r')
			line_len--;
		while (line_len > 0 && (in[pos + line_len - 1] == ' ' ||
					in[pos + line_len - 1] == '\t'))
			line_len--;
		if (!mime_qp_line(in + pos, line_len, out) && has_eol)
			str_append_n(out, "\r\n", 2);
		pos = has_eol ? end + 1 : len;
	}
}

/* The end of the encoded input that decodes to at least max bytes: the
 * end of the line at or after per_byte * max (base64 never gives less
 * than one byte for two of input, line breaks included, and
 * quoted-printable never less than one for four). */
static size_t mime_decode_input_len(const char *body, size_t len,
				    size_t max, size_t per_byte)
{
	const char *lf;

	if (max > len / per_byte)
		return len;
	lf = memchr(body + max * per_byte, '\n', len - max * per_byte);
	return lf == NULL ? len : (size_t)(lf - body) + 1;
}

int mime_part_decode_prefix(const struct mime_message *msg,
			    const struct mime_part *part, size_t max,
			    struct str *out, const char **error_r)
{
	const char *e = part->encoding;
	const char *body = msg->data + part->body.off;
	size_t len = part->end.off - part->body.off;
	struct mime_range r = { part->body, part->end };

	/* Binary content is bytes, not lines: no CRLF view (RFC 3516). */
	if ((part->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)) == 0 &&
	    e != NULL && strcasecmp(e, "binary") == 0) {
		str_append_n(out, body, len < max ? len : max);
		return 1;
	}
	if ((part->flags & (MIME_PART_MULTIPART | MIME_PART_MESSAGE)) != 0 ||
	    e == NULL || strcasecmp(e, "7bit") == 0 ||
	    strcasecmp(e, "8bit") == 0) {
		mime_range_write(msg, &r, 0, max, out);
		return 1;
	}
	if (strcasecmp(e, "base64") == 0) {
		mime_base64_decode(body, mime_decode_input_len(body, len, max,
							       2), out);
		return 1;
	}
	if (strcasecmp(e, "quoted-printable") == 0) {
		mime_qp_decode(body, mime_decode_input_len(body, len, max, 4),
			       out);
		return 1;
	}
	*error_r = "unknown Content-Transfer-Encoding";
	return -1;
}

int mime_part_decode(const struct mime_message *msg,
		     const struct mime_part *part, struct str *out,
		     const char **error_r)
{
	return mime_part_decode_prefix(msg, part, SIZE_MAX, out, error_r);
}
