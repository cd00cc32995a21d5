/*
 * imapd_quota: the QUOTA extension (RFC 9208) of the IMAP mail process
 * (imapd.h): GETQUOTA, GETQUOTAROOT, SETQUOTA, the [OVERQUOTA] check
 * before APPEND and COPY store anything (for APPEND already before the
 * client sends a synchronising literal's data: no point uploading a
 * message that cannot be kept), STATUS DELETED-STORAGE.
 *
 * One quota root per user, named "User quota" as Dovecot's default
 * configuration names it, governing every mailbox; its resources are
 * STORAGE (in units of 1024 octets, rounded up) and MESSAGE, each shown
 * only when it has a limit. The limits are the administrator's
 * (mailbox_quota_maps, mailbox_quota_default, handed over at login), so
 * SETQUOTA is refused with NO and QUOTASET is not advertised. The usage
 * is the store's (store_quota.h: Maildir++ maildirsize).
 *
 * MOVE is not checked: within one user it adds nothing (the copy is
 * counted, the source uncounted in the same command), and a user over
 * quota must still be able to move mail to Trash. Dovecot does the same.
 *
 * SECURITY: runs as the mailbox owner; the quota root name from the
 * client is only compared, mailbox names go through imapd_name_in.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "imap_quote.h"
#include "imapd.h"
#include "msg.h"
#include "store_quota.h"

#define IMAPD_QUOTA_ROOT "User quota"

void imapd_quota_init(struct imapd *s, const char *rule)
{
	const char *why;

	s->quota_conf = rule != NULL;
	if (rule != NULL && !store_quota_parse(rule, &s->quota, &why)) {
		/* Admin error: enforce what the file says meanwhile. */
		msg_warn("%s: bad quota \"%s\": %s", s->user, rule, why);
		s->quota_conf = false;
	}
}

/* 1 usage and limits known, 0 no quota, -1 error (logged). */
static int imapd_quota_get(struct imapd *s, struct store_quota *q,
			   struct store_usage *u)
{
	struct str error = STR_INIT;
	int ret = store_quota_get(s->root, s->quota_conf ? &s->quota : NULL,
				  q, u, &error);

	if (ret < 0)
		msg_warn("%s: quota: %s", s->user, str_c(&error));
	str_release(&error);
	return ret;
}

bool imapd_quota_fits(struct imapd *s, uint64_t bytes, uint64_t messages)
{
	struct store_quota q;
	struct store_usage u;

	/* An unreadable quota does not stop the user's own mail. */
	if (imapd_quota_get(s, &q, &u) <= 0)
		return true;
	return !((q.bytes > 0 && (uint64_t)u.bytes + bytes > q.bytes) ||
		 (q.messages > 0 &&
		  (uint64_t)u.messages + messages > q.messages));
}

void imapd_quota_refuse(struct imapd *s, const char *tag)
{
	imapd_tagged(s, tag, "NO [OVERQUOTA] Quota exceeded (mailbox for "
		     "user is full)");
}

bool imapd_quota_literal_refused(struct imapd *s)
{
	const struct imap_cmd *cmd = imap_parser_cmd(s->parser);

	if (cmd->name == NULL || strcmp(cmd->name, "APPEND") != 0 ||
	    imapd_quota_fits(s, imap_parser_literal_size(s->parser), 1))
		return false;
	/* Answered now, not through imapd_tagged: no command runs. */
	imapd_printf(s, "%s NO [OVERQUOTA] Quota exceeded (mailbox for user "
		     "is full)\r\n", cmd->tag);
	imap_parser_refuse(s->parser);
	return true;
}

uint64_t imapd_quota_kb(uint64_t bytes)
{
	return bytes / 1024 + (bytes % 1024 != 0);
}

/* "* QUOTA "User quota" (...)". */
static void imapd_quota_send(struct imapd *s)
{
	struct store_quota q = { 0, 0 };
	struct store_usage u = { 0, 0 };
	struct str res = STR_INIT;

	if (imapd_quota_get(s, &q, &u) <= 0)
		q.bytes = q.messages = 0;
	if (q.bytes > 0)
		str_printf(&res, "STORAGE %" PRIu64 " %" PRIu64,
			   imapd_quota_kb((uint64_t)u.bytes),
			   q.bytes / 1024 > 0 ? q.bytes / 1024 : 1);
	if (q.messages > 0)
		str_printf(&res, "%sMESSAGE %" PRId64 " %" PRIu64,
			   res.len > 0 ? " " : "", u.messages, q.messages);
	imapd_printf(s, "* QUOTA \"%s\" (%s)\r\n", IMAPD_QUOTA_ROOT,
		     str_c(&res));
	str_release(&res);
}

void imapd_cmd_getquota(struct imapd *s, const struct imap_cmd *cmd)
{
	const char *root;

	if (cmd->nargs != 1 || !imap_arg_get_astring(&cmd->args[0], &root)) {
		imapd_tagged(s, cmd->tag, "BAD Missing quota root.");
		return;
	}
	if (strcmp(root, IMAPD_QUOTA_ROOT) != 0) {
		imapd_tagged(s, cmd->tag, "NO Quota root doesn't exist.");
		return;
	}
	imapd_quota_send(s);
	imapd_tagged(s, cmd->tag, "OK Getquota completed.");
}

void imapd_cmd_getquotaroot(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str name = STR_INIT, out = STR_INIT;

	if (cmd->nargs > 1) {
		imapd_tagged(s, cmd->tag, "BAD Expected one mailbox name.");
		goto out;
	}
	if (!imapd_existing_arg(s, cmd, 0, "NONEXISTENT", &name))
		goto out;
	imapd_name_out(s, str_c(&name), &out);
	imapd_printf(s, "* QUOTAROOT %s \"%s\"\r\n", str_c(&out),
		     IMAPD_QUOTA_ROOT);
	imapd_quota_send(s);
	imapd_tagged(s, cmd->tag, "OK Getquotaroot completed.");
out:
	str_release(&name);
	str_release(&out);
}

void imapd_cmd_setquota(struct imapd *s, const struct imap_cmd *cmd)
{
	const struct imap_arg *list;
	const char *root;
	unsigned n;

	if (cmd->nargs != 2 || !imap_arg_get_astring(&cmd->args[0], &root) ||
	    !imap_arg_get_list(&cmd->args[1], &list, &n)) {
		imapd_tagged(s, cmd->tag, "BAD Invalid arguments.");
		return;
	}
	imapd_tagged(s, cmd->tag, "NO Quota can be changed only by admin.");
}
