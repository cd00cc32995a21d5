/*
 * anvil_server: the anvil service's connections (anvil.h, proto.h).
 *
 * Interface: anvil_pre_init, anvil_event_init (SERVER_EVENT).
 *
 * Every network service keeps one connection to private/anvil and sends
 * "connect" when a client arrives and "disconnect" when it leaves.
 * Connections are non-blocking; input is collected until a whole
 * request (an attribute list ended by an empty line) is there and only
 * then parsed, through an lio whose read side is that buffer, so a slow
 * service never stalls the loop. Each connection remembers what it
 * registered: when it closes (the service exited or crashed), those
 * connections are forgotten, so counts cannot leak.
 *
 * Every $anvil_rate_time_unit the table drops clients with no connection
 * whose rate window is over; every ANVIL_STATUS_SECONDS it logs the
 * largest count and rate seen, as Postfix's anvil does:
 *   statistics: max connection count 51 for (smtpd:192.0.2.1)
 *   statistics: max connection rate 120/60s for (smtpd:192.0.2.1)
 *
 * SECURITY: runs as the mail owner, with no file access after start;
 * its clients are local daemons, but requests are still parsed strictly
 * and sizes bounded (a compromised smtpd can only skew counts).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "anvil.h"
#include "attr.h"
#include "attr_frame.h"
#include "cfg.h"
#include "lio.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "server.h"

#define ANVIL_MAX_CONNS 10000
#define ANVIL_MAX_INPUT 8192
#define ANVIL_STATUS_SECONDS 600

/* What one connection registered. */
struct anvil_reg {
	struct anvil_entry *entry;
	long n;
};

struct anvil_conn {
	struct anvil_conn *next, *prev;
	struct lio *lio;
	struct attr_frame fr;
	struct anvil_reg *regs;
	size_t nregs, regs_cap;
	bool held;		/* a hold: input or EOF ends it */
};

static struct {
	struct ev_loop *loop;
	struct anvil_table *table;
	long long unit_ms;
	long long last_status;
	struct anvil_conn *conns;
	size_t nconns;
} anvil;

static const struct attr_spec anvil_request_spec[] = {
	{ PROTO_ATTR_REQUEST, true, false },
	{ PROTO_ATTR_SERVICE, true, false },
	{ PROTO_ATTR_CLIENT_ADDR, true, false },
	{ NULL, false, false },
};

/* ---- registrations ---- */

static void anvil_reg_add(struct anvil_conn *c, struct anvil_entry *e)
{
	size_t i;

	for (i = 0; i < c->nregs; i++)
		if (c->regs[i].entry == e) {
			c->regs[i].n++;
			return;
		}
	if (c->nregs == c->regs_cap) {
		c->regs_cap = c->regs_cap ? c->regs_cap * 2 : 4;
		c->regs = mem_array_realloc(c->regs, c->regs_cap,
					    sizeof(*c->regs));
	}
	c->regs[c->nregs].entry = e;
	c->regs[c->nregs].n = 1;
	c->nregs++;
}

/* Forget one registration of e by c; a disconnect c did not register
 * (anvil restarted since) is ignored. */
static void anvil_reg_drop(struct anvil_conn *c, struct anvil_entry *e)
{
	size_t i;

	for (i = 0; i < c->nregs; i++) {
		if (c->regs[i].entry != e)
			continue;
		anvil_table_disconnect(anvil.table, e);
		if (--c->regs[i].n == 0)
			c->regs[i] = c->regs[--c->nregs];
		return;
	}
}

static void anvil_conn_free(struct anvil_conn *c)
{
	size_t i;

	for (i = 0; i < c->nregs; i++)
		while (c->regs[i].n-- > 0)
			anvil_table_disconnect(anvil.table, c->regs[i].entry);
	free(c->regs);
	ev_io_del(anvil.loop, lio_fd(c->lio));
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		anvil.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	anvil.nconns--;
	lio_free(&c->lio);
	str_release(&c->fr.in);
	free(c);
}

/* ---- requests ---- */

static void anvil_handle(struct anvil_conn *c, const struct attr_list *req,
			 struct attr_list *reply)
{
	const char *request = attr_get(req, PROTO_ATTR_REQUEST);
	const char *service = attr_get(req, PROTO_ATTR_SERVICE);
	const char *addr = attr_get(req, PROTO_ATTR_CLIENT_ADDR);
	struct anvil_counts counts;
	struct anvil_entry *e;

