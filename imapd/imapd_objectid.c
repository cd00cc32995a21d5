/*
 * imapd_objectid: OBJECTID (RFC 8474) and SAVEDATE (RFC 8514) in the
 * IMAP mail process (imapd.h): MAILBOXID of a mailbox, EMAILID of a
 * message of the selected one and its keeping across COPY and MOVE, the
 * save date; the ids themselves are the store's (store_objectid.h,
 * store_savedate.h).
 *
 * THREADID is always NIL, as in Dovecot without a thread index: RFC 8474
 * lets a server that does not group messages into threads say so.
 *
 * SECURITY: runs as the mailbox owner; names are checked by
 * imapd_mailbox_dir() before a path is built from them.
 */
#include "config.h"

#include "imapd.h"
#include "msg.h"
#include "store_objectid.h"
#include "store_savedate.h"

bool imapd_mailbox_id(struct imapd *s, const char *name,
		      char id_r[STORE_OBJECTID_MAX])
{
	struct str dir = STR_INIT, error = STR_INIT;
	const char *why;
	bool ok = imapd_mailbox_dir(s, name, &dir, &why);

	if (ok && !store_mailbox_id(str_c(&dir), id_r, &error)) {
		msg_warn("%s: MAILBOXID of %s: %s", s->user, name,
			 str_c(&error));
		ok = false;
	}
	str_release(&dir);
	str_release(&error);
	return ok;
}

void imapd_email_id(struct imapd *s, const struct store_msg *m,
		    char id_r[STORE_OBJECTID_MAX])
{
	/* Another session may have copied or moved messages in since:
	 * one stat per command, and none for commands that never ask. */
	if (s->emailids == NULL || s->emailids_cmd != s->cmd_seq) {
		store_emailids_refresh(&s->emailids, s->folder->dir);
		s->emailids_cmd = s->cmd_seq;
	}
	store_email_id(s->emailids, m->name, id_r);
}

bool imapd_email_id_copy(struct imapd *s, const struct store_msg *src,
			 struct store_folder *dst, uint32_t dst_uid,
			 struct str *error_r)
{
	char id[STORE_OBJECTID_MAX];
	const struct store_msg *m;

	imapd_email_id(s, src, id);
	if (!store_folder_refresh(dst, error_r))
		return false;
	m = store_lookup(dst, dst_uid, NULL);
	if (m == NULL)
		return true;	/* expunged already: nothing to keep */
	return store_email_id_set(dst->dir, m->name, id, error_r);
}

int64_t imapd_savedate(struct imapd *s, const struct store_msg *m)
{
	return store_msg_savedate(s->folder, m);
}
