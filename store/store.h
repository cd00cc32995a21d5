#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maildir.h"
#include "str.h"

/*
 * The mailbox store: a Maildir++ folder plus its index (DESIGN.md,
 * "The mailbox store"). local delivers through it, pop3d and imapd read
 * and change folders through it.
 *
 * The Maildir is the truth about which messages exist and about their
 * system flags (the ":2,FLAGS" info of each file name, so other Maildir
 * tools stay compatible); the index is the truth about UIDs, keywords
 * and modification sequences. The index of a folder is two files in the
 * folder's directory:
 *
 *   correo-index       a snapshot: the header and one record per message
 *   correo-index.log   the changes since the snapshot, appended
 *
 * and the lock file correo-index.lock, held by every writer. A change is
 * acknowledged only after its log record is on disk (fdatasync); a torn
 * tail (a record without its newline or with a bad checksum) is ignored
 * by readers and cut off by the next writer. UIDs only grow: UIDNEXT is
 * in every snapshot and follows every appended record, so an expunged
 * UID is never handed out again. Compaction writes a new snapshot and a
 * new, empty log of the next generation, each atomically (write, fsync,
 * rename); a reader notices the replaced log by its inode and reloads.
 * A lost or unreadable index is rebuilt from the Maildir (and from
 * correo-uidlist, POP3's former list, so UIDLs stay the same), with a
 * new UIDVALIDITY unless the old one is known.
 *
 * Learning that nothing changed costs an fstat of the log, a stat of the
 * log path and a stat of new/ and cur/: the directories are scanned only
 * when their modification time differs from the one recorded after the
 * last scan or delivery (another program dropped or renamed a file).
 */

/* System flags, as in Maildir info letters (D F R S T; P is kept too). */
#define STORE_F_DRAFT		0x01u	/* D */
#define STORE_F_FLAGGED		0x02u	/* F */
#define STORE_F_PASSED		0x04u	/* P ($Forwarded) */
#define STORE_F_ANSWERED	0x08u	/* R */
#define STORE_F_SEEN		0x10u	/* S */
#define STORE_F_DELETED		0x20u	/* T */
#define STORE_F_ALL		0x3fu
/* In the index only, never in a file name: no session has taken the
 * message as \Recent yet (a message saved into cur/ with flags; one in
 * new/ is recent by being there). */
#define STORE_F_RECENT		0x40u

/* Keywords per folder, at most this many (bit i of a message's keyword
 * mask is the folder's keyword i). */
#define STORE_MAX_KEYWORDS	64

/* One message of a folder. This is also the layout of a message
 * record in the snapshot file (store_snapshot.c), so a folder's array
 * can be the snapshot's records mapped in place: fixed-width fields,
 * no pointers, no padding. The file name is reached through
 * store_msg_name(). */
struct store_msg {
	uint32_t uid;
	uint32_t flags;		/* STORE_F_* */
	uint64_t keywords;	/* bit i: keyword i */
	uint64_t modseq;	/* of the last change to this message */
	int64_t internaldate;	/* seconds since the epoch */
	uint64_t size;		/* bytes of the file (LF line ends) */
	uint64_t vsize;		/* with CRLF line ends (RFC822.SIZE) */
	uint32_t name_ref;	/* the file name (store_msg_name) */
	uint32_t in_new;	/* 1: new/ rather than cur/ */
};

/* What a refresh learned, for sessions that report changes (IMAP
 * EXISTS/EXPUNGE/FETCH FLAGS): kind 'A' (appended), 'E' (expunged), 'F'
 * (flags or keywords changed) and the UID; for 'E' and 'F' the
 * message's flags, keywords and modseq before the change (a session
 * whose view is the store's array itself learns from them what its
 * client was last told). */
struct store_change {
	char kind;
	uint32_t uid;
	uint32_t flags;
	uint64_t keywords;
	uint64_t modseq;
};

struct store_cache;

/* The expunged-UID record (store_vanished.c): UID ranges with the
 * modseq of their (last) expunge, and the floor below which it may be
 * incomplete. */
struct store_vanished_range {
	uint32_t lo, hi;
	uint64_t modseq;
};
struct store_vanished {
	struct store_vanished_range *ranges;	/* oldest first */
	size_t n, cap;
	uint64_t floor;
};

