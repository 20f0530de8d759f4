/*
 * sbc_trunk — the SBC's trunk table (sbc_trunk.h): built from the state,
 * two keyed hash indexes (trunk key, carrier IP address) over one array,
 * and the look-ups of the trunks' names (sbc_dns), which outlive a table:
 * each is an sbc_trunk_name on the table's list, pointed to by the trunks
 * of the current table that use it.
 */
#include "sbc_trunk.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <sodium.h>

#include "../core/core_log.h"
#include "../sip/sip_locate.h"
#include "sbc.h"
#include "sbc_dns.h"

/* One name of a trunk being looked up, or looked up and waiting for its TTL. */
struct sbc_trunk_name {
	TAILQ_ENTRY(sbc_trunk_name) entry;
	struct sbc_trunks *tt;
	char key[SBC_TRUNK_KEY_LEN + 1]; /* the trunk's, and for the log: */
	char ps[CORE_STATE_NAME_MAX];
	int64_t id;
	char host[CORE_STATE_HOSTPORT_MAX];
	int supported; /* the trunk's transport, as SIP_LOCATE_* */
	struct sbc_dns_query *q;
	struct event *timer;	  /* the next look-up */
	struct sbc_dns_target *v; /* the addresses last found (owned) */
	int n;
	bool failed; /* the last look-up failed (said once) */
	bool used;   /* by the table being built */
};

struct table {
	struct sbc_trunk *v;
	int n;
	/* chains: head[bucket] and next[i] are indexes into v, -1 ends */
	int *key_head, *key_next;
	/* one entry per (trunk, address) */
	int *addr_head, *addr_next, *addr_trunk, *addr_idx;
	int naddr;
	unsigned nbuckets; /* a power of two */
};

struct sbc_trunks {
	struct table tab;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct sbc_dns *dns; /* not owned; NULL: names are not looked up */
	struct event_base *base;
	TAILQ_HEAD(, sbc_trunk_name) names;
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

static unsigned bucket(const struct sbc_trunks *tt, unsigned nbuckets, const void *data, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, data, len, tt->hkey);
	return (unsigned)(h & (nbuckets - 1));
}

struct sbc_trunks *sbc_trunks_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	struct sbc_trunks *tt = calloc(1, sizeof(*tt));
	if (!tt)
		return NULL;
	crypto_shorthash_keygen(tt->hkey);
	TAILQ_INIT(&tt->names);
	return tt;
}

void sbc_trunks_set_dns(struct sbc_trunks *tt, struct sbc_dns *dns, struct event_base *base)
{
	tt->dns = dns;
	tt->base = base;
}

static void clear_addr_index(struct table *tb)
{
	free(tb->addr_head);
	free(tb->addr_next);
	free(tb->addr_trunk);
	free(tb->addr_idx);
	tb->addr_head = tb->addr_next = tb->addr_trunk = tb->addr_idx = NULL;
	tb->naddr = 0;
}

static void clear(struct table *tb)
{
	for (int i = 0; i < tb->n; i++) {
		free(tb->v[i].addrs);
		free(tb->v[i].addrlens);
	}
	free(tb->v);
	free(tb->key_head);
	free(tb->key_next);
	clear_addr_index(tb);
	memset(tb, 0, sizeof(*tb));
}

static void name_free(struct sbc_trunk_name *nm)
{
	TAILQ_REMOVE(&nm->tt->names, nm, entry);
	sbc_dns_cancel(nm->q);
	if (nm->timer)
		event_free(nm->timer);
	free(nm->v);
	free(nm);
}

void sbc_trunks_free(struct sbc_trunks *tt)
{
	if (!tt)
		return;
	while (!TAILQ_EMPTY(&tt->names))
		name_free(TAILQ_FIRST(&tt->names));
	clear(&tt->tab);
	free(tt);
}

/* ---- a trunk's addresses ---- */

