/*
 * pbx_media — see pbx_media.h. Owns the sessions' sockets, the one 20 ms
 * clock, each session's codec, jitter buffer, play queue (and the resampled
 * copies of its clips) and recording. Offer/answer here reads and writes
 * SDP with src/sdp; the signal processing is src/media's.
 */
#include "pbx_media.h"

#include <arpa/inet.h>
#include <bsd/sys/queue.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../media/media_codec.h"
#include "../media/media_dsp.h"
#include "../media/media_jb.h"
#include "../media/media_rtp.h"
#include "../sdp/sdp.h"

#define TICK_NS	     20000000LL
#define BIND_TRIES   64
#define RX_BATCH     64 /* datagrams read per readable socket at a time */
#define PKT_MAX	     1500
#define FRAME_MAX    960	/* samples of 20 ms at up to 48 kHz */
#define JB_DEPTH     3		/* 60 ms */
#define OPUS_PT	     111	/* what we offer */
#define TE_PT	     101	/* telephone-event/8000 we offer */
#define TE48_PT	     102	/* telephone-event/48000, for Opus */
#define LATE_NS	     10000000LL /* a tick this late counts as late */
#define MAX_BEHIND   5		/* ticks caught up at once; more behind: skip */
#define SILENCE_AMPL 2		/* comfort silence: a faint dither, not digital zero */

enum dir { DIR_SENDRECV, DIR_SENDONLY, DIR_RECVONLY, DIR_INACTIVE };
static const char *const dir_names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

/* A clip at the session's rate: the caller's own (same rate) or a resampled
 * copy that the queue items playing it share. */
struct clipref {
	LIST_ENTRY(clipref) link;
	const struct media_pcm *src;
	struct media_pcm pcm; /* the copy; samples NULL: src is used as it is */
	int refs;
};

struct item {
	TAILQ_ENTRY(item) link;
	struct clipref *clip; /* or NULL: a beep */
	struct media_tone *tone;
	size_t pos, len; /* samples played, samples in all */
	bool loop;
};
TAILQ_HEAD(itemq, item);

/* What an offer or answer settles for the session. */
struct neg {
	const struct media_codec_info *ci;
	int pt, te_pt;
	enum dir dir; /* the other side's */
	struct sockaddr_storage rtp, rtcp;
	bool have_addr;
};

struct pbx_msess {
	TAILQ_ENTRY(pbx_msess) link;
	struct pbx_media *m;
	struct pbx_msess_cb cb;
	bool doomed;
	int fd[2];
	struct event *ev[2];
	int port;
	int at; /* of m->addr, the one bound */
	/* negotiated */
	bool offering; /* our offer waits for its answer */
	struct neg neg;
	enum dir ours;
	struct media_codec *codec;
	char codec_name[32];
	uint64_t sdp_id, sdp_ver;
	/* sending */
	uint16_t seq;
	uint32_t ts, ssrc, noise;
	bool first;
	struct itemq queue;
	LIST_HEAD(, clipref) clips;
	/* receiving */
	struct sockaddr_storage latched[2];
	bool is_latched[2];
	struct media_jb *jb;
	bool jb_flowing; /* a frame came out: the stream has started */
	struct media_te_rx te;
	struct media_dtmf_det *det; /* G.711 without telephone-event */
	uint64_t received;
	/* recording */
	bool rec, rec_have;
	struct media_pcm recording;
	size_t rec_cap, rec_max;
};
TAILQ_HEAD(sessq, pbx_msess);

struct pbx_media {
	struct event_base *base;
	/* the internal address, and loopback of the other family beside
	 * loopback (an IPv6 phone's leg is relayed from an IPv6 socket of the
	 * SBC, which cannot reach 127.0.0.1): addr[1] unset (family 0) if none */
	struct sockaddr_storage addr[2];
	char addr_text[2][INET6_ADDRSTRLEN];
	struct sessq sessions;
	int nsess;
	int depth; /* inside a tick or a read: frees are deferred */
	bool any_doomed;
	struct event *clock;
	struct timespec next;
	bool running;
	uint64_t sent, received, lost, late;
};

static void session_destroy(struct pbx_msess *s);
static void rerate(struct pbx_msess *s, int from, int to);

/* ---- addresses and sockets ---- */

