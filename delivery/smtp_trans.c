/*
 * smtp_trans: one mail transaction (MAIL, RCPT..., DATA, content, ".").
 *
 * Interface: smtp_trans.
 *
 * With PIPELINING every command up to DATA goes out in one write and
 * the replies are read in order afterwards (RFC 2920); without it each
 * command waits for its reply. A refused MAIL FROM gives every
 * recipient its reply; a refused RCPT TO that recipient's; a refused
 * DATA (or "." in SMTP) every accepted recipient's. LMTP (RFC 2033)
 * answers "." once per accepted recipient, in RCPT order. Connection
 * trouble defers every recipient without a final result and marks the
 * session broken. SIZE: a message bigger than the server's announced
 * limit bounces before MAIL FROM (5.3.4), as Postfix does. A reused
 * session's RSET (smtp_session.c) goes first in the pipelined batch; if
 * its reply does not come, or is not 2xx, the session is stale: no
 * recipient gets a result and the caller starts over elsewhere (the
 * server has accepted nothing, as it never confirmed a transaction).
 *
 * SECURITY: the envelope comes from the queue file (written by smtpd
 * from checked addresses); DSN values are xtext-encoded and NOTIFY is
 * checked against its grammar here, so nothing can inject a command.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "smtp.h"

/* RFC 3461 xtext. */
static void smtp_xtext(struct str *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	     p++) {
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=')
			str_printf(out, "+%02X", *p);
		else
			str_append_c(out, (char)*p);
	}
}

static bool smtp_notify_ok(const char *notify)
{
	if (*notify == '\0')
		return false;
	for (const char *p = notify; *p != '\0'; p++)
		if (!isalpha((unsigned char)*p) && *p != ',')
			return false;
	return true;
}

/* No CR, LF or angle brackets in an address we put in a command. */
static bool smtp_addr_ok(const char *addr)
{
	return strpbrk(addr, "\r\n<>") == NULL;
}

static void smtp_send_mail(struct smtp_session *s,
			   const struct smtp_request *req)
{
	struct str cmd = STR_INIT;

	str_printf(&cmd, "MAIL FROM:<%s>", req->sender);
	if ((s->features & SMTP_FEAT_SIZE) && req->size >= 0)
		str_printf(&cmd, " SIZE=%lld", req->size);
	if ((s->features & SMTP_FEAT_8BITMIME) && req->body != NULL &&
	    strcasecmp(req->body, "8BITMIME") == 0)
		str_append(&cmd, " BODY=8BITMIME");
	if (s->features & SMTP_FEAT_DSN) {
		if (req->ret != NULL && (strcasecmp(req->ret, "FULL") == 0 ||
					 strcasecmp(req->ret, "HDRS") == 0))
			str_printf(&cmd, " RET=%s", req->ret);
		if (req->envid != NULL && *req->envid != '\0') {
			str_append(&cmd, " ENVID=");
			smtp_xtext(&cmd, req->envid);
		}
	}
	str_append(&cmd, "\r\n");
	lio_write(s->lio, cmd.data, cmd.len);
	str_release(&cmd);
}

static void smtp_send_rcpt(struct smtp_session *s, const struct smtp_rcpt *r)
{
	struct str cmd = STR_INIT;

	str_printf(&cmd, "RCPT TO:<%s>", r->address);
	if (s->features & SMTP_FEAT_DSN) {
		if (r->notify != NULL && smtp_notify_ok(r->notify))
			str_printf(&cmd, " NOTIFY=%s", r->notify);
		if (r->orcpt != NULL && *r->orcpt != '\0') {
			str_append(&cmd, " ORCPT=rfc822;");
			smtp_xtext(&cmd, r->orcpt);
		}
	}
	str_append(&cmd, "\r\n");
	lio_write(s->lio, cmd.data, cmd.len);
	str_release(&cmd);
}

/* Connection trouble: defer everything still open, break the session. */
static void smtp_trans_trouble(struct smtp_session *s,
			       struct smtp_request *req, enum lio_status st,
			       const char *what)
{
	bool malformed = st == LIO_ERROR && lio_error(s->lio) == LIO_OK;

	s->broken = true;
	if (st == LIO_TIMEOUT)
		smtp_rcpt_all(req, SMTP_DEFER, "4.4.2", "conversation with %s "
			      "timed out while %s", s->peer, what);
	else if (malformed)
		smtp_rcpt_all(req, SMTP_DEFER, "4.4.2", "malformed reply from "
			      "%s while %s", s->peer, what);
	else
		smtp_rcpt_all(req, SMTP_DEFER, "4.4.2", "lost connection with "
			      "%s while %s", s->peer, what);
	msg_info("%s: %s", req->queue_id,
		 str_c(&req->rcpts[req->nrcpt - 1].reason));
}

