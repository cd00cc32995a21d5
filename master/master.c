/*
 * master: the supervisor's life cycle (master.h): read the configuration,
 * detach (unless -f), take the lock and write the pid file, open every
 * listener, start the children, then run the event loop: SIGHUP reloads,
 * SIGTERM/SIGINT stop everything.
 *
 * Started by root, master is the system's mail supervisor; started by an
 * ordinary user it is an instance: the same code with every user
 * collapsed to the invoker and no chroot (DESIGN.md).
 *
 * Before anything else master reduces its environment to
 * $import_environment, so its children inherit only that (plus
 * CORREO_LISTEN_FDS); a reload applies a changed list.
 *
 * A reload builds the new services first, opening only listeners that
 * did not exist before; any error keeps the old configuration running.
 * Then unchanged listeners move to the new services, removed ones are
 * closed, every old child is asked to finish (SIGUSR1) and new children
 * start.
 *
 * SECURITY: runs as root; never reads mail. The configuration files are
 * trusted (owned by the administrator). The pid file and lock live in
 * $queue_directory/pid, which only master writes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "clean_env.h"
#include "ev.h"
#include "master.h"
#include "mem.h"
#include "msg.h"
#include "priv.h"
#include "sandbox.h"
#include "str.h"

#define MASTER_LOCK_FILE "pid/master.lock"
/* After SIGKILL, how long to wait for the kernel to reap. */
#define MASTER_KILL_GRACE 5

/* For the fatal hook: the pid file to remove if we wrote it. */
static struct master *master_self;

static void master_fatal_hook(void)
{
	if (master_self != NULL && master_self->pid_file != NULL &&
	    master_self->lock_fd >= 0)
		unlink(master_self->pid_file);
}

/* Keep only $import_environment: every child inherits what is left. */
static bool master_clean_env(struct cfg *cfg, char **error_r)
{
	const char *bad;

	if (clean_env(cfg_list(cfg, "import_environment"), &bad))
		return true;
	master_set_error(error_r, "import_environment: \"%s\" is not a "
			 "variable name (NAME or NAME=VALUE)", bad);
	return false;
}

static void master_open_log(struct master *m)
{
	const char *log_file = cfg_str(m->cfg, "log_file");

	if (log_file[0] == '\0')
		msg_open_syslog();
	else if (!msg_open_file(log_file))
		msg_fatal("open log file %s: %m", log_file);
}

/* Fork; the parent waits until the child says it is ready (exit 0) or
 * dies (exit 1: its fatal message already went to our stderr). Returns
 * the child's end of the ready pipe. */
static int master_daemonize(void)
{
	ssize_t n;
	pid_t pid;
	int p[2];
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		msg_fatal("pipe: %m");
	pid = fork();
	if (pid < 0)
		msg_fatal("fork: %m");
	if (pid > 0) {
		close(p[1]);
		do {
			n = read(p[0], &c, 1);
		} while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		msg_fatal("setsid: %m");
	return p[1];
}

static void master_detach(int ready_fd)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		msg_fatal("open /dev/null: %m");
	if (write(ready_fd, "R", 1) != 1)
		msg_warn("tell the parent we are ready: %m");
	close(ready_fd);
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	msg_also_stderr(false);
}

static long master_read_pid(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!str_to_long(str_trim(buf), 1, LONG_MAX, &pid))
		return -1;
	return pid;
}

static void master_write_pid(struct master *m)
{
	struct str tmp = STR_INIT;
	char buf[32];
	int fd;

	str_printf(&tmp, "%s.tmp", m->pid_file);
	str_snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	fd = open(str_c(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		  O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) ||
	    close(fd) < 0 || rename(str_c(&tmp), m->pid_file) < 0)
		msg_fatal("write %s: %m", m->pid_file);
	str_release(&tmp);
}

/* One master per queue: an exclusive lock held for master's lifetime,
 * taken before any socket is touched. */
static void master_lock(struct master *m)
{
	long pid;
	int fd;

	fd = open(MASTER_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0)
		msg_fatal("open %s/%s: %m", m->queue_dir, MASTER_LOCK_FILE);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			msg_fatal("lock %s/%s: %m", m->queue_dir,
				  MASTER_LOCK_FILE);
		pid = master_read_pid(m->pid_file);
		if (pid > 0)
			msg_fatal("the correo mail system is already running "
				  "(master pid %ld, queue %s)", pid,
				  m->queue_dir);
		msg_fatal("the correo mail system is already running "
			  "(queue %s is locked)", m->queue_dir);
	}
	m->lock_fd = fd;
}

