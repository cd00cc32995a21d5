/*
 * store_cache: the message cache of a folder, correo-cache (store.h,
 * "The message cache"; store_cache_data.c has what an entry holds).
 *
 * The file is a header and appended records:
 *
 *   header  "CORREOC1", uidvalidity (u32), version (u32), salt (u64),
 *           check (u64, of the 24 bytes before it)       32 bytes
 *   record  magic "CCR1", uid (u32), payload length (u32),
 *           payload check (u32), header check (u32), name check (u32),
 *           payload, zero padding to a multiple of 8
 *
 * (numbers little-endian). Both checks are a hash keyed with the file's
 * random salt: a record is accepted only if its header check matches,
 * its payload fits in the file and, when it is read, its payload check
 * matches. A reader that meets anything else (a torn tail after a crash,
 * bytes that never reached the disk, an edited file) skips forward,
 * 8 bytes at a time, to the next header that checks; message text
 * inside a payload cannot pass for a record, since the sender does not
 * know the salt. The last good record of a UID wins (two sessions may
 * fill one message at once; the values are the same).
 *
 * The name check is a keyed hash of the message file's base name (0 in
 * records of older versions: not checked). A delivery's index record is
 * synced only when its UID is first shown (store_log_durable), so after
 * a crash the cache may hold a record for a UID the index lost and the
 * next scan gives to another message: the name check makes that record
 * a miss instead of another message's envelope.
 *
 * Nothing is fsync'd but the header of a new file: a lost record is
 * computed again from the message when next asked for. Writers append
 * with one write(2) each under flock of the file; compaction rewrites
 * the file without the records of expunged UIDs (those below UIDNEXT
 * that the folder no longer has; UIDs are never reused, so a record is
 * never wrong for its UID) and renames it into place under the same
 * lock. A writer that finds the path pointing to another file after
 * taking the lock reopens it; a reader notices the new file when a UID
 * is missing. A file of another UIDVALIDITY, version or salt check is
 * replaced by an empty one at the next write.
 *
 * SECURITY: runs as the mailbox owner, on a file in the user's Maildir
 * that anything may have written: every length is bounded by the file
 * size and STORE_CACHE_MAX_PAYLOAD, fields are checked before use
 * (store_cache_payload_valid), and files larger than
 * STORE_MAX_INDEX_FILE * 4 are ignored.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "mime.h"
#include "msg.h"
#include "safe_file.h"
#include "store_int.h"

#define STORE_CACHE_MAGIC	"CORREOC1"
#define STORE_CACHE_VERSION	1u
#define STORE_CACHE_HDR		32
#define STORE_CACHE_REC		24
#define STORE_CACHE_MAX_FILE	(STORE_MAX_INDEX_FILE * 4)
#define STORE_CACHE_BUF		(256 * 1024)

struct store_cache_ent {
	uint32_t uid;
	uint32_t len;
	uint32_t check;		/* of the payload */
	uint32_t name;		/* store_cache_name_check, 0: none */
	uint64_t off;		/* of the payload */
};

struct store_cache {
	int fd;
	uint64_t ino;
	uint64_t salt;
	uint64_t scanned;	/* records read up to here */
	uint64_t dead;		/* bytes of records superseded or expunged */
	struct store_cache_ent *ents;	/* sorted by uid */
	size_t count, cap;
	bool failed;		/* no usable file: do not retry per UID */
};

static void store_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void store_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t store_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t store_get64(const unsigned char *p)
{
	return (uint64_t)store_get32(p) | (uint64_t)store_get32(p + 4) << 32;
}

uint64_t store_hash64(uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ ((uint64_t)len * 0x9e3779b97f4a7c15ull), w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h ^= w;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, len);
	h ^= w;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	return h;
}

static void store_cache_path(const char *dir, struct str *path)
{
	str_clear(path);
	str_printf(path, "%s/%s", dir, STORE_CACHE_FILE);
}

static void store_cache_hdr_make(unsigned char *h, uint32_t uidvalidity,
			       uint64_t salt)
{
	memcpy(h, STORE_CACHE_MAGIC, 8);
	store_le32(h + 8, uidvalidity);
	store_le32(h + 12, STORE_CACHE_VERSION);
	store_le64(h + 16, salt);
	store_le64(h + 24, store_hash64(0, h, 24));
}

