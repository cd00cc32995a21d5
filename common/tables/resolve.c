/*
 * resolve: which domains are ours and where a recipient's mail goes
 * (resolve.h).
 *
 * A resolver holds the tables named in the configuration: mydestination
 * and virtual_mailbox_domains (lists of domains; an entry with ':' is a
 * lookup table keyed by domain), virtual_alias_maps, alias_maps and
 * virtual_mailbox_maps. The domains that only virtual_alias_maps know
 * (RESOLVE_ALIAS_DOMAIN) are collected from the table keys when the
 * resolver is created.
 *
 * Expansion (resolve_expand) walks the alias graph depth first. Each
 * address carries the chain of addresses that led to it: an address that
 * appears in its own chain is a forwarding loop and bounces, a chain
 * longer than virtual_alias_recursion_limit defers, and an alias that
 * lists itself ("bob: bob, alice") means "deliver to bob's own mailbox
 * too". Local aliases take addresses, bare names (local users),
 * "\name" (no further aliasing), "|command", "/file" and ":include:/path".
 *
 * Interface: resolve_create/free, resolve_domain_class,
 * resolve_rcpt_exists, resolve_expand, resolve_mailbox, resolve_split.
 *
 * SECURITY: addresses come from the network (through smtpd) and from
 * tables; they are only used as lookup keys and, for the final mailbox,
 * appended to directories from the configuration. A local part with '/'
 * or a leading '.' never becomes a system account lookup, and a system
 * account is a local recipient only if local_system_recipients allows
 * it (default: a login shell and a home it owns, so bin, nobody and the
 * mail system's own users receive nothing) or local_recipient_maps
 * lists it. Commands and
 * files come only from alias tables and :include: files (admin-owned)
 * and only where allow_mail_to_commands / allow_mail_to_files say so.
 * An :include: file is opened as its owner when we run as root (local),
 * with O_NOFOLLOW|O_NONBLOCK, and refused unless it is a regular file
 * nobody else may write; a refusal defers (resolve_include_open).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "resolve.h"
#include "safe_file.h"
#include "str.h"

/* Most bytes read from one :include: file. */
#define RESOLVE_INCLUDE_MAX (1024 * 1024)

struct resolve_maps {
	struct dict **dicts;
	size_t count;
};

/* A list of domain names and tables keyed by domain. */
struct resolve_domains {
	char **names;
	size_t count;
	struct resolve_maps maps;
};

/* Which system accounts are local recipients. */
enum resolve_sysrcpt {
	SYSRCPT_LOGIN,		/* a login shell and a home it owns */
	SYSRCPT_ALL,
	SYSRCPT_NONE,
};

struct resolver {
	struct resolve_domains mydest;
	struct resolve_domains vdomains;
	struct resolve_domains adomains;	/* from virtual_alias_maps */
	struct resolve_maps valias;
	struct resolve_maps aliases;
	struct resolve_maps vmbox;
	char *delim;
	char *vbase;
	char *vowner;
	char *home_mailbox;
	char *mail_spool;	/* $mail_spool_directory */
	char *myhostname;
	char *default_privs;
	bool cmd_alias, cmd_include, file_alias, file_include;
	bool cmd_forward, file_forward;
	enum resolve_sysrcpt sysrcpt;	/* local_system_recipients */
	struct resolve_maps lrmaps;	/* local_recipient_maps */
	struct resolve_maps quota;	/* mailbox_quota_maps */
	char *quota_default;
	long depth_limit;
	long expansion_limit;
	struct str scratch;
};

/* Where an alias value came from: decides if |cmd and /file may run. */
enum resolve_origin {
	ORIGIN_ALIAS,
	ORIGIN_INCLUDE,
};

struct resolve_chain {
	const char *address;
	const struct resolve_chain *up;
};

struct resolve_ctx {
	struct resolver *r;
	struct resolve_result *res;
	size_t total;
};

static void resolve_addr(struct resolve_ctx *ctx, const char *address,
			 const struct resolve_chain *up, long depth);

/* ---- tables ---- */

static bool resolve_maps_open(struct resolve_maps *maps, char **specs,
			      char **error_r)
{
	for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
		struct dict *d = dict_open(specs[i], error_r);

		if (d == NULL)
			return false;
		maps->dicts = mem_array_realloc(maps->dicts, maps->count + 1,
						sizeof(*maps->dicts));
		maps->dicts[maps->count++] = d;
	}
	return true;
}

static void resolve_maps_free(struct resolve_maps *maps)
{
	for (size_t i = 0; i < maps->count; i++)
		dict_close(&maps->dicts[i]);
	mem_free(maps->dicts);
	maps->count = 0;
}

/* First match over the tables: -1/0/1. */
static int resolve_maps_lookup(struct resolve_maps *maps, const char *key,
			       struct str *value_r, const char **error_r)
{
	for (size_t i = 0; i < maps->count; i++) {
		int ret = dict_lookup(maps->dicts[i], key, value_r, error_r);

		if (ret != 0)
			return ret;
	}
	return 0;
}

