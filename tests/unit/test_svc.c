/*
 * test_svc: services.conf parsing and validation.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "str.h"
#include "svc.h"
#include "test_util.h"

static struct svc_table *parse_ok(const char *text)
{
	char *error = NULL;
	struct svc_table *t = svc_parse(text, "t.cf", &error);

	ck_assert_msg(t != NULL, "unexpected error: %s", error);
	return t;
}

static void parse_fails(const char *text, const char *expected)
{
	char *error = NULL;
	struct svc_table *t = svc_parse(text, "t.cf", &error);

	ck_assert_msg(t == NULL, "no error for: %s", text);
	ck_assert_str_eq(error, expected);
	free(error);
}

static const char example[] =
	"# service        type private user   chroot wakeup maxproc command\n"
	"smtp             inet n       -      n      -      100     smtpd\n"
	"127.0.0.1:10587  inet n       -      n      -      100     smtpd"
	" -o smtpd_sasl_auth_enable=yes\n"
	"qmgr             unix n       -      n      300    1       qmgr\n"
	"local            unix -       root   y      -      10      local\n";

START_TEST(test_example)
{
	struct svc_table *t = parse_ok(example);
	struct svc *s;

	ck_assert_int_eq(t->count, 4);
	s = &t->svcs[0];
	ck_assert_str_eq(s->name, "smtp");
	ck_assert_int_eq(s->type, SVC_INET);
	ck_assert(!s->private_);
	ck_assert_ptr_null(s->user);
	ck_assert(!s->chroot);
	ck_assert_int_eq(s->wakeup, 0);
	ck_assert_int_eq(s->maxproc, 100);
	ck_assert_ptr_null(s->host);
	ck_assert_str_eq(s->port, "smtp");
	ck_assert_int_eq(s->argc, 1);
	ck_assert_str_eq(s->argv[0], "smtpd");
	ck_assert_ptr_null(s->argv[1]);
	ck_assert_str_eq(s->file, "t.cf");
	ck_assert_int_eq(s->line, 2);
	ck_assert_str_eq(svc_key(s), "inet/*:smtp");

	s = &t->svcs[1];
	ck_assert_str_eq(s->host, "127.0.0.1");
	ck_assert_str_eq(s->port, "10587");
	ck_assert_int_eq(s->argc, 3);
	ck_assert_str_eq(s->argv[1], "-o");
	ck_assert_str_eq(s->argv[2], "smtpd_sasl_auth_enable=yes");
	ck_assert_str_eq(svc_key(s), "inet/127.0.0.1:10587");
	ck_assert_int_eq(s->line, 3);

	s = &t->svcs[2];
	ck_assert_int_eq(s->type, SVC_UNIX);
	ck_assert(!s->private_);
	ck_assert_int_eq(s->wakeup, 300);
	ck_assert_int_eq(s->maxproc, 1);
	ck_assert_str_eq(svc_key(s), "unix/qmgr");
	ck_assert_ptr_null(s->host);
	ck_assert_ptr_null(s->port);

	s = &t->svcs[3];
	ck_assert(s->private_);	/* "-" for unix means private */
	ck_assert_str_eq(s->user, "root");
	ck_assert(s->chroot);
	ck_assert_int_eq(s->line, 5);
	svc_table_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_defaults_and_numbers)
{
	struct svc_table *t = parse_ok(
		"a unix - - - - - cmd\n"
		"b unix y - n 0 0 cmd\n"
		"c unix n - - 60? 100000 cmd\n");

	ck_assert(t->svcs[0].private_);
	ck_assert(!t->svcs[0].chroot);
	ck_assert_int_eq(t->svcs[0].wakeup, 0);
	ck_assert_int_eq(t->svcs[0].maxproc, -1);
	ck_assert(t->svcs[1].private_);
	ck_assert_int_eq(t->svcs[1].maxproc, 0);
	ck_assert(!t->svcs[2].private_);
	ck_assert_int_eq(t->svcs[2].wakeup, 60);
	ck_assert_int_eq(t->svcs[2].maxproc, 100000);
	svc_table_free(&t);
}
END_TEST

