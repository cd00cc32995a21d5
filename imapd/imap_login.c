/*
 * imap_login: IMAP's table for the login library (imap_login.h): the
 * not-authenticated state of RFC 3501/9051 (CAPABILITY, NOOP, LOGOUT,
 * STARTTLS, LOGIN, AUTHENTICATE with SASL-IR, ID).
 *
 * Each client has an IMAP command parser, fed line by line, so literals
 * ({n}, answered with a continuation, and {n+}) work in LOGIN as in any
 * command. LOGIN becomes a SASL PLAIN response for auth; AUTHENTICATE
 * relays any offered mechanism. The tag of the command that logs in goes
 * to the mail process, which answers it ("tag OK [CAPABILITY ...]").
 *
 * SECURITY: runs as the login user in an empty chroot (root mode) with
 * no access to mail or passwords. Everything from the client goes
 * through the IMAP parser's limits; the parsed LOGIN arguments and the
 * PLAIN response built from them are wiped after use.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_login.h"
#include "imap_parse.h"
#include "mem.h"
#include "sasl.h"
#include "str.h"

/* The capabilities before login; the mail process announces its own. */
#define IMAP_LOGIN_CAPS "IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE " \
	"LITERAL+"

/* The longest line before login: an ID command at RFC 2971's limits (30
 * fields of 30 octets with values of 1024) fits, and so does an
 * AUTHENTICATE with the longest initial response. */
#define IMAP_LOGIN_LINE_MAX (40 * 1024)

struct imap_login_state {
	struct imap_parser *parser;
	struct str tag;		/* of the command being answered */
};

static struct imap_login_state *imap_login_state(struct login_client *c)
{
	struct imap_login_state *st = login_client_pctx(c);
	struct imap_parser_limits limits = {
		.line_max = IMAP_LOGIN_LINE_MAX,
		.literal_max = SASL_MAX_RESPONSE,
		.args_max = 128,	/* ID: 30 pairs */
		.depth_max = 4,
		.literal_plus = true,
	};

	if (st == NULL) {
		st = mem_alloc(sizeof(*st));
		st->parser = imap_parser_create(&limits);
		login_client_set_pctx(c, st);
	}
	return st;
}

static void imap_login_free(void *pctx)
{
	struct imap_login_state *st = pctx;

	imap_parser_free(&st->parser);
	str_release(&st->tag);
	free(st);
}

void imap_login_capability(bool starttls, bool plain_ok, char **mechanisms,
			   struct str *out)
{
	str_append(out, IMAP_LOGIN_CAPS);
	if (starttls)
		str_append(out, " STARTTLS");
	if (!plain_ok) {
		str_append(out, " LOGINDISABLED");
		return;
	}
	for (char **m = mechanisms; m != NULL && *m != NULL; m++)
		str_printf(out, " AUTH=%s", *m);
}

static void imap_login_caps(struct login_client *c, struct str *out)
{
	imap_login_capability(login_client_tls_available(c),
			      login_client_plaintext_ok(c),
			      login_client_mechanisms(c), out);
}

static void imap_login_greet(struct login_client *c)
{
	struct str line = STR_INIT;

	str_append(&line, "* OK [CAPABILITY ");
	imap_login_caps(c, &line);
	str_append(&line, "] correo ready.");
	login_client_reply(c, str_c(&line));
	str_release(&line);
}

/* The reply to the command in progress: its tag in front. */
static void imap_login_answer(struct login_client *c, const char *text)
{
	struct imap_login_state *st = imap_login_state(c);
	struct str line = STR_INIT;

	str_printf(&line, "%s %s", st->tag.len > 0 ? str_c(&st->tag) : "*",
		   text);
	login_client_reply(c, str_c(&line));
	str_release(&line);
}

static void imap_login_tagged(struct login_client *c, const char *tag,
			      const char *text)
{
	struct str line = STR_INIT;

	str_printf(&line, "%s %s", tag, text);
	login_client_reply(c, str_c(&line));
	str_release(&line);
}

static void imap_login_challenge(struct login_client *c, const char *chal)
{
	login_client_write(c, "+ ", 2);
	login_client_reply(c, chal);
}

