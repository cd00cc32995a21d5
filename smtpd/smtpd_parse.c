/*
 * smtpd_parse: SMTP command line parsing (smtpd.h).
 *
 * Pure functions over one command line without its line end: the verb
 * (case-insensitive, RFC 5321 4.1.1), the MAIL FROM and RCPT TO paths
 * with their ESMTP parameters (RFC 1869 syntax; SIZE from RFC 1870, BODY
 * from RFC 6152/3030, SMTPUTF8 from RFC 6531, AUTH= from RFC 4954 (accepted
 * and ignored, as Postfix does), RET, ENVID, NOTIFY and ORCPT from RFC
 * 3461 through smtpd_dsn.c), BDAT's count (RFC 3030)
 * and the HELO name. Failures come back as the complete reply line, with
 * the code and enhanced status code Postfix uses for the same mistake.
 *
 * Leniency follows Postfix's defaults (strict_rfc821_envelopes = no):
 * spaces between "FROM:" and the path, and a path without angle
 * brackets when it contains no spaces.
 *
 * SECURITY: all input is untrusted client text of bounded length (the
 * line limit). Nothing is allocated; results go into fixed buffers whose
 * sizes are checked first. Parameter values are never copied into
 * replies beyond a bounded, printable prefix.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "smtpd.h"

static const struct {
	const char *name;
	const char *logname;
	enum smtpd_verb verb;
} smtpd_verbs[] = {
	{ "unknown", "unknown", SMTPD_UNKNOWN },
	{ "HELO", "helo", SMTPD_HELO },
	{ "EHLO", "ehlo", SMTPD_EHLO },
	{ "STARTTLS", "starttls", SMTPD_STARTTLS },
	{ "AUTH", "auth", SMTPD_AUTH },
	{ "MAIL", "mail", SMTPD_MAIL },
	{ "RCPT", "rcpt", SMTPD_RCPT },
	{ "DATA", "data", SMTPD_DATA },
	{ "BDAT", "bdat", SMTPD_BDAT },
	{ "RSET", "rset", SMTPD_RSET },
	{ "NOOP", "noop", SMTPD_NOOP },
	{ "VRFY", "vrfy", SMTPD_VRFY },
	{ "HELP", "help", SMTPD_HELP },
	{ "QUIT", "quit", SMTPD_QUIT },
	{ "CONNECT", "unknown", SMTPD_FORBIDDEN },
	{ "GET", "unknown", SMTPD_FORBIDDEN },
	{ "POST", "unknown", SMTPD_FORBIDDEN },
};

#define NVERBS (sizeof(smtpd_verbs) / sizeof(smtpd_verbs[0]))

static void smtpd_perr_set(struct smtpd_perr *err, const char *reply)
{
	(void)str_snprintf(err->reply, sizeof(err->reply), "%s", reply);
}

static bool smtpd_perr(struct smtpd_perr *err, const char *reply)
{
	smtpd_perr_set(err, reply);
	return false;
}

void smtpd_parse_command(const char *line, size_t len, struct smtpd_cmd *cmd)
{
	size_t i, vlen = 0;

	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	while (vlen < len && line[vlen] != ' ' && line[vlen] != '\t')
		vlen++;
	cmd->verb = SMTPD_UNKNOWN;
	cmd->name = "unknown";
	for (i = 1; i < NVERBS; i++) {
		if (strlen(smtpd_verbs[i].name) == vlen &&
		    strncasecmp(line, smtpd_verbs[i].name, vlen) == 0) {
			cmd->verb = smtpd_verbs[i].verb;
			cmd->name = smtpd_verbs[i].name;
			break;
		}
	}
	i = vlen;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	cmd->args = line + i;
	cmd->args_len = len - i;
}

const char *smtpd_verb_logname(enum smtpd_verb verb)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (smtpd_verbs[i].verb == verb)
			return smtpd_verbs[i].logname;
	return "unknown";
}

/* Match "FROM:" / "TO:" and skip spaces after the colon. */
static bool smtpd_keyword(const char **p, size_t *len, const char *kw)
{
	size_t n = strlen(kw);

	if (*len < n || strncasecmp(*p, kw, n) != 0)
		return false;
	*p += n;
	*len -= n;
	while (*len > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	return true;
}

/* Parse the path at p (bracketed or bare); *used_r is its length.
 * Fills orig with the text between the brackets. */
static bool smtpd_path(const char *p, size_t len, unsigned flags,
		       struct addr *a, char *orig, size_t *used_r,
		       struct addr_error *aerr)
{
	size_t n, end;

	if (len > 0 && p[0] == '<') {
		if (!addr_parse_path(p, len, flags, a, &end, aerr))
			return false;
		n = end - 2;
		memcpy(orig, p + 1, n);
		orig[n] = '\0';
		*used_r = end;
		return true;
	}
	for (n = 0; n < len && p[n] != ' ' && p[n] != '\t'; n++)
		;
	if (n == 0 || n > ADDR_PATH_MAX - 2) {
		aerr->reason = "bad address";
		aerr->pos = 0;
		return false;
	}
	if (!addr_parse_mailbox(p, n, flags & ~ADDR_F_NULL, a, aerr))
		return false;
	memcpy(orig, p, n);
	orig[n] = '\0';
	*used_r = n;
	return true;
}

/* Next "KEY[=VALUE]" parameter: key/value views into the line. */
static bool smtpd_param(const char **p, size_t *len, const char **key,
			size_t *klen, const char **val, size_t *vlen)
{
	size_t i = 0;

	while (*len > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*len)--;
	}
	if (*len == 0)
		return false;
	while (i < *len && (*p)[i] != ' ' && (*p)[i] != '\t')
		i++;
	*key = *p;
	*val = memchr(*p, '=', i);
	if (*val != NULL) {
		*klen = (size_t)(*val - *p);
		(*val)++;
		*vlen = i - *klen - 1;
	} else {
		*klen = i;
		*vlen = 0;
	}
	*p += i;
	*len -= i;
	return true;
}

