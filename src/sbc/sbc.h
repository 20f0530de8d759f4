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
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "../core/core_child.h"
#include "../core/core_state.h"

#define SBC_MAX_CONNECTIONS 4096
/* HTTPS connections one address may hold until the supervisor's state says
 * otherwise (its default, SUP_SBC_HTTPS_PER_ADDRESS). */
#define SBC_HTTPS_PER_ADDRESS 128

struct sbc_block;
struct sbc_dns;
struct sbc_proxy;
struct sbc_route;
struct sbc_sip;

struct sbc {
	struct core_child child;
	SSL_CTX *tls;		  /* HTTPS on 443: offers ALPN http/1.1 */
	SSL_CTX *tls_sip;	  /* SIP over TLS on 5061: no ALPN (no such protocol offered) */
	struct core_state state;  /* the supervisor's, as last sent (owned) */
	struct sbc_route *routes; /* names and aliases into state, sorted (sbc_route.c) */
	int nroutes;
	struct sbc_proxy *https;
	struct sbc_sip *sip;
	struct sbc_block *block;   /* addresses blocked after failed authentication */
	struct sbc_trace *trace;   /* SIP traces running now */
	struct sbc_trunks *trunks; /* the phone systems' SIP trunks (sbc_trunk.c), from state */
	struct sbc_dns *dns;	   /* looks the trunks' names up (sbc_dns.c) */
	struct sbc_nat *nat;	   /* the external addresses per interface (sbc_nat.h) */
	struct event *trim;	   /* gives memory back after a flood of connections */
	int conns_peak;		   /* connections open at most since the last trim */
};

int sbc_main(void);
/* sbc_main.c: an HTTPS or SIP connection was accepted (for the peak that
 * decides when memory is given back). */
void sbc_connection_opened(struct sbc *sbc);

/* sbc_route.c: the phone-system table. A new state (moved into sbc->state,
 * *st left empty) replaces the old one; free releases both at the end. */
void sbc_route_update(struct sbc *sbc, struct core_state *st);
void sbc_route_free(struct sbc *sbc);
/* The HTTP socket of a running phone system; NULL with *exists telling
 * whether the name is known at all. */
const char *sbc_route_http(struct sbc *sbc, const char *name, size_t namelen, bool *exists);
/* For SIP: the phone system named (its name, and its SIP socket if it runs). */
const char *sbc_route_sip(struct sbc *sbc, const char *name, size_t namelen, const char **sock,
			  bool *exists);
/* With exactly one phone system, every domain is its: that one; else none. */
const char *sbc_route_single(struct sbc *sbc, const char **sock, bool *exists);

/* sbc_public.c: what 443 answers without a phone system (the landing page,
 * the certificate). body is the answer's, freed by the caller when owned. */
struct sbc_public_answer {
	int status;
	const char *type;
	const char *headers; /* further header lines, each ending in CRLF, or NULL */
	unsigned char *body;
	size_t len;
	bool owned;
};
/* path: the request target up to its query, len bytes. false: not one of these. */
bool sbc_public_find(struct sbc *sbc, const char *path, size_t len, struct sbc_public_answer *a);

/* sbc_proxy.c: the HTTPS reverse proxy. */
struct sbc_proxy *sbc_proxy_new(struct sbc *sbc);
void sbc_proxy_free(struct sbc_proxy *px);
void sbc_proxy_set_listeners(struct sbc_proxy *px, int *fds, int nfds);
/* HTTPS connections open now. */
int sbc_proxy_connections(const struct sbc_proxy *px);
/* Connections one address may hold (from the supervisor's state). */
void sbc_proxy_set_per_address(struct sbc_proxy *px, int n);
/* Connections refused for that limit, since the start. */
uint64_t sbc_proxy_refused(const struct sbc_proxy *px);

#endif
