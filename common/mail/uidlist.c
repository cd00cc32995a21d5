/*
 * uidlist: the per-folder UID list of a Maildir (uidlist.h).
 *
 * Parsing is strict: a damaged list is an error, never a silent renumber
 * (renumbering would make every POP3 client download the whole mailbox
 * again). uidlist_sync() holds "correo-uidlist.lock" (flock) while it
 * reads the list, scans new/ and cur/ and writes the list back, so two
 * sessions never hand out the same uid; the file itself is replaced with
 * safe_write_file, so readers without the lock see the old or the new
 * list, never half of one. The scan reads each directory once and
 * matches names through a hash table: linear in the folder's size.
 *
 * SECURITY: runs as the mailbox owner on the owner's files. The list is
 * data written by us but stored where the user (or any Maildir tool) can
 * edit it, so every number and name is checked: uids increase and fit in
 * 32 bits, names are non-empty and contain no '/' (a name is only ever
 * used below cur/).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "safe_file.h"
#include "uidlist.h"

#define UIDLIST_MAX_FILE (512L * 1024 * 1024)
#define UIDLIST_LOCK_RETRY_MS 10
/* Sizes from file names above this are not believed (2^48 bytes). */
#define UIDLIST_NAME_SIZE_MAX (1ULL << 48)

struct uidlist_entry {
	char *file;		/* name in cur/ */
	size_t base_len;	/* length of the name before ':' */
	bool used;
};

struct uidlist_scan {
	struct uidlist_entry *e;
	size_t count, cap;
	size_t *hash;		/* index + 1, 0 = empty */
	size_t mask;
};

void uidlist_clear(struct uidlist *ul)
{
	size_t i;

	for (i = 0; i < ul->count; i++) {
		free(ul->recs[i].name);
		free(ul->recs[i].file);
	}
	mem_free(ul->recs);
	ul->count = ul->cap = 0;
	ul->validity = ul->next = 0;
}

static struct uidlist_rec *uidlist_add(struct uidlist *ul, uint32_t uid,
				       const char *name, size_t len)
{
	struct uidlist_rec *r;

	if (ul->count == ul->cap) {
		ul->cap = ul->cap == 0 ? 64 : ul->cap * 2;
		ul->recs = mem_array_realloc(ul->recs, ul->cap,
					     sizeof(*ul->recs));
	}
	r = &ul->recs[ul->count++];
	memset(r, 0, sizeof(*r));
	r->uid = uid;
	r->name = mem_strndup(name, len);
	return r;
}

static bool uidlist_number(const char **p, const char *end, uint64_t max,
			   uint64_t *value_r)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	*p = s;
	*value_r = v;
	return true;
}

static bool uidlist_parse_header(const char *p, const char *end,
				 struct uidlist *ul)
{
	uint64_t v, n;

	if (end - p < 2 || p[0] != '1' || p[1] != ' ')
		return false;
	p += 2;
	if (p == end || *p++ != 'V' ||
	    !uidlist_number(&p, end, UINT32_MAX, &v) || v == 0)
		return false;
	if (p == end || *p++ != ' ' || p == end || *p++ != 'N' ||
	    !uidlist_number(&p, end, UINT32_MAX, &n) || n == 0)
		return false;
	/* Fields added later follow after a space. */
	if (p != end && *p != ' ')
		return false;
	ul->validity = (uint32_t)v;
	ul->next = (uint32_t)n;
	return true;
}

/* "UID [FIELDS] :NAME" */
static const char *uidlist_parse_rec(const char *p, const char *end,
				     struct uidlist *ul)
{
	uint64_t uid, w = 0;
	const char *name;
	struct uidlist_rec *r;

	if (!uidlist_number(&p, end, UINT32_MAX, &uid) || uid == 0)
		return "bad uid";
	if (ul->count > 0 && uid <= ul->recs[ul->count - 1].uid)
		return "uid not increasing";
	if (uid >= ul->next)
		return "uid not below the header's next uid";
	for (;;) {
		if (p == end || *p++ != ' ')
			return "expected \" :NAME\"";
		if (p != end && *p == ':')
			break;
		if (p != end && *p == 'W') {
			p++;
			if (!uidlist_number(&p, end, UINT64_MAX / 2, &w))
				return "bad W size";
			continue;
		}
		/* An unknown field: skip it. */
		while (p != end && *p != ' ')
			p++;
	}
	name = ++p;
	if (name == end || memchr(name, '/', (size_t)(end - name)) != NULL ||
	    memchr(name, ':', (size_t)(end - name)) != NULL ||
	    memchr(name, '\0', (size_t)(end - name)) != NULL ||
	    name[0] == '.')
		return "bad name";
	r = uidlist_add(ul, (uint32_t)uid, name, (size_t)(end - name));
	r->vsize = w;
	return NULL;
}

