#ifndef STORE_STORE_INT_H
#define STORE_STORE_INT_H

/* Internal interface between the files of store/ (store.h is public). */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "store.h"
#include "str.h"

#define STORE_INDEX_FILE	"correo-index"
#define STORE_LOG_FILE		"correo-index.log"
#define STORE_LOCK_FILE		"correo-index.lock"
#define STORE_SYNC_FILE		"correo-sync"	/* group_sync.h state */
#define STORE_LOGSYNC_FILE	"correo-index.synced"	/* store_log_durable */
#define STORE_UIDLIST_FILE	"correo-uidlist"
#define STORE_CACHE_FILE	"correo-cache"

/* The log is compacted into a new snapshot when it holds more records
 * than this and more than an eighth of the folder's messages, or more
 * than STORE_COMPACT_MAX whatever the folder's size: every open replays
 * the log's text records (about a microsecond each), while a snapshot
 * is used in place, so a 100,000-message folder is better rewritten
 * (10 MB) every few thousand changes than replayed 12,500 records deep
 * at every SELECT. */
#define STORE_COMPACT_RECORDS	1024
#define STORE_COMPACT_MAX	2048
/* Ranges of expunged UIDs a snapshot keeps (store_vanished.c). */
#define STORE_VANISHED_MAX	4096
/* Index files larger than this are refused (a rebuild follows). */
#define STORE_MAX_INDEX_FILE	(1024L * 1024 * 1024)

/*
 * Record lines (store_index.c). Each line is
 *
 *   KIND FIELD... [:NAME] *CRC\n
 *
 * FIELD is a letter and a value: M highest modseq after the record,
 * N uidnext after it, T "new:cur" directory mtimes (ns) recorded after
 * it, G generation, V uidvalidity, U uid, F flags, K keywords (hex),
 * D internal date, S size, W size with CRLF, L 'n' (new/) or 'c'
 * (cur/), I keyword index, C count. NAME is percent-encoded (bytes up
 * to space, '%' and DEL). CRC is FNV-1a 32 of what precedes " *", in
 * hex. Kinds: H header (first line of both files), A message (added,
 * or a snapshot's message), F flags/name changed, E expunged, K keyword
 * defined, T directories rescanned, Z snapshot end, X expunged UIDs
 * (snapshot only: U first uid, C how many, M modseq of their expunge;
 * without U, M is the floor of the record, store_vanished.c).
 */
struct store_rec {
	char kind;
	uint64_t modseq, uidnext, gen, uidvalidity, count;
	bool has_m, has_n, has_t, has_g, has_v, has_c;
	int64_t new_ns, cur_ns;
	uint32_t uid, flags, idx;
	uint64_t keywords, size, vsize;
	int64_t idate;
	bool in_new;
	struct str name;
};

/* Format rec (its kind and the fields that apply) as one line onto out,
 * with M, N and T from f's current state when with_state is set. */
void store_rec_format(const struct store_rec *rec, struct str *out);
/* Parse the line [line, line+len) (without its newline). False if the
 * checksum or a field is bad. */
bool store_rec_parse(const char *line, size_t len, struct store_rec *rec);
void store_rec_reset(struct store_rec *rec);

/* Records to append, each stamped with M (highest modseq after it) and
 * N (uidnext after it), so the log's last record alone tells a
 * deliverer the folder's counters. */
struct store_batch {
	struct str out;
	uint64_t modseq;
	uint32_t uidnext;
	/* Set: records are applied to this folder instead of formatted
	 * (an index being built, written as a snapshot afterwards). */
	struct store_folder *apply_to;
};
void store_batch_init(struct store_batch *b, const struct store_folder *f);
/* Format rec into the batch; a change (A, F, E) takes the next modseq,
 * an A record with a uid at or above uidnext raises it. */
void store_batch_add(struct store_batch *b, struct store_rec *rec);
void store_batch_release(struct store_batch *b);

/* Apply rec to f, noting the change in f->changes when note is set. */
bool store_apply(struct store_folder *f, const struct store_rec *rec,
		 bool note);
/* Append records to the log at f->log_off (the lock is held, f is up
 * to date), fdatasync, and apply them. */
bool store_log_append(struct store_folder *f, const struct str *records,
		      struct str *error_r);
/* store_log_append without the fdatasync when sync is false: a
 * delivery's record, made durable by whoever first shows its UID
 * (store_log_durable). */
bool store_log_write(struct store_folder *f, const struct str *records,
		     bool sync, struct str *error_r);
/* Make the log durable up to f->log_off before f's records are shown to
 * anyone (a UID must never name two messages, even across a crash): a
 * no-op when this process or another (STORE_LOGSYNC_FILE) already synced
 * that far, else an fdatasync. False with a reason if the sync failed. */
