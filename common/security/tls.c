/*
 * tls: TLS contexts and connections over lio (tls.h), OpenSSL 3.
 *
 * A connection is a lio_ops layer: lio keeps doing the buffering, line
 * cutting and timeouts, and calls tls_io_read/tls_io_write, which never
 * block (the socket is switched to O_NONBLOCK for the handshake and
 * stays so). The handshake is a poll loop with one deadline.
 *
 * SNI: the servername callback looks the requested name up through the
 * caller's sni_lookup (tls.h; smtpd gives a dict, the pre-auth front ends
 * none, so this layer links no table code) and switches the connection to a context made for that name
 * (contexts are made on first use and kept for the life of the process).
 *
 * Session tickets: when a ticket key file is configured, each service
 * (ticket_service, the services.conf row) gets its own keys derived from
 * the file and rotated every ticket_rotation seconds (tls_ticket.c):
 * every process of one service agrees on them, so a client resumes its
 * session on whichever prefork child accepts its next connection, while
 * a ticket (or a cached session: the session id context is the service
 * too) from another service is refused.
 *
 * SECURITY: runs pre-authentication against untrusted peers. Key files
 * are read in pre_init while privileged; afterwards only memory copies
 * exist. Renegotiation is refused and compression disabled. Input that
 * arrived before the handshake is thrown away (CVE-2011-0411).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ev.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "tls.h"
#include "tls_ticket.h"

#define TLS_TICKET_KEY_LEN 80	/* the key file: 80 random bytes */
#define TLS_TICKET_ROTATION 3600	/* seconds, when set says 0 */
#define TLS_SNI_MAX 32

struct tls_sni_entry {
	char *name;
	SSL_CTX *ssl_ctx;
};

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	bool server;
	struct tls_settings set;	/* copied strings */
	struct tls_sni_entry sni_cache[TLS_SNI_MAX];
	int sni_count;
	struct tls_ticket_keys *tickets;	/* NULL: no ticket key file */
};

struct tls_conn {
	SSL *ssl;
	char info[160];
	bool verified;
};

static int tls_ctx_index = -1;

static char *tls_error_string(const char *what)
{
	struct str s = STR_INIT;
	unsigned long e = ERR_get_error();
	char buf[256];

	str_append(&s, what);
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		str_printf(&s, ": %s", buf);
	}
	ERR_clear_error();
	return str_steal(&s);
}

static int tls_protocol_version(const char *name)
{
	if (name == NULL || *name == '\0' || strcmp(name, "TLSv1.2") == 0)
		return TLS1_2_VERSION;
	if (strcmp(name, "TLSv1.3") == 0)
		return TLS1_3_VERSION;
	if (strcmp(name, "TLSv1.1") == 0)
		return TLS1_1_VERSION;
	if (strcmp(name, "TLSv1") == 0)
		return TLS1_VERSION;
	return -1;
}

static const char *tls_dup(const char *s)
{
	return mem_strdup(s != NULL ? s : "");
}

static void tls_settings_copy(struct tls_settings *dst,
			      const struct tls_settings *src)
{
	dst->cert_file = tls_dup(src->cert_file);
	dst->key_file = tls_dup(src->key_file);
	dst->min_protocol = tls_dup(src->min_protocol);
	dst->ciphers = tls_dup(src->ciphers);
	dst->sni_lookup = src->sni_lookup;
	dst->sni_ctx = src->sni_ctx;
	dst->ticket_key_file = tls_dup(src->ticket_key_file);
	dst->ca_file = tls_dup(src->ca_file);
	dst->ticket_service = tls_dup(src->ticket_service);
	dst->ticket_rotation = src->ticket_rotation > 0 ?
			       src->ticket_rotation : TLS_TICKET_ROTATION;
}

static void tls_settings_free(struct tls_settings *set)
{
	free((char *)set->cert_file);
	free((char *)set->key_file);
	free((char *)set->min_protocol);
	free((char *)set->ciphers);
	free((char *)set->ticket_key_file);
	free((char *)set->ca_file);
	free((char *)set->ticket_service);
}

