/*
 * server: the skeleton every daemon's main() calls (server.h).
 *
 * server_main() turns "DAEMON -c DIR -s SERVICE -t TYPE [-u USER] [-r]
 * [-o key=value] [-v] [args]" plus the fds master passed (status pipe at
 * fd 3, listeners from fd 4) into a configured, unprivileged process, and
 * then either runs the accept loop (SERVER_SINGLE) or hands the listeners
 * to the daemon's event loop (SERVER_EVENT). Also server_trigger().
 *
 * Many children share one listening socket, so the sockets are
 * non-blocking and a wakeup followed by EAGAIN is normal: another child
 * won the race. A child never outlives master: it watches its status
 * pipe for the error that means the read end is gone, asks the kernel for
 * SIGTERM when its parent dies, and exits when a status write fails.
 *
 * SECURITY: starts with master's privileges (root, or the invoking user
 * in instance mode). pre_init runs privileged, then the process chroots
 * (-r) and drops to the service user; the drop is verified (priv.c) and
 * a failure is fatal. Only serve()/event_init see client input, always
 * after the drop unless the daemon declared itself privileged, and
 * after the daemon's sandbox is in place (a privileged daemon keeps only
 * CAP_SETUID and CAP_SETGID).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "cfg.h"
#include "ev.h"
#include "lio.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "server.h"
#include "str.h"

#define SERVER_MAX_LISTEN 64
/* Grace given to the log write after the watchdog fired. */
#define SERVER_WATCHDOG_GRACE 5

struct server_opts {
	const char *config_dir;
	const char *service;
	const char *type;
	const char *user;
	bool chroot;
	int verbose;
	char **overrides;
	int noverrides;
};

const char *server_service_name;
char **server_args;
int server_nargs;
bool server_instance_mode;

static volatile sig_atomic_t server_stop_flag;
static int server_fds[SERVER_MAX_LISTEN];
static int server_nfds;
static pid_t server_parent;

bool server_stopping(void)
{
	return server_stop_flag != 0;
}

static void server_usage(const char *name)
{
	msg_fatal("usage: %s -c config_dir -s service -t inet|unix "
		  "[-u user] [-r] [-o key=value] [-v] [args]", name);
}

static void server_parse_args(int argc, char **argv, const char *name,
			      struct server_opts *opts)
{
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->config_dir = SYSCONFDIR;
	opts->overrides = mem_array((size_t)argc + 1, sizeof(char *));
	/* "+": stop at the first argument that is not an option, so the
	 * daemon's own arguments from services.conf pass through. */
	while ((c = getopt(argc, argv, "+c:s:t:u:ro:v")) != -1) {
		switch (c) {
		case 'c':
			opts->config_dir = optarg;
			break;
		case 's':
			opts->service = optarg;
			break;
		case 't':
			opts->type = optarg;
			break;
		case 'u':
			opts->user = optarg;
			break;
		case 'r':
			opts->chroot = true;
			break;
		case 'o':
			opts->overrides[opts->noverrides++] = optarg;
			break;
		case 'v':
			opts->verbose++;
			break;
		default:
			server_usage(name);
		}
	}
	if (opts->service == NULL || opts->type == NULL)
		server_usage(name);
	if (strcmp(opts->type, "inet") != 0 &&
	    strcmp(opts->type, "unix") != 0)
		msg_fatal("-t %s: expected inet or unix", opts->type);
	server_args = argv + optind;
	server_nargs = argc - optind;
	server_service_name = opts->service;
}

