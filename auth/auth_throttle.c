/*
 * auth_throttle: failed logins counted per client address and per
 * address+user, the reply delay they earn, and temporary lockouts.
 *
 * Interface (auth.h): auth_throttle_create/free, auth_throttle_delay,
 * auth_throttle_locked, auth_throttle_fail, auth_throttle_success,
 * auth_throttle_expire, auth_throttle_count, auth_parse_msec.
 *
 * Each entry remembers a failure count, the time of the last failure and
 * the end of a lockout. Failures are forgotten after a quiet window
 * (no failure for window_ms), so a slow, steady attacker still
 * accumulates them while a user who mistyped last week starts clean. The
 * delay of a failure's reply is delay_ms doubled for each further recent
 * failure of the same address (the larger of its address count and its
 * address+user count), capped at delay_max_ms. Time is passed in, so all
 * of this is pure and tested without sleeping.
 *
 * Entries live in a chained hash table keyed by "ADDR" and "ADDR\nUSER"
 * (an address never contains LF, so keys cannot collide), hashed with a
 * per-process random seed so a client cannot aim at one chain. The table
 * is bounded: when full, expired entries are dropped, and if it is still
 * full a failure is not recorded but gets the longest delay.
 *
 * SECURITY: keys are client data (address from the front end, user name
 * from the client); they are only hashed and compared. Memory is bounded
 * by max_entries.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "mem.h"
#include "str.h"

struct auth_entry {
	struct auth_entry *next;
	char *key;
	long failures;
	long long last_ms;
	long long locked_until;	/* 0: not locked */
};

struct auth_throttle {
	struct auth_throttle_cfg cfg;
	struct auth_entry **buckets;
	size_t nbuckets;	/* a power of two */
	size_t count;
	size_t max;
	uint64_t seed;
};

