#ifndef COMMON_CLEAN_ENV_H
#define COMMON_CLEAN_ENV_H

#include <stdbool.h>

/* Reduce the process environment to an allowlist (Postfix's
 * import_environment). Each entry of list (NULL terminated) is NAME,
 * which keeps that variable if it is set, or NAME=VALUE, which sets it;
 * everything else is removed. A later entry for the same name wins.
 * Returns false, changing nothing, with *bad_r pointing at the first
 * entry whose NAME is not [A-Za-z_][A-Za-z0-9_]*. */
bool clean_env(char *const *list, const char **bad_r);

/* Put /dev/null on whichever of descriptors 0-2 are closed, so that no
 * file opened later lands there (and is written to as stdio, or refused:
 * SQLite will not keep a database on them). Call it before a sandbox
 * hides /dev/null. */
void std_fds_reserve(void);

#endif
