/*
 * pop3_login_auth: the front end's side of login (pop3_login_int.h):
 * the SASL exchange relayed through the pop3d service, the handoff of the
 * client to the mail process, and the TLS proxy that follows a handoff
 * over TLS.
 *
 * The pop3d connection was opened in pre_init; its protocol is in
 * pop3d_proto.h. Any failure on it is final for this process (the chroot
 * has no socket to reconnect to): the client gets a temporary error and
 * the process exits after the client, so master starts a fresh one.
 *
 * SECURITY: runs unprivileged and chrooted. SASL data passes through
 * unparsed; pop3d and auth check it. Buffers that held credentials are
 * wiped. The proxy moves bytes only, with the mail process's timeout
 * deciding when an idle session ends.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr.h"
#include "fdpass.h"
#include "msg.h"
#include "safe_file.h"
#include "sasl.h"
#include "str.h"

#include "pop3_login_int.h"
#include "pop3d_proto.h"

#define POP3_LOGIN_PROXY_CHUNK 16384

/* Send one request to pop3d and read its reply. */
static bool pop3_login_request(struct pop3_login_config *cfg, char mark,
			       int fd, const struct attr_list *req,
			       struct attr_list *reply)
{
	const char *error = "connection lost";

	if (cfg->pop3d_broken)
		return false;
	if (!cfg->pop3d_hello) {
		if (!attr_client_hello(cfg->pop3d, PROTO_POP3D, &error))
			goto fail;
		cfg->pop3d_hello = true;
	}
	if (!fdpass_send(lio_fd(cfg->pop3d), mark, fd)) {
		error = strerror(errno);
		goto fail;
	}
	attr_write(cfg->pop3d, req);
	if (lio_flush(cfg->pop3d) != LIO_OK ||
	    attr_read(cfg->pop3d, reply, NULL, &error) != LIO_OK)
		goto fail;
	if (attr_get(reply, PROTO_ATTR_STATUS) == NULL) {
		error = "reply without status";
		goto fail;
	}
	return true;
fail:
	msg_warn("%s: %s", POP3D_SOCKET, error);
	cfg->pop3d_broken = true;
	return false;
}

static void pop3_login_temp_fail(struct pop3_login *s)
{
	pop3_login_reply(s, "-ERR [SYS/TEMP] Login service unavailable, "
			 "try again later.");
	s->done = true;
}

/* Give the client to the mail process. */
static void pop3_login_handoff(struct pop3_login *s, const char *user,
			       const char *mech)
{
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	struct str input = STR_INIT;
	int sv[2] = { -1, -1 }, pass = s->fd;
	const char *status;

	if (lio_flush(s->lio) != LIO_OK) {
		s->done = true;
		return;
	}
	if (s->tls != NULL) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			       sv) < 0) {
			msg_warn("socketpair: %m");
			pop3_login_temp_fail(s);
			return;
		}
		pass = sv[1];
	} else {
		/* Pipelined commands after the login go along. */
		while (lio_pending(s->lio) > 0 && input.len < POP3D_MAX_INPUT)
			if (lio_read_avail(s->lio, &input, POP3D_MAX_INPUT -
					   input.len) != LIO_OK)
				break;
	}
	attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_LOGIN);
	attr_add(&req, PROTO_ATTR_TLS, s->tls != NULL ? "yes" : "no");
	attr_add(&req, PROTO_ATTR_CLIENT_ADDR, s->addr);
	if (input.len > 0)
		attr_add(&req, PROTO_ATTR_INPUT, str_c(&input));
	if (!pop3_login_request(s->cfg, POP3D_MARK_LOGIN, pass, &req,
				&reply)) {
		pop3_login_temp_fail(s);
		goto done;
	}
	status = attr_get(&reply, PROTO_ATTR_STATUS);
	if (strcmp(status, PROTO_STATUS_OK) != 0) {
		msg_warn("pop3d refused the login of %s: %s", user,
			 attr_get(&reply, PROTO_ATTR_REASON) ?: status);
		pop3_login_temp_fail(s);
		goto done;
	}
	msg_info("login: user=<%s>, method=%s, rip=%s%s", user, mech,
		 s->addr, s->tls != NULL ? ", TLS" : "");
	s->handed_off = true;
	s->pair = sv[0];
	sv[0] = -1;
done:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	attr_list_clear(&req);
	attr_list_clear(&reply);
	str_release(&input);
}

/* The client's answer to a challenge; NULL if the connection failed. */
static const char *pop3_login_read_response(struct pop3_login *s,
					    struct str *line)
{
	enum lio_status st;

