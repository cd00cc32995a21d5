/*
 * qmgr_bounce: a plain-text non-delivery notice to the sender (qmgr.h).
 *
 * XXX: the relay issue replaces this with an RFC 3464 multipart/report
 * DSN. For now the notice lists each failed recipient with its reason
 * and quotes the original header. It is sent with the null sender, so a
 * bounce is never bounced (qmgr_msg_finish never calls us for one).
 *
 * Interface: qmgr_bounce_send.
 *
 * SECURITY: the original header is copied as text into the body of the
 * notice, never into its header; the recipient is the envelope sender of
 * a message smtpd accepted.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "qmgr.h"

#define QMGR_BOUNCE_HEADER_MAX (64 * 1024)

/* The original message's header, at most QMGR_BOUNCE_HEADER_MAX. */
static void qmgr_bounce_orig_header(struct queue_msg *qm, struct str *out)
{
	char buf[8192];
	struct str head = STR_INIT;
	const char *end;
	ssize_t n;

	while (head.len < QMGR_BOUNCE_HEADER_MAX &&
	       (n = queue_msg_content_read(qm, (off_t)head.len, buf,
					   sizeof(buf))) > 0) {
		str_append_n(&head, buf, (size_t)n);
		if (strstr(str_c(&head), "\n\n") != NULL)
			break;
	}
	end = strstr(str_c(&head), "\n\n");
	if (end != NULL)
		str_truncate(&head, (size_t)(end - head.data) + 1);
	else if (head.len > QMGR_BOUNCE_HEADER_MAX)
		str_truncate(&head, QMGR_BOUNCE_HEADER_MAX);
	str_append_n(out, head.data, head.len);
	str_release(&head);
}

static void qmgr_bounce_text(struct qmgr_msg *m, struct str *text,
			     const char *bounce_id)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z",
		     &tm) == 0)
		date[0] = '\0';
	str_printf(text,
		   "From: MAILER-DAEMON@%s (Mail Delivery System)\n"
		   "To: <%s>\n"
		   "Subject: Undelivered Mail Returned to Sender\n"
		   "Date: %s\n"
		   "Message-ID: <%s@%s>\n"
		   "Auto-Submitted: auto-replied\n"
		   "MIME-Version: 1.0\n"
		   "Content-Type: text/plain; charset=us-ascii\n"
		   "\n"
		   "This is the mail system at host %s.\n\n"
		   "I'm sorry to have to inform you that your message could"
		   " not\nbe delivered to one or more recipients.\n\n"
		   "%s\n"
		   "--- The header of the original message (queue ID %s)"
		   " ---\n\n",
		   qmgr.myhostname, m->qm->sender, date, bounce_id,
		   qmgr.myhostname, qmgr.myhostname, str_c(&m->bounces),
		   m->qm->id);
	qmgr_bounce_orig_header(m->qm, text);
}

bool qmgr_bounce_send(struct qmgr_msg *m)
{
	struct queue_writer *w = queue_writer_create();
	struct str text = STR_INIT;
	bool ok;

	if (w == NULL)
		return false;
	queue_writer_sender(w, "");
	queue_writer_attr(w, "protocol", "bounce");
	queue_writer_rcpt(w, m->qm->sender, NULL, 0);
	qmgr_bounce_text(m, &text, queue_writer_id(w));
	ok = queue_writer_content(w, text.data, text.len) &&
		queue_writer_commit(w);
	if (ok)
		msg_info("%s: sender non-delivery notification: %s",
			 m->qm->id, queue_writer_id(w));
	if (ok)
		queue_writer_free(&w);
	else
		queue_writer_abort(&w);
	str_release(&text);
	if (ok)
		qmgr_schedule_scan(false, false);
	return ok;
}
