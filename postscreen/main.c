/*
 * postscreen: holds SMTP clients that have not spoken yet, in one event
 * loop, and hands each to an smtpd when it does (Postfix's postscreen
 * role, without its tests); see correo-postscreen(8).
 *
 * SECURITY: faces the Internet; runs as the mail owner, reads nothing
 * the client sends (postscreen.c).
 */
#include "config.h"

#include "postscreen.h"
#include "sandbox.h"
#include "server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.sandbox = &sandbox_postscreen,
		.name = "postscreen",
		.mode = SERVER_EVENT,
		.event_init = postscreen_event_init,	/* the listeners */
		.pre_init = postscreen_pre_init,	/* mynetworks, fds */
		.post_init = postscreen_post_init,	/* limits */
	});
}
