#ifndef POP3D_POP3_PARSE_H
#define POP3D_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* The POP3 command parser shared by the front end (pop3-login) and the
 * mail process (pop3d): one line in, one command out.
 *
 * A line is a keyword (case-insensitive) and arguments separated by
 * spaces, ending in CRLF (a bare LF is accepted too). The parser knows
 * each command's arity (RFC 1939, 2449, 2595, 5034) and checks it, so the
 * state machines only check state and meaning. PASS takes the rest of the
 * line as one argument (passwords may contain spaces). */

#define POP3_MAX_ARGS 2
#define POP3_MAX_ARG_LEN 255	/* AUTH's initial response excepted */
/* Command line limits (bytes, CRLF included). */
#define POP3_LINE_MAX 1024

enum pop3_cmd_id {
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_APOP,
	POP3_CMD_AUTH,
	POP3_CMD_STLS,
	POP3_CMD_CAPA,
	POP3_CMD_QUIT,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
};

struct pop3_cmd {
	enum pop3_cmd_id id;
	const char *name;	/* upper case, static */
	int nargs;
	char *args[POP3_MAX_ARGS];	/* point into buf */
	struct str buf;
};

#define POP3_CMD_INIT { 0, NULL, 0, { NULL, NULL }, STR_INIT }

/* Parse line (as read, with its line end) into cmd. False with a reply
 * text for "-ERR " in *error_r: "Unknown command", "Missing argument",
 * ... */
bool pop3_parse(const struct str *line, struct pop3_cmd *cmd,
		const char **error_r);
void pop3_cmd_free(struct pop3_cmd *cmd);

/* A message number or line count: decimal digits only, no sign, no
 * leading '+', in [min, max]. */
bool pop3_parse_number(const char *s, unsigned long min, unsigned long max,
		       unsigned long *n_r);

#endif
