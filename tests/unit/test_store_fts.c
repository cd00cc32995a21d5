/*
 * Unit tests for the full-text index (store/store_fts.c) and the search
 * texts it shares with imapd (common/mail/mime_text.c): normalization
 * and needle rules; extraction (QP soft breaks, base64, ISO-8859-1, RFC
 * 2047, iconv charsets and the size cap make a message inexact); over
 * the MIME corpus, every verdict the index gives equals the matcher's
 * own case-insensitive substring test on the same texts, for needles
 * cut from the texts in both cases; catch-up after drops; a damaged,
 * truncated, foreign, symlinked or inconsistent index, or one of
 * another UIDVALIDITY, is started anew and never answers wrongly.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "mime.h"
#include "safe_file.h"
#include "store.h"
#include "store_fts.h"
#include "str.h"
#include "test_util.h"

static char tmpdir[64];
static const char *md;

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_store_fts");
	md = mem_strdup(tu_path(tmpdir, "Maildir"));
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
	free((char *)md);
}

static void norm(const char *in, size_t len, const char *want)
{
	struct str out = STR_INIT;

	store_fts_normalize(in, len, &out);
	ck_assert_msg(out.len == strlen(want) &&
		      memcmp(str_c(&out), want, out.len) == 0,
		      "normalize %zu bytes: got %s", len, str_c(&out));
	str_release(&out);
}

START_TEST(normalize)
{
	norm("Hello WORLD", 11, "HELLO WORLD");
	/* i;unicode-casemap: titlecase, then NFKD (E and U+0301). */
	norm("Caf\xc3\x89 \xc3\xa9", 8, "CAFE\xcc\x81 E\xcc\x81");
	norm("M\xc3\xbcller", 7, "MU\xcc\x88LLER");
	norm("\xd0\xb6\xd1\x83\xd0\xba", 6, "\xd0\x96\xd0\xa3\xd0\x9a");
	/* Invalid bytes, one U+FFFD each; NUL too. */
	norm("a\xff" "b", 3, "A\xef\xbf\xbd" "B");
	norm("a\0B", 3, "A\xef\xbf\xbd" "B");
	norm("\xc3", 1, "\xef\xbf\xbd");
	/* A lead byte before ASCII does not swallow it. */
	norm("\xe2" "ab", 3, "\xef\xbf\xbd" "AB");
	/* Overlong and surrogate forms are not UTF-8. */
	norm("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	norm("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(usable)
{
	ck_assert_int_eq(store_fts_usable(""), STORE_FTS_SCAN);
	ck_assert_int_eq(store_fts_usable("a"), STORE_FTS_SCAN);
	ck_assert_int_eq(store_fts_usable("ab"), STORE_FTS_SCAN);
	ck_assert_int_eq(store_fts_usable("abc"), STORE_FTS_EXACT);
	ck_assert_int_eq(store_fts_usable("\xc3\xa9\xc3\xa9"), STORE_FTS_SCAN);
	ck_assert_int_eq(store_fts_usable("\xc3\xa9\xc3\xa9x"),
			 STORE_FTS_EXACT);
	ck_assert_int_eq(store_fts_usable("ab\xff"), STORE_FTS_SCAN);
	ck_assert_int_eq(store_fts_usable("ab\xef\xbf\xbd"), STORE_FTS_SCAN);
	/* The trigram tokenizer makes U+FFFE and U+FFFF U+FFFD. */
	ck_assert_int_eq(store_fts_usable("z\xef\xbf\xbe" "a"), STORE_FTS_SCAN);
	ck_assert_int_eq(store_fts_usable("q\xef\xbf\xbfr"), STORE_FTS_SCAN);
	ck_assert_int_eq(store_fts_usable("q\xef\xbf\xbcr"), STORE_FTS_EXACT);
	ck_assert_int_eq(store_fts_usable("a \"b\" c"), STORE_FTS_EXACT);
}
END_TEST

/* Whether the index's text hay holds needle as the index keeps it. */
static bool contains(const struct str *hay, const char *needle)
{
	struct str n = STR_INIT;
	bool found;

	store_fts_normalize(needle, strlen(needle), &n);
	found = memmem(hay->data, hay->len, n.data, n.len) != NULL;
	str_release(&n);
	return found;
}

static const char MULTI[] =
	"From: Ann Lee <ann@example.org>\n"
	"Subject: =?iso-8859-1?q?J=F6rg_says?= hello\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"xx\"\n\n"
	"--xx\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n\n"
	"caf=E9 zanzi=\nbarite SPLIT\n"
	"--xx\n"
	"Content-Type: application/octet-stream\n"
	"Content-Transfer-Encoding: base64\n\n"
	"c2VjcmV0IHdvcmQ=\n"
	"--xx--\n";

START_TEST(extract)
{
	struct store_fts_doc doc = STORE_FTS_DOC_INIT;
	struct str big = STR_INIT;

	store_fts_extract(MULTI, strlen(MULTI), &doc);
	ck_assert(doc.exact);
	ck_assert(contains(&doc.hdr, "j\xc3\xb6rg says hello"));
	ck_assert(contains(&doc.hdr, "ann lee <ann@example.org>, "));
	ck_assert(contains(&doc.body, "caf\xc3\xa9 zanzibarite split"));
	ck_assert(contains(&doc.body, "secret word"));
	/* Texts are apart: nothing runs from one into the next. */
	ck_assert(!contains(&doc.body, "split\r\nsecret"));
	ck_assert(contains(&doc.body, "\xef\xbf\xbd" "secret"));

	/* A charset only iconv knows: the index cannot vouch for it. */
	static const char koi8[] = "Content-Type: text/plain; "
				   "charset=koi8-r\n\n"
				   "\xf0\xd2\xc9\xd7\xc5\xd4\n";

	store_fts_extract(koi8, sizeof(koi8) - 1, &doc);
	ck_assert(!doc.exact);

	/* Cut at the limit. */
	str_append(&big, "Subject: big\n\n");
	while (big.len <= STORE_FTS_MAX_TEXT + 10)
		str_append(&big, "lorem ipsum dolor sit amet\n");
	store_fts_extract(str_c(&big), big.len, &doc);
	ck_assert(!doc.exact);
	ck_assert_uint_le(doc.hdr.len + doc.body.len,
			  STORE_FTS_MAX_TEXT + 16);
	store_fts_doc_release(&doc);
	str_release(&big);
}
END_TEST

/* ---- the index against the matcher ---- */

struct match_ctx {
	const char *needle;
};

/* imapd_contains: substring under i;unicode-casemap. */
static bool match_fn(void *ctx, const char *text, size_t len)
{
	const char *needle = ((struct match_ctx *)ctx)->needle;
	struct str h = STR_INIT, n = STR_INIT;
	bool found;

	mime_casemap(needle, strlen(needle), &n);
	mime_casemap(text, len, &h);
	found = memmem(h.data == NULL ? "" : h.data, h.len, n.data,
		       n.len) != NULL;
	str_release(&h);
	str_release(&n);
	return found;
}

static bool matcher(const char *data, size_t len, enum store_fts_col col,
		    const char *needle)
{
	struct mime_message *msg = mime_parse(data, len, NULL);
	struct match_ctx c = { needle };
	bool found = false;

	if (col != STORE_FTS_BODY)
		found = mime_text_header(msg, msg->root, NULL, match_fn, &c);
	if (!found && col != STORE_FTS_HEADER)
		found = mime_text_body(msg, msg->root, match_fn, &c);
	mime_message_free(&msg);
	return found;
}

static bool write_data(int fd, void *ctx)
{
	const struct str *t = ctx;

	return safe_write_all(fd, t->data, t->len);
}

static uint32_t deliver(const char *dir, const struct str *text)
{
	struct str error = STR_INIT;
	const char *dsn;
	uint32_t uid = 0;

	ck_assert_msg(store_deliver(dir, 0, 0, write_data, (void *)text, 0,
				    &uid, &error, &dsn) == MAILDIR_OK,
		      "deliver: %s", str_c(&error));
	str_release(&error);
	return uid;
}

static struct store_folder *open_folder(void)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(md, true, &error);

	ck_assert_msg(f != NULL, "open: %s", str_c(&error));
	str_release(&error);
	return f;
}

