/*
 * attr: the internal request protocol (attr.h).
 *
 * A list is lines "name=value\n" ending with an empty line. Names are
 * [a-z0-9_]+; values are percent-encoded so a line holds only printable
 * ASCII. The reader is strict: besides the attribute spec (missing,
 * unexpected or repeated attributes) it rejects raw control or 8-bit
 * bytes, malformed escapes, a decoded NUL (values are C strings, and a
 * NUL would silently shorten them), lines over ATTR_MAX_LINE, lists over
 * ATTR_MAX_COUNT and input that ends inside a list.
 *
 * Error messages are static text or, to name the line and attribute at
 * fault, a static buffer valid until the next call. The stream is unusable
 * after a protocol error; the caller closes it.
 *
 * attr_server_hello flushes (the server then waits for a request, so the
 * greeting must be on the wire); attr_write only queues, and the next
 * read on the same lio sends it anyway (see lio.c).
 *
 * SECURITY: both ends of these sockets are our own daemons, but with
 * different privileges (an smtpd talking to auth, a front end to a mail
 * process), so every list is parsed as untrusted input: bounded in size
 * and count, names validated, values decoded strictly.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "mem.h"
#include "proto.h"
#include "str.h"

static char attr_errbuf[160];

void attr_add(struct attr_list *list, const char *name, const char *value)
{
	if (list->count == list->cap) {
		list->cap = list->cap < 8 ? 8 : list->cap * 2;
		list->attrs = mem_array_realloc(list->attrs, list->cap,
						sizeof(*list->attrs));
	}
	list->attrs[list->count].name = mem_strdup(name);
	list->attrs[list->count].value = mem_strdup(value);
	list->count++;
}

void attr_addf(struct attr_list *list, const char *name,
	       const char *fmt, ...)
{
	struct str value = STR_INIT;
	va_list ap;

	va_start(ap, fmt);
	str_vprintf(&value, fmt, ap);
	va_end(ap);
	attr_add(list, name, str_c(&value));
	str_release(&value);
}

void attr_add_long(struct attr_list *list, const char *name, long value)
{
	attr_addf(list, name, "%ld", value);
}

const char *attr_get(const struct attr_list *list, const char *name)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (strcmp(list->attrs[i].name, name) == 0)
			return list->attrs[i].value;
	}
	return NULL;
}

bool attr_get_long(const struct attr_list *list, const char *name,
		   long *value_r)
{
	const char *value = attr_get(list, name);

	return value != NULL && str_to_long(value, LONG_MIN, LONG_MAX,
					    value_r);
}

void attr_list_clear(struct attr_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		mem_free(list->attrs[i].name);
		mem_free(list->attrs[i].value);
	}
	mem_free(list->attrs);
	list->count = 0;
	list->cap = 0;
}

/* Encoding. */

static bool attr_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '%';
}

void attr_encode(struct str *out, const char *value, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)value;
	size_t i, run;

	str_reserve(out, len);
	for (i = 0; i < len; i += run) {
		for (run = 0; i + run < len && attr_plain(p[i + run]); run++)
			;
		if (run > 0) {
			str_append_n(out, p + i, run);
			continue;
		}
		str_append_c(out, '%');
		str_append_c(out, hex[p[i] >> 4]);
		str_append_c(out, hex[p[i] & 0xf]);
		run = 1;
	}
}

/* Decode len bytes at p in place; the decoded length goes to *len_r. */
static bool attr_decode_buf(char *p, size_t len, size_t *len_r)
{
	char *in = p, *out = p, *end = p + len;
	int hi, lo;

	while (in < end) {
		if (*in != '%') {
			*out++ = *in++;
			continue;
		}
		if (end - in < 3)
			return false;
		hi = str_hex_digit(in[1]);
		lo = str_hex_digit(in[2]);
		if (hi < 0 || lo < 0)
			return false;
		*out++ = (char)(hi << 4 | lo);
		in += 3;
	}
	*len_r = (size_t)(out - p);
	return true;
}

