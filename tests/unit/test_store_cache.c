/*
 * Unit tests for the store's message cache (store/store_cache*.c): the
 * values are byte for byte what the MIME renderers give from the
 * message (the MIME corpus, with and without UTF-8), subsets of the
 * cached header fields, the preview; filled at delivery and lazily,
 * served with the message files changed behind its back; a cache file cut at every byte
 * offset or with any byte changed never serves a wrong value;
 * compaction drops expunged UIDs; concurrent appenders; a cache of
 * another UIDVALIDITY is ignored.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mime.h"
#include "safe_file.h"
#include "store.h"
#include "store_int.h"
#include "str.h"
#include "test_util.h"

static char tmpdir[64];
static const char *md;

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_store_cache");
	md = tu_path(tmpdir, "Maildir");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

struct text {
	const char *data;
	size_t len;
};

static bool write_data(int fd, void *ctx)
{
	const struct text *t = ctx;

	return safe_write_all(fd, t->data, t->len);
}

static uint32_t deliver_n(const char *dir, const char *data, size_t len)
{
	struct str error = STR_INIT;
	struct text t = { data, len };
	const char *dsn;
	uint32_t uid = 0;

	ck_assert_msg(store_deliver(dir, 0, 0, write_data, &t, 0, &uid,
				    &error, &dsn) == MAILDIR_OK,
		      "deliver: %s", str_c(&error));
	str_release(&error);
	return uid;
}

/* The same from memory, in two buffers split at half (a CR LF may be
 * split between them). */
static uint32_t deliver_iov(const char *dir, const char *data, size_t len)
{
	struct str error = STR_INIT;
	struct iovec iov[2] = { { (void *)data, len / 2 },
				{ (void *)(data + len / 2), len - len / 2 } };
	const char *dsn;
	uint32_t uid = 0;

	ck_assert_msg(store_deliver_iov(dir, 0, 0, iov, 2, 0, &uid, &error,
					&dsn) == MAILDIR_OK,
		      "deliver: %s", str_c(&error));
	str_release(&error);
	return uid;
}

static uint32_t deliver(const char *dir, const char *text)
{
	return deliver_n(dir, text, strlen(text));
}

static struct store_folder *open_folder(const char *dir)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(dir, true, &error);

	ck_assert_msg(f != NULL, "open: %s", str_c(&error));
	str_release(&error);
	return f;
}

#define MARKER "Subject: from the file\n\nnot the delivered text\n"

/* Overwrite every message file in place (same names, so no rescan)
 * with MARKER: from now on a value from the delivered text can only
 * come from the cache; a value computed again shows MARKER's. */
static void falsify_files(struct store_folder *f)
{
	struct str path = STR_INIT;

	for (size_t i = 0; i < f->count; i++) {
		int fd;

		store_msg_path(f, &f->msgs[i], &path);
		fd = open(str_c(&path), O_WRONLY | O_TRUNC);
		ck_assert_int_ge(fd, 0);
		ck_assert(safe_write_all(fd, MARKER, strlen(MARKER)));
		close(fd);
	}
	str_release(&path);
}

static const char *const header_sets[][4] = {
	{ "FROM", NULL },
	{ "SUBJECT", "DATE", NULL },
	{ "Message-Id", "references", "IN-REPLY-TO", NULL },
	{ "To", "Cc", "Bcc", "Content-Type" },
	{ "X-PRIORITY", "LIST-POST", NULL },
};

/* What imapd renders from the message, directly. */
static void direct(const struct mime_message *msg,
		   enum store_cache_field field, struct str *out)
{
	unsigned flags = (field == STORE_CACHE_ENVELOPE_UTF8 ||
			  field == STORE_CACHE_BODY_UTF8 ||
			  field == STORE_CACHE_BODYSTRUCTURE_UTF8) ?
			 MIME_IMAP_UTF8 : 0;

	str_clear(out);
	switch (field) {
	case STORE_CACHE_ENVELOPE:
	case STORE_CACHE_ENVELOPE_UTF8:
		mime_imap_envelope(msg, msg->root, flags, out);
		break;
	case STORE_CACHE_BODY:
	case STORE_CACHE_BODY_UTF8:
		mime_imap_bodystructure(msg, msg->root, false, flags, out);
		break;
	case STORE_CACHE_BODYSTRUCTURE:
	case STORE_CACHE_BODYSTRUCTURE_UTF8:
		mime_imap_bodystructure(msg, msg->root, true, flags, out);
		break;
	default:
		ck_abort();
	}
}

