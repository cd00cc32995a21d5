/*
 * imapd_notify: NOTIFY (RFC 5465): the client names mailboxes (SELECTED,
 * SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE, MAILBOXES)
 * and the events it wants to hear of in each (MessageNew, with FETCH
 * items for new messages of the selected mailbox, MessageExpunge,
 * FlagChange, MailboxName, SubscriptionChange); the server then tells it
 * without being asked:
 *
 *   - the selected mailbox: EXISTS, EXPUNGE and FETCH as after any
 *     command (imapd_sync), plus, with "MessageNew (items)", a FETCH of
 *     those items for each new message;
 *   - other mailboxes: "* STATUS name (...)": MESSAGES UIDNEXT UNSEEN
 *     when messages arrive, MESSAGES when some are expunged, UIDVALIDITY
 *     HIGHESTMODSEQ UNSEEN when flags change;
 *   - MailboxName: "* LIST () "." name" for a new mailbox, "* LIST
 *     (\NonExistent) "." name" for one that is gone (a rename is both);
 *   - SubscriptionChange: "* LIST (\Subscribed) ..." or "* LIST () ..."
 *     for a name subscribed or unsubscribed.
 *
 * When: after every command (before its tagged reply) and while the
 * client IDLEs, woken by inotify on the root (mailboxes, subscriptions)
 * and on the new/ and cur/ of every mailbox watched. A mailbox's status
 * is read again only when a fingerprint of it changed (the mtimes of
 * new/ and cur/, the size and mtime of its index files: a stat each), so
 * a check of unchanged mailboxes costs a few stats each, never an index
 * read. "NOTIFY SET STATUS" sends the STATUS of every watched mailbox at
 * once (the items its events imply, as Dovecot does).
 *
 * Which group decides (RFC 5465 6): the groups are tried in order; a
 * group whose filter takes the mailbox and whose events are NONE stops
 * the search (no notification), one that lists the event decides, one
 * that does not list it passes to the next. SELECTED and SELECTED-DELAYED
 * only take message events of the selected mailbox, and no other group
 * takes those. Both are the same here: the selected mailbox is only ever
 * reported between commands and in IDLE.
 *
 * Interface: imapd_cmd_notify, imapd_notify_check, imapd_notify_watch,
 * imapd_notify_new, imapd_notify_free (imapd.h).
 *
 * SECURITY: runs as the mailbox owner, and only names the session's own
 * mailboxes. The number of groups, names and watched mailboxes is
 * bounded (IMAPD_NOTIFY_MAX); names go through the same checks as
 * SELECT's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>

#include "imap_fetch.h"
#include "imap_mailbox.h"
#include "imapd.h"
#include "mem.h"
#include "msg.h"

#define IMAPD_NOTIFY_MAX 1000	/* groups, names, mailboxes watched */

enum imapd_notify_event {
	NEV_NEW = 1 << 0,
	NEV_EXPUNGE = 1 << 1,
	NEV_FLAGS = 1 << 2,
	NEV_NAME = 1 << 3,
	NEV_SUBS = 1 << 4,
};
#define NEV_MESSAGE (NEV_NEW | NEV_EXPUNGE | NEV_FLAGS)

enum imapd_notify_filter {
	NF_SELECTED,
	NF_SELECTED_DELAYED,
	NF_INBOXES,
	NF_PERSONAL,
	NF_SUBSCRIBED,
	NF_SUBTREE,
	NF_MAILBOXES,
};

struct imapd_notify_group {
	enum imapd_notify_filter filter;
	char **names;		/* SUBTREE, MAILBOXES: UTF-8 */
	size_t nnames;
	unsigned events;	/* 0: NONE */
};

/* What a mailbox other than the selected one last looked like. */
struct imapd_notify_box {
	char *name;
	uint64_t fp;		/* fingerprint of the files */
	uint32_t messages, uidnext, uidvalidity, unseen;
	uint64_t modseq;
};

struct imapd_notify {
	struct imapd_notify_group *groups;
	size_t ngroups;
	struct imap_fetch fetch;	/* MessageNew's items (SELECTED) */
	struct imapd_notify_box *boxes;
	size_t nboxes;
	char **names;		/* the mailboxes at the last check */
	size_t nnames;
	char **subs;		/* the subscriptions at the last check */
	size_t nsubs;
};

