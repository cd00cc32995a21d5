#ifndef COMMON_MEM_H
#define COMMON_MEM_H

#include <stddef.h>

/* Allocation wrappers. They never return NULL: running out of memory is
 * fatal (msg_fatal), so callers need no error path for it. */
void *mem_alloc(size_t size);		/* zeroed */
void *mem_realloc(void *ptr, size_t size);
void *mem_array(size_t nmemb, size_t size);	/* zeroed, overflow checked */
void *mem_array_realloc(void *ptr, size_t nmemb, size_t size);
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
void *mem_dup(const void *p, size_t n);

/* Free *ptr and set it to NULL. */
#define mem_free(ptr) do { free(ptr); (ptr) = NULL; } while (0)

#endif