/* The salt of a good header for uidvalidity, or false. */
static bool store_cache_header_ok(const unsigned char *h,
				  uint32_t uidvalidity, uint64_t *salt_r)
{
	if (memcmp(h, STORE_CACHE_MAGIC, 8) != 0 ||
	    store_get32(h + 8) != uidvalidity ||
	    store_get32(h + 12) != STORE_CACHE_VERSION ||
	    store_get64(h + 24) != store_hash64(0, h, 24))
		return false;
	*salt_r = store_get64(h + 16);
	return true;
}

uint32_t store_cache_name_check(uint64_t salt, const char *name)
{
	uint32_t check;

	if (name == NULL)
		return 0;
	check = (uint32_t)store_hash64(salt ^ STORE_CACHE_NAME_SEED, name,
				       store_base_len(name));
	return check != 0 ? check : 1;
}

void store_cache_record(uint64_t salt, uint32_t uid, uint32_t name,
			const char *payload, size_t len, struct str *out)
{
	unsigned char h[STORE_CACHE_REC];
	static const char zeros[8];

	memcpy(h, "CCR1", 4);
	store_le32(h + 4, uid);
	store_le32(h + 8, (uint32_t)len);
	store_le32(h + 12, (uint32_t)store_hash64(salt, payload, len));
	store_le32(h + 16, (uint32_t)store_hash64(salt, h, 16));
	store_le32(h + 20, name);
	str_append_n(out, h, sizeof(h));
	str_append_n(out, payload, len);
	str_append_n(out, zeros, (8 - len % 8) % 8);
}

/* A record header at p that checks: its payload length. */
static bool store_cache_rec_ok(const unsigned char *p, uint64_t salt,
			       uint32_t *uid_r, uint32_t *len_r)
{
	if (memcmp(p, "CCR1", 4) != 0 ||
	    store_get32(p + 16) != (uint32_t)store_hash64(salt, p, 16))
		return false;
	*uid_r = store_get32(p + 4);
	*len_r = store_get32(p + 8);
	return *uid_r != 0 && *len_r <= STORE_CACHE_MAX_PAYLOAD;
}

static void store_cache_close(struct store_cache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->ino = 0;
	c->scanned = 0;
	c->dead = 0;
	c->count = 0;
	c->failed = false;
}

static void store_cache_free(struct store_cache *c)
{
	store_cache_close(c);
	mem_free(c->ents);
	c->cap = 0;
}

void store_cache_release(struct store_folder *f)
{
	if (f->cache == NULL)
		return;
	store_cache_free(f->cache);
	mem_free(f->cache);
	f->cache = NULL;
}

