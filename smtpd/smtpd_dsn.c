/*
 * smtpd_dsn: the DSN ESMTP extension's parameters (RFC 3461), parsed
 * for smtpd_parse.c (smtpd.h).
 *
 * MAIL takes RET=FULL|HDRS and ENVID=xtext; RCPT takes NOTIFY=NEVER or
 * a list of SUCCESS, FAILURE and DELAY, and ORCPT=addr-type;xtext. The
 * values end up in the queue file (the "ret" and "envid" attributes, a
 * recipient's notify bits and original address) for qmgr's bounces and
 * for the SMTP client, which passes them on to the next hop.
 *
 * xtext (RFC 3461 4): printable ASCII except '+' and '=' stands for
 * itself, "+XX" with two upper-case hex digits for any octet. Decoded
 * values must be printable ASCII (ENVID, RFC 3461 4.4; an rfc822
 * address), so nothing odd reaches a queue record, a log line or the
 * next hop. ORCPT with another address type (x400, utf-8) is accepted
 * and not kept: the recipient's own address stands in for it.
 *
 * SECURITY: pure functions over untrusted, length-bounded client text;
 * output goes into fixed buffers whose sizes are checked.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "queue.h"
#include "smtpd.h"

/* RFC 3461 4.2: an ORCPT value is at most 500 characters. */
#define SMTPD_ORCPT_MAX 500

static int smtpd_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool smtpd_xtext_decode(const char *in, size_t len, char *out, size_t size)
{
	size_t i = 0, n = 0;
	int hi, lo, c;

	while (i < len) {
		c = (unsigned char)in[i];
		if (c == '+') {
			if (len - i < 3)
				return false;
			hi = smtpd_hex(in[i + 1]);
			lo = smtpd_hex(in[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = hi * 16 + lo;
			i += 3;
		} else if (c < 33 || c > 126 || c == '=') {
			return false;
		} else {
			i++;
		}
		if (c < 0x20 || c > 0x7e || n + 1 >= size)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return true;
}

static bool smtpd_word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

bool smtpd_dsn_notify(const char *val, size_t len, unsigned *notify_r)
{
	unsigned bits = 0, bit;
	size_t start = 0, end;

	if (len == 0)
		return false;
	while (start <= len) {
		end = start;
		while (end < len && val[end] != ',')
			end++;
		if (smtpd_word_is(val + start, end - start, "NEVER"))
			bit = QUEUE_NOTIFY_NEVER;
		else if (smtpd_word_is(val + start, end - start, "SUCCESS"))
			bit = QUEUE_NOTIFY_SUCCESS;
		else if (smtpd_word_is(val + start, end - start, "FAILURE"))
			bit = QUEUE_NOTIFY_FAILURE;
		else if (smtpd_word_is(val + start, end - start, "DELAY"))
			bit = QUEUE_NOTIFY_DELAY;
		else
			return false;
		if (bits & bit)
			return false;
		bits |= bit;
		start = end + 1;
	}
	/* NEVER stands alone (RFC 3461 4.1). */
	if ((bits & QUEUE_NOTIFY_NEVER) && bits != QUEUE_NOTIFY_NEVER)
		return false;
	*notify_r = bits;
	return true;
}

bool smtpd_dsn_orcpt(const char *val, size_t len, char *out, size_t size)
{
	const char *semi = memchr(val, ';', len);
	size_t tlen, i;

	if (semi == NULL || len > SMTPD_ORCPT_MAX || size == 0)
		return false;
	tlen = (size_t)(semi - val);
	if (tlen == 0)
		return false;
	/* addr-type is an atom: letters, digits and '-'. */
	for (i = 0; i < tlen; i++)
		if (!((val[i] >= 'a' && val[i] <= 'z') ||
		      (val[i] >= 'A' && val[i] <= 'Z') ||
		      (val[i] >= '0' && val[i] <= '9') || val[i] == '-'))
			return false;
	if (len - tlen - 1 == 0)
		return false;
	if (!smtpd_xtext_decode(semi + 1, len - tlen - 1, out, size))
		return false;
	if (!smtpd_word_is(val, tlen, "rfc822"))
		out[0] = '\0';
	return true;
}

bool smtpd_dsn_ret(const char *val, size_t len, enum smtpd_ret *ret_r)
{
	if (smtpd_word_is(val, len, "FULL"))
		*ret_r = SMTPD_RET_FULL;
	else if (smtpd_word_is(val, len, "HDRS"))
		*ret_r = SMTPD_RET_HDRS;
	else
		return false;
	return true;
}

const char *smtpd_dsn_ret_name(enum smtpd_ret ret)
{
	switch (ret) {
	case SMTPD_RET_FULL:
		return "FULL";
	case SMTPD_RET_HDRS:
		return "HDRS";
	default:
		return NULL;
	}
}
