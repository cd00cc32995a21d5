/*
 * imap_url: relative IMAP URLs of messages and parts (imap_url.h).
 *
 * Interface: imap_url_parse, imap_url_free.
 *
 * SECURITY: the URL comes from the client. Decoded names are bounded by
 * the URL's length, a %00 is refused (a name never holds a NUL), and the
 * numbers are checked for overflow. What the URL names is looked up by
 * the caller, in the session's own mailboxes only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_url.h"
#include "mem.h"

static int imap_url_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* [p, end) percent-decoded into a new string; NULL if a %XX is broken
 * or decodes to NUL. */
static char *imap_url_decode(const char *p, const char *end)
{
	char *out = mem_alloc((size_t)(end - p) + 1), *o = out;

	while (p < end) {
		if (*p != '%') {
			*o++ = *p++;
			continue;
		}
		if (end - p < 3 || imap_url_hex(p[1]) < 0 ||
		    imap_url_hex(p[2]) < 0 ||
		    (imap_url_hex(p[1]) | imap_url_hex(p[2])) == 0) {
			mem_free(out);
			return NULL;
		}
		*o++ = (char)(imap_url_hex(p[1]) * 16 + imap_url_hex(p[2]));
		p += 3;
	}
	*o = '\0';
	return out;
}

/* A decimal number in [p, end), at most UINT32_MAX; nz: not zero. */
static bool imap_url_number(const char *p, const char *end, bool nz,
			    uint32_t *n_r)
{
	uint64_t n = 0;

	if (p == end || end - p > 10)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (n > UINT32_MAX || (nz && n == 0))
		return false;
	*n_r = (uint32_t)n;
	return true;
}

/* Does [p, end) start with "/;KEY=" (key in any case)? Moves *pp past. */
static bool imap_url_key(const char **pp, const char *end, const char *key)
{
	size_t len = strlen(key);
	const char *p = *pp;

	if (end - p < (long)len + 3 || p[0] != '/' || p[1] != ';' ||
	    strncasecmp(p + 2, key, len) != 0 || p[2 + len] != '=')
		return false;
	*pp = p + len + 3;
	return true;
}

/* The end of the component at p: the next "/;" (or the end). A '/'
 * alone is a character of a mailbox name or section (RFC 5092 bchar). */
static const char *imap_url_next(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '/' && p[1] == ';')
			return p;
	return end;
}

bool imap_url_parse(const char *url, struct imap_url *u, const char **error_r)
{
	const char *p = url, *end = url + strlen(url), *q, *semi;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "imap://", 7) == 0) {
		*error_r = "only relative URLs of this server";
		return false;
	}
	if (*p != '/' || p[1] == '/' || p[1] == ';') {
		*error_r = "expected /MAILBOX/;UID=n";
		return false;
	}
	p++;
	/* The mailbox (which may hold '/' but never ';'), with its
	 * ;UIDVALIDITY= if given. */
	q = imap_url_next(p, end);
	semi = memchr(p, ';', (size_t)(q - p));
	u->mailbox = imap_url_decode(p, semi != NULL ? semi : q);
	if (u->mailbox == NULL || u->mailbox[0] == '\0') {
		*error_r = "bad mailbox name";
		return false;
	}
	if (semi != NULL) {
		if (strncasecmp(semi, ";UIDVALIDITY=", 13) != 0 ||
		    !imap_url_number(semi + 13, q, true, &u->uidvalidity)) {
			*error_r = "bad UIDVALIDITY";
			return false;
		}
	}
	p = q;
	if (!imap_url_key(&p, end, "UID")) {
		*error_r = "expected /;UID=n";
		return false;
	}
	q = imap_url_next(p, end);
	if (!imap_url_number(p, q, true, &u->uid)) {
		*error_r = "bad UID";
		return false;
	}
	p = q;
	if (imap_url_key(&p, end, "SECTION")) {
		q = imap_url_next(p, end);
		u->section = imap_url_decode(p, q);
		if (u->section == NULL || u->section[0] == '\0') {
			*error_r = "bad SECTION";
			return false;
		}
		p = q;
	}
	if (imap_url_key(&p, end, "PARTIAL")) {
		const char *dot;

		q = imap_url_next(p, end);
		dot = memchr(p, '.', (size_t)(q - p));
		u->partial = true;
		if (!imap_url_number(p, dot != NULL ? dot : q, false,
				     &u->offset) ||
		    (dot != NULL &&
		     !imap_url_number(dot + 1, q, true, &u->length))) {
			*error_r = "bad PARTIAL";
			return false;
		}
		p = q;
	}
	if (p != end) {
		/* ;URLAUTH=, ;EXPIRE= and anything else. */
		*error_r = "unsupported URL part";
		return false;
	}
	return true;
}

void imap_url_free(struct imap_url *u)
{
	mem_free(u->mailbox);
	mem_free(u->section);
	memset(u, 0, sizeof(*u));
}
