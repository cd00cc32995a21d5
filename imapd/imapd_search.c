/*
 * imapd_search: SEARCH and UID SEARCH (RFC 3501 6.4.4, RFC 9051), with
 * ESEARCH answers (RFC 4731) and saved results (SEARCHRES, RFC 5182), in
 * the IMAP mail process (imapd.h).
 *
 * Flags, dates, sizes and sets come from the index; header keys read the
 * message's header (RFC 2047 words decoded), BODY and TEXT its text
 * parts with their transfer encoding undone and their charset turned
 * into UTF-8. Comparison is a case-insensitive substring match.
 * Header keys on the fields the store's message cache keeps (FROM, TO,
 * CC, BCC, SUBJECT, SENT*, HEADER Message-ID, ...) read the cached
 * fields, the others the message file.
 * BODY, TEXT and HEADER keys of three characters or more are first put
 * to the folder's full-text index (imapd_fts.c), which answers for the
 * messages it holds exactly and leaves the others to the matcher here.
 * Both sides are compared under i;unicode-casemap (RFC 5051, as Dovecot
 * does): "müller" finds "MÜLLER", and "e" finds "é" (NFKD).
 *
 * SECURITY: runs as the mailbox owner; message files are parsed by the
 * MIME parser with its limits.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap_flags.h"
#include "imap_search.h"
#include "imapd.h"
#include "imapd_fts.h"
#include "mem.h"
#include "mime.h"
#include "msg.h"
#include "store_fts.h"

struct imapd_search_msg {
	struct imapd *s;
	size_t seq;		/* 0-based */
	const struct imapd_view *v;
	const struct store_msg *m;
	struct str raw;
	struct mime_message *mime;
	bool loaded, gone;
	time_t now;		/* WITHIN's reference */
	/* The cached header fields (store_cache_get, STORE_CACHE_HEADERS)
	 * as a message of their own, for header keys. */
	struct str hdr;
	struct mime_message *hdr_mime;
	bool hdr_loaded;
	/* The full-text index's verdicts (imapd_fts.h), or NULL. */
	const struct imapd_fts *fts;
};

static bool imapd_search_load(struct imapd_search_msg *sm);

/* After anything that may have opened the message's file: an open that
 * finds it renamed refreshes the folder, which may move or shift its
 * array (store_msg_open). False if the message is gone. */
static bool imapd_search_relookup(struct imapd_search_msg *sm)
{
	sm->m = store_lookup(sm->s->folder, sm->v->uid, NULL);
	if (sm->m == NULL)
		sm->gone = sm->loaded = true;
	return sm->m != NULL;
}

/* The message to run a key on field (NULL: any field) against: the
 * cached header fields when they hold field, else the message file.
 * NULL if the message is gone. */
static const struct mime_message *imapd_search_header_msg(
	struct imapd_search_msg *sm, const char *field)
{
	if (field != NULL && !sm->loaded &&
	    store_cache_header_cached(field, strlen(field))) {
		if (!sm->hdr_loaded) {
			sm->hdr_loaded = true;
			if (store_cache_get(sm->s->folder, sm->v->uid,
					    STORE_CACHE_HEADERS,
					    &sm->hdr) == 1)
				sm->hdr_mime = mime_parse(str_c(&sm->hdr),
							  sm->hdr.len, NULL);
			if (!imapd_search_relookup(sm))
				return NULL;
		}
		if (sm->hdr_mime != NULL)
			return sm->hdr_mime;
	}
	return imapd_search_load(sm) ? sm->mime : NULL;
}