/* Text (IPv4 or IPv6) → an address of port 0; -1 if it is neither. */
static int parse_ip(const char *text, size_t len, struct sockaddr_storage *ss)
{
	char buf[INET6_ADDRSTRLEN];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = 0;
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, buf, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static int bound_socket(const struct sockaddr_storage *addr, int port)
{
	int fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage a = *addr;
	core_net_ss_set_port(&a, port);
	if (bind(fd, (struct sockaddr *)&a, core_net_ss_len(&a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An even port from the kernel's ephemeral range and the odd one above it.
 * Ports that do not fit are held until the end so the kernel does not hand
 * them out again at once. */
static int bind_pair(const struct sockaddr_storage *addr, int fd[2])
{
	int aside[BIND_TRIES], naside = 0, port = -1;
	for (int i = 0; i < BIND_TRIES && port < 0; i++) {
		int f = bound_socket(addr, 0);
		if (f < 0)
			break;
		struct sockaddr_storage got;
		socklen_t gl = sizeof(got);
		int p = getsockname(f, (struct sockaddr *)&got, &gl) == 0 ? core_net_ss_port(&got)
									  : 1;
		int g = p % 2 == 0 && p < 65535 ? bound_socket(addr, p + 1) : -1;
		if (g < 0) {
			aside[naside++] = f;
			continue;
		}
		fd[0] = f, fd[1] = g, port = p;
	}
	for (int i = 0; i < naside; i++)
		close(aside[i]);
	return port;
}

/* ---- offer/answer ---- */

static bool pl_digits(struct sip_pl v)
{
	if (v.l == 0)
		return false;
	for (size_t i = 0; i < v.l; i++)
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
	return true;
}

/* "<pt> <name>/<clock>[/<channels>]" of a=rtpmap for pt, or false. */
static bool rtpmap_of(const struct sdp_section *s, struct sip_pl pt, struct sip_pl *name,
		      int *clock)
{
	for (int i = 0; i < s->nattrs; i++) {
		const struct sdp_attr *a = &s->attrs[i];
		if (!sip_pl_eq(a->name, "rtpmap") || a->value.l <= pt.l ||
		    memcmp(a->value.p, pt.p, pt.l) != 0 || a->value.p[pt.l] != ' ')
			continue;
		const char *p = a->value.p + pt.l + 1, *end = a->value.p + a->value.l;
		const char *slash = memchr(p, '/', (size_t)(end - p));
		if (!slash)
			return false;
		const char *c = slash + 1, *ce = memchr(c, '/', (size_t)(end - c));
		*name = (struct sip_pl){p, (size_t)(slash - p)};
		*clock =
			(int)sip_pl_u64((struct sip_pl){c, (size_t)((ce ? ce : end) - c)}, 1000000);
		return *clock > 0;
	}
	return false;
}

static enum dir dir_of(const struct sdp_session *sdp, const struct sdp_media *md)
{
	for (int d = 0; d < 4; d++)
		if (sdp_attr_get(&md->s, dir_names[d]))
			return (enum dir)d;
	for (int d = 0; d < 4; d++)
		if (sdp_attr_get(&sdp->s, dir_names[d]))
			return (enum dir)d;
	return DIR_SENDRECV;
}

/* RFC 3264 §6.1: what we answer to the other side's direction. */
static enum dir mirror(enum dir theirs)
{
	static const enum dir m[] = {DIR_SENDRECV, DIR_RECVONLY, DIR_SENDONLY, DIR_INACTIVE};
	return m[theirs];
}

/* The first of the stream's formats that is a codec of ours, and the
 * telephone-event of that codec's clock. */
static int pick_codec(const struct sdp_media *md, struct neg *n)
{
	n->ci = NULL, n->pt = -1, n->te_pt = -1;
	for (int f = 0; f < md->nfmts && !n->ci; f++) {
		struct sip_pl name;
		int clock, pt = (int)sip_pl_u64(md->fmts[f], 127);
		if (pt < 0)
			continue;
		if (rtpmap_of(&md->s, md->fmts[f], &name, &clock)) {
			n->ci = media_codec_find(name.p, name.l, clock);
		} else {
			for (int id = 0; id < MEDIA_CODEC_COUNT && !n->ci; id++)
				if (media_codec_info(id)->static_pt == pt)
					n->ci = media_codec_info(id);
		}
		n->pt = pt;
	}
	if (!n->ci)
		return -1;
	for (int f = 0; f < md->nfmts; f++) {
		struct sip_pl name;
		int clock, pt = (int)sip_pl_u64(md->fmts[f], 127);
		if (pt >= 0 && rtpmap_of(&md->s, md->fmts[f], &name, &clock) &&
		    sip_pl_casecmp(name, "telephone-event") && clock == n->ci->clock) {
			n->te_pt = pt;
			break;
		}
	}
	return 0;
}

static void remote_of(const struct sdp_session *sdp, const struct sdp_media *md, struct neg *n)
{
	n->have_addr = false;
	const struct sdp_conn *c = sdp_media_conn(sdp, md);
	int port = (int)sip_pl_u64(md->port, 65535);
	if (!c || !c->present || port <= 0 || parse_ip(c->addr.p, c->addr.l, &n->rtp) < 0)
		return;
	if (n->rtp.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&n->rtp)->sin_addr.s_addr == htonl(INADDR_ANY))
		return; /* RFC 2543 hold */
	n->rtcp = n->rtp;
	core_net_ss_set_port(&n->rtp, port);
	int rtcp = port + 1;
	const struct sdp_attr *a = sdp_attr_get(&md->s, "rtcp");
	if (a && a->value.l) {
		const char *sp = memchr(a->value.p, ' ', a->value.l);
		int64_t v = sip_pl_u64(
			(struct sip_pl){a->value.p, sp ? (size_t)(sp - a->value.p) : a->value.l},
			65535);
		if (v > 0)
			rtcp = (int)v;
	}
	core_net_ss_set_port(&n->rtcp, rtcp > 65535 ? port : rtcp);
	n->have_addr = true;
}

/* The audio stream we take in a description: its index and what it settles;
 * -1 if none has a codec of ours. */
static int negotiate(const struct sdp_session *sdp, struct neg *n)
{
	for (int i = 0; i < sdp->nmedia; i++) {
		const struct sdp_media *md = &sdp->media[i];
		if (!sip_pl_eq(md->type, "audio") || !sip_pl_eq(md->proto, "RTP/AVP") ||
		    !pl_digits(md->port) || sip_pl_eq(md->port, "0") || pick_codec(md, n) < 0)
			continue;
		n->dir = dir_of(sdp, md);
		remote_of(sdp, md, n);
		return i;
	}
	return -1;
}

/* The text one SDP of ours needs beside its views. */
struct sdpbuf {
	char origin[96], port[8], zero[2];
	char pts[8][8], rtpmap[8][40], fmtp[8][40];
};

static void add_codec(struct sdp_media *md, struct sdpbuf *b, int *k, int pt, const char *name,
		      int clock, int ch, const char *fmtp)
{
	int n = *k;
	snprintf(b->pts[n], sizeof(b->pts[n]), "%d", pt);
	if (ch > 1)
		snprintf(b->rtpmap[n], sizeof(b->rtpmap[n]), "%d %s/%d/%d", pt, name, clock, ch);
	else
		snprintf(b->rtpmap[n], sizeof(b->rtpmap[n]), "%d %s/%d", pt, name, clock);
	md->fmts[md->nfmts++] = (struct sip_pl){b->pts[n], strlen(b->pts[n])};
	sdp_attr_add(&md->s, "rtpmap", (struct sip_pl){b->rtpmap[n], strlen(b->rtpmap[n])});
	if (fmtp) {
		snprintf(b->fmtp[n], sizeof(b->fmtp[n]), "%d %s", pt, fmtp);
		sdp_attr_add(&md->s, "fmtp", (struct sip_pl){b->fmtp[n], strlen(b->fmtp[n])});
	}
	*k = n + 1;
}

/* Our stream: the negotiated codec (or, offering, all of ours). */
static void our_stream(const struct pbx_msess *s, struct sdp_media *md, struct sdpbuf *b)
{
	int k = 0;
	md->type = (struct sip_pl){"audio", 5};
	md->proto = (struct sip_pl){"RTP/AVP", 7};
	snprintf(b->port, sizeof(b->port), "%d", s->port);
	md->port = (struct sip_pl){b->port, strlen(b->port)};
	if (s->offering) {
		add_codec(md, b, &k, 9, "G722", 8000, 1, NULL);
		add_codec(md, b, &k, OPUS_PT, "opus", 48000, 2, "useinbandfec=1");
		add_codec(md, b, &k, 8, "PCMA", 8000, 1, NULL);
		add_codec(md, b, &k, 0, "PCMU", 8000, 1, NULL);
		add_codec(md, b, &k, TE_PT, "telephone-event", 8000, 1, "0-16");
		add_codec(md, b, &k, TE48_PT, "telephone-event", 48000, 1, "0-16");
	} else {
		const struct media_codec_info *ci = s->neg.ci;
		add_codec(md, b, &k, s->neg.pt, ci->name, ci->clock, ci->channels,
			  ci->id == MEDIA_OPUS ? "useinbandfec=1" : NULL);
		if (s->neg.te_pt >= 0)
			add_codec(md, b, &k, s->neg.te_pt, "telephone-event", ci->clock, 1, "0-16");
	}
	sdp_attr_add(&md->s, "ptime", (struct sip_pl){"20", 2});
	sdp_attr_add(&md->s, dir_names[s->ours], (struct sip_pl){NULL, 0});
}

/* Our description: answering offer (streams other than ours at index
 * mine refused with port 0), or offering (offer NULL). NUL-terminated. */
static int write_sdp(struct pbx_msess *s, const struct sdp_session *offer, int mine, char *out,
		     size_t cap)
{
	struct sdp_session *sdp = calloc(1, sizeof(*sdp)); /* large: not on the stack */
	struct sdpbuf b;
	if (!sdp)
		return -1;
	const char *ip6 = s->m->addr[s->at].ss_family == AF_INET6 ? "IP6" : "IP4";
	const char *at = s->m->addr_text[s->at];
	snprintf(b.origin, sizeof(b.origin), "zentrale %llu %llu IN %s %s",
		 (unsigned long long)s->sdp_id, (unsigned long long)++s->sdp_ver, ip6, at);
	sdp->origin = (struct sip_pl){b.origin, strlen(b.origin)};
	sdp->name = (struct sip_pl){"-", 1};
	sdp->s.conn = (struct sdp_conn){{"IN", 2}, {ip6, 3}, {at, strlen(at)}, true};
	sdp->s.lines[sdp->s.nlines++] = (struct sip_pl){"t=0 0", 5};
	int n = offer ? offer->nmedia : 1;
	strcpy(b.zero, "0");
	for (int i = 0; i < n; i++) {
		struct sdp_media *md = &sdp->media[sdp->nmedia++];
		if (!offer || i == mine) {
			our_stream(s, md, &b);
			continue;
		}
		const struct sdp_media *o = &offer->media[i];
		md->type = o->type, md->proto = o->proto;
		md->port = (struct sip_pl){b.zero, 1};
		md->fmts[md->nfmts++] = o->nfmts ? o->fmts[0] : (struct sip_pl){b.zero, 1};
	}
	int len = sdp_write(sdp, out, cap);
	free(sdp);
	if (len < 0 || (size_t)len >= cap)
		return -1;
	out[len] = 0;
	return len;
}

/* ---- sessions: settling a negotiation ---- */

/* The codec (a new one if it changed), direction and peer of n. */
static int settle(struct pbx_msess *s, const struct neg *n)
{
	if (!s->codec || media_codec_of(s->codec)->id != n->ci->id) {
		struct media_codec *c = media_codec_new(n->ci->id);
		struct media_jb *jb = c ? media_jb_new(JB_DEPTH) : NULL;
		if (!jb) {
			media_codec_free(c);
			return -1;
		}
		int from = pbx_msess_rate(s);
		media_codec_free(s->codec);
		s->codec = c;
		struct media_jb_stats js;
		media_jb_stats(s->jb, &js);
		s->m->lost += js.lost;
		media_jb_free(s->jb); /* what it holds is of the old codec */
		s->jb = jb;
		s->jb_flowing = false;
		media_dtmf_det_free(s->det);
		s->det = NULL;
		if (from != n->ci->rate)
			rerate(s, from, n->ci->rate);
	}
	bool g711 = n->ci->id == MEDIA_PCMU || n->ci->id == MEDIA_PCMA;
	if (g711 && n->te_pt < 0 && !s->det && !(s->det = media_dtmf_det_new()))
		return -1;
	if (!(g711 && n->te_pt < 0)) {
		media_dtmf_det_free(s->det);
		s->det = NULL;
	}
	if (s->neg.have_addr != n->have_addr || !core_net_ss_equal(&s->neg.rtp, &n->rtp))
		s->is_latched[0] = s->is_latched[1] = false; /* a new peer latches anew */
	s->neg = *n;
	snprintf(s->codec_name, sizeof(s->codec_name), "%s/%d", n->ci->name, n->ci->clock);
	return 0;
}

/* ---- the clock ---- */

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void schedule(struct pbx_media *m)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t wait = ts_ns(&m->next) - ts_ns(&now);
	if (wait < 0)
		wait = 0;
	struct timeval tv = {.tv_sec = wait / 1000000000LL,
			     .tv_usec = (wait % 1000000000LL) / 1000};
	evtimer_add(m->clock, &tv);
}

static void clock_start(struct pbx_media *m)
{
	if (m->running)
		return;
	clock_gettime(CLOCK_MONOTONIC, &m->next);
	int64_t n = ts_ns(&m->next) + TICK_NS;
	m->next = (struct timespec){.tv_sec = n / 1000000000LL, .tv_nsec = n % 1000000000LL};
	m->running = true;
	schedule(m);
}

/* ---- sending ---- */

static void clip_unref(struct pbx_msess *s, struct clipref *c)
{
	(void)s;
	if (--c->refs > 0)
		return;
	LIST_REMOVE(c, link);
	free(c->pcm.samples);
	free(c);
}

static void item_free(struct pbx_msess *s, struct item *it)
{
	TAILQ_REMOVE(&s->queue, it, link);
	if (it->clip)
		clip_unref(s, it->clip);
	media_tone_free(it->tone);
	free(it);
}

static const int16_t *clip_samples(const struct clipref *c)
{
	return c->pcm.samples ? c->pcm.samples : c->src->samples;
}

/* Fills pcm with what the queue plays next; true if the queue ran empty in it. */
static bool fill_frame(struct pbx_msess *s, int16_t *pcm, int samples)
{
	int done = 0;
	bool had = !TAILQ_EMPTY(&s->queue);
	while (done < samples && !TAILQ_EMPTY(&s->queue)) {
		struct item *it = TAILQ_FIRST(&s->queue);
		size_t want = (size_t)(samples - done), left = it->len - it->pos;
		size_t take = want < left ? want : left;
		if (it->tone)
			media_tone_generate(it->tone, pcm + done, (int)take);
		else
			memcpy(pcm + done, clip_samples(it->clip) + it->pos, take * sizeof(*pcm));
		done += (int)take, it->pos += take;
		if (it->pos >= it->len) {
			if (it->loop && it->len > 0)
				it->pos = 0;
			else
				item_free(s, it);
		}
	}
	for (; done < samples; done++) {
		s->noise = s->noise * 1103515245u + 12345u; /* cheap: this runs per sample */
		pcm[done] =
			(int16_t)((int)((s->noise >> 16) % (2 * SILENCE_AMPL + 1)) - SILENCE_AMPL);
	}
	return had && TAILQ_EMPTY(&s->queue);
}

static void send_frame(struct pbx_msess *s)
{
	const struct media_codec_info *ci = s->neg.ci;
	int16_t pcm[FRAME_MAX];
	uint8_t payload[PKT_MAX], pkt[PKT_MAX];
	int samples = ci->rate / 50;
	bool ended = fill_frame(s, pcm, samples);
	bool send = s->neg.have_addr && (s->ours == DIR_SENDRECV || s->ours == DIR_SENDONLY);
	int len = send ? media_codec_encode(s->codec, pcm, samples, payload, sizeof(payload)) : -1;
	if (len >= 0) {
		struct media_rtp h = {.marker = s->first,
				      .pt = (uint8_t)s->neg.pt,
				      .seq = s->seq,
				      .ts = s->ts,
				      .ssrc = s->ssrc};
		size_t n = media_rtp_write(pkt, sizeof(pkt), &h, payload, (size_t)len);
		if (n && sendto(s->fd[0], pkt, n, 0, (struct sockaddr *)&s->neg.rtp,
				core_net_ss_len(&s->neg.rtp)) == (ssize_t)n)
			s->m->sent++;
		s->first = false;
	}
	/* time passes for the stream whether or not a packet went */
	s->seq++;
	s->ts += (uint32_t)(ci->clock / 50);
	if (ended && s->cb.played)
		s->cb.played(s->cb.arg, s);
}

/* ---- receiving ---- */

static void report_digit(struct pbx_msess *s, char d)
{
	if (d && s->cb.digit && !s->doomed)
		s->cb.digit(s->cb.arg, s, d);
}

static void rec_append(struct pbx_msess *s, const int16_t *pcm, int n)
{
	if (!s->rec)
		return;
	size_t room = s->rec_max - s->recording.n;
	size_t take = (size_t)n < room ? (size_t)n : room;
	if (s->recording.n + take > s->rec_cap) {
		size_t cap = s->rec_cap ? s->rec_cap * 2 : (size_t)s->recording.rate * 4;
		if (cap > s->rec_max)
			cap = s->rec_max;
		int16_t *p = realloc(s->recording.samples, cap * sizeof(*p));
		if (!p) {
			log_warn("media: out of memory while recording");
			s->rec = false;
			return;
		}
		s->recording.samples = p, s->rec_cap = cap;
	}
	memcpy(s->recording.samples + s->recording.n, pcm, take * sizeof(*pcm));
	s->recording.n += take;
	if (s->recording.n >= s->rec_max) {
		s->rec = false;
		if (s->cb.recorded)
			s->cb.recorded(s->cb.arg, s);
	}
}

/* One frame out of the jitter buffer, decoded when someone listens. */
static void take_frame(struct pbx_msess *s)
{
	uint8_t payload[MEDIA_JB_PAYLOAD_MAX];
	int16_t pcm[FRAME_MAX];
	size_t len = 0;
	int samples = s->neg.ci->rate / 50;
	int r = media_jb_get(s->jb, payload, sizeof(payload), &len, 0);
	if (r < 0 && !s->jb_flowing)
		return; /* still filling */
	if (r >= 0)
		s->jb_flowing = true;
	if (!s->rec && !s->det)
		return;
	int n = r < 0 ? 0
		      : media_codec_decode(s->codec, r ? payload : NULL, len, pcm, FRAME_MAX,
					   samples);
	if (n < 0 || r < 0) {
		n = samples; /* undecodable, or nothing sent (silence suppression): silence */
		memset(pcm, 0, sizeof(pcm));
	}
	if (s->det) {
		char digits[16];
		if (media_dtmf_det_feed(s->det, pcm, n, digits, sizeof(digits)) > 0)
			for (char *d = digits; *d && !s->doomed; d++)
				report_digit(s, *d);
	}
	rec_append(s, pcm, n);
}

static void rx_packet(struct pbx_msess *s, const uint8_t *buf, size_t len)
{
	struct media_rtp h;
	if (!s->neg.ci || media_rtp_parse(buf, len, &h) < 0)
		return; /* (our offer not answered yet: nothing is negotiated) */
	s->received++, s->m->received++;
	if (s->neg.te_pt >= 0 && h.pt == s->neg.te_pt) {
		struct media_te te;
		if (media_te_parse(h.payload, h.payload_len, &te) == 0)
			report_digit(s, media_te_rx_packet(&s->te, &h, &te));
		return;
	}
	if (h.pt == s->neg.pt && h.payload_len <= MEDIA_JB_PAYLOAD_MAX)
		media_jb_put(s->jb, h.seq, h.ts, h.payload, h.payload_len);
}

static void sweep(struct pbx_media *m);

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct pbx_msess *s = arg;
	int k = fd == s->fd[0] ? 0 : 1;
	uint8_t buf[PKT_MAX];
	s->m->depth++;
	for (int i = 0; i < RX_BATCH && !s->doomed; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			break;
		if (!s->is_latched[k]) {
			s->latched[k] = from, s->is_latched[k] = true;
		} else if (!core_net_ss_equal(&s->latched[k], &from)) {
			continue; /* not the address the SBC uses */
		}
		if (k == 0)
			rx_packet(s, buf, (size_t)n);
		/* RTCP from the SBC: read and dropped (nothing here uses reports) */
	}
	struct pbx_media *m = s->m;
	if (--m->depth == 0)
		sweep(m);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pbx_media *m = arg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t behind = ts_ns(&now) - ts_ns(&m->next);
	if (behind > LATE_NS)
		m->late++;
	if (behind > MAX_BEHIND * TICK_NS) /* suspended, or badly overloaded: skip, not burst */
		m->next = now;
	m->depth++;
	for (int t = 0; t <= MAX_BEHIND && ts_ns(&now) >= ts_ns(&m->next); t++) {
		struct pbx_msess *s;
		TAILQ_FOREACH(s, &m->sessions, link)
		{
			if (!s->doomed && s->neg.ci && !s->offering)
				send_frame(s);
			if (!s->doomed && s->neg.ci && !s->offering)
				take_frame(s);
		}
		int64_t n = ts_ns(&m->next) + TICK_NS;
		m->next =
			(struct timespec){.tv_sec = n / 1000000000LL, .tv_nsec = n % 1000000000LL};
	}
	if (--m->depth == 0)
		sweep(m);
	if (m->nsess > 0)
		schedule(m);
	else
		m->running = false;
}

/* ---- the engine ---- */

struct pbx_media *pbx_media_new(struct event_base *base, const char *addr)
{
	if (sodium_init() < 0)
		return NULL;
	struct pbx_media *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->base = base;
	TAILQ_INIT(&m->sessions);
	if (!addr || parse_ip(addr, strlen(addr), &m->addr[0]) < 0 ||
	    !(m->clock = evtimer_new(base, on_tick, m))) {
		free(m);
		return NULL;
	}
	/* loopback (127.0.0.1 or ::1): the other family's loopback as well */
	const char *alt = strcmp(addr, "127.0.0.1") == 0 ? "::1"
			  : strcmp(addr, "::1") == 0	 ? "127.0.0.1"
							 : NULL;
	if (alt)
		parse_ip(alt, strlen(alt), &m->addr[1]);
	for (int i = 0; i < 2 && m->addr[i].ss_family; i++)
		inet_ntop(m->addr[i].ss_family,
			  m->addr[i].ss_family == AF_INET6
				  ? (void *)&((struct sockaddr_in6 *)&m->addr[i])->sin6_addr
				  : (void *)&((struct sockaddr_in *)&m->addr[i])->sin_addr,
			  m->addr_text[i], sizeof(m->addr_text[i]));
	return m;
}

void pbx_media_free(struct pbx_media *m)
{
	if (!m)
		return;
	struct pbx_msess *s, *t;
	TAILQ_FOREACH_SAFE(s, &m->sessions, link, t)
	{
		session_destroy(s);
	}
	event_free(m->clock);
	free(m);
}

int pbx_media_sessions(const struct pbx_media *m)
{
	return m->nsess;
}

void pbx_media_stats(const struct pbx_media *m, struct pbx_media_stats *out)
{
	*out = (struct pbx_media_stats){
		.sent = m->sent, .received = m->received, .lost = m->lost, .late = m->late};
	const struct pbx_msess *s;
	TAILQ_FOREACH(s, &m->sessions, link)
	{
		struct media_jb_stats js;
		media_jb_stats(s->jb, &js);
		out->lost += js.lost;
	}
	out->sessions = m->nsess;
}

/* ---- sessions ---- */

/* family: the other side's (AF_INET, AF_INET6), or 0 if not known. */
static struct pbx_msess *session_new(struct pbx_media *m, const struct pbx_msess_cb *cb, int family)
{
	struct pbx_msess *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	s->fd[0] = s->fd[1] = -1;
	if (cb)
		s->cb = *cb;
	TAILQ_INIT(&s->queue);
	LIST_INIT(&s->clips);
	media_te_rx_init(&s->te);
	s->ssrc = randombytes_random();
	s->seq = (uint16_t)randombytes_random();
	s->ts = randombytes_random();
	s->sdp_id = randombytes_random();
	s->first = true;
	s->at = family && m->addr[1].ss_family == family ? 1 : 0;
	s->port = bind_pair(&m->addr[s->at], s->fd);
	if (s->port < 0 || !(s->jb = media_jb_new(JB_DEPTH))) {
		session_destroy(s);
		return NULL;
	}
	for (int k = 0; k < 2; k++)
		if (!(s->ev[k] = event_new(m->base, s->fd[k], EV_READ | EV_PERSIST, on_read, s)) ||
		    event_add(s->ev[k], NULL) < 0) {
			session_destroy(s);
			return NULL;
		}
	TAILQ_INSERT_TAIL(&m->sessions, s, link);
	m->nsess++;
	clock_start(m);
	return s;
}

/* Everything a session holds; it is in m's list if it has events. */
static void session_destroy(struct pbx_msess *s)
{
	struct pbx_media *m = s->m;
	bool listed = s->ev[0] && s->ev[1];
	if (listed) {
		TAILQ_REMOVE(&m->sessions, s, link);
		m->nsess--;
	}
	for (int k = 0; k < 2; k++) {
		if (s->ev[k])
			event_free(s->ev[k]);
		if (s->fd[k] >= 0)
			close(s->fd[k]);
	}
	pbx_msess_stop(s);
	if (s->jb) {
		struct media_jb_stats js;
		media_jb_stats(s->jb, &js);
		m->lost += js.lost;
	}
	media_jb_free(s->jb);
	media_codec_free(s->codec);
	media_dtmf_det_free(s->det);
	free(s->recording.samples);
	free(s);
	if (m->nsess == 0 && m->running) {
		evtimer_del(m->clock);
		m->running = false;
	}
}

static void sweep(struct pbx_media *m)
{
	if (!m->any_doomed)
		return;
	m->any_doomed = false;
	struct pbx_msess *s, *t;
	TAILQ_FOREACH_SAFE(s, &m->sessions, link, t)
	{
		if (s->doomed)
			session_destroy(s);
	}
}

void pbx_msess_free(struct pbx_msess *s)
{
	if (!s)
		return;
	if (s->m->depth > 0) { /* inside a callback of the clock or a read */
		s->doomed = true;
		s->m->any_doomed = true;
		return;
	}
	session_destroy(s);
}

void pbx_msess_set_cb(struct pbx_msess *s, const struct pbx_msess_cb *cb)
{
	s->cb = cb ? *cb : (struct pbx_msess_cb){0};
}

/* The description parsed (malloc'd: it is large) and the stream we take;
 * NULL with *err -400 (not SDP we read), -488 (no codec of ours) or -500. */
static struct sdp_session *parse_offer(struct sip_pl body, struct neg *n, int *mine, int *err)
{
	struct sdp_session *sdp = malloc(sizeof(*sdp));
	*err = -500;
	if (!sdp)
		return NULL;
	*err = sdp_parse(sdp, body.p, body.l) < 0 ? -400
	       : (*mine = negotiate(sdp, n)) < 0  ? -488
						  : 0;
	if (*err < 0) {
		free(sdp);
		return NULL;
	}
	return sdp;
}

struct pbx_msess *pbx_media_answer(struct pbx_media *m, struct sip_pl offer,
				   const struct pbx_msess_cb *cb, char *out, size_t cap,
				   int *outlen, int *status)
{
	struct neg n;
	int mine, err;
	struct sdp_session *sdp = parse_offer(offer, &n, &mine, &err);
	*status = err == -500 ? 500 : 488;
	if (!sdp)
		return NULL;
	struct pbx_msess *s = session_new(m, cb, n.have_addr ? n.rtp.ss_family : 0);
	if (!s) {
		*status = 503;
	} else {
		s->ours = mirror(n.dir);
		if (settle(s, &n) < 0 || (*outlen = write_sdp(s, sdp, mine, out, cap)) < 0) {
			*status = 500;
			pbx_msess_free(s);
			s = NULL;
		} else {
			*status = 200;
		}
	}
	free(sdp);
	return s;
}

struct pbx_msess *pbx_media_offer(struct pbx_media *m, const char *direction,
				  const struct pbx_msess_cb *cb, char *out, size_t cap, int *outlen)
{
	enum dir d = direction && strcmp(direction, "sendonly") == 0 ? DIR_SENDONLY : DIR_SENDRECV;
	if (direction && strcmp(direction, "sendonly") != 0 && strcmp(direction, "sendrecv") != 0)
		return NULL;
	struct pbx_msess *s = session_new(m, cb, 0);
	if (!s)
		return NULL;
	s->offering = true;
	s->ours = d;
	if ((*outlen = write_sdp(s, NULL, 0, out, cap)) < 0) {
		pbx_msess_free(s);
		return NULL;
	}
	return s;
}

int pbx_msess_answered(struct pbx_msess *s, struct sip_pl answer)
{
	struct neg n;
	int mine, err;
	if (!s->offering)
		return -1;
	struct sdp_session *sdp = parse_offer(answer, &n, &mine, &err);
	if (!sdp)
		return -1;
	free(sdp);
	/* the answer's payload types (RFC 3264 §6.1: ours for the static ones,
	 * and opus and telephone-event by the numbers it names) */
	if (settle(s, &n) < 0)
		return -1;
	s->offering = false;
	return 0;
}

int pbx_msess_reoffer(struct pbx_msess *s, struct sip_pl offer, char *out, size_t cap)
{
	struct neg n;
	int mine, err;
	struct sdp_session *sdp = parse_offer(offer, &n, &mine, &err);
	if (!sdp)
		return err == -500 ? -500 : -488;
	s->offering = false;
	s->ours = mirror(n.dir);
	err = settle(s, &n) < 0 || write_sdp(s, sdp, mine, out, cap) < 0 ? -500 : 0;
	free(sdp);
	return err;
}

const char *pbx_msess_codec(const struct pbx_msess *s)
{
	return s->neg.ci ? s->codec_name : "";
}

int pbx_msess_rate(const struct pbx_msess *s)
{
	return s->neg.ci ? s->neg.ci->rate : 8000;
}

/* ---- playing ---- */

/* The clip at the session's rate: shared with an item already playing it,
 * or resampled once here. */
/* c's copy at rate (none if the clip is at that rate already); 0 or -1. */
static int clip_resample(struct clipref *c, int rate)
{
	const struct media_pcm *clip = c->src;
	free(c->pcm.samples);
	c->pcm = (struct media_pcm){.rate = rate, .n = clip->n};
	if (clip->rate == rate || clip->n == 0)
		return 0;
	size_t cap = (size_t)((double)clip->n * rate / clip->rate) + 64;
	struct media_resampler *r = media_resampler_new(clip->rate, rate);
	c->pcm.samples = r && cap < INT32_MAX ? malloc(cap * sizeof(int16_t)) : NULL;
	int n = c->pcm.samples
			? media_resample(r, clip->samples, (int)clip->n, c->pcm.samples, (int)cap)
			: -1;
	media_resampler_free(r);
	if (n < 0) {
		free(c->pcm.samples);
		c->pcm = (struct media_pcm){.rate = rate};
		return -1;
	}
	c->pcm.n = (size_t)n;
	return 0;
}

static struct clipref *clip_get(struct pbx_msess *s, const struct media_pcm *clip)
{
	struct clipref *c;
	LIST_FOREACH(c, &s->clips, link)
	{
		if (c->src == clip && c->pcm.rate == pbx_msess_rate(s)) {
			c->refs++;
			return c;
		}
	}
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->src = clip, c->refs = 1;
	if (clip_resample(c, pbx_msess_rate(s)) < 0) {
		free(c);
		return NULL;
	}
	LIST_INSERT_HEAD(&s->clips, c, link);
	return c;
}

/* The session's PCM rate changed (the answer to our offer, a reoffer): what
 * is queued is made anew at the new rate, where it was; a recording at the
 * old rate ends (what it holds can still be taken). */
static void rerate(struct pbx_msess *s, int from, int to)
{
	struct clipref *c;
	struct item *it, *next;
	s->rec = false;
	LIST_FOREACH(c, &s->clips, link)
	{
		clip_resample(c, to); /* on failure: an empty clip, skipped */
	}
	TAILQ_FOREACH_SAFE(it, &s->queue, link, next)
	{
		size_t pos = it->pos * (size_t)to / (size_t)from;
		size_t left = (it->len - it->pos) * (size_t)to / (size_t)from;
		if (it->tone) {
			media_tone_free(it->tone);
			it->tone = media_tone_new(to, 1000, 0, -10, 0, 0);
			it->pos = 0, it->len = it->tone ? left : 0;
		} else {
			it->len = it->clip->pcm.n;
			it->pos = pos < it->len ? pos : it->len;
		}
		if (it->len == 0 || it->pos >= it->len)
			item_free(s, it);
	}
}

int pbx_msess_play(struct pbx_msess *s, const struct media_pcm *clip, bool loop)
{
	if (!clip || clip->rate <= 0 || (clip->n && !clip->samples))
		return -1;
	struct item *it = calloc(1, sizeof(*it));
	if (!it || !(it->clip = clip_get(s, clip))) {
		free(it);
		return -1;
	}
	it->len = it->clip->pcm.n;
	it->loop = loop;
	TAILQ_INSERT_TAIL(&s->queue, it, link);
	return 0;
}

int pbx_msess_beep(struct pbx_msess *s, int ms)
{
	if (ms <= 0 || ms > 60000)
		return -1;
	struct item *it = calloc(1, sizeof(*it));
	if (!it || !(it->tone = media_tone_new(pbx_msess_rate(s), 1000, 0, -10, 0, 0))) {
		free(it);
		return -1;
	}
	it->len = (size_t)ms * (size_t)pbx_msess_rate(s) / 1000;
	TAILQ_INSERT_TAIL(&s->queue, it, link);
	return 0;
}

void pbx_msess_stop(struct pbx_msess *s)
{
	while (!TAILQ_EMPTY(&s->queue))
		item_free(s, TAILQ_FIRST(&s->queue));
}

/* ---- recording and digits ---- */

int pbx_msess_record(struct pbx_msess *s, int max_ms)
{
	if (max_ms <= 0 || max_ms > MEDIA_AUDIO_MAX_SECONDS * 1000)
		return -1;
	free(s->recording.samples);
	s->recording = (struct media_pcm){.rate = pbx_msess_rate(s)};
	s->rec_cap = 0;
	s->rec_max = (size_t)max_ms * (size_t)s->recording.rate / 1000;
	s->rec = s->rec_have = true;
	return 0;
}

int pbx_msess_record_take(struct pbx_msess *s, struct media_pcm *out)
{
	if (!s->rec_have)
		return -1;
	*out = s->recording;
	s->recording = (struct media_pcm){0};
	s->rec = s->rec_have = false;
	s->rec_cap = 0;
	return 0;
}

void pbx_msess_dtmf(struct pbx_msess *s, char digit)
{
	if (media_te_event(digit) >= 0)
		report_digit(s, digit);
}
