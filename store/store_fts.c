/*
 * store_fts: the full-text index of a folder (store_fts.h; DESIGN.md,
 * "Full-text search").
 *
 * One SQLite database per folder, correo-fts.db, with three tables:
 *
 *   meta   format version and the folder's UIDVALIDITY
 *   done   one row per message indexed (uid, exact)
 *   text   FTS5, contentless, trigram tokenizer (case-sensitive: the
 *          case mapping is ours, mime_casemap, as imapd's matcher), two
 *          columns: hdr (the header texts) and body (the part texts)
 *
 * A message's done row and its text row are written in one transaction,
 * so the two tables always hold the same UIDs; a count that differs is
 * damage (store_fts_open with check). Texts are joined with U+FFFD,
 * which no usable needle contains, so a phrase match never spans two
 * texts the matcher compares separately. The database runs in WAL mode
 * with synchronous=NORMAL: commits are not fsync'd (the index is
 * rebuilt from the messages whenever it is found lacking), but a crash
 * never leaves it inconsistent, only missing recent commits, which the
 * catch-up at the next SEARCH redoes.
 *
 * SECURITY: runs as the mailbox owner (local's worker, imapd, or correo
 * mailbox after it switched to the owner). SQLite's unix VFS opens the
 * database, its WAL and shared-memory files with O_NOFOLLOW; we ask for
 * SQLITE_OPEN_NOFOLLOW as well, and remove (unlink, which does not
 * follow) whatever cannot be opened. Message texts are hostile input:
 * they reach SQLite only as bound parameters, and the needle only as a
 * quoted FTS5 phrase.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "mime.h"
#include "msg.h"
#include "store.h"
#include "store_fts.h"

/* Bumped whenever the texts or their normalization change: an index of
 * another version is started anew. */
#define STORE_FTS_VERSION 2	/* 2: i;unicode-casemap, was ASCII only */
/* Messages per transaction in a catch-up (a kill loses at most these),
 * and FTS5's in-memory buffer before it writes a segment: big ones
 * mean fewer small segments to merge later (100,000 small messages:
 * 14 s of CPU instead of 24 with 500 and FTS5's default 1 MB, for an
 * index 13% bigger). */
#define STORE_FTS_BATCH 5000
#define STORE_FTS_HASHSIZE "16777216"

struct store_fts {
	sqlite3 *db;
	char *dir;
	sqlite3_stmt *add_done, *add_text;
	/* The done table as of the last load (sorted by uid), plus what
	 * this handle added since. */
	uint32_t *done;
	uint8_t *exact;
	size_t ndone, done_cap;
	bool done_loaded;
	bool in_txn;
	int last_rc;		/* of the last failure */
	store_fts_progress_fn *progress;
	void *progress_ctx;
};

static const char *const store_fts_suffixes[] = { "", "-wal", "-shm",
						  "-journal" };

bool store_fts_remove(const char *dir, struct str *error_r)
{
	struct str path = STR_INIT;
	bool ok = true;

	for (size_t i = 0; i < sizeof(store_fts_suffixes) /
			       sizeof(*store_fts_suffixes); i++) {
		str_clear(&path);
		str_printf(&path, "%s/%s%s", dir, STORE_FTS_FILE,
			   store_fts_suffixes[i]);
		if (unlink(str_c(&path)) != 0 && errno != ENOENT) {
			str_printf(error_r, "unlink %s: %s", str_c(&path),
				   strerror(errno));
			ok = false;
		}
	}
	str_release(&path);
	return ok;
}

