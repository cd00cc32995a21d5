#ifndef IMAPD_IMAP_MAILBOX_H
#define IMAPD_IMAP_MAILBOX_H

#include <stdbool.h>

#include "str.h"

/* Mailbox names as IMAP clients send them, checked and mapped onto
 * Maildir++ folder directories.
 *
 * The hierarchy separator is '.', as in Courier and Dovecot's Maildir++
 * layout: the folder "Work.2024" is the directory ".Work.2024" beside
 * INBOX's cur/new/tmp, its name stored in modified UTF-7 (so the same
 * directories work for Dovecot and Courier). INBOX (any case) is the
 * Maildir itself.
 *
 * A valid name (in UTF-8) is non-empty, valid UTF-8, has no empty
 * component (no leading or trailing '.', no ".."), no '/', no control
 * characters, no LIST wildcards ('%', '*'), at most
 * IMAP_MAILBOX_DEPTH_MAX components, and its directory name fits in
 * IMAP_MAILBOX_DIR_MAX bytes. So no valid name leaves the Maildir or
 * collides with cur/, new/, tmp/ or another Maildir file. */

#define IMAP_MAILBOX_SEP '.'
#define IMAP_MAILBOX_DIR_MAX 255	/* NAME_MAX of the directory */
#define IMAP_MAILBOX_DEPTH_MAX 32
/* LIST patterns longer than this match nothing. */
#define IMAP_MAILBOX_PATTERN_MAX 1024

/* True if name (UTF-8) is INBOX, in any case. */
bool imap_mailbox_is_inbox(const char *name);
/* Check a mailbox name (UTF-8, as decoded from the client). */
bool imap_mailbox_name_valid(const char *name, const char **error_r);
/* The Maildir++ directory of a valid name, appended to dir_r: "" for
 * INBOX, else '.' and the name in mUTF-7. False if the name is
 * invalid. */
bool imap_mailbox_to_dir(const char *name, struct str *dir_r,
			 const char **error_r);
/* The mailbox name (UTF-8) of a Maildir++ directory name (".Work.2024"),
 * appended to name_r. False for names that are not folders or that no
 * valid mailbox maps to (so a stray directory is skipped, not listed). */
bool imap_mailbox_from_dir(const char *dir, struct str *name_r,
			   const char **error_r);
/* LIST/LSUB matching (RFC 3501 6.3.8): does name (UTF-8) match pattern
 * (UTF-8, reference already prepended)? '*' matches any characters, '%'
 * any but the separator; INBOX, as a name or as the first level of one,
 * matches without regard to case. Time is O(pattern x name). */
bool imap_mailbox_match(const char *pattern, const char *name);

#endif
