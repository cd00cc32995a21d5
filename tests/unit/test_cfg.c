/*
 * test_cfg: correo.conf parsing, expansion, type checks and printing.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "mem.h"
#include "msg.h"
#include "str.h"
#include "test_util.h"

#define DIR "/etc/test-correo"

static struct cfg *parse_ok(const char *text)
{
	char *error = NULL;
	struct cfg *cfg = cfg_parse(text, "t.conf", DIR, &error);

	ck_assert_msg(cfg != NULL, "unexpected error: %s", error);
	return cfg;
}

static void parse_fails(const char *text, const char *expected)
{
	char *error = NULL;
	struct cfg *cfg = cfg_parse(text, "t.conf", DIR, &error);

	ck_assert_msg(cfg == NULL, "no error for: %s", text);
	ck_assert_str_eq(error, expected);
	free(error);
}

/* Run a parse with msg output sent to a file and return what was
 * logged. */
static char *parse_logged(const char *text, struct cfg **cfg_r)
{
	char path[] = "/tmp/test_cfg_msgXXXXXX";
	struct str log = STR_INIT;
	char *error = NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	tu_msg_capture_begin(path);
	*cfg_r = cfg_parse(text, "t.conf", DIR, &error);
	tu_msg_capture_end(path, &log);
	ck_assert_msg(*cfg_r != NULL, "unexpected error: %s", error);
	return str_steal(&log);
}

static char *print_to_string(struct cfg *cfg, char **keys, bool non_default)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(fp);
	cfg_print(cfg, fp, keys, non_default);
	fclose(fp);
	return buf;
}

START_TEST(test_basic)
{
	struct cfg *cfg = parse_ok(
		"# correo.conf\n"
		"\n"
		"queue_directory = /q\n"
		"   # an indented comment\n"
		"mail_owner=bob\n"
		"  \t \n"
		"smtpd_banner   =    hello   world   \n"
		"log_file =\n");

	ck_assert_str_eq(cfg_str(cfg, "queue_directory"), "/q");
	ck_assert_str_eq(cfg_str(cfg, "mail_owner"), "bob");
	ck_assert_str_eq(cfg_str(cfg, "smtpd_banner"), "hello   world");
	ck_assert_str_eq(cfg_str(cfg, "log_file"), "");
	ck_assert(cfg_is_set(cfg, "queue_directory"));
	ck_assert(cfg_is_set(cfg, "log_file"));
	ck_assert(!cfg_is_set(cfg, "max_use"));
	ck_assert(!cfg_is_set(cfg, "nosuch"));
	cfg_free(&cfg);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_defaults)
{
	struct cfg *cfg = parse_ok("");

	ck_assert_int_eq(cfg_int(cfg, "max_use"), 100);
	ck_assert_int_eq(cfg_time(cfg, "max_idle"), 100);
	ck_assert_int_eq(cfg_time(cfg, "maximal_queue_lifetime"), 5 * 86400);
	ck_assert(cfg_bool(cfg, "smtpd_forbid_bare_newline"));
	ck_assert(cfg_size(cfg, "message_size_limit") == 10240000);
	ck_assert_str_eq(cfg_str(cfg, "config_directory"), DIR);
	ck_assert_str_eq(cfg_str(cfg, "queue_directory"),
			 LOCALSTATEDIR "/spool/correo");
	ck_assert_str_eq(cfg_str(cfg, "alias_maps"), "hash:" DIR "/aliases");
	ck_assert_str_eq(cfg_str(cfg, "alias_database"),
			 "hash:" DIR "/aliases");
	ck_assert_str_eq(cfg_str(cfg, "master_pid_file"),
			 LOCALSTATEDIR "/spool/correo/pid/master.pid");
	ck_assert_str_eq(cfg_str(cfg, "mynetworks"), "127.0.0.0/8 [::1]/128");
	ck_assert_str_eq(cfg_default(cfg, "myorigin"), "$myhostname");
	ck_assert_str_eq(cfg_default(cfg, "config_directory"), DIR);
	ck_assert_ptr_null(cfg_default(cfg, "nosuch"));
	cfg_free(&cfg);
}
END_TEST

