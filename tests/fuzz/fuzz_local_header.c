/*
 * fuzz_local_header: libFuzzer target for local's reading of a message
 * (delivery/local_content.c): the header scan for "Delivered-To: rcpt"
 * (mail loop detection), the Maildir/file copy with Return-Path: and
 * Delivered-To: prepended, and the mbox entry with ">From " quoting.
 *
 * Input: byte 0 picks the envelope (sender and recipient, some with CR
 * or LF that must not reach the header); the rest is the message
 * content, stored in a real queue file in a private directory.
 * Checks, each against a plain reimplementation: the loop verdict (a
 * Delivered-To: naming the recipient in the header, that is before the
 * first empty line); the copy is exactly the two header lines plus the
 * content; the mbox entry is the From_ line, the two header lines, the
 * content with "From " lines quoted, and the blank line that ends it.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <strings.h>

#include "fuzz.h"

#include "local.h"
#include "queue.h"

static const char *const envelopes[][2] = {
	{ "a@example.org", "b@example.net" },
	{ "", "postmaster@example.net" },
	{ "evil\r\nX-Injected: 1@example.org", "b@example.net" },
	{ "a@example.org", "loop@example.net\nX: y" },
	{ "MAILER-DAEMON", "B@Example.NET" },
	{ "a@example.org", "" },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_local_header");
	return 0;
}

/* The reference loop check. */
static int ref_loop(const char *p, size_t n, const char *rcpt)
{
	size_t start = 0, end, a, b, rlen = strlen(rcpt);

	while (start < n) {
		const char *nl = memchr(p + start, '\n', n - start);

		end = nl != NULL ? (size_t)(nl - p) : n;
		if (end == start)
			return 0;
		if (end - start >= 13 &&
		    strncasecmp(p + start, "Delivered-To:", 13) == 0) {
			a = start + 13;
			b = end;
			while (a < b && (p[a] == ' ' || p[a] == '\t'))
				a++;
			while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t' ||
					 p[b - 1] == '\r'))
				b--;
			if (b - a == rlen &&
			    strncasecmp(p + a, rcpt, rlen) == 0)
				return 1;
		}
		start = end + 1;
	}
	return 0;
}

static void clean(struct str *out, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != '\r' && *s != '\n')
			str_append_c(out, *s);
}

static void ref_headers(struct str *out, const char *sender,
			const char *rcpt)
{
	str_append(out, "Return-Path: <");
	clean(out, sender);
	str_append(out, ">\nDelivered-To: ");
	clean(out, rcpt);
	str_append_c(out, '\n');
}

static void ref_mbox_body(struct str *out, const char *p, size_t n)
{
	size_t start = 0, end;

	while (start < n) {
		const char *nl = memchr(p + start, '\n', n - start);

		end = nl != NULL ? (size_t)(nl - p) + 1 : n;
		if (end - start >= 5 && memcmp(p + start, "From ", 5) == 0)
			str_append_c(out, '>');
		str_append_n(out, p + start, end - start);
		start = end;
	}
	str_append(out, n > 0 && p[n - 1] != '\n' ? "\n\n" : "\n");
}

/* What fn wrote into a memfd. */
static void capture(bool (*fn)(int, void *), struct local_content *c,
		    struct str *out)
{
	int fd = memfd_create("out", MFD_CLOEXEC);
	char buf[8192];
	ssize_t n;

	if (fd < 0 || !fn(fd, c) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		str_append_n(out, buf, (size_t)n);
	close(fd);
}

static void same(const struct str *got, const struct str *want,
		 const char *what)
{
	if (got->len != want->len ||
	    memcmp(str_c(got), str_c(want), got->len) != 0) {
		fprintf(stderr, "%s differs\n", what);
		abort();
	}
}

static void check(struct queue_msg *m, const char *p, size_t n,
		  const char *sender, const char *rcpt)
{
	struct local_content c = { m, sender, rcpt, NULL };
	struct str got = STR_INIT, want = STR_INIT;
	const char *nl;

	if (local_content_loop(m, rcpt) != ref_loop(p, n, rcpt)) {
		fprintf(stderr, "loop verdict differs\n");
		abort();
	}
	capture(local_content_write, &c, &got);
	ref_headers(&want, sender, rcpt);
	str_append_n(&want, p, n);
	same(&got, &want, "the Maildir copy");
	str_clear(&got);
	str_clear(&want);
	capture(local_content_write_mbox, &c, &got);
	/* The From_ line holds the time: take it as written. */
	nl = memchr(str_c(&got), '\n', got.len);
	if (strncmp(str_c(&got), "From ", 5) != 0 || nl == NULL)
		abort();
	str_append_n(&want, str_c(&got), (size_t)(nl - str_c(&got)) + 1);
	ref_headers(&want, sender, rcpt);
	ref_mbox_body(&want, p, n);
	same(&got, &want, "the mbox entry");
	str_release(&got);
	str_release(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t nenv = sizeof(envelopes) / sizeof(envelopes[0]);
	struct queue_writer *w;
	struct queue_msg *m;
	const char *error, *sender, *rcpt, *p;
	char path[256];
	size_t n;

	if (size < 1 || size > 200000)
		return 0;
	sender = envelopes[data[0] % nenv][0];
	rcpt = envelopes[data[0] % nenv][1];
	p = (const char *)data + 1;
	n = size - 1;
	w = queue_writer_create_in(fuzz_tmpdir(), 0600);
	if (w == NULL)
		abort();
	queue_writer_sender(w, "a@example.org");
	queue_writer_rcpt(w, "b@example.net", "b@example.net", 0);
	if ((n > 0 && !queue_writer_content(w, p, n)) ||
	    !queue_writer_commit(w))
		abort();
	if (!str_snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(),
			  queue_writer_id(w)))
		abort();
	queue_writer_free(&w);
	if (queue_msg_open(path, false, &m, &error) != 1) {
		fprintf(stderr, "queue_msg_open: %s\n", error);
		abort();
	}
	check(m, n > 0 ? p : "", n, sender, rcpt);
	queue_msg_free(&m);
	unlink(path);
	return 0;
}
