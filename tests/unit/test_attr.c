/*
 * Unit tests for common/attr.c: the percent encoding, the strict reader
 * and its limits, the handshake, byte-at-a-time delivery and an echo
 * exchange between two processes.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attr.h"
#include "mem.h"
#include "proto.h"
#include "str.h"
#include "test_util.h"

/* Encoding. */

static void check_round_trip(const char *value, size_t len)
{
	struct str enc = STR_INIT;
	size_t i;

	attr_encode(&enc, value, len);
	for (i = 0; i < enc.len; i++) {
		ck_assert(enc.data[i] >= 0x20 && enc.data[i] < 0x7f);
		if (enc.data[i] == '%')
			ck_assert(i + 2 < enc.len);
	}
	ck_assert(attr_decode(&enc));
	ck_assert_uint_eq(enc.len, len);
	ck_assert(memcmp(enc.data, value, len) == 0);
	ck_assert_int_eq(enc.data[enc.len], '\0');
	str_release(&enc);
}

START_TEST(test_encode)
{
	static const char *const values[] = {
		"plain", "100% sure", "a\nb\r\nc", "", "tab\there",
		"=equals=", " spaced ", "%%%", "%41", "\x7f\x80\xff",
	};
	struct str enc = STR_INIT;
	char all[256];
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		check_round_trip(values[i], strlen(values[i]));
	for (i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	check_round_trip(all, 255);
	check_round_trip("a\0b", 3);
	attr_encode(&enc, "a%b\n\r=c \x01\xe9", 10);
	ck_assert_str_eq(str_c(&enc), "a%25b%0A%0D=c %01%E9");
	str_release(&enc);
}
END_TEST

START_TEST(test_decode_malformed)
{
	static const char *const bad[] = {
		"%", "%4", "abc%", "%G0", "%0g", "x%zz", "%%", "% 1",
	};
	struct str s = STR_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		str_set(&s, bad[i]);
		ck_assert_msg(!attr_decode(&s), "accepted %s", bad[i]);
	}
	str_set(&s, "%0a%0D%7e");
	ck_assert(attr_decode(&s));
	ck_assert_str_eq(str_c(&s), "\n\r~");
	str_release(&s);
}
END_TEST

START_TEST(test_list_helpers)
{
	struct attr_list list = ATTR_LIST_INIT;
	long v;

	attr_add(&list, "a", "1");
	attr_add(&list, "a", "2");
	attr_addf(&list, "f", "%s-%d", "x", 7);
	attr_add_long(&list, "n", -42);
	attr_add(&list, "bad", "12x");
	attr_add(&list, "big", "99999999999999999999999");
	attr_add(&list, "empty", "");
	ck_assert_uint_eq(list.count, 7);
	ck_assert_str_eq(attr_get(&list, "a"), "1");
	ck_assert_str_eq(attr_get(&list, "f"), "x-7");
	ck_assert_ptr_null(attr_get(&list, "missing"));
	ck_assert(attr_get_long(&list, "n", &v));
	ck_assert_int_eq(v, -42);
	ck_assert(!attr_get_long(&list, "bad", &v));
	ck_assert(!attr_get_long(&list, "big", &v));
	ck_assert(!attr_get_long(&list, "empty", &v));
	ck_assert(!attr_get_long(&list, "missing", &v));
	attr_list_clear(&list);
	ck_assert_uint_eq(list.count, 0);
	ck_assert_ptr_null(attr_get(&list, "a"));
	attr_list_clear(&list);
}
END_TEST

/* Reading raw wire text. */

static struct lio *wire_lio(const char *data, size_t len, pid_t *pid_r)
{
	int sp[2];
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sp[0]);
		_exit(write(sp[1], data, len) == (ssize_t)len ? 0 : 1);
	}
	close(sp[1]);
	*pid_r = pid;
	return lio_create(sp[0], 5);
}

static void reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

static const struct attr_spec test_spec[] = {
	{ "request", true, false },
	{ "user", true, false },
	{ "rcpt", false, true },
	{ "size", false, false },
	{ NULL, false, false },
};

