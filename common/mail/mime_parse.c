/*
 * mime_parse: split a message into its MIME parts (mime_parse() in
 * mime.h), RFC 2045-2049.
 *
 * One forward pass over the lines of the message. A part is its header
 * (up to a blank line), then by its Content-Type: a multipart (a
 * preamble, children each after a "--boundary" line, a "--boundary--"
 * line, an epilogue), a message/rfc822 (one child: the encapsulated
 * message, which ends where its enclosing part ends), or a leaf. Every
 * part ends at a boundary line of an enclosing multipart or at the end of
 * the message: boundary lines are recognised at any depth, innermost
 * first, by prefix (as Dovecot and most clients do), and also inside
 * headers, so a broken inner part never swallows its parent's next
 * boundary. A multipart whose closing boundary never comes ends where
 * its parent's next boundary (or the message) does.
 *
 * The line scanner keeps running counts of lines and bare LFs, so each
 * recorded position knows its place in the CRLF view (struct mime_pos),
 * and it drops a checkpoint every MIME_CHECKPOINT_STEP bytes for
 * mime_range_write().
 *
 * SECURITY: the message is untrusted and may be hostile (a MIME bomb:
 * Dovecot's CVE-2020-12100). Limits (struct mime_limits) bound the
 * nesting depth and the number of parts; past them nothing more is
 * split, the text stays in the enclosing part, and the message is marked
 * limited. Recursion is one C frame per nesting level, bounded by
 * max_depth (itself capped at MIME_HARD_MAX_DEPTH). Only Content-* fields
 * within max_header_size of their header's start are interpreted, at
 * most max_field_size bytes of each. Every byte is visited a bounded
 * number of times: linear time.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"
#include "mime_impl.h"

struct mime_boundary {
	const char *text;
	size_t len;
};

struct mime_parser {
	struct mime_message *msg;
	const char *data;
	size_t size;
	struct mime_limits limits;

	/* The line scanner: pos is the start of the current line; lines
	 * and bare_lf count what lies before it; prev_eol is the length
	 * of the line end just before pos (0 at the start). */
	struct mime_pos pos;
	size_t prev_eol;
	size_t next_checkpoint;
	size_t checkpoint_cap;

	/* The boundaries of the open multiparts, outermost first. */
	struct mime_boundary *bounds;
	unsigned bound_count;
};

/* What stopped a scan: the end of the message, or a boundary line of
 * the open multipart at index level. */
struct mime_stop {
	bool eof;
	unsigned level;
	bool close;		/* "--boundary--" */
};

static void mime_checkpoint(struct mime_parser *p)
{
	struct mime_message *msg = p->msg;

	if (msg->checkpoint_count == p->checkpoint_cap) {
		p->checkpoint_cap = p->checkpoint_cap == 0 ? 16 :
			p->checkpoint_cap * 2;
		msg->checkpoints = mem_array_realloc(msg->checkpoints,
			p->checkpoint_cap, sizeof(*msg->checkpoints));
	}
	msg->checkpoints[msg->checkpoint_count].off = p->pos.off;
	msg->checkpoints[msg->checkpoint_count].bare_lf = p->pos.bare_lf;
	msg->checkpoint_count++;
	p->next_checkpoint = p->pos.off + MIME_CHECKPOINT_STEP;
}

/* The current line: its length without the line end, and the line end's
 * length (0 for a last line without one). */
static size_t mime_line(const struct mime_parser *p, size_t *eol_r)
{
	const char *s = p->data + p->pos.off, *lf;
	size_t left = p->size - p->pos.off, len;

	lf = memchr(s, '\n', left);
	if (lf == NULL) {
		*eol_r = 0;
		return left;
	}
	len = (size_t)(lf - s);
	if (len > 0 && s[len - 1] == '\r') {
		*eol_r = 2;
		return len - 1;
	}
	*eol_r = 1;
	return len;
}

static void mime_advance(struct mime_parser *p, size_t len, size_t eol)
{
	p->pos.off += len + eol;
	if (eol > 0)
		p->pos.lines++;
	if (eol == 1)
		p->pos.bare_lf++;
	p->prev_eol = eol;
	if (p->pos.off >= p->next_checkpoint && p->pos.off < p->size)
		mime_checkpoint(p);
}

/* Is the current line (len bytes) a boundary of an open multipart?
 * Innermost first. */
