/*
 * correo mailbox: look at and repair a user's mailboxes (correo(8)).
 *
 *   correo mailbox USER [list]           folders, counts, sizes, UIDs,
 *                                        then the quota: usage and limits
 *   correo mailbox USER rebuild [FOLDER] rebuild indexes from the Maildir
 *                                        (and the quota's maildirsize,
 *                                        the full-text index)
 *   correo mailbox USER expunge FOLDER   remove messages flagged \Deleted
 *   correo mailbox USER purge            compact every folder's index
 *
 * USER is an address whose mailbox the configuration knows (as local
 * delivers it: virtual_mailbox_maps, or a system account).
 *
 * SECURITY: often run by root. The work is done as the owner of the
 * Maildir (the process switches to that uid and gid first, after
 * checking with lstat that the Maildir is a real directory), so no file
 * it creates is root's and no path it follows is the user's to redirect
 * with root's rights.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "resolve.h"
#include "store.h"
#include "store_fts.h"
#include "store_quota.h"

#include "correo.h"
#include "tool.h"

static int mailbox_usage(void)
{
	fprintf(stderr, "usage: correo mailbox USER [list]\n"
			"       correo mailbox USER rebuild [FOLDER]\n"
			"       correo mailbox USER expunge FOLDER\n"
			"       correo mailbox USER purge\n");
	return 2;
}

/* The user's Maildir (without its trailing '/') into dir_r, its quota
 * rule into quota_r ("" for none). */
static bool mailbox_find(const char *config_dir, const char *user,
			 struct str *dir_r, struct str *quota_r)
{
	struct resolve_delivery d = { 0 };
	struct resolver *r;
	struct cfg *cfg;
	char *error = NULL;
	const char *why = NULL;
	bool ok = false;

	cfg = tool_load_config(config_dir, &error);
	if (cfg == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		return false;
	}
	r = resolve_create(cfg, &error);
	if (r == NULL) {
		tool_complain("%s", error);
		mem_free(error);
		cfg_free(&cfg);
		return false;
	}
	switch (resolve_mailbox(r, user, &d, &why)) {
	case 1:
		if (d.kind != RESOLVE_MAILDIR) {
			tool_complain("%s: not a Maildir: %s", user, d.path);
			break;
		}
		str_set(dir_r, d.path);
		while (dir_r->len > 1 && dir_r->data[dir_r->len - 1] == '/')
			str_truncate(dir_r, dir_r->len - 1);
		str_set(quota_r, "");
		ok = resolve_quota(r, user, quota_r, &why) >= 0;
		if (!ok)
			tool_complain("%s: quota lookup: %s", user, why);
		break;
	case 0:
		tool_complain("%s: no such mailbox", user);
		break;
	default:
		tool_complain("%s: %s", user, why);
		break;
	}
	resolve_delivery_clear(&d);
	resolve_free(&r);
	cfg_free(&cfg);
	return ok;
}

/* Become the owner of the Maildir when run as root. */
static bool mailbox_become_owner(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		tool_complain("%s: %s", dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		tool_complain("%s: not a directory", dir);
		return false;
	}
	if (geteuid() != 0 || st.st_uid == 0)
		return true;
	if (setgroups(0, NULL) != 0 || setgid(st.st_gid) != 0 ||
	    setuid(st.st_uid) != 0 || setuid(0) == 0) {
		tool_complain("cannot switch to the owner of %s", dir);
		return false;
	}
	return true;
}

/* "INBOX" and every Maildir++ folder directory name (".Sent", ...). */
static size_t mailbox_folders(const char *dir, char ***names_r)
{
	char **names = mem_array(1, sizeof(*names));
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	names[n++] = mem_strdup("INBOX");
	while (d != NULL && (de = readdir(d)) != NULL) {
		struct str cur = STR_INIT;
		struct stat st;

		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		str_printf(&cur, "%s/%s/cur", dir, de->d_name);
		if (lstat(str_c(&cur), &st) == 0 && S_ISDIR(st.st_mode)) {
			names = mem_array_realloc(names, n + 1,
						  sizeof(*names));
			names[n++] = mem_strdup(de->d_name + 1);
		}
		str_release(&cur);
	}
	if (d != NULL)
		closedir(d);
	*names_r = names;
	return n;
}

