#ifndef TOOLS_CORREO_H
#define TOOLS_CORREO_H

/* The subcommands of the correo admin command. tools/main.c parses the
 * global options (-c DIR, -v), then calls one of these with argv[0] set
 * to the subcommand name. Each returns the process exit status (0 ok,
 * 1 failure, 2 usage) and prints its own messages to stderr/stdout.
 * config_dir is the -c argument or the compiled-in default. */

int correo_config_cmd(const char *config_dir, int argc, char **argv);
int correo_map_cmd(const char *config_dir, int argc, char **argv);
int correo_start_cmd(const char *config_dir, int argc, char **argv);
int correo_stop_cmd(const char *config_dir, int argc, char **argv);
int correo_reload_cmd(const char *config_dir, int argc, char **argv);
int correo_status_cmd(const char *config_dir, int argc, char **argv);
int correo_check_cmd(const char *config_dir, int argc, char **argv);
int correo_init_cmd(const char *config_dir, int argc, char **argv);
/* "correo user add|del|list|passwd" (receive issue). */
int correo_user_cmd(const char *config_dir, int argc, char **argv);
/* "correo newaliases" / "correo queue" (later issues). */
int correo_newaliases_cmd(const char *config_dir, int argc, char **argv);
/* "correo queue ..." (tools/correo_queue.c). */
int correo_queue_cmd(const char *config_dir, int argc, char **argv);

#endif
