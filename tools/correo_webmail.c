/*
 * correo_webmail: webmail for an instance, Debian's Roundcube served by
 * lighttpd + php-cgi on a loopback port of the instance.
 *
 *   correo init DIR --webmail [--webmail-port PORT]  (webmail_setup)
 *   correo webmail start|stop|status                  (correo_webmail_cmd)
 *
 * webmail_setup writes DIR/webmail/: config/config.inc.php (Roundcube:
 * IMAP on the instance's port 143 row, plaintext on loopback as any
 * same-host webmail; submission on the 587 row with STARTTLS, the
 * instance's certificate as the only trusted CA and mail.DOMAIN as the
 * name to check; the SPECIAL-USE folders imapd creates; DOMAIN as the
 * default domain), config/defaults.inc.php and mimetypes.php (links to
 * Debian's), php.ini, lighttpd.conf, and db/ logs/ temp/ run/ for the
 * web server's state. The web server is not a correo daemon: it keeps
 * running while correo is stopped (Roundcube then shows its connection
 * error) and is started and stopped with "correo webmail".
 *
 * SECURITY: run as root, lighttpd binds its port and then runs as
 * correo-web, its own system user: never as a mail user (vmail, correo)
 * and never as root. Only db/ logs/ temp/ run/ are correo-web's;
 * config.inc.php (it holds the session encryption key) is root's, group
 * correo-web, mode 0640. Files are created through the descriptor of
 * DIR/webmail opened without following symlinks (safe_mkdirat, openat
 * O_NOFOLLOW|O_EXCL).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "safe_file.h"
#include "str.h"

#include "correo.h"
#include "tool.h"

#define WEBMAIL_DIR "webmail"
#define WEBMAIL_DOCROOT "/var/lib/roundcube/public_html"
#define WEBMAIL_RC_CONFIG "/etc/roundcube"
#define WEBMAIL_LIGHTTPD "/usr/sbin/lighttpd"
#define WEBMAIL_PHP_CGI "/usr/bin/php-cgi"
#define WEBMAIL_WAIT_MS 10000

/* What a fresh Debian needs for the webmail (scripts/deps installs it). */
static const char *const webmail_needs[][2] = {
	{ WEBMAIL_DOCROOT "/index.php", "roundcube-core roundcube-sqlite3" },
	{ WEBMAIL_LIGHTTPD, "lighttpd" },
	{ WEBMAIL_PHP_CGI, "php-cgi php-sqlite3" },
};

bool webmail_installed(bool quiet)
{
	bool ok = true;

	for (size_t i = 0; i < sizeof(webmail_needs) /
	     sizeof(webmail_needs[0]); i++) {
		if (access(webmail_needs[i][0], F_OK) == 0)
			continue;
		if (!quiet)
			tool_complain("webmail needs %s: apt-get install %s "
				      "(or scripts/deps)", webmail_needs[i][0],
				      webmail_needs[i][1]);
		ok = false;
	}
	return ok;
}

/* A PHP single-quoted string: only \ and ' are special. */
static void php_quote(struct str *s, const char *v)
{
	str_append_c(s, '\'');
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '\'')
			str_append_c(s, '\\');
		str_append_c(s, *v);
	}
	str_append_c(s, '\'');
}

static void php_set(struct str *s, const char *key, const char *v)
{
	str_printf(s, "$config['%s'] = ", key);
	php_quote(s, v);
	str_append(s, ";\n");
}

/* A lighttpd string: \ and " escaped. */
static void lt_quote(struct str *s, const char *v)
{
	str_append_c(s, '"');
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			str_append_c(s, '\\');
		str_append_c(s, *v);
	}
	str_append_c(s, '"');
}

/* 32 characters of a random key (Roundcube's des_key wants 24+). */
static bool webmail_key(char *buf, size_t len)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char raw[64];

	if (len > sizeof(raw) + 1 || getrandom(raw, len - 1, 0) !=
	    (ssize_t)(len - 1))
		return false;
	for (size_t i = 0; i + 1 < len; i++)
		buf[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	buf[len - 1] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return true;
}

