#ifndef METRICS_METRICS_H
#define METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "ev.h"
#include "str.h"

/* The metrics service (correo-metrics(8)): counts sent by the daemons
 * as update lines (metrics_client.h), served as Prometheus text. */

/* The table (metrics_table.c): apply one update line (without its
 * newline); false if it is not a well-formed update of a known
 * metric. */
bool metrics_update(const char *line, size_t len);
/* Append every metric in the text exposition format 0.0.4; queue_fd is
 * $queue_directory (the queue folders are counted now), or -1. */
void metrics_render(struct str *out, int queue_fd);
void metrics_table_reset(void);

/* The service (metrics_server.c). */
void metrics_pre_init(void *ctx);
void metrics_event_init(struct ev_loop *loop, const int *fds, int nfds,
			void *ctx);

#endif
