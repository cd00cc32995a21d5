/*
 * metrics: Prometheus metrics for the whole system. Daemons send
 * counter updates as lines on a connection to private/metrics; scrapes come over
 * HTTP on the service's inet row (a loopback port). See
 * correo-metrics(8).
 *
 * SECURITY: runs as the mail owner; after init it reads only the names
 * in the queue folders.
 */
#include "config.h"

#include "metrics.h"
#include "sandbox.h"
#include "server.h"

int main(int argc, char **argv)
{
	return server_main(argc, argv, &(struct server_spec) {
		.sandbox = &sandbox_metrics,
		.name = "metrics",
		.mode = SERVER_EVENT,
		.event_init = metrics_event_init,	/* sockets */
		.pre_init = metrics_pre_init,	/* the queue directory */
	});
}
