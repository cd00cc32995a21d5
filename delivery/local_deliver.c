/*
 * local_deliver: one delivery of one message to one final recipient
 * (local.h).
 *
 * The target is found here, not taken from qmgr: a mailbox through
 * resolve_mailbox, a "|command" or "/file" only when expanding the
 * original recipient yields exactly that target (so a confused or
 * compromised qmgr cannot make local write anywhere). Then the
 * Delivered-To loop check, then the write as the owner.
 *
 * Running as root, each delivery goes to a worker process running as
 * the owner (local_worker.c: priv_drop, verified, one worker per owner
 * serving many deliveries); root itself never touches a mailbox. In
 * instance mode everything runs in-process.
 *
 * Interface: local_deliver, local_result_set.
 *
 * SECURITY: the only code in local that runs with a user's identity on
 * that user's files. Deliveries for uid 0 are refused: alias root to a
 * person.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "local.h"
#include "maildir.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "safe_file.h"
#include "store.h"
#include "store_quota.h"

void local_result_set(struct local_result *res, enum local_status status,
		      const char *dsn, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	res->dsn = dsn;
	str_clear(&res->reason);
	va_start(ap, fmt);
	str_vprintf(&res->reason, fmt, ap);
	va_end(ap);
}

/* Would the message fit in the Maildir's quota? False with res set
 * (a deferral: the user may make room, RFC 3463 4.2.2, and the queue
 * lifetime turns it into a bounce). */
static bool local_quota_ok(const struct local_content *c, const char *dir,
			   struct local_result *res)
{
	struct store_quota q;
	struct str error = STR_INIT;
	const char *why;
	uint64_t size;
	int ret;

	if (c->quota == NULL)
		return true;
	if (!store_quota_parse(c->quota, &q, &why)) {
		local_result_set(res, LOCAL_DEFER, "4.3.5",
				 "bad quota \"%s\" in mailbox_quota_maps: %s",
				 c->quota, why);
		return false;
	}
	/* What local adds: Return-Path and Delivered-To. */
	size = (uint64_t)c->msg->content_len + strlen(c->sender) +
	       strlen(c->rcpt) + 32;
	ret = store_quota_check(dir, &q, size, 1, &error);
	if (ret == 0)
		local_result_set(res, LOCAL_DEFER, "4.2.2",
				 "maildir delivery failed: 4.2.2 Mailbox full "
				 "/ quota exceeded (mailbox for user is full)");
	else if (ret < 0)
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "maildir delivery failed: quota: %s",
				 str_c(&error));
	str_release(&error);
	return ret == 1;
}

void local_write(const struct local_content *c,
			const struct resolve_delivery *d,
			struct local_result *res)
{
	struct str error = STR_INIT;
	enum maildir_status st;
	const char *dsn;

	switch (d->kind) {
	case RESOLVE_MAILDIR:
		if (!local_quota_ok(c, d->path, res))
			break;
		/* Through the mailbox store: the message gets its UID
		 * now, so no reader ever scans the folder for it. */
		st = local_content_store(c, d->path, local_state.size_limit,
					 &error, &dsn);
		if (st == MAILDIR_OK)
			local_result_set(res, LOCAL_OK, "2.0.0",
					 "delivered to maildir");
		else
			local_result_set(res, st == MAILDIR_DEFER ?
					 LOCAL_DEFER : LOCAL_BOUNCE, dsn,
					 "%s", str_c(&error));
		break;
	case RESOLVE_MAILBOX:
	case RESOLVE_FILE:
		local_mbox(c, d->path, res);
		break;
	case RESOLVE_COMMAND:
		local_command(c, d->path, local_state.command_timeout, res);
		break;
	default:
		local_result_set(res, LOCAL_BOUNCE, "5.3.0",
				 "not a local delivery target");
		break;
	}
	str_release(&error);
}

/* Find the command/file target in the expansion of the original
 * recipient. */
static bool local_find_target(const struct local_rcpt *rcpt,
			      struct resolve_delivery *d)
{
	struct resolve_result res = RESOLVE_RESULT_INIT;
	enum resolve_kind kind = rcpt->target[0] == '|' ? RESOLVE_COMMAND :
		RESOLVE_FILE;
	const char *want = rcpt->target + (kind == RESOLVE_COMMAND ? 1 : 0);
	bool found = false;

	resolve_expand(local_state.resolver, rcpt->orig, &res);
	for (size_t i = 0; i < res.count && !found; i++) {
		struct resolve_delivery *it = &res.items[i];

		if (it->kind == kind && strcmp(it->path, want) == 0) {
			*d = *it;
			memset(it, 0, sizeof(*it));
			found = true;
		}
	}
	resolve_result_clear(&res);
	return found;
}

/* Fill d with the target; false with res set when there is none. */
static bool local_target(const struct local_rcpt *rcpt,
			 struct resolve_delivery *d, struct local_result *res)
{
	const char *error = "";
	int ret;

	memset(d, 0, sizeof(*d));
	if (rcpt->target != NULL) {
		if (local_find_target(rcpt, d))
			return true;
		local_result_set(res, LOCAL_BOUNCE, "5.3.0",
				 "%s is not a delivery target of %s",
				 rcpt->target, rcpt->orig);
		return false;
	}
	ret = resolve_mailbox(local_state.resolver, rcpt->address, d, &error);
	if (ret == 1)
		return true;
	if (ret < 0)
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "mailbox lookup failed: %s", error);
	else
		local_result_set(res, LOCAL_BOUNCE, "5.1.1",
				 "unknown user: \"%s\"", rcpt->address);
	return false;
}

void local_deliver(struct queue_msg *msg, const struct local_rcpt *rcpt,
		   struct local_result *res)
{
	struct resolve_delivery d;
	struct local_content c = { msg, msg->sender, rcpt->address, NULL,
				   NULL };
	struct str quota = STR_INIT;
	const char *error = "";
	int loop;

	if (!local_target(rcpt, &d, res))
		return;
	if (d.kind == RESOLVE_MAILDIR) {
		switch (resolve_quota(local_state.resolver, rcpt->address,
				      &quota, &error)) {
		case -1:
			local_result_set(res, LOCAL_DEFER, "4.3.0",
					 "quota lookup failed: %s", error);
			resolve_delivery_clear(&d);
			return;
		case 1:
			c.quota = str_c(&quota);
			break;
		}
	}
	loop = local_content_loop(msg, rcpt->address);
	if (loop < 0)
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot read queue file: %s", strerror(errno));
	else if (loop > 0)
		local_result_set(res, LOCAL_BOUNCE, "5.4.6",
				 "mail forwarding loop for %s", rcpt->address);
	else if (local_forward(&c, rcpt, &d, res))
		;	/* ~/.forward (root mode): done */
	else if (local_state.switch_user && d.user != NULL)
		local_worker_write(&c, &d, res);
	else
		local_write(&c, &d, res);
	resolve_delivery_clear(&d);
	str_release(&quota);
}
