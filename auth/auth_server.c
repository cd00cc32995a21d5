/*
 * auth_server: the auth daemon's connections: requests from front ends
 * in, SASL steps through auth_sasl.c, password checks through
 * auth_passdb.c, failure accounting through auth_throttle.c, replies out
 * (after a timer, for failures), and the log lines admins grep for.
 *
 * Interface (auth.h): auth_pre_init, auth_event_init.
 *
 * One process serves every front end (maxproc 1), so the failure
 * counters are shared without IPC. Connections are non-blocking; input
 * is collected until a whole request (an attribute list, ended by an
 * empty line) is there and only then parsed, through an lio whose read
 * side is that buffer, so a slow or silent front end never stalls the
 * loop. A failure's reply waits on a timer (the growing delay); while it
 * waits, the connection reads nothing more. Passwords are hashed by
 * auth_pool.c's threads, fairly between clients, while the loop goes
 * on; a connection whose check is in the pool reads nothing either.
 *
 * Log lines (the shapes fail2ban filters know from Postfix):
 *   warning: NAME[ADDR]: SASL PLAIN authentication failed:
 *     authentication failure, sasl_username=USER
 *   warning: NAME[ADDR]: SASL authentication locked out for 900s
 *     after 20 failures from this address
 *   info: NAME[ADDR]: sasl_method=PLAIN, sasl_username=USER, service=S
 *
 * SECURITY: runs as the auth user (correo-auth; the instance user in
 * instance mode), never root. Front ends are not trusted: requests are
 * parsed strictly, sizes bounded, connections counted. Passwords live
 * only in auth_step buffers that are wiped after use and are never
 * logged. Unknown user and wrong password give the same reply and the
 * same log text, after the same hashing work.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attr_frame.h"
#include "auth.h"
#include "auth_pool.h"
#include "lio.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "sasl.h"
#include "server.h"

#define AUTH_MAX_CONNS 1000
#define AUTH_MAX_INPUT (ATTR_MAX_LINE * 8)
#define AUTH_WRITE_TIMEOUT 10
#define AUTH_EXPIRE_MS (60 * 1000)

#define AUTH_FAILED "authentication failed"
#define AUTH_TEMPFAIL "temporary authentication failure"
#define AUTH_LOCKED "too many authentication failures, try again later"

struct auth_conn {
	struct auth_conn *next, *prev;
	struct lio *lio;
	struct attr_frame fr;	/* received requests, framed */
	bool closed;		/* peer closed; finish, then free */
	struct ev_timer *timer;	/* a delayed reply is pending */
	struct auth_pool_job *job;	/* a password check is pending */
	struct attr_list reply;
	struct auth_sasl sasl;
	/* The exchange in progress, for the log and the counters. */
	enum auth_mech mech;
	char *service, *client_addr, *client_name;
	char *user;		/* whose password the pool checks */
};

static struct {
	struct ev_loop *loop;
	struct auth_passdb *db;
	struct auth_throttle *throttle;
	struct auth_pool *pool;
	struct auth_throttle_cfg tcfg;
	char **mechs;
	struct auth_conn *conns;
	size_t nconns;
	struct ev_timer *expire_timer;
} auth;

static void auth_conn_input(int fd, unsigned events, void *ctx);

/* ---- connections ---- */

static void auth_exchange_clear(struct auth_conn *c)
{
	mem_free(c->service);
	mem_free(c->client_addr);
	mem_free(c->client_name);
	mem_free(c->user);
}

static void auth_conn_free(struct auth_conn *c)
{
	ev_io_del(auth.loop, lio_fd(c->lio));
	ev_timer_del(auth.loop, &c->timer);
	auth_pool_cancel(auth.pool, &c->job);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		auth.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	auth.nconns--;
	lio_free(&c->lio);
	if (c->fr.in.data != NULL)
		explicit_bzero(c->fr.in.data, c->fr.in.cap);
	str_release(&c->fr.in);
	attr_list_clear(&c->reply);
	auth_sasl_reset(&c->sasl);
	auth_exchange_clear(c);
	free(c);
}

