/*
 * auth_passdb: password checks against auth_password_maps and the
 * mailbox of a user who logged in.
 *
 * Interface (auth.h): auth_passdb_create/free, auth_passdb_hash,
 * auth_passdb_verify, auth_passdb_mailbox, auth_mailbox_clear.
 *
 * The password tables map the lower-cased login address to a crypt(3)
 * hash ("correo user passwd" writes them). They are opened lazily: a
 * table that does not exist yet (no user was ever given a password) is
 * a temporary failure that mends itself when the file appears, and a
 * rebuilt db file is reopened by dict.c. The first table that knows the
 * user decides.
 *
 * The mailbox is not stored with the password: it comes from the same
 * resolution local delivery uses (virtual_mailbox_maps for virtual
 * domains, the system account for mydestination), so one "correo user
 * add" serves both delivery and login. Its owner's uid/gid are looked up
 * here; in instance mode every owner collapses to the invoking user.
 *
 * SECURITY: runs as the auth service's user, the only one that may read
 * the password tables. A user that does not exist still costs one hash
 * computation (sasl_verify_password with a NULL hash), so neither the
 * reply nor its timing reveals whether the user exists. A table error
 * is reported as such (a temporary failure) for every user alike.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "dict.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "resolve.h"
#include "sasl.h"
#include "server.h"

struct auth_passdb {
	char **specs;
	struct dict **dicts;	/* NULL until opened */
	size_t count;
	struct resolver *resolver;
	struct str hash;
};

struct auth_passdb *auth_passdb_create(struct cfg *cfg, char **error_r)
{
	struct auth_passdb *db = mem_alloc(sizeof(*db));
	char **list = cfg_list(cfg, "auth_password_maps");

	while (list[db->count] != NULL)
		db->count++;
	db->specs = mem_array(db->count + 1, sizeof(*db->specs));
	db->dicts = mem_array(db->count + 1, sizeof(*db->dicts));
	for (size_t i = 0; i < db->count; i++)
		db->specs[i] = mem_strdup(list[i]);
	db->resolver = resolve_create(cfg, error_r);
	if (db->resolver == NULL) {
		auth_passdb_free(&db);
		return NULL;
	}
	return db;
}

void auth_passdb_free(struct auth_passdb **dbp)
{
	struct auth_passdb *db = *dbp;

	if (db == NULL)
		return;
	for (size_t i = 0; i < db->count; i++) {
		dict_close(&db->dicts[i]);
		free(db->specs[i]);
	}
	free(db->specs);
	free(db->dicts);
	resolve_free(&db->resolver);
	if (db->hash.data != NULL)
		explicit_bzero(db->hash.data, db->hash.cap);
	str_release(&db->hash);
	mem_free(*dbp);
}

/* Open table i if it is not open yet. */
static bool auth_passdb_open(struct auth_passdb *db, size_t i,
			     const char **error_r)
{
	static char errbuf[256];
	char *error;

	if (db->dicts[i] != NULL)
		return true;
	db->dicts[i] = dict_open(db->specs[i], &error);
	if (db->dicts[i] != NULL)
		return true;
	(void)str_snprintf(errbuf, sizeof(errbuf), "%s", error);
	free(error);
	*error_r = errbuf;
	return false;
}

int auth_passdb_hash(struct auth_passdb *db, const char *user,
		     struct str *hash_r, const char **error_r)
{
	int ret = 0;

	str_clear(hash_r);
	for (size_t i = 0; i < db->count && ret == 0; i++) {
		if (!auth_passdb_open(db, i, error_r))
			return -1;
		ret = dict_lookup(db->dicts[i], user, hash_r, error_r);
	}
	if (ret == 1)
		str_rtrim(hash_r);
	else
		str_clear(hash_r);
	return ret;
}

int auth_passdb_verify(struct auth_passdb *db, const char *user,
		       const char *password, const char **error_r)
{
	int ret = auth_passdb_hash(db, user, &db->hash, error_r);
	bool ok;

	if (ret < 0)
		return -1;
	/* An unknown user (or an empty hash) spends the same time. */
	ok = sasl_verify_password(password, ret == 1 && db->hash.len > 0 ?
				  str_c(&db->hash) : NULL);
	if (db->hash.data != NULL)
		explicit_bzero(db->hash.data, db->hash.cap);
	str_clear(&db->hash);
	return ok && ret == 1 ? 1 : 0;
}

static int auth_owner_ids(const char *owner, struct auth_mailbox *mb,
			  const char **error_r)
{
	struct priv_user pu;
	int ret;

	if (server_instance_mode || owner == NULL) {
		mb->uid = getuid();
		mb->gid = getgid();
		return 1;
	}
	ret = priv_user_lookup(owner, &pu);
	if (ret <= 0) {
		*error_r = ret < 0 ? "mailbox owner lookup failed"
				   : "mailbox owner does not exist";
		return -1;
	}
	mb->uid = pu.uid;
	mb->gid = pu.gid;
	priv_user_free(&pu);
	return 1;
}

/* The quota the mail process enforces, as local looks it up. */
static int auth_mailbox_quota(struct auth_passdb *db, const char *user,
			      struct auth_mailbox *mb, const char **error_r)
{
	struct str value = STR_INIT;
	int ret = resolve_quota(db->resolver, user, &value, error_r);

	if (ret == 1)
		mb->quota = str_steal(&value);
	str_release(&value);
	return ret < 0 ? -1 : 1;
}

int auth_passdb_mailbox(struct auth_passdb *db, const char *user,
			struct auth_mailbox *mb, const char **error_r)
{
	struct resolve_delivery d;
	int ret;

	memset(mb, 0, sizeof(*mb));
	ret = resolve_mailbox(db->resolver, user, &d, error_r);
	if (ret == 1 && (d.kind == RESOLVE_MAILDIR ||
			 d.kind == RESOLVE_MAILBOX) && d.path != NULL) {
		ret = auth_owner_ids(d.user, mb, error_r);
		if (ret == 1)
			mb->path = mem_strdup(d.path);
		if (ret == 1 && d.kind == RESOLVE_MAILDIR)
			ret = auth_mailbox_quota(db, user, mb, error_r);
	} else if (ret == 1) {
		ret = 0;
	}
	resolve_delivery_clear(&d);
	return ret;
}

void auth_mailbox_clear(struct auth_mailbox *mb)
{
	mem_free(mb->path);
	mem_free(mb->quota);
}
