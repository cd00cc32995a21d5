#ifndef STORE_STORE_OBJECTID_H
#define STORE_STORE_OBJECTID_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/*
 * Object identifiers (IMAP OBJECTID, RFC 8474) kept by the store.
 *
 * MAILBOXID: a random id per folder, in the file correo-mailboxid of the
 * folder's directory, made the first time it is asked for. The file moves
 * with the directory, so a RENAME keeps the id, and a folder deleted and
 * created again gets a new one.
 *
 * EMAILID: derived from the message file's Maildir base name (the name
 * before ":2,"), which is unique for all time and never changes when
 * flags do: "M" and 24 hex digits of its SHA-256. A copy or a move is a
 * new file with a new base name, so the id the message had is recorded
 * for the new name in correo-emailids in the destination's directory
 * (one "basename id" line each, appended), and that record wins.
 *
 * Ids are 1 to STORE_OBJECTID_MAX - 1 characters of [A-Za-z0-9_-].
 */

#define STORE_OBJECTID_MAX 64

/* The MAILBOXID of the folder in dir into id_r, created if it has none.
 * False with a reason. */
bool store_mailbox_id(const char *dir, char id_r[STORE_OBJECTID_MAX],
		      struct str *error_r);

/* The recorded EMAILIDs of one folder, loaded once and reloaded when the
 * file grew. */
struct store_emailids;

struct store_emailids *store_emailids_load(const char *dir);
void store_emailids_free(struct store_emailids **e);
/* Reload e if another process recorded ids since it was loaded. */
void store_emailids_refresh(struct store_emailids **e, const char *dir);

/* The EMAILID of the message file called name (in new/ or cur/, with or
 * without its ":2," info) into id_r. e may be NULL (no records). */
void store_email_id(const struct store_emailids *e, const char *name,
		    char id_r[STORE_OBJECTID_MAX]);

/* Record that the message file called name in the folder in dir has the
 * EMAILID id (a copy or a move of a message that has it). False with a
 * reason. */
bool store_email_id_set(const char *dir, const char *name, const char *id,
			struct str *error_r);
/* The same for many messages at once (a COPY or MOVE of a set): add
 * each to records with store_email_id_record (false for an invalid id),
 * then write them all with one write and one fdatasync. */
bool store_email_id_record(struct str *records, const char *name,
			   const char *id);
bool store_email_ids_write(const char *dir, const struct str *records,
			   struct str *error_r);

/* True if id has the form of an object id (SEARCH EMAILID's argument). */
bool store_objectid_valid(const char *id);

#endif