static bool mime_is_boundary(const struct mime_parser *p, size_t len,
			     struct mime_stop *stop)
{
	const char *s = p->data + p->pos.off;
	unsigned i;

	if (len < 2 || s[0] != '-' || s[1] != '-')
		return false;
	for (i = p->bound_count; i-- > 0;) {
		const struct mime_boundary *b = &p->bounds[i];

		if (len - 2 >= b->len && memcmp(s + 2, b->text, b->len) == 0) {
			stop->eof = false;
			stop->level = i;
			stop->close = len - 2 - b->len >= 2 &&
				s[2 + b->len] == '-' && s[3 + b->len] == '-';
			return true;
		}
	}
	return false;
}

/* Skip lines up to a boundary line (left unread) or the end. */
static void mime_scan_body(struct mime_parser *p, struct mime_stop *stop)
{
	size_t len, eol;

	while (p->pos.off < p->size) {
		len = mime_line(p, &eol);
		if (p->bound_count > 0 && mime_is_boundary(p, len, stop))
			return;
		mime_advance(p, len, eol);
	}
	stop->eof = true;
}

/* Where a part that began its body at start ends, given that the scan
 * stopped at the current line: before the line end preceding a
 * boundary, or at the end of the message. */
static struct mime_pos mime_end_pos(const struct mime_parser *p,
				    const struct mime_stop *stop,
				    const struct mime_pos *start)
{
	struct mime_pos end = p->pos;

	if (stop->eof || end.off == start->off || p->prev_eol == 0)
		return end;
	end.off -= p->prev_eol;
	end.lines--;
	if (p->prev_eol == 1)
		end.bare_lf--;
	return end;
}

static struct mime_part *mime_new_part(struct mime_parser *p,
				       struct mime_part *parent)
{
	struct mime_part *part;

	part = mime_pool_alloc(p->msg->pool, sizeof(*part));
	part->parent = parent;
	part->type = "text";
	part->subtype = "plain";
	part->flags = MIME_PART_DEFAULT_TYPE;
	if (parent != NULL) {
		/* The caller links it (in constant time). */
		part->depth = parent->depth + 1;
		parent->child_count++;
		if ((parent->flags & MIME_PART_MULTIPART) != 0 &&
		    strcasecmp(parent->subtype, "digest") == 0) {
			part->type = "message";
			part->subtype = "rfc822";
		}
	}
	p->msg->part_count++;
	return part;
}

static bool mime_field_is(const struct mime_field *f, const char *name)
{
	return f->name_len == strlen(name) &&
		strncasecmp(f->name, name, f->name_len) == 0;
}

static void mime_content_type(struct mime_parser *p, struct mime_part *part,
			      const char *v, size_t len)
{
	const char *type, *subtype;
	struct mime_params params;

	if (!mime_param_content_type(p->msg->pool, v, len, &type, &subtype,
				     &params))
		return;	/* RFC 2045 5.2: invalid means the default */
	part->type = type;
	part->subtype = subtype;
	part->params = params;
	part->flags &= ~MIME_PART_DEFAULT_TYPE;
}

static void mime_languages(struct mime_parser *p, struct mime_part *part,
			   const char *v)
{
	const char *tags[MIME_MAX_PARAMS];
	unsigned n = 0;
	size_t i = 0, len = strlen(v), start;

	while (i < len && n < MIME_MAX_PARAMS) {
		i = mime_skip_cfws(v, len, i);
		start = i;
		while (i < len && v[i] != ',' && v[i] != '(' &&
		       !mime_is_wsp((unsigned char)v[i]))
			i++;
		if (i > start)
			tags[n++] = mime_pool_strndup(p->msg->pool, v + start,
						      i - start);
		i = mime_skip_cfws(v, len, i);
		if (i < len && v[i] == ',')
			i++;
		else if (i < len && i == start)
			i++;	/* junk */
	}
	if (n == 0)
		return;
	part->languages = mime_pool_alloc(p->msg->pool, n * sizeof(*tags));
	memcpy(part->languages, tags, n * sizeof(*tags));
	part->language_count = n;
}

/* The first token of a value (Content-Transfer-Encoding). */
static const char *mime_token(struct mime_parser *p, const char *v,
			      size_t len)
{
	size_t i = mime_skip_cfws(v, len, 0), start = i;

	while (i < len && mime_is_token_char((unsigned char)v[i]))
		i++;
	return i > start ? mime_pool_strndup(p->msg->pool, v + start,
					     i - start) : NULL;
}

