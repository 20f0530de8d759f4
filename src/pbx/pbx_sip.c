/* pbx_sip — see pbx_sip.h. */
#include "pbx_sip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../core/core_sipstream.h"
#include "../sip/sip_build.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"
#include "pbx_blf.h"
#include "pbx_call.h"
#include "pbx_mwi.h"
#include "pbx_trunk_reg.h"

struct sip_link {
	struct pbx_sip *s;
	struct sip_link *prev, *next;
	struct bufferevent *bev;
};

struct pbx_sip {
	struct pbx *p;
	struct evconnlistener *listener;
	struct sip_link *links; /* the SBC's connections, freed with us */
	struct pbx_calls *calls;
	struct pbx_mwi *mwi;
	struct pbx_blf *blf;
	struct pbx_trunk_reg *trunks;
};

/* A message to the SBC: sent at once when nothing waits before it (one
 * send, instead of arming the write event, waking for it, writing and
 * disarming it: two epoll_ctl and a loop turn per answer), whatever the
 * socket does not take queued behind, as are errors for the bufferevent to
 * report. */
static void sip_write(struct bufferevent *bev, const char *buf, size_t len)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		ssize_t n = send(bufferevent_getfd(bev), buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		}
	}
	if (len)
		bufferevent_write(bev, buf, len);
}

/* Requests of ours go on the SBC's newest connection; it routes them by
 * the flow token in their Route, whichever connection they come on. */
static void sip_send(void *arg, const char *buf, size_t len)
{
	struct pbx_sip *s = arg;
	if (s->links)
		sip_write(s->links->bev, buf, len);
	else
		log_warn("sip: no connection to the SBC; a message is lost");
}

static void link_free(struct sip_link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		l->s->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	struct pbx_sip *s = l->s;
	bufferevent_free(l->bev);
	free(l);
	if (!s->links)
		pbx_trunk_reg_link(s->trunks, false);
}

static void sip_answer(struct bufferevent *bev, const struct sip_msg *req, int status,
		       const char *extra)
{
	static char out[SIP_ANSWER_MAX];
	char tag[SIP_TAG_LEN + 1];
	sip_build_tag(tag);
	struct sip_response_opts o = {.to_tag = tag, .extra_headers = extra};
	int n = sip_build_response(req, status, &o, out, sizeof(out));
	if (n > 0)
		sip_write(bev, out, (size_t)n);
	else
		log_warn("sip: no room for a %d answer; dropped", status);
}

/* The user a 200 to a REGISTER was for (its To), told to message waiting. */
static void registered_anew(struct pbx_sip *s, const struct sip_msg *m)
{
	struct sip_addr to;
	struct sip_uri u;
	struct sip_pl rest;
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) < 0 ||
	    sip_uri_parse(&u, to.uri_pl) < 0 || !u.user.l)
		return;
	sqlite3_stmt *st = core_db_stmt(s->p->db, "SELECT id FROM users WHERE sip_username=?");
	if (!st)
		return;
	sqlite3_bind_text(st, 1, u.user.p, (int)u.user.l, SQLITE_STATIC);
	long long id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (id >= 0)
		pbx_mwi_registered(s->mwi, id);
}

/* The SUBSCRIBE's event package (Event, or its compact form o), without parameters. */
static bool event_is(const struct sip_msg *m, const char *package)
{
	const struct sip_hdr *e = sip_msg_hdr_named(m, "Event");
	if (!e)
		e = sip_msg_hdr_named(m, "o");
	if (!e)
		return false;
	size_t l = 0;
	while (l < e->value.l && e->value.p[l] != ';' && e->value.p[l] != ' ')
		l++;
	return sip_pl_casecmp((struct sip_pl){e->value.p, l}, package);
}

static void sip_on_request(struct pbx_sip *s, struct bufferevent *bev, const struct sip_msg *m)
{
	int bad = sip_msg_validate(m);
	if (bad) {
		if (!sip_pl_eq(m->method, "ACK"))
			sip_answer(bev, m, bad, NULL);
		return;
	}
	if (sip_pl_eq(m->method, "REGISTER")) {
		static char out[SIP_ANSWER_MAX];
		char source[128] = "", path[1024] = "";
		const struct sip_hdr *h = sip_msg_hdr_named(m, "X-Zentrale-Source");
		const struct sip_hdr *ph = sip_msg_hdr(m, SIP_HDR_PATH);
		/* both the SBC's own, short; anything longer is refused, not cut */
		if ((h && h->value.l >= sizeof(source)) || (ph && ph->value.l >= sizeof(path))) {
			log_warn("sip: a REGISTER with an oversized source or Path; refused");
			sip_answer(bev, m, 500, NULL);
			return;
		}
		if (h)
			snprintf(source, sizeof(source), "%.*s", (int)h->value.l, h->value.p);
		if (ph)
			snprintf(path, sizeof(path), "%.*s", (int)ph->value.l, ph->value.p);
		struct pbx_reg_source src = {.source = source, .path = path};
		unsigned long long writes = s->p->registrar.writes;
		int n = pbx_registrar_register(&s->p->registrar, m, &src, time(NULL), out,
					       sizeof(out));
		if (n > 0)
			sip_write(bev, out, (size_t)n);
		else
			sip_answer(bev, m, 500, NULL);
		/* a binding written (not a mere refresh): message waiting for it */
		if (n > 12 && strncmp(out, "SIP/2.0 200 ", 12) == 0 &&
		    s->p->registrar.writes != writes)
			registered_anew(s, m);
	} else if (sip_pl_eq(m->method, "NOTIFY") && sip_msg_hdr_named(m, "X-Zentrale-Event")) {
		/* the SBC's own word (phones' X-Zentrale-* never pass it): no media */
		sip_answer(bev, m, 200, NULL);
		if (sip_pl_eq(sip_msg_hdr_named(m, "X-Zentrale-Event")->value, "dtmf"))
			pbx_calls_dtmf_info(s->calls, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value,
					    m->body);
		else
			pbx_calls_media_timeout(s->calls, sip_msg_hdr(m, SIP_HDR_CALL_ID)->value);
	} else if (sip_pl_eq(m->method, "OPTIONS")) {
		sip_answer(bev, m, 200, SIP_OPTIONS_HEADERS);
	} else if (sip_pl_eq(m->method, "SUBSCRIBE")) {
		char source[128] = "";
		const struct sip_hdr *h = sip_msg_hdr_named(m, "X-Zentrale-Source");
		if (h && h->value.l >= sizeof(source)) { /* the SBC's own, short */
			sip_answer(bev, m, 500, NULL);
			return;
		}
		if (h)
			snprintf(source, sizeof(source), "%.*s", (int)h->value.l, h->value.p);
		struct pbx_reg_source src = {.source = source, .path = ""};
		if (event_is(m, "dialog"))
			pbx_blf_subscribe(s->blf, m, &src);
		else
			pbx_mwi_subscribe(s->mwi, m, &src); /* message-summary, or 489 */
	} else {
		char source[128] = "";
		const struct sip_hdr *h = sip_msg_hdr_named(m, "X-Zentrale-Source");
		if (h && h->value.l >= sizeof(source)) { /* the SBC's own, short */
			log_warn("sip: a request with an oversized source; refused");
			if (!sip_pl_eq(m->method, "ACK"))
				sip_answer(bev, m, 500, NULL);
			return;
		}
		if (h)
			snprintf(source, sizeof(source), "%.*s", (int)h->value.l, h->value.p);
		struct pbx_reg_source src = {.source = source, .path = ""};
		pbx_calls_request(s->calls, m, &src);
	}
}

