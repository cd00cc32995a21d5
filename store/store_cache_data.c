/*
 * store_cache_data: what the message cache holds for one message
 * (store.h, "The message cache"), computed from the message with the
 * MIME parser, and the reading of those values.
 *
 * A cache entry (the payload of one record in correo-cache) is a list
 * of fields, each a byte (enum store_cache_field), a 32-bit little-
 * endian length and the value. ENVELOPE, BODY and BODYSTRUCTURE are the
 * exact bytes imapd sends (mime_imap_*), once without and, only when
 * they differ (8-bit text), once with MIME_IMAP_UTF8. HEADERS is what
 * BODY[HEADER.FIELDS (the cached names)] answers: those fields as
 * written, in message order, CRLF view, with the header's blank line
 * when BODY[HEADER.FIELDS] would show it; any request for a subset of
 * the cached names is answered from it by the same function
 * (mime_header_fields) run on it, so the bytes are the same as from
 * the message. PREVIEW is RFC 8970 text, SAVEDATE decimal seconds.
 *
 * SECURITY: the message is hostile input (the MIME parser bounds it);
 * an entry read back from the file is checked field by field.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "store_int.h"

/* The header fields kept: the task's list (what ENVELOPE, SORT, THREAD
 * and the usual SEARCH keys read) plus what Thunderbird and mutt ask
 * for with BODY.PEEK[HEADER.FIELDS (...)] when they list a folder, so
 * their listings are served without opening a message file. Changing
 * the list needs a new STORE_CACHE_VERSION. */
static const char *const store_cache_names[] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Message-ID", "References", "In-Reply-To", "Content-Type",
	"Content-Description", "Priority", "X-Priority", "Importance",
	"Newsgroups", "Lines", "List-Post", "X-Label",
};

#define STORE_CACHE_NNAMES \
	(sizeof(store_cache_names) / sizeof(*store_cache_names))

bool store_cache_header_cached(const char *name, size_t len)
{
	for (size_t i = 0; i < STORE_CACHE_NNAMES; i++)
		if (strlen(store_cache_names[i]) == len &&
		    strncasecmp(store_cache_names[i], name, len) == 0)
			return true;
	return false;
}

static void store_cache_put(struct str *out, enum store_cache_field id,
			    const char *data, size_t len)
{
	unsigned char h[5];

	h[0] = (unsigned char)id;
	h[1] = (unsigned char)len;
	h[2] = (unsigned char)(len >> 8);
	h[3] = (unsigned char)(len >> 16);
	h[4] = (unsigned char)(len >> 24);
	str_append_n(out, h, sizeof(h));
	str_append_n(out, data == NULL ? "" : data, len);
}

/* A rendering without and with MIME_IMAP_UTF8 (the second only if it
 * differs). */
static void store_cache_put_imap(struct str *out,
				 const struct mime_message *msg,
				 enum store_cache_field id, bool envelope,
				 bool extended)
{
	struct str a = STR_INIT, b = STR_INIT;

	for (unsigned flags = 0; flags <= MIME_IMAP_UTF8; flags++) {
		struct str *s = flags == 0 ? &a : &b;

		if (envelope)
			mime_imap_envelope(msg, msg->root, flags, s);
		else
			mime_imap_bodystructure(msg, msg->root, extended,
						flags, s);
	}
	store_cache_put(out, id, a.data, a.len);
	if (a.len != b.len || memcmp(str_c(&a), str_c(&b), a.len) != 0)
		store_cache_put(out, id + 1, b.data, b.len);
	str_release(&a);
	str_release(&b);
}


void store_cache_compute(const char *data, size_t len, int64_t savedate,
			 struct str *payload)
{
	struct mime_message *msg = mime_parse(data, len, NULL);
	struct str tmp = STR_INIT;

	str_clear(payload);
	store_cache_put_imap(payload, msg, STORE_CACHE_ENVELOPE, true, false);
	store_cache_put_imap(payload, msg, STORE_CACHE_BODY, false, false);
	store_cache_put_imap(payload, msg, STORE_CACHE_BODYSTRUCTURE, false,
			     true);
	mime_header_fields(msg, msg->root, store_cache_names,
			   STORE_CACHE_NNAMES, false, &tmp);
	store_cache_put(payload, STORE_CACHE_HEADERS, tmp.data, tmp.len);
	str_clear(&tmp);
	mime_preview(msg, &tmp);	/* the one preview, mime_preview.c */
	store_cache_put(payload, STORE_CACHE_PREVIEW, tmp.data, tmp.len);
	str_clear(&tmp);
	str_printf(&tmp, "%lld", (long long)savedate);
	store_cache_put(payload, STORE_CACHE_SAVEDATE, tmp.data, tmp.len);
	str_release(&tmp);
	mime_message_free(&msg);
}

bool store_cache_field_find(const char *payload, size_t len,
			    enum store_cache_field id, const char **value_r,
			    size_t *len_r)
{
	size_t off = 0;

	while (len - off >= 5) {
		const unsigned char *h = (const unsigned char *)payload + off;
		size_t n = (size_t)h[1] | (size_t)h[2] << 8 |
			   (size_t)h[3] << 16 | (size_t)h[4] << 24;

		if (n > len - off - 5)
			return false;
		if (h[0] == (unsigned char)id) {
			*value_r = payload + off + 5;
			*len_r = n;
			return true;
		}
		off += 5 + n;
	}
	return false;
}

bool store_cache_payload_valid(const char *payload, size_t len)
{
	size_t off = 0;

	while (len - off >= 5) {
		const unsigned char *h = (const unsigned char *)payload + off;
		size_t n = (size_t)h[1] | (size_t)h[2] << 8 |
			   (size_t)h[3] << 16 | (size_t)h[4] << 24;

		if (n > len - off - 5 || h[0] == 0 ||
		    h[0] >= STORE_CACHE_NFIELDS)
			return false;
		off += 5 + n;
	}
	return off == len;
}

void store_cache_filter_fields(const char *headers, size_t len,
			       const char *const *names, size_t n,
			       struct str *out)
{
	struct mime_message *msg = mime_parse(headers, len, NULL);

	mime_header_fields(msg, msg->root, names, n, false, out);
	mime_message_free(&msg);
}