static void resolve_domains_add(struct resolve_domains *list,
				const char *name)
{
	char *copy = mem_strdup(name);

	str_lower(copy);
	for (size_t i = 0; i < list->count; i++) {
		if (strcmp(list->names[i], copy) == 0) {
			free(copy);
			return;
		}
	}
	list->names = mem_array_realloc(list->names, list->count + 1,
					sizeof(*list->names));
	list->names[list->count++] = copy;
}

static bool resolve_domains_open(struct resolve_domains *list,
				 char **items, char **error_r)
{
	for (size_t i = 0; items != NULL && items[i] != NULL; i++) {
		if (strchr(items[i], ':') != NULL) {
			char *one[2] = { items[i], NULL };

			if (!resolve_maps_open(&list->maps, one, error_r))
				return false;
		} else {
			resolve_domains_add(list, items[i]);
		}
	}
	return true;
}

static void resolve_domains_free(struct resolve_domains *list)
{
	for (size_t i = 0; i < list->count; i++)
		mem_free(list->names[i]);
	mem_free(list->names);
	list->count = 0;
	resolve_maps_free(&list->maps);
}

/* -1 table error (treated as "no" by callers that cannot fail). */
static int resolve_domains_match(struct resolver *r,
				 struct resolve_domains *list,
				 const char *domain)
{
	const char *error;

	for (size_t i = 0; i < list->count; i++)
		if (strcasecmp(list->names[i], domain) == 0)
			return 1;
	return resolve_maps_lookup(&list->maps, domain, &r->scratch, &error);
}

static bool resolve_collect_domain(const char *key, const char *value,
				   void *ctx)
{
	struct resolve_domains *list = ctx;
	const char *at = strrchr(key, '@');

	if (at != NULL && at[1] != '\0')
		resolve_domains_add(list, at + 1);
	return true;
}

/* ---- create / free ---- */

static bool resolve_allows(char **list, const char *what)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strcasecmp(list[i], what) == 0 ||
		    strcasecmp(list[i], "yes") == 0)
			return true;
	return false;
}

static void resolve_read_scalars(struct resolver *r, struct cfg *cfg)
{
	char **cmds = cfg_list(cfg, "allow_mail_to_commands");
	char **files = cfg_list(cfg, "allow_mail_to_files");

	r->delim = mem_strdup(cfg_str(cfg, "recipient_delimiter"));
	r->vbase = mem_strdup(cfg_str(cfg, "virtual_mailbox_base"));
	r->vowner = mem_strdup(cfg_str(cfg, "virtual_owner"));
	r->home_mailbox = mem_strdup(cfg_str(cfg, "home_mailbox"));
	r->mail_spool = mem_strdup(cfg_str(cfg, "mail_spool_directory"));
	r->myhostname = mem_strdup(cfg_str(cfg, "myhostname"));
	str_lower(r->myhostname);
	r->default_privs = mem_strdup(cfg_str(cfg, "default_privs"));
	r->quota_default = mem_strdup(cfg_str(cfg, "mailbox_quota_default"));
	r->cmd_alias = resolve_allows(cmds, "alias");
	r->cmd_include = resolve_allows(cmds, "include");
	r->file_alias = resolve_allows(files, "alias");
	r->file_include = resolve_allows(files, "include");
	r->cmd_forward = resolve_allows(cmds, "forward");
	r->file_forward = resolve_allows(files, "forward");
	r->depth_limit = cfg_int(cfg, "virtual_alias_recursion_limit");
	r->expansion_limit = cfg_int(cfg, "virtual_alias_expansion_limit");
}

static bool resolve_read_sysrcpt(struct resolver *r, struct cfg *cfg,
				 char **error_r)
{
	const char *v = cfg_str(cfg, "local_system_recipients");

	if (strcasecmp(v, "login") == 0)
		r->sysrcpt = SYSRCPT_LOGIN;
	else if (strcasecmp(v, "all") == 0)
		r->sysrcpt = SYSRCPT_ALL;
	else if (strcasecmp(v, "none") == 0)
		r->sysrcpt = SYSRCPT_NONE;
	else {
		*error_r = mem_strdup("local_system_recipients: expected"
				      " login, all or none");
		return false;
	}
	return true;
}

struct resolver *resolve_create(struct cfg *cfg, char **error_r)
{
	struct resolver *r = mem_alloc(sizeof(*r));
	const char *error;

