/*
 * metrics_client: counter updates to the metrics service that never
 * block or fail the caller (metrics_client.h).
 *
 * Interface: metrics_open, metrics_count, metrics_observe,
 * metrics_gauge, metrics_set_path.
 *
 * One non-blocking stream connection per process, made on the first
 * update. Each update is one line appended to a small pending buffer
 * and written at once; what the socket does not take now (the service
 * is behind) stays pending for the next update, and a line that does
 * not fit in the buffer is dropped. When the service is not there (no
 * row, or restarting) the connection fails, the lines stay pending for
 * the next connection, and the next attempt waits METRICS_RETRY_MS, so
 * an instance without metrics pays one failed connect a second at
 * most. A broken connection is dropped with what was pending; the next
 * one starts clean, so a half-sent line never reaches the service.
 *
 * SECURITY: sends only names and numbers the caller chose; a label that
 * is not a plain token is replaced by "other" so no peer-supplied text
 * reaches the service.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "metrics_client.h"

#define METRICS_PENDING_MAX 4096
#define METRICS_RETRY_MS 1000

static int metrics_fd = -1;
static long long metrics_retry_at;	/* monotonic ms */
static char metrics_pending[METRICS_PENDING_MAX];
static size_t metrics_npending;
static struct sockaddr_un metrics_addr = { .sun_family = AF_UNIX,
	.sun_path = METRICS_SOCKET };

void metrics_set_path(const char *path)
{
	if (strlen(path) < sizeof(metrics_addr.sun_path))
		memcpy(metrics_addr.sun_path, path, strlen(path) + 1);
}

static void metrics_drop_connection(void)
{
	if (metrics_fd >= 0)
		close(metrics_fd);
	metrics_fd = -1;
	metrics_npending = 0;
	metrics_retry_at = ev_now_ms() + METRICS_RETRY_MS;
}

void metrics_open(void)
{
	if (metrics_fd >= 0 || ev_now_ms() < metrics_retry_at)
		return;
	metrics_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
	if (metrics_fd < 0) {
		metrics_retry_at = ev_now_ms() + METRICS_RETRY_MS;
		return;
	}
	/* A Unix stream connect completes at once or fails (EAGAIN: the
	 * backlog is full); either way no waiting. */
	if (connect(metrics_fd, (struct sockaddr *)&metrics_addr,
		    sizeof(metrics_addr)) < 0) {
		/* Nothing was sent: what is pending waits for the next. */
		close(metrics_fd);
		metrics_fd = -1;
		metrics_retry_at = ev_now_ms() + METRICS_RETRY_MS;
	}
}

/* Write what is pending; keep what the socket does not take now. */
static void metrics_flush(void)
{
	ssize_t n;

	while (metrics_npending > 0) {
		n = send(metrics_fd, metrics_pending, metrics_npending,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			metrics_drop_connection();
			return;
		}
		memmove(metrics_pending, metrics_pending + n,
			metrics_npending - (size_t)n);
		metrics_npending -= (size_t)n;
	}
}

/* A label is a service or transport name (an inet row's is its
 * address): letters, digits, - _ . : [ ] */
static const char *metrics_label(const char *label)
{
	size_t n = 0;

	if (label == NULL || *label == '\0')
		return "-";
	for (const char *p = label; *p != '\0'; p++, n++)
		if (n >= 48 || !((*p >= 'a' && *p <= 'z') ||
				 (*p >= 'A' && *p <= 'Z') ||
				 (*p >= '0' && *p <= '9') ||
				 *p == '-' || *p == '_' || *p == '.' ||
				 *p == ':' || *p == '[' || *p == ']'))
			return "other";
	return label;
}

static void metrics_send(char kind, const char *metric, const char *label,
			 const char *value)
{
	char buf[160];
	int len;

	len = snprintf(buf, sizeof(buf), "%c %s %s %s\n", kind, metric,
		       metrics_label(label), value);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return;
	/* The service is behind (or away) by a whole buffer: drop this
	 * update. */
	if (metrics_npending + (size_t)len <= sizeof(metrics_pending)) {
		memcpy(metrics_pending + metrics_npending, buf, (size_t)len);
		metrics_npending += (size_t)len;
	}
	metrics_open();
	if (metrics_fd >= 0)
		metrics_flush();
}

void metrics_count(const char *metric, const char *label, long n)
{
	char v[32];

	snprintf(v, sizeof(v), "%ld", n);
	metrics_send('c', metric, label, v);
}

void metrics_observe(const char *metric, const char *label, double seconds)
{
	char v[32];

	snprintf(v, sizeof(v), "%.3f", seconds < 0 ? 0 : seconds);
	metrics_send('h', metric, label, v);
}

void metrics_gauge(const char *metric, const char *label, long value)
{
	char v[32];

	snprintf(v, sizeof(v), "%ld", value);
	metrics_send('g', metric, label, v);
}
