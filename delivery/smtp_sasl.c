/*
 * smtp_sasl: the smtp client authenticating to a server (RFC 4954), as
 * Postfix's smtp_sasl_auth_enable does for a relayhost that wants a
 * login.
 *
 * Interface: smtp_sasl_auth, smtp_sasl_plain, smtp_sasl_choose
 * (smtp.h).
 *
 * After EHLO (the one after STARTTLS, when TLS is used) the tables of
 * smtp_sasl_password_maps are searched for the next hop exactly as
 * given ("[mail.isp.example]:587", "example.com") and then for the
 * server's host name; the value is "user:password" (split at the first
 * colon). No entry: the session goes on without AUTH. Credentials but
 * no TLS session: the delivery defers, whatever the server offers (a
 * server that offers AUTH only after STARTTLS would otherwise get an
 * unauthenticated MAIL and bounce it). Over TLS, a server that offers
 * no AUTH: the session goes on without it (Postfix does the same; the
 * server then decides). Mechanisms: PLAIN, then LOGIN, or the
 * order of smtp_sasl_mechanism_filter.
 *
 * Failures, as Postfix reports them: "SASL authentication failed;
 * server H[A] said: 535 5.7.8 ..." defers on 4xx and, because
 * smtp_sasl_auth_soft_bounce is yes by default, on 5xx too (a wrong
 * password should not bounce a day's mail); with it set to no a 5xx
 * bounces. A server that offers none of our mechanisms defers (4.7.0).
 *
 * SECURITY: credentials are sent only over TLS: with credentials for a
 * server and no TLS session the delivery defers (4.7.0) and nothing is
 * sent; there is no opt-in for plain text. Use smtp_tls_security_level
 * = encrypt (or verify) for the relayhost so that a missing STARTTLS is
 * found before. Passwords never reach the log; the copies made here are
 * wiped after use. The server's challenges are not interpreted (LOGIN's
 * prompts are fixed by the mechanism).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "sasl.h"
#include "smtp.h"

void smtp_sasl_plain(struct str *out, const char *user, const char *pass)
{
	struct str raw = STR_INIT;

	str_append_c(&raw, '\0');
	str_append(&raw, user);
	str_append_c(&raw, '\0');
	str_append(&raw, pass);
	str_clear(out);
	sasl_base64_encode(out, raw.data, raw.len);
	explicit_bzero(raw.data, raw.len);
	str_release(&raw);
}

/* Whether the space-separated list offered holds mech. */
static bool smtp_sasl_offered(const char *offered, const char *mech)
{
	size_t len = strlen(mech);
	const char *p = offered;

	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n == len && strncasecmp(p, mech, len) == 0)
			return true;
		p += n;
	}
	return false;
}

const char *smtp_sasl_choose(const char *offered, char *const *filter)
{
	static const char *const ours[] = { "PLAIN", "LOGIN", NULL };

	if (offered == NULL)
		return NULL;
	if (filter == NULL || filter[0] == NULL) {
		for (size_t i = 0; ours[i] != NULL; i++)
			if (smtp_sasl_offered(offered, ours[i]))
				return ours[i];
		return NULL;
	}
	for (size_t i = 0; filter[i] != NULL; i++)
		for (size_t j = 0; ours[j] != NULL; j++)
			if (strcasecmp(filter[i], ours[j]) == 0 &&
			    smtp_sasl_offered(offered, ours[j]))
				return ours[j];
	return NULL;
}

/* "user:password" for s: 1 found, 0 none, -1 table error (why set). */
static int smtp_sasl_lookup(const struct smtp_session *s, struct str *value,
			    struct str *why)
{
	const char *keys[2] = { s->key, s->host };
	const char *error;

	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < smtp_set.nsasl_passwd; i++) {
			int ret = dict_lookup(smtp_set.sasl_passwd[i],
					      keys[k], value, &error);

			if (ret > 0)
				return 1;
			if (ret < 0) {
				str_printf(why, "smtp_sasl_password_maps lookup"
					   " of %s: %s", keys[k], error);
				return -1;
			}
		}
	}
	return 0;
}

/* Send line (a secret: never logged) and read the reply. */
static bool smtp_sasl_say(struct smtp_session *s, const char *line,
			  struct smtp_reply *reply)
{
	lio_printf(s->lio, "%s\r\n", line);
	if (lio_flush(s->lio) == LIO_OK &&
	    smtp_reply_read(s->lio, smtp_set.helo_timeout, reply) == LIO_OK)
		return true;
	s->broken = true;
	return false;
}

/* Run mech; reply holds the last answer. False on connection trouble. */
static bool smtp_sasl_run(struct smtp_session *s, const char *mech,
			  const char *user, const char *pass,
			  struct smtp_reply *reply)
{
	struct str line = STR_INIT, b64 = STR_INIT;
	bool ok;

