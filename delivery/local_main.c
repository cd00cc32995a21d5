/*
 * local: the local delivery agent's main(): a SERVER_SINGLE daemon on
 * private/local that stays root (when started as root) only to switch to
 * each mailbox owner; see local_serve.c and local_deliver.c.
 *
 * SECURITY: privileged = true keeps root after startup; every delivery
 * runs in a child that has dropped to the owner (local_deliver.c).
 */
#include "config.h"

#include "local.h"
#include "server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "local",
		.mode = SERVER_SINGLE,
		.serve = local_serve,
		.pre_init = local_pre_init,
		.post_init = local_post_init,
		.privileged = true,
		.sandbox = &sandbox_local,
	});
}
