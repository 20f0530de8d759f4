/*
 * sbc_sip_relay — the SBC's one proxy step, for requests and their answers
 * in either direction. A direction (struct sbc_sip_dir) says where a
 * request comes from, how its Vias are handled, which Record-Route it
 * gets on the way on and which its answers get on the way back; the step
 * itself (Max-Forwards, our headers dropped, Route, the SDP through the
 * media relay, the transaction remembered) is written once here:
 *
 * - up: from a phone to its phone system, over the phone system's Unix
 *   socket, with our Via on top (the phone's keeps received=) and a flow
 *   token (Path for REGISTER, Record-Route for dialogs) so requests can
 *   come back over the same connection. Its answer goes to the very
 *   connection or address the request came from, and is remembered to
 *   answer retransmissions.
 * - down: from a phone system to a phone (a call to it, a BYE, a
 *   re-INVITE), named by the token in the Route it got from our Path or
 *   Record-Route; our own Via in place of the phone system's (kept here and
 *   put back on the answers), so the phone never sees what is behind us.
 *   Towards UDP phones we are the client transaction (sip_tx): we resend,
 *   give up with 408, and ACK a failure ourselves.
 *
 * - trunk_in and trunk_out: the same two steps with a carrier in the
 *   phone's place (a trunk socket's flow, sip_flow.trunk): its requests
 *   reach the phone system with X-Zentrale-Trunk; the phone system's reach
 *   the carrier named by Route <sip:trunk.ID@sbc.invalid;lr> (or a flow
 *   token of a carrier, within a dialog). Towards the carrier our Contact
 *   and Record-Route name the trunk's key at our trunk socket
 *   (<sip:KEY@ADDR:PORT>), so its requests find their trunk again and it
 *   never sees the phone system's; the carrier's own Record-Route stays,
 *   and its identity headers (RFC 3325) are trusted.
 *
 * The relay reaches sockets and connections only through s->io
 * (sbc_sip.c): it calls no function of that file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sodium.h>

#include "../core/core_hash.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../sip/sip_build.h"
#include "../sip/sip_dtmf.h"
#include "../sip/sip_hdr.h"
#include "sbc.h"
#include "sbc_media.h"
#include "sbc_sip_int.h"
#include "sbc_trunk.h"

#define RELAY_SDP_MAX 16384 /* an SDP body rewritten by the media relay */

/* ---- what both directions share ---- */

bool sbc_sip_is_ours(struct sip_pl name)
{
	return name.l >= 11 && strncasecmp(name.p, "X-Zentrale-", 11) == 0;
}

/* RFC 3325: the SBC is the edge of the trust domain. An identity a phone
 * asserts (or would like asserted) never passes, in a request or in an
 * answer: only the phone system asserts who is calling. */
bool sbc_sip_is_identity(struct sip_pl name)
{
	return sip_pl_casecmp(name, "P-Asserted-Identity") ||
	       sip_pl_casecmp(name, "P-Preferred-Identity");
}

/* A header line as received (folded lines stay folded). */
void sbc_sip_put_header(struct evbuffer *b, const struct sip_hdr *h)
{
	evbuffer_add(b, h->name.p, (size_t)(h->value.p + h->value.l - h->name.p));
	evbuffer_add(b, "\r\n", 2);
}

static void put_body(struct evbuffer *b, struct sip_pl body)
{
	evbuffer_add_printf(b, "Content-Length: %zu\r\n\r\n", body.l);
	evbuffer_add(b, body.p, body.l);
}

void sbc_sip_new_branch(char out[48])
{
	unsigned char rnd[10];
	char hex[21];
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(out, 48, "z9hG4bK%s", hex);
}

bool sbc_sip_has_sdp(const struct sip_msg *m)
{
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	return m->body.l && ct && ct->value.l >= 15 &&
	       strncasecmp(ct->value.p, "application/sdp", 15) == 0;
}

bool sbc_sip_relays_sdp(struct sip_pl method)
{
	return sip_pl_eq(method, "INVITE") || sip_pl_eq(method, "UPDATE") ||
	       sip_pl_eq(method, "PRACK") || sip_pl_eq(method, "ACK");
}

/* The trunk of a carrier's flow, NULL if it has gone (deleted, disabled). */
static const struct sbc_trunk *flow_trunk(struct sbc_sip *s, const struct sip_flow *f)
{
	char key[18];
	sbc_sip_flow_trunk_key(f, key);
	return s->sbc->trunks ? sbc_trunks_by_key(s->sbc->trunks, key, SBC_TRUNK_KEY_LEN) : NULL;
}

/* The media terms of a carrier's leg, from its trunk: 0, or -1 if it has gone. */
static int sbc_sip_trunk_terms(struct sbc_sip *s, const struct sip_flow *f,
			       struct sbc_media_trunk *terms)
{
	const struct sbc_trunk *tr = flow_trunk(s, f);
	if (!tr)
		return -1;
	memset(terms, 0, sizeof(*terms));
	terms->srtp = tr->t.srtp;
	for (int i = 0; i < tr->t.ncodecs && i < SDP_CODECS_MAX; i++)
		terms->codecs.names[terms->codecs.n++] = tr->t.codecs[i];
	terms->codecs.keep_te = !tr->t.dtmf_info;
	return 0;
}