static bool imapd_search_load(struct imapd_search_msg *sm)
{
	struct str error = STR_INIT;
	ssize_t n;
	int fd;

	if (sm->loaded)
		return !sm->gone;
	sm->loaded = true;
	fd = store_msg_open(sm->s->folder, sm->v->uid, &error);
	str_release(&error);
	if (fd < 0) {
		sm->gone = true;
		return false;
	}
	if (!imapd_search_relookup(sm)) {
		close(fd);
		return false;
	}
	do {
		str_reserve(&sm->raw, 65536);
		n = read(fd, sm->raw.data + sm->raw.len,
			 sm->raw.cap - sm->raw.len - 1);
		if (n > 0)
			sm->raw.len += (size_t)n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	close(fd);
	sm->raw.data[sm->raw.len] = '\0';
	sm->mime = mime_parse(sm->raw.data, sm->raw.len, NULL);
	return true;
}

/* Substring under i;unicode-casemap (mime_casemap, which the full-text
 * index applies too: store_fts_normalize). */
static bool imapd_contains(const char *hay, size_t len, const char *needle)
{
	/* The needle's mapping is kept for the next text (the same key,
	 * thousands of messages); a big text's buffer is not. */
	static struct str mhay = STR_INIT, raw = STR_INIT, mneedle = STR_INIT;
	bool found;

	if (needle[0] == '\0')
		return true;
	if (raw.data == NULL || strcmp(raw.data, needle) != 0) {
		str_set(&raw, needle);
		str_clear(&mneedle);
		mime_casemap(needle, strlen(needle), &mneedle);
	}
	str_clear(&mhay);
	mime_casemap(hay, len, &mhay);
	found = memmem(mhay.data == NULL ? "" : mhay.data, mhay.len,
		       mneedle.data, mneedle.len) != NULL;
	if (mhay.cap > (1u << 20))
		str_release(&mhay);
	return found;
}

static bool imapd_contains_fn(void *ctx, const char *text, size_t len)
{
	return imapd_contains(text, len, ctx);
}

/* Whether a field of part's header (field: only those so called)
 * contains value, as mime_text_header presents them. */
static bool imapd_header_match(const struct mime_message *msg,
			       const struct mime_part *part,
			       const char *field, const char *value)
{
	return mime_text_header(msg, part, field, imapd_contains_fn,
				(void *)value);
}

/* Whether the text of a leaf part (mime_text_body) contains value. */
static bool imapd_body_match(struct imapd_search_msg *sm,
			     const struct mime_part *part, const char *value)
{
	return mime_text_body(sm->mime, part, imapd_contains_fn,
			      (void *)value);
}

/* Days since the epoch of a Date: header's date as written. -1 if it
 * cannot be read. */
static long imapd_sent_day(const struct mime_message *msg)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	struct str value = STR_INIT;
	const char *p;
	long day, year, mon = -1;
	char *end;

	if (mime_header_get(msg, msg->root, "Date", &value) != 1)
		goto fail;
	p = str_c(&value);
	if ((end = strchr(p, ',')) != NULL)
		p = end + 1;
	day = strtol(p, &end, 10);
	if (end == p || day < 1 || day > 31)
		goto fail;
	while (*end == ' ')
		end++;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(end, months + i * 3, 3) == 0)
			mon = i;
	if (mon < 0)
		goto fail;
	year = strtol(end + 3, &end, 10);
	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;
	str_release(&value);
	{
		/* Days from civil (proleptic Gregorian). */
		long y = year - (mon < 2), m = mon + 1;
		long era = (y >= 0 ? y : y - 399) / 400;
		long yoe = y - era * 400;
		long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
		long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		return era * 146097 + doe - 719468;
	}
fail:
	str_release(&value);
	return -1;
}

