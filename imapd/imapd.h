#ifndef IMAPD_IMAPD_H
#define IMAPD_IMAPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap_condstore.h"
#include "imap_parse.h"
#include "imap_seqset.h"
#include "imap_zlib.h"
#include "store.h"
#include "store_quota.h"
#include "store_objectid.h"
#include "str.h"

/*
 * imapd: the IMAP mail process (RFC 3501, RFC 9051), running as the
 * mailbox owner on one user's Maildir++ through the mailbox store. It
 * starts authenticated (the login front end or a PREAUTH stdin/stdout
 * session checked the user); pre-authentication commands are the front
 * end's.
 */

/* Sizes and limits. */
#define IMAPD_APPEND_MAX	(64 * 1024 * 1024)	/* APPENDLIMIT */
/* The literals of one command, and what CATENATE builds for one. */
#define IMAPD_APPEND_MAX_TOTAL	((size_t)IMAPD_APPEND_MAX * 2)
#define IMAPD_OUT_FLUSH		65536
#define IMAPD_INFLATE_MAX	16384	/* COMPRESS input per inflate */
#define IMAPD_IDLE_MAX		(30 * 60)	/* RFC 3501: 30 min */
#define IMAPD_TIMEOUT		(30 * 60)	/* between commands */
#define IMAPD_CONTEXT_MAX	16	/* live UPDATE searches a session */

/* The session's view of one message of the selected mailbox. Sequence
 * numbers are positions in this view; expunges by other sessions stay in
 * it (expunged set) until the session may report them. */
struct imapd_view {
	uint32_t uid;
	uint32_t flags;		/* STORE_F_*, as last reported */
	uint64_t keywords;
	uint64_t modseq;	/* as last reported (with CONDSTORE) */
	bool recent;
	bool expunged;		/* gone from the store, not yet reported */
	bool flags_changed;	/* to report as FETCH FLAGS */
};

struct imapd {
	int in_fd, out_fd;
	struct str in;		/* bytes read, not yet parsed */
	struct str out;		/* bytes to send */
	struct str tagged;	/* the command's tagged reply, sent last */
	struct imap_parser *parser;
	const char *user;
	char *root;		/* the user's Maildir (INBOX) */
	bool logout, rev2, utf8;
	bool utf8_accept;	/* ENABLE UTF8=ACCEPT (RFC 6855) */
	/* COMPRESS=DEFLATE (RFC 4978): started after the OK is sent. */
	struct imap_zlib *zlib;
	bool zlib_start;
	struct str zbuf;	/* compressed output being written */
	uint64_t in_bytes, out_bytes;
	unsigned deleted, expunged;	/* for the logout line */

	/* The selected mailbox, or folder == NULL. */
	struct store_folder *folder;
	char *mailbox;		/* its name, UTF-8 */
	bool readonly;
	struct imapd_view *view;
	size_t nview, capview;
	/* The view is the store's array itself (imapd_view.c): view is
	 * unused, message i is folder->msgs[i]; the UIDs this session
	 * took as \Recent are in recent_uids (sorted). */
	bool view_shared;
	uint32_t view_top;	/* the highest UID in the shared view */
	uint32_t *recent_uids;
	size_t nrecent, recent_cap;
	/* Idle-time indexing (imapd_fts_idle): of the folder of this
	 * UIDVALIDITY and directory, with the index file of this inode,
	 * UIDs below fts_idle_uid were seen. */
	uint64_t fts_idle_uid, fts_idle_ino;
	uint32_t fts_idle_validity;
	const char *fts_idle_dir;
	bool exists_changed;
	unsigned announced_keywords;	/* in the last FLAGS response */
	struct imap_seqset saved;	/* SEARCHRES "$" */
	struct imapd_context *contexts;	/* live RETURN (UPDATE) searches */
	size_t ncontexts;
	struct imapd_notify *notify;	/* NOTIFY SET (imapd_notify.c) */

