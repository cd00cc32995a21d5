/*
 * store_sync: reconcile a folder's index with its Maildir (store_int.h).
 *
 * Runs with the folder's lock held, only when new/ or cur/ changed
 * behind the index's back (their mtimes differ from the recorded ones)
 * or when an index is built. The directories' mtimes are taken before
 * they are read, so a file dropped during the scan changes them again
 * and the next refresh scans once more. Each directory is read once and
 * names are matched through a hash table of base names: linear in the
 * folder's size.
 *
 * A file whose base name the index knows keeps its UID; its flags are
 * taken from its name (the Maildir is the truth about system flags,
 * which other Maildir tools change by renaming). A file the index does
 * not know gets the next UID, in name order with numbers compared as
 * numbers (delivery order for names that start with the time). An index entry whose file is gone is
 * expunged. When only new/ changed (local's deliveries write no index
 * record), cur/ is not read. new/'s mtime is recorded only once it is
 * two seconds old (store_dir_mtimes_record), so a delivery within the
 * same clock tick as a scan is found by the next one. XXX: a file
 * dropped into cur/ by another program within the same mtime tick as a
 * recorded change of ours is found only at the next change of cur/.
 *
 * SECURITY: runs as the mailbox owner on the owner's folder. Names come
 * from readdir (no '/'); dot files are skipped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "store_int.h"
#include "uidlist.h"

struct store_file {
	char *name;
	size_t base_len;
	uint64_t secs;		/* the name's leading number: sorts first */
	unsigned char type;	/* readdir's d_type */
	bool in_new;
	bool used;
};

struct store_scan {
	struct store_file *files;
	size_t count, cap;
	size_t *hash;		/* index + 1; 0 is empty */
	size_t mask;
	int dfd[2];		/* cur/ and new/, for fstatat: [in_new] */
};

uint64_t store_name_secs(const char *name)
{
	uint64_t secs = 0;

	for (const char *p = name;
	     *p >= '0' && *p <= '9' && secs < UINT64_MAX / 20; p++)
		secs = secs * 10 + (uint64_t)(*p - '0');
	return secs;
}

size_t store_base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

static int64_t store_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

bool store_dir_mtimes(const char *dir, int64_t *new_ns, int64_t *cur_ns)
{
	struct str path = STR_INIT;
	struct stat st;
	bool ok;

	str_printf(&path, "%s/new", dir);
	ok = stat(str_c(&path), &st) == 0;
	if (ok)
		*new_ns = store_ns(&st);
	str_clear(&path);
	str_printf(&path, "%s/cur", dir);
	ok = ok && stat(str_c(&path), &st) == 0;
	if (ok)
		*cur_ns = store_ns(&st);
	str_release(&path);
	return ok;
}

int64_t store_mtime_settle_ns = STORE_MTIME_SETTLE_NS;

bool store_dir_mtimes_record(const char *dir, int64_t *new_ns,
			     int64_t *cur_ns)
{
	struct timespec now;
	int64_t settled;

	if (!store_dir_mtimes(dir, new_ns, cur_ns))
		return false;
	/* A file linked into new/ later within the same clock tick would
	 * leave this mtime as it is: only a settled one is recorded. */
	if (clock_gettime(CLOCK_REALTIME, &now) == 0) {
		settled = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec -
			  store_mtime_settle_ns;
		if (*new_ns > settled)
			*new_ns = STORE_MTIME_UNSET;
	}
	return true;
}

bool store_dirs_clean(const struct store_folder *f)
{
	int64_t n, c;

	return store_dir_mtimes(f->dir, &n, &c) && n == f->new_mtime_ns &&
	       c == f->cur_mtime_ns;
}

