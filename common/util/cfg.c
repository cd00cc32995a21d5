/*
 * cfg: correo.conf, the main configuration file (cfg.h).
 *
 * The file is "key = value" lines. Blank lines and lines whose first
 * non-blank character is '#' are ignored; a line that starts with
 * whitespace continues the previous logical line (joined with one space);
 * a later assignment of a key replaces an earlier one. Values may refer
 * to other parameters as $name or ${name}; "$$" is a literal '$'.
 *
 * Everything that can be wrong with the file is found at load time:
 * syntax, references to unknown parameters, expansion loops and values of
 * the wrong type are errors with the file and line; an unknown key is a
 * warning that names the nearest known key. An unknown key that another
 * value refers to is a user-defined parameter (like Postfix) and is not
 * warned about. Expanded values are cached per cfg, so each key is
 * expanded once however many values refer to it, and the typed getters
 * cannot fail once a cfg has loaded: they panic only on a programming
 * error (undeclared key, wrong type).
 *
 * Interface: cfg_load/cfg_parse/cfg_free, cfg_set(_assignment), the typed
 * getters, cfg_print, cfg_key_find/cfg_key_nearest over the table in
 * cfg_keys.c.
 *
 * SECURITY: correo.conf is written by the administrator and read by every
 * process, privileged or not. It is trusted not to be hostile, but it is
 * parsed defensively anyway: the file size, name lengths, nesting depth
 * and expanded value length are bounded, so a mistake cannot exhaust
 * memory or the stack.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "str.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/correo"
#endif

#define CFG_MAX_FILE (4 * 1024 * 1024)
#define CFG_MAX_NAME 128
#define CFG_MAX_DEPTH 32
#define CFG_MAX_VALUE (256 * 1024)

/* One parameter's value: a declared key (an element of cfg->vals) or a
 * user-defined one (an element of cfg->extras). */
struct cfg_val {
	char *name;		/* extras only; declared keys use cfg_keys */
	char *value;		/* file or cfg_set; NULL: the default */
	int line;		/* where value was set; 0: cfg_set */
	char *expanded;		/* cache, cleared by validation */
	char **list;		/* cfg_list cache */
	bool used;		/* extras: referred to by some $name */
};

struct cfg {
	char *file;
	struct cfg_val *vals;	/* parallel to cfg_keys */
	struct cfg_val *extras;
	size_t nextras;
	char *def_config_dir;
	char *def_myhostname;
	char *def_mydomain;
};

struct cfg *cfg_main;

/* ---- The key table index ---- */

static const struct cfg_key **cfg_sorted;
static size_t cfg_nkeys;

static int cfg_key_cmp(const void *a, const void *b)
{
	const struct cfg_key *const *ka = a, *const *kb = b;

	return strcmp((*ka)->name, (*kb)->name);
}

/* Sort an index of cfg_keys once; the table itself stays in human
 * order. A duplicate in the table is a programming error. */
static void cfg_index_init(void)
{
	size_t i;

	if (cfg_sorted != NULL)
		return;
	while (cfg_keys[cfg_nkeys].name != NULL)
		cfg_nkeys++;
	cfg_sorted = mem_array(cfg_nkeys + 1, sizeof(*cfg_sorted));
	for (i = 0; i < cfg_nkeys; i++)
		cfg_sorted[i] = &cfg_keys[i];
	qsort(cfg_sorted, cfg_nkeys, sizeof(*cfg_sorted), cfg_key_cmp);
	for (i = 1; i < cfg_nkeys; i++)
		if (strcmp(cfg_sorted[i - 1]->name, cfg_sorted[i]->name) == 0)
			msg_panic("cfg_keys: duplicate key %s",
				  cfg_sorted[i]->name);
}

static int cfg_find_cmp(const void *name, const void *elem)
{
	const struct cfg_key *const *k = elem;

	return strcmp(name, (*k)->name);
}

const struct cfg_key *cfg_key_find(const char *name)
{
	const struct cfg_key *const *k;

	cfg_index_init();
	k = bsearch(name, cfg_sorted, cfg_nkeys, sizeof(*cfg_sorted),
		    cfg_find_cmp);
	return k == NULL ? NULL : *k;
}

static size_t cfg_key_index(const struct cfg_key *key)
{
	return (size_t)(key - cfg_keys);
}

