/*
 * auth_cookie: one-time login cookies (auth.h, proto.h).
 *
 * A successful login of a user with a mailbox gets a random cookie that
 * stands for auth's verdict: user, mailbox, uid, gid and the service it
 * was made for. The front end passes it on with the client; the
 * mail-process spawner redeems it here, once, within
 * AUTH_COOKIE_LIFETIME seconds, and starts the mail process for what
 * auth says, whatever the front end claims (Dovecot's auth-master
 * userdb lookup plays this part).
 *
 * XXX: a linear table of at most AUTH_COOKIE_MAX entries; a cookie lives
 * only the few milliseconds between the login and the spawner's redeem,
 * so it stays nearly empty.
 *
 * SECURITY: runs in auth (correo-auth). Cookies are 256 bits from
 * getrandom and compared in constant time; a redeem is answered only
 * to a root peer (in instance mode, to our own user), so a compromised
 * front end cannot learn mailbox paths or uids with the cookies it
 * sees. Every cookie is wiped when it is used or expires.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "mem.h"
#include "msg.h"
#include "proto.h"
#include "sasl.h"
#include "server.h"

#define AUTH_COOKIE_BYTES 32
#define AUTH_COOKIE_HEX (AUTH_COOKIE_BYTES * 2)
#define AUTH_COOKIE_MAX 4096

struct auth_cookie {
	char hex[AUTH_COOKIE_HEX + 1];
	char *user, *mailbox, *service, *quota;
	uid_t uid;
	gid_t gid;
	time_t expires;
};

static struct auth_cookie *auth_cookies;
static size_t auth_ncookies;

static void auth_cookie_drop(size_t i)
{
	struct auth_cookie *k = &auth_cookies[i];

	mem_free(k->user);
	mem_free(k->mailbox);
	mem_free(k->service);
	mem_free(k->quota);
	explicit_bzero(k, sizeof(*k));
	auth_cookies[i] = auth_cookies[--auth_ncookies];
	explicit_bzero(&auth_cookies[auth_ncookies], sizeof(*k));
}

void auth_cookie_expire(void)
{
	time_t now = time(NULL);
	size_t i = 0;

	while (i < auth_ncookies) {
		if (auth_cookies[i].expires <= now)
			auth_cookie_drop(i);
		else
			i++;
	}
}

void auth_cookie_issue(struct attr_list *reply, const char *user,
		       const struct auth_mailbox *mb, const char *service)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[AUTH_COOKIE_BYTES];
	struct auth_cookie *k;

	if (auth_cookies == NULL)
		auth_cookies = mem_alloc(AUTH_COOKIE_MAX *
					 sizeof(*auth_cookies));
	auth_cookie_expire();
	if (auth_ncookies >= AUTH_COOKIE_MAX) {
		msg_warn("auth: %d login cookies not redeemed; dropping one",
			 AUTH_COOKIE_MAX);
		auth_cookie_drop(0);
	}
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		msg_fatal("getrandom: %m");
	k = &auth_cookies[auth_ncookies++];
	for (size_t i = 0; i < sizeof(raw); i++) {
		k->hex[2 * i] = digits[raw[i] >> 4];
		k->hex[2 * i + 1] = digits[raw[i] & 15];
	}
	k->hex[AUTH_COOKIE_HEX] = '\0';
	explicit_bzero(raw, sizeof(raw));
	k->user = mem_strdup(user);
	k->mailbox = mem_strdup(mb->path);
	k->quota = mb->quota != NULL ? mem_strdup(mb->quota) : NULL;
	k->service = mem_strdup(service != NULL ? service : "");
	k->uid = mb->uid;
	k->gid = mb->gid;
	k->expires = time(NULL) + AUTH_COOKIE_LIFETIME;
	attr_add(reply, PROTO_ATTR_COOKIE, k->hex);
}

/* Is the peer allowed to redeem: root, or (instance mode) ourselves? */
static bool auth_cookie_peer_ok(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		msg_warn("auth: SO_PEERCRED: %m");
		return false;
	}
	if (cred.uid == 0)
		return true;
	return server_instance_mode && cred.uid == getuid();
}

static void auth_cookie_fail(struct attr_list *reply, const char *why)
{
	attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_FAIL);
	attr_add(reply, PROTO_ATTR_REASON, why);
}

void auth_cookie_redeem(int fd, const struct auth_request *req,
			struct attr_list *reply)
{
	struct auth_cookie *k;
	size_t i;

	attr_list_clear(reply);
	if (!auth_cookie_peer_ok(fd)) {
		msg_warn("auth: redeem request from an unprivileged peer");
		auth_cookie_fail(reply, "not allowed");
		return;
	}
	auth_cookie_expire();
	if (strlen(req->cookie) != AUTH_COOKIE_HEX) {
		auth_cookie_fail(reply, "bad cookie");
		return;
	}
	for (i = 0; i < auth_ncookies; i++)
		if (sasl_equal(auth_cookies[i].hex, req->cookie,
			       AUTH_COOKIE_HEX))
			break;
	if (i == auth_ncookies) {
		auth_cookie_fail(reply, "unknown or expired cookie");
		return;
	}
	k = &auth_cookies[i];
	if (strcmp(k->service, req->service) != 0) {
		msg_warn("auth: cookie of service %s redeemed for %s",
			 k->service, req->service);
		auth_cookie_fail(reply, "wrong service");
	} else {
		attr_add(reply, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
		attr_add(reply, PROTO_ATTR_USER, k->user);
		attr_add(reply, PROTO_ATTR_MAILBOX, k->mailbox);
		attr_add_long(reply, PROTO_ATTR_UID, (long)k->uid);
		attr_add_long(reply, PROTO_ATTR_GID, (long)k->gid);
		if (k->quota != NULL)
			attr_add(reply, PROTO_ATTR_QUOTA, k->quota);
	}
	auth_cookie_drop(i);
}
