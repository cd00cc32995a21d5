/*
 * imapd_fts: the full-text index in SEARCH (imapd_fts.h; DESIGN.md,
 * "Full-text search").
 *
 * Before a SEARCH (or SORT, THREAD, a CONTEXT update) evaluates its
 * keys, the string keys the index can answer (BODY, TEXT and HEADER
 * with a needle store_fts_usable accepts) are looked up once. The
 * first SEARCH of a folder only makes its index (and the matcher reads
 * every message, as a scan); later ones first add messages of the view
 * the index lacks (the catch-up, for at most IMAPD_FTS_CATCH_UP_MS per
 * SEARCH), and a message it does not hold (not yet, or it cannot take
 * it) stays a MAYBE that the matcher reads. While the client is quiet,
 * imapd_fts_idle fills the index of the selected folder. The
 * evaluator then asks for each message and key: NO and YES are final,
 * MAYBE runs the matcher on the message as before. An index that fails
 * is removed (it is rebuilt at the next SEARCH) and this one runs
 * without it.
 *
 * SECURITY: runs as the mailbox owner inside its sandbox; the index
 * files live in the selected folder's directory (store_fts.c).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ev.h"
#include "imapd.h"
#include "imapd_fts.h"
#include "mem.h"
#include "msg.h"
#include "imap_zlib.h"
#include "store.h"
#include "store_fts.h"

/* How long a SEARCH waits for another process writing the index (a
 * delivery holds it for milliseconds, another session's catch-up for
 * one batch). */
#define IMAPD_FTS_BUSY_MS 5000

struct imapd_fts_key {
	const struct imap_search_key *key;
	uint8_t *verdict;	/* per view message */
};

struct imapd_fts {
	struct imapd_fts_key *keys;
	size_t nkeys;
};

static bool imapd_fts_wanted(const struct imap_search_key *k)
{
	return (k->type == IMAP_SEARCH_BODY || k->type == IMAP_SEARCH_TEXT ||
		k->type == IMAP_SEARCH_HEADER) && k->value != NULL &&
	       store_fts_usable(k->value) == STORE_FTS_EXACT;
}

static void imapd_fts_collect(const struct imap_search_key *k,
			      const struct imap_search_key ***keys,
			      size_t *n)
{
	for (; k != NULL; k = k->next) {
		if (imapd_fts_wanted(k)) {
			*keys = mem_array_realloc(*keys, *n + 1,
						  sizeof(**keys));
			(*keys)[(*n)++] = k;
		}
		imapd_fts_collect(k->child, keys, n);
	}
}

/* How long one SEARCH spends adding messages to the index, at most
 * (checked after each transaction of a few thousand). Indexing a
 * message costs about ten times what reading it costs the matcher, so
 * the first SEARCH of a big folder nobody searched before would be
 * slower than no index at all if it indexed everything first; instead
 * each SEARCH adds this much and the matcher reads what is not in the
 * index yet, and the index fills over the next searches. */
#define IMAPD_FTS_CATCH_UP_MS 1000

struct imapd_fts_progress {
	struct imapd *s;
	long long start;	/* ms */
};

/* A catch-up of thousands of messages takes seconds: say so between
 * its transactions (an untagged OK, as Dovecot does while it searches),
 * so a client sees the session alive; stop once the budget is spent. */
static bool imapd_fts_progress(void *ctx, size_t done, size_t total)
{
	struct imapd_fts_progress *p = ctx;

	imapd_printf(p->s, "* OK Indexed %zu of %zu messages for "
		     "SEARCH.\r\n", done, total);
	(void)imapd_flush(p->s);
	return ev_now_ms() - p->start < IMAPD_FTS_CATCH_UP_MS;
}

static enum store_fts_col imapd_fts_col(const struct imap_search_key *k)
{
	return k->type == IMAP_SEARCH_BODY ? STORE_FTS_BODY :
	       k->type == IMAP_SEARCH_TEXT ? STORE_FTS_TEXT :
					     STORE_FTS_HEADER;
}

/* Whether the folder has an index (a SEARCH made it); its inode
 * number into *ino_r (an index made anew is another file). */
static bool imapd_fts_exists(const struct store_folder *f, uint64_t *ino_r)
{
	struct str path = STR_INIT;
	struct stat st;
	bool exists;

	str_printf(&path, "%s/%s", f->dir, STORE_FTS_FILE);
	exists = stat(str_c(&path), &st) == 0;
	str_release(&path);
	if (exists && ino_r != NULL)
		*ino_r = (uint64_t)st.st_ino;
	return exists;
}