/* An answer to a NOTIFY of message waiting (pbx_mwi) or of BLF (pbx_blf): by its branch. */
static bool is_answer_to(const struct sip_msg *m, const char *prefix)
{
	struct sip_answer_key k;
	return sip_answer_key(m, &k) == 0 && k.branch.l > strlen(prefix) &&
	       memcmp(k.branch.p, prefix, strlen(prefix)) == 0;
}

static void sip_on_read(struct bufferevent *bev, void *arg)
{
	struct sip_link *l = arg;
	struct pbx_sip *s = l->s;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct sip_msg *m = malloc(sizeof(*m)); /* large: not on the stack */
	int r;
	while (m && (r = core_sipstream_next(in, m)) == 1) {
		if (m->request)
			sip_on_request(s, bev, m);
		else if (is_answer_to(m, PBX_MWI_BRANCH))
			pbx_mwi_response(s->mwi, m);
		else if (is_answer_to(m, PBX_BLF_BRANCH))
			pbx_blf_response(s->blf, m);
		else if (is_answer_to(m, PBX_TRUNK_BRANCH))
			pbx_trunk_reg_response(s->trunks, m);
		else
			pbx_calls_response(s->calls, m);
		evbuffer_drain(in, m->raw.l);
	}
	if (m && r > 1) {
		log_warn("sip: unreadable message from the SBC (%d %s), closing", r,
			 sip_msg_error());
		link_free(l);
	}
	free(m);
}

static void sip_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	link_free(arg);
}

static void sip_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct pbx_sip *s = arg;
	(void)sa;
	(void)salen;
	struct sip_link *link = calloc(1, sizeof(*link));
	struct bufferevent *bev =
		link ? bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE)
		     : NULL;
	if (!bev) {
		free(link);
		close(fd);
		return;
	}
	link->s = s;
	link->bev = bev;
	link->next = s->links;
	if (s->links)
		s->links->prev = link;
	s->links = link;
	bufferevent_setcb(bev, sip_on_read, NULL, sip_on_event, link);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	pbx_trunk_reg_link(s->trunks, true); /* the first connection starts the trunks */
}

struct pbx_sip *pbx_sip_new(struct pbx *p, int fd)
{
	struct pbx_sip *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->p = p;
	s->listener = evconnlistener_new(p->child.base, sip_on_accept, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	s->calls = pbx_calls_new(p, p->child.base, sip_send, s);
	p->calls = s->calls;
	s->mwi = pbx_mwi_new(p, p->child.base, sip_send, s);
	p->mwi = s->mwi;
	s->blf = pbx_blf_new(p, p->child.base, sip_send, s);
	p->blf = s->blf;
	s->trunks = pbx_trunk_reg_new(p, p->child.base, sip_send, s);
	p->trunk_reg = s->trunks;
	if (!s->listener || !s->calls || !s->mwi || !s->blf || !s->trunks) {
		if (s->listener)
			evconnlistener_free(s->listener);
		else
			close(fd);
		pbx_calls_free(s->calls);
		pbx_mwi_free(s->mwi);
		pbx_blf_free(s->blf);
		pbx_trunk_reg_free(s->trunks);
		p->trunk_reg = NULL;
		p->calls = NULL;
		p->mwi = NULL;
		p->blf = NULL;
		free(s);
		return NULL;
	}
	return s;
}

void pbx_sip_free(struct pbx_sip *s)
{
	if (!s)
		return;
	evconnlistener_free(s->listener);
	pbx_trunk_reg_free(s->trunks); /* first: its un-REGISTERs need the links */
	s->trunks = NULL;
	s->p->trunk_reg = NULL;
	pbx_calls_free(s->calls);
	pbx_mwi_free(s->mwi);
	s->p->mwi = NULL;
	pbx_blf_free(s->blf);
	s->p->blf = NULL;
	while (s->links)
		link_free(s->links);
	free(s);
}
