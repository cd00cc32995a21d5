/*
 * master_spawn: the children of each service (master.h).
 *
 * Each service keeps a pool: one child from the start, another whenever
 * every child reports BUSY, up to maxproc. A child counts as idle from
 * its birth until it says BUSY, so a burst of clients does not fork a
 * storm before the first child has even run. Children are reaped on
 * SIGCHLD (delivered by the event loop); an unexpected exit is logged
 * the way Postfix admins grep for, and a child that fails before it ever
 * served a client makes the service "throttled": no restarts for
 * $service_throttle_time, instead of forking in a tight loop.
 *
 * The exec contract is server.h's: fd 3 the write end of the service's
 * status pipe, the listeners from fd 4 on, their count in
 * CORREO_LISTEN_FDS, every other fd closed, no signal blocked, and an
 * environment reduced to $import_environment (master.c, clean_env.h).
 *
 * SECURITY: runs as master (root, or the invoker). Each service has its
 * own status pipe (as in Postfix), opened when its first child starts
 * and closed when the service is freed, so a child can speak only about
 * its own service: a report naming a pid that is not a child of the
 * service whose pipe carried it is ignored (and logged, a few times a
 * minute at most), and so is a code other than IDLE/BUSY. A child can
 * still lie about its siblings; that only costs its own service.
 * Children drop privileges themselves (server.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ev.h"
#include "master.h"
#include "mem.h"
#include "metrics_client.h"
#include "msg.h"
#include "proto.h"
#include "server.h"
#include "str.h"

static void master_metrics(const struct master_service *s);

/* Exit status of a child whose exec (or fd setup) failed. */
#define MASTER_EXEC_FAILED 127
/* At most one "forged status report" warning per service this often. */
#define MASTER_FORGED_LOG_MS 10000

/* Close every fd from first on; close_range where the kernel has it. */
static void master_close_from(int first)
{
	int fd;

	if (close_range((unsigned)first, ~0U, 0) == 0)
		return;
	for (fd = first; fd < 4096; fd++)
		close(fd);
}

/* In the child between fork and exec. Nothing here may log: the log fd
 * may be one of the numbers being rearranged. */
static void master_child_exec(struct master *m, struct master_service *s)
{
	int base = SERVER_LISTEN_FD + s->nfds;
	int tmp[MASTER_MAX_LISTEN + 1];
	char count[16];
	int i;

	ev_signal_unblock(m->loop);
	signal(SIGPIPE, SIG_DFL);
	/* Move everything above the target range first, so no dup2 can
	 * clobber a source. */
	tmp[0] = fcntl(s->status_wr, F_DUPFD, base);
	for (i = 0; i < s->nfds; i++)
		tmp[i + 1] = fcntl(s->fds[i], F_DUPFD, base);
	for (i = 0; i <= s->nfds; i++)
		if (tmp[i] < 0 || dup2(tmp[i], SERVER_STATUS_FD + i) < 0)
			_exit(MASTER_EXEC_FAILED);
	master_close_from(base);
	if (!str_snprintf(count, sizeof(count), "%d", s->nfds) ||
	    setenv(SERVER_ENV_LISTEN_FDS, count, 1) < 0)
		_exit(MASTER_EXEC_FAILED);
	execv(s->path, s->argv);
	_exit(MASTER_EXEC_FAILED);
}

static void master_status_event(int fd, unsigned events, void *ctx);

/* The service's status pipe, made when its first child starts. Only
 * master's end is non-blocking: a child that finds the pipe full waits
 * for master rather than losing a report. */
static bool master_status_open(struct master_service *s)
{
	int p[2];

	if (s->status_rd >= 0)
		return true;
	if (pipe2(p, O_CLOEXEC) < 0) {
		msg_warn("service %s: status pipe: %m", s->name);
		return false;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		msg_warn("service %s: status pipe: %m", s->name);
		close(p[0]);
		close(p[1]);
		return false;
	}
	s->status_rd = p[0];
	s->status_wr = p[1];
	ev_io_add(s->master->loop, s->status_rd, EV_READ, master_status_event,
		  s);
	return true;
}

