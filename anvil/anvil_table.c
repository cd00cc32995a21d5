/*
 * anvil_table: anvil's counters (anvil.h).
 *
 * One hash table keyed by "service\0client address": per key the number
 * of open connections and the number of connections in the current rate
 * window. A window starts with the first connection after the previous
 * one ended and lasts rate_unit_ms (Postfix's anvil does the same: a
 * client's rate is the connections since its window began, not a
 * sliding average). Per service, the sum of open connections
 * ("active"), for stress decisions.
 *
 * Entries with no open connection stay until their window is over, so a
 * client cannot reset its rate by disconnecting; anvil_table_sweep
 * drops them.
 *
 * XXX: the table grows with the number of distinct clients per time
 * unit and has no cap (nor has Postfix's); an IPv6 flood from many
 * addresses costs anvil about 100 bytes per address and time unit.
 *
 * SECURITY: keys are client addresses and service names from local
 * daemons; they are only compared and hashed, never parsed.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil.h"
#include "mem.h"
#include "str.h"

struct anvil_service {
	char *name;
	long active;
	struct anvil_service *next;
};

struct anvil_entry {
	struct anvil_entry *next;	/* hash chain */
	struct anvil_service *service;
	uint32_t hash;
	long count;
	long rate;
	long long window_start;
	char *client;			/* the address */
};

struct anvil_table {
	struct anvil_entry **buckets;
	size_t nbuckets;
	size_t size;
	long long rate_unit_ms;
	struct anvil_service *services;
	long peak_count, peak_rate;
	char *peak_count_who, *peak_rate_who;
};

#define ANVIL_TABLE_MIN 64

static uint32_t anvil_hash(const char *service, const char *client)
{
	uint32_t h = 2166136261u;
	const char *p;

	for (p = service; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (p = client; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

struct anvil_table *anvil_table_create(long long rate_unit_ms)
{
	struct anvil_table *t = mem_alloc(sizeof(*t));

	t->nbuckets = ANVIL_TABLE_MIN;
	t->buckets = mem_array(t->nbuckets, sizeof(*t->buckets));
	t->rate_unit_ms = rate_unit_ms > 0 ? rate_unit_ms : 60000;
	return t;
}

static void anvil_entry_free(struct anvil_entry *e)
{
	free(e->client);
	free(e);
}

void anvil_table_free(struct anvil_table **tp)
{
	struct anvil_table *t = *tp;
	struct anvil_entry *e, *next;
	struct anvil_service *s, *snext;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++)
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			anvil_entry_free(e);
		}
	for (s = t->services; s != NULL; s = snext) {
		snext = s->next;
		free(s->name);
		free(s);
	}
	free(t->buckets);
	free(t->peak_count_who);
	free(t->peak_rate_who);
	mem_free(*tp);
}

static struct anvil_service *anvil_service(struct anvil_table *t,
					   const char *name, bool create)
{
	struct anvil_service *s;

	for (s = t->services; s != NULL; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	if (!create)
		return NULL;
	s = mem_alloc(sizeof(*s));
	s->name = mem_strdup(name);
	s->next = t->services;
	t->services = s;
	return s;
}

static void anvil_table_grow(struct anvil_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct anvil_entry **b = mem_array(n, sizeof(*b));
	struct anvil_entry *e, *next;

	for (i = 0; i < t->nbuckets; i++)
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

struct anvil_entry *anvil_table_find(struct anvil_table *t,
				     const char *service,
				     const char *client_addr)
{
	uint32_t h = anvil_hash(service, client_addr);
	struct anvil_entry *e;

	for (e = t->buckets[h & (t->nbuckets - 1)]; e != NULL; e = e->next)
		if (e->hash == h && strcmp(e->client, client_addr) == 0 &&
		    strcmp(e->service->name, service) == 0)
			return e;
	return NULL;
}

static void anvil_peak(long value, long *peak, char **who,
		       const struct anvil_entry *e)
{
	struct str s = STR_INIT;

	if (value <= *peak)
		return;
	*peak = value;
	str_printf(&s, "%s:%s", e->service->name, e->client);
	free(*who);
	*who = str_steal(&s);
}

struct anvil_entry *anvil_table_connect(struct anvil_table *t,
					const char *service,
					const char *client_addr,
					long long now_ms,
					struct anvil_counts *counts_r)
{
	struct anvil_entry *e = anvil_table_find(t, service, client_addr);
	size_t b;

	if (e == NULL) {
		if (t->size >= t->nbuckets)
			anvil_table_grow(t);
		e = mem_alloc(sizeof(*e));
		e->service = anvil_service(t, service, true);
		e->client = mem_strdup(client_addr);
		e->hash = anvil_hash(service, client_addr);
		e->window_start = now_ms;
		b = e->hash & (t->nbuckets - 1);
		e->next = t->buckets[b];
		t->buckets[b] = e;
		t->size++;
	}
	if (now_ms - e->window_start >= t->rate_unit_ms) {
		e->window_start = now_ms;
		e->rate = 0;
	}
	e->count++;
	e->rate++;
	e->service->active++;
	anvil_peak(e->count, &t->peak_count, &t->peak_count_who, e);
	anvil_peak(e->rate, &t->peak_rate, &t->peak_rate_who, e);
	counts_r->count = e->count;
	counts_r->rate = e->rate;
	counts_r->active = e->service->active;
	return e;
}

void anvil_table_disconnect(struct anvil_table *t, struct anvil_entry *e)
{
	if (e->count > 0) {
		e->count--;
		e->service->active--;
	}
}

size_t anvil_table_sweep(struct anvil_table *t, long long now_ms)
{
	struct anvil_entry **pp, *e;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		pp = &t->buckets[i];
		while ((e = *pp) != NULL) {
			if (e->count == 0 &&
			    now_ms - e->window_start >= t->rate_unit_ms) {
				*pp = e->next;
				anvil_entry_free(e);
				t->size--;
			} else {
				pp = &e->next;
			}
		}
	}
	return t->size;
}

bool anvil_table_peaks(struct anvil_table *t, long *count_r,
		       char **count_who_r, long *rate_r, char **rate_who_r)
{
	if (t->peak_count == 0)
		return false;
	*count_r = t->peak_count;
	*rate_r = t->peak_rate;
	*count_who_r = t->peak_count_who;
	*rate_who_r = t->peak_rate_who;
	t->peak_count = t->peak_rate = 0;
	t->peak_count_who = t->peak_rate_who = NULL;
	return true;
}
