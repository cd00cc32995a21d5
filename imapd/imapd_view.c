/*
 * imapd_view: the session's view of the selected mailbox while it is
 * the store's own array (imapd.h).
 *
 * A SELECT of a 100,000-message folder used to copy every message into
 * the session's view (3 MB) and compare every entry with the store
 * after every command. Until the folder changes, though, the view *is*
 * the store's array: message i of the view is f->msgs[i], with the
 * flags, keywords and modseq the store has, nothing expunged and
 * nothing to report. So SELECT leaves the view "shared": s->view is
 * unused, s->nview is the count, and the few commands that need no
 * view (NOOP, IDLE, LOGOUT, LIST, STATUS, ...) and SELECT's QRESYNC
 * answer read the store directly. The view is made (materialized) the
 * first time something else needs it: before any other command runs,
 * or when a refresh brought changes. In the second case the store has
 * already applied them, so the view is rebuilt as the client knew it
 * from the store's change notes (store_change: the flags, keywords and
 * modseq before each change, and the expunged UIDs), and the ordinary
 * comparison (imapd_mailbox.c) then reports the differences as before.
 *
 * SECURITY: runs as the mailbox owner; nothing here reads client input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "mem.h"
#include "msg.h"

static bool imapd_uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Whether the client was told m is \Recent (shared view). */
static bool imapd_shared_recent(const struct imapd *s,
				const struct store_msg *m)
{
	if (s->readonly)
		return m->in_new || (m->flags & STORE_F_RECENT);
	return imapd_uid_in(s->recent_uids, s->nrecent, m->uid);
}

void imapd_view_share(struct imapd *s)
{
	const struct store_folder *f = s->folder;

	mem_free(s->view);
	s->capview = 0;
	s->view_shared = true;
	s->nview = f->count;
	s->view_top = f->count > 0 ? f->msgs[f->count - 1].uid : 0;
}

void imapd_view_entry(const struct imapd *s, size_t i,
		      struct imapd_view *v_r)
{
	const struct store_msg *m;

	if (!s->view_shared) {
		*v_r = s->view[i];
		return;
	}
	m = &s->folder->msgs[i];
	memset(v_r, 0, sizeof(*v_r));
	v_r->uid = m->uid;
	v_r->flags = m->flags & STORE_F_ALL;
	v_r->keywords = m->keywords;
	v_r->modseq = m->modseq;
	v_r->recent = imapd_shared_recent(s, m);
}

