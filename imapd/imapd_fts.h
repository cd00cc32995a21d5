#ifndef IMAPD_IMAPD_FTS_H
#define IMAPD_IMAPD_FTS_H

#include <stdbool.h>
#include <stddef.h>

#include "imap_search.h"

struct imapd;

/* What the full-text index (store_fts.h) says about the string keys of
 * one SEARCH (imapd_fts.c): for each BODY, TEXT and HEADER key it can
 * answer, a verdict per message of the view. */
struct imapd_fts;

/* Bring the selected folder's index up to date with the view and ask
 * it about every key under root it can answer. NULL when there is no
 * such key or the index cannot be had (then every key is evaluated on
 * the messages, as without an index). */
struct imapd_fts *imapd_fts_prepare(struct imapd *s,
				    const struct imap_search_key *root);
/* The verdict on key k for the view's message i: STORE_FTS_NO,
 * STORE_FTS_YES, or STORE_FTS_MAYBE (evaluate it; also for a key the
 * index was not asked about). */
int imapd_fts_verdict(const struct imapd_fts *x,
		      const struct imap_search_key *k, size_t i);
void imapd_fts_free(struct imapd_fts **x);

/* While the client is quiet (between commands, in IDLE): add what the
 * selected folder's index lacks, a slice at a time, until the client
 * sends something, the IDLE inotify watch_fd (or -1) reports a change
 * (other than the index's own files), or the index holds every
 * message. Only a folder that has an index (a SEARCH made it): it then
 * stays current with deliveries, and the next SEARCH finds the work
 * done. True if it read a change from watch_fd (its events are gone:
 * the caller syncs as if the watch had fired). */
bool imapd_fts_idle(struct imapd *s, int watch_fd);

#endif
