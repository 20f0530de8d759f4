/* sbc_media — see sbc_media.h. */
#include "sbc_media.h"
#include "sbc_nat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../core/core_hash.h" /* core_now_ms */
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../media/media_srtp.h"
#include "../sdp/sdp.h"
#include "sbc_dtmf.h"
#include "sbc_ports.h"
#include "sbc_trace.h"

/* A leg never answered is freed with its transaction (sbc_media_settle,
 * sbc_media_end): at once when it fails or is cancelled, at Timer B when
 * nothing answered it, at Timer C when it rang and got no final answer.
 * This is only the backstop for a leg nobody ended: Timer C and a margin. */
#define MEDIA_UNANSWERED_LIFE 200
#define MEDIA_PKT_MAX	      2048
#define MEDIA_BUCKETS	      4096 /* a power of two */
#define MEDIA_HELD_BUCKETS    1024 /* a power of two */
/* Pairs tried per new leg: one that cannot be bound (another program has a
 * port of it) is set aside for MEDIA_ASIDE_MS and the next one tried. */
#define MEDIA_BIND_TRIES 64
#define MEDIA_ASIDE_MS	 60000
/* Legs a phone's requests may hold before its phone system has accepted
 * them (answered the INVITE): per source address, and per phone system as
 * a share of the pool. Beyond: 503 with Retry-After. */
#define MEDIA_MAX_PER_ADDR 64
#define MEDIA_PS_SHARE	   4 /* a phone system: 1/4 of the port pairs */

struct ep {
	struct sbc_media *md;
	struct ep *next, *prev;
	struct ep *hnext; /* in the Call-ID index */
	char ps[64];	  /* a phone system's name: 63 characters at most */
	char *call_id;	  /* the whole Call-ID, NUL-terminated, of call_id_len bytes */
	size_t call_id_len;
	unsigned hash; /* of call_id, its bucket */
	int mline;
	/* Made for a request (or its answers) of a phone: held for it until its
	 * transaction's final answer. 2xx: kept; a failure: freed at once. */
	bool phone_req, tentative;
	uint32_t t_cseq;
	char t_method[8]; /* INVITE, UPDATE, PRACK */
	int port;
	int fd[2]; /* RTP, RTCP; with mux RTCP comes on fd[0] too and fd[1] is -1 */
	/* rtcp-mux (RFC 5761) with the phone on this leg: one port, RTCP told
	 * from RTP by its packet type (64-95); mux_offered: we offered it */
	bool mux, mux_offered;
	/* offered to the phone on one port when no whole pair was free: with
	 * a=rtcp naming it (RFC 3605), so a phone without rtcp-mux sends its
	 * RTCP there too (told from RTP by type), as rtpengine does */
	bool rtcp_same;
	/* such a leg whose phone answered without rtcp-mux: our one port
	 * takes its RTCP, which comes from its own RTCP port (latched apart)
	 * and goes back there */
	bool rtcp_apart;
	struct event *ev[2];
	struct sockaddr_storage local; /* bound address (RTP port) */
	struct sockaddr_storage sig;   /* the phone's signalling address */
	struct sockaddr_storage remote[2];
	socklen_t rlen[2];
	bool latched[2];
	uint64_t id;   /* unique: a peer is named by port and id, so */
	int peer_port; /* one that has gone is never reached */
	uint64_t peer_id;
	/* joined to the phone system's media engine instead of a peer: its
	 * RTP and RTCP addresses (loopback only) */
	bool engine;
	struct sockaddr_storage eng[2];
	/* the RTP stream towards the phone: one SSRC with sequence numbers and
	 * timestamps that go on when its source changes (another leg, the
	 * engine: music on hold and back), which some phones need */
	struct {
		bool have;
		uint32_t src_ssrc, ssrc, ts_off, last_ts;
		uint16_t seq_off, last_seq;
		int64_t last_ms;
	} out;
	bool srtp; /* the phone speaks SRTP with us */
	struct media_sdes theirs, ours;
	bool have_theirs, have_ours;
	struct media_srtp *rx, *tx;
	bool answered, notified;
	bool held;		  /* counted in held_* as a phone's leg not yet accepted */
	int64_t last_rx, created; /* ms */
	uint64_t packets, dropped;
	/* DTMF: the telephone-event payload type this leg's SDP names (-1:
	 * none) and its clock; a trunk leg with dtmf info takes the events its
	 * peer sends (din) instead of relaying them, and sends its peer the
	 * events of the carrier's INFO (dout, on dtimer) */
	int te_pt, te_clock;
	bool dtmf_info;
	struct sbc_dtmf_in din;
	struct sbc_dtmf_out dout;
	struct event *dtimer;
};

/* How many legs not yet accepted a key (a phone's address, a phone
 * system's name) holds: kept as legs are made, answered and freed, so a
 * new leg's check is O(1), not a walk over every leg. */
struct held {
	struct held *next;
	int n;
	size_t len;
	unsigned char key[64];
};

struct sbc_media {
	struct event_base *base;
	struct ep *eps;
	int neps;
	struct ep *by_cid[MEDIA_BUCKETS];
	/* by port (RTP's, or an rtcp-mux leg's one), every port: legs bound
	 * before the range changed are found as well as the others */
	struct ep *by_port[65536];
	struct held *held[MEDIA_HELD_BUCKETS];
	struct sbc_ports *pool; /* the pairs of port_min..port_max */
	uint64_t next_id;
	int port_min, port_max;
	int timeout; /* s without media before an answered call is ended */
	bool srtp_required;
	int64_t unanswered_ms; /* a leg never answered is forgotten after this */
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	struct event *sweep;
	sbc_media_timeout_cb cb;
	void *arg;
	uint64_t packets;
	struct sbc_trace *trace;
	sbc_media_dtmf_cb dtmf_cb;
	void *dtmf_arg;
};

/* Call-IDs come from anyone: a keyed hash, so chains cannot be aimed at. */
static unsigned hash_pl(const struct sbc_media *md, struct sip_pl v)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)v.p, v.l, md->hash_key);
	return (unsigned)(h & (MEDIA_BUCKETS - 1));
}

static bool same_call(const struct ep *e, struct sip_pl call_id)
{
	return e->call_id_len == call_id.l && memcmp(e->call_id, call_id.p, call_id.l) == 0;
}

