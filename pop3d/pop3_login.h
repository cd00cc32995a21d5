#ifndef POP3D_POP3_LOGIN_H
#define POP3D_POP3_LOGIN_H

#include <stdbool.h>

#include "lio.h"
#include "str.h"
#include "tls.h"

/* The POP3 front end (libexec/pop3-login): everything before login.
 *
 * It speaks the AUTHORIZATION state (CAPA, STLS, USER/PASS, AUTH, QUIT)
 * as an unprivileged user in an empty chroot, relays credentials to the
 * pop3d service (which asks auth), and on success hands the client to the
 * mail process: the socket itself for plain connections, or one end of a
 * socketpair it then proxies TLS through. */

struct pop3_login_config {
	int timeout;			/* seconds */
	bool plaintext_disabled;	/* no USER/PASS/AUTH without TLS */
	bool tls_wrapper;		/* implicit TLS (port 995) */
	struct tls_ctx *tls;		/* NULL: no STLS */
	char **mechanisms;		/* SASL mechanisms offered */
	struct lio *pop3d;		/* connection to private/pop3d */
	bool pop3d_hello;		/* handshake done */
	bool pop3d_broken;		/* exit after this client */
};

/* Serve one client connection (the SERVER_SINGLE serve callback). */
void pop3_login_serve(int fd, void *ctx);

/* Daemon set-up: pre_init opens TLS keys and the pop3d connection and
 * moves into the empty directory that -r makes the chroot. */
void pop3_login_pre_init(void *ctx);

/* The CAPA reply's lines (without "+OK" and "."), for the state given;
 * exported for the unit test. */
void pop3_login_capa(const struct pop3_login_config *cfg, bool tls,
		     struct str *out);

#endif
