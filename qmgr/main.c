/*
 * qmgr: the queue manager's main(); see qmgr.c and qmgr_msg.c.
 *
 * SECURITY: runs as mail_owner (never root), touching only the queue.
 */
#include "config.h"

#include "qmgr.h"
#include "server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "qmgr",
		.mode = SERVER_EVENT,
		.event_init = qmgr_event_init,
		.pre_init = qmgr_pre_init,
		.privileged = false,
		.sandbox = &sandbox_qmgr,
	});
}
