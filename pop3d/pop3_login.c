/*
 * pop3_login: POP3's table for the login library (pop3_login.h): the
 * AUTHORIZATION state's commands.
 *
 * The state is small: the name given with USER (until PASS, and
 * forgotten at STLS). USER/PASS becomes a SASL PLAIN response for auth;
 * AUTH relays any offered mechanism. Every command counts towards
 * $login_command_limit, bad ones towards the error limit too.
 *
 * SECURITY: runs as the login user in an empty chroot (root mode) with
 * no access to mail or passwords; every byte from the client is
 * untrusted and goes through pop3_parse. The PLAIN response built from
 * USER/PASS and the parsed command are wiped after use.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "sasl.h"
#include "str.h"

#include "pop3_login.h"
#include "pop3_parse.h"

void pop3_login_capa(bool stls, bool plain_ok, char **mechanisms,
		     struct str *out)
{
	char **m;

	str_append(out, "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		   "AUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (plain_ok) {
		str_append(out, "USER\r\nSASL");
		for (m = mechanisms; m != NULL && *m != NULL; m++)
			str_printf(out, " %s", *m);
		str_append(out, "\r\n");
	}
	if (stls)
		str_append(out, "STLS\r\n");
	str_append(out, "IMPLEMENTATION correo\r\n");
}

/* The USER name, kept until PASS. */
static void pop3_login_free_user(void *pctx)
{
	struct str *user = pctx;

	if (user->data != NULL)
		explicit_bzero(user->data, user->len);
	str_release(user);
	free(user);
}

static void pop3_login_greet(struct login_client *c)
{
	login_client_reply(c, "+OK correo ready.");
}

static void pop3_login_challenge(struct login_client *c, const char *chal)
{
	login_client_write(c, "+ ", 2);
	login_client_reply(c, chal);
}

static void pop3_login_cmd_capa(struct login_client *c)
{
	struct str capa = STR_INIT;

	pop3_login_capa(login_client_tls_available(c),
			login_client_plaintext_ok(c),
			login_client_mechanisms(c), &capa);
	login_client_reply(c, "+OK Capability list follows");
	login_client_write(c, capa.data, capa.len);
	login_client_reply(c, ".");
	str_release(&capa);
}

static void pop3_login_cmd_stls(struct login_client *c)
{
	if (!login_client_tls_available(c)) {
		login_client_reply(c, login_client_tls(c) ?
				   "-ERR TLS is already active." :
				   "-ERR TLS support isn't enabled.");
		login_client_error(c);
		return;
	}
	login_client_reply(c, "+OK Begin TLS negotiation now.");
	login_client_starttls(c);
}

static void pop3_login_cmd_user(struct login_client *c,
				const struct pop3_cmd *cmd)
{
	struct str *user = login_client_pctx(c);

	if (!login_client_check_plaintext(c))
		return;
	if (user == NULL) {
		user = mem_alloc(sizeof(*user));
		login_client_set_pctx(c, user);
	}
	str_set(user, cmd->args[0]);
	login_client_reply(c, "+OK");
}

static void pop3_login_cmd_pass(struct login_client *c,
				const struct pop3_cmd *cmd)
{
	struct str *user = login_client_pctx(c);
	struct str msg = STR_INIT, b64 = STR_INIT;

	if (!login_client_check_plaintext(c))
		return;
	if (user == NULL || user->len == 0) {
		login_client_reply(c, "-ERR No username given.");
		login_client_error(c);
		return;
	}
	/* PLAIN: authzid NUL authcid NUL passwd, in one allocation each
	 * (no stale copies from growing). */
	str_reserve(&msg, user->len + strlen(cmd->args[0]) + 2);
	str_reserve(&b64, (user->len + strlen(cmd->args[0]) + 2) / 3 * 4 +
		    8);
	str_append_c(&msg, '\0');
	str_append_n(&msg, user->data, user->len);
	str_append_c(&msg, '\0');
	str_append(&msg, cmd->args[0]);
	sasl_base64_encode(&b64, msg.data, msg.len);
	explicit_bzero(msg.data, msg.len);
	login_client_auth(c, "PLAIN", str_c(&b64));
	explicit_bzero(b64.data, b64.len);
	str_release(&msg);
	str_release(&b64);
	explicit_bzero(user->data, user->len);
	str_clear(user);
}

