/*
 * store_snapshot: the binary snapshot of a folder's index, correo-index
 * (store_int.h). Written by every compaction; read at every open of
 * the folder, so it is laid out to be used where it lies: the message
 * records are struct store_msg itself and start on a page boundary, so
 * the folder's array is the file mapped copy-on-write (store_msgs.c),
 * and the names are NUL-terminated and read in the mapping.
 *
 *   0     header  "CORREOI3", generation (u64), uidvalidity (u32),
 *                 uidnext (u32), highest modseq (u64), new/ and cur/
 *                 mtimes (ns, i64 each), message count (u32), keyword
 *                 count (u32), size of the names area (u32), expunged
 *                 ranges (u32), expunged floor (u64), record size (u32),
 *                 byte order mark (u32), messages in new/ or \Recent
 *                 (u32), reserved, check (u64 at 120)
 *   128   keywords  name offset (u32), length (u32) in the names area
 *   4096  messages  struct store_msg in the host's byte order (name_ref
 *                   an offset in the names area)
 *         expunged  first uid (u32), last uid (u32), modseq (u64)
 *         by modseq the messages' positions (u32, host order) sorted by
 *                   modseq (store_changed_since)
 *         names     keyword names, then message names, each with a NUL
 *
 * (header and expunged ranges little-endian). The check is a hash of
 * everything after the header (four lanes, so hashing 10 MB costs about
 * a millisecond) folded with the header's first 120 bytes: a damaged
 * or edited file is refused and the caller treats it as missing (a
 * rebuild from the Maildir). The messages are checked at load without
 * being copied (UIDs increase and stay below UIDNEXT, flags, name
 * offsets inside the names area, which holds no '/' and ends with a
 * NUL); a name is checked again where it is used (store_msg_name).
 * XXX: a snapshot written on a host of the other byte order does not
 * load (byte order mark) and the folder is rebuilt.
 *
 * The former binary form ("CORREOI2": packed records, names without
 * NULs) and the text form before it are still read, copied into the
 * heap, and rewritten in this form by the open that finds them
 * (store_folder_open), so existing indexes migrate by themselves.
 *
 * The mapping lives as long as the folder is open, so the file must
 * never change in place: it is only ever replaced by rename (a new
 * inode), which leaves every mapping of the old one intact. XXX: a
 * program that truncated it in place would make readers fault
 * (SIGBUS); only the mailbox owner can, and correo never does.
 *
 * SECURITY: runs as the mailbox owner on a file anything running as
 * the owner may have written: counts and offsets are checked against
 * the file size before use, UIDs must increase, names are checked as
 * in the log (no '/', NUL, "." or ".."), files larger than
 * STORE_MAX_INDEX_FILE are not read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "safe_file.h"
#include "store_int.h"

#define SNAP_MAGIC	"CORREOI3"
#define SNAP_HDR	128	/* the header; keywords follow */
#define SNAP_CHECK	120	/* where the check is */
#define SNAP_RECS	4096	/* where the messages start */
#define SNAP_VAN	16
#define SNAP_KW		8
#define SNAP_BOM	0x01020304u
/* The former binary form, still read. */
#define SNAP2_MAGIC	"CORREOI2"
#define SNAP2_HDR	80
#define SNAP2_MSG	56
#define SNAP2_IN_NEW	0x80000000u

_Static_assert(sizeof(struct store_msg) == 56,
	       "struct store_msg is the snapshot's record");
_Static_assert(STORE_MAX_KEYWORDS * SNAP_KW + SNAP_HDR <= SNAP_RECS,
	       "keywords fit before the records");

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t rotl64(uint64_t v, int n)
{
	return v << n | v >> (64 - n);
}

/* The check of a snapshot: a hash of data[SNAP_HDR, len) in four
 * independent lanes (the multiplications overlap), folded with the
 * header's bytes before the check field. */
