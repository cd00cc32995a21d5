/*
 * qmgr_local: qmgr's connections to local (qmgr.h, proto.h).
 *
 * Up to local_destination_concurrency_limit connections to private/local
 * stay open across messages, each carrying one request at a time; the
 * event loop tells when a reply is readable, and the reply is then read
 * whole (local writes it in one flush). A request that fails on a
 * connection that had already served others (local exited on max_use or
 * an idle timeout just then) is retried once on a fresh connection; any
 * other failure defers the request's deliveries. The greeting of a new
 * connection is awaited through the event loop too, so a local that
 * hangs before it accepts never stalls qmgr. A connect failure
 * (local being restarted) keeps the job queued and retries each second,
 * deferring it after QMGR_CONNECT_TRIES tries.
 *
 * Interface: qmgr_local_enqueue, qmgr_local_dispatch,
 * qmgr_local_parse_reply.
 *
 * SECURITY: the peer is local over a private socket; its replies are
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

#define QMGR_LOCAL_SOCKET	QUEUE_PRIVATE "/local"
#define QMGR_CONNECT_TRIES	30
#define QMGR_IDLE_CLOSE_MS	30000

struct qmgr_conn {
	struct lio *lio;
	struct qmgr_job *job;	/* NULL when idle */
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
	free(c);
	qmgr_nconns--;
}

void qmgr_local_enqueue(struct qmgr_job *job)
{
	job->next = NULL;
	*qmgr.jobs_tail = job;
	qmgr.jobs_tail = &job->next;
}

static void qmgr_local_requeue_front(struct qmgr_job *job)
{
	job->next = qmgr.jobs;
	qmgr.jobs = job;
	if (qmgr.jobs_tail == &qmgr.jobs)
		qmgr.jobs_tail = &job->next;
}

static struct qmgr_job *qmgr_local_pop(void)
{
	struct qmgr_job *job = qmgr.jobs;

	if (job != NULL) {
		qmgr.jobs = job->next;
		if (qmgr.jobs == NULL)
			qmgr.jobs_tail = &qmgr.jobs;
		job->next = NULL;
	}
	return job;
}

long qmgr_local_parse_reply(const struct attr_list *reply,
			    struct qmgr_result **results_r)
{
	struct qmgr_result *res = NULL;
	long n = 0;
	const char *status = attr_get(reply, PROTO_ATTR_STATUS);

	*results_r = NULL;
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
		} else if (n == 0) {
			goto bad;
		} else if (strcmp(a->name, PROTO_ATTR_RCPT_STATUS) == 0) {
			res[n - 1].status = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_DSN) == 0) {
			res[n - 1].dsn = a->value;
		} else if (strcmp(a->name, PROTO_ATTR_REASON) == 0) {
			res[n - 1].reason = a->value;
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
	return -1;
}

static void qmgr_conn_idle_timeout(void *ctx)
{
	struct qmgr_conn *c = ctx;

	c->timer = NULL;
	qmgr_conn_close(c);
}

/* The job on c is over, one way or the other. */
static void qmgr_conn_job_failed(struct qmgr_conn *c, const char *reason)
{
	struct qmgr_job *job = c->job;
	bool retry = c->served > 0 && job->attempts == 0;

	c->job = NULL;
	qmgr_conn_close(c);
	if (retry) {
		job->attempts++;
		qmgr_local_requeue_front(job);
	} else {
		msg_warn("%s: delivery to local failed: %s",
			 job->msg->qm->id, reason);
		qmgr_msg_job_done(job, NULL, 0, reason);
	}
	qmgr_local_dispatch();
}

static void qmgr_conn_request_timeout(void *ctx)
{
	struct qmgr_conn *c = ctx;

	c->timer = NULL;
	/* No retry: local may still be delivering. */
	c->served = 0;
	qmgr_conn_job_failed(c, "timeout waiting for local");
}

static void qmgr_conn_send(struct qmgr_conn *c, struct qmgr_job *job);
static void qmgr_local_connect_failed(struct qmgr_job *job);

