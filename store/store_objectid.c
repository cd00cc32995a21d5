/*
 * store_objectid: MAILBOXID and EMAILID of the store's folders and
 * messages (store_objectid.h; IMAP OBJECTID, RFC 8474).
 *
 * The MAILBOXID file is made without a lock: the id is written to a
 * temporary file that is then link()ed to correo-mailboxid, so of two
 * sessions asking at once one wins and the other reads the winner's id.
 *
 * The EMAILID records are appended with O_APPEND, all of a COPY's in one
 * write(), which the kernel keeps whole between concurrent writers; a
 * reader ignores a line without its newline, and the next writer spoils
 * such a torn line (a '!' and a newline) so that a cut-short id is
 * never read. Records of expunged
 * messages stay (they are a line each, and names are never reused).
 * XXX: nothing compacts correo-emailids; it grows by one line per copied
 * or moved message.
 *
 * SECURITY: runs as the mailbox owner inside the owner's Maildir; the
 * files are the owner's and read with size limits; ids read from them
 * are checked for their character set before use.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>


#include "mem.h"
#include "safe_file.h"
#include "sha256.h"
#include "store_objectid.h"

#define STORE_MAILBOXID_FILE "correo-mailboxid"
#define STORE_EMAILIDS_FILE "correo-emailids"
#define STORE_EMAILIDS_MAX (64 * 1024 * 1024)

struct store_emailid {
	char *base;		/* file base name */
	size_t seq;		/* line number: the last record wins */
	char id[STORE_OBJECTID_MAX];
};

struct store_emailids {
	struct store_emailid *recs;	/* sorted by base */
	size_t count;
	off_t size;		/* of the file when loaded */
	ino_t ino;
};

bool store_objectid_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= STORE_OBJECTID_MAX)
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-") == n;
}

