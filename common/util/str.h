#ifndef COMMON_STR_H
#define COMMON_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "msg.h"

/* A growable, length-tracked string, always NUL-terminated (it may also
 * hold NUL bytes inside; len is authoritative). */
struct str {
	char *data;
	size_t len;
	size_t cap;
};

#define STR_INIT { NULL, 0, 0 }

struct str *str_create(size_t hint);
void str_free(struct str **s);
/* Release the buffer of an embedded struct str (not the struct). */
void str_release(struct str *s);
/* Take ownership of the buffer; the str is left empty. */
char *str_steal(struct str *s);

void str_reserve(struct str *s, size_t extra);
void str_truncate(struct str *s, size_t len);
static inline void str_clear(struct str *s) { str_truncate(s, 0); }
void str_append(struct str *s, const char *text);
void str_append_n(struct str *s, const void *data, size_t len);
void str_append_c(struct str *s, char c);
void str_printf(struct str *s, const char *fmt, ...) MSG_PRINTF(2, 3);
void str_vprintf(struct str *s, const char *fmt, va_list ap);
/* A new heap string (free with mem_free) formatted from fmt: the one
 * helper for error messages handed back through char **error_r. */
char *str_dup_printf(const char *fmt, ...) MSG_PRINTF(1, 2);
char *str_dup_vprintf(const char *fmt, va_list ap);
void str_set(struct str *s, const char *text);
/* NUL-terminated view; never NULL. */
const char *str_c(const struct str *s);
bool str_equals(const struct str *s, const char *text);
/* Drop trailing whitespace (space, tab, CR, LF). */
void str_rtrim(struct str *s);
/* Remove the first n bytes. */
void str_consume(struct str *s, size_t n);

/* snprintf that reports truncation: false if the output did not fit. */
bool str_snprintf(char *buf, size_t size, const char *fmt, ...)
	MSG_PRINTF(3, 4);

/* Small helpers on C strings. */
char *str_trim(char *s);		/* in place, returns start */
bool str_has_prefix(const char *s, const char *prefix);
bool str_case_prefix(const char *s, const char *prefix);
void str_lower(char *s);
/* Split *cursor at any of delims, skipping empty fields; returns NULL at
 * the end. Like strsep, but collapses runs of delimiters. */
char *str_token(char **cursor, const char *delims);

/* Parse numbers strictly (whole string, no sign surprises, range). */
/* The value of a hexadecimal digit (either case), -1 for any other. */
int str_hex_digit(int c);

bool str_to_long(const char *s, long min, long max, long *value_r);
/* Time with optional unit s/m/h/d/w (default unit given in seconds). */
bool str_to_time(const char *s, long default_unit, long *seconds_r);
/* Size with optional unit k/m/g (powers of 1024). */
bool str_to_size(const char *s, long long *bytes_r);
bool str_to_bool(const char *s, bool *value_r);

#endif
