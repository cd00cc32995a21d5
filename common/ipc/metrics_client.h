#ifndef COMMON_METRICS_CLIENT_H
#define COMMON_METRICS_CLIENT_H

/* Counter updates for the metrics service (correo-metrics(8)).
 *
 * A daemon writes one line per event on a stream connection to
 * $queue_directory/private/metrics, which the metrics service listens
 * on; the service keeps the counts and serves them to Prometheus.
 * Sending never blocks and never fails the caller: with no metrics
 * service (the row is off, or it is restarting) updates are dropped,
 * and so are updates that find a whole buffer still waiting. Counts are
 * therefore a lower bound, which is what a rate() over them needs.
 *
 * Line: "KIND METRIC LABEL VALUE", KIND one of c (add VALUE to a
 * counter), h (observe VALUE seconds in a histogram), g (set a gauge);
 * LABEL is the value of the metric's one label, "-" for none. The
 * service knows the metric names and ignores any other.
 *
 * The connection is made on the first update: a sandboxed caller must
 * allow Unix sockets (SANDBOX_ALLOW_UNIX) or call metrics_open() before
 * its sandbox. Paths are relative to $queue_directory (the working
 * directory of every daemon). */

#define METRICS_SOCKET "private/metrics"

void metrics_open(void);
void metrics_count(const char *metric, const char *label, long n);
void metrics_observe(const char *metric, const char *label, double seconds);
void metrics_gauge(const char *metric, const char *label, long value);
/* As above with the socket's path given (master: not in the queue). */
void metrics_set_path(const char *path);

#endif
