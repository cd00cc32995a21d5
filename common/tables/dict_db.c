/*
 * dict_db: hash: and btree: tables in Berkeley DB 5.3 files (dict.h).
 *
 * "hash:/etc/correo/aliases" reads /etc/correo/aliases.db, built from the
 * text source /etc/correo/aliases by dict_build() ("correo map"). As in
 * Postfix, keys are stored folded to lower case and both keys and values
 * include their terminating NUL byte, so the files look like the ones
 * postmap(1) writes.
 *
 * Rebuilds: dict_db_build() writes a new file under a temporary name in
 * the same directory, fsyncs it and renames it over the old one, so a
 * reader has either the old table or the new one open, never a half
 * built one. An open table stats its file at most once a second during
 * lookups, and on every lookup that finds nothing (a stat is cheap next
 * to the harm of bouncing a user just added while smtpd, in another
 * process, already accepted him); when the inode, size or mtime changed
 * it opens the new file and closes the old one, so daemons see a
 * rebuild without a reload.
 *
 * SECURITY: tables are opened read-only (DB_RDONLY) with no environment,
 * so no lock or log files are created next to them. Berkeley DB's own
 * error messages are captured (not printed) and become part of the
 * returned error. Keys from the network are used only as lookup bytes.
 * dict_db_build() runs with the privileges of "correo map"; when run as
 * root the new file gets the source file's owner.
 */
#include "config.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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

struct dict_db {
	struct dict dict;
	DB *db;
	DBTYPE type;
	char *path;			/* NAME.db */
	struct stat st;			/* of the file db has open */
	struct timespec last_check;	/* CLOCK_MONOTONIC */
	bool iterating;			/* no reopen under a cursor */
	struct str dberr;		/* Berkeley DB's first message */
};

static DBTYPE dict_db_type(const char *type)
{
	return strcmp(type, "btree") == 0 ? DB_BTREE : DB_HASH;
}

/* Berkeley DB reports details (bad format, checksum) through this
 * callback; keep the first line of each failure for our message. */
static void dict_db_errcall(const DB_ENV *env, const char *pfx,
			    const char *text)
{
	struct str *dberr = env->app_private;

	if (dberr != NULL && dberr->len == 0)
		str_append(dberr, text);
}

/* Create a DB handle whose messages go into dberr. */
static int dict_db_create(DB **db_r, struct str *dberr)
{
	int ret = db_create(db_r, NULL, 0);

	if (ret != 0)
		return ret;
	(*db_r)->get_env(*db_r)->app_private = dberr;
	(*db_r)->set_errcall(*db_r, dict_db_errcall);
	return 0;
}

/* "STRERROR (BERKELEY DB DETAIL)" for ret. */
static void dict_db_strerror(struct str *out, int ret,
			     const struct str *dberr)
{
	str_append(out, db_strerror(ret));
	if (dberr->len > 0)
		str_printf(out, " (%s)", str_c(dberr));
}

/* Open path read-only; fill st from the open file. */
static DB *dict_db_handle_open(const char *path, DBTYPE type,
			       struct stat *st, struct str *dberr,
			       struct str *err)
{
	DB *db = NULL;
	int ret, fd;

	str_clear(dberr);
	ret = dict_db_create(&db, dberr);
	if (ret == 0)
		ret = db->open(db, NULL, path, NULL, type, DB_RDONLY, 0);
	if (ret == 0)
		ret = db->fd(db, &fd);
	if (ret == 0 && fstat(fd, st) < 0)
		ret = errno;
	if (ret == 0)
		return db;
	str_printf(err, "open database %s: ", path);
	dict_db_strerror(err, ret, dberr);
	if (ret == EINVAL)
		str_printf(err, "; is it a %s table built by \"correo map\"?",
			   type == DB_BTREE ? "btree" : "hash");
	if (db != NULL)
		db->close(db, 0);
	return NULL;
}

/* At most once a second (or now, if force): if the file was replaced,
 * switch to the new one and set *reopened_r. If the new one cannot be
 * opened, report it and keep the old handle (its contents are still a
 * consistent table). */
