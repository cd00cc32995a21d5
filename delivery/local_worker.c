/*
 * local_worker: per-owner delivery processes for a local running as root
 * (local.h).
 *
 * Root never writes into a mailbox, and forking a child per message
 * cost more CPU than everything else local does (fork, exit, wait, and
 * initgroups reading the group file each time). So the first delivery
 * for an owner forks a worker that drops to that owner once and then
 * serves deliveries over a socketpair: per delivery, a marker byte, one
 * attribute list naming the target and the message's content; one
 * attribute list back with the status, DSN and reason. The content of a
 * Maildir delivery up to LOCAL_WORKER_INLINE_MAX bytes follows the list
 * on the socket (marker 'I': a memory file cost a creation, a seal, a
 * descriptor passed and two closes a message); anything else comes as
 * a sealed memory file passed with the marker 'D' (SCM_RIGHTS).
 *
 * A worker retires after LOCAL_WORKER_USES deliveries, when it has been
 * idle LOCAL_WORKER_IDLE seconds (checked at the next delivery), when
 * the qmgr connection ends (local_worker_close_all), and when local
 * exits (EOF on its socket; PR_SET_PDEATHSIG as a backstop). At most
 * LOCAL_WORKER_MAX live at once; the least recently used makes room.
 * The owner's passwd entry is looked up when a worker starts, so a
 * changed entry is noticed within those bounds.
 *
 * Interface: local_worker_write, local_worker_close_all,
 * local_worker_pid.
 *
 * SECURITY: a worker keeps only its socket and stdio (every other
 * inherited descriptor is closed: no qmgr connection, no listening
 * socket, no other owner's worker, no log file: it logs nothing), runs
 * with the owner's uid, gid and groups (priv_drop verifies), and having
 * changed credentials it is not dumpable, so the owner cannot ptrace it.
 * It only ever receives deliveries whose target belongs to its owner,
 * with a copy of that one message, never the queue file: its inode is
 * reused for later messages (queue_spare.c). Root trusts
 * nothing from a worker but a status in range, a DSN of the form
 * "D.D.D" and a reason text; a worker that breaks the protocol is killed
 * and the delivery deferred.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "fdpass.h"
#include "lio.h"
#include "local.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "proto.h"
#include "sandbox.h"

#define LOCAL_WORKER_MAX	8
#define LOCAL_WORKER_USES	1000
#define LOCAL_WORKER_IDLE	60
/* Messages up to this size are read into the worker's memory whole. */
#define LOCAL_WORKER_MEM_MAX	(16L * 1024 * 1024)
/* Maildir deliveries up to this size send the content on the socket. */
#define LOCAL_WORKER_INLINE_MAX	(64L * 1024)

#define LW_KIND		"kind"
#define LW_PATH		"path"
#define LW_OFFSET	"content_offset"
#define LW_LENGTH	"content_length"
#define LW_QUOTA	"quota"

struct local_worker {
	char *user;		/* NULL: slot free */
	pid_t pid;
	uid_t uid;		/* the owner's, to signal it (no CAP_KILL) */
	struct lio *lio;	/* owns the socket */
	unsigned uses;
	time_t used;
};

static struct local_worker local_workers[LOCAL_WORKER_MAX];

static const struct attr_spec local_worker_req_spec[] = {
	{ LW_KIND, true, false },
	{ LW_PATH, true, false },
	{ PROTO_ATTR_SENDER, true, false },
	{ PROTO_ATTR_RECIPIENT, true, false },
	{ LW_OFFSET, true, false },
	{ LW_LENGTH, true, false },
	{ LW_QUOTA, false, false },
	{ NULL, false, false },
};

static const struct attr_spec local_worker_reply_spec[] = {
	{ PROTO_ATTR_STATUS, true, false },
	{ PROTO_ATTR_DSN, true, false },
	{ PROTO_ATTR_REASON, true, false },
	{ NULL, false, false },
};

/* ---- The worker side (runs as the owner) ---- */

/* One delivery: the message is rebuilt around the received fd, or from
 * the content that came inline (then fd is -1). */
static void local_worker_one(const struct attr_list *req, int fd,
			     const struct str *inline_data,
			     struct local_result *res)
{
	struct resolve_delivery d;
	struct queue_msg msg;
	struct local_content c;
	struct str data = STR_INIT;
	long kind, off, len;