static void imapd_notify_groups_free(struct imapd_notify_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		imapd_names_free(g[i].names, g[i].nnames);
	free(g);
}

static void imapd_notify_boxes_free(struct imapd_notify *n)
{
	for (size_t i = 0; i < n->nboxes; i++)
		mem_free(n->boxes[i].name);
	mem_free(n->boxes);
	n->nboxes = 0;
}

void imapd_notify_free(struct imapd *s)
{
	struct imapd_notify *n = s->notify;

	if (n == NULL)
		return;
	imapd_notify_groups_free(n->groups, n->ngroups);
	imap_fetch_release(&n->fetch);
	imapd_notify_boxes_free(n);
	imapd_names_free(n->names, n->nnames);
	imapd_names_free(n->subs, n->nsubs);
	mem_free(s->notify);
}

static int imapd_notify_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The mailbox list and the subscriptions are kept sorted, so a look-up
 * is a binary search: a check after every command stays O(n log n) for
 * a user with many mailboxes, not O(n^2). */
static void imapd_notify_sort(char **names, size_t n)
{
	if (n > 1)
		qsort(names, n, sizeof(*names), imapd_notify_cmp);
}

static bool imapd_notify_has(char **names, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, names, n, sizeof(*names),
				imapd_notify_cmp) != NULL;
}

/* Does filter take the mailbox name (not the selected one)? */
static bool imapd_notify_takes(struct imapd *s,
			       const struct imapd_notify_group *g,
			       const char *name)
{
	switch (g->filter) {
	case NF_SELECTED:
	case NF_SELECTED_DELAYED:
		return false;
	case NF_INBOXES:
		/* Where mail is delivered: INBOX (no Sieve here). */
		return strcmp(name, "INBOX") == 0;
	case NF_PERSONAL:
		return true;
	case NF_SUBSCRIBED:
		return imapd_notify_has(s->notify->subs, s->notify->nsubs,
					name);
	case NF_SUBTREE:
		for (size_t i = 0; i < g->nnames; i++) {
			size_t len = strlen(g->names[i]);

			if (strncmp(name, g->names[i], len) == 0 &&
			    (name[len] == '\0' || name[len] == '.'))
				return true;
		}
		return false;
	case NF_MAILBOXES:
		for (size_t i = 0; i < g->nnames; i++)
			if (strcmp(name, g->names[i]) == 0)
				return true;
		return false;
	}
	return false;
}

/* Is the client to hear of event in the mailbox name (RFC 5465 6)? */
static bool imapd_notify_wants(struct imapd *s, const char *name,
			       unsigned event)
{
	const struct imapd_notify *n = s->notify;
	bool selected = s->mailbox != NULL && strcmp(s->mailbox, name) == 0;

	for (size_t i = 0; i < n->ngroups; i++) {
		const struct imapd_notify_group *g = &n->groups[i];

		if (g->filter == NF_SELECTED ||
		    g->filter == NF_SELECTED_DELAYED) {
			if (selected && (event & NEV_MESSAGE))
				return (g->events & event) != 0;
			continue;
		}
		if (selected && (event & NEV_MESSAGE))
			continue;
		if (!imapd_notify_takes(s, g, name))
			continue;
		if (g->events == 0)
			return false;
		if (g->events & event)
			return true;
	}
	return false;
}

/* The events atom word, 0 if unknown; *unsupported for the RFC's events
 * we do not offer. */
static unsigned imapd_notify_event_word(const char *w, bool *unsupported)
{
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = {
		{ "MessageNew", NEV_NEW },
		{ "MessageExpunge", NEV_EXPUNGE },
		{ "FlagChange", NEV_FLAGS },
		{ "MailboxName", NEV_NAME },
		{ "SubscriptionChange", NEV_SUBS },
	};

	*unsupported = strcasecmp(w, "AnnotationChange") == 0 ||
		       strcasecmp(w, "MailboxMetadataChange") == 0 ||
		       strcasecmp(w, "ServerMetadataChange") == 0;
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (strcasecmp(w, words[i].name) == 0)
			return words[i].bit;
	return 0;
}

/* One "(filter events)" group; false with *error_r (*badevent for NO
 * [BADEVENT]). */
