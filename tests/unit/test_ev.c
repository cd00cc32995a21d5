/*
 * Unit tests for common/ev.c: I/O watches, timer order and deletion
 * (including from callbacks), stale events after a watch is replaced,
 * signals through signalfd and ev_stop.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ev.h"
#include "test_util.h"

static struct ev_loop *loop;
static char log_buf[256];
static size_t log_len;

static void log_event(char c)
{
	if (log_len + 1 < sizeof(log_buf)) {
		log_buf[log_len++] = c;
		log_buf[log_len] = '\0';
	}
}

static void setup(void)
{
	loop = ev_create();
	log_len = 0;
	log_buf[0] = '\0';
}

static void teardown(void)
{
	ev_free(&loop);
	ck_assert_ptr_null(loop);
}

static void make_pair(int sp[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
}

/* I/O. */

struct io_rec {
	int calls;
	int fd;
	unsigned events;
	char data[16];
};

static void io_record(int fd, unsigned events, void *ctx)
{
	struct io_rec *rec = ctx;
	ssize_t n;

	rec->calls++;
	rec->fd = fd;
	rec->events = events;
	if (events & EV_READ) {
		n = recv(fd, rec->data, sizeof(rec->data) - 1, MSG_DONTWAIT);
		rec->data[n > 0 ? n : 0] = '\0';
	}
}

START_TEST(test_io_read)
{
	struct io_rec rec = { 0 };
	int sp[2];

	make_pair(sp);
	ev_io_add(loop, sp[0], EV_READ, io_record, &rec);
	ev_run_once(loop, 50);
	ck_assert_int_eq(rec.calls, 0);
	ck_assert_int_eq(write(sp[1], "ping", 4), 4);
	ev_run_once(loop, 1000);
	ck_assert_int_eq(rec.calls, 1);
	ck_assert_int_eq(rec.fd, sp[0]);
	ck_assert_uint_eq(rec.events, EV_READ);
	ck_assert_str_eq(rec.data, "ping");
	/* Drained: no more calls. */
	ev_run_once(loop, 50);
	ck_assert_int_eq(rec.calls, 1);
	/* A hang-up wakes the reader, which then sees EOF. */
	close(sp[1]);
	ev_run_once(loop, 1000);
	ck_assert_int_eq(rec.calls, 2);
	ck_assert_uint_eq(rec.events, EV_READ);
	ck_assert_str_eq(rec.data, "");
	ev_io_del(loop, sp[0]);
	ev_run_once(loop, 50);
	ck_assert_int_eq(rec.calls, 2);
	close(sp[0]);
}
END_TEST

START_TEST(test_io_replace)
{
	struct io_rec a = { 0 }, b = { 0 };
	int sp[2];

	make_pair(sp);
	ev_io_add(loop, sp[0], EV_READ, io_record, &a);
	/* Adding again replaces the watch: new events, new callback. */
	ev_io_add(loop, sp[0], EV_WRITE, io_record, &b);
	ev_run_once(loop, 1000);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_uint_eq(b.events, EV_WRITE);
	ev_io_add(loop, sp[0], EV_READ | EV_WRITE, io_record, &a);
	ck_assert_int_eq(write(sp[1], "x", 1), 1);
	ev_run_once(loop, 1000);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_uint_eq(a.events, EV_READ | EV_WRITE);
	ck_assert_str_eq(a.data, "x");
	/* Deleting twice, or an fd never watched, is harmless. */
	ev_io_del(loop, sp[0]);
	ev_io_del(loop, sp[0]);
	ev_io_del(loop, 1000);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

START_TEST(test_io_closed_then_reused)
{
	struct io_rec a = { 0 }, b = { 0 };
	int sp[2], sp2[2], fd;

	/* A watched fd closed without ev_io_del, and its number reused:
	 * adding a watch on the new fd works. */
	make_pair(sp);
	ev_io_add(loop, sp[0], EV_READ, io_record, &a);
	fd = sp[0];
	close(sp[0]);
	close(sp[1]);
	make_pair(sp2);
	ck_assert_int_eq(sp2[0], fd);
	ev_io_add(loop, sp2[0], EV_READ, io_record, &b);
	ck_assert_int_eq(write(sp2[1], "new", 3), 3);
	ev_run_once(loop, 1000);
	ck_assert_int_eq(a.calls, 0);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_str_eq(b.data, "new");
	close(sp2[0]);
	close(sp2[1]);
}
END_TEST

/* Two readable fds; whichever callback runs first deletes and closes the
 * other's watch and puts a fresh, idle socket on the same fd number. The
 * other's already reported event must reach nobody. */
struct io_race {
	int fds[2];
	int peers[2];
	int calls[2];
	int fresh[2];
	struct io_rec fresh_rec;
};

static struct io_race race;

static void io_race_cb(int fd, unsigned events, void *ctx)
{
	int me = fd == race.fds[0] ? 0 : 1, other = 1 - me;

	race.calls[me]++;
	ev_io_del(loop, race.fds[other]);
	close(race.fds[other]);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, race.fresh), 0);
	if (race.fresh[0] != race.fds[other]) {
		/* The numbers were not reused; move the fresh socket. */
		ck_assert_int_eq(dup2(race.fresh[0], race.fds[other]),
				 race.fds[other]);
		close(race.fresh[0]);
		race.fresh[0] = race.fds[other];
	}
	ev_io_add(loop, race.fresh[0], EV_READ, io_record, &race.fresh_rec);
	ev_io_del(loop, fd);
}

