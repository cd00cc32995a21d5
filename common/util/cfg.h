#ifndef COMMON_CFG_H
#define COMMON_CFG_H

#include <stdbool.h>
#include <stdio.h>

/* correo.conf: "key = value" lines, '#' comments, continuation lines
 * (a line starting with whitespace continues the previous value), and
 * "$key" / "${key}" expansion of other keys at lookup time.
 *
 * Every key is declared once in cfg_keys.c with its type, default and a
 * one-line doc. Values are type checked at load time; a bad value is an
 * error "FILE:LINE: key: expected ..., got \"...\"". An unknown key is a
 * warning naming the nearest known key ("did you mean ...?"). */

enum cfg_type {
	CFG_STR,	/* free text */
	CFG_INT,	/* decimal integer >= 0 */
	CFG_TIME,	/* integer with optional s/m/h/d/w unit (default s) */
	CFG_SIZE,	/* integer with optional k/m/g unit */
	CFG_BOOL,	/* yes/no */
	CFG_LIST,	/* comma and/or whitespace separated list */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	const char *def;	/* default, may contain $key references */
	const char *doc;	/* one line */
};

/* The table of every key, terminated by { NULL }. */
extern const struct cfg_key cfg_keys[];
const struct cfg_key *cfg_key_find(const char *name);
/* The known key with the smallest edit distance to name, or NULL if
 * nothing is close. */
const char *cfg_key_nearest(const char *name);

struct cfg;

/* Load a config file. config_directory is set to the file's directory.
 * Returns NULL and an allocated error message in *error_r. Warnings
 * (unknown keys) are logged with msg_warn. */
struct cfg *cfg_load(const char *path, char **error_r);
/* The same from a string (tests); name is used in messages. */
struct cfg *cfg_parse(const char *text, const char *name,
		      const char *config_dir, char **error_r);
void cfg_free(struct cfg **cfg);

/* Override one key (e.g. from a services.conf "-o key=value").
 * Returns false with *error_r when the key is unknown or the value has
 * the wrong type. */
bool cfg_set(struct cfg *cfg, const char *key, const char *value,
	     char **error_r);
/* cfg_set from "key=value" (blanks around '=' and the value trimmed), the
 * form of a services.conf "-o" argument. */
bool cfg_set_assignment(struct cfg *cfg, const char *assignment,
			char **error_r);

/* Typed getters with $expansion done. Asking for an undeclared key or
 * with the wrong type is a programming error (msg_panic). The returned
 * string is owned by cfg and valid until cfg_free/cfg_set. */
const char *cfg_str(struct cfg *cfg, const char *key);
long cfg_int(struct cfg *cfg, const char *key);
long cfg_time(struct cfg *cfg, const char *key);
long long cfg_size(struct cfg *cfg, const char *key);
bool cfg_bool(struct cfg *cfg, const char *key);
/* A list value split into a NULL-terminated vector owned by cfg. */
char **cfg_list(struct cfg *cfg, const char *key);
/* True if the file (or cfg_set) gave the key a value. */
bool cfg_is_set(const struct cfg *cfg, const char *key);
/* The default of a declared key, unexpanded; for config_directory,
 * myhostname and mydomain the value computed for this cfg. NULL for an
 * undeclared key. */
const char *cfg_default(const struct cfg *cfg, const char *key);

/* Print "key = value" for the keys named (NULL: all keys; non_default:
 * only keys set in the file), expanded. Used by "correo config". */
void cfg_print(struct cfg *cfg, FILE *out, char **keys, bool non_default);

/* The process-wide configuration, set by server_main() and the tools. */
extern struct cfg *cfg_main;

#endif
