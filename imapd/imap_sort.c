/*
 * imap_sort: SORT's program, keys and comparison (imap_sort.h), and the
 * base subject that THREAD shares.
 *
 * Keys are computed once per message (casemapped strings, dates as
 * instants) and the sort compares them with qsort_r; the sequence number
 * as the last key makes the order total, so qsort's instability never
 * shows.
 *
 * i;unicode-casemap is the MIME library's (mime_casemap, which SEARCH
 * and the full-text index share).
 *
 * SECURITY: header values come from messages anyone can send. Every
 * loop moves forward over a NUL-terminated buffer; the address and
 * encoded-word parsers are the MIME library's, with its limits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "mime.h"

#include "imap_date.h"
#include "imap_sort.h"

static const struct {
	const char *name;
	enum imap_sort_key key;
	unsigned headers;
} imap_sort_keys[] = {
	{ "ARRIVAL", IMAP_SORT_ARRIVAL, 0 },
	{ "CC", IMAP_SORT_CC, IMAP_SORT_H_CC },
	{ "DATE", IMAP_SORT_DATE, IMAP_SORT_H_DATE },
	{ "FROM", IMAP_SORT_FROM, IMAP_SORT_H_FROM },
	{ "SIZE", IMAP_SORT_SIZE, 0 },
	{ "SUBJECT", IMAP_SORT_SUBJECT, IMAP_SORT_H_SUBJECT },
	{ "TO", IMAP_SORT_TO, IMAP_SORT_H_TO },
	{ "DISPLAYFROM", IMAP_SORT_DISPLAYFROM, IMAP_SORT_H_FROM },
	{ "DISPLAYTO", IMAP_SORT_DISPLAYTO, IMAP_SORT_H_TO },
};

#define IMAP_SORT_NKEYS (sizeof(imap_sort_keys) / sizeof(*imap_sort_keys))

bool imap_sort_program_parse(const struct imap_arg *arg,
			     struct imap_sort_program *program_r,
			     const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	bool reverse = false;
	const char *word;
	size_t i;

	program_r->count = 0;
	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Missing sort criteria";
		return false;
	}
	for (; list->type != IMAP_ARG_EOL; list++) {
		if (!imap_arg_get_atom(list, &word)) {
			*error_r = "Invalid sort criteria";
			return false;
		}
		if (strcasecmp(word, "REVERSE") == 0) {
			if (reverse) {
				*error_r = "REVERSE twice";
				return false;
			}
			reverse = true;
			continue;
		}
		for (i = 0; i < IMAP_SORT_NKEYS; i++)
			if (strcasecmp(word, imap_sort_keys[i].name) == 0)
				break;
		if (i == IMAP_SORT_NKEYS) {
			*error_r = "Unknown sort criterion";
			return false;
		}
		if (program_r->count == IMAP_SORT_PROGRAM_MAX) {
			*error_r = "Too many sort criteria";
			return false;
		}
		program_r->crit[program_r->count].key = imap_sort_keys[i].key;
		program_r->crit[program_r->count].reverse = reverse;
		program_r->count++;
		reverse = false;
	}
	if (reverse || program_r->count == 0) {
		*error_r = "REVERSE without a sort criterion";
		return false;
	}
	return true;
}

unsigned imap_sort_program_headers(const struct imap_sort_program *program)
{
	unsigned mask = 0;

	for (unsigned c = 0; c < program->count; c++)
		for (size_t i = 0; i < IMAP_SORT_NKEYS; i++)
			if (imap_sort_keys[i].key == program->crit[c].key)
				mask |= imap_sort_keys[i].headers;
	return mask;
}

/*
 * Base subject (RFC 5256 section 2.1). The text is casemapped first, so
 * "re", "fw" and "fwd" appear in upper case.
 */

static bool imap_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A subj-blob at p: "[" *BLOBCHAR "]" *WSP. Returns its end, or NULL. */
static const char *imap_subj_blob(const char *p)
{
	if (*p != '[')
		return NULL;
	for (p++; *p != '\0' && *p != '[' && *p != ']'; p++)
		;
	if (*p != ']')
		return NULL;
	for (p++; imap_wsp(*p); p++)
		;
	return p;
}

