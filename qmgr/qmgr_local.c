/*
 * qmgr_local: qmgr's connections to the delivery agents (qmgr.h,
 * proto.h): local on private/local, smtp and lmtp on private/smtp and
 * private/lmtp, any other transport on private/<transport>.
 *
 * Connections are pooled by socket and stay open across messages and
 * destinations (smtp caches its SMTP sessions per next hop itself).
 * Dispatch walks the destinations (qmgr_dest.c) and sends each one's
 * jobs while fewer than its concurrency limit are being served; at the
 * limit, one more job of the same destination may go on each of its
 * connections behind the one being served (pipelining: the agent goes
 * on to it without waiting for qmgr, which serves every connection and
 * may be busy taking in new mail). The agent answers in order; the
 * event loop tells when a reply is readable, and the reply is then read
 * whole (local writes it in one flush). A request that fails on a
 * connection that had already served others (local exited on max_use or
 * an idle timeout just then) is retried once on a fresh connection; any
 * other failure defers the request's deliveries. A lost connection takes
 * both of its jobs with it, retried or deferred alike: neither was
 * answered, so either may be delivered again (at least once, as after
 * any crash), never marked done unanswered. The greeting of a new
 * connection is awaited through the event loop too, so a local that
 * hangs before it accepts never stalls qmgr. Only one connection per
 * socket waits for its greeting at a time (one the agent has not
 * accepted means it is at its process limit), and its job moves to the
 * first connection that goes idle, so a concurrency limit above the
 * agent's process limit costs nothing. A connect failure
 * (the agent being restarted) keeps the job queued and its destination
 * blocked, retrying each second, and defers it after QMGR_CONNECT_TRIES
 * tries. A reply with dest_status=defer counts against the destination
 * (qmgr_dest_failed), any other reply for it.
 *
 * Interface: qmgr_local_dispatch, qmgr_local_parse_reply.
 *
 * SECURITY: the peer is an agent over a private socket; its replies are
 * parsed strictly (qmgr_local_parse_reply) and only ever change the state
 * of the deliveries the request listed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lio.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "qmgr.h"

#define QMGR_CONNECT_TRIES	30
#define QMGR_IDLE_CLOSE_MS	30000

struct qmgr_conn {
	struct lio *lio;
	char *socket;		/* private/<transport> */
	struct qmgr_job *job;	/* being served; NULL when idle */
	struct qmgr_job *next_job;	/* sent behind it (same destination) */
	struct ev_timer *timer;	/* request timeout or idle close */
	bool ready;		/* local's protocol greeting was read */
	long served;
	struct qmgr_conn *next;
};

static struct qmgr_conn *qmgr_conns;
static long qmgr_nconns;

static void qmgr_conn_close(struct qmgr_conn *c)
{
	struct qmgr_conn **pp;

	for (pp = &qmgr_conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ev_io_del(qmgr.loop, lio_fd(c->lio));
	ev_timer_del(qmgr.loop, &c->timer);
	lio_free(&c->lio);
	mem_free(c->socket);
	free(c);
	qmgr_nconns--;
}

long qmgr_local_parse_reply(const struct attr_list *reply,
			    struct qmgr_result **results_r,
			    bool *dest_defer_r)
{
	struct qmgr_result *res = NULL;
	long n = 0;
	const char *status = attr_get(reply, PROTO_ATTR_STATUS);

	*results_r = NULL;
	*dest_defer_r = false;
	if (status == NULL || strcmp(status, PROTO_STATUS_OK) != 0)
		return -1;
	for (size_t i = 0; i < reply->count; i++) {
		const struct attr *a = &reply->attrs[i];

		if (strcmp(a->name, PROTO_ATTR_RCPT_INDEX) == 0) {
			res = mem_array_realloc(res, (size_t)n + 1,
						sizeof(*res));
			memset(&res[n], 0, sizeof(res[n]));
			if (!str_to_long(a->value, 0, 1000000000,
					 &res[n].index))
				goto bad;
			n++;
		} else if (strcmp(a->name, PROTO_ATTR_STATUS) == 0) {
			continue;
		} else if (strcmp(a->name, PROTO_ATTR_DEST_STATUS) == 0) {
			if (strcmp(a->value, PROTO_STATUS_DEFER) == 0)
				*dest_defer_r = true;
			else if (strcmp(a->value, PROTO_STATUS_OK) != 0)
				goto bad;
		} else if (n == 0) {
			goto bad;
		} else if (strcmp(a->name, PROTO_ATTR_RCPT_STATUS) == 0) {
			res[n - 1].status = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_DSN) == 0) {
			res[n - 1].dsn = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_REASON) == 0) {
			res[n - 1].reason = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_RELAY) == 0) {
			res[n - 1].relay = a->value;
		} else {
			goto bad;
		}
	}
	for (long i = 0; i < n; i++) {
		const char *s = res[i].status;

		if (s == NULL || res[i].dsn == NULL || res[i].reason == NULL ||
		    (strcmp(s, PROTO_STATUS_OK) != 0 &&
		     strcmp(s, PROTO_STATUS_DEFER) != 0 &&
		     strcmp(s, PROTO_STATUS_BOUNCE) != 0))
			goto bad;
	}
	*results_r = res;
	return n;
