#ifndef QMGR_QMGR_H
#define QMGR_QMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "attr.h"
#include "ev.h"
#include "queue.h"
#include "resolve.h"
#include "str.h"
#include "transport.h"

/* qmgr: the queue manager. It moves messages incoming/ -> active/,
 * expands their recipients (resolve_expand), routes relay recipients
 * (transport_lookup), hands the deliveries to the delivery agents
 * (private/local, private/smtp, ...) over kept-open connections, one
 * queue of jobs per destination (transport, next hop) with its own
 * concurrency limit, records each recipient's
 * outcome in the queue file before going on, and finally removes the
 * file or moves it to deferred/ with its next attempt time as mtime. */

/* Deferral reasons for "correo queue": queue/defer/ID, one line per
 * deferred delivery, "<recipient>: reason", the last line for a
 * recipient wins (tools/queue_admin.h reads it). */
#define QMGR_DEFER_DIR "defer"

/* One final delivery sent to local. */
struct qmgr_dlv {
	size_t rcpt;		/* queue recipient index */
	char *address;		/* final address */
	char *target;		/* "|cmd", "/file", or NULL: a mailbox */
};

/* Per queue recipient, while the message is active. */
struct qmgr_rstate {
	size_t pending;		/* deliveries not yet answered */
	bool deferred, delivered, bounced;
	/* The last deferral in this run (delay notices, expiry). */
	char *defer_address, *defer_dsn, *defer_reason, *defer_relay;
};

/* DSN actions (RFC 3464 2.3.3); as a notice's kind, DELIVERED stands for
 * a success report (delivered or relayed recipients). */
enum qmgr_dsn_action {
	QMGR_DSN_FAILED,
	QMGR_DSN_DELAYED,
	QMGR_DSN_DELIVERED,
	QMGR_DSN_RELAYED,
};

/* One recipient's outcome, for a notice to the sender. */
struct qmgr_report {
	size_t rcpt;		/* queue recipient index */
	enum qmgr_dsn_action action;
	char *address, *dsn, *relay, *reason;
};

struct qmgr_msg {
	struct queue_msg *qm;
	struct qmgr_rstate *rs;
	size_t jobs;		/* requests not yet answered */
	double t_arrival, t_active;	/* wall clock, seconds */
	struct qmgr_report *reports;	/* failed/delivered, to notify */
	size_t nreports;
	struct str defer_reason;	/* the last deferral, for expiry */
	struct str defer_log;	/* "<rcpt>: reason\n" for defer/ID */
	bool is_new;		/* taken from incoming/ (inflow control) */
	struct qmgr_msg *next, *prev;
};

/* A destination: one transport and next hop ("local" has none). Jobs
 * wait here until a connection to the transport's socket is free and
 * fewer than limit jobs of the destination are being served; one more
 * may be sent behind each of those (qmgr_local.c). A destination whose
 * agent keeps answering dest_status=defer is dead until dead_until:
 * its jobs are deferred at once so they do not hold up other mail. */
struct qmgr_dest {
	char *transport;	/* "local", "smtp", "lmtp", ... */
	char *nexthop;		/* NULL for local */
	char *socket;		/* private/<transport> */
	struct qmgr_job *jobs, **jobs_tail;
	long busy, limit;	/* jobs being served by an agent, at most */
	long queued;		/* jobs sent behind those (pipelined) */
	long fails;		/* destination failures in a row */
	time_t dead_until;	/* 0: alive */
	struct str dead_reason;
	bool blocked;		/* connect failed: wait for the retry timer */
	struct qmgr_dest *next;
};

/* One request to an agent: a batch of deliveries of one message to one
 * destination. */
struct qmgr_job {
	struct qmgr_msg *msg;
	struct qmgr_dest *dest;
	struct qmgr_dlv *dlvs;
	size_t count;
	double t_sent;
	int attempts;		/* connection failures so far */
	struct qmgr_job *next;
};

/* The result of one delivery, as local answered it. */
struct qmgr_result {
	long index;
	const char *status;	/* PROTO_STATUS_OK/DEFER/BOUNCE */
	const char *dsn;
	const char *reason;
	const char *relay;	/* "host[addr]:port" or NULL */
};

struct qmgr {
	struct ev_loop *loop;
	struct resolver *resolver;
	struct qmgr_msg *msgs;	/* active messages */
	size_t nmsgs;
	/* Inflow control (flow.h): new messages held (taken from incoming/
	 * and not finished) and listed in incoming/ but not yet taken. */
	size_t nnew, incoming_pending;
	int flow_fd;
	long flow_tokens;
	struct transport_table *transport;
	struct qmgr_dest *dests, *local;
	struct ev_timer *scan_timer, *retry_timer, *run_timer;
	bool scan_deferred;	/* the pending scan includes deferred/ */
	bool flush;		/* ... and ignores next-attempt times */
	bool incoming_left;	/* incoming/ had more than we took */
	/* Wake-ups that may announce new files (triggers, queue runs):
	 * a listing of incoming/ made before the last of them is stale
	 * once used up (qmgr_scan). */
	unsigned long wakeups;
	/* Settings. */
	long active_limit, local_limit, batch_limit;
	long min_backoff, max_backoff, queue_lifetime, bounce_lifetime;
	long run_delay, local_timeout;
	long default_limit, smtp_limit, dead_time, failed_cohort;
	long delay_warning;
	const char *myhostname;
	const char *bounce_notice_rcpt;
};

extern struct qmgr qmgr;

/* qmgr.c */
void qmgr_pre_init(void *ctx);
void qmgr_event_init(struct ev_loop *loop, const int *fds, int nfds,
		     void *ctx);
/* Scan soon (coalesces bursts of triggers). */
void qmgr_schedule_scan(bool deferred, bool flush);
/* Top the inflow tokens up to what the backlog of new mail allows. */
void qmgr_flow_refill(void);

