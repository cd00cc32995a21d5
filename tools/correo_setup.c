/*
 * correo_setup: "correo setup", what a system install needs before its
 * first start, made once and checked again at every run.
 *
 *   correo [-c DIR] setup [--table-type hash|btree|lmdb]
 *
 * Run as root by the Debian package's postinst and by the admin after
 * "make install". It creates what is missing and keeps what exists:
 *
 *   - DIR (default $(sysconfdir)/correo) with correo.conf, services.conf
 *     (smtp 25, submission 587 and 465, pop3 110/995, imap 143/993 on
 *     every address of inet_interfaces), aliases and vmailbox (with
 *     their tables, hash: unless --table-type names another format,
 *     which correo.conf then names too), tls/ with a self-signed certificate for
 *     $myhostname and a session ticket key: each only when absent;
 *   - the accounts ($mail_owner, $virtual_owner, correo-auth,
 *     correo-login, group $setgid_group), as the sysusers.d file does
 *     on a systemd machine;
 *   - the queue tree under $queue_directory, $data_directory and
 *     $virtual_mailbox_base, with the modes and owners "correo check"
 *     expects (set again on existing directories, like Postfix's
 *     "postfix set-permissions");
 *   - the set-gid bit of $command_directory/sendmail (group
 *     $setgid_group) when it lacks it (the package sets it with
 *     dpkg-statoverride first, so there this changes nothing);
 *
 * then runs "correo check". "correo init DIR" is the other way to get a
 * configuration: a self-contained instance under DIR, which never
 * touches the system's paths.
 *
 * Interface: correo_setup_cmd (tools/correo.h).
 *
 * SECURITY: root only. Never overwrites a file (each is created only
 * when lstat says nothing is there, and written through a temporary
 * file and rename). Directories are made and opened one component at a
 * time without following symlinks and chowned through descriptors
 * (correo_init_mkdirat), so an account that owns a directory already
 * cannot redirect root; sendmail is opened with O_NOFOLLOW and changed
 * only if it is a regular file owned by root.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "dict.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "safe_file.h"
#include "str.h"
#include "tls.h"

#include "correo.h"
#include "correo_init.h"
#include "tool.h"

#define SETUP_SENDMAIL_MODE 02755

static const char setup_conf_text[] =
	"# correo.conf: written by \"correo setup\" for this system; it "
	"never\n"
	"# overwrites it. correo.conf(5) documents every parameter, and\n"
	"# \"correo config -d\" prints the defaults. Paths not set here "
	"are the\n"
	"# build's (queue_directory, data_directory, daemon_directory):\n"
	"# \"correo config queue_directory\" shows one.\n"
	"#\n"
	"# This machine's name and domain (default: from its host name):\n"
	"#myhostname = mail.example.org\n"
	"#mydomain = example.org\n"
	"#\n"
	"# Mail for these domains goes to system users (~/Maildir/) and "
	"aliases:\n"
	"mydestination = $myhostname, localhost.$mydomain, localhost\n"
	"alias_maps = %s:$config_directory/aliases\n"
	"#\n"
	"# Virtual mailboxes (\"correo user add ADDRESS\"), owned by "
	"$virtual_owner:\n"
	"#virtual_mailbox_domains = example.org\n"
	"virtual_mailbox_maps = %s:$config_directory/vmailbox\n"
	"virtual_mailbox_base = $data_directory/vmail\n"
	"#\n"
	"# Relay: mail for other domains goes out by MX lookup, or through\n"
	"#relayhost = [smtp.example.net]:587\n"
	"%s";

static const char setup_aliases_text[] =
	"# aliases: local address -> where its mail goes (aliases(5) "
	"style).\n"
	"# Rebuild after a change: correo newaliases\n"
	"postmaster: root\n"
	"abuse: postmaster\n"
	"mailer-daemon: postmaster\n";

static const char setup_vmailbox_text[] =
	"# vmailbox: virtual address -> Maildir under "
	"virtual_mailbox_base.\n"
	"# \"correo user add ADDRESS\" maintains it, or edit it and run\n"
	"# \"correo map TYPE:/etc/correo/vmailbox\" (correo-map(8); TYPE as\n"
	"# virtual_mailbox_maps in correo.conf names it).\n";

static bool setup_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Write dir/name with text unless something is there. *made_r says
 * whether it was written. */
