/*
 * imapd_mailbox: the selected mailbox of an IMAP session (imapd.h):
 * SELECT/EXAMINE, the session's view of it (sequence numbers), the
 * untagged updates (EXISTS, RECENT, EXPUNGE, FETCH FLAGS) after other
 * sessions or deliveries changed it, EXPUNGE, CLOSE, and IDLE.
 *
 * The view is the session's own: messages another session expunged stay
 * in it, marked, until an EXPUNGE response may be sent (never during
 * FETCH, STORE or SEARCH by sequence number, RFC 3501 7.4.1), so the
 * client's sequence numbers always mean what it thinks. \Recent is the
 * Maildir way: a read-write session that first sees a message in new/
 * moves it to cur/ and is the one that reports it recent.
 *
 * IDLE waits on inotify (new/, cur/ and the folder directory, where the
 * index log changes), not on a timer: a delivery is pushed as soon as
 * its index record is written.
 *
 * SECURITY: runs as the mailbox owner; mailbox names are checked by
 * imap_mailbox_to_dir() before any path is built from them.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap_flags.h"
#include "imap_mailbox.h"
#include "imapd.h"
#include "imapd_fts.h"
#include "mem.h"
#include "msg.h"

static const struct {
	uint32_t store;
	unsigned imap;
} imapd_flag_map[] = {
	{ STORE_F_ANSWERED, IMAP_FLAG_ANSWERED },
	{ STORE_F_FLAGGED, IMAP_FLAG_FLAGGED },
	{ STORE_F_DELETED, IMAP_FLAG_DELETED },
	{ STORE_F_SEEN, IMAP_FLAG_SEEN },
	{ STORE_F_DRAFT, IMAP_FLAG_DRAFT },
};

uint32_t imapd_flags_to_store(unsigned imap_flags)
{
	uint32_t f = 0;

	for (size_t i = 0; i < 5; i++)
		if (imap_flags & imapd_flag_map[i].imap)
			f |= imapd_flag_map[i].store;
	return f;
}

unsigned imapd_flags_from_store(uint32_t store_flags)
{
	unsigned f = 0;

	for (size_t i = 0; i < 5; i++)
		if (store_flags & imapd_flag_map[i].store)
			f |= imapd_flag_map[i].imap;
	return f;
}

void imapd_format_flags(struct imapd *s, const struct imapd_view *v,
			struct str *out)
{
	const char *kw[STORE_MAX_KEYWORDS];
	unsigned n = 0;

	for (unsigned i = 0; i < s->folder->nkeywords; i++)
		if (v->keywords & (1ULL << i))
			kw[n++] = s->folder->keywords[i];
	imap_flags_format(imapd_flags_from_store(v->flags) |
			  (v->recent && !s->rev2 ? IMAP_FLAG_RECENT : 0), kw, n,
			  out);
}

bool imapd_mailbox_dir(struct imapd *s, const char *name, struct str *dir_r,
		       const char **error_r)
{
	str_clear(dir_r);
	str_append(dir_r, s->root);
	if (imap_mailbox_is_inbox(name))
		return true;
	str_append_c(dir_r, '/');
	return imap_mailbox_to_dir(name, dir_r, error_r);
}

long imapd_view_find(const struct imapd *s, uint32_t uid)
{
	size_t lo = 0, hi = s->nview;

	if (s->view_shared) {
		size_t at;

		return store_lookup(s->folder, uid, &at) != NULL ?
		       (long)at : -1;
	}

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->view[mid].uid == uid)
			return (long)mid;
		if (s->view[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct imapd_view *imapd_view_add(struct imapd *s, const struct store_msg *m)
{
	struct imapd_view *v;

	if (s->nview == s->capview) {
		s->capview = s->capview == 0 ? 64 : s->capview * 2;
		s->view = mem_array_realloc(s->view, s->capview,
					    sizeof(*s->view));
	}
	v = &s->view[s->nview++];
	memset(v, 0, sizeof(*v));
	v->uid = m->uid;
	v->flags = m->flags & STORE_F_ALL;
	v->keywords = m->keywords;
	v->modseq = m->modseq;
	return v;
}

static void imapd_format_all_flags(struct imapd *s, struct str *out,
				   bool permanent);

void imapd_announce_keywords(struct imapd *s)
{
	struct str flags = STR_INIT;

	if (s->folder == NULL ||
	    s->announced_keywords == s->folder->nkeywords)
		return;
	imapd_format_all_flags(s, &flags, false);
	imapd_printf(s, "* FLAGS %s\r\n", str_c(&flags));
	str_clear(&flags);
	if (s->readonly)
		str_append(&flags, "()");
	else
		imapd_format_all_flags(s, &flags, true);
	imapd_printf(s, "* OK [PERMANENTFLAGS %s] Flags permitted.\r\n",
		     str_c(&flags));
	s->announced_keywords = s->folder->nkeywords;
	str_release(&flags);
}

/* Take the messages still in new/ as this session's recent ones. */
void imapd_claim_recent(struct imapd *s)
{
	struct str error = STR_INIT;
	uint32_t *uids = NULL;
	int n;

	if (s->readonly)
		return;
	n = store_claim_new(s->folder, &uids, &error);
	if (n < 0)
		msg_warn("%s: %s", s->user, str_c(&error));
	for (int i = 0; i < n; i++) {
		long at = imapd_view_find(s, uids[i]);
		const struct store_msg *m = store_lookup(s->folder, uids[i],
							 NULL);

		if (at < 0)
			continue;
		if (s->view_shared) {
			/* The view is the store: its modseq is the one
			 * the claim gave. */
			imapd_view_add_recent(s, uids[i]);
			continue;
		}
		s->view[at].recent = true;
		/* Taking it changed its modseq, not what the client
		 * knows of it. */
		if (m != NULL && (m->flags & STORE_F_ALL) ==
		    s->view[at].flags && m->keywords == s->view[at].keywords)
			s->view[at].modseq = m->modseq;
	}
	free(uids);
	str_release(&error);
}

