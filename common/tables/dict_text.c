/*
 * dict_text: the text side of lookup tables (dict.h, dict_impl.h).
 *
 * Three things live here because they share one in-memory table:
 *
 *   dict_parse_source()  the "key value" source format read by texthash:
 *                        and by dict_build() ("correo map");
 *   texthash:FILE        the source read into memory once, at open;
 *   inline:{ k=v, ... }  a table written in the configuration itself.
 *
 * The source format, as Postfix's postmap(1) reads it: a logical line
 * starts with non-whitespace text; a line starting with whitespace
 * continues the previous logical line (joined with one space); blank
 * lines and lines whose first non-whitespace character is '#' are
 * ignored, also between a line and its continuation. The key ends at the
 * first whitespace; one ':' ending the key is dropped, so aliases-style
 * "alice: bob" works while keys that contain ':' ("[mx.test]:587",
 * IPv6 addresses) stay whole. Keys are folded to lower case. Duplicate
 * keys keep the first value and log a warning, as Postfix does.
 *
 * The table is open addressing (linear probing, load at most 1/2) over an
 * entry array kept in insertion order, so iteration follows the source.
 *
 * SECURITY: sources are admin-written files or configuration text, read
 * with the caller's privileges; lookups (network input) never allocate in
 * the table. No global state: every table is its own allocation.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict_impl.h"
#include "mem.h"
#include "msg.h"
#include "str.h"

/* ------------------------------------------------------------------ */
/* The in-memory table. */

struct dict_table_ent {
	char *key;
	char *value;
};

struct dict_table {
	struct dict_table_ent *ents;
	size_t count, ents_cap;
	size_t *slots;		/* entry index + 1; 0 is an empty slot */
	size_t nslots;		/* a power of two */
};

static uint64_t dict_table_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct dict_table *dict_table_create(void)
{
	struct dict_table *table = mem_alloc(sizeof(*table));

	table->nslots = 16;
	table->slots = mem_array(table->nslots, sizeof(*table->slots));
	return table;
}

