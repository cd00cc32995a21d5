/*
 * correo_passwd: login passwords, "correo user passwd ADDRESS" and the
 * password part of "correo user add ADDRESS [--password-stdin]".
 *
 *   correo user passwd ADDRESS [--password-stdin]
 *       On a terminal: prompt twice, without echo. With
 *       --password-stdin: read one line from stdin (scripts, tests).
 *       The password is hashed with crypt(3) (yescrypt, else
 *       SHA-512-crypt); the line "ADDRESS HASH" replaces or joins the
 *       text source of the first auth_password_maps table (mode 0600,
 *       owned by the auth service's user when run as root) and its .db
 *       is rebuilt. The running auth daemon sees the new db by itself.
 *
 * Interface (correo.h): correo_passwd_cmd, correo_passwd_set,
 * correo_passwd_remove, correo_passwd_option, correo_passwd_update.
 *
 * SECURITY: run by the admin, usually as root. The plain password is
 * never written anywhere: it lives in a buffer that is wiped after
 * hashing. The table file is created 0600 and rewritten atomically
 * (safe_write_file); its .db inherits that mode (dict_build). The auth
 * user is the user column of the services.conf row running "auth"
 * ($mail_owner for "-").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "cfg.h"
#include "correo.h"
#include "dict.h"
#include "mem.h"
#include "priv.h"
#include "safe_file.h"
#include "sasl.h"
#include "str.h"
#include "svc.h"
#include "tool.h"

#define PASSWD_TABLE_MAX (64 * 1024 * 1024)

/* Is line the entry of address ("ADDRESS value" or "ADDRESS: value")? */
static bool passwd_line_is(const char *line, size_t len, const char *address)
{
	size_t alen = strlen(address);

	return len >= alen && strncasecmp(line, address, alen) == 0 &&
	       (len == alen || line[alen] == ' ' || line[alen] == '\t' ||
		line[alen] == ':');
}

bool correo_passwd_update(const char *text, const char *address,
			  const char *hash, struct str *out)
{
	const char *p = text, *nl;
	size_t len;
	bool found = false, skipping = false;

	str_clear(out);
	for (; *p != '\0'; p = nl) {
		nl = strchr(p, '\n');
		nl = nl != NULL ? nl + 1 : p + strlen(p);
		len = (size_t)(nl - p) - (nl[-1] == '\n');
		/* Continuation lines of a replaced entry go with it. */
		if (skipping && (*p == ' ' || *p == '\t'))
			continue;
		skipping = false;
		if (passwd_line_is(p, len, address)) {
			skipping = true;
			if (!found && hash != NULL)
				str_printf(out, "%s %s\n", address, hash);
			found = true;
			continue;
		}
		str_append_n(out, p, len);
		str_append_c(out, '\n');
	}
	if (!found && hash != NULL)
		str_printf(out, "%s %s\n", address, hash);
	return found;
}

/* The first auth_password_maps entry: type and text source path. */
static bool passwd_table(struct cfg *cfg, struct str *type, struct str *path)
{
	char **maps = cfg_list(cfg, "auth_password_maps");
	const char *colon;

	if (maps == NULL || maps[0] == NULL) {
		tool_complain("auth_password_maps is empty: nowhere to store "
			      "passwords");
		return false;
	}
	colon = strchr(maps[0], ':');
	if (colon == NULL || colon[1] != '/') {
		tool_complain("auth_password_maps: cannot edit %s (need "
			      "hash:/path, btree:/path, lmdb:/path or "
			      "texthash:/path)",
			      maps[0]);
		return false;
	}
	str_clear(type);
	str_append_n(type, maps[0], (size_t)(colon - maps[0]));
	if (!str_equals(type, "hash") && !str_equals(type, "btree") &&
	    !str_equals(type, "lmdb") && !str_equals(type, "texthash")) {
		tool_complain("auth_password_maps: cannot edit a %s: table",
			      str_c(type));
		return false;
	}
	str_set(path, colon + 1);
	return true;
}

/* Who runs auth (root mode): the user column of its services.conf row. */
static int passwd_auth_user(const char *config_dir, struct cfg *cfg,
			    struct priv_user *user_r)
{
	struct svc_table *table;
	char *error = NULL;
	const char *name = cfg_str(cfg, "mail_owner");
	int ret;

