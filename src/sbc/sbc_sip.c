/*
 * sbc_sip — SIP at the SBC: TLS on 5061, and plain UDP and TCP on 5060 when
 * switched on. This file: sockets and connections, the links to the phone
 * systems' Unix sockets, and the first look at a request from a phone: it
 * is checked, answered from memory when it is a retransmission of one we
 * remember, and routed to a phone system by its domain; the proxy step
 * itself, in both directions, is sbc_sip_relay.c's (which reaches this
 * file only through s->io). Headers named X-Zentrale-* are ours: a
 * client's are dropped. A domain that is no phone system gets the answers
 * a phone system gives a user it does not have, so scanners learn nothing.
 * Relay ports are reserved only for SDP within INVITE, UPDATE and PRACK
 * transactions (sbc_media.h). The trunk sockets (sip-trunk-udp, 5062) take
 * requests only from the addresses of a phone system's trunk (sbc_trunk.h),
 * a foreign source gets 403 and counts towards its block; what a phone
 * system sends to a carrier leaves from them. Overloaded (sbc_load.h), it answers new
 * requests 503 before any work is done for them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <sodium.h>

#include "../core/core_auth.h"
#include "../core/core_conn.h"
#include "../core/core_hash.h"
#include "../core/core_log.h"
#include "../core/core_net.h"
#include "../core/core_sipstream.h"
#include "../core/core_tls.h"
#include "../sip/sip_auth.h"
#include "../sip/sip_build.h"
#include "../sip/sip_hdr.h"
#include "../sip/sip_tx.h"
#include "sbc.h"
#include "sbc_block.h"
#include "sbc_dtmf.h"
#include "sbc_load.h"
#include "sbc_media.h"
#include "sbc_nat.h"
#include "sbc_sip.h"
#include "sbc_sip_int.h"
#include "sbc_trace.h"
#include "sbc_trunk.h"

#define tname sbc_sip_tname

#define flow_addr sbc_sip_flow_addr

static struct sip_conn *conn_find(struct sbc_sip *s, uint64_t id)
{
	struct core_conn *c = core_conn_find(s->streams, id);
	return c ? core_conn_state(c) : NULL;
}

static int flow_send_raw(struct sbc_sip *s, const struct sip_flow *f, const char *buf, size_t len)
{
	if (f->t == T_UDP) {
		if (f->udp >= s->nudp)
			return -1;
		/* From the address the phone sent to: a socket on a wildcard
		 * address would otherwise answer from whichever the route picks,
		 * and the phone (or its NAT) would not take it. */
		struct iovec iov = {(void *)buf, len};
		struct msghdr mh = {.msg_name = (void *)&f->addr,
				    .msg_namelen = f->alen,
				    .msg_iov = &iov,
				    .msg_iovlen = 1};
		union {
			char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} ctl;
		memset(&ctl, 0, sizeof(ctl));
		if (s->udp_wildcard[f->udp]) {
			mh.msg_control = ctl.b;
			struct cmsghdr *c = (struct cmsghdr *)ctl.b;
			if (f->local.ss_family == AF_INET6) {
				struct in6_pktinfo pi = {
					.ipi6_addr = ((const struct sockaddr_in6 *)&f->local)
							     ->sin6_addr};
				c->cmsg_level = IPPROTO_IPV6;
				c->cmsg_type = IPV6_PKTINFO;
				c->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(c), &pi, sizeof(pi));
				mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			} else {
				struct in_pktinfo pi = {
					.ipi_spec_dst =
						((const struct sockaddr_in *)&f->local)->sin_addr};
				c->cmsg_level = IPPROTO_IP;
				c->cmsg_type = IP_PKTINFO;
				c->cmsg_len = CMSG_LEN(sizeof(pi));
				memcpy(CMSG_DATA(c), &pi, sizeof(pi));
				mh.msg_controllen = CMSG_SPACE(sizeof(pi));
			}
		}
		if (sendmsg(s->udp_fd[f->udp], &mh, MSG_DONTWAIT) < 0)
			log_debug("sip: sendmsg: %s", strerror(errno));
		return 0;
	}
	struct sip_conn *c = conn_find(s, f->conn);
	if (!c) /* a connection that has gone takes its answers with it */
		return -1;
	evbuffer_add(core_conn_output(c->conn), buf, len);
	return 0;
}

/* What goes to a phone, into the traces of the phone system being served. */
static int flow_send_traced(struct sbc_sip *s, const struct sip_flow *f, const char *buf,
			    size_t len)
{
	if (s->cur_ps && sbc_trace_wants(s->sbc->trace, s->cur_ps))
		sbc_trace_sip(s->sbc->trace, s->cur_ps, buf, len, &f->local, &f->addr);
	return flow_send_raw(s, f, buf, len);
}

/* Our own answer to a request that goes no further, with this To tag. */
static void answer_tagged(struct sbc_sip *s, const struct sip_flow *f, const struct sip_msg *m,
			  int status, const char *extra, const char *tag)
{
	char addr[64];
	int port;
	if (!m->request || sip_pl_eq(m->method, "ACK"))
		return;
	flow_addr(f, addr, sizeof(addr), &port);
	struct sip_response_opts o = {
		.to_tag = tag, .extra_headers = extra, .src_addr = addr, .src_port = port};
	char *out = malloc(SIP_ANSWER_MAX);
	int n = out ? sip_build_response(m, status, &o, out, SIP_ANSWER_MAX) : -1;
	if (n > 0)
		flow_send_traced(s, f, out, (size_t)n);
	else
		log_warn("sip: no room for a %d answer; dropped", status);
	free(out);
}

/* Our own answer to a request that goes no further. */
static void sbc_sip_answer(struct sbc_sip *s, const struct sip_flow *f, const struct sip_msg *m,
			   int status, const char *extra)
{
	char tag[SIP_TAG_LEN + 1];
	sip_build_tag(tag); /* as a phone system's */
	answer_tagged(s, f, m, status, extra, tag);
}

