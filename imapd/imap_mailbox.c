/*
 * imap_mailbox: mailbox name checks and the Maildir++ directory mapping
 * (imap_mailbox.h).
 *
 * The check runs on the UTF-8 name, after any mUTF-7 decoding, so that a
 * name cannot hide a '/' or a control character in base64; the directory
 * name is then the mUTF-7 encoding, which only uses printable ASCII other
 * than '/'.
 *
 * SECURITY: names come from the client (CREATE, RENAME, SELECT, ...) and
 * become directory names under the user's Maildir: this is the check that
 * keeps them inside it. Runs as the mailbox owner in imapd.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

#include "imap_mailbox.h"
#include "imap_utf7.h"

bool imap_mailbox_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

bool imap_mailbox_name_valid(const char *name, const char **error_r)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), depth = 1, i;
	struct str dir = STR_INIT;
	bool ok;

	if (len == 0) {
		*error_r = "Empty mailbox name";
		return false;
	}
	if (!imap_utf8_valid(name, len)) {
		*error_r = "Mailbox name is not valid UTF-8";
		return false;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f) {
			*error_r = "Control characters in mailbox name";
			return false;
		}
		if (s[i] == '/') {
			*error_r = "'/' in mailbox name";
			return false;
		}
		if (s[i] == '%' || s[i] == '*') {
			*error_r = "Wildcards in mailbox name";
			return false;
		}
		if (s[i] != IMAP_MAILBOX_SEP)
			continue;
		if (i == 0 || i == len - 1 || s[i + 1] == IMAP_MAILBOX_SEP) {
			*error_r = "Empty hierarchy level in mailbox name";
			return false;
		}
		depth++;
	}
	if (depth > IMAP_MAILBOX_DEPTH_MAX) {
		*error_r = "Mailbox name has too many levels";
		return false;
	}
	str_append_c(&dir, '.');
	ok = imap_utf7_encode(name, &dir, error_r);
	if (ok && dir.len > IMAP_MAILBOX_DIR_MAX) {
		*error_r = "Mailbox name too long";
		ok = false;
	}
	str_release(&dir);
	return ok;
}

bool imap_mailbox_to_dir(const char *name, struct str *dir_r,
			 const char **error_r)
{
	if (!imap_mailbox_name_valid(name, error_r))
		return false;
	if (imap_mailbox_is_inbox(name))
		return true;
	str_append_c(dir_r, '.');
	return imap_utf7_encode(name, dir_r, error_r);
}

bool imap_mailbox_from_dir(const char *dir, struct str *name_r,
			   const char **error_r)
{
	struct str name = STR_INIT;
	bool ok = false;

	if (dir[0] != '.' || strlen(dir) > IMAP_MAILBOX_DIR_MAX) {
		*error_r = "Not a Maildir++ folder";
		return false;
	}
	if (!imap_utf7_decode(dir + 1, &name, error_r))
		goto out;
	if (!imap_mailbox_name_valid(str_c(&name), error_r))
		goto out;
	/* INBOX's children are ".INBOX.x"; ".INBOX" alone would shadow
	 * the Maildir's own INBOX. */
	if (imap_mailbox_is_inbox(str_c(&name))) {
		*error_r = "Folder named INBOX";
		goto out;
	}
	str_append_n(name_r, name.data, name.len);
	ok = true;
out:
	str_release(&name);
	return ok;
}

/* Does pattern byte pc match name byte nc at offset j of name? */
static bool imap_mailbox_char_eq(char pc, char nc, size_t j, bool inbox)
{
	if (pc == nc)
		return true;
	if (!inbox || j >= 5)
		return false;
	if (pc >= 'a' && pc <= 'z')
		pc = (char)(pc - 'a' + 'A');
	if (nc >= 'a' && nc <= 'z')
		nc = (char)(nc - 'a' + 'A');
	return pc == nc;
}

bool imap_mailbox_match(const char *pattern, const char *name)
{
	size_t m = strlen(pattern), n = strlen(name), i, j;
	bool inbox = strncasecmp(name, "INBOX", 5) == 0 &&
		(name[5] == '\0' || name[5] == IMAP_MAILBOX_SEP);
	bool *prev, *cur, *tmp, ok;

	if (m > IMAP_MAILBOX_PATTERN_MAX)
		return false;
	/* prev[j]: the pattern so far matches the first j bytes of name. */
	prev = mem_array(n + 1, sizeof(*prev));
	cur = mem_array(n + 1, sizeof(*cur));
	prev[0] = true;
	for (i = 0; i < m; i++) {
		char c = pattern[i];

		cur[0] = (c == '*' || c == '%') && prev[0];
		for (j = 1; j <= n; j++) {
			if (c == '*')
				cur[j] = prev[j] || cur[j - 1];
			else if (c == '%')
				cur[j] = prev[j] || (cur[j - 1] &&
					 name[j - 1] != IMAP_MAILBOX_SEP);
			else
				cur[j] = prev[j - 1] &&
					imap_mailbox_char_eq(c, name[j - 1],
							     j - 1, inbox);
		}
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	ok = prev[n];
	free(prev);
	free(cur);
	return ok;
}
