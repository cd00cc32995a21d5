/*
 * store_savedate: the save date of a message from its Maildir file name
 * (store_savedate.h).
 *
 * SECURITY: runs as the mailbox owner; the name is the store's, parsed
 * with strict digits and a bound on its length.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "store_savedate.h"

int64_t store_msg_savedate(const struct store_folder *f,
			   const struct store_msg *msg)
{
	const char *p = store_msg_name(f, msg);
	int64_t t = 0;
	size_t n = 0;
	struct str path = STR_INIT;
	struct stat st;

	while (p[n] >= '0' && p[n] <= '9' && n < 12)
		t = t * 10 + (p[n++] - '0');
	/* Between 2001 and 5138: a time, not some other number. */
	if (n >= 10 && n < 12 && p[n] == '.')
		return t;
	store_msg_path(f, msg, &path);
	t = stat(str_c(&path), &st) == 0 ? (int64_t)st.st_ctime : -1;
	str_release(&path);
	return t;
}
