/*
 * sbc_dns — the SBC's RFC 3263 resolver (sbc_dns.h): c-ares's sockets
 * watched with libevent events (ARES_OPT_SOCK_STATE_CB, ares_process_fd),
 * one timer from ares_timeout; each query walks NAPTR → SRV → A/AAAA one
 * lookup at a time, with sip_locate deciding every step.
 */
#include "sbc_dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <ares.h>
#include <event2/event.h>
#include <sodium.h>

#include "../core/core_log.h"
#include "../sip/sip_locate.h"

struct watch {
	TAILQ_ENTRY(watch) entry;
	ares_socket_t fd;
	struct event *ev;
};

struct sbc_dns {
	struct event_base *base;
	ares_channel ch;
	TAILQ_HEAD(, watch) watches;
	TAILQ_HEAD(, sbc_dns_query) queries;
	struct event *timer;
	int min_ttl;
	bool lib; /* ares_library_init done */
};

enum phase { PH_NAPTR, PH_SRV, PH_HOST, PH_DONE };

struct sbc_dns_query {
	TAILQ_ENTRY(sbc_dns_query) entry;
	struct sbc_dns *dns;
	sbc_dns_cb cb;
	void *arg;
	struct event *done; /* delivers the answer from the loop */
	enum phase phase;
	bool busy;	/* a c-ares lookup of ours is running */
	bool cancelled; /* freed when that lookup ends */
	int supported;
	char name[SIP_LOCATE_NAME_MAX + 1];
	struct sip_locate_target srv[SBC_DNS_MAX_RECORDS]; /* SRV names to look up */
	int nsrv, isrv;
	struct sip_locate_target host[SBC_DNS_MAX_RECORDS]; /* hosts with ports */
	int nhost, ihost;
	struct sbc_dns_target out[SBC_DNS_MAX_TARGETS];
	int nout;
	uint32_t ttl; /* the smallest seen; UINT32_MAX: none */
	const char *why;
};

static void advance(struct sbc_dns_query *q);

/* ---- the event loop's side of c-ares ---- */

static void arm_timer(struct sbc_dns *dns)
{
	struct timeval tv, *t = ares_timeout(dns->ch, NULL, &tv);
	if (t)
		evtimer_add(dns->timer, t);
	else
		evtimer_del(dns->timer);
}