static bool imapd_notify_group_parse(struct imapd *s,
				     const struct imap_arg *a,
				     struct imapd_notify_group *g,
				     struct imap_fetch *fetch,
				     const char **error_r, bool *badevent)
{
	static const struct {
		const char *name;
		enum imapd_notify_filter filter;
	} filters[] = {
		{ "SELECTED", NF_SELECTED },
		{ "SELECTED-DELAYED", NF_SELECTED_DELAYED },
		{ "INBOXES", NF_INBOXES },
		{ "PERSONAL", NF_PERSONAL },
		{ "SUBSCRIBED", NF_SUBSCRIBED },
		{ "SUBTREE", NF_SUBTREE },
		{ "MAILBOXES", NF_MAILBOXES },
	};
	const struct imap_arg *list, *ev;
	const char *w;
	unsigned count, nev;
	size_t i;

	*error_r = "Invalid NOTIFY event group.";
	if (!imap_arg_get_list(a, &list, &count) ||
	    !imap_arg_get_atom(list, &w))
		return false;
	for (i = 0; i < sizeof(filters) / sizeof(*filters); i++)
		if (strcasecmp(w, filters[i].name) == 0)
			break;
	if (i == sizeof(filters) / sizeof(*filters))
		return false;
	g->filter = filters[i].filter;
	list++;
	if (g->filter == NF_SUBTREE || g->filter == NF_MAILBOXES) {
		const struct imap_arg *names = list, *one;
		unsigned nnames = 1;
		struct str name = STR_INIT;
		const char *raw, *why;

		if (imap_arg_get_list(list, &names, &nnames) && nnames == 0)
			return false;
		g->names = mem_array(nnames + 1, sizeof(*g->names));
		for (one = names; one < names + nnames; one++) {
			if (!imap_arg_get_astring(one, &raw) ||
			    !imapd_name_in(s, raw, &name, &why)) {
				str_release(&name);
				return false;
			}
			g->names[g->nnames++] = str_steal(&name);
		}
		list++;
	}
	/* The events: NONE or a list. */
	if (imap_arg_atom_equals(list, "NONE")) {
		g->events = 0;
		return list[1].type == IMAP_ARG_EOL;
	}
	if (!imap_arg_get_list(list, &ev, &nev) || nev == 0 ||
	    list[1].type != IMAP_ARG_EOL)
		return false;
	for (; ev->type != IMAP_ARG_EOL; ev++) {
		bool unsupported;
		unsigned bit;

		if (!imap_arg_get_atom(ev, &w))
			return false;
		bit = imapd_notify_event_word(w, &unsupported);
		if (unsupported) {
			*badevent = true;
			*error_r = "Unsupported event.";
			return false;
		}
		if (bit == 0)
			return false;
		g->events |= bit;
		/* MessageNew (fetch-att ...): for the selected mailbox. */
		if (bit == NEV_NEW && ev[1].type == IMAP_ARG_LIST) {
			ev++;
			if (g->filter != NF_SELECTED &&
			    g->filter != NF_SELECTED_DELAYED) {
				*error_r = "FETCH items only for SELECTED.";
				return false;
			}
			if (!imap_fetch_parse(ev, fetch, error_r))
				return false;
		}
	}
	if (g->filter == NF_SELECTED || g->filter == NF_SELECTED_DELAYED) {
		/* RFC 5465 5: only message events, MessageNew and
		 * MessageExpunge together, FlagChange only with them. */
		if (g->events & ~(unsigned)NEV_MESSAGE) {
			*error_r = "SELECTED takes only message events.";
			return false;
		}
		if (((g->events & NEV_NEW) != 0) !=
		    ((g->events & NEV_EXPUNGE) != 0) ||
		    ((g->events & NEV_FLAGS) && !(g->events & NEV_NEW))) {
			*error_r = "MessageNew and MessageExpunge go together "
				   "(and FlagChange with them).";
			return false;
		}
	}
	return true;
}

/* The folder's stamp (store_folder_stamp). */
static uint64_t imapd_notify_fp(struct imapd *s, const char *name)
{
	struct str dir = STR_INIT;
	const char *why;
	uint64_t fp;

	(void)imapd_mailbox_dir(s, name, &dir, &why);
	fp = store_folder_stamp(str_c(&dir));
	str_release(&dir);
	return fp;
}

