#ifndef PICKUP_PICKUP_H
#define PICKUP_PICKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "ev.h"

/* pickup: moves the files that sendmail(1) leaves in maildrop/ into
 * incoming/ as proper queue files, then wakes qmgr. */

struct pickup_settings {
	const char *myhostname;
	long long size_limit;	/* message_size_limit, 0 none */
	long rcpt_limit;	/* pickup_recipient_limit */
	int flow_fd;		/* inflow tokens (flow.h), or -1 */
	long flow_delay_ms;	/* in_flow_delay */
};

extern struct pickup_settings pickup_settings;

/* pickup.c */
void pickup_pre_init(void *ctx);
void pickup_event_init(struct ev_loop *loop, const int *fds, int nfds,
		       void *ctx);
/* Process every file in maildrop/ (cwd is $queue_directory). Returns
 * the number of messages queued. */
int pickup_scan(void);

/* pickup_file.c */
/* Process maildrop/ID: 1 queued (the maildrop file removed), 0 refused
 * (moved to corrupt/ with a log line), -1 left for later (an I/O error
 * or a file still being written). */
int pickup_file(const char *id);

/* The header block of content[0..len): the offset just past the last
 * header field, and whether an empty line follows it. Pure (tests). */
size_t pickup_header_end(const char *content, size_t len,
			 bool *blank_r);
/* True if the header block content[0..hlen) has a field named name
 * (case-insensitive, without the colon). */
bool pickup_has_header(const char *content, size_t hlen, const char *name);

#endif
