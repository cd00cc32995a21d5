/*
 * Unit tests for the mailbox store (store/): the record format, index
 * build and reload, delivery assigning UIDs, flags in file names,
 * keywords, expunge, compaction, recovery after truncation of the log at
 * every byte offset, concurrent deliverers, files dropped by other
 * programs, UIDs never reused, migration of POP3's correo-uidlist.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_store");
	md = tu_path(tmpdir, "Maildir");
	/* Mtimes count as settled at once, so that a test may record one
	 * right after a change; the tests of plain deliveries set it
	 * back. */
	store_mtime_settle_ns = 0;
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

/* An empty Maildir at md, for files written by hand. */
static void make_maildir(void)
{
	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert_int_eq(mkdir(tu_path(md, "cur"), 0700), 0);
	ck_assert_int_eq(mkdir(tu_path(md, "new"), 0700), 0);
	ck_assert_int_eq(mkdir(tu_path(md, "tmp"), 0700), 0);
}

static uint32_t deliver(const char *dir, const char *text, uint32_t flags)
{
	struct str error = STR_INIT;
	const char *dsn;
	uint32_t uid = 0;

	ck_assert_msg(store_deliver(dir, flags, 0, tu_write_text, (void *)text,
				    0, &uid, &error, &dsn) == MAILDIR_OK,
		      "deliver: %s", str_c(&error));
	str_release(&error);
	return uid;
}

static struct store_folder *open_folder(const char *dir)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(dir, true, &error);

	ck_assert_msg(f != NULL, "open: %s", str_c(&error));
	str_release(&error);
	return f;
}

static void refresh(struct store_folder *f)
{
	struct str error = STR_INIT;

	ck_assert_msg(store_folder_refresh(f, &error), "refresh: %s",
		      str_c(&error));
	str_release(&error);
}

START_TEST(record_round_trip)
{
	struct store_rec rec = { .kind = 'A' }, back = { 0 };
	struct str line = STR_INIT;

	rec.uid = 42;
	rec.flags = STORE_F_SEEN | STORE_F_FLAGGED;
	rec.keywords = 0x5;
	rec.idate = 1700000000;
	rec.size = 1234;
	rec.vsize = 1260;
	rec.has_m = rec.has_n = true;
	rec.modseq = 7;
	rec.uidnext = 43;
	str_set(&rec.name, "1700.M1P2.host,S=1234:2,FS odd name%");
	store_rec_format(&rec, &line);
	ck_assert(line.data[line.len - 1] == '\n');
	ck_assert(store_rec_parse(line.data, line.len - 1, &back));
	ck_assert_int_eq(back.kind, 'A');
	ck_assert_uint_eq(back.uid, 42);
	ck_assert_uint_eq(back.flags, rec.flags);
	ck_assert_uint_eq(back.keywords, 5);
	ck_assert_uint_eq(back.size, 1234);
	ck_assert_uint_eq(back.vsize, 1260);
	ck_assert_uint_eq(back.modseq, 7);
	ck_assert_uint_eq(back.uidnext, 43);
	ck_assert_str_eq(str_c(&back.name), str_c(&rec.name));
	/* Any changed byte is caught by the checksum or the parser. */
	for (size_t i = 0; i + 1 < line.len; i++) {
		char saved = line.data[i];

		line.data[i] = saved == 'x' ? 'y' : 'x';
		ck_assert_msg(!store_rec_parse(line.data, line.len - 1, &back),
			      "byte %zu", i);
		line.data[i] = saved;
	}
	/* Names that would leave the folder are refused. */
	str_set(&rec.name, "../x");
	str_clear(&line);
	store_rec_format(&rec, &line);
	ck_assert(!store_rec_parse(line.data, line.len - 1, &back));
	str_release(&line);
	str_release(&rec.name);
	str_release(&back.name);
}
END_TEST

START_TEST(deliver_assigns_uids)
{
	struct store_folder *f;
	struct str path = STR_INIT, got = STR_INIT;

	ck_assert_uint_eq(deliver(md, "Subject: 1\n\none\n", 0), 1);
	ck_assert_uint_eq(deliver(md, "Subject: 2\n\ntwo\n", 0), 2);
	ck_assert_uint_eq(deliver(md, "Subject: 3\n\nthree\n",
				  STORE_F_SEEN), 3);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 3);
	ck_assert_uint_eq(f->uidnext, 4);
	ck_assert_uint_ne(f->uidvalidity, 0);
	ck_assert_uint_eq(f->msgs[0].uid, 1);
	ck_assert(f->msgs[0].in_new);
	ck_assert_uint_eq(f->msgs[0].size, 16);
	ck_assert_uint_eq(f->msgs[0].vsize, 19);
	ck_assert(!f->msgs[2].in_new);
	/* Saved with flags into cur/: recent until a session takes it. */
	ck_assert_uint_eq(f->msgs[2].flags, STORE_F_SEEN | STORE_F_RECENT);
	ck_assert_ptr_nonnull(strstr(store_msg_name(f, &f->msgs[2]), ":2,S"));
	store_msg_path(f, &f->msgs[1], &path);
	ck_assert(safe_read_file(str_c(&path), &got, 4096));
	ck_assert_str_eq(str_c(&got), "Subject: 2\n\ntwo\n");
	ck_assert_uint_eq(f->highestmodseq, 3);
	store_folder_free(&f);
	ck_assert_ptr_null(f);
	str_release(&path);
	str_release(&got);
}
END_TEST