static void master_stop_final(void *ctx)
{
	struct master *m = ctx;

	m->stop_timer = NULL;
	msg_warn("%d processes could not be reaped; exiting anyway",
		 master_spawn_count(m));
	ev_stop(m->loop);
}

static void master_stop_kill(void *ctx)
{
	struct master *m = ctx;

	msg_warn("%d processes did not stop within %d seconds; killing "
		 "them", master_spawn_count(m), MASTER_STOP_GRACE);
	master_spawn_signal(m, NULL, SIGKILL);
	m->stop_timer = ev_timer_add(m->loop, MASTER_KILL_GRACE * 1000,
				     master_stop_final, m);
}

static void master_sigterm(int signo, void *ctx)
{
	struct master *m = ctx;
	struct master_service *s;

	if (m->stopping)
		return;
	msg_info("terminating on signal %d", signo);
	m->stopping = true;
	for (s = m->services; s != NULL; s = s->next)
		master_spawn_cancel_timers(s);
	master_spawn_signal(m, NULL, SIGTERM);
	if (m->children == NULL) {
		ev_stop(m->loop);
		return;
	}
	m->stop_timer = ev_timer_add(m->loop, MASTER_STOP_GRACE * 1000,
				     master_stop_kill, m);
}

static struct master_service *master_find_listener(struct master *m,
						   const char *listen_id)
{
	struct master_service *s;

	for (s = m->services; s != NULL; s = s->next)
		if (!s->stale && strcmp(s->listen_id, listen_id) == 0)
			return s;
	return NULL;
}

/* Open what the new services need that no current service has. On
 * error close what was opened here and return false. */
static bool master_reload_listen(struct master *m, struct cfg *cfg,
				 struct master_service *fresh,
				 char **error_r)
{
	struct master_service *s;

	for (s = fresh; s != NULL; s = s->next) {
		if (master_find_listener(m, s->listen_id) != NULL)
			continue;
		if (!master_svc_listen(m, cfg, s, error_r))
			goto fail;
	}
	return true;
fail:
	for (s = fresh; s != NULL; s = s->next)
		if (s->nfds > 0)
			master_svc_close(s, s->type == SVC_UNIX);
	return false;
}

/* Move unchanged listeners to the new services, retire the old ones. */
static void master_reload_commit(struct master *m,
				 struct master_service *fresh)
{
	struct master_service *s, *old, **tail;

