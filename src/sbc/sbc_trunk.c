/*
 * sbc_trunk — the SBC's trunk table (sbc_trunk.h): built from the state,
 * two keyed hash indexes (trunk key, carrier IP address) over one array.
 */
#include "sbc_trunk.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_log.h"
#include "sbc.h"

struct sbc_trunks {
	struct sbc_trunk *v;
	int n;
	/* chains: head[bucket] and next[i] are indexes into v, -1 ends */
	int *key_head, *key_next;
	/* one entry per (trunk, address) */
	int *addr_head, *addr_next, *addr_trunk, *addr_idx;
	int naddr;
	unsigned nbuckets; /* a power of two */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

void sbc_trunk_key(const char *ps, int64_t id, char out[SBC_TRUNK_KEY_LEN + 1])
{
	char in[CORE_STATE_NAME_MAX + 64];
	unsigned char h[crypto_hash_sha256_BYTES];
	int n = snprintf(in, sizeof(in), "zentrale-trunk:%s/%lld", ps, (long long)id);
	crypto_hash_sha256(h, (const unsigned char *)in, (unsigned long long)n);
	out[0] = 'z';
	sodium_bin2hex(out + 1, SBC_TRUNK_KEY_LEN, h, (SBC_TRUNK_KEY_LEN - 1) / 2);
}

int sbc_trunk_literal(const char *hostport, int default_port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char host[CORE_STATE_HOSTPORT_MAX];
	const char *port = NULL;
	size_t n = strlen(hostport);
	if (n == 0 || n >= sizeof(host))
		return -1;
	if (hostport[0] == '[') {
		const char *e = strchr(hostport, ']');
		if (!e || (e[1] && e[1] != ':'))
			return -1;
		memcpy(host, hostport + 1, (size_t)(e - hostport - 1));
		host[e - hostport - 1] = '\0';
		port = e[1] ? e + 2 : NULL;
	} else {
		const char *c = strchr(hostport, ':');
		if (c && strchr(c + 1, ':'))
			return -1; /* a bare IPv6 address needs brackets */
		size_t hl = c ? (size_t)(c - hostport) : n;
		memcpy(host, hostport, hl);
		host[hl] = '\0';
		port = c ? c + 1 : NULL;
	}
	int p = default_port;
	if (port) {
		char *end;
		long v = strtol(port, &end, 10);
		if (!*port || *end || v < 1 || v > 65535)
			return -1;
		p = (int)v;
	}
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (hostport[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (hostport[0] == '[' && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* The IP address of sa as bytes (16 for both families: v4 mapped). */
static int ip_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

static unsigned bucket(const struct sbc_trunks *tt, const void *data, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, data, len, tt->hkey);
	return (unsigned)(h & (tt->nbuckets - 1));
}

struct sbc_trunks *sbc_trunks_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct sbc_trunks *tt = calloc(1, sizeof(*tt));
	if (tt)
		crypto_shorthash_keygen(tt->hkey);
	return tt;
}

static void clear(struct sbc_trunks *tt)
{
	free(tt->v);
	free(tt->key_head);
	free(tt->key_next);
	free(tt->addr_head);
	free(tt->addr_next);
	free(tt->addr_trunk);
	free(tt->addr_idx);
	tt->v = NULL;
	tt->key_head = tt->key_next = tt->addr_head = tt->addr_next = NULL;
	tt->addr_trunk = tt->addr_idx = NULL;
	tt->n = tt->naddr = 0;
	tt->nbuckets = 0;
}

void sbc_trunks_free(struct sbc_trunks *tt)
{
	if (!tt)
		return;
	clear(tt);
	free(tt);
}

/* The carrier addresses of a trunk that are literal; names counted. */
static void add_addr(struct sbc_trunk *k, const char *hostport, bool quiet)
{
	int dport = k->t.transport == CORE_TRUNK_TLS ? 5061 : 5060;
	if (!*hostport || k->naddrs >= SBC_TRUNK_MAX_ADDRS)
		return;
	if (sbc_trunk_literal(hostport, dport, &k->addrs[k->naddrs], &k->addrlens[k->naddrs]) ==
	    0) {
		k->naddrs++;
		return;
	}
	k->nunresolved++;
	if (!quiet) /* said once, when the trunk first appears */
		log_info("trunk %lld of %s: %s is a name, not resolved (no resolver yet)",
			 (long long)k->t.id, k->ps, hostport);
}

int sbc_trunks_load(struct sbc_trunks *tt, const struct core_state *st)
{
	struct sbc_trunks nt = {0};
	int n = 0;
	memcpy(nt.hkey, tt->hkey, sizeof(nt.hkey));
	for (int i = 0; i < st->nphone_systems; i++)
		n += st->phone_systems[i].ntrunks;
	nt.nbuckets = 16;
	while (nt.nbuckets < (unsigned)n * 2 * SBC_TRUNK_MAX_ADDRS)
		nt.nbuckets *= 2;
	int maxaddr = n * SBC_TRUNK_MAX_ADDRS;
	nt.v = calloc((size_t)n + 1, sizeof(*nt.v));
	nt.key_head = malloc(nt.nbuckets * sizeof(int));
	nt.key_next = malloc(((size_t)n + 1) * sizeof(int));
	nt.addr_head = malloc(nt.nbuckets * sizeof(int));
	nt.addr_next = malloc(((size_t)maxaddr + 1) * sizeof(int));
	nt.addr_trunk = malloc(((size_t)maxaddr + 1) * sizeof(int));
	nt.addr_idx = malloc(((size_t)maxaddr + 1) * sizeof(int));
	if (!nt.v || !nt.key_head || !nt.key_next || !nt.addr_head || !nt.addr_next ||
	    !nt.addr_trunk || !nt.addr_idx) {
		clear(&nt);
		return -1;
	}
	for (unsigned b = 0; b < nt.nbuckets; b++)
		nt.key_head[b] = nt.addr_head[b] = -1;
	for (int i = 0; i < st->nphone_systems; i++) {
		const struct core_state_ps *ps = &st->phone_systems[i];
		for (int j = 0; j < ps->ntrunks; j++) {
			if (!ps->trunks[j].enabled)
				continue;
			struct sbc_trunk *k = &nt.v[nt.n];
			k->t = ps->trunks[j];
			snprintf(k->ps, sizeof(k->ps), "%s", ps->name);
			sbc_trunk_key(k->ps, k->t.id, k->key);
			bool known = sbc_trunks_by_key(tt, k->key, SBC_TRUNK_KEY_LEN) != NULL;
			add_addr(k, k->t.proxy, known);
			add_addr(k, k->t.domain, known);
			for (int p = 0; p < k->t.npeers; p++)
				add_addr(k, k->t.peers[p], known);
			unsigned b = bucket(&nt, k->key, SBC_TRUNK_KEY_LEN);
			nt.key_next[nt.n] = nt.key_head[b];
			nt.key_head[b] = nt.n;
			for (int a = 0; a < k->naddrs; a++) {
				unsigned char ip[16];
				if (ip_bytes((const struct sockaddr *)&k->addrs[a], ip) < 0)
					continue;
				b = bucket(&nt, ip, sizeof(ip));
				nt.addr_trunk[nt.naddr] = nt.n;
				nt.addr_idx[nt.naddr] = a;
				nt.addr_next[nt.naddr] = nt.addr_head[b];
				nt.addr_head[b] = nt.naddr++;
			}
			nt.n++;
		}
	}
	clear(tt);
	*tt = nt;
	return 0;
}

int sbc_trunks_count(const struct sbc_trunks *tt)
{
	return tt->n;
}

const struct sbc_trunk *sbc_trunks_by_key(const struct sbc_trunks *tt, const char *key, size_t len)
{
	if (!tt->n || len != SBC_TRUNK_KEY_LEN)
		return NULL;
	for (int i = tt->key_head[bucket(tt, key, len)]; i >= 0; i = tt->key_next[i])
		if (memcmp(tt->v[i].key, key, len) == 0)
			return &tt->v[i];
	return NULL;
}

const struct sbc_trunk *sbc_trunks_by_addr(const struct sbc_trunks *tt, const struct sockaddr *sa)
{
	unsigned char ip[16], other[16];
	if (!tt->n || ip_bytes(sa, ip) < 0)
		return NULL;
	const struct sbc_trunk *found = NULL;
	/* chains are built newest first: keep the last match, the first trunk */
	for (int e = tt->addr_head[bucket(tt, ip, sizeof(ip))]; e >= 0; e = tt->addr_next[e]) {
		const struct sbc_trunk *k = &tt->v[tt->addr_trunk[e]];
		if (ip_bytes((const struct sockaddr *)&k->addrs[tt->addr_idx[e]], other) == 0 &&
		    memcmp(ip, other, 16) == 0)
			found = k;
	}
	return found;
}

bool sbc_trunk_has_addr(const struct sbc_trunk *t, const struct sockaddr *sa)
{
	unsigned char ip[16], other[16];
	if (ip_bytes(sa, ip) < 0)
		return false;
	for (int i = 0; i < t->naddrs; i++)
		if (ip_bytes((const struct sockaddr *)&t->addrs[i], other) == 0 &&
		    memcmp(ip, other, 16) == 0)
			return true;
	return false;
}

const struct sbc_trunk *sbc_trunks_by_id(const struct sbc_trunks *tt, const char *ps, int64_t id)
{
	char key[SBC_TRUNK_KEY_LEN + 1];
	sbc_trunk_key(ps, id, key);
	const struct sbc_trunk *k = sbc_trunks_by_key(tt, key, SBC_TRUNK_KEY_LEN);
	return k && strcmp(k->ps, ps) == 0 && k->t.id == id ? k : NULL;
}

void sbc_trunk_state(struct sbc *sbc)
{
	if (!sbc->trunks && !(sbc->trunks = sbc_trunks_new())) {
		log_error("out of memory for the trunk table");
		return;
	}
	int before = sbc_trunks_count(sbc->trunks);
	if (sbc_trunks_load(sbc->trunks, &sbc->state) < 0) {
		log_error("out of memory for the trunk table; the old one stays");
		return;
	}
	if (sbc_trunks_count(sbc->trunks) != before)
		log_info("%d trunk%s", sbc_trunks_count(sbc->trunks),
			 sbc_trunks_count(sbc->trunks) == 1 ? "" : "s");
}
