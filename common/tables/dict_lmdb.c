/*
 * dict_lmdb: lmdb: tables in LMDB files (dict.h).
 *
 * "lmdb:/etc/correo/aliases" reads /etc/correo/aliases.lmdb, built from
 * the text source /etc/correo/aliases by dict_build() ("correo map"), as
 * Postfix names its lmdb files. Keys are stored folded to lower case and
 * keys and values include their terminating NUL byte, as in hash: files,
 * so a site can switch a table's type without touching its source.
 *
 * Rebuilds: dict_lmdb_build() fills a new file under a temporary name in
 * the same directory, syncs it and renames it over the old one; the
 * open-table side is dict_db.c's: stat at most once a second and on every
 * miss, reopen when the inode, size or mtime changed, keep the old table
 * when the new one cannot be opened.
 *
 * Because a table file is never written in place once renamed, readers
 * open it with MDB_RDONLY | MDB_NOLOCK: no lock file next to the table,
 * no shared reader slots, nothing a reader could leave stale. The file is
 * one file (MDB_NOSUBDIR), not LMDB's default directory.
 *
 * SECURITY: tables are opened read-only. Keys from the network are only
 * lookup bytes. dict_lmdb_build() runs with the privileges of "correo
 * map"; as root the new file gets the source file's owner, and its mode
 * is no more open than the source's (dict_build_mode).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dict_impl.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "str.h"

struct dict_lmdb {
	struct dict dict;
	MDB_env *env;
	MDB_dbi dbi;
	char *path;			/* NAME.lmdb */
	struct stat st;			/* of the file env has open */
	struct timespec last_check;	/* CLOCK_MONOTONIC */
	bool iterating;			/* no reopen under a cursor */
};

/* Open path read-only; fill st and dbi. NULL with err set on failure. */
static MDB_env *dict_lmdb_env_open(const char *path, struct stat *st,
				   MDB_dbi *dbi_r, struct str *err)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	int ret, fd;

	ret = mdb_env_create(&env);
	if (ret == 0)
		ret = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY |
				   MDB_NOLOCK | MDB_NOTLS, 0);
	if (ret == 0)
		ret = mdb_env_get_fd(env, &fd);
	if (ret == 0 && fstat(fd, st) < 0)
		ret = errno;
	if (ret == 0)
		ret = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (ret == 0)
		ret = mdb_dbi_open(txn, NULL, 0, dbi_r);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (ret == 0)
		return env;
	str_printf(err, "open database %s: %s", path, mdb_strerror(ret));
	if (ret == MDB_INVALID || ret == MDB_VERSION_MISMATCH)
		str_append(err, "; is it an lmdb table built by "
			   "\"correo map\"?");
	if (env != NULL)
		mdb_env_close(env);
	return NULL;
}

static bool dict_lmdb_check_rebuilt(struct dict_lmdb *d, bool force,
				    bool *reopened_r, const char **error_r)
{
	struct str err = STR_INIT;
	struct stat st;
	MDB_env *env;
	MDB_dbi dbi;

	*reopened_r = false;
	if (d->iterating || !dict_check_due(&d->last_check, force))
		return true;
	/* A missing file keeps the old table (see dict_db.c). */
	if (stat(d->path, &st) < 0 || dict_same_file(&st, &d->st))
		return true;
	env = dict_lmdb_env_open(d->path, &st, &dbi, &err);
	if (env == NULL) {
		*error_r = dict_error(&d->dict, "%s", str_c(&err));
		str_release(&err);
		return false;
	}
	mdb_env_close(d->env);
	d->env = env;
	d->dbi = dbi;
	d->st = st;
	*reopened_r = true;
	return true;
}

/* An MDB_val's bytes as a C string, dropping the stored trailing NUL. */
static void dict_lmdb_copy(struct str *out, const MDB_val *val)
{
	size_t len = val->mv_size;

	if (len > 0 && ((const char *)val->mv_data)[len - 1] == '\0')
		len--;
	str_clear(out);
	str_append_n(out, val->mv_data, len);
}

/* One read transaction: 1 found (copied), 0 not found, else -1. */
static int dict_lmdb_get(struct dict_lmdb *d, const char *key,
			 struct str *value_r, const char **error_r)
{
	MDB_val k, v;
	MDB_txn *txn;
	int ret;

