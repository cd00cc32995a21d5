/*
 * dns: MX and address lookups for the smtp client (dns.h).
 *
 * Interface: dns_mx_lookup, dns_mx_parse, dns_mx_sort, dns_mx_list_free,
 * dns_addr_lookup, dns_addr_set_port.
 *
 * MX records come from res_nquery (a private resolver state per lookup,
 * so nothing is shared) and are walked by hand with dn_skipname and
 * dn_expand, which glibc keeps in libc (ns_initparse would need
 * -lresolv). Addresses come from getaddrinfo.
 *
 * SECURITY: DNS answers are untrusted network input. Every length in the
 * packet is checked against the bytes received before it is used; names
 * are expanded by dn_expand, which bounds its output and refuses loops.
 * No privileges are needed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "mem.h"

#define DNS_ANSWER_MAX 65536
#define DNS_HEADER_SIZE 12

static unsigned dns_get16(const unsigned char *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

/* Skip a name at *pos; false if it runs past the end. */
static bool dns_skip_name(const unsigned char *pkt, size_t len, size_t *pos)
{
	int n = dn_skipname(pkt + *pos, pkt + len);

	if (n < 0 || (size_t)n > len - *pos)
		return false;
	*pos += (size_t)n;
	return true;
}

static void dns_mx_add(struct dns_mx_list *list, const char *host,
		       unsigned pref)
{
	struct dns_mx *mx;
	size_t n;

	list->mx = mem_array_realloc(list->mx, list->count + 1,
				     sizeof(*list->mx));
	mx = &list->mx[list->count++];
	mx->host = mem_strdup(host);
	n = strlen(mx->host);
	if (n > 0 && mx->host[n - 1] == '.')
		mx->host[--n] = '\0';
	str_lower(mx->host);
	mx->pref = pref;
	if (n == 0)
		list->null_mx = true;
}

/* One answer record at *pos; MX records are added to list. Returns 1
 * for an MX, 0 for another record, -1 if malformed. */
static int dns_parse_rr(const unsigned char *pkt, size_t len, size_t *pos,
			struct dns_mx_list *list, const char **error_r)
{
	char host[NS_MAXDNAME];
	unsigned type, class, rdlen;
	size_t rd;
	int n;

	if (!dns_skip_name(pkt, len, pos) || len - *pos < 10) {
		*error_r = "truncated answer record";
		return -1;
	}
	type = dns_get16(pkt + *pos);
	class = dns_get16(pkt + *pos + 2);
	rdlen = dns_get16(pkt + *pos + 8);
	rd = *pos + 10;
	if (rdlen > len - rd) {
		*error_r = "record data runs past the end of the answer";
		return -1;
	}
	*pos = rd + rdlen;
	if (type != ns_t_mx || class != ns_c_in)
		return 0;
	if (rdlen < 3) {
		*error_r = "MX record too short";
		return -1;
	}
	n = dn_expand(pkt, pkt + rd + rdlen, pkt + rd + 2, host, sizeof(host));
	if (n < 0 || (size_t)n != rdlen - 2) {
		*error_r = "malformed MX exchange name";
		return -1;
	}
	dns_mx_add(list, strcmp(host, ".") == 0 ? "" : host,
		   dns_get16(pkt + rd));
	return 1;
}

int dns_mx_parse(const unsigned char *packet, size_t len,
		 struct dns_mx_list *list, const char **error_r)
{
	unsigned qd, an;
	size_t pos = DNS_HEADER_SIZE;
	int found = 0;

	if (len < DNS_HEADER_SIZE) {
		*error_r = "answer shorter than a DNS header";
		return -1;
	}
	qd = dns_get16(packet + 4);
	an = dns_get16(packet + 6);
	for (unsigned i = 0; i < qd; i++) {
		if (!dns_skip_name(packet, len, &pos) || len - pos < 4) {
			*error_r = "truncated question";
			return -1;
		}
		pos += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		int r = dns_parse_rr(packet, len, &pos, list, error_r);

		if (r < 0)
			return -1;
		found += r;
	}
	return found;
}

static int dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

void dns_mx_sort(struct dns_mx *mx, size_t count,
		 unsigned long (*rnd)(void *ctx), void *ctx)
{
	size_t start = 0;

	if (count < 2)
		return;
	qsort(mx, count, sizeof(*mx), dns_mx_cmp);
	while (start < count) {
		size_t end = start + 1;

		while (end < count && mx[end].pref == mx[start].pref)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + rnd(ctx) % (i - start + 1);
			struct dns_mx tmp = mx[i];

			mx[i] = mx[j];
			mx[j] = tmp;
		}
		start = end;
	}
}

