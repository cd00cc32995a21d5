#ifndef COMMON_TRIGGER_H
#define COMMON_TRIGGER_H

#include <stddef.h>

#include "ev.h"

/* The trigger listener of event daemons (qmgr, pickup): clients connect
 * to a listening socket and write a few bytes (PROTO_TRIGGER_*). */

/* Called with the bytes one read returned (n > 0). */
typedef void trigger_cb(const char *buf, size_t n, void *ctx);

/* Make each of the nfds listening sockets non-blocking and accept
 * trigger clients on them in loop; cb gets what they write. A client is
 * closed at end of file, on an error or after a short read (a trigger
 * is one small write), so none can hold a descriptor for long. */
void trigger_listen(struct ev_loop *loop, const int *fds, int nfds,
		    trigger_cb *cb, void *ctx);

#endif