/* subj-refwd at p: ("RE" / ("FW" ["D"])) *WSP [subj-blob] ":". */
static const char *imap_subj_refwd(const char *p)
{
	const char *b;

	if (strncmp(p, "RE", 2) == 0)
		p += 2;
	else if (strncmp(p, "FWD", 3) == 0)
		p += 3;
	else if (strncmp(p, "FW", 2) == 0)
		p += 2;
	else
		return NULL;
	while (imap_wsp(*p))
		p++;
	if ((b = imap_subj_blob(p)) != NULL)
		p = b;
	return *p == ':' ? p + 1 : NULL;
}

/* Step 3: one subj-leader at the start, or NULL. */
static const char *imap_subj_leader(const char *p)
{
	const char *q = p, *b;

	if (imap_wsp(*p)) {
		while (imap_wsp(*p))
			p++;
		return p;
	}
	while ((b = imap_subj_blob(q)) != NULL)
		q = b;
	return imap_subj_refwd(q);
}

/* Steps 2 to 6 on buf (NUL-terminated, white space already collapsed to
 * single spaces), in place. Returns whether it was a reply/forward. */
static bool imap_subj_extract(char *buf)
{
	size_t len = strlen(buf);
	bool reply = false, changed;
	const char *p;

	for (;;) {
		/* Step 2: trailers. */
		for (;;) {
			while (len > 0 && imap_wsp(buf[len - 1]))
				len--;
			if (len >= 5 &&
			    memcmp(buf + len - 5, "(FWD)", 5) == 0) {
				len -= 5;
				reply = true;
				continue;
			}
			break;
		}
		buf[len] = '\0';
		/* Steps 3 to 5. */
		do {
			changed = false;
			while ((p = imap_subj_leader(buf)) != NULL) {
				if (!imap_wsp(*buf))
					reply = true;
				len -= (size_t)(p - buf);
				memmove(buf, p, len + 1);
				changed = true;
			}
			p = imap_subj_blob(buf);
			if (p != NULL && *p != '\0') {
				len -= (size_t)(p - buf);
				memmove(buf, p, len + 1);
				changed = true;
			}
		} while (changed);
		/* Step 6: "[FWD:" ... "]". */
		if (len >= 6 && strncmp(buf, "[FWD:", 5) == 0 &&
		    buf[len - 1] == ']') {
			len -= 6;
			memmove(buf, buf + 5, len);
			buf[len] = '\0';
			reply = true;
			continue;
		}
		return reply;
	}
}

bool imap_base_subject(const char *value, struct str *out)
{
	struct str decoded = STR_INIT, mapped = STR_INIT;
	char *buf, *w;
	bool reply, space = false;

	if (value == NULL)
		return false;
	mime_header_decode(value, strlen(value), &decoded);
	mime_casemap(str_c(&decoded), decoded.len, &mapped);
	/* Step 1: tabs and line ends to spaces, runs to one space. */
	buf = w = mem_strdup(str_c(&mapped));
	for (const char *r = buf; *r != '\0'; r++) {
		if (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n') {
			if (!space)
				*w++ = ' ';
			space = true;
		} else {
			*w++ = *r;
			space = false;
		}
	}
	*w = '\0';
	reply = imap_subj_extract(buf);
	str_append(out, buf);
	mem_free(buf);
	str_release(&decoded);
	str_release(&mapped);
	return reply;
}

void imap_sort_addr_key(const char *value, bool display, struct str *out)
{
	struct mime_pool *pool;
	const struct mime_addr *a;
	struct str text = STR_INIT;

	if (value == NULL)
		return;
	pool = mime_pool_create();
	a = mime_addr_parse(pool, value, strlen(value));
	/* The first address; a group's start counts with its name, as
	 * Dovecot sorts it. */
	if (a != NULL && a->mailbox != NULL && a->domain == NULL) {
		str_append(&text, a->mailbox);
	} else if (a != NULL && a->mailbox != NULL) {
		/* The parser fills gaps for ENVELOPE; a sort key has none. */
		const char *mbox = strcmp(a->mailbox, "MISSING_MAILBOX") == 0 ?
			"" : a->mailbox;
		const char *dom = strcmp(a->domain, "MISSING_DOMAIN") == 0 ?
			"" : a->domain;

		if (display && a->name != NULL)
			mime_header_decode(a->name, strlen(a->name), &text);
		if (!display)
			str_append(&text, mbox);
		else if (text.len == 0 && *mbox != '\0')
			str_printf(&text, "%s%s%s", mbox, *dom ? "@" : "", dom);
	}
	mime_casemap(str_c(&text), text.len, out);
	str_release(&text);
	mime_pool_free(&pool);
}

