/*
 * sendmail_smtp: "sendmail -bs", SMTP spoken on standard input and
 * output by a local program (a mail user agent, a script, an MTA-style
 * tool such as a cron wrapper), as Postfix's sendmail -bs does. Each
 * accepted message becomes one maildrop file, exactly like a message
 * given to plain sendmail, so pickup(8) and the rest of the queue see
 * nothing new.
 *
 * Interface: sendmail_smtp_create, sendmail_smtp_free,
 * sendmail_smtp_greeting, sendmail_smtp_line, sendmail_smtp_done
 * (sendmail.h). The state machine is pure (lines in, replies out, one
 * commit callback per message) so that the unit tests drive it
 * directly; tools/sendmail_main.c owns the descriptors and the queue.
 *
 * The dialogue: HELO/EHLO (optional, as with Postfix's default
 * smtpd_helo_required = no), MAIL FROM:<addr> [SIZE=n] [BODY=7BIT|
 * 8BITMIME], RCPT TO:<addr> (at most SENDMAIL_SMTP_RCPT_MAX), DATA with
 * dot-unstuffing, RSET, NOOP, VRFY (252), HELP, QUIT. Addresses go
 * through sendmail_qualify like command-line addresses (a bare user
 * name gets @$myorigin when append_at_myorigin is set). The content is
 * stored as it was sent, Bcc: included (this is SMTP, not "sendmail
 * -t"). Replies follow RFC 5321 with enhanced status codes (RFC 3463).
 *
 * SECURITY: the peer is the invoking user; nothing it sends is trusted
 * beyond what plain sendmail trusts: the queue file's owner (pickup)
 * says who submitted it, whatever MAIL FROM claims, exactly as with
 * -f. Command lines are bounded (SENDMAIL_SMTP_LINE_MAX), messages by
 * message_size_limit (the rest of a too big message is read and
 * dropped), recipients by SENDMAIL_SMTP_RCPT_MAX.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "str.h"

#include "sendmail.h"

struct sendmail_smtp {
	char *hostname;
	char *origin;			/* NULL: no qualification */
	size_t max;			/* 0: no limit */
	sendmail_smtp_commit *commit;
	void *ctx;

	bool have_sender;		/* MAIL was accepted */
	bool in_data;			/* between 354 and "." */
	bool too_big;			/* this message passed max */
	bool quit;
	struct str sender;
	struct sendmail_list rcpts;
	struct str msg;
};

struct sendmail_smtp *sendmail_smtp_create(const char *hostname,
					   const char *origin, size_t max,
					   sendmail_smtp_commit *commit,
					   void *ctx)
{
	struct sendmail_smtp *s = mem_alloc(sizeof(*s));

	s->hostname = mem_strdup(hostname);
	s->origin = origin != NULL ? mem_strdup(origin) : NULL;
	s->max = max;
	s->commit = commit;
	s->ctx = ctx;
	return s;
}

static void sendmail_smtp_reset(struct sendmail_smtp *s)
{
	s->have_sender = false;
	s->in_data = false;
	s->too_big = false;
	str_clear(&s->sender);
	sendmail_list_free(&s->rcpts);
	str_release(&s->msg);
}

void sendmail_smtp_free(struct sendmail_smtp **sp)
{
	struct sendmail_smtp *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	sendmail_smtp_reset(s);
	str_release(&s->sender);
	free(s->hostname);
	free(s->origin);
	free(s);
}

void sendmail_smtp_greeting(struct sendmail_smtp *s, struct str *out)
{
	str_printf(out, "220 %s ESMTP correo (sendmail -bs)\r\n",
		   s->hostname);
}

bool sendmail_smtp_done(const struct sendmail_smtp *s)
{
	return s->quit;
}

/* If line starts with word (case-insensitive) followed by the end, a
 * space or (with colon) ':', the rest after it; else NULL. */
static const char *sendmail_smtp_verb(const char *line, const char *word)
{
	size_t n = strlen(word);

	if (strncasecmp(line, word, n) != 0)
		return NULL;
	if (line[n] == '\0')
		return line + n;
	if (line[n] == ' ')
		return line + n + 1;
	return NULL;
}

/* "FROM:<path> params" after MAIL (or "TO:" after RCPT): the path into
 * path (brackets dropped), the parameters into *params_r. False if the
 * syntax is wrong. */
