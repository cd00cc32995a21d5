/*
 * postscreen: SMTP clients that have not said anything yet (postscreen.h).
 *
 * Interface: postscreen_pre_init, postscreen_post_init,
 * postscreen_event_init (SERVER_EVENT; maxproc 1 per port).
 *
 * An smtpd process costs about a megabyte, so a client that connects
 * and says nothing should not hold one. postscreen accepts the clients
 * of its port in one event loop, sends the 220 greeting itself
 * ($smtpd_banner, as smtpd would), and waits until the client's first
 * bytes arrive: only then is the client handed to an smtpd (the pass
 * service, postscreen_pass.c), which carries on without a second
 * greeting and reads the command from the socket. postscreen only
 * peeks, so smtpd sees every byte the client sent, NUL bytes and
 * pipelined commands included. In wrapper mode ($smtpd_tls_wrappermode,
 * port 465) there is no greeting before TLS: the client is held until
 * its ClientHello arrives.
 *
 * Unlike Postfix's postscreen there are no pregreet or DNSBL tests: the
 * point here is the cost of idle clients, not spam. A client pays:
 *   - at connect, $smtpd_client_connection_count_limit and
 *     $smtpd_client_connection_rate_limit through anvil (outside
 *     $mynetworks; "421 4.7.0 HOST Error: too many connections from
 *     ADDR");
 *   - beyond $postscreen_client_limit held clients, "421 4.3.2";
 *   - after $postscreen_command_time_limit without a byte, "421 4.4.2
 *     HOST Error: timeout exceeded" (COMMAND TIME LIMIT in the log);
 *   - while postscreen holds four fifths of its limit (stress), new
 *     clients get $smtpd_stress_timeout instead.
 *
 * Log lines, in Postfix's postscreen shape:
 *   CONNECT from [ADDR]:PORT to [ADDR]:PORT
 *   PASS [ADDR]:PORT
 *   DISCONNECT [ADDR]:PORT
 *   COMMAND TIME LIMIT from [ADDR]:PORT
 *   NOQUEUE: reject: CONNECT from [ADDR]:PORT: too many connections
 *
 * Memory per held client: this structure, one epoll entry and one
 * timer (about 250 bytes), plus the kernel's socket.
 *
 * XXX: a graceful stop (correo reload) ends the event loop at once, so
 * the clients held at that moment are dropped without a reply; they have
 * not sent anything yet, and SMTP clients retry, but Postfix's postscreen
 * would let them finish.
 *
 * SECURITY: faces the Internet before anything else. Runs as the mail
 * owner, chrooted if the row says so (it needs only private/ for the
 * hand-off and anvil). It reads no client data at all (MSG_PEEK of at
 * most one byte); nothing the client sends is parsed here.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "anvil_client.h"
#include "cfg.h"
#include "cidr.h"
#include "mem.h"
#include "msg.h"
#include "postscreen.h"
#include "server.h"
#include "str.h"

/* Descriptors kept for everything but clients (logs, anvil, pass). */
#define POSTSCREEN_FD_RESERVE 64
#define POSTSCREEN_STRESS_FIFTHS 4
#define POSTSCREEN_BUSY "421 4.3.2 All server ports are busy"

struct postscreen_client {
	int fd;
	bool registered;	/* with anvil */
	struct ev_timer *timer;
	char addr[INET6_ADDRSTRLEN + 8];
	char port[8];
};

static struct {
	struct ev_loop *loop;
	struct cidr_list *mynetworks;
	struct anvil_client *anvil;
	const char *service;
	char *pass_path;
	const char *myhostname;
	const char *banner;
	bool wrapper;
	long count_limit, rate_limit;
	long client_limit;
	long timeout_ms, stress_timeout_ms;
	long nclients;
	bool stress;
} ps;

/* ---- clients ---- */