static bool imapd_key_match(struct imapd_search_msg *sm,
			    const struct imap_search_key *k)
{
	const struct imapd_view *v = sm->v;
	const struct store_msg *m = sm->m;
	struct imapd *s = sm->s;
	const struct mime_message *msg;
	long day, key_day = (long)(k->date / 86400);
	int n;

	if (m == NULL)		/* gone while the keys before read it */
		return false;
	switch (k->type) {
	case IMAP_SEARCH_ALL:
		return true;
	case IMAP_SEARCH_AND:
		for (const struct imap_search_key *c = k->child; c != NULL;
		     c = c->next)
			if (!imapd_key_match(sm, c))
				return false;
		return true;
	case IMAP_SEARCH_OR:
		return imapd_key_match(sm, k->child) ||
		       (k->child != NULL && k->child->next != NULL &&
			imapd_key_match(sm, k->child->next));
	case IMAP_SEARCH_NOT:
		return !imapd_key_match(sm, k->child);
	case IMAP_SEARCH_SEQSET:
		if (k->set.dollar)
			return imap_seqset_contains(&s->saved, v->uid);
		return imap_seqset_contains(&k->set, (uint32_t)sm->seq + 1);
	case IMAP_SEARCH_UID:
		if (k->set.dollar)
			return imap_seqset_contains(&s->saved, v->uid);
		return imap_seqset_contains(&k->set, v->uid);
	case IMAP_SEARCH_FLAG:
		if (k->flag == IMAP_FLAG_RECENT)
			return v->recent;
		return (imapd_flags_from_store(v->flags) & k->flag) != 0;
	case IMAP_SEARCH_KEYWORD:
		for (unsigned i = 0; i < s->folder->nkeywords; i++)
			if (strcasecmp(s->folder->keywords[i], k->value) == 0)
				return (v->keywords & (1ULL << i)) != 0;
		return false;
	case IMAP_SEARCH_BEFORE:
		return store_msg_date(sm->s->folder, m) / 86400 < key_day;
	case IMAP_SEARCH_ON:
		return store_msg_date(sm->s->folder, m) / 86400 == key_day;
	case IMAP_SEARCH_SINCE:
		return store_msg_date(sm->s->folder, m) / 86400 >= key_day;
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		if ((msg = imapd_search_header_msg(sm, "Date")) == NULL)
			return false;
		day = imapd_sent_day(msg);
		if (day < 0)
			return false;
		return k->type == IMAP_SEARCH_SENTBEFORE ? day < key_day :
		       k->type == IMAP_SEARCH_SENTON ? day == key_day :
		       day >= key_day;
	case IMAP_SEARCH_OLDER:
		return store_msg_date(sm->s->folder, m) <=
		       (int64_t)sm->now - (int64_t)k->size;
	case IMAP_SEARCH_YOUNGER:
		return store_msg_date(sm->s->folder, m) >
		       (int64_t)sm->now - (int64_t)k->size;
	case IMAP_SEARCH_MODSEQ:
		return m->modseq >= k->size;
	case IMAP_SEARCH_EMAILID: {
		char id[STORE_OBJECTID_MAX];

		imapd_email_id(s, m, id);
		return strcmp(id, k->value) == 0;
	}
	case IMAP_SEARCH_THREADID:
		return false;	/* no message has one: THREADID is NIL */
	case IMAP_SEARCH_SAVEDBEFORE:
	case IMAP_SEARCH_SAVEDON:
	case IMAP_SEARCH_SAVEDSINCE: {
		int64_t t = imapd_savedate(s, m);

		if (t < 0)
			return false;
		day = (long)(t / 86400);
		return k->type == IMAP_SEARCH_SAVEDBEFORE ? day < key_day :
		       k->type == IMAP_SEARCH_SAVEDON ? day == key_day :
		       day >= key_day;
	}
	case IMAP_SEARCH_SAVEDATESUPPORTED:
		return true;	/* every mailbox keeps save dates */
	case IMAP_SEARCH_LARGER:
		return m->vsize > k->size;
	case IMAP_SEARCH_SMALLER:
		return m->vsize < k->size;
	case IMAP_SEARCH_HEADER:
		if (imapd_fts_verdict(sm->fts, k, sm->seq) == STORE_FTS_NO)
			return false;
		if ((msg = imapd_search_header_msg(sm, k->field)) == NULL)
			return false;
		return imapd_header_match(msg, msg->root, k->field, k->value);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		n = imapd_fts_verdict(sm->fts, k, sm->seq);
		if (n != STORE_FTS_MAYBE)
			return n == STORE_FTS_YES;
		if (!imapd_search_load(sm))
			return false;
		n = k->type == IMAP_SEARCH_TEXT &&
		    imapd_header_match(sm->mime, sm->mime->root, NULL,
				       k->value);
		return n || imapd_body_match(sm, sm->mime->root, k->value);
	}
	return false;
}

/* Resolve '*' in the sets of the tree. */
static void imapd_search_resolve(struct imapd *s, struct imap_search_key *k)
{
	for (; k != NULL; k = k->next) {
		if (k->type == IMAP_SEARCH_SEQSET && !k->set.dollar)
			imap_seqset_resolve(&k->set, (uint32_t)s->nview);
		else if (k->type == IMAP_SEARCH_UID && !k->set.dollar)
			imap_seqset_resolve(&k->set, s->nview == 0 ? 0 :
					    s->view[s->nview - 1].uid);
		imapd_search_resolve(s, k->child);
	}
}

