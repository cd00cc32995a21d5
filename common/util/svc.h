#ifndef COMMON_SVC_H
#define COMMON_SVC_H

#include <stdbool.h>

/* services.conf: one row per service, like Postfix's master.cf:
 *
 *   # service        type private user   chroot wakeup maxproc command + args
 *   smtp             inet n       -      n      -      100     smtpd
 *   127.0.0.1:10587  inet n       -      n      -      100     smtpd -o smtpd_sasl_auth_enable=yes
 *   qmgr             unix n       -      n      300    1       qmgr
 *   local            unix -       root   n      -      10      local
 *
 * service: inet: [host:]port (port numeric or a services(5) name; host
 *          may be [v6addr]; no host means every address, IPv4 and IPv6);
 *          unix: a socket name under queue/private (private=y) or
 *          queue/public (private=n).
 * user:    "-" means $mail_owner. In instance mode every user collapses
 *          to the invoking user.
 * chroot:  y/n/- (- means n); the chroot directory is $queue_directory.
 * wakeup:  seconds between wakeup triggers sent by master; "-"/0: none.
 * maxproc: process limit; "-" means $default_process_limit; 0 no limit.
 * An argument written "{ text with spaces }" is one argument (the text
 * inside the braces, trimmed), as in "-o { smtpd_banner = $myhostname }".
 * Lines starting with whitespace continue the previous row. */

enum svc_type {
	SVC_INET,
	SVC_UNIX,
};

struct svc {
	char *name;		/* as written */
	enum svc_type type;
	bool private_;
	char *user;		/* NULL for "-" */
	bool chroot;
	long wakeup;		/* seconds, 0 none */
	long maxproc;		/* -1 for "-" (use the default) */
	char *host;		/* inet: NULL for all addresses */
	char *port;		/* inet */
	char **argv;		/* command + args, NULL terminated */
	int argc;
	char *file;		/* where it was defined, for messages */
	int line;
	char *key;		/* svc_key() */
};

struct svc_table {
	struct svc *svcs;
	int count;
};

/* Returns NULL and an allocated "FILE:LINE: ..." message on error. */
struct svc_table *svc_load(const char *path, char **error_r);
struct svc_table *svc_parse(const char *text, const char *name,
			    char **error_r);
void svc_table_free(struct svc_table **table);
/* Stable identity of a row for reload comparisons ("inet/host:port"). */
const char *svc_key(const struct svc *svc);

#endif
