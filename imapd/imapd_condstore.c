/*
 * imapd_condstore: CONDSTORE and QRESYNC (RFC 7162) in the IMAP mail
 * process (imapd.h): enabling them, the HIGHESTMODSEQ the client may
 * cache, VANISHED (EARLIER) from the store's expunged-UID record, and
 * the resynchronisation of SELECT/EXAMINE (QRESYNC ...).
 *
 * Every message's modseq is the store's (store.h): deliveries, flag
 * changes by any session or by POP3, and expunges each take the next
 * modseq of the folder under its index lock, so they are ordered even
 * when nobody was connected. The HIGHESTMODSEQ a session gives out is
 * the folder's as of the last time the session reported every change
 * (s->view_modseq), never one past a change the client has not heard
 * of (RFC 7162 erratum 1810: an EXPUNGE held back during FETCH must not
 * be skipped by a client that caches the HIGHESTMODSEQ).
 *
 * When the store's record of expunges no longer reaches back to the
 * client's modseq (it is bounded, store_vanished.c), VANISHED (EARLIER)
 * names every UID the client may know that is not in the folder
 * (RFC 7162 3.2.5.2): the known UIDs it gave, or 1 up to UIDNEXT, less
 * those below the highest pair of its sequence match data that still
 * holds (no message below a UID whose sequence number is unchanged can
 * have been expunged, since UIDs only grow).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imapd.h"
#include "mem.h"

void imapd_condstore_enable(struct imapd *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	/* RFC 7162 3.1: the first CONDSTORE-enabling command in a
	 * selected mailbox tells the HIGHESTMODSEQ. */
	if (s->folder != NULL)
		imapd_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
			     (unsigned long long)imapd_modseq(s->view_modseq));
}

void imapd_fetch_modseq_flags(struct imapd *s, size_t i)
{
	struct imapd_view entry, *v = &entry;
	struct str flags = STR_INIT;

	imapd_view_entry(s, i, &entry);
	imapd_format_flags(s, v, &flags);
	imapd_printf(s, "* %zu FETCH (", i + 1);
	/* RFC 9051 and RFC 7162 3.2.4: unsolicited FETCH has the UID. */
	if (s->rev2 || s->qresync)
		imapd_printf(s, "UID %u ", v->uid);
	imapd_printf(s, "FLAGS %s", str_c(&flags));
	if (s->condstore)
		imapd_printf(s, " MODSEQ (%llu)",
			     (unsigned long long)imapd_modseq(v->modseq));
	imapd_printf(s, ")\r\n");
	str_release(&flags);
}

static void imapd_vanished_add(void *ctx, uint32_t lo, uint32_t hi)
{
	imap_seqset_add_range(ctx, lo, hi);
}

/* Every UID of wanted (normalised) not in the folder and not in the
 * view, into out. */
static void imapd_missing_uids(struct imapd *s,
			       const struct imap_seqset *wanted,
			       struct imap_seqset *out)
{
	struct imap_seqset present = IMAP_SEQSET_INIT;
	const struct store_folder *f = s->folder;

	for (size_t i = 0; i < f->count; i++)
		imap_seqset_add(&present, f->msgs[i].uid);
	for (size_t i = 0; i < s->nview; i++)
		imap_seqset_add(&present, imapd_view_uid(s, i));
	imap_seqset_normalise(&present);
	for (unsigned r = 0; r < wanted->count; r++) {
		uint64_t lo = wanted->ranges[r].lo, hi = wanted->ranges[r].hi;

		/* The gaps of present within [lo, hi]. */
		for (unsigned p = 0; p < present.count && lo <= hi; p++) {
			const struct imap_seq_range *pr = &present.ranges[p];

			if (pr->hi < lo)
				continue;
			if (pr->lo > hi)
				break;
			if (pr->lo > lo)
				imap_seqset_add_range(out, (uint32_t)lo,
						      pr->lo - 1);
			lo = (uint64_t)pr->hi + 1;
		}
		if (lo <= hi)
			imap_seqset_add_range(out, (uint32_t)lo, (uint32_t)hi);
	}
	imap_seqset_release(&present);
}

/* The ranges of a and b (normalised) in both, without the UIDs still in
 * the session's view (their expunge is reported as VANISHED when the
 * session may), into out: linear in ranges and in the view's messages
 * inside them (found by binary search), whatever the ranges' sizes. */
