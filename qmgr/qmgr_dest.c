/*
 * qmgr_dest: destinations and their job queues (qmgr.h).
 *
 * A destination is a transport and a next hop ("smtp" and
 * "[127.0.0.1]:2525", or "local" with none). Each has a FIFO of jobs
 * waiting for a connection and a concurrency limit: local's is
 * local_destination_concurrency_limit, smtp's
 * smtp_destination_concurrency_limit, any other transport's
 * default_destination_concurrency_limit.
 *
 * Dead destinations: when the agent answers dest_status=defer (no host
 * of the next hop answered, DNS failed) destination_concurrency_failed_
 * cohort_limit times in a row, the destination is dead for
 * destination_dead_time. Its waiting jobs and any new ones are deferred
 * at once with "delivery temporarily suspended: REASON" (Postfix's
 * words), so one unreachable site does not tie up connections while
 * mail for everyone else waits. The state is only in memory: a restart
 * forgets it, and the first attempt finds out again.
 *
 * Interface: qmgr_dest_get, qmgr_dest_enqueue, qmgr_dest_requeue_front,
 * qmgr_dest_pop, qmgr_dest_is_dead, qmgr_dest_failed, qmgr_dest_ok,
 * qmgr_dest_gc.
 *
 * SECURITY: transport names come from transport_maps and
 * default_transport (the administrator's); they are used only as
 * "private/NAME" socket names, and names with a '/' or a leading '.'
 * are never looked up (qmgr_msg.c refuses them first).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "msg.h"
#include "qmgr.h"

#define QMGR_SUSPENDED	"delivery temporarily suspended: "

static long qmgr_dest_limit(const char *transport)
{
	if (strcmp(transport, "local") == 0)
		return qmgr.local_limit;
	if (strcmp(transport, "smtp") == 0)
		return qmgr.smtp_limit;
	return qmgr.default_limit;
}

static bool qmgr_dest_same(const struct qmgr_dest *d, const char *transport,
			   const char *nexthop)
{
	if (strcmp(d->transport, transport) != 0)
		return false;
	if (d->nexthop == NULL || nexthop == NULL)
		return d->nexthop == nexthop;
	return strcasecmp(d->nexthop, nexthop) == 0;
}

struct qmgr_dest *qmgr_dest_get(const char *transport, const char *nexthop)
{
	struct qmgr_dest *d;
	struct str sock = STR_INIT;

	for (d = qmgr.dests; d != NULL; d = d->next)
		if (qmgr_dest_same(d, transport, nexthop))
			return d;
	d = mem_alloc(sizeof(*d));
	d->transport = mem_strdup(transport);
	d->nexthop = nexthop != NULL ? mem_strdup(nexthop) : NULL;
	str_printf(&sock, "%s/%s", QUEUE_PRIVATE, transport);
	d->socket = str_steal(&sock);
	d->jobs_tail = &d->jobs;
	d->limit = qmgr_dest_limit(transport);
	if (d->limit < 1)
		d->limit = 1;
	/* Append, so dispatch serves destinations in order of first use. */
	{
		struct qmgr_dest **pp = &qmgr.dests;

		while (*pp != NULL)
			pp = &(*pp)->next;
		*pp = d;
	}
	return d;
}

bool qmgr_dest_is_dead(struct qmgr_dest *d, time_t now)
{
	if (d->dead_until == 0)
		return false;
	if (now < d->dead_until)
		return true;
	/* Revived: the next job is a probe; one more failure kills it
	 * again at once. */
	msg_info("destination %s:%s: delivery resumed", d->transport,
		 d->nexthop != NULL ? d->nexthop : "");
	d->dead_until = 0;
	d->fails = d->fails > 0 && qmgr.failed_cohort > 1 ?
		qmgr.failed_cohort - 1 : 0;
	return false;
}

/* Defer job at once: its destination is dead. */
static void qmgr_dest_suspend(struct qmgr_job *job)
{
	struct str reason = STR_INIT;

	str_printf(&reason, "%s%s", QMGR_SUSPENDED,
		   str_c(&job->dest->dead_reason));
	qmgr_msg_job_done(job, NULL, 0, str_c(&reason));
	str_release(&reason);
}

void qmgr_dest_enqueue(struct qmgr_job *job)
{
	struct qmgr_dest *d = job->dest;

	if (qmgr_dest_is_dead(d, time(NULL))) {
		qmgr_dest_suspend(job);
		return;
	}
	job->next = NULL;
	*d->jobs_tail = job;
	d->jobs_tail = &job->next;
}

void qmgr_dest_requeue_front(struct qmgr_job *job)
{
	struct qmgr_dest *d = job->dest;

	job->next = d->jobs;
	d->jobs = job;
	if (d->jobs_tail == &d->jobs)
		d->jobs_tail = &job->next;
}

struct qmgr_job *qmgr_dest_pop(struct qmgr_dest *d)
{
	struct qmgr_job *job = d->jobs;

	if (job != NULL) {
		d->jobs = job->next;
		if (d->jobs == NULL)
			d->jobs_tail = &d->jobs;
		job->next = NULL;
	}
	return job;
}

void qmgr_dest_failed(struct qmgr_dest *d, const char *reason)
{
	struct qmgr_job *job;

	if (d->dead_until != 0 || ++d->fails < qmgr.failed_cohort ||
	    qmgr.dead_time <= 0)
		return;
	d->dead_until = time(NULL) + qmgr.dead_time;
	str_set(&d->dead_reason, reason != NULL ? reason :
		"destination not reachable");
	msg_info("destination %s:%s: delivery suspended for %lds: %s",
		 d->transport, d->nexthop != NULL ? d->nexthop : "",
		 qmgr.dead_time, str_c(&d->dead_reason));
	while ((job = qmgr_dest_pop(d)) != NULL)
		qmgr_dest_suspend(job);
}

void qmgr_dest_ok(struct qmgr_dest *d)
{
	d->fails = 0;
}

void qmgr_dest_gc(void)
{
	struct qmgr_dest **pp = &qmgr.dests, *d;
	time_t now = time(NULL);

	while ((d = *pp) != NULL) {
		if (d == qmgr.local || d->jobs != NULL || d->busy > 0 ||
		    d->queued > 0 ||
		    d->blocked || (d->dead_until != 0 && now < d->dead_until)) {
			pp = &d->next;
			continue;
		}
		*pp = d->next;
		mem_free(d->transport);
		mem_free(d->nexthop);
		mem_free(d->socket);
		str_release(&d->dead_reason);
		free(d);
	}
}