START_TEST(sessions_see_each_other)
{
	struct store_folder *a, *b;
	struct str error = STR_INIT;
	uint64_t kw;
	int idx;

	deliver(md, "m1\n", 0);
	a = open_folder(md);
	b = open_folder(md);
	deliver(md, "m2\n", 0);
	refresh(a);
	ck_assert_uint_eq(a->count, 2);
	ck_assert_uint_eq(a->nchanges, 1);
	ck_assert_int_eq(a->changes[0].kind, 'A');
	ck_assert_uint_eq(a->changes[0].uid, 2);
	a->nchanges = 0;
	/* Flags set in a reach b; the file name carries them. */
	idx = store_keyword(a, "$Important", &error);
	ck_assert_int_eq(idx, 0);
	kw = 1u << idx;
	ck_assert_int_eq(store_set_flags(a, 1, STORE_F_SEEN |
					 STORE_F_ANSWERED, kw, &error), 1);
	ck_assert_ptr_nonnull(strstr(store_msg_name(a, &a->msgs[0]), ":2,RS"));
	ck_assert(!a->msgs[0].in_new);
	refresh(b);
	ck_assert_uint_eq(b->count, 2);
	ck_assert_uint_eq(b->msgs[0].flags, STORE_F_SEEN | STORE_F_ANSWERED);
	ck_assert_uint_eq(b->msgs[0].keywords, kw);
	ck_assert_str_eq(b->keywords[0], "$Important");
	ck_assert_uint_eq(b->msgs[0].modseq, b->highestmodseq);
	/* An expunge in b reaches a. */
	ck_assert_int_eq(store_expunge(b, (uint32_t[]){ 1 }, 1, &error), 1);
	ck_assert_uint_eq(b->count, 1);
	a->nchanges = 0;
	refresh(a);
	ck_assert_uint_eq(a->count, 1);
	ck_assert_uint_eq(a->msgs[0].uid, 2);
	ck_assert_int_eq(a->changes[a->nchanges - 1].kind, 'E');
	ck_assert_int_eq(tu_count_entries(tu_path(md, "cur")) +
			 tu_count_entries(tu_path(md, "new")), 1);
	store_folder_free(&a);
	store_folder_free(&b);
	str_release(&error);
}
END_TEST

/* Another Maildir program drops a file into new/ and renames one in
 * cur/: the next refresh finds both (a scan, triggered by the mtimes). */
START_TEST(foreign_changes_found)
{
	struct store_folder *f;
	struct str from = STR_INIT, to = STR_INIT;

	deliver(md, "m1\n", STORE_F_SEEN);
	f = open_folder(md);
	/* mtimes have a coarse tick: make sure they move. */
	usleep(20000);
	tu_write_file(tu_path(md, "new/1999999999.foreign.host"), "x\n",
		      0600);
	store_msg_path(f, &f->msgs[0], &from);
	str_printf(&to, "%s/cur/%.*s:2,FS", md,
		   (int)store_base_len(store_msg_name(f, &f->msgs[0])), store_msg_name(f, &f->msgs[0]));
	ck_assert_int_eq(rename(str_c(&from), str_c(&to)), 0);
	refresh(f);
	ck_assert_uint_eq(f->count, 2);
	ck_assert_uint_eq(f->msgs[0].flags & STORE_F_ALL,
			  STORE_F_SEEN | STORE_F_FLAGGED);
	ck_assert_uint_eq(f->msgs[1].uid, 2);
	ck_assert_str_eq(store_msg_name(f, &f->msgs[1]), "1999999999.foreign.host");
	ck_assert_uint_eq(f->msgs[1].vsize, 3);
	/* A foreign removal is an expunge. */
	usleep(20000);
	ck_assert_int_eq(unlink(tu_path(md, "new/1999999999.foreign.host")),
			 0);
	refresh(f);
	ck_assert_uint_eq(f->count, 1);
	/* And its UID is not handed out again. */
	ck_assert_uint_eq(deliver(md, "m3\n", 0), 3);
	store_folder_free(&f);
	str_release(&from);
	str_release(&to);
}
END_TEST

/* Files no program of ours delivered get UIDs in delivery order: the
 * leading seconds as numbers, then the rest with numbers as numbers;
 * names without a leading number last. */
START_TEST(scan_order)
{
	static const char *const names[] = {
		"999.M5P1.h", "1700.M95P1.h", "1700.M123P1.h",
		"1701.M1P1.h", "10000.M1P1.h", "foreign.h",
	};
	static const char *const order[] = { "cur/foreign.h:2,S",
		"cur/1700.M123P1.h:2,", "new/10000.M1P1.h", "cur/999.M5P1.h:2,",
		"new/1701.M1P1.h", "cur/1700.M95P1.h:2,S" };
	struct store_folder *f;

	make_maildir();
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		tu_write_file(tu_path(md, order[i]), "x\n", 0600);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 6);
	for (size_t i = 0; i < f->count; i++) {
		const char *name = store_msg_name(f, &f->msgs[i]);

		ck_assert_uint_eq(f->msgs[i].uid, i + 1);
		ck_assert_int_eq(strncmp(name, names[i], strlen(names[i])), 0);
		ck_assert_uint_eq(f->msgs[i].vsize, 3);
	}
	store_folder_free(&f);
}
END_TEST

/* A file whose name states both sizes is indexed without a stat: its
 * date is read from its mtime when first asked for, and kept; a name
 * without the sizes is stat'ed at the scan; a compaction keeps a date
 * once read. */