static uint64_t store_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static bool store_scan_dir(struct store_scan *sc, const char *dir,
			   const char *sub, bool in_new)
{
	struct str path = STR_INIT;
	struct dirent *de;
	DIR *d;

	str_printf(&path, "%s/%s", dir, sub);
	d = opendir(str_c(&path));
	str_release(&path);
	if (d == NULL)
		return false;
	sc->dfd[in_new] = fcntl(dirfd(d), F_DUPFD_CLOEXEC, 0);
	if (sc->dfd[in_new] < 0) {
		closedir(d);
		return false;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct store_file *fl;

		if (de->d_name[0] == '.')
			continue;
		if (sc->count == sc->cap) {
			sc->cap = sc->cap == 0 ? 256 : sc->cap * 2;
			sc->files = mem_array_realloc(sc->files, sc->cap,
						      sizeof(*sc->files));
		}
		fl = &sc->files[sc->count++];
		fl->name = mem_strdup(de->d_name);
		fl->base_len = store_base_len(fl->name);
		/* No leading number: after those with one, as strverscmp
		 * would sort it. */
		fl->secs = de->d_name[0] >= '0' && de->d_name[0] <= '9' ?
			   store_name_secs(fl->name) : UINT64_MAX;
		fl->type = de->d_type;
		fl->in_new = in_new;
		fl->used = false;
	}
	closedir(d);
	return errno == 0;
}

static void store_scan_hash(struct store_scan *sc)
{
	size_t size = 16;

	while (size < sc->count * 2)
		size *= 2;
	sc->mask = size - 1;
	sc->hash = mem_array(size, sizeof(*sc->hash));
	for (size_t i = 0; i < sc->count; i++) {
		size_t h = store_hash(sc->files[i].name,
				      sc->files[i].base_len) & sc->mask;

		while (sc->hash[h] != 0)
			h = (h + 1) & sc->mask;
		sc->hash[h] = i + 1;
	}
}

static struct store_file *store_scan_find(struct store_scan *sc,
					  const char *name, size_t len)
{
	size_t h = store_hash(name, len) & sc->mask;

	for (; sc->hash[h] != 0; h = (h + 1) & sc->mask) {
		struct store_file *fl = &sc->files[sc->hash[h] - 1];

		if (!fl->used && fl->base_len == len &&
		    memcmp(fl->name, name, len) == 0)
			return fl;
	}
	return NULL;
}

static void store_scan_free(struct store_scan *sc)
{
	for (size_t i = 0; i < sc->count; i++)
		free(sc->files[i].name);
	free(sc->files);
	free(sc->hash);
	for (int i = 0; i < 2; i++)
		if (sc->dfd[i] >= 0)
			close(sc->dfd[i]);
}

static size_t store_scan_unused(const struct store_scan *sc)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->count; i++)
		n += !sc->files[i].used;
	return n;
}

/* Match the known message m against the scan: an E record if its file
 * is gone (unless absent_ok: it is in cur/, which was not read), an F
 * record if its name or directory changed. */
static void store_scan_match(const struct store_folder *f,
			     struct store_scan *sc, const struct store_msg *m,
			     bool absent_ok, struct store_batch *b,
			     struct store_rec *rec)
{
	const char *name = store_msg_name(f, m);
	struct store_file *fl = store_scan_find(sc, name,
						store_base_len(name));

	store_rec_reset(rec);
	rec->uid = m->uid;
	if (fl == NULL) {
		if (!absent_ok) {
			rec->kind = 'E';
			store_batch_add(b, rec);
		}
		return;
	}
	fl->used = true;
	if (strcmp(fl->name, name) == 0 && fl->in_new == (m->in_new != 0))
		return;
	rec->kind = 'F';
	rec->flags = store_flags_from_name(fl->name) |
		     (m->flags & STORE_F_RECENT);
	rec->keywords = m->keywords;
	rec->in_new = fl->in_new;
	str_set(&rec->name, fl->name);
	store_batch_add(b, rec);
}

static int store_file_cmp(const void *a, const void *b)
{
	const struct store_file *x = *(struct store_file *const *)a;
	const struct store_file *y = *(struct store_file *const *)b;

	/* Numbers compare as numbers: "1700.M95P1" was delivered before
	 * "1700.M123P1" (Maildir names do not pad their microseconds). The
	 * leading seconds, compared first, spare most strverscmp calls. */
	if (x->secs != y->secs)
		return x->secs < y->secs ? -1 : 1;
	return strverscmp(x->name, y->name);
}

