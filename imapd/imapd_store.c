/*
 * imapd_store: the commands that change messages in the IMAP mail
 * process (imapd.h): STORE, COPY, MOVE (RFC 6851) and APPEND, with
 * UIDPLUS answers (RFC 4315: APPENDUID, COPYUID).
 *
 * A copy is a new delivery into the destination folder through the
 * store (a new file, fsync'd, its UID assigned by the index), with the
 * source's flags, keywords and internal date. MOVE is COPY, then an
 * expunge of the sources; the COPYUID comes untagged before the EXPUNGE
 * responses, as RFC 6851 asks.
 *
 * SECURITY: runs as the mailbox owner; destination names are checked
 * (imapd_name_in) before any path is built from them; APPEND's size is
 * bounded by the parser (APPENDLIMIT).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap_date.h"
#include "imap_flags.h"
#include "imapd.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"

/* Keyword names to a keyword mask of f, defining new ones. */
static bool imapd_keyword_mask(struct store_folder *f,
			       const char *const *names, unsigned n,
			       uint64_t *mask_r, struct str *error_r)
{
	*mask_r = 0;
	for (unsigned i = 0; i < n; i++) {
		int idx = store_keyword(f, names[i], error_r);

		if (idx < 0)
			return false;
		*mask_r |= 1ULL << idx;
	}
	return true;
}

/* The FETCH answer to a STORE of view index i (RFC 7162 3.1.3: with
 * CONDSTORE, MODSEQ always, and only that under .SILENT). */
static void imapd_store_fetch(struct imapd *s, const struct imap_cmd *cmd,
			      const struct imap_store *st, size_t i,
			      struct str *flags)
{
	const struct imapd_view *v = &s->view[i];

	if (st->silent && !s->condstore)
		return;
	imapd_printf(s, "* %zu FETCH (", i + 1);
	if (cmd->uid || s->qresync)
		imapd_printf(s, "UID %u ", v->uid);
	if (!st->silent) {
		str_clear(flags);
		imapd_format_flags(s, v, flags);
		imapd_printf(s, "FLAGS %s%s", str_c(flags),
			     s->condstore ? " " : "");
	}
	if (s->condstore)
		imapd_printf(s, "MODSEQ (%llu)",
			     (unsigned long long)imapd_modseq(v->modseq));
	imapd_printf(s, ")\r\n");
}

