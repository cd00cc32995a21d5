#ifndef IMAPD_IMAP_URL_H
#define IMAPD_IMAP_URL_H

#include <stdbool.h>
#include <stdint.h>

/* A relative IMAP URL (RFC 5092) naming a message or a part of one, the
 * form CATENATE's URL parts take (RFC 4469):
 *
 *   /MAILBOX[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]
 *
 * The ";KEY=" words in any case; MAILBOX and SECTION are percent-decoded
 * (a URL's mailbox name is UTF-8). An absolute URL ("imap://..."), a
 * URL with URLAUTH or EXPIRE, a missing UID, or a zero or overlong
 * number is refused. */
struct imap_url {
	char *mailbox;		/* UTF-8, owned */
	uint32_t uidvalidity;	/* 0: not given */
	uint32_t uid;
	char *section;		/* owned; NULL: the whole message */
	bool partial;
	uint32_t offset;
	uint32_t length;	/* with partial; 0: to the end */
};

/* Parse url into u (free it with imap_url_free, also after a failure).
 * False with a static reason. */
bool imap_url_parse(const char *url, struct imap_url *u,
		    const char **error_r);
void imap_url_free(struct imap_url *u);

#endif
