/*
 * smtpd_data: message content from DATA and BDAT into the queue
 * (smtpd.h).
 *
 * The queue file is created when content starts (the envelope is then
 * complete, as queue_writer requires): sender, client attributes, one
 * recipient per accepted RCPT, then our Received: header, then the
 * content as it arrives. Nothing holds a whole message in memory: DATA
 * is read a line (or a SMTPD_DATA_PIECE piece of a longer line) at a
 * time, BDAT chunks in pieces of at most SMTPD_DATA_PIECE octets.
 * Content is stored unstuffed with LF line ends (queue.h).
 *
 * DATA and the end of data (RFC 5321 4.1.1.4, 4.5.2). The only end is a
 * line "." CR LF that follows a line ending in CR LF (or the DATA command
 * itself): the exact CRLF.CRLF sequence. A bare LF does end a line, for
 * storage, but the line after it can never end the data, and a lone CR
 * is just an octet. So "\n.\n", "\r.\n", "\n.\r\n" and "\r\n.\r" never
 * end DATA, in either mode of $smtpd_forbid_bare_newline:
 *
 *   yes (default): a line ending in a bare LF dooms the transaction. The
 *     data is read to its real end (CRLF.CRLF), nothing is stored, and
 *     the client gets 550 5.5.2 "Error: bare <LF> received". Whatever a
 *     smuggler hid after "\n.\n" is swallowed as content of the rejected
 *     message, so no second message can ever start. The session goes on
 *     (unlike Postfix, which hangs up; either is safe, and this way an
 *     honest but sloppy client learns why).
 *   no: the bare LF is a line end like CRLF and the message is kept.
 *
 * Lines longer than 998 octets are stored as they are (as Postfix does).
 * NUL octets in content are accepted and stored (the queue format has
 * explicit lengths; delivery writes bytes); commands with NUL are
 * refused in smtpd_proto.c.
 *
 * BDAT (RFC 3030): chunks are exact octet counts, not dot-stuffed; CRLF
 * becomes LF for storage (a CR at the end of one chunk waits to see the
 * next). A refused chunk is still read to its end, so its bytes can never
 * be taken for commands; a BDAT whose count cannot be parsed (a keyword
 * other than LAST, more than 19 digits, 2^63 or more) ends the session
 * with 421, since where its chunk ends is unknown.
 *
 * Limits: $message_size_limit on the octets received (552 5.3.4 after the
 * end of data, or for the first BDAT chunk past it); more than
 * SMTPD_HOPCOUNT_LIMIT Received: headers is a mail loop (554 5.4.0), with
 * DATA and with BDAT alike (the header may be split between chunks).
 *
 * Submission: when the client authenticated, content passes through
 * smtpd_header.c, which adds Message-ID: and Date: if the header lacks
 * them. The queue file records the login (sasl_method, sasl_username)
 * and the DSN parameters (ret, envid, and per recipient the NOTIFY bits
 * and the ORCPT address).
 *
 * Durability: 250 "Ok: queued as ID" is sent only after
 * queue_writer_commit (fsync, rename into incoming/, fsync of the
 * directory). Then qmgr is woken; a failed wakeup is only logged, since
 * qmgr also scans incoming/ on its own. Before the queue file is
 * created, smtpd takes an inflow token (flow.h), waiting up to
 * $in_flow_delay when qmgr has handed out none.
 *
 * SECURITY: content is untrusted and never interpreted beyond the line
 * structure and two header names; it is written, not parsed. Memory is
 * bounded by SMTPD_DATA_PIECE whatever the message size.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "flow.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "queue.h"
#include "server.h"
#include "smtpd.h"

#define SMTPD_ERR_WRITE	"451 4.3.0 Error: queue file write error"
#define SMTPD_ERR_NOSPACE "452 4.3.1 Insufficient system storage"

/* The reply to a failed queue write: a full file system is 4.3.1 (RFC
 * 3463 "mail system full"), anything else 4.3.0. */
static const char *smtpd_write_reply(int err)
{
	return err == ENOSPC || err == EDQUOT ? SMTPD_ERR_NOSPACE :
		SMTPD_ERR_WRITE;
}
#define SMTPD_ERR_SIZE	"552 5.3.4 Message size exceeds fixed limit"
#define SMTPD_ERR_BARELF "550 5.5.2 Error: bare <LF> received"
#define SMTPD_ERR_HOPS	"554 5.4.0 Error: too many hops"

