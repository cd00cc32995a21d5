/*
 * smtpd_auth: SMTP AUTH (RFC 4954) and the submission policy that
 * follows a login (smtpd.h).
 *
 * Interface: smtpd_auth_init (pre_init), smtpd_auth_offer,
 * smtpd_cmd_auth, smtpd_auth_check_mail, smtpd_auth_sender_ok,
 * smtpd_auth_reset.
 *
 * AUTH is offered when $smtpd_sasl_auth_enable is set, and only on an
 * encrypted connection unless $smtpd_tls_auth_only = no. The mechanisms
 * are $auth_mechanisms. smtpd relays the exchange to the auth service
 * (auth_client.h) without understanding it, in smtpd_auth_exchange: the
 * one place that verifies anything. smtpd itself only checks the
 * base64 of each response, so a garbled line gets 501 5.5.2 at once
 * instead of counting as a failed login. Replies:
 *
 *   235 2.7.0 Authentication successful
 *   334 CHALLENGE                        (base64; "334 " when empty)
 *   501 5.7.0 Authentication aborted     (the client sent "*")
 *   501 5.5.2 Error: cannot decode response
 *   535 5.7.8 Error: authentication failed  (after auth's delay)
 *   454 4.7.0 Temporary authentication failure (auth down, lockout)
 *   503 5.5.1 for AUTH twice or inside a transaction, 504 5.5.4 for a
 *   mechanism not offered, 538 5.7.11 before TLS.
 *
 * After a login the client may relay (smtpd_check.c) and may use as
 * MAIL FROM its login name, the null sender, and any address that
 * $smtpd_sender_login_maps gives it (key: the address, else
 * "@domain"; value: logins separated by commas or spaces). Anything else
 * is 553 5.7.1 Sender address rejected: not owned by user.
 *
 * SECURITY: the exchange carries passwords (PLAIN, LOGIN). They are
 * passed through, never logged, and the line buffer that held them is
 * wiped. Response lines are bounded by SASL_MAX_RESPONSE. Failed logins
 * count as errors, so $smtpd_hard_error_limit ends a guessing session,
 * on top of auth's own delays and lockouts. The sender tables were
 * opened before the privilege drop.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_client.h"
#include "cfg.h"
#include "dict.h"
#include "mem.h"
#include "metrics_client.h"
#include "msg.h"
#include "sasl.h"
#include "server.h"
#include "smtpd.h"

void smtpd_auth_init(struct smtpd_config *c, struct cfg *cfg)
{
	char **maps = cfg_list(cfg, "smtpd_sender_login_maps");
	char *error = NULL;
	size_t i, n = 0;

	c->auth_enable = cfg_bool(cfg, "smtpd_sasl_auth_enable");
	c->auth_tls_only = cfg_bool(cfg, "smtpd_tls_auth_only");
	c->require_auth = cfg_bool(cfg, "smtpd_require_auth");
	c->mechanisms = cfg_list(cfg, "auth_mechanisms");
	if (c->require_auth && !c->auth_enable)
		msg_fatal("smtpd_require_auth = yes needs"
			  " smtpd_sasl_auth_enable = yes");
	if (c->auth_enable)
		c->auth = auth_client_create(NULL, 0);
	while (maps[n] != NULL)
		n++;
	c->sender_login_maps = mem_array(n + 1, sizeof(struct dict *));
	for (i = 0; i < n; i++) {
		c->sender_login_maps[i] = dict_open(maps[i], &error);
		if (c->sender_login_maps[i] == NULL)
			msg_fatal("smtpd_sender_login_maps: %s", error);
	}
}

bool smtpd_auth_offer(const struct smtpd_session *s)
{
	return s->cfg->auth_enable && s->cfg->auth != NULL &&
	       (s->tls != NULL || !s->cfg->auth_tls_only);
}

void smtpd_auth_reset(struct smtpd_session *s)
{
	mem_free(s->sasl_user);
	s->sasl_method[0] = '\0';
}

static bool smtpd_auth_mech_ok(const struct smtpd_session *s,
			       const char *mech)
{
	char **m;

	for (m = s->cfg->mechanisms; *m != NULL; m++)
		if (strcasecmp(*m, mech) == 0)
			return true;
	return false;
}

/* Strict base64 (or "=" for an empty initial response). */
static bool smtpd_auth_b64_ok(const char *text, bool initial)
{
	struct str tmp = STR_INIT;
	size_t len = strlen(text);
	bool ok;

	if (initial && strcmp(text, "=") == 0)
		return true;
	ok = len <= SASL_MAX_RESPONSE && sasl_base64_decode(text, len, &tmp);
	if (tmp.data != NULL)
		explicit_bzero(tmp.data, tmp.cap);
	str_release(&tmp);
	return ok;
}

