/*
 * Unit tests for common/resolve.c: domain classes, recipient existence
 * (virtual mailboxes, catch-alls, extensions, aliases, system accounts,
 * postmaster), and expansion into final deliveries (virtual and local
 * aliases, self references, loops, the depth limit, commands and files
 * with their permissions, :include:).
 */
#include "config.h"

#include <check.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "resolve.h"
#include "str.h"
#include "test_util.h"

static char tmpdir[64];
static struct cfg *cfg;
static struct resolver *r;
static char me[256], home[1024];

static void write_in(const char *name, const char *text)
{
	tu_write_file(tu_path(tmpdir, name), text, 0644);
}

static void setup(void)
{
	struct passwd *pw = getpwuid(getuid());
	struct str text = STR_INIT;
	char *error = NULL;

	ck_assert_ptr_nonnull(pw);
	(void)str_snprintf(me, sizeof(me), "%s", pw->pw_name);
	(void)str_snprintf(home, sizeof(home), "%s", pw->pw_dir);
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_resolve");
	write_in("vmailbox",
		 "demo@virt.test virt.test/demo/\n"
		 "mbox@virt.test virt.test/mbox\n"
		 "@virt2.test virt2.test/catchall/\n");
	write_in("virtual",
		 "alias@virt.test demo@virt.test\n"
		 "multi@virt.test demo@virt.test, other@remote.test\n"
		 "@alias.test demo@virt.test\n"
		 "exact@alias.test mbox@virt.test\n"
		 "loop1@virt.test loop2@virt.test\n"
		 "loop2@virt.test loop1@virt.test\n"
		 "selfy@virt2.test selfy@virt2.test, demo@virt.test\n"
		 "chain1@virt.test chain2@virt.test\n"
		 "chain2@virt.test chain3@virt.test\n"
		 "chain3@virt.test chain4@virt.test\n"
		 "chain4@virt.test chain5@virt.test\n"
		 "chain5@virt.test chain6@virt.test\n"
		 "chain6@virt.test chain7@virt.test\n"
		 "chain7@virt.test demo@virt.test\n"
		 "ghost@virt.test nobody@virt.test\n");
	str_printf(&text,
		   "postmaster: %s\n"
		   "staff: %s, \"|/bin/cat -u\", /tmp/file\n"
		   "bob: \\%s\n"
		   "lp1: lp2\n"
		   "lp2: lp1\n"
		   "inc: :include:%s/inc.list\n", me, me, me, tmpdir);
	write_in("aliases", str_c(&text));
	str_clear(&text);
	str_printf(&text, "# members\n%s\n|/bin/true\n", me);
	write_in("inc.list", str_c(&text));
	str_clear(&text);
	str_printf(&text,
		   "myhostname = mail.example.test\n"
		   "mydestination = $myhostname, localhost, local.test\n"
		   "virtual_mailbox_domains = virt.test, virt2.test\n"
		   "virtual_mailbox_base = /vmail\n"
		   "virtual_mailbox_maps = texthash:%s/vmailbox\n"
		   "virtual_alias_maps = texthash:%s/virtual\n"
		   "alias_maps = texthash:%s/aliases\n"
		   "allow_mail_to_commands = alias\n"
		   "allow_mail_to_files =\n"
		   "virtual_alias_recursion_limit = 5\n",
		   tmpdir, tmpdir, tmpdir);
	cfg = cfg_parse(str_c(&text), "test.conf", tmpdir, &error);
	ck_assert_msg(cfg != NULL, "cfg: %s", error);
	r = resolve_create(cfg, &error);
	ck_assert_msg(r != NULL, "resolve_create: %s", error);
	str_release(&text);
}

static void teardown(void)
{
	resolve_free(&r);
	cfg_free(&cfg);
	tu_rmtree(tmpdir);
}

static int exists(const char *address)
{
	const char *error = NULL;

	return resolve_rcpt_exists(r, address, &error);
}

/* Expand address; the items are checked by the caller. */
static void expand(const char *address, struct resolve_result *res)
{
	resolve_result_clear(res);
	resolve_expand(r, address, res);
}

static const struct resolve_delivery *
find_kind(const struct resolve_result *res, enum resolve_kind kind)
{
	for (size_t i = 0; i < res->count; i++)
		if (res->items[i].kind == kind)
			return &res->items[i];
	return NULL;
}

static const char *my_maildir(void)
{
	static char buf[1100];

	(void)str_snprintf(buf, sizeof(buf), "%s/Maildir/", home);
	return buf;
}

