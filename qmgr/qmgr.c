/*
 * qmgr: setup, triggers and timers of the queue manager (qmgr.h).
 *
 * qmgr is a SERVER_EVENT daemon. Its listening socket is private/qmgr:
 * smtpd and pickup connect, write one byte (PROTO_TRIGGER_SCAN after a
 * new message, PROTO_TRIGGER_WAKEUP from master's timer,
 * PROTO_TRIGGER_FLUSH from "correo queue flush") and close. Triggers are
 * coalesced: a burst of them leads to one scan a few milliseconds later.
 * Every queue_run_delay the deferred queue is scanned as well.
 *
 * Inflow control (flow.h): after each scan and whenever a message that
 * came from incoming/ is finished, qmgr tops private/flow up to
 * in_flow_tokens minus the new messages it holds or has yet to take, so
 * smtpd and pickup pause only while delivery is behind.
 *
 * Interface: qmgr_pre_init, qmgr_event_init, qmgr_schedule_scan,
 * qmgr_flow_refill, qmgr.
 *
 * SECURITY: anyone who can reach private/qmgr (mode 0700: only
 * mail_owner) can only cause a scan; the byte is read and nothing else.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "flow.h"
#include "msg.h"
#include "proto.h"
#include "qmgr.h"
#include "trigger.h"

#define QMGR_SCAN_DELAY_MS 5

struct qmgr qmgr;

/* Routing, destinations and notices. */
static void qmgr_pre_init_relay(void)
{
	char *error = NULL;

	qmgr.transport = transport_create(cfg_main, &error);
	if (qmgr.transport == NULL)
		msg_fatal("transport_maps: %s", error);
	qmgr.default_limit = cfg_int(cfg_main,
				     "default_destination_concurrency_limit");
	qmgr.smtp_limit = cfg_int(cfg_main,
				  "smtp_destination_concurrency_limit");
	qmgr.failed_cohort = cfg_int(cfg_main,
			"destination_concurrency_failed_cohort_limit");
	if (qmgr.failed_cohort < 1)
		qmgr.failed_cohort = 1;
	qmgr.dead_time = cfg_time(cfg_main, "destination_dead_time");
	qmgr.delay_warning = cfg_time(cfg_main, "delay_warning_time");
	qmgr.bounce_notice_rcpt = cfg_str(cfg_main, "bounce_notice_recipient");
	qmgr.local = qmgr_dest_get("local", NULL);
}

void qmgr_pre_init(void *ctx)
{
	char *error = NULL;

	qmgr.resolver = resolve_create(cfg_main, &error);
	if (qmgr.resolver == NULL)
		msg_fatal("open lookup tables: %s", error);
	qmgr.active_limit = cfg_int(cfg_main, "qmgr_message_active_limit");
	if (qmgr.active_limit < 1)
		qmgr.active_limit = 1;
	qmgr.local_limit = cfg_int(cfg_main,
				   "local_destination_concurrency_limit");
	if (qmgr.local_limit < 1)
		qmgr.local_limit = 1;
	qmgr.batch_limit = cfg_int(cfg_main, "qmgr_local_batch_limit");
	if (qmgr.batch_limit < 1)
		qmgr.batch_limit = 1;
	qmgr.min_backoff = cfg_time(cfg_main, "minimal_backoff_time");
	qmgr.max_backoff = cfg_time(cfg_main, "maximal_backoff_time");
	qmgr.queue_lifetime = cfg_time(cfg_main, "maximal_queue_lifetime");
	qmgr.bounce_lifetime = cfg_time(cfg_main, "bounce_queue_lifetime");
	qmgr.run_delay = cfg_time(cfg_main, "queue_run_delay");
	if (qmgr.run_delay < 1)
		qmgr.run_delay = 1;
	qmgr.local_timeout = cfg_time(cfg_main, "local_delivery_timeout");
	qmgr.myhostname = cfg_str(cfg_main, "myhostname");
	qmgr.flow_fd = -1;
	qmgr.flow_tokens = cfg_int(cfg_main, "in_flow_tokens");
	qmgr_pre_init_relay();
}

static void qmgr_scan_now(void *ctx)
{
	bool deferred = qmgr.scan_deferred, flush = qmgr.flush;

	qmgr.scan_timer = NULL;
	qmgr.scan_deferred = false;
	qmgr.flush = false;
	/* More of incoming/ to take: go on once replies have been read. */
	if (qmgr_scan(deferred, flush) && qmgr.scan_timer == NULL)
		qmgr.scan_timer = ev_timer_add(qmgr.loop, 0, qmgr_scan_now,
					       NULL);
	qmgr_flow_refill();
}

void qmgr_flow_refill(void)
{
	size_t backlog = qmgr.nnew + qmgr.incoming_pending;

	if (qmgr.flow_fd < 0 || qmgr.flow_tokens <= 0 ||
	    backlog >= (size_t)qmgr.flow_tokens)
		return;
	(void)flow_fill(qmgr.flow_fd, (size_t)qmgr.flow_tokens - backlog);
}

void qmgr_schedule_scan(bool deferred, bool flush)
{
	qmgr.scan_deferred |= deferred;
	qmgr.flush |= flush;
	if (qmgr.scan_timer == NULL)
		qmgr.scan_timer = ev_timer_add(qmgr.loop, QMGR_SCAN_DELAY_MS,
					       qmgr_scan_now, NULL);
}

static void qmgr_queue_run(void *ctx)
{
	qmgr.run_timer = ev_timer_add(qmgr.loop, qmgr.run_delay * 1000,
				      qmgr_queue_run, NULL);
	qmgr.wakeups++;
	qmgr_schedule_scan(true, false);
}

static void qmgr_trigger(const char *buf, size_t n, void *ctx)
{
	qmgr.wakeups++;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == PROTO_TRIGGER_WAKEUP)
			qmgr_schedule_scan(true, false);
		else if (buf[i] == PROTO_TRIGGER_FLUSH)
			qmgr_schedule_scan(true, true);
		else
			qmgr_schedule_scan(false, false);
	}
}

void qmgr_event_init(struct ev_loop *loop, const int *fds, int nfds,
		     void *ctx)
{
	qmgr.loop = loop;
	/* After the privilege drop (the FIFO must be ours), before the
	 * sandbox. */
	if (cfg_time(cfg_main, "in_flow_delay") > 0 &&
	    (qmgr.flow_fd = flow_open(FLOW_PATH)) < 0)
		msg_warn("open %s: %m (no inflow control)", FLOW_PATH);
	trigger_listen(loop, fds, nfds, qmgr_trigger, NULL);
	queue_spare_clear();	/* nothing from before this start is reused */
	qmgr_scan_recover();
	qmgr_scan_sweep(true);
	qmgr_schedule_scan(true, false);
	qmgr.run_timer = ev_timer_add(loop, qmgr.run_delay * 1000,
				      qmgr_queue_run, NULL);
}
