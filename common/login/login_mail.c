/*
 * login_mail: the start of a mail process exec'd by the spawner
 * (login_spawn.h): logging, its parameters from the pipe on fd 1, and a
 * last check of who we are.
 *
 * SECURITY: the parameters come from the spawner (root), which took
 * them from auth's verdict; the client's address and read-ahead input
 * are the only client data among them. The process already runs as the
 * mailbox owner: it refuses to run as root.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "clean_env.h"
#include "lio.h"
#include "msg.h"
#include "proto.h"
#include "str.h"

#include "login_spawn.h"

#define LOGIN_MAIL_PARAMS_TIMEOUT 10

static const struct attr_spec login_mail_spec[] = {
	{ PROTO_ATTR_USER, true, false },
	{ PROTO_ATTR_MAILBOX, true, false },
	{ PROTO_ATTR_UID, true, false },
	{ PROTO_ATTR_GID, true, false },
	{ PROTO_ATTR_QUOTA, false, false },
	{ PROTO_ATTR_CLIENT_ADDR, true, false },
	{ PROTO_ATTR_TLS, true, false },
	{ PROTO_ATTR_TIMEOUT, true, false },
	{ PROTO_ATTR_VERBOSE, true, false },
	{ PROTO_ATTR_LOG, true, false },
	{ PROTO_ATTR_INPUT, false, false },
	{ PROTO_ATTR_DATA, false, false },
	{ NULL, false, false }
};

bool login_mail_is_session(int argc, char **argv)
{
	return argc == 2 && strcmp(argv[1], LOGIN_MAIL_ARG) == 0;
}

void login_mail_init(const char *name, struct login_mail *m)
{
	struct lio *lio;
	const char *error = "end of file";
	long uid, gid, timeout, verbose;

	memset(m, 0, sizeof(*m));
	msg_set_name(name);
	lio = lio_create(LOGIN_MAIL_PARAMS_FD, LOGIN_MAIL_PARAMS_TIMEOUT);
	if (attr_read(lio, &m->params, login_mail_spec, &error) != LIO_OK)
		msg_fatal("mail process parameters: %s", error);
	lio_free(&lio);		/* closes the pipe */
	/* The pipe's descriptor (1), and the log's (2) with syslog: taken
	 * before syslog's socket could take one and free it again. */
	std_fds_reserve();
	if (strcmp(attr_get(&m->params, PROTO_ATTR_LOG), "file") == 0)
		msg_open_fd(LOGIN_MAIL_LOG_FD);
	else
		msg_open_syslog();
	if (attr_get_long(&m->params, PROTO_ATTR_VERBOSE, &verbose))
		msg_set_verbose((int)verbose);
	m->user = attr_get(&m->params, PROTO_ATTR_USER);
	m->mailbox = attr_get(&m->params, PROTO_ATTR_MAILBOX);
	m->addr = attr_get(&m->params, PROTO_ATTR_CLIENT_ADDR);
	m->tls = strcmp(attr_get(&m->params, PROTO_ATTR_TLS), "yes") == 0;
	m->input = attr_get(&m->params, PROTO_ATTR_INPUT);
	m->input_len = m->input != NULL ? strlen(m->input) : 0;
	m->data = attr_get(&m->params, PROTO_ATTR_DATA);
	m->quota = attr_get(&m->params, PROTO_ATTR_QUOTA);
	if (!attr_get_long(&m->params, PROTO_ATTR_UID, &uid) ||
	    !attr_get_long(&m->params, PROTO_ATTR_GID, &gid) ||
	    !attr_get_long(&m->params, PROTO_ATTR_TIMEOUT, &timeout) ||
	    uid < 0 || gid < 0 || timeout < 0 || m->mailbox[0] != '/')
		msg_fatal("mail process parameters: malformed");
	m->uid = (uid_t)uid;
	m->gid = (gid_t)gid;
	m->timeout = (int)timeout;
	if (geteuid() == 0 || getuid() == 0)
		msg_fatal("user=<%s>: a mail process never runs as root",
			  m->user);
}