/* A v4-mapped IPv6 address as plain IPv4, so sockets and SDP agree. */
static void unmap(struct sockaddr_storage *ss)
{
	if (ss->ss_family != AF_INET6)
		return;
	struct sockaddr_in6 a6 = *(struct sockaddr_in6 *)ss;
	if (!IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr))
		return;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	a4->sin_family = AF_INET;
	a4->sin_port = a6.sin6_port;
	memcpy(&a4->sin_addr, &a6.sin6_addr.s6_addr[12], 4);
}

static struct ep *peer_of(const struct ep *e)
{
	if (e->peer_port <= 0 || e->peer_port > 65535)
		return NULL;
	struct ep *p = e->md->by_port[e->peer_port];
	return p && p->id == e->peer_id ? p : NULL;
}

static void join(struct ep *a, struct ep *b)
{
	a->peer_port = b->port, a->peer_id = b->id;
	b->peer_port = a->port, b->peer_id = a->id;
	a->engine = b->engine = false; /* back from the engine (resume, transfer) */
}

/* The phone system's media engine: on loopback only (127.0.0.0/8, ::1), so
 * an SDP can never make us send a phone's media anywhere else. */
static bool is_engine_addr(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
	return a->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

/* The leg talks with the engine at a (its RTP port; RTCP the one above)
 * from now on; a peer that was joined to it is left without one. */
static void join_engine(struct ep *e, const struct sockaddr_storage *a)
{
	struct ep *p = peer_of(e);
	if (p && peer_of(p) == e)
		p->peer_port = 0;
	e->peer_port = 0;
	e->engine = true;
	e->eng[0] = e->eng[1] = *a;
	core_net_ss_set_port(&e->eng[1], core_net_ss_port(a) + 1);
}

/* ---- legs not yet accepted, counted ---- */

/* The key of an address: 'a', then its 4 or 16 bytes; of a phone system: 'p', its name. */
static size_t addr_key(const struct sockaddr_storage *ss, unsigned char key[64])
{
	key[0] = 'a';
	if (ss->ss_family == AF_INET6) {
		memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 17;
	}
	memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	return 5;
}

static size_t ps_key(const char *ps, unsigned char key[64])
{
	size_t n = strnlen(ps, 63); /* a name: 63 characters at most */
	key[0] = 'p';
	memcpy(key + 1, ps, n);
	return n + 1;
}

static struct held **held_find(struct sbc_media *md, const unsigned char *key, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, key, len, md->hash_key);
	struct held **pp = &md->held[h & (MEDIA_HELD_BUCKETS - 1)];
	while (*pp && ((*pp)->len != len || memcmp((*pp)->key, key, len) != 0))
		pp = &(*pp)->next;
	return pp;
}

static int held_get(struct sbc_media *md, const unsigned char *key, size_t len)
{
	struct held *h = *held_find(md, key, len);
	return h ? h->n : 0;
}

/* by one up or down; -1 when out of memory (then nothing is counted) */
static int held_add(struct sbc_media *md, const unsigned char *key, size_t len, int by)
{
	struct held **pp = held_find(md, key, len);
	if (!*pp) {
		if (by < 0 || !(*pp = calloc(1, sizeof(**pp))))
			return by < 0 ? 0 : -1;
		(*pp)->len = len;
		memcpy((*pp)->key, key, len);
	}
	(*pp)->n += by;
	if ((*pp)->n <= 0) {
		struct held *h = *pp;
		*pp = h->next;
		free(h);
	}
	return 0;
}

/* A phone's leg not yet accepted starts (+1) or stops (-1) counting. */
static int held_count(struct sbc_media *md, struct ep *e, int by)
{
	if ((by > 0) == e->held)
		return 0;
	unsigned char a[64], p[64];
	size_t al = addr_key(&e->sig, a), pl = ps_key(e->ps, p);
	if (held_add(md, a, al, by) < 0)
		return -1;
	if (held_add(md, p, pl, by) < 0) {
		held_add(md, a, al, -by);
		return -1;
	}
	e->held = by > 0;
	return 0;
}

/* ---- packets ---- */

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* An RTP packet (len >= 12) about to go to e's phone, in the clear: the
 * first source's stream goes as it is; a packet of another SSRC (a new
 * source: the engine, another leg) is renumbered to go on from the last one
 * sent (sequence + 1, timestamp + the time since at 8 kHz, the marker set),
 * under the first SSRC. RTCP is not rewritten. */
static void continue_stream(struct ep *e, unsigned char *buf)
{
	uint32_t ssrc = get32(buf + 8), ts = get32(buf + 4);
	uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
	int64_t now = core_now_ms();
	if (!e->out.have) {
		e->out.have = true;
		e->out.src_ssrc = e->out.ssrc = ssrc;
	} else if (ssrc != e->out.src_ssrc) {
		int64_t gap = now - e->out.last_ms;
		uint32_t step = gap > 20 && gap < 3600000 ? (uint32_t)(gap * 8) : 160;
		e->out.src_ssrc = ssrc;
		e->out.seq_off = (uint16_t)(e->out.last_seq + 1 - seq);
		e->out.ts_off = e->out.last_ts + step - ts;
		buf[1] |= 0x80; /* a new talkspurt, as far as the phone can tell */
	}
	if (e->out.ssrc == ssrc && e->out.seq_off == 0 && e->out.ts_off == 0) {
		e->out.last_seq = seq, e->out.last_ts = ts, e->out.last_ms = now;
		return; /* the first source: untouched */
	}
	seq = (uint16_t)(seq + e->out.seq_off);
	ts += e->out.ts_off;
	buf[2] = (unsigned char)(seq >> 8), buf[3] = (unsigned char)seq;
	put32(buf + 4, ts);
	put32(buf + 8, e->out.ssrc);
	e->out.last_seq = seq, e->out.last_ts = ts, e->out.last_ms = now;
}

/* Where stream k (0 RTP, 1 RTCP) of leg e goes: our socket for it (one
 * with rtcp-mux), and the phone's port for it (one unless the phone keeps
 * RTCP apart on our one port). */
static int sock_ix(const struct ep *e, int k)
{
	return e->mux ? 0 : k;
}

static int phone_ix(const struct ep *e, int k)
{
	return e->mux && !e->rtcp_apart ? 0 : k;
}