static void smtpd_auth_wipe(struct smtpd_session *s)
{
	if (s->line.data != NULL)
		explicit_bzero(s->line.data, s->line.cap);
	str_clear(&s->line);
}

/* Send a challenge and read the answer into s->line without its line
 * end. False when the exchange is over (reply sent or session lost). */
static bool smtpd_auth_challenge(struct smtpd_session *s,
				 const char *challenge)
{
	enum lio_status st;
	size_t len;

	smtpd_reply(s, "334 %s", challenge);
	st = lio_read_line(s->lio, &s->line, SASL_MAX_RESPONSE + 2);
	if (st == LIO_TOOLONG) {
		do {
			smtpd_auth_wipe(s);
			st = lio_read_line(s->lio, &s->line, SMTPD_DATA_PIECE);
		} while (st == LIO_TOOLONG);
		if (st == LIO_OK) {
			smtpd_auth_wipe(s);
			smtpd_reply(s, "500 5.5.6 Authentication exchange line"
				    " is too long");
			return false;
		}
	}
	if (st == LIO_OK && (s->line.len == 0 ||
			     s->line.data[s->line.len - 1] != '\n'))
		st = LIO_EOF;
	if (st != LIO_OK) {
		smtpd_auth_wipe(s);
		smtpd_io_failed(s, st);
		return false;
	}
	len = s->line.len;
	while (len > 0 && (s->line.data[len - 1] == '\n' ||
			   s->line.data[len - 1] == '\r'))
		len--;
	s->line.data[len] = '\0';
	s->line.len = len;
	return true;
}

/* Judge a response line before it goes to auth; false with the reply
 * sent if the exchange ends here. */
static bool smtpd_auth_response_ok(struct smtpd_session *s)
{
	bool ok = true;

	if (strcmp(s->line.data, "*") == 0) {
		smtpd_reply(s, "501 5.7.0 Authentication aborted");
		ok = false;
	} else if (!smtpd_auth_b64_ok(s->line.data, false)) {
		smtpd_reply(s, "501 5.5.2 Error: cannot decode response");
		ok = false;
	}
	if (!ok)
		smtpd_auth_wipe(s);
	return ok;
}

/* The whole SASL exchange with the auth service: challenges relayed,
 * responses passed on. Returns the final status with reply filled. */
static enum auth_client_status smtpd_auth_exchange(struct smtpd_session *s,
						   const char *mech,
						   const char *initial,
						   struct auth_client_reply
						   *reply, bool *over_r)
{
	struct auth_client_request req = {
		.service = "smtp",
		.mechanism = mech,
		.initial_response = initial,
		.client_address = s->client_addr,
		.client_name = s->client_name,
	};
	enum auth_client_status st;

	*over_r = false;
	st = auth_client_start(s->cfg->auth, &req, reply);
	while (st == AUTH_CLIENT_CONTINUE) {
		if (!smtpd_auth_challenge(s, reply->challenge) ||
		    !smtpd_auth_response_ok(s)) {
			*over_r = true;
			break;
		}
		st = auth_client_continue(s->cfg->auth, s->line.data, reply);
		smtpd_auth_wipe(s);
	}
	return st;
}

static void smtpd_auth_result(struct smtpd_session *s, const char *mech,
			      enum auth_client_status st,
			      const struct auth_client_reply *reply)
{
	const char *reason = reply->reason != NULL ? reply->reason : "?";
	size_t i;

	if (st == AUTH_CLIENT_OK && reply->user != NULL) {
		s->sasl_user = mem_strdup(reply->user);
		str_snprintf(s->sasl_method, sizeof(s->sasl_method), "%s",
			     mech);
		for (i = 0; s->sasl_method[i] != '\0'; i++)
			s->sasl_method[i] = (char)toupper(
				(unsigned char)s->sasl_method[i]);
		smtpd_reply(s, "235 2.7.0 Authentication successful");
	} else if (st == AUTH_CLIENT_FAIL && !reply->temporary) {
		msg_warn("%s[%s]: SASL %s authentication failed: %s",
			 s->client_name, s->client_addr, mech, reason);
		metrics_count("correo_auth_failures_total",
			      server_service_name, 1);
		smtpd_reply(s, "535 5.7.8 Error: authentication failed");
	} else {
		msg_warn("%s[%s]: SASL %s authentication failed: %s",
			 s->client_name, s->client_addr, mech,
			 st == AUTH_CLIENT_FAIL ? reason : "auth service"
			 " unavailable");
		if (st == AUTH_CLIENT_ERROR)
			msg_warn("auth service: %s", reason);
		smtpd_reply(s, "454 4.7.0 Temporary authentication failure");
	}
}

