/*
 * correo: the admin command.
 *
 *   correo [-c DIR] [-v] COMMAND [ARGS]
 *
 * Parses the global options and hands the rest of the command line to
 * one subcommand (tools/correo.h). The configuration directory is -c,
 * else $CORREO_CONFIG_DIR, else the compiled-in SYSCONFDIR.
 *
 * SECURITY: often run by root. It trusts its command line and
 * environment (the invoking user chose them); subcommands that start
 * daemons pass only the configuration directory on.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

#include "correo.h"
#include "tool.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/correo"
#endif

struct correo_command {
	const char *name;
	int (*run)(const char *config_dir, int argc, char **argv);
	const char *help;
};

static int correo_help_cmd(const char *config_dir, int argc, char **argv);

static const struct correo_command correo_commands[] = {
	{ "start", correo_start_cmd, "start the mail system" },
	{ "stop", correo_stop_cmd, "stop the mail system" },
	{ "reload", correo_reload_cmd,
	  "re-read the configuration (running processes finish first)" },
	{ "status", correo_status_cmd,
	  "say whether it runs and which services accept connections" },
	{ "check", correo_check_cmd,
	  "check the configuration, queue tree and daemons" },
	{ "config", correo_config_cmd,
	  "print configuration values (see correo(8))" },
	{ "map", correo_map_cmd, "build or query a lookup table" },
	{ "init", correo_init_cmd,
	  "create a ready instance: init DIR [--domain D] [--ports BASE]" },
	{ "user", correo_user_cmd, "manage mailbox users" },
	{ "mailbox", correo_mailbox_cmd,
	  "a user's folders: list, rebuild indexes, expunge, purge" },
	{ "newaliases", correo_newaliases_cmd, "rebuild the alias tables" },
	{ "queue", correo_queue_cmd,
	  "list or change the mail queue (mailq, flush, hold, delete...)" },
	{ "tls", correo_tls_cmd,
	  "tls check: the certificate chain, its expiry and key match" },
	{ "webmail", correo_webmail_cmd,
	  "start, stop or show the instance's webmail (Roundcube)" },
	{ "help", correo_help_cmd, "show this list" },
	{ NULL, NULL, NULL },
};

static void correo_usage(FILE *out)
{
	const struct correo_command *c;

	fprintf(out, "usage: correo [-c DIR] [-v] COMMAND [ARGS]\n"
		     "commands:\n");
	for (c = correo_commands; c->name != NULL; c++)
		fprintf(out, "  %-11s %s\n", c->name, c->help);
	fprintf(out, "DIR defaults to $CORREO_CONFIG_DIR, else %s\n",
		SYSCONFDIR);
}

static int correo_help_cmd(const char *config_dir, int argc, char **argv)
{
	correo_usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config_dir = getenv("CORREO_CONFIG_DIR");
	const struct correo_command *c;
	int verbose = 0;
	int ch;

	msg_set_name("correo");
	msg_open_stderr();
	if (config_dir == NULL || *config_dir == '\0')
		config_dir = SYSCONFDIR;
	/* '+': stop at the subcommand, its options are its own. */
	while ((ch = getopt(argc, argv, "+c:vh")) != -1) {
		switch (ch) {
		case 'c':
			config_dir = optarg;
			break;
		case 'v':
			msg_set_verbose(++verbose);
			break;
		case 'h':
			correo_usage(stdout);
			return 0;
		default:
			correo_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		correo_usage(stderr);
		return 2;
	}
	for (c = correo_commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[optind]) == 0)
			return c->run(config_dir, argc - optind, argv + optind);
	tool_complain("unknown command \"%s\"", argv[optind]);
	correo_usage(stderr);
	return 2;
}
