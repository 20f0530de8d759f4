/*
 * sbc_trunk — the SBC's table of SIP trunks, rebuilt from the state
 * (core_state_ps.trunks, announced by each pbx: IPC_TRUNKS): each enabled
 * trunk with its key (docs/architecture.md, "Trunks"), its phone system and its
 * carrier addresses; looked up by key (a Request-URI user from a carrier)
 * and by source address (who may send to the trunk socket, once it exists).
 * Both lookups hash with libsodium's crypto_shorthash under a per-table
 * random key, as core_connlimit does.
 *
 * Addresses: literal IPv4/IPv6 addresses (with an optional port) are taken
 * as they are; names (the proxy, else the domain, and the peers) are looked
 * up with sbc_dns (RFC 3263, for the trunk's transport) once the table has
 * a resolver (sbc_trunks_set_dns), again when their TTL runs out, and their
 * addresses fill the trunk when the answer comes: a trunk is known by
 * address only once its names are resolved. An answer finds its trunk again
 * by key, as the table may have been rebuilt since; a name still used by
 * the new table keeps its addresses and its running query, one no longer
 * used is cancelled. A failed look-up keeps the addresses found before.
 * Without a resolver (unit tests) names are only counted.
 */
#ifndef SBC_TRUNK_H
#define SBC_TRUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/core_state.h"

#define SBC_TRUNK_KEY_LEN 17 /* "z" and 16 hex digits */

struct sbc_trunk_name;

struct sbc_trunk {
	char key[SBC_TRUNK_KEY_LEN + 1];
	char ps[CORE_STATE_NAME_MAX];
	struct core_state_trunk t;
	/* carrier addresses (the table's): those of the proxy (else the
	 * domain) in RFC 3263 order, of the peers, then a literal domain beside
	 * a proxy; literal ones and those resolved so far */
	struct sockaddr_storage *addrs;
	socklen_t *addrlens;
	int naddrs;
	int ntargets;	 /* addrs[0..ntargets) are where requests go, in order */
	int nunresolved; /* names without an address (yet) */
	/* the table's: the look-ups of the proxy/domain (0) and peers (1 + i) */
	struct sbc_trunk_name *names[1 + CORE_STATE_MAX_PEERS];
};

/* key = "z" + the first 16 hex digits of SHA-256("zentrale-trunk:PS/ID") */
void sbc_trunk_key(const char *ps, int64_t id, char out[SBC_TRUNK_KEY_LEN + 1]);

/* "host", "host:port", "[v6]" or "[v6]:port" with a literal address into
 * *ss (port default_port when none); 0, or -1 when it is a name or bad. */
int sbc_trunk_literal(const char *hostport, int default_port, struct sockaddr_storage *ss,
		      socklen_t *len);

struct sbc_trunks;
struct sbc_dns;
struct event_base;
struct sbc_trunks *sbc_trunks_new(void);
/* Cancels the table's look-ups: call before freeing the resolver. */
void sbc_trunks_free(struct sbc_trunks *tt);
/* The resolver (not owned) names are looked up with from the next load on;
 * NULL: none. */
void sbc_trunks_set_dns(struct sbc_trunks *tt, struct sbc_dns *dns, struct event_base *base);
/* Replaces the table with the enabled trunks of the state's phone systems;
 * 0, or -1 (out of memory: the old table stays). */
int sbc_trunks_load(struct sbc_trunks *tt, const struct core_state *st);
int sbc_trunks_count(const struct sbc_trunks *tt);
const struct sbc_trunk *sbc_trunks_by_key(const struct sbc_trunks *tt, const char *key, size_t len);
/* The first trunk with that IP address (any port: carriers send from
 * other ports than they listen on), or NULL: not a carrier's. */
const struct sbc_trunk *sbc_trunks_by_addr(const struct sbc_trunks *tt, const struct sockaddr *sa);
/* Whether sa's IP address (any port) is one of the trunk's carrier's. */
bool sbc_trunk_has_addr(const struct sbc_trunk *t, const struct sockaddr *sa);
const struct sbc_trunk *sbc_trunks_by_id(const struct sbc_trunks *tt, const char *ps, int64_t id);
/* Where to send a request to the trunk, in the order to try: the proxy's
 * (else the domain's) addresses in RFC 3263 order, then the peers'; up to
 * max into out and lens. Their number (0: none known yet). */
int sbc_trunk_targets(const struct sbc_trunk *t, struct sockaddr_storage *out, socklen_t *lens,
		      int max);

/* The SBC's table from its new state (sbc_route_update calls it). */
struct sbc;
void sbc_trunk_state(struct sbc *sbc);

#endif