static void assert_same(const struct str *a, const struct str *b,
			const char *what)
{
	ck_assert_msg(a->len == b->len &&
		      memcmp(str_c(a), str_c(b), a->len) == 0,
		      "%s differs:\n%s\n---\n%s", what, str_c(a), str_c(b));
}

/* Every cached value of uid in f is what the message text gives. */
static void check_message(struct store_folder *f, uint32_t uid,
			  const char *data, size_t len, const char *what)
{
	struct mime_message *msg = mime_parse(data, len, NULL);
	struct str want = STR_INIT, got = STR_INIT;

	for (int field = STORE_CACHE_ENVELOPE;
	     field <= STORE_CACHE_BODYSTRUCTURE_UTF8; field++) {
		direct(msg, (enum store_cache_field)field, &want);
		ck_assert_int_eq(store_cache_get(f, uid,
						 (enum store_cache_field)field,
						 &got), 1);
		assert_same(&got, &want, what);
	}
	for (size_t i = 0; i < sizeof(header_sets) / sizeof(*header_sets);
	     i++) {
		size_t n = 0;

		while (n < 4 && header_sets[i][n] != NULL)
			n++;
		str_clear(&want);
		mime_header_fields(msg, msg->root, header_sets[i], n, false,
				   &want);
		str_clear(&got);
		ck_assert_int_eq(store_cache_header_fields(f, uid,
							   header_sets[i], n,
							   &got), 1);
		assert_same(&got, &want, what);
	}
	{
		const char *names[] = { "Subject", "X-Not-Cached" };

		ck_assert_int_eq(store_cache_header_fields(f, uid, names, 2,
							   &got), -1);
	}
	/* The raw first value. */
	{
		struct mime_header_iter it;
		struct mime_field fld;
		int found = 0;

		str_clear(&want);
		mime_header_iter_init(&it, data, msg->root->header.off,
				      msg->root->body.off);
		while (!found && mime_header_next(&it, &fld))
			if (fld.has_colon && fld.name_len == 7 &&
			    strncasecmp(fld.name, "subject", 7) == 0) {
				str_append_n(&want, fld.value, fld.value_len);
				found = 1;
			}
		ck_assert_int_eq(store_cache_header(f, uid, "SUBJECT", &got),
				 found);
		if (found) {
			/* As written, in the CRLF view. */
			struct str crlf = STR_INIT;

			mime_append_crlf(&crlf, str_c(&want), want.len);
			assert_same(&got, &crlf, what);
			str_release(&crlf);
		}
	}
	mime_message_free(&msg);
	str_release(&want);
	str_release(&got);
}

START_TEST(corpus_matches_renderers)
{
	DIR *d = opendir(MIME_TEST_DATA);
	struct dirent *de;
	struct str text[64], path = STR_INIT;
	char *names[64];
	uint32_t uids[64];
	size_t n = 0;
	struct store_folder *f;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL && n < 64) {
		if (strstr(de->d_name, ".eml") == NULL)
			continue;
		str_clear(&path);
		str_printf(&path, "%s/%s", MIME_TEST_DATA, de->d_name);
		memset(&text[n], 0, sizeof(text[n]));
		ck_assert(safe_read_file(str_c(&path), &text[n], 1 << 20));
		names[n] = strdup(de->d_name);
		/* Every other one from memory: its cache entry too must
		 * match what the renderers make of the text. */
		uids[n] = n % 2 == 0 ?
			deliver_n(md, text[n].data, text[n].len) :
			deliver_iov(md, text[n].data, text[n].len);
		n++;
	}
	closedir(d);
	ck_assert_uint_gt(n, 10);
	f = open_folder(md);
	/* Filled at delivery: served with every message file gone. */
	falsify_files(f);
	for (size_t i = 0; i < n; i++) {
		check_message(f, uids[i], text[i].data, text[i].len,
			      names[i]);
		free(names[i]);
		str_release(&text[i]);
	}
	store_folder_free(&f);
	str_release(&path);
}
END_TEST

static const char eight_bit[] =
	"From: \"J\xc3\xb6rg\" <j@example.org>\n"
	"To: a@example.org,\n b@example.org\n"
	"Subject: =?iso-8859-1?q?caf=E9?= and \xc3\xa9t\xc3\xa9\n"
	"Date: Tue, 1 Dec 2026 10:00:00 +0100\n"
	"Message-ID: <1@example.org>\n"
	"X-Other: not cached\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"Gr\xc3\xbc\xc3\x9f""e,   this\n\n is   the text.\n";