bool store_log_durable(struct store_folder *f, struct str *error_r);
/* The log was just synced up to f->log_off: note it for store_log_durable
 * here and in other processes. */
void store_log_synced(struct store_folder *f);
/* Whether f's folder must be scanned whatever the directories' mtimes
 * say: nobody has synced its log since the machine booted, so a crash
 * may have lost delivery records whose files the mtimes cannot reveal
 * (a file linked in the same clock tick as the last recorded mtime). */
bool store_log_rescan(struct store_folder *f);
/* The counters of the folder in dir from the snapshot's header and the
 * log's tail only (for deliveries to big folders): f gets uidvalidity,
 * uidnext, highestmodseq, the last recorded mtimes (INT64_MIN if not in
 * the tail) and the open log. 1 done, 0 the index needs a full open, -1
 * error. Lock held. The process keeps its picture of the last folders
 * peeked and next time reads only what was appended since. */
int store_index_peek(struct store_folder *f, struct str *error_r);
/* Forget what store_index_peek keeps of the folders it read (their
 * open files and counters): the next peek reads each afresh. */
void store_index_peek_forget(void);
/* The open new/ directory and STORE_SYNC_FILE of f's folder as the last
 * store_index_peek of it left them (each -1 if none): for that
 * delivery's sync, not to be closed. */
void store_index_peek_fds(const struct store_folder *f, int *new_fd_r,
			  int *sync_fd_r);
/* dir's index lock through the lock file its picture keeps open: the
 * descriptor, locked and taken out of the picture (no other code may
 * close it while the lock is held), or -1 if there is none or the name
 * leads to another file now (then use store_lock). Unlock with
 * store_index_peek_lock_put, which gives it back. */
int store_index_peek_lock_take(const char *dir);
void store_index_peek_lock_put(const char *dir, int *fd);

/* Index files (store_index.c). */
int store_lock(const char *dir, struct str *error_r);
void store_unlock(int *fd);
/* Load snapshot + log into f (empty); 1 loaded, 0 missing or damaged
 * (rebuild), -1 error. With the lock held, also repairs: a stale log
 * after an interrupted compaction is replaced, a torn tail cut. */
int store_index_load(struct store_folder *f, bool locked,
		     struct str *error_r);
/* Read records appended to the log since f->log_off; reload everything
 * if the log was replaced. With the lock held, cut a torn tail. */
bool store_index_catch_up(struct store_folder *f, bool locked,
			  struct str *error_r);
/* Write f's state as a new snapshot and an empty log of the next
 * generation (lock held). */
bool store_index_write(struct store_folder *f, struct str *error_r);

/* The binary snapshot (store_snapshot.c). Format f's state as a
 * snapshot of generation gen onto out (false if too large); whether
 * data is one; its generation and UIDVALIDITY from its first bytes;
 * load one into f (empty; data is copied): false if damaged. */
bool store_snapshot_format(struct store_folder *f, uint64_t gen,
			   struct str *out);
bool store_snapshot_is_binary(const char *data, size_t len);
/* The check a current snapshot of len bytes carries at byte 120 (the
 * fuzz target makes its inputs' right). */
uint64_t store_snapshot_check(const char *data, size_t len);
bool store_snapshot_header(const char *data, size_t len, uint64_t *gen_r,
			   uint32_t *uidvalidity_r);
bool store_snapshot_parse(struct store_folder *f, const char *data,
			  size_t len);
/* Load dir's snapshot into f (empty) if it is a binary one: 1 loaded,
 * 0 missing or damaged, 2 not binary (a text one: read it as such),
 * -1 error. */
int store_snapshot_read(struct store_folder *f, struct str *error_r);

/* Maildir scan (store_sync.c), lock held: reconcile f with new/ and
 * cur/ and append the resulting records. uidlist: the migration source
 * for a folder without an index (may be NULL). */
bool store_sync_scan(struct store_folder *f, struct str *error_r);
/* Current mtimes of new/ and cur/; false with errno. */
bool store_dir_mtimes(const char *dir, int64_t *new_ns, int64_t *cur_ns);
/* The same, to be recorded in a T record: new/'s is STORE_MTIME_UNSET
 * while it is less than STORE_MTIME_SETTLE_NS old, since a delivery
 * (which takes no index lock and writes no record) within the same
 * clock tick would leave it unchanged. The next reader then scans new/
 * again, until it has settled. */
#define STORE_MTIME_UNSET	0
#define STORE_MTIME_SETTLE_NS	2000000000LL
extern int64_t store_mtime_settle_ns;	/* unit tests set it to 0 */
bool store_dir_mtimes_record(const char *dir, int64_t *new_ns,
			     int64_t *cur_ns);
/* Whether the directories are as last recorded. */
bool store_dirs_clean(const struct store_folder *f);

