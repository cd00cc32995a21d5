#ifndef COMMON_MSG_H
#define COMMON_MSG_H

#include <stdarg.h>
#include <stdbool.h>

/* Logging. One line per event; callers put the queue ID first when there is
 * one ("4Xk2...: from=<a@b>, size=12, nrcpt=1").
 *
 * By default lines go to syslog (LOG_MAIL) under the process name
 * "correo/NAME". msg_open_file() sends them to a file instead (instance
 * mode), msg_open_stderr() to stderr (tools, tests). */

enum msg_level {
	MSG_INFO,
	MSG_WARN,
	MSG_ERROR,
	MSG_FATAL,
	MSG_PANIC,
};

#define MSG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set the program name used as syslog ident / file prefix ("smtpd"). */
void msg_set_name(const char *name);
const char *msg_get_name(void);
/* Log to syslog, facility LOG_MAIL (the default). */
void msg_open_syslog(void);
/* Append to PATH (opened O_APPEND, one write per line so concurrent
 * processes interleave whole lines). Returns false and sets errno. */
bool msg_open_file(const char *path);
void msg_open_stderr(void);
/* Log to fd, an open log file (inherited by a process that could not
 * open the file itself). */
void msg_open_fd(int fd);
/* The log file's descriptor, or -1 when not logging to a file. */
int msg_file_fd(void);
/* Also copy every line to stderr (for foreground runs). */
void msg_also_stderr(bool enable);
/* Enable msg_debug output. */
void msg_set_verbose(int level);
extern int msg_verbose;

void msg_info(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) MSG_PRINTF(1, 2);
void msg_error(const char *fmt, ...) MSG_PRINTF(1, 2);
/* Configuration or environment trouble: log and exit(1). */
void msg_fatal(const char *fmt, ...) MSG_PRINTF(1, 2)
	__attribute__((noreturn));
/* A broken invariant: log and abort() for a core. */
void msg_panic(const char *fmt, ...) MSG_PRINTF(1, 2)
	__attribute__((noreturn));
void msg_debug(const char *fmt, ...) MSG_PRINTF(1, 2);
/* This process's pid, asked of the kernel once and again after a fork
 * (glibc does not cache it; log lines, queue IDs and Maildir names
 * want it per message). */
long msg_getpid(void);

void msg_vlog(enum msg_level level, const char *fmt, va_list ap);

/* Run before exit in msg_fatal (e.g. to flush or remove a pid file).
 * Tests use it to turn fatal into a longjmp. */
void msg_set_fatal_hook(void (*hook)(void));

#endif