static struct store_fts *open_fts(struct store_folder *f, bool catch_up)
{
	struct str error = STR_INIT;
	struct store_fts *fts = store_fts_open(md, f->uidvalidity, 1000, true,
					       &error);
	uint32_t *uids = calloc(f->count + 1, sizeof(*uids));

	ck_assert_msg(fts != NULL, "fts open: %s", str_c(&error));
	for (size_t i = 0; i < f->count; i++)
		uids[i] = f->msgs[i].uid;
	if (catch_up)
		ck_assert_msg(store_fts_catch_up(fts, f, uids, f->count,
						 &error) >= 0,
			      "catch-up: %s", str_c(&error));
	free(uids);
	str_release(&error);
	return fts;
}

/* Check every verdict on needle against the matcher run on the files;
 * returns how many were decided by the index alone. */
static size_t check_needle(struct store_fts *fts, struct store_folder *f,
			   struct str *files, const char *needle)
{
	static const enum store_fts_col cols[] = { STORE_FTS_HEADER,
						   STORE_FTS_BODY,
						   STORE_FTS_TEXT };
	uint8_t *v = calloc(f->count + 1, 1);
	uint32_t *uids = calloc(f->count + 1, sizeof(*uids));
	struct str error = STR_INIT;
	size_t decided = 0;

