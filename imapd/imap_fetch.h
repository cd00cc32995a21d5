#ifndef IMAPD_IMAP_FETCH_H
#define IMAPD_IMAP_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "imap_parse.h"
#include "str.h"

/* FETCH data items (RFC 3501 6.4.5, RFC 9051 6.4.5, BINARY RFC 3516,
 * MODSEQ RFC 7162):
 * the macros ALL, FAST and FULL, or one item, or a parenthesised list.
 *
 * Sections are taken apart: BODY[1.2.HEADER.FIELDS (From To)]<0.100> is
 * a BODY_SECTION item with part 1.2, spec HEADER_FIELDS, fields FROM and
 * TO (upper-cased copies), partial 0 and 100. imap_fetch_item_name()
 * gives the name to answer with ("BODY[1.2.HEADER.FIELDS (FROM TO)]<0>"). */

enum imap_fetch_type {
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822,		/* = BODY[], sets \Seen */
	IMAP_FETCH_RFC822_HEADER,	/* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_RFC822_TEXT,		/* = BODY[TEXT] */
	IMAP_FETCH_BODY,		/* BODYSTRUCTURE without extensions */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_UID,
	IMAP_FETCH_BODY_SECTION,	/* BODY[...] / BODY.PEEK[...] */
	IMAP_FETCH_BINARY,		/* BINARY[...] / BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE,
	IMAP_FETCH_MODSEQ,		/* RFC 7162 */
	IMAP_FETCH_EMAILID,		/* OBJECTID, RFC 8474 */
	IMAP_FETCH_THREADID,
	IMAP_FETCH_SAVEDATE,		/* RFC 8514 */
	IMAP_FETCH_PREVIEW,		/* RFC 8970; lazy: PREVIEW (LAZY) */
};

enum imap_section_spec {
	IMAP_SECTION_ALL,		/* [] or [1.2]: the whole part */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,		/* only after a part number */
};

#define IMAP_FETCH_PARTS_MAX 32		/* part number depth */
#define IMAP_FETCH_FIELDS_MAX 256	/* header names in one section */
#define IMAP_FETCH_ITEMS_MAX 256

struct imap_fetch_item {
	enum imap_fetch_type type;
	bool peek;			/* BODY.PEEK, BINARY.PEEK */
	uint32_t part[IMAP_FETCH_PARTS_MAX];
	unsigned int nparts;
	enum imap_section_spec spec;
	char **fields;			/* HEADER.FIELDS: upper case */
	unsigned int nfields;
	bool partial;			/* <offset.length> */
	bool lazy;			/* PREVIEW (LAZY) */
	uint64_t offset, length;
};

struct imap_fetch {
	struct imap_fetch_item *items;
	unsigned int count;
};

#define IMAP_FETCH_INIT { NULL, 0 }

/* Parse FETCH's item argument (an atom or a list) into fetch (released
 * first). False with a BAD text. */
bool imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch *fetch,
		      const char **error_r);
void imap_fetch_release(struct imap_fetch *fetch);
/* Append the name of item as a FETCH response gives it. */
void imap_fetch_item_name(const struct imap_fetch_item *item,
			  struct str *out);
/* True if fetching item sets \Seen (BODY[...] and RFC822 and
 * RFC822.TEXT, BINARY[...], not the PEEK forms). */
bool imap_fetch_item_sets_seen(const struct imap_fetch_item *item);

#endif