static void imap_login_cmd_login(struct login_client *c,
				 const struct imap_cmd *cmd)
{
	struct str msg = STR_INIT, b64 = STR_INIT;
	const char *user, *pass;
	size_t ulen, plen;

	if (cmd->nargs != 2 || !imap_arg_get_astring(&cmd->args[0], &user) ||
	    !imap_arg_get_astring(&cmd->args[1], &pass)) {
		imap_login_tagged(c, cmd->tag, "BAD Invalid arguments.");
		login_client_error(c);
		return;
	}
	if (!login_client_plaintext_ok(c)) {
		imap_login_tagged(c, cmd->tag, "NO [PRIVACYREQUIRED] "
				  "Plaintext authentication disallowed on "
				  "non-secure (SSL/TLS) connections.");
		login_client_error(c);
		return;
	}
	ulen = cmd->args[0].len;
	plen = cmd->args[1].len;
	/* PLAIN: authzid NUL authcid NUL passwd, allocated once. */
	str_reserve(&msg, ulen + plen + 2);
	str_reserve(&b64, (ulen + plen + 2) / 3 * 4 + 8);
	str_append_c(&msg, '\0');
	str_append_n(&msg, user, ulen);
	str_append_c(&msg, '\0');
	str_append_n(&msg, pass, plen);
	sasl_base64_encode(&b64, msg.data, msg.len);
	explicit_bzero(msg.data, msg.len);
	login_client_set_handoff_data(c, cmd->tag);
	login_client_auth(c, "PLAIN", str_c(&b64));
	explicit_bzero(b64.data, b64.len);
	str_release(&msg);
	str_release(&b64);
}

static void imap_login_cmd_authenticate(struct login_client *c,
					const struct imap_cmd *cmd)
{
	const char *mech, *initial = NULL;
	char *upper;

	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    !imap_arg_get_atom(&cmd->args[0], &mech) ||
	    (cmd->nargs == 2 && !imap_arg_get_astring(&cmd->args[1],
						     &initial))) {
		imap_login_tagged(c, cmd->tag, "BAD Invalid arguments.");
		login_client_error(c);
		return;
	}
	if (!login_client_plaintext_ok(c)) {
		imap_login_tagged(c, cmd->tag, "NO [PRIVACYREQUIRED] "
				  "Plaintext authentication disallowed on "
				  "non-secure (SSL/TLS) connections.");
		login_client_error(c);
		return;
	}
	if (!login_client_mech_offered(c, mech)) {
		imap_login_tagged(c, cmd->tag, "NO Unsupported "
				  "authentication mechanism.");
		login_client_error(c);
		return;
	}
	upper = mem_strdup(mech);
	for (char *p = upper; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	login_client_set_handoff_data(c, cmd->tag);
	login_client_auth(c, upper, initial);
	free(upper);
}

static void imap_login_cmd_starttls(struct login_client *c,
				    const struct imap_cmd *cmd)
{
	if (!login_client_tls_available(c)) {
		imap_login_tagged(c, cmd->tag, login_client_tls(c) ?
				  "BAD TLS is already active." :
				  "BAD TLS support isn't enabled.");
		login_client_error(c);
		return;
	}
	imap_login_tagged(c, cmd->tag, "OK Begin TLS negotiation now.");
	login_client_starttls(c);
}

