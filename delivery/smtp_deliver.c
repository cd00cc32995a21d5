/*
 * smtp_deliver: one request from start to results: a session for the
 * next hop (cached or new), the transaction, and the session handed back
 * to the cache; a cached session found gone by its RSET is replaced.
 *
 * Interface: smtp_deliver, smtp_rcpt_all, smtp_rcpt_set, smtp_rcpt_reply.
 *
 * Every recipient ends with exactly one final result; the first result
 * set on a recipient wins (later ones are ignored), so the error paths
 * can simply "defer everything still open".
 *
 * SECURITY: see smtp_session.c and smtp_trans.c; nothing here reads
 * network input directly.
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "msg.h"
#include "smtp.h"

static void smtp_rcpt_vset(struct smtp_rcpt *r, enum smtp_status status,
			   const char *dsn, const char *fmt, va_list ap)
{
	if (r->done)
		return;
	r->done = true;
	r->status = status;
	if (!str_snprintf(r->dsn, sizeof(r->dsn), "%s", dsn))
		memcpy(r->dsn, status == SMTP_BOUNCE ? "5.0.0" : "4.0.0", 6);
	str_clear(&r->reason);
	str_vprintf(&r->reason, fmt, ap);
}

void smtp_rcpt_set(struct smtp_rcpt *r, enum smtp_status status,
		   const char *dsn, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_rcpt_vset(r, status, dsn, fmt, ap);
	va_end(ap);
}

void smtp_rcpt_all(struct smtp_request *req, enum smtp_status status,
		   const char *dsn, const char *fmt, ...)
{
	va_list ap;

	for (size_t i = 0; i < req->nrcpt; i++) {
		va_start(ap, fmt);
		smtp_rcpt_vset(&req->rcpts[i], status, dsn, fmt, ap);
		va_end(ap);
	}
}

void smtp_rcpt_reply(struct smtp_rcpt *r, const struct smtp_session *s,
		     const struct smtp_reply *reply, const char *command)
{
	enum smtp_status st = smtp_reply_status(reply);

	if (st == SMTP_OK)
		smtp_rcpt_set(r, st, reply->dsn, "%s", str_c(&reply->text));
	else
		smtp_rcpt_set(r, st, reply->dsn, "host %s said: %s (in reply "
			      "to %s command)", s->peer, str_c(&reply->text),
			      command);
}

/* A stale session (its pipelined RSET failed) came from the cache and is
 * closed now, so the loop ends: at worst on a new session. */
void smtp_deliver(struct smtp_request *req)
{
	struct smtp_session *s;
	bool stale;

	do {
		str_set(&req->relay, "none");
		s = smtp_session_get(req);
		if (s == NULL)
			return;
		str_set(&req->relay, s->relay);
		smtp_trans(s, req);
		stale = s->stale;
		if (!stale)
			smtp_rcpt_all(req, SMTP_DEFER, "4.3.0", "internal "
				      "error: no result from %s", s->peer);
		smtp_session_release(s);
	} while (stale);
}
