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

#include <stdlib.h>

#include "imapd.h"
#include "mem.h"
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
	store_email_id(s->emailids, store_msg_name(s->folder, m), id_r);
}

void imapd_copied_id_add(struct imapd *s, struct imapd_copied_ids *c,
			 const struct store_msg *src, uint32_t dst_uid)
{
	c->uids = mem_array_realloc(c->uids, c->n + 1, sizeof(*c->uids));
	c->ids = mem_array_realloc(c->ids, c->n + 1, sizeof(*c->ids));
	c->uids[c->n] = dst_uid;
	imapd_email_id(s, src, c->ids[c->n]);
	c->n++;
}

bool imapd_copied_ids_write(struct imapd_copied_ids *c,
			    struct store_folder *dst, struct str *error_r)
{
	struct str records = STR_INIT;
	bool ok = c->n == 0 || store_folder_refresh(dst, error_r);

	for (size_t i = 0; ok && i < c->n; i++) {
		const struct store_msg *m = store_lookup(dst, c->uids[i],
							 NULL);

		/* Expunged already: nothing to keep. */
		if (m != NULL)
			(void)store_email_id_record(&records,
						    store_msg_name(dst, m),
						    c->ids[i]);
	}
	if (ok)
		ok = store_email_ids_write(dst->dir, &records, error_r);
	str_release(&records);
	mem_free(c->uids);
	mem_free(c->ids);
	c->n = 0;
	return ok;
}

int64_t imapd_savedate(struct imapd *s, const struct store_msg *m)
{
	return store_msg_savedate(s->folder, m);
}