int sbc_sip_body(struct sbc_sip *s, const struct sip_msg *m, const struct sip_flow *f,
		 const char *ps, bool from_phone, struct sip_pl *body, char *buf, size_t cap)
{
	*body = m->body;
	if (!sbc_sip_has_sdp(m))
		return 0;
	struct sip_pl meth;
	uint32_t cseq = 0;
	sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &cseq, &meth);
	if (!sbc_sip_relays_sdp(meth))
		return 488; /* nothing but these reserves ports; an answer goes without */
	bool ack = sip_pl_eq(meth, "ACK");
	struct sbc_media_trunk terms;
	if (f->trunk && sbc_sip_trunk_terms(s, f, &terms) < 0)
		return 503; /* the trunk has gone: no media for it */
	struct sbc_media_leg leg = {.ps = ps,
				    .call_id = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value,
				    .from_phone = from_phone,
				    .secure = f->t == T_TLS,
				    .phone = &f->addr,
				    .local = &f->local,
				    .phone_req = from_phone == m->request,
				    .existing_only = ack,
				    .cseq = cseq,
				    .method = ack ? (struct sip_pl){0} : meth,
				    .trunk = f->trunk ? &terms : NULL};
	int n = sbc_media_sdp(s->media, &leg, m->body, buf, cap);
	if (n < 0)
		return -n;
	*body = (struct sip_pl){buf, (size_t)n};
	return 0;
}

/* The phone system never sees the phone's own media profile (it gets plain
 * RTP from us): an SDP relayed from a phone is marked with it, so the list
 * of calls in progress can say which legs are SRTP. "srtp" when the first
 * active stream of the phone's SDP is RTP/SAVP (what makes the relay speak
 * SRTP with the phone), else "rtp"; nothing without a relayed SDP. Ours:
 * X-Zentrale-* from phones never pass (sbc_sip_is_ours). */
static void media_mark(const struct sip_msg *m, struct sip_pl relayed, char *out, size_t cap)
{
	out[0] = '\0';
	if (!relayed.l || !sbc_sip_has_sdp(m))
		return;
	const char *p = m->body.p, *end = m->body.p + m->body.l;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		/* m=<type> <port> <proto> ...: the port 0 of a disabled stream skipped */
		if (le - p > 2 && p[0] == 'm' && p[1] == '=') {
			const char *sp1 = memchr(p, ' ', (size_t)(le - p));
			if (sp1 && le - sp1 > 2 && !(sp1[1] == '0' && sp1[2] == ' ')) {
				const char *proto = memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1));
				bool savp = proto && le - proto > 8 &&
					    strncmp(proto + 1, "RTP/SAVP", 8) == 0;
				snprintf(out, cap, "X-Zentrale-Media: %s\r\n",
					 savp ? "srtp" : "rtp");
				return;
			}
		}
		p = le + 1;
	}
}

void sbc_sip_media_track(struct sbc_sip *s, const struct sip_msg *m)
{
	struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, meth;
	uint32_t n;
	if (m->request) {
		if (sip_pl_eq(m->method, "BYE"))
			sbc_media_end(s->media, cid, false);
		return;
	}
	if (sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &n, &meth) < 0)
		return;
	if (m->status >= 200) /* what the transaction reserved: kept, or freed now */
		sbc_media_settle(s->media, cid, n, meth, m->status < 300);
	if (!sip_pl_eq(meth, "INVITE"))
		return;
	if (m->status >= 200 && m->status < 300)
		sbc_media_answered(s->media, cid);
	else if (m->status >= 300)
		sbc_media_end(s->media, cid, true);
}

static bool names_sbc_invalid(struct sip_pl v)
{
	for (size_t i = 0; i + 12 <= v.l; i++)
		if (strncasecmp(v.p + i, "@sbc.invalid", 12) == 0)
			return true;
	return false;
}

static bool is_token_route(struct sip_pl v)
{
	struct sip_addr ra;
	struct sip_pl rest;
	return sip_addr_parse(&ra, v, &rest) == 0 && sip_pl_casecmp(ra.uri.host, "sbc.invalid");
}

/* Methods whose transactions make dialogs: we stay on their route. */
static bool records_route(struct sip_pl method)
{
	return sip_pl_eq(method, "INVITE") || sip_pl_eq(method, "SUBSCRIBE") ||
	       sip_pl_eq(method, "REFER");
}

/* The buffer's bytes, NUL-terminated (not counted in *len); NULL if out of memory. */
static char *take(struct evbuffer *b, size_t *len)
{
	*len = evbuffer_get_length(b);
	char *bytes = malloc(*len + 1);
	if (bytes) {
		evbuffer_remove(b, bytes, *len);
		bytes[*len] = '\0';
	}
	return bytes;
}

/* ---- the two directions ---- */

/* How a phone system reaches the phone of a flow: its token. */
static void rr_token(struct sbc_sip *s, const struct sip_flow *f, char *out, size_t cap)
{
	char token[SIP_TOKEN_LEN];
	sbc_sip_token_make(s, f, token);
	snprintf(out, cap, "<sip:%s@sbc.invalid;lr>", token);
}

/* How the phone of a flow reaches us: our outside address. */
static void rr_outside(struct sbc_sip *s, const struct sip_flow *f, char *out, size_t cap)
{
	(void)s;
	sbc_sip_flow_uri(f, out, cap);
}

static const char *const transport_param[] = {"", ";transport=tcp", ";transport=tls"};

/* How a carrier reaches us: its trunk's key at our trunk socket (the user
 * part finds the trunk again in the carrier's requests of the dialog). */
