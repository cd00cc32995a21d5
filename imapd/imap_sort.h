#ifndef IMAPD_IMAP_SORT_H
#define IMAPD_IMAP_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"
#include "str.h"

/* SORT (RFC 5256 section 3, RFC 5957 SORT=DISPLAY): the sort program,
 * the sort keys of a message computed from its header values, and the
 * sort itself. No I/O: the caller reads the header values (raw, as in
 * the message, unfolded or not) and hands them in.
 *
 * Strings are compared with i;unicode-casemap (RFC 5051): each character
 * is titlecased, the result put in Unicode NFKD, and the UTF-8 octets
 * compared. Messages that are equal under every key keep their order
 * in the mailbox (RFC 5256: ties go by sequence number), whether or not a
 * key is REVERSE. */

enum imap_sort_key {
	IMAP_SORT_ARRIVAL,	/* internal date */
	IMAP_SORT_CC,		/* addr-mailbox of the first Cc address */
	IMAP_SORT_DATE,		/* Date:, else the internal date */
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,		/* RFC822.SIZE */
	IMAP_SORT_SUBJECT,	/* base subject (RFC 5256 2.1) */
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM,	/* RFC 5957: display name, else address */
	IMAP_SORT_DISPLAYTO,
};

/* The string keys a message carries. */
enum imap_sort_str {
	IMAP_SORT_S_SUBJECT,
	IMAP_SORT_S_FROM,
	IMAP_SORT_S_TO,
	IMAP_SORT_S_CC,
	IMAP_SORT_S_DISPLAYFROM,
	IMAP_SORT_S_DISPLAYTO,
	IMAP_SORT_S_COUNT
};

/* More keys than there are is a client repeating itself; allow some. */
#define IMAP_SORT_PROGRAM_MAX 16

struct imap_sort_program {
	struct {
		enum imap_sort_key key;
		bool reverse;
	} crit[IMAP_SORT_PROGRAM_MAX];
	unsigned count;
};

/* Parse the parenthesised list of sort criteria: "(REVERSE DATE
 * SUBJECT)". False with *error_r on an empty list, an unknown key, or
 * REVERSE not followed by a key. */
bool imap_sort_program_parse(const struct imap_arg *arg,
			     struct imap_sort_program *program_r,
			     const char **error_r);

/* The header values a message's sort and thread keys come from, as
 * written in the message (folded or not, RFC 2047 words undecoded), or
 * NULL when the field is absent. */
struct imap_sort_headers {
	const char *date;
	const char *subject;
	const char *from;
	const char *to;
	const char *cc;
	const char *message_id;
	const char *references;
	const char *in_reply_to;
};

/* Which header values a program needs: a mask of bits 1 << the index of
 * the member in struct imap_sort_headers (date 0 ... in_reply_to 7). */
#define IMAP_SORT_H_DATE	0x01
#define IMAP_SORT_H_SUBJECT	0x02
#define IMAP_SORT_H_FROM	0x04
#define IMAP_SORT_H_TO		0x08
#define IMAP_SORT_H_CC		0x10
#define IMAP_SORT_H_MESSAGE_ID	0x20
#define IMAP_SORT_H_REFERENCES	0x40
#define IMAP_SORT_H_IN_REPLY_TO	0x80
unsigned imap_sort_program_headers(const struct imap_sort_program *program);

/* One message to sort. */
struct imap_sort_msg {
	uint32_t seq;		/* order in the mailbox: breaks ties */
	uint32_t number;	/* what the answer shows (seq or UID) */
	int64_t arrival;	/* internal date */
	int64_t date;		/* sent date (the internal date if none) */
	uint64_t size;
	char *keys[IMAP_SORT_S_COUNT];	/* casemapped; NULL: not needed */
};

/* Fill the keys of msg that program needs from the header values
 * (arrival, size, seq and number are the caller's). */
void imap_sort_msg_fill(struct imap_sort_msg *msg,
			const struct imap_sort_program *program,
			const struct imap_sort_headers *headers);
void imap_sort_msg_release(struct imap_sort_msg *msg);

/* Sort msgs[0..n) by program; ties by seq. */
void imap_sort(struct imap_sort_msg *msgs, size_t n,
	       const struct imap_sort_program *program);

/* The base subject (RFC 5256 2.1) of a Subject: value as written (NULL:
 * none, which is ""): RFC 2047 words decoded, casemapped, white space
 * collapsed, "Re:", "Fwd:", "Fw:", "[blob]" leaders, "(fwd)" trailers and
 * "[fwd: ...]" wrappers removed. Appended to out. Returns true if the
 * subject was a reply or forward (anything but blobs and white space was
 * removed), which THREAD=REFERENCES uses. */
bool imap_base_subject(const char *value, struct str *out);

/* The sort key of an address header value (NULL: none, the empty key):
 * display false gives the addr-mailbox (local part) of the first address
 * (RFC 5256), true the decoded display name of the first address, or its
 * addr-spec when it has none (RFC 5957); casemapped, appended to out. A
 * group ("name: a@b, c@d;") first gives its name in both, as Dovecot. */
void imap_sort_addr_key(const char *value, bool display, struct str *out);

/* The sent date of a Date: value (NULL: none) or else arrival. */
int64_t imap_sort_sent_date(const char *value, int64_t arrival);

#endif