START_TEST(scan_date_lazy)
{
	static const char text[] = "Subject: x\n\nbody\n";
	struct timespec ts[2] = { { 1500000000, 0 }, { 1500000000, 0 } };
	struct str path = STR_INIT, error = STR_INIT;
	struct store_folder *f, *g;
	char sized[128];

	make_maildir();
	snprintf(sized, sizeof(sized), "cur/1700000000.M1P1.h,S=%zu,W=%zu:2,S",
		 strlen(text), strlen(text) + 4);
	tu_write_file(tu_path(md, sized), text, 0600);
	ck_assert_int_eq(utimensat(AT_FDCWD, tu_path(md, sized), ts, 0), 0);
	tu_write_file(tu_path(md, "cur/1700000001.M1P1.h:2,"), text, 0600);
	ts[0].tv_sec = ts[1].tv_sec = 1600000000;
	ck_assert_int_eq(utimensat(AT_FDCWD,
				   tu_path(md, "cur/1700000001.M1P1.h:2,"),
				   ts, 0), 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 2);
	/* Sizes from the name; the date not read yet. */
	ck_assert_int_eq(f->msgs[0].internaldate, STORE_DATE_UNKNOWN);
	ck_assert_uint_eq(f->msgs[0].size, strlen(text));
	ck_assert_uint_eq(f->msgs[0].vsize, strlen(text) + 4);
	/* No sizes in the name: stat'ed at the scan. */
	ck_assert_int_eq(f->msgs[1].internaldate, 1600000000);
	ck_assert_uint_eq(f->msgs[1].vsize, strlen(text) + 3);
	ck_assert_int_eq(store_msg_date(f, &f->msgs[0]), 1500000000);
	ck_assert_int_eq(f->msgs[0].internaldate, 1500000000);
	/* Kept: a later mtime change is not the INTERNALDATE. */
	ts[0].tv_sec = ts[1].tv_sec = 1400000000;
	ck_assert_int_eq(utimensat(AT_FDCWD, tu_path(md, sized), ts, 0), 0);
	ck_assert_int_eq(store_msg_date(f, &f->msgs[0]), 1500000000);
	/* A compaction writes what was read. */
	ck_assert_msg(store_compact(f, &error), "compact: %s",
		      str_c(&error));
	g = open_folder(md);
	ck_assert_int_eq(g->msgs[0].internaldate, 1500000000);
	store_folder_free(&g);
	/* A file gone before its date was read: the name's seconds. */
	store_folder_free(&f);
	ck_assert_int_eq(unlink(tu_path(md, "correo-index")), 0);
	ck_assert_int_eq(unlink(tu_path(md, "correo-index.log")), 0);
	f = open_folder(md);
	ck_assert_int_eq(f->msgs[0].internaldate, STORE_DATE_UNKNOWN);
	store_msg_path(f, &f->msgs[0], &path);
	ck_assert_int_eq(unlink(str_c(&path)), 0);
	ck_assert_int_eq(store_msg_date(f, &f->msgs[0]), 1700000000);
	ck_assert_int_eq(f->msgs[0].internaldate, STORE_DATE_UNKNOWN);
	store_folder_free(&f);
	str_release(&path);
	str_release(&error);
}
END_TEST

/* \Recent: a session claims what is in new/ or saved with flags; a
 * second session claims nothing. */
START_TEST(claim_recent_once)
{
	struct store_folder *a, *b;
	struct str error = STR_INIT;
	uint32_t *uids;

	deliver(md, "m1\n", 0);
	deliver(md, "m2\n", STORE_F_SEEN);
	a = open_folder(md);
	b = open_folder(md);
	ck_assert_int_eq(store_claim_new(a, &uids, &error), 2);
	ck_assert_uint_eq(uids[0], 1);
	ck_assert_uint_eq(uids[1], 2);
	free(uids);
	ck_assert(!a->msgs[0].in_new);
	ck_assert_uint_eq(a->msgs[1].flags, STORE_F_SEEN);
	ck_assert_int_eq(store_claim_new(b, &uids, &error), 0);
	free(uids);
	ck_assert_int_eq(tu_count_entries(tu_path(md, "new")), 0);
	store_folder_free(&a);
	store_folder_free(&b);
	str_release(&error);
}
END_TEST

START_TEST(compaction_keeps_state)
{
	struct store_folder *f, *g;
	struct str error = STR_INIT;

	for (int i = 0; i < 5; i++)
		deliver(md, "m\n", 0);
	f = open_folder(md);
	g = open_folder(md);
	ck_assert_int_eq(store_expunge(f, (uint32_t[]){ 2, 4 }, 2, &error),
			 2);
	ck_assert_int_eq(store_set_flags(f, 5, STORE_F_DELETED, 0, &error),
			 1);
	ck_assert(store_compact(f, &error));
	/* g notices the new generation and the changes in it. */
	g->nchanges = 0;
	refresh(g);
	ck_assert_uint_eq(g->count, 3);
	ck_assert_uint_eq(g->uidnext, 6);
	ck_assert_uint_eq(g->msgs[2].flags, STORE_F_DELETED);
	ck_assert_uint_ge(g->nchanges, 3);
	store_folder_free(&g);
	/* A fresh open reads the snapshot, and deliveries go on. */
	g = open_folder(md);
	ck_assert_uint_eq(g->count, 3);
	ck_assert_uint_eq(g->highestmodseq, f->highestmodseq);
	ck_assert_uint_eq(deliver(md, "m\n", 0), 6);
	refresh(g);
	ck_assert_uint_eq(g->count, 4);
	store_folder_free(&f);
	store_folder_free(&g);
	str_release(&error);
}
END_TEST

/* Cut the log at every byte offset after three deliveries: the folder
 * opens every time, never loses a message, and the UIDs of complete
 * records are kept; the next delivery never reuses an acknowledged UID
 * of a complete record. */
START_TEST(log_truncated_everywhere)
{
	struct str log = STR_INIT, logpath = STR_INIT;
	size_t full;

	deliver(md, "m1\n", 0);
	deliver(md, "m2\n", 0);
	deliver(md, "m3\n", 0);
	str_printf(&logpath, "%s/%s", md, STORE_LOG_FILE);
	ck_assert(safe_read_file(str_c(&logpath), &log, 1 << 20));
	full = log.len;
	for (size_t cut = 0; cut <= full; cut++) {
		struct store_folder *f;
		size_t complete = 0;
		int fd;

		/* A records fully present in the cut log. */
		for (size_t i = 0, start = 0; i < cut; i++)
			if (log.data[i] == '\n') {
				if (log.data[start] == 'A')
					complete++;
				start = i + 1;
			}
		fd = open(str_c(&logpath), O_WRONLY | O_TRUNC);
		ck_assert_int_ge(fd, 0);
		ck_assert(safe_write_all(fd, log.data, cut));
		close(fd);
		f = open_folder(md);
		ck_assert_msg(f->count == 3, "cut %zu: %zu messages", cut,
			      f->count);
		for (size_t i = 0; i < complete && i < 3; i++)
			ck_assert_uint_eq(f->msgs[i].uid, i + 1);
		ck_assert_uint_ge(f->uidnext, 4);
		store_folder_free(&f);
		/* Put the state back: drop the index and restore the
		 * original log under the original snapshot. */
		fd = open(str_c(&logpath), O_WRONLY | O_TRUNC | O_CREAT,
			  0600);
		ck_assert(safe_write_all(fd, log.data, full));
		close(fd);
	}
	str_release(&log);
	str_release(&logpath);
}
END_TEST

