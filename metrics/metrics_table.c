/*
 * metrics_table: the known metrics, their series and the text
 * exposition (metrics.h).
 *
 * Interface: metrics_update, metrics_render, metrics_table_reset.
 *
 * Every metric has at most one label and at most METRICS_MAX_SERIES
 * label values (a transport or service name); updates for more are
 * counted under "other", so a sender cannot grow the table without
 * bound. Names follow Prometheus' conventions: counters end in _total,
 * durations are seconds.
 *
 * SECURITY: updates come from local daemons only (private/ is the
 * mail owner's), but each is still parsed strictly: a fixed grammar,
 * bounded tokens, known names.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "queue.h"

#define METRICS_MAX_SERIES 64
#define METRICS_LABEL_MAX 48

enum metrics_type { M_COUNTER, M_GAUGE, M_HISTOGRAM };

/* Delivery delay buckets: seconds to a day (Postfix's delays span
 * that). */
static const double metrics_buckets[] = {
	0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400,
};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(*metrics_buckets))

struct metrics_series {
	char label[METRICS_LABEL_MAX + 1];
	double value;			/* counter, gauge */
	unsigned long long buckets[METRICS_NBUCKETS];
	unsigned long long count;
	double sum;
};

struct metrics_def {
	const char *name;
	enum metrics_type type;
	const char *label;		/* its label's name, NULL: none */
	const char *help;
	struct metrics_series series[METRICS_MAX_SERIES];
	size_t nseries;
};

static struct metrics_def metrics_defs[] = {
	{ .name = "correo_messages_received_total", M_COUNTER, NULL,
	  "Messages qmgr took from incoming into the active queue." },
	{ .name = "correo_messages_delivered_total", M_COUNTER, "transport",
	  "Recipient deliveries that succeeded, by transport." },
	{ .name = "correo_messages_deferred_total", M_COUNTER, "transport",
	  "Recipient delivery attempts deferred (to be retried), by "
	  "transport." },
	{ .name = "correo_messages_bounced_total", M_COUNTER, "transport",
	  "Recipients that failed permanently (or expired), by transport." },
	{ .name = "correo_delivery_delay_seconds", M_HISTOGRAM, "transport",
	  "Time from arrival in the queue to a successful delivery, by "
	  "transport." },
	{ .name = "correo_sessions_total", M_COUNTER, "protocol",
	  "Client sessions accepted, by protocol (the service name)." },
	{ .name = "correo_tls_handshakes_total", M_COUNTER, "service",
	  "TLS handshakes completed, by service." },
	{ .name = "correo_tls_handshake_failures_total", M_COUNTER, "service",
	  "TLS handshakes that failed, by service." },
	{ .name = "correo_auth_failures_total", M_COUNTER, "service",
	  "Failed authentication attempts, by service." },
	{ .name = "correo_process_pool_processes", M_GAUGE, "service",
	  "Processes master runs for a service now." },
	{ .name = "correo_process_pool_busy", M_GAUGE, "service",
	  "Processes of a service serving a client now." },
	{ .name = "correo_process_pool_limit", M_GAUGE, "service",
	  "The service's process limit (maxproc; 0 means none)." },
	{ .name = "correo_metrics_updates_total", M_COUNTER, NULL,
	  "Update lines the metrics service received (malformed ones too)." },
	{ .name = "correo_metrics_updates_rejected_total", M_COUNTER, NULL,
	  "Updates the metrics service ignored as malformed or unknown." },
};
#define METRICS_NDEFS (sizeof(metrics_defs) / sizeof(*metrics_defs))

static struct metrics_def *metrics_find(const char *name)
{
	for (size_t i = 0; i < METRICS_NDEFS; i++)
		if (strcmp(metrics_defs[i].name, name) == 0)
			return &metrics_defs[i];
	return NULL;
}

static struct metrics_series *metrics_series(struct metrics_def *d,
					     const char *label)
{
	if (d->label == NULL)
		label = "";
	for (size_t i = 0; i < d->nseries; i++)
		if (strcmp(d->series[i].label, label) == 0)
			return &d->series[i];
	/* Full: the last slot is "other". */
	if (d->nseries >= METRICS_MAX_SERIES - 1 &&
	    strcmp(label, "other") != 0)
		return metrics_series(d, "other");
	memset(&d->series[d->nseries], 0, sizeof(d->series[0]));
	memcpy(d->series[d->nseries].label, label, strlen(label) + 1);
	return &d->series[d->nseries++];
}

/* A metric name, or (label) a service or transport name, which for
 * an inet row is its address: "[::1]:25". Nothing that would need
 * quoting in the exposition. */
static bool metrics_token_ok(const char *s, size_t max, bool label)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (n >= max || !((*s >= 'a' && *s <= 'z') ||
				  (*s >= 'A' && *s <= 'Z') ||
				  (*s >= '0' && *s <= '9') ||
				  *s == '_' || (label &&
				  strchr("-.:[]", *s) != NULL)))
			return false;
	return n > 0;
}