static void imap_login_dispatch(struct login_client *c,
				const struct imap_cmd *cmd)
{
	struct str caps = STR_INIT;

	if (cmd->nargs > 0 && !cmd->uid &&
	    (strcmp(cmd->name, "CAPABILITY") == 0 ||
	     strcmp(cmd->name, "NOOP") == 0 ||
	     strcmp(cmd->name, "LOGOUT") == 0 ||
	     strcmp(cmd->name, "STARTTLS") == 0)) {
		/* As in imapd: "NOOP x" is not a NOOP. */
		imap_login_tagged(c, cmd->tag, "BAD Unexpected arguments.");
		login_client_error(c);
	} else if (strcmp(cmd->name, "CAPABILITY") == 0) {
		str_append(&caps, "* CAPABILITY ");
		imap_login_caps(c, &caps);
		login_client_reply(c, str_c(&caps));
		imap_login_tagged(c, cmd->tag, "OK Pre-login capabilities "
				  "listed, post-login capabilities have more.");
	} else if (strcmp(cmd->name, "NOOP") == 0) {
		imap_login_tagged(c, cmd->tag, "OK NOOP completed.");
	} else if (strcmp(cmd->name, "LOGOUT") == 0) {
		login_client_reply(c, "* BYE Logging out");
		imap_login_tagged(c, cmd->tag, "OK Logout completed.");
		login_client_quit(c, NULL);
	} else if (strcmp(cmd->name, "ID") == 0) {
		login_client_reply(c, "* ID (\"name\" \"correo\")");
		imap_login_tagged(c, cmd->tag, "OK ID completed.");
	} else if (strcmp(cmd->name, "STARTTLS") == 0) {
		imap_login_cmd_starttls(c, cmd);
	} else if (strcmp(cmd->name, "LOGIN") == 0) {
		imap_login_cmd_login(c, cmd);
	} else if (strcmp(cmd->name, "AUTHENTICATE") == 0) {
		imap_login_cmd_authenticate(c, cmd);
	} else if (strcmp(cmd->name, "ENABLE") == 0 ||
		   strcmp(cmd->name, "SELECT") == 0 ||
		   strcmp(cmd->name, "EXAMINE") == 0 ||
		   strcmp(cmd->name, "LIST") == 0) {
		imap_login_tagged(c, cmd->tag, "BAD Not authenticated.");
		login_client_error(c);
	} else {
		imap_login_tagged(c, cmd->tag, "BAD Unknown command or not "
				  "allowed before login.");
		login_client_error(c);
	}
	str_release(&caps);
}

static void imap_login_command(struct login_client *c, struct str *line)
{
	struct imap_login_state *st = imap_login_state(c);
	const struct imap_cmd *cmd;
	struct str reply = STR_INIT;
	size_t off = 0, used;

	while (off < line->len) {
		enum imap_parse_result r;

		r = imap_parser_feed(st->parser, line->data + off,
				     line->len - off, &used);
		off += used;
		cmd = imap_parser_cmd(st->parser);
		str_set(&st->tag, cmd->tag != NULL ? cmd->tag : "");
		switch (r) {
		case IMAP_PARSE_MORE:
			break;
		case IMAP_PARSE_CONT:
			login_client_reply(c, "+ OK");
			break;
		case IMAP_PARSE_DONE:
			imap_login_dispatch(c, cmd);
			imap_parser_reset(st->parser);
			break;
		case IMAP_PARSE_ERROR:
			str_clear(&reply);
			str_printf(&reply, "%s BAD %s", cmd->tag != NULL ?
				   cmd->tag : "*",
				   imap_parser_error(st->parser));
			login_client_reply(c, str_c(&reply));
			login_client_error(c);
			break;
		default:
			str_clear(&reply);
			str_printf(&reply, "* BYE %s",
				   imap_parser_error(st->parser));
			login_client_quit(c, str_c(&reply));
			off = line->len;
			break;
		}
		if (used == 0 && r != IMAP_PARSE_CONT)
			break;
	}
	str_release(&reply);
}

const struct login_proto imap_login_proto = {
	.name = "imap",
	.spawner_socket = "private/imapd",
	.tls_wrapper_key = "imap_tls_wrapper",
	.plaintext_key = "imap_disable_plaintext_auth",
	.line_max = IMAP_LOGIN_LINE_MAX,
	.greet = imap_login_greet,
	.command = imap_login_command,
	.challenge = imap_login_challenge,
	.answer = imap_login_answer,
	.reply_auth_failed = "NO [AUTHENTICATIONFAILED] Authentication "
			     "failed.",
	.reply_auth_tempfail = "NO [UNAVAILABLE] Temporary authentication "
			       "failure.",
	.reply_auth_aborted = "BAD Authentication aborted by client.",
	.reply_plaintext = "NO [PRIVACYREQUIRED] Plaintext authentication "
			   "disallowed on non-secure (SSL/TLS) connections.",
	.reply_too_many = "* BYE Too many invalid commands.",
	.reply_timeout = "* BYE Disconnected for inactivity.",
	.reply_unavailable = "* BYE [UNAVAILABLE] Login service "
			     "unavailable, try again later.",
	.reply_in_use = "NO [LIMIT]",
	.reply_line_too_long = "* BYE Line too long.",
	.free_pctx = imap_login_free,
};
