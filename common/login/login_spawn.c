/*
 * login_spawn: the mail-process spawner (login_spawn.h, proto.h
 * "Login"): serves one front-end process over its whole life.
 *
 *   auth_connect  connect to private/auth and pass the descriptor back
 *                 (the chrooted front end cannot reach it)
 *   login         redeem the cookie with auth, then fork; the child
 *                 moves the client to fd 0, the parameter pipe to fd 1
 *                 and the log file (if any) to fd 2, closes every other
 *                 descriptor, drops to the user's uid/gid and execs the
 *                 mail program; the parent writes the parameters
 *
 * Children are reaped by the kernel (SIGCHLD ignored with SA_NOCLDWAIT);
 * a session outlives the spawner that started it.
 *
 * SECURITY: runs as root (the invoker in instance mode), because it must
 * become any mailbox owner; it never sees a password. The front end is
 * not trusted: it may only name a cookie, and the user, mailbox, uid and
 * gid come from auth's answer to our own redeem request. uid 0 is
 * refused. The mail process is a fresh program image with nothing of
 * ours: no listening socket, no connection to a front end or to auth,
 * no heap.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "anvil_client.h"
#include "attr.h"
#include "cfg.h"
#include "fdpass.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "proto.h"
#include "server.h"
#include "str.h"

#include "login_spawn.h"

extern char **environ;

#define LOGIN_SPAWN_AUTH_SOCKET "private/auth"
#define LOGIN_SPAWN_TIMEOUT 30

struct login_spawn_conn {
	const struct login_spawn_spec *spec;
	int fd;
	struct lio *lio;
	struct lio *auth;	/* ours, for redeem */
};

static char login_spawn_exe[PATH_MAX];
static struct anvil_client *login_spawn_anvil;

static const struct attr_spec login_spawn_req_spec[] = {
	{ PROTO_ATTR_REQUEST, true, false },
	{ PROTO_ATTR_COOKIE, false, false },
	{ PROTO_ATTR_CLIENT_ADDR, false, false },
	{ PROTO_ATTR_LOCAL_ADDR, false, false },
	{ PROTO_ATTR_TLS, false, false },
	{ PROTO_ATTR_INPUT, false, false },
	{ PROTO_ATTR_DATA, false, false },
	{ NULL, false, false }
};

static const struct attr_spec login_spawn_redeem_spec[] = {
	{ PROTO_ATTR_STATUS, true, false },
	{ PROTO_ATTR_USER, false, false },
	{ PROTO_ATTR_MAILBOX, false, false },
	{ PROTO_ATTR_UID, false, false },
	{ PROTO_ATTR_GID, false, false },
	{ PROTO_ATTR_QUOTA, false, false },
	{ PROTO_ATTR_REASON, false, false },
	{ NULL, false, false }
};

static void login_spawn_reply_limit(struct login_spawn_conn *c, int fd,
				    const char *status, const char *reason,
				    long limit)
{
	struct attr_list reply = ATTR_LIST_INIT;

	if (!fdpass_send(c->fd, LOGIN_MARK, fd))
		msg_warn("reply to front end: %m");
	attr_add(&reply, PROTO_ATTR_STATUS, status);
	if (reason != NULL)
		attr_add(&reply, PROTO_ATTR_REASON, reason);
	if (limit > 0)
		attr_add_long(&reply, PROTO_ATTR_USERIP_LIMIT, limit);
	attr_write(c->lio, &reply);
	attr_list_clear(&reply);
}

static void login_spawn_reply(struct login_spawn_conn *c, int fd,
			      const char *status, const char *reason)
{
	login_spawn_reply_limit(c, fd, status, reason, 0);
}

/* mail_max_userip_connections: count this session of user from addr
 * with anvil on a held connection (anvil_client_hold) that goes to the
 * mail process, so it counts until that process is gone, however it
 * ends. False if the user is over the limit. No anvil: no limit. */
static bool login_spawn_userip(const struct login_spawn_conn *c,
			       const char *user, const char *addr,
			       long limit, int *hold_r)
{
	struct anvil_counts counts;
	struct str service = STR_INIT, key = STR_INIT;
	bool ok = true;

	*hold_r = -1;
	if (limit <= 0)
		return true;
	if (login_spawn_anvil == NULL)
		login_spawn_anvil = anvil_client_create(NULL);
	str_printf(&service, "%s/user", c->spec->service);
	str_printf(&key, "%s/%s", user, addr);
	if (anvil_client_hold(login_spawn_anvil, str_c(&service),
			      str_c(&key), &counts, hold_r) > 0 &&
	    counts.count > limit) {
		close(*hold_r);
		*hold_r = -1;
		ok = false;
	}
	str_release(&service);
	str_release(&key);
	return ok;
}

