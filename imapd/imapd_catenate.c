/*
 * imapd_catenate: APPEND's CATENATE (RFC 4469): a message built from
 * TEXT literals and URL parts that name messages or parts of messages
 * in the user's own mailboxes (imap_url.h), each taken as FETCH
 * BODY.PEEK[section]<partial> would answer it (the CRLF view).
 *
 * Interface: imapd_catenate (imapd.h).
 *
 * A URL that does not parse, names a mailbox that does not exist, a
 * UIDVALIDITY that is not the mailbox's, or a message that is not (or no
 * longer) there makes the APPEND fail with NO [BADURL url], and
 * nothing of it is stored. A part that does not exist in the message is
 * empty, as FETCH answers it.
 *
 * SECURITY: runs as the mailbox owner, and a URL can only name the
 * session's own mailboxes (the name goes through the same checks and
 * the same mapping to a directory as SELECT's); absolute URLs (another
 * server) and URLAUTH are refused. The built message is bounded by
 * APPENDLIMIT, all of an APPEND's by twice it (imapd_cmd_append); each
 * message file read is too, and is read once for all the URLs of the
 * command that name it in a row (struct imapd_catenate_cache).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap_mailbox.h"
#include "imap_url.h"
#include "imapd.h"
#include "mem.h"
#include "mime.h"
#include "safe_file.h"

#define IMAPD_CATENATE_FIELDS_MAX 64

/* The part path ("1.2") and what of it a URL's section names; fields
 * (split in place in spec) for HEADER.FIELDS. False if it is no
 * section. */
static bool imapd_catenate_section(char *spec, struct str *path,
				   enum mime_section *sec_r, bool *fields_r,
				   bool *not_r, char **names, size_t *nnames)
{
	char *p = spec;

	*sec_r = MIME_SECTION_ALL;
	*fields_r = *not_r = false;
	*nnames = 0;
	while (*p >= '0' && *p <= '9') {
		char *num = p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (*num == '0')
			return false;
		str_append_n(path, num, (size_t)(p - num));
		if (*p == '\0')
			return true;
		if (*p != '.')
			return false;
		p++;
		if (*p >= '0' && *p <= '9')
			str_append_c(path, '.');
	}
	if (*p == '\0' && path->len == 0) {
		return true;	/* no SECTION: the whole message */
	} else if (strcasecmp(p, "HEADER") == 0) {
		*sec_r = MIME_SECTION_HEADER;
	} else if (strcasecmp(p, "TEXT") == 0) {
		*sec_r = MIME_SECTION_TEXT;
	} else if (strcasecmp(p, "MIME") == 0 && path->len > 0) {
		*sec_r = MIME_SECTION_MIME;
	} else if (strncasecmp(p, "HEADER.FIELDS", 13) == 0) {
		char *list;

		p += 13;
		if (strncasecmp(p, ".NOT", 4) == 0) {
			*not_r = true;
			p += 4;
		}
		if (p[0] != ' ' || p[1] != '(' || p[strlen(p) - 1] != ')')
			return false;
		p[strlen(p) - 1] = '\0';
		list = p + 2;
		*fields_r = true;
		for (char *w = strtok(list, " "); w != NULL;
		     w = strtok(NULL, " ")) {
			if (*nnames == IMAPD_CATENATE_FIELDS_MAX)
				return false;
			names[(*nnames)++] = w;
		}
		return *nnames > 0;
	} else {
		return false;
	}
	return true;
}

/* The message the last URL named, kept for the next URLs of the same
 * APPEND (several parts of one message, or a MULTIAPPEND of many
 * CATENATEs of it): read and parsed once, not once per URL, so a short
 * command cannot make imapd read a big message thousands of times. */
struct imapd_catenate_cache {
	char *mailbox;
	uint32_t uidvalidity, uid;
	struct str raw;
	struct mime_message *mime;	/* of raw */
};

void imapd_catenate_cache_free(struct imapd_catenate_cache **cache)
{
	struct imapd_catenate_cache *c = *cache;

	if (c == NULL)
		return;
	mime_message_free(&c->mime);
	str_release(&c->raw);
	mem_free(c->mailbox);
	mem_free(c);
	*cache = NULL;
}

/* The URL's part onto out; false with *why_r. */
static bool imapd_catenate_url(struct imapd *s, const char *url,
			       struct imapd_catenate_cache **cache,
			       struct str *out, const char **why_r)
{
	struct imap_url u;
	struct str dir = STR_INIT, error = STR_INIT, raw = STR_INIT;
	struct str path = STR_INIT, data = STR_INIT;
	struct store_folder *f = NULL, *own = NULL;
	struct mime_message *mime = NULL, *msg;
	char *names[IMAPD_CATENATE_FIELDS_MAX];
	size_t nnames = 0;
	enum mime_section sec;
	bool ok = false, fields, not;
	int fd = -1;

