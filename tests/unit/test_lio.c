/*
 * Unit tests for common/lio.c: line framing, limits, timeouts, exact
 * reads, buffered output, closed peers, the ops hook and the connect
 * helpers. Peers are socketpairs, pipes and forked writer processes.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lio.h"
#include "mem.h"
#include "str.h"
#include "test_util.h"

static int peer = -1;

/* A lio over one end of a socketpair; the other end goes to peer. */
static struct lio *pair_lio(int timeout)
{
	int sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	peer = sp[1];
	return lio_create(sp[0], timeout);
}

static void peer_write(const void *data, size_t len)
{
	ck_assert_int_eq(write(peer, data, len), (ssize_t)len);
}

static void peer_close(void)
{
	close(peer);
	peer = -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fork a child that writes data to fd one byte at a time. */
static pid_t slow_writer(int fd, const char *data, size_t len, int usec)
{
	pid_t pid = fork();
	size_t i;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (i = 0; i < len; i++) {
			if (write(fd, data + i, 1) != 1)
				_exit(1);
			usleep(usec);
		}
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

static void expect_line(struct lio *lio, struct str *line, size_t max,
			enum lio_status want, const char *data, size_t len)
{
	ck_assert_int_eq(lio_read_line(lio, line, max), want);
	ck_assert_uint_eq(line->len, len);
	ck_assert(memcmp(str_c(line), data, len) == 0);
	ck_assert_int_eq(str_c(line)[len], '\0');
}

#define EXPECT(lio, line, max, want, lit) \
	expect_line(lio, line, max, want, lit, sizeof(lit) - 1)

START_TEST(test_line_endings)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;

	peer_write("HELO a\r\nMAIL b\nX\rY\r\n\n\r\n", 23);
	EXPECT(lio, &line, 100, LIO_OK, "HELO a\r\n");
	EXPECT(lio, &line, 100, LIO_OK, "MAIL b\n");
	EXPECT(lio, &line, 100, LIO_OK, "X\rY\r\n");
	EXPECT(lio, &line, 100, LIO_OK, "\n");
	EXPECT(lio, &line, 100, LIO_OK, "\r\n");
	ck_assert_uint_eq(lio_pending(lio), 0);
	str_release(&line);
	lio_free(&lio);
	ck_assert_ptr_null(lio);
	peer_close();
}
END_TEST

START_TEST(test_partial_line_at_eof)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;

	peer_write("abc\npartial", 11);
	peer_close();
	EXPECT(lio, &line, 100, LIO_OK, "abc\n");
	EXPECT(lio, &line, 100, LIO_OK, "partial");
	EXPECT(lio, &line, 100, LIO_EOF, "");
	EXPECT(lio, &line, 100, LIO_EOF, "");
	/* EOF is not an error. */
	ck_assert_int_eq(lio_error(lio), LIO_OK);
	str_release(&line);
	lio_free(&lio);
}
END_TEST

START_TEST(test_too_long)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;

	peer_write("0123456789\nabc\nabcd\n", 20);
	EXPECT(lio, &line, 4, LIO_TOOLONG, "0123");
	EXPECT(lio, &line, 4, LIO_TOOLONG, "4567");
	EXPECT(lio, &line, 4, LIO_OK, "89\n");
	/* Exactly max bytes including the LF fits. */
	EXPECT(lio, &line, 4, LIO_OK, "abc\n");
	EXPECT(lio, &line, 4, LIO_TOOLONG, "abcd");
	EXPECT(lio, &line, 4, LIO_OK, "\n");
	/* Not sticky. */
	ck_assert_int_eq(lio_error(lio), LIO_OK);
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_too_long_big)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT, all = STR_INIT;
	pid_t pid;
	size_t i, n = 0;
	enum lio_status st;

	/* A 100000-byte line read with a 1000-byte limit, across many
	 * buffer refills: pieces come back in order, nothing lost. */
	for (i = 0; i < 100000; i++)
		str_append_c(&all, (char)('a' + i % 26));
	str_append(&all, "\nnext\n");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (write(peer, all.data, all.len) != (ssize_t)all.len)
			_exit(1);
		_exit(0);
	}
	while ((st = lio_read_line(lio, &line, 1000)) == LIO_TOOLONG) {
		ck_assert_uint_eq(line.len, 1000);
		ck_assert(memcmp(line.data, all.data + n, 1000) == 0);
		n += line.len;
	}
	ck_assert_int_eq(st, LIO_OK);
	ck_assert(memcmp(line.data, all.data + n, line.len) == 0);
	ck_assert_uint_eq(n + line.len, 100001);
	EXPECT(lio, &line, 1000, LIO_OK, "next\n");
	reap(pid);
	str_release(&line);
	str_release(&all);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_nul_bytes)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;

	peer_write("a\0b\r\n\0\n", 7);
	EXPECT(lio, &line, 100, LIO_OK, "a\0b\r\n");
	EXPECT(lio, &line, 100, LIO_OK, "\0\n");
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_one_byte_at_a_time)
{
	static const char data[] = "EHLO x\r\nDATA\r\nbare\rcr\nend";
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;
	pid_t pid;

	pid = slow_writer(peer, data, sizeof(data) - 1, 2000);
	peer_close();
	EXPECT(lio, &line, 100, LIO_OK, "EHLO x\r\n");
	EXPECT(lio, &line, 100, LIO_OK, "DATA\r\n");
	EXPECT(lio, &line, 5, LIO_TOOLONG, "bare\r");
	EXPECT(lio, &line, 100, LIO_OK, "cr\n");
	EXPECT(lio, &line, 100, LIO_OK, "end");
	EXPECT(lio, &line, 100, LIO_EOF, "");
	reap(pid);
	str_release(&line);
	lio_free(&lio);
}
END_TEST

