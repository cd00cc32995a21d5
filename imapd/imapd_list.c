/*
 * imapd_list: the mailbox list of an IMAP session (imapd.h): LIST, LSUB,
 * CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, and the
 * SPECIAL-USE folders created at login.
 *
 * Mailboxes are Maildir++ folders: INBOX is the Maildir, "a.b" the
 * directory ".a.b" beside it (names stored in modified UTF-7, so Dovecot
 * and Courier read the same tree). Names travel in modified UTF-7 to an
 * IMAP4rev1 client and in UTF-8 once IMAP4rev2 is enabled. Subscriptions
 * are the file "subscriptions" in the Maildir, one UTF-8 name a line.
 *
 * SECURITY: runs as the mailbox owner. Every name from the client is
 * decoded and checked (imap_mailbox_name_valid) before a path is built
 * from it; directory removal never follows symbolic links.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap_mailbox.h"
#include "imap_quote.h"
#include "imap_utf7.h"
#include "imapd.h"
#include "maildir.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"

#define IMAPD_SUBSCRIPTIONS "subscriptions"

static const struct {
	const char *name;
	const char *attr;
} imapd_special[] = {
	{ "Drafts", "\\Drafts" }, { "Sent", "\\Sent" },
	{ "Trash", "\\Trash" },   { "Junk", "\\Junk" },
	{ "Archive", "\\Archive" },
};

/* A name from the client (mUTF-7 for rev1 clients) as UTF-8 in out,
 * checked. INBOX in any case becomes "INBOX". */
bool imapd_name_in(struct imapd *s, const char *raw, struct str *out,
			  const char **error_r)
{
	str_clear(out);
	if (s->utf8) {
		str_append(out, raw);
	} else if (!imap_utf7_decode(raw, out, error_r)) {
		return false;
	}
	if (imap_mailbox_is_inbox(str_c(out))) {
		str_set(out, "INBOX");
		return true;
	}
	/* "foo." names foo (RFC 3501 CREATE). */
	if (out->len > 1 && out->data[out->len - 1] == '.')
		str_truncate(out, out->len - 1);
	return imap_mailbox_name_valid(str_c(out), error_r);
}

/* A name for the client: quoted, mUTF-7 for rev1. */
void imapd_name_out(struct imapd *s, const char *utf8,
			   struct str *out)
{
	struct str enc = STR_INIT;
	const char *error;

	if (!s->utf8 && imap_utf7_encode(utf8, &enc, &error))
		imap_quote_string(out, str_c(&enc), enc.len, false);
	else
		imap_quote_string(out, utf8, strlen(utf8), s->utf8);
	str_release(&enc);
}

static int strcmp_ptrs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every mailbox name (UTF-8), INBOX first, sorted after it. */
size_t imapd_mailboxes(struct imapd *s, char ***names_r)
{
	struct str name = STR_INIT;
	char **names = mem_array(1, sizeof(*names));
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(s->root);
	const char *error;

	names[n++] = mem_strdup("INBOX");
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct str path = STR_INIT;
		struct stat st;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		str_clear(&name);
		if (!imap_mailbox_from_dir(de->d_name, &name, &error))
			continue;
		str_printf(&path, "%s/%s/cur", s->root, de->d_name);
		if (stat(str_c(&path), &st) == 0 && S_ISDIR(st.st_mode)) {
			names = mem_array_realloc(names, n + 1, sizeof(*names));
			names[n++] = mem_strdup(str_c(&name));
		}
		str_release(&path);
	}
	if (d != NULL)
		closedir(d);
	qsort(names + 1, n - 1, sizeof(*names), strcmp_ptrs);
	str_release(&name);
	*names_r = names;
	return n;
}

void imapd_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

bool imapd_has_children(char **names, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strncmp(names[i], name, len) == 0 && names[i][len] == '.')
			return true;
	return false;
}

char **imapd_subscriptions(struct imapd *s, size_t *n_r)
{
	struct str path = STR_INIT, data = STR_INIT;
	char **names = NULL, *line, *cursor;
	size_t n = 0;

	str_printf(&path, "%s/%s", s->root, IMAPD_SUBSCRIPTIONS);
	if (safe_read_file(str_c(&path), &data, 1 << 20)) {
		cursor = data.data;
		while ((line = str_token(&cursor, "\n")) != NULL) {
			if (*line == '\0')
				continue;
			names = mem_array_realloc(names, n + 1,
						  sizeof(*names));
			names[n++] = mem_strdup(line);
		}
	}
	str_release(&path);
	str_release(&data);
	*n_r = n;
	return names;
}

