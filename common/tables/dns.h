#ifndef COMMON_DNS_H
#define COMMON_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "str.h"

/* DNS for the smtp client: MX records through the system resolver
 * (res_nquery, /etc/resolv.conf) and host addresses through getaddrinfo
 * (so /etc/hosts and nsswitch apply, as for every other program).
 *
 * Lookups return 1 found, 0 permanent failure (the name does not exist:
 * NXDOMAIN, "Host not found"), -1 temporary failure (SERVFAIL, timeout,
 * no answer, a malformed answer). The error text says which, in
 * Postfix's words ("Host or domain name not found. Name service error
 * for name=x.test type=MX: Host not found"). */

struct dns_mx {
	char *host;		/* lower case, no trailing dot; "" = root */
	unsigned pref;
};

struct dns_mx_list {
	struct dns_mx *mx;
	size_t count;
	bool null_mx;		/* RFC 7505: the domain takes no mail */
	bool implicit;		/* no MX: the domain itself, preference 0 */
};

#define DNS_MX_LIST_INIT { NULL, 0, false, false }

/* MX records of domain, sorted by preference with equal preferences
 * shuffled (dns_mx_sort with random()). A domain without MX records
 * (NOERROR, no data) yields the implicit MX: one entry, the domain
 * itself (RFC 5321 5.1). A null MX ("0 .") sets null_mx. On failure
 * error_r (cleared first) says why. */
int dns_mx_lookup(const char *domain, struct dns_mx_list *list_r,
		  struct str *error_r);
void dns_mx_list_free(struct dns_mx_list *list);

/* Parse the MX records of the answer section of a DNS response packet
 * (header, question, answer; other record types, such as a CNAME in
 * front, are skipped) and append them to list unsorted. Returns the
 * number of MX records, or -1 for a malformed packet with a static
 * reason. An MX whose exchange is the root sets list->null_mx. */
int dns_mx_parse(const unsigned char *packet, size_t len,
		 struct dns_mx_list *list, const char **error_r);

/* Sort by preference, lowest first; each run of equal preferences is
 * shuffled (Fisher-Yates) with rnd(ctx), so load spreads over equal
 * hosts. Pure: tests pass a deterministic rnd. */
void dns_mx_sort(struct dns_mx *mx, size_t count,
		 unsigned long (*rnd)(void *ctx), void *ctx);

/* One address of a host. */
struct dns_addr {
	struct sockaddr_storage sa;	/* port 0 */
	socklen_t len;
	char text[INET6_ADDRSTRLEN];	/* "192.0.2.1", "2001:db8::1" */
};

/* Which address families dns_addr_lookup asks for, from
 * $inet_protocols: "ipv4", "ipv6" or "all" (the default). False for
 * anything else. */
bool dns_set_protocols(const char *inet_protocols);

/* A and AAAA addresses of host (a name or an address literal), in the
 * resolver's order, duplicates removed, at most max. *addrs_r is
 * allocated (free()) when the result is 1. Only the families allowed by
 * dns_set_protocols are asked for. */
int dns_addr_lookup(const char *host, size_t max, struct dns_addr **addrs_r,
		    size_t *count_r, struct str *error_r);

/* Copy of a with the port set (network order handled here). */
void dns_addr_set_port(struct dns_addr *a, unsigned port);

#endif