START_TEST(lost_index_rebuilt)
{
	struct store_folder *f;
	struct str error = STR_INIT;

	deliver(md, "m1\n", 0);
	deliver(md, "m2\n", STORE_F_FLAGGED);
	ck_assert(store_index_remove(md, &error));
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 2);
	ck_assert_uint_eq(f->msgs[1].flags, STORE_F_FLAGGED);
	store_folder_free(&f);
	/* Garbage instead of a snapshot: rebuilt too. */
	tu_write_file(tu_path(md, STORE_INDEX_FILE), "garbage\n", 0600);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 2);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

/* POP3's former list: the store keeps its UIDVALIDITY and UIDs. */
START_TEST(uidlist_migrated)
{
	struct store_folder *f;

	ck_assert(maildir_create(md, NULL));
	tu_write_file(tu_path(md, "cur/1700000001.a.host:2,S"), "a\n", 0600);
	tu_write_file(tu_path(md, "cur/1700000002.b.host:2,"), "b\n", 0600);
	tu_write_file(tu_path(md, "new/1700000003.c.host"), "c\n", 0600);
	tu_write_file(tu_path(md, "correo-uidlist"),
		      "1 V12345 N40\n"
		      "17 W3 :1700000001.a.host\n"
		      "23 W3 :1700000002.b.host\n", 0600);
	f = open_folder(md);
	ck_assert_uint_eq(f->uidvalidity, 12345);
	ck_assert_uint_eq(f->count, 3);
	ck_assert_uint_eq(f->msgs[0].uid, 17);
	ck_assert_uint_eq(f->msgs[1].uid, 23);
	ck_assert_uint_eq(f->msgs[2].uid, 40);
	ck_assert_uint_eq(f->uidnext, 41);
	store_folder_free(&f);
}
END_TEST

/* A deliverer reads only the log's tail for the folder's counters.
 * When the directories' T record is not in it, the folder counts as not
 * clean (the next session scans), never as clean with stale mtimes. */
static void peek(struct store_folder *p)
{
	struct str error = STR_INIT;

	memset(p, 0, sizeof(*p));
	p->log_fd = -1;
	p->dir = (char *)md;
	ck_assert_msg(store_index_peek(p, &error) == 1, "%s", str_c(&error));
	if (p->log_fd >= 0)
		close(p->log_fd);
	p->log_fd = -1;
	str_release(&error);
}

START_TEST(peek_reads_tail)
{
	struct store_folder *f, p;
	struct store_batch b;
	struct store_rec rec = { 0 };
	struct str error = STR_INIT;

	for (int i = 0; i < 100; i++)	/* a log longer than 4 kB */
		deliver(md, "m\n", 0);
	peek(&p);
	ck_assert_uint_eq(p.uidnext, 101);
	ck_assert(store_dirs_clean(&p));
	f = open_folder(md);
	ck_assert(f->new_mtime_ns != 0);
	store_batch_init(&b, f);
	for (int i = 0; i < 300; i++) {	/* 300 flag records, no T */
		store_rec_reset(&rec);
		rec.kind = 'F';
		rec.uid = 1;
		rec.flags = i % 2 ? STORE_F_SEEN : 0;
		str_set(&rec.name, store_msg_name(f, &f->msgs[0]));
		store_batch_add(&b, &rec);
	}
	ck_assert(b.out.len > 8192);
	ck_assert_msg(store_log_append(f, &b.out, &error), "%s",
		      str_c(&error));
	/* The deliveries' picture read every record since: it knows the
	 * last T, and the folder is clean. */
	peek(&p);
	ck_assert_uint_eq(p.highestmodseq, f->highestmodseq);
	ck_assert_uint_eq(p.uidnext, 101);
	ck_assert(store_dirs_clean(&p));
	/* A process without one reads the tail only: no T in it. */
	store_index_peek_forget();
	peek(&p);
	ck_assert_uint_eq(p.highestmodseq, f->highestmodseq);
	ck_assert_uint_eq(p.uidnext, 101);
	ck_assert(!store_dirs_clean(&p));
	store_batch_release(&b);
	store_folder_free(&f);
	/* Deliveries after it go on numbering; a session's open scans and
	 * the folder is clean again. */
	ck_assert_uint_eq(deliver(md, "m\n", 0), 101);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 101);
	store_folder_free(&f);
	peek(&p);
	ck_assert(store_dirs_clean(&p));
	ck_assert_uint_eq(deliver(md, "m\n", 0), 102);
	str_release(&rec.name);
	str_release(&error);
}
END_TEST

/* A child's delivery into md: 0 if it took UID 3. */
static int deliver_third(void *arg)
{
	(void)arg;
	return deliver(md, "c\n", 0) == 3 ? 0 : 1;
}

/* A delivering process keeps its picture of the folder from one
 * delivery to the next (store_index_peek): it must follow what other
 * processes append, a compaction, a torn tail and a folder removed and
 * made anew. */
START_TEST(peek_picture_follows_folder)
{
	struct store_folder *f;
	struct str error = STR_INIT;
	int fd;

	ck_assert_uint_eq(deliver(md, "a\n", 0), 1);
	ck_assert_uint_eq(deliver(md, "b\n", 0), 2);
	/* Another process delivers, another session changes a flag. */
	ck_assert_int_eq(tu_run_child(deliver_third, NULL), 0);
	f = open_folder(md);
	ck_assert_int_eq(store_set_flags(f, 1, STORE_F_SEEN, 0, &error), 1);
	ck_assert_uint_eq(deliver(md, "d\n", 0), 4);
	refresh(f);
	ck_assert_uint_eq(f->count, 4);
	ck_assert_uint_gt(f->msgs[3].modseq, f->msgs[0].modseq);
	ck_assert_uint_eq(f->highestmodseq, f->msgs[3].modseq);
	/* A compaction puts a new snapshot and log in place. */
	ck_assert(store_compact(f, &error));
	ck_assert_uint_eq(deliver(md, "e\n", 0), 5);
	/* A torn record at the log's end: cut before the next record. */
	fd = open(tu_path(md, STORE_LOG_FILE), O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "A M99 N99 U9", 12), 12);
	close(fd);
	ck_assert_uint_eq(deliver(md, "f\n", 0), 6);
	refresh(f);
	ck_assert_uint_eq(f->count, 6);
	ck_assert_uint_eq(f->uidnext, 7);
	store_folder_free(&f);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 6);
	store_folder_free(&f);
	/* The folder removed and made anew: its UIDs start over. */
	tu_rmtree(md);
	ck_assert_uint_eq(deliver(md, "g\n", 0), 1);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 1);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

