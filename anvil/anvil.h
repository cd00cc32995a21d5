#ifndef ANVIL_ANVIL_H
#define ANVIL_ANVIL_H

#include <stdbool.h>
#include <stddef.h>

#include "anvil_client.h"
#include "ev.h"

/* Internal interfaces of the anvil service (libanvil.a): one process
 * (maxproc 1) counting connections per (service, client address) for
 * every network service, in memory. See correo-anvil(8). */

/* ---- anvil_table.c: the counters, pure (time is passed in) ---- */

struct anvil_table;
struct anvil_entry;

/* rate_unit_ms: the length of a rate window ($anvil_rate_time_unit). */
struct anvil_table *anvil_table_create(long long rate_unit_ms);
void anvil_table_free(struct anvil_table **t);
/* Count a new connection of client_addr to service at now_ms; the
 * counts include it. Returns the entry, for anvil_table_disconnect. */
struct anvil_entry *anvil_table_connect(struct anvil_table *t,
					const char *service,
					const char *client_addr,
					long long now_ms,
					struct anvil_counts *counts_r);
/* Find the entry of (service, client_addr); NULL if none. */
struct anvil_entry *anvil_table_find(struct anvil_table *t,
				     const char *service,
				     const char *client_addr);
/* One connection of the entry ended. */
void anvil_table_disconnect(struct anvil_table *t, struct anvil_entry *e);
/* Drop entries with no connection whose rate window is over. Returns
 * how many entries remain. */
size_t anvil_table_sweep(struct anvil_table *t, long long now_ms);
/* The largest count and rate seen since the last call, with the client
 * ("service:address") that had it, for the periodic statistics line;
 * false if nothing happened. */
bool anvil_table_peaks(struct anvil_table *t, long *count_r,
		       char **count_who_r, long *rate_r, char **rate_who_r);

/* ---- anvil_server.c: the event-driven service ---- */

void anvil_pre_init(void *ctx);
void anvil_event_init(struct ev_loop *loop, const int *fds, int nfds,
		      void *ctx);

#endif