/* Read the folder's status into b; false if it will not open. */
static bool imapd_notify_read(struct imapd *s, struct imapd_notify_box *b)
{
	struct str dir = STR_INIT, error = STR_INIT;
	struct store_folder *f;
	const char *why;

	(void)imapd_mailbox_dir(s, b->name, &dir, &why);
	f = store_folder_open(str_c(&dir), false, &error);
	str_release(&dir);
	str_release(&error);
	if (f == NULL)
		return false;
	b->messages = (uint32_t)f->count;
	b->uidnext = f->uidnext;
	b->uidvalidity = f->uidvalidity;
	b->modseq = imapd_modseq(f->highestmodseq);
	b->unseen = 0;
	for (size_t i = 0; i < f->count; i++)
		b->unseen += !(f->msgs[i].flags & STORE_F_SEEN);
	store_folder_free(&f);
	return true;
}

static struct imapd_notify_box *imapd_notify_box(struct imapd_notify *n,
						 const char *name)
{
	for (size_t i = 0; i < n->nboxes; i++)
		if (strcmp(n->boxes[i].name, name) == 0)
			return &n->boxes[i];
	return NULL;
}

static void imapd_notify_status(struct imapd *s, const char *name,
				const char *items)
{
	struct str q = STR_INIT;

	imapd_name_out(s, name, &q);
	imapd_printf(s, "* STATUS %s (%s)\r\n", str_c(&q), items);
	str_release(&q);
}

/* The message events of the mailbox name (not the selected one): a
 * STATUS for what changed since b was read. */
static void imapd_notify_box_check(struct imapd *s,
				   struct imapd_notify_box *b)
{
	struct imapd_notify_box now = *b;
	struct str items = STR_INIT;
	bool arrived, left, flags, validity;
	uint64_t fp = imapd_notify_fp(s, b->name);

	if (fp == b->fp || !imapd_notify_read(s, &now))
		return;
	now.fp = fp;
	validity = now.uidvalidity != b->uidvalidity;
	arrived = validity || now.uidnext != b->uidnext;
	/* Fewer than the old count plus what arrived: some left. */
	left = validity ||
	       (uint64_t)now.messages < (uint64_t)b->messages +
	       (now.uidnext - b->uidnext);
	/* Every change raises the modseq, so a move of it may be a flag
	 * change also when messages arrived or left at the same time (a
	 * \Seen set on one and another expunged): a client that wants
	 * FlagChange hears UNSEEN and HIGHESTMODSEQ whenever it moved. */
	flags = validity || now.modseq != b->modseq;
	arrived = arrived && imapd_notify_wants(s, b->name, NEV_NEW);
	left = left && imapd_notify_wants(s, b->name, NEV_EXPUNGE);
	flags = flags && imapd_notify_wants(s, b->name, NEV_FLAGS);
	if (arrived || left)
		str_printf(&items, "MESSAGES %u", now.messages);
	if (arrived)
		str_printf(&items, " UIDNEXT %u", now.uidnext);
	if (flags || validity)
		str_printf(&items, "%sUIDVALIDITY %u", items.len ? " " : "",
			   now.uidvalidity);
	if (arrived || flags)
		str_printf(&items, " UNSEEN %u", now.unseen);
	if (flags)
		str_printf(&items, " HIGHESTMODSEQ %llu",
			   (unsigned long long)now.modseq);
	if (items.len > 0)
		imapd_notify_status(s, b->name, str_c(&items));
	now.name = b->name;
	*b = now;
	str_release(&items);
}

/* "* LIST (attrs) "." name" for each name of a that b lacks. */
static void imapd_notify_list_diff(struct imapd *s, char **a, size_t na,
				   char **b, size_t nb, unsigned event,
				   const char *attrs)
{
	struct str q = STR_INIT;

	for (size_t i = 0; i < na; i++) {
		if (imapd_notify_has(b, nb, a[i]) ||
		    !imapd_notify_wants(s, a[i], event))
			continue;
		str_clear(&q);
		imapd_name_out(s, a[i], &q);
		imapd_printf(s, "* LIST (%s) \".\" %s\r\n", attrs, str_c(&q));
	}
	str_release(&q);
}