START_TEST(test_io_delete_from_callback)
{
	int sp[2], i;

	memset(&race, 0, sizeof(race));
	for (i = 0; i < 2; i++) {
		make_pair(sp);
		race.fds[i] = sp[0];
		race.peers[i] = sp[1];
		ck_assert_int_eq(write(sp[1], "r", 1), 1);
		ev_io_add(loop, sp[0], EV_READ, io_race_cb, NULL);
	}
	ev_run_once(loop, 1000);
	ck_assert_int_eq(race.calls[0] + race.calls[1], 1);
	ck_assert_int_eq(race.fresh_rec.calls, 0);
	ev_run_once(loop, 50);
	ck_assert_int_eq(race.fresh_rec.calls, 0);
	ev_io_del(loop, race.fresh[0]);
	close(race.fresh[0]);
	close(race.fresh[1]);
	close(race.fds[race.calls[0] ? 0 : 1]);
	close(race.peers[0]);
	close(race.peers[1]);
}
END_TEST

/* Timers. */

static void timer_log(void *ctx)
{
	log_event(*(const char *)ctx);
}

static void timer_stop(void *ctx)
{
	log_event(*(const char *)ctx);
	ev_stop(loop);
}

START_TEST(test_timer_order)
{
	long long t0 = ev_now_ms();

	ev_timer_add(loop, 60, timer_stop, "e");
	ev_timer_add(loop, 20, timer_log, "b");
	ev_timer_add(loop, 40, timer_log, "d");
	ev_timer_add(loop, 0, timer_log, "a");
	ev_timer_add(loop, 20, timer_log, "c");
	ev_timer_add(loop, -5, timer_log, "A");
	ev_run(loop);
	ck_assert_str_eq(log_buf, "aAbcde");
	ck_assert_int_ge(ev_now_ms() - t0, 60);
	ck_assert_int_lt(ev_now_ms() - t0, 1000);
}
END_TEST

static struct ev_timer *victims[3];

static void timer_killer(void *ctx)
{
	log_event('k');
	ev_timer_del(loop, &victims[0]);
	ev_timer_del(loop, &victims[1]);
	ck_assert_ptr_null(victims[0]);
	ck_assert_ptr_null(victims[1]);
}

START_TEST(test_timer_delete)
{
	struct ev_timer *t;

	t = ev_timer_add(loop, 10, timer_log, "x");
	ev_timer_del(loop, &t);
	ck_assert_ptr_null(t);
	ev_timer_del(loop, &t);		/* NULL handle: no-op */
	ev_timer_add(loop, 10, timer_killer, NULL);
	/* Due at the same moment as the killer, but added later. */
	victims[0] = ev_timer_add(loop, 10, timer_log, "v");
	victims[1] = ev_timer_add(loop, 30, timer_log, "w");
	ev_timer_add(loop, 50, timer_stop, "s");
	ev_run(loop);
	ck_assert_str_eq(log_buf, "ks");
}
END_TEST

static int rearm_count;

static void timer_rearm(void *ctx)
{
	rearm_count++;
	ev_timer_add(loop, 0, timer_rearm, NULL);
}

