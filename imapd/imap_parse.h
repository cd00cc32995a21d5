#ifndef IMAPD_IMAP_PARSE_H
#define IMAPD_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The IMAP command parser shared by the front end (imap-login) and the
 * mail process (imapd): bytes in, one command out (RFC 3501 and RFC 9051
 * grammar, with LITERAL+ / LITERAL- (RFC 7888) and literal8 (RFC 3516)).
 *
 * The parser is incremental: feed it whatever the socket gave, in pieces
 * of any size; it stops at the end of a command, before the data of a
 * synchronising literal (the server sends "+ Ready" first), or at an
 * error, and says how many bytes it used. Feeding one byte at a time gives
 * the same results as feeding everything at once.
 *
 * A command is a tag, a name (upper-cased; "UID FETCH" is name "FETCH"
 * with uid set) and a tree of arguments: atoms, quoted strings, literals,
 * NIL and parenthesised lists. The parser checks the syntax of the tokens
 * only; what the arguments mean is for the command (the helpers below, and
 * imap_seqset.h, imap_search.h, imap_fetch.h, imap_flags.h, imap_date.h).
 *
 * In FETCH and UID FETCH, an atom may hold a bracketed section with spaces
 * and parentheses inside, as in BODY[HEADER.FIELDS (From To)]<0.100>: the
 * whole of it is one atom, taken apart by imap_fetch_parse(). */

/* Defaults for struct imap_parser_limits (0 there means the default). */
#define IMAP_PARSE_LINE_MAX 65536	/* bytes outside literals */
#define IMAP_PARSE_LITERAL_MAX 65536	/* one literal, most commands */
#define IMAP_PARSE_LITERALS_TOTAL_MAX (64 * 1024 * 1024)
#define IMAP_PARSE_ARGS_MAX 4096	/* tokens and lists in a command */
#define IMAP_PARSE_DEPTH_MAX 32		/* parenthesis nesting */
/* LITERAL- (RFC 7888): without LITERAL+, {n+} is allowed up to this. */
#define IMAP_PARSE_LITERAL_MINUS_MAX 4096

struct imap_parser_limits {
	size_t line_max;
	size_t literal_max;	/* every command but APPEND */
	size_t append_literal_max;	/* APPEND (APPENDLIMIT) */
	size_t literals_total_max;	/* sum of a command's literals */
	unsigned int args_max;
	unsigned int depth_max;
	/* LITERAL+ advertised: {n+} of any size up to the literal limit;
	 * otherwise (LITERAL-) only up to IMAP_PARSE_LITERAL_MINUS_MAX. */
	bool literal_plus;
	/* Hand APPEND's message literals to the caller instead of reading
	 * them into memory (IMAP_PARSE_LITERAL). A message literal is one
	 * at the top level after the mailbox name. */
	bool stream_append;
};

enum imap_arg_type {
	IMAP_ARG_EOL,		/* ends every argument array */
	IMAP_ARG_ATOM,
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,	/* {n} or {n+}: no NUL bytes inside */
	IMAP_ARG_LITERAL8,	/* ~{n}: any bytes */
	IMAP_ARG_NIL,		/* the atom NIL, any case; str is "NIL" */
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* Strings: the bytes, NUL-terminated (a literal8 may hold NULs:
	 * len is authoritative). Lists: NULL. */
	const char *str;
	size_t len;
	/* Lists: the elements, count of them, then an IMAP_ARG_EOL. */
	const struct imap_arg *list;
	unsigned int count;
	bool nonsync;		/* literals: sent as {n+} */
	/* Literals read by the caller (stream_append): str is "" and len
	 * the size of the data. */
	bool streamed;
};

struct imap_cmd {
	const char *tag;	/* NULL until read */
	const char *name;	/* NULL until read; upper case */
	bool uid;		/* UID FETCH etc.: name is the second word */
	const struct imap_arg *args;	/* ends with IMAP_ARG_EOL */
	unsigned int nargs;
};

