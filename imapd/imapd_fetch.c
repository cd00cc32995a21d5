/*
 * imapd_fetch: FETCH and UID FETCH (RFC 3501 6.4.5, RFC 9051 6.4.5,
 * BINARY from RFC 3516) in the IMAP mail process (imapd.h).
 *
 * Flags, UID, INTERNALDATE and RFC822.SIZE come from the index;
 * ENVELOPE, BODY, BODYSTRUCTURE and BODY[HEADER.FIELDS (...)] of the
 * fields it keeps from the store's message cache (the same bytes; a
 * listing opens no message file). Anything else reads the message file
 * once per message and parses it with the MIME parser, which gives
 * every section in the CRLF view clients expect (Maildir files have LF
 * line ends). Fetching a body section without
 * .PEEK sets \Seen and reports the new flags in the same response.
 *
 * SECURITY: runs as the mailbox owner. Message files are hostile input:
 * the MIME parser bounds depth, parts and header sizes; NUL bytes never
 * reach the client in a literal (they become 0x80, as Dovecot does).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap_date.h"
#include "imap_fetch.h"
#include "imap_quote.h"
#include "imapd.h"
#include "mem.h"
#include "mime.h"
#include "msg.h"

/* One message's file and its parse, for the items of one FETCH. */
struct imapd_msgdata {
	struct str raw;
	struct mime_message *mime;
	bool loaded;
};

static bool imapd_load(struct imapd *s, uint32_t uid,
		       struct imapd_msgdata *md)
{
	struct str error = STR_INIT;
	struct stat st;
	ssize_t n;
	int fd;

	if (md->loaded)
		return true;
	fd = store_msg_open(s->folder, uid, &error);
	if (fd < 0) {
		str_release(&error);
		return false;
	}
	str_clear(&md->raw);
	if (fstat(fd, &st) == 0)
		str_reserve(&md->raw, (size_t)st.st_size + 1);
	do {
		str_reserve(&md->raw, 65536);
		n = read(fd, md->raw.data + md->raw.len,
			 md->raw.cap - md->raw.len - 1);
		if (n > 0)
			md->raw.len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	close(fd);
	md->raw.data[md->raw.len] = '\0';
	md->mime = mime_parse(md->raw.data, md->raw.len, NULL);
	md->loaded = true;
	str_release(&error);
	return true;
}

static void imapd_unload(struct imapd_msgdata *md)
{
	mime_message_free(&md->mime);
	str_clear(&md->raw);
	md->loaded = false;
}

bool imapd_preview(struct imapd *s, const struct store_msg *m,
		   const struct mime_message *mime, struct str *out)
{
	struct imapd_msgdata md = { STR_INIT, NULL, false };
	/* Taken now: reading the cache may refresh the folder, and m
	 * with it (store_msg_open). */
	uint32_t uid = m->uid;

	/* The folder cache holds mime_preview's text (filled at delivery,
	 * APPEND, COPY, or here on first use). */
	if (mime == NULL &&
	    store_cache_get(s->folder, uid, STORE_CACHE_PREVIEW, out) == 1)
		return true;
	str_clear(out);
	if (mime == NULL) {
		if (!imapd_load(s, uid, &md)) {
			str_release(&md.raw);
			return false;
		}
		mime = md.mime;
	}
	mime_preview(mime, out);
	imapd_unload(&md);
	str_release(&md.raw);
	return true;
}

bool imapd_message_crlf(struct imapd *s, uint32_t uid, struct str *out)
{
	struct imapd_msgdata md = { STR_INIT, NULL, false };
	bool ok = imapd_load(s, uid, &md);

	if (ok)
		mime_append_crlf(out, md.raw.data, md.raw.len);
	imapd_unload(&md);
	str_release(&md.raw);
	return ok;
}

void imapd_split_header(const char *msg, size_t len, size_t *hdr_len_r)
{
	const char *p = msg, *end = msg + len;

	/* The header ends after the first empty line. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			p = end;
			break;
		}
		if (nl == p || (nl == p + 1 && *p == '\r')) {
			p = nl + 1;
			break;
		}
		p = nl + 1;
	}
	*hdr_len_r = (size_t)(p - msg);
}

/* Append data as a literal (NULs as 0x80). */
static void imapd_literal(struct str *out, const char *data, size_t len)
{
	size_t start;

	str_printf(out, "{%zu}\r\n", len);
	start = out->len;
	str_append_n(out, data, len);
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] == '\0')
			out->data[i] = (char)0x80;
}