bool imapd_subscribed(char **subs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(subs[i], name) == 0)
			return true;
	return false;
}

static bool imapd_subscriptions_write(struct imapd *s, char **subs,
				      size_t n)
{
	struct str path = STR_INIT, data = STR_INIT;
	bool ok;

	for (size_t i = 0; i < n; i++)
		if (subs[i] != NULL)
			str_printf(&data, "%s\n", subs[i]);
	str_printf(&path, "%s/%s", s->root, IMAPD_SUBSCRIPTIONS);
	ok = safe_write_file(str_c(&path), data.data == NULL ? "" : data.data,
			     data.len, 0600);
	str_release(&path);
	str_release(&data);
	return ok;
}

const char *imapd_special_attr(const char *name)
{
	for (size_t i = 0; i < sizeof(imapd_special) / sizeof(*imapd_special);
	     i++)
		if (strcmp(name, imapd_special[i].name) == 0)
			return imapd_special[i].attr;
	return NULL;
}

/* LSUB (RFC 3501 6.3.9): the subscribed names that match; where '%'
 * stops at a level above a subscribed name, that level with \Noselect
 * unless it is subscribed itself. */
static void imapd_lsub(struct imapd *s, const char *pattern, char **subs,
		       size_t nsubs)
{
	struct str line = STR_INIT, prefix = STR_INIT;
	char **shown = NULL;
	size_t nshown = 0;

	for (size_t i = 0; i < nsubs; i++) {
		const char *name = subs[i], *dot;

		if (name == NULL)
			continue;
		if (imap_mailbox_match(pattern, name)) {
			str_clear(&line);
			str_append(&line, "* LSUB () \".\" ");
			imapd_name_out(s, name, &line);
			imapd_printf(s, "%s\r\n", str_c(&line));
			continue;
		}
		for (dot = strchr(name, '.'); dot != NULL;
		     dot = strchr(dot + 1, '.')) {
			bool seen = false;

			str_clear(&prefix);
			str_append_n(&prefix, name, (size_t)(dot - name));
			if (!imap_mailbox_match(pattern, str_c(&prefix)) ||
			    imapd_subscribed(subs, nsubs, str_c(&prefix)))
				continue;
			for (size_t j = 0; j < nshown; j++)
				seen |= strcmp(shown[j], str_c(&prefix)) == 0;
			if (seen)
				continue;
			shown = mem_array_realloc(shown, nshown + 1,
						  sizeof(*shown));
			shown[nshown++] = mem_strdup(str_c(&prefix));
			str_clear(&line);
			str_append(&line, "* LSUB (\\Noselect) \".\" ");
			imapd_name_out(s, str_c(&prefix), &line);
			imapd_printf(s, "%s\r\n", str_c(&line));
		}
	}
	imapd_names_free(shown, nshown);
	str_release(&line);
	str_release(&prefix);
}

