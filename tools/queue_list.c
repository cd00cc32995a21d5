/*
 * queue_list: the queue listing of "correo queue", "mailq" and
 * "sendmail -bp", its JSON form, and "correo queue show ID".
 *
 * Interface (queue_admin.h): queue_list_print, queue_list_show,
 * queue_admin_locate.
 *
 * The listing follows Postfix's mailq: a header line, then per message
 * "ID[status] size arrival sender", a deferral reason in parentheses
 * right-aligned at column 78 before the recipients it concerns, each
 * recipient still to deliver indented to column 42, a blank line between
 * messages and "-- N Kbytes in M Requests." (Kbytes of queue files) at
 * the end, or "Mail queue is empty". Status is '*' for active/ and '!'
 * for hold/. The queues are listed in the order maildrop, incoming,
 * active, deferred, hold, each sorted by ID (= by arrival). JSON is
 * postqueue -j's: one object per line with queue_name, queue_id,
 * arrival_time, message_size, forced_expire, sender and recipients
 * [{address, delay_reason}], plus next_attempt_time for deferred mail.
 * The text listing shows that time too, as a "(next try: ...)" line
 * under a deferred message's sender line.
 *
 * Files can move between directories while we read (qmgr runs): a file
 * that vanished between the scan and the open is skipped silently, one
 * that does not parse is skipped with a warning.
 *
 * SECURITY: runs as root or the mail owner and reads queue files, which
 * the reader checks strictly (queue_file.c). Addresses and reasons are
 * printed with control characters replaced by '?', so a queue file
 * cannot send escape sequences to the admin's terminal; JSON strings are
 * escaped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "mem.h"
#include "queue.h"
#include "safe_file.h"
#include "str.h"

#include "queue_admin.h"

#define LIST_DEFER_MAX (1024 * 1024)

static const char *const list_queues[] = {
	QUEUE_MAILDROP, QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED,
	QUEUE_HOLD, NULL,
};

struct list_ids {
	char **ids;
	size_t count;
};

struct list_state {
	FILE *out;
	const char *prog;
	bool json;
	unsigned long count;
	unsigned long long bytes;
};

const char queue_admin_receiving[] = "receiving";

const char *queue_admin_locate(const char *id)
{
	static const char *const dirs[] = {
		QUEUE_INCOMING, QUEUE_ACTIVE, QUEUE_DEFERRED, QUEUE_HOLD,
		QUEUE_MAILDROP, QUEUE_CORRUPT, NULL,
	};
	char path[QUEUE_ID_SIZE + 32];
	size_t i;

	if (!queue_id_valid(id))
		return NULL;
	for (i = 0; dirs[i] != NULL; i++) {
		if (!str_snprintf(path, sizeof(path), "%s/%s", dirs[i], id))
			continue;
		if (access(path, F_OK) != 0)
			continue;
		if (strcmp(dirs[i], QUEUE_INCOMING) == 0 &&
		    queue_file_writing(AT_FDCWD, path))
			return queue_admin_receiving;
		return dirs[i];
	}
	return NULL;
}

static bool list_collect(const char *id, void *ctx)
{
	struct list_ids *l = ctx;

	l->ids = mem_array_realloc(l->ids, l->count + 1, sizeof(*l->ids));
	l->ids[l->count++] = mem_strdup(id);
	return true;
}

static int list_idcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_ids_free(struct list_ids *l)
{
	for (size_t i = 0; i < l->count; i++)
		mem_free(l->ids[i]);
	free(l->ids);
	l->ids = NULL;
	l->count = 0;
}

/* Text with control characters (and DEL) replaced by '?'. */
static void list_printable(struct str *out, const char *s)
{
	str_clear(out);
	for (; *s != '\0'; s++)
		str_append_c(out, (unsigned char)*s < 0x20 || *s == 0x7f ?
			     '?' : *s);
}

