/*
 * sbc_sip_authlog — the failed SIP authentications only the SBC knows of,
 * logged once per burst (core_authlog, the table in sbc_block): an answer
 * to the challenge for a domain that is no phone system, and requests from
 * a blocked address (read only when their line is due, so a flood costs a
 * hash per datagram, as before). The phone systems log their own reasons
 * (pbx_regstate.c).
 */
#include <string.h>

#include "../core/core_authlog.h"
#include "../core/core_hash.h"
#include "../sip/sip_hdr.h"
#include "sbc.h"
#include "sbc_block.h"
#include "sbc_sip_int.h"

static void fill_from(struct core_authlog_event *e, const struct sip_msg *m)
{
	const struct sip_hdr *ua = sip_msg_hdr(m, SIP_HDR_USER_AGENT);
	if (ua)
		e->user_agent = ua->value.p, e->user_agent_len = ua->value.l;
	e->method = m->method.p, e->method_len = m->method.l;
}

void sbc_sip_log_unknown_domain(struct sbc_sip *s, const struct sip_flow *f,
				const struct sip_msg *m, struct sip_pl domain, struct sip_pl user)
{
	char addr[64];
	int port;
	sbc_sip_flow_addr(f, addr, sizeof(addr), &port);
	struct core_authlog_event e = {.reason = CORE_AUTHLOG_UNKNOWN_PHONE_SYSTEM,
				       .phone_system = domain.p,
				       .phone_system_len = domain.l,
				       .user = user.p,
				       .user_len = user.l,
				       .address = addr,
				       .address_len = strlen(addr)};
	fill_from(&e, m);
	core_authlog_failed(sbc_block_authlog(s->sbc->block), &e, core_now_ms());
}

void sbc_sip_log_blocked(struct sbc_sip *s, const struct sip_flow *f, const char *addr,
			 const char *buf, size_t len)
{
	struct core_authlog *l = sbc_block_authlog(s->sbc->block);
	struct core_authlog_event e = {.reason = CORE_AUTHLOG_BLOCKED_ADDRESS,
				       .address = addr,
				       .address_len = strlen(addr),
				       .detail = "dropped unanswered while the address is blocked"};
	int64_t now = core_now_ms();
	struct sip_msg *m = &s->msg;
	struct sip_addr to;
	struct sip_uri u;
	struct sip_pl rest;
	if (core_authlog_due(l, &e, now) && sip_msg_parse(m, buf, len, f->t != T_UDP) == 0 &&
	    m->request) {
		fill_from(&e, m);
		const struct sip_hdr *th = sip_msg_hdr(m, SIP_HDR_TO);
		if (th && sip_addr_parse(&to, th->value, &rest) == 0)
			e.user = to.uri.user.p, e.user_len = to.uri.user.l;
		if (sip_uri_parse(&u, m->ruri) == 0)
			e.phone_system = u.host.p, e.phone_system_len = u.host.l;
	}
	core_authlog_failed(l, &e, now);
}