void imapd_cmd_list(struct imapd *s, const struct imap_cmd *cmd, bool lsub)
{
	struct str pattern = STR_INIT, line = STR_INIT, raw = STR_INIT;
	const char *ref, *pat, *error;
	char **names, **subs;
	size_t n, nsubs;
	const struct imap_arg *args = cmd->args;
	unsigned nargs = cmd->nargs;
	bool subscribed_only = lsub;

	/* LIST-EXTENDED selection options (RFC 5258) as far as the base
	 * LIST can honour them: SUBSCRIBED, SPECIAL-USE. */
	if (!lsub && nargs > 0 && args[0].type == IMAP_ARG_LIST) {
		for (unsigned i = 0; i < args[0].count; i++)
			if (imap_arg_atom_equals(&args[0].list[i],
						 "SUBSCRIBED"))
				subscribed_only = true;
		args++;
		nargs--;
	}
	if (nargs < 2 || !imap_arg_get_astring(&args[0], &ref) ||
	    !imap_arg_get_astring(&args[1], &pat)) {
		imapd_tagged(s, cmd->tag, "BAD Invalid arguments.");
		return;
	}
	if (*pat == '\0' && !lsub) {
		/* The hierarchy delimiter and root. */
		imapd_printf(s, "* LIST (\\Noselect) \".\" \"\"\r\n");
		imapd_tagged(s, cmd->tag, "OK List completed.");
		return;
	}
	str_printf(&raw, "%s%s", ref, pat);
	str_clear(&pattern);
	if (s->utf8 || !imap_utf7_decode(str_c(&raw), &pattern, &error))
		str_set(&pattern, str_c(&raw));
	n = imapd_mailboxes(s, &names);
	subs = imapd_subscriptions(s, &nsubs);
	if (lsub)	/* subscriptions, whether the mailboxes exist or not */
		imapd_lsub(s, str_c(&pattern), subs, nsubs);
	for (size_t i = 0; i < n && !lsub; i++) {
		const char *name = names[i], *special;
		bool match, sub = imapd_subscribed(subs, nsubs, name);

		match = imap_mailbox_match(str_c(&pattern), name);
		if (!match || (subscribed_only && !sub))
			continue;
		str_clear(&line);
		str_printf(&line, "* %s (", lsub ? "LSUB" : "LIST");
		str_append(&line, imapd_has_children(names, n, name) ?
			   "\\HasChildren" : "\\HasNoChildren");
		if (sub && !lsub && subscribed_only)
			str_append(&line, " \\Subscribed");
		special = imapd_special_attr(name);
		if (special != NULL)
			str_printf(&line, " %s", special);
		str_append(&line, ") \".\" ");
		imapd_name_out(s, name, &line);
		imapd_printf(s, "%s\r\n", str_c(&line));
	}
	imapd_names_free(names, n);
	imapd_names_free(subs, nsubs);
	imapd_tagged(s, cmd->tag, "OK %s completed.", lsub ? "Lsub" : "List");
	str_release(&pattern);
	str_release(&line);
	str_release(&raw);
}

/* The name argument of a command as a checked UTF-8 name, or a tagged
 * BAD/NO already given. */
bool imapd_name_arg(struct imapd *s, const struct imap_cmd *cmd, unsigned i,
		    struct str *name)
{
	const char *raw, *error = "Invalid mailbox name.";

	if (i >= cmd->nargs || !imap_arg_get_astring(&cmd->args[i], &raw)) {
		imapd_tagged(s, cmd->tag, "BAD Missing mailbox name.");
		return false;
	}
	if (!imapd_name_in(s, raw, name, &error)) {
		imapd_tagged(s, cmd->tag, "NO %s", error);
		return false;
	}
	return true;
}

bool imapd_existing_arg(struct imapd *s, const struct imap_cmd *cmd,
			unsigned i, const char *code, struct str *name)
{
	if (!imapd_name_arg(s, cmd, i, name))
		return false;
	if (!imapd_exists(s, str_c(name))) {
		imapd_tagged(s, cmd->tag, "NO [%s] Mailbox doesn't exist: %s",
			     code, str_c(name));
		return false;
	}
	return true;
}

bool imapd_exists(struct imapd *s, const char *name)
{
	struct str dir = STR_INIT;
	struct stat st;
	const char *error;
	bool ok = imapd_mailbox_dir(s, name, &dir, &error);

	str_append(&dir, "/cur");
	ok = ok && stat(str_c(&dir), &st) == 0 && S_ISDIR(st.st_mode);
	str_release(&dir);
	return ok;
}

/* Create name and any missing parents. */
static bool imapd_create_dirs(struct imapd *s, const char *name)
{
	struct str part = STR_INIT, dir = STR_INIT;
	const char *error, *p = name;
	bool ok = true;

	while (ok && p != NULL) {
		p = strchr(p, '.');
		str_clear(&part);
		str_append_n(&part, name, p == NULL ? strlen(name) :
			     (size_t)(p - name));
		if (p != NULL)
			p++;
		str_clear(&dir);
		ok = imap_mailbox_to_dir(str_c(&part), &dir, &error) &&
		     (imapd_exists(s, str_c(&part)) ||
		      maildir_create(s->root, str_c(&dir)));
	}
	str_release(&part);
	str_release(&dir);
	return ok;
}

