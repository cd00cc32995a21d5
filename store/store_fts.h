#ifndef STORE_STORE_FTS_H
#define STORE_STORE_FTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

struct store_folder;

/*
 * The full-text index of a folder (store_fts.c; DESIGN.md, "Full-text
 * search"): correo-fts.db in the folder's directory, an SQLite database
 * with an FTS5 table on the trigram tokenizer, keyed by UID, for the
 * folder's UIDVALIDITY. It holds, for each message, the texts IMAP
 * SEARCH compares its keys with (mime_text_header, mime_text_body),
 * case-mapped (i;unicode-casemap, mime_casemap) with the bytes that are
 * not UTF-8 replaced, so a
 * phrase query of a key is the matcher's case-insensitive substring
 * test. It is a cache: a message it does not hold, or holds only in
 * part, is read by the caller as before; a damaged index is removed and
 * built again, never trusted.
 */

#define STORE_FTS_FILE "correo-fts.db"

/* A message's text as the index keeps it (store_fts_extract). exact is
 * false when the index may not give the matcher's answer for it (text
 * cut at STORE_FTS_MAX_TEXT, or converted through iconv). */
struct store_fts_doc {
	struct str hdr;
	struct str body;
	bool exact;
};
#define STORE_FTS_DOC_INIT { STR_INIT, STR_INIT, false }

/* Text kept per message (header and body together). */
#define STORE_FTS_MAX_TEXT (1024 * 1024)

enum store_fts_col {
	STORE_FTS_HEADER,	/* any header field: narrows HEADER keys */
	STORE_FTS_BODY,		/* BODY */
	STORE_FTS_TEXT,		/* TEXT: header or body */
};

struct store_fts;

/* Open (creating it) the index of the folder in dir for uidvalidity.
 * One that is damaged, of another UIDVALIDITY or of another format is
 * removed and started empty. busy_ms: how long to wait for another
 * writer. check: also compare its two tables' counts (a damage SQLite
 * itself may not notice until a query). NULL with a reason. */
struct store_fts *store_fts_open(const char *dir, uint32_t uidvalidity,
				 int busy_ms, bool check,
				 struct str *error_r);
void store_fts_close(struct store_fts **fts);
/* Whether the last failure of a call on fts means the index is damaged
 * (remove it) rather than busy or short of resources. */
bool store_fts_failed_damaged(const struct store_fts *fts);
/* Remove the index files of dir (the next open starts anew). */
bool store_fts_remove(const char *dir, struct str *error_r);

/* The index's text of the message data[0..len) into doc (cleared
 * first). */
void store_fts_extract(const char *data, size_t len,
		       struct store_fts_doc *doc);
void store_fts_doc_release(struct store_fts_doc *doc);
/* Append text[0..len) as the index keeps it: NUL and every byte that
 * does not start a valid UTF-8 sequence replaced by U+FFFD (which also
 * separates texts), then i;unicode-casemap (mime_casemap). */
void store_fts_normalize(const char *text, size_t len, struct str *out);

/* Add the message with uid: 1 added, 0 held already, -1 error. */
int store_fts_add(struct store_fts *fts, uint32_t uid,
		  const struct store_fts_doc *doc, struct str *error_r);
/* Called by store_fts_catch_up after each transaction of a catch-up
 * bigger than one (done of total messages looked at). False stops the
 * catch-up there: what it added stays, the rest is not held (MAYBE). */
typedef bool store_fts_progress_fn(void *ctx, size_t done, size_t total);
void store_fts_set_progress(struct store_fts *fts, store_fts_progress_fn *fn,
			    void *ctx);
/* Index the messages of f among uids[0..n) the index does not hold yet
 * (delivered while indexing failed, dropped in by other programs, lost
 * in a crash), reading their files. The number added, -1 on error. */
long store_fts_catch_up(struct store_fts *fts, struct store_folder *f,
			const uint32_t *uids, size_t n, struct str *error_r);

enum store_fts_use {
	STORE_FTS_SCAN,		/* the index cannot help: read messages */
	STORE_FTS_EXACT,	/* the index answers for what it holds */
};
/* Whether the index can answer a search for needle: it must be UTF-8
 * of at least 3 characters (trigrams) without NUL, U+FFFD, U+FFFE or
 * U+FFFF (the tokenizer makes the last two U+FFFD). */
enum store_fts_use store_fts_usable(const char *needle);

#define STORE_FTS_NO		0	/* does not contain needle */
#define STORE_FTS_YES		1	/* contains it */
#define STORE_FTS_MAYBE		2	/* read the message to know */
/* For each uids[i] into verdict_r[i] one of the above for col and a
 * needle store_fts_usable accepts: messages the index does not hold
 * exactly are MAYBE; for STORE_FTS_HEADER every hit is MAYBE (the index
 * does not know which field matched). 0, -1 on error (then treat the
 * index as damaged: store_fts_remove). */
int store_fts_search(struct store_fts *fts, enum store_fts_col col,
		     const char *needle, const uint32_t *uids, size_t n,
		     uint8_t *verdict_r, struct str *error_r);

#endif