	if (strcmp(request, PROTO_REQ_CONNECT) == 0 ||
	    (strcmp(request, PROTO_REQ_HOLD) == 0 && c->nregs == 0)) {
		e = anvil_table_connect(anvil.table, service, addr,
					ev_now_ms(), &counts);
		anvil_reg_add(c, e);
		attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
		attr_add_long(reply, PROTO_ATTR_COUNT, counts.count);
		attr_add_long(reply, PROTO_ATTR_RATE, counts.rate);
		attr_add_long(reply, PROTO_ATTR_ACTIVE, counts.active);
		c->held = strcmp(request, PROTO_REQ_HOLD) == 0;
	} else if (strcmp(request, PROTO_REQ_DISCONNECT) == 0) {
		e = anvil_table_find(anvil.table, service, addr);
		if (e != NULL)
			anvil_reg_drop(c, e);
		attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
	} else {
		attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_ERROR);
		attr_add(reply, PROTO_ATTR_REASON, "unknown request");
	}
}

/* Answer every whole request in c->fr.in. False if c must close. */
static bool anvil_conn_serve(struct anvil_conn *c)
{
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	const char *error = NULL;
	bool ok = true;

	while (ok && !c->held && attr_frame_next(&c->fr)) {
		lio_ready(c->lio);	/* a whole frame is there */
		if (attr_read(c->lio, &req, anvil_request_spec, &error) !=
		    LIO_OK) {
			msg_warn("anvil: bad request: %s",
				 error != NULL ? error : "?");
			ok = false;
			break;
		}
		anvil_handle(c, &req, &reply);
		attr_write(c->lio, &reply);
		attr_list_clear(&reply);
		ok = lio_flush(c->lio) == LIO_OK;
	}
	attr_list_clear(&req);
	return ok;
}

static void anvil_conn_input(int fd, unsigned events, void *ctx)
{
	struct anvil_conn *c = ctx;
	char buf[4096];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || c->held) {
		/* A held connection ends with anything it sends. */
		anvil_conn_free(c);
		return;
	}
	str_append_n(&c->fr.in, buf, (size_t)n);
	if (!anvil_conn_serve(c) || c->fr.in.len > ANVIL_MAX_INPUT)
		anvil_conn_free(c);
}

static void anvil_accept(int lfd, unsigned events, void *ctx)
{
	struct anvil_conn *c;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			msg_warn("anvil: accept: %m");
		return;
	}
	if (anvil.nconns >= ANVIL_MAX_CONNS) {
		msg_warn("anvil: %d connections: refusing more",
			 ANVIL_MAX_CONNS);
		close(fd);
		return;
	}
	c = mem_alloc(sizeof(*c));
	c->lio = lio_create(fd, 10);
	attr_server_hello(c->lio, PROTO_ANVIL);
	if (lio_flush(c->lio) != LIO_OK) {
		lio_free(&c->lio);
		free(c);
		return;
	}
	attr_frame_attach(&c->fr, c->lio);
	c->next = anvil.conns;
	if (c->next != NULL)
		c->next->prev = c;
	anvil.conns = c;
	anvil.nconns++;
	ev_io_add(anvil.loop, fd, EV_READ, anvil_conn_input, c);
}

/* ---- housekeeping ---- */

static void anvil_status(long long now)
{
	long count, rate;
	char *count_who, *rate_who;

	if (now - anvil.last_status < ANVIL_STATUS_SECONDS * 1000LL)
		return;
	anvil.last_status = now;
	if (!anvil_table_peaks(anvil.table, &count, &count_who, &rate,
			       &rate_who))
		return;
	msg_info("statistics: max connection count %ld for (%s)", count,
		 count_who);
	msg_info("statistics: max connection rate %ld/%llds for (%s)", rate,
		 anvil.unit_ms / 1000, rate_who);
	free(count_who);
	free(rate_who);
}

static void anvil_sweep(void *ctx)
{
	long long now = ev_now_ms();

	anvil_table_sweep(anvil.table, now);
	anvil_status(now);
	ev_timer_add(anvil.loop, (long)anvil.unit_ms, anvil_sweep, NULL);
}

void anvil_pre_init(void *ctx)
{
	anvil.unit_ms = cfg_time(cfg_main, "anvil_rate_time_unit") * 1000LL;
	if (anvil.unit_ms <= 0)
		msg_fatal("anvil_rate_time_unit must be at least 1s");
}

void anvil_event_init(struct ev_loop *loop, const int *fds, int nfds,
		      void *ctx)
{
	int i;

	anvil.loop = loop;
	anvil.table = anvil_table_create(anvil.unit_ms);
	anvil.last_status = ev_now_ms();
	for (i = 0; i < nfds; i++)
		ev_io_add(loop, fds[i], EV_READ, anvil_accept, NULL);
	ev_timer_add(loop, (long)anvil.unit_ms, anvil_sweep, NULL);
}