START_TEST(test_nonblocking_fd)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;
	pid_t pid;

	ck_assert_int_eq(fcntl(lio_fd(lio), F_SETFL, O_NONBLOCK), 0);
	pid = slow_writer(peer, "late\r\n", 6, 20000);
	peer_close();
	EXPECT(lio, &line, 100, LIO_OK, "late\r\n");
	EXPECT(lio, &line, 100, LIO_EOF, "");
	reap(pid);
	str_release(&line);
	lio_free(&lio);
}
END_TEST

START_TEST(test_pipe_input)
{
	struct str line = STR_INIT;
	struct lio *lio;
	int p[2];
	pid_t pid;
	long long t0;

	ck_assert_int_eq(pipe(p), 0);
	lio = lio_create(p[0], 1);
	pid = slow_writer(p[1], "one\ntwo\n", 8, 1000);
	EXPECT(lio, &line, 100, LIO_OK, "one\n");
	EXPECT(lio, &line, 100, LIO_OK, "two\n");
	reap(pid);
	/* The write end is still open: a blocking pipe must time out too. */
	t0 = now_ms();
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_TIMEOUT);
	ck_assert_int_ge(now_ms() - t0, 900);
	ck_assert_int_lt(now_ms() - t0, 2500);
	close(p[1]);
	str_release(&line);
	lio_free(&lio);
}
END_TEST

START_TEST(test_timeout)
{
	struct lio *lio = pair_lio(1);
	struct str line = STR_INIT;
	long long t0 = now_ms(), elapsed;

	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_TIMEOUT);
	elapsed = now_ms() - t0;
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(elapsed, 900);
	ck_assert_int_lt(elapsed, 2000);
	ck_assert_int_eq(lio_error(lio), LIO_TIMEOUT);
	/* Sticky: data arriving now does not revive the stream, and every
	 * call fails at once. */
	peer_write("late\n", 5);
	t0 = now_ms();
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_TIMEOUT);
	ck_assert_int_eq(lio_read_exact(lio, &line, 2), LIO_TIMEOUT);
	lio_puts(lio, "x\n");
	ck_assert_int_eq(lio_flush(lio), LIO_TIMEOUT);
	ck_assert_int_lt(now_ms() - t0, 100);
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_timeout_is_per_call)
{
	struct lio *lio = pair_lio(1);
	struct str line = STR_INIT;
	pid_t pid;

	/* Bytes trickling in every 300 ms do not extend the deadline:
	 * the line takes 1.5 s overall, so the 1 s call times out. */
	pid = slow_writer(peer, "abcde\n", 6, 300000);
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_TIMEOUT);
	reap(pid);
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_no_timeout)
{
	struct lio *lio = pair_lio(0);
	struct str line = STR_INIT;
	pid_t pid;

	pid = slow_writer(peer, "ok\n", 3, 100000);
	EXPECT(lio, &line, 100, LIO_OK, "ok\n");
	reap(pid);
	lio_set_timeout(lio, 1);
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_TIMEOUT);
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_read_exact)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT, body = STR_INIT, out = STR_INIT;
	size_t i;
	pid_t pid;

	for (i = 0; i < 300000; i++)
		str_append_c(&body, (char)(i * 7 % 251));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (write(peer, "BDAT 300000\r\n", 13) != 13 ||
		    write(peer, body.data, body.len) != (ssize_t)body.len ||
		    write(peer, "QUIT\r\n", 6) != 6)
			_exit(1);
		_exit(0);
	}
	EXPECT(lio, &line, 100, LIO_OK, "BDAT 300000\r\n");
	str_append(&out, "pre");
	ck_assert_int_eq(lio_read_exact(lio, &out, 300000), LIO_OK);
	ck_assert_uint_eq(out.len, 300003);
	ck_assert(memcmp(out.data, "pre", 3) == 0);
	ck_assert(memcmp(out.data + 3, body.data, body.len) == 0);
	ck_assert_int_eq(out.data[out.len], '\0');
	EXPECT(lio, &line, 100, LIO_OK, "QUIT\r\n");
	ck_assert_int_eq(lio_read_exact(lio, &out, 0), LIO_OK);
	reap(pid);
	str_release(&line);
	str_release(&body);
	str_release(&out);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_read_exact_eof)
{
	struct lio *lio = pair_lio(5);
	struct str out = STR_INIT;

	peer_write("12345", 5);
	peer_close();
	ck_assert_int_eq(lio_read_exact(lio, &out, 10), LIO_EOF);
	ck_assert(str_equals(&out, "12345"));
	str_release(&out);
	lio_free(&lio);
}
END_TEST