void imapd_cmd_store(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imap_seqset uids = IMAP_SEQSET_INIT;
	struct imap_seqset modified = IMAP_SEQSET_INIT;
	struct imap_store st = { 0 };
	struct str error = STR_INIT, flags = STR_INIT;
	const char *set, *why = "Invalid arguments.";
	uint64_t unchangedsince = UINT64_MAX;
	uint32_t sflags;
	uint64_t kw = 0;
	bool failed = false, mods;

	mods = cmd->nargs >= 2 && cmd->args[1].type == IMAP_ARG_LIST;
	if (cmd->nargs < 2 || !imap_arg_get_atom(&cmd->args[0], &set) ||
	    !imapd_uidset(s, set, cmd->uid, &uids, &why) ||
	    (mods && !imap_store_mods_parse(&cmd->args[1], &unchangedsince,
					    &why)) ||
	    !imap_store_parse(&cmd->args[mods ? 2 : 1], &st, &why)) {
		imapd_tagged(s, cmd->tag, "BAD %s", why);
		goto out;
	}
	if (mods)
		imapd_condstore_enable(s);
	if (s->readonly) {
		imapd_tagged(s, cmd->tag, "NO [READ-ONLY] Mailbox is "
			     "read-only.");
		goto out;
	}
	if (!imapd_keyword_mask(s->folder, st.keywords, st.nkeywords, &kw,
				&error)) {
		imapd_tagged(s, cmd->tag, "NO [LIMIT] %s", str_c(&error));
		goto out;
	}
	imapd_announce_keywords(s);
	sflags = imapd_flags_to_store(st.flags);
	for (size_t i = 0; i < s->nview; i++) {
		struct imapd_view *v = &s->view[i];
		const struct store_msg *m;
		enum store_flags_op op = st.op == IMAP_STORE_ADD ?
			STORE_FLAGS_ADD : st.op == IMAP_STORE_REMOVE ?
			STORE_FLAGS_REMOVE : STORE_FLAGS_SET;

		if (v->expunged || !imap_seqset_contains(&uids, v->uid))
			continue;
		str_clear(&error);
		/* Relative to the flags as they are now, not as this
		 * session last saw them: two sessions' changes add up. */
		switch (store_change_flags_unchanged(s->folder, v->uid, op,
						     sflags, kw,
						     unchangedsince, &error)) {
		case 1:
			m = store_lookup(s->folder, v->uid, NULL);
			if (m == NULL)
				continue;
			v->flags = m->flags & STORE_F_ALL;
			v->keywords = m->keywords;
			v->modseq = m->modseq;
			v->flags_changed = false;
			if (v->flags & STORE_F_DELETED)
				s->deleted++;
			break;
		case 2:		/* UNCHANGEDSINCE failed */
			imap_seqset_add(&modified, cmd->uid ? v->uid :
					(uint32_t)i + 1);
			continue;
		case 0:
			continue;	/* expunged meanwhile */
		default:
			msg_warn("%s: store in %s: %s", s->user, s->mailbox,
				 str_c(&error));
			failed = true;
			continue;
		}
		imapd_store_fetch(s, cmd, &st, i, &flags);
	}
	if (failed) {
		imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Some flags could "
			     "not be stored.");
	} else if (modified.count > 0) {
		str_clear(&flags);
		imap_seqset_format(&modified, &flags);
		imapd_tagged(s, cmd->tag, "OK [MODIFIED %s] Conditional "
			     "STORE failed.", str_c(&flags));
	} else {
		imapd_tagged(s, cmd->tag, "OK Store completed.");
	}
out:
	imap_seqset_release(&modified);
	imap_seqset_release(&uids);
	imap_store_release(&st);
	str_release(&error);
	str_release(&flags);
}

struct imapd_copy_src {
	int fd;
};

/* A save that failed for want of space (the store's 4.2.2: ENOSPC or
 * EDQUOT) is answered as Dovecot does, OVERQUOTA (RFC 5530). */
#define IMAPD_NO_SPACE "NO [OVERQUOTA] Not enough disk space."

static bool imapd_disk_full(const char *dsn)
{
	return dsn != NULL && strcmp(dsn, "4.2.2") == 0;
}

