/*
 * imapd_listext: LIST as RFC 5258 (LIST-EXTENDED) and RFC 5819
 * (LIST-STATUS) define it, in the IMAP mail process (imapd.h):
 *
 *	LIST [(selection-options)] ref (pattern | (patterns))
 *	     [RETURN (return-options)]
 *
 * Selection: SUBSCRIBED (subscribed names, existing or not: the missing
 * ones are \NonExistent), RECURSIVEMATCH (with SUBSCRIBED: a name whose
 * subscribed descendant the patterns do not reach is listed with
 * CHILDINFO ("SUBSCRIBED")), REMOTE (no remote mailboxes here),
 * SPECIAL-USE (RFC 6154). Return: SUBSCRIBED, CHILDREN (always given),
 * SPECIAL-USE (always given), STATUS (items) after each selectable
 * mailbox. The plain "LIST ref pattern" is the same command with no
 * options.
 *
 * SECURITY: runs as the mailbox owner; names from the client are only
 * patterns here (matched, never used as paths).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_mailbox.h"
#include "imap_utf7.h"
#include "imapd.h"
#include "mem.h"

struct imapd_listopts {
	bool sel_subscribed, sel_recursive, sel_special;
	bool ret_subscribed;
	bool extended;		/* any RFC 5258 syntax was used */
	const struct imap_arg *status_items;
	unsigned nstatus;
	char **patterns;
	size_t npatterns;
};

static bool imapd_list_atoms(const struct imap_arg *list, unsigned n,
			     struct imapd_listopts *o, bool selection,
			     const char **error_r)
{
	const char *w;

	for (unsigned i = 0; i < n; i++) {
		if (!imap_arg_get_atom(&list[i], &w)) {
			*error_r = "Invalid LIST options.";
			return false;
		}
		if (selection && strcasecmp(w, "SUBSCRIBED") == 0) {
			o->sel_subscribed = true;
		} else if (selection && strcasecmp(w, "RECURSIVEMATCH") == 0) {
			o->sel_recursive = true;
		} else if (selection && strcasecmp(w, "REMOTE") == 0) {
			;
		} else if (strcasecmp(w, "SPECIAL-USE") == 0) {
			if (selection)
				o->sel_special = true;
		} else if (!selection && strcasecmp(w, "SUBSCRIBED") == 0) {
			o->ret_subscribed = true;
		} else if (!selection && strcasecmp(w, "CHILDREN") == 0) {
			;
		} else if (!selection && strcasecmp(w, "STATUS") == 0 &&
			   i + 1 < n &&
			   imap_arg_get_list(&list[i + 1], &o->status_items,
					     &o->nstatus)) {
			i++;
			*error_r = imapd_status_items_check(o->status_items,
							    o->nstatus);
			if (*error_r != NULL)
				return false;
		} else {
			*error_r = "Unknown LIST option.";
			return false;
		}
	}
	/* RECURSIVEMATCH needs a selection it can recurse on. */
	if (selection && o->sel_recursive && !o->sel_subscribed &&
	    !o->sel_special) {
		*error_r = "RECURSIVEMATCH without a selection option.";
		return false;
	}
	return true;
}

static void imapd_list_pattern(struct imapd *s, struct imapd_listopts *o,
			       const char *ref, const char *pat)
{
	struct str raw = STR_INIT, utf8 = STR_INIT;
	const char *error;

	str_printf(&raw, "%s%s", ref, pat);
	if (s->utf8 || !imap_utf7_decode(str_c(&raw), &utf8, &error))
		str_set(&utf8, str_c(&raw));
	o->patterns = mem_array_realloc(o->patterns, o->npatterns + 1,
					sizeof(*o->patterns));
	o->patterns[o->npatterns++] = str_steal(&utf8);
	str_release(&raw);
}

/* Parse the command; false with a BAD text. */
static bool imapd_list_parse(struct imapd *s, const struct imap_cmd *cmd,
			     struct imapd_listopts *o, const char **error_r)
{
	const struct imap_arg *a = cmd->args, *list;
	const char *ref, *pat;
	unsigned n;

	*error_r = "Invalid arguments.";
	if (a->type == IMAP_ARG_LIST) {
		o->extended = true;
		if (!imapd_list_atoms(a->list, a->count, o, true, error_r))
			return false;
		a++;
	}
	if (!imap_arg_get_astring(a, &ref))
		return false;
	a++;
	if (imap_arg_get_list(a, &list, &n)) {
		o->extended = true;
		if (n == 0)
			return false;
		for (unsigned i = 0; i < n; i++) {
			if (!imap_arg_get_astring(&list[i], &pat))
				return false;
			imapd_list_pattern(s, o, ref, pat);
		}
	} else if (imap_arg_get_astring(a, &pat)) {
		imapd_list_pattern(s, o, ref, pat);
	} else {
		return false;
	}
	a++;
	if (a->type == IMAP_ARG_EOL)
		return true;
	if (!imap_arg_atom_equals(a, "RETURN") ||
	    !imap_arg_get_list(a + 1, &list, &n) ||
	    a[2].type != IMAP_ARG_EOL)
		return false;
	o->extended = true;
	return imapd_list_atoms(list, n, o, false, error_r);
}