	memset(&d, 0, sizeof(d));
	memset(&msg, 0, sizeof(msg));
	/* Read the owner's .forward (path: the home directory). */
	if (attr_get_long(req, LW_KIND, &kind) && kind == LOCAL_KIND_FORWARD) {
		local_forward_read(attr_get(req, LW_PATH), res);
		return;
	}
	if ((fd < 0) == (inline_data == NULL) ||
	    !attr_get_long(req, LW_KIND, &kind) ||
	    !attr_get_long(req, LW_OFFSET, &off) ||
	    !attr_get_long(req, LW_LENGTH, &len) || kind < RESOLVE_MAILDIR ||
	    kind > RESOLVE_FILE || off < 0 || len < 0 ||
	    off > LONG_MAX - len ||
	    (inline_data != NULL && (kind != RESOLVE_MAILDIR ||
				     (size_t)len != inline_data->len))) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "malformed worker request");
		return;
	}
	msg.fd = fd;
	msg.content_offset = off;
	msg.content_len = len;
	msg.sender = (char *)attr_get(req, PROTO_ATTR_SENDER);
	c.msg = &msg;
	c.sender = msg.sender;
	c.rcpt = attr_get(req, PROTO_ATTR_RECIPIENT);
	c.quota = attr_get(req, LW_QUOTA);
	/* The copy read into memory at once: a Maildir delivery writes it
	 * in one call and counts it as it is (local_content_store). If it
	 * cannot be read whole, the delivery reads the file itself. */
	if (inline_data != NULL)
		c.data = str_c(inline_data);
	else
		c.data = len <= LOCAL_WORKER_MEM_MAX &&
			queue_msg_content(&msg, &data, LOCAL_WORKER_MEM_MAX) ?
			str_c(&data) : NULL;
	d.kind = (enum resolve_kind)kind;
	d.path = (char *)attr_get(req, LW_PATH);
	local_write(&c, &d, res);
	str_release(&data);
}

static void local_worker_reply(struct lio *lio, const struct local_result *r)
{
	struct attr_list reply = ATTR_LIST_INIT;

	attr_add_long(&reply, PROTO_ATTR_STATUS, (long)r->status);
	attr_add(&reply, PROTO_ATTR_DSN, r->dsn);
	attr_add(&reply, PROTO_ATTR_REASON, str_c(&r->reason));
	attr_write(lio, &reply);
	attr_list_clear(&reply);
}

/* Serve until EOF or LOCAL_WORKER_USES deliveries; never returns. */
static void local_worker_serve(struct lio *lio)
{
	int sock = lio_fd(lio);
	struct attr_list req = ATTR_LIST_INIT;
	struct local_result res = { LOCAL_OK, "2.0.0", STR_INIT };
	struct str data = STR_INIT;
	const char *error;
	char byte;
	long len;
	int fd;

	for (unsigned n = 0; n < LOCAL_WORKER_USES; n++) {
		if (fdpass_recv(sock, &byte, &fd) <= 0)
			break;
		if ((byte == 'I' && fd >= 0) ||
		    attr_read(lio, &req, local_worker_req_spec,
			      &error) != LIO_OK) {
			if (fd >= 0)
				close(fd);
			break;
		}
		/* Inline content: exactly the length the list says. */
		str_clear(&data);
		if (byte == 'I' &&
		    (!attr_get_long(&req, LW_LENGTH, &len) || len < 0 ||
		     len > LOCAL_WORKER_INLINE_MAX ||
		     lio_read_exact(lio, &data, (size_t)len) != LIO_OK))
			break;
		local_worker_one(&req, fd, byte == 'I' ? &data : NULL, &res);
		if (fd >= 0)
			close(fd);
		local_worker_reply(lio, &res);
		if (lio_flush(lio) != LIO_OK)
			break;
	}
	_exit(0);
}

/* Keep 0-2 and sock only; sock ends up as fd 3. */
static int local_worker_fds(int sock)
{
	if (sock != 3 && dup2(sock, 3) < 0)
		return -1;
	if (close_range(4, ~0U, 0) < 0)
		for (int fd = 4; fd < 1024; fd++)
			(void)close(fd);
	return 3;
}

