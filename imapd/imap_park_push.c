/*
 * imap_park_push: new mail for a parked IDLE, told by the park process
 * itself (imap_park_push.h, imapd_parkd.c).
 *
 * Waking a parked session costs a fork, an exec and opening the folder
 * in a fresh imapd; a message to many users at once wakes every one of
 * their IDLE connections together, and on a small machine they queue.
 * Most wake-ups are for new mail only, and what an imapd would say then
 * is "* N EXISTS" (and "* N RECENT" before IMAP4rev2), which needs
 * nothing the park does not have: the session's view (its UIDs, from
 * the state) and the folder's index. Everything else (an expunge, a
 * flag change of a message the client knows, a new keyword, another
 * UIDVALIDITY) still resumes an imapd, which reports it in imapd_sync's
 * order.
 *
 * The view was current at the state's modseq when the session parked,
 * and UIDs only grow, so the folder's messages with a UID up to the
 * view's highest are exactly the view unless some were expunged: their
 * number tells. New messages are those above it.
 *
 * SECURITY: runs in the park process, as the mailbox owner, on a state
 * from the owner's own session (parsed strictly) and the owner's index.
 */
#include "config.h"

#include <stdlib.h>

#include "imap_park_push.h"
#include "mem.h"
#include "msg.h"

/* Messages of f with a UID up to uid (f->msgs is by increasing UID). */
static size_t park_push_count_upto(const struct store_folder *f,
				   uint32_t uid)
{
	size_t lo = 0, hi = f->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->msgs[mid].uid <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool park_push_has(const uint32_t *uids, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++)
		if (uids[i] == uid)
			return true;
	return false;
}

enum imap_park_push imap_park_push(struct store_folder *f,
				   struct imap_park_state *st,
				   struct str *out)
{
	bool readonly = (st->flags & IMAP_PARK_READONLY) != 0;
	uint32_t last = imap_seqset_max(&st->uids), *claimed = NULL;
	uint32_t *changed = NULL;
	uint64_t known = imap_seqset_count(&st->uids);
	size_t upto, nchanged, nclaimed = 0;
	enum imap_park_push ret = IMAP_PARK_PUSH_RESUME;
	struct str error = STR_INIT;
	int n;

	if (st->idle_tag == NULL || st->mailbox == NULL ||
	    f->uidvalidity != st->uidvalidity)
		return IMAP_PARK_PUSH_RESUME;
	if (!readonly) {
		n = store_claim_new(f, &claimed, &error);
		if (n < 0) {
			msg_warn("%s: %s", f->dir, str_c(&error));
			str_release(&error);
			return IMAP_PARK_PUSH_RESUME;
		}
		nclaimed = (size_t)n;
	}
	upto = park_push_count_upto(f, last);
	if (upto != known || f->nkeywords != st->keywords)
		goto out;	/* expunged, or FLAGS to announce */
	nchanged = store_changed_since(f, st->modseq, &changed);
	for (size_t i = 0; i < nchanged; i++)
		if (changed[i] <= last)
			goto out;	/* a message the client knows */
	if (upto == f->count) {
		ret = IMAP_PARK_PUSH_NOTHING;
		goto out;
	}
	for (size_t i = upto; i < f->count; i++) {
		const struct store_msg *m = &f->msgs[i];

		imap_seqset_add(&st->uids, m->uid);
		if (readonly ? (m->in_new || (m->flags & STORE_F_RECENT)) :
		    park_push_has(claimed, nclaimed, m->uid))
			imap_seqset_add(&st->recent, m->uid);
	}
	imap_seqset_normalise(&st->uids);
	imap_seqset_normalise(&st->recent);
	st->modseq = f->highestmodseq;
	str_printf(out, "* %zu EXISTS\r\n", f->count);
	if (!(st->flags & IMAP_PARK_REV2))
		str_printf(out, "* %llu RECENT\r\n",
			   (unsigned long long)imap_seqset_count(&st->recent));
	ret = IMAP_PARK_PUSH_TOLD;
out:
	free(claimed);
	mem_free(changed);
	str_release(&error);
	return ret;
}
