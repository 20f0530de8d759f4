/*
 * sbc_sip_down — requests from a phone system to a phone (a call to it, a
 * BYE, a re-INVITE) and the phone's answers. The phone system names the
 * phone's flow by the token in the Route it got from our Path or
 * Record-Route; we send over that very connection (phones behind NAT get
 * their calls), with our own Via in place of the phone system's (kept here
 * and put back on the answers), so the phone never sees what is behind us.
 * Towards UDP phones we are the client transaction: we resend, give up
 * with 408, and ACK a failure ourselves.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "../core/core_hash.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../sip/sip_build.h"
#include "../sip/sip_hdr.h"
#include "sbc_media.h"
#include "sbc_sip_int.h"

/* Our answer to a phone system's request that cannot go on. */
static void up_answer(struct sip_up *u, const struct sip_msg *m, int status, const char *reason)
{
	static char out[SIP_ANSWER_MAX];
	if (sip_pl_eq(m->method, "ACK"))
		return;
	struct sip_response_opts o = {.reason = reason, .to_tag = "sbc"};
	int n = sip_build_response(m, status, &o, out, sizeof(out));
	if (n > 0)
		bufferevent_write(u->bev, out, (size_t)n);
}

static bool is_token_route(struct sip_pl v, struct sip_addr *ra)
{
	struct sip_pl rest;
	return sip_addr_parse(ra, v, &rest) == 0 && sip_pl_casecmp(ra->uri.host, "sbc.invalid");
}

