/*
 * local_command: deliver to "|command" alias targets (local.h).
 *
 * The command runs as "/bin/sh -c CMD" in its own process group with the
 * message (Return-Path and Delivered-To prepended) on stdin and
 * stdout/stderr captured; the first bytes of its output become the
 * bounce reason. It gets command_time_limit seconds in all; then the
 * whole group is killed and the delivery deferred. Exit status 0 is
 * delivered, EX_TEMPFAIL (75) and death by a signal defer, anything else
 * bounces (Postfix's rules).
 *
 * Interface: local_command.
 *
 * SECURITY: the caller has already switched to the user the command
 * runs as (default_privs when local runs as root). The command string
 * comes from an alias table the admin owns. The environment is replaced
 * by a minimal one; SENDER and RECIPIENT are passed there, never
 * interpolated into the command line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local.h"
#include "mem.h"
#include "safe_file.h"

#define LOCAL_OUTPUT_MAX 512
#define LOCAL_EX_TEMPFAIL 75

struct local_pipe {
	struct str input;	/* headers + content, written to stdin */
	size_t written;
	struct str output;	/* first bytes of stdout/stderr */
	int in_fd, out_fd;
};

static void local_child(const struct local_content *c, const char *cmd,
			int in_fd, int out_fd)
{
	struct str env_sender = STR_INIT, env_rcpt = STR_INIT;
	char *envp[6];
	int null_fd;

	(void)setsid();
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(LOCAL_EX_TEMPFAIL);
	null_fd = open("/", O_RDONLY);
	if (null_fd >= 0 && fchdir(null_fd) != 0)
		_exit(LOCAL_EX_TEMPFAIL);
	str_printf(&env_sender, "SENDER=%s", c->sender);
	str_printf(&env_rcpt, "RECIPIENT=%s", c->rcpt);
	envp[0] = "PATH=/usr/bin:/bin";
	envp[1] = "SHELL=/bin/sh";
	envp[2] = "HOME=/";
	envp[3] = env_sender.data;
	envp[4] = env_rcpt.data;
	envp[5] = NULL;
	signal(SIGPIPE, SIG_DFL);
	execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, envp);
	_exit(LOCAL_EX_TEMPFAIL);
}

/* Feed stdin and read output until the command closes its output or the
 * deadline passes. False on timeout. */
static bool local_pump(struct local_pipe *p, time_t deadline)
{
	char buf[4096];

	while (p->out_fd >= 0) {
		struct pollfd pfd[2] = {
			{ .fd = p->out_fd, .events = POLLIN },
			{ .fd = p->in_fd, .events = POLLOUT },
		};
		long left = (long)(deadline - time(NULL));
		ssize_t n;

		if (left <= 0)
			return false;
		if (poll(pfd, p->in_fd >= 0 ? 2 : 1, (int)left * 1000) < 0 &&
		    errno != EINTR)
			return false;
		if (p->in_fd >= 0 && pfd[1].revents != 0) {
			n = write(p->in_fd, p->input.data + p->written,
				  p->input.len - p->written);
			if (n > 0)
				p->written += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    p->written == p->input.len) {
				close(p->in_fd);
				p->in_fd = -1;
			}
		}
		if (pfd[0].revents != 0) {
			n = read(p->out_fd, buf, sizeof(buf));
			if (n > 0 && p->output.len < LOCAL_OUTPUT_MAX)
				str_append_n(&p->output, buf, (size_t)n);
			if (n == 0 || (n < 0 && errno != EAGAIN &&
				       errno != EINTR)) {
				close(p->out_fd);
				p->out_fd = -1;
			}
		}
	}
	return true;
}

/* Wait for pid until the deadline; kill its group after. */
static bool local_reap(pid_t pid, time_t deadline, int *status_r)
{
	for (;;) {
		pid_t ret = waitpid(pid, status_r, WNOHANG);

		if (ret == pid)
			return true;
		if (ret < 0 && errno != EINTR)
			return false;
		if (time(NULL) >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			(void)waitpid(pid, status_r, 0);
			return false;
		}
		usleep(10000);
	}
}

static void local_command_status(struct local_result *res, const char *cmd,
				 int status, struct str *output)
{
	/* Output as one printable line for the log and the bounce. */
	for (size_t i = 0; i < output->len; i++)
		if ((unsigned char)output->data[i] < 0x20)
			output->data[i] = ' ';
	str_truncate(output, output->len > 200 ? 200 : output->len);
	str_rtrim(output);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		local_result_set(res, LOCAL_OK, "2.0.0",
				 "delivered to command: %s", cmd);
	else if (WIFEXITED(status))
		local_result_set(res, WEXITSTATUS(status) == LOCAL_EX_TEMPFAIL ?
				 LOCAL_DEFER : LOCAL_BOUNCE,
				 WEXITSTATUS(status) == LOCAL_EX_TEMPFAIL ?
				 "4.3.0" : "5.3.0",
				 "Command died with status %d: \"%s\"%s%s",
				 WEXITSTATUS(status), cmd,
				 output->len > 0 ? ". Command output: " : "",
				 str_c(output));
	else
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "Command killed by signal %d: \"%s\"",
				 WTERMSIG(status), cmd);
}

void local_command(const struct local_content *c, const char *cmd,
		   long timeout, struct local_result *res)
{
	struct local_pipe p = { STR_INIT, 0, STR_INIT, -1, -1 };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, status = 0;
	time_t deadline = time(NULL) + (timeout > 0 ? timeout : 1000);
	void (*old_pipe)(int);
	pid_t pid;

	/* A command that exits without reading its input must cost an
	 * EPIPE, not the caller's life, whoever the caller is. */
	old_pipe = signal(SIGPIPE, SIG_IGN);

	if (!queue_msg_content(c->msg, &p.input, SIZE_MAX)) {
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "cannot read queue file: %s", strerror(errno));
		goto out;
	}
	/* Headers first: build them in front of the content. */
	{
		struct str all = STR_INIT;

		str_printf(&all, "Return-Path: <%s>\nDelivered-To: %s\n",
			   c->sender, c->rcpt);
		str_append_n(&all, p.input.data, p.input.len);
		str_release(&p.input);
		p.input = all;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		local_result_set(res, LOCAL_DEFER, "4.3.0", "pipe: %s",
				 strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		local_result_set(res, LOCAL_DEFER, "4.3.0", "fork: %s",
				 strerror(errno));
		goto out;
	}
	if (pid == 0)
		local_child(c, cmd, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	p.in_fd = in[1];
	p.out_fd = out[0];
	(void)fcntl(p.in_fd, F_SETFL, O_NONBLOCK);
	if (!local_pump(&p, deadline) || !local_reap(pid, deadline, &status)) {
		kill(-pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		local_result_set(res, LOCAL_DEFER, "4.3.0",
				 "Command time limit exceeded: \"%s\"", cmd);
	} else {
		local_command_status(res, cmd, status, &p.output);
	}
	in[1] = p.in_fd;
	out[0] = p.out_fd;
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	str_release(&p.input);
	str_release(&p.output);
	signal(SIGPIPE, old_pipe);
}