struct store_folder {
	char *dir;		/* the folder's Maildir directory */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	struct store_msg *msgs;	/* by increasing uid */
	size_t count, cap;
	char *keywords[STORE_MAX_KEYWORDS];
	unsigned nkeywords;
	/* Changes applied by the last store_folder_refresh (and by this
	 * session's own changes since): read and clear them freely. */
	struct store_change *changes;
	size_t nchanges, changes_cap;
	/* Index state (store_index.c). */
	int log_fd;
	uint64_t log_gen;
	uint64_t log_off;	/* end of the last good record read */
	uint64_t log_ino;
	uint64_t log_synced;	/* the log is durable up to here */
	/* What store_log_rescan read from STORE_LOGSYNC_FILE, for the
	 * store_log_durable of the same open (one read, not two). */
	uint64_t logsync_len;
	bool logsync_this_boot;
	bool logsync_fresh;
	int64_t new_mtime_ns, cur_mtime_ns;	/* at the last scan */
	uint64_t log_records;	/* records in the log (for compaction) */
	struct store_vanished vanished;
	bool snapshot_old;	/* loaded from a former format (migrate) */
	/* Where msgs and the names live (store_snapshot.c, store_int.h):
	 * msgs may be the snapshot's records mapped copy-on-write (the
	 * log's changes touch only the pages they change), the names of
	 * the snapshot's messages stay in the snapshot, and names given
	 * since are in xnames. */
	void *msgs_map;		/* msgs's mapping, or NULL (heap) */
	size_t msgs_map_len;
	void *snap;		/* the snapshot, mapped read-only */
	size_t snap_len;
	bool snap_heap;		/* snap is a heap copy, not a mapping */
	const char *snap_names;	/* its names, each NUL-terminated */
	size_t snap_names_len;
	char **xnames;		/* names given since the snapshot */
	uint32_t nxnames, xnames_cap;
	uint32_t *xfree;	/* free slots of xnames */
	uint32_t nxfree;
	/* The snapshot's own records (read-only) and their positions in
	 * modseq order, and the UIDs added or changed since it was loaded
	 * (store_changed_since); touched_all: too many, walk instead. */
	const struct store_msg *snap_msgs;
	const uint32_t *snap_bymodseq;
	size_t snap_count;
	uint32_t *touched;
	size_t ntouched, touched_cap;
	bool touched_all;
	/* Messages in new/ or marked \Recent (store_claim_new). */
	size_t unclaimed;
	struct store_cache *cache;	/* store_cache.c, loaded when used */
};

/* The Maildir directory of folder under the user's root Maildir into
 * dir_r: NULL, "" or "INBOX" (any case) is the root, "Sent" is
 * root/.Sent, "a.b" (hierarchy separator '.') is root/.a.b. False if the
 * name is not a safe folder name. */
bool store_folder_path(const char *root, const char *folder,
		       struct str *dir_r);

/* Open the folder in dir (created if create is set and it is missing),
 * loading or rebuilding its index and bringing it up to date with the
 * Maildir. NULL with a reason. */
struct store_folder *store_folder_open(const char *dir, bool create,
				       struct str *error_r);
void store_folder_free(struct store_folder **f);

/* Bring f up to date: read the log's new records, reload after a
 * compaction, scan the Maildir if another program changed it. Appends
 * to f->changes. False with a reason (f stays usable as it was). */
bool store_folder_refresh(struct store_folder *f, struct str *error_r);
/* A number that changes whenever the folder in dir gains or loses a
 * message or has flags changed, by anyone (new/ and cur/ and the index
 * files, a stat each): to tell "nothing changed" without reading the
 * index (NOTIFY). */
uint64_t store_folder_stamp(const char *dir);

/* The message with uid, or NULL; the index of it in f->msgs via
 * index_r (may be NULL). */
struct store_msg *store_lookup(const struct store_folder *f, uint32_t uid,
			       size_t *index_r);

/* The file name of msg (in new/ or cur/); valid until msg's name or
 * the folder's index changes. */
const char *store_msg_name(const struct store_folder *f,
			   const struct store_msg *msg);

/* The path of msg's file into path_r. */
void store_msg_path(const struct store_folder *f,
		    const struct store_msg *msg, struct str *path_r);

/* The INTERNALDATE of a message whose file a scan found and did not
 * stat (its name gave the sizes): store_msg_date reads the file's mtime
 * when it is first asked for, as Dovecot does. */
#define STORE_DATE_UNKNOWN	(-INT64_MAX)

/* msg's INTERNALDATE: the index's, or the file's mtime for a date the
 * index does not know yet, kept in msg from then on (a compaction
 * writes it into the snapshot). */