static void server_load_config(const struct server_opts *opts)
{
	struct str path = STR_INIT;
	char *error = NULL;
	char *eq, *key;
	int i;

	str_printf(&path, "%s/correo.conf", opts->config_dir);
	cfg_main = cfg_load(str_c(&path), &error);
	if (cfg_main == NULL)
		msg_fatal("%s", error);
	str_release(&path);
	for (i = 0; i < opts->noverrides; i++) {
		eq = strchr(opts->overrides[i], '=');
		if (eq == NULL)
			msg_fatal("-o %s: expected key=value",
				  opts->overrides[i]);
		key = mem_strndup(opts->overrides[i],
				  (size_t)(eq - opts->overrides[i]));
		if (!cfg_set(cfg_main, str_trim(key), str_trim(eq + 1),
			     &error))
			msg_fatal("service %s: -o %s: %s", opts->service,
				  opts->overrides[i], error);
		free(key);
	}
}

static void server_open_log(void)
{
	const char *log_file = cfg_str(cfg_main, "log_file");

	if (log_file[0] == '\0') {
		msg_open_syslog();
		return;
	}
	if (!msg_open_file(log_file))
		msg_fatal("open log file %s: %m", log_file);
}

/* Check the fds master promised and make them safe to keep: never
 * inherited by a program the daemon runs, listeners non-blocking. */
static void server_inherit_fds(const char *env)
{
	long n;
	int i, fd, flags;

	if (!str_to_long(env, 1, SERVER_MAX_LISTEN, &n))
		msg_fatal("bad %s value \"%s\"", SERVER_ENV_LISTEN_FDS, env);
	if (fcntl(SERVER_STATUS_FD, F_SETFD, FD_CLOEXEC) < 0)
		msg_fatal("status pipe fd %d: %m", SERVER_STATUS_FD);
	for (i = 0; i < n; i++) {
		fd = SERVER_LISTEN_FD + i;
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
		    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
			msg_fatal("listening fd %d: %m", fd);
		server_fds[i] = fd;
	}
	server_nfds = (int)n;
	unsetenv(SERVER_ENV_LISTEN_FDS);
}

/* Chroot (-r) and drop to the service user. The user is looked up and
 * the groups set before the chroot, while /etc is still in reach. */
static void server_jail(const struct server_opts *opts,
			const struct server_spec *spec)
{
	const char *name = opts->user;
	const char *dir = opts->chroot ? "." : NULL;
	struct priv_user user;
	const char *error;
	int ret;

	if (server_instance_mode) {
		if (opts->chroot)
			msg_info("not running as root: chroot skipped");
		return;
	}
	/* Timestamps need the zone file, which the jail does not have. */
	tzset();
	if (spec->privileged) {
		/* server_main already did chdir $queue_directory. */
		if (dir != NULL && !priv_chroot(dir, &error))
			msg_fatal("chroot %s: %s",
				  cfg_str(cfg_main, "queue_directory"), error);
		return;
	}
	if (name == NULL)
		name = cfg_str(cfg_main, "mail_owner");
	ret = priv_user_lookup(name, &user);
	if (ret < 0)
		msg_fatal("look up user %s: %m", name);
	if (ret == 0)
		msg_fatal("unknown user %s (check the user column of "
			  "services.conf and mail_owner)", name);
	if (user.uid == 0)
		msg_fatal("user %s has uid 0: %s refuses to run as root",
			  name, spec->name);
	if (!priv_drop_chroot(user.name, user.uid, user.gid, dir, &error))
		msg_fatal("drop privileges to %s%s%s: %s", name,
			  dir != NULL ? " in chroot " : "",
			  dir != NULL ? cfg_str(cfg_main, "queue_directory") :
			  "", error);
	priv_user_free(&user);
}

/* Exit with master: the kernel signals us when the parent dies (this is
 * reset by credential changes, so it is set after the drop). */
static void server_watch_master(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		msg_warn("prctl PR_SET_PDEATHSIG: %m");
	if (getppid() != server_parent) {
		msg_info("master went away; exiting");
		exit(0);
	}
}

/* The end of init: a privileged daemon keeps only the capabilities to
 * switch users and reaches files as $mail_owner; then the sandbox. */