/* As a phone system answers outside a dialog (405, 481): without a To tag. */
static void sbc_sip_answer_untagged(struct sbc_sip *s, const struct sip_flow *f,
				    const struct sip_msg *m, int status)
{
	char addr[64];
	int port;
	flow_addr(f, addr, sizeof(addr), &port);
	struct sip_response_opts o = {.src_addr = addr, .src_port = port};
	char *out = malloc(SIP_ANSWER_MAX);
	int n = out ? sip_build_response(m, status, &o, out, SIP_ANSWER_MAX) : -1;
	if (n > 0)
		flow_send_traced(s, f, out, (size_t)n);
	free(out);
}

/* ---- load shedding (sbc_load.h) ---- */

/* What the receive path measured, for the state machine; a change is logged. */
static void load_sample(struct sbc_sip *s, int64_t wait_ms)
{
	bool was = s->load.shedding;
	if (sbc_load_sample(&s->load, wait_ms, s->pending, core_now_ms()) == was)
		return;
	if (!was)
		log_warn("sip: overloaded (datagrams waited %lld ms to be read, %d requests "
			 "unanswered by the phone systems): new requests outside a dialog are "
			 "answered 503",
			 (long long)s->load.last_wait, s->pending);
	else
		log_warn("sip: no longer overloaded; %llu requests answered 503 so far",
			 (unsigned long long)s->load.shed);
}

static struct sip_pl to_tag(const struct sip_msg *m)
{
	struct sip_addr to;
	struct sip_pl rest, tag = {0};
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		sip_param_get(to.params, "tag", &tag);
	return tag;
}

/* The To tag of our 503 to a shed request, 16 hex digits like every other:
 * a keyed hash of its Call-ID, so its ACK is known again without
 * remembering anything (as Kamailio's sl module knows the ACKs of its own
 * stateless answers). */
static void shed_tag(struct sbc_sip *s, struct sip_pl call_id, char out[SIP_TAG_LEN + 1])
{
	unsigned char h[crypto_shorthash_BYTES];
	_Static_assert(2 * crypto_shorthash_BYTES == SIP_TAG_LEN, "a tag is a whole hash");
	crypto_shorthash(h, (const unsigned char *)call_id.p, call_id.l, s->shed_key);
	sodium_bin2hex(out, SIP_TAG_LEN + 1, h, sizeof(h));
}

/* The ACK of our 503 to a shed request: nobody behind us knows of it. */
static bool acks_shed(struct sbc_sip *s, const struct sip_msg *m)
{
	struct sip_pl tag = to_tag(m);
	char want[SIP_TAG_LEN + 1];
	if (tag.l != SIP_TAG_LEN)
		return false;
	shed_tag(s, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, want);
	return memcmp(tag.p, want, SIP_TAG_LEN) == 0;
}

/* Overloaded: a new request outside a dialog is answered 503 with a short,
 * jittered Retry-After, before it is routed, authenticated or given media.
 * Whether it was. */
static bool shed(struct sbc_sip *s, const struct sip_flow *f, const struct sip_msg *m)
{
	if (!s->load.shedding || !sbc_load_sheds(&s->load, m->method, to_tag(m).l > 0))
		return false;
	char tag[SIP_TAG_LEN + 1], extra[64];
	shed_tag(s, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value, tag);
	snprintf(extra, sizeof(extra), "Retry-After: %d\r\n",
		 sbc_load_shed(&s->load, randombytes_random()));
	answer_tagged(s, f, m, 503, extra, tag);
	return true;
}

/* ---- remembered requests ---- */

#define txn_by_key sbc_sip_txn_by_key

#define txn_free sbc_sip_txn_free

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_sip *s = arg;
	int64_t now = core_now_ms();
	(void)fd;
	(void)what;
	load_sample(s, -1); /* shedding ends also when nothing comes */
	struct sip_txn_list due = LIST_HEAD_INITIALIZER(due);
	sbc_sip_txn_due(s, now, &due); /* only what is due: the rest is not walked */
	struct sip_txn *t;
	while ((t = sbc_sip_txn_next_due(&due))) {
		sbc_sip_relay_timers(s, t, now);
		if (t->forget_at <= now) {
			if (t->pending)
				s->pending--;
			/* no final answer (Timer B, or C once it rang), either way:
			 * what it reserved goes, as when it fails */
			if (t->status < 200 && t->call_id) {
				struct sip_pl cid = {t->call_id, t->call_id_len};
				sbc_media_settle(s->media, cid, t->cseq,
						 (struct sip_pl){t->method, strlen(t->method)},
						 false);
				if (strcmp(t->method, "INVITE") == 0)
					sbc_media_end(s->media, cid, true);
			}
			sbc_sip_txn_forget(s, t->pprev);
		} else {
			sbc_sip_txn_checked(s, t, now);
		}
	}
}

/* ---- phone systems ---- */

static void auth_failed(struct sbc_sip *s, const struct sip_flow *f);
static void conn_accepted(struct sbc_sip *s, const struct sip_txn *t, int status);
static void up_on_read(struct bufferevent *bev, void *arg);
static void up_on_event(struct bufferevent *bev, short what, void *arg);