/* Every default in the table has the right type and expands. */
START_TEST(test_table_consistent)
{
	struct cfg *cfg = parse_ok("");
	const struct cfg_key *k;

	for (k = cfg_keys; k->name != NULL; k++) {
		ck_assert_ptr_eq(cfg_key_find(k->name), k);
		ck_assert_ptr_nonnull(k->doc);
		ck_assert_ptr_nonnull(k->def);
		switch (k->type) {
		case CFG_INT:
			cfg_int(cfg, k->name);
			break;
		case CFG_TIME:
			cfg_time(cfg, k->name);
			break;
		case CFG_SIZE:
			cfg_size(cfg, k->name);
			break;
		case CFG_BOOL:
			cfg_bool(cfg, k->name);
			break;
		case CFG_LIST:
			cfg_list(cfg, k->name);
			break;
		case CFG_STR:
			cfg_str(cfg, k->name);
			break;
		}
	}
	ck_assert_ptr_null(cfg_key_find("nosuch"));
	ck_assert_ptr_null(cfg_key_find(""));
	ck_assert_ptr_null(cfg_key_find("MAX_USE"));
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_hostname_defaults)
{
	char host[256];
	struct cfg *cfg = parse_ok("");

	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	str_lower(host);
	ck_assert_str_eq(cfg_str(cfg, "myhostname"), host);
	cfg_free(&cfg);

	cfg = parse_ok("myhostname = Mail.Example.COM\n");
	ck_assert_str_eq(cfg_str(cfg, "mydomain"), "Example.COM");
	ck_assert_str_eq(cfg_str(cfg, "myorigin"), "Mail.Example.COM");
	ck_assert_str_eq(cfg_str(cfg, "mydestination"),
			 "Mail.Example.COM, localhost.Example.COM, localhost");
	ck_assert_str_eq(cfg_str(cfg, "smtpd_banner"),
			 "Mail.Example.COM ESMTP correo");
	cfg_free(&cfg);

	cfg = parse_ok("myhostname = single\n");
	ck_assert_str_eq(cfg_str(cfg, "mydomain"), "localdomain");
	cfg_free(&cfg);

	cfg = parse_ok("myhostname = a.b.c\nmydomain = other.test\n");
	ck_assert_str_eq(cfg_str(cfg, "mydomain"), "other.test");
	cfg_free(&cfg);

	/* myhostname from mydomain's default must not loop. */
	cfg = parse_ok("myhostname = mx.$mydomain\n");
	ck_assert_str_eq(cfg_str(cfg, "myhostname"), "mx.localdomain");
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_continuation)
{
	struct cfg *cfg = parse_ok(
		"mydestination = a,\n"
		"  b,\n"
		"# a comment inside\n"
		"\tc\n"
		"myorigin =\n"
		"    x.test\n"
		"max_use = 7\n");
	char **list;

	ck_assert_str_eq(cfg_str(cfg, "mydestination"), "a, b, c");
	list = cfg_list(cfg, "mydestination");
	ck_assert_str_eq(list[0], "a");
	ck_assert_str_eq(list[1], "b");
	ck_assert_str_eq(list[2], "c");
	ck_assert_ptr_null(list[3]);
	ck_assert_str_eq(cfg_str(cfg, "myorigin"), "x.test");
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 7);
	cfg_free(&cfg);

	parse_fails("  max_use = 5\n",
		    "t.conf:1: continuation line without a \"key = value\""
		    " line before it");
	parse_fails("# c\n\n\tmax_use = 5\n",
		    "t.conf:3: continuation line without a \"key = value\""
		    " line before it");
	/* A continued value is checked at the line where it starts. */
	parse_fails("# c\nmax_use = 5\n  0 0\n",
		    "t.conf:2: max_use: expected a whole number like 100,"
		    " got \"5 0 0\"");
}
END_TEST