static bool imapd_copy_write(int fd, void *ctx)
{
	struct imapd_copy_src *src = ctx;
	char buf[65536];
	ssize_t n;

	while ((n = read(src->fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (!safe_write_all(fd, buf, (size_t)n))
			return false;
	}
	return true;
}

/* Keywords of the source message by name into the destination's. */
static bool imapd_copy_keywords(const struct store_folder *src,
				struct store_folder *dst,
				uint32_t dst_uid, uint32_t flags,
				uint64_t keywords, struct str *error_r)
{
	const char *names[STORE_MAX_KEYWORDS];
	unsigned n = 0;
	uint64_t mask;

	for (unsigned i = 0; i < src->nkeywords; i++)
		if (keywords & (1ULL << i))
			names[n++] = src->keywords[i];
	if (!store_folder_refresh(dst, error_r) ||
	    !imapd_keyword_mask(dst, names, n, &mask, error_r))
		return false;
	return store_set_flags(dst, dst_uid, flags, mask, error_r) >= 0;
}

/* Would copies of the messages in uids fit in the quota? (MOVE is not
 * checked: imapd_quota.c says why.) */
static bool imapd_copy_fits(struct imapd *s, const struct imap_seqset *uids)
{
	uint64_t bytes = 0, n = 0;

	for (size_t i = 0; i < s->nview; i++) {
		const struct store_msg *m;

		if (s->view[i].expunged ||
		    !imap_seqset_contains(uids, s->view[i].uid))
			continue;
		m = store_lookup(s->folder, s->view[i].uid, NULL);
		if (m != NULL) {
			bytes += m->size;
			n++;
		}
	}
	return n == 0 || imapd_quota_fits(s, bytes, n);
}

void imapd_cmd_copy(struct imapd *s, const struct imap_cmd *cmd, bool move)
{
	struct imap_seqset uids = IMAP_SEQSET_INIT;
	struct imap_seqset src_set = IMAP_SEQSET_INIT;
	struct imap_seqset dst_set = IMAP_SEQSET_INIT;
	struct str name = STR_INIT, dir = STR_INIT, error = STR_INIT;
	struct str a = STR_INIT, b = STR_INIT, ignored = STR_INIT;
	struct store_folder *dst = NULL;
	struct imapd_copied_ids copied = { NULL, NULL, 0 };
	uint32_t *moved = NULL, validity = 0;
	size_t nmoved = 0;
	const char *set, *raw, *why = "Invalid arguments.";
	bool failed = false;
	bool full = false;

	if (cmd->nargs != 2 || !imap_arg_get_atom(&cmd->args[0], &set) ||
	    !imap_arg_get_astring(&cmd->args[1], &raw) ||
	    !imapd_uidset(s, set, cmd->uid, &uids, &why)) {
		imapd_tagged(s, cmd->tag, "BAD %s", why);
		goto out;
	}
	if (!imapd_existing_arg(s, cmd, 1, "TRYCREATE", &name))
		goto out;
	if (move && s->readonly) {
		imapd_tagged(s, cmd->tag, "NO [READ-ONLY] Mailbox is "
			     "read-only.");
		goto out;
	}
	(void)imapd_mailbox_dir(s, str_c(&name), &dir, &why);
	dst = store_folder_open(str_c(&dir), false, &error);
	if (dst == NULL) {
		msg_warn("%s: copy to %s: %s", s->user, str_c(&name),
			 str_c(&error));
		imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Copy failed.");
		goto out;
	}
	if (!move && !imapd_copy_fits(s, &uids)) {
		imapd_quota_refuse(s, cmd->tag);
		goto out;
	}
	moved = mem_array(s->nview + 1, sizeof(*moved));
	for (size_t i = 0; i < s->nview && !failed; i++) {
		struct imapd_view *v = &s->view[i];
		const struct store_msg *m;
		struct imapd_copy_src src;
		const char *dsn;
		uint32_t uid = 0;

		if (v->expunged || !imap_seqset_contains(&uids, v->uid))
			continue;
		/* The lookup after the open: an open that finds the file
		 * renamed refreshes the folder, which may move its array. */
		src.fd = store_msg_open(s->folder, v->uid, &error);
		m = src.fd < 0 ? NULL : store_lookup(s->folder, v->uid, NULL);
		if (m == NULL) {
			if (src.fd >= 0)
				close(src.fd);
			continue;	/* expunged meanwhile */
		}
		if (store_deliver(str_c(&dir), m->flags,
				  store_msg_date(s->folder, m),
				  imapd_copy_write, &src, 0, &uid, &error,
				  &dsn) != MAILDIR_OK || uid == 0) {
			failed = true;
			full = imapd_disk_full(dsn);
		}
		close(src.fd);
		if (!failed && m->keywords != 0 &&
		    !imapd_copy_keywords(s->folder, dst, uid, m->flags,
					 m->keywords, &error))
			failed = true;
		if (failed)
			break;
		/* The copy keeps the message's EMAILID (RFC 8474: MUST
		 * for MOVE, SHOULD for COPY), recorded for the whole set
		 * below. XXX: until then another session may see the
		 * copy's own id. */
		imapd_copied_id_add(s, &copied, m, uid);
		imap_seqset_add(&src_set, v->uid);
		imap_seqset_add(&dst_set, uid);
		moved[nmoved++] = v->uid;
	}
	/* The ids of what was copied, even if a later message failed;
	 * before a MOVE expunges the originals. */
	if (!imapd_copied_ids_write(&copied, dst, failed ? &ignored : &error))
		failed = true;
	if (failed) {
		msg_warn("%s: copy to %s: %s", s->user, str_c(&name),
			 str_c(&error));
		imapd_tagged(s, cmd->tag, full ? IMAPD_NO_SPACE :
			     "NO [SERVERBUG] Copy failed.");
		goto out;
	}
	(void)store_index_uidvalidity(str_c(&dir), &validity);
	imap_seqset_format(&src_set, &a);
	imap_seqset_format(&dst_set, &b);
	if (move) {
		if (nmoved > 0)
			imapd_printf(s, "* OK [COPYUID %u %s %s] Moved UIDs."
				     "\r\n", validity, str_c(&a), str_c(&b));
		if (nmoved > 0 &&
		    store_expunge(s->folder, moved, nmoved, &error) < 0) {
			msg_warn("%s: move from %s: %s", s->user, s->mailbox,
				 str_c(&error));
			imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Move "
				     "failed.");
			goto out;
		}
		imapd_tagged(s, cmd->tag, "OK Move completed.");
	} else if (nmoved > 0) {
		imapd_tagged(s, cmd->tag, "OK [COPYUID %u %s %s] Copy "
			     "completed.", validity, str_c(&a), str_c(&b));
	} else {
		imapd_tagged(s, cmd->tag, "OK Copy completed.");
	}
out:
	mem_free(copied.uids);
	mem_free(copied.ids);
	str_release(&ignored);
	store_folder_free(&dst);
	free(moved);
	imap_seqset_release(&uids);
	imap_seqset_release(&src_set);
	imap_seqset_release(&dst_set);
	str_release(&name);
	str_release(&dir);
	str_release(&error);
	str_release(&a);
	str_release(&b);
}

bool imapd_move_all(struct store_folder *src, const char *dst_dir,
		    struct str *error_r)
{
	struct store_folder *dst;
	uint32_t *moved, *uids;
	size_t n, nmoved = 0;
	bool ok = true;

	dst = store_folder_open(dst_dir, true, error_r);
	if (dst == NULL)
		return false;
	/* The UIDs first: opening a file may refresh src (msgs moves). */
	n = src->count;
	uids = mem_array(n + 1, sizeof(*uids));
	for (size_t i = 0; i < n; i++)
		uids[i] = src->msgs[i].uid;
	moved = mem_array(n + 1, sizeof(*moved));
	for (size_t i = 0; i < n && ok; i++) {
		const struct store_msg *m;
		struct imapd_copy_src cs;
		const char *dsn;
		uint32_t uid = 0;

		cs.fd = store_msg_open(src, uids[i], error_r);
		m = store_lookup(src, uids[i], NULL);
		if (cs.fd < 0 || m == NULL) {
			if (cs.fd >= 0)
				close(cs.fd);
			continue;	/* expunged meanwhile */
		}
		ok = store_deliver(dst_dir, m->flags, store_msg_date(src, m),
				   imapd_copy_write, &cs, 0, &uid, error_r,
				   &dsn) == MAILDIR_OK && uid != 0;
		close(cs.fd);
		if (ok && m->keywords != 0)
			ok = imapd_copy_keywords(src, dst, uid, m->flags,
						 m->keywords, error_r);
		if (ok)
			moved[nmoved++] = uids[i];
	}
	if (ok && nmoved > 0 && store_expunge(src, moved, nmoved,
					      error_r) < 0)
		ok = false;
	free(moved);
	free(uids);
	store_folder_free(&dst);
	return ok;
}

struct imapd_append_src {
	const char *data;
	size_t len;
};

static bool imapd_append_write(int fd, void *ctx)
{
	const struct imapd_append_src *src = ctx;

	return safe_write_all(fd, src->data, src->len);
}

/* One message of an APPEND (several with MULTIAPPEND), parsed before
 * any is stored. */
struct imapd_append_msg {
	unsigned iflags;
	const char **kws;
	unsigned nkw;
	time_t when;
	struct imapd_append_src src;	/* a literal, or built */
	struct str built;		/* CATENATE's message */
};

static void imapd_append_msgs_free(struct imapd_append_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].kws);
		str_release(&msgs[i].built);
	}
	free(msgs);
}

