/* pbx_subs — see pbx_subs.h. RFC 6665, the notifier side. */
#include "pbx_subs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../core/core_log.h"
#include "../sip/sip_build.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"

#define SUBS_BUCKETS 1024 /* a power of two */

struct pbx_subs {
	struct pbx *p;
	struct event_base *base;
	void (*send)(void *ctx, const char *buf, size_t len);
	void *send_ctx;
	struct pbx_subs_conf conf;
	void *ctx; /* the callbacks' */
	char *out; /* conf.msg_max: a NOTIFY being sent */
	struct pbx_sub *head, *tail;
	int count;
	struct pbx_sub *by_cid[SUBS_BUCKETS];
	unsigned char key[crypto_shorthash_KEYBYTES]; /* Call-IDs come from the wire */
};

static unsigned hash_pl(const struct pbx_subs *set, struct sip_pl v)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)v.p, v.l, set->key);
	return (unsigned)(h & (SUBS_BUCKETS - 1));
}

/* ---- sending ---- */

void pbx_subs_send_notify(struct pbx_subs *set, struct sip_dialog *d, const char *state,
			  const char *body, size_t bl)
{
	char extra[256], via[96], contact[160], hex[25];
	unsigned char r[12];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(via, sizeof(via), "SIP/2.0/TCP pbx.invalid;branch=%s%s", set->conf.branch, hex);
	snprintf(contact, sizeof(contact), "<sip:pbx@%s>", set->p->name);
	int el = snprintf(extra, sizeof(extra), "Event: %s\r\n%s%s%s", set->conf.event,
			  state ? "Subscription-State: " : "", state ? state : "",
			  state ? "\r\n" : "");
	int n = el < 0 || (size_t)el >= sizeof(extra)
			? -1
			: sip_dialog_request(
				  d, "NOTIFY", 0, via, contact, extra, (struct sip_pl){body, bl},
				  (struct sip_pl){set->conf.ctype, strlen(set->conf.ctype)},
				  set->out, set->conf.msg_max);
	if (n > 0)
		set->send(set->send_ctx, set->out, (size_t)n);
	else
		log_warn("%s: a NOTIFY to %s does not fit", set->conf.name, d->target);
}

void pbx_subs_notify_active(struct pbx_sub *s, bool force)
{
	char state[64];
	time_t now = time(NULL);
	snprintf(state, sizeof(state), "active;expires=%lld",
		 (long long)(s->expires > now ? s->expires - now : 0));
	s->set->conf.notify(s->set->ctx, s, force, state);
}

static void respond(struct pbx_subs *set, const struct sip_msg *m, int status, const char *reason,
		    const char *tag, const char *extra)
{
	static char out[SIP_ANSWER_MAX];
	char t[SIP_TAG_LEN + 1];
	if (!tag) {
		sip_build_tag(t);
		tag = t;
	}
	struct sip_response_opts o = {.reason = reason, .to_tag = tag, .extra_headers = extra};
	int n = sip_build_response(m, status, &o, out, sizeof(out));
	if (n > 0)
		set->send(set->send_ctx, out, (size_t)n);
}

static void respond_ok(struct pbx_subs *set, const struct sip_msg *m, const char *tag,
		       int64_t expires)
{
	char extra[256];
	snprintf(extra, sizeof(extra), "Expires: %lld\r\nContact: <sip:pbx@%s>\r\n",
		 (long long)expires, set->p->name);
	respond(set, m, 200, NULL, tag, extra);
}

/* ---- subscriptions ---- */

static struct pbx_sub *sub_find(struct pbx_subs *set, const struct sip_msg *m)
{
	struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value;
	for (struct pbx_sub *s = set->by_cid[hash_pl(set, cid)]; s; s = s->hnext)
		if (m->request ? sip_dialog_matches(&s->d, m) : sip_pl_eq(cid, s->d.call_id))
			return s;
	return NULL;
}

static void sub_add(struct pbx_sub *s)
{
	struct pbx_subs *set = s->set;
	unsigned h = hash_pl(set, (struct sip_pl){s->d.call_id, strlen(s->d.call_id)});
	s->hnext = set->by_cid[h];
	set->by_cid[h] = s;
	s->prev = set->tail;
	if (set->tail)
		set->tail->next = s;
	else
		set->head = s;
	set->tail = s;
	set->count++;
}

