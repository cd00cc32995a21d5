#ifndef DELIVERY_LOCAL_H
#define DELIVERY_LOCAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "maildir.h"
#include "queue.h"
#include "resolve.h"
#include "str.h"

/* local: the local delivery agent. It serves "deliver" requests from
 * qmgr (proto.h) on private/local and writes into Maildirs, mbox files,
 * alias files and commands, as the mailbox owner. */

enum local_status {
	LOCAL_OK,
	LOCAL_DEFER,
	LOCAL_BOUNCE,
};

struct local_result {
	enum local_status status;
	const char *dsn;	/* static "2.0.0", "4.2.0", ... */
	struct str reason;	/* "delivered to maildir", or why not */
};

/* One delivery of a request. */
struct local_rcpt {
	const char *address;	/* final address */
	const char *orig;	/* the queue recipient */
	const char *target;	/* "|cmd" or "/file", or NULL */
	long index;
};

/* Process-wide settings and tables, set up by local_pre_init. */
struct local_state {
	struct resolver *resolver;
	bool switch_user;	/* root: deliver as the owner */
	long long size_limit;	/* mailbox_size_limit, 0 none */
	long command_timeout;	/* seconds */
	long request_timeout;	/* seconds between requests */
	long daemon_timeout;	/* seconds per request */
};

extern struct local_state local_state;

void local_pre_init(void *ctx);
void local_post_init(void *ctx);
/* Serve one qmgr connection: requests until EOF or idle timeout. */
void local_serve(int fd, void *ctx);

/* Deliver msg to one recipient; fills res (reason cleared first). */
void local_deliver(struct queue_msg *msg, const struct local_rcpt *rcpt,
		   struct local_result *res);

/* local_content.c: what each delivery writes. */
struct local_content {
	struct queue_msg *msg;
	const char *sender;	/* "" for the null sender */
	const char *rcpt;	/* Delivered-To */
	const char *quota;	/* the mailbox's quota rule, or NULL */
	const char *data;	/* the content in memory, or NULL */
};
/* Return-Path + Delivered-To + the content (maildir_write_fn shape). */
bool local_content_write(int fd, void *ctx);
/* Deliver into the store's folder dir: from c->data when the content
 * is in memory (written at once, sizes and cache entry without reading
 * the file back), else through local_content_write. */
enum maildir_status local_content_store(const struct local_content *c,
					const char *dir, long long size_limit,
					struct str *error_r,
					const char **dsn_r);
/* The same as an mbox entry: From_ line, ">From " quoting, blank line. */
bool local_content_write_mbox(int fd, void *ctx);
/* 1 if the message header has "Delivered-To: rcpt" (a loop), 0 if not,
 * -1 on a read error. */
int local_content_loop(struct queue_msg *msg, const char *rcpt);

/* local_command.c: pipe the message into "/bin/sh -c cmd". Runs as the
 * current user (the caller switched already). */
void local_command(const struct local_content *content, const char *cmd,
		   long timeout, struct local_result *res);
/* local_mbox.c: append an mbox entry to path, locked. */
void local_mbox(const struct local_content *content, const char *path,
		struct local_result *res);

/* The write itself (Maildir, mbox, file or command), as whoever we are
 * now. */
struct resolve_delivery;
void local_write(const struct local_content *c,
		 const struct resolve_delivery *d, struct local_result *res);

/* local_worker.c: root mode. Run local_write as d->user in that owner's
 * worker process (started on first use, reused after). */
void local_worker_write(const struct local_content *c,
			const struct resolve_delivery *d,
			struct local_result *res);
/* Stop every worker (end of a qmgr connection). */
void local_worker_close_all(void);
/* The pid of owner's live worker, or 0 (tests). */
pid_t local_worker_pid(const char *owner);

void local_result_set(struct local_result *res, enum local_status status,
		      const char *dsn, const char *fmt, ...) MSG_PRINTF(4, 5);

/* local_forward.c: ~/.forward of a system account (root mode). */
/* A worker request kind besides the resolve_kind targets: read the
 * owner's .forward. */
#define LOCAL_KIND_FORWARD 100
/* In the owner's worker: open HOME/.forward as the owner and check it
 * (never a symlink; a regular file owned by the owner or root, not
 * group or world writable). res: OK with reason "F" + the text, OK "N"
 * when there is none, DEFER when it is refused or unreadable. */
void local_forward_read(const char *home, struct local_result *res);
/* The root side: if the final recipient is a system account with a
 * .forward, carry it out (its own mailbox for "\user", commands and
 * files as the user, other addresses resent through the queue with
 * Delivered-To) and return true with res set; false to deliver to d as
 * usual. */
struct resolve_delivery;
bool local_forward(const struct local_content *c,
		   const struct local_rcpt *rcpt,
		   const struct resolve_delivery *d, struct local_result *res);

#endif