static bool sendmail_smtp_path(const char *arg, const char *keyword,
			       struct str *path, const char **params_r)
{
	size_t n = strlen(keyword);
	const char *end;

	if (strncasecmp(arg, keyword, n) != 0)
		return false;
	arg += n;
	while (*arg == ' ')
		arg++;
	str_clear(path);
	if (*arg == '<') {
		end = strchr(arg, '>');
		if (end == NULL)
			return false;
		str_append_n(path, arg + 1, (size_t)(end - arg - 1));
		end++;
	} else {
		/* Postfix accepts a path without brackets too. */
		end = arg + strcspn(arg, " ");
		str_append_n(path, arg, (size_t)(end - arg));
	}
	if (*end != '\0' && *end != ' ')
		return false;
	while (*end == ' ')
		end++;
	*params_r = end;
	return true;
}

/* MAIL parameters: SIZE=n (checked against max) and BODY=. 0 ok, else
 * the reply was appended. */
static bool sendmail_smtp_mail_params(struct sendmail_smtp *s,
				      const char *params, struct str *out)
{
	char *copy = mem_strdup(params), *cursor = copy, *word;
	bool ok = true;

	while (ok && (word = str_token(&cursor, " ")) != NULL) {
		if (strncasecmp(word, "SIZE=", 5) == 0) {
			char *end;
			unsigned long long n = strtoull(word + 5, &end, 10);

			if (*end != '\0' || end == word + 5) {
				str_append(out, "501 5.5.4 Bad SIZE "
					   "parameter\r\n");
				ok = false;
			} else if (s->max > 0 && n > s->max) {
				str_append(out, "552 5.3.4 Message size "
					   "exceeds fixed limit\r\n");
				ok = false;
			}
		} else if (strcasecmp(word, "BODY=7BIT") != 0 &&
			   strcasecmp(word, "BODY=8BITMIME") != 0) {
			str_printf(out, "555 5.5.4 Unsupported option: %s\r\n",
				   word);
			ok = false;
		}
	}
	free(copy);
	return ok;
}

static void sendmail_smtp_mail(struct sendmail_smtp *s, const char *arg,
			       struct str *out)
{
	struct str path = STR_INIT;
	const char *params, *error;

	if (s->have_sender) {
		str_append(out, "503 5.5.1 Error: nested MAIL command\r\n");
	} else if (!sendmail_smtp_path(arg, "FROM:", &path, &params)) {
		str_append(out, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
	} else if (!sendmail_qualify(str_c(&path), s->origin, true,
				     &s->sender, &error)) {
		str_printf(out, "501 5.1.7 Bad sender address syntax: %s\r\n",
			   error);
	} else if (sendmail_smtp_mail_params(s, params, out)) {
		s->have_sender = true;
		str_append(out, "250 2.1.0 Ok\r\n");
	}
	str_release(&path);
}

static void sendmail_smtp_rcpt(struct sendmail_smtp *s, const char *arg,
			       struct str *out)
{
	struct str path = STR_INIT, addr = STR_INIT;
	const char *params, *error;