struct imapd_fts *imapd_fts_prepare(struct imapd *s,
				    const struct imap_search_key *root)
{
	const struct imap_search_key **keys = NULL;
	struct imapd_fts_progress progress;
	struct str error = STR_INIT;
	struct store_fts *fts = NULL;
	struct imapd_fts *x = NULL;
	uint32_t *uids = NULL;
	size_t nkeys = 0, n = 0;
	bool fresh;

	imapd_fts_collect(root, &keys, &nkeys);
	if (nkeys == 0 || s->folder == NULL || s->nview == 0)
		goto out;
	fresh = !imapd_fts_exists(s->folder, NULL);
	fts = store_fts_open(s->folder->dir, s->folder->uidvalidity,
			     IMAPD_FTS_BUSY_MS, true, &error);
	if (fts == NULL)
		goto fail;
	/* The first SEARCH of a folder makes its index and reads the
	 * messages, as a scan: filling it first would only make this
	 * answer slower. The session fills it while its client is quiet
	 * (imapd_fts_idle), later SEARCHes too. */
	if (fresh)
		goto out;
	/* The catch-up takes the messages still there, the search is
	 * asked about the whole view (the evaluator skips the rest). */
	uids = mem_array(s->nview, sizeof(*uids));
	for (size_t i = 0; i < s->nview; i++)
		if (!s->view[i].expunged)
			uids[n++] = s->view[i].uid;
	progress.s = s;
	progress.start = ev_now_ms();
	store_fts_set_progress(fts, imapd_fts_progress, &progress);
	if (store_fts_catch_up(fts, s->folder, uids, n, &error) < 0)
		goto fail;
	for (size_t i = 0; i < s->nview; i++)
		uids[i] = s->view[i].uid;
	x = mem_alloc(sizeof(*x));
	x->keys = mem_array(nkeys, sizeof(*x->keys));
	for (size_t k = 0; k < nkeys; k++) {
		uint8_t *v = mem_array(s->nview, sizeof(*v));

		if (store_fts_search(fts, imapd_fts_col(keys[k]),
				     keys[k]->value, uids, s->nview, v,
				     &error) < 0) {
			mem_free(v);
			imapd_fts_free(&x);
			goto fail;
		}
		x->keys[x->nkeys].key = keys[k];
		x->keys[x->nkeys++].verdict = v;
	}
	goto out;
fail:
	msg_warn("%s: searching without the full-text index: %s",
		 s->folder->dir, str_c(&error));
	/* A damaged index is removed; the next SEARCH builds it again. A
	 * busy one (another session's long catch-up) is left alone. */
	if (fts != NULL && store_fts_failed_damaged(fts)) {
		store_fts_close(&fts);
		str_clear(&error);
		if (!store_fts_remove(s->folder->dir, &error))
			msg_warn("%s", str_c(&error));
	}
out:
	store_fts_close(&fts);
	mem_free(uids);
	mem_free(keys);
	str_release(&error);
	return x;
}

int imapd_fts_verdict(const struct imapd_fts *x,
		      const struct imap_search_key *k, size_t i)
{
	if (x == NULL)
		return STORE_FTS_MAYBE;
	for (size_t j = 0; j < x->nkeys; j++)
		if (x->keys[j].key == k)
			return x->keys[j].verdict[i];
	return STORE_FTS_MAYBE;
}

void imapd_fts_free(struct imapd_fts **x)
{
	if (*x == NULL)
		return;
	for (size_t j = 0; j < (*x)->nkeys; j++)
		mem_free((*x)->keys[j].verdict);
	mem_free((*x)->keys);
	mem_free(*x);
	*x = NULL;
}

/* The idle-time catch-up works in transactions of about this many ms
 * (the longest a command arriving meanwhile waits, give or take one
 * message: the index takes at most 1 MB of a message's text), of at
 * most IMAPD_FTS_IDLE_SLICE messages. */
#define IMAPD_FTS_IDLE_SLICE_MS 25
#define IMAPD_FTS_IDLE_SLICE 256
/* A busy index: how long one attempt waits for it, and how often it is
 * tried again (IMAPD_FTS_IDLE_RETRY_MS apart, watching the client). */
#define IMAPD_FTS_IDLE_BUSY_MS 50
#define IMAPD_FTS_IDLE_ATTEMPTS 20
#define IMAPD_FTS_IDLE_RETRY_MS 500

/* The idle pass's state: the IDLE watch (or -1), and whether it saw a
 * change that was not the index's own files. */
struct imapd_fts_idle {
	struct imapd *s;
	int watch_fd;
	bool changed;
};

/* Read the IDLE watch's pending events: true if one is about something
 * else than the index's own files. Opening and closing the index
 * creates and removes its -wal and -shm files in the watched folder: a
 * pass that stopped for those would stop for its own writes forever. */
