/*
 * correo_queue: "correo queue", the admin's view of the mail queue
 * (mailq + postsuper + postqueue -f in one command).
 *
 *   correo queue [list] [--json]     the mailq listing (queue_list.c)
 *   correo queue show ID             envelope and content (postcat -q)
 *   correo queue flush               ask qmgr to retry deferred mail now
 *   correo queue hold ID...|ALL      incoming/, deferred/ -> hold/
 *   correo queue release ID...|ALL   hold/ -> deferred/, due now
 *   correo queue requeue ID...|ALL   incoming/, deferred/, hold/ ->
 *                                    incoming/ (processed afresh)
 *   correo queue delete ID...|ALL    remove from incoming/, deferred/,
 *                                    hold/, corrupt/ (not maildrop/)
 *
 * Interface: correo_queue_cmd (correo.h), queue_admin_enter
 * (queue_admin.h).
 *
 * Safety while qmgr runs: every change is one rename(2) (or unlink)
 * of a file that is not in active/, followed by an fsync of the target
 * directory. If qmgr takes the file into active/ first, the rename
 * fails with ENOENT and we say so. A message in active/ is refused
 * ("being delivered; try again"): qmgr holds it open and will move or
 * remove it itself within moments, and changing it under qmgr would
 * duplicate or lose deliveries. Each change is logged like postsuper
 * ("ID: removed", "ID: placed on hold", "ID: released from hold",
 * "ID: requeued") and echoed on stderr; qmgr is triggered after release
 * and requeue so the messages are picked up now.
 *
 * SECURITY: run by root or the mail owner (who can read the queue);
 * root becomes the mail owner once in the queue (queue_admin_drop), so
 * no file operation here runs as root in directories the mail owner
 * controls. IDs
 * from the command line are used as file names only after
 * queue_id_valid(), so "../x" cannot name a file outside the queue.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "proto.h"
#include "queue.h"
#include "server.h"
#include "str.h"

#include "correo.h"
#include "queue_admin.h"
#include "tool.h"

#define QUEUE_USAGE \
	"usage: correo [-c DIR] queue [list] [--json]\n" \
	"       correo [-c DIR] queue show ID\n" \
	"       correo [-c DIR] queue flush\n" \
	"       correo [-c DIR] queue hold|release|requeue|delete ID...|ALL\n"

enum qop_kind {
	QOP_HOLD,
	QOP_RELEASE,
	QOP_REQUEUE,
	QOP_DELETE,
};

struct qop {
	const char *name;
	enum qop_kind kind;
	const char *const *from;	/* source queues, NULL ended */
	const char *done;		/* "ID: placed on hold" */
	const char *total;		/* "Placed on hold: N messages" */
};

static const char *const from_hold[] = {
	QUEUE_INCOMING, QUEUE_DEFERRED, NULL };
static const char *const from_release[] = { QUEUE_HOLD, NULL };
static const char *const from_requeue[] = {
	QUEUE_INCOMING, QUEUE_DEFERRED, QUEUE_HOLD, NULL };
static const char *const from_delete[] = {
	QUEUE_INCOMING, QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_CORRUPT, NULL };

static const struct qop qops[] = {
	{ "hold", QOP_HOLD, from_hold, "placed on hold", "Placed on hold" },
	{ "release", QOP_RELEASE, from_release, "released from hold",
	  "Released from hold" },
	{ "requeue", QOP_REQUEUE, from_requeue, "requeued", "Requeued" },
	{ "delete", QOP_DELETE, from_delete, "removed", "Deleted" },
	{ NULL, 0, NULL, NULL, NULL },
};

/* Root works in the queue as $mail_owner, who owns its directories (as
 * Postfix's postsuper does): a directory the mail owner replaced with a
 * symlink can then never make root move or remove a file elsewhere. */
static bool queue_admin_drop(const char *prog, struct cfg *cfg)
{
	const char *owner = cfg_str(cfg, "mail_owner");
	struct priv_user user;
	const char *error;
	int ret;

	if (!priv_is_root())
		return true;
	ret = priv_user_lookup(owner, &user);
	if (ret <= 0) {
		fprintf(stderr, "%s: mail_owner %s: %s\n", prog, owner,
			ret < 0 ? strerror(errno) : "no such user");
		return false;
	}
	if (user.uid == 0 || !priv_drop(user.name, user.uid, user.gid,
					&error)) {
		fprintf(stderr, "%s: cannot become mail_owner %s: %s\n",
			prog, owner, user.uid == 0 ? "it is root" : error);
		priv_user_free(&user);
		return false;
	}
	priv_user_free(&user);
	return true;
}

