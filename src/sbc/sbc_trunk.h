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
 * as they are; names wait for sbc_dns (not built yet) and are logged as
 * not resolved — such a trunk is known by key but not by address.
 */
#ifndef SBC_TRUNK_H
#define SBC_TRUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/core_state.h"

#define SBC_TRUNK_KEY_LEN   17 /* "z" and 16 hex digits */
#define SBC_TRUNK_MAX_ADDRS (CORE_STATE_MAX_PEERS + 2)

struct sbc_trunk {
	char key[SBC_TRUNK_KEY_LEN + 1];
	char ps[CORE_STATE_NAME_MAX];
	struct core_state_trunk t;
	/* carrier addresses: proxy, domain, peers (in that order), literal ones */
	struct sockaddr_storage addrs[SBC_TRUNK_MAX_ADDRS];
	socklen_t addrlens[SBC_TRUNK_MAX_ADDRS];
	int naddrs;
	int nunresolved; /* names not looked up (no resolver yet) */
};

/* key = "z" + the first 16 hex digits of SHA-256("zentrale-trunk:PS/ID") */
void sbc_trunk_key(const char *ps, int64_t id, char out[SBC_TRUNK_KEY_LEN + 1]);

/* "host", "host:port", "[v6]" or "[v6]:port" with a literal address into
 * *ss (port default_port when none); 0, or -1 when it is a name or bad. */
int sbc_trunk_literal(const char *hostport, int default_port, struct sockaddr_storage *ss,
		      socklen_t *len);

struct sbc_trunks;
struct sbc_trunks *sbc_trunks_new(void);
void sbc_trunks_free(struct sbc_trunks *tt);
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

/* The SBC's table from its new state (sbc_route_update calls it). */
struct sbc;
void sbc_trunk_state(struct sbc *sbc);

#endif