static void login_spawn_auth_connect(struct login_spawn_conn *c)
{
	int fd = lio_connect_unix(LOGIN_SPAWN_AUTH_SOCKET,
				  LOGIN_SPAWN_TIMEOUT);

	if (fd < 0) {
		msg_warn("connect to %s: %m", LOGIN_SPAWN_AUTH_SOCKET);
		login_spawn_reply(c, -1, PROTO_STATUS_FAIL,
				  "auth unavailable");
		return;
	}
	login_spawn_reply(c, fd, PROTO_STATUS_OK, NULL);
	close(fd);
}

/* Ask auth who the cookie stands for. False with a reason. */
static bool login_spawn_redeem(struct login_spawn_conn *c,
			       const char *cookie, struct attr_list *verdict,
			       const char **reason_r)
{
	struct attr_list req = ATTR_LIST_INIT;
	const char *error = "connection lost";
	int attempt, fd;
	bool ok = false;

	attr_add(&req, PROTO_ATTR_REQUEST, PROTO_REQ_REDEEM);
	attr_add(&req, PROTO_ATTR_COOKIE, cookie);
	attr_add(&req, PROTO_ATTR_SERVICE, c->spec->service);
	/* Once more on a fresh connection if auth restarted. */
	for (attempt = 0; attempt < 2 && !ok; attempt++) {
		if (c->auth == NULL) {
			fd = lio_connect_unix(LOGIN_SPAWN_AUTH_SOCKET,
					      LOGIN_SPAWN_TIMEOUT);
			if (fd < 0) {
				error = "cannot connect";
				continue;
			}
			c->auth = lio_create(fd, LOGIN_SPAWN_TIMEOUT);
			if (!attr_client_hello(c->auth, PROTO_AUTH, &error)) {
				lio_free(&c->auth);
				continue;
			}
		}
		attr_write(c->auth, &req);
		if (lio_flush(c->auth) == LIO_OK &&
		    attr_read(c->auth, verdict, login_spawn_redeem_spec,
			      &error) == LIO_OK) {
			ok = true;
			break;
		}
		lio_free(&c->auth);
	}
	explicit_bzero(req.attrs[1].value, strlen(req.attrs[1].value));
	attr_list_clear(&req);
	if (!ok) {
		msg_warn("%s: %s", LOGIN_SPAWN_AUTH_SOCKET, error);
		*reason_r = "auth unavailable";
		return false;
	}
	if (strcmp(attr_get(verdict, PROTO_ATTR_STATUS),
		   PROTO_STATUS_OK) != 0) {
		*reason_r = attr_get(verdict, PROTO_ATTR_REASON) ?:
			    "cookie refused";
		msg_warn("auth refused a login cookie: %s", *reason_r);
		return false;
	}
	return true;
}

/* The child: keep the client, the parameters and the log; become the
 * user; exec. Never returns. */
static void login_spawn_child(const struct login_spawn_spec *spec,
			      int client, int params, int hold, uid_t uid,
			      gid_t gid, const char *user,
			      const char *mailbox)
{
	const char *name = spec->mail_name;
	/* LD_PRELOAD and CORREO_FAULT reach here only when the admin put
	 * them in import_environment: the fault-injection suite
	 * (tests/fault) loads its shim into the mail processes that way. */
	static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
					     "LSAN_OPTIONS", "TZ",
					     "LD_PRELOAD", "CORREO_FAULT" };
	char *argv[] = { (char *)name, (char *)LOGIN_MAIL_ARG, NULL };
	char *envp[8] = { (char *)"PATH=/usr/bin:/bin", NULL };
	int logfd = msg_file_fd(), c2, p2, l2 = -1, h2 = -1;
	const char *error;
	sigset_t none;

	/* A minimal environment: the sanitizers' settings and the time
	 * zone (and the fault shim's, above) only. */
	for (size_t i = 0, n = 1; i < sizeof(keep) / sizeof(keep[0]); i++) {
		size_t len = strlen(keep[i]);

		for (char **e = environ; *e != NULL; e++)
			if (n < 7 && strncmp(*e, keep[i], len) == 0 &&
			    (*e)[len] == '=')
				envp[n++] = *e;
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	alarm(0);
	/* Out of the way of 0..2 first, then into place. */
	c2 = fcntl(client, F_DUPFD, 10);
	p2 = fcntl(params, F_DUPFD, 10);
	if (logfd >= 0)
		l2 = fcntl(logfd, F_DUPFD, 10);
	if (hold >= 0)
		h2 = fcntl(hold, F_DUPFD, 10);
	if (c2 < 0 || p2 < 0 || (logfd >= 0 && l2 < 0) ||
	    (hold >= 0 && h2 < 0) ||
	    dup2(c2, LOGIN_MAIL_CLIENT_FD) < 0 ||
	    dup2(p2, LOGIN_MAIL_PARAMS_FD) < 0 ||
	    (l2 >= 0 && dup2(l2, LOGIN_MAIL_LOG_FD) < 0) ||
	    (h2 >= 0 && dup2(h2, LOGIN_MAIL_HOLD_FD) < 0))
		_exit(71);
	if (l2 < 0)
		close(LOGIN_MAIL_LOG_FD);
	if (h2 < 0)
		close(LOGIN_MAIL_HOLD_FD);
	if (syscall(SYS_close_range, LOGIN_MAIL_HOLD_FD + 1U, ~0U, 0U) < 0) {
		for (int fd = LOGIN_MAIL_HOLD_FD + 1; fd < 65536; fd++)
			close(fd);
	}
	if (priv_is_root()) {
		if (uid == 0 || !priv_drop(NULL, uid, gid, &error))
			_exit(77);
	}
	if (spec->prepare != NULL)
		spec->prepare(user, mailbox, login_spawn_exe, envp);
	execve(login_spawn_exe, argv, envp);
	_exit(126);
}