	/* Quota limits from the login (quota_conf), else maildirsize's. */
	struct store_quota quota;
	bool quota_conf;
	struct store_emailids *emailids;	/* its EMAILID records */
	uint64_t emailids_cmd;	/* the command that last checked them */
	uint64_t cmd_seq;	/* commands run so far */

	/* CONDSTORE/QRESYNC (RFC 7162, imapd_condstore.c). */
	bool condstore, qresync;	/* enabled */
	uint64_t view_modseq;	/* HIGHESTMODSEQ the client may cache */
	bool tag_modseq;	/* the tagged OK carries [HIGHESTMODSEQ] */

	/* Parking (imapd_park.c): the connection to the user's park
	 * process or -1, the delay before an IDLE is parked (ms; -2 not
	 * yet known, -1 never), whether this process handed its client
	 * over; and what a resumed session needs from the login. */
	int park_fd;
	int park_delay;
	bool parked;
	char *quota_rule;
	char *addr;
	bool tls;
};

/* What a command may be answered with now: may untagged EXPUNGE
 * responses be sent (not during FETCH, STORE and SEARCH by sequence
 * number, RFC 3501 7.4.1)? */
enum imapd_sync_mode {
	IMAPD_SYNC_ALL,
	IMAPD_SYNC_NO_EXPUNGE,
};

/* imapd_io.c */
void imapd_init(struct imapd *s, int in_fd, int out_fd, const char *user,
		const char *root);
