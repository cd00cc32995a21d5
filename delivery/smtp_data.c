/*
 * smtp_data: the message content on the wire (RFC 5321 4.5.2).
 *
 * Interface: smtp_stuff_init, smtp_stuff, smtp_stuff_end, smtp_data_send.
 *
 * The queue keeps content unstuffed with bare LF line ends; on the way
 * out every LF becomes CRLF (a CR already in front of an LF is kept, not
 * doubled) and a line starting with "." gets another. The encoder is a
 * two-bit state machine so content can be streamed in chunks of any size
 * and split anywhere (the unit tests feed it one byte at a time).
 *
 * SECURITY: the content is untrusted but only copied; the state machine
 * guarantees the peer never sees a premature "CRLF.CRLF".
 */
#include "config.h"

#include <errno.h>

#include "smtp.h"

#define SMTP_DATA_CHUNK 65536

void smtp_stuff_init(struct smtp_stuff *st)
{
	st->bol = true;
	st->cr = false;
}

void smtp_stuff(struct smtp_stuff *st, const char *data, size_t len,
		struct str *out)
{
	size_t start = 0;

	str_reserve(out, len + len / 16 + 4);
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (st->bol && c == '.') {
			str_append_n(out, data + start, i - start);
			str_append_c(out, '.');
			start = i;
		}
		if (c == '\n') {
			str_append_n(out, data + start, i - start);
			str_append(out, st->cr ? "\n" : "\r\n");
			start = i + 1;
			/* Once the line ended, a pending CR belongs to the
			 * CRLF just written. */
		}
		st->bol = c == '\n';
		st->cr = c == '\r';
	}
	str_append_n(out, data + start, len - start);
}

void smtp_stuff_end(struct smtp_stuff *st, struct str *out)
{
	if (!st->bol)
		str_append(out, st->cr ? "\n" : "\r\n");
	str_append(out, ".\r\n");
	st->bol = true;
	st->cr = false;
}

enum lio_status smtp_data_send(struct smtp_session *s, struct queue_msg *msg,
			       bool *read_error_r)
{
	static char buf[SMTP_DATA_CHUNK];
	struct smtp_stuff st;
	struct str out = STR_INIT;
	enum lio_status ret = LIO_OK;
	off_t pos = 0;
	ssize_t n;

	*read_error_r = false;
	smtp_stuff_init(&st);
	lio_set_timeout(s->lio, (int)smtp_set.data_xfer_timeout);
	while ((n = queue_msg_content_read(msg, pos, buf, sizeof(buf))) > 0) {
		pos += n;
		str_clear(&out);
		smtp_stuff(&st, buf, (size_t)n, &out);
		/* Flush what came before, never the newest chunk: the end
		 * marker must go out in the same write as the content before
		 * it, or Nagle holds the small "." segment until the peer's
		 * delayed ACK (40 ms a message). */
		if (lio_output_pending(s->lio) >= SMTP_DATA_CHUNK) {
			ret = lio_flush(s->lio);
			if (ret != LIO_OK)
				goto done;
		}
		lio_write(s->lio, out.data, out.len);
	}
	if (n < 0) {
		int saved = errno;

		*read_error_r = true;
		ret = LIO_ERROR;
		errno = saved;
		goto done;
	}
	str_clear(&out);
	smtp_stuff_end(&st, &out);
	lio_write(s->lio, out.data, out.len);
	ret = lio_flush(s->lio);
done:
	str_release(&out);
	return ret;
}
