/*
 * smtpd_proto: the SMTP session, its command loop and state machine
 * (smtpd.h).
 *
 * One session is: the connection limits (smtpd_limit.c), the 220
 * greeting (unless postscreen sent it: smtpd_session_run_passed), then
 * commands read one line at a time with lio_read_line (at most
 * $line_length_limit octets, at least 512 as RFC 5321 4.5.3.1.4
 * requires), each answered through
 * smtpd_reply. The transaction state is the envelope: MAIL sets the
 * sender, each accepted RCPT adds a recipient, DATA or BDAT stream the
 * content into the queue (smtpd_data.c). Sequence errors get 503 5.5.1,
 * syntax errors 501, unknown commands 502 5.5.2.
 *
 * Command lines: a line longer than the limit is answered at once with
 * 500 5.5.2 "line too long" and the rest of it, up to its LF, is read and
 * thrown away in bounded pieces; a line with a NUL byte gets 500 5.5.2.
 * The session goes on in both cases. A command line may end in a bare LF
 * (accepted like Postfix's "normalize"); bare LFs are refused only in
 * message content, where they matter for SMTP smuggling.
 *
 * STARTTLS (smtpd_tls.c) and AUTH (smtpd_auth.c) are commands like the
 * others; after STARTTLS the session forgets what the client said
 * before (smtpd_session_forget). On a submission service
 * ($smtpd_require_auth) MAIL needs AUTH first, and with
 * $smtpd_tls_security_level = encrypt it needs STARTTLS first.
 *
 * Ending: QUIT, $smtpd_hard_error_limit errors (421 4.7.0), a timeout
 * (421 4.4.2) or the client going away; the disconnect line counts every
 * command the Postfix way ("ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4").
 *
 * SECURITY: this is the pre-authentication parser facing the Internet.
 * It runs as the unprivileged mail owner, possibly chrooted, with the
 * queue's incoming/ as its only writable place. Every read is bounded in
 * size and time, per-session memory is bounded by the line limit and
 * $smtpd_recipient_limit, and no client text reaches a format string.
 */
#include "config.h"

#include <sys/statvfs.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cidr.h"
#include "mem.h"
#include "metrics_client.h"
#include "msg.h"
#include "queue.h"
#include "server.h"
#include "smtpd.h"

typedef void smtpd_handler(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd);

void smtpd_transaction_reset(struct smtpd_session *s)
{
	size_t i;

	if (s->qw != NULL)
		queue_writer_abort(&s->qw);
	if (s->hdr != NULL)
		smtpd_header_free(&s->hdr);
	for (i = 0; i < s->nrcpt; i++) {
		mem_free(s->rcpts[i].address);
		mem_free(s->rcpts[i].orig);
	}
	s->nrcpt = 0;
	s->rcpt_accepted = 0;
	s->in_mail = false;
	s->sender[0] = '\0';
	s->smtputf8 = false;
	s->body = SMTPD_BODY_NONE;
	s->ret = SMTPD_RET_NONE;
	s->envid[0] = '\0';
	s->queue_id[0] = '\0';
	s->bdat = false;
	s->bdat_cr = false;
	s->bdat_last = '\n';
	s->bdat_error = NULL;
	s->bdat_in_header = true;
	s->bdat_line = 0;
	s->bdat_hops = 0;
	s->msg_size = 0;
}

void smtpd_session_forget(struct smtpd_session *s)
{
	smtpd_transaction_reset(s);
	smtpd_auth_reset(s);	/* a plaintext AUTH (tls_auth_only = no) */
	s->helo[0] = '\0';
	s->esmtp = false;
}

const char *smtpd_protocol(const struct smtpd_session *s)
{
	static const char *const names[] = { "ESMTP", "ESMTPS", "ESMTPA",
					     "ESMTPSA" };

	if (!s->esmtp)
		return "SMTP";
	return names[(s->tls != NULL) + 2 * (s->sasl_user != NULL)];
}

void smtpd_io_failed(struct smtpd_session *s, enum lio_status st)
{
	if (st == LIO_TIMEOUT) {
		msg_info("timeout after %s from %s[%s]", s->where,
			 s->client_name, s->client_addr);
		str_clear(&s->line);
		str_printf(&s->line, "421 4.4.2 %s Error: timeout exceeded",
			   s->cfg->myhostname);
		smtpd_reply_raw(s, s->line.data);
	} else {
		msg_info("lost connection after %s from %s[%s]", s->where,
			 s->client_name, s->client_addr);
	}
	s->quit = true;
}

