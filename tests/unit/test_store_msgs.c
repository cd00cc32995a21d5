/*
 * Unit tests for a folder's messages read in place (store/store_msgs.c,
 * store/store_snapshot.c): a compacted folder's array is the snapshot
 * mapped copy-on-write and its names are the snapshot's; changes from
 * the log and this process's own reach the array, never the file;
 * appends past the mapping's room move the array to the heap intact;
 * store_changed_since() agrees with a walk over every message for every
 * modseq, from a snapshot with a log tail and after another process
 * compacted; the count of unclaimed messages stays right; a snapshot
 * of the former binary form (CORREOI2) is read and rewritten.
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
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_store_msgs");
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

static void deliver(int n, uint32_t flags)
{
	struct str error = STR_INIT;
	const char *dsn;

	for (int i = 0; i < n; i++)
		ck_assert(store_deliver(md, flags, 1700000000 + i, tu_write_text,
					"Subject: x\n\nbody\n", 0, NULL,
					&error, &dsn) == MAILDIR_OK);
	str_release(&error);
}

static void compact(void)
{
	struct str error = STR_INIT;
	struct store_folder *f = open_folder();

	ck_assert(store_compact(f, &error));
	store_folder_free(&f);
	str_release(&error);
}

/* Whether p is inside the snapshot f keeps. */
static bool in_snapshot(const struct store_folder *f, const void *p)
{
	return f->snap != NULL && (const char *)p >= (const char *)f->snap &&
	       (const char *)p < (const char *)f->snap + f->snap_len;
}

static size_t unclaimed_walk(const struct store_folder *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->count; i++)
		n += f->msgs[i].in_new || (f->msgs[i].flags & STORE_F_RECENT);
	return n;
}

START_TEST(mapped_in_place)
{
	struct store_folder *f;
	struct str before = STR_INIT, after = STR_INIT, error = STR_INIT;
	const char *sp = tu_path(md, STORE_INDEX_FILE);
	uint32_t uid;

	deliver(20, STORE_F_SEEN);
	compact();
	f = open_folder();
	ck_assert_uint_eq(f->count, 20);
	ck_assert_ptr_nonnull(f->msgs_map);
	ck_assert_ptr_eq(f->msgs, f->msgs_map);
	for (size_t i = 0; i < f->count; i++)
		ck_assert(in_snapshot(f, store_msg_name(f, &f->msgs[i])));
	/* Changes of our own go to the array (and the log), never into
	 * the file the array is mapped from. */
	ck_assert(safe_read_file(sp, &before, 1 << 24));
	uid = f->msgs[3].uid;
	ck_assert_int_eq(store_set_flags(f, uid, STORE_F_FLAGGED, 0, &error),
			 1);
	ck_assert_uint_eq(f->msgs[3].flags & STORE_F_ALL, STORE_F_FLAGGED);
	ck_assert(!in_snapshot(f, store_msg_name(f, &f->msgs[3])));
	ck_assert_ptr_nonnull(strstr(store_msg_name(f, &f->msgs[3]),
				     ":2,F"));
	uid = f->msgs[5].uid;
	ck_assert_int_eq(store_expunge(f, &uid, 1, &error), 1);
	ck_assert_uint_eq(f->count, 19);
	ck_assert(safe_read_file(sp, &after, 1 << 24));
	ck_assert_uint_eq(before.len, after.len);
	ck_assert(memcmp(before.data, after.data, before.len) == 0);
	store_folder_free(&f);
	str_release(&before);
	str_release(&after);
	str_release(&error);
}
END_TEST

START_TEST(appends_past_the_mapping)
{
	struct store_folder *f, *g;
	struct str error = STR_INIT;
	size_t room;

	deliver(8, STORE_F_SEEN);
	compact();
	f = open_folder();
	ck_assert_ptr_nonnull(f->msgs_map);
	room = f->cap;
	ck_assert_uint_gt(room, f->count);
	/* More than the reservation holds, from another process's point
	 * of view: f learns them by refresh. */
	deliver((int)(room - f->count) + 5, 0);
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, room + 5);
	ck_assert_ptr_null(f->msgs_map);	/* moved to the heap */
	g = open_folder();
	ck_assert_uint_eq(g->count, f->count);
	for (size_t i = 0; i < f->count; i++) {
		ck_assert_uint_eq(f->msgs[i].uid, g->msgs[i].uid);
		ck_assert_uint_eq(f->msgs[i].modseq, g->msgs[i].modseq);
		ck_assert_str_eq(store_msg_name(f, &f->msgs[i]),
				 store_msg_name(g, &g->msgs[i]));
	}
	ck_assert_uint_eq(f->unclaimed, unclaimed_walk(f));
	store_folder_free(&f);
	store_folder_free(&g);
	str_release(&error);
}
END_TEST

