/*
 * store_msgs: where a folder's messages and their file names live
 * (store_int.h).
 *
 * Opening a big folder must not cost a copy of every message: the
 * snapshot's records have the layout of struct store_msg, so f->msgs
 * can be the records themselves, mapped MAP_PRIVATE at the start of a
 * reservation of address space (store_snapshot.c). Pages are read from
 * the page cache when first touched; a change from the log (flags, an
 * expunge) copies only the pages it writes; appends go into the
 * reservation. Only when the reservation is full is the array copied
 * to the heap, once, and grown there by doubling.
 *
 * Names: a message from the snapshot names its file by an offset in the
 * snapshot's names area (NUL-terminated names, kept mapped); a name
 * given since (delivery, rename, scan) is a heap string in f->xnames,
 * the message's name_ref its index with STORE_NAME_HEAP set. Freed
 * slots are reused.
 *
 * Changed since: the snapshot lists its messages' positions in modseq
 * order, and every message added or changed after the snapshot was
 * loaded is noted (f->touched), so the messages with a modseq above a
 * client's (QRESYNC, CHANGEDSINCE) are a binary search and the notes,
 * not a walk over the folder.
 *
 * SECURITY: runs as the mailbox owner. A name offset comes from a file
 * the owner may have edited: store_msg_name() checks it on every use
 * (in the area, not empty, not "." or ".."; the loader checked that the
 * area holds no '/' and ends with NUL), and answers an impossible name
 * for a bad one, whose file is then simply missing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"
#include "msg.h"
#include "store_int.h"

/* Never a Maildir file name (starts with '.'): a bad reference's file
 * is missing, and the next scan expunges the record. */
#define STORE_NAME_BAD ".correo-bad-name"

const char *store_msg_name(const struct store_folder *f,
			   const struct store_msg *m)
{
	uint32_t ref = m->name_ref;
	const char *s;

	if (ref & STORE_NAME_HEAP) {
		ref &= ~STORE_NAME_HEAP;
		if (ref < f->nxnames && f->xnames[ref] != NULL)
			return f->xnames[ref];
		return STORE_NAME_BAD;
	}
	if (f->snap_names == NULL || ref >= f->snap_names_len)
		return STORE_NAME_BAD;
	s = f->snap_names + ref;
	if (s[0] == '\0' || (s[0] == '.' && (s[1] == '\0' ||
					     (s[1] == '.' && s[2] == '\0'))))
		return STORE_NAME_BAD;
	return s;
}

void store_msg_drop_name(struct store_folder *f, struct store_msg *m)
{
	uint32_t ref = m->name_ref;

	if (!(ref & STORE_NAME_HEAP))
		return;
	ref &= ~STORE_NAME_HEAP;
	if (ref >= f->nxnames || f->xnames[ref] == NULL)
		return;
	free(f->xnames[ref]);
	f->xnames[ref] = NULL;
	f->xfree = mem_array_realloc(f->xfree, (size_t)f->nxfree + 1,
				     sizeof(*f->xfree));
	f->xfree[f->nxfree++] = ref;
	m->name_ref = 0;
}

void store_msg_set_name(struct store_folder *f, struct store_msg *m,
			const char *name)
{
	uint32_t slot;

	store_msg_drop_name(f, m);
	if (f->nxfree > 0) {
		slot = f->xfree[--f->nxfree];
	} else {
		if (f->nxnames == f->xnames_cap) {
			if (f->xnames_cap >= STORE_NAME_HEAP / 2)
				msg_panic("%s: too many names", f->dir);
			f->xnames_cap = f->xnames_cap == 0 ? 16 :
					f->xnames_cap * 2;
			f->xnames = mem_array_realloc(f->xnames, f->xnames_cap,
						      sizeof(*f->xnames));
		}
		slot = f->nxnames++;
	}
	f->xnames[slot] = mem_strdup(name);
	m->name_ref = slot | STORE_NAME_HEAP;
}

void store_msgs_reserve(struct store_folder *f, size_t n)
{
	struct store_msg *heap;
	size_t cap;

	if (n <= f->cap)
		return;
	cap = f->cap < 64 ? 64 : f->cap * 2;
	if (cap < n)
		cap = n;
	if (f->msgs_map == NULL) {
		f->msgs = mem_array_realloc(f->msgs, cap, sizeof(*f->msgs));
	} else {
		/* The reservation is full: to the heap, once. */
		heap = mem_array(cap, sizeof(*heap));
		memcpy(heap, f->msgs, f->count * sizeof(*heap));
		(void)munmap(f->msgs_map, f->msgs_map_len);
		f->msgs_map = NULL;
		f->msgs_map_len = 0;
		f->msgs = heap;
	}
	f->cap = cap;
}

