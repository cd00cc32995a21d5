#ifndef COMMON_FLOW_H
#define COMMON_FLOW_H

#include <stdbool.h>
#include <stddef.h>

/* Inflow control (Postfix's in_flow_delay): a FIFO in the queue,
 * private/flow, holds tokens, one byte each. qmgr keeps it filled to
 * what its backlog allows (in_flow_tokens minus the messages it holds);
 * smtpd and pickup take one token per message they queue, and when
 * there is none they wait up to $in_flow_delay for one, then go on
 * anyway. So while delivery keeps up nobody waits, and when it falls
 * behind each receiving process slows to about one message per
 * in_flow_delay instead of filling the queue without bound.
 *
 * master creates the FIFO (as $mail_owner, mode 0600) before any
 * daemon starts; each user opens it once, before its sandbox. */

#define FLOW_NAME "flow"		/* in the private/ directory */
#define FLOW_PATH "private/" FLOW_NAME	/* relative to the queue */

/* Open path (a FIFO owned by us) read-write and non-blocking, so no
 * open or write ever waits for a peer. -1 with errno set if it is
 * missing or not a FIFO of ours (callers then run without inflow
 * control). */
int flow_open(const char *path);

/* Take one token; if there is none, wait for one up to delay_ms, then
 * return anyway. True if a token was taken, false if the wait ran out
 * (or fd is -1: no inflow control). */
bool flow_take(int fd, long delay_ms);

/* Tokens now in the FIFO. */
size_t flow_count(int fd);

/* Add tokens until the FIFO holds at least target (never removes any).
 * Returns the number added. */
size_t flow_fill(int fd, size_t target);

#endif