static bool smtpd_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static void smtpd_unsupported(struct smtpd_perr *err, const char *key,
			      size_t klen)
{
	size_t i, n = klen > 40 ? 40 : klen;
	char name[41];

	for (i = 0; i < n; i++)
		name[i] = isprint((unsigned char)key[i]) ? key[i] : '?';
	name[n] = '\0';
	(void)str_snprintf(err->reply, sizeof(err->reply),
			   "555 5.5.4 Unsupported option: %s", name);
}

static bool smtpd_size_param(const char *v, size_t n, long long *size_r)
{
	long long x = 0;
	size_t i;

	if (n == 0 || n > 19)
		return false;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		/* 19 digits can exceed LLONG_MAX: that is a bad size too. */
		if (x > (LLONG_MAX - (v[i] - '0')) / 10)
			return false;
		x = x * 10 + (v[i] - '0');
	}
	*size_r = x;
	return true;
}

static bool smtpd_mail_param(struct smtpd_mail *m, const char *key,
			     size_t klen, const char *val, size_t vlen,
			     struct smtpd_perr *err)
{
	char aux[ADDR_PATH_MAX + 1];

	if (smtpd_is(key, klen, "SIZE")) {
		if (m->size >= 0 || val == NULL ||
		    !smtpd_size_param(val, vlen, &m->size))
			return smtpd_perr(err, "501 5.5.4 Bad message size"
					  " syntax");
	} else if (smtpd_is(key, klen, "BODY")) {
		if (m->body != SMTPD_BODY_NONE || val == NULL)
			return smtpd_perr(err, "501 5.5.4 Bad BODY keyword"
					  " syntax");
		if (smtpd_is(val, vlen, "7BIT"))
			m->body = SMTPD_BODY_7BIT;
		else if (smtpd_is(val, vlen, "8BITMIME"))
			m->body = SMTPD_BODY_8BITMIME;
		else if (smtpd_is(val, vlen, "BINARYMIME"))
			m->body = SMTPD_BODY_BINARYMIME;
		else
			return smtpd_perr(err, "501 5.5.4 Bad BODY keyword"
					  " syntax");
	} else if (smtpd_is(key, klen, "SMTPUTF8")) {
		if (m->smtputf8 || val != NULL)
			return smtpd_perr(err, "501 5.5.4 Bad SMTPUTF8"
					  " parameter syntax");
		m->smtputf8 = true;
	} else if (smtpd_is(key, klen, "RET")) {
		if (m->ret != SMTPD_RET_NONE || val == NULL ||
		    !smtpd_dsn_ret(val, vlen, &m->ret))
			return smtpd_perr(err, "501 5.5.4 Bad RET parameter"
					  " syntax");
	} else if (smtpd_is(key, klen, "ENVID")) {
		if (m->envid[0] != '\0' || val == NULL ||
		    vlen > SMTPD_ENVID_MAX ||
		    !smtpd_xtext_decode(val, vlen, m->envid,
					sizeof(m->envid)) ||
		    m->envid[0] == '\0')
			return smtpd_perr(err, "501 5.5.4 Bad ENVID parameter"
					  " syntax");
	} else if (smtpd_is(key, klen, "AUTH")) {
		/* RFC 4954 5: the submitter's identity, as xtext or "<>".
		 * Only a trusted relay's claim could matter; like Postfix,
		 * correo checks the syntax and ignores it. */
		if (m->auth_param || val == NULL || vlen == 0 ||
		    vlen > ADDR_PATH_MAX ||
		    (!smtpd_is(val, vlen, "<>") &&
		     !smtpd_xtext_decode(val, vlen, aux, sizeof(aux))))
			return smtpd_perr(err, "501 5.5.4 Bad AUTH parameter"
					  " syntax");
		m->auth_param = true;
	} else {
		smtpd_unsupported(err, key, klen);
		return false;
	}
	return true;
}

