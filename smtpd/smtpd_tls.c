/*
 * smtpd_tls: STARTTLS (RFC 3207) and implicit TLS (RFC 8314, the
 * submissions port 465) for smtpd (smtpd.h).
 *
 * Interface: smtpd_tls_init (pre_init), smtpd_tls_offer,
 * smtpd_cmd_starttls, smtpd_tls_wrap (wrapper mode, before the
 * greeting), smtpd_tls_end.
 *
 * $smtpd_tls_security_level: "none" never offers STARTTLS, "may" offers
 * it, "encrypt" also refuses MAIL before it (smtpd_proto.c). A missing
 * $tls_cert_file turns STARTTLS off with a log line (a warning under
 * "encrypt", whose clients then cannot send mail), so a fresh system
 * without a certificate still receives mail; in wrapper mode it is
 * fatal, since such a service cannot serve anyone.
 *
 * After the handshake the session forgets everything the client said
 * before it (RFC 3207 4.2: the EHLO name and any transaction), and
 * bytes the client pipelined behind STARTTLS are discarded inside
 * tls_server_start, before the first TLS byte is read (CVE-2011-0411):
 * a man in the middle cannot inject plaintext commands that would be
 * taken as sent under TLS.
 *
 * SECURITY: the key files are read in pre_init, before the privilege
 * drop and the chroot; afterwards only the in-memory context exists.
 * The handshake runs against an unauthenticated peer within
 * $smtpd_timeout.
 */
#include "config.h"

#include <string.h>

#include "cfg.h"
#include "dict.h"
#include "metrics_client.h"
#include "msg.h"
#include "server.h"
#include "smtpd.h"
#include "tls.h"

/* The SNI table for tls.c, which links no table code itself. */
static int smtpd_tls_sni_lookup(const char *name, struct str *value_r,
				void *ctx)
{
	const char *error = NULL;
	int ret = dict_lookup(ctx, name, value_r, &error);

	if (ret < 0)
		msg_warn("SNI table %s: %s: %s", dict_name(ctx), name,
			 error != NULL ? error : "lookup failed");
	return ret;
}

static void smtpd_tls_sni_open(struct tls_settings *set, struct cfg *cfg)
{
	const char *spec = cfg_str(cfg, "tls_sni_maps");
	char *error = NULL;

	if (*spec == '\0')
		return;
	set->sni_ctx = dict_open(spec, &error);
	if (set->sni_ctx == NULL)
		msg_fatal("tls_sni_maps: %s", error);
	set->sni_lookup = smtpd_tls_sni_lookup;
}

void smtpd_tls_init(struct smtpd_config *c, struct cfg *cfg)
{
	const char *level = cfg_str(cfg, "smtpd_tls_security_level");
	struct tls_settings set;
	char *error = NULL;

	if (strcmp(level, "none") != 0 && strcmp(level, "may") != 0 &&
	    strcmp(level, "encrypt") != 0)
		msg_fatal("smtpd_tls_security_level: expected none, may or"
			  " encrypt, got \"%s\"", level);
	c->tls_wrapper = cfg_bool(cfg, "smtpd_tls_wrappermode");
	c->tls_required = strcmp(level, "encrypt") == 0;
	if (strcmp(level, "none") == 0 && !c->tls_wrapper)
		return;
	if (!tls_server_settings(cfg, server_service_name, &set)) {
		if (c->tls_wrapper)
			msg_fatal("smtpd_tls_wrappermode: %s: %m",
				  set.cert_file);
		if (c->tls_required)
			msg_warn("smtpd_tls_security_level = encrypt, but %s:"
				 " %m: no client can send mail",
				 set.cert_file);
		else
			msg_info("no %s: STARTTLS not offered",
				 set.cert_file);
		return;
	}
	smtpd_tls_sni_open(&set, cfg);
	c->tls = tls_server_ctx(&set, &error);
	if (c->tls == NULL)
		msg_fatal("TLS: %s", error);
}

bool smtpd_tls_offer(const struct smtpd_session *s)
{
	return s->cfg->tls != NULL && s->tls == NULL;
}

/* The handshake; false (logged) if it failed. */
static bool smtpd_tls_handshake(struct smtpd_session *s)
{
	const char *error = "?";

	s->tls = tls_server_start(s->cfg->tls, s->lio, s->cfg->timeout,
				  &error);
	if (s->tls == NULL) {
		msg_info("SSL_accept error from %s[%s]: %s", s->client_name,
			 s->client_addr, error);
		metrics_count("correo_tls_handshake_failures_total",
			      server_service_name, 1);
		msg_info("lost connection after %s from %s[%s]", s->where,
			 s->client_name, s->client_addr);
		return false;
	}
	msg_info("Anonymous TLS connection established from %s[%s]: %s",
		 s->client_name, s->client_addr, tls_conn_info(s->tls));
	metrics_count("correo_tls_handshakes_total", server_service_name, 1);
	return true;
}

bool smtpd_tls_wrap(struct smtpd_session *s)
{
	return smtpd_tls_handshake(s);
}

void smtpd_cmd_starttls(struct smtpd_session *s, const struct smtpd_cmd *cmd)
{
	if (cmd->args_len > 0) {
		smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->tls != NULL) {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (!smtpd_tls_offer(s)) {
		smtpd_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (s->in_mail) {
		smtpd_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	/* tls_server_start sends the 220, then drops buffered input. */
	if (!smtpd_tls_handshake(s)) {
		s->quit = true;
		return;
	}
	smtpd_session_forget(s);
}

void smtpd_tls_end(struct smtpd_session *s)
{
	if (s->tls != NULL)
		tls_conn_free(&s->tls, s->lio);
}
