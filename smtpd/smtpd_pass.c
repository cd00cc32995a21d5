/*
 * smtpd_pass: clients handed over by postscreen (smtpd.h, proto.h).
 *
 * Interface: smtpd_pass_serve.
 *
 * An smtpd row of type unix (private/smtpd by default, the one
 * $postscreen_pass_service names) serves no SMTP on its own socket:
 * each connection brings one client socket (SCM_RIGHTS, fdpass.h) and
 * one "pass" list saying whether postscreen already greeted the client
 * and what the client sent since (at most one command line). The
 * session then runs as if smtpd had accepted the client itself and read
 * those bytes: no second greeting, the bytes are the first input.
 *
 * SECURITY: the pass socket is in private/ (mode 0700, the mail owner),
 * so only postscreen, running as the mail owner, can hand clients over;
 * still, the list is read strictly, its input is bounded, and the
 * descriptor must be a TCP socket (a file or another kind of socket is
 * refused), so a confused peer cannot make smtpd serve something else.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr.h"
#include "fdpass.h"
#include "lio.h"
#include "msg.h"
#include "proto.h"
#include "smtpd.h"

/* How long postscreen may take to send what it promised. */
#define SMTPD_PASS_TIMEOUT 10
/* More than one command line postscreen ever buffers. */
#define SMTPD_PASS_INPUT_MAX 8192

static const struct attr_spec smtpd_pass_spec[] = {
	{ PROTO_ATTR_REQUEST, true, false },
	{ PROTO_ATTR_GREETED, true, false },
	{ PROTO_ATTR_INPUT, false, false },
	{ NULL, false, false },
};

/* Wait for the marker, then take it with its descriptor. */
static int smtpd_pass_recv_fd(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char byte;
	int client = -1, ret;

	do {
		ret = poll(&pfd, 1, SMTPD_PASS_TIMEOUT * 1000);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0) {
		msg_warn("pass: nothing from postscreen");
		return -1;
	}
	ret = fdpass_recv(fd, &byte, &client);
	if (ret <= 0 || client < 0 || byte != PROTO_PASS_MARKER) {
		if (ret < 0)
			msg_warn("pass: receive client: %m");
		else if (ret > 0)
			msg_warn("pass: bad hand-over from postscreen");
		if (client >= 0)
			close(client);
		return -1;
	}
	return client;
}

/* A TCP socket (IPv4 or IPv6), made blocking (postscreen's may not be). */
static bool smtpd_pass_check_fd(int client)
{
	int type = 0, domain = 0, flags;
	socklen_t len = sizeof(type);

	if (getsockopt(client, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM)
		return false;
	len = sizeof(domain);
	if (getsockopt(client, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (domain != AF_INET && domain != AF_INET6))
		return false;
	flags = fcntl(client, F_GETFL);
	return flags >= 0 && fcntl(client, F_SETFL, flags & ~O_NONBLOCK) == 0;
}

void smtpd_pass_serve(const struct smtpd_config *c, int fd)
{
	struct attr_list req = ATTR_LIST_INIT;
	struct smtpd_handoff h = { 0 };
	struct lio *lio = NULL;
	const char *error = NULL, *greeted, *input;
	int own, client = smtpd_pass_recv_fd(fd);

	if (client < 0)
		return;
	if (!smtpd_pass_check_fd(client)) {
		msg_warn("pass: the descriptor is not a TCP socket");
		goto fail;
	}
	own = dup(fd);		/* lio_free closes it; the skeleton, fd */
	if (own < 0) {
		msg_warn("dup: %m");
		goto fail;
	}
	lio = lio_create(own, SMTPD_PASS_TIMEOUT);
	if (attr_read(lio, &req, smtpd_pass_spec, &error) != LIO_OK) {
		msg_warn("pass: bad request from postscreen: %s",
			 error != NULL ? error : "connection closed");
		goto fail;
	}
	greeted = attr_get(&req, PROTO_ATTR_GREETED);
	input = attr_get(&req, PROTO_ATTR_INPUT);
	if (strcmp(attr_get(&req, PROTO_ATTR_REQUEST), PROTO_REQ_PASS) != 0 ||
	    (strcmp(greeted, "0") != 0 && strcmp(greeted, "1") != 0) ||
	    (input != NULL && strlen(input) > SMTPD_PASS_INPUT_MAX)) {
		msg_warn("pass: bad request from postscreen");
		goto fail;
	}
	lio_free(&lio);
	h.greeted = greeted[0] == '1';
	h.input = input;
	h.input_len = input != NULL ? strlen(input) : 0;
	smtpd_session_run_passed(c, client, &h);
	attr_list_clear(&req);
	return;
fail:
	lio_free(&lio);
	attr_list_clear(&req);
	close(client);
}