	for (size_t i = 0; i < f->count; i++)
		uids[i] = f->msgs[i].uid;
	for (size_t c = 0; c < 3; c++) {
		ck_assert_msg(store_fts_search(fts, cols[c], needle, uids,
					       f->count, v, &error) == 0,
			      "search: %s", str_c(&error));
		for (size_t i = 0; i < f->count; i++) {
			bool want = matcher(files[i].data, files[i].len,
					    cols[c], needle);

			if (v[i] == STORE_FTS_MAYBE)
				continue;
			decided++;
			ck_assert_msg((v[i] == STORE_FTS_YES) == want,
				      "uid %u col %zu needle '%s': index %d "
				      "matcher %d", uids[i], c, needle, v[i],
				      want);
		}
	}
	free(v);
	free(uids);
	str_release(&error);
	return decided;
}

/* Deliver the MIME corpus (and MULTI); its files in UID order. */
static struct str *deliver_corpus(size_t *n_r)
{
	DIR *d = opendir(MIME_TEST_DATA);
	struct dirent *e;
	struct str *files = NULL;
	size_t n = 0;

	ck_assert(d != NULL);
	while ((e = readdir(d)) != NULL) {
		const char *dot = strrchr(e->d_name, '.');
		struct str data = STR_INIT;

		if (dot == NULL || strcmp(dot, ".eml") != 0)
			continue;
		ck_assert(safe_read_file(tu_path(MIME_TEST_DATA, e->d_name),
					 &data, 1 << 24));
		files = realloc(files, (n + 1) * sizeof(*files));
		files[n++] = data;
		(void)deliver(md, &data);
	}
	closedir(d);
	files = realloc(files, (n + 1) * sizeof(*files));
	files[n] = (struct str)STR_INIT;
	str_append(&files[n], MULTI);
	(void)deliver(md, &files[n++]);
	*n_r = n;
	return files;
}

static void free_corpus(struct str *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		str_release(&files[i]);
	free(files);
}

