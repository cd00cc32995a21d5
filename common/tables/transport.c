/*
 * transport: the transport table and next-hop syntax (transport.h).
 *
 * Interface: transport_create, transport_free, transport_lookup,
 * transport_route_release, transport_nexthop_parse,
 * transport_nexthop_release.
 *
 * The table is a list of dicts (transport_maps) queried with the domain,
 * its parents as ".parent" and "*", the order Postfix uses with
 * parent_domain_matches_subdomains off. Entries are checked when they
 * are used, not when the table is built, so one bad line defers only
 * the mail it routes and the log says which key.
 *
 * SECURITY: tables and config are trusted (the admin's); domains come
 * from envelopes (untrusted) but are only used as lookup keys and copied
 * into the route. Nothing here touches the network or the file system
 * beyond dict_open.
 */
#include "config.h"

#include <ctype.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dict.h"
#include "mem.h"
#include "str.h"
#include "transport.h"

struct transport_table {
	struct dict **dicts;
	size_t count;
	char *def_transport;	/* from default_transport */
	char *def_nexthop;	/* from default_transport, or "" */
	char *relayhost;	/* "" if unset */
	struct str value;	/* lookup buffer */
	struct str error;	/* last error text */
};

static bool transport_name_ok(const char *name)
{
	for (const char *p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("_-.", *p) == NULL)
			return false;
	return true;
}

/* Split "transport:nexthop" (trimmed) into allocated parts. */
static bool transport_split(const char *value, char **transport_r,
			    char **nexthop_r)
{
	char *copy = mem_strdup(value);
	char *text = str_trim(copy);
	char *colon = strchr(text, ':');

	if (colon != NULL)
		*colon = '\0';
	if (!transport_name_ok(text)) {
		free(copy);
		return false;
	}
	*transport_r = mem_strdup(text);
	*nexthop_r = mem_strdup(colon != NULL ? str_trim(colon + 1) : "");
	free(copy);
	return true;
}

struct transport_table *transport_create(struct cfg *cfg, char **error_r)
{
	struct transport_table *t = mem_alloc(sizeof(*t));
	char **specs = cfg_list(cfg, "transport_maps");
	const char *def = cfg_str(cfg, "default_transport");

	for (size_t i = 0; specs != NULL && specs[i] != NULL; i++) {
		struct dict *d = dict_open(specs[i], error_r);

		if (d == NULL)
			goto fail;
		t->dicts = mem_array_realloc(t->dicts, t->count + 1,
					     sizeof(*t->dicts));
		t->dicts[t->count++] = d;
	}
	if (!transport_split(def, &t->def_transport, &t->def_nexthop) ||
	    *t->def_transport == '\0') {
		str_printf(&t->error, "default_transport: bad value \"%s\"",
			   def);
		*error_r = str_steal(&t->error);
		goto fail;
	}
	t->relayhost = mem_strdup(cfg_str(cfg, "relayhost"));
	return t;
fail:
	transport_free(&t);
	return NULL;
}

void transport_free(struct transport_table **tp)
{
	struct transport_table *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->count; i++)
		dict_close(&t->dicts[i]);
	free(t->dicts);
	free(t->def_transport);
	free(t->def_nexthop);
	free(t->relayhost);
	str_release(&t->value);
	str_release(&t->error);
	free(t);
	*tp = NULL;
}

/* First match of key over the tables: -1/0/1, the value in t->value. */
static int transport_query(struct transport_table *t, const char *key,
			   const char **error_r)
{
	for (size_t i = 0; i < t->count; i++) {
		int ret = dict_lookup(t->dicts[i], key, &t->value, error_r);

		if (ret != 0)
			return ret;
	}
	return 0;
}

/* The domain, ".parent" keys, "*": -1/0/1. */
static int transport_match(struct transport_table *t, const char *domain,
			   const char **key_r, const char **error_r)
{
	struct str key = STR_INIT;
	int ret;

	ret = transport_query(t, domain, error_r);
	for (const char *p = strchr(domain, '.'); ret == 0 && p != NULL;
	     p = strchr(p + 1, '.')) {
		str_set(&key, p);
		ret = transport_query(t, str_c(&key), error_r);
	}
	if (ret == 0)
		ret = transport_query(t, "*", error_r);
	str_release(&key);
	*key_r = domain;
	return ret;
}

/* Check a finished route's next hop where we know the syntax. */
static bool transport_route_check(const struct transport_route *r,
				  const char **error_r)
{
	struct transport_nexthop nh = TRANSPORT_NEXTHOP_INIT;
	bool lmtp = strcmp(r->transport, "lmtp") == 0;
	bool ok;

	if (!lmtp && strcmp(r->transport, "smtp") != 0)
		return true;
	ok = transport_nexthop_parse(r->nexthop, lmtp, &nh, error_r);
	transport_nexthop_release(&nh);
	return ok;
}