bool uidlist_parse(const char *data, size_t len, struct uidlist *ul,
		   struct str *error_r)
{
	const char *p = data, *end = data + len, *lf, *err;
	size_t line = 0;

	uidlist_clear(ul);
	while (p < end) {
		line++;
		lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			err = "missing final newline";
			goto fail;
		}
		if (line == 1)
			err = uidlist_parse_header(p, lf, ul) ? NULL :
				"bad header (expected \"1 V<n> N<n>\")";
		else
			err = uidlist_parse_rec(p, lf, ul);
		if (err != NULL)
			goto fail;
		p = lf + 1;
	}
	if (line == 0) {
		err = "empty file";
		goto fail;
	}
	return true;
fail:
	str_printf(error_r, "line %zu: %s", line, err);
	uidlist_clear(ul);
	return false;
}

void uidlist_format(const struct uidlist *ul, struct str *out)
{
	size_t i;

	str_printf(out, "1 V%u N%u\n", ul->validity, ul->next);
	for (i = 0; i < ul->count; i++)
		str_printf(out, "%u W%llu :%s\n", ul->recs[i].uid,
			   (unsigned long long)ul->recs[i].vsize,
			   ul->recs[i].name);
}

int uidlist_read(const char *maildir, struct uidlist *ul,
		 struct str *error_r)
{
	struct str path = STR_INIT, data = STR_INIT;
	int ret = 1;

	uidlist_clear(ul);
	str_printf(&path, "%s/%s", maildir, UIDLIST_FILE);
	if (!safe_read_file(str_c(&path), &data, UIDLIST_MAX_FILE)) {
		if (errno == ENOENT)
			ret = 0;
		else {
			str_printf(error_r, "read %s: %s", str_c(&path),
				   strerror(errno));
			ret = -1;
		}
	} else if (!uidlist_parse(data.data, data.len, ul, error_r)) {
		str_printf(error_r, " (%s)", str_c(&path));
		ret = -1;
	}
	str_release(&path);
	str_release(&data);
	return ret;
}

bool uidlist_vsize(const char *path, uint64_t *vsize_r)
{
	char buf[65536];
	uint64_t size = 0;
	bool prev_cr = false;
	ssize_t n, i;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return false;
		}
		size += (uint64_t)n;
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n' && !prev_cr)
				size++;
			prev_cr = buf[i] == '\r';
		}
	}
	close(fd);
	*vsize_r = size;
	return true;
}

bool uidlist_name_field(const char *name, size_t len, char key,
			uint64_t *value_r)
{
	const char *p = memchr(name, ',', len), *end = name + len;
	uint64_t v;

	/* ",KEY=VALUE" fields follow the unique part. */
	while (p != NULL && p < end) {
		p++;
		if (end - p > 2 && p[0] == key && p[1] == '=') {
			p += 2;
			if (!uidlist_number(&p, end, UIDLIST_NAME_SIZE_MAX,
					    &v) || (p != end && *p != ','))
				return false;
			*value_r = v;
			return true;
		}
		p = memchr(p, ',', (size_t)(end - p));
	}
	return false;
}

bool uidlist_name_vsize(const char *name, size_t len, uint64_t *vsize_r)
{
	return uidlist_name_field(name, len, 'W', vsize_r);
}

