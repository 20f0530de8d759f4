/* sip_tx — see sip_tx.h. Comments name the RFC 3261 timers. */
#include "sip_tx.h"

#include <stdio.h>
#include <string.h>

#include "sip_hdr.h"

#define SIP_64T1 (64 * SIP_T1)

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int tx_end(struct sip_tx *t)
{
	t->state = SIP_TX_TERMINATED;
	t->retx_at = t->timeout_at = t->wait_at = 0;
	return SIP_TX_DONE;
}

/* Enters a waiting state: at once on reliable transports (RFC 3261). */
static int tx_wait(struct sip_tx *t, enum sip_tx_state st, int64_t unreliable_wait, int64_t now)
{
	t->state = st;
	t->retx_at = 0;
	t->timeout_at = 0;
	if (t->reliable || unreliable_wait == 0)
		return tx_end(t);
	t->wait_at = now + unreliable_wait;
	return 0;
}

void sip_tx_client_start(struct sip_tx *t, bool invite, bool reliable, int64_t now)
{
	memset(t, 0, sizeof(*t));
	t->kind = invite ? SIP_TX_ICT : SIP_TX_NICT;
	t->state = invite ? SIP_TX_CALLING : SIP_TX_TRYING;
	t->reliable = reliable;
	t->timeout_at = now + SIP_64T1; /* Timer B / F */
	if (!reliable) {
		t->retx_interval = SIP_T1; /* Timer A / E */
		t->retx_at = now + SIP_T1;
	}
}

int sip_tx_client_response(struct sip_tx *t, int status, int64_t now)
{
	if (t->kind == SIP_TX_ICT) {
		switch (t->state) {
		case SIP_TX_CALLING:
		case SIP_TX_PROCEEDING:
			t->last_status = status;
			if (status < 200) {
				t->state = SIP_TX_PROCEEDING;
				t->retx_at = t->timeout_at = 0; /* no more A, no B */
				return SIP_TX_DELIVER;
			}
			if (status < 300) { /* RFC 6026: Accepted, Timer M */
				t->state = SIP_TX_ACCEPTED;
				t->retx_at = t->timeout_at = 0;
				t->wait_at = now + SIP_64T1;
				return SIP_TX_DELIVER;
			}
			/* Timer D: at least 32 s on unreliable transports */
			return SIP_TX_SEND_ACK | SIP_TX_DELIVER |
			       tx_wait(t, SIP_TX_COMPLETED, 32000, now);
		case SIP_TX_ACCEPTED:
			return status >= 200 && status < 300 ? SIP_TX_DELIVER : 0;
		case SIP_TX_COMPLETED:
			return status >= 300 ? SIP_TX_SEND_ACK : 0; /* absorb, ACK again */
		default:
			return 0;
		}
	}
	switch (t->state) { /* NICT */
	case SIP_TX_TRYING:
	case SIP_TX_PROCEEDING:
		t->last_status = status;
		if (status < 200) {
			t->state = SIP_TX_PROCEEDING;
			return SIP_TX_DELIVER;
		}
		return SIP_TX_DELIVER | tx_wait(t, SIP_TX_COMPLETED, SIP_T4, now); /* Timer K */
	default:
		return 0; /* retransmitted finals are absorbed */
	}
}

void sip_tx_server_start(struct sip_tx *t, bool invite, bool reliable, int64_t now)
{
	(void)now;
	memset(t, 0, sizeof(*t));
	t->kind = invite ? SIP_TX_IST : SIP_TX_NIST;
	t->state = invite ? SIP_TX_PROCEEDING : SIP_TX_TRYING;
	t->reliable = reliable;
	t->timer_j = SIP_64T1;
}

int sip_tx_server_request(struct sip_tx *t, bool is_ack, int64_t now)
{
	if (t->kind == SIP_TX_IST) {
		if (is_ack) {
			if (t->state == SIP_TX_COMPLETED)
				return tx_wait(t, SIP_TX_CONFIRMED, SIP_T4, now); /* Timer I */
			/* the ACK of a 2xx belongs to the dialog, not to us */
			if (t->state != SIP_TX_ACCEPTED)
				return 0;
			if (t->resend_2xx && t->retx_at) { /* resending stops; T4 for stragglers */
				t->retx_at = 0;
				t->wait_at = min64(t->wait_at, now + SIP_T4);
			}
			return SIP_TX_DELIVER;
		}
		if (t->state == SIP_TX_PROCEEDING)
			return t->last_status ? SIP_TX_SEND_RESPONSE : 0;
		if (t->state == SIP_TX_ACCEPTED)
			return t->resend_2xx ? SIP_TX_SEND_RESPONSE : 0;
		return t->state == SIP_TX_COMPLETED ? SIP_TX_SEND_RESPONSE : 0;
	}
	if (is_ack)
		return 0;
	/* NIST: resend the last response; in Trying there is none yet */
	return t->state == SIP_TX_PROCEEDING || t->state == SIP_TX_COMPLETED ? SIP_TX_SEND_RESPONSE
									     : 0;
}