START_TEST(utf8_and_preview)
{
	struct store_folder *f;
	struct str v = STR_INIT, w = STR_INIT;
	uint32_t uid = deliver(md, eight_bit), uid2;

	uid2 = deliver(md, "From: a@b\nContent-Type: multipart/alternative;"
		       " boundary=x\n\n--x\nContent-Type: text/html\n"
		       "Content-Transfer-Encoding: quoted-printable\n\n"
		       "<p>Hello=20<b>there</b></p>\n--x--\n");
	f = open_folder(md);
	check_message(f, uid, eight_bit, strlen(eight_bit), "8-bit");
	/* The UTF-8 renderings differ here, so both are kept. */
	ck_assert_int_eq(store_cache_get(f, uid, STORE_CACHE_ENVELOPE, &v),
			 1);
	ck_assert_int_eq(store_cache_get(f, uid, STORE_CACHE_ENVELOPE_UTF8,
					 &w), 1);
	ck_assert(v.len != w.len || memcmp(v.data, w.data, v.len) != 0);
	ck_assert_int_eq(store_cache_get(f, uid, STORE_CACHE_PREVIEW, &v), 1);
	ck_assert_str_eq(str_c(&v), "Gr\xc3\xbc\xc3\x9f""e, this is the "
			 "text.");
	ck_assert_int_eq(store_cache_get(f, uid2, STORE_CACHE_PREVIEW, &v),
			 1);
	ck_assert_str_eq(str_c(&v), "Hello there");
	ck_assert_int_eq(store_cache_get(f, uid, STORE_CACHE_SAVEDATE, &v),
			 1);
	ck_assert_int_le(labs(atol(str_c(&v)) - (long)time(NULL)), 5);
	ck_assert_int_eq(store_cache_header(f, uid, "x-other", &v), -1);
	ck_assert_int_eq(store_cache_header(f, uid, "cc", &v), 0);
	ck_assert_int_eq(store_cache_header(f, uid, "to", &v), 1);
	ck_assert_str_eq(str_c(&v), " a@example.org,\r\n b@example.org");
	/* An expunged message has no values. */
	str_clear(&w);
	ck_assert_int_eq(store_expunge(f, &uid2, 1, &w), 1);
	ck_assert_int_eq(store_cache_get(f, uid2, STORE_CACHE_PREVIEW, &v),
			 0);
	store_folder_free(&f);
	str_release(&v);
	str_release(&w);
}
END_TEST

START_TEST(lazy_fill)
{
	struct store_folder *f;
	struct str v = STR_INIT, path = STR_INIT;
	uint32_t uid;
	struct stat st;

	deliver(md, "Subject: first\n\nbody\n");
	/* Another program drops a message: no cache entry yet. */
	tu_write_file(tu_path(md, "new/1.2.dropped"),
		      "Subject: dropped\nFrom: x@y\n\nhi\n", 0600);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 2);
	uid = f->msgs[1].uid;
	str_printf(&path, "%s/correo-cache", md);
	ck_assert_int_eq(stat(str_c(&path), &st), 0);
	{
		off_t before = st.st_size;

		ck_assert_int_eq(store_cache_header(f, uid, "Subject", &v), 1);
		ck_assert_str_eq(str_c(&v), " dropped");
		ck_assert_int_eq(stat(str_c(&path), &st), 0);
		ck_assert_int_gt(st.st_size, before);	/* appended */
	}
	store_folder_free(&f);
	/* A new session finds it in the file. */
	f = open_folder(md);
	falsify_files(f);
	ck_assert_int_eq(store_cache_header(f, uid, "Subject", &v), 1);
	ck_assert_str_eq(str_c(&v), " dropped");
	ck_assert_int_eq(store_cache_get(f, uid, STORE_CACHE_SAVEDATE, &v),
			 1);
	store_folder_free(&f);
	str_release(&v);
	str_release(&path);
}
END_TEST

#define NTORN 3
static const char *const torn_msgs[NTORN] = {
	"From: a@example.org\nSubject: one\n\nfirst\n",
	"From: b@example.org\nSubject: two\nContent-Type: multipart/mixed;"
	" boundary=b\n\n--b\n\ntext\n--b\nContent-Type: image/png\n"
	"Content-Transfer-Encoding: base64\n\nAAAA\n--b--\n",
	"From: c@example.org\nSubject: three\n\nthird\n",
};

