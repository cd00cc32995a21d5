/*
 * store_snapshot: the binary snapshot of a folder's index, correo-index
 * (store_int.h). Written by every compaction; read at every open of
 * the folder, so it is laid out to be loaded with one read and no
 * parsing: an 80-byte header, fixed-size message records, the
 * expunged-UID ranges of QRESYNC (store_vanished.c), and an area of
 * names (file names and keywords).
 *
 *   header   "CORREOI2", generation (u64), uidvalidity (u32), uidnext
 *            (u32), highest modseq (u64), new/ and cur/ mtimes (ns,
 *            i64 each), message count (u32), keyword count (u32),
 *            size of the names area (u32), expunged ranges (u32),
 *            expunged floor (u64), check (u64: hash of the whole file
 *            with this field zero)
 *   keyword  name offset (u32), length (u32) in the names area
 *   message  uid (u32), flags (u32; bit 31: in new/), keywords (u64),
 *            modseq (u64), internal date (i64), size (u64), size with
 *            CRLF (u64), name offset (u32), name length (u32)
 *   expunged first uid (u32), last uid (u32), modseq (u64)
 *   names
 *
 * (numbers little-endian). The whole-file check and the range checks
 * below refuse a damaged or edited file, which the caller then treats
 * as missing (a rebuild from the Maildir). The old text snapshot (the
 * record lines of store_index.c) is still read, and rewritten in this
 * form when the folder is opened (store_folder_open), so existing
 * indexes migrate by themselves.
 *
 * SECURITY: runs as the mailbox owner on a file anything may have
 * written: counts are checked against the file size before use, UIDs
 * must increase, names are checked as in the log (no '/', NUL, "." or
 * ".."), files larger than STORE_MAX_INDEX_FILE are not read.
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

#define SNAP_MAGIC	"CORREOI2"
#define SNAP_HDR	80
#define SNAP_VAN	16
#define SNAP_KW		8
#define SNAP_MSG	56
#define SNAP_IN_NEW	0x80000000u

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

bool store_snapshot_format(struct store_folder *f, uint64_t gen,
			   struct str *out)
{
	size_t names = 0, nlen, hdr_at = out->len;
	unsigned char *p;

	for (unsigned i = 0; i < f->nkeywords; i++)
		names += strlen(f->keywords[i]);
	for (size_t i = 0; i < f->count; i++)
		names += strlen(f->msgs[i].name);
	if (names > UINT32_MAX || f->count > UINT32_MAX)
		return false;
	store_vanished_bound(f);
	str_reserve(out, SNAP_HDR + f->nkeywords * SNAP_KW +
		    f->count * SNAP_MSG + f->vanished.n * SNAP_VAN +
		    names + 1);
	p = (unsigned char *)out->data + out->len;
	memset(p, 0, SNAP_HDR);
	memcpy(p, SNAP_MAGIC, 8);
	put64(p + 8, gen);
	put32(p + 16, f->uidvalidity);
	put32(p + 20, f->uidnext);
	put64(p + 24, f->highestmodseq);
	put64(p + 32, (uint64_t)f->new_mtime_ns);
	put64(p + 40, (uint64_t)f->cur_mtime_ns);
	put32(p + 48, (uint32_t)f->count);
	put32(p + 52, f->nkeywords);
	put32(p + 56, (uint32_t)names);
	put32(p + 60, (uint32_t)f->vanished.n);
	put64(p + 64, f->vanished.floor);
	p += SNAP_HDR;
	names = 0;
	for (unsigned i = 0; i < f->nkeywords; i++, p += SNAP_KW) {
		nlen = strlen(f->keywords[i]);
		put32(p, (uint32_t)names);
		put32(p + 4, (uint32_t)nlen);
		names += nlen;
	}
	for (size_t i = 0; i < f->count; i++, p += SNAP_MSG) {
		const struct store_msg *m = &f->msgs[i];

		nlen = strlen(m->name);
		put32(p, m->uid);
		put32(p + 4, m->flags | (m->in_new ? SNAP_IN_NEW : 0));
		put64(p + 8, m->keywords);
		put64(p + 16, m->modseq);
		put64(p + 24, (uint64_t)m->internaldate);
		put64(p + 32, m->size);
		put64(p + 40, m->vsize);
		put32(p + 48, (uint32_t)names);
		put32(p + 52, (uint32_t)nlen);
		names += nlen;
	}
	for (size_t i = 0; i < f->vanished.n; i++, p += SNAP_VAN) {
		put32(p, f->vanished.ranges[i].lo);
		put32(p + 4, f->vanished.ranges[i].hi);
		put64(p + 8, f->vanished.ranges[i].modseq);
	}
	for (unsigned i = 0; i < f->nkeywords; i++) {
		nlen = strlen(f->keywords[i]);
		memcpy(p, f->keywords[i], nlen);
		p += nlen;
	}
	for (size_t i = 0; i < f->count; i++) {
		nlen = strlen(f->msgs[i].name);
		memcpy(p, f->msgs[i].name, nlen);
		p += nlen;
	}
	out->len = (size_t)((char *)p - out->data);
	out->data[out->len] = '\0';
	/* The check covers everything, itself as zero. */
	p = (unsigned char *)out->data + hdr_at;
	put64(p + SNAP_HDR - 8, store_hash64(0, p, out->len - hdr_at));
	return true;
}

