/*
 * store_quota: Maildir++ quota (store_quota.h): the limits rule, the
 * maildirsize file (parse, append a change, recalculate), the check
 * before a message is stored.
 *
 * A recalculation sums the sizes and counts in the indexes of the root
 * and of every ".Folder" (opening a folder brings its index up to date
 * with the Maildir, so files other programs dropped or removed count as
 * they are), writes the file in tmp/ and renames it over maildirsize.
 * A change and its note happen under a shared flock(2) of the root
 * directory (store_quota_lock), a recalculation holds it exclusively
 * from its sum to its rename: so every change is either in the sum or
 * appended to the new file, never appended to the old file after the
 * sum (which would lose it until the next recalculation, as Courier
 * and Dovecot can). Lock order: the root before any folder's index.
 *
 * SECURITY: runs as the mailbox owner (local's worker, imapd, pop3d,
 * the admin command after its switch). Opens only STORE_QUOTA_FILE and
 * tmp/ under the root it is given, never following a symlink, and reads
 * at most STORE_QUOTA_FILE_MAX bytes of it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "safe_file.h"
#include "store.h"
#include "store_quota.h"

bool store_quota_is_set(const struct store_quota *q)
{
	return q != NULL && (q->bytes > 0 || q->messages > 0);
}

/* One "name=value" word of a rule. */
static bool store_quota_word(const char *word, size_t len,
			     struct store_quota *q, const char **error_r)
{
	char buf[64];
	const char *eq;
	long long v;
	long n;

	if (len == 1 && word[0] == '*')
		return true;	/* Dovecot's "all folders" */
	if (len >= sizeof(buf)) {
		*error_r = "quota rule word too long";
		return false;
	}
	memcpy(buf, word, len);
	buf[len] = '\0';
	eq = strchr(buf, '=');
	if (eq == NULL) {
		*error_r = "expected storage=SIZE or messages=COUNT";
		return false;
	}
	if ((size_t)(eq - buf) == 7 && strncasecmp(buf, "storage", 7) == 0) {
		if (!str_to_size(eq + 1, &v)) {
			*error_r = "bad storage size (bytes, or with k, m, g)";
			return false;
		}
		q->bytes = (uint64_t)v;
	} else if ((size_t)(eq - buf) == 8 &&
		   strncasecmp(buf, "messages", 8) == 0) {
		if (!str_to_long(eq + 1, 0, LONG_MAX, &n)) {
			*error_r = "bad messages count";
			return false;
		}
		q->messages = (uint64_t)n;
	} else {
		*error_r = "expected storage=SIZE or messages=COUNT";
		return false;
	}
	return true;
}

bool store_quota_parse(const char *text, struct store_quota *q_r,
		       const char **error_r)
{
	const char *p = text, *end;

	q_r->bytes = q_r->messages = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || strcasecmp(p, "none") == 0)
		return true;
	while (*p != '\0') {
		end = p + strcspn(p, " \t:,");
		if (end > p && !store_quota_word(p, (size_t)(end - p), q_r,
						 error_r))
			return false;
		p = *end != '\0' ? end + 1 : end;
	}
	return true;
}

void store_quota_format_header(const struct store_quota *q, struct str *out)
{
	/* Maildir++: a limit of 0 is no limit and is left out. */
	if (q->bytes > 0)
		str_printf(out, "%" PRIu64 "S", q->bytes);
	if (q->messages > 0)
		str_printf(out, "%s%" PRIu64 "C", q->bytes > 0 ? "," : "",
			   q->messages);
}

static bool store_quota_number(const char **pp, const char *end,
			       bool sign, int64_t *v_r)
{
	const char *p = *pp;
	bool neg = false;
	uint64_t v = 0;

	if (sign && p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (uint64_t)INT64_MAX / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > (uint64_t)INT64_MAX)
			return false;
	}
	*v_r = neg ? -(int64_t)v : (int64_t)v;
	*pp = p;
	return true;
}

/* The header line [p, end): "NS,NC", either part optional. */
static bool store_quota_parse_header(const char *p, const char *end,
				     struct store_quota *q)
{
	q->bytes = q->messages = 0;
	while (p < end) {
		int64_t v;

		if (!store_quota_number(&p, end, false, &v) || p >= end)
			return false;
		if (*p == 'S')
			q->bytes = (uint64_t)v;
		else if (*p == 'C')
			q->messages = (uint64_t)v;
		else
			return false;
		p++;
		if (p < end && *p++ != ',')
			return false;
	}
	return true;
}