static bool auth_conn_send(struct auth_conn *c)
{
	attr_write(c->lio, &c->reply);
	attr_list_clear(&c->reply);
	if (lio_flush(c->lio) != LIO_OK) {
		msg_warn("auth: write to front end: %m");
		return false;
	}
	return true;
}

/* A pending delayed reply is due. */
static void auth_conn_delayed(void *ctx)
{
	struct auth_conn *c = ctx;

	c->timer = NULL;
	if (c->closed || !auth_conn_send(c)) {
		auth_conn_free(c);
		return;
	}
	ev_io_add(auth.loop, lio_fd(c->lio), EV_READ, auth_conn_input, c);
	auth_conn_input(lio_fd(c->lio), 0, c);
}

/* Send c->reply now, or after delay_ms (reading nothing meanwhile). */
static bool auth_conn_reply(struct auth_conn *c, long delay_ms)
{
	if (delay_ms <= 0)
		return auth_conn_send(c);
	c->timer = ev_timer_add(auth.loop, delay_ms, auth_conn_delayed, c);
	return true;
}

static void auth_reply_status(struct auth_conn *c, const char *status)
{
	attr_list_clear(&c->reply);
	attr_add(&c->reply, PROTO_ATTR_STATUS, status);
}

static void auth_reply_fail(struct auth_conn *c, bool temporary,
			    long delay_ms, const char *reason)
{
	auth_reply_status(c, PROTO_STATUS_FAIL);
	attr_add(&c->reply, PROTO_ATTR_TEMPORARY, temporary ? "1" : "0");
	attr_add_long(&c->reply, PROTO_ATTR_DELAY, delay_ms);
	attr_add(&c->reply, PROTO_ATTR_REASON, reason);
}

/* ---- logging ---- */

static void auth_log_client(struct str *out, const struct auth_conn *c)
{
	str_printf(out, "%s[%s]", c->client_name, c->client_addr);
}

static void auth_log_failure(const struct auth_conn *c, const char *mech,
			     const char *user, const char *why)
{
	struct str client = STR_INIT, safe = STR_INIT;

	auth_log_client(&client, c);
	auth_log_safe(&safe, user != NULL ? user : "", 256);
	msg_warn("%s: SASL %s authentication failed: %s, sasl_username=%s",
		 str_c(&client), mech, why, str_c(&safe));
	str_release(&client);
	str_release(&safe);
}

static void auth_log_lockout(const struct auth_conn *c, const char *user,
			     const struct auth_fail_result *r)
{
	struct str client = STR_INIT, safe = STR_INIT;
	long long secs = auth.tcfg.lockout_ms / 1000;

	auth_log_client(&client, c);
	if (r->locked == AUTH_LOCK_ADDRESS) {
		msg_warn("%s: SASL authentication locked out for %llds after "
			 "%ld failures from this address", str_c(&client),
			 secs, r->addr_failures);
	} else {
		auth_log_safe(&safe, user, 256);
		msg_warn("%s: SASL authentication locked out for %llds after "
			 "%ld failures, sasl_username=%s", str_c(&client),
			 secs, r->user_failures, str_c(&safe));
	}
	str_release(&client);
	str_release(&safe);
}

/* ---- the exchange ---- */

/* A failed exchange: count it, log it, reply after the delay. */
static bool auth_fail(struct auth_conn *c, const char *user, const char *why)
{
	struct auth_fail_result r;
	const char *mech = auth_mech_name(c->mech);

	auth_throttle_fail(auth.throttle, c->client_addr, user,
			   ev_now_ms(), &r);
	auth_log_failure(c, *mech != '\0' ? mech : "(unknown)", user, why);
	if (r.locked != AUTH_LOCK_NONE)
		auth_log_lockout(c, user, &r);
	auth_reply_fail(c, false, r.delay_ms, AUTH_FAILED);
	return auth_conn_reply(c, r.delay_ms);
}

