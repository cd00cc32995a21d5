/*
 * fuzz_store_cache: libFuzzer target for the store's message cache
 * (store/store_cache.c, store_cache_data.c).
 *
 * The first input byte picks the mode:
 *
 *   even: the input is a message. Its cache entry must give, for
 *         ENVELOPE, BODY and BODYSTRUCTURE (with and without UTF-8) and
 *         for subsets of the cached header fields, the very bytes the
 *         MIME renderers give from the message (abort otherwise).
 *   odd:  the input is the body of a cache file: after the file's
 *         header, pieces of it alternately taken as raw bytes and as
 *         payloads of records of uid 1 or 2 with good checks (so the
 *         reader gets past the keyed checks to the field lists and the
 *         resynchronisation). Every value asked for must come back
 *         (1), from a record or computed again from the folder's two
 *         messages, and the folder must stay as it was.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "mime.h"
#include "safe_file.h"
#include "store.h"
#include "store_int.h"

static char dir[] = "/tmp/fuzz_store_cache.XXXXXX";
static char md[64];

static bool write_text(int fd, void *ctx)
{
	return safe_write_all(fd, ctx, strlen(ctx));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct str error = STR_INIT;
	const char *dsn;

	fuzz_init("fuzz_store_cache");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(md, sizeof(md), "%s/Maildir", dir);
	if (store_deliver(md, 0, 0, write_text,
			  "Subject: a\nFrom: x@y\n\nbody\n", 0, NULL, &error,
			  &dsn) != MAILDIR_OK ||
	    store_deliver(md, STORE_F_SEEN, 0, write_text, "b\n", 0, NULL,
			  &error, &dsn) != MAILDIR_OK)
		abort();
	str_release(&error);
	return 0;
}

static const char *const name_sets[][3] = {
	{ "Subject", NULL, NULL },
	{ "FROM", "to", "CC" },
	{ "references", "In-Reply-To", "message-id" },
};

static void same_or_abort(const struct str *a, const struct str *b)
{
	if (a->len != b->len || (a->len > 0 &&
				 memcmp(a->data, b->data, a->len) != 0))
		abort();
}

static void differential(const char *data, size_t size)
{
	struct mime_message *msg = mime_parse(data, size, NULL);
	struct str payload = STR_INIT, want = STR_INIT, got = STR_INIT;
	const char *v;
	size_t len;

	store_cache_compute(data, size, 1, &payload);
	if (!store_cache_payload_valid(payload.data, payload.len))
		abort();
	for (int field = STORE_CACHE_ENVELOPE;
	     field <= STORE_CACHE_BODYSTRUCTURE_UTF8; field++) {
		unsigned flags = (field - STORE_CACHE_ENVELOPE) % 2 ?
				 MIME_IMAP_UTF8 : 0;

		str_clear(&want);
		if (field <= STORE_CACHE_ENVELOPE_UTF8)
			mime_imap_envelope(msg, msg->root, flags, &want);
		else
			mime_imap_bodystructure(msg, msg->root,
						field >=
						STORE_CACHE_BODYSTRUCTURE,
						flags, &want);
		if (!store_cache_field_find(payload.data, payload.len,
					    (enum store_cache_field)field, &v,
					    &len) &&
		    (flags == 0 ||
		     !store_cache_field_find(payload.data, payload.len,
					     (enum store_cache_field)(field -
								      1),
					     &v, &len)))
			abort();
		str_clear(&got);
		str_append_n(&got, v, len);
		same_or_abort(&got, &want);
	}
	if (!store_cache_field_find(payload.data, payload.len,
				    STORE_CACHE_HEADERS, &v, &len))
		abort();
	for (size_t i = 0; i < sizeof(name_sets) / sizeof(*name_sets); i++) {
		size_t n = name_sets[i][1] == NULL ? 1 : 3;

		str_clear(&want);
		str_clear(&got);
		mime_header_fields(msg, msg->root, name_sets[i], n, false,
				   &want);
		store_cache_filter_fields(v, len, name_sets[i], n, &got);
		same_or_abort(&got, &want);
	}
	mime_message_free(&msg);
	str_release(&payload);
	str_release(&want);
	str_release(&got);
}

static void reader(const uint8_t *data, size_t size)
{
	struct str path = STR_INIT, file = STR_INIT, v = STR_INIT;
	struct str error = STR_INIT;
	struct store_folder *f;
	uint64_t salt;
	size_t off = 0;
	bool raw = true;

	f = store_folder_open(md, false, &error);
	if (f == NULL || f->count != 2)
		abort();
	/* A valid header of the folder's UIDVALIDITY (the salt is read
	 * back from a file the store writes). */
	str_printf(&path, "%s/%s", md, STORE_CACHE_FILE);
	(void)unlink(str_c(&path));
	(void)store_cache_get(f, f->msgs[0].uid, STORE_CACHE_SAVEDATE, &v);
	if (!safe_read_file(str_c(&path), &file, 1 << 20) || file.len < 32)
		abort();
	memcpy(&salt, file.data + 16, 8);	/* little-endian hosts */
	str_truncate(&file, 32);
	while (off < size) {
		size_t n = data[off] % 64 + 1;

		off++;
		if (n > size - off)
			n = size - off;
		if (raw)
			str_append_n(&file, data + off, n);
		else
			store_cache_record(salt, f->msgs[n % 2].uid, 0,
					   (const char *)data + off, n, &file);
		raw = !raw;
		off += n;
	}
	if (!safe_write_file(str_c(&path), file.data, file.len, 0600))
		abort();
	store_folder_free(&f);
	f = store_folder_open(md, false, &error);
	if (f == NULL || f->count != 2)
		abort();
	for (size_t i = 0; i < 2; i++)
		for (int field = STORE_CACHE_ENVELOPE;
		     field < STORE_CACHE_NFIELDS; field++)
			if (store_cache_get(f, f->msgs[i].uid,
					    (enum store_cache_field)field,
					    &v) != 1)
				abort();
	(void)store_cache_header(f, f->msgs[0].uid, "Subject", &v);
	{
		const char *names[] = { "From", "Subject" };

		(void)store_cache_header_fields(f, f->msgs[1].uid, names, 2,
						&v);
	}
	(void)store_cache_compact(f, true);
	store_folder_free(&f);
	str_release(&path);
	str_release(&file);
	str_release(&v);
	str_release(&error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		differential((const char *)data + 1, size - 1);
	else
		reader(data + 1, size - 1);
	return 0;
}
