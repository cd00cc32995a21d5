/*
 * mime_imap: a parsed message as IMAP shows it (RFC 3501 section 7.4.2,
 * RFC 9051): ENVELOPE, BODY and BODYSTRUCTURE, HEADER.FIELDS(.NOT), and
 * IMAP strings (mime_imap_*, mime_header_fields in mime.h).
 *
 * The output follows Dovecot's where RFC 3501 leaves room, so clients
 * see the same thing from either server (compared with Dovecot 2.3.19
 * on tests/data/mime): header values are sent raw (unfolded, not RFC
 * 2047-decoded: that is the client's job), Subject and display names
 * with white space runs collapsed, and as a literal when that changed
 * anything or they hold quotes or 8-bit text; a text
 * part without a charset gets ("charset" "us-ascii"), a part without
 * Content-Transfer-Encoding "7bit"; Sender and Reply-To default to From
 * when absent or empty; RFC 2231 parameters that carry a charset are
 * shown as "name*" with their charset'language'value form; a multipart
 * without parts shows one empty text/plain part (the grammar wants one);
 * Content-Language is always a list. A multipart or message/rfc822 left
 * unsplit by a parser limit is shown as application/octet-stream, which
 * keeps the grammar valid.
 *
 * SECURITY: every string from the message goes through
 * mime_imap_append_string, which quotes or makes a literal as needed and
 * drops NULs, so no message can inject IMAP syntax. Recursion follows
 * the part tree, whose depth the parser bounds.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "mime_impl.h"

static bool mime_utf8_valid(const char *s, size_t len)
{
	struct str tmp = STR_INIT;
	bool ok;

	mime_utf8_sanitize(s, len, &tmp);
	ok = tmp.len == len && (len == 0 || memcmp(tmp.data, s, len) == 0);
	str_release(&tmp);
	return ok;
}

void mime_imap_append_string(struct str *out, const char *s, size_t len,
			     unsigned flags)
{
	bool literal = false, eight = false;
	size_t i, nuls = 0, escapes = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0')
			nuls++;
		else if (c == '\r' || c == '\n')
			literal = true;
		else if (c >= 0x80)
			eight = true;
		else if ((c == '"' || c == '\\') && ++escapes > 4)
			literal = true;	/* Dovecot's taste */
	}
	if (eight && ((flags & MIME_IMAP_UTF8) == 0 ||
		      !mime_utf8_valid(s, len)))
		literal = true;
	if (literal) {
		str_printf(out, "{%zu}\r\n", len - nuls);
		for (i = 0; i < len; i++)
			if (s[i] != '\0')
				str_append_c(out, s[i]);
		return;
	}
	str_reserve(out, len + 2);
	str_append_c(out, '"');
	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			continue;
		if (s[i] == '"' || s[i] == '\\')
			str_append_c(out, '\\');
		str_append_c(out, s[i]);
	}
	str_append_c(out, '"');
}

void mime_imap_append_human(struct str *out, const char *s, size_t len,
			    unsigned flags)
{
	struct str tmp = STR_INIT;
	bool lwsp = true, modify = false;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (c != ' ' || lwsp)
				modify = true;
			if (!lwsp)
				str_append_c(&tmp, ' ');
			lwsp = true;
			continue;
		}
		if (c == '"' || c == '\\' || c == '\0' || c >= 0x80)
			modify = true;
		str_append_c(&tmp, c == '\0' ? (char)0x80 : (char)c);
		lwsp = false;
	}
	if (tmp.len > 0 && tmp.data[tmp.len - 1] == ' ') {
		tmp.len--;
		modify = true;
	}
	if (!modify || tmp.len == 0) {
		mime_imap_append_string(out, str_c(&tmp), tmp.len, flags);
	} else if ((flags & MIME_IMAP_UTF8) != 0 &&
		   mime_utf8_valid(tmp.data, tmp.len) &&
		   memchr(tmp.data, '"', tmp.len) == NULL &&
		   memchr(tmp.data, '\\', tmp.len) == NULL) {
		mime_imap_append_string(out, tmp.data, tmp.len, flags);
	} else {
		/* Dovecot sends any string it had to clean as a literal. */
		str_printf(out, "{%zu}\r\n", tmp.len);
		str_append_n(out, tmp.data, tmp.len);
	}
	str_release(&tmp);
}

void mime_imap_append_nstring(struct str *out, const char *s,
			      unsigned flags)
{
	if (s == NULL)
		str_append(out, "NIL");
	else
		mime_imap_append_string(out, s, strlen(s), flags);
}

/*
 * ENVELOPE
 */

enum {
	ENV_DATE, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO,
	ENV_CC, ENV_BCC, ENV_IN_REPLY_TO, ENV_MESSAGE_ID, ENV_COUNT
};

static const char *const mime_env_names[ENV_COUNT] = {
	"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
	"in-reply-to", "message-id",
};

