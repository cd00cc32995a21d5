#ifndef TOOLS_SENDMAIL_H
#define TOOLS_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "str.h"

/* The sendmail compatibility command's message handling (tools/
 * sendmail.c); tools/sendmail_main.c is the program. */

struct sendmail_list {
	char **items;
	size_t count;
};

void sendmail_list_add(struct sendmail_list *l, const char *s, size_t len);
void sendmail_list_free(struct sendmail_list *l);

/* Read a message from in into out: CRLF becomes LF, a last line without
 * LF gets one. If dot_ends, a line holding only "." ends the input
 * (and is not stored). Returns 1 ok, 0 when the message is larger than
 * max bytes (the rest is drained), -1 on a read error (errno). */
int sendmail_read_message(FILE *in, bool dot_ends, size_t max,
			  struct str *out);

/* Append the addresses of an RFC 5322 address-list (header value,
 * unfolded or not) to out: "Name <a@b>" gives a@b, "a@b (Name)" gives
 * a@b, groups "g: a, b;" give their members, comments and route
 * prefixes are dropped. No syntax check: see sendmail_qualify. */
void sendmail_address_list(const char *value, size_t len,
			   struct sendmail_list *out);

/* Look at the header of msg (up to the first empty line). With extract,
 * append the addresses of every To:, Cc: and Bcc: to rcpts. Bcc: fields
 * (with their continuation lines) are removed from msg in any case
 * (Postfix removes them for -t; we always do, since a Bcc: must never
 * reach the recipients). */
void sendmail_headers(struct str *msg, bool extract,
		      struct sendmail_list *rcpts);

/* Validate an address given on the command line or found in a header
 * and put its canonical form in out; an address without '@' gets
 * "@origin" (origin NULL: it is refused). With null_ok, "" and "<>"
 * mean the null sender (out is ""). False with *error_r (static text) if it is not an address. */
bool sendmail_qualify(const char *in, const char *origin, bool null_ok,
		      struct str *out, const char **error_r);

/* sendmail -bs: an SMTP conversation on standard input and output
 * (tools/sendmail_smtp.c). The state machine is pure: it is fed lines
 * and appends replies to a string; commit queues one message. */
struct sendmail_smtp;
typedef bool sendmail_smtp_commit(void *ctx, const char *sender,
				  const struct sendmail_list *rcpts,
				  const struct str *msg, struct str *id_r,
				  const char **error_r);

/* Limits of one session. */
#define SENDMAIL_SMTP_LINE_MAX 2048	/* a command line */
#define SENDMAIL_SMTP_RCPT_MAX 1000	/* recipients of one message */

/* hostname for the greeting; origin qualifies addresses without '@'
 * (NULL: they are refused); max: the message size limit (0: none). */
struct sendmail_smtp *sendmail_smtp_create(const char *hostname,
					   const char *origin, size_t max,
					   sendmail_smtp_commit *commit,
					   void *ctx);
void sendmail_smtp_free(struct sendmail_smtp **s);
/* The 220 greeting. */
void sendmail_smtp_greeting(struct sendmail_smtp *s, struct str *out);
/* One input line, CRLF or LF stripped; len may exceed the line limit
 * (the command is then refused). Replies are appended to out. */
void sendmail_smtp_line(struct sendmail_smtp *s, const char *line,
			size_t len, struct str *out);
/* True after QUIT was answered: stop reading. */
bool sendmail_smtp_done(const struct sendmail_smtp *s);

#endif