/* store_changed_since(f, m) for every m against the walk. */
static void check_changed_since(const struct store_folder *f)
{
	for (uint64_t m = 0; m <= f->highestmodseq + 1; m++) {
		uint32_t *uids;
		size_t n = store_changed_since(f, m, &uids), k = 0;

		for (size_t i = 0; i < f->count; i++) {
			if (f->msgs[i].modseq <= m)
				continue;
			ck_assert_msg(k < n && uids[k] == f->msgs[i].uid,
				      "modseq %llu: uid %u missing",
				      (unsigned long long)m, f->msgs[i].uid);
			k++;
		}
		ck_assert_msg(k == n, "modseq %llu: %zu extra",
			      (unsigned long long)m, n - k);
		free(uids);
	}
}

START_TEST(changed_since_agrees_with_walk)
{
	struct store_folder *f, *g;
	struct str error = STR_INIT;
	uint32_t uids[2];

	deliver(30, STORE_F_SEEN);
	f = open_folder();
	for (size_t i = 0; i < 30; i += 4)
		ck_assert_int_eq(store_set_flags(f, f->msgs[i].uid,
						 STORE_F_FLAGGED, 0, &error),
				 1);
	store_folder_free(&f);
	compact();
	/* Read from the snapshot with its modseq order, then a log tail
	 * of flags (one message twice), deliveries and expunges. */
	g = open_folder();
	ck_assert_ptr_nonnull(g->snap_bymodseq);
	check_changed_since(g);
	f = open_folder();
	ck_assert_int_eq(store_set_flags(f, f->msgs[7].uid, STORE_F_SEEN |
					 STORE_F_ANSWERED, 0, &error), 1);
	ck_assert_int_eq(store_set_flags(f, f->msgs[7].uid, 0, 0, &error), 1);
	ck_assert_int_eq(store_set_flags(f, f->msgs[12].uid, STORE_F_DRAFT, 0,
					 &error), 1);
	uids[0] = f->msgs[0].uid;
	uids[1] = f->msgs[9].uid;
	ck_assert_int_eq(store_expunge(f, uids, 2, &error), 2);
	store_folder_free(&f);
	deliver(3, 0);
	ck_assert(store_folder_refresh(g, &error));
	check_changed_since(g);
	f = open_folder();
	ck_assert_ptr_nonnull(f->snap_bymodseq);
	ck_assert_uint_gt(f->ntouched, 0);
	check_changed_since(f);
	/* Another process compacts: g reloads the new snapshot. */
	store_folder_free(&f);
	compact();
	ck_assert(store_folder_refresh(g, &error));
	check_changed_since(g);
	store_folder_free(&g);
	str_release(&error);
}
END_TEST

START_TEST(unclaimed_counted)
{
	struct store_folder *f;
	struct str error = STR_INIT;
	uint32_t *uids;

	deliver(5, 0);			/* new/ */
	deliver(4, STORE_F_SEEN);	/* cur/, \Recent in the index */
	f = open_folder();
	ck_assert_uint_eq(f->unclaimed, 9);
	ck_assert_uint_eq(unclaimed_walk(f), 9);
	store_folder_free(&f);
	compact();
	f = open_folder();
	ck_assert_uint_eq(f->unclaimed, 9);
	ck_assert_int_eq(store_claim_new(f, &uids, &error), 9);
	for (int i = 1; i < 9; i++)
		ck_assert_uint_gt(uids[i], uids[i - 1]);
	free(uids);
	ck_assert_uint_eq(f->unclaimed, 0);
	ck_assert_uint_eq(unclaimed_walk(f), 0);
	ck_assert_int_eq(store_claim_new(f, &uids, &error), 0);
	store_folder_free(&f);
	deliver(2, 0);
	f = open_folder();
	ck_assert_uint_eq(f->unclaimed, 2);
	ck_assert_uint_eq(unclaimed_walk(f), 2);
	ck_assert_int_eq(store_claim_new(f, &uids, &error), 2);
	free(uids);
	store_folder_free(&f);
	compact();
	f = open_folder();
	ck_assert_uint_eq(f->unclaimed, 0);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* f's state as a snapshot of the former binary form (CORREOI2: an
 * 80-byte header, 56-byte packed records, names without NULs). */
