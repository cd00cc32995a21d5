/*
 * imapd_context: CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 section 4):
 * searches and sorts made with RETURN (UPDATE) stay live until
 * CANCELUPDATE or the mailbox is closed; when their result changes the
 * client is told with unsolicited "* ESEARCH (TAG "t") [UID] ADDTO
 * (position set)" and "REMOVEFROM (position set)". A search's results
 * are unsorted: position 0 and one set. A sort's carry one (position
 * number) pair per message, in the order the client applies them: a
 * REMOVEFROM names the position the message has at that moment (after
 * the removals before it), an ADDTO the position it will have. Sort
 * keys never change for a message (date, arrival, size, addresses,
 * subject), so the messages in both the old and the new result keep
 * their order: all removals, then all additions in the new order, turn
 * the old list into the new one.
 *
 * Each context keeps its own copy of the search (imap_search_dup), the
 * sort program, and its result as UIDs (ascending, or in sort order).
 * Two hooks in imapd_sync() keep them current: imapd_context_expunging()
 * before the EXPUNGE responses (a message that leaves the result because
 * it is expunged is named by the number the client still knows),
 * imapd_context_update() at the end (flags, new messages). The second
 * reruns the search, but only when a fingerprint of the view (UIDs,
 * flags, keywords, \Recent) changed.
 * XXX: a rerun evaluates every message again (a sort sorts again); body
 * keys read the files.
 *
 * SECURITY: runs as the mailbox owner; the number of live contexts is
 * bounded (IMAPD_CONTEXT_MAX), past it a search gets NOUPDATE.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "imap_search.h"
#include "imap_sort.h"
#include "imapd.h"
#include "mem.h"

struct imapd_context {
	char *tag;
	bool uid;
	struct imap_search *search;	/* owned copy, '*' unresolved */
	bool sorted;
	struct imap_sort_program program;	/* when sorted */
	uint32_t *uids;			/* the result: ascending, or sorted */
	size_t n;
	uint64_t sig;			/* view fingerprint at the result */
};

/* FNV-1a over what a search result can depend on that changes: the
 * modseq too, which moves when a flag is set and cleared again between
 * two syncs (the flags are as before, a MODSEQ criterion's answer is
 * not). */
static uint64_t imapd_context_sig(const struct imapd *s)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	for (size_t i = 0; i < s->nview; i++) {
		const struct imapd_view *v = &s->view[i];
		uint64_t words[4] = {
			((uint64_t)v->uid << 32) | v->flags, v->keywords,
			(uint64_t)v->recent | (uint64_t)v->expunged << 1,
			v->modseq,
		};

		p = (const unsigned char *)words;
		for (size_t j = 0; j < sizeof(words); j++)
			h = (h ^ p[j]) * 1099511628211ULL;
	}
	return h;
}

static int imapd_context_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The result now, as UIDs: ascending, or in the sort's order. */
static size_t imapd_context_run(struct imapd *s, struct imapd_context *c,
				uint32_t **uids_r)
{
	struct imap_search *run = imap_search_dup(c->search);
	uint32_t *idx;
	size_t n = c->sorted ? imapd_sort_run(s, &c->program, run, &idx) :
		   imapd_search_run(s, run, &idx);

	imap_search_free(&run);
	for (size_t i = 0; i < n; i++)
		idx[i] = s->view[idx[i]].uid;
	if (!c->sorted)
		qsort(idx, n, sizeof(*idx), imapd_context_cmp);
	*uids_r = idx;
	return n;
}

/* An ascending copy of list, for imapd_context_has. */
static uint32_t *imapd_context_sorted_copy(const uint32_t *list, size_t n)
{
	uint32_t *copy = mem_array(n + 1, sizeof(*copy));

	memcpy(copy, list, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), imapd_context_cmp);
	return copy;
}

static bool imapd_context_has(const uint32_t *sorted, size_t n, uint32_t uid)
{
	return bsearch(&uid, sorted, n, sizeof(*sorted),
		       imapd_context_cmp) != NULL;
}

static struct imapd_context *imapd_context_find(struct imapd *s,
						const char *tag)
{
	for (size_t i = 0; i < s->ncontexts; i++)
		if (strcmp(s->contexts[i].tag, tag) == 0)
			return &s->contexts[i];
	return NULL;
}

/* Sequence numbers and "$" in a live search name the messages they
 * named when it was made: as UIDs from now on, so a later SEARCH RETURN
 * (SAVE) or an expunge (which renumbers) does not turn the result into
 * one about other messages. '*' stays '*' (the last message then). */