START_TEST(domain_classes)
{
	ck_assert_int_eq(resolve_domain_class(r, "mail.example.test"),
			 RESOLVE_LOCAL);
	ck_assert_int_eq(resolve_domain_class(r, "localhost"), RESOLVE_LOCAL);
	ck_assert_int_eq(resolve_domain_class(r, "LOCAL.test"), RESOLVE_LOCAL);
	ck_assert_int_eq(resolve_domain_class(r, "virt.test"),
			 RESOLVE_VIRTUAL);
	ck_assert_int_eq(resolve_domain_class(r, "virt2.test"),
			 RESOLVE_VIRTUAL);
	ck_assert_int_eq(resolve_domain_class(r, "alias.test"),
			 RESOLVE_ALIAS_DOMAIN);
	ck_assert_int_eq(resolve_domain_class(r, "remote.test"),
			 RESOLVE_RELAY);
	ck_assert_int_eq(resolve_domain_class(r, "sub.virt.test"),
			 RESOLVE_RELAY);
}
END_TEST

START_TEST(rcpt_exists)
{
	struct str a = STR_INIT;

	ck_assert_int_eq(exists("demo@virt.test"), 1);
	ck_assert_int_eq(exists("demo+ext@virt.test"), 1);
	ck_assert_int_eq(exists("nobody@virt.test"), 0);
	ck_assert_int_eq(exists("anyone@virt2.test"), 1);	/* catch-all */
	ck_assert_int_eq(exists("anyone@alias.test"), 1);
	ck_assert_int_eq(exists("alias@virt.test"), 1);
	ck_assert_int_eq(exists("postmaster@virt.test"), 1);
	ck_assert_int_eq(exists("PostMaster@alias.test"), 1);
	ck_assert_int_eq(exists("postmaster@localhost"), 1);
	ck_assert_int_eq(exists("staff@localhost"), 1);
	ck_assert_int_eq(exists("staff+x@local.test"), 1);
	ck_assert_int_eq(exists("no-such-user-xq7@localhost"), 0);
	ck_assert_int_eq(exists("../etc@localhost"), 0);
	/* A system account without a login shell or a home of its own is
	 * not a local recipient (local_system_recipients = login). */
	if (getpwnam("nobody") != NULL)
		ck_assert_int_eq(exists("nobody@localhost"), 0);
	str_printf(&a, "%s@localhost", me);
	ck_assert_int_eq(exists(str_c(&a)), 1);
	str_clear(&a);
	str_printf(&a, "%s+folder@mail.example.test", me);
	ck_assert_int_eq(exists(str_c(&a)), 1);
	ck_assert_int_eq(exists("x@remote.test"), 1);	/* smtpd decides */
	str_release(&a);
}
END_TEST

