/* core_tls — see core_tls.h. */
#include "core_tls.h"
#include <arpa/inet.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "core_log.h"

/* https://ssl-config.mozilla.org/ "intermediate", TLS 1.2 part (1.3 suites are OpenSSL's). */
#define TLS_INTERMEDIATE_CIPHERS                                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                               \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

static void tls_log_errors(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	log_error("%s: %s", what, buf);
	ERR_clear_error();
}

static int tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			   const unsigned char *in, unsigned int inlen, void *arg)
{
	const unsigned char *proto = arg; /* one protocol: length byte and name */
	(void)ssl;
	if (SSL_select_next_proto((unsigned char **)out, outlen, proto, proto[0] + 1u, in, inlen) ==
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *core_tls_server_ctx(const char *cert_path, const char *key_path, const unsigned char *alpn)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		tls_log_errors("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_cipher_list(ctx, TLS_INTERMEDIATE_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, "X25519:prime256v1:secp384r1") ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_log_errors(cert_path);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (alpn)
		SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, (void *)alpn);
	return ctx;
}

int core_tls_add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer ? issuer : crt, crt, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	int r = X509_add_ext(crt, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return r;
}

int core_tls_write_pem(const char *path, int mode, EVP_PKEY *key, X509 *crt)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_X509(f, crt);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	fclose(f);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

X509 *core_tls_cert_new(EVP_PKEY *key, const char *cn, long years)
{
	X509 *crt = X509_new();
	unsigned char serial[16];
	if (!crt || RAND_bytes(serial, sizeof(serial)) != 1) {
		X509_free(crt);
		return NULL;
	}
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt));
	BN_free(bn);
	X509_set_version(crt, 2);
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), years * 365 * 24 * 3600);
	X509_set_pubkey(crt, key);
	X509_NAME *name = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Zentrale", -1,
				   -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(crt, name);
	return crt;
}

int core_tls_make_selfsigned(const char *cert_path, const char *key_path, const char *hostname,
			     const char *const *ips, int nips)
{
	int r = -1;
	X509 *crt = NULL;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char san[4096];
	size_t off = 0;

	if (!key)
		goto out;
	crt = core_tls_cert_new(key, hostname, 10);
	if (!crt)
		goto out;

	off += (size_t)snprintf(san, sizeof(san), "DNS:%s,DNS:localhost", hostname);
	for (int i = 0; i < nips && off < sizeof(san) - 64; i++)
		off += (size_t)snprintf(san + off, sizeof(san) - off, ",IP:%s", ips[i]);
	if (core_tls_add_ext(crt, NULL, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    core_tls_add_ext(crt, NULL, NID_key_usage, "critical,digitalSignature") < 0 ||
	    core_tls_add_ext(crt, NULL, NID_ext_key_usage, "serverAuth") < 0 ||
	    core_tls_add_ext(crt, NULL, NID_subject_key_identifier, "hash") < 0 ||
	    core_tls_add_ext(crt, NULL, NID_subject_alt_name, san) < 0)
		goto out;
	if (!X509_sign(crt, key, EVP_sha256()))
		goto out;
	if (core_tls_write_pem(key_path, 0600, key, NULL) < 0 ||
	    core_tls_write_pem(cert_path, 0644, NULL, crt) < 0)
		goto out;
	r = 0;
out:
	if (r < 0)
		tls_log_errors("creating the self-signed certificate");
	X509_free(crt);
	EVP_PKEY_free(key);
	return r;
}

SSL_CTX *core_tls_client_ctx(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		tls_log_errors("SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    (ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)) {
		tls_log_errors("the CAs for TLS clients");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct bufferevent *core_tls_connect(struct event_base *base, SSL_CTX *tls, int fd,
				     const char *host, int opts)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!tls) {
		struct bufferevent *bev = bufferevent_socket_new(base, fd, opts);
		if (!bev)
			close(fd);
		return bev;
	}
	SSL *ssl = SSL_new(tls);
	if (ssl && host && host[0]) {
		unsigned char ip[16];
		if (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1) {
			/* an address: the certificate must name it (no SNI for one) */
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
		} else {
			SSL_set_tlsext_host_name(ssl, host);
			SSL_set1_host(ssl, host);
		}
	}
	struct bufferevent *bev = ssl ? bufferevent_openssl_socket_new(
						base, fd, ssl, BUFFEREVENT_SSL_CONNECTING, opts)
				      : NULL;
	if (bev) {
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		SSL_free(ssl);
		close(fd);
	}
	return bev;
}

struct bufferevent *core_tls_accept(struct event_base *base, SSL_CTX *tls, int fd, int opts)
{
	struct bufferevent *bev = NULL;
	/* An answer often leaves as several TLS records (head, body): without
	 * this the second waits for the peer's delayed ACK, 40 ms on Linux.
	 * (Fails harmlessly on Unix sockets.) */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!tls) {
		bev = bufferevent_socket_new(base, fd, opts);
	} else {
		SSL *ssl = SSL_new(tls);
		bev = ssl ? bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							   opts)
			  : NULL;
		if (bev)
			/* clients often close without close_notify; that is not an error */
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		else
			SSL_free(ssl);
	}
	if (!bev)
		close(fd);
	return bev;
}