/* Read one reply; false (and everything deferred) on trouble. */
static bool smtp_trans_read(struct smtp_session *s, struct smtp_request *req,
			    long timeout, struct smtp_reply *reply,
			    const char *what)
{
	enum lio_status st = lio_flush(s->lio);

	if (st == LIO_OK)
		st = smtp_reply_read(s->lio, timeout, reply);
	if (st == LIO_OK)
		return true;
	smtp_trans_trouble(s, req, st, what);
	return false;
}

/* Give r the RCPT reply; count acceptances. */
static void smtp_rcpt_result(struct smtp_session *s, struct smtp_rcpt *r,
			     const struct smtp_reply *reply, size_t *accepted)
{
	if (reply->code / 100 == 2) {
		r->accepted = true;
		(*accepted)++;
	} else {
		smtp_rcpt_reply(r, s, reply, "RCPT TO");
	}
}

/* MAIL refused: every open recipient gets its reply. */
static void smtp_mail_refused(struct smtp_session *s,
			      struct smtp_request *req,
			      const struct smtp_reply *reply)
{
	for (size_t i = 0; i < req->nrcpt; i++)
		if (!req->rcpts[i].done)
			smtp_rcpt_reply(&req->rcpts[i], s, reply, "MAIL FROM");
}

static void smtp_accepted_reply(struct smtp_session *s,
				struct smtp_request *req,
				const struct smtp_reply *reply,
				const char *command)
{
	for (size_t i = 0; i < req->nrcpt; i++)
		if (!req->rcpts[i].done && req->rcpts[i].accepted)
			smtp_rcpt_reply(&req->rcpts[i], s, reply, command);
}

/* After 354: the content, ".", and the final reply or replies. */
static void smtp_trans_content(struct smtp_session *s,
			       struct smtp_request *req,
			       struct smtp_reply *reply)
{
	bool read_error;
	enum lio_status st = smtp_data_send(s, req->msg, &read_error);

	if (read_error) {
		s->broken = true;
		smtp_rcpt_all(req, SMTP_DEFER, "4.3.0", "cannot read the "
			      "queue file: %s", strerror(errno));
		return;
	}
	if (st != LIO_OK) {
		smtp_trans_trouble(s, req, st, "sending message body");
		return;
	}
	if (!smtp_set.lmtp) {
		if (smtp_trans_read(s, req, smtp_set.data_done_timeout, reply,
				    "sending end of data -- message may be "
				    "sent more than once"))
			smtp_accepted_reply(s, req, reply, "end of DATA");
		return;
	}
	for (size_t i = 0; i < req->nrcpt; i++) {
		struct smtp_rcpt *r = &req->rcpts[i];

		if (r->done || !r->accepted)
			continue;
		if (!smtp_trans_read(s, req, smtp_set.data_done_timeout, reply,
				     "sending end of data -- message may be "
				     "sent more than once"))
			return;
		smtp_rcpt_reply(r, s, reply, "end of DATA");
	}
}

/* The reply to the RSET sent in front of MAIL on a reused session: false
 * (s stale and broken, no result given) if the session is gone. */
static bool smtp_trans_rset(struct smtp_session *s, struct smtp_reply *reply)
{
	enum lio_status st = lio_flush(s->lio);

	s->rset_pending = false;
	if (st == LIO_OK)
		st = smtp_reply_read(s->lio, smtp_set.quit_timeout, reply);
	if (st == LIO_OK && reply->code / 100 == 2)
		return true;
	if (msg_verbose)
		msg_debug("cached session with %s is gone", s->relay);
	s->broken = s->stale = true;
	return false;
}

/* Send the envelope; read the replies as pipelining allows. Returns
 * false on connection trouble. *accepted_r counts accepted recipients;
 * *data_r is true if DATA was sent (pipelined) and its reply is in
 * reply. */