START_TEST(expand_virtual)
{
	struct resolve_result res = RESOLVE_RESULT_INIT;

	expand("demo@virt.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_MAILDIR);
	ck_assert_int_eq(res.items[0].class, RESOLVE_VIRTUAL);
	ck_assert_str_eq(res.items[0].path, "/vmail/virt.test/demo/");
	ck_assert_str_eq(res.items[0].user, "vmail");
	ck_assert_str_eq(res.items[0].address, "demo@virt.test");

	expand("demo+tag@virt.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_str_eq(res.items[0].path, "/vmail/virt.test/demo/");
	ck_assert_str_eq(res.items[0].address, "demo+tag@virt.test");

	expand("mbox@virt.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_MAILBOX);
	ck_assert_str_eq(res.items[0].path, "/vmail/virt.test/mbox");

	expand("whoever@virt2.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_str_eq(res.items[0].path, "/vmail/virt2.test/catchall/");

	expand("nobody@virt.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_BOUNCE);
	ck_assert_str_eq(res.items[0].dsn, "5.1.1");

	expand("x@remote.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_FORWARD);
	resolve_result_clear(&res);
}
END_TEST

START_TEST(expand_virtual_alias)
{
	struct resolve_result res = RESOLVE_RESULT_INIT;
	const struct resolve_delivery *d;

	expand("alias@virt.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_str_eq(res.items[0].address, "demo@virt.test");
	ck_assert_str_eq(res.items[0].path, "/vmail/virt.test/demo/");

	expand("multi@virt.test", &res);
	ck_assert_uint_eq(res.count, 2);
	ck_assert_ptr_nonnull(find_kind(&res, RESOLVE_MAILDIR));
	d = find_kind(&res, RESOLVE_FORWARD);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->address, "other@remote.test");

	expand("random@alias.test", &res);		/* catch-all */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_str_eq(res.items[0].address, "demo@virt.test");
	expand("exact@alias.test", &res);		/* beats catch-all */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_str_eq(res.items[0].address, "mbox@virt.test");

	expand("selfy@virt2.test", &res);		/* self reference */
	ck_assert_uint_eq(res.count, 2);
	ck_assert_str_eq(res.items[0].path, "/vmail/virt2.test/catchall/");
	ck_assert_str_eq(res.items[1].path, "/vmail/virt.test/demo/");

	expand("ghost@virt.test", &res);		/* unknown target */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_BOUNCE);
	ck_assert_str_eq(res.items[0].address, "nobody@virt.test");
	ck_assert_ptr_nonnull(strstr(res.items[0].reason, "unknown user"));
	resolve_result_clear(&res);
}
END_TEST

START_TEST(expand_loops_and_depth)
{
	struct resolve_result res = RESOLVE_RESULT_INIT;

	expand("loop1@virt.test", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_BOUNCE);
	ck_assert_str_eq(res.items[0].dsn, "5.4.6");
	ck_assert_str_eq(res.items[0].reason,
			 "mail forwarding loop for loop1@virt.test");

	expand("chain1@virt.test", &res);	/* 7 levels, limit 5 */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_DEFER);
	ck_assert_ptr_nonnull(strstr(res.items[0].reason, "depth limit"));
	expand("chain4@virt.test", &res);	/* 4 levels: fine */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_MAILDIR);

	expand("lp1@localhost", &res);		/* local alias loop */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_BOUNCE);
	ck_assert_ptr_nonnull(strstr(res.items[0].reason, "loop"));
	resolve_result_clear(&res);
}
END_TEST

START_TEST(expand_local_aliases)
{
	struct resolve_result res = RESOLVE_RESULT_INIT;
	const struct resolve_delivery *d;

	expand("staff@localhost", &res);
	ck_assert_uint_eq(res.count, 3);
	d = find_kind(&res, RESOLVE_MAILDIR);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->path, my_maildir());
	ck_assert_str_eq(d->user, me);
	d = find_kind(&res, RESOLVE_COMMAND);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->path, "/bin/cat -u");	/* quotes removed */
	ck_assert_str_eq(d->user, "nobody");
	ck_assert_str_eq(d->address, "staff@localhost");
	d = find_kind(&res, RESOLVE_BOUNCE);		/* files not allowed */
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->reason, "mail to file is restricted");

	expand("bob@localhost", &res);			/* \user */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_str_eq(res.items[0].path, my_maildir());

	expand("inc@localhost", &res);		/* :include:, no commands */
	ck_assert_uint_eq(res.count, 2);
	ck_assert_ptr_nonnull(find_kind(&res, RESOLVE_MAILDIR));
	d = find_kind(&res, RESOLVE_BOUNCE);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->reason, "mail to command is restricted");

	expand("postmaster@virt.test", &res);	/* -> local postmaster */
	ck_assert_uint_eq(res.count, 1);
	ck_assert_str_eq(res.items[0].path, my_maildir());

	expand("no-such-user-xq7@localhost", &res);
	ck_assert_uint_eq(res.count, 1);
	ck_assert_int_eq(res.items[0].kind, RESOLVE_BOUNCE);
	resolve_result_clear(&res);
}
END_TEST

/* Run as root, an :include: file is opened as its owner: one that its
 * owner cannot read is not read, though root could. */
START_TEST(include_opened_as_owner)
{
	struct resolve_result res = RESOLVE_RESULT_INIT;
	const struct resolve_delivery *d;
	const char *list = tu_path(tmpdir, "inc.list");

	if (geteuid() != 0)
		return;
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	ck_assert_int_eq(chown(list, 65534, 65534), 0);
	expand("inc@localhost", &res);
	ck_assert_uint_eq(res.count, 2);
	ck_assert_ptr_nonnull(find_kind(&res, RESOLVE_MAILDIR));
	ck_assert_int_eq(chmod(list, 0), 0);
	expand("inc@localhost", &res);
	ck_assert_uint_eq(res.count, 1);
	d = find_kind(&res, RESOLVE_DEFER);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(strstr(d->reason, "Permission denied"));
	/* And root is root again afterwards. */
	ck_assert_int_eq(geteuid(), 0);
	ck_assert_int_eq(getegid(), 0);
	resolve_result_clear(&res);
}
END_TEST

START_TEST(mailbox_and_split)
{
	struct resolve_delivery d;
	struct str local = STR_INIT, domain = STR_INIT, a = STR_INIT;
	const char *error = NULL;

	str_printf(&a, "%s+ext@LOCALHOST", me);
	ck_assert_int_eq(resolve_mailbox(r, str_c(&a), &d, &error), 1);
	ck_assert_int_eq(d.kind, RESOLVE_MAILDIR);
	ck_assert_str_eq(d.path, my_maildir());
	resolve_delivery_clear(&d);
	/* No alias expansion here: staff has no mailbox of its own. */
	ck_assert_int_eq(resolve_mailbox(r, "staff@localhost", &d, &error),
			 0);
	ck_assert_int_eq(resolve_mailbox(r, "x@remote.test", &d, &error), 0);

	resolve_split(r, "a+b+c@Dom.Test", true, &local, &domain);
	ck_assert_str_eq(str_c(&local), "a");
	ck_assert_str_eq(str_c(&domain), "dom.test");
	resolve_split(r, "a+b@x", false, &local, &domain);
	ck_assert_str_eq(str_c(&local), "a+b");
	resolve_split(r, "+b@x", true, &local, &domain);
	ck_assert_str_eq(str_c(&local), "+b");
	resolve_split(r, "noat", true, &local, &domain);
	ck_assert_str_eq(str_c(&local), "noat");
	ck_assert_str_eq(str_c(&domain), "");
	str_release(&local);
	str_release(&domain);
	str_release(&a);
}
END_TEST

