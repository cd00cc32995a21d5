/*
 * imapd_sort: SORT and UID SORT (RFC 5256), SORT=DISPLAY (RFC 5957) and
 * ESORT's RETURN (MIN MAX COUNT ALL PARTIAL) (RFC 5267), in the IMAP
 * mail process (imapd.h); and the one function that reads the header
 * values SORT and THREAD need.
 *
 *	SORT [RETURN (opts)] (criteria) charset search-key...
 *
 * The search keys go through the SEARCH program (imapd_search_run); the
 * matching messages get their keys computed once (imap_sort.c) and are
 * sorted.
 * imapd_sort_headers_get() reads the fields from the store's message
 * cache (store_cache_get), the message file only when that fails.
 *
 * SECURITY: runs as the mailbox owner. Header reads stop at the header's
 * end or IMAPD_SORT_HEADER_MAX bytes; header values are parsed by the
 * MIME library.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap_search.h"
#include "imap_sort.h"
#include "imapd.h"
#include "mem.h"
#include "mime.h"

/* Headers beyond this are not read for sort keys (Postfix's default
 * header_size_limit is 100 KiB). */
#define IMAPD_SORT_HEADER_MAX (256 * 1024)

/* The header of uid's file: up to and including the blank line, or the
 * whole file if it has none. The store's message cache has every field
 * a sort or thread key reads (STORE_CACHE_HEADERS, with the blank line
 * when the header has one): from there when it can, so a sort opens no
 * message file. */
static bool imapd_sort_read_header(struct imapd *s, uint32_t uid,
				   struct str *out)
{
	struct str error = STR_INIT;
	size_t scanned = 0;
	ssize_t n;
	int fd;

	switch (store_cache_get(s->folder, uid, STORE_CACHE_HEADERS, out)) {
	case 1:
		return true;
	case 0:
		return false;	/* expunged */
	default:
		str_clear(out);	/* unreadable from there: the file */
		break;
	}
	fd = store_msg_open(s->folder, uid, &error);
	str_release(&error);
	if (fd < 0)
		return false;
	while (out->len < IMAPD_SORT_HEADER_MAX) {
		str_reserve(out, 8192);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		/* Look for the blank line from a little before the new
		 * bytes (it may straddle reads). */
		if (strstr(out->data + (scanned > 3 ? scanned - 3 : 0),
			   "\n\n") != NULL ||
		    strstr(out->data + (scanned > 3 ? scanned - 3 : 0),
			   "\n\r\n") != NULL)
			break;
		scanned = out->len;
	}
	close(fd);
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return true;
}

void imapd_sort_headers_get(struct imapd *s, uint32_t uid, unsigned mask,
			    struct imap_sort_headers *h)
{
	static const char *const names[] = {
		"Date", "Subject", "From", "To", "Cc", "Message-ID",
		"References", "In-Reply-To",
	};
	const char **slots[] = {
		&h->date, &h->subject, &h->from, &h->to, &h->cc,
		&h->message_id, &h->references, &h->in_reply_to,
	};
	struct str raw = STR_INIT, value = STR_INIT;
	struct mime_header_iter it;
	struct mime_field f;
	const char *blank;
	size_t end;

	memset(h, 0, sizeof(*h));
	if (mask == 0 || !imapd_sort_read_header(s, uid, &raw) ||
	    raw.len == 0)
		goto out;
	/* The header ends before its blank line (or at a blank first
	 * line). */
	end = raw.len;
	if (raw.data[0] == '\n' || (raw.data[0] == '\r' &&
				     raw.data[1] == '\n'))
		end = 0;
	else if ((blank = strstr(raw.data, "\n\n")) != NULL ||
		 (blank = strstr(raw.data, "\n\r\n")) != NULL)
		end = (size_t)(blank - raw.data) + 1;
	mime_header_iter_init(&it, raw.data, 0, end);
	while (mime_header_next(&it, &f)) {
		if (!f.has_colon)
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
			if (!(mask & (1u << i)) || *slots[i] != NULL ||
			    strlen(names[i]) != f.name_len ||
			    strncasecmp(names[i], f.name, f.name_len) != 0)
				continue;
			str_clear(&value);
			mime_header_unfold(f.value, f.value_len, &value);
			*slots[i] = mem_strdup(str_c(&value));
		}
	}
out:
	str_release(&raw);
	str_release(&value);
}

