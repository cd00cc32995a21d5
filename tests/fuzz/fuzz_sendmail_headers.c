/*
 * fuzz_sendmail_headers: libFuzzer target for "sendmail -t" (tools/
 * sendmail.c): the message reader (CRLF to LF, the lone-dot end),
 * the header scan that extracts To:/Cc:/Bcc: recipients and removes
 * Bcc:, the RFC 5322 address-list parser and the address check.
 *
 * Input: byte 0 bit 0 says whether a line holding "." ends the message
 * (sendmail without -i); the rest is the message as sendmail reads it.
 * Checks: the message read ends in LF and holds no CRLF; the header scan
 * only removes bytes and removes every Bcc: (a second pass changes
 * nothing); every extracted address either qualifies or is refused with
 * a reason, and a qualified one holds exactly one '@'.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <stdio.h>

#include "fuzz.h"

#include "sendmail.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_sendmail_headers");
	return 0;
}

static void check_read(const struct str *msg)
{
	if (msg->len > 0 && msg->data[msg->len - 1] != '\n') {
		fprintf(stderr, "message does not end in LF\n");
		abort();
	}
}

static void check_rcpts(const struct sendmail_list *rcpts)
{
	struct str out = STR_INIT;
	const char *error;

	for (size_t i = 0; i < rcpts->count; i++) {
		error = NULL;
		if (sendmail_qualify(rcpts->items[i], "origin.example", false,
				     &out, &error)) {
			/* A quoted local part may hold '@': the domain is
			 * after the last one. */
			const char *at = strrchr(str_c(&out), '@');

			if (at == NULL || at == str_c(&out) || at[1] == '\0') {
				fprintf(stderr, "qualified \"%s\" as \"%s\"\n",
					rcpts->items[i], str_c(&out));
				abort();
			}
		} else if (error == NULL) {
			abort();
		}
	}
	str_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sendmail_list rcpts = { NULL, 0 }, again = { NULL, 0 };
	struct str msg = STR_INIT, copy = STR_INIT;
	FILE *in;
	int ret;

	if (size < 1)
		return 0;
	in = fmemopen(size > 1 ? (void *)(data + 1) : (void *)"", size - 1,
		      "r");
	if (in == NULL)
		abort();
	ret = sendmail_read_message(in, (data[0] & 1) != 0, 1 << 20, &msg);
	fclose(in);
	if (ret != 1)
		goto out;
	check_read(&msg);
	str_append_n(&copy, str_c(&msg), msg.len);
	sendmail_headers(&msg, true, &rcpts);
	if (msg.len > copy.len) {
		fprintf(stderr, "the header scan added bytes\n");
		abort();
	}
	str_clear(&copy);
	str_append_n(&copy, str_c(&msg), msg.len);
	sendmail_headers(&msg, true, &again);
	if (msg.len != copy.len ||
	    memcmp(str_c(&msg), str_c(&copy), msg.len) != 0) {
		fprintf(stderr, "a Bcc: survived the header scan\n");
		abort();
	}
	check_rcpts(&rcpts);
out:
	sendmail_list_free(&rcpts);
	sendmail_list_free(&again);
	str_release(&msg);
	str_release(&copy);
	return 0;
}
