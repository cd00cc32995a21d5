/*
 * dict: lookup tables behind one interface (dict.h).
 *
 * dict_open() splits "type:name" and hands name to the backend for type:
 * dict_db.c (hash:, btree:, Berkeley DB files built by "correo map"),
 * dict_lmdb.c (lmdb:, LMDB files built the same way) or dict_text.c (texthash:, inline:, tables held in memory). Each backend
 * fills a small vtable (dict_impl.h); this file folds lookup keys to
 * lower case once, so every backend sees the same keys the builder wrote.
 * A new backend (cdb:) is one constructor and one line in dict_types[].
 *
 * SECURITY: table names come from the configuration; keys come from the
 * network (addresses, client names) and are only copied, folded and
 * handed to the backend as opaque bytes. Tables are opened read-only.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dict_impl.h"
#include "mem.h"
#include "str.h"

#define DICT_SUPPORTED "hash, btree, lmdb, texthash, inline"

static struct dict *dict_open_hash(const char *name, char **error_r)
{
	return dict_db_open("hash", name, error_r);
}

static struct dict *dict_open_btree(const char *name, char **error_r)
{
	return dict_db_open("btree", name, error_r);
}

static const struct {
	const char *type;
	struct dict *(*open)(const char *name, char **error_r);
} dict_types[] = {
	{ "hash", dict_open_hash },
	{ "btree", dict_open_btree },
	{ "lmdb", dict_lmdb_open },
	{ "texthash", dict_texthash_open },
	{ "inline", dict_inline_open },
};

const char *dict_error(struct dict *dict, const char *fmt, ...)
{
	va_list ap;

	free(dict->error);
	va_start(ap, fmt);
	dict->error = str_dup_vprintf(fmt, ap);
	va_end(ap);
	return dict->error;
}

struct dict *dict_open(const char *spec, char **error_r)
{
	const char *colon = strchr(spec, ':');
	struct dict *dict;
	size_t type_len, i;

	if (colon == NULL || colon == spec) {
		*error_r = str_dup_printf(
			"bad table name \"%s\": expected TYPE:NAME "
			"(supported types: " DICT_SUPPORTED ")", spec);
		return NULL;
	}
	if (colon[1] == '\0') {
		*error_r = str_dup_printf(
			"bad table name \"%s\": missing name after the type",
			spec);
		return NULL;
	}
	type_len = (size_t)(colon - spec);
	for (i = 0; i < sizeof(dict_types) / sizeof(dict_types[0]); i++) {
		if (strlen(dict_types[i].type) != type_len ||
		    strncasecmp(dict_types[i].type, spec, type_len) != 0)
			continue;
		dict = dict_types[i].open(colon + 1, error_r);
		if (dict != NULL)
			dict->spec = mem_strdup(spec);
		return dict;
	}
	*error_r = str_dup_printf(
		"unsupported table type \"%.*s\" in \"%s\" "
		"(supported types: " DICT_SUPPORTED ")",
		(int)type_len, spec, spec);
	return NULL;
}

void dict_close(struct dict **dictp)
{
	struct dict *dict = *dictp;

	if (dict == NULL)
		return;
	*dictp = NULL;
	free(dict->spec);
	free(dict->error);
	str_release(&dict->key);
	dict->v->close(dict);
}

const char *dict_name(const struct dict *dict)
{
	return dict->spec;
}

int dict_lookup(struct dict *dict, const char *key, struct str *value_r,
		const char **error_r)
{
	str_set(&dict->key, key);
	str_lower(dict->key.data);
	return dict->v->lookup(dict, str_c(&dict->key), value_r, error_r);
}

bool dict_iterate(struct dict *dict,
		  bool (*cb)(const char *key, const char *value, void *ctx),
		  void *ctx, const char **error_r)
{
	return dict->v->iterate(dict, cb, ctx, error_r);
}

bool dict_build(const char *type, const char *source, char **error_r)
{
	if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
		return dict_db_build(type, source, error_r);
	if (strcmp(type, "lmdb") == 0)
		return dict_lmdb_build(source, error_r);
	*error_r = str_dup_printf(
		"cannot build a table of type \"%s\": only hash, btree and "
		"lmdb are built from a source file", type);
	return false;
}

unsigned int dict_build_mode(const struct stat *st)
{
	if ((st->st_mode & S_IROTH) != 0)
		return 0644;
	return st->st_mode & 0666;
}

bool dict_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
		a->st_size == b->st_size &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
		a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

bool dict_check_due(struct timespec *last, bool force)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - last->tv_sec < 1 ||
		       (now.tv_sec - last->tv_sec == 1 &&
			now.tv_nsec < last->tv_nsec)))
		return false;
	*last = now;
	return true;
}

char *dict_errno(const char *what, const char *path)
{
	return str_dup_printf("%s %s: %s", what, path, strerror(errno));
}
