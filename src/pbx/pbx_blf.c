/* pbx_blf — see pbx_blf.h. RFC 6665 (notifier side) for RFC 4235's event. */
#include "pbx_blf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sip/sip_build.h"
#include "../sip/sip_dialog.h"
#include "../sip/sip_dialoginfo.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"
#include "pbx_call.h"
#include "pbx_route.h"

#define BLF_BUCKETS  1024 /* a power of two */
#define BLF_BODY_MAX 131072
#define BLF_MSG_MAX  (BLF_BODY_MAX + 8192)

struct shown {
	uint64_t id;
	int state;
};

struct sub {
	struct pbx_blf *b;
	struct sub *hnext;	 /* in the Call-ID index */
	struct sub *prev, *next; /* all, oldest first */
	long long user_id;	 /* the subscriber */
	long long watched;	 /* the user whose dialogs it sees; -701: park slot 701 */
	char ext[72], name[128]; /* the watched user's */
	struct sip_dialog d;
	time_t expires;
	struct event *timer;
	unsigned long version; /* of the next NOTIFY's document */
	int nshown;	       /* the dialogs last reported, not terminated */
	struct shown shown[PBX_BLF_DIALOGS];
};

struct pbx_blf {
	struct pbx *p;
	struct event_base *base;
	void (*send)(void *ctx, const char *buf, size_t len);
	void *send_ctx;
	struct sub *head, *tail;
	int count;
	struct sub *by_cid[BLF_BUCKETS];
	unsigned char key[crypto_shorthash_KEYBYTES]; /* Call-IDs come from the wire */
};

static unsigned hash_pl(const struct pbx_blf *b, struct sip_pl v)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)v.p, v.l, b->key);
	return (unsigned)(h & (BLF_BUCKETS - 1));
}

/* A dialog's id in documents: stable for its Call-ID and our tag, short,
 * and nothing of the wire in it. */
static uint64_t dialog_id(const struct pbx_blf *b, const struct pbx_call_dialog *d)
{
	uint64_t h;
	size_t cl = strlen(d->call_id), tl = strlen(d->pbx_tag);
	unsigned char buf[SIP_DIALOG_HDR + 64];
	if (cl + tl + 1 > sizeof(buf))
		cl = sizeof(buf) - tl - 1;
	memcpy(buf, d->call_id, cl);
	buf[cl] = '/';
	memcpy(buf + cl + 1, d->pbx_tag, tl);
	crypto_shorthash((unsigned char *)&h, buf, cl + 1 + tl, b->key);
	return h;
}

/* ---- sending ---- */

static void send_notify(struct sub *s, const char *body, int bl, const char *state)
{
	static char out[BLF_MSG_MAX];
	struct pbx_blf *b = s->b;
	char extra[256], via[96], contact[160], hex[25];
	unsigned char r[12];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
	snprintf(via, sizeof(via), "SIP/2.0/TCP pbx.invalid;branch=" PBX_BLF_BRANCH "%s", hex);
	snprintf(contact, sizeof(contact), "<sip:pbx@%s>", b->p->name);
	snprintf(extra, sizeof(extra), "Event: dialog\r\nSubscription-State: %s\r\n", state);
	int n = sip_dialog_request(
		&s->d, "NOTIFY", 0, via, contact, extra, (struct sip_pl){body, (size_t)bl},
		(struct sip_pl){SIP_DIALOGINFO_CTYPE, strlen(SIP_DIALOGINFO_CTYPE)}, out,
		sizeof(out));
	if (n > 0)
		b->send(b->send_ctx, out, (size_t)n);
	else
		log_warn("blf: a NOTIFY for %s does not fit", s->ext);
}

static int shown_state(const struct sub *s, uint64_t id)
{
	for (int i = 0; i < s->nshown; i++)
		if (s->shown[i].id == id)
			return s->shown[i].state;
	return -1;
}

/* The watched user's dialogs now, to the subscriber — unless nothing
 * differs from the last NOTIFY and force is false. state: the
 * Subscription-State value. */