static void up_free(struct sip_up *u)
{
	/* what it was to answer never will be: no longer a backlog (sbc_load.h) */
	for (struct sip_txn *t = u->s->txns; t && u->s->pending; t = t->next)
		if (t->pending && strcmp(t->up, u->name) == 0) {
			t->pending = false;
			u->s->pending--;
		}
	for (struct sip_up **pp = &u->s->ups; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	bufferevent_free(u->bev);
	free(u);
}

static struct sip_up *up_get(struct sbc_sip *s, const char *name, const char *sock)
{
	for (struct sip_up *u = s->ups; u; u = u->next)
		if (strcmp(u->name, name) == 0)
			return u;
	int fd = sock ? core_net_connect_unix(sock) : -1;
	if (fd < 0)
		return NULL;
	struct sip_up *u = calloc(1, sizeof(*u));
	if (!u) {
		close(fd);
		return NULL;
	}
	u->bev = bufferevent_socket_new(s->sbc->child.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!u->bev) {
		close(fd);
		free(u);
		return NULL;
	}
	u->s = s;
	snprintf(u->name, sizeof(u->name), "%s", name);
	bufferevent_setcb(u->bev, up_on_read, NULL, up_on_event, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	u->next = s->ups;
	s->ups = u;
	return u;
}

void sbc_sip_up_send(struct sip_up *u, struct evbuffer *msg)
{
	struct evbuffer *out = bufferevent_get_output(u->bev);
	if (evbuffer_get_length(out) == 0) /* an error or EAGAIN: the queue will tell */
		while (evbuffer_get_length(msg) > 0 &&
		       evbuffer_write(msg, bufferevent_getfd(u->bev)) > 0)
			;
	if (evbuffer_get_length(msg) > 0 && bufferevent_write_buffer(u->bev, msg) < 0)
		evbuffer_drain(msg, evbuffer_get_length(msg)); /* out of memory: not kept */
}

/* A media event for phone system ps about call call_id: a NOTIFY of our
 * own over its link (event names the X-Zentrale-Event, type the body's
 * Content-Type when there is a body). */
static void notify_pbx(struct sbc_sip *s, const char *ps, struct sip_pl call_id, const char *event,
		       const char *type, const char *body)
{
	struct sip_up *u = up_get(s, ps, NULL);
	char branch[48];
	if (!u)
		return;
	sbc_sip_new_branch(branch);
	struct evbuffer *out = bufferevent_get_output(u->bev);
	evbuffer_add_printf(
		out,
		"NOTIFY sip:pbx@%s SIP/2.0\r\nVia: SIP/2.0/TCP sbc.invalid;branch=%s\r\n"
		"Max-Forwards: 1\r\nFrom: <sip:sbc@sbc.invalid>;tag=media\r\n"
		"To: <sip:pbx@%s>\r\nCall-ID: %.*s\r\nCSeq: 1 NOTIFY\r\n"
		"Event: x-zentrale-%s\r\nX-Zentrale-Event: %s\r\n",
		ps, branch, ps, (int)call_id.l, call_id.p, event, event);
	if (type)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", type);
	evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
}

/* No media on an answered call: its phone system ends it (BYE to both). */
static void on_media_timeout(void *arg, const char *ps, struct sip_pl call_id)
{
	notify_pbx(arg, ps, call_id, "media-timeout", NULL, "");
}

/* A digit the phone side sent as RFC 4733 towards a trunk that takes DTMF
 * as INFO (sbc_media, sbc_dtmf): the phone system owns that dialog, so it
 * sends the INFO; told with the trunk leg's Call-ID and the INFO's body. */
static void on_media_dtmf(void *arg, const char *ps, struct sip_pl call_id, char digit, int ms)
{
	char body[64];
	if (sbc_dtmf_info_body(digit, ms, body, sizeof(body)) >= 0)
		notify_pbx(arg, ps, call_id, "dtmf", "application/dtmf-relay", body);
}

void sbc_sip_configure_media(struct sbc_sip *s, const struct core_state_media *cfg)
{
	sbc_media_configure(s->media, cfg);
}

static void up_on_read(struct bufferevent *bev, void *arg)
{
	struct sip_up *u = arg;
	struct sbc_sip *s = u->s;
	struct evbuffer *in = bufferevent_get_input(bev);
	int r;
	while ((r = core_sipstream_next(in, &s->msg)) == 1) {
		s->cur_ps = u->name;
		if (!s->msg.request)
			sbc_sip_relay_answer_from_ps(s, &s->msg);
		else
			sbc_sip_relay_from_ps(s, u, &s->msg);
		s->cur_ps = NULL;
		evbuffer_drain(in, s->msg.raw.l);
	}
	if (r > 1) {
		log_error("sip: unreadable message from phone system %s (%s)", u->name,
			  sip_msg_error());
		up_free(u);
	}
}

static void up_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	up_free(arg); /* reconnected on the next request */
}

/* ---- routing ---- */

/* The phone system a request is for: the Request-URI's host, else To's;
 * with a single phone system, that one. */
static const char *route(struct sbc_sip *s, const struct sip_msg *m, struct sip_pl *domain,
			 const char **sock, bool *exists)
{
	struct sip_uri u;
	struct sip_addr to;
	struct sip_pl rest;
	*sock = NULL;
	*exists = false;
	struct sip_pl cands[2] = {{0}};
	if (sip_uri_parse(&u, m->ruri) == 0)
		cands[0] = u.host;
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		cands[1] = to.uri.host;
	*domain = cands[0].l ? cands[0] : cands[1];
	for (int i = 0; i < 2; i++) {
		if (!cands[i].l)
			continue;
		const char *name = sbc_route_sip(s->sbc, cands[i].p, cands[i].l, sock, exists);
		if (*exists)
			return name;
	}
	return sbc_route_single(s->sbc, sock, exists);
}

/* A request from this flow failed authentication. */
static void auth_failed(struct sbc_sip *s, const struct sip_flow *f)
{
	char addr[64];
	int port;
	flow_addr(f, addr, sizeof(addr), &port);
	sbc_block_failed(s->sbc->block, addr);
}

/* No such phone system: answer as a phone system answers (pbx_sip.c,
 * pbx_call.c, pbx_registrar.c) a request for a user it does not have, the
 * same status, headers and tag, so scanners learn nothing: OPTIONS 200;
 * REGISTER and INVITE the digest challenge, 403 to a fresh answer to it;
 * CANCEL and requests within a dialog 481; other requests 405. */
static void answer_unknown_domain(struct sbc_sip *s, const struct sip_flow *f,
				  const struct sip_msg *m, struct sip_pl domain)
{
	char realm[256], nonce[SIP_NONCE_LEN], c1[512], c2[512], extra[1200];
	struct sip_addr to;
	struct sip_pl rest, tag = {0};
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		sip_param_get(to.params, "tag", &tag);
	if (sip_pl_eq(m->method, "OPTIONS")) {
		sbc_sip_answer(s, f, m, 200, SIP_OPTIONS_HEADERS);
		return;
	}
	if (sip_pl_eq(m->method, "CANCEL") || (tag.l && !sip_pl_eq(m->method, "REGISTER"))) {
		sbc_sip_answer_untagged(s, f, m, 481);
		return;
	}
	if (!sip_pl_eq(m->method, "REGISTER") && !sip_pl_eq(m->method, "INVITE")) {
		sbc_sip_answer_untagged(s, f, m, 405);
		return;
	}
	if (domain.l >= sizeof(realm)) { /* no DNS name: no phone system's either */
		sbc_sip_answer(s, f, m, 400, NULL);
		return;
	}
	snprintf(realm, sizeof(realm), "%.*s", (int)domain.l, domain.p);
	for (char *p = realm; *p; p++)
		if (*p == '"' || *p == '\\')
			*p = '_';
	time_t now = time(NULL);
	const struct sip_hdr *ah = sip_msg_hdr(m, SIP_HDR_AUTHORIZATION);
	struct sip_auth_creds c;
	bool stale = false;
	if (ah && sip_auth_parse(ah->value, &c) == 0 && sip_pl_eq(c.realm, realm)) {
		int fresh = sip_nonces_check(s->nonces, realm, c.nonce, now);
		int alg = sip_auth_alg(c.algorithm);
		char want[SIP_AUTH_HEX_MAX];
		stale = fresh > 0;
		if (fresh == 0 && alg >= 0 &&
		    sip_auth_response(alg, "00000000000000000000000000000000", m->method, &c,
				      want) == 0) {
			sbc_sip_answer(s, f, m, 403, NULL); /* as for a user it does not have */
			sbc_sip_log_unknown_domain(s, f, m, domain, c.username);
			auth_failed(s, f);
			return;
		}
	}
	sip_nonces_make(s->nonces, realm, now, nonce);
	sip_auth_challenge(0, realm, nonce, stale, c1, sizeof(c1));
	sip_auth_challenge(1, realm, nonce, stale, c2, sizeof(c2));
	snprintf(extra, sizeof(extra), "WWW-Authenticate: %s\r\nWWW-Authenticate: %s\r\n", c1, c2);
	sbc_sip_answer(s, f, m, 401, extra);
}

/* The phone system a request on a trunk socket is for: the trunk its
 * Request-URI names (our Contact and Record-Route towards a carrier carry
 * the trunk's key), else the first trunk whose carrier has the source
 * address; the source must be one of that trunk's carrier addresses.
 * NULL (logged, counted towards the source's block) when it is none:
 * else its name and socket, and the trunk's key in f. */
static const char *trunk_of(struct sbc_sip *s, struct sip_flow *f, const struct sip_msg *m,
			    const char *addr, const char **sock)
{
	const struct sbc_trunk *tr = NULL, *by_addr;
	struct sip_uri u;
	if (!s->sbc->trunks)
		goto refused;
	by_addr = sbc_trunks_by_addr(s->sbc->trunks, (const struct sockaddr *)&f->addr);
	if (sip_uri_parse(&u, m->ruri) == 0 && u.user.l == SBC_TRUNK_KEY_LEN)
		tr = sbc_trunks_by_key(s->sbc->trunks, u.user.p, u.user.l);
	if (tr && !sbc_trunk_has_addr(tr, (const struct sockaddr *)&f->addr))
		tr = NULL; /* that trunk's, but not from its carrier */
	else if (!tr)
		tr = by_addr;
	if (!tr)
		goto refused;
	bool exists;
	const char *name = sbc_route_sip(s->sbc, tr->ps, strlen(tr->ps), sock, &exists);
	if (!exists || sbc_sip_flow_set_trunk(f, tr->key) < 0)
		goto refused;
	return name;
refused:
	log_info("sip: a %.*s on a trunk socket from %s, which is no carrier's: 403",
		 (int)m->method.l, m->method.p, addr);
	sbc_block_failed(s->sbc->block, addr);
	return NULL;
}

/* Whether a message came on a carrier's side: a trunk socket, a trunk
 * listener's connection, or one we opened to a carrier. */
static bool trunk_side(struct sbc_sip *s, const struct sip_flow *f)
{
	if (f->t == T_UDP)
		return f->udp < s->nudp && s->udp_trunk[f->udp];
	struct sip_conn *c = conn_find(s, f->conn);
	return c && c->trunk;
}

/* A message from a phone; wait_ms: how long it waited to be read (-1: not known). */
static void on_message(struct sbc_sip *s, const struct sip_flow *f, const char *buf, size_t len,
		       int64_t wait_ms)
{
	struct sip_msg *m = &s->msg;
	char addr[64];
	int port;
	load_sample(s, wait_ms);
	flow_addr(f, addr, sizeof(addr), &port);
	if (sbc_block_is_blocked(s->sbc->block, addr)) {
		sbc_sip_log_blocked(s, f, addr, buf, len);
		return; /* blocked: not a word */
	}
	int r = sip_msg_parse(m, buf, len, f->t != T_UDP);
	if (r == 0)
		r = sip_msg_validate(m);
	if (r) {
		/* answer what can be answered; the rest is dropped */
		if (m->request && sip_msg_hdr(m, SIP_HDR_VIA) && sip_msg_hdr(m, SIP_HDR_CSEQ) &&
		    sip_msg_hdr(m, SIP_HDR_CALL_ID) && sip_msg_hdr(m, SIP_HDR_FROM) &&
		    sip_msg_hdr(m, SIP_HDR_TO))
			sbc_sip_answer(s, f, m, r, NULL);
		return;
	}
	if (!m->request) {
		sbc_sip_relay_answer_from_phone(s, m);
		return;
	}
	const struct sip_hdr *mf = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	if (mf && sip_pl_u64(mf->value, 255) == 0) {
		sbc_sip_answer(s, f, m, 483, NULL);
		return;
	}
	char *key = malloc(len + 64); /* a key is shorter than its message: whole */
	if (!key)
		return;
	if (sip_tx_key(m, true, key, len + 64) < 0) {
		sbc_sip_answer(s, f, m, 400, NULL); /* RFC 2543 clients are not served */
		goto out;
	}
	bool ack = sip_pl_eq(m->method, "ACK");
	struct sip_txn *t = ack ? NULL : txn_by_key(s, key, false);
	if (t) { /* a retransmission: the last answer again, or patience */
		sbc_sip_relay_again(s, t);
		goto out;
	}
	if (ack ? acks_shed(s, m) : shed(s, f, m))
		goto out; /* shed now, or the ACK of a 503 that shed it */
	if (!ack && sbc_sip_has_sdp(m) && !sbc_sip_relays_sdp(m->method)) {
		/* SDP is relayed (ports reserved) only for INVITE, UPDATE, PRACK
		 * and ACK: refused alike whether or not the domain exists */
		sbc_sip_answer(s, f, m, 488, "Warning: 399 sbc \"No SDP in this request\"\r\n");
		goto out;
	}
	struct sip_pl domain;
	const char *sock;
	bool exists;
	struct sip_flow tf;
	const char *name;
	if (trunk_side(s, f)) {
		tf = *f;
		if (!(name = trunk_of(s, &tf, m, addr, &sock))) {
			if (!ack)
				sbc_sip_answer(s, f, m, 403, NULL);
			goto out;
		}
		if (sip_pl_eq(m->method, "OPTIONS") && to_tag(m).l == 0) {
			sbc_sip_answer(s, f, m, 200, SIP_OPTIONS_HEADERS); /* a carrier's ping */
			goto out;
		}
		f = &tf;
		exists = true;
	} else {
		name = route(s, m, &domain, &sock, &exists);
	}
	if (!exists) {
		if (!ack)
			answer_unknown_domain(s, f, m, domain);
		goto out;
	}
	if (sbc_trace_wants(s->sbc->trace, name))
		sbc_trace_sip(s->sbc->trace, name, buf, len, &f->addr, &f->local);
	s->cur_ps = name;
	if (!sock)
		sbc_sip_answer(s, f, m, 503, "Retry-After: 5\r\n"); /* stopped or restarting */
	else
		sbc_sip_relay_from_phone(s, f, m, name, sock, key);
	s->cur_ps = NULL;
out:
	free(key);
}

/* ---- UDP ---- */

/* Our address a datagram was sent to (the socket may listen on any), and
 * how long it waited in the receive queue in ms (-1: not known). */
static void udp_local(struct msghdr *mh, struct sockaddr_storage *local, int64_t *wait_ms)
{
	*wait_ms = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec at, now;
			memcpy(&at, CMSG_DATA(c), sizeof(at));
			clock_gettime(CLOCK_REALTIME, &now);
			int64_t w = (now.tv_sec - at.tv_sec) * 1000 +
				    (now.tv_nsec - at.tv_nsec) / 1000000;
			*wait_ms = w > 0 ? w : 0; /* a clock stepped back: no wait */
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   local->ss_family == AF_INET6) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in6 *)local)->sin6_addr = pi.ipi6_addr;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
			   local->ss_family == AF_INET) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)local)->sin_addr = pi.ipi_addr;
		}
	}
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct sbc_sip *s = arg;
	static char buf[SIP_MAX_MESSAGE + 1];
	(void)what;
	int idx = 0;
	while (idx < s->nudp && s->udp_fd[idx] != fd)
		idx++;
	for (int i = 0; i < 64; i++) {
		struct sip_flow f = {.t = T_UDP, .udp = idx};
		char cbuf[256]; /* the local address and the receive time */
		struct iovec iov = {buf, sizeof(buf) - 1};
		struct msghdr mh = {.msg_name = &f.addr,
				    .msg_namelen = sizeof(f.addr),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n <= 0)
			return;
		f.alen = mh.msg_namelen;
		f.local = s->udp_local[idx];
		int64_t wait;
		udp_local(&mh, &f.local, &wait);
		if (n == 4 && memcmp(buf, "\r\n\r\n", 4) == 0)
			continue; /* a NAT keep-alive (RFC 5626) */
		if (sbc_nat_stun_input(s->sbc->nat, idx, &f.addr, (const uint8_t *)buf, (size_t)n))
			continue; /* the answer to our STUN request (sbc_nat_stun.c) */
		if (s->test_delay_ms)
			usleep((useconds_t)s->test_delay_ms * 1000);
		on_message(s, &f, buf, (size_t)n, wait);
	}
}

