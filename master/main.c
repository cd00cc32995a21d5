/*
 * correo-master: the supervisor's main(). Parses the command line and
 * hands over to libmaster (master.c).
 *
 *   master [-c config_dir] [-f] [-t] [-v]
 *
 * -f stays in the foreground (systemd, tests); without it master detaches
 * once its listeners are open and its children started, exiting 0 only
 * then, so "correo start" can report failure. -t checks correo.conf and
 * services.conf and exits.
 *
 * SECURITY: runs as root (or the invoking user in instance mode); the
 * command line comes from the administrator.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "master.h"
#include "msg.h"

int main(int argc, char **argv)
{
	struct master_opts opts = { .config_dir = SYSCONFDIR };
	int c;

	msg_set_name("master");
	while ((c = getopt(argc, argv, "c:ftv")) != -1) {
		switch (c) {
		case 'c':
			opts.config_dir = optarg;
			break;
		case 'f':
			opts.foreground = true;
			break;
		case 't':
			opts.test_only = true;
			break;
		case 'v':
			opts.verbose++;
			break;
		default:
			msg_fatal("usage: %s [-c config_dir] [-f] [-t] [-v]",
				  argv[0]);
		}
	}
	if (optind != argc)
		msg_fatal("usage: %s [-c config_dir] [-f] [-t] [-v]", argv[0]);
	return master_main(&opts);
}
