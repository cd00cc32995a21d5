/*
 * smtp_session: sessions with servers: finding the hosts of a next hop,
 * connecting, the greeting, EHLO/HELO or LHLO, STARTTLS, AUTH
 * (smtp_sasl.c), and the cache
 * of idle sessions reused for later requests.
 *
 * Interface: smtp_session_get, smtp_session_release, smtp_session_close,
 * smtp_cache_flush, smtp_tls_level.
 *
 * Hosts are tried in MX order, each of their addresses in turn, at most
 * $smtp_mx_address_limit addresses in all. A host that cannot be reached
 * or refuses to talk (4xx/5xx greeting or HELO) sends us to the next
 * one; when none is left the last trouble decides: a refusal by the last
 * host is that host's reply (so a 5xx bounces), anything else defers the
 * whole destination (dest_defer). With TLS level "may" a failed
 * handshake is retried once on the same address in plain text, as
 * Postfix does; the stricter levels give up on that address.
 *
 * A session is cached by next hop after a transaction and reused, after
 * an RSET that must succeed, until $smtp_connection_reuse_time has passed
 * since it was opened. The cache is bounded by
 * $smtp_connection_cache_limit; nothing watches an idle session, so a
 * server that closed it is noticed by the RSET and replaced. With
 * PIPELINING the RSET is not a round trip of its own: it goes out in
 * front of MAIL FROM and its reply is read first (smtp_trans.c); if it
 * fails, nothing has been accepted and smtp_deliver starts over on
 * another session (as Postfix's client does, it costs no extra wait).
 *
 * SECURITY: servers are untrusted: replies go through smtp_reply.c's
 * bounded reader; EHLO keywords only set feature bits and a SIZE limit.
 * Input buffered before STARTTLS is discarded by tls_client_start
 * (CVE-2011-0411). Runs unprivileged.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "mem.h"
#include "msg.h"
#include "smtp.h"
#include "transport.h"

static struct smtp_session *smtp_cache;
static long smtp_cache_count;

/* How an attempt on one address ended. */
enum smtp_start {
	SMTP_START_OK,
	SMTP_START_TROUBLE,	/* connection trouble: try the next one */
	SMTP_START_REFUSED,	/* the server said no: reply holds why */
	SMTP_START_TLS,		/* the TLS handshake failed */
};

/* The attempt's verdict, carried to the next address. */
struct smtp_attempt {
	enum smtp_start how;
	enum smtp_status status;
	char dsn[16];
	struct str reason;
};

/* ---- TLS policy --------------------------------------------------- */

static bool smtp_tls_level_ok(const char *level)
{
	static const char *const levels[] = {
		"none", "may", "encrypt", "verify", "secure", NULL
	};

	for (size_t i = 0; levels[i] != NULL; i++)
		if (strcmp(level, levels[i]) == 0)
			return true;
	return false;
}

const char *smtp_tls_level(const char *nexthop, const char **error_r)
{
	static struct str value = STR_INIT;

	for (size_t i = 0; i < smtp_set.ntls_policy; i++) {
		int ret = dict_lookup(smtp_set.tls_policy[i], nexthop, &value,
				      error_r);
		char *cursor, *level;

		if (ret < 0)
			return NULL;
		if (ret == 0)
			continue;
		/* "verify" or "verify match=..." (attributes ignored). */
		cursor = value.data;
		level = str_token(&cursor, " \t");
		if (level == NULL || !smtp_tls_level_ok(level)) {
			*error_r = "bad TLS policy level";
			return NULL;
		}
		return level;
	}
	return smtp_set.tls_level;
}

/* ---- connecting --------------------------------------------------- */

static int smtp_bind(int fd, int family)
{
	struct addrinfo hints = {
		.ai_family = family,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_PASSIVE,
	};
	struct addrinfo *res;
	int ret;

	if (*smtp_set.bind_address == '\0')
		return 0;
	if (getaddrinfo(smtp_set.bind_address, NULL, &hints, &res) != 0)
		return 0;	/* other family: let the kernel choose */
	ret = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return ret;
}

