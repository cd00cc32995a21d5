/*
 * login_config: the front end as a daemon (login.h): its settings, the
 * plaintext policy, the deadline under load, TLS and spawner set-up in
 * pre_init, and the accept loop with $login_client_limit.
 *
 * A process takes clients until it holds $login_client_limit of them,
 * then stops accepting and tells master it is BUSY, so master starts
 * another (up to the service's maxproc); below the limit it is IDLE
 * again. Idle pre-auth clients are cheap (login_client.c), so a flood
 * of silent connections costs memory, not processes; the deadline
 * shrinks to a quarter when a process is three quarters full.
 *
 * SIGUSR1 (master's graceful reload) stops accepting; the process exits
 * when its last client, pre-auth or proxied, is gone.
 *
 * SECURITY: pre_init runs with master's privileges: it reads the TLS
 * key, connects to the spawner (the only way out of the chroot), and
 * moves into the empty directory the skeleton then chroots to (-r),
 * before dropping to the login user. The SNI table is not offered here:
 * the front end links no table code and could not read SNI keys after
 * the chroot anyway.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "metrics_client.h"
#include "msg.h"
#include "priv.h"
#include "server.h"

#include "login.h"
#include "login_int.h"

#define LOGIN_EMPTY_DIR "empty"
#define LOGIN_ERROR_LIMIT 20
#define LOGIN_IO_TIMEOUT 30
#define LOGIN_MIN_DEADLINE_MS 1000

bool login_addr_secure(const char *remote, const char *local)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcmp(remote, local) == 0 && strcmp(remote, "unknown") != 0)
		return true;
	if (inet_pton(AF_INET, remote, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, remote, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

long login_deadline_ms(const struct login_settings *set, int nclients)
{
	long ms = set->deadline_ms;

	if (set->client_limit > 0 && nclients * 4 >= set->client_limit * 3)
		ms /= 4;
	return ms < LOGIN_MIN_DEADLINE_MS ? LOGIN_MIN_DEADLINE_MS : ms;
}

static void login_read_settings(const struct login_proto *proto,
				struct login_settings *set)
{
	set->client_limit = (int)cfg_int(cfg_main, "login_client_limit");
	if (set->client_limit < 1)
		msg_fatal("login_client_limit must be at least 1");
	set->deadline_ms = cfg_time(cfg_main, "login_timeout") * 1000;
	set->command_limit = (int)cfg_int(cfg_main, "login_command_limit");
	set->error_limit = LOGIN_ERROR_LIMIT;
	set->io_timeout = LOGIN_IO_TIMEOUT;
	set->plaintext_disabled = cfg_bool(cfg_main, proto->plaintext_key);
	set->loopback_secure = cfg_bool(cfg_main,
					"login_plaintext_loopback");
	set->tls_wrapper = cfg_bool(cfg_main, proto->tls_wrapper_key);
	set->mechanisms = cfg_list(cfg_main, "auth_mechanisms");
}

/* Room for every client, its auth connection and a TLS proxy pair. */
static void login_raise_fd_limit(int clients)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)clients * 3 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
		      want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		msg_warn("setrlimit RLIMIT_NOFILE: %m");
}

static void login_tls_init(struct login_server *srv)
{
	struct tls_settings set;
	char *error = NULL;
	bool have_cert;

	/* Ticket keys of this service's own (the services.conf row). */
	have_cert = tls_server_settings(cfg_main, server_service_name, &set);
	if (*cfg_str(cfg_main, "tls_sni_maps") != '\0')
		msg_debug("tls_sni_maps is not used by %s", srv->proto->name);
	if (!have_cert) {
		if (srv->set.tls_wrapper)
			msg_fatal("%s: %s: %m", srv->proto->tls_wrapper_key,
				  set.cert_file);
		msg_info("no %s: STARTTLS not offered", set.cert_file);
		return;
	}
	srv->tls = tls_server_ctx(&set, &error);
	if (srv->tls == NULL)
		msg_fatal("TLS: %s", error);
}

