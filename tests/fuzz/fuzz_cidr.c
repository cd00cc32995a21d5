/*
 * fuzz_cidr: libFuzzer target for network lists like $mynetworks
 * (common/cidr.c: cidr_list_parse, cidr_list_match).
 *
 * Input: byte 0 picks an address to match (from a fixed set, or the
 * text after the first newline); the rest up to that newline is the
 * list. A list that parses must answer cidr_list_match for any text
 * without trouble; a list with a bare IPv4 address must match it, and
 * its IPv4-mapped IPv6 form too.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <arpa/inet.h>

#include "fuzz.h"

#include "cidr.h"

static const char *const probes[] = {
	"127.0.0.1", "192.0.2.7", "::1", "::ffff:192.0.2.7", "2001:db8::1",
	"10.1.2.3", "0.0.0.0", "::", "fe80::1%eth0", "not an address",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_cidr");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr_list *list;
	struct str mapped = STR_INIT;
	struct in_addr a4;
	char *text, *nl, *error = NULL;

	if (size < 1)
		return 0;
	text = fuzz_cstr(data + 1, size - 1);
	if (text == NULL)
		return 0;
	nl = strchr(text, '\n');
	if (nl != NULL)
		*nl++ = '\0';
	list = cidr_list_parse(text, &error);
	if (list == NULL) {
		if (error == NULL)
			abort();
		mem_free(error);
		goto out;
	}
	cidr_list_count(list);
	cidr_list_match(list, probes[data[0] % 10]);
	if (nl != NULL) {
		cidr_list_match(list, nl);
		/* A bare IPv4 host entry of a one-entry list matches itself. */
		if (strcmp(text, nl) == 0 && inet_pton(AF_INET, nl, &a4) == 1) {
			str_printf(&mapped, "::ffff:%s", nl);
			if (!cidr_list_match(list, nl) ||
			    !cidr_list_match(list, str_c(&mapped)))
				abort();
		}
	}
	cidr_list_free(&list);
out:
	str_release(&mapped);
	mem_free(text);
	return 0;
}