/* ---- TCP and TLS ---- */

/* The phone system accepted a request that came on this connection: a 2xx
 * to REGISTER or INVITE, or a 1xx other than 100 to an INVITE (it answers
 * those only once the caller has authenticated; OPTIONS it answers without).
 * Such a connection may be silent SIP_CONN_IDLE; others only idle_unauth. */
static void conn_accepted(struct sbc_sip *s, const struct sip_txn *t, int status)
{
	bool invite = strcmp(t->method, "INVITE") == 0;
	bool ok =
		(status >= 200 && status < 300 && (invite || strcmp(t->method, "REGISTER") == 0)) ||
		(invite && status > 100 && status < 200);
	if (!ok || t->flow.t == T_UDP)
		return;
	struct sip_conn *c = conn_find(s, t->flow.conn);
	if (c && !c->accepted) {
		c->accepted = true;
		core_conn_set_idle(c->conn, SIP_CONN_IDLE);
	}
}

static int conn_on_read(struct core_conn *conn, void *st, struct evbuffer *in)
{
	struct sip_conn *c = st;
	struct sbc_sip *s = c->s;
	socklen_t alen;
	const struct sockaddr_storage *addr = core_conn_addr(conn, &alen);
	struct sip_flow f = {.t = c->t,
			     .conn = core_conn_id(conn),
			     .addr = *addr,
			     .alen = alen,
			     .local = *core_conn_local(conn),
			     .trunk = c->ours};
	memcpy(f.tkey, c->tkey, sizeof(f.tkey));
	int r;
	/* a message framed whole but faulty (a control character, say) is
	 * answered (400) like any other, and the connection goes on */
	while ((r = core_sipstream_next(in, &s->msg)) == 1 || (r > 1 && s->msg.raw.l)) {
		size_t used = s->msg.raw.l;
		on_message(s, &f, s->msg.raw.p, used, -1);
		evbuffer_drain(in, used);
	}
	if (r > 1) { /* cannot find the next message boundary: answer if we can, close */
		log_info("sip: %s client sent a broken message (%s), closing", tname[c->t],
			 sip_msg_error());
		return -1;
	}
	return 0;
}

