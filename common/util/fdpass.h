#ifndef COMMON_FDPASS_H
#define COMMON_FDPASS_H

#include <stdbool.h>

/* Passing file descriptors over a Unix stream socket (SCM_RIGHTS).
 *
 * One call sends one marker byte with at most one descriptor attached;
 * the receiver reads exactly that byte, so a descriptor is never lost in
 * a larger read that had no room for control data. Protocols that mix
 * descriptors with buffered line I/O send the marker first and only then
 * the rest of the request. */

/* Send byte with fd attached (fd < 0: the byte alone). False with errno
 * set. */
bool fdpass_send(int sock, char byte, int fd);

/* Receive one byte into *byte_r and the descriptor sent with it into
 * *fd_r (-1 if none; made close-on-exec). Returns 1, 0 at end of file,
 * -1 on error (errno set; EBADMSG for more than one descriptor or a
 * truncated control message, whose descriptors are closed). */
int fdpass_recv(int sock, char *byte_r, int *fd_r);

#endif
