/*
 * fuzz_login: libFuzzer target for the pre-auth front end's client
 * state machine (common/login/login_client.c) with POP3's table
 * (pop3d/pop3_login.c): line cutting, over-long lines, the command and
 * error limits, the plaintext policy and every AUTHORIZATION command.
 *
 * Input: the bytes a client sends, in chunks: byte 0 is the chunk size
 * (1-256), so lines split at every place. The "spawner" is marked
 * broken, so USER/PASS and AUTH end at the temporary failure without
 * leaving the process. Checked: no crash or sanitizer report, replies
 * are lines, and the client is freed when the peer closes.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>

#include "fuzz.h"

#include "ev.h"
#include "login.h"
#include "login_int.h"
#include "pop3_login.h"

static char *mechs[] = { "PLAIN", "LOGIN", NULL };

static void fuzz_drain(int peer)
{
	char buf[4096];

	while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init("fuzz_login");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, off = 1;
	int sv[2], i;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] + 1;
	memset(&login_server, 0, sizeof(login_server));
	login_server.proto = &pop3_login_proto;
	login_server.set.client_limit = 10;
	login_server.set.deadline_ms = 60000;
	login_server.set.command_limit = 50;
	login_server.set.error_limit = 20;
	login_server.set.plaintext_disabled = (data[0] & 1) != 0;
	login_server.set.loopback_secure = true;
	login_server.set.mechanisms = mechs;
	login_server.spawner_broken = true;
	login_server.loop = ev_create();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	login_client_accept(sv[1]);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (send(sv[0], data + off, n, MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			break;
		off += n;
		for (i = 0; i < 4; i++)
			ev_run_once(login_server.loop, 0);
		fuzz_drain(sv[0]);
	}
	shutdown(sv[0], SHUT_WR);
	for (i = 0; i < 50 && login_server.nclients > 0; i++) {
		ev_run_once(login_server.loop, 1);
		fuzz_drain(sv[0]);
	}
	if (login_server.nclients != 0)
		abort();	/* a closed client must be freed */
	close(sv[0]);
	ev_free(&login_server.loop);
	return 0;
}
