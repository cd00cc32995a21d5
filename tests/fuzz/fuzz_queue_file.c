/*
 * fuzz_queue_file: libFuzzer target for the queue file reader
 * (common/queue_file.c: queue_msg_open and the content access).
 *
 * Input: a whole queue file, written to a temporary file named like a
 * queue ID and opened read-only. A file accepted as good must keep the
 * promises qmgr and the delivery agents rely on: at least one
 * recipient, each recipient's status byte at its status_offset inside
 * the envelope (qmgr overwrites that byte in place), the content
 * inside the file, and queue_msg_content returning exactly those bytes.
 * A rejected file must come with a reason.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "queue.h"

static void check_msg(struct queue_msg *msg, const uint8_t *data,
		      size_t size)
{
	struct str content = STR_INIT;
	char buf[7];
	size_t i;

	if (msg->nrcpt < 1 || msg->sender == NULL || msg->content_offset < 0 ||
	    msg->content_len < 0 ||
	    (size_t)msg->content_offset > size ||
	    (size_t)msg->content_len > size - (size_t)msg->content_offset)
		abort();
	for (i = 0; i < msg->nrcpt; i++) {
		const struct queue_rcpt *r = &msg->rcpts[i];

		if (r->address == NULL || r->address[0] == '\0' ||
		    r->status_offset <= 0 ||
		    r->status_offset >= msg->content_offset ||
		    data[r->status_offset] != (uint8_t)r->status) {
			fprintf(stderr, "recipient %zu: bad status offset\n",
				i);
			abort();
		}
	}
	queue_msg_todo(msg);
	if (!queue_msg_content(msg, &content, size))
		abort();
	if (content.len != (size_t)msg->content_len ||
	    (content.len > 0 &&
	     memcmp(content.data, data + msg->content_offset,
		    content.len) != 0))
		abort();
	str_release(&content);
	if (queue_msg_content_read(msg, msg->content_len, buf,
				   sizeof(buf)) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_queue_file");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("1K0T8KD6CVR00K8E00", data, size);
	struct queue_msg *msg = NULL;
	const char *error = NULL;
	int ret;

	ret = queue_msg_open(path, false, &msg, &error);
	if (ret == 1) {
		check_msg(msg, data, size);
		queue_msg_free(&msg);
	} else if (ret == 0) {
		if (error == NULL || msg != NULL)
			abort();
	} else {
		fprintf(stderr, "queue_msg_open: I/O error: %m\n");
		abort();
	}
	return 0;
}