size_t imapd_search_run(struct imapd *s, struct imap_search *search,
			uint32_t **idx_r)
{
	uint32_t *idx = mem_array(s->nview + 1, sizeof(*idx));
	time_t now = time(NULL);
	size_t n = 0;
	struct imapd_fts *fts;

	imapd_search_resolve(s, search->root);
	fts = imapd_fts_prepare(s, search->root);
	for (size_t i = 0; i < s->nview; i++) {
		struct imapd_search_msg sm = { s, i, &s->view[i], NULL,
					       STR_INIT, NULL, false, false,
					       now, STR_INIT, NULL, false,
					       fts };

		if (s->view[i].expunged)
			continue;
		sm.m = store_lookup(s->folder, s->view[i].uid, NULL);
		/* sm.m again after: a key may have found the message gone. */
		if (sm.m != NULL && imapd_key_match(&sm, search->root) &&
		    sm.m != NULL)
			idx[n++] = (uint32_t)i;
		mime_message_free(&sm.mime);
		str_release(&sm.raw);
		mime_message_free(&sm.hdr_mime);
		str_release(&sm.hdr);
	}
	imapd_fts_free(&fts);
	*idx_r = idx;
	return n;
}

/* Whether the tree has a MODSEQ key (RFC 7162 3.1.5: the answer then
 * carries the highest modseq of what it returns). */
static bool imapd_search_modseq(const struct imap_search_key *k)
{
	for (; k != NULL; k = k->next)
		if (k->type == IMAP_SEARCH_MODSEQ ||
		    imapd_search_modseq(k->child))
			return true;
	return false;
}