void imapd_sort_headers_release(struct imap_sort_headers *h)
{
	free((char *)h->date);
	free((char *)h->subject);
	free((char *)h->from);
	free((char *)h->to);
	free((char *)h->cc);
	free((char *)h->message_id);
	free((char *)h->references);
	free((char *)h->in_reply_to);
	memset(h, 0, sizeof(*h));
}

/* ESORT's RETURN options (RFC 5267 3.2), PARTIAL's range (4.4). */
static bool imapd_sort_return(const struct imap_arg *arg, unsigned *ret_r,
			      uint32_t *lo_r, uint32_t *hi_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN },
		{ "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL },
		{ "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "PARTIAL", IMAP_SEARCH_RETURN_PARTIAL },
		{ "UPDATE", IMAP_SEARCH_RETURN_UPDATE },
	};
	const struct imap_arg *list;
	unsigned count;
	const char *w;
	size_t i;

	*ret_r = 0;
	if (!imap_arg_get_list(arg, &list, &count))
		return false;
	for (; list->type != IMAP_ARG_EOL; list++) {
		if (!imap_arg_get_atom(list, &w))
			return false;
		for (i = 0; i < sizeof(opts) / sizeof(*opts); i++)
			if (strcasecmp(w, opts[i].name) == 0)
				break;
		if (i == sizeof(opts) / sizeof(*opts))
			return false;
		*ret_r |= opts[i].bit;
		if (opts[i].bit == IMAP_SEARCH_RETURN_PARTIAL &&
		    (!imap_arg_get_atom(++list, &w) ||
		     !imap_search_partial_parse(w, lo_r, hi_r)))
			return false;
	}
	/* "RETURN ()" and "RETURN (UPDATE)" return ALL too (RFC 5267 4.2). */
	if ((*ret_r & ~(unsigned)IMAP_SEARCH_RETURN_UPDATE) == 0)
		*ret_r |= IMAP_SEARCH_RETURN_ALL;
	return true;
}

/* "charset key..." after the sort or thread criteria: false with the
 * tagged reply sent. */
bool imapd_sort_criteria(struct imapd *s, const struct imap_cmd *cmd,
			 const struct imap_arg *a,
			 struct imap_search **search_r)
{
	const char *charset, *error = "Invalid search arguments.";

	if (!imap_arg_get_astring(a, &charset)) {
		imapd_tagged(s, cmd->tag, "BAD Missing charset.");
		return false;
	}
	if (strcasecmp(charset, "UTF-8") != 0 &&
	    strcasecmp(charset, "US-ASCII") != 0) {
		imapd_tagged(s, cmd->tag, "NO [BADCHARSET (US-ASCII UTF-8)] "
			     "Unsupported charset.");
		return false;
	}
	if (!imap_search_parse_keys(a + 1, search_r, &error)) {
		imapd_tagged(s, cmd->tag, "BAD %s", error);
		return false;
	}
	return true;
}

/* msgs[lo..hi) as a set in their order: ascending runs as ranges. */
static void imapd_sort_runs(const struct imap_sort_msg *msgs, size_t lo,
			    size_t hi, struct str *out)
{
	for (size_t i = lo, j; i < hi; i = j + 1) {
		for (j = i; j + 1 < hi &&
		     msgs[j + 1].number == msgs[j].number + 1; j++)
			;
		str_printf(out, i == lo ? "%u" : ",%u", msgs[i].number);
		if (j > i)
			str_printf(out, ":%u", msgs[j].number);
	}
}

/* The answer: "* SORT n..." or ESORT's ESEARCH, whose ALL is the sorted
 * numbers as a set in that order (ascending runs as ranges), and
 * PARTIAL the positions lo:hi of it. */
static void imapd_sort_answer(struct imapd *s, const struct imap_cmd *cmd,
			      const struct imap_sort_msg *msgs, size_t n,
			      bool esort, unsigned ret, uint32_t lo,
			      uint32_t hi)
{
	struct str out = STR_INIT;

	if (!esort) {
		str_append(&out, "* SORT");
		for (size_t i = 0; i < n; i++)
			str_printf(&out, " %u", msgs[i].number);
		imapd_printf(s, "%s\r\n", str_c(&out));
		str_release(&out);
		return;
	}
	str_printf(&out, "* ESEARCH (TAG \"%s\")%s", cmd->tag,
		   cmd->uid ? " UID" : "");
	if ((ret & IMAP_SEARCH_RETURN_MIN) && n > 0)
		str_printf(&out, " MIN %u", msgs[0].number);
	if ((ret & IMAP_SEARCH_RETURN_MAX) && n > 0)
		str_printf(&out, " MAX %u", msgs[n - 1].number);
	if (ret & IMAP_SEARCH_RETURN_COUNT)
		str_printf(&out, " COUNT %zu", n);
	if ((ret & IMAP_SEARCH_RETURN_ALL) && n > 0) {
		str_append(&out, " ALL ");
		imapd_sort_runs(msgs, 0, n, &out);
	}
	if (ret & IMAP_SEARCH_RETURN_PARTIAL) {
		str_printf(&out, " PARTIAL (%u:%u ", lo, hi);
		if (lo > n)
			str_append(&out, "NIL");
		else
			imapd_sort_runs(msgs, lo - 1, hi < n ? hi : n, &out);
		str_append_c(&out, ')');
	}
	imapd_printf(s, "%s\r\n", str_c(&out));
	str_release(&out);
}