bad:
	free(res);
	*dest_defer_r = false;
	return -1;
}

static void qmgr_conn_idle_timeout(void *ctx)
{
	struct qmgr_conn *c = ctx;

	c->timer = NULL;
	qmgr_conn_close(c);
}

/* A job leaves its connection: one less out for its destination. The
 * job sent behind it, if any, is now the one being served. */
static struct qmgr_job *qmgr_conn_take(struct qmgr_conn *c)
{
	struct qmgr_job *job = c->job;

	c->job = c->next_job;
	c->next_job = NULL;
	if (job != NULL)
		job->dest->busy--;
	if (c->job != NULL) {
		c->job->dest->queued--;
		c->job->dest->busy++;
	}
	return job;
}

/* "lost connection with smtp" and the like. */
static const char *qmgr_conn_reason(const struct qmgr_job *job,
				    const char *what)
{
	static struct str buf;

	str_clear(&buf);
	str_printf(&buf, "%s %s", what, job->dest->transport);
	return str_c(&buf);
}

/* The jobs on c are over, one way or the other: c is lost. */
static void qmgr_conn_job_failed(struct qmgr_conn *c, const char *reason)
{
	struct qmgr_job *jobs[2];
	size_t n = 0;
	bool served = c->served > 0;
	struct str why = STR_INIT;

	str_set(&why, reason);
	while (n < 2 && (jobs[n] = qmgr_conn_take(c)) != NULL)
		n++;
	qmgr_conn_close(c);
	/* Backwards, so requeued jobs keep their order. */
	while (n-- > 0) {
		struct qmgr_job *job = jobs[n];

		if (served && job->attempts == 0) {
			job->attempts++;
			qmgr_dest_requeue_front(job);
			continue;
		}
		msg_warn("%s: delivery to %s failed: %s", job->msg->qm->id,
			 job->dest->transport, str_c(&why));
		qmgr_msg_job_done(job, NULL, 0, str_c(&why));
	}
	str_release(&why);
	qmgr_local_dispatch();
}

static void qmgr_conn_request_timeout(void *ctx)
{
	struct qmgr_conn *c = ctx;

	c->timer = NULL;
	/* No retry: the agent may still be delivering. */
	c->served = 0;
	qmgr_conn_job_failed(c, qmgr_conn_reason(c->job,
						 "timeout waiting for"));
}

static void qmgr_conn_send(struct qmgr_conn *c, struct qmgr_job *job);
static void qmgr_local_connect_failed(struct qmgr_job *job);

static void qmgr_conn_now_idle(struct qmgr_conn *c);

/* The greeting of a new connection. */
static void qmgr_conn_hello(struct qmgr_conn *c)
{
	const char *error = "";
	struct qmgr_job *job;

	if (attr_client_hello(c->lio, PROTO_DELIVERY, &error)) {
		c->ready = true;
		if (c->job != NULL)
			qmgr_conn_send(c, c->job);
		else
			qmgr_conn_now_idle(c);
		/* The next connection may open now (qmgr_dest_dispatch). */
		qmgr_local_dispatch();
		return;
	}
	if (c->job == NULL) {	/* its job went elsewhere meanwhile */
		qmgr_conn_close(c);
		return;
	}
	/* The agent died or is being restarted: like a failed connect,
	 * try again soon. */
	job = qmgr_conn_take(c);
	msg_warn("%s: no greeting from %s: %s", job->msg->qm->id,
		 c->socket, error);
	qmgr_conn_close(c);
	qmgr_local_connect_failed(job);
	qmgr_local_dispatch();
}