static void rr_trunk(struct sbc_sip *s, const struct sip_flow *f, char *out, size_t cap)
{
	(void)s;
	char key[18], hostport[CORE_NET_ADDR_LEN + 8];
	sbc_sip_flow_trunk_key(f, key);
	sbc_sip_flow_local(f, hostport, sizeof(hostport));
	snprintf(out, cap, "<sip:%s@%s%s;lr>", key, hostport, transport_param[f->t]);
}

static void via_inside(const struct sip_flow *f, const char *branch, char *out, size_t cap)
{
	(void)f;
	snprintf(out, cap, "Via: SIP/2.0/TCP sbc.invalid;branch=%s\r\n", branch);
}

static void via_outside(const struct sip_flow *f, const char *branch, char *out, size_t cap)
{
	static const char *const up[] = {"UDP", "TCP", "TLS"};
	char hostport[CORE_NET_ADDR_LEN + 8];
	sbc_sip_flow_local(f, hostport, sizeof(hostport));
	snprintf(out, cap, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", up[f->t], hostport, branch);
}

const struct sbc_sip_dir sbc_sip_dir_up = {
	.from_phone = true,
	.via = via_inside,
	.vias_aside = false,
	.drop_routes = SBC_ROUTES_ALL, /* a phone's Route names us, its outbound proxy */
	.rr_on = rr_token,
	.rr_back = rr_outside,
	.answer_rr = SBC_RR_REWRITE_OURS,
};

const struct sbc_sip_dir sbc_sip_dir_down = {
	.from_phone = false,
	.via = via_outside,
	.vias_aside = true,
	.drop_routes = SBC_ROUTES_TOKEN,
	.rr_on = rr_outside,
	.rr_back = rr_token,
	.answer_rr = SBC_RR_OURS_ONLY,
};

const struct sbc_sip_dir sbc_sip_dir_trunk_in = {
	.from_phone = true,
	.via = via_inside,
	.vias_aside = false,
	.drop_routes = SBC_ROUTES_ALL, /* the carrier's Route names us */
	.rr_on = rr_token,
	.rr_back = rr_trunk,
	.answer_rr = SBC_RR_REWRITE_OURS,
	.carrier = true,
};

const struct sbc_sip_dir sbc_sip_dir_trunk_out = {
	.from_phone = false,
	.via = via_outside,
	.vias_aside = true,
	.drop_routes = SBC_ROUTES_TOKEN,
	.rr_on = rr_trunk,
	.rr_back = rr_token,
	.answer_rr = SBC_RR_REWRITE_KEYED,
	.carrier = true,
};

/* The phone system's Contact, towards a carrier: ours, the trunk's key at
 * our trunk socket, with the header's parameters (expires=…) kept; "*"
 * (a REGISTER removing all) as it is. */
static void put_carrier_contact(struct evbuffer *b, const struct sip_flow *f,
				const struct sip_hdr *h)
{
	struct sip_addr a;
	struct sip_pl rest;
	if (h->value.l == 1 && h->value.p[0] == '*') {
		sbc_sip_put_header(b, h);
		return;
	}
	char key[18], hostport[CORE_NET_ADDR_LEN + 8];
	sbc_sip_flow_trunk_key(f, key);
	sbc_sip_flow_local(f, hostport, sizeof(hostport));
	evbuffer_add_printf(b, "Contact: <sip:%s@%s%s>", key, hostport, transport_param[f->t]);
	if (sip_addr_parse(&a, h->value, &rest) == 0 && a.params.l)
		evbuffer_add_printf(b, "%.*s", (int)a.params.l, a.params.p);
	evbuffer_add(b, "\r\n", 2);
}

/* A Record-Route line of ours towards this carrier: its key as user part. */
static bool names_key(struct sip_pl v, const struct sip_flow *f)
{
	char key[19];
	sbc_sip_flow_trunk_key(f, key);
	key[17] = '@';
	key[18] = '\0';
	for (size_t i = 0; i + 18 <= v.l; i++)
		if (memcmp(v.p + i, key, 18) == 0)
			return true;
	return false;
}

/* ---- the step ---- */

/*
 * The request for the next hop, into b: the request line, our Via (via),
 * the lines the caller adds (extra), the sender's headers as the direction
 * wants them, the body. The sender's Vias go into vias when the direction
 * keeps them aside; else its top one gets received= (src_addr:src_port).
 */
static void relay_request(struct sbc_sip *s, const struct sbc_sip_dir *d, const struct sip_msg *m,
			  const struct sip_flow *f, const char *via, const char *extra,
			  struct sip_pl body, struct evbuffer *b, struct evbuffer *vias)
{
	char addr[64], rr[256];
	int port = 0;
	if (!d->vias_aside)
		sbc_sip_flow_addr(f, addr, sizeof(addr), &port);
	evbuffer_add(b, m->raw.p, (size_t)(m->hdr[0].name.p - m->raw.p)); /* request line */
	evbuffer_add(b, via, strlen(via));
	if (records_route(m->method)) {
		d->rr_on(s, f, rr, sizeof(rr));
		evbuffer_add_printf(b, "Record-Route: %s\r\n", rr);
	}
	evbuffer_add(b, extra, strlen(extra));
	const struct sip_hdr *top = sip_msg_hdr(m, SIP_HDR_VIA);
	for (int i = 0; i < m->nhdr; i++) {
		const struct sip_hdr *h = &m->hdr[i];
		if (h->id == SIP_HDR_VIA && d->vias_aside) {
			sbc_sip_put_header(vias, h);
			continue;
		}
		if (sbc_sip_is_ours(h->name) || h->id == SIP_HDR_CONTENT_LENGTH ||
		    (d->from_phone && !d->carrier && sbc_sip_is_identity(h->name)) ||
		    (h->id == SIP_HDR_ROUTE &&
		     (d->drop_routes == SBC_ROUTES_ALL || is_token_route(h->value))))
			continue;
		if (h->id == SIP_HDR_CONTACT && d->carrier && !d->from_phone) {
			put_carrier_contact(b, f, h);
			continue;
		}
		if (h == top && !d->vias_aside) {
			/* the whole Via, received= added: never cut */
			size_t cap = h->value.l + 128;
			char *v = malloc(cap);
			int n = v ? sip_via_with_received(h->value, addr, port, v, cap) : -1;
			if (n > 0)
				evbuffer_add_printf(b, "Via: %.*s\r\n", n, v);
			free(v);
			if (n > 0)
				continue;
		}
		if (h->id == SIP_HDR_MAX_FORWARDS) {
			int64_t mf = sip_pl_u64(h->value, 255);
			evbuffer_add_printf(b, "Max-Forwards: %d\r\n", (int)(mf > 0 ? mf - 1 : 0));
			continue;
		}
		sbc_sip_put_header(b, h);
	}
	put_body(b, body);
}

/*
 * An answer for the previous hop of t, into b: the status line, the Vias
 * kept aside (vias, or none), the sender's headers but its top Via, with
 * the direction's Record-Route, and the body.
 */
static void relay_response(struct sbc_sip *s, const struct sbc_sip_dir *d, struct sip_txn *t,
			   const struct sip_msg *m, const char *vias, const char *extra,
			   struct sip_pl body, struct evbuffer *b)
{
	char rr[256];
	const struct sip_hdr *top = sip_msg_hdr(m, SIP_HDR_VIA);
	/* Ours only: the phone echoes the Record-Route we gave it (our outside
	 * address); the phone system gets the flow token instead, so its
	 * dialog's route set (§12.1.2) leads back to this very connection. */
	bool ours_only = d->answer_rr == SBC_RR_OURS_ONLY;
	bool keyed = d->answer_rr == SBC_RR_REWRITE_KEYED;
	bool add = ours_only && m->status > 100 && m->status < 300 &&
		   records_route((struct sip_pl){t->method, strlen(t->method)});
	if (add || !ours_only)
		d->rr_back(s, &t->flow, rr, sizeof(rr));
	evbuffer_add(b, m->raw.p, (size_t)(m->hdr[0].name.p - m->raw.p)); /* status line */
	if (vias)
		evbuffer_add(b, vias, strlen(vias));
	if (add)
		evbuffer_add_printf(b, "Record-Route: %s\r\n", rr);
	if (extra)
		evbuffer_add(b, extra, strlen(extra));
	for (int i = 0; i < m->nhdr; i++) {
		const struct sip_hdr *h = &m->hdr[i];
		if (h == top || sbc_sip_is_ours(h->name) || h->id == SIP_HDR_CONTENT_LENGTH ||
		    (!d->from_phone && !d->carrier &&
		     sbc_sip_is_identity(h->name))) /* a phone's answer */
			continue;
		if (h->id == SIP_HDR_RECORD_ROUTE && ours_only)
			continue;
		if (h->id == SIP_HDR_CONTACT && d->carrier && d->from_phone) {
			put_carrier_contact(b, &t->flow, h); /* the phone system's, to a carrier */
			continue;
		}
		if (h->id == SIP_HDR_RECORD_ROUTE &&
		    (keyed ? names_key(h->value, &t->flow) : names_sbc_invalid(h->value)))
			evbuffer_add_printf(b, "Record-Route: %s\r\n", rr);
		else
			sbc_sip_put_header(b, h);
	}
	put_body(b, body);
}

/* The INVITE transaction an ACK or CANCEL belongs to, by its key. */
static struct sip_txn *invite_of(struct sbc_sip *s, const char *key, bool down)
{
	char *ikey = strdup(key);
	if (!ikey)
		return NULL;
	sbc_sip_txn_invite_key(ikey);
	struct sip_txn *inv = sbc_sip_txn_by_key(s, ikey, down);
	free(ikey);
	return inv;
}

/* ---- up: from phones ---- */

/* The ACK of a 2xx has a branch of its own: found by Call-ID and CSeq. */
static void ack_seen(struct sbc_sip *s, const struct sip_msg *m)
{
	struct sip_pl meth;
	uint32_t cseq = 0;
	sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &cseq, &meth);
	sbc_sip_txn_ack_seen(s, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, cseq);
}

