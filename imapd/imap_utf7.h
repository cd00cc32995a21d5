#ifndef IMAPD_IMAP_UTF7_H
#define IMAPD_IMAP_UTF7_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* Modified UTF-7 (RFC 3501 section 5.1.3), the encoding of mailbox names
 * for IMAP4rev1 clients, and the UTF-8 checks around it.
 *
 * Printable US-ASCII (0x20-0x7e) stands for itself, except '&', which is
 * written "&-"; everything else is UTF-16 in a modified base64 (',' for
 * '/', no padding) between '&' and '-'. The decoder is strict and takes
 * exactly the canonical form, so every name has one spelling: it refuses
 * bytes outside printable ASCII, a shift that encodes printable ASCII,
 * two shifts in a row, a shift that is not terminated by '-', leftover
 * bits that are not zero or that make up a whole base64 character,
 * unpaired surrogates and U+0000. */

/* Append the mUTF-7 form of the UTF-8 string utf8 to out. False (out
 * partly written) if utf8 is not valid UTF-8 or holds U+0000. */
bool imap_utf7_encode(const char *utf8, struct str *out,
		      const char **error_r);
/* Append the UTF-8 form of the mUTF-7 string mutf7 to out. False (out
 * partly written) with a reason if it is not canonical mUTF-7. */
bool imap_utf7_decode(const char *mutf7, struct str *out,
		      const char **error_r);
/* True if s is valid mUTF-7 (imap_utf7_decode would accept it). */
bool imap_utf7_valid(const char *s);

/* True if s (len bytes) is valid UTF-8: shortest forms only, no
 * surrogates, nothing above U+10FFFF. NUL bytes count as valid here. */
bool imap_utf8_valid(const char *s, size_t len);

#endif