struct inet_case {
	const char *name;
	const char *host;	/* NULL: all addresses */
	const char *port;
	const char *key;
};

static const struct inet_case inet_cases[] = {
	{ "25", NULL, "25", "inet/*:25" },
	{ "smtp", NULL, "smtp", "inet/*:smtp" },
	{ "*:25", NULL, "25", "inet/*:25" },
	{ "127.0.0.1:2525", "127.0.0.1", "2525", "inet/127.0.0.1:2525" },
	{ "[::1]:2525", "::1", "2525", "inet/[::1]:2525" },
	{ "[2001:db8::5]:submission", "2001:db8::5", "submission",
	  "inet/[2001:db8::5]:submission" },
	{ "localhost:65535", "localhost", "65535", "inet/localhost:65535" },
	{ "mx-1.example.org:1", "mx-1.example.org", "1",
	  "inet/mx-1.example.org:1" },
};

START_TEST(test_inet_forms)
{
	const struct inet_case *c = &inet_cases[_i];
	struct str text = STR_INIT;
	struct svc_table *t;

	str_printf(&text, "%s inet n - n - - smtpd\n", c->name);
	t = parse_ok(str_c(&text));
	ck_assert_str_eq(t->svcs[0].name, c->name);
	if (c->host == NULL)
		ck_assert_ptr_null(t->svcs[0].host);
	else
		ck_assert_str_eq(t->svcs[0].host, c->host);
	ck_assert_str_eq(t->svcs[0].port, c->port);
	ck_assert_str_eq(svc_key(&t->svcs[0]), c->key);
	svc_table_free(&t);
	str_release(&text);
}
END_TEST

START_TEST(test_continuation)
{
	struct svc_table *t = parse_ok(
		"smtp inet n - n - 100 smtpd\n"
		"  -o smtpd_timeout=10s\n"
		"# a comment between\n"
		"\t-o { smtpd_banner = $myhostname ESMTP }\n"
		"\n"
		"qmgr unix n - n 300 1\n"
		"    qmgr -v\n");
	struct svc *s = &t->svcs[0];

	ck_assert_int_eq(t->count, 2);
	ck_assert_int_eq(s->argc, 5);
	ck_assert_str_eq(s->argv[0], "smtpd");
	ck_assert_str_eq(s->argv[1], "-o");
	ck_assert_str_eq(s->argv[2], "smtpd_timeout=10s");
	ck_assert_str_eq(s->argv[3], "-o");
	ck_assert_str_eq(s->argv[4], "smtpd_banner = $myhostname ESMTP");
	ck_assert_ptr_null(s->argv[5]);
	ck_assert_int_eq(s->line, 1);
	s = &t->svcs[1];
	ck_assert_int_eq(s->line, 6);
	ck_assert_int_eq(s->argc, 2);
	ck_assert_str_eq(s->argv[0], "qmgr");
	ck_assert_str_eq(s->argv[1], "-v");
	svc_table_free(&t);
}
END_TEST

START_TEST(test_crlf_and_empty)
{
	struct svc_table *t = parse_ok("smtp inet n - n - 1 smtpd\r\n"
				       "qmgr unix n - n - 1 qmgr");

	ck_assert_int_eq(t->count, 2);
	ck_assert_str_eq(t->svcs[0].argv[0], "smtpd");
	ck_assert_str_eq(t->svcs[1].argv[0], "qmgr");
	svc_table_free(&t);
	t = parse_ok("# nothing\n\n");
	ck_assert_int_eq(t->count, 0);
	svc_table_free(&t);
	t = parse_ok("");
	ck_assert_int_eq(t->count, 0);
	svc_table_free(&t);
}
END_TEST