	st = lio_read_line(s->lio, line, SASL_MAX_RESPONSE + 2);
	if (st == LIO_TOOLONG) {
		if (!pop3_login_skip_line(s->lio, line))
			return NULL;
		return "*";
	}
	if (st != LIO_OK)
		return NULL;
	str_rtrim(line);
	return str_c(line);
}

static void pop3_login_failed(struct pop3_login *s,
			      const struct attr_list *reply,
			      const char *mech, bool cancelled)
{
	const char *temp = attr_get(reply, PROTO_ATTR_TEMPORARY);

	s->errors++;
	if (cancelled) {
		pop3_login_reply(s, "-ERR Authentication aborted by client.");
		return;
	}
	msg_info("authentication failed: method=%s, rip=%s, reason=%s",
		 mech, s->addr, attr_get(reply, PROTO_ATTR_REASON) ?: "?");
	if (temp != NULL && strcmp(temp, "1") == 0)
		pop3_login_reply(s, "-ERR [SYS/TEMP] Temporary "
				 "authentication failure.");
	else
		pop3_login_reply(s, "-ERR [AUTH] Authentication failed.");
}

void pop3_login_auth(struct pop3_login *s, const char *mech,
		     const char *initial, bool sasl)
{
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	struct str line = STR_INIT;
	const char *status, *resp;
	bool cancelled = false;

	attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_AUTHENTICATE);
	attr_add(&req, PROTO_ATTR_SERVICE, "pop3");
	attr_add(&req, PROTO_ATTR_MECHANISM, mech);
	attr_add(&req, PROTO_ATTR_CLIENT_ADDR, s->addr);
	if (initial != NULL)
		attr_add(&req, PROTO_ATTR_RESPONSE, initial);
	for (;;) {
		if (!pop3_login_request(s->cfg, POP3D_MARK_REQUEST, -1, &req,
					&reply)) {
			pop3_login_temp_fail(s);
			break;
		}
		status = attr_get(&reply, PROTO_ATTR_STATUS);
		if (strcmp(status, PROTO_STATUS_OK) == 0) {
			pop3_login_handoff(s, attr_get(&reply,
					   PROTO_ATTR_USER) ?: "?", mech);
			break;
		}
		if (strcmp(status, PROTO_STATUS_CONTINUE) != 0 || !sasl ||
		    cancelled) {
			pop3_login_failed(s, &reply, mech, cancelled);
			break;
		}
		lio_printf(s->lio, "+ %s\r\n",
			   attr_get(&reply, PROTO_ATTR_CHALLENGE) ?: "");
		resp = pop3_login_read_response(s, &line);
		if (resp == NULL) {
			s->done = true;
			break;
		}
		cancelled = strcmp(resp, "*") == 0;
		attr_list_clear(&req);
		attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_CONTINUE);
		attr_add(&req, PROTO_ATTR_RESPONSE, resp);
		explicit_bzero(line.data, line.len);
	}
	for (size_t i = 0; i < req.count; i++)
		explicit_bzero(req.attrs[i].value, strlen(req.attrs[i].value));
	attr_list_clear(&req);
	attr_list_clear(&reply);
	str_release(&line);
}

/* One step of the proxy; false when the session is over. */
static bool pop3_login_proxy_step(struct pop3_login *s, struct str *buf)
{
	struct pollfd pfd[2];
	char tmp[POP3_LOGIN_PROXY_CHUNK];
	ssize_t n;

	pfd[0].fd = s->fd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	pfd[1].fd = s->pair;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	if (lio_pending(s->lio) == 0 && poll(pfd, 2, -1) < 0)
		return errno == EINTR;
	if (lio_pending(s->lio) > 0 || pfd[0].revents != 0) {
		str_clear(buf);
		if (lio_read_avail(s->lio, buf, POP3_LOGIN_PROXY_CHUNK) !=
		    LIO_OK || !safe_write_all(s->pair, buf->data, buf->len))
			return false;
	}
	if (pfd[1].revents != 0) {
		n = read(s->pair, tmp, sizeof(tmp));
		if (n <= 0)
			return n < 0 && errno == EINTR;
		lio_write(s->lio, tmp, (size_t)n);
		if (lio_flush(s->lio) != LIO_OK)
			return false;
	}
	return true;
}

void pop3_login_proxy(struct pop3_login *s)
{
	struct str buf = STR_INIT;

	while (pop3_login_proxy_step(s, &buf))
		;
	/* Let the mail process see the end, and the client ours. */
	shutdown(s->pair, SHUT_RDWR);
	close(s->pair);
	s->pair = -1;
	str_release(&buf);
}