static void *conn_on_open(struct core_conn *conn, void *arg)
{
	struct sbc_sip *s = arg;
	struct sip_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->conn = conn;
	c->t = core_conn_is_tls(conn) ? T_TLS : T_TCP;
	int port = core_net_ss_port(core_conn_local(conn));
	for (int i = 0; i < s->ntrunk_ports; i++)
		c->trunk = c->trunk || s->trunk_ports[i] == port;
	sbc_connection_opened(s->sbc);
	return c;
}

/* A connection we opened to a carrier has gone (refused, a certificate we
 * do not trust, closed): what waits for its answers gets 503 now, not
 * after Timer B; the next request opens another. */
static void conn_on_close(struct core_conn *conn, void *st)
{
	struct sip_conn *c = st;
	if (c->ours) {
		struct sbc_sip *s = c->s;
		uint64_t id = core_conn_id(conn);
		log_info("sip: the %s connection to carrier %s has closed", tname[c->t],
			 core_conn_peer(conn));
		for (struct sip_txn *t = s->txns; t; t = t->next)
			if (t->down && t->flow.conn == id && t->flow.t != T_UDP && t->status < 200)
				sbc_sip_relay_fail(s, t, 503);
	}
	free(st);
}

/* 5061 TLS and 5060 TCP: one service, so one per-address limit for both.
 * TLS: the handshake within `handshake` seconds, then as on TCP the short
 * idle timeout until the phone system accepted something (conn_accepted). */
