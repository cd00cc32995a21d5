/*
 * Unit tests for the MIME library (common/mail/mime*.c) on the corpus of
 * odd messages in tests/data/mime: BODYSTRUCTURE, BODY and ENVELOPE
 * strings as RFC 3501 section 7.4.2 wants them (sizes in the CRLF view,
 * lines, defaults) and byte for byte as Dovecot 2.3.19 shows them for
 * the same files (its imap binary was run on a Maildir of the corpus;
 * the sections of imaptest's fetch-body-* and fetch-binary-* scripts
 * were checked by hand);
 * section lookup (RFC 3501 6.4.5, message/rfc822 nesting), HEADER,
 * TEXT, MIME, HEADER.FIELDS(.NOT), partial fetches at every offset,
 * BINARY; RFC 2047 and RFC 2231 decoding; base64, quoted-printable;
 * IMAP string quoting; every prefix of every corpus message (truncation
 * at each byte) keeps the tree's invariants; and MIME bombs (deep
 * nesting, huge part counts, boundary and encoded-word floods) are
 * bounded and finish in linear time (generous time bounds: a smoke
 * check for quadratic behaviour, not a benchmark).
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem.h"
#include "mime.h"
#include "test_util.h"

#ifndef MIME_TEST_DATA
#define MIME_TEST_DATA "tests/data/mime"
#endif

static char *load(const char *name, size_t *size_r)
{
	char path[512];
	FILE *f;
	char *buf;
	long len;

	ck_assert(str_snprintf(path, sizeof(path), "%s/%s", MIME_TEST_DATA,
			       name));
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	rewind(f);
	buf = mem_alloc((size_t)len + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*size_r = (size_t)len;
	return buf;
}

/* CPU time, not wall time: the bounds below must hold on a loaded
 * machine too. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds since t; with MIME_TEST_VERBOSE set, also printed. */
static double since(double t, const char *what)
{
	double d = now() - t;

	if (getenv("MIME_TEST_VERBOSE") != NULL)
		fprintf(stderr, "%s: %.3f s\n", what, d);
	return d;
}

/* Count lines and bare LFs in data[0..off) the slow way. */
static void check_pos(const char *data, const struct mime_pos *pos)
{
	size_t i, lines = 0, bare = 0;

	for (i = 0; i < pos->off; i++) {
		if (data[i] == '\n') {
			lines++;
			if (i == 0 || data[i - 1] != '\r')
				bare++;
		}
	}
	ck_assert_uint_eq(pos->lines, lines);
	ck_assert_uint_eq(pos->bare_lf, bare);
}

/* The tree's invariants: ranges nest and are ordered, counts are right,
 * flags agree with the children. Returns the number of parts. */
static unsigned check_part(const struct mime_message *msg,
			   const struct mime_part *part, bool slow)
{
	const struct mime_part *c;
	size_t prev_end = part->body.off;
	unsigned n = 1, children = 0;

	ck_assert_uint_le(part->header.off, part->body.off);
	ck_assert_uint_le(part->body.off, part->end.off);
	ck_assert_uint_le(part->end.off, msg->size);
	if (slow) {
		check_pos(msg->data, &part->header);
		check_pos(msg->data, &part->body);
		check_pos(msg->data, &part->end);
	}
	if ((part->flags & MIME_PART_MESSAGE) != 0) {
		ck_assert_ptr_nonnull(part->children);
		ck_assert_ptr_null(part->children->next);
	}
	if ((part->flags & (MIME_PART_MESSAGE | MIME_PART_MULTIPART)) == 0)
		ck_assert_ptr_null(part->children);
	for (c = part->children; c != NULL; c = c->next) {
		ck_assert_ptr_eq(c->parent, part);
		ck_assert_uint_eq(c->depth, part->depth + 1);
		ck_assert_uint_ge(c->header.off, prev_end);
		ck_assert_uint_le(c->end.off, part->end.off);
		prev_end = c->end.off;
		n += check_part(msg, c, slow);
		children++;
	}
	ck_assert_uint_eq(children, part->child_count);
	return n;
}

static void check_tree(const struct mime_message *msg, bool slow)
{
	ck_assert_uint_eq(msg->root->header.off, 0);
	ck_assert_uint_eq(msg->root->end.off, msg->size);
	ck_assert_uint_eq(check_part(msg, msg->root, slow), msg->part_count);
}

/* Parentheses balance outside quoted strings and literals. */
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
		} else if (c == '"') {
			quoted = true;
		} else if (c == '{') {
			size_t n = strtoul(s->data + i + 1, NULL, 10);

			i = (size_t)(strchr(s->data + i, '\n') - s->data) + n;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			ck_assert_int_gt(depth, 0);
			depth--;
		}
	}
	ck_assert(!quoted);
	ck_assert_int_eq(depth, 0);
}

struct expect {
	const char *file;
	const char *bodystructure;
	const char *body;
	const char *envelope;
};