	resolve_read_scalars(r, cfg);
	if (!resolve_domains_open(&r->mydest, cfg_list(cfg, "mydestination"),
				  error_r) ||
	    !resolve_domains_open(&r->vdomains,
				  cfg_list(cfg, "virtual_mailbox_domains"),
				  error_r) ||
	    !resolve_maps_open(&r->valias, cfg_list(cfg, "virtual_alias_maps"),
			       error_r) ||
	    !resolve_maps_open(&r->aliases, cfg_list(cfg, "alias_maps"),
			       error_r) ||
	    !resolve_maps_open(&r->vmbox,
			       cfg_list(cfg, "virtual_mailbox_maps"),
			       error_r) ||
	    !resolve_maps_open(&r->lrmaps,
			       cfg_list(cfg, "local_recipient_maps"),
			       error_r) ||
	    !resolve_maps_open(&r->quota, cfg_list(cfg, "mailbox_quota_maps"),
			       error_r) ||
	    !resolve_read_sysrcpt(r, cfg, error_r))
		goto fail;
	/* XXX: alias-only domains are learnt once; a table rebuilt with a
	 * new domain needs a daemon restart (max_use makes that soon). */
	for (size_t i = 0; i < r->valias.count; i++) {
		if (!dict_iterate(r->valias.dicts[i], resolve_collect_domain,
				  &r->adomains, &error)) {
			*error_r = mem_strdup(error);
			goto fail;
		}
	}
	return r;
fail:
	resolve_free(&r);
	return NULL;
}

void resolve_free(struct resolver **rp)
{
	struct resolver *r = *rp;

	if (r == NULL)
		return;
	resolve_domains_free(&r->mydest);
	resolve_domains_free(&r->vdomains);
	resolve_domains_free(&r->adomains);
	resolve_maps_free(&r->valias);
	resolve_maps_free(&r->aliases);
	resolve_maps_free(&r->vmbox);
	resolve_maps_free(&r->lrmaps);
	resolve_maps_free(&r->quota);
	mem_free(r->quota_default);
	mem_free(r->delim);
	mem_free(r->vbase);
	mem_free(r->vowner);
	mem_free(r->home_mailbox);
	mem_free(r->mail_spool);
	mem_free(r->myhostname);
	mem_free(r->default_privs);
	str_release(&r->scratch);
	mem_free(*rp);
}

/* ---- classes and lookups ---- */

enum resolve_class resolve_domain_class(struct resolver *r,
					const char *domain)
{
	if (*domain == '\0' || resolve_domains_match(r, &r->mydest,
						     domain) == 1)
		return RESOLVE_LOCAL;
	if (resolve_domains_match(r, &r->vdomains, domain) == 1)
		return RESOLVE_VIRTUAL;
	if (resolve_domains_match(r, &r->adomains, domain) == 1)
		return RESOLVE_ALIAS_DOMAIN;
	return RESOLVE_RELAY;
}

void resolve_split(struct resolver *r, const char *address, bool strip,
		   struct str *local_r, struct str *domain_r)
{
	const char *at = strrchr(address, '@');
	size_t len = at != NULL ? (size_t)(at - address) : strlen(address);

	str_clear(local_r);
	str_append_n(local_r, address, len);
	str_set(domain_r, at != NULL ? at + 1 : "");
	str_lower(domain_r->data != NULL ? domain_r->data : (char *)"");
	if (strip && *r->delim != '\0') {
		size_t cut = strcspn(str_c(local_r), r->delim);

		/* "+foo" alone is a name, not an empty user + extension. */
		if (cut > 0 && cut < local_r->len)
			str_truncate(local_r, cut);
	}
}

static bool resolve_is_postmaster(const char *local)
{
	return strcasecmp(local, "postmaster") == 0;
}

/* Look address up as "user+ext@dom", "user@dom" and, with catch_all,
 * "@dom". */
static int resolve_addr_lookup(struct resolver *r, struct resolve_maps *maps,
			       const char *address, bool catch_all,
			       struct str *value_r, const char **error_r)
{
	struct str local = STR_INIT, domain = STR_INIT, key = STR_INIT;
	int ret = resolve_maps_lookup(maps, address, value_r, error_r);

	if (ret != 0)
		return ret;
	resolve_split(r, address, true, &local, &domain);
	str_printf(&key, "%s@%s", str_c(&local), str_c(&domain));
	if (strcasecmp(str_c(&key), address) != 0)
		ret = resolve_maps_lookup(maps, str_c(&key), value_r, error_r);
	if (ret == 0 && catch_all && domain.len > 0) {
		str_clear(&key);
		str_printf(&key, "@%s", str_c(&domain));
		ret = resolve_maps_lookup(maps, str_c(&key), value_r, error_r);
	}
	str_release(&local);
	str_release(&domain);
	str_release(&key);
	return ret;
}

/* Alias lookup by local part, with and without the extension. */
static int resolve_alias_lookup(struct resolver *r, const char *address,
				struct str *value_r, const char **error_r)
{
	struct str local = STR_INIT, domain = STR_INIT;
	int ret;