static bool imapd_notify_any(const struct imapd_notify *n, unsigned events)
{
	for (size_t i = 0; i < n->ngroups; i++)
		if (n->groups[i].events & events)
			return true;
	return false;
}

/* Bring the watched mailboxes up to date with the mailbox list: read
 * the new ones (quietly, or with initial STATUS), drop those gone. */
static void imapd_notify_boxes(struct imapd *s, bool initial_status)
{
	struct imapd_notify *n = s->notify;
	size_t keep = 0;

	for (size_t i = 0; i < n->nboxes; i++) {
		struct imapd_notify_box *b = &n->boxes[i];

		if (imapd_notify_has(n->names, n->nnames, b->name) &&
		    (s->mailbox == NULL || strcmp(s->mailbox, b->name) != 0))
			n->boxes[keep++] = *b;
		else
			mem_free(b->name);
	}
	n->nboxes = keep;
	for (size_t i = 0; i < n->nnames; i++) {
		const char *name = n->names[i];
		struct imapd_notify_box b;
		unsigned ev = 0;
		struct str items = STR_INIT;

		if ((s->mailbox != NULL && strcmp(s->mailbox, name) == 0) ||
		    imapd_notify_box(n, name) != NULL)
			continue;
		ev |= imapd_notify_wants(s, name, NEV_NEW) ? NEV_NEW : 0;
		ev |= imapd_notify_wants(s, name, NEV_EXPUNGE) ?
		      NEV_EXPUNGE : 0;
		ev |= imapd_notify_wants(s, name, NEV_FLAGS) ? NEV_FLAGS : 0;
		if (ev == 0 || n->nboxes >= IMAPD_NOTIFY_MAX)
			continue;
		memset(&b, 0, sizeof(b));
		b.name = (char *)name;
		b.fp = imapd_notify_fp(s, name);
		if (!imapd_notify_read(s, &b))
			continue;
		if (initial_status) {
			/* The items its events imply (as Dovecot). */
			if (ev & (NEV_NEW | NEV_EXPUNGE))
				str_printf(&items, "MESSAGES %u", b.messages);
			if (ev & NEV_NEW)
				str_printf(&items, " UIDNEXT %u", b.uidnext);
			if (ev & (NEV_NEW | NEV_FLAGS))
				str_printf(&items, "%sUIDVALIDITY %u",
					   items.len ? " " : "",
					   b.uidvalidity);
			if (ev & NEV_FLAGS)
				str_printf(&items, " HIGHESTMODSEQ %llu",
					   (unsigned long long)b.modseq);
			imapd_notify_status(s, name, str_c(&items));
			str_release(&items);
		}
		b.name = mem_strdup(name);
		n->boxes = mem_array_realloc(n->boxes, n->nboxes + 1,
					     sizeof(*n->boxes));
		n->boxes[n->nboxes++] = b;
	}
}

void imapd_notify_check(struct imapd *s)
{
	struct imapd_notify *n = s->notify;
	char **names, **subs;
	size_t nnames, nsubs;

	if (n == NULL || n->ngroups == 0)
		return;
	nnames = imapd_mailboxes(s, &names);
	subs = imapd_subscriptions(s, &nsubs);
	imapd_notify_sort(names, nnames);
	imapd_notify_sort(subs, nsubs);
	if (imapd_notify_any(n, NEV_NAME)) {
		imapd_notify_list_diff(s, n->names, n->nnames, names, nnames,
				       NEV_NAME, "\\NonExistent");
		imapd_notify_list_diff(s, names, nnames, n->names, n->nnames,
				       NEV_NAME, "");
	}
	if (imapd_notify_any(n, NEV_SUBS)) {
		imapd_notify_list_diff(s, subs, nsubs, n->subs, n->nsubs,
				       NEV_SUBS, "\\Subscribed");
		imapd_notify_list_diff(s, n->subs, n->nsubs, subs, nsubs,
				       NEV_SUBS, "");
	}
	imapd_names_free(n->names, n->nnames);
	imapd_names_free(n->subs, n->nsubs);
	n->names = names;
	n->nnames = nnames;
	n->subs = subs;
	n->nsubs = nsubs;
	for (size_t i = 0; i < n->nboxes; i++)
		imapd_notify_box_check(s, &n->boxes[i]);
	imapd_notify_boxes(s, false);
}

