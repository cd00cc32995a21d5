/*
 * smtp_reply: reading and classifying SMTP/LMTP server replies.
 *
 * Interface: smtp_reply_read, smtp_reply_line, smtp_reply_reset,
 * smtp_reply_release, smtp_reply_status.
 *
 * A reply is one or more lines "ddd-text" ending with "ddd text" (or a
 * bare "ddd"), every line with the same code (RFC 5321 4.2.1). The
 * enhanced status code (RFC 3463) is the server's when the first line's
 * text starts with one whose class matches the reply code, else derived
 * from the code ("4.0.0", "5.0.0", "2.0.0"), as Postfix does.
 *
 * SECURITY: replies are untrusted network input: lines are read with a
 * length limit and a timeout, longer lines are cut (the rest is read and
 * dropped), a reply has at most SMTP_REPLY_MAX_LINES lines and its kept
 * text at most SMTP_REPLY_MAX_TEXT bytes.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "msg.h"
#include "smtp.h"

#define SMTP_LINE_MAX 2048
#define SMTP_REPLY_MAX_LINES 1000
#define SMTP_REPLY_MAX_TEXT 2000
#define SMTP_REPLY_MAX_LINES_TEXT 16384

void smtp_reply_reset(struct smtp_reply *reply)
{
	reply->code = 0;
	reply->dsn[0] = '\0';
	str_clear(&reply->text);
	str_clear(&reply->lines);
}

void smtp_reply_release(struct smtp_reply *reply)
{
	str_release(&reply->text);
	str_release(&reply->lines);
	reply->code = 0;
}

/* "c.ddd.ddd" at the start of text, followed by a blank or the end;
 * its length, or 0. */
static size_t smtp_enhanced_len(const char *text, size_t len, char class)
{
	size_t i = 0;

	if (len < 5 || text[0] != class || text[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < len && isdigit((unsigned char)text[i]) &&
		       i - start < 3)
			i++;
		if (i == start)
			return 0;
		if (part == 0) {
			if (i >= len || text[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && text[i] != ' ' && text[i] != '\t')
		return 0;
	return i;
}

static void smtp_reply_first(struct smtp_reply *reply, const char *line,
			     size_t len)
{
	char class = line[0];
	size_t elen = len > 4 ? smtp_enhanced_len(line + 4, len - 4, class)
		: 0;

	if (elen > 0 && (class == '2' || class == '4' || class == '5')) {
		memcpy(reply->dsn, line + 4, elen);
		reply->dsn[elen] = '\0';
	} else {
		reply->dsn[0] = class == '4' || class == '5' ? class : '2';
		memcpy(reply->dsn + 1, ".0.0", 5);
	}
	str_append_n(&reply->text, line, len);
}

int smtp_reply_line(struct smtp_reply *reply, const char *line, size_t len)
{
	int code;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
	if (code < 200 || code > 599)
		return -1;
	if (reply->code == 0) {
		reply->code = code;
		smtp_reply_first(reply, line, len);
	} else if (code != reply->code) {
		return -1;
	} else if (len > 4 && reply->text.len < SMTP_REPLY_MAX_TEXT) {
		str_append_c(&reply->text, ' ');
		str_append_n(&reply->text, line + 4, len - 4);
	}
	if (reply->lines.len < SMTP_REPLY_MAX_LINES_TEXT) {
		if (len > 4)
			str_append_n(&reply->lines, line + 4, len - 4);
		str_append_c(&reply->lines, '\n');
	}
	if (reply->text.len > SMTP_REPLY_MAX_TEXT)
		str_truncate(&reply->text, SMTP_REPLY_MAX_TEXT);
	return len > 3 && line[3] == '-' ? 0 : 1;
}

/* One line; a line over the limit is cut and its rest dropped. */
static enum lio_status smtp_read_line(struct lio *lio, struct str *line)
{
	struct str rest = STR_INIT;
	enum lio_status st = lio_read_line(lio, line, SMTP_LINE_MAX);

	while (st == LIO_TOOLONG) {
		st = lio_read_line(lio, &rest, SMTP_LINE_MAX);
		if (st == LIO_OK && (rest.len == 0 ||
				     rest.data[rest.len - 1] != '\n'))
			st = LIO_EOF;
		else if (st == LIO_OK)
			break;
	}
	str_release(&rest);
	return st;
}

enum lio_status smtp_reply_read(struct lio *lio, long timeout,
				struct smtp_reply *reply)
{
	struct str line = STR_INIT;
	enum lio_status st = LIO_ERROR;

	smtp_reply_reset(reply);
	lio_set_timeout(lio, (int)timeout);
	for (int n = 0; n < SMTP_REPLY_MAX_LINES; n++) {
		int r;

		st = smtp_read_line(lio, &line);
		if (st != LIO_OK)
			break;
		r = smtp_reply_line(reply, line.data, line.len);
		if (r != 0) {
			st = r > 0 ? LIO_OK : LIO_ERROR;
			break;
		}
		st = LIO_ERROR;
	}
	if (st != LIO_OK)
		reply->code = 0;
	str_release(&line);
	return st;
}

enum smtp_status smtp_reply_status(const struct smtp_reply *reply)
{
	if (reply->code >= 500)
		return SMTP_BOUNCE;
	if (reply->code >= 400 || reply->code < 200)
		return SMTP_DEFER;
	return SMTP_OK;
}