/* A packet from the engine the leg is joined to goes to the phone (with the
 * leg's SRTP); true if it came from the engine (sent or dropped). */
static bool from_engine(struct ep *e, const struct sockaddr_storage *src, unsigned char *buf,
			size_t len)
{
	int k = core_net_ss_equal(src, &e->eng[0])   ? 0
		: core_net_ss_equal(src, &e->eng[1]) ? 1
						     : -1;
	if (k < 0)
		return false;
	/* RTCP, whichever port of the engine sent it */
	if (e->mux && len >= 2 && (buf[1] & 0x7f) >= 64 && (buf[1] & 0x7f) <= 95)
		k = 1;
	int pf = sock_ix(e, k), pr = phone_ix(e, k);
	if (k == 0 && len >= 12)
		continue_stream(e, buf);
	if (len < 8 || !e->rlen[pr] ||
	    (e->srtp && (!e->tx || media_srtp_protect(e->tx, buf, &len, k) < 0))) {
		e->dropped++;
		return true;
	}
	if (sendto(e->fd[pf], buf, len, MSG_DONTWAIT, (struct sockaddr *)&e->remote[pr],
		   e->rlen[pr]) >= 0) {
		e->packets++;
		e->md->packets++;
	}
	return true;
}

/* A telephone-event of leg e's stream towards trunk leg p whose carrier
 * takes DTMF as INFO: told to the SIP side as a digit at its end, never
 * relayed. True if it was one. */
static bool dtmf_taken(struct ep *e, struct ep *p, const unsigned char *buf, size_t len)
{
	if (e->te_pt < 0 || len < 12 || (buf[1] & 0x7f) != e->te_pt)
		return false;
	int ms = 0;
	char d = sbc_dtmf_in_packet(&p->din, buf, len, core_now_ms(), &ms);
	if (d && p->md->dtmf_cb)
		p->md->dtmf_cb(p->md->dtmf_arg, p->ps, (struct sip_pl){p->call_id, p->call_id_len},
			       d, ms);
	return true;
}

/* One packet that came on e's socket (k0: its RTCP socket), from *srcp. */
static void packet(struct ep *e, int k0, unsigned char *buf, ssize_t n,
		   struct sockaddr_storage *srcp, socklen_t sl)
{
	struct sbc_media *md = e->md;
	struct sockaddr_storage src = *srcp;
	unmap(&src);
	if (e->engine && from_engine(e, &src, buf, (size_t)n))
		return;
	/* rtcp-mux: RTCP is what has a packet type of 64-95 (RFC 5761 4) */
	int k = e->mux && n >= 2 && (buf[1] & 0x7f) >= 64 && (buf[1] & 0x7f) <= 95 ? 1 : k0;
	int sk = sock_ix(e, k), l = phone_ix(e, k); /* the socket it came on; the latch */
	/* only from where the signalling came; then only from the latched port */
	if (!core_net_ss_same_ip(&src, &e->sig) ||
	    (e->latched[l] && !core_net_ss_equal(&src, &e->remote[l])) || n < 8) {
		e->dropped++;
		return;
	}
	if (!e->latched[l]) {
		e->remote[l] = src;
		e->rlen[l] = sl;
		e->latched[l] = true;
	}
	e->last_rx = core_now_ms();
	size_t len = (size_t)n;
	if (e->srtp && (!e->rx || media_srtp_unprotect(e->rx, buf, &len, k) < 0)) {
		e->dropped++;
		return;
	}
	if (md->trace && sbc_trace_wants(md->trace, e->ps)) {
		struct sockaddr_storage to = e->local;
		if (k && !e->mux && to.ss_family == AF_INET6) /* RTCP: the port above */
			((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)(e->port + 1));
		else if (k && !e->mux)
			((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)(e->port + 1));
		sbc_trace_media(md->trace, e->ps, e->call_id, buf, len, k == 1, &src, &to);
	}
	if (e->engine) { /* to the engine, from this leg's own socket */
		if (sendto(e->fd[sk], buf, len, MSG_DONTWAIT, (struct sockaddr *)&e->eng[k],
			   core_net_ss_len(&e->eng[k])) >= 0) {
			e->packets++;
			md->packets++;
		}
		return;
	}
	struct ep *p = peer_of(e);
	int pf = p ? sock_ix(p, k) : k, pr = p ? phone_ix(p, k) : k; /* the other leg's */
	if (p && k == 0 && p->dtmf_info && dtmf_taken(e, p, buf, len))
		return;
	if (p && k == 0 && len >= 12)
		continue_stream(p, buf);
	if (!p || !p->rlen[pr] ||
	    (p->srtp && (!p->tx || media_srtp_protect(p->tx, buf, &len, k) < 0))) {
		e->dropped++;
		return;
	}
	if (sendto(p->fd[pf], buf, len, MSG_DONTWAIT, (struct sockaddr *)&p->remote[pr],
		   p->rlen[pr]) >= 0) {
		e->packets++;
		md->packets++;
	}
}

/* A batch per system call: what one readiness of the socket brings (one
 * packet mostly, at 20 ms a stream) costs no second call that finds
 * nothing; at most 64 packets a turn, so one busy socket starves no other. */
#define MEDIA_BATCH 16
static void on_packet(evutil_socket_t fd, short what, void *arg)
{
	struct ep *e = arg;
	int k0 = fd == e->fd[1];
	static unsigned char buf[MEDIA_BATCH][MEDIA_PKT_MAX + MEDIA_SRTP_ROOM];
	static struct sockaddr_storage src[MEDIA_BATCH];
	struct mmsghdr mm[MEDIA_BATCH];
	struct iovec iov[MEDIA_BATCH];
	(void)what;
	for (int round = 0; round < 64 / MEDIA_BATCH; round++) {
		for (int i = 0; i < MEDIA_BATCH; i++) {
			iov[i] = (struct iovec){buf[i], MEDIA_PKT_MAX};
			mm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &src[i],
							     .msg_namelen = sizeof(src[i]),
							     .msg_iov = &iov[i],
							     .msg_iovlen = 1}};
		}
		int n = recvmmsg(fd, mm, MEDIA_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++)
			packet(e, k0, buf[i], (ssize_t)mm[i].msg_len, &src[i],
			       mm[i].msg_hdr.msg_namelen);
		if (n < MEDIA_BATCH)
			return;
	}
}

/* ---- endpoints ---- */

