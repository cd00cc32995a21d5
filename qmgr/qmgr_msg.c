/*
 * qmgr_msg: one message's life in the active queue (qmgr.h).
 *
 * start: open active/ID for update (corrupt files go to corrupt/, never
 * deleted), log "from=", expand each recipient still to do into final
 * deliveries, and queue them for local in batches. Failures found while
 * expanding (unknown users, loops, relay destinations we cannot reach
 * yet) are logged and recorded at once.
 *
 * job_done: for each answered delivery log "to=... status=", and once
 * every delivery of a queue recipient is answered, record the recipient
 * (done or bounced) in the queue file, synced, before anything else
 * happens to the message. A recipient with any deferred delivery stays
 * to do. When no job is left the message is removed (nothing to do) or
 * moved to deferred/ with its next attempt time as mtime.
 *
 * Interface: qmgr_msg_start, qmgr_msg_job_done.
 *
 * SECURITY: runs as mail_owner. Queue files are written by smtpd and
 * pickup; anything unparsable is quarantined. Addresses are logged as
 * they are in the envelope, which smtpd validated.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "metrics_client.h"
#include "msg.h"
#include "proto.h"
#include "qmgr.h"
#include "safe_file.h"

static void qmgr_msg_link(struct qmgr_msg *m)
{
	m->next = qmgr.msgs;
	if (qmgr.msgs != NULL)
		qmgr.msgs->prev = m;
	qmgr.msgs = m;
	qmgr.nmsgs++;
	if (m->is_new)
		qmgr.nnew++;
}

static void qmgr_msg_free(struct qmgr_msg *m)
{
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		qmgr.msgs = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	qmgr.nmsgs--;
	if (m->is_new) {
		qmgr.nnew--;
		qmgr_flow_refill();
	}
	for (size_t i = 0; m->qm != NULL && i < m->qm->nrcpt; i++) {
		mem_free(m->rs[i].defer_address);
		mem_free(m->rs[i].defer_dsn);
		mem_free(m->rs[i].defer_reason);
		mem_free(m->rs[i].defer_relay);
	}
	for (size_t i = 0; i < m->nreports; i++) {
		mem_free(m->reports[i].address);
		mem_free(m->reports[i].dsn);
		mem_free(m->reports[i].relay);
		mem_free(m->reports[i].reason);
	}
	mem_free(m->reports);
	queue_msg_free(&m->qm);
	mem_free(m->rs);
	str_release(&m->defer_reason);
	str_release(&m->defer_log);
	free(m);
}

/* The transport of the job being noted (qmgr_msg_job_done sets it),
 * for the metrics; NULL for outcomes of no delivery (expiry). */
static const char *qmgr_note_transport;

/* One recipient's outcome for correo-metrics(8). */
static void qmgr_metrics_rcpt(const char *status, double delay)
{
	const char *transport = qmgr_note_transport != NULL ?
		qmgr_note_transport : "none";

	if (strcmp(status, "sent") == 0) {
		metrics_count("correo_messages_delivered_total", transport, 1);
		metrics_observe("correo_delivery_delay_seconds", transport,
				delay);
	} else if (strcmp(status, "bounced") == 0) {
		metrics_count("correo_messages_bounced_total", transport, 1);
	} else {
		metrics_count("correo_messages_deferred_total", transport, 1);
	}
}

/* "ID: to=<a>, orig_to=<o>, relay=R, delay=, delays=, dsn=, status=S (r)" */
static void qmgr_log_rcpt(struct qmgr_msg *m, size_t rcpt,
			  const char *address, const char *relay,
			  double t_sent, const char *dsn, const char *status,
			  const char *reason)
{
	struct str line = STR_INIT;
	const struct queue_rcpt *r = &m->qm->rcpts[rcpt];
	const char *orig = r->orig != NULL && *r->orig != '\0' ? r->orig :
		r->address;
	double now = qmgr_now();

	str_printf(&line, "to=<%s>, ", address);
	if (strcasecmp(orig, address) != 0)
		str_printf(&line, "orig_to=<%s>, ", orig);
	str_printf(&line, "relay=%s, delay=", relay);
	qmgr_delay_format(&line, now - m->t_arrival);
	str_append(&line, ", delays=");
	qmgr_delay_format(&line, m->t_active - m->t_arrival);
	str_append_c(&line, '/');
	qmgr_delay_format(&line, t_sent > 0 ? t_sent - m->t_active : 0);
	str_append(&line, "/0/");
	qmgr_delay_format(&line, t_sent > 0 ? now - t_sent : 0);
	str_printf(&line, ", dsn=%s, status=%s (%s)", dsn, status, reason);
	msg_info("%s: %s", m->qm->id, str_c(&line));
	str_release(&line);
	qmgr_metrics_rcpt(status, now - m->t_arrival);
}