static bool smtp_trans_envelope(struct smtp_session *s,
				struct smtp_request *req,
				struct smtp_reply *reply,
				size_t *accepted_r, bool *mail_ok_r)
{
	bool pipe = (s->features & SMTP_FEAT_PIPELINING) != 0;
	bool rset = pipe && s->rset_pending;
	bool mail_ok = true;

	if (rset)
		lio_puts(s->lio, "RSET\r\n");
	smtp_send_mail(s, req);
	if (!pipe) {
		if (!smtp_trans_read(s, req, smtp_set.mail_timeout, reply,
				     "sending MAIL FROM"))
			return false;
		mail_ok = reply->code / 100 == 2;
		if (!mail_ok) {
			smtp_mail_refused(s, req, reply);
			*mail_ok_r = false;
			return true;
		}
	}
	for (size_t i = 0; i < req->nrcpt; i++) {
		if (req->rcpts[i].done)
			continue;
		smtp_send_rcpt(s, &req->rcpts[i]);
		req->rcpts[i].sent = true;
		if (pipe)
			continue;
		if (!smtp_trans_read(s, req, smtp_set.rcpt_timeout, reply,
				     "sending RCPT TO"))
			return false;
		smtp_rcpt_result(s, &req->rcpts[i], reply, accepted_r);
	}
	*mail_ok_r = true;
	if (!pipe)
		return true;
	/* Pipelined: DATA too, then every reply in order. */
	lio_puts(s->lio, "DATA\r\n");
	if (rset && !smtp_trans_rset(s, reply))
		return false;
	if (!smtp_trans_read(s, req, smtp_set.mail_timeout, reply,
			     "sending MAIL FROM"))
		return false;
	mail_ok = reply->code / 100 == 2;
	if (!mail_ok)
		smtp_mail_refused(s, req, reply);
	for (size_t i = 0; i < req->nrcpt; i++) {
		if (!req->rcpts[i].sent)
			continue;
		if (!smtp_trans_read(s, req, smtp_set.rcpt_timeout, reply,
				     "sending RCPT TO"))
			return false;
		/* After a refused MAIL the RCPT replies only drain. */
		if (mail_ok)
			smtp_rcpt_result(s, &req->rcpts[i], reply,
					 accepted_r);
	}
	*mail_ok_r = mail_ok;
	return true;
}

void smtp_trans(struct smtp_session *s, struct smtp_request *req)
{
	struct smtp_reply reply = { 0 };
	bool pipe = (s->features & SMTP_FEAT_PIPELINING) != 0;
	size_t accepted = 0;
	bool mail_ok = false;

	for (size_t i = 0; i < req->nrcpt; i++)
		req->rcpts[i].sent = req->rcpts[i].accepted = false;
	if (s->size_limit > 0 && req->size > s->size_limit) {
		smtp_rcpt_all(req, SMTP_BOUNCE, "5.3.4", "message size %lld "
			      "exceeds size limit %lld of server %s",
			      req->size, s->size_limit, s->peer);
		return;
	}
	if (!smtp_addr_ok(req->sender)) {
		smtp_rcpt_all(req, SMTP_BOUNCE, "5.1.7", "bad sender address");
		return;
	}
	for (size_t i = 0; i < req->nrcpt; i++)
		if (!smtp_addr_ok(req->rcpts[i].address))
			smtp_rcpt_set(&req->rcpts[i], SMTP_BOUNCE, "5.1.3",
				      "bad recipient address");
	if (!smtp_trans_envelope(s, req, &reply, &accepted, &mail_ok))
		goto done;
	if (!pipe && (!mail_ok || accepted == 0))
		goto done;
	if (!pipe)
		lio_puts(s->lio, "DATA\r\n");
	if (!smtp_trans_read(s, req, smtp_set.data_init_timeout, &reply,
			     "sending DATA command"))
		goto done;
	if (reply.code == 354 && accepted == 0) {
		/* A server that takes DATA without recipients: end it. */
		lio_puts(s->lio, ".\r\n");
		(void)smtp_trans_read(s, req, smtp_set.data_done_timeout,
				      &reply, "ending an empty DATA");
	} else if (reply.code == 354) {
		smtp_trans_content(s, req, &reply);
	} else if (accepted > 0) {
		smtp_accepted_reply(s, req, &reply, "DATA");
	}
done:
	smtp_reply_release(&reply);
}