static SSL_CTX *tls_ssl_ctx_new(bool server, const struct tls_settings *set,
				char **error_r)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() :
				 TLS_client_method());
	int version = tls_protocol_version(set->min_protocol);

	if (c == NULL) {
		*error_r = tls_error_string("SSL_CTX_new");
		return NULL;
	}
	if (version < 0) {
		*error_r = mem_strdup("unknown minimum TLS protocol "
				      "(expected TLSv1.2 or TLSv1.3)");
		SSL_CTX_free(c);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c, version);
	SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION |
			    SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_IGNORE_UNEXPECTED_EOF |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (set->ciphers != NULL && *set->ciphers != '\0' &&
	    SSL_CTX_set_cipher_list(c, set->ciphers) != 1) {
		*error_r = tls_error_string("bad cipher list");
		SSL_CTX_free(c);
		return NULL;
	}
	return c;
}

static bool tls_load_pair(SSL_CTX *c, const char *cert, const char *key,
			  char **error_r)
{
	const char *keyfile = key != NULL && *key != '\0' ? key : cert;

	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
		*error_r = tls_error_string(cert);
		return false;
	}
	if (SSL_CTX_use_PrivateKey_file(c, keyfile, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			*error_r = mem_strdup("private key does not match "
					      "the certificate");
		} else {
			*error_r = tls_error_string(keyfile);
		}
		return false;
	}
	if (SSL_CTX_check_private_key(c) != 1) {
		*error_r = tls_error_string("private key does not match "
					    "the certificate");
		return false;
	}
	return true;
}

static int tls_ticket_cb(SSL *ssl, unsigned char key_name[16],
			 unsigned char iv[EVP_MAX_IV_LENGTH],
			 EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	SSL_CTX *sc = SSL_get_SSL_CTX(ssl);
	struct tls_ctx *ctx = SSL_CTX_get_ex_data(sc, tls_ctx_index);
	const struct tls_ticket_key *k;
	OSSL_PARAM params[2];
	bool renew = false;

	if (ctx == NULL || ctx->tickets == NULL)
		return 0;
	tls_ticket_keys_update(ctx->tickets, (long long)time(NULL));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (enc) {
		k = &ctx->tickets->cur;
		if (RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(key_name, k->name, TLS_TICKET_NAME_LEN);
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL,
				       k->aes, iv) != 1 ||
		    EVP_MAC_init(hctx, k->hmac, sizeof(k->hmac),
				 params) != 1)
			return -1;
		return 1;
	}
	/* Another service's ticket, or one older than the previous key:
	 * a full handshake. */
	k = tls_ticket_keys_find(ctx->tickets, key_name, &renew);
	if (k == NULL)
		return 0;
	if (EVP_MAC_init(hctx, k->hmac, sizeof(k->hmac), params) != 1 ||
	    EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
			       iv) != 1)
		return -1;
	return renew ? 2 : 1;
}

/* Resumption on c (the main context or an SNI one): sessions of this
 * service only, since OpenSSL refuses to resume a session (cached or
 * from a ticket) whose id context differs; no session outlives its
 * ticket key's interval. */
static void tls_sessions_setup(struct tls_ctx *ctx, SSL_CTX *c)
{
	const char *service = ctx->set.ticket_service;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(service, strlen(service), md, &len, EVP_sha256(),
		       NULL) != 1 || len > SSL_MAX_SID_CTX_LENGTH)
		msg_fatal("TLS: cannot hash the service name");
	SSL_CTX_set_ex_data(c, tls_ctx_index, ctx);
	SSL_CTX_set_session_id_context(c, md, len);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_timeout(c, ctx->set.ticket_rotation);
	if (ctx->tickets != NULL)
		SSL_CTX_set_tlsext_ticket_key_evp_cb(c, tls_ticket_cb);
}

