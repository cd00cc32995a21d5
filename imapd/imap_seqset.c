/*
 * imap_seqset: sequence sets (imap_seqset.h).
 *
 * A set is an array of ranges. Parsing is one left-to-right pass; the
 * range limit is checked before each range is added, so a hostile
 * "1,2,3,..." of a megabyte costs no more than max_ranges entries.
 * Normalising sorts (qsort, O(n log n)) and merges in one pass; membership
 * is a binary search.
 *
 * SECURITY: the text is an untrusted client argument. Numbers are parsed
 * with imap_parse_nz_number(), so 0 and values at or above 2^32 are
 * refused, never wrapped (a wrap would turn "4294967297" into message 1).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"

#include "imap_parse.h"
#include "imap_seqset.h"

void imap_seqset_clear(struct imap_seqset *set)
{
	set->count = 0;
	set->star = false;
	set->dollar = false;
}

void imap_seqset_release(struct imap_seqset *set)
{
	mem_free(set->ranges);
	set->count = set->cap = 0;
	set->star = set->dollar = false;
}

static void imap_seqset_push(struct imap_seqset *set, uint32_t lo,
			     uint32_t hi)
{
	if (set->count == set->cap) {
		set->cap = set->cap == 0 ? 8 : set->cap * 2;
		set->ranges = mem_array_realloc(set->ranges, set->cap,
						sizeof(*set->ranges));
	}
	set->ranges[set->count].lo = lo;
	set->ranges[set->count].hi = hi;
	set->count++;
}

void imap_seqset_add_range(struct imap_seqset *set, uint32_t lo, uint32_t hi)
{
	struct imap_seq_range *last;

	if (lo == 0 || hi == 0) {
		set->star = true;
		if (lo == 0) {
			lo = hi;
			hi = 0;
		}
	} else if (lo > hi) {
		uint32_t t = lo;

		lo = hi;
		hi = t;
	}
	last = set->count > 0 ? &set->ranges[set->count - 1] : NULL;
	if (last != NULL && last->hi != 0 && hi != 0 &&
	    last->hi != UINT32_MAX && lo == last->hi + 1) {
		last->hi = hi;
		return;
	}
	imap_seqset_push(set, lo, hi);
}

void imap_seqset_add(struct imap_seqset *set, uint32_t n)
{
	imap_seqset_add_range(set, n, n);
}

void imap_seqset_merge(struct imap_seqset *set,
		       const struct imap_seqset *src)
{
	unsigned int i;

	for (i = 0; i < src->count; i++)
		imap_seqset_add_range(set, src->ranges[i].lo,
				      src->ranges[i].hi);
}

/* One seq-number: digits or '*'. Advances *sp. */
static bool imap_seqset_number(const char **sp, uint32_t *n_r)
{
	const char *s = *sp, *start;
	char buf[16];

	if (*s == '*') {
		*n_r = 0;
		*sp = s + 1;
		return true;
	}
	if (*s < '0' || *s > '9')
		return false;
	while (*s == '0')
		s++;
	for (start = s; *s >= '0' && *s <= '9'; s++)
		;
	/* No digits but zeros: 0, which is not an nz-number. */
	if (s == start || (size_t)(s - start) >= sizeof(buf))
		return false;
	memcpy(buf, start, (size_t)(s - start));
	buf[s - start] = '\0';
	if (!imap_parse_nz_number(buf, n_r))
		return false;
	*sp = s;
	return true;
}

bool imap_seqset_parse(struct imap_seqset *set, const char *text,
		       unsigned int flags, unsigned int max_ranges,
		       const char **error_r)
{
	const char *s = text;
	uint32_t lo, hi;

	imap_seqset_clear(set);
	if (max_ranges == 0)
		max_ranges = IMAP_SEQSET_RANGES_MAX;
	if (*s == '\0') {
		*error_r = "Empty sequence set";
		return false;
	}
	for (;;) {
		if (*s == '$' && (flags & IMAP_SEQSET_ALLOW_DOLLAR) != 0) {
			set->dollar = true;
			s++;
		} else {
			if (!imap_seqset_number(&s, &lo))
				goto bad;
			hi = lo;
			if (*s == ':') {
				s++;
				if (!imap_seqset_number(&s, &hi))
					goto bad;
			}
			if (set->count >= max_ranges) {
				*error_r = "Too many ranges in sequence set";
				return false;
			}
			imap_seqset_add_range(set, lo, hi);
		}
		if (*s == '\0')
			return true;
		if (*s++ != ',')
			goto bad;
	}
bad:
	*error_r = "Invalid sequence set";
	return false;
}

static int imap_seqset_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

void imap_seqset_normalise(struct imap_seqset *set)
{
	unsigned int i, out = 0;

	if (set->star)
		msg_panic("imap_seqset_normalise: '*' not resolved");
	if (set->count < 2)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges),
	      imap_seqset_cmp);
	for (i = 1; i < set->count; i++) {
		struct imap_seq_range *last = &set->ranges[out];
		const struct imap_seq_range *r = &set->ranges[i];

		if ((uint64_t)r->lo <= (uint64_t)last->hi + 1) {
			if (r->hi > last->hi)
				last->hi = r->hi;
		} else {
			set->ranges[++out] = *r;
		}
	}
	set->count = out + 1;
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t max)
{
	unsigned int i, out = 0;

	for (i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];

		if (r.lo == 0 && r.hi == 0) {
			if (max == 0)
				continue;
			r.lo = r.hi = max;
		} else if (r.hi == 0) {
			r.hi = max != 0 ? max : r.lo;
			if (r.lo > r.hi) {
				r.hi = r.lo;
				r.lo = max;
			}
		}
		set->ranges[out++] = r;
	}
	set->count = out;
	set->star = false;
	imap_seqset_normalise(set);
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned int lo = 0, hi = set->count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct imap_seq_range *r = &set->ranges[mid];

		if (n < r->lo)
			hi = mid;
		else if (n > r->hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return n;
}

uint32_t imap_seqset_max(const struct imap_seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].hi;
}

void imap_seqset_iter_init(struct imap_seqset_iter *it,
			   const struct imap_seqset *set)
{
	it->set = set;
	it->i = 0;
	it->next = set->count > 0 ? set->ranges[0].lo : 0;
}

bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r)
{
	const struct imap_seqset *set = it->set;

	if (it->i >= set->count)
		return false;
	*n_r = (uint32_t)it->next;
	if (it->next >= set->ranges[it->i].hi) {
		it->i++;
		if (it->i < set->count)
			it->next = set->ranges[it->i].lo;
	} else {
		it->next++;
	}
	return true;
}

static void imap_seqset_put(struct str *out, uint32_t n)
{
	if (n == 0)
		str_append_c(out, '*');
	else
		str_printf(out, "%u", n);
}

void imap_seqset_format(const struct imap_seqset *set, struct str *out)
{
	unsigned int i;

	for (i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (i > 0)
			str_append_c(out, ',');
		imap_seqset_put(out, r->lo);
		if (r->hi != r->lo) {
			str_append_c(out, ':');
			imap_seqset_put(out, r->hi);
		}
	}
}