	if (!imap_url_parse(url, &u, why_r))
		goto out;
	if (imap_mailbox_is_inbox(u.mailbox)) {
		mem_free(u.mailbox);
		u.mailbox = mem_strdup("INBOX");
	} else if (!imap_mailbox_name_valid(u.mailbox, why_r)) {
		goto out;
	}
	if (*cache != NULL && (*cache)->uid == u.uid &&
	    strcmp((*cache)->mailbox, u.mailbox) == 0 &&
	    (u.uidvalidity == 0 || u.uidvalidity == (*cache)->uidvalidity))
		goto parsed;
	*why_r = "no such mailbox";
	if (!imapd_exists(s, u.mailbox) ||
	    !imapd_mailbox_dir(s, u.mailbox, &dir, why_r))
		goto out;
	if (s->folder != NULL && s->mailbox != NULL &&
	    strcmp(s->mailbox, u.mailbox) == 0) {
		f = s->folder;
	} else {
		f = own = store_folder_open(str_c(&dir), false, &error);
		if (f == NULL)
			goto out;
	}
	*why_r = "UIDVALIDITY differs";
	if (u.uidvalidity != 0 && u.uidvalidity != f->uidvalidity)
		goto out;
	*why_r = "no such message";
	if (store_lookup(f, u.uid, NULL) == NULL ||
	    (fd = store_msg_open(f, u.uid, &error)) < 0)
		goto out;
	*why_r = "message unreadable or too big";
	if (!safe_read_fd(fd, &raw, IMAPD_APPEND_MAX))
		goto out;
	mime = mime_parse(raw.data != NULL ? raw.data : "", raw.len, NULL);
	imapd_catenate_cache_free(cache);
	*cache = mem_alloc(sizeof(**cache));
	(*cache)->mailbox = mem_strdup(u.mailbox);
	(*cache)->uidvalidity = f->uidvalidity;
	(*cache)->uid = u.uid;
	(*cache)->raw = raw;		/* the cache owns them now */
	(*cache)->mime = mime;
	raw = (struct str)STR_INIT;
	mime = NULL;
parsed:
	msg = (*cache)->mime;
	*why_r = "bad SECTION";
	if (!imapd_catenate_section(u.section != NULL ? u.section : "",
				    &path, &sec, &fields, &not, names,
				    &nnames))
		goto out;
	if (fields) {
		const struct mime_part *part;

		if (mime_section_header_part(msg, str_c(&path), &part) == 1)
			mime_header_fields(msg, part,
					   (const char *const *)names,
					   nnames, not, &data);
	} else {
		struct mime_range range;
		int found = mime_section_range(msg, str_c(&path), sec,
					       &range);

		if (found < 0)
			goto out;
		if (found == 1)
			mime_range_write(msg, &range, 0, SIZE_MAX, &data);
	}
	/* PARTIAL=offset.length of that, as FETCH's <offset.length>. */
	if (!u.partial)
		str_append_n(out, data.data != NULL ? data.data : "",
			     data.len);
	else if (u.offset < data.len)
		str_append_n(out, data.data + u.offset,
			     u.length == 0 || data.len - u.offset < u.length ?
			     data.len - u.offset : u.length);
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	mime_message_free(&mime);
	store_folder_free(&own);
	imap_url_free(&u);
	str_release(&dir);
	str_release(&error);
	str_release(&raw);
	str_release(&path);
	str_release(&data);
	return ok;
}

/* NO [BADURL url]: the URL bare, as it came (RFC 4469 5: the
 * url-resp-text is an imapurl, not a string; erratum 4046 fixed the
 * RFC's quoted example), but for the characters url-resp-text cannot
 * hold (']' would end the code) and controls. */
static void imapd_catenate_badurl(struct imapd *s, const struct imap_cmd *cmd,
				  const char *url, const char *why)
{
	struct str q = STR_INIT;

	for (const char *p = url; *p != '\0' && q.len < 1024; p++)
		if (*p != ']' && (unsigned char)*p > 0x20 && *p != 0x7f)
			str_append_c(&q, *p);
	if (q.len == 0)
		str_append_c(&q, '/');
	imapd_tagged(s, cmd->tag, "NO [BADURL %s] %s.", str_c(&q), why);
	str_release(&q);
}

bool imapd_catenate(struct imapd *s, const struct imap_cmd *cmd,
		    const struct imap_arg *list, size_t max,
		    struct imapd_catenate_cache **cache, struct str *out)
{
	const char *url, *why;

	str_clear(out);
	if (list->type == IMAP_ARG_EOL) {
		imapd_tagged(s, cmd->tag, "BAD CATENATE needs parts.");
		return false;
	}
	for (; list->type != IMAP_ARG_EOL; list += 2) {
		if (imap_arg_atom_equals(list, "TEXT") &&
		    list[1].type == IMAP_ARG_LITERAL) {
			str_append_n(out, list[1].str, list[1].len);
		} else if (imap_arg_atom_equals(list, "URL") &&
			   imap_arg_get_astring(&list[1], &url)) {
			if (!imapd_catenate_url(s, url, cache, out, &why)) {
				imapd_catenate_badurl(s, cmd, url, why);
				return false;
			}
		} else {
			imapd_tagged(s, cmd->tag, "BAD CATENATE takes TEXT "
				     "literals and URL strings.");
			return false;
		}
		if (out->len > max) {
			imapd_tagged(s, cmd->tag, "NO [TOOBIG] Message too "
				     "big.");
			return false;
		}
	}
	return true;
}
