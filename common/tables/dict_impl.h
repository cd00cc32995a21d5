#ifndef COMMON_DICT_IMPL_H
#define COMMON_DICT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "dict.h"
#include "str.h"

/* The inside of the dict_ interface: what a backend implements. Only
 * dict*.c include this. A backend embeds struct dict as its first member
 * and fills in v; dict.c folds the key to lower case before calling
 * lookup, so backends see lower-case keys only. */

typedef bool dict_iter_cb(const char *key, const char *value, void *ctx);

struct dict_vfuncs {
	int (*lookup)(struct dict *dict, const char *key,
		      struct str *value_r, const char **error_r);
	bool (*iterate)(struct dict *dict, dict_iter_cb *cb, void *ctx,
			const char **error_r);
	/* Free everything the backend owns, including the dict itself. */
	void (*close)(struct dict *dict);
};

struct dict {
	const struct dict_vfuncs *v;
	char *spec;		/* "type:name", as given to dict_open */
	char *error;		/* the last error, owned (see dict_error) */
	struct str key;		/* scratch: the folded lookup key */
};

/* Set dict->error from a format and return it (for *error_r). */
const char *dict_error(struct dict *dict, const char *fmt, ...)
	MSG_PRINTF(2, 3);

/* Backend constructors. name is the part after "type:". Each returns
 * NULL with an allocated message in *error_r. dict.c sets spec. */
struct dict *dict_db_open(const char *type, const char *name,
			  char **error_r);
struct dict *dict_texthash_open(const char *name, char **error_r);
struct dict *dict_inline_open(const char *name, char **error_r);

struct dict *dict_lmdb_open(const char *name, char **error_r);

/* dict_build() for the Berkeley DB types ("hash" or "btree"). */
bool dict_db_build(const char *type, const char *source, char **error_r);
/* dict_build() for "lmdb": source + ".lmdb". */
bool dict_lmdb_build(const char *source, char **error_r);

/* Shared by the file backends (dict.c). */
struct stat;
struct timespec;
/* The mode of a table built from a source with stat st: 0644, or the
 * source's own mode when the source is not world-readable (a table of
 * passwords stays private). */
unsigned int dict_build_mode(const struct stat *st);
/* Same device, inode, size and mtime: the file was not replaced. */
bool dict_same_file(const struct stat *a, const struct stat *b);
/* Whether an open table should stat its file now: always if force,
 * else at most once a second (last is updated when it returns true). */
bool dict_check_due(struct timespec *last, bool force);
/* "WHAT PATH: strerror(errno)", allocated. */
char *dict_errno(const char *what, const char *path);

/* dict_parse_source() with the line number where each entry starts, for
 * callers that report duplicates. */
typedef bool dict_parse_cb(const char *key, const char *value,
			   unsigned int line, void *ctx);
bool dict_parse_source_lines(const char *path, dict_parse_cb *cb,
			     void *ctx, char **error_r);

/* An in-memory table (texthash:, inline:): open addressing over entries
 * kept in insertion order, so iteration follows the source. */
struct dict_table;

struct dict_table *dict_table_create(void);
void dict_table_free(struct dict_table **table);
/* Add key (already folded) unless present. Returns false, and keeps the
 * first value, if the key was there already. */
bool dict_table_add(struct dict_table *table, const char *key,
		    const char *value);
const char *dict_table_get(const struct dict_table *table, const char *key);
size_t dict_table_count(const struct dict_table *table);
/* Entry i (0 <= i < count) in insertion order. */
void dict_table_entry(const struct dict_table *table, size_t i,
		      const char **key_r, const char **value_r);

#endif