/* ---- Commands ---- */

static bool smtpd_no_args(struct smtpd_session *s,
			  const struct smtpd_cmd *cmd)
{
	if (cmd->args_len == 0)
		return true;
	smtpd_reply(s, "501 5.5.4 Syntax: %s", cmd->name);
	return false;
}

static void smtpd_cmd_helo(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	bool ehlo = cmd->verb == SMTPD_EHLO;
	char name[sizeof(s->helo)];

	if (!smtpd_parse_helo(cmd->args, cmd->args_len, name, sizeof(name))) {
		smtpd_reply(s, "501 5.5.4 Syntax: %s hostname", cmd->name);
		return;
	}
	memcpy(s->helo, name, sizeof(s->helo));
	s->esmtp = ehlo;
	smtpd_transaction_reset(s);
	if (ehlo)
		smtpd_reply_ehlo(s);
	else
		smtpd_reply(s, "250 %s", s->cfg->myhostname);
}

/* Is there room in the queue file system for a message of declared bytes
 * (-1: not declared)? Postfix's rule: free space must be at least
 * queue_minfree and 1.5 times message_size_limit (and the declared
 * size), so a full disk is refused at MAIL, before any data, rather
 * than after DATA. A file system that cannot be asked is not refused. */
static bool smtpd_space_ok(struct smtpd_session *s, long long declared)
{
	struct statvfs sv;
	unsigned long long free_bytes, need;

	if (statvfs(QUEUE_INCOMING, &sv) != 0)
		return true;
	free_bytes = (unsigned long long)sv.f_bavail * sv.f_frsize;
	need = (unsigned long long)s->cfg->queue_minfree;
	if (s->cfg->size_limit > 0 &&
	    need < (unsigned long long)s->cfg->size_limit * 3 / 2)
		need = (unsigned long long)s->cfg->size_limit * 3 / 2;
	/* SIZE= is at most message_size_limit here (checked before), or
	 * any size when there is no limit: keep the product in range. */
	if (declared > 0 && declared < (1LL << 50) &&
	    need < (unsigned long long)declared * 3 / 2)
		need = (unsigned long long)declared * 3 / 2;
	if (free_bytes >= need)
		return true;
	msg_warn("not enough free space in the mail queue: %llu bytes < %llu "
		 "(queue_minfree, 1.5 x message_size_limit or the declared "
		 "SIZE)", free_bytes, need);
	return false;
}

static void smtpd_cmd_mail(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	struct smtpd_mail m;
	struct smtpd_perr err;

	if (s->cfg->helo_required && s->helo[0] == '\0') {
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->in_mail) {
		smtpd_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->cfg->tls_required && s->tls == NULL) {
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->cfg->require_auth && s->sasl_user == NULL) {
		smtpd_reject(s, NULL, "530 5.7.0 Authentication required");
		return;
	}
	if (!smtpd_parse_mail(cmd->args, cmd->args_len, &m, &err)) {
		smtpd_reply(s, "%s", err.reply);
		return;
	}
	if (!m.addr.null && m.addr.domain[0] == '\0') {
		smtpd_reply(s, "501 5.1.7 Bad sender address syntax");
		return;
	}
	if (s->cfg->size_limit > 0 && m.size > s->cfg->size_limit) {
		smtpd_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!smtpd_space_ok(s, m.size)) {
		smtpd_reject(s, NULL, "452 4.3.1 Insufficient system storage");
		return;
	}
	if (s->sasl_user != NULL && !smtpd_auth_check_mail(s, m.addr.text))
		return;
	memcpy(s->sender, m.addr.text, sizeof(s->sender));
	s->smtputf8 = m.smtputf8;
	s->body = m.body;
	s->ret = m.ret;
	memcpy(s->envid, m.envid, sizeof(s->envid));
	s->in_mail = true;
	smtpd_reply(s, "250 2.1.0 Ok");
}

static bool smtpd_rcpt_duplicate(const struct smtpd_session *s,
				 const char *address)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++)
		if (strcmp(s->rcpts[i].address, address) == 0)
			return true;
	return false;
}