/* Edit distance with adjacent transpositions counting as one edit
 * (optimal string alignment), case-insensitive. Three rolling rows keep
 * the stack small. */
static size_t cfg_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, v;
	size_t rows[3][CFG_MAX_NAME + 1];
	size_t *pp = rows[0], *prev = rows[1], *cur = rows[2], *tmp;

	if (la > CFG_MAX_NAME || lb > CFG_MAX_NAME)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			v = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
					   tolower((unsigned char)b[j - 1]));
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			cur[j] = v;
		}
		tmp = pp;
		pp = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[lb];
}

const char *cfg_key_nearest(const char *name)
{
	size_t len = strlen(name), best = SIZE_MAX, limit, i, dist;
	const char *found = NULL;

	/* Allow about one typo per four characters, at most three. */
	limit = len <= 4 ? 1 : len <= 10 ? 2 : 3;
	cfg_index_init();
	for (i = 0; i < cfg_nkeys; i++) {
		dist = cfg_distance(name, cfg_sorted[i]->name);
		if (dist < best) {
			best = dist;
			found = cfg_sorted[i]->name;
		}
	}
	return best <= limit ? found : NULL;
}

/* ---- Values and expansion ---- */

static bool cfg_name_char(int c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static struct cfg_val *cfg_extra_find(struct cfg *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nextras; i++)
		if (strcmp(cfg->extras[i].name, name) == 0)
			return &cfg->extras[i];
	return NULL;
}

static const char *cfg_computed_default(const struct cfg *cfg,
					const struct cfg_key *key)
{
	if (strcmp(key->name, "config_directory") == 0)
		return cfg->def_config_dir;
	if (strcmp(key->name, "myhostname") == 0)
		return cfg->def_myhostname;
	if (strcmp(key->name, "mydomain") == 0)
		return cfg->def_mydomain;
	return key->def;
}

const char *cfg_default(const struct cfg *cfg, const char *name)
{
	const struct cfg_key *key = cfg_key_find(name);

	return key == NULL ? NULL : cfg_computed_default(cfg, key);
}

/* The value slot and its unexpanded text for name; NULL if unknown. */
static struct cfg_val *cfg_slot(struct cfg *cfg, const char *name,
				const char **raw_r)
{
	const struct cfg_key *key = cfg_key_find(name);
	struct cfg_val *val;

	if (key != NULL) {
		val = &cfg->vals[cfg_key_index(key)];
		*raw_r = val->value != NULL ? val->value :
			 cfg_computed_default(cfg, key);
		return val;
	}
	val = cfg_extra_find(cfg, name);
	if (val != NULL)
		*raw_r = val->value;
	return val;
}

struct cfg_stack {
	const char *names[CFG_MAX_DEPTH];
	int depth;
};

static char *cfg_loop_error(const struct cfg_stack *st, const char *name)
{
	struct str s = STR_INIT;
	int i = 0;

	while (strcmp(st->names[i], name) != 0)
		i++;
	str_append(&s, "loop in $expansion: ");
	for (; i < st->depth; i++)
		str_printf(&s, "%s -> ", st->names[i]);
	str_append(&s, name);
	return str_steal(&s);
}

static const char *cfg_expand_name(struct cfg *cfg, const char *name,
				   struct cfg_stack *st, bool ref,
				   char **error_r);

/* Scan one $name or ${name} at *pp (just past the '$'); returns the
 * length of the name copied into buf or 0 on a syntax error. */
static size_t cfg_scan_ref(const char **pp, char *buf, char **error_r)
{
	const char *p = *pp, *start;
	bool brace = *p == '{';
	size_t len;

	start = brace ? p + 1 : p;
	for (p = start; cfg_name_char(*p); p++)
		;
	len = (size_t)(p - start);
	if (brace && *p != '}') {
		*error_r = str_dup_printf("bad \"${\": expected a parameter"
					  " name and \"}\"");
		return 0;
	}
	if (len == 0) {
		*error_r = str_dup_printf("stray \"$\" (write \"$$\" for a"
					  " literal \"$\")");
		return 0;
	}
	if (len > CFG_MAX_NAME) {
		*error_r = str_dup_printf("parameter name after \"$\" is too"
					  " long");
		return 0;
	}
	memcpy(buf, start, len);
	buf[len] = '\0';
	*pp = brace ? p + 1 : p;
	return len;
}