bool store_snapshot_is_binary(const char *data, size_t len)
{
	return len >= 8 && memcmp(data, SNAP_MAGIC, 8) == 0;
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

	if (len < SNAP_HDR || !store_snapshot_is_binary(data, len) ||
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

bool store_snapshot_parse(struct store_folder *f, char *data, size_t len)
{
	unsigned char *h = (unsigned char *)data;
	const unsigned char *kw, *msg, *van, *names;
	uint64_t check, count, nkw, nsize, uidnext, nvan;
	char *arena;

	if (len < SNAP_HDR || !store_snapshot_is_binary(data, len))
		return false;
	check = get64(h + SNAP_HDR - 8);
	put64(h + SNAP_HDR - 8, 0);
	if (store_hash64(0, h, len) != check)
		return false;
	count = get32(h + 48);
	nkw = get32(h + 52);
	nsize = get32(h + 56);
	uidnext = get32(h + 20);
	nvan = get32(h + 60);
	if (nkw > STORE_MAX_KEYWORDS || get32(h + 16) == 0 ||
	    uidnext == 0 || get64(h + 24) > (UINT64_MAX >> 1) ||
	    SNAP_HDR + nkw * SNAP_KW + count * SNAP_MSG + nvan * SNAP_VAN +
	    nsize != len)
		return false;
	kw = h + SNAP_HDR;
	msg = kw + nkw * SNAP_KW;
	van = msg + count * SNAP_MSG;
	names = van + nvan * SNAP_VAN;
	if (!snap_vanished(f, van, nvan, get64(h + 64)))
		return false;
	f->log_gen = get64(h + 8);
	f->uidvalidity = get32(h + 16);
	f->uidnext = (uint32_t)uidnext;
	f->highestmodseq = get64(h + 24);
	f->new_mtime_ns = (int64_t)get64(h + 32);
	f->cur_mtime_ns = (int64_t)get64(h + 40);
	for (uint64_t i = 0; i < nkw; i++, kw += SNAP_KW) {
		uint32_t off = get32(kw), n = get32(kw + 4);

		if (off > nsize || n > nsize - off ||
		    !snap_name_ok(names + off, n))
			return false;
		f->keywords[f->nkeywords++] = mem_strndup((const char *)
							  names + off, n);
	}
	f->msgs = mem_array_realloc(f->msgs, count == 0 ? 1 : count,
				    sizeof(*f->msgs));
	f->cap = count == 0 ? 1 : count;
	/* One block for the names, each NUL-terminated. */
	f->names_size = (size_t)(nsize + count + 1);
	f->names = mem_alloc(f->names_size);
	arena = f->names;
	for (uint64_t i = 0; i < count; i++, msg += SNAP_MSG) {
		struct store_msg *m = &f->msgs[f->count];
		uint32_t flags = get32(msg + 4), off = get32(msg + 48);
		uint32_t n = get32(msg + 52);

		m->uid = get32(msg);
		if (m->uid == 0 || m->uid >= uidnext ||
		    (f->count > 0 && m->uid <= m[-1].uid) ||
		    (flags & ~(SNAP_IN_NEW | STORE_F_ALL | STORE_F_RECENT)) ||
		    off > nsize || n > nsize - off ||
		    !snap_name_ok(names + off, n) ||
		    get64(msg + 16) > (UINT64_MAX >> 1) ||
		    get64(msg + 32) > (UINT64_MAX >> 1) ||
		    get64(msg + 40) > (UINT64_MAX >> 1))
			return false;
		m->flags = flags & ~SNAP_IN_NEW;
		m->in_new = (flags & SNAP_IN_NEW) != 0;
		m->keywords = get64(msg + 8);
		m->modseq = get64(msg + 16);
		m->internaldate = (int64_t)get64(msg + 24);
		m->size = get64(msg + 32);
		m->vsize = get64(msg + 40);
		memcpy(arena, names + off, n);
		arena[n] = '\0';
		m->name = arena;
		arena += n + 1;
		f->count++;
	}
	return true;
}

int store_snapshot_read(struct store_folder *f, struct str *error_r)
{
	struct str path = STR_INIT;
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
	    st.st_size > STORE_MAX_INDEX_FILE || st.st_size < SNAP_HDR)
		goto out;	/* not ours, or text: the caller reads it */
	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    !store_snapshot_is_binary(magic, sizeof(magic))) {
		ret = 2;
		goto out;
	}
	/* Private and writable: store_snapshot_parse zeroes the check
	 * field in its copy of the first page. The file is only ever
	 * replaced by rename, never cut in place. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		str_printf(error_r, "mmap %s: %s", str_c(&path),
			   strerror(errno));
		ret = -1;
		goto out;
	}
	ret = store_snapshot_parse(f, map, (size_t)st.st_size) ? 1 : 0;
	(void)munmap(map, (size_t)st.st_size);
out:
	if (fd >= 0)
		close(fd);
	str_release(&path);
	return ret;
}
