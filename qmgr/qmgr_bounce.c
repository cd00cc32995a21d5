/*
 * qmgr_bounce: delivery status notifications to senders (qmgr.h).
 *
 * At the end of each run of a message, qmgr_bounce_notify queues (as
 * new messages in incoming/, from the null sender <>) up to three
 * notices, each an RFC 3464 report built by qmgr_dsn.c:
 *
 *   failure  the recipients that bounced or expired in this run, unless
 *            they asked NOTIFY=NEVER or a NOTIFY list without FAILURE;
 *   success  recipients with NOTIFY=SUCCESS that were delivered
 *            (Action: delivered) or handed to another MTA over smtp
 *            (Action: relayed: correo cannot tell whether the next hop
 *            will report success itself);
 *   delay    once per message, when it is older than delay_warning_time
 *            and still has recipients to do that did not exclude DELAY.
 *
 * RET=HDRS returns the header only; RET=FULL and failure reports
 * without RET return the whole message if it is at most
 * QMGR_BOUNCE_SIZE_LIMIT bytes (else its header); delay and success
 * reports return the header.
 *
 * Never a bounce for a bounce: a message from <> that fails is reported
 * to bounce_notice_recipient (postmaster) instead, marked with the
 * envelope attribute notice=postmaster; if that notice fails too it is
 * dropped with a log line.
 *
 * The delay warning is remembered in the queue file's mode: the owner
 * execute bit (S_IXUSR) means "warned", so no record has to be
 * rewritten and the mark survives restarts and moves between queue
 * directories.
 *
 * Interface: qmgr_bounce_notify, qmgr_bounce_wanted.
 *
 * SECURITY: the original message is copied as a body part of the
 * notice; header fields of the notice are built from validated
 * envelope addresses and sanitised reasons (qmgr_dsn.c). The recipient
 * is the envelope sender of a message smtpd accepted, or postmaster.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "mem.h"
#include "msg.h"
#include "qmgr.h"

#define QMGR_BOUNCE_SIZE_LIMIT	(50 * 1024)
#define QMGR_BOUNCE_HEADER_MAX	(64 * 1024)
#define QMGR_NOTICE_ATTR	"notice"
#define QMGR_NOTICE_POSTMASTER	"postmaster"

bool qmgr_bounce_wanted(unsigned notify, enum qmgr_dsn_action kind)
{
	if (notify & QUEUE_NOTIFY_NEVER)
		return false;
	switch (kind) {
	case QMGR_DSN_FAILED:
		return notify == 0 || (notify & QUEUE_NOTIFY_FAILURE);
	case QMGR_DSN_DELAYED:
		return notify == 0 || (notify & QUEUE_NOTIFY_DELAY);
	default:
		return (notify & QUEUE_NOTIFY_SUCCESS) != 0;
	}
}

/* The original message's header, at most QMGR_BOUNCE_HEADER_MAX. */
static void qmgr_bounce_orig_header(struct queue_msg *qm, struct str *out)
{
	char buf[8192];
	struct str head = STR_INIT;
	ssize_t n;

	while (head.len < QMGR_BOUNCE_HEADER_MAX &&
	       (n = queue_msg_content_read(qm, (off_t)head.len, buf,
					   sizeof(buf))) > 0) {
		str_append_n(&head, buf, (size_t)n);
		if (strstr(str_c(&head), "\n\n") != NULL)
			break;
	}
	str_truncate(&head, qmgr_dsn_headers_len(head.data, head.len));
	if (head.len > QMGR_BOUNCE_HEADER_MAX)
		str_truncate(&head, QMGR_BOUNCE_HEADER_MAX);
	str_append_n(out, head.data, head.len);
	str_release(&head);
}

/* Fill content with what the notice returns; true if it is all of it. */
static bool qmgr_bounce_content(struct qmgr_msg *m,
				enum qmgr_dsn_action kind, struct str *content)
{
	const char *ret = attr_get(&m->qm->attrs, "ret");
	bool full = kind == QMGR_DSN_FAILED;