	resolve_split(r, address, false, &local, &domain);
	str_lower(local.data != NULL ? local.data : (char *)"");
	ret = resolve_maps_lookup(&r->aliases, str_c(&local), value_r,
				  error_r);
	if (ret == 0) {
		resolve_split(r, address, true, &local, &domain);
		ret = resolve_maps_lookup(&r->aliases, str_c(&local), value_r,
					  error_r);
	}
	str_release(&local);
	str_release(&domain);
	return ret;
}

/* Is the shell a login shell: listed in /etc/shells (or, without that
 * file, anything but nologin and false)? */
static bool resolve_login_shell(const char *shell)
{
	const char *base = strrchr(shell, '/');
	bool listed = false, have_list = false;
	char line[1024];
	FILE *fp;

	base = base != NULL ? base + 1 : shell;
	if (*shell == '\0' || strcmp(base, "nologin") == 0 ||
	    strcmp(base, "false") == 0)
		return false;
	fp = fopen("/etc/shells", "re");
	if (fp != NULL) {
		have_list = true;
		while (!listed && fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			listed = strcmp(line, shell) == 0;
		}
		fclose(fp);
	}
	return listed || !have_list;
}

/* May the system account user (found for local part name) receive mail?
 * -1 on a table error. */
static int resolve_account_ok(struct resolver *r, const char *name,
			      const struct priv_user *user)
{
	const char *error = NULL;
	struct stat st;
	int ret;

	ret = resolve_maps_lookup(&r->lrmaps, name, &r->scratch, &error);
	if (ret != 0)
		return ret;
	switch (r->sysrcpt) {
	case SYSRCPT_ALL:
		return 1;
	case SYSRCPT_NONE:
		return 0;
	case SYSRCPT_LOGIN:
		break;
	}
	return resolve_login_shell(user->shell) &&
	       stat(user->home, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_uid == user->uid;
}

/* A system account that is a local recipient for a local part: 0 also
 * for unsafe names and for accounts local_system_recipients leaves
 * out. */
static int resolve_system_user(struct resolver *r, const char *address,
			       struct priv_user *user_r)
{
	struct str local = STR_INIT, domain = STR_INIT;
	int ret = 0;

	resolve_split(r, address, true, &local, &domain);
	str_lower(local.data != NULL ? local.data : (char *)"");
	if (local.len > 0 && local.data[0] != '.' &&
	    strchr(str_c(&local), '/') == NULL)
		ret = priv_user_lookup(str_c(&local), user_r);
	if (ret > 0) {
		ret = resolve_account_ok(r, str_c(&local), user_r);
		if (ret <= 0)
			priv_user_free(user_r);
	}
	str_release(&local);
	str_release(&domain);
	return ret;
}

int resolve_rcpt_exists(struct resolver *r, const char *address,
			const char **error_r)
{
	struct str local = STR_INIT, domain = STR_INIT;
	struct priv_user user;
	enum resolve_class class;
	int ret;

	resolve_split(r, address, true, &local, &domain);
	class = resolve_domain_class(r, str_c(&domain));
	ret = resolve_addr_lookup(r, &r->valias, address, true, &r->scratch,
				  error_r);
	if (ret != 0 || class == RESOLVE_RELAY)
		goto out;
	if (resolve_is_postmaster(str_c(&local))) {
		ret = 1;
		goto out;
	}
	if (class == RESOLVE_VIRTUAL) {
		ret = resolve_addr_lookup(r, &r->vmbox, address, true,
					  &r->scratch, error_r);
	} else if (class == RESOLVE_LOCAL) {
		ret = resolve_alias_lookup(r, address, &r->scratch, error_r);
		if (ret == 0) {
			ret = resolve_system_user(r, address, &user);
			if (ret > 0)
				priv_user_free(&user);
			else if (ret < 0)
				*error_r = "system user lookup failed";
		}
	}
out:
	if (class == RESOLVE_RELAY && ret == 0)
		ret = 1;
	str_release(&local);
	str_release(&domain);
	return ret;
}

/* ---- mailboxes ---- */

static void resolve_set_path(struct resolve_delivery *d, const char *dir,
			     const char *rel)
{
	struct str path = STR_INIT;

	str_set(&path, dir);
	if (path.len > 0 && path.data[path.len - 1] != '/' && *rel != '/')
		str_append_c(&path, '/');
	str_append(&path, rel);
	d->path = str_steal(&path);
	d->kind = d->path[strlen(d->path) - 1] == '/' ?
		RESOLVE_MAILDIR : RESOLVE_MAILBOX;
}

static int resolve_virtual_mailbox(struct resolver *r, const char *address,
				   struct resolve_delivery *d,
				   const char **error_r)
{
	struct str value = STR_INIT;
	int ret = resolve_addr_lookup(r, &r->vmbox, address, true, &value,
				      error_r);

	if (ret == 1) {
		/* A table value may not climb out of the base. */
		if (strstr(str_c(&value), "..") != NULL || value.len == 0) {
			*error_r = "bad virtual_mailbox_maps value";
			ret = -1;
		} else {
			resolve_set_path(d, r->vbase, str_c(&value));
			d->user = mem_strdup(r->vowner);
			d->class = RESOLVE_VIRTUAL;
		}
	}
	str_release(&value);
	return ret;
}

static int resolve_local_mailbox(struct resolver *r, const char *address,
				 struct resolve_delivery *d,
				 const char **error_r)
{
	struct priv_user user;
	struct str spool = STR_INIT;
	int ret = resolve_system_user(r, address, &user);

	if (ret < 0) {
		*error_r = "system user lookup failed";
		return -1;
	}
	if (ret == 0)
		return 0;
	if (*r->home_mailbox == '\0') {
		str_printf(&spool, "%s/%s", r->mail_spool, user.name);
		resolve_set_path(d, "", str_c(&spool));
		str_release(&spool);
	} else {
		resolve_set_path(d, user.home, r->home_mailbox);
	}
	d->user = mem_strdup(user.name);
	d->class = RESOLVE_LOCAL;
	priv_user_free(&user);
	return 1;
}

int resolve_mailbox(struct resolver *r, const char *address,
		    struct resolve_delivery *d, const char **error_r)
{
	struct str local = STR_INIT, domain = STR_INIT;
	enum resolve_class class;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	resolve_split(r, address, true, &local, &domain);
	class = resolve_domain_class(r, str_c(&domain));
	if (class == RESOLVE_VIRTUAL)
		ret = resolve_virtual_mailbox(r, address, d, error_r);
	else if (class == RESOLVE_LOCAL)
		ret = resolve_local_mailbox(r, address, d, error_r);
	if (ret == 1)
		d->address = mem_strdup(address);
	str_release(&local);
	str_release(&domain);
	return ret;
}

int resolve_quota(struct resolver *r, const char *address,
		  struct str *value_r, const char **error_r)
{
	struct str local = STR_INIT, domain = STR_INIT;
	int ret = resolve_addr_lookup(r, &r->quota, address, true, value_r,
				      error_r);

	/* A system user by name too: "bob" is both bob@$myhostname at
	 * delivery and the login "bob". */
	if (ret == 0) {
		resolve_split(r, address, true, &local, &domain);
		if (domain.len > 0 &&
		    resolve_domain_class(r, str_c(&domain)) == RESOLVE_LOCAL) {
			str_lower(local.data != NULL ? local.data : (char *)"");
			ret = resolve_maps_lookup(&r->quota, str_c(&local),
						  value_r, error_r);
		}
	}
	if (ret == 0 && *r->quota_default != '\0') {
		str_set(value_r, r->quota_default);
		ret = 1;
	}
	str_release(&local);
	str_release(&domain);
	return ret;
}

void resolve_delivery_clear(struct resolve_delivery *d)
{
	mem_free(d->address);
	mem_free(d->path);
	mem_free(d->user);
	mem_free(d->reason);
}

void resolve_result_clear(struct resolve_result *res)
{
	for (size_t i = 0; i < res->count; i++)
		resolve_delivery_clear(&res->items[i]);
	mem_free(res->items);
	res->count = 0;
	res->cap = 0;
}

/* ---- expansion ---- */

static bool resolve_same(const struct resolve_delivery *a,
			 const struct resolve_delivery *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == RESOLVE_FORWARD || a->kind == RESOLVE_BOUNCE ||
	    a->kind == RESOLVE_DEFER)
		return strcasecmp(a->address, b->address) == 0;
	return strcmp(a->path, b->path) == 0;
}