	if (!s->have_sender) {
		str_append(out, "503 5.5.1 Error: need MAIL command\r\n");
	} else if (!sendmail_smtp_path(arg, "TO:", &path, &params)) {
		str_append(out, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
	} else if (*params != '\0') {
		str_printf(out, "555 5.5.4 Unsupported option: %s\r\n",
			   params);
	} else if (!sendmail_qualify(str_c(&path), s->origin, false, &addr,
				     &error)) {
		str_printf(out, "501 5.1.3 Bad recipient address syntax: "
			   "%s\r\n", error);
	} else if (s->rcpts.count >= SENDMAIL_SMTP_RCPT_MAX) {
		str_append(out, "452 4.5.3 Error: too many recipients\r\n");
	} else {
		sendmail_list_add(&s->rcpts, addr.data, addr.len);
		str_append(out, "250 2.1.5 Ok\r\n");
	}
	str_release(&path);
	str_release(&addr);
}

static void sendmail_smtp_ehlo(struct sendmail_smtp *s, bool ehlo,
			       const char *arg, struct str *out)
{
	if (*arg == '\0') {
		str_printf(out, "501 Syntax: %s hostname\r\n",
			   ehlo ? "EHLO" : "HELO");
		return;
	}
	sendmail_smtp_reset(s);
	if (!ehlo) {
		str_printf(out, "250 %s\r\n", s->hostname);
		return;
	}
	str_printf(out, "250-%s\r\n250-PIPELINING\r\n", s->hostname);
	if (s->max > 0)
		str_printf(out, "250-SIZE %zu\r\n", s->max);
	str_append(out, "250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
}

/* The "." that ends DATA: queue the message. */
static void sendmail_smtp_end_data(struct sendmail_smtp *s, struct str *out)
{
	struct str id = STR_INIT;
	const char *error = "unknown error";

	if (s->too_big)
		str_append(out, "552 5.3.4 Error: message file too big\r\n");
	else if (s->commit(s->ctx, str_c(&s->sender), &s->rcpts, &s->msg,
			   &id, &error))
		str_printf(out, "250 2.0.0 Ok: queued as %s\r\n", str_c(&id));
	else
		str_printf(out, "451 4.3.0 Error: queue file write error: "
			   "%s\r\n", error);
	str_release(&id);
	sendmail_smtp_reset(s);
}

static void sendmail_smtp_data_line(struct sendmail_smtp *s,
				    const char *line, size_t len,
				    struct str *out)
{
	if (len == 1 && line[0] == '.') {
		sendmail_smtp_end_data(s, out);
		return;
	}
	if (len > 0 && line[0] == '.') {
		line++;
		len--;
	}
	if (s->too_big)
		return;
	if (s->max > 0 && s->msg.len + len + 1 > s->max) {
		s->too_big = true;
		str_release(&s->msg);
		return;
	}
	str_append_n(&s->msg, line, len);
	str_append_c(&s->msg, '\n');
}

void sendmail_smtp_line(struct sendmail_smtp *s, const char *line,
			size_t len, struct str *out)
{
	char buf[SENDMAIL_SMTP_LINE_MAX + 1];
	const char *arg;

	if (s->quit)
		return;
	if (s->in_data) {
		sendmail_smtp_data_line(s, line, len, out);
		return;
	}
	if (len > SENDMAIL_SMTP_LINE_MAX) {
		str_append(out, "500 5.5.2 Error: line too long\r\n");
		return;
	}
	if (memchr(line, '\0', len) != NULL) {
		str_append(out, "500 5.5.2 Error: NUL byte in command\r\n");
		return;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if ((arg = sendmail_smtp_verb(buf, "EHLO")) != NULL)
		sendmail_smtp_ehlo(s, true, arg, out);
	else if ((arg = sendmail_smtp_verb(buf, "HELO")) != NULL)
		sendmail_smtp_ehlo(s, false, arg, out);
	else if ((arg = sendmail_smtp_verb(buf, "MAIL")) != NULL)
		sendmail_smtp_mail(s, arg, out);
	else if ((arg = sendmail_smtp_verb(buf, "RCPT")) != NULL)
		sendmail_smtp_rcpt(s, arg, out);
	else if ((arg = sendmail_smtp_verb(buf, "DATA")) != NULL) {
		if (*arg != '\0')
			str_append(out, "501 5.5.4 Syntax: DATA\r\n");
		else if (!s->have_sender)
			str_append(out, "503 5.5.1 Error: need MAIL "
				   "command\r\n");
		else if (s->rcpts.count == 0)
			str_append(out, "554 5.5.1 Error: no valid "
				   "recipients\r\n");
		else {
			s->in_data = true;
			str_append(out, "354 End data with "
				   "<CR><LF>.<CR><LF>\r\n");
		}
	} else if (sendmail_smtp_verb(buf, "RSET") != NULL) {
		sendmail_smtp_reset(s);
		str_append(out, "250 2.0.0 Ok\r\n");
	} else if (sendmail_smtp_verb(buf, "NOOP") != NULL) {
		str_append(out, "250 2.0.0 Ok\r\n");
	} else if (sendmail_smtp_verb(buf, "VRFY") != NULL) {
		str_append(out, "252 2.0.0 Send some mail, I'll try my "
			   "best\r\n");
	} else if (sendmail_smtp_verb(buf, "HELP") != NULL) {
		str_append(out, "214 2.0.0 Commands: EHLO HELO MAIL RCPT "
			   "DATA RSET NOOP VRFY HELP QUIT\r\n");
	} else if (sendmail_smtp_verb(buf, "QUIT") != NULL) {
		str_append(out, "221 2.0.0 Bye\r\n");
		s->quit = true;
	} else {
		str_append(out, "502 5.5.2 Error: command not "
			   "recognized\r\n");
	}
}
