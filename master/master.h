#ifndef MASTER_MASTER_H
#define MASTER_MASTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "cfg.h"
#include "ev.h"
#include "msg.h"
#include "svc.h"

/* The supervisor: libmaster is everything but main(), so tests can link
 * it. master.c runs the loop (startup, signals, reload, stop),
 * master_svc.c turns services.conf rows into services with listeners,
 * master_spawn.c starts, counts, reaps and throttles the children. */

/* Seconds a stopping master waits for its children before SIGKILL. */
#define MASTER_STOP_GRACE 10
/* Listening sockets per service (a host name may have many addresses). */
#define MASTER_MAX_LISTEN 64

/* One services.conf row, resolved against correo.conf. */
struct master_service {
	char *key;		/* svc_key(): the row's identity */
	char *listen_id;	/* what its listeners are bound to */
	char *name;		/* the service column, for -s and messages */
	enum svc_type type;
	char *path;		/* the program to exec */
	char **argv;		/* its argv, NULL terminated */
	char *sock_path;	/* unix: relative to $queue_directory */
	char *host;		/* inet: NULL for every address */
	char *port;		/* inet */
	char *where;		/* "FILE:LINE", for messages */
	long wakeup;		/* seconds, 0 none */
	long maxproc;		/* 0 no limit */
	int *fds;		/* listening sockets */
	int nfds;
	int nproc;		/* children alive */
	int navail;		/* children alive and idle */
	/* The service's own status pipe: master's end, and the end its
	 * children get as fd 3. */
	int status_rd;
	int status_wr;
	unsigned long forged;	/* reports about other services' children */
	long long forged_logged_ms;
	bool throttled;		/* bad startup: no restarts for a while */
	bool stale;		/* replaced or removed by a reload */
	struct ev_timer *throttle_timer;
	struct ev_timer *wakeup_timer;
	struct master *master;
	struct master_service *next;
};

struct master_child {
	pid_t pid;
	struct master_service *service;
	bool busy;
	bool signalled;		/* master itself sent SIGTERM/SIGKILL */
	unsigned long use_count;	/* clients served (BUSY reports) */
	long long start_ms;
	struct master_child *next;
};

struct master {
	char *config_dir;
	bool foreground;
	int verbose;
	bool instance;		/* not root: every user is the invoker */
	char *invoker;		/* the invoking user's name, or NULL */
	struct cfg *cfg;	/* == cfg_main */
	char *queue_dir;
	uid_t owner_uid;	/* $mail_owner, for what master creates */
	gid_t owner_gid;
	struct master_service *services;
	struct master_child *children;
	struct ev_loop *loop;
	int queue_fd;		/* $queue_directory, the working dir */
	int private_fd;		/* its private/ and public/ */
	int public_fd;
	int lock_fd;
	char *pid_file;
	bool stopping;
	struct ev_timer *stop_timer;
};

struct master_opts {
	const char *config_dir;
	bool foreground;
	bool test_only;		/* -t: check the configuration, exit */
	int verbose;
};

/* master.c: run the master; returns the exit status. */
int master_main(const struct master_opts *opts);

/* master_svc.c */
/* At start (on), bind waits a while for an address still in use. */
void master_svc_patient(bool on);
/* Format an allocated message into *error_r. */
void master_set_error(char **error_r, const char *fmt, ...)
	MSG_PRINTF(2, 3);
/* Read correo.conf and services.conf from dir. Returns false with an
 * allocated message in *error_r; on success *cfg_r and *services_r are
 * new (services without listeners yet). */
bool master_svc_load(struct master *m, const char *dir, struct cfg **cfg_r,
		     struct master_service **services_r, char **error_r);
/* Open the service's listening sockets. */
bool master_svc_listen(struct master *m, struct cfg *cfg,
		       struct master_service *s, char **error_r);
/* Close its listeners (and remove a unix socket's name when unlink). */
void master_svc_close(struct master_service *s, bool unlink_socket);
void master_svc_free(struct master_service **s);
void master_svc_free_list(struct master_service **list);
/* Create $queue_directory and the directories master needs in it. */
bool master_svc_queue_dirs(struct master *m, char **error_r);

/* master_spawn.c */
void master_spawn_init(struct master *m);
/* Close a service's status pipe (when the service is freed). */
void master_spawn_status_close(struct master_service *s);
/* Start children until the service has an idle one (within maxproc,
 * unless throttled). */
void master_spawn_fill(struct master_service *s);
/* Signal every child (of s, or all when s is NULL). */
void master_spawn_signal(struct master *m, struct master_service *s,
			 int signo);
/* Reap what exited; also called from the SIGCHLD handler. */
void master_spawn_reap(struct master *m);
/* Start the wakeup timer of a service (if it has one), cancel timers. */
void master_spawn_wakeup(struct master_service *s);
void master_spawn_cancel_timers(struct master_service *s);
int master_spawn_count(const struct master *m);

#endif