/* Drop to the owner; NULL on success, else why not. */
static const char *local_worker_drop(const struct priv_user *user,
				     pid_t parent)
{
	const char *error = NULL;

	if (!priv_drop(user->name, user->uid, user->gid, &error))
		return error;
	/* Reset by the credential change, so set after it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		return "prctl PR_SET_PDEATHSIG failed";
	if (getppid() != parent)
		return "local went away";
	return NULL;
}

static void local_worker_child(int sock, const struct priv_user *user,
			       pid_t parent)
{
	struct attr_list hello = ATTR_LIST_INIT;
	const char *error;
	struct lio *lio;

	msg_open_stderr();	/* the log file descriptor is closed next */
	sock = local_worker_fds(sock);
	if (sock < 0)
		_exit(1);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_IGN);
	error = local_worker_drop(user, parent);
	lio = lio_create(sock, 0);
	attr_add(&hello, PROTO_ATTR_STATUS, error == NULL ? "ok" : "error");
	attr_add(&hello, PROTO_ATTR_REASON, error == NULL ? "" : error);
	attr_write(lio, &hello);
	if (lio_flush(lio) != LIO_OK || error != NULL)
		_exit(1);
	local_worker_serve(lio);
}

/* ---- The root side ---- */

static void local_worker_stop(struct local_worker *w)
{
	int status;

	if (w->user == NULL)
		return;
	lio_free(&w->lio);	/* EOF: an idle worker exits by itself */
	(void)sandbox_kill_as(w->uid, w->pid, SIGTERM);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	mem_free(w->user);
	memset(w, 0, sizeof(*w));
}

void local_worker_close_all(void)
{
	for (size_t i = 0; i < LOCAL_WORKER_MAX; i++)
		local_worker_stop(&local_workers[i]);
}

/* Read the worker's hello; false with res set on failure. */
static bool local_worker_hello(struct local_worker *w,
			       struct local_result *res)
{
	struct attr_list hello = ATTR_LIST_INIT;
	static const struct attr_spec spec[] = {
		{ PROTO_ATTR_STATUS, true, false },
		{ PROTO_ATTR_REASON, true, false },
		{ NULL, false, false },
	};
	const char *error;
	bool ok = false;

	if (attr_read(w->lio, &hello, spec, &error) != LIO_OK)
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "delivery process for %s failed to start",
				 w->user);
	else if (strcmp(attr_get(&hello, PROTO_ATTR_STATUS), "ok") != 0)
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot switch to %s: %s", w->user,
				 attr_get(&hello, PROTO_ATTR_REASON));
	else
		ok = true;
	attr_list_clear(&hello);
	return ok;
}

/* Fork a worker for user into w; false with res set. */
static bool local_worker_start(struct local_worker *w, const char *owner,
			       struct local_result *res)
{
	struct priv_user user;
	pid_t parent = getpid();
	int sv[2], ret;

	ret = priv_user_lookup(owner, &user);
	if (ret <= 0) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot find owner \"%s\"", owner);
		return false;
	}
	if (user.uid == 0) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "will not deliver as root: alias root to a"
				 " user");
		priv_user_free(&user);
		return false;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    (w->pid = fork()) < 0) {
		local_result_set(res, LOCAL_DEFER, "4.3.0", "fork: %s",
				 strerror(errno));
		priv_user_free(&user);
		return false;
	}
	if (w->pid == 0) {
		close(sv[0]);
		local_worker_child(sv[1], &user, parent);
	}
	close(sv[1]);
	w->uid = user.uid;
	priv_user_free(&user);
	w->user = mem_strdup(owner);
	w->lio = lio_create(sv[0], (int)local_state.daemon_timeout);
	w->uses = 0;
	if (!local_worker_hello(w, res)) {
		local_worker_stop(w);
		return false;
	}
	return true;
}

/* The live worker for owner, retiring stale ones on the way; or a free
 * slot (the least recently used worker stopped to make one). */
static struct local_worker *local_worker_slot(const char *owner)
{
	struct local_worker *w, *pick = NULL;
	time_t now = time(NULL);

	for (size_t i = 0; i < LOCAL_WORKER_MAX; i++) {
		w = &local_workers[i];
		if (w->user != NULL && (w->uses >= LOCAL_WORKER_USES ||
					now - w->used > LOCAL_WORKER_IDLE ||
					now < w->used))
			local_worker_stop(w);
		if (w->user != NULL && strcmp(w->user, owner) == 0)
			return w;
	}
	for (size_t i = 0; i < LOCAL_WORKER_MAX; i++) {
		w = &local_workers[i];
		if (w->user == NULL)
			return w;
		if (pick == NULL || w->used < pick->used)
			pick = w;
	}
	local_worker_stop(pick);
	return pick;
}

/* The worker's answer; false if it broke the protocol. */
static bool local_worker_result(struct local_worker *w,
				struct local_result *res)
{
	static char dsn[16];	/* one delivery at a time per process */
	struct attr_list reply = ATTR_LIST_INIT;
	const char *error, *d;
	long status;
	bool ok = false;

