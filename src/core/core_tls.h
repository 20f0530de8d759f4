/*
 * core_tls — TLS as Zentrale speaks it: server contexts with TLS 1.2/1.3
 * and Mozilla's "intermediate" cipher list, and the self-signed ECDSA P-256
 * certificate made on first start.
 */
#ifndef CORE_TLS_H
#define CORE_TLS_H

#include <openssl/ssl.h>

/* ALPN protocol list in wire format (length-prefixed names). */
#define CORE_TLS_ALPN_HTTP1 ((const unsigned char *)"\x08http/1.1")

/* alpn: a static wire-format list, or NULL for none. Logs and returns NULL on error. */
SSL_CTX *core_tls_server_ctx(const char *cert_path, const char *key_path,
			     const unsigned char *alpn);
struct bufferevent;
struct event_base;
/* A bufferevent for an accepted connection: TLS (server side) when tls is
 * given, plain otherwise. On failure fd is closed and NULL returned. */
struct bufferevent *core_tls_accept(struct event_base *base, SSL_CTX *tls, int fd, int opts);
/* A client context: TLS 1.2+, the peer's certificate verified against the
 * system's CAs (and ca_file when not NULL: a private CA). NULL on error. */
SSL_CTX *core_tls_client_ctx(const char *ca_file);
/* The client side of fd (connected or connecting) with tls, checking that
 * the peer's certificate names host (and sending it as SNI); plain TCP
 * when tls is NULL. NULL (fd closed) on error. */
struct bufferevent *core_tls_connect(struct event_base *base, SSL_CTX *tls, int fd,
				     const char *host, int opts);

/* A new v3 certificate for key: subject O=Zentrale, CN=cn, a random serial,
 * valid from an hour ago for `years`; issued by itself until the caller
 * sets another issuer. Unsigned. */
X509 *core_tls_cert_new(EVP_PKEY *key, const char *cn, long years);
/* Adds an X.509v3 extension given as OpenSSL's config text ("critical,CA:TRUE");
 * issuer: the signing certificate (for authorityKeyIdentifier), NULL if self-signed. */
int core_tls_add_ext(X509 *crt, X509 *issuer, int nid, const char *value);
/* Writes a key or a certificate as PEM: to path.tmp, fsync, renamed. */
int core_tls_write_pem(const char *path, int mode, EVP_PKEY *key, X509 *crt);

/* Writes a new key (mode 0600) and a 10-year self-signed certificate with
 * the host name and each address in `ips` as subject alternative names. */
int core_tls_make_selfsigned(const char *cert_path, const char *key_path, const char *hostname,
			     const char *const *ips, int nips);

#endif
