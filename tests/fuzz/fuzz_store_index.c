/*
 * fuzz_store_index: libFuzzer target for the mailbox store's index
 * reader (store/store_index.c: record parsing, log replay, repair).
 *
 * Input: the body of a folder's change log, written after a valid
 * header of the snapshot's generation into a private Maildir holding
 * two messages; or, after a 'B', a snapshot of the former binary form
 * (CORREOI2), or after a 'C', one of the current form, whose records
 * are used in place (store_snapshot.c), each with its magic and
 * whole-file check made right. Opening the folder must always succeed (a damaged log
 * is cut or the index rebuilt), see exactly the two messages, keep uids
 * increasing and below uidnext, and a second open must agree with the
 * first (the repair is stable).
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "safe_file.h"
#include "store.h"
#include "store_int.h"

static char dir[] = "/tmp/fuzz_store.XXXXXX";
static char md[64];

static bool write_text(int fd, void *ctx)
{
	return safe_write_all(fd, ctx, strlen(ctx));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct str error = STR_INIT;
	const char *dsn;

	fuzz_init("fuzz_store_index");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(md, sizeof(md), "%s/Maildir", dir);
	if (store_deliver(md, 0, 0, write_text, "a\n", 0, NULL, &error,
			  &dsn) != MAILDIR_OK ||
	    store_deliver(md, STORE_F_SEEN, 0, write_text, "b\n", 0, NULL,
			  &error, &dsn) != MAILDIR_OK)
		abort();
	str_release(&error);
	return 0;
}

static void check(const struct store_folder *f)
{
	if (f->count != 2)
		abort();
	for (size_t i = 0; i < f->count; i++)
		if (f->msgs[i].uid == 0 || f->msgs[i].uid >= f->uidnext ||
		    (i > 0 && f->msgs[i].uid <= f->msgs[i - 1].uid))
			abort();
}

/* Input starting with 'B': the rest is a binary snapshot (magic and
 * whole-file check made right, so the record checks are what is
 * tested), with the current log. */
static void binary_snapshot(const uint8_t *data, size_t size)
{
	struct str path = STR_INIT, snap = STR_INIT, error = STR_INIT;
	struct store_folder *f;
	uint64_t sum;

	str_append_n(&snap, data, size);
	if (snap.len < 80)
		str_append_n(&snap, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			     "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			     "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			     "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			     "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
			     80 - snap.len);
	memcpy(snap.data, "CORREOI2", 8);
	memset(snap.data + 72, 0, 8);
	sum = store_hash64(0, snap.data, snap.len);
	memcpy(snap.data + 72, &sum, 8);	/* little-endian hosts */
	str_printf(&path, "%s/%s", md, STORE_INDEX_FILE);
	if (!safe_write_file(str_c(&path), snap.data, snap.len, 0600))
		abort();
	f = store_folder_open(md, false, &error);
	if (f == NULL)
		abort();
	check(f);
	store_folder_free(&f);
	str_release(&path);
	str_release(&snap);
	str_release(&error);
}

/* Input starting with 'C': a snapshot of the current form, padded to
 * the records' page, with its magic, record size, byte order mark and
 * check made right; the names and the modseq order are then used. */
static void current_snapshot(const uint8_t *data, size_t size)
{
	struct str path = STR_INIT, snap = STR_INIT, error = STR_INIT;
	struct store_folder *f;
	uint32_t v;
	uint64_t sum;
	uint32_t *uids;

	str_append_n(&snap, data, size);
	while (snap.len < 4096)
		str_append_c(&snap, '\0');
	memcpy(snap.data, "CORREOI3", 8);
	v = sizeof(struct store_msg);	/* little-endian hosts */
	memcpy(snap.data + 72, &v, 4);
	v = 0x01020304u;
	memcpy(snap.data + 76, &v, 4);
	sum = store_snapshot_check(snap.data, snap.len);
	memcpy(snap.data + 120, &sum, 8);
	str_printf(&path, "%s/%s", md, STORE_INDEX_FILE);
	if (!safe_write_file(str_c(&path), snap.data, snap.len, 0600))
		abort();
	f = store_folder_open(md, false, &error);
	if (f == NULL)
		abort();
	check(f);
	for (size_t i = 0; i < f->count; i++)
		if (strchr(store_msg_name(f, &f->msgs[i]), '/') != NULL)
			abort();
	for (uint64_t m = 0; m < 4; m++) {
		size_t n = store_changed_since(f, m, &uids);

		for (size_t i = 1; i < n; i++)
			if (uids[i] <= uids[i - 1])
				abort();
		free(uids);
	}
	store_folder_free(&f);
	str_release(&path);
	str_release(&snap);
	str_release(&error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_rec rec = { .kind = 'H', .has_g = true, .has_v = true };
	struct str path = STR_INIT, text = STR_INIT, error = STR_INIT;
	struct store_folder *f, *g;
	uint32_t uv;

	if (size > 0 && data[0] == 'B') {
		binary_snapshot(data + 1, size - 1);
		return 0;
	}
	if (size > 0 && data[0] == 'C') {
		current_snapshot(data + 1, size - 1);
		return 0;
	}
	/* The snapshot's generation, so the log is read, not discarded. */
	str_printf(&path, "%s/%s", md, STORE_INDEX_FILE);
	if (!safe_read_file(str_c(&path), &text, 1 << 24) ||
	    !store_snapshot_header(text.data, text.len, &rec.gen, &uv))
		abort();
	rec.uidvalidity = uv;
	rec.kind = 'H';
	str_clear(&text);
	store_rec_format(&rec, &text);
	str_append_n(&text, data, size);
	str_clear(&path);
	str_printf(&path, "%s/%s", md, STORE_LOG_FILE);
	if (!safe_write_file(str_c(&path), text.data, text.len, 0600))
		abort();
	f = store_folder_open(md, false, &error);
	if (f == NULL)
		abort();
	check(f);
	g = store_folder_open(md, false, &error);
	if (g == NULL)
		abort();
	check(g);
	if (g->uidnext != f->uidnext || g->msgs[0].uid != f->msgs[0].uid ||
	    g->msgs[1].uid != f->msgs[1].uid)
		abort();
	store_folder_free(&f);
	store_folder_free(&g);
	str_release(&rec.name);
	str_release(&path);
	str_release(&text);
	str_release(&error);
	return 0;
}