static bool imapd_fts_idle_foreign(int watch_fd)
{
	union {
		struct inotify_event ev;
		char buf[4096];
	} u;
	size_t plen = strlen(STORE_FTS_FILE);
	bool foreign = false;
	ssize_t n;

	while ((n = read(watch_fd, u.buf, sizeof(u.buf))) > 0) {
		for (ssize_t at = 0; at + (ssize_t)sizeof(u.ev) <= n;) {
			const struct inotify_event *ev =
				(const void *)(u.buf + at);

			if (ev->len == 0 ||
			    strncmp(ev->name, STORE_FTS_FILE, plen) != 0)
				foreign = true;
			at += (ssize_t)(sizeof(*ev) + ev->len);
		}
	}
	return foreign;
}

/* Whether the client, or a change the IDLE watch saw (then
 * id->changed), wants us; waiting for it at most wait_ms. */
static bool imapd_fts_idle_interrupted(struct imapd_fts_idle *id,
				       int wait_ms)
{
	const struct imapd *s = id->s;
	long long until = ev_now_ms() + wait_ms;

	if (id->changed || s->in.len > 0 ||
	    (s->zlib != NULL && imap_zlib_pending(s->zlib)))
		return true;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s->in_fd, .events = POLLIN },
			{ .fd = id->watch_fd, .events = POLLIN },
		};
		long long left = until - ev_now_ms();
		int r = poll(p, id->watch_fd >= 0 ? 2 : 1,
			     left > 0 ? (int)left : 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0;
		if (p[0].revents != 0)
			return true;
		if (imapd_fts_idle_foreign(id->watch_fd)) {
			id->changed = true;
			return true;
		}
		if (left <= 0)
			return false;
	}
}

/* One pass from fts_idle_uid to the end: 1 done or interrupted, 0 the
 * index was busy or failed (error says why). */
static int imapd_fts_idle_pass(struct imapd_fts_idle *id, struct str *error)
{
	struct imapd *s = id->s;
	struct store_folder *f = s->folder;
	struct store_fts *fts;
	uint32_t uids[IMAPD_FTS_IDLE_SLICE];
	size_t i = 0, n, slice = 4;
	int ret = 1;

	fts = store_fts_open(f->dir, f->uidvalidity, IMAPD_FTS_IDLE_BUSY_MS,
			     false, error);
	if (fts == NULL)
		return 0;
	while (i < f->count && f->msgs[i].uid < s->fts_idle_uid)
		i++;
	while (i < f->count && !imapd_fts_idle_interrupted(id, 0)) {
		long long start = ev_now_ms(), took;

		for (n = 0; n < slice && i < f->count; i++)
			uids[n++] = f->msgs[i].uid;
		if (store_fts_catch_up(fts, f, uids, n, error) < 0) {
			ret = 0;
			break;
		}
		s->fts_idle_uid = (uint64_t)uids[n - 1] + 1;
		/* Keep a slice near IMAPD_FTS_IDLE_SLICE_MS whatever the
		 * messages' size: the client waits for at most one. */
		took = ev_now_ms() - start;
		if (took < IMAPD_FTS_IDLE_SLICE_MS / 2 &&
		    slice < IMAPD_FTS_IDLE_SLICE)
			slice *= 2;
		else if (took > IMAPD_FTS_IDLE_SLICE_MS * 2 && slice > 1)
			slice /= 2;
	}
	store_fts_close(&fts);
	return ret;
}

bool imapd_fts_idle(struct imapd *s, int watch_fd)
{
	struct imapd_fts_idle id = { s, watch_fd, false };
	struct store_folder *f = s->folder;
	struct str error = STR_INIT;
	uint64_t ino = 0;

	if (f == NULL || f->count == 0)
		return false;
	if (s->fts_idle_dir != f->dir ||
	    s->fts_idle_validity != f->uidvalidity) {
		s->fts_idle_dir = f->dir;
		s->fts_idle_validity = f->uidvalidity;
		s->fts_idle_uid = 0;
	}
	if (imapd_fts_idle_interrupted(&id, 0) || !imapd_fts_exists(f, &ino))
		return id.changed;
	/* Removed and made anew (damage, `correo mailbox rebuild`): all
	 * of the folder again. */
	if (ino != s->fts_idle_ino) {
		s->fts_idle_ino = ino;
		s->fts_idle_uid = 0;
	}
	if (f->msgs[f->count - 1].uid < s->fts_idle_uid)
		return id.changed;
	/* Busy (a delivery, another session's catch-up, a reader
	 * recovering the WAL): try again a little later, unless the client
	 * speaks first. A damaged index is left to the next SEARCH, which
	 * removes and rebuilds it. */
	for (int attempt = 0; attempt < IMAPD_FTS_IDLE_ATTEMPTS; attempt++) {
		str_clear(&error);
		if (imapd_fts_idle_pass(&id, &error) ||
		    imapd_fts_idle_interrupted(&id, IMAPD_FTS_IDLE_RETRY_MS))
			break;
	}
	if (error.len > 0)
		msg_debug("%s: idle indexing: %s", f->dir, str_c(&error));
	str_release(&error);
	return id.changed;
}
