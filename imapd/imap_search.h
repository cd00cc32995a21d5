#ifndef IMAPD_IMAP_SEARCH_H
#define IMAPD_IMAP_SEARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "imap_parse.h"
#include "imap_seqset.h"

/* SEARCH arguments (RFC 3501 6.4.4, RFC 9051 6.4.4, ESEARCH RFC 4731,
 * SEARCHRES RFC 5182, MODSEQ RFC 7162) as a tree of keys.
 *
 *	SEARCH [RETURN (MIN MAX ALL COUNT SAVE)] [CHARSET x] key...
 *
 * The keys become a tree of AND, OR and NOT nodes over leaves; the
 * shorthand keys are expanded into that tree: UNSEEN is NOT(FLAG
 * \Seen), NEW is AND(FLAG \Recent, NOT(FLAG \Seen)), OLD is NOT(FLAG
 * \Recent), FROM x is HEADER "FROM" x, and so on, so the evaluator has
 * few kinds of node. Strings point into the command's arguments (valid as
 * long as the parsed command). Only UTF-8 and US-ASCII are known
 * charsets; another gives IMAP_SEARCH_PARSE_BADCHARSET
 * ("NO [BADCHARSET (US-ASCII UTF-8)]"). */

enum imap_search_type {
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_AND,	/* children: the list under child */
	IMAP_SEARCH_OR,		/* children: exactly two */
	IMAP_SEARCH_NOT,	/* child: one */
	IMAP_SEARCH_SEQSET,	/* set (unresolved; dollar for "$") */
	IMAP_SEARCH_UID,	/* set */
	IMAP_SEARCH_FLAG,	/* flag: an IMAP_FLAG_* bit */
	IMAP_SEARCH_KEYWORD,	/* value */
	IMAP_SEARCH_BEFORE,	/* date: internal date, day granularity */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,	/* date: the Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_LARGER,	/* size */
	IMAP_SEARCH_SMALLER,
	IMAP_SEARCH_HEADER,	/* field (any case), value (may be "") */
	IMAP_SEARCH_BODY,	/* value */
	IMAP_SEARCH_TEXT,	/* value */
	IMAP_SEARCH_MODSEQ,	/* size: modseq at least this (RFC 7162) */
	IMAP_SEARCH_OLDER,	/* size: seconds (WITHIN, RFC 5032) */
	IMAP_SEARCH_YOUNGER,
	IMAP_SEARCH_EMAILID,	/* value: an objectid (RFC 8474) */
	IMAP_SEARCH_THREADID,	/* value */
	IMAP_SEARCH_SAVEDBEFORE,	/* date: save date (RFC 8514) */
	IMAP_SEARCH_SAVEDON,
	IMAP_SEARCH_SAVEDSINCE,
	IMAP_SEARCH_SAVEDATESUPPORTED,
};

struct imap_search_key {
	enum imap_search_type type;
	bool owned;		/* field and value are its own (a dup) */
	struct imap_search_key *child;	/* AND, OR, NOT */
	struct imap_search_key *next;	/* the next sibling */
	const char *field;
	const char *value;
	unsigned int flag;
	time_t date;		/* midnight UTC of the day */
	uint64_t size;
	struct imap_seqset set;
};

/* RETURN options (ESEARCH). */
#define IMAP_SEARCH_RETURN_MIN		0x01
#define IMAP_SEARCH_RETURN_MAX		0x02
#define IMAP_SEARCH_RETURN_ALL		0x04
#define IMAP_SEARCH_RETURN_COUNT	0x08
#define IMAP_SEARCH_RETURN_SAVE		0x10
#define IMAP_SEARCH_RETURN_UPDATE	0x20	/* CONTEXT=SEARCH, RFC 5267 */
#define IMAP_SEARCH_RETURN_PARTIAL	0x40	/* partial_lo:partial_hi */

/* Nesting of NOT/OR/parentheses. */
#define IMAP_SEARCH_DEPTH_MAX 64

struct imap_search {
	struct imap_search_key *root;	/* an AND of the top-level keys */
	const char *charset;		/* NULL if not given */
	bool esearch;			/* RETURN given: answer ESEARCH */
	unsigned int ret;		/* IMAP_SEARCH_RETURN_*; () is ALL */
	uint32_t partial_lo, partial_hi;	/* lo <= hi, both >= 1 */
};

enum imap_search_parse_result {
	IMAP_SEARCH_PARSE_OK,
	IMAP_SEARCH_PARSE_BAD,
	IMAP_SEARCH_PARSE_BADCHARSET,
};

/* Parse SEARCH's arguments (up to IMAP_ARG_EOL). On OK *search_r is set;
 * otherwise *error_r says why. */
enum imap_search_parse_result
imap_search_parse(const struct imap_arg *args, struct imap_search **search_r,
		  const char **error_r);
/* Parse search keys only (up to IMAP_ARG_EOL), for SORT and THREAD,
 * whose charset comes before the keys and is checked by the caller. */
bool imap_search_parse_keys(const struct imap_arg *args,
			    struct imap_search **search_r,
			    const char **error_r);
void imap_search_free(struct imap_search **search);
/* A deep copy whose strings and sets belong to it (the parsed search
 * points into the command's arguments): for searches that outlive
 * their command (CONTEXT's UPDATE). */
struct imap_search *imap_search_dup(const struct imap_search *search);
/* RETURN (PARTIAL lo:hi)'s range (RFC 5267 4.4): two non-zero numbers
 * in either order, no '*'. */
bool imap_search_partial_parse(const char *text, uint32_t *lo_r,
			       uint32_t *hi_r);

#endif
