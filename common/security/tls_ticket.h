#ifndef COMMON_TLS_TICKET_H
#define COMMON_TLS_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Session-ticket keys of one service, rotated (tls_ticket.c; used by
 * tls.c, exposed for the unit tests).
 *
 * Time is cut into epochs of `interval` seconds (epoch = now / interval).
 * Each epoch has its own key, derived from the ticket key file's secret
 * and the service's name, so every process of one service (prefork
 * children, restarts) agrees on it without talking to the others, and
 * another service's keys are unrelated. New tickets are encrypted with
 * the current epoch's key; the previous epoch's key still decrypts (and
 * asks for a fresh ticket), older ones are gone.
 *
 * The keys form a binary tree over the 2^32 epochs: a process keeps only
 * the nodes that lead to the current and later epochs (at most 32), never
 * the file's secret or an earlier epoch's node, so what a compromised
 * process holds decrypts no ticket issued more than one interval before
 * the compromise, and nothing of another service. */

#define TLS_TICKET_NAME_LEN 16
#define TLS_TICKET_SECRET_LEN 32
#define TLS_TICKET_LEVELS 32

struct tls_ticket_key {
	unsigned char name[TLS_TICKET_NAME_LEN];	/* in the ticket */
	unsigned char hmac[TLS_TICKET_SECRET_LEN];	/* HMAC-SHA256 key */
	unsigned char aes[TLS_TICKET_SECRET_LEN];	/* AES-256-CBC key */
};

struct tls_ticket_keys {
	long interval;			/* seconds per epoch, > 0 */
	uint32_t epoch;			/* of cur */
	struct tls_ticket_key cur, prev;
	bool have_prev;
	/* node[b], if bit b of have_node is set: the tree node of the
	 * epochs that share epoch's bits above b and have bit b set. */
	unsigned char node[TLS_TICKET_LEVELS][TLS_TICKET_SECRET_LEN];
	uint32_t have_node;
};

/* Derive the keys of service (any string, "" allowed) from the secret
 * (the key file's bytes) for the epoch of now, with the previous epoch's
 * key. The caller wipes secret afterwards. OpenSSL failing to compute
 * HMAC-SHA256 is fatal, like running out of memory. */
void tls_ticket_keys_init(struct tls_ticket_keys *k, const void *secret,
			  size_t len, const char *service, long interval,
			  long long now);
/* Move to the epoch of now if it is later (never back). */
void tls_ticket_keys_update(struct tls_ticket_keys *k, long long now);
/* The key named name: the current one, or the previous one with
 * *renew_r set (the client should get a new ticket); NULL if neither. */
const struct tls_ticket_key *tls_ticket_keys_find(
	const struct tls_ticket_keys *k,
	const unsigned char name[TLS_TICKET_NAME_LEN], bool *renew_r);
/* Wipe every key and node. */
void tls_ticket_keys_wipe(struct tls_ticket_keys *k);

#endif