/* Line state while reading DATA. */
struct smtpd_dstate {
	bool line_start;	/* next piece begins a line */
	bool prev_crlf;		/* the last complete line ended in CRLF */
	bool held_cr;		/* a piece ended in CR; is LF next? */
	bool in_header;
	bool seen_msgid;
	bool bare_lf;
	bool too_big;
	bool write_error;
	int write_errno;
	size_t line_len;	/* octets of the current line so far */
	unsigned hops;
};

static const char *smtpd_body_name(enum smtpd_body body)
{
	switch (body) {
	case SMTPD_BODY_7BIT:
		return "7BIT";
	case SMTPD_BODY_8BITMIME:
		return "8BITMIME";
	case SMTPD_BODY_BINARYMIME:
		return "BINARYMIME";
	default:
		return NULL;
	}
}

static void smtpd_received(struct smtpd_session *s, struct str *h)
{
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	bool v6 = strchr(s->client_addr, ':') != NULL;

	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z (%Z)",
		     &tm) == 0)
		date[0] = '\0';
	str_printf(h, "Received: from %s (%s [%s%s])\n\tby %s (correo) with"
		   " %s id %s", s->helo[0] ? s->helo : s->client_name,
		   s->client_name, v6 ? "IPv6:" : "", s->client_addr,
		   s->cfg->myhostname, smtpd_protocol(s), s->queue_id);
	if (s->nrcpt == 1)
		str_printf(h, "\n\tfor <%s>", s->rcpts[0].address);
	str_printf(h, "; %s\n", date);
}

/* Create the queue file with the envelope and our Received: header. */
static bool smtpd_queue_open(struct smtpd_session *s)
{
	const char *body = smtpd_body_name(s->body);
	size_t i;

	/* Inflow control: while qmgr is behind, pause up to in_flow_delay
	 * for a token, then go on anyway. */
	(void)flow_take(s->cfg->flow_fd, s->cfg->flow_delay_ms);
	s->qw = queue_writer_create();
	if (s->qw == NULL) {
		msg_warn("cannot create queue file: %s", strerror(errno));
		return false;
	}
	str_snprintf(s->queue_id, sizeof(s->queue_id), "%s",
		     queue_writer_id(s->qw));
	queue_writer_sender(s->qw, s->sender);
	queue_writer_attr(s->qw, "client_addr", s->client_addr);
	queue_writer_attr(s->qw, "client_name", s->client_name);
	if (s->helo[0] != '\0')
		queue_writer_attr(s->qw, "helo", s->helo);
	queue_writer_attr(s->qw, "protocol", smtpd_protocol(s));
	if (body != NULL)
		queue_writer_attr(s->qw, "body", body);
	if (s->smtputf8)
		queue_writer_attr(s->qw, "smtputf8", "yes");
	if (smtpd_dsn_ret_name(s->ret) != NULL)
		queue_writer_attr(s->qw, "ret", smtpd_dsn_ret_name(s->ret));
	if (s->envid[0] != '\0')
		queue_writer_attr(s->qw, "envid", s->envid);
	if (s->sasl_user != NULL) {
		queue_writer_attr(s->qw, "sasl_method", s->sasl_method);
		queue_writer_attr(s->qw, "sasl_username", s->sasl_user);
		s->hdr = smtpd_header_create(s->cfg->myhostname, s->queue_id);
	}
	for (i = 0; i < s->nrcpt; i++)
		queue_writer_rcpt(s->qw, s->rcpts[i].address,
				  s->rcpts[i].orig, s->rcpts[i].notify);
	if (s->sasl_user != NULL)
		msg_info("%s: client=%s[%s], sasl_method=%s, sasl_username=%s",
			 s->queue_id, s->client_name, s->client_addr,
			 s->sasl_method, s->sasl_user);
	else
		msg_info("%s: client=%s[%s]", s->queue_id, s->client_name,
			 s->client_addr);
	str_clear(&s->buf);
	smtpd_received(s, &s->buf);
	if (!queue_writer_content(s->qw, s->buf.data, s->buf.len)) {
		msg_warn("%s: queue file write error: %s", s->queue_id,
			 strerror(errno));
		queue_writer_abort(&s->qw);
		return false;
	}
	return true;
}