/* The messages search matches, sorted: msgs[i].seq their sequence
 * numbers, .number those or their UIDs; the count. */
static size_t imapd_sort_msgs(struct imapd *s,
			      const struct imap_sort_program *program,
			      struct imap_search *search, bool uid,
			      struct imap_sort_msg **msgs_r)
{
	unsigned mask = imap_sort_program_headers(program);
	struct imap_sort_msg *msgs;
	uint32_t *idx;
	size_t n = imapd_search_run(s, search, &idx);

	msgs = mem_array(n + 1, sizeof(*msgs));
	for (size_t i = 0; i < n; i++) {
		const struct imapd_view *v = &s->view[idx[i]];
		const struct store_msg *m = store_lookup(s->folder, v->uid,
							 NULL);
		struct imap_sort_headers h;

		msgs[i].seq = idx[i] + 1;
		msgs[i].number = uid ? v->uid : idx[i] + 1;
		msgs[i].arrival = m != NULL ? store_msg_date(s->folder, m) : 0;
		msgs[i].size = m != NULL ? m->vsize : 0;
		imapd_sort_headers_get(s, v->uid, mask, &h);
		imap_sort_msg_fill(&msgs[i], program, &h);
		imapd_sort_headers_release(&h);
	}
	mem_free(idx);
	imap_sort(msgs, n, program);
	*msgs_r = msgs;
	return n;
}

static void imapd_sort_msgs_free(struct imap_sort_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		imap_sort_msg_release(&msgs[i]);
	mem_free(msgs);
}

size_t imapd_sort_run(struct imapd *s, const struct imap_sort_program *program,
		      struct imap_search *search, uint32_t **idx_r)
{
	struct imap_sort_msg *msgs;
	size_t n = imapd_sort_msgs(s, program, search, false, &msgs);
	uint32_t *idx = mem_array(n + 1, sizeof(*idx));

	for (size_t i = 0; i < n; i++)
		idx[i] = msgs[i].seq - 1;
	imapd_sort_msgs_free(msgs, n);
	*idx_r = idx;
	return n;
}

void imapd_cmd_sort(struct imapd *s, const struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->args;
	struct imap_sort_program program;
	struct imap_search *search = NULL, *pristine = NULL;
	struct imap_sort_msg *msgs;
	const char *error;
	unsigned ret = 0;
	uint32_t lo = 0, hi = 0;
	bool esort = false;
	size_t n;

	if (imap_arg_atom_equals(a, "RETURN")) {
		if (!imapd_sort_return(a + 1, &ret, &lo, &hi)) {
			imapd_tagged(s, cmd->tag,
				     "BAD Invalid RETURN options.");
			return;
		}
		esort = true;
		a += 2;
	}
	if (!imap_sort_program_parse(a, &program, &error)) {
		imapd_tagged(s, cmd->tag, "BAD %s.", error);
		return;
	}
	if (!imapd_sort_criteria(s, cmd, a + 1, &search))
		return;
	/* A live sort keeps the keys as given ('*' unresolved). */
	if (ret & IMAP_SEARCH_RETURN_UPDATE)
		pristine = imap_search_dup(search);
	n = imapd_sort_msgs(s, &program, search, cmd->uid, &msgs);
	imap_search_free(&search);
	imapd_sort_answer(s, cmd, msgs, n, esort, ret, lo, hi);
	imapd_sort_msgs_free(msgs, n);
	if (pristine != NULL) {
		(void)imapd_context_add(s, cmd->tag, cmd->uid, pristine,
					&program);
		imap_search_free(&pristine);
	}
	imapd_tagged(s, cmd->tag, "OK Sort completed.");
}
