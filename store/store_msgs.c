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