static bool cfg_expand_text(struct cfg *cfg, const char *text,
			    struct cfg_stack *st, struct str *out,
			    char **error_r)
{
	char name[CFG_MAX_NAME + 1];
	const char *p = text, *sub;
	size_t run;

	while (*p != '\0') {
		run = strcspn(p, "$");
		str_append_n(out, p, run);
		p += run;
		if (*p == '\0')
			break;
		p++;
		if (*p == '$') {
			str_append_c(out, '$');
			p++;
			continue;
		}
		if (cfg_scan_ref(&p, name, error_r) == 0)
			return false;
		sub = cfg_expand_name(cfg, name, st, true, error_r);
		if (sub == NULL)
			return false;
		str_append(out, sub);
		if (out->len > CFG_MAX_VALUE) {
			*error_r = str_dup_printf("value longer than %d bytes"
						  " after $expansion",
						  CFG_MAX_VALUE);
			return false;
		}
	}
	return true;
}

/* The expanded value of name (cached); ref is true when name came from a
 * $reference, which makes a user-defined parameter "used". */
static const char *cfg_expand_name(struct cfg *cfg, const char *name,
				   struct cfg_stack *st, bool ref,
				   char **error_r)
{
	struct cfg_val *val;
	const char *raw;
	struct str out = STR_INIT;
	int i;

	val = cfg_slot(cfg, name, &raw);
	if (val == NULL) {
		*error_r = str_dup_printf("unknown parameter \"$%s\"", name);
		return NULL;
	}
	if (ref)
		val->used = true;
	if (val->expanded != NULL)
		return val->expanded;
	for (i = 0; i < st->depth; i++)
		if (strcmp(st->names[i], name) == 0) {
			*error_r = cfg_loop_error(st, name);
			return NULL;
		}
	if (st->depth == CFG_MAX_DEPTH) {
		*error_r = str_dup_printf("$expansion nested deeper than %d",
					  CFG_MAX_DEPTH);
		return NULL;
	}
	st->names[st->depth++] = name;
	if (!cfg_expand_text(cfg, raw, st, &out, error_r)) {
		st->depth--;
		str_release(&out);
		return NULL;
	}
	st->depth--;
	str_append(&out, "");	/* an empty value still gets a buffer */
	val->expanded = str_steal(&out);
	return val->expanded;
}

static void cfg_val_clear_cache(struct cfg_val *val)
{
	char **p;

	mem_free(val->expanded);
	if (val->list != NULL) {
		for (p = val->list; *p != NULL; p++)
			free(*p);
		mem_free(val->list);
	}
}

static void cfg_clear_caches(struct cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg_nkeys; i++)
		cfg_val_clear_cache(&cfg->vals[i]);
	for (i = 0; i < cfg->nextras; i++) {
		cfg_val_clear_cache(&cfg->extras[i]);
		cfg->extras[i].used = false;
	}
}

/* ---- Validation ---- */

static const char *cfg_type_expectation(enum cfg_type type)
{
	switch (type) {
	case CFG_INT:
		return "a whole number like 100";
	case CFG_TIME:
		return "a time like 300s or 5m";
	case CFG_SIZE:
		return "a size like 10240000 or 10m";
	case CFG_BOOL:
		return "yes or no";
	case CFG_STR:
	case CFG_LIST:
		break;
	}
	return NULL;
}

static bool cfg_type_ok(enum cfg_type type, const char *value)
{
	long l;
	long long ll;
	bool b;

	switch (type) {
	case CFG_INT:
		return str_to_long(value, 0, LONG_MAX, &l);
	case CFG_TIME:
		return str_to_time(value, 1, &l);
	case CFG_SIZE:
		return str_to_size(value, &ll);
	case CFG_BOOL:
		return str_to_bool(value, &b);
	case CFG_STR:
	case CFG_LIST:
		break;
	}
	return true;
}

/* "FILE:LINE: KEY: " for a value from the file, "KEY: " for one from
 * cfg_set, "FILE: KEY: " for a default. */
static char *cfg_where(const struct cfg *cfg, const char *name,
		       const struct cfg_val *val, const char *error)
{
	if (val->value != NULL && val->line > 0)
		return str_dup_printf("%s:%d: %s: %s", cfg->file, val->line,
				      name, error);
	if (val->value != NULL)
		return str_dup_printf("%s: %s", name, error);
	return str_dup_printf("%s: %s: %s (in the default value)", cfg->file,
			      name, error);
}

