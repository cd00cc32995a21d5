/*
 * fuzz_imap_thread: libFuzzer target for SORT's keys and THREAD
 * (imapd/imap_sort.c, imapd/imap_thread.c, the RFC 5322 date of
 * imapd/imap_date.c).
 *
 * Input: lines; every five lines are one message's Subject, Message-ID,
 * References, In-Reply-To and Date (the first byte of the input also
 * picks the sort program). Checked properties:
 * - base subjects and address keys are valid UTF-8;
 * - both THREAD algorithms answer with balanced parentheses and every
 *   message number exactly once;
 * - SORT gives a permutation of the messages, and sorting the result
 *   again changes nothing (the order is total).
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "imap_sort.h"
#include "imap_thread.h"
#include "imap_utf7.h"

#define FUZZ_MSGS_MAX 64

static void check_thread(const struct imap_thread_msg *msgs, size_t n,
			 enum imap_thread_algo algo)
{
	struct str out = STR_INIT;
	unsigned seen[FUZZ_MSGS_MAX + 1] = { 0 };
	int depth = 0;
	const char *p;

	imap_thread(msgs, n, algo, &out);
	for (p = str_c(&out); *p != '\0'; p++) {
		if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth < 0)
				abort();
		} else if (*p >= '0' && *p <= '9') {
			unsigned v = (unsigned)strtoul(p, (char **)&p, 10);

			p--;
			if (v < 1 || v > n || seen[v]++ != 0)
				abort();
		} else if (*p != ' ') {
			abort();
		}
	}
	if (depth != 0)
		abort();
	for (size_t i = 1; i <= n; i++)
		if (seen[i] != 1)
			abort();
	str_release(&out);
}

static void check_sort(const struct imap_sort_headers *h, size_t n,
		       unsigned char pick)
{
	static const enum imap_sort_key keys[] = {
		IMAP_SORT_ARRIVAL, IMAP_SORT_CC, IMAP_SORT_DATE,
		IMAP_SORT_FROM, IMAP_SORT_SIZE, IMAP_SORT_SUBJECT,
		IMAP_SORT_TO, IMAP_SORT_DISPLAYFROM, IMAP_SORT_DISPLAYTO,
	};
	struct imap_sort_program program = { .count = 2 };
	struct imap_sort_msg msgs[FUZZ_MSGS_MAX];
	uint32_t first[FUZZ_MSGS_MAX];
	bool seen[FUZZ_MSGS_MAX + 1] = { false };

	program.crit[0].key = keys[pick % 9];
	program.crit[0].reverse = (pick & 0x80) != 0;
	program.crit[1].key = keys[(pick / 9) % 9];
	memset(msgs, 0, sizeof(msgs));
	for (size_t i = 0; i < n; i++) {
		msgs[i].seq = msgs[i].number = (uint32_t)(n - i);
		msgs[i].arrival = (int64_t)(i % 3);
		msgs[i].size = i % 2;
		imap_sort_msg_fill(&msgs[i], &program, &h[i]);
		for (int k = 0; k < IMAP_SORT_S_COUNT; k++)
			if (msgs[i].keys[k] != NULL &&
			    !imap_utf8_valid(msgs[i].keys[k],
					     strlen(msgs[i].keys[k])))
				abort();
	}
	imap_sort(msgs, n, &program);
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].number < 1 || msgs[i].number > n ||
		    seen[msgs[i].number])
			abort();
		seen[msgs[i].number] = true;
		first[i] = msgs[i].number;
	}
	imap_sort(msgs, n, &program);
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].number != first[i])
			abort();
		imap_sort_msg_release(&msgs[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_thread_msg msgs[FUZZ_MSGS_MAX];
	struct imap_sort_headers h[FUZZ_MSGS_MAX];
	const char *lines[FUZZ_MSGS_MAX * 5];
	char *text, *p;
	size_t nlines = 0, n;

	fuzz_init("fuzz_imap_thread");
	if (size == 0 || (text = fuzz_cstr(data, size)) == NULL)
		return 0;
	for (p = text + 1; nlines < FUZZ_MSGS_MAX * 5;) {
		lines[nlines++] = p;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	n = nlines / 5;
	memset(msgs, 0, sizeof(msgs));
	memset(h, 0, sizeof(h));
	for (size_t i = 0; i < n; i++) {
		const char *const *l = &lines[i * 5];

		msgs[i].seq = msgs[i].number = (uint32_t)i + 1;
		msgs[i].subject = *l[0] ? l[0] : NULL;
		msgs[i].message_id = *l[1] ? l[1] : NULL;
		msgs[i].references = *l[2] ? l[2] : NULL;
		msgs[i].in_reply_to = *l[3] ? l[3] : NULL;
		msgs[i].date = imap_sort_sent_date(*l[4] ? l[4] : NULL, 7);
		h[i].subject = msgs[i].subject;
		h[i].date = *l[4] ? l[4] : NULL;
		h[i].from = l[2];
		h[i].to = l[3];
		h[i].cc = l[1];
	}
	check_thread(msgs, n, IMAP_THREAD_REFERENCES);
	check_thread(msgs, n, IMAP_THREAD_ORDEREDSUBJECT);
	check_sort(h, n, (unsigned char)text[0]);
	free(text);
	return 0;
}