static void on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_dns *dns = arg;
	ares_process_fd(dns->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
			(what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	arm_timer(dns);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_dns *dns = arg;
	(void)fd;
	(void)what;
	ares_process_fd(dns->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(dns);
}

/* c-ares opens, changes and closes its sockets: one persistent event each. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct sbc_dns *dns = data;
	struct watch *w = TAILQ_FIRST(&dns->watches);
	while (w && w->fd != fd)
		w = TAILQ_NEXT(w, entry);
	if (w && w->ev) {
		event_free(w->ev); /* safe in its own callback: libevent copied it */
		w->ev = NULL;
	}
	if (!readable && !writable) {
		if (w) {
			TAILQ_REMOVE(&dns->watches, w, entry);
			free(w);
		}
		return;
	}
	if (!w) {
		if (!(w = calloc(1, sizeof(*w)))) {
			log_error("dns: out of memory for a socket's event");
			return; /* its lookups end by timeout */
		}
		w->fd = fd;
		TAILQ_INSERT_TAIL(&dns->watches, w, entry);
	}
	short what = (short)(EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
	w->ev = event_new(dns->base, fd, what, on_sock, dns);
	if (!w->ev || event_add(w->ev, NULL) < 0)
		log_error("dns: cannot watch a socket");
}

struct sbc_dns *sbc_dns_new(struct event_base *base)
{
	struct sbc_dns *dns = calloc(1, sizeof(*dns));
	struct ares_options o = {0};
	int status;
	if (!dns || sodium_init() < 0)
		goto fail;
	dns->base = base;
	TAILQ_INIT(&dns->watches);
	TAILQ_INIT(&dns->queries);
	dns->min_ttl = SBC_DNS_MIN_TTL;
	const char *mt = getenv("ZENTRALE_TEST_DNS_MIN_TTL");
	if (mt && atoi(mt) >= 1 && atoi(mt) < SBC_DNS_MIN_TTL)
		dns->min_ttl = atoi(mt);
	if ((status = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		log_error("dns: %s", ares_strerror(status));
		goto fail;
	}
	dns->lib = true;
	o.sock_state_cb = on_sock_state;
	o.sock_state_cb_data = dns;
	o.timeout = SBC_DNS_TIMEOUT_MS;
	o.tries = SBC_DNS_TRIES;
	status = ares_init_options(&dns->ch, &o,
				   ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (status != ARES_SUCCESS) {
		log_error("dns: %s", ares_strerror(status));
		dns->ch = NULL;
		goto fail;
	}
	const char *srv = getenv("ZENTRALE_TEST_DNS_SERVER");
	if (srv && *srv && (status = ares_set_servers_ports_csv(dns->ch, srv)) != ARES_SUCCESS) {
		log_error("dns: ZENTRALE_TEST_DNS_SERVER %s: %s", srv, ares_strerror(status));
		goto fail;
	}
	if (!(dns->timer = evtimer_new(base, on_timer, dns)))
		goto fail;
	return dns;
fail:
	sbc_dns_free(dns);
	return NULL;
}

static void query_free(struct sbc_dns_query *q)
{
	TAILQ_REMOVE(&q->dns->queries, q, entry);
	if (q->done)
		event_free(q->done);
	free(q);
}

void sbc_dns_free(struct sbc_dns *dns)
{
	if (!dns)
		return;
	if (dns->ch)
		ares_destroy(dns->ch); /* running lookups end: ARES_EDESTRUCTION */
	while (!TAILQ_EMPTY(&dns->queries))
		query_free(TAILQ_FIRST(&dns->queries));
	struct watch *w;
	while ((w = TAILQ_FIRST(&dns->watches))) {
		TAILQ_REMOVE(&dns->watches, w, entry);
		if (w->ev)
			event_free(w->ev);
		free(w);
	}
	if (dns->timer)
		event_free(dns->timer);
	if (dns->lib)
		ares_library_cleanup();
	free(dns);
}

int sbc_dns_min_ttl(const struct sbc_dns *dns)
{
	return dns->min_ttl;
}

/* ---- pure helpers ---- */

/* Skips a (possibly compressed) name at *off; -1 if it runs out. */
static int skip_name(const unsigned char *b, size_t len, size_t *off)
{
	size_t o = *off;
	for (int labels = 0; labels < 128; labels++) {
		if (o >= len)
			return -1;
		unsigned char c = b[o];
		if (c == 0) {
			*off = o + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if (c & 0xc0)
			return -1; /* the reserved label types */
		o += 1u + c;
	}
	return -1;
}

int sbc_dns_answer_ttl(const unsigned char *abuf, size_t alen, uint32_t *ttl)
{
	if (!abuf || alen < 12)
		return -1;
	unsigned qd = (unsigned)(abuf[4] << 8 | abuf[5]);
	unsigned an = (unsigned)(abuf[6] << 8 | abuf[7]);
	size_t off = 12;
	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(abuf, alen, &off) < 0 || off + 4 > alen)
			return -1;
		off += 4;
	}
	uint32_t best = UINT32_MAX;
	for (unsigned i = 0; i < an; i++) {
		if (skip_name(abuf, alen, &off) < 0 || off + 10 > alen)
			return -1;
		const unsigned char *p = abuf + off;
		uint32_t t =
			(uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		size_t rdlen = (size_t)(p[8] << 8 | p[9]);
		if (off + 10 + rdlen > alen)
			return -1;
		off += 10 + rdlen;
		if (t < best)
			best = t;
	}
	if (best == UINT32_MAX && an == 0)
		return -1;
	*ttl = best;
	return 0;
}

void sbc_dns_target_str(const struct sbc_dns_target *t, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	const char *tp = t->tp == SIP_LOCATE_TLS ? "tls" : t->tp == SIP_LOCATE_TCP ? "tcp" : "udp";
	if (t->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&t->ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
		snprintf(buf, size, "%s:%d/%s", a, port, tp);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&t->ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
		snprintf(buf, size, "[%s]:%d/%s", a, port, tp);
	}
}

/* ---- one query ---- */

static void see_ttl(struct sbc_dns_query *q, uint32_t ttl)
{
	if (ttl < q->ttl)
		q->ttl = ttl;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_dns_query *q = arg;
	(void)fd;
	(void)what;
	int min = q->dns->min_ttl;
	int ttl = q->ttl == UINT32_MAX || q->nout == 0 ? min
		  : q->ttl < (uint32_t)min	       ? min
		  : q->ttl > SBC_DNS_MAX_TTL	       ? SBC_DNS_MAX_TTL
						       : (int)q->ttl;
	if (!q->cancelled)
		q->cb(q->arg, q->out, q->nout, ttl,
		      q->nout  ? NULL
		      : q->why ? q->why
			       : "no address");
	query_free(q);
}

static void finish(struct sbc_dns_query *q)
{
	static const struct timeval now = {0, 0};
	q->phase = PH_DONE;
	evtimer_add(q->done, &now);
}

/* The end of one of our c-ares lookups: false when the query is gone or
 * going (cancelled, the resolver destroyed). */
static bool lookup_ended(struct sbc_dns_query *q, int status)
{
	q->busy = false;
	if (status == ARES_EDESTRUCTION || q->cancelled) {
		query_free(q);
		return false;
	}
	return true;
}

static void on_naptr(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct sbc_dns_query *q = arg;
	(void)timeouts;
	if (!lookup_ended(q, status))
		return;
	if (status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED) {
		q->why = ares_strerror(status); /* no server answers: no use going on */
		finish(q);
		return;
	}
	struct ares_naptr_reply *rr = NULL;
	if (status == ARES_SUCCESS && ares_parse_naptr_reply(abuf, alen, &rr) == ARES_SUCCESS) {
		struct sip_locate_naptr v[SIP_LOCATE_MAX_NAPTR];
		size_t n = 0;
		for (struct ares_naptr_reply *r = rr; r && n < SIP_LOCATE_MAX_NAPTR; r = r->next)
			v[n++] = (struct sip_locate_naptr){.order = r->order,
							   .pref = r->preference,
							   .flags = (const char *)r->flags,
							   .service = (const char *)r->service,
							   .replacement = r->replacement};
		int k = sip_locate_naptr(v, n, q->supported, SIP_LOCATE_ANY, q->srv,
					 SBC_DNS_MAX_RECORDS);
		q->nsrv = k > 0 ? k : 0;
		uint32_t ttl;
		if (q->nsrv && sbc_dns_answer_ttl(abuf, (size_t)alen, &ttl) == 0)
			see_ttl(q, ttl);
	}
	ares_free_data(rr);
	if (!q->nsrv) { /* RFC 3263 4.1: no NAPTR, the SRV names of the host */
		int k = sip_locate_srv_names(q->name, q->supported, SIP_LOCATE_ANY, q->srv,
					     SBC_DNS_MAX_RECORDS);
		q->nsrv = k > 0 ? k : 0;
	}
	q->phase = PH_SRV;
	advance(q);
}

static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct sbc_dns_query *q = arg;
	(void)timeouts;
	if (!lookup_ended(q, status))
		return;
	const struct sip_locate_target *name = &q->srv[q->isrv++];
	struct ares_srv_reply *rr = NULL;
	if (status == ARES_SUCCESS && ares_parse_srv_reply(abuf, alen, &rr) == ARES_SUCCESS) {
		struct sip_locate_srv v[SIP_LOCATE_MAX_SRV];
		uint32_t rnd[SIP_LOCATE_MAX_SRV];
		size_t n = 0;
		for (struct ares_srv_reply *r = rr; r && n < SIP_LOCATE_MAX_SRV; r = r->next)
			v[n++] = (struct sip_locate_srv){.prio = r->priority,
							 .weight = r->weight,
							 .port = r->port,
							 /* c-ares writes the root as "" */
							 .target = *r->host ? r->host : "."};
		randombytes_buf(rnd, sizeof(rnd));
		int k = sip_locate_srv_order(v, n, name->tp, rnd, SIP_LOCATE_MAX_SRV,
					     q->host + q->nhost,
					     (size_t)(SBC_DNS_MAX_RECORDS - q->nhost));
		uint32_t ttl;
		if (k > 0 && sbc_dns_answer_ttl(abuf, (size_t)alen, &ttl) == 0)
			see_ttl(q, ttl);
		q->nhost += k > 0 ? k : 0;
	} else if (status != ARES_SUCCESS) {
		q->why = ares_strerror(status);
	}
	ares_free_data(rr);
	advance(q);
}

static void on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct sbc_dns_query *q = arg;
	(void)timeouts;
	if (!lookup_ended(q, status)) {
		ares_freeaddrinfo(res);
		return;
	}
	const struct sip_locate_target *h = &q->host[q->ihost++];
	if (status != ARES_SUCCESS)
		q->why = ares_strerror(status);
	for (struct ares_addrinfo_node *n = res ? res->nodes : NULL;
	     n && q->nout < SBC_DNS_MAX_TARGETS; n = n->ai_next) {
		struct sbc_dns_target t = {.tp = h->tp};
		if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(struct sockaddr_in)) {
			memcpy(&t.ss, n->ai_addr, sizeof(struct sockaddr_in));
			((struct sockaddr_in *)&t.ss)->sin_port = htons(h->port);
			t.len = sizeof(struct sockaddr_in);
		} else if (n->ai_family == AF_INET6 &&
			   n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			memcpy(&t.ss, n->ai_addr, sizeof(struct sockaddr_in6));
			((struct sockaddr_in6 *)&t.ss)->sin6_port = htons(h->port);
			t.len = sizeof(struct sockaddr_in6);
		} else {
			continue;
		}
		bool dup = false;
		for (int i = 0; i < q->nout && !dup; i++)
			dup = q->out[i].tp == t.tp && q->out[i].len == t.len &&
			      memcmp(&q->out[i].ss, &t.ss, t.len) == 0;
		if (dup)
			continue;
		q->out[q->nout++] = t;
		if (n->ai_ttl >= 0)
			see_ttl(q, (uint32_t)n->ai_ttl);
	}
	ares_freeaddrinfo(res);
	advance(q);
}