void imapd_cmd_create(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str name = STR_INIT;
	char id[STORE_OBJECTID_MAX];

	if (!imapd_name_arg(s, cmd, 0, &name))
		goto out;
	if (strcmp(str_c(&name), "INBOX") == 0 ||
	    imapd_exists(s, str_c(&name))) {
		imapd_tagged(s, cmd->tag, "NO [ALREADYEXISTS] Mailbox already "
			     "exists");
		goto out;
	}
	if (!imapd_create_dirs(s, str_c(&name))) {
		msg_warn("%s: create %s: %m", s->user, str_c(&name));
		imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Create failed.");
		goto out;
	}
	/* RFC 8474: the new mailbox's id in the tagged OK. */
	if (imapd_mailbox_id(s, str_c(&name), id))
		imapd_tagged(s, cmd->tag, "OK [MAILBOXID (%s)] Create "
			     "completed.", id);
	else
		imapd_tagged(s, cmd->tag, "OK Create completed.");
out:
	str_release(&name);
}

static int imapd_rm_one(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void imapd_cmd_delete(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str name = STR_INIT, dir = STR_INIT;
	struct store_usage gone = { 0, 0 };
	char **names;
	size_t n;
	const char *error;
	int qlock = -1;

	if (!imapd_name_arg(s, cmd, 0, &name))
		goto out;
	if (strcmp(str_c(&name), "INBOX") == 0) {
		imapd_tagged(s, cmd->tag, "NO INBOX can't be deleted.");
		goto out;
	}
	if (!imapd_exists(s, str_c(&name))) {
		imapd_tagged(s, cmd->tag, "NO [NONEXISTENT] Mailbox doesn't "
			     "exist: %s", str_c(&name));
		goto out;
	}
	n = imapd_mailboxes(s, &names);
	if (imapd_has_children(names, n, str_c(&name))) {
		imapd_names_free(names, n);
		imapd_tagged(s, cmd->tag, "NO [HASCHILDREN] Mailbox has "
			     "children, delete them first");
		goto out;
	}
	imapd_names_free(names, n);
	if (s->mailbox != NULL && strcmp(s->mailbox, str_c(&name)) == 0)
		imapd_close_mailbox(s, false);
	(void)imapd_mailbox_dir(s, str_c(&name), &dir, &error);
	/* Its messages leave the quota with it (under the quota lock, so
	 * a recalculation counts them or the note uncounts them). */
	qlock = store_quota_lock(str_c(&dir), false);
	store_quota_add_folder(str_c(&dir), &gone);
	if (nftw(str_c(&dir), imapd_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		msg_warn("%s: delete %s: %m", s->user, str_c(&dir));
		imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Delete failed.");
		goto out;
	}
	store_quota_note(str_c(&dir), -gone.bytes, -gone.messages);
	store_quota_unlock(&qlock);
	imapd_tagged(s, cmd->tag, "OK Delete completed.");
out:
	store_quota_unlock(&qlock);
	str_release(&name);
	str_release(&dir);
}

/* Is name from or one of its inferiors? The length of the part to
 * replace, or 0. */
static size_t imapd_renamed_part(const char *name, const char *from)
{
	size_t len = strlen(from);

	if (strncmp(name, from, len) != 0 ||
	    (name[len] != '\0' && name[len] != '.'))
		return 0;
	return len;
}

/* Subscriptions follow a renamed folder and its inferiors, as in
 * Dovecot. */
static void imapd_rename_subscriptions(struct imapd *s, const char *from,
				       const char *to)
{
	size_t n, len = strlen(from);
	char **subs = imapd_subscriptions(s, &n);
	bool changed = false;

	for (size_t i = 0; i < n; i++) {
		struct str name = STR_INIT;

		if (imapd_renamed_part(subs[i], from) == 0)
			continue;
		str_printf(&name, "%s%s", to, subs[i] + len);
		free(subs[i]);
		subs[i] = mem_strdup(str_c(&name));
		str_release(&name);
		changed = true;
	}
	if (changed && !imapd_subscriptions_write(s, subs, n))
		msg_warn("%s: rename: subscriptions: %m", s->user);
	imapd_names_free(subs, n);
}

/* RENAME INBOX (RFC 3501 6.3.5): INBOX's messages move to a new folder
 * of that name, INBOX stays and is empty; its inferiors stay. */
static void imapd_rename_inbox(struct imapd *s, const char *tag,
			       const char *to)
{
	struct str dir = STR_INIT, error = STR_INIT;
	struct store_folder *inbox = NULL;
	const char *why;

	if (!imapd_create_dirs(s, to) ||
	    !imapd_mailbox_dir(s, to, &dir, &why)) {
		msg_warn("%s: rename INBOX: create %s: %m", s->user, to);
		imapd_tagged(s, tag, "NO [SERVERBUG] Rename failed.");
		goto out;
	}
	inbox = store_folder_open(s->root, false, &error);
	if (inbox == NULL || !imapd_move_all(inbox, str_c(&dir), &error)) {
		msg_warn("%s: rename INBOX to %s: %s", s->user, to,
			 str_c(&error));
		imapd_tagged(s, tag, "NO [SERVERBUG] Rename failed.");
		goto out;
	}
	imapd_tagged(s, tag, "OK Rename completed.");
out:
	store_folder_free(&inbox);
	str_release(&dir);
	str_release(&error);
}

void imapd_cmd_rename(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str from = STR_INIT, to = STR_INIT, a = STR_INIT, b = STR_INIT;
	struct str child = STR_INIT;
	char **names = NULL, *parent = NULL, *dot;
	size_t n = 0, len;
	const char *error;

	if (!imapd_name_arg(s, cmd, 0, &from) ||
	    !imapd_name_arg(s, cmd, 1, &to))
		goto out;
	if (strcmp(str_c(&to), "INBOX") == 0 ||
	    (strcmp(str_c(&from), str_c(&to)) != 0 &&
	     imapd_exists(s, str_c(&to)))) {
		imapd_tagged(s, cmd->tag, "NO [ALREADYEXISTS] Target mailbox "
			     "already exists");
		goto out;
	}
	if (strcmp(str_c(&from), "INBOX") == 0) {
		imapd_rename_inbox(s, cmd->tag, str_c(&to));
		goto out;
	}
	if (!imapd_exists(s, str_c(&from))) {
		imapd_tagged(s, cmd->tag, "NO [NONEXISTENT] Mailbox doesn't "
			     "exist: %s", str_c(&from));
		goto out;
	}
	if (strcmp(str_c(&from), str_c(&to)) == 0) {
		imapd_tagged(s, cmd->tag, "NO [ALREADYEXISTS] Can't rename "
			     "mailbox to itself.");
		goto out;
	}
	/* The children move with it: "a.x" becomes "b.x". None of the new
	 * names may exist (b.x may, below a \NonExistent b). */
	n = imapd_mailboxes(s, &names);
	len = from.len;
	for (size_t i = 0; i < n; i++) {
		if (imapd_renamed_part(names[i], str_c(&from)) == 0)
			continue;
		str_clear(&child);
		str_printf(&child, "%s%s", str_c(&to), names[i] + len);
		if (imapd_exists(s, str_c(&child))) {
			imapd_tagged(s, cmd->tag, "NO [ALREADYEXISTS] Target "
				     "mailbox already exists: %s",
				     str_c(&child));
			goto out;
		}
		if (!imap_mailbox_name_valid(str_c(&child), &error)) {
			imapd_tagged(s, cmd->tag, "NO [CANNOT] The new name "
				     "of %s would be too long.", names[i]);
			goto out;
		}
	}
	/* Maildir++ folders are flat (.a, .a.x): each is one rename(2). */
	for (size_t i = 0; i < n; i++) {
		if (imapd_renamed_part(names[i], str_c(&from)) == 0)
			continue;
		str_clear(&child);
		str_printf(&child, "%s%s", str_c(&to), names[i] + len);
		if (!imapd_mailbox_dir(s, names[i], &a, &error) ||
		    !imapd_mailbox_dir(s, str_c(&child), &b, &error) ||
		    rename(str_c(&a), str_c(&b)) != 0) {
			msg_warn("%s: rename %s: %m", s->user, names[i]);
			imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Rename "
				     "failed.");
			goto out;
		}
	}
	/* The new name's superiors, as CREATE makes them (after the move:
	 * "a" renamed to "a.b" leaves no "a" otherwise). */
	parent = mem_strdup(str_c(&to));
	dot = strrchr(parent, '.');
	if (dot != NULL) {
		*dot = '\0';
		if (!imapd_create_dirs(s, parent)) {
			msg_warn("%s: rename: create %s: %m", s->user, parent);
			imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Rename "
				     "failed.");
			goto out;
		}
	}
	imapd_rename_subscriptions(s, str_c(&from), str_c(&to));
	/* The selected mailbox keeps its session under its new name (its
	 * index descriptors followed the directory). */
	if (s->mailbox != NULL &&
	    imapd_renamed_part(s->mailbox, str_c(&from)) != 0) {
		str_clear(&child);
		str_printf(&child, "%s%s", str_c(&to), s->mailbox + len);
		free(s->mailbox);
		s->mailbox = mem_strdup(str_c(&child));
		if (imapd_mailbox_dir(s, s->mailbox, &b, &error)) {
			free(s->folder->dir);
			s->folder->dir = mem_strdup(str_c(&b));
		}
	}
	imapd_tagged(s, cmd->tag, "OK Rename completed.");
out:
	imapd_names_free(names, n);
	free(parent);
	str_release(&from);
	str_release(&to);
	str_release(&a);
	str_release(&b);
	str_release(&child);
}

