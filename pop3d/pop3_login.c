/*
 * pop3_login: the POP3 front end's AUTHORIZATION state (pop3_login.h).
 *
 * One process serves one client at a time (SERVER_SINGLE). The state is
 * small: TLS or not, the name given with USER, an error count. Commands
 * are read with a bound of POP3_LINE_MAX bytes (SASL responses up to
 * SASL_MAX_RESPONSE) and a timeout of pop3_timeout; after
 * POP3_LOGIN_MAX_ERRORS bad commands the client is disconnected.
 *
 * Credentials never stay here longer than one request: USER/PASS become
 * a SASL PLAIN response, and every SASL exchange is relayed to the pop3d
 * service (pop3_login_auth.c), which asks auth and keeps the result.
 *
 * SECURITY: runs as the login user in an empty chroot (root mode) with no
 * access to mail or passwords; every byte from the client is untrusted.
 * STLS discards input received before the handshake (tls_server_start),
 * so nothing pipelined behind STLS is executed after it (CVE-2011-0411).
 * Plaintext credentials are refused before TLS when
 * pop3_disable_plaintext_auth is set, on every address, loopback
 * included.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "sasl.h"
#include "server.h"
#include "str.h"

#include "pop3_login.h"
#include "pop3_login_int.h"
#include "pop3_parse.h"
#include "pop3d_proto.h"

#define POP3_LOGIN_MAX_ERRORS 20
#define POP3_LOGIN_EMPTY_DIR "empty"

void pop3_login_capa(const struct pop3_login_config *cfg, bool tls,
		     struct str *out)
{
	bool plain_ok = tls || !cfg->plaintext_disabled;
	char **m;

	str_append(out, "CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		   "AUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (plain_ok) {
		str_append(out, "USER\r\nSASL");
		for (m = cfg->mechanisms; m != NULL && *m != NULL; m++)
			str_printf(out, " %s", *m);
		str_append(out, "\r\n");
	}
	if (cfg->tls != NULL && !tls)
		str_append(out, "STLS\r\n");
	str_append(out, "IMPLEMENTATION correo\r\n");
}

void pop3_login_reply(struct pop3_login *s, const char *text)
{
	lio_printf(s->lio, "%s\r\n", text);
}

static void pop3_login_cmd_capa(struct pop3_login *s)
{
	struct str capa = STR_INIT;

	pop3_login_capa(s->cfg, s->tls != NULL, &capa);
	lio_printf(s->lio, "+OK Capability list follows\r\n%s.\r\n",
		   str_c(&capa));
	str_release(&capa);
}

static void pop3_login_cmd_stls(struct pop3_login *s)
{
	const char *error;

	if (s->cfg->tls == NULL || s->tls != NULL) {
		pop3_login_reply(s, s->tls != NULL ?
				 "-ERR TLS is already active." :
				 "-ERR TLS support isn't enabled.");
		s->errors++;
		return;
	}
	pop3_login_reply(s, "+OK Begin TLS negotiation now.");
	if (lio_flush(s->lio) != LIO_OK) {
		s->done = true;
		return;
	}
	s->tls = tls_server_start(s->cfg->tls, s->lio, s->cfg->timeout,
				  &error);
	if (s->tls == NULL) {
		msg_info("STLS failed: %s, rip=%s", error, s->addr);
		s->done = true;
		return;
	}
	/* RFC 2595: forget everything learned before TLS. */
	str_clear(&s->user);
}

static bool pop3_login_plain_ok(struct pop3_login *s)
{
	if (s->tls != NULL || !s->cfg->plaintext_disabled)
		return true;
	pop3_login_reply(s, "-ERR [AUTH] Plaintext authentication "
			 "disallowed on non-secure (SSL/TLS) connections.");
	s->errors++;
	return false;
}

static void pop3_login_cmd_user(struct pop3_login *s,
				const struct pop3_cmd *cmd)
{
	if (!pop3_login_plain_ok(s))
		return;
	str_set(&s->user, cmd->args[0]);
	pop3_login_reply(s, "+OK");
}