static bool auth_success(struct auth_conn *c, const char *user)
{
	struct auth_mailbox mb;
	const char *error = NULL;
	struct str client = STR_INIT;
	int ret = auth_passdb_mailbox(auth.db, user, &mb, &error);

	auth_log_client(&client, c);
	if (ret < 0) {
		msg_warn("%s: SASL %s: mailbox of %s: %s", str_c(&client),
			 auth_mech_name(c->mech), user, error);
		str_release(&client);
		auth_reply_fail(c, true, 0, AUTH_TEMPFAIL);
		return auth_conn_send(c);
	}
	auth_throttle_success(auth.throttle, c->client_addr, user);
	msg_info("%s: sasl_method=%s, sasl_username=%s, service=%s",
		 str_c(&client), auth_mech_name(c->mech), user,
		 c->service);
	str_release(&client);
	auth_reply_status(c, PROTO_STATUS_OK);
	attr_add(&c->reply, PROTO_ATTR_USER, user);
	if (ret == 1) {
		attr_add(&c->reply, PROTO_ATTR_MAILBOX, mb.path);
		attr_add_long(&c->reply, PROTO_ATTR_UID, (long)mb.uid);
		attr_add_long(&c->reply, PROTO_ATTR_GID, (long)mb.gid);
		if (strcmp(c->service, "smtp") != 0)
			auth_cookie_issue(&c->reply, user, &mb, c->service);
		auth_mailbox_clear(&mb);
	}
	return auth_conn_send(c);
}

/* A reply made outside auth_conn_input (a password check came back):
 * go on with the connection's input, unless a delayed reply will. */
static void auth_conn_resume(struct auth_conn *c, bool ok)
{
	if (!ok) {
		auth_conn_free(c);
		return;
	}
	if (c->timer != NULL)
		return;
	ev_io_add(auth.loop, lio_fd(c->lio), EV_READ, auth_conn_input, c);
	auth_conn_input(lio_fd(c->lio), 0, c);
}

/* The check's turn in the pool: the lockout (which may have begun while
 * it waited) and the user's hash. */
static bool auth_verify_start(void *ctx, struct str *hash_r)
{
	struct auth_conn *c = ctx;
	const char *error = NULL;

	if (auth_throttle_locked(auth.throttle, c->client_addr, c->user,
				 ev_now_ms()) != AUTH_LOCK_NONE) {
		c->job = NULL;
		auth_log_failure(c, auth_mech_name(c->mech), c->user,
				 "locked out");
		auth_reply_fail(c, true, auth.tcfg.delay_max_ms, AUTH_LOCKED);
		auth_conn_resume(c, auth_conn_reply(c,
						    auth.tcfg.delay_max_ms));
		return false;
	}
	if (auth_passdb_hash(auth.db, c->user, hash_r, &error) < 0) {
		c->job = NULL;
		msg_warn("auth: password lookup for %s: %s", c->user, error);
		auth_reply_fail(c, true, 0, AUTH_TEMPFAIL);
		auth_conn_resume(c, auth_conn_send(c));
		return false;
	}
	return true;	/* an unknown user hashes against a dummy */
}

static void auth_verify_done(void *ctx, bool match)
{
	struct auth_conn *c = ctx;

	c->job = NULL;
	if (match)
		auth_conn_resume(c, auth_success(c, c->user));
	else
		auth_conn_resume(c, auth_fail(c, c->user,
					      "authentication failure"));
}

/* Check the credentials of a VERIFY step (user already lower-cased) in
 * the pool; the reply goes out from auth_verify_done. */
static bool auth_verify(struct auth_conn *c, struct auth_step *step)
{
	mem_free(c->user);
	c->user = mem_strdup(str_c(&step->user));
	c->job = auth_pool_submit(auth.pool, c->client_addr,
				  str_c(&step->password), auth_verify_start,
				  auth_verify_done, c);
	return true;
}

