#ifndef IMAPD_IMAP_FLAGS_H
#define IMAPD_IMAP_FLAGS_H

#include <stdbool.h>

#include "imap_parse.h"
#include "str.h"

/* Message flags in commands: flag lists (APPEND, STORE) and STORE's
 * arguments.
 *
 * System flags are bits; keywords are atoms (RFC 3501 flag-keyword),
 * kept as pointers into the command's arguments (valid as long as the
 * parsed command), each once (compared without case). \Recent cannot be
 * set by a client, and an unknown \Flag is refused. */

#define IMAP_FLAG_ANSWERED	0x01
#define IMAP_FLAG_FLAGGED	0x02
#define IMAP_FLAG_DELETED	0x04
#define IMAP_FLAG_SEEN		0x08
#define IMAP_FLAG_DRAFT		0x10
#define IMAP_FLAG_RECENT	0x20	/* SEARCH and output only */

/* Limit on keywords in one list. */
#define IMAP_FLAGS_KEYWORDS_MAX 256

/* The bit of a system flag name ("\Seen", any case), 0 if it is none. */
unsigned int imap_flags_system(const char *name);
/* True if s is a valid keyword (an atom not starting with '\'). */
bool imap_flags_keyword_valid(const char *s);

/* Parse the flags in args (up to IMAP_ARG_EOL): atoms only. Keywords are
 * added to *keywords_r (mem_array_realloc'd, the caller frees it) and
 * counted in *nkeywords_r. */
bool imap_flags_parse(const struct imap_arg *args, unsigned int *flags_r,
		      const char ***keywords_r, unsigned int *nkeywords_r,
		      const char **error_r);

enum imap_store_op {
	IMAP_STORE_REPLACE,	/* FLAGS */
	IMAP_STORE_ADD,		/* +FLAGS */
	IMAP_STORE_REMOVE,	/* -FLAGS */
};

struct imap_store {
	enum imap_store_op op;
	bool silent;
	unsigned int flags;
	const char **keywords;
	unsigned int nkeywords;
};

#define IMAP_STORE_INIT { IMAP_STORE_REPLACE, false, 0, NULL, 0 }

/* STORE's arguments after the sequence set: ("+"/"-")FLAGS[.SILENT] and
 * a flag list or flags separated by spaces. A store modifier list
 * (UNCHANGEDSINCE, RFC 7162) before them is imap_store_mods_parse()'s
 * (imap_condstore.h); here it is refused. */
bool imap_store_parse(const struct imap_arg *args, struct imap_store *store,
		      const char **error_r);
void imap_store_release(struct imap_store *store);

/* Append "(\Answered \Seen kw ...)". */
void imap_flags_format(unsigned int flags, const char *const *keywords,
		       unsigned int nkeywords, struct str *out);

#endif