static unsigned long dns_random(void *ctx)
{
	(void)ctx;
	return (unsigned long)random();
}

void dns_mx_list_free(struct dns_mx_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->mx[i].host);
	mem_free(list->mx);
	list->count = 0;
	list->null_mx = list->implicit = false;
}

/* res_nquery failed: classify by the resolver's h_errno. */
static int dns_query_error(const char *name, const char *type, int herr,
			   struct str *error_r)
{
	switch (herr) {
	case HOST_NOT_FOUND:
		str_printf(error_r, "Host or domain name not found. Name "
			   "service error for name=%s type=%s: Host not "
			   "found", name, type);
		return 0;
	case NO_DATA:
		return 1;	/* exists, no records of this type */
	default:
		str_printf(error_r, "Host or domain name not found. Name "
			   "service error for name=%s type=%s: Host not "
			   "found, try again", name, type);
		return -1;
	}
}

int dns_mx_lookup(const char *domain, struct dns_mx_list *list_r,
		  struct str *error_r)
{
	struct __res_state rs;
	unsigned char *ans;
	const char *why;
	int len, ret;

	str_clear(error_r);
	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) < 0) {
		str_set(error_r, "cannot initialize the resolver");
		return -1;
	}
	ans = mem_alloc(DNS_ANSWER_MAX);
	len = res_nquery(&rs, domain, ns_c_in, ns_t_mx, ans, DNS_ANSWER_MAX);
	if (len < 0) {
		ret = dns_query_error(domain, "MX", rs.res_h_errno, error_r);
		len = 0;
	} else if (dns_mx_parse(ans, (size_t)(len < DNS_ANSWER_MAX ? len :
					      DNS_ANSWER_MAX),
				list_r, &why) < 0) {
		str_printf(error_r, "malformed DNS answer for name=%s "
			   "type=MX: %s", domain, why);
		ret = -1;
	} else {
		ret = 1;
	}
	res_nclose(&rs);
	free(ans);
	if (ret != 1) {
		dns_mx_list_free(list_r);
		return ret;
	}
	if (list_r->count == 0) {
		dns_mx_add(list_r, domain, 0);
		list_r->implicit = true;
	}
	dns_mx_sort(list_r->mx, list_r->count, dns_random, NULL);
	return 1;
}

static bool dns_addr_seen(const struct dns_addr *addrs, size_t n,
			  const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(addrs[i].text, text) == 0)
			return true;
	return false;
}

static int dns_family = AF_UNSPEC;

bool dns_set_protocols(const char *inet_protocols)
{
	if (strcmp(inet_protocols, "ipv4") == 0)
		dns_family = AF_INET;
	else if (strcmp(inet_protocols, "ipv6") == 0)
		dns_family = AF_INET6;
	else if (strcmp(inet_protocols, "all") == 0)
		dns_family = AF_UNSPEC;
	else
		return false;
	return true;
}

int dns_addr_lookup(const char *host, size_t max, struct dns_addr **addrs_r,
		    size_t *count_r, struct str *error_r)
{
	struct addrinfo hints = {
		.ai_family = dns_family,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *res, *ai;
	struct dns_addr *addrs = NULL;
	size_t n = 0;
	int gai;

	str_clear(error_r);
	*addrs_r = NULL;
	*count_r = 0;
	gai = getaddrinfo(host, NULL, &hints, &res);
	if (gai != 0) {
		bool perm = gai == EAI_NONAME
#ifdef EAI_NODATA
			|| gai == EAI_NODATA
#endif
			;
		str_printf(error_r, "Host or domain name not found. Name "
			   "service error for name=%s type=A: %s", host,
			   perm ? "Host not found" : "Host not found, try again");
		return perm ? 0 : -1;
	}
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		struct dns_addr a;
		const void *raw;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(a.sa))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a.sa, ai->ai_addr, ai->ai_addrlen);
		a.len = ai->ai_addrlen;
		raw = ai->ai_family == AF_INET ?
			(const void *)&((struct sockaddr_in *)&a.sa)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)&a.sa)->sin6_addr;
		if (inet_ntop(ai->ai_family, raw, a.text, sizeof(a.text)) ==
		    NULL || dns_addr_seen(addrs, n, a.text))
			continue;
		addrs = mem_array_realloc(addrs, n + 1, sizeof(*addrs));
		addrs[n++] = a;
	}
	freeaddrinfo(res);
	if (n == 0) {
		str_printf(error_r, "no usable address for %s", host);
		return -1;
	}
	*addrs_r = addrs;
	*count_r = n;
	return 1;
}

void dns_addr_set_port(struct dns_addr *a, unsigned port)
{
	if (a->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons(port);
}