static SSL_CTX *tls_sni_ctx(struct tls_ctx *ctx, const char *name)
{
	struct str value = STR_INIT;
	char *cursor, *key, *cert, *error = NULL;
	SSL_CTX *c = NULL;
	int i;

	for (i = 0; i < ctx->sni_count; i++)
		if (strcasecmp(ctx->sni_cache[i].name, name) == 0)
			return ctx->sni_cache[i].ssl_ctx;
	if (ctx->sni_count >= TLS_SNI_MAX ||
	    ctx->set.sni_lookup(name, &value, ctx->set.sni_ctx) != 1)
		goto done;
	cursor = value.data;
	key = str_token(&cursor, " \t,");
	cert = str_token(&cursor, " \t,");
	if (key == NULL || cert == NULL) {
		msg_warn("SNI table: %s: expected \"keyfile certfile\"",
			 name);
		goto done;
	}
	c = tls_ssl_ctx_new(true, &ctx->set, &error);
	if (c != NULL && !tls_load_pair(c, cert, key, &error)) {
		SSL_CTX_free(c);
		c = NULL;
	}
	if (c == NULL) {
		msg_warn("SNI %s: %s", name, error);
		free(error);
		goto done;
	}
	tls_sessions_setup(ctx, c);
	ctx->sni_cache[ctx->sni_count].name = mem_strdup(name);
	ctx->sni_cache[ctx->sni_count++].ssl_ctx = c;
done:
	str_release(&value);
	return c;
}

static int tls_servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_ctx *ctx = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	SSL_CTX *c;

	if (name == NULL || ctx->set.sni_lookup == NULL)
		return SSL_TLSEXT_ERR_OK;
	c = tls_sni_ctx(ctx, name);
	if (c != NULL)
		SSL_set_SSL_CTX(ssl, c);
	return SSL_TLSEXT_ERR_OK;
}

/* Derive this service's ticket keys from the key file; the file's bytes
 * are wiped at once, so the process keeps only its own service's keys. */
static bool tls_load_ticket_key(struct tls_ctx *ctx, char **error_r)
{
	struct str data = STR_INIT;
	const char *path = ctx->set.ticket_key_file;

	if (*path == '\0')
		return true;
	if (!safe_read_file(path, &data, TLS_TICKET_KEY_LEN + 1) ||
	    data.len != TLS_TICKET_KEY_LEN) {
		if (data.data != NULL)
			OPENSSL_cleanse(data.data, data.cap);
		str_release(&data);
		*error_r = mem_strdup("cannot read a 80-byte session ticket "
				      "key file");
		return false;
	}
	ctx->tickets = mem_alloc(sizeof(*ctx->tickets));
	tls_ticket_keys_init(ctx->tickets, data.data, data.len,
			     ctx->set.ticket_service,
			     ctx->set.ticket_rotation, (long long)time(NULL));
	OPENSSL_cleanse(data.data, data.cap);
	str_release(&data);
	return true;
}

struct tls_ctx *tls_server_ctx(const struct tls_settings *set,
			       char **error_r)
{
	struct tls_ctx *ctx = mem_alloc(sizeof(*ctx));

	if (tls_ctx_index < 0)
		tls_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
							 NULL);
	ctx->server = true;
	tls_settings_copy(&ctx->set, set);
	ctx->ssl_ctx = tls_ssl_ctx_new(true, &ctx->set, error_r);
	if (ctx->ssl_ctx == NULL ||
	    !tls_load_pair(ctx->ssl_ctx, ctx->set.cert_file,
			   ctx->set.key_file, error_r) ||
	    !tls_load_ticket_key(ctx, error_r))
		goto fail;
	tls_sessions_setup(ctx, ctx->ssl_ctx);
	if (ctx->set.sni_lookup != NULL) {
		SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx,
						       tls_servername_cb);
		SSL_CTX_set_tlsext_servername_arg(ctx->ssl_ctx, ctx);
	}
	return ctx;