size_t imapd_view_lower(const struct imapd *s, uint32_t uid)
{
	size_t lo = 0, hi = s->nview;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (imapd_view_uid(s, mid) < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void imapd_view_add_recent(struct imapd *s, uint32_t uid)
{
	/* UIDs are claimed in increasing order; keep the list sorted
	 * anyway. */
	size_t at = s->nrecent;

	if (imapd_uid_in(s->recent_uids, s->nrecent, uid))
		return;
	if (s->nrecent == s->recent_cap) {
		s->recent_cap = s->recent_cap == 0 ? 64 : s->recent_cap * 2;
		s->recent_uids = mem_array_realloc(s->recent_uids,
						   s->recent_cap,
						   sizeof(*s->recent_uids));
	}
	while (at > 0 && s->recent_uids[at - 1] > uid) {
		s->recent_uids[at] = s->recent_uids[at - 1];
		at--;
	}
	s->recent_uids[at] = uid;
	s->nrecent++;
}

unsigned imapd_view_recent_count(const struct imapd *s)
{
	unsigned n = 0;

	if (s->view_shared && !s->readonly)
		return (unsigned)s->nrecent;
	for (size_t i = 0; i < s->nview; i++) {
		struct imapd_view v;

		imapd_view_entry(s, i, &v);
		n += v.recent;
	}
	return n;
}

static int imapd_change_cmp(const void *a, const void *b)
{
	const struct store_change *x = *(const struct store_change *const *)a;
	const struct store_change *y = *(const struct store_change *const *)b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

void imapd_view_materialize(struct imapd *s)
{
	const struct store_folder *f = s->folder;
	const struct store_change **gone;
	size_t ngone = 0, nkept, n = 0, g = 0, lo = 0, hi = f->count;

	if (!s->view_shared)
		return;
	/* The store's messages the view had (UIDs up to view_top; any
	 * above were appended since, and come as EXISTS), and those it
	 * had that the store expunged since, by UID. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->msgs[mid].uid <= s->view_top)
			lo = mid + 1;
		else
			hi = mid;
	}
	nkept = lo;
	gone = mem_array(f->nchanges + 1, sizeof(*gone));
	for (size_t c = 0; c < f->nchanges; c++)
		if (f->changes[c].kind == 'E' &&
		    f->changes[c].uid <= s->view_top)
			gone[ngone++] = &f->changes[c];
	qsort(gone, ngone, sizeof(*gone), imapd_change_cmp);
	s->capview = nkept + ngone + 1;
	s->view = mem_array(s->capview, sizeof(*s->view));
	for (size_t i = 0; i < nkept || g < ngone;) {
		struct imapd_view *v = &s->view[n];

		if (g < ngone &&
		    (i == nkept || gone[g]->uid < f->msgs[i].uid)) {
			/* Expunged meanwhile: as it was (marked expunged
			 * by the update that reads the same notes). */
			v->uid = gone[g]->uid;
			v->flags = gone[g]->flags & STORE_F_ALL;
			v->keywords = gone[g]->keywords;
			v->modseq = gone[g]->modseq;
			v->recent = !s->readonly &&
				    imapd_uid_in(s->recent_uids, s->nrecent,
						 v->uid);
			g++;
			if (n > 0 && s->view[n - 1].uid == v->uid)
				continue;	/* expunged twice */
		} else {
			const struct store_msg *m = &f->msgs[i++];

			v->uid = m->uid;
			v->flags = m->flags & STORE_F_ALL;
			v->keywords = m->keywords;
			v->modseq = m->modseq;
			v->recent = imapd_shared_recent(s, m);
		}
		n++;
	}
	mem_free(gone);
	s->nview = n;
	s->view_shared = false;
	/* Flags changed since: what the client knew is the value before
	 * the first change (so walk the notes from the last). */
	for (size_t c = f->nchanges; c-- > 0;) {
		const struct store_change *ch = &f->changes[c];
		long at;

		if (ch->kind != 'F' && ch->kind != 'E')
			continue;
		at = imapd_view_find(s, ch->uid);
		if (at < 0)
			continue;
		s->view[at].flags = ch->flags & STORE_F_ALL;
		s->view[at].keywords = ch->keywords;
		s->view[at].modseq = ch->modseq;
	}
	mem_free(s->recent_uids);
	s->nrecent = s->recent_cap = 0;
}

void imapd_view_release(struct imapd *s)
{
	mem_free(s->view);
	s->nview = s->capview = 0;
	s->view_shared = false;
	s->view_top = 0;
	mem_free(s->recent_uids);
	s->nrecent = s->recent_cap = 0;
}

bool imapd_view_shared_sync(struct imapd *s)
{
	struct store_folder *f = s->folder;
	uint32_t announced = s->view_top, *claimed = NULL;
	size_t keep = 0;
	int nclaimed = 0;

	/* Only new messages: they join the shared view. Anything else
	 * must be compared with what the client knows. */
	for (size_t c = 0; c < f->nchanges; c++)
		if (f->changes[c].kind != 'A' || f->changes[c].uid <= announced)
			return false;
	if (f->nchanges == 0)
		return true;
	f->nchanges = 0;
	if (!s->readonly) {
		struct str error = STR_INIT;

		nclaimed = store_claim_new(f, &claimed, &error);
		if (nclaimed < 0)
			msg_warn("%s: %s", s->user, str_c(&error));
		for (int i = 0; i < nclaimed; i++)
			imapd_view_add_recent(s, claimed[i]);
		str_release(&error);
	}
	/* What the claim's catch-up brought besides its own changes and
	 * more new messages (or new ones gone again) stays to be
	 * compared. */
	for (size_t c = 0; c < f->nchanges; c++) {
		const struct store_change *ch = &f->changes[c];

		if (ch->kind == 'A' || (ch->kind == 'E' && ch->uid > announced))
			continue;
		if (ch->kind == 'F' &&
		    (ch->uid > announced ||
		     imapd_uid_in(claimed, (size_t)(nclaimed > 0 ? nclaimed :
						    0), ch->uid)))
			continue;
		f->changes[keep++] = *ch;
	}
	f->nchanges = keep;
	free(claimed);
	if (f->count > 0 && f->msgs[f->count - 1].uid > s->view_top) {
		s->view_top = f->msgs[f->count - 1].uid;
		s->exists_changed = true;
	}
	s->nview = f->count;
	return keep == 0;
}
