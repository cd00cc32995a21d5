#ifndef IMAPD_IMAP_PARK_STATE_H
#define IMAPD_IMAP_PARK_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_seqset.h"
#include "str.h"

/* The state of a parked IMAP session (imapd_park.c, park.c): what a
 * freshly exec'd imapd needs to go on with the client's session exactly
 * where the parked one left it. Everything the client was told is in
 * it; the view's flags are not (a resumed session reports as changed
 * every message whose modseq is above the modseq it parked at).
 *
 * The encoding is text, one "key value" line each, values
 * percent-encoded, between a "correo-park 1" line and an "end" line;
 * the parser is strict (every key known and at most once, numbers
 * checked, sequence sets canonical, the tag a valid IMAP tag), so a
 * damaged or truncated state is refused, never half used. */

#define IMAP_PARK_STATE_MAX (16 * 1024 * 1024)

/* Enabled extensions and session modes. */
#define IMAP_PARK_REV2		0x01
#define IMAP_PARK_UTF8		0x02
#define IMAP_PARK_UTF8_ACCEPT	0x04
#define IMAP_PARK_CONDSTORE	0x08
#define IMAP_PARK_QRESYNC	0x10
#define IMAP_PARK_READONLY	0x20
#define IMAP_PARK_TLS		0x40
#define IMAP_PARK_FLAGS_ALL	0x7f

struct imap_park_state {
	char *mailbox;		/* selected, UTF-8; NULL: none */
	uint32_t uidvalidity;
	struct imap_seqset uids;	/* the view, normalised */
	struct imap_seqset recent;	/* \Recent in the view */
	struct imap_seqset saved;	/* SEARCHRES "$" */
	uint64_t modseq;	/* HIGHESTMODSEQ the view is current to */
	unsigned keywords;	/* keywords the client was told of */
	unsigned flags;		/* IMAP_PARK_* */
	char *idle_tag;		/* in IDLE under this tag; NULL: quiet */
	char *quota;		/* the login's quota rule, or NULL */
	char *addr;		/* the client's address, for logs */
	uint64_t in_bytes, out_bytes;
	unsigned deleted, expunged;	/* for the logout line */
	struct str input;	/* client bytes read but not parsed */
};

void imap_park_state_init(struct imap_park_state *st);
void imap_park_state_release(struct imap_park_state *st);
/* Append the encoding of st to out. */
void imap_park_state_write(const struct imap_park_state *st,
			   struct str *out);
/* Decode data into st (initialised here). False with a reason if it is
 * not exactly one well-formed state; st is then released. */
bool imap_park_state_parse(const char *data, size_t len,
			   struct imap_park_state *st, const char **error_r);

#endif
