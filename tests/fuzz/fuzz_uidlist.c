/*
 * fuzz_uidlist: libFuzzer target for the Maildir UID list file parser
 * (common/uidlist.c: uidlist_parse, uidlist_format, uidlist_lookup).
 *
 * Input: the file's text. A parsed list must have increasing uids below
 * the header's next uid, base names that are safe file names (no '/',
 * no ':', not starting with '.'), uidlist_lookup finding every uid, and
 * its formatted text must parse back to a list that formats the same
 * (the writer's output is always readable). A refusal names its line.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "uidlist.h"

static void check_list(const struct uidlist *ul)
{
	size_t i;

	for (i = 0; i < ul->count; i++) {
		const struct uidlist_rec *r = &ul->recs[i];

		if (r->uid == 0 || r->uid >= ul->next ||
		    (i > 0 && r->uid <= ul->recs[i - 1].uid))
			abort();
		if (r->name == NULL || r->name[0] == '\0' ||
		    r->name[0] == '.' || strpbrk(r->name, "/:") != NULL)
			abort();
		if (uidlist_lookup(ul, r->uid) != r)
			abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_uidlist");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uidlist ul = UIDLIST_INIT, again = UIDLIST_INIT;
	struct str error = STR_INIT, text = STR_INIT, text2 = STR_INIT;
	char *copy = mem_dup(data, size);

	if (!uidlist_parse(copy, size, &ul, &error)) {
		if (strncmp(str_c(&error), "line ", 5) != 0 || ul.count != 0)
			abort();
		goto out;
	}
	check_list(&ul);
	uidlist_format(&ul, &text);
	if (!uidlist_parse(text.data, text.len, &again, &error)) {
		fprintf(stderr, "formatted list does not parse: %s\n%s",
			str_c(&error), str_c(&text));
		abort();
	}
	check_list(&again);
	uidlist_format(&again, &text2);
	if (again.count != ul.count || again.validity != ul.validity ||
	    again.next != ul.next || text.len != text2.len ||
	    memcmp(text.data, text2.data, text.len) != 0)
		abort();
out:
	uidlist_clear(&ul);
	uidlist_clear(&again);
	str_release(&error);
	str_release(&text);
	str_release(&text2);
	mem_free(copy);
	return 0;
}
