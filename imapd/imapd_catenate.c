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
 * longer) there makes the APPEND fail with NO [BADURL "url"], and
 * nothing of it is stored. A part that does not exist in the message is
 * empty, as FETCH answers it.
 *
 * SECURITY: runs as the mailbox owner, and a URL can only name the
 * session's own mailboxes (the name goes through the same checks and
 * the same mapping to a directory as SELECT's); absolute URLs (another
 * server) and URLAUTH are refused. The built message is bounded by
 * APPENDLIMIT; each message file read is too.
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

/* The URL's part onto out; false with *why_r. */
static bool imapd_catenate_url(struct imapd *s, const char *url,
			       struct str *out, const char **why_r)
{
	struct imap_url u;
	struct str dir = STR_INIT, error = STR_INIT, raw = STR_INIT;
	struct str path = STR_INIT, data = STR_INIT;
	struct store_folder *f = NULL, *own = NULL;
	struct mime_message *mime = NULL;
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
	*why_r = "bad SECTION";
	if (!imapd_catenate_section(u.section != NULL ? u.section : "",
				    &path, &sec, &fields, &not, names,
				    &nnames))
		goto out;
	if (fields) {
		const struct mime_part *part;

		if (mime_section_header_part(mime, str_c(&path), &part) == 1)
			mime_header_fields(mime, part,
					   (const char *const *)names,
					   nnames, not, &data);
	} else {
		struct mime_range range;
		int found = mime_section_range(mime, str_c(&path), sec,
					       &range);

		if (found < 0)
			goto out;
		if (found == 1)
			mime_range_write(mime, &range, 0, SIZE_MAX, &data);
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

/* NO [BADURL "url"]: the URL quoted as it came, but for the characters
 * a quoted string cannot hold. */
static void imapd_catenate_badurl(struct imapd *s, const struct imap_cmd *cmd,
				  const char *url, const char *why)
{
	struct str q = STR_INIT;

	for (const char *p = url; *p != '\0' && q.len < 1024; p++)
		if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 &&
		    *p != 0x7f)
			str_append_c(&q, *p);
	imapd_tagged(s, cmd->tag, "NO [BADURL \"%s\"] %s.", str_c(&q), why);
	str_release(&q);
}

bool imapd_catenate(struct imapd *s, const struct imap_cmd *cmd,
		    const struct imap_arg *list, struct str *out)
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
			if (!imapd_catenate_url(s, url, out, &why)) {
				imapd_catenate_badurl(s, cmd, url, why);
				return false;
			}
		} else {
			imapd_tagged(s, cmd->tag, "BAD CATENATE takes TEXT "
				     "literals and URL strings.");
			return false;
		}
		if (out->len > IMAPD_APPEND_MAX) {
			imapd_tagged(s, cmd->tag, "NO [TOOBIG] Message too "
				     "big.");
			return false;
		}
	}
	return true;
}