static void server_sandbox(const struct server_spec *spec)
{
	struct priv_user owner;
	const char *name, *error;
	int ret;

	if (spec->privileged && !server_instance_mode) {
		name = cfg_str(cfg_main, "mail_owner");
		ret = priv_user_lookup(name, &owner);
		if (ret < 0)
			msg_fatal("look up user %s: %m", name);
		if (ret == 0)
			msg_fatal("unknown mail_owner %s", name);
		if (!sandbox_keep_setid(owner.uid, owner.gid, &error))
			msg_fatal("drop capabilities: %s", error);
		priv_user_free(&owner);
	}
	if (spec->sandbox == NULL) {
		if (!sandbox_no_new_privs(&error))
			msg_fatal("%s", error);
	} else if (!sandbox_apply(spec->sandbox, &error)) {
		msg_fatal("sandbox %s: %s", spec->sandbox->name, error);
	}
}

static void server_status(int code)
{
	struct server_status_msg m = { .pid = (int)getpid(), .code = code };
	ssize_t n;

	do {
		n = write(SERVER_STATUS_FD, &m, sizeof(m));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPIPE) {
		msg_info("master went away; exiting");
		exit(0);
	}
	if (n != (ssize_t)sizeof(m))
		msg_fatal("write status to master: %m");
}

static void server_sigterm(int signo)
{
	_exit(0);
}

static void server_sigusr1(int signo)
{
	server_stop_flag = 1;
}

static void server_watchdog(int signo)
{
	/* SA_RESETHAND made the next SIGALRM fatal: if logging hangs, the
	 * process still dies. */
	alarm(SERVER_WATCHDOG_GRACE);
	msg_error("watchdog timeout");
	_exit(1);
}

static void server_signal(int signo, void (*handler)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0)
		msg_fatal("sigaction %d: %m", signo);
}

static void server_setup_signals(void)
{
	sigset_t none;

	/* Master unblocks signals before exec; do not depend on it. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	server_signal(SIGPIPE, SIG_IGN, 0);
	server_signal(SIGTERM, server_sigterm, 0);
	server_signal(SIGUSR1, server_sigusr1, SA_RESTART);
	server_signal(SIGALRM, server_watchdog, SA_RESETHAND);
}

/* One ppoll with SIGUSR1 let in only while waiting, so a graceful stop
 * can neither be lost between the check and the wait nor interrupt a
 * client. Returns ppoll's result (-1 with EINTR for a signal). */
static int server_ppoll(struct pollfd *pfd, int n, long long deadline)
{
	sigset_t block, old, during;
	struct timespec ts, *tsp = NULL;
	long long left;
	int ret;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (server_stop_flag) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = EINTR;
		return -1;
	}
	if (deadline > 0) {
		left = deadline - ev_now_ms();
		if (left < 0)
			left = 0;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		tsp = &ts;
	}
	during = old;
	sigdelset(&during, SIGUSR1);
	ret = ppoll(pfd, (nfds_t)n, tsp, &during);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static int server_accept_ready(struct pollfd *pfd, int n)
{
	int i, fd;

	for (i = 1; i < n; i++) {
		if ((pfd[i].revents & POLLIN) == 0)
			continue;
		fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		/* Another child took it, or the client gave up. */
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != ECONNABORTED && errno != EINTR &&
		    errno != EPROTO)
			msg_warn("accept: %m");
	}
	return -1;
}

/* Wait for a client. Returns its fd, or -1 when it is time to exit: idle
 * too long, asked to stop, or master gone. */
static int server_wait(struct pollfd *pfd, int n, long max_idle)
{
	long long deadline = 0;
	int ret, fd;

	if (max_idle > 0)
		deadline = ev_now_ms() + (long long)max_idle * 1000;
	for (;;) {
		ret = server_ppoll(pfd, n, deadline);
		if (ret < 0 && errno == EINTR) {
			if (server_stop_flag)
				return -1;
			continue;
		}
		if (ret < 0)
			msg_fatal("poll: %m");
		if (ret == 0) {
			msg_debug("idle timeout -- exiting");
			return -1;
		}
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			msg_info("master went away; exiting");
			return -1;
		}
		fd = server_accept_ready(pfd, n);
		if (fd >= 0)
			return fd;
	}
}

