/*
 * fdpass: one byte plus an optional file descriptor over a Unix stream
 * socket (fdpass.h).
 *
 * The descriptor travels as SCM_RIGHTS control data attached to a single
 * marker byte. The receiver asks for exactly one byte with room for one
 * descriptor: control data is only delivered with the byte it was sent
 * with, and a read that consumed that byte without a control buffer would
 * silently close the descriptor.
 *
 * SECURITY: the peer may be less trusted than we are (a front end talking
 * to a privileged service). A message carrying more descriptors than
 * asked for, or one the kernel had to truncate, is refused and every
 * descriptor that did arrive is closed, so a peer cannot make us leak or
 * misuse descriptors. Received descriptors are close-on-exec.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdpass.h"

/* Room for a few descriptors so an over-full message can be cleaned up. */
#define FDPASS_MAX_FDS 4

bool fdpass_send(int sock, char byte, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == 1;
}

/* Collect the descriptors of every SCM_RIGHTS message; returns how many
 * there were, storing at most max of them. */
static int fdpass_collect(struct msghdr *mh, int *fds, int max)
{
	struct cmsghdr *cm;
	int count = 0, i, n, fd;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			if (count < max)
				fds[count] = fd;
			else
				close(fd);
			count++;
		}
	}
	return count;
}

int fdpass_recv(int sock, char *byte_r, int *fd_r)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(FDPASS_MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = byte_r, .iov_len = 1 };
	int fds[FDPASS_MAX_FDS];
	struct msghdr mh;
	ssize_t n;
	int count, i;

	*fd_r = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	count = fdpass_collect(&mh, fds, FDPASS_MAX_FDS);
	if (count > 1 || (mh.msg_flags & MSG_CTRUNC) != 0 ||
	    (n == 0 && count > 0)) {
		for (i = 0; i < count && i < FDPASS_MAX_FDS; i++)
			close(fds[i]);
		errno = EBADMSG;
		return -1;
	}
	if (n == 0)
		return 0;
	if (count == 1)
		*fd_r = fds[0];
	return 1;
}
