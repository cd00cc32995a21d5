/*
 * metrics_client: fire-and-forget counter updates to the metrics
 * service (metrics_client.h).
 *
 * Interface: metrics_open, metrics_count, metrics_observe,
 * metrics_gauge, metrics_set_path.
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

#include "metrics_client.h"

static int metrics_fd = -1;
static struct sockaddr_un metrics_addr = { .sun_family = AF_UNIX,
	.sun_path = METRICS_SOCKET };

void metrics_set_path(const char *path)
{
	if (strlen(path) < sizeof(metrics_addr.sun_path))
		memcpy(metrics_addr.sun_path, path, strlen(path) + 1);
}

void metrics_open(void)
{
	if (metrics_fd < 0)
		metrics_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
				    SOCK_CLOEXEC, 0);
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

	metrics_open();
	if (metrics_fd < 0)
		return;
	len = snprintf(buf, sizeof(buf), "%c %s %s %s", kind, metric,
		       metrics_label(label), value);
	if (len < 0 || (size_t)len >= sizeof(buf))
		return;
	/* Dropped when nobody listens (ENOENT, ECONNREFUSED) or the
	 * service is behind (EAGAIN): counts are best effort. */
	(void)sendto(metrics_fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL,
		     (struct sockaddr *)&metrics_addr, sizeof(metrics_addr));
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