/* Expand one parameter and check its type. */
static bool cfg_check(struct cfg *cfg, const char *name, char **error_r)
{
	const struct cfg_key *key = cfg_key_find(name);
	struct cfg_stack st = { .depth = 0 };
	const char *raw, *value;
	struct cfg_val *val = cfg_slot(cfg, name, &raw);
	char *error = NULL;

	value = cfg_expand_name(cfg, name, &st, false, &error);
	if (value != NULL && key != NULL && !cfg_type_ok(key->type, value))
		error = str_dup_printf("expected %s, got \"%s\"",
				       cfg_type_expectation(key->type), value);
	if (error == NULL)
		return true;
	*error_r = cfg_where(cfg, name, val, error);
	free(error);
	return false;
}

static int cfg_val_line_cmp(const void *a, const void *b)
{
	const struct cfg_val *const *va = a, *const *vb = b;

	return ((*va)->line > (*vb)->line) - ((*va)->line < (*vb)->line);
}

/* mydomain's default follows the effective myhostname. */
static void cfg_derive_mydomain(struct cfg *cfg)
{
	struct cfg_stack st = { .depth = 0 };
	char *error = NULL;
	const char *host, *dot;

	mem_free(cfg->def_mydomain);
	cfg->def_mydomain = mem_strdup("localdomain");
	host = cfg_expand_name(cfg, "myhostname", &st, false, &error);
	free(error);
	dot = host == NULL ? NULL : strchr(host, '.');
	if (dot != NULL && dot[1] != '\0') {
		mem_free(cfg->def_mydomain);
		cfg->def_mydomain = mem_strdup(dot + 1);
	}
	cfg_clear_caches(cfg);
}

/* Check every value: values from the file first, in line order, so the
 * first error reported is the earliest one in the file. */
static bool cfg_validate(struct cfg *cfg, char **error_r)
{
	struct cfg_val **set;
	size_t nset = 0, i;
	bool ok = true;

	cfg_clear_caches(cfg);
	cfg_derive_mydomain(cfg);
	set = mem_array(cfg_nkeys + cfg->nextras + 1, sizeof(*set));
	for (i = 0; i < cfg_nkeys; i++)
		if (cfg->vals[i].value != NULL)
			set[nset++] = &cfg->vals[i];
	for (i = 0; i < cfg->nextras; i++)
		set[nset++] = &cfg->extras[i];
	qsort(set, nset, sizeof(*set), cfg_val_line_cmp);
	for (i = 0; ok && i < nset; i++)
		ok = cfg_check(cfg, set[i]->name != NULL ? set[i]->name :
			       cfg_keys[set[i] - cfg->vals].name, error_r);
	for (i = 0; ok && i < cfg_nkeys; i++)
		ok = cfg_check(cfg, cfg_keys[i].name, error_r);
	free(set);
	return ok;
}

/* ---- Creating and parsing ---- */

/* The default of myhostname. No DNS lookup: every daemon loads the
 * config, and a slow resolver must not delay them all. */
static char *cfg_hostname(void)
{
	char buf[256];

	if (gethostname(buf, sizeof(buf)) != 0)
		buf[0] = '\0';
	buf[sizeof(buf) - 1] = '\0';
	if (buf[0] == '\0')
		return mem_strdup("localhost");
	str_lower(buf);
	return mem_strdup(buf);
}

static struct cfg *cfg_create(const char *name, const char *config_dir)
{
	struct cfg *cfg = mem_alloc(sizeof(*cfg));

	cfg_index_init();
	cfg->file = mem_strdup(name);
	cfg->vals = mem_array(cfg_nkeys + 1, sizeof(*cfg->vals));
	cfg->def_config_dir = mem_strdup(config_dir != NULL ? config_dir :
					 SYSCONFDIR);
	cfg->def_myhostname = cfg_hostname();
	cfg->def_mydomain = mem_strdup("localdomain");
	return cfg;
}

static bool cfg_valid_name(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > CFG_MAX_NAME)
		return false;
	for (i = 0; i < len; i++)
		if (!cfg_name_char(name[i]))
			return false;
	return true;
}