bool queue_admin_enter(const char *prog, const char *config_dir)
{
	char *error = NULL;
	struct cfg *cfg = tool_load_config(config_dir, &error);
	const char *queue, *log_file;

	if (cfg == NULL) {
		fprintf(stderr, "%s: %s\n", prog, error);
		mem_free(error);
		return false;
	}
	log_file = cfg_str(cfg, "log_file");
	if (log_file[0] == '\0')
		msg_open_syslog();
	else if (!msg_open_file(log_file))
		msg_open_stderr();
	queue = cfg_str(cfg, "queue_directory");
	if (chdir(queue) < 0) {
		fprintf(stderr, "%s: cannot enter the queue %s: %s\n", prog,
			queue, strerror(errno));
		return false;
	}
	return queue_admin_drop(prog, cfg);
}

/* Remove queue/defer/ID, if any. */
static void qop_forget_reasons(const char *id)
{
	char path[QUEUE_ID_SIZE + 32];

	if (str_snprintf(path, sizeof(path), "%s/%s", QUEUE_DEFER_DIR, id))
		(void)unlink(path);
}

/* A released message is due now: qmgr reads deferred/ mtimes as next
 * attempt times. */
static void qop_make_due(const char *id)
{
	char path[QUEUE_ID_SIZE + 32];

	if (str_snprintf(path, sizeof(path), "%s/%s", QUEUE_DEFERRED, id))
		(void)utimensat(AT_FDCWD, path, NULL, 0);
}

static bool qop_apply(const struct qop *op, const char *id,
		      const char *from)
{
	char path[QUEUE_ID_SIZE + 32];
	bool ok;

	switch (op->kind) {
	case QOP_HOLD:
		return queue_move(id, from, QUEUE_HOLD);
	case QOP_RELEASE:
		ok = queue_move(id, from, QUEUE_DEFERRED);
		if (ok)
			qop_make_due(id);
		return ok;
	case QOP_REQUEUE:
		if (strcmp(from, QUEUE_INCOMING) == 0)
			return true;
		ok = queue_move(id, from, QUEUE_INCOMING);
		if (ok)
			qop_forget_reasons(id);
		return ok;
	case QOP_DELETE:
		if (!str_snprintf(path, sizeof(path), "%s/%s", from, id))
			return false;
		ok = unlink(path) == 0;
		if (ok)
			qop_forget_reasons(id);
		return ok;
	}
	return false;
}

static bool qop_from_ok(const struct qop *op, const char *queue)
{
	for (size_t i = 0; op->from[i] != NULL; i++)
		if (strcmp(op->from[i], queue) == 0)
			return true;
	return false;
}

/* One named message. Returns 1 done, 0 not applicable, -1 error. */
static int qop_one(const struct qop *op, const char *id)
{
	const char *queue;

	if (!queue_id_valid(id) || (queue = queue_admin_locate(id)) == NULL) {
		tool_complain("%s: no such message in the queue", id);
		return -1;
	}
	if (queue == queue_admin_receiving) {
		tool_complain("%s: message is still being received; try "
			      "again in a moment", id);
		return -1;
	}
	if (strcmp(queue, QUEUE_ACTIVE) == 0) {
		tool_complain("%s: message is being delivered (active); try "
			      "again in a moment", id);
		return -1;
	}
	if (!qop_from_ok(op, queue)) {
		tool_complain("%s: message is in %s/: nothing to %s", id,
			      queue, op->name);
		return 0;
	}
	if (!qop_apply(op, id, queue)) {
		if (errno == ENOENT)
			tool_complain("%s: message moved while we looked "
				      "(probably being delivered); try again",
				      id);
		else
			tool_complain("%s: %s: %s", id, op->name,
				      strerror(errno));
		return -1;
	}
	msg_info("%s: %s", id, op->done);
	tool_complain("%s: %s", id, op->done);
	return 1;
}