static void ep_free(struct ep *e)
{
	struct sbc_media *md = e->md;
	if (e->prev)
		e->prev->next = e->next;
	else
		md->eps = e->next;
	if (e->next)
		e->next->prev = e->prev;
	for (struct ep **pp = &md->by_cid[e->hash]; *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	held_count(md, e, -1);
	if (e->port > 0) {
		if (md->by_port[e->port] == e)
			md->by_port[e->port] = NULL;
		if (e->mux) /* ignored if outside the range */
			sbc_ports_give_one(md->pool, e->port);
		else
			sbc_ports_give(md->pool, e->port);
	}
	for (int k = 0; k < 2; k++) {
		if (e->ev[k])
			event_free(e->ev[k]);
		if (e->fd[k] >= 0)
			close(e->fd[k]);
	}
	media_srtp_free(e->rx);
	media_srtp_free(e->tx);
	if (e->dtimer)
		event_free(e->dtimer);
	md->neps--;
	free(e->call_id);
	free(e);
}

static int bind_udp(const struct sockaddr_storage *at, int port)
{
	struct sockaddr_storage a = *at;
	core_net_ss_set_port(&a, port);
	int fd = socket(a.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, core_net_ss_len(&a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A port pair on our address as the phone sees it: the free one given back
 * longest ago (sbc_ports, O(1)). A pair another program holds a port of is
 * set aside for a while, so it costs no bind() per leg. */
static int ep_bind(struct sbc_media *md, struct ep *e, const struct sockaddr_storage *local)
{
	e->local = *local;
	unmap(&e->local);
	for (int tries = 0; tries < MEDIA_BIND_TRIES; tries++) {
		int port = e->mux ? sbc_ports_take_one(md->pool) : sbc_ports_take(md->pool);
		if (port < 0)
			break;
		e->fd[0] = bind_udp(&e->local, port);
		e->fd[1] = e->fd[0] >= 0 && !e->mux ? bind_udp(&e->local, port + 1) : -1;
		if (e->fd[0] >= 0 && (e->mux || e->fd[1] >= 0)) {
			e->port = port;
			core_net_ss_set_port(&e->local, port);
			return 0;
		}
		int err = errno;
		if (e->fd[0] >= 0)
			close(e->fd[0]);
		if (e->mux)
			sbc_ports_aside_one(md->pool, port, core_now_ms() + MEDIA_ASIDE_MS);
		else
			sbc_ports_aside(md->pool, port, core_now_ms() + MEDIA_ASIDE_MS);
		static int64_t logged; /* once a minute at most */
		if (core_now_ms() - logged >= 60000) {
			logged = core_now_ms();
			log_warn("media: ports %d-%d cannot be bound (%s): set aside for %d s",
				 port, port + 1, strerror(err), MEDIA_ASIDE_MS / 1000);
		}
	}
	e->fd[0] = e->fd[1] = -1;
	return -1;
}

/* The phone answered our offer of rtcp-mux (or offers it anew): RTCP on the
 * RTP port from now on; the RTCP port goes back to the pool. */
static void ep_to_mux(struct ep *e)
{
	if (e->ev[1])
		event_free(e->ev[1]);
	if (e->fd[1] >= 0)
		close(e->fd[1]);
	e->ev[1] = NULL;
	e->fd[1] = -1;
	e->mux = true;
	if (e->latched[1] && !e->latched[0]) /* (RTCP came first: RTP's port is latched anew) */
		e->latched[1] = false;
	sbc_ports_give_one(e->md->pool, e->port + 1);
}

static struct ep *ep_find(struct sbc_media *md, struct sip_pl call_id, int mline)
{
	for (struct ep *e = md->by_cid[hash_pl(md, call_id)]; e; e = e->hnext)
		if (e->mline == mline && same_call(e, call_id))
			return e;
	return NULL;
}

/* The leg's endpoint for this m-line; a new one counts as held for
 * *fresh (-1: none may be made, as for an ACK). *full: a bound was hit. */
static struct ep *ep_get(struct sbc_media *md, const struct sbc_media_leg *leg, int mline, bool mux,
			 int *fresh, bool *full)
{
	struct ep *e = ep_find(md, leg->call_id, mline);
	if (e || *fresh < 0)
		return e;
	if (leg->phone_req) {
		int share = sbc_ports_pairs(md->pool) / MEDIA_PS_SHARE;
		unsigned char key[64];
		struct sockaddr_storage a = *leg->phone;
		unmap(&a);
		int by_addr = held_get(md, key, addr_key(&a, key));
		int by_ps = held_get(md, key, ps_key(leg->ps, key));
		if (by_addr >= MEDIA_MAX_PER_ADDR ||
		    by_ps >= (share > MEDIA_MAX_PER_ADDR ? share : MEDIA_MAX_PER_ADDR)) {
			static int64_t logged; /* once a second at most: a flood is no log flood */
			if (core_now_ms() - logged >= 1000) {
				logged = core_now_ms();
				log_warn("media: %s holds %d port pairs not yet accepted (%d from "
					 "this address): refused",
					 leg->ps, by_ps, by_addr);
			}
			*full = true;
			return NULL;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->md = md;
	e->mline = mline;
	e->mux = mux; /* the phone offers rtcp-mux: one port (we answer it) */
	e->fd[0] = e->fd[1] = -1;
	e->te_pt = -1;
	snprintf(e->ps, sizeof(e->ps), "%s", leg->ps);
	e->call_id = malloc(leg->call_id.l + 1);
	if (!e->call_id) {
		free(e);
		return NULL;
	}
	memcpy(e->call_id, leg->call_id.p, leg->call_id.l);
	e->call_id[leg->call_id.l] = '\0';
	e->call_id_len = leg->call_id.l;
	e->phone_req = leg->phone_req;
	e->tentative = leg->method.l > 0 && leg->method.l < sizeof(e->t_method);
	if (e->tentative) {
		e->t_cseq = leg->cseq;
		memcpy(e->t_method, leg->method.p, leg->method.l);
	}
	if (ep_bind(md, e, leg->local) < 0) {
		static int64_t logged; /* once a second at most */
		if (core_now_ms() - logged >= 1000) {
			logged = core_now_ms();
			log_warn("media: no free port pair in %d-%d (%d set aside)",
				 sbc_ports_min(md->pool), sbc_ports_max(md->pool),
				 sbc_ports_naside(md->pool));
		}
		free(e->call_id);
		free(e);
		*full = true;
		return NULL;
	}
	(*fresh)++;
	for (int k = 0; k < 2 && e->fd[k] >= 0; k++) {
		e->ev[k] = event_new(md->base, e->fd[k], EV_READ | EV_PERSIST, on_packet, e);
		if (e->ev[k])
			event_add(e->ev[k], NULL);
	}
	e->sig = *leg->phone;
	unmap(&e->sig);
	if (e->phone_req && held_count(md, e, 1) < 0)
		log_warn("media: out of memory counting legs not yet accepted");
	e->created = e->last_rx = core_now_ms();
	e->id = ++md->next_id;
	e->next = md->eps;
	if (md->eps)
		md->eps->prev = e;
	md->eps = e;
	md->neps++;
	e->hash = hash_pl(md, leg->call_id);
	e->hnext = md->by_cid[e->hash];
	md->by_cid[e->hash] = e;
	md->by_port[e->port] = e;
	return e;
}

/* The endpoint an SDP from the phone system points at: one of ours. */
static struct ep *ep_by_addr(struct sbc_media *md, const struct sockaddr_storage *a)
{
	int port = ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
						  : ((const struct sockaddr_in *)a)->sin_port);
	struct ep *e = port > 0 ? md->by_port[port] : NULL;
	return e && core_net_ss_equal(&e->local, a) ? e : NULL;
}

/* ---- SDP ---- */

static int sdp_addr(const struct sdp_conn *c, struct sip_pl port, struct sockaddr_storage *out)
{
	char ip[64];
	memset(out, 0, sizeof(*out));
	if (!c || c->addr.l == 0 || c->addr.l >= sizeof(ip))
		return -1;
	snprintf(ip, sizeof(ip), "%.*s", (int)c->addr.l, c->addr.p);
	int64_t p = sip_pl_u64(port, 65535);
	struct sockaddr_in *a4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
	} else {
		return -1;
	}
	return p > 0 ? 0 : -1;
}

static bool is_null_addr(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET && ((const struct sockaddr_in *)a)->sin_addr.s_addr == 0;
}

static void strip_ice(struct sdp_section *s)
{
	static const char *const drop[] = {
		"candidate", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "end-of-candidates",
		"rtcp", "rtcp-mux", "remote-candidates", "crypto", "fingerprint", "setup",
		"ice-pacing",
		/* the other side's stream identities (a=ssrc:… cname:sip:201@…):
		 * not ours to pass on, and they name the inside */
		"ssrc", "ssrc-group", "msid"};
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		sdp_attr_remove(s, drop[i]);
}

/* The telephone-event format of m (RFC 4733) and its clock, if it has one:
 * "a=rtpmap:101 telephone-event/16000". */
static void te_of(const struct sdp_media *m, int *pt, int *clock)
{
	static const char te[] = "telephone-event/";
	for (int i = 0; i < m->s.nattrs; i++) {
		struct sip_pl v = m->s.attrs[i].value;
		const char *sp = memchr(v.p, ' ', v.l);
		if (!sip_pl_casecmp(m->s.attrs[i].name, "rtpmap") || !sp)
			continue;
		int64_t n = sip_pl_u64((struct sip_pl){v.p, (size_t)(sp - v.p)}, 127);
		struct sip_pl rest = {sp + 1, v.l - (size_t)(sp + 1 - v.p)};
		if (n < 0 || rest.l <= sizeof(te) - 1 ||
		    strncasecmp(rest.p, te, sizeof(te) - 1) != 0)
			continue;
		struct sip_pl hz = {rest.p + sizeof(te) - 1, rest.l - (sizeof(te) - 1)};
		const char *slash = memchr(hz.p, '/', hz.l);
		if (slash)
			hz.l = (size_t)(slash - hz.p);
		int64_t c = sip_pl_u64(hz, 48000);
		for (int f = 0; f < m->nfmts; f++)
			if (sip_pl_u64(m->fmts[f], 127) == n) {
				*pt = (int)n;
				*clock = c >= 8000 ? (int)c : 8000;
				return;
			}
	}
}

/* A carrier that takes DTMF as INFO looks like an RFC 4733 one from inside:
 * telephone-event is added to its SDP for the phone system, at the payload
 * type the inside named (an offer of ours before), else a free one. */
static void te_add(struct sdp_media *m, struct ep *e, char te[3][32])
{
	int pt = e->te_pt;
	for (int k = 0; pt < 0 && k < 32; k++) { /* 101-127, then 96-100 */
		int cand = k < 27 ? 101 + k : 96 + k - 27;
		bool used = false;
		for (int f = 0; f < m->nfmts && !used; f++)
			used = sip_pl_u64(m->fmts[f], 127) == cand;
		if (!used)
			pt = cand;
	}
	if (pt < 0 || m->nfmts >= SDP_MAX_FMTS || m->s.nattrs + 2 > SDP_MAX_ATTRS)
		return;
	for (int f = 0; f < m->nfmts; f++)
		if (sip_pl_u64(m->fmts[f], 127) == pt)
			return; /* taken by a codec: no events then */
	e->te_pt = pt;
	snprintf(te[0], 32, "%d", pt);
	snprintf(te[1], 32, "%d telephone-event/8000", pt);
	snprintf(te[2], 32, "%d 0-16", pt);
	m->fmts[m->nfmts++] = (struct sip_pl){te[0], strlen(te[0])};
	sdp_attr_add(&m->s, "rtpmap", (struct sip_pl){te[1], strlen(te[1])});
	sdp_attr_add(&m->s, "fmtp", (struct sip_pl){te[2], strlen(te[2])});
}

/* Scratch text the rewritten views point to, until sdp_write. */
struct scratch {
	char addr[64], port[SDP_MAX_MEDIA][8], crypto[SDP_MAX_MEDIA][128];
	char te[SDP_MAX_MEDIA][3][32]; /* telephone-event added: format, rtpmap, fmtp */
	char *origin;		       /* the whole o= line, whatever its length */
};

/* The phone's m-line: where it wants media, and its keys if it speaks SRTP. */
static int from_phone(struct sbc_media *md, const struct sbc_media_leg *leg,
		      const struct sdp_session *sdp, struct sdp_media *m, struct ep *e)
{
	bool savp = m->proto.l >= 8 && memcmp(m->proto.p, "RTP/SAVP", 8) == 0;
	if (!savp && !sip_pl_eq(m->proto, "RTP/AVP") && !sip_pl_eq(m->proto, "RTP/AVPF"))
		return -488; /* DTLS-SRTP and the rest are not ours to relay */
	if (leg->trunk ? leg->trunk->srtp && !savp : !savp && leg->secure && md->srtp_required)
		return -488; /* media in clear where SRTP is due: refused */
	struct sockaddr_storage ra;
	if (sdp_addr(sdp_media_conn(sdp, m), m->port, &ra) == 0 && !is_null_addr(&ra)) {
		for (int k = 0; k < 2; k++) {
			if (e->latched[k])
				continue;
			e->remote[k] = ra;
			core_net_ss_set_port(&e->remote[k], (int)sip_pl_u64(m->port, 65535) + k);
			e->rlen[k] = core_net_ss_len(&ra);
		}
	}
	e->srtp = savp;
	if (!savp)
		return 0;
	struct media_sdes c;
	bool found = false;
	for (int i = 0; i < m->s.nattrs && !found; i++)
		if (sip_pl_eq(m->s.attrs[i].name, "crypto") &&
		    media_sdes_parse(m->s.attrs[i].value, &c) == 0)
			found = true;
	if (!found)
		return -488;
	if (!e->have_theirs || memcmp(c.key, e->theirs.key, sizeof(c.key)) != 0) {
		media_srtp_free(e->rx);
		e->rx = media_srtp_new(&c, true);
		e->theirs = c;
		e->have_theirs = true;
	}
	return e->rx ? 0 : -500;
}

/* Our side towards the phone: SRTP with a key of this leg's own, or RTP. */
static int to_phone(struct sbc_media *md, const struct sbc_media_leg *leg, struct sdp_media *m,
		    struct ep *e, char *crypto, size_t cap)
{
	(void)md;
	bool srtp = leg->trunk ? leg->trunk->srtp : leg->secure || e->srtp;
	if (!srtp) {
		m->proto = (struct sip_pl){"RTP/AVP", 7};
		return 0;
	}
	if (!e->have_ours) {
		/* answering the phone's offer: its tag and suite; offering: ours */
		e->ours.tag = e->have_theirs ? e->theirs.tag : 1;
		e->ours.suite = e->have_theirs ? e->theirs.suite : MEDIA_AES_CM_128_HMAC_SHA1_80;
		media_sdes_new_key(&e->ours);
		e->tx = media_srtp_new(&e->ours, false);
		e->have_ours = e->tx != NULL;
		if (!e->tx)
			return -500;
	}
	e->srtp = true;
	m->proto = (struct sip_pl){"RTP/SAVP", 8};
	int n = media_sdes_format(&e->ours, crypto, cap);
	if (n < 0)
		return -500;
	sdp_attr_add(&m->s, "crypto", (struct sip_pl){crypto, (size_t)n});
	return 0;
}

int sbc_media_sdp(struct sbc_media *md, const struct sbc_media_leg *leg, struct sip_pl body,
		  char *out, size_t cap)
{
	struct sdp_session *sdp = malloc(sizeof(*sdp));
	struct scratch *sc = calloc(1, sizeof(*sc));
	int rc = -488, fresh = leg->existing_only ? -1 : 0;
	uint64_t first_new = md->next_id + 1; /* endpoints made here have ids from this on */
	if (!sdp || !sc)
		goto done;
	if (sdp_parse(sdp, body.p, body.l) < 0)
		goto done; /* not a description we accept */
	/* the inside's telephone-event per m-line, before a trunk strips it */
	int inside_te[SDP_MAX_MEDIA];
	for (int i = 0; i < sdp->nmedia; i++) {
		int clock = 8000;
		inside_te[i] = -1;
		te_of(&sdp->media[i], &inside_te[i], &clock);
	}
	if (leg->trunk && sdp_codecs_restrict(sdp, &leg->trunk->codecs) < 0)
		goto done; /* none of the trunk's codecs: 488 */
	strip_ice(&sdp->s);
	struct ep *first = NULL;
	for (int i = 0; i < sdp->nmedia; i++) {
		struct sdp_media *m = &sdp->media[i];
		if (sip_pl_eq(m->port, "0"))
			continue; /* a rejected or disabled stream stays so */
		bool full = false;
		/* a=rtcp-mux in this m-line (stripped with ICE, put back below) */
		bool mux = sdp_attr_get(&m->s, "rtcp-mux") != NULL;
		int te_pt = -1, te_clock = 8000;
		te_of(m, &te_pt, &te_clock);
		/* one port for a phone's offer of rtcp-mux; for ours (the other
		 * side offered it) a pair, in case the phone declines, unless the
		 * range has no whole pair left, only halves (then one port) */
		bool one = leg->from_phone
				   ? mux
				   : mux && !leg->phone_req && sbc_ports_nfree(md->pool) == 0 &&
					     sbc_ports_nhalf(md->pool) > 0;
		int before = fresh;
		struct ep *e = ep_get(md, leg, i, one, &fresh, &full);
		if (e && one && !leg->from_phone && fresh > before) /* made now, on one port */
			e->rtcp_same = true;
		if (!e) {
			rc = full ? -503 : fresh < 0 ? -488 : -500;
			goto done;
		}
		if (!first)
			first = e;
		if (te_pt >= 0)
			e->te_pt = te_pt, e->te_clock = te_clock;
		if (leg->trunk && !leg->trunk->codecs.keep_te) {
			if (!e->dtmf_info) {
				e->dtmf_info = true; /* the carrier's DTMF is INFO */
				sbc_dtmf_in_init(&e->din, 8000);
			}
			if (!leg->from_phone && inside_te[i] >= 0)
				e->te_pt =
					inside_te[i]; /* the inside's, stripped for the carrier */
			else if (leg->from_phone && sip_pl_casecmp(m->type, "audio"))
				te_add(m, e, sc->te[i]); /* the inside sees RFC 4733 */
		}
		int r;
		if (leg->from_phone) {
			if (mux && !e->mux && (e->mux_offered || leg->phone_req))
				ep_to_mux(e); /* its answer to our offer, or a new offer of it */
			if (e->rtcp_same)
				e->rtcp_apart = !mux; /* it declined: RTCP from its own port */
			r = from_phone(md, leg, sdp, m, e);
			strip_ice(&m->s);
			if (r == 0 && e->srtp) /* the phone system sees plain RTP */
				m->proto = (struct sip_pl){"RTP/AVP", 7};
			if (mux) /* carried through the phone system to the other leg's offer */
				sdp_attr_add(&m->s, "rtcp-mux", (struct sip_pl){0});
		} else {
			struct sockaddr_storage a;
			struct ep *other = NULL;
			bool named = sdp_addr(sdp_media_conn(sdp, m), m->port, &a) == 0;
			if (named)
				other = ep_by_addr(md, &a);
			if (other && other != e) /* joined: a packet crosses us once */
				join(e, other);
			else if (named && !other && is_engine_addr(&a))
				join_engine(e, &a); /* the phone system itself speaks */
			strip_ice(&m->s);
			/* our answer to the phone's offer of it; or our offer, when the
			 * other side offered it (its answer decides) */
			if (!e->mux && mux && !leg->phone_req)
				e->mux_offered = true;
			if (e->mux || (mux && !leg->phone_req))
				sdp_attr_add(&m->s, "rtcp-mux", (struct sip_pl){0});
			if (e->rtcp_same) {
				snprintf(sc->port[i], sizeof(sc->port[i]), "%d", e->port);
				sdp_attr_add(&m->s, "rtcp",
					     (struct sip_pl){sc->port[i], strlen(sc->port[i])});
			}
			r = to_phone(md, leg, m, e, sc->crypto[i], sizeof(sc->crypto[i]));
		}
		if (r < 0) {
			rc = r;
			goto done;
		}
		snprintf(sc->port[i], sizeof(sc->port[i]), "%d", e->port);
		m->port = (struct sip_pl){sc->port[i], strlen(sc->port[i])};
		m->nports = (struct sip_pl){0};
		m->s.conn.present = false;
	}
	/* one connection line: ours; the origin carries our address too —
	 * towards the phone (or carrier) as it is told it behind NAT (sbc_nat.h);
	 * towards the phone system our own, where the relay listens */
	const struct sockaddr_storage *la = first ? &first->local : leg->local;
	struct sockaddr_storage l = *la;
	if (!leg->from_phone)
		sbc_nat_advertise(sbc_nat_current(), la, leg->phone, &l);
	unmap(&l);
	core_net_addr_str((struct sockaddr *)&l, sc->addr, sizeof(sc->addr));
	struct sip_pl ipv =
		l.ss_family == AF_INET6 ? (struct sip_pl){"IP6", 3} : (struct sip_pl){"IP4", 3};
	sdp->s.conn = (struct sdp_conn){.nettype = {"IN", 2},
					.addrtype = ipv,
					.addr = {sc->addr, strlen(sc->addr)},
					.present = true};
	/* o=<user> <sess-id> <version> IN IP4 <ours> */
	struct sip_pl o = sdp->origin;
	int spaces = 0;
	size_t cut = 0;
	for (size_t i = 0; i < o.l && spaces < 3; i++)
		if (o.p[i] == ' ' && ++spaces == 3)
			cut = i;
	if (spaces == 3) {
		size_t ol = cut + sizeof(sc->addr) + 16;
		sc->origin = malloc(ol);
		if (!sc->origin) {
			rc = -500;
			goto done;
		}
		snprintf(sc->origin, ol, "%.*s IN %.*s %s", (int)cut, o.p, (int)ipv.l, ipv.p,
			 sc->addr);
		sdp->origin = (struct sip_pl){sc->origin, strlen(sc->origin)};
	}
	rc = sdp_write(sdp, out, cap);
	if (rc < 0)
		rc = -500;
done:
	/* refused: what this SDP reserved goes at once; new endpoints are at the
	 * head of the list (ep_get puts them there), so no walk over the rest */
	while (rc < 0 && fresh > 0 && md->eps && md->eps->id >= first_new)
		ep_free(md->eps);
	free(sdp);
	if (sc)
		free(sc->origin);
	free(sc);
	return rc;
}

void sbc_media_answered(struct sbc_media *md, struct sip_pl call_id)
{
	for (struct ep *e = md->by_cid[hash_pl(md, call_id)]; e; e = e->hnext)
		if (same_call(e, call_id) && !e->answered) {
			held_count(md, e, -1);
			e->answered = true;
			e->tentative = false;
			e->last_rx = core_now_ms();
		}
}

void sbc_media_end(struct sbc_media *md, struct sip_pl call_id, bool only_unanswered)
{
	for (struct ep *e = md->by_cid[hash_pl(md, call_id)], *next; e; e = next) {
		next = e->hnext;
		if (same_call(e, call_id) && !(only_unanswered && e->answered))
			ep_free(e);
	}
}

void sbc_media_settle(struct sbc_media *md, struct sip_pl call_id, uint32_t cseq,
		      struct sip_pl method, bool ok)
{
	for (struct ep *e = md->by_cid[hash_pl(md, call_id)], *next; e; e = next) {
		next = e->hnext;
		if (!same_call(e, call_id) || !e->tentative || e->t_cseq != cseq ||
		    !sip_pl_eq(method, e->t_method))
			continue;
		if (ok)
			e->tentative = false;
		else
			ep_free(e);
	}
}

/* Answered legs silent too long: the phone system ends their calls. Legs
 * nobody ended are forgotten some time later. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_media *md = arg;
	int64_t now = core_now_ms();
	(void)fd;
	(void)what;
	sbc_ports_tick(md->pool, now);
	for (struct ep *e = md->eps, *next; e; e = next) {
		next = e->next;
		int64_t silent = now - e->last_rx;
		if (e->answered && !e->notified && silent > (int64_t)md->timeout * 1000) {
			e->notified = true;
			log_info("media: no media for %d s on call %s of %s: ending it",
				 md->timeout, e->call_id, e->ps);
			md->cb(md->arg, e->ps, (struct sip_pl){e->call_id, e->call_id_len});
			/* it may have been freed by now: start over next second */
			return;
		}
		if ((e->notified && silent > ((int64_t)md->timeout + 30) * 1000) ||
		    (!e->answered && now - e->created > md->unanswered_ms))
			ep_free(e);
	}
}

struct sbc_media *sbc_media_new(struct event_base *base, sbc_media_timeout_cb cb, void *arg)
{
	struct sbc_media *md = calloc(1, sizeof(*md));
	if (!md)
		return NULL;
	md->base = base;
	md->cb = cb;
	md->arg = arg;
	md->port_min = 30000;
	md->port_max = 35000;
	md->pool = sbc_ports_new(md->port_min, md->port_max);
	md->timeout = 60;
	crypto_shorthash_keygen(md->hash_key);
	/* ZENTRALE_TEST_MEDIA_UNANSWERED_MS (tests only): how long a leg never
	 * answered is kept, in ms, instead of MEDIA_UNANSWERED_LIFE s. */
	const char *t = getenv("ZENTRALE_TEST_MEDIA_UNANSWERED_MS");
	md->unanswered_ms = t && atoll(t) > 0 ? atoll(t) : MEDIA_UNANSWERED_LIFE * 1000;
	md->srtp_required = true;
	md->sweep = event_new(base, -1, EV_PERSIST, on_sweep, md);
	struct timeval one = {.tv_sec = 1};
	if (!md->pool || media_srtp_init() < 0 || !md->sweep || event_add(md->sweep, &one) < 0) {
		sbc_media_free(md);
		return NULL;
	}
	return md;
}

void sbc_media_free(struct sbc_media *md)
{
	if (!md)
		return;
	while (md->eps)
		ep_free(md->eps);
	if (md->sweep)
		event_free(md->sweep);
	for (int i = 0; i < MEDIA_HELD_BUCKETS; i++)
		while (md->held[i]) {
			struct held *h = md->held[i];
			md->held[i] = h->next;
			free(h);
		}
	sbc_ports_free(md->pool);
	free(md);
}

void sbc_media_configure(struct sbc_media *md, const struct core_state_media *cfg)
{
	int lo = cfg->port_min, hi = cfg->port_max, t = cfg->timeout;
	if (lo >= 1024 && hi > lo + 2 && hi <= 65535 &&
	    (lo != md->port_min || hi != md->port_max)) {
		/* a pool of the new range, without the pairs legs hold there; legs
		 * outside it keep their ports until they end (given back to no
		 * pool then) */
		struct sbc_ports *pool = sbc_ports_new(lo, hi);
		if (!pool) {
			log_error("media: out of memory for the port range %d-%d", lo, hi);
		} else {
			sbc_ports_free(md->pool);
			md->pool = pool;
			md->port_min = lo;
			md->port_max = hi;
			int outside = 0;
			for (struct ep *e = md->eps; e; e = e->next)
				outside += !(e->mux ? sbc_ports_reserve_one(pool, e->port)
						    : sbc_ports_reserve(pool, e->port));
			log_info("media: relay ports %d-%d now (%d port pairs, %d calls; %d legs "
				 "in progress keep ports outside it until they end)",
				 sbc_ports_min(pool), sbc_ports_max(pool), sbc_ports_pairs(pool),
				 sbc_ports_pairs(pool) / 2, outside);
		}
	}
	if (t > 0)
		md->timeout = t;
	md->srtp_required = cfg->srtp_required;
}

int sbc_media_ports_in_use(const struct sbc_media *md)
{
	return md->neps;
}

void sbc_media_pool(const struct sbc_media *md, struct sbc_media_pool *out)
{
	out->port_min = sbc_ports_min(md->pool);
	out->port_max = sbc_ports_max(md->pool);
	out->pairs = sbc_ports_pairs(md->pool);
	out->free = sbc_ports_nfree(md->pool);
	out->used = sbc_ports_nused(md->pool);
	out->half = sbc_ports_nhalf(md->pool);
	out->aside = sbc_ports_naside(md->pool);
	out->legs = md->neps;
}

/* The packets of the event being sent to e's phone, each when due. */
static void on_dtmf_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ep *e = arg;
	(void)fd;
	(void)what;
	unsigned char buf[64 + MEDIA_SRTP_ROOM];
	int64_t now = core_now_ms();
	size_t len;
	while ((len = sbc_dtmf_out_next(&e->dout, now, buf, 64)) > 0) {
		continue_stream(e, buf); /* one stream with what else goes to the phone */
		if (!e->rlen[0] ||
		    (e->srtp && (!e->tx || media_srtp_protect(e->tx, buf, &len, 0) < 0)))
			continue;
		if (sendto(e->fd[0], buf, len, MSG_DONTWAIT, (struct sockaddr *)&e->remote[0],
			   e->rlen[0]) >= 0)
			e->packets++, e->md->packets++;
	}
	if (e->dout.active) {
		int64_t wait = e->dout.next_ms - now;
		struct timeval tv = {.tv_sec = 0,
				     .tv_usec = (suseconds_t)(wait > 0 ? wait : 1) * 1000};
		event_add(e->dtimer, &tv);
	}
}