static void pop3_login_cmd_auth(struct login_client *c,
				struct pop3_cmd *cmd)
{
	char **m;

	if (cmd->nargs == 0) {
		/* Not in RFC 5034, but many clients probe with it. */
		login_client_reply(c, "+OK");
		for (m = login_client_mechanisms(c); m != NULL && *m != NULL;
		     m++)
			login_client_reply(c, *m);
		login_client_reply(c, ".");
		return;
	}
	if (!login_client_check_plaintext(c))
		return;
	if (!login_client_mech_offered(c, cmd->args[0])) {
		login_client_reply(c, "-ERR Unsupported authentication "
				   "mechanism.");
		login_client_error(c);
		return;
	}
	for (char *p = cmd->args[0]; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	login_client_auth(c, cmd->args[0], cmd->nargs > 1 ? cmd->args[1] :
			  NULL);
}

static void pop3_login_dispatch(struct login_client *c, struct pop3_cmd *cmd)
{
	switch (cmd->id) {
	case POP3_CMD_CAPA: pop3_login_cmd_capa(c); break;
	case POP3_CMD_STLS: pop3_login_cmd_stls(c); break;
	case POP3_CMD_USER: pop3_login_cmd_user(c, cmd); break;
	case POP3_CMD_PASS: pop3_login_cmd_pass(c, cmd); break;
	case POP3_CMD_AUTH: pop3_login_cmd_auth(c, cmd); break;
	case POP3_CMD_QUIT:
		login_client_quit(c, "+OK Logging out.");
		break;
	case POP3_CMD_APOP:
		login_client_reply(c, "-ERR APOP is not enabled.");
		login_client_error(c);
		break;
	default:
		login_client_reply(c, "-ERR Unknown command or not allowed "
				   "before login.");
		login_client_error(c);
		break;
	}
}

static void pop3_login_command(struct login_client *c, struct str *line)
{
	struct pop3_cmd cmd = POP3_CMD_INIT;
	struct str reply = STR_INIT;
	const char *error;

	if (!pop3_parse(line, &cmd, &error)) {
		str_printf(&reply, "-ERR %s.", error);
		login_client_reply(c, str_c(&reply));
		login_client_error(c);
		str_release(&reply);
	} else
		pop3_login_dispatch(c, &cmd);
	if (cmd.buf.data != NULL)
		explicit_bzero(cmd.buf.data, cmd.buf.len);
	pop3_cmd_free(&cmd);
}

const struct login_proto pop3_login_proto = {
	.name = "pop3",
	.spawner_socket = "private/pop3d",
	.tls_wrapper_key = "pop3_tls_wrapper",
	.plaintext_key = "pop3_disable_plaintext_auth",
	.line_max = SASL_MAX_RESPONSE + 64,	/* AUTH with a response */
	.greet = pop3_login_greet,
	.command = pop3_login_command,
	.challenge = pop3_login_challenge,
	.reply_auth_failed = "-ERR [AUTH] Authentication failed.",
	.reply_auth_tempfail = "-ERR [SYS/TEMP] Temporary authentication "
			       "failure.",
	.reply_auth_aborted = "-ERR Authentication aborted by client.",
	.reply_plaintext = "-ERR [AUTH] Plaintext authentication disallowed "
			   "on non-secure (SSL/TLS) connections.",
	.reply_too_many = "-ERR Too many bad commands.",
	.reply_timeout = "-ERR Disconnected for inactivity.",
	.reply_unavailable = "-ERR [SYS/TEMP] Login service unavailable, "
			     "try again later.",
	.reply_in_use = "-ERR [IN-USE]",
	.reply_line_too_long = "-ERR Line too long.",
	.free_pctx = pop3_login_free_user,
};
