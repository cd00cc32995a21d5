#ifndef COMMON_TRIGGER_H
#define COMMON_TRIGGER_H

#include <stddef.h>

#include "ev.h"

/* The trigger listener of event daemons (qmgr, pickup): clients connect
 * to a listening socket and write a few bytes (PROTO_TRIGGER_*). */

struct trigger;

/* Called with the bytes one read returned (n > 0). */
typedef void trigger_cb(const char *buf, size_t n, void *ctx);

/* Make each of the nfds listening sockets non-blocking and accept
 * trigger clients on them in loop, for the loop's life; cb gets what
 * they write. A client is closed at its end of file or on an error; it
 * may keep its connection for later triggers, up to a bound on such
 * connections, beyond which one is read once and closed. */
struct trigger *trigger_listen(struct ev_loop *loop, const int *fds,
			       int nfds, trigger_cb *cb, void *ctx);
/* Free what trigger_listen made, once its loop is gone (ev_free): a
 * daemon never does, its listener lives as long as it does. */
void trigger_free(struct trigger **t);

#endif
