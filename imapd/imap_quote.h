#ifndef IMAPD_IMAP_QUOTE_H
#define IMAPD_IMAP_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* Strings in server output, always well-formed: each helper picks the
 * form that can carry the bytes.
 *
 * - atom (astrings only): non-empty, ASTRING-CHARs only, not "NIL";
 * - quoted: at most IMAP_QUOTE_MAX bytes, no CR, LF, NUL or other control
 *   character but TAB, '"' and '\' escaped; 8-bit bytes only when utf8 is
 *   true (IMAP4rev2 or UTF8=ACCEPT) and they form valid UTF-8;
 * - literal {n} otherwise. A literal cannot carry NUL (RFC 3501
 *   CHAR8): NUL bytes are left out of it.
 *
 * Output is appended to out; len is the length of s (which may hold NULs
 * when it comes from a message). */

#define IMAP_QUOTE_MAX 1024

void imap_quote_string(struct str *out, const char *s, size_t len, bool utf8);
/* An atom where possible, else as imap_quote_string. */
void imap_quote_astring(struct str *out, const char *s, size_t len,
			bool utf8);
/* NIL for s == NULL, else as imap_quote_string. */
void imap_quote_nstring(struct str *out, const char *s, size_t len,
			bool utf8);
/* A literal8 ~{n} with the bytes as they are (BINARY, RFC 3516). */
void imap_quote_literal8(struct str *out, const char *s, size_t len);

#endif