static void mailbox_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* "quota: ..." after the folders: usage against the limits. */
static int mailbox_quota(const char *dir, const char *rule)
{
	struct store_quota q;
	struct store_usage u;
	struct str error = STR_INIT;
	const char *why;
	int ret;

	if (!store_quota_parse(rule, &q, &why)) {
		tool_complain("bad quota \"%s\": %s", rule, why);
		return 1;
	}
	ret = store_quota_get(dir, &q, NULL, &u, &error);
	if (ret < 0)
		tool_complain("quota: %s", str_c(&error));
	else if (ret == 0)
		printf("quota: none\n");
	else {
		printf("quota: storage %lld", (long long)u.bytes);
		if (q.bytes > 0)
			printf(" of %llu bytes (%llu%%)",
			       (unsigned long long)q.bytes,
			       (unsigned long long)u.bytes * 100 / q.bytes);
		else
			printf(" bytes (no limit)");
		printf(", messages %lld", (long long)u.messages);
		if (q.messages > 0)
			printf(" of %llu (%llu%%)",
			       (unsigned long long)q.messages,
			       (unsigned long long)u.messages * 100 /
			       q.messages);
		else
			printf(" (no limit)");
		printf("\n");
	}
	str_release(&error);
	return ret < 0;
}

/* After a rebuild: maildirsize from the new indexes, if it is kept. */
static int mailbox_quota_rebuild(const char *dir, const char *rule)
{
	struct store_quota q;
	struct store_usage u;
	struct str error = STR_INIT;
	const char *why;
	bool ok = true;

	if (!store_quota_parse(rule, &q, &why) || !store_quota_is_set(&q))
		return 0;
	ok = store_quota_recalc(dir, &q, &u, &error);
	if (!ok)
		tool_complain("quota: %s", str_c(&error));
	else
		tool_say("quota: recalculated, %lld bytes in %lld messages",
			 (long long)u.bytes, (long long)u.messages);
	str_release(&error);
	return ok ? 0 : 1;
}

static int mailbox_list(const char *dir)
{
	struct str path = STR_INIT, error = STR_INIT;
	char **names;
	size_t n = mailbox_folders(dir, &names);
	int ret = 0;

	printf("%-24s %8s %8s %12s %12s %8s\n", "folder", "messages",
	       "unseen", "bytes", "uidvalidity", "uidnext");
	for (size_t i = 0; i < n; i++) {
		struct store_folder *f;
		unsigned long long bytes = 0;
		size_t unseen = 0;

		(void)store_folder_path(dir, i == 0 ? NULL : names[i], &path);
		f = store_folder_open(str_c(&path), false, &error);
		if (f == NULL) {
			tool_complain("%s: %s", names[i], str_c(&error));
			ret = 1;
			continue;
		}
		for (size_t j = 0; j < f->count; j++) {
			bytes += f->msgs[j].vsize;
			unseen += !(f->msgs[j].flags & STORE_F_SEEN);
		}
		printf("%-24s %8zu %8zu %12llu %12u %8u\n", names[i],
		       f->count, unseen, bytes, f->uidvalidity, f->uidnext);
		store_folder_free(&f);
	}
	mailbox_names_free(names, n);
	str_release(&path);
	str_release(&error);
	return ret;
}

/* Run op on FOLDER (or every folder when folder is NULL). */
static int mailbox_each(const char *dir, const char *folder,
			int (*op)(const char *name, const char *path))
{
	struct str path = STR_INIT;
	char **names;
	size_t n = mailbox_folders(dir, &names);
	int ret = 0;
	bool found = false;

	for (size_t i = 0; i < n; i++) {
		if (folder != NULL && strcasecmp(folder, names[i]) != 0 &&
		    !(i > 0 && strcmp(folder, names[i]) == 0))
			continue;
		found = true;
		(void)store_folder_path(dir, i == 0 ? NULL : names[i], &path);
		if (op(names[i], str_c(&path)) != 0)
			ret = 1;
	}
	if (!found) {
		tool_complain("no such folder: %s", folder);
		ret = 1;
	}
	mailbox_names_free(names, n);
	str_release(&path);
	return ret;
}

