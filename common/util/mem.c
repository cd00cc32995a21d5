/*
 * mem: allocation wrappers that never return NULL.
 *
 * SECURITY: sizes come from callers; multiplications are overflow checked.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "mem.h"

void *mem_alloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *mem_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		msg_fatal("out of memory reallocating %zu bytes", size);
	return p;
}

void *mem_array(size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		msg_panic("mem_array: %zu * %zu overflows", nmemb, size);
	return mem_alloc(nmemb * size);
}

void *mem_array_realloc(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		msg_panic("mem_array_realloc: %zu * %zu overflows", nmemb, size);
	return mem_realloc(ptr, nmemb * size);
}

char *mem_strdup(const char *s)
{
	return mem_dup(s, strlen(s) + 1);
}

char *mem_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = mem_alloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *mem_dup(const void *p, size_t n)
{
	void *q = mem_alloc(n);

	if (n > 0)
		memcpy(q, p, n);
	return q;
}
