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

#include <getopt.h>
#include <stdbool.h>
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
	const char *help;	/* one line, for the list */
	const char *usage;	/* after "correo [-c DIR] ", one per line */
	const char *more;	/* for "correo COMMAND --help" */
};

static int correo_help_cmd(const char *config_dir, int argc, char **argv);

static const struct correo_command correo_commands[] = {
	{ "start", correo_start_cmd, "start the mail system",
	  "start",
	  "Runs the checks of \"check\", then starts master in the "
	  "background\nand waits until it runs. Exit 1 if it is already "
	  "running or\ndid not come up (its stderr and log tail are "
	  "shown).\n" },
	{ "start-fg", correo_start_fg_cmd,
	  "start the mail system in the foreground (systemd)",
	  "start-fg",
	  "Runs the checks of \"check\", then becomes master in the "
	  "foreground\n(Postfix's \"postfix start-fg\"): what "
	  "correo.service runs. Stop it\nwith \"correo stop\" or SIGTERM, "
	  "reload with \"correo reload\" or SIGHUP.\n" },
	{ "stop", correo_stop_cmd, "stop the mail system",
	  "stop",
	  "Sends master SIGTERM and waits (up to 15 s) until it is gone;\n"
	  "master stops its services first. Exit 1 if it was not "
	  "running.\n" },
	{ "reload", correo_reload_cmd,
	  "re-read the configuration (running processes finish first)",
	  "reload",
	  "Sends master SIGHUP: it re-reads correo.conf and services.conf;"
	  "\nprocesses finish their clients with the old settings. Exit 1 "
	  "if it\nis not running.\n" },
	{ "status", correo_status_cmd,
	  "say whether it runs and which services accept connections",
	  "status",
	  "Names the running master and asks each service whether it "
	  "accepts\nconnections. Exit 1 if it is not running.\n" },
	{ "check", correo_check_cmd,
	  "check the configuration, accounts, queue tree and daemons",
	  "check",
	  "Reads both configuration files and checks the accounts, the "
	  "queue\ntree (modes, owners) and the daemons; each problem is "
	  "one sentence\nwith its fix. Exit 1 if it found a problem.\n" },
	{ "config", correo_config_cmd,
	  "print configuration values (see correo(8))",
	  "config [-n] [-d] [KEY...]",
	  "Prints KEY = VALUE for each parameter (all without KEY); -n "
	  "only\nthose set in correo.conf, -d the defaults.\n" },
	{ "map", correo_map_cmd, "build or query a lookup table",
	  "map [-t hash|btree] FILE\nmap [-t TYPE] -q KEY|- [TYPE:]FILE",
	  "Builds FILE.db from the text FILE, or looks KEY up (- reads "
	  "keys\nfrom stdin). Exit 1 if a key is not found; "
	  "correo-map(8).\n" },
	{ "setup", correo_setup_cmd,
	  "prepare the system install (accounts, queue, config, TLS)",
	  "setup [--table-type hash|btree|lmdb]",
	  "Root only. Creates what the system install lacks and keeps what"
	  "\nexists: the configuration directory's files, the accounts, "
	  "the queue\ntree, $data_directory, a self-signed certificate, "
	  "sendmail's set-gid\nbit; then runs \"check\". The Debian "
	  "package runs it at install.\n" },
	{ "init", correo_init_cmd,
	  "create a ready instance: init DIR [--domain D] [--ports BASE]",
	  "init DIR [--domain D] [--ports BASE] [--listen ADDR] "
	  "[--daemon-dir P]\n"
	  "init DIR ... --webmail [--webmail-port PORT]",
	  "Creates a self-contained instance in the new or empty DIR: "
	  "its own\nconfiguration, queue, log, mailboxes and ports "
	  "(none of the system's\npaths). As root it also creates the "
	  "accounts.\n" },
	{ "user", correo_user_cmd, "manage mailbox users",
	  "user add ADDRESS [MAILDIR] [--password-stdin]\n"
	  "user del ADDRESS\nuser list\n"
	  "user passwd ADDRESS [--password-stdin]",
	  "Virtual mailboxes (virtual_mailbox_maps) and their login "
	  "passwords\n(auth_password_maps).\n" },
	{ "mailbox", correo_mailbox_cmd,
	  "a user's folders: list, rebuild indexes, expunge, purge",
	  "mailbox USER [list]\nmailbox USER rebuild [FOLDER]\n"
	  "mailbox USER expunge FOLDER\nmailbox USER purge",
	  "Works on USER's mailbox store as its owner.\n" },
	{ "newaliases", correo_newaliases_cmd, "rebuild the alias tables",
	  "newaliases",
	  "Rebuilds every table of alias_database from its text.\n" },
	{ "queue", correo_queue_cmd,
	  "list or change the mail queue (mailq, flush, hold, delete...)",
	  "queue [list] [--json]\nqueue show ID\nqueue flush\n"
	  "queue hold|release|requeue|delete ID...|ALL",
	  "Lists the queue as mailq does, shows one message, or moves "
	  "messages;\ncorreo-queue(8).\n" },
	{ "tls", correo_tls_cmd,
	  "tls check: the certificate chain, its expiry and key match",
	  "tls check",
	  "Shows the chain of tls_cert_file and whether tls_key_file "
	  "matches.\nExit 1 if the pair is unusable or expired.\n" },
	{ "webmail", correo_webmail_cmd,
	  "start, stop or show the instance's webmail (Roundcube)",
	  "webmail [start|stop|status]",
	  "Runs the web server of the webmail \"correo init --webmail\" "
	  "set up\nfor an instance (correo-webmail(8)).\n" },
	{ "help", correo_help_cmd, "show this list, or one command's help",
	  "help [COMMAND]", "" },
	{ NULL, NULL, NULL, NULL, NULL },
};

