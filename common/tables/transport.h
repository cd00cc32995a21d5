#ifndef COMMON_TRANSPORT_H
#define COMMON_TRANSPORT_H

#include <stdbool.h>

#include "cfg.h"

/* Where relay mail goes: the transport table and next-hop parsing.
 *
 * qmgr asks transport_lookup for each recipient domain that is not ours
 * (resolve gave RESOLVE_FORWARD) and sends the delivery to the service
 * named by route.transport (private/smtp, private/lmtp, ...) with
 * "nexthop=" route.nexthop in the request. The delivery agent turns the
 * next hop back into a host, port and MX flag with transport_nexthop_parse.
 *
 * transport_maps entries (Postfix transport(5)), key -> "transport:nexthop":
 *
 *   example.com      smtp:[mx.example.com]:2525   that host, no MX lookup
 *   .example.com     smtp:relay.example.com       subdomains; MX lookup
 *   lmtp.test        lmtp:unix:/run/dovecot/lmtp  LMTP over a Unix socket
 *   store.test       lmtp:[10.0.0.5]:24           LMTP over TCP
 *   old.test         error:5.1.2 domain retired   bounce with this text
 *   here.test        local                        hand to local
 *   other.test       :[10.0.0.9]                  default transport
 *   *                smtp:[smarthost]             everything else
 *
 * Keys tried in order: the domain, then each parent as ".parent" (for
 * a.b.c: ".b.c", ".c"), then "*"; for each key every table in
 * transport_maps in order. An empty transport means default_transport's;
 * an empty nexthop means the recipient domain.
 *
 * Without a match: transport and nexthop from default_transport
 * ("smtp" or "smtp:[host]:port"); a default without a nexthop uses
 * relayhost if set, else the recipient domain. */

struct transport_table;

struct transport_route {
	char *transport;	/* service name: "smtp", "lmtp", "local",
				   "error", or another services.conf row */
	char *nexthop;		/* for "error": the text ("5.1.2 text" or
				   just text); otherwise see
				   transport_nexthop_parse */
};

#define TRANSPORT_ROUTE_INIT { NULL, NULL }

/* Open transport_maps and read default_transport and relayhost from cfg.
 * NULL with an allocated message if a table cannot be opened or
 * default_transport is malformed. */
struct transport_table *transport_create(struct cfg *cfg, char **error_r);
void transport_free(struct transport_table **t);

/* Route domain (lower case, no trailing dot). Returns 1 with *route_r
 * filled (release it with transport_route_release), or -1 with a static
 * or table-owned reason: a table could not be read, or the matching
 * entry is malformed. Either way the caller should defer (4.3.0), as
 * Postfix does. */
int transport_lookup(struct transport_table *t, const char *domain,
		     struct transport_route *route_r, const char **error_r);
void transport_route_release(struct transport_route *route);

/* A next hop as the smtp/lmtp agent receives it:
 *
 *   example.com          MX lookup for example.com, default port
 *   example.com:587      MX lookup, port 587 (smtp only; lmtp never
 *                        looks up MX: there host:port is a host)
 *   [mx.example.com]     the host's A/AAAA records, no MX lookup
 *   [192.0.2.1]:2525     an address literal; [ipv6::addr] likewise
 *   inet:host:port       lmtp: explicit TCP (same as host:port)
 *   unix:/path/socket    lmtp: a Unix socket (relative: to the queue
 *                        directory, e.g. unix:private/dovecot-lmtp)
 */
struct transport_nexthop {
	char *host;		/* name or address, no brackets; NULL if
				   unix_path is set */
	char *unix_path;	/* or NULL */
	unsigned port;		/* 0: the service's default (25, 24) */
	bool no_mx;		/* [brackets], an lmtp host, or unix */
};

#define TRANSPORT_NEXTHOP_INIT { NULL, NULL, 0, false }

/* Parse nexthop; lmtp selects the LMTP rules. False with a static reason
 * for an empty host or path, a bad port or a bad bracket. */
bool transport_nexthop_parse(const char *nexthop, bool lmtp,
			     struct transport_nexthop *nh_r,
			     const char **error_r);
void transport_nexthop_release(struct transport_nexthop *nh);

#endif
