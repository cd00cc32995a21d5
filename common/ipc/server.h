#ifndef COMMON_SERVER_H
#define COMMON_SERVER_H

#include <stdbool.h>

#include "attr.h"
#include "cfg.h"
#include "ev.h"
#include "sandbox.h"

/* The skeleton every daemon's main() calls (STYLE.md).
 *
 * master starts a daemon as
 *
 *   DAEMON -c CONFIG_DIR -s SERVICE -t inet|unix [-u USER] [-r]
 *          [-o key=value ...] [-v] [args from services.conf]
 *
 * with fd SERVER_STATUS_FD the write end of its service's status pipe
 * (one per service: master believes a report only about a child of the
 * service whose pipe carried it) and the listening sockets at
 * SERVER_LISTEN_FD, SERVER_LISTEN_FD + 1, ... (their count in the
 * environment variable CORREO_LISTEN_FDS, the rest of the environment
 * reduced to $import_environment). server_main then:
 * parses the options, loads the config, sets up logging, chdir to
 * $queue_directory, runs pre_init (privileged: open keys and tables),
 * chroots (-r), drops to USER (verified; in instance mode the invoking
 * user is kept), runs post_init (and event_init), enters the daemon's
 * sandbox (below) and serves:
 *
 *   SERVER_SINGLE: accept one client on any listening fd, report BUSY on
 *     the status pipe, call serve(fd), report IDLE. Exit after $max_use
 *     clients or $max_idle seconds without one. (smtpd, local, pop3d.)
 *   SERVER_EVENT: hand the listening fds and an event loop to event_init
 *     and run the loop (qmgr, pickup, long-lived multiplexers).
 *
 * SIGTERM: exit now. SIGUSR1 (master's graceful reload): finish the
 * client being served, then exit. A daemon run by hand without master
 * (no CORREO_LISTEN_FDS) refuses to start with a clear message. */

#define SERVER_STATUS_FD 3
#define SERVER_LISTEN_FD 4
#define SERVER_ENV_LISTEN_FDS "CORREO_LISTEN_FDS"

/* Status pipe messages, child -> master. */
enum server_status_code {
	SERVER_STATUS_IDLE = 1,		/* ready to accept a client */
	SERVER_STATUS_BUSY = 2,		/* serving a client */
};

struct server_status_msg {
	int pid;
	int code;
};

enum server_mode {
	SERVER_SINGLE,
	SERVER_EVENT,
};

struct server_spec {
	const char *name;
	enum server_mode mode;
	/* SERVER_SINGLE: serve one connected client; close it when done
	 * (or leave it: the skeleton closes fd after serve returns). */
	void (*serve)(int fd, void *ctx);
	/* SERVER_EVENT: register the listening fds with loop. */
	void (*event_init)(struct ev_loop *loop, const int *fds, int nfds,
			   void *ctx);
	void (*pre_init)(void *ctx);	/* privileged */
	void (*post_init)(void *ctx);	/* unprivileged */
	/* Keep root (e.g. local switches to each mailbox owner itself).
	 * Only CAP_SETUID and CAP_SETGID survive the init, and files are
	 * reached as $mail_owner (sandbox_keep_setid). */
	bool privileged;
	/* Entered once init is done (sandbox.h): NoNewPrivs always, the
	 * seccomp allowlist and Landlock unless "sandbox = no". NULL:
	 * NoNewPrivs only. */
	const struct sandbox_profile *sandbox;
	void *ctx;
};

int server_main(int argc, char **argv, const struct server_spec *spec);

/* What server_main learned, for the daemon's use. */
extern const char *server_service_name;	/* -s */
extern char **server_args;		/* services.conf args after options */
extern int server_nargs;
extern bool server_instance_mode;	/* not started as root */

/* Tell master this process is BUSY (takes no more clients) or IDLE
 * again: for SERVER_EVENT daemons that serve many clients each (the
 * login front ends), so master adds a process when all are full. */
void server_report_status(enum server_status_code code);

/* True once SIGUSR1/SIGTERM asked the daemon to finish. */
bool server_stopping(void);

/* Serve one client of an internal request protocol (attr.h): send the
 * protocol hello, then read requests (strictly, per spec) and answer
 * each with handle's reply until the client closes, a read times out
 * (timeout seconds), or the daemon is asked to stop. Each request runs
 * under an alarm of daemon_timeout seconds (0: none). A malformed
 * request is logged and ends the connection. Closes fd. */
struct server_attr_service {
	const char *protocol;
	const struct attr_spec *spec;
	int timeout;
	long daemon_timeout;
	void (*handle)(const struct attr_list *req, struct attr_list *reply);
};

void server_attr_serve(int fd, const struct server_attr_service *svc);

/* Send a one-byte trigger to a Unix socket (e.g. "private/qmgr").
 * A full backlog counts as sent: triggers are already pending there.
 * Returns false with errno set. */
bool server_trigger(const char *socket_path, char code);
/* The same over one connection the process keeps (reconnecting when the
 * service went away), for a process that triggers once a message: a
 * full socket buffer counts as sent too. */
bool server_trigger_kept(const char *socket_path, char code);

#endif
