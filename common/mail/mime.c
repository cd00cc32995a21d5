/*
 * mime: the parsed message and what is read from it (mime.h): the pool
 * its strings live in, sizes in the CRLF view, IMAP section numbers and
 * ranges, and copying a range out in the CRLF view with a partial
 * window. The parser itself is mime_parse.c.
 *
 * SECURITY: the message is untrusted. Every offset used here was made by
 * the parser and lies inside the buffer; section numbers come from an
 * IMAP client and are checked digit by digit (no overflow, no leading
 * zero, no empty component). Seeking uses the checkpoints, so a client
 * fetching a big part in small pieces costs linear time overall.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "mime_impl.h"

#define MIME_POOL_BLOCK	(16 * 1024)

struct mime_pool_block {
	struct mime_pool_block *next;
	size_t used;
	size_t size;
	/* The data follows, aligned. */
	max_align_t data[];
};

struct mime_pool {
	struct mime_pool_block *blocks;
};

struct mime_pool *mime_pool_create(void)
{
	return mem_alloc(sizeof(struct mime_pool));
}

void mime_pool_free(struct mime_pool **pool)
{
	struct mime_pool_block *b, *next;

	if (*pool == NULL)
		return;
	for (b = (*pool)->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	mem_free(*pool);
}

void *mime_pool_alloc(struct mime_pool *pool, size_t size)
{
	struct mime_pool_block *b = pool->blocks;
	size_t align = sizeof(max_align_t), bsize;
	void *p;

	if (size > SIZE_MAX - align)
		msg_panic("mime_pool_alloc: size overflow");
	size = (size + align - 1) / align * align;
	if (b == NULL || b->size - b->used < size) {
		bsize = size > MIME_POOL_BLOCK / 4 ? size : MIME_POOL_BLOCK;
		b = mem_alloc(sizeof(*b) + bsize);
		b->size = bsize;
		if (size > MIME_POOL_BLOCK / 4 && pool->blocks != NULL) {
			/* A big one: keep the current block current. */
			b->next = pool->blocks->next;
			pool->blocks->next = b;
		} else {
			b->next = pool->blocks;
			pool->blocks = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *mime_pool_strndup(struct mime_pool *pool, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		msg_panic("mime_pool_strndup: size overflow");
	p = mime_pool_alloc(pool, len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *mime_pool_unfold(struct mime_pool *pool, const char *value,
		       size_t len, size_t max)
{
	struct str tmp = STR_INIT;
	char *p;

	if (len > max)
		len = max;
	mime_header_unfold(value, len, &tmp);
	p = mime_pool_strndup(pool, str_c(&tmp), tmp.len);
	str_release(&tmp);
	return p;
}

void mime_message_free(struct mime_message **msg)
{
	if (*msg == NULL)
		return;
	mime_pool_free(&(*msg)->pool);
	mem_free((*msg)->checkpoints);
	mem_free(*msg);
}

size_t mime_range_vsize(const struct mime_range *range)
{
	return range->end.off - range->start.off +
		range->end.bare_lf - range->start.bare_lf;
}

size_t mime_range_lines(const struct mime_range *range)
{
	return range->end.lines - range->start.lines;
}

size_t mime_part_body_vsize(const struct mime_part *part)
{
	struct mime_range r = { part->body, part->end };

	return mime_range_vsize(&r);
}

size_t mime_part_body_lines(const struct mime_part *part)
{
	return part->end.lines - part->body.lines;
}

bool mime_part_is_type(const struct mime_part *part, const char *type,
		       const char *subtype)
{
	return strcasecmp(part->type, type) == 0 &&
		(subtype == NULL || strcasecmp(part->subtype, subtype) == 0);
}

/* One component of a section number: 1 to 2^32-1, no leading zero. */
static bool mime_section_number(const char **p, unsigned long *num_r)
{
	const char *s = *p;
	unsigned long n = 0;

	if (*s < '1' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > 0xffffffffUL)
			return false;
		s++;
	}
	*p = s;
	*num_r = n;
	return true;
}

/* Resolve path; *message_r is true for "" (the message itself, as
 * opposed to its part 1). */
static int mime_section_lookup(const struct mime_message *msg,
			       const char *path,
			       const struct mime_part **part_r,
			       bool *message_r)
{
	const struct mime_part *part = msg->root;
	unsigned long num;
	bool found = true, message = true;

	*part_r = NULL;
	*message_r = *path == '\0';
	if (*path == '\0') {
		*part_r = part;
		return 1;
	}
	for (;;) {
		if (!mime_section_number(&path, &num))
			return -1;
		if (*path != '\0' && (*path != '.' || path[1] == '\0'))
			return -1;
		if (!found) {
			/* Keep checking the syntax. */
		} else {
			/* A number on a message/rfc822 part (other than the
			 * message itself) counts inside what it holds. */
			if (!message &&
			    (part->flags & MIME_PART_MESSAGE) != 0) {
				part = part->children;
				message = true;
			}
			if ((part->flags & MIME_PART_MULTIPART) != 0) {
				for (part = part->children;
				     part != NULL && num > 1; num--)
					part = part->next;
				found = part != NULL;
			} else if (num != 1 ||
				   (part == msg->root && !message)) {
				/* 1 stays on a part that is no multipart,
				 * but the message's own body is only "1"
				 * (what Dovecot answers). */
				found = false;
			}
			message = false;
		}
		if (*path == '\0')
			break;
		path++;
	}
	if (!found)
		return 0;
	*part_r = part;
	return 1;
}

int mime_section_find(const struct mime_message *msg, const char *path,
		      const struct mime_part **part_r)
{
	bool message;

	return mime_section_lookup(msg, path, part_r, &message);
}

/* The message whose header HEADER, HEADER.FIELDS and TEXT use: the
 * message itself, or the one a message/rfc822 part holds; NULL for
 * other parts (Dovecot answers those with an empty string). */
static const struct mime_part *mime_section_inner(const struct mime_part *part,
						  bool message)
{
	if (message)
		return part;
	if ((part->flags & MIME_PART_MESSAGE) != 0)
		return part->children;
	return NULL;
}

struct mime_pos mime_header_end(const struct mime_message *msg,
				const struct mime_part *part)
{
	struct mime_pos end = part->body;
	const char *d = msg->data;

	if ((part->flags & MIME_PART_HEADER_AT_BOUNDARY) == 0 ||
	    end.off == part->header.off || d[end.off - 1] != '\n')
		return end;
	end.off--;
	end.lines--;
	if (end.off > part->header.off && d[end.off - 1] == '\r')
		end.off--;
	else
		end.bare_lf--;
	return end;
}

int mime_section_range(const struct mime_message *msg, const char *path,
		       enum mime_section section, struct mime_range *range_r)
{
	const struct mime_part *part, *inner;
	bool message;
	int ret;

	ret = mime_section_lookup(msg, path, &part, &message);
	if (ret <= 0)
		return ret;
	inner = mime_section_inner(part, message);
	if (inner == NULL && (section == MIME_SECTION_HEADER ||
			      section == MIME_SECTION_TEXT))
		return 0;
	switch (section) {
	case MIME_SECTION_ALL:
		range_r->start = message ? part->header : part->body;
		range_r->end = part->end;
		return 1;
	case MIME_SECTION_HEADER:
		range_r->start = inner->header;
		range_r->end = mime_header_end(msg, inner);
		return 1;
	case MIME_SECTION_TEXT:
		range_r->start = inner->body;
		range_r->end = inner->end;
		return 1;
	case MIME_SECTION_MIME:
		if (message)
			return -1;
		range_r->start = part->header;
		range_r->end = mime_header_end(msg, part);
		return 1;
	}
	return -1;
}

int mime_section_header_part(const struct mime_message *msg,
			     const char *path,
			     const struct mime_part **part_r)
{
	const struct mime_part *part;
	bool message;
	int ret;

	ret = mime_section_lookup(msg, path, &part, &message);
	if (ret <= 0)
		return ret;
	*part_r = mime_section_inner(part, message);
	return *part_r == NULL ? 0 : 1;
}

static bool mime_bare_lf_at(const char *data, size_t i)
{
	return data[i] == '\n' && (i == 0 || data[i - 1] != '\r');
}

void mime_append_crlf(struct str *out, const char *in, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) {
			str_append_n(out, in + start, i - start);
			str_append_n(out, "\r\n", 2);
			start = i + 1;
		}
	}
	str_append_n(out, in + start, len - start);
}

/* The raw position where the CRLF view of the message reaches vtarget,
 * at or after from. *half_r: vtarget falls between the CR we insert and
 * its bare LF (so the copy starts with that LF alone). */
static size_t mime_seek(const struct mime_message *msg,
			const struct mime_pos *from, size_t vtarget,
			bool *half_r)
{
	size_t lo = 0, hi = msg->checkpoint_count, p, bare, v;

	p = from->off;
	bare = from->bare_lf;
	/* The last checkpoint at or before vtarget, if past from. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mime_checkpoint *c = &msg->checkpoints[mid];

		if (c->off + c->bare_lf <= vtarget)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && msg->checkpoints[lo - 1].off > p) {
		p = msg->checkpoints[lo - 1].off;
		bare = msg->checkpoints[lo - 1].bare_lf;
	}
	*half_r = false;
	for (; p < msg->size; p++) {
		v = p + bare;
		if (v >= vtarget)
			break;
		if (mime_bare_lf_at(msg->data, p)) {
			if (v + 1 == vtarget) {
				*half_r = true;
				break;
			}
			bare++;
		}
	}
	return p;
}

void mime_range_write(const struct mime_message *msg,
		      const struct mime_range *range, size_t offset,
		      size_t count, struct str *out)
{
	size_t vsize = mime_range_vsize(range), vstart, p, i, start, left;
	bool half;

	if (offset >= vsize)
		return;
	left = vsize - offset;
	if (count > left)
		count = left;
	if (count == 0)
		return;
	vstart = range->start.off + range->start.bare_lf + offset;
	p = offset == 0 ? range->start.off :
		mime_seek(msg, &range->start, vstart, &half);
	if (offset == 0)
		half = false;
	str_reserve(out, count);
	if (half) {
		str_append_c(out, '\n');
		p++;
		count--;
	}
	start = p;
	for (i = p; count > 0; i++) {
		if (mime_bare_lf_at(msg->data, i)) {
			str_append_n(out, msg->data + start, i - start);
			if (count == 1) {
				str_append_c(out, '\r');
				return;
			}
			str_append_n(out, "\r\n", 2);
			count -= 2;
			start = i + 1;
		} else {
			count--;
		}
	}
	str_append_n(out, msg->data + start, i - start);
}
