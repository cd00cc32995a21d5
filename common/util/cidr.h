#ifndef COMMON_CIDR_H
#define COMMON_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Lists of IPv4/IPv6 networks, as in $mynetworks:
 *
 *   127.0.0.0/8  192.0.2.7  [::1]/128  ::1/128  2001:db8::/32  [fe80::1]
 *
 * A bare address is a host (/32 or /128). Networks must not have bits
 * set below the mask ("10.1.2.3/8" is an error naming "10.0.0.0/8"),
 * as in Postfix. IPv4 is kept as IPv4-mapped IPv6 internally, so an IPv4
 * network also matches a client seen as ::ffff:a.b.c.d on an IPv6
 * socket. */

struct cidr_list;

/* Parse a NULL-terminated vector of entries (e.g. from cfg_list).
 * NULL with an allocated message naming the bad entry. */
struct cidr_list *cidr_list_create(char *const *items, char **error_r);
/* The same from one string of comma/space-separated entries. */
struct cidr_list *cidr_list_parse(const char *text, char **error_r);
void cidr_list_free(struct cidr_list **list);
size_t cidr_list_count(const struct cidr_list *list);

/* Does the numeric address (IPv4, IPv6 or IPv4-mapped IPv6) fall in
 * any network of the list? False for text that is not an address. */
bool cidr_list_match(const struct cidr_list *list, const char *addr);
bool cidr_list_match_sa(const struct cidr_list *list,
			const struct sockaddr *sa);

#endif