bool store_quota_parse_file(const char *data, size_t len,
			    struct store_quota *limits_r,
			    struct store_usage *usage_r)
{
	const char *p = data, *end = data + len, *nl;

	usage_r->bytes = usage_r->messages = 0;
	nl = memchr(p, '\n', len);
	if (nl == NULL || !store_quota_parse_header(p, nl, limits_r))
		return false;
	for (p = nl + 1; p < end; p = nl + 1) {
		int64_t b, c;

		/* A line without its newline is an append torn short. */
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return false;
		while (p < nl && *p == ' ')
			p++;
		if (!store_quota_number(&p, nl, true, &b))
			return false;
		while (p < nl && *p == ' ')
			p++;
		if (!store_quota_number(&p, nl, true, &c))
			return false;
		while (p < nl && *p == ' ')
			p++;
		if (p != nl)
			return false;
		if ((b > 0 && usage_r->bytes > INT64_MAX - b) ||
		    (c > 0 && usage_r->messages > INT64_MAX - c))
			return false;
		usage_r->bytes += b;
		usage_r->messages += c;
	}
	return usage_r->bytes >= 0 && usage_r->messages >= 0;
}

void store_quota_root(const char *dir, struct str *root_r)
{
	const char *base = strrchr(dir, '/');

	str_clear(root_r);
	if (base != NULL && base[1] == '.' && base[2] != '\0' &&
	    strcmp(base + 1, "..") != 0)
		str_append_n(root_r, dir, (size_t)(base - dir));
	else
		str_append(root_r, dir);
	if (root_r->len == 0)
		str_append(root_r, "/");
}

int store_quota_lock(const char *dir, bool exclusive)
{
	struct str root = STR_INIT;
	int fd;

	store_quota_root(dir, &root);
	fd = open(str_c(&root), O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		  O_CLOEXEC);
	str_release(&root);
	if (fd < 0)
		return -1;
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

void store_quota_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd);	/* releases the flock */
	*fd = -1;
}

void store_quota_add_folder(const char *dir, struct store_usage *usage)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(dir, false, &error);

	if (f == NULL) {
		msg_warn("quota: %s", str_c(&error));
	} else {
		for (size_t i = 0; i < f->count; i++)
			usage->bytes += (int64_t)f->msgs[i].size;
		usage->messages += (int64_t)f->count;
	}
	store_folder_free(&f);
	str_release(&error);
}

static bool store_quota_sum(const char *root, struct store_usage *usage,
			    struct str *error_r)
{
	struct str path = STR_INIT;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(root);

