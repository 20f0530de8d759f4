/*
 * sbc_nat_stun — the external address of an SBC interface from a STUN
 * server (RFC 5389 Binding, the pure codec src/stun): asked from the SIP
 * UDP socket on that interface (a trunk socket first, else plain SIP's, or
 * a wildcard one), so the mapping found is the one carriers and phones
 * see. A request is resent every second, SBC_NAT_STUN_TRIES times; the
 * answer comes on that socket, through sbc_sip.c's receive path
 * (sbc_nat_stun_input). The mapping is asked again every
 * SBC_NAT_STUN_REFRESH seconds, after a failure every SBC_NAT_STUN_RETRY.
 * A server's DNS name is resolved in a worker thread (core_work), never
 * on the event loop.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../core/core_work.h"
#include "sbc_nat.h"
#include "sbc_sip_int.h"

static void arm(struct sbc_nat_iface *i, int seconds);

static const char *server_name(const struct sbc_nat_iface *i)
{
	return i->cfg.stun;
}

/* The UDP socket to ask from: on the interface (a trunk socket first), else
 * a wildcard one of the server's family; -1 when there is none. */
static int pick_socket(const struct sbc_nat_iface *i)
{
	struct sbc_sip *s = i->nat->sip;
	int best = -1, best_score = -1;
	for (int k = 0; s && k < s->nudp; k++) {
		const struct sockaddr_storage *l = &s->udp_local[k];
		bool on = false;
		for (int a = 0; a < i->cfg.naddrs && !on; a++)
			on = core_nat_net_contains(&i->cfg.addrs[a], (const struct sockaddr *)l);
		bool v6any = l->ss_family == AF_INET6 && s->udp_wildcard[k];
		if (!on && !s->udp_wildcard[k])
			continue;
		if (l->ss_family != i->server.ss_family && !v6any)
			continue;
		int score = (on ? 4 : 0) + (s->udp_trunk[k] ? 1 : 0);
		if (score > best_score)
			best = k, best_score = score;
	}
	return best;
}

static void send_request(struct sbc_nat_iface *i)
{
	struct sbc_sip *s = i->nat->sip;
	uint8_t buf[64];
	const char *why;
	int len = stun_binding_request(buf, sizeof(buf), i->tid, NULL, &why);
	struct sockaddr_storage to = i->server;
	if (len < 0 || i->udp < 0 || i->udp >= s->nudp)
		return;
	if (s->udp_local[i->udp].ss_family == AF_INET6 && to.ss_family == AF_INET) {
		/* a dual-stack socket: the IPv4 server as an IPv4-mapped address */
		struct sockaddr_in a4;
		memcpy(&a4, &to, sizeof(a4));
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&to;
		memset(&to, 0, sizeof(to));
		a6->sin6_family = AF_INET6;
		a6->sin6_port = a4.sin_port;
		a6->sin6_addr.s6_addr[10] = a6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&a6->sin6_addr.s6_addr[12], &a4.sin_addr, 4);
	}
	if (sendto(s->udp_fd[i->udp], buf, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&to,
		   core_net_ss_len(&to)) < 0)
		log_debug("nat: %s: STUN request to %s: %m", i->cfg.interface, server_name(i));
}

static void fail(struct sbc_nat_iface *i, const char *why)
{
	if (strcmp(i->error, why) != 0)
		log_warn("nat: %s: STUN server %s: %s%s", i->cfg.interface, server_name(i), why,
			 i->have_external ? "; the last address found stays" : "");
	snprintf(i->error, sizeof(i->error), "%s", why);
	i->tries = 0;
	arm(i, SBC_NAT_STUN_RETRY);
}

/* A new request (the server known), or the next try of the one out. */
static void try_once(struct sbc_nat_iface *i)
{
	if (i->tries == 0) {
		i->udp = pick_socket(i);
		if (i->udp < 0) {
			fail(i, "no SIP UDP socket on this interface to ask from");
			return;
		}
		randombytes_buf(i->tid, sizeof(i->tid));
	} else if (i->tries >= SBC_NAT_STUN_TRIES) {
		fail(i, "no answer");
		return;
	}
	i->tries++;
	send_request(i);
	arm(i, 1);
}

struct resolve_job {
	struct sbc_nat_iface *i;
	char host[CORE_NAT_HOST_MAX];
	char port[8];
	struct sockaddr_storage out;
	int rc;
};

static void resolve_run(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	j->rc = getaddrinfo(j->host, j->port, &hints, &res);
	if (j->rc == 0 && res && res->ai_addrlen <= sizeof(j->out))
		memcpy(&j->out, res->ai_addr, res->ai_addrlen);
	else if (j->rc == 0)
		j->rc = EAI_FAIL;
	if (res)
		freeaddrinfo(res);
}

static void resolve_done(void *arg, bool cancelled)
{
	struct resolve_job *j = arg;
	struct sbc_nat_iface *i = j->i;
	i->resolving = false;
	if (i->orphan) {
		free(i);
	} else if (!cancelled) {
		if (j->rc != 0) {
			char why[300];
			snprintf(why, sizeof(why), "cannot resolve %s: %s", j->host,
				 gai_strerror(j->rc));
			fail(i, why);
		} else {
			i->server = j->out;
			i->resolved = true;
			try_once(i);
		}
	}
	free(j);
}

