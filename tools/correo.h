#ifndef TOOLS_CORREO_H
#define TOOLS_CORREO_H

#include <stdbool.h>

#include "str.h"

/* The subcommands of the correo admin command. tools/main.c parses the
 * global options (-c DIR, -v), then calls one of these with argv[0] set
 * to the subcommand name. Each returns the process exit status (0 ok,
 * 1 failure, 2 usage) and prints its own messages to stderr/stdout.
 * config_dir is the -c argument or the compiled-in default. */

int correo_config_cmd(const char *config_dir, int argc, char **argv);
int correo_map_cmd(const char *config_dir, int argc, char **argv);
int correo_start_cmd(const char *config_dir, int argc, char **argv);
/* "correo start-fg": the checks, then exec master -f (systemd). */
int correo_start_fg_cmd(const char *config_dir, int argc, char **argv);
/* "correo setup": the system install's accounts, queue, config, TLS
 * (tools/correo_setup.c). */
int correo_setup_cmd(const char *config_dir, int argc, char **argv);
int correo_stop_cmd(const char *config_dir, int argc, char **argv);
int correo_reload_cmd(const char *config_dir, int argc, char **argv);
int correo_status_cmd(const char *config_dir, int argc, char **argv);
int correo_check_cmd(const char *config_dir, int argc, char **argv);
int correo_init_cmd(const char *config_dir, int argc, char **argv);
/* "correo user add|del|list|passwd" (receive issue). */
int correo_user_cmd(const char *config_dir, int argc, char **argv);
/* correo mailbox USER [list|rebuild|expunge|purge] (correo_mailbox.c). */
int correo_mailbox_cmd(const char *config_dir, int argc, char **argv);
/* "correo newaliases" / "correo queue" (later issues). */
int correo_newaliases_cmd(const char *config_dir, int argc, char **argv);
/* "correo queue ..." (tools/correo_queue.c). */
int correo_queue_cmd(const char *config_dir, int argc, char **argv);
/* "correo tls check" (tools/correo_tls.c). */
int correo_tls_cmd(const char *config_dir, int argc, char **argv);

/* Webmail: Debian's Roundcube on lighttpd (tools/correo_webmail.c).
 * "correo webmail start|stop|status". */
int correo_webmail_cmd(const char *config_dir, int argc, char **argv);
/* The web server's own user when root runs it (never a mail user). */
#define WEBMAIL_USER "correo-web"
/* What "correo init --webmail" hands webmail_setup. */
struct webmail_setup {
	const char *dir;	/* the instance directory (absolute) */
	int dir_fd;		/* its descriptor (O_NOFOLLOW) */
	const char *domain;
	const char *listen;
	const char *cafile;	/* the instance's certificate */
	long web_port, imap_port, submission_port;
	bool root;
};
/* Write DIR/webmail/ (config, state directories). */
bool webmail_setup(const struct webmail_setup *w);
/* Are Roundcube, lighttpd and php-cgi installed? Says what to install
 * unless quiet. */
bool webmail_installed(bool quiet);

/* Login passwords (tools/correo_passwd.c, auth issue). */
/* "correo user passwd ADDRESS [--password-stdin]", argv[0] "passwd". */
int correo_passwd_cmd(const char *config_dir, int argc, char **argv);
/* Ask for (terminal, twice, no echo) or read (one stdin line) a password
 * and store its crypt(3) hash for address in auth_password_maps. Returns
 * an exit status; prints its own messages. */
int correo_passwd_set(const char *config_dir, const char *address,
		      bool from_stdin);
/* Drop address's password entry, if any. Returns an exit status. */
int correo_passwd_remove(const char *config_dir, const char *address);
/* Remove "--password-stdin" from argv (updating *argc) and say how "user
 * add" gets its password: from stdin, by prompting (stdin is a terminal)
 * or none (no terminal and no option: a mailbox without a login). */
#define CORREO_PASSWD_NONE	0
#define CORREO_PASSWD_PROMPT	1
#define CORREO_PASSWD_STDIN	2
int correo_passwd_option(int *argc, char **argv);
/* The text source text with address's line (and continuation lines)
 * replaced by "address hash", or appended; hash NULL removes it. True if
 * the address had an entry. */
bool correo_passwd_update(const char *text, const char *address,
			  const char *hash, struct str *out);

#endif
