#ifndef POP3D_POP3_LOGIN_H
#define POP3D_POP3_LOGIN_H

#include <stdbool.h>

#include "login.h"
#include "str.h"

/* The POP3 front end (libexec/pop3-login): the AUTHORIZATION state
 * (CAPA, STLS, USER/PASS, AUTH, QUIT) as a table for the login library
 * (common/login/login.h), which does the rest: many clients per
 * process, TLS, the plaintext policy, limits, auth and the handoff to
 * the mail process (pop3d). */

extern const struct login_proto pop3_login_proto;

/* The CAPA reply's lines (without "+OK" and "."): stls when STLS may be
 * offered, plain_ok when USER and SASL may be used now. Exported for
 * the unit test. */
void pop3_login_capa(bool stls, bool plain_ok, char **mechanisms,
		     struct str *out);

#endif