static int transport_bits(enum core_state_trunk_tp tp)
{
	return tp == CORE_TRUNK_TLS   ? SIP_LOCATE_TLS
	       : tp == CORE_TRUNK_TCP ? SIP_LOCATE_TCP
				      : SIP_LOCATE_UDP;
}

static int default_port(const struct sbc_trunk *k)
{
	return k->t.transport == CORE_TRUNK_TLS ? 5061 : 5060;
}

/* The host requests go to: the proxy, else the domain. */
static const char *send_host(const struct sbc_trunk *k)
{
	return *k->t.proxy ? k->t.proxy : k->t.domain;
}

/* Appends hostport's addresses (literal, or its name's) to addrs. */
static void add_host(struct sbc_trunk *k, const char *hostport, const struct sbc_trunk_name *nm,
		     int cap)
{
	if (!*hostport || k->naddrs >= cap)
		return;
	if (sbc_trunk_literal(hostport, default_port(k), &k->addrs[k->naddrs],
			      &k->addrlens[k->naddrs]) == 0) {
		k->naddrs++;
		return;
	}
	if (!nm || nm->n == 0) {
		k->nunresolved++;
		return;
	}
	for (int i = 0; i < nm->n && k->naddrs < cap; i++) {
		memcpy(&k->addrs[k->naddrs], &nm->v[i].ss, nm->v[i].len);
		k->addrlens[k->naddrs++] = nm->v[i].len;
	}
}

/* k's addresses anew from its literals and names: 0, or -1 (out of memory:
 * none then). */
static int assemble(struct sbc_trunk *k)
{
	int cap = 2 + k->t.npeers;
	for (int i = 0; i < 1 + k->t.npeers; i++)
		if (k->names[i])
			cap += k->names[i]->n;
	free(k->addrs);
	free(k->addrlens);
	k->naddrs = k->ntargets = k->nunresolved = 0;
	k->addrs = calloc((size_t)cap, sizeof(*k->addrs));
	k->addrlens = calloc((size_t)cap, sizeof(*k->addrlens));
	if (!k->addrs || !k->addrlens) {
		free(k->addrs);
		free(k->addrlens);
		k->addrs = NULL;
		k->addrlens = NULL;
		return -1;
	}
	add_host(k, send_host(k), k->names[0], cap);
	for (int p = 0; p < k->t.npeers; p++)
		add_host(k, k->t.peers[p], k->names[1 + p], cap);
	k->ntargets = k->naddrs;
	/* beside a proxy, a literal domain is a carrier address too (not looked up) */
	if (*k->t.proxy && *k->t.domain && k->naddrs < cap &&
	    sbc_trunk_literal(k->t.domain, default_port(k), &k->addrs[k->naddrs],
			      &k->addrlens[k->naddrs]) == 0)
		k->naddrs++;
	return 0;
}

/* The address index over all trunks of the table, anew: 0, or -1 (out of
 * memory: none then). */
static int reindex(struct sbc_trunks *tt, struct table *tb)
{
	int total = 0;
	clear_addr_index(tb);
	for (int i = 0; i < tb->n; i++)
		total += tb->v[i].naddrs;
	tb->addr_head = malloc(tb->nbuckets * sizeof(int));
	tb->addr_next = malloc(((size_t)total + 1) * sizeof(int));
	tb->addr_trunk = malloc(((size_t)total + 1) * sizeof(int));
	tb->addr_idx = malloc(((size_t)total + 1) * sizeof(int));
	if (!tb->addr_head || !tb->addr_next || !tb->addr_trunk || !tb->addr_idx) {
		clear_addr_index(tb);
		return -1;
	}
	for (unsigned b = 0; b < tb->nbuckets; b++)
		tb->addr_head[b] = -1;
	for (int i = 0; i < tb->n; i++) {
		const struct sbc_trunk *k = &tb->v[i];
		for (int a = 0; a < k->naddrs; a++) {
			unsigned char ip[16];
			if (ip_bytes((const struct sockaddr *)&k->addrs[a], ip) < 0)
				continue;
			unsigned b = bucket(tt, tb->nbuckets, ip, sizeof(ip));
			tb->addr_trunk[tb->naddr] = i;
			tb->addr_idx[tb->naddr] = a;
			tb->addr_next[tb->naddr] = tb->addr_head[b];
			tb->addr_head[b] = tb->naddr++;
		}
	}
	return 0;
}

