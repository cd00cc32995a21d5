#ifndef STORE_STORE_SAVEDATE_H
#define STORE_STORE_SAVEDATE_H

#include <stdint.h>

#include "store.h"

/*
 * The save date of a message (IMAP SAVEDATE, RFC 8514): when it was
 * saved into its folder, by delivery, APPEND, COPY or MOVE.
 *
 * Every one of those writes a new file whose Maildir base name starts
 * with the time it was made ("1764672000.M...": maildir_unique_name), and
 * the name never changes after (flag changes only touch the ":2," info),
 * so the save date is read from the name: nothing to store, and it
 * survives an index rebuild. A file another program dropped in with a
 * name that does not start with a time gets its ctime, as Dovecot does
 * for Maildir; if even that fails the date is unknown (-1, SAVEDATE NIL).
 */

/* Seconds since the epoch, or -1 if unknown. */
int64_t store_msg_savedate(const struct store_folder *f,
			   const struct store_msg *msg);

#endif