START_TEST(corpus_verdicts_equal_matcher)
{
	struct store_fts_doc doc = STORE_FTS_DOC_INIT;
	struct store_folder *f;
	struct store_fts *fts;
	struct str *files, needle = STR_INIT;
	size_t n, decided = 0, tried = 0;
	unsigned seed = 7;

	files = deliver_corpus(&n);
	f = open_folder();
	ck_assert_uint_eq(f->count, n);
	fts = open_fts(f, true);
	/* Needles cut from each message's own texts, in a random case
	 * mix, and a few that are nowhere. */
	for (size_t i = 0; i < n; i++) {
		store_fts_extract(files[i].data, files[i].len, &doc);
		for (int k = 0; k < 12; k++) {
			const struct str *t = k % 2 ? &doc.body : &doc.hdr;
			size_t len = 3 + (size_t)(rand_r(&seed) % 10), at;

			if (t->len <= len)
				continue;
			at = (size_t)rand_r(&seed) % (t->len - len);
			str_clear(&needle);
			for (size_t j = 0; j < len; j++) {
				char ch = t->data[at + j];

				/* The texts are case-mapped (upper). */
				if (rand_r(&seed) % 2 && ch >= 'A' && ch <= 'Z')
					ch = (char)(ch - 'A' + 'a');
				str_append_c(&needle, ch);
			}
			if (store_fts_usable(str_c(&needle)) != STORE_FTS_EXACT)
				continue;
			decided += check_needle(fts, f, files,
						str_c(&needle));
			tried++;
		}
	}
	decided += check_needle(fts, f, files, "nowhere-at-all");
	decided += check_needle(fts, f, files, "ZANZIBARITE SPLIT");
	decided += check_needle(fts, f, files, "caf\xc3\xa9 z");
	decided += check_needle(fts, f, files, "\"quoted\" words");
	ck_assert_uint_gt(tried, n * 3);
	/* The index really answered (most messages are exact). */
	ck_assert_uint_gt(decided, tried * n);
	store_fts_close(&fts);
	store_folder_free(&f);
	store_fts_doc_release(&doc);
	str_release(&needle);
	free_corpus(files, n);
}
END_TEST

static void verdicts(struct store_fts *fts, struct store_folder *f,
		     const char *needle, uint8_t *v)
{
	struct str error = STR_INIT;
	uint32_t uids[64];

	ck_assert_uint_le(f->count, 64);
	for (size_t i = 0; i < f->count; i++)
		uids[i] = f->msgs[i].uid;
	ck_assert_msg(store_fts_search(fts, STORE_FTS_BODY, needle, uids,
				       f->count, v, &error) == 0,
		      "search: %s", str_c(&error));
	str_release(&error);
}

static void deliver_words(size_t n)
{
	struct str text = STR_INIT;

	for (size_t i = 0; i < n; i++) {
		str_clear(&text);
		str_printf(&text, "Subject: m%zu\n\nword%zu common\n", i, i);
		(void)deliver(md, &text);
	}
	str_release(&text);
}

START_TEST(catch_up_takes_drops)
{
	struct store_folder *f;
	struct store_fts *fts;
	struct str error = STR_INIT;
	uint8_t v[64];
	uint32_t uids[64];

	deliver_words(5);
	f = open_folder();
	fts = open_fts(f, true);
	verdicts(fts, f, "word3", v);
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(v[i], i == 3 ? STORE_FTS_YES : STORE_FTS_NO);
	store_fts_close(&fts);
	/* Another program's file; the handle's catch-up finds it. */
	tu_write_file(tu_path(md, "new/1700000000.drop.host"),
		      "Subject: dropped\n\nword9 common\n", 0600);
	ck_assert(store_folder_refresh(f, &error));
	ck_assert_uint_eq(f->count, 6);
	fts = open_fts(f, false);
	verdicts(fts, f, "word9", v);
	ck_assert_int_eq(v[5], STORE_FTS_MAYBE);	/* not held yet */
	for (size_t i = 0; i < f->count; i++)
		uids[i] = f->msgs[i].uid;
	ck_assert_int_eq(store_fts_catch_up(fts, f, uids, f->count, &error),
			 1);
	ck_assert_int_eq(store_fts_catch_up(fts, f, uids, f->count, &error),
			 0);
	verdicts(fts, f, "WORD9", v);
	ck_assert_int_eq(v[5], STORE_FTS_YES);
	ck_assert_int_eq(v[0], STORE_FTS_NO);
	store_fts_close(&fts);
	store_folder_free(&f);
	str_release(&error);
}
END_TEST

/* After damage done by fn, the index opens (anew if need be) and,
 * caught up, answers as before. */