static void postscreen_peer(struct postscreen_client *c,
			    const struct sockaddr *sa, socklen_t len)
{
	char *p;

	if (getnameinfo(sa, len, c->addr, sizeof(c->addr), c->port,
			sizeof(c->port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		str_snprintf(c->addr, sizeof(c->addr), "unknown");
		str_snprintf(c->port, sizeof(c->port), "0");
	}
	p = c->addr;
	if (strncmp(p, "::ffff:", 7) == 0 && strchr(p, '.') != NULL)
		memmove(p, p + 7, strlen(p + 7) + 1);
}

/* Best effort: one send, never block (a fresh socket has room). */
static void postscreen_say(struct postscreen_client *c, const char *text)
{
	struct str line = STR_INIT;

	str_printf(&line, "%s\r\n", text);
	(void)send(c->fd, line.data, line.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	str_release(&line);
}

static void postscreen_stress_update(void)
{
	bool stress = ps.nclients * 5 >= ps.client_limit *
					 POSTSCREEN_STRESS_FIFTHS;

	if (stress == ps.stress)
		return;
	ps.stress = stress;
	if (stress)
		msg_warn("%ld clients of at most %ld: stress mode"
			 " (command time limit %lds)", ps.nclients,
			 ps.client_limit, ps.stress_timeout_ms / 1000);
	else
		msg_info("%ld clients: stress mode off", ps.nclients);
}

/* Read and drop what the client sent, so that the close after a reply
 * sends FIN, not a reset that may destroy the reply. Never waits. */
static void postscreen_drain(int fd)
{
	char buf[4096];
	int i;

	for (i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

/* Forget c; close its socket unless it was handed over (fd -1). */
static void postscreen_client_free(struct postscreen_client *c)
{
	if (c->fd >= 0) {
		ev_io_del(ps.loop, c->fd);
		postscreen_drain(c->fd);
		close(c->fd);
	}
	ev_timer_del(ps.loop, &c->timer);
	if (c->registered)
		anvil_client_disconnect(ps.anvil, ps.service, c->addr);
	free(c);
	ps.nclients--;
	postscreen_stress_update();
}

static void postscreen_timeout(void *ctx)
{
	struct postscreen_client *c = ctx;
	struct str reply = STR_INIT;

	c->timer = NULL;
	msg_info("COMMAND TIME LIMIT from [%s]:%s", c->addr, c->port);
	if (!ps.wrapper) {
		str_printf(&reply, "421 4.4.2 %s Error: timeout exceeded",
			   ps.myhostname);
		postscreen_say(c, str_c(&reply));
		str_release(&reply);
	}
	postscreen_client_free(c);
}

static void postscreen_hand_over(struct postscreen_client *c)
{
	ev_io_del(ps.loop, c->fd);
	if (!postscreen_pass(ps.pass_path, c->fd, !ps.wrapper, NULL, 0)) {
		msg_warn("cannot hand [%s]:%s to service %s: %m", c->addr,
			 c->port, ps.pass_path);
		if (!ps.wrapper)
			postscreen_say(c, POSTSCREEN_BUSY);
		postscreen_client_free(c);
		return;
	}
	msg_info("PASS [%s]:%s", c->addr, c->port);
	close(c->fd);
	c->fd = -1;
	postscreen_client_free(c);
}

static void postscreen_input(int fd, unsigned events, void *ctx)
{
	struct postscreen_client *c = ctx;
	char byte;
	ssize_t n;

	n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		msg_info("DISCONNECT [%s]:%s", c->addr, c->port);
		postscreen_client_free(c);
		return;
	}
	postscreen_hand_over(c);
}

/* anvil's verdict; false (client answered) if it must go. */
static bool postscreen_limits(struct postscreen_client *c, bool trusted)
{
	struct anvil_counts counts;
	enum anvil_verdict v;
	struct str who = STR_INIT, reply = STR_INIT;

	/* No limit applies to $mynetworks, and nothing else here reads
	 * anvil's counts: a trusted client costs anvil nothing (Postfix's
	 * smtpd_client_event_limit_exceptions). smtpd still registers
	 * every session, for its stress count. */
	if (trusted)
		return true;
	if (anvil_client_connect(ps.anvil, ps.service, c->addr, &counts) < 0)
		return true;
	c->registered = true;
	v = anvil_client_check(&counts, ps.count_limit, ps.rate_limit);
	if (v == ANVIL_OK)
		return true;
	str_printf(&who, "unknown[%s]", c->addr);
	anvil_client_log(v, &counts, str_c(&who), ps.service);
	msg_info("NOQUEUE: reject: CONNECT from [%s]:%s: too many"
		 " connections", c->addr, c->port);
	if (!ps.wrapper) {
		str_printf(&reply, "421 4.7.0 %s Error: too many connections"
			   " from %s", ps.myhostname, c->addr);
		postscreen_say(c, str_c(&reply));
	}
	str_release(&who);
	str_release(&reply);
	return false;
}

static void postscreen_local(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[8];

	str_snprintf(buf, size, "unknown]:0");
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, buf, size - 8, port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf, '.') != NULL)
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
	str_snprintf(buf + strlen(buf), size - strlen(buf), "]:%s", port);
}

static void postscreen_new_client(int fd, const struct sockaddr *sa,
				  socklen_t len)
{
	struct postscreen_client *c = mem_alloc(sizeof(*c));
	struct str greeting = STR_INIT;
	char local[INET6_ADDRSTRLEN + 16];
	bool trusted = cidr_list_match_sa(ps.mynetworks, sa);

	c->fd = fd;
	ps.nclients++;
	postscreen_stress_update();
	postscreen_peer(c, sa, len);
	postscreen_local(fd, local, sizeof(local));
	msg_info("CONNECT from [%s]:%s to [%s", c->addr, c->port, local);
	if (!postscreen_limits(c, trusted)) {
		postscreen_client_free(c);
		return;
	}
	if (!ps.wrapper) {
		str_printf(&greeting, "220 %s", ps.banner);
		postscreen_say(c, str_c(&greeting));
		str_release(&greeting);
	}
	c->timer = ev_timer_add(ps.loop, ps.stress ? ps.stress_timeout_ms :
				ps.timeout_ms, postscreen_timeout, c);
	ev_io_add(ps.loop, fd, EV_READ, postscreen_input, c);
}

static void postscreen_accept(int lfd, unsigned events, void *ctx)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i;

	/* A burst of clients is taken in one go, up to a fair share. */
	for (i = 0; i < 256; i++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
			     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
				 errno != ECONNABORTED && errno != EPROTO)
				msg_warn("accept: %m");
			return;
		}
		if (ps.nclients >= ps.client_limit) {
			msg_warn("%ld clients: refusing more", ps.nclients);
			if (!ps.wrapper)
				(void)send(fd, POSTSCREEN_BUSY "\r\n",
					   sizeof(POSTSCREEN_BUSY) + 1,
					   MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		postscreen_new_client(fd, (struct sockaddr *)&ss, len);
	}
}

/* ---- setup ---- */

/* Raise the soft descriptor limit to the hard one and make the client
 * limit fit under it. */
static void postscreen_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)ps.client_limit + POSTSCREEN_FD_RESERVE > rl.rlim_cur) {
		msg_warn("open file limit %llu: postscreen_client_limit %ld"
			 " lowered to %llu", (unsigned long long)rl.rlim_cur,
			 ps.client_limit,
			 (unsigned long long)(rl.rlim_cur -
					      POSTSCREEN_FD_RESERVE));
		ps.client_limit = rl.rlim_cur > POSTSCREEN_FD_RESERVE * 2 ?
				  (long)(rl.rlim_cur - POSTSCREEN_FD_RESERVE) :
				  POSTSCREEN_FD_RESERVE;
	}
}