static bool login_spawn_params(int fd, const struct login_spawn_conn *c,
			       const struct attr_list *verdict,
			       const struct attr_list *req)
{
	struct attr_list p = ATTR_LIST_INIT;
	const char *input = attr_get(req, PROTO_ATTR_INPUT);
	const char *tls = attr_get(req, PROTO_ATTR_TLS);
	struct lio *lio = lio_create(fd, LOGIN_SPAWN_TIMEOUT);
	bool ok;

	/* lio_free closes fd. */
	attr_add(&p, PROTO_ATTR_USER, attr_get(verdict, PROTO_ATTR_USER));
	attr_add(&p, PROTO_ATTR_MAILBOX, attr_get(verdict,
						  PROTO_ATTR_MAILBOX));
	attr_add(&p, PROTO_ATTR_UID, attr_get(verdict, PROTO_ATTR_UID));
	attr_add(&p, PROTO_ATTR_GID, attr_get(verdict, PROTO_ATTR_GID));
	/* Always, so "no quota" is said too ("" or "none"). */
	attr_add(&p, PROTO_ATTR_QUOTA, attr_get(verdict, PROTO_ATTR_QUOTA) ?:
		 "none");
	attr_add(&p, PROTO_ATTR_CLIENT_ADDR,
		 attr_get(req, PROTO_ATTR_CLIENT_ADDR) ?: "unknown");
	attr_add(&p, PROTO_ATTR_TLS, tls != NULL && strcmp(tls, "yes") == 0 ?
		 "yes" : "no");
	attr_add_long(&p, PROTO_ATTR_TIMEOUT,
		      cfg_time(cfg_main, c->spec->timeout_key));
	attr_add_long(&p, PROTO_ATTR_VERBOSE, msg_verbose);
	attr_add(&p, PROTO_ATTR_LOG, msg_file_fd() >= 0 ? "file" : "syslog");
	if (input != NULL)
		attr_add(&p, PROTO_ATTR_INPUT, input);
	if (attr_get(req, PROTO_ATTR_DATA) != NULL)
		attr_add(&p, PROTO_ATTR_DATA, attr_get(req, PROTO_ATTR_DATA));
	attr_write(lio, &p);
	ok = lio_flush(lio) == LIO_OK;
	lio_free(&lio);
	attr_list_clear(&p);
	return ok;
}

