/*
 * fuzz_transport: libFuzzer target for the transport table and next-hop
 * syntax (common/transport.c).
 *
 * Input: byte 0 picks the mode.
 *  - Next hop: the rest is a next hop for transport_nexthop_parse (smtp
 *    or lmtp rules). A parsed hop has exactly one of host and unix_path,
 *    a host without blanks, brackets, '@', ',' or '/', a port in
 *    0-65535, and no MX lookup for lmtp.
 *  - Table: the rest is "SOURCE\0DEFAULT_TRANSPORT\nRELAYHOST\nDOMAIN":
 *    SOURCE becomes a texthash: transport_maps table, the two settings
 *    go into a configuration, DOMAIN is looked up. A route found for
 *    smtp or lmtp must have a next hop that transport_nexthop_parse
 *    accepts (transport_lookup promises to check it); a failure must
 *    come with a reason.
 *
 * SECURITY: test code only.
 */
#include "config.h"

#include "fuzz.h"

#include "cfg.h"
#include "transport.h"

static void check_nexthop(const char *text, bool lmtp)
{
	struct transport_nexthop nh = TRANSPORT_NEXTHOP_INIT;
	const char *error = NULL;

	if (!transport_nexthop_parse(text, lmtp, &nh, &error)) {
		if (error == NULL || nh.host != NULL || nh.unix_path != NULL)
			abort();
		return;
	}
	if ((nh.host == NULL) == (nh.unix_path == NULL) || nh.port > 65535)
		abort();
	if (nh.host != NULL && (nh.host[0] == '\0' ||
				strpbrk(nh.host, " \t\r\n[]@,/") != NULL))
		abort();
	if (nh.unix_path != NULL && (!lmtp || nh.unix_path[0] == '\0'))
		abort();
	if (lmtp && !nh.no_mx)
		abort();
	transport_nexthop_release(&nh);
}

/* "a\nb\nc" into three NUL-terminated fields (missing ones empty). */
static void split3(char *s, char *f[3])
{
	for (int i = 0; i < 3; i++) {
		char *nl = s != NULL ? strchr(s, '\n') : NULL;

		f[i] = s != NULL ? s : (char *)"";
		if (nl != NULL)
			*nl = '\0';
		s = nl != NULL ? nl + 1 : NULL;
	}
}

static void fuzz_table(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	struct transport_route route = TRANSPORT_ROUTE_INIT;
	struct transport_table *t;
	struct str conf = STR_INIT;
	struct cfg *cfg = NULL;
	char *rest, *f[3], *error = NULL;
	const char *why = NULL;

	if (nul == NULL)
		return;
	rest = fuzz_cstr(nul + 1, size - (size_t)(nul - data) - 1);
	if (rest == NULL)
		return;
	split3(rest, f);
	str_printf(&conf, "transport_maps = texthash:%s\n"
		   "default_transport = %s\nrelayhost = %s\n",
		   fuzz_file("transport", data, (size_t)(nul - data)),
		   f[0], f[1]);
	cfg = cfg_parse(str_c(&conf), "fuzz.conf", "/nonexistent", &error);
	if (cfg == NULL)
		goto out;
	t = transport_create(cfg, &error);
	if (t == NULL)
		goto out;
	if (transport_lookup(t, f[2], &route, &why) == 1) {
		if (route.transport == NULL || route.nexthop == NULL)
			abort();
		if (strcmp(route.transport, "smtp") == 0 ||
		    strcmp(route.transport, "lmtp") == 0)
			check_nexthop(route.nexthop,
				      strcmp(route.transport, "lmtp") == 0);
		transport_route_release(&route);
	} else if (why == NULL) {
		abort();
	}
	transport_free(&t);
out:
	if (cfg != NULL)
		cfg_free(&cfg);
	mem_free(error);
	mem_free(rest);
	str_release(&conf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_init("fuzz_transport");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	if (data[0] % 3 == 2) {
		fuzz_table(data + 1, size - 1);
		return 0;
	}
	s = fuzz_cstr(data + 1, size - 1);
	if (s != NULL)
		check_nexthop(s, data[0] % 3 == 1);
	mem_free(s);
	return 0;
}
