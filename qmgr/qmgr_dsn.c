/*
 * qmgr_dsn: the text of a delivery status notification (qmgr.h), an
 * RFC 3464 multipart/report built from a struct qmgr_dsn, with no I/O,
 * so the unit tests can check every header, boundary and field.
 *
 * The report has three parts: a human-readable text/plain explanation
 * that lists "<recipient>: reason" (what Postfix users grep for), the
 * message/delivery-status part (per-message fields, then one group of
 * per-recipient fields each), and the original message: its header as
 * text/rfc822-headers, or the whole of it as message/rfc822 (RET=FULL
 * and, by default, failure reports that are small enough).
 *
 * Interface: qmgr_dsn_build, qmgr_dsn_diagnostic, qmgr_dsn_remote_mta,
 * qmgr_dsn_date, qmgr_dsn_headers_len.
 *
 * SECURITY: reasons come from remote servers (through the smtp agent)
 * and addresses from clients (validated by smtpd). Every value that goes
 * into a header field is cut at the first control character, so a CR or
 * LF in a reply cannot add header fields or parts; the original message
 * goes only into the last body part, after a boundary that contains the
 * queue ID and time.
 */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#include "qmgr.h"

/* Append s up to its first control character (header-safe). */
static void qmgr_dsn_field(struct str *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			break;
		str_append_c(out, (char)c);
	}
}

void qmgr_dsn_date(struct str *out, time_t t)
{
	char buf[64];
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		buf[0] = '\0';
	str_append(out, buf);
}

bool qmgr_dsn_diagnostic(const char *reason, struct str *out)
{
	const char *said = strstr(reason, " said: ");
	const char *end;

	str_clear(out);
	if (said == NULL) {
		str_append(out, "X-Correo; ");
		qmgr_dsn_field(out, reason);
		return false;
	}
	said += strlen(" said: ");
	end = strstr(said, " (in reply to ");
	str_append(out, "smtp; ");
	if (end == NULL)
		end = said + strlen(said);
	for (const char *p = said; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			break;
		str_append_c(out, (char)c);
	}
	return true;
}

bool qmgr_dsn_remote_mta(const char *relay, struct str *out)
{
	size_t n;

	str_clear(out);
	if (relay == NULL || *relay == '\0' || strcmp(relay, "none") == 0 ||
	    strcmp(relay, "local") == 0)
		return false;
	n = strcspn(relay, "[:");
	if (n == 0)
		return false;
	str_append(out, "dns; ");
	str_append_n(out, relay, n);
	return true;
}

size_t qmgr_dsn_headers_len(const char *content, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (content[i] == '\n' && content[i + 1] == '\n')
			return i + 1;
	if (len > 0 && content[0] == '\n')
		return 0;
	return len;
}

static const char *qmgr_dsn_action_name(enum qmgr_dsn_action a)
{
	switch (a) {
	case QMGR_DSN_FAILED:
		return "failed";
	case QMGR_DSN_DELAYED:
		return "delayed";
	case QMGR_DSN_DELIVERED:
		return "delivered";
	case QMGR_DSN_RELAYED:
		return "relayed";
	}
	return "failed";
}

static const char *qmgr_dsn_subject(const struct qmgr_dsn *d)
{
	switch (d->kind) {
	case QMGR_DSN_FAILED:
		return d->postmaster ? "Postmaster Copy: Undelivered Mail" :
			"Undelivered Mail Returned to Sender";
	case QMGR_DSN_DELAYED:
		return "Delayed Mail (still being retried)";
	default:
		return "Successful Mail Delivery Report";
	}
}

static void qmgr_dsn_header(const struct qmgr_dsn *d, struct str *out)
{
	str_printf(out, "From: MAILER-DAEMON@%s (Mail Delivery System)\n",
		   d->hostname);
	str_append(out, "To: <");
	qmgr_dsn_field(out, d->to);
	str_append(out, ">\nSubject: ");
	str_append(out, qmgr_dsn_subject(d));
	str_append(out, "\nDate: ");
	qmgr_dsn_date(out, d->now);
	str_printf(out, "\nMessage-ID: <%s@%s>\n", d->notice_id, d->hostname);
	str_append(out, "Auto-Submitted: auto-replied\n"
		   "MIME-Version: 1.0\n"
		   "Content-Type: multipart/report; "
		   "report-type=delivery-status;\n\tboundary=\"");
	str_append(out, d->boundary);
	str_append(out, "\"\nContent-Transfer-Encoding: 8bit\n\n"
		   "This is a MIME-encapsulated message.\n\n");
}

