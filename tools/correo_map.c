/*
 * correo map: build or query a lookup table, like Postfix's postmap(1).
 *
 *   correo map [-t hash|btree|lmdb] FILE   build FILE.db (FILE.lmdb)
 *   correo map [-t TYPE] TYPE:FILE         the same, type in the name
 *   correo map -q KEY [TYPE:]FILE           print KEY's value
 *   correo map -q - [TYPE:]FILE             look up each line of stdin,
 *                                           print "key<TAB>value"
 *
 * Exit status: 0 built / found, 1 not found or an error (printed to
 * stderr, "FILE:LINE: problem" for source errors), 2 usage. The default
 * type is hash. Building is atomic (dict_build): daemons that have the
 * table open switch to the new file within a second.
 *
 * Implements correo_map_cmd() from correo.h.
 *
 * SECURITY: runs with the invoking user's privileges (often root). The
 * source file is trusted admin input; the new .db gets the source's owner
 * and a mode no more open than the source's (see dict_db.c, dict_lmdb.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"
#include "mem.h"
#include "str.h"

#include "correo.h"

#define CORREO_MAP_USAGE \
	"usage: correo map [-t hash|btree|lmdb] FILE\n" \
	"       correo map [-t TYPE] -q KEY|- [TYPE:]FILE\n"

/* "correo: TEXT" on stderr: the admin's conversation, not a log line
 * (the same shape as tool_complain, without linking the config code). */
static void correo_map_complain(const char *fmt, ...) MSG_PRINTF(1, 2);

static void correo_map_complain(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("correo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static int correo_map_usage(void)
{
	fputs(CORREO_MAP_USAGE, stderr);
	return 2;
}

/* If name starts with "TYPE:" (no '/' before the colon), the length of
 * TYPE; else 0 (a plain path). */
static size_t correo_map_type_len(const char *name)
{
	size_t len = strcspn(name, ":/");

	return name[len] == ':' && len > 0 ? len : 0;
}

static int correo_map_build(const char *type, const char *name)
{
	size_t tlen = correo_map_type_len(name);
	char *error, *own_type = NULL;
	int ret = 0;

	if (tlen > 0) {
		own_type = mem_strndup(name, tlen);
		if (type != NULL && strcmp(type, own_type) != 0) {
			correo_map_complain("map: -t %s conflicts with \"%s\"",
					    type, name);
			free(own_type);
			return 2;
		}
		type = own_type;
		name += tlen + 1;
	}
	if (type == NULL)
		type = "hash";
	if (!dict_build(type, name, &error)) {
		correo_map_complain("%s", error);
		free(error);
		ret = 1;
	}
	free(own_type);
	return ret;
}

/* 1 found (printed), 0 not found, -1 error (printed). */
static int correo_map_lookup(struct dict *dict, const char *key,
			     bool with_key)
{
	struct str value = STR_INIT;
	const char *error;
	int ret;

	ret = dict_lookup(dict, key, &value, &error);
	if (ret < 0)
		correo_map_complain("%s: lookup \"%s\": %s",
				    dict_name(dict), key, error);
	else if (ret > 0 && with_key)
		printf("%s\t%s\n", key, str_c(&value));
	else if (ret > 0)
		printf("%s\n", str_c(&value));
	str_release(&value);
	return ret;
}

/* "-q -": one key per line of stdin. */
static int correo_map_lookup_stdin(struct dict *dict)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false, failed = false;
	int ret;

	while (getline(&line, &cap, stdin) >= 0) {
		char *key = str_trim(line);

		if (*key == '\0')
			continue;
		ret = correo_map_lookup(dict, key, true);
		found = found || ret > 0;
		failed = failed || ret < 0;
	}
	free(line);
	return failed || !found ? 1 : 0;
}

static int correo_map_query(const char *type, const char *key,
			    const char *name)
{
	struct str spec = STR_INIT;
	struct dict *dict;
	char *error;
	int ret;

	if (correo_map_type_len(name) == 0)
		str_printf(&spec, "%s:", type != NULL ? type : "hash");
	str_append(&spec, name);
	dict = dict_open(str_c(&spec), &error);
	str_release(&spec);
	if (dict == NULL) {
		correo_map_complain("%s", error);
		free(error);
		return 1;
	}
	if (strcmp(key, "-") == 0)
		ret = correo_map_lookup_stdin(dict);
	else
		ret = correo_map_lookup(dict, key, false) > 0 ? 0 : 1;
	if (fflush(stdout) != 0)
		ret = 1;
	dict_close(&dict);
	return ret;
}

int correo_map_cmd(const char *config_dir, int argc, char **argv)
{
	const char *type = NULL, *query = NULL;
	int c;

	optind = 0;		/* glibc: restart option parsing */
	opterr = 0;
	while ((c = getopt(argc, argv, "+q:t:")) != -1) {
		switch (c) {
		case 'q':
			query = optarg;
			break;
		case 't':
			type = optarg;
			break;
		default:
			return correo_map_usage();
		}
	}
	if (optind != argc - 1)
		return correo_map_usage();
	if (query != NULL)
		return correo_map_query(type, query, argv[optind]);
	return correo_map_build(type, argv[optind]);
}