/* Deliveries noted now went through a relaying transport (smtp): a
 * success is "relayed", not "delivered" (qmgr_msg_job_done sets it). */
static bool qmgr_note_relayed;

static void qmgr_report_add(struct qmgr_msg *m, size_t rcpt,
			    enum qmgr_dsn_action action, const char *address,
			    const char *dsn, const char *relay,
			    const char *reason)
{
	struct qmgr_report *r;

	m->reports = mem_array_realloc(m->reports, m->nreports + 1,
				       sizeof(*m->reports));
	r = &m->reports[m->nreports++];
	r->rcpt = rcpt;
	r->action = action;
	r->address = mem_strdup(address);
	r->dsn = mem_strdup(dsn);
	r->relay = mem_strdup(relay);
	r->reason = mem_strdup(reason);
}

static void qmgr_rstate_defer(struct qmgr_rstate *rs, const char *address,
			      const char *dsn, const char *relay,
			      const char *reason)
{
	rs->deferred = true;
	mem_free(rs->defer_address);
	mem_free(rs->defer_dsn);
	mem_free(rs->defer_relay);
	mem_free(rs->defer_reason);
	rs->defer_address = mem_strdup(address);
	rs->defer_dsn = mem_strdup(dsn);
	rs->defer_relay = mem_strdup(relay);
	rs->defer_reason = mem_strdup(reason);
}

/* Record one delivery's outcome in the recipient's state. */
static void qmgr_note(struct qmgr_msg *m, size_t rcpt, const char *address,
		      const char *relay, double t_sent, const char *status,
		      const char *dsn, const char *reason)
{
	struct qmgr_rstate *rs = &m->rs[rcpt];

	if (strcmp(status, PROTO_STATUS_OK) == 0) {
		rs->delivered = true;
		qmgr_log_rcpt(m, rcpt, address, relay, t_sent, dsn, "sent",
			      reason);
		if (qmgr_bounce_wanted(m->qm->rcpts[rcpt].notify,
				       QMGR_DSN_DELIVERED))
			qmgr_report_add(m, rcpt, qmgr_note_relayed ?
					QMGR_DSN_RELAYED : QMGR_DSN_DELIVERED,
					address, dsn, relay, reason);
	} else if (strcmp(status, PROTO_STATUS_BOUNCE) == 0) {
		rs->bounced = true;
		qmgr_log_rcpt(m, rcpt, address, relay, t_sent, dsn, "bounced",
			      reason);
		qmgr_report_add(m, rcpt, QMGR_DSN_FAILED, address, dsn, relay,
				reason);
	} else {
		qmgr_log_rcpt(m, rcpt, address, relay, t_sent, dsn, "deferred",
			      reason);
		qmgr_rstate_defer(rs, address, dsn, relay, reason);
		str_set(&m->defer_reason, reason);
		str_printf(&m->defer_log, "<%s>: %s\n",
			   m->qm->rcpts[rcpt].address, reason);
	}
}

/* A recipient whose deliveries are all answered: record it (unsynced;
 * the caller syncs once per batch). A recipient that only bounced is
 * recorded at the end of the run, once its bounce is queued
 * (qmgr_msg_mark_bounced), so a crash in between cannot lose the
 * bounce. */
static bool qmgr_rcpt_settle(struct qmgr_msg *m, size_t rcpt)
{
	struct qmgr_rstate *rs = &m->rs[rcpt];

	if (rs->pending > 0 || rs->deferred || !rs->delivered)
		return false;
	if (!queue_msg_set_status(m->qm, rcpt, QUEUE_RCPT_DONE)) {
		msg_warn("%s: cannot record recipient %zu: %m", m->qm->id,
			 rcpt);
		rs->deferred = true;
		return false;
	}
	return true;
}

/* Recorded outcomes must be on disk before the message goes on with
 * other deliveries or into deferred/. A message about to be removed
 * needs no sync: the unlink supersedes the marks, and a crash before it
 * can only repeat deliveries (the durability rule allows that, never a
 * loss). mine is the job reference the caller still holds. */
