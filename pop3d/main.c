/*
 * pop3d: the POP3 mail process service (pop3d.h). Listens on
 * private/pop3d for front-end connections and forks one mail process per
 * session.
 *
 * SECURITY: privileged (root, or the invoking user in instance mode): each
 * session child drops to its mailbox owner before reading mail.
 */
#include "config.h"

#include "server.h"

#include "pop3d.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "pop3d",
		.mode = SERVER_SINGLE,
		.serve = pop3d_serve,
		.pre_init = pop3d_pre_init,
		.privileged = true,
		.sandbox = &sandbox_pop3d,
	});
}