/* A connected blocking fd, or -1 with errno. */
static int smtp_connect_addr(const struct dns_addr *a)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int fd, err = 0, saved, r;

	fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (smtp_bind(fd, a->sa.ss_family) < 0)
		goto fail;
	if (connect(fd, (const struct sockaddr *)&a->sa, a->len) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			r = poll(&pfd, 1, (int)smtp_set.connect_timeout * 1000);
		} while (r < 0 && errno == EINTR);
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

/* ---- the session -------------------------------------------------- */

static struct smtp_session *smtp_session_new(int fd, const char *key,
					     const char *host,
					     const char *addr, unsigned port)
{
	struct smtp_session *s = mem_alloc(sizeof(*s));
	struct str t = STR_INIT;

	s->lio = lio_create(fd, (int)smtp_set.helo_timeout);
	s->key = mem_strdup(key);
	s->host = mem_strdup(host);
	str_printf(&t, "%s[%s]", host, addr);
	s->peer = mem_strdup(str_c(&t));
	if (port != 0)
		str_printf(&t, ":%u", port);
	s->relay = str_steal(&t);
	s->created = time(NULL);
	return s;
}

void smtp_session_close(struct smtp_session *s, bool quit)
{
	struct smtp_reply reply = { 0 };

	if (quit && !s->broken) {
		lio_set_timeout(s->lio, (int)smtp_set.quit_timeout);
		lio_puts(s->lio, "QUIT\r\n");
		if (lio_flush(s->lio) == LIO_OK)
			(void)smtp_reply_read(s->lio, smtp_set.quit_timeout,
					      &reply);
		smtp_reply_release(&reply);
	}
	if (s->tls != NULL)
		tls_conn_free(&s->tls, s->lio);
	lio_free(&s->lio);
	free(s->key);
	free(s->host);
	free(s->peer);
	free(s->relay);
	free(s->auth_mechs);
	free(s);
}

/* "lost connection with H[A] while WHAT" / "... timed out while ...". */
static void smtp_trouble(struct smtp_attempt *at, const struct smtp_session *s,
			 enum lio_status st, const char *what)
{
	bool malformed = st == LIO_ERROR && lio_error(s->lio) == LIO_OK;

	at->how = SMTP_START_TROUBLE;
	at->status = SMTP_DEFER;
	str_clear(&at->reason);
	if (st == LIO_TIMEOUT)
		str_printf(&at->reason, "conversation with %s timed out "
			   "while %s", s->peer, what);
	else if (malformed)
		str_printf(&at->reason, "malformed reply from %s while %s",
			   s->peer, what);
	else if (st == LIO_ERROR)
		str_printf(&at->reason, "lost connection with %s while %s: "
			   "%s", s->peer, what, strerror(errno));
	else
		str_printf(&at->reason, "lost connection with %s while %s",
			   s->peer, what);
	memcpy(at->dsn, "4.4.2", 6);
}

static void smtp_refused(struct smtp_attempt *at, const struct smtp_session *s,
			 const struct smtp_reply *reply)
{
	at->how = SMTP_START_REFUSED;
	at->status = smtp_reply_status(reply);
	if (at->status == SMTP_OK)
		at->status = SMTP_DEFER;
	memcpy(at->dsn, reply->dsn, sizeof(at->dsn));
	if (at->dsn[0] == '2')
		at->dsn[0] = '4';
	str_clear(&at->reason);
	str_printf(&at->reason, "host %s refused to talk to me: %s", s->peer,
		   str_c(&reply->text));
}