static bool dict_db_check_rebuilt(struct dict_db *d, bool force,
				  bool *reopened_r, const char **error_r)
{
	struct stat st;
	struct str err = STR_INIT;
	DB *db;

	*reopened_r = false;
	if (d->iterating || !dict_check_due(&d->last_check, force))
		return true;
	/* A missing file keeps the old table: the rename that replaces it
	 * never leaves the name missing, so this is an admin's rm. */
	if (stat(d->path, &st) < 0 || dict_same_file(&st, &d->st))
		return true;
	db = dict_db_handle_open(d->path, d->type, &st, &d->dberr, &err);
	if (db == NULL) {
		*error_r = dict_error(&d->dict, "%s", str_c(&err));
		str_release(&err);
		return false;
	}
	d->db->close(d->db, 0);
	d->db = db;
	d->st = st;
	*reopened_r = true;
	return true;
}

/* A DBT's bytes as a C string, dropping the stored trailing NUL. */
static void dict_db_copy(struct str *out, const DBT *dbt)
{
	size_t len = dbt->size;

	if (len > 0 && ((const char *)dbt->data)[len - 1] == '\0')
		len--;
	str_clear(out);
	str_append_n(out, dbt->data, len);
}

static int dict_db_lookup(struct dict *dict, const char *key,
			  struct str *value_r, const char **error_r)
{
	struct dict_db *d = (struct dict_db *)dict;
	struct str err = STR_INIT;
	size_t len = strlen(key);
	bool reopened;
	DBT k, v;
	int ret;

	if (!dict_db_check_rebuilt(d, false, &reopened, error_r))
		return -1;
	if (len >= UINT32_MAX)
		return 0;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (uint32_t)len + 1;
	str_clear(&d->dberr);
	ret = d->db->get(d->db, NULL, &k, &v, 0);
	/* A miss may be a key added since the last check: look again now,
	 * regardless of the rate limit. */
	if (ret == DB_NOTFOUND && !reopened) {
		if (!dict_db_check_rebuilt(d, true, &reopened, error_r))
			return -1;
		if (reopened) {
			memset(&v, 0, sizeof(v));
			ret = d->db->get(d->db, NULL, &k, &v, 0);
		}
	}
	if (ret == DB_NOTFOUND)
		return 0;
	if (ret != 0) {
		dict_db_strerror(&err, ret, &d->dberr);
		*error_r = dict_error(dict, "read %s: %s", d->path,
				      str_c(&err));
		str_release(&err);
		return -1;
	}
	dict_db_copy(value_r, &v);
	return 1;
}

static bool dict_db_walk(struct dict_db *d, DBC *cur, dict_iter_cb *cb,
			 void *ctx, const char **error_r)
{
	struct str key = STR_INIT, value = STR_INIT, err = STR_INIT;
	DBT k, v;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
		dict_db_copy(&key, &k);
		dict_db_copy(&value, &v);
		if (!cb(str_c(&key), str_c(&value), ctx))
			break;
	}
	str_release(&key);
	str_release(&value);
	if (ret == 0 || ret == DB_NOTFOUND)
		return true;
	dict_db_strerror(&err, ret, &d->dberr);
	*error_r = dict_error(&d->dict, "read %s: %s", d->path, str_c(&err));
	str_release(&err);
	return false;
}

static bool dict_db_iterate(struct dict *dict, dict_iter_cb *cb, void *ctx,
			    const char **error_r)
{
	struct dict_db *d = (struct dict_db *)dict;
	DBC *cur;
	bool ok, reopened;
	int ret;

	if (!dict_db_check_rebuilt(d, false, &reopened, error_r))
		return false;
	str_clear(&d->dberr);
	ret = d->db->cursor(d->db, NULL, &cur, 0);
	if (ret != 0) {
		*error_r = dict_error(dict, "read %s: %s", d->path,
				      db_strerror(ret));
		return false;
	}
	/* The callback may look keys up in this table: no reopen then. */
	d->iterating = true;
	ok = dict_db_walk(d, cur, cb, ctx, error_r);
	d->iterating = false;
	cur->close(cur);
	return ok;
}

static void dict_db_close(struct dict *dict)
{
	struct dict_db *d = (struct dict_db *)dict;

	if (d->db != NULL)
		d->db->close(d->db, 0);
	free(d->path);
	str_release(&d->dberr);
	free(d);
}

static const struct dict_vfuncs dict_db_vfuncs = {
	.lookup = dict_db_lookup,
	.iterate = dict_db_iterate,
	.close = dict_db_close,
};

