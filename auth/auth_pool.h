#ifndef AUTH_AUTH_POOL_H
#define AUTH_AUTH_POOL_H

#include <stdbool.h>

#include "ev.h"
#include "str.h"

/* Password hashing off the event loop (auth_pool.c): a few threads
 * compute crypt(3) hashes while the loop keeps serving every other
 * front end. Jobs wait in one queue per client (an address; IPv6 by its
 * /64) and the queues take turns, so a client with forty logins in
 * flight delays another client's login by at most the hashes already
 * running, not by its forty.
 *
 * Everything but the hash itself happens in the loop's thread: the
 * callbacks, the table lookups, the counters. */

struct auth_pool;
struct auth_pool_job;

/* The job's turn has come (in the loop's thread, just before hashing):
 * put the user's crypt hash in hash_r, or leave it empty to spend the
 * same time on a dummy hash (an unknown user). Return false to end the
 * job here without hashing (a lockout that began while it waited, a
 * table error); done is not called then, and the job is gone. */
typedef bool auth_pool_start_cb(void *ctx, struct str *hash_r);
/* The hash is computed: match tells whether the password fits. */
typedef void auth_pool_done_cb(void *ctx, bool match);

/* Start workers threads (0: one per online CPU, at most
 * AUTH_POOL_MAX_WORKERS); completions arrive through loop. */
#define AUTH_POOL_MAX_WORKERS 32
struct auth_pool *auth_pool_create(struct ev_loop *loop, unsigned workers);
/* Stop the threads (after their current hash) and drop every job. */
void auth_pool_free(struct auth_pool **pool);
unsigned auth_pool_workers(const struct auth_pool *pool);

/* Queue a check of password (copied, and wiped when done) for client
 * (an IP address as text: it names the queue). The callbacks run later,
 * from the loop, never inside this call; start returning false and done
 * both end the job (the caller forgets its pointer there). */
struct auth_pool_job *auth_pool_submit(struct auth_pool *pool,
				       const char *client,
				       const char *password,
				       auth_pool_start_cb *start,
				       auth_pool_done_cb *done, void *ctx);
/* Forget a job whose ctx is going away: no callback will run. A job
 * being hashed finishes in its thread and is thrown away. */
void auth_pool_cancel(struct auth_pool *pool, struct auth_pool_job **job);

/* The name of client's queue: IPv4 (and anything else) as given, IPv6
 * cut to its /64, since one host usually has a whole /64 to pick from. */
void auth_pool_client_key(const char *client, struct str *key_r);

#endif