static bool metrics_apply(char *line)
{
	char *kind, *name, *label, *value, *end, *cursor = line;
	struct metrics_def *d;
	struct metrics_series *s;
	double v;

	kind = str_token(&cursor, " ");
	name = str_token(&cursor, " ");
	label = str_token(&cursor, " ");
	value = str_token(&cursor, " ");
	if (value == NULL || str_token(&cursor, " ") != NULL ||
	    strlen(kind) != 1 || !metrics_token_ok(name, 64, false) ||
	    !metrics_token_ok(label, METRICS_LABEL_MAX, true) ||
	    (d = metrics_find(name)) == NULL)
		return false;
	v = strtod(value, &end);
	if (*end != '\0' || end == value || !isfinite(v))
		return false;
	switch (d->type) {
	case M_COUNTER:
		if (kind[0] != 'c' || v < 0)
			return false;
		metrics_series(d, label)->value += v;
		return true;
	case M_GAUGE:
		if (kind[0] != 'g')
			return false;
		metrics_series(d, label)->value = v;
		return true;
	case M_HISTOGRAM:
		if (kind[0] != 'h' || v < 0)
			return false;
		s = metrics_series(d, label);
		for (size_t i = 0; i < METRICS_NBUCKETS; i++)
			if (v <= metrics_buckets[i])
				s->buckets[i]++;
		s->count++;
		s->sum += v;
		return true;
	}
	return false;
}

bool metrics_update(const char *text, size_t len)
{
	char line[160];
	bool ok;

	metrics_series(metrics_find("correo_metrics_updates_total"),
		       "")->value++;
	ok = len > 0 && len < sizeof(line) &&
		memchr(text, '\0', len) == NULL;
	if (ok) {
		memcpy(line, text, len);
		line[len] = '\0';
		ok = metrics_apply(line);
	}
	if (!ok)
		metrics_series(metrics_find(
			"correo_metrics_updates_rejected_total"),
			       "")->value++;
	return ok;
}

void metrics_table_reset(void)
{
	for (size_t i = 0; i < METRICS_NDEFS; i++)
		metrics_defs[i].nseries = 0;
}

/* A value as Prometheus reads it: integers without a fraction. */
static void metrics_value(struct str *out, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		str_printf(out, "%.0f", v);
	else
		str_printf(out, "%.15g", v);
}

static void metrics_labels(struct str *out, const struct metrics_def *d,
			   const struct metrics_series *s, const char *le)
{
	bool any = d->label != NULL || le != NULL;

	if (!any)
		return;
	str_append_c(out, '{');
	if (d->label != NULL)
		str_printf(out, "%s=\"%s\"", d->label, s->label);
	if (le != NULL)
		str_printf(out, "%sle=\"%s\"", d->label != NULL ? "," : "",
			   le);
	str_append_c(out, '}');
}

static void metrics_render_def(struct str *out, const struct metrics_def *d)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	char le[32];

	str_printf(out, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help,
		   d->name, types[d->type]);
	/* A metric without a label is always there, from 0. */
	if (d->label == NULL && d->nseries == 0 && d->type == M_COUNTER)
		str_printf(out, "%s 0\n", d->name);
	for (size_t i = 0; i < d->nseries; i++) {
		const struct metrics_series *s = &d->series[i];

		if (d->type != M_HISTOGRAM) {
			str_append(out, d->name);
			metrics_labels(out, d, s, NULL);
			str_append_c(out, ' ');
			metrics_value(out, s->value);
			str_append_c(out, '\n');
			continue;
		}
		for (size_t b = 0; b < METRICS_NBUCKETS; b++) {
			snprintf(le, sizeof(le), "%g", metrics_buckets[b]);
			str_printf(out, "%s_bucket", d->name);
			metrics_labels(out, d, s, le);
			str_printf(out, " %llu\n", s->buckets[b]);
		}
		str_printf(out, "%s_bucket", d->name);
		metrics_labels(out, d, s, "+Inf");
		str_printf(out, " %llu\n%s_sum", s->count, d->name);
		metrics_labels(out, d, s, NULL);
		str_append_c(out, ' ');
		metrics_value(out, s->sum);
		str_printf(out, "\n%s_count", d->name);
		metrics_labels(out, d, s, NULL);
		str_printf(out, " %llu\n", s->count);
	}
}

/* Queue files in one folder: names not starting with "." and, in
 * incoming/, not a file still being written (queue_file_writing). -1
 * if the folder cannot be read. */
static long metrics_count_dir(int queue_fd, const char *name)
{
	int fd = openat(queue_fd, name, O_RDONLY | O_DIRECTORY |
			O_NOFOLLOW | O_CLOEXEC);
	DIR *dir;
	struct dirent *e;
	long n = 0;

	if (fd < 0)
		return -1;
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.' &&
		    !(strcmp(name, QUEUE_INCOMING) == 0 &&
		      queue_file_writing(dirfd(dir), e->d_name)))
			n++;
	closedir(dir);
	return n;
}

void metrics_render(struct str *out, int queue_fd)
{
	static const char *const queues[] = {
		QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
		QUEUE_CORRUPT,
	};

	if (queue_fd >= 0) {
		str_append(out, "# HELP correo_queue_messages Messages in "
			   "each queue folder now.\n"
			   "# TYPE correo_queue_messages gauge\n");
		for (size_t i = 0; i < sizeof(queues) / sizeof(*queues); i++) {
			long n = metrics_count_dir(queue_fd, queues[i]);

			if (n >= 0)
				str_printf(out, "correo_queue_messages"
					   "{queue=\"%s\"} %ld\n", queues[i],
					   n);
		}
	}
	for (size_t i = 0; i < METRICS_NDEFS; i++)
		metrics_render_def(out, &metrics_defs[i]);
}
