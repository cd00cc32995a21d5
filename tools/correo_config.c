/*
 * correo_config: "correo [-c DIR] config [-n] [-d] [KEY...]", the
 * postconf of correo (correo.h).
 *
 * Without options it prints every parameter as "key = value" with $names
 * expanded; -n prints only the parameters set in correo.conf; -d prints
 * the defaults as written in the key table (not expanded, and without
 * reading correo.conf). KEY arguments restrict the output to those
 * parameters. An unknown KEY is an error (exit 1) before anything is
 * printed, as is a correo.conf that does not load (its FILE:LINE error).
 *
 * SECURITY: runs as the invoking user and only reads correo.conf.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "mem.h"
#include "str.h"

#include "correo.h"

#define CONFIG_USAGE "usage: correo [-c DIR] config [-n] [-d] [KEY...]\n"

struct config_opts {
	bool non_default;
	bool defaults;
	char **keys;		/* NULL: all */
};

static bool config_parse_args(int argc, char **argv,
			      struct config_opts *opts)
{
	int i;
	const char *p;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][1] == '\0')
			return false;
		for (p = argv[i] + 1; *p != '\0'; p++) {
			if (*p == 'n')
				opts->non_default = true;
			else if (*p == 'd')
				opts->defaults = true;
			else
				return false;
		}
	}
	if (opts->non_default && opts->defaults)
		return false;
	opts->keys = i < argc ? argv + i : NULL;
	return true;
}

/* Report every unknown KEY; true if all are known. */
static bool config_check_keys(char **keys)
{
	bool ok = true;

	for (; keys != NULL && *keys != NULL; keys++) {
		if (cfg_key_find(*keys) == NULL) {
			fprintf(stderr, "correo: unknown parameter: %s\n",
				*keys);
			ok = false;
		}
	}
	return ok;
}

static void config_print_default(struct cfg *cfg, const char *name)
{
	const char *def = cfg_default(cfg, name);

	if (*def == '\0')
		printf("%s =\n", name);
	else
		printf("%s = %s\n", name, def);
}

static int config_name_cmp(const void *a, const void *b)
{
	const char *const *na = a, *const *nb = b;

	return strcmp(*na, *nb);
}

/* -d: the table's defaults, sorted like the other listings. */
static void config_print_defaults(const char *config_dir, char **keys)
{
	struct cfg *cfg;
	const char **names;
	char *error = NULL;
	size_t n = 0, i;

	cfg = cfg_parse("", "(defaults)", config_dir, &error);
	if (cfg == NULL) {
		fprintf(stderr, "correo: %s\n", error);
		free(error);
		return;
	}
	if (keys != NULL) {
		for (; *keys != NULL; keys++)
			config_print_default(cfg, *keys);
	} else {
		while (cfg_keys[n].name != NULL)
			n++;
		names = mem_array(n + 1, sizeof(*names));
		for (i = 0; i < n; i++)
			names[i] = cfg_keys[i].name;
		qsort(names, n, sizeof(*names), config_name_cmp);
		for (i = 0; i < n; i++)
			config_print_default(cfg, names[i]);
		free(names);
	}
	cfg_free(&cfg);
}

int correo_config_cmd(const char *config_dir, int argc, char **argv)
{
	struct config_opts opts = { 0 };
	struct str path = STR_INIT;
	struct cfg *cfg;
	char *error = NULL;

	if (!config_parse_args(argc, argv, &opts)) {
		fputs(CONFIG_USAGE, stderr);
		return 2;
	}
	if (!config_check_keys(opts.keys))
		return 1;
	if (opts.defaults) {
		config_print_defaults(config_dir, opts.keys);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	str_printf(&path, "%s/correo.conf", config_dir);
	cfg = cfg_load(str_c(&path), &error);
	str_release(&path);
	if (cfg == NULL) {
		fprintf(stderr, "correo: %s\n", error);
		free(error);
		return 1;
	}
	cfg_print(cfg, stdout, opts.keys, opts.non_default);
	cfg_free(&cfg);
	return fflush(stdout) == 0 ? 0 : 1;
}