static void imapd_section_path(const struct imap_fetch_item *item,
			       struct str *path)
{
	str_clear(path);
	for (unsigned i = 0; i < item->nparts; i++)
		str_printf(path, "%s%u", i > 0 ? "." : "", item->part[i]);
}

/* BODY[...] / BODY.PEEK[...]: 1 done, -1 the message is gone. A part
 * that does not exist (BODY[5] of a single-part message) is answered
 * with an empty string, as Dovecot does: RFC 3501 names no answer, and
 * NIL breaks clients that expect a string. */
static int imapd_fetch_section(struct imapd *s, uint32_t uid,
			       const struct imap_fetch_item *item,
			       struct imapd_msgdata *md, struct str *out)
{
	struct str path = STR_INIT, data = STR_INIT;
	const struct mime_part *part;
	struct mime_range range;
	enum mime_section sec = MIME_SECTION_ALL;
	size_t offset = item->partial ? (size_t)item->offset : 0;
	size_t count = item->partial ? (size_t)item->length : SIZE_MAX;
	int found;

	if (item->spec == IMAP_SECTION_HEADER_FIELDS && item->nparts == 0 &&
	    !md->loaded) {
		/* The header fields a listing asks for: from the cache. */
		struct str fields = STR_INIT;

		found = store_cache_header_fields(s->folder, uid,
						  (const char *const *)
						  item->fields, item->nfields,
						  &fields);
		if (found == 1) {
			imap_fetch_item_name(item, out);
			str_append_c(out, ' ');
			imapd_literal(out, offset < fields.len ?
				      fields.data + offset : "",
				      offset >= fields.len ? 0 :
				      fields.len - offset < count ?
				      fields.len - offset : count);
		}
		str_release(&fields);
		if (found >= 0)
			return found == 1 ? 1 : -1;
	}
	if (!imapd_load(s, uid, md))
		return -1;
	imapd_section_path(item, &path);
	imap_fetch_item_name(item, out);
	str_append_c(out, ' ');
	switch (item->spec) {
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		found = mime_section_header_part(md->mime, str_c(&path),
						 &part);
		if (found == 1) {
			struct str fields = STR_INIT;

			mime_header_fields(md->mime, part,
					   (const char *const *)item->fields,
					   item->nfields,
					   item->spec ==
					   IMAP_SECTION_HEADER_FIELDS_NOT,
					   &fields);
			if (offset < fields.len)
				str_append_n(&data, fields.data + offset,
					     fields.len - offset < count ?
					     fields.len - offset : count);
			str_release(&fields);
		}
		break;
	case IMAP_SECTION_HEADER:
		sec = MIME_SECTION_HEADER;
		/* fall through */
	case IMAP_SECTION_TEXT:
		if (item->spec == IMAP_SECTION_TEXT)
			sec = MIME_SECTION_TEXT;
		/* fall through */
	case IMAP_SECTION_MIME:
		if (item->spec == IMAP_SECTION_MIME)
			sec = MIME_SECTION_MIME;
		/* fall through */
	default:
		found = mime_section_range(md->mime, str_c(&path), sec,
					   &range);
		if (found == 1)
			mime_range_write(md->mime, &range, offset, count,
					 &data);
		break;
	}
	imapd_literal(out, data.data == NULL ? "" : data.data, data.len);
	str_release(&path);
	str_release(&data);
	return 1;
}

/* BINARY[...] and BINARY.SIZE[...]: 1 done, 0 unknown encoding (the
 * command answers NO [UNKNOWN-CTE]), -1 the message is gone. A part
 * that does not exist is empty (size 0), as for BODY[...]; [UNKNOWN-CTE]
 * is only for an encoding we cannot decode (RFC 3516 4.3). */