struct uidlist_rec *uidlist_lookup(const struct uidlist *ul, uint32_t uid)
{
	size_t lo = 0, hi = ul->count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ul->recs[mid].uid == uid)
			return &ul->recs[mid];
		if (ul->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* FNV-1a */
static size_t uidlist_hash(const char *s, size_t len)
{
	size_t h = 2166136261u, i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void uidlist_scan_free(struct uidlist_scan *sc)
{
	size_t i;

	for (i = 0; i < sc->count; i++)
		free(sc->e[i].file);
	mem_free(sc->e);
	mem_free(sc->hash);
}

static void uidlist_scan_add(struct uidlist_scan *sc, const char *file)
{
	const char *colon = strchr(file, ':');
	struct uidlist_entry *e;

	if (sc->count == sc->cap) {
		sc->cap = sc->cap == 0 ? 256 : sc->cap * 2;
		sc->e = mem_array_realloc(sc->e, sc->cap, sizeof(*sc->e));
	}
	e = &sc->e[sc->count++];
	e->file = mem_strdup(file);
	e->base_len = colon != NULL ? (size_t)(colon - file) : strlen(file);
	e->used = false;
}

/* Index the entries by base name; a second file with a base name already
 * seen is left out (and so never given a uid of its own). */
static void uidlist_scan_index(struct uidlist_scan *sc)
{
	size_t size = 16, i, h, j;
	struct uidlist_entry *e, *o;

	while (size < sc->count * 2)
		size *= 2;
	sc->hash = mem_array(size, sizeof(size_t));
	sc->mask = size - 1;
	for (i = 0; i < sc->count; i++) {
		e = &sc->e[i];
		h = uidlist_hash(e->file, e->base_len) & sc->mask;
		for (; (j = sc->hash[h]) != 0; h = (h + 1) & sc->mask) {
			o = &sc->e[j - 1];
			if (o->base_len == e->base_len &&
			    memcmp(o->file, e->file, e->base_len) == 0)
				break;
		}
		if (j == 0)
			sc->hash[h] = i + 1;
		else
			e->used = true;	/* duplicate: ignore */
	}
}

static struct uidlist_entry *uidlist_scan_find(struct uidlist_scan *sc,
					       const char *name)
{
	size_t len = strlen(name), h, j;
	struct uidlist_entry *e;

	h = uidlist_hash(name, len) & sc->mask;
	for (; (j = sc->hash[h]) != 0; h = (h + 1) & sc->mask) {
		e = &sc->e[j - 1];
		if (e->base_len == len && memcmp(e->file, name, len) == 0)
			return e;
	}
	return NULL;
}

/* Move new/NAME to cur/NAME:2, (Maildir: a message seen by a reader).
 * renameat between the two open directories: no path walk per file. */
static bool uidlist_move_new(const char *maildir, struct str *error_r)
{
	struct str dir = STR_INIT, to = STR_INIT;
	struct dirent *de;
	bool ok = true;
	int cur = -1;
	DIR *d;

	str_printf(&dir, "%s/new", maildir);
	d = opendir(str_c(&dir));
	if (d == NULL) {
		ok = errno == ENOENT;
		if (!ok)
			str_printf(error_r, "open %s: %s", str_c(&dir),
				   strerror(errno));
		goto done;
	}
	str_clear(&dir);
	str_printf(&dir, "%s/cur", maildir);
	cur = open(str_c(&dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		str_printf(error_r, "open %s: %s", str_c(&dir),
			   strerror(errno));
		ok = false;
	}
	while (ok && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		str_set(&to, de->d_name);
		if (strchr(de->d_name, ':') == NULL)
			str_append(&to, ":2,");
		/* ENOENT: another reader moved it first. */
		if (renameat(dirfd(d), de->d_name, cur, str_c(&to)) < 0 &&
		    errno != ENOENT) {
			str_printf(error_r, "rename %s/new/%s to cur/%s: %s",
				   maildir, de->d_name, str_c(&to),
				   strerror(errno));
			ok = false;
		}
	}
	if (cur >= 0)
		close(cur);
	closedir(d);
done:
	str_release(&dir);
	str_release(&to);
	return ok;
}

static bool uidlist_scan_cur(const char *maildir, struct uidlist_scan *sc,
			     struct str *error_r)
{
	struct str dir = STR_INIT;
	struct dirent *de;
	DIR *d;

	str_printf(&dir, "%s/cur", maildir);
	d = opendir(str_c(&dir));
	if (d == NULL) {
		str_printf(error_r, "open %s: %s", str_c(&dir),
			   strerror(errno));
		str_release(&dir);
		return false;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && de->d_name[0] != ':')
			uidlist_scan_add(sc, de->d_name);
	closedir(d);
	str_release(&dir);
	uidlist_scan_index(sc);
	return true;
}

static int uidlist_entry_cmp(const void *a, const void *b)
{
	const struct uidlist_entry *const *x = a, *const *y = b;

	return strcmp((*x)->file, (*y)->file);
}

/* Keep the records whose file exists; give the rest of the files uids.
 * Returns 1 if the list changed, 0 if not, -1 on error. */
static int uidlist_merge(const char *maildir, struct uidlist *ul,
			  struct uidlist_scan *sc, struct str *error_r)
{
	struct uidlist_entry *e, **fresh;
	struct uidlist_rec *r;
	struct str path = STR_INIT;
	size_t i, n = 0, nfresh = 0;
	int changed = 0;

	for (i = 0; i < ul->count; i++) {
		r = &ul->recs[i];
		e = uidlist_scan_find(sc, r->name);
		if (e == NULL || e->used) {
			free(r->name);
			free(r->file);
			changed = 1;
			continue;
		}
		e->used = true;
		mem_free(r->file);
		r->file = mem_strdup(e->file);
		ul->recs[n++] = *r;
	}
	ul->count = n;
	fresh = mem_array(sc->count + 1, sizeof(*fresh));
	for (i = 0; i < sc->count; i++)
		if (!sc->e[i].used)
			fresh[nfresh++] = &sc->e[i];
	qsort(fresh, nfresh, sizeof(*fresh), uidlist_entry_cmp);
	for (i = 0; i < nfresh; i++) {
		e = fresh[i];
		if (ul->next == UINT32_MAX) {
			str_append(error_r, "uid space exhausted");
			changed = -1;
			break;
		}
		r = uidlist_add(ul, ul->next++, e->file, e->base_len);
		r->file = mem_strdup(e->file);
		changed = 1;
		if (uidlist_name_vsize(e->file, e->base_len, &r->vsize))
			continue;
		str_clear(&path);
		str_printf(&path, "%s/cur/%s", maildir, e->file);
		/* A file that vanished meanwhile gets size 0 here and is
		 * dropped by the next sync. */
		if (!uidlist_vsize(str_c(&path), &r->vsize))
			r->vsize = 0;
	}
	free(fresh);
	str_release(&path);
	return changed;
}

static int uidlist_lock(const char *maildir, int timeout,
			struct str *error_r)
{
	struct str path = STR_INIT;
	long waited = 0;
	int fd;

	str_printf(&path, "%s/%s", maildir, UIDLIST_LOCK);
	while ((fd = safe_lock_file(str_c(&path))) < 0) {
		if (errno != EWOULDBLOCK ||
		    waited >= (long)timeout * 1000) {
			str_printf(error_r, "lock %s: %s", str_c(&path),
				   errno == EWOULDBLOCK ? "timed out" :
				   strerror(errno));
			break;
		}
		usleep(UIDLIST_LOCK_RETRY_MS * 1000);
		waited += UIDLIST_LOCK_RETRY_MS;
	}
	str_release(&path);
	return fd;
}

static bool uidlist_save(const char *maildir, const struct uidlist *ul,
			 struct str *error_r)
{
	struct str path = STR_INIT, text = STR_INIT;
	bool ok;

	str_printf(&path, "%s/%s", maildir, UIDLIST_FILE);
	uidlist_format(ul, &text);
	ok = safe_write_file(str_c(&path), text.data, text.len, 0600);
	if (!ok)
		str_printf(error_r, "write %s: %s", str_c(&path),
			   strerror(errno));
	str_release(&path);
	str_release(&text);
	return ok;
}

bool uidlist_sync(const char *maildir, struct uidlist *ul,
		  int lock_timeout, struct str *error_r)
{
	struct uidlist_scan sc;
	bool ok = false, changed;
	int lock, ret, merged;

	memset(&sc, 0, sizeof(sc));
	lock = uidlist_lock(maildir, lock_timeout, error_r);
	if (lock < 0)
		return false;
	ret = uidlist_read(maildir, ul, error_r);
	if (ret < 0)
		goto done;
	changed = ret == 0;
	if (ret == 0) {
		ul->validity = (uint32_t)time(NULL);
		ul->next = 1;
	}
	if (!uidlist_move_new(maildir, error_r) ||
	    !uidlist_scan_cur(maildir, &sc, error_r))
		goto done;
	merged = uidlist_merge(maildir, ul, &sc, error_r);
	if (merged < 0)
		goto done;
	if (merged > 0)
		changed = true;
	ok = !changed || uidlist_save(maildir, ul, error_r);
done:
	uidlist_scan_free(&sc);
	close(lock);
	return ok;
}
