/*
 * anvil: connection counts and rates per client for the network
 * services (Postfix's anvil). One process serves every service from an
 * event loop; see correo-anvil(8).
 *
 * SECURITY: runs as the mail owner and reads no files after start; its
 * clients are local daemons over private/anvil.
 */
#include "config.h"

#include "anvil.h"
#include "sandbox.h"
#include "server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.sandbox = &sandbox_anvil,
		.name = "anvil",
		.mode = SERVER_EVENT,
		.event_init = anvil_event_init,	/* the listeners */
		.pre_init = anvil_pre_init,	/* the time unit */
	});
}
