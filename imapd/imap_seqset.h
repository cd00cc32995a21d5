#ifndef IMAPD_IMAP_SEQSET_H
#define IMAPD_IMAP_SEQSET_H

#include <stdbool.h>
#include <stdint.h>

#include "str.h"

/* Sequence sets (RFC 3501 sequence-set, RFC 5182 "$"): message sequence
 * numbers or UIDs as a list of ranges.
 *
 * A parsed set keeps the ranges as the client wrote them; '*' is stored as
 * 0 (no message number or UID is 0) until imap_seqset_resolve() replaces it
 * with the largest number in use and normalises the set: ranges sorted,
 * ascending, overlapping and adjacent ones merged. Lookups and iteration
 * want a normalised set. "$" (SEARCHRES) is not resolved here: the parser
 * sets the dollar flag and the command merges in the saved result.
 *
 * Sets built with imap_seqset_add() keep their order (COPYUID's source
 * and destination sets must correspond) and stay compact: a number that
 * continues the last range extends it. */

/* Default limit on ranges in a parsed set. */
#define IMAP_SEQSET_RANGES_MAX 10000

struct imap_seq_range {
	uint32_t lo, hi;	/* lo <= hi once resolved; 0 is '*' */
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	unsigned int count, cap;
	bool star;		/* unresolved '*' inside */
	bool dollar;		/* "$" was given */
};

#define IMAP_SEQSET_INIT { NULL, 0, 0, false, false }

/* Parse flags. */
#define IMAP_SEQSET_ALLOW_DOLLAR 0x01

/* Parse text into set (which is cleared first). max_ranges 0 means
 * IMAP_SEQSET_RANGES_MAX. False with a BAD text on a syntax error, a
 * number that is 0 or does not fit in 32 bits, or too many ranges. */
bool imap_seqset_parse(struct imap_seqset *set, const char *text,
		       unsigned int flags, unsigned int max_ranges,
		       const char **error_r);
void imap_seqset_clear(struct imap_seqset *set);
void imap_seqset_release(struct imap_seqset *set);

/* Append the range lo:hi (in either order; 0 is '*'), merging it into the
 * last range when it continues it in ascending order. */
void imap_seqset_add_range(struct imap_seqset *set, uint32_t lo, uint32_t hi);
void imap_seqset_add(struct imap_seqset *set, uint32_t n);
/* Append every range of src (for "$" and for ORing sets). */
void imap_seqset_merge(struct imap_seqset *set,
		       const struct imap_seqset *src);

/* Replace '*' by max (the message count, or the highest UID in use) and
 * normalise. With max 0 (an empty mailbox) a range with '*' means only
 * its other end ("5:*" is 5, "*" alone is dropped). */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t max);
/* Sort and merge ranges. '*' must be resolved. */
void imap_seqset_normalise(struct imap_seqset *set);

/* For normalised sets: */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* How many numbers the set holds. */
uint64_t imap_seqset_count(const struct imap_seqset *set);
/* The largest number, 0 for an empty set. */
uint32_t imap_seqset_max(const struct imap_seqset *set);

/* Iterate over a resolved set in range order:
 *	struct imap_seqset_iter it;
 *	imap_seqset_iter_init(&it, set);
 *	while (imap_seqset_iter_next(&it, &n)) ... */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	unsigned int i;
	uint64_t next;
};
void imap_seqset_iter_init(struct imap_seqset_iter *it,
			   const struct imap_seqset *set);
bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r);

/* Append the set in its compact form ("1:3,7,9:*"), ranges in their
 * order; an empty set appends nothing. */
void imap_seqset_format(const struct imap_seqset *set, struct str *out);

#endif
