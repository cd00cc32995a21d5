/*
 * clean_env: the environment reduced to an allowlist (clean_env.h).
 *
 * master calls it with $import_environment before it starts any child,
 * and "correo start" before it runs master, so no daemon inherits the
 * administrator's shell environment (LD_PRELOAD, proxies, tokens, a
 * HOME whose dot files a library might read): the same job as Postfix's
 * clean_env() with import_environment.
 *
 * The kept values are copied before clearenv() and set again with
 * setenv(), so what getenv() returned is never used after it may have
 * been freed.
 *
 * SECURITY: the allowlist is the administrator's configuration; the
 * values kept come from whoever started the process (root or the
 * instance's owner), i.e. they are as trusted as before, only fewer.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean_env.h"
#include "mem.h"
#include "str.h"

static bool clean_env_name_ok(const char *entry, size_t len)
{
	size_t i;

	if (len == 0 || (entry[0] >= '0' && entry[0] <= '9'))
		return false;
	for (i = 0; i < len; i++) {
		char c = entry[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

bool clean_env(char *const *list, const char **bad_r)
{
	struct str item = STR_INIT;
	char **keep, *eq;
	const char *value;
	size_t n, i, k = 0;

	for (n = 0; list[n] != NULL; n++) {
		if (!clean_env_name_ok(list[n], strcspn(list[n], "="))) {
			*bad_r = list[n];
			return false;
		}
	}
	keep = mem_array(n + 1, sizeof(*keep));
	for (i = 0; i < n; i++) {
		if (strchr(list[i], '=') != NULL) {
			keep[k++] = mem_strdup(list[i]);
			continue;
		}
		if ((value = getenv(list[i])) == NULL)
			continue;
		str_clear(&item);
		str_printf(&item, "%s=%s", list[i], value);
		keep[k++] = str_steal(&item);
	}
	str_release(&item);
	clearenv();
	for (i = 0; i < k; i++) {
		eq = strchr(keep[i], '=');
		*eq = '\0';
		/* Fails only without memory: the variable is then missing,
		 * which is the safe side. */
		(void)setenv(keep[i], eq + 1, 1);
		free(keep[i]);
	}
	free(keep);
	return true;
}

void std_fds_reserve(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
		;
	if (fd > STDERR_FILENO)
		close(fd);
}