static void store_fts_err(sqlite3 *db, const char *what, struct str *error_r)
{
	if (error_r->len > 0)
		return;	/* the first cause is the one to tell */
	str_printf(error_r, "full-text index: %s: %s", what,
		   db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

/* Whether an SQLite result means the file is not a usable index (to be
 * removed), rather than busy, locked, full or out of memory. An I/O
 * error counts: removing a cache costs only its rebuild. */
static bool store_fts_damaged(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_CANTOPEN:
	case SQLITE_SCHEMA:
	case SQLITE_FORMAT:
	case SQLITE_MISMATCH:
	case SQLITE_CONSTRAINT:
	case SQLITE_ERROR:	/* e.g. "no such table" in a foreign file */
	case SQLITE_IOERR:	/* short reads of a cut file among them */
		return true;
	default:
		return false;
	}
}

static int store_fts_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* One integer from a query without parameters; rc. */
static int store_fts_int(sqlite3 *db, const char *sql, int64_t *value_r)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	*value_r = -1;
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*value_r = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The schema, created if the file is new; 1 ready, 0 another version
 * or UIDVALIDITY (start anew), or an SQLite error code negated. */
static int store_fts_schema(sqlite3 *db, uint32_t uidvalidity, bool check)
{
	int64_t version, validity, a, b;
	struct str sql = STR_INIT;
	int rc;

	rc = store_fts_exec(db, "PRAGMA journal_mode=WAL");
	if (rc == SQLITE_OK)
		rc = store_fts_exec(db, "PRAGMA synchronous=NORMAL");
	if (rc == SQLITE_OK)
		rc = store_fts_exec(db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		return -rc;
	rc = store_fts_int(db, "SELECT count(*) FROM sqlite_master", &a);
	if (rc == SQLITE_OK && a == 0) {
		str_printf(&sql,
			   "CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER);"
			   "INSERT INTO meta VALUES('version', %d),"
			   "('uidvalidity', %u);", STORE_FTS_VERSION,
			   uidvalidity);
		rc = store_fts_exec(db, str_c(&sql));
		str_release(&sql);
		if (rc == SQLITE_OK)
			rc = store_fts_exec(
				db, "CREATE TABLE done(uid INTEGER PRIMARY KEY,"
				    " exact INTEGER NOT NULL);"
				    "CREATE VIRTUAL TABLE text USING fts5(hdr,"
				    " body, content='', tokenize='trigram "
				    "case_sensitive 1');"
				    "INSERT INTO text(text, rank) VALUES("
				    "'hashsize', " STORE_FTS_HASHSIZE ");");
	}
	if (rc == SQLITE_OK)
		rc = store_fts_int(db, "SELECT v FROM meta WHERE "
				       "k='version'", &version);
	if (rc == SQLITE_OK)
		rc = store_fts_int(db, "SELECT v FROM meta WHERE "
				       "k='uidvalidity'", &validity);
	if (rc == SQLITE_OK && check) {
		rc = store_fts_int(db, "SELECT count(*) FROM done", &a);
		if (rc == SQLITE_OK)
			rc = store_fts_int(db, "SELECT count(*) FROM "
					       "text_docsize", &b);
		if (rc == SQLITE_OK && a != b)
			rc = SQLITE_CORRUPT;
	}
	if (rc == SQLITE_OK)
		rc = store_fts_exec(db, "COMMIT");
	if (rc != SQLITE_OK) {
		(void)store_fts_exec(db, "ROLLBACK");
		return -rc;
	}
	return version == STORE_FTS_VERSION &&
	       validity == (int64_t)uidvalidity;
}

static void store_fts_free(struct store_fts *fts)
{
	sqlite3_finalize(fts->add_done);
	sqlite3_finalize(fts->add_text);
	sqlite3_close(fts->db);
	mem_free(fts->done);
	mem_free(fts->exact);
	mem_free(fts->dir);
	mem_free(fts);
}

struct store_fts *store_fts_open(const char *dir, uint32_t uidvalidity,
				 int busy_ms, bool check,
				 struct str *error_r)
{
	struct str path = STR_INIT;
	struct store_fts *fts = NULL;
	int rc = SQLITE_OK, ret;

	str_printf(&path, "%s/%s", dir, STORE_FTS_FILE);
	for (int attempt = 0; attempt < 2; attempt++) {
		/* Created here, so it is the owner's alone (SQLite would
		 * make it 0644 less the umask); the WAL and shared-memory
		 * files take its mode. */
		int fd = open(str_c(&path), O_RDWR | O_CREAT | O_NOFOLLOW |
				    O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
		fts = mem_alloc(sizeof(*fts));
		fts->dir = mem_strdup(dir);
		rc = sqlite3_open_v2(str_c(&path), &fts->db,
				     SQLITE_OPEN_READWRITE |
				     SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOFOLLOW |
				     SQLITE_OPEN_NOMUTEX, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_extended_result_codes(fts->db, 0);
			sqlite3_busy_timeout(fts->db, busy_ms);
			ret = store_fts_schema(fts->db, uidvalidity, check);
			rc = ret == 1 ? SQLITE_OK :
			     ret == 0 ? SQLITE_CORRUPT : -ret;
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v2(
				fts->db, "INSERT OR IGNORE INTO done "
					 "VALUES(?, ?)", -1, &fts->add_done,
				NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_prepare_v2(
				fts->db, "INSERT INTO text(rowid, hdr, body)"
					 " VALUES(?, ?, ?)", -1,
				&fts->add_text, NULL);
		if (rc == SQLITE_OK) {
			str_clear(error_r);
			break;
		}
		store_fts_err(fts->db, str_c(&path), error_r);
		store_fts_free(fts);
		fts = NULL;
		if (!store_fts_damaged(rc) || attempt > 0)
			break;
		/* Damaged, foreign, of another version or UIDVALIDITY:
		 * a cache, so start it anew. */
		if (!store_fts_remove(dir, error_r))
			break;
	}
	str_release(&path);
	return fts;
}

void store_fts_set_progress(struct store_fts *fts, store_fts_progress_fn *fn,
			    void *ctx)
{
	fts->progress = fn;
	fts->progress_ctx = ctx;
}

bool store_fts_failed_damaged(const struct store_fts *fts)
{
	return fts->last_rc != SQLITE_OK && store_fts_damaged(fts->last_rc);
}

void store_fts_close(struct store_fts **fts)
{
	if (*fts == NULL)
		return;
	if ((*fts)->in_txn)
		(void)store_fts_exec((*fts)->db, "COMMIT");
	store_fts_free(*fts);
	*fts = NULL;
}

/* ---- texts ---- */

void store_fts_normalize(const char *text, size_t len, struct str *out)
{
	static const char replacement[] = "\xef\xbf\xbd";
	struct str clean = STR_INIT;
	size_t i = 0, n;
	unsigned char c;
	bool plain = true;

	for (i = 0; i < len && plain; i++)
		plain = text[i] != '\0' && (unsigned char)text[i] < 0x80;
	if (plain) {
		mime_casemap(text, len, out);
		return;
	}
	str_reserve(&clean, len);
	for (i = 0; i < len; i += n) {
		c = (unsigned char)text[i];
		n = c >= 0x80 ? mime_utf8_char_len(text + i, len - i) : 1;
		if (n > 0 && c != 0) {
			str_append_n(&clean, text + i, n);
			continue;
		}
		str_append_n(&clean, replacement, 3);
		n = 1;
	}
	mime_casemap(clean.data, clean.len, out);
	str_release(&clean);
}

struct store_fts_acc {
	struct str *out;
	size_t *room;
	bool *cut;
};

static bool store_fts_acc_fn(void *ctx, const char *text, size_t len)
{
	struct store_fts_acc *a = ctx;

	if (len > *a->room) {
		len = *a->room;
		*a->cut = true;
	}
	*a->room -= len;
	if (a->out->len > 0)
		str_append(a->out, "\xef\xbf\xbd");
	store_fts_normalize(text, len, a->out);
	return *a->room == 0;
}

void store_fts_extract(const char *data, size_t len,
		       struct store_fts_doc *doc)
{
	struct mime_message *msg = mime_parse(data, len, NULL);
	unsigned long iconv_before = mime_charset_iconv_count;
	size_t room = STORE_FTS_MAX_TEXT;
	bool cut = false;
	struct store_fts_acc a = { &doc->hdr, &room, &cut };

	str_clear(&doc->hdr);
	str_clear(&doc->body);
	(void)mime_text_header(msg, msg->root, NULL, store_fts_acc_fn, &a);
	a.out = &doc->body;
	if (room > 0)
		(void)mime_text_body(msg, msg->root, store_fts_acc_fn, &a);
	else
		cut = true;
	/* A text cut short (a part cut at the limit ends the walk: the
	 * room is gone), or one converted through iconv, whose modules
	 * may differ between the indexing process and imapd. */
	doc->exact = !cut && mime_charset_iconv_count == iconv_before;
	mime_message_free(&msg);
}

void store_fts_doc_release(struct store_fts_doc *doc)
{
	str_release(&doc->hdr);
	str_release(&doc->body);
}

/* ---- adding ---- */

static int store_fts_begin(struct store_fts *fts)
{
	int rc;

	if (fts->in_txn)
		return SQLITE_OK;
	rc = store_fts_exec(fts->db, "BEGIN IMMEDIATE");
	fts->in_txn = rc == SQLITE_OK;
	return rc;
}

static int store_fts_commit(struct store_fts *fts)
{
	int rc;

	if (!fts->in_txn)
		return SQLITE_OK;
	rc = store_fts_exec(fts->db, "COMMIT");
	if (rc != SQLITE_OK)
		(void)store_fts_exec(fts->db, "ROLLBACK");
	fts->in_txn = false;
	return rc;
}

static void store_fts_note(struct store_fts *fts, uint32_t uid, bool exact)
{
	if (!fts->done_loaded)
		return;
	if (fts->ndone == fts->done_cap) {
		fts->done_cap = fts->done_cap * 2 + 64;
		fts->done = mem_array_realloc(fts->done, fts->done_cap,
					      sizeof(*fts->done));
		fts->exact = mem_array_realloc(fts->exact, fts->done_cap,
					       sizeof(*fts->exact));
	}
	/* Catch-up adds in increasing order; keep the array sorted. */
	size_t i = fts->ndone;

	while (i > 0 && fts->done[i - 1] > uid) {
		fts->done[i] = fts->done[i - 1];
		fts->exact[i] = fts->exact[i - 1];
		i--;
	}
	fts->done[i] = uid;
	fts->exact[i] = exact;
	fts->ndone++;
}

/* Add within the current transaction: 1, 0 held already, or -rc. */
static int store_fts_add_txn(struct store_fts *fts, uint32_t uid,
			     const struct store_fts_doc *doc)
{
	int rc;

	sqlite3_reset(fts->add_done);
	sqlite3_bind_int64(fts->add_done, 1, uid);
	sqlite3_bind_int(fts->add_done, 2, doc->exact);
	rc = sqlite3_step(fts->add_done);
	if (rc != SQLITE_DONE)
		return -rc;
	if (sqlite3_changes(fts->db) == 0)
		return 0;
	sqlite3_reset(fts->add_text);
	sqlite3_bind_int64(fts->add_text, 1, uid);
	sqlite3_bind_text(fts->add_text, 2, doc->hdr.data == NULL ? "" :
			  doc->hdr.data, (int)doc->hdr.len, SQLITE_STATIC);
	sqlite3_bind_text(fts->add_text, 3, doc->body.data == NULL ? "" :
			  doc->body.data, (int)doc->body.len, SQLITE_STATIC);
	rc = sqlite3_step(fts->add_text);
	sqlite3_clear_bindings(fts->add_text);
	if (rc != SQLITE_DONE)
		return -rc;
	store_fts_note(fts, uid, doc->exact);
	return 1;
}

int store_fts_add(struct store_fts *fts, uint32_t uid,
		  const struct store_fts_doc *doc, struct str *error_r)
{
	int rc = store_fts_begin(fts), ret = -1;

	if (rc == SQLITE_OK) {
		ret = store_fts_add_txn(fts, uid, doc);
		rc = ret < 0 ? -ret : store_fts_commit(fts);
		if (ret < 0)
			(void)store_fts_commit(fts);
	}
	if (rc != SQLITE_OK) {
		fts->last_rc = rc;
		store_fts_err(fts->db, "add", error_r);
		return -1;
	}
	return ret;
}

/* ---- catch-up and search ---- */

static int store_fts_load_done(struct store_fts *fts)
{
	sqlite3_stmt *st;
	int rc;

	if (fts->done_loaded)
		return SQLITE_OK;
	rc = sqlite3_prepare_v2(fts->db, "SELECT uid, exact FROM done "
					 "ORDER BY uid", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	fts->ndone = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fts->ndone == fts->done_cap) {
			fts->done_cap = fts->done_cap * 2 + 1024;
			fts->done = mem_array_realloc(fts->done,
						      fts->done_cap,
						      sizeof(*fts->done));
			fts->exact = mem_array_realloc(fts->exact,
						       fts->done_cap,
						       sizeof(*fts->exact));
		}
		fts->done[fts->ndone] =
			(uint32_t)sqlite3_column_int64(st, 0);
		fts->exact[fts->ndone++] =
			(uint8_t)(sqlite3_column_int(st, 1) != 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	fts->done_loaded = true;
	return SQLITE_OK;
}

/* The position of uid in the sorted array a[0..n), or -1. */
static long store_fts_find(const uint32_t *a, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid] < uid)
			lo = mid + 1;
		else if (a[mid] > uid)
			hi = mid;
		else
			return (long)mid;
	}
	return -1;
}

/* The message file of uid into data (1), 0 gone or unreadable. */
static int store_fts_read(struct store_folder *f, uint32_t uid,
			  struct str *data)
{
	struct str error = STR_INIT;
	ssize_t n;
	int fd = store_msg_open(f, uid, &error);

	str_release(&error);
	str_clear(data);
	if (fd < 0)
		return 0;
	do {
		str_reserve(data, 65536);
		n = read(fd, data->data + data->len,
			 data->cap - data->len - 1);
		if (n > 0)
			data->len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	close(fd);
	data->data[data->len] = '\0';
	return n == 0;
}

long store_fts_catch_up(struct store_fts *fts, struct store_folder *f,
			const uint32_t *uids, size_t n, struct str *error_r)
{
	struct store_fts_doc doc = STORE_FTS_DOC_INIT;
	struct str data = STR_INIT;
	size_t batch = 0;
	long added = 0;
	int rc = store_fts_load_done(fts), ret;
	uint32_t *missing = NULL;
	size_t nmissing = 0;

	if (rc != SQLITE_OK)
		goto fail;
	/* Find the missing ones first: the notes below change done. */
	missing = mem_array(n + 1, sizeof(*missing));
	for (size_t i = 0; i < n; i++)
		if (store_fts_find(fts->done, fts->ndone, uids[i]) < 0)
			missing[nmissing++] = uids[i];
	for (size_t i = 0; i < nmissing; i++) {
		if (store_fts_read(f, missing[i], &data) != 1)
			continue;	/* gone: not to be indexed */
		store_fts_extract(str_c(&data), data.len, &doc);
		rc = store_fts_begin(fts);
		if (rc != SQLITE_OK)
			goto fail;
		ret = store_fts_add_txn(fts, missing[i], &doc);
		if (ret < 0) {
			rc = -ret;
			goto fail;
		}
		added += ret;
		if (++batch >= STORE_FTS_BATCH) {
			batch = 0;
			if ((rc = store_fts_commit(fts)) != SQLITE_OK)
				goto fail;
			if (fts->progress != NULL &&
			    !fts->progress(fts->progress_ctx, i + 1,
					   nmissing))
				break;
		}
	}
	if ((rc = store_fts_commit(fts)) != SQLITE_OK)
		goto fail;
	mem_free(missing);
	store_fts_doc_release(&doc);
	str_release(&data);
	return added;
fail:
	fts->last_rc = rc;
	store_fts_err(fts->db, "catch-up", error_r);
	if (fts->in_txn) {
		(void)store_fts_exec(fts->db, "ROLLBACK");
		fts->in_txn = false;
	}
	/* What the rolled-back batch noted is not in the index. */
	fts->done_loaded = false;
	mem_free(missing);
	store_fts_doc_release(&doc);
	str_release(&data);
	return -1;
}

enum store_fts_use store_fts_usable(const char *needle)
{
	size_t len = strlen(needle), chars = 0, n;

	for (size_t i = 0; i < len; i += n) {
		n = mime_utf8_char_len(needle + i, len - i);
		/* U+FFFD separates texts and stands for bad bytes; FTS5's
		 * trigram tokenizer also turns U+FFFE and U+FFFF into it. */
		if (n == 0 || (n == 3 && memcmp(needle + i, "\xef\xbf",
						2) == 0 &&
			       (unsigned char)needle[i + 2] >= 0xbd))
			return STORE_FTS_SCAN;
		chars++;
	}
	return chars >= 3 ? STORE_FTS_EXACT : STORE_FTS_SCAN;
}

/* The FTS5 query for needle in col: a phrase, quotes doubled. */
static void store_fts_query(enum store_fts_col col, const char *needle,
			    struct str *out)
{
	struct str norm = STR_INIT;

	store_fts_normalize(needle, strlen(needle), &norm);
	if (col == STORE_FTS_HEADER)
		str_append(out, "hdr : ");
	else if (col == STORE_FTS_BODY)
		str_append(out, "body : ");
	str_append_c(out, '"');
	for (size_t i = 0; i < norm.len; i++) {
		if (norm.data[i] == '"')
			str_append_c(out, '"');
		str_append_c(out, norm.data[i]);
	}
	str_append_c(out, '"');
	str_release(&norm);
}

int store_fts_search(struct store_fts *fts, enum store_fts_col col,
		     const char *needle, const uint32_t *uids, size_t n,
		     uint8_t *verdict_r, struct str *error_r)
{
	struct str query = STR_INIT;
	sqlite3_stmt *st = NULL;
	uint32_t *hits = NULL;
	size_t nhits = 0, cap = 0;
	long pos;
	int rc = store_fts_load_done(fts);

	if (rc == SQLITE_OK) {
		store_fts_query(col, needle, &query);
		rc = sqlite3_prepare_v2(fts->db, "SELECT rowid FROM text "
						 "WHERE text MATCH ? ORDER "
						 "BY rowid", -1, &st, NULL);
	}
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, str_c(&query), (int)query.len,
				  SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (nhits == cap) {
				cap = cap * 2 + 256;
				hits = mem_array_realloc(hits, cap,
							 sizeof(*hits));
			}
			hits[nhits++] = (uint32_t)sqlite3_column_int64(st, 0);
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	str_release(&query);
	if (rc != SQLITE_OK) {
		fts->last_rc = rc;
		store_fts_err(fts->db, "search", error_r);
		mem_free(hits);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		pos = store_fts_find(fts->done, fts->ndone, uids[i]);
		if (pos < 0 || !fts->exact[pos])
			verdict_r[i] = STORE_FTS_MAYBE;
		else if (store_fts_find(hits, nhits, uids[i]) < 0)
			verdict_r[i] = STORE_FTS_NO;
		else
			verdict_r[i] = col == STORE_FTS_HEADER ?
				       STORE_FTS_MAYBE : STORE_FTS_YES;
	}
	mem_free(hits);
	return 0;
}
