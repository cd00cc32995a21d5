/*
 * mime_param: Content-Type and Content-Disposition values with their
 * parameters (RFC 2045 section 5.1, RFC 2183), RFC 2231 continuations
 * and charsets (mime_param_* in mime.h), and the RFC 822 lexical helpers
 * the MIME code shares (mime_impl.h).
 *
 * Parameters are parsed leniently: a value is a quoted-string or a
 * token; junk after a value is skipped up to the next ";". The result is
 * what Dovecot shows in BODYSTRUCTURE (checked against Dovecot 2.3.19):
 * plain parameters first, in their order, names as written, duplicates
 * kept; then the RFC 2231 ones by name, their sections (name*0, name*1*,
 * ...) merged in section order from 0 up to the first gap; if any
 * section was charset-encoded the result keeps the extended form
 * (charset'language'%XX..., "%" of plain sections escaped), so IMAP can
 * show it as "name*".
 *
 * SECURITY: values come from messages. At most MIME_MAX_CONTINUATIONS
 * raw parameters are looked at per field and MIME_MAX_PARAMS kept;
 * merging sorts (n log n), never compares pairs; comments nest only as
 * deep as the value is long and are skipped iteratively.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "mime_impl.h"
#include "str.h"

bool mime_is_token_char(unsigned char c)
{
	if (c <= ' ' || c >= 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

size_t mime_skip_cfws(const char *s, size_t len, size_t pos)
{
	unsigned depth = 0;

	while (pos < len) {
		char c = s[pos];

		if (depth > 0) {
			if (c == '\\' && pos + 1 < len)
				pos++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth++;
		} else if (!mime_is_wsp((unsigned char)c)) {
			break;
		}
		pos++;
	}
	return pos;
}

/* A parameter as written, before merging. */
struct mime_raw_param {
	char *name;		/* base name, lower case */
	long section;		/* -1: none */
	bool extended;		/* "*" at the end */
	bool starred;		/* RFC 2231 syntax: "name*" or "name*N" */
	char *value;
	unsigned order;		/* position in the field */
};

/* Read a quoted-string at s[pos] == '"' into out; returns the position
 * after it (the end if it never closes). */
static size_t mime_quoted(const char *s, size_t len, size_t pos,
			  struct str *out)
{
	for (pos++; pos < len && s[pos] != '"'; pos++) {
		if (s[pos] == '\\' && pos + 1 < len)
			pos++;
		else if (s[pos] == '\r' || s[pos] == '\n')
			continue;
		str_append_c(out, s[pos]);
	}
	return pos < len ? pos + 1 : pos;
}

/* "base*N*" -> base, section and the extended flag. */
static void mime_param_name(struct mime_raw_param *rp, char *name)
{
	char *star = strchr(name, '*'), *p;
	long section = -1;

	rp->name = name;
	rp->section = -1;
	rp->extended = false;
	rp->starred = false;
	if (star == NULL || star == name)
		return;
	p = star + 1;
	if (*p == '\0') {
		/* "name*": one extended value. */
		*star = '\0';
		rp->extended = true;
		rp->starred = true;
		return;
	}
	if (*p >= '0' && *p <= '9') {
		section = 0;
		while (*p >= '0' && *p <= '9' &&
		       section <= MIME_MAX_CONTINUATIONS)
			section = section * 10 + (*p++ - '0');
		if (section > MIME_MAX_CONTINUATIONS)
			return;
	}
	if (*p == '*') {
		rp->extended = true;
		p++;
	}
	if (*p != '\0')
		return;	/* not RFC 2231 after all: keep it whole */
	*star = '\0';
	rp->section = section;
	rp->starred = true;
}

/* Parse "; a=b; ..." from s[pos] into *raw_r (mem_ array, grown as
 * needed); returns the number of raw parameters. */
static unsigned mime_raw_params(struct mime_pool *pool, const char *s,
				size_t len, size_t pos,
				struct mime_raw_param **raw_r)
{
	struct mime_raw_param *raw = NULL;
	struct str value = STR_INIT;
	unsigned n = 0, cap = 0;
	size_t start;
	char *name;