	if (strcmp(mech, "PLAIN") == 0) {
		smtp_sasl_plain(&b64, user, pass);
		str_printf(&line, "AUTH PLAIN %s", str_c(&b64));
		ok = smtp_sasl_say(s, str_c(&line), reply);
	} else {
		ok = smtp_sasl_say(s, "AUTH LOGIN", reply);
		if (ok && reply->code == 334) {
			sasl_base64_encode(&b64, user, strlen(user));
			ok = smtp_sasl_say(s, str_c(&b64), reply);
		}
		if (ok && reply->code == 334) {
			explicit_bzero(b64.data, b64.len);
			str_clear(&b64);
			sasl_base64_encode(&b64, pass, strlen(pass));
			ok = smtp_sasl_say(s, str_c(&b64), reply);
		}
		/* A server still asking after the password: give up. */
		if (ok && reply->code == 334)
			ok = smtp_sasl_say(s, "*", reply);
	}
	if (b64.data != NULL)
		explicit_bzero(b64.data, b64.len);
	if (line.data != NULL)
		explicit_bzero(line.data, line.len);
	str_release(&b64);
	str_release(&line);
	return ok;
}

static void smtp_sasl_fail(enum smtp_status *status_r, char dsn_r[16],
			   const char *dsn, struct str *why)
{
	*status_r = dsn[0] == '5' ? SMTP_BOUNCE : SMTP_DEFER;
	(void)str_snprintf(dsn_r, 16, "%s", dsn);
	msg_info("%s", str_c(why));
}

bool smtp_sasl_auth(struct smtp_session *s, struct smtp_reply *reply,
		    enum smtp_status *status_r, char dsn_r[16],
		    struct str *why)
{
	struct str value = STR_INIT;
	const char *mech;
	char *pass;
	bool ok = false;
	int ret;

	str_clear(why);
	ret = smtp_sasl_lookup(s, &value, why);
	if (ret <= 0) {
		if (ret < 0)
			smtp_sasl_fail(status_r, dsn_r, "4.3.0", why);
		str_release(&value);
		return ret == 0;
	}
	pass = strchr(value.data, ':');
	if (pass == NULL || pass == value.data) {
		str_printf(why, "smtp_sasl_password_maps: the entry for %s "
			   "is not user:password", s->key);
		smtp_sasl_fail(status_r, dsn_r, "4.3.0", why);
		goto out;
	}
	*pass++ = '\0';
	if (s->tls == NULL) {
		str_printf(why, "not sending SASL credentials to %s over an "
			   "unencrypted connection (TLS is required: set "
			   "smtp_tls_security_level = encrypt)", s->peer);
		smtp_sasl_fail(status_r, dsn_r, "4.7.0", why);
		goto out;
	}
	if (!(s->features & SMTP_FEAT_AUTH)) {
		/* Postfix goes on too: the server may not need it. */
		if (msg_verbose)
			msg_debug("%s offers no AUTH", s->peer);
		ok = true;
		goto out;
	}
	mech = smtp_sasl_choose(s->auth_mechs, smtp_set.sasl_filter);
	if (mech == NULL) {
		str_printf(why, "SASL authentication failed; cannot "
			   "authenticate to server %s: no mechanism "
			   "available (offered:%s)", s->peer, s->auth_mechs);
		smtp_sasl_fail(status_r, dsn_r, "4.7.0", why);
		goto out;
	}
	if (!smtp_sasl_run(s, mech, value.data, pass, reply)) {
		*status_r = SMTP_DEFER;
		memcpy(dsn_r, "4.4.2", 6);
		str_printf(why, "lost connection with %s while performing "
			   "SASL authentication", s->peer);
		msg_info("%s", str_c(why));
		goto out;
	}
	if (reply->code == 235) {
		if (msg_verbose)
			msg_debug("authenticated to %s as %s (%s)", s->peer,
				  value.data, mech);
		ok = true;
		goto out;
	}
	str_printf(why, "SASL authentication failed; server %s said: %s",
		   s->peer, str_c(&reply->text));
	{
		char dsn[16];

		(void)str_snprintf(dsn, sizeof(dsn), "%s",
				   reply->dsn[0] != '\0' ? reply->dsn :
				   "5.7.8");
		/* 4xx defers; 5xx defers too unless soft bounce is off; a
		 * non-failure code we did not expect defers. */
		if (reply->code / 100 != 5 || smtp_set.sasl_soft_bounce)
			dsn[0] = '4';
		else
			dsn[0] = '5';
		smtp_sasl_fail(status_r, dsn_r, dsn, why);
	}
out:
	if (value.data != NULL)
		explicit_bzero(value.data, value.len);
	str_release(&value);
	return ok;
}
