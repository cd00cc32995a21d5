/*
 * store_remove: drop a folder's index files so the next open rebuilds
 * them from the Maildir (store.h, "correo mailbox rebuild").
 *
 * A file of its own: it is the one part of the store that reaches the
 * full-text index (SQLite), and programs that never rebuild (the park
 * process) link the store without it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_fts.h"
#include "store_int.h"

bool store_index_remove(const char *dir, struct str *error_r)
{
	static const char *const files[] = { STORE_INDEX_FILE,
					     STORE_LOG_FILE,
					     STORE_CACHE_FILE };
	struct str path = STR_INIT;
	int lock = store_lock(dir, error_r);
	bool ok = lock >= 0;

	for (size_t i = 0; ok && i < sizeof(files) / sizeof(*files); i++) {
		str_clear(&path);
		str_printf(&path, "%s/%s", dir, files[i]);
		if (unlink(str_c(&path)) != 0 && errno != ENOENT) {
			str_printf(error_r, "unlink %s: %s", str_c(&path),
				   strerror(errno));
			ok = false;
		}
	}
	/* The full-text index goes too: keyed by UIDVALIDITY, it would
	 * be started anew anyway when the rebuilt index takes a new one. */
	if (ok && !store_fts_remove(dir, error_r))
		ok = false;
	store_unlock(&lock);
	str_release(&path);
	return ok;
}
