/*
 * auth_pool: crypt(3) password checks in worker threads, scheduled
 * fairly between clients (auth_pool.h).
 *
 * Interface: auth_pool_create, auth_pool_free, auth_pool_workers,
 * auth_pool_submit, auth_pool_cancel, auth_pool_client_key.
 *
 * Why threads: a yescrypt hash costs tens of milliseconds of CPU, and
 * auth is one process (its failure counters are shared without IPC).
 * Hashing in the event loop served logins one hash at a time, so forty
 * bad logins made every good one wait for forty hashes. Threads keep the
 * password table and the counters in this one process (forked workers
 * would each need the table, or the passwords sent to them); the only
 * work they do is sasl_verify_password on copies of the password and the
 * hash.
 *
 * Scheduling (start-time fair queueing, one queue per client): every
 * queue has a tag, the virtual time at which its next job may start;
 * the job dispatched next is the head of the queue with the smallest tag
 * (the oldest queue on a tie); serving a job moves the virtual time to
 * its tag and its queue's tag one further. A queue that gets its first
 * job starts at the current virtual time, or later if it was served
 * recently (an empty queue is kept until the virtual time passes its
 * tag), so a newcomer goes before a queue that has just been served but
 * a client cannot jump the line by letting its queue run dry. With a
 * flood from one address and one login from elsewhere, the login waits
 * only for the hashes already running.
 *
 * Threads talk to the loop through two lists under one mutex: todo (at
 * most one job per idle worker; the loop decides the order) and done,
 * announced on an eventfd the loop watches. A submit only pokes that
 * eventfd too, so the callbacks always run from the loop, never inside
 * auth_pool_submit (where the caller may still be using its state).
 * Jobs are freed only by the loop's thread; a cancelled running job is
 * dropped when it comes back.
 *
 * SECURITY: runs in auth (correo-auth), never root. Passwords and hashes
 * are copied into the job and wiped (explicit_bzero) as soon as the hash
 * is computed, and on cancel. Worker threads block every signal, so
 * signals keep arriving through the loop's signalfd, and never log.
 * XXX: one queue per address (IPv6 per /64) is fair between hosts, not
 * against a botnet; the lockouts of auth_throttle.c remain the defence
 * there.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "auth_pool.h"
#include "mem.h"
#include "msg.h"
#include "sasl.h"

struct auth_queue;

struct auth_pool_job {
	struct auth_pool_job *next;	/* in a queue, todo or done */
	struct auth_queue *queue;	/* while waiting in it */
	char *password;
	struct str hash;
	bool match;			/* set by the worker */
	bool running;			/* loop thread only */
	bool cancelled;			/* loop thread only */
	auth_pool_start_cb *start;
	auth_pool_done_cb *done;
	void *ctx;
};

struct auth_queue {
	struct auth_queue *next;
	char *key;
	uint64_t tag;			/* start tag of the next job */
	struct auth_pool_job *head, *tail;
};

struct auth_pool {
	struct ev_loop *loop;
	int efd;
	pthread_t threads[AUTH_POOL_MAX_WORKERS];
	unsigned nworkers, nbusy;
	struct auth_queue *queues;	/* in order of creation */
	uint64_t vtime;
	bool dispatching;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct auth_pool_job *todo, *todo_tail;	/* under lock */
	struct auth_pool_job *done, *done_tail;	/* under lock */
	bool stop;				/* under lock */
};

static void auth_pool_job_free(struct auth_pool_job *job)
{
	if (job->password != NULL)
		explicit_bzero(job->password, strlen(job->password));
	free(job->password);
	if (job->hash.data != NULL)
		explicit_bzero(job->hash.data, job->hash.cap);
	str_release(&job->hash);
	free(job);
}

/* ---- worker threads ---- */

