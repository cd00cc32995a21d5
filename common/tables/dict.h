#ifndef COMMON_DICT_H
#define COMMON_DICT_H

#include <stdbool.h>

#include "str.h"

/* Lookup tables behind one interface, named "type:name" the Postfix way:
 *
 *   hash:/etc/correo/aliases     Berkeley DB hash, file /etc/correo/aliases.db
 *   btree:/etc/correo/access     Berkeley DB btree, file .../access.db
 *   texthash:/etc/correo/vusers  the text source read into memory
 *   inline:{ key1=value1, { key2 = value with spaces } }
 *
 * The text source format (for "correo map" and texthash:) is one entry a
 * line: "key value" (whitespace or ':' after the key, for aliases),
 * '#' comments, lines starting with whitespace continue the value.
 * Keys are folded to lower case when built and when looked up.
 * Precisely (dict_text.c): the key ends at the first whitespace and one
 * ':' ending it is dropped ("alice: bob"), so keys such as
 * "[mx.test]:587" or IPv6 addresses stay whole; comment and blank lines
 * may sit between a line and its continuation; continuation lines are
 * joined with one space. A duplicate key keeps the first value and logs
 * a warning "FILE:LINE: duplicate entry" (as Postfix's postmap does).
 *
 * hash: and btree: files store keys folded to lower case, and keys and
 * values both include their terminating NUL byte, like the files
 * Postfix's postmap writes. A .db file gets mode 0644, or the source's
 * mode if the source is not world-readable.
 *
 * A db table notices when its file was rebuilt (atomically replaced) and
 * reopens it on the next lookup, so long-running daemons see new
 * contents without a reload. */

struct dict;

/* Returns NULL and an allocated message in *error_r. */
struct dict *dict_open(const char *spec, char **error_r);
void dict_close(struct dict **dict);
const char *dict_name(const struct dict *dict);

/* -1 error (*error_r set, static or owned by dict), 0 not found, 1 found
 * (value copied into value_r, replacing its contents). */
int dict_lookup(struct dict *dict, const char *key, struct str *value_r,
		const char **error_r);

/* Call cb for each entry; stop early if cb returns false. Returns false
 * on a read error. */
bool dict_iterate(struct dict *dict,
		  bool (*cb)(const char *key, const char *value, void *ctx),
		  void *ctx, const char **error_r);

/* Build source + ".db" for type "hash" or "btree" from the text file
 * source, atomically replacing an older db (written to a temporary file,
 * fsync'd, renamed). Returns false with an allocated "FILE:LINE: ..."
 * message. */
bool dict_build(const char *type, const char *source, char **error_r);

/* Parse one text-source file into callbacks (shared by texthash: and
 * dict_build). */
bool dict_parse_source(const char *path,
		       bool (*cb)(const char *key, const char *value,
				  void *ctx),
		       void *ctx, char **error_r);

#endif
