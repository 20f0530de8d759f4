/*
 * sbc_nat — the NAT table of the SBC and the one decision it makes: which
 * address a peer is told (sbc_nat.h). The table is rebuilt from each state;
 * an interface whose STUN server stays keeps what STUN found.
 */
#include "sbc_nat.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../core/core_work.h"

static struct sbc_nat *current;

void sbc_nat_use(struct sbc_nat *n)
{
	current = n;
}

const struct sbc_nat *sbc_nat_current(void)
{
	return current;
}

struct sbc_nat *sbc_nat_new(struct event_base *base)
{
	struct sbc_nat *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->base = base;
	return n;
}

static void iface_free(struct sbc_nat_iface *i)
{
	sbc_nat_stun_stop(i);
	if (i->timer)
		event_free(i->timer);
	i->timer = NULL;
	if (i->resolving) { /* its resolution's done() frees it */
		i->orphan = true;
		return;
	}
	free(i);
}

void sbc_nat_free(struct sbc_nat *n)
{
	if (!n)
		return;
	if (current == n)
		current = NULL;
	for (int k = 0; k < n->n; k++)
		iface_free(n->ifs[k]);
	core_work_free(n->work); /* hands orphans to done(): freed there */
	free(n);
}

/* A literal address (the state's decoder checked it) into ss. */
static bool parse_ip(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		return ss->ss_family = AF_INET, true;
	if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		return ss->ss_family = AF_INET6, true;
	return false;
}

static void say_external(const struct sbc_nat_iface *i)
{
	char a[CORE_NET_ADDR_LEN];
	core_net_addr_str((const struct sockaddr *)&i->external, a, sizeof(a));
	log_info("nat: %s: external address %s (configured) for peers outside %d network(s)",
		 i->cfg.interface, a, i->cfg.ninside);
}

void sbc_nat_configure(struct sbc_nat *n, const struct core_state_nat *cfg, int ncfg)
{
	struct sbc_nat_iface *fresh[CORE_STATE_MAX_NAT] = {0};
	for (int k = 0; k < ncfg && k < CORE_STATE_MAX_NAT; k++) {
		struct sbc_nat_iface *i = NULL;
		for (int j = 0; j < n->n && !i; j++)
			if (n->ifs[j] && strcmp(n->ifs[j]->cfg.interface, cfg[k].interface) == 0 &&
			    strcmp(n->ifs[j]->cfg.stun, cfg[k].stun) == 0 &&
			    strcmp(n->ifs[j]->cfg.external, cfg[k].external) == 0) {
				i = n->ifs[j];
				n->ifs[j] = NULL; /* kept: what STUN found stays */
			}
		if (i) {
			i->cfg = cfg[k]; /* its addresses and networks may have changed */
			fresh[k] = i;
			continue;
		}
		if (!(i = calloc(1, sizeof(*i)))) {
			log_error("nat: %s: out of memory", cfg[k].interface);
			continue;
		}
		i->cfg = cfg[k];
		i->nat = n;
		i->udp = -1;
		if (*i->cfg.external) {
			i->have_external = parse_ip(i->cfg.external, &i->external);
			say_external(i);
		} else {
			snprintf(i->error, sizeof(i->error), "asking %s", i->cfg.stun);
			sbc_nat_stun_start(i);
		}
		fresh[k] = i;
	}
	for (int j = 0; j < n->n; j++)
		if (n->ifs[j]) {
			log_info("nat: %s: off", n->ifs[j]->cfg.interface);
			iface_free(n->ifs[j]);
		}
	int m = 0;
	for (int k = 0; k < ncfg && k < CORE_STATE_MAX_NAT; k++)
		if (fresh[k])
			n->ifs[m++] = fresh[k];
	n->n = m;
}

const struct sbc_nat_iface *sbc_nat_iface_of(const struct sbc_nat *n,
					     const struct sockaddr_storage *local)
{
	for (int k = 0; n && k < n->n; k++)
		for (int a = 0; a < n->ifs[k]->cfg.naddrs; a++)
			if (core_nat_net_contains(&n->ifs[k]->cfg.addrs[a],
						  (const struct sockaddr *)local))
				return n->ifs[k];
	return NULL;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	static const struct core_nat_net lo4 = {AF_INET, {127}, 8};
	static const struct core_nat_net lo6 = {AF_INET6, {[15] = 1}, 128};
	return core_nat_net_contains(&lo4, (const struct sockaddr *)ss) ||
	       core_nat_net_contains(&lo6, (const struct sockaddr *)ss);
}

bool sbc_nat_is_inside(const struct sbc_nat_iface *i, const struct sockaddr_storage *peer)
{
	if (is_loopback(peer))
		return true;
	for (int k = 0; k < i->cfg.ninside; k++)
		if (core_nat_net_contains(&i->cfg.inside[k], (const struct sockaddr *)peer))
			return true;
	return false;
}

/* ss as a plain IPv4 address when it is an IPv4-mapped IPv6 one. */
static void unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		return;
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = a6->sin6_port};
	memcpy(&a4.sin_addr, &a6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &a4, sizeof(a4));
}

void sbc_nat_advertise(const struct sbc_nat *n, const struct sockaddr_storage *local,
		       const struct sockaddr_storage *peer, struct sockaddr_storage *out)
{
	*out = *local;
	unmap(out);
	const struct sbc_nat_iface *i = sbc_nat_iface_of(n, local);
	if (!i || !i->have_external || i->external.ss_family != out->ss_family ||
	    sbc_nat_is_inside(i, peer))
		return;
	int port = core_net_ss_port(out);
	*out = i->external;
	core_net_ss_set_port(out, port);
}

json_t *sbc_nat_stats(const struct sbc_nat *n)
{
	json_t *list = json_array();
	for (int k = 0; n && k < n->n; k++) {
		const struct sbc_nat_iface *i = n->ifs[k];
		char a[CORE_NET_ADDR_LEN] = "";
		if (i->have_external)
			core_net_addr_str((const struct sockaddr *)&i->external, a, sizeof(a));
		json_array_append_new(list,
				      json_pack("{s:s, s:s, s:s}", "interface", i->cfg.interface,
						"in_use", a, "stun_error", i->error));
	}
	return list;
}
