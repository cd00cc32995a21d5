#ifndef COMMON_MIME_H
#define COMMON_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* MIME messages (RFC 2045-2049, RFC 2047 encoded words, RFC 2231
 * parameters) for IMAP FETCH (BODYSTRUCTURE, ENVELOPE, BODY[section],
 * BINARY[section]), SEARCH and the bounce code.
 *
 * mime_parse() splits a message held in memory (a buffer or an mmap'd
 * file) into a tree of parts in one forward pass. Parts point into the
 * caller's buffer by offset; bodies are never copied, and only the few
 * Content-* header values are (into the message's pool). The buffer must
 * outlive the parsed message.
 *
 * Line ends may be CRLF, bare LF or a mix. IMAP counts sizes as if every
 * line ended in CRLF (the "CRLF view"): each position in the tree carries
 * the number of lines and of bare LFs before it, so the size of any range
 * in the CRLF view is known without reading it again, and the *_write
 * functions convert bare LFs to CRLF as they copy.
 *
 * Hostile input is bounded by struct mime_limits: nesting depth, number of
 * parts and header size. Past a limit the parser stops splitting (the
 * rest stays unsplit text of the enclosing part) and sets
 * mime_message.limited; it never fails. Time is linear in the message
 * size (each "--" line is compared with the open boundaries: at most
 * max_depth memcmp()s of at most MIME_MAX_BOUNDARY bytes per line). */

/* Defaults. Dovecot 2.3.11 (after CVE-2020-12100) stops at 100 nested
 * parts and 10000 parts in all; we take the same numbers, so both servers
 * show the same structure for the same message. Real mail rarely nests
 * beyond 10 (forwards of forwards) or has more than a few hundred parts.
 * The header limits are far above real headers (Postfix's
 * header_size_limit is 100 KiB per field): a Content-* field is
 * interpreted only if it starts within the first MIME_MAX_HEADER_SIZE
 * bytes of its header, and only its first MIME_MAX_FIELD_SIZE bytes. */
#define MIME_MAX_DEPTH		100
#define MIME_MAX_PARTS		10000
#define MIME_MAX_HEADER_SIZE	(1024 * 1024)
#define MIME_MAX_FIELD_SIZE	(64 * 1024)
/* Fixed limits: parameters kept per field (after merging RFC 2231
 * continuations; the rest are dropped), the highest continuation number,
 * and the longest boundary recognised (RFC 2046 allows 70; a multipart
 * with a longer one, like one without any, has no parts). Nesting deeper than
 * MIME_HARD_MAX_DEPTH is never allowed, whatever the limits say (the
 * parser and the renderers recurse once per level). */
#define MIME_MAX_PARAMS		64
#define MIME_MAX_CONTINUATIONS	1000
#define MIME_MAX_BOUNDARY	200
#define MIME_HARD_MAX_DEPTH	1000

struct mime_limits {
	unsigned max_depth;		/* 0: MIME_MAX_DEPTH */
	unsigned max_parts;		/* 0: MIME_MAX_PARTS */
	size_t max_header_size;		/* 0: MIME_MAX_HEADER_SIZE */
	size_t max_field_size;		/* 0: MIME_MAX_FIELD_SIZE */
};

/* A place in the message: its byte offset, and the number of LFs and of
 * bare LFs (not preceded by CR) in the bytes before it. */
struct mime_pos {
	size_t off;
	size_t lines;
	size_t bare_lf;
};

/* A range [start, end) of the message. */
struct mime_range {
	struct mime_pos start;
	struct mime_pos end;
};

struct mime_param {
	const char *name;	/* as written, without RFC 2231 "*N*" */
	const char *value;	/* unquoted; continuations merged */
	/* The value is RFC 2231 extended: charset'language'%XX-text. IMAP
	 * shows such a parameter as "name*" with the value as it is, as
	 * Dovecot does; mime_param_decode() gives UTF-8. */
	bool extended;
};

struct mime_params {
	struct mime_param *items;
	unsigned count;
};

/* struct mime_part.flags */
/* A multipart, split at its boundary into children. */
#define MIME_PART_MULTIPART	0x01
/* message/rfc822: one child, the encapsulated message. */
#define MIME_PART_MESSAGE	0x02
/* A multipart or message/rfc822 left unsplit because of a limit. */
#define MIME_PART_LIMITED	0x04
/* No usable Content-Type: the default (text/plain, or message/rfc822 in
 * a digest). */
#define MIME_PART_DEFAULT_TYPE	0x08
/* The header's last line end is also the one before a boundary (no
 * body follows): sizes count it, BODY[n.MIME] and BODY[n.HEADER] leave
 * it out (both as Dovecot). */
#define MIME_PART_HEADER_AT_BOUNDARY	0x10

struct mime_part {
	struct mime_part *parent;
	struct mime_part *children;	/* first child */
	struct mime_part *next;		/* next sibling */
	unsigned child_count;
	unsigned depth;			/* 0 for the message itself */
	unsigned flags;			/* MIME_PART_* */
	/* The header starts at header and ends (with its blank line, if it
	 * has one) at body; the body ends at end. For a part of a
	 * multipart, end is before the line end that precedes the next
	 * boundary (that line end belongs to the boundary, RFC 2046). */
	struct mime_pos header;
	struct mime_pos body;
	struct mime_pos end;
	/* Content-Type as written ("text"/"plain" by default). */
	const char *type;
	const char *subtype;
	struct mime_params params;
	/* Unfolded, trimmed field values, or NULL when absent. */
	const char *id;			/* Content-ID */
	const char *description;	/* Content-Description (raw) */
	const char *encoding;		/* Content-Transfer-Encoding */
	const char *md5;		/* Content-MD5 */
	const char *disposition;	/* Content-Disposition token */
	struct mime_params disposition_params;
	const char **languages;		/* Content-Language tags */
	unsigned language_count;
	const char *location;		/* Content-Location */
	const char *boundary;		/* multipart boundary, or NULL */
};

struct mime_pool;
struct mime_checkpoint;

struct mime_message {
	const char *data;
	size_t size;
	struct mime_part *root;
	unsigned part_count;
	bool limited;		/* some limit stopped the parser */
	/* Private. */
	struct mime_pool *pool;
	struct mime_checkpoint *checkpoints;
	size_t checkpoint_count;
};

/* Parse data[0..size). limits may be NULL (the defaults). Never fails. */
struct mime_message *mime_parse(const char *data, size_t size,
				const struct mime_limits *limits);
void mime_message_free(struct mime_message **msg);

/* Size of a range in the CRLF view, and its number of lines (LFs). */
size_t mime_range_vsize(const struct mime_range *range);
size_t mime_range_lines(const struct mime_range *range);
/* The body of part in the CRLF view: its size and lines, as
 * BODYSTRUCTURE shows them. */
size_t mime_part_body_vsize(const struct mime_part *part);
size_t mime_part_body_lines(const struct mime_part *part);
bool mime_part_is_type(const struct mime_part *part, const char *type,
		       const char *subtype);

/* Find a part by IMAP section number ("" is the message, "1.2.3"; RFC
 * 3501 section 6.4.5). Each number counts the parts of a multipart; on a
 * message/rfc822 part it counts inside the encapsulated message; 1 on
 * a part that is no multipart stays on it, except that the body of the
 * message itself is only "1" ("1.1" is no part, as in Dovecot). Returns
 * 1 found, 0 no such part (IMAP
 * answers an empty string, as Dovecot does), -1 not a section number.
 * Use it for BINARY[path] and BODYSTRUCTURE of a part. */
int mime_section_find(const struct mime_message *msg, const char *path,
		      const struct mime_part **part_r);

enum mime_section {
	MIME_SECTION_ALL,	/* BODY[] / BODY[1.2]: the part's content */
	MIME_SECTION_HEADER,	/* BODY[HEADER] / BODY[1.HEADER] */
	MIME_SECTION_TEXT,	/* BODY[TEXT] / BODY[1.TEXT] */
	MIME_SECTION_MIME,	/* BODY[1.MIME]: the part's own header */
};

/* The range of BODY[path] or BODY[path.section]. "" is the whole
 * message; a numbered part is its body (for a message/rfc822 part, the
 * whole encapsulated message). HEADER and TEXT of a numbered
 * message/rfc822 part are those of the encapsulated message, of "" the
 * message's own; other parts have none (RFC 3501: 0, which Dovecot
 * answers with an empty string). MIME of "" is an error. Returns 1, 0
 * no such part or section, -1 invalid. */
int mime_section_range(const struct mime_message *msg, const char *path,
		       enum mime_section section, struct mime_range *range_r);
/* The part whose header BODY[path.HEADER.FIELDS ...] reads (the HEADER
 * rule above), for mime_header_fields(). Returns like
 * mime_section_range(). */
int mime_section_header_part(const struct mime_message *msg,
			     const char *path,
			     const struct mime_part **part_r);

/* Append the CRLF view of range to out, from offset (in the CRLF view of
 * the range) for at most count bytes (SIZE_MAX: to the end), as a
 * partial FETCH <offset.count> wants it. Seeking costs at most
 * MIME_CHECKPOINT_STEP bytes of scanning, so fetching a big part in
 * pieces stays linear. */
void mime_range_write(const struct mime_message *msg,
		      const struct mime_range *range, size_t offset,
		      size_t count, struct str *out);
/* Append len bytes of in with bare LFs turned into CRLF. */
void mime_append_crlf(struct str *out, const char *in, size_t len);

/* BODY[HEADER.FIELDS (names)] and BODY[HEADER.FIELDS.NOT (names)]: the
 * fields of the header of part (from mime_section_header_part) whose names
 * are (exclude: are not) among names, case-insensitively, in message
 * order, as written (CRLF view), followed by a blank line if the header
 * has one or a boundary ended it (not if the message ends in it: as
 * Dovecot). */
void mime_header_fields(const struct mime_message *msg,
			const struct mime_part *part,
			const char *const *names, size_t name_count,
			bool exclude, struct str *out);

/* BINARY[section] (RFC 3516): the body of part with its
 * Content-Transfer-Encoding undone (base64: the bytes as decoded;
 * quoted-printable: hard line breaks become CRLF; 7bit, 8bit, binary and
 * none: the CRLF view). Multiparts and message/rfc822 parts are not
 * decoded (their content in the CRLF view, as Dovecot). Returns -1 with *error_r for an encoding we
 * do not know (IMAP's [UNKNOWN-CTE]), 1 otherwise. */
int mime_part_decode(const struct mime_message *msg,
		     const struct mime_part *part, struct str *out,
		     const char **error_r);
/* The same, stopping once at least max bytes are decoded (or the part
 * ends): what a preview needs of a long part, without decoding all of
 * it. The bytes decoded are those mime_part_decode starts with. */
int mime_part_decode_prefix(const struct mime_message *msg,
			    const struct mime_part *part, size_t max,
			    struct str *out, const char **error_r);

/*
 * IMAP rendering (mime_imap.c). flags: MIME_IMAP_UTF8 lets quoted strings
 * carry 8-bit text (IMAP4rev2, UTF8=ACCEPT); without it 8-bit strings are
 * sent as literals, as Dovecot does.
 */
#define MIME_IMAP_UTF8	0x1

/* ENVELOPE of a message part (the root, or the child of a message/rfc822
 * part) in RFC 3501 form, with the outer parentheses. */
void mime_imap_envelope(const struct mime_message *msg,
			const struct mime_part *part, unsigned flags,
			struct str *out);
/* BODY (extended false) or BODYSTRUCTURE (extended true) of part, with
 * the outer parentheses. */
void mime_imap_bodystructure(const struct mime_message *msg,
			     const struct mime_part *part, bool extended,
			     unsigned flags, struct str *out);
/* An IMAP string: quoted when it can be, else a literal "{n}\r\n...".
 * NUL bytes, which no IMAP string may hold, are dropped. */
void mime_imap_append_string(struct str *out, const char *s, size_t len,
			     unsigned flags);
/* Text for people (Subject, display names), as Dovecot sends it: line
 * ends and runs of white space become one space, white space at the
 * ends goes, NUL becomes 0x80; if any of that changed something, or the
 * text holds '"', '\\' or 8-bit bytes, it goes as a literal (a quoted
 * string with MIME_IMAP_UTF8 and valid UTF-8 without quotes). */
void mime_imap_append_human(struct str *out, const char *s, size_t len,
			    unsigned flags);
/* An IMAP string or NIL for NULL. */
void mime_imap_append_nstring(struct str *out, const char *s,
			      unsigned flags);

/*
 * Headers (mime_header.c).
 */
struct mime_field {
	const char *name;	/* not NUL-terminated */
	size_t name_len;	/* without trailing white space */
	const char *value;	/* after the colon, folding included */
	size_t value_len;	/* up to the field's last line end */
	size_t start;		/* offsets of the whole field, */
	size_t end;		/* last line end included */
	bool has_colon;		/* false: a line that is not a field */
};

struct mime_header_iter {
	const char *data;
	size_t pos;
	size_t end;
};

/* Iterate over the fields of the header data[start..end): end is where
 * the header's blank line starts, or the body offset (a trailing blank
 * line is never returned as a field). */
void mime_header_iter_init(struct mime_header_iter *iter, const char *data,
			   size_t start, size_t end);
bool mime_header_next(struct mime_header_iter *iter, struct mime_field *f);
/* The first field called name (case-insensitive) in the header of part,
 * unfolded and trimmed, into value_r (cleared first). 1 found, 0 not. */
int mime_header_get(const struct mime_message *msg,
		    const struct mime_part *part, const char *name,
		    struct str *value_r);
/* RFC 5322 unfolding: drop CR and LF, trim white space at both ends. */
void mime_header_unfold(const char *value, size_t len, struct str *out);
/* Unfold and decode RFC 2047 encoded words into UTF-8 (appended to out).
 * White space between adjacent encoded words is dropped; words in
 * unknown charsets or with bad encodings are kept as they are; bytes
 * that are not UTF-8 become U+FFFD. */
void mime_header_decode(const char *value, size_t len, struct str *out);

/*
 * Preview (mime_preview.c): up to MIME_PREVIEW_CHARS characters of UTF-8
 * from the first text part a reader sees (decoded, HTML reduced to text,
 * white space collapsed), appended to out; nothing if there is none.
 * IMAP's PREVIEW (RFC 8970).
 */
#define MIME_PREVIEW_CHARS 256
void mime_preview(const struct mime_message *msg, struct str *out);

/*
 * Charsets (mime_charset.c).
 */
/* Convert len bytes in charset (case-insensitive, with the usual
 * aliases) to UTF-8, appended to out. UTF-8, US-ASCII, ISO-8859-1,
 * ISO-8859-15 and Windows-1252 are built in; other charsets go through
 * iconv(3). Bytes that are invalid in the charset become U+FFFD. Returns
 * false (nothing appended) for an unknown charset. */
bool mime_charset_to_utf8(const char *charset, const char *in, size_t len,
			  struct str *out);
/* Append s[0..len) to out with every invalid UTF-8 sequence replaced by
 * U+FFFD. */
void mime_utf8_sanitize(const char *s, size_t len, struct str *out);
/* Length of the valid UTF-8 sequence at s (at most left bytes: 1 for
 * ASCII), 0 if it is not one (the rule mime_utf8_sanitize applies). */
size_t mime_utf8_char_len(const char *s, size_t left);
/* i;unicode-casemap (RFC 5051) of len bytes of UTF-8, appended to out:
 * each character titlecased, then NFKD; "MÜLLER" and "müller" map alike,
 * and so do "é" and "e" followed by U+0301. Invalid UTF-8 sequences
 * become U+FFFD first; ASCII (no NUL) is upper-cased in place of both.
 * Links libunistring (UNISTRING_LIBS). mime_casemap.c. */
void mime_casemap(const char *utf8, size_t len, struct str *out);
/* The number of conversions done through iconv(3) so far in this
 * process: their result depends on the iconv modules the process can
 * load, so the full-text index notes the messages that needed one. */
extern unsigned long mime_charset_iconv_count;

/*
 * Search texts (mime_text.c): the strings IMAP SEARCH compares its keys
 * with, shared by imapd's matcher and the full-text index so the two
 * can never disagree. fn gets each text in turn (UTF-8 where it could
 * be converted, else the bytes as decoded; may hold NULs) and returns
 * true to stop the walk; the functions return whether fn stopped it.
 */
typedef bool mime_text_fn(void *ctx, const char *text, size_t len);
/* Each field of part's header (only those called name, any case, if
 * name is not NULL), unfolded and RFC 2047-decoded; an address field
 * then once more as "Name <mailbox@domain>, ...". */
bool mime_text_header(const struct mime_message *msg,
		      const struct mime_part *part, const char *name,
		      mime_text_fn *fn, void *ctx);
/* Each leaf part under part (part itself if it is one), its transfer
 * encoding undone (as written if unknown) and a text part with a
 * charset turned into UTF-8. */
bool mime_text_body(const struct mime_message *msg,
		    const struct mime_part *part, mime_text_fn *fn,
		    void *ctx);

/*
 * Parameters (mime_param.c).
 */
struct mime_pool *mime_pool_create(void);
void mime_pool_free(struct mime_pool **pool);

/* Parse a Content-Type value ("type/subtype; a=b; ..."; a type without
 * "/subtype" gets subtype "", as in Dovecot). Returns false (type and
 * subtype NULL, no parameters) when there is no type token or the
 * subtype is not one. */
bool mime_param_content_type(struct mime_pool *pool, const char *value,
			     size_t len, const char **type_r,
			     const char **subtype_r,
			     struct mime_params *params_r);
/* Parse a value of the form "token *(; parameter)" (Content-Disposition).
 * Returns false when there is no token. */
bool mime_param_token_params(struct mime_pool *pool, const char *value,
			     size_t len, const char **token_r,
			     struct mime_params *params_r);
/* The first parameter called name (case-insensitive), or NULL. */
const struct mime_param *mime_params_find(const struct mime_params *params,
					  const char *name);
/* The value of param in UTF-8, appended to out: RFC 2231 extended values
 * are converted from their charset, others RFC 2047-decoded (a common
 * violation in file names). */
void mime_param_decode(const struct mime_param *param, struct str *out);

/*
 * Transfer encodings (mime_decode.c).
 */
/* Decode base64, skipping anything outside the alphabet (line ends,
 * white space, junk) and stopping at the first "=". Returns false if
 * something was skipped that is not white space, or bits are left over. */
bool mime_base64_decode(const char *in, size_t len, struct str *out);
/* Decode a quoted-printable body: soft line breaks ("=" at a line end,
 * white space allowed after it) removed, trailing white space of lines
 * dropped, hard line breaks written as CRLF, bad "=" sequences kept as
 * they are. */
void mime_qp_decode(const char *in, size_t len, struct str *out);

/*
 * RFC 5322 address lists, as IMAP's ENVELOPE shows them (mime_addr.c).
 */
struct mime_addr {
	struct mime_addr *next;
	/* A mailbox has mailbox and domain set (Dovecot's MISSING_MAILBOX
	 * and MISSING_DOMAIN fill gaps); a group starts with mailbox = the
	 * group name and domain NULL, and ends with both NULL. */
	const char *name;	/* display name, or NULL */
	const char *route;	/* "@a,@b" source route, or NULL */
	const char *mailbox;
	const char *domain;
};

/* Parse an address list (a header value, folded or not). Never fails:
 * junk is skipped. Returns NULL for an empty list. */
struct mime_addr *mime_addr_parse(struct mime_pool *pool, const char *value,
				  size_t len);

#endif