START_TEST(test_crlf_and_no_final_newline)
{
	struct cfg *cfg = parse_ok("max_use = 5\r\nmail_owner = m\r\n"
				   "syslog_name = s");

	ck_assert_int_eq(cfg_int(cfg, "max_use"), 5);
	ck_assert_str_eq(cfg_str(cfg, "mail_owner"), "m");
	ck_assert_str_eq(cfg_str(cfg, "syslog_name"), "s");
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_override)
{
	struct cfg *cfg = parse_ok("max_use = 5\nmax_use = 6\n");

	ck_assert_int_eq(cfg_int(cfg, "max_use"), 6);
	cfg_free(&cfg);
	/* The earlier, overridden value is never used, so never checked. */
	cfg = parse_ok("max_use = abc\nmax_use = 6\n");
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 6);
	cfg_free(&cfg);
	parse_fails("max_use = 5\nmax_use = abc\n",
		    "t.conf:2: max_use: expected a whole number like 100,"
		    " got \"abc\"");
}
END_TEST

START_TEST(test_syntax_errors)
{
	parse_fails("max_use = 5\nmax_use 5\n",
		    "t.conf:2: expected \"key = value\", got \"max_use 5\"");
	parse_fails("max use = 5\n",
		    "t.conf:1: bad parameter name \"max use\"");
	parse_fails("# x\n= 5\n", "t.conf:2: bad parameter name \"\"");
	parse_fails("max-use = 5\n",
		    "t.conf:1: bad parameter name \"max-use\"");
}
END_TEST

START_TEST(test_expansion)
{
	struct cfg *cfg = parse_ok(
		"myhostname = mx.example.org\n"
		"myorigin = $mydomain\n"
		"smtpd_banner = ${myhostname}ESMTP $$5 $myorigin.\n"
		"mail_owner = ${syslog_name}_$syslog_name\n"
		"syslog_name = sys\n");

	ck_assert_str_eq(cfg_str(cfg, "myorigin"), "example.org");
	ck_assert_str_eq(cfg_str(cfg, "smtpd_banner"),
			 "mx.example.orgESMTP $5 example.org.");
	/* Expansion sees the final value of a later line. */
	ck_assert_str_eq(cfg_str(cfg, "mail_owner"), "sys_sys");
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_expansion_at_lookup)
{
	struct cfg *cfg = parse_ok("myhostname = a.test\n");
	char *error = NULL;

	ck_assert_str_eq(cfg_str(cfg, "smtpd_banner"), "a.test ESMTP correo");
	ck_assert(cfg_set(cfg, "myhostname", "b.other", &error));
	ck_assert_str_eq(cfg_str(cfg, "smtpd_banner"), "b.other ESMTP correo");
	ck_assert_str_eq(cfg_str(cfg, "mydomain"), "other");
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_expansion_errors)
{
	parse_fails("# x\nmyorigin = $nosuch\n",
		    "t.conf:2: myorigin: unknown parameter \"$nosuch\"");
	parse_fails("myorigin = ${nosuch}.test\n",
		    "t.conf:1: myorigin: unknown parameter \"$nosuch\"");
	parse_fails("myorigin = $mydomain\nmydomain = $myorigin\n",
		    "t.conf:1: myorigin: loop in $expansion: myorigin ->"
		    " mydomain -> myorigin");
	parse_fails("myorigin = x$myorigin\n",
		    "t.conf:1: myorigin: loop in $expansion: myorigin ->"
		    " myorigin");
	parse_fails("max_use = 1\nmyorigin = $myhostname\n"
		    "myhostname = $mydomain\nmydomain = $myhostname\n",
		    "t.conf:2: myorigin: loop in $expansion: myhostname ->"
		    " mydomain -> myhostname");
	parse_fails("myorigin = a$ b\n",
		    "t.conf:1: myorigin: stray \"$\" (write \"$$\" for a"
		    " literal \"$\")");
	parse_fails("myorigin = a$\n",
		    "t.conf:1: myorigin: stray \"$\" (write \"$$\" for a"
		    " literal \"$\")");
	parse_fails("myorigin = ${myhostname\n",
		    "t.conf:1: myorigin: bad \"${\": expected a parameter"
		    " name and \"}\"");
	parse_fails("myorigin = ${}\n",
		    "t.conf:1: myorigin: stray \"$\" (write \"$$\" for a"
		    " literal \"$\")");
}
END_TEST

