/*
 * sendmail: message and address handling of the sendmail compatibility
 * command (sendmail.h): reading the message from stdin, finding the
 * recipients of -t in To:/Cc:/Bcc:, removing Bcc:, and checking and
 * qualifying addresses.
 *
 * Interface: sendmail_read_message, sendmail_address_list,
 * sendmail_headers, sendmail_qualify, sendmail_list_*.
 *
 * SECURITY: runs as the invoking user with the setgid privilege already
 * dropped (sendmail_main.c raises it again only to write the finished
 * file). The message is the user's own data; it is bounded by
 * message_size_limit, and pickup checks the file again anyway.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "mem.h"
#include "str.h"

#include "sendmail.h"

void sendmail_list_add(struct sendmail_list *l, const char *s, size_t len)
{
	l->items = mem_array_realloc(l->items, l->count + 1,
				     sizeof(*l->items));
	l->items[l->count++] = mem_strndup(s, len);
}

void sendmail_list_free(struct sendmail_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		mem_free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

int sendmail_read_message(FILE *in, bool dot_ends, size_t max,
			  struct str *out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool big = false;

	while ((n = getline(&line, &cap, in)) > 0) {
		size_t len = (size_t)n;

		if (line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (dot_ends && len == 1 && line[0] == '.')
			break;
		if (big || out->len + len + 1 > max) {
			big = true;
			continue;
		}
		str_append_n(out, line, len);
		str_append_c(out, '\n');
	}
	free(line);
	if (ferror(in))
		return -1;
	return big ? 0 : 1;
}

/* Skip a comment starting at s[i] == '(' (nested, with \ escapes);
 * returns the index after it. */
static size_t al_skip_comment(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return len;
}

static size_t al_skip_quoted(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return len;
}

/* One element (a mailbox): the part inside <> if any (minus a route),
 * else the text without comments and white space. */
static void al_element(const char *s, size_t len, struct sendmail_list *out)
{
	struct str a = STR_INIT;
	size_t i = 0;

	while (i < len) {
		if (s[i] == '"') {
			size_t e = al_skip_quoted(s, len, i);

			str_append_n(&a, s + i, e - i);
			i = e;
		} else if (s[i] == '(') {
			i = al_skip_comment(s, len, i);
		} else if (s[i] == '<') {
			str_clear(&a);	/* the phrase before '<' */
			i++;
		} else if (s[i] == '>') {
			break;
		} else {
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
			    s[i] != '\r')
				str_append_c(&a, s[i]);
			i++;
		}
	}
	if (a.len > 0 && a.data[0] == '@') {
		/* <@route,@route:user@domain> */
		const char *colon = strchr(a.data, ':');

		if (colon != NULL)
			str_consume(&a, (size_t)(colon + 1 - a.data));
	}
	if (a.len > 0)
		sendmail_list_add(out, a.data, a.len);
	str_release(&a);
}

void sendmail_address_list(const char *s, size_t len,
			   struct sendmail_list *out)
{
	size_t i = 0, start = 0;
	bool angle = false;

	while (i < len) {
		char c = s[i];

		if (c == '"') {
			i = al_skip_quoted(s, len, i);
			continue;
		}
		if (c == '(') {
			i = al_skip_comment(s, len, i);
			continue;
		}
		if (c == '<')
			angle = true;
		else if (c == '>')
			angle = false;
		else if (!angle && c == ':') {
			start = i + 1;	/* group name: drop it */
		} else if (!angle && (c == ',' || c == ';')) {
			al_element(s + start, i - start, out);
			start = i + 1;
		}
		i++;
	}
	if (start < len)
		al_element(s + start, len - start, out);
}

static bool hdr_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* The length of the header field at p (with continuation lines). */
static size_t hdr_field_len(const char *p, const char *end)
{
	const char *q = p;

	do {
		const char *nl = memchr(q, '\n', (size_t)(end - q));

		q = nl != NULL ? nl + 1 : end;
	} while (q < end && (*q == ' ' || *q == '\t'));
	return (size_t)(q - p);
}

void sendmail_headers(struct str *msg, bool extract,
		      struct sendmail_list *rcpts)
{
	size_t pos = 0;

	while (pos < msg->len && msg->data[pos] != '\n') {
		const char *p = msg->data + pos, *end = msg->data + msg->len;
		size_t flen = hdr_field_len(p, end);
		const char *colon = memchr(p, ':', flen);
		bool bcc = hdr_is(p, flen, "bcc");

		if (colon == NULL)
			break;	/* not a header: the body starts here */
		if (extract && (bcc || hdr_is(p, flen, "to") ||
				hdr_is(p, flen, "cc")))
			sendmail_address_list(colon + 1,
					      (size_t)(p + flen - colon - 1),
					      rcpts);
		if (bcc) {
			memmove(msg->data + pos, msg->data + pos + flen,
				msg->len - pos - flen);
			str_truncate(msg, msg->len - flen);
			continue;
		}
		pos += flen;
	}
}

bool sendmail_qualify(const char *in, const char *origin, bool null_ok,
		      struct str *out, const char **error_r)
{
	struct str tmp = STR_INIT;
	struct addr a;
	struct addr_error err;
	size_t len = strlen(in);
	bool ok;

	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	str_clear(out);
	if (len == 0) {
		*error_r = "empty address";
		return null_ok;
	}
	if (memchr(in, '@', len) == NULL && origin == NULL) {
		*error_r = "address has no domain";
		return false;
	}
	str_append_n(&tmp, in, len);
	if (memchr(in, '@', len) == NULL) {
		str_append_c(&tmp, '@');
		str_append(&tmp, origin);
	}
	ok = addr_parse_mailbox(tmp.data, tmp.len, ADDR_F_UTF8, &a, &err);
	if (ok)
		str_append(out, a.text);
	else
		*error_r = err.reason;
	str_release(&tmp);
	return ok;
}
