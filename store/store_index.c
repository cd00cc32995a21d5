/*
 * store_index: the index files of a folder (store.h, store_int.h): the
 * record line format, the snapshot, the append-only log, replay, and
 * compaction.
 *
 * Replay stops at the first line that is incomplete (no newline yet: a
 * writer may be in the middle of it) or whose checksum or fields are bad
 * (a torn write after a crash). Readers simply stop there and look
 * again at their next refresh; a writer, holding the lock, cuts the log
 * back to the last good record before appending, so an acknowledged
 * record (written and fdatasync'd under the lock) is never behind
 * garbage. The log's first line names its generation; a snapshot of a
 * newer generation than its log means a compaction was interrupted after
 * the snapshot was renamed into place: the snapshot already holds every
 * record of that log, which is then replaced by an empty one.
 *
 * SECURITY: runs as the mailbox owner. The files live in the user's
 * Maildir where the user (or any Maildir tool) may edit them: every
 * number is range-checked, names may not contain '/' or be "." or "..",
 * and files larger than STORE_MAX_INDEX_FILE are not read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "group_sync.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "store_int.h"

static uint32_t store_crc(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

void store_rec_reset(struct store_rec *rec)
{
	struct str name = rec->name;

	memset(rec, 0, sizeof(*rec));
	str_clear(&name);
	rec->name = name;
}

static void store_name_encode(struct str *out, const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p <= ' ' || *p == '%' || *p == 0x7f)
			str_printf(out, "%%%02X", *p);
		else
			str_append_c(out, (char)*p);
	}
}

void store_rec_format(const struct store_rec *rec, struct str *out)
{
	size_t start = out->len;

	str_append_c(out, rec->kind);
	if (rec->has_g)
		str_printf(out, " G%" PRIu64, rec->gen);
	if (rec->has_v)
		str_printf(out, " V%" PRIu64, rec->uidvalidity);
	if (rec->has_m)
		str_printf(out, " M%" PRIu64, rec->modseq);
	if (rec->has_n)
		str_printf(out, " N%" PRIu64, rec->uidnext);
	if (rec->has_t)
		str_printf(out, " T%" PRId64 ":%" PRId64, rec->new_ns,
			   rec->cur_ns);
	switch (rec->kind) {
	case 'A':
		str_printf(out, " U%" PRIu32 " F%" PRIu32 " K%" PRIx64
			   " D%" PRId64 " S%" PRIu64 " W%" PRIu64 " L%c",
			   rec->uid, rec->flags, rec->keywords, rec->idate,
			   rec->size, rec->vsize, rec->in_new ? 'n' : 'c');
		break;
	case 'F':
		str_printf(out, " U%" PRIu32 " F%" PRIu32 " K%" PRIx64
			   " L%c", rec->uid, rec->flags, rec->keywords,
			   rec->in_new ? 'n' : 'c');
		break;
	case 'E':
		str_printf(out, " U%" PRIu32, rec->uid);
		break;
	case 'K':
		str_printf(out, " I%" PRIu32, rec->idx);
		break;
	case 'Z':
		str_printf(out, " C%" PRIu64, rec->count);
		break;
	case 'X':
		if (rec->uid != 0)
			str_printf(out, " U%" PRIu32 " C%" PRIu64, rec->uid,
				   rec->count);
		break;
	default:
		break;
	}
	if (rec->kind == 'A' || rec->kind == 'F' || rec->kind == 'K') {
		str_append(out, " :");
		store_name_encode(out, str_c(&rec->name));
	}
	str_printf(out, " *%08" PRIx32 "\n",
		   store_crc(out->data + start, out->len - start));
}

static int store_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool store_name_decode(const char *p, const char *end,
			      struct str *out)
{
	str_clear(out);
	while (p < end) {
		if (*p == '%') {
			int hi, lo;

			if (end - p < 3 || (hi = store_hex(p[1])) < 0 ||
			    (lo = store_hex(p[2])) < 0 || (hi == 0 && lo == 0))
				return false;
			str_append_c(out, (char)(hi * 16 + lo));
			p += 3;
		} else {
			str_append_c(out, *p++);
		}
	}
	return out->len > 0 && out->len < 1024 &&
	       memchr(out->data, '/', out->len) == NULL &&
	       strcmp(str_c(out), ".") != 0 && strcmp(str_c(out), "..") != 0;
}

/* An unsigned decimal (or hex) number in [p, end) up to max. */
static bool store_num(const char *p, const char *end, int base,
		      uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;
	int d;

	if (p == end)
		return false;
	for (; p < end; p++) {
		d = base == 16 ? store_hex(*p) :
		    (*p >= '0' && *p <= '9' ? *p - '0' : -1);
		if (d < 0 || v > (max - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*v_r = v;
	return true;
}

static bool store_snum(const char *p, const char *end, int64_t *v_r)
{
	bool neg = p < end && *p == '-';
	uint64_t v;

	if (!store_num(p + neg, end, 10, INT64_MAX, &v))
		return false;
	*v_r = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

static bool store_field(struct store_rec *rec, const char *p,
			const char *end)
{
	char c = *p++;
	uint64_t v;
	const char *colon;

	switch (c) {
	case 'G':
		rec->has_g = true;
		return store_num(p, end, 10, UINT64_MAX, &rec->gen);
	case 'V':
		rec->has_v = true;
		return store_num(p, end, 10, UINT32_MAX, &rec->uidvalidity) &&
		       rec->uidvalidity > 0;
	case 'M':
		rec->has_m = true;
		return store_num(p, end, 10, UINT64_MAX >> 1, &rec->modseq);
	case 'N':
		rec->has_n = true;
		return store_num(p, end, 10, (uint64_t)UINT32_MAX + 1,
				 &rec->uidnext);
	case 'T':
		rec->has_t = true;
		colon = memchr(p, ':', (size_t)(end - p));
		return colon != NULL && store_snum(p, colon, &rec->new_ns) &&
		       store_snum(colon + 1, end, &rec->cur_ns);
	case 'U':
		if (!store_num(p, end, 10, UINT32_MAX, &v) || v == 0)
			return false;
		rec->uid = (uint32_t)v;
		return true;
	case 'F':
		if (!store_num(p, end, 10, STORE_F_ALL | STORE_F_RECENT, &v))
			return false;
		rec->flags = (uint32_t)v;
		return true;
	case 'K':
		return store_num(p, end, 16, UINT64_MAX, &rec->keywords);
	case 'D':
		return store_snum(p, end, &rec->idate);
	case 'S':
		return store_num(p, end, 10, UINT64_MAX >> 1, &rec->size);
	case 'W':
		return store_num(p, end, 10, UINT64_MAX >> 1, &rec->vsize);
	case 'L':
		rec->in_new = end - p == 1 && *p == 'n';
		return end - p == 1 && (*p == 'n' || *p == 'c');
	case 'I':
		if (!store_num(p, end, 10, STORE_MAX_KEYWORDS - 1, &v))
			return false;
		rec->idx = (uint32_t)v;
		return true;
	case 'C':
		rec->has_c = true;
		return store_num(p, end, 10, UINT64_MAX, &rec->count);
	default:
		return true;	/* a later version's field */
	}
}

bool store_rec_parse(const char *line, size_t len, struct store_rec *rec)
{
	const char *end = line + len, *star, *p, *sp;
	uint64_t crc;

	store_rec_reset(rec);
	/* " *XXXXXXXX" ends every line. */
	if (len < 12 || end[-10] != ' ' || end[-9] != '*')
		return false;
	star = end - 10;
	if (!store_num(end - 8, end, 16, UINT32_MAX, &crc) ||
	    (uint32_t)crc != store_crc(line, (size_t)(star - line)))
		return false;
	rec->kind = line[0];
	if (strchr("HAFEKTZX", rec->kind) == NULL ||
	    (star - line > 1 && line[1] != ' '))
		return false;
	for (p = line + 1; p < star; p = sp) {
		while (p < star && *p == ' ')
			p++;
		if (p == star)
			break;
		if (*p == ':')
			return store_name_decode(p + 1, star, &rec->name);
		sp = memchr(p, ' ', (size_t)(star - p));
		if (sp == NULL)
			sp = star;
		if (!store_field(rec, p, sp))
			return false;
	}
	return rec->kind != 'A' && rec->kind != 'F' && rec->kind != 'K';
}

void store_batch_init(struct store_batch *b, const struct store_folder *f)
{
	memset(&b->out, 0, sizeof(b->out));
	b->modseq = f->highestmodseq;
	b->uidnext = f->uidnext;
	b->apply_to = NULL;
}

void store_batch_add(struct store_batch *b, struct store_rec *rec)
{
	if (rec->kind == 'A' || rec->kind == 'F' || rec->kind == 'E')
		rec->modseq = ++b->modseq;
	else
		rec->modseq = b->modseq;
	if (rec->kind == 'A' && rec->uid >= b->uidnext)
		b->uidnext = rec->uid == UINT32_MAX ? UINT32_MAX :
			     rec->uid + 1;
	rec->has_m = rec->has_n = true;
	rec->uidnext = b->uidnext;
	if (b->apply_to != NULL)
		(void)store_apply(b->apply_to, rec, true);
	else
		store_rec_format(rec, &b->out);
}

void store_batch_release(struct store_batch *b)
{
	str_release(&b->out);
}

void store_note(struct store_folder *f, char kind, uint32_t uid,
		const struct store_msg *before)
{
	struct store_change *c;

	if (f->nchanges == f->changes_cap) {
		f->changes_cap = f->changes_cap == 0 ? 16 : f->changes_cap * 2;
		f->changes = mem_array_realloc(f->changes, f->changes_cap,
					       sizeof(*f->changes));
	}
	c = &f->changes[f->nchanges++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->uid = uid;
	if (before != NULL) {
		c->flags = before->flags;
		c->keywords = before->keywords;
		c->modseq = before->modseq;
	}
}

static void store_msg_set(struct store_folder *f, struct store_msg *m,
			  const struct store_rec *rec)
{
	m->flags = rec->flags;
	m->keywords = rec->keywords;
	m->modseq = rec->modseq;
	m->in_new = rec->in_new;
	store_msg_set_name(f, m, str_c(&rec->name));
}

static bool store_apply_add(struct store_folder *f,
			    const struct store_rec *rec, bool note)
{
	struct store_msg *m;
	size_t at;

	if (store_lookup(f, rec->uid, NULL) != NULL)
		return false;
	store_msgs_reserve(f, f->count + 1);
	/* Records come in uid order; anything else is inserted in place. */
	at = f->count;
	while (at > 0 && f->msgs[at - 1].uid > rec->uid)
		at--;
	memmove(&f->msgs[at + 1], &f->msgs[at],
		(f->count - at) * sizeof(*f->msgs));
	f->count++;
	m = &f->msgs[at];
	memset(m, 0, sizeof(*m));
	m->uid = rec->uid;
	m->internaldate = rec->idate;
	m->size = rec->size;
	m->vsize = rec->vsize;
	store_msg_set(f, m, rec);
	f->unclaimed += store_msg_unclaimed(m);
	store_msgs_touch(f, m->uid);
	if ((uint64_t)rec->uid >= f->uidnext)
		f->uidnext = rec->uid + 1 > UINT32_MAX ? UINT32_MAX :
			     rec->uid + 1;
	if (note)
		store_note(f, 'A', rec->uid, NULL);
	return true;
}

bool store_apply(struct store_folder *f, const struct store_rec *rec,
		 bool note)
{
	struct store_msg *m;
	size_t i;

	if (rec->kind == 'X')
		return store_vanished_apply(f, rec);
	if (rec->has_m && rec->modseq > f->highestmodseq)
		f->highestmodseq = rec->modseq;
	if (rec->has_n && rec->uidnext > f->uidnext)
		f->uidnext = (uint32_t)(rec->uidnext > UINT32_MAX ?
					UINT32_MAX : rec->uidnext);
	if (rec->has_t) {
		f->new_mtime_ns = rec->new_ns;
		f->cur_mtime_ns = rec->cur_ns;
	}
	if (rec->has_v)
		f->uidvalidity = (uint32_t)rec->uidvalidity;
	switch (rec->kind) {
	case 'A':
		return store_apply_add(f, rec, note);
	case 'F':
		m = store_lookup(f, rec->uid, NULL);
		if (m == NULL)
			return true;	/* expunged meanwhile */
		if (note)
			store_note(f, 'F', rec->uid, m);
		f->unclaimed -= store_msg_unclaimed(m);
		store_msg_set(f, m, rec);
		f->unclaimed += store_msg_unclaimed(m);
		store_msgs_touch(f, m->uid);
		return true;
	case 'E':
		m = store_lookup(f, rec->uid, &i);
		if (m == NULL)
			return true;
		store_vanished_note(f, rec->uid, rec->modseq);
		if (note)
			store_note(f, 'E', rec->uid, m);
		f->unclaimed -= store_msg_unclaimed(m);
		store_msg_drop_name(f, m);
		memmove(m, m + 1, (f->count - i - 1) * sizeof(*m));
		f->count--;
		return true;
	case 'K':
		if (rec->idx != f->nkeywords && rec->idx >= f->nkeywords)
			return false;
		if (rec->idx == f->nkeywords)
			f->nkeywords++;
		free(f->keywords[rec->idx]);
		f->keywords[rec->idx] = mem_strdup(str_c(&rec->name));
		return true;
	default:
		return true;
	}
}

int store_lock(const char *dir, struct str *error_r)
{
	struct str path = STR_INIT;
	int fd;

	str_printf(&path, "%s/%s", dir, STORE_LOCK_FILE);
	fd = open(str_c(&path), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		str_clear(error_r);
		str_printf(error_r, "lock %s: %s", str_c(&path),
			   strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	str_release(&path);
	return fd;
}

void store_unlock(int *fd)
{
	if (*fd >= 0) {
		close(*fd);	/* releases the flock */
		*fd = -1;
	}
}

/* Replay the lines of buf[0, len) into f. Returns the length of the
 * good prefix (through the last good record's newline); *header_r gets
 * the first record when want_header. */
static size_t store_replay(struct store_folder *f, const char *buf,
			   size_t len, bool note, struct store_rec *rec,
			   bool *bad_r)
{
	size_t off = 0;
	const char *nl;

	*bad_r = false;
	while (off < len &&
	       (nl = memchr(buf + off, '\n', len - off)) != NULL) {
		size_t n = (size_t)(nl - (buf + off));

		if (!store_rec_parse(buf + off, n, rec) || rec->kind == 'H' ||
		    rec->kind == 'Z' || !store_apply(f, rec, note)) {
			*bad_r = true;
			break;
		}
		f->log_records++;
		off += n + 1;
	}
	if (!*bad_r && off < len)
		*bad_r = false;	/* an unfinished line: look again later */
	return off;
}

/* Read the whole file at dir/name into out; 1 read, 0 missing, -1. */
static int store_read_file(const char *dir, const char *name, int *fd_r,
			   struct str *out, struct stat *st_r)
{
	struct str path = STR_INIT;
	ssize_t n;
	int fd;

	str_printf(&path, "%s/%s", dir, name);
	/* The log is appended to through the same descriptor. */
	fd = open(str_c(&path), (fd_r != NULL ? O_RDWR : O_RDONLY) |
		  O_NOFOLLOW | O_CLOEXEC);
	str_release(&path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, st_r) != 0 || !S_ISREG(st_r->st_mode) ||
	    st_r->st_size > STORE_MAX_INDEX_FILE) {
		close(fd);
		return 0;	/* not ours: rebuild */
	}
	str_clear(out);
	str_reserve(out, (size_t)st_r->st_size + 1);
	while ((n = read(fd, out->data + out->len,
			 out->cap - out->len - 1)) > 0) {
		out->len += (size_t)n;
		if (out->len + 1 >= out->cap)
			str_reserve(out, 65536);
	}
	out->data[out->len] = '\0';
	if (n < 0) {
		close(fd);
		return -1;
	}
	if (fd_r != NULL)
		*fd_r = fd;
	else
		close(fd);
	return 1;
}

/* The snapshot into f: 1 good, 0 missing or damaged. */
static int store_snapshot_load(struct store_folder *f, struct str *error_r)
{
	struct str buf = STR_INIT;
	struct store_rec rec = { 0 };
	struct stat st;
	size_t off = 0;
	const char *nl;
	bool header = false, end = false;
	uint64_t count = 0;
	int ret;

	ret = store_snapshot_read(f, error_r);
	if (ret != 2) {
		if (ret == 0)
			store_folder_clear(f);
		goto out;
	}
	ret = store_read_file(f->dir, STORE_INDEX_FILE, NULL, &buf, &st);
	if (ret < 0) {
		str_printf(error_r, "read %s/%s: %s", f->dir,
			   STORE_INDEX_FILE, strerror(errno));
		goto out;
	}
	ret = 0;
	/* The text form of before store_snapshot.c: read, and rewritten
	 * by the next open (store_folder_open). */
	f->snapshot_old = true;
	while (off < buf.len && !end &&
	       (nl = memchr(buf.data + off, '\n', buf.len - off)) != NULL) {
		size_t n = (size_t)(nl - (buf.data + off));

		if (!store_rec_parse(buf.data + off, n, &rec))
			goto out;
		off += n + 1;
		if (!header) {
			if (rec.kind != 'H' || !rec.has_g || !rec.has_v)
				goto out;
			header = true;
			f->log_gen = rec.gen;
			store_apply(f, &rec, false);
		} else if (rec.kind == 'Z') {
			end = rec.has_c && rec.count == count &&
			      off == buf.len;
		} else if ((rec.kind != 'A' && rec.kind != 'K' &&
			    rec.kind != 'X') ||
			   !store_apply(f, &rec, false)) {
			goto out;
		} else if (rec.kind == 'A') {
			count++;
		}
	}
	ret = end ? 1 : 0;
out:
	str_release(&rec.name);
	str_release(&buf);
	return ret;
}

static bool store_log_create(struct store_folder *f, struct str *error_r)
{
	struct str path = STR_INIT, text = STR_INIT;
	struct store_rec rec = { .kind = 'H', .has_g = true, .has_v = true,
				 .has_m = true, .has_n = true,
				 .has_t = true };
	bool ok;

	rec.gen = f->log_gen;
	rec.uidvalidity = f->uidvalidity;
	rec.modseq = f->highestmodseq;
	rec.uidnext = f->uidnext;
	rec.new_ns = f->new_mtime_ns;
	rec.cur_ns = f->cur_mtime_ns;
	store_rec_format(&rec, &text);
	str_printf(&path, "%s/%s", f->dir, STORE_LOG_FILE);
	ok = safe_write_file(str_c(&path), text.data, text.len, 0600);
	if (!ok)
		str_printf(error_r, "write %s: %s", str_c(&path),
			   strerror(errno));
	str_release(&path);
	str_release(&text);
	str_release(&rec.name);
	return ok;
}

/* Make fd (the log, of st) f's log, read up to good: with the lock held,
 * a torn tail after good is cut first. 1, or -1 with a reason. */
static int store_log_adopt(struct store_folder *f, int *fd,
			   const struct stat *st, uint64_t good, bool cut,
			   struct str *error_r)
{
	if (cut && good < (uint64_t)st->st_size &&
	    ftruncate(*fd, (off_t)good) != 0) {
		str_printf(error_r, "truncate torn log in %s: %s", f->dir,
			   strerror(errno));
		return -1;
	}
	if (f->log_fd >= 0)
		close(f->log_fd);
	f->log_fd = *fd;
	*fd = -1;
	f->log_off = good;
	f->log_ino = (uint64_t)st->st_ino;
	f->log_synced = 0;	/* store_log_durable asks the marker */
	f->logsync_fresh = false;	/* read for another log file */
	return 1;
}

/* Open the log and replay it from the start into f (which holds the
 * snapshot). 1 ok, 0 the log does not fit the snapshot, -1 error. */
static int store_log_load(struct store_folder *f, bool locked,
			  struct str *error_r)
{
	struct str buf = STR_INIT;
	struct store_rec rec = { 0 };
	struct stat st;
	const char *nl;
	size_t good;
	bool bad;
	int fd = -1, ret;

	ret = store_read_file(f->dir, STORE_LOG_FILE, &fd, &buf, &st);
	if (ret < 0) {
		str_printf(error_r, "read %s/%s: %s", f->dir, STORE_LOG_FILE,
			   strerror(errno));
		goto out;
	}
	ret = 0;
	if (fd < 0)
		goto out;
	nl = memchr(buf.data, '\n', buf.len);
	if (nl == NULL ||
	    !store_rec_parse(buf.data, (size_t)(nl - buf.data), &rec) ||
	    rec.kind != 'H' || !rec.has_g || rec.gen != f->log_gen)
		goto out;
	good = (size_t)(nl - buf.data) + 1;
	good += store_replay(f, buf.data + good, buf.len - good, false, &rec,
			     &bad);
	ret = store_log_adopt(f, &fd, &st, good, bad && locked, error_r);
out:
	if (fd >= 0)
		close(fd);
	str_release(&rec.name);
	str_release(&buf);
	return ret;
}

int store_index_load(struct store_folder *f, bool locked,
		     struct str *error_r)
{
	int ret;

	store_folder_clear(f);
	ret = store_snapshot_load(f, error_r);
	if (ret <= 0)
		return ret;
	ret = store_log_load(f, locked, error_r);
	if (ret == 0 && locked) {
		/* Missing, or older than the snapshot (an interrupted
		 * compaction): the snapshot holds everything. */
		if (!store_log_create(f, error_r))
			return -1;
		ret = store_log_load(f, locked, error_r);
	}
	return ret;
}

/* Compacted (or lost) since we read it: load the new generation and
 * note what differs from the view we had. */
static bool store_index_reload(struct store_folder *f, bool locked,
			       struct str *error_r)
{
	struct store_folder was;	/* the messages we had */
	size_t i = 0, j = 0;
	bool ok;

	store_msgs_move(&was, f);
	ok = store_index_load(f, locked, error_r) == 1;
	if (!ok && error_r->len == 0)
		str_printf(error_r, "index of %s changed unreadably", f->dir);
	while (ok && (i < was.count || j < f->count)) {
		const struct store_msg *old = was.msgs;

		if (j == f->count ||
		    (i < was.count && old[i].uid < f->msgs[j].uid)) {
			store_note(f, 'E', old[i].uid, &old[i]);
			i++;
		} else if (i == was.count || f->msgs[j].uid < old[i].uid) {
			store_note(f, 'A', f->msgs[j++].uid, NULL);
		} else {
			if (old[i].modseq != f->msgs[j].modseq)
				store_note(f, 'F', f->msgs[j].uid, &old[i]);
			i++;
			j++;
		}
	}
	store_msgs_release(&was);
	return ok;
}

bool store_index_catch_up(struct store_folder *f, bool locked,
			  struct str *error_r)
{
	struct store_rec rec = { 0 };
	struct str buf = STR_INIT, path = STR_INIT;
	struct stat st, pst;
	size_t good;
	ssize_t n;
	bool bad, ok = false;

	str_printf(&path, "%s/%s", f->dir, STORE_LOG_FILE);
	if (f->log_fd < 0 || stat(str_c(&path), &pst) != 0 ||
	    (uint64_t)pst.st_ino != f->log_ino) {
		str_release(&path);
		return store_index_reload(f, locked, error_r);
	}
	if (fstat(f->log_fd, &st) != 0) {
		str_printf(error_r, "fstat log: %s", strerror(errno));
		goto out;
	}
	ok = true;
	if ((uint64_t)st.st_size <= f->log_off)
		goto out;
	str_reserve(&buf, (size_t)((uint64_t)st.st_size - f->log_off) + 1);
	n = pread(f->log_fd, buf.data, buf.cap - 1, (off_t)f->log_off);
	if (n < 0) {
		str_printf(error_r, "read log: %s", strerror(errno));
		ok = false;
		goto out;
	}
	buf.len = (size_t)n;
	good = store_replay(f, buf.data, buf.len, true, &rec, &bad);
	f->log_off += good;
	if (bad && locked && ftruncate(f->log_fd, (off_t)f->log_off) != 0) {
		str_printf(error_r, "truncate torn log: %s", strerror(errno));
		ok = false;
	}
out:
	str_release(&path);
	str_release(&buf);
	str_release(&rec.name);
	return ok;
}

bool store_log_append(struct store_folder *f, const struct str *records,
		      struct str *error_r)
{
	return store_log_write(f, records, true, error_r);
}

bool store_log_write(struct store_folder *f, const struct str *records,
		     bool sync, struct str *error_r)
{
	struct store_rec rec = { 0 };
	size_t good;
	bool bad;

	if (records->len == 0)
		return true;
	if (pwrite(f->log_fd, records->data, records->len,
		   (off_t)f->log_off) != (ssize_t)records->len ||
	    (sync && fdatasync(f->log_fd) != 0)) {
		str_printf(error_r, "append to index log of %s: %s", f->dir,
			   strerror(errno));
		/* Whatever part got written is cut by the next writer. */
		(void)ftruncate(f->log_fd, (off_t)f->log_off);
		return false;
	}
	good = store_replay(f, records->data, records->len, true, &rec, &bad);
	str_release(&rec.name);
	if (bad || good != records->len)
		msg_panic("%s: index record of our own rejected", f->dir);
	f->log_off += good;
	if (sync)
		store_log_synced(f);
	return true;
}

/* The marker (STORE_LOGSYNC_FILE): the log's inode, the length synced,
 * the boot id of the process that wrote it, and a check of the rest (a
 * torn or edited marker claims nothing). */
#define STORE_LOGSYNC_LEN	48
#define STORE_LOGSYNC_SEED	0x636f7272656f4c53ULL

static void store_logsync_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t store_logsync_get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void store_logsync_make(unsigned char *m, uint64_t ino, uint64_t off)
{
	const unsigned char *boot = group_sync_boot_id();

	memset(m, 0, STORE_LOGSYNC_LEN);
	store_logsync_put64(m, ino);
	store_logsync_put64(m + 8, off);
	if (boot != NULL)
		memcpy(m + 16, boot, 16);
	store_logsync_put64(m + 32, store_hash64(STORE_LOGSYNC_SEED, m, 32));
}

/* A marker that cannot be read or written only costs syncs (every open
 * syncs the log), but the I/O error behind it is worth a word: once per
 * process. */
static void store_logsync_warn(const char *what, const char *dir)
{
	static bool warned;

	if (warned)
		return;
	warned = true;
	msg_warn("%s: %s %s: %m (the log is synced at every open)", dir,
		 what, STORE_LOGSYNC_FILE);
}

/* The marker's length for f's log (0: none, or of another log file);
 * whether it was written since this boot. */
static uint64_t store_logsync_read(const struct store_folder *f, int fd,
				   bool *this_boot_r)
{
	const unsigned char *boot = group_sync_boot_id();
	unsigned char m[STORE_LOGSYNC_LEN];
	ssize_t n;

	*this_boot_r = false;
	n = pread(fd, m, sizeof(m), 0);
	if (n < 0)
		store_logsync_warn("read", f->dir);
	if (n != (ssize_t)sizeof(m) ||
	    store_hash64(STORE_LOGSYNC_SEED, m, 32) !=
	    store_logsync_get64(m + 32))
		return 0;
	*this_boot_r = boot != NULL && memcmp(m + 16, boot, 16) == 0;
	return store_logsync_get64(m) == f->log_ino ?
	       store_logsync_get64(m + 8) : 0;
}

static int store_logsync_open(const struct store_folder *f)
{
	struct str path = STR_INIT;
	int fd;

	str_printf(&path, "%s/%s", f->dir, STORE_LOGSYNC_FILE);
	fd = open(str_c(&path), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		store_logsync_warn("open", f->dir);
	str_release(&path);
	return fd;
}

/* Record that f's log is durable up to f->log_off, unless the marker
 * already said as much when it was read (len, this_boot). The marker
 * itself is not synced: lost, it only costs the next reader a sync. */
static void store_logsync_note(const struct store_folder *f, int fd,
			       uint64_t len, bool this_boot)
{
	unsigned char m[STORE_LOGSYNC_LEN];
	ssize_t n;

	if (fd < 0 || (len >= f->log_off && this_boot))
		return;
	store_logsync_make(m, f->log_ino, f->log_off);
	n = pwrite(fd, m, sizeof(m), 0);
	if (n != (ssize_t)sizeof(m)) {
		if (n >= 0)
			errno = ENOSPC;	/* a short write: the disk is full */
		store_logsync_warn("write", f->dir);
	}
}

bool store_log_rescan(struct store_folder *f)
{
	int fd;

	f->logsync_fresh = false;
	if (group_sync_boot_id() == NULL)
		return false;	/* cannot tell: trust the mtimes */
	fd = store_logsync_open(f);
	if (fd < 0)
		return false;
	f->logsync_len = store_logsync_read(f, fd, &f->logsync_this_boot);
	f->logsync_fresh = true;
	close(fd);
	return !f->logsync_this_boot;
}

void store_log_synced(struct store_folder *f)
{
	uint64_t len;
	bool this_boot;
	int fd;

	f->log_synced = f->log_off;
	f->logsync_fresh = false;
	fd = store_logsync_open(f);
	if (fd >= 0) {
		len = store_logsync_read(f, fd, &this_boot);
		store_logsync_note(f, fd, len, this_boot);
		close(fd);
	}
}

bool store_log_durable(struct store_folder *f, struct str *error_r)
{
	uint64_t synced = 0;
	bool this_boot = false, fresh = f->logsync_fresh;
	int fd = -1;

	f->logsync_fresh = false;
	if (f->log_fd < 0 || f->log_synced >= f->log_off)
		return true;
	if (fresh) {
		/* Read by store_log_rescan in this open: a marker moved on
		 * since then only costs a sync. */
		synced = f->logsync_len;
		this_boot = f->logsync_this_boot;
	} else if ((fd = store_logsync_open(f)) >= 0) {
		synced = store_logsync_read(f, fd, &this_boot);
	}
	if (synced >= f->log_off) {
		/* Synced in an earlier boot: on disk, but say so for this
		 * boot (store_log_rescan). */
		f->log_synced = synced;
		if (!this_boot) {
			if (fd < 0)
				fd = store_logsync_open(f);
			store_logsync_note(f, fd, synced, this_boot);
		}
		if (fd >= 0)
			close(fd);
		return true;
	}
	if (fdatasync(f->log_fd) != 0) {
		int saved = errno;

		str_printf(error_r, "sync index log of %s: %s", f->dir,
			   strerror(saved));
		if (fd >= 0)
			close(fd);
		errno = saved;
		return false;
	}
	f->log_synced = f->log_off;
	if (fd < 0)
		fd = store_logsync_open(f);
	store_logsync_note(f, fd, synced, this_boot);
	if (fd >= 0)
		close(fd);
	return true;
}

bool store_index_write(struct store_folder *f, struct str *error_r)
{
	struct str text = STR_INIT, path = STR_INIT;
	bool ok = false;

	if (!store_snapshot_format(f, f->log_gen + 1, &text)) {
		str_printf(error_r, "%s: index too large", f->dir);
		goto out;
	}
	str_printf(&path, "%s/%s", f->dir, STORE_INDEX_FILE);
	if (!safe_write_file(str_c(&path), text.data, text.len, 0600)) {
		str_printf(error_r, "write %s: %s", str_c(&path),
			   strerror(errno));
		goto out;
	}
	f->snapshot_old = false;
	/* The snapshot is in place: its generation supersedes the log. */
	f->log_gen++;
	if (!store_log_create(f, error_r) ||
	    store_log_load(f, true, error_r) != 1)
		goto out;
	f->log_records = 0;
	ok = true;
out:
	str_release(&text);
	str_release(&path);
	return ok;
}

/* The generation and UIDVALIDITY of dir's snapshot, binary or text,
 * from its first bytes. */
static bool store_snapshot_gen(const char *dir, uint64_t *gen_r,
			       uint32_t *uidvalidity_r)
{
	struct store_rec rec = { 0 };
	struct str path = STR_INIT;
	char buf[512];
	const char *nl;
	ssize_t n;
	int fd;
	bool ok = false;

	str_printf(&path, "%s/%s", dir, STORE_INDEX_FILE);
	fd = open(str_c(&path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	str_release(&path);
	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n <= 0)
		return false;
	if (store_snapshot_is_binary(buf, (size_t)n))
		return store_snapshot_header(buf, (size_t)n, gen_r,
					     uidvalidity_r);
	if ((nl = memchr(buf, '\n', (size_t)n)) != NULL &&
	    store_rec_parse(buf, (size_t)(nl - buf), &rec) &&
	    rec.kind == 'H' && rec.has_g && rec.has_v) {
		*gen_r = rec.gen;
		*uidvalidity_r = (uint32_t)rec.uidvalidity;
		ok = true;
	}
	str_release(&rec.name);
	return ok;
}

/* The first line of dir/name into rec; false if unreadable. The open
 * descriptor into fd_r when not NULL. */
static bool store_first_line(const char *dir, const char *name,
			     struct store_rec *rec, int *fd_r,
			     struct stat *st_r)
{
	struct str path = STR_INIT;
	char buf[512];
	const char *nl;
	ssize_t n;
	int fd;

	str_printf(&path, "%s/%s", dir, name);
	fd = safe_open_noatime(AT_FDCWD, str_c(&path), (fd_r != NULL ?
			       O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0);
	str_release(&path);
	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n <= 0 || (nl = memchr(buf, '\n', (size_t)n)) == NULL ||
	    !store_rec_parse(buf, (size_t)(nl - buf), rec) ||
	    rec->kind != 'H' || !rec->has_g || !rec->has_v ||
	    fstat(fd, st_r) != 0) {
		close(fd);
		return false;
	}
	if (fd_r != NULL)
		*fd_r = fd;
	else
		close(fd);
	return true;
}

/* A delivery needs only the log's last counters: M and N are on every
 * record, so the last line has them. A folder that is clean has its T
 * record among the last few too (a change's batch ends with it); when
 * T is not in the small tail the folder is taken as not clean, which
 * costs nothing but the scan the next session does anyway. Reading
 * further back for T cost a delivery 64 kB of parsing (about 700
 * records) into every folder some other program had touched. A bigger
 * tail only if no whole record fits in the small one. */
static const size_t store_peek_tails[] = { 4096, 65536 };

/* The counters a delivery needs, as the log's records leave them: the
 * last M, N and T seen (every record carries M and N, a clean change's
 * batch ends with T). */
struct store_peek_counts {
	uint64_t modseq;
	uint32_t uidnext;
	int64_t new_ns, cur_ns;
	bool have_t;
};

static void store_peek_count(struct store_peek_counts *c,
			     const struct store_rec *rec)
{
	if (rec->has_m)
		c->modseq = rec->modseq;
	if (rec->has_n)
		c->uidnext = (uint32_t)(rec->uidnext > UINT32_MAX ?
					UINT32_MAX : rec->uidnext);
	if (rec->has_t) {
		c->new_ns = rec->new_ns;
		c->cur_ns = rec->cur_ns;
		c->have_t = true;
	}
}

/* Parse the log's last tail bytes (of size bytes) into f's counters and
 * the end of the last good line into *good_r: 1 if a line was good, 0
 * if none, -1 if unreadable. */
static int store_peek_tail(struct store_folder *f, int fd, uint64_t size,
			   size_t tail, struct store_rec *rec,
			   uint64_t *good_r)
{
	struct str buf = STR_INIT;
	struct store_peek_counts c = { f->highestmodseq, f->uidnext,
				       f->new_mtime_ns, f->cur_mtime_ns,
				       false };
	uint64_t start = size > tail ? size - tail : 0;
	const char *p, *end, *nl;
	bool have = false;
	ssize_t n;

	str_reserve(&buf, (size_t)(size - start) + 1);
	n = pread(fd, buf.data, (size_t)(size - start), (off_t)start);
	if (n < 0) {
		str_release(&buf);
		return -1;
	}
	p = buf.data;
	end = buf.data + n;
	if (start > 0) {	/* skip the partial first line */
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl != NULL ? nl + 1 : end;
	}
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
	     p = nl + 1) {
		if (!store_rec_parse(p, (size_t)(nl - p), rec))
			break;
		have = true;
		store_peek_count(&c, rec);
		*good_r = start + (uint64_t)(nl + 1 - buf.data);
	}
	str_release(&buf);
	f->highestmodseq = c.modseq;
	f->uidnext = c.uidnext;
	f->new_mtime_ns = c.new_ns;
	f->cur_mtime_ns = c.cur_ns;
	if (!c.have_t && start > 0)	/* not clean, see above */
		f->new_mtime_ns = f->cur_mtime_ns = INT64_MIN;
	return have ? 1 : 0;
}

/* What a delivering process knows of the folders it delivered to
 * lately. A local worker delivers to the same folders over and over
 * (one owner's, or every virtual user's of one mail owner), and a full
 * peek opens and reads the snapshot's header and the log's last 4 kB
 * every time, under the folder's lock. So the peek keeps, for the last
 * STORE_PEEK_PICS folders, both files open (their inodes cannot be
 * reused while they are) with the log's counters as of end, a record
 * boundary: while a folder's snapshot and log are still those files
 * (the same inodes under their names) and the log has not shrunk below
 * end, only what was appended since is read. Anything else (a
 * compaction, a removed or recreated folder, a torn or unparsable
 * tail, a cut) misses, and the full peek takes the picture anew. new/
 * and the group-sync state file stay open too, for the delivery's
 * sync (store_deliver_sync), and so does the lock file, which the next
 * delivery locks through it (store_index_peek_lock_take) instead of
 * opening and closing it. */
struct store_peek_pic {
	char *dir;		/* NULL: a free slot */
	int snap_fd, log_fd;
	int new_fd, sync_fd;	/* new/, STORE_SYNC_FILE (or -1) */
	int lock_fd;		/* STORE_LOCK_FILE; -1 if none or taken */
	struct stat snap_st, log_st, new_st, lock_st;
	uint64_t gen, end;
	uint32_t uidvalidity;
	struct store_peek_counts counts;	/* as of end */
	uint64_t used;		/* when last used, for eviction */
};

#define STORE_PEEK_PICS		16
#define STORE_PEEK_PIC_READ	(256 * 1024)	/* more: a full peek */

static struct store_peek_pic peek_pics[STORE_PEEK_PICS];
static uint64_t peek_clock;

static void store_peek_pic_drop(struct store_peek_pic *p)
{
	if (p->dir == NULL)
		return;
	mem_free(p->dir);
	if (p->snap_fd >= 0)
		close(p->snap_fd);
	if (p->log_fd >= 0)
		close(p->log_fd);
	if (p->new_fd >= 0)
		close(p->new_fd);
	if (p->sync_fd >= 0)
		close(p->sync_fd);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	memset(p, 0, sizeof(*p));
}

void store_index_peek_forget(void)
{
	for (size_t i = 0; i < STORE_PEEK_PICS; i++)
		store_peek_pic_drop(&peek_pics[i]);
}

/* The picture of dir, or NULL. */
static struct store_peek_pic *store_peek_pic_find(const char *dir)
{
	for (size_t i = 0; i < STORE_PEEK_PICS; i++)
		if (peek_pics[i].dir != NULL &&
		    strcmp(peek_pics[i].dir, dir) == 0)
			return &peek_pics[i];
	return NULL;
}

static bool store_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Take the picture after a full peek of f (the log in f->log_fd, read
 * through f->log_off), in a free slot or the least recently used. */
static void store_peek_pic_take(const struct store_folder *f)
{
	struct store_peek_pic *p = &peek_pics[0];
	struct str path = STR_INIT;

	for (size_t i = 0; i < STORE_PEEK_PICS && p->dir != NULL; i++)
		if (peek_pics[i].dir == NULL || peek_pics[i].used < p->used)
			p = &peek_pics[i];
	store_peek_pic_drop(p);
	p->dir = mem_strdup(f->dir);
	str_printf(&path, "%s/%s", f->dir, STORE_INDEX_FILE);
	p->snap_fd = open(str_c(&path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	p->log_fd = fcntl(f->log_fd, F_DUPFD_CLOEXEC, 0);
	str_clear(&path);
	str_printf(&path, "%s/new", f->dir);
	p->new_fd = open(str_c(&path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			 O_CLOEXEC);
	str_clear(&path);
	str_printf(&path, "%s/%s", f->dir, STORE_SYNC_FILE);
	p->sync_fd = group_sync_open(AT_FDCWD, str_c(&path));
	str_clear(&path);
	/* The lock is held (through another descriptor, or this process
	 * would not be peeking): the file is there. */
	str_printf(&path, "%s/%s", f->dir, STORE_LOCK_FILE);
	p->lock_fd = open(str_c(&path), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (p->lock_fd >= 0 && fstat(p->lock_fd, &p->lock_st) != 0) {
		close(p->lock_fd);
		p->lock_fd = -1;
	}
	str_release(&path);
	if (p->snap_fd < 0 || p->log_fd < 0 ||
	    fstat(p->snap_fd, &p->snap_st) != 0 ||
	    fstat(p->log_fd, &p->log_st) != 0 ||
	    (p->new_fd >= 0 && fstat(p->new_fd, &p->new_st) != 0)) {
		store_peek_pic_drop(p);
		return;
	}
	p->gen = f->log_gen;
	p->end = f->log_off;
	p->uidvalidity = f->uidvalidity;
	p->counts = (struct store_peek_counts){ f->highestmodseq, f->uidnext,
						f->new_mtime_ns,
						f->cur_mtime_ns, false };
	p->used = ++peek_clock;
}

/* Read the records appended to p's log since its end (all of them
 * whole and good, else false). */
static bool store_peek_pic_catch_up(struct store_peek_pic *p, uint64_t size)
{
	struct store_rec rec = { 0 };
	struct str buf = STR_INIT;
	const char *at, *end, *nl;
	size_t len = (size_t)(size - p->end);
	bool ok = true;

	if (len == 0)
		return true;
	if (len > STORE_PEEK_PIC_READ)
		return false;
	str_reserve(&buf, len + 1);
	if (pread(p->log_fd, buf.data, len, (off_t)p->end) != (ssize_t)len) {
		str_release(&buf);
		return false;
	}
	end = buf.data + len;
	for (at = buf.data; at < end; at = nl + 1) {
		nl = memchr(at, '\n', (size_t)(end - at));
		ok = nl != NULL && store_rec_parse(at, (size_t)(nl - at), &rec);
		if (!ok)
			break;
		store_peek_count(&p->counts, &rec);
	}
	if (ok)
		p->end = size;
	str_release(&rec.name);
	str_release(&buf);
	return ok;
}

/* f->dir's picture brought up to date into f: 1; 0 on a miss (the
 * picture is dropped). */
static int store_peek_pic_use(struct store_folder *f, struct str *error_r)
{
	struct store_peek_pic *p = store_peek_pic_find(f->dir);
	struct str path = STR_INIT;
	struct stat snap, log, dir;
	bool same;
	int fd = -1;

	if (p == NULL)
		return 0;
	/* new/ too: its open descriptor is what the delivery syncs. */
	str_printf(&path, "%s/new", f->dir);
	same = p->new_fd < 0 || (lstat(str_c(&path), &dir) == 0 &&
				 store_same_file(&dir, &p->new_st));
	str_clear(&path);
	str_printf(&path, "%s/%s", f->dir, STORE_INDEX_FILE);
	same = same && lstat(str_c(&path), &snap) == 0 &&
		store_same_file(&snap, &p->snap_st);
	str_clear(&path);
	str_printf(&path, "%s/%s", f->dir, STORE_LOG_FILE);
	same = same && lstat(str_c(&path), &log) == 0 &&
		store_same_file(&log, &p->log_st) &&
		(uint64_t)log.st_size >= p->end &&
		store_peek_pic_catch_up(p, (uint64_t)log.st_size);
	str_release(&path);
	if (same)
		fd = fcntl(p->log_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		store_peek_pic_drop(p);
		return 0;
	}
	p->used = ++peek_clock;
	f->uidvalidity = p->uidvalidity;
	f->log_gen = p->gen;
	f->highestmodseq = p->counts.modseq;
	f->uidnext = p->counts.uidnext;
	f->new_mtime_ns = p->counts.new_ns;
	f->cur_mtime_ns = p->counts.cur_ns;
	return store_log_adopt(f, &fd, &log, p->end, false, error_r);
}

int store_index_peek_lock_take(const char *dir)
{
	struct store_peek_pic *p = store_peek_pic_find(dir);
	struct str path = STR_INIT;
	struct stat st;
	int fd;

	if (p == NULL || p->lock_fd < 0)
		return -1;
	fd = p->lock_fd;
	p->lock_fd = -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	/* Still the file the name leads to? A folder removed and made
	 * anew has another, and the old one excludes nobody. */
	str_printf(&path, "%s/%s", dir, STORE_LOCK_FILE);
	if (lstat(str_c(&path), &st) != 0 ||
	    !store_same_file(&st, &p->lock_st)) {
		close(fd);	/* releases the flock */
		fd = -1;
	}
	str_release(&path);
	return fd;
}

void store_index_peek_lock_put(const char *dir, int *fd)
{
	struct store_peek_pic *p;

	if (*fd < 0)
		return;
	(void)flock(*fd, LOCK_UN);
	/* Back into the picture, unless the picture was taken anew
	 * meanwhile (it opened its own) or dropped. */
	p = store_peek_pic_find(dir);
	if (p != NULL && p->lock_fd < 0)
		p->lock_fd = *fd;
	else
		close(*fd);
	*fd = -1;
}

void store_index_peek_fds(const struct store_folder *f, int *new_fd_r,
			  int *sync_fd_r)
{
	const struct store_peek_pic *p = store_peek_pic_find(f->dir);

	*new_fd_r = p != NULL ? p->new_fd : -1;
	*sync_fd_r = p != NULL ? p->sync_fd : -1;
}

int store_index_peek(struct store_folder *f, struct str *error_r)
{
	struct store_rec rec = { 0 }, head = { 0 };
	struct stat st;
	uint64_t gen, good_end = 0;
	uint32_t uidvalidity;
	int fd = -1, ret = 0, have = 0;

	store_folder_clear(f);
	if (store_peek_pic_use(f, error_r) == 1)
		return 1;
	if (!store_snapshot_gen(f->dir, &gen, &uidvalidity))
		goto out;
	if (!store_first_line(f->dir, STORE_LOG_FILE, &head, &fd, &st) ||
	    head.gen != gen)
		goto out;
	for (size_t i = 0; have == 0 && i < sizeof(store_peek_tails) /
					      sizeof(store_peek_tails[0]); i++) {
		/* Counters start from the header at each try. */
		store_folder_clear(f);
		store_apply(f, &head, false);
		f->log_gen = gen;
		have = store_peek_tail(f, fd, (uint64_t)st.st_size,
				       store_peek_tails[i], &rec, &good_end);
		if (have < 0) {
			str_printf(error_r, "read index log of %s: %s",
				   f->dir, strerror(errno));
			ret = -1;
			goto out;
		}
	}
	if (have == 0)
		goto out;
	ret = store_log_adopt(f, &fd, &st, good_end, true, error_r);
	if (ret == 1)
		store_peek_pic_take(f);
out:
	if (fd >= 0)
		close(fd);
	str_release(&rec.name);
	str_release(&head.name);
	return ret;
}

int store_index_uidvalidity(const char *dir, uint32_t *uidvalidity_r)
{
	struct store_rec rec = { 0 };
	struct stat st;
	bool ok = store_first_line(dir, STORE_LOG_FILE, &rec, NULL, &st);

	if (ok)
		*uidvalidity_r = (uint32_t)rec.uidvalidity;
	str_release(&rec.name);
	return ok ? 1 : 0;
}