void imapd_cmd_subscribe(struct imapd *s, const struct imap_cmd *cmd,
			 bool subscribe)
{
	struct str name = STR_INIT;
	char **subs;
	size_t n;
	bool ok = true;

	if (!imapd_name_arg(s, cmd, 0, &name))
		goto out;
	subs = imapd_subscriptions(s, &n);
	if (subscribe && !imapd_subscribed(subs, n, str_c(&name))) {
		subs = mem_array_realloc(subs, n + 1, sizeof(*subs));
		subs[n++] = mem_strdup(str_c(&name));
		ok = imapd_subscriptions_write(s, subs, n);
	} else if (!subscribe) {
		for (size_t i = 0; i < n; i++)
			if (subs[i] != NULL &&
			    strcmp(subs[i], str_c(&name)) == 0)
				mem_free(subs[i]);
		ok = imapd_subscriptions_write(s, subs, n);
	}
	imapd_names_free(subs, n);
	if (ok)
		imapd_tagged(s, cmd->tag, "OK %s completed.",
			     subscribe ? "Subscribe" : "Unsubscribe");
	else
		imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Cannot write "
			     "subscriptions.");
out:
	str_release(&name);
}

/* Check STATUS items (atoms we know); NULL if fine, else a BAD text. */
const char *imapd_status_items_check(const struct imap_arg *items,
				     unsigned nitems)
{
	static const char *const known[] = { "MESSAGES", "RECENT",
					     "UIDNEXT", "UIDVALIDITY",
					     "UNSEEN", "DELETED", "SIZE",
					     "HIGHESTMODSEQ",
					     "DELETED-STORAGE", "MAILBOXID" };
	const char *item;

	if (nitems == 0)
		return "Invalid STATUS items.";
	for (unsigned i = 0; i < nitems; i++) {
		bool ok = false;

		if (!imap_arg_get_atom(&items[i], &item))
			return "Invalid STATUS item.";
		for (size_t k = 0; k < sizeof(known) / sizeof(*known); k++)
			ok |= strcasecmp(item, known[k]) == 0;
		if (!ok)
			return "Unknown STATUS item.";
	}
	return NULL;
}