/* Append *d (taking its strings) unless an equal delivery is there. */
static void resolve_push(struct resolve_ctx *ctx, struct resolve_delivery *d)
{
	struct resolve_result *res = ctx->res;

	for (size_t i = 0; i < res->count; i++) {
		if (resolve_same(&res->items[i], d)) {
			resolve_delivery_clear(d);
			return;
		}
	}
	if (res->count == res->cap) {
		res->cap = res->cap == 0 ? 4 : res->cap * 2;
		res->items = mem_array_realloc(res->items, res->cap,
					       sizeof(*res->items));
	}
	res->items[res->count++] = *d;
}

static void resolve_fail(struct resolve_ctx *ctx, enum resolve_kind kind,
			 const char *address, const char *dsn,
			 const char *fmt, ...) MSG_PRINTF(5, 6);

static void resolve_fail(struct resolve_ctx *ctx, enum resolve_kind kind,
			 const char *address, const char *dsn,
			 const char *fmt, ...)
{
	struct resolve_delivery d = { .kind = kind, .dsn = dsn };
	va_list ap;

	va_start(ap, fmt);
	d.reason = str_dup_vprintf(fmt, ap);
	va_end(ap);
	d.address = mem_strdup(address);
	resolve_push(ctx, &d);
}

/* postmaster of one of our domains that has no mailbox of its own: the
 * local postmaster (aliases first), finally root's mailbox. */
