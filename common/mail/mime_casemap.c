/*
 * mime_casemap: the i;unicode-casemap collation (RFC 5051) that IMAP's
 * SORT, THREAD and SEARCH compare with, and the full-text index stores
 * (mime.h).
 *
 * libunistring's Unicode tables: uc_totitle() per character, then
 * u8_normalize(UNINORM_NFKD). Pure ASCII, most of what real mail holds,
 * takes a fast path (titlecase is upper case, NFKD changes nothing).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "mime.h"

void mime_casemap(const char *utf8, size_t len, struct str *out)
{
	struct str clean = STR_INIT, title = STR_INIT;
	const uint8_t *p, *end;
	uint8_t *norm;
	size_t i, nlen = 0;
	bool ascii = true;

	for (i = 0; i < len && ascii; i++)
		ascii = (unsigned char)utf8[i] < 0x80 && utf8[i] != '\0';
	if (ascii) {
		char *w;

		str_reserve(out, len);
		w = out->data + out->len;
		for (i = 0; i < len; i++) {
			char c = utf8[i];

			w[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
		}
		out->len += len;
		out->data[out->len] = '\0';
		return;
	}
	mime_utf8_sanitize(utf8, len, &clean);
	p = (const uint8_t *)str_c(&clean);
	end = p + clean.len;
	while (p < end) {
		ucs4_t uc;
		uint8_t buf[6];
		int n = u8_mbtouc(&uc, p, (size_t)(end - p)), w;

		p += n > 0 ? n : 1;
		w = u8_uctomb(buf, uc_totitle(uc), sizeof(buf));
		if (w > 0)
			str_append_n(&title, buf, (size_t)w);
	}
	norm = u8_normalize(UNINORM_NFKD, (const uint8_t *)str_c(&title),
			    title.len, NULL, &nlen);
	if (norm != NULL) {
		str_append_n(out, norm, nlen);
		free(norm);
	} else {
		str_append_n(out, str_c(&title), title.len);
	}
	str_release(&clean);
	str_release(&title);
}
