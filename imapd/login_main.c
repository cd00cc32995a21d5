/*
 * imap-login: the IMAP front end daemon (imap_login.h): one event-driven
 * process serves up to $login_client_limit clients before they log in;
 * master keeps a pool. After login the client goes to the imapd spawner
 * (private/imapd) and on to its mail process.
 *
 * SECURITY: pre_init runs with master's privileges to read the TLS key
 * and connect to the spawner; then the skeleton chroots (-r) into the
 * empty directory pre_init moved to and drops to the service user
 * (correo-login).
 */
#include "config.h"

#include "login.h"
#include "sandbox.h"
#include "server.h"

#include "imap_login.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.sandbox = &sandbox_login,
		.name = "imap-login",
		.mode = SERVER_EVENT,
		.event_init = login_event_init,
		.pre_init = login_pre_init,
		.ctx = (void *)&imap_login_proto,
	});
}
