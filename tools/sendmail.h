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

#endif
