#ifndef STORE_STORE_QUOTA_H
#define STORE_STORE_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/*
 * Quota of a user's Maildir++ tree (RFC 9208 STORAGE and MESSAGE; the
 * Maildir++ quota spec's "maildirsize" file, as Courier, maildrop and
 * Dovecot keep it, so they can share a Maildir with correo).
 *
 * The limits come from the administrator (mailbox_quota_maps,
 * mailbox_quota_default): local and auth look them up and hand them to
 * whoever writes the Maildir. The usage lives in the tree's root:
 *
 *   maildirsize    "BYTESS,COUNTC\n" (the limits; either may be left
 *                  out), then lines "BYTES COUNT\n", each a change
 *                  (negative for removals) appended with O_APPEND in
 *                  one write(2); the usage is the sum of the lines.
 *
 * The store appends a line for every message it adds (store_deliver:
 * local, APPEND, COPY, MOVE) and removes (store_expunge: EXPUNGE, MOVE,
 * POP3 DELE), but only to a file that exists: without limits nobody
 * keeps count. The file is recalculated from the folders' indexes (not
 * by reading the messages) only when the spec says so: it is missing
 * while there are limits, larger than STORE_QUOTA_FILE_MAX bytes, not
 * parseable (a torn or garbled line), its limits are not the configured
 * ones, or the usage is over a limit and the file is older than
 * STORE_QUOTA_STALE seconds (another program may have removed mail
 * without telling it).
 *
 * SECURITY: runs as the mailbox owner. The file is the owner's: a user
 * with shell access can lie in it, which is why it is recalculated when
 * it is not well-formed (and why Maildir++ quota is "voluntary"). It is
 * opened with O_NOFOLLOW and read with a size limit.
 */

#define STORE_QUOTA_FILE	"maildirsize"
#define STORE_QUOTA_FILE_MAX	5120
#define STORE_QUOTA_STALE	(15 * 60)

/* Limits; 0 is no limit. */
struct store_quota {
	uint64_t bytes;
	uint64_t messages;
};

/* Usage; signed so a damaged sum shows as such. */
struct store_usage {
	int64_t bytes;
	int64_t messages;
};

/* A limits rule as the tables and mailbox_quota_default state it:
 * words "storage=SIZE" (bytes, or with k, m, g: KiB, MiB, GiB) and
 * "messages=N" separated by spaces or ':' (so Dovecot's
 * "*:storage=1G:messages=1000" reads too; a "*" is skipped), 0 for no
 * limit; "none" (or an empty text) is no quota at all. False with a
 * static reason. */
bool store_quota_parse(const char *text, struct store_quota *q_r,
		       const char **error_r);
/* Whether q limits anything. */
bool store_quota_is_set(const struct store_quota *q);
/* The Maildir++ header "NS,NC" of q onto out (without the newline). */
void store_quota_format_header(const struct store_quota *q, struct str *out);

/* Parse maildirsize contents [data, data+len): the header's limits and
 * the sum of the lines. False if anything is off (no header, a line
 * that is not two numbers, a last line without its newline, a sum
 * below 0): the caller recalculates. */
bool store_quota_parse_file(const char *data, size_t len,
			    struct store_quota *limits_r,
			    struct store_usage *usage_r);

/* The Maildir++ root of the folder in dir (dir itself, or the parent
 * of a ".Folder"). */
void store_quota_root(const char *dir, struct str *root_r);

/* The usage of the tree at root. limits: the configured limits, kept
 * in the file's header (NULL: whatever the file says, as Maildir++
 * readers do). 1 with usage_r and the limits in effect in limits_r
 * (may be NULL); 0 no quota (no limits configured, or NULL and no
 * file); -1 error. */
int store_quota_get(const char *root, const struct store_quota *limits,
		    struct store_quota *limits_r, struct store_usage *usage_r,
		    struct str *error_r);

/* May bytes more in messages more messages be stored in the tree at
 * root? 1 yes (or no quota), 0 over quota, -1 error (the caller
 * decides; local defers). Equal to the limit still fits. */
int store_quota_check(const char *root, const struct store_quota *limits,
		      uint64_t bytes, uint64_t messages, struct str *error_r);

/* Rewrite maildirsize from the folders' indexes: the header of limits
 * and one line of the totals. The usage into usage_r (may be NULL). A
 * missing root is empty (and gets no file). */
bool store_quota_recalc(const char *root, const struct store_quota *limits,
			struct store_usage *usage_r, struct str *error_r);

/* Lock the quota of the tree dir is in (dir: the root or a folder):
 * shared around a change to the Maildir and its store_quota_note,
 * exclusive around a recalculation. Take it before any folder's index
 * lock. The descriptor to pass to store_quota_unlock, or -1 when the
 * root will not open (the caller goes on unlocked: the quota is
 * approximate, the mail is not). */
int store_quota_lock(const char *dir, bool exclusive);
void store_quota_unlock(int *fd);

/* Add the messages of the folder in dir to usage (from its index). A
 * folder that will not open is skipped with a warning. */
void store_quota_add_folder(const char *dir, struct store_usage *usage);

/* Note a change in the folder in dir (the store calls this after it
 * added or removed messages): one line appended to the root's
 * maildirsize if there is one. Best effort: a failure is logged, the
 * next recalculation mends it. */
void store_quota_note(const char *dir, int64_t bytes, int64_t messages);

#endif
