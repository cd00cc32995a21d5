/*
 * correo_ctl: "correo start|stop|reload|status".
 *
 * start runs "correo check", then starts $daemon_directory/master -c DIR
 * in a new session and waits (bounded) until master has written its pid
 * file and is alive. stop sends SIGTERM and waits until the process is
 * gone; reload sends SIGHUP. status names the running master and asks
 * each service of services.conf whether its listener accepts a
 * connection.
 *
 * Interface: correo_start_cmd, correo_stop_cmd, correo_reload_cmd,
 * correo_status_cmd (tools/correo.h).
 *
 * SECURITY: run by the admin (root or, in instance mode, the instance's
 * owner). The master inherits nothing but the config directory, a
 * stderr file and the invoker's environment reduced to
 * $import_environment (as "postfix start" does), so not even master's
 * /proc/PID/environ shows the rest. The pid file is only believed when
 * the process lives.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "clean_env.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "str.h"
#include "svc.h"

#include "correo.h"
#include "tool.h"

#define CTL_START_WAIT_MS 10000
#define CTL_STOP_WAIT_MS 15000
#define CTL_POLL_MS 50
#define CTL_CONNECT_MS 1000
#define CTL_TAIL_LINES 15

static void ctl_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Load the config or explain why not. */
static struct cfg *ctl_config(const char *config_dir)
{
	char *error = NULL;
	struct cfg *cfg = tool_load_config(config_dir, &error);

	if (cfg == NULL) {
		tool_complain("%s", error);
		mem_free(error);
	}
	return cfg;
}

static bool ctl_no_args(int argc, char **argv)
{
	if (argc == 1)
		return true;
	fprintf(stderr, "usage: correo [-c DIR] %s\n", argv[0]);
	return false;
}

/* Child side of start: new session, stdin/stdout on /dev/null, stderr on
 * errfd, the environment reduced to env_list, then exec master. */
