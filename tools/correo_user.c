/*
 * correo_user: "correo user add|del|list" and "correo newaliases"
 * (correo.h).
 *
 *   correo user add ADDRESS [MAILDIR]   add a virtual mailbox: a line
 *       "ADDRESS MAILDIR" (default "domain/local/") in the text source of
 *       the first virtual_mailbox_maps table, its .db rebuilt, and the
 *       Maildir created under virtual_mailbox_base, owned by
 *       virtual_owner when run as root.
 *   correo user del ADDRESS             remove the line, rebuild; the
 *       Maildir is left alone (say so).
 *   correo user list                    the table's entries.
 *   correo newaliases                   rebuild each hash:/btree:/lmdb: table
 *       of alias_database.
 *
 * Passwords ("correo user passwd", "add --password-stdin") are set
 * through tools/correo_passwd.c, which writes auth's own table; the
 * table edited here only maps addresses to Maildirs.
 *
 * Interface: correo_user_cmd, correo_newaliases_cmd.
 *
 * SECURITY: run by the admin, usually as root. An address must have one
 * '@', a domain in virtual_mailbox_domains and no '/', whitespace or
 * control characters; a Maildir path must be relative without "..", so
 * nothing is created outside virtual_mailbox_base. The table file is
 * rewritten atomically (safe_write_file). The tree below the base
 * belongs to virtual_owner, who could plant symlinks in it: the Maildir
 * is created with mkdirat/openat(O_NOFOLLOW) from the base's descriptor
 * and chowned with fchown, never by path (safe_mkdir_at), and a symlink
 * in the way is refused.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "correo.h"
#include "dict.h"
#include "mem.h"
#include "priv.h"
#include "resolve.h"
#include "safe_file.h"
#include "str.h"
#include "tool.h"

#define USER_TABLE_MAX (64 * 1024 * 1024)

/* The first virtual_mailbox_maps entry split into type and text path. */
struct user_table {
	char type[32];
	char *path;
};

static bool user_table(struct cfg *cfg, struct user_table *t)
{
	char **maps = cfg_list(cfg, "virtual_mailbox_maps");
	const char *colon;

	if (maps == NULL || maps[0] == NULL) {
		tool_complain("virtual_mailbox_maps is empty: nowhere to add"
			      " users");
		return false;
	}
	colon = strchr(maps[0], ':');
	if (colon == NULL || colon == maps[0] ||
	    (size_t)(colon - maps[0]) >= sizeof(t->type) ||
	    colon[1] != '/') {
		tool_complain("virtual_mailbox_maps: cannot edit %s (need"
			      " hash:/path, btree:/path, lmdb:/path or"
			      " texthash:/path)",
			      maps[0]);
		return false;
	}
	(void)str_snprintf(t->type, sizeof(t->type), "%.*s",
			   (int)(colon - maps[0]), maps[0]);
	if (strcmp(t->type, "hash") != 0 && strcmp(t->type, "btree") != 0 &&
	    strcmp(t->type, "lmdb") != 0 && strcmp(t->type, "texthash") != 0) {
		tool_complain("virtual_mailbox_maps: cannot edit a %s: table",
			      t->type);
		return false;
	}
	t->path = mem_strdup(colon + 1);
	return true;
}

static bool user_rebuild(const struct user_table *t)
{
	char *error = NULL;

	if (strcmp(t->type, "texthash") == 0)
		return true;
	if (!dict_build(t->type, t->path, &error)) {
		tool_complain("%s", error);
		mem_free(error);
		return false;
	}
	return true;
}

static bool user_address_ok(const char *address, struct str *local,
			    struct str *domain)
{
	const char *at = strchr(address, '@');

	for (const char *p = address; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == '/' || *p == 0x7f ||
		    *p == '#' || *p == ':') {
			tool_complain("%s: bad character in address", address);
			return false;
		}
	}
	if (at == NULL || at == address || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || address[0] == '.') {
		tool_complain("%s: expected user@domain", address);
		return false;
	}
	str_clear(local);
	str_append_n(local, address, (size_t)(at - address));
	str_set(domain, at + 1);
	str_lower(domain->data);
	return true;
}

static bool user_maildir_ok(const char *maildir)
{
	if (*maildir == '\0' || *maildir == '/' ||
	    strstr(maildir, "..") != NULL) {
		tool_complain("%s: the Maildir must be a relative path under"
			      " virtual_mailbox_base, without \"..\"",
			      maildir);
		return false;
	}
	return true;
}

/* Is address a key of the text source? */
static bool user_find_cb(const char *key, const char *value, void *ctx)
{
	const char **want = ctx;

	if (strcasecmp(key, *want) == 0) {
		*want = NULL;
		return false;
	}
	return true;
}