static void resolve_final_postmaster(struct resolve_ctx *ctx,
				     const char *address,
				     enum resolve_class class)
{
	struct resolve_delivery d;
	struct str pm = STR_INIT;
	const char *error = NULL;

	if (class != RESOLVE_LOCAL && resolve_domain_class(ctx->r,
				ctx->r->myhostname) == RESOLVE_LOCAL) {
		str_printf(&pm, "postmaster@%s", ctx->r->myhostname);
		resolve_addr(ctx, str_c(&pm), NULL, 0);
		str_release(&pm);
		return;
	}
	str_printf(&pm, "root@%s", ctx->r->myhostname);
	if (resolve_local_mailbox(ctx->r, str_c(&pm), &d, &error) == 1) {
		/* The address local can look the mailbox up by. */
		d.address = mem_strdup(str_c(&pm));
		resolve_push(ctx, &d);
	} else {
		resolve_fail(ctx, RESOLVE_DEFER, address, "4.3.0",
			     "no mailbox for postmaster");
	}
	str_release(&pm);
}

/* A final address of one of our domains (or not): its mailbox. */
static void resolve_final(struct resolve_ctx *ctx, const char *address,
			  enum resolve_class class)
{
	struct resolve_delivery d;
	struct str local = STR_INIT, domain = STR_INIT;
	const char *error = NULL;
	int ret;

	if (class == RESOLVE_RELAY) {
		memset(&d, 0, sizeof(d));
		d.kind = RESOLVE_FORWARD;
		d.class = RESOLVE_RELAY;
		d.address = mem_strdup(address);
		resolve_push(ctx, &d);
		return;
	}
	ret = resolve_mailbox(ctx->r, address, &d, &error);
	if (ret == 1) {
		resolve_push(ctx, &d);
		return;
	}
	resolve_split(ctx->r, address, true, &local, &domain);
	if (ret < 0)
		resolve_fail(ctx, RESOLVE_DEFER, address, "4.3.0",
			     "mailbox lookup failed: %s", error);
	else if (resolve_is_postmaster(str_c(&local)))
		resolve_final_postmaster(ctx, address, class);
	else
		resolve_fail(ctx, RESOLVE_BOUNCE, address, "5.1.1",
			     "unknown user: \"%s\"", address);
	str_release(&local);
	str_release(&domain);
}

/* Split an alias value into targets: commas and whitespace separate
 * them, double quotes protect a "|command with spaces". */
char **resolve_targets(const char *value, size_t *count_r)
{
	char **targets = NULL;
	struct str cur = STR_INIT;
	size_t count = 0;
	bool quoted = false;

	for (const char *p = value;; p++) {
		bool end = *p == '\0';

		if (!end && *p == '"') {
			quoted = !quoted;
			continue;
		}
		if (!end && (quoted || strchr(", \t\r\n", *p) == NULL)) {
			str_append_c(&cur, *p);
			continue;
		}
		if (cur.len > 0) {
			targets = mem_array_realloc(targets, count + 1,
						    sizeof(*targets));
			targets[count++] = str_steal(&cur);
		}
		if (end)
			break;
	}
	*count_r = count;
	return targets;
}

void resolve_targets_free(char **targets, size_t count)
{
	for (size_t i = 0; i < count; i++)
		mem_free(targets[i]);
	free(targets);
}

static void resolve_special(struct resolve_ctx *ctx, const char *alias,
			    const char *target, enum resolve_origin origin)
{
	struct resolver *r = ctx->r;
	bool cmd = target[0] == '|';
	bool allowed = cmd ? (origin == ORIGIN_ALIAS ? r->cmd_alias :
			      r->cmd_include) :
		(origin == ORIGIN_ALIAS ? r->file_alias : r->file_include);
	struct resolve_delivery d = { .kind = cmd ? RESOLVE_COMMAND :
				      RESOLVE_FILE };

	if (!allowed) {
		resolve_fail(ctx, RESOLVE_BOUNCE, alias, "5.7.1",
			     "mail to %s is restricted", cmd ? "command" :
			     "file");
		return;
	}
	d.class = RESOLVE_LOCAL;
	d.address = mem_strdup(alias);
	d.path = mem_strdup(cmd ? target + 1 : target);
	d.user = mem_strdup(r->default_privs);
	resolve_push(ctx, &d);
}

static void resolve_alias_value(struct resolve_ctx *ctx, const char *alias,
				const char *value,
				const struct resolve_chain *chain, long depth,
				enum resolve_origin origin);

/* Saved effective ids while an :include: file is opened as its owner. */
struct resolve_ids {
	uid_t euid;
	gid_t egid;
	gid_t *groups;
	int ngroups;
};

/* Become (effectively) uid:gid with no other group, as Postfix opens
 * include files with the owner's rights; false (nothing changed) if
 * that cannot be done. */