static bool same(const struct str *a, const struct str *b)
{
	return a->len == b->len && memcmp(str_c(a), str_c(b), a->len) == 0;
}

/* With the message files falsified, every value served is the cached
 * one or MARKER's (computed again), never anything else; uids whose
 * record is intact (want_mask) are served from the cache. */
static void check_served(const uint32_t *uids, const struct str *want,
			 const struct str *marker, unsigned want_mask,
			 const char *what, size_t at)
{
	struct store_folder *f = open_folder(md);
	struct str got = STR_INIT;

	for (int i = 0; i < NTORN; i++) {
		int r = store_cache_get(f, uids[i],
					STORE_CACHE_BODYSTRUCTURE, &got);

		ck_assert_msg(r == 1, "%s at %zu: %d", what, at, r);
		ck_assert_msg(same(&got, &want[i]) || same(&got, marker),
			      "%s at %zu: wrong value served", what, at);
		if (want_mask & (1u << i))
			ck_assert_msg(same(&got, &want[i]),
				      "%s at %zu: uid %u lost", what, at,
				      uids[i]);
	}
	store_folder_free(&f);
	str_release(&got);
}

START_TEST(truncated_and_damaged_everywhere)
{
	struct str cache = STR_INIT, want[NTORN], path = STR_INIT;
	struct str marker = STR_INIT;
	size_t ends[NTORN];
	uint32_t uids[NTORN];
	struct store_folder *f;

	str_printf(&path, "%s/correo-cache", md);
	for (int i = 0; i < NTORN; i++) {
		struct mime_message *msg = mime_parse(torn_msgs[i],
						      strlen(torn_msgs[i]),
						      NULL);

		uids[i] = deliver(md, torn_msgs[i]);
		memset(&want[i], 0, sizeof(want[i]));
		mime_imap_bodystructure(msg, msg->root, true, 0, &want[i]);
		mime_message_free(&msg);
		ck_assert(safe_read_file(str_c(&path), &cache, 1 << 20));
		ends[i] = cache.len;
		str_clear(&cache);
	}
	ck_assert(safe_read_file(str_c(&path), &cache, 1 << 20));
	{
		struct mime_message *msg = mime_parse(MARKER, strlen(MARKER),
						      NULL);

		mime_imap_bodystructure(msg, msg->root, true, 0, &marker);
		mime_message_free(&msg);
	}
	f = open_folder(md);
	falsify_files(f);
	store_folder_free(&f);
	for (size_t len = 0; len <= cache.len; len++) {
		unsigned mask = 0;

		{
			int fd = open(str_c(&path), O_WRONLY | O_TRUNC);

			ck_assert(safe_write_all(fd, cache.data, len));
			close(fd);
		}
		for (int i = 0; i < NTORN; i++)
			if (ends[i] <= len)
				mask |= 1u << i;
		check_served(uids, want, &marker, mask, "cut", len);
	}
	/* Any one byte changed: a record may be lost, never wrong, and
	 * the records after a damaged one are still found. */
	for (size_t at = 0; at < cache.len; at++) {
		unsigned mask = 0;
		int fd;

		cache.data[at] ^= 0x5a;
		fd = open(str_c(&path), O_WRONLY | O_TRUNC);
		ck_assert(safe_write_all(fd, cache.data, cache.len));
		close(fd);
		cache.data[at] ^= 0x5a;
		/* All but the damaged record (none: the file header). */
		for (int i = 0; i < NTORN; i++)
			if (at >= 32 && (at < (i == 0 ? 32 : ends[i - 1]) ||
					 at >= ends[i]))
				mask |= 1u << i;
		check_served(uids, want, &marker, mask, "flip", at);
	}
	for (int i = 0; i < NTORN; i++)
		str_release(&want[i]);
	str_release(&marker);
	str_release(&cache);
	str_release(&path);
}
END_TEST

