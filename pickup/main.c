/*
 * pickup: the local submission daemon's main(); see pickup.c and
 * pickup_file.c.
 *
 * SECURITY: runs as mail_owner (never root). Everything it reads from
 * maildrop/ was written by an unprivileged user and is checked before
 * it becomes a queue file.
 */
#include "config.h"

#include "pickup.h"
#include "server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "pickup",
		.mode = SERVER_EVENT,
		.event_init = pickup_event_init,
		.pre_init = pickup_pre_init,
		.privileged = false,
		.sandbox = &sandbox_pickup,
	});
}