bool imapd_status_send(struct imapd *s, const char *name,
		       const struct imap_arg *items, unsigned nitems)
{
	struct str dir = STR_INIT, error = STR_INIT, out = STR_INIT;
	struct store_folder *f;
	const char *why;
	bool ok = false;

	(void)imapd_mailbox_dir(s, name, &dir, &why);
	f = store_folder_open(str_c(&dir), false, &error);
	if (f == NULL) {
		msg_warn("%s: status %s: %s", s->user, name, str_c(&error));
		goto out;
	}
	for (unsigned i = 0; i < nitems; i++) {
		const char *item = items[i].str;
		uint64_t v = 0;

		if (strcasecmp(item, "MAILBOXID") == 0) {
			char id[STORE_OBJECTID_MAX];

			if (!imapd_mailbox_id(s, name, id))
				goto out;
			str_printf(&out, "%sMAILBOXID (%s)", i > 0 ? " " : "",
				   id);
			continue;
		}
		if (strcasecmp(item, "MESSAGES") == 0) {
			v = f->count;
		} else if (strcasecmp(item, "RECENT") == 0) {
			for (size_t j = 0; j < f->count; j++)
				v += f->msgs[j].in_new ||
				     (f->msgs[j].flags & STORE_F_RECENT);
		} else if (strcasecmp(item, "UIDNEXT") == 0) {
			v = f->uidnext;
		} else if (strcasecmp(item, "UIDVALIDITY") == 0) {
			v = f->uidvalidity;
		} else if (strcasecmp(item, "UNSEEN") == 0) {
			for (size_t j = 0; j < f->count; j++)
				v += !(f->msgs[j].flags & STORE_F_SEEN);
		} else if (strcasecmp(item, "DELETED") == 0) {
			for (size_t j = 0; j < f->count; j++)
				v += (f->msgs[j].flags &
				      STORE_F_DELETED) != 0;
		} else if (strcasecmp(item, "DELETED-STORAGE") == 0) {
			/* RFC 9208: what an EXPUNGE would free, in the
			 * units of STORAGE (the files' sizes, as the
			 * quota counts them). */
			for (size_t j = 0; j < f->count; j++)
				if (f->msgs[j].flags & STORE_F_DELETED)
					v += f->msgs[j].size;
			v = imapd_quota_kb(v);
		} else if (strcasecmp(item, "HIGHESTMODSEQ") == 0) {
			/* RFC 7162 3.1.6; CONDSTORE-enabling. */
			imapd_condstore_enable(s);
			v = imapd_modseq(f->highestmodseq);
		} else {	/* SIZE */
			for (size_t j = 0; j < f->count; j++)
				v += f->msgs[j].vsize;
		}
		str_printf(&out, "%s", i > 0 ? " " : "");
		for (const char *c = item; *c != '\0'; c++)
			str_append_c(&out, (char)toupper((unsigned char)*c));
		str_printf(&out, " %llu", (unsigned long long)v);
	}
	str_clear(&dir);
	imapd_name_out(s, name, &dir);
	imapd_printf(s, "* STATUS %s (%s)\r\n", str_c(&dir), str_c(&out));
	ok = true;
out:
	store_folder_free(&f);
	str_release(&dir);
	str_release(&error);
	str_release(&out);
	return ok;
}