static int imapd_fetch_binary(struct imapd *s, uint32_t uid,
			      const struct imap_fetch_item *item,
			      struct imapd_msgdata *md, struct str *out)
{
	struct str path = STR_INIT, data = STR_INIT;
	const struct mime_part *part;
	const char *error;
	int ret = 1;

	if (!imapd_load(s, uid, md))
		return -1;
	imapd_section_path(item, &path);
	if (item->nparts == 0) {
		/* BINARY[]: the whole message, nothing to decode. */
		struct mime_range range;

		(void)mime_section_range(md->mime, "", MIME_SECTION_ALL,
					 &range);
		mime_range_write(md->mime, &range, 0, SIZE_MAX, &data);
	} else if (mime_section_find(md->mime, str_c(&path), &part) != 1) {
		/* No such part: data stays empty. */
	} else if (mime_part_decode(md->mime, part, &data, &error) < 0) {
		ret = 0;
		goto out;
	}
	imap_fetch_item_name(item, out);
	if (item->type == IMAP_FETCH_BINARY_SIZE) {
		str_printf(out, " %zu", data.len);
	} else {
		size_t offset = item->partial ? (size_t)item->offset : 0;
		size_t count = item->partial ? (size_t)item->length :
			       SIZE_MAX;
		size_t len = offset < data.len ? data.len - offset : 0;

		if (len > count)
			len = count;
		str_append_c(out, ' ');
		if (memchr(data.data == NULL ? "" : data.data + offset, '\0',
			   len) != NULL)
			imap_quote_literal8(out, data.data + offset, len);
		else
			imapd_literal(out, len == 0 ? "" : data.data + offset,
				      len);
	}
out:
	str_release(&path);
	str_release(&data);
	return ret;
}

/* ENVELOPE, BODY or BODYSTRUCTURE from the store's message cache onto
 * out: 1 done, 0 the message is gone, -1 not available (render it from
 * the message). */
static int imapd_fetch_cached(struct imapd *s, uint32_t uid,
			      enum imap_fetch_type type, struct str *out)
{
	struct str value = STR_INIT;
	enum store_cache_field field =
		type == IMAP_FETCH_ENVELOPE ? STORE_CACHE_ENVELOPE :
		type == IMAP_FETCH_BODY ? STORE_CACHE_BODY :
		STORE_CACHE_BODYSTRUCTURE;
	int ret;

	if (s->utf8)
		field++;	/* the _UTF8 rendering */
	ret = store_cache_get(s->folder, uid, field, &value);
	if (ret == 1)
		str_append_n(out, value.data, value.len);
	str_release(&value);
	return ret;
}

/* A number in decimal onto out (FETCH 1:* writes two per message:
 * printf's parsing was a fifth of the time). */
