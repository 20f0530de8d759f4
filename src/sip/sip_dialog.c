/* sip_dialog — see sip_dialog.h. */
#include "sip_dialog.h"

#include <stdio.h>
#include <string.h>

#include "sip_hdr.h"

static int copy(char *dst, size_t cap, struct sip_pl v)
{
	if (v.l >= cap)
		return -1;
	if (v.l)
		memcpy(dst, v.p, v.l);
	dst[v.l] = '\0';
	return 0;
}

static int add_route(char *route, size_t cap, struct sip_pl value)
{
	size_t o = strlen(route);
	int n = snprintf(route + o, cap - o, "Route: %.*s\r\n", (int)value.l, value.p);
	return n < 0 || (size_t)n >= cap - o ? -1 : 0;
}

static struct sip_pl tag_of(const struct sip_hdr *h)
{
	struct sip_addr a;
	struct sip_pl rest, tag = {0};
	if (h && sip_addr_parse(&a, h->value, &rest) == 0)
		sip_param_get(a.params, "tag", &tag);
	return tag;
}

int sip_dialog_uas(struct sip_dialog *d, const struct sip_msg *req, const char *local_tag)
{
	const struct sip_hdr *to = sip_msg_hdr(req, SIP_HDR_TO);
	const struct sip_hdr *from = sip_msg_hdr(req, SIP_HDR_FROM);
	const struct sip_hdr *contact = sip_msg_hdr(req, SIP_HDR_CONTACT);
	const struct sip_hdr *cseq = sip_msg_hdr(req, SIP_HDR_CSEQ);
	struct sip_addr ca;
	struct sip_pl rest, meth;
	memset(d, 0, sizeof(*d));
	if (!to || !from || !contact || !cseq || sip_addr_parse(&ca, contact->value, &rest) < 0 ||
	    copy(d->call_id, sizeof(d->call_id), sip_msg_hdr(req, SIP_HDR_CALL_ID)->value) < 0 ||
	    copy(d->remote, sizeof(d->remote), from->value) < 0 ||
	    copy(d->target, sizeof(d->target), ca.uri_pl) < 0 ||
	    sip_cseq_parse(cseq->value, &d->remote_cseq, &meth) < 0)
		return -1;
	int n = snprintf(d->local, sizeof(d->local), "%.*s;tag=%s", (int)to->value.l, to->value.p,
			 local_tag);
	if (n < 0 || (size_t)n >= sizeof(d->local))
		return -1;
	snprintf(d->local_tag, sizeof(d->local_tag), "%s", local_tag);
	for (const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_RECORD_ROUTE); h;
	     h = sip_msg_hdr_next(req, h))
		if (add_route(d->route, sizeof(d->route), h->value) < 0)
			return -1;
	return 0;
}

int sip_dialog_uac(struct sip_dialog *d, const char *call_id, const char *from,
		   const char *local_tag, const char *to, const char *target, const char *route,
		   uint32_t cseq)
{
	memset(d, 0, sizeof(*d));
	int n[6] = {
		snprintf(d->call_id, sizeof(d->call_id), "%s", call_id),
		snprintf(d->local, sizeof(d->local), "%s;tag=%s", from, local_tag),
		snprintf(d->local_tag, sizeof(d->local_tag), "%s", local_tag),
		snprintf(d->remote, sizeof(d->remote), "%s", to),
		snprintf(d->target, sizeof(d->target), "%s", target),
		route && *route ? snprintf(d->route, sizeof(d->route), "Route: %s\r\n", route) : 0,
	};
	const size_t caps[6] = {sizeof(d->call_id), sizeof(d->local),  sizeof(d->local_tag),
				sizeof(d->remote),  sizeof(d->target), sizeof(d->route)};
	for (int i = 0; i < 6; i++)
		if (n[i] < 0 || (size_t)n[i] >= caps[i])
			return -1;
	d->local_cseq = cseq;
	return 0;
}

