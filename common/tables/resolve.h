#ifndef COMMON_RESOLVE_H
#define COMMON_RESOLVE_H

#include <stdbool.h>

#include "cfg.h"
#include "str.h"

/* Address resolution: which domains are ours and where a recipient's mail
 * goes. smtpd uses it to accept or refuse at RCPT time, qmgr to expand
 * recipients into deliveries. The order is Postfix's:
 *
 *   1. virtual_alias_maps (full address, then @domain catch-all), applied
 *      recursively with loop and depth limits;
 *   2. the domain class: mydestination -> local (alias_maps, then a system
 *      account), virtual_mailbox_domains -> virtual (virtual_mailbox_maps),
 *      anything else -> relay (allowed only for trusted clients; smtpd
 *      decides);
 *   3. local parts are matched with and without the recipient_delimiter
 *      extension (user+ext -> user).
 * postmaster@ any of our domains always exists (RFC 5321). */

enum resolve_class {
	RESOLVE_LOCAL,		/* mydestination: aliases, system users */
	RESOLVE_VIRTUAL,	/* virtual_mailbox_domains */
	RESOLVE_ALIAS_DOMAIN,	/* only virtual_alias_maps know it */
	RESOLVE_RELAY,		/* not ours */
};

struct resolver;

/* Open the tables named in cfg. NULL with an allocated message. */
struct resolver *resolve_create(struct cfg *cfg, char **error_r);
void resolve_free(struct resolver **r);

/* The class of a domain (lower-case, no trailing dot). */
enum resolve_class resolve_domain_class(struct resolver *r,
					const char *domain);

/* Does a recipient of one of our domains exist? -1 temporary error
 * (table unreadable: answer 4xx), 0 unknown (550 5.1.1), 1 exists. */
int resolve_rcpt_exists(struct resolver *r, const char *address,
			const char **error_r);

/* Expansion (qmgr, local): one recipient becomes its final deliveries. */
enum resolve_kind {
	RESOLVE_MAILDIR,	/* path is a Maildir (ends in '/') */
	RESOLVE_MAILBOX,	/* path is an mbox file */
	RESOLVE_COMMAND,	/* path is a shell command (from "|cmd") */
	RESOLVE_FILE,		/* path is a file to append to ("/file") */
	RESOLVE_FORWARD,	/* address is not ours: relay it */
	RESOLVE_BOUNCE,		/* permanent failure: reason, 5.x.x dsn */
	RESOLVE_DEFER,		/* temporary failure: reason, dsn 4.x.x */
};

struct resolve_delivery {
	enum resolve_kind kind;
	enum resolve_class class;
	char *address;		/* final address (the alias for |, /) */
	char *path;		/* Maildir, mbox, command or file; or NULL */
	char *user;		/* owner to run as (when root); or NULL */
	char *reason;		/* BOUNCE/DEFER: why */
	const char *dsn;	/* BOUNCE/DEFER: enhanced status code */
};

struct resolve_result {
	struct resolve_delivery *items;
	size_t count;
	size_t cap;
};

#define RESOLVE_RESULT_INIT { NULL, 0, 0 }

/* Expand address (lower-case domain) through virtual_alias_maps, then
 * alias_maps for local domains (each recursively, depth limited by
 * resolve_depth_limit, loops bounced as "mail forwarding loop"), into
 * final deliveries appended to res. Never fails as a whole: table errors
 * become RESOLVE_DEFER items, unknown users RESOLVE_BOUNCE items. Commands
 * and files are RESOLVE_BOUNCE unless allow_mail_to_commands /
 * allow_mail_to_files permit them. Duplicate final targets are dropped. */
void resolve_expand(struct resolver *r, const char *address,
		    struct resolve_result *res);
/* The mailbox of one final address, without alias expansion: fills
 * *d (kind RESOLVE_MAILDIR or RESOLVE_MAILBOX, path, user). -1 table
 * error (*error_r), 0 no such mailbox, 1 found. Free d with
 * resolve_delivery_clear. */
int resolve_mailbox(struct resolver *r, const char *address,
		    struct resolve_delivery *d, const char **error_r);
/* The quota rule of a mailbox (store_quota_parse reads it):
 * mailbox_quota_maps by the address, the address without its extension,
 * the local part for a local domain (a system user's login name), then
 * "@domain"; else mailbox_quota_default. -1 table error, 0 none, 1
 * found (value_r). */
int resolve_quota(struct resolver *r, const char *address,
		  struct str *value_r, const char **error_r);
void resolve_delivery_clear(struct resolve_delivery *d);
void resolve_result_clear(struct resolve_result *res);
/* Split "local@domain" (the last '@'); domain "" when there is none. The
 * local part loses a recipient_delimiter extension when strip is true. */
void resolve_split(struct resolver *r, const char *address, bool strip,
		   struct str *local_r, struct str *domain_r);

/* Split an alias or .forward value into targets: commas and whitespace
 * separate them, double quotes protect a "|command with spaces". Free
 * with resolve_targets_free. */
char **resolve_targets(const char *value, size_t *count_r);
void resolve_targets_free(char **targets, size_t count);
/* May a user's .forward name |commands (command) or /files (!command)?
 * allow_mail_to_commands / allow_mail_to_files list "forward". */
bool resolve_forward_allows(const struct resolver *r, bool command);

#endif