START_TEST(test_pending_discard)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;

	ck_assert_uint_eq(lio_pending(lio), 0);
	peer_write("STARTTLS\r\nMAIL FROM:<evil>\r\n", 28);
	EXPECT(lio, &line, 100, LIO_OK, "STARTTLS\r\n");
	ck_assert_uint_eq(lio_pending(lio), 18);
	lio_discard_input(lio);
	ck_assert_uint_eq(lio_pending(lio), 0);
	peer_write("EHLO\r\n", 6);
	EXPECT(lio, &line, 100, LIO_OK, "EHLO\r\n");
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

/* Child: read everything from fd, check the pattern, report the count. */
static void pattern_reader(int fd, size_t expect)
{
	char buf[4096];
	size_t total = 0, i;
	ssize_t n;
	char msg[64];
	bool good = true;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			good &= buf[i] == (char)((total + i) % 253);
		total += (size_t)n;
		if (total == expect)
			break;
		usleep(total % 65536 < 4096 ? 1000 : 0);
	}
	str_snprintf(msg, sizeof(msg), "%zu %s\n", total, good ? "good" :
		     "bad");
	if (write(fd, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(0);
}

START_TEST(test_large_output)
{
	struct lio *lio = pair_lio(10);
	struct str line = STR_INIT, data = STR_INIT;
	static const size_t sizes[] = { 1, 100, 70000, 3, 200000, 4096 };
	size_t total = 3 * 1024 * 1024, off = 0, n, i = 0;
	pid_t pid;

	for (n = 0; n < total; n++)
		str_append_c(&data, (char)(n % 253));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		pattern_reader(peer, total);
	while (off < total) {
		n = sizes[i++ % 6];
		if (n > total - off)
			n = total - off;
		lio_write(lio, data.data + off, n);
		/* Output is bounded, not kept until the flush. */
		ck_assert_uint_lt(lio_output_pending(lio), 140000);
		off += n;
	}
	ck_assert_int_eq(lio_flush(lio), LIO_OK);
	ck_assert_uint_eq(lio_output_pending(lio), 0);
	ck_assert_int_eq(lio_read_line(lio, &line, 100), LIO_OK);
	ck_assert_str_eq(str_c(&line), "3145728 good\n");
	reap(pid);
	str_release(&line);
	str_release(&data);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_printf_and_read_flushes)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;
	char buf[64];
	ssize_t n;
	pid_t pid;

	lio_printf(lio, "250-%s %d\r\n", "mx.test", 42);
	lio_puts(lio, "250 OK\r\n");
	ck_assert_uint_eq(lio_output_pending(lio), 24);
	/* Nothing is sent before a flush... */
	ck_assert_int_eq(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	/* ...a read that needs the socket sends it first (as Postfix's
	 * smtpd, which flushes when its own buffer is empty)... */
	peer_write("NOOP\r\nRSET\r\n", 12);
	EXPECT(lio, &line, 100, LIO_OK, "NOOP\r\n");
	ck_assert_uint_eq(lio_output_pending(lio), 0);
	ck_assert_int_eq(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), 24);
	ck_assert(memcmp(buf, "250-mx.test 42\r\n250 OK\r\n", 24) == 0);
	/* ...but not one that finds its line in the buffer (pipelining:
	 * replies to commands read together go out together). */
	lio_puts(lio, "250 2\r\n");
	EXPECT(lio, &line, 100, LIO_OK, "RSET\r\n");
	lio_puts(lio, "250 3\r\n");
	ck_assert_uint_eq(lio_output_pending(lio), 14);
	ck_assert_int_eq(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), -1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		n = read(peer, buf, sizeof(buf));
		if (n != 14 || memcmp(buf, "250 2\r\n250 3\r\n", 14) != 0)
			_exit(1);
		_exit(write(peer, "QUIT\r\n", 6) == 6 ? 0 : 1);
	}
	EXPECT(lio, &line, 100, LIO_OK, "QUIT\r\n");
	ck_assert_uint_eq(lio_output_pending(lio), 0);
	reap(pid);
	/* After a write, a read waits for the answer in poll rather than
	 * failing a read first, and still gets data sent before it. */
	peer_write("LATE\r\n", 6);
	lio_puts(lio, "250 4\r\n");
	EXPECT(lio, &line, 100, LIO_OK, "LATE\r\n");
	ck_assert_int_eq(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), 7);
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_closed_peer)
{
	struct lio *lio = pair_lio(5);
	struct str big = STR_INIT;

	signal(SIGPIPE, SIG_DFL);
	peer_close();
	lio_puts(lio, "221 bye\r\n");
	ck_assert_int_eq(lio_flush(lio), LIO_ERROR);
	ck_assert(errno == EPIPE || errno == ECONNRESET);
	ck_assert_int_eq(lio_error(lio), LIO_ERROR);
	/* Sticky, and writes are dropped. */
	str_reserve(&big, 100000);
	big.len = 100000;
	memset(big.data, 'x', big.len);
	lio_write(lio, big.data, big.len);
	ck_assert_int_eq(lio_flush(lio), LIO_ERROR);
	str_release(&big);
	lio_free(&lio);
}
END_TEST