static bool setup_file(const char *dir, const char *name, const char *text,
		       bool *made_r)
{
	char *path = tool_path(dir, name);
	bool ok = true;

	*made_r = false;
	if (!setup_exists(path)) {
		ok = safe_write_file(path, text, strlen(text), 0644);
		if (ok) {
			tool_say("wrote %s", path);
			*made_r = true;
		} else {
			tool_complain("cannot write %s: %s", path,
				      strerror(errno));
		}
	}
	mem_free(path);
	return ok;
}

/* TYPE:FILE's built file (FILE.db, or FILE.lmdb), built when the text
 * was just written or the table is missing. */
static bool setup_table(const char *dir, const char *name, const char *type,
			bool made)
{
	char *path = tool_path(dir, name);
	struct str db = STR_INIT;
	char *error = NULL;
	bool ok = true;

	str_printf(&db, "%s.%s", path, strcmp(type, "lmdb") == 0 ? "lmdb" :
		   "db");
	if (made || !setup_exists(str_c(&db))) {
		ok = dict_build(type, path, &error);
		if (!ok) {
			tool_complain("%s", error);
			mem_free(error);
		}
	}
	str_release(&db);
	mem_free(path);
	return ok;
}

static bool setup_config_files(const char *dir, const char *type)
{
	struct str services = STR_INIT, conf = STR_INIT, auth = STR_INIT;
	bool made, ok;

	if (!safe_mkdir_p(dir, 0755) && errno != EEXIST) {
		tool_complain("cannot create %s: %s", dir, strerror(errno));
		return false;
	}
	correo_init_services(&services, NULL, 0);
	/* The default auth_password_maps names a hash: table. */
	if (strcmp(type, "hash") != 0)
		str_printf(&auth, "#\n# Passwords of virtual users (\"correo "
			   "user add\"):\nauth_password_maps = %s:"
			   "$config_directory/passwd\n", type);
	str_printf(&conf, setup_conf_text, type, type, str_c(&auth));
	ok = setup_file(dir, "correo.conf", str_c(&conf), &made) &&
	     setup_file(dir, "services.conf", str_c(&services), &made) &&
	     setup_file(dir, "aliases", setup_aliases_text, &made) &&
	     setup_table(dir, "aliases", type, made) &&
	     setup_file(dir, "vmailbox", setup_vmailbox_text, &made) &&
	     setup_table(dir, "vmailbox", type, made);
	str_release(&services);
	str_release(&conf);
	str_release(&auth);
	return ok;
}

/* The parent of path (made if missing, root's 0755) opened without
 * following a symlink at its last component; *base_r is path's last
 * component (in *copy_r, to free). */
static int setup_open_parent(const char *path, char **copy_r,
			     const char **base_r)
{
	char *dir_copy = mem_strdup(path);
	char *dir = dirname(dir_copy);
	int fd = -1;

	*copy_r = mem_strdup(path);
	*base_r = basename(*copy_r);
	if (path[0] != '/' || strcmp(*base_r, "/") == 0 ||
	    strcmp(*base_r, "..") == 0) {
		tool_complain("%s: expected an absolute path below /", path);
	} else if (!safe_mkdir_p(dir, 0755) && errno != EEXIST) {
		tool_complain("cannot create %s: %s", dir, strerror(errno));
	} else if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC)) < 0) {
		tool_complain("cannot open %s: %s", dir, strerror(errno));
	}
	mem_free(dir_copy);
	return fd;
}

/* path, root's or uid:gid's, with mode; its parents root's 0755. */
static bool setup_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	const char *base;
	char *copy;
	int parent = setup_open_parent(path, &copy, &base);
	int fd = -1;

	if (parent >= 0) {
		fd = correo_init_mkdirat(parent, base, path, mode, uid, gid,
					 true);
		close(parent);
	}
	if (fd >= 0)
		close(fd);
	mem_free(copy);
	return fd >= 0;
}

static bool setup_queue(const char *queue, const struct correo_init_ids *ids)
{
	const char *base;
	char *copy;
	char *parent_path = mem_strdup(queue);
	int parent = setup_open_parent(queue, &copy, &base);
	bool ok = false;

	if (parent >= 0) {
		ok = correo_init_queue(parent, dirname(parent_path), base,
				       ids, true);
		close(parent);
	}
	mem_free(parent_path);
	mem_free(copy);
	return ok;
}

/* A self-signed certificate when neither file exists (a real one
 * replaces both), and the session ticket key. */