void dict_table_free(struct dict_table **tablep)
{
	struct dict_table *table = *tablep;
	size_t i;

	if (table == NULL)
		return;
	*tablep = NULL;
	for (i = 0; i < table->count; i++) {
		free(table->ents[i].key);
		free(table->ents[i].value);
	}
	free(table->ents);
	free(table->slots);
	free(table);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t dict_table_find(const struct dict_table *table,
			      const char *key)
{
	size_t mask = table->nslots - 1;
	size_t i = (size_t)dict_table_hash(key) & mask;

	while (table->slots[i] != 0 &&
	       strcmp(table->ents[table->slots[i] - 1].key, key) != 0)
		i = (i + 1) & mask;
	return i;
}

static void dict_table_grow(struct dict_table *table)
{
	size_t i;

	free(table->slots);
	table->nslots *= 2;
	table->slots = mem_array(table->nslots, sizeof(*table->slots));
	for (i = 0; i < table->count; i++)
		table->slots[dict_table_find(table, table->ents[i].key)] =
			i + 1;
}

bool dict_table_add(struct dict_table *table, const char *key,
		    const char *value)
{
	size_t slot = dict_table_find(table, key);

	if (table->slots[slot] != 0)
		return false;
	if (table->count == table->ents_cap) {
		table->ents_cap = table->ents_cap == 0 ? 16 :
			table->ents_cap * 2;
		table->ents = mem_array_realloc(table->ents, table->ents_cap,
						sizeof(*table->ents));
	}
	table->ents[table->count].key = mem_strdup(key);
	table->ents[table->count].value = mem_strdup(value);
	table->slots[slot] = ++table->count;
	if (table->count * 2 > table->nslots)
		dict_table_grow(table);
	return true;
}

const char *dict_table_get(const struct dict_table *table, const char *key)
{
	size_t slot = dict_table_find(table, key);

	return table->slots[slot] == 0 ? NULL :
		table->ents[table->slots[slot] - 1].value;
}

size_t dict_table_count(const struct dict_table *table)
{
	return table->count;
}

void dict_table_entry(const struct dict_table *table, size_t i,
		      const char **key_r, const char **value_r)
{
	if (i >= table->count)
		msg_panic("dict_table_entry: %zu >= %zu", i, table->count);
	*key_r = table->ents[i].key;
	*value_r = table->ents[i].value;
}

/* ------------------------------------------------------------------ */
/* The source parser. */

struct dict_parse {
	const char *path;
	dict_parse_cb *cb;
	void *ctx;
	char **error_r;
	struct str key, value;
	unsigned int entry_line;	/* 0: no entry pending */
};

static bool dict_parse_fail(struct dict_parse *p, unsigned int line,
			    const char *fmt, ...) MSG_PRINTF(3, 4);

static bool dict_parse_fail(struct dict_parse *p, unsigned int line,
			    const char *fmt, ...)
{
	struct str s = STR_INIT;
	va_list ap;

	str_printf(&s, "%s:%u: ", p->path, line);
	va_start(ap, fmt);
	str_vprintf(&s, fmt, ap);
	va_end(ap);
	*p->error_r = str_steal(&s);
	return false;
}

/* Hand the pending entry to the callback. */
static bool dict_parse_flush(struct dict_parse *p)
{
	unsigned int line = p->entry_line;

	if (line == 0)
		return true;
	p->entry_line = 0;
	if (p->value.len == 0)
		return dict_parse_fail(p, line, "missing value for key \"%s\"",
				       str_c(&p->key));
	if (!p->cb(str_c(&p->key), str_c(&p->value), line, p->ctx))
		return dict_parse_fail(p, line, "cannot store key \"%s\"",
				       str_c(&p->key));
	return true;
}

/* A logical line's first physical line: the key, then the value. */
static bool dict_parse_start(struct dict_parse *p, char *text,
			     unsigned int line)
{
	size_t klen = strcspn(text, " \t");

	if (!dict_parse_flush(p))
		return false;
	str_clear(&p->key);
	str_append_n(&p->key, text, klen);
	if (p->key.len > 0 && p->key.data[p->key.len - 1] == ':')
		str_truncate(&p->key, p->key.len - 1);
	if (p->key.len == 0)
		return dict_parse_fail(p, line, "missing key before ':'");
	str_lower(p->key.data);
	str_set(&p->value, str_trim(text + klen));
	p->entry_line = line;
	return true;
}

static bool dict_parse_line(struct dict_parse *p, char *text,
			    unsigned int line)
{
	char *trimmed = str_trim(text);

	if (*trimmed == '\0' || *trimmed == '#')
		return true;
	if (trimmed == text)
		return dict_parse_start(p, text, line);
	if (p->entry_line == 0)
		return dict_parse_fail(p, line,
				       "continuation line (starting with "
				       "whitespace) without an entry before "
				       "it");
	if (p->value.len > 0)
		str_append_c(&p->value, ' ');
	str_append(&p->value, trimmed);
	return true;
}

static bool dict_parse_file(struct dict_parse *p, FILE *fp)
{
	unsigned int line = 0;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	bool ok = true;
	int saved;

	errno = 0;
	while (ok && (n = getline(&buf, &cap, fp)) >= 0) {
		line++;
		if (strlen(buf) != (size_t)n)
			ok = dict_parse_fail(p, line, "NUL byte in line");
		else
			ok = dict_parse_line(p, buf, line);
	}
	saved = errno;
	free(buf);
	if (ok && ferror(fp)) {
		struct str msg = STR_INIT;

		str_printf(&msg, "read %s: %s", p->path, strerror(saved));
		*p->error_r = str_steal(&msg);
		return false;
	}
	return ok && dict_parse_flush(p);
}

bool dict_parse_source_lines(const char *path, dict_parse_cb *cb,
			     void *ctx, char **error_r)
{
	struct dict_parse p = { .path = path, .cb = cb, .ctx = ctx,
				.error_r = error_r };
	struct str msg = STR_INIT;
	FILE *fp;
	bool ok;

	fp = fopen(path, "re");
	if (fp == NULL) {
		str_printf(&msg, "open %s: %s", path, strerror(errno));
		*error_r = str_steal(&msg);
		return false;
	}
	ok = dict_parse_file(&p, fp);
	fclose(fp);
	str_release(&p.key);
	str_release(&p.value);
	return ok;
}

struct dict_parse_plain {
	bool (*cb)(const char *key, const char *value, void *ctx);
	void *ctx;
};

static bool dict_parse_plain_cb(const char *key, const char *value,
				unsigned int line, void *ctx)
{
	struct dict_parse_plain *plain = ctx;

	return plain->cb(key, value, plain->ctx);
}

bool dict_parse_source(const char *path,
		       bool (*cb)(const char *key, const char *value,
				  void *ctx),
		       void *ctx, char **error_r)
{
	struct dict_parse_plain plain = { cb, ctx };

	return dict_parse_source_lines(path, dict_parse_plain_cb, &plain,
				       error_r);
}

/* ------------------------------------------------------------------ */
/* texthash: and inline: share the table-backed dict. */

struct dict_mem {
	struct dict dict;
	struct dict_table *table;
};

static int dict_mem_lookup(struct dict *dict, const char *key,
			   struct str *value_r, const char **error_r)
{
	struct dict_mem *mem = (struct dict_mem *)dict;
	const char *value = dict_table_get(mem->table, key);

	if (value == NULL)
		return 0;
	str_set(value_r, value);
	return 1;
}

static bool dict_mem_iterate(struct dict *dict, dict_iter_cb *cb, void *ctx,
			     const char **error_r)
{
	struct dict_mem *mem = (struct dict_mem *)dict;
	const char *key, *value;
	size_t i;

	for (i = 0; i < dict_table_count(mem->table); i++) {
		dict_table_entry(mem->table, i, &key, &value);
		if (!cb(key, value, ctx))
			break;
	}
	return true;
}

static void dict_mem_close(struct dict *dict)
{
	struct dict_mem *mem = (struct dict_mem *)dict;

	dict_table_free(&mem->table);
	free(mem);
}

static const struct dict_vfuncs dict_mem_vfuncs = {
	.lookup = dict_mem_lookup,
	.iterate = dict_mem_iterate,
	.close = dict_mem_close,
};

static struct dict_mem *dict_mem_create(void)
{
	struct dict_mem *mem = mem_alloc(sizeof(*mem));

	mem->dict.v = &dict_mem_vfuncs;
	mem->table = dict_table_create();
	return mem;
}

struct dict_texthash_ctx {
	const char *path;
	struct dict_table *table;
};

static bool dict_texthash_add(const char *key, const char *value,
			      unsigned int line, void *ctx)
{
	struct dict_texthash_ctx *t = ctx;

	if (!dict_table_add(t->table, key, value))
		msg_warn("%s:%u: duplicate entry: \"%s\" (keeping the first)",
			 t->path, line, key);
	return true;
}

struct dict *dict_texthash_open(const char *name, char **error_r)
{
	struct dict_mem *mem = dict_mem_create();
	struct dict_texthash_ctx t = { name, mem->table };

	if (!dict_parse_source_lines(name, dict_texthash_add, &t, error_r)) {
		dict_mem_close(&mem->dict);
		return NULL;
	}
	return &mem->dict;
}

/* ------------------------------------------------------------------ */
/* inline:{ key=value, { key = value with spaces } } */

#define DICT_INLINE_WS " \t\r\n"

struct dict_inline {
	const char *name;	/* for messages: what followed "inline:" */
	struct dict_table *table;
	char **error_r;
};

static bool dict_inline_fail(struct dict_inline *in, const char *fmt, ...)
	MSG_PRINTF(2, 3);

static bool dict_inline_fail(struct dict_inline *in, const char *fmt, ...)
{
	struct str s = STR_INIT;
	va_list ap;

	str_printf(&s, "inline:%s: ", in->name);
	va_start(ap, fmt);
	str_vprintf(&s, fmt, ap);
	va_end(ap);
	str_append(&s, " (expected inline:{ key=value, "
		   "{ key = value with spaces } })");
	*in->error_r = str_steal(&s);
	return false;
}

/* One "key=value" (already stripped of its braces and outer space). */
static bool dict_inline_entry(struct dict_inline *in, char *entry)
{
	char *eq = strchr(entry, '='), *key, *value;

	entry = str_trim(entry);
	if (eq == NULL)
		return dict_inline_fail(in, "entry \"%s\" has no '='", entry);
	*eq = '\0';
	key = str_trim(entry);
	value = str_trim(eq + 1);
	if (*key == '\0')
		return dict_inline_fail(in, "missing key before '=%s'", value);
	if (*value == '\0')
		return dict_inline_fail(in, "missing value for key \"%s\"",
					key);
	str_lower(key);
	if (!dict_table_add(in->table, key, value))
		msg_warn("inline:%s: duplicate entry: \"%s\" "
			 "(keeping the first)", in->name, key);
	return true;
}

/* At *cp == '{': cut out the braced text (nested braces balanced) and
 * leave *cp after the closing brace. */
static char *dict_inline_braced(struct dict_inline *in, char **cp)
{
	char *start = *cp + 1, *p;
	int depth = 1;

	for (p = start; *p != '\0'; p++) {
		if (*p == '{')
			depth++;
		else if (*p == '}' && --depth == 0)
			break;
	}
	if (*p == '\0') {
		dict_inline_fail(in, "missing '}'");
		return NULL;
	}
	*p = '\0';
	*cp = p + 1;
	return start;
}

/* The text between the outer braces: entries separated by whitespace
 * or commas, each either key=value or { key = value }. */
static bool dict_inline_body(struct dict_inline *in, char *cp)
{
	char *entry;
	size_t len;

	for (;;) {
		cp += strspn(cp, DICT_INLINE_WS ",");
		if (*cp == '\0')
			return true;
		if (*cp == '{') {
			entry = dict_inline_braced(in, &cp);
			if (entry == NULL)
				return false;
			if (*cp != '\0' && strchr(DICT_INLINE_WS ",", *cp) ==
			    NULL)
				return dict_inline_fail(
					in, "text after '}': \"%s\"", cp);
		} else {
			len = strcspn(cp, DICT_INLINE_WS ",");
			entry = cp;
			cp += len;
			if (*cp != '\0')
				*cp++ = '\0';
			if (strpbrk(entry, "{}") != NULL)
				return dict_inline_fail(
					in, "unexpected brace in \"%s\"",
					entry);
		}
		if (!dict_inline_entry(in, entry))
			return false;
	}
}

static bool dict_inline_parse(struct dict_inline *in, char *text)
{
	char *body = str_trim(text);
	size_t len = strlen(body);

	if (len < 2 || body[0] != '{' || body[len - 1] != '}')
		return dict_inline_fail(in, "the table must be enclosed in "
					"braces");
	body[len - 1] = '\0';
	/* The outer braces must pair with each other, not with inner ones
	 * ("{a=b} {c=d}" is two entries missing their outer braces). */
	if (!dict_inline_body(in, body + 1))
		return false;
	if (dict_table_count(in->table) == 0)
		return dict_inline_fail(in, "empty table");
	return true;
}

struct dict *dict_inline_open(const char *name, char **error_r)
{
	struct dict_mem *mem = dict_mem_create();
	struct dict_inline in = { name, mem->table, error_r };
	char *copy = mem_strdup(name);
	bool ok;

	ok = dict_inline_parse(&in, copy);
	free(copy);
	if (!ok) {
		dict_mem_close(&mem->dict);
		return NULL;
	}
	return &mem->dict;
}