START_TEST(test_closed_pipe)
{
	struct lio *lio;
	int p[2];

	signal(SIGPIPE, SIG_DFL);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	lio = lio_create(p[1], 5);
	lio_puts(lio, "hello\n");
	ck_assert_int_eq(lio_flush(lio), LIO_ERROR);
	ck_assert_int_eq(errno, EPIPE);
	/* No SIGPIPE left pending either. */
	{
		sigset_t set;

		sigpending(&set);
		ck_assert(!sigismember(&set, SIGPIPE));
	}
	lio_free(&lio);
}
END_TEST

START_TEST(test_free_closes)
{
	struct lio *lio = pair_lio(5);
	int fd = lio_fd(lio);

	lio_free(&lio);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
	lio_free(&lio);
	peer_close();
}
END_TEST

/* A toy layer: bytes are XORed with 0x20 on the wire, every other read
 * attempt says "would block", and it claims 7 bytes of its own. */
struct toy {
	int fd;
	int calls;
};

static ssize_t toy_read(void *ctx, void *buf, size_t len, bool *want_write)
{
	struct toy *toy = ctx;
	ssize_t n, i;

	if (toy->calls++ % 2 == 0) {
		errno = EAGAIN;
		return -1;
	}
	n = recv(toy->fd, buf, len, MSG_DONTWAIT);
	for (i = 0; i < n; i++)
		((char *)buf)[i] ^= 0x20;
	return n;
}

static ssize_t toy_write(void *ctx, const void *buf, size_t len,
			 bool *want_read)
{
	struct toy *toy = ctx;
	char tmp[256];
	size_t i;

	if (len > sizeof(tmp))
		len = sizeof(tmp);
	for (i = 0; i < len; i++)
		tmp[i] = ((const char *)buf)[i] ^ 0x20;
	return send(toy->fd, tmp, len, MSG_NOSIGNAL);
}

static size_t toy_pending(void *ctx)
{
	return 7;
}

static const struct lio_ops toy_ops = {
	toy_read, toy_write, toy_pending,
};

