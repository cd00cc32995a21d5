/*
 * fuzz_smtp_reply: libFuzzer target for the smtp client's reply reader
 * (delivery/smtp_reply.c: smtp_reply_read over lio, smtp_reply_line).
 *
 * Input: what a (hostile) SMTP server sends, read from a memfd through
 * lio. Replies are read until one fails. An accepted reply has a code in
 * 200-599, an enhanced status code starting with the code's class
 * digit, and a text that begins with the code; a refused one has code 0.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <ctype.h>

#include "fuzz.h"

#include "lio.h"
#include "smtp.h"

static void check_reply(const struct smtp_reply *r)
{
	if (r->code < 200 || r->code > 599)
		abort();
	if (memchr(r->dsn, '\0', sizeof(r->dsn)) == NULL ||
	    !isdigit((unsigned char)r->dsn[0]))
		abort();
	if (r->text.len < 3 || r->text.data[0] != '0' + r->code / 100)
		abort();
	smtp_reply_status(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_smtp_reply");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lio *lio = lio_create(fuzz_fd(data, size), 0);
	struct smtp_reply reply;
	int n;

	memset(&reply, 0, sizeof(reply));
	for (n = 0; n < 64; n++) {
		if (smtp_reply_read(lio, 5, &reply) != LIO_OK) {
			if (reply.code != 0)
				abort();
			break;
		}
		check_reply(&reply);
	}
	smtp_reply_release(&reply);
	lio_free(&lio);
	return 0;
}