static void store_hex(const unsigned char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Read an existing id file: 1 found, 0 missing, -1 unreadable. */
static int store_mailbox_id_read(const char *path,
				 char id_r[STORE_OBJECTID_MAX])
{
	struct str text = STR_INIT;
	int ret = 0;

	if (!safe_read_file(path, &text, 1024)) {
		ret = errno == ENOENT ? 0 : -1;
		goto out;
	}
	str_rtrim(&text);
	if (!store_objectid_valid(str_c(&text))) {
		errno = EINVAL;
		ret = -1;
		goto out;
	}
	memcpy(id_r, text.data, text.len + 1);
	ret = 1;
out:
	str_release(&text);
	return ret;
}

bool store_mailbox_id(const char *dir, char id_r[STORE_OBJECTID_MAX],
		      struct str *error_r)
{
	struct str path = STR_INIT, tmp = STR_INIT;
	unsigned char rnd[12];
	char line[STORE_OBJECTID_MAX + 1];
	bool ok = false;
	int r, fd;

	str_printf(&path, "%s/" STORE_MAILBOXID_FILE, dir);
	r = store_mailbox_id_read(str_c(&path), id_r);
	if (r != 0) {
		ok = r > 0;
		if (!ok)
			str_printf(error_r, "%s: %m", str_c(&path));
		goto out;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		str_printf(error_r, "getrandom: %m");
		goto out;
	}
	line[0] = 'F';
	store_hex(rnd, sizeof(rnd), line + 1);
	str_printf(&tmp, "%s/" STORE_MAILBOXID_FILE ".%ld", dir,
		   (long)getpid());
	fd = open(str_c(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0) {
		str_printf(error_r, "%s: %m", str_c(&tmp));
		goto out;
	}
	strcat(line, "\n");
	ok = safe_write_all(fd, line, strlen(line)) && fsync(fd) == 0;
	(void)close(fd);
	/* link() fails with EEXIST if another session won the race. */
	if (ok && link(str_c(&tmp), str_c(&path)) != 0 && errno != EEXIST)
		ok = false;
	if (!ok)
		str_printf(error_r, "%s: %m", str_c(&path));
	(void)unlink(str_c(&tmp));
	if (ok && store_mailbox_id_read(str_c(&path), id_r) != 1) {
		str_printf(error_r, "%s: unreadable", str_c(&path));
		ok = false;
	}
	if (ok)
		(void)safe_fsync_dir(str_c(&path));
out:
	str_release(&path);
	str_release(&tmp);
	return ok;
}

static int store_emailid_cmp(const void *a, const void *b)
{
	const struct store_emailid *x = a, *y = b;
	int c = strcmp(x->base, y->base);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The base name of a message file name: up to ":2," (or any ':'). */
static size_t store_base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon == NULL ? strlen(name) : (size_t)(colon - name);
}

struct store_emailids *store_emailids_load(const char *dir)
{
	struct store_emailids *e = mem_alloc(sizeof(*e));
	struct str path = STR_INIT, text = STR_INIT;
	struct stat st;
	char *p, *nl;
	int fd;

	str_printf(&path, "%s/" STORE_EMAILIDS_FILE, dir);
	fd = open(str_c(&path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) == 0 &&
	    safe_read_fd(fd, &text, STORE_EMAILIDS_MAX)) {
		e->size = (off_t)text.len;
		e->ino = st.st_ino;
	}
	(void)close(fd);
	for (p = text.data; p != NULL && (nl = strchr(p, '\n')) != NULL;
	     p = nl + 1) {
		char *sp;

		*nl = '\0';
		sp = strchr(p, ' ');
		if (sp == NULL || sp == p || strchr(p, '/') != NULL)
			continue;
		*sp = '\0';
		if (!store_objectid_valid(sp + 1))
			continue;
		e->recs = mem_array_realloc(e->recs, e->count + 1,
					    sizeof(*e->recs));
		e->recs[e->count].base = mem_strdup(p);
		e->recs[e->count].seq = e->count;
		strcpy(e->recs[e->count].id, sp + 1);
		e->count++;
	}
	/* A later record for the same name wins: equal names sort in
	 * file order, and the lookup takes the last. */
	if (e->count > 1)
		qsort(e->recs, e->count, sizeof(*e->recs),
		      store_emailid_cmp);
out:
	str_release(&path);
	str_release(&text);
	return e;
}

void store_emailids_free(struct store_emailids **ep)
{
	struct store_emailids *e = *ep;

	if (e == NULL)
		return;
	for (size_t i = 0; i < e->count; i++)
		mem_free(e->recs[i].base);
	mem_free(e->recs);
	mem_free(e);
	*ep = NULL;
}

void store_emailids_refresh(struct store_emailids **e, const char *dir)
{
	struct str path = STR_INIT;
	struct stat st;

	str_printf(&path, "%s/" STORE_EMAILIDS_FILE, dir);
	if (*e == NULL || (stat(str_c(&path), &st) == 0 &&
			   (st.st_size != (*e)->size ||
			    st.st_ino != (*e)->ino))) {
		store_emailids_free(e);
		*e = store_emailids_load(dir);
	}
	str_release(&path);
}

void store_email_id(const struct store_emailids *e, const char *name,
		    char id_r[STORE_OBJECTID_MAX])
{
	size_t len = store_base_len(name);
	unsigned char md[SHA256_LEN];

	if (e != NULL && e->count > 0) {
		size_t lo = 0, hi = e->count;
		const struct store_emailid *found = NULL;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strncmp(e->recs[mid].base, name, len);

			if (c == 0 && e->recs[mid].base[len] != '\0')
				c = 1;
			if (c == 0) {
				found = &e->recs[mid];
				lo = mid + 1;	/* the last record wins */
			} else if (c < 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
		}
		if (found != NULL) {
			strcpy(id_r, found->id);
			return;
		}
	}
	sha256(name, len, md);
	id_r[0] = 'M';
	store_hex(md, 12, id_r + 1);
}

bool store_email_id_record(struct str *records, const char *name,
			   const char *id)
{
	size_t len = store_base_len(name);

	if (!store_objectid_valid(id) || len == 0 ||
	    memchr(name, ' ', len) != NULL || memchr(name, '/', len) != NULL)
		return false;
	str_append_n(records, name, len);
	str_printf(records, " %s\n", id);
	return true;
}

bool store_email_ids_write(const char *dir, const struct str *records,
			   struct str *error_r)
{
	struct str path = STR_INIT, buf = STR_INIT;
	struct stat st;
	char last;
	bool ok;
	int fd;

	if (records->len == 0)
		return true;
	str_printf(&path, "%s/" STORE_EMAILIDS_FILE, dir);
	fd = open(str_c(&path), O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	ok = fd >= 0 && fstat(fd, &st) == 0;
	/* A torn last line (a crash in a write) is ended first, or the
	 * first new record would be glued to it and lost; with a '!', so
	 * that its id, which may be cut short, is never taken. */
	if (ok && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
	    last != '\n') {
		str_append(&buf, "!\n");
		str_append_n(&buf, records->data, records->len);
		records = &buf;
	}
	/* One write: an O_APPEND write to a local file is not interleaved
	 * with another writer's. */
	ok = ok && write(fd, records->data, records->len) ==
		   (ssize_t)records->len && fdatasync(fd) == 0;
	if (!ok)
		str_printf(error_r, "%s: %m", str_c(&path));
	if (fd >= 0)
		(void)close(fd);
	str_release(&path);
	str_release(&buf);
	return ok;
}

bool store_email_id_set(const char *dir, const char *name, const char *id,
			struct str *error_r)
{
	struct str line = STR_INIT;
	bool ok;

	if (!store_email_id_record(&line, name, id)) {
		str_printf(error_r, "invalid EMAILID record %s %s", name, id);
		str_release(&line);
		return false;
	}
	ok = store_email_ids_write(dir, &line, error_r);
	str_release(&line);
	return ok;
}
