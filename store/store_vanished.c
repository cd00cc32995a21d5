/*
 * store_vanished: the expunged-UID record of a folder (store.h), for
 * QRESYNC (RFC 7162 3.2.5.2, 3.2.10): which UIDs were expunged after a
 * given modseq.
 *
 * The log's E records (uid, modseq of the expunge) feed it while the log
 * lives; a compaction writes it into the snapshot as X records, ranges
 * of UIDs with the highest modseq of their expunges ("X M<modseq> U<lo>
 * C<count>"), so it survives compaction. Consecutive expunged UIDs merge
 * into one range that takes the newer modseq: a client that synced
 * between the two expunges may be told again of a UID it already saw
 * vanish, which RFC 7162 3.2.10 allows (clients ignore UIDs they do not
 * know), and expunging 1:100000 costs one record.
 *
 * The record is bounded: a snapshot keeps at most STORE_VANISHED_MAX
 * ranges, dropping the oldest ones. The "floor" (an X record without U)
 * is the highest modseq of an expunge that may have been dropped: a
 * question about changes since a modseq below the floor cannot be
 * answered exactly, and store_vanished_since() says so; the caller then
 * answers conservatively (every UID the client may know that no longer
 * exists). A rebuilt index starts with no record, a floor of 0 and a
 * new UIDVALIDITY, so clients start over. XXX: except when POP3's
 * former correo-uidlist gives the old UIDVALIDITY back: modseqs restart
 * too, and a client that synced before the rebuild may miss changes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "store_int.h"

static void store_vanished_push(struct store_vanished *v, uint32_t lo,
				uint32_t hi, uint64_t modseq)
{
	if (v->n == v->cap) {
		v->cap = v->cap == 0 ? 16 : v->cap * 2;
		v->ranges = mem_array_realloc(v->ranges, v->cap,
					      sizeof(*v->ranges));
	}
	v->ranges[v->n].lo = lo;
	v->ranges[v->n].hi = hi;
	v->ranges[v->n].modseq = modseq;
	v->n++;
}

void store_vanished_note(struct store_folder *f, uint32_t uid,
			 uint64_t modseq)
{
	struct store_vanished *v = &f->vanished;
	struct store_vanished_range *last = v->n > 0 ?
		&v->ranges[v->n - 1] : NULL;

	if (last != NULL && last->hi < UINT32_MAX && uid == last->hi + 1) {
		last->hi = uid;
		if (modseq > last->modseq)
			last->modseq = modseq;
		return;
	}
	if (last != NULL && last->lo > 1 && uid == last->lo - 1) {
		last->lo = uid;
		if (modseq > last->modseq)
			last->modseq = modseq;
		return;
	}
	store_vanished_push(v, uid, uid, modseq);
}

bool store_vanished_apply(struct store_folder *f,
			  const struct store_rec *rec)
{
	struct store_vanished *v = &f->vanished;

	if (!rec->has_m)
		return false;
	if (rec->uid == 0) {		/* the floor */
		if (rec->modseq > v->floor)
			v->floor = rec->modseq;
		return true;
	}
	if (!rec->has_c || rec->count == 0 ||
	    rec->count - 1 > (uint64_t)(UINT32_MAX - rec->uid))
		return false;
	store_vanished_push(v, rec->uid,
			    rec->uid + (uint32_t)(rec->count - 1),
			    rec->modseq);
	return true;
}

/* Drop the oldest ranges beyond max, raising the floor. */
static void store_vanished_trim(struct store_vanished *v, size_t max)
{
	size_t drop;

	if (v->n <= max)
		return;
	drop = v->n - max;
	for (size_t i = 0; i < drop; i++)
		if (v->ranges[i].modseq > v->floor)
			v->floor = v->ranges[i].modseq;
	memmove(v->ranges, v->ranges + drop, max * sizeof(*v->ranges));
	v->n = max;
}

void store_vanished_bound(struct store_folder *f)
{
	store_vanished_trim(&f->vanished, STORE_VANISHED_MAX);
}

void store_vanished_write(struct store_folder *f, struct str *out)
{
	struct store_vanished *v = &f->vanished;
	struct store_rec rec = { .kind = 'X', .has_m = true };

	store_vanished_trim(v, STORE_VANISHED_MAX);
	if (v->floor > 0) {
		rec.modseq = v->floor;
		store_rec_format(&rec, out);
	}
	for (size_t i = 0; i < v->n; i++) {
		store_rec_reset(&rec);
		rec.kind = 'X';
		rec.has_m = rec.has_c = true;
		rec.modseq = v->ranges[i].modseq;
		rec.uid = v->ranges[i].lo;
		rec.count = (uint64_t)v->ranges[i].hi - v->ranges[i].lo + 1;
		store_rec_format(&rec, out);
	}
	str_release(&rec.name);
}

void store_vanished_clear(struct store_folder *f)
{
	mem_free(f->vanished.ranges);
	memset(&f->vanished, 0, sizeof(f->vanished));
}

bool store_vanished_since(const struct store_folder *f, uint64_t modseq,
			  store_vanished_fn *fn, void *ctx)
{
	const struct store_vanished *v = &f->vanished;

	if (modseq < v->floor)
		return false;
	for (size_t i = 0; i < v->n; i++)
		if (v->ranges[i].modseq > modseq)
			fn(ctx, v->ranges[i].lo, v->ranges[i].hi);
	return true;
}