static bool qmgr_msg_must_sync(const struct qmgr_msg *m, size_t mine)
{
	return m->jobs > mine || queue_msg_todo(m->qm) > 0;
}

static void qmgr_msg_sync(struct qmgr_msg *m)
{
	if (!queue_msg_sync(m->qm))
		msg_warn("%s: fdatasync queue file: %m", m->qm->id);
}

/* Give up on what is left of an expired message: every recipient still
 * deferred fails with its last reason, and its last status made
 * permanent (4.2.2 "mailbox full" becomes 5.2.2: RFC 3463 class 5 is a
 * failure, and the sender's DSN says the delivery failed). */
static void qmgr_msg_expire(struct qmgr_msg *m)
{
	struct str why = STR_INIT;
	char failed[16];

	for (size_t i = 0; i < m->qm->nrcpt; i++) {
		struct qmgr_rstate *rs = &m->rs[i];
		const char *addr = rs->defer_address != NULL ?
			rs->defer_address : m->qm->rcpts[i].address;
		const char *dsn = rs->defer_dsn != NULL ? rs->defer_dsn :
			"4.4.7";

		if (m->qm->rcpts[i].status != QUEUE_RCPT_TODO ||
		    rs->delivered || rs->bounced)
			continue;
		if (dsn[0] == '4' && strlen(dsn) < sizeof(failed)) {
			memcpy(failed, dsn, strlen(dsn) + 1);
			failed[0] = '5';
			dsn = failed;
		}
		str_clear(&why);
		str_printf(&why, "message expired: %s", rs->defer_reason !=
			   NULL ? rs->defer_reason : m->defer_reason.len > 0 ?
			   str_c(&m->defer_reason) : "queue lifetime exceeded");
		qmgr_log_rcpt(m, i, addr, rs->defer_relay != NULL ?
			      rs->defer_relay : "none", 0, dsn, "bounced",
			      str_c(&why));
		qmgr_report_add(m, i, QMGR_DSN_FAILED, addr, dsn,
				rs->defer_relay, rs->defer_reason != NULL ?
				rs->defer_reason : str_c(&why));
		rs->deferred = false;
		rs->bounced = true;
	}
	str_release(&why);
}

/* Record the recipients that bounced in this run, now that the sender
 * has been told (or need not be). Unsynced: the caller syncs or
 * removes the file. */
static bool qmgr_msg_mark_bounced(struct qmgr_msg *m)
{
	bool marked = false;

	for (size_t i = 0; i < m->qm->nrcpt; i++) {
		struct qmgr_rstate *rs = &m->rs[i];

		if (m->qm->rcpts[i].status != QUEUE_RCPT_TODO ||
		    !rs->bounced || rs->delivered || rs->deferred ||
		    rs->pending > 0)
			continue;
		if (!queue_msg_set_status(m->qm, i, QUEUE_RCPT_BOUNCED))
			msg_warn("%s: cannot record recipient %zu: %m",
				 m->qm->id, i);
		else
			marked = true;
	}
	return marked;
}

/* Append this attempt's reasons to defer/ID (not synced: it is only
 * information for the admin). */
static void qmgr_msg_defer_log(struct qmgr_msg *m)
{
	char path[QUEUE_ID_SIZE + 32];
	int fd;

	if (m->defer_log.len == 0 ||
	    !str_snprintf(path, sizeof(path), "%s/%s", QMGR_DEFER_DIR,
			  m->qm->id))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
		  O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT && mkdir(QMGR_DEFER_DIR, 0700) == 0)
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
			  O_CLOEXEC, 0600);
	if (fd < 0 || !safe_write_all(fd, m->defer_log.data,
				      m->defer_log.len))
		msg_warn("%s: write %s: %m", m->qm->id, path);
	if (fd >= 0)
		close(fd);
}

static void qmgr_msg_defer(struct qmgr_msg *m)
{
	time_t now = time(NULL);
	time_t next = qmgr_backoff_next(now, m->qm->arrival, qmgr.min_backoff,
					qmgr.max_backoff);
	struct timespec ts[2] = { { next, 0 }, { next, 0 } };
	struct str path = STR_INIT;

	/* The reasons first, so "correo queue" never lists a deferred
	 * message without them. */
	qmgr_msg_defer_log(m);
	if (!queue_move(m->qm->id, QUEUE_ACTIVE, QUEUE_DEFERRED)) {
		msg_warn("%s: move to %s: %m", m->qm->id, QUEUE_DEFERRED);
		return;
	}
	str_printf(&path, "%s/%s", QUEUE_DEFERRED, m->qm->id);
	if (utimensat(AT_FDCWD, str_c(&path), ts, 0) != 0)
		msg_warn("%s: set next attempt time: %m", m->qm->id);
	str_release(&path);
}