static void damaged(void (*fn)(const char *path))
{
	struct store_folder *f;
	struct store_fts *fts;
	uint8_t v[64];

	deliver_words(20);
	f = open_folder();
	fts = open_fts(f, true);
	store_fts_close(&fts);
	fn(tu_path(md, STORE_FTS_FILE));
	fts = open_fts(f, true);
	verdicts(fts, f, "word13", v);
	for (size_t i = 0; i < f->count; i++)
		ck_assert_int_eq(v[i], i == 13 ? STORE_FTS_YES : STORE_FTS_NO);
	verdicts(fts, f, "COMMON", v);
	for (size_t i = 0; i < f->count; i++)
		ck_assert_int_eq(v[i], STORE_FTS_YES);
	store_fts_close(&fts);
	store_folder_free(&f);
}

static void garble(const char *path)
{
	int fd = open(path, O_WRONLY);
	struct stat st;

	ck_assert(fd >= 0 && fstat(fd, &st) == 0);
	for (off_t off = 0; off < st.st_size; off += 1024)
		ck_assert(pwrite(fd, "\xde\xad\xbe\xef garbage", 12, off) == 12);
	close(fd);
}

static void truncate_half(const char *path)
{
	struct stat st;

	ck_assert(stat(path, &st) == 0);
	ck_assert(truncate(path, st.st_size / 2) == 0);
}

static void foreign(const char *path)
{
	tu_write_file(path, "not a database at all\n", 0600);
}

static void empty(const char *path)
{
	ck_assert(truncate(path, 0) == 0);
}