int sbc_media_dtmf_send(struct sbc_media *md, struct sip_pl call_id, char digit, int ms)
{
	struct ep *t = NULL;
	for (struct ep *e = md->by_cid[hash_pl(md, call_id)]; e && !t; e = e->hnext)
		if (same_call(e, call_id) && e->dtmf_info)
			t = e;
	struct ep *p = t ? peer_of(t) : NULL;
	if (!p || p->te_pt < 0 || p->dout.active)
		return -1;
	if (!p->dtimer && !(p->dtimer = event_new(md->base, -1, 0, on_dtmf_tick, p)))
		return -1;
	/* its own SSRC: continue_stream makes it go on from the carrier's stream */
	uint32_t ssrc = p->out.src_ssrc ^ 0x5a5a5a5a;
	if (sbc_dtmf_out_start(&p->dout, digit, ms, (uint8_t)p->te_pt, p->te_clock, ssrc, 0, 0,
			       core_now_ms()) < 0)
		return -1;
	struct timeval now = {0};
	event_add(p->dtimer, &now);
	return 0;
}

void sbc_media_set_dtmf_cb(struct sbc_media *md, sbc_media_dtmf_cb cb, void *arg)
{
	md->dtmf_cb = cb;
	md->dtmf_arg = arg;
}

void sbc_media_set_trace(struct sbc_media *md, struct sbc_trace *t)
{
	md->trace = t;
}

uint64_t sbc_media_packets(const struct sbc_media *md)
{
	return md->packets;
}
