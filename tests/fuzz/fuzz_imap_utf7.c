/*
 * fuzz_imap_utf7: libFuzzer target for modified UTF-7 and mailbox names
 * (imapd/imap_utf7.c, imapd/imap_mailbox.c).
 *
 * Input: a string (inputs with NUL are skipped). Checked properties:
 * - decode accepted: the result is valid UTF-8 and encodes back to
 *   exactly the input (the decoder takes canonical forms only);
 * - encode accepted (the input was valid UTF-8): the result is printable
 *   ASCII and decodes back to the input; imap_utf8_valid agrees;
 * - a valid mailbox name maps to a directory that starts with '.' (or is
 *   INBOX's ""), has no '/', fits in IMAP_MAILBOX_DIR_MAX bytes and maps
 *   back to the same name; a directory name accepted by
 *   imap_mailbox_from_dir gives a valid name;
 * - LIST matching: "*" matches every name, a name without wildcards
 *   matches itself, and any pattern runs without crashing.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "imap_mailbox.h"
#include "imap_utf7.h"

static void check_decode(const char *s)
{
	struct str out = STR_INIT, back = STR_INIT;
	const char *error = NULL;

	if (imap_utf7_decode(s, &out, &error)) {
		if (!imap_utf8_valid(out.data, out.len) ||
		    !imap_utf7_encode(str_c(&out), &back, &error) ||
		    strcmp(str_c(&back), s) != 0) {
			fprintf(stderr, "decode(%s) = %s, back %s\n", s,
				str_c(&out), str_c(&back));
			abort();
		}
	} else if (error == NULL || imap_utf7_valid(s)) {
		abort();
	}
	str_release(&out);
	str_release(&back);
}

static void check_encode(const char *s)
{
	struct str out = STR_INIT, back = STR_INIT;
	const char *error = NULL;
	bool ok = imap_utf7_encode(s, &out, &error);

	if (ok != imap_utf8_valid(s, strlen(s)))
		abort();
	if (ok) {
		for (size_t i = 0; i < out.len; i++)
			if (out.data[i] < 0x20 || out.data[i] > 0x7e)
				abort();
		if (!imap_utf7_decode(str_c(&out), &back, &error) ||
		    strcmp(str_c(&back), s) != 0)
			abort();
	}
	str_release(&out);
	str_release(&back);
}

static void check_mailbox(const char *s)
{
	struct str dir = STR_INIT, name = STR_INIT;
	const char *error = NULL;

	if (imap_mailbox_to_dir(s, &dir, &error)) {
		if (!imap_mailbox_name_valid(s, &error) ||
		    strchr(str_c(&dir), '/') != NULL ||
		    dir.len > IMAP_MAILBOX_DIR_MAX)
			abort();
		if (imap_mailbox_is_inbox(s)) {
			if (dir.len != 0)
				abort();
		} else if (dir.data[0] != '.' ||
			   !imap_mailbox_from_dir(str_c(&dir), &name,
						  &error) ||
			   strcmp(str_c(&name), s) != 0) {
			abort();
		}
	}
	/* A name matches itself as a pattern once wildcards are gone, and
	 * "*" matches every name. */
	if (strpbrk(s, "%*") == NULL && strlen(s) <= IMAP_MAILBOX_PATTERN_MAX &&
	    !imap_mailbox_match(s, s))
		abort();
	if (!imap_mailbox_match("*", s))
		abort();
	imap_mailbox_match(s, "INBOX.a.b");
	str_clear(&name);
	if (imap_mailbox_from_dir(s, &name, &error) &&
	    !imap_mailbox_name_valid(str_c(&name), &error))
		abort();
	str_release(&dir);
	str_release(&name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_imap_utf7");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);

	if (s == NULL)
		return 0;
	check_decode(s);
	check_encode(s);
	check_mailbox(s);
	mem_free(s);
	return 0;
}