static const struct core_conn_desc sip_streams = {
	.name = "sip",
	.max_conns = SIP_MAX_CONNS,
	.per_address = SIP_PER_ADDRESS,
	.handshake = SIP_TLS_HANDSHAKE,
	.idle = SIP_CONN_IDLE_UNAUTH,
	.out_high = SIP_OUT_HIGH,
	.out_low = SIP_OUT_HIGH / 4,
	.on_open = conn_on_open,
	.on_read = conn_on_read,
	.on_close = conn_on_close,
};

/* ---- set-up ---- */

json_t *sbc_sip_stats(struct sbc_sip *s)
{
	int tls = core_conn_count_tls(s->streams), tcp = core_conn_count(s->streams) - tls;
	struct sbc_media_pool pool = {0};
	if (s->media)
		sbc_media_pool(s->media, &pool);
	return json_pack("{s:{s:i, s:i}, s:{s:i, s:I, s:{s:i, s:i, s:i, s:i, s:i, s:i}}, s:{s:I}, "
			 "s:{s:b, s:I, s:I}}",
			 "connections", "sip-tls", tls, "sip-tcp", tcp, "relay", "ports_in_use",
			 s->media ? sbc_media_ports_in_use(s->media) : 0, "packets",
			 (json_int_t)(s->media ? sbc_media_packets(s->media) : 0), "pool",
			 "port_min", pool.port_min, "port_max", pool.port_max, "free", pool.free,
			 "in_use", pool.used, "half", pool.half, "aside", pool.aside, "refused",
			 "sip", (json_int_t)core_conn_refused(s->streams), "overload", "shedding",
			 s->load.shedding, "shed", (json_int_t)s->load.shed, "episodes",
			 (json_int_t)s->load.episodes);
}

/* The flow to a trunk's carrier: from a trunk socket of its address
 * family, the one bound to the address the kernel would send from (or a
 * wildcard one, with that address as the source), to the carrier's first
 * address. */
/* The host a TLS carrier's certificate must name: its proxy's, else its
 * domain's (without the port). */
static void trunk_tls_host(const struct sbc_trunk *tr, char *out, size_t cap)
{
	const char *h = tr->t.proxy[0] ? tr->t.proxy : tr->t.domain;
	if (h[0] == '[') { /* [v6]:port */
		const char *end = strchr(h, ']');
		snprintf(out, cap, "%.*s", end ? (int)(end - h - 1) : 0, h + 1);
		return;
	}
	const char *colon = strchr(h, ':');
	snprintf(out, cap, "%.*s", colon ? (int)(colon - h) : (int)strlen(h), h);
}

/* The connection we keep to a trunk's carrier over TCP or TLS, made now
 * if there is none (what is written to it waits for the connect): its id,
 * or 0. */
static uint64_t trunk_conn(struct sbc_sip *s, const struct sbc_trunk *tr, const struct sip_flow *f)
{
	struct sip_trunk_conn *free_slot = NULL;
	for (int i = 0; i < SIP_MAX_TRUNK_CONNS; i++) {
		struct sip_trunk_conn *tc = &s->trunk_conns[i];
		if (tc->conn && memcmp(tc->tkey, f->tkey, sizeof(tc->tkey)) == 0) {
			if (conn_find(s, tc->conn))
				return tc->conn;
			tc->conn = 0; /* it has gone */
		}
		if (!tc->conn && !free_slot)
			free_slot = tc;
	}
	if (!free_slot) {
		log_warn("sip: %d connections to carriers already; trunk %s of %s has none",
			 SIP_MAX_TRUNK_CONNS, tr->key, tr->ps);
		return 0;
	}
	SSL_CTX *tls = NULL;
	char host[CORE_STATE_HOSTPORT_MAX];
	if (f->t == T_TLS) {
		/* Test-only: ZENTRALE_TEST_TRUNK_CA, a private CA a test carrier's
		 * certificate is signed by, besides the system's. */
		if (!s->tls_client)
			s->tls_client = core_tls_client_ctx(getenv("ZENTRALE_TEST_TRUNK_CA"));
		if (!(tls = s->tls_client))
			return 0;
	}
	trunk_tls_host(tr, host, sizeof(host));
	struct core_conn *c = core_conn_connect(s->streams, (const struct sockaddr *)&f->addr,
						f->alen, tls, host);
	if (!c)
		return 0;
	struct sip_conn *sc = core_conn_state(c);
	sc->trunk = sc->ours = true;
	memcpy(sc->tkey, f->tkey, sizeof(sc->tkey));
	core_conn_set_idle(c, SIP_CONN_IDLE); /* our own: kept while the trunk uses it */
	free_slot->conn = core_conn_id(c);
	memcpy(free_slot->tkey, f->tkey, sizeof(free_slot->tkey));
	log_info("sip: trunk %s of %s: connecting over %s to %s", tr->key, tr->ps, tname[f->t],
		 core_conn_peer(c));
	return free_slot->conn;
}

