/*
 * store: folders of the mailbox store (store.h): open, refresh, look up,
 * deliver, change flags and keywords, expunge, compact.
 *
 * Every change follows one pattern: take the folder's lock, catch up
 * with the log, note whether new/ and cur/ are as the index last
 * recorded them ("clean"), change the files, and append the records
 * (with the directories' new mtimes only if they were clean, so a file
 * another program dropped meanwhile is still found by the next scan),
 * fdatasync, unlock. The change is acknowledged after that. A delivery
 * differs in one step: it unlocks before syncing, and syncs new/ and
 * the log in a group commit with the deliveries that ran beside it
 * (store_deliver_sync); it is still acknowledged only after that.
 *
 * SECURITY: runs as the mailbox owner (local after its switch, pop3d,
 * imapd). Folder names reach here from clients: store_folder_path()
 * refuses anything that could leave the user's Maildir.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bgsync.h"
#include "group_sync.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "store_int.h"
#include "store_quota.h"
#include "uidlist.h"

static const struct {
	char letter;
	uint32_t flag;
} store_letters[] = {	/* ASCII order, as the Maildir spec asks */
	{ 'D', STORE_F_DRAFT },   { 'F', STORE_F_FLAGGED },
	{ 'P', STORE_F_PASSED },  { 'R', STORE_F_ANSWERED },
	{ 'S', STORE_F_SEEN },    { 'T', STORE_F_DELETED },
};

void store_flags_letters(uint32_t flags, struct str *out)
{
	for (size_t i = 0; i < sizeof(store_letters) / sizeof(*store_letters);
	     i++)
		if (flags & store_letters[i].flag)
			str_append_c(out, store_letters[i].letter);
}

uint32_t store_flags_from_name(const char *name)
{
	const char *info = strstr(name, ":2,");
	uint32_t flags = 0;

	if (info == NULL)
		return 0;
	for (info += 3; *info != '\0'; info++)
		for (size_t i = 0;
		     i < sizeof(store_letters) / sizeof(*store_letters); i++)
			if (*info == store_letters[i].letter)
				flags |= store_letters[i].flag;
	return flags;
}

bool store_folder_path(const char *root, const char *folder,
		       struct str *dir_r)
{
	str_clear(dir_r);
	str_append(dir_r, root);
	if (folder == NULL || *folder == '\0' ||
	    strcasecmp(folder, "INBOX") == 0)
		return true;
	if (strlen(folder) > 255 || folder[0] == '.' ||
	    strstr(folder, "..") != NULL ||
	    folder[strlen(folder) - 1] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)folder; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '/')
			return false;
	str_append(dir_r, "/.");
	str_append(dir_r, folder);
	return true;
}

void store_folder_clear(struct store_folder *f)
{
	store_msgs_release(f);
	for (unsigned i = 0; i < f->nkeywords; i++)
		mem_free(f->keywords[i]);
	f->nkeywords = 0;
	f->uidvalidity = 0;
	f->uidnext = 1;
	f->highestmodseq = 0;
	f->new_mtime_ns = f->cur_mtime_ns = 0;
	f->log_records = 0;
	f->log_gen = 0;
	f->snapshot_old = false;
	store_vanished_clear(f);
}

void store_folder_free(struct store_folder **fp)
{
	struct store_folder *f = *fp;

	if (f == NULL)
		return;
	store_folder_clear(f);
	store_cache_release(f);
	if (f->log_fd >= 0)
		close(f->log_fd);
	free(f->changes);
	free(f->dir);
	free(f);
	*fp = NULL;
}