static const char correo_exit_text[] =
	"Exit status: 0 success, 1 failure, 2 usage error (correo(8)).\n";

static void correo_usage(FILE *out)
{
	const struct correo_command *c;

	fprintf(out, "usage: correo [-c DIR] [-v] COMMAND [ARGS]\n"
		     "       correo COMMAND --help\n"
		     "commands:\n");
	for (c = correo_commands; c->name != NULL; c++)
		fprintf(out, "  %-11s %s\n", c->name, c->help);
	fprintf(out, "DIR defaults to $CORREO_CONFIG_DIR, else %s\n%s",
		SYSCONFDIR, correo_exit_text);
}

static const struct correo_command *correo_find(const char *name)
{
	const struct correo_command *c;

	for (c = correo_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* "correo COMMAND --help": its usage lines, what it does, exit codes. */
static void correo_command_help(const struct correo_command *c)
{
	const char *line = c->usage;
	const char *nl;
	bool first = true;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		printf("%s correo [-c DIR] %.*s\n", first ? "usage:" : "      ",
		       (int)(nl - line), line);
		first = false;
		line = *nl == '\n' ? nl + 1 : nl;
	}
	printf("%s\n%s%s", c->help, c->more, correo_exit_text);
}

/* "correo COMMAND --help" (or -h): no command takes either as its
 * first argument. */
static bool correo_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int correo_help_cmd(const char *config_dir, int argc, char **argv)
{
	const struct correo_command *c;

	if (argc == 2 && (c = correo_find(argv[1])) != NULL) {
		correo_command_help(c);
		return 0;
	}
	if (argc > 1) {
		tool_complain("help: unknown command \"%s\"", argv[1]);
		correo_usage(stderr);
		return 2;
	}
	correo_usage(stdout);
	return 0;
}

static const struct option correo_long_opts[] = {
	{ "help", no_argument, NULL, 'H' },
	{ NULL, 0, NULL, 0 },
};

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
	while ((ch = getopt_long(argc, argv, "+c:vh", correo_long_opts,
				 NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_dir = optarg;
			break;
		case 'v':
			msg_set_verbose(++verbose);
			break;
		case 'h':
		case 'H':	/* --help */
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
	if ((c = correo_find(argv[optind])) != NULL) {
		if (optind + 1 < argc && correo_is_help(argv[optind + 1])) {
			correo_command_help(c);
			return 0;
		}
		return c->run(config_dir, argc - optind, argv + optind);
	}
	tool_complain("unknown command \"%s\"", argv[optind]);
	correo_usage(stderr);
	return 2;
}
