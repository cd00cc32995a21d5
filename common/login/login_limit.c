/*
 * login_limit: per-client connection limits of the pre-auth front ends
 * through anvil (login_int.h), as smtpd has them: a client outside
 * $mynetworks with more than $login_client_connection_count_limit
 * connections open, or more than $login_client_connection_rate_limit
 * in anvil's time unit, is refused with the protocol's "unavailable"
 * reply and the warning Postfix admins grep for ("Connection
 * concurrency limit exceeded: N from [ADDR] for service S").
 *
 * The front end is jailed after pre_init, so its one connection to anvil
 * is made there and kept; if anvil restarts, the limits are off for this
 * process until master replaces it (fail open, logged once).
 *
 * SECURITY: client addresses are numeric text from getpeername; anvil
 * only counts.
 */
#include "config.h"

#include "anvil_client.h"
#include "cfg.h"
#include "cidr.h"
#include "mem.h"
#include "msg.h"
#include "server.h"

#include "login.h"
#include "login_int.h"

static struct {
	struct anvil_client *anvil;
	struct cidr_list *mynetworks;
	const char *service;
	long count_limit, rate_limit;
} login_limit;

void login_limit_init(void)
{
	char *error = NULL;

	login_limit.count_limit =
		cfg_int(cfg_main, "login_client_connection_count_limit");
	login_limit.rate_limit =
		cfg_int(cfg_main, "login_client_connection_rate_limit");
	if (login_limit.count_limit <= 0 && login_limit.rate_limit <= 0)
		return;
	login_limit.mynetworks = cidr_list_create(cfg_list(cfg_main,
							   "mynetworks"),
						  &error);
	if (login_limit.mynetworks == NULL)
		msg_fatal("mynetworks: %s", error);
	login_limit.service = server_service_name != NULL ?
			      server_service_name : "login";
	login_limit.anvil = anvil_client_create(NULL);
	(void)anvil_client_open(login_limit.anvil);
}

bool login_limit_connect(const char *addr, bool *registered_r)
{
	struct anvil_counts counts;
	enum anvil_verdict v;
	struct str who = STR_INIT;

	*registered_r = false;
	if (login_limit.anvil == NULL ||
	    anvil_client_connect(login_limit.anvil, login_limit.service,
				 addr, &counts) < 0)
		return true;
	*registered_r = true;
	if (cidr_list_match(login_limit.mynetworks, addr))
		return true;
	v = anvil_client_check(&counts, login_limit.count_limit,
			       login_limit.rate_limit);
	if (v == ANVIL_OK)
		return true;
	str_printf(&who, "[%s]", addr);
	anvil_client_log(v, &counts, str_c(&who), login_limit.service);
	str_release(&who);
	return false;
}

void login_limit_disconnect(const char *addr)
{
	if (login_limit.anvil != NULL)
		anvil_client_disconnect(login_limit.anvil,
					login_limit.service, addr);
}