/* Doubling values must hit the length limit, not eat the memory. */
START_TEST(test_expansion_bounded)
{
	struct str text = STR_INIT;
	char *error = NULL;
	struct cfg *cfg;
	int i;

	str_append(&text, "p0 = xxxxxxxx\n");
	for (i = 1; i <= 40; i++)
		str_printf(&text, "p%d = $p%d$p%d\n", i, i - 1, i - 1);
	str_append(&text, "myorigin = $p40\n");
	cfg = cfg_parse(str_c(&text), "t.conf", DIR, &error);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(error, "t.conf:17: p16: value longer than") ==
		      error, "%s", error);
	free(error);
	str_release(&text);
}
END_TEST

struct type_case {
	const char *key;
	const char *value;
	const char *expect;	/* NULL: accepted */
};

static const struct type_case type_cases[] = {
	{ "max_use", "0", NULL },
	{ "max_use", "42", NULL },
	{ "max_use", "-1", "a whole number like 100" },
	{ "max_use", "12x", "a whole number like 100" },
	{ "max_use", "", "a whole number like 100" },
	{ "max_use", "99999999999999999999999", "a whole number like 100" },
	{ "max_idle", "10", NULL },
	{ "max_idle", "5m", NULL },
	{ "max_idle", "1w", NULL },
	{ "max_idle", "abc", "a time like 300s or 5m" },
	{ "max_idle", "5x", "a time like 300s or 5m" },
	{ "max_idle", "-5s", "a time like 300s or 5m" },
	{ "max_idle", "s", "a time like 300s or 5m" },
	{ "message_size_limit", "10k", NULL },
	{ "message_size_limit", "2G", NULL },
	{ "message_size_limit", "lots", "a size like 10240000 or 10m" },
	{ "message_size_limit", "1.5m", "a size like 10240000 or 10m" },
	{ "smtpd_forbid_bare_newline", "no", NULL },
	{ "smtpd_forbid_bare_newline", "true", NULL },
	{ "smtpd_forbid_bare_newline", "maybe", "yes or no" },
	{ "smtpd_forbid_bare_newline", "", "yes or no" },
	{ "mynetworks", "anything, at all", NULL },
	{ "smtpd_banner", "$$ anything", NULL },
};

START_TEST(test_types)
{
	const struct type_case *tc = &type_cases[_i];
	struct str text = STR_INIT, want = STR_INIT;
	char *error = NULL;
	struct cfg *cfg;

	str_printf(&text, "# one\nmax_use = 1\n%s = %s\n", tc->key, tc->value);
	cfg = cfg_parse(str_c(&text), "t.conf", DIR, &error);
	if (tc->expect == NULL) {
		ck_assert_msg(cfg != NULL, "%s", error);
		cfg_free(&cfg);
	} else {
		str_printf(&want, "t.conf:3: %s: expected %s, got \"%s\"",
			   tc->key, tc->expect, tc->value);
		ck_assert_ptr_null(cfg);
		ck_assert_str_eq(error, str_c(&want));
		free(error);
	}
	str_release(&text);
	str_release(&want);
}
END_TEST