/* Sizes and date of a file the index does not know yet. */
static bool store_file_info(const struct store_folder *f,
			    const struct store_scan *sc,
			    const struct store_file *fl, struct store_rec *rec)
{
	struct str path = STR_INIT;
	struct stat st;
	bool ok;

	/* A regular file whose name states both sizes (",S=...,W=...", as
	 * local and Dovecot name them) needs no stat: its date is read
	 * when a client asks for it (store_msg_date). The stat was half
	 * of a first SELECT of a Maildir no index knew. */
	if (fl->type == DT_REG &&
	    uidlist_name_field(fl->name, fl->base_len, 'S', &rec->size) &&
	    uidlist_name_field(fl->name, fl->base_len, 'W', &rec->vsize)) {
		rec->idate = STORE_DATE_UNKNOWN;
		return true;
	}
	/* Relative to the directory: no walk of the folder's path for each
	 * of 100,000 files. */
	if (fstatat(sc->dfd[fl->in_new], fl->name, &st, 0) < 0 ||
	    !S_ISREG(st.st_mode))
		return false;
	rec->size = (uint64_t)st.st_size;
	rec->idate = (int64_t)st.st_mtime;
	if (uidlist_name_vsize(fl->name, fl->base_len, &rec->vsize))
		return true;
	str_printf(&path, "%s/%s/%s", f->dir, fl->in_new ? "new" : "cur",
		   fl->name);
	ok = uidlist_vsize(str_c(&path), &rec->vsize);
	str_release(&path);
	return ok;
}

/* UIDs POP3's former list gave (a folder indexed for the first time):
 * its validity and, for known names, the old uids. */
static void store_migrate_uidlist(struct store_folder *f,
				  struct store_scan *sc, struct store_batch *b,
				  struct store_rec *rec)
{
	struct uidlist ul = UIDLIST_INIT;
	struct str error = STR_INIT;

	if (uidlist_read(f->dir, &ul, &error) != 1 || ul.validity == 0)
		goto out;
	if (ul.next > b->uidnext)
		b->uidnext = ul.next;
	for (size_t i = 0; i < ul.count; i++) {
		struct store_file *fl;

		fl = store_scan_find(sc, ul.recs[i].name,
				     strlen(ul.recs[i].name));
		if (fl == NULL || !store_file_info(f, sc, fl, rec))
			continue;
		fl->used = true;
		rec->kind = 'A';
		rec->uid = ul.recs[i].uid;
		rec->vsize = ul.recs[i].vsize != 0 ? ul.recs[i].vsize :
			     rec->vsize;
		rec->flags = store_flags_from_name(fl->name);
		rec->keywords = 0;
		rec->in_new = fl->in_new;
		str_set(&rec->name, fl->name);
		store_batch_add(b, rec);
		store_rec_reset(rec);
	}
out:
	uidlist_clear(&ul);
	str_release(&error);
}