void imapd_deinit(struct imapd *s);
/* Serve until LOGOUT, EOF, a timeout or a fatal error. */
void imapd_serve(struct imapd *s, const char *greeting);
void imapd_printf(struct imapd *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imapd_append(struct imapd *s, const char *data, size_t len);
bool imapd_flush(struct imapd *s);
/* COMPRESS: flush what is buffered (the OK) uncompressed, then compress
 * both directions from here on (imapd_serve calls it after the command
 * that set zlib_start). */
void imapd_compress_start(struct imapd *s);
/* Read one line (IDLE's DONE) with a timeout in seconds, polling the
 * given extra fd too: 1 a line in line_r, 0 extra fd readable, -1 EOF
 * or error or timeout. */
int imapd_read_line(struct imapd *s, int extra_fd, int timeout,
		    struct str *line_r);

/* imapd_cmd.c: one command; tag and name from the parser. */
void imapd_command(struct imapd *s, const struct imap_cmd *cmd);
void imapd_capability(struct imapd *s, struct str *out);
/* The tagged reply of the running command: sent after the untagged
 * updates that the command's end allows. */
void imapd_tagged(struct imapd *s, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* imapd_mailbox.c */
bool imapd_select(struct imapd *s, const char *tag, const char *name,
		  bool readonly, const struct imap_select_params *params);
void imapd_close_mailbox(struct imapd *s, bool expunge);
/* Bring the view up to date and send the untagged responses allowed in
 * mode. */
void imapd_sync(struct imapd *s, enum imapd_sync_mode mode);
bool imapd_expunge(struct imapd *s, const struct imap_seqset *uids);
void imapd_idle(struct imapd *s, const char *tag);
/* IDLE's loop after "+ idling" (resumed: also after a park): report
 * changes until DONE, a timeout or the end of the connection. */
void imapd_idle_loop(struct imapd *s, const char *tag);
/* Add m to the end of the view; take what is in new/ as recent. */
struct imapd_view *imapd_view_add(struct imapd *s, const struct store_msg *m);
void imapd_claim_recent(struct imapd *s);

/* imapd_park.c: idle sessions handed to the user's park process. */
/* In the spawner's child, as the user (login_spawn_spec.prepare):
 * connect to the user's park process, starting it if it is not
 * running, as LOGIN_MAIL_PARK_FD. */
void imapd_park_prepare(const char *user, const char *mailbox,
			const char *exe, char **envp);
/* At the start of a mail process, before it opens anything: is fd 3
 * (LOGIN_MAIL_HOLD_FD) an anvil hold to take along when parking? */
void imapd_park_note_hold(void);
/* In IDLE, nothing happening for the park delay: hand the client to
 * the park process. True if it took it (the process then exits
 * without a word to the client). */
bool imapd_park_idle(struct imapd *s, const char *tag, int watch_fd);
/* Between commands, nothing from the client for the park delay: hand
 * the client to the park process (which wakes only for the client).
 * True if it took it. */
bool imapd_park_quiet(struct imapd *s);
/* The park process's main loop (imap-park). */
void imapd_park_main(void) __attribute__((noreturn));
/* A session resumed by the park process (imapd --mail-resume). */
void imapd_resume_main(void) __attribute__((noreturn));
/* Resolve a sequence set given as an argument into a normalised set of
 * UIDs of the view (uid: the set is of UIDs). NULL error_r on success. */
bool imapd_uidset(struct imapd *s, const char *text, bool uid,
		  struct imap_seqset *uids_r, const char **error_r);
/* The view index of uid (binary search), or -1. */
long imapd_view_find(const struct imapd *s, uint32_t uid);
/* Map flags between the store's bits and IMAP's. */
uint32_t imapd_flags_to_store(unsigned imap_flags);
unsigned imapd_flags_from_store(uint32_t store_flags);
void imapd_format_flags(struct imapd *s, const struct imapd_view *v,
			struct str *out);
/* FLAGS and PERMANENTFLAGS again if keywords were defined since the
 * client last heard (before any FETCH that shows a new one). */
void imapd_announce_keywords(struct imapd *s);
/* The directory of mailbox name (UTF-8) under the root; false if the
 * name is invalid (error_r says why). */
bool imapd_mailbox_dir(struct imapd *s, const char *name, struct str *dir_r,
		       const char **error_r);

/* imapd_view.c: the view while it is the store's array (shared). */
/* Make the view the store's array (after SELECT). */
void imapd_view_share(struct imapd *s);
/* Entry i of the view, shared or not, into v_r. */
void imapd_view_entry(const struct imapd *s, size_t i,
		      struct imapd_view *v_r);
static inline uint32_t imapd_view_uid(const struct imapd *s, size_t i)
{
	return s->view_shared ? s->folder->msgs[i].uid : s->view[i].uid;
}
/* The index of the first message of the view with a UID of at least
 * uid (nview if none). */
size_t imapd_view_lower(const struct imapd *s, uint32_t uid);
/* Note uid as taken \Recent by this session (shared view). */
void imapd_view_add_recent(struct imapd *s, uint32_t uid);
unsigned imapd_view_recent_count(const struct imapd *s);
/* Give the session its own view array (as the client knows it, from
 * the store's change notes if a refresh brought any). */
void imapd_view_materialize(struct imapd *s);
/* After a refresh of a shared view: if the store only gained messages,
 * take them into the view (claiming \Recent ones) and keep it shared:
 * true. False: something else changed; the caller materializes the
 * view and compares (EXISTS for the new ones is pending). */
bool imapd_view_shared_sync(struct imapd *s);
void imapd_view_release(struct imapd *s);

/* imapd_list.c */
/* A mailbox name from the client (mUTF-7 before IMAP4rev2) as checked
 * UTF-8 in out ("INBOX" for INBOX in any case). */
bool imapd_name_in(struct imapd *s, const char *raw, struct str *out,
		   const char **error_r);
/* Whether the mailbox (UTF-8 name) exists. */
bool imapd_exists(struct imapd *s, const char *name);
/* The mailbox name in argument i of cmd, as UTF-8 in name; false with
 * the tagged BAD (missing) or NO (invalid) sent. */
bool imapd_name_arg(struct imapd *s, const struct imap_cmd *cmd, unsigned i,
		    struct str *name);
/* The same for a mailbox that must exist: NO [code] when it does not
 * (TRYCREATE for a target, NONEXISTENT otherwise). */
bool imapd_existing_arg(struct imapd *s, const struct imap_cmd *cmd,
			unsigned i, const char *code, struct str *name);
void imapd_cmd_list(struct imapd *s, const struct imap_cmd *cmd, bool lsub);
/* The pieces LIST-EXTENDED (imapd_listext.c) shares with LIST/LSUB:
 * every mailbox (UTF-8 names, INBOX first), subscriptions, children,
 * SPECIAL-USE attributes, names for the client, STATUS responses. */
size_t imapd_mailboxes(struct imapd *s, char ***names_r);
void imapd_names_free(char **names, size_t n);
bool imapd_has_children(char **names, size_t n, const char *name);
char **imapd_subscriptions(struct imapd *s, size_t *n_r);
bool imapd_subscribed(char **subs, size_t n, const char *name);
const char *imapd_special_attr(const char *name);
void imapd_name_out(struct imapd *s, const char *utf8, struct str *out);
const char *imapd_status_items_check(const struct imap_arg *items,
				     unsigned nitems);
bool imapd_status_send(struct imapd *s, const char *name,
		       const struct imap_arg *items, unsigned nitems);
/* LIST with RFC 5258 syntax (selection and return options, several
 * patterns) and RFC 5819's RETURN (STATUS ...). */
void imapd_cmd_list_ext(struct imapd *s, const struct imap_cmd *cmd);
void imapd_cmd_create(struct imapd *s, const struct imap_cmd *cmd);
void imapd_cmd_delete(struct imapd *s, const struct imap_cmd *cmd);
/* Move every message of src into the folder in dst_dir (created if
 * missing) with flags, keywords and internal dates: copy, then one
 * expunge (RENAME INBOX). False with a reason. */
bool imapd_move_all(struct store_folder *src, const char *dst_dir,
		    struct str *error_r);
void imapd_cmd_rename(struct imapd *s, const struct imap_cmd *cmd);
void imapd_cmd_subscribe(struct imapd *s, const struct imap_cmd *cmd,
			 bool subscribe);
void imapd_cmd_status(struct imapd *s, const struct imap_cmd *cmd);
/* Create the SPECIAL-USE folders (Drafts, Sent, Trash, Junk, Archive)
 * that are missing, subscribed. */
void imapd_special_use_create(struct imapd *s);

/* imapd_fetch.c */
void imapd_cmd_fetch(struct imapd *s, const struct imap_cmd *cmd);
/* The PREVIEW (RFC 8970) of message m of the selected mailbox into out
 * (UTF-8, at most 256 characters, possibly empty); mime is its parse if
 * the caller has one already (else NULL: the file is read here). The
 * one place a preview is made: a cached one is to be answered here
 * without reading the file. False if the message is gone. */
struct mime_message;
bool imapd_preview(struct imapd *s, const struct store_msg *m,
		   const struct mime_message *mime, struct str *out);
/* The message file of uid in the selected folder, read with CRLF line
 * ends into out. False if it is gone. */
bool imapd_message_crlf(struct imapd *s, uint32_t uid, struct str *out);
/* The header block (through the blank line) and the body of a CRLF
 * message. */
void imapd_split_header(const char *msg, size_t len, size_t *hdr_len_r);

/* imapd_store.c */
void imapd_cmd_store(struct imapd *s, const struct imap_cmd *cmd);
void imapd_cmd_copy(struct imapd *s, const struct imap_cmd *cmd, bool move);
void imapd_cmd_append(struct imapd *s, const struct imap_cmd *cmd);

/* imapd_objectid.c: OBJECTID (RFC 8474) and SAVEDATE (RFC 8514). */
/* The MAILBOXID of mailbox name (UTF-8), made if it has none. */
bool imapd_mailbox_id(struct imapd *s, const char *name,
		      char id_r[STORE_OBJECTID_MAX]);
/* The EMAILID of a message of the selected mailbox (the records are
 * checked for changes once per command that asks). */
void imapd_email_id(struct imapd *s, const struct store_msg *m,
		    char id_r[STORE_OBJECTID_MAX]);
/* The EMAILIDs a COPY or MOVE gives its copies (the originals'): add
 * each copy as it is made, then write them all at once (one fdatasync
 * per command), before a MOVE expunges the originals. */
struct imapd_copied_ids {
	uint32_t *uids;		/* in the destination */
	char (*ids)[STORE_OBJECTID_MAX];
	size_t n;
};
void imapd_copied_id_add(struct imapd *s, struct imapd_copied_ids *c,
			 const struct store_msg *src, uint32_t dst_uid);
/* Write the records into dst and release c. */
bool imapd_copied_ids_write(struct imapd_copied_ids *c,
			    struct store_folder *dst, struct str *error_r);
/* The save date of a message of the selected mailbox, -1 if unknown. */
int64_t imapd_savedate(struct imapd *s, const struct store_msg *m);

/* imapd_search.c */
void imapd_cmd_search(struct imapd *s, const struct imap_cmd *cmd);
struct imap_search;
/* Evaluate search on the view: the indexes of the matching messages (not
 * expunged), in view order, in *idx_r (mem_free it). */
size_t imapd_search_run(struct imapd *s, struct imap_search *search,
			uint32_t **idx_r);

/* imapd_sort.c: SORT and UID SORT (RFC 5256), ESORT (RFC 5267). */
void imapd_cmd_sort(struct imapd *s, const struct imap_cmd *cmd);
/* The header values sort and thread keys come from (mask:
 * IMAP_SORT_H_*), for the message uid of the selected folder; values
 * are unfolded, owned by h (free with imapd_sort_headers_release). The
 * one place these reads happen: the index cache will answer here. */
struct imap_sort_headers;
void imapd_sort_headers_get(struct imapd *s, uint32_t uid, unsigned mask,
			    struct imap_sort_headers *h);
void imapd_sort_headers_release(struct imap_sort_headers *h);
/* SORT's and THREAD's "charset search-key..." at a: false when the
 * tagged reply (BAD, NO [BADCHARSET]) has been set. */
bool imapd_sort_criteria(struct imapd *s, const struct imap_cmd *cmd,
			 const struct imap_arg *a,
			 struct imap_search **search_r);
/* The view indexes of the messages search matches (resolved in place),
 * in program's order; the count (free *idx_r with mem_free). */
struct imap_sort_program;
size_t imapd_sort_run(struct imapd *s, const struct imap_sort_program *program,
		      struct imap_search *search, uint32_t **idx_r);

/* imapd_context.c: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267):
 * searches and sorts with RETURN (UPDATE) stay live; imapd_sync() calls
 * the two hooks. */
struct imapd_context;
/* Make search (copied) live under tag, in sort's order (copied; NULL:
 * a search, unordered); false (and an untagged NO [NOUPDATE]) when
 * there are too many or the tag is in use. */
bool imapd_context_add(struct imapd *s, const char *tag, bool uid,
		       const struct imap_search *search,
		       const struct imap_sort_program *sort);
/* Before the EXPUNGE responses: REMOVEFROM for expunged results. */
void imapd_context_expunging(struct imapd *s);
/* After the view is current: ADDTO/REMOVEFROM for what changed. */
void imapd_context_update(struct imapd *s);
void imapd_context_free_all(struct imapd *s);
void imapd_cmd_cancelupdate(struct imapd *s, const struct imap_cmd *cmd);

/* imapd_catenate.c: APPEND's CATENATE (RFC 4469): the message the
 * parts in list (TEXT literal, URL string pairs) make, into out, at
 * most max bytes; false with the tagged reply sent (BAD, NO [BADURL],
 * NO [TOOBIG]). *cache (NULL at first) keeps the last message a URL
 * named for the next call of the same command; free it after. */
struct imapd_catenate_cache;
bool imapd_catenate(struct imapd *s, const struct imap_cmd *cmd,
		    const struct imap_arg *list, size_t max,
		    struct imapd_catenate_cache **cache, struct str *out);
void imapd_catenate_cache_free(struct imapd_catenate_cache **cache);

/* imapd_notify.c: NOTIFY (RFC 5465). imapd_notify_check after every
 * command and in IDLE (STATUS and LIST responses for what changed in
 * other mailboxes); imapd_notify_watch adds what it watches to IDLE's
 * inotify descriptor; imapd_notify_new sends MessageNew's FETCH items for
 * the new messages of the selected mailbox at view[first..end). */
struct imapd_notify;
void imapd_cmd_notify(struct imapd *s, const struct imap_cmd *cmd);
void imapd_notify_check(struct imapd *s);
void imapd_notify_watch(struct imapd *s, int fd);
void imapd_notify_new(struct imapd *s, size_t first, size_t end);
void imapd_notify_free(struct imapd *s);
/* imapd_fetch.c: the untagged FETCH of items for the message at
 * view[i] (a message gone is skipped). */
struct imap_fetch;
void imapd_fetch_items(struct imapd *s, size_t i,
		       const struct imap_fetch *fetch);

/* imapd_thread.c: THREAD and UID THREAD (RFC 5256). */
void imapd_cmd_thread(struct imapd *s, const struct imap_cmd *cmd);

/* imapd_quota.c: RFC 9208 */
/* The limits handed over at login (a quota rule, "none" for none); NULL:
 * take them from the Maildir's maildirsize. */
void imapd_quota_init(struct imapd *s, const char *rule);
/* May bytes and messages more be stored? */
bool imapd_quota_fits(struct imapd *s, uint64_t bytes, uint64_t messages);
/* Before the continuation of an APPEND literal: if its announced size
 * does not fit, answer NO [OVERQUOTA] now and have the parser skip the
 * command (the client sends no data). True if refused. */
bool imapd_quota_literal_refused(struct imapd *s);
/* The tagged NO [OVERQUOTA]. */
void imapd_quota_refuse(struct imapd *s, const char *tag);
/* Octets in RFC 9208's units of 1024 octets, rounded up. */
uint64_t imapd_quota_kb(uint64_t bytes);
void imapd_cmd_getquota(struct imapd *s, const struct imap_cmd *cmd);
void imapd_cmd_getquotaroot(struct imapd *s, const struct imap_cmd *cmd);
void imapd_cmd_setquota(struct imapd *s, const struct imap_cmd *cmd);

/* imapd_condstore.c */
/* A modseq as the client sees it: never 0 (RFC 7162 mod-sequence-value
 * is positive; an empty new folder has none yet). */
static inline uint64_t imapd_modseq(uint64_t modseq)
{
	return modseq == 0 ? 1 : modseq;
}
/* A CONDSTORE-enabling command ran (RFC 7162 3.1): the first one in a
 * selected mailbox sends the HIGHESTMODSEQ. */
void imapd_condstore_enable(struct imapd *s);
/* "* n FETCH ([UID u ]FLAGS (...)[ MODSEQ (m)])" for view index i. */
void imapd_fetch_modseq_flags(struct imapd *s, size_t i);
/* "* VANISHED (EARLIER) ..." for the UIDs of uids (normalised)
 * expunged after modseq; seqs and match_uids: QRESYNC's sequence match
 * data, or NULL. Nothing if there are none. */
void imapd_vanished_earlier(struct imapd *s, const struct imap_seqset *uids,
			    uint64_t modseq, const struct imap_seqset *seqs,
			    const struct imap_seqset *match_uids);
/* SELECT/EXAMINE (QRESYNC ...): VANISHED (EARLIER) and the FETCHes of
 * what changed since the client's modseq (nothing if its UIDVALIDITY
 * is not the folder's). */
void imapd_qresync_select(struct imapd *s,
			  const struct imap_select_params *p);

#endif