bool smtpd_parse_mail(const char *args, size_t len, struct smtpd_mail *m,
		      struct smtpd_perr *err)
{
	const char *p = args, *key, *val;
	size_t used, klen, vlen;
	struct addr_error aerr;

	memset(m, 0, sizeof(*m));
	m->size = -1;
	if (!smtpd_keyword(&p, &len, "FROM:") || len == 0)
		return smtpd_perr(err, "501 5.5.4 Syntax: MAIL FROM:<address>");
	if (!smtpd_path(p, len, ADDR_F_NULL | ADDR_F_UTF8, &m->addr, m->orig,
			&used, &aerr))
		return smtpd_perr(err, "501 5.1.7 Bad sender address syntax");
	p += used;
	len -= used;
	if (len > 0 && *p != ' ' && *p != '\t')
		return smtpd_perr(err, "501 5.1.7 Bad sender address syntax");
	while (smtpd_param(&p, &len, &key, &klen, &val, &vlen))
		if (!smtpd_mail_param(m, key, klen, val, vlen, err))
			return false;
	if (m->addr.utf8 && !m->smtputf8)
		return smtpd_perr(err, "553 5.6.7 Must declare SMTPUTF8 to"
				  " send unicode address");
	return true;
}

static bool smtpd_rcpt_param(struct smtpd_rcpt_arg *r, const char *key,
			     size_t klen, const char *val, size_t vlen,
			     struct smtpd_perr *err)
{
	if (smtpd_is(key, klen, "NOTIFY")) {
		if (r->notify != 0 || val == NULL ||
		    !smtpd_dsn_notify(val, vlen, &r->notify))
			return smtpd_perr(err, "501 5.5.4 Bad NOTIFY parameter"
					  " syntax");
	} else if (smtpd_is(key, klen, "ORCPT")) {
		if (r->has_orcpt || val == NULL ||
		    !smtpd_dsn_orcpt(val, vlen, r->orcpt, sizeof(r->orcpt)))
			return smtpd_perr(err, "501 5.5.4 Bad ORCPT parameter"
					  " syntax");
		r->has_orcpt = true;
	} else {
		smtpd_unsupported(err, key, klen);
		return false;
	}
	return true;
}