START_TEST(test_ops_layer)
{
	struct lio *lio = pair_lio(5);
	struct str line = STR_INIT;
	struct toy toy = { lio_fd(lio), 0 };
	char buf[16];

	lio_set_ops(lio, &toy_ops, &toy);
	peer_write("HELLO-*", 7);	/* "hello\r\n" XOR 0x20 */
	EXPECT(lio, &line, 100, LIO_OK, "hello\r\n");
	ck_assert_int_ge(toy.calls, 2);
	ck_assert_uint_eq(lio_pending(lio), 7);
	lio_puts(lio, "ok\n");
	ck_assert_int_eq(lio_flush(lio), LIO_OK);
	ck_assert_int_eq(read(peer, buf, sizeof(buf)), 3);
	ck_assert(memcmp(buf, "OK*", 3) == 0);
	lio_set_ops(lio, NULL, &toy);
	ck_assert_uint_eq(lio_pending(lio), 0);
	peer_write("plain\n", 6);
	EXPECT(lio, &line, 100, LIO_OK, "plain\n");
	str_release(&line);
	lio_free(&lio);
	peer_close();
}
END_TEST

START_TEST(test_connect_unix)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/test_lio.XXXXXX";
	struct str path = STR_INIT, line = STR_INIT;
	struct lio *lio;
	int ls, fd, cfd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	str_printf(&path, "%s/sock", dir);
	ck_assert_int_eq(lio_connect_unix(str_c(&path), 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert(str_snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
			       str_c(&path)));
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(ls, 5), 0);
	fd = lio_connect_unix(str_c(&path), 1);
	ck_assert_int_ge(fd, 0);
	cfd = accept(ls, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(write(cfd, "hi\n", 3), 3);
	lio = lio_create(fd, 1);
	EXPECT(lio, &line, 100, LIO_OK, "hi\n");
	lio_free(&lio);
	close(cfd);
	close(ls);
	unlink(str_c(&path));
	rmdir(dir);
	str_truncate(&path, 0);
	while (path.len < 200)
		str_append(&path, "/long");
	ck_assert_int_eq(lio_connect_unix(str_c(&path), 1), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	str_release(&path);
	str_release(&line);
}
END_TEST

static int tcp_listener(struct str *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int ls = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(ls, 5), 0);
	ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	str_printf(port, "%d", ntohs(sin.sin_port));
	return ls;
}

START_TEST(test_connect_tcp)
{
	struct str port = STR_INIT, line = STR_INIT;
	struct lio *lio;
	int ls, fd, cfd;

	ls = tcp_listener(&port);
	fd = lio_connect_tcp("127.0.0.1", str_c(&port), 2);
	ck_assert_int_ge(fd, 0);
	/* The connected fd is handed back in blocking mode. */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	cfd = accept(ls, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(write(cfd, "220 x\r\n", 7), 7);
	lio = lio_create(fd, 1);
	EXPECT(lio, &line, 100, LIO_OK, "220 x\r\n");
	lio_free(&lio);
	close(cfd);
	/* Nobody listens on the port any more. */
	close(ls);
	ck_assert_int_eq(lio_connect_tcp("127.0.0.1", str_c(&port), 2), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert_int_eq(lio_connect_tcp("no such host.invalid", "25", 2),
			 -1);
	str_release(&port);
	str_release(&line);
}
END_TEST

static Suite *lio_suite(void)
{
	Suite *s = suite_create("lio");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_line_endings);
	tcase_add_test(tc, test_partial_line_at_eof);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_too_long_big);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_one_byte_at_a_time);
	tcase_add_test(tc, test_nonblocking_fd);
	tcase_add_test(tc, test_pipe_input);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_is_per_call);
	tcase_add_test(tc, test_no_timeout);
	tcase_add_test(tc, test_read_exact);
	tcase_add_test(tc, test_read_exact_eof);
	tcase_add_test(tc, test_pending_discard);
	tcase_add_test(tc, test_large_output);
	tcase_add_test(tc, test_printf_and_read_flushes);
	tcase_add_test(tc, test_closed_peer);
	tcase_add_test(tc, test_closed_pipe);
	tcase_add_test(tc, test_free_closes);
	tcase_add_test(tc, test_ops_layer);
	tcase_add_test(tc, test_connect_unix);
	tcase_add_test(tc, test_connect_tcp);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(lio_suite());
}