static uint64_t snap_check(const unsigned char *data, size_t len)
{
	const unsigned char *p = data + SNAP_HDR;
	size_t n = len - SNAP_HDR;
	uint64_t h[4] = { 0x9e3779b97f4a7c15ull ^ n, 0xc2b2ae3d27d4eb4full,
			  0x165667b19e3779f9ull, 0x27d4eb2f165667c5ull };
	uint64_t w;

	for (; n >= 32; p += 32, n -= 32)
		for (int l = 0; l < 4; l++) {
			memcpy(&w, p + 8 * l, 8);
			h[l] ^= w;
			h[l] *= 0xff51afd7ed558ccdull;
			h[l] ^= h[l] >> 32;
		}
	w = h[0] ^ rotl64(h[1], 17) ^ rotl64(h[2], 31) ^ rotl64(h[3], 47);
	return store_hash64(store_hash64(w, p, n), data, SNAP_CHECK);
}

/* qsort has no context argument: the array being sorted by. */
static const struct store_msg *snap_sort_msgs;

static int snap_modseq_cmp(const void *a, const void *b)
{
	const struct store_msg *x = &snap_sort_msgs[*(const uint32_t *)a];
	const struct store_msg *y = &snap_sort_msgs[*(const uint32_t *)b];

	if (x->modseq != y->modseq)
		return x->modseq < y->modseq ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

uint64_t store_snapshot_check(const char *data, size_t len)
{
	return len < SNAP_HDR ? 0 :
	       snap_check((const unsigned char *)data, len);
}

bool store_snapshot_format(struct store_folder *f, uint64_t gen,
			   struct str *out)
{
	size_t names = 0, nlen, hdr_at = out->len, total, unclaimed = 0;
	unsigned char *p, *h, *van, *order, *nm;
	uint32_t *pos;

	for (unsigned i = 0; i < f->nkeywords; i++)
		names += strlen(f->keywords[i]) + 1;
	for (size_t i = 0; i < f->count; i++)
		names += strlen(store_msg_name(f, &f->msgs[i])) + 1;
	if (names >= STORE_NAME_HEAP || f->count > UINT32_MAX)
		return false;
	store_vanished_bound(f);
	total = SNAP_RECS + f->count * sizeof(struct store_msg) +
		f->vanished.n * SNAP_VAN + f->count * 4 + names;
	str_reserve(out, total + 1);
	h = (unsigned char *)out->data + hdr_at;
	memset(h, 0, SNAP_RECS);
	memcpy(h, SNAP_MAGIC, 8);
	put64(h + 8, gen);
	put32(h + 16, f->uidvalidity);
	put32(h + 20, f->uidnext);
	put64(h + 24, f->highestmodseq);
	put64(h + 32, (uint64_t)f->new_mtime_ns);
	put64(h + 40, (uint64_t)f->cur_mtime_ns);
	put32(h + 48, (uint32_t)f->count);
	put32(h + 52, f->nkeywords);
	put32(h + 56, (uint32_t)names);
	put32(h + 60, (uint32_t)f->vanished.n);
	put64(h + 64, f->vanished.floor);
	put32(h + 72, (uint32_t)sizeof(struct store_msg));
	put32(h + 76, 0);
	{
		uint32_t bom = SNAP_BOM;	/* in the host's order */

		memcpy(h + 76, &bom, 4);
	}
	van = h + SNAP_RECS + f->count * sizeof(struct store_msg);
	order = van + f->vanished.n * SNAP_VAN;
	nm = order + f->count * 4;
	names = 0;
	p = h + SNAP_HDR;
	for (unsigned i = 0; i < f->nkeywords; i++, p += SNAP_KW) {
		nlen = strlen(f->keywords[i]);
		put32(p, (uint32_t)names);
		put32(p + 4, (uint32_t)nlen);
		memcpy(nm + names, f->keywords[i], nlen + 1);
		names += nlen + 1;
	}
	p = h + SNAP_RECS;
	for (size_t i = 0; i < f->count; i++, p += sizeof(struct store_msg)) {
		struct store_msg m = f->msgs[i];
		const char *name = store_msg_name(f, &f->msgs[i]);

		nlen = strlen(name);
		memcpy(nm + names, name, nlen + 1);
		m.name_ref = (uint32_t)names;
		m.in_new = m.in_new ? 1 : 0;
		memcpy(p, &m, sizeof(m));
		names += nlen + 1;
		unclaimed += store_msg_unclaimed(&m);
	}
	put32(h + 80, (uint32_t)unclaimed);
	/* Positions in modseq order (stable: equal modseqs by UID). */
	pos = mem_array(f->count + 1, sizeof(*pos));
	for (size_t i = 0; i < f->count; i++)
		pos[i] = (uint32_t)i;
	snap_sort_msgs = f->msgs;
	qsort(pos, f->count, sizeof(*pos), snap_modseq_cmp);
	memcpy(order, pos, f->count * sizeof(*pos));
	mem_free(pos);
	for (size_t i = 0; i < f->vanished.n; i++, van += SNAP_VAN) {
		put32(van, f->vanished.ranges[i].lo);
		put32(van + 4, f->vanished.ranges[i].hi);
		put64(van + 8, f->vanished.ranges[i].modseq);
	}
	out->len = hdr_at + total;
	out->data[out->len] = '\0';
	put64(h + SNAP_CHECK, snap_check(h, total));
	return true;
}

bool store_snapshot_is_binary(const char *data, size_t len)
{
	return len >= 8 && (memcmp(data, SNAP_MAGIC, 8) == 0 ||
			    memcmp(data, SNAP2_MAGIC, 8) == 0);
}

/* A name of the names area as the log would accept it. */
static bool snap_name_ok(const unsigned char *s, uint32_t len)
{
	return len > 0 && len < 1024 && memchr(s, '/', len) == NULL &&
	       memchr(s, '\0', len) == NULL &&
	       !(len == 1 && s[0] == '.') &&
	       !(len == 2 && s[0] == '.' && s[1] == '.');
}

bool store_snapshot_header(const char *data, size_t len, uint64_t *gen_r,
			   uint32_t *uidvalidity_r)
{
	const unsigned char *h = (const unsigned char *)data;

	if (len < 24 || !store_snapshot_is_binary(data, len) ||
	    get32(h + 16) == 0)
		return false;
	*gen_r = get64(h + 8);
	*uidvalidity_r = get32(h + 16);
	return true;
}

/* The expunged-UID ranges into f (through the record's own checks). */
static bool snap_vanished(struct store_folder *f, const unsigned char *p,
			  uint64_t n, uint64_t floor)
{
	struct store_rec rec = { .kind = 'X', .has_m = true };
	bool ok = true;

	if (floor > (UINT64_MAX >> 1))
		return false;
	rec.modseq = floor;
	if (floor > 0)
		ok = store_vanished_apply(f, &rec);
	for (uint64_t i = 0; ok && i < n; i++, p += SNAP_VAN) {
		uint32_t lo = get32(p), hi = get32(p + 4);

		rec.has_c = true;
		rec.uid = lo;
		rec.count = (uint64_t)hi - lo + 1;
		rec.modseq = get64(p + 8);
		ok = lo > 0 && lo <= hi && rec.modseq <= (UINT64_MAX >> 1) &&
		     store_vanished_apply(f, &rec);
	}
	return ok;
}

/* The header fields every form shares, into f. */
static bool snap_counters(struct store_folder *f, const unsigned char *h)
{
	if (get32(h + 16) == 0 || get32(h + 20) == 0 ||
	    get64(h + 24) > (UINT64_MAX >> 1))
		return false;
	f->log_gen = get64(h + 8);
	f->uidvalidity = get32(h + 16);
	f->uidnext = get32(h + 20);
	f->highestmodseq = get64(h + 24);
	f->new_mtime_ns = (int64_t)get64(h + 32);
	f->cur_mtime_ns = (int64_t)get64(h + 40);
	return true;
}

/* A CORREOI3 snapshot's layout, checked against its length. */
struct snap_layout {
	uint64_t count, nkw, nsize, nvan, unclaimed;
	const unsigned char *kw, *msgs, *van, *order, *names;
};

static bool snap_layout(const unsigned char *h, size_t len,
			struct snap_layout *l)
{
	uint32_t bom;

	if (len < SNAP_RECS || memcmp(h, SNAP_MAGIC, 8) != 0)
		return false;
	memcpy(&bom, h + 76, 4);
	l->count = get32(h + 48);
	l->nkw = get32(h + 52);
	l->nsize = get32(h + 56);
	l->nvan = get32(h + 60);
	l->unclaimed = get32(h + 80);
	if (bom != SNAP_BOM || get32(h + 72) != sizeof(struct store_msg) ||
	    l->nkw > STORE_MAX_KEYWORDS || l->unclaimed > l->count ||
	    SNAP_RECS + l->count * sizeof(struct store_msg) +
	    l->nvan * SNAP_VAN + l->count * 4 + l->nsize != len ||
	    get64(h + SNAP_CHECK) != snap_check(h, len))
		return false;
	l->kw = h + SNAP_HDR;
	l->msgs = h + SNAP_RECS;
	l->van = l->msgs + l->count * sizeof(struct store_msg);
	l->order = l->van + l->nvan * SNAP_VAN;
	l->names = l->order + l->count * 4;
	/* No '/' anywhere, and every name ends: store_msg_name() can
	 * hand out a pointer into the area after checking the offset. */
	return l->nsize == 0 ||
	       (l->names[l->nsize - 1] == '\0' &&
		memchr(l->names, '/', l->nsize) == NULL);
}

/* Check the records in place: UIDs increase below uidnext, flags are
 * known ones, names are inside the area. */
static bool snap_msgs_ok(const struct snap_layout *l, uint32_t uidnext)
{
	const struct store_msg *m = (const struct store_msg *)l->msgs;
	uint32_t last = 0;

	for (uint64_t i = 0; i < l->count; i++, m++) {
		if (m->uid <= last || m->uid >= uidnext ||
		    (m->flags & ~(STORE_F_ALL | STORE_F_RECENT)) ||
		    m->in_new > 1 || m->name_ref >= l->nsize ||
		    m->modseq > (UINT64_MAX >> 1) ||
		    m->size > (UINT64_MAX >> 1) ||
		    m->vsize > (UINT64_MAX >> 1))
			return false;
		last = m->uid;
	}
	return true;
}

/* Everything but the messages into f: counters, keywords, expunged
 * ranges, the names area (at names, which f now refers to). */
static bool snap_adopt(struct store_folder *f, const unsigned char *h,
		       const struct snap_layout *l, const char *names)
{
	const unsigned char *kw = l->kw;

	if (!snap_counters(f, h) || !snap_msgs_ok(l, f->uidnext) ||
	    !snap_vanished(f, l->van, l->nvan, get64(h + 64)))
		return false;
	for (uint64_t i = 0; i < l->nkw; i++, kw += SNAP_KW) {
		uint32_t off = get32(kw), n = get32(kw + 4);

		if (off > l->nsize || n >= l->nsize - off ||
		    !snap_name_ok(l->names + off, n))
			return false;
		f->keywords[f->nkeywords++] = mem_strndup((const char *)
							  l->names + off, n);
	}
	f->snap_names = names;
	f->snap_names_len = (size_t)l->nsize;
	f->unclaimed = (size_t)l->unclaimed;
	return true;
}

/* The snapshot's records and modseq order (at base, the snapshot as f
 * keeps it) for store_changed_since. */
static void snap_adopt_order(struct store_folder *f, const unsigned char *h,
			     const struct snap_layout *l,
			     const unsigned char *base)
{
	f->snap_msgs = (const struct store_msg *)(base + (l->msgs - h));
	f->snap_bymodseq = (const uint32_t *)(base + (l->order - h));
	f->snap_count = (size_t)l->count;
}

/* A CORREOI2 snapshot (packed records, names without NULs) copied
 * into f: names into one heap block made NUL-terminated. */
static bool snap2_parse(struct store_folder *f, const unsigned char *h,
			size_t len)
{
	const unsigned char *kw, *msg, *van, *names;
	uint64_t check, count, nkw, nsize, nvan;
	unsigned char *copy;
	char *arena;
	size_t at = 0;
	bool good;

	if (len < SNAP2_HDR)
		return false;
	/* The check covers the file with its own field zero; the hash is
	 * not incremental, so it is computed over a copy (this form is
	 * read once, to be rewritten). */
	check = get64(h + SNAP2_HDR - 8);
	copy = mem_alloc(len);
	memcpy(copy, h, len);
	put64(copy + SNAP2_HDR - 8, 0);
	good = store_hash64(0, copy, len) == check;
	free(copy);
	if (!good)
		return false;
	count = get32(h + 48);
	nkw = get32(h + 52);
	nsize = get32(h + 56);
	nvan = get32(h + 60);
	if (nkw > STORE_MAX_KEYWORDS || !snap_counters(f, h) ||
	    SNAP2_HDR + nkw * SNAP_KW + count * SNAP2_MSG + nvan * SNAP_VAN +
	    nsize != len)
		return false;
	kw = h + SNAP2_HDR;
	msg = kw + nkw * SNAP_KW;
	van = msg + count * SNAP2_MSG;
	names = van + nvan * SNAP_VAN;
	if (!snap_vanished(f, van, nvan, get64(h + 64)))
		return false;
	for (uint64_t i = 0; i < nkw; i++, kw += SNAP_KW) {
		uint32_t off = get32(kw), n = get32(kw + 4);

		if (off > nsize || n > nsize - off ||
		    !snap_name_ok(names + off, n))
			return false;
		f->keywords[f->nkeywords++] = mem_strndup((const char *)
							  names + off, n);
	}
	store_msgs_reserve(f, count == 0 ? 1 : (size_t)count);
	arena = mem_alloc((size_t)(nsize + count + 1));
	f->snap = arena;
	f->snap_len = (size_t)(nsize + count + 1);
	f->snap_heap = true;
	f->snap_names = arena;
	f->snap_names_len = f->snap_len;
	for (uint64_t i = 0; i < count; i++, msg += SNAP2_MSG) {
		struct store_msg *m = &f->msgs[f->count];
		uint32_t flags = get32(msg + 4), off = get32(msg + 48);
		uint32_t n = get32(msg + 52);

		m->uid = get32(msg);
		if (m->uid == 0 || m->uid >= f->uidnext ||
		    (f->count > 0 && m->uid <= m[-1].uid) ||
		    (flags & ~(SNAP2_IN_NEW | STORE_F_ALL | STORE_F_RECENT)) ||
		    off > nsize || n > nsize - off ||
		    !snap_name_ok(names + off, n) ||
		    get64(msg + 16) > (UINT64_MAX >> 1) ||
		    get64(msg + 32) > (UINT64_MAX >> 1) ||
		    get64(msg + 40) > (UINT64_MAX >> 1))
			return false;
		m->flags = flags & ~SNAP2_IN_NEW;
		m->in_new = (flags & SNAP2_IN_NEW) != 0;
		m->keywords = get64(msg + 8);
		m->modseq = get64(msg + 16);
		m->internaldate = (int64_t)get64(msg + 24);
		m->size = get64(msg + 32);
		m->vsize = get64(msg + 40);
		memcpy(arena + at, names + off, n);
		arena[at + n] = '\0';
		m->name_ref = (uint32_t)at;
		at += n + 1;
		f->unclaimed += store_msg_unclaimed(m);
		f->count++;
	}
	f->snapshot_old = true;
	return true;
}

bool store_snapshot_parse(struct store_folder *f, const char *data,
			  size_t len)
{
	const unsigned char *h = (const unsigned char *)data;
	struct snap_layout l;
	char *copy;

	if (len >= 8 && memcmp(data, SNAP2_MAGIC, 8) == 0)
		return snap2_parse(f, h, len);
	if (!snap_layout(h, len, &l))
		return false;
	/* A heap copy that f owns: the names stay in it. */
	copy = mem_alloc(len + 1);
	memcpy(copy, data, len);
	f->snap = copy;
	f->snap_len = len;
	f->snap_heap = true;
	if (!snap_adopt(f, h, &l, copy + (l.names - h)))
		return false;
	snap_adopt_order(f, h, &l, (const unsigned char *)copy);
	store_msgs_reserve(f, l.count == 0 ? 1 : (size_t)l.count);
	memcpy(f->msgs, l.msgs, (size_t)l.count * sizeof(struct store_msg));
	f->count = (size_t)l.count;
	return true;
}

/* Map the messages of the snapshot in fd (checked, layout l) as f's
 * array: copy-on-write, with room behind them for appends. */
static bool snap_map_msgs(struct store_folder *f, int fd,
			  const struct snap_layout *l)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t bytes = (size_t)l->count * sizeof(struct store_msg);
	size_t file_part, reserve;
	void *base;

	if (page == 0 || SNAP_RECS % page != 0 || l->count == 0)
		goto copy;	/* records not on a page boundary here */
	file_part = (bytes + page - 1) / page * page;
	/* A quarter more for appends, at least 256: address space only. */
	reserve = (bytes + bytes / 4 + 256 * sizeof(struct store_msg) +
		   page - 1) / page * page;
	base = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		goto copy;
	if (mmap(base, file_part, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, fd, SNAP_RECS) == MAP_FAILED) {
		(void)munmap(base, reserve);
		goto copy;
	}
	f->msgs = base;
	f->msgs_map = base;
	f->msgs_map_len = reserve;
	f->cap = reserve / sizeof(struct store_msg);
	f->count = (size_t)l->count;
	return true;
copy:
	store_msgs_reserve(f, l->count == 0 ? 1 : (size_t)l->count);
	memcpy(f->msgs, l->msgs, bytes);
	f->count = (size_t)l->count;
	return true;
}

