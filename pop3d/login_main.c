/*
 * pop3-login: the POP3 front end daemon (pop3_login.h). One client per
 * process at a time; master keeps a pool.
 *
 * SECURITY: pre_init runs with master's privileges to read the TLS key
 * and connect to private/pop3d; then the skeleton chroots (-r) into the
 * empty directory pre_init moved to and drops to the service user
 * (correo-login).
 */
#include "config.h"

#include "server.h"

#include "pop3_login.h"

int main(int argc, char **argv)
{
	static struct pop3_login_config cfg;

	return server_main(argc, argv, &(struct server_spec) {
		.name = "pop3-login",
		.mode = SERVER_SINGLE,
		.serve = pop3_login_serve,
		.pre_init = pop3_login_pre_init,
		.ctx = &cfg,
		.sandbox = &sandbox_pop3_login,
	});
}
