/*
 * smtpd_limit: per-client connection limits through anvil, and stress
 * mode (smtpd.h).
 *
 * Interface: smtpd_limit_init (pre_init), smtpd_limit_connect,
 * smtpd_limit_disconnect.
 *
 * Every session is registered with correo-anvil(8) under the service's name,
 * so anvil knows how many sessions the service has (for stress) and
 * how many each client has. Only clients outside $mynetworks are held
 * to $smtpd_client_connection_count_limit and
 * $smtpd_client_connection_rate_limit; one over gets Postfix's
 *   421 4.7.0 HOST Error: too many connections from ADDR
 * and the warning "Connection concurrency limit exceeded: N from
 * NAME[ADDR] for service S" (or "rate"). In wrapper mode (465) the
 * client gets no reply: a plaintext line would only garble its TLS, and
 * a handshake is what a flood should not cost us.
 *
 * Stress (Postfix's stress mode): when the service's sessions reach
 * four fifths of its process limit (the maxproc column of our own
 * services.conf row), a new session waits at most $smtpd_stress_timeout
 * for each command and ends at its first error, so a flood of silent
 * clients drains quickly and the pool stays open to real ones. Logged
 * when a process first sees stress.
 *
 * Fail open: without anvil there are no limits and no stress (the
 * client logs that once, anvil_client.c).
 *
 * SECURITY: the limits protect the service from one client, not from a
 * distributed flood; a compromised anvil can only refuse clients with
 * a temporary error.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "anvil_client.h"
#include "cfg.h"
#include "lio.h"
#include "mem.h"
#include "msg.h"
#include "server.h"
#include "smtpd.h"
#include "str.h"
#include "svc.h"

/* Stress when this many fifths of the process limit are busy. */
#define SMTPD_STRESS_FIFTHS 4

/* The maxproc of our services.conf row; 0 if unknown or unlimited. */
static long smtpd_limit_maxproc(struct cfg *cfg, const char *service)
{
	struct str path = STR_INIT;
	struct svc_table *t;
	char *error = NULL;
	long maxproc = 0;
	int i;

	str_printf(&path, "%s/services.conf",
		   cfg_str(cfg, "config_directory"));
	t = svc_load(str_c(&path), &error);
	str_release(&path);
	if (t == NULL) {
		msg_warn("stress mode off: %s", error);
		mem_free(error);
		return 0;
	}
	for (i = 0; i < t->count; i++) {
		if (strcmp(t->svcs[i].name, service) != 0)
			continue;
		maxproc = t->svcs[i].maxproc;
		if (maxproc < 0)
			maxproc = cfg_int(cfg, "default_process_limit");
		break;
	}
	svc_table_free(&t);
	return maxproc;
}

void smtpd_limit_init(struct smtpd_config *c, struct cfg *cfg)
{
	c->service = server_service_name != NULL ? server_service_name :
		     "smtpd";
	c->conn_count_limit = cfg_int(cfg,
				      "smtpd_client_connection_count_limit");
	c->conn_rate_limit = cfg_int(cfg,
				     "smtpd_client_connection_rate_limit");
	c->stress_timeout = (int)cfg_time(cfg, "smtpd_stress_timeout");
	c->process_limit = smtpd_limit_maxproc(cfg, c->service);
	c->anvil = anvil_client_create(NULL);
}

static void smtpd_limit_stress(struct smtpd_session *s,
			       const struct anvil_counts *counts)
{
	static bool logged;
	const struct smtpd_config *c = s->cfg;

	if (c->process_limit <= 0 || c->stress_timeout <= 0 ||
	    counts->active * 5 < c->process_limit * SMTPD_STRESS_FIFTHS)
		return;
	s->stress = true;
	lio_set_timeout(s->lio, c->stress_timeout);
	if (logged)
		return;
	logged = true;
	msg_warn("service %s: %ld sessions of at most %ld: stress mode"
		 " (timeout %ds, one error ends a session)", c->service,
		 counts->active, c->process_limit, c->stress_timeout);
}

bool smtpd_limit_connect(struct smtpd_session *s)
{
	const struct smtpd_config *c = s->cfg;
	struct anvil_counts counts;
	enum anvil_verdict v;
	struct str who = STR_INIT;

	if (c->anvil == NULL ||
	    anvil_client_connect(c->anvil, c->service, s->client_addr,
				 &counts) < 0)
		return true;
	s->anvil_registered = true;
	smtpd_limit_stress(s, &counts);
	if (s->trusted)
		return true;
	v = anvil_client_check(&counts, c->conn_count_limit,
			       c->conn_rate_limit);
	if (v == ANVIL_OK)
		return true;
	str_printf(&who, "%s[%s]", s->client_name, s->client_addr);
	anvil_client_log(v, &counts, str_c(&who), c->service);
	str_release(&who);
	if (!c->tls_wrapper)
		smtpd_reply(s, "421 4.7.0 %s Error: too many connections"
			    " from %s", c->myhostname, s->client_addr);
	return false;
}

void smtpd_limit_disconnect(struct smtpd_session *s)
{
	if (!s->anvil_registered)
		return;
	anvil_client_disconnect(s->cfg->anvil, s->cfg->service,
				s->client_addr);
	s->anvil_registered = false;
}