	k.mv_data = (void *)key;
	k.mv_size = strlen(key) + 1;
	ret = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn);
	if (ret == 0) {
		ret = mdb_get(txn, d->dbi, &k, &v);
		if (ret == 0)
			dict_lmdb_copy(value_r, &v);
		mdb_txn_abort(txn);
	}
	if (ret == 0)
		return 1;
	if (ret == MDB_NOTFOUND)
		return 0;
	*error_r = dict_error(&d->dict, "read %s: %s", d->path,
			      mdb_strerror(ret));
	return -1;
}

static int dict_lmdb_lookup(struct dict *dict, const char *key,
			    struct str *value_r, const char **error_r)
{
	struct dict_lmdb *d = (struct dict_lmdb *)dict;
	bool reopened;
	int ret;

	if (strlen(key) + 1 > (size_t)mdb_env_get_maxkeysize(d->env))
		return 0;	/* longer than any key the file can hold */
	if (!dict_lmdb_check_rebuilt(d, false, &reopened, error_r))
		return -1;
	ret = dict_lmdb_get(d, key, value_r, error_r);
	/* A miss may be a key added since the last check: look now. */
	if (ret == 0 && !reopened) {
		if (!dict_lmdb_check_rebuilt(d, true, &reopened, error_r))
			return -1;
		if (reopened)
			ret = dict_lmdb_get(d, key, value_r, error_r);
	}
	return ret;
}

static bool dict_lmdb_iterate(struct dict *dict, dict_iter_cb *cb,
			      void *ctx, const char **error_r)
{
	struct dict_lmdb *d = (struct dict_lmdb *)dict;
	struct str key = STR_INIT, value = STR_INIT;
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	bool reopened;
	int ret;

	if (!dict_lmdb_check_rebuilt(d, false, &reopened, error_r))
		return false;
	ret = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn);
	if (ret == 0)
		ret = mdb_cursor_open(txn, d->dbi, &cur);
	/* The callback may look keys up in this table: no reopen then. */
	d->iterating = true;
	while (ret == 0 && (ret = mdb_cursor_get(cur, &k, &v,
						 MDB_NEXT)) == 0) {
		dict_lmdb_copy(&key, &k);
		dict_lmdb_copy(&value, &v);
		if (!cb(str_c(&key), str_c(&value), ctx))
			break;
	}
	d->iterating = false;
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	str_release(&key);
	str_release(&value);
	if (ret == 0 || ret == MDB_NOTFOUND)
		return true;
	*error_r = dict_error(dict, "read %s: %s", d->path, mdb_strerror(ret));
	return false;
}

static void dict_lmdb_close(struct dict *dict)
{
	struct dict_lmdb *d = (struct dict_lmdb *)dict;

	if (d->env != NULL)
		mdb_env_close(d->env);
	free(d->path);
	free(d);
}

static const struct dict_vfuncs dict_lmdb_vfuncs = {
	.lookup = dict_lmdb_lookup,
	.iterate = dict_lmdb_iterate,
	.close = dict_lmdb_close,
};

struct dict *dict_lmdb_open(const char *name, char **error_r)
{
	struct dict_lmdb *d = mem_alloc(sizeof(*d));
	struct str err = STR_INIT;

	d->dict.v = &dict_lmdb_vfuncs;
	d->path = str_dup_printf("%s.lmdb", name);
	d->env = dict_lmdb_env_open(d->path, &d->st, &d->dbi, &err);
	if (d->env == NULL) {
		*error_r = str_steal(&err);
		dict_lmdb_close(&d->dict);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &d->last_check);
	return &d->dict;
}

/* ------------------------------------------------------------------ */
/* Building a table from its source. */

struct dict_lmdb_builder {
	const char *source;
	MDB_txn *txn;
	MDB_dbi dbi;
	bool warn;		/* report duplicates (first pass only) */
	int ret;		/* the put that failed */
	unsigned int line;
};

