/*
 * test_transport: transport_maps lookups (exact, .parent, *, empty
 * transport or nexthop, error:, lmtp:), relayhost and default_transport
 * fallbacks, bad entries, and the next-hop syntax the agent parses.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "str.h"
#include "test_util.h"
#include "transport.h"

static char tmpdir[64];
static char table[96];

static const char table_text[] =
	"# transport table\n"
	"example.com      smtp:[mx.example.com]:2525\n"
	".example.com     smtp:relay.example.com\n"
	"store.test       lmtp:unix:/run/lmtp\n"
	"tcpstore.test    lmtp:[10.0.0.5]:24\n"
	"old.test         error:5.1.2 domain retired\n"
	"here.test        local\n"
	"other.test       :[10.0.0.9]\n"
	"bare.test        smtp:\n"
	"bad.test         sm tp!:x\n"
	"badhop.test      smtp:[unclosed\n";

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_transport");
	ck_assert(str_snprintf(table, sizeof(table), "%s/transport", tmpdir));
	tu_write_file(table, table_text, 0644);
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static struct transport_table *open_with(const char *extra, bool wildcard)
{
	struct str text = STR_INIT;
	struct transport_table *t;
	struct cfg *cfg;
	char *error = NULL;

	str_printf(&text, "transport_maps = texthash:%s%s\n%s", table,
		   wildcard ? ", inline:{*=smtp:[smarthost.test]}" : "",
		   extra);
	cfg = cfg_parse(str_c(&text), "test.conf", tmpdir, &error);
	ck_assert_msg(cfg != NULL, "%s", error);
	t = transport_create(cfg, &error);
	ck_assert_msg(t != NULL, "%s", error);
	cfg_free(&cfg);
	str_release(&text);
	return t;
}

static void route_is(struct transport_table *t, const char *domain,
		     const char *transport, const char *nexthop)
{
	struct transport_route r = TRANSPORT_ROUTE_INIT;
	const char *error = NULL;

	ck_assert_msg(transport_lookup(t, domain, &r, &error) == 1,
		      "%s: %s", domain, error);
	ck_assert_str_eq(r.transport, transport);
	ck_assert_str_eq(r.nexthop, nexthop);
	transport_route_release(&r);
	ck_assert_ptr_null(r.transport);
}

START_TEST(test_table_entries)
{
	struct transport_table *t = open_with("", false);

	route_is(t, "example.com", "smtp", "[mx.example.com]:2525");
	route_is(t, "a.example.com", "smtp", "relay.example.com");
	route_is(t, "b.a.example.com", "smtp", "relay.example.com");
	route_is(t, "store.test", "lmtp", "unix:/run/lmtp");
	route_is(t, "tcpstore.test", "lmtp", "[10.0.0.5]:24");
	route_is(t, "old.test", "error", "5.1.2 domain retired");
	route_is(t, "here.test", "local", "here.test");
	route_is(t, "other.test", "smtp", "[10.0.0.9]");
	route_is(t, "bare.test", "smtp", "bare.test");
	/* No entry: the domain itself over the default transport. */
	route_is(t, "elsewhere.test", "smtp", "elsewhere.test");
	/* "example.com" does not match "notexample.com". */
	route_is(t, "notexample.com", "smtp", "notexample.com");
	transport_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_relayhost_and_default)
{
	struct transport_table *t;

	t = open_with("relayhost = [gw.test]:587\n", false);
	route_is(t, "elsewhere.test", "smtp", "[gw.test]:587");
	/* A table entry wins over relayhost, also with an empty nexthop. */
	route_is(t, "bare.test", "smtp", "bare.test");
	transport_free(&t);

	t = open_with("relayhost = [gw.test]\n"
		      "default_transport = relay:[other-gw.test]\n", false);
	route_is(t, "elsewhere.test", "relay", "[other-gw.test]");
	route_is(t, "other.test", "relay", "[10.0.0.9]");
	transport_free(&t);

	t = open_with("default_transport = lmtp\n"
		      "relayhost = unix:/x\n", false);
	route_is(t, "elsewhere.test", "lmtp", "unix:/x");
	transport_free(&t);
}
END_TEST

START_TEST(test_wildcard)
{
	struct transport_table *t = open_with("relayhost = [gw.test]\n",
					      true);

	route_is(t, "elsewhere.test", "smtp", "[smarthost.test]");
	route_is(t, "example.com", "smtp", "[mx.example.com]:2525");
	transport_free(&t);
}
END_TEST

