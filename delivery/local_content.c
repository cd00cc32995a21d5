/*
 * local_content: the bytes local writes for one delivery (local.h).
 *
 * Every delivery gets "Return-Path: <sender>" and "Delivered-To: rcpt"
 * prepended to the message as queued; an mbox entry also gets a From_
 * line, ">From " quoting and a closing blank line. The loop check scans
 * the message header for a Delivered-To naming the same recipient, the
 * way Postfix's local stops forwarding loops.
 *
 * Interface: local_content_write, local_content_store,
 * local_content_write_mbox,
 * local_content_loop.
 *
 * SECURITY: reads the queue file through the fd qmgr's request led local
 * to open (read-only). The sender and recipient come from the queue file
 * envelope, which smtpd checked; CR and LF are stripped from them anyway
 * so they can never add header lines.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>

#include "local.h"
#include "safe_file.h"
#include "store.h"
#include "str.h"

/* Most header bytes scanned for Delivered-To. */
#define LOCAL_HEADER_SCAN_MAX (1024 * 1024)
#define LOCAL_CHUNK 65536

/* An envelope address, safe inside one header line. */
static void local_clean(struct str *out, const char *addr)
{
	for (; *addr != '\0'; addr++)
		if (*addr != '\r' && *addr != '\n')
			str_append_c(out, *addr);
}

static void local_headers(struct str *out, const struct local_content *c)
{
	str_append(out, "Return-Path: <");
	local_clean(out, c->sender);
	str_append(out, ">\nDelivered-To: ");
	local_clean(out, c->rcpt);
	str_append_c(out, '\n');
}

bool local_content_write(int fd, void *ctx)
{
	const struct local_content *c = ctx;
	struct str head = STR_INIT;
	bool ok;

	local_headers(&head, c);
	ok = safe_write_all(fd, head.data, head.len) &&
		queue_msg_content_copy(c->msg, fd);
	str_release(&head);
	return ok;
}

enum maildir_status local_content_store(const struct local_content *c,
					const char *dir, long long size_limit,
					struct str *error_r,
					const char **dsn_r)
{
	struct str head = STR_INIT;
	struct iovec iov[2];
	enum maildir_status st;

	if (c->data == NULL)
		return store_deliver(dir, 0, 0, local_content_write,
				     (void *)c, size_limit, NULL, error_r,
				     dsn_r);
	local_headers(&head, c);
	iov[0].iov_base = head.data;
	iov[0].iov_len = head.len;
	iov[1].iov_base = (void *)c->data;
	iov[1].iov_len = (size_t)c->msg->content_len;
	st = store_deliver_iov(dir, 0, 0, iov, 2, size_limit, NULL, error_r,
			       dsn_r);
	str_release(&head);
	return st;
}

/* Write buf's complete lines with ">From " quoting; keep the partial
 * last line in buf. at_bol says whether buf starts a line. */
static bool local_mbox_lines(int fd, struct str *buf, struct str *out,
			     bool final)
{
	size_t start = 0;

	str_clear(out);
	while (start < buf->len) {
		const char *nl = memchr(buf->data + start, '\n',
					buf->len - start);
		size_t end = nl != NULL ? (size_t)(nl - buf->data) + 1 :
			buf->len;

		if (nl == NULL && !final)
			break;
		if (end - start >= 5 &&
		    memcmp(buf->data + start, "From ", 5) == 0)
			str_append_c(out, '>');
		str_append_n(out, buf->data + start, end - start);
		start = end;
	}
	str_consume(buf, start);
	return safe_write_all(fd, out->data, out->len);
}

bool local_content_write_mbox(int fd, void *ctx)
{
	const struct local_content *c = ctx;
	struct str buf = STR_INIT, out = STR_INIT;
	char chunk[LOCAL_CHUNK];
	time_t now = time(NULL);
	off_t pos = 0;
	ssize_t n;
	bool ok = false;

	str_append(&out, "From ");
	local_clean(&out, *c->sender != '\0' ? c->sender : "MAILER-DAEMON");
	str_printf(&out, " %s", ctime(&now));	/* ctime ends in '\n' */
	local_headers(&out, c);
	if (!safe_write_all(fd, out.data, out.len))
		goto out;
	while ((n = queue_msg_content_read(c->msg, pos, chunk,
					   sizeof(chunk))) > 0) {
		pos += n;
		str_append_n(&buf, chunk, (size_t)n);
		if (!local_mbox_lines(fd, &buf, &out, false))
			goto out;
	}
	if (n < 0 || !local_mbox_lines(fd, &buf, &out, true))
		goto out;
	/* End the last line if needed, then the blank line between
	 * entries. */
	ok = out.len > 0 && out.data[out.len - 1] != '\n' ?
		safe_write_all(fd, "\n\n", 2) : safe_write_all(fd, "\n", 1);
out:
	str_release(&buf);
	str_release(&out);
	return ok;
}

/* Is line (without LF) "Delivered-To: rcpt"? */
static bool local_is_delivered_to(const char *line, size_t len,
				  const char *rcpt)
{
	size_t rlen = strlen(rcpt);

	if (len < 13 || strncasecmp(line, "Delivered-To:", 13) != 0)
		return false;
	line += 13;
	len -= 13;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
			   line[len - 1] == '\r'))
		len--;
	return len == rlen && strncasecmp(line, rcpt, len) == 0;
}

int local_content_loop(struct queue_msg *msg, const char *rcpt)
{
	struct str head = STR_INIT;
	char chunk[8192];
	size_t start = 0;
	ssize_t n;
	int ret = 0;

	/* Read until the end of the header (a blank line). */
	while (head.len < LOCAL_HEADER_SCAN_MAX &&
	       strstr(str_c(&head), "\n\n") == NULL &&
	       (head.len == 0 || head.data[0] != '\n')) {
		n = queue_msg_content_read(msg, (off_t)head.len, chunk,
					   sizeof(chunk));
		if (n < 0) {
			str_release(&head);
			return -1;
		}
		if (n == 0)
			break;
		str_append_n(&head, chunk, (size_t)n);
	}
	while (start < head.len && ret == 0) {
		const char *nl = memchr(head.data + start, '\n',
					head.len - start);
		size_t end = nl != NULL ? (size_t)(nl - head.data) : head.len;

		if (end == start)
			break;		/* the blank line */
		if (local_is_delivered_to(head.data + start, end - start,
					  rcpt))
			ret = 1;
		start = end + 1;
	}
	str_release(&head);
	return ret;
}