void master_spawn_status_close(struct master_service *s)
{
	if (s->status_rd < 0)
		return;
	ev_io_del(s->master->loop, s->status_rd);
	close(s->status_rd);
	close(s->status_wr);
	s->status_rd = s->status_wr = -1;
}

static void master_throttle(struct master_service *s);

static void master_spawn_one(struct master_service *s)
{
	struct master *m = s->master;
	struct master_child *c;
	pid_t pid;

	if (!master_status_open(s)) {
		master_throttle(s);
		return;
	}
	pid = fork();
	if (pid < 0) {
		msg_warn("fork: %m");
		master_throttle(s);
		return;
	}
	if (pid == 0)
		master_child_exec(m, s);
	c = mem_alloc(sizeof(*c));
	c->pid = pid;
	c->service = s;
	c->start_ms = ev_now_ms();
	c->next = m->children;
	m->children = c;
	s->nproc++;
	s->navail++;
	master_metrics(s);
	msg_debug("service %s: started %s pid %ld", s->name, s->path,
		  (long)pid);
}

/* The service's process pool for correo-metrics(8): sent on every
 * change and every MASTER_METRICS_SECONDS (so a restarted metrics
 * service learns it again). Dropped when no metrics service runs. */
#define MASTER_METRICS_SECONDS 10

static void master_metrics(const struct master_service *s)
{
	static bool path_set;

	if (!path_set) {
		char path[256];

		if (str_snprintf(path, sizeof(path), "%s/%s",
				 s->master->queue_dir, METRICS_SOCKET))
			metrics_set_path(path);
		path_set = true;
	}
	if (s->stale)
		return;
	metrics_gauge("correo_process_pool_processes", s->name, s->nproc);
	metrics_gauge("correo_process_pool_busy", s->name,
		      s->nproc - s->navail);
	metrics_gauge("correo_process_pool_limit", s->name, s->maxproc);
}

static void master_metrics_tick(void *ctx)
{
	struct master *m = ctx;

	for (const struct master_service *s = m->services; s != NULL;
	     s = s->next)
		master_metrics(s);
	(void)ev_timer_add(m->loop, MASTER_METRICS_SECONDS * 1000,
			   master_metrics_tick, m);
}

/* Is an old generation of a single-process service still running? A
 * reload must not briefly run two queue managers. */
static bool master_predecessor_alive(const struct master_service *s)
{
	const struct master_service *o;

	for (o = s->master->services; o != NULL; o = o->next)
		if (o->stale && o->nproc > 0 && strcmp(o->key, s->key) == 0)
			return true;
	return false;
}

void master_spawn_fill(struct master_service *s)
{
	if (s->stale || s->throttled || s->master->stopping ||
	    s->navail > 0)
		return;
	if (s->maxproc > 0 && s->nproc >= s->maxproc) {
		if (s->nproc > 1)
			msg_debug("service %s: all %d processes busy",
				  s->name, s->nproc);
		return;
	}
	if (s->maxproc == 1 && master_predecessor_alive(s))
		return;
	master_spawn_one(s);
}

static void master_unthrottle(void *ctx)
{
	struct master_service *s = ctx;

	s->throttle_timer = NULL;
	s->throttled = false;
	master_spawn_fill(s);
}

static void master_throttle(struct master_service *s)
{
	long secs = cfg_time(s->master->cfg, "service_throttle_time");

	if (s->throttled)
		return;
	msg_warn("%s: bad command startup -- throttling for %ld seconds",
		 s->path, secs);
	s->throttled = true;
	s->throttle_timer = ev_timer_add(s->master->loop, secs * 1000,
					 master_unthrottle, s);
}

static struct master_child *master_child_find(struct master *m, pid_t pid,
					      bool unlink)
{
	struct master_child **pp, *c;

	for (pp = &m->children; (c = *pp) != NULL; pp = &c->next) {
		if (c->pid != pid)
			continue;
		if (unlink)
			*pp = c->next;
		return c;
	}
	return NULL;
}

/* A report on s's pipe about a pid that is a child of another service:
 * a forgery (or a bug). Logged at most every MASTER_FORGED_LOG_MS per
 * service, with the count since the last line, so a forger cannot fill
 * the log. */
