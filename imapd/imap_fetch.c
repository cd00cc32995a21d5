/*
 * imap_fetch: FETCH data items (imap_fetch.h).
 *
 * The command parser hands a section over as part of one atom
 * ("BODY.PEEK[1.HEADER.FIELDS (From "X-Spam")]<0.512>"), so this file
 * has a small scanner of its own for what is inside the brackets: part
 * numbers, the section text, and the header list (atoms or quoted
 * strings separated by single spaces).
 *
 * SECURITY: untrusted client input, bounded by the command parser and
 * by the limits here (part depth, header names, items). Part numbers and
 * partial ranges go through the strict number parsers: 0 and values that
 * do not fit are refused, never wrapped.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

#include "imap_fetch.h"

static const struct {
	const char *name;
	enum imap_fetch_type type;
} imap_fetch_simple[] = {
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "UID", IMAP_FETCH_UID },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
	{ "EMAILID", IMAP_FETCH_EMAILID },
	{ "THREADID", IMAP_FETCH_THREADID },
	{ "SAVEDATE", IMAP_FETCH_SAVEDATE },
	{ "PREVIEW", IMAP_FETCH_PREVIEW },
};

#define IMAP_NSIMPLE (sizeof(imap_fetch_simple) / sizeof(imap_fetch_simple[0]))

static const char *const imap_section_names[] = {
	[IMAP_SECTION_ALL] = "",
	[IMAP_SECTION_HEADER] = "HEADER",
	[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
	[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_SECTION_TEXT] = "TEXT",
	[IMAP_SECTION_MIME] = "MIME",
};

static void imap_fetch_item_release(struct imap_fetch_item *item)
{
	unsigned int i;

	for (i = 0; i < item->nfields; i++)
		mem_free(item->fields[i]);
	mem_free(item->fields);
	item->nfields = 0;
}

void imap_fetch_release(struct imap_fetch *fetch)
{
	unsigned int i;

	for (i = 0; i < fetch->count; i++)
		imap_fetch_item_release(&fetch->items[i]);
	mem_free(fetch->items);
	fetch->count = 0;
}

static struct imap_fetch_item *imap_fetch_add(struct imap_fetch *fetch,
					      enum imap_fetch_type type)
{
	struct imap_fetch_item *item;

	fetch->items = mem_array_realloc(fetch->items, fetch->count + 1,
					 sizeof(*fetch->items));
	item = &fetch->items[fetch->count++];
	memset(item, 0, sizeof(*item));
	item->type = type;
	return item;
}

/* One header field name at *sp (atom or quoted), upper-cased. */
static bool imap_fetch_field(const char **sp, struct str *name)
{
	const char *s = *sp;

	str_clear(name);
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			if (*s == '\0')
				return false;
			str_append_c(name, *s);
		}
		s++;
	} else {
		for (; *s != '\0' && *s != ' ' && *s != ')'; s++)
			str_append_c(name, *s);
	}
	if (name->len == 0)
		return false;
	for (size_t i = 0; i < name->len; i++) {
		char c = name->data[i];

		/* RFC 5322 ftext: printable ASCII but ':' */
		if (c <= 0x20 || c >= 0x7f || c == ':')
			return false;
		if (c >= 'a' && c <= 'z')
			name->data[i] = (char)(c - 'a' + 'A');
	}
	*sp = s;
	return true;
}

/* " (Name Name ...)" ending the section text. */
static bool imap_fetch_fields(struct imap_fetch_item *item, const char *s,
			      const char **error_r)
{
	struct str name = STR_INIT;
	bool ok = false;

	if (s[0] != ' ' || s[1] != '(') {
		*error_r = "Missing header field list";
		return false;
	}
	s += 2;
	for (;;) {
		if (!imap_fetch_field(&s, &name)) {
			*error_r = "Invalid header field name";
			goto out;
		}
		if (item->nfields >= IMAP_FETCH_FIELDS_MAX) {
			*error_r = "Too many header fields";
			goto out;
		}
		item->fields = mem_array_realloc(item->fields,
						 item->nfields + 1,
						 sizeof(*item->fields));
		item->fields[item->nfields++] = mem_strdup(str_c(&name));
		if (*s == ')')
			break;
		if (*s++ != ' ') {
			*error_r = "Invalid header field list";
			goto out;
		}
	}
	if (s[1] != '\0') {
		*error_r = "Unexpected text after header field list";
		goto out;
	}
	ok = true;
out:
	str_release(&name);
	return ok;
}