int64_t store_msg_date(const struct store_folder *f,
		       const struct store_msg *msg);

/* Open msg's file read-only; if it is gone (renamed by another session
 * or program), refresh once and retry. -1 with a reason: the message is
 * gone (errno ENOENT) or unreadable. The refresh may shift or move f's
 * array: a struct store_msg pointer taken before this call (or before
 * anything that may call it, such as store_cache_get) must be looked up
 * again by UID after it. */
int store_msg_open(struct store_folder *f, uint32_t uid,
		   struct str *error_r);

/* Deliver a message into the folder in dir (created if missing): the
 * file is written by write_fn into tmp/, fsync'd, renamed into new/
 * (cur/ with flags when flags != 0) and its directory fsync'd. When the
 * caller wants the UID (uid_r not NULL: APPEND, COPY), sets flags or an
 * internal date, the index gets its record and the cache its entry
 * too; a plain delivery (local's: uid_r NULL, no flags, no date) writes
 * only the Maildir file, and the next reader's scan of new/ gives it
 * its UID, as for a file any other program delivered. Status and DSN
 * as maildir_deliver. */
enum maildir_status store_deliver(const char *dir, uint32_t flags,
				  int64_t internaldate,
				  maildir_write_fn *write_fn, void *ctx,
				  long long size_limit, uint32_t *uid_r,
				  struct str *error_r, const char **dsn_r);
/* The same for a message in memory (maildir_write_tmp_iov): its sizes
 * and its cache entry come from the buffers, not from reading the file
 * back. */
struct iovec;
enum maildir_status store_deliver_iov(const char *dir, uint32_t flags,
				      int64_t internaldate,
				      const struct iovec *iov, int iovcnt,
				      long long size_limit, uint32_t *uid_r,
				      struct str *error_r,
				      const char **dsn_r);

/* Set the flags and keywords of the message with uid (renaming its file
 * so the name carries the flags) and give it a new modseq. Returns 1
 * done, 0 no such message (expunged meanwhile), -1 error. */
int store_set_flags(struct store_folder *f, uint32_t uid, uint32_t flags,
		    uint64_t keywords, struct str *error_r);

/* The same relative to the flags the message has now (another session
 * may have changed them since this one looked): STORE_FLAGS_ADD or
 * STORE_FLAGS_REMOVE the given ones, or STORE_FLAGS_SET them. */
enum store_flags_op {
	STORE_FLAGS_SET,
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
};
int store_change_flags(struct store_folder *f, uint32_t uid,
		       enum store_flags_op op, uint32_t flags,
		       uint64_t keywords, struct str *error_r);

/* The index of keyword name, defining it in the folder if new. -1 if
 * the folder has STORE_MAX_KEYWORDS already, or on error. */
int store_keyword(struct store_folder *f, const char *name,
		  struct str *error_r);

/* Remove the messages with the given uids (their files and index
 * records). Returns the number removed, -1 on error. */
int store_expunge(struct store_folder *f, const uint32_t *uids, size_t n,
		  struct str *error_r);

/* Move every message still in new/ to cur/ (they were seen by a
 * session that takes them as its \Recent ones: only one session gets
 * each). The uids moved into *uids_r (free it), their number returned;
 * -1 on error. */
int store_claim_new(struct store_folder *f, uint32_t **uids_r,
		    struct str *error_r);

/* The UIDVALIDITY of the folder in dir from its index's first line:
 * 1 found, 0 no index (yet). */
int store_index_uidvalidity(const char *dir, uint32_t *uidvalidity_r);

/* The UIDs expunged after modseq (RFC 7162 VANISHED (EARLIER)): fn is
 * called with each range of them (a range may include UIDs expunged
 * before modseq, next to one expunged after it). False, without a call,
 * if the record no longer reaches back to modseq (it is bounded): the
 * caller then takes every UID it cares about that is not in the folder
 * as expunged. */
typedef void store_vanished_fn(void *ctx, uint32_t lo, uint32_t hi);
bool store_vanished_since(const struct store_folder *f, uint64_t modseq,
			  store_vanished_fn *fn, void *ctx);

/* The UIDs of the messages whose modseq is above modseq (RFC 7162
 * CHANGEDSINCE, QRESYNC), in increasing order, into *uids_r (mem_free
 * it); their number. A folder opened from its snapshot answers without
 * looking at every message: the snapshot indexes its messages by
 * modseq, and the folder notes what changed since. */