START_TEST(test_bad_entries)
{
	struct transport_table *t = open_with("", false);
	struct transport_route r = TRANSPORT_ROUTE_INIT;
	const char *error = NULL;

	ck_assert_int_eq(transport_lookup(t, "bad.test", &r, &error), -1);
	ck_assert_str_eq(error, "transport_maps entry for bad.test: bad "
			 "transport name in \"sm tp!:x\"");
	ck_assert_int_eq(transport_lookup(t, "badhop.test", &r, &error), -1);
	ck_assert_str_eq(error, "next hop \"[unclosed\" for badhop.test: "
			 "missing ']'");
	ck_assert_ptr_null(r.transport);
	ck_assert_ptr_null(r.nexthop);
	transport_free(&t);
}
END_TEST

START_TEST(test_create_errors)
{
	struct cfg *cfg;
	char *error = NULL;

	cfg = cfg_parse("default_transport = :x\n", "t.conf", "/tmp", &error);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_ptr_null(transport_create(cfg, &error));
	ck_assert_str_eq(error, "default_transport: bad value \":x\"");
	free(error);
	cfg_free(&cfg);
	cfg = cfg_parse("transport_maps = texthash:/nonexistent/x\n",
			"t.conf", "/tmp", &error);
	ck_assert_ptr_nonnull(cfg);
	error = NULL;
	ck_assert_ptr_null(transport_create(cfg, &error));
	ck_assert_ptr_nonnull(error);
	free(error);
	cfg_free(&cfg);
}
END_TEST

/* ---- next hops ------------------------------------------------------ */

static void nexthop_is(const char *text, bool lmtp, const char *host,
		       const char *path, unsigned port, bool no_mx)
{
	struct transport_nexthop nh;
	const char *error = NULL;

	ck_assert_msg(transport_nexthop_parse(text, lmtp, &nh, &error),
		      "%s: %s", text, error);
	if (host == NULL)
		ck_assert_ptr_null(nh.host);
	else
		ck_assert_str_eq(nh.host, host);
	if (path == NULL)
		ck_assert_ptr_null(nh.unix_path);
	else
		ck_assert_str_eq(nh.unix_path, path);
	ck_assert_uint_eq(nh.port, port);
	ck_assert_int_eq(nh.no_mx, no_mx);
	transport_nexthop_release(&nh);
}

static void nexthop_bad(const char *text, bool lmtp, const char *why)
{
	struct transport_nexthop nh;
	const char *error = NULL;

	ck_assert_msg(!transport_nexthop_parse(text, lmtp, &nh, &error),
		      "accepted %s", text);
	ck_assert_str_eq(error, why);
	ck_assert_ptr_null(nh.host);
	ck_assert_ptr_null(nh.unix_path);
}

START_TEST(test_nexthop_syntax)
{
	nexthop_is("example.com", false, "example.com", NULL, 0, false);
	nexthop_is("example.com:587", false, "example.com", NULL, 587, false);
	nexthop_is("[mx.example.com]", false, "mx.example.com", NULL, 0,
		   true);
	nexthop_is("[192.0.2.1]:2525", false, "192.0.2.1", NULL, 2525, true);
	nexthop_is("[2001:db8::1]:25", false, "2001:db8::1", NULL, 25, true);
	nexthop_is("2001:db8::1", false, "2001:db8::1", NULL, 0, true);
	nexthop_is("inet:mx.test:26", false, "mx.test", NULL, 26, false);
	nexthop_is("smtp.test:smtp", false, "smtp.test", NULL, 25, false);
	/* LMTP never looks up MX. */
	nexthop_is("store.test:24", true, "store.test", NULL, 24, true);
	nexthop_is("inet:store.test", true, "store.test", NULL, 0, true);
	nexthop_is("unix:/run/lmtp", true, NULL, "/run/lmtp", 0, true);
	nexthop_is("unix:private/dovecot-lmtp", true, NULL,
		   "private/dovecot-lmtp", 0, true);

	nexthop_bad("", false, "empty host");
	nexthop_bad("[]", false, "empty host");
	nexthop_bad("[mx.test", false, "missing ']'");
	nexthop_bad("[mx.test]x", false, "text after ']'");
	nexthop_bad("[mx.test]:", false, "bad port");
	nexthop_bad("mx.test:0", false, "bad port");
	nexthop_bad("mx.test:65536", false, "bad port");
	nexthop_bad("mx.test:12x", false, "bad port");
	nexthop_bad("mx.test:no-such-service", false, "bad port");
	nexthop_bad("unix:/run/lmtp", false, "bad port");
	nexthop_bad("unix:", true, "empty socket path");
	nexthop_bad("mx test", false, "bad host");
	nexthop_bad("a@b", false, "bad host");
}
END_TEST

static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_table_entries);
	tcase_add_test(tc, test_relayhost_and_default);
	tcase_add_test(tc, test_wildcard);
	tcase_add_test(tc, test_bad_entries);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_nexthop_syntax);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(transport_suite());
}