struct dict *dict_db_open(const char *type, const char *name,
			  char **error_r)
{
	struct dict_db *d = mem_alloc(sizeof(*d));
	struct str err = STR_INIT, path = STR_INIT;

	d->dict.v = &dict_db_vfuncs;
	d->type = dict_db_type(type);
	str_printf(&path, "%s.db", name);
	d->path = str_steal(&path);
	d->db = dict_db_handle_open(d->path, d->type, &d->st, &d->dberr,
				    &err);
	if (d->db == NULL) {
		*error_r = str_steal(&err);
		dict_db_close(&d->dict);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &d->last_check);
	return &d->dict;
}

/* ------------------------------------------------------------------ */
/* Building a table from its source. */

struct dict_db_builder {
	const char *source;
	DB *db;
	struct str dberr;
	char *error;		/* set when a put failed */
};

static bool dict_db_put(const char *key, const char *value,
			unsigned int line, void *ctx)
{
	struct dict_db_builder *b = ctx;
	struct str err = STR_INIT;
	DBT k, v;
	int ret;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (uint32_t)strlen(key) + 1;
	v.data = (void *)value;
	v.size = (uint32_t)strlen(value) + 1;
	ret = b->db->put(b->db, NULL, &k, &v, DB_NOOVERWRITE);
	if (ret == DB_KEYEXIST) {
		/* Postfix's postmap keeps the first value too. */
		msg_warn("%s:%u: duplicate entry: \"%s\" (keeping the first)",
			 b->source, line, key);
		return true;
	}
	if (ret == 0)
		return true;
	str_printf(&err, "%s:%u: write: ", b->source, line);
	dict_db_strerror(&err, ret, &b->dberr);
	b->error = str_steal(&err);
	return false;
}

/* Fill the temporary file fd (named tmp) from the source. */
static bool dict_db_fill(struct dict_db_builder *b, const char *type,
			 const char *tmp, char **error_r)
{
	struct str err = STR_INIT;
	int ret;

	ret = dict_db_create(&b->db, &b->dberr);
	if (ret == 0)
		/* An empty existing file is taken as a new database. */
		ret = b->db->open(b->db, NULL, tmp, NULL, dict_db_type(type),
				  DB_CREATE, 0600);
	if (ret != 0) {
		str_printf(&err, "create database %s: ", tmp);
		dict_db_strerror(&err, ret, &b->dberr);
		*error_r = str_steal(&err);
		return false;
	}
	if (!dict_parse_source_lines(b->source, dict_db_put, b, error_r)) {
		if (b->error != NULL) {
			free(*error_r);
			*error_r = b->error;
			b->error = NULL;
		}
		return false;
	}
	ret = b->db->close(b->db, 0);
	b->db = NULL;
	if (ret != 0) {
		str_printf(&err, "write database %s: ", tmp);
		dict_db_strerror(&err, ret, &b->dberr);
		*error_r = str_steal(&err);
		return false;
	}
	return true;
}

bool dict_db_build(const char *type, const char *source, char **error_r)
{
	struct dict_db_builder b = { .source = source };
	struct str tmp = STR_INIT, target = STR_INIT;
	struct stat st;
	int fd = -1;
	bool ok = false;

	if (stat(source, &st) < 0) {
		*error_r = dict_errno("open", source);
		return false;
	}
	str_printf(&target, "%s.db", source);
	str_printf(&tmp, "%s.db.XXXXXX", source);
	fd = mkostemp(tmp.data, O_CLOEXEC);
	if (fd < 0) {
		*error_r = dict_errno("create", str_c(&tmp));
		goto out;
	}
	if (fchmod(fd, dict_build_mode(&st)) < 0 ||
	    (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)) {
		*error_r = dict_errno("set owner/mode of", str_c(&tmp));
		goto fail;
	}
	if (!dict_db_fill(&b, type, str_c(&tmp), error_r))
		goto fail;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		*error_r = dict_errno("fsync", str_c(&tmp));
		goto fail;
	}
	fd = -1;
	if (!safe_rename(str_c(&tmp), str_c(&target))) {
		*error_r = dict_errno("rename to", str_c(&target));
		goto fail;
	}
	ok = true;
	goto out;
fail:
	if (b.db != NULL)
		b.db->close(b.db, 0);
	if (fd >= 0)
		close(fd);
	(void)unlink(str_c(&tmp));
out:
	str_release(&b.dberr);
	str_release(&tmp);
	str_release(&target);
	return ok;
}