size_t store_changed_since(const struct store_folder *f, uint64_t modseq,
			   uint32_t **uids_r);

/* Set the flags as store_change_flags does, only if the message's modseq
 * is at most unchangedsince (RFC 7162 STORE UNCHANGEDSINCE): 2 when it
 * is higher (nothing changed), otherwise as store_change_flags. */
int store_change_flags_unchanged(struct store_folder *f, uint32_t uid,
				 enum store_flags_op op, uint32_t flags,
				 uint64_t keywords, uint64_t unchangedsince,
				 struct str *error_r);

/* Rewrite the snapshot and start an empty log. */
bool store_compact(struct store_folder *f, struct str *error_r);

/* Drop the index files of dir so the next open rebuilds them from the
 * Maildir ("correo mailbox rebuild"). */
bool store_index_remove(const char *dir, struct str *error_r);

/*
 * The message cache (store_cache.c): per folder, correo-cache holds for
 * each message what IMAP clients ask for again and again, so listing a
 * folder opens no message file. It is filled when a message is
 * delivered through the store (local, IMAP APPEND, COPY, MOVE) and, for
 * a message another program dropped into the Maildir, the first time a
 * value is asked for. A lost, damaged or stale cache is never an error:
 * the value is computed from the message again.
 */
enum store_cache_field {
	/* The exact bytes imapd sends for FETCH ENVELOPE, BODY and
	 * BODYSTRUCTURE, and (the _UTF8 ones) the same with UTF-8 quoted
	 * strings (IMAP4rev2, UTF8=ACCEPT; mime_imap_*). */
	STORE_CACHE_ENVELOPE = 1,
	STORE_CACHE_ENVELOPE_UTF8,
	STORE_CACHE_BODY,
	STORE_CACHE_BODY_UTF8,
	STORE_CACHE_BODYSTRUCTURE,
	STORE_CACHE_BODYSTRUCTURE_UTF8,
	/* The message's header fields among the cached names (Date,
	 * Subject, From, Sender, Reply-To, To, Cc, Bcc, Message-ID,
	 * References, In-Reply-To, Content-Type and a few a mail reader
	 * lists; store_cache_header_cached), as written, in order, with
	 * CRLF line ends, and the header's blank line after them when
	 * BODY[HEADER.FIELDS] shows one. */
	STORE_CACHE_HEADERS,
	/* RFC 8970 PREVIEW: up to 200 characters of UTF-8 from the first
	 * text/plain part (else text/html without its tags), transfer
	 * encoding and charset undone, white space runs made one space;
	 * empty if the message has no such text. */
	STORE_CACHE_PREVIEW,
	/* RFC 8514 SAVEDATE: decimal seconds since the epoch when the
	 * message was saved into this folder (its internal date for a
	 * message another program dropped in). */
	STORE_CACHE_SAVEDATE,
	STORE_CACHE_NFIELDS
};

/* The value of field for the message with uid into out (replaced).
 * 1, 0 no such message (expunged), -1 the message is unreadable. */
int store_cache_get(struct store_folder *f, uint32_t uid,
		    enum store_cache_field field, struct str *out);
/* Whether the header field called name[0, len) is in the cache. */
bool store_cache_header_cached(const char *name, size_t len);
/* The value of the first field called name (one of the cached names) of
 * the message, raw (after the colon, folding and encoded words as
 * written, line ends as CRLF), into value_r: 1 found, 0 the message has none, -1 cannot
 * tell (name not cached, message gone or unreadable). */
int store_cache_header(struct store_folder *f, uint32_t uid,
		       const char *name, struct str *value_r);
/* BODY[HEADER.FIELDS (names)] of the message (names all cached) onto
 * out, the same bytes as from the message: 1, 0 gone, -1 a name is not
 * cached or the message is unreadable (read the message). */
int store_cache_header_fields(struct store_folder *f, uint32_t uid,
			      const char *const *names, size_t n,
			      struct str *out);
/* Rewrite the cache without the entries of expunged messages, if that
 * frees enough (always with force). False on error. */
bool store_cache_compact(struct store_folder *f, bool force);

/* Maildir info letters for flags ("FRS", in ASCII order) into out. */
void store_flags_letters(uint32_t flags, struct str *out);
/* The flags a file name's ":2,..." info states (0 without info). */
uint32_t store_flags_from_name(const char *name);

#endif