/* Hand a parsed reply to the message and the destination. */
static void qmgr_conn_result(struct qmgr_job *job,
			     const struct attr_list *reply)
{
	struct qmgr_result *results;
	struct qmgr_dest *d = job->dest;
	bool dest_defer;
	long n = qmgr_local_parse_reply(reply, &results, &dest_defer);
	struct str why = STR_INIT;

	if (n > 0 && results[0].reason != NULL)
		str_set(&why, results[0].reason);
	qmgr_msg_job_done(job, results, n > 0 ? (size_t)n : 0,
			  n < 0 ? qmgr_conn_reason(job, "malformed reply from")
			  : NULL);
	free(results);
	if (dest_defer)
		qmgr_dest_failed(d, str_c(&why));
	else if (n >= 0)
		qmgr_dest_ok(d);
	str_release(&why);
}

static void qmgr_conn_readable(int fd, unsigned events, void *ctx)
{
	struct qmgr_conn *c = ctx;
	struct attr_list reply = ATTR_LIST_INIT;
	const char *error = "";
	enum lio_status st;

	if (!c->ready) {
		qmgr_conn_hello(c);
		return;
	}
	if (c->job == NULL) {	/* EOF (or junk) on an idle connection */
		qmgr_conn_close(c);
		return;
	}
	lio_ready(c->lio);
	do {	/* the reply to a pipelined job may be buffered already */
		st = attr_read(c->lio, &reply, NULL, &error);
		if (st != LIO_OK) {
			qmgr_conn_job_failed(c, st == LIO_EOF ?
					     qmgr_conn_reason(c->job,
						"lost connection with") :
					     error);
			attr_list_clear(&reply);
			return;
		}
		ev_timer_del(qmgr.loop, &c->timer);
		c->served++;
		qmgr_conn_result(qmgr_conn_take(c), &reply);
		attr_list_clear(&reply);
		if (c->job == NULL) {
			qmgr_conn_now_idle(c);
			break;
		}
		c->timer = ev_timer_add(qmgr.loop, qmgr.local_timeout * 1000,
					qmgr_conn_request_timeout, c);
	} while (lio_pending(c->lio) > 0);
	qmgr_local_dispatch();
}

/* "NEVER" or "SUCCESS,FAILURE,DELAY" from the queue's notify bits. */
static void qmgr_notify_name(unsigned notify, struct str *out)
{
	str_clear(out);
	if (notify & QUEUE_NOTIFY_NEVER) {
		str_append(out, "NEVER");
		return;
	}
	if (notify & QUEUE_NOTIFY_SUCCESS)
		str_append(out, "SUCCESS,");
	if (notify & QUEUE_NOTIFY_FAILURE)
		str_append(out, "FAILURE,");
	if (notify & QUEUE_NOTIFY_DELAY)
		str_append(out, "DELAY,");
	if (out->len > 0)
		str_truncate(out, out->len - 1);
}

/* The smtp/lmtp additions to the request (proto.h). */
static void qmgr_job_relay_attrs(const struct qmgr_job *job,
				 struct attr_list *req)
{
	struct queue_msg *qm = job->msg->qm;
	const char *ret = attr_get(&qm->attrs, PROTO_ATTR_RET);
	const char *envid = attr_get(&qm->attrs, PROTO_ATTR_ENVID);

	attr_add(req, PROTO_ATTR_NEXTHOP, job->dest->nexthop);
	attr_add_long(req, PROTO_ATTR_SIZE, (long)qm->content_len);
	if (ret != NULL && *ret != '\0')
		attr_add(req, PROTO_ATTR_RET, ret);
	if (envid != NULL && *envid != '\0')
		attr_add(req, PROTO_ATTR_ENVID, envid);
}

static void qmgr_job_request(const struct qmgr_job *job,
			     struct attr_list *req)
{
	struct str path = STR_INIT, notify = STR_INIT;
	const struct queue_msg *qm = job->msg->qm;
	bool relay = job->dest->nexthop != NULL;