/* ---- looking names up ---- */

static void name_lookup(struct sbc_trunk_name *nm);

/* The addresses as the log shows them: "ADDR:PORT/udp, …". */
static void targets_str(const struct sbc_dns_target *t, int n, char *buf, size_t size)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && off + 64 < size; i++) {
		char one[80];
		sbc_dns_target_str(&t[i], one, sizeof(one));
		off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? ", " : "", one);
	}
}

static bool same_targets(const struct sbc_trunk_name *nm, const struct sbc_dns_target *t, int n)
{
	if (nm->n != n)
		return false;
	for (int i = 0; i < n; i++)
		if (nm->v[i].tp != t[i].tp || nm->v[i].len != t[i].len ||
		    memcmp(&nm->v[i].ss, &t[i].ss, t[i].len) != 0)
			return false;
	return true;
}

/* The trunk of the current table that looks this name up, or NULL. */
static struct sbc_trunk *name_trunk(struct sbc_trunk_name *nm)
{
	struct sbc_trunks *tt = nm->tt;
	struct sbc_trunk *k = (struct sbc_trunk *)sbc_trunks_by_key(tt, nm->key, SBC_TRUNK_KEY_LEN);
	if (!k)
		return NULL;
	for (int i = 0; i < 1 + k->t.npeers; i++)
		if (k->names[i] == nm)
			return k;
	return NULL;
}

static void on_resolved(void *arg, const struct sbc_dns_target *t, int n, int ttl, const char *why)
{
	struct sbc_trunk_name *nm = arg;
	nm->q = NULL;
	if (n == 0) {
		if (!nm->failed)
			log_warn("trunk %s (%s/%lld): %s not resolved (%s)", nm->key, nm->ps,
				 (long long)nm->id, nm->host, why);
		nm->failed = true;
	} else if (nm->failed || !same_targets(nm, t, n)) {
		char list[SBC_DNS_MAX_TARGETS * 64];
		struct sbc_dns_target *v = malloc((size_t)n * sizeof(*v));
		if (!v) {
			log_error("trunk %s: out of memory for %s's addresses", nm->key, nm->host);
			ttl = sbc_dns_min_ttl(nm->tt->dns);
		} else {
			memcpy(v, t, (size_t)n * sizeof(*v));
			free(nm->v);
			nm->v = v;
			nm->n = n;
			nm->failed = false;
			targets_str(t, n, list, sizeof(list));
			log_info("trunk %s (%s/%lld): %s → %s", nm->key, nm->ps, (long long)nm->id,
				 nm->host, list);
			struct sbc_trunk *k = name_trunk(nm);
			if (k && (assemble(k) < 0 || reindex(nm->tt, &nm->tt->tab) < 0))
				log_error("out of memory for trunk %s's addresses", nm->key);
		}
	}
	struct timeval tv = {.tv_sec = ttl};
	evtimer_add(nm->timer, &tv);
}

static void on_ttl(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	name_lookup(arg);
}

static void name_lookup(struct sbc_trunk_name *nm)
{
	const char *why = NULL;
	nm->q = sbc_dns_resolve(nm->tt->dns, nm->host, nm->supported, on_resolved, nm, &why);
	if (nm->q)
		return;
	if (!nm->failed)
		log_warn("trunk %s (%s/%lld): %s not resolved (%s)", nm->key, nm->ps,
			 (long long)nm->id, nm->host, why);
	nm->failed = true;
	if (strcmp(why, "out of memory") == 0) { /* else it will never be a host */
		struct timeval tv = {.tv_sec = sbc_dns_min_ttl(nm->tt->dns)};
		evtimer_add(nm->timer, &tv);
	}
}