fail:
	tls_ctx_free(&ctx);
	return NULL;
}

struct tls_ctx *tls_client_ctx(const struct tls_settings *set,
			       char **error_r)
{
	struct tls_ctx *ctx = mem_alloc(sizeof(*ctx));
	int ok;

	tls_settings_copy(&ctx->set, set);
	ctx->ssl_ctx = tls_ssl_ctx_new(false, &ctx->set, error_r);
	if (ctx->ssl_ctx == NULL)
		goto fail;
	if (*ctx->set.ca_file != '\0')
		ok = SSL_CTX_load_verify_locations(ctx->ssl_ctx,
						   ctx->set.ca_file, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx->ssl_ctx);
	if (ok != 1) {
		*error_r = tls_error_string("cannot load trust anchors");
		goto fail;
	}
	if (*ctx->set.cert_file != '\0' &&
	    !tls_load_pair(ctx->ssl_ctx, ctx->set.cert_file,
			   ctx->set.key_file, error_r))
		goto fail;
	return ctx;
fail:
	tls_ctx_free(&ctx);
	return NULL;
}

struct ssl_ctx_st *tls_ctx_ssl(const struct tls_ctx *ctx)
{
	return ctx->ssl_ctx;
}

void tls_ctx_free(struct tls_ctx **ctxp)
{
	struct tls_ctx *ctx = *ctxp;
	int i;

	if (ctx == NULL)
		return;
	for (i = 0; i < ctx->sni_count; i++) {
		SSL_CTX_free(ctx->sni_cache[i].ssl_ctx);
		free(ctx->sni_cache[i].name);
	}
	SSL_CTX_free(ctx->ssl_ctx);
	if (ctx->tickets != NULL)
		tls_ticket_keys_wipe(ctx->tickets);
	mem_free(ctx->tickets);
	tls_settings_free(&ctx->set);
	mem_free(*ctxp);
}