/* ACK and CANCEL go hop by hop: they reuse the branch of their INVITE.
 * 0, or -1 when the request was answered (a CANCEL of nothing). */
static int up_hop_by_hop(struct sbc_sip *s, const struct sip_flow *f, const struct sip_msg *m,
			 const char *key, char branch[48])
{
	bool ack = sip_pl_eq(m->method, "ACK"), cancel = sip_pl_eq(m->method, "CANCEL");
	if (!ack && !cancel)
		return 0;
	struct sip_txn *inv = invite_of(s, key, false);
	if (cancel && !inv) {
		s->io->answer(s, f, m, 481, NULL);
		return -1;
	}
	if (inv && (cancel || inv->status >= 300))
		snprintf(branch, 48, "%s", inv->branch);
	if (ack && inv && inv->status >= 300) {
		/* acknowledged: Timer G stops, Timer I (T4) absorbs stragglers */
		int64_t now = core_now_ms();
		sip_tx_server_request(&inv->tx, true, now);
		inv->forget_at = sbc_sip_txn_answered_until(inv, now);
	}
	if (ack)
		ack_seen(s, m);
	return 0;
}

/* An INFO digit on a trunk leg whose carrier takes DTMF as INFO goes to the
 * phone leg it is joined to as RFC 4733 (sbc_media_dtmf_send; -1 for every
 * other leg). The INFO goes on to the phone system marked, so its apps
 * still read it and it is not relayed to that phone a second time. */