static void cfg_store(struct cfg *cfg, const char *name, const char *value,
		      int line)
{
	const struct cfg_key *key = cfg_key_find(name);
	struct cfg_val *val;

	if (key != NULL && strcmp(name, "config_directory") == 0) {
		msg_warn("%s:%d: config_directory is the directory the file"
			 " was read from; ignoring \"%s\"", cfg->file, line,
			 value);
		return;
	}
	if (key != NULL) {
		val = &cfg->vals[cfg_key_index(key)];
	} else if ((val = cfg_extra_find(cfg, name)) == NULL) {
		cfg->extras = mem_array_realloc(cfg->extras, cfg->nextras + 1,
						sizeof(*cfg->extras));
		val = &cfg->extras[cfg->nextras++];
		memset(val, 0, sizeof(*val));
		val->name = mem_strdup(name);
	}
	free(val->value);
	val->value = mem_strdup(value);
	val->line = line;
}

/* One logical line "key = value". */
static bool cfg_assign(struct cfg *cfg, const char *text, int line,
		       char **error_r)
{
	const char *eq = strchr(text, '=');
	char *key, *name;
	bool ok = false;

	if (eq == NULL) {
		*error_r = str_dup_printf("%s:%d: expected \"key = value\", got"
					  " \"%.60s\"", cfg->file, line, text);
		return false;
	}
	key = mem_strndup(text, (size_t)(eq - text));
	name = str_trim(key);
	if (!cfg_valid_name(name)) {
		*error_r = str_dup_printf("%s:%d: bad parameter name \"%.60s\"",
					  cfg->file, line, name);
	} else {
		char *value = mem_strdup(eq + 1);

		cfg_store(cfg, name, str_trim(value), line);
		free(value);
		ok = true;
	}
	free(key);
	return ok;
}

/* One physical line; *start is the first line of the pending logical
 * line in *logical, 0 if none. */
static bool cfg_parse_line(struct cfg *cfg, const char *line, size_t len,
			   int lineno, struct str *logical, int *start,
			   char **error_r)
{
	struct str phys = STR_INIT;
	const char *text;
	bool ok = true;

	str_append_n(&phys, line, len);
	str_rtrim(&phys);
	text = str_c(&phys) + strspn(str_c(&phys), " \t\f\v\r");
	if (*text == '\0' || *text == '#')
		goto out;
	if (text != str_c(&phys)) {
		if (*start == 0) {
			*error_r = str_dup_printf("%s:%d: continuation line"
						  " without a \"key = value\""
						  " line before it", cfg->file,
						  lineno);
			ok = false;
		} else {
			str_append_c(logical, ' ');
			str_append(logical, text);
		}
		goto out;
	}
	if (*start > 0)
		ok = cfg_assign(cfg, str_c(logical), *start, error_r);
	str_set(logical, text);
	*start = lineno;
out:
	str_release(&phys);
	return ok;
}

static int cfg_extra_line_cmp(const void *a, const void *b)
{
	const struct cfg_val *va = a, *vb = b;

	return (va->line > vb->line) - (va->line < vb->line);
}

/* Unknown keys that no value refers to are probably typos. */
static void cfg_warn_unknown(struct cfg *cfg)
{
	const char *near;
	size_t i;

	if (cfg->nextras > 0)
		qsort(cfg->extras, cfg->nextras, sizeof(*cfg->extras),
		      cfg_extra_line_cmp);
	for (i = 0; i < cfg->nextras; i++) {
		const struct cfg_val *val = &cfg->extras[i];

		if (val->used)
			continue;
		near = cfg_key_nearest(val->name);
		if (near != NULL)
			msg_warn("%s:%d: unknown parameter \"%s\" (did you"
				 " mean \"%s\"?)", cfg->file, val->line,
				 val->name, near);
		else
			msg_warn("%s:%d: unknown parameter \"%s\"", cfg->file,
				 val->line, val->name);
	}
}

struct cfg *cfg_parse(const char *text, const char *name,
		      const char *config_dir, char **error_r)
{
	struct cfg *cfg = cfg_create(name, config_dir);
	struct str logical = STR_INIT;
	const char *p = text, *nl;
	int lineno = 0, start = 0;
	bool ok = true;
	size_t len;

	while (ok && *p != '\0') {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		ok = cfg_parse_line(cfg, p, len, ++lineno, &logical, &start,
				    error_r);
		p += len + (nl != NULL);
	}
	if (ok && start > 0)
		ok = cfg_assign(cfg, str_c(&logical), start, error_r);
	str_release(&logical);
	if (ok)
		ok = cfg_validate(cfg, error_r);
	if (!ok) {
		cfg_free(&cfg);
		return NULL;
	}
	cfg_warn_unknown(cfg);
	return cfg;
}

