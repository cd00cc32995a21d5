/*
 * Unit tests for auth/auth_pool.c: verdicts computed in the threads,
 * the order in which clients' checks start (fair between queues, a
 * newcomer before a queue that has just been served), start refusing a
 * job, cancelling a waiting and a running job, and queue names.
 */
#include "config.h"

#include <check.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "auth_pool.h"
#include "ev.h"
#include "mem.h"
#include "str.h"
#include "test_util.h"

struct job_ctx {
	const char *name;	/* "A1": client A's first */
	const char *hash;	/* what start hands out; NULL: dummy */
	bool refuse;		/* start returns false */
	struct auth_pool_job *job;
};

static struct str started = STR_INIT, finished = STR_INIT;
static int nstarted, ndone, nmatch;
static char hash[128];

static bool t_start(void *ctx, struct str *hash_r)
{
	struct job_ctx *j = ctx;

	str_append(&started, j->name);
	nstarted++;
	if (j->refuse) {
		j->job = NULL;
		return false;
	}
	if (j->hash != NULL)
		str_set(hash_r, j->hash);
	return true;
}

static void t_done(void *ctx, bool match)
{
	struct job_ctx *j = ctx;

	j->job = NULL;
	str_append(&finished, j->name);
	ndone++;
	nmatch += match ? 1 : 0;
}

static void reset(void)
{
	struct crypt_data *cd = mem_alloc(sizeof(*cd));
	const char *h = crypt_r("secret", "$6$rounds=1000$saltsalt$", cd);

	ck_assert_ptr_nonnull(h);
	ck_assert(str_snprintf(hash, sizeof(hash), "%s", h));
	free(cd);
	str_clear(&started);
	str_clear(&finished);
	nstarted = ndone = nmatch = 0;
}

static void run_until(struct ev_loop *loop, const int *counter, int want)
{
	long long deadline = ev_now_ms() + 20000;

	while (*counter < want && ev_now_ms() < deadline)
		ev_run_once(loop, 100);
	ck_assert_int_ge(*counter, want);
}

static void submit(struct auth_pool *pool, struct job_ctx *j,
		   const char *client, const char *password)
{
	j->job = auth_pool_submit(pool, client, password, t_start, t_done, j);
	ck_assert_ptr_nonnull(j->job);
}

START_TEST(test_verdicts)
{
	struct ev_loop *loop = ev_create();
	struct auth_pool *pool = auth_pool_create(loop, 2);
	struct job_ctx j[3] = {
		{ "a", hash, false, NULL }, { "b", hash, false, NULL },
		{ "c", NULL, false, NULL },
	};

	reset();
	ck_assert_uint_eq(auth_pool_workers(pool), 2);
	submit(pool, &j[0], "192.0.2.1", "secret");
	submit(pool, &j[1], "192.0.2.2", "wrong");
	submit(pool, &j[2], "192.0.2.3", "secret");	/* unknown user */
	/* Nothing runs inside submit. */
	ck_assert_int_eq(nstarted, 0);
	run_until(loop, &ndone, 3);
	ck_assert_int_eq(nmatch, 1);
	ck_assert_ptr_null(j[0].job);
	auth_pool_free(&pool);
	ev_free(&loop);
}
END_TEST

/* One thread: waiting clients take turns, oldest queue first. */
START_TEST(test_turns)
{
	struct ev_loop *loop = ev_create();
	struct auth_pool *pool = auth_pool_create(loop, 1);
	struct job_ctx j[6] = {
		{ "A1", hash, false, NULL }, { "A2", hash, false, NULL },
		{ "A3", hash, false, NULL }, { "A4", hash, false, NULL },
		{ "B1", hash, false, NULL }, { "C1", hash, false, NULL },
	};

	reset();
	for (int i = 0; i < 4; i++)
		submit(pool, &j[i], "192.0.2.1", "secret");
	submit(pool, &j[4], "192.0.2.2", "secret");
	submit(pool, &j[5], "2001:db8::1", "secret");
	run_until(loop, &ndone, 6);
	ck_assert_str_eq(str_c(&started), "A1B1C1A2A3A4");
	ck_assert_str_eq(str_c(&finished), str_c(&started));
	ck_assert_int_eq(nmatch, 6);
	auth_pool_free(&pool);
	ev_free(&loop);
}
END_TEST