START_TEST(test_typed_values)
{
	struct cfg *cfg = parse_ok(
		"max_idle = 5m\n"
		"smtpd_timeout = 2h\n"
		"ipc_timeout = 1d\n"
		"daemon_timeout = 90\n"
		"queue_run_delay = $max_idle\n"
		"message_size_limit = 10k\n"
		"smtpd_forbid_bare_newline = no\n"
		"max_use = 0\n");

	ck_assert_int_eq(cfg_time(cfg, "max_idle"), 300);
	ck_assert_int_eq(cfg_time(cfg, "smtpd_timeout"), 7200);
	ck_assert_int_eq(cfg_time(cfg, "ipc_timeout"), 86400);
	ck_assert_int_eq(cfg_time(cfg, "daemon_timeout"), 90);
	ck_assert_int_eq(cfg_time(cfg, "queue_run_delay"), 300);
	ck_assert(cfg_size(cfg, "message_size_limit") == 10240);
	ck_assert(!cfg_bool(cfg, "smtpd_forbid_bare_newline"));
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 0);
	/* Any type reads as its text. */
	ck_assert_str_eq(cfg_str(cfg, "max_idle"), "5m");
	cfg_free(&cfg);

	/* Types are checked after expansion, at the line that uses it. */
	parse_fails("myorigin = abc\nmax_idle = $myorigin\n",
		    "t.conf:2: max_idle: expected a time like 300s or 5m,"
		    " got \"abc\"");
}
END_TEST

START_TEST(test_unknown_key_warning)
{
	struct cfg *cfg;
	char *log = parse_logged("max_use = 3\n"
				 "smtpd_banenr = hi\n"
				 "zzzqqqxxx = 1\n"
				 "MAX_IDLE = 5\n"
				 "my_var = v.test\n"
				 "myorigin = $my_var\n", &cfg);

	ck_assert_msg(strstr(log, "warning: t.conf:2: unknown parameter"
			     " \"smtpd_banenr\" (did you mean"
			     " \"smtpd_banner\"?)\n") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "warning: t.conf:3: unknown parameter"
			     " \"zzzqqqxxx\"\n") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "warning: t.conf:4: unknown parameter"
			     " \"MAX_IDLE\" (did you mean \"max_idle\"?)\n") !=
		      NULL, "%s", log);
	/* A user-defined parameter that is used is not a typo. */
	ck_assert_msg(strstr(log, "my_var") == NULL, "%s", log);
	ck_assert_str_eq(cfg_str(cfg, "myorigin"), "v.test");
	ck_assert(cfg_is_set(cfg, "my_var"));
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 3);
	free(log);
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_config_directory_ignored)
{
	struct cfg *cfg;
	char *log = parse_logged("config_directory = /elsewhere\n", &cfg);

	ck_assert_msg(strstr(log, "warning: t.conf:1: config_directory is the"
			     " directory the file was read from; ignoring"
			     " \"/elsewhere\"\n") != NULL, "%s", log);
	ck_assert_str_eq(cfg_str(cfg, "config_directory"), DIR);
	ck_assert(!cfg_is_set(cfg, "config_directory"));
	free(log);
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_nearest)
{
	ck_assert_str_eq(cfg_key_nearest("smtpd_banenr"), "smtpd_banner");
	ck_assert_str_eq(cfg_key_nearest("max_usr"), "max_use");
	ck_assert_str_eq(cfg_key_nearest("quue_directory"), "queue_directory");
	ck_assert_str_eq(cfg_key_nearest("MYHOSTNAME"), "myhostname");
	ck_assert_str_eq(cfg_key_nearest("max_use"), "max_use");
	ck_assert_ptr_null(cfg_key_nearest("xyzzy"));
	ck_assert_ptr_null(cfg_key_nearest("smtpd"));
	ck_assert_ptr_null(cfg_key_nearest(""));
}
END_TEST