enum imap_parse_result {
	/* Every byte was used and the command is not complete: feed more. */
	IMAP_PARSE_MORE,
	/* A synchronising literal follows: send a continuation ("+ Ready")
	 * and feed its bytes. The tag and name are known; to refuse the
	 * literal instead, answer NO or BAD and call imap_parser_refuse():
	 * the client will not send it. */
	IMAP_PARSE_CONT,
	/* With stream_append: APPEND's message data follows, of
	 * imap_parser_literal_size() bytes. If imap_parser_literal_sync(),
	 * send a continuation first. The caller reads the data itself from
	 * what follows the consumed bytes, then calls
	 * imap_parser_literal_streamed() and feeds on. (A plain literal
	 * cannot hold NUL: checking that is the caller's part here.) */
	IMAP_PARSE_LITERAL,
	/* A complete command: imap_parser_cmd(). It stays valid until the
	 * next feed or reset. */
	IMAP_PARSE_DONE,
	/* A syntax error or a limit: answer "<tag> BAD <error>" (or
	 * "* BAD <error>" without a tag). The rest of the bad command was
	 * consumed; the next byte starts a new command. */
	IMAP_PARSE_ERROR,
	/* An error after which the stream cannot be followed (a
	 * non-synchronising literal over the limit): answer BAD or BYE and
	 * close the connection. Every later feed returns this again. */
	IMAP_PARSE_FATAL,
};

struct imap_parser;

/* limits may be NULL for the defaults; it is copied. */
struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits);
void imap_parser_free(struct imap_parser **p);

/* Parse from data (size bytes). *consumed_r says how many were used: the
 * rest belongs to what follows (the next command, or an AUTHENTICATE or
 * IDLE line that the caller reads itself). */
enum imap_parse_result imap_parser_feed(struct imap_parser *p,
					const void *data, size_t size,
					size_t *consumed_r);
/* Forget the command being read; the next byte starts a new one (the
 * caller knows the client sends nothing more of it; otherwise use
 * imap_parser_refuse()). */
void imap_parser_reset(struct imap_parser *p);
/* Refuse the command after IMAP_PARSE_CONT or IMAP_PARSE_LITERAL (having
 * answered NO or BAD): what the client sends anyway (the data of a
 * non-synchronising literal and the rest of the command) is skipped,
 * then the next command is read. */
void imap_parser_refuse(struct imap_parser *p);
/* After IMAP_PARSE_LITERAL: the caller has read the data. */
void imap_parser_literal_streamed(struct imap_parser *p);
/* After IMAP_PARSE_CONT or LITERAL: true for {n} (send a continuation
 * before the client sends the data), false for {n+}. */
bool imap_parser_literal_sync(const struct imap_parser *p);
/* The command: complete after IMAP_PARSE_DONE; after CONT, ERROR and
 * FATAL only tag and name may be set. */
const struct imap_cmd *imap_parser_cmd(const struct imap_parser *p);
/* The BAD text after IMAP_PARSE_ERROR or IMAP_PARSE_FATAL. */
const char *imap_parser_error(const struct imap_parser *p);
/* After IMAP_PARSE_ERROR or FATAL: true if the error was a literal over
 * the command's limit (APPEND answers "NO [TOOBIG]", RFC 7889). */
bool imap_parser_error_toobig(const struct imap_parser *p);
/* After IMAP_PARSE_CONT: the announced size of the literal. */
size_t imap_parser_literal_size(const struct imap_parser *p);
/* Switch LITERAL+ on or off (after ENABLE or a capability change). */
void imap_parser_set_literal_plus(struct imap_parser *p, bool on);

/* Argument helpers. Each returns false (and leaves *r alone) when arg is
 * not of the wanted kind. */
/* An atom (not NIL). */
bool imap_arg_get_atom(const struct imap_arg *arg, const char **r);
/* An astring: atom, NIL (as "NIL"), quoted or literal (not literal8,
 * not streamed). */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **r);
/* A string: quoted or literal (not literal8, not streamed). */
bool imap_arg_get_string(const struct imap_arg *arg, const char **r);
/* An nstring: a string, or NIL as NULL. */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **r);
/* A list: its elements (EOL-terminated) and their number. */
bool imap_arg_get_list(const struct imap_arg *arg,
		       const struct imap_arg **list_r, unsigned int *count_r);
/* An atom equal to word, ignoring case. */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *word);
/* An atom holding a number (RFC 3501 "number": 32 bits). */
bool imap_arg_get_number(const struct imap_arg *arg, uint32_t *r);

/* Numbers as the grammar has them: decimal digits only, no sign, no
 * space, and in range: "number" is 0..4294967295, "nz-number"
 * 1..4294967295, "number64" (RFC 9051) 0..2^63-1. A value at or above
 * the limit is refused, never wrapped. Leading zeros are accepted. */
bool imap_parse_number(const char *s, uint32_t *r);
bool imap_parse_nz_number(const char *s, uint32_t *r);
bool imap_parse_number64(const char *s, uint64_t *r);

#endif