/* "[flags] [date-time] (literal | UTF8 (literal8) | CATENATE (...))" at
 * *argsp into m, moving *argsp past it; a CATENATE builds at most
 * max bytes. False with the tagged reply sent. */
static bool imapd_append_parse(struct imapd *s, const struct imap_cmd *cmd,
			       const struct imap_arg **argsp, size_t max,
			       struct imapd_catenate_cache **cache,
			       struct imapd_append_msg *m)
{
	const struct imap_arg *args = *argsp, *lit, *next, *list;
	const char *date, *why;
	unsigned nlist;
	int tz;

	if (imap_arg_get_list(args, &list, &nlist)) {
		if (!imap_flags_parse(list, &m->iflags, &m->kws, &m->nkw,
				      &why)) {
			imapd_tagged(s, cmd->tag, "BAD %s", why);
			return false;
		}
		args++;
	}
	if (args->type == IMAP_ARG_QUOTED &&
	    imap_arg_get_string(args, &date)) {
		if (!imap_date_parse_datetime(date, &m->when, &tz)) {
			imapd_tagged(s, cmd->tag, "BAD Invalid date time.");
			return false;
		}
		args++;
	}
	lit = args;
	next = args + 1;
	if (imap_arg_atom_equals(args, "CATENATE")) {
		/* RFC 4469: the message from TEXT and URL parts. */
		if (!imap_arg_get_list(args + 1, &list, &nlist)) {
			imapd_tagged(s, cmd->tag, "BAD CATENATE takes a "
				     "list.");
			return false;
		}
		if (!imapd_catenate(s, cmd, list, max, cache, &m->built))
			return false;
		m->src.data = m->built.data != NULL ? m->built.data : "";
		m->src.len = m->built.len;
		next = args + 2;
	} else {
		/* RFC 6855 4: UTF8 (~{n}...) after ENABLE UTF8=ACCEPT, a
		 * message that may carry UTF-8 headers. */
		if (imap_arg_atom_equals(args, "UTF8")) {
			const struct imap_arg *l;
			unsigned nl;

			if (!s->utf8_accept) {
				imapd_tagged(s, cmd->tag, "BAD UTF8 needs "
					     "ENABLE UTF8=ACCEPT.");
				return false;
			}
			if (!imap_arg_get_list(args + 1, &l, &nl) ||
			    nl != 1 || l->type != IMAP_ARG_LITERAL8) {
				imapd_tagged(s, cmd->tag, "BAD UTF8 takes a "
					     "literal8 in parentheses.");
				return false;
			}
			lit = l;
			next = args + 2;
		}
		if (lit->type != IMAP_ARG_LITERAL &&
		    lit->type != IMAP_ARG_LITERAL8) {
			imapd_tagged(s, cmd->tag, "BAD Missing message "
				     "literal.");
			return false;
		}
		m->src.data = lit->str;
		m->src.len = lit->len;
	}
	*argsp = next;
	if (m->src.len == 0) {
		imapd_tagged(s, cmd->tag, "NO Can't save a zero byte "
			     "message.");
		return false;
	}
	return true;
}