bool attr_decode(struct str *value)
{
	size_t len;

	if (value->data == NULL)
		return true;
	if (!attr_decode_buf(value->data, value->len, &len))
		return false;
	str_truncate(value, len);
	return true;
}

static bool attr_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	}
	return true;
}

/* Writing. */

void attr_write(struct lio *lio, const struct attr_list *list)
{
	struct str buf = STR_INIT;
	const struct attr *a;
	size_t i, need = 1;

	/* One allocation, wiped after use: values may be credentials, and
	 * a buffer grown by realloc would leave copies behind. */
	for (i = 0; i < list->count; i++)
		need += strlen(list->attrs[i].name) + 2 +
			3 * strlen(list->attrs[i].value);
	str_reserve(&buf, need);
	for (i = 0; i < list->count; i++) {
		a = &list->attrs[i];
		if (!attr_name_valid(a->name, strlen(a->name)))
			msg_panic("attr_write: bad attribute name");
		str_append(&buf, a->name);
		str_append_c(&buf, '=');
		attr_encode(&buf, a->value, strlen(a->value));
		str_append_c(&buf, '\n');
	}
	str_append_c(&buf, '\n');
	lio_write(lio, buf.data, buf.len);
	explicit_bzero(buf.data, buf.len);
	str_release(&buf);
}

/* Reading. */

static enum lio_status attr_violation(const char **error_r,
				      const char *fmt, ...) MSG_PRINTF(2, 3);

static enum lio_status attr_violation(const char **error_r,
				      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(attr_errbuf, sizeof(attr_errbuf), fmt, ap);
	va_end(ap);
	*error_r = attr_errbuf;
	errno = EPROTO;
	return LIO_ERROR;
}

static const struct attr_spec *attr_spec_find(const struct attr_spec *spec,
					      const char *name)
{
	for (; spec->name != NULL; spec++) {
		if (strcmp(spec->name, name) == 0)
			return spec;
	}
	return NULL;
}

/* Check the name against the spec, then decode the value in place. */
static enum lio_status attr_check(const struct attr_list *list,
				  const struct attr_spec *spec,
				  const char *name, char *value, size_t len,
				  size_t lineno, const char **error_r)
{
	const struct attr_spec *s;
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)value[i] < 0x20 ||
		    (unsigned char)value[i] >= 0x7f)
			return attr_violation(error_r, "line %zu: unencoded "
					      "byte in value of '%.64s'",
					      lineno, name);
	}
	if (list->count >= ATTR_MAX_COUNT)
		return attr_violation(error_r, "line %zu: more than %d "
				      "attributes", lineno, ATTR_MAX_COUNT);
	if (spec != NULL) {
		s = attr_spec_find(spec, name);
		if (s == NULL)
			return attr_violation(error_r, "line %zu: unexpected "
					      "attribute '%.64s'", lineno,
					      name);
		if (!s->repeat && attr_get(list, name) != NULL)
			return attr_violation(error_r, "line %zu: repeated "
					      "attribute '%.64s'", lineno,
					      name);
	}
	if (!attr_decode_buf(value, len, &len))
		return attr_violation(error_r, "line %zu: malformed %%-escape "
				      "in value of '%.64s'", lineno, name);
	if (memchr(value, '\0', len) != NULL)
		return attr_violation(error_r, "line %zu: NUL in value of "
				      "'%.64s'", lineno, name);
	value[len] = '\0';
	return LIO_OK;
}

/* Parse one line (LF removed) into list. */
static enum lio_status attr_parse(struct attr_list *list, struct str *line,
				  const struct attr_spec *spec, size_t lineno,
				  const char **error_r)
{
	char *eq = memchr(line->data, '=', line->len);
	size_t name_len;
	enum lio_status st;

	if (eq == NULL)
		return attr_violation(error_r, "line %zu: no '=' in "
				      "attribute line", lineno);
	name_len = (size_t)(eq - line->data);
	if (!attr_name_valid(line->data, name_len))
		return attr_violation(error_r, "line %zu: bad attribute name",
				      lineno);
	*eq = '\0';
	st = attr_check(list, spec, line->data, eq + 1,
			line->len - name_len - 1, lineno, error_r);
	if (st != LIO_OK)
		return st;
	attr_add(list, line->data, eq + 1);
	return LIO_OK;
}