/* qmgr_scan.c */
void qmgr_scan_recover(void);
/* Remove temporary files of writers that died (at most every 10 min
 * unless force). */
void qmgr_scan_sweep(bool force);
/* True if it stopped after a batch of incoming/ and should be called
 * again at once (after the event loop had its turn). */
bool qmgr_scan(bool deferred, bool flush);

/* qmgr_msg.c */
/* Take active/ID: open, log, expand, queue jobs. is_new: it came from
 * incoming/ (counts against the inflow tokens until it is finished). */
void qmgr_msg_start(const char *id, bool is_new);
/* local answered job (results NULL: the request failed; reason says
 * why and every delivery is deferred). Frees the job. */
void qmgr_msg_job_done(struct qmgr_job *job,
		       const struct qmgr_result *results, size_t nresults,
		       const char *reason);

/* qmgr_dest.c: destinations and their job queues. */
/* The destination (transport, nexthop), created on first use; nexthop
 * NULL for local. */
struct qmgr_dest *qmgr_dest_get(const char *transport, const char *nexthop);
/* Queue job on job->dest; a dead destination defers it at once. */
void qmgr_dest_enqueue(struct qmgr_job *job);
void qmgr_dest_requeue_front(struct qmgr_job *job);
struct qmgr_job *qmgr_dest_pop(struct qmgr_dest *d);
/* True while d is dead (dead_until has not passed). */
bool qmgr_dest_is_dead(struct qmgr_dest *d, time_t now);
/* The agent said the whole destination failed (reason why) / a request
 * to it completed normally. */
void qmgr_dest_failed(struct qmgr_dest *d, const char *reason);
void qmgr_dest_ok(struct qmgr_dest *d);
/* Free destinations with nothing queued, nothing out, not dead. */
void qmgr_dest_gc(void);

/* qmgr_local.c: the connections to the delivery agents, keyed by socket
 * (private/local, private/smtp, ...). */
void qmgr_local_dispatch(void);
/* Parse a reply into results (pointers into reply). Returns the count or
 * -1 if the reply is malformed; *results_r is allocated. *dest_defer_r
 * says the reply carried dest_status=defer (smtp: the whole destination
 * failed). */
long qmgr_local_parse_reply(const struct attr_list *reply,
			    struct qmgr_result **results_r,
			    bool *dest_defer_r);

/* qmgr_bounce.c: notices to senders (and postmaster). */
/* At the end of a run: the failure report (msg->reports that failed),
 * the success report (delivered/relayed with NOTIFY=SUCCESS) and, once
 * per message, the delay warning; a failed bounce goes to
 * bounce_notice_recipient once, a failed notice to postmaster is
 * dropped with a log line. Errors are logged; false if the failure
 * report could not be queued (its recipients must stay to do). */
bool qmgr_bounce_notify(struct qmgr_msg *msg, bool expired);
/* Does recipient notify bits n ask for this kind of notice? */
bool qmgr_bounce_wanted(unsigned notify, enum qmgr_dsn_action kind);

/* qmgr_dsn.c: the text of a DSN (RFC 3464), pure. */
struct qmgr_dsn_rcpt {
	const char *final;	/* Final-Recipient */
	const char *orig;	/* Original-Recipient, or NULL */
	enum qmgr_dsn_action action;
	const char *status;	/* "5.1.1" */
	const char *relay;	/* "host[addr]:port", "none" or NULL */
	const char *reason;	/* the log line's reason */
};

struct qmgr_dsn {
	enum qmgr_dsn_action kind;	/* FAILED, DELAYED or DELIVERED */
	bool postmaster;	/* a failed bounce, reported to postmaster */
	const char *hostname;	/* Reporting-MTA, MAILER-DAEMON@ */
	const char *to;		/* recipient of the notice */
	const char *sender;	/* the original envelope sender */
	const char *queue_id;	/* the original message's */
	const char *notice_id;	/* for the Message-ID */
	const char *boundary;
	const char *envid;	/* Original-Envelope-Id, or NULL */
	time_t arrival, now, retry_until;
	bool full;		/* the whole message, else its header */
	const char *content;	/* the original message (LF line ends) */
	size_t content_len;
	const struct qmgr_dsn_rcpt *rcpts;
	size_t nrcpt;
};

/* Append the whole notice (header and body, LF line ends) to out. */
void qmgr_dsn_build(const struct qmgr_dsn *dsn, struct str *out);
/* Diagnostic-Code of a reason: "smtp; 550 5.1.1 ..." from the smtp
 * agent's "host X said: 550 5.1.1 ... (in reply to ...)" (true), else
 * "X-Correo; reason" (false). Control characters end the text. */
bool qmgr_dsn_diagnostic(const char *reason, struct str *out);
/* Remote-MTA "dns; host" of a relay "host[addr]:port"; false for
 * none/local/empty. */
bool qmgr_dsn_remote_mta(const char *relay, struct str *out);
/* An RFC 5322 date in local time. */
void qmgr_dsn_date(struct str *out, time_t t);
/* Length of content's header including its last LF (not the blank
 * line); all of it if there is no blank line. */
size_t qmgr_dsn_headers_len(const char *content, size_t len);

/* qmgr_time.c: pure helpers. */
/* Next attempt time of a message that arrived at arrival and was just
 * deferred at now: now + its age, clamped to [min, max] (Postfix). */
time_t qmgr_backoff_next(time_t now, time_t arrival, long min_backoff,
			 long max_backoff);
/* A delay the way Postfix logs it: "0", "0.02", "1.2", "35". */
void qmgr_delay_format(struct str *out, double seconds);
/* Wall clock in seconds with microseconds. */
double qmgr_now(void);

#endif
