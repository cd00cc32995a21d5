/*
 * Unit tests for the dict_ lookup tables (common/dict*.c) and for the
 * "correo map" command built on them (tools/correo_map.c): the source
 * format and its errors with line numbers, hash:, btree: and lmdb: files
 * and their atomic rebuild seen by an open table, texthash:, inline:, type
 * and name errors.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dict.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "str.h"

#include "test_util.h"

#include "../../tools/correo.h"

static char tmpdir[64];

static void setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "test_dict");
}

static void teardown(void)
{
	tu_rmtree(tmpdir);
}

static const char *path_in(const char *name)
{
	return tu_path(tmpdir, name);
}

static const char *spec_of(const char *type, const char *name)
{
	static char buf[8][600];
	static int which;

	which = (which + 1) % 8;
	ck_assert(str_snprintf(buf[which], sizeof(buf[which]), "%s:%s", type,
			       path_in(name)));
	return buf[which];
}

/* The file a built table of type lives in: NAME.db or NAME.lmdb. */
static const char *table_file(const char *type, const char *name)
{
	static char buf[4][600];
	static int which;

	which = (which + 1) % 4;
	ck_assert(str_snprintf(buf[which], sizeof(buf[which]), "%s.%s", name,
			       strcmp(type, "lmdb") == 0 ? "lmdb" : "db"));
	return path_in(buf[which]);
}

static void write_source(const char *name, const char *text, mode_t mode)
{
	tu_write_file(path_in(name), text, mode);
}

static struct dict *open_ok(const char *spec)
{
	char *error = NULL;
	struct dict *dict = dict_open(spec, &error);

	if (dict == NULL)
		ck_abort_msg("dict_open(%s): %s", spec, error);
	ck_assert_str_eq(dict_name(dict), spec);
	return dict;
}

/* dict_open must fail with a message containing want. */
static void open_fails(const char *spec, const char *want)
{
	char *error = NULL;
	struct dict *dict = dict_open(spec, &error);

	ck_assert_msg(dict == NULL, "dict_open(%s) succeeded", spec);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, want) != NULL, "%s: \"%s\" lacks \"%s\"",
		      spec, error, want);
	free(error);
}

static void build_ok(const char *type, const char *name)
{
	char *error = NULL;

	if (!dict_build(type, path_in(name), &error))
		ck_abort_msg("dict_build(%s): %s", name, error);
}

static void build_fails(const char *type, const char *name,
			const char *want)
{
	char *error = NULL;

	ck_assert(!dict_build(type, path_in(name), &error));
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, want) != NULL, "\"%s\" lacks \"%s\"",
		      error, want);
	free(error);
}

/* Look key up; want NULL means "not found". */
static void expect(struct dict *dict, const char *key, const char *want)
{
	struct str value = STR_INIT;
	const char *error = NULL;
	int ret;

	str_set(&value, "stale");
	ret = dict_lookup(dict, key, &value, &error);
	ck_assert_msg(ret >= 0, "lookup %s: %s", key, error);
	if (want == NULL) {
		ck_assert_msg(ret == 0, "%s: found \"%s\"", key,
			      str_c(&value));
	} else {
		ck_assert_msg(ret == 1, "%s: not found", key);
		ck_assert_str_eq(str_c(&value), want);
		ck_assert_uint_eq(value.len, strlen(want));
	}
	str_release(&value);
}

static const char basic_source[] =
	"# a comment line\n"
	"alice\tbob@example.test\n"
	"Carol:   carol@x.test, dave@x.test   \n"
	"\n"
	"multi first\n"
	"  second\n"
	"   # a comment inside does not end the entry\n"
	"\tthird\n"
	"[MX.test]:587 user:password\n"
	"2001:db8::1 OK\n"
	"crlf value\r\n"
	"listhead:\n"
	"  only-on-continuation\n"
	"last no-newline";

static void expect_basic(struct dict *dict)
{
	expect(dict, "alice", "bob@example.test");
	expect(dict, "ALICE", "bob@example.test");
	expect(dict, "carol", "carol@x.test, dave@x.test");
	expect(dict, "cArOl", "carol@x.test, dave@x.test");
	expect(dict, "multi", "first second third");
	expect(dict, "[mx.test]:587", "user:password");
	expect(dict, "2001:db8::1", "OK");
	expect(dict, "crlf", "value");
	expect(dict, "listhead", "only-on-continuation");
	expect(dict, "last", "no-newline");
	expect(dict, "bob", NULL);
	expect(dict, "#", NULL);
	expect(dict, "# a comment line", NULL);
	expect(dict, "", NULL);
	expect(dict, "alic", NULL);
	expect(dict, "alice ", NULL);
}