/* Read one list from data; return the status, the error in err. */
static enum lio_status parse(const char *data, size_t len,
			     const struct attr_spec *spec,
			     struct attr_list *list, struct str *err)
{
	const char *error = "unset";
	enum lio_status st;
	struct lio *lio;
	pid_t pid;

	lio = wire_lio(data, len, &pid);
	st = attr_read(lio, list, spec, &error);
	str_set(err, st == LIO_OK ? "" : error);
	lio_free(&lio);
	reap(pid);
	return st;
}

#define PARSE(lit, spec, list, err) \
	parse(lit, sizeof(lit) - 1, spec, list, err)

static void expect_error(const char *data, size_t len,
			 const struct attr_spec *spec, const char *message)
{
	struct attr_list list = ATTR_LIST_INIT;
	struct str err = STR_INIT;

	ck_assert_int_eq(parse(data, len, spec, &list, &err), LIO_ERROR);
	ck_assert_msg(strstr(str_c(&err), message) != NULL,
		      "error '%s' lacks '%s'", str_c(&err), message);
	ck_assert_uint_eq(list.count, 0);
	str_release(&err);
}

#define EXPECT_ERROR(lit, spec, message) \
	expect_error(lit, sizeof(lit) - 1, spec, message)

START_TEST(test_strict_ok)
{
	struct attr_list list = ATTR_LIST_INIT;
	struct str err = STR_INIT;

	attr_add(&list, "stale", "x");
	ck_assert_int_eq(PARSE("user=bob\nrcpt=a\nrequest=deliver\nrcpt=b\n"
			       "\n", test_spec, &list, &err), LIO_OK);
	ck_assert_uint_eq(list.count, 4);
	ck_assert_ptr_null(attr_get(&list, "stale"));
	ck_assert_str_eq(list.attrs[0].name, "user");
	ck_assert_str_eq(list.attrs[1].value, "a");
	ck_assert_str_eq(list.attrs[3].value, "b");
	ck_assert_str_eq(attr_get(&list, "request"), "deliver");
	/* An empty list is fine without a spec. */
	ck_assert_int_eq(PARSE("\n", NULL, &list, &err), LIO_OK);
	ck_assert_uint_eq(list.count, 0);
	/* Without a spec anything goes, repeats included. */
	ck_assert_int_eq(PARSE("x=1\nx=2\n\n", NULL, &list, &err), LIO_OK);
	ck_assert_uint_eq(list.count, 2);
	attr_list_clear(&list);
	str_release(&err);
}
END_TEST

START_TEST(test_strict_errors)
{
	EXPECT_ERROR("request=x\n\n", test_spec,
		     "line 2: missing required attribute 'user'");
	EXPECT_ERROR("\n", test_spec, "missing required attribute 'request'");
	EXPECT_ERROR("request=x\nfoo=1\nuser=u\n\n", test_spec,
		     "line 2: unexpected attribute 'foo'");
	EXPECT_ERROR("request=x\nuser=u\nuser=v\n\n", test_spec,
		     "line 3: repeated attribute 'user'");
	EXPECT_ERROR("request=x\nuser=u\nsize=1\nsize=1\n\n", test_spec,
		     "line 4: repeated attribute 'size'");
}
END_TEST

START_TEST(test_malformed_lines)
{
	EXPECT_ERROR("name\n\n", NULL, "line 1: no '='");
	EXPECT_ERROR("a=1\nName=x\n\n", NULL, "line 2: bad attribute name");
	EXPECT_ERROR("=x\n\n", NULL, "bad attribute name");
	EXPECT_ERROR("na-me=x\n\n", NULL, "bad attribute name");
	EXPECT_ERROR("na me=x\n\n", NULL, "bad attribute name");
	EXPECT_ERROR("a=%4\n\n", NULL, "line 1: malformed %-escape");
	EXPECT_ERROR("a=%zz\n\n", NULL, "malformed %-escape");
	EXPECT_ERROR("a=x%00y\n\n", NULL, "line 1: NUL in value of 'a'");
	EXPECT_ERROR("a=raw\ttab\n\n", NULL, "unencoded byte");
	EXPECT_ERROR("a=x\r\n\r\n", NULL, "unencoded byte");
	EXPECT_ERROR("a=\xc3\xa9\n\n", NULL, "unencoded byte");
	EXPECT_ERROR("a=x\0y\n\n", NULL, "unencoded byte");
	/* The spec is checked before the value is decoded. */
	EXPECT_ERROR("zz=%\n\n", test_spec, "unexpected attribute 'zz'");
}
END_TEST

