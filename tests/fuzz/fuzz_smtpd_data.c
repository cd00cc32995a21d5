/*
 * fuzz_smtpd_data: libFuzzer target for the message content stream of
 * smtpd (smtpd/smtpd_data.c: DATA with dot-unstuffing, BDAT chunks),
 * driven through a whole session (smtpd_session_run) on a socketpair,
 * with the queue files written into a private directory.
 *
 * Input: byte 0 picks the mode, byte 1 seeds how content is cut, the
 * rest is the payload.
 *   mode even: the payload is what the client sends after EHLO, MAIL and
 *     RCPT: any commands, DATA content and BDAT chunks, cut anywhere
 *     (the session must end without a crash, leak or hang).
 *   mode odd: the payload is a message (CR and NUL removed, LF line
 *     ends). It is sent once with DATA (dot-stuffed, CRLF) and once
 *     with BDAT in chunks whose sizes come from the seed; whenever the
 *     message is accepted, the content stored after our Received:
 *     header must be exactly the message.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fuzz.h"

#include "cfg.h"
#include "cidr.h"
#include "queue.h"
#include "resolve.h"
#include "smtpd.h"
#include "smtpd_server.h"

static struct smtpd_config config;
static struct cfg *cfg;
static int queue_dir_fd;	/* the private queue directory */

/* The client side: write the whole stream, then read every reply. */
struct client {
	int fd;
	const char *out;
	size_t out_len;
	struct str in;
};

static void *client_run(void *arg)
{
	struct client *c = arg;
	char buf[4096];
	ssize_t n;

	fuzz_write_all(c->fd, (const uint8_t *)c->out, c->out_len);
	(void)shutdown(c->fd, SHUT_WR);
	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		str_append_n(&c->in, buf, (size_t)n);
	return NULL;
}

/* Run one session with the client sending stream; replies into in. */
static void session(const struct str *stream, struct str *in)
{
	struct client c = { .out = stream->data, .out_len = stream->len };
	pthread_t th;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	c.fd = sv[1];
	if (pthread_create(&th, NULL, client_run, &c) != 0)
		abort();
	smtpd_session_run(&config, sv[0]);	/* closes sv[0] */
	pthread_join(th, NULL);
	close(sv[1]);
	str_append_n(in, c.in.data, c.in.len);
	str_release(&c.in);
}

/* The content of every queue file in incoming/ after our Received:
 * header, each removed; the count. */
static size_t take_queue_files(struct str *contents)
{
	struct queue_msg *m;
	struct str text = STR_INIT;
	const char *error;
	struct dirent *de;
	size_t count = 0;
	char *p;
	DIR *d = opendir(QUEUE_INCOMING);
	char path[256];

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!str_snprintf(path, sizeof(path), "%s/%s",
				  QUEUE_INCOMING, de->d_name))
			abort();
		if (queue_msg_open(path, false, &m, &error) != 1)
			abort();
		str_clear(&text);
		if (!queue_msg_content(m, &text, 1 << 24))
			abort();
		/* Skip "Received: ..." and its tab-led continuations. */
		p = text.data;
		if (p == NULL || strncmp(p, "Received: ", 10) != 0)
			abort();
		while ((p = strchr(p, '\n')) != NULL && p[1] == '\t')
			p++;
		if (p == NULL)
			abort();
		p++;
		str_append_n(contents, p, text.len - (size_t)(p - text.data));
		queue_msg_free(&m);
		unlink(path);
		count++;
	}
	closedir(d);
	str_release(&text);
	return count;
}

static void remove_queue_files(void)
{
	struct str junk = STR_INIT;

	(void)take_queue_files(&junk);
	str_release(&junk);
}

#define PRELUDE "EHLO fuzz.example\r\nMAIL FROM:<a@fuzz.example>\r\n" \
	"RCPT TO:<postmaster@fuzz.test>\r\n"

static void mode_raw(const char *p, size_t n)
{
	struct str stream = STR_INIT, in = STR_INIT;

	str_append(&stream, PRELUDE);
	str_append_n(&stream, p, n);
	session(&stream, &in);
	remove_queue_files();
	str_release(&stream);
	str_release(&in);
}

static size_t count_queued(const struct str *in)
{
	size_t count = 0;
	const char *p = str_c(in);

	while ((p = strstr(p, "250 2.0.0 Ok: queued as ")) != NULL) {
		count++;
		p++;
	}
	return count;
}