/* Store m in the folder at dir; its UID in *uid_r. False with the
 * tagged reply sent. */
static bool imapd_append_store(struct imapd *s, const struct imap_cmd *cmd,
			       const char *name, const char *dir,
			       const struct imapd_append_msg *m,
			       uint32_t *uid_r)
{
	struct str error = STR_INIT;
	const char *dsn;

	*uid_r = 0;
	if (store_deliver(dir, imapd_flags_to_store(m->iflags),
			  (int64_t)m->when, imapd_append_write,
			  (void *)&m->src, 0, uid_r, &error,
			  &dsn) != MAILDIR_OK) {
		msg_warn("%s: append to %s: %s", s->user, name,
			 str_c(&error));
		imapd_tagged(s, cmd->tag, imapd_disk_full(dsn) ?
			     IMAPD_NO_SPACE : "NO [SERVERBUG] Append failed.");
		str_release(&error);
		return false;
	}
	if (m->nkw > 0 && *uid_r != 0) {
		struct store_folder *f = store_folder_open(dir, false, &error);
		uint64_t mask;

		if (f != NULL &&
		    imapd_keyword_mask(f, m->kws, m->nkw, &mask, &error))
			(void)store_set_flags(f, *uid_r,
					      imapd_flags_to_store(m->iflags),
					      mask, &error);
		store_folder_free(&f);
	}
	str_release(&error);
	return true;
}