START_TEST(test_set)
{
	struct cfg *cfg = parse_ok("max_use = 5\nmyorigin = $mydomain\n");
	char *error = NULL;

	ck_assert(cfg_set(cfg, "max_use", "9", &error));
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 9);
	ck_assert(cfg_set(cfg, "max_idle", "$ipc_timeout", &error));
	ck_assert_int_eq(cfg_time(cfg, "max_idle"), 3600);
	ck_assert(cfg_is_set(cfg, "max_idle"));

	ck_assert(!cfg_set(cfg, "max_use", "x", &error));
	ck_assert_str_eq(error, "max_use: expected a whole number like 100,"
			 " got \"x\"");
	mem_free(error);
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 9);

	ck_assert(!cfg_set(cfg, "nosuch", "1", &error));
	ck_assert_str_eq(error, "unknown parameter \"nosuch\"");
	mem_free(error);

	ck_assert(!cfg_set(cfg, "mydomain", "$myorigin", &error));
	ck_assert_str_eq(error, "mydomain: loop in $expansion: mydomain ->"
			 " myorigin -> mydomain");
	mem_free(error);
	ck_assert(!cfg_is_set(cfg, "mydomain"));
	ck_assert_str_eq(cfg_str(cfg, "myorigin"), cfg_str(cfg, "mydomain"));

	ck_assert(cfg_set_assignment(cfg, "smtpd_banner = $$ ${max_use} x ",
				     &error));
	ck_assert_str_eq(cfg_str(cfg, "smtpd_banner"), "$ 9 x");
	ck_assert(cfg_set_assignment(cfg, "max_use=12", &error));
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 12);
	ck_assert(!cfg_set_assignment(cfg, "max_use 12", &error));
	ck_assert_str_eq(error, "expected \"key=value\", got \"max_use 12\"");
	mem_free(error);
	ck_assert(!cfg_set_assignment(cfg, "max_use=", &error));
	ck_assert_str_eq(error, "max_use: expected a whole number like 100,"
			 " got \"\"");
	mem_free(error);
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_list)
{
	struct cfg *cfg = parse_ok(
		"mynetworks = 10.0.0.0/8,192.168.0.0/16  [::1]/128 ,, x\n"
		"  y\n"
		"virtual_mailbox_domains = ,\n");
	char **list = cfg_list(cfg, "mynetworks");

	ck_assert_str_eq(list[0], "10.0.0.0/8");
	ck_assert_str_eq(list[1], "192.168.0.0/16");
	ck_assert_str_eq(list[2], "[::1]/128");
	ck_assert_str_eq(list[3], "x");
	ck_assert_str_eq(list[4], "y");
	ck_assert_ptr_null(list[5]);
	ck_assert_ptr_eq(cfg_list(cfg, "mynetworks"), list);
	list = cfg_list(cfg, "virtual_mailbox_domains");
	ck_assert_ptr_null(list[0]);
	list = cfg_list(cfg, "virtual_alias_maps");
	ck_assert_ptr_null(list[0]);
	list = cfg_list(cfg, "allow_mail_to_files");
	ck_assert_str_eq(list[0], "alias");
	ck_assert_str_eq(list[1], "forward");
	ck_assert_ptr_null(list[2]);
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_list_braces)
{
	struct cfg *cfg = parse_ok(
		"virtual_alias_maps = inline:{ a@x=b@y, { c@x = d e } },"
		" hash:/t/v inline:{unclosed, x\n");
	char **list = cfg_list(cfg, "virtual_alias_maps");

	ck_assert_str_eq(list[0], "inline:{ a@x=b@y, { c@x = d e } }");
	ck_assert_str_eq(list[1], "hash:/t/v");
	ck_assert_str_eq(list[2], "inline:{unclosed, x");
	ck_assert_ptr_null(list[3]);
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_print)
{
	struct cfg *cfg = parse_ok("myorigin = $mydomain\nmax_use = 5\n"
				   "myhostname = h.example.com\n"
				   "log_file =\n");
	char *keys[] = { "max_use", "mydomain", "log_file", NULL };
	char *out, *line;
	int lines = 0, nkeys = 0;

	out = print_to_string(cfg, NULL, true);
	ck_assert_str_eq(out, "log_file =\n"
			 "max_use = 5\n"
			 "myhostname = h.example.com\n"
			 "myorigin = example.com\n");
	free(out);
	out = print_to_string(cfg, keys, false);
	ck_assert_str_eq(out, "max_use = 5\nmydomain = example.com\n"
			 "log_file =\n");
	free(out);
	out = print_to_string(cfg, keys, true);
	ck_assert_str_eq(out, "max_use = 5\nlog_file =\n");
	free(out);

	out = print_to_string(cfg, NULL, false);
	for (line = out; (line = strchr(line, '\n')) != NULL; line++)
		lines++;
	while (cfg_keys[nkeys].name != NULL)
		nkeys++;
	ck_assert_int_eq(lines, nkeys);
	ck_assert(strstr(out, "\nsmtpd_banner = h.example.com ESMTP correo\n")
		  != NULL);
	ck_assert(strstr(out, "\nconfig_directory = " DIR "\n") != NULL);
	/* Sorted by name. */
	ck_assert(strstr(out, "alias_database =") < strstr(out,
							  "alias_maps ="));
	free(out);
	cfg_free(&cfg);
}
END_TEST