/* Send the message by DATA or by BDAT; check what was stored. */
static void round_trip(const struct str *msg, bool bdat, unsigned seed)
{
	struct str stream = STR_INIT, in = STR_INIT, got = STR_INIT;
	size_t i, start, piece, queued, stored;

	str_append(&stream, PRELUDE);
	if (!bdat) {
		str_append(&stream, "DATA\r\n");
		for (start = 0; start < msg->len; start = i + 1) {
			i = start;
			while (msg->data[i] != '\n')
				i++;
			if (msg->data[start] == '.')
				str_append_c(&stream, '.');
			str_append_n(&stream, msg->data + start, i - start);
			str_append(&stream, "\r\n");
		}
		str_append(&stream, ".\r\n");
	} else {
		struct str crlf = STR_INIT;

		for (i = 0; i < msg->len; i++) {
			if (msg->data[i] == '\n')
				str_append_c(&crlf, '\r');
			str_append_c(&crlf, msg->data[i]);
		}
		for (start = 0;;) {
			seed = seed * 1103515245u + 12345u;
			piece = (seed >> 16) % 40;
			if (piece >= crlf.len - start)
				piece = crlf.len - start;
			str_printf(&stream, "BDAT %zu%s\r\n", piece,
				   start + piece == crlf.len ? " LAST" : "");
			str_append_n(&stream, str_c(&crlf) + start, piece);
			start += piece;
			if (start == crlf.len)
				break;
		}
		str_release(&crlf);
	}
	str_append(&stream, "QUIT\r\n");
	session(&stream, &in);
	queued = count_queued(&in);
	stored = take_queue_files(&got);
	if (queued != stored || queued > 1) {
		fprintf(stderr, "%zu replies say queued, %zu files\n", queued,
			stored);
		abort();
	}
	if (queued == 1 && (got.len != msg->len ||
			    (got.len > 0 &&
			     memcmp(got.data, msg->data, got.len) != 0))) {
		fprintf(stderr, "%s: stored content differs from the"
			" message\n", bdat ? "BDAT" : "DATA");
		abort();
	}
	str_release(&stream);
	str_release(&in);
	str_release(&got);
}

static void mode_round_trip(const char *p, size_t n, unsigned seed)
{
	struct str msg = STR_INIT;

	for (size_t i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\0')
			str_append_c(&msg, p[i]);
	if (msg.len > 0 && msg.data[msg.len - 1] != '\n')
		str_append_c(&msg, '\n');
	round_trip(&msg, false, seed);
	round_trip(&msg, true, seed | 1);
	str_release(&msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir;
	char *error = NULL;

	fuzz_init("fuzz_smtpd_data");
	dir = fuzz_tmpdir();
	queue_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (queue_dir_fd < 0 ||
	    (mkdirat(queue_dir_fd, QUEUE_INCOMING, 0700) < 0 &&
	     errno != EEXIST))
		abort();
	cfg = cfg_parse("myhostname = mx.fuzz.test\n"
			"mydestination = fuzz.test\n"
			"alias_maps =\n"
			"mynetworks = 127.0.0.1/32\n"
			"smtpd_error_sleep_time = 0\n"
			"smtpd_timeout = 10s\n"
			"smtpd_hard_error_limit = 1000\n"
			"smtpd_forbid_bare_newline = no\n"
			"message_size_limit = 10000000\n",
			"fuzz.conf", dir, &error);
	if (cfg == NULL) {
		fprintf(stderr, "cfg: %s\n", error);
		abort();
	}
	smtpd_config_load(&config, cfg);
	config.mynetworks = cidr_list_create(cfg_list(cfg, "mynetworks"),
					     &error);
	config.resolver = resolve_create(cfg, &error);
	if (config.mynetworks == NULL || config.resolver == NULL) {
		fprintf(stderr, "setup: %s\n", error);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int cwd;

	if (size < 2 || size > 65536)
		return 0;
	/* smtpd writes queue files relative to the current directory;
	 * libFuzzer writes its corpus relative to it too: switch for the
	 * session only. */
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(queue_dir_fd) < 0)
		abort();
	if (data[0] & 1)
		mode_round_trip((const char *)data + 2, size - 2, data[1]);
	else
		mode_raw((const char *)data + 2, size - 2);
	if (fchdir(cwd) < 0)
		abort();
	close(cwd);
	return 0;
}
