#ifndef COMMON_ANVIL_CLIENT_H
#define COMMON_ANVIL_CLIENT_H

#include <stdbool.h>

/* The client side of the anvil protocol (proto.h, correo-anvil(8)): services
 * that face the network register each client connection at connect and
 * forget it at disconnect, and learn how many connections that client
 * has open and has made in the current time unit.
 *
 *   at connect:    if (anvil_client_connect(ac, svc, addr, &c) > 0 &&
 *                      !exempt)
 *                          v = anvil_client_check(&c, count_lim,
 *                                                 rate_lim);
 *                  v != ANVIL_OK: anvil_client_log(...), reply 421, and
 *                  still anvil_client_disconnect at the end
 *   at disconnect: anvil_client_disconnect(ac, svc, addr)
 *
 * Fail open: when anvil cannot be reached the calls return -1 and the
 * service serves the client without limits; the failure is logged once
 * (and again only after anvil worked in between), and no reconnect is
 * tried for ANVIL_CLIENT_RETRY seconds, so a missing anvil costs one
 * failed connect per ten seconds, not one per client. Blocking, with a
 * short timeout: anvil answers from memory. */

/* Relative to the queue directory, where daemons run. */
#define ANVIL_CLIENT_SOCKET "private/anvil"
#define ANVIL_CLIENT_TIMEOUT 2
#define ANVIL_CLIENT_RETRY 10

struct anvil_client;

struct anvil_counts {
	long count;		/* this client's open connections */
	long rate;		/* its connections in this time unit */
	long active;		/* every client's open connections */
};

enum anvil_verdict {
	ANVIL_OK,
	ANVIL_COUNT,		/* over the concurrency limit */
	ANVIL_RATE,		/* over the rate limit */
};

/* path NULL: ANVIL_CLIENT_SOCKET. Nothing is connected yet. */
struct anvil_client *anvil_client_create(const char *path);
void anvil_client_free(struct anvil_client **ac);
/* Connect now, e.g. in pre_init of a front end that is then jailed
 * where private/ cannot be reached. False (logged once) if anvil is not
 * there. */
bool anvil_client_open(struct anvil_client *ac);
/* Register a connection. Returns 1 with the counts in *counts_r, -1 if
 * anvil could not be asked (fail open). */
int anvil_client_connect(struct anvil_client *ac, const char *service,
			 const char *client_addr,
			 struct anvil_counts *counts_r);
/* Register a connection that lasts as long as a descriptor: a new
 * connection to anvil registers (service, key) and is handed to the
 * caller in *fd_r (close-on-exec), which is never written to; anvil
 * forgets the registration when the descriptor's last copy is closed,
 * e.g. when the process it was given to exits or is killed. Returns 1
 * with the counts (this one included) and the descriptor, -1 if anvil
 * could not be asked (fail open). */
int anvil_client_hold(struct anvil_client *ac, const char *service,
		      const char *key, struct anvil_counts *counts_r,
		      int *fd_r);
/* Forget a connection registered with anvil_client_connect. */
void anvil_client_disconnect(struct anvil_client *ac, const char *service,
			     const char *client_addr);
/* Compare counts with the limits (0: no limit). */
enum anvil_verdict anvil_client_check(const struct anvil_counts *counts,
				      long count_limit, long rate_limit);
/* The warning Postfix admins grep for: "Connection concurrency limit
 * exceeded: N from NAME[ADDR] for service S" (or "rate"). */
void anvil_client_log(enum anvil_verdict v, const struct anvil_counts *c,
		      const char *client, const char *service);

#endif