/* The section text after the part numbers. */
static bool imap_fetch_spec(struct imap_fetch_item *item, const char *s,
			    const char **error_r)
{
	if (*s == '\0')
		return true;
	if (strncasecmp(s, "HEADER.FIELDS.NOT", 17) == 0) {
		item->spec = IMAP_SECTION_HEADER_FIELDS_NOT;
		return imap_fetch_fields(item, s + 17, error_r);
	}
	if (strncasecmp(s, "HEADER.FIELDS", 13) == 0) {
		item->spec = IMAP_SECTION_HEADER_FIELDS;
		return imap_fetch_fields(item, s + 13, error_r);
	}
	if (strcasecmp(s, "HEADER") == 0) {
		item->spec = IMAP_SECTION_HEADER;
	} else if (strcasecmp(s, "TEXT") == 0) {
		item->spec = IMAP_SECTION_TEXT;
	} else if (strcasecmp(s, "MIME") == 0 && item->nparts > 0) {
		item->spec = IMAP_SECTION_MIME;
	} else {
		*error_r = "Invalid section";
		return false;
	}
	return true;
}

/* What is between the brackets. */
static bool imap_fetch_section(struct imap_fetch_item *item, const char *s,
			       bool binary, const char **error_r)
{
	char buf[24];
	size_t n;

	while (*s >= '0' && *s <= '9') {
		n = strspn(s, "0123456789");
		if (n >= sizeof(buf) || item->nparts >= IMAP_FETCH_PARTS_MAX) {
			*error_r = "Invalid section part";
			return false;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (!imap_parse_nz_number(buf, &item->part[item->nparts++])) {
			*error_r = "Invalid section part";
			return false;
		}
		s += n;
		if (*s == '\0')
			return true;
		if (*s++ != '.' || *s == '\0') {
			*error_r = "Invalid section";
			return false;
		}
	}
	if (binary && *s != '\0') {
		*error_r = "Invalid BINARY section";
		return false;
	}
	return imap_fetch_spec(item, s, error_r);
}

/* "<offset.length>" */
static bool imap_fetch_partial(struct imap_fetch_item *item, const char *s)
{
	char buf[24];
	const char *dot, *end;
	size_t n;

	if (*s++ != '<' || (dot = strchr(s, '.')) == NULL ||
	    (end = strchr(dot, '>')) == NULL || end[1] != '\0')
		return false;
	n = (size_t)(dot - s);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!imap_parse_number64(buf, &item->offset))
		return false;
	n = (size_t)(end - dot - 1);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, dot + 1, n);
	buf[n] = '\0';
	if (!imap_parse_number64(buf, &item->length) || item->length == 0)
		return false;
	item->partial = true;
	return true;
}

static bool imap_fetch_sectioned(struct imap_fetch *fetch, const char *s,
				 const char *open, const char **error_r)
{
	struct imap_fetch_item *item;
	size_t plen = (size_t)(open - s);
	const char *close = strchr(open, ']');
	enum imap_fetch_type type;
	bool peek = false;
	char *section;
	bool ok;

	if (plen == 4 && strncasecmp(s, "BODY", 4) == 0) {
		type = IMAP_FETCH_BODY_SECTION;
	} else if (plen == 9 && strncasecmp(s, "BODY.PEEK", 9) == 0) {
		type = IMAP_FETCH_BODY_SECTION;
		peek = true;
	} else if (plen == 6 && strncasecmp(s, "BINARY", 6) == 0) {
		type = IMAP_FETCH_BINARY;
	} else if (plen == 11 && strncasecmp(s, "BINARY.PEEK", 11) == 0) {
		type = IMAP_FETCH_BINARY;
		peek = true;
	} else if (plen == 11 && strncasecmp(s, "BINARY.SIZE", 11) == 0) {
		type = IMAP_FETCH_BINARY_SIZE;
	} else {
		*error_r = "Invalid FETCH item";
		return false;
	}
	if (close == NULL) {
		*error_r = "Missing ']'";
		return false;
	}
	item = imap_fetch_add(fetch, type);
	item->peek = peek;
	section = mem_strndup(open + 1, (size_t)(close - open - 1));
	ok = imap_fetch_section(item, section, type != IMAP_FETCH_BODY_SECTION,
				error_r);
	mem_free(section);
	if (!ok)
		return false;
	if (close[1] != '\0' && (type == IMAP_FETCH_BINARY_SIZE ||
				 !imap_fetch_partial(item, close + 1))) {
		*error_r = "Invalid partial range";
		return false;
	}
	return true;
}