static bool resolve_ids_switch(uid_t uid, gid_t gid, struct resolve_ids *ids)
{
	ids->euid = geteuid();
	ids->egid = getegid();
	ids->ngroups = getgroups(0, NULL);
	if (ids->ngroups < 0)
		return false;
	ids->groups = mem_array((size_t)ids->ngroups + 1, sizeof(gid_t));
	ids->ngroups = getgroups(ids->ngroups, ids->groups);
	if (ids->ngroups < 0 || setgroups(1, &gid) < 0)
		goto fail;
	if (setegid(gid) < 0 || seteuid(uid) < 0) {
		(void)setegid(ids->egid);
		(void)setgroups((size_t)ids->ngroups, ids->groups);
		goto fail;
	}
	return true;
fail:
	mem_free(ids->groups);
	return false;
}

static void resolve_ids_restore(struct resolve_ids *ids)
{
	if (seteuid(ids->euid) < 0 || setegid(ids->egid) < 0 ||
	    setgroups((size_t)ids->ngroups, ids->groups) < 0)
		msg_fatal("cannot restore privileges after an :include:"
			  " file: %m");
	mem_free(ids->groups);
}

/* Open an :include: file for reading: as its owner when we are root and
 * the owner is not (so a user's file never reads what that user cannot,
 * and a file replaced by someone else's is noticed), never following a
 * symlink, never blocking on a FIFO, refusing anything but a regular
 * file nobody else may write (safe_open_regular). -1 with errno and
 * *why_r set when the file is refused for what it is. */