static bool setup_tls(struct cfg *cfg)
{
	const char *cert = cfg_str(cfg, "tls_cert_file");
	const char *key = cfg_str(cfg, "tls_key_file");
	const char *ticket = cfg_str(cfg, "tls_session_ticket_key");
	const char *paths[] = { cert, key, ticket };
	char *error = NULL;
	bool ok = true;

	for (size_t i = 0; ok && i < 3; i++) {
		char *copy = mem_strdup(paths[i]);

		if (*paths[i] != '\0' && !safe_mkdir_p(dirname(copy), 0755) &&
		    errno != EEXIST) {
			tool_complain("cannot create the directory of %s: %s",
				      paths[i], strerror(errno));
			ok = false;
		}
		mem_free(copy);
	}
	if (ok && *cert != '\0' && *key != '\0' && !setup_exists(cert) &&
	    !setup_exists(key)) {
		ok = tls_make_selfsigned(cert, key, cfg_str(cfg, "myhostname"),
					 &error);
		if (ok)
			tool_say("made a self-signed certificate for %s in "
				 "%s (replace it and %s with real ones)",
				 cfg_str(cfg, "myhostname"), cert, key);
	}
	if (ok && *ticket != '\0' && !setup_exists(ticket))
		ok = tls_make_ticket_key(ticket, &error);
	if (!ok && error != NULL) {
		tool_complain("%s", error);
		mem_free(error);
	}
	return ok;
}

/* sendmail set-gid $setgid_group, as the maildrop needs. */
static bool setup_sendmail(struct cfg *cfg, gid_t drop_gid)
{
	char *path = tool_path(cfg_str(cfg, "command_directory"), "sendmail");
	struct stat st;
	bool ok = true;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		tool_say("warning: %s: %s: local submission (sendmail) will "
			 "not work", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode) || st.st_uid != 0) {
		tool_complain("%s is not a regular file owned by root: "
			      "leaving it alone", path);
		ok = false;
	} else if (st.st_gid != drop_gid ||
		   (st.st_mode & 07777) != SETUP_SENDMAIL_MODE) {
		ok = fchown(fd, (uid_t)-1, drop_gid) == 0 &&
		     fchmod(fd, SETUP_SENDMAIL_MODE) == 0;
		if (ok)
			tool_say("%s: set-gid %s", path,
				 cfg_str(cfg, "setgid_group"));
		else
			tool_complain("%s: %s", path, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	mem_free(path);
	return ok;
}

static bool setup_system(const char *config_dir, const char *type)
{
	struct correo_init_ids ids;
	struct cfg *cfg;
	char *error = NULL;
	const char *vbase;
	bool ok;

	if (!setup_config_files(config_dir, type))
		return false;
	if ((cfg = tool_load_config(config_dir, &error)) == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		return false;
	}
	vbase = cfg_str(cfg, "virtual_mailbox_base");
	ok = correo_init_accounts(cfg_str(cfg, "mail_owner"),
				  cfg_str(cfg, "virtual_owner"),
				  cfg_str(cfg, "setgid_group"), &ids) &&
	     setup_queue(cfg_str(cfg, "queue_directory"), &ids) &&
	     setup_dir(cfg_str(cfg, "data_directory"), 0755, 0, 0) &&
	     (*vbase == '\0' ||
	      setup_dir(vbase, 0700, ids.vmail_uid, ids.vmail_gid)) &&
	     setup_tls(cfg) && setup_sendmail(cfg, ids.drop_gid);
	cfg_main = NULL;
	cfg_free(&cfg);
	return ok;
}

int correo_setup_cmd(const char *config_dir, int argc, char **argv)
{
	const char *type = "hash";
	int problems;

	if (argc == 3 && strcmp(argv[1], "--table-type") == 0) {
		type = argv[2];
		if (strcmp(type, "hash") != 0 && strcmp(type, "btree") != 0 &&
		    strcmp(type, "lmdb") != 0) {
			tool_complain("--table-type %s: expected hash, btree "
				      "or lmdb", type);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: correo [-c DIR] setup "
			"[--table-type hash|btree|lmdb]\n");
		return 2;
	}
	if (!priv_is_root()) {
		tool_complain("setup prepares the system install and must run "
			      "as root; for an instance of your own, run "
			      "\"correo init DIR\"");
		return 1;
	}
	if (config_dir[0] != '/') {
		tool_complain("-c %s: expected an absolute path", config_dir);
		return 2;
	}
	umask(022);
	if (!setup_system(config_dir, type))
		return 1;
	problems = tool_check(config_dir, false);
	if (problems != 0) {
		tool_complain("set up %s, but \"correo check\" found "
			      "problems (above)", config_dir);
		return 1;
	}
	tool_say("%s is ready: start it with \"correo start\" (or "
		 "\"systemctl start correo\")", config_dir);
	return 0;
}
