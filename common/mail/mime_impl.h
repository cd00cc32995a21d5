#ifndef COMMON_MIME_IMPL_H
#define COMMON_MIME_IMPL_H

/* Private to the mime_*.c files: the allocation pool and the
 * checkpoints that make seeking in the CRLF view cheap. */

#include <stddef.h>

#include "mime.h"

/* One checkpoint every this many bytes of message. */
#define MIME_CHECKPOINT_STEP	(64 * 1024)

struct mime_checkpoint {
	size_t off;
	size_t bare_lf;		/* bare LFs before off */
};

/* Memory that lives as long as the parsed message; freed at once. */
void *mime_pool_alloc(struct mime_pool *pool, size_t size);
char *mime_pool_strndup(struct mime_pool *pool, const char *s, size_t len);
/* Unfold value[0..len) (drop CR/LF, trim) into the pool, copying at most
 * max bytes of it. */
char *mime_pool_unfold(struct mime_pool *pool, const char *value,
		       size_t len, size_t max);

/* Where the header of part ends for BODY[n.MIME], BODY[n.HEADER] and
 * HEADER.FIELDS: its body, less the line end a boundary owns
 * (MIME_PART_HEADER_AT_BOUNDARY). */
struct mime_pos mime_header_end(const struct mime_message *msg,
				const struct mime_part *part);

/* RFC 5322 lexical helpers shared by the parameter and address parsers. */
static inline bool mime_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 token characters. */
bool mime_is_token_char(unsigned char c);
/* Skip white space and (nested) comments from *pos; returns the new
 * position. A comment that never closes runs to the end. */
size_t mime_skip_cfws(const char *s, size_t len, size_t pos);

#endif