static int store_cache_cmp(const void *a, const void *b)
{
	const struct store_cache_ent *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sort by uid, the last record of a uid kept. */
static void store_cache_sort(struct store_cache *c)
{
	size_t j = 0;

	if (c->count < 2)
		return;
	qsort(c->ents, c->count, sizeof(*c->ents), store_cache_cmp);
	for (size_t i = 0; i < c->count; i++) {
		if (j > 0 && c->ents[j - 1].uid == c->ents[i].uid) {
			c->dead += STORE_CACHE_REC + c->ents[j - 1].len;
			c->ents[j - 1] = c->ents[i];
		} else {
			c->ents[j++] = c->ents[i];
		}
	}
	c->count = j;
}

/* Read the record headers from c->scanned to the end of the file. */
static void store_cache_scan(struct store_cache *c)
{
	unsigned char *buf = mem_alloc(STORE_CACHE_BUF);
	uint64_t boff = 0, blen = 0, off = c->scanned;
	bool unsorted = false;
	struct stat st;

	if (fstat(c->fd, &st) != 0 || st.st_size > STORE_CACHE_MAX_FILE)
		goto out;
	while (off + STORE_CACHE_REC <= (uint64_t)st.st_size) {
		uint32_t uid, len;
		ssize_t n;

		if (off < boff || off + STORE_CACHE_REC > boff + blen) {
			n = pread(c->fd, buf, STORE_CACHE_BUF, (off_t)off);
			if (n < STORE_CACHE_REC)
				break;
			boff = off;
			blen = (uint64_t)n;
		}
		if (!store_cache_rec_ok(buf + (off - boff), c->salt, &uid,
					&len)) {
			off += 8;	/* damaged: look for the next record */
			continue;
		}
		if (off + STORE_CACHE_REC + len > (uint64_t)st.st_size)
			break;		/* torn tail, or still being written */
		if (c->count == c->cap) {
			c->cap = c->cap == 0 ? 256 : c->cap * 2;
			c->ents = mem_array_realloc(c->ents, c->cap,
						    sizeof(*c->ents));
		}
		if (c->count > 0 && c->ents[c->count - 1].uid >= uid)
			unsorted = true;
		c->ents[c->count].uid = uid;
		c->ents[c->count].len = len;
		c->ents[c->count].check = store_get32(buf + (off - boff) +
						      12);
		c->ents[c->count].name = store_get32(buf + (off - boff) +
						     20);
		c->ents[c->count].off = off + STORE_CACHE_REC;
		c->count++;
		off += STORE_CACHE_REC + len + (8 - len % 8) % 8;
	}
	c->scanned = off;
	if (unsorted)
		store_cache_sort(c);
out:
	mem_free(buf);
}

/* Open the cache file (if good) and read its records. */
/* A cache that cannot be written only costs speed (entries are
 * recomputed), but the I/O error behind it is worth a word: once per
 * process. */
static void store_cache_warn(const char *what, const char *dir)
{
	static bool warned;

	if (warned)
		return;
	warned = true;
	msg_warn("%s: message cache %s: %m (served without it)", dir, what);
}

static void store_cache_open(struct store_folder *f, struct store_cache *c)
{
	unsigned char h[STORE_CACHE_HDR];
	struct str path = STR_INIT;
	struct stat st;

	store_cache_close(c);
	store_cache_path(f->dir, &path);
	c->fd = open(str_c(&path), O_RDWR | O_APPEND | O_NOFOLLOW |
		     O_CLOEXEC);
	str_release(&path);
	if (c->fd < 0 || fstat(c->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    pread(c->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    !store_cache_header_ok(h, f->uidvalidity, &c->salt)) {
		store_cache_close(c);
		c->failed = true;
		return;
	}
	c->ino = (uint64_t)st.st_ino;
	c->scanned = STORE_CACHE_HDR;
	store_cache_scan(c);
}

static struct store_cache_ent *store_cache_find(struct store_cache *c,
						uint32_t uid)
{
	size_t lo = 0, hi = c->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->ents[mid].uid == uid)
			return &c->ents[mid];
		if (c->ents[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether a record's name check fits uid's message in f. */
static bool store_cache_name_ok(const struct store_folder *f, uint64_t salt,
				uint32_t uid, uint32_t name)
{
	const struct store_msg *m;

	if (name == 0)
		return true;
	m = store_lookup(f, uid, NULL);
	return m != NULL &&
	       store_cache_name_check(salt, store_msg_name(f, m)) == name;
}

/* The payload of uid's record into payload_r: true if there is a good
 * one. Looks at records appended or a compacted file when it misses. */
static bool store_cache_lookup(struct store_folder *f, uint32_t uid,
			       struct str *payload_r)
{
	struct store_cache *c;
	struct store_cache_ent *e;
	struct str path = STR_INIT;
	struct stat st;

	if (f->cache == NULL) {
		f->cache = mem_alloc(sizeof(*f->cache));
		f->cache->fd = -1;
		store_cache_open(f, f->cache);
	}
	c = f->cache;
	e = store_cache_find(c, uid);
	if (e == NULL) {
		/* Appended to since, or replaced by a compaction? */
		store_cache_path(f->dir, &path);
		if (stat(str_c(&path), &st) != 0)
			store_cache_close(c);
		else if ((uint64_t)st.st_ino != c->ino)
			store_cache_open(f, c);
		else if ((uint64_t)st.st_size > c->scanned)
			store_cache_scan(c);
		str_release(&path);
		e = store_cache_find(c, uid);
	}
	if (e == NULL || !store_cache_name_ok(f, c->salt, uid, e->name))
		return false;
	str_clear(payload_r);
	str_reserve(payload_r, (size_t)e->len + 1);
	if (pread(c->fd, payload_r->data, e->len, (off_t)e->off) !=
	    (ssize_t)e->len)
		return false;
	payload_r->len = e->len;
	payload_r->data[e->len] = '\0';
	/* The header checked when scanned; the payload now. */
	return (uint32_t)store_hash64(c->salt, payload_r->data, e->len) ==
	       e->check && store_cache_payload_valid(payload_r->data, e->len);
}

static uint64_t store_cache_new_salt(void)
{
	uint64_t salt;

	if (getrandom(&salt, sizeof(salt), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(salt))
		salt = store_hash64((uint64_t)getpid(), &(time_t){ time(NULL) },
				    sizeof(time_t)) ^ (uint64_t)clock();
	return salt;
}

/* dir's cache file with its flock held and a good header for
 * uidvalidity: the one the path names now, replaced by an empty one if
 * it is missing or not for uidvalidity. -1 on error. */
static int store_cache_lock(const char *dir, uint32_t uidvalidity,
			    uint64_t *salt_r)
{
	unsigned char h[STORE_CACHE_HDR];
	struct str path = STR_INIT;
	struct stat st, pst;
	int fd = -1;

	store_cache_path(dir, &path);
	for (int attempt = 0; attempt < 4; attempt++) {
		fd = open(str_c(&path), O_RDWR | O_APPEND | O_NOFOLLOW |
			  O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)	/* the first writer */
			fd = open(str_c(&path), O_RDWR | O_APPEND | O_CREAT |
				  O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0) {
			store_cache_warn("open", dir);
			break;
		}
		if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0 ||
		    !S_ISREG(st.st_mode)) {
			close(fd);
			fd = -1;
			break;
		}
		if (stat(str_c(&path), &pst) != 0 ||
		    pst.st_ino != st.st_ino) {
			close(fd);	/* replaced meanwhile */
			fd = -1;
			continue;
		}
		if (pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
		    store_cache_header_ok(h, uidvalidity, salt_r))
			break;
		store_cache_hdr_make(h, uidvalidity, store_cache_new_salt());
		if (st.st_size == 0) {
			/* New (ours, or a creator's that died): its header. */
			if (write(fd, h, sizeof(h)) == (ssize_t)sizeof(h) &&
			    store_cache_header_ok(h, uidvalidity, salt_r))
				break;
			store_cache_warn("write", dir);
			(void)ftruncate(fd, 0);
		} else if (safe_write_file(str_c(&path), h, sizeof(h),
					   0600)) {
			/* Not ours: replaced by an empty one, under the old
			 * one's lock so no writer appends to it meanwhile. */
			close(fd);
			fd = -1;
			continue;
		}
		close(fd);
		fd = -1;
		break;
	}
	str_release(&path);
	return fd;
}

/* Append one record under the lock; a short write is cut. */
static bool store_cache_write(int fd, uint64_t salt, uint32_t uid,
			      const char *name, const struct str *payload)
{
	struct str rec = STR_INIT;
	struct stat st;
	bool ok;

	store_cache_record(salt, uid, store_cache_name_check(salt, name),
			   payload->data, payload->len, &rec);
	ok = fstat(fd, &st) == 0 && st.st_size + (off_t)rec.len <=
	     STORE_CACHE_MAX_FILE;
	if (ok && write(fd, rec.data, rec.len) != (ssize_t)rec.len) {
		store_cache_warn("write", "folder");
		(void)ftruncate(fd, st.st_size);
		ok = false;
	}
	str_release(&rec);
	return ok;
}

/* The cache files a writer appended to lately, kept open: a local
 * worker appends to the same folders over and over, and while a name
 * still leads to the file kept (the open descriptor keeps its inode
 * from being reused), an append is flock, stat, write and unlock,
 * without the open, the header read and the close. A file's header is
 * written once, before its first record, so the same file has the same
 * salt; a compaction or a replacement puts another file under the name,
 * and the append reopens. */
struct store_cache_kept {
	char *dir;		/* NULL: a free slot */
	int fd;
	dev_t dev;
	ino_t ino;
	uint32_t uidvalidity;
	uint64_t salt;
	uint64_t used;		/* when last used, for eviction */
};

#define STORE_CACHE_KEPT	16

static struct store_cache_kept cache_kept[STORE_CACHE_KEPT];
static uint64_t cache_kept_clock;

static void store_cache_kept_drop(struct store_cache_kept *k)
{
	if (k->dir == NULL)
		return;
	mem_free(k->dir);
	close(k->fd);
	memset(k, 0, sizeof(*k));
}

/* dir's kept cache file, locked, when the name still leads to it and it
 * is for uidvalidity; -1 otherwise (and it is no longer kept). */
static int store_cache_kept_lock(const char *dir, uint32_t uidvalidity,
				 uint64_t *salt_r)
{
	struct store_cache_kept *k = NULL;
	struct str path = STR_INIT;
	struct stat st;
	bool same;

	for (size_t i = 0; i < STORE_CACHE_KEPT && k == NULL; i++)
		if (cache_kept[i].dir != NULL &&
		    strcmp(cache_kept[i].dir, dir) == 0)
			k = &cache_kept[i];
	if (k == NULL)
		return -1;
	if (k->uidvalidity != uidvalidity) {
		store_cache_kept_drop(k);
		return -1;
	}
	while (flock(k->fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			store_cache_kept_drop(k);
			return -1;
		}
	}
	store_cache_path(dir, &path);
	same = lstat(str_c(&path), &st) == 0 && st.st_dev == k->dev &&
	       st.st_ino == k->ino;
	str_release(&path);
	if (!same) {
		store_cache_kept_drop(k);	/* the close unlocks */
		return -1;
	}
	k->used = ++cache_kept_clock;
	*salt_r = k->salt;
	return k->fd;
}

/* Keep fd (dir's cache file as store_cache_lock gave it, locked) for
 * the next append, unlocked; in a free slot or the least recently
 * used. */
static void store_cache_kept_put(const char *dir, int fd,
				 uint32_t uidvalidity, uint64_t salt)
{
	struct store_cache_kept *k = &cache_kept[0];
	struct stat st;

	if (fstat(fd, &st) != 0) {
		close(fd);
		return;
	}
	for (size_t i = 0; i < STORE_CACHE_KEPT && k->dir != NULL; i++)
		if (cache_kept[i].dir == NULL || cache_kept[i].used < k->used)
			k = &cache_kept[i];
	store_cache_kept_drop(k);
	(void)flock(fd, LOCK_UN);
	*k = (struct store_cache_kept){ mem_strdup(dir), fd, st.st_dev,
					st.st_ino, uidvalidity, salt,
					++cache_kept_clock };
}

bool store_cache_add(const char *dir, uint32_t uidvalidity, uint32_t uid,
		     const char *name, const struct str *payload)
{
	uint64_t salt;
	int fd;
	bool ok, kept;

	if (payload->len > STORE_CACHE_MAX_PAYLOAD || uid == 0)
		return false;
	fd = store_cache_kept_lock(dir, uidvalidity, &salt);
	kept = fd >= 0;
	if (!kept)
		fd = store_cache_lock(dir, uidvalidity, &salt);
	if (fd < 0)
		return false;
	ok = store_cache_write(fd, salt, uid, name, payload);
	if (kept)
		(void)flock(fd, LOCK_UN);
	else
		store_cache_kept_put(dir, fd, uidvalidity, salt);
	return ok;
}

/* Append uid's entry through f's open cache file (no open, no header
 * read: a session filling many entries lazily), noting it in the
 * table when nothing was appended since f read the file. Falls back to
 * store_cache_add. */
static void store_cache_add_folder(struct store_folder *f, uint32_t uid,
				   const struct str *payload)
{
	struct store_cache *c = f->cache;
	const struct store_msg *m = store_lookup(f, uid, NULL);
	const char *name = m != NULL ? store_msg_name(f, m) : NULL;
	struct str path = STR_INIT, rec = STR_INIT;
	struct stat st, pst;
	bool done = false;

	if (c == NULL || c->fd < 0 || flock(c->fd, LOCK_EX) != 0) {
		(void)store_cache_add(f->dir, f->uidvalidity, uid, name,
				      payload);
		return;
	}
	store_cache_path(f->dir, &path);
	if (fstat(c->fd, &st) == 0 && stat(str_c(&path), &pst) == 0 &&
	    st.st_ino == pst.st_ino &&
	    st.st_size + (off_t)payload->len + 64 <= STORE_CACHE_MAX_FILE) {
		store_cache_record(c->salt, uid,
				   store_cache_name_check(c->salt, name),
				   payload->data, payload->len, &rec);
		if (write(c->fd, rec.data, rec.len) == (ssize_t)rec.len) {
			done = true;
			if ((uint64_t)st.st_size == c->scanned) {
				c->scanned += rec.len;
				if (c->count == c->cap) {
					c->cap = c->cap == 0 ? 256 :
						 c->cap * 2;
					c->ents = mem_array_realloc(
						c->ents, c->cap,
						sizeof(*c->ents));
				}
				c->ents[c->count].uid = uid;
				c->ents[c->count].len =
					(uint32_t)payload->len;
				c->ents[c->count].check = (uint32_t)
					store_hash64(c->salt, payload->data,
						     payload->len);
				c->ents[c->count].name =
					store_cache_name_check(c->salt, name);
				c->ents[c->count].off =
					(uint64_t)st.st_size +
					STORE_CACHE_REC;
				c->count++;
				if (c->count > 1 &&
				    c->ents[c->count - 2].uid >= uid)
					store_cache_sort(c);
			}
		} else {
			(void)ftruncate(c->fd, st.st_size);
		}
	}
	(void)flock(c->fd, LOCK_UN);
	if (!done)
		(void)store_cache_add(f->dir, f->uidvalidity, uid, name,
				      payload);
	str_release(&path);
	str_release(&rec);
}

/* Keep the record of uid in a compaction? */
static bool store_cache_live(const struct store_folder *f, uint32_t uid)
{
	return uid >= f->uidnext || store_lookup(f, uid, NULL) != NULL;
}

/* Copy the live records of c (scanned to its end, under the lock) into
 * a new file renamed over path. */
static bool store_cache_rewrite(const struct store_folder *f,
				struct store_cache *c, const char *path)
{
	unsigned char h[STORE_CACHE_HDR];
	struct str tmp = STR_INIT, out = STR_INIT, payload = STR_INIT;
	bool ok = true;
	int fd;

	str_printf(&tmp, "%s.%ld.tmp", path, (long)getpid());
	fd = open(str_c(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0) {
		str_release(&tmp);
		return false;
	}
	store_cache_hdr_make(h, f->uidvalidity, c->salt);
	str_append_n(&out, h, sizeof(h));
	for (size_t i = 0; ok && i < c->count; i++) {
		const struct store_cache_ent *e = &c->ents[i];

		if (!store_cache_live(f, e->uid))
			continue;
		str_clear(&payload);
		str_reserve(&payload, (size_t)e->len + 1);
		if (pread(c->fd, payload.data, e->len, (off_t)e->off) !=
		    (ssize_t)e->len ||
		    (uint32_t)store_hash64(c->salt, payload.data, e->len) !=
		    e->check)
			continue;	/* damaged: recomputed when asked */
		payload.len = e->len;
		store_cache_record(c->salt, e->uid, e->name, payload.data,
				   payload.len, &out);
		if (out.len >= STORE_CACHE_BUF || i + 1 == c->count) {
			ok = write(fd, out.data, out.len) == (ssize_t)out.len;
			str_clear(&out);
		}
	}
	if (ok && out.len > 0)
		ok = write(fd, out.data, out.len) == (ssize_t)out.len;
	ok = close(fd) == 0 && ok && rename(str_c(&tmp), path) == 0;
	if (!ok)
		(void)unlink(str_c(&tmp));
	str_release(&tmp);
	str_release(&out);
	str_release(&payload);
	return ok;
}

bool store_cache_compact(struct store_folder *f, bool force)
{
	struct store_cache c = { .fd = -1 };
	struct str path = STR_INIT;
	struct stat st;
	uint64_t dead;
	bool ok = true;

	if (f->uidvalidity == 0)
		return true;
	store_cache_path(f->dir, &path);
	if (stat(str_c(&path), &st) != 0) {
		str_release(&path);
		return errno == ENOENT;
	}
	c.fd = store_cache_lock(f->dir, f->uidvalidity, &c.salt);
	if (c.fd < 0) {
		str_release(&path);
		return false;
	}
	if (fstat(c.fd, &st) == 0) {
		c.ino = (uint64_t)st.st_ino;
		c.scanned = STORE_CACHE_HDR;
		store_cache_scan(&c);
		store_cache_sort(&c);
		dead = c.dead + ((uint64_t)st.st_size - c.scanned);
		for (size_t i = 0; i < c.count; i++)
			if (!store_cache_live(f, c.ents[i].uid))
				dead += STORE_CACHE_REC + c.ents[i].len;
		if (force || (dead > STORE_CACHE_COMPACT_MIN &&
			      dead * 4 > (uint64_t)st.st_size))
			ok = store_cache_rewrite(f, &c, str_c(&path));
	}
	store_cache_free(&c);	/* closing releases the lock */
	str_release(&path);
	if (f->cache != NULL)
		store_cache_close(f->cache);	/* reopened when next used */
	return ok;
}

/* The whole entry of uid: from the file, else computed from the
 * message (and appended for next time). 1, 0 the message is gone, -1
 * unreadable. */
static int store_cache_entry(struct store_folder *f, uint32_t uid,
			     bool cached, struct str *payload)
{
	const struct store_msg *m = store_lookup(f, uid, NULL);
	struct str error = STR_INIT, data = STR_INIT;
	int fd;
	bool ok;

	if (m == NULL)
		return 0;
	if (cached && store_cache_lookup(f, uid, payload))
		return 1;
	m = NULL;	/* store_msg_open may refresh f */
	fd = store_msg_open(f, uid, &error);
	str_release(&error);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	ok = safe_read_fd(fd, &data, STORE_CACHE_MAX_MESSAGE);
	close(fd);
	m = store_lookup(f, uid, NULL);
	if (!ok || m == NULL) {
		str_release(&data);
		return m == NULL ? 0 : -1;
	}
	store_cache_compute(str_c(&data), data.len, store_msg_date(f, m),
			    payload);
	str_release(&data);
	if (payload->len <= STORE_CACHE_MAX_PAYLOAD)
		store_cache_add_folder(f, uid, payload);
	return 1;
}

int store_cache_get(struct store_folder *f, uint32_t uid,
		    enum store_cache_field field, struct str *out)
{
	struct str payload = STR_INIT;
	const char *value;
	size_t len;
	int ret;

	str_clear(out);
	/* From the cache; if its entry lacks the field (damaged, or
	 * written by another version), from the message. */
	for (int cached = 1; cached >= 0; cached--) {
		ret = store_cache_entry(f, uid, cached == 1, &payload);
		if (ret != 1)
			break;
		if (store_cache_field_find(payload.data, payload.len, field,
					   &value, &len) ||
		    /* A *_UTF8 rendering is kept only when it differs. */
		    ((field == STORE_CACHE_ENVELOPE_UTF8 ||
		      field == STORE_CACHE_BODY_UTF8 ||
		      field == STORE_CACHE_BODYSTRUCTURE_UTF8) &&
		     store_cache_field_find(payload.data, payload.len,
					    field - 1, &value, &len))) {
			str_append_n(out, value, len);
			break;
		}
		ret = -1;
	}
	str_release(&payload);
	return ret;
}

int store_cache_header_fields(struct store_folder *f, uint32_t uid,
			      const char *const *names, size_t n,
			      struct str *out)
{
	struct str headers = STR_INIT;
	int ret;

	for (size_t i = 0; i < n; i++)
		if (!store_cache_header_cached(names[i], strlen(names[i])))
			return -1;
	ret = store_cache_get(f, uid, STORE_CACHE_HEADERS, &headers);
	if (ret == 1)
		store_cache_filter_fields(str_c(&headers), headers.len, names,
					  n, out);
	str_release(&headers);
	return ret;
}

int store_cache_header(struct store_folder *f, uint32_t uid,
		       const char *name, struct str *value_r)
{
	struct str headers = STR_INIT;
	struct mime_header_iter it;
	struct mime_field fld;
	size_t nlen = strlen(name);
	int ret = -1;

	str_clear(value_r);
	if (!store_cache_header_cached(name, nlen))
		return -1;
	if (store_cache_get(f, uid, STORE_CACHE_HEADERS, &headers) != 1) {
		ret = -1;
		goto out;
	}
	ret = 0;
	mime_header_iter_init(&it, str_c(&headers), 0, headers.len);
	while (ret == 0 && mime_header_next(&it, &fld))
		if (fld.has_colon && fld.name_len == nlen &&
		    strncasecmp(fld.name, name, nlen) == 0) {
			str_append_n(value_r, fld.value, fld.value_len);
			ret = 1;
		}
out:
	str_release(&headers);
	return ret;
}
