/*
 * fuzz_store_fts: libFuzzer target for the full-text index's texts
 * (store/store_fts.c store_fts_extract, store_fts_normalize,
 * store_fts_usable; common/mail/mime_text.c).
 *
 * The input is a needle and a message: the first byte gives the
 * needle's length (1-16 bytes, taken from the next bytes; with the
 * high bit set the needle is instead cut from the message's own
 * normalized text at an offset the next byte picks, its ASCII letters
 * upper-cased, so hits are common). For a needle store_fts_usable
 * accepts, the index's answer (the normalized needle as a substring of
 * the normalized header or body text: what an FTS5 trigram phrase
 * query finds) must equal imapd's matcher (ASCII case-insensitive
 * substring of each text mime_text_* gives) whenever the message's text
 * is exact; abort otherwise.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include <strings.h>

#include "mime.h"
#include "store_fts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init("fuzz_store_fts");
	return 0;
}

static bool match_fn(void *ctx, const char *text, size_t len)
{
	const char *needle = ctx;
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++)
		if (strncasecmp(text + i, needle, nl) == 0)
			return true;
	return false;
}

static bool in(const struct str *hay, const struct str *needle)
{
	return needle->len <= hay->len && hay->len > 0 &&
	       memmem(hay->data, hay->len, needle->data, needle->len) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_fts_doc doc = STORE_FTS_DOC_INIT;
	struct str norm = STR_INIT;
	struct mime_message *msg;
	char needle[17];
	const char *text;
	size_t nl, len, skip;
	bool want, got;

	if (size < 3)
		return 0;
	nl = 1 + (data[0] & 0x0f);
	skip = (data[0] & 0x80) ? 2 : 1 + nl;
	if (size < skip)
		return 0;
	text = (const char *)data + skip;
	len = size - skip;
	store_fts_extract(text, len, &doc);
	if (data[0] & 0x80) {
		const struct str *t = (data[0] & 0x40) ? &doc.body : &doc.hdr;
		size_t at;

		if (t->len < nl)
			goto out;
		at = data[1] % (t->len - nl + 1);
		memcpy(needle, t->data + at, nl);
		for (size_t i = 0; i < nl; i++)
			if (needle[i] >= 'a' && needle[i] <= 'z')
				needle[i] = (char)(needle[i] - 'a' + 'A');
	} else {
		memcpy(needle, data + 1, nl);
	}
	needle[nl] = '\0';
	if (strlen(needle) != nl ||
	    store_fts_usable(needle) != STORE_FTS_EXACT || !doc.exact)
		goto out;
	msg = mime_parse(text, len, NULL);
	want = mime_text_header(msg, msg->root, NULL, match_fn, needle) ||
	       mime_text_body(msg, msg->root, match_fn, needle);
	mime_message_free(&msg);
	store_fts_normalize(needle, nl, &norm);
	got = in(&doc.hdr, &norm) || in(&doc.body, &norm);
	if (got != want)
		abort();
out:
	str_release(&norm);
	store_fts_doc_release(&doc);
	return 0;
}
