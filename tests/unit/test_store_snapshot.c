/*
 * Unit tests for the binary index snapshot (store/store_snapshot.c):
 * a compaction and a reload give back every field of every message;
 * a text snapshot of the former format is read and rewritten as a
 * binary one at the next open (migration); a snapshot cut at every
 * byte offset or with any byte changed is never loaded as something
 * else (the folder is rebuilt from the Maildir under a new UIDVALIDITY,
 * or loads as it was).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_file.h"
#include "store.h"
#include "store_int.h"
#include "str.h"
#include "test_util.h"

static char tmpdir[64];
static const char *md;

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_store_snapshot");
	md = tu_path(tmpdir, "Maildir");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static struct store_folder *open_folder(void)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(md, true, &error);

	ck_assert_msg(f != NULL, "open: %s", str_c(&error));
	str_release(&error);
	return f;
}

/* A folder with flags, keywords, a message in new/ and an expunge. */
static void populate(void)
{
	struct str error = STR_INIT;
	struct store_folder *f;
	const char *dsn;
	uint32_t uid;
	int kw;

	for (int i = 0; i < 6; i++)
		ck_assert(store_deliver(md, i % 3 == 0 ? 0 : STORE_F_SEEN,
					1700000000 + i, tu_write_text,
					"Subject: x\n\nbody\n", 0, &uid,
					&error, &dsn) == MAILDIR_OK);
	f = open_folder();
	kw = store_keyword(f, "$Label1", &error);
	ck_assert_int_eq(kw, 0);
	ck_assert_int_eq(store_keyword(f, "Project X%", &error), 1);
	ck_assert_int_eq(store_set_flags(f, f->msgs[1].uid, STORE_F_FLAGGED,
					 3, &error), 1);
	uid = f->msgs[2].uid;
	ck_assert_int_eq(store_expunge(f, &uid, 1, &error), 1);
	store_folder_free(&f);
	str_release(&error);
}

static void assert_same(const struct store_folder *a,
			const struct store_folder *b)
{
	ck_assert_uint_eq(a->uidvalidity, b->uidvalidity);
	ck_assert_uint_eq(a->uidnext, b->uidnext);
	ck_assert_uint_eq(a->highestmodseq, b->highestmodseq);
	ck_assert_uint_eq(a->nkeywords, b->nkeywords);
	for (unsigned i = 0; i < a->nkeywords; i++)
		ck_assert_str_eq(a->keywords[i], b->keywords[i]);
	ck_assert_uint_eq(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const struct store_msg *x = &a->msgs[i], *y = &b->msgs[i];

		ck_assert_uint_eq(x->uid, y->uid);
		ck_assert_uint_eq(x->flags, y->flags);
		ck_assert_uint_eq(x->keywords, y->keywords);
		ck_assert_uint_eq(x->modseq, y->modseq);
		ck_assert_int_eq(x->internaldate, y->internaldate);
		ck_assert_uint_eq(x->size, y->size);
		ck_assert_uint_eq(x->vsize, y->vsize);
		ck_assert_str_eq(store_msg_name(a, x), store_msg_name(b, y));
		ck_assert_int_eq(x->in_new, y->in_new);
	}
}

static bool snapshot_is_binary(void)
{
	struct str text = STR_INIT;
	bool binary;

	ck_assert(safe_read_file(tu_path(md, STORE_INDEX_FILE), &text,
				 1 << 24));
	binary = store_snapshot_is_binary(text.data, text.len);
	str_release(&text);
	return binary;
}

START_TEST(round_trip)
{
	struct store_folder *f, *g;
	struct str error = STR_INIT;

	populate();
	f = open_folder();
	ck_assert(store_compact(f, &error));
	ck_assert(snapshot_is_binary());
	g = open_folder();
	assert_same(f, g);
	ck_assert_uint_eq(g->count, 5);
	ck_assert(g->msgs[0].in_new);
	ck_assert_uint_eq(g->msgs[1].keywords, 3);
	ck_assert_str_eq(g->keywords[1], "Project X%");
	/* Changes after the snapshot: applied over it, names in its block
	 * replaced and freed as any other. */
	ck_assert_int_eq(store_set_flags(g, g->msgs[0].uid, STORE_F_SEEN, 0,
					 &error), 1);
	store_folder_free(&g);
	g = open_folder();
	ck_assert_uint_eq(g->msgs[0].flags, STORE_F_SEEN);
	ck_assert(!g->msgs[0].in_new);
	store_folder_free(&f);
	store_folder_free(&g);
	str_release(&error);
}
END_TEST