static const struct expect expects[] = {
	{ "simple.eml",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 27 3"
	  " NIL NIL NIL NIL)",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	  "27 3)",
	  "(\"Wed, 02 Dec 2026 06:00:00 +0000\" \"Lunch?\" "
	  "((\"Alice Example\" NIL \"alice\" \"alice.test\")) "
	  "((\"Alice Example\" NIL \"alice\" \"alice.test\")) "
	  "((\"Alice Example\" NIL \"alice\" \"alice.test\")) "
	  "((\"Bob, the builder\" NIL \"bob\" \"marvel.test\")"
	  "(\"Carol C\" NIL \"carol\" \"marvel.test\")) "
	  "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL "
	  "\"<1000@marvel.test>\" \"<1234@alice.test>\")" },
	/* A multipart without a boundary has no parts (shown as one empty
	 * one), as in Dovecot. */
	{ "no_boundary.eml",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"
	  " NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)", NULL, NULL },
	/* The unclosed inner multipart ends at the outer boundary, the
	 * outer one at the end of the message. */
	{ "unclosed.eml",
	  "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 0 "
	  "NIL NIL NIL NIL)((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL"
	  " NIL \"7bit\" 9 0 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" "
	  "\"us-ascii\") NIL NIL \"7bit\" 16 0 NIL NIL NIL NIL) \"alternative\""
	  " (\"boundary\" \"inner\") NIL NIL NIL)(\"text\" \"plain\" "
	  "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 25 1 NIL NIL NIL NIL) "
	  "\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)", NULL, NULL },
	{ "nested.eml",
	  "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 414 (NIL \"middle\" "
	  "((\"Middle\" NIL \"middle\" \"example.com\")) ((\"Middle\" NIL "
	  "\"middle\" \"example.com\")) ((\"Middle\" NIL \"middle\" "
	  "\"example.com\")) NIL NIL NIL NIL NIL) ((\"text\" \"plain\" "
	  "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 0 NIL NIL NIL NIL)"
	  "(\"message\" \"rfc822\" NIL NIL \"the inner one\" \"7bit\" 105 "
	  "(NIL \"inner\" ((\"Inner\" NIL \"inner\" \"example.com\")) "
	  "((\"Inner\" NIL \"inner\" \"example.com\")) ((\"Inner\" NIL "
	  "\"inner\" \"example.com\")) NIL NIL NIL NIL \"<inner@example.com>\")"
	  " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21"
	  " 1 NIL NIL NIL NIL) 5 NIL (\"attachment\" (\"filename\" "
	  "\"inner.eml\")) NIL NIL) \"mixed\" (\"boundary\" \"mid\") NIL NIL "
	  "NIL) 21 NIL NIL NIL NIL)",
	  "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 414 (NIL \"middle\" "
	  "((\"Middle\" NIL \"middle\" \"example.com\")) ((\"Middle\" NIL "
	  "\"middle\" \"example.com\")) ((\"Middle\" NIL \"middle\" "
	  "\"example.com\")) NIL NIL NIL NIL NIL) ((\"text\" \"plain\" "
	  "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 0)(\"message\" "
	  "\"rfc822\" NIL NIL \"the inner one\" \"7bit\" 105 (NIL \"inner\" "
	  "((\"Inner\" NIL \"inner\" \"example.com\")) ((\"Inner\" NIL "
	  "\"inner\" \"example.com\")) ((\"Inner\" NIL \"inner\" "
	  "\"example.com\")) NIL NIL NIL NIL \"<inner@example.com>\") "
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 "
	  "1) 5) \"mixed\") 21)",
	  "(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"outer\" ((\"Outer\" NIL "
	  "\"outer\" \"example.com\")) ((\"Outer\" NIL \"outer\" "
	  "\"example.com\")) ((\"Outer\" NIL \"outer\" \"example.com\")) "
	  "((NIL NIL \"someone\" \"example.com\")) NIL NIL NIL NIL)" },
	/* RFC 2231 (Dovecot 2.3.19's output, byte for byte): plain
	 * parameters first, as written, duplicates kept; then the RFC 2231
	 * ones, continuations merged in section order, charset-encoded ones
	 * shown as "name*" ("%" of plain sections escaped into them); a
	 * text part without a plain charset gets us-ascii; RFC 2047 in a
	 * parameter is left for the client; Content-Language a list; all
	 * extension data. */
	{ "rfc2231.eml",
	  "((\"application\" \"octet-stream\" (\"name\" \"very long file "
	  "name.txt\") NIL NIL \"base64\" 8 NIL (\"attachment\" "
	  "(\"filename*\" \"utf-8''%E2%82%AC%20rates 100%25.txt\")) NIL NIL)"
	  "(\"text\" \"plain\" (\"format\" \"flowed\" \"charset*\" "
	  "\"iso-8859-1'en'%E9t%E9\" \"charset\" \"us-ascii\") "
	  "\"<part2@example.com>\" NIL \"7bit\" 4 0 "
	  "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" (\"filename\" \"abc\")) "
	  "(\"en\" \"de\") \"http://example.com/ x.txt\")(\"image\" \"png\" "
	  "(\"name\" \"=?UTF-8?B?4oKsLnBuZw==?=\" \"NAME\" \"dup\") NIL NIL "
	  "\"7bit\" 0 NIL (\"attachment\" (\"filename*\" "
	  "\"''plain%20name.png\")) NIL NIL) \"mixed\" (\"boundary\" \"b\") "
	  "NIL NIL NIL)",
	  "((\"application\" \"octet-stream\" (\"name\" \"very long file "
	  "name.txt\") NIL NIL \"base64\" 8)(\"text\" \"plain\" (\"format\" "
	  "\"flowed\" \"charset*\" \"iso-8859-1'en'%E9t%E9\" \"charset\" "
	  "\"us-ascii\") \"<part2@example.com>\" NIL \"7bit\" 4 0)(\"image\" "
	  "\"png\" (\"name\" \"=?UTF-8?B?4oKsLnBuZw==?=\" \"NAME\" \"dup\") "
	  "NIL NIL \"7bit\" 0) \"mixed\")", NULL },
	/* 8-bit header text goes out as literals (no UTF8=ACCEPT). */
	{ "eightbit.eml",
	  "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 9 1 "
	  "NIL NIL NIL NIL)", NULL,
	  "(NIL {11}\r\ncaf\xc3\xa9 \xff raw ((\"=?utf-8?q?J=C3=B6rg?=\" NIL "
	  "\"joerg\" \"example.com\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL "
	  "\"joerg\" \"example.com\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL "
	  "\"joerg\" \"example.com\")) (({5}\r\nRen\xc3\xa9 NIL \"rene\" "
	  "\"example.com\")(NIL NIL {3}\r\n\xe9t\xe9 \"example.com\")) NIL NIL "
	  "NIL NIL)" },
	/* Bare LF line ends: sizes as if CRLF. */
	{ "bare_lf.eml",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 16"
	  " 2 NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL"
	  " NIL \"7bit\" 8 0 NIL NIL NIL NIL) \"alternative\" (\"boundary\" "
	  "\"zz\") NIL NIL NIL)", NULL, NULL },
	{ "header_only.eml",
	  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"
	  " NIL NIL NIL NIL)", NULL,
	  "(NIL \"header only, no blank line\" ((NIL NIL \"h\" "
	  "\"example.com\")) ((NIL NIL \"h\" \"example.com\")) ((NIL NIL \"h\""
	  " \"example.com\")) NIL NIL NIL NIL NIL)" },
	/* imaptest's fetch-envelope message 4 and 5 (groups, a comment as
	 * the name, empty Sender and Reply-To), plus routes, quoting (a
	 * name with quotes is a literal, a quoted local part unquoted), a
	 * missing domain and the null address, as Dovecot 2.3.19 shows
	 * them. */
	{ "envelope.eml", NULL, NULL,
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((\"Real Name\" NIL "
	  "\"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "((\"Real Name\" NIL \"user\" \"domain\")) ((NIL NIL \"group\" NIL)"
	  "(NIL NIL \"g1\" \"d1.org\")(NIL NIL \"g2\" \"d2.org\")(NIL NIL NIL "
	  "NIL)(NIL NIL \"group2\" NIL)(NIL NIL \"g3\" \"d3.org\")(NIL NIL NIL"
	  " NIL)) ((NIL NIL \"group\" NIL)(NIL NIL NIL NIL)(NIL NIL "
	  "\"group2\" NIL)(NIL NIL NIL NIL)) ((NIL \"@route1,@route2\" "
	  "\"user\" \"domain\")({10}\r\nquoted \"x\" NIL \"q u\" \"d\")"
	  "(NIL NIL \"nodomain\" \"MISSING_DOMAIN\")(NIL NIL "
	  "\"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL NIL)" },
	/* multipart/digest: parts are message/rfc822 by default. */
	{ "digest.eml",
	  "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 44 (NIL \"m1\" "
	  "((NIL NIL \"m1\" \"example.com\")) ((NIL NIL \"m1\" "
	  "\"example.com\")) ((NIL NIL \"m1\" \"example.com\")) NIL NIL NIL "
	  "NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	  "\"7bit\" 7 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)(\"text\" \"plain\""
	  " (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 13 0 NIL NIL NIL NIL) "
	  "\"digest\" (\"boundary\" \"d\") NIL NIL NIL)", NULL, NULL },
	{ "encodings.eml",
	  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	  "\"quoted-printable\" 41 2 NIL NIL NIL NIL)(\"application\" "
	  "\"octet-stream\" NIL NIL NIL \"BASE64\" 10 NIL NIL NIL NIL)"
	  "(\"application\" \"octet-stream\" NIL NIL NIL \"x-uuencode\" 11 NIL"
	  " NIL NIL NIL) \"mixed\" (\"boundary\" \"e\") NIL NIL NIL)",
	  NULL, NULL },
};

START_TEST(test_corpus)
{
	const struct expect *e = &expects[_i];
	struct mime_message *msg;
	struct str out = STR_INIT;
	size_t size;
	char *data = load(e->file, &size);

	msg = mime_parse(data, size, NULL);
	check_tree(msg, true);
	ck_assert(!msg->limited);
	mime_imap_bodystructure(msg, msg->root, true, 0, &out);
	check_balanced(&out);
	if (e->bodystructure != NULL)
		ck_assert_str_eq(str_c(&out), e->bodystructure);
	str_clear(&out);
	mime_imap_bodystructure(msg, msg->root, false, 0, &out);
	check_balanced(&out);
	if (e->body != NULL)
		ck_assert_str_eq(str_c(&out), e->body);
	str_clear(&out);
	mime_imap_envelope(msg, msg->root, 0, &out);
	check_balanced(&out);
	if (e->envelope != NULL)
		ck_assert_str_eq(str_c(&out), e->envelope);
	str_release(&out);
	mime_message_free(&msg);
	ck_assert_ptr_null(msg);
	mem_free(data);
}
END_TEST

/* tests/data/mime/dovecot/NAME.{bodystructure,body,envelope,sections}
 * hold what Dovecot 2.3.19's imap answered for NAME.eml (run on a
 * Maildir of the corpus, see tests/data/mime/README); ours must be the
 * same, byte for byte. */
static void check_golden(const struct mime_message *msg, const char *name,
			 const char *kind)
{
	struct str out = STR_INIT;
	char file[256];
	size_t size;
	char *want;

	ck_assert(str_snprintf(file, sizeof(file), "dovecot/%s.%s", name,
			       kind));
	want = load(file, &size);
	if (strcmp(kind, "envelope") == 0)
		mime_imap_envelope(msg, msg->root, 0, &out);
	else
		mime_imap_bodystructure(msg, msg->root,
					strcmp(kind, "bodystructure") == 0, 0,
					&out);
	ck_assert_msg(out.len == size && memcmp(out.data, want, size) == 0,
		      "%s: %s differs from Dovecot's:\n%s\n%s", name, kind,
		      str_c(&out), want);
	str_release(&out);
	mem_free(want);
}

/* One BODY[...] or BINARY[...] of msg the way imapd would answer it
 * (an empty string for a section that does not exist). */
static void fetch_section(const struct mime_message *msg, const char *kind,
			  const char *path, const char *sec, struct str *out)
{
	static const char *const names[] = { "From", "Subject" };
	const struct mime_part *part;
	struct mime_range r;
	enum mime_section s = MIME_SECTION_ALL;
	const char *error;
	int ret;

	str_clear(out);
	if (strcmp(kind, "BINARY") == 0) {
		if (mime_section_find(msg, path, &part) == 1)
			ck_assert_int_eq(mime_part_decode(msg, part, out,
							  &error), 1);
		return;
	}
	if (strncmp(sec, "FIELDS", 6) == 0) {
		ret = mime_section_header_part(msg, path, &part);
		ck_assert_int_ge(ret, 0);
		if (ret == 1)
			mime_header_fields(msg, part, names, 2,
					   strcmp(sec, "FIELDS.NOT") == 0, out);
		return;
	}
	if (strcmp(sec, "HEADER") == 0)
		s = MIME_SECTION_HEADER;
	else if (strcmp(sec, "TEXT") == 0)
		s = MIME_SECTION_TEXT;
	else if (strcmp(sec, "MIME") == 0)
		s = MIME_SECTION_MIME;
	ret = mime_section_range(msg, path, s, &r);
	ck_assert_int_ge(ret, 0);
	if (ret == 1)
		mime_range_write(msg, &r, 0, SIZE_MAX, out);
}

/* dovecot/NAME.sections: what Dovecot answered to BODY.PEEK[...] and
 * BINARY.PEEK[...] of NAME.eml for a fixed list of sections, as
 * "KIND PATH SECTION LENGTH\n" (PATH "-" for none), the bytes, "\n". */
static void check_sections_golden(const struct mime_message *msg,
				  const char *name)
{
	struct str out = STR_INIT;
	char file[256], kind[16], path[64], sec[16];
	size_t size, pos = 0, len;
	unsigned checked = 0;
	char *want;
	int n;

	ck_assert(str_snprintf(file, sizeof(file), "dovecot/%s.sections",
			       name));
	want = load(file, &size);
	while (pos < size) {
		ck_assert_int_eq(sscanf(want + pos, "%15s %63s %15s %zu%n",
					kind, path, sec, &len, &n), 4);
		pos += (size_t)n + 1;
		ck_assert_uint_le(pos + len + 1, size);
		fetch_section(msg, kind, strcmp(path, "-") == 0 ? "" : path,
			      sec, &out);
		ck_assert_msg(out.len == len &&
			      memcmp(out.data == NULL ? "" : out.data,
				     want + pos, len) == 0,
			      "%s: %s[%s %s] differs from Dovecot's: \"%s\"",
			      name, kind, path, sec, str_c(&out));
		pos += len + 1;
		checked++;
	}
	ck_assert_uint_gt(checked, 20);
	str_release(&out);
	mem_free(want);
}

START_TEST(test_dovecot_golden)
{
	DIR *dir = opendir(MIME_TEST_DATA);
	struct dirent *d;
	unsigned count = 0;

	ck_assert_ptr_nonnull(dir);
	while ((d = readdir(dir)) != NULL) {
		size_t len = strlen(d->d_name), size;
		char name[256], *data;
		struct mime_message *msg;

		if (len < 5 || strcmp(d->d_name + len - 4, ".eml") != 0)
			continue;
		ck_assert_uint_lt(len, sizeof(name));
		memcpy(name, d->d_name, len - 4);
		name[len - 4] = '\0';
		data = load(d->d_name, &size);
		msg = mime_parse(data, size, NULL);
		check_golden(msg, name, "bodystructure");
		check_golden(msg, name, "body");
		check_golden(msg, name, "envelope");
		check_sections_golden(msg, name);
		mime_message_free(&msg);
		mem_free(data);
		count++;
	}
	closedir(dir);
	ck_assert_uint_ge(count, 22);
}
END_TEST

/* The same message with CRLF and with bare LF line ends has the same
 * structure and sizes. */
START_TEST(test_crlf_same_as_lf)
{
	struct mime_message *a, *b;
	struct str sa = STR_INIT, sb = STR_INIT;
	size_t na, nb;
	char *lf = load("nested.eml", &na), *crlf = load("nested_crlf.eml",
							  &nb);

	ck_assert_uint_gt(nb, na);
	a = mime_parse(lf, na, NULL);
	b = mime_parse(crlf, nb, NULL);
	mime_imap_bodystructure(a, a->root, true, 0, &sa);
	mime_imap_bodystructure(b, b->root, true, 0, &sb);
	ck_assert_str_eq(str_c(&sa), str_c(&sb));
	str_clear(&sa);
	str_clear(&sb);
	mime_append_crlf(&sa, lf, na);
	ck_assert_uint_eq(sa.len, nb);
	ck_assert(memcmp(sa.data, crlf, nb) == 0);
	str_release(&sa);
	str_release(&sb);
	mime_message_free(&a);
	mime_message_free(&b);
	mem_free(lf);
	mem_free(crlf);
}
END_TEST

static struct mime_message *parse_str(const char *s)
{
	return mime_parse(s, strlen(s), NULL);
}

/* BODY[path.section] as a string. Returns the lookup's result. */
static int section(const struct mime_message *msg, const char *path,
		   enum mime_section sec, struct str *out)
{
	struct mime_range r;
	int ret;

	str_clear(out);
	ret = mime_section_range(msg, path, sec, &r);
	if (ret == 1)
		mime_range_write(msg, &r, 0, SIZE_MAX, out);
	return ret;
}

START_TEST(test_sections_nested)
{
	struct mime_message *msg;
	struct str out = STR_INIT;
	size_t size;
	char *data = load("nested.eml", &size);
	const struct mime_part *part;

	msg = mime_parse(data, size, NULL);
	ck_assert_int_eq(section(msg, "", MIME_SECTION_ALL, &out), 1);
	ck_assert_uint_eq(out.len, size + msg->root->end.bare_lf);
	ck_assert_int_eq(section(msg, "", MIME_SECTION_HEADER, &out), 1);
	ck_assert(str_has_prefix(str_c(&out), "From: Outer"));
	ck_assert(strstr(str_c(&out), "\r\nContent-Type: message/rfc822"
			 "\r\n\r\n") != NULL);
	/* TEXT and 1 of a message/rfc822 message: the middle message. */
	ck_assert_int_eq(section(msg, "", MIME_SECTION_TEXT, &out), 1);
	ck_assert(str_has_prefix(str_c(&out), "From: Middle"));
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_ALL, &out), 1);
	ck_assert(str_has_prefix(str_c(&out), "From: Middle"));
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_HEADER, &out), 1);
	ck_assert_str_eq(str_c(&out), "From: Middle <middle@example.com>\r\n"
			 "Subject: middle\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: multipart/mixed; boundary=\"mid\"\r\n"
			 "\r\n");
	ck_assert_int_eq(section(msg, "1.1", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "middle text");
	ck_assert_int_eq(section(msg, "1.1", MIME_SECTION_MIME, &out), 1);
	ck_assert_str_eq(str_c(&out), "Content-Type: text/plain\r\n\r\n");
	/* 1.2 is message/rfc822 in the multipart in the message/rfc822. */
	ck_assert_int_eq(section(msg, "1.2", MIME_SECTION_ALL, &out), 1);
	ck_assert(str_has_prefix(str_c(&out), "From: Inner"));
	ck_assert(strstr(str_c(&out), "two lines") != NULL);
	ck_assert(strstr(str_c(&out), "--mid") == NULL);
	ck_assert_int_eq(section(msg, "1.2", MIME_SECTION_MIME, &out), 1);
	ck_assert(str_has_prefix(str_c(&out), "Content-Type: message/rfc822"));
	ck_assert_int_eq(section(msg, "1.2", MIME_SECTION_HEADER, &out), 1);
	ck_assert(str_has_prefix(str_c(&out), "From: Inner"));
	ck_assert_int_eq(section(msg, "1.2", MIME_SECTION_TEXT, &out), 1);
	ck_assert_str_eq(str_c(&out), "inner body\r\ntwo lines");
	ck_assert_int_eq(section(msg, "1.2.1", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "inner body\r\ntwo lines");
	/* No such parts. */
	ck_assert_int_eq(section(msg, "2", MIME_SECTION_ALL, &out), 0);
	ck_assert_int_eq(section(msg, "1.3", MIME_SECTION_ALL, &out), 0);
	ck_assert_int_eq(section(msg, "1.1.2", MIME_SECTION_ALL, &out), 0);
	ck_assert_int_eq(section(msg, "1.2.1.2", MIME_SECTION_ALL, &out), 0);
	/* Not section numbers. */
	ck_assert_int_eq(section(msg, "0", MIME_SECTION_ALL, &out), -1);
	ck_assert_int_eq(section(msg, "01", MIME_SECTION_ALL, &out), -1);
	ck_assert_int_eq(section(msg, "1.", MIME_SECTION_ALL, &out), -1);
	ck_assert_int_eq(section(msg, ".1", MIME_SECTION_ALL, &out), -1);
	ck_assert_int_eq(section(msg, "1..2", MIME_SECTION_ALL, &out), -1);
	ck_assert_int_eq(section(msg, "1x", MIME_SECTION_ALL, &out), -1);
	ck_assert_int_eq(section(msg, "4294967296", MIME_SECTION_ALL, &out),
			 -1);
	ck_assert_int_eq(section(msg, "99999999999999999999999",
				 MIME_SECTION_ALL, &out), -1);
	ck_assert_int_eq(section(msg, "4294967295", MIME_SECTION_ALL, &out),
			 0);
	ck_assert_int_eq(section(msg, "", MIME_SECTION_MIME, &out), -1);
	/* BODYSTRUCTURE of a part found by number. */
	ck_assert_int_eq(mime_section_find(msg, "1.2.1", &part), 1);
	str_clear(&out);
	mime_imap_bodystructure(msg, part, false, 0, &out);
	ck_assert_str_eq(str_c(&out), "(\"text\" \"plain\" (\"charset\" "
			 "\"us-ascii\") NIL NIL \"7bit\" 21 1)");
	str_clear(&out);
	mime_imap_envelope(msg, part, 0, &out);
	ck_assert(strstr(str_c(&out), "\"<inner@example.com>\"") != NULL);
	str_release(&out);
	mime_message_free(&msg);
	mem_free(data);
}
END_TEST

/* Sections of a single-part message and of a multipart's preamble,
 * epilogue and empty parts; the text of the imaptest fetch-body-mime
 * message layout. */
START_TEST(test_sections_simple)
{
	struct mime_message *msg;
	struct str out = STR_INIT;

	msg = parse_str("Subject: x\n\nbody\n");
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "body\r\n");
	ck_assert_int_eq(section(msg, "", MIME_SECTION_TEXT, &out),
			 1);
	ck_assert_str_eq(str_c(&out), "body\r\n");
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_MIME, &out), 1);
	ck_assert_str_eq(str_c(&out), "Subject: x\r\n\r\n");
	ck_assert_int_eq(section(msg, "2", MIME_SECTION_ALL, &out), 0);
	/* The message's own body is only "1" (Dovecot answers "1.1" with
	 * an empty string); it has no HEADER of its own. */
	ck_assert_int_eq(section(msg, "1.1", MIME_SECTION_ALL, &out), 0);
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_HEADER, &out), 0);
	mime_message_free(&msg);

	msg = parse_str("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
			"pre\r\n--b\r\n\r\n--b\r\nX: y\r\n\r\nsecond\r\n\r\n"
			"--b--\r\nepilogue\r\n");
	check_tree(msg, true);
	ck_assert_uint_eq(msg->root->child_count, 2);
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "");
	/* An empty header right before the next boundary: its blank line
	 * is the boundary's line end, and BODY[1.MIME] is empty (as in
	 * Dovecot). */
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_MIME, &out), 1);
	ck_assert_str_eq(str_c(&out), "");
	ck_assert_int_eq(section(msg, "2", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "second\r\n");
	ck_assert_int_eq(section(msg, "2", MIME_SECTION_MIME, &out), 1);
	ck_assert_str_eq(str_c(&out), "X: y\r\n\r\n");
	/* 1 on a part of a multipart stays on it; HEADER and TEXT exist
	 * only for messages. */
	ck_assert_int_eq(section(msg, "2.1", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "second\r\n");
	ck_assert_int_eq(section(msg, "2.2", MIME_SECTION_ALL, &out), 0);
	ck_assert_int_eq(section(msg, "2", MIME_SECTION_HEADER, &out), 0);
	ck_assert_int_eq(section(msg, "2", MIME_SECTION_TEXT, &out), 0);
	ck_assert_int_eq(section(msg, "", MIME_SECTION_TEXT, &out), 1);
	ck_assert(str_has_prefix(str_c(&out), "pre\r\n--b"));
	ck_assert(strstr(str_c(&out), "--b--\r\nepilogue\r\n") != NULL);
	str_clear(&out);
	mime_imap_bodystructure(msg, msg->root, false, 0, &out);
	ck_assert_str_eq(str_c(&out), "((\"text\" \"plain\" (\"charset\" "
			 "\"us-ascii\") NIL NIL \"7bit\" 0 0)(\"text\" "
			 "\"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
			 " 8 1) \"mixed\")");
	mime_message_free(&msg);

	/* A multipart with no parts at all still shows one (RFC 3501's
	 * grammar wants one): Dovecot's empty text/plain. */
	msg = parse_str("Content-Type: multipart/mixed; boundary=b\n\n"
			"no parts\n");
	str_clear(&out);
	mime_imap_bodystructure(msg, msg->root, true, 0, &out);
	ck_assert_str_eq(str_c(&out), "((\"text\" \"plain\" (\"charset\" "
			 "\"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
			 "\"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_ALL, &out), 0);
	mime_message_free(&msg);

	/* A boundary line inside a part's header ends the header. */
	msg = parse_str("Content-Type: multipart/mixed; boundary=b\n\n"
			"--b\nContent-Type: text/plain\n--b\n\nx\n--b--\n");
	check_tree(msg, true);
	ck_assert_uint_eq(msg->root->child_count, 2);
	ck_assert_int_eq(section(msg, "1", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "");
	ck_assert_int_eq(section(msg, "2", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "x");
	mime_message_free(&msg);

	/* A header's blank line right before an outer boundary: the line
	 * end is the boundary's too; ranges still nest. */
	msg = parse_str("Content-Type: multipart/mixed; boundary=o\n\n--o\n"
			"Content-Type: multipart/mixed; boundary=i\n\n--i\n"
			"X: y\n\n--o--\n");
	check_tree(msg, true);
	ck_assert_int_eq(section(msg, "1.1", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "");
	ck_assert_int_eq(section(msg, "1.1", MIME_SECTION_MIME, &out), 1);
	ck_assert_str_eq(str_c(&out), "X: y\r\n");
	mime_message_free(&msg);

	/* Empty message. */
	msg = mime_parse("", 0, NULL);
	check_tree(msg, true);
	str_clear(&out);
	mime_imap_bodystructure(msg, msg->root, true, 0, &out);
	ck_assert_str_eq(str_c(&out), "(\"text\" \"plain\" (\"charset\" "
			 "\"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	str_clear(&out);
	mime_imap_envelope(msg, msg->root, 0, &out);
	ck_assert_str_eq(str_c(&out), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL "
			 "NIL)");
	ck_assert_int_eq(section(msg, "", MIME_SECTION_ALL, &out), 1);
	ck_assert_str_eq(str_c(&out), "");
	mime_message_free(&msg);
	str_release(&out);
}
END_TEST

/* Partial fetches: every <offset.count> of the CRLF view of a message
 * with mixed line ends equals the same slice of the whole. */
START_TEST(test_partial)
{
	const char *text = "A: b\n\nx\r\ny\n\n\rz\r\n\n";
	struct mime_message *msg = parse_str(text);
	struct mime_range r;
	struct str whole = STR_INIT, part = STR_INIT;
	size_t off, count;

	ck_assert_int_eq(mime_section_range(msg, "", MIME_SECTION_ALL, &r), 1);
	mime_range_write(msg, &r, 0, SIZE_MAX, &whole);
	ck_assert_str_eq(str_c(&whole),
			 "A: b\r\n\r\nx\r\ny\r\n\r\n\rz\r\n\r\n");
	ck_assert_uint_eq(whole.len, mime_range_vsize(&r));
	for (off = 0; off <= whole.len + 1; off++) {
		for (count = 0; count <= whole.len + 1; count++) {
			str_clear(&part);
			mime_range_write(msg, &r, off, count, &part);
			if (off >= whole.len) {
				ck_assert_uint_eq(part.len, 0);
				continue;
			}
			ck_assert_uint_eq(part.len, count < whole.len - off ?
					  count : whole.len - off);
			ck_assert(part.len == 0 ||
				  memcmp(part.data, whole.data + off,
					 part.len) == 0);
		}
	}
	str_release(&whole);
	str_release(&part);
	mime_message_free(&msg);
}
END_TEST

/* A big bare-LF message fetched in 4000-byte pieces: the pieces add up
 * to the whole, and seeking uses the checkpoints (linear overall). */
START_TEST(test_partial_big)
{
	size_t n = 4 * 1024 * 1024, i, off;
	char *data = mem_alloc(n);
	struct mime_message *msg;
	struct mime_range r;
	struct str whole = STR_INIT, pieces = STR_INIT;
	double t;

	memcpy(data, "Subject: big\n\n", 14);
	for (i = 14; i < n; i++)
		data[i] = i % 61 == 0 ? '\n' : (char)('a' + i % 26);
	msg = mime_parse(data, n, NULL);
	ck_assert_int_eq(mime_section_range(msg, "1", MIME_SECTION_ALL, &r), 1);
	mime_range_write(msg, &r, 0, SIZE_MAX, &whole);
	ck_assert_uint_eq(whole.len, mime_range_vsize(&r));
	t = now();
	for (off = 0; off < whole.len; off += 4000)
		mime_range_write(msg, &r, off, 4000, &pieces);
	ck_assert_double_lt(since(t, "partial pieces"), 5.0);
	ck_assert_uint_eq(pieces.len, whole.len);
	ck_assert(memcmp(pieces.data, whole.data, whole.len) == 0);
	str_release(&whole);
	str_release(&pieces);
	mime_message_free(&msg);
	mem_free(data);
}
END_TEST

START_TEST(test_header_fields)
{
	struct mime_message *msg;
	struct str out = STR_INIT;
	const struct mime_part *part;
	const char *names[] = { "subject", "X-FOLDED", "absent" };
	size_t size;
	char *data = load("simple.eml", &size);

	msg = mime_parse(data, size, NULL);
	ck_assert_int_eq(mime_section_header_part(msg, "", &part), 1);
	mime_header_fields(msg, part, names, 3, false, &out);
	ck_assert_str_eq(str_c(&out), "Subject: Lunch?\r\nX-Folded: one\r\n"
			 "  two\r\n\tthree\r\n\r\n");
	str_clear(&out);
	mime_header_fields(msg, part, names, 3, true, &out);
	ck_assert(str_has_prefix(str_c(&out), "Return-Path: "));
	ck_assert(strstr(str_c(&out), "Subject") == NULL);
	ck_assert(strstr(str_c(&out), "three") == NULL);
	ck_assert(strstr(str_c(&out), "\r\nCc: undisclosed-recipients:;\r\n"
			 "\r\n") != NULL);
	str_clear(&out);
	mime_header_fields(msg, part, names + 2, 1, false, &out);
	ck_assert_str_eq(str_c(&out), "\r\n");
	ck_assert_int_eq(mime_section_header_part(msg, "2", &part), 0);
	mime_message_free(&msg);
	mem_free(data);

	/* Of an encapsulated message; a line without a colon is kept by
	 * .NOT; "Name :" (obsolete syntax) matches "name". */
	msg = parse_str("Content-Type: message/rfc822\n\nSubject : inner\n"
			"junk line\nTo: x@y\n\nbody\n");
	ck_assert_int_eq(mime_section_header_part(msg, "1", &part), 1);
	str_clear(&out);
	mime_header_fields(msg, part, names, 1, false, &out);
	ck_assert_str_eq(str_c(&out), "Subject : inner\r\n\r\n");
	str_clear(&out);
	mime_header_fields(msg, part, names, 1, true, &out);
	ck_assert_str_eq(str_c(&out), "junk line\r\nTo: x@y\r\n\r\n");
	ck_assert_int_eq(mime_section_header_part(msg, "", &part), 1);
	str_clear(&out);
	mime_header_fields(msg, part, names, 1, true, &out);
	ck_assert_str_eq(str_c(&out), "Content-Type: message/rfc822\r\n\r\n");
	ck_assert_int_eq(mime_header_get(msg, msg->root->children, "to",
					 &out), 1);
	ck_assert_str_eq(str_c(&out), "x@y");
	ck_assert_int_eq(mime_header_get(msg, msg->root, "to", &out), 0);
	mime_message_free(&msg);

	/* A header without a final line end still gets one, but no blank
	 * line: it has none (Dovecot's answer). */
	msg = parse_str("Subject: last");
	ck_assert_int_eq(mime_section_header_part(msg, "", &part), 1);
	str_clear(&out);
	mime_header_fields(msg, part, names, 1, false, &out);
	ck_assert_str_eq(str_c(&out), "Subject: last\r\n");
	mime_message_free(&msg);
	str_release(&out);
}
END_TEST

static const char *decode(const char *s)
{
	static struct str out;

	str_clear(&out);
	mime_header_decode(s, strlen(s), &out);
	return str_c(&out);
}

START_TEST(test_rfc2047)
{
	struct mime_message *msg;
	struct str out = STR_INIT;
	size_t size;
	char *data = load("encoded_words.eml", &size);

	msg = mime_parse(data, size, NULL);
	ck_assert_int_eq(mime_header_get(msg, msg->root, "subject", &out), 1);
	/* Adjacent words join (white space and folding between them
	 * dropped, a UTF-8 character split across two words survives);
	 * text between words stays. */
	ck_assert_str_eq(decode(str_c(&out)),
			 "\xc3\xa9\xc3\xa9\xe2\x82\xac separated "
			 "\xe2\x82\xacsplit \xe2\x82\xac euro");
	ck_assert_int_eq(mime_header_get(msg, msg->root, "from", &out), 1);
	ck_assert_str_eq(decode(str_c(&out)),
			 "Keld J\xc3\xb8rn Simonsen <keld@example.com>");
	ck_assert_int_eq(mime_header_get(msg, msg->root, "x-bad", &out), 1);
	ck_assert_str_eq(decode(str_c(&out)), "=?unknown-charset?q?keep?= "
			 "=?utf-8?x?bad?= ok");
	/* Other charsets through iconv. */
	ck_assert_int_eq(mime_header_get(msg, msg->root, "x-koi", &out), 1);
	ck_assert_str_eq(decode(str_c(&out)),
			 "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	mime_message_free(&msg);
	mem_free(data);

	ck_assert_str_eq(decode("a =?utf-8?q?b?= c"), "a b c");
	ck_assert_str_eq(decode("=?utf-8?q?a?=\r\n =?utf-8?q?b?="), "ab");
	ck_assert_str_eq(decode("=?utf-8*en?Q?lang_tag?="), "lang tag");
	ck_assert_str_eq(decode("=?utf-8?b?w6k?="), "\xc3\xa9");
	ck_assert_str_eq(decode("=?us-ascii?q?=FF?="), "\xef\xbf\xbd");
	ck_assert_str_eq(decode("=?utf-8?q?unterminated"),
			 "=?utf-8?q?unterminated");
	ck_assert_str_eq(decode("=??q?x?= =?utf-8??x?="),
			 "=??q?x?= =?utf-8??x?=");
	ck_assert_str_eq(decode("raw \xc3\xa9 \xe9"),
			 "raw \xc3\xa9 \xef\xbf\xbd");
	ck_assert_str_eq(decode(""), "");
	str_release(&out);
}
END_TEST

START_TEST(test_charsets)
{
	struct str out = STR_INIT;

	ck_assert(mime_charset_to_utf8("ISO-8859-1", "\xe9\xa4", 2, &out));
	ck_assert_str_eq(str_c(&out), "\xc3\xa9\xc2\xa4");
	str_clear(&out);
	ck_assert(mime_charset_to_utf8("latin9", "\xa4\xbd", 2, &out));
	ck_assert_str_eq(str_c(&out), "\xe2\x82\xac\xc5\x93");
	str_clear(&out);
	ck_assert(mime_charset_to_utf8("Windows-1252", "\x80\x81\x93", 3,
				       &out));
	ck_assert_str_eq(str_c(&out), "\xe2\x82\xac\xef\xbf\xbd\xe2\x80\x9c");
	str_clear(&out);
	ck_assert(mime_charset_to_utf8("us-ascii", "a\x80", 2, &out));
	ck_assert_str_eq(str_c(&out), "a\xef\xbf\xbd");
	str_clear(&out);
	/* Overlong, surrogate, too big, truncated: each bad byte becomes
	 * U+FFFD. */
	ck_assert(mime_charset_to_utf8("utf-8", "\xc0\xaf|\xed\xa0\x80|"
				       "\xf4\x90\x80\x80|\xe2\x82", 14, &out));
	ck_assert_str_eq(str_c(&out),
			 "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
			 "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			 "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
	str_clear(&out);
	ck_assert(mime_charset_to_utf8("ISO-8859-2", "\xb1", 1, &out));
	ck_assert_str_eq(str_c(&out), "\xc4\x85");
	str_clear(&out);
	ck_assert(!mime_charset_to_utf8("no-such-charset", "x", 1, &out));
	ck_assert(!mime_charset_to_utf8("utf-8//TRANSLIT", "x", 1, &out));
	ck_assert(!mime_charset_to_utf8("../../etc/x", "x", 1, &out));
	ck_assert_uint_eq(out.len, 0);
	str_release(&out);
}
END_TEST

START_TEST(test_rfc2231)
{
	struct mime_pool *pool = mime_pool_create();
	struct mime_params params;
	const struct mime_param *p;
	const char *type, *subtype, *token;
	struct str out = STR_INIT;
	const char *v;

	v = "Text/Plain (comment) ; CHARSET = \"us\\\"ascii\" ; junk ; "
	    "title*0*=us-ascii'en'This%20is%20%2A%2A%2Afun%2A%2A%2A; "
	    "title*1*=%2A%2A%2A; title*2=\" ok\"; gap*0=a; gap*2=c; "
	    "nozero*1=x; bad=; x*=%FF";
	ck_assert(mime_param_content_type(pool, v, strlen(v), &type, &subtype,
					  &params));
	ck_assert_str_eq(type, "Text");
	ck_assert_str_eq(subtype, "Plain");
	ck_assert_uint_eq(params.count, 4);
	ck_assert_str_eq(params.items[0].name, "CHARSET");
	ck_assert_str_eq(params.items[0].value, "us\"ascii");
	p = mime_params_find(&params, "title");
	ck_assert_ptr_nonnull(p);
	ck_assert(p->extended);
	ck_assert_str_eq(p->value, "us-ascii'en'This%20is%20%2A%2A%2Afun"
			 "%2A%2A%2A%2A%2A%2A ok");
	mime_param_decode(p, &out);
	ck_assert_str_eq(str_c(&out), "This is ***fun****** ok");
	p = mime_params_find(&params, "gap");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->value, "a");
	ck_assert_ptr_null(mime_params_find(&params, "nozero"));
	p = mime_params_find(&params, "x");
	ck_assert_ptr_nonnull(p);
	str_clear(&out);
	mime_param_decode(p, &out);
	ck_assert_str_eq(str_c(&out), "\xef\xbf\xbd");

	/* RFC 2047 inside a plain parameter is decoded for people. */
	v = "attachment; filename=\"=?UTF-8?B?4oKsLnBuZw==?=\"";
	ck_assert(mime_param_token_params(pool, v, strlen(v), &token,
					  &params));
	ck_assert_str_eq(token, "attachment");
	str_clear(&out);
	mime_param_decode(&params.items[0], &out);
	ck_assert_str_eq(str_c(&out), "\xe2\x82\xac.png");
	/* Charset conversion of an extended value. */
	v = "inline; filename*=iso-8859-1''%E9t%E9.txt";
	ck_assert(mime_param_token_params(pool, v, strlen(v), &token,
					  &params));
	str_clear(&out);
	mime_param_decode(&params.items[0], &out);
	ck_assert_str_eq(str_c(&out), "\xc3\xa9t\xc3\xa9.txt");

	/* A type without a subtype is kept (Dovecot shows "text" ""). */
	ck_assert(mime_param_content_type(pool, "text", 4, &type, &subtype,
					  &params));
	ck_assert_str_eq(type, "text");
	ck_assert_str_eq(subtype, "");
	ck_assert(!mime_param_content_type(pool, "/plain", 6, &type,
					   &subtype, &params));
	ck_assert(!mime_param_content_type(pool, "", 0, &type, &subtype,
					   &params));
	ck_assert(!mime_param_token_params(pool, "; a=b", 5, &token,
					   &params));
	str_release(&out);
	mime_pool_free(&pool);
	ck_assert_ptr_null(pool);
}
END_TEST

START_TEST(test_transfer_decoding)
{
	struct str out = STR_INIT;
	struct mime_message *msg;
	const struct mime_part *part;
	const char *error = NULL;
	size_t size;
	char *data = load("encodings.eml", &size);

	ck_assert(mime_base64_decode("aGVsbG8gd29ybGQ=", 16, &out));
	ck_assert_str_eq(str_c(&out), "hello world");
	str_clear(&out);
	ck_assert(mime_base64_decode(" aGVs\r\n bG8g\td29y bGQ= ", 24, &out));
	ck_assert_str_eq(str_c(&out), "hello world");
	str_clear(&out);
	ck_assert(!mime_base64_decode("aGV*sbG8", 8, &out));
	ck_assert_str_eq(str_c(&out), "hello");
	str_clear(&out);
	ck_assert(!mime_base64_decode("aGVsb", 5, &out));
	ck_assert_str_eq(str_c(&out), "hel");
	str_clear(&out);
	/* imaptest's fetch-binary-mime-qp body, byte for byte. */
	mime_qp_decode("hello  \nbar=\n\nfoo\t=\nbar\nfoo\t \t= \n=62\n"
		       "foo = \t\nbar\nfoo =\n=62\nfoo  \nbar=\n\nfoo_bar\n",
		       79, &out);
	ck_assert_str_eq(str_c(&out), "hello\r\nbar\r\nfoo\tbar\r\n"
			 "foo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\n"
			 "foo_bar\r\n");
	ck_assert_uint_eq(out.len, 65);
	str_clear(&out);
	mime_qp_decode("=3d=3D=4", 8, &out);
	ck_assert_str_eq(str_c(&out), "==" "=4");

	msg = mime_parse(data, size, NULL);
	ck_assert_int_eq(mime_section_find(msg, "1", &part), 1);
	str_clear(&out);
	ck_assert_int_eq(mime_part_decode(msg, part, &out, &error), 1);
	ck_assert_str_eq(str_c(&out), "caf\xc3\xa9 soft break=\r\nbad =ZZ end");
	ck_assert_int_eq(mime_section_find(msg, "2", &part), 1);
	str_clear(&out);
	ck_assert_int_eq(mime_part_decode(msg, part, &out, &error), 1);
	ck_assert_uint_eq(out.len, 6);
	ck_assert(memcmp(out.data, "\x00\x01\x02\xfd\xfe\xff", 6) == 0);
	ck_assert_int_eq(mime_section_find(msg, "3", &part), 1);
	ck_assert_int_eq(mime_part_decode(msg, part, &out, &error), -1);
	ck_assert_ptr_nonnull(error);
	/* A multipart is not decoded: its text in the CRLF view. */
	str_clear(&out);
	ck_assert_int_eq(mime_part_decode(msg, msg->root, &out, &error), 1);
	ck_assert(str_has_prefix(str_c(&out), "--e\r\nContent-Type"));
	mime_message_free(&msg);
	mem_free(data);
	str_release(&out);
}
END_TEST

START_TEST(test_imap_strings)
{
	struct str out = STR_INIT;

	mime_imap_append_string(&out, "a \"b\" \\c", 8, 0);
	ck_assert_str_eq(str_c(&out), "\"a \\\"b\\\" \\\\c\"");
	str_clear(&out);
	mime_imap_append_string(&out, "a\0b", 3, 0);
	ck_assert_str_eq(str_c(&out), "\"ab\"");
	str_clear(&out);
	mime_imap_append_string(&out, "a\r\nb", 4, 0);
	ck_assert_str_eq(str_c(&out), "{4}\r\na\r\nb");
	str_clear(&out);
	mime_imap_append_string(&out, "caf\xc3\xa9", 5, 0);
	ck_assert_str_eq(str_c(&out), "{5}\r\ncaf\xc3\xa9");
	str_clear(&out);
	mime_imap_append_string(&out, "caf\xc3\xa9", 5, MIME_IMAP_UTF8);
	ck_assert_str_eq(str_c(&out), "\"caf\xc3\xa9\"");
	str_clear(&out);
	mime_imap_append_string(&out, "caf\xe9", 4, MIME_IMAP_UTF8);
	ck_assert_str_eq(str_c(&out), "{4}\r\ncaf\xe9");
	str_clear(&out);
	mime_imap_append_nstring(&out, NULL, 0);
	mime_imap_append_nstring(&out, "", 0);
	ck_assert_str_eq(str_c(&out), "NIL\"\"");
	str_release(&out);
}
END_TEST

/* Every prefix of every corpus message (the message cut at each byte)
 * parses into a valid tree whose IMAP strings balance. */
START_TEST(test_truncation)
{
	const char *file = expects[_i].file;
	struct str out = STR_INIT;
	size_t size, cut;
	char *data = load(file, &size);

	for (cut = 0; cut <= size; cut++) {
		char *copy = mem_dup(data, cut + 1);
		struct mime_message *msg = mime_parse(copy, cut, NULL);

		check_tree(msg, false);
		str_clear(&out);
		mime_imap_bodystructure(msg, msg->root, true, 0, &out);
		check_balanced(&out);
		str_clear(&out);
		mime_imap_envelope(msg, msg->root, 0, &out);
		check_balanced(&out);
		mime_message_free(&msg);
		mem_free(copy);
	}
	str_release(&out);
	mem_free(data);
}
END_TEST

static unsigned max_depth(const struct mime_part *part)
{
	const struct mime_part *c;
	unsigned d = part->depth, cd;

	for (c = part->children; c != NULL; c = c->next) {
		cd = max_depth(c);
		if (cd > d)
			d = cd;
	}
	return d;
}

/* Deep nesting: 100000 message/rfc822 levels, then 100000 multipart
 * levels. Bounded at MIME_MAX_DEPTH, quickly, and the BODYSTRUCTURE
 * stays well formed. */
START_TEST(test_bomb_depth)
{
	struct str m = STR_INIT, out = STR_INIT;
	struct mime_message *msg;
	unsigned i, levels = 100000;
	double t;

	for (i = 0; i < levels; i++)
		str_append(&m, "Content-Type: message/rfc822\n\n");
	str_append(&m, "Subject: bottom\n\nbody\n");
	t = now();
	msg = mime_parse(m.data, m.len, NULL);
	ck_assert_double_lt(since(t, "rfc822 depth bomb"), 2.0);
	ck_assert(msg->limited);
	ck_assert_uint_eq(max_depth(msg->root), MIME_MAX_DEPTH - 1);
	ck_assert_uint_eq(msg->part_count, MIME_MAX_DEPTH);
	check_tree(msg, false);
	mime_imap_bodystructure(msg, msg->root, true, 0, &out);
	check_balanced(&out);
	ck_assert(strstr(str_c(&out), "\"application\" \"octet-stream\"") !=
		  NULL);
	mime_message_free(&msg);

	str_clear(&m);
	for (i = 0; i < levels; i++)
		str_printf(&m, "Content-Type: multipart/mixed; boundary=b%u_\n"
			   "\n--b%u_\n", i, i);
	str_append(&m, "\nbottom\n");
	for (i = levels; i-- > 0;)
		str_printf(&m, "--b%u_--\n", i);
	t = now();
	msg = mime_parse(m.data, m.len, NULL);
	ck_assert_double_lt(since(t, "multipart depth bomb"), 5.0);
	ck_assert(msg->limited);
	ck_assert_uint_eq(max_depth(msg->root), MIME_MAX_DEPTH - 1);
	check_tree(msg, false);
	str_clear(&out);
	mime_imap_bodystructure(msg, msg->root, true, 0, &out);
	check_balanced(&out);
	mime_message_free(&msg);

	/* Limits can be set lower (and are capped above). */
	{
		struct mime_limits lim = { .max_depth = 3 };

		msg = mime_parse(m.data, m.len, &lim);
		ck_assert_uint_eq(max_depth(msg->root), 2);
		mime_message_free(&msg);
		lim.max_depth = 1000000;
		str_clear(&m);
		for (i = 0; i < 5000; i++)
			str_append(&m, "Content-Type: message/rfc822\n\n");
		msg = mime_parse(m.data, m.len, &lim);
		ck_assert_uint_eq(max_depth(msg->root),
				  MIME_HARD_MAX_DEPTH - 1);
		mime_message_free(&msg);
	}
	str_release(&m);
	str_release(&out);
}
END_TEST

/* Many parts: 200000 of them stop at MIME_MAX_PARTS; with the limit
 * raised, all are split, in linear time. */
START_TEST(test_bomb_parts)
{
	struct str m = STR_INIT, out = STR_INIT;
	struct mime_message *msg;
	struct mime_limits lim = { .max_parts = 300000 };
	const struct mime_part *part;
	unsigned i, parts = 200000;
	double t;

	str_append(&m, "Content-Type: multipart/mixed; boundary=x\n\n");
	for (i = 0; i < parts; i++)
		str_append(&m, "--x\n\np\n");
	str_append(&m, "--x--\n");
	t = now();
	msg = mime_parse(m.data, m.len, NULL);
	ck_assert_double_lt(since(t, "part count bomb"), 2.0);
	ck_assert(msg->limited);
	ck_assert_uint_eq(msg->part_count, MIME_MAX_PARTS);
	check_tree(msg, false);
	ck_assert_int_eq(mime_section_find(msg, "9999", &part), 1);
	ck_assert_int_eq(mime_section_find(msg, "10000", &part), 0);
	mime_message_free(&msg);

	t = now();
	msg = mime_parse(m.data, m.len, &lim);
	ck_assert(!msg->limited);
	ck_assert_uint_eq(msg->part_count, parts + 1);
	mime_imap_bodystructure(msg, msg->root, true, 0, &out);
	ck_assert_double_lt(since(t, "200000 parts, limit raised"), 10.0);
	check_balanced(&out);
	check_tree(msg, false);
	mime_message_free(&msg);

	/* Parts spread over nested multiparts and messages. */
	str_clear(&m);
	str_append(&m, "Content-Type: multipart/mixed; boundary=o\n\n");
	for (i = 0; i < parts / 4; i++)
		str_append(&m, "--o\nContent-Type: message/rfc822\n\n"
			   "Content-Type: multipart/mixed; boundary=i\n\n"
			   "--i\n\na\n--i\n\nb\n--i--\n");
	t = now();
	msg = mime_parse(m.data, m.len, NULL);
	ck_assert_double_lt(since(t, "nested parts bomb"), 2.0);
	ck_assert(msg->limited);
	ck_assert_uint_le(msg->part_count, MIME_MAX_PARTS);
	check_tree(msg, false);
	mime_message_free(&msg);
	str_release(&m);
	str_release(&out);
}
END_TEST

/* Inputs that would be quadratic in a naive parser: lines that look
 * like boundaries under 99 open multiparts, a header of a million tiny
 * fields, a huge parameter list, floods of "=?" and of comments. */
START_TEST(test_bomb_linear)
{
	struct str m = STR_INIT, out = STR_INIT;
	struct mime_message *msg;
	struct mime_pool *pool;
	struct mime_params params;
	const char *type, *subtype;
	unsigned i;
	double t;

	for (i = 0; i < 99; i++)
		str_printf(&m, "Content-Type: multipart/mixed; boundary="
			   "\"%0150u\"\n\n--%0150u\n", i, i);
	for (i = 0; i < 20000; i++)
		str_printf(&m, "--%0149ux\n", 0u);
	t = now();
	msg = mime_parse(m.data, m.len, NULL);
	check_tree(msg, false);
	mime_message_free(&msg);
	ck_assert_double_lt(since(t, "boundary flood"), 5.0);

	str_clear(&m);
	for (i = 0; i < 1000000; i++)
		str_append(&m, "A:b\n");
	str_append(&m, "Content-Type: text/html\n\nx\n");
	t = now();
	msg = mime_parse(m.data, m.len, NULL);
	/* The Content-Type is past max_header_size: not seen. */
	ck_assert_str_eq(msg->root->subtype, "plain");
	mime_imap_envelope(msg, msg->root, 0, &out);
	mime_message_free(&msg);
	ck_assert_double_lt(since(t, "huge header"), 5.0);

	pool = mime_pool_create();
	str_clear(&m);
	str_append(&m, "text/plain");
	for (i = 0; i < 100000; i++)
		str_printf(&m, "; p%u*%u*=x", i % 7, i);
	t = now();
	ck_assert(mime_param_content_type(pool, m.data, m.len, &type,
					  &subtype, &params));
	ck_assert_uint_le(params.count, MIME_MAX_PARAMS);
	ck_assert_double_lt(since(t, "parameter flood"), 2.0);

	str_clear(&m);
	for (i = 0; i < 200000; i++)
		str_append(&m, "=?a?q?");
	str_clear(&out);
	t = now();
	mime_header_decode(m.data, m.len, &out);
	ck_assert_str_eq(str_c(&out), str_c(&m));
	str_clear(&m);
	for (i = 0; i < 200000; i++)
		str_append(&m, "=?utf-8?q?=C3=A9?= ");
	str_clear(&out);
	mime_header_decode(m.data, m.len, &out);
	ck_assert_uint_eq(out.len, 400000);
	str_clear(&m);
	for (i = 0; i < 500000; i++)
		str_append(&m, "((");
	str_append(&m, "a@b, ");
	ck_assert_ptr_null(mime_addr_parse(pool, m.data, m.len));
	ck_assert_double_lt(since(t, "encoded-word and comment floods"), 5.0);
	mime_pool_free(&pool);
	str_release(&m);
	str_release(&out);
}
END_TEST

static Suite *mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("core");
	TCase *bomb = tcase_create("bomb");
	int n = (int)(sizeof(expects) / sizeof(expects[0]));

	tcase_add_loop_test(tc, test_corpus, 0, n);
	tcase_add_test(tc, test_dovecot_golden);
	tcase_add_test(tc, test_crlf_same_as_lf);
	tcase_add_test(tc, test_sections_nested);
	tcase_add_test(tc, test_sections_simple);
	tcase_add_test(tc, test_partial);
	tcase_add_test(tc, test_partial_big);
	tcase_add_test(tc, test_header_fields);
	tcase_add_test(tc, test_rfc2047);
	tcase_add_test(tc, test_charsets);
	tcase_add_test(tc, test_rfc2231);
	tcase_add_test(tc, test_transfer_decoding);
	tcase_add_test(tc, test_imap_strings);
	tcase_add_loop_test(tc, test_truncation, 0, n);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(bomb, test_bomb_depth);
	tcase_add_test(bomb, test_bomb_parts);
	tcase_add_test(bomb, test_bomb_linear);
	/* Sanitizer builds are several times slower; the bounds inside the
	 * tests are per step and generous. */
	tcase_set_timeout(bomb, 120);
	suite_add_tcase(s, bomb);
	return s;
}

int main(void)
{
	return tu_run_suite(mime_suite());
}
