#ifndef COMMON_ATTR_FRAME_H
#define COMMON_ATTR_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "lio.h"
#include "str.h"

/* A peer of the attribute protocol (attr.h) served from an event loop:
 * the loop appends what it reads to in; attr_frame_next() finds the end
 * of the first whole list (a blank line ends it); the lio that
 * attr_frame_attach() sets up reads only those framed bytes, so
 * attr_read() never blocks, and writes to the socket without blocking.
 * Used by auth and anvil. */
struct attr_frame {
	struct str in;		/* received, not yet parsed */
	size_t framed;		/* bytes of in that end a whole list */
	int fd;			/* the socket, for writing */
};

/* Read through fr: lio's reads come from fr->in, writes go to its fd. */
void attr_frame_attach(struct attr_frame *fr, struct lio *lio);
/* True if fr->in holds a whole list (fr->framed set). */
bool attr_frame_next(struct attr_frame *fr);

#endif