	str_printf(&path, "%s/%s", QUEUE_ACTIVE, qm->id);
	attr_add(req, PROTO_ATTR_REQUEST, PROTO_REQ_DELIVER);
	attr_add(req, PROTO_ATTR_QUEUE_ID, qm->id);
	attr_add(req, PROTO_ATTR_QUEUE_FILE, str_c(&path));
	attr_add(req, PROTO_ATTR_SENDER, qm->sender);
	if (relay)
		qmgr_job_relay_attrs(job, req);
	for (size_t i = 0; i < job->count; i++) {
		const struct qmgr_dlv *d = &job->dlvs[i];
		const struct queue_rcpt *r = &qm->rcpts[d->rcpt];

		attr_add(req, PROTO_ATTR_RECIPIENT, d->address);
		attr_add(req, PROTO_ATTR_ORIG_RCPT, r->address);
		attr_add_long(req, PROTO_ATTR_RCPT_INDEX, (long)d->rcpt);
		if (relay && r->notify != 0) {
			qmgr_notify_name(r->notify, &notify);
			attr_add(req, PROTO_ATTR_NOTIFY, str_c(&notify));
		}
		if (relay && r->orig != NULL && *r->orig != '\0')
			attr_add(req, PROTO_ATTR_ORCPT, r->orig);
		if (d->target != NULL)
			attr_add(req, PROTO_ATTR_TARGET, d->target);
	}
	str_release(&path);
	str_release(&notify);
}

/* Write job's request on c; false if c is lost (and handled). */
static bool qmgr_conn_write(struct qmgr_conn *c, struct qmgr_job *job)
{
	struct attr_list req = ATTR_LIST_INIT;

	job->t_sent = qmgr_now();
	qmgr_job_request(job, &req);
	attr_write(c->lio, &req);
	attr_list_clear(&req);
	if (lio_flush(c->lio) == LIO_OK)
		return true;
	qmgr_conn_job_failed(c, qmgr_conn_reason(job, "lost connection with"));
	return false;
}

static void qmgr_conn_send(struct qmgr_conn *c, struct qmgr_job *job)
{
	ev_timer_del(qmgr.loop, &c->timer);
	c->job = job;
	if (!qmgr_conn_write(c, job))
		return;
	c->timer = ev_timer_add(qmgr.loop, qmgr.local_timeout * 1000,
				qmgr_conn_request_timeout, c);
	ev_io_add(qmgr.loop, lio_fd(c->lio), EV_READ, qmgr_conn_readable, c);
}

/* Send job behind the one c is serving: the agent starts it as soon as
 * it has answered the first, without waiting for us to read that answer
 * and send the next (qmgr is one process for every connection). The
 * request timeout starts when it becomes the one being served. */
static void qmgr_conn_send_next(struct qmgr_conn *c, struct qmgr_job *job)
{
	c->next_job = job;
	(void)qmgr_conn_write(c, job);
}

/* Connect for job; the request goes out once the agent has greeted us. */
static bool qmgr_conn_open(struct qmgr_job *job)
{
	struct qmgr_conn *c;
	int fd = lio_connect_unix(job->dest->socket, (int)qmgr.local_timeout);

	if (fd < 0)
		return false;
	c = mem_alloc(sizeof(*c));
	c->lio = lio_create(fd, (int)qmgr.local_timeout);
	c->socket = mem_strdup(job->dest->socket);
	c->job = job;
	c->next = qmgr_conns;
	qmgr_conns = c;
	qmgr_nconns++;
	c->timer = ev_timer_add(qmgr.loop, qmgr.local_timeout * 1000,
				qmgr_conn_request_timeout, c);
	ev_io_add(qmgr.loop, fd, EV_READ, qmgr_conn_readable, c);
	return true;
}

static void qmgr_local_retry(void *ctx)
{
	qmgr.retry_timer = NULL;
	for (struct qmgr_dest *d = qmgr.dests; d != NULL; d = d->next)
		d->blocked = false;
	qmgr_local_dispatch();
}

/* A connect failure: try again soon, or give up on the job. The job is
 * no longer counted as out. */