/* Interpret one Content-* field (the first of each name wins). */
static void mime_field(struct mime_parser *p, struct mime_part *part,
		       const struct mime_field *f, bool *type_seen)
{
	struct mime_pool *pool = p->msg->pool;
	size_t len = f->value_len;
	const char *v = f->value;
	const char **slot = NULL;

	if (f->name_len < 8 || strncasecmp(f->name, "content-", 8) != 0)
		return;
	if (len > p->limits.max_field_size)
		len = p->limits.max_field_size;
	if (mime_field_is(f, "content-type")) {
		if (!*type_seen)
			mime_content_type(p, part, v, len);
		*type_seen = true;
	} else if (mime_field_is(f, "content-transfer-encoding")) {
		if (part->encoding == NULL)
			part->encoding = mime_token(p, v, len);
	} else if (mime_field_is(f, "content-disposition")) {
		if (part->disposition == NULL)
			mime_param_token_params(pool, v, len,
						&part->disposition,
						&part->disposition_params);
	} else if (mime_field_is(f, "content-language")) {
		if (part->languages == NULL)
			mime_languages(p, part,
				       mime_pool_unfold(pool, v, len, len));
	} else if (mime_field_is(f, "content-id")) {
		slot = &part->id;
	} else if (mime_field_is(f, "content-description")) {
		slot = &part->description;
	} else if (mime_field_is(f, "content-md5")) {
		slot = &part->md5;
	} else if (mime_field_is(f, "content-location")) {
		slot = &part->location;
	}
	if (slot != NULL && *slot == NULL)
		*slot = mime_pool_unfold(pool, v, len, len);
}

/* Read the header of part, from the current line to its blank line
 * (consumed), a boundary line (left unread) or the end. */
static void mime_parse_header(struct mime_parser *p, struct mime_part *part,
			      struct mime_stop *stop)
{
	struct mime_header_iter iter;
	struct mime_field f;
	const struct mime_param *b;
	size_t start = p->pos.off, len, eol, end;
	bool type_seen = false;

	stop->eof = false;
	stop->level = (unsigned)-1;
	for (;;) {
		if (p->pos.off >= p->size) {
			stop->eof = true;
			end = p->pos.off;
			break;
		}
		len = mime_line(p, &eol);
		if (len == 0 && eol > 0) {
			end = p->pos.off;
			mime_advance(p, len, eol);
			break;
		}
		if (p->bound_count > 0 && mime_is_boundary(p, len, stop)) {
			end = p->pos.off;
			break;
		}
		mime_advance(p, len, eol);
	}
	/* The header's fields, now that its end is known. */
	if (end - start > p->limits.max_header_size)
		end = start + p->limits.max_header_size;
	mime_header_iter_init(&iter, p->data, start, end);
	while (mime_header_next(&iter, &f))
		if (f.has_colon)
			mime_field(p, part, &f, &type_seen);
	b = mime_params_find(&part->params, "boundary");
	if (b != NULL && !b->extended &&
	    mime_part_is_type(part, "multipart", NULL))
		part->boundary = b->value;
}

static void mime_parse_part(struct mime_parser *p, struct mime_part *part,
			    struct mime_stop *stop);

/* The body of a multipart, from after its header. */
static void mime_parse_multipart(struct mime_parser *p,
				 struct mime_part *part,
				 struct mime_stop *stop)
{
	unsigned level = p->bound_count;
	struct mime_part *child = NULL, **tail = &part->children;

	p->bounds[level].text = part->boundary;
	p->bounds[level].len = strlen(part->boundary);
	p->bound_count++;
	mime_scan_body(p, stop);	/* the preamble */
	while (!stop->eof && stop->level == level && !stop->close) {
		size_t len, eol;

		len = mime_line(p, &eol);
		mime_advance(p, len, eol);	/* the boundary line */
		if (p->msg->part_count >= p->limits.max_parts) {
			/* No more parts: the rest is epilogue. */
			p->msg->limited = true;
			break;
		}
		child = mime_new_part(p, part);
		*tail = child;
		tail = &child->next;
		mime_parse_part(p, child, stop);
	}
	p->bound_count = level;
	if (!stop->eof && stop->level == level) {
		/* Past our own boundary line: the epilogue. A close line
		 * is consumed; after the part limit the delimiter line was
		 * consumed already. */
		if (stop->close) {
			size_t len, eol;

			len = mime_line(p, &eol);
			mime_advance(p, len, eol);
		}
		mime_scan_body(p, stop);
	}
	part->end = mime_end_pos(p, stop, &part->body);
	if (child != NULL && child->end.off > part->end.off) {
		/* The last part's header ran up to the boundary and kept
		 * the line end before it: so does its parent. */
		part->end = child->end;
	}
}