/* The transport a host found without SRV records is used with. */
static int fallback_tp(const struct sbc_dns_query *q)
{
	if (q->nsrv)
		return q->srv[0].tp;
	if (q->supported & SIP_LOCATE_UDP)
		return SIP_LOCATE_UDP;
	return q->supported & SIP_LOCATE_TCP ? SIP_LOCATE_TCP : SIP_LOCATE_TLS;
}

/* The next lookup, or the answer. A lookup's callback may run before
 * c-ares returns (/etc/hosts, errors): nothing touches q after one starts. */
static void advance(struct sbc_dns_query *q)
{
	struct sbc_dns *dns = q->dns;
	if (q->phase == PH_SRV && q->isrv < q->nsrv && q->nhost < SBC_DNS_MAX_RECORDS) {
		q->busy = true;
		ares_query(dns->ch, q->srv[q->isrv].host, ns_c_in, ns_t_srv, on_srv, q);
		arm_timer(dns);
		return;
	}
	if (q->phase == PH_SRV) {
		q->phase = PH_HOST;
		if (q->nhost == 0 && sip_locate_host(q->name, fallback_tp(q), &q->host[0]) == 0)
			q->nhost = 1;
	}
	if (q->phase == PH_HOST && q->ihost < q->nhost && q->nout < SBC_DNS_MAX_TARGETS) {
		struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC};
		q->busy = true;
		ares_getaddrinfo(dns->ch, q->host[q->ihost].host, NULL, &hints, on_addr, q);
		arm_timer(dns);
		return;
	}
	finish(q);
}