START_TEST(test_eof)
{
	struct attr_list list = ATTR_LIST_INIT;
	struct str err = STR_INIT;

	/* A clean close before a list is EOF, not an error. */
	ck_assert_int_eq(PARSE("", NULL, &list, &err), LIO_EOF);
	EXPECT_ERROR("a=1\n", NULL, "line 2: connection closed inside");
	EXPECT_ERROR("a=1", NULL, "line 1: connection closed inside");
	EXPECT_ERROR("a=1\nb=", NULL, "connection closed inside");
	str_release(&err);
}
END_TEST

START_TEST(test_limits)
{
	struct attr_list list = ATTR_LIST_INIT;
	struct str wire = STR_INIT, err = STR_INIT;
	size_t i;

	/* The longest line allowed: ATTR_MAX_LINE bytes before the LF. */
	str_append(&wire, "v=");
	while (wire.len < ATTR_MAX_LINE)
		str_append_c(&wire, 'x');
	str_append(&wire, "\n\n");
	ck_assert_int_eq(parse(wire.data, wire.len, NULL, &list, &err),
			 LIO_OK);
	ck_assert_uint_eq(strlen(attr_get(&list, "v")), ATTR_MAX_LINE - 2);
	/* One more byte is too long. */
	str_truncate(&wire, wire.len - 2);
	str_append(&wire, "x\n\n");
	expect_error(wire.data, wire.len, NULL, "line 1: attribute line "
		     "too long");
	/* ATTR_MAX_COUNT attributes pass, one more does not. */
	str_clear(&wire);
	for (i = 0; i < ATTR_MAX_COUNT; i++)
		str_printf(&wire, "a%zu=%zu\n", i, i);
	str_append(&wire, "\n");
	ck_assert_int_eq(parse(wire.data, wire.len, NULL, &list, &err),
			 LIO_OK);
	ck_assert_uint_eq(list.count, ATTR_MAX_COUNT);
	str_truncate(&wire, wire.len - 1);
	str_append(&wire, "last=1\n\n");
	expect_error(wire.data, wire.len, NULL, "line 1025: more than 1024 "
		     "attributes");
	attr_list_clear(&list);
	str_release(&wire);
	str_release(&err);
}
END_TEST

START_TEST(test_timeout)
{
	struct attr_list list = ATTR_LIST_INIT;
	const char *error = NULL;
	struct lio *lio;
	int sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	lio = lio_create(sp[0], 1);
	ck_assert_int_eq(write(sp[1], "a=1\n", 4), 4);
	ck_assert_int_eq(attr_read(lio, &list, NULL, &error), LIO_TIMEOUT);
	ck_assert_str_eq(error, "timeout");
	ck_assert_uint_eq(list.count, 0);
	lio_free(&lio);
	close(sp[1]);
}
END_TEST

/* A peer that connects and hangs up at once (a status probe): the
 * server's hello hits a closed socket, and the next read is a plain
 * close, not an error. */