static int user_exists(const struct user_table *t, const char *address)
{
	const char *want = address;
	char *error = NULL;

	if (access(t->path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (!dict_parse_source(t->path, user_find_cb, &want, &error) &&
	    want != NULL) {
		tool_complain("%s", error);
		mem_free(error);
		return -1;
	}
	mem_free(error);
	return want == NULL;
}

/* Create the Maildir md (and the directories leading to it) below the
 * base, owned by the virtual owner when run as root. vmail owns the
 * tree below the base and could plant a symlink at any component, so
 * every step is mkdirat + openat(O_NOFOLLOW) from the base's descriptor
 * and ownership is set with fchown on the new directory's descriptor
 * (safe_mkdir_at): a symlink is refused, never followed. */
static bool user_make_maildir(const char *base, const char *md,
			      const char *owner)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	struct priv_user user = { .uid = (uid_t)-1, .gid = (gid_t)-1 };
	int base_fd = -1, fd = -1, sub;
	bool ok = false;

	if (priv_is_root() && priv_user_lookup(owner, &user) <= 0) {
		tool_complain("virtual_owner %s: no such user", owner);
		return false;
	}
	base_fd = safe_open_dir(base);
	if (base_fd < 0) {
		tool_complain("open %s: %s", base, strerror(errno));
		goto out;
	}
	fd = safe_mkdir_at(base_fd, md, 0700, user.uid, user.gid);
	for (size_t i = 0; fd >= 0 && i < 3; i++) {
		sub = safe_mkdir_at(fd, subs[i], 0700, user.uid, user.gid);
		if (sub < 0) {
			close(fd);
			fd = -1;
		} else
			close(sub);
	}
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		tool_complain("refusing to create %s/%s: a symbolic link or"
			      " another non-directory is in the way (%s);"
			      " nothing was changed through it, remove it"
			      " and retry", base, md, strerror(errno));
	else if (fd < 0)
		tool_complain("create %s/%s: %s", base, md, strerror(errno));
	ok = fd >= 0;
out:
	if (fd >= 0)
		close(fd);
	if (base_fd >= 0)
		close(base_fd);
	if (user.name != NULL)
		priv_user_free(&user);
	return ok;
}

static bool user_append(const struct user_table *t, const char *address,
			const char *maildir)
{
	struct str text = STR_INIT;
	bool ok;

	if (access(t->path, F_OK) == 0 &&
	    !safe_read_file(t->path, &text, USER_TABLE_MAX)) {
		tool_complain("read %s: %s", t->path, strerror(errno));
		return false;
	}
	if (text.len > 0 && text.data[text.len - 1] != '\n')
		str_append_c(&text, '\n');
	str_printf(&text, "%s %s\n", address, maildir);
	ok = safe_write_file(t->path, text.data, text.len, 0644);
	if (!ok)
		tool_complain("write %s: %s", t->path, strerror(errno));
	str_release(&text);
	return ok;
}

static int user_add(struct cfg *cfg, const struct user_table *t,
		    int argc, char **argv)
{
	struct str local = STR_INIT, domain = STR_INIT, md = STR_INIT;
	struct str full = STR_INIT;
	struct resolver *r;
	char *error = NULL;
	const char *base = cfg_str(cfg, "virtual_mailbox_base");
	int ret = 1;

	if (!user_address_ok(argv[1], &local, &domain))
		goto out;
	r = resolve_create(cfg, &error);
	if (r == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		goto out;
	}
	if (resolve_domain_class(r, str_c(&domain)) != RESOLVE_VIRTUAL) {
		tool_complain("%s: domain %s is not in virtual_mailbox_domains",
			      argv[1], str_c(&domain));
		resolve_free(&r);
		goto out;
	}
	resolve_free(&r);
	if (argc > 2)
		str_set(&md, argv[2]);
	else
		str_printf(&md, "%s/%s/", str_c(&domain), str_c(&local));
	if (!user_maildir_ok(str_c(&md)))
		goto out;
	if (*base == '\0') {
		tool_complain("virtual_mailbox_base is not set");
		goto out;
	}
	switch (user_exists(t, argv[1])) {
	case 1:
		tool_complain("%s: already exists in %s", argv[1], t->path);
		/* fall through */
	case -1:
		goto out;
	}
	/* The Maildir first: if it is refused, the user is not added. */
	str_printf(&full, "%s/%s", base, str_c(&md));
	if (md.data[md.len - 1] == '/' &&
	    !user_make_maildir(base, str_c(&md),
			       cfg_str(cfg, "virtual_owner")))
		goto out;
	if (!user_append(t, argv[1], str_c(&md)) || !user_rebuild(t))
		goto out;
	tool_say("added %s -> %s", argv[1], str_c(&full));
	ret = 0;
out:
	str_release(&local);
	str_release(&domain);
	str_release(&md);
	str_release(&full);
	return ret;
}

/* Drop the entry for address (and its continuation lines). */
static bool user_remove_line(struct str *text, const char *address,
			     struct str *out)
{
	bool found = false, skipping = false;
	char *cursor = text->data != NULL ? text->data : (char *)"";
	char *line;
	size_t alen = strlen(address);

	while ((line = strsep(&cursor, "\n")) != NULL) {
		if (cursor == NULL && *line == '\0')
			break;
		if (skipping && (*line == ' ' || *line == '\t'))
			continue;
		skipping = false;
		if (strncasecmp(line, address, alen) == 0 &&
		    (line[alen] == ' ' || line[alen] == '\t' ||
		     line[alen] == ':' || line[alen] == '\0')) {
			found = skipping = true;
			continue;
		}
		str_printf(out, "%s\n", line);
	}
	return found;
}

static int user_del(const struct user_table *t, const char *address)
{
	struct str text = STR_INIT, out = STR_INIT;
	int ret = 1;

	if (!safe_read_file(t->path, &text, USER_TABLE_MAX)) {
		tool_complain("read %s: %s", t->path, strerror(errno));
		goto out;
	}
	if (!user_remove_line(&text, address, &out)) {
		tool_complain("%s: no such user in %s", address, t->path);
		goto out;
	}
	if (!safe_write_file(t->path, out.data != NULL ? out.data : "",
			     out.len, 0644)) {
		tool_complain("write %s: %s", t->path, strerror(errno));
		goto out;
	}
	if (!user_rebuild(t))
		goto out;
	tool_say("removed %s; its Maildir was left in place (remove it by"
		 " hand if you want)", address);
	ret = 0;
out:
	str_release(&text);
	str_release(&out);
	return ret;
}

static bool user_print_cb(const char *key, const char *value, void *ctx)
{
	printf("%s %s\n", key, value);
	return true;
}

static int user_list(const struct user_table *t)
{
	char *error = NULL;

	if (access(t->path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if (!dict_parse_source(t->path, user_print_cb, NULL, &error)) {
		tool_complain("%s", error);
		mem_free(error);
		return 1;
	}
	return 0;
}

static int user_usage(void)
{
	tool_complain("usage: correo user add ADDRESS [MAILDIR] "
		      "[--password-stdin] | del ADDRESS | list | "
		      "passwd ADDRESS [--password-stdin]");
	return 2;
}

int correo_user_cmd(const char *config_dir, int argc, char **argv)
{
	struct user_table t = { "", NULL };
	struct cfg *cfg;
	char *error = NULL;
	int ret, pw;

	if (argc >= 2 && strcmp(argv[1], "passwd") == 0)
		return correo_passwd_cmd(config_dir, argc - 1, argv + 1);
	pw = correo_passwd_option(&argc, argv);	/* --password-stdin */
	if (argc < 2)
		return user_usage();
	if ((strcmp(argv[1], "add") == 0 && argc != 3 && argc != 4) ||
	    (strcmp(argv[1], "del") == 0 && argc != 3) ||
	    (strcmp(argv[1], "list") == 0 && argc != 2))
		return user_usage();
	cfg = tool_load_config(config_dir, &error);
	if (cfg == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		return 1;
	}
	if (!user_table(cfg, &t))
		return 1;
	if (strcmp(argv[1], "add") == 0) {
		ret = user_add(cfg, &t, argc - 1, argv + 1);
		if (ret == 0 && pw != CORREO_PASSWD_NONE)
			ret = correo_passwd_set(config_dir, argv[2],
						pw == CORREO_PASSWD_STDIN);
	} else if (strcmp(argv[1], "del") == 0) {
		ret = user_del(&t, argv[2]);
		if (ret == 0)
			ret = correo_passwd_remove(config_dir, argv[2]);
	} else if (strcmp(argv[1], "list") == 0)
		ret = user_list(&t);
	else
		ret = user_usage();
	mem_free(t.path);
	return ret;
}

int correo_newaliases_cmd(const char *config_dir, int argc, char **argv)
{
	struct cfg *cfg;
	char *error = NULL;
	char **dbs;
	int ret = 0;

	if (argc != 1) {
		tool_complain("usage: correo newaliases");
		return 2;
	}
	cfg = tool_load_config(config_dir, &error);
	if (cfg == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		return 1;
	}
	dbs = cfg_list(cfg, "alias_database");
	for (size_t i = 0; dbs != NULL && dbs[i] != NULL; i++) {
		const char *colon = strchr(dbs[i], ':');
		struct str type = STR_INIT;

		if (colon == NULL)
			continue;
		str_append_n(&type, dbs[i], (size_t)(colon - dbs[i]));
		if (strcmp(str_c(&type), "hash") == 0 ||
		    strcmp(str_c(&type), "btree") == 0 ||
		    strcmp(str_c(&type), "lmdb") == 0) {
			if (!dict_build(str_c(&type), colon + 1, &error)) {
				tool_complain("%s", error);
				mem_free(error);
				ret = 1;
			}
		}
		str_release(&type);
	}
	return ret;
}