START_TEST(bad_table)
{
	char *error = NULL;
	struct cfg *c = cfg_parse("virtual_alias_maps = nosuchtype:/x\n",
				  "bad.conf", tmpdir, &error);
	struct resolver *bad;

	ck_assert_ptr_nonnull(c);
	bad = resolve_create(c, &error);
	ck_assert_ptr_null(bad);
	ck_assert_ptr_nonnull(error);
	ck_assert_ptr_nonnull(strstr(error, "nosuchtype"));
	free(error);
	cfg_free(&c);
}
END_TEST

/* mailbox_quota_maps keys: the address, without its extension, the
 * bare name of a local user, "@domain"; then mailbox_quota_default. */
START_TEST(quota_lookup)
{
	struct resolver *q;
	struct str text = STR_INIT, value = STR_INIT;
	const char *error = NULL;
	char *err = NULL;
	struct cfg *c;

	write_in("quota", "demo@virt.test storage=1g\n"
		 "bob messages=10\n"
		 "@virt2.test storage=5m\n");
	str_printf(&text,
		   "myhostname = mail.example.test\n"
		   "mydestination = $myhostname, localhost\n"
		   "virtual_mailbox_domains = virt.test, virt2.test\n"
		   "recipient_delimiter = +\n"
		   "mailbox_quota_maps = texthash:%s/quota\n"
		   "alias_maps =\n"
		   "mailbox_quota_default = storage=100m\n", tmpdir);
	c = cfg_parse(str_c(&text), "test.conf", tmpdir, &err);
	ck_assert_msg(c != NULL, "cfg: %s", err);
	q = resolve_create(c, &err);
	ck_assert_msg(q != NULL, "resolve_create: %s", err);
	ck_assert_int_eq(resolve_quota(q, "demo@virt.test", &value, &error),
			 1);
	ck_assert_str_eq(str_c(&value), "storage=1g");
	ck_assert_int_eq(resolve_quota(q, "Demo+lists@virt.test", &value,
				       &error), 1);
	ck_assert_str_eq(str_c(&value), "storage=1g");
	ck_assert_int_eq(resolve_quota(q, "bob", &value, &error), 1);
	ck_assert_str_eq(str_c(&value), "messages=10");
	ck_assert_int_eq(resolve_quota(q, "bob@mail.example.test", &value,
				       &error), 1);
	ck_assert_str_eq(str_c(&value), "messages=10");
	/* Not a local domain: the bare name is not looked up. */
	ck_assert_int_eq(resolve_quota(q, "bob@virt.test", &value, &error),
			 1);
	ck_assert_str_eq(str_c(&value), "storage=100m");
	ck_assert_int_eq(resolve_quota(q, "x@virt2.test", &value, &error), 1);
	ck_assert_str_eq(str_c(&value), "storage=5m");
	resolve_free(&q);
	cfg_free(&c);
	/* Without a default: none. */
	str_clear(&text);
	str_printf(&text, "alias_maps =\n"
		   "mailbox_quota_maps = texthash:%s/quota\n", tmpdir);
	c = cfg_parse(str_c(&text), "test.conf", tmpdir, &err);
	ck_assert_msg(c != NULL, "cfg: %s", err);
	q = resolve_create(c, &err);
	ck_assert_msg(q != NULL, "resolve_create: %s", err);
	ck_assert_int_eq(resolve_quota(q, "carol@virt.test", &value, &error),
			 0);
	resolve_free(&q);
	cfg_free(&c);
	str_release(&text);
	str_release(&value);
}
END_TEST

static Suite *resolve_suite(void)
{
	Suite *s = suite_create("resolve");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, domain_classes);
	tcase_add_test(tc, quota_lookup);
	tcase_add_test(tc, rcpt_exists);
	tcase_add_test(tc, expand_virtual);
	tcase_add_test(tc, expand_virtual_alias);
	tcase_add_test(tc, expand_loops_and_depth);
	tcase_add_test(tc, expand_local_aliases);
	tcase_add_test(tc, include_opened_as_owner);
	tcase_add_test(tc, mailbox_and_split);
	tcase_add_test(tc, bad_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(resolve_suite());
}