/* The name entry of hostport for trunk k of the table being built: the old
 * trunk's (old, may be NULL) when it had the same, else a new one (its
 * look-up started by the caller: *fresh). NULL for a literal address, or
 * without a resolver or memory (the name is then only counted). */
static struct sbc_trunk_name *name_for(struct sbc_trunks *tt, const struct sbc_trunk *k,
				       const struct sbc_trunk *old, const char *hostport,
				       bool *fresh)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int supported = transport_bits(k->t.transport);
	*fresh = false;
	if (!*hostport || sbc_trunk_literal(hostport, default_port(k), &ss, &len) == 0 || !tt->dns)
		return NULL;
	for (int i = 0; old && i < 1 + old->t.npeers; i++) {
		struct sbc_trunk_name *nm = old->names[i];
		if (nm && !nm->used && nm->supported == supported &&
		    strcmp(nm->host, hostport) == 0) {
			nm->used = true;
			return nm;
		}
	}
	struct sbc_trunk_name *nm = calloc(1, sizeof(*nm));
	if (!nm || !(nm->timer = evtimer_new(tt->base, on_ttl, nm))) {
		free(nm);
		log_error("trunk %s: out of memory to look %s up", k->key, hostport);
		return NULL;
	}
	nm->tt = tt;
	memcpy(nm->key, k->key, sizeof(nm->key));
	snprintf(nm->ps, sizeof(nm->ps), "%s", k->ps);
	nm->id = k->t.id;
	snprintf(nm->host, sizeof(nm->host), "%s", hostport);
	nm->supported = supported;
	nm->used = true;
	TAILQ_INSERT_TAIL(&tt->names, nm, entry);
	*fresh = true;
	return nm;
}

/* Without a resolver: a name is said once, when the trunk first appears. */
static void say_unresolved(const struct sbc_trunk *k, const char *hostport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (*hostport && sbc_trunk_literal(hostport, default_port(k), &ss, &len) < 0)
		log_info("trunk %lld of %s: %s is a name, not resolved (no resolver)",
			 (long long)k->t.id, k->ps, hostport);
}

/* Trunk k (new in the table) gets its name entries; those that are new are
 * marked in fresh. */
static void take_names(struct sbc_trunks *tt, struct sbc_trunk *k, const struct sbc_trunk *old,
		       bool fresh[1 + CORE_STATE_MAX_PEERS])
{
	const char *hosts[1 + CORE_STATE_MAX_PEERS];
	int nh = 0;
	hosts[nh++] = send_host(k);
	for (int p = 0; p < k->t.npeers; p++)
		hosts[nh++] = k->t.peers[p];
	for (int i = 0; i < nh; i++) {
		k->names[i] = name_for(tt, k, old, hosts[i], &fresh[i]);
		if (!tt->dns && !old)
			say_unresolved(k, hosts[i]);
	}
}