static enum lio_status attr_check_required(const struct attr_list *list,
					   const struct attr_spec *spec,
					   size_t lineno, const char **error_r)
{
	for (; spec != NULL && spec->name != NULL; spec++) {
		if (spec->required && attr_get(list, spec->name) == NULL)
			return attr_violation(error_r, "line %zu: missing "
					      "required attribute '%.64s'",
					      lineno, spec->name);
	}
	return LIO_OK;
}

/* Read one line and remove its LF; a non-OK status has *error_r set. */
static enum lio_status attr_read_line(struct lio *lio, struct str *line,
				      size_t lineno, const char **error_r)
{
	enum lio_status st = lio_read_line(lio, line, ATTR_MAX_LINE + 1);

	switch (st) {
	case LIO_OK:
		if (line->len == 0 || line->data[line->len - 1] != '\n')
			break;
		str_truncate(line, line->len - 1);
		return LIO_OK;
	case LIO_EOF:
		if (lineno == 1) {
			*error_r = "connection closed";
			return LIO_EOF;
		}
		break;
	case LIO_TOOLONG:
		return attr_violation(error_r, "line %zu: attribute line "
				      "too long", lineno);
	case LIO_TIMEOUT:
		*error_r = "timeout";
		return st;
	case LIO_ERROR:
		/* A peer that hung up before sending anything (a status
		 * probe, a client that changed its mind) is a close, not an
		 * error: our hello or last reply hit the closed socket. */
		if (lineno == 1 && (errno == EPIPE || errno == ECONNRESET)) {
			*error_r = "connection closed";
			return LIO_EOF;
		}
		(void)snprintf(attr_errbuf, sizeof(attr_errbuf),
			       "read error: %s", strerror(errno));
		*error_r = attr_errbuf;
		return st;
	}
	return attr_violation(error_r, "line %zu: connection closed inside "
			      "an attribute list", lineno);
}

enum lio_status attr_read(struct lio *lio, struct attr_list *list,
			  const struct attr_spec *spec, const char **error_r)
{
	struct str line = STR_INIT;
	enum lio_status st;
	size_t lineno;

	attr_list_clear(list);
	for (lineno = 1;; lineno++) {
		st = attr_read_line(lio, &line, lineno, error_r);
		if (st != LIO_OK)
			break;
		if (line.len == 0) {
			st = attr_check_required(list, spec, lineno, error_r);
			break;
		}
		st = attr_parse(list, &line, spec, lineno, error_r);
		if (st != LIO_OK)
			break;
	}
	str_release(&line);
	if (st != LIO_OK)
		attr_list_clear(list);
	return st;
}

/* Handshake. */

void attr_server_hello(struct lio *lio, const char *protocol)
{
	struct attr_list list = ATTR_LIST_INIT;

	attr_add(&list, PROTO_ATTR_PROTOCOL, protocol);
	attr_write(lio, &list);
	attr_list_clear(&list);
	(void)lio_flush(lio);
}

bool attr_client_hello(struct lio *lio, const char *protocol,
		       const char **error_r)
{
	static const struct attr_spec spec[] = {
		{ PROTO_ATTR_PROTOCOL, true, false },
		{ NULL, false, false },
	};
	struct attr_list list = ATTR_LIST_INIT;
	enum lio_status st;
	bool ok;

	st = attr_read(lio, &list, spec, error_r);
	if (st == LIO_EOF)
		*error_r = "connection closed before the protocol handshake";
	if (st != LIO_OK)
		return false;
	ok = strcmp(attr_get(&list, PROTO_ATTR_PROTOCOL), protocol) == 0;
	attr_list_clear(&list);
	if (!ok) {
		(void)snprintf(attr_errbuf, sizeof(attr_errbuf),
			       "protocol mismatch (expected '%.64s')",
			       protocol);
		*error_r = attr_errbuf;
		errno = EPROTO;
	}
	return ok;
}
