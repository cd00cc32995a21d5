/*
 * cidr: IPv4/IPv6 network lists for $mynetworks (cidr.h).
 *
 * Every entry is stored as a 16-byte IPv6 address and a prefix length;
 * IPv4 entries become ::ffff:a.b.c.d with the prefix plus 96. Matching
 * an address is a masked compare against each entry in turn (lists are
 * short: a handful of networks).
 *
 * SECURITY: entries come from the admin's config and addresses from
 * getpeername/getnameinfo; both are parsed with inet_pton only, in
 * bounded buffers. An entry with host bits set is an error rather than
 * silently widened or narrowed, so a typo cannot open a relay.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "mem.h"
#include "str.h"

struct cidr_entry {
	unsigned char net[16];
	unsigned prefix;	/* 0..128 */
};

struct cidr_list {
	struct cidr_entry *entries;
	size_t count;
};

static const unsigned char cidr_v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Parse a numeric address into 16 bytes; *v4_r says it was IPv4. */
static bool cidr_addr(const char *text, unsigned char out[16], bool *v4_r)
{
	unsigned char v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		memcpy(out, cidr_v4_mapped, 12);
		memcpy(out + 12, v4, 4);
		*v4_r = true;
		return true;
	}
	*v4_r = false;
	return inet_pton(AF_INET6, text, out) == 1;
}

static bool cidr_match_one(const struct cidr_entry *e,
			   const unsigned char a[16])
{
	unsigned full = e->prefix / 8, rest = e->prefix % 8;
	unsigned char mask;

	if (memcmp(e->net, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (e->net[full] & mask) == (a[full] & mask);
}

static bool cidr_host_bits(const unsigned char net[16], unsigned prefix)
{
	unsigned i;

	for (i = prefix; i < 128; i++)
		if (net[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

/* Split "[v6]/n", "v6/n", "v4/n" or a bare address. */
static bool cidr_split(const char *item, char *host, size_t size,
		       const char **mask_r)
{
	const char *slash, *end;
	size_t n;

	*mask_r = NULL;
	if (item[0] == '[') {
		end = strchr(item, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != '/'))
			return false;
		n = (size_t)(end - item) - 1;
		item++;
		slash = end[1] == '/' ? end + 1 : NULL;
	} else {
		slash = strchr(item, '/');
		n = slash != NULL ? (size_t)(slash - item) : strlen(item);
	}
	if (n == 0 || n >= size)
		return false;
	memcpy(host, item, n);
	host[n] = '\0';
	if (slash != NULL)
		*mask_r = slash + 1;
	return true;
}

static bool cidr_entry_parse(const char *item, struct cidr_entry *e,
			     char **error_r)
{
	char host[INET6_ADDRSTRLEN + 1], fixed[INET6_ADDRSTRLEN];
	const char *mask;
	long bits;
	bool v4;

	if (!cidr_split(item, host, sizeof(host), &mask) ||
	    !cidr_addr(host, e->net, &v4)) {
		*error_r = mem_strdup("bad network address");
		return false;
	}
	bits = v4 ? 32 : 128;
	if (mask != NULL && !str_to_long(mask, 0, bits, &bits)) {
		*error_r = mem_strdup("bad network mask length");
		return false;
	}
	e->prefix = (unsigned)bits + (v4 ? 96 : 0);
	if (cidr_host_bits(e->net, e->prefix)) {
		struct cidr_entry ok = *e;
		unsigned i;

		for (i = ok.prefix; i < 128; i++)
			ok.net[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		if (v4)
			inet_ntop(AF_INET, ok.net + 12, fixed, sizeof(fixed));
		else
			inet_ntop(AF_INET6, ok.net, fixed, sizeof(fixed));
		struct str s = STR_INIT;
		str_printf(&s, "non-null host address bits, perhaps you"
			   " meant %s/%ld", fixed, bits);
		*error_r = str_steal(&s);
		return false;
	}
	return true;
}

struct cidr_list *cidr_list_create(char *const *items, char **error_r)
{
	struct cidr_list *list = mem_alloc(sizeof(*list));
	char *why = NULL;
	size_t n = 0;

	while (items[n] != NULL)
		n++;
	list->entries = mem_array(n > 0 ? n : 1, sizeof(*list->entries));
	for (n = 0; items[n] != NULL; n++) {
		if (!cidr_entry_parse(items[n], &list->entries[n], &why)) {
			struct str s = STR_INIT;

			str_printf(&s, "%s: %s", items[n], why);
			mem_free(why);
			*error_r = str_steal(&s);
			cidr_list_free(&list);
			return NULL;
		}
		list->count++;
	}
	return list;
}

struct cidr_list *cidr_list_parse(const char *text, char **error_r)
{
	char *copy = mem_strdup(text), *cursor = copy, *tok;
	char **items = mem_array(strlen(text) / 2 + 2, sizeof(*items));
	struct cidr_list *list;
	size_t n = 0;

	while ((tok = str_token(&cursor, ", \t\r\n")) != NULL)
		items[n++] = tok;
	items[n] = NULL;
	list = cidr_list_create(items, error_r);
	mem_free(items);
	mem_free(copy);
	return list;
}

void cidr_list_free(struct cidr_list **list)
{
	if (*list == NULL)
		return;
	mem_free((*list)->entries);
	mem_free(*list);
}

size_t cidr_list_count(const struct cidr_list *list)
{
	return list->count;
}

static bool cidr_list_match_bin(const struct cidr_list *list,
				const unsigned char a[16])
{
	size_t i;

	for (i = 0; i < list->count; i++)
		if (cidr_match_one(&list->entries[i], a))
			return true;
	return false;
}

bool cidr_list_match(const struct cidr_list *list, const char *addr)
{
	unsigned char a[16];
	bool v4;

	if (!cidr_addr(addr, a, &v4))
		return false;
	return cidr_list_match_bin(list, a);
}

bool cidr_list_match_sa(const struct cidr_list *list,
			const struct sockaddr *sa)
{
	unsigned char a[16];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		memcpy(a, cidr_v4_mapped, 12);
		memcpy(a + 12, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		memcpy(a, &in6->sin6_addr, 16);
	} else {
		return false;
	}
	return cidr_list_match_bin(list, a);
}