static bool dict_lmdb_put(const char *key, const char *value,
			  unsigned int line, void *ctx)
{
	struct dict_lmdb_builder *b = ctx;
	MDB_val k, v;
	int ret;

	k.mv_data = (void *)key;
	k.mv_size = strlen(key) + 1;
	v.mv_data = (void *)value;
	v.mv_size = strlen(value) + 1;
	ret = mdb_put(b->txn, b->dbi, &k, &v, MDB_NOOVERWRITE);
	if (ret == MDB_KEYEXIST) {
		/* Postfix's postmap keeps the first value too. */
		if (b->warn)
			msg_warn("%s:%u: duplicate entry: \"%s\" "
				 "(keeping the first)", b->source, line, key);
		return true;
	}
	if (ret == 0)
		return true;
	b->ret = ret;
	b->line = line;
	return false;
}

/* Fill the LMDB file tmp from the source in one write transaction. The
 * map size is virtual (the file grows only as pages are written); when
 * it is still too small the transaction is thrown away and the build
 * starts over with twice the room. */
static bool dict_lmdb_fill(const char *source, const char *tmp,
			   size_t source_size, char **error_r)
{
	struct dict_lmdb_builder b = { .source = source, .warn = true };
	size_t map_size = 16 * source_size + (16u << 20);
	MDB_env *env = NULL;
	int ret;

	ret = mdb_env_create(&env);
	if (ret == 0)
		ret = mdb_env_set_mapsize(env, map_size);
	if (ret == 0)
		ret = mdb_env_open(env, tmp, MDB_NOSUBDIR | MDB_NOLOCK |
				   MDB_NOSYNC, 0600);
	for (;;) {
		if (ret != 0)
			break;
		ret = mdb_txn_begin(env, NULL, 0, &b.txn);
		if (ret == 0)
			ret = mdb_dbi_open(b.txn, NULL, 0, &b.dbi);
		if (ret != 0)
			break;
		b.ret = 0;
		if (!dict_parse_source_lines(source, dict_lmdb_put, &b,
					     error_r) && b.ret == 0) {
			mdb_txn_abort(b.txn);
			mdb_env_close(env);
			return false;	/* a source error */
		}
		if (b.ret == 0) {
			ret = mdb_txn_commit(b.txn);
			b.txn = NULL;
			if (ret == MDB_MAP_FULL) {
				b.ret = ret;
			} else {
				break;
			}
		} else {
			free(*error_r);
			*error_r = NULL;
			mdb_txn_abort(b.txn);
			b.txn = NULL;
		}
		if (b.ret != MDB_MAP_FULL) {
			*error_r = str_dup_printf(
				"%s:%u: write %s: %s%s", source, b.line, tmp,
				mdb_strerror(b.ret), b.ret == MDB_BAD_VALSIZE ?
				" (an lmdb key is at most 511 bytes)" : "");
			mdb_env_close(env);
			return false;
		}
		map_size *= 2;
		b.warn = false;
		ret = mdb_env_set_mapsize(env, map_size);
	}
	if (ret == 0)
		ret = mdb_env_sync(env, 1);
	if (ret != 0) {
		if (b.txn != NULL)
			mdb_txn_abort(b.txn);
		*error_r = str_dup_printf("write database %s: %s", tmp,
					  mdb_strerror(ret));
	}
	if (env != NULL)
		mdb_env_close(env);
	return ret == 0;
}

bool dict_lmdb_build(const char *source, char **error_r)
{
	char *tmp = str_dup_printf("%s.lmdb.XXXXXX", source);
	char *target = str_dup_printf("%s.lmdb", source);
	struct stat st;
	int fd = -1;
	bool ok = false;

	if (stat(source, &st) < 0) {
		*error_r = dict_errno("open", source);
		goto out;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		*error_r = dict_errno("create", tmp);
		goto out;
	}
	if (fchmod(fd, dict_build_mode(&st)) < 0 ||
	    (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)) {
		*error_r = dict_errno("set owner/mode of", tmp);
		goto fail;
	}
	/* LMDB opens the (empty) file by name and makes it a new table. */
	if (!dict_lmdb_fill(source, tmp, (size_t)st.st_size, error_r))
		goto fail;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		*error_r = dict_errno("fsync", tmp);
		goto fail;
	}
	fd = -1;
	if (!safe_rename(tmp, target)) {
		*error_r = dict_errno("rename to", target);
		goto fail;
	}
	ok = true;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
out:
	free(tmp);
	free(target);
	return ok;
}