/* Read a reply; on trouble fill at. */
static bool smtp_expect(struct smtp_session *s, long timeout,
			struct smtp_reply *reply, struct smtp_attempt *at,
			const char *what)
{
	enum lio_status st;

	st = lio_flush(s->lio);
	if (st == LIO_OK)
		st = smtp_reply_read(s->lio, timeout, reply);
	if (st == LIO_OK)
		return true;
	smtp_trouble(at, s, st, what);
	s->broken = true;
	return false;
}

static void smtp_features(struct smtp_session *s, const struct smtp_reply *r)
{
	const char *p = str_c(&r->lines);
	const char *nl = strchr(p, '\n');

	s->features = 0;
	s->size_limit = 0;
	free(s->auth_mechs);
	s->auth_mechs = NULL;
	/* The first line is the greeting part of the EHLO reply. */
	for (p = nl != NULL ? nl + 1 : ""; *p != '\0'; p = nl + 1) {
		char word[32];
		size_t n = 0;

		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		while (p + n < nl && p[n] != ' ' && n < sizeof(word) - 1) {
			word[n] = p[n];
			n++;
		}
		word[n] = '\0';
		if (strcasecmp(word, "PIPELINING") == 0)
			s->features |= SMTP_FEAT_PIPELINING;
		else if (strcasecmp(word, "8BITMIME") == 0)
			s->features |= SMTP_FEAT_8BITMIME;
		else if (strcasecmp(word, "DSN") == 0)
			s->features |= SMTP_FEAT_DSN;
		else if (strcasecmp(word, "STARTTLS") == 0)
			s->features |= SMTP_FEAT_STARTTLS;
		else if (strcasecmp(word, "ENHANCEDSTATUSCODES") == 0)
			s->features |= SMTP_FEAT_ENHANCED;
		else if ((strcasecmp(word, "AUTH") == 0 ||
			  strncasecmp(word, "AUTH=", 5) == 0) &&
			 s->auth_mechs == NULL) {
			/* "AUTH PLAIN LOGIN" (or the old "AUTH=PLAIN"). */
			const char *m = p + (word[4] == '=' ? 5 : 4);

			s->features |= SMTP_FEAT_AUTH;
			s->auth_mechs = mem_strndup(m, (size_t)(nl - m));
		} else if (strcasecmp(word, "SIZE") == 0) {
			s->features |= SMTP_FEAT_SIZE;
			s->size_limit = strtoll(p + n, NULL, 10);
			if (s->size_limit < 0)
				s->size_limit = 0;
		}
	}
}

/* EHLO (HELO if refused with 5xx) or LHLO. */
static bool smtp_helo(struct smtp_session *s, struct smtp_reply *reply,
		      struct smtp_attempt *at)
{
	const char *verb = smtp_set.lmtp ? "LHLO" : "EHLO";

	lio_printf(s->lio, "%s %s\r\n", verb, smtp_set.helo_name);
	if (!smtp_expect(s, smtp_set.helo_timeout, reply, at,
			 "sending EHLO"))
		return false;
	if (reply->code / 100 == 2) {
		smtp_features(s, reply);
		return true;
	}
	if (smtp_set.lmtp || reply->code / 100 != 5) {
		smtp_refused(at, s, reply);
		return false;
	}
	s->features = 0;
	lio_printf(s->lio, "HELO %s\r\n", smtp_set.helo_name);
	if (!smtp_expect(s, smtp_set.helo_timeout, reply, at,
			 "sending HELO"))
		return false;
	if (reply->code / 100 != 2) {
		smtp_refused(at, s, reply);
		return false;
	}
	return true;
}

static void smtp_tls_fail(struct smtp_attempt *at, struct smtp_session *s,
			  const char *fmt, ...) MSG_PRINTF(3, 4);
static void smtp_tls_fail(struct smtp_attempt *at, struct smtp_session *s,
			  const char *fmt, ...)
{
	va_list ap;

	at->how = SMTP_START_TLS;
	at->status = SMTP_DEFER;
	memcpy(at->dsn, "4.7.5", 6);
	str_clear(&at->reason);
	va_start(ap, fmt);
	str_vprintf(&at->reason, fmt, ap);
	va_end(ap);
	s->broken = true;
}