static void sub_notify(struct sub *s, bool force, const char *state)
{
	static char body[BLF_BODY_MAX];
	static struct pbx_call_dialog cd[PBX_BLF_DIALOGS];
	static struct sip_dinfo_dialog dd[PBX_BLF_DIALOGS * 2];
	static char ids[PBX_BLF_DIALOGS * 2][17], peers[PBX_BLF_DIALOGS][160];
	struct pbx_blf *b = s->b;
	char entity[160];
	snprintf(entity, sizeof(entity), "sip:%s@%s", s->ext, b->p->name);
	int n = s->watched < 0 ? pbx_park_dialogs(b->p, (int)-s->watched, cd, PBX_BLF_DIALOGS)
		: b->p->calls ? pbx_calls_user_dialogs(b->p->calls, s->watched, cd, PBX_BLF_DIALOGS)
			      : 0;
	struct shown now[PBX_BLF_DIALOGS];
	int nnow = 0, nd = 0;
	bool changed = force;
	for (int i = 0; i < n; i++) {
		uint64_t id = dialog_id(b, &cd[i]);
		int before = shown_state(s, id);
		if (cd[i].state == SIP_DINFO_TERMINATED && before < 0)
			continue; /* never shown: nothing to end */
		if (cd[i].state != SIP_DINFO_TERMINATED)
			now[nnow++] = (struct shown){id, cd[i].state};
		changed = changed || before != cd[i].state;
		int k = nd++;
		sodium_bin2hex(ids[k], sizeof(ids[k]), (const unsigned char *)&id, sizeof(id));
		snprintf(peers[i], sizeof(peers[i]), "sip:%s@%s", cd[i].peer, b->p->name);
		bool peer = cd[i].peer && cd[i].peer[0];
		dd[k] = (struct sip_dinfo_dialog){
			.id = ids[k],
			.call_id = cd[i].call_id,
			.local_tag = cd[i].device_tag,
			.remote_tag = cd[i].pbx_tag,
			.direction = cd[i].outgoing ? SIP_DINFO_INITIATOR : SIP_DINFO_RECIPIENT,
			.state = cd[i].state,
			.local = {entity, s->name, NULL},
			.remote = {peer ? peers[i] : NULL, peer ? cd[i].peer_name : NULL,
				   peer ? peers[i] : NULL}};
	}
	/* dialogs shown before and gone since (their call freed): terminated */
	for (int i = 0; i < s->nshown; i++) {
		bool still = false;
		for (int k = 0; k < n && !still; k++)
			still = dialog_id(b, &cd[k]) == s->shown[i].id;
		if (still)
			continue;
		changed = true;
		int k = nd++;
		sodium_bin2hex(ids[k], sizeof(ids[k]), (const unsigned char *)&s->shown[i].id,
			       sizeof(s->shown[i].id));
		dd[k] = (struct sip_dinfo_dialog){.id = ids[k],
						  .state = SIP_DINFO_TERMINATED,
						  .local = {entity, s->name, NULL}};
	}
	if (!changed)
		return;
	int bl = sip_dialoginfo_build(body, sizeof(body), s->version, 1, entity, dd, (size_t)nd);
	if (bl < 0) { /* only with Call-IDs at their limit: the lamps without ids */
		for (int i = 0; i < nd; i++)
			dd[i].call_id = NULL;
		bl = sip_dialoginfo_build(body, sizeof(body), s->version, 1, entity, dd,
					  (size_t)nd);
	}
	if (bl < 0) {
		log_warn("blf: the dialogs of %s do not fit a NOTIFY", s->ext);
		return;
	}
	s->version++;
	memcpy(s->shown, now, sizeof(now[0]) * (size_t)nnow);
	s->nshown = nnow;
	send_notify(s, body, bl, state);
}

static void sub_notify_active(struct sub *s, bool force)
{
	char state[64];
	time_t now = time(NULL);
	snprintf(state, sizeof(state), "active;expires=%lld",
		 (long long)(s->expires > now ? s->expires - now : 0));
	sub_notify(s, force, state);
}

/* ---- subscriptions ---- */

static struct sub *sub_find(struct pbx_blf *b, const struct sip_msg *m)
{
	struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value;
	for (struct sub *s = b->by_cid[hash_pl(b, cid)]; s; s = s->hnext)
		if (m->request ? sip_dialog_matches(&s->d, m) : sip_pl_eq(cid, s->d.call_id))
			return s;
	return NULL;
}