static void pop3_login_cmd_pass(struct pop3_login *s,
				const struct pop3_cmd *cmd)
{
	struct str msg = STR_INIT, b64 = STR_INIT;

	if (!pop3_login_plain_ok(s))
		return;
	if (s->user.len == 0) {
		pop3_login_reply(s, "-ERR No username given.");
		s->errors++;
		return;
	}
	/* PLAIN: authzid NUL authcid NUL passwd. */
	str_append_c(&msg, '\0');
	str_append_n(&msg, s->user.data, s->user.len);
	str_append_c(&msg, '\0');
	str_append(&msg, cmd->args[0]);
	sasl_base64_encode(&b64, msg.data, msg.len);
	explicit_bzero(msg.data, msg.len);
	pop3_login_auth(s, "PLAIN", str_c(&b64), false);
	explicit_bzero(b64.data, b64.len);
	str_release(&msg);
	str_release(&b64);
	str_clear(&s->user);
}

static bool pop3_login_mech_offered(struct pop3_login *s, const char *mech)
{
	char **m;

	for (m = s->cfg->mechanisms; m != NULL && *m != NULL; m++)
		if (strcasecmp(*m, mech) == 0)
			return true;
	return false;
}

static void pop3_login_cmd_auth(struct pop3_login *s,
				const struct pop3_cmd *cmd)
{
	char **m;

	if (cmd->nargs == 0) {
		/* Not in RFC 5034, but many clients probe with it. */
		lio_puts(s->lio, "+OK\r\n");
		for (m = s->cfg->mechanisms; m != NULL && *m != NULL; m++)
			lio_printf(s->lio, "%s\r\n", *m);
		lio_puts(s->lio, ".\r\n");
		return;
	}
	if (!pop3_login_plain_ok(s))
		return;
	if (!pop3_login_mech_offered(s, cmd->args[0])) {
		pop3_login_reply(s, "-ERR Unsupported authentication "
				 "mechanism.");
		s->errors++;
		return;
	}
	for (char *p = cmd->args[0]; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	pop3_login_auth(s, cmd->args[0], cmd->nargs > 1 ? cmd->args[1] : NULL,
			true);
}

static void pop3_login_dispatch(struct pop3_login *s, struct pop3_cmd *cmd)
{
	switch (cmd->id) {
	case POP3_CMD_CAPA: pop3_login_cmd_capa(s); break;
	case POP3_CMD_STLS: pop3_login_cmd_stls(s); break;
	case POP3_CMD_USER: pop3_login_cmd_user(s, cmd); break;
	case POP3_CMD_PASS: pop3_login_cmd_pass(s, cmd); break;
	case POP3_CMD_AUTH: pop3_login_cmd_auth(s, cmd); break;
	case POP3_CMD_QUIT:
		pop3_login_reply(s, "+OK Logging out.");
		s->done = true;
		break;
	case POP3_CMD_APOP:
		pop3_login_reply(s, "-ERR APOP is not enabled.");
		s->errors++;
		break;
	default:
		pop3_login_reply(s, "-ERR Unknown command or not allowed "
				 "before login.");
		s->errors++;
		break;
	}
}

/* Read the rest of an over-long line. False if the connection failed. */
bool pop3_login_skip_line(struct lio *lio, struct str *line)
{
	enum lio_status st;

	do {
		st = lio_read_line(lio, line, POP3_LINE_MAX);
	} while (st == LIO_TOOLONG);
	return st == LIO_OK;
}

static void pop3_login_command(struct pop3_login *s, struct str *line)
{
	struct pop3_cmd cmd = POP3_CMD_INIT;
	const char *error;

	if (!pop3_parse(line, &cmd, &error)) {
		lio_printf(s->lio, "-ERR %s.\r\n", error);
		s->errors++;
	} else
		pop3_login_dispatch(s, &cmd);
	explicit_bzero(cmd.buf.data, cmd.buf.len);
	pop3_cmd_free(&cmd);
}

static void pop3_login_loop(struct pop3_login *s)
{
	struct str line = STR_INIT;
	enum lio_status st;

	while (!s->done && !s->handed_off) {
		if (s->errors >= POP3_LOGIN_MAX_ERRORS) {
			pop3_login_reply(s, "-ERR Too many bad commands.");
			break;
		}
		/* AUTH's initial response may be long. */
		st = lio_read_line(s->lio, &line, SASL_MAX_RESPONSE + 64);
		if (st == LIO_TOOLONG) {
			pop3_login_reply(s, "-ERR Line too long.");
			s->errors++;
			if (!pop3_login_skip_line(s->lio, &line))
				break;
			continue;
		}
		if (st == LIO_TIMEOUT)
			pop3_login_reply(s, "-ERR Disconnected for "
					 "inactivity.");
		if (st != LIO_OK)
			break;
		pop3_login_command(s, &line);
	}
	if (line.data != NULL)
		explicit_bzero(line.data, line.len);
	str_release(&line);
}

static void pop3_login_peer(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const void *a = NULL;

	str_snprintf(buf, size, "unknown");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (a != NULL)
		inet_ntop(ss.ss_family, a, buf, (socklen_t)size);
}

void pop3_login_serve(int fd, void *ctx)
{
	struct pop3_login s;
	const char *error;

	memset(&s, 0, sizeof(s));
	s.cfg = ctx;
	s.fd = fd;
	pop3_login_peer(fd, s.addr, sizeof(s.addr));
	s.lio = lio_create(fd, s.cfg->timeout);
	msg_debug("connect from [%s]", s.addr);
	if (s.cfg->tls_wrapper) {
		s.tls = tls_server_start(s.cfg->tls, s.lio, s.cfg->timeout,
					 &error);
		if (s.tls == NULL) {
			msg_info("TLS handshake failed: %s, rip=%s", error,
				 s.addr);
			goto done;
		}
	}
	pop3_login_reply(&s, "+OK correo ready.");
	pop3_login_loop(&s);
	if (s.handed_off && s.tls != NULL)
		pop3_login_proxy(&s);
	else if (!s.handed_off)
		(void)lio_flush(s.lio);
done:
	if (s.tls != NULL)
		tls_conn_free(&s.tls, s.lio);
	str_release(&s.user);
	lio_free(&s.lio);
	if (s.cfg->pop3d_broken) {
		msg_info("lost the pop3d service; exiting");
		exit(0);
	}
}

static void pop3_login_tls_init(struct pop3_login_config *cfg)
{
	struct tls_settings set;
	char *error = NULL;

	if (!tls_server_settings(cfg_main, server_service_name, &set)) {
		if (cfg->tls_wrapper)
			msg_fatal("pop3_tls_wrapper: %s: %m", set.cert_file);
		msg_info("no %s: STLS not offered", set.cert_file);
		return;
	}
	cfg->tls = tls_server_ctx(&set, &error);
	if (cfg->tls == NULL)
		msg_fatal("TLS: %s", error);
}

void pop3_login_pre_init(void *ctx)
{
	struct pop3_login_config *cfg = ctx;
	struct stat st;
	int fd;

	cfg->timeout = (int)cfg_time(cfg_main, "pop3_timeout");
	cfg->plaintext_disabled = cfg_bool(cfg_main,
					   "pop3_disable_plaintext_auth");
	cfg->tls_wrapper = cfg_bool(cfg_main, "pop3_tls_wrapper");
	cfg->mechanisms = cfg_list(cfg_main, "auth_mechanisms");
	pop3_login_tls_init(cfg);
	/* The chroot has no sockets: connect now, while private/ is in
	 * reach, and keep the connection for every client. */
	fd = lio_connect_unix(POP3D_SOCKET, cfg->timeout);
	if (fd < 0)
		msg_fatal("connect to %s: %m", POP3D_SOCKET);
	cfg->pop3d = lio_create(fd, cfg->timeout);
	if (!priv_is_root())
		return;
	/* -r (services.conf chroot column) jails us where we stand. */
	if (mkdir(POP3_LOGIN_EMPTY_DIR, 0555) < 0 && errno != EEXIST)
		msg_fatal("mkdir %s: %m", POP3_LOGIN_EMPTY_DIR);
	if (stat(POP3_LOGIN_EMPTY_DIR, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & 0222) != 0)
		msg_fatal("%s/%s must be a directory owned by root and "
			  "writable by nobody",
			  cfg_str(cfg_main, "queue_directory"),
			  POP3_LOGIN_EMPTY_DIR);
	if (chdir(POP3_LOGIN_EMPTY_DIR) < 0)
		msg_fatal("chdir %s: %m", POP3_LOGIN_EMPTY_DIR);
}