	for (s = fresh; s != NULL; s = s->next) {
		if (s->nfds > 0)
			continue;
		old = master_find_listener(m, s->listen_id);
		s->fds = old->fds;
		s->nfds = old->nfds;
		old->fds = NULL;
		old->nfds = 0;
	}
	for (old = m->services; old != NULL; old = old->next) {
		if (old->stale)
			continue;
		old->stale = true;
		master_spawn_cancel_timers(old);
		master_svc_close(old, true);
		master_spawn_signal(m, old, SIGUSR1);
	}
	for (tail = &m->services; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = fresh;
	/* Old services without children can go now. */
	for (tail = &m->services; (s = *tail) != NULL;) {
		if (s->stale && s->nproc == 0) {
			*tail = s->next;
			master_svc_free(&s);
		} else {
			tail = &s->next;
		}
	}
}

static void master_reload(struct master *m)
{
	struct master_service *fresh, *s;
	struct cfg *cfg;
	char *error;

	if (!master_svc_load(m, m->config_dir, &cfg, &fresh, &error))
		goto fail;
	if (!master_clean_env(cfg, &error)) {
		master_svc_free_list(&fresh);
		cfg_free(&cfg);
		goto fail;
	}
	if (!master_reload_listen(m, cfg, fresh, &error)) {
		master_svc_free_list(&fresh);
		cfg_free(&cfg);
		goto fail;
	}
	if (strcmp(cfg_str(cfg, "queue_directory"), m->queue_dir) != 0)
		msg_warn("reload: queue_directory changed; that takes a "
			 "restart (still using %s)", m->queue_dir);
	master_reload_commit(m, fresh);
	cfg_free(&m->cfg);
	m->cfg = cfg_main = cfg;
	master_open_log(m);
	msg_info("reload -- version %s, configuration %s", PACKAGE_VERSION,
		 m->config_dir);
	for (s = fresh; s != NULL; s = s->next) {
		master_spawn_fill(s);
		master_spawn_wakeup(s);
	}
	return;
fail:
	msg_error("reload: %s; keeping the old configuration", error);
	free(error);
}

static void master_sighup(int signo, void *ctx)
{
	struct master *m = ctx;

	if (!m->stopping)
		master_reload(m);
}

static void master_start_services(struct master *m)
{
	struct master_service *s;
	char *error;

	master_svc_patient(true);
	for (s = m->services; s != NULL; s = s->next)
		if (!master_svc_listen(m, m->cfg, s, &error))
			msg_fatal("%s", error);
	master_svc_patient(false);
	msg_info("daemon started -- version %s, configuration %s",
		 PACKAGE_VERSION, m->config_dir);
	for (s = m->services; s != NULL; s = s->next) {
		master_spawn_fill(s);
		master_spawn_wakeup(s);
	}
}

static void master_cleanup(struct master *m)
{
	struct master_child *c, *next;

	for (c = m->children; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	m->children = NULL;
	if (m->stop_timer != NULL)
		ev_timer_del(m->loop, &m->stop_timer);
	master_svc_free_list(&m->services);
	if (unlink(m->pid_file) < 0 && errno != ENOENT)
		msg_warn("remove %s: %m", m->pid_file);
	close(m->lock_fd);
	m->lock_fd = -1;
	if (m->private_fd >= 0)
		close(m->private_fd);
	if (m->public_fd >= 0)
		close(m->public_fd);
	if (m->queue_fd >= 0)
		close(m->queue_fd);
	ev_free(&m->loop);
	cfg_free(&m->cfg);
	cfg_main = NULL;
	free(m->pid_file);
	free(m->queue_dir);
	free(m->config_dir);
	free(m->invoker);
	master_self = NULL;
}

static void master_init(struct master *m, const struct master_opts *opts)
{
	char resolved[PATH_MAX];
	struct passwd *pw;

	memset(m, 0, sizeof(*m));
	m->lock_fd = -1;
	m->queue_fd = m->private_fd = m->public_fd = -1;
	if (realpath(opts->config_dir, resolved) == NULL)
		msg_fatal("config directory %s: %m", opts->config_dir);
	m->config_dir = mem_strdup(resolved);
	m->foreground = opts->foreground;
	m->verbose = opts->verbose;
	m->instance = !priv_is_root();
	pw = getpwuid(getuid());
	if (pw != NULL)
		m->invoker = mem_strdup(pw->pw_name);
}

/* NoNewPrivs and a floor of forbidden calls (sandbox_master), inherited
 * by every process master starts. Not an allowlist: master execs every
 * daemon, and local the administrator's commands; each daemon installs
 * its own allowlist once it is initialised. */
static void master_sandbox(void)
{
	const char *error;

	if (!sandbox_master(&error))
		msg_fatal("sandbox: %s", error);
}

int master_main(const struct master_opts *opts)
{
	struct master m;
	char *error;
	int ready_fd = -1;

	std_fds_reserve();	/* nothing master opens is mistaken for stdio */
	msg_set_name("master");
	msg_set_verbose(opts->verbose);
	master_init(&m, opts);
	if (!master_svc_load(&m, m.config_dir, &m.cfg, &m.services, &error))
		msg_fatal("%s", error);
	cfg_main = m.cfg;
	if (!master_clean_env(m.cfg, &error))
		msg_fatal("%s", error);
	if (opts->test_only) {
		master_svc_free_list(&m.services);
		cfg_free(&m.cfg);
		return 0;
	}
	m.queue_dir = mem_strdup(cfg_str(m.cfg, "queue_directory"));
	m.pid_file = mem_strdup(cfg_str(m.cfg, "master_pid_file"));
	if (!m.foreground)
		ready_fd = master_daemonize();
	master_open_log(&m);
	msg_also_stderr(true);
	umask(022);
	signal(SIGPIPE, SIG_IGN);
	if (!master_svc_queue_dirs(&m, &error))
		msg_fatal("%s", error);
	master_self = &m;
	msg_set_fatal_hook(master_fatal_hook);
	master_lock(&m);
	master_sandbox();
	m.loop = ev_create();
	ev_signal_add(m.loop, SIGHUP, master_sighup, &m);
	ev_signal_add(m.loop, SIGTERM, master_sigterm, &m);
	ev_signal_add(m.loop, SIGINT, master_sigterm, &m);
	master_spawn_init(&m);
	master_start_services(&m);
	/* Only now: "correo start" takes the pid file as "up and ready". */
	master_write_pid(&m);
	if (ready_fd >= 0)
		master_detach(ready_fd);
	ev_run(m.loop);
	master_cleanup(&m);
	return 0;
}