static void auth_pool_push(struct auth_pool_job **head,
			   struct auth_pool_job **tail,
			   struct auth_pool_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

static struct auth_pool_job *auth_pool_pop(struct auth_pool_job **head,
					   struct auth_pool_job **tail)
{
	struct auth_pool_job *job = *head;

	if (job != NULL) {
		*head = job->next;
		if (*head == NULL)
			*tail = NULL;
		job->next = NULL;
	}
	return job;
}

static void *auth_pool_worker(void *arg)
{
	struct auth_pool *pool = arg;
	struct auth_pool_job *job;
	uint64_t one = 1;
	ssize_t ret;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->todo == NULL && !pool->stop)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->stop)
			break;
		job = auth_pool_pop(&pool->todo, &pool->todo_tail);
		pthread_mutex_unlock(&pool->lock);
		job->match = sasl_verify_password(job->password,
						  job->hash.len > 0 ?
						  str_c(&job->hash) : NULL);
		explicit_bzero(job->password, strlen(job->password));
		if (job->hash.data != NULL)
			explicit_bzero(job->hash.data, job->hash.cap);
		pthread_mutex_lock(&pool->lock);
		auth_pool_push(&pool->done, &pool->done_tail, job);
		do
			ret = write(pool->efd, &one, sizeof(one));
		while (ret < 0 && errno == EINTR);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* ---- scheduling, in the loop's thread ---- */

static struct auth_queue *auth_pool_queue(struct auth_pool *pool,
					  const char *key)
{
	struct auth_queue *q, **tail = &pool->queues;

	for (q = pool->queues; q != NULL; q = q->next) {
		if (strcmp(q->key, key) == 0)
			return q;
		tail = &q->next;
	}
	q = mem_alloc(sizeof(*q));
	q->key = mem_strdup(key);
	q->tag = pool->vtime;
	*tail = q;
	return q;
}

/* The waiting job to start next, taken out of its queue; empty queues
 * that no longer hold anything back are dropped on the way. */
static struct auth_pool_job *auth_pool_next(struct auth_pool *pool)
{
	struct auth_queue **pp = &pool->queues, *q, *best = NULL;
	struct auth_pool_job *job;

	while ((q = *pp) != NULL) {
		if (q->head == NULL && q->tag <= pool->vtime) {
			*pp = q->next;
			free(q->key);
			free(q);
			continue;
		}
		if (q->head != NULL && (best == NULL || q->tag < best->tag))
			best = q;
		pp = &q->next;
	}
	if (best == NULL)
		return NULL;
	job = best->head;
	best->head = job->next;
	if (best->head == NULL)
		best->tail = NULL;
	job->next = NULL;
	job->queue = NULL;
	pool->vtime = best->tag++;
	return job;
}

static void auth_pool_dispatch(struct auth_pool *pool)
{
	struct auth_pool_job *job;

	/* A callback may submit (or cancel): the loop below sees it. */
	if (pool->dispatching)
		return;
	pool->dispatching = true;
	while (pool->nbusy < pool->nworkers &&
	       (job = auth_pool_next(pool)) != NULL) {
		if (!job->start(job->ctx, &job->hash)) {
			auth_pool_job_free(job);
			continue;
		}
		job->running = true;
		pool->nbusy++;
		pthread_mutex_lock(&pool->lock);
		auth_pool_push(&pool->todo, &pool->todo_tail, job);
		pthread_cond_signal(&pool->cond);
		pthread_mutex_unlock(&pool->lock);
	}
	pool->dispatching = false;
}

static void auth_pool_completed(int fd, unsigned events, void *ctx)
{
	struct auth_pool *pool = ctx;
	struct auth_pool_job *list, *job;
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		msg_warn("auth: read hashing pool eventfd: %m");
	pthread_mutex_lock(&pool->lock);
	list = pool->done;
	pool->done = pool->done_tail = NULL;
	pthread_mutex_unlock(&pool->lock);
	pool->dispatching = true;	/* start nothing until all are in */
	while ((job = list) != NULL) {
		list = job->next;
		pool->nbusy--;
		if (!job->cancelled)
			job->done(job->ctx, job->match);
		auth_pool_job_free(job);
	}
	pool->dispatching = false;
	auth_pool_dispatch(pool);
}

