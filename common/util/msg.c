/*
 * msg: the logging interface every process uses (msg.h).
 *
 * Lines are formatted into a bounded buffer and written with one write(2)
 * so that lines from concurrent processes sharing a log file never mix.
 *
 * SECURITY: messages may contain client-supplied text; control characters
 * are replaced before the line is written so a client cannot forge log
 * lines.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

enum msg_dest { MSG_DEST_SYSLOG, MSG_DEST_FILE, MSG_DEST_STDERR };

static char msg_name[64] = "correo";
static enum msg_dest msg_dest = MSG_DEST_STDERR;
static int msg_fd = -1;
static bool msg_stderr_copy;
static bool msg_syslog_open;
static void (*msg_fatal_hook)(void);
int msg_verbose;

void msg_set_name(const char *name)
{
	snprintf(msg_name, sizeof(msg_name), "%s", name);
	if (msg_syslog_open) {
		closelog();
		msg_syslog_open = false;
	}
}

const char *msg_get_name(void)
{
	return msg_name;
}

void msg_open_syslog(void)
{
	static char ident[80];

	snprintf(ident, sizeof(ident), "correo/%s", msg_name);
	if (msg_syslog_open)
		closelog();
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	msg_syslog_open = true;
	msg_dest = MSG_DEST_SYSLOG;
}

bool msg_open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		return false;
	if (msg_fd >= 0)
		close(msg_fd);
	msg_fd = fd;
	msg_dest = MSG_DEST_FILE;
	return true;
}

void msg_open_fd(int fd)
{
	if (msg_fd >= 0 && msg_fd != fd)
		close(msg_fd);
	msg_fd = fd;
	msg_dest = MSG_DEST_FILE;
}

int msg_file_fd(void)
{
	return msg_dest == MSG_DEST_FILE ? msg_fd : -1;
}

void msg_open_stderr(void)
{
	msg_dest = MSG_DEST_STDERR;
}

void msg_also_stderr(bool enable)
{
	msg_stderr_copy = enable;
}

void msg_set_verbose(int level)
{
	msg_verbose = level;
}

void msg_set_fatal_hook(void (*hook)(void))
{
	msg_fatal_hook = hook;
}

static const char *msg_level_prefix(enum msg_level level)
{
	switch (level) {
	case MSG_INFO:
		return "";
	case MSG_WARN:
		return "warning: ";
	case MSG_ERROR:
		return "error: ";
	case MSG_FATAL:
		return "fatal: ";
	case MSG_PANIC:
		return "panic: ";
	}
	return "";
}

static int msg_syslog_priority(enum msg_level level)
{
	switch (level) {
	case MSG_INFO:
		return LOG_INFO;
	case MSG_WARN:
		return LOG_WARNING;
	case MSG_ERROR:
		return LOG_ERR;
	case MSG_FATAL:
		return LOG_CRIT;
	case MSG_PANIC:
		return LOG_ALERT;
	}
	return LOG_INFO;
}

/* Replace control characters so client text cannot split a log line. */
static void msg_sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			*s = '?';
	}
}

static void msg_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* "Mon dd hh:mm:ss"; localtime_r and strftime run once per second, not
 * once per line (a busy smtpd logs several lines per message). */
static size_t msg_stamp(char *buf, size_t size)
{
	static time_t cached_sec = -1;
	static char cached[32];
	static size_t cached_len;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		localtime_r(&ts.tv_sec, &tm);
		cached_len = strftime(cached, sizeof(cached), "%b %e %H:%M:%S",
				      &tm);
		cached_sec = ts.tv_sec;
	}
	if (cached_len >= size)
		return 0;
	memcpy(buf, cached, cached_len + 1);
	return cached_len;
}

/* The pid for log lines, asked once per process (glibc does not cache
 * it, and a busy daemon logs a few lines a message); fork(3) forgets it
 * in the child. */
static pid_t msg_pid;

static void msg_pid_forget(void)
{
	msg_pid = 0;
}

long msg_getpid(void)
{
	static bool hooked;

	if (!hooked) {
		hooked = pthread_atfork(NULL, NULL, msg_pid_forget) == 0;
		if (!hooked)
			return (long)getpid();
	}
	if (msg_pid == 0)
		msg_pid = getpid();
	return (long)msg_pid;
}

void msg_vlog(enum msg_level level, const char *fmt, va_list ap)
{
	char text[2048];
	char line[2304];
	char stamp[32];
	int saved_errno = errno;
	int n;

	vsnprintf(text, sizeof(text), fmt, ap);
	msg_sanitize(text);
	if (msg_dest == MSG_DEST_SYSLOG)
		syslog(msg_syslog_priority(level), "%s%s",
		       msg_level_prefix(level), text);
	if (msg_dest == MSG_DEST_FILE || msg_dest == MSG_DEST_STDERR ||
	    msg_stderr_copy) {
		msg_stamp(stamp, sizeof(stamp));
		n = snprintf(line, sizeof(line), "%s correo/%s[%ld]: %s%s\n",
			     stamp, msg_name, msg_getpid(),
			     msg_level_prefix(level), text);
		if (n < 0)
			n = 0;
		if ((size_t)n >= sizeof(line)) {
			n = sizeof(line) - 1;
			line[n - 1] = '\n';
		}
		if (msg_dest == MSG_DEST_FILE)
			msg_write_all(msg_fd, line, (size_t)n);
		if (msg_dest == MSG_DEST_STDERR || msg_stderr_copy)
			msg_write_all(STDERR_FILENO, line, (size_t)n);
	}
	errno = saved_errno;
}

#define MSG_DEFINE(fn, level)                   \
	void fn(const char *fmt, ...)           \
	{                                       \
		va_list ap;                     \
		va_start(ap, fmt);              \
		msg_vlog(level, fmt, ap);       \
		va_end(ap);                     \
	}

MSG_DEFINE(msg_info, MSG_INFO)
MSG_DEFINE(msg_warn, MSG_WARN)
MSG_DEFINE(msg_error, MSG_ERROR)

void msg_debug(const char *fmt, ...)
{
	va_list ap;

	if (msg_verbose == 0)
		return;
	va_start(ap, fmt);
	msg_vlog(MSG_INFO, fmt, ap);
	va_end(ap);
}

void msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_FATAL, fmt, ap);
	va_end(ap);
	if (msg_fatal_hook != NULL)
		msg_fatal_hook();
	exit(1);
}

void msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vlog(MSG_PANIC, fmt, ap);
	va_end(ap);
	abort();
}