START_TEST(test_peer_gone_before_request)
{
	struct attr_list list = ATTR_LIST_INIT;
	const char *error = NULL;
	struct lio *lio;
	int sp[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(sp[1]);
	lio = lio_create(sp[0], 1);
	attr_server_hello(lio, "test");
	ck_assert_int_eq(attr_read(lio, &list, NULL, &error), LIO_EOF);
	ck_assert_str_eq(error, "connection closed");
	lio_free(&lio);
}
END_TEST

/* Writing and the handshake. */

static void fill_values(struct attr_list *list)
{
	char bytes[254];
	size_t i;

	for (i = 0; i < sizeof(bytes) - 1; i++)
		bytes[i] = (char)(i + 1);
	bytes[sizeof(bytes) - 1] = '\0';
	attr_add(list, PROTO_ATTR_REQUEST, PROTO_REQ_ECHO);
	attr_add(list, "percent", "100%");
	attr_add(list, "lines", "one\r\ntwo\nthree\r");
	attr_add(list, "empty", "");
	attr_add(list, "bytes", bytes);
	attr_add(list, "eq", "a=b");
	attr_add(list, "eq", "repeated");
}

static void assert_same(const struct attr_list *a, const struct attr_list *b,
			size_t b_skip)
{
	size_t i;

	ck_assert_uint_eq(a->count + b_skip, b->count);
	for (i = 0; i < a->count; i++) {
		ck_assert_str_eq(a->attrs[i].name, b->attrs[i + b_skip].name);
		ck_assert_str_eq(a->attrs[i].value,
				 b->attrs[i + b_skip].value);
	}
}

START_TEST(test_write_read)
{
	struct attr_list out = ATTR_LIST_INIT, in = ATTR_LIST_INIT;
	const char *error = NULL;
	struct lio *w, *r;
	int sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	w = lio_create(sp[0], 5);
	r = lio_create(sp[1], 5);
	fill_values(&out);
	attr_write(w, &out);
	attr_write(w, &in);		/* an empty list */
	ck_assert_int_eq(lio_flush(w), LIO_OK);
	ck_assert_int_eq(attr_read(r, &in, NULL, &error), LIO_OK);
	assert_same(&out, &in, 0);
	ck_assert_int_eq(attr_read(r, &in, NULL, &error), LIO_OK);
	ck_assert_uint_eq(in.count, 0);
	lio_free(&w);
	ck_assert_int_eq(attr_read(r, &in, NULL, &error), LIO_EOF);
	lio_free(&r);
	attr_list_clear(&out);
	attr_list_clear(&in);
}
END_TEST

static bool hello(const char *wire, const char *protocol, struct str *err)
{
	const char *error = "unset";
	struct lio *lio;
	pid_t pid;
	bool ok;

	lio = wire_lio(wire, strlen(wire), &pid);
	ok = attr_client_hello(lio, protocol, &error);
	str_set(err, ok ? "" : error);
	lio_free(&lio);
	reap(pid);
	return ok;
}

START_TEST(test_handshake)
{
	struct str err = STR_INIT;

	ck_assert(hello("protocol=echo\n\n", PROTO_ECHO, &err));
	ck_assert(!hello("protocol=echo\n\n", PROTO_DELIVERY, &err));
	ck_assert_str_eq(str_c(&err), "protocol mismatch (expected "
			 "'delivery')");
	ck_assert(!hello("protocol=echo2\n\n", PROTO_ECHO, &err));
	ck_assert(!hello("protocol=echo\nextra=1\n\n", PROTO_ECHO, &err));
	ck_assert_str_eq(str_c(&err), "line 2: unexpected attribute 'extra'");
	ck_assert(!hello("\n", PROTO_ECHO, &err));
	ck_assert_str_eq(str_c(&err), "line 1: missing required attribute "
			 "'protocol'");
	ck_assert(!hello("", PROTO_ECHO, &err));
	ck_assert_str_eq(str_c(&err), "connection closed before the "
			 "protocol handshake");
	ck_assert(!hello("220 smtp.example ESMTP\r\n", PROTO_ECHO, &err));
	str_release(&err);
}
END_TEST

START_TEST(test_one_byte_at_a_time)
{
	static const char wire[] = "protocol=echo\n\nrequest=echo\n"
		"user=a%25b%0Ac\nrcpt=x\nrcpt=\n\nnext=1\n\n";
	struct attr_list list = ATTR_LIST_INIT;
	const char *error = NULL;
	struct lio *lio;
	int sp[2];
	pid_t pid;
	size_t i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (i = 0; i < sizeof(wire) - 1; i++) {
			if (write(sp[1], wire + i, 1) != 1)
				_exit(1);
			usleep(1000);
		}
		_exit(0);
	}
	close(sp[1]);
	lio = lio_create(sp[0], 5);
	ck_assert(attr_client_hello(lio, PROTO_ECHO, &error));
	ck_assert_int_eq(attr_read(lio, &list, test_spec, &error), LIO_OK);
	ck_assert_uint_eq(list.count, 4);
	ck_assert_str_eq(attr_get(&list, "user"), "a%b\nc");
	ck_assert_str_eq(list.attrs[3].value, "");
	ck_assert_int_eq(attr_read(lio, &list, NULL, &error), LIO_OK);
	ck_assert_str_eq(attr_get(&list, "next"), "1");
	ck_assert_int_eq(attr_read(lio, &list, NULL, &error), LIO_EOF);
	reap(pid);
	attr_list_clear(&list);
	lio_free(&lio);
}
END_TEST