void imapd_cmd_status(struct imapd *s, const struct imap_cmd *cmd)
{
	struct str name = STR_INIT;
	const struct imap_arg *items;
	unsigned nitems;
	const char *bad;

	if (!imapd_name_arg(s, cmd, 0, &name))
		goto out;
	if (cmd->nargs != 2 ||
	    !imap_arg_get_list(&cmd->args[1], &items, &nitems)) {
		imapd_tagged(s, cmd->tag, "BAD Invalid STATUS items.");
		goto out;
	}
	if ((bad = imapd_status_items_check(items, nitems)) != NULL) {
		imapd_tagged(s, cmd->tag, "BAD %s", bad);
		goto out;
	}
	if (!imapd_exists(s, str_c(&name))) {
		imapd_tagged(s, cmd->tag, "NO [NONEXISTENT] Mailbox doesn't "
			     "exist: %s", str_c(&name));
		goto out;
	}
	if (!imapd_status_send(s, str_c(&name), items, nitems))
		imapd_tagged(s, cmd->tag, "NO [SERVERBUG] Status failed.");
	else
		imapd_tagged(s, cmd->tag, "OK Status completed.");
out:
	str_release(&name);
}

void imapd_special_use_create(struct imapd *s)
{
	char **subs;
	size_t n;
	bool changed = false;

	subs = imapd_subscriptions(s, &n);
	for (size_t i = 0; i < sizeof(imapd_special) / sizeof(*imapd_special);
	     i++) {
		const char *name = imapd_special[i].name;

		if (imapd_exists(s, name))
			continue;
		if (!imapd_create_dirs(s, name)) {
			msg_warn("%s: create %s: %m", s->user, name);
			continue;
		}
		if (!imapd_subscribed(subs, n, name)) {
			subs = mem_array_realloc(subs, n + 1, sizeof(*subs));
			subs[n++] = mem_strdup(name);
			changed = true;
		}
	}
	if (changed && !imapd_subscriptions_write(s, subs, n))
		msg_warn("%s: cannot write subscriptions: %m", s->user);
	imapd_names_free(subs, n);
}
