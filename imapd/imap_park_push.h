#ifndef IMAPD_IMAP_PARK_PUSH_H
#define IMAPD_IMAP_PARK_PUSH_H

#include "imap_park_state.h"
#include "store.h"
#include "str.h"

/* What the park process can tell a parked IDLE session itself
 * (imap_park_push.c). */
enum imap_park_push {
	IMAP_PARK_PUSH_NOTHING,	/* nothing the client must hear */
	IMAP_PARK_PUSH_TOLD,	/* out holds it, st is updated */
	IMAP_PARK_PUSH_RESUME,	/* only an imapd can say it */
};

/* Compare the parked session st with folder f (opened and current):
 * new messages only, and the session is in IDLE on f, give TOLD with
 * "* N EXISTS" (and "* N RECENT" before IMAP4rev2) appended to out and
 * st updated as if an imapd had said it (the new UIDs in its view,
 * those this session took as \Recent in its recent set, its modseq
 * raised). An expunge, a change to a message the client knows, a new
 * keyword or another UIDVALIDITY give RESUME and leave st alone.
 * Unless the session is read-only, messages still in new/ are taken as
 * this session's \Recent ones first (store_claim_new), as an imapd
 * would. */
enum imap_park_push imap_park_push(struct store_folder *f,
				   struct imap_park_state *st,
				   struct str *out);

#endif