const char *login_metrics_label(void)
{
	static char label[32];

	if (label[0] == '\0')
		(void)str_snprintf(label, sizeof(label), "%s%s",
				   login_server.proto->name,
				   login_server.set.tls_wrapper ? "s" : "");
	return label;
}

void login_pre_init(void *ctx)
{
	struct login_server *srv = &login_server;
	struct stat st;
	int fd;

	srv->proto = ctx;
	login_read_settings(srv->proto, &srv->set);
	login_raise_fd_limit(srv->set.client_limit);
	login_tls_init(srv);
	login_limit_init();
	/* Jailed next: the metrics connection is made now and kept (if
	 * the metrics service restarts, this process's counts stop until
	 * master replaces it); correo-metrics(8). */
	metrics_open();
	/* The chroot has no sockets: the spawner connection is our way to
	 * auth and to the mail processes. */
	fd = lio_connect_unix(srv->proto->spawner_socket,
			      srv->set.io_timeout);
	if (fd < 0)
		msg_fatal("connect to %s: %m", srv->proto->spawner_socket);
	srv->spawner = lio_create(fd, srv->set.io_timeout);
	if (!priv_is_root())
		return;
	/* -r (services.conf chroot column) jails us where we stand. */
	if (mkdir(LOGIN_EMPTY_DIR, 0555) < 0 && errno != EEXIST)
		msg_fatal("mkdir %s: %m", LOGIN_EMPTY_DIR);
	if (stat(LOGIN_EMPTY_DIR, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & 0222) != 0)
		msg_fatal("%s/%s must be a directory owned by root and "
			  "writable by nobody",
			  cfg_str(cfg_main, "queue_directory"),
			  LOGIN_EMPTY_DIR);
	if (chdir(LOGIN_EMPTY_DIR) < 0)
		msg_fatal("chdir %s: %m", LOGIN_EMPTY_DIR);
}

static void login_accept(int lfd, unsigned events, void *ctx)
{
	struct login_server *srv = &login_server;
	int fd;

	(void)events;
	(void)ctx;
	while (srv->accepting && srv->nclients < srv->set.client_limit) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				msg_warn("accept: %m");
			else if (errno != EAGAIN && errno != EINTR &&
				 errno != ECONNABORTED)
				msg_warn("accept: %m");
			return;
		}
		/* The mail process inherits it with the socket. */
		lio_tcp_nodelay(fd);
		login_client_accept(fd);
	}
}

void login_server_update(void)
{
	struct login_server *srv = &login_server;
	bool want = !srv->spawner_broken && !srv->draining &&
		    srv->nclients < srv->set.client_limit;
	int i;

	/* (Unit tests: no listeners, no master.) */
	if (srv->loop == NULL || srv->nfds == 0)
		return;
	if (want && !srv->accepting) {
		for (i = 0; i < srv->nfds; i++)
			ev_io_add(srv->loop, srv->fds[i], EV_READ,
				  login_accept, NULL);
		srv->accepting = true;
		server_report_status(SERVER_STATUS_IDLE);
	} else if (!want && srv->accepting) {
		for (i = 0; i < srv->nfds; i++)
			ev_io_del(srv->loop, srv->fds[i]);
		srv->accepting = false;
		server_report_status(SERVER_STATUS_BUSY);
	}
	if (srv->spawner_broken && srv->nclients == 0) {
		msg_info("lost the %s service; exiting",
			 srv->proto->spawner_socket);
		ev_stop(srv->loop);
	} else if (srv->draining && srv->nclients == 0)
		ev_stop(srv->loop);
}

/* master's graceful stop (reload): take no new clients, let the ones we
 * have finish (logged-in TLS sessions we proxy included), then exit. */
static void login_drain(int signo, void *ctx)
{
	(void)signo;
	(void)ctx;
	login_server.draining = true;
	login_server_update();
}

void login_event_init(struct ev_loop *loop, const int *fds, int nfds,
		      void *ctx)
{
	struct login_server *srv = &login_server;

	(void)ctx;
	signal(SIGPIPE, SIG_IGN);
	ev_signal_add(loop, SIGUSR1, login_drain, NULL);
	srv->loop = loop;
	srv->fds = fds;
	srv->nfds = nfds;
	login_server_update();
}
