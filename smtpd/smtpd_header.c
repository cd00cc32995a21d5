/*
 * smtpd_header: Message-ID: and Date: for submitted mail that lacks
 * them (RFC 6409 8.2, 8.3), added while the content streams into the
 * queue (smtpd.h).
 *
 * Interface: smtpd_header_create, smtpd_header_feed,
 * smtpd_header_finish, smtpd_header_free.
 *
 * The content arrives in pieces of any size (DATA lines, BDAT chunks cut
 * anywhere), already with LF line ends. A small state machine follows
 * the header section: at each line start it collects the field name up
 * to ':' (so a name split across pieces is still recognised), and a
 * line that starts with a space or tab continues the previous field.
 * The header ends at the first empty line, or at the first line that is
 * not a header field (as Postfix's cleanup decides); the missing fields
 * are inserted just before that point. A message that is all header
 * gets them at its end. Once the header is over, bytes pass straight
 * through.
 *
 * Message-ID is <QUEUE-ID@myhostname>: unique because queue IDs are.
 *
 * SECURITY: content is untrusted; only field names are looked at, in a
 * fixed buffer. Memory is bounded by the pieces the caller passes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mem.h"
#include "smtpd.h"

/* Longer field names are taken for body text (RFC 5322 has none). */
#define SMTPD_HEADER_NAME_MAX 64

enum smtpd_header_state {
	SMTPD_HDR_LINE_START,
	SMTPD_HDR_NAME,		/* collecting a field name */
	SMTPD_HDR_FIELD,	/* the rest of a field line */
	SMTPD_HDR_DONE,
};

struct smtpd_header {
	enum smtpd_header_state state;
	char name[SMTPD_HEADER_NAME_MAX + 1];
	size_t nlen;
	bool any_field;
	bool seen_msgid;
	bool seen_date;
	char *myhostname;
	char *queue_id;
};

struct smtpd_header *smtpd_header_create(const char *myhostname,
					 const char *queue_id)
{
	struct smtpd_header *h = mem_alloc(sizeof(*h));

	h->myhostname = mem_strdup(myhostname);
	h->queue_id = mem_strdup(queue_id);
	return h;
}

void smtpd_header_free(struct smtpd_header **hp)
{
	struct smtpd_header *h = *hp;

	if (h == NULL)
		return;
	mem_free(h->myhostname);
	mem_free(h->queue_id);
	mem_free(*hp);
}

/* The header is over: add what it lacked. */
static void smtpd_header_end(struct smtpd_header *h, struct str *out)
{
	char date[64];
	struct tm tm;
	time_t now;

	h->state = SMTPD_HDR_DONE;
	if (!h->seen_date) {
		now = time(NULL);
		localtime_r(&now, &tm);
		if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
			     &tm) > 0)
			str_printf(out, "Date: %s\n", date);
	}
	if (!h->seen_msgid)
		str_printf(out, "Message-ID: <%s@%s>\n", h->queue_id,
			   h->myhostname);
}

static bool smtpd_header_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* The field name is complete (c == ':') or refuted (anything else). */
static void smtpd_header_name_end(struct smtpd_header *h, char c,
				  struct str *out)
{
	if (c == ':' && h->nlen > 0) {
		h->name[h->nlen] = '\0';
		if (strcasecmp(h->name, "Message-ID") == 0)
			h->seen_msgid = true;
		else if (strcasecmp(h->name, "Date") == 0)
			h->seen_date = true;
		h->any_field = true;
		h->state = SMTPD_HDR_FIELD;
	} else {
		smtpd_header_end(h, out);	/* the body starts here */
	}
	str_append_n(out, h->name, h->nlen);
	str_append_c(out, c);
	if (c == '\n' && h->state == SMTPD_HDR_FIELD)
		h->state = SMTPD_HDR_LINE_START;
}

/* One octet of the header section. */
static void smtpd_header_octet(struct smtpd_header *h, char c,
			       struct str *out)
{
	switch (h->state) {
	case SMTPD_HDR_LINE_START:
		if (c == '\n') {
			smtpd_header_end(h, out);
			str_append_c(out, c);
			return;
		}
		if ((c == ' ' || c == '\t') && h->any_field) {
			h->state = SMTPD_HDR_FIELD;
			str_append_c(out, c);
			return;
		}
		h->state = SMTPD_HDR_NAME;
		h->nlen = 0;
		/* FALLTHROUGH */
	case SMTPD_HDR_NAME:
		if (smtpd_header_name_char((unsigned char)c) &&
		    h->nlen < SMTPD_HEADER_NAME_MAX)
			h->name[h->nlen++] = c;
		else
			smtpd_header_name_end(h, c, out);
		return;
	case SMTPD_HDR_FIELD:
		str_append_c(out, c);
		if (c == '\n')
			h->state = SMTPD_HDR_LINE_START;
		return;
	case SMTPD_HDR_DONE:
		str_append_c(out, c);
		return;
	}
}

void smtpd_header_feed(struct smtpd_header *h, const char *p, size_t n,
		       struct str *out)
{
	size_t i;

	for (i = 0; i < n && h->state != SMTPD_HDR_DONE; i++)
		smtpd_header_octet(h, p[i], out);
	if (i < n)
		str_append_n(out, p + i, n - i);
}

void smtpd_header_finish(struct smtpd_header *h, struct str *out)
{
	if (h->state == SMTPD_HDR_DONE)
		return;
	if (h->state == SMTPD_HDR_NAME) {
		/* A last line without ':' (and without LF: the callers
		 * always end content with LF, so this is defensive). */
		smtpd_header_end(h, out);
		str_append_n(out, h->name, h->nlen);
		return;
	}
	smtpd_header_end(h, out);
}