static void qmgr_msg_defer_unlink(const char *id)
{
	char path[QUEUE_ID_SIZE + 32];

	if (str_snprintf(path, sizeof(path), "%s/%s", QMGR_DEFER_DIR, id) &&
	    unlink(path) != 0 && errno != ENOENT)
		msg_warn("%s: remove %s: %m", id, path);
}

/* Every job answered: bounce notice, then remove or defer. */
static void qmgr_msg_finish(struct qmgr_msg *m)
{
	const char *id = m->qm->id;
	long lifetime = *m->qm->sender == '\0' ? qmgr.bounce_lifetime :
		qmgr.queue_lifetime;
	bool expired = false;

	if (queue_msg_todo(m->qm) > 0 &&
	    time(NULL) - m->qm->arrival >= lifetime) {
		qmgr_msg_expire(m);
		expired = true;
	}
	/* Bounced recipients stay to do if their notice cannot be queued:
	 * the next run tries again. */
	if (!qmgr_bounce_notify(m, expired)) {
		for (size_t i = 0; i < m->qm->nrcpt; i++)
			if (m->rs[i].bounced && !m->rs[i].delivered)
				m->rs[i].deferred = true;
	}
	if (qmgr_msg_mark_bounced(m) && queue_msg_todo(m->qm) > 0)
		qmgr_msg_sync(m);
	if (queue_msg_todo(m->qm) == 0) {
		/* Kept for the next message where the pool has room
		 * (queue_spare.c), else removed. */
		if (!queue_spare_put(m->qm->path, m->qm->fd,
				     m->qm->content_offset +
				     m->qm->content_len) &&
		    unlink(m->qm->path) != 0 && errno != ENOENT) {
			msg_warn("%s: remove %s: %m", id, m->qm->path);
		} else {
			msg_info("%s: removed", id);
			qmgr_msg_defer_unlink(id);
		}
	} else {
		qmgr_msg_defer(m);
	}
	qmgr_msg_free(m);
	if (qmgr.incoming_left)
		qmgr_schedule_scan(false, false);
}

void qmgr_msg_job_done(struct qmgr_job *job,
		       const struct qmgr_result *results, size_t nresults,
		       const char *reason)
{
	struct qmgr_msg *m = job->msg;
	bool settled = false;

	qmgr_note_transport = job->dest->transport;
	qmgr_note_relayed = strcmp(job->dest->transport, "local") != 0 &&
		strcmp(job->dest->transport, "lmtp") != 0;
	for (size_t i = 0; i < job->count; i++) {
		const struct qmgr_dlv *d = &job->dlvs[i];
		const struct qmgr_result *r = results != NULL && i < nresults ?
			&results[i] : NULL;

		if (r != NULL && r->index == (long)d->rcpt)
			qmgr_note(m, d->rcpt, d->address, r->relay != NULL ?
				  r->relay : job->dest->transport,
				  job->t_sent, r->status, r->dsn, r->reason);
		else
			qmgr_note(m, d->rcpt, d->address, "none",
				  job->t_sent, PROTO_STATUS_DEFER, "4.3.0",
				  reason != NULL ? reason :
				  "malformed reply from delivery agent");
		m->rs[d->rcpt].pending--;
		settled |= qmgr_rcpt_settle(m, d->rcpt);
		mem_free(job->dlvs[i].address);
		mem_free(job->dlvs[i].target);
	}
	qmgr_note_relayed = false;
	qmgr_note_transport = NULL;
	if (settled && qmgr_msg_must_sync(m, 1))
		qmgr_msg_sync(m);
	free(job->dlvs);
	free(job);
	if (--m->jobs == 0)
		qmgr_msg_finish(m);
}

/* active/ID is unreadable: quarantine it, never delete it. */
static void qmgr_msg_corrupt(const char *id, const char *reason)
{
	msg_warn("%s: corrupt queue file: %s; moved to %s/", id, reason,
		 QUEUE_CORRUPT);
	if (!queue_move(id, QUEUE_ACTIVE, QUEUE_CORRUPT))
		msg_warn("%s: move to %s: %m", id, QUEUE_CORRUPT);
}