	if (ret != NULL && strcasecmp(ret, "HDRS") == 0)
		full = false;
	else if (ret != NULL && strcasecmp(ret, "FULL") == 0)
		full = true;
	if (full && queue_msg_content(m->qm, content,
				      QMGR_BOUNCE_SIZE_LIMIT))
		return true;
	str_clear(content);
	qmgr_bounce_orig_header(m->qm, content);
	return false;
}

/* The per-recipient fields of the reports of kind (DELIVERED covers
 * RELAYED), filtered by each recipient's NOTIFY unless postmaster. */
static size_t qmgr_bounce_rcpts(struct qmgr_msg *m, enum qmgr_dsn_action kind,
				bool postmaster, struct qmgr_dsn_rcpt **out)
{
	size_t n = 0;

	*out = mem_array(m->nreports + 1, sizeof(**out));
	for (size_t i = 0; i < m->nreports; i++) {
		const struct qmgr_report *r = &m->reports[i];
		const struct queue_rcpt *q = &m->qm->rcpts[r->rcpt];
		enum qmgr_dsn_action a = r->action == QMGR_DSN_RELAYED ?
			QMGR_DSN_DELIVERED : r->action;

		if (a != kind ||
		    (!postmaster && !qmgr_bounce_wanted(q->notify, kind)))
			continue;
		(*out)[n].final = r->address;
		(*out)[n].orig = q->orig != NULL && *q->orig != '\0' ?
			q->orig : q->address;
		(*out)[n].action = r->action;
		(*out)[n].status = r->dsn;
		(*out)[n].relay = r->relay;
		(*out)[n].reason = r->reason;
		n++;
	}
	return n;
}

/* The delayed recipients: those still to do after this run. */
static size_t qmgr_bounce_delayed(struct qmgr_msg *m,
				  struct qmgr_dsn_rcpt **out)
{
	size_t n = 0;

	*out = mem_array(m->qm->nrcpt + 1, sizeof(**out));
	for (size_t i = 0; i < m->qm->nrcpt; i++) {
		const struct qmgr_rstate *rs = &m->rs[i];
		const struct queue_rcpt *q = &m->qm->rcpts[i];

		if (q->status != QUEUE_RCPT_TODO || !rs->deferred ||
		    !qmgr_bounce_wanted(q->notify, QMGR_DSN_DELAYED))
			continue;
		(*out)[n].final = rs->defer_address;
		(*out)[n].orig = q->orig != NULL && *q->orig != '\0' ?
			q->orig : q->address;
		(*out)[n].action = QMGR_DSN_DELAYED;
		(*out)[n].status = rs->defer_dsn;
		(*out)[n].relay = rs->defer_relay;
		(*out)[n].reason = rs->defer_reason;
		n++;
	}
	return n;
}

/* "postmaster" -> "postmaster@$myhostname". */
static void qmgr_bounce_qualify(const char *addr, struct str *out)
{
	str_set(out, addr);
	if (strchr(addr, '@') == NULL)
		str_printf(out, "@%s", qmgr.myhostname);
}

/* Write one notice of kind about rcpts to to. */
static bool qmgr_bounce_queue(struct qmgr_msg *m, struct qmgr_dsn *dsn,
			      bool postmaster)
{
	struct queue_writer *w = queue_writer_create();
	struct str text = STR_INIT, content = STR_INIT, boundary = STR_INIT;
	bool ok;

	if (w == NULL)
		return false;
	dsn->full = qmgr_bounce_content(m, dsn->kind, &content);
	dsn->content = content.data != NULL ? content.data : "";
	dsn->content_len = content.len;
	dsn->notice_id = queue_writer_id(w);
	str_printf(&boundary, "%s.%lld/%s", m->qm->id, (long long)dsn->now,
		   qmgr.myhostname);
	dsn->boundary = str_c(&boundary);
	qmgr_dsn_build(dsn, &text);
	queue_writer_sender(w, "");
	queue_writer_attr(w, "protocol", "bounce");
	if (postmaster)
		queue_writer_attr(w, QMGR_NOTICE_ATTR, QMGR_NOTICE_POSTMASTER);
	queue_writer_rcpt(w, dsn->to, NULL, QUEUE_NOTIFY_NEVER);
	ok = queue_writer_content(w, text.data, text.len) &&
		queue_writer_commit(w);
	if (ok) {
		msg_info("%s: %s notification: %s", m->qm->id,
			 postmaster ? "postmaster non-delivery" :
			 dsn->kind == QMGR_DSN_FAILED ?
			 "sender non-delivery" : dsn->kind == QMGR_DSN_DELAYED ?
			 "sender delay" : "sender delivery status",
			 queue_writer_id(w));
		queue_writer_free(&w);
		qmgr_schedule_scan(false, false);
	} else {
		msg_warn("%s: cannot queue notice to <%s>: %m", m->qm->id,
			 dsn->to);
		queue_writer_abort(&w);
	}
	str_release(&text);
	str_release(&content);
	str_release(&boundary);
	return ok;
}