void imapd_notify_watch(struct imapd *s, int fd)
{
	struct imapd_notify *n = s->notify;
	struct str dir = STR_INIT, path = STR_INIT;
	const char *why;

	if (n == NULL || n->ngroups == 0 || fd < 0)
		return;
	/* The root: folders made and removed, the subscriptions file.
	 * IN_MASK_ADD: the root is also INBOX, which imapd_watch may
	 * watch for other events; called again at each wake-up of IDLE,
	 * a watch here must only ever widen what is watched. */
	if (inotify_add_watch(fd, s->root, IN_MASK_ADD | IN_CREATE |
			      IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
			      IN_CLOSE_WRITE) < 0)
		msg_warn("inotify %s: %m", s->root);
	for (size_t i = 0; i < n->nboxes; i++) {
		(void)imapd_mailbox_dir(s, n->boxes[i].name, &dir, &why);
		for (size_t j = 0; j < 3; j++) {
			static const char *const subs[] = { "", "/new",
							    "/cur" };

			str_clear(&path);
			str_printf(&path, "%s%s", str_c(&dir), subs[j]);
			(void)inotify_add_watch(fd, str_c(&path),
						IN_MASK_ADD | IN_CREATE |
						IN_MOVED_TO | IN_MOVED_FROM |
						IN_DELETE | IN_MODIFY);
		}
	}
	str_release(&dir);
	str_release(&path);
}

void imapd_notify_new(struct imapd *s, size_t first, size_t end)
{
	struct imapd_notify *n = s->notify;

	if (n == NULL || n->fetch.count == 0 || first >= end ||
	    s->mailbox == NULL || !imapd_notify_wants(s, s->mailbox, NEV_NEW))
		return;
	for (size_t i = first; i < end; i++)
		imapd_fetch_items(s, i, &n->fetch);
}

void imapd_cmd_notify(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imapd_notify *n;
	const struct imap_arg *a = cmd->args;
	const char *error = "Invalid NOTIFY arguments.";
	bool status = false, badevent = false, selected = false;

	if (imap_arg_atom_equals(a, "NONE") && a[1].type == IMAP_ARG_EOL) {
		imapd_notify_free(s);
		imapd_tagged(s, cmd->tag, "OK NOTIFY completed.");
		return;
	}
	if (!imap_arg_atom_equals(a, "SET")) {
		imapd_tagged(s, cmd->tag, "BAD %s", error);
		return;
	}
	a++;
	if (imap_arg_atom_equals(a, "STATUS")) {
		status = true;
		a++;
	}
	n = mem_alloc(sizeof(*n));
	for (; a->type != IMAP_ARG_EOL; a++) {
		struct imapd_notify_group *g;

		if (n->ngroups >= IMAPD_NOTIFY_MAX)
			goto bad;
		n->groups = mem_array_realloc(n->groups, n->ngroups + 1,
					      sizeof(*n->groups));
		g = &n->groups[n->ngroups++];
		memset(g, 0, sizeof(*g));
		if (!imapd_notify_group_parse(s, a, g, &n->fetch, &error,
					      &badevent))
			goto bad;
		if (g->filter == NF_SELECTED ||
		    g->filter == NF_SELECTED_DELAYED) {
			if (selected) {
				error = "Only one SELECTED group.";
				goto bad;
			}
			selected = true;
		}
	}
	if (n->ngroups == 0)
		goto bad;
	imapd_notify_free(s);
	s->notify = n;
	n->nnames = imapd_mailboxes(s, &n->names);
	n->subs = imapd_subscriptions(s, &n->nsubs);
	imapd_notify_sort(n->names, n->nnames);
	imapd_notify_sort(n->subs, n->nsubs);
	imapd_notify_boxes(s, status);
	imapd_tagged(s, cmd->tag, "OK NOTIFY completed.");
	return;
bad:
	if (badevent)
		imapd_tagged(s, cmd->tag, "NO [BADEVENT (MessageNew "
			     "MessageExpunge FlagChange MailboxName "
			     "SubscriptionChange)] %s", error);
	else
		imapd_tagged(s, cmd->tag, "BAD %s", error);
	imapd_notify_groups_free(n->groups, n->ngroups);
	imap_fetch_release(&n->fetch);
	mem_free(n);
}