/* STARTTLS by policy; EHLO again after the handshake. */
static bool smtp_starttls(struct smtp_session *s, const char *level,
			  const char *match, struct smtp_reply *reply,
			  struct smtp_attempt *at)
{
	bool required = strcmp(level, "may") != 0;
	bool verify = strcmp(level, "verify") == 0 ||
		strcmp(level, "secure") == 0;
	const char *why;

	if (!(s->features & SMTP_FEAT_STARTTLS)) {
		if (!required)
			return true;
		smtp_tls_fail(at, s, "TLS is required, but was not offered "
			      "by host %s", s->peer);
		return false;
	}
	if (smtp_set.tls_ctx == NULL) {
		if (!required)
			return true;
		smtp_tls_fail(at, s, "TLS is required, but unavailable "
			      "here (see the log) for %s", s->peer);
		return false;
	}
	lio_puts(s->lio, "STARTTLS\r\n");
	if (!smtp_expect(s, smtp_set.starttls_timeout, reply, at,
			 "sending STARTTLS"))
		return false;
	if (reply->code != 220) {
		if (!required)
			return true;
		smtp_tls_fail(at, s, "TLS is required, but host %s refused "
			      "STARTTLS: %s", s->peer, str_c(&reply->text));
		return false;
	}
	s->tls = tls_client_start(smtp_set.tls_ctx, s->lio, match, verify,
				  (int)smtp_set.starttls_timeout, &why);
	if (s->tls == NULL) {
		smtp_tls_fail(at, s, "TLS handshake with %s failed: %s",
			      s->peer, why);
		return false;
	}
	return smtp_helo(s, reply, at);
}

/* Greeting, HELO, TLS on a connected session. */
static enum smtp_start smtp_session_start(struct smtp_session *s,
					  const char *level,
					  const char *match,
					  struct smtp_attempt *at)
{
	struct smtp_reply reply = { 0 };
	bool ok;

	ok = smtp_expect(s, smtp_set.helo_timeout, &reply, at,
			 "receiving the initial server greeting");
	if (ok && reply.code / 100 != 2) {
		smtp_refused(at, s, &reply);
		ok = false;
	}
	ok = ok && smtp_helo(s, &reply, at);
	if (ok && strcmp(level, "none") != 0)
		ok = smtp_starttls(s, level, match, &reply, at);
	if (ok && smtp_set.sasl_enable &&
	    !smtp_sasl_auth(s, &reply, &at->status, at->dsn, &at->reason)) {
		/* Like a refusal: the next host may take us. */
		at->how = s->broken ? SMTP_START_TROUBLE : SMTP_START_REFUSED;
		ok = false;
	}
	smtp_reply_release(&reply);
	if (ok) {
		at->how = SMTP_START_OK;
		return SMTP_START_OK;
	}
	s->broken = s->broken || at->how != SMTP_START_REFUSED;
	return at->how;
}

/* ---- the cache ---------------------------------------------------- */

/* A cached session for key that still answers RSET (or will be asked
 * to in front of MAIL), or NULL. */
static struct smtp_session *smtp_cache_take(const char *key)
{
	struct smtp_session **pp, *s;
	struct smtp_reply reply = { 0 };
	bool ok;