int64_t imap_sort_sent_date(const char *value, int64_t arrival)
{
	time_t t;

	if (value != NULL && imap_date_parse_rfc5322(value, &t))
		return (int64_t)t;
	return arrival;
}

static char *imap_sort_key_str(const char *value, int kind)
{
	struct str out = STR_INIT;

	if (kind == IMAP_SORT_S_SUBJECT)
		(void)imap_base_subject(value, &out);
	else
		imap_sort_addr_key(value, kind >= IMAP_SORT_S_DISPLAYFROM,
				   &out);
	str_reserve(&out, 1);
	return str_steal(&out);
}

void imap_sort_msg_fill(struct imap_sort_msg *msg,
			const struct imap_sort_program *program,
			const struct imap_sort_headers *h)
{
	msg->date = msg->arrival;
	for (unsigned c = 0; c < program->count; c++) {
		int k = -1;
		const char *v = NULL;

		switch (program->crit[c].key) {
		case IMAP_SORT_DATE:
			msg->date = imap_sort_sent_date(h->date, msg->arrival);
			break;
		case IMAP_SORT_SUBJECT:
			k = IMAP_SORT_S_SUBJECT, v = h->subject;
			break;
		case IMAP_SORT_FROM:
			k = IMAP_SORT_S_FROM, v = h->from;
			break;
		case IMAP_SORT_TO:
			k = IMAP_SORT_S_TO, v = h->to;
			break;
		case IMAP_SORT_CC:
			k = IMAP_SORT_S_CC, v = h->cc;
			break;
		case IMAP_SORT_DISPLAYFROM:
			k = IMAP_SORT_S_DISPLAYFROM, v = h->from;
			break;
		case IMAP_SORT_DISPLAYTO:
			k = IMAP_SORT_S_DISPLAYTO, v = h->to;
			break;
		case IMAP_SORT_ARRIVAL:
		case IMAP_SORT_SIZE:
			break;
		}
		if (k >= 0 && msg->keys[k] == NULL)
			msg->keys[k] = imap_sort_key_str(v, k);
	}
}

void imap_sort_msg_release(struct imap_sort_msg *msg)
{
	for (int k = 0; k < IMAP_SORT_S_COUNT; k++) {
		free(msg->keys[k]);
		msg->keys[k] = NULL;
	}
}

static int imap_sort_cmp_num(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int imap_sort_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct imap_sort_msg *a = pa, *b = pb;
	const struct imap_sort_program *program = ctx;
	static const int str_of[] = {
		[IMAP_SORT_CC] = IMAP_SORT_S_CC,
		[IMAP_SORT_FROM] = IMAP_SORT_S_FROM,
		[IMAP_SORT_SUBJECT] = IMAP_SORT_S_SUBJECT,
		[IMAP_SORT_TO] = IMAP_SORT_S_TO,
		[IMAP_SORT_DISPLAYFROM] = IMAP_SORT_S_DISPLAYFROM,
		[IMAP_SORT_DISPLAYTO] = IMAP_SORT_S_DISPLAYTO,
	};

	for (unsigned c = 0; c < program->count; c++) {
		enum imap_sort_key key = program->crit[c].key;
		int r;

		switch (key) {
		case IMAP_SORT_ARRIVAL:
			r = imap_sort_cmp_num(a->arrival, b->arrival);
			break;
		case IMAP_SORT_DATE:
			r = imap_sort_cmp_num(a->date, b->date);
			break;
		case IMAP_SORT_SIZE:
			r = a->size < b->size ? -1 : a->size > b->size;
			break;
		default:
			r = strcmp(a->keys[str_of[key]],
				   b->keys[str_of[key]]);
			break;
		}
		if (r != 0)
			return program->crit[c].reverse ? -r : r;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void imap_sort(struct imap_sort_msg *msgs, size_t n,
	       const struct imap_sort_program *program)
{
	if (n > 1)
		qsort_r(msgs, n, sizeof(*msgs), imap_sort_cmp,
			(void *)program);
}
