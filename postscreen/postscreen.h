#ifndef POSTSCREEN_POSTSCREEN_H
#define POSTSCREEN_POSTSCREEN_H

#include <stdbool.h>
#include <stddef.h>

#include "ev.h"

/* Internal interfaces of postscreen (libpostscreen.a): one event-driven
 * process in front of smtpd that holds SMTP clients until they say
 * something, and hands them to an smtpd only then. See correo-postscreen(8). */

/* ---- postscreen.c: the clients ---- */

void postscreen_pre_init(void *ctx);
void postscreen_post_init(void *ctx);
void postscreen_event_init(struct ev_loop *loop, const int *fds, int nfds,
			   void *ctx);

/* ---- postscreen_pass.c: the hand-off to smtpd ---- */

/* Hand client to the smtpd pass service at path (relative to the queue
 * directory): its socket, whether it was greeted, and the bytes it sent
 * since. False with errno set if no smtpd could take it (the caller
 * still owns client and answers it). */
bool postscreen_pass(const char *path, int client, bool greeted,
		     const char *input, size_t len);

#endif