bool store_sync_scan(struct store_folder *f, struct str *error_r)
{
	struct store_scan sc = { .dfd = { -1, -1 } };
	struct store_rec rec = { 0 };
	struct store_file **fresh = NULL;
	struct store_batch b;
	int64_t new_ns, cur_ns;
	size_t nfresh = 0, known;
	bool ok = false, new_only;

	store_batch_init(&b, f);
	if (!store_dir_mtimes_record(f->dir, &new_ns, &cur_ns)) {
		str_printf(error_r, "scan %s: %s", f->dir, strerror(errno));
		goto out;
	}
	/* Only new/ changed (deliveries, which do not index: store.h):
	 * cur/ need not be read, and a message the index has in cur/ is
	 * still there (a message that left new/ for cur/ changed cur/). */
	new_only = cur_ns == f->cur_mtime_ns && f->cur_mtime_ns != 0 &&
		   f->count > 0;
	if (!store_scan_dir(&sc, f->dir, "new", true) ||
	    (!new_only && !store_scan_dir(&sc, f->dir, "cur", false))) {
		str_printf(error_r, "scan %s: %s", f->dir, strerror(errno));
		goto out;
	}
	store_scan_hash(&sc);
	/* An empty index (being built): what the scan finds goes straight
	 * into f and a new snapshot, not through the log (which would be
	 * written, synced and read back record by record). */
	known = f->count;	/* before the migration adds to it */
	if (f->count == 0 && f->log_records == 0) {
		b.apply_to = f;
		store_migrate_uidlist(f, &sc, &b, &rec);
	}
	/* A new/-only scan looks up the messages the index has in new/
	 * (a flag test each: a refresh that finds nothing new costs no
	 * lookup of a big folder's names); only when new/ holds a name
	 * none of them has are the others looked up, so that a file the
	 * index places in cur/ keeps its UID. */
	for (int pass = 0; pass < (new_only ? 2 : 1); pass++) {
		if (pass == 1 && store_scan_unused(&sc) == 0)
			break;
		for (size_t i = 0; i < known; i++)
			if (!new_only || (pass == 0) == (f->msgs[i].in_new != 0))
				store_scan_match(f, &sc, &f->msgs[i],
						 new_only && pass == 1, &b,
						 &rec);
	}
	fresh = mem_array(sc.count + 1, sizeof(*fresh));
	for (size_t i = 0; i < sc.count; i++)
		if (!sc.files[i].used)
			fresh[nfresh++] = &sc.files[i];
	qsort(fresh, nfresh, sizeof(*fresh), store_file_cmp);
	for (size_t i = 0; i < nfresh; i++) {
		store_rec_reset(&rec);
		if (!store_file_info(f, &sc, fresh[i], &rec))
			continue;	/* gone meanwhile, or not a file */
		if (b.uidnext == UINT32_MAX) {
			str_printf(error_r, "%s: UIDs exhausted", f->dir);
			goto out;
		}
		rec.kind = 'A';
		rec.uid = b.uidnext;
		rec.flags = store_flags_from_name(fresh[i]->name);
		rec.in_new = fresh[i]->in_new;
		str_set(&rec.name, fresh[i]->name);
		store_batch_add(&b, &rec);
	}
	/* Nothing found and the mtimes recorded as they are (new/'s not
	 * settled yet): nothing to write. Appending the same T again would
	 * wake every session idling on the folder, whose refresh would
	 * scan and append it again, until new/'s mtime settles. */
	if (b.apply_to == NULL && b.out.len == 0 &&
	    new_ns == f->new_mtime_ns && cur_ns == f->cur_mtime_ns) {
		ok = true;
		goto out;
	}
	store_rec_reset(&rec);
	rec.kind = 'T';
	rec.has_t = true;
	rec.new_ns = new_ns;
	rec.cur_ns = cur_ns;
	store_batch_add(&b, &rec);
	ok = b.apply_to != NULL ? store_index_write(f, error_r) :
	     store_log_append(f, &b.out, error_r);
out:
	free(fresh);
	store_scan_free(&sc);
	store_batch_release(&b);
	str_release(&rec.name);
	return ok;
}

uint64_t store_folder_stamp(const char *dir)
{
	static const char *const files[] = { "/new", "/cur",
		"/" STORE_LOG_FILE, "/" STORE_INDEX_FILE };
	struct str path = STR_INIT;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		struct stat st;
		uint64_t w[4] = { 0, 0, 0, 0 };

		str_clear(&path);
		str_printf(&path, "%s%s", dir, files[i]);
		if (stat(str_c(&path), &st) == 0) {
			w[0] = (uint64_t)st.st_mtim.tv_sec;
			w[1] = (uint64_t)st.st_mtim.tv_nsec;
			w[2] = (uint64_t)st.st_size;
			w[3] = (uint64_t)st.st_ino;
		}
		/* FNV-1a over the words. */
		for (size_t j = 0; j < 4; j++)
			h = (h ^ w[j]) * 1099511628211ULL;
	}
	str_release(&path);
	return h;
}