static void sub_free(struct pbx_sub *s)
{
	struct pbx_subs *set = s->set;
	unsigned h = hash_pl(set, (struct sip_pl){s->d.call_id, strlen(s->d.call_id)});
	for (struct pbx_sub **pp = &set->by_cid[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	if (s->prev)
		s->prev->next = s->next;
	else
		set->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		set->tail = s->prev;
	set->count--;
	if (s->timer)
		event_free(s->timer);
	free(s);
}

/* The final NOTIFY (RFC 6665 4.2.2), then gone. */
static void sub_end(struct pbx_sub *s, const char *reason)
{
	char state[64];
	snprintf(state, sizeof(state), "terminated%s%s", reason ? ";reason=" : "",
		 reason ? reason : "");
	s->set->conf.notify(s->set->ctx, s, true, state);
	log_info("%s: a subscription to %s ended (%s)", s->set->conf.name, s->ext,
		 reason ? reason : "unsubscribed");
	sub_free(s);
}

static void on_expiry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sub_end(arg, "timeout");
}

static void sub_arm(struct pbx_sub *s, int64_t expires, time_t now)
{
	s->expires = now + expires;
	struct timeval tv = {.tv_sec = expires};
	event_add(s->timer, &tv);
}

/* A SUBSCRIBE with a To tag: a refresh, or the end (Expires: 0). */
static void refresh(struct pbx_subs *set, const struct sip_msg *m, const struct pbx_reg_user *u,
		    int64_t expires, time_t now)
{
	struct pbx_sub *s = sub_find(set, m);
	if (!s) {
		respond(set, m, 481, NULL, NULL, NULL);
		return;
	}
	if (s->user_id != u->id) {
		respond(set, m, 403, NULL, s->d.local_tag, NULL);
		return;
	}
	if (sip_dialog_remote_cseq(&s->d, m) < 0) {
		respond(set, m, 500, NULL, s->d.local_tag, NULL);
		return;
	}
	respond_ok(set, m, s->d.local_tag, expires);
	if (expires == 0) { /* unsubscribed: no reason (RFC 6665 4.2.1.4) */
		sub_end(s, NULL);
		return;
	}
	sub_arm(s, expires, now);
	pbx_subs_notify_active(s, true); /* RFC 6665 4.2.1.2: a refresh is NOTIFYed too */
}

/* Is there room for one more of u's? 0, or -1 (answered). */
static int make_room(struct pbx_subs *set, const struct sip_msg *m, const struct pbx_reg_user *u)
{
	int mine = 0;
	struct pbx_sub *oldest = NULL;
	for (struct pbx_sub *s = set->head; s; s = s->next)
		if (s->user_id == u->id && mine++ == 0)
			oldest = s;
	if (mine >= set->conf.max_per_user && set->conf.replace_oldest && oldest) {
		sub_end(oldest, "deactivated"); /* one user's devices share the limit */
	} else if (mine >= set->conf.max_per_user) {
		log_warn("%s: %s is at its limit of %d subscriptions", set->conf.name, u->extension,
			 set->conf.max_per_user);
		respond(set, m, 403, "Too Many Subscriptions", NULL, NULL);
		return -1;
	} else if (set->count >= set->conf.max) {
		respond(set, m, 503, NULL, NULL, "Retry-After: 60\r\n");
		return -1;
	}
	return 0;
}

void pbx_subs_subscribe(struct pbx_subs *set, const struct sip_msg *m,
			const struct pbx_reg_source *src)
{
	static char out[8192];
	struct pbx_reg_user u;
	int n = pbx_registrar_auth(&set->p->registrar, m, src, time(NULL), &u, out, sizeof(out));
	if (n != 0) {
		if (n > 0)
			set->send(set->send_ctx, out, (size_t)n);
		return;
	}
	struct pbx_subs_refusal r = {0};
	if (set->conf.screen && (r.status = set->conf.screen(set->ctx, m, &r)) != 0) {
		respond(set, m, r.status, r.reason, NULL, r.extra);
		return;
	}
	int64_t expires = set->conf.max_expires;
	const struct sip_hdr *eh = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	if (eh && (expires = sip_pl_u64(eh->value, 0xffffffffLL)) < 0) {
		respond(set, m, 400, "Bad Expires", NULL, NULL);
		return;
	}
	if (expires > set->conf.max_expires)
		expires = set->conf.max_expires; /* RFC 6665 4.2.1.1: the notifier may shorten */
	if (expires > 0 && expires < set->conf.min_expires) {
		char min[48];
		snprintf(min, sizeof(min), "Min-Expires: %lld\r\n",
			 (long long)set->conf.min_expires);
		respond(set, m, 423, NULL, NULL, min);
		return;
	}
	time_t now = time(NULL);
	struct sip_addr to;
	struct sip_pl rest, tag = {0};
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		sip_param_get(to.params, "tag", &tag);
	if (tag.l) {
		refresh(set, m, &u, expires, now);
		return;
	}

	char t[SIP_TAG_LEN + 1];
	sip_build_tag(t);
	struct pbx_sub *s = calloc(1, set->conf.sub_size);
	if (!s) {
		respond(set, m, 500, NULL, t, NULL);
		return;
	}
	s->set = set;
	s->user_id = u.id;
	if ((r.status = set->conf.open(set->ctx, s, m, &u, &r)) != 0) {
		free(s);
		respond(set, m, r.status, r.reason, NULL, r.extra);
		return;
	}
	/* a fetch (Expires: 0, RFC 6665 4.4.3) holds no room */
	if (expires > 0 && make_room(set, m, &u) < 0) {
		free(s);
		return;
	}
	if (!(s->timer = evtimer_new(set->base, on_expiry, s))) {
		free(s);
		respond(set, m, 500, NULL, t, NULL);
		return;
	}
	if (sip_dialog_uas(&s->d, m, t) < 0) {
		event_free(s->timer);
		free(s);
		respond(set, m, 400, NULL, t, NULL);
		return;
	}
	sub_add(s);
	respond_ok(set, m, t, expires);
	if (expires == 0) { /* a fetch: one NOTIFY, no state */
		sub_end(s, "timeout");
		return;
	}
	sub_arm(s, expires, now);
	pbx_subs_notify_active(s, true);
	log_info("%s: %s subscribed to %s for %lld s", set->conf.name, u.extension, s->ext,
		 (long long)expires);
}

void pbx_subs_response(struct pbx_subs *set, const struct sip_msg *m)
{
	if (!set || m->status < 200)
		return;
	struct pbx_sub *s = sub_find(set, m);
	/* RFC 6665 4.2.2: 481 ends the subscription; so do the answers that say
	 * the device will never take it (408 and 5xx may pass) */
	if (s && (m->status == 481 || m->status == 404 || m->status == 410 || m->status == 489 ||
		  m->status == 403)) {
		log_info("%s: a subscription to %s ended: %d to a NOTIFY", set->conf.name, s->ext,
			 m->status);
		sub_free(s);
	}
}

struct pbx_sub *pbx_subs_head(const struct pbx_subs *set)
{
	return set ? set->head : NULL;
}

int pbx_subs_count(const struct pbx_subs *set)
{
	return set ? set->count : 0;
}

struct pbx_subs *pbx_subs_new(struct pbx *p, struct event_base *base,
			      void (*send)(void *sctx, const char *buf, size_t len), void *sctx,
			      const struct pbx_subs_conf *conf, void *ctx)
{
	struct pbx_subs *set = calloc(1, sizeof(*set));
	if (!set || !(set->out = malloc(conf->msg_max))) {
		free(set);
		return NULL;
	}
	set->p = p;
	set->base = base;
	set->send = send;
	set->send_ctx = sctx;
	set->conf = *conf;
	set->ctx = ctx;
	crypto_shorthash_keygen(set->key);
	return set;
}

void pbx_subs_free(struct pbx_subs *set)
{
	if (!set)
		return;
	while (set->head)
		sub_free(set->head);
	free(set->out);
	free(set);
}