static int dtmf_sent(struct sbc_sip *s, const struct sip_msg *m, char *out, size_t cap)
{
	if (!sip_pl_eq(m->method, "INFO") || cap < 32)
		return 0;
	const struct sip_hdr *ct = sip_msg_hdr(m, SIP_HDR_CONTENT_TYPE);
	char d = sip_dtmf_info(ct ? ct->value : (struct sip_pl){0}, m->body);
	if (!d || sbc_media_dtmf_send(s->media, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, d,
				      sip_dtmf_info_duration(m->body)) < 0)
		return 0;
	return snprintf(out, cap, "X-Zentrale-Dtmf: rfc4733\r\n");
}

void sbc_sip_relay_from_phone(struct sbc_sip *s, const struct sip_flow *f, const struct sip_msg *m,
			      const char *name, const char *sock, const char *key)
{
	struct sip_up *u = s->io->up_get(s, name, sock);
	const struct sbc_sip_dir *d = f->trunk ? &sbc_sip_dir_trunk_in : &sbc_sip_dir_up;
	const struct sbc_trunk *tr = f->trunk ? flow_trunk(s, f) : NULL;
	if (!u || (f->trunk && !tr)) {
		s->io->answer(s, f, m, 503, "Retry-After: 5\r\n");
		return;
	}
	bool ack = sip_pl_eq(m->method, "ACK");
	char branch[48];
	char sdp[RELAY_SDP_MAX]; /* on the stack: no static, no heap churn */
	struct sip_pl body;
	int refuse = sbc_sip_body(s, m, f, name, d->from_phone, &body, sdp, RELAY_SDP_MAX);
	if (refuse && ack) {
		body = (struct sip_pl){0}; /* no call to relay it for: on without SDP */
	} else if (refuse) {
		s->io->answer(s, f, m, refuse,
			      refuse == 488   ? "Warning: 399 sbc \"SRTP (SDES) required\"\r\n"
			      : refuse == 503 ? "Retry-After: 5\r\n"
					      : NULL);
		goto out;
	}
	struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, meth;
	uint32_t cseq = 0;
	sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &cseq, &meth);
	sbc_sip_media_track(s, m);
	sbc_sip_new_branch(branch);
	if (up_hop_by_hop(s, f, m, key, branch) < 0)
		goto out;
	if (!ack) {
		struct sip_txn *t = sbc_sip_txn_new(s);
		if (!t || sbc_sip_txn_set(s, t, key, branch, name, m) < 0) {
			/* t, unset, goes with the sweep */
			sbc_media_settle(s->media, cid, cseq, meth, false);
			s->io->answer(s, f, m, 503, "Retry-After: 5\r\n");
			goto out;
		}
		t->flow = *f;
		t->pending = true; /* until the phone system answers anything */
		s->pending++;
		sip_tx_server_start(&t->tx, sip_pl_eq(m->method, "INVITE"), f->t != T_UDP,
				    core_now_ms());
		/* the phone system behind us is a reliable hop: we resend its 2xx */
		t->tx.resend_2xx = true;
		t->tx.timer_j = SIP_TX_DONE_MS;
	}
	char addr[64], token[SIP_TOKEN_LEN], via[128], extra[512];
	int port;
	sbc_sip_flow_addr(f, addr, sizeof(addr), &port);
	d->via(f, branch, via, sizeof(via));
	int n = 0;
	if (tr) /* which of the phone system's trunks it came on */
		n = snprintf(extra, sizeof(extra), "X-Zentrale-Trunk: %lld\r\n",
			     (long long)tr->t.id);
	else if (sip_pl_eq(m->method, "REGISTER")) {
		sbc_sip_token_make(s, f, token);
		n = snprintf(extra, sizeof(extra), "Path: <sip:%s@sbc.invalid;lr;ob>\r\n", token);
	}
	n += snprintf(extra + n, sizeof(extra) - (size_t)n, "X-Zentrale-Source: %s %s%s%s:%d\r\n",
		      sbc_sip_tname[f->t], strchr(addr, ':') ? "[" : "", addr,
		      strchr(addr, ':') ? "]" : "", port);
	if (n > 0 && (size_t)n < sizeof(extra))
		n += dtmf_sent(s, m, extra + n, sizeof(extra) - (size_t)n);
	if (n > 0 && (size_t)n < sizeof(extra))
		media_mark(m, body, extra + n, sizeof(extra) - (size_t)n);
	relay_request(s, d, m, f, via, extra, body, s->up_msg, NULL);
	sbc_sip_up_send(u, s->up_msg);
out:
}

