/*
 * fuzz_smtpd_parse: libFuzzer target for smtpd's pure parsers
 * (smtpd/smtpd_parse.c and smtpd/smtpd_dsn.c): the command line split,
 * MAIL FROM and RCPT TO with their parameters, BDAT, HELO/EHLO names,
 * xtext and the DSN parameters.
 *
 * Input: byte 0 picks the function, byte 1 an output buffer size for
 * the functions that take one (the buffer is heap-allocated at exactly
 * that size, so an overrun is an ASan report); the rest is the line.
 * Checks besides "no crash": the command's arguments lie inside the
 * line, every reply text is a complete "5xx" or "4xx" line without CR or
 * LF, and outputs are NUL-terminated inside their buffers.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "addr.h"
#include "smtpd.h"

static void check_perr(const struct smtpd_perr *err)
{
	size_t n = strnlen(err->reply, sizeof(err->reply));

	if (n == sizeof(err->reply) || n < 4 ||
	    (err->reply[0] != '4' && err->reply[0] != '5') ||
	    strpbrk(err->reply, "\r\n") != NULL) {
		fprintf(stderr, "bad reply \"%.*s\"\n", (int)n, err->reply);
		abort();
	}
}

static void check_out(const char *out, size_t size)
{
	if (memchr(out, '\0', size) == NULL)
		abort();
}

static void fuzz_command(const char *s, size_t len)
{
	struct smtpd_cmd cmd;

	smtpd_parse_command(s, len, &cmd);
	if (cmd.verb >= SMTPD_VERB_COUNT || cmd.name == NULL ||
	    cmd.args == NULL)
		abort();
	if (cmd.args_len > 0 &&
	    (cmd.args < s || cmd.args + cmd.args_len > s + len))
		abort();
	smtpd_verb_logname(cmd.verb);
}

static void fuzz_mail(const char *s, size_t len)
{
	struct smtpd_mail m;
	struct smtpd_perr err;

	memset(&err, 0, sizeof(err));
	if (!smtpd_parse_mail(s, len, &m, &err)) {
		check_perr(&err);
		return;
	}
	check_out(m.orig, sizeof(m.orig));
	check_out(m.envid, sizeof(m.envid));
	if (strlen(m.addr.text) > ADDR_TEXT_MAX)
		abort();
	smtpd_dsn_ret_name(m.ret);
}

static void fuzz_rcpt(const char *s, size_t len, bool utf8)
{
	struct smtpd_rcpt_arg r;
	struct smtpd_perr err;

	memset(&err, 0, sizeof(err));
	if (!smtpd_parse_rcpt(s, len, utf8, &r, &err)) {
		check_perr(&err);
		return;
	}
	check_out(r.orig, sizeof(r.orig));
	check_out(r.orcpt, sizeof(r.orcpt));
	if (r.addr.null)
		abort();
}

static void fuzz_small(unsigned which, const char *s, size_t len,
		       size_t size)
{
	char *out = mem_alloc(size);
	unsigned long long n;
	unsigned notify;
	enum smtpd_ret ret;
	struct smtpd_perr err;
	bool last;

	switch (which) {
	case 0:
		if (smtpd_parse_helo(s, len, out, size))
			check_out(out, size);
		break;
	case 1:
		if (smtpd_xtext_decode(s, len, out, size))
			check_out(out, size);
		break;
	case 2:
		if (smtpd_dsn_orcpt(s, len, out, size))
			check_out(out, size);
		break;
	case 3:
		smtpd_dsn_notify(s, len, &notify);
		smtpd_dsn_ret(s, len, &ret);
		break;
	default:
		memset(&err, 0, sizeof(err));
		if (!smtpd_parse_bdat(s, len, &n, &last, &err))
			check_perr(&err);
		break;
	}
	mem_free(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_smtpd_parse");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t len, outsize;

	if (size < 2)
		return 0;
	outsize = 1 + data[1];
	len = size - 2;
	s = mem_dup(data + 2, len);
	switch (data[0] % 8) {
	case 0:
		fuzz_command(s, len);
		break;
	case 1:
		fuzz_mail(s, len);
		break;
	case 2:
	case 3:
		fuzz_rcpt(s, len, data[0] % 8 == 3);
		break;
	default:
		fuzz_small(data[0] % 8 - 4, s, len, outsize);
		if (data[0] % 8 == 7)
			fuzz_small(4, s, len, outsize);
		break;
	}
	mem_free(s);
	return 0;
}
