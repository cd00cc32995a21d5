/*
 * pop3d: two programs in one image (pop3d.h).
 *
 * Started by master, it is the POP3 mail-process spawner on
 * private/pop3d (login_spawn.h): it serves one pop3-login process,
 * redeems auth's login cookies and starts mail processes. Each mail
 * process is this binary exec'd afresh with LOGIN_MAIL_ARG, already
 * running as the mailbox owner, serving one session.
 *
 * SECURITY: the spawner is privileged (root, or the invoking user in
 * instance mode) and never sees a password; the mail process never runs
 * as root and holds nothing of the spawner's.
 */
#include "config.h"

#include "login_spawn.h"
#include "sandbox.h"
#include "server.h"

#include "pop3d.h"

static const struct login_spawn_spec pop3d_spawn = {
	.service = "pop3",
	.mail_name = "pop3d",
	.timeout_key = "pop3_timeout",
};

int main(int argc, char **argv)
{
	if (login_mail_is_session(argc, argv))
		pop3d_mail_main();
	return server_main(argc, argv, &(struct server_spec) {
		.sandbox = &sandbox_spawner,
		.name = "pop3d",
		.mode = SERVER_SINGLE,
		.serve = login_spawn_serve,
		.pre_init = login_spawn_pre_init,
		.privileged = true,
		.ctx = (void *)&pop3d_spawn,
	});
}
