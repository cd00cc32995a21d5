#ifndef POP3D_POP3_LOGIN_INT_H
#define POP3D_POP3_LOGIN_INT_H

#include <stdbool.h>

#include "lio.h"
#include "str.h"
#include "tls.h"

#include "pop3_login.h"

/* Internals of the front end shared by its files. */

struct pop3_login {
	struct pop3_login_config *cfg;
	int fd;
	struct lio *lio;
	struct tls_conn *tls;
	char addr[64];
	struct str user;	/* from USER, until PASS */
	int errors;
	bool done;		/* QUIT, or the connection failed */
	bool handed_off;	/* the mail process has the client */
	int pair;		/* TLS: our end of the mail process's pair */
};

void pop3_login_reply(struct pop3_login *s, const char *text);
bool pop3_login_skip_line(struct lio *lio, struct str *line);

/* Run one SASL exchange through the pop3d service (initial may be NULL;
 * "=" is an empty initial response). On success the client is handed to
 * the mail process and s->handed_off is set; otherwise the -ERR reply is
 * queued. */
void pop3_login_auth(struct pop3_login *s, const char *mech,
		     const char *initial, bool sasl);

/* TLS: relay between the client and the mail process until either side
 * closes. */
void pop3_login_proxy(struct pop3_login *s);

#endif