/* Is this (address, target) already a delivery of the message? */
static bool qmgr_msg_dup(struct qmgr_job *jobs, const char *address,
			 const char *target)
{
	for (struct qmgr_job *j = jobs; j != NULL; j = j->next) {
		for (size_t i = 0; i < j->count; i++) {
			const struct qmgr_dlv *d = &j->dlvs[i];

			if (strcasecmp(d->address, address) == 0 &&
			    ((d->target == NULL && target == NULL) ||
			     (d->target != NULL && target != NULL &&
			      strcmp(d->target, target) == 0)))
				return true;
		}
	}
	return false;
}

struct qmgr_batch {
	struct qmgr_msg *msg;
	struct qmgr_job *first, *last;
};

/* The message's open job for dest, or NULL if a new one is needed. */
static struct qmgr_job *qmgr_batch_job(struct qmgr_batch *b,
				       struct qmgr_dest *dest)
{
	for (struct qmgr_job *j = b->first; j != NULL; j = j->next)
		if (j->dest == dest && j->count < (size_t)qmgr.batch_limit)
			return j;
	return NULL;
}

static void qmgr_batch_add(struct qmgr_batch *b, size_t rcpt,
			   const struct resolve_delivery *d,
			   struct qmgr_dest *dest)
{
	struct str target = STR_INIT;
	struct qmgr_job *job = qmgr_batch_job(b, dest);
	struct qmgr_dlv *dlv;

	if (d->kind == RESOLVE_COMMAND)
		str_printf(&target, "|%s", d->path);
	else if (d->kind == RESOLVE_FILE)
		str_set(&target, d->path);
	if (qmgr_msg_dup(b->first, d->address, target.len > 0 ?
			 str_c(&target) : NULL)) {
		/* Another recipient of this message has the same target. */
		b->msg->rs[rcpt].delivered = true;
		str_release(&target);
		return;
	}
	if (job == NULL) {
		job = mem_alloc(sizeof(*job));
		job->msg = b->msg;
		job->dest = dest;
		if (b->last != NULL)
			b->last->next = job;
		else
			b->first = job;
		b->last = job;
		b->msg->jobs++;
	}
	job->dlvs = mem_array_realloc(job->dlvs, job->count + 1,
				      sizeof(*job->dlvs));
	dlv = &job->dlvs[job->count++];
	dlv->rcpt = rcpt;
	dlv->address = mem_strdup(d->address);
	dlv->target = target.len > 0 ? str_steal(&target) : NULL;
	b->msg->rs[rcpt].pending++;
}

/* transport "error": "5.1.2 text" or just text (5.0.0). */
static void qmgr_msg_route_error(struct qmgr_msg *m, size_t i,
				 const char *address, const char *text)
{
	char dsn[16] = "5.0.0";
	size_t n = strspn(text, "0123456789.");

	if (n >= 5 && n < sizeof(dsn) && (text[0] == '4' || text[0] == '5') &&
	    text[1] == '.' && (text[n] == ' ' || text[n] == '\0')) {
		memcpy(dsn, text, n);
		dsn[n] = '\0';
		text += n;
		text += strspn(text, " ");
	}
	if (*text == '\0')
		text = "mail for this destination is not accepted";
	qmgr_note(m, i, address, "none", 0, dsn[0] == '4' ?
		  PROTO_STATUS_DEFER : PROTO_STATUS_BOUNCE, dsn, text);
}

/* A transport name is a service row: a plain name, never a path. */
static bool qmgr_transport_ok(const char *name)
{
	return *name != '\0' && *name != '.' && strchr(name, '/') == NULL &&
		strlen(name) < 64;
}