	for (pp = &smtp_cache; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	s = *pp;
	if (s == NULL)
		return NULL;
	*pp = s->next;
	s->next = NULL;
	smtp_cache_count--;
	if (time(NULL) - s->created >= smtp_set.reuse_time) {
		smtp_session_close(s, true);
		return NULL;
	}
	lio_set_timeout(s->lio, (int)smtp_set.quit_timeout);
	if (s->features & SMTP_FEAT_PIPELINING) {
		s->rset_pending = true;
		return s;
	}
	lio_puts(s->lio, "RSET\r\n");
	ok = lio_flush(s->lio) == LIO_OK &&
		smtp_reply_read(s->lio, smtp_set.quit_timeout, &reply) ==
		LIO_OK && reply.code / 100 == 2;
	smtp_reply_release(&reply);
	if (!ok) {
		if (msg_verbose)
			msg_debug("cached session with %s is gone", s->relay);
		s->broken = true;
		smtp_session_close(s, false);
		return NULL;
	}
	return s;
}

void smtp_session_release(struct smtp_session *s)
{
	if (s->broken || smtp_cache_count >= smtp_set.cache_limit ||
	    time(NULL) - s->created >= smtp_set.reuse_time) {
		smtp_session_close(s, true);
		return;
	}
	s->next = smtp_cache;
	smtp_cache = s;
	smtp_cache_count++;
}

void smtp_cache_flush(void)
{
	while (smtp_cache != NULL) {
		struct smtp_session *s = smtp_cache;

		smtp_cache = s->next;
		smtp_cache_count--;
		smtp_session_close(s, true);
	}
}

/* ---- finding a server --------------------------------------------- */

struct smtp_target {
	struct smtp_request *req;
	const struct transport_nexthop *nh;
	const char *level;
	struct smtp_attempt at;
	long budget;		/* addresses left to try */
	bool implicit_mx;	/* the domain had no MX records */
};

/* One address: connect and start, with the plain-text retry of "may". */
static struct smtp_session *smtp_try_addr(struct smtp_target *t,
					  const char *host,
					  struct dns_addr *a)
{
	unsigned port = t->nh->port != 0 ? t->nh->port : smtp_set.default_port;
	const char *level = t->level;
	const char *match = strcmp(level, "secure") == 0 ? t->nh->host : host;

	dns_addr_set_port(a, port);
	for (;;) {
		struct smtp_session *s;
		int fd = smtp_connect_addr(a);

		if (fd < 0) {
			t->at.how = SMTP_START_TROUBLE;
			t->at.status = SMTP_DEFER;
			memcpy(t->at.dsn, "4.4.1", 6);
			str_clear(&t->at.reason);
			str_printf(&t->at.reason, "connect to %s[%s]:%u: %s",
				   host, a->text, port, strerror(errno));
			msg_info("%s", str_c(&t->at.reason));
			return NULL;
		}
		s = smtp_session_new(fd, t->req->nexthop, host, a->text, port);
		if (smtp_session_start(s, level, match, &t->at) ==
		    SMTP_START_OK)
			return s;
		msg_info("%s", str_c(&t->at.reason));
		smtp_session_close(s, true);
		if (t->at.how != SMTP_START_TLS || strcmp(level, "may") != 0)
			return NULL;
		level = "none";
	}
}

static struct smtp_session *smtp_try_host(struct smtp_target *t,
					  const char *host)
{
	struct dns_addr *addrs;
	struct smtp_session *s = NULL;
	size_t n;
	int ret;

	ret = dns_addr_lookup(host, (size_t)t->budget, &addrs, &n,
			      &t->at.reason);
	if (ret <= 0) {
		/* A name that does not exist bounces only when it is the
		 * destination itself, not one of several MX hosts. */
		bool perm = ret == 0 && (t->nh->no_mx || t->implicit_mx);

		t->at.how = SMTP_START_TROUBLE;
		t->at.status = perm ? SMTP_BOUNCE : SMTP_DEFER;
		memcpy(t->at.dsn, perm ? "5.4.4" : "4.4.3", 6);
		return NULL;
	}
	for (size_t i = 0; i < n && s == NULL && t->budget > 0; i++) {
		t->budget--;
		s = smtp_try_addr(t, host, &addrs[i]);
	}
	free(addrs);
	return s;
}

static struct smtp_session *smtp_try_unix(struct smtp_target *t)
{
	struct smtp_session *s;
	int fd = lio_connect_unix(t->nh->unix_path,
				  (int)smtp_set.connect_timeout);