static void sql(const char *path, const char *text)
{
	sqlite3 *db;

	ck_assert(sqlite3_open(path, &db) == SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, text, NULL, NULL, NULL) == SQLITE_OK,
		      "%s: %s", text, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Rows of one table lost (done rows without text, or text rows without
 * done: the first would make the index answer NO for a message it
 * lacks): the counts differ. */
static void inconsistent(const char *path)
{
	sql(path, "INSERT INTO text(text) VALUES('delete-all')");
}

/* The index of a former UIDVALIDITY: its UIDs name other messages. */
static void other_validity(const char *path)
{
	sql(path, "UPDATE meta SET v = v + 1 WHERE k = 'uidvalidity'");
}

/* A format to come (or gone). */
static void other_version(const char *path)
{
	sql(path, "UPDATE meta SET v = 99 WHERE k = 'version'");
}

START_TEST(damage_garbled) { damaged(garble); } END_TEST
START_TEST(damage_truncated) { damaged(truncate_half); } END_TEST
START_TEST(damage_foreign) { damaged(foreign); } END_TEST
START_TEST(damage_empty) { damaged(empty); } END_TEST
START_TEST(damage_inconsistent) { damaged(inconsistent); } END_TEST
START_TEST(other_uidvalidity) { damaged(other_validity); } END_TEST
START_TEST(other_format) { damaged(other_version); } END_TEST

START_TEST(symlink_not_followed)
{
	const char *target = mem_strdup(tu_path(tmpdir, "victim"));
	struct store_folder *f;
	struct store_fts *fts;
	struct str data = STR_INIT;
	struct stat st;
	uint8_t v[64];

	deliver_words(3);
	f = open_folder();
	tu_write_file(target, "precious\n", 0600);
	ck_assert(symlink(target, tu_path(md, STORE_FTS_FILE)) == 0);
	fts = open_fts(f, true);
	verdicts(fts, f, "word1", v);
	ck_assert_int_eq(v[1], STORE_FTS_YES);
	store_fts_close(&fts);
	ck_assert(safe_read_file(target, &data, 1024));
	ck_assert_str_eq(str_c(&data), "precious\n");
	ck_assert(lstat(tu_path(md, STORE_FTS_FILE), &st) == 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	store_folder_free(&f);
	str_release(&data);
	free((char *)target);
}
END_TEST

static bool note_progress(void *ctx, size_t done, size_t total)
{
	size_t *calls = ctx;

	ck_assert_uint_eq(done, 5000 * (calls[0] + 1));
	calls[0]++;
	calls[1] = total;
	return calls[2] == 0;	/* calls[2]: stop at the first report */
}

/* A catch-up of more than one transaction reports between them, and
 * stops where the report says so. */
START_TEST(progress_between_batches)
{
	struct store_folder *f;
	struct store_fts *fts;
	struct str error = STR_INIT, name = STR_INIT;
	size_t calls[3] = { 0, 0, 0 };
	uint32_t *uids;
	uint8_t *v;

	deliver_words(1);	/* makes the Maildir */
	for (int i = 0; i < 5004; i++) {
		str_clear(&name);
		str_printf(&name, "cur/17000%05d.M%dP1.host:2,S", i, i);
		/* Plain writes: thousands of fsyncs are not the point. */
		FILE *fp = fopen(tu_path(md, str_c(&name)), "w");

		ck_assert(fp != NULL);
		fputs(i == 4321 ? "Subject: x\n\nneedle4321\n" :
				  "Subject: y\n\nhay\n", fp);
		ck_assert(fclose(fp) == 0);
	}
	f = open_folder();
	ck_assert_uint_eq(f->count, 5005);
	fts = store_fts_open(md, f->uidvalidity, 1000, true, &error);
	ck_assert(fts != NULL);
	store_fts_set_progress(fts, note_progress, calls);
	uids = calloc(f->count, sizeof(*uids));
	for (size_t i = 0; i < f->count; i++)
		uids[i] = f->msgs[i].uid;
	/* Stopped at its first report: one transaction's worth is kept,
	 * the rest is not held (MAYBE: read by the matcher). */
	calls[2] = 1;
	ck_assert_int_eq(store_fts_catch_up(fts, f, uids, f->count, &error),
			 5000);
	ck_assert_uint_eq(calls[0], 1);
	ck_assert_uint_eq(calls[1], 5005);
	v = calloc(f->count, 1);
	ck_assert_int_eq(store_fts_search(fts, STORE_FTS_BODY, "hay", uids,
					  f->count, v, &error), 0);
	{
		size_t maybe = 0;

		for (size_t i = 0; i < f->count; i++)
			maybe += v[i] == STORE_FTS_MAYBE;
		ck_assert_uint_eq(maybe, 5);
	}
	/* The next one takes the rest, in one transaction (no report). */
	calls[0] = calls[1] = calls[2] = 0;
	ck_assert_int_eq(store_fts_catch_up(fts, f, uids, f->count, &error),
			 5);
	ck_assert_uint_eq(calls[0], 0);
	ck_assert_int_eq(store_fts_search(fts, STORE_FTS_BODY, "NEEDLE4321",
					  uids, f->count, v, &error), 0);
	for (size_t i = 0; i < f->count; i++)
		ck_assert_int_eq(v[i], strstr(store_msg_name(f, &f->msgs[i]), "M4321P") ?
				 STORE_FTS_YES : STORE_FTS_NO);
	free(v);
	free(uids);
	store_fts_close(&fts);
	store_folder_free(&f);
	str_release(&error);
	str_release(&name);
}
END_TEST

START_TEST(rebuild_removes)
{
	struct store_folder *f;
	struct store_fts *fts;
	struct str error = STR_INIT;

	deliver_words(2);
	f = open_folder();
	fts = open_fts(f, true);
	store_fts_close(&fts);
	store_folder_free(&f);
	ck_assert(access(tu_path(md, STORE_FTS_FILE), F_OK) == 0);
	ck_assert(store_index_remove(md, &error));
	ck_assert(access(tu_path(md, STORE_FTS_FILE), F_OK) != 0);
	str_release(&error);
}
END_TEST

static Suite *store_fts_suite(void)
{
	Suite *s = suite_create("store_fts");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, normalize);
	tcase_add_test(tc, usable);
	tcase_add_test(tc, extract);
	tcase_add_test(tc, corpus_verdicts_equal_matcher);
	tcase_add_test(tc, catch_up_takes_drops);
	tcase_add_test(tc, damage_garbled);
	tcase_add_test(tc, damage_truncated);
	tcase_add_test(tc, damage_foreign);
	tcase_add_test(tc, damage_empty);
	tcase_add_test(tc, damage_inconsistent);
	tcase_add_test(tc, other_uidvalidity);
	tcase_add_test(tc, other_format);
	tcase_add_test(tc, symlink_not_followed);
	tcase_add_test(tc, progress_between_batches);
	tcase_add_test(tc, rebuild_removes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_fts_suite());
}