int sbc_trunks_load(struct sbc_trunks *tt, const struct core_state *st)
{
	struct table nt = {0};
	int n = 0;
	for (int i = 0; i < st->nphone_systems; i++)
		n += st->phone_systems[i].ntrunks;
	nt.nbuckets = 16;
	while (nt.nbuckets < (unsigned)n * 4)
		nt.nbuckets *= 2;
	nt.v = calloc((size_t)n + 1, sizeof(*nt.v));
	nt.key_head = malloc(nt.nbuckets * sizeof(int));
	nt.key_next = malloc(((size_t)n + 1) * sizeof(int));
	bool(*fresh)[1 + CORE_STATE_MAX_PEERS] = calloc((size_t)n + 1, sizeof(*fresh));
	if (!nt.v || !nt.key_head || !nt.key_next || !fresh) {
		free(fresh);
		clear(&nt);
		return -1;
	}
	for (unsigned b = 0; b < nt.nbuckets; b++)
		nt.key_head[b] = -1;
	struct sbc_trunk_name *nm;
	TAILQ_FOREACH(nm, &tt->names, entry)
	nm->used = false;
	for (int i = 0; i < st->nphone_systems; i++) {
		const struct core_state_ps *ps = &st->phone_systems[i];
		for (int j = 0; j < ps->ntrunks; j++) {
			if (!ps->trunks[j].enabled)
				continue;
			struct sbc_trunk *k = &nt.v[nt.n];
			k->t = ps->trunks[j];
			snprintf(k->ps, sizeof(k->ps), "%s", ps->name);
			sbc_trunk_key(k->ps, k->t.id, k->key);
			take_names(tt, k, sbc_trunks_by_key(tt, k->key, SBC_TRUNK_KEY_LEN),
				   fresh[nt.n]);
			unsigned b = bucket(tt, nt.nbuckets, k->key, SBC_TRUNK_KEY_LEN);
			nt.key_next[nt.n] = nt.key_head[b];
			nt.key_head[b] = nt.n++;
		}
	}
	clear(&tt->tab);
	tt->tab = nt;
	/* the names no trunk uses any more: their look-ups end */
	struct sbc_trunk_name *next;
	for (nm = TAILQ_FIRST(&tt->names); nm; nm = next) {
		next = TAILQ_NEXT(nm, entry);
		if (!nm->used)
			name_free(nm);
	}
	int rc = 0;
	for (int i = 0; i < tt->tab.n; i++)
		if (assemble(&tt->tab.v[i]) < 0)
			rc = -1;
	if (reindex(tt, &tt->tab) < 0)
		rc = -1;
	for (int i = 0; i < tt->tab.n; i++)
		for (int h = 0; h < 1 + tt->tab.v[i].t.npeers; h++)
			if (fresh[i][h])
				name_lookup(tt->tab.v[i].names[h]);
	free(fresh);
	if (rc < 0)
		log_error("out of memory for the trunks' addresses");
	return 0;
}

int sbc_trunks_count(const struct sbc_trunks *tt)
{
	return tt->tab.n;
}

const struct sbc_trunk *sbc_trunks_by_key(const struct sbc_trunks *tt, const char *key, size_t len)
{
	const struct table *tb = &tt->tab;
	if (!tb->n || len != SBC_TRUNK_KEY_LEN)
		return NULL;
	for (int i = tb->key_head[bucket(tt, tb->nbuckets, key, len)]; i >= 0; i = tb->key_next[i])
		if (memcmp(tb->v[i].key, key, len) == 0)
			return &tb->v[i];
	return NULL;
}

const struct sbc_trunk *sbc_trunks_by_addr(const struct sbc_trunks *tt, const struct sockaddr *sa)
{
	const struct table *tb = &tt->tab;
	unsigned char ip[16], other[16];
	if (!tb->n || !tb->addr_head || ip_bytes(sa, ip) < 0)
		return NULL;
	const struct sbc_trunk *found = NULL;
	/* chains are built newest first: keep the last match, the first trunk */
	for (int e = tb->addr_head[bucket(tt, tb->nbuckets, ip, sizeof(ip))]; e >= 0;
	     e = tb->addr_next[e]) {
		const struct sbc_trunk *k = &tb->v[tb->addr_trunk[e]];
		if (ip_bytes((const struct sockaddr *)&k->addrs[tb->addr_idx[e]], other) == 0 &&
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

int sbc_trunk_targets(const struct sbc_trunk *t, struct sockaddr_storage *out, socklen_t *lens,
		      int max)
{
	int n = 0;
	for (; n < t->ntargets && n < max; n++) {
		out[n] = t->addrs[n];
		lens[n] = t->addrlens[n];
	}
	return n;
}

void sbc_trunk_state(struct sbc *sbc)
{
	if (!sbc->trunks) {
		if (!(sbc->trunks = sbc_trunks_new())) {
			log_error("out of memory for the trunk table");
			return;
		}
		sbc_trunks_set_dns(sbc->trunks, sbc->dns, sbc->child.base);
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