/* Act on one SASL step. False if the connection must close. */
static bool auth_step_do(struct auth_conn *c, struct auth_step *step)
{
	const char *user = step->user.len > 0 ? str_c(&step->user) : NULL;

	if (step->user.len > 0)
		str_lower(step->user.data);
	switch (step->kind) {
	case AUTH_STEP_CHALLENGE:
		auth_reply_status(c, PROTO_STATUS_CONTINUE);
		attr_add(&c->reply, PROTO_ATTR_CHALLENGE, step->challenge);
		return auth_conn_send(c);
	case AUTH_STEP_CANCEL:
		auth_reply_fail(c, false, 0, step->reason);
		return auth_conn_send(c);
	case AUTH_STEP_FAIL:
		return auth_fail(c, user, step->reason);
	case AUTH_STEP_VERIFY:
		return auth_verify(c, step);
	}
	return false;
}

static bool auth_start(struct auth_conn *c, const struct auth_request *req,
		       struct auth_step *step)
{
	enum auth_mech mech = auth_mech_find(req->mechanism, auth.mechs);

	auth_exchange_clear(c);
	c->service = mem_strdup(req->service);
	c->client_addr = mem_strdup(req->client_addr);
	c->client_name = mem_strdup(req->client_name);
	c->mech = mech;
	if (mech == AUTH_MECH_NONE) {
		auth_sasl_reset(&c->sasl);
		auth_reply_fail(c, false, 0, "mechanism not available");
		return auth_conn_send(c);
	}
	auth_sasl_start(&c->sasl, mech, req->response, step);
	return auth_step_do(c, step);
}

static bool auth_conn_error(struct auth_conn *c, const char *reason)
{
	msg_warn("auth: bad request from front end: %s", reason);
	auth_reply_status(c, PROTO_STATUS_ERROR);
	attr_add(&c->reply, PROTO_ATTR_REASON, reason);
	(void)auth_conn_send(c);
	return false;
}

/* Handle one whole request. False if the connection must close. */
static bool auth_conn_request(struct auth_conn *c)
{
	struct attr_list list = ATTR_LIST_INIT;
	struct auth_request req;
	struct auth_step step = AUTH_STEP_INIT;
	const char *error = "";
	bool ok;

	lio_ready(c->lio);	/* called when a whole request is there */
	if (attr_read(c->lio, &list, proto_auth_request_spec, &error) !=
	    LIO_OK)
		ok = auth_conn_error(c, error);
	else if (!auth_request_parse(&list, &req, &error))
		ok = auth_conn_error(c, error);
	else if (req.kind == AUTH_REQ_AUTHENTICATE)
		ok = auth_start(c, &req, &step);
	else if (req.kind == AUTH_REQ_REDEEM) {
		auth_cookie_redeem(lio_fd(c->lio), &req, &c->reply);
		ok = auth_conn_send(c);
	}
	else if (!auth_sasl_continue(&c->sasl, req.response, &step))
		ok = auth_conn_error(c, "continue without an exchange");
	else
		ok = auth_step_do(c, &step);
	auth_step_clear(&step);
	for (size_t i = 0; i < list.count; i++)
		explicit_bzero(list.attrs[i].value,
			       strlen(list.attrs[i].value));
	attr_list_clear(&list);
	return ok;
}

/* Read what is there; handle whole requests while no reply waits. */
static void auth_conn_input(int fd, unsigned events, void *ctx)
{
	struct auth_conn *c = ctx;
	char buf[4096];
	ssize_t n;

	while (events != 0 && !c->closed) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0 && c->fr.in.len + (size_t)n <= AUTH_MAX_INPUT)
			str_append_n(&c->fr.in, buf, (size_t)n);
		else if (n > 0)
			c->closed = true;	/* flooding: drop it */
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			c->closed = true;
		else if (errno == EAGAIN)
			break;
	}
	while (c->timer == NULL && c->job == NULL &&
	       attr_frame_next(&c->fr)) {
		if (!auth_conn_request(c)) {
			auth_conn_free(c);
			return;
		}
	}
	if (c->timer != NULL || c->job != NULL)
		ev_io_del(auth.loop, fd);
	else if (c->closed)
		auth_conn_free(c);
}

