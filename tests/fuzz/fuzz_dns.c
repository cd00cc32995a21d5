/*
 * fuzz_dns: libFuzzer target for the DNS answer parser
 * (common/dns.c: dns_mx_parse, dns_mx_sort).
 *
 * Input: a DNS response packet, as res_nquery returns it. The parser
 * must refuse a malformed packet with a reason and report exactly as
 * many MX records as it appended; each exchange is lower case without a
 * trailing dot, a preference fits 16 bits, and null_mx is set when an
 * exchange is the root. dns_mx_sort then orders by preference.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include <ctype.h>

#include "fuzz.h"

#include "dns.h"

static unsigned long counter(void *ctx)
{
	unsigned long *n = ctx;

	return (*n)++ * 2654435761UL;
}

static void check_list(const struct dns_mx_list *list)
{
	bool root = false;
	size_t i, n;

	for (i = 0; i < list->count; i++) {
		const char *h = list->mx[i].host;

		n = strlen(h);
		if (n == 0)
			root = true;
		else if (h[n - 1] == '.' && (n < 2 || h[n - 2] != '\\'))
			abort();
		for (; *h != '\0'; h++)
			if (isupper((unsigned char)*h))
				abort();
		if (list->mx[i].pref > 65535)
			abort();
	}
	if (root != list->null_mx)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_dns");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_mx_list list = DNS_MX_LIST_INIT;
	unsigned char *pkt = mem_dup(data, size);
	const char *error = NULL;
	unsigned long seed = size;
	size_t i;
	int n;

	n = dns_mx_parse(pkt, size, &list, &error);
	if (n < 0) {
		if (error == NULL)
			abort();
	} else {
		if ((size_t)n != list.count)
			abort();
		check_list(&list);
		dns_mx_sort(list.mx, list.count, counter, &seed);
		for (i = 1; i < list.count; i++)
			if (list.mx[i - 1].pref > list.mx[i].pref)
				abort();
	}
	dns_mx_list_free(&list);
	mem_free(pkt);
	return 0;
}