static void login_spawn_login(struct login_spawn_conn *c,
			      const struct attr_list *req, int client)
{
	struct attr_list verdict = ATTR_LIST_INIT;
	const char *cookie = attr_get(req, PROTO_ATTR_COOKIE);
	const char *reason = "bad login request";
	long uid, gid;
	const char *mailbox;
	long limit = cfg_int(cfg_main, "mail_max_userip_connections");
	int pfd[2], hold = -1;
	pid_t pid;

	if (client < 0 || cookie == NULL)
		goto fail;
	if (!login_spawn_redeem(c, cookie, &verdict, &reason))
		goto fail;
	mailbox = attr_get(&verdict, PROTO_ATTR_MAILBOX);
	if (attr_get(&verdict, PROTO_ATTR_USER) == NULL || mailbox == NULL ||
	    mailbox[0] != '/' ||
	    !attr_get_long(&verdict, PROTO_ATTR_UID, &uid) ||
	    !attr_get_long(&verdict, PROTO_ATTR_GID, &gid) || uid < 0 ||
	    gid < 0 || (uid == 0 && priv_is_root())) {
		msg_error("auth: unusable mailbox owner for user=<%s>",
			  attr_get(&verdict, PROTO_ATTR_USER) ?: "?");
		reason = "no usable mailbox";
		goto fail;
	}
	if (!login_spawn_userip(c, attr_get(&verdict, PROTO_ATTR_USER),
				attr_get(req, PROTO_ATTR_CLIENT_ADDR) ?:
				"unknown", limit, &hold)) {
		msg_debug("user=<%s>, rip=%s: Maximum number of connections "
			  "from user+IP exceeded "
			  "(mail_max_userip_connections=%ld)",
			  attr_get(&verdict, PROTO_ATTR_USER),
			  attr_get(req, PROTO_ATTR_CLIENT_ADDR) ?: "unknown",
			  limit);
		login_spawn_reply_limit(c, -1, PROTO_STATUS_FAIL,
					"user+IP connection limit", limit);
		attr_list_clear(&verdict);
		return;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		msg_warn("pipe: %m");
		if (hold >= 0)
			close(hold);
		reason = "no resources";
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		msg_warn("fork: %m");
		if (hold >= 0)
			close(hold);
		close(pfd[0]);
		close(pfd[1]);
		reason = "no resources";
		goto fail;
	}
	if (pid == 0)
		login_spawn_child(c->spec, client, pfd[0], hold, (uid_t)uid,
				  (gid_t)gid,
				  attr_get(&verdict, PROTO_ATTR_USER), mailbox);
	close(pfd[0]);
	if (hold >= 0)
		close(hold);	/* the session has it */
	if (!login_spawn_params(pfd[1], c, &verdict, req))
		msg_warn("user=<%s>: the mail process did not take its "
			 "parameters", attr_get(&verdict, PROTO_ATTR_USER));
	msg_debug("user=<%s>: mail process %ld",
		  attr_get(&verdict, PROTO_ATTR_USER), (long)pid);
	login_spawn_reply(c, -1, PROTO_STATUS_OK, NULL);
	attr_list_clear(&verdict);
	return;
fail:
	/* reason may point into verdict: reply first. */
	login_spawn_reply(c, -1, PROTO_STATUS_FAIL, reason);
	attr_list_clear(&verdict);
}

static bool login_spawn_request(struct login_spawn_conn *c)
{
	struct attr_list req = ATTR_LIST_INIT;
	const char *error, *name;
	int client = -1, ret;
	char mark;

	if (lio_flush(c->lio) != LIO_OK || lio_pending(c->lio) != 0)
		return false;
	ret = fdpass_recv(c->fd, &mark, &client);
	if (ret <= 0) {
		if (ret < 0 && errno != ECONNRESET)
			msg_warn("receive from front end: %m");
		return false;
	}
	if (mark != LOGIN_MARK ||
	    attr_read(c->lio, &req, login_spawn_req_spec, &error) !=
	    LIO_OK) {
		msg_warn("front end request: %s", mark != LOGIN_MARK ?
			 "bad marker" : error);
		if (client >= 0)
			close(client);
		attr_list_clear(&req);
		return false;
	}
	name = attr_get(&req, PROTO_ATTR_REQUEST);
	if (strcmp(name, PROTO_REQ_AUTH_CONNECT) == 0 && client < 0)
		login_spawn_auth_connect(c);
	else if (strcmp(name, PROTO_REQ_LOGIN) == 0)
		login_spawn_login(c, &req, client);
	else
		login_spawn_reply(c, -1, PROTO_STATUS_ERROR,
				  "unexpected request");
	if (client >= 0)
		close(client);
	for (size_t i = 0; i < req.count; i++)
		explicit_bzero(req.attrs[i].value,
			       strlen(req.attrs[i].value));
	attr_list_clear(&req);
	return true;
}

void login_spawn_serve(int fd, void *ctx)
{
	struct login_spawn_conn c;

	memset(&c, 0, sizeof(c));
	c.spec = ctx;
	c.fd = fd;
	/* The front end may wait long between requests: no timeout on
	 * reading them (its end closes when it exits). */
	c.lio = lio_create(fd, 0);
	attr_server_hello(c.lio, PROTO_LOGIN);
	while (login_spawn_request(&c))
		;
	lio_free(&c.auth);
	lio_free(&c.lio);
}

void login_spawn_pre_init(void *ctx)
{
	struct sigaction sa;
	ssize_t n;

	(void)ctx;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		msg_fatal("sigaction SIGCHLD: %m");
	signal(SIGPIPE, SIG_IGN);
	/* The mail program is this very binary, exec'd afresh. */
	n = readlink("/proc/self/exe", login_spawn_exe,
		     sizeof(login_spawn_exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(login_spawn_exe) - 1)
		msg_fatal("readlink /proc/self/exe: %m");
	login_spawn_exe[n] = '\0';
}