static void auth_accept(int lfd, unsigned events, void *ctx)
{
	struct auth_conn *c;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			msg_warn("auth: accept: %m");
		return;
	}
	if (auth.nconns >= AUTH_MAX_CONNS) {
		msg_warn("auth: too many front-end connections (%d); "
			 "refusing one", AUTH_MAX_CONNS);
		close(fd);
		return;
	}
	c = mem_alloc(sizeof(*c));
	c->lio = lio_create(fd, AUTH_WRITE_TIMEOUT);
	attr_frame_attach(&c->fr, c->lio);
	c->next = auth.conns;
	if (auth.conns != NULL)
		auth.conns->prev = c;
	auth.conns = c;
	auth.nconns++;
	attr_server_hello(c->lio, PROTO_AUTH);
	ev_io_add(auth.loop, fd, EV_READ, auth_conn_input, c);
}

/* ---- setup ---- */

static long auth_msec(const char *key)
{
	const char *value = cfg_str(cfg_main, key);
	long ms;

	if (!auth_parse_msec(value, &ms))
		msg_fatal("%s: expected a time in ms or s, got \"%s\"", key,
			  value);
	return ms;
}

static void auth_read_config(void)
{
	struct auth_throttle_cfg *t = &auth.tcfg;

	t->delay_ms = auth_msec("auth_failure_delay");
	t->delay_max_ms = auth_msec("auth_failure_delay_max");
	if (t->delay_max_ms < t->delay_ms)
		t->delay_max_ms = t->delay_ms;
	t->user_threshold = cfg_int(cfg_main, "auth_lockout_threshold");
	t->addr_threshold = cfg_int(cfg_main,
				    "auth_lockout_address_threshold");
	t->window_ms = (long long)cfg_time(cfg_main, "auth_lockout_window")
		       * 1000;
	t->lockout_ms = (long long)cfg_time(cfg_main, "auth_lockout_time")
			* 1000;
	auth.mechs = cfg_list(cfg_main, "auth_mechanisms");
	for (char **m = auth.mechs; *m != NULL; m++) {
		if (auth_mech_find(*m, auth.mechs) == AUTH_MECH_NONE)
			msg_warn("auth_mechanisms: %s is not supported "
				 "(only PLAIN and LOGIN); ignored", *m);
	}
}

void auth_pre_init(void *ctx)
{
	char *error;

	(void)ctx;
	auth_read_config();
	auth.db = auth_passdb_create(cfg_main, &error);
	if (auth.db == NULL)
		msg_fatal("%s", error);
	auth.throttle = auth_throttle_create(&auth.tcfg, AUTH_THROTTLE_MAX);
}

static void auth_expire(void *ctx)
{
	(void)ctx;
	auth_throttle_expire(auth.throttle, ev_now_ms());
	auth_cookie_expire();
	auth.expire_timer = ev_timer_add(auth.loop, AUTH_EXPIRE_MS,
					 auth_expire, NULL);
}

void auth_event_init(struct ev_loop *loop, const int *fds, int nfds,
		     void *ctx)
{
	long workers = cfg_int(cfg_main, "auth_worker_count");

	(void)ctx;
	auth.loop = loop;
	for (int i = 0; i < nfds; i++) {
		(void)fcntl(fds[i], F_SETFL, O_NONBLOCK);
		ev_io_add(loop, fds[i], EV_READ, auth_accept, NULL);
	}
	auth.expire_timer = ev_timer_add(loop, AUTH_EXPIRE_MS, auth_expire,
					 NULL);
	sasl_prepare();
	auth.pool = auth_pool_create(loop, workers > 0 ? (unsigned)workers
						       : 0);
	msg_debug("auth: %u password hashing threads",
		  auth_pool_workers(auth.pool));
}
