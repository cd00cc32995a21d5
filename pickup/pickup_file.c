/*
 * pickup_file: one maildrop file becomes one queue file (pickup.h).
 *
 * The maildrop file is a queue file (queue.h format) written by
 * sendmail(1) as the submitting user. It is read with the strict queue
 * reader and then checked again for what sendmail is allowed to say:
 * the sender is empty or a valid address, every recipient is a valid
 * address still to do without ORCPT or NOTIFY, the only attribute is
 * full_name (printable, at most PICKUP_NAME_MAX bytes), there are at
 * most $pickup_recipient_limit recipients and the content fits in
 * $message_size_limit. Anything else is moved to corrupt/ with a log
 * line naming the uid and the reason; it is never deleted silently.
 *
 * The new file in incoming/ gets the envelope rebuilt through the
 * writer API (never copied), attributes uid and protocol=sendmail, and
 * the content prefixed with
 *
 *   Received: by HOST (correo, from userid UID)
 *           id ID; DATE
 *
 * with Message-Id:, Date: and From: added at the end of the header when
 * missing, as Postfix's cleanup does for local submissions. The
 * maildrop file is removed only after the commit, so a crash in between
 * delivers twice at worst, never loses mail.
 *
 * SECURITY: the file's owner (fstat) is the submitting uid: only root
 * can forge it. The file was written by an untrusted user: symlinks and
 * FIFOs are refused by the reader (O_NOFOLLOW, O_NONBLOCK, regular files
 * only), hard links by the link count, and nothing from the file is
 * used before it is checked.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "mem.h"
#include "msg.h"
#include "queue.h"
#include "str.h"

#include "pickup.h"

#define PICKUP_NAME_MAX 256
#define PICKUP_PATH_SIZE (QUEUE_ID_SIZE + 32)

static bool pickup_address_ok(const char *s, bool null_ok)
{
	struct addr a;
	struct addr_error err;

	if (*s == '\0')
		return null_ok;
	return addr_parse_mailbox(s, strlen(s), ADDR_F_UTF8, &a, &err) &&
		strcmp(a.text, s) == 0;
}

static bool pickup_name_ok(const char *s)
{
	if (strlen(s) > PICKUP_NAME_MAX)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* NULL if sendmail could have written m, else why not. */
static const char *pickup_check(const struct queue_msg *m)
{
	if (!pickup_address_ok(m->sender, true))
		return "bad sender address";
	if (pickup_settings.rcpt_limit > 0 &&
	    m->nrcpt > (size_t)pickup_settings.rcpt_limit)
		return "too many recipients";
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct queue_rcpt *r = &m->rcpts[i];

		if (r->status != QUEUE_RCPT_TODO || r->orig != NULL ||
		    r->notify != 0)
			return "recipient record not from sendmail";
		if (!pickup_address_ok(r->address, false))
			return "bad recipient address";
	}
	for (size_t i = 0; i < m->attrs.count; i++) {
		if (strcmp(m->attrs.attrs[i].name, "full_name") != 0)
			return "unexpected attribute";
		if (!pickup_name_ok(m->attrs.attrs[i].value))
			return "bad full_name attribute";
	}
	if (pickup_settings.size_limit > 0 &&
	    m->content_len > pickup_settings.size_limit)
		return "message too big";
	return NULL;
}

size_t pickup_header_end(const char *c, size_t len, bool *blank_r)
{
	size_t pos = 0;

	*blank_r = false;
	while (pos < len) {
		const char *nl = memchr(c + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - c) + 1 : len;
		size_t i;

		if (c[pos] == '\n') {
			*blank_r = true;
			return pos;
		}
		if (pos > 0 && (c[pos] == ' ' || c[pos] == '\t')) {
			pos = end;	/* continuation */
			continue;
		}
		for (i = pos; i < end && c[i] > ' ' && c[i] < 0x7f &&
		     c[i] != ':'; i++)
			;
		if (i == pos || i >= end || c[i] != ':')
			return pos;	/* the body starts here */
		pos = end;
	}
	return pos;
}

bool pickup_has_header(const char *c, size_t hlen, const char *name)
{
	size_t n = strlen(name), pos = 0;

	while (pos < hlen) {
		const char *nl = memchr(c + pos, '\n', hlen - pos);

		if (hlen - pos > n && strncasecmp(c + pos, name, n) == 0 &&
		    c[pos + n] == ':')
			return true;
		pos = nl != NULL ? (size_t)(nl - c) + 1 : hlen;
	}
	return false;
}

/* RFC 5322 date (rfc) or the compact stamp of Message-Id. */
static void pickup_date(struct str *out, bool rfc)
{
	char date[80];
	struct tm tm;
	time_t now = time(NULL);
	size_t n;

	localtime_r(&now, &tm);
	if (rfc)
		n = strftime(date, sizeof(date),
			     "%a, %d %b %Y %H:%M:%S %z (%Z)", &tm);
	else
		n = strftime(date, sizeof(date), "%Y%m%d%H%M%S", &tm);
	if (n == 0)
		date[0] = '\0';
	str_append(out, date);
}