static void ctl_exec_master(const char *master, const char *config_dir,
			    int errfd, char **env_list)
{
	int null = open("/dev/null", O_RDWR);
	const char *bad;

	if (null < 0 || setsid() < 0)
		_exit(126);
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(errfd, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
	if (errfd > STDERR_FILENO)
		close(errfd);
	if (!clean_env(env_list, &bad)) {
		fprintf(stderr, "correo: import_environment: \"%s\" is not "
			"a variable name (NAME or NAME=VALUE)\n", bad);
		_exit(126);
	}
	execl(master, master, "-c", config_dir, (char *)NULL);
	fprintf(stderr, "correo: cannot run %s: %s\n", master,
		strerror(errno));
	_exit(127);
}

/* Wait until master's pid file names a live process. A master that
 * daemonizes exits 0 in the foreground; one that does not stays our
 * child (and dies with us only if it fails). Returns the pid, or 0 if
 * master died or never came up. */
static pid_t ctl_wait_master(struct cfg *cfg, pid_t child)
{
	long waited;
	int status;
	bool child_gone = false;
	pid_t pid;

	for (waited = 0; waited < CTL_START_WAIT_MS; waited += CTL_POLL_MS) {
		pid = tool_master_pid(cfg);
		if (pid > 0)
			return pid;
		if (!child_gone && waitpid(child, &status, WNOHANG) == child) {
			child_gone = true;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				return 0;
		}
		ctl_sleep_ms(CTL_POLL_MS);
	}
	return 0;
}

static void ctl_show_stderr(FILE *err)
{
	char line[1024];

	rewind(err);
	while (fgets(line, sizeof(line), err) != NULL)
		fprintf(stderr, "  %s", line);
}

/* master's stderr (and so its children's: sanitizer reports, a crash
 * before the log is open) goes to $queue_directory/pid/master.stderr,
 * truncated at each start, so a failure can be shown and a later one
 * read. Falls back to an unlinked temporary file. */
static FILE *ctl_open_stderr(struct cfg *cfg)
{
	const char *queue = tool_cfg_str(cfg, "queue_directory", "");
	FILE *fp = NULL;
	int qfd, dfd = -1, fd = -1;

	/* Neither pid/ nor the file is followed if it is a symlink. */
	qfd = open(queue, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qfd >= 0)
		dfd = openat(qfd, "pid", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			     O_CLOEXEC);
	if (dfd >= 0)
		fd = openat(dfd, "master.stderr", O_RDWR | O_CREAT | O_TRUNC |
			    O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && (fp = fdopen(fd, "r+")) == NULL)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (qfd >= 0)
		close(qfd);
	return fp != NULL ? fp : tmpfile();
}

static int ctl_start(struct cfg *cfg, const char *config_dir)
{
	const char *daemon_dir = tool_cfg_str(cfg, "daemon_directory",
					      PKGLIBEXECDIR);
	char *master = tool_path(daemon_dir, "master");
	FILE *err = ctl_open_stderr(cfg);
	pid_t child;
	pid_t pid;
	int ret = 1;

	if (err == NULL) {
		tool_complain("cannot create a file for master's stderr: %s",
			      strerror(errno));
		goto done;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		tool_complain("fork: %s", strerror(errno));
		goto done;
	}
	if (child == 0)
		ctl_exec_master(master, config_dir, fileno(err),
				cfg_list(cfg, "import_environment"));
	pid = ctl_wait_master(cfg, child);
	if (pid > 0) {
		tool_say("starting the correo mail system");
		ret = 0;
		goto done;
	}
	tool_complain("the correo mail system did not start (%s)", master);
	ctl_show_stderr(err);
	tool_print_tail(tool_cfg_str(cfg, "log_file", ""), CTL_TAIL_LINES);
done:
	if (err != NULL)
		fclose(err);
	mem_free(master);
	return ret;
}

int correo_start_cmd(const char *config_dir, int argc, char **argv)
{
	struct cfg *cfg;
	pid_t pid;
	int problems;
	int ret = 1;

	if (!ctl_no_args(argc, argv))
		return 2;
	if ((cfg = ctl_config(config_dir)) == NULL)
		return 1;
	if ((pid = tool_master_pid(cfg)) > 0) {
		tool_complain("the correo mail system is already running: "
			      "PID: %ld", (long)pid);
		goto done;
	}
	problems = tool_check(config_dir, false);
	if (problems != 0) {
		tool_complain("not starting: fix the problems above "
			      "(\"correo -c %s check\" lists them)",
			      config_dir);
		goto done;
	}
	/* tool_check loaded its own copy and made it cfg_main. */
	cfg_free(&cfg);
	if ((cfg = ctl_config(config_dir)) == NULL)
		return 1;
	ret = ctl_start(cfg, config_dir);
done:
	cfg_main = NULL;
	cfg_free(&cfg);
	return ret;
}

/* "correo start-fg": what "correo start" checks, then this process
 * becomes master -f (Postfix's "postfix start-fg"), so a service manager
 * supervises master itself: its stdout/stderr stay where the manager
 * put them (the journal), and its exit is the service's. */
int correo_start_fg_cmd(const char *config_dir, int argc, char **argv)
{
	struct cfg *cfg;
	const char *bad;
	char *master;
	pid_t pid;

	if (!ctl_no_args(argc, argv))
		return 2;
	if ((cfg = ctl_config(config_dir)) == NULL)
		return 1;
	if ((pid = tool_master_pid(cfg)) > 0) {
		tool_complain("the correo mail system is already running: "
			      "PID: %ld", (long)pid);
		return 1;
	}
	if (tool_check(config_dir, false) != 0) {
		tool_complain("not starting: fix the problems above "
			      "(\"correo -c %s check\" lists them)",
			      config_dir);
		return 1;
	}
	/* tool_check loaded its own copy and made it cfg_main. */
	cfg_free(&cfg);
	if ((cfg = ctl_config(config_dir)) == NULL)
		return 1;
	master = tool_path(tool_cfg_str(cfg, "daemon_directory",
					PKGLIBEXECDIR), "master");
	if (!clean_env(cfg_list(cfg, "import_environment"), &bad)) {
		tool_complain("import_environment: \"%s\" is not a variable "
			      "name (NAME or NAME=VALUE)", bad);
		return 1;
	}
	fflush(NULL);
	execl(master, master, "-f", "-c", config_dir, (char *)NULL);
	tool_complain("cannot run %s: %s", master, strerror(errno));
	return 1;
}

/* Send sig to the running master; 0 and a message if none runs. */
static pid_t ctl_signal(struct cfg *cfg, int sig)
{
	pid_t pid = tool_master_pid(cfg);

	if (pid == 0) {
		tool_complain("the correo mail system is not running");
		return 0;
	}
	if (kill(pid, sig) < 0) {
		tool_complain("cannot signal master (PID %ld): %s", (long)pid,
			      strerror(errno));
		return 0;
	}
	return pid;
}

int correo_stop_cmd(const char *config_dir, int argc, char **argv)
{
	struct cfg *cfg;
	pid_t pid;
	long waited;
	int ret = 1;

	if (!ctl_no_args(argc, argv))
		return 2;
	if ((cfg = ctl_config(config_dir)) == NULL)
		return 1;
	if ((pid = ctl_signal(cfg, SIGTERM)) == 0)
		goto done;
	tool_say("stopping the correo mail system");
	for (waited = 0; waited < CTL_STOP_WAIT_MS; waited += CTL_POLL_MS) {
		if (!tool_pid_alive(pid)) {
			ret = 0;
			goto done;
		}
		ctl_sleep_ms(CTL_POLL_MS);
	}
	tool_complain("master (PID %ld) is still running after %d seconds",
		      (long)pid, CTL_STOP_WAIT_MS / 1000);
done:
	cfg_main = NULL;
	cfg_free(&cfg);
	return ret;
}

int correo_reload_cmd(const char *config_dir, int argc, char **argv)
{
	struct cfg *cfg;
	int ret = 1;

	if (!ctl_no_args(argc, argv))
		return 2;
	if ((cfg = ctl_config(config_dir)) == NULL)
		return 1;
	if (ctl_signal(cfg, SIGHUP) > 0) {
		tool_say("refreshing the correo mail system");
		ret = 0;
	}
	cfg_main = NULL;
	cfg_free(&cfg);
	return ret;
}

/* Non-blocking connect with a deadline; true if it was accepted. */
static bool ctl_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t errlen = sizeof(err);

	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return false;
	if (connect(fd, sa, len) == 0)
		return true;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return false;
	if (poll(&pfd, 1, CTL_CONNECT_MS) != 1)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		return false;
	return err == 0;
}

