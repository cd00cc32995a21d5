/*
 * fuzz_mime: libFuzzer target for the MIME library (common/mail/mime*.c).
 *
 * Input: a message. The first byte, if the input is long enough, picks
 * small limits (low bits: max_depth 1-8, next bits: max_parts) so the
 * limit paths are fuzzed as well as the defaults (bit 7 clear: the
 * defaults). Besides "no crash", it checks what the library promises:
 * the tree's ranges nest inside the message and each other, positions
 * carry the right line and bare-LF counts, part counts and depths stay
 * within the limits, BODYSTRUCTURE/BODY/ENVELOPE have balanced
 * parentheses, every part's sections are found again by number, a
 * partial fetch equals the same slice of the whole, and the decoders
 * (RFC 2047, RFC 2231 parameters, base64, quoted-printable, BINARY) give
 * valid UTF-8 where they say they do.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "mime.h"

/* Lines and bare LFs before each offset, counted the slow way once. */
static size_t *pos_lines, *pos_bare;

static void count_positions(const char *data, size_t size)
{
	size_t i;

	pos_lines = mem_array(size + 1, sizeof(size_t));
	pos_bare = mem_array(size + 1, sizeof(size_t));
	for (i = 0; i < size; i++) {
		pos_lines[i + 1] = pos_lines[i];
		pos_bare[i + 1] = pos_bare[i];
		if (data[i] == '\n') {
			pos_lines[i + 1]++;
			if (i == 0 || data[i - 1] != '\r')
				pos_bare[i + 1]++;
		}
	}
}

static void check_pos(const struct mime_pos *pos)
{
	if (pos->lines != pos_lines[pos->off] ||
	    pos->bare_lf != pos_bare[pos->off])
		abort();
}

static unsigned check_part(const struct mime_message *msg,
			   const struct mime_part *part, unsigned max_depth)
{
	const struct mime_part *c;
	size_t prev = part->body.off;
	unsigned n = 1, children = 0;

	if (part->header.off > part->body.off ||
	    part->body.off > part->end.off || part->end.off > msg->size ||
	    part->depth >= max_depth)
		abort();
	check_pos(&part->header);
	check_pos(&part->body);
	check_pos(&part->end);
	for (c = part->children; c != NULL; c = c->next) {
		if (c->parent != part || c->depth != part->depth + 1 ||
		    c->header.off < prev || c->end.off > part->end.off)
			abort();
		prev = c->end.off;
		n += check_part(msg, c, max_depth);
		children++;
	}
	if (children != part->child_count)
		abort();
	return n;
}

static void check_balanced(const struct str *s)
{
	long depth = 0;
	size_t i;
	bool quoted = false;

	for (i = 0; i < s->len; i++) {
		char c = s->data[i];

		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
			else if (c == '\r' || c == '\n' || c == '\0')
				abort();
		} else if (c == '"') {
			quoted = true;
		} else if (c == '{') {
			char *end;
			unsigned long n = strtoul(s->data + i + 1, &end, 10);

			if (end[0] != '}' || end[1] != '\r' || end[2] != '\n' ||
			    (size_t)(end + 3 - s->data) + n > s->len)
				abort();
			i = (size_t)(end + 2 - s->data) + n;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (--depth < 0)
				abort();
		}
	}
	if (quoted || depth != 0)
		abort();
}

static void check_utf8(const struct str *s)
{
	struct str tmp = STR_INIT;

	mime_utf8_sanitize(s->data == NULL ? "" : s->data, s->len, &tmp);
	if (tmp.len != s->len ||
	    (s->len > 0 && memcmp(tmp.data, s->data, s->len) != 0))
		abort();
	str_release(&tmp);
}

/* The IMAP section number of part (the inverse of mime_section_find):
 * the message itself is "1" unless it is a multipart; a multipart's
 * children are numbered under it; the encapsulated message of a
 * message/rfc822 part X is X.1 unless it is a multipart, whose children
 * are then numbered under X. Returns false for the parts that have no
 * number of their own (a multipart message). */
static bool number_of(const struct mime_message *msg,
		      const struct mime_part *part, struct str *out)
{
	const struct mime_part *p = part->parent, *c;
	bool multipart = (part->flags & MIME_PART_MULTIPART) != 0;
	unsigned n;

	str_clear(out);
	if (part == msg->root) {
		if (!multipart)
			str_append(out, "1");
		return !multipart;
	}
	if ((p->flags & MIME_PART_MESSAGE) != 0) {
		number_of(msg, p, out);
		if (!multipart)
			str_append(out, ".1");
		return !multipart;
	}
	if (p != msg->root)
		number_of(msg, p, out);
	for (n = 1, c = p->children; c != part; c = c->next)
		n++;
	if (out->len > 0)
		str_append_c(out, '.');
	str_printf(out, "%u", n);
	return true;
}