void postscreen_pre_init(void *ctx)
{
	char *error = NULL;
	struct str path = STR_INIT;

	ps.mynetworks = cidr_list_create(cfg_list(cfg_main, "mynetworks"),
					 &error);
	if (ps.mynetworks == NULL)
		msg_fatal("mynetworks: %s", error);
	ps.client_limit = cfg_int(cfg_main, "postscreen_client_limit");
	if (ps.client_limit < 1)
		msg_fatal("postscreen_client_limit must be at least 1");
	postscreen_fd_limit();
	str_printf(&path, "private/%s",
		   cfg_str(cfg_main, "postscreen_pass_service"));
	ps.pass_path = str_steal(&path);
	ps.anvil = anvil_client_create(NULL);
}

void postscreen_post_init(void *ctx)
{
	ps.service = server_service_name != NULL ? server_service_name :
		     "postscreen";
	ps.myhostname = cfg_str(cfg_main, "myhostname");
	ps.banner = cfg_str(cfg_main, "smtpd_banner");
	ps.wrapper = cfg_bool(cfg_main, "smtpd_tls_wrappermode");
	ps.count_limit = cfg_int(cfg_main,
				 "smtpd_client_connection_count_limit");
	ps.rate_limit = cfg_int(cfg_main,
				"smtpd_client_connection_rate_limit");
	ps.timeout_ms = cfg_time(cfg_main, "postscreen_command_time_limit") *
			1000;
	ps.stress_timeout_ms = cfg_time(cfg_main, "smtpd_stress_timeout") *
			       1000;
	if (ps.timeout_ms <= 0)
		msg_fatal("postscreen_command_time_limit must be at least 1s");
	if (ps.stress_timeout_ms <= 0 || ps.stress_timeout_ms > ps.timeout_ms)
		ps.stress_timeout_ms = ps.timeout_ms;
}

void postscreen_event_init(struct ev_loop *loop, const int *fds, int nfds,
			   void *ctx)
{
	int i;

	ps.loop = loop;
	for (i = 0; i < nfds; i++)
		ev_io_add(loop, fds[i], EV_READ, postscreen_accept, NULL);
}