static void mime_imap_addrs(struct str *out, const struct mime_addr *a,
			    unsigned flags)
{
	if (a == NULL) {
		str_append(out, "NIL");
		return;
	}
	str_append_c(out, '(');
	for (; a != NULL; a = a->next) {
		str_append_c(out, '(');
		if (a->name == NULL)
			str_append(out, "NIL");
		else
			mime_imap_append_human(out, a->name, strlen(a->name),
					       flags);
		str_append_c(out, ' ');
		mime_imap_append_nstring(out, a->route, flags);
		str_append_c(out, ' ');
		mime_imap_append_nstring(out, a->mailbox, flags);
		str_append_c(out, ' ');
		mime_imap_append_nstring(out, a->domain, flags);
		str_append_c(out, ')');
	}
	str_append_c(out, ')');
}

/* Date, In-Reply-To, Message-ID: the value from its first non-blank,
 * line ends dropped, nothing else touched (as Dovecot). */
static void mime_imap_env_value(struct str *out, const struct mime_field *f,
				struct str *tmp, unsigned flags)
{
	const char *v = f->value;
	size_t n = f->value_len, i;

	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	str_clear(tmp);
	for (i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n')
			str_append_c(tmp, v[i]);
	mime_imap_append_string(out, str_c(tmp), tmp->len, flags);
}

void mime_imap_envelope(const struct mime_message *msg,
			const struct mime_part *part, unsigned flags,
			struct str *out)
{
	struct mime_field fields[ENV_COUNT];
	bool found[ENV_COUNT];
	struct mime_addr *addrs[ENV_COUNT];
	struct mime_header_iter iter;
	struct mime_field f;
	struct mime_pool *pool = mime_pool_create();
	struct str tmp = STR_INIT;
	unsigned i;

	memset(found, 0, sizeof(found));
	memset(addrs, 0, sizeof(addrs));
	mime_header_iter_init(&iter, msg->data, part->header.off,
			      part->body.off);
	while (mime_header_next(&iter, &f)) {
		if (!f.has_colon)
			continue;
		for (i = 0; i < ENV_COUNT; i++) {
			if (!found[i] && f.name_len ==
			    strlen(mime_env_names[i]) &&
			    strncasecmp(f.name, mime_env_names[i],
					f.name_len) == 0) {
				fields[i] = f;
				found[i] = true;
			}
		}
	}
	for (i = ENV_FROM; i <= ENV_BCC; i++)
		if (found[i])
			addrs[i] = mime_addr_parse(pool, fields[i].value,
						   fields[i].value_len);
	if (addrs[ENV_SENDER] == NULL)
		addrs[ENV_SENDER] = addrs[ENV_FROM];
	if (addrs[ENV_REPLY_TO] == NULL)
		addrs[ENV_REPLY_TO] = addrs[ENV_FROM];