START_TEST(test_load)
{
	char dir[] = "/tmp/test_cfg_dirXXXXXX";
	char real[PATH_MAX];
	struct str path = STR_INIT;
	char *error = NULL;
	struct cfg *cfg;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_ptr_nonnull(realpath(dir, real));
	str_printf(&path, "%s/correo.conf", dir);
	cfg = cfg_load(str_c(&path), &error);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(error, ": cannot open: No such file") != NULL,
		      "%s", error);
	mem_free(error);

	fp = fopen(str_c(&path), "w");
	ck_assert_ptr_nonnull(fp);
	fputs("max_use = 3\nqueue_directory = $config_directory/queue\n"
	      "max_idle = never\n", fp);
	fclose(fp);
	cfg = cfg_load(str_c(&path), &error);
	ck_assert_ptr_null(cfg);
	ck_assert(str_has_prefix(error, str_c(&path)));
	ck_assert_str_eq(error + path.len, ":3: max_idle: expected a time"
			 " like 300s or 5m, got \"never\"");
	mem_free(error);

	fp = fopen(str_c(&path), "w");
	fputs("max_use = 3\nqueue_directory = $config_directory/queue\n", fp);
	fclose(fp);
	cfg = cfg_load(str_c(&path), &error);
	ck_assert_msg(cfg != NULL, "%s", error);
	ck_assert_str_eq(cfg_str(cfg, "config_directory"), real);
	ck_assert(str_has_prefix(cfg_str(cfg, "queue_directory"), real));
	ck_assert_int_eq(cfg_int(cfg, "max_use"), 3);
	cfg_free(&cfg);
	unlink(str_c(&path));
	rmdir(dir);
	str_release(&path);
}
END_TEST

START_TEST(test_panic_undeclared)
{
	struct cfg *cfg = parse_ok("");

	cfg_int(cfg, "nosuch");
}
END_TEST

START_TEST(test_panic_wrong_type)
{
	struct cfg *cfg = parse_ok("");

	cfg_int(cfg, "max_idle");
}
END_TEST

START_TEST(test_panic_user_defined)
{
	struct cfg *cfg = parse_ok("x = 1\nmyorigin = $x\n");

	cfg_str(cfg, "x");
}
END_TEST

static Suite *cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_table_consistent);
	tcase_add_test(tc, test_hostname_defaults);
	tcase_add_test(tc, test_continuation);
	tcase_add_test(tc, test_crlf_and_no_final_newline);
	tcase_add_test(tc, test_override);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_expansion);
	tcase_add_test(tc, test_expansion_at_lookup);
	tcase_add_test(tc, test_expansion_errors);
	tcase_add_test(tc, test_expansion_bounded);
	tcase_add_loop_test(tc, test_types, 0,
			    sizeof(type_cases) / sizeof(type_cases[0]));
	tcase_add_test(tc, test_typed_values);
	tcase_add_test(tc, test_unknown_key_warning);
	tcase_add_test(tc, test_config_directory_ignored);
	tcase_add_test(tc, test_nearest);
	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_braces);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	tc = tcase_create("panic");
	tcase_add_test_raise_signal(tc, test_panic_undeclared, SIGABRT);
	tcase_add_test_raise_signal(tc, test_panic_wrong_type, SIGABRT);
	tcase_add_test_raise_signal(tc, test_panic_user_defined, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(cfg_suite());
}