int transport_lookup(struct transport_table *t, const char *domain,
		     struct transport_route *route_r,
		     const char **error_r)
{
	const char *key, *why;
	int ret = transport_match(t, domain, &key, error_r);

	route_r->transport = route_r->nexthop = NULL;
	if (ret < 0)
		return -1;
	if (ret == 0) {
		route_r->transport = mem_strdup(t->def_transport);
		route_r->nexthop = mem_strdup(*t->def_nexthop != '\0' ?
					      t->def_nexthop :
					      *t->relayhost != '\0' ?
					      t->relayhost : domain);
	} else {
		if (!transport_split(str_c(&t->value), &route_r->transport,
				     &route_r->nexthop)) {
			str_clear(&t->error);
			str_printf(&t->error, "transport_maps entry for %s: "
				   "bad transport name in \"%s\"", key,
				   str_c(&t->value));
			*error_r = str_c(&t->error);
			return -1;
		}
		if (*route_r->transport == '\0') {
			free(route_r->transport);
			route_r->transport = mem_strdup(t->def_transport);
		}
		if (*route_r->nexthop == '\0') {
			free(route_r->nexthop);
			route_r->nexthop = mem_strdup(domain);
		}
	}
	if (!transport_route_check(route_r, &why)) {
		str_clear(&t->error);
		str_printf(&t->error, "next hop \"%s\" for %s: %s",
			   route_r->nexthop, key, why);
		*error_r = str_c(&t->error);
		transport_route_release(route_r);
		return -1;
	}
	return 1;
}

void transport_route_release(struct transport_route *route)
{
	mem_free(route->transport);
	mem_free(route->nexthop);
}

static bool transport_port(const char *text, unsigned *port_r)
{
	static const struct {
		const char *name;
		unsigned port;
	} known[] = {
		{ "lmtp", 24 }, { "smtp", 25 }, { "smtps", 465 },
		{ "submissions", 465 }, { "submission", 587 },
	};
	struct servent *se;
	long v;

	if (str_to_long(text, 1, 65535, &v)) {
		*port_r = (unsigned)v;
		return true;
	}
	if (*text == '\0' || isdigit((unsigned char)*text))
		return false;
	/* The mail ports by name without /etc/services, which a minimal
	 * system (a container, a fresh debootstrap) lacks; Postfix keeps
	 * the same list (known_tcp_ports). */
	for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
		if (strcasecmp(text, known[i].name) == 0) {
			*port_r = known[i].port;
			return true;
		}
	se = getservbyname(text, "tcp");
	if (se == NULL)
		return false;
	*port_r = ntohs((unsigned short)se->s_port);
	return true;
}

static bool transport_host_ok(const char *host)
{
	if (*host == '\0')
		return false;
	for (const char *p = host; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || strchr("/[]@,", *p) != NULL)
			return false;
	return true;
}

/* "[host]" or "[host]:port". */
static bool transport_bracketed(const char *s, struct transport_nexthop *nh,
				const char **error_r)
{
	const char *close = strchr(s, ']');

	if (close == NULL) {
		*error_r = "missing ']'";
		return false;
	}
	nh->host = mem_strndup(s + 1, (size_t)(close - s - 1));
	nh->no_mx = true;
	if (close[1] == ':' && !transport_port(close + 2, &nh->port)) {
		*error_r = "bad port";
		return false;
	}
	if (close[1] != '\0' && close[1] != ':') {
		*error_r = "text after ']'";
		return false;
	}
	return true;
}

bool transport_nexthop_parse(const char *nexthop, bool lmtp,
			     struct transport_nexthop *nh_r,
			     const char **error_r)
{
	const char *s = nexthop, *colon;

	memset(nh_r, 0, sizeof(*nh_r));
	if (lmtp && str_has_prefix(s, "unix:")) {
		if (s[5] == '\0') {
			*error_r = "empty socket path";
			return false;
		}
		nh_r->unix_path = mem_strdup(s + 5);
		nh_r->no_mx = true;
		return true;
	}
	if (str_has_prefix(s, "inet:"))
		s += 5;
	if (*s == '[') {
		if (!transport_bracketed(s, nh_r, error_r))
			goto fail;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			/* A bare IPv6 address: no port possible. */
			nh_r->host = mem_strdup(s);
			nh_r->no_mx = true;
		} else if (colon != NULL) {
			nh_r->host = mem_strndup(s, (size_t)(colon - s));
			if (!transport_port(colon + 1, &nh_r->port)) {
				*error_r = "bad port";
				goto fail;
			}
		} else {
			nh_r->host = mem_strdup(s);
		}
	}
	if (!transport_host_ok(nh_r->host)) {
		*error_r = *nh_r->host == '\0' ? "empty host" : "bad host";
		goto fail;
	}
	if (lmtp)
		nh_r->no_mx = true;
	return true;
fail:
	transport_nexthop_release(nh_r);
	return false;
}

void transport_nexthop_release(struct transport_nexthop *nh)
{
	mem_free(nh->host);
	mem_free(nh->unix_path);
	nh->port = 0;
	nh->no_mx = false;
}
