/*
 * qmgr_time: pure time arithmetic for qmgr (qmgr.h): the retry backoff
 * and the way delays are written in log lines.
 *
 * Backoff follows Postfix: a deferred message waits as long as it has
 * been in the queue, but at least minimal_backoff_time and at most
 * maximal_backoff_time, so retries thin out exponentially-ish as a
 * message ages. The next attempt time lives in the deferred file's
 * mtime, so it needs no extra state and survives restarts.
 *
 * Interface: qmgr_backoff_next, qmgr_delay_format, qmgr_now.
 *
 * SECURITY: no input from outside the process.
 */
#include "config.h"

#include <string.h>
#include <sys/time.h>

#include "qmgr.h"

time_t qmgr_backoff_next(time_t now, time_t arrival, long min_backoff,
			 long max_backoff)
{
	long age = now > arrival ? (long)(now - arrival) : 0;

	if (max_backoff < min_backoff)
		max_backoff = min_backoff;
	if (age < min_backoff)
		age = min_backoff;
	if (age > max_backoff)
		age = max_backoff;
	return now + age;
}

void qmgr_delay_format(struct str *out, double s)
{
	char buf[64];
	size_t len;

	if (s < 0.005) {
		str_append(out, "0");
		return;
	}
	if (s >= 10) {
		(void)str_snprintf(buf, sizeof(buf), "%.0f", s);
		str_append(out, buf);
		return;
	}
	(void)str_snprintf(buf, sizeof(buf), s < 1 ? "%.2f" : "%.1f", s);
	/* "0.10" -> "0.1", "2.0" -> "2". */
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
	str_append(out, buf);
}

double qmgr_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}
