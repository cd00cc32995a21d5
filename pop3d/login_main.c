/*
 * pop3-login: the POP3 front end daemon (pop3_login.h): one event-driven
 * process serves up to $login_client_limit clients; master keeps a pool.
 *
 * SECURITY: pre_init runs with master's privileges to read the TLS key
 * and connect to the spawner (private/pop3d); then the skeleton chroots
 * (-r) into the empty directory pre_init moved to and drops to the
 * service user (correo-login).
 */
#include "config.h"

#include "login.h"
#include "sandbox.h"
#include "server.h"

#include "pop3_login.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.sandbox = &sandbox_login,
		.name = "pop3-login",
		.mode = SERVER_EVENT,
		.event_init = login_event_init,
		.pre_init = login_pre_init,
		.ctx = (void *)&pop3_login_proto,
	});
}
