/*
 * auth: the authentication service's main(); see auth_server.c.
 *
 * SECURITY: runs as the auth user (never root); the only process that
 * reads the password tables.
 */
#include "config.h"

#include "auth.h"
#include "server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "auth",
		.mode = SERVER_EVENT,
		.event_init = auth_event_init,
		.pre_init = auth_pre_init,
		.privileged = false,
		.sandbox = &sandbox_auth,
	});
}