void imapd_cmd_search(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imap_search *search = NULL;
	struct imap_seqset found = IMAP_SEQSET_INIT;	/* numbers shown */
	struct imap_seqset uids = IMAP_SEQSET_INIT;	/* for SAVE */
	struct str out = STR_INIT;
	const char *error = "Invalid search arguments.";
	struct imap_seqset partial = IMAP_SEQSET_INIT;	/* PARTIAL */
	struct imap_search *pristine = NULL;
	uint32_t min = 0, max = 0, min_uid = 0, max_uid = 0, *idx;
	uint64_t count = 0, ms_all = 0, ms_min = 0, ms_max = 0, ms = 0;
	size_t nmatch;
	bool with_modseq;

	switch (imap_search_parse(cmd->args, &search, &error)) {
	case IMAP_SEARCH_PARSE_OK:
		/* RFC 6855 3: after ENABLE UTF8=ACCEPT the strings are
		 * UTF-8 and a CHARSET conflicts with that. */
		if (s->utf8_accept && search->charset != NULL) {
			imapd_tagged(s, cmd->tag, "BAD CHARSET not allowed "
				     "after ENABLE UTF8=ACCEPT.");
			goto out;
		}
		break;
	case IMAP_SEARCH_PARSE_BADCHARSET:
		if (s->utf8_accept)
			imapd_tagged(s, cmd->tag, "BAD CHARSET not allowed "
				     "after ENABLE UTF8=ACCEPT.");
		else
			imapd_tagged(s, cmd->tag, "NO [BADCHARSET (US-ASCII "
				     "UTF-8)] %s", error);
		goto out;
	default:
		if (search == NULL)
			imap_seqset_clear(&s->saved);
		imapd_tagged(s, cmd->tag, "BAD %s", error);
		goto out;
	}
	/* A live search keeps the keys as given ('*' unresolved). */
	if (search->ret & IMAP_SEARCH_RETURN_UPDATE)
		pristine = imap_search_dup(search);
	with_modseq = imapd_search_modseq(search->root);
	if (with_modseq)
		imapd_condstore_enable(s);
	nmatch = imapd_search_run(s, search, &idx);
	for (size_t j = 0; j < nmatch; j++) {
		size_t i = idx[j];
		uint32_t n = cmd->uid ? s->view[i].uid : (uint32_t)i + 1;
		const struct store_msg *m = store_lookup(s->folder,
							 s->view[i].uid, NULL);
		uint64_t modseq = m != NULL ? m->modseq : 0;

		imap_seqset_add(&found, n);
		imap_seqset_add(&uids, s->view[i].uid);
		if (count++ == 0) {
			min = n;
			min_uid = s->view[i].uid;
			ms_min = modseq;
		}
		max = n;
		max_uid = s->view[i].uid;
		ms_max = modseq;
		if (modseq > ms_all)
			ms_all = modseq;
		if (j + 1 >= search->partial_lo && j + 1 <= search->partial_hi)
			imap_seqset_add(&partial, n);
	}
	mem_free(idx);
	if (search->ret & IMAP_SEARCH_RETURN_SAVE) {
		imap_seqset_clear(&s->saved);
		if (search->ret & (IMAP_SEARCH_RETURN_MIN |
				   IMAP_SEARCH_RETURN_MAX |
				   IMAP_SEARCH_RETURN_ALL |
				   IMAP_SEARCH_RETURN_COUNT) &&
		    !(search->ret & (IMAP_SEARCH_RETURN_ALL |
				     IMAP_SEARCH_RETURN_COUNT))) {
			/* SAVE with MIN/MAX saves just those. */
			if ((search->ret & IMAP_SEARCH_RETURN_MIN) && count)
				imap_seqset_add(&s->saved, min_uid);
			if ((search->ret & IMAP_SEARCH_RETURN_MAX) && count)
				imap_seqset_add(&s->saved, max_uid);
		} else {
			imap_seqset_merge(&s->saved, &uids);
		}
		imap_seqset_normalise(&s->saved);
	}
	/* IMAP4rev2 answers every SEARCH with ESEARCH (RFC 9051 6.4.4). */
	if (s->rev2 && !search->esearch) {
		search->esearch = true;
		search->ret = IMAP_SEARCH_RETURN_ALL;
	}
	if (!search->esearch) {
		str_append(&out, "* SEARCH");
		for (unsigned r = 0; r < found.count; r++)
			for (uint64_t q = found.ranges[r].lo;
			     q <= found.ranges[r].hi; q++)
				str_printf(&out, " %llu",
					   (unsigned long long)q);
		if (with_modseq && count > 0)
			str_printf(&out, " (MODSEQ %llu)",
				   (unsigned long long)ms_all);
		imapd_printf(s, "%s\r\n", str_c(&out));
	} else if (search->ret != IMAP_SEARCH_RETURN_SAVE) {
		unsigned ret = search->ret & ~IMAP_SEARCH_RETURN_SAVE;

		if (ret == 0)
			ret = IMAP_SEARCH_RETURN_ALL;
		str_printf(&out, "* ESEARCH (TAG \"%s\")%s", cmd->tag,
			   cmd->uid ? " UID" : "");
		if ((ret & IMAP_SEARCH_RETURN_MIN) && count > 0)
			str_printf(&out, " MIN %u", min);
		if ((ret & IMAP_SEARCH_RETURN_MAX) && count > 0)
			str_printf(&out, " MAX %u", max);
		if (ret & IMAP_SEARCH_RETURN_COUNT)
			str_printf(&out, " COUNT %llu",
				   (unsigned long long)count);
		if ((ret & IMAP_SEARCH_RETURN_ALL) && count > 0) {
			imap_seqset_normalise(&found);
			str_append(&out, " ALL ");
			imap_seqset_format(&found, &out);
		}
		/* The highest modseq of what is returned: of every match
		 * for ALL and COUNT, else of the MIN and MAX ones. */
		if (ret & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT))
			ms = ms_all;
		else
			ms = (ret & IMAP_SEARCH_RETURN_MIN) ? ms_min : 0;
		if ((ret & IMAP_SEARCH_RETURN_MAX) && ms_max > ms &&
		    !(ret & (IMAP_SEARCH_RETURN_ALL |
			     IMAP_SEARCH_RETURN_COUNT)))
			ms = ms_max;
		if (with_modseq && count > 0)
			str_printf(&out, " MODSEQ %llu",
				   (unsigned long long)ms);
		if (ret & IMAP_SEARCH_RETURN_PARTIAL) {
			str_printf(&out, " PARTIAL (%u:%u ",
				   search->partial_lo, search->partial_hi);
			if (partial.count == 0)
				str_append(&out, "NIL");
			imap_seqset_format(&partial, &out);
			str_append_c(&out, ')');
		}
		imapd_printf(s, "%s\r\n", str_c(&out));
	}
	if (pristine != NULL)
		(void)imapd_context_add(s, cmd->tag, cmd->uid, pristine,
					NULL);
	imapd_tagged(s, cmd->tag, "OK Search completed.");
out:
	imap_search_free(&search);
	imap_search_free(&pristine);
	imap_seqset_release(&partial);
	imap_seqset_release(&found);
	imap_seqset_release(&uids);
	str_release(&out);
}