/* Store content octets (LF line ends), through the header fixer of
 * submitted mail. */
static bool smtpd_store(struct smtpd_session *s, const char *p, size_t n)
{
	if (s->hdr == NULL)
		return queue_writer_content(s->qw, p, n);
	str_clear(&s->hbuf);
	smtpd_header_feed(s->hdr, p, n, &s->hbuf);
	return queue_writer_content(s->qw, s->hbuf.data, s->hbuf.len);
}

/* The end of submitted content: what the header fixer still owes. */
static bool smtpd_store_end(struct smtpd_session *s)
{
	if (s->hdr == NULL)
		return true;
	str_clear(&s->hbuf);
	smtpd_header_finish(s->hdr, &s->hbuf);
	return queue_writer_content(s->qw, s->hbuf.data, s->hbuf.len);
}

/* Commit and answer, or refuse with error; either way the transaction
 * is over. */
static void smtpd_queue_finish(struct smtpd_session *s, const char *error)
{
	s->where = "END-OF-MESSAGE";
	if (error == NULL && !smtpd_store_end(s)) {
		error = smtpd_write_reply(errno);
		msg_warn("%s: queue file write error: %m", s->queue_id);
	}
	if (error == NULL && !queue_writer_commit(s->qw)) {
		error = smtpd_write_reply(errno);
		msg_warn("%s: queue file commit: %m", s->queue_id);
	}
	if (error != NULL) {
		smtpd_reject(s, NULL, "%s", error);
	} else {
		queue_writer_free(&s->qw);
		smtpd_reply(s, "250 2.0.0 Ok: queued as %s", s->queue_id);
		if (!server_trigger_kept(QUEUE_PRIVATE "/qmgr",
					 PROTO_TRIGGER_SCAN))
			msg_warn("%s: cannot wake up qmgr: %s", s->queue_id,
				 strerror(errno));
	}
	smtpd_transaction_reset(s);
}

/* Store content octets, counting them against the size limit. */
static void smtpd_data_write(struct smtpd_session *s, struct smtpd_dstate *d,
			     const char *p, size_t n)
{
	if (d->too_big || d->write_error || (d->bare_lf &&
					     s->cfg->forbid_bare_lf))
		return;
	s->msg_size += n;
	if (s->cfg->size_limit > 0 &&
	    s->msg_size > (unsigned long long)s->cfg->size_limit) {
		d->too_big = true;
		return;
	}
	if (!smtpd_store(s, p, n)) {
		d->write_errno = errno;
		msg_warn("%s: queue file write error: %s", s->queue_id,
			 strerror(errno));
		d->write_error = true;
	}
}