static int deliver_first(void *arg)
{
	(void)arg;
	return deliver(md, "new\n", 0) == 1 ? 0 : 1;
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The picture keeps the folder's lock file open and locks through it:
 * once the folder is removed and made anew by another process, that
 * file excludes nobody, so a delivery must wait for whoever holds the
 * new folder's lock. */
START_TEST(peek_lock_follows_folder)
{
	struct str error = STR_INIT;
	int sync[2], lock;
	long long t0, waited;
	char c;
	pid_t pid;

	ck_assert_uint_eq(deliver(md, "a\n", 0), 1);
	ck_assert_uint_eq(deliver(md, "b\n", 0), 2);
	tu_rmtree(md);
	ck_assert_int_eq(tu_run_child(deliver_first, NULL), 0);
	ck_assert_int_eq(pipe(sync), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		lock = store_lock(md, &error);
		if (lock < 0 || write(sync[1], "l", 1) != 1)
			_exit(1);
		usleep(400 * 1000);
		_exit(0);
	}
	ck_assert_int_eq(read(sync[0], &c, 1), 1);
	t0 = ms_now();
	ck_assert_uint_eq(deliver(md, "c\n", 0), 2);
	waited = ms_now() - t0;
	ck_assert_msg(waited >= 300, "delivered after %lld ms, while another"
		      " process held the folder's lock", waited);
	ck_assert_int_eq(tu_wait(pid), 0);
	close(sync[0]);
	close(sync[1]);
	str_release(&error);
}
END_TEST

enum { PIC_FOLDERS = 20, PIC_ROUNDS = 3 };

/* The folders of peek_pictures_of_many_folders, and the UID a child's
 * delivery into each must take. */
struct pic_round {
	char (*dirs)[128];
	uint32_t uid;
};

static int deliver_each(void *arg)
{
	const struct pic_round *pr = arg;

	for (int i = 0; i < PIC_FOLDERS; i++)
		if (deliver(pr->dirs[i], "m\n", 0) != pr->uid)
			return 1;
	return 0;
}

/* Pictures of several folders at once (a worker serving every virtual
 * user of one mail owner): deliveries alternate among more folders
 * than it keeps pictures of, another process delivers in between, and
 * every folder still numbers on without a gap or a repeat. */
START_TEST(peek_pictures_of_many_folders)
{
	enum { FOLDERS = PIC_FOLDERS, ROUNDS = PIC_ROUNDS };
	char dirs[FOLDERS][128];
	struct pic_round pr = { dirs, 0 };
	struct store_folder *f;

	for (int i = 0; i < FOLDERS; i++)
		snprintf(dirs[i], sizeof(dirs[i]), "%s/u%d", tmpdir, i);
	for (int r = 0; r < ROUNDS; r++) {
		/* Every third folder, most recent first, then the rest. */
		for (int i = FOLDERS - 1; i >= 0; i -= 3)
			ck_assert_uint_eq(deliver(dirs[i], "m\n", 0),
					  (uint32_t)(2 * r + 1));
		for (int i = 0; i < FOLDERS; i++)
			if ((FOLDERS - 1 - i) % 3 != 0)
				ck_assert_uint_eq(deliver(dirs[i], "m\n", 0),
						  (uint32_t)(2 * r + 1));
		/* Another process, one more into each. */
		pr.uid = (uint32_t)(2 * r + 2);
		ck_assert_int_eq(tu_run_child(deliver_each, &pr), 0);
	}
	for (int i = 0; i < FOLDERS; i++) {
		f = open_folder(dirs[i]);
		ck_assert_uint_eq(f->count, 2 * ROUNDS);
		ck_assert_uint_eq(f->uidnext, 2 * ROUNDS + 1);
		store_folder_free(&f);
	}
}
END_TEST

/* Several processes deliver into one folder at once: every message
 * gets its own UID, none lost. */
START_TEST(concurrent_deliveries)
{
	enum { CHILDREN = 6, EACH = 30 };
	struct store_folder *f;
	pid_t pids[CHILDREN];

	deliver(md, "first\n", 0);
	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		ck_assert_int_ge(pids[c], 0);
		if (pids[c] == 0) {
			for (int i = 0; i < EACH; i++) {
				struct str error = STR_INIT;
				const char *dsn;
				uint32_t uid;

				if (store_deliver(md, 0, 0, tu_write_text,
						  "m\n", 0, &uid, &error,
						  &dsn) != MAILDIR_OK ||
				    uid == 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int c = 0; c < CHILDREN; c++)
		ck_assert_int_eq(tu_wait(pids[c]), 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 1 + CHILDREN * EACH);
	for (size_t i = 0; i < f->count; i++)
		ck_assert_uint_eq(f->msgs[i].uid, i + 1);
	ck_assert_uint_eq(f->uidnext, f->count + 1);
	store_folder_free(&f);
}
END_TEST

/* The UIDs store_vanished_since() reports, as "lo:hi,..." ("-" when
 * the record does not reach back that far). */
static void vanished_collect(void *ctx, uint32_t lo, uint32_t hi)
{
	struct str *out = ctx;

	if (out->len > 0)
		str_append_c(out, ',');
	if (lo == hi)
		str_printf(out, "%u", lo);
	else
		str_printf(out, "%u:%u", lo, hi);
}

static const char *vanished(const struct store_folder *f, uint64_t modseq,
			    struct str *out)
{
	str_clear(out);
	if (!store_vanished_since(f, modseq, vanished_collect, out))
		str_set(out, "-");
	return str_c(out);
}

/* Expunged UIDs are remembered with their modseq, in this session, in
 * another one, and across a compaction and a fresh open. */
START_TEST(vanished_survives_compaction)
{
	struct store_folder *f, *g;
	struct str error = STR_INIT, out = STR_INIT;
	uint64_t before;

	for (int i = 0; i < 10; i++)
		deliver(md, "m\n", 0);
	f = open_folder(md);
	g = open_folder(md);
	ck_assert_int_eq(store_expunge(f, (uint32_t[]){ 2, 3, 5 }, 3,
				       &error), 3);
	before = f->highestmodseq;
	ck_assert_int_eq(store_set_flags(f, 9, STORE_F_SEEN, 0, &error), 1);
	ck_assert_int_eq(store_expunge(f, (uint32_t[]){ 7 }, 1, &error), 1);
	ck_assert_str_eq(vanished(f, 0, &out), "2:3,5,7");
	ck_assert_str_eq(vanished(f, before, &out), "7");
	ck_assert_str_eq(vanished(f, f->highestmodseq, &out), "");
	refresh(g);
	ck_assert_str_eq(vanished(g, before, &out), "7");
	ck_assert(store_compact(f, &error));
	refresh(g);	/* reloads the new generation */
	ck_assert_str_eq(vanished(g, 0, &out), "2:3,5,7");
	ck_assert_str_eq(vanished(g, before, &out), "7");
	store_folder_free(&g);
	g = open_folder(md);
	ck_assert_str_eq(vanished(g, 0, &out), "2:3,5,7");
	ck_assert_str_eq(vanished(g, before, &out), "7");
	/* And again after a second compaction with more expunges. */
	ck_assert_int_eq(store_expunge(g, (uint32_t[]){ 10 }, 1, &error), 1);
	ck_assert(store_compact(g, &error));
	store_folder_free(&g);
	g = open_folder(md);
	ck_assert_str_eq(vanished(g, before, &out), "7,10");
	store_folder_free(&f);
	store_folder_free(&g);
	str_release(&error);
	str_release(&out);
}
END_TEST

/* The record is bounded: past STORE_VANISHED_MAX ranges a compaction
 * drops the oldest and says so for questions from before them. */
START_TEST(vanished_bounded)
{
	enum { N = STORE_VANISHED_MAX + 100 };
	struct store_folder *f;
	struct str error = STR_INIT, out = STR_INIT;

	deliver(md, "m\n", 0);
	f = open_folder(md);
	/* N expunges of non-adjacent UIDs, modseqs 2..N+1, as replaying
	 * that many E records would leave them. */
	for (uint32_t i = 0; i < N; i++)
		store_vanished_note(f, 10 + 2 * i, 2 + i);
	f->highestmodseq = N + 1;
	ck_assert_str_ne(vanished(f, 0, &out), "-");
	ck_assert(store_compact(f, &error));
	store_folder_free(&f);
	f = open_folder(md);
	ck_assert_uint_eq(f->vanished.n, STORE_VANISHED_MAX);
	/* The first 100 (modseqs 2..101) are gone: floor 101. */
	ck_assert_uint_eq(f->vanished.floor, 101);
	ck_assert_str_eq(vanished(f, 100, &out), "-");
	ck_assert_uint_eq(strtoul(vanished(f, N, &out), NULL, 10),
			  10 + 2 * (N - 1));
	ck_assert(strncmp(vanished(f, 101, &out), "210,212,", 8) == 0);
	store_folder_free(&f);
	str_release(&error);
	str_release(&out);
}
END_TEST

/* A log cut at every byte after a snapshot with X records and an
 * expunge in the log: the snapshot's record stays whole, and the
 * expunge is never lost: its record, or when that was cut, the scan
 * that finds the file gone, gives it a modseq after the snapshot's. */
START_TEST(vanished_torn_log)
{
	struct str log = STR_INIT, logpath = STR_INIT, out = STR_INIT;
	struct str error = STR_INIT;
	struct store_folder *f;
	uint64_t after_first;
	size_t full;

	for (int i = 0; i < 4; i++)
		deliver(md, "m\n", 0);
	f = open_folder(md);
	ck_assert_int_eq(store_expunge(f, (uint32_t[]){ 1 }, 1, &error), 1);
	after_first = f->highestmodseq;
	ck_assert(store_compact(f, &error));
	ck_assert_int_eq(store_expunge(f, (uint32_t[]){ 3 }, 1, &error), 1);
	store_folder_free(&f);
	str_printf(&logpath, "%s/%s", md, STORE_LOG_FILE);
	ck_assert(safe_read_file(str_c(&logpath), &log, 1 << 20));
	full = log.len;
	for (size_t cut = 0; cut <= full; cut++) {
		int fd;

		fd = open(str_c(&logpath), O_WRONLY | O_TRUNC);
		ck_assert_int_ge(fd, 0);
		ck_assert(safe_write_all(fd, log.data, cut));
		close(fd);
		f = open_folder(md);
		ck_assert_str_eq(vanished(f, 0, &out), "1,3");
		ck_assert_str_eq(vanished(f, after_first, &out), "3");
		ck_assert(store_lookup(f, 3, NULL) == NULL);
		store_folder_free(&f);
		fd = open(str_c(&logpath), O_WRONLY | O_TRUNC | O_CREAT,
			  0600);
		ck_assert(safe_write_all(fd, log.data, full));
		close(fd);
	}
	str_release(&log);
	str_release(&logpath);
	str_release(&out);
	str_release(&error);
}
END_TEST

/* STORE UNCHANGEDSINCE: refused for a message changed since. */
START_TEST(flags_unchanged_since)
{
	struct store_folder *f;
	struct str error = STR_INIT;
	uint64_t ms;

	deliver(md, "m\n", 0);
	f = open_folder(md);
	ms = f->msgs[0].modseq;
	ck_assert_int_eq(store_change_flags_unchanged(f, 1, STORE_FLAGS_ADD,
						      STORE_F_SEEN, 0, ms,
						      &error), 1);
	ck_assert_uint_gt(f->msgs[0].modseq, ms);
	ck_assert_int_eq(store_change_flags_unchanged(f, 1, STORE_FLAGS_ADD,
						      STORE_F_FLAGGED, 0, ms,
						      &error), 2);
	ck_assert_uint_eq(f->msgs[0].flags, STORE_F_SEEN);
	ck_assert_int_eq(store_change_flags_unchanged(f, 2, STORE_FLAGS_ADD,
						      STORE_F_FLAGGED, 0, ms,
						      &error), 0);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

START_TEST(folder_names)
{
	struct str dir = STR_INIT;

	ck_assert(store_folder_path("/m", NULL, &dir));
	ck_assert_str_eq(str_c(&dir), "/m");
	ck_assert(store_folder_path("/m", "inbox", &dir));
	ck_assert_str_eq(str_c(&dir), "/m");
	ck_assert(store_folder_path("/m", "Sent", &dir));
	ck_assert_str_eq(str_c(&dir), "/m/.Sent");
	ck_assert(store_folder_path("/m", "a.b", &dir));
	ck_assert_str_eq(str_c(&dir), "/m/.a.b");
	ck_assert(!store_folder_path("/m", "..", &dir));
	ck_assert(!store_folder_path("/m", ".hidden", &dir));
	ck_assert(!store_folder_path("/m", "a/b", &dir));
	ck_assert(!store_folder_path("/m", "a..b", &dir));
	ck_assert(!store_folder_path("/m", "a.", &dir));
	ck_assert(!store_folder_path("/m", "a\nb", &dir));
	str_release(&dir);
}
END_TEST

/* Deliver text the way local does: nobody is shown the UID. */
/* A delivery whose UID nobody asks for: with flags 0, local's plain
 * one (the Maildir file only); with flags, indexed but its record not
 * synced. */
static void deliver_unseen(const char *dir, const char *text,
			   uint32_t flags)
{
	struct str error = STR_INIT;
	const char *dsn;

	ck_assert_msg(store_deliver(dir, flags, 0, tu_write_text,
				    (void *)text, 0, NULL, &error,
				    &dsn) == MAILDIR_OK,
		      "deliver: %s", str_c(&error));
	str_release(&error);
}

/* The length correo-index.synced claims for the log (0: none). */
static uint64_t marker_length(const char *dir)
{
	struct str path = STR_INIT, data = STR_INIT;
	struct stat st;
	uint64_t ino = 0, off = 0;

	str_printf(&path, "%s/correo-index.log", dir);
	ck_assert_int_eq(stat(str_c(&path), &st), 0);
	str_clear(&path);
	str_printf(&path, "%s/correo-index.synced", dir);
	if (safe_read_file(str_c(&path), &data, 64) && data.len == 48) {
		for (int i = 7; i >= 0; i--) {
			ino = ino << 8 | (unsigned char)data.data[i];
			off = off << 8 | (unsigned char)data.data[8 + i];
		}
	}
	str_release(&path);
	str_release(&data);
	return ino == (uint64_t)st.st_ino ? off : 0;
}

static uint64_t log_length(const char *dir)
{
	struct str path = STR_INIT;
	struct stat st;

	str_printf(&path, "%s/correo-index.log", dir);
	ck_assert_int_eq(stat(str_c(&path), &st), 0);
	str_release(&path);
	return (uint64_t)st.st_size;
}

/* A delivery nobody is shown leaves its log record unsynced; whoever
 * shows it (an open, a refresh, a delivery that returns the UID) syncs
 * the log first and says so in the marker, so the next one need not. */
START_TEST(log_synced_before_shown)
{
	struct store_folder *f;
	struct str error = STR_INIT;
	uint64_t len;

	f = open_folder(md);
	store_folder_free(&f);
	deliver_unseen(md, "Subject: one\n\nx\n", STORE_F_SEEN);
	len = log_length(md);
	ck_assert_uint_lt(marker_length(md), len);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 1);
	ck_assert_uint_eq(marker_length(md), len);
	ck_assert_uint_eq(f->log_synced, len);

	deliver_unseen(md, "Subject: two\n\nx\n", STORE_F_SEEN);
	ck_assert_uint_lt(marker_length(md), log_length(md));
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, 2);
	ck_assert_uint_eq(marker_length(md), log_length(md));

	/* A delivery that returns its UID syncs the record itself. */
	deliver(md, "Subject: three\n\nx\n", 0);
	ck_assert_uint_eq(marker_length(md), log_length(md));
	/* A flag change is synced as it is written. */
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_int_eq(store_set_flags(f, f->msgs[0].uid, STORE_F_SEEN, 0,
					 &error), 1);
	ck_assert_uint_eq(marker_length(md), log_length(md));
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

/* A file linked into new/ in the same clock tick as the mtime the index
 * recorded is invisible to the mtimes; after a crash that lost its
 * record only a scan finds it. The first open after a boot scans. */
START_TEST(first_open_after_boot_scans)
{
	struct store_folder *f;
	struct str path = STR_INIT;
	struct stat st;
	struct timespec ts[2];

	deliver_unseen(md, "Subject: one\n\nx\n", 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 1);
	store_folder_free(&f);
	/* The lost record: a file in new/, the directory's mtime as the
	 * index recorded it. */
	str_printf(&path, "%s/new", md);
	ck_assert_int_eq(stat(str_c(&path), &st), 0);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	str_append(&path, "/1700000000.M1P1.host,S=17");
	ck_assert(safe_write_file(str_c(&path), "Subject: two\n\nx\n", 17,
				  0600));
	str_truncate(&path, path.len - strlen("/1700000000.M1P1.host,S=17"));
	ck_assert_int_eq(utimensat(AT_FDCWD, str_c(&path), ts, 0), 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 1);		/* the mtimes say clean */
	store_folder_free(&f);
	/* Another boot: the marker is not of this one. */
	str_clear(&path);
	str_printf(&path, "%s/correo-index.synced", md);
	ck_assert_int_eq(unlink(str_c(&path)), 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 2);
	store_folder_free(&f);
	/* Once per boot: the marker is back. */
	ck_assert_uint_eq(marker_length(md), log_length(md));
	str_release(&path);
}
END_TEST

/* The mtime of md's sub/ (sub "new" or "cur"), and setting it back. */
static struct timespec dir_mtime(const char *sub)
{
	struct stat st;

	ck_assert_int_eq(stat(tu_path(md, sub), &st), 0);
	return st.st_mtim;
}

static void set_dir_mtime(const char *sub, struct timespec mtime)
{
	struct timespec ts[2] = { mtime, mtime };

	ck_assert_int_eq(utimensat(AT_FDCWD, tu_path(md, sub), ts, 0), 0);
}

/* A plain delivery (local's) writes the Maildir file and nothing of the
 * index; the first reader gives the messages their UIDs in delivery
 * order, and a reader that is open finds the next ones. */
START_TEST(plain_delivery_indexed_by_reader)
{
	struct store_folder *f;
	struct str error = STR_INIT, value = STR_INIT;

	store_mtime_settle_ns = STORE_MTIME_SETTLE_NS;
	deliver(md, "Subject: zero\n\nx\n", 0);	/* the index exists */
	store_index_peek_forget();
	deliver_unseen(md, "Subject: one\n\nx\n", 0);
	deliver_unseen(md, "Subject: two\n\nx\n", 0);
	/* No record: the log holds the first delivery's only. */
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 3);
	for (uint32_t i = 0; i < 3; i++)
		ck_assert_uint_eq(f->msgs[i].uid, i + 1);
	/* Delivery order; the cache entry computed when asked. */
	ck_assert_int_eq(store_cache_header(f, 2, "Subject", &value), 1);
	ck_assert_str_eq(str_c(&value), " one");
	str_clear(&value);
	ck_assert_int_eq(store_cache_header(f, 3, "Subject", &value), 1);
	ck_assert_str_eq(str_c(&value), " two");
	str_release(&value);
	deliver_unseen(md, "Subject: three\n\nx\n", 0);
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, 4);
	ck_assert_uint_eq(f->msgs[3].uid, 4);
	ck_assert_uint_eq(f->uidnext, 5);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

/* A delivery within the same clock tick as the scan before it leaves
 * new/'s mtime as the scan saw it: an mtime that has not settled is not
 * recorded, so the next reader scans new/ again and finds the file. */
START_TEST(same_tick_delivery_found)
{
	struct store_folder *f;
	struct str error = STR_INIT;
	struct timespec seen;
	uint64_t len;

	store_mtime_settle_ns = STORE_MTIME_SETTLE_NS;
	deliver_unseen(md, "Subject: one\n\nx\n", 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 1);
	ck_assert_int_eq(f->new_mtime_ns, STORE_MTIME_UNSET);
	/* Not clean, but a scan that finds nothing new writes nothing (a
	 * write would wake every idling session, whose scans would write
	 * again). */
	len = log_length(md);
	ck_assert(!store_dirs_clean(f));
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(log_length(md), len);
	seen = dir_mtime("new");
	deliver_unseen(md, "Subject: two\n\nx\n", 0);
	set_dir_mtime("new", seen);		/* the same tick */
	ck_assert(!store_dirs_clean(f));
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, 2);
	store_folder_free(&f);
	/* Settled (ten seconds old): recorded, and the folder is clean
	 * until the next change. */
	seen.tv_sec -= 10;
	set_dir_mtime("new", seen);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 2);
	ck_assert(f->new_mtime_ns != STORE_MTIME_UNSET);
	ck_assert(store_dirs_clean(f));
	deliver_unseen(md, "Subject: three\n\nx\n", 0);
	ck_assert(!store_dirs_clean(f));
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, 3);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