	usage->bytes = usage->messages = 0;
	if (d == NULL) {
		str_printf(error_r, "opendir %s: %s", root, strerror(errno));
		return false;
	}
	store_quota_add_folder(root, usage);
	while ((de = readdir(d)) != NULL) {
		/* Maildir++ folders: ".Name" directories with a cur/. */
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		str_clear(&path);
		str_printf(&path, "%s/%s/cur", root, de->d_name);
		if (lstat(str_c(&path), &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		str_truncate(&path, path.len - 4);
		store_quota_add_folder(str_c(&path), usage);
	}
	closedir(d);
	str_release(&path);
	return true;
}

bool store_quota_recalc(const char *root, const struct store_quota *limits,
			struct store_usage *usage_r, struct str *error_r)
{
	struct str tmp = STR_INIT, data = STR_INIT, dst = STR_INIT;
	struct store_usage usage = { 0, 0 };
	struct stat st;
	bool ok = false;
	int fd = -1, lock = -1;

	if (stat(root, &st) != 0 && errno == ENOENT) {
		/* No Maildir yet (the first delivery creates it): empty,
		 * and the file is made at the next look. */
		if (usage_r != NULL)
			*usage_r = usage;
		ok = true;
		goto out;
	}
	lock = store_quota_lock(root, true);
	if (!store_quota_sum(root, &usage, error_r))
		goto out;
	store_quota_format_header(limits, &data);
	str_printf(&data, "\n%" PRId64 " %" PRId64 "\n", usage.bytes,
		   usage.messages);
	/* In tmp/, as Maildir++ asks, then renamed over the old one. */
	str_printf(&tmp, "%s/tmp/maildirsize.%ld.XXXXXX", root,
		   (long)getpid());
	str_printf(&dst, "%s/%s", root, STORE_QUOTA_FILE);
	fd = mkostemp(tmp.data, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    !safe_write_all(fd, data.data, data.len) || fdatasync(fd) != 0 ||
	    rename(str_c(&tmp), str_c(&dst)) != 0) {
		str_printf(error_r, "write %s: %s", str_c(&dst),
			   strerror(errno));
		if (fd >= 0)
			unlink(str_c(&tmp));
		goto out;
	}
	if (usage_r != NULL)
		*usage_r = usage;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	store_quota_unlock(&lock);
	str_release(&tmp);
	str_release(&data);
	str_release(&dst);
	return ok;
}

/* Read the file: 1 parsed (limits, usage, mtime), 0 missing, 2 needs a
 * recalculation, -1 error. */
static int store_quota_read(const char *root, struct store_quota *limits_r,
			    struct store_usage *usage_r, time_t *mtime_r,
			    struct str *error_r)
{
	struct str path = STR_INIT, data = STR_INIT;
	struct stat st;
	int fd, ret;

	str_printf(&path, "%s/%s", root, STORE_QUOTA_FILE);
	fd = open(str_c(&path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : -1;
		if (ret < 0)
			str_printf(error_r, "open %s: %s", str_c(&path),
				   strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ret = 2;
	} else if (st.st_size >= STORE_QUOTA_FILE_MAX) {
		ret = 2;	/* Maildir++: too many lines, start afresh */
	} else if (!safe_read_fd(fd, &data, STORE_QUOTA_FILE_MAX)) {
		str_printf(error_r, "read %s: %s", str_c(&path),
			   strerror(errno));
		ret = -1;
	} else {
		ret = store_quota_parse_file(data.data != NULL ? data.data :
					     "", data.len, limits_r,
					     usage_r) ? 1 : 2;
		*mtime_r = st.st_mtime;
	}
	close(fd);
out:
	str_release(&path);
	str_release(&data);
	return ret;
}

static bool store_quota_over(const struct store_quota *q,
			     const struct store_usage *u, uint64_t bytes,
			     uint64_t messages)
{
	return (q->bytes > 0 && (uint64_t)u->bytes + bytes > q->bytes) ||
	       (q->messages > 0 &&
		(uint64_t)u->messages + messages > q->messages);
}

int store_quota_get(const char *root, const struct store_quota *limits,
		    struct store_quota *limits_r, struct store_usage *usage_r,
		    struct str *error_r)
{
	struct store_quota file_limits = { 0, 0 };
	time_t mtime = 0;
	int ret;

	if (limits != NULL && !store_quota_is_set(limits))
		return 0;
	ret = store_quota_read(root, &file_limits, usage_r, &mtime, error_r);
	if (ret < 0)
		return -1;
	if (limits == NULL) {
		/* A reader without configured limits: the file's. */
		if (ret == 0 || (ret == 1 && !store_quota_is_set(&file_limits)))
			return 0;
		limits = &file_limits;
		if (ret == 2) {
			/* Damaged: the header may be too; keep what we
			 * have only if it parsed. */
			return 0;
		}
	}
	if (ret == 1 &&
	    (file_limits.bytes != limits->bytes ||
	     file_limits.messages != limits->messages))
		ret = 2;	/* the admin changed them: a new header */
	if (ret == 1 && store_quota_over(limits, usage_r, 0, 0) &&
	    time(NULL) - mtime > STORE_QUOTA_STALE)
		ret = 2;	/* over, and old: make sure */
	if (ret != 1 && !store_quota_recalc(root, limits, usage_r, error_r))
		return -1;
	if (limits_r != NULL)
		*limits_r = *limits;
	return 1;
}

int store_quota_check(const char *root, const struct store_quota *limits,
		      uint64_t bytes, uint64_t messages, struct str *error_r)
{
	struct store_quota q;
	struct store_usage u;
	int ret = store_quota_get(root, limits, &q, &u, error_r);

	if (ret <= 0)
		return ret < 0 ? -1 : 1;
	return store_quota_over(&q, &u, bytes, messages) ? 0 : 1;
}

void store_quota_note(const char *dir, int64_t bytes, int64_t messages)
{
	struct str root = STR_INIT, line = STR_INIT;
	int fd;

	if (bytes == 0 && messages == 0)
		return;
	store_quota_root(dir, &root);
	str_append(&root, "/" STORE_QUOTA_FILE);
	/* Only a file that exists: no limits, no bookkeeping. */
	fd = open(str_c(&root), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		/* One write(2) with O_APPEND: lines never interleave. */
		str_printf(&line, "%" PRId64 " %" PRId64 "\n", bytes,
			   messages);
		if (write(fd, line.data, line.len) != (ssize_t)line.len)
			msg_warn("append to %s: %m", str_c(&root));
		close(fd);
	} else if (errno != ENOENT) {
		msg_warn("open %s: %m", str_c(&root));
	}
	str_release(&root);
	str_release(&line);
}
