/*
 * tls_ticket: per-service, rotated session-ticket keys (tls_ticket.h).
 *
 * Interface: tls_ticket_keys_init, _update, _find, _wipe.
 *
 * Derivation (HMAC-SHA256 throughout, H(key, label)):
 *   root         = H(file secret, "correo ticket root\0" SERVICE)
 *   child(n, b)  = H(n, "correo ticket node 0" or "... 1")
 *   leaf(e)      = the 32 children from root along e's bits, high first
 *   key(e)       = name H(leaf, "name")[0..16], H(leaf, "hmac"),
 *                  H(leaf, "aes")
 * A process computes root once, walks to the previous epoch's leaf,
 * keeps the right-hand siblings of that path (the nodes of all later
 * epochs) and throws root away. Moving to a later epoch starts from the
 * kept node where the two epochs' paths part and drops every node left
 * of the new path. That is at most 32 HMACs per step and per start,
 * whatever the date or the interval (a hash chain from a fixed start
 * would cost one step per elapsed epoch).
 *
 * SECURITY: holds ticket secrets; every node and key is wiped with
 * OPENSSL_cleanse when it is replaced or dropped. The file secret is
 * the caller's; only root is derived from it, and root is wiped before
 * init returns. Service names are not secret (they only separate the
 * trees).
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "msg.h"
#include "str.h"
#include "tls_ticket.h"

#define TLS_TICKET_MAX_SERVICE 256

static void tls_ticket_hmac(const void *key, size_t key_len,
			    const void *data, size_t len,
			    unsigned char out[TLS_TICKET_SECRET_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (HMAC(EVP_sha256(), key, (int)key_len, data, len, md,
		 &md_len) == NULL || md_len != TLS_TICKET_SECRET_LEN)
		msg_fatal("TLS session tickets: cannot compute HMAC-SHA256");
	memcpy(out, md, TLS_TICKET_SECRET_LEN);
	OPENSSL_cleanse(md, sizeof(md));
}

static void tls_ticket_child(const unsigned char *node, unsigned bit,
			     unsigned char out[TLS_TICKET_SECRET_LEN])
{
	static const char *const label[2] = {
		"correo ticket node 0", "correo ticket node 1",
	};

	tls_ticket_hmac(node, TLS_TICKET_SECRET_LEN, label[bit & 1],
			strlen(label[bit & 1]), out);
}

static void tls_ticket_leaf_key(const unsigned char *leaf,
				struct tls_ticket_key *key)
{
	unsigned char name[TLS_TICKET_SECRET_LEN];

	tls_ticket_hmac(leaf, TLS_TICKET_SECRET_LEN, "name", 4, name);
	memcpy(key->name, name, TLS_TICKET_NAME_LEN);
	OPENSSL_cleanse(name, sizeof(name));
	tls_ticket_hmac(leaf, TLS_TICKET_SECRET_LEN, "hmac", 4, key->hmac);
	tls_ticket_hmac(leaf, TLS_TICKET_SECRET_LEN, "aes", 3, key->aes);
}

/* From node (the subtree of epochs sharing epoch's bits above level
 * top), walk down to epoch's leaf, keeping right-hand siblings; the
 * leaf's key becomes cur, the old cur prev. */
static void tls_ticket_descend(struct tls_ticket_keys *k,
			       const unsigned char *node, int top,
			       uint32_t epoch)
{
	unsigned char cur[TLS_TICKET_SECRET_LEN], next[TLS_TICKET_SECRET_LEN];
	int b;

	memcpy(cur, node, sizeof(cur));
	for (b = top - 1; b >= 0; b--) {
		if (((epoch >> b) & 1) == 0) {
			tls_ticket_child(cur, 1, k->node[b]);
			k->have_node |= (uint32_t)1 << b;
			tls_ticket_child(cur, 0, next);
		} else {
			tls_ticket_child(cur, 1, next);
		}
		memcpy(cur, next, sizeof(cur));
	}
	k->prev = k->cur;
	tls_ticket_leaf_key(cur, &k->cur);
	k->epoch = epoch;
	OPENSSL_cleanse(cur, sizeof(cur));
	OPENSSL_cleanse(next, sizeof(next));
}

/* Move to a later epoch through the node where the paths part. */
static void tls_ticket_advance(struct tls_ticket_keys *k, uint32_t epoch)
{
	unsigned char start[TLS_TICKET_SECRET_LEN];
	int b = 31 - __builtin_clz(epoch ^ k->epoch);
	int j;

	/* epoch > k->epoch, so at bit b the old epoch has 0, the new 1:
	 * node[b] is kept for exactly this. */
	if ((k->have_node & ((uint32_t)1 << b)) == 0)
		msg_panic("TLS session tickets: no node at level %d", b);
	memcpy(start, k->node[b], sizeof(start));
	for (j = 0; j <= b; j++) {
		OPENSSL_cleanse(k->node[j], sizeof(k->node[j]));
		k->have_node &= ~((uint32_t)1 << j);
	}
	tls_ticket_descend(k, start, b, epoch);
	k->have_prev = true;
	OPENSSL_cleanse(start, sizeof(start));
}

static uint32_t tls_ticket_epoch(long interval, long long now)
{
	long long e = now > 0 ? now / interval : 0;

	return e > (long long)UINT32_MAX ? UINT32_MAX : (uint32_t)e;
}

void tls_ticket_keys_init(struct tls_ticket_keys *k, const void *secret,
			  size_t len, const char *service, long interval,
			  long long now)
{
	unsigned char root[TLS_TICKET_SECRET_LEN];
	struct str label = STR_INIT;
	uint32_t epoch;

	memset(k, 0, sizeof(*k));
	k->interval = interval > 0 ? interval : 1;
	epoch = tls_ticket_epoch(k->interval, now);
	str_append(&label, "correo ticket root");
	str_append_n(&label, "", 1);
	str_append_n(&label, service, strnlen(service,
					      TLS_TICKET_MAX_SERVICE));
	tls_ticket_hmac(secret, len, label.data, label.len, root);
	str_release(&label);
	/* Start one epoch back so the previous key is known too. */
	tls_ticket_descend(k, root, TLS_TICKET_LEVELS,
			   epoch > 0 ? epoch - 1 : 0);
	OPENSSL_cleanse(root, sizeof(root));
	if (epoch > 0)
		tls_ticket_advance(k, epoch);
}

void tls_ticket_keys_update(struct tls_ticket_keys *k, long long now)
{
	uint32_t epoch = tls_ticket_epoch(k->interval, now);

	if (epoch <= k->epoch)
		return;
	if (epoch - 1 > k->epoch)
		tls_ticket_advance(k, epoch - 1);
	tls_ticket_advance(k, epoch);
}

const struct tls_ticket_key *tls_ticket_keys_find(
	const struct tls_ticket_keys *k,
	const unsigned char name[TLS_TICKET_NAME_LEN], bool *renew_r)
{
	*renew_r = false;
	if (CRYPTO_memcmp(name, k->cur.name, TLS_TICKET_NAME_LEN) == 0)
		return &k->cur;
	if (k->have_prev &&
	    CRYPTO_memcmp(name, k->prev.name, TLS_TICKET_NAME_LEN) == 0) {
		*renew_r = true;
		return &k->prev;
	}
	return NULL;
}

void tls_ticket_keys_wipe(struct tls_ticket_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}