/* Create name under dfd (never following or replacing anything). */
static bool webmail_write(int dfd, const char *shown, const char *name,
			  const char *text, mode_t mode, gid_t gid, bool root)
{
	size_t len = strlen(text);
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			O_CLOEXEC, mode);
	bool ok = fd >= 0;

	if (ok && (fchmod(fd, mode) < 0 || (root && fchown(fd, 0, gid) < 0) ||
		   write(fd, text, len) != (ssize_t)len))
		ok = false;
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok)
		tool_complain("cannot write %s/%s: %s", shown, name,
			      strerror(errno));
	return ok;
}

static int webmail_mkdir(int parent, const char *shown, const char *name,
			 mode_t mode, uid_t uid, gid_t gid, bool root)
{
	int fd = safe_mkdirat(parent, name, mode, NULL);

	if (fd >= 0 && (fchmod(fd, mode) < 0 ||
			(root && fchown(fd, uid, gid) < 0))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		tool_complain("cannot create %s/%s: %s", shown, name,
			      strerror(errno));
	return fd;
}

static void webmail_roundcube_config(const struct webmail_setup *w,
				     const char *wdir, const char *key,
				     struct str *s)
{
	struct str v = STR_INIT;
	const char *host = w->listen;
	bool v6 = strchr(host, ':') != NULL;

	str_append(s, "<?php\n"
		   "/* Roundcube for this correo instance: written by "
		   "\"correo init --webmail\".\n"
		   " * Debian's defaults are in defaults.inc.php (a link); "
		   "correo-webmail(8). */\n"
		   "$config = [];\n");
	str_printf(&v, "sqlite:///%s/db/roundcube.db?mode=0600", wdir);
	php_set(s, "db_dsnw", str_c(&v));
	/* IMAP on loopback: plaintext LOGIN is allowed there (the login
	 * front end's plaintext policy), as for any same-host webmail. */
	str_clear(&v);
	str_printf(&v, v6 ? "[%s]:%ld" : "%s:%ld", host, w->imap_port);
	php_set(s, "imap_host", str_c(&v));
	str_append(s, "$config['imap_conn_options'] = null;\n");
	/* Submission: STARTTLS, the instance's own certificate as the only
	 * trusted CA, its name checked. */
	str_clear(&v);
	str_printf(&v, v6 ? "tls://[%s]:%ld" : "tls://%s:%ld", host,
		   w->submission_port);
	php_set(s, "smtp_host", str_c(&v));
	php_set(s, "smtp_user", "%u");
	php_set(s, "smtp_pass", "%p");
	str_append(s, "$config['smtp_conn_options'] = ['ssl' => [\n"
		   "\t'verify_peer' => true, 'verify_peer_name' => true,\n"
		   "\t'cafile' => ");
	php_quote(s, w->cafile);
	str_append(s, ", 'peer_name' => ");
	str_clear(&v);
	str_printf(&v, "mail.%s", w->domain);
	php_quote(s, str_c(&v));
	str_append(s, "]];\n");
	php_set(s, "username_domain", w->domain);
	php_set(s, "mail_domain", w->domain);
	php_set(s, "support_url", "");
	php_set(s, "product_name", "correo webmail");
	php_set(s, "des_key", key);
	str_clear(&v);
	str_printf(&v, "%s/logs/", wdir);
	php_set(s, "log_dir", str_c(&v));
	str_clear(&v);
	str_printf(&v, "%s/temp/", wdir);
	php_set(s, "temp_dir", str_c(&v));
	php_set(s, "skin", "elastic");
	/* imapd creates these at first login and marks them SPECIAL-USE. */
	php_set(s, "drafts_mbox", "Drafts");
	php_set(s, "sent_mbox", "Sent");
	php_set(s, "junk_mbox", "Junk");
	php_set(s, "trash_mbox", "Trash");
	str_append(s, "$config['create_default_folders'] = false;\n"
		   "$config['plugins'] = [];\n"
		   "$config['enable_installer'] = false;\n"
		   "$config['login_autocomplete'] = 0;\n");
	str_release(&v);
}

static void webmail_lighttpd_config(const struct webmail_setup *w,
				    const char *wdir, struct str *s)
{
	struct str v = STR_INIT;

	str_append(s, "# lighttpd for this instance's webmail: written by "
		   "\"correo init --webmail\".\n"
		   "# Started and stopped by \"correo webmail\"; "
		   "correo-webmail(8).\n"
		   "server.modules = (\"mod_access\", \"mod_fastcgi\")\n"
		   "server.document-root = \"" WEBMAIL_DOCROOT "\"\n"
		   "server.follow-symlink = \"enable\"\n"
		   "server.bind = ");
	lt_quote(s, w->listen);
	str_printf(s, "\nserver.port = %ld\n", w->web_port);
	if (w->root)
		str_append(s, "server.username = \"" WEBMAIL_USER "\"\n"
			   "server.groupname = \"" WEBMAIL_USER "\"\n");
	/* The pid file lives in root's directory, not in run/ (the web
	 * user's): root's "correo webmail stop" must not signal a pid the
	 * web user wrote. lighttpd writes it before it drops privileges. */
	str_printf(&v, "%s/lighttpd.pid", wdir);
	str_append(s, "server.pid-file = ");
	lt_quote(s, str_c(&v));
	str_clear(&v);
	str_printf(&v, "%s/logs/lighttpd.log", wdir);
	str_append(s, "\nserver.errorlog = ");
	lt_quote(s, str_c(&v));
	str_clear(&v);
	str_printf(&v, "%s/temp", wdir);
	str_append(s, "\nserver.upload-dirs = (");
	lt_quote(s, str_c(&v));
	str_append(s, ")\n"
		   "index-file.names = (\"index.php\")\n"
		   "url.access-deny = (\"~\", \".inc\", \".sh\", \".sql\")\n"
		   "include_shell \"/usr/share/lighttpd/create-mime.conf.pl\""
		   "\n"
		   "fastcgi.server = (\".php\" => ((\n"
		   "\t\"bin-path\" => \"" WEBMAIL_PHP_CGI "\",\n"
		   "\t\"socket\" => ");
	str_clear(&v);
	str_printf(&v, "%s/run/php.sock", wdir);
	lt_quote(s, str_c(&v));
	str_append(s, ",\n\t\"max-procs\" => 1,\n"
		   "\t\"bin-environment\" => (\n"
		   "\t\t\"PHP_FCGI_CHILDREN\" => \"4\",\n"
		   "\t\t\"PHP_FCGI_MAX_REQUESTS\" => \"1000\",\n"
		   "\t\t\"ROUNDCUBE_CONFIG_DIR\" => ");
	str_clear(&v);
	str_printf(&v, "%s/config", wdir);
	lt_quote(s, str_c(&v));
	str_append(s, ",\n\t\t\"PHPRC\" => ");
	str_clear(&v);
	str_printf(&v, "%s/php.ini", wdir);
	lt_quote(s, str_c(&v));
	str_append(s, "),\n)))\n");
	str_release(&v);
}

static void webmail_php_ini(const char *wdir, struct str *s)
{
	str_printf(s, "; PHP for this instance's webmail (correo init "
		   "--webmail).\n"
		   "; Uploads above correo's message_size_limit are refused "
		   "by submission,\n; with its error shown in the compose "
		   "window.\n"
		   "upload_max_filesize = 64M\n"
		   "post_max_size = 72M\n"
		   "memory_limit = 256M\n"
		   "display_errors = Off\n"
		   "log_errors = On\n"
		   "error_log = %s/logs/php.log\n"
		   "session.save_path = %s/temp\n"
		   "session.gc_probability = 1\n"
		   "zend.exception_ignore_args = On\n", wdir, wdir);
}

bool webmail_setup(const struct webmail_setup *w)
{
	static const char *const state[] = { "db", "logs", "temp", "run" };
	char *wdir = tool_path(w->dir, WEBMAIL_DIR);
	char *cdir = tool_path(wdir, "config");
	struct str s = STR_INIT;
	char key[33];
	uid_t uid = 0;
	gid_t gid = 0;
	int wfd = -1, cfd = -1, fd;
	bool ok = false;

	if (w->root) {
		struct passwd *pw = getpwnam(WEBMAIL_USER);

		if (pw == NULL) {
			tool_complain("no user " WEBMAIL_USER);
			goto done;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (!webmail_key(key, sizeof(key))) {
		tool_complain("cannot get random bytes: %s", strerror(errno));
		goto done;
	}
	if ((wfd = webmail_mkdir(w->dir_fd, w->dir, WEBMAIL_DIR, 0755, 0, 0,
				 false)) < 0 ||
	    (cfd = webmail_mkdir(wfd, wdir, "config", 0750, 0, gid,
				 w->root)) < 0)
		goto done;
	for (size_t i = 0; i < sizeof(state) / sizeof(state[0]); i++) {
		if ((fd = webmail_mkdir(wfd, wdir, state[i], 0700, uid, gid,
					w->root)) < 0)
			goto done;
		close(fd);
	}
	if (symlinkat(WEBMAIL_RC_CONFIG "/defaults.inc.php", cfd,
		      "defaults.inc.php") < 0 ||
	    symlinkat(WEBMAIL_RC_CONFIG "/mimetypes.php", cfd,
		      "mimetypes.php") < 0) {
		tool_complain("cannot link Roundcube's defaults into %s: %s",
			      cdir, strerror(errno));
		goto done;
	}
	webmail_roundcube_config(w, wdir, key, &s);
	if (!webmail_write(cfd, cdir, "config.inc.php", str_c(&s), 0640, gid,
			   w->root))
		goto done;
	str_clear(&s);
	webmail_lighttpd_config(w, wdir, &s);
	if (!webmail_write(wfd, wdir, "lighttpd.conf", str_c(&s), 0644, 0,
			   false))
		goto done;
	str_clear(&s);
	webmail_php_ini(wdir, &s);
	ok = webmail_write(wfd, wdir, "php.ini", str_c(&s), 0644, 0, false);
done:
	explicit_bzero(key, sizeof(key));
	str_release(&s);
	if (cfd >= 0)
		close(cfd);
	if (wfd >= 0)
		close(wfd);
	mem_free(cdir);
	mem_free(wdir);
	return ok;
}

/* "correo webmail": the instance's lighttpd. */

struct webmail {
	char *dir;		/* DIR/webmail */
	char *conf;		/* DIR/webmail/lighttpd.conf */
	char *pid_file;
	char *url;
};

static void webmail_free(struct webmail *wm)
{
	mem_free(wm->dir);
	mem_free(wm->conf);
	mem_free(wm->pid_file);
	mem_free(wm->url);
}

/* The value of "key = value" in lighttpd.conf, quotes removed. */
static char *webmail_conf_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, '\n');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len > klen && strncmp(p, key, klen) == 0 &&
		    (p[klen] == ' ' || p[klen] == '=')) {
			const char *v = p + klen;
			const char *e = p + len;

			while (v < e && (*v == ' ' || *v == '='))
				v++;
			if (v < e && *v == '"') {
				v++;
				while (e > v && e[-1] != '"')
					e--;
				if (e > v)
					e--;
			}
			return mem_strndup(v, (size_t)(e - v));
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

static bool webmail_load(const char *config_dir, struct webmail *wm)
{
	char *text, *bind = NULL, *port = NULL, *error = NULL;
	struct str url = STR_INIT;

	memset(wm, 0, sizeof(*wm));
	wm->dir = tool_path(config_dir, WEBMAIL_DIR);
	wm->conf = tool_path(wm->dir, "lighttpd.conf");
	if ((text = safe_read_text(wm->conf, 65536, &error)) == NULL) {
		tool_complain("%s (set the webmail up with \"correo init DIR "
			      "--webmail\"; correo-webmail(8))", error);
		mem_free(error);
		return false;
	}
	wm->pid_file = webmail_conf_value(text, "server.pid-file");
	bind = webmail_conf_value(text, "server.bind");
	port = webmail_conf_value(text, "server.port");
	mem_free(text);
	if (wm->pid_file == NULL || bind == NULL || port == NULL) {
		tool_complain("%s: server.pid-file, server.bind or server.port"
			      " missing", wm->conf);
		mem_free(bind);
		mem_free(port);
		return false;
	}
	str_printf(&url, strchr(bind, ':') != NULL ? "http://[%s]:%s/" :
		   "http://%s:%s/", bind, port);
	wm->url = mem_strdup(str_c(&url));
	str_release(&url);
	mem_free(bind);
	mem_free(port);
	return true;
}

/* A stale pid file may name a process that reused the pid. */
static bool webmail_is_lighttpd(pid_t pid)
{
	char link[64], exe[256];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%ld/exe", (long)pid);
	if ((n = readlink(link, exe, sizeof(exe) - 1)) < 0)
		return errno == EACCES;	/* another user's: trust the file */
	exe[n] = '\0';
	return strcmp(exe, WEBMAIL_LIGHTTPD) == 0;
}

/* The running lighttpd's pid, or 0. */
static pid_t webmail_pid(const struct webmail *wm)
{
	char *error = NULL;
	char *text = safe_read_text(wm->pid_file, 64, &error);
	long pid;

	if (text == NULL) {
		mem_free(error);
		return 0;
	}
	text[strcspn(text, "\n")] = '\0';
	if (!str_to_long(text, 2, 0x7fffffff, &pid))
		pid = 0;
	mem_free(text);
	if (pid > 0 && (!tool_pid_alive((pid_t)pid) ||
			!webmail_is_lighttpd((pid_t)pid)))
		pid = 0;
	return (pid_t)pid;
}

static void webmail_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int webmail_start(struct webmail *wm)
{
	char *const argv[] = { WEBMAIL_LIGHTTPD, "-f", wm->conf, NULL };
	int status;
	pid_t child, pid;

	if ((pid = webmail_pid(wm)) > 0) {
		tool_say("webmail is already running (PID %ld) at %s",
			 (long)pid, wm->url);
		return 0;
	}
	if (!webmail_installed(false))
		return 1;
	fflush(NULL);
	if ((child = fork()) < 0) {
		tool_complain("fork: %s", strerror(errno));
		return 1;
	}
	if (child == 0) {
		/* lighttpd daemonizes; it and PHP get no descriptor of ours
		 * beyond stdio. */
		closefrom(3);
		execv(argv[0], argv);
		fprintf(stderr, "correo: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			break;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tool_complain("lighttpd did not start (%s/logs/lighttpd.log)",
			      wm->dir);
		return 1;
	}
	for (long waited = 0; waited < WEBMAIL_WAIT_MS; waited += 100) {
		if ((pid = webmail_pid(wm)) > 0) {
			tool_say("webmail started (PID %ld): %s", (long)pid,
				 wm->url);
			return 0;
		}
		webmail_sleep_ms(100);
	}
	tool_complain("lighttpd wrote no pid file in %d s (%s/logs/"
		      "lighttpd.log)", WEBMAIL_WAIT_MS / 1000, wm->dir);
	return 1;
}

static int webmail_stop(struct webmail *wm)
{
	pid_t pid = webmail_pid(wm);

	if (pid == 0) {
		tool_say("webmail is not running");
		return 0;
	}
	if (kill(pid, SIGTERM) < 0) {
		tool_complain("cannot stop lighttpd (PID %ld): %s", (long)pid,
			      strerror(errno));
		return 1;
	}
	for (long waited = 0; waited < WEBMAIL_WAIT_MS; waited += 100) {
		if (!tool_pid_alive(pid)) {
			tool_say("webmail stopped");
			return 0;
		}
		webmail_sleep_ms(100);
	}
	tool_complain("lighttpd (PID %ld) still runs after %d s", (long)pid,
		      WEBMAIL_WAIT_MS / 1000);
	return 1;
}

int correo_webmail_cmd(const char *config_dir, int argc, char **argv)
{
	struct webmail wm;
	const char *what = argc > 1 ? argv[1] : "status";
	pid_t pid;
	int ret;

	if (argc > 2 || (strcmp(what, "start") != 0 &&
			 strcmp(what, "stop") != 0 &&
			 strcmp(what, "status") != 0)) {
		fprintf(stderr, "usage: correo webmail [start|stop|status]\n");
		return 2;
	}
	if (!webmail_load(config_dir, &wm)) {
		webmail_free(&wm);
		return 1;
	}
	if (strcmp(what, "start") == 0)
		ret = webmail_start(&wm);
	else if (strcmp(what, "stop") == 0)
		ret = webmail_stop(&wm);
	else if ((pid = webmail_pid(&wm)) > 0) {
		tool_say("webmail is running (PID %ld): %s", (long)pid,
			 wm.url);
		ret = 0;
	} else {
		tool_say("webmail is not running (correo webmail start): %s",
			 wm.url);
		ret = 1;
	}
	webmail_free(&wm);
	return ret;
}
