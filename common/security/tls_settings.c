/*
 * tls_settings: a TLS server's settings read from correo.conf, in one
 * place for every server that speaks TLS (smtpd, the login front ends).
 *
 * Interface (tls.h): tls_server_settings.
 *
 * SECURITY: reads the configuration only; the key files named are
 * opened later by tls_server_ctx, in pre_init while still privileged.
 * Whether a missing certificate is fatal is the caller's decision (a
 * wrapper-mode port cannot work without one, STARTTLS just is not
 * offered).
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "tls.h"

bool tls_server_settings(struct cfg *cfg, const char *service,
			 struct tls_settings *set_r)
{
	struct stat st;

	memset(set_r, 0, sizeof(*set_r));
	set_r->cert_file = cfg_str(cfg, "tls_cert_file");
	set_r->key_file = cfg_str(cfg, "tls_key_file");
	set_r->min_protocol = cfg_str(cfg, "tls_min_protocol");
	set_r->ciphers = cfg_str(cfg, "tls_ciphers");
	set_r->ticket_key_file = cfg_str(cfg, "tls_session_ticket_key");
	set_r->ca_file = "";
	set_r->ticket_service = service != NULL ? service : "";
	set_r->ticket_rotation = cfg_time(cfg, "tls_session_ticket_rotation");
	if (stat(set_r->ticket_key_file, &st) < 0)
		set_r->ticket_key_file = "";
	return stat(set_r->cert_file, &st) == 0;
}
