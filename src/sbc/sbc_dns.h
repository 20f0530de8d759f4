/*
 * sbc_dns — the SBC's DNS resolver for carriers: RFC 3263 (sip_locate's
 * steps) over c-ares, driven by the SBC's libevent loop and never blocking.
 * A target "host", "host:port" or a literal address is turned into the
 * ordered list of (address, transport) to try: NAPTR → SRV → A/AAAA for a
 * name without a port, A/AAAA with the port when one is given. Bounded: at
 * most SBC_DNS_MAX_RECORDS NAPTR and SRV records followed, each lookup
 * SBC_DNS_TRIES tries of SBC_DNS_TIMEOUT_MS, SBC_DNS_MAX_TARGETS addresses.
 *
 * Servers and names: c-ares reads /etc/resolv.conf and /etc/hosts;
 * ZENTRALE_TEST_DNS_SERVER=ADDR:PORT (tests) replaces the servers, and
 * ZENTRALE_TEST_DNS_MIN_TTL lowers the smallest TTL handed out.
 *
 * Ownership: sbc_dns owns the c-ares channel and every query; a query is
 * the caller's handle until its callback has run (then it is gone) or it
 * is cancelled. Freeing the resolver drops the callbacks of queries still
 * running.
 */
#ifndef SBC_DNS_H
#define SBC_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SBC_DNS_MAX_TARGETS 16	 /* addresses in one answer */
#define SBC_DNS_MAX_RECORDS 8	 /* NAPTR and SRV records followed, each */
#define SBC_DNS_TIMEOUT_MS  2000 /* per try */
#define SBC_DNS_TRIES	    2
#define SBC_DNS_MIN_TTL	    30 /* seconds: TTLs handed out are in these bounds */
#define SBC_DNS_MAX_TTL	    3600

struct event_base;

/* One place to send to: address with port, and its transport
 * (SIP_LOCATE_UDP, _TCP or _TLS). */
struct sbc_dns_target {
	struct sockaddr_storage ss;
	socklen_t len;
	int tp;
};

struct sbc_dns;
struct sbc_dns_query;

/* NULL when c-ares cannot start (logged). */
struct sbc_dns *sbc_dns_new(struct event_base *base);
void sbc_dns_free(struct sbc_dns *dns);
/* The smallest TTL handed out (SBC_DNS_MIN_TTL unless lowered for tests). */
int sbc_dns_min_ttl(const struct sbc_dns *dns);

/* Called exactly once per query not cancelled, always from the event loop
 * (never from within sbc_dns_resolve): n targets in the order to try
 * them and ttl, the seconds until they should be looked up again; n = 0 on
 * failure, why then says what failed (NULL on success). The query is gone
 * when the callback returns. */
typedef void (*sbc_dns_cb)(void *arg, const struct sbc_dns_target *t, int n, int ttl,
			   const char *why);

/* Resolves target (NUL-terminated) for the transports the caller can use
 * (supported: SIP_LOCATE_* bits, SIP_LOCATE_ALL for any): NAPTR records
 * of other transports are passed over (RFC 3263 4.1). NULL only when out
 * of memory or the target is not a host (*why then says which). */
struct sbc_dns_query *sbc_dns_resolve(struct sbc_dns *dns, const char *target, int supported,
				      sbc_dns_cb cb, void *arg, const char **why);
/* The callback will not be called; the query's memory goes once c-ares is
 * done with it. */
void sbc_dns_cancel(struct sbc_dns_query *q);

/* Pure, for the resolver and its test: the smallest TTL of the answer
 * section of a DNS reply (alen bytes) into *ttl; 0, or -1 when the reply is
 * malformed or has no answers. */
int sbc_dns_answer_ttl(const unsigned char *abuf, size_t alen, uint32_t *ttl);
/* "ADDR:PORT/udp" ("[v6]:PORT/tls") of a target into buf (size >= 64). */
void sbc_dns_target_str(const struct sbc_dns_target *t, char *buf, size_t size);

#endif