static int resolve_include_open(const char *path, const char **why_r)
{
	struct resolve_ids ids;
	struct stat st;
	bool switched = false;
	uid_t owner;
	int fd, saved;

	*why_r = NULL;
	if (geteuid() == 0 && lstat(path, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_uid != 0) {
		if (!resolve_ids_switch(st.st_uid, st.st_gid, &ids))
			return -1;
		switched = true;
	}
	fd = safe_open_regular(AT_FDCWD, path, &owner, why_r);
	saved = errno;
	if (switched)
		resolve_ids_restore(&ids);
	if (fd >= 0 && switched && owner != st.st_uid) {
		close(fd);
		*why_r = "changed owner while being opened";
		saved = EPERM;
		fd = -1;
	}
	errno = saved;
	return fd;
}

static void resolve_include(struct resolve_ctx *ctx, const char *alias,
			    const char *path,
			    const struct resolve_chain *chain, long depth)
{
	struct str text = STR_INIT;
	const char *why;
	char *cursor, *line;
	int fd;
	bool ok;

	if (*path != '/') {
		resolve_fail(ctx, RESOLVE_BOUNCE, alias, "5.3.5",
			     ":include: needs an absolute path: %s", path);
		return;
	}
	fd = resolve_include_open(path, &why);
	if (fd < 0 && why != NULL) {
		/* A mode or owner problem defers, as in Postfix: the admin
		 * fixes the file and the mail goes out. */
		msg_warn(":include: file %s %s: refused (alias %s)", path,
			 why, alias);
		resolve_fail(ctx, RESOLVE_DEFER, alias, "4.3.0",
			     "mail system configuration error: :include:"
			     " file %s %s", path, why);
		return;
	}
	ok = fd >= 0 && safe_read_fd(fd, &text, RESOLVE_INCLUDE_MAX);
	if (!ok) {
		resolve_fail(ctx, RESOLVE_DEFER, alias, "4.3.0",
			     "cannot read :include: file %s: %s", path,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	cursor = text.data != NULL ? text.data : (char *)"";
	while ((line = str_token(&cursor, "\n")) != NULL) {
		line = str_trim(line);
		if (*line != '#' && *line != '\0')
			resolve_alias_value(ctx, alias, line, chain, depth,
					    ORIGIN_INCLUDE);
	}
	str_release(&text);
}

/* One target of a local alias. */
static void resolve_alias_target(struct resolve_ctx *ctx, const char *alias,
				 const char *target,
				 const struct resolve_chain *chain,
				 long depth, enum resolve_origin origin)
{
	struct str addr = STR_INIT, local = STR_INIT, domain = STR_INIT;
	bool no_alias = target[0] == '\\';

	if (target[0] == '|' || target[0] == '/') {
		resolve_special(ctx, alias, target, origin);
		return;
	}
	if (str_case_prefix(target, ":include:")) {
		resolve_include(ctx, alias, target + 9, chain, depth + 1);
		return;
	}
	if (no_alias)
		target++;
	str_set(&addr, target);
	if (strchr(target, '@') == NULL)
		str_printf(&addr, "@%s", ctx->r->myhostname);
	resolve_split(ctx->r, alias, false, &local, &domain);
	/* "bob: bob, ..." and "\bob" both mean bob's own mailbox. */
	if (no_alias || strcasecmp(str_c(&addr), alias) == 0)
		resolve_final(ctx, str_c(&addr), resolve_domain_class(ctx->r,
				strrchr(str_c(&addr), '@') + 1));
	else
		resolve_addr(ctx, str_c(&addr), chain, depth + 1);
	str_release(&addr);
	str_release(&local);
	str_release(&domain);
}

static void resolve_alias_value(struct resolve_ctx *ctx, const char *alias,
				const char *value,
				const struct resolve_chain *chain, long depth,
				enum resolve_origin origin)
{
	size_t count;
	char **targets = resolve_targets(value, &count);

	if (count == 0)
		resolve_fail(ctx, RESOLVE_BOUNCE, alias, "5.3.5",
			     "empty alias expansion");
	for (size_t i = 0; i < count; i++)
		resolve_alias_target(ctx, alias, targets[i], chain, depth,
				     origin);
	resolve_targets_free(targets, count);
}

/* Virtual alias targets: each one an address, recursively. */
static void resolve_valias_value(struct resolve_ctx *ctx,
				 const char *address, const char *value,
				 const struct resolve_chain *chain,
				 long depth)
{
	size_t count;
	char **targets = resolve_targets(value, &count);
	struct str local = STR_INIT, domain = STR_INIT;

	if (count == 0)
		resolve_fail(ctx, RESOLVE_BOUNCE, address, "5.3.5",
			     "empty virtual alias expansion");
	for (size_t i = 0; i < count; i++) {
		str_lower(strrchr(targets[i], '@') != NULL ?
			  strrchr(targets[i], '@') : targets[i] +
			  strlen(targets[i]));
		if (strcasecmp(targets[i], address) != 0) {
			resolve_addr(ctx, targets[i], chain, depth + 1);
			continue;
		}
		/* Self reference: deliver here, skipping virtual aliases. */
		resolve_split(ctx->r, address, true, &local, &domain);
		resolve_final(ctx, address, resolve_domain_class(ctx->r,
							str_c(&domain)));
	}
	resolve_targets_free(targets, count);
	str_release(&local);
	str_release(&domain);
}

static bool resolve_in_chain(const struct resolve_chain *chain,
			     const char *address)
{
	for (; chain != NULL; chain = chain->up)
		if (strcasecmp(chain->address, address) == 0)
			return true;
	return false;
}

/* Guards shared by every step: depth, size, loops. */
static bool resolve_guard(struct resolve_ctx *ctx, const char *address,
			  const struct resolve_chain *up, long depth)
{
	if (resolve_in_chain(up, address)) {
		resolve_fail(ctx, RESOLVE_BOUNCE, address, "5.4.6",
			     "mail forwarding loop for %s", address);
		return false;
	}
	if (depth > ctx->r->depth_limit) {
		resolve_fail(ctx, RESOLVE_DEFER, address, "4.3.0",
			     "alias expansion depth limit exceeded");
		return false;
	}
	if (++ctx->total > (size_t)ctx->r->expansion_limit) {
		resolve_fail(ctx, RESOLVE_DEFER, address, "4.3.0",
			     "alias expansion limit exceeded");
		return false;
	}
	return true;
}

static void resolve_addr(struct resolve_ctx *ctx, const char *address,
			 const struct resolve_chain *up, long depth)
{
	struct resolve_chain chain = { address, up };
	struct str value = STR_INIT, local = STR_INIT, domain = STR_INIT;
	enum resolve_class class;
	const char *error = NULL;
	int ret;

	if (!resolve_guard(ctx, address, up, depth))
		return;
	resolve_split(ctx->r, address, true, &local, &domain);
	class = resolve_domain_class(ctx->r, str_c(&domain));
	ret = resolve_addr_lookup(ctx->r, &ctx->r->valias, address, true,
				  &value, &error);
	if (ret == 0 && class == RESOLVE_LOCAL)
		ret = resolve_alias_lookup(ctx->r, address, &value, &error);
	else if (ret == 1)
		class = RESOLVE_ALIAS_DOMAIN;	/* marks a virtual alias */
	if (ret < 0)
		resolve_fail(ctx, RESOLVE_DEFER, address, "4.3.0",
			     "alias lookup failed: %s", error);
	else if (ret == 0)
		resolve_final(ctx, address, class);
	else if (class == RESOLVE_ALIAS_DOMAIN)
		resolve_valias_value(ctx, address, str_c(&value), &chain,
				     depth);
	else
		resolve_alias_value(ctx, address, str_c(&value), &chain,
				    depth, ORIGIN_ALIAS);
	str_release(&value);
	str_release(&local);
	str_release(&domain);
}

void resolve_expand(struct resolver *r, const char *address,
		    struct resolve_result *res)
{
	struct resolve_ctx ctx = { r, res, 0 };

	resolve_addr(&ctx, address, NULL, 0);
}

bool resolve_forward_allows(const struct resolver *r, bool command)
{
	return command ? r->cmd_forward : r->file_forward;
}