/* The snapshot of f in the text form store_index.c wrote before. */
static void write_text_snapshot(const struct store_folder *f)
{
	struct store_rec rec = { .kind = 'H', .has_g = true, .has_v = true,
				 .has_m = true, .has_n = true,
				 .has_t = true };
	struct str text = STR_INIT;

	rec.gen = f->log_gen;
	rec.uidvalidity = f->uidvalidity;
	rec.modseq = f->highestmodseq;
	rec.uidnext = f->uidnext;
	rec.new_ns = f->new_mtime_ns;
	rec.cur_ns = f->cur_mtime_ns;
	store_rec_format(&rec, &text);
	for (unsigned i = 0; i < f->nkeywords; i++) {
		store_rec_reset(&rec);
		rec.kind = 'K';
		rec.idx = i;
		str_set(&rec.name, f->keywords[i]);
		store_rec_format(&rec, &text);
	}
	for (size_t i = 0; i < f->count; i++) {
		const struct store_msg *m = &f->msgs[i];

		store_rec_reset(&rec);
		rec.kind = 'A';
		rec.has_m = true;
		rec.modseq = m->modseq;
		rec.uid = m->uid;
		rec.flags = m->flags;
		rec.keywords = m->keywords;
		rec.idate = m->internaldate;
		rec.size = m->size;
		rec.vsize = m->vsize;
		rec.in_new = m->in_new;
		str_set(&rec.name, store_msg_name(f, m));
		store_rec_format(&rec, &text);
	}
	store_rec_reset(&rec);
	rec.kind = 'Z';
	rec.count = f->count;
	store_rec_format(&rec, &text);
	ck_assert(safe_write_file(tu_path(md, STORE_INDEX_FILE), text.data,
				  text.len, 0600));
	str_release(&text);
	str_release(&rec.name);
}

START_TEST(text_snapshot_migrated)
{
	struct store_folder *f, *g;
	struct str error = STR_INIT;

	populate();
	f = open_folder();
	ck_assert(store_compact(f, &error));
	store_folder_free(&f);
	f = open_folder();
	/* Replace the binary snapshot by the same state as text, of the
	 * log's generation. */
	write_text_snapshot(f);
	ck_assert(!snapshot_is_binary());
	g = open_folder();
	assert_same(f, g);
	store_folder_free(&g);
	/* Rewritten as binary by that open; the same again. */
	ck_assert(snapshot_is_binary());
	g = open_folder();
	assert_same(f, g);
	store_folder_free(&f);
	store_folder_free(&g);
	str_release(&error);
}
END_TEST

/* Replace path's content (no fsync: many rounds) by rename, as every
 * writer of the index does: an open folder keeps the snapshot it mapped
 * (store_snapshot.c), which must never change in place. */
static void put_file(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert(safe_write_all(fd, data, len));
	close(fd);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Open with snapshot data in place: either the state as it was, or a
 * rebuild (every message, a new UIDVALIDITY): never anything else. */
static void check_open(const struct store_folder *want, const char *what,
		       size_t at)
{
	struct store_folder *f = open_folder();

	ck_assert_msg(f->count == want->count, "%s at %zu: %zu messages",
		      what, at, f->count);
	if (f->uidvalidity == want->uidvalidity)
		assert_same(want, f);
	else
		for (size_t i = 0; i < f->count; i++)
			ck_assert_uint_ge(f->uidnext, f->msgs[i].uid + 1);
	store_folder_free(&f);
}

START_TEST(damaged_snapshot_never_misread)
{
	struct store_folder *want;
	struct str error = STR_INIT, snap = STR_INIT, log = STR_INIT;
	const char *sp = tu_path(md, STORE_INDEX_FILE);
	const char *lp = tu_path(md, STORE_LOG_FILE);

	populate();
	want = open_folder();
	ck_assert(store_compact(want, &error));
	store_folder_free(&want);
	want = open_folder();
	ck_assert(safe_read_file(sp, &snap, 1 << 24));
	ck_assert(safe_read_file(lp, &log, 1 << 24));
	for (size_t at = 0; at < snap.len; at += 3) {
		snap.data[at] ^= 0x21;
		put_file(sp, snap.data, snap.len);
		snap.data[at] ^= 0x21;
		put_file(lp, log.data, log.len);
		check_open(want, "flip", at);
	}
	for (size_t len = 0; len < snap.len; len += 7) {
		put_file(sp, snap.data, len);
		put_file(lp, log.data, log.len);
		check_open(want, "cut", len);
	}
	store_folder_free(&want);
	str_release(&error);
	str_release(&snap);
	str_release(&log);
}
END_TEST

static Suite *store_snapshot_suite(void)
{
	Suite *s = suite_create("store_snapshot");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, text_snapshot_migrated);
	tcase_add_test(tc, damaged_snapshot_never_misread);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_snapshot_suite());
}