START_TEST(compaction_drops_expunged)
{
	struct store_folder *f;
	struct str v = STR_INIT, path = STR_INIT, body = STR_INIT;
	uint32_t uids[20], gone[15];
	struct stat st1, st2;

	/* Big enough entries that dropping them is worth a rewrite. */
	for (int i = 0; i < 4000; i++)
		str_append(&body, "To: someone.with.a.long.name@example.org\n");
	for (int i = 0; i < 20; i++) {
		str_clear(&v);
		str_printf(&v, "Subject: %d\n%s\ntext\n", i, str_c(&body));
		uids[i] = deliver(md, str_c(&v));
	}
	str_printf(&path, "%s/correo-cache", md);
	ck_assert_int_eq(stat(str_c(&path), &st1), 0);
	f = open_folder(md);
	ck_assert_int_eq(store_cache_get(f, uids[0], STORE_CACHE_ENVELOPE,
					 &v), 1);	/* cache loaded */
	for (int i = 0; i < 15; i++)
		gone[i] = uids[i];
	str_clear(&v);
	ck_assert_int_eq(store_expunge(f, gone, 15, &v), 15);
	/* store_expunge compacted: a new, smaller file. */
	ck_assert_int_eq(stat(str_c(&path), &st2), 0);
	ck_assert(st2.st_ino != st1.st_ino);
	ck_assert_int_lt(st2.st_size, st1.st_size / 3);
	falsify_files(f);
	for (int i = 15; i < 20; i++) {
		ck_assert_int_eq(store_cache_header(f, uids[i], "subject",
						    &v), 1);
		ck_assert_int_eq(atoi(str_c(&v)), i);
	}
	/* A new uid delivered after the view was taken survives a
	 * compaction by the old view. */
	{
		uint32_t late = deliver(md, "Subject: late\n\nx\n");
		struct store_folder *g;

		ck_assert(store_cache_compact(f, true));
		g = open_folder(md);
		falsify_files(g);
		ck_assert_int_eq(store_cache_header(g, late, "subject", &v),
				 1);
		ck_assert_str_eq(str_c(&v), " late");
		store_folder_free(&g);
	}
	store_folder_free(&f);
	str_release(&v);
	str_release(&path);
	str_release(&body);
}
END_TEST

static int appender(void *arg)
{
	int id = (int)(long)arg;
	struct str text = STR_INIT;

	for (int i = 0; i < 25; i++) {
		str_clear(&text);
		str_printf(&text, "Subject: %d-%d\nFrom: w%d@example.org\n\n"
			   "body %d\n", id, i, id, i);
		if (deliver(md, str_c(&text)) == 0)
			return 1;
	}
	str_release(&text);
	return 0;
}

static int lazy_filler(void *arg)
{
	struct str error = STR_INIT, v = STR_INIT;
	struct store_folder *f = store_folder_open(md, false, &error);

	(void)arg;
	if (f == NULL)
		return 1;
	for (size_t i = 0; i < f->count; i++)
		if (store_cache_get(f, f->msgs[i].uid, STORE_CACHE_ENVELOPE,
				    &v) != 1)
			return 2;
	store_folder_free(&f);
	str_release(&v);
	str_release(&error);
	return 0;
}

START_TEST(concurrent_appenders)
{
	pid_t pids[6];
	struct store_folder *f;
	struct str v = STR_INIT, path = STR_INIT;

	/* Dropped files, filled lazily by two sessions at once, while
	 * four deliverers append. */
	ck_assert_int_eq(mkdir(md, 0700), 0);
	ck_assert_int_eq(mkdir(tu_path(md, "new"), 0700), 0);
	ck_assert_int_eq(mkdir(tu_path(md, "cur"), 0700), 0);
	ck_assert_int_eq(mkdir(tu_path(md, "tmp"), 0700), 0);
	for (int i = 0; i < 30; i++) {
		str_clear(&path);
		str_printf(&path, "%s/new/%d.drop", md, i);
		str_clear(&v);
		str_printf(&v, "Subject: drop %d\n\nx\n", i);
		tu_write_file(str_c(&path), str_c(&v), 0600);
	}
	f = open_folder(md);
	store_folder_free(&f);
	for (int i = 0; i < 6; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0)
			_exit(i < 4 ? appender((void *)(long)i) :
			      lazy_filler(NULL));
	}
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(tu_wait(pids[i]), 0);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 130);
	falsify_files(f);
	for (size_t i = 0; i < f->count; i++) {
		ck_assert_int_eq(store_cache_header(f, f->msgs[i].uid,
						    "Subject", &v), 1);
		ck_assert_msg(strncmp(str_c(&v), " drop ", 6) == 0 ||
			  strchr(str_c(&v), '-') != NULL, "uid %u: %s", f->msgs[i].uid, str_c(&v));
	}
	store_folder_free(&f);
	str_release(&v);
	str_release(&path);
}
END_TEST

