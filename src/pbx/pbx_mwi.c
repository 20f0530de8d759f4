/* pbx_mwi — see pbx_mwi.h. RFC 6665 (notifier side) for RFC 3842's event. */
#include "pbx_mwi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../core/core_db.h"
#include "../core/core_log.h"
#include "../sip/sip_build.h"
#include "../sip/sip_dialog.h"
#include "../sip/sip_hdr.h"
#include "pbx.h"
#include "pbx_vm.h"

#define MWI_BUCKETS 1024 /* a power of two */
#define MWI_MSG_MAX 8192
#define MWI_CTYPE   "application/simple-message-summary"

struct sub {
	struct pbx_mwi *w;
	struct sub *hnext;	 /* in the Call-ID index */
	struct sub *prev, *next; /* all, oldest first */
	long long user_id;
	char ext[72];
	struct sip_dialog d;
	time_t expires;
	struct event *timer;
};

struct pbx_mwi {
	struct pbx *p;
	struct event_base *base;
	void (*send)(void *ctx, const char *buf, size_t len);
	void *send_ctx;
	struct sub *head, *tail;
	int count;
	struct sub *by_cid[MWI_BUCKETS];
	int64_t min_expires;			      /* PBX_MWI_MIN_EXPIRES, or the test's */
	unsigned char key[crypto_shorthash_KEYBYTES]; /* Call-IDs come from the wire */
};

static unsigned hash_pl(const struct pbx_mwi *w, struct sip_pl v)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, (const unsigned char *)v.p, v.l, w->key);
	return (unsigned)(h & (MWI_BUCKETS - 1));
}

static void rnd_hex(char *out, size_t bytes)
{
	unsigned char r[16];
	randombytes_buf(r, bytes);
	sodium_bin2hex(out, bytes * 2 + 1, r, bytes);
}