/* A final answer to an INVITE from a phone over UDP is ours to resend until
 * its ACK comes (Timer G for a failure, RFC 3261 13.3.1.4 for a 2xx), for
 * 64*T1 at most (Timer H, L): the phone system behind us sees a reliable
 * link. The server machine (sip_tx) says when. */
static void up_timers(struct sbc_sip *s, struct sip_txn *t, int64_t now)
{
	int64_t due = sip_tx_deadline(&t->tx);
	if (!t->answer || !due || now < due)
		return;
	int act = sip_tx_timer(&t->tx, now);
	if (act & SIP_TX_SEND_RESPONSE)
		s->io->flow_send(s, &t->flow, t->answer, t->answer_len);
	if (act & SIP_TX_DONE)
		t->forget_at = now;
}

void sbc_sip_relay_again(struct sbc_sip *s, struct sip_txn *t)
{
	int act = sip_tx_server_request(&t->tx, false, core_now_ms());
	/* over TCP and TLS an answered one is forgotten at once: until then, as ever */
	if (t->answer && ((act & SIP_TX_SEND_RESPONSE) || t->tx.reliable))
		s->io->flow_send(s, &t->flow, t->answer, t->answer_len);
}

/* The phone system marks an answer to a failed authentication so (a 403 for
 * a wrong digest; not one for too many devices); only those count. */
static bool auth_failed_marked(const struct sip_msg *m)
{
	for (int i = 0; i < m->nhdr; i++)
		if (sip_pl_casecmp(m->hdr[i].name, "X-Zentrale-Auth-Failed"))
			return true;
	return false;
}

/* Timer C: how long an INVITE that rang waits for its final answer. */
static int64_t timer_c(const struct sbc_sip *s)
{
	return s->timer_c_ms > 0 ? s->timer_c_ms : SIP_TX_TIMER_C_MS;
}

/* A final answer, kept to answer retransmissions of its request from
 * memory for as long as the server machine lives. */
static void up_remember(struct sbc_sip *s, struct sip_txn *t, char *bytes, size_t len)
{
	free(t->answer);
	sbc_sip_txn_held(s, t, len, t->answer_len);
	t->answer = bytes;
	t->answer_len = len;
	t->forget_at = sbc_sip_txn_answered_until(t, core_now_ms());
}

/* An answer from a phone system: our Via dropped, sent where the request
 * came from; our Record-Route becomes the address this phone knows us by. */
void sbc_sip_relay_answer_from_ps(struct sbc_sip *s, const struct sip_msg *m)
{
	struct sip_answer_key k;
	if (sip_answer_key(m, &k) < 0 || !sip_pl_eq(k.via.host, "sbc.invalid")) {
		log_warn("sip: a phone system answered without our Via; dropped");
		return;
	}
	struct sip_txn *t = sbc_sip_txn_by_branch(s, k.branch, k.method, false);
	if (!t)
		return; /* forgotten: late */
	if (t->pending) {
		t->pending = false;
		s->pending--;
	}
	struct evbuffer *b = evbuffer_new();
	char sdp[RELAY_SDP_MAX];
	if (!b)
		goto out;
	struct sip_pl body;
	const struct sbc_sip_dir *d = t->flow.trunk ? &sbc_sip_dir_trunk_in : &sbc_sip_dir_up;
	if (sbc_sip_body(s, m, &t->flow, t->up, !d->from_phone, &body, sdp, RELAY_SDP_MAX))
		body = (struct sip_pl){0}; /* an answer cannot be refused: no media then */
	sbc_sip_media_track(s, m);
	relay_response(s, d, t, m, NULL, NULL, body, b);
	size_t len;
	char *bytes = take(b, &len);
	if (!bytes)
		goto out;
	s->io->flow_send(s, &t->flow, bytes, len);
	s->io->accepted(s, t, m->status);
	if (auth_failed_marked(m))
		s->io->auth_failed(s, &t->flow); /* wrong password, unknown user, another's AOR */
	t->status = m->status;
	if (m->status > 100 && m->status < 200 && strcmp(t->method, "INVITE") == 0)
		t->forget_at = core_now_ms() + timer_c(s);	 /* it rings: Timer C */
	sip_tx_server_respond(&t->tx, m->status, core_now_ms()); /* -1: a late one, sent on */
	if (m->status >= 200)
		up_remember(s, t, bytes, len);
	else
		free(bytes);
out:
	evbuffer_free(b);
}

/* ---- down: from phone systems ---- */

/* Our answer to a phone system's request that cannot go on. */
static void down_refuse(struct sip_up *u, const struct sip_msg *m, int status, const char *reason)
{
	if (sip_pl_eq(m->method, "ACK"))
		return;
	char *out = malloc(SIP_ANSWER_MAX);
	struct sip_response_opts o = {.reason = reason, .to_tag = "sbc"};
	int n = out ? sip_build_response(m, status, &o, out, SIP_ANSWER_MAX) : -1;
	if (n > 0)
		bufferevent_write(u->bev, out, (size_t)n);
	free(out);
}

/* A Route's <sip:trunk.ID@sbc.invalid>: the phone system's trunk ID; 0 or -1. */
static int trunk_route_id(const struct sip_addr *ra, int64_t *id)
{
	struct sip_pl u = ra->uri.user;
	if (u.l < 7 || u.l > 6 + 12 || memcmp(u.p, "trunk.", 6) != 0)
		return -1;
	*id = 0;
	for (size_t i = 6; i < u.l; i++) {
		if (u.p[i] < '0' || u.p[i] > '9')
			return -1;
		*id = *id * 10 + (u.p[i] - '0');
	}
	return *id > 0 ? 0 : -1;
}