START_TEST(other_uidvalidity_ignored)
{
	struct store_folder *f;
	struct str v = STR_INIT, cache = STR_INIT, path = STR_INIT;
	uint32_t uid = deliver(md, "Subject: real\n\nx\n");

	str_printf(&path, "%s/correo-cache", md);
	/* A cache of the same UIDs from another UIDVALIDITY. */
	ck_assert(safe_read_file(str_c(&path), &cache, 1 << 20));
	f = open_folder(md);
	cache.data[8] ^= 1;
	tu_write_file(str_c(&path), "", 0600);
	{
		int fd = open(str_c(&path), O_WRONLY | O_TRUNC);

		ck_assert(safe_write_all(fd, cache.data, cache.len));
		close(fd);
	}
	ck_assert_int_eq(store_cache_header(f, uid, "Subject", &v), 1);
	ck_assert_str_eq(str_c(&v), " real");
	/* Recomputed into a new file of the right UIDVALIDITY. */
	store_folder_free(&f);
	f = open_folder(md);
	falsify_files(f);
	ck_assert_int_eq(store_cache_header(f, uid, "Subject", &v), 1);
	ck_assert_str_eq(str_c(&v), " real");
	store_folder_free(&f);
	str_release(&v);
	str_release(&cache);
	str_release(&path);
}
END_TEST

/* A crash after local's deliveries can lose their index records (synced
 * only when first shown): the next scan gives the UIDs out again, maybe
 * to other messages. The cache records of the lost UIDs must not be
 * served for those. */
START_TEST(lost_index_records_not_served)
{
	struct store_folder *f;
	struct str error = STR_INIT, v = STR_INIT, path = STR_INIT;
	struct str data = STR_INIT;
	struct iovec iov;
	const char *dsn, *first;
	uint64_t kept;
	struct stat st;
	DIR *d;
	struct dirent *de;

	f = open_folder(md);
	store_folder_free(&f);
	str_printf(&path, "%s/correo-index.log", md);
	ck_assert_int_eq(stat(str_c(&path), &st), 0);
	kept = (uint64_t)st.st_size;
	for (int i = 0; i < 2; i++) {
		str_clear(&v);
		str_printf(&v, "Subject: message %d\n\ntext\n", i);
		iov.iov_base = v.data;
		iov.iov_len = v.len;
		ck_assert_msg(store_deliver_iov(md, 0, 0, &iov, 1, 0, NULL,
						&error, &dsn) == MAILDIR_OK,
			      "deliver: %s", str_c(&error));
	}
	/* The crash: the log as synced before, the marker of the boot
	 * before, and the first message's file gone (the scan then gives
	 * its UID to the second). */
	ck_assert_int_eq(truncate(str_c(&path), (off_t)kept), 0);
	str_clear(&path);
	str_printf(&path, "%s/correo-index.synced", md);
	ck_assert_int_eq(unlink(str_c(&path)), 0);
	str_clear(&path);
	str_printf(&path, "%s/new", md);
	d = opendir(str_c(&path));
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		struct str file = STR_INIT;

		if (de->d_name[0] == '.')
			continue;
		str_printf(&file, "%s/%s", str_c(&path), de->d_name);
		str_clear(&data);
		ck_assert(safe_read_file(str_c(&file), &data, 4096));
		if (strstr(str_c(&data), "message 0") != NULL)
			ck_assert_int_eq(unlink(str_c(&file)), 0);
		str_release(&file);
	}
	closedir(d);
	f = open_folder(md);
	ck_assert_uint_eq(f->count, 1);
	ck_assert_uint_eq(f->msgs[0].uid, 1);	/* message 0's UID */
	ck_assert_int_eq(store_cache_header(f, f->msgs[0].uid, "subject",
					    &v), 1);
	first = str_c(&v);
	ck_assert_str_eq(first, " message 1");
	store_folder_free(&f);
	str_release(&error);
	str_release(&v);
	str_release(&path);
	str_release(&data);
}
END_TEST

static Suite *store_cache_suite(void)
{
	Suite *s = suite_create("store_cache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, corpus_matches_renderers);
	tcase_add_test(tc, utf8_and_preview);
	tcase_add_test(tc, lazy_fill);
	tcase_add_test(tc, truncated_and_damaged_everywhere);
	tcase_add_test(tc, compaction_drops_expunged);
	tcase_add_test(tc, concurrent_appenders);
	tcase_add_test(tc, other_uidvalidity_ignored);
	tcase_add_test(tc, lost_index_records_not_served);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(store_cache_suite());
}