START_TEST(test_same_name_other_type)
{
	struct svc_table *t = parse_ok("smtp inet n - n - - smtpd\n"
				       "smtp unix - - n - - smtp\n"
				       "127.0.0.1:25 inet n - n - - smtpd\n");

	ck_assert_int_eq(t->count, 3);
	svc_table_free(&t);
}
END_TEST

struct bad_case {
	const char *row;	/* placed on line 3 */
	const char *error;	/* after "t.cf:3: " */
};

static const struct bad_case bad_cases[] = {
	{ "x tcp n - n - 1 cmd",
	  "unknown service type \"tcp\" (expected inet or unix)" },
	{ "x unix x - n - 1 cmd",
	  "private: expected y, n or -, got \"x\"" },
	{ "x unix n - maybe - 1 cmd",
	  "chroot: expected y, n or -, got \"maybe\"" },
	{ "x unix n - Y - 1 cmd", "chroot: expected y, n or -, got \"Y\"" },
	{ "x unix n - n abc 1 cmd",
	  "wakeup: expected a number from 0 to 604800 or -, got \"abc\"" },
	{ "x unix n - n -5 1 cmd",
	  "wakeup: expected a number from 0 to 604800 or -, got \"-5\"" },
	{ "x unix n - n ? 1 cmd",
	  "wakeup: expected a number from 0 to 604800 or -, got \"?\"" },
	{ "x unix n - n - lots cmd",
	  "maxproc: expected a number from 0 to 100000 or -, got \"lots\"" },
	{ "x unix n - n - 999999 cmd",
	  "maxproc: expected a number from 0 to 100000 or -, got"
	  " \"999999\"" },
	{ "x unix n - n - +5 cmd",
	  "maxproc: expected a number from 0 to 100000 or -, got \"+5\"" },
	{ "x unix n - n - 1",
	  "missing command (a row is: service type private user chroot"
	  " wakeup maxproc command [args])" },
	{ "x unix",
	  "missing the private column (a row has 8 columns and the"
	  " command's arguments)" },
	{ "x", "missing the type column (a row has 8 columns and the"
	  " command's arguments)" },
	{ "*:smtp inet n - n - 1 cmd",
	  "duplicate service \"*:smtp\" (inet/*:smtp, first defined at"
	  " line 1)" },
	{ "qmgr unix - - n - 1 cmd",
	  "duplicate service \"qmgr\" (unix/qmgr, first defined at line 2)" },
	{ "host: inet n - n - 1 cmd",
	  "bad inet service \"host:\": missing port" },
	{ ":25 inet n - n - 1 cmd",
	  "bad inet service \":25\": missing host before \":\"" },
	{ "[::1 inet n - n - 1 cmd",
	  "bad inet service \"[::1\": missing \"]\"" },
	{ "[::1]25 inet n - n - 1 cmd",
	  "bad inet service \"[::1]25\": expected \":port\" after \"]\"" },
	{ "[::1]: inet n - n - 1 cmd",
	  "bad inet service \"[::1]:\": missing port" },
	{ "[zz::q]:25 inet n - n - 1 cmd",
	  "bad inet service \"[zz::q]:25\": bad IPv6 address \"zz::q\"" },
	{ "::1:25 inet n - n - 1 cmd",
	  "bad inet service \"::1:25\": an IPv6 address needs brackets,"
	  " like [::1]:25" },
	{ "0 inet n - n - 1 cmd",
	  "bad inet service \"0\": port 0 is not in 1-65535" },
	{ "99999 inet n - n - 1 cmd",
	  "bad inet service \"99999\": port 99999 is not in 1-65535" },
	{ "1.2.3.4:65536 inet n - n - 1 cmd",
	  "bad inet service \"1.2.3.4:65536\": port 65536 is not in"
	  " 1-65535" },
	{ "300.1.1.1:25 inet n - n - 1 cmd",
	  "bad inet service \"300.1.1.1:25\": bad IPv4 address"
	  " \"300.1.1.1\"" },
	{ "a/b:25 inet n - n - 1 cmd",
	  "bad inet service \"a/b:25\": bad host name \"a/b\"" },
	{ "x:sm/tp inet n - n - 1 cmd",
	  "bad inet service \"x:sm/tp\": bad port or service name"
	  " \"sm/tp\"" },
	{ "x:-1 inet n - n - 1 cmd",
	  "bad inet service \"x:-1\": bad port or service name \"-1\"" },
	{ "2525 inet y - n - 1 cmd",
	  "private: an inet service cannot be private" },
	{ "../x unix n - n - 1 cmd",
	  "bad unix service name \"../x\" (letters, digits, \"-_.\")" },
	{ ".x unix n - n - 1 cmd",
	  "bad unix service name \".x\" (letters, digits, \"-_.\")" },
	{ "x unix n -x n - 1 cmd", "user: bad user name \"-x\"" },
	{ "x unix n a/b n - 1 cmd", "user: bad user name \"a/b\"" },
	{ "x unix n - n - 1 cmd -o { a = b", "missing \"}\" after \"{\"" },
	{ "x unix n - n - 1 cmd -o {a}b", "text right after \"}\"" },
};

