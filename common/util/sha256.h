#ifndef COMMON_UTIL_SHA256_H
#define COMMON_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4), for identifiers derived from data (the store's
 * EMAILIDs): a few hundred bytes of code, so the processes that need
 * nothing else of libcrypto do not map and relocate it at every start.
 * Not for keys or signatures: those stay with OpenSSL (common/security). */

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* taken so far */
	unsigned char block[64];
	size_t fill;		/* bytes in block */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_LEN]);
/* The digest of len bytes at data. */
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);

#endif