	str_append_c(out, '(');
	for (i = 0; i < ENV_COUNT; i++) {
		if (i > 0)
			str_append_c(out, ' ');
		if (i >= ENV_FROM && i <= ENV_BCC) {
			mime_imap_addrs(out, addrs[i], flags);
		} else if (!found[i]) {
			str_append(out, "NIL");
		} else if (i == ENV_SUBJECT) {
			const char *v = fields[i].value;
			size_t n = fields[i].value_len;

			/* Where the value starts, as a header parser sees
			 * it: the folding after it is part of it. */
			while (n > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				n--;
			}
			mime_imap_append_human(out, v, n, flags);
		} else {
			mime_imap_env_value(out, &fields[i], &tmp, flags);
		}
	}
	str_append_c(out, ')');
	str_release(&tmp);
	mime_pool_free(&pool);
}

/*
 * BODY and BODYSTRUCTURE
 */

#define MIME_EMPTY_BODY \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

static void mime_imap_params(struct str *out, const struct mime_params *p,
			     bool add_charset, unsigned flags)
{
	unsigned i;
	struct str name = STR_INIT;

	if (p->count == 0 && !add_charset) {
		str_append(out, "NIL");
		return;
	}
	str_append_c(out, '(');
	for (i = 0; i < p->count; i++) {
		str_clear(&name);
		str_append(&name, p->items[i].name);
		if (p->items[i].extended)
			str_append_c(&name, '*');
		if (i > 0)
			str_append_c(out, ' ');
		mime_imap_append_string(out, name.data, name.len, flags);
		str_append_c(out, ' ');
		mime_imap_append_nstring(out, p->items[i].value, flags);
	}
	if (add_charset)
		str_append(out, p->count > 0 ? " \"charset\" \"us-ascii\"" :
			   "\"charset\" \"us-ascii\"");
	str_append_c(out, ')');
	str_release(&name);
}

/* Extension data shared by both kinds: disposition, language,
 * location. */
static void mime_imap_ext(struct str *out, const struct mime_part *part,
			  unsigned flags)
{
	unsigned i;

	str_append_c(out, ' ');
	if (part->disposition == NULL) {
		str_append(out, "NIL");
	} else {
		str_append_c(out, '(');
		mime_imap_append_nstring(out, part->disposition, flags);
		str_append_c(out, ' ');
		mime_imap_params(out, &part->disposition_params, false, flags);
		str_append_c(out, ')');
	}
	str_append_c(out, ' ');
	if (part->language_count == 0) {
		str_append(out, "NIL");
	} else {
		str_append_c(out, '(');
		for (i = 0; i < part->language_count; i++) {
			if (i > 0)
				str_append_c(out, ' ');
			mime_imap_append_nstring(out, part->languages[i],
						 flags);
		}
		str_append_c(out, ')');
	}
	str_append_c(out, ' ');
	mime_imap_append_nstring(out, part->location, flags);
}

static void mime_imap_part(const struct mime_message *msg,
			   const struct mime_part *part, bool extended,
			   unsigned flags, struct str *out);

static void mime_imap_multipart(const struct mime_message *msg,
				const struct mime_part *part, bool extended,
				unsigned flags, struct str *out)
{
	const struct mime_part *child;

	str_append_c(out, '(');
	if (part->children == NULL) {
		str_append(out, MIME_EMPTY_BODY);
		str_append(out, extended ? " NIL NIL NIL NIL)" : ")");
	}
	for (child = part->children; child != NULL; child = child->next)
		mime_imap_part(msg, child, extended, flags, out);
	str_append_c(out, ' ');
	mime_imap_append_nstring(out, part->subtype, flags);
	if (extended) {
		str_append_c(out, ' ');
		mime_imap_params(out, &part->params, false, flags);
		mime_imap_ext(out, part, flags);
	}
	str_append_c(out, ')');
}

static void mime_imap_leaf(const struct mime_message *msg,
			   const struct mime_part *part, bool extended,
			   unsigned flags, struct str *out)
{
	bool limited = (part->flags & MIME_PART_LIMITED) != 0;
	bool message = (part->flags & MIME_PART_MESSAGE) != 0;
	bool text = !limited && mime_part_is_type(part, "text", NULL);
	static const struct mime_params no_params;
	bool charset = false;
	unsigned i;

	str_append_c(out, '(');
	if (limited) {
		str_append(out, "\"application\" \"octet-stream\"");
	} else if (message) {
		str_append(out, "\"message\" \"rfc822\"");
	} else {
		mime_imap_append_nstring(out, part->type, flags);
		str_append_c(out, ' ');
		mime_imap_append_nstring(out, part->subtype, flags);
	}
	/* Dovecot adds the default charset unless a plain one is there. */
	for (i = 0; i < part->params.count; i++)
		if (!part->params.items[i].extended &&
		    strcasecmp(part->params.items[i].name, "charset") == 0)
			charset = true;
	str_append_c(out, ' ');
	mime_imap_params(out, limited ? &no_params : &part->params,
			 text && !charset, flags);
	str_append_c(out, ' ');
	mime_imap_append_nstring(out, part->id, flags);
	str_append_c(out, ' ');
	mime_imap_append_nstring(out, part->description, flags);
	str_append_c(out, ' ');
	mime_imap_append_nstring(out, part->encoding == NULL ? "7bit" :
				 part->encoding, flags);
	str_printf(out, " %zu", mime_part_body_vsize(part));
	if (message) {
		str_append_c(out, ' ');
		mime_imap_envelope(msg, part->children, flags, out);
		str_append_c(out, ' ');
		mime_imap_part(msg, part->children, extended, flags, out);
	}
	if (message || text)
		str_printf(out, " %zu", mime_part_body_lines(part));
	if (extended) {
		str_append_c(out, ' ');
		mime_imap_append_nstring(out, part->md5, flags);
		mime_imap_ext(out, part, flags);
	}
	str_append_c(out, ')');
}

static void mime_imap_part(const struct mime_message *msg,
			   const struct mime_part *part, bool extended,
			   unsigned flags, struct str *out)
{
	if ((part->flags & MIME_PART_MULTIPART) != 0)
		mime_imap_multipart(msg, part, extended, flags, out);
	else
		mime_imap_leaf(msg, part, extended, flags, out);
}

void mime_imap_bodystructure(const struct mime_message *msg,
			     const struct mime_part *part, bool extended,
			     unsigned flags, struct str *out)
{
	mime_imap_part(msg, part, extended, flags, out);
}

/*
 * HEADER.FIELDS
 */

void mime_header_fields(const struct mime_message *msg,
			const struct mime_part *part,
			const char *const *names, size_t name_count,
			bool exclude, struct str *out)
{
	struct mime_header_iter iter;
	struct mime_field f;
	size_t i, end = mime_header_end(msg, part).off;
	bool match;

	mime_header_iter_init(&iter, msg->data, part->header.off, end);
	while (mime_header_next(&iter, &f)) {
		match = false;
		for (i = 0; i < name_count && f.has_colon && !match; i++)
			match = strlen(names[i]) == f.name_len &&
				strncasecmp(names[i], f.name,
					    f.name_len) == 0;
		if (match == exclude)
			continue;
		mime_append_crlf(out, msg->data + f.start, f.end - f.start);
		if (msg->data[f.end - 1] != '\n')
			str_append_n(out, "\r\n", 2);
	}
	/* The blank line, if the header has one or a boundary ended it;
	 * not if the message ended it (all as Dovecot). */
	if (iter.pos < end ||
	    (part->flags & MIME_PART_HEADER_AT_BOUNDARY) != 0)
		str_append_n(out, "\r\n", 2);
}
