/*
 * fuzz_addr: libFuzzer target for common/addr.c (RFC 5321 mailboxes,
 * paths, domains, UTF-8 validation).
 *
 * Input: the first byte picks the parse flags (its low three bits) and
 * the rest is the text. Besides "no crash", it checks what the parser
 * promises: error positions inside the input, the end of a path inside
 * the input, results that fit their buffers, the null path only with
 * ADDR_F_NULL, and that the canonical text of a parsed address parses
 * again to the same text (canonical form is a fixed point).
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "addr.h"

static void check_result(const struct addr *a, unsigned flags)
{
	struct addr again;
	struct addr_error err;
	unsigned again_flags = (flags & ADDR_F_UTF8) | ADDR_F_NODOMAIN;

	if (strlen(a->text) > ADDR_TEXT_MAX ||
	    strlen(a->local) > ADDR_LOCAL_MAX ||
	    strlen(a->domain) > ADDR_DOMAIN_MAX)
		abort();
	if (a->null) {
		if (!(flags & ADDR_F_NULL) || a->text[0] != '\0')
			abort();
		return;
	}
	if (a->domain[0] == '\0' && !(flags & ADDR_F_NODOMAIN))
		abort();
	if (a->utf8 && !(flags & ADDR_F_UTF8))
		abort();
	if (!addr_parse_mailbox(a->text, strlen(a->text), again_flags,
				&again, &err)) {
		fprintf(stderr, "canonical \"%s\" does not parse: %s at %zu\n",
			a->text, err.reason, err.pos);
		abort();
	}
	if (strcmp(again.text, a->text) != 0 ||
	    strcmp(again.local, a->local) != 0 ||
	    strcmp(again.domain, a->domain) != 0) {
		fprintf(stderr, "canonical \"%s\" reparses as \"%s\"\n",
			a->text, again.text);
		abort();
	}
	addr_has_routing(a);
	addr_is_postmaster(a);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_addr");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr a;
	struct addr_error err;
	unsigned flags;
	char *s;
	size_t len, end;

	if (size < 1)
		return 0;
	flags = data[0] & (ADDR_F_UTF8 | ADDR_F_NODOMAIN | ADDR_F_NULL);
	/* A heap copy of exactly len bytes, so reading past the end is an
	 * ASan report rather than a silent read of the next fuzz byte. */
	len = size - 1;
	s = mem_dup(data + 1, len);

	memset(&err, 0, sizeof(err));
	if (addr_parse_mailbox(s, len, flags, &a, &err))
		check_result(&a, flags);
	else if (err.reason == NULL || err.pos > len)
		abort();

	memset(&err, 0, sizeof(err));
	end = (size_t)-1;
	if (addr_parse_path(s, len, flags, &a, &end, &err)) {
		if (end > len || end < 2 || s[end - 1] != '>')
			abort();
		check_result(&a, flags);
	} else if (err.reason == NULL || err.pos > len) {
		abort();
	}

	memset(&err, 0, sizeof(err));
	if (!addr_valid_domain(s, len, flags, &err) &&
	    (err.reason == NULL || err.pos > len))
		abort();
	addr_valid_utf8(s, len);
	mem_free(s);
	return 0;
}
