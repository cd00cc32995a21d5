/*
 * sasl: base64, SASL PLAIN decoding and crypt(3) password hashes
 * (sasl.h).
 *
 * SECURITY: every input here comes from an unauthenticated client.
 * Decoding is strict and bounded; fields are copied only after their
 * lengths are checked. Password verification compares the whole hash in
 * constant time and spends the same work for unknown users (a dummy hash
 * is verified), so neither replies nor timing tell whether a user exists.
 * sasl_verify_password may run in several threads at once (auth's
 * hashing pool): it uses crypt_r with its own buffer.
 */
#include "config.h"

#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mem.h"
#include "sasl.h"

static const char sasl_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void sasl_base64_encode(struct str *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;
	char q[4];

	for (i = 0; i + 2 < len; i += 3) {
		q[0] = sasl_b64[p[i] >> 2];
		q[1] = sasl_b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		q[2] = sasl_b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		q[3] = sasl_b64[p[i + 2] & 63];
		str_append_n(out, q, 4);
	}
	if (len - i == 1) {
		q[0] = sasl_b64[p[i] >> 2];
		q[1] = sasl_b64[(p[i] & 3) << 4];
		q[2] = q[3] = '=';
		str_append_n(out, q, 4);
	} else if (len - i == 2) {
		q[0] = sasl_b64[p[i] >> 2];
		q[1] = sasl_b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		q[2] = sasl_b64[(p[i + 1] & 15) << 2];
		q[3] = '=';
		str_append_n(out, q, 4);
	}
}

static int sasl_b64_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(sasl_b64, c);
	return p != NULL ? (int)(p - sasl_b64) : -1;
}

bool sasl_base64_decode(const char *in, size_t len, struct str *out)
{
	size_t i;
	int v[4], k, pad;
	unsigned char b[3];

	str_clear(out);
	if (len % 4 != 0 || len > SASL_MAX_RESPONSE)
		return false;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = sasl_b64_value(in[i + k])) < 0)
				return false;
		}
		b[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		b[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		b[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		/* Non-canonical encodings (stray bits before padding)
		 * are malformed. */
		if ((pad == 1 && (v[2] & 3) != 0) ||
		    (pad == 2 && (v[1] & 15) != 0))
			return false;
		str_append_n(out, b, (size_t)(3 - pad));
	}
	return true;
}

static bool sasl_copy_field(char *dst, const char *src, size_t len)
{
	if (len > SASL_MAX_FIELD)
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

bool sasl_plain_parse(const struct str *msg, struct sasl_plain *plain_r,
		      const char **error_r)
{
	const char *p = str_c(msg), *end = p + msg->len;
	const char *nul1 = memchr(p, '\0', msg->len), *nul2;

	memset(plain_r, 0, sizeof(*plain_r));
	if (nul1 == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1))) == NULL) {
		*error_r = "malformed PLAIN response (missing NUL)";
		return false;
	}
	if (memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL) {
		*error_r = "malformed PLAIN response (extra NUL)";
		return false;
	}
	if (nul2 == nul1 + 1 || nul2 + 1 == end) {
		*error_r = "malformed PLAIN response (empty user or password)";
		return false;
	}
	if (!sasl_copy_field(plain_r->authzid, p, (size_t)(nul1 - p)) ||
	    !sasl_copy_field(plain_r->authcid, nul1 + 1,
			     (size_t)(nul2 - nul1 - 1)) ||
	    !sasl_copy_field(plain_r->passwd, nul2 + 1,
			     (size_t)(end - nul2 - 1))) {
		*error_r = "malformed PLAIN response (field too long)";
		return false;
	}
	return true;
}

bool sasl_hash_password(const char *password, struct str *hash_r)
{
	static const char *const prefixes[] = { "$y$", "$6$", NULL };
	struct crypt_data *cd = mem_alloc(sizeof(*cd));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h = NULL;
	int i;

	for (i = 0; prefixes[i] != NULL && h == NULL; i++) {
		if (crypt_gensalt_rn(prefixes[i], 0, NULL, 0, salt,
				     sizeof(salt)) == NULL)
			continue;
		h = crypt_r(password, salt, cd);
		if (h != NULL && h[0] == '*')
			h = NULL;
	}
	if (h != NULL)
		str_set(hash_r, h);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return h != NULL;
}

bool sasl_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* A real hash of an unguessable password, made once per process:
 * verifying against it costs what a real verification costs. */
static struct str sasl_dummy = STR_INIT;
static pthread_once_t sasl_dummy_once = PTHREAD_ONCE_INIT;

static void sasl_dummy_init(void)
{
	char pw[32];
	size_t i;

	/* rand() unseeded would make the same "unguessable" password in
	 * every process. */
	if (getrandom(pw, sizeof(pw), GRND_NONBLOCK) != (ssize_t)sizeof(pw))
		for (i = 0; i < sizeof(pw); i++)
			pw[i] = (char)rand();
	for (i = 0; i < sizeof(pw) - 1; i++)
		pw[i] = (char)('a' + (unsigned char)pw[i] % 26);
	pw[sizeof(pw) - 1] = '\0';
	if (!sasl_hash_password(pw, &sasl_dummy))
		str_set(&sasl_dummy, "*");
	explicit_bzero(pw, sizeof(pw));
}

/* Made once per process; auth's hashing threads may get here at once. */
static const char *sasl_dummy_hash(void)
{
	pthread_once(&sasl_dummy_once, sasl_dummy_init);
	return str_c(&sasl_dummy);
}

void sasl_prepare(void)
{
	(void)sasl_dummy_hash();
}

bool sasl_verify_password(const char *password, const char *hash)
{
	const char *dummy = sasl_dummy_hash();
	bool real = hash != NULL && *hash != '\0';
	const char *use = real ? hash : dummy;
	struct crypt_data *cd = mem_alloc(sizeof(*cd));
	const char *h = crypt_r(password, use, cd);
	bool ok = false;

	if (h != NULL && h[0] != '*' && strlen(h) == strlen(use))
		ok = sasl_equal(h, use, strlen(use));
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok && real;
}
