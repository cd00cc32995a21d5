/*
 * imapd_thread: THREAD and UID THREAD (RFC 5256 section 3) with the
 * ORDEREDSUBJECT and REFERENCES algorithms, in the IMAP mail process
 * (imapd.h).
 *
 *	THREAD algorithm charset search-key...
 *
 * The search keys go through the SEARCH program; the matching messages'
 * Subject, Date, Message-ID, References and In-Reply-To come from
 * imapd_sort_headers_get(); the threading itself is imap_thread.c's.
 *
 * SECURITY: runs as the mailbox owner; header values are untrusted and
 * handled by imap_thread.c.
 */
#include "config.h"

#include <stdlib.h>

#include "imap_search.h"
#include "imap_sort.h"
#include "imap_thread.h"
#include "imapd.h"
#include "mem.h"

void imapd_cmd_thread(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imap_search *search = NULL;
	struct imap_thread_msg *msgs;
	struct imap_sort_headers *hdrs;
	enum imap_thread_algo algo;
	struct str out = STR_INIT;
	const char *name;
	unsigned mask = IMAP_SORT_H_DATE | IMAP_SORT_H_SUBJECT;
	uint32_t *idx;
	size_t n;

	if (!imap_arg_get_atom(cmd->args, &name) ||
	    !imap_thread_algo_parse(name, &algo)) {
		imapd_tagged(s, cmd->tag, "BAD Unknown thread algorithm.");
		return;
	}
	if (!imapd_sort_criteria(s, cmd, cmd->args + 1, &search))
		return;
	n = imapd_search_run(s, search, &idx);
	imap_search_free(&search);
	if (algo == IMAP_THREAD_REFERENCES)
		mask |= IMAP_SORT_H_MESSAGE_ID | IMAP_SORT_H_REFERENCES |
			IMAP_SORT_H_IN_REPLY_TO;
	msgs = mem_array(n + 1, sizeof(*msgs));
	hdrs = mem_array(n + 1, sizeof(*hdrs));
	for (size_t i = 0; i < n; i++) {
		const struct imapd_view *v = &s->view[idx[i]];
		const struct store_msg *m;

		/* The lookup after the headers: reading them may open the
		 * file and refresh the folder (store_msg_open). */
		imapd_sort_headers_get(s, v->uid, mask, &hdrs[i]);
		m = store_lookup(s->folder, v->uid, NULL);
		msgs[i].seq = idx[i] + 1;
		msgs[i].number = cmd->uid ? v->uid : idx[i] + 1;
		msgs[i].date = imap_sort_sent_date(hdrs[i].date, m != NULL ?
						   store_msg_date(s->folder,
								  m) : 0);
		msgs[i].subject = hdrs[i].subject;
		msgs[i].message_id = hdrs[i].message_id;
		msgs[i].references = hdrs[i].references;
		msgs[i].in_reply_to = hdrs[i].in_reply_to;
	}
	mem_free(idx);
	str_append(&out, "* THREAD");
	if (n > 0)
		str_append_c(&out, ' ');
	imap_thread(msgs, n, algo, &out);
	imapd_printf(s, "%s\r\n", str_c(&out));
	str_release(&out);
	for (size_t i = 0; i < n; i++)
		imapd_sort_headers_release(&hdrs[i]);
	mem_free(hdrs);
	mem_free(msgs);
	imapd_tagged(s, cmd->tag, "OK Thread completed.");
}