/* The trunk's interface chosen (its "interface"): our source address there,
 * the first of the carrier's family, in place of the routing table's
 * choice; 0, or -1 (no such interface, or no address of that family). */
static int trunk_iface_src(const struct sbc_trunk *tr, int family, struct sockaddr_storage *src)
{
	json_t *addrs = core_net_interface_addresses(tr->t.interface), *a;
	size_t i;
	int rc = -1;
	json_array_foreach(addrs, i, a)
	{
		struct sockaddr_storage ss;
		socklen_t len;
		if (rc < 0 && json_is_string(a) &&
		    sbc_trunk_literal(json_string_value(a), 0, &ss, &len) == 0 &&
		    ss.ss_family == family) {
			*src = ss;
			rc = 0;
		}
	}
	json_decref(addrs);
	if (rc < 0)
		log_warn("sip: trunk %s of %s: interface %s has no %s address to send from",
			 tr->key, tr->ps, tr->t.interface, family == AF_INET6 ? "IPv6" : "IPv4");
	return rc;
}

static int trunk_flow(struct sbc_sip *s, const struct sbc_trunk *tr, struct sip_flow *f)
{
	memset(f, 0, sizeof(*f));
	struct sockaddr_storage to[1];
	socklen_t tolen[1];
	if (sbc_trunk_targets(tr, to, tolen, 1) < 1)
		return -1;
	memcpy(&f->addr, &to[0], sizeof(f->addr));
	f->alen = tolen[0];
	if (tr->t.transport != CORE_TRUNK_UDP) {
		f->t = tr->t.transport == CORE_TRUNK_TLS ? T_TLS : T_TCP;
		if (sbc_sip_flow_set_trunk(f, tr->key) < 0 || !(f->conn = trunk_conn(s, tr, f)))
			return -1;
		f->local = *core_conn_local(conn_find(s, f->conn)->conn);
		return 0;
	}
	f->t = T_UDP;
	/* our source address towards it: what the routing table says */
	struct sockaddr_storage src;
	socklen_t sl = sizeof(src);
	int probe = socket(f->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool known = probe >= 0 && connect(probe, (struct sockaddr *)&f->addr, f->alen) == 0 &&
		     getsockname(probe, (struct sockaddr *)&src, &sl) == 0;
	if (probe >= 0)
		close(probe);
	if (tr->t.interface[0] && trunk_iface_src(tr, f->addr.ss_family, &src) < 0)
		return -1; /* no address there of the carrier's family: logged */
	known = known || tr->t.interface[0];
	int pick = -1;
	for (int i = 0; i < s->nudp; i++) {
		if (!s->udp_trunk[i] || s->udp_local[i].ss_family != f->addr.ss_family)
			continue;
		bool same = known && core_net_ss_same_ip(&src, &s->udp_local[i]);
		if (same || (pick < 0 && s->udp_wildcard[i]))
			pick = i;
		if (same)
			break;
	}
	if (pick < 0)
		return -1;
	f->udp = pick;
	f->local = s->udp_local[pick];
	if (s->udp_wildcard[pick] && known) { /* the source address, our port */
		in_port_t port = f->local.ss_family == AF_INET6
					 ? ((struct sockaddr_in6 *)&f->local)->sin6_port
					 : ((struct sockaddr_in *)&f->local)->sin_port;
		f->local = src;
		if (src.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&f->local)->sin6_port = port;
		else
			((struct sockaddr_in *)&f->local)->sin_port = port;
	}
	return sbc_sip_flow_set_trunk(f, tr->key);
}

static const struct sbc_sip_io sip_io = {
	.flow_send = flow_send_traced,
	.answer = sbc_sip_answer,
	.up_get = up_get,
	.accepted = conn_accepted,
	.auth_failed = auth_failed,
	.trunk_flow = trunk_flow,
};

struct sbc_sip *sbc_sip_new(struct sbc *sbc)
{
	struct sbc_sip *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->sbc = sbc;
	s->io = &sip_io;
	/* Test-only: ZENTRALE_TEST_SIP_IDLE_UNAUTH and ZENTRALE_TEST_TLS_HANDSHAKE
	 * shorten the idle timeout of connections nothing was accepted on and
	 * the TLS handshake timeout (seconds), so tests need not wait 30 s. */
	struct core_conn_desc d = sip_streams;
	const char *e = getenv("ZENTRALE_TEST_SIP_IDLE_UNAUTH");
	s->idle_unauth = d.idle = e && atoi(e) > 0 ? atoi(e) : SIP_CONN_IDLE_UNAUTH;
	e = getenv("ZENTRALE_TEST_TLS_HANDSHAKE");
	d.handshake = e && atoi(e) > 0 ? atoi(e) : SIP_TLS_HANDSHAKE;
	/* Test-only: ZENTRALE_TEST_SIP_TX_LIFE_MS, how long a request without a
	 * final answer is remembered (ms), for both Timer B's 64*T1 and Timer C,
	 * so tests of what such requests hold need not wait 32 s or 3 min. */
	e = getenv("ZENTRALE_TEST_SIP_TX_LIFE_MS");
	s->tx_life_ms = e && atoll(e) > 0 ? atoll(e) : SIP_TX_LIFE_MS;
	s->timer_c_ms = e && atoll(e) > 0 ? atoll(e) : SIP_TX_TIMER_C_MS;
	s->streams = core_conn_service_new(sbc->child.base, &d, s);
	s->nonces = sip_nonces_new(300);
	randombytes_buf(s->token_key, sizeof(s->token_key));
	randombytes_buf(s->txn_hash_key, sizeof(s->txn_hash_key));
	randombytes_buf(s->shed_key, sizeof(s->shed_key));
	/* Test-only: ZENTRALE_TEST_SIP_OVERLOAD_DELAY_MS makes the SBC sleep that
	 * long before each SIP datagram it reads, a slow SBC: datagrams queue up
	 * and it sheds load as it does when really overloaded. */
	e = getenv("ZENTRALE_TEST_SIP_OVERLOAD_DELAY_MS");
	s->test_delay_ms = e && atoi(e) > 0 && atoi(e) <= 1000 ? atoi(e) : 0;
	/* Test-only: ZENTRALE_TEST_SIP_OVERLOAD_LIMITS="WAIT_HIGH,WAIT_LOW,PENDING_HIGH,
	 * PENDING_LOW,HOLD" (ms, requests, ms) in place of the measured marks, to
	 * settle them by measurement (bench/sip-overload). */
	struct sbc_load_limits lim = sbc_load_default_limits;
	e = getenv("ZENTRALE_TEST_SIP_OVERLOAD_LIMITS");
	long long v[5];
	if (e && sscanf(e, "%lld,%lld,%lld,%lld,%lld", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5 &&
	    v[0] >= v[1] && v[1] >= 0 && v[2] >= v[3] && v[3] >= 0 && v[2] < INT32_MAX &&
	    v[4] >= 0) {
		lim.wait_high_ms = v[0];
		lim.wait_low_ms = v[1];
		lim.pending_high = (int)v[2];
		lim.pending_low = (int)v[3];
		lim.hold_ms = v[4];
	}
	sbc_load_init(&s->load, &lim, core_now_ms());
	s->media = sbc_media_new(sbc->child.base, on_media_timeout, s);
	if (s->media)
		sbc_media_set_dtmf_cb(s->media, on_media_dtmf, s);
	if (s->media)
		sbc_media_set_trace(s->media, sbc->trace);
	s->sweep = event_new(sbc->child.base, -1, EV_PERSIST, on_sweep, s);
	s->up_msg = evbuffer_new();
	struct timeval one = {.tv_usec = 100000};
	if (!s->nonces || !s->sweep || !s->media || !s->streams || !s->up_msg ||
	    event_add(s->sweep, &one) < 0) {
		sbc_sip_free(s);
		return NULL;
	}
	return s;
}

static void sip_close_sockets(struct sbc_sip *s)
{
	for (int i = 0; i < s->nudp; i++) {
		event_free(s->udp[i]);
		close(s->udp_fd[i]);
	}
	s->nudp = 0;
	s->ntrunk_ports = 0;
	if (s->streams)
		core_conn_unlisten(s->streams);
}

/* The supervisor sized the buffers as it bound the socket (core_net.h); if
 * it could not force them, we try within the sysctls, and say what we got. */
static void udp_buffers(int fd, const struct sockaddr_storage *l)
{
	char addr[CORE_NET_ADDR_LEN];
	int rcv = core_net_udp_buffers(fd, CORE_NET_UDP_BUFFER), snd = 0;
	socklen_t sl = sizeof(snd);
	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &sl);
	core_net_addr_str((const struct sockaddr *)l, addr, sizeof(addr));
	if (rcv / 2 < CORE_NET_UDP_BUFFER)
		log_warn("sip: UDP on %s: a receive buffer of %d KiB, not %d: bursts may be "
			 "dropped; raise net.core.rmem_max (sysctl) to %d",
			 addr, rcv / 2048, CORE_NET_UDP_BUFFER / 1024, CORE_NET_UDP_BUFFER);
	else
		log_info("sip: UDP on %s: receive buffer %d KiB, send buffer %d KiB", addr,
			 rcv / 2048, snd / 2048);
}

void sbc_sip_add_socket(struct sbc_sip *s, const char *service, int fd)
{
	bool trunk = strcmp(service, "sip-trunk-udp") == 0;
	if ((trunk || strcmp(service, "sip-udp") == 0) && s->nudp < SIP_MAX_SOCKETS) {
		int one = 1;
		socklen_t ll = sizeof(s->udp_local[s->nudp]);
		getsockname(fd, (struct sockaddr *)&s->udp_local[s->nudp], &ll);
		const struct sockaddr_storage *l = &s->udp_local[s->nudp];
		if (l->ss_family == AF_INET6) {
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
			s->udp_wildcard[s->nudp] = IN6_IS_ADDR_UNSPECIFIED(
				&((const struct sockaddr_in6 *)l)->sin6_addr);
		} else {
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
			s->udp_wildcard[s->nudp] =
				((const struct sockaddr_in *)l)->sin_addr.s_addr == INADDR_ANY;
		}
		/* the receive time of each datagram: how long it waited (sbc_load.h) */
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
		udp_buffers(fd, l);
		s->udp_trunk[s->nudp] = trunk;
		s->udp_fd[s->nudp] = fd;
		s->udp[s->nudp] =
			event_new(s->sbc->child.base, fd, EV_READ | EV_PERSIST, on_udp, s);
		event_add(s->udp[s->nudp++], NULL);
		return;
	}
	bool tls = strcmp(service, "sip-tls") == 0 || strcmp(service, "sip-trunk-tls") == 0;
	if (strncmp(service, "sip-trunk-", 10) == 0 && s->ntrunk_ports < 4) {
		struct sockaddr_storage l;
		socklen_t ll = sizeof(l);
		if (getsockname(fd, (struct sockaddr *)&l, &ll) == 0)
			s->trunk_ports[s->ntrunk_ports++] = core_net_ss_port(&l);
	}
	core_conn_listen(s->streams, fd, tls ? s->sbc->tls_sip : NULL);
}

void sbc_sip_reset_sockets(struct sbc_sip *s)
{
	sip_close_sockets(s);
}

void sbc_sip_free(struct sbc_sip *s)
{
	if (!s)
		return;
	sip_close_sockets(s);
	core_conn_service_free(s->streams);
	while (s->ups)
		up_free(s->ups);
	while (s->txns) {
		struct sip_txn *t = s->txns;
		s->txns = t->next;
		txn_free(t);
	}
	if (s->sweep)
		event_free(s->sweep);
	sip_nonces_free(s->nonces);
	sbc_media_free(s->media);
	if (s->up_msg)
		evbuffer_free(s->up_msg);
	SSL_CTX_free(s->tls_client);
	free(s);
}

void sbc_sip_set_per_address(struct sbc_sip *s, int n)
{
	core_conn_set_per_address(s->streams, n);
}

int sbc_sip_connections(const struct sbc_sip *s)
{
	return core_conn_count(s->streams);
}

void sbc_sip_link_ps(struct sbc_sip *s, const char *name, const char *sock)
{
	if (!up_get(s, name, sock))
		log_warn("sip: cannot reach phone system %s for its trunks", name);
}
