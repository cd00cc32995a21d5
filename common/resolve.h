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

#endif