static void via_of(const struct sip_flow *f, const char *branch, char *out, size_t cap)
{
	static const char *const up[] = {"UDP", "TCP", "TLS"};
	char hostport[CORE_NET_ADDR_LEN + 8];
	sbc_sip_flow_local(f, hostport, sizeof(hostport));
	snprintf(out, cap, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", up[f->t], hostport, branch);
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

void sbc_sip_down_request(struct sbc_sip *s, struct sip_up *u, const struct sip_msg *m)
{
	bool ack = sip_pl_eq(m->method, "ACK"), cancel = sip_pl_eq(m->method, "CANCEL");
	/* keys are shorter than their message: whole */
	static char key[SIP_MAX_MESSAGE + 64], ikey[SIP_MAX_MESSAGE + 64];
	char branch[48];
	if (sip_tx_key(m, false, key, sizeof(key)) < 0) {
		up_answer(u, m, 400, NULL);
		return;
	}
	/* the INVITE's key: the method is last, "CANCEL" as long as "INVITE" */
	snprintf(ikey, sizeof(ikey), "%s", key);
	char *bar = strrchr(ikey, '|');
	if (bar && strlen(bar + 1) == 6)
		memcpy(bar + 1, "INVITE", 6);
	struct sip_txn *inv = ack || cancel ? sbc_sip_txn_by_key(s, ikey, true) : NULL;
	if (ack && inv && inv->status >= 300)
		return; /* we acknowledged that failure ourselves */
	if (cancel && (!inv || inv->status >= 200)) {
		up_answer(u, m, 481, NULL);
		return;
	}
	struct sip_flow f;
	const struct sip_hdr *rh = sip_msg_hdr(m, SIP_HDR_ROUTE);
	struct sip_addr ra;
	sbc_sip_new_branch(branch);
	if (cancel) {
		f = inv->flow;
		snprintf(branch, sizeof(branch), "%s", inv->branch);
	} else if (!rh || !is_token_route(rh->value, &ra) ||
		   sbc_sip_token_read(s, ra.uri.user, &f) < 0) {
		up_answer(u, m, 430, "Flow Failed"); /* RFC 5626: the phone is gone */
		return;
	}

	static char sdp[16384];
	struct sip_pl body;
	int refuse = sbc_sip_body(s, m, &f, u->name, false, &body, sdp, sizeof(sdp));
	if (refuse) {
		up_answer(u, m, refuse, NULL);
		return;
	}
	sbc_sip_media_track(s, m);
	struct evbuffer *b = evbuffer_new();
	struct evbuffer *vias = evbuffer_new();
	if (!b || !vias) {
		evbuffer_free(b);
		evbuffer_free(vias);
		return;
	}
	char line[256];
	evbuffer_add(b, m->raw.p, (size_t)(m->hdr[0].name.p - m->raw.p)); /* request line */
	via_of(&f, branch, line, sizeof(line));
	evbuffer_add(b, line, strlen(line));
	if (sip_pl_eq(m->method, "INVITE") || sip_pl_eq(m->method, "SUBSCRIBE") ||
	    sip_pl_eq(m->method, "REFER")) {
		sbc_sip_flow_uri(&f, line, sizeof(line));
		evbuffer_add_printf(b, "Record-Route: %s\r\n", line);
	}
	for (int i = 0; i < m->nhdr; i++) {
		const struct sip_hdr *h = &m->hdr[i];
		if (h->id == SIP_HDR_VIA) {
			sbc_sip_put_header(vias, h);
			continue;
		}
		if (sbc_sip_is_ours(h->name) || h->id == SIP_HDR_CONTENT_LENGTH ||
		    (h->id == SIP_HDR_ROUTE && is_token_route(h->value, &ra)))
			continue;
		if (h->id == SIP_HDR_MAX_FORWARDS) {
			int64_t mf = sip_pl_u64(h->value, 255);
			evbuffer_add_printf(b, "Max-Forwards: %d\r\n", (int)(mf > 0 ? mf - 1 : 0));
			continue;
		}
		sbc_sip_put_header(b, h);
	}
	evbuffer_add_printf(b, "Content-Length: %zu\r\n\r\n", body.l);
	evbuffer_add(b, body.p, body.l);

	size_t len;
	char *bytes = take(b, &len);
	evbuffer_free(b);
	if (!bytes) {
		evbuffer_free(vias);
		return;
	}
	if (sbc_sip_flow_send(s, &f, bytes, len) < 0) {
		up_answer(u, m, 430, "Flow Failed");
		ack = true; /* nothing to remember */
	}
	struct sip_txn *t = ack ? NULL : sbc_sip_txn_new(s);
	if (t)
		t->down = true;
	if (!t || sbc_sip_txn_set(s, t, key, branch, u->name, m) < 0) {
		/* an unset t goes with the sweep */
		if (!ack) {
			up_answer(u, m, 503, NULL);
			struct sip_pl meth;
			uint32_t cseq = 0;
			sip_cseq_parse(sip_msg_hdr(m, SIP_HDR_CSEQ)->value, &cseq, &meth);
			sbc_media_settle(s->media, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, cseq,
					 meth, false);
		}
		free(bytes);
		evbuffer_free(vias);
		return;
	}
	t->flow = f;
	t->request = bytes;
	t->request_len = len;
	size_t vl;
	t->vias = take(vias, &vl); /* NUL-terminated: deliver writes it by strlen */
	sbc_sip_txn_held(s, t, len + vl, 0);
	evbuffer_free(vias);
	sip_tx_client_start(&t->tx, sip_pl_eq(m->method, "INVITE"), f.t != T_UDP, core_now_ms());
}

/* An answer, with the phone system's Vias back in place of ours. */
static void deliver(struct sbc_sip *s, struct sip_txn *t, const struct sip_msg *m)
{
	struct sip_up *u = sbc_sip_up_named(s, t->up);
	if (!u || !t->vias)
		return; /* the phone system has gone; it will not miss the answer */
	static char sdp[16384];
	struct sip_pl body;
	if (sbc_sip_body(s, m, &t->flow, t->up, true, &body, sdp, sizeof(sdp)))
		body = (struct sip_pl){0}; /* an answer cannot be refused: no media then */
	sbc_sip_media_track(s, m);
	struct evbuffer *b = bufferevent_get_output(u->bev);
	const struct sip_hdr *top = sip_msg_hdr(m, SIP_HDR_VIA);
	evbuffer_add(b, m->raw.p, (size_t)(m->hdr[0].name.p - m->raw.p)); /* status line */
	evbuffer_add(b, t->vias, strlen(t->vias));
	/* The phone echoes the Record-Route we gave it (our outside address);
	 * the phone system gets the flow token instead, so its dialog's route
	 * set (§12.1.2) leads back to this very connection. */
	bool rr = m->status > 100 && m->status < 300 &&
		  (strcmp(t->method, "INVITE") == 0 || strcmp(t->method, "SUBSCRIBE") == 0 ||
		   strcmp(t->method, "REFER") == 0);
	if (rr) {
		char token[SIP_TOKEN_LEN];
		sbc_sip_token_make(s, &t->flow, token);
		evbuffer_add_printf(b, "Record-Route: <sip:%s@sbc.invalid;lr>\r\n", token);
	}
	for (int i = 0; i < m->nhdr; i++) {
		const struct sip_hdr *h = &m->hdr[i];
		if (h == top || sbc_sip_is_ours(h->name) || h->id == SIP_HDR_CONTENT_LENGTH ||
		    h->id == SIP_HDR_RECORD_ROUTE)
			continue;
		sbc_sip_put_header(b, h);
	}
	evbuffer_add_printf(b, "Content-Length: %zu\r\n\r\n", body.l);
	evbuffer_add(b, body.p, body.l);
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
		via_of(&t->flow, t->branch, via, sizeof(via));
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
			sbc_sip_flow_send(s, &t->flow, bytes, len);
		free(bytes);
	}
	evbuffer_free(b);
	free(inv);
}

void sbc_sip_down_response(struct sbc_sip *s, const struct sip_msg *m)
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
	t->status = m->status;
	deliver(s, t, m);
}

void sbc_sip_down_timers(struct sbc_sip *s, struct sip_txn *t, int64_t now)
{
	int64_t due = sip_tx_deadline(&t->tx);
	if (!t->request || t->tx.state == SIP_TX_TERMINATED || !due || now < due)
		return;
	int act = sip_tx_timer(&t->tx, now);
	if (act & SIP_TX_SEND_REQUEST)
		sbc_sip_flow_send(s, &t->flow, t->request, t->request_len);
	if ((act & SIP_TX_TIMEOUT) && t->status < 200) {
		/* no answer: 408 to the phone system, as from the phone */
		struct sip_msg *req = malloc(sizeof(*req)), *resp = malloc(sizeof(*resp));
		char out[4096];
		if (req && resp && sip_msg_parse(req, t->request, t->request_len, false) == 0) {
			struct sip_response_opts o = {.to_tag = "sbc"};
			int n = sip_build_response(req, 408, &o, out, sizeof(out));
			if (n > 0 && sip_msg_parse(resp, out, (size_t)n, false) == 0) {
				t->status = 408;
				deliver(s, t, resp);
			}
		}
		free(req);
		free(resp);
	}
}