/* The full-text index of a rebuilt folder (store_index_remove removed
 * the old one), built now rather than at the next SEARCH. */
static int mailbox_fts_rebuild(const char *name, struct store_folder *f)
{
	struct str error = STR_INIT;
	struct store_fts *fts;
	uint32_t *uids = mem_array(f->count + 1, sizeof(*uids));
	long n = -1;

	for (size_t i = 0; i < f->count; i++)
		uids[i] = f->msgs[i].uid;
	fts = store_fts_open(f->dir, f->uidvalidity, 10000, true, &error);
	if (fts != NULL)
		n = store_fts_catch_up(fts, f, uids, f->count, &error);
	store_fts_close(&fts);
	if (n < 0)
		tool_complain("%s: full-text index: %s", name, str_c(&error));
	else
		tool_say("%s: full-text index rebuilt, %ld messages", name, n);
	mem_free(uids);
	str_release(&error);
	return n < 0;
}

static int mailbox_rebuild_one(const char *name, const char *path)
{
	struct str error = STR_INIT;
	struct store_folder *f = NULL;
	int ret = 0;

	if (!store_index_remove(path, &error) ||
	    (f = store_folder_open(path, false, &error)) == NULL) {
		tool_complain("%s: %s", name, str_c(&error));
		ret = 1;
	} else {
		tool_say("%s: index rebuilt, %zu messages, uidvalidity %u",
			 name, f->count, f->uidvalidity);
		ret = mailbox_fts_rebuild(name, f);
	}
	store_folder_free(&f);
	str_release(&error);
	return ret;
}

static int mailbox_expunge_one(const char *name, const char *path)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(path, false, &error);
	uint32_t *uids;
	size_t n = 0;
	int removed = -1;

	if (f != NULL) {
		uids = mem_array(f->count + 1, sizeof(*uids));
		for (size_t i = 0; i < f->count; i++)
			if (f->msgs[i].flags & STORE_F_DELETED)
				uids[n++] = f->msgs[i].uid;
		removed = store_expunge(f, uids, n, &error);
		free(uids);
	}
	if (removed < 0)
		tool_complain("%s: %s", name, str_c(&error));
	else
		tool_say("%s: %d messages expunged", name, removed);
	store_folder_free(&f);
	str_release(&error);
	return removed < 0;
}

static int mailbox_purge_one(const char *name, const char *path)
{
	struct str error = STR_INIT;
	struct store_folder *f = store_folder_open(path, false, &error);
	bool ok = f != NULL && store_compact(f, &error);

	if (!ok)
		tool_complain("%s: %s", name, str_c(&error));
	store_folder_free(&f);
	str_release(&error);
	return ok ? 0 : 1;
}

int correo_mailbox_cmd(const char *config_dir, int argc, char **argv)
{
	struct str dir = STR_INIT, quota = STR_INIT;
	const char *op = argc >= 3 ? argv[2] : "list";
	int ret;

	if (argc < 2 || argc > 4 || strcmp(argv[1], "--help") == 0)
		return mailbox_usage();
	if (!mailbox_find(config_dir, argv[1], &dir, &quota) ||
	    !mailbox_become_owner(str_c(&dir))) {
		str_release(&dir);
		str_release(&quota);
		return 1;
	}
	if (strcmp(op, "list") == 0 && argc <= 3)
		ret = mailbox_list(str_c(&dir)) |
		      mailbox_quota(str_c(&dir), str_c(&quota));
	else if (strcmp(op, "rebuild") == 0)
		ret = mailbox_each(str_c(&dir), argc == 4 ? argv[3] : NULL,
				   mailbox_rebuild_one) |
		      mailbox_quota_rebuild(str_c(&dir), str_c(&quota));
	else if (strcmp(op, "expunge") == 0 && argc == 4)
		ret = mailbox_each(str_c(&dir), argv[3], mailbox_expunge_one);
	else if (strcmp(op, "purge") == 0 && argc == 3)
		ret = mailbox_each(str_c(&dir), NULL, mailbox_purge_one);
	else
		ret = mailbox_usage();
	str_release(&dir);
	str_release(&quota);
	return ret;
}
