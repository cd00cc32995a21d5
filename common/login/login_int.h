#ifndef COMMON_LOGIN_INT_H
#define COMMON_LOGIN_INT_H

#include <netinet/in.h>
#include <stdbool.h>

#include <openssl/ssl.h>

#include "attr.h"
#include "ev.h"
#include "lio.h"
#include "str.h"
#include "tls.h"

#include "login.h"

/* Internals of the front-end library shared by its files. */

#define LOGIN_ADDR_MAX INET6_ADDRSTRLEN

enum login_state {
	LOGIN_CMD,		/* reading commands */
	LOGIN_TLS_PENDING,	/* flushing the go-ahead, then handshake */
	LOGIN_HANDSHAKE,	/* TLS handshake running */
	LOGIN_AUTH_WAIT,	/* a request to auth is out */
	LOGIN_AUTH_RESPONSE,	/* waiting for the client's SASL answer */
	LOGIN_HANDOFF,		/* flushing, then to the spawner */
	LOGIN_PROXY,		/* logged in over TLS: relaying */
	LOGIN_CLOSING,		/* flushing the last reply */
};

struct login_auth_conn;

struct login_client {
	struct login_client *prev, *next;
	int fd;
	SSL *ssl;
	enum login_state state;
	struct str in, out;
	struct ev_timer *deadline;
	int errors, commands;
	bool secure_addr;	/* loopback: plaintext allowed */
	bool anvil_registered;	/* anvil counts this connection */
	bool skipping;		/* discarding an over-long line */
	bool ssl_want_write;	/* SSL_read needs the socket writable */
	bool in_watch;		/* in the processing loop: no free */
	bool dead;		/* free when the loop unwinds */
	struct login_auth_conn *auth;
	bool auth_cancelled;	/* the client answered "*" */
	char *mech;
	char *cookie, *user;	/* auth's ok, until the handoff */
	char *handoff_data;	/* for the mail process (an IMAP tag) */
	char addr[LOGIN_ADDR_MAX], local[LOGIN_ADDR_MAX];
	void *pctx;
	/* LOGIN_PROXY: our end of the mail process's socketpair, and the
	 * bytes read from it not yet written to the client (out) or read
	 * from the client not yet written to it (in). */
	int pair;
	bool client_eof, pair_eof;
};

struct login_server {
	const struct login_proto *proto;
	struct login_settings set;
	struct ev_loop *loop;
	struct tls_ctx *tls;
	const int *fds;
	int nfds;
	bool accepting;
	bool spawner_broken;
	bool draining;		/* SIGUSR1: finish, take no more */
	int nclients;
	struct login_client *clients;
	struct lio *spawner;	/* blocking, with a timeout */
	struct login_auth_conn *idle_auth;
	int nidle_auth;
	int nbusy_auth;		/* auth connections in use */
};

extern struct login_server login_server;

/* login_limit.c: per-client connection limits through anvil. init in
 * pre_init (before the chroot); connect at accept: false to refuse the
 * client (over a limit; logged), *registered_r says whether disconnect
 * must follow at the end. */
void login_limit_init(void);
bool login_limit_connect(const char *addr, bool *registered_r);
void login_limit_disconnect(const char *addr);

/* login_client.c */
void login_client_accept(int fd);
/* End c (now, or when its current step is over). */
void login_client_free(struct login_client *c);
/* (Re)compute the events c waits for. */
void login_client_watch(struct login_client *c);
/* Run a step for c from outside its own events (an auth reply, the
 * proxy): flush, read, run buffered lines; c may be freed. */
void login_client_wake(struct login_client *c);
/* Run the lines buffered in c->in (after an auth reply, say). */
void login_client_resume(struct login_client *c);
/* Write what can be written without blocking; false on a dead peer. */
bool login_client_flush(struct login_client *c);
/* Accept more clients again, or stop, after the count changed. */
void login_server_update(void);

/* login_auth.c */
/* The next line from a client inside a SASL exchange. */
void login_auth_response(struct login_client *c, const char *line);
/* The client is going away: drop its exchange. */
void login_auth_abort(struct login_client *c);
/* After a success, once the output is flushed: give the client to the
 * spawner. */
void login_auth_handoff(struct login_client *c);
void login_auth_free_idle(void);

/* login_proxy.c */
void login_proxy_start(struct login_client *c, int pair);
void login_proxy_stop(struct login_client *c);

/* Parse one whole attribute list from the front of in, if there is one:
 * 1 parsed (and consumed), 0 not yet whole, -1 malformed. */
int login_attr_take(struct str *in, struct attr_list *list,
		    const struct attr_spec *spec, const char **error_r);

/* One blocking request to the spawner with a descriptor (or -1)
 * attached; the reply's descriptor in *fd_r (NULL: none expected). */
bool login_spawner_request(const struct attr_list *req, int fd,
			   struct attr_list *reply, int *fd_r);

/* login_config.c: the protocol as correo-metrics(8) labels it: "imap",
 * "imaps" (TLS from the first byte), "pop3", "pop3s". */
const char *login_metrics_label(void);

#endif