/* A client arriving while another's flood is being hashed goes next,
 * not behind the flood; one that let its queue run dry does not jump
 * ahead of a client it was just served before. */
START_TEST(test_newcomer_goes_next)
{
	struct ev_loop *loop = ev_create();
	struct auth_pool *pool = auth_pool_create(loop, 1);
	struct job_ctx j[7] = {
		{ "A1", hash, false, NULL }, { "A2", hash, false, NULL },
		{ "A3", hash, false, NULL }, { "A4", hash, false, NULL },
		{ "B1", hash, false, NULL }, { "B2", hash, false, NULL },
		{ "B3", hash, false, NULL },
	};

	reset();
	for (int i = 0; i < 4; i++)
		submit(pool, &j[i], "192.0.2.1", "x");
	run_until(loop, &nstarted, 1);
	submit(pool, &j[4], "192.0.2.2", "secret");
	run_until(loop, &ndone, 2);
	ck_assert_str_eq(str_c(&finished), "A1B1");
	/* B was served at A2's turn: B's next check waits for A2 and
	 * A3 has to wait for it in turn. */
	submit(pool, &j[5], "192.0.2.2", "secret");
	submit(pool, &j[6], "192.0.2.2", "secret");
	run_until(loop, &ndone, 7);
	ck_assert_str_eq(str_c(&started), "A1B1A2B2A3B3A4");
	auth_pool_free(&pool);
	ev_free(&loop);
}
END_TEST

START_TEST(test_refuse_and_cancel)
{
	struct ev_loop *loop = ev_create();
	struct auth_pool *pool = auth_pool_create(loop, 1);
	struct job_ctx j[4] = {
		{ "R", hash, true, NULL }, { "X", hash, false, NULL },
		{ "Y", hash, false, NULL }, { "Z", hash, false, NULL },
	};

	reset();
	submit(pool, &j[0], "192.0.2.1", "secret");
	submit(pool, &j[1], "192.0.2.2", "secret");
	submit(pool, &j[2], "192.0.2.3", "secret");
	submit(pool, &j[3], "192.0.2.4", "secret");
	/* Y is still waiting: it goes without a trace. */
	auth_pool_cancel(pool, &j[2].job);
	ck_assert_ptr_null(j[2].job);
	run_until(loop, &nstarted, 2);
	ck_assert_str_eq(str_c(&started), "RX");
	/* X is being hashed: its verdict is thrown away. */
	auth_pool_cancel(pool, &j[1].job);
	run_until(loop, &ndone, 1);
	ck_assert_str_eq(str_c(&started), "RXZ");
	ck_assert_str_eq(str_c(&finished), "Z");
	for (int i = 0; i < 10; i++)
		ev_run_once(loop, 10);
	ck_assert_int_eq(ndone, 1);
	auth_pool_free(&pool);
	ev_free(&loop);
}
END_TEST

START_TEST(test_client_key)
{
	struct str key = STR_INIT;

	auth_pool_client_key("192.0.2.7", &key);
	ck_assert_str_eq(str_c(&key), "192.0.2.7");
	auth_pool_client_key("2001:db8:1:2:3:4:5:6", &key);
	ck_assert_str_eq(str_c(&key), "2001:db8:1:2::/64");
	auth_pool_client_key("2001:db8:1:2::99", &key);
	ck_assert_str_eq(str_c(&key), "2001:db8:1:2::/64");
	auth_pool_client_key("::ffff:192.0.2.7", &key);
	ck_assert_str_eq(str_c(&key), "::ffff:192.0.2.7");
	auth_pool_client_key("unknown", &key);
	ck_assert_str_eq(str_c(&key), "unknown");
	str_release(&key);
}
END_TEST

static Suite *auth_pool_suite(void)
{
	Suite *s = suite_create("auth_pool");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_turns);
	tcase_add_test(tc, test_newcomer_goes_next);
	tcase_add_test(tc, test_refuse_and_cancel);
	tcase_add_test(tc, test_client_key);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(auth_pool_suite());
}