/* A literal address as the one target. */
static void literal(struct sbc_dns_query *q, const struct sip_locate_target *t)
{
	struct sbc_dns_target *o = &q->out[0];
	memset(o, 0, sizeof(*o));
	o->tp = t->tp;
	if (t->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&o->ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(t->port);
		o->len = sizeof(*s4);
		q->nout = inet_pton(AF_INET, t->host, &s4->sin_addr) == 1;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(t->port);
		o->len = sizeof(*s6);
		q->nout = inet_pton(AF_INET6, t->host, &s6->sin6_addr) == 1;
	}
	q->ttl = SBC_DNS_MAX_TTL;
}

/* The transport asked of sip_locate_parse: the only one supported, else
 * none (RFC 3263's defaults then). */
static int parse_tp(int supported)
{
	if (supported == SIP_LOCATE_UDP || supported == SIP_LOCATE_TCP ||
	    supported == SIP_LOCATE_TLS)
		return supported;
	return SIP_LOCATE_ANY;
}

struct sbc_dns_query *sbc_dns_resolve(struct sbc_dns *dns, const char *target, int supported,
				      sbc_dns_cb cb, void *arg, const char **why)
{
	struct sip_locate_target t;
	supported &= SIP_LOCATE_ALL;
	if (!supported)
		supported = SIP_LOCATE_ALL;
	if (sip_locate_parse(target, strlen(target), parse_tp(supported), &t) < 0) {
		*why = "not a host name or address";
		return NULL;
	}
	struct sbc_dns_query *q = calloc(1, sizeof(*q));
	if (!q || !(q->done = evtimer_new(dns->base, on_done, q))) {
		free(q);
		*why = "out of memory";
		return NULL;
	}
	q->dns = dns;
	q->cb = cb;
	q->arg = arg;
	q->supported = supported;
	q->ttl = UINT32_MAX;
	snprintf(q->name, sizeof(q->name), "%s", t.host);
	TAILQ_INSERT_TAIL(&dns->queries, q, entry);
	switch (t.step) {
	case SIP_LOCATE_ADDR:
		literal(q, &t);
		finish(q);
		break;
	case SIP_LOCATE_HOST:
		q->host[0] = t;
		q->nhost = 1;
		q->phase = PH_HOST;
		advance(q);
		break;
	case SIP_LOCATE_SRV: /* not a result of parsing */
	case SIP_LOCATE_NAPTR:
		q->phase = PH_NAPTR;
		q->busy = true;
		ares_query(dns->ch, q->name, ns_c_in, ns_t_naptr, on_naptr, q);
		arm_timer(dns);
		break;
	}
	return q;
}

void sbc_dns_cancel(struct sbc_dns_query *q)
{
	if (!q)
		return;
	if (q->busy)
		q->cancelled = true; /* freed when its lookup ends */
	else
		query_free(q);
}