/* The echo server: answers each request with status=ok and the request's
 * own attributes, until the client closes. */
static void echo_server(int fd)
{
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	struct lio *lio = lio_create(fd, 5);
	const char *error;
	enum lio_status st;
	size_t i;

	attr_server_hello(lio, PROTO_ECHO);
	while ((st = attr_read(lio, &req, NULL, &error)) == LIO_OK) {
		attr_add(&reply, PROTO_ATTR_STATUS, PROTO_STATUS_OK);
		for (i = 0; i < req.count; i++)
			attr_add(&reply, req.attrs[i].name,
				 req.attrs[i].value);
		attr_write(lio, &reply);
		attr_list_clear(&reply);
		if (lio_flush(lio) != LIO_OK)
			_exit(2);
	}
	lio_free(&lio);
	attr_list_clear(&req);
	_exit(st == LIO_EOF ? 0 : 3);
}

START_TEST(test_echo_exchange)
{
	static const struct attr_spec reply_spec[] = {
		{ PROTO_ATTR_STATUS, true, false },
		{ PROTO_ATTR_REQUEST, true, false },
		{ "percent", false, false },
		{ "lines", false, false },
		{ "empty", false, false },
		{ "bytes", false, false },
		{ "eq", false, true },
		{ "big", false, false },
		{ NULL, false, false },
	};
	struct attr_list req = ATTR_LIST_INIT, reply = ATTR_LIST_INIT;
	struct str big = STR_INIT;
	const char *error = NULL;
	struct lio *lio;
	int sp[2], round;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(sp[0]);
		echo_server(sp[1]);
	}
	close(sp[1]);
	lio = lio_create(sp[0], 5);
	ck_assert_msg(attr_client_hello(lio, PROTO_ECHO, &error), "%s",
		      error);
	fill_values(&req);
	/* 20000 bytes that each encode to 3: just under ATTR_MAX_LINE. */
	while (big.len < 20000)
		str_append_c(&big, (char)(0x80 + big.len % 0x7f));
	attr_add(&req, "big", str_c(&big));
	for (round = 0; round < 3; round++) {
		/* No explicit flush: the read sends the request. */
		attr_write(lio, &req);
		ck_assert_int_eq(attr_read(lio, &reply, reply_spec, &error),
				 LIO_OK);
		ck_assert_str_eq(attr_get(&reply, PROTO_ATTR_STATUS),
				 PROTO_STATUS_OK);
		assert_same(&req, &reply, 1);
	}
	lio_free(&lio);
	reap(pid);
	attr_list_clear(&req);
	attr_list_clear(&reply);
	str_release(&big);
}
END_TEST

static Suite *attr_suite(void)
{
	Suite *s = suite_create("attr");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_decode_malformed);
	tcase_add_test(tc, test_list_helpers);
	tcase_add_test(tc, test_strict_ok);
	tcase_add_test(tc, test_strict_errors);
	tcase_add_test(tc, test_malformed_lines);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_peer_gone_before_request);
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_one_byte_at_a_time);
	tcase_add_test(tc, test_echo_exchange);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(attr_suite());
}