/* Close the client unless serve() already did: compare the socket's
 * identity so a number reused by a file serve() opened is left alone. */
static void server_close_client(int fd, const struct stat *before)
{
	struct stat now;

	if (fstat(fd, &now) < 0)
		return;
	if (now.st_dev == before->st_dev && now.st_ino == before->st_ino)
		close(fd);
}

static void server_serve(const struct server_spec *spec, int fd,
			 long timeout)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		msg_fatal("fstat client socket: %m");
	server_status(SERVER_STATUS_BUSY);
	if (timeout > 0)
		alarm((unsigned)timeout);
	spec->serve(fd, spec->ctx);
	alarm(0);
	server_close_client(fd, &st);
	server_status(SERVER_STATUS_IDLE);
}

static void server_single_loop(const struct server_spec *spec)
{
	struct pollfd pfd[SERVER_MAX_LISTEN + 1];
	long max_use = cfg_int(cfg_main, "max_use");
	long max_idle = cfg_time(cfg_main, "max_idle");
	long timeout = cfg_time(cfg_main, "daemon_timeout");
	long served = 0;
	int i, fd;

	if (spec->serve == NULL)
		msg_panic("%s: SERVER_SINGLE without serve()", spec->name);
	/* No events asked on the status pipe's write end: poll still
	 * reports POLLERR once master, the only reader, is gone. */
	pfd[0].fd = SERVER_STATUS_FD;
	pfd[0].events = 0;
	for (i = 0; i < server_nfds; i++) {
		pfd[i + 1].fd = server_fds[i];
		pfd[i + 1].events = POLLIN;
	}
	server_status(SERVER_STATUS_IDLE);
	while (max_use <= 0 || served < max_use) {
		fd = server_wait(pfd, server_nfds + 1, max_idle);
		if (fd < 0)
			break;
		server_serve(spec, fd, timeout);
		served++;
	}
	if (server_stop_flag)
		msg_debug("stopping on master's request");
}

static void server_ev_stop(int signo, void *ctx)
{
	server_stop_flag = 1;
	ev_stop(ctx);
}

static void server_ev_master_gone(int fd, unsigned events, void *ctx)
{
	msg_info("master went away; exiting");
	server_stop_flag = 1;
	ev_stop(ctx);
}

struct server_ev_watchdog {
	struct ev_loop *loop;
	long timeout;
};

/* The loop still turning is the proof of life: re-arm the alarm from a
 * timer, so a callback that hangs lets it fire. */
static void server_ev_watchdog(void *ctx)
{
	struct server_ev_watchdog *wd = ctx;

	alarm((unsigned)wd->timeout);
	ev_timer_add(wd->loop, wd->timeout * 500, server_ev_watchdog, wd);
}

static void server_event_loop(const struct server_spec *spec)
{
	struct server_ev_watchdog wd;
	struct ev_loop *loop;

	if (spec->event_init == NULL)
		msg_panic("%s: SERVER_EVENT without event_init()", spec->name);
	loop = ev_create();
	ev_signal_add(loop, SIGTERM, server_ev_stop, loop);
	ev_signal_add(loop, SIGUSR1, server_ev_stop, loop);
	ev_io_add(loop, SERVER_STATUS_FD, EV_READ, server_ev_master_gone,
		  loop);
	wd.loop = loop;
	wd.timeout = cfg_time(cfg_main, "daemon_timeout");
	if (wd.timeout > 0)
		server_ev_watchdog(&wd);
	spec->event_init(loop, server_fds, server_nfds, spec->ctx);
	server_sandbox(spec);
	server_status(SERVER_STATUS_IDLE);
	ev_run(loop);
	alarm(0);
	ev_free(&loop);
}

