/*
 * echod: a test daemon for master and the server skeleton. It speaks the
 * "echo" protocol (proto.h): after the handshake each request list is
 * sent back with status=ok added, until the client closes. A list
 * carrying "sleep=N" waits N seconds before answering (to hold a child
 * busy in pool tests); "pid" in the reply tells the test which child
 * answered. A trigger byte (a wakeup from master) is logged as
 * "trigger W". A list carrying "forbidden=yes" makes a system call its
 * sandbox (sandbox_echod) does not allow, so tests can watch seccomp
 * kill it (SIGSYS) and master log that.
 *
 * Interface: server_main (SERVER_SINGLE); services.conf:
 *   echo  unix  n  -  n  -  4  echod
 *
 * SECURITY: a test program, never installed. Runs with whatever
 * privileges the skeleton left it; reads only from its client.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr.h"
#include "lio.h"
#include "msg.h"
#include "proto.h"
#include "server.h"

#define ECHOD_TIMEOUT 30
#define ECHOD_MAX_SLEEP 60

static void echod_reply(struct lio *lio, const struct attr_list *req)
{
	struct attr_list reply = ATTR_LIST_INIT;
	long secs;
	size_t i;

	if (attr_get(req, "forbidden") != NULL) {
		/* Not in echod's allowlist, sanitizer builds included:
		 * opening a file for writing. */
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		msg_warn("forbidden open returned %d: sandbox not in force",
			 fd);
		if (fd >= 0)
			close(fd);
	}
	if (attr_get_long(req, "sleep", &secs) && secs > 0 &&
	    secs <= ECHOD_MAX_SLEEP)
		sleep((unsigned)secs);
	for (i = 0; i < req->count; i++)
		attr_add(&reply, req->attrs[i].name, req->attrs[i].value);
	attr_add(&reply, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	attr_add_long(&reply, "pid", (long)getpid());
	attr_add(&reply, "service", server_service_name);
	attr_write(lio, &reply);
	(void)lio_flush(lio);
	attr_list_clear(&reply);
}

/* An echo client waits for the hello, so a byte already waiting is a
 * trigger from master (or server_trigger). Log it so tests can count. XXX:
 * a trigger whose byte is still in flight is taken for a client and
 * logged as a protocol error instead; the tests allow for that. */
static bool echod_trigger(int fd)
{
	char c;

	if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 1)
		return false;
	if (c != PROTO_TRIGGER_WAKEUP && c != PROTO_TRIGGER_SCAN &&
	    c != PROTO_TRIGGER_FLUSH)
		return false;
	msg_info("trigger %c", c);
	return true;
}

static void echod_serve(int fd, void *ctx)
{
	struct lio *lio;
	struct attr_list req = ATTR_LIST_INIT;
	const char *error = NULL;
	enum lio_status st;

	if (echod_trigger(fd))
		return;
	lio = lio_create(fd, ECHOD_TIMEOUT);
	attr_server_hello(lio, PROTO_ECHO);
	while ((st = attr_read(lio, &req, NULL, &error)) == LIO_OK)
		echod_reply(lio, &req);
	if (st != LIO_EOF)
		msg_warn("echo client: %s", error != NULL ? error : "error");
	attr_list_clear(&req);
	lio_free(&lio);
}

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.name = "echod",
		.mode = SERVER_SINGLE,
		.serve = echod_serve,
		.sandbox = &sandbox_echod,
	});
}