static void mime_parse_part(struct mime_parser *p, struct mime_part *part,
			    struct mime_stop *stop)
{
	bool deeper;

	part->header = p->pos;
	mime_parse_header(p, part, stop);
	part->body = p->pos;
	if (!stop->eof && stop->level != (unsigned)-1) {
		/* A boundary ended the header: no body. The header keeps
		 * its last line end (Dovecot counts it there too). */
		part->end = part->body;
		part->flags |= MIME_PART_HEADER_AT_BOUNDARY;
		return;
	}
	deeper = part->depth + 1 < p->limits.max_depth;
	if (mime_part_is_type(part, "multipart", NULL)) {
		if (part->boundary == NULL || part->boundary[0] == '\0' ||
		    strlen(part->boundary) > MIME_MAX_BOUNDARY) {
			/* No usable boundary: a multipart without parts,
			 * its body unsplit (what Dovecot shows). */
			part->boundary = NULL;
			part->flags |= MIME_PART_MULTIPART;
		} else if (!deeper) {
			part->flags |= MIME_PART_LIMITED;
			p->msg->limited = true;
		} else {
			part->flags |= MIME_PART_MULTIPART;
			mime_parse_multipart(p, part, stop);
			return;
		}
	} else if (mime_part_is_type(part, "message", "rfc822")) {
		/* Whatever its Content-Transfer-Encoding says (it may only
		 * be 7bit, 8bit or binary): as Dovecot, so the structure
		 * always has the envelope and body IMAP wants here. */
		if (!deeper || p->msg->part_count >= p->limits.max_parts) {
			part->flags |= MIME_PART_LIMITED;
			p->msg->limited = true;
		} else {
			struct mime_part *child = mime_new_part(p, part);

			part->children = child;
			part->flags |= MIME_PART_MESSAGE;
			mime_parse_part(p, child, stop);
			part->end = child->end;
			return;
		}
	}
	mime_scan_body(p, stop);
	part->end = mime_end_pos(p, stop, &part->body);
	if (!stop->eof && part->end.off == part->body.off &&
	    part->body.off > part->header.off)
		part->flags |= MIME_PART_HEADER_AT_BOUNDARY;
}

struct mime_message *mime_parse(const char *data, size_t size,
				const struct mime_limits *limits)
{
	struct mime_parser p;
	struct mime_message *msg = mem_alloc(sizeof(*msg));
	struct mime_stop stop;

	memset(&p, 0, sizeof(p));
	if (data == NULL)
		data = "";	/* no arithmetic on NULL below */
	if (limits != NULL)
		p.limits = *limits;
	if (p.limits.max_depth == 0)
		p.limits.max_depth = MIME_MAX_DEPTH;
	if (p.limits.max_depth > MIME_HARD_MAX_DEPTH)
		p.limits.max_depth = MIME_HARD_MAX_DEPTH;
	if (p.limits.max_parts == 0)
		p.limits.max_parts = MIME_MAX_PARTS;
	if (p.limits.max_header_size == 0)
		p.limits.max_header_size = MIME_MAX_HEADER_SIZE;
	if (p.limits.max_field_size == 0)
		p.limits.max_field_size = MIME_MAX_FIELD_SIZE;
	msg->data = data;
	msg->size = size;
	msg->pool = mime_pool_create();
	p.msg = msg;
	p.data = data;
	p.size = size;
	p.next_checkpoint = MIME_CHECKPOINT_STEP;
	/* At most one open multipart per level. */
	p.bounds = mem_array(p.limits.max_depth + 1, sizeof(*p.bounds));

	msg->root = mime_new_part(&p, NULL);
	mime_parse_part(&p, msg->root, &stop);
	if (msg->root->end.off != size)
		msg_panic("mime_parse: message ends at %zu of %zu",
			  msg->root->end.off, size);
	mem_free(p.bounds);
	return msg;
}
