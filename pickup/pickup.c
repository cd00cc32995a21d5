/*
 * pickup: setup, triggers and the maildrop scan (pickup.h).
 *
 * pickup is a SERVER_EVENT daemon listening on public/pickup. sendmail
 * writes one byte there after it has committed a file to maildrop/;
 * master writes PROTO_TRIGGER_WAKEUP every $wakeup seconds
 * (services.conf), and pickup scans once at start, so a file dropped
 * while the mail system was down is delivered when it starts. Triggers
 * are coalesced: a burst leads to one scan a few milliseconds later.
 * A scan takes every committed file (valid queue ID names; sendmail's
 * ".ID" files are still being written) in ID order and hands it to
 * pickup_file; after queuing anything it triggers private/qmgr.
 *
 * Interface: pickup_pre_init, pickup_event_init, pickup_scan.
 *
 * SECURITY: public/pickup is reachable by the setgid group: a client
 * can only cause a scan (the bytes are read and ignored). The scan
 * handles only names that are valid queue IDs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "flow.h"
#include "group_sync.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "queue.h"
#include "server.h"
#include "trigger.h"

#include "pickup.h"

#define PICKUP_SCAN_DELAY_MS 5

struct pickup_settings pickup_settings;

static struct ev_loop *pickup_loop;
static struct ev_timer *pickup_timer;

struct pickup_ids {
	char **ids;
	size_t count;
};

void pickup_pre_init(void *ctx)
{
	group_sync_prepare();	/* before the sandbox hides /proc */
	pickup_settings.myhostname = cfg_str(cfg_main, "myhostname");
	pickup_settings.size_limit = cfg_size(cfg_main, "message_size_limit");
	pickup_settings.rcpt_limit = cfg_int(cfg_main,
					     "pickup_recipient_limit");
	pickup_settings.flow_fd = -1;
	pickup_settings.flow_delay_ms = cfg_time(cfg_main,
						 "in_flow_delay") * 1000;
}

static bool pickup_collect(const char *id, void *ctx)
{
	struct pickup_ids *l = ctx;

	l->ids = mem_array_realloc(l->ids, l->count + 1, sizeof(*l->ids));
	l->ids[l->count++] = mem_strdup(id);
	return true;
}

static int pickup_idcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pickup_scan(void)
{
	struct pickup_ids l = { NULL, 0 };
	int queued = 0;

	if (queue_scan(QUEUE_MAILDROP, pickup_collect, &l) < 0)
		msg_warn("scan %s/: %m", QUEUE_MAILDROP);
	if (l.count > 1)
		qsort(l.ids, l.count, sizeof(*l.ids), pickup_idcmp);
	for (size_t i = 0; i < l.count; i++) {
		/* Inflow control: pause while qmgr is behind. */
		if (!server_stopping())
			(void)flow_take(pickup_settings.flow_fd,
					pickup_settings.flow_delay_ms);
		if (!server_stopping() && pickup_file(l.ids[i]) > 0)
			queued++;
		mem_free(l.ids[i]);
	}
	free(l.ids);
	if (queued > 0 &&
	    !server_trigger(QUEUE_PRIVATE "/qmgr", PROTO_TRIGGER_SCAN))
		msg_warn("cannot wake up qmgr: %m");
	return queued;
}

static void pickup_scan_now(void *ctx)
{
	pickup_timer = NULL;
	(void)pickup_scan();
}

static void pickup_schedule(void)
{
	if (pickup_timer == NULL)
		pickup_timer = ev_timer_add(pickup_loop, PICKUP_SCAN_DELAY_MS,
					    pickup_scan_now, NULL);
}

/* Any trigger byte means "scan soon". */
static void pickup_trigger(const char *buf, size_t n, void *ctx)
{
	pickup_schedule();
}

void pickup_event_init(struct ev_loop *loop, const int *fds, int nfds,
		       void *ctx)
{
	pickup_loop = loop;
	/* After the privilege drop (the FIFO must be ours), before the
	 * sandbox. */
	if (pickup_settings.flow_delay_ms > 0 &&
	    (pickup_settings.flow_fd = flow_open(FLOW_PATH)) < 0)
		msg_warn("open %s: %m (no inflow control)", FLOW_PATH);
	trigger_listen(loop, fds, nfds, pickup_trigger, NULL);
	pickup_schedule();
}