/* The server's address: a literal at once, a name in a worker thread. */
static void resolve(struct sbc_nat_iface *i)
{
	char host[CORE_NAT_HOST_MAX];
	int port;
	const char *why;
	struct sockaddr_storage ss;
	if (core_nat_hostport_parse(i->cfg.stun, 3478, host, &port, &why) < 0) {
		fail(i, why);
		return;
	}
	if (core_nat_ip_parse(host, &ss) == 0) {
		core_net_ss_set_port(&ss, port);
		i->server = ss;
		i->resolved = true;
		try_once(i);
		return;
	}
	struct sbc_nat *n = i->nat;
	if (!n->work)
		n->work = core_work_new(n->base, 1, CORE_STATE_MAX_NAT);
	struct resolve_job *j = calloc(1, sizeof(*j));
	if (!j || !n->work) {
		free(j);
		fail(i, "out of memory");
		return;
	}
	j->i = i;
	snprintf(j->host, sizeof(j->host), "%s", host);
	snprintf(j->port, sizeof(j->port), "%d", port);
	if (core_work_submit(n->work, resolve_run, resolve_done, j) < 0) {
		free(j);
		fail(i, "too many names being resolved");
		return;
	}
	i->resolving = true;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_nat_iface *i = arg;
	(void)fd;
	(void)what;
	if (i->resolving)
		return;
	if (i->tries == 0) /* a refresh, or a retry after a failure: resolve again */
		resolve(i);
	else
		try_once(i);
}

static void arm(struct sbc_nat_iface *i, int seconds)
{
	if (!i->timer)
		i->timer = evtimer_new(i->nat->base, on_timer, i);
	struct timeval tv = {.tv_sec = seconds};
	if (!i->timer || evtimer_add(i->timer, &tv) < 0)
		log_error("nat: %s: cannot set a timer", i->cfg.interface);
}

void sbc_nat_stun_start(struct sbc_nat_iface *i)
{
	i->tries = 0;
	log_info("nat: %s: asking STUN server %s for the external address", i->cfg.interface,
		 server_name(i));
	/* from the event loop, once the listeners may be there */
	arm(i, 0);
}

void sbc_nat_stun_stop(struct sbc_nat_iface *i)
{
	if (i->timer)
		evtimer_del(i->timer);
	i->tries = 0;
}

void sbc_nat_stun_kick(struct sbc_nat *n)
{
	for (int k = 0; n && k < n->n; k++) {
		struct sbc_nat_iface *i = n->ifs[k];
		if (*i->cfg.stun && *i->error && !i->resolving) {
			i->tries = 0; /* the socket it asked from may have gone */
			arm(i, 0);
		}
	}
}

static bool same_server(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	struct sockaddr_storage x = *a;
	if (x.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&x)->sin6_addr)) {
		struct sockaddr_in6 m;
		memcpy(&m, &x, sizeof(m));
		struct sockaddr_in *v4 = (struct sockaddr_in *)&x;
		memset(&x, 0, sizeof(x));
		v4->sin_family = AF_INET;
		v4->sin_port = m.sin6_port;
		memcpy(&v4->sin_addr, &m.sin6_addr.s6_addr[12], 4);
	}
	return core_net_ss_equal(&x, b);
}

bool sbc_nat_stun_input(struct sbc_nat *n, int udp, const struct sockaddr_storage *from,
			const uint8_t *buf, size_t len)
{
	bool ours = false; /* from a STUN server we ask: never SIP's */
	if (!n || !stun_is_message(buf, len))
		return false;
	for (int k = 0; k < n->n; k++) {
		struct sbc_nat_iface *i = n->ifs[k];
		if (!i->resolved || i->udp != udp || !same_server(from, &i->server))
			continue;
		ours = true;
		struct stun_answer a;
		const char *why;
		/* a late answer (none out), or another interface's (the same server) */
		if (i->tries == 0 || stun_parse_answer(buf, len, i->tid, &a, &why) < 0)
			continue;
		if (a.kind == STUN_BINDING_ERROR) {
			char e[320];
			snprintf(e, sizeof(e), "error %d %.*s", a.error_code, (int)a.reason.len,
				 a.reason.p);
			fail(i, e);
			return true;
		}
		char addr[CORE_NET_ADDR_LEN], was[CORE_NET_ADDR_LEN] = "";
		if (i->have_external)
			core_net_addr_str((struct sockaddr *)&i->external, was, sizeof(was));
		core_net_addr_str((struct sockaddr *)&a.mapped, addr, sizeof(addr));
		int port = core_net_ss_port(&a.mapped),
		    mine = core_net_ss_port(&n->sip->udp_local[udp]);
		if (strcmp(was, addr) != 0 || *i->error)
			log_info("nat: %s: STUN server %s says we are %s port %d: external "
				 "address %s%s",
				 i->cfg.interface, server_name(i), addr, port, addr,
				 port != mine ? " (the router changes our ports: forward them "
						"unchanged)"
					      : "");
		i->external = a.mapped;
		i->have_external = true;
		i->error[0] = '\0';
		i->tries = 0;
		arm(i, SBC_NAT_STUN_REFRESH);
		return true;
	}
	return ours;
}