static void smtpd_cmd_rcpt(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	struct smtpd_rcpt_arg r;
	struct smtpd_perr err;
	char *address;

	if (!s->in_mail) {
		smtpd_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->qw != NULL || s->bdat) {
		smtpd_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		return;
	}
	/* Every accepted RCPT counts, duplicates too: otherwise a client
	 * could make us route and check without bound. */
	if (s->rcpt_accepted >= (size_t)s->cfg->rcpt_limit) {
		smtpd_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (!smtpd_parse_rcpt(cmd->args, cmd->args_len, s->smtputf8, &r,
			      &err)) {
		smtpd_reply(s, "%s", err.reply);
		return;
	}
	if (!smtpd_check_rcpt(s, &r, &address, &err)) {
		smtpd_reject(s, r.orig, "%s", err.reply);
		return;
	}
	s->rcpt_accepted++;
	if (smtpd_rcpt_duplicate(s, address)) {
		mem_free(address);
	} else {
		if (s->nrcpt == s->rcpt_cap) {
			s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 8;
			s->rcpts = mem_array_realloc(s->rcpts, s->rcpt_cap,
						     sizeof(*s->rcpts));
		}
		s->rcpts[s->nrcpt].address = address;
		s->rcpts[s->nrcpt].orig = mem_strdup(r.orcpt[0] != '\0' ?
						     r.orcpt : r.orig);
		s->rcpts[s->nrcpt].notify = r.notify;
		s->nrcpt++;
	}
	smtpd_reply(s, "250 2.1.5 Ok");
}

static void smtpd_cmd_rset(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	if (!smtpd_no_args(s, cmd))
		return;
	smtpd_transaction_reset(s);
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void smtpd_cmd_noop(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	smtpd_reply(s, "250 2.0.0 Ok");
}

static void smtpd_cmd_vrfy(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	if (cmd->args_len == 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* Never confirm or deny a user (RFC 5321 7.3: no harvesting). */
	smtpd_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message"
		    " and attempt delivery");
}

static void smtpd_cmd_help(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	smtpd_reply(s, "214 2.0.0 Commands: HELO EHLO STARTTLS AUTH MAIL RCPT"
		    " DATA BDAT RSET NOOP QUIT VRFY HELP");
}

static void smtpd_cmd_quit(struct smtpd_session *s,
			   const struct smtpd_cmd *cmd)
{
	if (!smtpd_no_args(s, cmd))
		return;
	smtpd_reply(s, "221 2.0.0 Bye");
	s->quit = true;
}

static void smtpd_cmd_unknown(struct smtpd_session *s,
			      const struct smtpd_cmd *cmd)
{
	smtpd_reply(s, "502 5.5.2 Error: command not recognized");
}

static void smtpd_cmd_forbidden(struct smtpd_session *s,
				const struct smtpd_cmd *cmd)
{
	msg_warn("non-SMTP command from %s[%s]: %.40s", s->client_name,
		 s->client_addr, cmd->name);
	smtpd_reply(s, "221 2.7.0 Error: I can break rules, too. Goodbye.");
	s->quit = true;
}

static smtpd_handler *const smtpd_handlers[SMTPD_VERB_COUNT] = {
	[SMTPD_UNKNOWN] = smtpd_cmd_unknown,
	[SMTPD_HELO] = smtpd_cmd_helo,
	[SMTPD_EHLO] = smtpd_cmd_helo,
	[SMTPD_STARTTLS] = smtpd_cmd_starttls,
	[SMTPD_AUTH] = smtpd_cmd_auth,
	[SMTPD_MAIL] = smtpd_cmd_mail,
	[SMTPD_RCPT] = smtpd_cmd_rcpt,
	[SMTPD_DATA] = smtpd_cmd_data,
	[SMTPD_BDAT] = smtpd_cmd_bdat,
	[SMTPD_RSET] = smtpd_cmd_rset,
	[SMTPD_NOOP] = smtpd_cmd_noop,
	[SMTPD_VRFY] = smtpd_cmd_vrfy,
	[SMTPD_HELP] = smtpd_cmd_help,
	[SMTPD_QUIT] = smtpd_cmd_quit,
	[SMTPD_FORBIDDEN] = smtpd_cmd_forbidden,
};

/* ---- The loop ---- */

/* Past $smtpd_junk_command_limit, each NOOP, VRFY or RSET counts as an
 * error (as in Postfix), so a client cannot hold a process for ever
 * with one harmless command per timeout. */
static void smtpd_count_junk(struct smtpd_session *s, enum smtpd_verb verb)
{
	if (verb != SMTPD_NOOP && verb != SMTPD_VRFY && verb != SMTPD_RSET)
		return;
	if (s->cfg->junk_limit > 0 && ++s->junk > (unsigned)s->cfg->junk_limit)
		s->errors++;
}

static void smtpd_dispatch(struct smtpd_session *s)
{
	struct smtpd_cmd cmd;
	size_t len = s->line.len;
	bool ok;

	while (len > 0 && (s->line.data[len - 1] == '\n' ||
			   s->line.data[len - 1] == '\r'))
		len--;
	if (memchr(s->line.data, '\0', len) != NULL) {
		s->where = "unknown";
		s->counts[SMTPD_UNKNOWN][1]++;
		s->ncommands[1]++;
		smtpd_reply(s, "500 5.5.2 Error: NUL character in command");
		return;
	}
	smtpd_parse_command(s->line.data, len, &cmd);
	if (msg_verbose)
		msg_debug("< %s[%s]: %.*s", s->client_name, s->client_addr,
			  (int)len, s->line.data);
	s->where = cmd.name;
	smtpd_handlers[cmd.verb](s, &cmd);
	smtpd_count_junk(s, cmd.verb);
	ok = s->last_code > 0 && s->last_code < 400;
	s->counts[cmd.verb][0] += ok;
	s->counts[cmd.verb][1]++;
	s->ncommands[0] += ok;
	s->ncommands[1]++;
}

/* The rest of an over-long line, up to its LF, is not a command. */
static enum lio_status smtpd_skip_line(struct smtpd_session *s)
{
	enum lio_status st;

	do {
		st = lio_read_line(s->lio, &s->line, SMTPD_DATA_PIECE);
	} while (st == LIO_TOOLONG);
	if (st == LIO_OK && (s->line.len == 0 ||
			     s->line.data[s->line.len - 1] != '\n'))
		st = LIO_EOF;	/* a partial line at EOF */
	return st;
}

static bool smtpd_read_command(struct smtpd_session *s)
{
	enum lio_status st;

	st = lio_read_line(s->lio, &s->line, s->cfg->line_limit);
	if (st == LIO_TOOLONG) {
		s->counts[SMTPD_UNKNOWN][1]++;
		s->ncommands[1]++;
		smtpd_reply(s, "500 5.5.2 Error: line too long");
		st = smtpd_skip_line(s);
		if (st == LIO_OK)
			return false;
	}
	if (st == LIO_OK && s->line.len > 0 &&
	    s->line.data[s->line.len - 1] != '\n')
		st = LIO_EOF;	/* unterminated command before EOF */
	if (st != LIO_OK) {
		smtpd_io_failed(s, st);
		return false;
	}
	return true;
}

static void smtpd_log_disconnect(struct smtpd_session *s)
{
	struct str line = STR_INIT;
	int v;

	for (v = 1; v < SMTPD_VERB_COUNT; v++) {
		if (s->counts[v][1] == 0 || v == SMTPD_FORBIDDEN)
			continue;
		str_printf(&line, " %s=%u", smtpd_verb_logname(v),
			   s->counts[v][0]);
		if (s->counts[v][0] != s->counts[v][1])
			str_printf(&line, "/%u", s->counts[v][1]);
	}
	v = SMTPD_UNKNOWN;
	s->counts[v][1] += s->counts[SMTPD_FORBIDDEN][1];
	if (s->counts[v][1] > 0)
		str_printf(&line, " unknown=%u/%u", s->counts[v][0],
			   s->counts[v][1]);
	str_printf(&line, " commands=%u", s->ncommands[0]);
	if (s->ncommands[0] != s->ncommands[1])
		str_printf(&line, "/%u", s->ncommands[1]);
	msg_info("disconnect from %s[%s]%s", s->client_name, s->client_addr,
		 line.data);
	str_release(&line);
}

static void smtpd_loop(struct smtpd_session *s)
{
	while (!s->quit) {
		if ((s->cfg->hard_error_limit > 0 || s->stress) &&
		    s->errors >= (s->stress ? 1U :
				  (unsigned)s->cfg->hard_error_limit)) {
			msg_info("too many errors after %s from %s[%s]",
				 s->where, s->client_name, s->client_addr);
			smtpd_reply(s, "421 4.7.0 %s Error: too many errors",
				    s->cfg->myhostname);
			break;
		}
		if (smtpd_read_command(s))
			smtpd_dispatch(s);
	}
	(void)lio_flush(s->lio);
}

/* Numeric peer and local addresses; the peer name only when asked
 * ($smtpd_peername_lookup), never in the way of a fast test run. */
static void smtpd_session_peer(struct smtpd_session *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *p;

	str_snprintf(s->client_addr, sizeof(s->client_addr), "unknown");
	str_snprintf(s->client_name, sizeof(s->client_name), "unknown");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_UNIX) {
			str_snprintf(s->client_addr, sizeof(s->client_addr),
				     "127.0.0.1");
			str_snprintf(s->client_name, sizeof(s->client_name),
				     "localhost");
			s->trusted = true;
			return;
		}
		s->trusted = cidr_list_match_sa(s->cfg->mynetworks,
						(struct sockaddr *)&ss);
		(void)getnameinfo((struct sockaddr *)&ss, len, s->client_addr,
				  sizeof(s->client_addr), NULL, 0,
				  NI_NUMERICHOST);
		p = s->client_addr;
		if (strncmp(p, "::ffff:", 7) == 0 && strchr(p, '.') != NULL)
			memmove(s->client_addr, p + 7, strlen(p + 7) + 1);
		if (s->cfg->peername_lookup &&
		    getnameinfo((struct sockaddr *)&ss, len, s->client_name,
				sizeof(s->client_name), NULL, 0,
				NI_NAMEREQD) != 0)
			str_snprintf(s->client_name, sizeof(s->client_name),
				     "unknown");
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family != AF_UNIX) {
		(void)getnameinfo((struct sockaddr *)&ss, len, s->server_addr,
				  sizeof(s->server_addr), NULL, 0,
				  NI_NUMERICHOST);
		p = s->server_addr;
		if (strncmp(p, "::ffff:", 7) == 0 && strchr(p, '.') != NULL)
			memmove(s->server_addr, p + 7, strlen(p + 7) + 1);
	}
}