static void write_v2_snapshot(const struct store_folder *f)
{
	size_t names = 0, at;
	unsigned char *buf, *p;
	size_t len;

	for (unsigned i = 0; i < f->nkeywords; i++)
		names += strlen(f->keywords[i]);
	for (size_t i = 0; i < f->count; i++)
		names += strlen(store_msg_name(f, &f->msgs[i]));
	len = 80 + f->nkeywords * 8 + f->count * 56 + names;
	buf = calloc(1, len);
	memcpy(buf, "CORREOI2", 8);
	put64(buf + 8, f->log_gen);
	put32(buf + 16, f->uidvalidity);
	put32(buf + 20, f->uidnext);
	put64(buf + 24, f->highestmodseq);
	put64(buf + 32, (uint64_t)f->new_mtime_ns);
	put64(buf + 40, (uint64_t)f->cur_mtime_ns);
	put32(buf + 48, (uint32_t)f->count);
	put32(buf + 52, f->nkeywords);
	put32(buf + 56, (uint32_t)names);
	p = buf + 80;
	at = 0;
	for (unsigned i = 0; i < f->nkeywords; i++, p += 8) {
		put32(p, (uint32_t)at);
		put32(p + 4, (uint32_t)strlen(f->keywords[i]));
		at += strlen(f->keywords[i]);
	}
	for (size_t i = 0; i < f->count; i++, p += 56) {
		const struct store_msg *m = &f->msgs[i];
		const char *name = store_msg_name(f, m);

		put32(p, m->uid);
		put32(p + 4, m->flags | (m->in_new ? 0x80000000u : 0));
		put64(p + 8, m->keywords);
		put64(p + 16, m->modseq);
		put64(p + 24, (uint64_t)m->internaldate);
		put64(p + 32, m->size);
		put64(p + 40, m->vsize);
		put32(p + 48, (uint32_t)at);
		put32(p + 52, (uint32_t)strlen(name));
		at += strlen(name);
	}
	for (unsigned i = 0; i < f->nkeywords; i++) {
		memcpy(p, f->keywords[i], strlen(f->keywords[i]));
		p += strlen(f->keywords[i]);
	}
	for (size_t i = 0; i < f->count; i++) {
		const char *name = store_msg_name(f, &f->msgs[i]);

		memcpy(p, name, strlen(name));
		p += strlen(name);
	}
	put64(buf + 72, store_hash64(0, buf, len));
	ck_assert(safe_write_file(tu_path(md, STORE_INDEX_FILE),
				  (const char *)buf, len, 0600));
	free(buf);
}

START_TEST(v2_snapshot_migrated)
{
	struct store_folder *f, *g;
	struct str error = STR_INIT, snap = STR_INIT;

	deliver(6, STORE_F_SEEN);
	deliver(2, 0);
	f = open_folder();
	ck_assert_int_eq(store_keyword(f, "$Label1", &error), 0);
	ck_assert_int_eq(store_set_flags(f, f->msgs[1].uid, STORE_F_FLAGGED,
					 1, &error), 1);
	ck_assert(store_compact(f, &error));
	store_folder_free(&f);
	f = open_folder();
	write_v2_snapshot(f);
	g = open_folder();	/* reads the old form, rewrites it */
	ck_assert_uint_eq(g->uidvalidity, f->uidvalidity);
	ck_assert_uint_eq(g->count, f->count);
	ck_assert_uint_eq(g->unclaimed, f->unclaimed);
	ck_assert_str_eq(g->keywords[0], "$Label1");
	for (size_t i = 0; i < f->count; i++) {
		ck_assert_uint_eq(g->msgs[i].uid, f->msgs[i].uid);
		ck_assert_uint_eq(g->msgs[i].flags, f->msgs[i].flags);
		ck_assert_uint_eq(g->msgs[i].keywords, f->msgs[i].keywords);
		ck_assert_uint_eq(g->msgs[i].in_new, f->msgs[i].in_new);
		ck_assert_str_eq(store_msg_name(g, &g->msgs[i]),
				 store_msg_name(f, &f->msgs[i]));
	}
	store_folder_free(&g);
	ck_assert(safe_read_file(tu_path(md, STORE_INDEX_FILE), &snap,
				 1 << 24));
	ck_assert(memcmp(snap.data, "CORREOI3", 8) == 0);
	g = open_folder();
	ck_assert_ptr_nonnull(g->msgs_map);
	ck_assert_uint_eq(g->count, f->count);
	check_changed_since(g);
	store_folder_free(&f);
	store_folder_free(&g);
	str_release(&snap);
	str_release(&error);
}
END_TEST

static Suite *store_msgs_suite(void)
{
	Suite *s = suite_create("store_msgs");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, mapped_in_place);
	tcase_add_test(tc, appends_past_the_mapping);
	tcase_add_test(tc, changed_since_agrees_with_walk);
	tcase_add_test(tc, unclaimed_counted);
	tcase_add_test(tc, v2_snapshot_migrated);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_msgs_suite());
}