static void imapd_append_num(struct str *out, uint64_t v)
{
	char buf[24];
	size_t at = sizeof(buf);

	do {
		buf[--at] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	str_append_n(out, buf + at, sizeof(buf) - at);
}

/* The store's message for view entry seq: the same position when the
 * view is in step with the store (the common case), else a search. */
static const struct store_msg *imapd_fetch_msg(struct imapd *s, size_t seq,
					       uint32_t uid)
{
	const struct store_folder *f = s->folder;

	if (seq < f->count && f->msgs[seq].uid == uid)
		return &f->msgs[seq];
	return store_lookup(f, uid, NULL);
}

/* One message's FETCH response into out: 1 sent, -1 gone, 0 bad CTE. */
static int imapd_fetch_one(struct imapd *s, size_t seq, bool uid_cmd,
			   const struct imap_fetch *fetch,
			   struct imapd_msgdata *md, struct str *out)
{
	struct imapd_view *v = &s->view[seq];
	const struct store_msg *m = imapd_fetch_msg(s, seq, v->uid);
	bool set_seen = false, has_flags = false, has_uid = false;
	bool has_modseq = false;
	unsigned flag_utf8 = s->utf8 ? MIME_IMAP_UTF8 : 0;
	int ret;

	if (m == NULL || v->expunged)
		return -1;
	for (unsigned i = 0; i < fetch->count; i++) {
		const struct imap_fetch_item *it = &fetch->items[i];

		set_seen |= imap_fetch_item_sets_seen(it);
		has_flags |= it->type == IMAP_FETCH_FLAGS;
		has_uid |= it->type == IMAP_FETCH_UID;
		has_modseq |= it->type == IMAP_FETCH_MODSEQ;
	}
	if (set_seen && !s->readonly && !(v->flags & STORE_F_SEEN)) {
		struct str error = STR_INIT;

		if (store_set_flags(s->folder, v->uid,
				    v->flags | STORE_F_SEEN, v->keywords,
				    &error) == 1) {
			v->flags |= STORE_F_SEEN;
			has_flags = false;	/* add it below */
			set_seen = true;
		} else {
			set_seen = false;
		}
		str_release(&error);
		m = store_lookup(s->folder, v->uid, NULL);
		if (m == NULL)
			return -1;
	} else {
		set_seen = false;
	}
	str_clear(out);
	str_append(out, "* ");
	imapd_append_num(out, seq + 1);
	str_append(out, " FETCH (");
	/* QRESYNC: every FETCH response names its UID (RFC 7162 3.2.4). */
	if ((uid_cmd || s->qresync) && !has_uid) {
		str_append(out, "UID ");
		imapd_append_num(out, v->uid);
		str_append_c(out, ' ');
	}
	for (unsigned i = 0; i < fetch->count; i++) {
		const struct imap_fetch_item *it = &fetch->items[i];

		if (i > 0) {
			/* An item before may have opened the file, and an
			 * open that finds it renamed refreshes the folder,
			 * which may move or shift its array. */
			m = imapd_fetch_msg(s, seq, v->uid);
			if (m == NULL)
				return -1;
			str_append_c(out, ' ');
		}
		switch (it->type) {
		case IMAP_FETCH_UID:
			str_append(out, "UID ");
			imapd_append_num(out, v->uid);
			break;
		case IMAP_FETCH_MODSEQ:
			str_printf(out, "MODSEQ (%llu)", (unsigned long long)
				   imapd_modseq(m->modseq));
			break;
		case IMAP_FETCH_FLAGS:
			str_append(out, "FLAGS ");
			imapd_format_flags(s, v, out);
			break;
		case IMAP_FETCH_INTERNALDATE:
			str_append(out, "INTERNALDATE ");
			imap_date_format((time_t)store_msg_date(s->folder, m), 0,
					 out);
			break;
		case IMAP_FETCH_RFC822_SIZE:
			str_printf(out, "RFC822.SIZE %llu",
				   (unsigned long long)m->vsize);
			break;
		case IMAP_FETCH_ENVELOPE:
			str_append(out, "ENVELOPE ");
			ret = imapd_fetch_cached(s, v->uid, it->type, out);
			if (ret == 0)
				return -1;
			if (ret > 0)
				break;
			if (!imapd_load(s, v->uid, md))
				return -1;
			mime_imap_envelope(md->mime, md->mime->root,
					   flag_utf8, out);
			break;
		case IMAP_FETCH_BODY:
		case IMAP_FETCH_BODYSTRUCTURE:
			str_append(out, it->type == IMAP_FETCH_BODY ?
				   "BODY " : "BODYSTRUCTURE ");
			ret = imapd_fetch_cached(s, v->uid, it->type, out);
			if (ret == 0)
				return -1;
			if (ret > 0)
				break;
			if (!imapd_load(s, v->uid, md))
				return -1;
			mime_imap_bodystructure(md->mime, md->mime->root,
						it->type ==
						IMAP_FETCH_BODYSTRUCTURE,
						flag_utf8, out);
			break;
		case IMAP_FETCH_RFC822:
		case IMAP_FETCH_RFC822_HEADER:
		case IMAP_FETCH_RFC822_TEXT: {
			struct mime_range range;
			enum mime_section sec =
				it->type == IMAP_FETCH_RFC822 ?
				MIME_SECTION_ALL :
				it->type == IMAP_FETCH_RFC822_HEADER ?
				MIME_SECTION_HEADER : MIME_SECTION_TEXT;
			struct str data = STR_INIT;

			if (!imapd_load(s, v->uid, md))
				return -1;
			(void)mime_section_range(md->mime, "", sec, &range);
			mime_range_write(md->mime, &range, 0, SIZE_MAX, &data);
			str_append(out, it->type == IMAP_FETCH_RFC822 ?
				   "RFC822 " : it->type ==
				   IMAP_FETCH_RFC822_HEADER ?
				   "RFC822.HEADER " : "RFC822.TEXT ");
			imapd_literal(out, data.data == NULL ? "" : data.data,
				      data.len);
			str_release(&data);
			break;
		}
		case IMAP_FETCH_BODY_SECTION:
			ret = imapd_fetch_section(s, v->uid, it, md, out);
			if (ret <= 0)
				return ret;
			break;
		case IMAP_FETCH_BINARY:
		case IMAP_FETCH_BINARY_SIZE:
			ret = imapd_fetch_binary(s, v->uid, it, md, out);
			if (ret <= 0)
				return ret;
			break;
		case IMAP_FETCH_EMAILID: {
			char id[STORE_OBJECTID_MAX];

			imapd_email_id(s, m, id);
			str_printf(out, "EMAILID (%s)", id);
			break;
		}
		case IMAP_FETCH_THREADID:
			str_append(out, "THREADID NIL");
			break;
		case IMAP_FETCH_SAVEDATE: {
			int64_t t = imapd_savedate(s, m);

			str_append(out, "SAVEDATE ");
			if (t < 0)
				str_append(out, "NIL");
			else
				imap_date_format((time_t)t, 0, out);
			break;
		}
		case IMAP_FETCH_PREVIEW: {
			struct str text = STR_INIT;

			if (!imapd_preview(s, m, md->loaded ? md->mime : NULL,
					   &text)) {
				str_release(&text);
				return -1;
			}
			str_append(out, "PREVIEW ");
			imap_quote_string(out, str_c(&text), text.len,
					  s->utf8);
			str_release(&text);
			break;
		}
		}
	}
	if (set_seen && !has_flags) {
		str_append(out, " FLAGS ");
		imapd_format_flags(s, v, out);
	}
	/* With CONDSTORE, flags go with their modseq (RFC 7162 3.1.4). */
	if (s->condstore && !has_modseq && (has_flags || set_seen))
		str_printf(out, " MODSEQ (%llu)", (unsigned long long)
			   imapd_modseq(m->modseq));
	if (s->condstore && (has_flags || set_seen || has_modseq) &&
	    (m->flags & STORE_F_ALL) == v->flags &&
	    m->keywords == v->keywords)
		v->modseq = m->modseq;	/* the client knows it now */
	str_append(out, ")\r\n");
	return 1;
}

/* UID FETCH ... (CHANGEDSINCE n VANISHED): the UIDs of the set as the
 * client wrote it (not only those in the view) expunged since n. */
static void imapd_fetch_vanished(struct imapd *s, const char *set,
				 uint64_t changedsince)
{
	struct imap_seqset uids = IMAP_SEQSET_INIT;
	const char *error;
	uint32_t top = s->folder->uidnext > 1 ? s->folder->uidnext - 1 : 0;

	if (s->nview > 0 && s->view[s->nview - 1].uid > top)
		top = s->view[s->nview - 1].uid;
	if (imap_seqset_parse(&uids, set, IMAP_SEQSET_ALLOW_DOLLAR, 0,
			      &error)) {
		if (uids.dollar) {
			imap_seqset_clear(&uids);
			imap_seqset_merge(&uids, &s->saved);
			imap_seqset_normalise(&uids);
		} else {
			imap_seqset_resolve(&uids, top);
		}
		imapd_vanished_earlier(s, &uids, changedsince, NULL, NULL);
	}
	imap_seqset_release(&uids);
}

/* CHANGEDSINCE implies the MODSEQ item (RFC 7162 3.1.4.1). */
static void imapd_fetch_add_modseq(struct imap_fetch *fetch)
{
	for (unsigned i = 0; i < fetch->count; i++)
		if (fetch->items[i].type == IMAP_FETCH_MODSEQ)
			return;
	fetch->items = mem_array_realloc(fetch->items, fetch->count + 1,
					 sizeof(*fetch->items));
	memset(&fetch->items[fetch->count], 0, sizeof(*fetch->items));
	fetch->items[fetch->count++].type = IMAP_FETCH_MODSEQ;
}

void imapd_fetch_items(struct imapd *s, size_t i,
		       const struct imap_fetch *fetch)
{
	struct imapd_msgdata md = { STR_INIT, NULL, false };
	struct str out = STR_INIT;

	if (imapd_fetch_one(s, i, false, fetch, &md, &out) > 0)
		imapd_append(s, out.data, out.len);
	imapd_unload(&md);
	str_release(&md.raw);
	str_release(&out);
}

void imapd_cmd_fetch(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imap_seqset uids = IMAP_SEQSET_INIT;
	struct imap_fetch fetch = IMAP_FETCH_INIT;
	struct imap_fetch_mods mods = { false, 0, false };
	struct imapd_msgdata md = { STR_INIT, NULL, false };
	struct str out = STR_INIT;
	const char *set, *error = "Invalid arguments.";
	bool gone = false, bad_cte = false;

	if (cmd->nargs < 2 || cmd->nargs > 3 ||
	    !imap_arg_get_atom(&cmd->args[0], &set) ||
	    !imapd_uidset(s, set, cmd->uid, &uids, &error) ||
	    !imap_fetch_parse(&cmd->args[1], &fetch, &error) ||
	    (cmd->nargs == 3 &&
	     !imap_fetch_mods_parse(&cmd->args[2], &mods, &error))) {
		imapd_tagged(s, cmd->tag, "BAD %s", error);
		goto out;
	}
	/* RFC 7162 3.2.6: VANISHED needs UID FETCH and QRESYNC. */
	if (mods.vanished && (!cmd->uid || !s->qresync)) {
		imapd_tagged(s, cmd->tag, "BAD VANISHED needs UID FETCH and "
			     "ENABLE QRESYNC.");
		goto out;
	}
	if (mods.changedsince_set)
		imapd_fetch_add_modseq(&fetch);
	for (unsigned i = 0; i < fetch.count; i++)
		if (fetch.items[i].type == IMAP_FETCH_MODSEQ)
			imapd_condstore_enable(s);
	if (mods.vanished)
		imapd_fetch_vanished(s, set, mods.changedsince);
	for (size_t i = 0; i < s->nview; i++) {
		int r;

		if (!imap_seqset_contains(&uids, s->view[i].uid))
			continue;
		if (mods.changedsince_set && !s->view[i].expunged) {
			const struct store_msg *m =
				imapd_fetch_msg(s, i, s->view[i].uid);

			if (m != NULL && m->modseq <= mods.changedsince)
				continue;
		}
		r = imapd_fetch_one(s, i, cmd->uid, &fetch, &md, &out);
		imapd_unload(&md);
		if (r < 0)
			gone = true;
		else if (r == 0)
			bad_cte = true;
		else
			imapd_append(s, out.data, out.len);
	}
	if (bad_cte)
		imapd_tagged(s, cmd->tag, "NO [UNKNOWN-CTE] Unknown "
			     "Content-Transfer-Encoding.");
	else if (gone)
		imapd_tagged(s, cmd->tag, "NO [EXPUNGEISSUED] Some of the "
			     "requested messages no longer exist.");
	else
		imapd_tagged(s, cmd->tag, "OK Fetch completed.");
out:
	imap_seqset_release(&uids);
	imap_fetch_release(&fetch);
	str_release(&md.raw);
	str_release(&out);
}