static char *cfg_read_file(const char *path, char **error_r)
{
	return safe_read_text(path, CFG_MAX_FILE, error_r);
}

/* The absolute directory of path, so that daemons that chdir elsewhere
 * still find their files. */
static char *cfg_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	if (slash == NULL)
		dir = mem_strdup(".");
	else if (slash == path)
		dir = mem_strdup("/");
	else
		dir = mem_strndup(path, (size_t)(slash - path));
	abs = realpath(dir, NULL);
	if (abs == NULL)
		return dir;
	free(dir);
	return abs;
}

struct cfg *cfg_load(const char *path, char **error_r)
{
	char *text = cfg_read_file(path, error_r), *dir;
	struct cfg *cfg;

	if (text == NULL)
		return NULL;
	dir = cfg_dir_of(path);
	cfg = cfg_parse(text, path, dir, error_r);
	free(dir);
	free(text);
	return cfg;
}

void cfg_free(struct cfg **cfgp)
{
	struct cfg *cfg = *cfgp;
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg_nkeys; i++) {
		cfg_val_clear_cache(&cfg->vals[i]);
		free(cfg->vals[i].value);
	}
	for (i = 0; i < cfg->nextras; i++) {
		cfg_val_clear_cache(&cfg->extras[i]);
		free(cfg->extras[i].value);
		free(cfg->extras[i].name);
	}
	free(cfg->vals);
	free(cfg->extras);
	free(cfg->file);
	free(cfg->def_config_dir);
	free(cfg->def_myhostname);
	free(cfg->def_mydomain);
	free(cfg);
	*cfgp = NULL;
}

bool cfg_set(struct cfg *cfg, const char *name, const char *value,
	     char **error_r)
{
	const struct cfg_key *key = cfg_key_find(name);
	struct cfg_val *val;
	char *old, *ignore = NULL;
	int old_line;

	if (key == NULL) {
		*error_r = str_dup_printf("unknown parameter \"%s\"", name);
		return false;
	}
	val = &cfg->vals[cfg_key_index(key)];
	old = val->value;
	old_line = val->line;
	val->value = mem_strdup(value);
	val->line = 0;
	if (cfg_validate(cfg, error_r)) {
		free(old);
		return true;
	}
	free(val->value);
	val->value = old;
	val->line = old_line;
	if (!cfg_validate(cfg, &ignore))
		msg_panic("cfg_set: cannot restore %s: %s", name, ignore);
	return false;
}

bool cfg_set_assignment(struct cfg *cfg, const char *assignment,
			char **error_r)
{
	const char *eq = strchr(assignment, '=');
	char *key, *value;
	bool ok;

	if (eq == NULL) {
		*error_r = str_dup_printf("expected \"key=value\", got"
					  " \"%.60s\"", assignment);
		return false;
	}
	key = mem_strndup(assignment, (size_t)(eq - assignment));
	value = mem_strdup(eq + 1);
	ok = cfg_set(cfg, str_trim(key), str_trim(value), error_r);
	free(key);
	free(value);
	return ok;
}

/* ---- Getters ---- */

static const struct cfg_key *cfg_get_key(const char *name, const char *fn,
					 enum cfg_type type, bool any_type)
{
	const struct cfg_key *key = cfg_key_find(name);

	if (key == NULL)
		msg_panic("%s: undeclared parameter %s", fn, name);
	if (!any_type && key->type != type)
		msg_panic("%s: parameter %s has another type", fn, name);
	return key;
}

/* The expanded value of a declared or user-defined parameter. */
static const char *cfg_value(struct cfg *cfg, const char *name)
{
	struct cfg_stack st = { .depth = 0 };
	const char *value;
	char *error = NULL;

	value = cfg_expand_name(cfg, name, &st, false, &error);
	if (value == NULL)
		msg_panic("cfg: %s: %s", name, error);
	return value;
}

/* Any type may be read as its text. */
const char *cfg_str(struct cfg *cfg, const char *key)
{
	cfg_get_key(key, "cfg_str", CFG_STR, true);
	return cfg_value(cfg, key);
}