/* A relay recipient: find its destination in transport_maps. */
static void qmgr_msg_route(struct qmgr_batch *b, size_t i,
			   const struct resolve_delivery *d)
{
	struct qmgr_msg *m = b->msg;
	struct transport_route route = TRANSPORT_ROUTE_INIT;
	const char *at = strrchr(d->address, '@'), *error = "";
	struct str domain = STR_INIT;

	if (at == NULL || at[1] == '\0') {
		qmgr_note(m, i, d->address, "none", 0, PROTO_STATUS_BOUNCE,
			  "5.1.3", "bad address syntax");
		return;
	}
	str_set(&domain, at + 1);
	str_lower(domain.data);
	if (domain.len > 0 && domain.data[domain.len - 1] == '.')
		str_truncate(&domain, domain.len - 1);
	if (transport_lookup(qmgr.transport, str_c(&domain), &route,
			     &error) < 0) {
		qmgr_note(m, i, d->address, "none", 0, PROTO_STATUS_DEFER,
			  "4.3.0", error);
	} else if (strcmp(route.transport, "error") == 0) {
		qmgr_msg_route_error(m, i, d->address, route.nexthop != NULL ?
				     route.nexthop : "");
	} else if (strcmp(route.transport, "local") == 0) {
		qmgr_batch_add(b, i, d, qmgr.local);
	} else if (!qmgr_transport_ok(route.transport)) {
		qmgr_note(m, i, d->address, "none", 0, PROTO_STATUS_DEFER,
			  "4.3.5", "bad transport name in transport_maps");
	} else {
		const char *nexthop = route.nexthop != NULL &&
			*route.nexthop != '\0' ? route.nexthop : str_c(&domain);

		qmgr_batch_add(b, i, d, qmgr_dest_get(route.transport,
							nexthop));
	}
	transport_route_release(&route);
	str_release(&domain);
}

/* Expand recipient i; deliveries go to the batch, failures are noted. */
static void qmgr_msg_expand(struct qmgr_batch *b, size_t i)
{
	struct qmgr_msg *m = b->msg;
	struct resolve_result res = RESOLVE_RESULT_INIT;

	resolve_expand(qmgr.resolver, m->qm->rcpts[i].address, &res);
	for (size_t k = 0; k < res.count; k++) {
		const struct resolve_delivery *d = &res.items[k];

		switch (d->kind) {
		case RESOLVE_BOUNCE:
			qmgr_note(m, i, d->address, "none", 0,
				  PROTO_STATUS_BOUNCE, d->dsn, d->reason);
			break;
		case RESOLVE_DEFER:
			qmgr_note(m, i, d->address, "none", 0,
				  PROTO_STATUS_DEFER, d->dsn, d->reason);
			break;
		case RESOLVE_FORWARD:
			qmgr_msg_route(b, i, d);
			break;
		default:
			qmgr_batch_add(b, i, d, qmgr.local);
			break;
		}
	}
	resolve_result_clear(&res);
}

static void qmgr_msg_log_from(struct qmgr_msg *m)
{
	long long size = (long long)m->qm->content_len;

	msg_info("%s: from=<%s>, size=%lld, nrcpt=%zu (queue active)",
		 m->qm->id, m->qm->sender, size, m->qm->nrcpt);
}

void qmgr_msg_start(const char *id, bool is_new)
{
	struct qmgr_batch b = { NULL, NULL, NULL };
	struct qmgr_msg *m;
	struct queue_msg *qm = NULL;
	const char *error = "";
	struct str path = STR_INIT;
	bool settled = false;
	int ret;

	str_printf(&path, "%s/%s", QUEUE_ACTIVE, id);
	ret = queue_msg_open(str_c(&path), true, &qm, &error);
	str_release(&path);
	if (ret == 0) {
		qmgr_msg_corrupt(id, error);
		return;
	}
	if (ret < 0) {
		msg_warn("%s: open queue file: %m", id);
		if (!queue_move(id, QUEUE_ACTIVE, QUEUE_DEFERRED))
			msg_warn("%s: move to %s: %m", id, QUEUE_DEFERRED);
		return;
	}
	if (strcmp(qm->id, id) != 0)
		(void)str_snprintf(qm->id, sizeof(qm->id), "%s", id);
	m = mem_alloc(sizeof(*m));
	m->qm = qm;
	m->rs = mem_array(qm->nrcpt > 0 ? qm->nrcpt : 1, sizeof(*m->rs));
	m->t_arrival = (double)qm->arrival + (double)qm->arrival_usec / 1e6;
	m->t_active = qmgr_now();
	m->is_new = is_new;
	qmgr_msg_link(m);
	qmgr_msg_log_from(m);
	b.msg = m;
	/* One job reference while expanding, so nothing finishes early. */
	m->jobs++;
	for (size_t i = 0; i < qm->nrcpt; i++) {
		if (qm->rcpts[i].status != QUEUE_RCPT_TODO)
			continue;
		qmgr_msg_expand(&b, i);
		settled |= qmgr_rcpt_settle(m, i);
	}
	if (settled && qmgr_msg_must_sync(m, 1))
		qmgr_msg_sync(m);
	for (struct qmgr_job *j = b.first, *next; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		qmgr_dest_enqueue(j);
	}
	if (--m->jobs == 0)
		qmgr_msg_finish(m);
	else
		qmgr_local_dispatch();
}