int sip_dialog_uac_answer(struct sip_dialog *d, const struct sip_msg *resp)
{
	const struct sip_hdr *to = sip_msg_hdr(resp, SIP_HDR_TO);
	const struct sip_hdr *contact = sip_msg_hdr(resp, SIP_HDR_CONTACT);
	struct sip_addr ca;
	struct sip_pl rest;
	if (!tag_of(to).l)
		return -1; /* no dialog without the other side's tag */
	if (copy(d->remote, sizeof(d->remote), to->value) < 0)
		return -1;
	if (contact && sip_addr_parse(&ca, contact->value, &rest) == 0 &&
	    copy(d->target, sizeof(d->target), ca.uri_pl) < 0)
		return -1;
	/* the route set: Record-Route in reverse order */
	const struct sip_hdr *rr[32];
	int n = 0;
	for (const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_RECORD_ROUTE); h && n < 32;
	     h = sip_msg_hdr_next(resp, h))
		rr[n++] = h;
	if (n == 0)
		return 0;
	char route[SIP_DIALOG_HDR] = "";
	for (int i = n - 1; i >= 0; i--)
		if (add_route(route, sizeof(route), rr[i]->value) < 0)
			return -1;
	memcpy(d->route, route, sizeof(route));
	return 0;
}

int sip_dialog_request(struct sip_dialog *d, const char *method, uint32_t cseq, const char *via,
		       const char *contact, const char *extra, struct sip_pl body,
		       struct sip_pl ctype, char *out, size_t cap)
{
	if (!cseq)
		cseq = ++d->local_cseq;
	int n = snprintf(out, cap,
			 "%s %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n%sFrom: %s\r\nTo: %s\r\n"
			 "Call-ID: %s\r\nCSeq: %u %s\r\n%s%s%s%s",
			 method, d->target, via, d->route, d->local, d->remote, d->call_id, cseq,
			 method, contact ? "Contact: " : "", contact ? contact : "",
			 contact ? "\r\n" : "", extra ? extra : "");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	int m = body.l ? snprintf(out + n, cap - (size_t)n,
				  "Content-Type: %.*s\r\nContent-Length: %zu\r\n\r\n", (int)ctype.l,
				  ctype.p, body.l)
		       : snprintf(out + n, cap - (size_t)n, "Content-Length: 0\r\n\r\n");
	if (m < 0 || (size_t)m >= cap - (size_t)n || (size_t)(n + m) + body.l > cap)
		return -1;
	n += m;
	if (body.l)
		memcpy(out + n, body.p, body.l);
	return n + (int)body.l;
}

bool sip_dialog_matches(const struct sip_dialog *d, const struct sip_msg *req)
{
	const struct sip_hdr *cid = sip_msg_hdr(req, SIP_HDR_CALL_ID);
	struct sip_pl theirs = {0}, rest;
	struct sip_addr ra;
	if (sip_addr_parse(&ra, (struct sip_pl){d->remote, strlen(d->remote)}, &rest) == 0)
		sip_param_get(ra.params, "tag", &theirs);
	return cid && sip_pl_eq(cid->value, d->call_id) &&
	       sip_pl_eq(tag_of(sip_msg_hdr(req, SIP_HDR_TO)), d->local_tag) &&
	       sip_pl_eq_pl(tag_of(sip_msg_hdr(req, SIP_HDR_FROM)), theirs);
}

int sip_dialog_remote_cseq(struct sip_dialog *d, const struct sip_msg *req)
{
	uint32_t n;
	struct sip_pl meth;
	if (sip_pl_eq(req->method, "ACK") || sip_pl_eq(req->method, "CANCEL"))
		return 0;
	if (sip_cseq_parse(sip_msg_hdr(req, SIP_HDR_CSEQ)->value, &n, &meth) < 0 ||
	    (d->remote_cseq && n <= d->remote_cseq))
		return -1;
	d->remote_cseq = n;
	return 0;
}