void store_msgs_release(struct store_folder *f)
{
	if (f->msgs_map != NULL)
		(void)munmap(f->msgs_map, f->msgs_map_len);
	else
		mem_free(f->msgs);
	f->msgs = NULL;
	f->msgs_map = NULL;
	f->msgs_map_len = 0;
	f->count = f->cap = 0;
	if (f->snap != NULL && f->snap_heap)
		free(f->snap);
	else if (f->snap != NULL)
		(void)munmap(f->snap, f->snap_len);
	f->snap = NULL;
	f->snap_len = 0;
	f->snap_heap = false;
	f->snap_names = NULL;
	f->snap_names_len = 0;
	for (uint32_t i = 0; i < f->nxnames; i++)
		free(f->xnames[i]);
	mem_free(f->xnames);
	mem_free(f->xfree);
	f->nxnames = f->xnames_cap = f->nxfree = 0;
	f->snap_msgs = NULL;
	f->snap_bymodseq = NULL;
	f->snap_count = 0;
	mem_free(f->touched);
	f->ntouched = f->touched_cap = 0;
	f->touched_all = false;
	f->unclaimed = 0;
}

/* Past this many, store_changed_since walks every message instead. */
#define STORE_TOUCHED_MAX	65536

void store_msgs_touch(struct store_folder *f, uint32_t uid)
{
	if (f->touched_all || f->snap_bymodseq == NULL)
		return;
	if (f->ntouched == STORE_TOUCHED_MAX) {
		mem_free(f->touched);
		f->ntouched = f->touched_cap = 0;
		f->touched_all = true;
		return;
	}
	if (f->ntouched == f->touched_cap) {
		f->touched_cap = f->touched_cap == 0 ? 64 : f->touched_cap * 2;
		f->touched = mem_array_realloc(f->touched, f->touched_cap,
					       sizeof(*f->touched));
	}
	f->touched[f->ntouched++] = uid;
}

static int store_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The first position in the snapshot's modseq order whose message's
 * modseq is above modseq; false if the order is damaged. */
static bool store_snap_above(const struct store_folder *f, uint64_t modseq,
			     size_t *at_r)
{
	size_t lo = 0, hi = f->snap_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t pos = f->snap_bymodseq[mid];

		if (pos >= f->snap_count)
			return false;
		if (f->snap_msgs[pos].modseq <= modseq)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at_r = lo;
	return true;
}

size_t store_changed_since(const struct store_folder *f, uint64_t modseq,
			   uint32_t **uids_r)
{
	uint32_t *uids;
	size_t n = 0, at, keep = 0;

	if (f->snap_bymodseq == NULL || f->touched_all ||
	    !store_snap_above(f, modseq, &at)) {
		/* No index: every message. */
		uids = mem_array(f->count + 1, sizeof(*uids));
		for (size_t i = 0; i < f->count; i++)
			if (f->msgs[i].modseq > modseq)
				uids[n++] = f->msgs[i].uid;
		*uids_r = uids;
		return n;
	}
	uids = mem_array(f->snap_count - at + f->ntouched + 1,
			 sizeof(*uids));
	for (size_t i = at; i < f->snap_count; i++) {
		uint32_t pos = f->snap_bymodseq[i];

		if (pos < f->snap_count)
			uids[n++] = f->snap_msgs[pos].uid;
	}
	if (f->ntouched > 0)
		memcpy(uids + n, f->touched, f->ntouched * sizeof(*uids));
	n += f->ntouched;
	qsort(uids, n, sizeof(*uids), store_uid_cmp);
	/* Once each, still there, changed after modseq as they are now. */
	for (size_t i = 0; i < n; i++) {
		const struct store_msg *m;

		if (keep > 0 && uids[keep - 1] == uids[i])
			continue;
		m = store_lookup(f, uids[i], NULL);
		if (m != NULL && m->modseq > modseq)
			uids[keep++] = uids[i];
	}
	*uids_r = uids;
	return keep;
}

void store_msgs_move(struct store_folder *to, struct store_folder *f)
{
	memset(to, 0, sizeof(*to));
	to->msgs = f->msgs;
	to->count = f->count;
	to->cap = f->cap;
	to->msgs_map = f->msgs_map;
	to->msgs_map_len = f->msgs_map_len;
	to->snap = f->snap;
	to->snap_len = f->snap_len;
	to->snap_heap = f->snap_heap;
	to->snap_names = f->snap_names;
	to->snap_names_len = f->snap_names_len;
	to->xnames = f->xnames;
	to->nxnames = f->nxnames;
	to->xnames_cap = f->xnames_cap;
	to->xfree = f->xfree;
	to->nxfree = f->nxfree;
	to->snap_msgs = f->snap_msgs;
	to->snap_bymodseq = f->snap_bymodseq;
	to->snap_count = f->snap_count;
	to->touched = f->touched;
	to->ntouched = f->ntouched;
	to->touched_cap = f->touched_cap;
	to->touched_all = f->touched_all;
	to->unclaimed = f->unclaimed;
	f->snap_msgs = NULL;
	f->snap_bymodseq = NULL;
	f->snap_count = 0;
	f->touched = NULL;
	f->ntouched = f->touched_cap = 0;
	f->touched_all = false;
	f->unclaimed = 0;
	f->msgs = NULL;
	f->msgs_map = f->snap = NULL;
	f->msgs_map_len = f->snap_len = 0;
	f->count = f->cap = 0;
	f->snap_heap = false;
	f->snap_names = NULL;
	f->snap_names_len = 0;
	f->xnames = NULL;
	f->xfree = NULL;
	f->nxnames = f->xnames_cap = f->nxfree = 0;
}