int server_main(int argc, char **argv, const struct server_spec *spec)
{
	struct server_opts opts;
	const char *env = getenv(SERVER_ENV_LISTEN_FDS);
	const char *queue_dir;

	msg_set_name(spec->name);
	if (env == NULL)
		msg_fatal("this is a correo daemon; it is started by "
			  "correo-master");
	server_parent = getppid();
	server_instance_mode = !priv_is_root();
	server_parse_args(argc, argv, spec->name, &opts);
	msg_set_verbose(opts.verbose);
	server_inherit_fds(env);
	server_setup_signals();
	server_load_config(&opts);
	server_open_log();
	queue_dir = cfg_str(cfg_main, "queue_directory");
	if (chdir(queue_dir) < 0)
		msg_fatal("chdir %s: %m", queue_dir);
	if (spec->pre_init != NULL)
		spec->pre_init(spec->ctx);
	server_jail(&opts, spec);
	server_watch_master();
	if (spec->post_init != NULL)
		spec->post_init(spec->ctx);
	if (spec->mode == SERVER_EVENT) {
		server_event_loop(spec);
	} else {
		server_sandbox(spec);
		server_single_loop(spec);
	}
	free(opts.overrides);
	return 0;
}

/* A non-blocking connection to the trigger socket at path in *fd_r.
 * 1 connected, 0 the backlog is full (a wake-up is pending there), -1
 * error (errno set). */
static int server_trigger_connect(const char *socket_path, int *fd_r)
{
	struct sockaddr_un sun;
	int fd, saved;

	*fd_r = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (!str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
			  socket_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Non-blocking: a full backlog means the service is busy, and a
	 * trigger is never worth waiting for. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A full backlog (EAGAIN) means triggers are already waiting to be
	 * read; the service acts on them after this moment, so a wake-up is
	 * pending and this one is not needed (Postfix treats it so). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return saved == EAGAIN ? 0 : -1;
	}
	*fd_r = fd;
	return 1;
}

bool server_trigger(const char *socket_path, char code)
{
	int fd, ret, saved;

	ret = server_trigger_connect(socket_path, &fd);
	if (ret <= 0)
		return ret == 0;
	if (send(fd, &code, 1, MSG_NOSIGNAL) != 1) {
		saved = errno;
		close(fd);
		errno = saved;
		return false;
	}
	close(fd);
	return true;
}

bool server_trigger_kept(const char *socket_path, char code)
{
	static int fd = -1;
	static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ssize_t n;
	int ret;

	if (fd >= 0 && strcmp(path, socket_path) != 0) {
		close(fd);
		fd = -1;
	}
	/* A second round only after the kept connection failed: the
	 * service restarted or closed it (its cap on kept clients). */
	for (int round = 0; round < 2; round++) {
		if (fd < 0) {
			ret = server_trigger_connect(socket_path, &fd);
			if (ret <= 0)
				return ret == 0;
			(void)str_snprintf(path, sizeof(path), "%s",
					   socket_path);
		}
		n = send(fd, &code, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		/* A full buffer holds unread triggers: one is pending. */
		if (n == 1 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
			return true;
		close(fd);
		fd = -1;
	}
	return false;
}

void server_attr_serve(int fd, const struct server_attr_service *svc)
{
	struct lio *lio = lio_create(fd, svc->timeout);
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	const char *error;
	enum lio_status st;

	attr_server_hello(lio, svc->protocol);
	while (!server_stopping()) {
		alarm(0);
		st = attr_read(lio, &req, svc->spec, &error);
		if (st == LIO_EOF || st == LIO_TIMEOUT)
			break;
		if (st != LIO_OK) {
			msg_warn("read request: %s", error);
			break;
		}
		if (svc->daemon_timeout > 0)
			alarm((unsigned)svc->daemon_timeout);
		svc->handle(&req, &reply);
		attr_write(lio, &reply);
		attr_list_clear(&reply);
		if (lio_flush(lio) != LIO_OK)
			break;
	}
	alarm(0);
	attr_list_clear(&req);
	lio_free(&lio);
}

void server_report_status(enum server_status_code code)
{
	server_status(code);
}