static void qmgr_dsn_intro(const struct qmgr_dsn *d, struct str *out)
{
	str_printf(out, "This is the mail system at host %s.\n\n",
		   d->hostname);
	switch (d->kind) {
	case QMGR_DSN_FAILED:
		str_append(out, "I'm sorry to have to inform you that your "
			   "message could not\nbe delivered to one or more "
			   "recipients. It's attached below.\n\n"
			   "For further assistance, please send mail to "
			   "postmaster.\n\nIf you do so, please include this "
			   "problem report. You can\ndelete your own text "
			   "from the attached returned message.\n\n");
		break;
	case QMGR_DSN_DELAYED:
		str_append(out, "####################################"
			   "####################\n# THIS IS A WARNING "
			   "ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. "
			   "#\n####################################"
			   "####################\n\nYour message could not "
			   "be delivered for ");
		str_printf(out, "%ld hour(s).\nIt will be retried until it "
			   "is %ld day(s) old.\n\n",
			   (long)((d->now - d->arrival) / 3600),
			   (long)((d->retry_until - d->arrival + 43200) /
				  86400));
		break;
	default:
		str_append(out, "Your message was successfully delivered to "
			   "the destination(s)\nlisted below. If the message "
			   "was delivered to mailbox you will\nreceive no "
			   "further notifications. Otherwise you may still "
			   "receive\nnotifications of mail delivery errors "
			   "from other systems.\n\n");
		break;
	}
	str_append(out, "                   The mail system\n");
}

static void qmgr_dsn_human(const struct qmgr_dsn *d, struct str *out)
{
	str_printf(out, "--%s\nContent-Description: Notification\n"
		   "Content-Type: text/plain; charset=us-ascii\n\n",
		   d->boundary);
	qmgr_dsn_intro(d, out);
	for (size_t i = 0; i < d->nrcpt; i++) {
		const struct qmgr_dsn_rcpt *r = &d->rcpts[i];

		str_append(out, "\n<");
		qmgr_dsn_field(out, r->final);
		str_append(out, ">");
		if (r->orig != NULL && strcasecmp(r->orig, r->final) != 0) {
			str_append(out, " (expanded from <");
			qmgr_dsn_field(out, r->orig);
			str_append(out, ">)");
		}
		str_append(out, ": ");
		qmgr_dsn_field(out, r->reason);
		str_append(out, "\n");
	}
	str_append(out, "\n");
}

static void qmgr_dsn_rcpt_fields(const struct qmgr_dsn *d,
				 const struct qmgr_dsn_rcpt *r,
				 struct str *out)
{
	struct str tmp = STR_INIT;

	str_append(out, "\n");
	if (r->orig != NULL && *r->orig != '\0') {
		str_append(out, "Original-Recipient: rfc822; ");
		qmgr_dsn_field(out, r->orig);
		str_append(out, "\n");
	}
	str_append(out, "Final-Recipient: rfc822; ");
	qmgr_dsn_field(out, r->final);
	str_printf(out, "\nAction: %s\nStatus: ", qmgr_dsn_action_name(
			   r->action));
	qmgr_dsn_field(out, r->status);
	str_append(out, "\n");
	if (qmgr_dsn_remote_mta(r->relay, &tmp))
		str_printf(out, "Remote-MTA: %s\n", str_c(&tmp));
	if (r->reason != NULL && *r->reason != '\0') {
		(void)qmgr_dsn_diagnostic(r->reason, &tmp);
		str_printf(out, "Diagnostic-Code: %s\n", str_c(&tmp));
	}
	if (r->action == QMGR_DSN_DELAYED && d->retry_until > 0) {
		str_append(out, "Will-Retry-Until: ");
		qmgr_dsn_date(out, d->retry_until);
		str_append(out, "\n");
	}
	str_release(&tmp);
}

static void qmgr_dsn_status(const struct qmgr_dsn *d, struct str *out)
{
	str_printf(out, "--%s\nContent-Description: Delivery report\n"
		   "Content-Type: message/delivery-status\n\n", d->boundary);
	if (d->envid != NULL && *d->envid != '\0') {
		str_append(out, "Original-Envelope-Id: ");
		qmgr_dsn_field(out, d->envid);
		str_append(out, "\n");
	}
	str_printf(out, "Reporting-MTA: dns; %s\nX-Correo-Queue-ID: %s\n",
		   d->hostname, d->queue_id);
	str_append(out, "X-Correo-Sender: rfc822; ");
	qmgr_dsn_field(out, d->sender);
	str_append(out, "\nArrival-Date: ");
	qmgr_dsn_date(out, d->arrival);
	str_append(out, "\n");
	for (size_t i = 0; i < d->nrcpt; i++)
		qmgr_dsn_rcpt_fields(d, &d->rcpts[i], out);
	str_append(out, "\n");
}

static bool qmgr_dsn_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

static void qmgr_dsn_original(const struct qmgr_dsn *d, struct str *out)
{
	size_t len = d->content_len;

	if (!d->full)
		len = qmgr_dsn_headers_len(d->content, d->content_len);
	str_printf(out, "--%s\nContent-Description: %s\n"
		   "Content-Type: %s\n", d->boundary,
		   d->full ? "Undelivered Message" : "Undelivered Message "
		   "Headers", d->full ? "message/rfc822" :
		   "text/rfc822-headers");
	if (qmgr_dsn_8bit(d->content, len))
		str_append(out, "Content-Transfer-Encoding: 8bit\n");
	str_append(out, "\n");
	str_append_n(out, d->content, len);
	if (len > 0 && d->content[len - 1] != '\n')
		str_append(out, "\n");
	str_printf(out, "\n--%s--\n", d->boundary);
}

void qmgr_dsn_build(const struct qmgr_dsn *d, struct str *out)
{
	qmgr_dsn_header(d, out);
	qmgr_dsn_human(d, out);
	qmgr_dsn_status(d, out);
	qmgr_dsn_original(d, out);
}
