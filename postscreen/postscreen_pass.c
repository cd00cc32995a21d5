/*
 * postscreen_pass: handing a client to smtpd (postscreen.h, proto.h).
 *
 * Interface: postscreen_pass.
 *
 * The pass service is an smtpd row of type unix ($postscreen_pass_service
 * under private/). The connect is non-blocking: a unix socket accepts
 * at once while its listen queue has room, so postscreen never waits
 * for an smtpd; with the queue full (every smtpd busy for a long time)
 * the client gets a temporary error from the caller instead. What
 * follows fits the socket buffer: one marker byte with the client's
 * descriptor, then the "pass" list. Once sent, the descriptor is in
 * flight: if the smtpd dies before taking it, the kernel closes it.
 *
 * SECURITY: runs as the mail owner. Input passed on (none today:
 * postscreen only peeks) is percent-encoded by attr.c; smtpd reads it as
 * if from the client itself.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "attr.h"
#include "fdpass.h"
#include "lio.h"
#include "postscreen.h"
#include "proto.h"
#include "str.h"

/* Bounds the blocking write of the list (it fits the buffer anyway). */
#define POSTSCREEN_PASS_TIMEOUT 5

static int postscreen_pass_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, saved;

	if (!str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

bool postscreen_pass(const char *path, int client, bool greeted,
		     const char *input, size_t len)
{
	struct attr_list list = ATTR_LIST_INIT;
	struct lio *lio;
	struct str in = STR_INIT;
	enum lio_status st;
	int fd, saved;

	fd = postscreen_pass_connect(path);
	if (fd < 0)
		return false;
	if (!fdpass_send(fd, PROTO_PASS_MARKER, client)) {
		saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	attr_add(&list, PROTO_ATTR_REQUEST, PROTO_REQ_PASS);
	attr_add(&list, PROTO_ATTR_GREETED, greeted ? "1" : "0");
	if (len > 0) {
		str_append_n(&in, input, len);
		attr_add(&list, PROTO_ATTR_INPUT, str_c(&in));
		str_release(&in);
	}
	lio = lio_create(fd, POSTSCREEN_PASS_TIMEOUT);
	attr_write(lio, &list);
	st = lio_flush(lio);
	saved = errno;
	lio_free(&lio);
	attr_list_clear(&list);
	errno = saved;
	return st == LIO_OK;
}