/* Look at the start of a header line: count hops, log the message-id. */
static void smtpd_data_header(struct smtpd_session *s, struct smtpd_dstate *d,
			      const char *p, size_t n)
{
	size_t i, end;

	if (n >= 9 && strncasecmp(p, "Received:", 9) == 0) {
		d->hops++;
	} else if (!d->seen_msgid && n >= 11 &&
		   strncasecmp(p, "Message-ID:", 11) == 0) {
		d->seen_msgid = true;
		for (i = 11; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
			;
		for (end = i; end < n && (unsigned char)p[end] > ' ' &&
		     (unsigned char)p[end] < 0x7f && end - i < 250; end++)
			;
		if (end > i)
			msg_info("%s: message-id=%.*s", s->queue_id,
				 (int)(end - i), p + i);
	}
}

static void smtpd_data_line_end(struct smtpd_session *s,
				struct smtpd_dstate *d, bool crlf)
{
	if (!crlf)
		d->bare_lf = true;
	if (d->in_header && d->line_len == 0)
		d->in_header = false;
	smtpd_data_write(s, d, "\n", 1);
	d->line_start = true;
	d->prev_crlf = crlf;
	d->line_len = 0;
}

/* One piece from lio_read_line: a whole line (ends in LF) or, when
 * partial, the first or a middle part of a long one. True at the end of
 * data. */
static bool smtpd_data_piece(struct smtpd_session *s, struct smtpd_dstate *d,
			     const char *p, size_t n, bool partial)
{
	bool crlf;

	if (d->held_cr) {
		d->held_cr = false;
		if (n == 1 && p[0] == '\n') {
			smtpd_data_line_end(s, d, true);
			return false;
		}
		smtpd_data_write(s, d, "\r", 1);
		d->line_len++;
	}
	if (d->line_start) {
		if (d->prev_crlf && n == 3 && memcmp(p, ".\r\n", 3) == 0)
			return true;
		if (d->in_header)
			smtpd_data_header(s, d, p, n);
		if (n > 0 && p[0] == '.') {
			p++;
			n--;
		}
		d->line_start = false;
	}
	if (partial) {
		if (n > 0 && p[n - 1] == '\r') {
			d->held_cr = true;
			n--;
		}
		smtpd_data_write(s, d, p, n);
		d->line_len += n;
		return false;
	}
	crlf = n >= 2 && p[n - 2] == '\r';
	n -= crlf ? 2 : 1;
	smtpd_data_write(s, d, p, n);
	d->line_len += n;
	smtpd_data_line_end(s, d, crlf);
	return false;
}

static const char *smtpd_data_verdict(const struct smtpd_session *s,
				      const struct smtpd_dstate *d)
{
	if (d->write_error)
		return smtpd_write_reply(d->write_errno);
	if (d->bare_lf && s->cfg->forbid_bare_lf)
		return SMTPD_ERR_BARELF;
	if (d->too_big)
		return SMTPD_ERR_SIZE;
	if (d->hops > SMTPD_HOPCOUNT_LIMIT)
		return SMTPD_ERR_HOPS;
	return NULL;
}

/* Read content up to the end of data; false if the client went away. */
static bool smtpd_data_read(struct smtpd_session *s, struct smtpd_dstate *d)
{
	enum lio_status st;

	for (;;) {
		st = lio_read_line(s->lio, &s->line, SMTPD_DATA_PIECE);
		if (st == LIO_OK && s->line.data[s->line.len - 1] != '\n')
			st = LIO_EOF;	/* unterminated line, then EOF */
		if (st != LIO_OK && st != LIO_TOOLONG) {
			smtpd_io_failed(s, st);
			return false;
		}
		if (smtpd_data_piece(s, d, s->line.data, s->line.len,
				     st == LIO_TOOLONG))
			return true;
	}
}

void smtpd_cmd_data(struct smtpd_session *s, const struct smtpd_cmd *cmd)
{
	struct smtpd_dstate d = { .line_start = true, .prev_crlf = true,
				  .in_header = true };

	if (cmd->args_len > 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (!s->in_mail) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->nrcpt == 0) {
		smtpd_reply(s, "503 5.5.1 Error: need RCPT command");
		return;
	}
	if (s->bdat) {
		smtpd_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if (s->body == SMTPD_BODY_BINARYMIME) {
		smtpd_reply(s, "503 5.5.1 Error: BINARYMIME requires BDAT");
		return;
	}
	if (!smtpd_queue_open(s)) {
		smtpd_reply(s, "%s", smtpd_write_reply(errno));
		return;
	}
	smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	if (!smtpd_data_read(s, &d))
		return;
	if (d.bare_lf && s->cfg->forbid_bare_lf)
		msg_warn("%s: disallowed bare <LF> received from %s[%s]",
			 s->queue_id, s->client_name, s->client_addr);
	smtpd_queue_finish(s, smtpd_data_verdict(s, &d));
}

/* ---- BDAT ---- */

/* Count Received: fields in the header of BDAT content (LF line ends),
 * which may be split anywhere between chunks: the same mail loop
 * protection as DATA's. */
static void smtpd_bdat_header(struct smtpd_session *s, const char *p,
			      size_t n)
{
	static const char rcvd[] = "Received:";
	const size_t want = sizeof(rcvd) - 1;
	size_t i;

	for (i = 0; i < n && s->bdat_in_header; i++) {
		if (p[i] == '\n') {
			s->bdat_in_header = s->bdat_line > 0;
			s->bdat_line = 0;
			continue;
		}
		if (s->bdat_line < want)
			s->bdat_field[s->bdat_line] = p[i];
		if (s->bdat_line > want)
			continue;
		if (++s->bdat_line == want &&
		    strncasecmp(s->bdat_field, rcvd, want) == 0)
			s->bdat_hops++;
	}
}

static bool smtpd_bdat_put(struct smtpd_session *s, const char *p, size_t n)
{
	if (n == 0)
		return true;
	if (s->bdat_in_header)
		smtpd_bdat_header(s, p, n);
	s->bdat_last = p[n - 1];
	return smtpd_store(s, p, n);
}

/* Store one piece of a chunk, CRLF -> LF. */
static bool smtpd_bdat_store(struct smtpd_session *s, const char *p,
			     size_t n)
{
	const char *cr;
	size_t start = 0, i;

	if (s->bdat_cr) {
		s->bdat_cr = false;
		if ((n == 0 || p[0] != '\n') && !smtpd_bdat_put(s, "\r", 1))
			return false;
	}
	while ((cr = memchr(p + start, '\r', n - start)) != NULL) {
		i = (size_t)(cr - p);
		if (i + 1 == n) {
			s->bdat_cr = true;
			return smtpd_bdat_put(s, p + start, i - start);
		}
		if (!smtpd_bdat_put(s, p + start,
				    i - start + (p[i + 1] != '\n')))
			return false;
		start = i + 1;
	}
	return smtpd_bdat_put(s, p + start, n - start);
}

/* Read the chunk's n octets, storing them unless error is set. */
static bool smtpd_bdat_read(struct smtpd_session *s, unsigned long long n,
			    const char **error)
{
	enum lio_status st;
	size_t piece;

	while (n > 0) {
		piece = n > SMTPD_DATA_PIECE ? SMTPD_DATA_PIECE : (size_t)n;
		str_clear(&s->line);
		st = lio_read_exact(s->lio, &s->line, piece);
		if (st != LIO_OK) {
			smtpd_io_failed(s, st);
			return false;
		}
		n -= piece;
		if (*error == NULL && !smtpd_bdat_store(s, s->line.data,
							piece)) {
			*error = s->bdat_error = smtpd_write_reply(errno);
			msg_warn("%s: queue file write error: %m",
				 s->queue_id);
		}
	}
	return true;
}

/* Before reading a chunk: may it be stored? NULL if so. */
static const char *smtpd_bdat_check(struct smtpd_session *s,
				    unsigned long long n)
{
	unsigned long long limit = (unsigned long long)s->cfg->size_limit;

	if (!s->in_mail)
		return "503 5.5.1 Error: need MAIL command";
	if (s->nrcpt == 0)
		return "503 5.5.1 Error: need RCPT command";
	if (s->bdat_error != NULL)
		return s->bdat_error;
	if (!s->bdat) {
		s->bdat = true;
		if (!smtpd_queue_open(s))
			return s->bdat_error = smtpd_write_reply(errno);
	}
	s->msg_size += n;
	if (limit > 0 && (n > limit || s->msg_size > limit)) {
		queue_writer_abort(&s->qw);
		return s->bdat_error = SMTPD_ERR_SIZE;
	}
	return NULL;
}

void smtpd_cmd_bdat(struct smtpd_session *s, const struct smtpd_cmd *cmd)
{
	unsigned long long n;
	struct smtpd_perr err;
	const char *error;
	bool last;

	if (!smtpd_parse_bdat(cmd->args, cmd->args_len, &n, &last, &err)) {
		/* The octets that follow cannot be told from commands. */
		smtpd_reject(s, NULL, "%s", err.reply);
		smtpd_transaction_reset(s);
		s->quit = true;
		return;
	}
	error = smtpd_bdat_check(s, n);
	if (!smtpd_bdat_read(s, n, &error))
		return;
	if (error != NULL) {
		if (!s->bdat)
			smtpd_reply(s, "%s", error);
		else if (last)
			smtpd_queue_finish(s, error);
		else
			smtpd_reject(s, NULL, "%s", error);
		return;
	}
	if (!last) {
		smtpd_reply(s, "250 2.0.0 Ok: %llu bytes", n);
		return;
	}
	if (s->bdat_hops > SMTPD_HOPCOUNT_LIMIT)
		error = SMTPD_ERR_HOPS;
	if (error == NULL && s->bdat_cr && !smtpd_bdat_put(s, "\r", 1))
		error = SMTPD_ERR_WRITE;
	/* The queue stores whole lines. */
	if (error == NULL && s->bdat_last != '\n' &&
	    !smtpd_bdat_put(s, "\n", 1))
		error = SMTPD_ERR_WRITE;
	smtpd_queue_finish(s, error);
}