int pbx_mwi_body(char *out, size_t cap, const char *ext, const char *domain, int new_msgs,
		 int old_msgs)
{
	int n = snprintf(out, cap,
			 "Messages-Waiting: %s\r\nMessage-Account: sip:%s@%s\r\n"
			 "Voice-Message: %d/%d (0/0)\r\n",
			 new_msgs > 0 ? "yes" : "no", ext, domain, new_msgs, old_msgs);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* ---- sending ---- */

static void send_notify(struct pbx_mwi *w, struct sip_dialog *d, const char *ext, long long user_id,
			const char *state)
{
	static char out[MWI_MSG_MAX];
	char body[512], extra[256], via[96], contact[160], hex[25];
	int nn = 0, no = 0;
	pbx_vm_count(w->p, user_id, &nn, &no);
	int bl = pbx_mwi_body(body, sizeof(body), ext, w->p->name, nn, no);
	rnd_hex(hex, 12);
	snprintf(via, sizeof(via), "SIP/2.0/TCP pbx.invalid;branch=" PBX_MWI_BRANCH "%s", hex);
	snprintf(contact, sizeof(contact), "<sip:pbx@%s>", w->p->name);
	int el = snprintf(extra, sizeof(extra), "Event: message-summary\r\n%s%s%s",
			  state ? "Subscription-State: " : "", state ? state : "",
			  state ? "\r\n" : "");
	int n = bl < 0 || el < 0 || (size_t)el >= sizeof(extra)
			? -1
			: sip_dialog_request(d, "NOTIFY", 0, via, contact, extra,
					     (struct sip_pl){body, (size_t)bl},
					     (struct sip_pl){MWI_CTYPE, strlen(MWI_CTYPE)}, out,
					     sizeof(out));
	if (n > 0)
		w->send(w->send_ctx, out, (size_t)n);
	else
		log_warn("mwi: a NOTIFY for %s does not fit", ext);
}

static void sub_notify(struct sub *s, time_t now)
{
	char state[64];
	snprintf(state, sizeof(state), "active;expires=%lld",
		 (long long)(s->expires > now ? s->expires - now : 0));
	send_notify(s->w, &s->d, s->ext, s->user_id, state);
}

/* Has the device at contact a subscription of the user's (then it hears
 * of changes in that dialog, not twice)? */
static bool subscribed(const struct pbx_mwi *w, long long user_id, const char *contact)
{
	for (const struct sub *s = w->head; s; s = s->next)
		if (s->user_id == user_id && strcmp(s->d.target, contact) == 0)
			return true;
	return false;
}

/* Out of dialog, to every registered device of the user that has not subscribed. */
static void notify_devices(struct pbx_mwi *w, long long user_id, const char *ext)
{
	sqlite3_stmt *st = core_db_stmt(
		w->p->db, "SELECT contact, path FROM bindings WHERE user_id=? AND expires>? "
			  "ORDER BY id");
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
	struct sip_dialog *d = malloc(sizeof(*d)); /* large: not on the stack */
	while (d && sqlite3_step(st) == SQLITE_ROW) {
		const char *contact = (const char *)sqlite3_column_text(st, 0);
		const char *path = (const char *)sqlite3_column_text(st, 1);
		if (!contact || subscribed(w, user_id, contact))
			continue;
		char tag[17], cid[33], from[160], to[160];
		rnd_hex(tag, 8);
		rnd_hex(cid, 16);
		snprintf(from, sizeof(from), "<sip:pbx@%s>", w->p->name);
		snprintf(to, sizeof(to), "<sip:%s@%s>", ext, w->p->name);
		if (sip_dialog_uac(d, cid, from, tag, to, contact ? contact : "", path ? path : "",
				   0) == 0)
			send_notify(w, d, ext, user_id, NULL);
	}
	sqlite3_reset(st);
	free(d);
}

/* ---- subscriptions ---- */

static struct sub *sub_find(struct pbx_mwi *w, const struct sip_msg *m)
{
	struct sip_pl cid = sip_msg_hdr(m, SIP_HDR_CALL_ID)->value;
	for (struct sub *s = w->by_cid[hash_pl(w, cid)]; s; s = s->hnext)
		if (m->request ? sip_dialog_matches(&s->d, m) : sip_pl_eq(cid, s->d.call_id))
			return s;
	return NULL;
}

static void sub_free(struct sub *s)
{
	struct pbx_mwi *w = s->w;
	unsigned h = hash_pl(w, (struct sip_pl){s->d.call_id, strlen(s->d.call_id)});
	for (struct sub **pp = &w->by_cid[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	if (s->prev)
		s->prev->next = s->next;
	else
		w->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		w->tail = s->prev;
	w->count--;
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
	send_notify(s->w, &s->d, s->ext, s->user_id, state);
	log_info("mwi: the subscription of %s ended (%s)", s->ext,
		 reason ? reason : "unsubscribed");
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

static void respond(struct pbx_mwi *w, const struct sip_msg *m, int status, const char *tag,
		    const char *extra)
{
	static char out[SIP_ANSWER_MAX];
	char t[SIP_TAG_LEN + 1];
	if (!tag) {
		sip_build_tag(t);
		tag = t;
	}
	struct sip_response_opts o = {.to_tag = tag, .extra_headers = extra};
	int n = sip_build_response(m, status, &o, out, sizeof(out));
	if (n > 0)
		w->send(w->send_ctx, out, (size_t)n);
}

static void respond_ok(struct pbx_mwi *w, const struct sip_msg *m, const char *tag, int64_t expires)
{
	char extra[256];
	snprintf(extra, sizeof(extra), "Expires: %lld\r\nContact: <sip:pbx@%s>\r\n",
		 (long long)expires, w->p->name);
	respond(w, m, 200, tag, extra);
}

/* Is the Request-URI the user's own address (extension or user name)? */
static bool own_mailbox(const struct sip_msg *m, const struct pbx_reg_user *u)
{
	struct sip_uri ru;
	if (sip_uri_parse(&ru, m->ruri) < 0)
		return false;
	return sip_pl_eq(ru.user, u->extension) || sip_pl_eq(ru.user, u->username);
}

static bool event_is_ours(const struct sip_msg *m)
{
	const struct sip_hdr *e = sip_msg_hdr_named(m, "Event");
	if (!e)
		e = sip_msg_hdr_named(m, "o"); /* compact form */
	if (!e)
		return false;
	/* the event package, without parameters (an id= is kept by nobody here) */
	size_t l = 0;
	while (l < e->value.l && e->value.p[l] != ';' && e->value.p[l] != ' ')
		l++;
	return sip_pl_casecmp((struct sip_pl){e->value.p, l}, "message-summary");
}

void pbx_mwi_subscribe(struct pbx_mwi *w, const struct sip_msg *m, const struct pbx_reg_source *src)
{
	static char out[8192];
	struct pbx_reg_user u;
	int n = pbx_registrar_auth(&w->p->registrar, m, src, time(NULL), &u, out, sizeof(out));
	if (n != 0) {
		if (n > 0)
			w->send(w->send_ctx, out, (size_t)n);
		return;
	}
	if (!event_is_ours(m)) {
		respond(w, m, 489, NULL, "Allow-Events: message-summary, dialog\r\n");
		return;
	}
	int64_t expires = PBX_MWI_MAX_EXPIRES;
	const struct sip_hdr *eh = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	if (eh && (expires = sip_pl_u64(eh->value, 0xffffffffLL)) < 0) {
		respond(w, m, 400, NULL, NULL);
		return;
	}
	if (expires > PBX_MWI_MAX_EXPIRES)
		expires = PBX_MWI_MAX_EXPIRES; /* RFC 6665 4.2.1.1: the notifier may shorten */
	if (expires > 0 && expires < w->min_expires) {
		char min[48];
		snprintf(min, sizeof(min), "Min-Expires: %lld\r\n", (long long)w->min_expires);
		respond(w, m, 423, NULL, min);
		return;
	}
	time_t now = time(NULL);
	struct sip_addr to;
	struct sip_pl rest, tag = {0};
	if (sip_addr_parse(&to, sip_msg_hdr(m, SIP_HDR_TO)->value, &rest) == 0)
		sip_param_get(to.params, "tag", &tag);

	if (tag.l) { /* a refresh, or the end (Expires: 0) */
		struct sub *s = sub_find(w, m);
		if (!s) {
			respond(w, m, 481, NULL, NULL);
			return;
		}
		if (s->user_id != u.id) {
			respond(w, m, 403, s->d.local_tag, NULL);
			return;
		}
		if (sip_dialog_remote_cseq(&s->d, m) < 0) {
			respond(w, m, 500, s->d.local_tag, NULL);
			return;
		}
		respond_ok(w, m, s->d.local_tag, expires);
		if (expires == 0) { /* unsubscribed: no reason (RFC 6665 4.2.1.4) */
			sub_end(s, NULL);
			return;
		}
		sub_arm(s, expires, now);
		sub_notify(s, now);
		return;
	}

	if (!own_mailbox(m, &u)) {
		/* another user's mailbox: not for this user's devices */
		respond(w, m, 403, NULL, NULL);
		return;
	}
	struct pbx_mailbox mb;
	if (pbx_vm_mailbox(w->p, u.id, &mb) < 0) {
		respond(w, m, 404, NULL, NULL);
		return;
	}
	if (expires == 0) { /* a fetch (RFC 6665 4.4.3): one NOTIFY, no state */
		struct sip_dialog *d = malloc(sizeof(*d));
		char t[SIP_TAG_LEN + 1];
		sip_build_tag(t);
		if (!d || sip_dialog_uas(d, m, t) < 0) {
			respond(w, m, d ? 400 : 500, t, NULL);
			free(d);
			return;
		}
		respond_ok(w, m, t, 0);
		send_notify(w, d, mb.extension, u.id, "terminated;reason=timeout");
		free(d);
		return;
	}
	/* one user's devices share PBX_MWI_MAX_PER_USER: the oldest makes room */
	int mine = 0;
	struct sub *oldest = NULL;
	for (struct sub *s = w->head; s; s = s->next)
		if (s->user_id == u.id && mine++ == 0)
			oldest = s;
	if (mine >= PBX_MWI_MAX_PER_USER && oldest) {
		sub_end(oldest, "deactivated");
	} else if (w->count >= PBX_MWI_MAX) {
		respond(w, m, 503, NULL, "Retry-After: 60\r\n");
		return;
	}
	struct sub *s = calloc(1, sizeof(*s));
	char t[SIP_TAG_LEN + 1];
	sip_build_tag(t);
	if (!s || !(s->timer = evtimer_new(w->base, on_expiry, s))) {
		free(s);
		respond(w, m, 500, t, NULL);
		return;
	}
	if (sip_dialog_uas(&s->d, m, t) < 0) {
		event_free(s->timer);
		free(s);
		respond(w, m, 400, t, NULL);
		return;
	}
	s->w = w;
	s->user_id = u.id;
	snprintf(s->ext, sizeof(s->ext), "%s", mb.extension);
	unsigned h = hash_pl(w, (struct sip_pl){s->d.call_id, strlen(s->d.call_id)});
	s->hnext = w->by_cid[h];
	w->by_cid[h] = s;
	s->prev = w->tail;
	if (w->tail)
		w->tail->next = s;
	else
		w->head = s;
	w->tail = s;
	w->count++;
	sub_arm(s, expires, now);
	respond_ok(w, m, t, expires);
	sub_notify(s, now);
	log_info("mwi: %s subscribed to message-summary for %lld s", s->ext, (long long)expires);
}

void pbx_mwi_response(struct pbx_mwi *w, const struct sip_msg *m)
{
	if (m->status < 200)
		return;
	struct sub *s = sub_find(w, m);
	/* RFC 6665 4.2.2: 481 ends the subscription; so do the answers that say
	 * the device will never take it (408 and 5xx may pass) */
	if (s && (m->status == 481 || m->status == 404 || m->status == 410 || m->status == 489 ||
		  m->status == 403)) {
		log_info("mwi: the subscription of %s ended: %d to a NOTIFY", s->ext, m->status);
		sub_free(s);
	}
}

void pbx_mwi_registered(struct pbx_mwi *w, long long user_id)
{
	struct pbx_mailbox mb;
	int nn, no;
	if (!w || pbx_vm_mailbox(w->p, user_id, &mb) < 0 || !mb.enabled ||
	    pbx_vm_count(w->p, user_id, &nn, &no) < 0 || nn + no == 0)
		return;
	notify_devices(w, user_id, mb.extension);
}

void pbx_mwi_changed(struct pbx *p, long long user_id)
{
	struct pbx_mwi *w = p->mwi;
	struct pbx_mailbox mb;
	if (!w || pbx_vm_mailbox(p, user_id, &mb) < 0)
		return;
	time_t now = time(NULL);
	for (struct sub *s = w->head; s; s = s->next)
		if (s->user_id == user_id)
			sub_notify(s, now);
	notify_devices(w, user_id, mb.extension);
}

int pbx_mwi_count(const struct pbx_mwi *w)
{
	return w ? w->count : 0;
}

struct pbx_mwi *pbx_mwi_new(struct pbx *p, struct event_base *base,
			    void (*send)(void *ctx, const char *buf, size_t len), void *ctx)
{
	struct pbx_mwi *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->p = p;
	w->base = base;
	w->send = send;
	w->send_ctx = ctx;
	crypto_shorthash_keygen(w->key);
	/* Test-only: ZENTRALE_TEST_MWI_MIN_EXPIRES (s) lowers the shortest
	 * subscription, so a test of one's expiry need not wait a minute. */
	const char *e = getenv("ZENTRALE_TEST_MWI_MIN_EXPIRES");
	w->min_expires =
		e && atoi(e) > 0 && atoi(e) < PBX_MWI_MIN_EXPIRES ? atoi(e) : PBX_MWI_MIN_EXPIRES;
	return w;
}

void pbx_mwi_free(struct pbx_mwi *w)
{
	if (!w)
		return;
	while (w->head)
		sub_free(w->head);
	free(w);
}