static unsigned imapd_recent_count(const struct imapd *s)
{
	return imapd_view_recent_count(s);
}

static void imapd_format_all_flags(struct imapd *s, struct str *out,
				   bool permanent)
{
	str_append(out, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (unsigned i = 0; i < s->folder->nkeywords; i++)
		str_printf(out, " %s", s->folder->keywords[i]);
	if (permanent && s->folder->nkeywords < STORE_MAX_KEYWORDS)
		str_append(out, " \\*");
	str_append(out, ")");
}

void imapd_close_mailbox(struct imapd *s, bool expunge)
{
	if (s->folder == NULL)
		return;
	if (expunge) {
		struct str error = STR_INIT;
		uint32_t *uids = mem_array(s->folder->count + 1,
					   sizeof(*uids));
		size_t n = 0;

		(void)store_folder_refresh(s->folder, &error);
		for (size_t i = 0; i < s->folder->count; i++)
			if ((s->folder->msgs[i].flags & STORE_F_DELETED) &&
			    imapd_view_find(s, s->folder->msgs[i].uid) >= 0)
				uids[n++] = s->folder->msgs[i].uid;
		if (n > 0 && store_expunge(s->folder, uids, n, &error) > 0)
			s->expunged += (unsigned)n;
		free(uids);
		str_release(&error);
	}
	imapd_context_free_all(s);
	store_folder_free(&s->folder);
	store_emailids_free(&s->emailids);
	mem_free(s->mailbox);
	imapd_view_release(s);
	imap_seqset_clear(&s->saved);
}

bool imapd_select(struct imapd *s, const char *tag, const char *name,
		  bool readonly, const struct imap_select_params *params)
{
	struct str dir = STR_INIT, error = STR_INIT, flags = STR_INIT;
	struct stat st;
	const char *why = NULL;
	char mailboxid[STORE_OBJECTID_MAX];
	unsigned unseen = 0;
	bool ok = false;

	/* RFC 9051 and RFC 7162 3.2.11: the end of the old mailbox's
	 * responses. */
	if (s->folder != NULL && (s->rev2 || s->qresync))
		imapd_printf(s, "* OK [CLOSED] Previous mailbox closed.\r\n");
	imapd_close_mailbox(s, false);
	if (!imapd_mailbox_dir(s, name, &dir, &why)) {
		imapd_tagged(s, tag, "NO %s", why);
		goto out;
	}
	str_append(&dir, "/cur");
	if (stat(str_c(&dir), &st) != 0) {
		imapd_tagged(s, tag, "NO [NONEXISTENT] Mailbox doesn't "
			     "exist: %s", name);
		goto out;
	}
	str_truncate(&dir, dir.len - 4);
	s->folder = store_folder_open(str_c(&dir), false, &error);
	if (s->folder == NULL) {
		msg_warn("%s: select %s: %s", s->user, name, str_c(&error));
		imapd_tagged(s, tag, "NO [SERVERBUG] Internal error "
			     "occurred. Refer to server log for more "
			     "information.");
		goto out;
	}
	s->mailbox = mem_strdup(imap_mailbox_is_inbox(name) ? "INBOX" : name);
	s->readonly = readonly;
	/* No copy: the view is the store's array until it differs
	 * (imapd_view.c). */
	imapd_view_share(s);
	imapd_claim_recent(s);
	s->folder->nchanges = 0;
	s->announced_keywords = ~0u;
	imapd_announce_keywords(s);
	imapd_printf(s, "* %zu EXISTS\r\n", s->nview);
	if (!s->rev2)	/* RFC 9051 has no \Recent */
		imapd_printf(s, "* %u RECENT\r\n", imapd_recent_count(s));
	for (size_t i = 0; i < s->nview && unseen == 0; i++)
		if (!(s->folder->msgs[i].flags & STORE_F_SEEN))
			unseen = (unsigned)i + 1;
	if (unseen > 0 && !s->rev2)
		imapd_printf(s, "* OK [UNSEEN %u] First unseen.\r\n", unseen);
	imapd_printf(s, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
		     "* OK [UIDNEXT %u] Predicted next UID\r\n",
		     s->folder->uidvalidity, s->folder->uidnext);
	if (imapd_mailbox_id(s, s->mailbox, mailboxid))
		imapd_printf(s, "* OK [MAILBOXID (%s)] Ok\r\n", mailboxid);
	/* Every folder keeps modseqs: HIGHESTMODSEQ always (RFC 7162
	 * 3.1.2.1), NOMODSEQ never. */
	s->view_modseq = s->folder->highestmodseq;
	imapd_printf(s, "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
		     (unsigned long long)imapd_modseq(s->view_modseq));
	if (s->rev2) {
		/* RFC 9051 6.3.2: a LIST response with the name, required. */
		const char *special = imapd_special_attr(s->mailbox);

		str_clear(&flags);
		str_printf(&flags, "* LIST (%s) \".\" ",
			   special != NULL ? special : "");
		imapd_name_out(s, s->mailbox, &flags);
		imapd_printf(s, "%s\r\n", str_c(&flags));
	}
	if (params != NULL && (params->condstore || params->qresync))
		s->condstore = true;
	if (params != NULL && params->qresync)
		imapd_qresync_select(s, params);
	imapd_tagged(s, tag, "OK [%s] %s completed.",
		     readonly ? "READ-ONLY" : "READ-WRITE",
		     readonly ? "Examine" : "Select");
	ok = true;
out:
	str_release(&dir);
	str_release(&error);
	str_release(&flags);
	return ok;
}

/* Apply the store's changes since the last sync to the view. */
static void imapd_view_update(struct imapd *s)
{
	struct store_folder *f = s->folder;
	bool appended = false;

	imapd_view_materialize(s);	/* from the notes, if shared */
	for (size_t c = 0; c < f->nchanges; c++) {
		uint32_t uid = f->changes[c].uid;
		const struct store_msg *m;
		long at = imapd_view_find(s, uid);

		switch (f->changes[c].kind) {
		case 'E':
			if (at >= 0)
				s->view[at].expunged = true;
			break;
		case 'A':
			m = store_lookup(f, uid, NULL);
			if (m != NULL && at < 0 &&
			    (s->nview == 0 ||
			     uid > s->view[s->nview - 1].uid)) {
				struct imapd_view *v = imapd_view_add(s, m);

				v->recent = s->readonly &&
					    (m->in_new ||
					     (m->flags & STORE_F_RECENT));
				appended = true;
				s->exists_changed = true;
			}
			break;
		default:
			break;
		}
	}
	f->nchanges = 0;
	if (appended)
		imapd_claim_recent(s);
	f->nchanges = 0;
	/* Flags: compare with what the client was told. */
	for (size_t i = 0, j = 0; i < s->nview; i++) {
		struct imapd_view *v = &s->view[i];
		const struct store_msg *m;

		if (v->expunged)
			continue;
		/* Both are in uid order: walk them together. */
		while (j < f->count && f->msgs[j].uid < v->uid)
			j++;
		m = j < f->count && f->msgs[j].uid == v->uid ?
		    &f->msgs[j] : NULL;
		if (m == NULL) {
			v->expunged = true;
			continue;
		}
		if ((m->flags & STORE_F_ALL) != v->flags ||
		    m->keywords != v->keywords ||
		    (s->condstore && m->modseq != v->modseq)) {
			v->flags = m->flags & STORE_F_ALL;
			v->keywords = m->keywords;
			v->flags_changed = true;
		}
		v->modseq = m->modseq;
	}
}

void imapd_sync(struct imapd *s, enum imapd_sync_mode mode)
{
	struct str error = STR_INIT, flags = STR_INIT;
	struct imap_seqset vanished = IMAP_SEQSET_INIT;
	size_t removed = 0, keep = 0, before, fresh = 0;
	bool held = false;

	/* NOTIFY's MessageNew FETCHes are made from the session's own
	 * view (imapd_fetch_items). */
	if (s->notify != NULL)
		imapd_view_materialize(s);
	before = s->nview;
	if (!store_folder_refresh(s->folder, &error))
		msg_warn("%s: %s: %s", s->user, s->mailbox, str_c(&error));
	if (s->view_shared && imapd_view_shared_sync(s)) {
		/* Nothing changed but new messages: the view is still the
		 * store's. */
		imapd_announce_keywords(s);
		if (s->exists_changed) {
			imapd_printf(s, "* %zu EXISTS\r\n", s->nview);
			if (!s->rev2)
				imapd_printf(s, "* %u RECENT\r\n",
					     imapd_recent_count(s));
			s->exists_changed = false;
		}
		s->view_modseq = s->folder->highestmodseq;
		str_release(&error);
		return;
	}
	imapd_view_materialize(s);
	imapd_view_update(s);
	imapd_announce_keywords(s);
	/* In the order a client can follow: EXPUNGEs, then EXISTS (so
	 * every number a FETCH below uses is one the client knows), then
	 * the flag changes. Live searches (CONTEXT=SEARCH) hear of
	 * expunged results first, by the numbers the client knows. */
	if (mode == IMAPD_SYNC_ALL)
		imapd_context_expunging(s);
	for (size_t i = 0; i < s->nview; i++) {
		struct imapd_view *v = &s->view[i];

		if (v->expunged && mode == IMAPD_SYNC_ALL) {
			/* QRESYNC: VANISHED instead (RFC 7162 3.2.10). */
			if (s->qresync)
				imap_seqset_add(&vanished, v->uid);
			else
				imapd_printf(s, "* %zu EXPUNGE\r\n",
					     i + 1 - removed);
			removed++;
			continue;
		}
		held |= v->expunged;
		fresh += i >= before;	/* added by this update */
		s->view[keep++] = *v;
	}
	s->nview = keep;
	if (vanished.count > 0) {
		str_clear(&flags);
		imap_seqset_format(&vanished, &flags);
		imapd_printf(s, "* VANISHED %s\r\n", str_c(&flags));
	}
	if (s->exists_changed) {
		imapd_printf(s, "* %zu EXISTS\r\n", s->nview);
		if (!s->rev2)
			imapd_printf(s, "* %u RECENT\r\n",
				     imapd_recent_count(s));
		s->exists_changed = false;
		/* NOTIFY's MessageNew (items): a FETCH for each. */
		imapd_notify_new(s, s->nview - fresh, s->nview);
	}
	/* With CONDSTORE, a modseq reported while an expunge is held back
	 * could let a client skip that expunge when it resyncs: the flag
	 * changes wait with it (RFC 7162 erratum 1810). */
	for (size_t i = 0; i < s->nview && !(held && s->condstore); i++) {
		struct imapd_view *v = &s->view[i];

		if (!v->flags_changed || v->expunged)
			continue;
		imapd_fetch_modseq_flags(s, i);
		v->flags_changed = false;
	}
	imapd_context_update(s);
	if (!held)
		s->view_modseq = s->folder->highestmodseq;
	imap_seqset_release(&vanished);
	str_release(&error);
	str_release(&flags);
}

bool imapd_expunge(struct imapd *s, const struct imap_seqset *uids)
{
	struct str error = STR_INIT;
	uint32_t *list = mem_array(s->nview + 1, sizeof(*list));
	size_t n = 0;
	int removed;

	(void)store_folder_refresh(s->folder, &error);
	imapd_view_update(s);
	for (size_t i = 0; i < s->nview; i++) {
		const struct imapd_view *v = &s->view[i];

		if (!v->expunged && (v->flags & STORE_F_DELETED) &&
		    (uids == NULL || imap_seqset_contains(uids, v->uid)))
			list[n++] = v->uid;
	}
	removed = n == 0 ? 0 : store_expunge(s->folder, list, n, &error);
	if (removed < 0)
		msg_warn("%s: expunge in %s: %s", s->user, s->mailbox,
			 str_c(&error));
	else
		s->expunged += (unsigned)removed;
	free(list);
	str_release(&error);
	return removed >= 0;
}

bool imapd_uidset(struct imapd *s, const char *text, bool uid,
		  struct imap_seqset *uids_r, const char **error_r)
{
	struct imap_seqset set = IMAP_SEQSET_INIT;
	bool ok = false;

	imap_seqset_clear(uids_r);
	imapd_view_materialize(s);
	if (!imap_seqset_parse(&set, text, IMAP_SEQSET_ALLOW_DOLLAR, 0,
			       error_r))
		goto out;
	if (set.dollar) {
		/* "$" is the saved result, kept as UIDs. */
		imap_seqset_merge(uids_r, &s->saved);
		imap_seqset_normalise(uids_r);
		ok = true;
		goto out;
	}
	if (uid) {
		imap_seqset_resolve(&set, s->nview == 0 ? 0 :
				    s->view[s->nview - 1].uid);
		for (size_t i = 0; i < s->nview; i++)
			if (imap_seqset_contains(&set, s->view[i].uid))
				imap_seqset_add(uids_r, s->view[i].uid);
	} else {
		imap_seqset_resolve(&set, (uint32_t)s->nview);
		if (set.count > 0 &&
		    set.ranges[set.count - 1].hi > s->nview) {
			*error_r = "Invalid messageset";
			goto out;
		}
		for (unsigned r = 0; r < set.count; r++)
			for (uint64_t q = set.ranges[r].lo;
			     q <= set.ranges[r].hi; q++)
				imap_seqset_add(uids_r, s->view[q - 1].uid);
	}
	imap_seqset_normalise(uids_r);
	ok = true;
out:
	imap_seqset_release(&set);
	return ok;
}

static void imapd_idle_run(struct imapd *s, const char *tag, int fd);

/* An inotify descriptor watching the selected folder, or -1. */
static int imapd_watch(struct imapd *s)
{
	static const char *const subs[] = { "", "/new", "/cur" };
	struct str path = STR_INIT;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	for (size_t i = 0; fd >= 0 && s->folder != NULL && i < 3; i++) {
		str_clear(&path);
		str_printf(&path, "%s%s", s->folder->dir, subs[i]);
		if (inotify_add_watch(fd, str_c(&path), IN_CREATE |
				      IN_MOVED_TO | IN_MOVED_FROM |
				      IN_DELETE | IN_MODIFY) < 0)
			msg_warn("inotify %s: %m", str_c(&path));
	}
	/* NOTIFY's mailboxes, after: its watches add to these (the root
	 * is INBOX's directory too), never replace them. */
	imapd_notify_watch(s, fd);
	str_release(&path);
	return fd;
}

void imapd_idle(struct imapd *s, const char *tag)
{
	int fd = imapd_watch(s);

	imapd_printf(s, "+ idling\r\n");
	(void)imapd_flush(s);
	imapd_idle_run(s, tag, fd);
	if (fd >= 0)
		close(fd);
}

void imapd_idle_loop(struct imapd *s, const char *tag)
{
	int fd = imapd_watch(s);

	imapd_idle_run(s, tag, fd);
	if (fd >= 0)
		close(fd);
}

static void imapd_idle_run(struct imapd *s, const char *tag, int fd)
{
	struct str line = STR_INIT;
	char buf[4096];
	int r;

	for (;;) {
		/* Index what arrived for SEARCH while nothing else
		 * happens (imapd_fts.c); quiet for the park delay: to
		 * the park process (imapd_park.c); else what comes
		 * first. */
		if (imapd_fts_idle(s, fd)) {
			r = 0;	/* it read the watch: a change */
		} else {
			if (imapd_park_idle(s, tag, fd))
				break;
			r = imapd_read_line(s, fd, IMAPD_IDLE_MAX, &line);
		}
		if (r == 0) {
			/* Let a burst of changes settle, then report. */
			usleep(20000);
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			if (s->folder != NULL)
				imapd_sync(s, IMAPD_SYNC_ALL);
			imapd_notify_check(s);
			imapd_notify_watch(s, fd);	/* boxes made since */
			if (!imapd_flush(s))
				break;
			continue;
		}
		if (r < 0) {
			imapd_printf(s, "* BYE Disconnected for inactivity.\r\n");
			s->logout = true;
			break;
		}
		if (strcasecmp(str_c(&line), "DONE") == 0)
			imapd_tagged(s, tag, "OK Idle completed.");
		else
			imapd_tagged(s, tag, "BAD Expected DONE.");
		break;
	}
	str_release(&line);
}
