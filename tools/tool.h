#ifndef TOOLS_TOOL_H
#define TOOLS_TOOL_H

#include <stdbool.h>
#include <sys/types.h>

#include "cfg.h"
#include "msg.h"
#include "svc.h"

/* Helpers shared by the subcommands of the correo admin command (start,
 * stop, status, check, init). Not part of libcommon: only tools/ uses
 * them. */

/* The name the user typed for the program ("correo"), for messages. */
#define TOOL_NAME "correo"

/* Print "correo: TEXT" on stdout (tool_say) or stderr (tool_complain).
 * These are the admin's conversation; msg_* is for logging. */
void tool_say(const char *fmt, ...) MSG_PRINTF(1, 2);
void tool_complain(const char *fmt, ...) MSG_PRINTF(1, 2);

/* "dir/name" in a new allocation. */
char *tool_path(const char *dir, const char *name);

/* Load DIR/correo.conf and make it cfg_main. Returns NULL with an
 * allocated message. */
struct cfg *tool_load_config(const char *config_dir, char **error_r);
/* Load DIR/services.conf. */
struct svc_table *tool_load_services(const char *config_dir,
				     char **error_r);

/* cfg_str for a key that may not be declared (yet): def if it is not. */
const char *tool_cfg_str(struct cfg *cfg, const char *key, const char *def);

/* $master_pid_file (allocated). */
char *tool_pid_file(struct cfg *cfg);

/* The pid of the running master of this config, or 0 if none runs (no
 * pid file, a stale pid, or a zombie). */
pid_t tool_master_pid(struct cfg *cfg);
/* True if pid names a live (not zombie) process. */
bool tool_pid_alive(pid_t pid);

/* Print the last lines of a file to stderr, indented. */
void tool_print_tail(const char *path, int lines);

/* The directory the running correo binary lives in, or NULL. */
char *tool_self_dir(void);

/* The checks of "correo check". Prints each problem (one sentence with
 * the fix) to stderr unless quiet; returns the number of problems
 * (-1 if the configuration could not even be loaded). */
int tool_check(const char *config_dir, bool quiet);

#endif