int store_snapshot_read(struct store_folder *f, struct str *error_r)
{
	struct str path = STR_INIT;
	struct snap_layout l;
	struct stat st;
	char magic[8];
	void *map;
	int fd, ret = 0;

	str_printf(&path, "%s/%s", f->dir, STORE_INDEX_FILE);
	fd = open(str_c(&path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : -1;
		if (ret < 0)
			str_printf(error_r, "open %s: %s", str_c(&path),
				   strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > STORE_MAX_INDEX_FILE || st.st_size < SNAP2_HDR)
		goto out;	/* not ours, or text: the caller reads it */
	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    !store_snapshot_is_binary(magic, sizeof(magic))) {
		ret = 2;
		goto out;
	}
	/* Read-only and shared with the page cache; populated at once,
	 * since the check reads all of it anyway. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ,
		   MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		str_printf(error_r, "mmap %s: %s", str_c(&path),
			   strerror(errno));
		ret = -1;
		goto out;
	}
	if (memcmp(magic, SNAP2_MAGIC, 8) == 0) {
		ret = snap2_parse(f, map, (size_t)st.st_size) ? 1 : 0;
		(void)munmap(map, (size_t)st.st_size);
		goto out;
	}
	f->snap = map;
	f->snap_len = (size_t)st.st_size;
	if (!snap_layout(map, (size_t)st.st_size, &l) ||
	    !snap_adopt(f, map, &l, (const char *)l.names) ||
	    !snap_map_msgs(f, fd, &l))
		goto out;
	snap_adopt_order(f, map, &l, map);
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	str_release(&path);
	return ret;
}