/* Have the loop dispatch soon: callbacks never run inside submit. */
static void auth_pool_kick(struct auth_pool *pool)
{
	uint64_t one = 1;

	if (write(pool->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		msg_warn("auth: write hashing pool eventfd: %m");
}

/* ---- interface ---- */

struct auth_pool *auth_pool_create(struct ev_loop *loop, unsigned workers)
{
	struct auth_pool *pool = mem_alloc(sizeof(*pool));
	sigset_t all, old;
	long cpus;
	int err;

	if (workers == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		workers = cpus > 0 ? (unsigned)cpus : 1;
	}
	if (workers > AUTH_POOL_MAX_WORKERS)
		workers = AUTH_POOL_MAX_WORKERS;
	pool->loop = loop;
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0)
		msg_fatal("auth: eventfd: %m");
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; pool->nworkers < workers; pool->nworkers++) {
		err = pthread_create(&pool->threads[pool->nworkers], NULL,
				     auth_pool_worker, pool);
		if (err != 0) {
			errno = err;
			msg_fatal("auth: start hashing thread: %m");
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ev_io_add(loop, pool->efd, EV_READ, auth_pool_completed, pool);
	return pool;
}

unsigned auth_pool_workers(const struct auth_pool *pool)
{
	return pool->nworkers;
}

struct auth_pool_job *auth_pool_submit(struct auth_pool *pool,
				       const char *client,
				       const char *password,
				       auth_pool_start_cb *start,
				       auth_pool_done_cb *done, void *ctx)
{
	struct auth_pool_job *job = mem_alloc(sizeof(*job));
	struct str key = STR_INIT;
	struct auth_queue *q;

	job->password = mem_strdup(password);
	job->start = start;
	job->done = done;
	job->ctx = ctx;
	auth_pool_client_key(client, &key);
	q = auth_pool_queue(pool, str_c(&key));
	str_release(&key);
	/* An empty queue starts now, or where its last job left it. */
	if (q->head == NULL && q->tag < pool->vtime)
		q->tag = pool->vtime;
	job->queue = q;
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	auth_pool_kick(pool);
	return job;
}

void auth_pool_cancel(struct auth_pool *pool, struct auth_pool_job **jobp)
{
	struct auth_pool_job *job = *jobp, **pp, *prev = NULL;
	struct auth_queue *q;

	(void)pool;
	if (job == NULL)
		return;
	*jobp = NULL;
	if (job->running) {
		/* Its thread still reads the password: it is wiped and
		 * freed when the job comes back. */
		job->cancelled = true;
		return;
	}
	q = job->queue;
	for (pp = &q->head; *pp != job; pp = &(*pp)->next)
		prev = *pp;
	*pp = job->next;
	if (q->tail == job)
		q->tail = prev;
	auth_pool_job_free(job);
}

void auth_pool_free(struct auth_pool **poolp)
{
	struct auth_pool *pool = *poolp;
	struct auth_pool_job *job;
	struct auth_queue *q;
	unsigned i;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->nworkers; i++)
		pthread_join(pool->threads[i], NULL);
	ev_io_del(pool->loop, pool->efd);
	close(pool->efd);
	while ((job = auth_pool_pop(&pool->todo, &pool->todo_tail)) != NULL)
		auth_pool_job_free(job);
	while ((job = auth_pool_pop(&pool->done, &pool->done_tail)) != NULL)
		auth_pool_job_free(job);
	while ((q = pool->queues) != NULL) {
		pool->queues = q->next;
		while ((job = q->head) != NULL) {
			q->head = job->next;
			auth_pool_job_free(job);
		}
		free(q->key);
		free(q);
	}
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	mem_free(*poolp);
}

void auth_pool_client_key(const char *client, struct str *key_r)
{
	struct in6_addr a;
	char buf[INET6_ADDRSTRLEN];

	str_clear(key_r);
	if (strchr(client, ':') != NULL && inet_pton(AF_INET6, client, &a) == 1
	    && !IN6_IS_ADDR_V4MAPPED(&a)) {
		memset(a.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a, buf, sizeof(buf)) != NULL) {
			str_printf(key_r, "%s/64", buf);
			return;
		}
	}
	str_append(key_r, client);
}
