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

#endif