static bool imapd_list_matches(const struct imapd_listopts *o,
			       const char *name)
{
	for (size_t i = 0; i < o->npatterns; i++)
		if (imap_mailbox_match(o->patterns[i], name))
			return true;
	return false;
}

static bool imapd_in(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Does name have a subscribed descendant that the patterns do not
 * reach (RECURSIVEMATCH's CHILDINFO)? */
static bool imapd_list_childinfo(const struct imapd_listopts *o,
				 char **subs, size_t nsubs, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < nsubs; i++)
		if (subs[i] != NULL && strncmp(subs[i], name, len) == 0 &&
		    subs[i][len] == '.' && !imapd_list_matches(o, subs[i]))
			return true;
	return false;
}

static int imapd_strcmp_ptrs(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add name and each of its parents to out (without duplicates). */
static void imapd_list_add_tree(char ***out, size_t *k, const char *name)
{
	char *copy = mem_strdup(name), *dot;

	for (;;) {
		if (!imapd_in(*out, *k, copy)) {
			*out = mem_array_realloc(*out, *k + 1, sizeof(**out));
			(*out)[(*k)++] = mem_strdup(copy);
		}
		dot = strrchr(copy, '.');
		if (dot == NULL)
			break;
		*dot = '\0';
	}
	free(copy);
}

/* Every name to consider: mailboxes, subscriptions, and the parents of
 * both (a Maildir++ folder ".a.b" can exist without ".a"). */
static size_t imapd_list_candidates(char **names, size_t n, char **subs,
				    size_t nsubs, char ***out_r)
{
	char **out = mem_array(n + 1, sizeof(*out));
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		out[k++] = mem_strdup(names[i]);
	for (size_t i = 0; i < n; i++)
		if (strchr(names[i], '.') != NULL)
			imapd_list_add_tree(&out, &k, names[i]);
	for (size_t i = 0; i < nsubs; i++)
		if (subs[i] != NULL)
			imapd_list_add_tree(&out, &k, subs[i]);
	/* INBOX first, then in order, parents before their children. */
	qsort(out + 1, k - 1, sizeof(*out), imapd_strcmp_ptrs);
	*out_r = out;
	return k;
}

void imapd_cmd_list_ext(struct imapd *s, const struct imap_cmd *cmd)
{
	struct imapd_listopts o = { 0 };
	struct str line = STR_INIT;
	char **names, **subs, **cands;
	size_t n, nsubs, ncands;
	const char *error;

	if (!imapd_list_parse(s, cmd, &o, &error)) {
		imapd_tagged(s, cmd->tag, "BAD %s", error);
		goto out;
	}
	if (o.npatterns == 1 && o.patterns[0][0] == '\0' &&
	    !o.sel_subscribed && !o.sel_special) {
		imapd_printf(s, "* LIST (\\Noselect) \".\" \"\"\r\n");
		imapd_tagged(s, cmd->tag, "OK List completed.");
		goto out;
	}
	n = imapd_mailboxes(s, &names);
	subs = imapd_subscriptions(s, &nsubs);
	ncands = imapd_list_candidates(names, n, subs, nsubs, &cands);
	for (size_t i = 0; i < ncands; i++) {
		const char *name = cands[i], *special;
		bool exists = imapd_in(names, n, name);
		bool sub = imapd_subscribed(subs, nsubs, name);
		bool childinfo = false;

		if (!imapd_list_matches(&o, name))
			continue;
		special = exists ? imapd_special_attr(name) : NULL;
		if (o.sel_subscribed) {
			childinfo = o.sel_recursive &&
				    imapd_list_childinfo(&o, subs, nsubs,
							 name);
			if (!sub && !childinfo)
				continue;
		} else if (o.sel_special) {
			if (special == NULL)
				continue;
		} else if (!exists && !imapd_has_children(names, n, name)) {
			continue;	/* only subscriptions name it */
		}
		str_clear(&line);
		str_append(&line, "* LIST (");
		if (!exists && imapd_has_children(names, n, name))
			/* A level above existing mailboxes: RFC 3501's
			 * \Noselect for a plain LIST from a rev1 client,
			 * RFC 5258's \NonExistent (which implies it)
			 * otherwise, as Dovecot. */
			str_append(&line, o.extended || s->rev2 ?
				   "\\NonExistent \\HasChildren" :
				   "\\Noselect \\HasChildren");
		else if (!exists)
			str_append(&line, "\\NonExistent");
		else
			str_append(&line, imapd_has_children(names, n, name) ?
				   "\\HasChildren" : "\\HasNoChildren");
		if (sub && (o.sel_subscribed || o.ret_subscribed))
			str_append(&line, " \\Subscribed");
		if (special != NULL)
			str_printf(&line, " %s", special);
		str_append(&line, ") \".\" ");
		imapd_name_out(s, name, &line);
		if (childinfo)
			str_append(&line, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
		imapd_printf(s, "%s\r\n", str_c(&line));
		if (o.nstatus > 0 && exists)
			(void)imapd_status_send(s, name, o.status_items,
						o.nstatus);
	}
	imapd_names_free(names, n);
	imapd_names_free(subs, nsubs);
	imapd_names_free(cands, ncands);
	imapd_tagged(s, cmd->tag, "OK List completed.");
out:
	imapd_names_free(o.patterns, o.npatterns);
	str_release(&line);
}
