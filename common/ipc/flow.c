/*
 * flow: inflow control tokens (flow.h).
 *
 * The tokens are bytes in a FIFO that every user opens O_RDWR: on Linux
 * such an open never waits for a peer, a read of an empty FIFO fails
 * with EAGAIN instead of seeing end of file, and the kernel's pipe
 * buffer (64 KiB) bounds the token count. Taking a token is one read;
 * waiting is one poll. No token content means anything.
 *
 * Interface: flow_open, flow_take, flow_count, flow_fill.
 *
 * SECURITY: the FIFO lives in private/ (mode 0700, $mail_owner), so
 * only the mail owner's processes can take or add tokens, and the worst
 * they can do is make smtpd and pickup wait in_flow_delay per message
 * or not at all. flow_open refuses anything but a FIFO owned by the
 * caller's uid, opened without following a symlink.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "flow.h"

#define FLOW_CHUNK 512

int flow_open(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) ||
	    st.st_uid != geteuid()) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static bool flow_read_one(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

bool flow_take(int fd, long delay_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long deadline, left;

	if (fd < 0)
		return false;
	if (flow_read_one(fd))
		return true;
	deadline = ev_now_ms() + delay_ms;
	/* Several processes may wake for one token: the losers of the
	 * read wait on until their own deadline. */
	while ((left = deadline - ev_now_ms()) > 0) {
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return false;
		if (flow_read_one(fd))
			return true;
	}
	return false;
}

size_t flow_count(int fd)
{
	int n = 0;

	if (fd < 0 || ioctl(fd, FIONREAD, &n) < 0 || n < 0)
		return 0;
	return (size_t)n;
}

size_t flow_fill(int fd, size_t target)
{
	char buf[FLOW_CHUNK];
	size_t have = flow_count(fd), added = 0, want;
	ssize_t n;

	if (fd < 0)
		return 0;
	memset(buf, 'T', sizeof(buf));
	while (have + added < target) {
		want = target - have - added;
		if (want > sizeof(buf))
			want = sizeof(buf);
		n = write(fd, buf, want);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;	/* full (EAGAIN): enough tokens anyway */
		}
		added += (size_t)n;
	}
	return added;
}