static void list_json_string(FILE *out, const char *s)
{
	bool utf8 = addr_valid_utf8(s, strlen(s));

	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else if (c >= 0x80 && !utf8)
			fputs("\\ufffd", out);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* The reason recorded for rcpt in the defer log text, or NULL. The
 * last matching line wins. Returns a pointer into a scratch string. */
static const char *list_reason(const struct str *log, const char *rcpt,
			       struct str *scratch)
{
	const char *p = log->data, *end = p + log->len;
	size_t rlen = strlen(rcpt);
	bool found = false;

	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;

		if ((size_t)(le - p) > rlen + 3 && p[0] == '<' &&
		    memcmp(p + 1, rcpt, rlen) == 0 &&
		    memcmp(p + 1 + rlen, ">:", 2) == 0) {
			const char *r = p + rlen + 3;

			while (r < le && *r == ' ')
				r++;
			str_clear(scratch);
			str_append_n(scratch, r, (size_t)(le - r));
			found = true;
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return found ? str_c(scratch) : NULL;
}

static void list_defer_log(const char *id, struct str *log)
{
	char path[QUEUE_ID_SIZE + 32];

	str_clear(log);
	if (!str_snprintf(path, sizeof(path), "%s/%s", QUEUE_DEFER_DIR, id) ||
	    !safe_read_file(path, log, LIST_DEFER_MAX))
		str_clear(log);
}

static char list_status(const char *queue)
{
	if (strcmp(queue, QUEUE_ACTIVE) == 0)
		return '*';
	if (strcmp(queue, QUEUE_HOLD) == 0)
		return '!';
	return ' ';
}

/* When qmgr will try a deferred message again: it keeps that time as
 * the file's mtime (0 when not deferred). */
static time_t list_next_try(const char *queue, const struct queue_msg *m)
{
	struct stat sb;

	if (strcmp(queue, QUEUE_DEFERRED) != 0 || fstat(m->fd, &sb) != 0)
		return 0;
	return sb.st_mtime;
}

/* Format into s (cleared first) and return it. */
static const struct str *list_format(struct str *s, const char *fmt, ...)
	MSG_PRINTF(2, 3);
static const struct str *list_format(struct str *s, const char *fmt, ...)
{
	va_list ap;

	str_clear(s);
	va_start(ap, fmt);
	str_vprintf(s, fmt, ap);
	va_end(ap);
	return s;
}

static void list_text_msg(struct list_state *st, const char *queue,
			  const struct queue_msg *m, const struct str *log)
{
	struct str a = STR_INIT, scratch = STR_INIT, last = STR_INIT;
	char when[32];
	struct tm tm;
	time_t t = m->arrival;

	if (st->count > 0)
		fputc('\n', st->out);
	else
		fprintf(st->out, "%-11s %8s %-20s %s\n", "-Queue ID-",
			"--Size--", "----Arrival Time----",
			"-Sender/Recipient-------");
	localtime_r(&t, &tm);
	if (strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) == 0)
		when[0] = '\0';
	list_printable(&a, *m->sender != '\0' ? m->sender : "MAILER-DAEMON");
	fprintf(st->out, "%-10s%c %8lld %-20.20s %s\n", m->id,
		list_status(queue), (long long)m->content_len, when, str_c(&a));
	if ((t = list_next_try(queue, m)) != 0) {
		localtime_r(&t, &tm);
		if (strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm) > 0)
			fprintf(st->out, "%78s\n", str_c(list_format(
				&scratch, "(next try: %s)", when)));
	}
	for (size_t i = 0; i < m->nrcpt; i++) {
		const char *why;

		if (m->rcpts[i].status != QUEUE_RCPT_TODO)
			continue;
		why = list_reason(log, m->rcpts[i].address, &scratch);
		if (why != NULL && !str_equals(&last, why)) {
			str_set(&last, why);
			str_clear(&scratch);
			str_printf(&scratch, "(%s)", str_c(&last));
			list_printable(&a, str_c(&scratch));
			fprintf(st->out, "%78s\n", str_c(&a));
		}
		list_printable(&a, m->rcpts[i].address);
		fprintf(st->out, "%-11s %8s %-20s %s\n", "", "", "",
			str_c(&a));
	}
	str_release(&a);
	str_release(&scratch);
	str_release(&last);
}

static void list_json_msg(struct list_state *st, const char *queue,
			  const struct queue_msg *m, const struct str *log)
{
	struct str scratch = STR_INIT;
	bool first = true;

	fputs("{\"queue_name\": ", st->out);
	list_json_string(st->out, queue);
	fputs(", \"queue_id\": ", st->out);
	list_json_string(st->out, m->id);
	fprintf(st->out, ", \"arrival_time\": %lld, \"message_size\": %lld, "
		"\"forced_expire\": false, \"sender\": ",
		(long long)m->arrival, (long long)m->content_len);
	list_json_string(st->out, m->sender);
	if (list_next_try(queue, m) != 0)
		fprintf(st->out, ", \"next_attempt_time\": %lld",
			(long long)list_next_try(queue, m));
	fputs(", \"recipients\": [", st->out);
	for (size_t i = 0; i < m->nrcpt; i++) {
		const char *why;

		if (m->rcpts[i].status != QUEUE_RCPT_TODO)
			continue;
		fputs(first ? "{\"address\": " : ", {\"address\": ", st->out);
		first = false;
		list_json_string(st->out, m->rcpts[i].address);
		why = list_reason(log, m->rcpts[i].address, &scratch);
		if (why != NULL) {
			fputs(", \"delay_reason\": ", st->out);
			list_json_string(st->out, why);
		}
		fputc('}', st->out);
	}
	fputs("]}\n", st->out);
	str_release(&scratch);
}