static void master_status_forged(struct master_service *s,
				 const struct server_status_msg *msg)
{
	long long now = ev_now_ms();

	s->forged++;
	if (s->forged_logged_ms != 0 &&
	    now - s->forged_logged_ms < MASTER_FORGED_LOG_MS)
		return;
	msg_warn("service %s: status report for pid %d, which is not a "
		 "child of this service; ignored (%lu such report%s)",
		 s->name, msg->pid, s->forged, s->forged == 1 ? "" : "s");
	s->forged_logged_ms = now;
	s->forged = 0;
}

static void master_status_one(struct master_service *s,
			      const struct server_status_msg *msg)
{
	struct master_child *c = master_child_find(s->master, msg->pid,
						   false);

	/* Already reaped (the exit overtook the last report), or junk. */
	if (c == NULL)
		return;
	if (c->service != s) {
		master_status_forged(s, msg);
		return;
	}
	if (msg->code == SERVER_STATUS_BUSY && !c->busy) {
		c->busy = true;
		c->use_count++;
		s->navail--;
		master_metrics(s);
		master_spawn_fill(s);
	} else if (msg->code == SERVER_STATUS_IDLE && c->busy) {
		c->busy = false;
		s->navail++;
		master_metrics(s);
	}
}

static void master_status_event(int fd, unsigned events, void *ctx)
{
	struct master_service *s = ctx;
	struct server_status_msg msgs[64];
	ssize_t n;
	size_t i;

	for (;;) {
		n = read(fd, msgs, sizeof(msgs));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		/* Each report is one atomic pipe write, so reads come in
		 * whole reports. */
		if (n % (ssize_t)sizeof(msgs[0]) != 0)
			msg_warn("service %s: status pipe: partial report "
				 "ignored", s->name);
		for (i = 0; i < (size_t)n / sizeof(msgs[0]); i++)
			master_status_one(s, &msgs[i]);
		if ((size_t)n < sizeof(msgs))
			return;
	}
}

/* Signals that mean "someone stopped it", not "it could not start". */
static bool master_external_signal(int sig)
{
	return sig == SIGKILL || sig == SIGTERM || sig == SIGINT ||
		sig == SIGHUP || sig == SIGUSR1;
}

/* The signal's name for the log ("SIGSYS"); a table rather than
 * sigabbrev_np, which only newer C libraries have. */
static const char *master_signal_name(int sig)
{
#define MASTER_SIG(name) { name, #name }
	static const struct {
		int sig;
		const char *name;
	} names[] = {
		MASTER_SIG(SIGHUP), MASTER_SIG(SIGINT), MASTER_SIG(SIGQUIT),
		MASTER_SIG(SIGILL), MASTER_SIG(SIGTRAP), MASTER_SIG(SIGABRT),
		MASTER_SIG(SIGBUS), MASTER_SIG(SIGFPE), MASTER_SIG(SIGKILL),
		MASTER_SIG(SIGUSR1), MASTER_SIG(SIGSEGV), MASTER_SIG(SIGUSR2),
		MASTER_SIG(SIGPIPE), MASTER_SIG(SIGALRM), MASTER_SIG(SIGTERM),
		MASTER_SIG(SIGCHLD), MASTER_SIG(SIGCONT), MASTER_SIG(SIGSTOP),
		MASTER_SIG(SIGTSTP), MASTER_SIG(SIGTTIN), MASTER_SIG(SIGTTOU),
		MASTER_SIG(SIGURG), MASTER_SIG(SIGXCPU), MASTER_SIG(SIGXFSZ),
		MASTER_SIG(SIGVTALRM), MASTER_SIG(SIGPROF),
		MASTER_SIG(SIGWINCH), MASTER_SIG(SIGIO), MASTER_SIG(SIGSYS),
	};
#undef MASTER_SIG
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	return "unknown signal";
}

static void master_log_exit(const struct master_child *c, int status)
{
	const char *path = c->service->path;
	int sig;

	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == MASTER_EXEC_FAILED)
			msg_warn("process %s pid %ld exit status %d (could "
				 "not be started)", path, (long)c->pid,
				 WEXITSTATUS(status));
		else if (WEXITSTATUS(status) != 0)
			msg_warn("process %s pid %ld exit status %d", path,
				 (long)c->pid, WEXITSTATUS(status));
		return;
	}
	if (!WIFSIGNALED(status))
		return;
	sig = WTERMSIG(status);
	if (c->signalled && (sig == SIGTERM || sig == SIGKILL))
		return;
	msg_warn("process %s pid %ld killed by signal %d (%s)", path,
		 (long)c->pid, sig, master_signal_name(sig));
}