/* Where a request of a phone system goes: its CANCEL where its INVITE went,
 * else one of its trunks' carriers (Route <sip:trunk.ID@sbc.invalid;lr>),
 * else the phone or carrier named by the token in its Route. 0, or -1
 * when answered. */
static int down_target(struct sbc_sip *s, struct sip_up *u, const struct sip_msg *m,
		       const char *key, struct sip_flow *f, char branch[48])
{
	bool ack = sip_pl_eq(m->method, "ACK"), cancel = sip_pl_eq(m->method, "CANCEL");
	struct sip_txn *inv = ack || cancel ? invite_of(s, key, true) : NULL;
	if (ack && inv && inv->status >= 300)
		return -1; /* we acknowledged that failure ourselves */
	if (cancel && (!inv || inv->status >= 200)) {
		down_refuse(u, m, 481, NULL);
		return -1;
	}
	const struct sip_hdr *rh = sip_msg_hdr(m, SIP_HDR_ROUTE);
	struct sip_addr ra;
	struct sip_pl rest;
	sbc_sip_new_branch(branch);
	int64_t id;
	if (cancel) {
		*f = inv->flow;
		snprintf(branch, 48, "%s", inv->branch);
	} else if (!rh || !is_token_route(rh->value) || sip_addr_parse(&ra, rh->value, &rest) < 0) {
		down_refuse(u, m, 430, "Flow Failed");
		return -1;
	} else if (trunk_route_id(&ra, &id) == 0) {
		const struct sbc_trunk *tr =
			s->sbc->trunks ? sbc_trunks_by_id(s->sbc->trunks, u->name, id) : NULL;
		if (!tr) {
			down_refuse(u, m, 404, "No Such Trunk");
			return -1;
		}
		if (s->io->trunk_flow(s, tr, f) < 0) {
			down_refuse(u, m, 503, "Carrier Not Reachable");
			return -1;
		}
	} else if (sbc_sip_token_read(s, ra.uri.user, f) < 0) {
		down_refuse(u, m, 430, "Flow Failed"); /* RFC 5626: the phone is gone */
		return -1;
	}
	return 0;
}

/* The request sent to the phone is remembered for its answers (and
 * resent over UDP); an ACK is not. */
static void down_remember(struct sbc_sip *s, struct sip_up *u, const struct sip_msg *m,
			  const char *key, const char *branch, const struct sip_flow *f,
			  char *bytes, size_t len, struct evbuffer *vias)
{
	struct sip_txn *t = sbc_sip_txn_new(s);
	if (t)
		t->down = true;
	if (!t || sbc_sip_txn_set(s, t, key, branch, u->name, m) < 0) {
		/* an unset t goes with the sweep */
		down_refuse(u, m, 503, NULL);
		struct sip_pl meth;
		uint32_t cseq = 0;
		sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &cseq, &meth);
		sbc_media_settle(s->media, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, cseq, meth,
				 false);
		free(bytes);
		return;
	}
	t->flow = *f;
	t->request = bytes;
	t->request_len = len;
	size_t vl;
	t->vias = take(vias, &vl); /* NUL-terminated: deliver writes it by strlen */
	sbc_sip_txn_held(s, t, len + vl, 0);
	sip_tx_client_start(&t->tx, sip_pl_eq(m->method, "INVITE"), f->t != T_UDP, core_now_ms());
}

void sbc_sip_relay_from_ps(struct sbc_sip *s, struct sip_up *u, const struct sip_msg *m)
{
	bool ack = sip_pl_eq(m->method, "ACK");
	char *key = malloc(m->raw.l + 64); /* a key is shorter than its message: whole */
	char sdp[RELAY_SDP_MAX];
	struct evbuffer *b = evbuffer_new(), *vias = evbuffer_new();
	char branch[48], via[256];
	struct sip_flow f;
	struct sip_pl body;
	if (!key || !b || !vias)
		goto out;
	if (sip_tx_key(m, false, key, m->raw.l + 64) < 0) {
		down_refuse(u, m, 400, NULL);
		goto out;
	}
	if (down_target(s, u, m, key, &f, branch) < 0)
		goto out;
	const struct sbc_sip_dir *d = f.trunk ? &sbc_sip_dir_trunk_out : &sbc_sip_dir_down;
	int refuse = sbc_sip_body(s, m, &f, u->name, d->from_phone, &body, sdp, RELAY_SDP_MAX);
	if (refuse) {
		down_refuse(u, m, refuse, NULL);
		goto out;
	}
	sbc_sip_media_track(s, m);
	d->via(&f, branch, via, sizeof(via));
	relay_request(s, d, m, &f, via, "", body, b, vias);
	size_t len;
	char *bytes = take(b, &len);
	if (!bytes)
		goto out;
	if (s->io->flow_send(s, &f, bytes, len) < 0) {
		down_refuse(u, m, 430, "Flow Failed");
		ack = true; /* nothing to remember */
	}
	if (ack)
		free(bytes);
	else
		down_remember(s, u, m, key, branch, &f, bytes, len, vias);
out:
	free(key);
	evbuffer_free(b);
	evbuffer_free(vias);
}