	if (fd < 0) {
		t->at.how = SMTP_START_TROUBLE;
		t->at.status = SMTP_DEFER;
		memcpy(t->at.dsn, "4.4.1", 6);
		str_clear(&t->at.reason);
		str_printf(&t->at.reason, "connect to %s: %s",
			   t->nh->unix_path, strerror(errno));
		msg_info("%s", str_c(&t->at.reason));
		return NULL;
	}
	s = smtp_session_new(fd, t->req->nexthop, t->nh->unix_path,
			     "unix", 0);
	free(s->relay);
	s->relay = mem_strdup(t->nh->unix_path);
	if (smtp_session_start(s, t->level, "localhost", &t->at) ==
	    SMTP_START_OK)
		return s;
	smtp_session_close(s, true);
	return NULL;
}

/* MX hosts (or the one host) of the next hop, in order. */
static struct smtp_session *smtp_try_mx(struct smtp_target *t)
{
	struct dns_mx_list mx = DNS_MX_LIST_INIT;
	struct smtp_session *s = NULL;
	int ret;

	if (t->nh->no_mx)
		return smtp_try_host(t, t->nh->host);
	ret = dns_mx_lookup(t->nh->host, &mx, &t->at.reason);
	if (ret <= 0) {
		t->at.how = SMTP_START_TROUBLE;
		t->at.status = ret == 0 ? SMTP_BOUNCE : SMTP_DEFER;
		memcpy(t->at.dsn, ret == 0 ? "5.4.4" : "4.4.3", 6);
		return NULL;
	}
	t->implicit_mx = mx.implicit;
	if (mx.null_mx) {
		t->at.how = SMTP_START_REFUSED;
		t->at.status = SMTP_BOUNCE;
		memcpy(t->at.dsn, "5.1.10", 7);
		str_printf(&t->at.reason, "Domain %s does not accept mail "
			   "(nullMX)", t->nh->host);
	}
	for (size_t i = 0; !mx.null_mx && i < mx.count && s == NULL &&
	     t->budget > 0; i++)
		s = smtp_try_host(t, mx.mx[i].host);
	dns_mx_list_free(&mx);
	return s;
}

struct smtp_session *smtp_session_get(struct smtp_request *req)
{
	struct transport_nexthop nh = TRANSPORT_NEXTHOP_INIT;
	struct smtp_target t = { .req = req, .nh = &nh };
	struct smtp_session *s = smtp_cache_take(req->nexthop);
	const char *why;

	if (s != NULL)
		return s;
	if (!transport_nexthop_parse(req->nexthop, smtp_set.lmtp, &nh,
				     &why)) {
		smtp_rcpt_all(req, SMTP_DEFER, "4.3.5", "bad next hop \"%s\""
			      ": %s", req->nexthop, why);
		return NULL;
	}
	t.level = smtp_tls_level(req->nexthop, &why);
	if (t.level == NULL) {
		smtp_rcpt_all(req, SMTP_DEFER, "4.3.0", "TLS policy lookup "
			      "for %s: %s", req->nexthop, why);
		goto done;
	}
	t.budget = smtp_set.address_limit > 0 ? smtp_set.address_limit : 1;
	t.at.how = SMTP_START_TROUBLE;
	t.at.status = SMTP_DEFER;
	memcpy(t.at.dsn, "4.4.1", 6);
	s = nh.unix_path != NULL ? smtp_try_unix(&t) : smtp_try_mx(&t);
	if (s == NULL) {
		if (t.at.reason.len == 0)
			str_printf(&t.at.reason, "no server for %s",
				   req->nexthop);
		req->dest_defer = t.at.status == SMTP_DEFER;
		smtp_rcpt_all(req, t.at.status, t.at.dsn, "%s",
			      str_c(&t.at.reason));
	}
done:
	str_release(&t.at.reason);
	transport_nexthop_release(&nh);
	return s;
}