static void imapd_intersect_gone(struct imapd *s, const struct imap_seqset *a,
				 const struct imap_seqset *b,
				 struct imap_seqset *out)
{
	for (unsigned i = 0, j = 0; i < a->count && j < b->count;) {
		uint64_t lo = a->ranges[i].lo > b->ranges[j].lo ?
			a->ranges[i].lo : b->ranges[j].lo;
		uint64_t hi = a->ranges[i].hi < b->ranges[j].hi ?
			a->ranges[i].hi : b->ranges[j].hi;
		size_t v = lo <= hi ? imapd_view_lower(s, (uint32_t)lo) : 0;

		/* The view's UIDs in [lo, hi] cut the range. */
		for (; lo <= hi && v < s->nview &&
		       imapd_view_uid(s, v) <= hi; v++) {
			uint32_t cut = imapd_view_uid(s, v);

			if (cut > lo)
				imap_seqset_add_range(out, (uint32_t)lo,
						      cut - 1);
			lo = (uint64_t)cut + 1;
		}
		if (lo <= hi)
			imap_seqset_add_range(out, (uint32_t)lo, (uint32_t)hi);
		if (a->ranges[i].hi < b->ranges[j].hi)
			i++;
		else
			j++;
	}
}

/* The highest UID of the client's sequence match data whose sequence
 * number still maps to it in the view, or 0. */
static uint32_t imapd_match_floor(struct imapd *s,
				  const struct imap_seqset *seqs,
				  const struct imap_seqset *uids)
{
	struct imap_seqset_iter si, ui;
	uint32_t seq, uid, floor = 0;

	imap_seqset_iter_init(&si, seqs);
	imap_seqset_iter_init(&ui, uids);
	while (imap_seqset_iter_next(&si, &seq) &&
	       imap_seqset_iter_next(&ui, &uid))
		if (seq <= s->nview && imapd_view_uid(s, seq - 1) == uid)
			floor = uid;
	return floor;
}

void imapd_vanished_earlier(struct imapd *s, const struct imap_seqset *uids,
			    uint64_t modseq, const struct imap_seqset *seqs,
			    const struct imap_seqset *match_uids)
{
	struct imap_seqset recorded = IMAP_SEQSET_INIT;
	struct imap_seqset out = IMAP_SEQSET_INIT;
	struct imap_seqset wanted = IMAP_SEQSET_INIT;
	struct str text = STR_INIT;
	uint32_t top = s->folder->uidnext > 1 ? s->folder->uidnext - 1 : 0;

	/* Only UIDs that were ever handed out. */
	for (unsigned r = 0; r < uids->count && uids->ranges[r].lo <= top;
	     r++)
		imap_seqset_add_range(&wanted, uids->ranges[r].lo,
				      uids->ranges[r].hi < top ?
				      uids->ranges[r].hi : top);
	if (store_vanished_since(s->folder, modseq, imapd_vanished_add,
				 &recorded)) {
		imap_seqset_normalise(&recorded);
		/* Recorded ones the client asked about, not still in
		 * this session's view (those come as VANISHED later). */
		imapd_intersect_gone(s, &recorded, &wanted, &out);
	} else {
		uint32_t floor = seqs == NULL ? 0 :
			imapd_match_floor(s, seqs, match_uids);
		struct imap_seqset above = IMAP_SEQSET_INIT;

		for (unsigned r = 0; r < wanted.count; r++)
			if (wanted.ranges[r].hi > floor)
				imap_seqset_add_range(&above,
					wanted.ranges[r].lo > floor ?
					wanted.ranges[r].lo : floor + 1,
					wanted.ranges[r].hi);
		imapd_missing_uids(s, &above, &out);
		imap_seqset_release(&above);
	}
	imap_seqset_normalise(&out);
	if (out.count > 0) {
		imap_seqset_format(&out, &text);
		imapd_printf(s, "* VANISHED (EARLIER) %s\r\n", str_c(&text));
	}
	imap_seqset_release(&recorded);
	imap_seqset_release(&out);
	imap_seqset_release(&wanted);
	str_release(&text);
}

void imapd_qresync_select(struct imapd *s,
			  const struct imap_select_params *p)
{
	struct imap_seqset all = IMAP_SEQSET_INIT;
	const struct imap_seqset *known = &p->known_uids;

	if (p->uidvalidity != s->folder->uidvalidity)
		return;		/* the client starts over */
	if (!p->has_known_uids) {
		imap_seqset_add_range(&all, 1, UINT32_MAX);
		known = &all;
	}
	imapd_vanished_earlier(s, known, p->modseq,
			       p->has_match ? &p->match_seqs : NULL,
			       p->has_match ? &p->match_uids : NULL);
	if (s->view_shared) {
		/* The view is the store's array: the store finds what
		 * changed (store_changed_since), not a walk over the
		 * whole folder. */
		uint32_t *uids;
		size_t n = store_changed_since(s->folder, p->modseq, &uids);

		for (size_t i = 0; i < n; i++) {
			long at = imapd_view_find(s, uids[i]);

			if (at >= 0 && (!p->has_known_uids ||
					imap_seqset_contains(known, uids[i])))
				imapd_fetch_modseq_flags(s, (size_t)at);
		}
		mem_free(uids);
	} else {
		for (size_t i = 0; i < s->nview; i++)
			if (s->view[i].modseq > p->modseq &&
			    (!p->has_known_uids ||
			     imap_seqset_contains(known, s->view[i].uid)))
				imapd_fetch_modseq_flags(s, i);
	}
	imap_seqset_release(&all);
}