/* An answer, with the phone system's Vias back in place of ours. */
static void deliver(struct sbc_sip *s, struct sip_txn *t, const struct sip_msg *m)
{
	struct sip_up *u = s->io->up_get(s, t->up, NULL);
	if (!u || !t->vias)
		return; /* the phone system has gone; it will not miss the answer */
	char sdp[RELAY_SDP_MAX];
	struct sip_pl body = {0};
	const struct sbc_sip_dir *d = t->flow.trunk ? &sbc_sip_dir_trunk_out : &sbc_sip_dir_down;
	if (sbc_sip_body(s, m, &t->flow, t->up, !d->from_phone, &body, sdp, RELAY_SDP_MAX))
		body = (struct sip_pl){0}; /* an answer cannot be refused: no media then */
	sbc_sip_media_track(s, m);
	char mark[64];
	media_mark(m, body, mark, sizeof(mark));
	relay_response(s, d, t, m, t->vias, mark, body, s->up_msg);
	sbc_sip_up_send(u, s->up_msg);
}

/* RFC 3261 17.1.1.3: the ACK of a failed INVITE is the client transaction's. */
static void ack_failure(struct sbc_sip *s, struct sip_txn *t, const struct sip_msg *resp)
{
	struct sip_msg *inv = malloc(sizeof(*inv));
	if (!inv || sip_msg_parse(inv, t->request, t->request_len, false) != 0) {
		free(inv);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	const struct sip_hdr *to = sip_msg_hdr(resp, SIP_HDR_TO);
	const struct sip_hdr *from = sip_msg_hdr(inv, SIP_HDR_FROM);
	const struct sip_hdr *cid = sip_msg_hdr(inv, SIP_HDR_CALL_ID);
	uint32_t num = 0;
	struct sip_pl meth;
	sip_cseq_parse(sip_msg_hdr(inv, SIP_HDR_CSEQ)->value, &num, &meth);
	if (b && to && from && cid) {
		char via[256];
		sbc_sip_dir_down.via(&t->flow, t->branch, via, sizeof(via));
		evbuffer_add_printf(b,
				    "ACK %.*s SIP/2.0\r\n%sMax-Forwards: 70\r\nFrom: %.*s\r\n"
				    "To: %.*s\r\nCall-ID: %.*s\r\nCSeq: %u ACK\r\n"
				    "Content-Length: 0\r\n\r\n",
				    (int)inv->ruri.l, inv->ruri.p, via, (int)from->value.l,
				    from->value.p, (int)to->value.l, to->value.p, (int)cid->value.l,
				    cid->value.p, num);
		size_t len;
		char *bytes = take(b, &len);
		if (bytes)
			s->io->flow_send(s, &t->flow, bytes, len);
		free(bytes);
	}
	evbuffer_free(b);
	free(inv);
}

void sbc_sip_relay_answer_from_phone(struct sbc_sip *s, const struct sip_msg *m)
{
	struct sip_answer_key k;
	if (sip_answer_key(m, &k) < 0)
		return;
	struct sip_txn *t = sbc_sip_txn_by_branch(s, k.branch, k.method, true);
	if (!t)
		return; /* not ours, or forgotten */
	int64_t now = core_now_ms();
	int act = sip_tx_client_response(&t->tx, m->status, now);
	if (act & SIP_TX_SEND_ACK)
		ack_failure(s, t, m);
	if (!(act & SIP_TX_DELIVER))
		return;
	if (m->status >= 200)
		t->forget_at = now + SIP_TX_DONE_MS;
	else if (m->status > 100 && strcmp(t->method, "INVITE") == 0)
		t->forget_at = now + timer_c(s); /* it rings: Timer C */
	t->status = m->status;
	deliver(s, t, m);
}

static void down_timers(struct sbc_sip *s, struct sip_txn *t, int64_t now)
{
	int64_t due = sip_tx_deadline(&t->tx);
	if (!t->request || t->tx.state == SIP_TX_TERMINATED || !due || now < due)
		return;
	int act = sip_tx_timer(&t->tx, now);
	if (act & SIP_TX_SEND_REQUEST)
		s->io->flow_send(s, &t->flow, t->request, t->request_len);
	if ((act & SIP_TX_TIMEOUT) && t->status < 200)
		sbc_sip_relay_fail(s, t, 408); /* no answer: as from the phone */
}

void sbc_sip_relay_fail(struct sbc_sip *s, struct sip_txn *t, int status)
{
	if (!t->down || t->status >= 200 || !t->request)
		return;
	struct sip_msg *req = malloc(sizeof(*req)), *resp = malloc(sizeof(*resp));
	char *out = malloc(SIP_ANSWER_MAX); /* the request's headers, whole */
	if (req && resp && out && sip_msg_parse(req, t->request, t->request_len, false) == 0) {
		struct sip_response_opts o = {.to_tag = "sbc"};
		int n = sip_build_response(req, status, &o, out, SIP_ANSWER_MAX);
		if (n > 0 && sip_msg_parse(resp, out, (size_t)n, false) == 0) {
			t->status = status;
			t->tx.state = SIP_TX_TERMINATED; /* nothing more to send or wait for */
			t->forget_at = core_now_ms() + SIP_TX_DONE_MS;
			deliver(s, t, resp);
		}
	}
	free(req);
	free(resp);
	free(out);
}

void sbc_sip_relay_timers(struct sbc_sip *s, struct sip_txn *t, int64_t now)
{
	if (t->down)
		down_timers(s, t, now);
	else
		up_timers(s, t, now);
}