static ssize_t tls_io_result(SSL *ssl, int ret, size_t done, bool *want_other,
			     bool reading)
{
	int err;

	if (ret == 1)
		return (ssize_t)done;
	err = SSL_get_error(ssl, ret);
	*want_other = false;
	switch (err) {
	case SSL_ERROR_WANT_READ:
		*want_other = !reading;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want_other = reading;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = ECONNRESET;
		ERR_clear_error();
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static ssize_t tls_io_read(void *c, void *buf, size_t len, bool *want_write)
{
	struct tls_conn *conn = c;
	size_t done = 0;
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(conn->ssl, buf, len, &done);
	return tls_io_result(conn->ssl, ret, done, want_write, true);
}

static ssize_t tls_io_write(void *c, const void *buf, size_t len,
			    bool *want_read)
{
	struct tls_conn *conn = c;
	size_t done = 0;
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_write_ex(conn->ssl, buf, len, &done);
	return tls_io_result(conn->ssl, ret, done, want_read, false);
}

static size_t tls_io_pending(void *c)
{
	struct tls_conn *conn = c;

	return (size_t)SSL_pending(conn->ssl);
}

static const struct lio_ops tls_lio_ops = {
	.read = tls_io_read,
	.write = tls_io_write,
	.pending = tls_io_pending,
};

/* Drive SSL_accept/SSL_connect to completion within the deadline. */
static bool tls_handshake(struct tls_conn *conn, int fd, bool server,
			  int timeout, const char **error_r)
{
	long long deadline = ev_now_ms() + (long long)timeout * 1000;
	struct pollfd pfd = { .fd = fd };
	int ret, err, wait;

	for (;;) {
		ERR_clear_error();
		ret = server ? SSL_accept(conn->ssl) : SSL_connect(conn->ssl);
		if (ret == 1)
			return true;
		err = SSL_get_error(conn->ssl, ret);
		if (err == SSL_ERROR_WANT_READ)
			pfd.events = POLLIN;
		else if (err == SSL_ERROR_WANT_WRITE)
			pfd.events = POLLOUT;
		else {
			*error_r = err == SSL_ERROR_SSL ?
				   "TLS handshake failed" :
				   "lost connection during TLS handshake";
			ERR_clear_error();
			return false;
		}
		wait = (int)(deadline - ev_now_ms());
		if (timeout <= 0)
			wait = -1;
		else if (wait <= 0) {
			*error_r = "timeout during TLS handshake";
			return false;
		}
		ret = poll(&pfd, 1, wait);
		if (ret < 0 && errno != EINTR) {
			*error_r = "poll failed during TLS handshake";
			return false;
		}
	}
}

static void tls_conn_describe(struct tls_conn *conn)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(conn->ssl);
	int alg = 0, bits = SSL_CIPHER_get_bits(cipher, &alg);

	str_snprintf(conn->info, sizeof(conn->info),
		     "%s with cipher %s (%d/%d bits)",
		     SSL_get_version(conn->ssl), SSL_CIPHER_get_name(cipher),
		     bits, alg);
}

static struct tls_conn *tls_start(struct tls_ctx *ctx, struct lio *lio,
				  bool server, const char *servername,
				  bool verify, int timeout,
				  const char **error_r)
{
	struct tls_conn *conn = mem_alloc(sizeof(*conn));
	int fd = lio_fd(lio);
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (lio_flush(lio) != LIO_OK) {
		*error_r = "lost connection before TLS handshake";
		goto fail;
	}
	lio_discard_input(lio);
	conn->ssl = SSL_new(ctx->ssl_ctx);
	if (conn->ssl == NULL || SSL_set_fd(conn->ssl, fd) != 1) {
		*error_r = "cannot create TLS connection";
		goto fail;
	}
	if (!server && servername != NULL) {
		SSL_set_tlsext_host_name(conn->ssl, servername);
		if (verify) {
			SSL_set_verify(conn->ssl, SSL_VERIFY_PEER, NULL);
			SSL_set1_host(conn->ssl, servername);
		}
	}
	if (!tls_handshake(conn, fd, server, timeout, error_r))
		goto fail;
	conn->verified = !server && verify &&
			 SSL_get_verify_result(conn->ssl) == X509_V_OK;
	tls_conn_describe(conn);
	lio_set_ops(lio, &tls_lio_ops, conn);
	return conn;
fail:
	if (conn->ssl != NULL)
		SSL_free(conn->ssl);
	mem_free(conn);
	return NULL;
}

struct tls_conn *tls_server_start(struct tls_ctx *ctx, struct lio *lio,
				  int timeout, const char **error_r)
{
	return tls_start(ctx, lio, true, NULL, false, timeout, error_r);
}

struct tls_conn *tls_client_start(struct tls_ctx *ctx, struct lio *lio,
				  const char *servername, bool verify,
				  int timeout, const char **error_r)
{
	return tls_start(ctx, lio, false, servername, verify, timeout,
			 error_r);
}

const char *tls_conn_info(const struct tls_conn *conn)
{
	return conn->info;
}

bool tls_conn_verified(const struct tls_conn *conn)
{
	return conn->verified;
}

bool tls_conn_write_final(struct tls_conn *conn, const void *buf,
			  size_t len)
{
	size_t done = 0;
	bool ok;

	/* The fd is non-blocking since tls_start. */
	ERR_clear_error();
	ok = SSL_write_ex(conn->ssl, buf, len, &done) == 1 && done == len;
	ERR_clear_error();
	return ok;
}

void tls_conn_free(struct tls_conn **connp, struct lio *lio)
{
	struct tls_conn *conn = *connp;

	if (conn == NULL)
		return;
	if (lio != NULL) {
		lio_flush(lio);
		lio_set_ops(lio, NULL, NULL);
	}
	SSL_shutdown(conn->ssl);
	SSL_free(conn->ssl);
	mem_free(*connp);
}