/*
 * The messages' memory (store_msgs.c). f->msgs is a heap array, or the
 * snapshot's records mapped privately (copy-on-write) at the start of a
 * larger reservation of address space, so appends need no copy until
 * the reservation is full. A name_ref with STORE_NAME_HEAP set is an
 * index in f->xnames; otherwise an offset in the snapshot's names.
 */
#define STORE_NAME_HEAP		0x80000000u
/* Give m a copy of name, releasing the one it had in xnames. */
void store_msg_set_name(struct store_folder *f, struct store_msg *m,
			const char *name);
/* Release m's name (m leaves the folder). */
void store_msg_drop_name(struct store_folder *f, struct store_msg *m);
/* Room for n messages in f->msgs (copied to the heap if the mapping's
 * reservation is too small). */
void store_msgs_reserve(struct store_folder *f, size_t n);
/* Note uid as added or changed since the snapshot was loaded. */
void store_msgs_touch(struct store_folder *f, uint32_t uid);
/* Whether m is still to be taken as \Recent (store_claim_new). */
static inline bool store_msg_unclaimed(const struct store_msg *m)
{
	return m->in_new || (m->flags & STORE_F_RECENT);
}
/* Release the messages, the snapshot and the names. */
void store_msgs_release(struct store_folder *f);
/* Move f's messages, snapshot and names to to (cleared), leaving f
 * with none. */
void store_msgs_move(struct store_folder *to, struct store_folder *f);

/* The expunged-UID record (store_vanished.c). */
void store_vanished_note(struct store_folder *f, uint32_t uid,
			 uint64_t modseq);
bool store_vanished_apply(struct store_folder *f,
			  const struct store_rec *rec);
void store_vanished_write(struct store_folder *f, struct str *out);
/* Drop the oldest ranges beyond STORE_VANISHED_MAX (before a snapshot
 * is written), raising the floor. */
void store_vanished_bound(struct store_folder *f);
void store_vanished_clear(struct store_folder *f);

/* Base name: the part of a Maildir file name before ':'. */
size_t store_base_len(const char *name);

/* The number a Maildir name starts with (its delivery time in seconds),
 * 0 if it starts with none; capped, never overflowing. */
uint64_t store_name_secs(const char *name);

/* Note a change of kind to uid in f->changes; before: the message as it
 * was (NULL for 'A'). */
void store_note(struct store_folder *f, char kind, uint32_t uid,
		const struct store_msg *before);
void store_folder_clear(struct store_folder *f);

/*
 * The message cache (store_cache.c: the file; store_cache_data.c: what
 * an entry holds).
 */
/* Entries (and the messages they are computed from, when filled
 * lazily) larger than these are not cached. */
#define STORE_CACHE_MAX_PAYLOAD	(1024 * 1024)
#define STORE_CACHE_MAX_MESSAGE	(256L * 1024 * 1024)
/* Compaction is worth it past this many dead bytes (and a quarter of
 * the file). */
#define STORE_CACHE_COMPACT_MIN	(64 * 1024)

/* A 64-bit hash of data keyed with seed (not cryptographic; keyed so
 * that text from a message cannot pass for a record). */
uint64_t store_hash64(uint64_t seed, const void *data, size_t len);
/* The entry of a message: data[0, len) parsed, savedate (seconds). */
void store_cache_compute(const char *data, size_t len, int64_t savedate,
			 struct str *payload);
/* The name check of a record for the message in file name (its base
 * name, keyed with the file's salt; 0 for NULL: not checked). */
#define STORE_CACHE_NAME_SEED	0x6e616d65ULL
uint32_t store_cache_name_check(uint64_t salt, const char *name);
/* One record for the cache file (header, payload, padding) onto out. */
void store_cache_record(uint64_t salt, uint32_t uid, uint32_t name,
			const char *payload, size_t len, struct str *out);
/* The value of field id in an entry (no copy). */
bool store_cache_field_find(const char *payload, size_t len,
			    enum store_cache_field id, const char **value_r,
			    size_t *len_r);
/* Whether an entry read from the file is a well-formed field list. */
bool store_cache_payload_valid(const char *payload, size_t len);
/* BODY[HEADER.FIELDS (names)] from a HEADERS value. */
void store_cache_filter_fields(const char *headers, size_t len,
			       const char *const *names, size_t n,
			       struct str *out);
/* Append uid's entry to the cache of the folder in dir, for the message
 * in file name (best effort: false if it could not). The process keeps
 * the file open for the next append to the same folder. */
bool store_cache_add(const char *dir, uint32_t uidvalidity, uint32_t uid,
		     const char *name, const struct str *payload);
/* Drop f's cache state (store_folder_free). */
void store_cache_release(struct store_folder *f);

#endif