/* Read and drop what the client already sent, so that closing the
 * socket sends FIN after our last reply instead of a reset that may
 * destroy the reply in the client's buffer (a client handed over by
 * postscreen has always sent something). Never waits. */
static void smtpd_drain_input(int fd)
{
	char buf[4096];
	int i;

	for (i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

/* The greeting, unless postscreen sent it; in wrapper mode the TLS
 * handshake comes first. False if the session is over. */
static bool smtpd_session_open(struct smtpd_session *s,
			       const struct smtpd_handoff *h)
{
	if (!smtpd_limit_connect(s))
		return false;
	if (s->cfg->tls_wrapper && !smtpd_tls_wrap(s))
		return false;
	if (h == NULL || !h->greeted)
		smtpd_reply(s, "220 %s", s->cfg->banner);
	return true;
}

void smtpd_session_run_passed(const struct smtpd_config *cfg, int fd,
			      const struct smtpd_handoff *h)
{
	struct smtpd_session *s = mem_alloc(sizeof(*s));

	s->cfg = cfg;
	s->fd = fd;
	s->where = "CONNECT";
	smtpd_transaction_reset(s);
	smtpd_session_peer(s, fd);
	s->lio = lio_create(fd, cfg->timeout);
	if (h != NULL && h->input_len > 0 &&
	    !lio_push_input(s->lio, h->input, h->input_len))
		msg_panic("smtpd: %zu bytes of handed-over input do not fit",
			  h->input_len);
	msg_info("connect from %s[%s]", s->client_name, s->client_addr);
	metrics_count("correo_sessions_total", server_service_name != NULL ?
		      server_service_name : "smtpd", 1);
	if (smtpd_session_open(s, h)) {
		smtpd_loop(s);
	} else {
		(void)lio_flush(s->lio);
		smtpd_drain_input(fd);
	}
	smtpd_limit_disconnect(s);
	smtpd_transaction_reset(s);
	smtpd_log_disconnect(s);
	smtpd_tls_end(s);
	smtpd_auth_reset(s);
	lio_free(&s->lio);
	mem_free(s->rcpts);
	str_release(&s->line);
	str_release(&s->buf);
	str_release(&s->hbuf);
	mem_free(s);
}

void smtpd_session_run(const struct smtpd_config *cfg, int fd)
{
	smtpd_session_run_passed(cfg, fd, NULL);
}