static void imapd_context_fix_sets(struct imapd *s, struct imap_search_key *k)
{
	for (; k != NULL; k = k->next) {
		struct imap_seqset uids = IMAP_SEQSET_INIT;

		imapd_context_fix_sets(s, k->child);
		if (k->type != IMAP_SEARCH_SEQSET &&
		    !(k->type == IMAP_SEARCH_UID && k->set.dollar))
			continue;
		if (k->set.dollar) {
			imap_seqset_merge(&uids, &s->saved);
		} else {
			for (unsigned i = 0; i < k->set.count; i++) {
				uint32_t lo = k->set.ranges[i].lo;
				uint32_t hi = k->set.ranges[i].hi;

				if (lo == 0) {	/* "*:n" is "n:*" */
					lo = hi;
					hi = 0;
				} else if (lo > hi && hi != 0) {
					uint32_t t = lo;

					lo = hi;
					hi = t;
				}
				if (lo == 0 || (hi == 0 && lo > s->nview)) {
					/* "*", or "n:*" past the end: the
					 * last message only. */
					imap_seqset_add_range(&uids, 0, 0);
					continue;
				}
				if (hi == 0) {	/* "n:*" */
					imap_seqset_add_range(
						&uids, s->view[lo - 1].uid, 0);
					continue;
				}
				for (uint32_t q = lo; q <= hi && q <= s->nview;
				     q++)
					imap_seqset_add(&uids,
							s->view[q - 1].uid);
			}
		}
		imap_seqset_release(&k->set);
		k->set = uids;		/* add_range noted any '*' */
		k->type = IMAP_SEARCH_UID;
	}
}

bool imapd_context_add(struct imapd *s, const char *tag, bool uid,
		       const struct imap_search *search,
		       const struct imap_sort_program *sort)
{
	struct imapd_context *c;

	if (s->ncontexts >= IMAPD_CONTEXT_MAX ||
	    imapd_context_find(s, tag) != NULL) {
		imapd_printf(s, "* NO [NOUPDATE \"%s\"] No more updates "
			     "for this search.\r\n", tag);
		return false;
	}
	s->contexts = mem_array_realloc(s->contexts, s->ncontexts + 1,
					sizeof(*s->contexts));
	c = &s->contexts[s->ncontexts++];
	memset(c, 0, sizeof(*c));
	c->tag = mem_strdup(tag);
	c->uid = uid;
	c->search = imap_search_dup(search);
	imapd_context_fix_sets(s, c->search->root);
	if (sort != NULL) {
		c->sorted = true;
		c->program = *sort;
	}
	c->n = imapd_context_run(s, c, &c->uids);
	c->sig = imapd_context_sig(s);
	return true;
}

static void imapd_context_release(struct imapd_context *c)
{
	mem_free(c->tag);
	imap_search_free(&c->search);
	mem_free(c->uids);
}

void imapd_context_free_all(struct imapd *s)
{
	for (size_t i = 0; i < s->ncontexts; i++)
		imapd_context_release(&s->contexts[i]);
	mem_free(s->contexts);
	s->ncontexts = 0;
}

/* "* ESEARCH (TAG "t") [UID] WHAT (0 set)" for the UIDs in list. */
static void imapd_context_notify(struct imapd *s,
				 const struct imapd_context *c,
				 const char *what, const uint32_t *list,
				 size_t n)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	struct str out = STR_INIT;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		long seq = c->uid ? 0 : imapd_view_find(s, list[i]);

		if (seq >= 0)
			imap_seqset_add(&set, c->uid ? list[i] :
					(uint32_t)seq + 1);
	}
	imap_seqset_normalise(&set);
	if (set.count == 0) {
		imap_seqset_release(&set);
		return;
	}
	str_printf(&out, "* ESEARCH (TAG \"%s\")%s %s (0 ", c->tag,
		   c->uid ? " UID" : "", what);
	imap_seqset_format(&set, &out);
	imapd_printf(s, "%s)\r\n", str_c(&out));
	str_release(&out);
	imap_seqset_release(&set);
}

/* A sorted context's "* ESEARCH (TAG "t") [UID] WHAT (pos n ...)" for
 * the UIDs in list at the positions in pos (1-based). */
static void imapd_context_notify_sorted(struct imapd *s,
					const struct imapd_context *c,
					const char *what, const uint32_t *list,
					const uint32_t *pos, size_t n)
{
	struct str out = STR_INIT;
	size_t pairs = 0;

	str_printf(&out, "* ESEARCH (TAG \"%s\")%s %s (", c->tag,
		   c->uid ? " UID" : "", what);
	for (size_t i = 0; i < n; i++) {
		long seq = c->uid ? 0 : imapd_view_find(s, list[i]);

		if (seq < 0)
			continue;
		str_printf(&out, "%s%u %u", pairs++ > 0 ? " " : "", pos[i],
			   c->uid ? list[i] : (uint32_t)seq + 1);
	}
	if (pairs > 0)
		imapd_printf(s, "%s)\r\n", str_c(&out));
	str_release(&out);
}