long cfg_int(struct cfg *cfg, const char *key)
{
	long v;

	cfg_get_key(key, "cfg_int", CFG_INT, false);
	if (!str_to_long(cfg_value(cfg, key), 0, LONG_MAX, &v))
		msg_panic("cfg_int: %s: unchecked value", key);
	return v;
}

long cfg_time(struct cfg *cfg, const char *key)
{
	long v;

	cfg_get_key(key, "cfg_time", CFG_TIME, false);
	if (!str_to_time(cfg_value(cfg, key), 1, &v))
		msg_panic("cfg_time: %s: unchecked value", key);
	return v;
}

long long cfg_size(struct cfg *cfg, const char *key)
{
	long long v;

	cfg_get_key(key, "cfg_size", CFG_SIZE, false);
	if (!str_to_size(cfg_value(cfg, key), &v))
		msg_panic("cfg_size: %s: unchecked value", key);
	return v;
}

bool cfg_bool(struct cfg *cfg, const char *key)
{
	bool v;

	cfg_get_key(key, "cfg_bool", CFG_BOOL, false);
	if (!str_to_bool(cfg_value(cfg, key), &v))
		msg_panic("cfg_bool: %s: unchecked value", key);
	return v;
}

/* The next list item: separated by commas and white space, except
 * inside braces, so "inline:{ a=b, c=d }" stays one item (as in
 * Postfix). An unbalanced "{" runs to the end of the value. */
static char *cfg_list_next(char **cursor)
{
	static const char delims[] = ", \t\r\n";
	char *start = *cursor + strspn(*cursor, delims), *p;
	int depth = 0;

	if (*start == '\0')
		return NULL;
	for (p = start; *p != '\0'; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && depth > 0)
			depth--;
		else if (depth == 0 && strchr(delims, *p) != NULL)
			break;
	}
	if (*p != '\0')
		*p++ = '\0';
	*cursor = p;
	return start;
}

char **cfg_list(struct cfg *cfg, const char *name)
{
	const struct cfg_key *key;
	struct cfg_val *val;
	char *copy, *cursor, *item;
	size_t n = 0;

	key = cfg_get_key(name, "cfg_list", CFG_LIST, false);
	val = &cfg->vals[cfg_key_index(key)];
	if (val->list != NULL)
		return val->list;
	copy = mem_strdup(cfg_value(cfg, name));
	val->list = mem_array(strlen(copy) / 2 + 2, sizeof(*val->list));
	cursor = copy;
	while ((item = cfg_list_next(&cursor)) != NULL)
		val->list[n++] = mem_strdup(item);
	free(copy);
	return val->list;
}

bool cfg_is_set(const struct cfg *cfg, const char *name)
{
	const struct cfg_key *key = cfg_key_find(name);
	size_t i;

	if (key != NULL)
		return cfg->vals[cfg_key_index(key)].value != NULL;
	for (i = 0; i < cfg->nextras; i++)
		if (strcmp(cfg->extras[i].name, name) == 0)
			return true;
	return false;
}

/* ---- Printing ---- */

static void cfg_print_one(struct cfg *cfg, FILE *out, const char *name)
{
	const char *value = cfg_value(cfg, name);

	if (*value == '\0')
		fprintf(out, "%s =\n", name);
	else
		fprintf(out, "%s = %s\n", name, value);
}

static int cfg_name_cmp(const void *a, const void *b)
{
	const char *const *na = a, *const *nb = b;

	return strcmp(*na, *nb);
}

void cfg_print(struct cfg *cfg, FILE *out, char **keys, bool non_default)
{
	const char **names;
	size_t n = 0, i;

	if (keys != NULL) {
		for (; *keys != NULL; keys++) {
			const char *raw;

			if (cfg_slot(cfg, *keys, &raw) == NULL ||
			    (non_default && !cfg_is_set(cfg, *keys)))
				continue;
			cfg_print_one(cfg, out, *keys);
		}
		return;
	}
	names = mem_array(cfg_nkeys + cfg->nextras + 1, sizeof(*names));
	for (i = 0; i < cfg_nkeys; i++)
		if (!non_default || cfg->vals[i].value != NULL)
			names[n++] = cfg_keys[i].name;
	for (i = 0; i < cfg->nextras; i++)
		names[n++] = cfg->extras[i].name;
	qsort(names, n, sizeof(*names), cfg_name_cmp);
	for (i = 0; i < n; i++)
		cfg_print_one(cfg, out, names[i]);
	free(names);
}
