#ifndef IMAPD_IMAP_LOGIN_H
#define IMAPD_IMAP_LOGIN_H

#include <stdbool.h>

#include "login.h"
#include "str.h"

/* imap-login's protocol table for the login library (login.h). */
extern const struct login_proto imap_login_proto;

/* The pre-login capability list (without "* CAPABILITY "): STARTTLS when
 * it can be started, the AUTH= mechanisms when plaintext is allowed,
 * LOGINDISABLED when not. */
void imap_login_capability(bool starttls, bool plain_ok, char **mechanisms,
			   struct str *out);

#endif