	table = tool_load_services(config_dir, &error);
	if (table == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		return -1;
	}
	for (int i = 0; i < table->count; i++) {
		const struct svc *s = &table->svcs[i];
		const char *cmd = strrchr(s->argv[0], '/');

		cmd = cmd != NULL ? cmd + 1 : s->argv[0];
		if (strcmp(cmd, "auth") == 0 && s->user != NULL)
			name = s->user;
	}
	ret = priv_user_lookup(name, user_r);
	if (ret <= 0)
		tool_complain("auth user %s: %s", name,
			      ret < 0 ? strerror(errno) : "no such user");
	svc_table_free(&table);
	return ret;
}

/* chown through a descriptor: a symlink at path is refused (ELOOP),
 * never followed. */
static bool passwd_fchown(const char *path, const struct priv_user *user)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = fchown(fd, user->uid, user->gid) == 0;
	close(fd);
	return ok;
}

/* Give the table files to the auth user (only when root). */
static bool passwd_chown(const char *config_dir, struct cfg *cfg,
			 const struct str *type, const char *path)
{
	struct priv_user user;
	struct str db = STR_INIT;
	bool ok;

	if (!priv_is_root())
		return true;
	if (passwd_auth_user(config_dir, cfg, &user) <= 0)
		return false;
	ok = passwd_fchown(path, &user);
	if (ok && !str_equals(type, "texthash")) {
		str_printf(&db, "%s.db", path);
		ok = passwd_fchown(str_c(&db), &user);
	}
	if (!ok)
		tool_complain("chown %s: %s", db.len > 0 ? str_c(&db) : path,
			      strerror(errno));
	priv_user_free(&user);
	str_release(&db);
	return ok;
}

/* Rewrite the source with address's entry set to hash (NULL: removed),
 * rebuild the db. found_r: the entry was there before. */
static bool passwd_store(const char *config_dir, struct cfg *cfg,
			 const char *address, const char *hash,
			 bool *found_r)
{
	struct str type = STR_INIT, path = STR_INIT;
	struct str text = STR_INIT, out = STR_INIT;
	char *error = NULL;
	bool ok = false;

	if (!passwd_table(cfg, &type, &path))
		goto out;
	if (hash == NULL && access(str_c(&path), F_OK) != 0 &&
	    errno == ENOENT) {
		ok = true;	/* nothing to remove */
		goto out;
	}
	if (access(str_c(&path), F_OK) == 0 &&
	    !safe_read_file(str_c(&path), &text, PASSWD_TABLE_MAX)) {
		tool_complain("read %s: %s", str_c(&path), strerror(errno));
		goto out;
	}
	*found_r = correo_passwd_update(str_c(&text), address, hash, &out);
	if (hash == NULL && !*found_r) {
		ok = true;
		goto out;
	}
	if (!safe_write_file(str_c(&path), out.data != NULL ? out.data : "",
			     out.len, 0600)) {
		tool_complain("write %s: %s", str_c(&path), strerror(errno));
		goto out;
	}
	if (!str_equals(&type, "texthash") &&
	    !dict_build(str_c(&type), str_c(&path), &error)) {
		tool_complain("%s", error);
		mem_free(error);
		goto out;
	}
	ok = passwd_chown(config_dir, cfg, &type, str_c(&path));
out:
	str_release(&type);
	str_release(&path);
	str_release(&text);
	str_release(&out);
	return ok;
}

/* Read one line of at most SASL_MAX_FIELD bytes from stdin into pw,
 * without its line end. */
static bool passwd_read_line(struct str *pw)
{
	int c;

	str_clear(pw);
	while ((c = getchar()) != EOF && c != '\n') {
		if (pw->len >= SASL_MAX_FIELD) {
			tool_complain("password too long (at most %d bytes)",
				      SASL_MAX_FIELD);
			return false;
		}
		str_append_c(pw, (char)c);
	}
	if (pw->len > 0 && pw->data[pw->len - 1] == '\r')
		str_truncate(pw, pw->len - 1);
	return !ferror(stdin);
}

/* Prompt on the terminal with echo off. */
static bool passwd_prompt(const char *prompt, struct str *pw)
{
	struct termios old, quiet;
	bool ok;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return false;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return false;
	ok = passwd_read_line(pw);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return ok;
}

