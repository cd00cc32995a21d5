#ifndef COMMON_UIDLIST_H
#define COMMON_UIDLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* The per-folder UID list of a Maildir (DESIGN.md): UIDVALIDITY, UIDNEXT
 * and uid -> message base name, kept in the folder's "correo-uidlist"
 * file so POP3 UIDLs and IMAP UIDs stay stable across sessions and agree
 * with each other.
 *
 * File format (text, one record per line, LF ends every line):
 *
 *   1 V<uidvalidity> N<uidnext>
 *   <uid> W<vsize> :<base name>
 *   ...
 *
 * The first line is the version ("1") and the header fields. Each record
 * is a uid (increasing), fields (a letter and a value, separated by
 * spaces; W is the size with CRLF line ends, the size POP3 and IMAP
 * report) and, after ':', the base name: the Maildir file name up to its
 * ':' info part, which changes with the flags. Readers skip fields they
 * do not know, so later versions can add some.
 *
 * uidlist_sync() brings the list up to date with the folder under the
 * lock file "correo-uidlist.lock": it moves messages from new/ to cur/
 * (adding ":2,"), gives every name without a uid the next uid (in name
 * order, which is delivery order for names that start with the time),
 * forgets names whose file is gone and rewrites the file atomically
 * (safe_write_file) if anything changed. */

#define UIDLIST_FILE "correo-uidlist"
#define UIDLIST_LOCK "correo-uidlist.lock"

struct uidlist_rec {
	uint32_t uid;
	uint64_t vsize;		/* size with CRLF line ends */
	char *name;		/* base name (no ':' info) */
	char *file;		/* after uidlist_sync: "cur/NAME:2,FLAGS" */
};

struct uidlist {
	uint32_t validity;
	uint32_t next;
	struct uidlist_rec *recs;	/* by increasing uid */
	size_t count, cap;
};

#define UIDLIST_INIT { 0, 0, NULL, 0, 0 }

void uidlist_clear(struct uidlist *ul);

/* Parse the file's text into ul (cleared first). False with a reason
 * naming the line ("line 3: uid not increasing"). */
bool uidlist_parse(const char *data, size_t len, struct uidlist *ul,
		   struct str *error_r);
/* The file's text for ul. */
void uidlist_format(const struct uidlist *ul, struct str *out);

/* Read maildir's list: 1 read, 0 no list yet (ul empty), -1 error. */
int uidlist_read(const char *maildir, struct uidlist *ul,
		 struct str *error_r);

/* The size of a message with CRLF line ends: its bytes plus one CR for
 * every LF not already preceded by CR. False with errno set. */
bool uidlist_vsize(const char *path, uint64_t *vsize_r);

/* The size with CRLF line ends a Maildir base name (no ':' info) states
 * in a ",W=<bytes>" field after its unique part, the way local and
 * Dovecot name files ("1700000000.M1P2Q3.host,S=4096,W=4180"): true with
 * the size, false if the name has no such field or a bad one (the
 * caller then reads the file). */
bool uidlist_name_vsize(const char *name, size_t len, uint64_t *vsize_r);
/* Any such field: key 'S' is the file's size, 'W' the size above. */
bool uidlist_name_field(const char *name, size_t len, char key,
			uint64_t *value_r);

/* Synchronize ul with maildir as described above; on success every
 * record has its current file. lock_timeout is in seconds. False with a
 * reason. */
bool uidlist_sync(const char *maildir, struct uidlist *ul,
		  int lock_timeout, struct str *error_r);

/* The record with uid, or NULL. */
struct uidlist_rec *uidlist_lookup(const struct uidlist *ul, uint32_t uid);

#endif
