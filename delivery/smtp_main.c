/*
 * smtp: the SMTP/LMTP client's main(): a SERVER_SINGLE daemon on
 * private/smtp (or private/lmtp: LMTP when the service name starts with
 * "lmtp" or the first argument is "lmtp"); see smtp_serve.c.
 *
 * SECURITY: runs as the mail owner; it reads the queue files it is
 * handed and talks to untrusted servers (smtp_session.c, smtp_trans.c).
 */
#include "config.h"

#include "server.h"
#include "smtp.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "smtp",
		.mode = SERVER_SINGLE,
		.serve = smtp_serve,
		.pre_init = smtp_pre_init,
		.post_init = smtp_post_init,
		.privileged = false,
		.sandbox = &sandbox_smtp,
	});
}
