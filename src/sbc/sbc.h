/*
 * sbc — the Session Border Controller process, the only door to phone
 * systems. It terminates TLS and routes each request or message to the
 * phone system it names: HTTPS on 443 by the first path segment
 * (sbc_proxy.c), SIP on 5061/5060 by domain (sbc_sip*.c), and the media
 * of calls through its relay (sbc_media.c). This header: the process and
 * its phone-system table.
 */
#ifndef SBC_H
#define SBC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "../core/core_child.h"

#define SBC_MAX_CONNECTIONS 4096

struct sbc_block;
struct sbc_proxy;
struct sbc_sip;

struct sbc {
	struct core_child child;
	SSL_CTX *tls;
	json_t *routes; /* name → {"state", "http_socket", "sip_socket"}, from the supervisor */
	struct sbc_proxy *https;
	struct sbc_sip *sip;
	struct sbc_block *block; /* addresses blocked after failed authentication */
	struct sbc_trace *trace; /* SIP traces running now */
};

int sbc_main(void);

/* sbc_route.c: the phone-system table. */
void sbc_route_update(struct sbc *sbc, json_t *state);
/* The HTTP socket of a running phone system; NULL with *exists telling
 * whether the name is known at all. */
const char *sbc_route_http(struct sbc *sbc, const char *name, size_t namelen, bool *exists);
/* For SIP: the phone system named (its name, and its SIP socket if it runs). */
const char *sbc_route_sip(struct sbc *sbc, const char *name, size_t namelen, const char **sock,
			  bool *exists);
/* With exactly one phone system, every domain is its: that one; else none. */
const char *sbc_route_single(struct sbc *sbc, const char **sock, bool *exists);

/* sbc_proxy.c: the HTTPS reverse proxy. */
struct sbc_proxy *sbc_proxy_new(struct sbc *sbc);
void sbc_proxy_free(struct sbc_proxy *px);
void sbc_proxy_set_listeners(struct sbc_proxy *px, int *fds, int nfds);
/* HTTPS connections open now. */
int sbc_proxy_connections(const struct sbc_proxy *px);

#endif