	if (attr_read(w->lio, &reply, local_worker_reply_spec,
		      &error) != LIO_OK)
		goto out;
	d = attr_get(&reply, PROTO_ATTR_DSN);
	if (!attr_get_long(&reply, PROTO_ATTR_STATUS, &status) ||
	    status < LOCAL_OK || status > LOCAL_BOUNCE ||
	    strlen(d) >= sizeof(dsn) ||
	    strspn(d, "0123456789.") != strlen(d) || d[0] < '2' ||
	    d[0] > '5' || d[1] != '.')
		goto out;
	memcpy(dsn, d, strlen(d) + 1);
	local_result_set(res, (enum local_status)status, dsn, "%s",
			 attr_get(&reply, PROTO_ATTR_REASON));
	ok = true;
out:
	attr_list_clear(&reply);
	return ok;
}

/* The message's content in a sealed memory file of its own: a worker
 * never holds the queue file, whose inode carries the next message once
 * qmgr has put it back in the spare pool (queue_spare.c). -1 with errno
 * set on failure. */
static int local_worker_content(struct queue_msg *msg)
{
	int fd = memfd_create("correo-message", MFD_CLOEXEC |
			      MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (!queue_msg_content_copy(msg, fd) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Send one delivery: the content in fd, or inline (data; fd -1). *sent
 * says whether the worker may have seen it. */
static bool local_worker_send(struct local_worker *w,
			      const struct local_content *c, int fd,
			      const struct str *data,
			      const struct resolve_delivery *d, bool *sent)
{
	struct attr_list req = ATTR_LIST_INIT;
	bool ok;

	*sent = false;
	if (data != NULL)
		lio_write(w->lio, "I", 1);
	else if (!fdpass_send(lio_fd(w->lio), 'D', fd))
		return false;
	*sent = true;
	attr_add_long(&req, LW_KIND, (long)d->kind);
	attr_add(&req, LW_PATH, d->path != NULL ? d->path : "");
	attr_add(&req, PROTO_ATTR_SENDER, c->sender);
	attr_add(&req, PROTO_ATTR_RECIPIENT, c->rcpt);
	attr_add_long(&req, LW_OFFSET, 0L);
	attr_add_long(&req, LW_LENGTH, (long)c->msg->content_len);
	if (c->quota != NULL)
		attr_add(&req, LW_QUOTA, c->quota);
	attr_write(w->lio, &req);
	if (data != NULL)
		lio_write(w->lio, data->data, data->len);
	ok = lio_flush(w->lio) == LIO_OK;
	attr_list_clear(&req);
	return ok;
}

void local_worker_write(const struct local_content *c,
			const struct resolve_delivery *d,
			struct local_result *res)
{
	struct local_worker *w;
	struct str data = STR_INIT;
	bool sent = false, inline_ok;
	int fd = -1;

	inline_ok = d->kind == RESOLVE_MAILDIR &&
		c->msg->content_len <= LOCAL_WORKER_INLINE_MAX;
	if (inline_ok &&
	    !queue_msg_content(c->msg, &data, LOCAL_WORKER_INLINE_MAX)) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot read queue file: %m");
		return;
	}
	/* Reading a .forward needs no message. */
	if (!inline_ok && (int)d->kind != LOCAL_KIND_FORWARD &&
	    (fd = local_worker_content(c->msg)) < 0) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot copy the message for delivery: %m");
		return;
	}
	/* A worker that went away while idle never saw the request: one
	 * more try with a fresh one. Once it may have seen it, a failure
	 * defers (never a second delivery of the same message). */
	for (int attempt = 0; attempt < 2 && !sent; attempt++) {
		w = local_worker_slot(d->user);
		if (w->user == NULL && !local_worker_start(w, d->user, res))
			goto out;
		w->used = time(NULL);
		w->uses++;
		if (local_worker_send(w, c, fd, inline_ok ? &data : NULL, d,
				      &sent) &&
		    local_worker_result(w, res))
			goto out;
		local_worker_stop(w);
	}
	local_result_set(res, LOCAL_DEFER, "4.3.0",
			 "delivery process for %s failed", d->path);
out:
	if (fd >= 0)
		(void)close(fd);
	str_release(&data);
}

pid_t local_worker_pid(const char *owner)
{
	for (size_t i = 0; i < LOCAL_WORKER_MAX; i++)
		if (local_workers[i].user != NULL &&
		    strcmp(local_workers[i].user, owner) == 0)
			return local_workers[i].pid;
	return 0;
}
