/*
 * smtpd_reply: replies to the SMTP client and reject log lines (smtpd.h).
 *
 * Replies are queued on the session's lio and go out when the session
 * is about to wait for the client (lio flushes before a read blocks), so
 * the answers to a pipelined batch (RFC 2920) leave in order and in one
 * write. Every reply carries an enhanced status code (RFC 3463), as
 * Postfix sends them whether or not the client said EHLO.
 *
 * Error accounting lives here: each 4xx/5xx reply counts against the
 * client; past $smtpd_soft_error_limit each error reply waits
 * $smtpd_error_sleep_time first (tarpitting), and the command loop hangs
 * up at $smtpd_hard_error_limit.
 *
 * SECURITY: reply text is built by smtpd from static strings and parsed,
 * validated addresses; client text is never used as a format string.
 * Log lines quote addresses the parser already restricted to printable
 * characters (or validated UTF-8 under SMTPUTF8).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"
#include "smtpd.h"
#include "tls.h"

static void smtpd_reply_line(struct smtpd_session *s, const char *text,
			     size_t len)
{
	int code = atoi(text);

	if (code >= 400) {
		s->errors++;
		if (s->cfg->soft_error_limit > 0 && s->cfg->error_sleep > 0 &&
		    s->errors > (unsigned)s->cfg->soft_error_limit) {
			(void)lio_flush(s->lio);
			sleep((unsigned)s->cfg->error_sleep);
		}
	}
	s->last_code = code;
	lio_write(s->lio, text, len);
	lio_write(s->lio, "\r\n", 2);
	if (msg_verbose)
		msg_debug("> %s[%s]: %.*s", s->client_name, s->client_addr,
			  (int)len, text);
}

void smtpd_reply(struct smtpd_session *s, const char *fmt, ...)
{
	va_list ap;

	str_clear(&s->buf);
	va_start(ap, fmt);
	str_vprintf(&s->buf, fmt, ap);
	va_end(ap);
	smtpd_reply_line(s, s->buf.data, s->buf.len);
}

void smtpd_reject(struct smtpd_session *s, const char *to,
		  const char *fmt, ...)
{
	va_list ap;

	str_clear(&s->buf);
	va_start(ap, fmt);
	str_vprintf(&s->buf, fmt, ap);
	va_end(ap);
	msg_info("%s: reject: %s from %s[%s]: %s; from=<%s>%s%s%s proto=%s"
		 " helo=<%s>",
		 s->queue_id[0] != '\0' ? s->queue_id : "NOQUEUE", s->where,
		 s->client_name, s->client_addr, s->buf.data,
		 s->in_mail ? s->sender : "", to != NULL ? " to=<" : "",
		 to != NULL ? to : "", to != NULL ? ">" : "",
		 s->esmtp ? "ESMTP" : "SMTP", s->helo);
	smtpd_reply_line(s, s->buf.data, s->buf.len);
}

void smtpd_reply_raw(struct smtpd_session *s, const char *text)
{
	struct str line = STR_INIT;

	str_printf(&line, "%s\r\n", text);
	/* The socket may be full or gone: one attempt, never block. Under
	 * TLS the reply is a TLS record: plaintext would only garble the
	 * client's stream. */
	if (s->tls != NULL) {
		if (!tls_conn_write_final(s->tls, line.data, line.len) &&
		    msg_verbose)
			msg_debug("final reply not sent over TLS");
	} else if (send(s->fd, line.data, line.len,
			MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && msg_verbose) {
		msg_debug("final reply not sent: %s", strerror(errno));
	}
	str_release(&line);
}

void smtpd_reply_ehlo(struct smtpd_session *s)
{
	lio_printf(s->lio, "250-%s\r\n250-PIPELINING\r\n", s->cfg->myhostname);
	if (s->cfg->size_limit > 0)
		lio_printf(s->lio, "250-SIZE %lld\r\n", s->cfg->size_limit);
	else
		lio_puts(s->lio, "250-SIZE\r\n");
	if (smtpd_tls_offer(s))
		lio_puts(s->lio, "250-STARTTLS\r\n");
	if (smtpd_auth_offer(s)) {
		lio_puts(s->lio, "250-AUTH");
		for (char **m = s->cfg->mechanisms; *m != NULL; m++)
			lio_printf(s->lio, " %s", *m);
		lio_puts(s->lio, "\r\n");
	}
	lio_puts(s->lio, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
		 "250-DSN\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n");
	s->last_code = 250;
}
