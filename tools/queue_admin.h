#ifndef TOOLS_QUEUE_ADMIN_H
#define TOOLS_QUEUE_ADMIN_H

#include <stdbool.h>
#include <stdio.h>

/* The queue as the admin sees it: "correo queue", "sendmail -bp" and
 * "mailq" (tools/correo_queue.c, tools/queue_list.c). */

/* Per-message deferral reasons: queue/defer/ID, written by qmgr, one
 * line per deferred delivery, "<recipient>: reason" (the last line for
 * a recipient wins). Missing means no reason is known. */
#define QUEUE_DEFER_DIR "defer"

/* Load DIR/correo.conf, send log lines to $log_file or syslog, chdir
 * to $queue_directory and, when root, become $mail_owner. False after
 * printing why to stderr (prog is the name to print: "correo",
 * "sendmail", "mailq"). */
bool queue_admin_enter(const char *prog, const char *config_dir);

/* The mailq listing (json: one postqueue -j object per line). Returns
 * an exit status. cwd must be $queue_directory. */
int queue_list_print(FILE *out, const char *prog, bool json);
/* The envelope and content of one message, as postcat -q shows it.
 * Returns an exit status. */
int queue_list_show(FILE *out, const char *prog, const char *id);

/* Trigger PROTO_TRIGGER_FLUSH on private/qmgr. Returns an exit
 * status, having said why on stderr if qmgr is not reachable. */
int correo_queue_flush(const char *prog);

/* The queue directory holding id among incoming, active, deferred and
 * hold (then maildrop, corrupt), or NULL. */
const char *queue_admin_locate(const char *id);
/* What queue_admin_locate returns for a file in incoming/ that its
 * writer has not committed yet: not a message to act on. */
extern const char queue_admin_receiving[];

#endif
