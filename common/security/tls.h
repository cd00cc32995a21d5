#ifndef COMMON_TLS_H
#define COMMON_TLS_H

#include <stdbool.h>

#include "cfg.h"
#include "lio.h"
#include "str.h"

/* TLS over lio (OpenSSL 3). A context is made once per process (in
 * pre_init, while the key files are still readable), a connection per
 * client. After the handshake the connection installs itself as lio's
 * I/O layer, so protocol code keeps using lio_read_line/lio_write.
 *
 * Server side: a default certificate chain and key, optional SNI
 * certificates (a caller's lookup "name -> keyfile certfile"), minimum protocol
 * TLS 1.2 unless configured otherwise, a modern cipher list, and session
 * resumption with tickets whose keys are derived from a key file per
 * service and rotated (tls_ticket.h): the processes of one service
 * resume each other's sessions, another service refuses them. */

struct tls_settings {
	const char *cert_file;		/* PEM chain, leaf first */
	const char *key_file;		/* PEM key; "" = in cert_file */
	const char *min_protocol;	/* "TLSv1.2" (default), "TLSv1.3" */
	const char *ciphers;		/* TLS <= 1.2 list; "" = default */
	/* SNI (server side): the caller's table, so this layer links no
	 * lookup code. 1 with "keyfile certfile" in value_r, 0 unknown
	 * name, -1 error. NULL: no SNI certificates. */
	int (*sni_lookup)(const char *name, struct str *value_r,
			  void *sni_ctx);
	void *sni_ctx;
	const char *ticket_key_file;	/* 80 random bytes or "" */
	const char *ca_file;		/* client: trust anchors; "" = system */
	/* Server: whose sessions (the services.conf row; "" = none named)
	 * and how many seconds each ticket key encrypts (0 = 3600). */
	const char *ticket_service;
	long ticket_rotation;
};

struct tls_ctx;
struct tls_conn;

/* A server's settings from cfg's tls_* keys, for service (the
 * services.conf row, server_service_name): no ticket key file means no
 * tickets. The strings point into cfg. False, with errno from stat, if
 * the certificate file does not exist (the caller decides whether that
 * is fatal). */
bool tls_server_settings(struct cfg *cfg, const char *service,
			 struct tls_settings *set_r);

struct tls_ctx *tls_server_ctx(const struct tls_settings *set,
			       char **error_r);
struct tls_ctx *tls_client_ctx(const struct tls_settings *set,
			       char **error_r);
void tls_ctx_free(struct tls_ctx **ctx);
/* The OpenSSL context, for event-driven callers that run their own
 * non-blocking SSL objects (the login front ends); SNI and ticket
 * callbacks are already installed on it. */
struct ssl_ctx_st *tls_ctx_ssl(const struct tls_ctx *ctx);

/* Handshake on lio's fd within timeout seconds; on success the lio talks
 * TLS from now on. Any input buffered in lio before the call is
 * discarded first (CVE-2011-0411: nothing sent before the handshake may
 * be taken as sent after it). NULL with a static reason on failure. */
struct tls_conn *tls_server_start(struct tls_ctx *ctx, struct lio *lio,
				  int timeout, const char **error_r);
/* servername: SNI and, with verify, the name checked in the
 * certificate. */
struct tls_conn *tls_client_start(struct tls_ctx *ctx, struct lio *lio,
				  const char *servername, bool verify,
				  int timeout, const char **error_r);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" */
const char *tls_conn_info(const struct tls_conn *conn);
bool tls_conn_verified(const struct tls_conn *conn);
/* Send close_notify and detach from lio (which keeps the fd). */
void tls_conn_free(struct tls_conn **conn, struct lio *lio);
/* One last record (a final 421) after the lio failed, e.g. timed out:
 * a single attempt that never blocks. False if it did not go out. */
bool tls_conn_write_final(struct tls_conn *conn, const void *buf,
			  size_t len);

/* Make a self-signed certificate for hostname (EC P-256, 10 years) and
 * write the key (0600) and certificate. */
bool tls_make_selfsigned(const char *cert_file, const char *key_file,
			 const char *hostname, char **error_r);
/* Write 80 random bytes for session tickets (0600). */
bool tls_make_ticket_key(const char *path, char **error_r);
/* Describe a chain for "correo tls check": subject, issuer, expiry, and
 * whether the key matches. False if the files are unusable. */
bool tls_describe(const char *cert_file, const char *key_file,
		  struct str *out);

#endif