	while (pos < len && n < MIME_MAX_CONTINUATIONS) {
		pos = mime_skip_cfws(s, len, pos);
		if (pos < len && s[pos] != ';') {
			/* Junk: skip to the next parameter. */
			while (pos < len && s[pos] != ';')
				pos++;
		}
		if (pos >= len)
			break;
		pos = mime_skip_cfws(s, len, pos + 1);
		start = pos;
		while (pos < len && mime_is_token_char((unsigned char)s[pos]))
			pos++;
		if (pos == start)
			continue;
		name = mime_pool_strndup(pool, s + start, pos - start);
		pos = mime_skip_cfws(s, len, pos);
		if (pos >= len || s[pos] != '=')
			continue;
		pos = mime_skip_cfws(s, len, pos + 1);
		str_clear(&value);
		if (pos < len && s[pos] == '"') {
			pos = mime_quoted(s, len, pos, &value);
		} else {
			start = pos;
			while (pos < len &&
			       mime_is_token_char((unsigned char)s[pos]))
				pos++;
			str_append_n(&value, s + start, pos - start);
			if (pos == start)
				continue;	/* "name=" and no value */
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			raw = mem_array_realloc(raw, cap, sizeof(*raw));
		}
		mime_param_name(&raw[n], name);
		raw[n].value = mime_pool_strndup(pool, str_c(&value),
						 value.len);
		raw[n].order = n;
		n++;
	}
	str_release(&value);
	*raw_r = raw;
	return n;
}

/* Plain parameters first, in their order; then the RFC 2231 ones by
 * name (case-insensitive), section and order, as Dovecot lists them. */
static int mime_raw_cmp(const void *a, const void *b)
{
	const struct mime_raw_param *x = a, *y = b;
	int c;

	if (x->starred != y->starred)
		return x->starred ? 1 : -1;
	if (x->starred) {
		c = strcasecmp(x->name, y->name);
		if (c != 0)
			return c;
		if (x->section != y->section)
			return x->section < y->section ? -1 : 1;
	}
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Merging a plain section into an extended value escapes its "%" (and
 * nothing else, like Dovecot: decoders take the rest as it is). */
static void mime_pct_encode(struct str *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			str_append(out, "%25");
		else
			str_append_c(out, *s);
	}
}

/* Merge the sections of each RFC 2231 name in raw[0..n) (sorted by
 * mime_raw_cmp) into one parameter; plain ones stay as they are. */
static unsigned mime_merge(struct mime_pool *pool,
			   struct mime_raw_param *raw, unsigned n)
{
	struct str v = STR_INIT;
	unsigned i = 0, out = 0, j, k;
	bool ext;

	while (i < n && !raw[i].starred)
		raw[out++] = raw[i++];
	while (i < n) {
		for (j = i + 1; j < n &&
		     strcasecmp(raw[j].name, raw[i].name) == 0; j++)
			;
		/* raw[i..j): one name. A "name*" value (no sections)
		 * sorts first and wins over sections. */
		if (raw[i].section < 0) {
			raw[out] = raw[i];
		} else {
			ext = false;
			for (k = i; k < j && raw[k].section == (long)(k - i);
			     k++)
				ext = ext || raw[k].extended;
			str_clear(&v);
			if (ext && !raw[i].extended)
				str_append(&v, "''");
			for (k = i; k < j && raw[k].section == (long)(k - i);
			     k++) {
				if (!ext || raw[k].extended)
					str_append(&v, raw[k].value);
				else
					mime_pct_encode(&v, raw[k].value);
			}
			raw[out] = raw[i];
			raw[out].extended = ext;
			raw[out].value = mime_pool_strndup(pool, str_c(&v),
							   v.len);
			if (k == i)
				out--;	/* no section 0: drop the name */
		}
		out++;
		i = j;
	}
	str_release(&v);
	return out;
}

static void mime_params_build(struct mime_pool *pool, const char *s,
			      size_t len, size_t pos,
			      struct mime_params *params_r)
{
	struct mime_raw_param *raw;
	unsigned n, i;