struct store_msg *store_lookup(const struct store_folder *f, uint32_t uid,
			       size_t *index_r)
{
	size_t lo = 0, hi = f->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->msgs[mid].uid == uid) {
			if (index_r != NULL)
				*index_r = mid;
			return &f->msgs[mid];
		}
		if (f->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void store_msg_path(const struct store_folder *f,
		    const struct store_msg *msg, struct str *path_r)
{
	str_clear(path_r);
	str_printf(path_r, "%s/%s/%s", f->dir, msg->in_new ? "new" : "cur",
		   store_msg_name(f, msg));
}

int64_t store_msg_date(const struct store_folder *f,
		       const struct store_msg *msg)
{
	struct str path = STR_INIT;
	struct stat st;
	uint64_t secs;

	if (msg->internaldate != STORE_DATE_UNKNOWN)
		return msg->internaldate;
	store_msg_path(f, msg, &path);
	if (stat(str_c(&path), &st) == 0) {
		str_release(&path);
		/* msg is in f's own array (copy-on-write or heap), which
		 * the views hand out as const. */
		((struct store_msg *)msg)->internaldate = (int64_t)st.st_mtime;
		return msg->internaldate;
	}
	str_release(&path);
	/* Gone or renamed since the view was read: the delivery time a
	 * Maildir name starts with, for now (not kept: the next refresh
	 * may find the file under its new name). */
	secs = store_name_secs(store_msg_name(f, msg));
	return secs <= INT64_MAX ? (int64_t)secs : 0;
}

/* A UIDVALIDITY never given before in this user's Maildir++ tree: the
 * time, or one more than the last one handed out (a folder deleted and
 * created again within a second must not get its old value back). Kept
 * in "correo-uidvalidity" at the root, as Dovecot keeps its own. */
static uint32_t store_next_uidvalidity(const char *dir)
{
	struct str path = STR_INIT;
	const char *base = strrchr(dir, '/');
	uint32_t v = (uint32_t)time(NULL), last;
	char buf[32];
	ssize_t n;
	int fd;

	if (base != NULL && base[1] == '.')
		str_append_n(&path, dir, (size_t)(base - dir));
	else
		str_append(&path, dir);
	str_append(&path, "/correo-uidvalidity");
	fd = open(str_c(&path), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	str_release(&path);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		/* The time still makes a fresh value, but not one that is
		 * sure never to repeat: say so. */
		msg_warn("%s: cannot record uidvalidity: %m", dir);
		goto out;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	last = (uint32_t)strtoul(buf, NULL, 16);
	if (last >= v && last < UINT32_MAX)
		v = last + 1;
	n = snprintf(buf, sizeof(buf), "%08x\n", v);
	if (pwrite(fd, buf, (size_t)n, 0) != n || fdatasync(fd) != 0)
		msg_warn("%s: cannot record uidvalidity: %m", dir);
out:
	if (fd >= 0)
		close(fd);
	return v;
}

/* A new index for the folder: UIDVALIDITY and UIDNEXT from POP3's former
 * list if there is one, then a scan. Lock held. */
static bool store_index_build(struct store_folder *f, struct str *error_r)
{
	struct uidlist ul = UIDLIST_INIT;
	struct str error = STR_INIT;

	store_folder_clear(f);
	f->uidvalidity = store_next_uidvalidity(f->dir);
	if (uidlist_read(f->dir, &ul, &error) == 1 && ul.validity != 0) {
		f->uidvalidity = ul.validity;
		f->uidnext = ul.next > 0 ? ul.next : 1;
	}
	uidlist_clear(&ul);
	str_release(&error);
	/* Mtimes 0 in the snapshot: the scan below records the real ones. */
	return store_index_write(f, error_r) && store_sync_scan(f, error_r);
}

/* Whether the log has grown long enough that a new snapshot is worth
 * writing: replaying a text record costs far more than using a
 * snapshot's in place. */
static bool store_log_long(const struct store_folder *f)
{
	return f->log_records > STORE_COMPACT_RECORDS &&
	       (f->log_records > f->count / 8 ||
		f->log_records > STORE_COMPACT_MAX);
}

/* Lock held: catch up, and scan if the directories changed (or always:
 * force). */
static bool store_sync_locked(struct store_folder *f, bool force,
			      struct str *error_r)
{
	if (!store_index_catch_up(f, true, error_r))
		return false;
	if (!force && store_dirs_clean(f))
		return true;
	return store_sync_scan(f, error_r);
}

struct store_folder *store_folder_open(const char *dir, bool create,
				       struct str *error_r)
{
	struct store_folder *f = mem_alloc(sizeof(*f));
	bool rescan;
	int lock = -1, ret;

	f->dir = mem_strdup(dir);
	f->log_fd = -1;
	store_folder_clear(f);
	str_clear(error_r);
	if (create && !maildir_create(dir, NULL)) {
		str_printf(error_r, "create %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* Without the lock first: the common case reads and is done. */
	ret = store_index_load(f, false, error_r);
	if (ret < 0)
		goto fail;
	rescan = ret == 1 && store_log_rescan(f);
	if (ret == 1 && !rescan && store_dirs_clean(f) && !f->snapshot_old &&
	    !store_log_long(f)) {
		if (!store_log_durable(f, error_r))
			goto fail;
		return f;
	}
	lock = store_lock(dir, error_r);
	if (lock < 0)
		goto fail;
	ret = store_index_load(f, true, error_r);
	if (ret < 0)
		goto fail;
	if (ret == 0 ? !store_index_build(f, error_r) :
	    !store_sync_locked(f, rescan, error_r))
		goto fail;
	/* A text snapshot (migration) or a long log (after a build or a
	 * big scan): a binary snapshot makes the next open fast. */
	if ((f->snapshot_old || store_log_long(f)) &&
	    !store_index_write(f, error_r))
		msg_warn("%s: cannot compact the index: %s", dir,
			 str_c(error_r));
	str_clear(error_r);
	store_unlock(&lock);
	if (!store_log_durable(f, error_r))
		goto fail;
	f->nchanges = 0;
	return f;
fail:
	if (error_r->len == 0)
		str_printf(error_r, "open %s: %s", dir, strerror(errno));
	store_unlock(&lock);
	store_folder_free(&f);
	return NULL;
}

bool store_folder_refresh(struct store_folder *f, struct str *error_r)
{
	int lock;
	bool ok;

	str_clear(error_r);
	if (!store_index_catch_up(f, false, error_r))
		return false;
	if (store_dirs_clean(f))
		return store_log_durable(f, error_r);
	lock = store_lock(f->dir, error_r);
	if (lock < 0)
		return false;
	ok = store_sync_locked(f, false, error_r);
	store_unlock(&lock);
	return ok && store_log_durable(f, error_r);
}

/* Lock, catch up and note cleanliness; the caller changes files and
 * calls store_change_end. */
static int store_change_begin(struct store_folder *f, bool *clean_r,
			      struct str *error_r)
{
	int lock = store_lock(f->dir, error_r);

	if (lock < 0)
		return -1;
	if (!store_index_catch_up(f, true, error_r)) {
		store_unlock(&lock);
		return -1;
	}
	*clean_r = store_dirs_clean(f);
	return lock;
}

/* Append the batch (plus the directories' mtimes when they were
 * clean), unlock. */
static bool store_change_end(struct store_folder *f, int lock, bool clean,
			     struct store_batch *b, struct str *error_r)
{
	struct store_rec rec = { .kind = 'T', .has_t = true };
	bool ok;

	/* Nothing changed: nothing to write (and no fdatasync). */
	if (clean && b->out.len > 0 &&
	    store_dir_mtimes_record(f->dir, &rec.new_ns, &rec.cur_ns))
		store_batch_add(b, &rec);
	ok = store_log_append(f, &b->out, error_r);
	if (ok && store_log_long(f) &&
	    store_index_write(f, error_r))	/* best effort */
		(void)store_cache_compact(f, false);
	store_unlock(&lock);
	str_release(&rec.name);
	return ok;
}

int store_msg_open(struct store_folder *f, uint32_t uid,
		   struct str *error_r)
{
	struct str path = STR_INIT;
	struct store_msg *m;
	int fd = -1;

	for (int attempt = 0; attempt < 2; attempt++) {
		m = store_lookup(f, uid, NULL);
		if (m == NULL) {
			errno = ENOENT;
			break;
		}
		store_msg_path(f, m, &path);
		fd = open(str_c(&path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT || attempt > 0)
			break;
		/* Renamed or removed behind our back: look again. */
		if (!store_folder_refresh(f, error_r))
			break;
	}
	if (fd < 0 && error_r->len == 0)
		str_printf(error_r, "open message uid %u in %s: %s", uid,
			   f->dir, strerror(errno));
	str_release(&path);
	return fd;
}

int store_keyword(struct store_folder *f, const char *name,
		  struct str *error_r)
{
	struct store_rec rec = { .kind = 'K' };
	struct store_batch b;
	bool clean;
	int lock, idx = -1;

	for (unsigned i = 0; i < f->nkeywords; i++)
		if (strcasecmp(f->keywords[i], name) == 0)
			return (int)i;
	lock = store_change_begin(f, &clean, error_r);
	if (lock < 0)
		return -1;
	for (unsigned i = 0; i < f->nkeywords; i++)
		if (strcasecmp(f->keywords[i], name) == 0)
			idx = (int)i;
	store_batch_init(&b, f);
	if (idx < 0 && f->nkeywords < STORE_MAX_KEYWORDS) {
		rec.idx = f->nkeywords;
		str_set(&rec.name, name);
		store_batch_add(&b, &rec);
		idx = (int)rec.idx;
		if (!store_change_end(f, lock, false, &b, error_r))
			idx = -1;
		lock = -1;
	} else if (idx < 0) {
		str_printf(error_r, "%s: too many keywords", f->dir);
	}
	store_unlock(&lock);
	store_batch_release(&b);
	str_release(&rec.name);
	return idx;
}

/* The name msg should have with flags: cur/ and ":2,LETTERS". */
static void store_flagged_name(const struct store_folder *f,
			       const struct store_msg *m, uint32_t flags,
			       struct str *name_r)
{
	const char *old = store_msg_name(f, m);

	str_clear(name_r);
	str_append_n(name_r, old, store_base_len(old));
	str_append(name_r, ":2,");
	store_flags_letters(flags, name_r);
	/* Letters of other tools we do not know stay. */
	const char *info = strstr(old, ":2,");
	if (info != NULL)
		for (info += 3; *info != '\0'; info++)
			if (strchr("DFPRST", *info) == NULL &&
			    *info >= 'a' && *info <= 'z')
				str_append_c(name_r, *info);
}

int store_set_flags(struct store_folder *f, uint32_t uid, uint32_t flags,
		    uint64_t keywords, struct str *error_r)
{
	return store_change_flags(f, uid, STORE_FLAGS_SET, flags, keywords,
				  error_r);
}

int store_change_flags(struct store_folder *f, uint32_t uid,
		       enum store_flags_op op, uint32_t flags,
		       uint64_t keywords, struct str *error_r)
{
	return store_change_flags_unchanged(f, uid, op, flags, keywords,
					    UINT64_MAX, error_r);
}

int store_change_flags_unchanged(struct store_folder *f, uint32_t uid,
				 enum store_flags_op op, uint32_t flags,
				 uint64_t keywords, uint64_t unchangedsince,
				 struct str *error_r)
{
	struct store_rec rec = { .kind = 'F' };
	struct str name = STR_INIT, from = STR_INIT, to = STR_INIT;
	struct store_batch b = { STR_INIT, 0, 0, NULL };
	struct store_msg *m;
	bool clean;
	int lock, ret = -1;

	lock = store_change_begin(f, &clean, error_r);
	if (lock < 0)
		return -1;
	m = store_lookup(f, uid, NULL);
	if (m == NULL && !clean) {
		/* Perhaps renamed by another program: scan, look again. */
		if (!store_sync_scan(f, error_r))
			goto out;
		clean = true;
		m = store_lookup(f, uid, NULL);
	}
	if (m == NULL) {
		ret = 0;
		goto out;
	}
	if (m->modseq > unchangedsince) {
		ret = 2;	/* changed since the client looked */
		goto out;
	}
	if (op == STORE_FLAGS_ADD) {
		flags |= m->flags;
		keywords |= m->keywords;
	} else if (op == STORE_FLAGS_REMOVE) {
		flags = m->flags & ~flags;
		keywords = m->keywords & ~keywords;
	}
	flags = (flags & STORE_F_ALL) | (m->flags & STORE_F_RECENT);
	store_flagged_name(f, m, flags & STORE_F_ALL, &name);
	if (!m->in_new && strcmp(str_c(&name), store_msg_name(f, m)) == 0 &&
	    m->keywords == keywords && m->flags == flags) {
		ret = 1;	/* nothing to change */
		goto out;
	}
	store_msg_path(f, m, &from);
	str_printf(&to, "%s/cur/%s", f->dir, str_c(&name));
	if (strcmp(str_c(&from), str_c(&to)) != 0 &&
	    rename(str_c(&from), str_c(&to)) != 0) {
		if (errno == ENOENT) {
			ret = 0;	/* gone: the next scan expunges it */
			goto out;
		}
		str_printf(error_r, "rename %s: %s", str_c(&from),
			   strerror(errno));
		goto out;
	}
	rec.uid = uid;
	rec.flags = flags;
	rec.keywords = keywords;
	rec.in_new = false;
	str_set(&rec.name, str_c(&name));
	store_batch_init(&b, f);
	store_batch_add(&b, &rec);
	ret = store_change_end(f, lock, clean, &b, error_r) ? 1 : -1;
	lock = -1;
out:
	store_unlock(&lock);
	str_release(&name);
	str_release(&from);
	str_release(&to);
	store_batch_release(&b);
	str_release(&rec.name);
	return ret;
}

int store_expunge(struct store_folder *f, const uint32_t *uids, size_t n,
		  struct str *error_r)
{
	struct store_rec rec = { .kind = 'E' };
	struct str path = STR_INIT;
	struct store_batch b;
	bool clean;
	int lock, removed = 0, qlock;
	int64_t bytes = 0, unlinked = 0;

	/* The quota lock before the index lock (store_quota.h). */
	qlock = store_quota_lock(f->dir, false);
	lock = store_change_begin(f, &clean, error_r);
	if (lock < 0) {
		store_quota_unlock(&qlock);
		return -1;
	}
	store_batch_init(&b, f);
	for (size_t i = 0; i < n; i++) {
		struct store_msg *m = store_lookup(f, uids[i], NULL);

		if (m == NULL)
			continue;
		store_msg_path(f, m, &path);
		/* A file gone already is uncounted by whoever removed
		 * it (a Maildir++ tool does, else a recalculation). */
		if (unlink(str_c(&path)) == 0) {
			bytes += (int64_t)m->size;
			unlinked++;
		} else if (errno != ENOENT) {
			str_printf(error_r, "unlink %s: %s", str_c(&path),
				   strerror(errno));
			break;
		}
		rec.uid = uids[i];
		store_batch_add(&b, &rec);
		removed++;
	}
	/* The files are gone: uncount them whatever the index says. */
	store_quota_note(f->dir, -bytes, -unlinked);
	/* The records of what is already unlinked go in even after an
	 * error: the files are gone either way. */
	if (!store_change_end(f, lock, clean && error_r->len == 0, &b,
			      error_r) || error_r->len > 0)
		removed = -1;
	store_quota_unlock(&qlock);
	if (removed > 0 && f->cache != NULL)
		(void)store_cache_compact(f, false);	/* if worth it */
	str_release(&path);
	store_batch_release(&b);
	str_release(&rec.name);
	return removed;
}

bool store_compact(struct store_folder *f, struct str *error_r)
{
	int lock = store_lock(f->dir, error_r);
	bool ok;

	if (lock < 0)
		return false;
	ok = store_index_catch_up(f, true, error_r) &&
	     store_index_write(f, error_r);
	store_unlock(&lock);
	if (ok && !store_cache_compact(f, true))
		msg_warn("%s: cannot compact the message cache: %m", f->dir);
	return ok;
}

/* Release store_deliver_lock's lock. */
static void store_deliver_unlock(const char *dir, int *lock, bool kept)
{
	if (kept)
		store_index_peek_lock_put(dir, lock);
	else
		store_unlock(lock);
}

/* Lock dir's index and read its counters (building the index first if
 * it has none). -1 with a reason; *kept_r says whether the lock is the
 * picture's descriptor (store_deliver_unlock). */
static int store_deliver_lock(struct store_folder *f, bool *kept_r,
			      struct str *error_r)
{
	struct store_folder *full;
	int lock, ret;

	for (int attempt = 0; attempt < 2; attempt++) {
		lock = attempt == 0 ? store_index_peek_lock_take(f->dir) : -1;
		*kept_r = lock >= 0;
		if (lock < 0)
			lock = store_lock(f->dir, error_r);
		if (lock < 0)
			return -1;
		ret = store_index_peek(f, error_r);
		if (ret == 1)
			return lock;
		store_deliver_unlock(f->dir, &lock, *kept_r);
		if (ret < 0 || attempt > 0)
			break;
		/* No index yet, or one that needs repair: a full open
		 * builds or repairs it. */
		full = store_folder_open(f->dir, true, error_r);
		if (full == NULL)
			return -1;
		store_folder_free(&full);
	}
	if (error_r->len == 0)
		str_printf(error_r, "index of %s unusable", f->dir);
	return -1;
}

struct store_sync_ctx {
	const char *path;	/* the delivered file: its directory */
	int dir_fd;		/* that directory open, or -1 */
	int log_fd;
};

/* new/ and the log, their syncs side by side (bgsync.h). */
static bool store_sync_delivery(void *ctx)
{
	struct store_sync_ctx *c = ctx;
	struct bgsync bg;
	bool ok;
	int saved;

	if (c->log_fd >= 0)
		bgsync_start(&bg, c->log_fd, true);
	ok = c->dir_fd >= 0 ? fsync(c->dir_fd) == 0 :
		safe_fsync_dir(c->path);
	saved = errno;
	if (c->log_fd >= 0 && !bgsync_wait(&bg))
		return false;
	errno = saved;
	return ok;
}

/* A delivery's sync failed (errno): its reason and status. */
static enum maildir_status store_sync_failed(const struct maildir_tmp *t,
					     struct str *error_r,
					     const char **dsn_r)
{
	int err = errno;

	str_clear(error_r);
	str_printf(error_r, "maildir delivery failed: fsync %s: %s",
		   str_c(&t->dst), strerror(err));
	return maildir_errno_status(err, dsn_r);
}

/* Make a delivery durable: its directory entry, and the log record
 * when the caller shows the UID (expose). One process at a time syncs
 * new/ for every delivery to the folder finished before it started
 * (group_sync.h), so concurrent deliveries share the sync instead of
 * queueing on the index lock for one each. A delivery with flags (into
 * cur/) syncs alone: the group's sync covers new/ only.
 *
 * The log record of a delivery nobody is shown (local's) is left to
 * whoever first shows its UID (store_log_durable): a crash before that
 * loses the record, not the message, which the next scan indexes under
 * the same UIDNEXT; no one has seen the UID. That spares a sync per
 * delivery group (measured: 3.05 to 2.6 disk flushes a message at ten
 * SMTP sessions). */
static enum maildir_status store_deliver_sync(struct store_folder *f,
					      struct maildir_tmp *t,
					      bool group, bool expose,
					      struct str *error_r,
					      const char **dsn_r)
{
	struct store_sync_ctx c = { str_c(&t->dst), -1,
				    expose && !group ? f->log_fd : -1 };
	uint64_t mark = group_sync_mark();
	struct str path = STR_INIT;
	int state = -1, own = -1;
	bool ok;

	if (group) {
		/* new/ and the state file as the peek keeps them open. */
		store_index_peek_fds(f, &c.dir_fd, &state);
	}
	if (group && state < 0) {
		str_printf(&path, "%s/%s", f->dir, STORE_SYNC_FILE);
		state = own = group_sync_open(AT_FDCWD, str_c(&path));
		str_release(&path);
	}
	ok = group_sync_run(state, mark, store_sync_delivery, &c, NULL);
	if (own >= 0)
		close(own);
	/* After an I/O error the next delivery starts from fresh
	 * descriptors. */
	if (!ok) {
		int saved = errno;

		store_index_peek_forget();
		errno = saved;
	}
	if (ok && c.log_fd >= 0)
		store_log_synced(f);
	else if (ok && expose && !store_log_durable(f, error_r))
		return maildir_errno_status(errno, dsn_r);
	if (ok)
		return MAILDIR_OK;
	return store_sync_failed(t, error_r, dsn_r);
}

/* Folders delivered to without indexing (store_deliver_plain): new/
 * and the group-sync state file, kept open as a pair while new/ is the
 * same directory (a folder made anew has another new/, and a sync of
 * the old one covers nothing in it). */
#define STORE_PLAIN_DIRS 16
struct store_plain_dir {
	char *dir;
	int new_fd, state_fd;
	dev_t dev;
	ino_t ino;
};
static struct store_plain_dir store_plain_dirs[STORE_PLAIN_DIRS];
static unsigned int store_plain_next;

static void store_plain_drop(struct store_plain_dir *p)
{
	if (p->dir == NULL)
		return;
	free(p->dir);
	p->dir = NULL;
	if (p->new_fd >= 0)
		close(p->new_fd);
	if (p->state_fd >= 0)
		close(p->state_fd);
	p->new_fd = p->state_fd = -1;
}

/* dir's new/ (-1 if it cannot be opened: the sync then goes by name)
 * and its group-sync state (-1: sync alone). */
static struct store_plain_dir *store_plain_get(const char *dir)
{
	struct str path = STR_INIT;
	struct store_plain_dir *p = NULL;
	struct stat st;
	bool found = false;

	str_printf(&path, "%s/new", dir);
	if (lstat(str_c(&path), &st) == 0) {
		for (size_t i = 0; i < STORE_PLAIN_DIRS && !found; i++) {
			p = &store_plain_dirs[i];
			found = p->dir != NULL && strcmp(p->dir, dir) == 0 &&
				p->dev == st.st_dev && p->ino == st.st_ino;
		}
	}
	if (found) {
		str_release(&path);
		return p;
	}
	for (size_t i = 0; i < STORE_PLAIN_DIRS; i++)
		if (store_plain_dirs[i].dir != NULL &&
		    strcmp(store_plain_dirs[i].dir, dir) == 0)
			store_plain_drop(&store_plain_dirs[i]);
	p = &store_plain_dirs[store_plain_next++ % STORE_PLAIN_DIRS];
	store_plain_drop(p);
	p->new_fd = open(str_c(&path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			 O_CLOEXEC);
	if (p->new_fd >= 0 && fstat(p->new_fd, &st) == 0) {
		p->dev = st.st_dev;
		p->ino = st.st_ino;
		str_clear(&path);
		str_printf(&path, "%s/%s", dir, STORE_SYNC_FILE);
		p->state_fd = group_sync_open(AT_FDCWD, str_c(&path));
		p->dir = mem_strdup(dir);
	} else {
		if (p->new_fd >= 0)
			close(p->new_fd);
		p->new_fd = p->state_fd = -1;
	}
	str_release(&path);
	return p;
}

/* A delivery into new/ without a UID for the caller (local's): the
 * file is linked and its entry synced (with the folder's group, as
 * store_deliver_sync), and nothing else. The first reader's scan
 * indexes it (store_dir_mtimes_record keeps new/ looking changed until
 * its mtime has settled, so one linked in the same clock tick as a
 * scan is not missed), as Dovecot does for mail Postfix's local
 * delivered; the cache entry is computed at the first FETCH that needs
 * it. Indexing at delivery (the lock, the log's tail, the record and
 * the cache entry) was 6-12% of the machine's CPU a message in a
 * receive run (bench/RESULTS.md). */
static enum maildir_status store_deliver_plain(const char *dir,
					       struct maildir_tmp *t,
					       struct str *error_r,
					       const char **dsn_r)
{
	struct store_plain_dir *p;
	struct store_sync_ctx c = { str_c(&t->dst), -1, -1 };
	enum maildir_status status;
	int qlock;
	bool ok;

	qlock = store_quota_lock(dir, false);
	status = maildir_link_tmp(dir, NULL, t, error_r, dsn_r);
	if (status != MAILDIR_OK) {
		store_quota_unlock(&qlock);
		return status;
	}
	store_quota_note(dir, (int64_t)t->size, 1);
	store_quota_unlock(&qlock);
	p = store_plain_get(dir);
	c.dir_fd = p->new_fd;
	ok = group_sync_run(p->state_fd, group_sync_mark(),
			    store_sync_delivery, &c, NULL);
	if (ok)
		return MAILDIR_OK;
	status = store_sync_failed(t, error_r, dsn_r);
	/* After an I/O error the next delivery starts from fresh
	 * descriptors. */
	store_plain_drop(p);
	return status;
}

/* The message cache's entry for the message in iov (iovcnt buffers,
 * gathered into one when there are more; empty if it is too big to
 * cache). */
static void store_deliver_cache_iov(const struct iovec *iov, int iovcnt,
				    struct str *payload)
{
	struct str data = STR_INIT;
	const char *msg = iovcnt == 1 ? iov[0].iov_base : NULL;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > STORE_CACHE_MAX_MESSAGE)
		return;
	if (msg == NULL) {
		str_reserve(&data, len);
		for (int i = 0; i < iovcnt; i++)
			str_append_n(&data, iov[i].iov_base, iov[i].iov_len);
		msg = str_c(&data);
	}
	store_cache_compute(msg, len, (int64_t)time(NULL), payload);
	if (payload->len > STORE_CACHE_MAX_PAYLOAD)
		str_clear(payload);
	str_release(&data);
}

/* The same for the message in the file at path (empty if it cannot be
 * read); saved now. */
static void store_deliver_cache_entry(const char *path, struct str *payload)
{
	struct str data = STR_INIT;

	if (safe_read_file(path, &data, STORE_CACHE_MAX_MESSAGE)) {
		struct iovec iov = { (void *)str_c(&data), data.len };

		store_deliver_cache_iov(&iov, 1, payload);
	}
	str_release(&data);
}

/* store_deliver and store_deliver_iov: the message from write_fn, or
 * (write_fn NULL) from iov. */
static enum maildir_status store_deliver_src(const char *dir,
					     uint32_t flags,
					     int64_t internaldate,
					     maildir_write_fn *write_fn,
					     void *ctx,
					     const struct iovec *iov,
					     int iovcnt, long long size_limit,
					     uint32_t *uid_r,
					     struct str *error_r,
					     const char **dsn_r)
{
	struct store_folder f = { .log_fd = -1 };
	struct maildir_tmp t = MAILDIR_TMP_INIT;
	struct store_rec rec = { .kind = 'A' };
	struct store_batch b;
	struct str payload = STR_INIT;
	enum maildir_status status;
	const char *slash;
	uint32_t cache_uid = 0, added_uid = 0;
	bool clean, added = false, kept = false;
	int lock = -1, qlock = -1;

	if (uid_r != NULL)
		*uid_r = 0;
	f.dir = (char *)dir;
	store_folder_clear(&f);
	status = write_fn != NULL ?
		maildir_write_tmp(dir, NULL, write_fn, ctx, size_limit, &t,
				  error_r, dsn_r) :
		maildir_write_tmp_iov(dir, NULL, iov, iovcnt, size_limit, &t,
				      error_r, dsn_r);
	if (status != MAILDIR_OK)
		goto out;
	if (flags == 0 && uid_r == NULL && internaldate <= 0) {
		status = store_deliver_plain(dir, &t, error_r, dsn_r);
		goto out;
	}
	if (internaldate > 0) {
		struct timespec ts[2] = { { internaldate, 0 },
					  { internaldate, 0 } };

		(void)utimensat(AT_FDCWD, str_c(&t.tmp), ts, 0);
	}
	/* The cache entry, from the message in memory or the file just
	 * written (in the page cache), before the index is locked. */
	if (write_fn != NULL)
		store_deliver_cache_entry(str_c(&t.tmp), &payload);
	else
		store_deliver_cache_iov(iov, iovcnt, &payload);
	flags &= STORE_F_ALL;
	if (flags != 0) {
		/* With flags the file goes to cur/ with its info part. */
		slash = strrchr(str_c(&t.dst), '/');
		str_set(&rec.name, slash + 1);
		str_clear(&t.dst);
		str_printf(&t.dst, "%s/cur/%s:2,", dir, str_c(&rec.name));
		store_flags_letters(flags, &t.dst);
	}
	/* The quota lock before the index lock (store_quota.h). */
	qlock = store_quota_lock(dir, false);
	lock = store_deliver_lock(&f, &kept, error_r);
	if (lock < 0) {
		unlink(str_c(&t.tmp));
		status = maildir_errno_status(EAGAIN, dsn_r);
		goto out;
	}
	clean = store_dirs_clean(&f);
	/* Into new/ (or cur/) now, synced after the lock is released,
	 * together with the log record (store_deliver_sync). */
	status = maildir_link_tmp(dir, NULL, &t, error_r, dsn_r);
	if (status != MAILDIR_OK)
		goto out;
	/* The message is in the Maildir now: whatever happens to its index
	 * record, it is delivered (a scan indexes it), and counted. */
	store_quota_note(dir, (int64_t)t.size, 1);
	store_batch_init(&b, &f);
	slash = strrchr(str_c(&t.dst), '/');
	str_set(&rec.name, slash + 1);
	rec.uid = f.uidnext;
	rec.flags = flags != 0 ? flags | STORE_F_RECENT : 0;
	rec.idate = internaldate > 0 ? internaldate : (int64_t)time(NULL);
	rec.size = t.size;
	rec.vsize = t.vsize;
	rec.in_new = flags == 0;
	added = f.uidnext < UINT32_MAX;
	added_uid = rec.uid;
	if (added)
		store_batch_add(&b, &rec);
	if (clean) {
		store_rec_reset(&rec);
		rec.kind = 'T';
		rec.has_t = true;
		if (store_dir_mtimes_record(dir, &rec.new_ns, &rec.cur_ns))
			store_batch_add(&b, &rec);
	}
	if (!store_log_write(&f, &b.out, false, error_r))
		msg_warn("%s: delivered, not indexed (the next scan will): "
			 "%s", dir, str_c(error_r));
	else if (added)
		/* The uid the A record took (none when UIDs ran out: the
		 * cache entry must not go to another message's uid). */
		cache_uid = added_uid;
	if (uid_r != NULL)
		*uid_r = cache_uid;
	str_clear(error_r);
	store_batch_release(&b);
	store_deliver_unlock(dir, &lock, kept);
	store_quota_unlock(&qlock);
	status = store_deliver_sync(&f, &t, flags == 0, uid_r != NULL,
				    error_r, dsn_r);
out:
	store_deliver_unlock(dir, &lock, kept);
	store_quota_unlock(&qlock);
	if (cache_uid != 0 && payload.len > 0)
		(void)store_cache_add(dir, f.uidvalidity, cache_uid,
				      strrchr(str_c(&t.dst), '/') + 1,
				      &payload);
	str_release(&payload);
	maildir_tmp_release(&t);
	str_release(&rec.name);
	f.dir = NULL;
	store_folder_clear(&f);
	if (f.log_fd >= 0)
		close(f.log_fd);
	free(f.changes);
	return status;
}

enum maildir_status store_deliver(const char *dir, uint32_t flags,
				  int64_t internaldate,
				  maildir_write_fn *write_fn, void *ctx,
				  long long size_limit, uint32_t *uid_r,
				  struct str *error_r, const char **dsn_r)
{
	return store_deliver_src(dir, flags, internaldate, write_fn, ctx,
				 NULL, 0, size_limit, uid_r, error_r, dsn_r);
}

enum maildir_status store_deliver_iov(const char *dir, uint32_t flags,
				      int64_t internaldate,
				      const struct iovec *iov, int iovcnt,
				      long long size_limit, uint32_t *uid_r,
				      struct str *error_r,
				      const char **dsn_r)
{
	return store_deliver_src(dir, flags, internaldate, NULL, NULL, iov,
				 iovcnt, size_limit, uid_r, error_r, dsn_r);
}

int store_claim_new(struct store_folder *f, uint32_t **uids_r,
		    struct str *error_r)
{
	struct store_rec rec = { .kind = 'F' };
	struct str from = STR_INIT, name = STR_INIT;
	struct store_batch b;
	uint32_t *uids = NULL;
	size_t ncap = 0, first, left;
	bool clean = false;
	int lock, n = 0;

	*uids_r = NULL;
	/* The common case, nothing new: no lock, no write (and no look
	 * at every message: the folder counts them). */
	if (f->unclaimed == 0)
		return 0;
	lock = store_change_begin(f, &clean, error_r);
	if (lock < 0)
		return -1;
	store_batch_init(&b, f);
	/* Unclaimed messages are nearly always the newest: find the
	 * oldest of the counted ones from the end, then take them in UID
	 * order (their modseqs follow it). */
	for (first = f->count, left = f->unclaimed; first > 0 && left > 0;)
		left -= store_msg_unclaimed(&f->msgs[--first]);
	for (size_t i = first; i < f->count; i++) {
		struct store_msg *m = &f->msgs[i];

		if (!m->in_new && !(m->flags & STORE_F_RECENT))
			continue;
		store_flagged_name(f, m, m->flags & STORE_F_ALL, &name);
		if (m->in_new) {
			store_msg_path(f, m, &from);
			str_clear(&rec.name);
			str_printf(&rec.name, "%s/cur/%s", f->dir,
				   str_c(&name));
			if (rename(str_c(&from), str_c(&rec.name)) != 0) {
				/* ENOENT: gone, or taken by another Maildir
				 * program; anything else is worth a word. */
				if (errno != ENOENT)
					msg_warn("rename %s: %m",
						 str_c(&from));
				continue;
			}
		} else {
			str_set(&name, store_msg_name(f, m));
		}
		store_rec_reset(&rec);
		rec.kind = 'F';
		rec.uid = m->uid;
		rec.flags = m->flags & STORE_F_ALL;
		rec.keywords = m->keywords;
		rec.in_new = false;
		str_set(&rec.name, str_c(&name));
		store_batch_add(&b, &rec);
		if ((size_t)n == ncap) {
			ncap = ncap == 0 ? 64 : ncap * 2;
			uids = mem_array_realloc(uids, ncap, sizeof(*uids));
		}
		uids[n++] = m->uid;
	}
	if (!store_change_end(f, lock, clean, &b, error_r)) {
		mem_free(uids);
		n = -1;
	}
	*uids_r = uids;
	store_batch_release(&b);
	str_release(&from);
	str_release(&name);
	str_release(&rec.name);
	return n;
}