/* A MULTIAPPEND that failed at a later message: the n stored before it
 * are removed again, so the NO means none was appended (RFC 3502). No
 * session was told of them yet (EXISTS comes only with a sync). */
static void imapd_append_undo(struct imapd *s, const char *name,
			      const char *dir, const uint32_t *uids, size_t n)
{
	struct str error = STR_INIT;
	struct store_folder *f;

	if (n == 0)
		return;
	f = store_folder_open(dir, false, &error);
	if (f == NULL || store_expunge(f, uids, n, &error) != (int)n)
		msg_warn("%s: append to %s: cannot remove the %zu message(s) "
			 "stored before the failure: %s", s->user, name, n,
			 str_c(&error));
	else
		msg_info("%s: append to %s: removed the %zu message(s) "
			 "stored before the failure", s->user, name, n);
	store_folder_free(&f);
	str_release(&error);
}

void imapd_cmd_append(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str name = STR_INIT, dir = STR_INIT, uidlist = STR_INIT;
	const struct imap_arg *args = cmd->args + 1;
	struct imapd_append_msg *msgs = NULL;
	struct imapd_catenate_cache *cache = NULL;
	const char *why = "Invalid arguments.";
	uint32_t validity = 0, uid, *stored = NULL;
	uint64_t bytes = 0;
	size_t n = 0, built = 0;

	if (cmd->nargs == 1) {
		imapd_tagged(s, cmd->tag, "BAD Missing message literal.");
		goto out;
	}
	if (!imapd_existing_arg(s, cmd, 0, "TRYCREATE", &name))
		goto out;
	(void)imapd_mailbox_dir(s, str_c(&name), &dir, &why);
	/* One or more (MULTIAPPEND) messages, all parsed (and CATENATE's
	 * built) before any is stored: RFC 3502 wants all or none. What
	 * CATENATE builds is held meanwhile, so its total is bounded as
	 * the command's literals are (a URL is short, what it names may
	 * not be): each message by APPENDLIMIT, all of them by twice it. */
	while (args->type != IMAP_ARG_EOL) {
		size_t max = IMAPD_APPEND_MAX_TOTAL - built;

		msgs = mem_array_realloc(msgs, n + 1, sizeof(*msgs));
		memset(&msgs[n], 0, sizeof(msgs[n]));
		if (!imapd_append_parse(s, cmd, &args,
					max < IMAPD_APPEND_MAX ? max :
					IMAPD_APPEND_MAX, &cache, &msgs[n++]))
			goto out;
		bytes += msgs[n - 1].src.len;
		built += msgs[n - 1].built.len;
	}
	imapd_catenate_cache_free(&cache);
	/* The quota for all of them before the first is stored. */
	if (!imapd_quota_fits(s, bytes, n)) {
		imapd_quota_refuse(s, cmd->tag);
		goto out;
	}
	stored = mem_array(n, sizeof(*stored));
	for (size_t i = 0; i < n; i++) {
		if (!imapd_append_store(s, cmd, str_c(&name), str_c(&dir),
					&msgs[i], &uid)) {
			imapd_append_undo(s, str_c(&name), str_c(&dir), stored,
					  i);
			goto out;
		}
		stored[i] = uid;
		str_printf(&uidlist, "%s%u", i > 0 ? "," : "", uid);
	}
	(void)store_index_uidvalidity(str_c(&dir), &validity);
	imapd_tagged(s, cmd->tag, "OK [APPENDUID %u %s] Append completed.",
		     validity, str_c(&uidlist));
out:
	mem_free(stored);
	imapd_catenate_cache_free(&cache);
	imapd_append_msgs_free(msgs, n);
	str_release(&name);
	str_release(&dir);
	str_release(&uidlist);
}