/* Our headers around the user's: Received first, missing ones after the
 * user's header fields. */
static void pickup_content(struct str *out, const struct queue_msg *m,
			   const char *id, uid_t uid, const struct str *in)
{
	const char *name = attr_get(&m->attrs, "full_name");
	bool blank;
	size_t hend = pickup_header_end(in->data, in->len, &blank);
	const char *c = in->data;

	str_printf(out, "Received: by %s (correo, from userid %lu)\n\tid %s; ",
		   pickup_settings.myhostname, (unsigned long)uid, id);
	pickup_date(out, true);
	str_append_c(out, '\n');
	str_append_n(out, c, hend);
	if (hend > 0 && c[hend - 1] != '\n')
		str_append_c(out, '\n');
	if (!pickup_has_header(c, hend, "message-id")) {
		str_append(out, "Message-Id: <");
		pickup_date(out, false);
		str_printf(out, ".%s@%s>\n", id, pickup_settings.myhostname);
	}
	if (!pickup_has_header(c, hend, "date")) {
		str_append(out, "Date: ");
		pickup_date(out, true);
		str_append_c(out, '\n');
	}
	if (!pickup_has_header(c, hend, "from")) {
		const char *s = *m->sender != '\0' ? m->sender :
			"MAILER-DAEMON";

		if (name != NULL && *name != '\0')
			str_printf(out, "From: %s <%s>\n", name, s);
		else
			str_printf(out, "From: %s\n", s);
	}
	if (!blank)
		str_append_c(out, '\n');
	str_append_n(out, c + hend, in->len - hend);
}

/* maildrop/ID -> corrupt/ID, logged. Always 0. */
static int pickup_quarantine(const char *id, uid_t uid, const char *why)
{
	msg_warn("%s: uid=%lu: bad maildrop file: %s; moved to %s/", id,
		 (unsigned long)uid, why, QUEUE_CORRUPT);
	if (!queue_move(id, QUEUE_MAILDROP, QUEUE_CORRUPT))
		msg_warn("%s: move to %s/: %m", id, QUEUE_CORRUPT);
	return 0;
}

static bool pickup_write(const struct queue_msg *m, uid_t uid,
			 const struct str *in, char *new_id)
{
	struct queue_writer *w = queue_writer_create();
	struct str content = STR_INIT;
	char uidbuf[32];
	bool ok;

	if (w == NULL) {
		msg_warn("%s: cannot create queue file: %m", m->id);
		return false;
	}
	str_snprintf(new_id, QUEUE_ID_SIZE, "%s", queue_writer_id(w));
	str_snprintf(uidbuf, sizeof(uidbuf), "%lu", (unsigned long)uid);
	queue_writer_sender(w, m->sender);
	queue_writer_attr(w, "uid", uidbuf);
	queue_writer_attr(w, "protocol", "sendmail");
	for (size_t i = 0; i < m->nrcpt; i++)
		queue_writer_rcpt(w, m->rcpts[i].address, NULL, 0);
	pickup_content(&content, m, new_id, uid, in);
	ok = queue_writer_content(w, content.data, content.len) &&
		queue_writer_commit(w);
	if (!ok)
		msg_warn("%s: cannot write queue file: %m", m->id);
	queue_writer_free(&w);
	str_release(&content);
	return ok;
}

int pickup_file(const char *id)
{
	char path[PICKUP_PATH_SIZE], new_id[QUEUE_ID_SIZE];
	struct queue_msg *m = NULL;
	struct str content = STR_INIT;
	const char *why;
	struct stat st;
	int ret;

	if (!str_snprintf(path, sizeof(path), "%s/%s", QUEUE_MAILDROP, id) ||
	    lstat(path, &st) < 0)
		return -1;
	ret = queue_msg_open(path, false, &m, &why);
	if (ret < 0 && errno == ELOOP)
		return pickup_quarantine(id, st.st_uid, "symbolic link");
	if (ret < 0) {
		if (errno != ENOENT)
			msg_warn("%s: open %s: %m", id, path);
		return -1;
	}
	if (ret == 0)
		return pickup_quarantine(id, st.st_uid, why);
	if (fstat(m->fd, &st) < 0) {
		queue_msg_free(&m);
		return -1;
	}
	why = st.st_nlink != 1 ? "hard link" : pickup_check(m);
	if (why == NULL && !queue_msg_content(m, &content,
					      (size_t)m->content_len))
		why = "unreadable content";
	if (why != NULL) {
		queue_msg_free(&m);
		str_release(&content);
		return pickup_quarantine(id, st.st_uid, why);
	}
	ret = -1;
	if (pickup_write(m, st.st_uid, &content, new_id)) {
		msg_info("%s: uid=%lu from=<%s>", new_id,
			 (unsigned long)st.st_uid, m->sender);
		if (unlink(path) < 0 && errno != ENOENT)
			msg_warn("%s: remove %s: %m", new_id, path);
		ret = 1;
	}
	queue_msg_free(&m);
	str_release(&content);
	return ret;
}