static void qmgr_local_connect_failed(struct qmgr_job *job)
{
	if (++job->attempts >= QMGR_CONNECT_TRIES) {
		msg_warn("%s: connect to %s: %m", job->msg->qm->id,
			 job->dest->socket);
		qmgr_msg_job_done(job, NULL, 0, qmgr_conn_reason(job,
				  "cannot connect to delivery agent"));
		return;
	}
	job->dest->blocked = true;
	qmgr_dest_requeue_front(job);
	if (qmgr.retry_timer == NULL)
		qmgr.retry_timer = ev_timer_add(qmgr.loop, 1000,
						qmgr_local_retry, NULL);
}

static struct qmgr_conn *qmgr_conn_idle(const char *socket)
{
	for (struct qmgr_conn *c = qmgr_conns; c != NULL; c = c->next)
		if (c->ready && c->job == NULL &&
		    strcmp(c->socket, socket) == 0)
			return c;
	return NULL;
}

/* The connection to socket still waiting for its greeting, or NULL. */
static struct qmgr_conn *qmgr_conn_pending(const char *socket)
{
	for (struct qmgr_conn *c = qmgr_conns; c != NULL; c = c->next)
		if (!c->ready && strcmp(c->socket, socket) == 0)
			return c;
	return NULL;
}

/* c (ready) has just become idle. A job waiting on a connection that
 * the agent has not accepted yet (every agent process busy: the
 * destination's limit is above the service's process limit) moves here
 * at once instead of waiting for a process to free up; its unsent
 * request went nowhere. Else c waits for work, closed if none comes. */
static void qmgr_conn_now_idle(struct qmgr_conn *c)
{
	struct qmgr_conn *p = qmgr_conn_pending(c->socket);
	struct qmgr_job *job;

	ev_timer_del(qmgr.loop, &c->timer);
	if (p != NULL && p->job != NULL) {
		job = p->job;
		p->job = NULL;
		ev_timer_del(qmgr.loop, &p->timer);
		p->timer = ev_timer_add(qmgr.loop, QMGR_IDLE_CLOSE_MS,
					qmgr_conn_idle_timeout, p);
		qmgr_conn_send(c, job);
		return;
	}
	c->timer = ev_timer_add(qmgr.loop, QMGR_IDLE_CLOSE_MS,
				qmgr_conn_idle_timeout, c);
}

/* A connection serving a job of d with nothing behind it, if d has no
 * recent failure (a job behind one to a dead host would wait for the
 * same timeouts). */
static struct qmgr_conn *qmgr_conn_pipeline(const struct qmgr_dest *d)
{
	if (d->fails > 0)
		return NULL;
	for (struct qmgr_conn *c = qmgr_conns; c != NULL; c = c->next)
		if (c->ready && c->job != NULL && c->job->dest == d &&
		    c->next_job == NULL)
			return c;
	return NULL;
}

/* Send d's jobs while it has room: up to its limit being served, and one
 * more behind each of those. */
static void qmgr_dest_dispatch(struct qmgr_dest *d)
{
	struct qmgr_job *job;
	struct qmgr_conn *c;

	while (d->jobs != NULL && !d->blocked) {
		if (qmgr_dest_is_dead(d, time(NULL)))
			return;
		c = qmgr_conn_idle(d->socket);
		/* One new connection per socket at a time: one the agent
		 * has not accepted is a sign it is at its process limit. */
		if (d->busy < d->limit &&
		    (c != NULL || qmgr_conn_pending(d->socket) == NULL)) {
			job = qmgr_dest_pop(d);
			d->busy++;
			if (c != NULL) {
				qmgr_conn_send(c, job);
			} else if (!qmgr_conn_open(job)) {
				d->busy--;
				qmgr_local_connect_failed(job);
			}
			continue;
		}
		c = qmgr_conn_pipeline(d);
		if (c == NULL)
			return;
		job = qmgr_dest_pop(d);
		d->queued++;
		qmgr_conn_send_next(c, job);
	}
}

void qmgr_local_dispatch(void)
{
	static bool running;

	/* Replies handled inside (a failed send) call us again: the outer
	 * loop picks their work up. */
	if (running)
		return;
	running = true;
	for (struct qmgr_dest *d = qmgr.dests; d != NULL; d = d->next)
		qmgr_dest_dispatch(d);
	qmgr_dest_gc();
	running = false;
}