/* Is some socket listening on TCP port (any address)? Read from
 * /proc/net/tcp{,6} rather than by connecting, so a status check leaves
 * no "lost connection" or failed TLS handshake in the log, and works for
 * users who may not connect. */
static bool ctl_tcp_listening(unsigned port)
{
	static const char *const files[] = { "/proc/net/tcp",
					     "/proc/net/tcp6", NULL };
	char line[512];
	unsigned lport, state;
	bool found = false;
	FILE *fp;

	for (int i = 0; files[i] != NULL && !found; i++) {
		if ((fp = fopen(files[i], "r")) == NULL)
			continue;
		while (!found && fgets(line, sizeof(line), fp) != NULL)
			found = sscanf(line, "%*d: %*[0-9A-Fa-f]:%x %*s %x",
				       &lport, &state) == 2 &&
				lport == port && state == 0x0A;
		fclose(fp);
	}
	return found;
}

static bool ctl_probe_inet(const struct svc *svc)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	unsigned port = 0;

	if (getaddrinfo(NULL, svc->port, &hints, &res) != 0)
		return false;
	if (res->ai_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port);
	else if (res->ai_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)res->ai_addr)->sin6_port);
	freeaddrinfo(res);
	return port != 0 && ctl_tcp_listening(port);
}

static bool ctl_probe_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	bool ok;
	int fd;

	if (!str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path))
		return false;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return false;
	ok = ctl_connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return ok;
}

static void ctl_status_service(struct cfg *cfg, const struct svc *svc)
{
	struct str where = STR_INIT;
	bool ok;

	if (svc->type == SVC_INET) {
		str_printf(&where, "inet %s", svc->name);
		ok = ctl_probe_inet(svc);
	} else {
		str_printf(&where, "%s/%s/%s",
			   tool_cfg_str(cfg, "queue_directory", ""),
			   svc->private_ ? "private" : "public", svc->name);
		ok = ctl_probe_unix(str_c(&where));
		str_clear(&where);
		str_printf(&where, "unix %s/%s",
			   svc->private_ ? "private" : "public", svc->name);
	}
	tool_say("service %s (%s, %s): %s", svc->name, str_c(&where),
		 svc->argv[0], ok ? "accepting connections"
				  : "NOT accepting connections");
	str_release(&where);
}

int correo_status_cmd(const char *config_dir, int argc, char **argv)
{
	struct svc_table *table;
	struct cfg *cfg;
	char *error = NULL;
	pid_t pid;
	int i;

	if (!ctl_no_args(argc, argv))
		return 2;
	if ((cfg = ctl_config(config_dir)) == NULL)
		return 1;
	if ((pid = tool_master_pid(cfg)) == 0) {
		tool_say("the correo mail system is not running");
		cfg_main = NULL;
		cfg_free(&cfg);
		return 1;
	}
	tool_say("the correo mail system is running: PID: %ld", (long)pid);
	if ((table = tool_load_services(config_dir, &error)) == NULL) {
		tool_complain("%s", error);
		mem_free(error);
	} else {
		for (i = 0; i < table->count; i++)
			ctl_status_service(cfg, &table->svcs[i]);
		svc_table_free(&table);
	}
	cfg_main = NULL;
	cfg_free(&cfg);
	return 0;
}
