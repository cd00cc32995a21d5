#ifndef COMMON_SASL_H
#define COMMON_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "str.h"

/* SASL helpers shared by smtpd, the POP3/IMAP front ends and auth:
 * base64 (RFC 4648, strict), the PLAIN (RFC 4616) and LOGIN mechanisms'
 * message decoding, and password hashes with crypt(3).
 *
 * Limits: a SASL response is at most SASL_MAX_RESPONSE bytes of base64;
 * identities and passwords at most SASL_MAX_FIELD bytes each. */

#define SASL_MAX_RESPONSE 12288
#define SASL_MAX_FIELD 1024

/* Append the base64 of data to out. */
void sasl_base64_encode(struct str *out, const void *data, size_t len);
/* Decode strict base64 (no whitespace, correct padding) into out
 * (cleared first). False on malformed input. */
bool sasl_base64_decode(const char *in, size_t len, struct str *out);

struct sasl_plain {
	char authzid[SASL_MAX_FIELD + 1];
	char authcid[SASL_MAX_FIELD + 1];
	char passwd[SASL_MAX_FIELD + 1];
};

/* Decode a PLAIN message "authzid NUL authcid NUL passwd" (already
 * base64-decoded). False with a static reason for missing NULs, empty
 * authcid or password, NULs inside fields, over-long fields. */
bool sasl_plain_parse(const struct str *msg, struct sasl_plain *plain_r,
		      const char **error_r);

/* Hash a password with the strongest method crypt(3) offers here
 * (yescrypt "$y$", else SHA-512-crypt "$6$"). False on failure. */
bool sasl_hash_password(const char *password, struct str *hash_r);
/* Verify password against a crypt(3) hash in constant time (with
 * respect to the hash comparison). A missing hash (unknown user) still
 * spends the time of one hash computation, so timing does not reveal
 * whether the user exists: pass hash = NULL for that. */
bool sasl_verify_password(const char *password, const char *hash);
/* Make the dummy hash of sasl_verify_password now (one hash computation)
 * rather than in the first check, which would be slower than the rest. */
void sasl_prepare(void);
/* Compare two buffers in time independent of where they differ. */
bool sasl_equal(const void *a, const void *b, size_t len);

#endif