static void passwd_wipe(struct str *pw)
{
	if (pw->data != NULL)
		explicit_bzero(pw->data, pw->cap);
	str_release(pw);
}

static bool passwd_get(bool from_stdin, struct str *pw)
{
	struct str again = STR_INIT;
	bool ok;

	if (from_stdin) {
		ok = passwd_read_line(pw);
	} else if (!isatty(STDIN_FILENO)) {
		tool_complain("stdin is not a terminal: use --password-stdin");
		return false;
	} else {
		ok = passwd_prompt("New password: ", pw) &&
		     passwd_prompt("Retype new password: ", &again);
		if (ok && !str_equals(pw, str_c(&again))) {
			tool_complain("the passwords differ; nothing changed");
			ok = false;
		}
		passwd_wipe(&again);
	}
	if (ok && pw->len == 0) {
		tool_complain("empty password refused");
		ok = false;
	}
	if (ok && memchr(pw->data, '\0', pw->len) != NULL) {
		tool_complain("a password may not contain NUL bytes");
		ok = false;
	}
	return ok;
}

/* A login address: printable, no whitespace, '#', ':' or '/', one '@'
 * not at either end. Lower-cased into out. */
static bool passwd_address(const char *address, struct str *out)
{
	const char *at = strchr(address, '@');

	for (const char *p = address; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c >= 0x7f || c == '#' || c == ':' ||
		    c == '/') {
			tool_complain("%s: bad character in address",
				      address);
			return false;
		}
	}
	if (at == NULL || at == address || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL) {
		tool_complain("%s: expected user@domain", address);
		return false;
	}
	str_set(out, address);
	str_lower(out->data);
	return true;
}

/* The configuration: the one "correo user" already loaded (cfg_main),
 * else DIR/correo.conf (which then becomes cfg_main). */
static struct cfg *passwd_config(const char *config_dir)
{
	char *error = NULL;
	struct cfg *cfg;

	if (cfg_main != NULL)
		return cfg_main;
	cfg = tool_load_config(config_dir, &error);
	if (cfg == NULL) {
		tool_complain("%s", error);
		mem_free(error);
	}
	return cfg;
}

int correo_passwd_set(const char *config_dir, const char *address,
		      bool from_stdin)
{
	struct str addr = STR_INIT, pw = STR_INIT, hash = STR_INIT;
	struct cfg *cfg;
	bool found = false;
	int ret = 1;

	if (!passwd_address(address, &addr))
		goto out;
	cfg = passwd_config(config_dir);
	if (cfg == NULL || !passwd_get(from_stdin, &pw))
		goto out;
	if (!sasl_hash_password(str_c(&pw), &hash)) {
		tool_complain("crypt(3) failed to hash the password");
		goto out;
	}
	passwd_wipe(&pw);
	if (!passwd_store(config_dir, cfg, str_c(&addr), str_c(&hash),
			  &found))
		goto out;
	tool_say("%s password for %s", found ? "changed" : "set",
		 str_c(&addr));
	ret = 0;
out:
	passwd_wipe(&pw);
	str_release(&addr);
	str_release(&hash);
	return ret;
}

int correo_passwd_remove(const char *config_dir, const char *address)
{
	struct str addr = STR_INIT;
	struct cfg *cfg;
	bool found = false;
	int ret = 1;

	if (!passwd_address(address, &addr))
		goto out;
	cfg = passwd_config(config_dir);
	if (cfg != NULL &&
	    passwd_store(config_dir, cfg, str_c(&addr), NULL, &found)) {
		if (found)
			tool_say("removed the password of %s", str_c(&addr));
		ret = 0;
	}
out:
	str_release(&addr);
	return ret;
}

int correo_passwd_option(int *argc, char **argv)
{
	int mode = isatty(STDIN_FILENO) ? CORREO_PASSWD_PROMPT
					: CORREO_PASSWD_NONE;
	int j = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--password-stdin") == 0)
			mode = CORREO_PASSWD_STDIN;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return mode;
}

int correo_passwd_cmd(const char *config_dir, int argc, char **argv)
{
	int mode = correo_passwd_option(&argc, argv);

	if (argc != 2) {
		tool_complain("usage: correo user passwd ADDRESS "
			      "[--password-stdin]");
		return 2;
	}
	return correo_passwd_set(config_dir, argv[1],
				 mode == CORREO_PASSWD_STDIN);
}
