/*
 * str: growable strings and small string helpers (str.h).
 *
 * SECURITY: all growth is overflow checked; buffers are always
 * NUL-terminated so a str can be handed to C APIs.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "str.h"

static char str_empty[1];

struct str *str_create(size_t hint)
{
	struct str *s = mem_alloc(sizeof(*s));

	if (hint > 0)
		str_reserve(s, hint);
	return s;
}

void str_release(struct str *s)
{
	mem_free(s->data);
	s->len = 0;
	s->cap = 0;
}

void str_free(struct str **s)
{
	if (*s == NULL)
		return;
	str_release(*s);
	mem_free(*s);
}

char *str_steal(struct str *s)
{
	char *p = s->data != NULL ? s->data : mem_strdup("");

	s->data = NULL;
	s->len = 0;
	s->cap = 0;
	return p;
}

void str_reserve(struct str *s, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - s->len - 1)
		msg_panic("str_reserve: length overflow");
	need = s->len + extra + 1;
	if (need <= s->cap)
		return;
	cap = s->cap < 32 ? 32 : s->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	s->data = mem_realloc(s->data, cap);
	s->cap = cap;
	s->data[s->len] = '\0';
}

void str_truncate(struct str *s, size_t len)
{
	if (len > s->len)
		msg_panic("str_truncate: %zu > %zu", len, s->len);
	s->len = len;
	if (s->data != NULL)
		s->data[len] = '\0';
}

void str_append_n(struct str *s, const void *data, size_t len)
{
	str_reserve(s, len);
	if (len > 0)
		memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
}

void str_append(struct str *s, const char *text)
{
	str_append_n(s, text, strlen(text));
}

void str_append_c(struct str *s, char c)
{
	str_append_n(s, &c, 1);
}

void str_vprintf(struct str *s, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	str_reserve(s, 64);
	n = vsnprintf(s->data + s->len, s->cap - s->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		msg_panic("str_vprintf: bad format \"%s\"", fmt);
	if ((size_t)n >= s->cap - s->len) {
		str_reserve(s, (size_t)n);
		vsnprintf(s->data + s->len, s->cap - s->len, fmt, ap);
	}
	s->len += (size_t)n;
}

void str_printf(struct str *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	str_vprintf(s, fmt, ap);
	va_end(ap);
}

char *str_dup_vprintf(const char *fmt, va_list ap)
{
	struct str s = STR_INIT;

	str_vprintf(&s, fmt, ap);
	return str_steal(&s);
}

char *str_dup_printf(const char *fmt, ...)
{
	char *text;
	va_list ap;

	va_start(ap, fmt);
	text = str_dup_vprintf(fmt, ap);
	va_end(ap);
	return text;
}

void str_set(struct str *s, const char *text)
{
	str_clear(s);
	str_append(s, text);
}

const char *str_c(const struct str *s)
{
	return s->data != NULL ? s->data : str_empty;
}

bool str_equals(const struct str *s, const char *text)
{
	return strlen(text) == s->len && memcmp(str_c(s), text, s->len) == 0;
}

void str_rtrim(struct str *s)
{
	while (s->len > 0 && strchr(" \t\r\n", s->data[s->len - 1]) != NULL)
		s->len--;
	if (s->data != NULL)
		s->data[s->len] = '\0';
}

void str_consume(struct str *s, size_t n)
{
	if (n > s->len)
		msg_panic("str_consume: %zu > %zu", n, s->len);
	if (n == 0)
		return;		/* s->data may be NULL: no pointer sums */
	memmove(s->data, s->data + n, s->len - n);
	str_truncate(s, s->len - n);
}

bool str_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

char *str_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]) != NULL)
		end--;
	*end = '\0';
	return s;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_case_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

void str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

char *str_token(char **cursor, const char *delims)
{
	char *start = *cursor, *end;

	if (start == NULL)
		return NULL;
	start += strspn(start, delims);
	if (*start == '\0') {
		*cursor = NULL;
		return NULL;
	}
	end = start + strcspn(start, delims);
	if (*end != '\0')
		*end++ = '\0';
	*cursor = end;
	return start;
}

bool str_to_long(const char *s, long min, long max, long *value_r)
{
	char *end;
	long v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*value_r = v;
	return true;
}

bool str_to_time(const char *s, long default_unit, long *seconds_r)
{
	char num[32];
	size_t len = strlen(s);
	long unit = default_unit, v;

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: len++; break;
	}
	num[len - 1] = '\0';
	if (!str_to_long(num, 0, LONG_MAX / unit, &v))
		return false;
	*seconds_r = v * unit;
	return true;
}

bool str_to_size(const char *s, long long *bytes_r)
{
	char num[32];
	size_t len = strlen(s);
	long long unit = 1;
	long v;

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, s, len + 1);
	switch (tolower((unsigned char)num[len - 1])) {
	case 'k': unit = 1024; break;
	case 'm': unit = 1024 * 1024; break;
	case 'g': unit = 1024LL * 1024 * 1024; break;
	default: len++; break;
	}
	num[len - 1] = '\0';
	if (!str_to_long(num, 0, LONG_MAX, &v) || v > LLONG_MAX / unit)
		return false;
	*bytes_r = (long long)v * unit;
	return true;
}

bool str_to_bool(const char *s, bool *value_r)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0 || strcasecmp(s, "on") == 0 ||
	    strcasecmp(s, "y") == 0) {
		*value_r = true;
		return true;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0 || strcasecmp(s, "off") == 0 ||
	    strcasecmp(s, "n") == 0) {
		*value_r = false;
		return true;
	}
	return false;
}

int str_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
