/*
 * mime_text: the texts IMAP SEARCH compares its string keys with
 * (mime_text_header, mime_text_body in mime.h).
 *
 * imapd's SEARCH matcher and the full-text index (store/store_fts.c)
 * both walk a message through these two functions, so the index holds
 * exactly the strings the matcher would compare, and an answer from the
 * index is the matcher's answer (DESIGN.md, "Full-text search").
 *
 * Header: each field of the part's header (or each field called name),
 * unfolded with its RFC 2047 words decoded; an address field (From, To,
 * Cc, Bcc, Sender, Reply-To) also as "Name <mailbox@domain>, ..." so
 * FROM "user@domain" finds an address written with comments or
 * folding. Body: every leaf part below part with its transfer encoding
 * undone (as written if the encoding is unknown) and, for a text part
 * with a charset, turned into UTF-8.
 *
 * SECURITY: the message is hostile input; the walk is bounded by the
 * parser's part limits, decoding by the decoders' own.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "mime_impl.h"

static bool mime_text_address_field(const char *name, size_t len)
{
	static const char *const fields[] = { "from", "to", "cc", "bcc",
					      "sender", "reply-to" };

	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
		if (strlen(fields[i]) == len &&
		    strncasecmp(fields[i], name, len) == 0)
			return true;
	return false;
}

/* An address header as "Name <mailbox@domain>, ..." with the names
 * decoded. */
static void mime_text_addresses(const char *value, size_t len,
				struct str *out)
{
	struct mime_pool *pool = mime_pool_create();
	const struct mime_addr *a = mime_addr_parse(pool, value, len);

	for (; a != NULL; a = a->next) {
		if (a->name != NULL) {
			mime_header_decode(a->name, strlen(a->name), out);
			str_append_c(out, ' ');
		}
		if (a->mailbox != NULL && a->domain != NULL)
			str_printf(out, "<%s@%s>, ", a->mailbox, a->domain);
		else if (a->mailbox != NULL)
			str_printf(out, "%s: ", a->mailbox);
	}
	mime_pool_free(&pool);
}

bool mime_text_header(const struct mime_message *msg,
		      const struct mime_part *part, const char *name,
		      mime_text_fn *fn, void *ctx)
{
	struct mime_header_iter it;
	struct mime_field f;
	struct str text = STR_INIT;
	bool stop = false;

	mime_header_iter_init(&it, msg->data, part->header.off,
			      part->body.off);
	while (!stop && mime_header_next(&it, &f)) {
		if (!f.has_colon || (name != NULL &&
				     (f.name_len != strlen(name) ||
				      strncasecmp(f.name, name,
						  f.name_len) != 0)))
			continue;
		str_clear(&text);
		mime_header_decode(f.value, f.value_len, &text);
		stop = fn(ctx, text.data == NULL ? "" : text.data, text.len);
		if (!stop && mime_text_address_field(f.name, f.name_len)) {
			str_clear(&text);
			mime_text_addresses(f.value, f.value_len, &text);
			stop = fn(ctx, text.data == NULL ? "" : text.data,
				  text.len);
		}
	}
	str_release(&text);
	return stop;
}

bool mime_text_body(const struct mime_message *msg,
		    const struct mime_part *part, mime_text_fn *fn, void *ctx)
{
	struct str data = STR_INIT, utf8 = STR_INIT;
	const struct mime_param *cs;
	const char *error;
	bool stop = false;

	if (part->children != NULL) {
		for (const struct mime_part *c = part->children;
		     c != NULL && !stop; c = c->next)
			stop = mime_text_body(msg, c, fn, ctx);
		return stop;
	}
	if (mime_part_decode(msg, part, &data, &error) < 0)
		mime_append_crlf(&data, msg->data + part->body.off,
				 part->end.off - part->body.off);
	cs = mime_params_find(&part->params, "charset");
	if (strcasecmp(part->type, "text") == 0 && cs != NULL &&
	    mime_charset_to_utf8(cs->value, data.data == NULL ? "" :
				 data.data, data.len, &utf8))
		stop = fn(ctx, str_c(&utf8), utf8.len);
	else
		stop = fn(ctx, data.data == NULL ? "" : data.data, data.len);
	str_release(&data);
	str_release(&utf8);
	return stop;
}
