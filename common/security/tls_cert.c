/*
 * tls_cert: certificate chores for the admin tools (tls.h): a self-signed
 * certificate for new instances, the session ticket key, and the
 * description "correo tls check" prints.
 *
 * SECURITY: runs in the admin command with the invoking user's rights.
 * Keys are written mode 0600 through a temporary file and renamed, so a
 * half-written key never exists under its final name.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mem.h"
#include "safe_file.h"
#include "tls.h"

static bool tls_cert_fail(const char *what, char **error_r)
{
	char buf[256];
	unsigned long e = ERR_get_error();
	struct str s = STR_INIT;

	str_append(&s, what);
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		str_printf(&s, ": %s", buf);
	}
	ERR_clear_error();
	*error_r = str_steal(&s);
	return false;
}

/* PEM text of a key or certificate, written atomically. */
static bool tls_cert_write_bio(BIO *bio, const char *path, mode_t mode,
			       char **error_r)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	struct str msg = STR_INIT;

	if (len <= 0 || !safe_write_file(path, data, (size_t)len, mode)) {
		str_printf(&msg, "cannot write %s: %m", path);
		*error_r = str_steal(&msg);
		return false;
	}
	return true;
}

static bool tls_cert_add_san(X509 *x, const char *hostname)
{
	struct str san = STR_INIT;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	bool ok;

	str_printf(&san, "DNS:%s", hostname);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
				  str_c(&san));
	str_release(&san);
	if (ext == NULL)
		return false;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

static X509 *tls_cert_build(EVP_PKEY *key, const char *hostname)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ==
	    NULL)
		goto fail;
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				   (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_set_pubkey(x, key) != 1 || !tls_cert_add_san(x, hostname) ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

bool tls_make_selfsigned(const char *cert_file, const char *key_file,
			 const char *hostname, char **error_r)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = NULL;
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	bool ok = false;

	if (key == NULL || kb == NULL || cb == NULL) {
		tls_cert_fail("cannot generate a key", error_r);
		goto done;
	}
	x = tls_cert_build(key, hostname);
	if (x == NULL) {
		tls_cert_fail("cannot build the certificate", error_r);
		goto done;
	}
	if (PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1
	    || PEM_write_bio_X509(cb, x) != 1) {
		tls_cert_fail("cannot encode the key", error_r);
		goto done;
	}
	ok = tls_cert_write_bio(kb, key_file, 0600, error_r) &&
	     tls_cert_write_bio(cb, cert_file, 0644, error_r);
done:
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

bool tls_make_ticket_key(const char *path, char **error_r)
{
	unsigned char key[80];
	struct str msg = STR_INIT;

	if (RAND_bytes(key, sizeof(key)) != 1)
		return tls_cert_fail("no randomness", error_r);
	if (!safe_write_file(path, key, sizeof(key), 0600)) {
		str_printf(&msg, "cannot write %s: %m", path);
		*error_r = str_steal(&msg);
		OPENSSL_cleanse(key, sizeof(key));
		return false;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return true;
}

static void tls_describe_cert(X509 *x, int depth, struct str *out)
{
	char subject[256], issuer[256];
	const ASN1_TIME *end = X509_get0_notAfter(x);
	int days = 0, secs = 0;
	BIO *b = BIO_new(BIO_s_mem());
	char *text;
	long len;

	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
	ASN1_TIME_print(b, end);
	len = BIO_get_mem_data(b, &text);
	ASN1_TIME_diff(&days, &secs, NULL, end);
	str_printf(out, "certificate %d: subject %s\n", depth, subject);
	str_printf(out, "  issuer %s\n", issuer);
	str_printf(out, "  expires %.*s (%s%d days)\n", (int)len, text,
		   days < 0 ? "EXPIRED " : "in ", days < 0 ? -days : days);
	BIO_free(b);
}

bool tls_describe(const char *cert_file, const char *key_file,
		  struct str *out)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	STACK_OF(X509) *chain = NULL;
	X509 *leaf;
	BIO *kbio = NULL;
	EVP_PKEY *pkey = NULL;
	int i;
	bool ok = false;
	const char *keyf = key_file != NULL && *key_file != '\0' ?
			   key_file : cert_file;

	if (c == NULL)
		return false;
	if (SSL_CTX_use_certificate_chain_file(c, cert_file) != 1) {
		str_printf(out, "%s: cannot load a certificate chain\n",
			   cert_file);
		goto done;
	}
	leaf = SSL_CTX_get0_certificate(c);
	tls_describe_cert(leaf, 0, out);
	SSL_CTX_get0_chain_certs(c, &chain);
	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		tls_describe_cert(sk_X509_value(chain, i), i + 1, out);
	kbio = BIO_new_file(keyf, "r");
	pkey = kbio != NULL ? PEM_read_bio_PrivateKey(kbio, NULL, NULL, NULL)
			    : NULL;
	if (pkey == NULL) {
		str_printf(out, "%s: cannot load the private key\n", keyf);
		goto done;
	}
	if (X509_check_private_key(leaf, pkey) != 1) {
		str_printf(out, "%s: the key does NOT match the certificate\n",
			   keyf);
		goto done;
	}
	str_printf(out, "key %s matches the certificate\n", keyf);
	ok = X509_cmp_current_time(X509_get0_notAfter(leaf)) > 0;
done:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(kbio);
	SSL_CTX_free(c);
	return ok;
}