START_TEST(test_hash_build_and_lookup)
{
	struct dict *dict;

	write_source("aliases", basic_source, 0644);
	build_ok("hash", "aliases");
	dict = open_ok(spec_of("hash", "aliases"));
	expect_basic(dict);
	dict_close(&dict);
	ck_assert_ptr_null(dict);
	dict_close(&dict);		/* closing NULL is a no-op */
	/* Only the source and the .db: no temporary files. */
	ck_assert_int_eq(tu_count_entries(tmpdir), 2);
}
END_TEST

START_TEST(test_btree_build_and_lookup)
{
	struct dict *dict;

	write_source("access", basic_source, 0644);
	build_ok("btree", "access");
	dict = open_ok(spec_of("btree", "access"));
	expect_basic(dict);
	dict_close(&dict);
	/* The type is part of the file: a btree is not a hash. */
	open_fails(spec_of("hash", "access"), "is it a hash table");
	open_fails(spec_of("HASH", "access"), "access.db");
}
END_TEST

START_TEST(test_lmdb_build_and_lookup)
{
	struct dict *dict;
	struct stat st;

	write_source("aliases", basic_source, 0644);
	build_ok("lmdb", "aliases");
	ck_assert_int_eq(stat(path_in("aliases.lmdb"), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	dict = open_ok(spec_of("lmdb", "aliases"));
	expect_basic(dict);
	/* A key longer than LMDB's key limit is simply not there. */
	{
		char big[2000];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		expect(dict, big, NULL);
	}
	dict_close(&dict);
	/* Only the source and the .lmdb: no lock or temporary files. */
	ck_assert_int_eq(tu_count_entries(tmpdir), 2);
	/* An lmdb file is not a hash table, nor a hash file an lmdb one. */
	build_ok("hash", "aliases");
	open_fails(spec_of("lmdb", "nosuch"), "nosuch.lmdb");
	ck_assert_int_eq(rename(path_in("aliases.db"),
				path_in("fake.lmdb")), 0);
	open_fails(spec_of("lmdb", "fake"), "is it an lmdb table");
	ck_assert_int_eq(rename(path_in("aliases.lmdb"),
				path_in("fake2.db")), 0);
	open_fails(spec_of("hash", "fake2"), "fake2.db");
}
END_TEST

/* A key longer than LMDB allows stops the build with its line; the
 * old table and no temporary file are left. */
START_TEST(test_lmdb_long_key)
{
	struct str src = STR_INIT;
	struct dict *dict;

	write_source("t", "a old\n", 0644);
	build_ok("lmdb", "t");
	str_append(&src, "a new\nb x\n");
	for (int i = 0; i < 600; i++)
		str_append_c(&src, 'k');
	str_append(&src, " value\n");
	write_source("t", str_c(&src), 0644);
	build_fails("lmdb", "t", "t:3: write ");
	build_fails("lmdb", "t", "an lmdb key is at most 511 bytes");
	ck_assert_int_eq(tu_count_entries(tmpdir), 2);
	dict = open_ok(spec_of("lmdb", "t"));
	expect(dict, "a", "old");
	dict_close(&dict);
	/* Berkeley DB has no such limit. */
	build_ok("hash", "t");
	str_release(&src);
}
END_TEST

/* Keys and values carry their NUL, keys folded, as in hash: files. */
START_TEST(test_lmdb_file_format)
{
	FILE *fp;
	char buf[65536];
	size_t n;

	write_source("fmt", "Key Value\n", 0644);
	build_ok("lmdb", "fmt");
	fp = fopen(path_in("fmt.lmdb"), "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	ck_assert(memmem(buf, n, "key\0", 4) != NULL);
	ck_assert(memmem(buf, n, "Value\0", 6) != NULL);
	ck_assert(memmem(buf, n, "Key", 3) == NULL);
}
END_TEST

START_TEST(test_texthash_lookup)
{
	struct dict *dict;

	write_source("vusers", basic_source, 0644);
	dict = open_ok(spec_of("texthash", "vusers"));
	expect_basic(dict);
	dict_close(&dict);
}
END_TEST

/* The .db file's bytes follow the Postfix convention: lower-case key
 * and value both with their NUL. Read it with Berkeley DB directly. */
START_TEST(test_hash_file_format)
{
	write_source("fmt", "Key Value\n", 0644);
	build_ok("hash", "fmt");
	{
		FILE *fp = fopen(path_in("fmt.db"), "r");
		char buf[65536];
		size_t n;

		ck_assert_ptr_nonnull(fp);
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		ck_assert(memmem(buf, n, "key\0", 4) != NULL);
		ck_assert(memmem(buf, n, "Value\0", 6) != NULL);
		ck_assert(memmem(buf, n, "Key", 3) == NULL);
	}
}
END_TEST

struct collect {
	struct str all;
	int count, stop_after;
};

static bool collect_cb(const char *key, const char *value, void *ctx)
{
	struct collect *c = ctx;

	str_printf(&c->all, "[%s=%s]", key, value);
	return ++c->count != c->stop_after;
}

static void iterate_ok(struct dict *dict, struct collect *c)
{
	const char *error = NULL;

	str_clear(&c->all);
	c->count = 0;
	if (!dict_iterate(dict, collect_cb, c, &error))
		ck_abort_msg("iterate: %s", error);
}

START_TEST(test_iterate_every_entry)
{
	static const char *const types[] = {
		"hash", "btree", "lmdb", "texthash"
	};
	struct collect c = { STR_INIT, 0, 0 };
	struct dict *dict;
	size_t i;

	write_source("src", "b 2\nA 1\nc three\n  more\n", 0644);
	for (i = 0; i < 4; i++) {
		if (strcmp(types[i], "texthash") != 0)
			build_ok(types[i], "src");
		dict = open_ok(spec_of(types[i], "src"));
		c.stop_after = 0;
		iterate_ok(dict, &c);
		ck_assert_int_eq(c.count, 3);
		ck_assert(strstr(c.all.data, "[a=1]") != NULL);
		ck_assert(strstr(c.all.data, "[b=2]") != NULL);
		ck_assert(strstr(c.all.data, "[c=three more]") != NULL);
		if (strcmp(types[i], "btree") == 0 ||	/* sorted keys */
		    strcmp(types[i], "lmdb") == 0)
			ck_assert_str_eq(c.all.data,
					 "[a=1][b=2][c=three more]");
		if (strcmp(types[i], "texthash") == 0)	/* source order */
			ck_assert_str_eq(c.all.data,
					 "[b=2][a=1][c=three more]");
		/* The callback stops the walk. */
		c.stop_after = 2;
		iterate_ok(dict, &c);
		ck_assert_int_eq(c.count, 2);
		dict_close(&dict);
		ck_assert(unlink(table_file(types[i], "src")) == 0 ||
			  i == 3);
	}
	str_release(&c.all);
}
END_TEST

START_TEST(test_many_entries)
{
	static const char *const types[] = {
		"hash", "btree", "lmdb", "texthash"
	};
	struct str src = STR_INIT;
	struct dict *dict;
	char key[32], value[32];
	size_t i, t;

	for (i = 0; i < 3000; i++)
		str_printf(&src, "Key%zu value-%zu\n", i, i * 7);
	write_source("big", str_c(&src), 0644);
	str_release(&src);
	for (t = 0; t < 4; t++) {
		if (strcmp(types[t], "texthash") != 0)
			build_ok(types[t], "big");
		dict = open_ok(spec_of(types[t], "big"));
		for (i = 0; i < 3000; i++) {
			ck_assert(str_snprintf(key, sizeof(key), "KEY%zu", i));
			ck_assert(str_snprintf(value, sizeof(value),
					       "value-%zu", i * 7));
			expect(dict, key, value);
		}
		expect(dict, "key3000", NULL);
		dict_close(&dict);
	}
}
END_TEST

/* A rebuild (by another process, "correo map") is seen by a table that
 * was open before it, on a lookup after the once-a-second check. */
static void rebuild_seen(const char *type)
{
	struct dict *dict;
	struct stat st1, st2;

	write_source("t", "key old\ngone here\n", 0644);
	build_ok(type, "t");
	ck_assert_int_eq(stat(table_file(type, "t"), &st1), 0);
	dict = open_ok(spec_of(type, "t"));
	expect(dict, "key", "old");
	write_source("t", "key new\nadded yes\n", 0644);
	build_ok(type, "t");
	ck_assert_int_eq(stat(table_file(type, "t"), &st2), 0);
	/* A new file, not a rewrite in place. */
	ck_assert(st1.st_ino != st2.st_ino);
	usleep(1100 * 1000);
	expect(dict, "key", "new");
	expect(dict, "added", "yes");
	expect(dict, "gone", NULL);
	/* No change: the same contents keep being served. */
	usleep(1100 * 1000);
	expect(dict, "key", "new");
	dict_close(&dict);
	ck_assert_int_eq(tu_count_entries(tmpdir), 2);
}

START_TEST(test_rebuild_seen_hash)
{
	rebuild_seen("hash");
}
END_TEST

START_TEST(test_rebuild_seen_btree)
{
	rebuild_seen("btree");
}
END_TEST

START_TEST(test_rebuild_seen_lmdb)
{
	rebuild_seen("lmdb");
}
END_TEST

/* A lookup that finds nothing checks for a rebuild at once, whatever
 * the once-a-second limit: a user just added is found by the next
 * lookup (smtpd accepted him; qmgr must not bounce him). A lookup that
 * finds its key keeps the rate limit. */
static void miss_forces_check(const char *type)
{
	struct dict *dict;

	write_source("t", "key old\n", 0644);
	build_ok(type, "t");
	dict = open_ok(spec_of(type, "t"));
	expect(dict, "key", "old");
	expect(dict, "newuser", NULL);
	write_source("t", "key new\nnewuser yes\n", 0644);
	build_ok(type, "t");
	/* Well within the second since open: a hit is served from the
	 * old file... */
	expect(dict, "key", "old");
	/* ...a miss looks again and finds the new key... */
	expect(dict, "newuser", "yes");
	/* ...and from then on the new file serves every key. */
	expect(dict, "key", "new");
	/* A miss with no rebuild stays a miss. */
	expect(dict, "nobody", NULL);
	expect(dict, "newuser", "yes");
	dict_close(&dict);
}

START_TEST(test_miss_forces_check_hash)
{
	miss_forces_check("hash");
}
END_TEST

START_TEST(test_miss_forces_check_btree)
{
	miss_forces_check("btree");
}
END_TEST

START_TEST(test_miss_forces_check_lmdb)
{
	miss_forces_check("lmdb");
}
END_TEST

/* A rebuilt table that cannot be opened is an error for the lookup that
 * notices it; the old contents keep being served afterwards. */
START_TEST(test_rebuild_broken)
{
	struct dict *dict;
	const char *error = NULL;
	struct str value = STR_INIT;

	write_source("t", "key old\n", 0644);
	build_ok("hash", "t");
	dict = open_ok(spec_of("hash", "t"));
	write_source("t.db", "this is not a database\n", 0644);
	usleep(1100 * 1000);
	ck_assert_int_eq(dict_lookup(dict, "key", &value, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, "t.db") != NULL, "%s", error);
	expect(dict, "key", "old");
	/* Removed by hand: the open table keeps working. */
	ck_assert_int_eq(unlink(path_in("t.db")), 0);
	usleep(1100 * 1000);
	expect(dict, "key", "old");
	dict_close(&dict);
	str_release(&value);
}
END_TEST

START_TEST(test_rebuild_broken_lmdb)
{
	struct dict *dict;
	const char *error = NULL;
	struct str value = STR_INIT;

	write_source("t", "key old\n", 0644);
	build_ok("lmdb", "t");
	dict = open_ok(spec_of("lmdb", "t"));
	write_source("t.lmdb", "this is not a database\n", 0644);
	usleep(1100 * 1000);
	ck_assert_int_eq(dict_lookup(dict, "key", &value, &error), -1);
	ck_assert_msg(strstr(error, "t.lmdb") != NULL, "%s", error);
	expect(dict, "key", "old");
	dict_close(&dict);
	str_release(&value);
}
END_TEST

/* A failed build leaves the old table in place and no temporary file. */
START_TEST(test_failed_build_keeps_old)
{
	struct dict *dict;

	write_source("t", "key old\n", 0644);
	build_ok("hash", "t");
	build_ok("lmdb", "t");
	write_source("t", "key new\nbroken\n", 0644);
	build_fails("hash", "t", ":2: missing value for key \"broken\"");
	build_fails("lmdb", "t", ":2: missing value for key \"broken\"");
	ck_assert_int_eq(tu_count_entries(tmpdir), 3);
	dict = open_ok(spec_of("hash", "t"));
	expect(dict, "key", "old");
	dict_close(&dict);
	dict = open_ok(spec_of("lmdb", "t"));
	expect(dict, "key", "old");
	dict_close(&dict);
}
END_TEST

START_TEST(test_build_mode)
{
	struct stat st;

	write_source("public", "a b\n", 0644);
	build_ok("hash", "public");
	ck_assert_int_eq(stat(path_in("public.db"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	write_source("private", "a b\n", 0640);
	build_ok("btree", "private");
	ck_assert_int_eq(stat(path_in("private.db"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	write_source("secret", "a b\n", 0600);
	build_ok("hash", "secret");
	ck_assert_int_eq(stat(path_in("secret.db"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* Executable bits are not copied. */
	write_source("odd", "a b\n", 0750);
	build_ok("hash", "odd");
	ck_assert_int_eq(stat(path_in("odd.db"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	/* lmdb: the same rule. */
	build_ok("lmdb", "secret");
	ck_assert_int_eq(stat(path_in("secret.lmdb"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	build_ok("lmdb", "public");
	ck_assert_int_eq(stat(path_in("public.lmdb"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
}
END_TEST

static bool discard_cb(const char *key, const char *value, void *ctx)
{
	return true;
}

START_TEST(test_source_errors)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "  indented first\n", "src:1: continuation line" },
		{ "# c\n\n\tcont\n", "src:3: continuation line" },
		{ "a b\nlonely\nc d\n", "src:2: missing value for key "
		  "\"lonely\"" },
		{ "a b\n\nLonely:   \n# c\n", "src:3: missing value for key "
		  "\"lonely\"" },
		{ "a b\n: value\n", "src:2: missing key" },
		{ "a b\nc d\nlast", "src:3: missing value for key \"last\"" },
	};
	size_t i;
	char *error;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_source("src", cases[i].text, 0644);
		build_fails("hash", "src", cases[i].want);
		build_fails("btree", "src", cases[i].want);
		build_fails("lmdb", "src", cases[i].want);
		open_fails(spec_of("texthash", "src"), cases[i].want);
		/* The message starts with the path as given. */
		ck_assert(!dict_parse_source(path_in("src"), discard_cb, NULL,
					     &error));
		ck_assert(str_has_prefix(error, path_in("src:")));
		free(error);
	}
	ck_assert_int_eq(tu_count_entries(tmpdir), 1);
	/* A NUL byte is refused, with its line. */
	ck_assert(safe_write_file(path_in("src"), "a b\nc\0d e\n", 10, 0644));
	build_fails("hash", "src", "src:2: NUL byte");
}
END_TEST

static bool refuse_second(const char *key, const char *value, void *ctx)
{
	int *n = ctx;

	return ++*n < 2;
}

static bool record_cb(const char *key, const char *value, void *ctx)
{
	str_printf(ctx, "%s=%s;", key, value);
	return true;
}

START_TEST(test_parse_source_callbacks)
{
	struct str got = STR_INIT;
	char *error = NULL;
	int n = 0;

	write_source("src", "One 1\ntwo 2\nthree 3\n", 0644);
	ck_assert(dict_parse_source(path_in("src"), record_cb, &got, &error));
	ck_assert_str_eq(str_c(&got), "one=1;two=2;three=3;");
	/* A callback that refuses an entry stops the parse at its line. */
	ck_assert(!dict_parse_source(path_in("src"), refuse_second, &n,
				     &error));
	ck_assert_int_eq(n, 2);
	ck_assert_msg(strstr(error, "src:2: cannot store key \"two\"") != NULL,
		      "%s", error);
	free(error);
	ck_assert(!dict_parse_source(path_in("missing"), record_cb, &got,
				     &error));
	ck_assert_msg(strstr(error, "missing: No such file or directory") !=
		      NULL, "%s", error);
	free(error);
	/* A directory cannot be read. */
	ck_assert(!dict_parse_source(tmpdir, record_cb, &got, &error));
	ck_assert_msg(strstr(error, "Is a directory") != NULL, "%s", error);
	free(error);
	/* An empty source is an empty table. */
	write_source("empty", "# nothing\n\n", 0644);
	str_clear(&got);
	ck_assert(dict_parse_source(path_in("empty"), record_cb, &got,
				    &error));
	ck_assert_uint_eq(got.len, 0);
	str_release(&got);
}
END_TEST

/* Duplicates: Postfix keeps the first value and warns with the line. */
static void duplicates(const char *type)
{
	struct dict *dict;
	struct str log = STR_INIT;

	write_source("dup", "k first\nother x\nK second\n", 0644);
	tu_msg_capture_begin(path_in("log"));
	if (strcmp(type, "texthash") != 0)
		build_ok(type, "dup");
	dict = open_ok(spec_of(type, "dup"));
	tu_msg_capture_end(path_in("log"), &log);
	expect(dict, "k", "first");
	dict_close(&dict);
	ck_assert_msg(strstr(str_c(&log), "warning: ") != NULL &&
		      strstr(str_c(&log), "dup:3: duplicate entry: \"k\"") !=
		      NULL, "log: %s", str_c(&log));
	str_release(&log);
}

START_TEST(test_duplicates_hash)
{
	duplicates("hash");
}
END_TEST

START_TEST(test_duplicates_lmdb)
{
	duplicates("lmdb");
}
END_TEST

START_TEST(test_duplicates_texthash)
{
	duplicates("texthash");
}
END_TEST

START_TEST(test_inline)
{
	struct dict *dict;
	struct collect c = { STR_INIT, 0, 0 };

	dict = open_ok("inline:{ a=1, B=2,,c=3 { d = value with spaces }, "
		       "{e=x{nested}y},{ F = = }\t}");
	expect(dict, "a", "1");
	expect(dict, "b", "2");
	expect(dict, "C", "3");
	expect(dict, "d", "value with spaces");
	expect(dict, "e", "x{nested}y");
	expect(dict, "f", "=");
	expect(dict, "value", NULL);
	expect(dict, "{", NULL);
	iterate_ok(dict, &c);
	ck_assert_str_eq(c.all.data, "[a=1][b=2][c=3][d=value with spaces]"
			 "[e=x{nested}y][f==]");
	dict_close(&dict);
	str_release(&c.all);
	dict = open_ok("inline:{key=value}");
	expect(dict, "key", "value");
	dict_close(&dict);
}
END_TEST

START_TEST(test_inline_errors)
{
	open_fails("inline:a=b", "must be enclosed in braces");
	open_fails("inline:{ a=b", "must be enclosed in braces");
	open_fails("inline:{}", "empty table");
	open_fails("inline:{ , }", "empty table");
	open_fails("inline:{ a }", "entry \"a\" has no '='");
	open_fails("inline:{ a=b, { c d } }", "entry \"c d\" has no '='");
	open_fails("inline:{ =b }", "missing key");
	open_fails("inline:{ a= }", "missing value for key \"a\"");
	open_fails("inline:{ { a = } }", "missing value for key \"a\"");
	open_fails("inline:{ { a=b }", "missing '}'");
	open_fails("inline:{ {a=b}c }", "text after '}'");
	open_fails("inline:{a=b} {c=d}", "unexpected brace");
	open_fails("inline:{ a=b} }", "unexpected brace");
	/* The message names the table and shows the expected syntax. */
	open_fails("inline:{ a }", "inline:{ a }: ");
	open_fails("inline:{ a }", "expected inline:{ key=value");
}
END_TEST

START_TEST(test_open_errors)
{
	open_fails("foo:bar", "unsupported table type \"foo\"");
	open_fails("foo:bar", "supported types: hash, btree, lmdb, texthash, "
		   "inline");
	open_fails("cdb:/x", "\"cdb\"");
	open_fails("/etc/aliases", "expected TYPE:NAME");
	open_fails(":x", "expected TYPE:NAME");
	open_fails("hash:", "missing name");
	open_fails(spec_of("hash", "nope"),
		   "nope.db: No such file or directory");
	open_fails(spec_of("btree", "nope"), "open database ");
	open_fails(spec_of("texthash", "nope"),
		   "nope: No such file or directory");
	/* Garbage in the .db file. */
	write_source("junk.db", "not a database at all\n", 0644);
	open_fails(spec_of("hash", "junk"), "junk.db: Invalid argument");
}
END_TEST

START_TEST(test_build_errors)
{
	build_fails("hash", "missing", "missing: No such file or directory");
	build_fails("texthash", "x", "only hash, btree and lmdb");
	build_fails("lmdb", "missing", "missing: No such file or directory");
	build_fails("inline", "x", "cannot build a table of type \"inline\"");
	/* Unwritable directory (unless root, who can write anyway). */
	if (geteuid() != 0) {
		ck_assert(safe_mkdir_p(path_in("ro"), 0755));
		write_source("ro/src", "a b\n", 0644);
		ck_assert_int_eq(chmod(path_in("ro"), 0555), 0);
		build_fails("hash", "ro/src", "Permission denied");
		ck_assert_int_eq(chmod(path_in("ro"), 0755), 0);
		ck_assert_int_eq(tu_count_entries(path_in("ro")), 1);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* correo map */

struct run {
	int status;
	struct str out, err;
};

/* Run correo_map_cmd in a child with stdin from in_text. */
static void run_map(struct run *r, const char *in_text, const char *arg0,
		    ...)
{
	char *argv[16];
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	argv[argc++] = (char *)arg0;
	va_start(ap, arg0);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	write_source("stdin", in_text != NULL ? in_text : "", 0644);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open(path_in("stdin"), O_RDONLY);
		int out = open(path_in("stdout"), O_WRONLY | O_CREAT |
			       O_TRUNC, 0644);
		int err = open(path_in("stderr"), O_WRONLY | O_CREAT |
			       O_TRUNC, 0644);

		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		status = correo_map_cmd("/nonexistent", argc, argv);
		fflush(NULL);
		_exit(status);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	r->status = WEXITSTATUS(status);
	str_clear(&r->out);
	str_clear(&r->err);
	ck_assert(safe_read_file(path_in("stdout"), &r->out, 65536));
	ck_assert(safe_read_file(path_in("stderr"), &r->err, 65536));
}

START_TEST(test_correo_map)
{
	struct run r = { 0, STR_INIT, STR_INIT };
	char *src = mem_strdup(path_in("aliases"));
	char *hsrc = mem_strdup(spec_of("hash", "aliases"));
	char *bsrc = mem_strdup(spec_of("btree", "aliases"));

	write_source("aliases", "root: admin\nPostmaster root\n", 0644);
	run_map(&r, NULL, "map", src, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.out.len + r.err.len, 0);
	ck_assert_int_eq(access(path_in("aliases.db"), R_OK), 0);

	run_map(&r, NULL, "map", "-q", "POSTMASTER", hsrc, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(str_c(&r.out), "root\n");
	/* Without a type, hash is assumed. */
	run_map(&r, NULL, "map", "-q", "root", src, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(str_c(&r.out), "admin\n");
	run_map(&r, NULL, "map", "-q", "nobody", hsrc, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(r.out.len + r.err.len, 0);
	/* Keys from stdin. */
	run_map(&r, "root\nnobody\n\npostmaster\n", "map", "-q", "-", hsrc,
		NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(str_c(&r.out), "root\tadmin\npostmaster\troot\n");
	run_map(&r, "nobody\n", "map", "-q", "-", hsrc, NULL);
	ck_assert_int_eq(r.status, 1);

	/* btree, by option and by prefix. */
	run_map(&r, NULL, "map", "-t", "btree", src, NULL);
	ck_assert_int_eq(r.status, 0);
	run_map(&r, NULL, "map", "-q", "root", bsrc, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(str_c(&r.out), "admin\n");
	run_map(&r, NULL, "map", "-t", "btree", "-q", "root", src, NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(str_c(&r.out), "admin\n");
	run_map(&r, NULL, "map", bsrc, NULL);
	ck_assert_int_eq(r.status, 0);

	/* lmdb, by prefix and by option. */
	{
		char *lsrc = mem_strdup(spec_of("lmdb", "aliases"));

		run_map(&r, NULL, "map", lsrc, NULL);
		ck_assert_int_eq(r.status, 0);
		ck_assert_int_eq(access(path_in("aliases.lmdb"), R_OK), 0);
		run_map(&r, NULL, "map", "-q", "postmaster", lsrc, NULL);
		ck_assert_int_eq(r.status, 0);
		ck_assert_str_eq(str_c(&r.out), "root\n");
		write_source("aliases", "root: other\n", 0644);
		run_map(&r, NULL, "map", "-t", "lmdb", src, NULL);
		ck_assert_int_eq(r.status, 0);
		run_map(&r, NULL, "map", "-t", "lmdb", "-q", "root", src,
			NULL);
		ck_assert_int_eq(r.status, 0);
		ck_assert_str_eq(str_c(&r.out), "other\n");
		free(lsrc);
	}
	run_map(&r, NULL, "map", "-q", "root", "texthash:/nonexistent/x",
		NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert(strstr(str_c(&r.err), "correo: open /nonexistent/x: No "
			 "such file") != NULL);
	run_map(&r, NULL, "map", "-q", "root", "inline:{root=x}", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(str_c(&r.out), "x\n");
	free(src);
	free(hsrc);
	free(bsrc);
	str_release(&r.out);
	str_release(&r.err);
}
END_TEST

START_TEST(test_correo_map_errors)
{
	struct run r = { 0, STR_INIT, STR_INIT };
	char *src = mem_strdup(path_in("src"));
	char *hsrc = mem_strdup(spec_of("hash", "src"));
	char *missing = mem_strdup(path_in("missing"));

	/* Usage errors: exit 2. */
	run_map(&r, NULL, "map", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert(strstr(str_c(&r.err), "usage: correo map") != NULL);
	run_map(&r, NULL, "map", "-x", src, NULL);
	ck_assert_int_eq(r.status, 2);
	run_map(&r, NULL, "map", src, src, NULL);
	ck_assert_int_eq(r.status, 2);
	run_map(&r, NULL, "map", "-q", NULL);
	ck_assert_int_eq(r.status, 2);
	run_map(&r, NULL, "map", "-t", "btree", hsrc, NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert(strstr(str_c(&r.err), "conflicts") != NULL);

	/* Problems: exit 1 with FILE:LINE. */
	write_source("src", "ok value\n\tcont\nbad\n", 0644);
	run_map(&r, NULL, "map", src, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(str_c(&r.err), "src:3: missing value for key "
			     "\"bad\"") != NULL, "%s", str_c(&r.err));
	ck_assert_int_eq(access(path_in("src.db"), F_OK), -1);
	run_map(&r, NULL, "map", missing, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert(strstr(str_c(&r.err), "missing: No such file") != NULL);
	run_map(&r, NULL, "map", "-t", "texthash", src, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert(strstr(str_c(&r.err), "only hash, btree and lmdb") != NULL);
	run_map(&r, NULL, "map", "-q", "k", missing, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert(strstr(str_c(&r.err), "missing.db: No such file") != NULL);
	run_map(&r, NULL, "map", "-q", "k", "nosuch:x", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert(strstr(str_c(&r.err), "unsupported table type") != NULL);
	free(src);
	free(hsrc);
	free(missing);
	str_release(&r.out);
	str_release(&r.err);
}
END_TEST

static Suite *dict_suite(void)
{
	Suite *s = suite_create("dict");
	TCase *tc = tcase_create("core");
	TCase *slow = tcase_create("rebuild");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_hash_build_and_lookup);
	tcase_add_test(tc, test_btree_build_and_lookup);
	tcase_add_test(tc, test_lmdb_build_and_lookup);
	tcase_add_test(tc, test_lmdb_file_format);
	tcase_add_test(tc, test_lmdb_long_key);
	tcase_add_test(tc, test_texthash_lookup);
	tcase_add_test(tc, test_hash_file_format);
	tcase_add_test(tc, test_iterate_every_entry);
	tcase_add_test(tc, test_many_entries);
	tcase_add_test(tc, test_failed_build_keeps_old);
	tcase_add_test(tc, test_miss_forces_check_hash);
	tcase_add_test(tc, test_miss_forces_check_btree);
	tcase_add_test(tc, test_miss_forces_check_lmdb);
	tcase_add_test(tc, test_build_mode);
	tcase_add_test(tc, test_source_errors);
	tcase_add_test(tc, test_parse_source_callbacks);
	tcase_add_test(tc, test_duplicates_hash);
	tcase_add_test(tc, test_duplicates_lmdb);
	tcase_add_test(tc, test_duplicates_texthash);
	tcase_add_test(tc, test_inline);
	tcase_add_test(tc, test_inline_errors);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_build_errors);
	tcase_add_test(tc, test_correo_map);
	tcase_add_test(tc, test_correo_map_errors);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(slow, setup, teardown);
	tcase_set_timeout(slow, 30);
	tcase_add_test(slow, test_rebuild_seen_hash);
	tcase_add_test(slow, test_rebuild_seen_btree);
	tcase_add_test(slow, test_rebuild_seen_lmdb);
	tcase_add_test(slow, test_rebuild_broken_lmdb);
	tcase_add_test(slow, test_rebuild_broken);
	suite_add_tcase(s, slow);
	return s;
}

int main(void)
{
	return tu_run_suite(dict_suite());
}