static uint64_t auth_hash(const struct auth_throttle *t, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ t->seed;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

struct auth_throttle *auth_throttle_create(const struct auth_throttle_cfg
					   *cfg, size_t max_entries)
{
	struct auth_throttle *t = mem_alloc(sizeof(*t));

	t->cfg = *cfg;
	t->max = max_entries;
	t->nbuckets = 1024;
	while (t->nbuckets < max_entries / 4 && t->nbuckets < (1 << 20))
		t->nbuckets *= 2;
	t->buckets = mem_array(t->nbuckets, sizeof(*t->buckets));
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t;
	return t;
}

void auth_throttle_free(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;
	struct auth_entry *e, *next;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(t->buckets);
	mem_free(*tp);
}

long auth_throttle_delay(const struct auth_throttle_cfg *cfg, long failures)
{
	long delay = cfg->delay_ms;

	if (failures <= 0 || delay <= 0)
		return 0;
	for (long i = 1; i < failures && delay < cfg->delay_max_ms; i++)
		delay *= 2;
	return delay < cfg->delay_max_ms ? delay : cfg->delay_max_ms;
}

static void auth_key(struct str *key, const char *addr, const char *user)
{
	str_set(key, addr);
	if (user != NULL) {
		str_append_c(key, '\n');
		str_append(key, user);
	}
}

static struct auth_entry **auth_find(struct auth_throttle *t,
				     const char *key)
{
	struct auth_entry **ep = &t->buckets[auth_hash(t, key) &
					     (t->nbuckets - 1)];

	while (*ep != NULL && strcmp((*ep)->key, key) != 0)
		ep = &(*ep)->next;
	return ep;
}

/* Bring an entry up to now: an ended lockout and a quiet window both
 * clear its count. True if nothing is left to remember. */
static bool auth_entry_age(const struct auth_throttle *t,
			   struct auth_entry *e, long long now_ms)
{
	if (e->locked_until != 0 && e->locked_until <= now_ms) {
		e->locked_until = 0;
		e->failures = 0;
	}
	if (e->locked_until == 0 && now_ms - e->last_ms >= t->cfg.window_ms)
		e->failures = 0;
	return e->failures == 0 && e->locked_until == 0;
}

static bool auth_entry_locked(struct auth_throttle *t, const char *key,
			      long long now_ms)
{
	struct auth_entry *e = *auth_find(t, key);

	return e != NULL && !auth_entry_age(t, e, now_ms) &&
	       e->locked_until != 0;
}

enum auth_lock auth_throttle_locked(struct auth_throttle *t, const char *addr,
				    const char *user, long long now_ms)
{
	struct str key = STR_INIT;
	enum auth_lock lock = AUTH_LOCK_NONE;

	auth_key(&key, addr, NULL);
	if (auth_entry_locked(t, str_c(&key), now_ms)) {
		lock = AUTH_LOCK_ADDRESS;
	} else if (user != NULL) {
		auth_key(&key, addr, user);
		if (auth_entry_locked(t, str_c(&key), now_ms))
			lock = AUTH_LOCK_USER;
	}
	str_release(&key);
	return lock;
}

/* The entry of key, created if there is room; NULL if the table is
 * full. */
static struct auth_entry *auth_entry_get(struct auth_throttle *t,
					 const char *key)
{
	struct auth_entry **ep = auth_find(t, key);

	if (*ep != NULL)
		return *ep;
	if (t->count >= t->max)
		return NULL;
	*ep = mem_alloc(sizeof(**ep));
	(*ep)->key = mem_strdup(key);
	t->count++;
	return *ep;
}

/* Count one failure on an entry; true if it just reached threshold. */
static bool auth_entry_fail(const struct auth_throttle *t,
			    struct auth_entry *e, long threshold,
			    long long now_ms)
{
	(void)auth_entry_age(t, e, now_ms);
	e->failures++;
	e->last_ms = now_ms;
	if (threshold > 0 && e->failures >= threshold &&
	    e->locked_until == 0) {
		e->locked_until = now_ms + t->cfg.lockout_ms;
		return true;
	}
	return false;
}

void auth_throttle_fail(struct auth_throttle *t, const char *addr,
			const char *user, long long now_ms,
			struct auth_fail_result *r)
{
	struct str key = STR_INIT;
	struct auth_entry *ea, *eu = NULL;
	long n;

	memset(r, 0, sizeof(*r));
	/* Make room first: expiring later could free a new, empty entry. */
	if (t->count + 2 > t->max)
		auth_throttle_expire(t, now_ms);
	auth_key(&key, addr, NULL);
	ea = auth_entry_get(t, str_c(&key));
	if (ea != NULL && user != NULL) {
		auth_key(&key, addr, user);
		eu = auth_entry_get(t, str_c(&key));
	}
	str_release(&key);
	if (ea == NULL || (user != NULL && eu == NULL)) {
		r->delay_ms = t->cfg.delay_ms > 0 ? t->cfg.delay_max_ms : 0;
		return;
	}
	if (auth_entry_fail(t, ea, t->cfg.addr_threshold, now_ms))
		r->locked = AUTH_LOCK_ADDRESS;
	r->addr_failures = ea->failures;
	if (eu != NULL) {
		if (auth_entry_fail(t, eu, t->cfg.user_threshold, now_ms) &&
		    r->locked == AUTH_LOCK_NONE)
			r->locked = AUTH_LOCK_USER;
		r->user_failures = eu->failures;
	}
	n = r->addr_failures > r->user_failures ? r->addr_failures
						: r->user_failures;
	r->delay_ms = auth_throttle_delay(&t->cfg, n);
}

static void auth_entry_remove(struct auth_throttle *t,
			      struct auth_entry **ep)
{
	struct auth_entry *e = *ep;

	*ep = e->next;
	free(e->key);
	free(e);
	t->count--;
}

void auth_throttle_success(struct auth_throttle *t, const char *addr,
			   const char *user)
{
	struct str key = STR_INIT;
	struct auth_entry **ep;

	auth_key(&key, addr, user);
	ep = auth_find(t, str_c(&key));
	if (*ep != NULL)
		auth_entry_remove(t, ep);
	str_release(&key);
}

void auth_throttle_expire(struct auth_throttle *t, long long now_ms)
{
	struct auth_entry **ep;

	for (size_t i = 0; i < t->nbuckets; i++) {
		ep = &t->buckets[i];
		while (*ep != NULL) {
			if (auth_entry_age(t, *ep, now_ms))
				auth_entry_remove(t, ep);
			else
				ep = &(*ep)->next;
		}
	}
}

size_t auth_throttle_count(const struct auth_throttle *t)
{
	return t->count;
}

bool auth_parse_msec(const char *text, long *msec_r)
{
	size_t len = strlen(text);
	char num[32];
	long unit = 1000, v;

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, text, len + 1);
	if (len > 2 && strcmp(num + len - 2, "ms") == 0) {
		unit = 1;
		num[len - 2] = '\0';
	} else if (num[len - 1] == 's') {
		num[len - 1] = '\0';
	}
	if (!str_to_long(num, 0, 86400000L / unit, &v))
		return false;
	*msec_r = v * unit;
	return true;
}