static bool imap_fetch_one(struct imap_fetch *fetch, const char *s,
			   const char **error_r)
{
	const char *open = strchr(s, '[');
	size_t i;

	if (fetch->count >= IMAP_FETCH_ITEMS_MAX) {
		*error_r = "Too many FETCH items";
		return false;
	}
	if (open != NULL)
		return imap_fetch_sectioned(fetch, s, open, error_r);
	for (i = 0; i < IMAP_NSIMPLE; i++) {
		if (strcasecmp(s, imap_fetch_simple[i].name) == 0) {
			imap_fetch_add(fetch, imap_fetch_simple[i].type);
			return true;
		}
	}
	*error_r = "Unknown FETCH item";
	return false;
}

/* PREVIEW's modifiers (RFC 8970): only LAZY is defined; anything else is
 * refused. */
static bool imap_fetch_preview_mods(struct imap_fetch_item *item,
				    const struct imap_arg *arg,
				    const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	const char *s;

	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid PREVIEW modifiers";
		return false;
	}
	for (; list->type != IMAP_ARG_EOL; list++) {
		if (!imap_arg_get_atom(list, &s) || strcasecmp(s, "LAZY") != 0) {
			*error_r = "Unknown PREVIEW modifier";
			return false;
		}
		item->lazy = true;
	}
	return true;
}

static void imap_fetch_macro(struct imap_fetch *fetch, const char *name)
{
	imap_fetch_add(fetch, IMAP_FETCH_FLAGS);
	imap_fetch_add(fetch, IMAP_FETCH_INTERNALDATE);
	imap_fetch_add(fetch, IMAP_FETCH_RFC822_SIZE);
	if (strcasecmp(name, "FAST") == 0)
		return;
	imap_fetch_add(fetch, IMAP_FETCH_ENVELOPE);
	if (strcasecmp(name, "FULL") == 0)
		imap_fetch_add(fetch, IMAP_FETCH_BODY);
}

bool imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch *fetch,
		      const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	const char *s;

	imap_fetch_release(fetch);
	if (imap_arg_get_atom(arg, &s)) {
		if (strcasecmp(s, "ALL") == 0 || strcasecmp(s, "FAST") == 0 ||
		    strcasecmp(s, "FULL") == 0) {
			imap_fetch_macro(fetch, s);
			return true;
		}
		return imap_fetch_one(fetch, s, error_r);
	}
	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid FETCH items";
		return false;
	}
	for (; list->type != IMAP_ARG_EOL; list++) {
		if (!imap_arg_get_atom(list, &s)) {
			*error_r = "Invalid FETCH items";
			return false;
		}
		if (!imap_fetch_one(fetch, s, error_r))
			return false;
		if (fetch->items[fetch->count - 1].type ==
		    IMAP_FETCH_PREVIEW && list[1].type == IMAP_ARG_LIST) {
			list++;
			if (!imap_fetch_preview_mods(
				    &fetch->items[fetch->count - 1], list,
				    error_r))
				return false;
		}
	}
	return true;
}

static void imap_fetch_section_name(const struct imap_fetch_item *item,
				    struct str *out)
{
	unsigned int i;

	str_append_c(out, '[');
	for (i = 0; i < item->nparts; i++)
		str_printf(out, "%s%u", i > 0 ? "." : "", item->part[i]);
	if (item->spec != IMAP_SECTION_ALL) {
		if (item->nparts > 0)
			str_append_c(out, '.');
		str_append(out, imap_section_names[item->spec]);
	}
	if (item->nfields > 0) {
		str_append(out, " (");
		for (i = 0; i < item->nfields; i++)
			str_printf(out, "%s%s", i > 0 ? " " : "",
				   item->fields[i]);
		str_append_c(out, ')');
	}
	str_append_c(out, ']');
	if (item->partial)
		str_printf(out, "<%llu>", (unsigned long long)item->offset);
}

void imap_fetch_item_name(const struct imap_fetch_item *item,
			  struct str *out)
{
	size_t i;

	switch (item->type) {
	case IMAP_FETCH_BODY_SECTION:
		str_append(out, "BODY");
		imap_fetch_section_name(item, out);
		return;
	case IMAP_FETCH_BINARY:
		str_append(out, "BINARY");
		imap_fetch_section_name(item, out);
		return;
	case IMAP_FETCH_BINARY_SIZE:
		str_append(out, "BINARY.SIZE");
		imap_fetch_section_name(item, out);
		return;
	default:
		break;
	}
	for (i = 0; i < IMAP_NSIMPLE; i++)
		if (imap_fetch_simple[i].type == item->type)
			str_append(out, imap_fetch_simple[i].name);
}

bool imap_fetch_item_sets_seen(const struct imap_fetch_item *item)
{
	switch (item->type) {
	case IMAP_FETCH_RFC822:
	case IMAP_FETCH_RFC822_TEXT:
		return true;
	case IMAP_FETCH_BODY_SECTION:
	case IMAP_FETCH_BINARY:
		return !item->peek;
	default:
		return false;
	}
}