START_TEST(test_timer_rearm_no_starvation)
{
	struct io_rec rec = { 0 };
	int sp[2];

	rearm_count = 0;
	make_pair(sp);
	ck_assert_int_eq(write(sp[1], "io", 2), 2);
	ev_io_add(loop, sp[0], EV_READ, io_record, &rec);
	ev_timer_add(loop, 0, timer_rearm, NULL);
	ev_run_once(loop, 1000);
	/* One pass runs the timer once and still serves I/O. */
	ck_assert_int_eq(rearm_count, 1);
	ck_assert_int_eq(rec.calls, 1);
	ev_run_once(loop, 1000);
	ck_assert_int_eq(rearm_count, 2);
	ev_io_del(loop, sp[0]);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

struct heap_item {
	struct ev_timer *t;
	long long when;		/* absolute, our clock at ev_timer_add */
	int id;
	bool fired;
};

static struct heap_item items[300];
static long long last_when;
static bool order_ok;

static void heap_fire(void *ctx)
{
	struct heap_item *it = ctx;

	/* Never early; in order, up to the clock ticking during the adds. */
	it->fired = true;
	if (ev_now_ms() < it->when || it->when + 2 < last_when)
		order_ok = false;
	if (it->when > last_when)
		last_when = it->when;
}

START_TEST(test_timer_heap_stress)
{
	long delay;
	int i;

	srand(42);
	order_ok = true;
	last_when = -1;
	for (i = 0; i < 300; i++) {
		items[i].id = i;
		delay = rand() % 100;
		items[i].when = ev_now_ms() + delay;
		items[i].fired = false;
		items[i].t = ev_timer_add(loop, delay, heap_fire, &items[i]);
	}
	for (i = 0; i < 300; i += 1 + rand() % 3)
		ev_timer_del(loop, &items[i].t);
	ev_timer_add(loop, 150, timer_stop, "z");
	ev_run(loop);
	ck_assert(order_ok);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(items[i].fired, items[i].t != NULL);
}
END_TEST

/* Signals. */

static void sig_record(int signo, void *ctx)
{
	log_event(signo == SIGUSR1 ? '1' : signo == SIGUSR2 ? '2' : '?');
	if (ctx != NULL)
		ev_stop(loop);
}

START_TEST(test_signals)
{
	sigset_t cur;
	pid_t pid;
	int status;

	ev_signal_add(loop, SIGUSR1, sig_record, NULL);
	ev_signal_add(loop, SIGUSR2, sig_record, "stop");
	/* Blocked now: raising it does not kill us; the loop delivers. */
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ev_run_once(loop, 1000);
	ck_assert_str_eq(log_buf, "1");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		usleep(20000);
		kill(getppid(), SIGUSR2);
		_exit(0);
	}
	ev_run(loop);
	ck_assert_str_eq(log_buf, "12");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	ck_assert(sigismember(&cur, SIGUSR1));
	ev_signal_unblock(loop);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	ck_assert(!sigismember(&cur, SIGUSR1));
	ck_assert(!sigismember(&cur, SIGUSR2));
}
END_TEST

START_TEST(test_free_restores_mask)
{
	sigset_t cur;

	ev_signal_add(loop, SIGHUP, sig_record, NULL);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	ck_assert(sigismember(&cur, SIGHUP));
	ev_free(&loop);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	ck_assert(!sigismember(&cur, SIGHUP));
	loop = ev_create();
}
END_TEST

/* Stopping and running. */

static void io_stop(int fd, unsigned events, void *ctx)
{
	char c;

	if (read(fd, &c, 1) == 1)
		log_event(c);
	ev_stop(loop);
}

START_TEST(test_stop)
{
	int sp[2];

	make_pair(sp);
	ev_io_add(loop, sp[0], EV_READ, io_stop, NULL);
	ck_assert_int_eq(write(sp[1], "ab", 2), 2);
	ev_run(loop);
	ck_assert_str_eq(log_buf, "a");
	/* The loop can run again after a stop. */
	ev_run(loop);
	ck_assert_str_eq(log_buf, "ab");
	/* A stop before ev_run makes it return at once. */
	ev_io_del(loop, sp[0]);
	ev_stop(loop);
	ev_run(loop);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

START_TEST(test_run_once_timeout)
{
	long long t0 = ev_now_ms(), t1;

	ev_run_once(loop, 100);
	t1 = ev_now_ms();
	ck_assert_int_ge(t1 - t0, 100);
	ck_assert_int_lt(t1 - t0, 1000);
	/* A timer shortens the wait. */
	ev_timer_add(loop, 10, timer_log, "t");
	ev_run_once(loop, 5000);
	ck_assert_int_lt(ev_now_ms() - t1, 1000);
	/* ...and the wait may end early; the timer fires by a later pass. */
	while (log_len == 0)
		ev_run_once(loop, 5000);
	ck_assert_str_eq(log_buf, "t");
	ck_assert_int_ge(ev_now_ms() - t1, 10);
}
END_TEST

static Suite *ev_suite(void)
{
	Suite *s = suite_create("ev");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_io_read);
	tcase_add_test(tc, test_io_replace);
	tcase_add_test(tc, test_io_closed_then_reused);
	tcase_add_test(tc, test_io_delete_from_callback);
	tcase_add_test(tc, test_timer_order);
	tcase_add_test(tc, test_timer_delete);
	tcase_add_test(tc, test_timer_rearm_no_starvation);
	tcase_add_test(tc, test_timer_heap_stress);
	tcase_add_test(tc, test_signals);
	tcase_add_test(tc, test_free_restores_mask);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_run_once_timeout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(ev_suite());
}