static void check_sections(const struct mime_message *msg,
			   const struct mime_part *part)
{
	const struct mime_part *c, *found;
	struct str path = STR_INIT, whole = STR_INIT, piece = STR_INIT;
	struct mime_range r;
	const char *error;
	size_t vsize;

	if (number_of(msg, part, &path) &&
	    (mime_section_find(msg, str_c(&path), &found) != 1 ||
	     found != part))
		abort();
	if (mime_section_range(msg, str_c(&path), MIME_SECTION_ALL, &r) == 1) {
		vsize = mime_range_vsize(&r);
		mime_range_write(msg, &r, 0, SIZE_MAX, &whole);
		if (whole.len != vsize)
			abort();
		if (vsize > 2) {
			mime_range_write(msg, &r, vsize / 3, vsize / 2, &piece);
			if (piece.len != vsize / 2 ||
			    memcmp(piece.data, whole.data + vsize / 3,
				   piece.len) != 0)
				abort();
		}
	}
	str_clear(&whole);
	if (mime_part_decode(msg, part, &whole, &error) < 0 && error == NULL)
		abort();
	if (part->disposition_params.count > 0) {
		str_clear(&whole);
		mime_param_decode(&part->disposition_params.items[0], &whole);
		check_utf8(&whole);
	}
	for (c = part->children; c != NULL; c = c->next)
		check_sections(msg, c);
	str_release(&path);
	str_release(&whole);
	str_release(&piece);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_mime");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits limits = { 0 };
	struct mime_message *msg;
	struct str out = STR_INIT;
	const char *names[] = { "subject", "from", "content-type" };
	const struct mime_part *part;
	unsigned max_depth = MIME_MAX_DEPTH, max_parts = MIME_MAX_PARTS;
	char *copy;

	if (size > 0 && (data[0] & 0x80) != 0) {
		limits.max_depth = max_depth = 1 + (data[0] & 7);
		limits.max_parts = max_parts = 1 + ((data[0] >> 3) & 15);
		limits.max_field_size = 1 + data[0];
		data++;
		size--;
	}
	/* A heap copy of exactly size bytes, so reading past the end is
	 * an ASan report. */
	copy = mem_dup(data, size);
	count_positions(copy, size);
	msg = mime_parse(copy, size, &limits);
	if (msg->root->header.off != 0 || msg->root->end.off != size ||
	    msg->part_count > max_parts ||
	    check_part(msg, msg->root, max_depth) != msg->part_count)
		abort();

	mime_imap_bodystructure(msg, msg->root, true, 0, &out);
	check_balanced(&out);
	str_clear(&out);
	mime_imap_bodystructure(msg, msg->root, false, MIME_IMAP_UTF8, &out);
	check_balanced(&out);
	str_clear(&out);
	mime_imap_envelope(msg, msg->root, 0, &out);
	check_balanced(&out);
	check_sections(msg, msg->root);
	/* PREVIEW: valid UTF-8, at most 256 characters, trimmed. */
	str_clear(&out);
	mime_preview(msg, &out);
	check_utf8(&out);
	{
		size_t chars = 0;

		for (size_t i = 0; i < out.len; i++)
			chars += ((unsigned char)out.data[i] & 0xc0) != 0x80;
		if (chars > MIME_PREVIEW_CHARS ||
		    (out.len > 0 && (out.data[0] == ' ' ||
				     out.data[out.len - 1] == ' ')))
			abort();
	}

	if (mime_section_header_part(msg, "", &part) != 1)
		abort();
	str_clear(&out);
	mime_header_fields(msg, part, names, 3, size % 2 == 0, &out);
	if (out.len > 0 &&
	    (out.len < 2 || memcmp(out.data + out.len - 2, "\r\n", 2) != 0))
		abort();
	str_clear(&out);
	mime_header_decode(copy, size, &out);
	check_utf8(&out);
	str_clear(&out);
	mime_base64_decode(copy, size, &out);
	if (out.len > size)
		abort();
	str_clear(&out);
	mime_qp_decode(copy, size, &out);
	str_clear(&out);
	/* Section numbers from the input itself. */
	if (size < 32) {
		char *path = fuzz_cstr(data, size);

		if (path != NULL) {
			mime_section_find(msg, path, &part);
			mem_free(path);
		}
	}
	str_release(&out);
	mime_message_free(&msg);
	mem_free(copy);
	mem_free(pos_lines);
	mem_free(pos_bare);
	return 0;
}