static void sub_free(struct sub *s)
{
	struct pbx_blf *b = s->b;
	unsigned h = hash_pl(b, (struct sip_pl){s->d.call_id, strlen(s->d.call_id)});
	for (struct sub **pp = &b->by_cid[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	if (s->prev)
		s->prev->next = s->next;
	else
		b->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		b->tail = s->prev;
	b->count--;
	if (s->timer)
		event_free(s->timer);
	free(s);
}

/* The final NOTIFY (RFC 6665 4.2.2), then gone. */
static void sub_end(struct sub *s, const char *reason)
{
	char state[64];
	snprintf(state, sizeof(state), "terminated%s%s", reason ? ";reason=" : "",
		 reason ? reason : "");
	sub_notify(s, true, state);
	log_info("blf: a subscription to %s ended (%s)", s->ext, reason ? reason : "unsubscribed");
	sub_free(s);
}

static void on_expiry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sub_end(arg, "timeout");
}

static void sub_arm(struct sub *s, int64_t expires, time_t now)
{
	s->expires = now + expires;
	struct timeval tv = {.tv_sec = expires};
	event_add(s->timer, &tv);
}

static void respond(struct pbx_blf *b, const struct sip_msg *m, int status, const char *reason,
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
		b->send(b->send_ctx, out, (size_t)n);
}

static void respond_ok(struct pbx_blf *b, const struct sip_msg *m, const char *tag, int64_t expires)
{
	char extra[256];
	snprintf(extra, sizeof(extra), "Expires: %lld\r\nContact: <sip:pbx@%s>\r\n",
		 (long long)expires, b->p->name);
	respond(b, m, 200, NULL, tag, extra);
}

/* The watched user: an enabled user of this phone system by extension or
 * SIP user name (the Request-URI's user part). 0, or -1: none such. */
static int watched_user(struct pbx *p, const struct sip_msg *m, long long *id, char *ext,
			size_t ecap, char *name, size_t ncap)
{
	struct sip_uri ru;
	if (sip_uri_parse(&ru, m->ruri) < 0 || !ru.user.l || ru.user.l > 64)
		return -1;
	int slot = pbx_park_slot_of(ru.user);
	if (slot > 0) { /* a park slot: what is parked there */
		*id = -slot;
		snprintf(ext, ecap, "%d", slot);
		snprintf(name, ncap, "Park %d", slot);
		return 0;
	}
	sqlite3_stmt *st = core_db_stmt(p->db, "SELECT id, extension, display_name FROM users "
					       "WHERE (extension=?1 OR sip_username=?1) AND "
					       "enabled=1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, ru.user.p, (int)ru.user.l, SQLITE_STATIC);
	int r = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(ext, ecap, "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(name, ncap, "%s", (const char *)sqlite3_column_text(st, 2));
		r = 0;
	}
	sqlite3_reset(st);
	return r;
}

/* Accept (RFC 6665 4.2.1): absent, or naming dialog-info+xml (or a wildcard). */
static bool accepts_dialog_info(const struct sip_msg *m)
{
	const struct sip_hdr *h = sip_msg_hdr_named(m, "Accept");
	if (!h)
		return true;
	for (; h; h = sip_msg_hdr_next(m, h))
		for (size_t i = 0; i + 3 <= h->value.l; i++)
			if ((i + 15 <= h->value.l &&
			     strncasecmp(h->value.p + i, "dialog-info+xml", 15) == 0) ||
			    strncmp(h->value.p + i, "*/*", 3) == 0)
				return true;
	return false;
}

void pbx_blf_subscribe(struct pbx_blf *b, const struct sip_msg *m, const struct pbx_reg_source *src)
{
	static char out[8192];
	struct pbx_reg_user u;
	int n = pbx_registrar_auth(&b->p->registrar, m, src, time(NULL), &u, out, sizeof(out));
	if (n != 0) {
		if (n > 0)
			b->send(b->send_ctx, out, (size_t)n);
		return;
	}
	int64_t expires = PBX_BLF_MAX_EXPIRES;
	const struct sip_hdr *eh = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	if (eh && (expires = sip_pl_u64(eh->value, 0xffffffffLL)) < 0) {
		respond(b, m, 400, "Bad Expires", NULL, NULL);
		return;
	}
	if (expires > PBX_BLF_MAX_EXPIRES)
		expires = PBX_BLF_MAX_EXPIRES; /* RFC 6665 4.2.1.1: the notifier may shorten */
	if (expires > 0 && expires < PBX_BLF_MIN_EXPIRES) {
		char mh[32];
		snprintf(mh, sizeof(mh), "Min-Expires: %d\r\n", PBX_BLF_MIN_EXPIRES);
		respond(b, m, 423, NULL, NULL, mh);
		return;
	}
	time_t now = time(NULL);
	struct sip_addr to;
	struct sip_pl rest, tag = {0};
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		sip_param_get(to.params, "tag", &tag);

	if (tag.l) { /* a refresh, or the end (Expires: 0) */
		struct sub *s = sub_find(b, m);
		if (!s) {
			respond(b, m, 481, NULL, NULL, NULL);
			return;
		}
		if (s->user_id != u.id) {
			respond(b, m, 403, NULL, s->d.local_tag, NULL);
			return;
		}
		if (sip_dialog_remote_cseq(&s->d, m) < 0) {
			respond(b, m, 500, NULL, s->d.local_tag, NULL);
			return;
		}
		respond_ok(b, m, s->d.local_tag, expires);
		if (expires == 0) { /* unsubscribed: no reason (RFC 6665 4.2.1.4) */
			sub_end(s, NULL);
			return;
		}
		sub_arm(s, expires, now);
		sub_notify_active(s, true); /* RFC 6665 4.2.1.2: a refresh is NOTIFYed too */
		return;
	}

	if (!accepts_dialog_info(m)) {
		respond(b, m, 406, NULL, NULL, "Accept: " SIP_DIALOGINFO_CTYPE "\r\n");
		return;
	}
	long long watched;
	char ext[72], name[128];
	if (watched_user(b->p, m, &watched, ext, sizeof(ext), name, sizeof(name)) < 0) {
		respond(b, m, 404, NULL, NULL, NULL);
		return;
	}
	int mine = 0;
	for (struct sub *s = b->head; s; s = s->next)
		mine += s->user_id == u.id;
	if (mine >= PBX_BLF_MAX_PER_USER && expires > 0) {
		log_warn("blf: %s is at its limit of %d subscriptions", u.extension,
			 PBX_BLF_MAX_PER_USER);
		respond(b, m, 403, "Too Many Subscriptions", NULL, NULL);
		return;
	}
	if (b->count >= PBX_BLF_MAX && expires > 0) {
		respond(b, m, 503, NULL, NULL, "Retry-After: 60\r\n");
		return;
	}
	struct sub *s = calloc(1, sizeof(*s));
	char t[SIP_TAG_LEN + 1];
	sip_build_tag(t);
	if (!s || !(s->timer = evtimer_new(b->base, on_expiry, s))) {
		free(s);
		respond(b, m, 500, NULL, t, NULL);
		return;
	}
	if (sip_dialog_uas(&s->d, m, t) < 0) {
		event_free(s->timer);
		free(s);
		respond(b, m, 400, NULL, t, NULL);
		return;
	}
	s->b = b;
	s->user_id = u.id;
	s->watched = watched;
	snprintf(s->ext, sizeof(s->ext), "%s", ext);
	snprintf(s->name, sizeof(s->name), "%s", name);
	unsigned h = hash_pl(b, (struct sip_pl){s->d.call_id, strlen(s->d.call_id)});
	s->hnext = b->by_cid[h];
	b->by_cid[h] = s;
	s->prev = b->tail;
	if (b->tail)
		b->tail->next = s;
	else
		b->head = s;
	b->tail = s;
	b->count++;
	respond_ok(b, m, t, expires);
	if (expires == 0) { /* a fetch (RFC 6665 4.4.3): one NOTIFY, no state */
		sub_end(s, "timeout");
		return;
	}
	sub_arm(s, expires, now);
	sub_notify_active(s, true);
	log_info("blf: %s watches %s for %lld s", u.extension, s->ext, (long long)expires);
}

void pbx_blf_response(struct pbx_blf *b, const struct sip_msg *m)
{
	if (!b || m->status < 200)
		return;
	struct sub *s = sub_find(b, m);
	/* RFC 6665 4.2.2: 481 ends the subscription; so do the answers that say
	 * the device will never take it (408 and 5xx may pass) */
	if (s && (m->status == 481 || m->status == 404 || m->status == 410 || m->status == 489 ||
		  m->status == 403)) {
		log_info("blf: a subscription to %s ended: %d to a NOTIFY", s->ext, m->status);
		sub_free(s);
	}
}

void pbx_blf_user_changed(struct pbx *p, long long user_id)
{
	struct pbx_blf *b = p->blf;
	if (!b)
		return;
	/* park slots (negative) hear of every user's change: a parked party
	 * hanging up ends what is parked (and NOTIFYs only if it did) */
	for (struct sub *s = b->head; s; s = s->next)
		if (s->watched == user_id || (user_id >= 0 && s->watched < 0))
			sub_notify_active(s, false);
}

int pbx_blf_count(const struct pbx_blf *b)
{
	return b ? b->count : 0;
}

struct pbx_blf *pbx_blf_new(struct pbx *p, struct event_base *base,
			    void (*send)(void *ctx, const char *buf, size_t len), void *ctx)
{
	struct pbx_blf *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->p = p;
	b->base = base;
	b->send = send;
	b->send_ctx = ctx;
	crypto_shorthash_keygen(b->key);
	return b;
}

void pbx_blf_free(struct pbx_blf *b)
{
	if (!b)
		return;
	while (b->head)
		sub_free(b->head);
	free(b);
}