/* The checks before an exchange; false with the reply sent. */
static bool smtpd_auth_allowed(struct smtpd_session *s)
{
	if (!s->cfg->auth_enable || s->cfg->auth == NULL)
		smtpd_reply(s, "503 5.5.1 Error: authentication not enabled");
	else if (s->helo[0] == '\0')
		smtpd_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
	else if (s->cfg->tls_required && s->tls == NULL)
		smtpd_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
	else if (!smtpd_auth_offer(s))
		smtpd_reply(s, "538 5.7.11 Encryption required for requested"
			    " authentication mechanism");
	else if (s->sasl_user != NULL)
		smtpd_reply(s, "503 5.5.1 Error: already authenticated");
	else if (s->in_mail)
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
	else
		return true;
	return false;
}

void smtpd_cmd_auth(struct smtpd_session *s, const struct smtpd_cmd *cmd)
{
	struct auth_client_reply reply = { 0 };
	enum auth_client_status st;
	char mech[32], *initial = NULL;
	size_t n = 0, i;
	bool over;

	if (!smtpd_auth_allowed(s))
		return;
	while (n < cmd->args_len && cmd->args[n] != ' ')
		n++;
	i = n;
	while (i < cmd->args_len && cmd->args[i] == ' ')
		i++;
	if (n == 0 || n >= sizeof(mech) || memchr(cmd->args + i, ' ',
						  cmd->args_len - i)) {
		smtpd_reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, cmd->args, n);
	mech[n] = '\0';
	if (!smtpd_auth_mech_ok(s, mech)) {
		smtpd_reply(s, "504 5.5.4 Unsupported authentication"
			    " mechanism");
		return;
	}
	if (i < cmd->args_len) {
		initial = mem_strndup(cmd->args + i, cmd->args_len - i);
		if (!smtpd_auth_b64_ok(initial, true)) {
			smtpd_reply(s, "501 5.5.2 Error: cannot decode"
				    " response");
			goto done;
		}
	}
	st = smtpd_auth_exchange(s, mech, initial, &reply, &over);
	if (!over)
		smtpd_auth_result(s, mech, st, &reply);
done:
	if (initial != NULL) {
		explicit_bzero(initial, strlen(initial));
		mem_free(initial);
	}
	auth_client_reply_clear(&reply);
}

/* Is user among the logins of value ("a@x, b@x c@x")? */
static bool smtpd_auth_owner_listed(const char *value, const char *user)
{
	size_t ulen = strlen(user), n;
	const char *p = value;

	while (*p != '\0') {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == ulen && strncasecmp(p, user, n) == 0)
			return true;
		p += n;
	}
	return false;
}

int smtpd_auth_sender_ok(struct smtpd_session *s, const char *sender)
{
	const char *at = strrchr(sender, '@'), *error = NULL;
	struct dict **d;
	int found, k;

	if (sender[0] == '\0' || strcasecmp(sender, s->sasl_user) == 0)
		return 1;
	for (d = s->cfg->sender_login_maps; *d != NULL; d++) {
		for (k = 0; k < 2; k++) {
			if (k == 1 && at == NULL)
				break;
			found = dict_lookup(*d, k == 0 ? sender : at,
					    &s->buf, &error);
			if (found < 0) {
				msg_warn("%s: lookup of %s failed: %s",
					 dict_name(*d), sender,
					 error != NULL ? error : "?");
				return -1;
			}
			if (found > 0)
				return smtpd_auth_owner_listed(s->buf.data,
							       s->sasl_user);
		}
	}
	return 0;
}

bool smtpd_auth_check_mail(struct smtpd_session *s, const char *sender)
{
	int ok = smtpd_auth_sender_ok(s, sender);

	if (ok < 0)
		smtpd_reject(s, NULL, "451 4.3.0 <%s>: Sender address"
			     " rejected: temporary lookup failure", sender);
	else if (ok == 0)
		smtpd_reject(s, NULL, "553 5.7.1 <%s>: Sender address"
			     " rejected: not owned by user %s", sender,
			     s->sasl_user);
	return ok > 0;
}