/* A child that served no client and died of its own accord within
 * MASTER_STARTUP_MS of its start failed to start. Event servers (qmgr)
 * never report BUSY, so without the time limit any later crash of theirs
 * would throttle the service as if it could not start at all. */
#define MASTER_STARTUP_MS 5000

static bool master_bad_startup(const struct master_child *c, int status)
{
	if (c->use_count > 0 || c->signalled ||
	    ev_now_ms() - c->start_ms >= MASTER_STARTUP_MS)
		return false;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) != 0;
	return WIFSIGNALED(status) && !master_external_signal(WTERMSIG(status));
}

/* A stale service whose last child is gone: forget it, and let a
 * successor that waited for it (maxproc 1) start. */
static void master_stale_gone(struct master *m, struct master_service *s)
{
	struct master_service **pp, *o;

	for (pp = &m->services; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	master_spawn_cancel_timers(s);
	master_svc_free(&s);
	for (o = m->services; o != NULL; o = o->next)
		master_spawn_fill(o);
}

static void master_child_exited(struct master *m, struct master_child *c,
				int status)
{
	struct master_service *s = c->service;

	s->nproc--;
	if (!c->busy)
		s->navail--;
	master_metrics(s);
	if (!m->stopping)
		master_log_exit(c, status);
	if (!s->stale && !m->stopping && master_bad_startup(c, status))
		master_throttle(s);
	free(c);
	if (s->stale) {
		if (s->nproc == 0)
			master_stale_gone(m, s);
		return;
	}
	master_spawn_fill(s);
}

void master_spawn_reap(struct master *m)
{
	struct master_child *c;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		c = master_child_find(m, pid, true);
		if (c != NULL)
			master_child_exited(m, c, status);
	}
	if (m->stopping && m->children == NULL)
		ev_stop(m->loop);
}

static void master_sigchld(int signo, void *ctx)
{
	master_spawn_reap(ctx);
}

void master_spawn_signal(struct master *m, struct master_service *s,
			 int signo)
{
	struct master_child *c;

	for (c = m->children; c != NULL; c = c->next) {
		if (s != NULL && c->service != s)
			continue;
		if (signo == SIGTERM || signo == SIGKILL)
			c->signalled = true;
		if (kill(c->pid, signo) < 0 && errno != ESRCH)
			msg_warn("kill %ld: %m", (long)c->pid);
	}
}

static void master_wakeup_event(void *ctx)
{
	struct master_service *s = ctx;

	s->wakeup_timer = NULL;
	/* A full backlog means the service is busy anyway. */
	if (!server_trigger(s->sock_path, PROTO_TRIGGER_WAKEUP) &&
	    errno != EAGAIN)
		msg_warn("service %s: wakeup %s/%s: %m", s->name,
			 s->master->queue_dir, s->sock_path);
	master_spawn_wakeup(s);
}

void master_spawn_wakeup(struct master_service *s)
{
	if (s->wakeup <= 0 || s->type != SVC_UNIX || s->stale ||
	    s->master->stopping || s->wakeup_timer != NULL)
		return;
	s->wakeup_timer = ev_timer_add(s->master->loop, s->wakeup * 1000,
				       master_wakeup_event, s);
}

void master_spawn_cancel_timers(struct master_service *s)
{
	if (s->wakeup_timer != NULL)
		ev_timer_del(s->master->loop, &s->wakeup_timer);
	if (s->throttle_timer != NULL)
		ev_timer_del(s->master->loop, &s->throttle_timer);
}

int master_spawn_count(const struct master *m)
{
	const struct master_child *c;
	int n = 0;

	for (c = m->children; c != NULL; c = c->next)
		n++;
	return n;
}

void master_spawn_init(struct master *m)
{
	ev_signal_add(m->loop, SIGCHLD, master_sigchld, m);
	(void)ev_timer_add(m->loop, MASTER_METRICS_SECONDS * 1000,
			   master_metrics_tick, m);
}
