/*
 * pop3_parse: POP3 command lines (pop3_parse.h).
 *
 * The keyword is looked up in one table that also gives the command's
 * arity; arguments are split at runs of spaces (RFC 1939 says one space,
 * but clients that send two are common enough to forgive). PASS is the
 * exception: its argument is the rest of the line, spaces included.
 *
 * SECURITY: the input is an untrusted client line, already bounded by
 * lio_read_line. Nothing is copied into fixed buffers; a NUL byte or a
 * control character other than the line end is refused, so later code
 * can treat arguments as C strings.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "pop3_parse.h"

struct pop3_cmd_def {
	const char *name;
	enum pop3_cmd_id id;
	int min, max;
	bool rest;		/* one argument: the rest of the line */
	size_t arg_max;
};

static const struct pop3_cmd_def pop3_cmd_defs[] = {
	{ "USER", POP3_CMD_USER, 1, 1, false, POP3_MAX_ARG_LEN },
	{ "PASS", POP3_CMD_PASS, 1, 1, true, POP3_MAX_ARG_LEN },
	{ "APOP", POP3_CMD_APOP, 2, 2, false, POP3_MAX_ARG_LEN },
	{ "AUTH", POP3_CMD_AUTH, 0, 2, false, POP3_LINE_MAX },
	{ "STLS", POP3_CMD_STLS, 0, 0, false, 0 },
	{ "CAPA", POP3_CMD_CAPA, 0, 0, false, 0 },
	{ "QUIT", POP3_CMD_QUIT, 0, 0, false, 0 },
	{ "STAT", POP3_CMD_STAT, 0, 0, false, 0 },
	{ "LIST", POP3_CMD_LIST, 0, 1, false, POP3_MAX_ARG_LEN },
	{ "RETR", POP3_CMD_RETR, 1, 1, false, POP3_MAX_ARG_LEN },
	{ "DELE", POP3_CMD_DELE, 1, 1, false, POP3_MAX_ARG_LEN },
	{ "NOOP", POP3_CMD_NOOP, 0, 0, false, 0 },
	{ "RSET", POP3_CMD_RSET, 0, 0, false, 0 },
	{ "TOP", POP3_CMD_TOP, 2, 2, false, POP3_MAX_ARG_LEN },
	{ "UIDL", POP3_CMD_UIDL, 0, 1, false, POP3_MAX_ARG_LEN },
};

#define POP3_NCMDS (sizeof(pop3_cmd_defs) / sizeof(pop3_cmd_defs[0]))

void pop3_cmd_free(struct pop3_cmd *cmd)
{
	str_release(&cmd->buf);
}

static const struct pop3_cmd_def *pop3_find(const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < POP3_NCMDS; i++)
		if (strlen(pop3_cmd_defs[i].name) == len &&
		    strncasecmp(pop3_cmd_defs[i].name, word, len) == 0)
			return &pop3_cmd_defs[i];
	return NULL;
}

/* Copy the line without its line end; refuse control characters. */
static bool pop3_copy_line(const struct str *line, struct str *buf,
			   const char **error_r)
{
	size_t len = line->len, i;

	if (len > 0 && line->data[len - 1] == '\n')
		len--;
	if (len > 0 && line->data[len - 1] == '\r')
		len--;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line->data[i];

		if (c < 0x20 && c != '\t') {
			*error_r = "Invalid characters in command";
			return false;
		}
	}
	str_clear(buf);
	str_append_n(buf, line->data, len);
	return true;
}

static bool pop3_split(const struct pop3_cmd_def *def, char *p,
		       struct pop3_cmd *cmd, const char **error_r)
{
	char *arg;

	while (*p == ' ')
		p++;
	if (def->rest && *p != '\0') {
		cmd->args[cmd->nargs++] = p;
		p += strlen(p);
	}
	while ((arg = str_token(&p, " ")) != NULL) {
		if (cmd->nargs == def->max) {
			*error_r = "Too many arguments";
			return false;
		}
		cmd->args[cmd->nargs++] = arg;
	}
	if (cmd->nargs < def->min) {
		*error_r = "Missing argument";
		return false;
	}
	for (int i = 0; i < cmd->nargs; i++)
		if (strlen(cmd->args[i]) > def->arg_max) {
			*error_r = "Argument too long";
			return false;
		}
	return true;
}

bool pop3_parse(const struct str *line, struct pop3_cmd *cmd,
		const char **error_r)
{
	const struct pop3_cmd_def *def;
	size_t wlen;
	char *p;

	cmd->nargs = 0;
	cmd->args[0] = cmd->args[1] = NULL;
	cmd->name = NULL;
	if (!pop3_copy_line(line, &cmd->buf, error_r))
		return false;
	p = cmd->buf.data;
	if (p == NULL || *p == '\0') {
		*error_r = "Empty command";
		return false;
	}
	wlen = strcspn(p, " ");
	def = pop3_find(p, wlen);
	if (def == NULL) {
		*error_r = "Unknown command";
		return false;
	}
	cmd->id = def->id;
	cmd->name = def->name;
	return pop3_split(def, p + wlen, cmd, error_r);
}

bool pop3_parse_number(const char *s, unsigned long min, unsigned long max,
		       unsigned long *n_r)
{
	unsigned long n = 0;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		/* max - digit would wrap for a max below the digit. */
		if ((unsigned long)(*s - '0') > max ||
		    n > (max - (unsigned long)(*s - '0')) / 10)
			return false;
		n = n * 10 + (unsigned long)(*s - '0');
	}
	if (n < min)
		return false;
	*n_r = n;
	return true;
}