static void list_one(struct list_state *st, const char *queue,
		     const char *id, struct str *log)
{
	struct queue_msg *m = NULL;
	const char *error;
	struct stat sb;
	char path[QUEUE_ID_SIZE + 32];
	int ret;

	if (!str_snprintf(path, sizeof(path), "%s/%s", queue, id))
		return;
	ret = queue_msg_open(path, false, &m, &error);
	if (ret < 0) {
		if (errno != ENOENT)
			fprintf(stderr, "%s: warning: %s: %s\n", st->prog,
				path, strerror(errno));
		return;
	}
	if (ret == 0) {
		fprintf(stderr, "%s: warning: %s: %s\n", st->prog, path,
			error);
		return;
	}
	list_defer_log(id, log);
	if (st->json)
		list_json_msg(st, queue, m, log);
	else
		list_text_msg(st, queue, m, log);
	if (fstat(m->fd, &sb) == 0)
		st->bytes += (unsigned long long)sb.st_size;
	st->count++;
	queue_msg_free(&m);
}

int queue_list_print(FILE *out, const char *prog, bool json)
{
	struct list_state st = { .out = out, .prog = prog, .json = json };
	struct list_ids ids = { NULL, 0 };
	struct str log = STR_INIT;
	int status = 0;

	if (access(QUEUE_INCOMING, R_OK | X_OK) < 0) {
		fprintf(stderr, "%s: cannot read the queue: %s (run it as "
			"root or as the mail owner)\n", prog, strerror(errno));
		return 1;
	}
	for (size_t q = 0; list_queues[q] != NULL; q++) {
		if (queue_scan(list_queues[q], list_collect, &ids) < 0) {
			fprintf(stderr, "%s: cannot read %s/: %s\n", prog,
				list_queues[q], strerror(errno));
			status = 1;
		}
		if (ids.count > 1)
			qsort(ids.ids, ids.count, sizeof(*ids.ids),
			      list_idcmp);
		for (size_t i = 0; i < ids.count; i++)
			list_one(&st, list_queues[q], ids.ids[i], &log);
		list_ids_free(&ids);
	}
	str_release(&log);
	if (json)
		;
	else if (st.count == 0)
		fputs("Mail queue is empty\n", out);
	else
		fprintf(out, "\n-- %llu Kbytes in %lu Request%s.\n",
			st.bytes / 1024, st.count, st.count == 1 ? "" : "s");
	if (fflush(out) != 0)
		status = 1;
	return status;
}

static const char *show_rcpt_status(char status)
{
	switch (status) {
	case QUEUE_RCPT_TODO:
		return "to do";
	case QUEUE_RCPT_DONE:
		return "delivered";
	case QUEUE_RCPT_BOUNCED:
		return "bounced";
	default:
		return "?";
	}
}

static void show_envelope(FILE *out, const char *path,
			  const struct queue_msg *m)
{
	struct str a = STR_INIT;
	char when[64];
	struct tm tm;
	time_t t = m->arrival;

	localtime_r(&t, &tm);
	if (strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		when[0] = '\0';
	fprintf(out, "*** ENVELOPE RECORDS %s ***\n", path);
	fprintf(out, "message_size: %lld\n", (long long)m->content_len);
	fprintf(out, "message_arrival_time: %s\n", when);
	list_printable(&a, m->sender);
	fprintf(out, "sender: %s\n", str_c(&a));
	for (size_t i = 0; i < m->attrs.count; i++) {
		list_printable(&a, m->attrs.attrs[i].value);
		fprintf(out, "named_attribute: %s=%s\n",
			m->attrs.attrs[i].name, str_c(&a));
	}
	for (size_t i = 0; i < m->nrcpt; i++) {
		if (m->rcpts[i].orig != NULL) {
			list_printable(&a, m->rcpts[i].orig);
			fprintf(out, "original_recipient: %s\n", str_c(&a));
		}
		list_printable(&a, m->rcpts[i].address);
		fprintf(out, "recipient: %s (%s)\n", str_c(&a),
			show_rcpt_status(m->rcpts[i].status));
	}
	fprintf(out, "*** MESSAGE CONTENTS %s ***\n", path);
	str_release(&a);
}

int queue_list_show(FILE *out, const char *prog, const char *id)
{
	const char *queue = queue_admin_locate(id);
	struct queue_msg *m = NULL;
	const char *error;
	char path[QUEUE_ID_SIZE + 32];
	int ret, status = 0;

	if (queue == NULL) {
		fprintf(stderr, "%s: %s: no such message in the queue\n",
			prog, id);
		return 1;
	}
	if (queue == queue_admin_receiving) {
		fprintf(stderr, "%s: %s: message is still being received; "
			"try again in a moment\n", prog, id);
		return 1;
	}
	if (!str_snprintf(path, sizeof(path), "%s/%s", queue, id))
		return 1;
	ret = queue_msg_open(path, false, &m, &error);
	if (ret <= 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path,
			ret < 0 ? strerror(errno) : error);
		return 1;
	}
	show_envelope(out, path, m);
	fflush(out);
	if (!queue_msg_content_copy(m, fileno(out))) {
		fprintf(stderr, "%s: %s: read error: %s\n", prog, path,
			strerror(errno));
		status = 1;
	}
	fprintf(out, "*** END OF MESSAGE %s ***\n", path);
	queue_msg_free(&m);
	return status;
}
