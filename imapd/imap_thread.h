#ifndef IMAPD_IMAP_THREAD_H
#define IMAPD_IMAP_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* THREAD (RFC 5256 section 4): ORDEREDSUBJECT and REFERENCES over a set
 * of messages, answered as the THREAD response's thread lists. No I/O:
 * the caller hands in each message's header values.
 *
 * REFERENCES follows the RFC's six steps: link the References (or the
 * first In-Reply-To) message-IDs, the message under its last reference
 * (an earlier parent is dropped; no link that would make a loop); the
 * root set; dummies pruned (one kept only at the top with two or more
 * children); siblings sorted by sent date; top-level threads with the
 * same base subject gathered (a dummy or a non-reply wins the subject
 * table; replies go under the original, else both under a new dummy).
 * A missing or duplicate Message-ID makes the message unique. Equal
 * dates go by sequence number. */

enum imap_thread_algo {
	IMAP_THREAD_ORDEREDSUBJECT,
	IMAP_THREAD_REFERENCES,
};

/* One message: raw header values (NULL when absent). */
struct imap_thread_msg {
	uint32_t seq;		/* order in the mailbox: breaks ties */
	uint32_t number;	/* what the answer shows (seq or UID) */
	int64_t date;		/* sent date, the internal date if none */
	const char *subject;
	const char *message_id;
	const char *references;
	const char *in_reply_to;
};

/* "ORDEREDSUBJECT" or "REFERENCES", any case. */
bool imap_thread_algo_parse(const char *name, enum imap_thread_algo *r);

/* Thread msgs[0..n) and append the thread lists ("(1 2)(3 (4)(5))") to
 * out; nothing for n == 0. msgs may be in any order. */
void imap_thread(const struct imap_thread_msg *msgs, size_t n,
		 enum imap_thread_algo algo, struct str *out);

/* The message-IDs of a References or In-Reply-To value, in order: the
 * next one after *pos into id_r (without the angle brackets' content's
 * white space). False at the end. */
bool imap_thread_next_msgid(const char **pos, struct str *id_r);

#endif