	params_r->items = NULL;
	params_r->count = 0;
	n = mime_raw_params(pool, s, len, pos, &raw);
	if (n > 0) {
		qsort(raw, n, sizeof(*raw), mime_raw_cmp);
		n = mime_merge(pool, raw, n);
	}
	if (n > MIME_MAX_PARAMS)
		n = MIME_MAX_PARAMS;
	if (n > 0) {
		params_r->items = mime_pool_alloc(pool,
						  n * sizeof(*params_r->items));
		for (i = 0; i < n; i++) {
			params_r->items[i].name = raw[i].name;
			params_r->items[i].value = raw[i].value;
			params_r->items[i].extended = raw[i].extended;
		}
		params_r->count = n;
	}
	mem_free(raw);
}

/* A token at s[pos] (after CFWS); returns its end, or pos if none. */
static size_t mime_token_at(const char *s, size_t len, size_t pos)
{
	while (pos < len && mime_is_token_char((unsigned char)s[pos]))
		pos++;
	return pos;
}

bool mime_param_content_type(struct mime_pool *pool, const char *value,
			     size_t len, const char **type_r,
			     const char **subtype_r,
			     struct mime_params *params_r)
{
	size_t pos = mime_skip_cfws(value, len, 0), t, t_end, st, st_end;

	*type_r = *subtype_r = NULL;
	params_r->items = NULL;
	params_r->count = 0;
	t = pos;
	t_end = mime_token_at(value, len, t);
	pos = mime_skip_cfws(value, len, t_end);
	if (t_end == t)
		return false;
	if (pos >= len || value[pos] != '/') {
		/* "text" alone: Dovecot keeps it, with an empty subtype. */
		*type_r = mime_pool_strndup(pool, value + t, t_end - t);
		*subtype_r = "";
		mime_params_build(pool, value, len, t_end, params_r);
		return true;
	}
	st = mime_skip_cfws(value, len, pos + 1);
	st_end = mime_token_at(value, len, st);
	if (st_end == st)
		return false;
	*type_r = mime_pool_strndup(pool, value + t, t_end - t);
	*subtype_r = mime_pool_strndup(pool, value + st, st_end - st);
	mime_params_build(pool, value, len, st_end, params_r);
	return true;
}

bool mime_param_token_params(struct mime_pool *pool, const char *value,
			     size_t len, const char **token_r,
			     struct mime_params *params_r)
{
	size_t pos = mime_skip_cfws(value, len, 0), end;

	*token_r = NULL;
	params_r->items = NULL;
	params_r->count = 0;
	end = mime_token_at(value, len, pos);
	if (end == pos)
		return false;
	*token_r = mime_pool_strndup(pool, value + pos, end - pos);
	mime_params_build(pool, value, len, end, params_r);
	return true;
}

const struct mime_param *mime_params_find(const struct mime_params *params,
					  const char *name)
{
	unsigned i;

	for (i = 0; i < params->count; i++)
		if (strcasecmp(params->items[i].name, name) == 0)
			return &params->items[i];
	return NULL;
}

void mime_param_decode(const struct mime_param *param, struct str *out)
{
	const char *v = param->value, *q1, *q2, *p;
	struct str bytes = STR_INIT;
	char charset[65];
	int hi, lo;

	if (!param->extended) {
		mime_header_decode(v, strlen(v), out);
		return;
	}
	q1 = strchr(v, '\'');
	q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');
	if (q2 == NULL) {
		q1 = q2 = v - 1;	/* no charset: the whole is text */
		charset[0] = '\0';
	} else if ((size_t)(q1 - v) < sizeof(charset)) {
		memcpy(charset, v, (size_t)(q1 - v));
		charset[q1 - v] = '\0';
	} else {
		charset[0] = '\0';
	}
	for (p = q2 + 1; *p != '\0'; p++) {
		if (*p == '%' &&
		    (hi = str_hex_digit((unsigned char)p[1])) >= 0 &&
		    (lo = str_hex_digit((unsigned char)p[2])) >= 0) {
			str_append_c(&bytes, (char)(hi * 16 + lo));
			p += 2;
		} else {
			str_append_c(&bytes, *p);
		}
	}
	if (charset[0] == '\0' ||
	    !mime_charset_to_utf8(charset, str_c(&bytes), bytes.len, out))
		mime_utf8_sanitize(str_c(&bytes), bytes.len, out);
	str_release(&bytes);
}
