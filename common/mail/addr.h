#ifndef COMMON_ADDR_H
#define COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 envelope addresses (with the RFC 6531 SMTPUTF8 extension).
 *
 * A Mailbox is Local-part "@" Domain, where the local part is a
 * Dot-string or a Quoted-string and the domain is a dot-separated host
 * name or an address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]").
 * A Path adds angle brackets and an optional, obsolete source route:
 * "<@relay1,@relay2:user@example.com>"; the route is parsed, checked and
 * dropped (RFC 5321 section 3.6.1 says to ignore it).
 *
 * Results have fixed-size buffers (no allocation: smtpd parses two of
 * these per recipient on its hot path). Lengths are the RFC's: local part
 * 64 octets, domain 255, whole path 256 including the brackets.
 *
 * Canonical form (struct addr.text): the local part as a Dot-string when
 * it is one, else quoted with only '"' and '\' escaped; the domain in
 * lower case (ASCII letters only) without a trailing dot. */

#define ADDR_LOCAL_MAX	64
#define ADDR_DOMAIN_MAX	255
#define ADDR_PATH_MAX	256
#define ADDR_TEXT_MAX	(ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

/* Parse flags. */
#define ADDR_F_UTF8	0x1	/* SMTPUTF8: UTF-8 in local part and domain */
#define ADDR_F_NODOMAIN	0x2	/* a bare local part is fine ("postmaster") */
#define ADDR_F_NULL	0x4	/* "<>" is fine (reverse path) */

struct addr {
	/* The local part, unquoted (escapes resolved). */
	char local[ADDR_LOCAL_MAX + 1];
	/* Lower case, no trailing dot, "" without a domain; an address
	 * literal keeps its brackets ("[192.0.2.1]"). */
	char domain[ADDR_DOMAIN_MAX + 1];
	/* Canonical "local@domain" (or just the local part); "" for <>. */
	char text[ADDR_TEXT_MAX + 1];
	bool null;		/* the null path <> */
	bool quoted;		/* the local part was a Quoted-string */
	bool literal;		/* the domain is an address literal */
	bool trailing_dot;	/* "user@example.com." (dot dropped) */
	bool route;		/* a source route was dropped */
	bool utf8;		/* non-ASCII octets somewhere */
};

struct addr_error {
	const char *reason;	/* static text */
	size_t pos;		/* offset of the offending byte in the input */
};

/* Parse the Mailbox s[0..len) (no brackets), all of it. */
bool addr_parse_mailbox(const char *s, size_t len, unsigned flags,
			struct addr *a, struct addr_error *err);

/* Parse a Path at the start of s[0..len): "<" [A-d-l ":"] Mailbox ">",
 * or "<>" with ADDR_F_NULL. *end_r is the offset just past '>'. */
bool addr_parse_path(const char *s, size_t len, unsigned flags,
		     struct addr *a, size_t *end_r, struct addr_error *err);

/* Validate a domain name or address literal s[0..len) (no trailing dot
 * handling: the caller strips it). */
bool addr_valid_domain(const char *s, size_t len, unsigned flags,
		       struct addr_error *err);

/* True if the local part carries routing of its own: '@' (quoted),
 * '%' (the percent hack) or '!' (bang paths). Such addresses must never
 * be relayed on behalf of an untrusted client. */
bool addr_has_routing(const struct addr *a);

/* True for "postmaster" in any case, with or without a domain. */
bool addr_is_postmaster(const struct addr *a);

/* True if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF). */
bool addr_valid_utf8(const char *s, size_t len);

#endif