/* When only new/ changed, a scan reads new/ alone: cur/ (where a big
 * folder's messages are) is not listed again. A file dropped into cur/
 * behind its mtime's back is therefore not seen, while the deliveries
 * and a removal in new/ are. */
START_TEST(scan_of_new_only)
{
	struct store_folder *f;
	struct str error = STR_INIT, gone = STR_INIT;
	struct timespec cur;
	const char *hidden;

	deliver(md, "Subject: a\n\nx\n", STORE_F_SEEN);	/* cur/ */
	deliver(md, "Subject: b\n\nx\n", STORE_F_SEEN);
	deliver_unseen(md, "Subject: c\n\nx\n", 0);		/* new/ */
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 3);
	ck_assert(f->msgs[2].in_new);
	cur = dir_mtime("cur");
	hidden = tu_path(md, "cur/1700000000.M1P1.host:2,S");
	ck_assert(safe_write_file(hidden, "Subject: d\n\nx\n", 15, 0600));
	set_dir_mtime("cur", cur);
	deliver_unseen(md, "Subject: e\n\nx\n", 0);
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, 4);
	ck_assert_uint_eq(f->msgs[3].uid, 4);
	ck_assert(f->msgs[3].in_new);
	/* The message in new/ removed by another program: expunged. */
	str_printf(&gone, "%s/new/%s", md, store_msg_name(f, &f->msgs[2]));
	ck_assert_int_eq(unlink(str_c(&gone)), 0);
	str_release(&gone);
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, 3);
	ck_assert_uint_eq(f->msgs[2].uid, 4);
	store_folder_free(&f);
	/* A change of cur/ makes the next scan read both. */
	ck_assert_int_eq(unlink(hidden), 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 3);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, record_round_trip);
	tcase_add_test(tc, deliver_assigns_uids);
	tcase_add_test(tc, sessions_see_each_other);
	tcase_add_test(tc, foreign_changes_found);
	tcase_add_test(tc, scan_order);
	tcase_add_test(tc, scan_date_lazy);
	tcase_add_test(tc, claim_recent_once);
	tcase_add_test(tc, compaction_keeps_state);
	tcase_add_test(tc, log_truncated_everywhere);
	tcase_add_test(tc, lost_index_rebuilt);
	tcase_add_test(tc, uidlist_migrated);
	tcase_add_test(tc, concurrent_deliveries);
	tcase_add_test(tc, folder_names);
	tcase_add_test(tc, vanished_survives_compaction);
	tcase_add_test(tc, vanished_bounded);
	tcase_add_test(tc, vanished_torn_log);
	tcase_add_test(tc, flags_unchanged_since);
	tcase_add_test(tc, peek_reads_tail);
	tcase_add_test(tc, peek_picture_follows_folder);
	tcase_add_test(tc, peek_pictures_of_many_folders);
	tcase_add_test(tc, peek_lock_follows_folder);
	tcase_add_test(tc, log_synced_before_shown);
	tcase_add_test(tc, first_open_after_boot_scans);
	tcase_add_test(tc, plain_delivery_indexed_by_reader);
	tcase_add_test(tc, same_tick_delivery_found);
	tcase_add_test(tc, scan_of_new_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_suite());
}