static bool qop_collect(const char *id, void *ctx)
{
	struct str *ids = ctx;

	str_append(ids, id);
	str_append_c(ids, ' ');
	return true;
}

/* Every message of the op's source queues; IDs that move meanwhile
 * are skipped quietly. */
static int qop_all(const struct qop *op, unsigned long *count_r)
{
	struct str ids = STR_INIT;
	int status = 0;

	for (size_t q = 0; op->from[q] != NULL; q++) {
		char *cursor, *id;

		str_clear(&ids);
		if (queue_scan(op->from[q], qop_collect, &ids) < 0) {
			tool_complain("cannot read %s/: %s", op->from[q],
				      strerror(errno));
			status = 1;
			continue;
		}
		cursor = ids.data;
		while (cursor != NULL &&
		       (id = str_token(&cursor, " ")) != NULL) {
			if (*id == '\0')
				continue;
			if (!qop_apply(op, id, op->from[q])) {
				if (errno != ENOENT) {
					tool_complain("%s: %s: %s", id,
						      op->name,
						      strerror(errno));
					status = 1;
				}
				continue;
			}
			msg_info("%s: %s", id, op->done);
			tool_complain("%s: %s", id, op->done);
			(*count_r)++;
		}
	}
	str_release(&ids);
	return status;
}

static void qop_wake_qmgr(char code)
{
	if (!server_trigger(QUEUE_PRIVATE "/qmgr", code))
		tool_complain("note: qmgr is not running (%s); the change "
			      "takes effect when it starts", strerror(errno));
}

static int qop_run(const struct qop *op, int argc, char **argv)
{
	unsigned long count = 0;
	int status = 0;

	if (argc < 2) {
		fputs(QUEUE_USAGE, stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "ALL") == 0) {
			status |= qop_all(op, &count);
			continue;
		}
		switch (qop_one(op, argv[i])) {
		case 1:
			count++;
			break;
		case -1:
			status = 1;
			break;
		}
	}
	if (count > 0) {
		tool_complain("%s: %lu message%s", op->total, count,
			      count == 1 ? "" : "s");
		if (op->kind == QOP_RELEASE || op->kind == QOP_REQUEUE)
			qop_wake_qmgr(op->kind == QOP_REQUEUE ?
				      PROTO_TRIGGER_SCAN :
				      PROTO_TRIGGER_WAKEUP);
	}
	return status;
}

int correo_queue_flush(const char *prog)
{
	if (!server_trigger(QUEUE_PRIVATE "/qmgr", PROTO_TRIGGER_FLUSH)) {
		fprintf(stderr, "%s: cannot flush the queue: qmgr is not "
			"reachable (%s); is the mail system running?\n", prog,
			strerror(errno));
		return 1;
	}
	return 0;
}

static int queue_list_cmd(int argc, char **argv)
{
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 ||
		    strcmp(argv[i], "-j") == 0) {
			json = true;
		} else if (strcmp(argv[i], "list") != 0) {
			fputs(QUEUE_USAGE, stderr);
			return 2;
		}
	}
	return queue_list_print(stdout, TOOL_NAME, json);
}

int correo_queue_cmd(const char *config_dir, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "list";

	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 ||
	    strcmp(sub, "help") == 0) {
		fputs(QUEUE_USAGE, stdout);
		return 0;
	}
	msg_set_name("queue");
	if (!queue_admin_enter(TOOL_NAME, config_dir))
		return 1;
	if (strcmp(sub, "list") == 0 || sub[0] == '-')
		return queue_list_cmd(argc, argv);
	if (strcmp(sub, "show") == 0) {
		if (argc != 3) {
			fputs(QUEUE_USAGE, stderr);
			return 2;
		}
		return queue_list_show(stdout, TOOL_NAME, argv[2]);
	}
	if (strcmp(sub, "flush") == 0 && argc == 2)
		return correo_queue_flush(TOOL_NAME);
	for (const struct qop *op = qops; op->name != NULL; op++)
		if (strcmp(sub, op->name) == 0)
			return qop_run(op, argc - 1, argv + 1);
	fputs(QUEUE_USAGE, stderr);
	return 2;
}