void imapd_context_expunging(struct imapd *s)
{
	for (size_t i = 0; i < s->ncontexts; i++) {
		struct imapd_context *c = &s->contexts[i];
		uint32_t *gone = mem_array(c->n + 1, sizeof(*gone));
		uint32_t *pos = mem_array(c->n + 1, sizeof(*pos));
		size_t ngone = 0, keep = 0;

		for (size_t j = 0; j < c->n; j++) {
			long v = imapd_view_find(s, c->uids[j]);

			if (v >= 0 && s->view[v].expunged) {
				/* Its position once those before it left. */
				pos[ngone] = (uint32_t)keep + 1;
				gone[ngone++] = c->uids[j];
			} else {
				c->uids[keep++] = c->uids[j];
			}
		}
		c->n = keep;
		if (c->sorted)
			imapd_context_notify_sorted(s, c, "REMOVEFROM", gone,
						    pos, ngone);
		else
			imapd_context_notify(s, c, "REMOVEFROM", gone, ngone);
		free(gone);
		free(pos);
	}
}

/* A sorted context from c->uids to now: the removals, then the
 * additions (the messages in both keep their order). */
static void imapd_context_update_sorted(struct imapd *s,
					const struct imapd_context *c,
					const uint32_t *now, size_t n)
{
	uint32_t *old_set = imapd_context_sorted_copy(c->uids, c->n);
	uint32_t *new_set = imapd_context_sorted_copy(now, n);
	size_t max = (c->n > n ? c->n : n) + 1, nlist = 0, keep = 0;
	uint32_t *list = mem_array(max, sizeof(*list));
	uint32_t *pos = mem_array(max, sizeof(*pos));

	for (size_t j = 0; j < c->n; j++) {
		if (imapd_context_has(new_set, n, c->uids[j])) {
			keep++;
			continue;
		}
		pos[nlist] = (uint32_t)keep + 1;
		list[nlist++] = c->uids[j];
	}
	imapd_context_notify_sorted(s, c, "REMOVEFROM", list, pos, nlist);
	nlist = 0;
	for (size_t j = 0; j < n; j++) {
		if (imapd_context_has(old_set, c->n, now[j]))
			continue;
		pos[nlist] = (uint32_t)j + 1;
		list[nlist++] = now[j];
	}
	imapd_context_notify_sorted(s, c, "ADDTO", list, pos, nlist);
	free(old_set);
	free(new_set);
	free(list);
	free(pos);
}

void imapd_context_update(struct imapd *s)
{
	uint64_t sig;

	if (s->ncontexts == 0)
		return;
	sig = imapd_context_sig(s);
	for (size_t i = 0; i < s->ncontexts; i++) {
		struct imapd_context *c = &s->contexts[i];
		uint32_t *now, *added, *removed;
		size_t n, nadd = 0, nrem = 0, a = 0, b = 0;

		if (c->sig == sig)
			continue;
		n = imapd_context_run(s, c, &now);
		if (c->sorted) {
			imapd_context_update_sorted(s, c, now, n);
			free(c->uids);
			c->uids = now;
			c->n = n;
			c->sig = sig;
			continue;
		}
		added = mem_array(n + 1, sizeof(*added));
		removed = mem_array(c->n + 1, sizeof(*removed));
		while (a < c->n || b < n) {
			if (b == n || (a < c->n && c->uids[a] < now[b]))
				removed[nrem++] = c->uids[a++];
			else if (a == c->n || now[b] < c->uids[a])
				added[nadd++] = now[b++];
			else
				a++, b++;
		}
		imapd_context_notify(s, c, "REMOVEFROM", removed, nrem);
		imapd_context_notify(s, c, "ADDTO", added, nadd);
		free(added);
		free(removed);
		free(c->uids);
		c->uids = now;
		c->n = n;
		c->sig = sig;
	}
}

void imapd_cmd_cancelupdate(struct imapd *s, const struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->args;
	const char *tag;

	if (a->type == IMAP_ARG_EOL) {
		imapd_tagged(s, cmd->tag, "BAD Missing tag.");
		return;
	}
	for (; a->type != IMAP_ARG_EOL; a++) {
		struct imapd_context *c;

		if (!imap_arg_get_astring(a, &tag) ||
		    (c = imapd_context_find(s, tag)) == NULL) {
			imapd_tagged(s, cmd->tag, "BAD Unknown search tag.");
			return;
		}
		imapd_context_release(c);
		*c = s->contexts[--s->ncontexts];
	}
	imapd_tagged(s, cmd->tag, "OK Updates cancelled.");
}