int sip_tx_server_respond(struct sip_tx *t, int status, int64_t now)
{
	if (status < 100 || status > 699)
		return -1;
	if (t->kind == SIP_TX_IST) {
		if (t->state == SIP_TX_ACCEPTED && status >= 200 && status < 300)
			return SIP_TX_SEND_RESPONSE; /* the user retransmits its 2xx */
		if (t->state != SIP_TX_PROCEEDING)
			return -1;
		t->last_status = status;
		if (status < 200)
			return SIP_TX_SEND_RESPONSE;
		if (status < 300) { /* RFC 6026: Accepted, Timer L */
			t->state = SIP_TX_ACCEPTED;
			t->wait_at = now + SIP_64T1;
			if (t->resend_2xx && !t->reliable) { /* as Timer G, for the 2xx */
				t->retx_interval = SIP_T1;
				t->retx_at = now + SIP_T1;
			}
			return SIP_TX_SEND_RESPONSE;
		}
		t->state = SIP_TX_COMPLETED;
		t->timeout_at = now + SIP_64T1; /* Timer H */
		if (!t->reliable) {
			t->retx_interval = SIP_T1; /* Timer G */
			t->retx_at = now + SIP_T1;
		}
		return SIP_TX_SEND_RESPONSE;
	}
	if (t->state != SIP_TX_TRYING && t->state != SIP_TX_PROCEEDING)
		return -1;
	t->last_status = status;
	if (status < 200) {
		t->state = SIP_TX_PROCEEDING;
		return SIP_TX_SEND_RESPONSE;
	}
	return SIP_TX_SEND_RESPONSE | tx_wait(t, SIP_TX_COMPLETED, t->timer_j, now); /* Timer J */
}

int sip_tx_timer(struct sip_tx *t, int64_t now)
{
	int act = 0;
	if (t->wait_at && now >= t->wait_at) /* D, K, I, J, L, M */
		return tx_end(t);
	if (t->timeout_at && now >= t->timeout_at) { /* B, F, H */
		tx_end(t);
		return SIP_TX_TIMEOUT | SIP_TX_DONE;
	}
	if (t->retx_at && now >= t->retx_at) {
		if (t->kind == SIP_TX_ICT) { /* A: doubles without bound */
			t->retx_interval *= 2;
			act = SIP_TX_SEND_REQUEST;
		} else if (t->kind == SIP_TX_NICT) { /* E: doubles up to T2; T2 once Proceeding */
			t->retx_interval = t->state == SIP_TX_PROCEEDING
						   ? SIP_T2
						   : min64(t->retx_interval * 2, SIP_T2);
			act = SIP_TX_SEND_REQUEST;
		} else { /* G: doubles up to T2 */
			t->retx_interval = min64(t->retx_interval * 2, SIP_T2);
			act = SIP_TX_SEND_RESPONSE;
		}
		t->retx_at = now + t->retx_interval;
	}
	return act;
}

int64_t sip_tx_deadline(const struct sip_tx *t)
{
	int64_t d = 0;
	const int64_t all[3] = {t->retx_at, t->timeout_at, t->wait_at};
	for (int i = 0; i < 3; i++)
		if (all[i] && (!d || all[i] < d))
			d = all[i];
	return d;
}

int sip_tx_key(const struct sip_msg *m, bool server, char *out, size_t cap)
{
	const struct sip_hdr *vh = sip_msg_hdr(m, SIP_HDR_VIA);
	const struct sip_hdr *cs = sip_msg_hdr(m, SIP_HDR_CSEQ);
	struct sip_via v;
	struct sip_pl rest, branch, method;
	uint32_t num;
	if (!vh || !cs || sip_via_parse(&v, vh->value, &rest) < 0 ||
	    !sip_param_get(v.params, "branch", &branch) || branch.l <= 7 ||
	    strncmp(branch.p, "z9hG4bK", 7) != 0 || sip_cseq_parse(cs->value, &num, &method) < 0)
		return -1;
	/* An ACK (to a non-2xx) and a CANCEL share the INVITE's branch; only ACK matches it. */
	if (sip_pl_eq(method, "ACK"))
		method = (struct sip_pl){"INVITE", 6};
	int n = server ? snprintf(out, cap, "%.*s|%.*s:%d|%.*s", (int)branch.l, branch.p,
				  (int)v.host.l, v.host.p, v.port, (int)method.l, method.p)
		       : snprintf(out, cap, "%.*s|%.*s", (int)branch.l, branch.p, (int)method.l,
				  method.p);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}