static void qmgr_conn_readable(int fd, unsigned events, void *ctx)
{
	struct qmgr_conn *c = ctx;
	struct attr_list reply = ATTR_LIST_INIT;
	struct qmgr_result *results;
	struct qmgr_job *job = c->job;
	const char *error = "";
	enum lio_status st;
	long n;

	if (job == NULL) {	/* EOF (or junk) on an idle connection */
		qmgr_conn_close(c);
		return;
	}
	if (!c->ready) {
		if (!attr_client_hello(c->lio, PROTO_DELIVERY, &error)) {
			/* local died or is being restarted: like a failed
			 * connect, try again soon. */
			msg_warn("%s: no greeting from local: %s",
				 job->msg->qm->id, error);
			c->job = NULL;
			qmgr_conn_close(c);
			qmgr_local_connect_failed(job);
			return;
		}
		c->ready = true;
		qmgr_conn_send(c, job);
		return;
	}
	st = attr_read(c->lio, &reply, NULL, &error);
	if (st != LIO_OK) {
		qmgr_conn_job_failed(c, st == LIO_EOF ?
				     "lost connection with local" : error);
		attr_list_clear(&reply);
		return;
	}
	ev_timer_del(qmgr.loop, &c->timer);
	c->job = NULL;
	c->served++;
	n = qmgr_local_parse_reply(&reply, &results);
	qmgr_msg_job_done(job, results, n > 0 ? (size_t)n : 0,
			  n < 0 ? "malformed reply from local" : NULL);
	free(results);
	attr_list_clear(&reply);
	c->timer = ev_timer_add(qmgr.loop, QMGR_IDLE_CLOSE_MS,
				qmgr_conn_idle_timeout, c);
	qmgr_local_dispatch();
}


static void qmgr_job_request(const struct qmgr_job *job,
			     struct attr_list *req)
{
	struct str path = STR_INIT;
	const struct queue_msg *qm = job->msg->qm;

	str_printf(&path, "%s/%s", QUEUE_ACTIVE, qm->id);
	attr_add(req, PROTO_ATTR_REQUEST, PROTO_REQ_DELIVER);
	attr_add(req, PROTO_ATTR_QUEUE_ID, qm->id);
	attr_add(req, PROTO_ATTR_QUEUE_FILE, str_c(&path));
	attr_add(req, PROTO_ATTR_SENDER, qm->sender);
	for (size_t i = 0; i < job->count; i++) {
		const struct qmgr_dlv *d = &job->dlvs[i];

		attr_add(req, PROTO_ATTR_RECIPIENT, d->address);
		attr_add(req, PROTO_ATTR_ORIG_RCPT, qm->rcpts[d->rcpt].address);
		attr_add_long(req, PROTO_ATTR_RCPT_INDEX, (long)d->rcpt);
		if (d->target != NULL)
			attr_add(req, PROTO_ATTR_TARGET, d->target);
	}
	str_release(&path);
}

static void qmgr_conn_send(struct qmgr_conn *c, struct qmgr_job *job)
{
	struct attr_list req = ATTR_LIST_INIT;
	enum lio_status st;

	ev_timer_del(qmgr.loop, &c->timer);
	c->job = job;
	job->t_sent = qmgr_now();
	qmgr_job_request(job, &req);
	attr_write(c->lio, &req);
	attr_list_clear(&req);
	st = lio_flush(c->lio);
	if (st != LIO_OK) {
		qmgr_conn_job_failed(c, "lost connection with local");
		return;
	}
	c->timer = ev_timer_add(qmgr.loop, qmgr.local_timeout * 1000,
				qmgr_conn_request_timeout, c);
	ev_io_add(qmgr.loop, lio_fd(c->lio), EV_READ, qmgr_conn_readable, c);
}

/* Connect for job; the request goes out once local has greeted us. */
static bool qmgr_conn_open(struct qmgr_job *job)
{
	struct qmgr_conn *c;
	int fd = lio_connect_unix(QMGR_LOCAL_SOCKET, (int)qmgr.local_timeout);

	if (fd < 0)
		return false;
	c = mem_alloc(sizeof(*c));
	c->lio = lio_create(fd, (int)qmgr.local_timeout);
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
	qmgr_local_dispatch();
}

/* A connect failure: try again soon, or give up on the job. */
static void qmgr_local_connect_failed(struct qmgr_job *job)
{
	if (++job->attempts >= QMGR_CONNECT_TRIES) {
		msg_warn("%s: connect to %s: %m", job->msg->qm->id,
			 QMGR_LOCAL_SOCKET);
		qmgr_msg_job_done(job, NULL, 0,
				  "cannot connect to local delivery agent");
		return;
	}
	qmgr_local_requeue_front(job);
	if (qmgr.retry_timer == NULL)
		qmgr.retry_timer = ev_timer_add(qmgr.loop, 1000,
						qmgr_local_retry, NULL);
}

void qmgr_local_dispatch(void)
{
	struct qmgr_job *job;
	struct qmgr_conn *c;

	while (qmgr.jobs != NULL && qmgr.retry_timer == NULL) {
		for (c = qmgr_conns; c != NULL && c->job != NULL; c = c->next)
			;
		if (c == NULL && qmgr_nconns >= qmgr.local_limit)
			return;
		job = qmgr_local_pop();
		if (c != NULL)
			qmgr_conn_send(c, job);
		else if (!qmgr_conn_open(job))
			qmgr_local_connect_failed(job);
	}
}