bool smtpd_parse_rcpt(const char *args, size_t len, bool smtputf8,
		      struct smtpd_rcpt_arg *r, struct smtpd_perr *err)
{
	const char *p = args, *key, *val;
	size_t used, klen, vlen;
	struct addr_error aerr;

	memset(r, 0, sizeof(*r));
	if (!smtpd_keyword(&p, &len, "TO:") || len == 0)
		return smtpd_perr(err, "501 5.5.4 Syntax: RCPT TO:<address>");
	if (!smtpd_path(p, len, ADDR_F_NODOMAIN | ADDR_F_UTF8, &r->addr,
			r->orig, &used, &aerr))
		return smtpd_perr(err, "501 5.1.3 Bad recipient address"
				  " syntax");
	if (r->addr.domain[0] == '\0' && !addr_is_postmaster(&r->addr))
		return smtpd_perr(err, "501 5.1.3 Bad recipient address"
				  " syntax");
	p += used;
	len -= used;
	if (len > 0 && *p != ' ' && *p != '\t')
		return smtpd_perr(err, "501 5.1.3 Bad recipient address"
				  " syntax");
	while (smtpd_param(&p, &len, &key, &klen, &val, &vlen))
		if (!smtpd_rcpt_param(r, key, klen, val, vlen, err))
			return false;
	if (r->addr.utf8 && !smtputf8)
		return smtpd_perr(err, "553 5.6.7 Must declare SMTPUTF8 to"
				  " send unicode address");
	return true;
}

bool smtpd_parse_bdat(const char *args, size_t len, unsigned long long *n_r,
		      bool *last_r, struct smtpd_perr *err)
{
	unsigned long long n = 0;
	size_t i = 0;

	/* The count must be trusted exactly: the octets after it are read
	 * as content, not as commands. Nineteen digits hold any value
	 * below 2^63; anything longer (leading zeros included) or larger
	 * is refused, and the caller ends the session. */
	*last_r = false;
	while (i < len && args[i] >= '0' && args[i] <= '9') {
		unsigned d = (unsigned)(args[i] - '0');

		if (i >= SMTPD_BDAT_DIGITS_MAX ||
		    n > (SMTPD_BDAT_COUNT_MAX - d) / 10)
			return smtpd_perr(err, "421 4.5.4 Syntax: BDAT count"
					  " [LAST]; chunk size not"
					  " understood, closing connection");
		n = n * 10 + d;
		i++;
	}
	if (i == 0)
		goto syntax;
	if (i < len) {
		if (args[i] != ' ' && args[i] != '\t')
			goto syntax;
		while (i < len && (args[i] == ' ' || args[i] == '\t'))
			i++;
		if (!smtpd_is(args + i, len - i, "LAST"))
			goto syntax;
		*last_r = true;
	}
	*n_r = n;
	return true;
syntax:
	return smtpd_perr(err, "421 4.5.4 Syntax: BDAT count [LAST];"
			  " chunk size not understood, closing connection");
}

bool smtpd_parse_helo(const char *args, size_t len, char *out, size_t size)
{
	size_t n = 0;

	while (n < len && args[n] != ' ' && args[n] != '\t')
		n++;
	if (n == 0 || n >= size || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)args[i] <= 0x20 ||
		    (unsigned char)args[i] >= 0x7f)
			return false;
	memcpy(out, args, n);
	out[n] = '\0';
	return true;
}