/* A notice of kind to the sender (or, for a failed bounce, to
 * postmaster); true if none was needed or it is queued. */
static bool qmgr_bounce_kind(struct qmgr_msg *m, enum qmgr_dsn_action kind)
{
	struct qmgr_dsn dsn;
	struct qmgr_dsn_rcpt *rcpts;
	struct str to = STR_INIT;
	bool postmaster = *m->qm->sender == '\0', ok = true;
	const char *notice = attr_get(&m->qm->attrs, QMGR_NOTICE_ATTR);
	size_t n;

	if (postmaster && kind != QMGR_DSN_FAILED)
		return true;
	n = kind == QMGR_DSN_DELAYED ? qmgr_bounce_delayed(m, &rcpts) :
		qmgr_bounce_rcpts(m, kind, postmaster, &rcpts);
	if (n > 0 && postmaster && notice != NULL &&
	    strcmp(notice, QMGR_NOTICE_POSTMASTER) == 0) {
		msg_info("%s: undeliverable postmaster notification "
			 "discarded", m->qm->id);
		n = 0;
	}
	if (n > 0) {
		memset(&dsn, 0, sizeof(dsn));
		qmgr_bounce_qualify(postmaster ? qmgr.bounce_notice_rcpt :
				    m->qm->sender, &to);
		dsn.kind = kind;
		dsn.postmaster = postmaster;
		dsn.hostname = qmgr.myhostname;
		dsn.to = str_c(&to);
		dsn.sender = m->qm->sender;
		dsn.queue_id = m->qm->id;
		dsn.envid = attr_get(&m->qm->attrs, "envid");
		dsn.arrival = m->qm->arrival;
		dsn.now = time(NULL);
		dsn.retry_until = m->qm->arrival + qmgr.queue_lifetime;
		dsn.rcpts = rcpts;
		dsn.nrcpt = n;
		ok = qmgr_bounce_queue(m, &dsn, postmaster);
	}
	mem_free(rcpts);
	str_release(&to);
	return ok;
}

/* Was the delay warning sent already? Marks it sent if not. */
static bool qmgr_bounce_warned(struct qmgr_msg *m)
{
	struct stat st;

	if (fstat(m->qm->fd, &st) != 0)
		return true;
	if (st.st_mode & S_IXUSR)
		return true;
	if (fchmod(m->qm->fd, (st.st_mode & 07777) | S_IXUSR) != 0) {
		msg_warn("%s: mark delay warning: %m", m->qm->id);
		return true;
	}
	return false;
}

bool qmgr_bounce_notify(struct qmgr_msg *m, bool expired)
{
	bool ok = qmgr_bounce_kind(m, QMGR_DSN_FAILED);

	if (*m->qm->sender == '\0')
		return ok;
	(void)qmgr_bounce_kind(m, QMGR_DSN_DELIVERED);
	if (!expired && qmgr.delay_warning > 0 &&
	    queue_msg_todo(m->qm) > 0 &&
	    time(NULL) - m->qm->arrival >= qmgr.delay_warning &&
	    !qmgr_bounce_warned(m))
		(void)qmgr_bounce_kind(m, QMGR_DSN_DELAYED);
	return ok;
}