START_TEST(test_bad_rows)
{
	const struct bad_case *c = &bad_cases[_i];
	struct str text = STR_INIT, want = STR_INIT;

	str_printf(&text, "smtp inet n - n - - smtpd\n"
		   "qmgr unix n - n 300 1 qmgr\n"
		   "%s\n"
		   "last unix - - n - - last\n", c->row);
	str_printf(&want, "t.cf:3: %s", c->error);
	parse_fails(str_c(&text), str_c(&want));
	str_release(&text);
	str_release(&want);
}
END_TEST

START_TEST(test_error_lines)
{
	parse_fails("  -o x=y\n",
		    "t.cf:1: continuation line without a service row"
		    " before it");
	parse_fails("# c\n\n\tsmtpd\n",
		    "t.cf:3: continuation line without a service row"
		    " before it");
	/* A row continued over lines is reported where it starts. */
	parse_fails("# c\nx unix n - n -\n  lots\n  cmd\n",
		    "t.cf:2: maxproc: expected a number from 0 to 100000 or -,"
		    " got \"lots\"");
	parse_fails("a unix n - n - 1 a\n\n# c\nx unix n - n - 1\n",
		    "t.cf:4: missing command (a row is: service type private"
		    " user chroot wakeup maxproc command [args])");
}
END_TEST

START_TEST(test_load)
{
	char path[] = "/tmp/test_svc_XXXXXX";
	char *error = NULL;
	struct svc_table *t;
	FILE *fp;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	fp = fdopen(fd, "w");
	fputs(example, fp);
	fputs("bad unix n - n - 1\n", fp);
	fclose(fp);
	t = svc_load(path, &error);
	ck_assert_ptr_null(t);
	ck_assert(str_has_prefix(error, path));
	ck_assert_str_eq(error + strlen(path), ":6: missing command (a row"
			 " is: service type private user chroot wakeup"
			 " maxproc command [args])");
	mem_free(error);

	fp = fopen(path, "w");
	fputs(example, fp);
	fclose(fp);
	t = svc_load(path, &error);
	ck_assert_msg(t != NULL, "%s", error);
	ck_assert_int_eq(t->count, 4);
	ck_assert_str_eq(t->svcs[0].file, path);
	svc_table_free(&t);
	unlink(path);

	t = svc_load(path, &error);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(error, ": cannot open: No such file") != NULL,
		      "%s", error);
	mem_free(error);
}
END_TEST

static Suite *svc_suite(void)
{
	Suite *s = suite_create("svc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_defaults_and_numbers);
	tcase_add_loop_test(tc, test_inet_forms, 0,
			    sizeof(inet_cases) / sizeof(inet_cases[0]));
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_crlf_and_empty);
	tcase_add_test(tc, test_same_name_other_type);
	tcase_add_loop_test(tc, test_bad_rows, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_error_lines);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(svc_suite());
}
